//! Stage 6b: the quote-attribution audit.
//!
//! # Approach
//!
//! 1. **Extract** quotations from each document's story body (text after a
//!    reader-comments marker such as `Reader Comments (29)` is left out).
//!    Double quotes (`"…"`, `“…”`, `«…»`) are paired within a paragraph; a
//!    paragraph that opens a quote and never closes it (the journalistic
//!    convention for quotes running over several paragraphs) quotes up to the
//!    paragraph end. Single quotes (`‘…’`, `'…'`) count only when the opening
//!    mark follows a non-letter and precedes a letter and the closing mark
//!    follows a non-space and precedes a non-letter, so apostrophes
//!    (`don't`, `Pakistan’s`) are never quote marks. Spans are the text
//!    inside the marks, trimmed of spaces and a trailing comma, on UTF-8
//!    boundaries. Quotes of fewer than `MIN_WORDS` (2) words are dropped.
//! 2. **Speaker**: after the quote (`…," said the Haqqani group commander`,
//!    `…," he said`, `…," Jeffrey Dressler, an analyst, concluded`), or before
//!    it (`Admiral Mike Mullen said … was a "veritable arm"`, `according to
//!    X`); which side is tried first depends on whether the quote ends its
//!    clause. Pronouns resolve to the previous named speaker in the document;
//!    a quote with no attribution right after a quote with a speaker (same or
//!    next paragraph) inherits that speaker. Names are shown without titles
//!    (`Former … Chairman Admiral Mike Mullen` → `Mike Mullen`) and compared
//!    by surname; descriptions (`the Haqqani group commander`) are compared
//!    lowercased without the article.
//! 3. **Credits**: every outlet the story credits (`told Reuters`, `provided
//!    by AP, AFP and Reuters`, …; the detector is shared with provenance),
//!    except the document's own outlet, applies to all its quotes.
//! 4. **Group** across documents: quotes are normalized (lowercase, quotes
//!    and brackets folded, `U.S.` → `us`, punctuation dropped, whitespace
//!    collapsed). Candidates come from an inverted index of normalized word
//!    4-grams (whole quotes of two or three words, found inside longer ones
//!    too); n-grams shared by more than `MAX_POSTING` distinct quotes are
//!    formulas and skipped, and two quotes of four words or more must share
//!    two n-grams, so the work grows with the corpus, not its square. Never
//!    all pairs. A candidate pair is the same quotation when the
//!    normalized texts are equal, or their normalized Levenshtein similarity
//!    is >= `SIMILAR` (0.85), or one quote's words occur whole and in order inside
//!    the other, or they share a run of words covering most of the shorter.
//!    Union-find joins matches; groups with occurrences in two or more
//!    documents are reported, ordered by their first occurrence.

use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use xxhash_rust::xxh3::xxh3_64;

use crate::align::{bounded_levenshtein, levenshtein_bytes_within};
use crate::corpus::Document;
use crate::error::Result;
use crate::provenance::{canonical_outlet, find_credits, floor_boundary, slice, wire_aliases};

/// One occurrence of a quotation in one document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuoteOccurrence {
    /// Document id.
    pub doc: String,
    /// Byte offset of the quoted text (inside the quotation marks).
    pub start: usize,
    /// Byte offset one past the quoted text.
    pub end: usize,
    /// Who the article names as the speaker, if anyone.
    pub speaker: Option<String>,
    /// Outlets or wire services the article credits for this quote.
    pub outlet_credited: Vec<String>,
}

/// The same quotation found in two or more documents.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuoteGroup {
    /// Number of the group, in report order.
    pub id: usize,
    /// The quotation's text, as in its first occurrence.
    pub text: String,
    /// Where it occurs.
    pub occurrences: Vec<QuoteOccurrence>,
    /// One article credits an outlet for it, another credits no one.
    pub uncredited_reuse: bool,
    /// The same words are given to different speakers.
    pub speaker_mismatch: bool,
    /// The wording inside the quotation marks differs between articles.
    pub altered_wording: bool,
}

/// Quotes with fewer words than this are ignored.
const MIN_WORDS: usize = 2;
/// Normalized Levenshtein similarity at which two quotes are the same.
const SIMILAR: f64 = 0.85;
/// Quotes up to this long (normalized bytes) are compared by characters,
/// longer ones by words.
const CHAR_LEV_BYTES: usize = 300;
/// Quotes longer than this (normalized bytes) skip the Levenshtein test.
const MAX_LEV_BYTES: usize = 2000;
/// n-grams shared by more distinct quotes than this are too common to index.
const MAX_POSTING: usize = 64;
/// Word n-gram size of the candidate index.
const GRAM: usize = 4;
/// Longest speaker phrase, in words.
const MAX_SPEAKER_WORDS: usize = 12;

// ---------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------

/// A quotation found in one document, before grouping.
#[derive(Debug, Clone)]
struct Quote {
    doc: usize,
    open: usize,
    start: usize,
    end: usize,
    close_end: usize,
    ends_clause: bool,
    nested: bool,
    speaker: Option<String>,
    speaker_key: Option<String>,
    norm: String,
    /// Each word of `norm`, hashed (xxh3): words are compared as numbers.
    words: Vec<u64>,
    /// Whether the quote is specific enough to match inside a longer one
    /// (see [`specific`]).
    specific: bool,
}

/// Where the story ends and reader comments begin.
pub(crate) fn body_end(text: &str) -> usize {
    lines(text)
        .find(|(_, line)| is_comments_marker(line.trim()))
        .map_or(text.len(), |(pos, _)| pos)
}

/// The lines of `text` (split at `\n`, as `str::split`) with their byte
/// offsets. memchr finds the breaks: the standard library's search costs
/// some hundreds of instructions a line (Reuters wraps its lines at 70
/// bytes).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    crate::text::line_ranges(text.as_bytes()).map(|r| (r.start, text.get(r).unwrap_or("")))
}

/// Is this (trimmed) line the heading of a comments section? Only the
/// first characters are lowercased, and only for a line that can start a
/// marker (r, c, f, j or l: no other character lowercases to those), so
/// the story's lines cost one byte test each.
fn is_comments_marker(t: &str) -> bool {
    if !matches!(t.as_bytes().first(), Some(b) if b"rcfjlRCFJL".contains(b)) {
        return false;
    }
    let is_marker = |head: &str| {
        head.starts_with("reader comments")
            || head.starts_with("comments (")
            || head == "comments"
            || head.starts_with("facebook conversations")
            || head.starts_with("join the conversation")
            || head.starts_with("leave a comment")
    };
    // The longest marker has 22 characters; lowercasing never shortens.
    // Most lines are ASCII in their first 24 bytes: lowercased on the
    // stack, without the allocation and the Unicode lowercasing.
    let bytes = t.as_bytes();
    let n = bytes.len().min(24);
    if bytes[..n].is_ascii() {
        let mut head = [0u8; 24];
        head[..n].copy_from_slice(&bytes[..n]);
        head[..n].make_ascii_lowercase();
        return std::str::from_utf8(&head[..n]).is_ok_and(is_marker);
    }
    // (A head of "comments" comes from a line of at most 8 characters.)
    let head: String = t.chars().take(24).flat_map(char::to_lowercase).collect();
    is_marker(&head)
}

/// Paragraphs (lines) of `text[..end]` with their byte offsets.
fn paragraphs(text: &str, end: usize) -> Vec<(usize, &str)> {
    lines(slice(text, 0, end)).collect()
}

fn word_count(s: &str) -> usize {
    s.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// Make a quote from the marks at `open..start` and `end..close_end`.
fn make_quote(text: &str, marks: (usize, usize, usize, usize), nested: bool) -> Option<Quote> {
    let (open, start, end, close_end) = marks;
    let raw = slice(text, start, end);
    let lead = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim().trim_end_matches(',').trim_end();
    if word_count(trimmed) < MIN_WORDS {
        return None;
    }
    let s = start + lead;
    let after = text.get(close_end..).unwrap_or("");
    let ends_clause =
        raw.trim_end().ends_with([',', '.', '?', '!', '—']) || after.trim_start().starts_with(',');
    Some(Quote {
        doc: 0,
        open,
        start: s,
        end: s + trimmed.len(),
        close_end,
        ends_clause,
        nested,
        speaker: None,
        speaker_key: None,
        norm: String::new(),
        words: Vec::new(),
        specific: false,
    })
}

/// The characters of `para` that start with one of three bytes, with
/// their byte offsets. The bytes must be ASCII or lead bytes of UTF-8
/// sequences (never continuation bytes), so that each hit is a character
/// boundary. Quote marks are rare: the scanners below jump from one
/// candidate to the next (memchr) instead of decoding every character.
fn chars_led_by(para: &str, lead: [u8; 3]) -> impl Iterator<Item = (usize, char)> + '_ {
    memchr::memchr3_iter(lead[0], lead[1], lead[2], para.as_bytes())
        .filter_map(move |i| Some((i, para.get(i..)?.chars().next()?)))
}

/// Double-quoted spans in one paragraph starting at byte `base`.
fn double_quotes(text: &str, base: usize, para: &str, out: &mut Vec<Quote>) {
    let mut open: Option<(usize, usize)> = None;
    // `"`, and the lead bytes of `“ ” „` (0xE2) and `« »` (0xC2).
    for (i, c) in chars_led_by(para, [b'"', 0xC2, 0xE2]) {
        let at = base + i;
        let len = c.len_utf8();
        match (c, open) {
            ('“' | '«' | '„', _) => open = Some((at, at + len)),
            ('"', None) => open = Some((at, at + len)),
            ('”' | '»' | '"', Some((o, s))) => {
                out.extend(make_quote(text, (o, s, at, at + len), false));
                open = None;
            }
            _ => {}
        }
    }
    if let Some((o, s)) = open {
        let starts_para = para.trim_start().len() + (o - base) == para.len();
        if starts_para {
            let end = base + para.trim_end().len();
            out.extend(make_quote(text, (o, s, end, end), false));
        }
    }
}

