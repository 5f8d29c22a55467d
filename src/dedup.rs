//! Document-level near-duplicates: the job datasketch, rensa and gaoya do.
//!
//! Each document's set of token 5-gram hashes gets one K-value
//! one-permutation MinHash signature ([`crate::signature`]). Banded LSH over
//! the signatures proposes candidate pairs; the banding
//! ([`Banding::for_recall`]) misses a pair at exactly the threshold less
//! than once in 10,000. Every candidate is re-checked against the full
//! signatures: clear misses are dropped, clear hits kept with their
//! estimate, and the pairs near the threshold are decided on their exact
//! shingle sets, so a reported pair really reaches the threshold (the peers
//! return raw LSH candidates). Pairs are joined into clusters by union-find.

use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;

use crate::corpus::{Corpus, Document, ReadOptions, Skipped, read_corpus_with};
use crate::error::{Error, Result};
use crate::lsh::{Banding, band_salt, bucket_bands, dedup_in, each_pair, pack_entry, pack_pair};
use crate::minhash::{MAX_PERM, signature};
use crate::shingle::{mix64, shingle_hashes};
use crate::text::{Token, tokenize};
use std::path::PathBuf;

/// Largest chance that LSH misses a pair exactly at the threshold.
const MAX_MISS: f64 = 1e-4;
/// How many standard errors from the threshold an estimate must be to
/// decide a pair without its exact sets.
const Z: f64 = 5.0;
/// Bins of the finer signature that decides pairs of large sets near the
/// threshold.
const CHECK_BINS: usize = 1024;
/// Sets with more shingles than this get the finer signature (so that a
/// pair of two long pages is not merged whole).
const SPARSE_FROM: usize = 1024;
/// Documents in this many undecided pairs or more get the finer signature
/// too (made once, it then saves many merges).
const SPARSE_PAIRS: u32 = 8;

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
    /// Jaccard similarity of the two shingle sets: exact (over 32-bit
    /// shingle fingerprints) for pairs near the threshold, the signature
    /// estimate for pairs clear of it.
    pub similarity: f64,
}

/// What a dedup run found.
#[derive(Debug, Clone)]
pub struct DedupReport {
    /// Documents read. Their `text` is empty: dedup releases each text
    /// once it is hashed, to keep memory flat.
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

/// Where dedup keeps what it needs of the documents once their texts are
/// hashed: one [`Slot`] per thread, each document in the slot of the
/// thread that hashed it, numbered in the order it came.
///
/// Nothing is held per document: a thread's signatures and fingerprints
/// go into large pieces. No band key is kept: the keys are made from the
/// signatures one band at a time when the documents are bucketed
/// ([`band_entries`]); kept, all bands' entries were on Reuters 12 MB of
/// `dedup`'s 55 MB peak (and at a million documents, half a gigabyte).
struct Sketches {
    /// One slot per pool thread, and one for any other thread.
    slots: Vec<std::sync::Mutex<Slot>>,
}

/// What one thread hashed ([`Sketches`]).
#[derive(Default)]
struct Slot {
    /// The low 16 bits of each bin's minimum (zeros for a document with no
    /// shingle), in pieces of [`SIGS_PER_PIECE`] documents, each piece
    /// column by column: bin `c` of the piece's document `at` is at
    /// `c * SIGS_PER_PIECE + at`, so that a band's values for all the
    /// documents are a few runs of memory ([`Slot::column`]). The band keys
    /// are made from them ([`band_key`]), and the signature check reads
    /// their low bytes (b-bit MinHash, Li & König 2010: a pair agrees on a
    /// byte with probability J + (1 - J) / 256, corrected for in
    /// `estimate`).
    sigs: Vec<Vec<u16>>,
    /// The documents' shingles as 32-bit fingerprints, for the exact
    /// check, each document's contiguous within a piece.
    prints: Vec<Vec<u32>>,
    /// Each document's fingerprints: piece, start and length.
    spans: Vec<[u32; 3]>,
}

/// Documents per piece of [`Slot::sigs`].
const SIGS_PER_PIECE: usize = 1024;
/// Fingerprints per piece of [`Slot::prints`] (a longer document gets a
/// piece of its own).
const PRINTS_PER_PIECE: usize = 1 << 16;
/// Owner bits of dedup's LSH entries: the owners are `u32`. The key keeps
/// 32 bits, so two keys of a band meet by chance once in 2^32 (a spurious
/// candidate now and then, which the signature check drops).
const OWNER_BITS: u32 = 32;

/// Where a document's sketch is: its slot and its number there.
#[derive(Debug, Clone, Copy)]
struct Place {
    slot: u32,
    seq: u32,
}

impl Slot {
    /// Keep one document's fingerprints (`shingles`' low 32 bits) and the
    /// low 16 bits of its signature's values; returns its number.
    fn push(&mut self, shingles: &[u64], sig: Option<&[u64]>, k: usize) -> u32 {
        let seq = self.spans.len() as u32;
        let at = seq as usize % SIGS_PER_PIECE;
        if at == 0 {
            self.sigs.push(vec![0; k * SIGS_PER_PIECE]);
        }
        if let (Some(sig), Some(piece)) = (sig, self.sigs.last_mut()) {
            for (column, &v) in piece.chunks_exact_mut(SIGS_PER_PIECE).zip(sig) {
                column[at] = v as u16;
            }
        }
        let n = shingles.len();
        if self
            .prints
            .last()
            .is_none_or(|piece| piece.capacity() - piece.len() < n)
        {
            self.prints
                .push(Vec::with_capacity(n.max(PRINTS_PER_PIECE)));
        }
        let piece = self.prints.len() - 1;
        let prints = &mut self.prints[piece];
        self.spans
            .push([piece as u32, prints.len() as u32, n as u32]);
        prints.extend(shingles.iter().map(|&h| h as u32));
        seq
    }

