//! Criterion benchmarks of each pipeline stage on real text.
//!
//! Inputs: the five seed stories (always), and the first 2000 stories of
//! the JSON Lines file named by `WIRETRACE_BENCH_DATA` when it is set (for
//! example the Reuters-21578 collection). Every benchmark reports
//! throughput in bytes of input text.
//!
//!     WIRETRACE_BENCH_DATA=path/to/reuters21578.jsonl \
//!         cargo bench --bench core -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wiretrace::{
    AlignParams, Banding, Corpus, Document, Settings, ShingledDoc, Token, align_pair,
    candidate_pairs, scan, shingle_hashes, signature, tokenize,
};

const SEEDS: [(&str, &str); 5] = [
    (
        "000_965e5383da2fe827",
        include_str!("../seeds/000_965e5383da2fe827.txt"),
    ),
    (
        "001_848d868a6b3a0ab3",
        include_str!("../seeds/001_848d868a6b3a0ab3.txt"),
    ),
    (
        "002_1334a92449fc3236",
        include_str!("../seeds/002_1334a92449fc3236.txt"),
    ),
    (
        "003_5edc88af400f5deb",
        include_str!("../seeds/003_5edc88af400f5deb.txt"),
    ),
    (
        "004_b33e749053d6a94d",
        include_str!("../seeds/004_b33e749053d6a94d.txt"),
    ),
];

/// Stories read from the bench data, at most this many.
const MAX_DATA_DOCS: usize = 2000;

/// A named set of texts.
struct Input {
    name: &'static str,
    texts: Vec<String>,
}

impl Input {
    fn bytes(&self) -> u64 {
        self.texts.iter().map(|t| t.len() as u64).sum()
    }
}

fn inputs() -> Vec<Input> {
    let mut v = vec![Input {
        name: "seeds",
        texts: SEEDS.iter().map(|(_, t)| t.to_string()).collect(),
    }];
    if let Some(path) = std::env::var_os("WIRETRACE_BENCH_DATA") {
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("WIRETRACE_BENCH_DATA={}: {e}", path.to_string_lossy()));
        let texts: Vec<String> = BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| {
                let v: serde_json::Value = serde_json::from_str(&line).ok()?;
                Some(v.get("text")?.as_str()?.to_string())
            })
            .filter(|t| !t.is_empty())
            .take(MAX_DATA_DOCS)
            .collect();
        if !texts.is_empty() {
            v.push(Input {
                name: "data2000",
                texts,
            });
        }
    }
    v
}

fn tokens_of(input: &Input) -> Vec<Vec<Token>> {
    input.texts.iter().map(|t| wiretrace::tokens(t)).collect()
}

fn shingles_of(input: &Input) -> Vec<Vec<u64>> {
    tokens_of(input)
        .iter()
        .map(|toks| {
            let mut out = Vec::new();
            shingle_hashes(toks, 5, &mut out);
            out
        })
        .collect()
}

fn bench_tokenize(c: &mut Criterion, inputs: &[Input]) {
    let mut g = c.benchmark_group("tokenize");
    for input in inputs {
        g.throughput(Throughput::Bytes(input.bytes()));
        g.bench_function(input.name, |b| {
            let mut out = Vec::new();
            b.iter(|| {
                let mut n = 0;
                for t in &input.texts {
                    tokenize(black_box(t), &mut out);
                    n += out.len();
                }
                n
            })
        });
    }
    g.finish();
}

fn bench_shingle(c: &mut Criterion, inputs: &[Input]) {
    let mut g = c.benchmark_group("shingle");
    for input in inputs {
        let toks = tokens_of(input);
        g.throughput(Throughput::Bytes(input.bytes()));
        g.bench_function(input.name, |b| {
            let mut out = Vec::new();
            b.iter(|| {
                let mut n = 0;
                for t in &toks {
                    shingle_hashes(black_box(t), 5, &mut out);
                    n += out.len();
                }
                n
            })
        });
    }
    g.finish();
}

fn bench_signature(c: &mut Criterion, inputs: &[Input]) {
    let mut g = c.benchmark_group("signature");
    for input in inputs {
        let shingles = shingles_of(input);
        g.throughput(Throughput::Bytes(input.bytes()));
        for k in [64, 128, 256] {
            g.bench_with_input(BenchmarkId::new(input.name, k), &k, |b, &k| {
                let mut sig = Vec::with_capacity(k);
                b.iter(|| {
                    let mut any = 0;
                    for s in &shingles {
                        any += usize::from(signature(black_box(s).iter().copied(), k, &mut sig));
                    }
                    any
                })
            });
        }
    }
    g.finish();
}

