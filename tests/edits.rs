//! Edited copies of real seed text: each copy-desk edit alone and combined
//! must still align, with spans that cover the reused text in both copies.

use wiretrace::{Corpus, Document, Report, Settings, scan};

const SEED: &str = include_str!("../seeds/003_5edc88af400f5deb.txt");

/// The wire story inside seed 003 (dateline to the last paragraph before
/// the reader comments).
fn wire_story() -> &'static str {
    let start = SEED.find("PESHAWAR:").expect("dateline");
    let end = SEED
        .find("Facebook Conversations")
        .expect("comments header");
    SEED[start..end].trim_end()
}

/// Unrelated text around the reprint (from seed 001, which shares no passage).
fn filler() -> &'static str {
    let s = include_str!("../seeds/001_848d868a6b3a0ab3.txt");
    &s[s.find("Khar admitted").expect("filler start")..]
}

fn scan_pair(original: &str, reprint: &str) -> Report {
    let corpus = Corpus::from_documents(vec![
        Document::new("a_original", original),
        Document::new("b_reprint", reprint),
    ]);
    scan(corpus, &Settings::default()).expect("scan")
}

/// Bytes of `region` in doc `doc` covered by some passage.
fn covered(report: &Report, doc: usize, region: (usize, usize)) -> usize {
    let mut marks = vec![false; region.1 - region.0];
    for p in &report.passages {
        for w in [&p.a, &p.b] {
            if w.doc == doc {
                for i in w.start.max(region.0)..w.end.min(region.1) {
                    marks[i - region.0] = true;
                }
            }
        }
    }
    marks.iter().filter(|&&m| m).count()
}

fn check(name: &str, edit: impl Fn(&str) -> String) {
    let story = wire_story();
    let edited = edit(story);
    let reprint = format!(
        "Our correspondent adds context first.\n\n{edited}\n\n{}",
        filler()
    );
    let region_b = (
        reprint.find(&edited).unwrap(),
        reprint.find(&edited).unwrap() + edited.len(),
    );
    let report = scan_pair(story, &reprint);
    assert!(!report.passages.is_empty(), "{name}: nothing aligned");
    for p in &report.passages {
        for w in [&p.a, &p.b] {
            let text = &report.documents[w.doc].text;
            assert!(
                w.start < w.end && w.end <= text.len(),
                "{name}: span out of bounds"
            );
            assert!(text.is_char_boundary(w.start) && text.is_char_boundary(w.end));
        }
        // Nothing of the unrelated filler is claimed as reuse.
        assert!(
            p.b.end <= region_b.1 + 2,
            "{name}: passage runs into the filler"
        );
    }
    let share_a = covered(&report, 0, (0, story.len())) as f64 / story.len() as f64;
    let share_b = covered(&report, 1, region_b) as f64 / edited.len() as f64;
    assert!(
        share_b > 0.9,
        "{name}: only {share_b:.2} of the reprint covered"
    );
    assert!(
        share_a > 0.6,
        "{name}: only {share_a:.2} of the original covered"
    );
    assert!(
        report.passages.len() <= 3,
        "{name}: {} fragments",
        report.passages.len()
    );
}

fn drop_sentence(s: &str) -> String {
    s.replace("Pakistan angrily denied the accusation.", "")
}

fn cut_paragraph(s: &str) -> String {
    let start = s.find("More than 2,700 NATO troops").unwrap();
    let end = s.find("“We consider that").unwrap();
    format!("{}{}", &s[..start], &s[end..])
}

fn british_to_american(s: &str) -> String {
    s.replace("stabilise", "stabilize")
        .replace("scepticism", "skepticism")
        .replace("honour", "honor")
}

#[test]
fn case_change() {
    check("case", |s| s.to_uppercase());
}

#[test]
fn straight_quotes() {
    check("quotes", |s| s.replace(['“', '”'], "\"").replace('’', "'"));
}