    /// Document `seq`'s signature values (their low 16 bits).
    fn sig(&self, seq: u32) -> impl Iterator<Item = u16> + '_ {
        let (piece, at) = (seq as usize / SIGS_PER_PIECE, seq as usize % SIGS_PER_PIECE);
        self.sigs[piece]
            .chunks_exact(SIGS_PER_PIECE)
            .map(move |column| column[at])
    }

    /// Bin `c` of the documents of piece `piece`, by their place in it.
    #[inline]
    fn column(&self, piece: usize, c: usize) -> &[u16] {
        &self.sigs[piece][c * SIGS_PER_PIECE..(c + 1) * SIGS_PER_PIECE]
    }

    /// Document `seq`'s fingerprints.
    #[cfg(test)]
    fn prints(&self, seq: u32) -> &[u32] {
        let [piece, start, len] = self.spans[seq as usize].map(|x| x as usize);
        &self.prints[piece][start..start + len]
    }
}

impl Sketches {
    fn new() -> Self {
        Sketches {
            slots: (0..=rayon::current_num_threads())
                .map(|_| Default::default())
                .collect(),
        }
    }

    /// Hash a document for dedup, keep its sketch in this thread's slot,
    /// and release its text (nothing after this reads it).
    fn sketch(&self, d: &mut Document, s: &DedupSettings) -> Place {
        SCRATCH.with(|scratch| {
            let (tokens, shingles, sig) = &mut *scratch.borrow_mut();
            tokenize(&d.text, tokens);
            d.text = String::new();
            shingle_hashes(tokens, s.ngram, shingles);
            let any = signature(shingles.iter().copied(), s.num_perm, sig);
            let last = self.slots.len() - 1;
            let slot = rayon::current_thread_index().map_or(last, |t| t.min(last));
            let mut kept = self.slots[slot]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let seq = kept.push(shingles, any.then_some(&sig[..]), s.num_perm);
            Place {
                slot: slot as u32,
                seq,
            }
        })
    }

    /// The slots, done with.
    fn into_slots(self) -> Vec<Slot> {
        self.slots
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            })
            .collect()
    }
}

/// Per-thread buffers for [`Sketches::sketch`]: tokens, shingles and the
/// signature.
type Scratch = (Vec<Token>, Vec<u64>, Vec<u64>);

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Check the settings and choose the banding: bands narrow enough that a
/// pair at exactly the threshold is missed less than once in 10,000
/// (pairs above it less often still).
fn banding_for(s: &DedupSettings) -> Result<Banding> {
    if !(s.threshold > 0.0 && s.threshold <= 1.0) {
        return Err(Error::Settings("threshold must be in (0, 1]".into()));
    }
    if s.num_perm == 0 || s.num_perm > MAX_PERM || s.ngram == 0 {
        return Err(Error::Settings(
            "num-perm must be 1..=1024 and ngram at least 1".into(),
        ));
    }
    Ok(Banding::for_recall(s.num_perm, s.threshold, MAX_MISS))
}

/// Find near-duplicate documents in `corpus`.
pub fn dedup(corpus: Corpus, s: &DedupSettings) -> Result<DedupReport> {
    let banding = banding_for(s)?;
    let Corpus {
        mut documents,
        skipped,
        ..
    } = corpus;
    let mut clock = crate::scan::Stopwatch::new();
    let sketches = Sketches::new();
    let places = documents
        .par_iter_mut()
        .map(|d| {
            if d.is_spilled() {
                d.text = d.load_text()?.into_owned();
            }
            Ok(sketches.sketch(d, s))
        })
        .collect::<Result<Vec<Place>>>()?;
    clock.lap("dedup: tokenize, shingle, signature");
    Ok(dedup_sketched(
        documents, skipped, sketches, &places, s, banding,
    ))
}

/// Read `paths` (as [`crate::read_corpus`] does) and find near-duplicate
/// documents, hashing each document as soon as it is read.
///
/// The same report as `dedup(read_corpus(paths, options)?, s)`, sooner and
/// in less memory: each text is hashed on the thread that parsed it, while
/// it is in cache, and released at once, so the texts are never all held.
pub fn dedup_paths(
    paths: &[PathBuf],
    options: &ReadOptions,
    s: &DedupSettings,
) -> Result<DedupReport> {
    let banding = banding_for(s)?;
    let mut clock = crate::scan::Stopwatch::new();
    let sketches = Sketches::new();
    let (corpus, places) = read_corpus_with(paths, options, |d| sketches.sketch(d, s))?;
    clock.lap("dedup: read and hash");
    Ok(dedup_sketched(
        corpus.documents,
        corpus.skipped,
        sketches,
        &places,
        s,
        banding,
    ))
}

