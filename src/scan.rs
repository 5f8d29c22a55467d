//! The end-to-end scan: corpus in, report out. Each step calls one stage.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::align::{AlignParams, Alignment, Passage, Witness, align_pair};
use crate::cluster::{Cluster, cluster_passages};
use crate::corpus::{Corpus, Document, Skipped};
use crate::error::{Error, Result};
use crate::lsh::{
    Banding, Entries, append_pieces, candidate_pairs_packed, owner_bits_for, pack_entry,
};
use crate::minhash::{MAX_PERM, signature};
use crate::provenance::attribute_by;
use crate::quotes::{QuoteGroup, audit_quotes};
use crate::shingle::{DF_BITS, DfAtLeast, DfSketch, ShingledDoc, Sketch, mix64};

/// The share of documents (one in this many) from which a shingle is too
/// common to seed a passage: in the corpus ([`Settings::max_df_for`], at
/// least 50 documents) and in one outlet ([`Settings::outlet_df_for`], at
/// least `Settings::max_outlet_df`). Stock phrases recur in proportion to
/// the corpus, so a fixed count would keep them as seeds in a large corpus
/// (candidate pairs then grow with its square) and would take out more and
/// more of a reused story's own text within a large outlet.
pub const DF_SHARE: usize = 1000;

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
    /// and one document in [`DF_SHARE`] (0.1%): a wire story reprinted by
    /// more outlets than that is only found through exact duplicates; raise
    /// it for such corpora.
    pub max_df: Option<usize>,
    /// Shingles found in at least this many documents *of one outlet*, and
    /// in at least one in [`DF_SHARE`] of them, are that outlet's
    /// boilerplate (site chrome, "Reader Comments", sign-up boxes) and do
    /// not seed passages in its documents. Wire copy is reprinted by many
    /// outlets, so it is not caught; an outlet re-issuing the same story
    /// this often is. `None` turns the rule off.
    pub max_outlet_df: Option<usize>,
    /// A band bucket shared by more documents than this is skipped.
    pub max_bucket: usize,
    /// Two documents that share one band bucket and no other are compared
    /// only when that bucket holds at most this many documents; sharing two
    /// buckets (of up to `max_bucket`) always makes them a candidate pair.
    /// Windows of stock phrases meet many others in one large bucket, one
    /// band at a time; reused text shares several bands, or a small bucket.
    /// `usize::MAX` compares every pair that shares a bucket.
    pub single_bucket_max: usize,
    /// Only compare documents whose outlets differ (documents of unknown
    /// outlet are always compared).
    pub cross_outlet_only: bool,
    /// Run the provenance pass on each cluster.
    pub provenance: bool,
    /// About how many bytes of shingled documents (tokens, shingle
    /// hashes, seeds: counted as 8 bytes per byte of text, some 5 to 6 in
    /// fact) a scan may hold at once. A corpus within it is shingled once
    /// and held through every stage; a larger one is shingled in parts,
    /// again for each stage that needs it, which costs time and saves
    /// memory. The report is the same either way.
    pub shingle_memory: usize,
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
            single_bucket_max: 8,
            cross_outlet_only: false,
            provenance: true,
            quotes: true,
            shingle_memory: 1 << 30,
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
        self.max_df.unwrap_or_else(|| 50.max(n / DF_SHARE))
    }

    /// The outlet rule's cut-off for an outlet of `docs` documents: a
    /// shingle in at least this many of them is the outlet's boilerplate.
    /// `None` when the rule is off.
    pub fn outlet_df_for(&self, docs: usize) -> Option<usize> {
        self.max_outlet_df.map(|m| m.max(docs.div_ceil(DF_SHARE)))
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
    let n = documents.len();
    // Documents are shingled in parts of at most `shingle_memory` bytes
    // (estimated). When the whole corpus fits in one part its shingled
    // documents are kept from stage to stage; otherwise each stage
    // shingles each part again and lets it go.
    let parts = parts_within(&documents, settings.shingle_memory);
    let hold = parts.len() <= 1;

    // Tokenize and shingle, counting document frequencies as we go.
    let max_df = settings.max_df_for(n);
    stats.max_df = max_df;
    let outlet_keys: Vec<u64> = documents.iter().map(outlet_key).collect();
    let need_df = n > max_df;
    let outlets = Some(outlet_cutoffs(&outlet_keys, settings)).filter(|o| !o.is_empty());
    // One outlet holding every document (a newsroom's own archive): its
    // counts are the corpus-wide counts, so the corpus sketch answers for
    // the outlet rule too and no outlet sketch is built.
    let corpus_outlet_cutoff = outlets
        .as_ref()
        .filter(|o| need_df && o.len() == 1)
        .and_then(|o| o.get(outlet_keys.first()?).copied())
        .filter(|_| outlet_keys.windows(2).all(|w| w[0] == w[1]));
    let outlets = outlets.filter(|_| corpus_outlet_cutoff.is_none());
    let (largest_df, largest_outlet) = largest_cutoffs(
        global_cutoff(max_df, corpus_outlet_cutoff),
        outlets.as_ref(),
    );
    let mut df = need_df.then(|| Sketch::new(DF_BITS, largest_df));
    // The outlet sketch counts every document of an outlet under the rule
    // once per distinct shingle: about one increment per token, some six
    // bytes of text. It is sized for that many, so that its counts stay
    // well under the cut-offs however large the corpus.
    let mut outlet_df = outlets.as_ref().map(|o| {
        let bytes: u64 = documents
            .iter()
            .zip(&outlet_keys)
            .filter(|(_, k)| o.contains_key(k))
            .map(|(d, _)| d.text_len() as u64)
            .sum();
        (
            Sketch::new(DfSketch::bits_for(bytes / 6), largest_outlet),
            o,
        )
    });
    let mut held: Vec<ShingledDoc> = Vec::new();
    // Texts read back for the held documents (those moved out of memory).
    let mut held_texts: Vec<Option<String>> = Vec::new();
    // (fingerprint, tokens) of each document, for exact duplicates.
    let mut fingerprints: Vec<(u64, usize)> = Vec::with_capacity(n);
    let (mut tokenize_time, mut df_time) = (Duration::ZERO, Duration::ZERO);
    progress.start("tokenize", n as u64);
    let counting = need_df || outlets.is_some();
    for part in &parts {
        let t0 = Instant::now();
        // Held whole: shingled once and kept. In parts: each document is
        // shingled, counted and let go at once.
        let (docs, texts) = if hold {
            shingle_part(&documents, part.clone(), settings, progress, true)?
        } else {
            (Vec::new(), Vec::new())
        };
        // A held corpus's distinct shingles are made for counting a few
        // documents at a time, below; in parts, with each document.
        let counted: Vec<Counted> = if hold {
            docs.par_iter()
                .map(|d| Counted {
                    fingerprint: d.fingerprint,
                    tokens: d.tokens.len(),
                    distinct: Vec::new(),
                })
                .collect()
        } else {
            documents[part.clone()]
                .par_iter()
                .map(|d| {
                    Ok(Counted::new(
                        shingle_one(d, settings.ngram, false)?.0,
                        counting,
                    ))
                })
                .inspect(|_| progress.advance(1))
                .collect::<Result<_>>()?
        };
        stats.tokens += counted.iter().map(|c| c.tokens).sum::<usize>();
        fingerprints.extend(counted.iter().map(|c| (c.fingerprint, c.tokens)));
        let distinct: Vec<Vec<u64>> = counted.into_iter().map(|c| c.distinct).collect();
        let t1 = Instant::now();
        tokenize_time += t1 - t0;
        if counting {
            let odf = outlet_df.as_mut().map(|(odf, o)| (odf, &**o));
            let keys = &outlet_keys[part.clone()];
            if hold {
                // Counting does not depend on how the documents are cut
                // (`add_documents`), so their distinct shingles need not
                // all exist at once (on Reuters, 27 MB of fresh memory).
                count_held(&docs, keys, df.as_mut(), odf, DISTINCT_CHUNK);
            } else {
                count_distinct(&distinct, keys, df.as_mut(), odf);
            }
        }
        df_time += t1.elapsed();
        if hold {
            held = docs;
            held_texts = texts;
        }
    }
    progress.finish();
    give_back_memory();
    clock.record("tokenize+shingle", tokenize_time);
    clock.record("document frequency", df_time);
    let seeds = Seeder::new(
        df.as_ref(),
        outlet_df.as_ref().map(|(odf, o)| (odf, *o)),
        corpus_outlet_cutoff,
        max_df,
        &outlet_keys,
    );
    if hold {
        held.par_iter_mut()
            .enumerate()
            .for_each(|(i, d)| seeds.set(d, i));
        clock.lap("document frequency: seeds");
    }

    // Candidate pairs: windowed MinHash + banded LSH, plus exact duplicates.
    let (stage, mut parts_clock) = (Instant::now(), Stopwatch::new());
    progress.start("signatures", n as u64);
    // In parts, each document is shingled again, signed and let go; which
    // of its shingles are too common to seed is marked as it goes.
    let marks = (!hold).then(|| CommonMarks::new(&fingerprints));
    let owner_bits = owner_bits_for(n);
    let mut windows = 0;
    let entries = if let Some(marks) = &marks {
        let each = |d: usize, f: &mut dyn FnMut(&ShingledDoc)| {
            let (mut s, _) = shingle_one(&documents[d], settings.ngram, false)?;
            seeds.set(&mut s, d);
            marks.record(d, &s);
            f(&s);
            Ok(())
        };
        // In parts, each part's entries are gathered into one vector
        // before the next part is signed.
        let mut entries: Vec<u64> = Vec::new();
        for part in &parts {
            let (pieces, signed) =
                window_entries(part.clone(), &each, settings, owner_bits, progress)?;
            append_pieces(&mut entries, pieces);
            windows += signed;
        }
        Entries::Whole(entries)
    } else {
        let each = |d: usize, f: &mut dyn FnMut(&ShingledDoc)| {
            f(&held[d]);
            Ok(())
        };
        let (pieces, signed) = window_entries(0..n, &each, settings, owner_bits, progress)?;
        windows += signed;
        Entries::Pieces(pieces)
    };
    progress.finish();
    parts_clock.lap("signatures+LSH: window signatures");
    // The sketches are not looked at again (alignment reads the marks):
    // at a million documents the outlet sketch alone is 256 MB.
    drop(df);
    drop(outlet_df);
    let (mut pairs, bstats) = candidate_pairs_packed(
        entries,
        owner_bits,
        settings.max_bucket,
        settings.single_bucket_max,
    );
    parts_clock.lap("signatures+LSH: buckets, candidate pairs");
    stats.windows = windows;
    stats.oversized_buckets = bstats.oversized_buckets;
    pairs.extend(exact_duplicate_pairs(&fingerprints));
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
    give_back_memory();
    clock.record("signatures+LSH", stage.elapsed());

    // Align every candidate pair.
    progress.start("align", pairs.len() as u64);
    // Marks were made exactly when the documents are not held.
    let mut passages = match &marks {
        None => {
            let texts = Texts {
                documents: &documents,
                loaded: &held_texts,
            };
            align_pairs(&|d| (&held[d], texts.get(d)), &pairs, settings, progress)
        }
        Some(marks) => align_in_blocks(&documents, &pairs, settings, marks, progress)?,
    };
    // Freed by all threads: a shingled document is several vectors, and
    // one thread freeing them all took 7 ms on Reuters.
    held.into_par_iter().for_each(drop);
    held_texts.into_par_iter().for_each(drop);
    // What finding and aligning pairs needed goes before the later stages
    // (at a million documents: the pairs, some 80 MB, and the marks).
    drop(pairs);
    drop(marks);
    drop(fingerprints);
    number_passages(&mut passages);
    progress.finish();
    give_back_memory();
    clock.lap("align");
    // The quote audit needs only the documents. It runs before the
    // clusters are attributed, so that its working memory (at a million
    // documents some 800 MB at its peak) does not come on top of their
    // provenance (some 460 MB), which the report holds to the end.
    let quotes = quotes_if_asked(&documents, settings)?;
    give_back_memory();
    clock.lap("quotes");
    // Cluster, then attribute.
    let clusters = cluster_and_attribute(&documents, &mut passages, settings)?;
    give_back_memory();
    clock.lap("cluster+provenance");
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

/// The quote audit of a corpus alone, as a [`Report`] without passages
/// or clusters: what `wiretrace quotes` prints. Its quotes are the ones a
/// [`scan`] of the corpus finds (the same [`audit_quotes`] over the same
/// documents); no other stage runs, so the stats are all zero.
pub fn quote_report(corpus: Corpus) -> Result<Report> {
    let Corpus {
        documents,
        skipped,
        warnings,
    } = corpus;
    let quotes = audit_quotes(&documents)?;
    Ok(Report {
        documents,
        skipped,
        warnings,
        passages: Vec::new(),
        clusters: Vec::new(),
        quotes,
        stats: ScanStats::default(),
    })
}

/// The band keys of one document's windows, as [`scan`] computes them:
/// the document's seeds in token order, cut into half-overlapping windows
/// of `settings.window` shingles, each signed with MinHash and banded by
/// `settings.banding`. Keys are sorted and deduplicated. Used by the
/// persistent index, which stores these keys per document.
pub fn window_band_keys(doc: &ShingledDoc, settings: &Settings) -> Vec<u64> {
    let mut out = Vec::new();
    for_each_window(doc, settings, |keys| out.extend_from_slice(keys));
    out.sort_unstable();
    out.dedup();
    out
}

/// Sign each window of `doc`'s seeds (in token order, half-overlapping
/// windows of `settings.window`) and give `f` the window's band keys.
/// Returns the number of windows signed.
fn for_each_window(doc: &ShingledDoc, settings: &Settings, mut f: impl FnMut(&[u64])) -> usize {
    let kept: Vec<u64> = doc.seed_hashes().collect();
    let mut sig = Vec::with_capacity(settings.banding.len());
    let mut keys = Vec::with_capacity(settings.banding.bands);
    let mut windows = 0;
    for (start, end) in windows_of(kept.len(), settings.window) {
        if signature(
            kept[start..end].iter().copied(),
            settings.banding.len(),
            &mut sig,
        ) {
            keys.clear();
            settings.banding.keys(&sig, &mut keys);
            f(&keys);
            windows += 1;
        }
    }
    windows
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
    let docs = documents
        .par_iter()
        .map(|d| {
            let mut s = ShingledDoc::new(&d.load_text()?, settings.ngram);
            s.set_seeds(keep);
            Ok(s)
        })
        .collect::<Result<Vec<ShingledDoc>>>()?;
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
    let loaded = documents
        .par_iter()
        .map(|d| {
            Ok(d.is_spilled()
                .then(|| d.load_text())
                .transpose()?
                .map(Cow::into_owned))
        })
        .collect::<Result<Vec<Option<String>>>>()?;
    let texts = Texts {
        documents: &documents,
        loaded: &loaded,
    };
    let mut passages = align_pairs(&|d| (&docs[d], texts.get(d)), &pairs, settings, &Silent);
    drop(loaded);
    number_passages(&mut passages);
    let quotes = quotes_if_asked(&documents, settings)?;
    let clusters = cluster_and_attribute(&documents, &mut passages, settings)?;
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

/// The quote audit of `documents` when `settings` asks for it.
fn quotes_if_asked(documents: &[Document], settings: &Settings) -> Result<Vec<QuoteGroup>> {
    if settings.quotes {
        audit_quotes(documents)
    } else {
        Ok(Vec::new())
    }
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

/// The texts of documents for a stage: held in the document, or read back
/// (`loaded[i]`, when document `i`'s text was moved out of memory).
struct Texts<'a> {
    documents: &'a [Document],
    loaded: &'a [Option<String>],
}

impl<'a> Texts<'a> {
    fn get(&self, d: usize) -> &'a str {
        text_or(self.loaded.get(d), &self.documents[d])
    }
}

/// The text read back for `doc` (`loaded`, when it was moved out of
/// memory), or the text it holds.
fn text_or<'a>(loaded: Option<&'a Option<String>>, doc: &'a Document) -> &'a str {
    match loaded {
        Some(Some(t)) => t,
        _ => &doc.text,
    }
}

/// Align every pair (in parallel) into passages, `shingled(d)` giving
/// document `d` shingled with its seeds set, and its text.
fn align_pairs<'a>(
    shingled: &(dyn Fn(usize) -> (&'a ShingledDoc, &'a str) + Sync),
    pairs: &[(usize, usize)],
    settings: &Settings,
    progress: &dyn Progress,
) -> Vec<Passage> {
    pairs
        .par_iter()
        .inspect(|_| progress.advance(1))
        .flat_map_iter(|&(x, y)| {
            let ((dx, tx), (dy, ty)) = (shingled(x), shingled(y));
            align_pair(tx, dx, ty, dy, &settings.align)
                .into_iter()
                .map(move |al| to_passage(x, dx, y, dy, &al))
        })
        .collect()
}

