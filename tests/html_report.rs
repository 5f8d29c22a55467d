//! Runs the `wiretrace` binary with `--format html|csv|dot` on the bundled
//! seeds and on a hostile corpus (markup in the text and in the metadata),
//! and, when Chromium is installed, renders the HTML headless and checks the
//! DOM it builds.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOC_A: &str = "003_5edc88af400f5deb";
const DOC_B: &str = "004_b33e749053d6a94d";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("wiretrace-html-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Run wiretrace with `args` in the crate root; returns exit code and stdout.
fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretrace"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run wiretrace");
    (out.status.code().unwrap_or(-1), out.stdout)
}

fn report(input: &str, format: &str) -> String {
    let (code, stdout) = run(&["scan", input, "--format", format]);
    assert_eq!(code, 0, "clean run exits 0");
    String::from_utf8(stdout).expect("UTF-8 output")
}

fn json(input: &str) -> Value {
    serde_json::from_str(&report(input, "json")).expect("JSON report")
}

const HOSTILE: [&str; 3] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</textarea>",
];
const HOSTILE_OUTLET_A: &str = "<script>alert(\"outlet\")</script>";
const HOSTILE_OUTLET_B: &str = "\"><img src=x onerror=alert(2)>, Inc.";

/// Two documents sharing a long passage full of markup, with hostile
/// outlet names in the manifest. Returns the folder.
fn hostile_corpus(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    let shared = format!(
        "The council met on Tuesday {} and voted {} to close the {} old bridge across \
         the river after engineers warned that its supports had cracked, \"badly\", during \
         the winter floods & storms. The mayor said repairs would take at least two years \
         and cost more than the city could borrow before the next budget.",
        HOSTILE[0], HOSTILE[1], HOSTILE[2]
    );
    std::fs::write(dir.join("a.txt"), format!("LONDON: {shared}")).expect("write a");
    std::fs::write(
        dir.join("b.txt"),
        format!("From our correspondent. {shared} Residents were unhappy."),
    )
    .expect("write b");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    std::fs::write(
        dir.join("manifest.csv"),
        format!(
            "file,outlet,published,url\na.txt,{},2020-01-01,\nb.txt,{},2020-01-02,\n",
            quote(HOSTILE_OUTLET_A),
            quote(HOSTILE_OUTLET_B)
        ),
    )
    .expect("write manifest");
    dir
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn html_report_of_the_seeds() {
    let html = report("seeds", "html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"cluster-0\""), "the 003/004 cluster");
    assert!(html.contains(DOC_A) && html.contains(DOC_B));
    assert!(html.contains("<svg"), "inline SVG graph");
    assert!(
        html.contains("<g class=\"node external\"><title>Reuters"),
        "Reuters as an external node"
    );
    assert!(html.contains("credited #0") && html.contains("uncredited #0"));
    // A known edit between 003 and 004.
    assert!(html.contains("<del class=\"w\">militants</del>"));
    assert!(html.contains("<ins class=\"w\">terrorists</ins>"));
    assert!(html.contains("Quotations shared by several documents"));
    assert!(html.contains("uncredited reuse"));
    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"));
    for attr in [" src=", " href=", "<link", "@import", "url(http"] {
        assert!(!html.contains(attr), "unexpected {attr}");
    }

    // --out writes the same page.
    let dir = temp_dir("out");
    let path = dir.join("seeds.html");
    let path_str = path.to_str().expect("UTF-8 temp path");
    let (code, _) = run(&["scan", "seeds", "--format", "html", "--out", path_str]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&path).expect("read --out"), html);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn csv_report_of_the_seeds() {
    let text = report("seeds", "csv");
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "CRLF line ends");
        }
    }
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headers,
        [
            "passage",
            "cluster",
            "doc_a",
            "outlet_a",
            "published_a",
            "start_a",
            "end_a",
            "doc_b",
            "outlet_b",
            "published_b",
            "start_b",
            "end_b",
            "similarity",
            "tokens",
            "excerpt_a",
            "excerpt_b"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("CSV row")).collect();
    let j = json("seeds");
    let passages = j["passages"].as_array().expect("passages");
    assert_eq!(rows.len(), passages.len(), "one row per passage");
    for (row, p) in rows.iter().zip(passages) {
        assert_eq!(row.len(), 16);
        assert_eq!(row[0], p["id"].to_string());
        assert_eq!(row[1], p["cluster"].to_string());
        assert_eq!(row[2], *p["a"]["doc"].as_str().expect("doc"));
        assert_eq!(row[5], p["a"]["start"].to_string());
        assert_eq!(row[6], p["a"]["end"].to_string());
        assert_eq!(row[7], *p["b"]["doc"].as_str().expect("doc"));
        assert_eq!(row[10], p["b"]["start"].to_string());
        assert_eq!(row[11], p["b"]["end"].to_string());
        assert_eq!(row[13], p["tokens"].to_string());
    }
    assert_eq!(&rows[0][2], DOC_A);
    assert_eq!(&rows[0][3], "The Express Tribune");
    assert_eq!(&rows[0][4], "2011-10-25");
    assert_eq!(&rows[0][7], DOC_B);
    assert_eq!(&rows[0][8], "Arutz Sheva");
    assert!(rows[0][14].starts_with("They (the Americans)"));
}