/// Dedup from the documents' sketches (`places` aligned with `documents`).
fn dedup_sketched(
    documents: Vec<Document>,
    skipped: Vec<Skipped>,
    sketches: Sketches,
    places: &[Place],
    s: &DedupSettings,
    banding: Banding,
) -> DedupReport {
    let mut clock = crate::scan::Stopwatch::new();
    let k = s.num_perm;
    let n = documents.len();
    let mut slots = sketches.into_slots();
    // The signatures' low bytes, side by side in `documents` order.
    let mut sigs = vec![0u8; n * k];
    sigs.par_chunks_mut(k).zip(places).for_each(|(out, p)| {
        for (b, v) in out.iter_mut().zip(slots[p.slot as usize].sig(p.seq)) {
            *b = v as u8;
        }
    });
    // Candidates are checked against the signatures as they leave their
    // buckets. A pair whose estimate is more than Z standard errors (of
    // a K-value estimate at the threshold, the worst case for a pair on
    // either side of it) under the threshold is dropped; one that far
    // above it is kept with its estimate; the pairs in between go to pass
    // 2 below. Measured on Reuters, the estimates of
    // true pairs stay within 3.4 standard errors, short documents
    // included.
    let t = s.threshold;
    let margin = Z * (t * (1.0 - t) / k as f64).sqrt();
    let sig_of = |i: u32| &sigs[i as usize * k..(i as usize + 1) * k];
    // The fewest equal bytes whose estimate clears `t - margin` (found on
    // `estimate`'s own formula, so the two tests agree exactly).
    let min_same = (0..=k)
        .find(|&same| estimate_from(same, k) >= t - margin)
        .unwrap_or(k + 1);
    // A large bucket (site chrome shared by thousands of one outlet's
    // pages) has its members' signatures copied side by side first, so
    // that its pairs are compared in cache rather than across the whole
    // signature array.
    let visit = |owners: &[u32], pairs: &mut Vec<u64>| {
        if owners.len() <= GATHER_FROM {
            let sig = |x: usize| sig_of(owners[x]);
            each_pair(
                owners,
                |x, y| equal_bytes(sig(x), sig(y)) >= min_same,
                pairs,
            );
        } else {
            let local: Vec<u8> = owners.iter().flat_map(|&o| sig_of(o)).copied().collect();
            gathered_pairs(owners, &local, k, min_same, pairs);
        }
    };
    // Band by band, each document with a shingle is entered under its
    // band key, by its index in `documents`: each slot's documents' indices
    // (`u32::MAX`: a document with no shingle, or dropped as a repeated id
    // after it was hashed).
    let mut owners = per_slot(&slots, places.iter().copied().zip(0..));
    for (slot, owners) in slots.iter().zip(&mut owners) {
        for (owner, span) in owners.iter_mut().zip(&slot.spans) {
            if span[2] == 0 {
                *owner = u32::MAX;
            }
        }
    }
    let entries_of_band = |b: usize, out: &mut Vec<u64>| {
        band_entries(&slots, &owners, &Band::new(&banding, b, k), out);
    };
    let candidates = bucket_bands(banding.bands, OWNER_BITS, &entries_of_band, &visit);
    drop(owners);
    for slot in &mut slots {
        slot.sigs = Vec::new();
    }
    let checked: Vec<(u32, u32, Option<f64>)> = candidates
        .into_par_iter()
        .map(|pair| {
            let (x, y) = ((pair >> 32) as u32, pair as u32);
            let e = estimate(sig_of(x), sig_of(y));
            (x, y, (margin > 0.0 && e >= t + margin).then_some(e))
        })
        .collect();
    drop(sigs);
    clock.lap("dedup: LSH candidates, signature check");
    // Pass 2, only for documents in an undecided pair: the exact shingle
    // set, sorted. Documents with more than SPARSE_FROM shingles, or in
    // SPARSE_PAIRS undecided pairs or more, also get a finer
    // one-permutation signature of CHECK_BINS one-byte bins, not densified
    // (empty bins stay empty). A pair of two such documents (site chrome
    // shared by thousands of long pages) is decided in CHECK_BINS steps
    // when the finer estimate is clear by the same margin (the samples are
    // the bins either document reached); every other pair is decided on
    // the exact sets, a merge that is cheap when either set is small (the
    // length bound below keeps the other under its size / t).
    let mut involved: Vec<u32> = checked
        .iter()
        .filter(|c| c.2.is_none())
        .flat_map(|&(x, y, _)| [x, y])
        .collect();
    involved.sort_unstable();
    // How many undecided pairs each document is in (its run's length).
    let pairs_of: Vec<u32> = involved
        .chunk_by(|x, y| x == y)
        .map(|run| run.len() as u32)
        .collect();
    involved.dedup();
    let sets = sorted_sets(&mut slots, places, &involved);
    // The finer signatures, for the sets that get one, in `sets` order.
    let with_fine: Vec<usize> = (0..sets.len())
        .filter(|&x| sets[x].len() > SPARSE_FROM || pairs_of[x] >= SPARSE_PAIRS)
        .collect();
    let mut fine = vec![0u8; with_fine.len() * CHECK_BINS];
    fine.par_chunks_mut(CHECK_BINS)
        .zip(&with_fine)
        .for_each_init(Vec::new, |sig, (fine_out, &x)| {
            sparse_signature(sets[x], sig, fine_out);
        });
    let mut fine_slot = vec![u32::MAX; sets.len()];
    for (at, &x) in with_fine.iter().enumerate() {
        fine_slot[x] = at as u32;
    }
    let fine_of = |x: usize| {
        let at = fine_slot[x] as usize;
        &fine[at * CHECK_BINS..(at + 1) * CHECK_BINS]
    };
    let mut slot = vec![u32::MAX; n];
    for (at, &i) in involved.iter().enumerate() {
        slot[i as usize] = at as u32;
    }
    let decide = |x: u32, y: u32| -> Option<f64> {
        let (x, y) = (slot[x as usize] as usize, slot[y as usize] as usize);
        let (sx, sy) = (sets[x], sets[y]);
        let (small, large) = (sx.len().min(sy.len()), sx.len().max(sy.len()));
        // |A ∩ B| / |A ∪ B| <= |small| / |large|.
        if (small as f64) < t * large as f64 {
            return None;
        }
        if fine_slot[x] != u32::MAX && fine_slot[y] != u32::MAX {
            let (e, samples) = sparse_estimate(fine_of(x), fine_of(y));
            let margin = Z * (t * (1.0 - t) / samples.max(1) as f64).sqrt();
            if e < t - margin {
                return None;
            } else if margin > 0.0 && e >= t + margin {
                return Some(e);
            }
        }
        Some(exact_jaccard(sx, sy))
    };
    let mut pairs: Vec<DedupPair> = checked
        .par_iter()
        .filter_map(|&(x, y, sure)| {
            let similarity = match sure {
                Some(e) => e,
                None => decide(x, y)?,
            };
            let (x, y) = (x as usize, y as usize);
            let (a, b) = if documents[x].id <= documents[y].id {
                (x, y)
            } else {
                (y, x)
            };
            (similarity >= t).then_some(DedupPair { a, b, similarity })
        })
        .collect();
    pairs.sort_by_key(|p| (p.a, p.b));
    clock.lap("dedup: exact check");
    let clusters = group(documents.len(), &pairs);
    DedupReport {
        documents,
        skipped,
        pairs,
        clusters,
        banding,
    }
}