/// [`align_pairs`] for a corpus whose shingled documents are not held (a
/// block nested-loop join): the documents in a pair, in [`pair_order`],
/// are cut into groups of three quarters of `settings.shingle_memory`;
/// each group is shingled and held while the documents of later groups
/// its documents pair with are shingled a quarter of the budget at a time,
/// aligned against it and let go. The passages are those of
/// [`align_pairs`], in another order.
fn align_in_blocks(
    documents: &[Document],
    pairs: &[(usize, usize)],
    settings: &Settings,
    marks: &CommonMarks,
    progress: &dyn Progress,
) -> Result<Vec<Passage>> {
    // Groups and pieces are cut from the paired documents only, in
    // `pair_order`, not from all documents in corpus order: the reprints
    // of a story, scattered over the corpus, then fall in one group, where
    // their pairs are aligned without shingling a document twice. (In
    // corpus order nearly every group paired with every later piece, and
    // the documents of later groups were shingled again for each.)
    let walk = pair_order(documents.len(), pairs);
    let number = |budget: usize| {
        let mut of = vec![u32::MAX; documents.len()];
        let sizes = walk.iter().map(|&d| shingled_size(&documents[d]));
        for (g, range) in cut_within(sizes, budget).into_iter().enumerate() {
            for &d in &walk[range] {
                of[d] = g as u32;
            }
        }
        of
    };
    let group_of = number(settings.shingle_memory / 4 * 3);
    let piece_of = number(settings.shingle_memory / 4);
    drop(walk);
    // Pairs by (lower group, piece of the document in the other group, or
    // 0 when both are in the lower group).
    let mut order: Vec<(u32, u32, usize)> = pairs
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let (lo, other) = if group_of[x] <= group_of[y] {
                (x, y)
            } else {
                (y, x)
            };
            let g = group_of[lo];
            let piece = if group_of[other] == g {
                0
            } else {
                piece_of[other] + 1
            };
            (g, piece, i)
        })
        .collect();
    order.sort_unstable();
    let shingle =
        |need: &[usize]| shingle_seeded(documents, need.par_iter().copied(), settings, marks, true);
    // Documents of `block`'s pairs in group `g` (or not in it), sorted,
    // without repeats.
    let members = |block: &[(u32, u32, usize)], g: u32, inside: bool| -> Vec<usize> {
        let mut v: Vec<usize> = block
            .iter()
            .flat_map(|&(_, _, i)| [pairs[i].0, pairs[i].1])
            .filter(|&d| (group_of[d] == g) == inside)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut passages = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let lo = order[i].0;
        let end = i + order[i..].partition_point(|o| o.0 == lo);
        let held_docs = members(&order[i..end], lo, true);
        let (held, held_texts) = shingle(&held_docs)?;
        while i < end {
            let piece = order[i].1;
            let next = i + order[i..end].partition_point(|o| o.1 == piece);
            let block = &order[i..next];
            let (other_docs, (other, other_texts)) = if piece == 0 {
                (Vec::new(), (Vec::new(), Vec::new()))
            } else {
                let docs = members(block, lo, false);
                let shingled = shingle(&docs)?;
                (docs, shingled)
            };
            let find = |d: usize| -> (&ShingledDoc, &str) {
                let (ids, docs, texts) = if group_of[d] == lo {
                    (&held_docs, &held, &held_texts)
                } else {
                    (&other_docs, &other, &other_texts)
                };
                // Every document of the block's pairs is in one of the two.
                let at = ids.binary_search(&d).unwrap_or_default();
                (&docs[at], text_or(texts.get(at), &documents[d]))
            };
            let block_pairs: Vec<(usize, usize)> =
                block.iter().map(|&(_, _, p)| pairs[p]).collect();
            passages.extend(align_pairs(&find, &block_pairs, settings, progress));
            i = next;
        }
    }
    Ok(passages)
}