#[test]
fn dot_report_of_the_seeds() {
    let dot = report("seeds", "dot");
    assert!(dot.starts_with("digraph"));
    assert!(dot.contains("Reuters\\nexternal source"));
    assert!(dot.contains(DOC_A) && dot.contains(DOC_B));
    assert!(dot.contains("style=solid") && dot.contains("style=dashed"));
    assert_eq!(dot.matches("->").count(), 2);
    // Render it where Graphviz is installed.
    match std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(dot.as_bytes())
                .expect("write DOT");
            let out = child.wait_with_output().expect("dot runs");
            assert!(out.status.success(), "dot -Tsvg rejected the graph");
            assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
        }
        Err(_) => eprintln!("skipping dot -Tsvg: Graphviz not installed"),
    }
}

#[test]
fn hostile_input_is_escaped() {
    let dir = hostile_corpus("hostile");
    let input = dir.to_str().expect("UTF-8 temp path");
    let j = json(input);
    assert_eq!(
        j["passages"].as_array().map(Vec::len),
        Some(1),
        "the hostile documents share one passage"
    );

    let html = report(input, "html");
    assert!(!html.contains("<script"), "no script element");
    assert!(!html.contains("<img"), "no img element");
    assert!(!html.contains("</textarea>"));
    for s in HOSTILE.iter().chain(&[HOSTILE_OUTLET_A, HOSTILE_OUTLET_B]) {
        assert!(html.contains(&escaped(s)), "{s} shown as text");
    }

    // The CSV round-trips the hostile outlets and quotes.
    let csv_text = report(input, "csv");
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("CSV row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][3], HOSTILE_OUTLET_A);
    assert_eq!(&rows[0][8], HOSTILE_OUTLET_B);
    assert!(rows[0][14].contains(HOSTILE[0]), "CSV holds the raw text");

    // DOT labels are escaped: every quote inside a label is backslashed.
    let dot = report(input, "dot");
    assert!(dot.contains("alert(\\\"outlet\\\")"));
    assert!(dot.contains("\\\"><img src=x onerror=alert(2)>, Inc."));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Chromium binary, if installed.
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Render `html` headless and return the serialized DOM.
fn dump_dom(chromium: &Path, html: &Path, name: &str) -> String {
    let profile = temp_dir(&format!("profile-{name}"));
    let dom_path = profile.join("dom.html");
    let dom_file = std::fs::File::create(&dom_path).expect("DOM file");
    let url = format!("file://{}", html.display());
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("data").display()
        ))
        .arg("--dump-dom")
        .arg(&url)
        .stdout(Stdio::from(dom_file))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => {
                assert!(status.success(), "chromium failed: {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish in 120 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let dom = std::fs::read_to_string(&dom_path).expect("read DOM");
    let _ = std::fs::remove_dir_all(&profile);
    dom
}

#[test]
fn renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium not installed, and CI is set: install it (apt-get install chromium)");
        }
        eprintln!("skipping: chromium not installed (/usr/bin/chromium)");
        return;
    };
    let dir = temp_dir("browser");

    let seeds_html = dir.join("seeds.html");
    std::fs::write(&seeds_html, report("seeds", "html")).expect("write seeds.html");
    let dom = dump_dom(&chromium, &seeds_html, "seeds");
    assert!(dom.contains("id=\"cluster-0\""), "cluster rendered");
    assert!(dom.contains(DOC_A) && dom.contains(DOC_B));
    assert!(dom.contains("<svg"));
    assert!(dom.contains("<del class=\"w\">militants</del>"));
    assert!(dom.contains("<ins class=\"w\">terrorists</ins>"));

    let hostile = hostile_corpus("hostile-browser");
    let hostile_html = dir.join("hostile.html");
    let input = hostile.to_str().expect("UTF-8 temp path");
    std::fs::write(&hostile_html, report(input, "html")).expect("write hostile.html");
    let dom = dump_dom(&chromium, &hostile_html, "hostile");
    assert!(dom.contains("id=\"cluster-0\""), "cluster rendered");
    // The browser serializes text nodes with < > & escaped: the hostile
    // strings are text, and no element was injected.
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(dom.contains("&lt;/textarea&gt;"));
    assert!(dom.contains("&lt;script&gt;alert(\"outlet\")&lt;/script&gt;"));
    for tag in ["<script", "<img", "<textarea", "<iframe"] {
        assert!(!dom.contains(tag), "injected {tag} element");
    }
    let _ = std::fs::remove_dir_all(&hostile);
    let _ = std::fs::remove_dir_all(&dir);
}