/// Window signatures (32 shingles, stride 16, as in a scan with default
/// settings) of every document of `input`, with the document number.
fn window_signatures(input: &Input, banding: Banding) -> Vec<(u32, Vec<u64>)> {
    let mut sigs = Vec::new();
    let mut sig = Vec::new();
    for (i, s) in shingles_of(input).iter().enumerate() {
        let mut start = 0;
        loop {
            let end = (start + 32).min(s.len());
            if signature(s[start..end].iter().copied(), banding.len(), &mut sig) {
                sigs.push((i as u32, sig.clone()));
            }
            if end == s.len() {
                break;
            }
            start += 16;
        }
    }
    sigs
}

/// Band keys of every signature, then the candidate pairs.
fn keys_and_pairs(sigs: &[(u32, Vec<u64>)], banding: Banding) -> usize {
    let mut keys = Vec::with_capacity(banding.bands);
    let mut entries = Vec::with_capacity(sigs.len() * banding.bands);
    for (owner, sig) in sigs {
        keys.clear();
        banding.keys(sig, &mut keys);
        entries.extend(keys.iter().map(|&k| (k, *owner)));
    }
    candidate_pairs(entries, 500).0.len()
}

fn bench_lsh(c: &mut Criterion, inputs: &[Input]) {
    let banding = Settings::default().banding;
    let mut g = c.benchmark_group("lsh");
    for input in inputs {
        // Signatures are computed once; the benchmark is keys + bucketing.
        let sigs = window_signatures(input, banding);
        eprintln!(
            "lsh/{}: {} window signatures, {} candidate pairs",
            input.name,
            sigs.len(),
            keys_and_pairs(&sigs, banding)
        );
        g.throughput(Throughput::Bytes(input.bytes()));
        g.bench_function(input.name, |b| {
            b.iter(|| keys_and_pairs(black_box(&sigs), banding))
        });
    }
    g.finish();
}

fn bench_align(c: &mut Criterion) {
    let (a, b) = (SEEDS[3].1, SEEDS[4].1);
    let mut da = ShingledDoc::new(a, 5);
    let mut db = ShingledDoc::new(b, 5);
    da.set_seeds(|_| true);
    db.set_seeds(|_| true);
    let params = AlignParams::default();
    let found = align_pair(a, &da, b, &db, &params);
    eprintln!("align/seeds_003_004: {} passages", found.len());
    let mut g = c.benchmark_group("align");
    g.throughput(Throughput::Bytes((a.len() + b.len()) as u64));
    g.bench_function("seeds_003_004", |bench| {
        bench.iter(|| align_pair(black_box(a), &da, black_box(b), &db, &params).len())
    });
    g.finish();
}

fn bench_scan(c: &mut Criterion, inputs: &[Input]) {
    let settings = Settings::default();
    let mut g = c.benchmark_group("scan");
    for input in inputs {
        let docs: Vec<Document> = input
            .texts
            .iter()
            .enumerate()
            .map(|(i, t)| Document::new(format!("{i:06}"), t.clone()))
            .collect();
        g.throughput(Throughput::Bytes(input.bytes()));
        g.bench_function(input.name, |b| {
            b.iter_batched(
                || Corpus::from_documents(docs.clone()),
                |corpus| {
                    scan(corpus, &settings)
                        .map(|r| r.passages.len())
                        .unwrap_or(0)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// Tokenize, shingle and sign (K = 128) every text, in parallel over texts
/// on all cores: the whole hashing core, as `wiretrace dedup` runs it.
fn bench_hashing_core(c: &mut Criterion, inputs: &[Input]) {
    use rayon::prelude::*;
    let mut g = c.benchmark_group("tokenize_shingle_signature_parallel");
    for input in inputs {
        g.throughput(Throughput::Bytes(input.bytes()));
        g.bench_function(input.name, |b| {
            b.iter(|| {
                input
                    .texts
                    .par_iter()
                    .map_init(
                        || (Vec::new(), Vec::new(), Vec::with_capacity(128)),
                        |(toks, shingles, sig), t| {
                            tokenize(black_box(t), toks);
                            shingle_hashes(toks, 5, shingles);
                            usize::from(signature(shingles.iter().copied(), 128, sig))
                        },
                    )
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let inputs = inputs();
    bench_hashing_core(c, &inputs);
    bench_tokenize(c, &inputs);
    bench_shingle(c, &inputs);
    bench_signature(c, &inputs);
    bench_lsh(c, &inputs);
    bench_align(c);
    bench_scan(c, &inputs);
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(core);