fn is_open_single(prev: Option<char>, c: char, next: Option<char>) -> bool {
    matches!(c, '‘' | '\'')
        && !prev.is_some_and(char::is_alphanumeric)
        && next.is_some_and(char::is_alphanumeric)
}

fn is_close_single(prev: Option<char>, c: char, next: Option<char>) -> bool {
    matches!(c, '’' | '\'')
        && prev.is_some_and(|p| !p.is_whitespace())
        && !next.is_some_and(char::is_alphanumeric)
}

/// Single-quoted spans in one paragraph (apostrophes are skipped).
fn single_quotes(text: &str, base: usize, para: &str, out: &mut Vec<Quote>) {
    let mut open: Option<(usize, char)> = None;
    // `"`, `'`, and the lead byte of `‘ ’ “ ”` (0xE2); the characters
    // around a mark are decoded only for a mark.
    for (i, c) in chars_led_by(para, [b'"', b'\'', 0xE2]) {
        if matches!(c, '“' | '”' | '"') {
            open = None;
            continue;
        }
        if !matches!(c, '‘' | '’' | '\'') {
            continue;
        }
        let prev = para.get(..i).and_then(|p| p.chars().next_back());
        let next = para.get(i + c.len_utf8()..).and_then(|n| n.chars().next());
        if let Some((o, oc)) = open
            && is_close_single(prev, c, next)
            && (oc == '\'') == (c == '\'')
        {
            let marks = (
                base + o,
                base + o + oc.len_utf8(),
                base + i,
                base + i + c.len_utf8(),
            );
            out.extend(make_quote(text, marks, true));
            open = None;
        } else if is_open_single(prev, c, next) {
            open = Some((i, c));
        }
    }
}

/// All quotes of one document's story body, ordered by position.
fn extract(text: &str) -> Vec<Quote> {
    let end = body_end(text);
    let mut out = Vec::new();
    for (base, para) in paragraphs(text, end) {
        double_quotes(text, base, para, &mut out);
        let before = out.len();
        single_quotes(text, base, para, &mut out);
        mark_top_level_singles(&mut out, before);
    }
    out.sort_by_key(|q| (q.start, q.end));
    out.dedup_by_key(|q| (q.start, q.end));
    out
}

/// Single-quoted spans not inside a double-quoted one are ordinary quotes.
fn mark_top_level_singles(quotes: &mut [Quote], first_single: usize) {
    let (doubles, singles) = quotes.split_at_mut(first_single);
    for s in singles {
        s.nested = doubles
            .iter()
            .any(|d| d.open < s.open && s.close_end <= d.close_end.max(d.end));
    }
}

// ---------------------------------------------------------------------------
// Speakers
// ---------------------------------------------------------------------------

const VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "tells",
    "added",
    "adds",
    "asked",
    "asks",
    "explained",
    "noted",
    "notes",
    "warned",
    "warns",
    "insisted",
    "insists",
    "stated",
    "declared",
    "wrote",
    "writes",
    "continued",
    "replied",
    "argued",
    "argues",
    "claimed",
    "claims",
    "concluded",
    "stressed",
    "acknowledged",
    "admitted",
    "announced",
    "remarked",
    "recalled",
    "vowed",
    "pledged",
    "denied",
    "conceded",
    "observed",
    "commented",
    "predicted",
    "suggested",
];

/// Words that end a speaker phrase that follows the verb (`said X on Tuesday`).
const PHRASE_STOPS: &[&str] = &[
    "in",
    "on",
    "by",
    "from",
    "at",
    "during",
    "after",
    "before",
    "when",
    "while",
    "who",
    "which",
    "that",
    "referring",
    "adding",
    "told",
    "to",
    "last",
    "this",
    "yesterday",
    "today",
    "tonight",
    "earlier",
    "later",
    "speaking",
    "as",
    "and",
    "but",
    "with",
    "via",
];

const PRONOUNS: &[&str] = &["he", "she", "they", "we", "i", "it", "you"];

const TITLES: &[&str] = &[
    "adm",
    "admiral",
    "former",
    "chairman",
    "chairwoman",
    "chair",
    "chief",
    "chiefs",
    "gen",
    "general",
    "sen",
    "senator",
    "rep",
    "representative",
    "secretary",
    "president",
    "vice",
    "prime",
    "minister",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "professor",
    "lt",
    "col",
    "colonel",
    "capt",
    "captain",
    "sgt",
    "gov",
    "governor",
    "mayor",
    "judge",
    "justice",
    "ambassador",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "foreign",
    "defense",
    "defence",
    "state",
    "of",
    "the",
    "joint",
    "staff",
    "us",
    "u.s",
    "deputy",
    "acting",
    "interim",
    "maj",
    "major",
    "cmdr",
    "commander",
    "rev",
    "sir",
    "lord",
    "king",
    "queen",
    "prince",
    "sheikh",
    "senior",
    "top",
    "army",
    "navy",
    "military",
    "intelligence",
    "attorney",
    "leader",
    "head",
];

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "adm", "gen", "sen", "rep", "col", "lt", "sgt", "gov", "st", "jr",
    "sr", "no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "prof", "capt", "maj", "cmdr", "rev", "vs", "inc", "corp", "co",
];

fn clean_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.')
        .trim_end_matches('.')
        .to_lowercase()
}

fn is_verb(w: &str) -> bool {
    VERBS.contains(&clean_word(w).as_str()) && w.starts_with(char::is_lowercase)
}

/// Does the `.` ending `word` end a sentence (not `U.S.`, `Adm.`, `J.`)?
fn ends_sentence(word: &str) -> bool {
    let core = word.trim_end_matches(['.', '"', '”', '’', '\'', ')']);
    if !word.ends_with(['.', '?', '!', '"', '”']) || core.contains('.') {
        return false;
    }
    let single_capital = core.chars().count() == 1 && core.starts_with(char::is_uppercase);
    !single_capital && !ABBREVIATIONS.contains(&core.to_lowercase().as_str())
}

/// Byte offset where the sentence containing `i` begins (within its line).
fn sentence_start(text: &str, i: usize) -> usize {
    let i = floor_boundary(text, i);
    let line_start = text
        .get(..i)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |p| p + 1);
    let segment = slice(text, line_start, i);
    let mut start = line_start;
    let mut pos = 0;
    for w in segment.split(' ') {
        pos += w.len() + 1;
        if ends_sentence(w) && line_start + pos <= i {
            start = line_start + pos;
        }
    }
    start.min(i)
}

/// Text from `i` to the end of its sentence (within its line, at most 250 bytes).
fn sentence_rest(text: &str, i: usize) -> &str {
    let window = slice(text, i, i.saturating_add(250));
    let line = window.split('\n').next().unwrap_or("");
    let mut end = line.len();
    let mut pos = 0;
    for w in line.split(' ') {
        pos += w.len() + 1;
        if pos > 2 && ends_sentence(w) {
            end = (pos - 1).min(line.len());
            break;
        }
    }
    line.get(..end).unwrap_or(line)
}

/// The phrase right after a reporting verb, up to a stop word or punctuation.
fn phrase_after_verb(words: &[&str]) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for w in words {
        let cw = clean_word(w);
        let is_day = cw.ends_with("day") && w.starts_with(char::is_uppercase);
        if out.len() >= MAX_SPEAKER_WORDS || PHRASE_STOPS.contains(&cw.as_str()) || is_day {
            break;
        }
        let stop = w.ends_with([',', '.', ';', ':', '?', '!']);
        out.push(w.trim_end_matches([',', '.', ';', ':', '?', '!']));
        let abbreviation = w.ends_with('.') && !ends_sentence(w);
        if stop && !abbreviation {
            break;
        }
    }
    let s = out.join(" ");
    (!s.is_empty() && s.chars().any(char::is_alphabetic)).then_some(s)
}

/// The subject before a reporting verb: `Jeffrey Dressler, an analyst,` →
/// `Jeffrey Dressler`; `However, Haqqani` → `Haqqani`.
fn subject_before(words: &[&str]) -> Option<String> {
    let joined = words.join(" ");
    let parts: Vec<&str> = joined
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let first = parts.first()?;
    let last = parts.last()?;
    let appositive = ["a ", "an ", "the "].iter().any(|a| last.starts_with(a));
    let pick = if parts.len() > 1 && appositive && first.starts_with(char::is_uppercase) {
        first
    } else {
        last
    };
    let pick = pick.trim_start_matches(|c: char| !c.is_alphanumeric());
    let n = pick.split_whitespace().count();
    (n > 0 && n <= MAX_SPEAKER_WORDS && !pick.contains(['"', '“', '”'])).then(|| pick.to_string())
}

