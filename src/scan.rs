//! The end-to-end scan: corpus in, report out. Each step calls one stage.

use rayon::prelude::*;
use serde::Serialize;

use crate::align::{AlignParams, Alignment, Passage, Witness, align_pair};
use crate::cluster::{Cluster, cluster_passages};
use crate::corpus::{Corpus, Document, Skipped};
use crate::error::{Error, Result};
use crate::lsh::{Banding, candidate_pairs};
use crate::minhash::{MAX_PERM, signature};
use crate::provenance::attribute;
use crate::quotes::{QuoteGroup, audit_quotes};
use crate::shingle::{DfSketch, ShingledDoc, mix64};

/// Settings of a scan. `Settings::default()` is what the command line uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shingle size in tokens.
    pub ngram: usize,
    /// Shingles per MinHash window. A reused passage is found when it
    /// shares enough of one window; windows overlap by half.
    pub window: usize,
    /// LSH banding of the window signatures (signature length = bands × rows).
    ///
    /// The default, 16 bands of 2 rows (K = 32), puts the S-curve's
    /// threshold at J ≈ 0.25: a window pair of Jaccard 0.3 becomes a
    /// candidate with probability 0.78, 0.5 with 0.99, while a pair sharing
    /// one stock phrase (J ≈ 0.05) does so with probability 0.04. A reused
    /// passage spans several overlapping windows in each text, so missing
    /// it needs every window pair to miss.
    pub banding: Banding,
    /// Alignment settings (minimum passage length, gap tolerance).
    pub align: AlignParams,
    /// Shingles found in more documents than this are too common to seed
    /// a passage (stock phrases, site boilerplate). `None`: the larger of 50
    /// and 1% of the documents: a wire story reprinted by more outlets than
    /// that is only found through exact duplicates; raise it for such corpora.
    pub max_df: Option<usize>,
    /// Shingles found in at least this many documents *of one outlet* are
    /// that outlet's boilerplate (site chrome, "Reader Comments", sign-up
    /// boxes) and do not seed passages in its documents. Wire copy is
    /// reprinted by many outlets, so it is not caught; an outlet re-issuing
    /// the same story this often is. `None` turns the rule off.
    pub max_outlet_df: Option<usize>,
    /// A band bucket shared by more documents than this is skipped.
    pub max_bucket: usize,
    /// Only compare documents whose outlets differ (documents of unknown
    /// outlet are always compared).
    pub cross_outlet_only: bool,
    /// Run the provenance pass on each cluster.
    pub provenance: bool,
    /// Run the quote audit.
    pub quotes: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ngram: 5,
            window: 32,
            banding: Banding { bands: 16, rows: 2 },
            align: AlignParams::default(),
            max_df: None,
            max_outlet_df: Some(20),
            max_bucket: 500,
            cross_outlet_only: false,
            provenance: true,
            quotes: true,
        }
    }
}

impl Settings {
    fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Settings(m.to_string()));
        if self.ngram == 0 || self.ngram > 64 {
            return bad("ngram must be 1..=64");
        }
        if self.window < 2 {
            return bad("window must be at least 2 shingles");
        }
        if self.banding.is_empty() || self.banding.len() > MAX_PERM {
            return bad("bands × rows must be 1..=1024");
        }
        if self.align.ngram != self.ngram {
            return bad("align.ngram must equal ngram");
        }
        Ok(())
    }

    /// The document-frequency cut-off in force for a corpus of `n` documents.
    pub fn max_df_for(&self, n: usize) -> usize {
        self.max_df.unwrap_or_else(|| 50.max(n / 100))
    }
}

/// Counts from a scan, for the curious and for benchmarks.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ScanStats {
    /// Tokens in all documents.
    pub tokens: usize,
    /// MinHash windows signed.
    pub windows: usize,
    /// Document-frequency cut-off used.
    pub max_df: usize,
    /// Candidate document pairs aligned.
    pub candidate_pairs: usize,
    /// Band buckets skipped as too common.
    pub oversized_buckets: usize,
}

