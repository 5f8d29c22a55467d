//! Stage 6a: name the likely original of each cluster.
//!
//! # Approach
//!
//! For every witness document of a cluster we collect four signals, each
//! kept with the byte span it was read from so that it can be shown as
//! evidence:
//!
//! 1. **Publication date**: `Document::published` when it parses, otherwise
//!    a date found in the text. A date labelled `Published:`/`Posted:` wins;
//!    otherwise the first date in the first `TOP_BYTES` (1000) bytes (dates further
//!    down are usually reader comments or events in the story).
//! 2. **Credits**: phrases that name a wire service or outlet as the source
//!    (`told Reuters`, `according to AFP`, `(AP) -`, `Reuters reported`,
//!    `provided by AP, AFP and Reuters`, `— AFP`, `a BBC report quoted`). A
//!    bare mention of a name (`Reuters shares fell`) is not a credit. Credits
//!    to the outlet of another witness of the same cluster are *mate credits*.
//!    A document never counts as crediting its own outlet, and text after a
//!    reader-comments marker (`Reader Comments (29)`) is not searched.
//! 3. **Dateline**: `PESHAWAR:`, `LONDON -`, `WASHINGTON (Reuters) -` opening
//!    the story body marks wire-format copy.
//! 4. **Containment**: the bytes of shared text a witness holds (its merged
//!    passage spans in the cluster). `ratio` is that over the largest holding;
//!    a witness is *fuller* when `ratio >= FULLER_RATIO` (0.9; smaller
//!    differences are edit noise such as `US` for `U.S.`).
//!
//! # Scoring rule
//!
//! Each witness gets a score:
//!
//! ```text
//! score = 2.0 * ratio                       (containment)
//!       + 1.0   if it credits an outside wire service / outlet
//!       + 0.5   if it opens with a dateline
//!       + 3.0   if it has the earliest date and every witness is dated
//!       + 1.0   if it has the earliest date and only some witnesses are dated
//! ```
//!
//! (the date bonus needs at least two dated witnesses and is not given when
//! they all share one day). Witnesses are then ranked, best first, by the key
//!
//! `(credited by a mate, does not credit a mate, fuller, score, held bytes, lower doc index)`
//!
//! so a witness that another witness names as its source always wins, a
//! witness that names a mate as its source never wins over one that does not,
//! and among fuller witnesses the earliest date dominates when all witnesses
//! are dated (3.0 outweighs credit + dateline + ratio noise). The best ranked
//! witness is `closest_to_origin`; the others are `derived`.
//!
//! **Origin**: if any witness credits a name that is not the outlet of a
//! cluster document, the origin is that name (`origin_is_external`). When
//! several are credited, prefer the one the closest witness credits, then the
//! one credited by more witnesses, then the stronger credit pattern, then the
//! alphabetically first. Otherwise the origin is the closest witness's id.
//! `credits_origin` is true for a witness that credits the origin (for an
//! in-corpus origin, the origin document itself counts as true).
//!
//! **Confidence** starts at 0.4 and adds 0.25 for an external origin named
//! by a strong credit (0.15 for a weak one), 0.25 when the closest witness is
//! credited by a mate, 0.1 when it is the only fuller witness, 0.1 when it
//! has the earliest of two or more dates, 0.05 for its dateline and 0.1 when
//! it ranks clearly ahead (a different tier or a score margin >= 1.0). Each
//! conflict found (a derived witness dated earlier than the closest; a
//! crediting witness dated later than an uncredited one; a mate credit
//! against the dates; several equally good external names) is written to the
//! evidence and subtracts 0.15 (at most 0.45 in all). The result is clamped
//! to 0.05..0.95 and rounded to two decimals. Everything is computed from
//! sorted vectors and `BTreeMap`s, so output is deterministic.

use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::align::Passage;
use crate::cluster::Cluster;
use crate::corpus::Document;

/// The provenance verdict for one cluster (see the JSON report contract).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provenance {
    /// The likely original: an outlet or wire service (possibly outside the
    /// corpus), or a document id inside it.
    pub origin: String,
    /// True when `origin` is not a document of the corpus.
    pub origin_is_external: bool,
    /// Id of the witness closest to the origin.
    pub closest_to_origin: String,
    /// Ids of the other witnesses, which derive from it.
    pub derived: Vec<String>,
    /// Per witness id: does it credit `origin`?
    pub credits_origin: BTreeMap<String, bool>,
    /// 0..1; lowered when signals conflict.
    pub confidence: f64,
    /// Each signal that went into the verdict, with its byte span.
    pub evidence: Vec<String>,
    /// The verdict as one plain sentence.
    pub summary: String,
}

/// Dates further down than this are not taken as the article's own date
/// unless they are labelled (`Published:`).
const TOP_BYTES: usize = 1000;
/// A witness holding at least this share of the largest holding is "fuller".
const FULLER_RATIO: f64 = 0.9;
const W_RATIO: f64 = 2.0;
const W_CREDIT: f64 = 1.0;
const W_DATELINE: f64 = 0.5;
const W_DATE_ALL: f64 = 3.0;
const W_DATE_SOME: f64 = 1.0;
const CONFLICT_PENALTY: f64 = 0.15;
/// Credits at least this strong are "strong" for confidence.
const STRONG_CREDIT: f64 = 0.8;

// ---------------------------------------------------------------------------
// Text helpers (shared with the quote audit)
// ---------------------------------------------------------------------------

/// The largest char boundary `<= i` (clamped to the text length).
pub(crate) fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary `>= i` (clamped to the text length).
pub(crate) fn ceil_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// `text[start..end]` with both ends moved onto char boundaries.
pub(crate) fn slice(text: &str, start: usize, end: usize) -> &str {
    let s = floor_boundary(text, start);
    let e = ceil_boundary(text, end).max(s);
    text.get(s..e).unwrap_or("")
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// True when `text[start..end]` is not glued to letters or digits.
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
}

/// The text from the start of the line containing `i` up to `i`.
fn line_before(text: &str, i: usize, max: usize) -> &str {
    let i = floor_boundary(text, i);
    let from = floor_boundary(text, i.saturating_sub(max));
    let window = slice(text, from, i);
    match window.rfind('\n') {
        Some(nl) => &window[nl + 1..],
        None => window,
    }
}

/// The text from `i` up to the end of its line.
fn line_after(text: &str, i: usize, max: usize) -> &str {
    let i = ceil_boundary(text, i);
    let window = slice(text, i, i.saturating_add(max));
    match window.find('\n') {
        Some(nl) => &window[..nl],
        None => window,
    }
}

// ---------------------------------------------------------------------------
// Credits
// ---------------------------------------------------------------------------

/// Wire services and outlets: canonical name, then the forms to look for
/// (longest first where one contains another).
const SOURCES: &[(&str, &[&str])] = &[
    ("Reuters", &["Thomson Reuters", "Reuters"]),
    ("APP", &["Associated Press of Pakistan", "APP"]),
    ("AP", &["Associated Press", "AP"]),
    (
        "AFP",
        &["Agence France-Presse", "Agence France Presse", "AFP"],
    ),
    ("BBC", &["BBC"]),
    ("Bloomberg", &["Bloomberg"]),
    ("dpa", &["Deutsche Presse-Agentur", "dpa", "DPA"]),
    ("Xinhua", &["Xinhua"]),
    ("PTI", &["Press Trust of India", "PTI"]),
    ("ANI", &["Asian News International", "ANI"]),
    ("UPI", &["United Press International", "UPI"]),
    ("CNN", &["CNN"]),
    ("Al Jazeera", &["Al Jazeera", "Al-Jazeera", "Aljazeera"]),
    ("IANS", &["Indo-Asian News Service", "IANS"]),
    ("Kyodo", &["Kyodo"]),
    ("Yonhap", &["Yonhap"]),
    ("EFE", &["EFE"]),
    ("ANSA", &["ANSA"]),
    ("TASS", &["ITAR-TASS", "TASS"]),
    ("RIA Novosti", &["RIA Novosti", "RIA"]),
    ("Interfax", &["Interfax"]),
    ("Anadolu", &["Anadolu Agency", "Anadolu"]),
    ("NHK", &["NHK"]),
];

