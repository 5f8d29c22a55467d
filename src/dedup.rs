//! Document-level near-duplicates: the job datasketch, rensa and gaoya do.
//!
//! Each document's set of token 5-gram hashes gets one K-value
//! one-permutation MinHash signature ([`crate::signature`]). Banded LSH over
//! the signatures proposes candidate pairs; the banding is chosen so that
//! its S-curve threshold sits below the requested similarity (recall first),
//! and every candidate is then re-checked on the exact shingle sets, so a
//! pair is reported only when its Jaccard similarity really reaches the
//! threshold (the peers return raw LSH candidates). Pairs are joined into
//! clusters by union-find.

use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;

use crate::corpus::{Corpus, Document, Skipped};
use crate::error::{Error, Result};
use crate::lsh::{Banding, candidate_pairs};
use crate::minhash::{MAX_PERM, signature};
use crate::shingle::shingle_hashes;
use crate::text::tokenize;

/// Settings of a dedup run.
#[derive(Debug, Clone, Copy)]
pub struct DedupSettings {
    /// Report pairs whose Jaccard similarity is at least this (0..1].
    pub threshold: f64,
    /// Signature length K.
    pub num_perm: usize,
    /// Shingle size in tokens.
    pub ngram: usize,
}

impl Default for DedupSettings {
    fn default() -> Self {
        DedupSettings {
            threshold: 0.5,
            num_perm: 128,
            ngram: 5,
        }
    }
}

/// A near-duplicate pair; `a < b` as document indices, and the id of `a`
/// sorts before the id of `b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DedupPair {
    /// Index into [`DedupReport::documents`].
    pub a: usize,
    /// Index into [`DedupReport::documents`].
    pub b: usize,
    /// Jaccard similarity of the two shingle sets (exact).
    pub similarity: f64,
}

/// What a dedup run found.
#[derive(Debug, Clone)]
pub struct DedupReport {
    /// Documents read.
    pub documents: Vec<Document>,
    /// Inputs not read, with reasons.
    pub skipped: Vec<Skipped>,
    /// Pairs at or above the threshold, sorted.
    pub pairs: Vec<DedupPair>,
    /// Groups of documents linked by pairs, largest first; each sorted.
    pub clusters: Vec<Vec<usize>>,
    /// The banding used for candidates.
    pub banding: Banding,
}

/// Find near-duplicate documents in `corpus`.
pub fn dedup(corpus: Corpus, s: &DedupSettings) -> Result<DedupReport> {
    if !(s.threshold > 0.0 && s.threshold <= 1.0) {
        return Err(Error::Settings("threshold must be in (0, 1]".into()));
    }
    if s.num_perm == 0 || s.num_perm > MAX_PERM || s.ngram == 0 {
        return Err(Error::Settings(
            "num-perm must be 1..=1024 and ngram at least 1".into(),
        ));
    }
    let mut clock = crate::scan::Stopwatch::new();
    let Corpus {
        documents, skipped, ..
    } = corpus;
    let k = s.num_perm;
    // Candidates from an S-curve centred a little below the threshold.
    let banding = Banding::for_threshold(k, (s.threshold * 0.8).max(0.05));
    // Pass 1: one signature per document, in one flat vector (K values
    // each); nothing else is kept.
    let mut sigs = vec![0u64; documents.len() * k];
    let has_sig: Vec<bool> = sigs
        .par_chunks_mut(k.max(1))
        .zip(documents.par_iter())
        .map_init(
            || (Vec::new(), Vec::new(), Vec::with_capacity(k)),
            |(tokens, shingles, sig), (out, d)| {
                tokenize(&d.text, tokens);
                shingle_hashes(tokens, s.ngram, shingles);
                let any = signature(shingles.iter().copied(), k, sig);
                out.copy_from_slice(sig);
                any
            },
        )
        .collect();
    clock.lap("dedup: tokenize, shingle, signature");
    let entries: Vec<(u64, u32)> = sigs
        .par_chunks(k.max(1))
        .enumerate()
        .filter(|(i, _)| has_sig[*i])
        .flat_map_iter(|(i, sig)| {
            let mut keys = Vec::with_capacity(banding.bands);
            banding.keys(sig, &mut keys);
            keys.into_iter().map(move |key| (key, i as u32))
        })
        .collect();
    let (candidates, _) = candidate_pairs(entries, usize::MAX);
    drop(sigs);
    clock.lap("dedup: LSH candidates");
    // Pass 2: exact shingle sets, only for documents in a candidate pair.
    let mut involved: Vec<u32> = candidates.iter().flat_map(|&(x, y)| [x, y]).collect();
    involved.sort_unstable();
    involved.dedup();
    let sets: Vec<Vec<u64>> = involved
        .par_iter()
        .map_init(Vec::new, |tokens, &i| {
            let mut set = Vec::new();
            tokenize(&documents[i as usize].text, tokens);
            shingle_hashes(tokens, s.ngram, &mut set);
            set.sort_unstable();
            set.dedup();
            set
        })
        .collect();
    let set_of = |i: u32| -> &[u64] {
        match involved.binary_search(&i) {
            Ok(at) => &sets[at],
            Err(_) => &[],
        }
    };
    let mut pairs: Vec<DedupPair> = candidates
        .par_iter()
        .filter_map(|&(x, y)| {
            let similarity = exact_jaccard(set_of(x), set_of(y));
            let (x, y) = (x as usize, y as usize);
            let (a, b) = if documents[x].id <= documents[y].id {
                (x, y)
            } else {
                (y, x)
            };
            (similarity >= s.threshold).then_some(DedupPair { a, b, similarity })
        })
        .collect();
    pairs.sort_by_key(|p| (p.a, p.b));
    clock.lap("dedup: exact check");
    let clusters = group(documents.len(), &pairs);
    Ok(DedupReport {
        documents,
        skipped,
        pairs,
        clusters,
        banding,
    })
}