/// Sort passages into report order, (a.doc, b.doc, a.start, b.start), and
/// number them.
fn number_passages(passages: &mut [Passage]) {
    passages.sort_by_key(|p| (p.a.doc, p.b.doc, p.a.start, p.b.start));
    for (i, p) in passages.iter_mut().enumerate() {
        p.id = i;
    }
}

/// Cluster the passages and, if asked, run the provenance pass on each
/// cluster (with the texts of its documents read back, for those moved out
/// of memory).
fn cluster_and_attribute(
    documents: &[Document],
    passages: &mut [Passage],
    settings: &Settings,
) -> Result<Vec<Cluster>> {
    let mut clusters = cluster_passages(passages);
    if settings.provenance {
        let passages: &[Passage] = passages;
        clusters.par_iter_mut().try_for_each(|c| -> Result<()> {
            let mut loaded: Vec<(usize, Document)> = Vec::new();
            for &d in &c.docs {
                if let Some(doc) = documents.get(d).filter(|doc| doc.is_spilled()) {
                    let mut copy = doc.clone();
                    copy.text = doc.load_text()?.into_owned();
                    loaded.push((d, copy));
                }
            }
            loaded.sort_unstable_by_key(|x| x.0);
            let find = |d: usize| match loaded.binary_search_by_key(&d, |x| x.0) {
                Ok(at) => Some(&loaded[at].1),
                Err(_) => documents.get(d),
            };
            c.provenance = Some(attribute_by(c, passages, &find));
            Ok(())
        })?;
    }
    Ok(clusters)
}