/// Speaker named after the quote: `…," said X` or `…," X said`.
fn speaker_after(text: &str, q: &Quote) -> Option<String> {
    let rest = sentence_rest(text, q.close_end);
    let rest = rest.trim_start_matches([',', ' ', '\u{a0}']);
    let words: Vec<&str> = rest.split_whitespace().collect();
    let first = words.first()?;
    let inner = slice(text, q.start, q.close_end);
    let closed_sentence = inner.trim_end_matches(['"', '”', '»', ' ']).ends_with('.');
    if closed_sentence && first.starts_with(char::is_uppercase) {
        return None;
    }
    if is_verb(first) {
        return phrase_after_verb(&words[1..]);
    }
    if clean_word(first) == "according" && words.get(1).is_some_and(|w| clean_word(w) == "to") {
        return phrase_after_verb(words.get(2..)?);
    }
    let k = words.iter().take(20).position(|w| is_verb(w))?;
    if words[..k]
        .iter()
        .any(|w| w.ends_with(['.', '?', '!']) && ends_sentence(w))
    {
        return None;
    }
    subject_before(&words[..k])
}

/// Speaker named before the quote: the subject of the sentence's first
/// reporting verb, or `according to X`.
fn speaker_before(text: &str, q: &Quote) -> Option<String> {
    let s = sentence_start(text, q.open);
    let sentence = slice(text, s, q.open);
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if let Some(k) = words
        .windows(2)
        .position(|w| clean_word(w[0]) == "according" && clean_word(w[1]) == "to")
        && let Some(p) = phrase_after_verb(&words[k + 2..])
    {
        return Some(p);
    }
    let k = words.iter().position(|w| is_verb(w))?;
    subject_before(&words[..k])
}

fn is_pronoun(s: &str) -> bool {
    PRONOUNS.contains(&s.to_lowercase().as_str())
}

/// Display form and comparison key of a speaker phrase.
fn speaker_forms(phrase: &str) -> (String, String) {
    let phrase = phrase
        .trim()
        .trim_start_matches("But ")
        .trim_start_matches("And ")
        .trim_end_matches("'s")
        .trim_end_matches("’s");
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let is_name_word =
        |w: &&&str| w.starts_with(char::is_uppercase) && !TITLES.contains(&clean_word(w).as_str());
    let run = words.iter().rev().take_while(is_name_word).count();
    if run > 0 {
        let name = words[words.len() - run..].join(" ");
        let key = clean_word(words[words.len() - 1]);
        return (name, key);
    }
    let lower = phrase.to_lowercase();
    let key = ["the ", "a ", "an "]
        .iter()
        .find_map(|a| lower.strip_prefix(a))
        .unwrap_or(&lower)
        .to_string();
    (phrase.to_string(), key)
}

/// Fill in speakers for one document's quotes, in order.
fn attribute_speakers(text: &str, quotes: &mut [Quote]) {
    let mut last: Option<(String, String, usize)> = None;
    for q in quotes.iter_mut().filter(|q| !q.nested) {
        let found = if q.ends_clause {
            speaker_after(text, q).or_else(|| speaker_before(text, q))
        } else {
            speaker_before(text, q).or_else(|| speaker_after(text, q))
        };
        let previous = last.as_ref().map(|l| (l.0.clone(), l.1.clone()));
        let resolved = match found {
            Some(p) if is_pronoun(&p) => resolve_pronoun(text, last.as_ref(), q.open),
            Some(p) => Some(speaker_forms(&p)),
            None => previous.filter(|_| {
                last.as_ref()
                    .is_some_and(|l| adjacent_paragraphs(text, l.2, q.open))
            }),
        };
        if let Some((display, key)) = resolved {
            last = Some((display.clone(), key.clone(), q.close_end));
            q.speaker = Some(display);
            q.speaker_key = Some(key);
        }
    }
}

/// Nouns that name a person by role (`the militant commander`).
const PERSON_NOUNS: &[&str] = &[
    "commander",
    "official",
    "officials",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "leader",
    "minister",
    "analyst",
    "militant",
    "source",
    "president",
    "secretary",
    "general",
    "officer",
    "diplomat",
    "envoy",
    "ambassador",
    "chief",
    "member",
    "lawmaker",
    "senator",
    "witness",
    "resident",
    "expert",
    "aide",
    "adviser",
    "advisor",
];

/// "he"/"she": the previous quote's speaker, unless a role phrase with a
/// different head noun (`the militant commander`) was introduced since.
fn resolve_pronoun(
    text: &str,
    last: Option<&(String, String, usize)>,
    at: usize,
) -> Option<(String, String)> {
    let from = last.map_or(0, |l| l.2);
    let phrase = recent_role_phrase(text, from, at).map(|p| speaker_forms(&p));
    let head = |key: &str| key.rsplit(' ').next().unwrap_or("").to_string();
    match (last, phrase) {
        (Some(l), Some(p)) if head(&l.1) != head(&p.1) => Some(p),
        (Some(l), _) => Some((l.0.clone(), l.1.clone())),
        (None, p) => p,
    }
}

/// The last sentence subject in `text[from..to]` that is a role phrase.
fn recent_role_phrase(text: &str, from: usize, to: usize) -> Option<String> {
    const INTRO: &[&str] = &[
        "in", "on", "at", "after", "last", "during", "earlier", "however", "but",
    ];
    let mut found = None;
    for line in slice(text, from, to).split('\n') {
        for sentence in line.split(". ") {
            let mut parts = sentence.split(',').map(str::trim);
            let first = parts.next().unwrap_or("");
            let intro = first
                .split_whitespace()
                .next()
                .is_some_and(|w| INTRO.contains(&clean_word(w).as_str()));
            let subject = if intro {
                parts.next().unwrap_or("")
            } else {
                first
            };
            let words: Vec<&str> = subject.split_whitespace().collect();
            let article = words
                .first()
                .is_some_and(|w| ["the", "a", "an"].contains(&clean_word(w).as_str()));
            let role = words
                .last()
                .is_some_and(|w| PERSON_NOUNS.contains(&clean_word(w).as_str()));
            if article && role && words.len() <= 5 {
                found = Some(subject.to_string());
            }
        }
    }
    found
}

/// Is there at most one paragraph break (no whole paragraph) between the two offsets?
fn adjacent_paragraphs(text: &str, from: usize, to: usize) -> bool {
    let between = slice(text, from, to.max(from));
    let lines: Vec<&str> = between.split('\n').collect();
    lines.len() <= 2
        || lines[1..lines.len() - 1]
            .iter()
            .all(|l| l.trim().is_empty())
}

// ---------------------------------------------------------------------------
// Credits
// ---------------------------------------------------------------------------

/// Outlets a document credits (its own outlet excluded), in order of first mention.
fn doc_credits(doc: &Document, text: &str) -> Vec<String> {
    let body = slice(text, 0, body_end(text));
    let own = doc.outlet.as_deref().map(canonical_outlet);
    let mut names: Vec<String> = Vec::new();
    for c in find_credits(body, wire_aliases()) {
        let is_own = own
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(&c.name));
        if !is_own && !names.contains(&c.name) {
            names.push(c.name);
        }
    }
    names
}

// ---------------------------------------------------------------------------
// Normalization and matching
// ---------------------------------------------------------------------------

