//! The command line on a folder of every kind of bad input we know of:
//! nothing panics, every input is accounted for (read or skipped with a
//! reason), the exit code says "some inputs skipped", and reuse among the
//! good documents is still found.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const SEED: &str = include_str!("../seeds/003_5edc88af400f5deb.txt");
const MAX_FILE_BYTES: usize = 20_000;

/// A temporary folder, unique per test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "wiretrace-bad-inputs-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn show(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// About 150 words of the wire story in seed 003, starting at the dateline.
fn reused_passage() -> String {
    let start = SEED.find("PESHAWAR:").expect("dateline in seed 003");
    SEED[start..]
        .split_whitespace()
        .take(150)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Encode `s` as Windows-1252 (the characters this test uses).
fn to_windows_1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() => c as u8,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{A0}' => 0xA0,
            'é' => 0xE9,
            other => panic!("no Windows-1252 byte for {other:?} in this test"),
        })
        .collect()
}

fn wiretrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiretrace"))
        .args(args)
        .output()
        .expect("run wiretrace")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn strs<'a>(report: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} array"))
        .iter()
        .map(|e| {
            e[field]
                .as_str()
                .unwrap_or_else(|| panic!("{list}[].{field}"))
        })
        .collect()
}

/// The folder of bad (and some good) inputs. Returns it and the id of the
/// Windows-1252 reprint and the JSON Lines reprint.
fn build_bad_folder() -> TempDir {
    let t = TempDir::new("scan");
    let passage = reused_passage();

    // Good documents.
    t.write(
        "a_wire.txt",
        format!("Wire copy.\n\n{passage}\n\nMore to follow.\n"),
    );
    let mut cp1252 = to_windows_1252(
        "Caf\u{e9} owners in Peshawar said \u{201C}business is slow\u{201D} this week.\n\n",
    );
    cp1252.extend(to_windows_1252(&passage));
    cp1252.extend(to_windows_1252("\n\nReported by our correspondent.\n"));
    t.write("b_cp1252.txt", cp1252);
    t.write(
        "c_bom.txt",
        [
            &[0xEF, 0xBB, 0xBF][..],
            "A story with a byte order mark about cricket in Lahore.".as_bytes(),
        ]
        .concat(),
    );
    t.write(
        "d_crlf.txt",
        "Line one of a Windows story.\r\nLine two, about the weather in Quetta.\r\n",
    );
    t.write(
        "e_urdu.txt",
        "پشاور: افغان حقانی عسکریت پسند گروپ امریکہ کے ساتھ امن مذاکرات میں انفرادی طور پر حصہ نہیں لے گا۔\n",
    );
    t.write(
        "f_chinese.txt",
        "白沙瓦电：阿富汗哈卡尼武装组织不会单独参加与美国的任何和平谈判，谈判必须由塔利班主导。\n",
    );
    let mut nul_light = "A mostly clean story about the port of Karachi and its ships. "
        .repeat(20)
        .into_bytes();
    nul_light[100] = 0;
    t.write("g_stray_nul.txt", nul_light);

    // JSON Lines: good records, a malformed line, a missing text, a duplicate id.
    let good = serde_json::json!({
        "id": "jl-reprint", "text": format!("Republished story. {passage}"),
        "outlet": "Daily Example", "published": "2011-10-26"
    });
    let other = serde_json::json!({"id": 42, "text": "A short unrelated record about rain."});
    let dup = serde_json::json!({"id": "jl-reprint", "text": "Same id again."});
    let jsonl = format!(
        "{good}\n{{\"id\": \"broken\", \"text\": \n{{\"id\": \"no-text\"}}\n\n{other}\n{dup}\n"
    );
    t.write("h_records.jsonl", jsonl);

    // Manifest: a good row, a row naming a missing file, a bad date, extra columns.
    t.write(
        "manifest.csv",
        "file,outlet,published,url,desk,notes\n\
         a_wire.txt,Reuters,2011-10-25,https://example.com/a,world,first\n\
         missing_story.txt,Ghost Times,2011-10-25,,,\n\
         d_crlf.txt,Quetta Daily,25/10/2011,,metro,bad date\n",
    );

    // Bad inputs.
    t.write("i_empty.txt", "");
    t.write("j_whitespace.txt", " \n\t \r\n   \n");
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n".to_vec();
    pdf.extend((0u8..=255).cycle().take(2000));
    t.write("k_report.txt", pdf);
    let mut nul_heavy = b"text ".repeat(10);
    nul_heavy.extend(std::iter::repeat_n(0u8, 500));
    t.write("l_nul_heavy.txt", nul_heavy);
    t.write(
        "m_too_big.txt",
        "A very long story. ".repeat(MAX_FILE_BYTES / 19 + 100),
    );
    t.write("n_notes.md", "# Notes\n\nNot an article.\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&t.0, t.0.join("o_loop")).unwrap();
    t
}

#[test]
fn bad_folder_scan_accounts_for_everything() {
    let t = build_bad_folder();
    let dir = t.0.display().to_string();
    let max = MAX_FILE_BYTES.to_string();
    let out = wiretrace(&["scan", &dir, "--format", "json", "--max-file-bytes", &max]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    let report = json_of(&out);

    let doc_paths = strs(&report, "documents", "path");
    let skipped_paths = strs(&report, "skipped", "path");
    for s in report["skipped"].as_array().unwrap() {
        let reason = s["reason"].as_str().unwrap();
        assert!(!reason.trim().is_empty(), "empty reason for {s}");
    }

    // Every entry of the folder is a document or skipped, except the
    // manifest, which is consumed as metadata; JSON Lines records are
    // listed one per line as "file.jsonl:LINE".
    let mut entries: Vec<String> = std::fs::read_dir(&t.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    for name in &entries {
        let path = t.show(name);
        if name == "manifest.csv" {
            assert!(
                !doc_paths.contains(&path.as_str()) && !skipped_paths.contains(&path.as_str()),
                "manifest listed as an input"
            );
            continue;
        }
        if name.ends_with(".jsonl") {
            let prefix = format!("{path}:");
            assert!(
                doc_paths.iter().any(|p| p.starts_with(&prefix)),
                "no record of {name} read: {doc_paths:?}"
            );
            continue;
        }
        assert!(
            doc_paths.contains(&path.as_str()) || skipped_paths.contains(&path.as_str()),
            "{path} is neither read nor skipped\ndocuments: {doc_paths:?}\nskipped: {skipped_paths:?}"
        );
    }

    // Exactly which were read and which skipped.
    let read = |name: &str| {
        assert!(
            doc_paths.contains(&t.show(name).as_str()),
            "{name} should be read; skipped: {:?}",
            report["skipped"]
        )
    };
    let skipped = |name: &str, needle: &str| {
        let path = t.show(name);
        let entry = report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{name} should be skipped; skipped: {skipped_paths:?}"));
        let reason = entry["reason"].as_str().unwrap();
        assert!(
            reason.contains(needle),
            "{name}: reason {reason:?} lacks {needle:?}"
        );
        assert!(
            stderr.contains(&path),
            "stderr does not name skipped {path}:\n{stderr}"
        );
    };
    for name in [
        "a_wire.txt",
        "b_cp1252.txt",
        "c_bom.txt",
        "d_crlf.txt",
        "e_urdu.txt",
        "f_chinese.txt",
        "g_stray_nul.txt",
        "h_records.jsonl:1",
        "h_records.jsonl:5",
    ] {
        read(name);
    }
    skipped("i_empty.txt", "empty");
    skipped("j_whitespace.txt", "empty");
    skipped("k_report.txt", "PDF");
    skipped("l_nul_heavy.txt", "not text");
    skipped("m_too_big.txt", "--max-file-bytes");
    skipped("n_notes.md", "not a .txt or .jsonl file");
    skipped("h_records.jsonl:2", "JSON");
    skipped("h_records.jsonl:3", "missing \"text\"");
    skipped("h_records.jsonl:6", "duplicate id");
    #[cfg(unix)]
    skipped("o_loop", "symlink loop");
    assert!(
        !doc_paths.iter().any(|p| p.ends_with("h_records.jsonl:4")),
        "blank line read as a record"
    );

    // Decoding is reported.
    let doc = |id: &str| -> &Value {
        report["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("no document {id}"))
    };
    assert_eq!(doc("b_cp1252")["encoding"], "windows-1252");
    assert_eq!(doc("b_cp1252")["status"], "decoded");
    assert_eq!(doc("c_bom")["encoding"], "utf-8 with BOM");
    assert_eq!(doc("d_crlf")["status"], "ok");
    assert_eq!(doc("g_stray_nul")["status"], "decoded");
    assert_eq!(doc("42")["path"], t.show("h_records.jsonl:5").as_str());

    // The manifest gave metadata, and its bad rows became warnings.
    assert_eq!(doc("a_wire")["outlet"], "Reuters");
    assert_eq!(doc("a_wire")["published"], "2011-10-25");
    assert_eq!(doc("d_crlf")["outlet"], "Quetta Daily");
    assert!(doc("d_crlf").get("published").is_none_or(Value::is_null));
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("missing_story.txt")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("25/10/2011")),
        "{warnings:?}"
    );

    // Reuse among the good documents is still found, with sane spans.
    let pair_found = |x: &str, y: &str| {
        report["passages"].as_array().unwrap().iter().any(|p| {
            let (a, b) = (
                p["a"]["doc"].as_str().unwrap(),
                p["b"]["doc"].as_str().unwrap(),
            );
            (a, b) == (x, y) && p["tokens"].as_u64().unwrap() >= 100
        })
    };
    assert!(
        pair_found("a_wire", "b_cp1252"),
        "passage wire/cp1252 missing: {:#}",
        report["passages"]
    );
    assert!(
        pair_found("a_wire", "jl-reprint"),
        "passage wire/jsonl missing: {:#}",
        report["passages"]
    );
    let wire = std::fs::read_to_string(t.0.join("a_wire.txt")).unwrap();
    for p in report["passages"].as_array().unwrap() {
        for side in ["a", "b"] {
            let w = &p[side];
            let (start, end) = (w["start"].as_u64().unwrap(), w["end"].as_u64().unwrap());
            let bytes = doc(w["doc"].as_str().unwrap())["bytes"].as_u64().unwrap();
            assert!(start < end && end <= bytes, "bad span {w}");
            if w["doc"] == "a_wire" {
                let span = &wire[start as usize..end as usize];
                assert!(span.contains("Haqqani"), "{span:?}");
            }
        }
    }
}

#[test]
fn bad_folder_quotes_completes() {
    let t = build_bad_folder();
    let dir = t.0.display().to_string();
    let max = MAX_FILE_BYTES.to_string();
    for format in ["json", "text"] {
        let out = wiretrace(&["quotes", &dir, "--format", format, "--max-file-bytes", &max]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(&t.show("k_report.txt")), "{stderr}");
        if format == "json" {
            let report = json_of(&out);
            assert!(report["quotes"].is_array());
            assert!(!report["skipped"].as_array().unwrap().is_empty());
        }
    }
}

#[test]
fn clean_folder_exits_zero() {
    let t = TempDir::new("clean");
    let passage = reused_passage();
    t.write("one.txt", format!("First outlet. {passage}"));
    t.write("two.txt", format!("{passage} Second outlet."));
    let out = wiretrace(&["scan", &t.0.display().to_string(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report = json_of(&out);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 0);
    assert_eq!(report["documents"].as_array().unwrap().len(), 2);
    assert!(!report["passages"].as_array().unwrap().is_empty());
}

#[test]
fn missing_path_is_usage_error() {
    let t = TempDir::new("missing");
    let missing: &Path = &t.0.join("does-not-exist");
    for cmd in ["scan", "quotes"] {
        let out = wiretrace(&[cmd, &missing.display().to_string(), "--format", "json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: stderr:\n{stderr}");
        assert!(stderr.contains("does-not-exist"), "{stderr}");
    }
}

#[test]
fn no_arguments_is_usage_error() {
    let out = wiretrace(&["scan"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The same folder through the library: spans in decoded documents
/// (Windows-1252, BOM, stray NUL, Urdu, Chinese) are on UTF-8 boundaries and
/// the reused text is what both witnesses point at.
#[test]
fn bad_folder_library_spans_point_at_reused_text() {
    let t = build_bad_folder();
    let options = wiretrace::ReadOptions {
        manifest: None,
        max_file_bytes: MAX_FILE_BYTES as u64,
        ..Default::default()
    };
    let corpus = wiretrace::read_corpus(std::slice::from_ref(&t.0), &options).unwrap();
    assert!(!corpus.skipped.is_empty());
    let report = wiretrace::scan(corpus, &wiretrace::Settings::default()).unwrap();
    let mut pairs = Vec::new();
    for p in &report.passages {
        let mut sides = Vec::new();
        for w in [&p.a, &p.b] {
            let d = &report.documents[w.doc];
            assert!(
                w.start < w.end && w.end <= d.text.len(),
                "{w:?} in {}",
                d.id
            );
            assert!(d.text.is_char_boundary(w.start) && d.text.is_char_boundary(w.end));
            let span = &d.text[w.start..w.end];
            assert!(span.contains("Haqqani"), "{}: {span:?}", d.id);
            sides.push(d.id.as_str());
        }
        pairs.push((sides[0], sides[1]));
    }
    assert!(pairs.contains(&("a_wire", "b_cp1252")), "{pairs:?}");
    assert!(pairs.contains(&("a_wire", "jl-reprint")), "{pairs:?}");
    // The Windows-1252 curly quotes decoded to the real characters.
    let cp = report
        .documents
        .iter()
        .find(|d| d.id == "b_cp1252")
        .unwrap();
    assert!(cp.text.starts_with("Caf\u{e9} owners"));
    assert!(cp.text.contains("\u{201C}business is slow\u{201D}"));
}