/// Hand the heap's free pages back to the system, at the end of a stage
/// that let go of much memory. The allocator keeps memory freed by one
/// stage for later use, but in a heap of a million small metadata strings
/// interleaved with large freed buffers it would keep nearly all of it, so
/// resident memory would only ever grow, stage after stage. Only on Linux
/// with glibc, whose `malloc_trim` does this; elsewhere nothing.
pub(crate) fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: `malloc_trim` only releases memory the allocator holds
        // free; it takes no pointers and is safe to call at any time.
        unsafe {
            malloc_trim(0);
        }
    }
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
        let now = Instant::now();
        self.record(stage, now - self.last);
        self.last = now;
    }

    /// Report `took` for `stage` (time measured by the caller) and restart
    /// the lap.
    pub(crate) fn record(&mut self, stage: &str, took: Duration) {
        if self.on {
            eprintln!(
                "wiretrace: {stage}: {:.1} ms{}",
                took.as_secs_f64() * 1000.0,
                memory_now()
            );
        }
        self.last = Instant::now();
    }
}

/// ", RSS x MB, peak y MB" from `/proc/self/status` (empty elsewhere).
fn memory_now() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb / 1024)
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(peak)) => format!(", RSS {rss} MB, peak {peak} MB"),
        _ => String::new(),
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

/// The outlet rule's cut-off ([`Settings::outlet_df_for`]) of each outlet
/// (by key, never 0: unknown) that has at least that many documents, so
/// that the rule can apply to it. Empty when the rule is off.
fn outlet_cutoffs(keys: &[u64], settings: &Settings) -> OutletCutoffs {
    let mut per_outlet = OutletCutoffs::new();
    for &k in keys.iter().filter(|&&k| k != 0) {
        *per_outlet.entry(k).or_default() += 1;
    }
    per_outlet
        .into_iter()
        .filter_map(|(k, n)| {
            settings
                .outlet_df_for(n)
                .filter(|&m| n >= m)
                .map(|m| (k, m))
        })
        .collect()
}

/// The count at which the corpus-wide rule finds a shingle common: more
/// than `max_df`, or (one outlet holding every document) its cut-off.
fn global_cutoff(max_df: usize, corpus_outlet_cutoff: Option<usize>) -> usize {
    max_df
        .saturating_add(1)
        .min(corpus_outlet_cutoff.unwrap_or(usize::MAX))
}

/// The largest counts the corpus sketch and the outlet sketch are compared
/// with (by [`Seeder`]), which decide how wide their counters must be
/// ([`Sketch::new`]): the corpus sketch answers for the corpus-wide
/// cut-off `global` and, under the outlet rule, for every outlet's
/// cut-off too; the outlet sketch, for the outlets' cut-offs.
fn largest_cutoffs(global: usize, outlets: Option<&OutletCutoffs>) -> (usize, usize) {
    let outlet = outlets.and_then(|o| o.values().copied().max()).unwrap_or(0);
    (global.max(outlet), outlet)
}

/// Outlet key → the outlet rule's cut-off for it.
type OutletCutoffs = std::collections::BTreeMap<u64, usize>;

/// A document by number, shingled with its seeds set, handed to a
/// callback (held, or shingled for the call and let go).
type EachShingled<'a> = dyn Fn(usize, &mut dyn FnMut(&ShingledDoc)) -> Result<()> + Sync + 'a;

/// Sign the windows of documents `range` (given by `each`): each
/// document's band keys, packed with its number by [`pack_entry`], in
/// document order; and the number of windows signed.
fn window_entries(
    range: Range<usize>,
    each: &EachShingled,
    s: &Settings,
    owner_bits: u32,
    progress: &dyn Progress,
) -> Result<(Vec<Vec<u64>>, usize)> {
    let per_doc = range
        .into_par_iter()
        .map(|d| {
            let owner = d as u32;
            let mut out = Vec::new();
            let mut windows = 0;
            each(d, &mut |doc| {
                // Room for every window's keys at once (a vector grown by
                // doubling leaves its outgrown copies, fresh pages each).
                out.reserve_exact(windows_of(doc.seeds.len(), s.window).count() * s.banding.bands);
                windows = for_each_window(doc, s, |keys| {
                    out.extend(keys.iter().map(|&k| pack_entry(k, owner, owner_bits)))
                });
            })?;
            progress.advance(1);
            Ok((out, windows))
        })
        .collect::<Result<Vec<(Vec<u64>, usize)>>>()?;
    let (pieces, windows): (Vec<Vec<u64>>, Vec<usize>) = per_doc.into_iter().unzip();
    Ok((pieces, windows.iter().sum()))
}

/// Decides which shingles seed alignment: not those in more than `max_df`
/// documents of the corpus, nor (when the outlet rule is on) those in at
/// least the outlet's cut-off of its documents.
struct Seeder<'a> {
    /// Shingles the corpus-wide rule finds common: counted more than
    /// `max_df` times, or (one outlet holding every document) at least the
    /// outlet rule's cut-off.
    common: Option<DfAtLeast>,
    /// The outlet rule, when it is on.
    outlet: Option<OutletRule<'a>>,
    /// Each document's outlet key.
    outlet_keys: &'a [u64],
}