#[test]
fn square_brackets() {
    check("brackets", |s| s.replace('(', "[").replace(')', "]"));
}

#[test]
fn us_without_dots() {
    check("U.S.", |s| s.replace("U.S.", "US"));
}

#[test]
fn american_spelling() {
    check("spelling", british_to_american);
}

#[test]
fn swapped_word() {
    check("swap", |s| {
        s.replace("militants", "terrorists")
            .replace("militant", "terror")
    });
}

#[test]
fn sentence_dropped() {
    check("drop", drop_sentence);
}

#[test]
fn paragraph_cut() {
    check("cut", cut_paragraph);
}

#[test]
fn all_edits_combined() {
    check("combined", |s| {
        let s = cut_paragraph(&drop_sentence(s));
        let s = british_to_american(&s)
            .replace("U.S.", "US")
            .replace('(', "[")
            .replace(')', "]");
        s.replace(['“', '”'], "\"")
            .replace("militants", "terrorists")
    });
}

#[test]
fn reuse_at_position_zero_and_exact_duplicates() {
    let story = wire_story();
    let report = scan_pair(story, story);
    assert_eq!(report.passages.len(), 1);
    let p = &report.passages[0];
    assert_eq!((p.a.start, p.b.start), (0, 0));
    // Spans run from the first word to the last word.
    let last_word = story.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
    assert_eq!((p.a.end, p.b.end), (last_word, last_word));
    assert_eq!(p.similarity, 1.0);
    // A short story, reused whole, is found even though it is short.
    let short = "Qtly div 12-1/2 cts vs 12-1/2 cts prior Pay April One Record March 20 and more";
    let report = scan_pair(short, &format!("{short} today"));
    assert_eq!(report.passages.len(), 1);
}

#[test]
fn cross_outlet_flag_skips_same_outlet_pairs() {
    let story = wire_story();
    let mut a = Document::new("a", story);
    let mut b = Document::new("b", format!("Intro. {story}"));
    a.outlet = Some("Reuters".into());
    b.outlet = Some("Reuters".into());
    let corpus = Corpus::from_documents(vec![a, b]);
    let all = scan(corpus.clone(), &Settings::default()).unwrap();
    assert_eq!(
        all.passages.len(),
        1,
        "same-outlet pairs are compared by default"
    );
    let settings = Settings {
        cross_outlet_only: true,
        ..Settings::default()
    };
    assert!(scan(corpus, &settings).unwrap().passages.is_empty());
}

#[test]
fn boilerplate_shared_by_many_documents_links_nothing() {
    // 30 unrelated one-paragraph stories from different seed paragraphs,
    // each wrapped in the same long site chrome.
    let chrome = "Reader Comments. Share this article on Facebook, Twitter and by email. \
        Subscribe to our newsletter for the latest news from the region delivered to your inbox \
        every morning, and follow us for breaking updates around the clock.";
    let paragraphs: Vec<&str> = include_str!("../seeds/002_1334a92449fc3236.txt")
        .split("\n\n")
        .chain(include_str!("../seeds/000_965e5383da2fe827.txt").split("\n\n"))
        .filter(|p| p.split_whitespace().count() > 25)
        .collect();
    assert!(paragraphs.len() >= 10);
    let n = paragraphs.len().min(30);
    let docs: Vec<Document> = (0..n)
        .map(|i| {
            Document::new(
                format!("d{i:02}"),
                format!("{}\n\n{chrome}", paragraphs[i % paragraphs.len()]),
            )
        })
        .collect();
    let settings = Settings {
        max_df: Some(5),
        ..Settings::default()
    };
    let report = scan(Corpus::from_documents(docs), &settings).unwrap();
    for p in &report.passages {
        let a = &report.documents[p.a.doc].text;
        assert!(
            !a[p.a.start..p.a.end].contains("Subscribe"),
            "boilerplate linked {} and {}",
            p.a.doc,
            p.b.doc
        );
    }
}