/// One band of a banding over signatures of `k` values: which values it
/// covers and its salt.
struct Band {
    /// The values' positions ([`Banding::columns`]).
    cols: Vec<usize>,
    /// Mixed into the key, so that equal values in different bands give
    /// different keys.
    salt: u64,
}

impl Band {
    /// Band `b` of `banding`.
    fn new(banding: &Banding, b: usize, k: usize) -> Band {
        Band {
            cols: banding.columns(b, k).collect(),
            salt: band_salt(b),
        }
    }
}

/// Push the LSH entries of `band` for the documents of `slots`: each
/// document's band key ([`band_key`]) packed with its owner, from `owners`
/// (one per document of each slot; `u32::MAX`: no entry).
fn band_entries(slots: &[Slot], owners: &[Vec<u32>], band: &Band, out: &mut Vec<u64>) {
    let mut columns: Vec<&[u16]> = Vec::with_capacity(band.cols.len());
    for (slot, owners) in slots.iter().zip(owners) {
        for (piece, owners) in owners.chunks(SIGS_PER_PIECE).enumerate() {
            columns.clear();
            columns.extend(band.cols.iter().map(|&c| slot.column(piece, c)));
            for (at, &owner) in owners.iter().enumerate() {
                if owner != u32::MAX {
                    let key = band_key(&columns, at, band.salt);
                    out.push(pack_entry(key, owner, OWNER_BITS));
                }
            }
        }
    }
}

/// The band key of document `at` of `columns` (a band's columns of
/// signature values, [`Slot::column`]): four values at a time packed into
/// one number and mixed in. Two signatures equal in the band get the same
/// key; unequal ones, the same key once in 2^64 (before the key is cut to
/// its high 32 bits by [`pack_entry`]).
///
/// Sixteen bits of each value, not all of it: a pair unequal on a value
/// agrees on its low 16 bits by chance once in 65,536, so a band of `r`
/// rows adds such a candidate once in 65,536^r (the signature check drops
/// it), and the keys need no copy of the whole 64-bit signatures.
#[inline]
fn band_key(columns: &[&[u16]], at: usize, salt: u64) -> u64 {
    columns.chunks(4).fold(salt, |h, four| {
        let packed = four
            .iter()
            .fold(0u64, |p, column| p << 16 | u64::from(column[at]));
        mix64(h ^ packed)
    })
}

/// For each slot, a value per document it holds: `value` for the
/// documents of `places` (`u32::MAX` for the others).
fn per_slot(slots: &[Slot], places: impl Iterator<Item = (Place, u32)>) -> Vec<Vec<u32>> {
    let mut values: Vec<Vec<u32>> = slots
        .iter()
        .map(|slot| vec![u32::MAX; slot.spans.len()])
        .collect();
    for (p, value) in places {
        values[p.slot as usize][p.seq as usize] = value;
    }
    values
}

/// The fingerprints of the documents `involved` (indices into `places`,
/// sorted), each sorted and without repeats, in `involved` order.
///
/// Sorted where they lie in the slots' pieces, each document's stretch of
/// its piece on its own (they are not needed in their first order again),
/// so nothing is copied (on generated 20k the copies were 3.1 million
/// fingerprints, 12.5 MB of fresh memory).
fn sorted_sets<'a>(slots: &'a mut [Slot], places: &[Place], involved: &[u32]) -> Vec<&'a [u32]> {
    // Each slot's documents' positions in `involved` (`u32::MAX`: not
    // involved).
    let wanted = per_slot(slots, involved.iter().map(|&i| places[i as usize]).zip(0..));
    // A piece holds its documents one after the other, in their order.
    let mut stretches: Vec<(u32, &'a mut [u32])> = Vec::with_capacity(involved.len());
    for (slot, wanted) in slots.iter_mut().zip(&wanted) {
        let Slot { prints, spans, .. } = slot;
        let mut seq = 0;
        for (at, piece) in prints.iter_mut().enumerate() {
            let first = seq;
            while seq < spans.len() && spans[seq][0] as usize == at {
                seq += 1;
            }
            let lengths = spans[first..seq].iter().map(|span| span[2] as usize);
            for (s, stretch) in (first..seq).zip(crate::split_lengths(piece, lengths)) {
                if wanted[s] != u32::MAX {
                    stretches.push((wanted[s], stretch));
                }
            }
        }
    }
    let mut sorted: Vec<(u32, &'a [u32])> = stretches
        .into_par_iter()
        .map(|(x, set)| {
            set.sort_unstable();
            let distinct = dedup_in(set);
            let set: &'a [u32] = set;
            (x, &set[..distinct])
        })
        .collect();
    sorted.sort_unstable_by_key(|s| s.0);
    sorted.into_iter().map(|s| s.1).collect()
}

/// Buckets with more owners than this have their signatures gathered
/// before their pairs are compared.
const GATHER_FROM: usize = 64;

/// The pairs of a large bucket whose signatures (gathered side by side in
/// `local`, `k` bytes each) have at least `min_same` equal bytes, pushed
/// as [`each_pair`] does.
///
/// Such buckets (site chrome shared by thousands of one outlet's pages)
/// hold nearly all the pairs compared in a large corpus: on generated 200k,
/// 215 of 227 million. They are compared by [`gathered_rows`], and the
/// largest on all threads ([`gathered_pairs_split`]).
fn gathered_pairs(owners: &[u32], local: &[u8], k: usize, min_same: usize, pairs: &mut Vec<u64>) {
    let rows = if owners.len() >= SPLIT_FROM {
        SPLIT_ROWS
    } else {
        owners.len()
    };
    let bucket = Gathered {
        owners,
        local,
        k,
        min_same,
    };
    gathered_pairs_split(bucket, rows, pairs);
}

/// A large bucket: its owners, their signatures gathered side by side
/// (`k` bytes each), and the fewest equal bytes a pair must have.
#[derive(Clone, Copy)]
struct Gathered<'a> {
    owners: &'a [u32],
    local: &'a [u8],
    k: usize,
    min_same: usize,
}

