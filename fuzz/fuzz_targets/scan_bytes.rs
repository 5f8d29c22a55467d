//! Split arbitrary bytes into 2-3 documents and scan them with the default
//! settings: never panics, and every passage span is in bounds and on
//! UTF-8 boundaries of its document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretrace::{Corpus, Document, Settings, scan};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Documents are separated by U+001E (record separator); at most 3.
    let mut parts: Vec<&str> = text.splitn(3, '\u{1e}').collect();
    if parts.len() < 2 {
        let mid = (0..=text.len() / 2)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        parts = vec![&text[..mid], &text[mid..]];
    }
    let docs: Vec<Document> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| Document::new(format!("d{i}"), *p))
        .collect();
    let report = scan(Corpus::from_documents(docs), &Settings::default()).expect("scan");
    for p in &report.passages {
        assert!(report.documents[p.a.doc].id < report.documents[p.b.doc].id);
        for w in [&p.a, &p.b] {
            let t = &report.documents[w.doc].text;
            assert!(
                w.start < w.end && w.end <= t.len(),
                "span {}..{}",
                w.start,
                w.end
            );
            assert!(t.is_char_boundary(w.start) && t.is_char_boundary(w.end));
        }
    }
    let mut out = Vec::new();
    wiretrace::write_json(&report, &mut out).expect("json");
    wiretrace::write_text(&report, &mut out).expect("text");
});