/// Phrases that, right before a name, make it the source (`told Reuters`).
/// The flag marks report-level credits (the whole report, not one sentence).
const BEFORE: &[(&str, f64, bool)] = &[
    ("told", 1.0, false),
    ("according to", 1.0, false),
    ("interview with", 1.0, false),
    ("speaking to", 1.0, false),
    ("spoke to", 1.0, false),
    ("talking to", 1.0, false),
    ("statement to", 1.0, false),
    ("quoted by", 1.0, false),
    ("cited by", 1.0, false),
    ("reported by", 1.0, false),
    ("quoting", 0.8, false),
    ("citing", 0.8, false),
    ("provided by", 1.0, true),
    ("contributed by", 1.0, true),
    ("reporting by", 1.0, true),
    ("courtesy of", 1.0, true),
    ("copyright", 0.9, true),
    ("©", 0.9, true),
    ("(c)", 0.9, true),
    ("source:", 0.9, true),
    ("sources:", 0.9, true),
    ("via", 0.8, true),
];

/// Phrases that, right after a name, make it the source (`Reuters reported`).
const AFTER: &[(&str, f64, bool)] = &[
    ("news agency reported", 1.0, false),
    ("news agency quoted", 1.0, false),
    ("news agency said", 0.9, false),
    ("report quoted", 1.0, false),
    ("report said", 0.9, false),
    ("reported", 0.9, false),
    ("reports", 0.8, false),
    ("quoted", 0.9, false),
    ("cited", 0.8, false),
    ("contributed", 1.0, true),
    ("said", 0.6, false),
];

/// A phrase crediting a wire service or outlet as the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Credit {
    /// Canonical name (`AP` for `Associated Press`, or an outlet as given).
    pub(crate) name: String,
    /// Byte span of the whole credit phrase (`told Reuters on Tuesday`).
    pub(crate) start: usize,
    /// One past the phrase.
    pub(crate) end: usize,
    /// 0..1: how surely the pattern means "this is our source".
    pub(crate) strength: f64,
    /// True for credits that cover the whole report (`provided by`, `— AFP`,
    /// `(Reuters) -`), false for one sentence (`told Reuters`).
    pub(crate) report_level: bool,
}

/// A name found in the text, before deciding whether it is a credit.
struct Mention {
    name: String,
    start: usize,
    end: usize,
}

/// The names a credit may give: the known wire services' forms and a
/// cluster's own outlets (`extra`), arranged for [`find_mentions`]. Built
/// once for many texts (a cluster's witnesses, every document of the quote
/// audit), not once per text.
pub(crate) struct Aliases<'a> {
    /// `(canonical name, form)`, `extra` first: ties keep this order.
    aliases: Vec<(&'a str, &'a str)>,
    /// Aliases that start with a letter or digit, as `(first byte, alias)`,
    /// sorted; `by_first[b]` is the range of those starting with byte `b`.
    order: Vec<(u8, usize)>,
    by_first: Box<[(usize, usize); 256]>,
    /// The first bytes of the aliases in `order` that are not ASCII
    /// capitals (`d` of `dpa`), when there are at most [`FEW_STARTS`]: the
    /// bytes to try are then found sixteen at a time. `None`: every byte
    /// is tried.
    other_starts: Option<Vec<u8>>,
    /// The other aliases, searched for one by one.
    others: Vec<usize>,
}

impl<'a> Aliases<'a> {
    /// The wire services' forms, with `extra` outlets as `(canonical name,
    /// forms)` before them.
    pub(crate) fn new(extra: &'a [(String, Vec<String>)]) -> Self {
        let aliases: Vec<(&str, &str)> = extra
            .iter()
            .flat_map(|(name, forms)| forms.iter().map(move |f| (name.as_str(), f.as_str())))
            .chain(
                SOURCES
                    .iter()
                    .flat_map(|(name, forms)| forms.iter().map(move |f| (*name, *f))),
            )
            .filter(|(_, f)| !f.is_empty())
            .collect();
        let starts_word = |f: &str| f.chars().next().is_some_and(is_word_char);
        let mut order: Vec<(u8, usize)> = Vec::new();
        let mut others = Vec::new();
        for (k, (_, form)) in aliases.iter().enumerate() {
            if starts_word(form) {
                order.push((form.as_bytes()[0], k));
            } else {
                others.push(k);
            }
        }
        order.sort_unstable();
        let mut by_first = Box::new([(0usize, 0usize); 256]);
        for (i, &(b, _)) in order.iter().enumerate() {
            let r = &mut by_first[b as usize];
            if r.1 == 0 {
                r.0 = i;
            }
            r.1 = i + 1;
        }
        // `order` is sorted by first byte: equal ones are neighbours.
        let mut other_starts: Vec<u8> = order
            .iter()
            .map(|&(b, _)| b)
            .filter(|b| !b.is_ascii_uppercase())
            .collect();
        other_starts.dedup();
        let other_starts = Some(other_starts).filter(|o| o.len() <= FEW_STARTS);
        Aliases {
            aliases,
            order,
            other_starts,
            by_first,
            others,
        }
    }
}

/// The most first bytes other than capitals that [`find_mentions`] looks
/// for sixteen bytes at a time.
const FEW_STARTS: usize = 4;

/// The wire services' forms alone, built once.
pub(crate) fn wire_aliases() -> &'static Aliases<'static> {
    static WIRES: std::sync::OnceLock<Aliases<'static>> = std::sync::OnceLock::new();
    WIRES.get_or_init(|| Aliases::new(&[]))
}