/// Buckets of at least this many owners have their pairs compared on all
/// threads: the buckets are visited in parallel, but one bucket of an
/// outlet's chrome can hold most of the work (at a million generated
/// documents one thread compared alone for the last 1.5 s of the stage).
const SPLIT_FROM: usize = 1024;
/// Rows of a split bucket's triangle of pairs compared by one task.
const SPLIT_ROWS: usize = 16;

/// [`gathered_pairs`], the triangle of pairs cut into tasks of `rows`
/// rows (a row: one owner against every later owner) compared in
/// parallel; the pairs are pushed in the same order as by one task.
fn gathered_pairs_split(bucket: Gathered, rows: usize, pairs: &mut Vec<u64>) {
    let n = bucket.owners.len();
    let rows = rows.max(1);
    if rows >= n {
        gathered_rows(bucket, 0..n, pairs);
        return;
    }
    let starts: Vec<usize> = (0..n).step_by(rows).collect();
    let found: Vec<Vec<u64>> = starts
        .par_iter()
        .map(|&start| {
            let mut found = Vec::new();
            gathered_rows(bucket, start..(start + rows).min(n), &mut found);
            found
        })
        .collect();
    for f in found {
        pairs.extend(f);
    }
}

/// The pairs of rows `rows` of a gathered bucket's triangle (each owner
/// `x` in `rows` with every owner after it) with at least `min_same`
/// equal bytes. Where the processor has AVX2 (detected at run time) and
/// `k` is a multiple of 32, they are compared thirty-two bytes at a time
/// ([`gathered_pairs_avx2`]); the pairs are the same.
fn gathered_rows(bucket: Gathered, rows: std::ops::Range<usize>, pairs: &mut Vec<u64>) {
    let Gathered {
        owners,
        local,
        k,
        min_same,
    } = bucket;
    #[cfg(target_arch = "x86_64")]
    if k.is_multiple_of(32) && k <= MAX_PERM && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above). The default
        // length is compiled on its own, so that the four blocks of a
        // pair's first signature stay in registers.
        unsafe {
            if k == 128 {
                gathered_pairs_avx2::<128>(bucket, rows, pairs);
            } else {
                gathered_pairs_avx2::<0>(bucket, rows, pairs);
            }
        }
        return;
    }
    let sig = |x: usize| &local[x * k..(x + 1) * k];
    for x in rows {
        for y in x + 1..owners.len() {
            if equal_bytes(sig(x), sig(y)) >= min_same {
                pairs.push(pack_pair(owners[x], owners[y]));
            }
        }
    }
}

/// [`gathered_rows`] with AVX2, for `k = K` (any `k` when `K` is 0), a
/// multiple of 32 up to [`MAX_PERM`]: each
/// 32-byte block of one signature is compared with the other's and the
/// matches (-1 per equal byte) subtracted from per-byte counters, which
/// cannot overflow (at most 32 blocks); one sum of absolute differences
/// then adds them up.
///
/// # Safety
/// The processor must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gathered_pairs_avx2<const K: usize>(
    bucket: Gathered,
    rows: std::ops::Range<usize>,
    pairs: &mut Vec<u64>,
) {
    use std::arch::x86_64::*;
    let Gathered {
        owners,
        local,
        min_same,
        ..
    } = bucket;
    let k = if K == 0 { bucket.k } else { K };
    let sig = |x: usize| &local[x * k..(x + 1) * k];
    for x in rows {
        let a = sig(x);
        for y in x + 1..owners.len() {
            let b = sig(y);
            let mut counts = _mm256_setzero_si256();
            for (p, q) in a.chunks_exact(32).zip(b.chunks_exact(32)) {
                // SAFETY: `p` and `q` are 32 bytes each (unaligned loads
                // are allowed).
                let (p, q) = unsafe {
                    (
                        _mm256_loadu_si256(p.as_ptr().cast()),
                        _mm256_loadu_si256(q.as_ptr().cast()),
                    )
                };
                counts = _mm256_sub_epi8(counts, _mm256_cmpeq_epi8(p, q));
            }
            let sums = _mm256_sad_epu8(counts, _mm256_setzero_si256());
            let sums = _mm_add_epi64(
                _mm256_castsi256_si128(sums),
                _mm256_extracti128_si256(sums, 1),
            );
            let same = (_mm_cvtsi128_si64(sums) + _mm_extract_epi64(sums, 1)) as usize;
            if same >= min_same {
                pairs.push(pack_pair(owners[x], owners[y]));
            }
        }
    }
}

/// Estimated Jaccard similarity from two signatures of one byte per bin:
/// the fraction of equal bins, less the 1/256 chance that two different
/// minima share their low byte.
fn estimate(a: &[u8], b: &[u8]) -> f64 {
    estimate_from(equal_bytes(a, b), a.len())
}

/// [`estimate`] from the number of equal bytes of `k`.
fn estimate_from(same: usize, k: usize) -> f64 {
    let chance = 1.0 / 256.0;
    ((same as f64 / k.max(1) as f64 - chance) / (1.0 - chance)).max(0.0)
}

/// One-permutation MinHash of a set into `out.len()` one-byte bins, not
/// densified: 0 marks a bin no shingle reached, and a bin's minimum is
/// stored as a byte from 1 to 255.
fn sparse_signature(set: &[u32], mins: &mut Vec<u64>, out: &mut [u8]) {
    let bins = out.len();
    mins.clear();
    mins.resize(bins, u64::MAX);
    for &h in set {
        let x = crate::shingle::mix64(u64::from(h) ^ 0x0F1E_2D3C_4B5A_6978);
        let bin = crate::minhash::fast_range(x, bins);
        let v = x & (u64::MAX >> 12);
        if v < mins[bin] {
            mins[bin] = v;
        }
    }
    for (o, &m) in out.iter_mut().zip(mins.iter()) {
        *o = if m == u64::MAX {
            0
        } else {
            (m % 255) as u8 + 1
        };
    }
}

