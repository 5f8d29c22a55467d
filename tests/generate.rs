//! The corpus generator: determinism, truth spans, and recall/precision of
//! a scan against the planted reuse.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use wiretrace::{ReadOptions, Settings, generate, read_corpus, scan};
use xxhash_rust::xxh3::xxh3_64;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("wiretrace-gen-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Hash of every file under `dir` (relative names and bytes, sorted by name).
fn hash_tree(dir: &Path) -> u64 {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).expect("prefix").display().to_string();
                out.push((rel, std::fs::read(&p).expect("read file")));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    let mut all = Vec::new();
    for (name, bytes) in files {
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        all.extend_from_slice(&xxh3_64(&bytes).to_le_bytes());
    }
    xxh3_64(&all)
}

fn truth(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("truth.json")).expect("truth.json");
    serde_json::from_str(&text).expect("truth JSON")
}

fn span(v: &Value) -> (usize, usize) {
    let a = v.as_array().expect("span array");
    (
        a[0].as_u64().expect("start") as usize,
        a[1].as_u64().expect("end") as usize,
    )
}

fn doc_text(dir: &Path, id: &str) -> String {
    std::fs::read_to_string(dir.join("corpus").join(format!("{id}.txt"))).expect("doc")
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let t = TempDir::new("det");
    let (a, b, c) = (t.0.join("a"), t.0.join("b"), t.0.join("c"));
    let sa = generate(&a, 150, 42).expect("generate a");
    let sb = generate(&b, 150, 42).expect("generate b");
    generate(&c, 150, 43).expect("generate c");
    assert_eq!(sa, sb);
    assert_eq!(sa.docs, 150);
    assert_eq!(hash_tree(&a), hash_tree(&b));
    assert_ne!(hash_tree(&a), hash_tree(&c));
    let txt = std::fs::read_dir(a.join("corpus"))
        .expect("corpus dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "txt"))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(txt, 150);
    // Refuses to write into a non-empty corpus folder.
    assert!(generate(&a, 10, 1).is_err());
}

#[test]
fn truth_spans_are_exact_and_share_words() {
    let t = TempDir::new("spans");
    let s = generate(&t.0, 400, 7).expect("generate");
    let truth = truth(&t.0);
    assert_eq!(truth["version"], 1);
    assert_eq!(truth["docs"], 400);
    let passages = truth["passages"].as_array().expect("passages");
    let clusters = truth["clusters"].as_array().expect("clusters");
    assert_eq!(passages.len(), s.passages);
    assert_eq!(clusters.len(), s.clusters);
    // About one document in eight is a reprinted wire story.
    assert!((25..=80).contains(&s.clusters), "{} clusters", s.clusters);
    let mut edit_kinds = HashSet::new();
    for p in passages {
        let (o, c) = (
            p["original"].as_str().expect("original"),
            p["copy"].as_str().expect("copy"),
        );
        let (ot, ct) = (doc_text(&t.0, o), doc_text(&t.0, c));
        let (os, oe) = span(&p["original_span"]);
        let (cs, ce) = span(&p["copy_span"]);
        assert!(os < oe && oe <= ot.len(), "{o} span {os}..{oe}");
        assert!(cs < ce && ce <= ct.len(), "{c} span {cs}..{ce}");
        for (text, i) in [(&ot, os), (&ot, oe), (&ct, cs), (&ct, ce)] {
            assert!(text.is_char_boundary(i));
        }
        let ow: HashSet<String> = words(&ot[os..oe]).into_iter().collect();
        let cw = words(&ct[cs..ce]);
        let shared = cw.iter().filter(|w| ow.contains(*w)).count();
        let share = shared as f64 / cw.len().max(1) as f64;
        assert!(
            share >= 0.8,
            "{o} -> {c}: only {share:.2} of the words shared"
        );
        for e in p["edits"].as_array().expect("edits") {
            edit_kinds.insert(e.as_str().expect("edit").to_string());
        }
    }
    for kind in [
        "cut", "lead", "reorder", "spelling", "quotes", "us", "swap", "credit", "page",
    ] {
        assert!(edit_kinds.contains(kind), "no {kind} edit planted");
    }
    // Wire stories are dated before their reprints.
    let manifest = std::fs::read_to_string(t.0.join("corpus/manifest.csv")).expect("manifest");
    let dates: HashMap<String, String> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.trim_end_matches(".txt").to_string(),
                f.get(2)?.to_string(),
            ))
        })
        .collect();
    assert_eq!(dates.len(), 400);
    for p in passages {
        let o = &dates[p["original"].as_str().expect("id")];
        let c = &dates[p["copy"].as_str().expect("id")];
        assert!(!o.is_empty());
        assert!(c.is_empty() || c > o, "reprint dated {c}, wire {o}");
    }
}