/// Every whole-word occurrence of an alias; overlaps keep the longest.
///
/// One pass over the text: an alias that starts with a letter or digit can
/// only match where a word starts, so only bytes that start one are tried
/// (other aliases, from unusual outlet names, are searched for one by one).
fn find_mentions(text: &str, table: &Aliases) -> Vec<Mention> {
    let Aliases {
        aliases,
        order,
        by_first,
        other_starts,
        others,
    } = table;
    // (start, end, alias): ties keep the alias table's order.
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for &k in others {
        let form = aliases[k].1;
        for (s, m) in text.match_indices(form) {
            if whole_word(text, s, s + m.len()) {
                found.push((s, s + m.len(), k));
            }
        }
    }
    // Only bytes that start an alias are tried: never a UTF-8 continuation
    // byte, so each is a character's start; `whole_word` then checks that
    // no letter or digit comes before it, which makes it a word's start.
    let bytes = text.as_bytes();
    let try_at = |s: usize| {
        let (from, to) = by_first[bytes[s] as usize];
        for &(_, k) in &order[from..to] {
            let form = aliases[k].1;
            if bytes[s..].starts_with(form.as_bytes()) && whole_word(text, s, s + form.len()) {
                found.push((s, s + form.len(), k));
            }
        }
    };
    if let Some(other_starts) = other_starts {
        crate::text::for_each_capital_or(bytes, other_starts, try_at);
    } else {
        (0..bytes.len()).for_each(try_at);
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut kept: Vec<Mention> = Vec::new();
    for (start, end, k) in found {
        if kept.last().is_none_or(|m| start >= m.end) {
            kept.push(Mention {
                name: aliases[k].0.to_string(),
                start,
                end,
            });
        }
    }
    kept
}

/// `hay` ends with `needle` at a word boundary (case already folded).
fn ends_with_word(hay: &str, needle: &str) -> bool {
    hay.strip_suffix(needle).is_some_and(|rest| {
        rest.chars().next_back().is_none_or(|c| !is_word_char(c))
            || !needle.starts_with(char::is_alphanumeric)
    })
}

/// `hay` starts with `needle` followed by a word boundary.
fn starts_with_word(hay: &str, needle: &str) -> bool {
    hay.strip_prefix(needle)
        .is_some_and(|rest| rest.chars().next().is_none_or(|c| !is_word_char(c)))
}

/// Up to `n` plain words right after `i` on the same clause (`on Tuesday`).
fn extend_words(text: &str, i: usize, n: usize) -> usize {
    let mut end = i;
    for _ in 0..n {
        let rest = text.get(end..).unwrap_or("");
        let Some(after_space) = rest.strip_prefix(' ') else {
            break;
        };
        let len = after_space
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(after_space.len(), |(k, _)| k);
        if len == 0 {
            break;
        }
        end += 1 + len;
    }
    end
}

/// Classify one mention: a credit `(strength, report_level, start, end)`, or `None`.
fn classify(text: &str, m: &Mention) -> Option<(f64, bool, usize, usize)> {
    let before_raw = line_before(text, m.start, 80);
    let before = before_raw.to_lowercase();
    let before = before.trim_end();
    let before_nothe = before.strip_suffix(" the").unwrap_or(before).trim_end();
    let after_line = line_after(text, m.end, 60);
    if before.ends_with('(') && after_line.starts_with(')') {
        return Some((1.0, true, m.start - 1, m.end + 1));
    }
    for (trig, strength, report) in BEFORE {
        if ends_with_word(before_nothe, trig) {
            let s = trigger_start(text, m.start, before_raw, trig);
            return Some((*strength, *report, s, extend_words(text, m.end, 2)));
        }
    }
    let after = after_line.to_lowercase();
    if let Some(rest) = after.strip_prefix(' ') {
        for (trig, strength, report) in AFTER {
            if starts_with_word(rest, trig) {
                return Some((*strength, *report, m.start, m.end + 1 + trig.len()));
            }
        }
    }
    let tail = after_line.trim_end().trim_end_matches('.');
    if tail.is_empty() && ["—", "–", "-"].iter().any(|d| before.ends_with(d)) {
        let dash = before_raw.trim_end();
        let s = m.start
            - (before_raw.len() - dash.len())
            - dash.chars().next_back().map_or(0, char::len_utf8);
        return Some((0.9, true, s, m.end));
    }
    None
}

/// Byte offset where the trigger phrase starts, found in the raw line text.
fn trigger_start(text: &str, name_start: usize, before_raw: &str, trig: &str) -> usize {
    let lower = before_raw.to_lowercase();
    if lower.len() != before_raw.len() {
        return name_start;
    }
    match lower.rfind(trig) {
        Some(k) => floor_boundary(text, name_start - before_raw.len() + k),
        None => name_start,
    }
}

/// Find credits in `text` to the names of `aliases`.
pub(crate) fn find_credits(text: &str, aliases: &Aliases) -> Vec<Credit> {
    let mentions = find_mentions(text, aliases);
    let mut credits: Vec<Credit> = Vec::new();
    for m in &mentions {
        if let Some((strength, report_level, start, end)) = classify(text, m) {
            credits.push(credit(m, strength, report_level, start, end));
        } else if let Some(prev) = credits.last()
            && is_list_continuation(text, prev.end, m.start)
        {
            let (strength, report_level) = (prev.strength, prev.report_level);
            credits.push(credit(m, strength, report_level, m.start, m.end));
        }
    }
    credits
}

fn credit(m: &Mention, strength: f64, report_level: bool, start: usize, end: usize) -> Credit {
    Credit {
        name: m.name.clone(),
        start,
        end,
        strength,
        report_level,
    }
}

/// `AP, AFP and Reuters`: only a list separator lies between two names.
/// `prev_end` may run past the previous name (`told Reuters on Tuesday`),
/// so only the text between the two names counts.
fn is_list_continuation(text: &str, prev_end: usize, start: usize) -> bool {
    if prev_end > start {
        return false;
    }
    let gap = slice(text, prev_end, start).trim();
    matches!(gap, "," | "and" | ", and" | "&" | "/" | "or")
}

/// The canonical name of an outlet: a known wire service's short name when
/// the outlet is one of its forms, otherwise the outlet as given.
pub(crate) fn canonical_outlet(outlet: &str) -> String {
    for (name, forms) in SOURCES {
        if forms.iter().any(|f| f.eq_ignore_ascii_case(outlet.trim())) {
            return (*name).to_string();
        }
    }
    outlet.trim().to_string()
}

/// Forms to look for for an outlet: as given, and without a leading "The ".
fn outlet_forms(outlet: &str) -> Vec<String> {
    let o = outlet.trim();
    let mut forms = vec![o.to_string()];
    if let Some(rest) = o.strip_prefix("The ")
        && rest.len() >= 3
    {
        forms.push(rest.to_string());
    }
    forms.retain(|f| f.chars().count() >= 2);
    forms
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// A calendar day; orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Day {
    y: u16,
    m: u8,
    d: u8,
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
}

/// A witness's date and where it came from (`None` span: metadata).
#[derive(Debug, Clone)]
struct FoundDate {
    day: Day,
    span: Option<(usize, usize)>,
}

fn parse_iso(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: u16 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(5..7)?.parse().ok()?;
    let d: u8 = s.get(8..10)?.parse().ok()?;
    if b.get(10).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    valid_day(y, m, d)
}

fn valid_day(y: u16, m: u8, d: u8) -> Option<Day> {
    ((1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)).then_some(Day {
        y,
        m,
        d,
    })
}

fn month_number(word: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = word.trim_end_matches('.').to_lowercase();
    if w == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(w.as_str())))
        .and_then(|p| u8::try_from(p + 1).ok())
}

fn day_number(word: &str) -> Option<u8> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if !["", "st", "nd", "rd", "th"].contains(&suffix) || digits.is_empty() || digits.len() > 2 {
        return None;
    }
    digits.parse().ok()
}

fn year_number(word: &str) -> Option<u16> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
}

/// Whitespace-separated tokens with outer punctuation trimmed, with offsets.
fn date_tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for raw in text.split(|c: char| c.is_whitespace()) {
        let lead = raw.len() - raw.trim_start_matches([',', '(', '"']).len();
        let tok = raw.trim_matches([',', '(', ')', ';', ':', '"']);
        let tok = if month_number(tok).is_some() {
            tok
        } else {
            tok.trim_end_matches('.')
        };
        if !tok.is_empty() {
            out.push((pos + lead, tok));
        }
        pos += raw.len() + raw_sep_len(text, pos + raw.len());
    }
    out
}

/// Length of the whitespace char at `i` (the separator `split` consumed).
fn raw_sep_len(text: &str, i: usize) -> usize {
    text.get(i..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8)
}

/// All dates in `text` with their byte spans.
fn find_dates(text: &str) -> Vec<(Day, usize, usize)> {
    let toks = date_tokens(text);
    let mut out = Vec::new();
    for (i, &(pos, tok)) in toks.iter().enumerate() {
        if let Some(day) = parse_iso(tok) {
            out.push((day, pos, pos + 10));
            continue;
        }
        let Some(m) = month_number(tok) else { continue };
        let next = toks.get(i + 1).copied();
        let next2 = toks.get(i + 2).copied();
        if let (Some((_, dw)), Some((yp, yw))) = (next, next2)
            && let (Some(d), Some(y)) = (day_number(dw), year_number(yw))
            && let Some(day) = valid_day(y, m, d)
        {
            out.push((day, pos, yp + yw.len()));
        } else if let (Some(&(dp, dw)), Some((yp, yw))) =
            (i.checked_sub(1).and_then(|k| toks.get(k)), next)
            && let (Some(d), Some(y)) = (day_number(dw), year_number(yw))
            && let Some(day) = valid_day(y, m, d)
        {
            out.push((day, dp, yp + yw.len()));
        }
    }
    out
}

/// Rank of a date label in the line before it: lower is better.
fn date_label_rank(text: &str, start: usize) -> Option<u8> {
    let before = line_before(text, start, 60).to_lowercase();
    if before.contains("published") || before.contains("posted") {
        Some(0)
    } else if before.contains("date") && !before.contains("updated") {
        Some(1)
    } else if before.contains("updated") {
        Some(2)
    } else {
        None
    }
}

/// The article's own date: labelled first, else the first near the top.
fn text_date(text: &str) -> Option<FoundDate> {
    let dates = find_dates(text);
    let labelled = dates
        .iter()
        .filter_map(|&(day, s, e)| date_label_rank(text, s).map(|r| (r, s, day, e)))
        .min_by_key(|&(r, s, _, _)| (r, s));
    if let Some((_, s, day, e)) = labelled {
        return Some(FoundDate {
            day,
            span: Some((s, e)),
        });
    }
    dates
        .iter()
        .find(|&&(_, s, _)| s < TOP_BYTES)
        .map(|&(day, s, e)| FoundDate {
            day,
            span: Some((s, e)),
        })
}