/// Lowercase, fold quotes and brackets, `U.S.` → `us`, drop punctuation,
/// collapse whitespace.
fn normalize(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if matches!(c, '.' | '\'' | '’' | '‘' | '`' | '´') {
            // Dropped without a space: "u.s." -> "us", "don't" -> "dont".
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hash of `n` words starting at `i`.
fn gram_hash(words: &[u64], i: usize, n: usize) -> u64 {
    words[i..i + n].iter().fold(n as u64, |h, &w| {
        crate::shingle::mix64(h.rotate_left(17) ^ w)
    })
}

/// Is `short` a contiguous run of words inside `long`?
fn contains_words(long: &[u64], short: &[u64]) -> bool {
    // The first word is compared before the whole window: most windows
    // differ there, and a slice compare is a call.
    let Some(&first) = short.first() else {
        return false;
    };
    long.windows(short.len())
        .any(|w| w[0] == first && w == short)
}

/// Do `a` and `b` share a run of `len` words? The windows of `len` words
/// of the string with fewer windows are hashed (a rolling polynomial
/// hash); the other's windows are rolled over and looked up (in sorted
/// order when there are many), and checked word by word on a hit: linear
/// time, where comparing all alignments costs `|a|·|b|`. The audit asks
/// for a run of 80% of the shorter quote, which has few such windows.
fn has_common_run(a: &[u64], b: &[u64], len: usize) -> bool {
    const P: u64 = 0x9E37_79B9_7F4A_7C15;
    if len == 0 {
        return true;
    }
    if len > a.len() || len > b.len() {
        return false;
    }
    // P^len, to take the word leaving the window out of the hash.
    let out = (0..len).fold(1u64, |x, _| x.wrapping_mul(P));
    // Each window's hash and start, in order.
    fn windows(w: &[u64], len: usize, out: u64) -> impl Iterator<Item = (u64, usize)> + '_ {
        let mut h = 0u64;
        w.iter().enumerate().filter_map(move |(i, &x)| {
            h = h.wrapping_mul(P).wrapping_add(x);
            if i >= len {
                h = h.wrapping_sub(w[i - len].wrapping_mul(out));
            }
            (i + 1 >= len).then_some((h, i + 1 - len))
        })
    }
    let (few, many) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut kept: Vec<(u64, usize)> = windows(few, len, out).collect();
    let sorted = kept.len() > 16;
    if sorted {
        kept.sort_unstable();
    }
    windows(many, len, out).any(|(h, j)| {
        let matches = |&&(g, i): &&(u64, usize)| g == h && few[i..][..len] == many[j..][..len];
        if sorted {
            let first = kept.partition_point(|e| e.0 < h);
            kept[first..]
                .iter()
                .take_while(|e| e.0 == h)
                .any(|e| matches(&e))
        } else {
            kept.iter().any(|e| matches(&e))
        }
    })
}

/// Length of the longest common run of words (the reference
/// [`has_common_run`] is tested against).
#[cfg(test)]
fn longest_common_run(a: &[u64], b: &[u64]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    let mut best = 0;
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { 0 };
            best = best.max(cur[j + 1]);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    best
}

/// Is a short quote specific enough to match inside a longer one?
fn specific(words: &[&str]) -> bool {
    words.len() >= 4 || words.iter().any(|w| w.chars().count() >= 5)
}

/// Are these two quotations (normalized) the same quotation?
fn same_quote(a: &Norm, b: &Norm) -> bool {
    if a.text == b.text {
        return true;
    }
    let (short, long) = if a.words.len() <= b.words.len() {
        (a, b)
    } else {
        (b, a)
    };
    if short.specific && contains_words(long.words, short.words) {
        return true;
    }
    let bytes = a.text.len().max(b.text.len());
    // Levenshtein distance is at least the length difference: skip the
    // quadratic test when that alone rules the pair out.
    let close_in_length =
        (a.text.len().abs_diff(b.text.len()) as f64) <= (1.0 - SIMILAR) * bytes as f64;
    if close_in_length && bytes <= MAX_LEV_BYTES {
        // Characters for short quotes (a one-word edit in five words is
        // small), words for long ones (the same verdict, far cheaper).
        if bytes <= CHAR_LEV_BYTES {
            if similar_chars(a.text, b.text) {
                return true;
            }
        } else if within_similarity(
            word_bound(a.words, b.words),
            a.words.len().max(b.words.len()),
        ) && similar_sequences(a.words, b.words)
        {
            return true;
        }
    }
    short.words.len() >= 6
        && has_common_run(
            short.words,
            long.words,
            (short.words.len() * 8).div_ceil(10),
        )
}

/// Is `1 - levenshtein(a, b) / max(len a, len b) >= SIMILAR`, counting
/// characters? A character-count bound rules most pairs out before the
/// edit distance (bit-parallel for ASCII, within the band the threshold
/// allows otherwise).
fn similar_chars(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let longer = a.len().max(b.len());
        let mut counts = [0i32; 64];
        for &c in a {
            counts[(c & 63) as usize] += 1;
        }
        for &c in b {
            counts[(c & 63) as usize] -= 1;
        }
        // One edit changes these counts by at most 2 in total.
        let bound = count_difference(&counts).div_ceil(2);
        if !within_similarity(bound, longer) || !within_similarity(bigram_bound(a, b), longer) {
            return false;
        }
        return levenshtein_bytes_within(a, b, max_passing(longer))
            .is_some_and(|d| within_similarity(d, longer));
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    similar_sequences(&a, &b)
}

/// A lower bound of the edit distance between `a` and `b` from their
/// byte pairs: one edit changes at most two pairs of a string (a
/// substitution takes two away and adds two), so the pair counts differ by
/// at most 4 in total per edit. Pairs are counted in 256 buckets; merging
/// buckets never raises the difference, so the bound holds. Letter counts
/// alone pass most quotes in one language; their pairs tell different
/// wordings apart (gen 20k: the Levenshtein distance was computed for 192k
/// quote pairs, of which 12k were similar; 110k with this bound).
fn bigram_bound(a: &[u8], b: &[u8]) -> usize {
    let bucket = |x: u8, y: u8| (x.wrapping_mul(31) ^ y.rotate_left(3)) as usize;
    let mut counts = [0i32; 256];
    for w in a.windows(2) {
        counts[bucket(w[0], w[1])] += 1;
    }
    for w in b.windows(2) {
        counts[bucket(w[0], w[1])] -= 1;
    }
    count_difference(&counts).div_ceil(4)
}

/// A lower bound of the edit distance between two word sequences from
/// their word counts (in 256 buckets of the hash): one edit changes them
/// by at most 2 in total.
fn word_bound(a: &[u64], b: &[u64]) -> usize {
    let mut counts = [0i32; 256];
    for &w in a {
        counts[(w & 255) as usize] += 1;
    }
    for &w in b {
        counts[(w & 255) as usize] -= 1;
    }
    count_difference(&counts).div_ceil(2)
}

/// The total difference of two strings' counts (held as one's minus the
/// other's), from which the bounds above divide out what one edit changes.
fn count_difference(counts: &[i32]) -> usize {
    counts.iter().map(|c| c.unsigned_abs() as usize).sum()
}

/// The largest edit distance that can still pass [`within_similarity`]
/// between strings whose longer has `longer` items, plus one for rounding.
fn max_passing(longer: usize) -> usize {
    ((1.0 - SIMILAR) * longer as f64).ceil() as usize + 1
}

/// Is `1 - levenshtein(a, b) / max(len a, len b) >= SIMILAR`?
fn similar_sequences<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let longer = a.len().max(b.len());
    if longer == 0 {
        return true;
    }
    bounded_levenshtein(a, b, max_passing(longer)).is_some_and(|d| within_similarity(d, longer))
}

/// The similarity test on an edit distance (or a lower bound of one).
fn within_similarity(distance: usize, longer: usize) -> bool {
    longer == 0 || 1.0 - distance as f64 / longer as f64 >= SIMILAR
}

/// Candidate pairs `(i, j)` with `i < j` among quotes with distinct
/// normalized texts, from shared n-grams that are not too common.
fn candidate_pairs(reps: &[Norm]) -> Vec<(usize, usize)> {
    candidate_pairs_in(reps, HIT_PASS_BYTES)
}

/// [`candidate_pairs`] in passes of `pass_bytes` of hits.
fn candidate_pairs_in(reps: &[Norm], pass_bytes: usize) -> Vec<(usize, usize)> {
    // Sorted, for binary search (a tree costs more per lookup).
    let mut short_grams: Vec<u64> = reps
        .iter()
        .filter(|q| q.words.len() < GRAM)
        .map(|q| gram_key(q.words, 0, q.words.len()))
        .collect();
    short_grams.sort_unstable();
    short_grams.dedup();
    // Each (gram, quote) as one number: the gram's high bits above the
    // quote's number, so that sorting makes the posting lists in half the
    // memory of a pair. Two grams equal in their high bits share a list
    // (some 50 merged lists in 30 million grams at a million documents):
    // mostly that adds a hit, and a candidate `same_quote` then rules on;
    // very rarely it takes one away (two grams of the same two quotes
    // merged) or pushes a list past MAX_POSTING.
    let owner_bits = (usize::BITS - reps.len().leading_zeros()).max(1);
    let owner_mask = (1u64 << owner_bits) - 1;
    let mut keyed: Vec<u64> = Vec::new();
    let mut gram_counts: Vec<usize> = Vec::with_capacity(reps.len());
    for (qi, q) in reps.iter().enumerate() {
        let mut grams = quote_grams(q, &short_grams);
        grams.sort_unstable();
        grams.dedup();
        gram_counts.push(grams.len());
        keyed.extend(grams.into_iter().map(|g| g & !owner_mask | qi as u64));
    }
    keyed.par_sort_unstable();
    keyed.dedup();
    // Posting lists of two to MAX_POSTING quotes, in order of quote.
    let lists = || {
        keyed
            .chunk_by(|x, y| x >> owner_bits == y >> owner_bits)
            .filter(|l| l.len() > 1 && l.len() <= MAX_POSTING)
    };
    // Every pair of a list is a hit, counted with its repeats; in a large
    // corpus they outnumber the pairs many times over, so they are made in
    // passes of about HIT_PASS_BYTES, each keeping the pairs hashing to it.
    let total: usize = lists().map(|l| l.len() * (l.len() - 1) / 2).sum();
    let passes = (total * 8).div_ceil(pass_bytes.max(1)).max(1) as u64;
    let mut pairs = Vec::new();
    for pass in 0..passes {
        // Each hit packed as LSH packs a pair (`a << 32 | b`): sorted as
        // the pair would be, by one compare.
        let mut hits: Vec<u64> = Vec::new();
        for list in lists() {
            for (k, &a) in list.iter().enumerate() {
                let a = (a & owner_mask) as u32;
                hits.extend(
                    list[k + 1..]
                        .iter()
                        .map(|&b| crate::lsh::pack_pair(a, (b & owner_mask) as u32))
                        .filter(|&hit| passes == 1 || crate::shingle::mix64(hit) % passes == pass),
                );
            }
        }
        hits.par_sort_unstable();
        // Runs of equal hits, in sorted order: the pairs come out sorted
        // and once each (within a pass).
        for run in hits.chunk_by(|x, y| x == y) {
            let (a, b) = ((run[0] >> 32) as usize, run[0] as u32 as usize);
            let shorter = reps[a].words.len().min(reps[b].words.len());
            let needed = if shorter < GRAM {
                1
            } else {
                gram_counts[a].min(gram_counts[b]).min(2)
            };
            if run.len() >= needed {
                pairs.push((a, b));
            }
        }
    }
    if passes > 1 {
        pairs.sort_unstable();
    }
    pairs
}

/// About how many bytes of hits [`candidate_pairs`] makes in one pass.
const HIT_PASS_BYTES: usize = 128 << 20;

/// The index keys of a quote: its word 4-grams (the whole quote when it is
/// shorter), plus any shorter n-grams that are whole short quotes somewhere
/// (so those can be found inside longer ones). The n-gram size is mixed
/// into the key.
fn quote_grams(q: &Norm, short_grams: &[u64]) -> Vec<u64> {
    let w = &q.words;
    let mut out: Vec<u64> = own_keys(w).collect();
    out.extend(sub_keys(w).filter(|k| short_grams.binary_search(k).is_ok()));
    out
}

