//! Runs the `wiretrace` binary on the bundled seeds and checks the report
//! against `tests/data/seeds-gold.json`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretrace"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run wiretrace");
    (out.status.code().unwrap_or(-1), out.stdout)
}

fn scan_seeds(extra: &[&str]) -> Value {
    let mut args = vec!["scan", "seeds", "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout) = run(&args);
    assert_eq!(code, 0, "clean run exits 0");
    serde_json::from_slice(&stdout).expect("JSON report")
}

fn gold() -> Value {
    let text =
        std::fs::read_to_string(root().join("tests/data/seeds-gold.json")).expect("gold file");
    serde_json::from_str(&text).expect("gold JSON")
}

fn seed_text(id: &str) -> String {
    std::fs::read_to_string(root().join("seeds").join(format!("{id}.txt"))).expect("seed file")
}

/// Byte span of `needle` in document `id`.
fn span_of(id: &str, needle: &str) -> (u64, u64) {
    let text = seed_text(id);
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("gold string not in {id}: {needle}"));
    (start as u64, (start + needle.len()) as u64)
}

fn overlaps(w: &Value, span: (u64, u64)) -> bool {
    let (s, e) = (w["start"].as_u64().unwrap(), w["end"].as_u64().unwrap());
    s < span.1 && span.0 < e
}

#[test]
fn every_gold_passage_is_covered() {
    let report = scan_seeds(&[]);
    let passages = report["passages"].as_array().unwrap();
    for reuse in gold()["reuse"].as_array().unwrap() {
        let docs: Vec<&str> = reuse["docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        for gp in reuse["passages"].as_array().unwrap() {
            let sa = span_of(docs[0], gp[docs[0]].as_str().unwrap());
            let sb = span_of(docs[1], gp[docs[1]].as_str().unwrap());
            let covered = passages.iter().any(|p| {
                (p["a"]["doc"] == docs[0]
                    && p["b"]["doc"] == docs[1]
                    && overlaps(&p["a"], sa)
                    && overlaps(&p["b"], sb))
                    || (p["a"]["doc"] == docs[1]
                        && p["b"]["doc"] == docs[0]
                        && overlaps(&p["a"], sb)
                        && overlaps(&p["b"], sa))
            });
            assert!(covered, "gold passage not covered: {}", gp[docs[0]]);
        }
    }
}

#[test]
fn no_passage_for_stock_phrase_pairs() {
    let report = scan_seeds(&[]);
    for pair in gold()["no_reuse_pairs"].as_array().unwrap() {
        let (x, y) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        for p in report["passages"].as_array().unwrap() {
            let (a, b) = (
                p["a"]["doc"].as_str().unwrap(),
                p["b"]["doc"].as_str().unwrap(),
            );
            assert!(
                !((a == x && b == y) || (a == y && b == x)),
                "false passage between {x} and {y}: {p}"
            );
        }
    }
}

#[test]
fn report_follows_the_contract() {
    let report = scan_seeds(&[]);
    assert_eq!(report["version"], 1);
    assert_eq!(report["offsets"], "utf8-bytes");
    let docs = report["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 5);
    assert!(report["skipped"].as_array().unwrap().is_empty());
    for p in report["passages"].as_array().unwrap() {
        assert!(
            p["a"]["doc"].as_str().unwrap() < p["b"]["doc"].as_str().unwrap(),
            "a sorts before b"
        );
        for w in [&p["a"], &p["b"]] {
            let text = seed_text(w["doc"].as_str().unwrap());
            let (s, e) = (
                w["start"].as_u64().unwrap() as usize,
                w["end"].as_u64().unwrap() as usize,
            );
            assert!(s < e && e <= text.len());
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
        let cluster = p["cluster"].as_u64().unwrap() as usize;
        let c = &report["clusters"][cluster];
        assert!(c["passages"].as_array().unwrap().contains(&p["id"]));
    }
}

#[test]
fn same_reports_with_the_texts_on_disk() {
    // `--text-memory 0`: every text goes to the temporary file on reading
    // and is read back by each stage and by the writers.
    for format in ["json", "text", "html", "csv"] {
        let (c1, held) = run(&["scan", "seeds", "--format", format]);
        let (c2, spilled) = run(&["scan", "seeds", "--format", format, "--text-memory", "0"]);
        assert_eq!((c1, c2), (0, 0));
        assert!(held.len() > 200, "{format}");
        assert!(
            held == spilled,
            "{format} report differs with the texts on disk"
        );
    }
}

#[test]
fn texts_stay_in_memory_when_no_temporary_file_can_be_made() {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretrace"))
        .args(["scan", "seeds", "--format", "json", "--text-memory", "0"])
        .env("TMPDIR", root().join("no such folder"))
        .current_dir(root())
        .output()
        .expect("run wiretrace");
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("held in memory after all"))),
        "{warnings:?}"
    );
    let (_, held) = run(&["scan", "seeds", "--format", "json"]);
    let held: Value = serde_json::from_slice(&held).expect("JSON report");
    assert_eq!(report["passages"], held["passages"]);
    assert_eq!(report["clusters"], held["clusters"]);
}

#[test]
fn same_json_on_one_and_two_threads() {
    let (c1, one) = run(&["scan", "seeds", "--format", "json", "--threads", "1"]);
    let (c2, two) = run(&["scan", "seeds", "--format", "json", "--threads", "2"]);
    assert_eq!((c1, c2), (0, 0));
    assert!(!one.is_empty());
    assert_eq!(one, two);
}