fn doc_date(doc: &Document) -> Option<FoundDate> {
    if let Some(p) = doc.published.as_deref() {
        let p = p.trim();
        let day = parse_iso(p).or_else(|| find_dates(p).first().map(|d| d.0));
        if let Some(day) = day {
            return Some(FoundDate { day, span: None });
        }
    }
    text_date(&doc.text)
}

// ---------------------------------------------------------------------------
// Datelines
// ---------------------------------------------------------------------------

const NOT_PLACES: &[&str] = &[
    "BREAKING",
    "UPDATE",
    "UPDATED",
    "WATCH",
    "PHOTO",
    "PHOTOS",
    "VIDEO",
    "EXCLUSIVE",
    "ANALYSIS",
    "OPINION",
    "EDITOR",
    "EDITORS",
    "NOTE",
    "LIVE",
    "READ",
    "ALSO",
    "FILE",
    "CORRECTION",
    "WARNING",
    "NEW",
    "SEE",
    "MORE",
];

/// A dateline opening a paragraph near the top: `(start, end)` of the
/// place-and-separator prefix (`PESHAWAR:`, `LONDON -`).
fn find_dateline(text: &str) -> Option<(usize, usize)> {
    let mut pos = 0;
    for line in text.split('\n') {
        if pos > 2 * TOP_BYTES {
            break;
        }
        let lead = line.len() - line.trim_start().len();
        if let Some(len) = dateline_prefix(line.trim_start()) {
            return Some((pos + lead, pos + lead + len));
        }
        pos += line.len() + 1;
    }
    None
}

/// The longest place a dateline names, in bytes.
const MAX_PLACE: usize = 60;

/// Length of the dateline prefix of a paragraph, if it has one.
fn dateline_prefix(line: &str) -> Option<usize> {
    // A place has at most 60 bytes, so only a separator starting there
    // counts: the rest of the paragraph is not searched.
    let head = &line[..floor_boundary(line, MAX_PLACE + " —".len())];
    let (sep_at, sep_len) = [":", " -", " —", " –"]
        .iter()
        .filter_map(|s| head.find(s).map(|k| (k, s.len())))
        .min()?;
    let place = line.get(..sep_at)?;
    let body = line.get(sep_at + sep_len..)?;
    if place.len() > MAX_PLACE || !body.starts_with(char::is_whitespace) || body.trim().len() < 40 {
        return None;
    }
    let outside_parens: String = strip_parens(place);
    let mut words = outside_parens
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    let caps = first.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && first
            .chars()
            .all(|c| c.is_uppercase() || c == '.' || c == '-' || c == '\'');
    if !caps || NOT_PLACES.contains(&first) {
        return None;
    }
    words
        .all(|w| w.starts_with(char::is_uppercase))
        .then_some(sep_at + sep_len)
}

fn strip_parens(s: &str) -> String {
    let mut depth = 0usize;
    s.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Per-witness view
// ---------------------------------------------------------------------------

/// Everything known about one witness of the cluster.
struct View<'a> {
    idx: usize,
    doc: &'a Document,
    canonical: Option<String>,
    spans: Vec<(usize, usize)>,
    held: usize,
    passages: usize,
    date: Option<FoundDate>,
    dateline: Option<(usize, usize)>,
    credits: Vec<Credit>,
    ratio: f64,
    fuller: bool,
    credits_mate: bool,
    credited_by_mate: bool,
    credits_external: bool,
    earliest: bool,
    score: f64,
}

/// Find a passage by id: by index when ids are positions, else by search.
fn passage_by_id(passages: &[Passage], id: usize) -> Option<&Passage> {
    match passages.get(id) {
        Some(p) if p.id == id => Some(p),
        _ => passages.iter().find(|p| p.id == id),
    }
}

/// Merge overlapping spans; returns the merged spans and their total bytes.
fn merge_spans(mut spans: Vec<(usize, usize)>) -> (Vec<(usize, usize)>, usize) {
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let total = merged.iter().map(|(s, e)| e - s).sum();
    (merged, total)
}

fn build_views<'a>(
    cluster: &Cluster,
    passages: &[Passage],
    documents: &dyn Fn(usize) -> Option<&'a Document>,
) -> Vec<View<'a>> {
    let mut idxs: Vec<usize> = cluster.docs.to_vec();
    idxs.sort_unstable();
    idxs.dedup();
    let ps: Vec<&Passage> = cluster
        .passages
        .iter()
        .filter_map(|&id| passage_by_id(passages, id))
        .collect();
    idxs.iter()
        .filter_map(|&idx| documents(idx).map(|doc| new_view(idx, doc, &ps)))
        .collect()
}

fn new_view<'a>(idx: usize, doc: &'a Document, ps: &[&Passage]) -> View<'a> {
    let len = doc.text.len();
    let raw: Vec<(usize, usize)> = ps
        .iter()
        .flat_map(|p| [p.a, p.b])
        .filter(|w| w.doc == idx)
        .map(|w| (w.start.min(len), w.end.min(len)))
        .filter(|(s, e)| s < e)
        .collect();
    let passages = ps
        .iter()
        .filter(|p| p.a.doc == idx || p.b.doc == idx)
        .count();
    let (spans, held) = merge_spans(raw);
    View {
        idx,
        doc,
        canonical: doc.outlet.as_deref().map(canonical_outlet),
        spans,
        held,
        passages,
        date: doc_date(doc),
        dateline: find_dateline(&doc.text),
        credits: Vec::new(),
        ratio: 1.0,
        fuller: true,
        credits_mate: false,
        credited_by_mate: false,
        credits_external: false,
        earliest: false,
        score: 0.0,
    }
}

