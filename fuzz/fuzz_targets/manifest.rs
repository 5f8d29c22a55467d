//! Arbitrary bytes as `manifest.csv` next to two text files, read with
//! `read_corpus`: never panics, never errors (manifest problems are
//! warnings), and both text files are accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "wiretrace-fuzz-manifest-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
    std::fs::write(dir.join("manifest.csv"), data).expect("write manifest");
    std::fs::write(dir.join("a.txt"), "Alpha story about the harbour.").expect("write a");
    std::fs::write(dir.join("sub").join("b.txt"), "Beta story, from the wire.").expect("write b");
    let corpus = wiretrace::read_corpus(
        std::slice::from_ref(&dir),
        &wiretrace::ReadOptions::default(),
    )
    .expect("manifest problems must not stop the run");
    let seen = corpus.documents.len() + corpus.skipped.len();
    assert!(seen >= 2, "text files disappeared: {seen}");
    // Also as an explicit --manifest.
    let options = wiretrace::ReadOptions {
        manifest: Some(dir.join("manifest.csv")),
        ..wiretrace::ReadOptions::default()
    };
    let _ = wiretrace::read_corpus(&[dir.join("a.txt")], &options);
    let _ = std::fs::remove_dir_all(&dir);
});