/// Everything a scan found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Documents read, in a deterministic order. Witnesses index into it.
    pub documents: Vec<Document>,
    /// Inputs not read, with reasons.
    pub skipped: Vec<Skipped>,
    /// Problems that did not stop a document from being read (a manifest
    /// row naming no file, a bad date dropped).
    pub warnings: Vec<String>,
    /// Reused passages, numbered in order of (a.doc, b.doc, a.start).
    pub passages: Vec<Passage>,
    /// Clusters of passages, largest first.
    pub clusters: Vec<Cluster>,
    /// Quotations shared by two or more documents.
    pub quotes: Vec<QuoteGroup>,
    /// Counts.
    pub stats: ScanStats,
}

/// Receives progress reports from a scan, to drive progress bars.
///
/// Calls may come from several worker threads at once.
pub trait Progress: Sync {
    /// A stage starts, with `total` units of work (documents or pairs).
    fn start(&self, stage: &'static str, total: u64);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &'static str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Find reused passages in `corpus`, cluster them, and attribute them.
pub fn scan(corpus: Corpus, settings: &Settings) -> Result<Report> {
    scan_with_progress(corpus, settings, &Silent)
}

/// [`scan`], reporting progress of the long stages (tokenizing, signing
/// windows, aligning candidate pairs) to `progress`.
pub fn scan_with_progress(
    corpus: Corpus,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report> {
    settings.check()?;
    let Corpus {
        documents,
        skipped,
        warnings,
    } = corpus;
    let mut stats = ScanStats::default();
    let mut clock = Stopwatch::new();

    // Tokenize and shingle.
    progress.start("tokenize", documents.len() as u64);
    let mut docs: Vec<ShingledDoc> = documents
        .par_iter()
        .map(|d| ShingledDoc::new(&d.text, settings.ngram))
        .inspect(|_| progress.advance(1))
        .collect();
    progress.finish();
    stats.tokens = docs.iter().map(|d| d.tokens.len()).sum();
    clock.lap("tokenize+shingle");

    // Down-weight shingles common to many documents.
    let max_df = settings.max_df_for(documents.len());
    stats.max_df = max_df;
    let outlet_keys: Vec<u64> = documents.iter().map(outlet_key).collect();
    let (df, outlet_df) = {
        let need_df = docs.len() > max_df;
        let outlets = settings
            .max_outlet_df
            .map(|m| (m, outlets_with_at_least(&outlet_keys, m)))
            .filter(|(_, o)| !o.is_empty());
        let distinct: Vec<Vec<u64>> = if need_df || outlets.is_some() {
            docs.par_iter().map(|d| d.distinct_shingles()).collect()
        } else {
            Vec::new()
        };
        let df = need_df.then(|| DfSketch::from_documents(&distinct));
        let outlet_df = outlets.map(|(m, outlets)| {
            let keyed: Vec<Vec<u64>> = distinct
                .par_iter()
                .zip(&outlet_keys)
                .map(|(d, k)| {
                    if outlets.contains(k) {
                        d.iter().map(|h| h ^ k).collect()
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            (DfSketch::from_documents(&keyed), m)
        });
        (df, outlet_df)
    };
    docs.par_iter_mut().zip(&outlet_keys).for_each(|(d, &ok)| {
        // An outlet count above the corpus-wide count is a collision in
        // the outlet sketch (likely in large corpora), so both must reach
        // the outlet threshold, as in the persistent index.
        let common = |h: u64| {
            let global = df.as_ref().map(|df| df.get(h) as usize);
            global.is_some_and(|g| g > max_df)
                || (ok != 0
                    && outlet_df.as_ref().is_some_and(|(odf, m)| {
                        odf.get(h ^ ok) as usize >= *m && global.is_none_or(|g| g >= *m)
                    }))
        };
        // The counters of the shingle `AHEAD` places on are fetched while
        // this one is looked up.
        const AHEAD: usize = 16;
        let prefetch = |h: u64| {
            if let Some(df) = &df {
                df.prefetch(h);
            }
            if let Some((odf, _)) = outlet_df.as_ref().filter(|_| ok != 0) {
                odf.prefetch(h ^ ok);
            }
        };
        d.shingles.iter().take(AHEAD).for_each(|&h| prefetch(h));
        let keep: Vec<bool> = (0..d.shingles.len())
            .map(|i| {
                if let Some(&ahead) = d.shingles.get(i + AHEAD) {
                    prefetch(ahead);
                }
                !common(d.shingles[i])
            })
            .collect();
        d.set_seeds_where(&keep);
    });

    clock.lap("document frequency");
    // Candidate pairs: windowed MinHash + banded LSH, plus exact duplicates.
    progress.start("signatures", docs.len() as u64);
    let (mut pairs, windows, oversized) = lsh_candidates(&docs, settings, progress);
    progress.finish();
    stats.windows = windows;
    stats.oversized_buckets = oversized;
    pairs.extend(exact_duplicate_pairs(&docs));
    let pairs = orient_pairs(
        &documents,
        pairs
            .into_iter()
            .map(|(x, y)| (x as usize, y as usize))
            .filter(|&(x, y)| {
                !(settings.cross_outlet_only && same_outlet(&documents[x], &documents[y]))
            }),
    );
    stats.candidate_pairs = pairs.len();
    clock.lap("signatures+LSH");

    // Align every candidate pair.
    progress.start("align", pairs.len() as u64);
    let mut passages = align_pairs(&documents, &docs, &pairs, settings, progress);
    progress.finish();
    clock.lap("align");
    // Cluster, then attribute.
    let clusters = cluster_and_attribute(&documents, &mut passages, settings);
    clock.lap("cluster+provenance");
    let quotes = if settings.quotes {
        audit_quotes(&documents)
    } else {
        Vec::new()
    };
    clock.lap("quotes");
    Ok(Report {
        documents,
        skipped,
        warnings,
        passages,
        clusters,
        quotes,
        stats,
    })
}

/// The band keys of one document's windows, as [`scan`] computes them:
/// the document's seeds in token order, cut into half-overlapping windows
/// of `settings.window` shingles, each signed with MinHash and banded by
/// `settings.banding`. Keys are sorted and deduplicated. Used by the
/// persistent index, which stores these keys per document.
pub fn window_band_keys(doc: &ShingledDoc, settings: &Settings) -> Vec<u64> {
    let mut by_pos: Vec<(u32, u64)> = doc.seeds.iter().map(|&(h, p)| (p, h)).collect();
    by_pos.sort_unstable();
    let kept: Vec<u64> = by_pos.into_iter().map(|(_, h)| h).collect();
    let mut out = Vec::new();
    let mut sig = Vec::with_capacity(settings.banding.len());
    for (start, end) in windows_of(kept.len(), settings.window) {
        if signature(
            kept[start..end].iter().copied(),
            settings.banding.len(),
            &mut sig,
        ) {
            settings.banding.keys(&sig, &mut out);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The second half of [`scan`] for candidate pairs found elsewhere (the
/// persistent index): shingle `documents`, keep as seeds the shingles for
/// which `keep` holds (the caller's document-frequency cut-off), align each
/// pair of `pairs` (indices into `documents`), cluster the passages,
/// attribute the clusters and audit quotations, as `settings` says. Pairs
/// are oriented and numbered as in [`scan`], so the report has the same
/// shape.
pub fn scan_pairs(
    documents: Vec<Document>,
    pairs: &[(usize, usize)],
    settings: &Settings,
    keep: &(dyn Fn(u64) -> bool + Sync),
) -> Result<Report> {
    settings.check()?;
    let docs: Vec<ShingledDoc> = documents
        .par_iter()
        .map(|d| {
            let mut s = ShingledDoc::new(&d.text, settings.ngram);
            s.set_seeds(keep);
            s
        })
        .collect();
    scan_shingled_pairs(documents, docs, pairs, settings)
}

/// [`scan_pairs`] for documents already shingled, with their seeds set
/// (`docs[i]` is `documents[i]` shingled with `settings.ngram`).
pub fn scan_shingled_pairs(
    documents: Vec<Document>,
    docs: Vec<ShingledDoc>,
    pairs: &[(usize, usize)],
    settings: &Settings,
) -> Result<Report> {
    settings.check()?;
    if docs.len() != documents.len() {
        return Err(Error::Settings(
            "one shingled document per document is needed".to_string(),
        ));
    }
    let mut stats = ScanStats {
        tokens: docs.iter().map(|d| d.tokens.len()).sum(),
        max_df: usize::MAX,
        ..ScanStats::default()
    };
    let n = documents.len();
    let pairs = orient_pairs(
        &documents,
        pairs.iter().copied().filter(|&(x, y)| x < n && y < n),
    );
    stats.candidate_pairs = pairs.len();
    let mut passages = align_pairs(&documents, &docs, &pairs, settings, &Silent);
    let clusters = cluster_and_attribute(&documents, &mut passages, settings);
    let quotes = if settings.quotes {
        audit_quotes(&documents)
    } else {
        Vec::new()
    };
    Ok(Report {
        documents,
        skipped: Vec::new(),
        warnings: Vec::new(),
        passages,
        clusters,
        quotes,
        stats,
    })
}

/// Candidate pairs without self-pairs or repeats, each oriented so the
/// document whose id sorts first comes first, sorted.
fn orient_pairs(
    documents: &[Document],
    pairs: impl Iterator<Item = (usize, usize)>,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = pairs
        .filter(|&(x, y)| x != y)
        .map(|(x, y)| {
            if documents[x].id <= documents[y].id {
                (x, y)
            } else {
                (y, x)
            }
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Align every pair (in parallel) into passages numbered in report order.
fn align_pairs(
    documents: &[Document],
    docs: &[ShingledDoc],
    pairs: &[(usize, usize)],
    settings: &Settings,
    progress: &dyn Progress,
) -> Vec<Passage> {
    let found: Vec<(usize, usize, Alignment)> = pairs
        .par_iter()
        .inspect(|_| progress.advance(1))
        .flat_map_iter(|&(x, y)| {
            align_pair(
                &documents[x].text,
                &docs[x],
                &documents[y].text,
                &docs[y],
                &settings.align,
            )
            .into_iter()
            .map(move |al| (x, y, al))
        })
        .collect();
    let mut passages: Vec<Passage> = found
        .into_iter()
        .map(|(x, y, al)| to_passage(x, &docs[x], y, &docs[y], &al))
        .collect();
    passages.sort_by_key(|p| (p.a.doc, p.b.doc, p.a.start, p.b.start));
    for (i, p) in passages.iter_mut().enumerate() {
        p.id = i;
    }
    passages
}

/// Cluster the passages and, if asked, run the provenance pass on each cluster.
fn cluster_and_attribute(
    documents: &[Document],
    passages: &mut [Passage],
    settings: &Settings,
) -> Vec<Cluster> {
    let mut clusters = cluster_passages(passages);
    if settings.provenance {
        let passages: &[Passage] = passages;
        clusters
            .par_iter_mut()
            .for_each(|c| c.provenance = Some(attribute(c, passages, documents)));
    }
    clusters
}

/// Prints stage timings to stderr when `WIRETRACE_TIMINGS` is set.
pub(crate) struct Stopwatch {
    on: bool,
    last: std::time::Instant,
}

impl Stopwatch {
    pub(crate) fn new() -> Self {
        Stopwatch {
            on: std::env::var_os("WIRETRACE_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    pub(crate) fn lap(&mut self, stage: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "wiretrace: {stage}: {:.1} ms",
                (now - self.last).as_secs_f64() * 1000.0
            );
            self.last = now;
        }
    }
}

fn same_outlet(a: &Document, b: &Document) -> bool {
    matches!((&a.outlet, &b.outlet), (Some(x), Some(y)) if x == y)
}

/// A key for a document's outlet (0 when unknown).
pub(crate) fn outlet_key(d: &Document) -> u64 {
    match &d.outlet {
        Some(o) if !o.trim().is_empty() => {
            mix64(xxhash_rust::xxh3::xxh3_64(
                o.trim().to_lowercase().as_bytes(),
            )) | 1
        }
        _ => 0,
    }
}

/// Keys of the outlets with at least `min` documents (never 0, unknown).
fn outlets_with_at_least(keys: &[u64], min: usize) -> std::collections::BTreeSet<u64> {
    let mut per_outlet: std::collections::BTreeMap<u64, usize> = Default::default();
    for &k in keys.iter().filter(|&&k| k != 0) {
        *per_outlet.entry(k).or_default() += 1;
    }
    per_outlet
        .into_iter()
        .filter(|&(_, n)| n >= min)
        .map(|(k, _)| k)
        .collect()
}

/// Window signatures → band keys → candidate pairs. Returns the pairs,
/// the number of windows and the number of oversized buckets.
fn lsh_candidates(
    docs: &[ShingledDoc],
    s: &Settings,
    progress: &dyn Progress,
) -> (Vec<(u32, u32)>, usize, usize) {
    let per_doc: Vec<(Vec<(u64, u32)>, usize)> = docs
        .par_iter()
        .enumerate()
        .map(|(i, d)| {
            let kept: Vec<u64> = {
                let mut by_pos: Vec<(u32, u64)> = d.seeds.iter().map(|&(h, p)| (p, h)).collect();
                by_pos.sort_unstable();
                by_pos.into_iter().map(|(_, h)| h).collect()
            };
            let mut entries = Vec::new();
            let mut sig = Vec::with_capacity(s.banding.len());
            let mut keys = Vec::with_capacity(s.banding.bands);
            let mut windows = 0;
            for (start, end) in windows_of(kept.len(), s.window) {
                if signature(kept[start..end].iter().copied(), s.banding.len(), &mut sig) {
                    keys.clear();
                    s.banding.keys(&sig, &mut keys);
                    entries.extend(keys.iter().map(|&k| (k, i as u32)));
                    windows += 1;
                }
            }
            progress.advance(1);
            (entries, windows)
        })
        .collect();
    let windows = per_doc.iter().map(|x| x.1).sum();
    let entries: Vec<(u64, u32)> = per_doc.into_iter().flat_map(|x| x.0).collect();
    let (pairs, bstats) = candidate_pairs(entries, s.max_bucket);
    (pairs, windows, bstats.oversized_buckets)
}

/// Windows of `w` items overlapping by half over `0..n`; the last window
/// ends at `n`. One window when `n <= w`, none when `n == 0`.
fn windows_of(n: usize, w: usize) -> impl Iterator<Item = (usize, usize)> {
    let stride = (w / 2).max(1);
    let last = n.saturating_sub(w);
    let count = if n == 0 {
        0
    } else if n <= w {
        1
    } else {
        last.div_ceil(stride) + 1
    };
    (0..count).map(move |k| {
        let start = (k * stride).min(last);
        (start, (start + w).min(n))
    })
}

/// Pairs of documents whose normalized token sequences are identical: each
/// duplicate is paired with the first of its group.
fn exact_duplicate_pairs(docs: &[ShingledDoc]) -> Vec<(u32, u32)> {
    let mut fp: Vec<(u64, usize, u32)> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.tokens.is_empty())
        .map(|(i, d)| (d.fingerprint, d.tokens.len(), i as u32))
        .collect();
    fp.sort_unstable();
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..fp.len() {
        if (fp[i].0, fp[i].1) == (fp[first].0, fp[first].1) {
            out.push((fp[first].2, fp[i].2));
        } else {
            first = i;
        }
    }
    out
}

fn to_passage(x: usize, dx: &ShingledDoc, y: usize, dy: &ShingledDoc, al: &Alignment) -> Passage {
    let span = |d: &ShingledDoc, doc: usize, (s, e): (usize, usize)| Witness {
        doc,
        start: d.tokens[s].start as usize,
        end: d.tokens[e - 1].end as usize,
    };
    Passage {
        id: 0,
        cluster: 0,
        similarity: (al.similarity * 1000.0).round() / 1000.0,
        tokens: al.matched,
        a: span(dx, x, al.a),
        b: span(dy, y, al.b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_everything() {
        assert_eq!(windows_of(0, 32).count(), 0);
        assert_eq!(windows_of(10, 32).collect::<Vec<_>>(), vec![(0, 10)]);
        assert_eq!(windows_of(32, 32).collect::<Vec<_>>(), vec![(0, 32)]);
        assert_eq!(
            windows_of(40, 32).collect::<Vec<_>>(),
            vec![(0, 32), (8, 40)]
        );
        assert_eq!(
            windows_of(64, 32).collect::<Vec<_>>(),
            vec![(0, 32), (16, 48), (32, 64)]
        );
    }
}