/// Estimated Jaccard similarity from two [`sparse_signature`]s, and the
/// number of bins it rests on (those either set reached): the fraction of
/// those bins where both hold the same minimum, less the 1/255 chance that
/// two different minima share a byte.
fn sparse_estimate(a: &[u8], b: &[u8]) -> (f64, usize) {
    // Byte compares summed per 64-byte block (vector compares, as in
    // `equal_bytes`).
    let (mut same, mut reached, mut both) = (0usize, 0usize, 0usize);
    let (ca, cb) = (a.chunks_exact(64), b.chunks_exact(64));
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        same += usize::from(x == y && x != 0);
        reached += usize::from(x != 0 || y != 0);
        both += usize::from(x != 0 && y != 0);
    }
    for (x, y) in ca.zip(cb) {
        let (mut s, mut r, mut o) = (0u8, 0u8, 0u8);
        for i in 0..64 {
            let (x, y) = (x[i], y[i]);
            s += u8::from((x == y) & (x != 0));
            r += u8::from((x | y) != 0);
            o += u8::from((x != 0) & (y != 0));
        }
        same += usize::from(s);
        reached += usize::from(r);
        both += usize::from(o);
    }
    if reached == 0 {
        return (0.0, 0);
    }
    // Bins where both hold a minimum but not the same shingle match by
    // chance one time in 255.
    let chance = (both - same.min(both)) as f64 / 254.0;
    let e = ((same as f64 - chance).max(0.0) / reached as f64).min(1.0);
    (e, reached)
}

/// How many positions hold the same byte in `a` and `b` (equal lengths).
/// Written as byte compares summed per 64-byte block, the form the
/// compiler turns into vector compares (SSE2 on any x86-64).
#[inline]
fn equal_bytes(a: &[u8], b: &[u8]) -> usize {
    let (ca, cb) = (a.chunks_exact(64), b.chunks_exact(64));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .filter(|(x, y)| x == y)
        .count();
    let mut total = 0usize;
    for (x, y) in ca.zip(cb) {
        let mut same = 0u8;
        for i in 0..64 {
            same += u8::from(x[i] == y[i]);
        }
        total += usize::from(same);
    }
    total + tail
}

/// Jaccard similarity of two sorted, deduplicated sets.
///
/// The merge steps without branching on the comparison (which goes either
/// way at random, so a branch on it is mispredicted half the time): each
/// step counts an equal pair and advances the side or sides holding the
/// smaller value.
fn exact_jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        both += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
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