/// Outlets of the cluster's witnesses that are not known wire services.
fn mate_aliases(views: &[View]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for v in views {
        if let (Some(outlet), Some(canon)) = (v.doc.outlet.as_deref(), v.canonical.as_ref())
            && SOURCES.iter().all(|(n, _)| n != canon)
            && !out.iter().any(|(n, _)| n == canon)
        {
            out.push((canon.clone(), outlet_forms(outlet)));
        }
    }
    out
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Is `name` the outlet of a witness other than `me`?
fn is_mate_name(views: &[View], me: usize, name: &str) -> bool {
    views
        .iter()
        .any(|v| v.idx != me && v.canonical.as_deref().is_some_and(|c| same_name(c, name)))
}

fn is_any_outlet(views: &[View], name: &str) -> bool {
    views
        .iter()
        .any(|v| v.canonical.as_deref().is_some_and(|c| same_name(c, name)))
}

fn fill_credits(views: &mut [View]) {
    let extra = mate_aliases(views);
    let aliases = Aliases::new(&extra);
    for v in views.iter_mut() {
        let own = v.canonical.clone();
        let body = slice(&v.doc.text, 0, crate::quotes::body_end(&v.doc.text));
        v.credits = find_credits(body, &aliases)
            .into_iter()
            .filter(|c| own.as_deref().is_none_or(|o| !same_name(o, &c.name)))
            .collect();
    }
    let flags: Vec<(bool, bool)> = views
        .iter()
        .map(|v| {
            let mate = v
                .credits
                .iter()
                .any(|c| is_mate_name(views, v.idx, &c.name));
            let ext = v.credits.iter().any(|c| !is_any_outlet(views, &c.name));
            (mate, ext)
        })
        .collect();
    let credited: Vec<bool> = views
        .iter()
        .map(|v| {
            let canon = v.canonical.as_deref();
            views.iter().any(|o| {
                o.idx != v.idx
                    && canon.is_some_and(|c| o.credits.iter().any(|cr| same_name(&cr.name, c)))
            })
        })
        .collect();
    for ((v, (mate, ext)), by_mate) in views.iter_mut().zip(flags).zip(credited) {
        v.credits_mate = mate;
        v.credits_external = ext;
        v.credited_by_mate = by_mate;
    }
}

fn fill_containment(views: &mut [View]) {
    let max = views.iter().map(|v| v.held).max().unwrap_or(0);
    for v in views.iter_mut() {
        v.ratio = if max == 0 {
            1.0
        } else {
            v.held as f64 / max as f64
        };
        v.fuller = v.ratio >= FULLER_RATIO;
    }
}

/// Date bonus weight: for all witnesses dated, some, or none (0).
fn date_weight(views: &[View]) -> f64 {
    let dated: Vec<Day> = views
        .iter()
        .filter_map(|v| v.date.as_ref().map(|d| d.day))
        .collect();
    let distinct = dated.iter().any(|d| Some(d) != dated.first());
    if dated.len() < 2 || !distinct {
        0.0
    } else if dated.len() == views.len() {
        W_DATE_ALL
    } else {
        W_DATE_SOME
    }
}

fn fill_scores(views: &mut [View]) {
    let weight = date_weight(views);
    let earliest = views
        .iter()
        .filter_map(|v| v.date.as_ref().map(|d| d.day))
        .min();
    for v in views.iter_mut() {
        v.earliest = weight > 0.0 && v.date.as_ref().map(|d| d.day) == earliest;
        let mut s = W_RATIO * v.ratio;
        if v.credits_external {
            s += W_CREDIT;
        }
        if v.dateline.is_some() {
            s += W_DATELINE;
        }
        if v.earliest {
            s += weight;
        }
        v.score = s;
    }
}

/// Order two witnesses best first (see the module docs).
fn rank(a: &View, b: &View) -> Ordering {
    b.credited_by_mate
        .cmp(&a.credited_by_mate)
        .then(a.credits_mate.cmp(&b.credits_mate))
        .then(b.fuller.cmp(&a.fuller))
        .then(b.score.total_cmp(&a.score))
        .then(b.held.cmp(&a.held))
        .then(a.idx.cmp(&b.idx))
}

fn same_tier(a: &View, b: &View) -> bool {
    a.credited_by_mate == b.credited_by_mate
        && a.credits_mate == b.credits_mate
        && a.fuller == b.fuller
}

// ---------------------------------------------------------------------------
// Origin
// ---------------------------------------------------------------------------

/// An outside name credited by the witnesses, with what decides between them.
struct Candidate {
    name: String,
    by_closest: bool,
    count: usize,
    strength: f64,
}

fn external_candidates(views: &[View], closest: usize) -> Vec<Candidate> {
    let mut by_name: BTreeMap<String, Candidate> = BTreeMap::new();
    for v in views {
        let mut seen: Vec<&str> = Vec::new();
        for c in v.credits.iter().filter(|c| !is_any_outlet(views, &c.name)) {
            let e = by_name.entry(c.name.clone()).or_insert_with(|| Candidate {
                name: c.name.clone(),
                by_closest: false,
                count: 0,
                strength: 0.0,
            });
            e.by_closest |= v.idx == closest;
            e.strength = e.strength.max(c.strength);
            if !seen.contains(&c.name.as_str()) {
                e.count += 1;
                seen.push(&c.name);
            }
        }
    }
    let mut out: Vec<Candidate> = by_name.into_values().collect();
    out.sort_by(|a, b| {
        b.by_closest
            .cmp(&a.by_closest)
            .then(b.count.cmp(&a.count))
            .then(b.strength.total_cmp(&a.strength))
            .then(a.name.cmp(&b.name))
    });
    out
}

fn tied(a: &Candidate, b: &Candidate) -> bool {
    a.by_closest == b.by_closest && a.count == b.count && a.strength == b.strength
}

/// Does witness `v` credit the origin?
fn credits_origin(v: &View, origin: &str, external: bool, origin_view: Option<&View>) -> bool {
    if external {
        return v.credits.iter().any(|c| same_name(&c.name, origin));
    }
    match origin_view {
        Some(o) if o.idx == v.idx => true,
        Some(o) => o
            .canonical
            .as_deref()
            .is_some_and(|canon| v.credits.iter().any(|c| same_name(&c.name, canon))),
        None => false,
    }
}

// ---------------------------------------------------------------------------
// Evidence, conflicts, summary
// ---------------------------------------------------------------------------

fn quote_snippet(text: &str, s: usize, e: usize) -> String {
    let snip: String = slice(text, s, e)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    snip.replace('\'', "’")
}

fn witness_evidence(v: &View, out: &mut Vec<String>) {
    let id = &v.doc.id;
    match &v.date {
        Some(FoundDate { day, span: None }) => {
            out.push(format!("{id}: published {day} (metadata)"))
        }
        Some(FoundDate {
            day,
            span: Some((s, e)),
        }) => out.push(format!(
            "{id}: dated {day} in the text: '{}' (bytes {s}..{e})",
            quote_snippet(&v.doc.text, *s, *e)
        )),
        None => out.push(format!("{id}: no publication date")),
    }
    if let Some((s, e)) = v.dateline {
        out.push(format!(
            "{id}: dateline '{}' opens the story, wire-format copy (bytes {s}..{e})",
            quote_snippet(&v.doc.text, s, e)
        ));
    }
    for c in &v.credits {
        let level = if c.report_level { ", report-level" } else { "" };
        out.push(format!(
            "{id}: credits {}{level}: '{}' (bytes {}..{})",
            c.name,
            quote_snippet(&v.doc.text, c.start, c.end),
            c.start,
            c.end
        ));
    }
    out.push(containment_evidence(v));
}

fn containment_evidence(v: &View) -> String {
    let id = &v.doc.id;
    match (v.spans.first(), v.spans.last()) {
        (Some(first), Some(last)) => format!(
            "{id}: holds {} bytes of the shared text ({:.0}% of the fullest) in {} span(s) (bytes {}..{})",
            v.held,
            v.ratio * 100.0,
            v.spans.len(),
            first.0,
            last.1
        ),
        _ => format!("{id}: no passage spans in this cluster"),
    }
}

/// Conflicts between the signals, as evidence lines.
fn conflicts(views: &[View], closest: &View, origin: &str, external: bool) -> Vec<String> {
    let mut out = Vec::new();
    let day_of = |v: &View| v.date.as_ref().map(|d| d.day);
    if let Some(cd) = day_of(closest) {
        for v in views.iter().filter(|v| v.idx != closest.idx) {
            if let Some(vd) = day_of(v).filter(|vd| *vd < cd) {
                out.push(format!(
                    "conflict: {} is dated {vd}, earlier than {} ({cd}), which was preferred on the other signals",
                    v.doc.id, closest.doc.id
                ));
            }
        }
    }
    if external {
        for v in views
            .iter()
            .filter(|v| credits_origin(v, origin, true, None))
        {
            for u in views
                .iter()
                .filter(|u| !credits_origin(u, origin, true, None))
            {
                if let (Some(vd), Some(ud)) = (day_of(v), day_of(u))
                    && vd > ud
                {
                    out.push(format!(
                        "conflict: {} credits {origin} but is dated {vd}, later than {} ({ud}), which credits no one",
                        v.doc.id, u.doc.id
                    ));
                }
            }
        }
    }
    for v in views.iter().filter(|v| v.credits_mate) {
        for m in views.iter().filter(|m| m.idx != v.idx) {
            let credits_m = m
                .canonical
                .as_deref()
                .is_some_and(|c| v.credits.iter().any(|cr| same_name(&cr.name, c)));
            if let (true, Some(vd), Some(md)) = (credits_m, day_of(v), day_of(m))
                && vd < md
            {
                out.push(format!(
                    "conflict: {} credits {} but is dated {vd}, earlier than it ({md})",
                    v.doc.id,
                    m.doc.label()
                ));
            }
        }
    }
    out
}

fn size_text(bytes: usize) -> String {
    if bytes < 1000 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

fn who(v: &View) -> String {
    match v.doc.outlet.as_deref() {
        Some(o) => format!("{} ({o})", v.doc.id),
        None => v.doc.id.clone(),
    }
}

fn derived_sentence(v: &View, origin: &str, external: bool, origin_view: Option<&View>) -> String {
    let credited = if credits_origin(v, origin, external, origin_view) {
        let name = origin_view.map_or(origin.to_string(), |o| o.doc.label().to_string());
        format!("crediting {name}")
    } else if let Some(c) = v.credits.first() {
        format!("crediting only {}", c.name)
    } else {
        "crediting no one".to_string()
    };
    let plural = if v.passages == 1 { "" } else { "s" };
    format!(
        "{} reprints {} passage{plural}, {}, {credited}.",
        who(v),
        v.passages,
        size_text(v.held)
    )
}

fn origin_sentence(views: &[View], closest: &View, origin: &str, external: bool) -> String {
    if external {
        let crediting: Vec<String> = views
            .iter()
            .filter_map(|v| {
                let c = v.credits.iter().find(|c| same_name(&c.name, origin))?;
                let snip = quote_snippet(&v.doc.text, c.start, c.end);
                Some(format!("{} ({}: '{snip}')", v.doc.id, v.doc.label()))
            })
            .collect();
        let mut s = format!(
            "Likely original: {origin}, credited by {}.",
            crediting.join(" and ")
        );
        if !closest.credits.iter().any(|c| same_name(&c.name, origin)) {
            s.push_str(&format!(" Closest copy: {}.", who(closest)));
        }
        return s;
    }
    let mut reasons: Vec<String> = Vec::new();
    let by: Vec<&str> = views
        .iter()
        .filter(|v| v.idx != closest.idx && credits_origin(v, origin, false, Some(closest)))
        .map(|v| v.doc.id.as_str())
        .collect();
    if !by.is_empty() {
        reasons.push(format!("credited by {}", by.join(" and ")));
    }
    if let Some(d) = closest.date.as_ref().filter(|_| closest.earliest) {
        reasons.push(format!("dated earliest ({})", d.day));
    }
    if closest.fuller && views.len() > 1 {
        reasons.push("holding the fullest text".to_string());
    }
    if closest.dateline.is_some() {
        reasons.push("with a wire dateline".to_string());
    }
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(", {}", reasons.join(", "))
    };
    format!("Likely original: {}{why}.", who(closest))
}

// ---------------------------------------------------------------------------
// The verdict
// ---------------------------------------------------------------------------

/// Work out the provenance of `cluster`: which witness is closest to the
/// original, and whether the original is an outside wire service or outlet.
///
/// See the module documentation for the scoring rule. Never panics: witness
/// indices outside `documents` and passages that cannot be found are ignored.
pub fn attribute(cluster: &Cluster, passages: &[Passage], documents: &[Document]) -> Provenance {
    attribute_by(cluster, passages, &|d| documents.get(d))
}

/// [`attribute`] with document `d` given by `documents(d)` (`None` for a
/// witness index outside the corpus).
pub(crate) fn attribute_by<'a>(
    cluster: &Cluster,
    passages: &[Passage],
    documents: &dyn Fn(usize) -> Option<&'a Document>,
) -> Provenance {
    let mut views = build_views(cluster, passages, documents);
    if views.is_empty() {
        return empty_verdict();
    }
    fill_credits(&mut views);
    fill_containment(&mut views);
    fill_scores(&mut views);
    views.sort_by(rank);
    verdict(&views)
}