/// The outlet rule of a [`Seeder`]: a shingle is common to an outlet
/// when both the outlet sketch (its hash keyed by the outlet) and the
/// corpus sketch count it at least the outlet's cut-off. Cut-offs differ
/// from outlet to outlet, so the one-bit tables are made for the smallest:
/// a shingle below it in either sketch is common to no outlet, and only
/// the few that reach it are looked up in the sketches.
struct OutletRule<'a> {
    /// The outlet sketch.
    odf: &'a Sketch,
    /// Each outlet's cut-off (outlets under the rule only).
    cutoffs: &'a OutletCutoffs,
    /// The corpus sketch, when the corpus needs one.
    df: Option<&'a Sketch>,
    /// The outlet sketch's counts reaching the smallest cut-off.
    odf_reaches: DfAtLeast,
    /// The corpus sketch's counts reaching the smallest cut-off.
    df_reaches: Option<DfAtLeast>,
}

impl<'a> Seeder<'a> {
    /// A seeder for the corpus sketch `df` (if the corpus needs one), the
    /// outlet sketch with its cut-offs, the corpus-wide cut-off of an
    /// outlet holding every document, and `max_df`.
    fn new(
        df: Option<&'a Sketch>,
        outlet_df: Option<(&'a Sketch, &'a OutletCutoffs)>,
        corpus_outlet_cutoff: Option<usize>,
        max_df: usize,
        outlet_keys: &'a [u64],
    ) -> Self {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let global = count(global_cutoff(max_df, corpus_outlet_cutoff));
        let outlet = outlet_df.map(|(odf, cutoffs)| {
            let least = count(cutoffs.values().copied().min().unwrap_or(usize::MAX));
            OutletRule {
                odf,
                cutoffs,
                df,
                odf_reaches: odf.at_least(least),
                df_reaches: df.map(|df| df.at_least(least)),
            }
        });
        Seeder {
            common: df.map(|df| df.at_least(global)),
            outlet,
            outlet_keys,
        }
    }