/// Candidate pairs tested together in [`group_indices`] before their
/// unions are made (the number matters little: a slice of 256 tests about
/// as many pairs on generated 20k).
const UNION_SLICE: usize = 4096;

/// Union-find root with path halving.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Groups of matching quotes, as lists of indices into `quotes`. Quotes
/// with equal normalized text share one [`Norm`]; only distinct texts go
/// through the n-gram index and the fuzzy test, so a quote repeated in
/// thousands of documents stays cheap.
fn group_indices(quotes: &[Held], reps: &[Norm]) -> Vec<Vec<usize>> {
    group_indices_in(quotes, reps, UNION_SLICE)
}

/// [`group_indices`], testing candidate pairs `slice` at a time.
fn group_indices_in(quotes: &[Held], reps: &[Norm], slice: usize) -> Vec<Vec<usize>> {
    // The quotes of each normalized text, in order.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); reps.len()];
    for (i, q) in quotes.iter().enumerate() {
        members[q.norm as usize].push(i);
    }
    let mut parent: Vec<usize> = (0..reps.len()).collect();
    // The candidates are tested a slice at a time, in parallel within a
    // slice, and a pair whose quotes an earlier slice already joined is not
    // tested at all: the groups are the same (each is a connected set, and
    // its root is its smallest member whatever the order of the unions),
    // for fewer fuzzy tests where a quote is repeated with many variants.
    let mut clock = crate::scan::Stopwatch::new();
    let candidates = candidate_pairs(reps);
    clock.lap("quotes: candidate pairs");
    for slice in candidates.chunks(slice.max(1)) {
        let open: Vec<(usize, usize)> = slice
            .iter()
            .copied()
            .filter(|&(i, j)| root(&mut parent, i) != root(&mut parent, j))
            .collect();
        let joined: Vec<(usize, usize)> = open
            .into_par_iter()
            .filter(|&(i, j)| same_quote(&reps[i], &reps[j]))
            .collect();
        for (i, j) in joined {
            let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
            if ri != rj {
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (r, m) in members.into_iter().enumerate() {
        let root = root(&mut parent, r);
        groups.entry(root).or_default().extend(m);
    }
    groups.into_values().collect()
}

/// A normalized quotation, held once however many quotes have it (a view
/// into the [`Tables`]' storage).
#[derive(Clone, Copy)]
struct Norm<'a> {
    text: &'a str,
    /// Each word of `text`, hashed (xxh3).
    words: &'a [u64],
    /// See [`specific`].
    specific: bool,
}

/// Where a [`Norm`] is in the [`Tables`]' storage: the ends of its text
/// and of its words.
struct NormAt {
    text: (usize, usize),
    words: (usize, usize),
    specific: bool,
}

/// A quote held for grouping: where it is, and its text and speaker as
/// numbers in the audit's tables ([`Tables`]).
struct Held {
    doc: u32,
    start: usize,
    end: usize,
    norm: u32,
    speaker: u32,
    speaker_key: u32,
}

/// No entry: no speaker in a [`Held`] quote, the end of a chain in
/// [`Interned`].
const NO_NAME: u32 = u32::MAX;

/// Values stored once each, numbered in order of first appearance, found
/// by the xxh3 hash of their text.
struct Interned<T> {
    items: Vec<T>,
    /// Hash -> the last item with that hash; `next` chains the items that
    /// share one.
    last: HashMap<u64, u32>,
    next: Vec<u32>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Interned {
            items: Vec::new(),
            last: HashMap::new(),
            next: Vec::new(),
        }
    }
}

impl<T> Interned<T> {
    /// The number of the item with hash `h` for which `same` holds.
    fn find(&self, h: u64, same: impl Fn(&T) -> bool) -> Option<u32> {
        let mut at = self.last.get(&h).copied().unwrap_or(NO_NAME);
        while at != NO_NAME {
            if same(&self.items[at as usize]) {
                return Some(at);
            }
            at = self.next[at as usize];
        }
        None
    }

    /// Store `item`, whose text hashes to `h`, and give its number.
    fn add(&mut self, h: u64, item: T) -> u32 {
        let id = self.items.len() as u32;
        self.next.push(self.last.insert(h, id).unwrap_or(NO_NAME));
        self.items.push(item);
        id
    }
}

/// The normalized texts and speaker names of the held quotes, each stored
/// once. The texts and their word hashes are stored end to end in two
/// vectors rather than in two allocations per quotation, which the
/// reading threads made between their short-lived buffers (at a million
/// documents, 856,000 distinct quotations: RSS after extracting, heap
/// handed back, 1,130 → 1,119 MB).
#[derive(Default)]
struct Tables {
    norms: Interned<NormAt>,
    texts: String,
    words: Vec<u64>,
    names: Interned<Box<str>>,
}

impl Tables {
    /// Hold a quote: its text and speaker go in the tables.
    fn hold(&mut self, q: Quote) -> Held {
        let Quote {
            doc,
            start,
            end,
            speaker,
            speaker_key,
            norm,
            words,
            specific,
            ..
        } = q;
        let h = xxh3_64(norm.as_bytes());
        let texts = &self.texts;
        let norm = match self.norms.find(h, |n| texts[n.text.0..n.text.1] == *norm) {
            Some(id) => id,
            None => {
                let at = NormAt {
                    text: (self.texts.len(), self.texts.len() + norm.len()),
                    words: (self.words.len(), self.words.len() + words.len()),
                    specific,
                };
                self.texts.push_str(&norm);
                self.words.extend_from_slice(&words);
                self.norms.add(h, at)
            }
        };
        Held {
            doc: doc as u32,
            start,
            end,
            norm,
            speaker: self.name(speaker.as_deref()),
            speaker_key: self.name(speaker_key.as_deref()),
        }
    }

    fn name(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else {
            return NO_NAME;
        };
        let h = xxh3_64(name.as_bytes());
        match self.names.find(h, |n| **n == *name) {
            Some(id) => id,
            None => self.names.add(h, name.into()),
        }
    }

    /// Every distinct normalized quotation, by number.
    fn norms(&self) -> Vec<Norm<'_>> {
        self.norms
            .items
            .iter()
            .map(|n| Norm {
                text: &self.texts[n.text.0..n.text.1],
                words: &self.words[n.words.0..n.words.1],
                specific: n.specific,
            })
            .collect()
    }

    fn name_of(&self, id: u32) -> Option<&str> {
        self.names.items.get(id as usize).map(|n| &**n)
    }
}

// ---------------------------------------------------------------------------
// The audit
// ---------------------------------------------------------------------------

/// Quotes of one document with speakers and normalized text filled in.
fn document_quotes(idx: usize, text: &str) -> Vec<Quote> {
    document_quotes_where(idx, text, |_| true)
}

/// [`document_quotes`], keeping only the quotes `keep` accepts. Speakers
/// are found only when it accepts one (they are found over all of the
/// document's quotes: a pronoun may refer to a speaker named before).
fn document_quotes_where(idx: usize, text: &str, keep: impl Fn(&Quote) -> bool) -> Vec<Quote> {
    let mut quotes = extract(text);
    normalize_quotes(idx, text, &mut quotes);
    let kept: Vec<bool> = quotes
        .iter()
        .map(|q| q.words.len() >= MIN_WORDS && keep(q))
        .collect();
    if !kept.contains(&true) {
        return Vec::new();
    }
    attribute_speakers(text, &mut quotes);
    let mut kept = kept.into_iter();
    quotes.retain(|_| kept.next().unwrap_or(false));
    for q in &mut quotes {
        for s in [&mut q.speaker, &mut q.speaker_key].into_iter().flatten() {
            s.shrink_to_fit();
        }
    }
    quotes.shrink_to_fit();
    quotes
}

/// Quotes of one document with normalized text but no speakers: what the
/// first pass of [`audit_quotes`] needs to tell which quotes may match.
fn plain_quotes(idx: usize, text: &str) -> Vec<Quote> {
    let mut quotes = extract(text);
    normalize_quotes(idx, text, &mut quotes);
    quotes.retain(|q| q.words.len() >= MIN_WORDS);
    quotes
}

/// Fill in the document number, normalized text and words of a
/// document's quotes.
fn normalize_quotes(idx: usize, text: &str, quotes: &mut [Quote]) {
    for q in quotes.iter_mut() {
        q.doc = idx;
        q.norm = normalize(slice(text, q.start, q.end));
        let words: Vec<&str> = q.norm.split(' ').collect();
        q.specific = specific(&words);
        q.words = words.iter().map(|w| xxh3_64(w.as_bytes())).collect();
        // The quotes that may match are held until they are grouped: no
        // spare capacity.
        q.norm.shrink_to_fit();
    }
}

/// The index key of the `n` words of `w` from `i` ([`quote_grams`]).
fn gram_key(w: &[u64], i: usize, n: usize) -> u64 {
    gram_hash(w, i, n) ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A quote's own keys in [`quote_grams`]: its word 4-grams, or the whole
/// quote when shorter.
fn own_keys(w: &[u64]) -> impl Iterator<Item = u64> + '_ {
    let (n, count) = if w.len() < GRAM {
        (w.len(), 1)
    } else {
        (GRAM, w.len() + 1 - GRAM)
    };
    (0..count).map(move |i| gram_key(w, i, n))
}

