//! Property tests: token and passage spans stay in bounds and on UTF-8
//! boundaries whatever the text, and a scan does not depend on document
//! order or thread count. Also replays inputs the fuzzers found
//! (tests/regressions/).

use proptest::prelude::*;
use std::collections::BTreeSet;
use wiretrace::{Corpus, Document, Report, Settings, scan, tokens, write_json};

const SEEDS: [&str; 5] = [
    include_str!("../seeds/000_965e5383da2fe827.txt"),
    include_str!("../seeds/001_848d868a6b3a0ab3.txt"),
    include_str!("../seeds/002_1334a92449fc3236.txt"),
    include_str!("../seeds/003_5edc88af400f5deb.txt"),
    include_str!("../seeds/004_b33e749053d6a94d.txt"),
];

/// A slice of seed `seed` starting near byte `at`, about `len` bytes long,
/// cut on char boundaries.
fn seed_chunk(seed: usize, at: usize, len: usize) -> &'static str {
    let s = SEEDS[seed % SEEDS.len()];
    let mut start = at % s.len();
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + len).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[start..end]
}

/// Text pieces: arbitrary unicode, awkward scripts and marks, seed text.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 .,'’“”\\-\n\r\t]{0,40}",
        "[\\u{0600}-\\u{06FF}\\u{4E00}-\\u{4E80}\\u{0300}-\\u{036F}\\u{200B}-\\u{200F} ]{0,30}",
        prop::collection::vec(any::<char>(), 0..20).prop_map(|v| v.into_iter().collect()),
        (0usize..5, any::<usize>(), 0usize..600)
            .prop_map(|(s, at, len)| seed_chunk(s, at, len).to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..8).prop_map(|v| v.concat())
}

