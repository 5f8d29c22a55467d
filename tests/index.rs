//! The persistent index: consistency with `wiretrace scan` (command line and
//! HTTP), and crash safety of `index add` under SIGKILL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_wiretrace");
const CHECKED: &str = "004_b33e749053d6a94d";
const SOURCE: &str = "003_5edc88af400f5deb";

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("index-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run wiretrace");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn seed_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(seeds())
        .expect("seeds")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

/// A passage's witnesses as (a.doc, a.start, a.end, b.doc, b.start, b.end).
type Spans = (String, u64, u64, String, u64, u64);

/// The spans of the passages of `report` for which `keep` holds, sorted.
fn spans_where(report: &Value, keep: impl Fn(&Spans) -> bool) -> Vec<Spans> {
    let witness = |w: &Value| {
        (
            w["doc"].as_str().unwrap_or_default().to_string(),
            w["start"].as_u64().unwrap_or(0),
            w["end"].as_u64().unwrap_or(0),
        )
    };
    let mut v: Vec<Spans> = report["passages"]
        .as_array()
        .expect("passages")
        .iter()
        .map(|p| {
            let (a, sa, ea) = witness(&p["a"]);
            let (b, sb, eb) = witness(&p["b"]);
            (a, sa, ea, b, sb, eb)
        })
        .filter(|s| keep(s))
        .collect();
    v.sort();
    v
}

/// The passages between `SOURCE` and `CHECKED`.
fn pair_spans(report: &Value) -> Vec<Spans> {
    spans_where(report, |s| {
        let ids = [s.0.as_str(), s.3.as_str()];
        ids.contains(&SOURCE) && ids.contains(&CHECKED)
    })
}

fn origins(report: &Value) -> Vec<String> {
    report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter(|c| {
            let docs = c["docs"].as_array().expect("docs");
            docs.iter().any(|d| d == SOURCE) && docs.iter().any(|d| d == CHECKED)
        })
        .filter_map(|c| c["provenance"]["origin"].as_str().map(str::to_string))
        .collect()
}