#[test]
fn scan_finds_the_planted_reuse() {
    let t = TempDir::new("scan");
    generate(&t.0, 300, 11).expect("generate");
    let truth = truth(&t.0);
    let corpus = read_corpus(&[t.0.join("corpus")], &ReadOptions::default()).expect("read");
    assert!(corpus.skipped.is_empty(), "{:?}", corpus.skipped);
    assert_eq!(corpus.documents.len(), 300);
    let report = scan(corpus, &Settings::default()).expect("scan");
    let id = |i: usize| report.documents[i].id.as_str();

    // Recall: a passage between the two documents overlapping both spans.
    let passages = truth["passages"].as_array().expect("passages");
    let overlaps = |(s, e): (usize, usize), (ws, we): (usize, usize)| ws < e && s < we;
    let mut found = 0;
    let mut missed = Vec::new();
    for p in passages {
        let (o, c) = (
            p["original"].as_str().expect("id"),
            p["copy"].as_str().expect("id"),
        );
        let (osp, csp) = (span(&p["original_span"]), span(&p["copy_span"]));
        let hit = report.passages.iter().any(|q| {
            let (wa, wb) = (&q.a, &q.b);
            let (x, y) = (id(wa.doc), id(wb.doc));
            (x == o
                && y == c
                && overlaps(osp, (wa.start, wa.end))
                && overlaps(csp, (wb.start, wb.end)))
                || (x == c
                    && y == o
                    && overlaps(csp, (wa.start, wa.end))
                    && overlaps(osp, (wb.start, wb.end)))
        });
        if hit {
            found += 1;
        } else {
            missed.push(format!("{o}->{c} {}", p["edits"]));
        }
    }
    let recall = found as f64 / passages.len().max(1) as f64;

    // Precision: reported document pairs inside one truth cluster.
    let mut cluster_of: HashMap<&str, usize> = HashMap::new();
    for (k, c) in truth["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .enumerate()
    {
        for d in c["docs"].as_array().expect("docs") {
            cluster_of.insert(d.as_str().expect("id"), k);
        }
    }
    let pairs: HashSet<(usize, usize)> =
        report.passages.iter().map(|q| (q.a.doc, q.b.doc)).collect();
    let mut false_pairs = Vec::new();
    for &(a, b) in &pairs {
        let (x, y) = (id(a), id(b));
        match (cluster_of.get(x), cluster_of.get(y)) {
            (Some(p), Some(q)) if p == q => {}
            _ => false_pairs.push(format!("{x}-{y}")),
        }
    }
    let precision = 1.0 - false_pairs.len() as f64 / pairs.len().max(1) as f64;
    println!(
        "generated 300 docs: {} planted pairs, recall {recall:.3} ({found} found), \
         {} reported doc pairs, {} false, precision {precision:.3}",
        passages.len(),
        pairs.len(),
        false_pairs.len()
    );
    println!("missed: {missed:?}");
    println!("false pairs: {false_pairs:?}");
    assert!(recall >= 0.9, "recall {recall:.3}");
    assert!(precision >= 0.8, "precision {precision:.3}");
}

#[test]
fn a_scan_in_parts_gives_the_report_of_a_scan_held_whole() {
    let t = TempDir::new("parts");
    generate(&t.0, 400, 5).expect("generate");
    let held = read_corpus(&[t.0.join("corpus")], &ReadOptions::default()).expect("read");
    let bytes: u64 = held.documents.iter().map(|d| d.text.len() as u64).sum();
    // Every report format, from a corpus read with `text_memory`.
    let reports = |shingle_memory: usize, text_memory: u64| {
        let options = ReadOptions {
            text_memory,
            ..ReadOptions::default()
        };
        let corpus = read_corpus(&[t.0.join("corpus")], &options).expect("read");
        let spilled = corpus.documents.iter().filter(|d| d.is_spilled()).count();
        if text_memory < bytes {
            assert!(spilled > 0, "no text moved out at {text_memory} bytes");
        } else {
            assert_eq!(spilled, 0);
        }
        for (d, h) in corpus.documents.iter().zip(&held.documents) {
            assert_eq!(d.load_text().expect("read back"), h.text.as_str());
        }
        let settings = Settings {
            shingle_memory,
            ..Settings::default()
        };
        let report = scan(corpus, &settings).expect("scan");
        let mut out = Vec::new();
        wiretrace::write_json(&report, &mut out).expect("json");
        wiretrace::write_text(&report, &mut out).expect("text");
        wiretrace::write_html(&report, &mut out).expect("html");
        wiretrace::write_csv(&report, &mut out).expect("csv");
        (out, report.passages.len(), report.clusters.len())
    };
    let (whole, passages, clusters) = reports(Settings::default().shingle_memory, u64::MAX);
    assert!(
        passages > 100 && clusters > 10,
        "{passages} passages, {clusters} clusters"
    );
    // From a few documents a part (hundreds of blocks) to a few parts, with
    // texts held, half of them moved to disk, or all.
    for budget in [1, 100_000, 1_000_000, 4_000_000, 1 << 30] {
        for text_memory in [u64::MAX, bytes / 2, 0] {
            let (parts, _, _) = reports(budget, text_memory);
            assert!(
                parts == whole,
                "a {budget}-byte scan with {text_memory} bytes of text differs from the whole one"
            );
        }
    }
}