/// Write a dedup report as JSON (`wiretrace dedup` in the report contract).
pub fn write_dedup_json(r: &DedupReport, out: &mut dyn Write) -> std::io::Result<()> {
    let id = |i: usize| r.documents[i].id.as_str();
    let mut json = crate::report::PrettyObject::new(out)?;
    json.field("version", &1)?;
    json.documents_field("documents", &r.documents)?;
    json.field("skipped", &r.skipped)?;
    json.seq_field("pairs", &r.pairs, |p| JsonPair {
        a: id(p.a),
        b: id(p.b),
        similarity: p.similarity,
    })?;
    let numbered: Vec<(usize, &Vec<usize>)> = r.clusters.iter().enumerate().collect();
    json.seq_field("clusters", &numbered, |&(i, g)| JsonCluster {
        id: i,
        docs: g.iter().map(|&d| id(d)).collect(),
    })?;
    json.finish()
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
    fn reading_and_hashing_together_gives_the_same_report() {
        let dir =
            std::env::temp_dir().join(format!("wiretrace-dedup-paths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = include_str!("../seeds/003_5edc88af400f5deb.txt");
        let edited = base
            .replace("U.S.", "US")
            .replace("militants", "terrorists");
        let line = |id: &str, text: &str| serde_json::json!({"id": id, "text": text}).to_string();
        let jsonl = [
            line("a", base),
            line("b", &edited),
            "{not json".to_string(),
            // Hashed before it is dropped: it must enter no band's buckets
            // (a near-duplicate of "c", it would make a pair otherwise).
            line(
                "a",
                &include_str!("../seeds/001_848d868a6b3a0ab3.txt").replace(" the ", " a "),
            ),
            line("c", include_str!("../seeds/001_848d868a6b3a0ab3.txt")),
        ]
        .join("\n");
        std::fs::write(dir.join("x.jsonl"), jsonl).unwrap();
        let half = edited.len() / 2;
        let half = (half..edited.len())
            .find(|&i| edited.is_char_boundary(i))
            .unwrap_or(0);
        std::fs::write(dir.join("d.txt"), &edited[..half]).unwrap();
        let paths = [dir.clone()];
        let options = ReadOptions::default();
        let s = DedupSettings {
            threshold: 0.4,
            ..DedupSettings::default()
        };
        let together = dedup_paths(&paths, &options, &s).unwrap();
        let apart = dedup(crate::corpus::read_corpus(&paths, &options).unwrap(), &s).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let ids = |r: &DedupReport| r.documents.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&together), ["d", "a", "b", "c"]);
        assert_eq!(ids(&together), ids(&apart));
        assert_eq!(together.skipped, apart.skipped);
        assert_eq!(together.skipped.len(), 2);
        assert_eq!(together.pairs, apart.pairs);
        assert_eq!(together.clusters, apart.clusters);
        assert_eq!(together.clusters, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn a_slot_gives_back_what_was_pushed() {
        let k = 16;
        let mut slot = Slot::default();
        let mut pushed = Vec::new();
        let mut rng = crate::quotes::tests::numbers(7);
        // Enough documents for several signature pieces, and lengths
        // from none to more than a fingerprint piece.
        for d in 0..3 * SIGS_PER_PIECE as u64 + 5 {
            let len = if d % 1000 == 1 {
                PRINTS_PER_PIECE + 3
            } else if d % 7 == 0 {
                0
            } else {
                rng(300) as usize
            };
            // Half the documents repeat fingerprints.
            let range = if d % 2 == 0 { u64::MAX } else { 500 };
            let shingles: Vec<u64> = (0..len).map(|_| rng(range)).collect();
            // Values whose low 16 bits are one of three, so that bands
            // of two documents are often equal.
            let sig: Vec<u64> = (0..k).map(|_| rng(u64::MAX) << 16 | rng(3)).collect();
            let with_sig = !shingles.is_empty();
            let seq = slot.push(&shingles, with_sig.then_some(&sig[..]), k);
            assert_eq!(seq as usize, pushed.len());
            pushed.push((shingles, with_sig.then_some(sig)));
        }
        let values: Vec<Option<Vec<u16>>> = pushed
            .iter()
            .map(|(_, sig)| {
                sig.as_ref()
                    .map(|sig| sig.iter().map(|&v| v as u16).collect())
            })
            .collect();
        for (seq, ((shingles, _), values)) in pushed.iter().zip(&values).enumerate() {
            let prints: Vec<u32> = shingles.iter().map(|&h| h as u32).collect();
            assert_eq!(slot.prints(seq as u32), prints);
            let want = values.clone().unwrap_or_else(|| vec![0; k]);
            assert_eq!(slot.sig(seq as u32).collect::<Vec<u16>>(), want);
        }
        // Band entries: one per document with a signature, under its own
        // number (here its owner, shifted), and two documents share a key
        // exactly when their values in the band are equal. Overlapping
        // bands: the last ones wrap around the end.
        let banding = Banding { bands: 10, rows: 3 };
        let owners: Vec<Vec<u32>> = vec![
            values
                .iter()
                .enumerate()
                .map(|(seq, v)| {
                    if v.is_some() {
                        seq as u32 + 7
                    } else {
                        u32::MAX
                    }
                })
                .collect(),
        ];
        let slots = [slot];
        let mut keys_of_bands = Vec::new();
        for b in 0..banding.bands {
            let band = Band::new(&banding, b, k);
            let start = b * k / banding.bands;
            let cols: Vec<usize> = (start..start + 3).map(|c| c % k).collect();
            assert_eq!(band.cols, cols);
            let mut entries = Vec::new();
            band_entries(&slots, &owners, &band, &mut entries);
            let mut key = vec![None; values.len()];
            for &e in &entries {
                let seq = (e as u32 - 7) as usize;
                assert!(key[seq].is_none() && values[seq].is_some());
                key[seq] = Some(e >> OWNER_BITS);
            }
            assert_eq!(entries.len(), values.iter().flatten().count());
            let in_band = |v: &Vec<u16>| cols.iter().map(|&c| v[c]).collect::<Vec<u16>>();
            for x in (0..values.len()).step_by(41) {
                for y in 0..values.len() {
                    if let (Some(vx), Some(vy)) = (&values[x], &values[y]) {
                        assert_eq!(
                            key[x] == key[y],
                            in_band(vx) == in_band(vy),
                            "band {b}, {x} {y}"
                        );
                    }
                }
            }
            keys_of_bands.push(key);
        }
        // Equal values in two bands give different keys.
        let (c0, c1) = (
            Band::new(&banding, 0, k).cols,
            Band::new(&banding, 1, k).cols,
        );
        let same = (0..values.len())
            .filter(|&x| {
                values[x]
                    .as_ref()
                    .is_some_and(|v| c0.iter().zip(&c1).all(|(&a, &b)| v[a] == v[b]))
            })
            .inspect(|&x| assert_ne!(keys_of_bands[0][x], keys_of_bands[1][x]))
            .count();
        assert!(same > 10, "{same}");
        let [slot] = slots;
        // The exact check's sets: every third document's fingerprints,
        // sorted where they lie, without repeats, in the order asked.
        let places: Vec<Place> = (0..pushed.len() as u32)
            .map(|seq| Place { slot: 0, seq })
            .collect();
        let involved: Vec<u32> = (0..pushed.len() as u32).step_by(3).collect();
        let want: Vec<Vec<u32>> = involved
            .iter()
            .map(|&i| {
                let mut set: Vec<u32> = pushed[i as usize].0.iter().map(|&h| h as u32).collect();
                set.sort_unstable();
                set.dedup();
                set
            })
            .collect();
        let mut slots = [slot];
        assert_eq!(sorted_sets(&mut slots, &places, &involved), want);
    }

    #[test]
    fn gathered_buckets_give_the_defined_pairs() {
        // Signatures over a four-byte alphabet (about a quarter of the
        // bytes equal by chance), some rows copies of others with a few
        // bytes changed, so that the equal counts spread over the range;
        // every threshold from 0 to k + 1, for k with and without the
        // 32-byte kernel (which a processor without AVX2 skips).
        let mut state = 7u64;
        let mut next = || {
            state = crate::shingle::mix64(state.wrapping_add(1));
            state
        };
        for k in [32, 100, 128, 256, 1024] {
            let m = 70;
            let mut local = vec![0u8; m * k];
            for x in 0..m {
                for i in 0..k {
                    local[x * k + i] = if x % 3 == 2 && next() % 8 != 0 {
                        local[(x - 1) * k + i]
                    } else {
                        (next() % 4) as u8
                    };
                }
            }
            let owners: Vec<u32> = (0..m as u32).map(|o| o * 3 + 1).collect();
            for min_same in (0..=k + 1).step_by(k.div_ceil(40)) {
                let mut expected = Vec::new();
                for x in 0..m {
                    for y in x + 1..m {
                        let same = (0..k)
                            .filter(|&i| local[x * k + i] == local[y * k + i])
                            .count();
                        if same >= min_same {
                            expected.push(u64::from(owners[x]) << 32 | u64::from(owners[y]));
                        }
                    }
                }
                // Whole, and cut into tasks of a few rows (as a large
                // bucket is).
                for rows in [m, 1, 4, 33] {
                    let mut found = Vec::new();
                    let bucket = Gathered {
                        owners: &owners,
                        local: &local,
                        k,
                        min_same,
                    };
                    gathered_pairs_split(bucket, rows, &mut found);
                    assert_eq!(found, expected, "k {k}, min_same {min_same}, rows {rows}");
                }
            }
        }
    }

    #[test]
    fn counts_equal_bytes() {
        let a: Vec<u8> = (0..131u32).map(|i| (i * 7) as u8).collect();
        let mut b = a.clone();
        for i in [0, 5, 8, 63, 64, 127, 130] {
            b[i] ^= 0x80;
        }
        b[9] ^= 1;
        assert_eq!(equal_bytes(&a, &b), 131 - 8);
        assert_eq!(equal_bytes(&a, &a), 131);
        assert!((estimate(&a, &a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn sparse_estimates_track_jaccard() {
        let mut mins = Vec::new();
        let (mut sa, mut sb) = (vec![0u8; CHECK_BINS], vec![0u8; CHECK_BINS]);
        for (n, shared) in [
            (50u64, 25u64),
            (400, 200),
            (400, 40),
            (3000, 2500),
            (10, 10),
        ] {
            let a: Vec<u32> = (0..n).map(|i| crate::shingle::mix64(i) as u32).collect();
            let b: Vec<u32> = (0..n)
                .map(|i| crate::shingle::mix64(if i < shared { i } else { i + (1 << 40) }) as u32)
                .collect();
            sparse_signature(&a, &mut mins, &mut sa);
            sparse_signature(&b, &mut mins, &mut sb);
            let (e, samples) = sparse_estimate(&sa, &sb);
            let exact = shared as f64 / (2 * n - shared) as f64;
            let sd = (exact * (1.0 - exact) / samples as f64).sqrt();
            assert!(
                (e - exact).abs() <= 4.0 * sd + 1e-9,
                "{n} {shared}: {e} vs {exact}"
            );
            assert!(samples <= CHECK_BINS && samples > 0);
        }
    }

    #[test]
    fn threshold_one_means_identical_sets() {
        // At threshold 1 the margin is zero: no estimate may stand in for
        // the exact sets, or near-copies whose signatures happen to agree
        // everywhere would be reported.
        let words: Vec<String> = (0..20_000).map(|i| format!("w{i}")).collect();
        let text = words.join(" ");
        let mut changed = words.clone();
        changed[10_000] = "other".into();
        let docs = vec![
            Document::new("a", text.clone()),
            Document::new("b", text),
            Document::new("c", changed.join(" ")),
        ];
        let s = DedupSettings {
            threshold: 1.0,
            ..Default::default()
        };
        let r = dedup(Corpus::from_documents(docs), &s).unwrap();
        let found: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(found, vec![(0, 1)]);
        assert_eq!(r.pairs[0].similarity, 1.0);
    }

    #[test]
    fn large_sets_near_the_threshold_are_decided_right() {
        // Pages of 3,000 distinct words (sets over SPARSE_FROM, so the
        // finer signature runs), each with a block of its own words at the
        // start: their pairs' Jaccard similarities spread from about 0.35
        // to 0.75 around the threshold 0.5. The reported pairs must be
        // exactly those whose exact similarity reaches it.
        const N: usize = 3_000;
        let base: Vec<String> = (0..N).map(|i| format!("w{i}")).collect();
        let targets = [1.0, 0.75, 0.62, 0.55, 0.51, 0.49, 0.45, 0.40, 0.35];
        let pages: Vec<Vec<String>> = targets
            .iter()
            .enumerate()
            .map(|(v, &j)| {
                let m = ((N - 4) as f64 * (1.0 - j) / (1.0 + j)) as usize;
                let mut words = base.clone();
                for (i, w) in words.iter_mut().take(m).enumerate() {
                    *w = format!("v{v}x{i}");
                }
                words
            })
            .collect();
        let shingles = |w: &[String]| -> std::collections::HashSet<String> {
            w.windows(5).map(|x| x.join(" ")).collect()
        };
        let sets: Vec<_> = pages.iter().map(|p| shingles(p)).collect();
        assert!(sets.iter().all(|s| s.len() > SPARSE_FROM));
        let mut expected = Vec::new();
        for a in 0..sets.len() {
            for b in a + 1..sets.len() {
                let both = sets[a].intersection(&sets[b]).count();
                let j = both as f64 / (sets[a].len() + sets[b].len() - both) as f64;
                if j >= 0.5 {
                    expected.push((a, b));
                }
            }
        }
        let docs = pages
            .iter()
            .enumerate()
            .map(|(v, w)| Document::new(format!("{v}"), w.join(" ")))
            .collect();
        let r = dedup(Corpus::from_documents(docs), &DedupSettings::default()).unwrap();
        let found: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(found, expected);
        assert!(expected.len() >= 10, "{expected:?}");
    }

    #[test]
    fn large_buckets_are_checked_like_small_ones() {
        // 400 pages, three fifths of each the same site chrome: about one
        // band value in five comes wholly from the chrome, so buckets hold
        // some 80 pages (more than GATHER_FROM) and the gathered compare
        // runs. Pages 2k and 2k + 1 carry the same story; other pairs are
        // at Jaccard 0.43, under the threshold.
        let chrome: String = (0..600).map(|i| format!("chrome{i} ")).collect();
        let docs: Vec<Document> = (0..400)
            .map(|d| {
                let story: String = (0..400).map(|i| format!("s{}w{i} ", d / 2)).collect();
                Document::new(format!("{d:03}"), format!("{chrome}{story}"))
            })
            .collect();
        let r = dedup(Corpus::from_documents(docs), &DedupSettings::default()).unwrap();
        let found: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.a, p.b)).collect();
        let expected: Vec<(usize, usize)> = (0..200).map(|i| (2 * i, 2 * i + 1)).collect();
        assert_eq!(found, expected);
        const { assert!(GATHER_FROM < 80) };
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