    /// Set the seeds of `d`, which is document number `doc`.
    fn set(&self, d: &mut ShingledDoc, doc: usize) {
        let ok = self.outlet_keys[doc];
        // The outlet rule and this document's outlet's cut-off, when the
        // rule applies to it.
        let outlet = self
            .outlet
            .as_ref()
            .and_then(|rule| Some((rule, *rule.cutoffs.get(&ok)?)));
        // An outlet count above the corpus-wide count is a collision in
        // the outlet sketch (likely in large corpora), so both must reach
        // the outlet threshold, as in the persistent index.
        let common = |h: u64| {
            self.common.as_ref().is_some_and(|c| c.holds(h))
                || outlet.is_some_and(|(rule, m)| {
                    rule.odf_reaches.holds(h ^ ok)
                        && rule.df_reaches.as_ref().is_none_or(|r| r.holds(h))
                        && rule.odf.get(h ^ ok) as usize >= m
                        && rule.df.is_none_or(|df| df.get(h) as usize >= m)
                })
        };
        // The bits of the shingle `AHEAD` places on are fetched while this
        // one is looked up.
        const AHEAD: usize = 16;
        let prefetch = |h: u64| {
            if let Some(c) = &self.common {
                c.prefetch(h);
            }
            if let Some((rule, _)) = outlet {
                rule.odf_reaches.prefetch(h ^ ok);
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
    }
}

/// Which shingles of each document are too common to seed, one bit per
/// shingle position, marked when the document is signed (in parts, as
/// [`Seeder::set`] finds them in the sketches) and read when it is
/// shingled again for alignment, so the sketches are not looked up twice
/// (the lookups, random reads in tables of up to 256 MB, were an eighth
/// of a generated-200k scan) and can go before alignment.
struct CommonMarks {
    /// Where each document's words start in `words` (and the end).
    start: Vec<usize>,
    /// Each document's bits, as many as it has tokens (a document has at
    /// most as many shingles), in whole words so that documents marked on
    /// different threads share none.
    words: Vec<AtomicU64>,
}

impl CommonMarks {
    /// Room for each document's marks, from the first pass's `(fingerprint,
    /// token count)` of each.
    fn new(counted: &[(u64, usize)]) -> Self {
        let mut start = Vec::with_capacity(counted.len() + 1);
        start.push(0);
        let mut end = 0;
        for &(_, tokens) in counted {
            end += tokens.div_ceil(64);
            start.push(end);
        }
        CommonMarks {
            start,
            words: (0..end).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn of(&self, d: usize) -> &[AtomicU64] {
        self.start
            .get(d..d + 2)
            .map_or(&[], |r| &self.words[r[0]..r[1]])
    }

    /// Mark document `d`'s common shingles, as its seeds were just set.
    fn record(&self, d: usize, s: &ShingledDoc) {
        for (word, bits) in self.of(d).iter().zip(s.common.chunks(64)) {
            let v = bits
                .iter()
                .enumerate()
                .fold(0u64, |v, (i, &c)| v | u64::from(c) << i);
            word.store(v, Ordering::Relaxed);
        }
    }

    /// Set document `d`'s seeds as [`Seeder::set`] did when it was marked.
    fn apply(&self, d: usize, s: &mut ShingledDoc) {
        let words = self.of(d);
        let keep: Vec<bool> = (0..s.shingles.len())
            .map(|i| {
                words
                    .get(i / 64)
                    .is_none_or(|w| w.load(Ordering::Relaxed) >> (i % 64) & 1 == 0)
            })
            .collect();
        s.set_seeds_where(&keep);
    }
}

/// Count documents' distinct shingles (`keys`: their outlet keys) in the
/// corpus sketch and, for the documents of outlets under the rule, in the
/// outlet sketch (each hash keyed by its outlet).
fn count_distinct(
    distinct: &[Vec<u64>],
    keys: &[u64],
    df: Option<&mut Sketch>,
    odf: Option<(&mut Sketch, &OutletCutoffs)>,
) {
    if let Some(df) = df {
        df.add_documents(distinct);
    }
    if let Some((odf, outlets)) = odf {
        let keyed: Vec<Vec<u64>> = distinct
            .par_iter()
            .zip(keys)
            .map(|(d, k)| {
                if outlets.contains_key(k) {
                    d.iter().map(|h| h ^ k).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        odf.add_documents(&keyed);
    }
}

/// [`count_distinct`] for shingled documents, their distinct shingles
/// made for a run of documents of about `chunk` shingles at a time.
fn count_held(
    docs: &[ShingledDoc],
    keys: &[u64],
    mut df: Option<&mut Sketch>,
    mut odf: Option<(&mut Sketch, &OutletCutoffs)>,
    chunk: usize,
) {
    for run in cut_within(docs.iter().map(|d| d.shingles.len()), chunk) {
        let distinct: Vec<Vec<u64>> = docs[run.clone()]
            .par_iter()
            .map(ShingledDoc::distinct_shingles)
            .collect();
        count_distinct(
            &distinct,
            &keys[run],
            df.as_deref_mut(),
            odf.as_mut().map(|(o, c)| (&mut **o, *c)),
        );
    }
}

/// Shingles a held corpus's documents' distinct lists are made for at a
/// time, to be counted in the document-frequency sketches (8 MB of them).
const DISTINCT_CHUNK: usize = 1 << 20;

/// What the first pass keeps of a document: its exact-duplicate
/// fingerprint, token count and distinct shingles (when counted).
struct Counted {
    fingerprint: u64,
    tokens: usize,
    distinct: Vec<u64>,
}

impl Counted {
    fn new(mut d: ShingledDoc, distinct: bool) -> Self {
        let mut shingles = if distinct {
            std::mem::take(&mut d.shingles)
        } else {
            Vec::new()
        };
        shingles.sort_unstable();
        shingles.dedup();
        Counted {
            fingerprint: d.fingerprint,
            tokens: d.tokens.len(),
            distinct: shingles,
        }
    }
}

/// Shingled documents of a stage and, for those whose text was moved out
/// of memory, the text read back (when asked to keep it), by position.
type Shingled = (Vec<ShingledDoc>, Vec<Option<String>>);

/// Tokenize and shingle `d`, reading its text back if it was moved out of
/// memory; that text is returned when `keep_text`.
fn shingle_one(
    d: &Document,
    ngram: usize,
    keep_text: bool,
) -> Result<(ShingledDoc, Option<String>)> {
    let text = d.load_text()?;
    let s = ShingledDoc::new(&text, ngram);
    Ok(match text {
        Cow::Owned(t) if keep_text => (s, Some(t)),
        _ => (s, None),
    })
}

/// Tokenize and shingle the documents `ids`, with their seeds set from
/// `marks`.
fn shingle_seeded(
    documents: &[Document],
    ids: impl IndexedParallelIterator<Item = usize>,
    settings: &Settings,
    marks: &CommonMarks,
    keep_texts: bool,
) -> Result<Shingled> {
    let docs = ids
        .map(|d| {
            let (mut s, text) = shingle_one(&documents[d], settings.ngram, keep_texts)?;
            marks.apply(d, &mut s);
            Ok((s, text))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(docs.into_iter().unzip())
}

/// Tokenize and shingle the documents `range` (seeds not set).
fn shingle_part(
    documents: &[Document],
    range: Range<usize>,
    settings: &Settings,
    progress: &dyn Progress,
    keep_texts: bool,
) -> Result<Shingled> {
    let docs = documents[range]
        .par_iter()
        .map(|d| shingle_one(d, settings.ngram, keep_texts))
        .inspect(|_| progress.advance(1))
        .collect::<Result<Vec<_>>>()?;
    Ok(docs.into_iter().unzip())
}

/// About how many bytes a document takes shingled, with room to spare:
/// some 33 bytes a token (offsets and hash 16, shingle hash 8, seed 8,
/// flag 1), a token every 5 to 6 bytes of text, plus the text itself when
/// it is read back from the temporary file.
fn shingled_size(d: &Document) -> usize {
    d.text_len() * 8 + 64
}

/// Consecutive ranges of `documents`, each of at most `budget` bytes
/// shingled (by [`shingled_size`]) or of one document. One range for a
/// corpus within the budget; none for an empty one.
fn parts_within(documents: &[Document], budget: usize) -> Vec<Range<usize>> {
    cut_within(documents.iter().map(shingled_size), budget)
}

/// Consecutive ranges of items of the given sizes, each of at most
/// `budget` bytes (an item larger than the budget alone), covering all.
fn cut_within(sizes: impl Iterator<Item = usize>, budget: usize) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let (mut from, mut bytes, mut n) = (0, 0, 0);
    for (i, size) in sizes.enumerate() {
        if i > from && bytes + size > budget {
            parts.push(from..i);
            (from, bytes) = (i, 0);
        }
        bytes += size;
        n = i + 1;
    }
    if from < n {
        parts.push(from..n);
    }
    parts
}

/// The documents of `pairs` (indices below `n`), each once, in an order
/// that keeps the documents linked by pairs together: communities of the
/// pair graph found by label propagation (Raghavan, Albert and Kumara
/// 2007), one after another, each in the order of a breadth-first walk.
///
/// In a large generated corpus nearly all paired documents form one
/// connected component (stories of one topic share stock phrases), so
/// components alone do not cut it; its communities (a story's reprints,
/// a topic's stories) do. Deterministic: labels are updated in walk order,
/// ties go to the smaller label.
fn pair_order(n: usize, pairs: &[(usize, usize)]) -> Vec<usize> {
    // Each document's partners, side by side (in pair order).
    let mut start = vec![0usize; n + 1];
    for &(x, y) in pairs {
        start[x + 1] += 1;
        start[y + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut partners = vec![0u32; start[n]];
    for &(x, y) in pairs {
        partners[fill[x]] = y as u32;
        fill[x] += 1;
        partners[fill[y]] = x as u32;
        fill[y] += 1;
    }
    drop(fill);
    let partners_of = |d: usize| &partners[start[d]..start[d + 1]];
    // A breadth-first walk from each unvisited document, in index order.
    let mut seen = vec![false; n];
    let mut walk: Vec<usize> = Vec::new();
    for first in 0..n {
        if seen[first] || partners_of(first).is_empty() {
            continue;
        }
        seen[first] = true;
        let mut at = walk.len();
        walk.push(first);
        while let Some(&d) = walk.get(at) {
            at += 1;
            for &p in partners_of(d) {
                if !seen[p as usize] {
                    seen[p as usize] = true;
                    walk.push(p as usize);
                }
            }
        }
    }
    drop(seen);
    // Each document takes the label most of its partners have, until
    // none changes (a few rounds) or LABEL_ROUNDS have run.
    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut around: Vec<u32> = Vec::new();
    for _ in 0..LABEL_ROUNDS {
        let mut changed = false;
        for &d in &walk {
            around.clear();
            around.extend(partners_of(d).iter().map(|&p| label[p as usize]));
            around.sort_unstable();
            let (mut best, mut best_count) = (label[d], 0);
            for run in around.chunk_by(|a, b| a == b) {
                if run.len() > best_count {
                    (best, best_count) = (run[0], run.len());
                }
            }
            if best != label[d] {
                label[d] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Communities in the order the walk first meets them.
    let mut first_met = vec![u32::MAX; n];
    for (at, &d) in walk.iter().enumerate() {
        let l = &mut first_met[label[d] as usize];
        *l = (*l).min(at as u32);
    }
    let mut order: Vec<(u32, u32)> = walk
        .iter()
        .enumerate()
        .map(|(at, &d)| (first_met[label[d] as usize], at as u32))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, at)| walk[at as usize]).collect()
}

/// Most rounds of label propagation in [`pair_order`] (on generated 200k
/// documents the labels settle in about eight).
const LABEL_ROUNDS: usize = 10;

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

/// Pairs of documents whose normalized token sequences are identical
/// (equal `(fingerprint, token count)`, documents without tokens left
/// out): each duplicate is paired with the first of its group.
fn exact_duplicate_pairs(fingerprints: &[(u64, usize)]) -> Vec<(u32, u32)> {
    let mut fp: Vec<(u64, usize, u32)> = fingerprints
        .iter()
        .enumerate()
        .filter(|(_, (_, tokens))| *tokens > 0)
        .map(|(i, &(f, tokens))| (f, tokens, i as u32))
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
pub(crate) mod tests {
    use super::*;

    #[test]
    fn seeds_follow_the_counts_of_both_sketches() {
        // Small sketches, so that counts near every cut-off occur: 400
        // documents of four outlets, drawing shingles from a pool of 600
        // with skewed frequencies.
        let mut next = numbers(5);
        let keys = [0u64, 11, 22, 33];
        let docs: Vec<(u64, Vec<u64>)> = (0..400)
            .map(|d| {
                let mut hs: Vec<u64> = (0..60)
                    .map(|_| {
                        let top = next(600) + 1;
                        mix64(next(top) as u64)
                    })
                    .collect();
                hs.sort_unstable();
                hs.dedup();
                (keys[d % 4], hs)
            })
            .collect();
        let mut df = Sketch::new(9, 40);
        df.add_documents(&docs.iter().map(|(_, hs)| hs.clone()).collect::<Vec<_>>());
        let mut odf = Sketch::new(9, 30);
        odf.add_documents(
            &docs
                .iter()
                .map(|(k, hs)| hs.iter().map(|h| h ^ k).collect())
                .collect::<Vec<_>>(),
        );
        let cutoffs: OutletCutoffs = [(11, 9), (22, 30)].into_iter().collect();
        let outlet_keys: Vec<u64> = docs.iter().map(|(k, _)| *k).collect();
        for (max_df, corpus_cutoff, with_df, with_outlets) in [
            (20, None, true, true),
            (40, Some(25), true, false),
            (5, None, true, false),
            (0, None, false, true),
        ] {
            let (df, outlets) = (
                with_df.then_some(&df),
                with_outlets.then_some((&odf, &cutoffs)),
            );
            let seeder = Seeder::new(df, outlets, corpus_cutoff, max_df, &outlet_keys);
            let mut common = 0;
            for (d, (k, hs)) in docs.iter().enumerate() {
                let mut doc = ShingledDoc {
                    shingles: hs.clone(),
                    ..ShingledDoc::default()
                };
                seeder.set(&mut doc, d);
                for (i, &h) in hs.iter().enumerate() {
                    let g = df.map(|df| df.get(h) as usize);
                    let expected = g
                        .is_some_and(|g| g > max_df || corpus_cutoff.is_some_and(|m| g >= m))
                        || outlets.and_then(|(_, c)| c.get(k)).is_some_and(|&m| {
                            odf.get(h ^ k) as usize >= m && g.is_none_or(|g| g >= m)
                        });
                    assert_eq!(doc.is_common(i), expected, "{max_df} {d} {i}");
                    common += usize::from(expected);
                }
            }
            let all: usize = docs.iter().map(|(_, hs)| hs.len()).sum();
            assert!(common > 0 && common < all, "{max_df}: {common} of {all}");
        }
    }

    #[test]
    fn sketches_are_wide_enough_for_every_cut_off_they_answer_for() {
        assert_eq!(global_cutoff(50, None), 51);
        assert_eq!(global_cutoff(50, Some(20)), 20);
        assert_eq!(global_cutoff(usize::MAX, None), usize::MAX);
        let outlets: OutletCutoffs = [(1, 30), (2, 300), (3, 9)].into_iter().collect();
        assert_eq!(largest_cutoffs(51, Some(&outlets)), (300, 300));
        assert_eq!(largest_cutoffs(400, Some(&outlets)), (400, 300));
        assert_eq!(largest_cutoffs(51, None), (51, 0));
        // A sketch for a cut-off over 255 counts past it.
        let mut wide = Sketch::new(9, largest_cutoffs(51, Some(&outlets)).0);
        wide.add_documents(&vec![vec![7]; 300]);
        assert_eq!(wide.get(7), 300);
    }

    #[test]
    fn held_documents_are_counted_alike_however_they_are_cut() {
        // Documents of three outlets (two under the rule), sharing some
        // shingles, some shingles repeated within a document.
        let mut next = crate::quotes::tests::numbers(0x5EED_C0DE);
        let keys: Vec<u64> = (0..400).map(|d| [11, 22, 33][d % 3]).collect();
        let docs: Vec<ShingledDoc> = (0..400)
            .map(|_| {
                let n = next(60) as usize;
                ShingledDoc {
                    shingles: (0..n).map(|_| mix64(next(300))).collect(),
                    ..ShingledDoc::default()
                }
            })
            .collect();
        let cutoffs: OutletCutoffs = [(11, 3), (33, 5)].into_iter().collect();
        let distinct: Vec<Vec<u64>> = docs.iter().map(ShingledDoc::distinct_shingles).collect();
        let (mut df, mut odf) = (Sketch::new(12, 50), Sketch::new(12, 50));
        count_distinct(&distinct, &keys, Some(&mut df), Some((&mut odf, &cutoffs)));
        for chunk in [1, 37, 500, usize::MAX] {
            let (mut df_cut, mut odf_cut) = (Sketch::new(12, 50), Sketch::new(12, 50));
            count_held(
                &docs,
                &keys,
                Some(&mut df_cut),
                Some((&mut odf_cut, &cutoffs)),
                chunk,
            );
            for (d, k) in distinct.iter().zip(&keys) {
                for &h in d {
                    assert_eq!(df_cut.get(h), df.get(h), "chunk {chunk}");
                    assert_eq!(odf_cut.get(h ^ k), odf.get(h ^ k), "chunk {chunk}");
                }
            }
        }
        // The outlet sketch counts the documents of the outlets under the
        // rule, each hash keyed by the outlet; the corpus sketch, all.
        let keyed: Vec<Vec<u64>> = distinct
            .iter()
            .zip(&keys)
            .map(|(d, k)| match cutoffs.contains_key(k) {
                true => d.iter().map(|h| h ^ k).collect(),
                false => Vec::new(),
            })
            .collect();
        let (mut df_all, mut odf_ruled) = (Sketch::new(12, 50), Sketch::new(12, 50));
        df_all.add_documents(&distinct);
        odf_ruled.add_documents(&keyed);
        for (d, k) in distinct.iter().zip(&keys) {
            for &h in d {
                assert_eq!(df.get(h), df_all.get(h));
                for key in [11, 22, 33] {
                    assert_eq!(odf.get(h ^ key), odf_ruled.get(h ^ key), "{k}");
                }
            }
        }
    }

    #[test]
    fn parts_keep_within_the_budget_and_cover_every_document() {
        let docs: Vec<Document> = [10, 300, 20, 20, 5000, 1]
            .iter()
            .enumerate()
            .map(|(i, &len)| Document::new(i.to_string(), "x".repeat(len)))
            .collect();
        let budget = shingled_size(&docs[1]) + shingled_size(&docs[2]);
        let parts = parts_within(&docs, budget);
        // A document over the budget is a part of its own.
        assert_eq!(parts, vec![0..2, 2..4, 4..5, 5..6]);
        assert_eq!(parts_within(&docs, usize::MAX), vec![0..6]);
        assert!(parts_within(&[], 0).is_empty());
    }

    /// [`crate::quotes::tests::numbers`] for indices: `next(n)` in `0..n`.
    fn numbers(seed: u64) -> impl FnMut(usize) -> usize {
        let mut next = crate::quotes::tests::numbers(seed);
        move |below| next(below as u64) as usize
    }

    #[test]
    fn pair_order_lists_each_paired_document_once() {
        let mut next = numbers(7);
        for round in 0..200 {
            let n = 1 + next(60);
            let pairs: Vec<(usize, usize)> = (0..next(3 * n))
                .map(|_| (next(n), next(n)))
                .filter(|(x, y)| x != y)
                .collect();
            let mut order = pair_order(n, &pairs);
            let mut expected: Vec<usize> = pairs.iter().flat_map(|&(x, y)| [x, y]).collect();
            expected.sort_unstable();
            expected.dedup();
            order.sort_unstable();
            assert_eq!(order, expected, "round {round}");
        }
    }

    #[test]
    fn common_marks_give_back_the_seeds_they_were_made_from() {
        let texts: Vec<String> = (0..5)
            .map(|d| {
                (0..40 + 50 * d)
                    .map(|w| format!("w{}", (w * 7 + d) % 23))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let docs: Vec<ShingledDoc> = texts.iter().map(|t| ShingledDoc::new(t, 5)).collect();
        let counted: Vec<(u64, usize)> = docs.iter().map(|d| (0, d.tokens.len())).collect();
        let marks = CommonMarks::new(&counted);
        let mut next = numbers(3);
        let mut seeded = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            let mut s = doc.clone();
            // Document 0 has no common shingle, the others a random third.
            let keep: Vec<bool> = (0..s.shingles.len())
                .map(|_| d == 0 || next(3) > 0)
                .collect();
            s.set_seeds_where(&keep);
            marks.record(d, &s);
            seeded.push(s);
        }
        for (d, doc) in docs.iter().enumerate().rev() {
            let mut s = doc.clone();
            marks.apply(d, &mut s);
            assert_eq!(s.seeds, seeded[d].seeds, "document {d}");
            assert_eq!(s.common, seeded[d].common, "document {d}");
        }
    }

    #[test]
    fn pair_order_keeps_the_reprints_of_a_story_together() {
        // 300 stories of 6 reprints each, the reprints scattered over the
        // corpus; 600 looser links (stock phrases) join them all into one
        // component, as in a generated corpus.
        let (stories, reprints) = (300, 6);
        let n = stories * reprints;
        let mut next = numbers(11);
        let mut place: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            place.swap(i, next(i + 1));
        }
        let mut pairs = Vec::new();
        for s in 0..stories {
            let docs = &place[s * reprints..(s + 1) * reprints];
            for (i, &x) in docs.iter().enumerate() {
                pairs.extend(docs[i + 1..].iter().map(|&y| (x.min(y), x.max(y))));
            }
        }
        let story_pairs = pairs.len();
        pairs.extend(
            (0..2 * stories)
                .map(|_| (next(n), next(n)))
                .filter(|(x, y)| x != y),
        );
        let order = pair_order(n, &pairs);
        let mut at = vec![0; n];
        for (i, &d) in order.iter().enumerate() {
            at[d] = i;
        }
        // A story's pairs within a stretch of twice its reprints: 81% here
        // (a breadth-first walk alone: 58%; corpus order: about 1%).
        let near = pairs[..story_pairs]
            .iter()
            .filter(|&&(x, y)| at[x].abs_diff(at[y]) < 2 * reprints)
            .count();
        assert!(near * 10 >= story_pairs * 8, "{near} of {story_pairs}");
    }

    #[test]
    fn cut_offs_scale_with_the_corpus_and_the_outlet() {
        let s = Settings::default();
        assert_eq!(s.max_df_for(5), 50);
        assert_eq!(s.max_df_for(200_000), 200);
        assert_eq!(s.max_df_for(1_000_000), 1000);
        assert_eq!(s.outlet_df_for(100), Some(20));
        assert_eq!(s.outlet_df_for(147_000), Some(147));
        let off = Settings {
            max_outlet_df: None,
            ..Settings::default()
        };
        assert_eq!(off.outlet_df_for(147_000), None);
    }

    /// Documents "a" and "b" of one outlet share a passage; `filler` other
    /// documents of that outlet share nothing. With the outlet rule at 2
    /// documents, the passage's shingles are the outlet's boilerplate
    /// while the outlet is small, and seed again once one in a thousand of
    /// its documents is more than two.
    pub(crate) fn same_outlet_corpus(filler: usize) -> Vec<Document> {
        let passage = "the harbour authority said on friday that the new breakwater \
                       would be finished before the winter storms, three months later \
                       than planned, after engineers found that the old foundations \
                       could not carry the weight of the concrete blocks";
        let mut docs = vec![
            Document::new("a", format!("Opening of the first page. {passage}")),
            Document::new("b", format!("A different first line here. {passage}")),
        ];
        for i in 0..filler {
            docs.push(Document::new(
                format!("f{i}"),
                format!("filler page {i} with nothing else in it {}", i * 7),
            ));
        }
        for d in &mut docs {
            d.outlet = Some("The Outlet".to_string());
        }
        docs
    }

    /// The outlet rule at 2 documents, no quote audit.
    pub(crate) fn outlet_rule_at_two() -> Settings {
        Settings {
            max_outlet_df: Some(2),
            quotes: false,
            ..Settings::default()
        }
    }

    fn same_outlet_passages(filler: usize) -> usize {
        let docs = same_outlet_corpus(filler);
        let report = scan(Corpus::from_documents(docs), &outlet_rule_at_two()).unwrap();
        report.passages.len()
    }

    #[test]
    fn the_outlet_rule_scales_with_the_outlet() {
        // 1,000 documents: the cut-off is 2, the passage is boilerplate.
        assert_eq!(same_outlet_passages(998), 0);
        // 3,000 documents: the cut-off is 3, the passage seeds.
        assert_eq!(same_outlet_passages(2998), 1);
    }

    #[test]
    fn one_outlet_or_several_the_outlet_rule_gives_the_same_answer() {
        // One outlet holding every document is counted in the corpus
        // sketch alone; with a second outlet beside it, an outlet sketch
        // is built. The rule must say the same of the shared passage.
        for (filler, passages) in [(998, 0), (2998, 1)] {
            let mut docs = same_outlet_corpus(filler);
            let mut other = Document::new("z", "a page of another outlet altogether");
            other.outlet = Some("Another Outlet".to_string());
            docs.push(other);
            let report = scan(Corpus::from_documents(docs), &outlet_rule_at_two()).unwrap();
            assert_eq!(report.passages.len(), passages, "{filler} filler pages");
            assert_eq!(same_outlet_passages(filler), passages);
        }
    }

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