/// One copy-desk style edit of a text.
#[derive(Debug, Clone)]
enum Edit {
    /// Delete `len` chars at char position `at`.
    Delete { at: usize, len: usize },
    /// Insert text at char position `at`.
    Insert { at: usize, what: String },
    /// Replace the char at `at` with another.
    Replace { at: usize, with: char },
    /// Swap two words.
    SwapWords { i: usize, j: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..30).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), piece()).prop_map(|(at, what)| Edit::Insert { at, what }),
        (any::<usize>(), any::<char>()).prop_map(|(at, with)| Edit::Replace { at, with }),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::SwapWords { i, j }),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len();
        match e {
            Edit::Delete { at, len } if n > 0 => {
                let at = at % n;
                let end = (at + len).min(n);
                chars.drain(at..end);
            }
            Edit::Insert { at, what } => {
                let at = at % (n + 1);
                chars.splice(at..at, what.chars());
            }
            Edit::Replace { at, with } if n > 0 => chars[at % n] = *with,
            Edit::SwapWords { i, j } => {
                let s: String = chars.iter().collect();
                let mut words: Vec<&str> = s.split(' ').collect();
                if words.len() > 1 {
                    let (i, j) = (i % words.len(), j % words.len());
                    words.swap(i, j);
                    chars = words.join(" ").chars().collect();
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Two documents derived from the same stretch of seed text by random edits,
/// with unrelated material around them.
fn doc_pair() -> impl Strategy<Value = (String, String)> {
    (
        0usize..5,
        any::<usize>(),
        400usize..3000,
        prop::collection::vec(edit(), 0..12),
        prop::collection::vec(edit(), 0..12),
        text(),
        text(),
    )
        .prop_map(|(seed, at, len, ea, eb, pre, post)| {
            let base = seed_chunk(seed, at, len);
            let a = format!("{pre}{}", apply(base, &ea));
            let b = format!("{}{post}", apply(base, &eb));
            (a, b)
        })
}

fn scan_docs(docs: &[(&str, &str)]) -> Report {
    let corpus = Corpus::from_documents(
        docs.iter()
            .map(|(id, text)| Document::new(*id, *text))
            .collect(),
    );
    scan(corpus, &Settings::default()).expect("scan")
}

fn check_spans(report: &Report) -> Result<(), TestCaseError> {
    for p in &report.passages {
        prop_assert!(p.a.doc != p.b.doc);
        prop_assert!(report.documents[p.a.doc].id < report.documents[p.b.doc].id);
        for w in [&p.a, &p.b] {
            let t = &report.documents[w.doc].text;
            prop_assert!(w.start < w.end, "empty span {:?}", w);
            prop_assert!(w.end <= t.len(), "span {:?} past end {}", w, t.len());
            prop_assert!(t.is_char_boundary(w.start) && t.is_char_boundary(w.end));
        }
    }
    Ok(())
}

/// The passages of a report as (doc id pair, spans), independent of
/// document order.
fn passage_set(report: &Report) -> BTreeSet<(String, usize, usize, String, usize, usize)> {
    report
        .passages
        .iter()
        .map(|p| {
            let (a, b) = (&report.documents[p.a.doc], &report.documents[p.b.doc]);
            (
                a.id.clone(),
                p.a.start,
                p.a.end,
                b.id.clone(),
                p.b.start,
                p.b.end,
            )
        })
        .collect()
}

fn json(report: &Report) -> String {
    let mut out = Vec::new();
    write_json(report, &mut out).expect("write json");
    String::from_utf8(out).expect("utf-8 json")
}

fn check_tokens(s: &str) -> Result<(), TestCaseError> {
    let mut last = 0usize;
    for t in tokens(s) {
        let (start, end) = (t.start as usize, t.end as usize);
        prop_assert!(start < end, "empty token {}..{}", start, end);
        prop_assert!(end <= s.len(), "token {}..{} past {}", start, end, s.len());
        prop_assert!(s.is_char_boundary(start) && s.is_char_boundary(end));
        prop_assert!(start >= last, "tokens overlap");
        last = end;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn token_spans_are_valid(s in text()) {
        check_tokens(&s)?;
    }

    #[test]
    fn passage_spans_are_valid((a, b) in doc_pair()) {
        let report = scan_docs(&[("a", &a), ("b", &b)]);
        check_spans(&report)?;
    }

    #[test]
    fn document_order_does_not_matter((a, b) in doc_pair()) {
        let ab = scan_docs(&[("a", &a), ("b", &b)]);
        let ba = scan_docs(&[("b", &b), ("a", &a)]);
        check_spans(&ab)?;
        check_spans(&ba)?;
        prop_assert_eq!(passage_set(&ab), passage_set(&ba));
    }

    #[test]
    fn thread_count_does_not_matter((a, b) in doc_pair(), c in text()) {
        let run = |n: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("thread pool")
                .install(|| json(&scan_docs(&[("a", &a), ("b", &b), ("c", &c)])))
        };
        prop_assert_eq!(run(1), run(2));
    }
}

/// Real reuse survives: the unedited pair always yields a passage.
#[test]
fn unedited_pair_finds_reuse() {
    let base = seed_chunk(3, 1000, 2000);
    let report = scan_docs(&[("a", base), ("b", base)]);
    assert!(!report.passages.is_empty());
}

// ---------------------------------------------------------------------------
// Fuzz regressions: every file in tests/regressions/ is replayed through the
// fuzz target named by its prefix (`<target>-<n>`).
// ---------------------------------------------------------------------------

fn replay(target: &str, data: &[u8]) {
    match target {
        "tokenize" => {
            let s = String::from_utf8_lossy(data);
            check_tokens(&s).expect("token spans");
            for t in tokens(&s) {
                let _ = wiretrace::normalized(&s, t.start as usize, t.end as usize);
            }
        }
        "read_bytes" => {
            if let Ok((text, _)) = wiretrace::read_bytes_as_text(data) {
                assert!(!text.trim().is_empty());
            }
        }
        "jsonl_line" => {
            if let Ok(line) = std::str::from_utf8(data) {
                let _ = wiretrace::parse_jsonl_line(line);
            }
        }
        "scan_bytes" => {
            let s = String::from_utf8_lossy(data);
            let mut parts: Vec<&str> = s.splitn(3, '\u{1e}').collect();
            if parts.len() < 2 {
                let mid = (0..=s.len() / 2)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                parts = vec![&s[..mid], &s[mid..]];
            }
            let ids = ["d0", "d1", "d2"];
            let docs: Vec<(&str, &str)> = ids.iter().copied().zip(parts).collect();
            check_spans(&scan_docs(&docs)).expect("passage spans");
        }
        "manifest" => {
            let dir = std::env::temp_dir().join(format!(
                "wiretrace-regression-manifest-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            std::fs::write(dir.join("manifest.csv"), data).unwrap();
            std::fs::write(dir.join("a.txt"), "Alpha story about the harbour.").unwrap();
            std::fs::write(dir.join("sub/b.txt"), "Beta story, from the wire.").unwrap();
            let corpus = wiretrace::read_corpus(std::slice::from_ref(&dir), &Default::default());
            let _ = std::fs::remove_dir_all(&dir);
            let corpus = corpus.expect("manifest problems are warnings");
            assert!(corpus.documents.len() + corpus.skipped.len() >= 2);
        }
        other => panic!("unknown fuzz target {other}"),
    }
}

#[test]
fn fuzz_regressions_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((target, _)) = name.rsplit_once('-') else {
            continue;
        };
        let data = std::fs::read(&path).unwrap();
        eprintln!("replaying {name}");
        replay(target, &data);
    }
}