/// The shorter n-grams [`quote_grams`] looks up among the whole short
/// quotes.
fn sub_keys(w: &[u64]) -> impl Iterator<Item = u64> + '_ {
    (2..GRAM.min(w.len() + 1))
        .filter(move |&n| n != w.len())
        .flat_map(move |n| (0..=w.len() - n).map(move |i| gram_key(w, i, n)))
}

/// Which quotes of a corpus may match another: the first pass of
/// [`audit_quotes`], which sees every quote once and keeps only this.
///
/// Two quotes can only be grouped when they share a key of
/// [`quote_grams`]: one of their own keys, or a short quote's whole key
/// found among a longer one's n-grams. A quote none of whose own keys is
/// found in any other quote, that contains no short quote, and that is no
/// short quote contained in another, is alone in every posting list and
/// cannot be grouped; leaving it out changes no group. The tests here err
/// only towards keeping a quote (hash collisions).
struct MayMatch {
    /// High 32 bits of the own keys found in two or more quotes, sorted.
    shared: Vec<u32>,
    /// Whole keys of the short quotes, sorted.
    short: Vec<u64>,
    /// A one-hash Bloom filter of every quote's [`sub_keys`].
    inside: Vec<u64>,
}

impl MayMatch {
    /// Bits of the [`MayMatch::inside`] filter for a corpus of `bytes` of
    /// text: about one per eight bytes, at least 2^20.
    fn filter_words(bytes: u64) -> usize {
        ((bytes / 8).max(1 << 20).next_power_of_two() / 64) as usize
    }

    /// The word and bit of `key` in a filter of `words` words.
    fn bit(words: usize, key: u64) -> (usize, u64) {
        let i = (crate::shingle::mix64(key) as usize) & (words * 64 - 1);
        (i / 64, 1 << (i % 64))
    }

    /// The first pass: every document's quotes, without speakers, reduced
    /// to their keys as they are found.
    fn find(documents: &[Document]) -> Result<MayMatch> {
        let bytes: u64 = documents.iter().map(|d| d.text_len() as u64).sum();
        let inside: Vec<std::sync::atomic::AtomicU64> = (0..Self::filter_words(bytes))
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect();
        let mut own: Vec<u32> = Vec::new();
        let mut short: Vec<u64> = Vec::new();
        // Documents in chunks, so that only one chunk's keys are ever held
        // twice.
        for chunk in documents.chunks(CHUNK_DOCS) {
            let keys = chunk
                .par_iter()
                .enumerate()
                .map(|(i, d)| {
                    let (mut own, mut short) = (Vec::new(), Vec::new());
                    for q in plain_quotes(i, &d.load_text()?) {
                        // Each key once per quote: a phrase said twice
                        // in one quote does not make it shared.
                        let mut keys: Vec<u32> =
                            own_keys(&q.words).map(|k| (k >> 32) as u32).collect();
                        keys.sort_unstable();
                        keys.dedup();
                        own.extend(keys);
                        if q.words.len() < GRAM {
                            short.push(gram_key(&q.words, 0, q.words.len()));
                        }
                        for k in sub_keys(&q.words) {
                            let (w, b) = Self::bit(inside.len(), k);
                            inside[w].fetch_or(b, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    Ok((own, short))
                })
                .collect::<Result<Vec<_>>>()?;
            own.reserve(keys.iter().map(|k| k.0.len()).sum());
            for (o, s) in keys {
                own.extend(o);
                short.extend(s);
            }
        }
        own.par_sort_unstable();
        let mut shared: Vec<u32> = own
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() > 1)
            .map(|run| run[0])
            .collect();
        drop(own);
        shared.shrink_to_fit();
        short.par_sort_unstable();
        short.dedup();
        short.shrink_to_fit();
        Ok(MayMatch {
            shared,
            short,
            inside: inside.into_iter().map(|a| a.into_inner()).collect(),
        })
    }

    /// May this quote match another?
    fn keeps(&self, q: &Quote) -> bool {
        let w = &q.words;
        own_keys(w).any(|k| self.shared.binary_search(&((k >> 32) as u32)).is_ok())
            || sub_keys(w).any(|k| self.short.binary_search(&k).is_ok())
            || (w.len() < GRAM && {
                let (i, b) = Self::bit(self.inside.len(), gram_key(w, 0, w.len()));
                self.inside[i] & b != 0
            })
    }
}

fn occurrence(q: &Held, tables: &Tables, doc: &Document, credits: &[String]) -> QuoteOccurrence {
    QuoteOccurrence {
        doc: doc.id.clone(),
        start: q.start,
        end: q.end,
        speaker: tables.name_of(q.speaker).map(str::to_string),
        outlet_credited: credits.to_vec(),
    }
}

/// Same speaker key, or the same head word with one key's words inside the
/// other's (`haqqani commander` ~ `haqqani group commander`).
fn compatible_speakers(a: &str, b: &str) -> bool {
    let (wa, wb): (BTreeSet<&str>, BTreeSet<&str>) =
        (a.split(' ').collect(), b.split(' ').collect());
    let same_head = a.rsplit(' ').next() == b.rsplit(' ').next();
    a == b || (same_head && (wa.is_subset(&wb) || wb.is_subset(&wa)))
}

fn build_group(
    members: &[&Held],
    tables: &Tables,
    documents: &[Document],
    credits: &[Vec<String>],
) -> Result<QuoteGroup> {
    let doc = |q: &Held| documents.get(q.doc as usize);
    let occurrences: Vec<QuoteOccurrence> = members
        .iter()
        .filter_map(|q| Some(occurrence(q, tables, doc(q)?, credits.get(q.doc as usize)?)))
        .collect();
    let credited = occurrences.iter().any(|o| !o.outlet_credited.is_empty());
    let uncredited = occurrences.iter().any(|o| o.outlet_credited.is_empty());
    let keys: BTreeSet<&str> = members
        .iter()
        .filter_map(|q| tables.name_of(q.speaker_key))
        .collect();
    let norms: BTreeSet<u32> = members.iter().map(|q| q.norm).collect();
    let text = match members.first().and_then(|q| Some((q, doc(q)?))) {
        Some((q, d)) => slice(&d.load_text()?, q.start, q.end).to_string(),
        None => String::new(),
    };
    Ok(QuoteGroup {
        id: 0,
        text,
        occurrences,
        uncredited_reuse: credited && uncredited,
        speaker_mismatch: keys
            .iter()
            .any(|a| keys.iter().any(|b| !compatible_speakers(a, b))),
        altered_wording: norms.len() > 1,
    })
}

/// Find quotations shared by two or more documents.
///
/// Groups are ordered by their first occurrence (document index, then byte
/// offset) and numbered from 0 in that order; occurrences are ordered by
/// document index, then offset. See the module documentation for how quotes
/// are found, attributed and matched.
///
/// Texts moved out of memory on reading are read back one document at a
/// time ([`Document::load_text`]); failing to read one back is the only
/// error.
pub fn audit_quotes(documents: &[Document]) -> Result<Vec<QuoteGroup>> {
    let bytes: u64 = documents.iter().map(|d| d.text_len() as u64).sum();
    audit_quotes_with(documents, bytes >= FIRST_PASS_BYTES)
}

/// Text in a corpus from which the quote audit first finds which quotes
/// may match another ([`MayMatch`]) and holds only those: that pass reads
/// every quote twice (+50% for the audit on the generated 200k corpus, all
/// of whose quotes match), and saves the memory of the quotes found once
/// (two thirds of them on Reuters), which matters only in large corpora.
const FIRST_PASS_BYTES: u64 = 1 << 30;

/// Documents whose quotes are found at once, in parallel, before they are
/// reduced (to keys in the first pass, to held records after).
const CHUNK_DOCS: usize = 1 << 14;

/// [`audit_quotes`], with or without its first pass (the tests check that
/// it changes nothing).
fn audit_quotes_with(documents: &[Document], first_pass: bool) -> Result<Vec<QuoteGroup>> {
    // Most quotes are found once in a corpus: a first pass keeps only
    // what tells which quotes may match another, and only those are held
    // with their speakers for grouping.
    let mut clock = crate::scan::Stopwatch::new();
    let may = first_pass.then(|| MayMatch::find(documents)).transpose()?;
    clock.lap("quotes: first pass");
    // The quotes found are held compactly as they come, a chunk of
    // documents at a time: each normalized text and speaker once.
    let mut tables = Tables::default();
    let mut quotes: Vec<Held> = Vec::new();
    for (c, chunk) in documents.chunks(CHUNK_DOCS).enumerate() {
        let per_doc = chunk
            .par_iter()
            .enumerate()
            .map(|(i, d)| {
                let (i, text) = (c * CHUNK_DOCS + i, d.load_text()?);
                Ok(match &may {
                    Some(may) => document_quotes_where(i, &text, |q| may.keeps(q)),
                    None => document_quotes(i, &text),
                })
            })
            .collect::<Result<Vec<Vec<Quote>>>>()?;
        quotes.extend(per_doc.into_iter().flatten().map(|q| tables.hold(q)));
    }
    drop(may);
    quotes.shrink_to_fit();
    // The reading threads' buffers are gone: their pages go back before
    // the index of n-grams is built.
    crate::scan::give_back_memory();
    clock.lap("quotes: found and held");
    let mut groups: Vec<Vec<&Held>> = group_indices(&quotes, &tables.norms())
        .into_iter()
        .map(|g| {
            let mut members: Vec<&Held> = g.iter().map(|&i| &quotes[i]).collect();
            members.sort_by_key(|q| (q.doc, q.start, q.end));
            members
        })
        .filter(|m| m.iter().map(|q| q.doc).collect::<BTreeSet<_>>().len() >= 2)
        .collect();
    groups.sort_by_key(|m| m.first().map(|q| (q.doc, q.start, q.end)));
    clock.lap("quotes: grouped");
    // Credits, only for the documents that share a quote.
    let mut involved = vec![false; documents.len()];
    for q in groups.iter().flatten() {
        if let Some(x) = involved.get_mut(q.doc as usize) {
            *x = true;
        }
    }
    let credits = documents
        .par_iter()
        .zip(&involved)
        .map(|(d, &inv)| {
            Ok(if inv {
                doc_credits(d, &d.load_text()?)
            } else {
                Vec::new()
            })
        })
        .collect::<Result<Vec<Vec<String>>>>()?;
    clock.lap("quotes: credits");
    let built = groups
        .iter()
        .enumerate()
        .map(|(id, m)| {
            Ok(QuoteGroup {
                id,
                ..build_group(m, &tables, documents, &credits)?
            })
        })
        .collect();
    clock.lap("quotes: groups built");
    built
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn candidate_pairs_made_in_passes_are_those_made_at_once() {
        // The seeds' quotes, each also with a word changed, cut short and
        // inside a longer quote, so that quotes meet in several lists
        // (the quotes held once per distinct text, as the audit holds them).
        let mut quotes = Vec::new();
        for (i, text) in [S000, S001, S002, S003, S004].into_iter().enumerate() {
            let variants = text.replace(" the ", " a ").replace(" said", " told");
            quotes.extend(document_quotes(2 * i, text));
            quotes.extend(document_quotes(2 * i + 1, &variants));
        }
        let mut tables = Tables::default();
        for q in quotes {
            tables.hold(q);
        }
        let reps = tables.norms();
        let whole = candidate_pairs_in(&reps, usize::MAX);
        assert!(whole.len() > 5, "{}", whole.len());
        for pass_bytes in [8, 64, 1000] {
            assert_eq!(candidate_pairs_in(&reps, pass_bytes), whole, "{pass_bytes}");
        }
    }

    /// Deterministic numbers for the tests: `next(n)` is in `0..n`.
    pub(crate) fn numbers(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut state = seed;
        move |n| {
            state = crate::shingle::mix64(state);
            state % n
        }
    }

    #[test]
    fn skipping_pairs_already_grouped_changes_no_group() {
        // Many variants of a few quotes (words swapped, dropped, added), so
        // that most candidate pairs are joined through others first.
        const WORDS: [&str; 9] = [
            "the", "talks", "will", "never", "end", "while", "people", "suffer", "today",
        ];
        let mut next = numbers(11);
        let mut text = String::new();
        for _ in 0..200 {
            let mut words: Vec<&str> = WORDS.to_vec();
            for _ in 0..next(3) {
                let (a, b) = (next(9) as usize, next(9) as usize);
                words.swap(a, b);
            }
            if next(2) == 0 {
                words.remove(next(9) as usize);
            }
            text.push_str(&format!(
                "\"{},\" said Minister {}.\n\n",
                words.join(" "),
                next(4)
            ));
        }
        let mut tables = Tables::default();
        let quotes: Vec<Held> = document_quotes(0, &text)
            .into_iter()
            .map(|q| tables.hold(q))
            .collect();
        let reps = tables.norms();
        // The reference: every candidate pair tested, then joined.
        let mut parent: Vec<usize> = (0..reps.len()).collect();
        for (i, j) in candidate_pairs(&reps) {
            if same_quote(&reps[i], &reps[j]) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
        // Groups of quote indices, each sorted (the audit's order within a
        // group is by distinct text, which does not matter here).
        let sorted = |groups: Vec<Vec<usize>>| -> Vec<Vec<usize>> {
            groups
                .into_iter()
                .map(|mut g| {
                    g.sort_unstable();
                    g
                })
                .collect()
        };
        let mut want: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, q) in quotes.iter().enumerate() {
            want.entry(root(&mut parent, q.norm as usize))
                .or_default()
                .push(i);
        }
        let want: Vec<Vec<usize>> = want.into_values().collect();
        assert!(want.iter().any(|g| g.len() > 20), "{want:?}");
        for slice in [1, 7, UNION_SLICE, usize::MAX] {
            assert_eq!(
                sorted(group_indices_in(&quotes, &reps, slice)),
                want,
                "{slice}"
            );
        }
    }

    const S000: &str = include_str!("../seeds/000_965e5383da2fe827.txt");
    const S001: &str = include_str!("../seeds/001_848d868a6b3a0ab3.txt");
    const S002: &str = include_str!("../seeds/002_1334a92449fc3236.txt");
    const S003: &str = include_str!("../seeds/003_5edc88af400f5deb.txt");
    const S004: &str = include_str!("../seeds/004_b33e749053d6a94d.txt");
    const THEY: &str = "They (the Americans) would not be able to find a possible solution";
    const UNITED: &str = "We are united and our goal is to liberate our homeland";

    fn doc(id: &str, text: &str, outlet: &str) -> Document {
        let mut d = Document::new(id, text);
        d.outlet = Some(outlet.to_string());
        d
    }

    fn seeds() -> Vec<Document> {
        vec![
            doc("000_965e5383da2fe827", S000, "CBS News"),
            doc("001_848d868a6b3a0ab3", S001, "Voice of America"),
            doc("002_1334a92449fc3236", S002, "The Washington Times"),
            doc("003_5edc88af400f5deb", S003, "The Express Tribune"),
            doc("004_b33e749053d6a94d", S004, "Arutz Sheva"),
        ]
    }

    fn find<'a>(groups: &'a [QuoteGroup], start: &str) -> Option<&'a QuoteGroup> {
        groups.iter().find(|g| g.text.starts_with(start))
    }