fn scan_seeds() -> Value {
    let dir = seeds();
    let (code, out, err) = run(&["scan", dir.to_str().expect("path"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("scan json")
}

#[test]
fn check_matches_scan_on_the_seeds() {
    let expected = scan_seeds();
    let want = pair_spans(&expected);
    assert!(!want.is_empty(), "scan finds the 003/004 passage");

    let db = scratch("cli");
    let manifest = seeds().join("manifest.csv");
    let db_s = db.to_str().expect("path");
    let manifest_s = manifest.to_str().expect("path");
    let files = seed_files();
    let mut args = vec!["index", "add", "--db", db_s, "--manifest", manifest_s];
    let others: Vec<String> = files
        .iter()
        .filter(|p| !p.to_string_lossy().contains(CHECKED))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(others.len(), 4);
    args.extend(others.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("indexed 4 new"), "{out}");

    // Idempotent.
    let (code, out, _) = run(&args);
    assert_eq!(code, 0);
    assert!(out.contains("indexed 0 new, 4 already indexed"), "{out}");

    let (code, out, _) = run(&["index", "stats", "--db", db_s, "--format", "json"]);
    assert_eq!(code, 0);
    let stats: Value = serde_json::from_str(&out).expect("stats json");
    assert_eq!(stats["documents"], 4);
    assert_eq!(stats["outlets"], 4);

    let checked = seeds().join(format!("{CHECKED}.txt"));
    let (code, out, err) = run(&[
        "index",
        "check",
        "--db",
        db_s,
        "--manifest",
        manifest_s,
        checked.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("check json");
    assert_eq!(pair_spans(&report), want);
    assert_eq!(origins(&report), vec!["Reuters".to_string()]);

    // A conflicting text under an indexed id is reported, not stored.
    let conflict = db.join("conflict.jsonl");
    std::fs::write(
        &conflict,
        format!("{{\"id\": \"{SOURCE}\", \"text\": \"Another text altogether.\"}}\n"),
    )
    .expect("write");
    let (code, out, err) = run(&[
        "index",
        "add",
        "--db",
        db_s,
        conflict.to_str().expect("path"),
    ]);
    assert_eq!(code, 3);
    assert!(out.contains("1 conflicts"), "{out}");
    assert!(err.contains("conflict"), "{err}");
    let _ = std::fs::remove_dir_all(&db);
}

/// Kills the server when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(db: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--db", db.to_str().expect("path")])
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address");
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("address")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    Server { child, addr }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    // The server may answer (413) and close before reading everything.
    let _ = s.write_all(&req);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a response");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn record(id: &str, text: &str, outlet: Option<&str>, published: Option<&str>) -> Vec<u8> {
    let mut v = serde_json::json!({ "id": id, "text": text });
    if let Some(o) = outlet {
        v["outlet"] = o.into();
    }
    if let Some(p) = published {
        v["published"] = p.into();
    }
    v.to_string().into_bytes()
}

fn manifest() -> Vec<(String, Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(seeds().join("manifest.csv")).expect("manifest");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let opt = |i: usize| f.get(i).filter(|s| !s.is_empty()).map(|s| (*s).to_string());
            let id = f.first()?.trim_end_matches(".txt").to_string();
            Some((id, opt(1), opt(2)))
        })
        .collect()
}

#[test]
fn http_api_matches_scan_on_the_seeds() {
    let expected = scan_seeds();
    let want = pair_spans(&expected);
    let db = scratch("http");
    let server = start_server(&db, &["--body-limit", "65536"]);
    let addr = server.addr.clone();

    let (code, body) = http(&addr, "GET", "/health", b"");
    assert_eq!(code, 200, "{body}");

    let mut checked = None;
    for (id, outlet, published) in manifest() {
        let text = std::fs::read_to_string(seeds().join(format!("{id}.txt"))).expect("seed");
        let rec = record(&id, &text, outlet.as_deref(), published.as_deref());
        if id == CHECKED {
            checked = Some(rec);
            continue;
        }
        let (code, body) = http(&addr, "POST", "/documents", &rec);
        assert_eq!(code, 201, "{body}");
        let (code, body) = http(&addr, "POST", "/documents", &rec);
        assert_eq!(code, 200, "{body}");
    }
    let checked = checked.expect("004 in the manifest");

    let (code, body) = http(&addr, "POST", "/check", &checked);
    assert_eq!(code, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("check json");
    assert_eq!(pair_spans(&report), want);
    assert_eq!(origins(&report), vec!["Reuters".to_string()]);

    // Concurrent checks while documents are added: readers and the writer
    // do not block each other out.
    let mut workers = Vec::new();
    for t in 0..4 {
        let addr = addr.clone();
        let checked = checked.clone();
        workers.push(std::thread::spawn(move || {
            for k in 0..3 {
                let (code, body) = http(&addr, "POST", "/check", &checked);
                assert_eq!(code, 200, "{body}");
                let text =
                    format!("Concurrent article {t} {k}: one two three four five six seven.");
                let rec = record(&format!("c{t}-{k}"), &text, Some("Test"), None);
                let (code, body) = http(&addr, "POST", "/documents", &rec);
                assert_eq!(code, 201, "{body}");
            }
        }));
    }
    for w in workers {
        w.join().expect("worker");
    }
    let (code, body) = http(&addr, "GET", "/health", b"");
    assert_eq!(code, 200);
    let health: Value = serde_json::from_str(&body).expect("health json");
    assert_eq!(health["documents"], 4 + 12);

    // Conflicts, lookups, bad input, limits.
    let (code, body) = http(
        &addr,
        "POST",
        "/documents",
        &record(SOURCE, "Another text.", None, None),
    );
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (code, body) = http(&addr, "GET", &format!("/documents/{SOURCE}"), b"");
    assert_eq!(code, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("doc json");
    assert_eq!(doc["outlet"], "The Express Tribune");
    assert!(doc["text"].as_str().is_some_and(|t| t.contains("Reuters")));
    let (code, body) = http(&addr, "GET", "/documents/nope", b"");
    assert_eq!(code, 404, "{body}");
    let (code, body) = http(&addr, "POST", "/check", b"{not json");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (code, body) = http(&addr, "POST", "/check", br#"{"id": "x"}"#);
    assert_eq!(code, 400, "{body}");
    let big = record("big", &"word ".repeat(20_000), None, None);
    let (code, body) = http(&addr, "POST", "/check", &big);
    assert_eq!(code, 413, "{body}");
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `n` synthetic articles of 2–6 KB, cut and spliced from the seeds.
fn generate(dir: &Path, n: usize, rng: &mut Rng) {
    let words: Vec<String> = seed_files()
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .expect("seed")
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for i in 0..n {
        let mut text = format!("Story number {i}.\n\n");
        let target = 2000 + rng.below(4000) as usize;
        while text.len() < target {
            let start = rng.below(words.len() as u64) as usize;
            let len = 20 + rng.below(80) as usize;
            let end = (start + len).min(words.len());
            text.push_str(&words[start..end].join(" "));
            text.push_str("\n\n");
        }
        std::fs::write(dir.join(format!("{i:04}.txt")), text).expect("write doc");
    }
}

/// Open the index, check every stored document against its source file.
/// Returns the number of documents stored.
fn verify(db: &Path, corpus: &Path) -> u64 {
    let index = wiretrace::Index::open(db).expect("index opens after a kill");
    let stats = index.stats().expect("stats");
    let mut seen = 0u64;
    index
        .for_each(|doc| {
            let source = std::fs::read_to_string(corpus.join(format!("{}.txt", doc.id)))
                .expect("source file");
            assert!(doc.is_intact(), "{}: hash mismatch", doc.id);
            assert_eq!(doc.text, source, "{}: text differs from its source", doc.id);
            assert_eq!(doc.hash, wiretrace::text_hash(&source));
            seen += 1;
            Ok(())
        })
        .expect("iterate");
    assert_eq!(seen, stats.documents);
    drop(index);
    let (code, out, err) = run(&["index", "stats", "--db", db.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("documents: {seen}")), "{out}");
    seen
}

#[test]
fn index_add_survives_sigkill() {
    let root = scratch("crash");
    let corpus = root.join("corpus");
    let db = root.join("db");
    std::fs::create_dir_all(&corpus).expect("corpus dir");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let n = 200;
    generate(&corpus, n, &mut rng);
    // Small batches, so that kills land between commits and inside them.
    let args = [
        "index",
        "add",
        "--batch",
        "3",
        "--db",
        db.to_str().expect("path"),
        corpus.to_str().expect("path"),
    ];
    let mut stored = 0;
    for round in 0..5 {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start index add");
        let delay = Duration::from_millis(50 + rng.below(2500));
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().expect("poll").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let now = verify(&db, &corpus);
        eprintln!("round {round}: killed after {delay:?}, {now} documents stored");
        assert!(now >= stored, "documents never disappear");
        stored = now;
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(verify(&db, &corpus), n as u64);
    let _ = std::fs::remove_dir_all(&root);
}

/// Every passage of `report` that involves one of `ids` and no other of
/// them.
fn passages_of(report: &Value, ids: &[String]) -> Vec<Spans> {
    spans_where(report, |s| ids.contains(&s.0) != ids.contains(&s.3))
}

#[test]
fn check_matches_scan_on_a_generated_corpus() {
    // 400 generated documents of 15 outlets: wire stories, reprints, and
    // each outlet's site boilerplate (which the outlet rule keeps out).
    let root = scratch("gen");
    let out = root.join("gen");
    let (code, _, err) = run(&[
        "gen",
        "--docs",
        "400",
        "--seed",
        "11",
        "--quiet",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(code, 0, "{err}");
    let corpus = out.join("corpus");
    let manifest = corpus.join("manifest.csv");
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).expect("truth"))
            .expect("truth json");
    let mut articles: Vec<String> = Vec::new();
    for p in truth["passages"].as_array().expect("passages") {
        let id = p["copy"].as_str().expect("copy").to_string();
        if !articles.contains(&id) && articles.len() < 3 {
            articles.push(id);
        }
    }
    let (code, scanned, err) = run(&["scan", corpus.to_str().expect("path"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let scanned: Value = serde_json::from_str(&scanned).expect("scan json");
    let want = passages_of(&scanned, &articles);

    let db = root.join("db");
    let (db_s, manifest_s) = (
        db.to_str().expect("path").to_string(),
        manifest.to_str().expect("path").to_string(),
    );
    let mut archive: Vec<String> = Vec::new();
    let mut checked: Vec<String> = Vec::new();
    for e in std::fs::read_dir(&corpus).expect("corpus") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "txt") {
            let id = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let s = p.to_string_lossy().into_owned();
            if articles.iter().any(|a| a == id) {
                checked.push(s);
            } else {
                archive.push(s);
            }
        }
    }
    archive.sort();
    checked.sort();
    let mut args = vec!["index", "add", "--batch", "37", "--db", &db_s];
    args.extend(["--manifest", &manifest_s]);
    args.extend(archive.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    let mut args = vec!["index", "check", "--db", &db_s, "--manifest", &manifest_s];
    args.extend(checked.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("check json");
    let got = passages_of(&report, &articles);

    // Same counts, same seeds: every passage the check finds is the scan's,
    // byte for byte; candidates found through stored band keys find most.
    let missing: Vec<_> = got.iter().filter(|p| !want.contains(p)).collect();
    assert!(missing.is_empty(), "not in the scan: {missing:?}");
    assert!(
        got.len() * 10 >= want.len() * 8 && !got.is_empty(),
        "check found {} of the scan's {} passages",
        got.len(),
        want.len()
    );
    let _ = std::fs::remove_dir_all(&root);
}