fn empty_verdict() -> Provenance {
    Provenance {
        origin: String::new(),
        origin_is_external: false,
        closest_to_origin: String::new(),
        derived: Vec::new(),
        credits_origin: BTreeMap::new(),
        confidence: 0.0,
        evidence: vec!["no witness documents".to_string()],
        summary: "No witness documents, so no origin.".to_string(),
    }
}

/// Build the verdict from witnesses sorted best first.
fn verdict(ranked: &[View]) -> Provenance {
    let closest = &ranked[0];
    let candidates = external_candidates(ranked, closest.idx);
    let external = !candidates.is_empty();
    let origin = candidates
        .first()
        .map_or(closest.doc.id.clone(), |c| c.name.clone());
    let origin_view = (!external).then_some(closest);
    let mut by_doc: Vec<&View> = ranked.iter().collect();
    by_doc.sort_by_key(|v| v.idx);

    let mut evidence = Vec::new();
    for v in &by_doc {
        witness_evidence(v, &mut evidence);
    }
    let mut clashes = conflicts(ranked, closest, &origin, external);
    if candidates.len() > 1 && tied(&candidates[0], &candidates[1]) {
        clashes.push(format!(
            "conflict: several sources are credited equally ({} and {}); chose {} by name order",
            candidates[0].name, candidates[1].name, candidates[0].name
        ));
    }
    let confidence = confidence(ranked, candidates.first(), clashes.len());
    evidence.extend(clashes);

    let mut summary = origin_sentence(ranked, closest, &origin, external);
    for v in by_doc.iter().filter(|v| v.idx != closest.idx) {
        summary.push(' ');
        summary.push_str(&derived_sentence(v, &origin, external, origin_view));
    }
    Provenance {
        origin_is_external: external,
        closest_to_origin: closest.doc.id.clone(),
        derived: by_doc
            .iter()
            .filter(|v| v.idx != closest.idx)
            .map(|v| v.doc.id.clone())
            .collect(),
        credits_origin: by_doc
            .iter()
            .map(|v| {
                (
                    v.doc.id.clone(),
                    credits_origin(v, &origin, external, origin_view),
                )
            })
            .collect(),
        confidence,
        evidence,
        summary,
        origin,
    }
}