    fn speakers(g: &QuoteGroup) -> Vec<String> {
        g.occurrences
            .iter()
            .map(|o| o.speaker.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn seed_groups_match_gold() {
        let docs = seeds();
        let groups = audit_quotes(&docs).unwrap();
        // The three gold quotes, plus "This is not the first time…", which
        // 003 and 004 also share (a gold reuse passage, not a gold quote).
        assert_eq!(groups.len(), 4, "{groups:#?}");
        for start in [THEY, UNITED, "This is not the first time"] {
            let g = find(&groups, start).unwrap_or_else(|| panic!("missing {start}: {groups:#?}"));
            let ids: Vec<&str> = g.occurrences.iter().map(|o| o.doc.as_str()).collect();
            assert_eq!(ids, ["003_5edc88af400f5deb", "004_b33e749053d6a94d"]);
            assert!(
                speakers(g)
                    .iter()
                    .all(|s| s.contains("Haqqani group commander")),
                "{g:#?}"
            );
            assert_eq!(g.occurrences[0].outlet_credited, ["Reuters"]);
            assert!(g.occurrences[1].outlet_credited.is_empty());
            assert!(
                g.uncredited_reuse && !g.speaker_mismatch && !g.altered_wording,
                "{g:#?}"
            );
        }
        let they = find(&groups, THEY)
            .map(|g| g.text.clone())
            .unwrap_or_default();
        assert!(they.ends_with("Taliban shura"), "{they}");
        let g = find(&groups, "veritable arm").unwrap_or_else(|| panic!("{groups:#?}"));
        let ids: Vec<&str> = g.occurrences.iter().map(|o| o.doc.as_str()).collect();
        assert_eq!(ids, ["001_848d868a6b3a0ab3", "003_5edc88af400f5deb"]);
        assert_eq!(speakers(g), ["Mike Mullen", "Mike Mullen"]);
        assert_eq!(g.occurrences[0].outlet_credited, ["AP", "AFP", "Reuters"]);
        assert_eq!(g.occurrences[1].outlet_credited, ["Reuters"]);
        assert!(!g.uncredited_reuse && !g.speaker_mismatch && !g.altered_wording);
        for g in &groups {
            for o in &g.occurrences {
                let d = docs
                    .iter()
                    .find(|d| d.id == o.doc)
                    .map(|d| d.text.as_str())
                    .unwrap_or("");
                assert!(d.get(o.start..o.end).is_some());
            }
        }
        let veritable = S001.find("veritable arm").unwrap_or(0);
        assert_eq!(
            (g.occurrences[0].start, g.occurrences[0].end),
            (veritable, veritable + 13)
        );
    }

    #[test]
    fn group_ids_and_order_are_deterministic() {
        let groups = audit_quotes(&seeds()).unwrap();
        assert_eq!(
            groups.iter().map(|g| g.id).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert!(groups[0].text.starts_with("veritable"));
        assert_eq!(groups, audit_quotes(&seeds()).unwrap());
    }

    #[test]
    fn a_changed_speaker_is_a_mismatch() {
        let t4 = S004.replace(
            "said the Haqqani group commander",
            "said a Taliban spokesman",
        );
        let docs = vec![
            doc("003", S003, "The Express Tribune"),
            doc("004", &t4, "Arutz Sheva"),
        ];
        let groups = audit_quotes(&docs).unwrap();
        let g = find(&groups, THEY).unwrap_or_else(|| panic!("{groups:#?}"));
        assert!(g.speaker_mismatch, "{g:#?}");
        // "he said" later in 004 resolves to "The Haqqani commander" (the
        // role phrase introduced since), compatible with 003's speaker.
        let g = find(&groups, UNITED).unwrap_or_else(|| panic!("{groups:#?}"));
        assert!(!g.speaker_mismatch, "{g:#?}");
    }

    #[test]
    fn altered_words_are_flagged_but_still_grouped() {
        let t4 = S004.replace("liberate our homeland", "free our homeland");
        let docs = vec![
            doc("003", S003, "The Express Tribune"),
            doc("004", &t4, "Arutz Sheva"),
        ];
        let groups = audit_quotes(&docs).unwrap();
        let g = find(&groups, UNITED).unwrap_or_else(|| panic!("{groups:#?}"));
        assert!(g.altered_wording);
        assert!(!find(&groups, THEY).is_some_and(|g| g.altered_wording));
    }

    #[test]
    fn without_the_credit_there_is_no_uncredited_reuse() {
        let t3 = S003.replace("told Reuters on Tuesday", "said on Tuesday");
        let docs = vec![
            doc("003", &t3, "The Express Tribune"),
            doc("004", S004, "Arutz Sheva"),
        ];
        let groups = audit_quotes(&docs).unwrap();
        let g = find(&groups, THEY).unwrap_or_else(|| panic!("{groups:#?}"));
        assert!(!g.uncredited_reuse);
        assert!(g.occurrences.iter().all(|o| o.outlet_credited.is_empty()));
    }

    #[test]
    fn apostrophes_are_not_quote_marks() {
        let text =
            "Pakistan’s army don't know. He said ‘we are here to stay’ and the Pakistanis’ view.";
        let quotes = extract(text);
        let spans: Vec<&str> = quotes.iter().map(|q| &text[q.start..q.end]).collect();
        assert_eq!(spans, ["we are here to stay"]);
        let text = "“They told us ‘go home now’ and we did,” he said. 'Rock 'n' roll' isn't it.";
        let quotes = extract(text);
        let spans: Vec<&str> = quotes.iter().map(|q| &text[q.start..q.end]).collect();
        assert!(
            spans.contains(&"They told us ‘go home now’ and we did"),
            "{spans:?}"
        );
        assert!(spans.contains(&"go home now"), "{spans:?}");
    }

    #[test]
    fn speakers_before_and_after() {
        let text = "Jeffrey Dressler, an analyst, said: \"We see it daily.\"\n\n\"It will end soon,\" Gen. John Smith said on Monday.\n\n\"More words here,\" he added.\n\n\"And more again.\"";
        let mut quotes = extract(text);
        attribute_speakers(text, &mut quotes);
        let sp: Vec<Option<String>> = quotes.iter().map(|q| q.speaker.clone()).collect();
        let want = ["Jeffrey Dressler", "John Smith", "John Smith", "John Smith"];
        assert_eq!(sp, want.map(|s| Some(s.to_string())));
    }

    #[test]
    fn speaker_keys_compare_loosely() {
        assert!(compatible_speakers(
            "haqqani commander",
            "haqqani group commander"
        ));
        assert!(!compatible_speakers(
            "haqqani commander",
            "taliban spokesman"
        ));
        let full = "Former Joint Chiefs of Staff Chairman Admiral Mike Mullen";
        assert_eq!(speaker_forms(full).0, "Mike Mullen");
    }

    #[test]
    fn normalization_folds_light_edits() {
        assert_eq!(
            normalize("They (the Americans) the U.S. has"),
            normalize("They [the Americans] the US has")
        );
        assert_eq!(normalize("“Don’t,” he"), "dont he");
    }

    #[test]
    fn odd_input_does_not_panic() {
        let docs = vec![
            Document::new("a", "\"“”‘’'\"é\"\n\"unclosed é é"),
            Document::new("b", "“ ” \" \" ’’ ‘‘ “é é”"),
            Document::new("c", ""),
        ];
        let _ = audit_quotes(&docs).unwrap();
    }

    #[test]
    fn the_first_pass_changes_no_group() {
        // Quotes of 2 to 9 words from a dozen words: many share 4-grams,
        // many short ones are found inside longer ones, most match
        // nothing.
        const WORDS: [&str; 12] = [
            "war", "peace", "budget", "army", "talks", "will", "never", "end", "people", "fake",
            "news", "today",
        ];
        let mut next = numbers(7);
        let mut docs = Vec::new();
        for d in 0..300 {
            let mut text = format!("Story {d}\n\n");
            for _ in 0..1 + next(4) {
                let len = 2 + next(8);
                let quote: Vec<String> = (0..len)
                    .map(|_| format!("{}{}", WORDS[next(12) as usize], next(3)))
                    .collect();
                text.push_str(&format!(
                    "\"{},\" said Minister {}.\n\n",
                    quote.join(" "),
                    next(5)
                ));
            }
            docs.push(Document::new(format!("d{d:03}"), text));
        }
        let all = audit_quotes_with(&docs, false).unwrap();
        let filtered = audit_quotes_with(&docs, true).unwrap();
        assert!(all.len() > 20, "{}", all.len());
        assert_eq!(all, filtered);
        // And it leaves out most quotes.
        let may = MayMatch::find(&docs).unwrap();
        let quotes: Vec<Quote> = docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| document_quotes(i, &d.text))
            .collect();
        let kept = quotes.iter().filter(|q| may.keeps(q)).count();
        assert!(kept < quotes.len() * 3 / 4, "{kept} of {}", quotes.len());
    }

    #[test]
    fn the_first_pass_keeps_short_quotes_inside_longer_ones() {
        let docs = [
            doc("a", "\"Fake news,\" he said.", "A"),
            doc("b", "\"Fake news media,\" she said.", "B"),
            doc(
                "c",
                "\"It is all fake news from the media,\" they said.",
                "C",
            ),
            doc("d", "\"Nothing here matches,\" said another.", "D"),
        ];
        let may = MayMatch::find(&docs).unwrap();
        let keeps = |i: usize| {
            document_quotes(i, &docs[i].text)
                .iter()
                .all(|q| may.keeps(q))
        };
        assert!(keeps(0) && keeps(1) && keeps(2));
        assert!(!keeps(3));
        assert_eq!(
            audit_quotes_with(&docs, false).unwrap(),
            audit_quotes_with(&docs, true).unwrap()
        );
    }

    #[test]
    fn three_thousand_documents_share_one_quote() {
        let mut docs = Vec::new();
        for i in 0..3000 {
            let text = format!(
                "Title {i}\n\n\"This is quote number {i} about the budget and the army,\" said Official {i}.\n\n\"We are united and our goal is to liberate our homeland,\" he said."
            );
            docs.push(Document::new(format!("d{i:04}"), text));
        }
        let groups = audit_quotes(&docs).unwrap();
        assert!(groups.iter().any(|g| g.occurrences.len() == 3000));
    }

    #[test]
    fn comments_markers() {
        for yes in [
            "Reader Comments (3)",
            "COMMENTS",
            "comments (12)",
            "Leave a comment",
        ] {
            assert!(is_comments_marker(yes), "{yes}");
        }
        for no in [
            "Comments are closed on this story.",
            "Reader",
            "",
            "Σ comments",
        ] {
            assert!(!is_comments_marker(no), "{no}");
        }
    }

    proptest::proptest! {
        #[test]
        fn comments_marker_test_is_the_lowercased_line_test(
            line in "(Reader|READER|Comments|COMMENTS|Leave|Join|facebook|K|\u{212A}|\u{130}|Σ| |\\(|a|e|n|t|s|r|c|o|m)*"
        ) {
            let l = line.trim().to_lowercase();
            let want = l.starts_with("reader comments")
                || l.starts_with("comments (")
                || l == "comments"
                || l.starts_with("facebook conversations")
                || l.starts_with("join the conversation")
                || l.starts_with("leave a comment");
            proptest::prop_assert_eq!(is_comments_marker(line.trim()), want);
        }

        #[test]
        fn lines_are_the_split_at_line_breaks(text in "(a|é|\n| ){0,40}") {
            let mut pos = 0;
            let want: Vec<(usize, &str)> = text
                .split('\n')
                .map(|l| {
                    let at = pos;
                    pos += l.len() + 1;
                    (at, l)
                })
                .collect();
            proptest::prop_assert_eq!(lines(&text).collect::<Vec<_>>(), want);
        }

        #[test]
        fn common_runs_are_found_exactly(
            a in proptest::collection::vec(0u64..4, 0..40),
            b in proptest::collection::vec(0u64..4, 0..40),
            len in 0usize..12,
        ) {
            let longest = longest_common_run(&a, &b);
            proptest::prop_assert_eq!(has_common_run(&a, &b, len), longest >= len);
        }

        #[test]
        fn bounded_levenshtein_agrees_with_strsim(
            a in "[abc ]{0,40}",
            b in "[abc ]{0,40}",
            k in 0usize..50,
        ) {
            let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let d = strsim::levenshtein(&a, &b);
            let want = (d <= k).then_some(d);
            proptest::prop_assert_eq!(bounded_levenshtein(&ca, &cb, k), want);
            let strsim_says = strsim::normalized_levenshtein(&a, &b) >= SIMILAR;
            proptest::prop_assert_eq!(similar_chars(&a, &b), strsim_says);
        }

        #[test]
        fn pair_and_word_bounds_never_exceed_the_edit_distance(
            a in "[a-f ]{0,80}",
            b in "[a-f ]{0,80}",
            wa in proptest::collection::vec(0u64..1000, 0..60),
            wb in proptest::collection::vec(0u64..1000, 0..60),
        ) {
            let d = strsim::levenshtein(&a, &b);
            proptest::prop_assert!(bigram_bound(a.as_bytes(), b.as_bytes()) <= d);
            let dw = bounded_levenshtein(&wa, &wb, usize::MAX / 2).unwrap_or(usize::MAX);
            proptest::prop_assert!(word_bound(&wa, &wb) <= dw);
        }
    }
}