#[test]
fn text_report_names_the_cluster_and_accounts_for_inputs() {
    let (code, out) = run(&["scan", "seeds"]);
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("003_5edc88af400f5deb"));
    assert!(text.contains("004_b33e749053d6a94d"));
    assert!(text.trim_end().ends_with("read 5 documents, skipped 0"));
}

#[test]
fn missing_path_is_a_usage_error() {
    let (code, _) = run(&["scan", "no/such/folder"]);
    assert_eq!(code, 2);
}

#[test]
fn provenance_names_reuters_and_the_uncredited_copy() {
    let report = scan_seeds(&[]);
    for g in gold()["provenance"].as_array().unwrap() {
        let docs = g["docs"].as_array().unwrap();
        let cluster = report["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                docs.iter()
                    .all(|d| c["docs"].as_array().unwrap().contains(d))
            })
            .expect("a cluster holding the gold documents");
        let p = &cluster["provenance"];
        assert_eq!(p["origin"], g["origin"]);
        assert_eq!(p["origin_is_external"], g["origin_is_external"]);
        assert_eq!(p["closest_to_origin"], g["closest_to_origin"]);
        assert_eq!(p["derived"], g["derived"]);
        assert_eq!(p["credits_origin"], g["credits_origin"]);
        let confidence = p["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence));
        assert!(
            p["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().contains("told Reuters")),
            "evidence quotes the credit"
        );
    }
}

/// Lowercase words only: the gold quote and the reported text may differ in
/// punctuation and quote style.
fn words(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[test]
fn quote_audit_matches_the_gold() {
    let report = scan_seeds(&[]);
    let groups = report["quotes"].as_array().unwrap();
    for g in gold()["quotes"].as_array().unwrap() {
        let want = words(g["text"].as_str().unwrap());
        let group = groups
            .iter()
            .find(|q| words(q["text"].as_str().unwrap()) == want)
            .unwrap_or_else(|| panic!("gold quote not grouped: {want}"));
        let occ = group["occurrences"].as_array().unwrap();
        let docs: Vec<&str> = occ.iter().map(|o| o["doc"].as_str().unwrap()).collect();
        for d in g["docs"].as_array().unwrap() {
            assert!(docs.contains(&d.as_str().unwrap()), "{want}: missing {d}");
        }
        let speaker = g["speaker"].as_str().unwrap();
        let surname = speaker.rsplit(' ').next().unwrap();
        for o in occ {
            let doc = o["doc"].as_str().unwrap();
            let got = o["speaker"].as_str().unwrap_or("");
            assert!(
                got.contains(surname),
                "{want}: speaker in {doc} is {got:?}, want {speaker}"
            );
            let credited: Vec<&str> = o["outlet_credited"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            match &g["outlet_credited"][doc] {
                Value::Null => assert!(credited.is_empty(), "{want}: {doc} credits {credited:?}"),
                Value::String(s) => {
                    for outlet in ["Reuters", "AP", "AFP"] {
                        let expected = s.split(|c: char| !c.is_alphanumeric()).any(|w| w == outlet);
                        assert_eq!(
                            credited.contains(&outlet),
                            expected,
                            "{want}: {doc} credits {credited:?}, gold {s}"
                        );
                    }
                }
                other => panic!("unexpected gold value {other}"),
            }
        }
        if g["outlet_credited"]
            .as_object()
            .unwrap()
            .values()
            .any(Value::is_null)
        {
            assert_eq!(
                group["uncredited_reuse"], true,
                "{want}: uncredited reuse flagged"
            );
        }
    }
}

#[test]
fn eval_scores_the_seeds_against_the_gold() {
    let out = std::env::temp_dir().join(format!("wiretrace-eval-{}.json", std::process::id()));
    let out_s = out.to_string_lossy().to_string();
    let (code, _) = run(&["scan", "seeds", "--format", "json", "--out", &out_s]);
    assert_eq!(code, 0);
    let (code, stdout) = run(&[
        "eval",
        "--truth",
        "tests/data/seeds-gold.json",
        &out_s,
        "--format",
        "json",
    ]);
    let _ = std::fs::remove_file(&out);
    assert_eq!(code, 0);
    let e: Value = serde_json::from_slice(&stdout).expect("eval JSON");
    assert_eq!(e["cases"], 7);
    assert_eq!(e["recall"], 1.0);
    assert_eq!(e["pair_precision"], 1.0);
    assert_eq!(e["provenance_accuracy"], 1.0);
    assert_eq!(e["granularity"], 1.0);
}

/// `wiretrace quotes` runs the audit alone: the scan's quote groups, the
/// same documents, and nothing from the other stages.
#[test]
fn quotes_command_gives_the_scans_quote_groups() {
    let scan = scan_seeds(&[]);
    let (code, stdout) = run(&["quotes", "seeds", "--format", "json"]);
    assert_eq!(code, 0);
    let quotes: Value = serde_json::from_slice(&stdout).expect("JSON report");
    assert!(!scan["quotes"].as_array().unwrap().is_empty());
    assert_eq!(quotes["quotes"], scan["quotes"]);
    assert_eq!(quotes["documents"], scan["documents"]);
    assert_eq!(quotes["passages"].as_array().map(Vec::len), Some(0));
    assert_eq!(quotes["clusters"].as_array().map(Vec::len), Some(0));
    assert_eq!(quotes["stats"]["windows"], 0);
}
