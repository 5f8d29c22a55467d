//! Stage 3c: banded locality-sensitive hashing over MinHash signatures.
//!
//! A signature of `bands × rows` values is cut into bands; two signatures
//! become a candidate pair when all `rows` values of at least one band are
//! equal. For two sets of Jaccard similarity J the chance of that is the
//! S-curve
//!
//! ```text
//! P(candidate | J) = 1 - (1 - J^rows)^bands
//! ```
//!
//! which rises steeply around `J ≈ (1/bands)^(1/rows)`. Buckets are found by
//! sorting `(band key, owner)` pairs, not with a hash map: one radix-friendly
//! sort over a flat vector is faster and keeps the output deterministic.

use rayon::prelude::*;

use crate::shingle::mix64;

/// How signatures are cut into bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Banding {
    /// Number of bands.
    pub bands: usize,
    /// Values per band.
    pub rows: usize,
}

impl Banding {
    /// Signature length this banding needs: `bands * rows`.
    pub fn len(&self) -> usize {
        self.bands * self.rows
    }

    /// True if the banding has no bands.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Probability that a pair with Jaccard similarity `j` becomes a candidate.
    pub fn probability(&self, j: f64) -> f64 {
        1.0 - (1.0 - j.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// The similarity where the S-curve is steepest, about `(1/b)^(1/r)`.
    pub fn threshold(&self) -> f64 {
        (1.0 / self.bands as f64).powf(1.0 / self.rows as f64)
    }

    /// The banding with `bands * rows <= k` whose S-curve threshold is
    /// closest to `t` (false negatives weigh more than false positives, so
    /// ties go to the lower threshold).
    pub fn for_threshold(k: usize, t: f64) -> Banding {
        let mut best = Banding {
            bands: k.max(1),
            rows: 1,
        };
        let mut best_err = f64::MAX;
        for rows in 1..=k.max(1) {
            let bands = k / rows;
            if bands == 0 {
                break;
            }
            let b = Banding { bands, rows };
            let err = (b.threshold() - t).abs();
            if err < best_err - 1e-12 {
                best = b;
                best_err = err;
            }
        }
        best
    }

    /// A banding for a signature of length `k` that misses a pair of
    /// Jaccard similarity exactly `t` with probability at most `max_miss`
    /// (pairs above `t` are missed less often still), with as many rows
    /// per band as that allows (the fewest spurious candidates), then as
    /// few bands. Bands may overlap (up to about two bands per value) when
    /// disjoint bands cannot reach `max_miss`; the S-curve then holds
    /// approximately, as overlapping bands are not independent.
    pub fn for_recall(k: usize, t: f64, max_miss: f64) -> Banding {
        let k = k.max(1);
        for rows in (1..=k).rev() {
            let p = t.clamp(0.0, 1.0).powi(rows as i32);
            let needed = if p >= 1.0 {
                1.0
            } else if p <= 0.0 {
                f64::INFINITY
            } else {
                (max_miss.ln() / (-p).ln_1p()).ceil().max(1.0)
            };
            if needed <= (2 * k / rows).max(1) as f64 {
                return Banding {
                    bands: needed as usize,
                    rows,
                };
            }
        }
        Banding { bands: k, rows: 1 }
    }

    /// Append the band keys of `sig` (one per band; the band number is
    /// mixed in, so equal values in different bands never collide).
    ///
    /// Band `b` covers `rows` consecutive values from `b * sig.len() /
    /// bands`, wrapping around the end: disjoint chunks when `bands * rows
    /// == sig.len()`, overlapping ones when `bands * rows` is larger.
    pub fn keys(&self, sig: &[u64], out: &mut Vec<u64>) {
        if sig.is_empty() || self.bands == 0 {
            return;
        }
        // The usual row counts with the count known when compiled (the
        // band's fold unrolled).
        match self.rows {
            1 => self.keys_of::<1>(sig, out),
            2 => self.keys_of::<2>(sig, out),
            3 => self.keys_of::<3>(sig, out),
            4 => self.keys_of::<4>(sig, out),
            5 => self.keys_of::<5>(sig, out),
            6 => self.keys_of::<6>(sig, out),
            7 => self.keys_of::<7>(sig, out),
            8 => self.keys_of::<8>(sig, out),
            _ => self.keys_of::<0>(sig, out),
        }
    }

    /// The positions of band `b`'s values in a signature of `len` values:
    /// `rows` consecutive ones from `b * len / bands`, wrapping around the
    /// end, as [`Banding::keys`] cuts them.
    pub(crate) fn columns(&self, b: usize, len: usize) -> impl Iterator<Item = usize> {
        let start = b * len / self.bands.max(1);
        (start..start + self.rows).map(move |c| c % len.max(1))
    }

    /// [`Banding::keys`] for `R` rows (`R == 0`: `self.rows`, whatever it
    /// is).
    fn keys_of<const R: usize>(&self, sig: &[u64], out: &mut Vec<u64>) {
        let len = sig.len();
        let rows = if R == 0 { self.rows } else { R };
        // `start` is `b * len / bands`, stepped without a division per band
        // (and the wrap without one per row): a division costs tens of
        // cycles, and this runs for every band of every document.
        let (step, extra) = (len / self.bands, len % self.bands);
        let (mut start, mut carry) = (0, 0);
        let at = out.len();
        out.resize(at + self.bands, 0);
        let keys = &mut out[at..];
        BAND_SALTS.with(|salts| {
            let mut salts = salts.borrow_mut();
            // Band b's salt is the same for every banding: computed once.
            for b in salts.len()..self.bands {
                salts.push(band_salt(b));
            }
            for (key, &salt) in keys.iter_mut().zip(&salts[..self.bands]) {
                // Most bands lie inside the signature: one bounds check
                // for the band, not one per row. The last bands of
                // overlapping bandings wrap around the end.
                *key = match sig.get(start..start + rows) {
                    Some(band) => band[..rows].iter().fold(salt, |h, &v| mix64(h ^ v)),
                    None => sig[start..]
                        .iter()
                        .chain(sig.iter().cycle())
                        .take(rows)
                        .fold(salt, |h, &v| mix64(h ^ v)),
                };
                start += step;
                carry += extra;
                if carry >= self.bands {
                    carry -= self.bands;
                    start += 1;
                }
            }
        });
    }
}

/// Band `b`'s salt, mixed into its keys so that equal values in
/// different bands give different keys.
#[inline]
pub(crate) fn band_salt(b: usize) -> u64 {
    mix64(b as u64 ^ 0xB0A7_DEED)
}

thread_local! {
    /// Each band's salt ([`band_salt`]), for the most bands used
    /// on this thread so far.
    static BAND_SALTS: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What the bucketing saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketStats {
    /// Buckets holding two or more owners.
    pub shared_buckets: usize,
    /// Buckets skipped because more than `max_bucket` owners shared them.
    pub oversized_buckets: usize,
}

impl BucketStats {
    /// Both counts added up.
    fn plus(self, other: BucketStats) -> BucketStats {
        BucketStats {
            shared_buckets: self.shared_buckets + other.shared_buckets,
            oversized_buckets: self.oversized_buckets + other.oversized_buckets,
        }
    }
}

/// Candidate owner pairs `(a, b)`, `a < b`, sorted and without repeats,
/// from `(band key, owner)` entries. Keys must be well-mixed hashes (as
/// [`Banding::keys`] makes them): keys equal on their high bits may share a
/// bucket, which only adds a spurious candidate. A bucket with more than `max_bucket`
/// distinct owners is text common to too many documents to be evidence of
/// reuse (boilerplate) and is skipped.
pub fn candidate_pairs(
    entries: Vec<(u64, u32)>,
    max_bucket: usize,
) -> (Vec<(u32, u32)>, BucketStats) {
    candidate_pairs_where(entries, max_bucket, &|_, _| true)
}

/// [`candidate_pairs`], keeping only the pairs `(a, b)` for which
/// `keep(a, b)` holds. The test runs as pairs leave their buckets, before
/// repeats are removed, so a pair sharing several buckets is tested more
/// than once: `keep` should be cheap and must be deterministic.
pub fn candidate_pairs_where<F: Fn(u32, u32) -> bool + Sync>(
    entries: Vec<(u64, u32)>,
    max_bucket: usize,
    keep: &F,
) -> (Vec<(u32, u32)>, BucketStats) {
    bucket_pairs(
        entries,
        max_bucket,
        &|owners: &[u32], pairs: &mut Vec<u64>| {
            each_pair(owners, |x, y| keep(owners[x], owners[y]), pairs);
        },
    )
}

/// Push every pair of `owners` (packed as `a << 32 | b`, in bucket order)
/// for which `keep(x, y)` holds, `x < y` being positions in `owners`.
#[inline]
pub(crate) fn each_pair(owners: &[u32], keep: impl Fn(usize, usize) -> bool, pairs: &mut Vec<u64>) {
    for x in 0..owners.len() {
        for y in x + 1..owners.len() {
            if keep(x, y) {
                pairs.push(pack_pair(owners[x], owners[y]));
            }
        }
    }
}

/// A pair of owners as one number, `a << 32 | b` (sorted as the pair
/// would be).
#[inline]
pub(crate) fn pack_pair(a: u32, b: u32) -> u64 {
    u64::from(a) << 32 | u64::from(b)
}

/// The bucketing under [`candidate_pairs_where`]: `visit` is given each
/// bucket of two to `max_bucket` owners (distinct, ascending) and pushes
/// the pairs it keeps, packed as `a << 32 | b` with `a < b`. A caller that
/// checks pairs on per-owner data can gather a large bucket's data once.
pub(crate) fn bucket_pairs<V: Fn(&[u32], &mut Vec<u64>) + Sync>(
    entries: Vec<(u64, u32)>,
    max_bucket: usize,
    visit: &V,
) -> (Vec<(u32, u32)>, BucketStats) {
    let owners = entries
        .iter()
        .map(|e| e.1)
        .max()
        .map_or(0, |m| m as usize + 1);
    let owner_bits = owner_bits_for(owners);
    let chunk = entries
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(1);
    let producers: Vec<Partitioned> = entries
        .par_chunks(chunk)
        .map(|c| {
            let mut p = Partitioned::with_capacity(c.len());
            for &(key, owner) in c {
                p.push(pack_entry(key, owner, owner_bits));
            }
            p
        })
        .collect();
    drop(entries);
    bucket_partitioned(producers, owner_bits, max_bucket, visit)
}

/// Buckets never straddle two partitions of the top byte of their key, so
/// each partition is sorted and scanned on its own.
const PARTS: usize = 256;

/// Packed entries ([`pack_entry`]) put in the partition of their top byte
/// as they are made: the entries of several producers (one per chunk of
/// the work, made in parallel) are then gathered, sorted and scanned
/// partition by partition, in parallel, with no pass over them all on one
/// thread. Also used for packed pairs, spread by [`Partitioned::push_to`].
///
/// A partition that outgrows its room starts a new piece of the same
/// size instead of being moved to a larger buffer: the gathering copies
/// every piece once anyway, and a buffer grown by doubling would leave
/// its outgrown copies in the heap.
pub(crate) struct Partitioned {
    /// Each partition's piece being filled.
    parts: Vec<Vec<u64>>,
    /// Filled pieces, with their partition.
    full: Vec<(usize, Vec<u64>)>,
}

/// The room of a piece of a [`Partitioned::default`] (4 KiB).
const GROWING_PIECE: usize = 512;

impl Partitioned {
    /// No entries yet, room for about `expected` (uniform keys spread
    /// them evenly, so each partition gets its share and some slack).
    pub(crate) fn with_capacity(expected: usize) -> Self {
        let each = expected / PARTS;
        let each = each + each / 4 + 8;
        Partitioned {
            parts: (0..PARTS).map(|_| Vec::with_capacity(each)).collect(),
            full: Vec::new(),
        }
    }

    /// Add one packed entry.
    #[inline]
    pub(crate) fn push(&mut self, entry: u64) {
        self.push_to((entry >> 56) as usize, entry);
    }

    /// Add `value` to partition `part` (below [`PARTS`]).
    #[inline]
    fn push_to(&mut self, part: usize, value: u64) {
        let piece = &mut self.parts[part];
        if piece.len() == piece.capacity() {
            self.new_piece(part);
        }
        self.parts[part].push(value);
    }

    /// Put partition `part`'s full piece aside and give it a fresh one
    /// of the same room (at least [`GROWING_PIECE`]).
    #[cold]
    fn new_piece(&mut self, part: usize) {
        let room = self.parts[part].capacity().max(GROWING_PIECE);
        let full = std::mem::replace(&mut self.parts[part], Vec::with_capacity(room));
        if !full.is_empty() {
            self.full.push((part, full));
        }
    }
}

impl Default for Partitioned {
    /// No entries yet and no room: for a producer whose share is not
    /// known in advance, which gets pieces of [`GROWING_PIECE`] entries.
    fn default() -> Self {
        Partitioned {
            parts: (0..PARTS).map(|_| Vec::new()).collect(),
            full: Vec::new(),
        }
    }
}

/// Gather each partition of `producers` into one vector and apply `f` to
/// it, the partitions in parallel; the results in partition order.
pub(crate) fn each_partition<R: Send>(
    producers: Vec<Partitioned>,
    f: impl Fn(Vec<u64>) -> R + Sync,
) -> Vec<R> {
    let mut pieces: Vec<Vec<Vec<u64>>> = (0..PARTS)
        .map(|_| Vec::with_capacity(producers.len()))
        .collect();
    for producer in producers {
        for (piece, part) in producer.parts.into_iter().zip(&mut pieces) {
            part.push(piece);
        }
        for (part, piece) in producer.full {
            pieces[part].push(piece);
        }
    }
    pieces
        .into_par_iter()
        .map(|mut pieces| {
            let whole = if pieces.len() == 1 {
                pieces.pop().unwrap_or_default()
            } else {
                let mut whole = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
                for piece in pieces {
                    whole.extend_from_slice(&piece);
                }
                whole
            };
            f(whole)
        })
        .collect()
}

/// The partitions of `producers`' packed entries, each sorted, without
/// repeats (one owner entered twice in a bucket) and without the entries
/// of one-owner buckets ([`keep_shared`]): the buckets to scan.
fn sorted_partitions(producers: Vec<Partitioned>, owner_mask: u64) -> Vec<Vec<u64>> {
    each_partition(producers, |mut part| {
        let kept = clear_partition(&mut part, owner_mask);
        part.truncate(kept);
        part.shrink_to_fit();
        part
    })
}

/// Sort one partition's entries ([`sort_partition`]) and move to its front
/// those of buckets of two owners or more, without repeats (one owner
/// entered twice in a bucket; see [`keep_shared`]); returns how many.
fn clear_partition(part: &mut [u64], owner_mask: u64) -> usize {
    let maybe = maybe_shared_first(part, owner_mask);
    let part = &mut part[..maybe];
    sort_partition(part);
    let distinct = dedup_in(part);
    keep_shared(&mut part[..distinct], owner_mask)
}

/// Move to the front of `part`, in order, every entry whose key another
/// entry may share, and return how many: the entries left out are alone
/// in their bucket for sure, so they need not be sorted at all (what
/// remains behind the front is unspecified).
///
/// Most band keys are one owner's, and sorting them was most of the
/// bucketing's work: on Reuters, 9% of `dedup`'s entries pass this filter
/// (lone keys that share a slot by chance among them), 34% of `scan`'s. Each
/// entry's key is hashed to one of at least [`SLOTS_PER_ENTRY`] slots per
/// entry, and two bit sets note the slots seen once and seen again; the
/// entries of a slot seen again are kept. Equal keys share their slot, so
/// no shared key is ever dropped; a lone key shares its slot with another
/// by chance (about one in [`SLOTS_PER_ENTRY`]) and is kept, to be dropped
/// by [`keep_shared`] after the sort. An owner entered twice in a bucket
/// is kept the same way and its repeat dropped by [`dedup_in`].
fn maybe_shared_first(part: &mut [u64], owner_mask: u64) -> usize {
    if part.len() < FILTER_FROM {
        return part.len();
    }
    let bits = (part.len() * SLOTS_PER_ENTRY)
        .next_power_of_two()
        .trailing_zeros();
    let key_mask = !owner_mask;
    // The slots in words of 64, each word a pair `[seen, seen again]`.
    let slot =
        |e: u64| ((e & key_mask).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize;
    SLOT_BITS.with(|scratch| {
        let mut words = scratch.borrow_mut();
        words.clear();
        words.resize(1 << bits.saturating_sub(6), [0; 2]);
        for &e in part.iter() {
            let s = slot(e);
            let (word, bit) = (&mut words[s >> 6], 1u64 << (s & 63));
            word[1] |= word[0] & bit;
            word[0] |= bit;
        }
        let mut kept = 0;
        for i in 0..part.len() {
            let e = part[i];
            let s = slot(e);
            part[kept] = e;
            kept += (words[s >> 6][1] >> (s & 63)) as usize & 1;
        }
        kept
    })
}

/// Partitions shorter than this are sorted whole ([`maybe_shared_first`]
/// is not worth its bit sets).
const FILTER_FROM: usize = 256;

/// Slots per entry in [`maybe_shared_first`]'s bit sets (a power of two):
/// a lone key is kept for sorting with probability about its inverse.
const SLOTS_PER_ENTRY: usize = 16;

thread_local! {
    /// [`maybe_shared_first`]'s two bit sets, kept between partitions.
    static SLOT_BITS: std::cell::RefCell<Vec<[u64; 2]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sort one partition's entries, which nearly always share their top byte
/// (the partition's): spread by the next byte into 256 runs (one counting
/// pass and one scatter into a copy), each run then sorted on its own and
/// the copy written back. The runs are short, so this takes about half
/// the instructions of sorting the whole partition at once. Entries of
/// mixed top bytes are sorted whole.
fn sort_partition(v: &mut [u64]) {
    let top = |x: u64| x >> 56;
    if v.len() < 1024 || v.iter().any(|&x| top(x) != top(v[0])) {
        v.sort_unstable();
        return;
    }
    let byte = |x: u64| (x >> 48) as u8 as usize;
    let mut starts = [0usize; 257];
    for &x in v.iter() {
        starts[byte(x) + 1] += 1;
    }
    for b in 0..256 {
        starts[b + 1] += starts[b];
    }
    let mut spread = vec![0u64; v.len()];
    let mut at = starts;
    for &x in v.iter() {
        let b = byte(x);
        spread[at[b]] = x;
        at[b] += 1;
    }
    for b in 0..256 {
        spread[starts[b]..starts[b + 1]].sort_unstable();
    }
    v.copy_from_slice(&spread);
}

/// [`bucket_pairs`] over the entries of `producers`, packed with
/// `owner_bits`: each partition is gathered from every producer, sorted,
/// cleared of repeats and of one-owner buckets ([`keep_shared`]) and its
/// buckets visited, the partitions in parallel. The result does not
/// depend on how the entries were spread over producers.
pub(crate) fn bucket_partitioned<V: Fn(&[u32], &mut Vec<u64>) + Sync>(
    producers: Vec<Partitioned>,
    owner_bits: u32,
    max_bucket: usize,
    visit: &V,
) -> (Vec<(u32, u32)>, BucketStats) {
    let owner_mask = (1u64 << owner_bits) - 1;
    let parts = sorted_partitions(producers, owner_mask);
    let parts: Vec<&[u64]> = parts.iter().map(Vec::as_slice).collect();
    let (pairs, stats) = visit_buckets(&parts, owner_mask, max_bucket, visit);
    (unpack_pairs(pairs, 1), stats)
}

/// Candidate pairs found one band at a time: `entries(b, out)` pushes band
/// `b`'s entries onto `out` (empty), packed by [`pack_entry`] with
/// `owner_bits`, one per owner at most; each band's buckets of two owners
/// or more are visited as [`bucket_partitioned`] visits them, the bands in
/// parallel. Returns the pairs `visit` kept, packed as `a << 32 | b`,
/// sorted, once each.
///
/// Only one band's entries exist at a time on each thread (a few bytes
/// per owner), where bucketing all bands at once holds every band's
/// entries together: on Reuters' `dedup`, 69 bands of 21,578 documents,
/// 12 MB of fresh memory.
pub(crate) fn bucket_bands<E, V>(bands: usize, owner_bits: u32, entries: &E, visit: &V) -> Vec<u64>
where
    E: Fn(usize, &mut Vec<u64>) + Sync,
    V: Fn(&[u32], &mut Vec<u64>) + Sync,
{
    let owner_mask = (1u64 << owner_bits) - 1;
    // One run of bands per thread, each keeping its pairs without repeats
    // once they have doubled since they last were: a pair that shares many
    // bands is found in each, and site chrome shared by thousands of pages
    // gives millions of pairs in every band (generated 20k at 0.3: 25
    // million found, 10 million distinct).
    let per_thread = (bands / rayon::current_num_threads()).max(1);
    // A run's buffers: the band's entries, a bucket's owners, the pairs
    // kept so far and how many of them were distinct when last counted.
    type Run = (Vec<u64>, Vec<u32>, Vec<u64>, usize);
    let found: Vec<Vec<u64>> = (0..bands)
        .into_par_iter()
        .with_min_len(per_thread)
        .fold(
            || (Vec::new(), Vec::new(), Vec::new(), 0),
            |(mut band, mut owners, mut pairs, mut distinct): Run, b| {
                band.clear();
                entries(b, &mut band);
                let kept = clear_partition(&mut band, owner_mask);
                for_each_bucket(&band[..kept], owner_mask, |bucket| {
                    owners.clear();
                    owners.extend(bucket.iter().map(|&e| (e & owner_mask) as u32));
                    visit(&owners, &mut pairs);
                });
                if pairs.len() >= 2 * distinct.max(1 << 16) {
                    distinct = sort_distinct(&mut pairs);
                }
                (band, owners, pairs, distinct)
            },
        )
        .map(|(_, _, mut pairs, _)| {
            sort_distinct(&mut pairs);
            pairs
        })
        .collect();
    found.into_iter().reduce(merge_distinct).unwrap_or_default()
}

/// Sort `v` and drop its repeats; returns its new length.
fn sort_distinct(v: &mut Vec<u64>) -> usize {
    v.sort_unstable();
    let n = dedup_in(v);
    v.truncate(n);
    n
}

/// The union of two sorted vectors without repeats, sorted, once each.
fn merge_distinct(a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() { b } else { a };
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The number of low bits that hold an owner in a packed entry, for
/// owners `0..owners` (at most 33: owners are `u32`).
pub(crate) fn owner_bits_for(owners: usize) -> u32 {
    64 - (owners as u64).leading_zeros()
}

/// One `(band key, owner)` entry packed into one u64: the key's high bits,
/// the owner in the low `owner_bits`. Two keys equal on their high
/// 64 - owner_bits (at least 31) bits share a bucket: rarely a spurious
/// candidate, which the caller's check discards, never a missed one.
#[inline]
pub(crate) fn pack_entry(key: u64, owner: u32, owner_bits: u32) -> u64 {
    let owner_mask = (1u64 << owner_bits) - 1;
    (key & !owner_mask) | u64::from(owner)
}

/// [`candidate_pairs`] for entries already packed by [`pack_entry`] with
/// `owner_bits` (at most 33), keeping only the pairs that share a bucket
/// of at most `single_bucket_max` owners or share two buckets or more.
///
/// Windows made of stock phrases fall into large buckets with many other
/// documents' stock windows, one band at a time: such a pair shares one
/// bucket and no text worth a passage. Text really reused gives windows of
/// high Jaccard, which share several of their bands (at J = 0.5, each of
/// 16 bands of 2 rows with probability 0.25), or a small bucket.
///
/// The pairs are counted with their repeats before they are kept or
/// dropped, which in a large corpus takes far more memory than the pairs
/// kept (tens of millions of repeats for a few million pairs); so the
/// pairs are made in passes of about [`PAIR_PASS_BYTES`], each keeping the
/// pairs that hash to it.
pub(crate) fn candidate_pairs_packed(
    entries: impl Into<Entries>,
    owner_bits: u32,
    max_bucket: usize,
    single_bucket_max: usize,
) -> (Vec<(u32, u32)>, BucketStats) {
    pairs_in_passes(
        entries.into(),
        owner_bits,
        (max_bucket, single_bucket_max),
        PAIR_PASS_BYTES,
    )
}

/// [`candidate_pairs_packed`] with passes of `pass_bytes`.
fn pairs_in_passes(
    entries: Entries,
    owner_bits: u32,
    (max_bucket, single_bucket_max): (usize, usize),
    pass_bytes: usize,
) -> (Vec<(u32, u32)>, BucketStats) {
    let owner_mask = (1u64 << owner_bits) - 1;
    // One vector sorted in place: a scan's window entries are its largest
    // allocation, and gathering them from per-thread partitions held them
    // twice (1M documents: a peak of 2.58 GB instead of 1.61).
    let (mut entries, starts) = partitioned(entries);
    let parts = sorted_parts(&mut entries, starts, owner_mask);
    // Pairs of a small bucket are pushed twice, so that, counted with
    // their repeats, every pair to keep appears at least twice.
    let repeats = |n: usize| 1 + usize::from(n <= single_bucket_max);
    let counted: Vec<(usize, BucketStats)> = parts
        .par_iter()
        .map(|part| {
            let (mut raw, mut stats) = (0usize, BucketStats::default());
            for_each_bucket(part, owner_mask, |bucket| {
                stats.shared_buckets += 1;
                if bucket.len() > max_bucket {
                    stats.oversized_buckets += 1;
                } else {
                    let n = bucket.len();
                    raw += n * (n - 1) / 2 * repeats(n);
                }
            });
            (raw, stats)
        })
        .collect();
    let raw: usize = counted.iter().map(|c| c.0).sum();
    let stats = counted
        .iter()
        .fold(BucketStats::default(), |a, c| a.plus(c.1));
    let passes = (raw * 8).div_ceil(pass_bytes.max(1)).max(1) as u64;
    let mut kept: Vec<u64> = Vec::new();
    for pass in 0..passes {
        // Each part's pairs of this pass, spread over groups by a hash of
        // the pair (so that all copies of a pair meet in one group), in
        // vectors sized for about the part's share of the pass; then each
        // group is counted on its own.
        let found: Vec<Partitioned> = parts
            .par_iter()
            .zip(&counted)
            .map(|(part, &(raw, _))| {
                let mut pairs = Partitioned::with_capacity(raw / passes as usize);
                let mut owners: Vec<u32> = Vec::new();
                let mut made: Vec<u64> = Vec::new();
                for_each_bucket(part, owner_mask, |bucket| {
                    if bucket.len() > max_bucket {
                        return;
                    }
                    owners.clear();
                    owners.extend(bucket.iter().map(|&e| (e & owner_mask) as u32));
                    let mine = |x: usize, y: usize| {
                        passes == 1
                            || crate::shingle::mix64(pack_pair(owners[x], owners[y])) % passes
                                == pass
                    };
                    made.clear();
                    for _ in 0..repeats(owners.len()) {
                        each_pair(&owners, mine, &mut made);
                    }
                    for &pair in &made {
                        pairs.push_to(pair_group(pair), pair);
                    }
                });
                pairs
            })
            .collect();
        for group in each_partition(found, |group| repeated(group, 2)) {
            kept.extend(group);
        }
    }
    (unpack_pairs(kept, 1), stats)
}

/// The group of a packed pair in [`pairs_in_passes`]: a multiplicative
/// hash's top byte, so that the groups are about even.
#[inline]
fn pair_group(pair: u64) -> usize {
    (pair.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// The values of `v` found at least `min_repeats` times, once each, sorted.
fn repeated(mut v: Vec<u64>, min_repeats: usize) -> Vec<u64> {
    v.sort_unstable();
    v.chunk_by(|x, y| x == y)
        .filter(|run| run.len() >= min_repeats)
        .map(|run| run[0])
        .collect()
}

/// About how many bytes of pairs, counted with their repeats,
/// [`candidate_pairs_packed`] makes in one pass.
pub(crate) const PAIR_PASS_BYTES: usize = 128 << 20;

/// Each bucket of `sorted` (entries without repeats, sorted) holding two
/// owners or more, in order.
fn for_each_bucket(sorted: &[u64], owner_mask: u64, mut f: impl FnMut(&[u64])) {
    let mut i = 0;
    while i < sorted.len() {
        let j = bucket_end(sorted, owner_mask, i);
        if j - i > 1 {
            f(&sorted[i..j]);
        }
        i = j;
    }
}

/// Sort packed entries already spread into partitions by their top byte
/// (each starting at `starts`, as [`partition`] leaves them), drop repeats
/// (one owner entered twice in a bucket) and the entries of one-owner
/// buckets ([`keep_shared`]), and cut the rest into the 256 runs of equal
/// top byte, for buckets to be scanned in parallel. Nothing crosses a
/// partition (a bucket's entries share
/// their key, so its top byte), so each partition is sorted and cleared on
/// its own, in parallel; the kept entries are then moved down together.
fn sorted_parts(entries: &mut Vec<u64>, starts: [usize; 257], owner_mask: u64) -> Vec<&[u64]> {
    let kept: Vec<usize> = partitions_of(entries, &starts)
        .into_par_iter()
        .map(|part| clear_partition(part, owner_mask))
        .collect();
    let mut at = 0;
    for (p, &n) in kept.iter().enumerate() {
        entries.copy_within(starts[p]..starts[p] + n, at);
        at += n;
    }
    entries.truncate(at);
    entries.shrink_to_fit();
    let mut rest: &[u64] = entries;
    kept.iter()
        .map(|&n| {
            let (part, tail) = rest.split_at(n);
            rest = tail;
            part
        })
        .collect()
}

/// Drop the repeats of sorted `v` (as `Vec::dedup`), keeping the distinct
/// values in order at its front; returns how many there are.
pub(crate) fn dedup_in<T: Copy + PartialEq>(v: &mut [T]) -> usize {
    let mut kept = 0;
    for i in 0..v.len() {
        if kept == 0 || v[i] != v[kept - 1] {
            v[kept] = v[i];
            kept += 1;
        }
    }
    kept
}

/// The end of the bucket (the run of entries with `sorted[i]`'s key) that
/// starts at `i`.
fn bucket_end(sorted: &[u64], owner_mask: u64, i: usize) -> usize {
    let key = sorted[i] & !owner_mask;
    i + 1
        + sorted[i + 1..]
            .iter()
            .take_while(|&&e| e & !owner_mask == key)
            .count()
}

/// Move to the front of `sorted`, in order, only the entries of buckets
/// (runs of equal key) that hold two owners or more; returns how many.
/// Most band keys are a single window's: the callers hand back the memory
/// of the rest, and the passes over the buckets then run beside the
/// shared ones alone (at a million documents, 74 million entries).
fn keep_shared(sorted: &mut [u64], owner_mask: u64) -> usize {
    let mut kept = 0;
    let mut i = 0;
    while i < sorted.len() {
        let j = bucket_end(sorted, owner_mask, i);
        if j - i > 1 {
            sorted.copy_within(i..j, kept);
            kept += j - i;
        }
        i = j;
    }
    kept
}

/// Spread packed entries into 256 partitions by their top byte (keys are
/// uniform); returns where each partition starts (and, last, the length).
/// The order within a partition is not defined (callers sort them).
///
/// Up to [`SCATTER_MAX`] entries they are copied into a new vector by all
/// threads ([`partition_scattered`]); more, and they are permuted in place
/// ([`partition_in_place`]), which needs no second vector but runs on one
/// thread at a cache miss or so per entry (Reuters' `scan`, 2.3 million
/// window entries: 33 ms, a tenth of the run).
fn partition(entries: &mut Vec<u64>) -> [usize; 257] {
    if by_copy(entries.len()) {
        partition_scattered(entries)
    } else {
        partition_in_place(entries)
    }
}

/// Are `total` entries partitioned by a copy on all threads (rather than
/// in place on one)? Up to [`SCATTER_MAX`], when there is more than one
/// thread.
fn by_copy(total: usize) -> bool {
    total <= SCATTER_MAX && rayon::current_num_threads() > 1
}

/// Most entries [`partition`] copies rather than permutes in place: the
/// copy, 256 MB, then exists beside them for a moment (at a million
/// documents a scan has some 74 million entries, and its peak memory is
/// theirs, so those are permuted).
const SCATTER_MAX: usize = 32 << 20;

/// Packed entries for [`candidate_pairs_packed`]: one vector, or pieces
/// (each document's, in order) that [`partitioned`] spreads into
/// partitions straight from where they are.
pub(crate) enum Entries {
    /// The entries in one vector.
    Whole(Vec<u64>),
    /// The entries in pieces, in order.
    Pieces(Vec<Vec<u64>>),
}

impl From<Vec<u64>> for Entries {
    fn from(entries: Vec<u64>) -> Self {
        Entries::Whole(entries)
    }
}

/// Entries in one vector spread by [`partition`], and where each
/// partition starts. Pieces up to [`SCATTER_MAX`] entries in all are
/// copied into their partitions at once (no vector of them all in order
/// first: on Reuters' `scan` 18 MB of fresh pages fewer); more are
/// gathered in order first and partitioned in place.
fn partitioned(entries: Entries) -> (Vec<u64>, [usize; 257]) {
    match entries {
        Entries::Whole(mut entries) => {
            let starts = partition(&mut entries);
            (entries, starts)
        }
        Entries::Pieces(pieces) => {
            let total: usize = pieces.iter().map(Vec::len).sum();
            if by_copy(total) {
                let chunks = pieces_in_chunks(&pieces, total);
                let scattered = scatter(&chunks, total);
                drop(chunks);
                pieces.into_par_iter().for_each(drop);
                scattered
            } else {
                let mut entries = Vec::new();
                append_pieces(&mut entries, pieces);
                let starts = partition(&mut entries);
                (entries, starts)
            }
        }
    }
}

/// Append `pieces` to `entries` in order, each piece copied to its place
/// by whichever thread is free (one thread copying them all took a third
/// of a stage, most of it faulting in the vector's fresh pages); the
/// pieces are then let go, also on all threads.
pub(crate) fn append_pieces(entries: &mut Vec<u64>, pieces: Vec<Vec<u64>>) {
    let at = entries.len();
    let total: usize = pieces.iter().map(Vec::len).sum();
    // Grown as `extend` grows it (doubling): grown exactly, each part's
    // entries moved the whole vector again, and the last move, at nearly
    // its full size, held it twice (a million documents: a peak of 2.11 GB
    // instead of 1.73).
    entries.reserve(total);
    let places = crate::split_lengths(
        &mut entries.spare_capacity_mut()[..total],
        pieces.iter().map(Vec::len),
    );
    pieces.par_iter().zip(places).for_each(|(piece, place)| {
        for (slot, &v) in place.iter_mut().zip(piece) {
            slot.write(v);
        }
    });
    // SAFETY: the `total` places after the first `at` were all written
    // just above (the pieces' lengths add up to `total`).
    unsafe { entries.set_len(at + total) };
    pieces.into_par_iter().for_each(drop);
}

/// The size of the chunks [`scatter`] spreads on all threads, for `total`
/// entries.
fn scatter_chunk(total: usize) -> usize {
    total
        .div_ceil(rayon::current_num_threads() * 4)
        .max(1 << 12)
}

/// `pieces` grouped into chunks of about [`scatter_chunk`] entries, in
/// order.
fn pieces_in_chunks(pieces: &[Vec<u64>], total: usize) -> Vec<Vec<&[u64]>> {
    let chunk = scatter_chunk(total);
    let mut chunks: Vec<Vec<&[u64]>> = Vec::new();
    let mut filled = chunk;
    for piece in pieces {
        if filled >= chunk {
            chunks.push(Vec::new());
            filled = 0;
        }
        if let Some(last) = chunks.last_mut() {
            last.push(piece);
        }
        filled += piece.len();
    }
    chunks
}

/// [`partition`] by a copy: the entries are cut into chunks, each chunk's
/// entries are counted by partition and then copied, in order, to its own
/// places in each partition of the new vector, all chunks at once.
fn partition_scattered(entries: &mut Vec<u64>) -> [usize; 257] {
    let chunks: Vec<Vec<&[u64]>> = entries
        .chunks(scatter_chunk(entries.len()))
        .map(|c| vec![c])
        .collect();
    let (out, starts) = scatter(&chunks, entries.len());
    drop(chunks);
    *entries = out;
    starts
}

/// The `total` entries of `chunks` (each a run of slices) spread into
/// 256 partitions by their top byte in a new vector, each chunk's entries
/// copied in order to its own places in each partition, all chunks at
/// once; and where each partition starts.
fn scatter(chunks: &[Vec<&[u64]>], total: usize) -> (Vec<u64>, [usize; 257]) {
    let counts: Vec<[usize; 256]> = chunks
        .par_iter()
        .map(|c| {
            let mut n = [0usize; 256];
            for &e in c.iter().copied().flatten() {
                n[(e >> 56) as usize] += 1;
            }
            n
        })
        .collect();
    let mut starts = [0usize; 257];
    for n in &counts {
        for p in 0..256 {
            starts[p + 1] += n[p];
        }
    }
    for p in 0..256 {
        starts[p + 1] += starts[p];
    }
    // Each chunk's share of each partition of the new vector: partition
    // by partition, the shares of the chunks in order.
    let mut out = vec![0u64; total];
    let mut shares: Vec<Vec<&mut [u64]>> = counts.iter().map(|_| Vec::with_capacity(256)).collect();
    let pieces = crate::split_lengths(
        &mut out,
        (0..256).flat_map(|p| counts.iter().map(move |n| n[p])),
    );
    for (i, piece) in pieces.into_iter().enumerate() {
        shares[i % counts.len()].push(piece);
    }
    chunks.par_iter().zip(shares).for_each(|(c, mut share)| {
        let mut at = [0usize; 256];
        for &e in c.iter().copied().flatten() {
            let p = (e >> 56) as usize;
            share[p][at[p]] = e;
            at[p] += 1;
        }
    });
    (out, starts)
}

/// [`partition`] in place, in one pass.
fn partition_in_place(packed: &mut [u64]) -> [usize; 257] {
    let mut starts = [0usize; 257];
    for &e in packed.iter() {
        starts[(e >> 56) as usize + 1] += 1;
    }
    for p in 0..256 {
        starts[p + 1] += starts[p];
    }
    // In place (American flag sort's pass): each entry is swapped straight
    // to the next free place of its partition, so no second array is
    // needed.
    let mut next = starts;
    for p in 0..256 {
        while next[p] < starts[p + 1] {
            let e = packed[next[p]];
            let q = (e >> 56) as usize;
            if q == p {
                next[p] += 1;
            } else {
                packed.swap(next[p], next[q]);
                next[q] += 1;
            }
        }
    }
    starts
}

/// The 256 partitions of `packed` that start at `starts`.
fn partitions_of<'a>(packed: &'a mut [u64], starts: &[usize; 257]) -> Vec<&'a mut [u64]> {
    crate::split_lengths(packed, starts.windows(2).map(|w| w[1] - w[0]))
}

/// Visit the buckets of two owners or more of sorted `parts`, in
/// parallel: `visit` gets those of at most `max_bucket` owners. The pairs
/// it pushed, each as many times as it was pushed, in bucket order.
fn visit_buckets<V: Fn(&[u32], &mut Vec<u64>) + Sync>(
    parts: &[&[u64]],
    owner_mask: u64,
    max_bucket: usize,
    visit: &V,
) -> (Vec<u64>, BucketStats) {
    let found: Vec<(Vec<u64>, BucketStats)> = parts
        .par_iter()
        .map(|part| {
            let mut stats = BucketStats::default();
            let mut pairs = Vec::new();
            let mut owners: Vec<u32> = Vec::new();
            for_each_bucket(part, owner_mask, |bucket| {
                stats.shared_buckets += 1;
                if bucket.len() > max_bucket {
                    stats.oversized_buckets += 1;
                } else {
                    owners.clear();
                    owners.extend(bucket.iter().map(|&e| (e & owner_mask) as u32));
                    visit(&owners, &mut pairs);
                }
            });
            (pairs, stats)
        })
        .collect();
    let mut stats = BucketStats::default();
    let mut pairs: Vec<u64> = Vec::with_capacity(found.iter().map(|f| f.0.len()).sum());
    for (p, s) in found {
        pairs.extend(p);
        stats = stats.plus(s);
    }
    (pairs, stats)
}

/// Pairs packed as `a << 32 | b` that appear at least `min_repeats`
/// times, sorted, once each, unpacked.
fn unpack_pairs(mut pairs: Vec<u64>, min_repeats: usize) -> Vec<(u32, u32)> {
    pairs.par_sort_unstable();
    pairs
        .chunk_by(|x, y| x == y)
        .filter(|run| run.len() >= min_repeats)
        .map(|run| ((run[0] >> 32) as u32, run[0] as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_the_whole_sorted_cleared_and_cut_by_top_byte() {
        let mut x = 0x5EED_0FD5_u64;
        let mut next = move || {
            x = mix64(x);
            x
        };
        let bits = 20;
        let mask = (1u64 << bits) - 1;
        for (n, keys) in [(0, 1), (1, 1), (50, 3), (5000, 700), (300_000, 1 << 20)] {
            // Keys from a small set, so that buckets hold several owners;
            // some entries made twice (an owner entered twice in a bucket).
            let keys: Vec<u64> = (0..keys).map(|_| next()).collect();
            let mut entries: Vec<u64> = (0..n)
                .map(|_| {
                    let key = keys[(next() % keys.len() as u64) as usize];
                    pack_entry(key, (next() % 50) as u32, bits)
                })
                .collect();
            entries.extend_from_within(..n / 7);
            let mut want = entries.clone();
            want.sort_unstable();
            want.dedup();
            let kept = keep_shared(&mut want, mask);
            want.truncate(kept);
            let mut got = entries;
            let starts = partition(&mut got);
            let parts = sorted_parts(&mut got, starts, mask);
            assert_eq!(parts.len(), 256);
            for (p, part) in parts.iter().enumerate() {
                let expected: Vec<u64> = want
                    .iter()
                    .copied()
                    .filter(|e| e >> 56 == p as u64)
                    .collect();
                assert_eq!(*part, &expected[..], "partition {p}");
            }
            assert_eq!(got, want);
        }
    }

    #[test]
    fn the_slot_filter_keeps_every_shared_key_and_few_lone_ones() {
        let mut next = crate::quotes::tests::numbers(0x2545_F491_4F6C_DD1D);
        let bits = 20;
        let mask = (1u64 << bits) - 1;
        for (lone, shared) in [(10, 3), (300, 0), (5000, 40), (50_000, 900)] {
            // Lone keys, keys given to two to five owners, and one owner
            // entered twice in its bucket.
            let mut entries: Vec<u64> = (0..lone)
                .map(|_| pack_entry(next(u64::MAX), next(1000) as u32, bits))
                .collect();
            for _ in 0..shared {
                let key = next(u64::MAX);
                for o in 0..2 + next(4) {
                    entries.push(pack_entry(key, o as u32, bits));
                }
            }
            entries.push(entries[0]);
            // Shuffled, so shared keys are not side by side.
            for i in (1..entries.len()).rev() {
                entries.swap(i, next(i as u64 + 1) as usize);
            }
            let mut counts = std::collections::HashMap::new();
            for &e in &entries {
                *counts.entry(e & !mask).or_insert(0) += 1;
            }
            let count = |e: u64| counts[&(e & !mask)];
            let mut got = entries.clone();
            let kept = maybe_shared_first(&mut got, mask);
            let want: Vec<u64> = entries.iter().copied().filter(|&e| count(e) > 1).collect();
            // The kept entries are in their first order, every shared one
            // among them.
            let mut rest = got[..kept].iter();
            assert!(want.iter().all(|w| rest.any(|g| g == w)), "{lone} lone");
            if entries.len() >= FILTER_FROM {
                let lone_kept = kept - want.len();
                assert!(lone_kept * 4 <= lone, "{lone_kept} of {lone} lone kept");
            } else {
                assert_eq!(got, entries);
            }
        }
    }

    #[test]
    fn a_partition_sorts_as_a_whole_sort_does() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x = mix64(x);
            x
        };
        for len in [0, 5, 1023, 1024, 5000] {
            // One top byte (the partition's), then a few entries of another.
            let mut one: Vec<u64> = (0..len).map(|_| next() >> 8 | 0x37 << 56).collect();
            // Repeats, as a bucket's owners entered twice.
            one.extend_from_within(..len / 10);
            for v in [
                one.clone(),
                one.iter().map(|&e| e ^ (next() & 1) << 60).collect(),
            ] {
                let mut want = v.clone();
                want.sort_unstable();
                let mut got = v;
                sort_partition(&mut got);
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn band_keys_follow_their_definition() {
        // Band `b` hashes rows `b * len / bands ..`, wrapping at the end.
        fn plain(banding: &Banding, sig: &[u64]) -> Vec<u64> {
            let len = sig.len();
            (0..banding.bands)
                .map(|b| {
                    let start = b * len / banding.bands;
                    (0..banding.rows).fold(mix64(b as u64 ^ 0xB0A7_DEED), |h, r| {
                        mix64(h ^ sig[(start + r) % len])
                    })
                })
                .collect()
        }
        for len in [1usize, 2, 7, 64, 100, 128, 300] {
            let sig: Vec<u64> = (0..len as u64).map(|i| mix64(i ^ 77)).collect();
            for (bands, rows) in [
                (1, 1),
                (3, 2),
                (69, 3),
                (7, 9),
                (128, 1),
                (200, 2),
                (20, 4),
                (30, 5),
                (9, 6),
                (11, 7),
                (40, 8),
                (5, 400),
            ] {
                let banding = Banding { bands, rows };
                let mut keys = Vec::new();
                banding.keys(&sig, &mut keys);
                assert_eq!(keys, plain(&banding, &sig), "len {len}, {bands} x {rows}");
            }
        }
        let mut keys = Vec::new();
        Banding { bands: 0, rows: 3 }.keys(&[1, 2, 3], &mut keys);
        assert!(keys.is_empty());
    }

    /// [`candidate_pairs`] the plain way, on unpacked entries: the reference
    /// the packed, partitioned bucketing is tested against.
    fn reference_pairs<V: Fn(&[u32], &mut Vec<u64>) + Sync>(
        mut entries: Vec<(u64, u32)>,
        max_bucket: usize,
        visit: &V,
    ) -> (Vec<(u32, u32)>, BucketStats) {
        entries.par_sort_unstable();
        entries.dedup();
        let mut stats = BucketStats::default();
        let mut pairs: Vec<u64> = Vec::new();
        let mut owners: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let key = entries[i].0;
            let mut j = i + 1;
            while j < entries.len() && entries[j].0 == key {
                j += 1;
            }
            let bucket = &entries[i..j];
            if bucket.len() > 1 {
                stats.shared_buckets += 1;
                if bucket.len() > max_bucket {
                    stats.oversized_buckets += 1;
                } else {
                    owners.clear();
                    owners.extend(bucket.iter().map(|e| e.1));
                    visit(&owners, &mut pairs);
                }
            }
            i = j;
        }
        (unpack_pairs(pairs, 1), stats)
    }

    #[test]
    fn s_curve() {
        let b = Banding { bands: 16, rows: 2 };
        assert!((b.threshold() - 0.25).abs() < 1e-9);
        assert!(b.probability(0.5) > 0.98);
        assert!(b.probability(0.05) < 0.05);
        let r = Banding::for_recall(128, 0.5, 1e-4);
        assert_eq!(r, Banding { bands: 69, rows: 3 });
        assert!(1.0 - r.probability(0.5) <= 1e-4);
        assert!(1.0 - Banding { bands: 68, rows: 3 }.probability(0.5) > 1e-4);
        let r = Banding::for_recall(128, 0.8, 1e-4);
        assert_eq!(r, Banding { bands: 31, rows: 6 });
        assert_eq!(Banding::for_recall(4, 0.1, 1e-9).rows, 1);
        assert_eq!(
            Banding::for_recall(64, 1.0, 1e-4),
            Banding { bands: 1, rows: 64 }
        );
        let d = Banding::for_threshold(128, 0.5);
        assert!((d.threshold() - 0.5).abs() < 0.1, "{d:?}");
        assert!(d.len() <= 128);
    }

    #[test]
    fn a_pair_meeting_in_one_large_bucket_is_not_a_candidate() {
        let bits = owner_bits_for(64);
        let key = |k: u64| mix64(k);
        let mut entries = Vec::new();
        // Bucket 1: owners 0..10 (large); bucket 2: owners 0, 1, 20..30
        // (large); bucket 3: owners 40, 41, 42 (small); bucket 4: owners
        // 2, 50..60 (large, so 2 and 3 meet only in bucket 1).
        entries.extend((0..10).map(|o| pack_entry(key(1), o, bits)));
        entries.extend(
            [0, 1]
                .into_iter()
                .chain(20..30)
                .map(|o| pack_entry(key(2), o, bits)),
        );
        entries.extend((40..43).map(|o| pack_entry(key(3), o, bits)));
        entries.extend(
            [2].into_iter()
                .chain(50..60)
                .map(|o| pack_entry(key(4), o, bits)),
        );
        let (pairs, _) = candidate_pairs_packed(entries.clone(), bits, 500, 8);
        assert!(pairs.contains(&(0, 1)), "two large buckets");
        assert!(pairs.contains(&(40, 42)), "one small bucket");
        assert!(!pairs.contains(&(2, 3)), "one large bucket");
        assert!(!pairs.contains(&(0, 20)), "one large bucket");
        assert_eq!(pairs.len(), 1 + 3);
        // Without the rule, every pair that shares a bucket.
        let (all, _) = candidate_pairs_packed(entries.clone(), bits, 500, usize::MAX);
        let unpacked: Vec<(u64, u32)> = entries
            .iter()
            .map(|&e| (e & !((1 << bits) - 1), (e & ((1 << bits) - 1)) as u32))
            .collect();
        assert_eq!(all, candidate_pairs(unpacked, 500).0);
        assert!(all.contains(&(2, 3)) && all.len() == 45 + 66 - 1 + 3 + 55);
    }

    #[test]
    fn pairs_made_in_passes_are_the_pairs_made_at_once() {
        let bits = owner_bits_for(3000);
        // 2,000 buckets of 2 to 40 owners (some owners entered twice),
        // drawn from 3,000, so that pairs meet in one bucket or several.
        let mut entries = Vec::new();
        for b in 0..2000u64 {
            let size = 2 + mix64(b) % 39;
            for i in 0..size {
                let owner = (mix64(b * 1000 + i) % 3000) as u32;
                entries.push(pack_entry(mix64(b + 7), owner, bits));
            }
        }
        // The rule counted plainly: per bucket (its distinct owners), a
        // pair counts twice in a small bucket, once in a large one, and is
        // kept when it counts twice or more.
        let mask = (1u64 << bits) - 1;
        let mut buckets: std::collections::BTreeMap<u64, std::collections::BTreeSet<u32>> =
            Default::default();
        for &e in &entries {
            buckets
                .entry(e & !mask)
                .or_default()
                .insert((e & mask) as u32);
        }
        let plain = |(max_bucket, single_bucket_max): (usize, usize)| {
            let mut counts: std::collections::BTreeMap<(u32, u32), usize> = Default::default();
            for owners in buckets.values().filter(|o| o.len() <= max_bucket) {
                let owners: Vec<u32> = owners.iter().copied().collect();
                for (x, &a) in owners.iter().enumerate() {
                    for &b in &owners[x + 1..] {
                        *counts.entry((a, b)).or_default() +=
                            1 + usize::from(owners.len() <= single_bucket_max);
                    }
                }
            }
            counts
                .into_iter()
                .filter(|&(_, c)| c >= 2)
                .map(|(p, _)| p)
                .collect::<Vec<_>>()
        };
        for rules in [(500, 8), (30, 8), (500, usize::MAX)] {
            let whole = pairs_in_passes(entries.clone().into(), bits, rules, usize::MAX);
            assert!(whole.0.len() > 1000, "{}", whole.0.len());
            assert_eq!(whole.0, plain(rules), "{rules:?}");
            for pass_bytes in [65_536, 1_000_000] {
                let passes = pairs_in_passes(entries.clone().into(), bits, rules, pass_bytes);
                assert_eq!(passes.0, whole.0, "{rules:?} {pass_bytes}");
                assert_eq!(passes.1, whole.1);
            }
        }
    }

    #[test]
    fn repeated_values_are_counted_over_the_whole_vector() {
        let v: Vec<u64> = (0..400u64).map(|i| mix64(i) % 90).collect();
        for min in [1, 2, 3] {
            let mut want: Vec<u64> = (0..90)
                .filter(|x| v.iter().filter(|&&y| y == *x).count() >= min)
                .collect();
            want.sort_unstable();
            let got = repeated(v.clone(), min);
            assert_eq!(got, want, "{min}");
            assert!(!got.is_empty());
        }
        assert!(repeated(Vec::new(), 1).is_empty());
    }

    #[test]
    fn only_buckets_of_two_owners_or_more_are_kept() {
        let bits = 8;
        let mask = (1u64 << bits) - 1;
        let entry = |key: u64, owner: u32| pack_entry(key << 40, owner, bits);
        // Keys 1 and 4 are held by one owner, 2, 3 and 5 by several.
        let mut sorted = vec![
            entry(1, 7),
            entry(2, 1),
            entry(2, 9),
            entry(3, 2),
            entry(3, 3),
            entry(3, 4),
            entry(4, 1),
            entry(5, 5),
            entry(5, 6),
        ];
        let shared: Vec<u64> = sorted
            .iter()
            .copied()
            .filter(|e| ![1u64, 4].contains(&(e >> 40)))
            .collect();
        let mut buckets = Vec::new();
        for_each_bucket(&sorted, mask, |b| buckets.push(b.to_vec()));
        let kept = keep_shared(&mut sorted, mask);
        sorted.truncate(kept);
        assert_eq!(sorted, shared);
        let mut after = Vec::new();
        for_each_bucket(&sorted, mask, |b| after.push(b.to_vec()));
        assert_eq!(after, buckets);
        let mut lone = vec![entry(1, 1), entry(2, 2)];
        assert_eq!(keep_shared(&mut lone, mask), 0);
    }

    #[test]
    fn bands_cover_chunks_or_overlap() {
        let sig: Vec<u64> = (0..12u64).map(mix64).collect();
        let key = |b: u64, vals: &[u64]| {
            vals.iter()
                .fold(mix64(b ^ 0xB0A7_DEED), |h, &v| mix64(h ^ v))
        };
        let mut keys = Vec::new();
        Banding { bands: 4, rows: 3 }.keys(&sig, &mut keys);
        let chunks: Vec<u64> = sig
            .chunks(3)
            .enumerate()
            .map(|(b, c)| key(b as u64, c))
            .collect();
        assert_eq!(keys, chunks);
        // Eight bands of three over twelve values: starts 0, 1, 3, 4, ...,
        // the last wrapping around.
        keys.clear();
        Banding { bands: 8, rows: 3 }.keys(&sig, &mut keys);
        assert_eq!(keys[1], key(1, &sig[1..4]));
        assert_eq!(keys[7], key(7, &[sig[10], sig[11], sig[0]]));
    }

    #[test]
    fn buckets_make_pairs() {
        let [k5, k7, k9] = [5, 7, 9].map(mix64);
        let entries = vec![(k7, 2), (k7, 0), (k9, 1), (k7, 2), (k9, 3), (k5, 4)];
        let (pairs, stats) = candidate_pairs(entries, 10);
        assert_eq!(pairs, vec![(0, 2), (1, 3)]);
        assert_eq!(stats.shared_buckets, 2);
        let entries = vec![(k7, 0), (k7, 1), (k7, 2)];
        let (pairs, stats) = candidate_pairs(entries, 2);
        assert!(pairs.is_empty());
        assert_eq!(stats.oversized_buckets, 1);
    }

    #[test]
    fn partitions_give_the_same_buckets_however_the_entries_were_spread() {
        let entries: Vec<(u64, u32)> = (0..5000u64)
            .map(|i| (mix64(i % 290 + 1), (mix64(i) % 700) as u32))
            .collect();
        let bits = owner_bits_for(700);
        let every = |owners: &[u32], pairs: &mut Vec<u64>| each_pair(owners, |_, _| true, pairs);
        for max_bucket in [3, 50, usize::MAX] {
            let expected = reference_pairs(entries.clone(), max_bucket, &every);
            assert!(max_bucket == 3 || expected.0.len() > 1000);
            for producers in [1u64, 3, 64] {
                let mut spread: Vec<Partitioned> = (0..producers)
                    .map(|p| Partitioned::with_capacity(p as usize * 10))
                    .collect();
                for (i, &(key, owner)) in entries.iter().enumerate() {
                    spread[(mix64(i as u64) % producers) as usize]
                        .push(pack_entry(key, owner, bits));
                }
                let got = bucket_partitioned(spread, bits, max_bucket, &every);
                assert_eq!(got, expected, "{producers} producers, max {max_bucket}");
            }
        }
    }

    #[test]
    fn bands_bucketed_one_at_a_time_give_the_pairs_of_all_at_once() {
        // Keys from a few per band (buckets of many owners: enough pairs
        // for the folds to drop repeats as they go), a band's keys apart
        // from every other band's; some owners without an entry in a band.
        let owners = 2000u64;
        let bands = 7;
        let entry = |b: usize, o: u64| -> Option<(u64, u32)> {
            let r = mix64(o ^ (b as u64) << 40);
            (!r.is_multiple_of(13)).then(|| (mix64(((b as u64) << 32) | (r % 9)), o as u32))
        };
        let all: Vec<(u64, u32)> = (0..bands)
            .flat_map(|b| (0..owners).filter_map(move |o| entry(b, o)))
            .collect();
        let bits = owner_bits_for(owners as usize);
        let band_entries = |b: usize, out: &mut Vec<u64>| {
            // Not in owner order: the bucketing must not rely on it.
            out.extend(
                (0..owners)
                    .rev()
                    .filter_map(|o| entry(b, o))
                    .map(|(key, owner)| pack_entry(key, owner, bits)),
            );
        };
        let every = |owners: &[u32], pairs: &mut Vec<u64>| each_pair(owners, |_, _| true, pairs);
        let some = |owners: &[u32], pairs: &mut Vec<u64>| {
            each_pair(
                owners,
                |x, y| mix64(u64::from(owners[x] ^ (owners[y] << 11))).is_multiple_of(3),
                pairs,
            );
        };
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for (name, visit) in [
                ("every", &every as &(dyn Fn(&[u32], &mut Vec<u64>) + Sync)),
                ("some", &some),
            ] {
                let (expected, _) = reference_pairs(all.clone(), usize::MAX, &visit);
                assert!(expected.len() > 100_000, "{}", expected.len());
                let got = pool.install(|| bucket_bands(bands, bits, &band_entries, &visit));
                let got: Vec<(u32, u32)> =
                    got.iter().map(|&p| ((p >> 32) as u32, p as u32)).collect();
                assert_eq!(got, expected, "{threads} threads, {name}");
            }
        }
        assert!(bucket_bands(0, bits, &band_entries, &every).is_empty());
    }

    #[test]
    fn merged_sorted_vectors_hold_each_value_once() {
        let mut next = crate::quotes::tests::numbers(0x003E_26ED);
        for (n, m) in [(0, 0), (0, 5), (5, 0), (100, 300), (1000, 1000)] {
            let mut a: Vec<u64> = (0..n).map(|_| next(500)).collect();
            let mut b: Vec<u64> = (0..m).map(|_| next(500)).collect();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            let mut want: Vec<u64> = a.iter().chain(&b).copied().collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(merge_distinct(a, b), want);
        }
    }

    #[test]
    fn a_scattered_partition_holds_what_an_in_place_one_holds() {
        // Enough entries for several chunks, top bytes uneven (a few
        // partitions crowded, many empty).
        let mut next = crate::quotes::tests::numbers(0x5CA7_7E2D);
        for n in [0usize, 1, 4095, 4097, 60_000] {
            let entries: Vec<u64> = (0..n)
                .map(|_| {
                    let top = next(40) * next(7);
                    top << 56 | next(1 << 56)
                })
                .collect();
            let (mut scattered, mut in_place) = (entries.clone(), entries.clone());
            let starts = partition_scattered(&mut scattered);
            assert_eq!(partition_in_place(&mut in_place), starts, "{n} entries");
            // The same entries in pieces (some empty, some longer than a
            // chunk): spread straight from the pieces, each partition
            // holds them in the same order; gathered, they are in order.
            let mut pieces: Vec<Vec<u64>> = Vec::new();
            let mut rest = &entries[..];
            while !rest.is_empty() || pieces.len() < 3 {
                let (piece, tail) = rest.split_at(next(rest.len().min(9000) as u64 + 1) as usize);
                pieces.push(piece.to_vec());
                rest = tail;
            }
            let mut gathered = vec![7];
            append_pieces(&mut gathered, pieces.clone());
            assert_eq!(gathered[1..], entries[..], "{n} entries");
            // (Spread on two threads: on one, pieces are gathered first.)
            let two = rayon::ThreadPoolBuilder::new().num_threads(2).build();
            let spread = two.map(|pool| pool.install(|| partitioned(Entries::Pieces(pieces))));
            assert_eq!(spread.ok(), Some((scattered.clone(), starts)));
            assert_eq!(scattered.len(), n);
            for (a, b) in partitions_of(&mut scattered, &starts)
                .into_iter()
                .zip(partitions_of(&mut in_place, &starts))
            {
                assert!(a.iter().all(|e| e >> 56 == a[0] >> 56));
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn packed_buckets_agree_with_wide_buckets() {
        // Few distinct keys, so buckets are large and owners repeat.
        let entries: Vec<(u64, u32)> = (0..5000u64)
            .map(|i| (mix64(i % 290 + 1), (mix64(i) % 700) as u32))
            .collect();
        let every = |owners: &[u32], pairs: &mut Vec<u64>| each_pair(owners, |_, _| true, pairs);
        for max_bucket in [3, 50, usize::MAX] {
            assert_eq!(
                candidate_pairs(entries.clone(), max_bucket),
                reference_pairs(entries.clone(), max_bucket, &every)
            );
            let odd = |a: u32, b: u32| (a + b) % 2 == 1;
            let (all, _) = candidate_pairs(entries.clone(), max_bucket);
            let (some, _) = candidate_pairs_where(entries.clone(), max_bucket, &odd);
            let expected: Vec<(u32, u32)> = all.into_iter().filter(|&(a, b)| odd(a, b)).collect();
            assert_eq!(some, expected);
        }
    }
}