fn confidence(ranked: &[View], top: Option<&Candidate>, conflicts: usize) -> f64 {
    let closest = &ranked[0];
    let mut c = 0.4;
    if let Some(t) = top {
        c += if t.strength >= STRONG_CREDIT {
            0.25
        } else {
            0.15
        };
    }
    if closest.credited_by_mate {
        c += 0.25;
    }
    if ranked.len() > 1 && closest.fuller && ranked[1..].iter().all(|v| !v.fuller) {
        c += 0.1;
    }
    if closest.earliest {
        c += 0.1;
    }
    if closest.dateline.is_some() {
        c += 0.05;
    }
    let clear = ranked
        .get(1)
        .is_none_or(|r| !same_tier(closest, r) || closest.score - r.score >= 1.0);
    if clear {
        c += 0.1;
    }
    c -= (conflicts as f64 * CONFLICT_PENALTY).min(3.0 * CONFLICT_PENALTY);
    (c.clamp(0.05, 0.95) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::Witness;

    /// The former find_mentions: every alias searched for separately.
    fn find_mentions_reference(text: &str, extra: &[(String, Vec<String>)]) -> Vec<Mention> {
        let mut table: Vec<(String, String)> = Vec::new();
        for (name, forms) in extra {
            for f in forms {
                table.push((name.clone(), f.clone()));
            }
        }
        for (name, forms) in SOURCES {
            for f in *forms {
                table.push(((*name).to_string(), (*f).to_string()));
            }
        }
        let mut found: Vec<Mention> = Vec::new();
        for (name, form) in table {
            if form.is_empty() {
                continue;
            }
            for (s, m) in text.match_indices(form.as_str()) {
                let e = s + m.len();
                if whole_word(text, s, e) {
                    found.push(Mention {
                        name: name.clone(),
                        start: s,
                        end: e,
                    });
                }
            }
        }
        found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut kept: Vec<Mention> = Vec::new();
        for m in found {
            if kept.last().is_none_or(|k| m.start >= k.end) {
                kept.push(m);
            }
        }
        kept
    }

    #[test]
    fn one_pass_mentions_equal_the_reference() {
        let extra: Vec<(String, Vec<String>)> = vec![
            ("Dawn".into(), vec!["Dawn".into()]),
            (
                "The Associated Press".into(),
                vec!["The Associated Press".into(), "Associated Press".into()],
            ),
            ("(Wire) Desk".into(), vec!["(Wire) Desk".into()]),
            ("Ünïcode Times".into(), vec!["Ünïcode Times".into()]),
        ];
        let texts = [
            S003.to_string(),
            S004.to_string(),
            "AP, AFP and Reuters; (AP) - the Associated Press said. APAP xAP AP1 AP.".into(),
            "Dawn reported, (Wire) Desk said; via Ünïcode Times — Agence France-Presse".into(),
            "ITAR-TASS TASS RIA Novosti RIA dpa DPA Al-Jazeera Al Jazeera é AP".into(),
        ];
        for t in &texts {
            for ex in [&extra[..], &[]] {
                let got: Vec<_> = find_mentions(t, &Aliases::new(ex))
                    .into_iter()
                    .map(|m| (m.name, m.start, m.end))
                    .collect();
                let want: Vec<_> = find_mentions_reference(t, ex)
                    .into_iter()
                    .map(|m| (m.name, m.start, m.end))
                    .collect();
                assert_eq!(got, want, "{t}");
            }
        }
    }

    const S003: &str = include_str!("../seeds/003_5edc88af400f5deb.txt");
    const S004: &str = include_str!("../seeds/004_b33e749053d6a94d.txt");
    const ID3: &str = "003_5edc88af400f5deb";
    const ID4: &str = "004_b33e749053d6a94d";

    /// Gold passage pairs (003 wording, 004 wording) from seeds-gold.json.
    const GOLD: &[(&str, &str)] = &[
        (
            "They (the Americans) would not be able to find a possible solution to the Afghan conflict until and unless they hold talks with the Taliban shura",
            "They [the Americans] would not be able to find a possible solution to the Afghan conflict until and unless they hold talks with the Taliban shura",
        ),
        (
            "urged Pakistan to persuade the Haqqanis to pursue peace",
            "urge Pakistan to persuade the Haqqanis to pursue peace",
        ),
        (
            "She also warned that tough action would have to be taken against Afghan and Pakistani militants if they did not cooperate in efforts to stabilise Afghanistan.",
            "She also warned tough action would have to be taken against Afghan and Pakistani terrorists if they did not cooperate in efforts to stabilize Afghanistan.",
        ),
        (
            "The Haqqani commander, speaking on condition of anonymity, viewed her efforts with scepticism.",
            "The Haqqani commander, speaking on condition of anonymity, viewed her efforts with skepticism.",
        ),
        (
            "This is not the first time the U.S. has approached us for peace talks. The Americans had made several such attempts for talks which we rejected as we are an integral part of the Taliban led by Mullah Mohammad Omar",
            "This is not the first time the US has approached us for peace talks. The Americans had made several such attempts for talks which we rejected as we are an integral part of the Taliban led by Mullah Mohammad Omar",
        ),
        (
            "We are united and our goal is to liberate our homeland Afghanistan from the clutches of occupying forces.",
            "We are united and our goal is to liberate our homeland Afghanistan from the clutches of occupying forces.",
        ),
        (
            "Clinton said the United States had held preliminary meetings with the Haqqanis — arguably the most dangerous Afghan insurgent faction — and was working with Afghanistan and Pakistan",
            "Clinton said the United States had held preliminary meetings with the Haqqanis — arguably the most dangerous Afghan insurgent faction — and was working with Afghanistan and Pakistan",
        ),
    ];

    fn doc(id: &str, text: &str, outlet: Option<&str>, published: Option<&str>) -> Document {
        let mut d = Document::new(id, text);
        d.outlet = outlet.map(str::to_string);
        d.published = published.map(str::to_string);
        d
    }

    /// Passages between docs 0 and 1 for every gold pair found in both,
    /// `which` picking the wording to look for in each document.
    fn passages(docs: &[Document], which: [usize; 2]) -> Vec<Passage> {
        let mut out = Vec::new();
        for (a, b) in GOLD {
            let pick = |w: usize| if w == 0 { *a } else { *b };
            let (Some(sa), Some(sb)) = (
                docs[0].text.find(pick(which[0])),
                docs[1].text.find(pick(which[1])),
            ) else {
                continue;
            };
            out.push(Passage {
                id: out.len(),
                cluster: 0,
                similarity: 0.9,
                tokens: 10,
                a: Witness {
                    doc: 0,
                    start: sa,
                    end: sa + pick(which[0]).len(),
                },
                b: Witness {
                    doc: 1,
                    start: sb,
                    end: sb + pick(which[1]).len(),
                },
            });
        }
        out
    }

    fn run(docs: &[Document], which: [usize; 2]) -> Provenance {
        let ps = passages(docs, which);
        let cluster = Cluster {
            id: 0,
            docs: vec![0, 1],
            passages: (0..ps.len()).collect(),
            provenance: None,
        };
        attribute(&cluster, &ps, docs)
    }

    fn seeds(t3: &str, p3: Option<&str>, t4: &str, p4: Option<&str>) -> Vec<Document> {
        vec![
            doc(ID3, t3, Some("The Express Tribune"), p3),
            doc(ID4, t4, Some("Arutz Sheva"), p4),
        ]
    }

    /// Two copies of 004's text under different ids and outlets: every
    /// signal is neutral until a test changes one.
    fn neutral(ta: &str, tb: &str) -> Vec<Document> {
        vec![
            doc("a", ta, Some("Outlet A"), None),
            doc("b", tb, Some("Outlet B"), None),
        ]
    }

    #[test]
    fn seed_verdict_matches_gold() {
        let docs = seeds(S003, Some("2011-10-25"), S004, None);
        let p = run(&docs, [0, 1]);
        assert_eq!(p.origin, "Reuters");
        assert!(p.origin_is_external);
        assert_eq!(p.closest_to_origin, ID3);
        assert_eq!(p.derived, vec![ID4.to_string()]);
        assert_eq!(p.credits_origin.get(ID3), Some(&true));
        assert_eq!(p.credits_origin.get(ID4), Some(&false));
        assert!(p.confidence >= 0.7, "{p:#?}");
        let credit = p
            .evidence
            .iter()
            .find(|e| e.contains("credits Reuters"))
            .cloned()
            .unwrap_or_default();
        assert!(credit.contains("told Reuters on Tuesday"), "{p:#?}");
        let span = S003.find("told Reuters on Tuesday").unwrap_or(0);
        assert!(
            credit.contains(&format!("bytes {span}..{}", span + 23)),
            "{credit}"
        );
        assert!(
            p.evidence
                .iter()
                .any(|e| e.contains("dateline 'PESHAWAR:'")),
            "{p:#?}"
        );
        assert!(
            p.summary
                .starts_with("Likely original: Reuters, credited by 003_5edc88af400f5deb"),
            "{}",
            p.summary
        );
        assert!(p.summary.contains("crediting no one"), "{}", p.summary);
    }

    #[test]
    fn verdict_is_deterministic() {
        let docs = seeds(S003, Some("2011-10-25"), S004, None);
        assert_eq!(run(&docs, [0, 1]), run(&docs, [0, 1]));
    }

    #[test]
    fn dates_decide_between_equal_copies() {
        let mut docs = neutral(S004, S004);
        docs[0].published = Some("2011-10-24".into());
        docs[1].published = Some("2011-10-25".into());
        assert_eq!(run(&docs, [1, 1]).closest_to_origin, "a");
        docs[0].published = Some("2011-10-25".into());
        docs[1].published = Some("2011-10-24".into());
        let p = run(&docs, [1, 1]);
        assert_eq!(p.closest_to_origin, "b");
        assert_eq!(p.origin, "b");
        assert!(!p.origin_is_external);
    }

    #[test]
    fn swapped_seed_dates_move_closest_and_flag_conflict() {
        let base = run(&seeds(S003, Some("2011-10-25"), S004, None), [0, 1]);
        let docs = seeds(S003, Some("2011-10-26"), S004, Some("2011-10-25"));
        let p = run(&docs, [0, 1]);
        assert_eq!(p.closest_to_origin, ID4);
        assert_eq!(p.origin, "Reuters");
        assert!(
            p.evidence
                .iter()
                .any(|e| e.starts_with("conflict:") && e.contains("credits Reuters")),
            "{p:#?}"
        );
        assert!(p.confidence < base.confidence);
    }

    #[test]
    fn removing_the_reuters_credit_makes_the_origin_internal() {
        let t3 = S003.replace(
            "a senior commander told Reuters on Tuesday",
            "a senior commander said on Tuesday",
        );
        let p = run(&seeds(&t3, Some("2011-10-25"), S004, None), [0, 1]);
        assert_eq!(p.origin, ID3);
        assert!(!p.origin_is_external);
        assert_eq!(p.closest_to_origin, ID3);
        assert_eq!(p.credits_origin.get(ID4), Some(&false));
    }

    #[test]
    fn a_credit_alone_decides_between_equal_copies() {
        let tb = S004.replace(
            "rejected Monday overtures for peace talks from the United States.",
            "rejected overtures for peace talks from the United States, he told Reuters on Monday.",
        );
        let p = run(&neutral(S004, &tb), [1, 1]);
        assert_eq!(p.closest_to_origin, "b");
        assert_eq!(p.origin, "Reuters");
        assert_eq!(p.credits_origin.get("a"), Some(&false));
    }

    #[test]
    fn a_dateline_alone_decides_between_equal_copies() {
        let tb = S004.replace(
            "A senior commander from",
            "PESHAWAR: A senior commander from",
        );
        let p = run(&neutral(S004, &tb), [1, 1]);
        assert_eq!(p.closest_to_origin, "b");
        let p = run(&neutral(&tb, S004), [1, 1]);
        assert_eq!(p.closest_to_origin, "a");
    }

    /// Passages between every pair of documents (all in 004's wording).
    fn run_all_pairs(docs: &[Document]) -> Provenance {
        let mut ps: Vec<Passage> = Vec::new();
        for i in 0..docs.len() {
            for j in i + 1..docs.len() {
                for (_, b) in GOLD {
                    let (Some(si), Some(sj)) = (docs[i].text.find(b), docs[j].text.find(b)) else {
                        continue;
                    };
                    ps.push(Passage {
                        id: ps.len(),
                        cluster: 0,
                        similarity: 1.0,
                        tokens: 10,
                        a: Witness {
                            doc: i,
                            start: si,
                            end: si + b.len(),
                        },
                        b: Witness {
                            doc: j,
                            start: sj,
                            end: sj + b.len(),
                        },
                    });
                }
            }
        }
        let cluster = Cluster {
            id: 0,
            docs: (0..docs.len()).collect(),
            passages: (0..ps.len()).collect(),
            provenance: None,
        };
        attribute(&cluster, &ps, docs)
    }

    #[test]
    fn truncating_the_fuller_version_moves_closest() {
        // Three copies of 004; with two, pairwise passages are symmetric and
        // cannot show who holds more.
        let cut = S004
            .find("The Haqqani commander, speaking")
            .unwrap_or(S004.len());
        let short = &S004[..cut];
        let trio = |a: &str, b: &str, c: &str| {
            vec![
                doc("a", a, Some("Outlet A"), None),
                doc("b", b, Some("Outlet B"), None),
                doc("c", c, Some("Outlet C"), None),
            ]
        };
        let p = run_all_pairs(&trio(S004, S004, short));
        assert_eq!(p.closest_to_origin, "a");
        assert_eq!(p.derived, ["b", "c"]);
        let p = run_all_pairs(&trio(short, S004, S004));
        assert_eq!(p.closest_to_origin, "b");
        assert!(
            p.evidence
                .iter()
                .any(|e| e.starts_with("a: holds") && e.contains("(37% of the fullest)")),
            "{p:#?}"
        );
    }

    #[test]
    fn a_credit_to_a_mates_outlet_makes_the_mate_the_origin() {
        let t3 = S003.replace("told Reuters", "told Arutz Sheva");
        let p = run(&seeds(&t3, Some("2011-10-25"), S004, None), [0, 1]);
        assert_eq!(p.origin, ID4);
        assert!(!p.origin_is_external);
        assert_eq!(p.closest_to_origin, ID4);
        assert_eq!(p.derived, vec![ID3.to_string()]);
        assert_eq!(p.credits_origin.get(ID3), Some(&true));
        let t4 = S004.replace(
            "from the United States.",
            "from the United States, according to The Express Tribune.",
        );
        let mut docs = neutral(S004, &t4);
        docs[1].outlet = Some("Express Tribune".into());
        docs[0].outlet = Some("The Express Tribune".into());
        let p = run(&docs, [1, 1]);
        assert_eq!(p.closest_to_origin, "a", "{p:#?}");
        assert_eq!(p.origin, "a");
    }

    #[test]
    fn credits_in_reader_comments_do_not_count() {
        let t4 = format!(
            "{S004}\n\nReader Comments (2)\n\nAs I told Reuters yesterday, this is old news."
        );
        let p = run(&seeds(S003, Some("2011-10-25"), &t4, None), [0, 1]);
        assert_eq!(p.credits_origin.get(ID4), Some(&false));
    }

    #[test]
    fn credit_patterns() {
        let names = |t: &str| {
            find_credits(t, wire_aliases())
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("a senior commander told Reuters on Tuesday."),
            ["Reuters"]
        );
        assert_eq!(names("WASHINGTON (Reuters) - The U.S. said"), ["Reuters"]);
        assert_eq!(
            names("Some information for this report was provided by AP, AFP and Reuters."),
            ["AP", "AFP", "Reuters"]
        );
        assert_eq!(names("A BBC report quoted the leader."), ["BBC"]);
        assert_eq!(names("The talks went on.\n— AFP"), ["AFP"]);
        assert_eq!(
            names("In an interview with Reuters news agency, the commander"),
            ["Reuters"]
        );
        assert_eq!(names("according to the Associated Press."), ["AP"]);
        assert!(names("Reuters shares fell 3 percent; Reutersville; APPLE").is_empty());
        assert!(names("He told Sheriff Reutersen").is_empty());
    }

    #[test]
    fn dates_in_text() {
        let d = |t: &str| text_date(t).map(|f| f.day.to_string());
        assert_eq!(
            d("Title\n\nPublished: October 25, 2011\nBody"),
            Some("2011-10-25".into())
        );
        assert_eq!(
            d("- The Washington Times\nTuesday, November 13, 2012\n"),
            Some("2012-11-13".into())
        );
        assert_eq!(d("x 2011-10-25T10:00"), Some("2011-10-25".into()));
        assert_eq!(d("on 5 Sept. 2011 it"), Some("2011-09-05".into()));
        assert_eq!(text_date(S003).map(|f| f.span.is_some()), Some(true));
        assert_eq!(d(S003), Some("2011-10-25".into()));
        assert_eq!(d(S004), None);
    }

    #[test]
    fn datelines() {
        assert!(find_dateline(S003).is_some());
        assert!(find_dateline(S004).is_none());
        assert!(find_dateline("Title\n\nLONDON - A BBC report quoted Afghan insurgent leader Siraj Haqqani on Monday.").is_some());
        assert!(
            find_dateline(
                "WASHINGTON (Reuters) - The United States said on Tuesday that it would do things."
            )
            .is_some()
        );
        assert!(
            find_dateline(
                "Haqqani: U.S. asked us to join Afghan gov't and more words to be long enough"
            )
            .is_none()
        );
    }

    #[test]
    fn a_place_may_take_sixty_bytes_and_no_more() {
        let body = " Officials said on Tuesday that the talks would resume next week.";
        // PESHAWAR and 26 one-letter capitalized words: 60 bytes.
        let place = format!("PESHAWAR{}", " X".repeat(26));
        assert_eq!(place.len(), 60);
        assert_eq!(dateline_prefix(&format!("{place}:{body}")), Some(61));
        assert_eq!(dateline_prefix(&format!("{place} —{body}")), Some(64));
        assert_eq!(dateline_prefix(&format!("{place}X:{body}")), None);
        // A separator past the first 60 bytes does not count, even when a
        // later paragraph text holds one.
        assert_eq!(dateline_prefix(&format!("{place}X and more:{body}")), None);
        // Multibyte characters around the cut.
        let accented = format!("SÃO PAULO{}", " É".repeat(16));
        assert_eq!(accented.len(), 58);
        assert_eq!(dateline_prefix(&format!("{accented}:{body}")), Some(59));
        // Byte 64 falls inside an É of the body here.
        assert_eq!(dateline_prefix(&format!("{accented}: xÉÉ{body}")), Some(59));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let docs = vec![
            doc("x", "é’“", None, Some("garbage")),
            doc("y", "", None, None),
        ];
        let ps = vec![Passage {
            id: 7,
            cluster: 0,
            similarity: 1.0,
            tokens: 1,
            a: Witness {
                doc: 0,
                start: 1,
                end: 99,
            },
            b: Witness {
                doc: 5,
                start: 3,
                end: 2,
            },
        }];
        let cluster = Cluster {
            id: 0,
            docs: vec![0, 1, 9],
            passages: vec![7, 3],
            provenance: None,
        };
        let p = attribute(&cluster, &ps, &docs);
        assert_eq!(p.derived.len(), 1);
        let empty = Cluster {
            id: 0,
            docs: vec![],
            passages: vec![],
            provenance: None,
        };
        assert_eq!(attribute(&empty, &[], &[]).origin, "");
    }
}