/// Jaccard similarity of two sorted, deduplicated sets.
fn exact_jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - both;
    if union == 0 {
        0.0
    } else {
        both as f64 / union as f64
    }
}

fn group(n: usize, pairs: &[DedupPair]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for p in pairs {
        let (ra, rb) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for p in pairs {
        for d in [p.a, p.b] {
            let r = find(&mut parent, d);
            groups.entry(r).or_default().push(d);
        }
    }
    let mut out: Vec<Vec<usize>> = groups
        .into_values()
        .map(|mut g| {
            g.sort_unstable();
            g.dedup();
            g
        })
        .collect();
    out.sort_by_key(|g| (std::cmp::Reverse(g.len()), g[0]));
    out
}

#[derive(Serialize)]
struct JsonPair<'a> {
    a: &'a str,
    b: &'a str,
    similarity: f64,
}

#[derive(Serialize)]
struct JsonCluster<'a> {
    id: usize,
    docs: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonDedup<'a> {
    version: u32,
    documents: &'a [Document],
    skipped: &'a [Skipped],
    pairs: Vec<JsonPair<'a>>,
    clusters: Vec<JsonCluster<'a>>,
}

/// Write a dedup report as JSON (`wiretrace dedup` in the report contract).
pub fn write_dedup_json(r: &DedupReport, out: &mut dyn Write) -> std::io::Result<()> {
    let id = |i: usize| r.documents[i].id.as_str();
    let json = JsonDedup {
        version: 1,
        documents: &r.documents,
        skipped: &r.skipped,
        pairs: r
            .pairs
            .iter()
            .map(|p| JsonPair {
                a: id(p.a),
                b: id(p.b),
                similarity: p.similarity,
            })
            .collect(),
        clusters: r
            .clusters
            .iter()
            .enumerate()
            .map(|(i, g)| JsonCluster {
                id: i,
                docs: g.iter().map(|&d| id(d)).collect(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}

/// Write a dedup report as text: one line per cluster, then the account.
pub fn write_dedup_text(r: &DedupReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "wiretrace dedup: {} documents, {} near-duplicate pairs, {} clusters (LSH {} bands × {} rows)",
        r.documents.len(),
        r.pairs.len(),
        r.clusters.len(),
        r.banding.bands,
        r.banding.rows
    )?;
    for (i, g) in r.clusters.iter().enumerate() {
        let ids: Vec<&str> = g.iter().map(|&d| r.documents[d].id.as_str()).collect();
        writeln!(out, "  cluster {i}: {}", ids.join(" "))?;
    }
    for s in &r.skipped {
        writeln!(out, "  skipped {}: {}", s.path, s.reason)?;
    }
    writeln!(
        out,
        "read {} documents, skipped {}",
        r.documents.len(),
        r.skipped.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_duplicates_and_only_them() {
        let base = include_str!("../seeds/003_5edc88af400f5deb.txt");
        let story = &base[..base.find("Facebook Conversations").unwrap_or(base.len())];
        let docs = vec![
            Document::new("a", story),
            Document::new(
                "b",
                story
                    .replace("U.S.", "US")
                    .replace("militants", "terrorists"),
            ),
            Document::new("c", include_str!("../seeds/001_848d868a6b3a0ab3.txt")),
            Document::new("d", include_str!("../seeds/002_1334a92449fc3236.txt")),
        ];
        let r = dedup(Corpus::from_documents(docs), &DedupSettings::default()).unwrap();
        assert_eq!(r.pairs.len(), 1);
        assert_eq!((r.pairs[0].a, r.pairs[0].b), (0, 1));
        assert!(r.pairs[0].similarity > 0.7);
        assert_eq!(r.clusters, vec![vec![0, 1]]);
        let mut json = Vec::new();
        write_dedup_json(&r, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["pairs"][0]["a"], "a");
        assert_eq!(v["clusters"][0]["docs"][1], "b");
    }

    #[test]
    fn rejects_bad_settings() {
        let c = Corpus::default();
        assert!(
            dedup(
                c.clone(),
                &DedupSettings {
                    threshold: 0.0,
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert!(
            dedup(
                c,
                &DedupSettings {
                    num_perm: 5000,
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
