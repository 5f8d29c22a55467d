//! Stage 3: token n-grams ("shingles") hashed to 64 bits.
//!
//! A shingle hash is combined from the n token hashes already computed by
//! [`crate::tokenize`]; strings are never hashed twice.

use rayon::prelude::*;

use crate::text::Token;

/// The hash of the shingle starting at each token position.
///
/// `out[i]` covers `tokens[i..i + n]`; `out` has `tokens.len() - n + 1`
/// entries, or one entry covering every token when the text has fewer
/// than `n` tokens (and none when it has no token).
pub fn shingle_hashes(tokens: &[Token], n: usize, out: &mut Vec<u64>) {
    out.clear();
    let n = n.max(1);
    if tokens.is_empty() {
        return;
    }
    if tokens.len() < n {
        out.push(combine(tokens.iter().map(|t| t.hash)));
        return;
    }
    // The usual sizes with the window's length known when compiled (its
    // loop unrolled, no per-shingle capacity check).
    match n {
        2 => shingles_of::<2>(tokens, out),
        3 => shingles_of::<3>(tokens, out),
        4 => shingles_of::<4>(tokens, out),
        5 => shingles_of::<5>(tokens, out),
        6 => shingles_of::<6>(tokens, out),
        7 => shingles_of::<7>(tokens, out),
        8 => shingles_of::<8>(tokens, out),
        _ => out.extend(tokens.windows(n).map(|w| combine(w.iter().map(|t| t.hash)))),
    }
}

/// [`shingle_hashes`] for windows of `N` tokens (at least `N` of them).
fn shingles_of<const N: usize>(tokens: &[Token], out: &mut Vec<u64>) {
    out.extend(
        tokens
            .windows(N)
            .map(|w| combine(w[..N].iter().map(|t| t.hash))),
    );
}

/// Combine token hashes into one order-sensitive shingle hash.
#[inline]
fn combine(hashes: impl Iterator<Item = u64>) -> u64 {
    mix64(hashes.fold(0x9E37_79B9_7F4A_7C15, |h, t| {
        (h.rotate_left(27) ^ t).wrapping_mul(0xFF51_AFD7_ED55_8CCD)
    }))
}

/// A 64-bit finalizer (the one from SplitMix64): every input bit flips
/// about half the output bits.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokens;

    #[test]
    fn seeds_sort_by_whole_hash_then_position() {
        // Hashes drawn from a few high halves and a few low ones, so that
        // runs of one high half hold repeated shingles and different
        // hashes alike.
        let mut next = crate::quotes::tests::numbers(0x1234_5678_9ABC_DEF1);
        for len in [0, 1, 2, 17, 300, 2000] {
            let shingles: Vec<u64> = (0..len).map(|_| (next(7) << 32) | next(3)).collect();
            let keep: Vec<bool> = (0..len)
                .map(|i| !mix64(i as u64).is_multiple_of(5))
                .collect();
            let mut d = ShingledDoc {
                shingles: shingles.clone(),
                ..ShingledDoc::default()
            };
            d.set_seeds_where(&keep);
            let mut want: Vec<(u64, u32)> = (0..len)
                .filter(|&i| keep[i])
                .map(|i| (shingles[i], i as u32))
                .collect();
            want.sort_unstable();
            let want: Vec<(u32, u32)> = want.iter().map(|&(h, p)| ((h >> 32) as u32, p)).collect();
            assert_eq!(d.seeds, want, "{len} shingles");
            assert_eq!(
                (0..len).filter(|&i| d.is_common(i)).count(),
                len - want.len()
            );
        }
    }

    fn sh(text: &str, n: usize) -> Vec<u64> {
        let mut v = Vec::new();
        shingle_hashes(&tokens(text), n, &mut v);
        v
    }

    /// Every window size (the ones compiled for and the others) gives the
    /// hashes of the definition: each window's token hashes folded in
    /// order, then mixed.
    #[test]
    fn every_window_size_gives_the_defined_hashes() {
        let text = "It said the U.S. had 2,700 troops there, and more were on the way";
        let toks = tokens(text);
        let hashes: Vec<u64> = toks.iter().map(|t| t.hash).collect();
        for n in 1..=12 {
            let expected: Vec<u64> = if hashes.len() < n {
                vec![defined(&hashes)]
            } else {
                (0..=hashes.len() - n)
                    .map(|i| defined(&hashes[i..i + n]))
                    .collect()
            };
            assert_eq!(sh(text, n), expected, "n {n}");
        }
        fn defined(window: &[u64]) -> u64 {
            let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
            for &t in window {
                h = (h.rotate_left(27) ^ t).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            }
            mix64(h)
        }
    }

    #[test]
    fn counts_and_order() {
        assert_eq!(sh("a b c d e f", 5).len(), 2);
        assert_eq!(sh("a b", 5).len(), 1);
        assert!(sh("", 5).is_empty());
        assert_ne!(sh("a b c", 3), sh("c b a", 3));
        assert_eq!(sh("The U.S. said", 3), sh("the US said", 3));
    }

    #[test]
    fn parallel_sketch_equals_sequential_sketch() {
        let docs: Vec<Vec<u64>> = (0..300u64)
            .map(|d| (0..(d % 37) * 11).map(|i| mix64(i * 7 + d % 5)).collect())
            .collect();
        let mut one_by_one = DfSketch::default();
        for d in &docs {
            one_by_one.add_document(d);
        }
        let built = DfSketch::from_documents(&docs);
        assert_eq!(built.rows(), one_by_one.rows());
        let mut in_parts = DfSketch::default();
        for part in docs.chunks(47) {
            in_parts.add_documents(part);
        }
        assert_eq!(in_parts.rows(), one_by_one.rows());
        // And in a larger sketch (any size above the default takes the
        // same path as the largest).
        let mut large = DfSketch::with_bits(DF_BITS + 1);
        for part in docs.chunks(47) {
            large.add_documents(part);
        }
        let mut large_one_by_one = DfSketch::with_bits(DF_BITS + 1);
        for d in &docs {
            large_one_by_one.add_document(d);
        }
        assert_eq!(large.rows(), large_one_by_one.rows());
    }

    #[test]
    fn a_grown_sketch_counts_at_least_what_a_fresh_one_does() {
        let docs: Vec<Vec<u64>> = (0..200u64)
            .map(|d| (0..500 + d).map(|i| mix64(i + d % 7 * 300)).collect())
            .collect();
        // Small rows, so that many hashes share a counter.
        let (before, after) = docs.split_at(120);
        let mut small = DfSketch::with_bits(10);
        small.add_documents(before);
        let mut grown = small.grown(12);
        assert_eq!(grown.bits(), 12);
        let probes: Vec<u64> = docs
            .iter()
            .flat_map(|d| d.iter().step_by(31))
            .copied()
            .collect();
        for &h in &probes {
            assert_eq!(grown.get(h), small.get(h));
        }
        let mut kept = DfSketch::with_bits(10);
        kept.add_documents(&docs);
        grown.add_documents(after);
        // Less noise than rows that did not grow.
        let total = |s: &DfSketch| probes.iter().map(|&h| u64::from(s.get(h))).sum::<u64>();
        assert!(
            total(&grown) < total(&kept),
            "{} {}",
            total(&grown),
            total(&kept)
        );
        let mut fresh = DfSketch::with_bits(12);
        fresh.add_documents(&docs);
        let mut exact: std::collections::HashMap<u64, u32> = Default::default();
        for h in docs.iter().flatten() {
            *exact.entry(*h).or_default() += 1;
        }
        for &h in &probes {
            assert!(grown.get(h) >= fresh.get(h));
            assert!(fresh.get(h) >= exact[&h]);
        }
        // Growing to fewer bits keeps the sketch as it is.
        assert_eq!(grown.grown(10).rows(), grown.rows());
    }

    #[test]
    fn the_bit_table_answers_as_the_sketch_does() {
        // Small rows (many hashes to a counter) and a few hashes counted
        // past the 16-bit counters' saturation.
        let mut docs: Vec<Vec<u64>> = (0..300u64)
            .map(|d| (0..40 + d % 60).map(|i| mix64(i * (d % 9 + 1))).collect())
            .collect();
        docs.extend((0..70_000u64).map(|_| vec![mix64(1), mix64(5)]));
        let mut sketch = DfSketch::with_bits(12);
        sketch.add_documents(&docs);
        assert_eq!(sketch.get(mix64(5)), u32::from(u16::MAX));
        let probes: Vec<u64> = (0..3000u64).map(|i| mix64(i % 700 * (i % 9 + 1))).collect();
        for count in [0, 1, 2, 3, 5, 8, 13, 40, 301, 65_535, 65_536, u32::MAX] {
            let table = sketch.counts.at_least(count);
            for &h in &probes {
                assert_eq!(table.holds(h), sketch.get(h) >= count, "{h:x} at {count}");
            }
        }
    }

    #[test]
    fn narrow_counters_answer_as_wide_ones_up_to_their_largest_count() {
        // Small rows, counts from none to far past 255 (one shingle in
        // every document, others in many).
        let docs: Vec<Vec<u64>> = (0..2000u64)
            .map(|d| {
                let mut hs: Vec<u64> = (0..30 + d % 50)
                    .map(|i| mix64(i * (d % 11 + 1)))
                    .chain([mix64(1 << 40)])
                    .collect();
                hs.sort_unstable();
                hs.dedup();
                hs
            })
            .collect();
        let mut wide = DfSketch::with_bits(10);
        wide.add_documents(&docs);
        let mut narrow = Sketch::new(10, 255);
        let mut wide_too = Sketch::new(10, 256);
        for part in docs.chunks(300) {
            narrow.add_documents(part);
            wide_too.add_documents(part);
        }
        assert!(matches!(narrow, Sketch::Narrow(_)) && matches!(wide_too, Sketch::Wide(_)));
        assert_eq!(wide.get(mix64(1 << 40)), 2000);
        assert_eq!(narrow.get(mix64(1 << 40)), 255);
        let probes: Vec<u64> = (0..5000u64).map(|i| mix64(i % 80 * (i % 11 + 1))).collect();
        let reached = |c: u32| probes.iter().filter(|&&h| wide.get(h) >= c).count();
        assert!(reached(255) > 0 && reached(3) > reached(255) && reached(1) < probes.len());
        for count in [0, 1, 2, 3, 7, 40, 100, 254, 255] {
            let (table, table_wide) = (narrow.at_least(count), wide_too.at_least(count));
            for &h in &probes {
                let want = wide.get(h) >= count;
                assert_eq!(narrow.get(h) >= count, want, "{h:x} at {count}");
                assert_eq!(table.holds(h), want, "{h:x} at {count}");
                assert_eq!(table_wide.holds(h), want, "{h:x} at {count}");
                assert_eq!(wide_too.get(h), wide.get(h));
            }
        }
    }

    #[test]
    fn sketch_size_follows_the_increments() {
        assert_eq!(DfSketch::for_increments(0).bits(), DF_BITS);
        assert_eq!(DfSketch::for_increments(60_000_000).bits(), DF_BITS);
        assert_eq!(DfSketch::for_increments(100_000_000).bits(), 23);
        assert_eq!(DfSketch::for_increments(350_000_000).bits(), 25);
        assert_eq!(DfSketch::for_increments(u64::MAX).bits(), DF_MAX_BITS);
    }

    #[test]
    fn a_sized_sketch_keeps_rare_shingles_rare_under_a_heavy_load() {
        // 4 million increments, each shingle in one document. Rows of
        // 2^18 (a sixteenth of the default, standing for the default rows
        // under sixteen times this load, as at a million articles) hold
        // about 15 each; the rows `for_increments` picks, one or two.
        let docs: Vec<Vec<u64>> = (0..4u64)
            .map(|d| (0..1_000_000u64).map(|i| mix64(d << 32 | i)).collect())
            .collect();
        let mut fixed = DfSketch::with_bits(DF_BITS - 4);
        let mut sized = DfSketch::for_increments(4_000_000 * DF_LOAD / 2);
        fixed.add_documents(&docs);
        sized.add_documents(&docs);
        let probes: Vec<u64> = docs[2].iter().step_by(97).copied().collect();
        let mean = |s: &DfSketch| {
            probes.iter().map(|&h| f64::from(s.get(h))).sum::<f64>() / probes.len() as f64
        };
        assert_eq!(sized.bits(), DF_BITS);
        assert!(mean(&fixed) > 5.0, "{}", mean(&fixed));
        assert!(mean(&sized) < 2.5, "{}", mean(&sized));
    }
}

/// A document ready for candidate search and alignment: its tokens, the
/// hash of the shingle at every token position, and the alignment seeds.
#[derive(Debug, Clone, Default)]
pub struct ShingledDoc {
    /// Tokens with byte offsets into the original text.
    pub tokens: Vec<crate::text::Token>,
    /// `shingles[i]` is the hash of `tokens[i..i + n]`.
    pub shingles: Vec<u64>,
    /// The shingles that are not too common in the corpus, the seeds
    /// alignment starts from, as `(high 32 bits of the shingle hash, token
    /// position)`, sorted by (whole hash, position). The whole hash of a
    /// seed at position `p` is `shingles[p]`; the high bits are kept beside
    /// the position so that two documents' seeds are matched without a
    /// lookup per step (8 bytes a seed instead of 16 for the whole hash).
    pub seeds: Vec<(u32, u32)>,
    /// Hash of the whole normalized token sequence: equal for exact
    /// duplicates (modulo case, punctuation and spelling).
    pub fingerprint: u64,
    /// `common[i]`: the shingle at position `i` is too common to be a seed
    /// (empty when no shingle is).
    pub common: Vec<bool>,
}

thread_local! {
    /// Each thread's tokens of the document it is shingling.
    static TOKENS: std::cell::RefCell<Vec<Token>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most tokens a thread's scratch vector keeps room for between
/// documents (16 MiB); one that grew larger for a huge document is let go.
const SCRATCH_TOKENS: usize = 1 << 20;

impl ShingledDoc {
    /// Tokenize and shingle `text` (seeds are left empty; see
    /// [`ShingledDoc::set_seeds`]).
    pub fn new(text: &str, n: usize) -> Self {
        // Tokenized into this thread's scratch vector, then copied out at
        // its exact size: a vector grown by doubling is reallocated and
        // copied at every doubling, and shrinking it after does not give
        // its unused tail back (an allocator may keep a block that shrinks
        // by less than half, as mimalloc does).
        let tokens = TOKENS.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            crate::text::tokenize(text, &mut scratch);
            let tokens = scratch.to_vec();
            if scratch.capacity() > SCRATCH_TOKENS {
                *scratch = Vec::new();
            }
            tokens
        });
        let mut shingles = Vec::new();
        shingle_hashes(&tokens, n, &mut shingles);
        let fingerprint = combine(tokens.iter().map(|t| t.hash));
        ShingledDoc {
            tokens,
            shingles,
            seeds: Vec::new(),
            fingerprint,
            common: Vec::new(),
        }
    }

    /// The distinct shingle hashes, sorted.
    pub fn distinct_shingles(&self) -> Vec<u64> {
        let mut v = self.shingles.clone();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Keep as seeds the shingles for which `keep(hash)` holds.
    pub fn set_seeds(&mut self, keep: impl Fn(u64) -> bool) {
        let keep: Vec<bool> = self.shingles.iter().map(|&h| keep(h)).collect();
        self.set_seeds_where(&keep);
    }

    /// [`ShingledDoc::set_seeds`] with the verdict on each shingle given,
    /// by position.
    pub(crate) fn set_seeds_where(&mut self, keep: &[bool]) {
        self.common.clear();
        // Sorted as one u64 each, the hash's high half above the position
        // (sorting (hash, position) pairs took twice as long); that is the
        // (whole hash, position) order except within a run of equal high
        // halves from different hashes, which is sorted again below.
        let mut packed: Vec<u64> = Vec::with_capacity(self.shingles.len());
        for (i, (&h, &keep)) in self.shingles.iter().zip(keep).enumerate() {
            if keep {
                packed.push(h >> 32 << 32 | i as u64);
            } else {
                if self.common.is_empty() {
                    self.common.resize(self.shingles.len(), false);
                }
                self.common[i] = true;
            }
        }
        packed.sort_unstable();
        let hash = |e: u64| self.shingles[e as u32 as usize];
        for run in packed.chunk_by_mut(|x, y| x >> 32 == y >> 32) {
            // A repeated shingle is a run of one hash, already in position
            // order; two hashes sharing a high half are rare.
            if run.len() > 1 && run.iter().any(|&e| hash(e) != hash(run[0])) {
                run.sort_unstable_by_key(|&e| (hash(e), e as u32));
            }
        }
        self.seeds.clear();
        self.seeds.reserve_exact(packed.len());
        self.seeds
            .extend(packed.iter().map(|&e| ((e >> 32) as u32, e as u32)));
    }

    /// The hash of each seed, in token order (the shingles that are not
    /// too common).
    pub fn seed_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.shingles
            .iter()
            .enumerate()
            .filter(|&(i, _)| !self.is_common(i))
            .map(|(_, &h)| h)
    }

    /// Is the shingle starting at token `i` too common to be evidence?
    #[inline]
    pub fn is_common(&self, i: usize) -> bool {
        self.common.get(i).copied().unwrap_or(false)
    }
}

/// Approximate document frequency of shingles: a count-min sketch of
/// saturating 16-bit counters in two rows (of 2^22 counters by default;
/// [`DfSketch::for_increments`] sizes them for a large corpus). Counts can
/// only be overestimated, and only by hash collisions.
#[derive(Debug, Clone)]
pub struct DfSketch {
    counts: Counts<u16>,
}

/// Bits of a row index in the default sketch (and the smallest).
pub(crate) const DF_BITS: u32 = 22;
/// Bits of a row index in the largest sketch [`DfSketch::for_increments`]
/// makes (two rows of 128 MiB).
const DF_MAX_BITS: u32 = 26;
/// Increments per counter [`DfSketch::for_increments`] sizes a row for.
const DF_LOAD: u64 = 16;

impl Default for DfSketch {
    fn default() -> Self {
        DfSketch::with_bits(DF_BITS)
    }
}

/// `len` zero counters, every page of them already written.
///
/// A fresh zeroed allocation is mapped lazily: the first read of a page
/// maps the kernel's shared zero page, and the first write then replaces
/// it, a second page fault that also flushes the page from the TLB of
/// every core the process runs on (an inter-processor interrupt each,
/// slow in a virtual machine). Counters are read before they are written
/// (`+1`), so without this every page of the sketch took that path:
/// 13% of `scan`'s CPU time on Reuters went to those interrupts. Written
/// first, each page takes one plain fault.
fn written_zeros<C: Counter>(len: usize) -> Vec<C> {
    let page = 4096 / std::mem::size_of::<C>();
    let mut v = vec![C::default(); len];
    v.par_chunks_mut(page * 16).for_each(|pages| {
        for page in pages.chunks_mut(page) {
            // SAFETY: `page` is non-empty (`chunks_mut`) and exclusively
            // borrowed; a volatile write is not optimized away, as a plain
            // write of the zero already there could be.
            unsafe { std::ptr::write_volatile(page.as_mut_ptr(), C::default()) };
        }
    });
    v
}

impl DfSketch {
    /// A sketch with rows of `2^bits` counters.
    pub(crate) fn with_bits(bits: u32) -> Self {
        DfSketch {
            counts: Counts::with_bits(bits),
        }
    }

    /// A sketch for about `increments` (document, distinct shingle)
    /// counts: rows of at least 2^22 counters and up to 2^26, about one
    /// counter for every 16 increments between. Each counter of a row
    /// holds the sum of the shingles hashed to it, so a fixed size fills
    /// up: at a million news articles (some 350 million increments) the
    /// default rows hold about 80 each, and every shingle would look as
    /// common as a stock phrase in one outlet's thousand-document cut-off.
    /// Corpora of up to some 67 million increments get the default size.
    pub fn for_increments(increments: u64) -> Self {
        DfSketch::with_bits(DfSketch::bits_for(increments))
    }

    /// The row bits [`DfSketch::for_increments`] picks for `increments`.
    pub(crate) fn bits_for(increments: u64) -> u32 {
        let wanted = (increments / DF_LOAD).max(1).next_power_of_two();
        wanted.trailing_zeros().clamp(DF_BITS, DF_MAX_BITS)
    }

    /// This sketch with rows of `2^bits` counters (`bits` at least its
    /// own), counting every hash at least as often as it does: the new
    /// counter at slot `s` starts at the old one at `s` without its high
    /// bits, the only slot the hashes of `s` could have been counted in.
    /// Counts stay upper bounds; their excess stays what it was, and only
    /// what is added from now on is spread over the larger rows.
    pub(crate) fn grown(&self, bits: u32) -> DfSketch {
        let bits = bits.max(self.counts.bits);
        let old_mask = (1usize << self.counts.bits) - 1;
        let rows = self
            .counts
            .rows
            .each_ref()
            .map(|row| (0..1usize << bits).map(|s| row[s & old_mask]).collect());
        DfSketch {
            counts: Counts { rows, bits },
        }
    }

    /// The two rows of counters.
    pub(crate) fn rows(&self) -> &[Vec<u16>; 2] {
        &self.counts.rows
    }

    /// The two rows of counters, to load a stored sketch.
    pub(crate) fn rows_mut(&mut self) -> &mut [Vec<u16>; 2] {
        &mut self.counts.rows
    }

    /// Count `h` once.
    #[inline]
    pub(crate) fn add(&mut self, h: u64) {
        self.counts.add(h);
    }

    /// Bits of a row index: rows of `2^bits` counters.
    pub fn bits(&self) -> u32 {
        self.counts.bits
    }

    /// Count one document's distinct shingles (each hash once per document).
    pub fn add_document(&mut self, distinct: &[u64]) {
        for &h in distinct {
            self.add(h);
        }
    }

    /// A sketch counting every document of `docs` (each a list of distinct
    /// shingle hashes), built in parallel: the hashes are first scattered
    /// by counter slot into partitions small enough for a core's cache,
    /// then each partition is counted by one thread. The result equals
    /// calling [`DfSketch::add_document`] on each document in turn.
    pub fn from_documents(docs: &[Vec<u64>]) -> Self {
        let mut sketch = DfSketch::default();
        sketch.add_documents(docs);
        sketch
    }

    /// Count more documents, as [`DfSketch::from_documents`] does: a
    /// sketch fed a corpus in several calls equals one built from it whole.
    pub fn add_documents(&mut self, docs: &[Vec<u64>]) {
        self.counts.add_documents(docs);
    }

    /// Number of documents holding `h` (an upper bound).
    #[inline]
    pub fn get(&self, h: u64) -> u32 {
        self.counts.get(h)
    }
}

/// A counter of a sketch's rows: saturating, of 8 or 16 bits.
pub(crate) trait Counter: Copy + Default + Send + Sync + std::fmt::Debug {
    /// The largest count it holds.
    const MAX: u32;
    /// One more, or the same when saturated.
    fn bump(self) -> Self;
    /// Its count.
    fn count(self) -> u32;
}

/// [`Counter`] for unsigned integers of 8 and 16 bits.
macro_rules! counter {
    ($($t:ty),*) => {$(
        impl Counter for $t {
            const MAX: u32 = <$t>::MAX as u32;
            #[inline]
            fn bump(self) -> Self {
                self.saturating_add(1)
            }
            #[inline]
            fn count(self) -> u32 {
                u32::from(self)
            }
        }
    )*};
}

counter!(u8, u16);

/// The rows of a count-min sketch of two rows of `2^bits` saturating
/// counters ([`DfSketch`]'s, and [`Sketch`]'s).
#[derive(Debug, Clone)]
pub(crate) struct Counts<C> {
    rows: [Vec<C>; 2],
    bits: u32,
}

impl<C: Counter> Counts<C> {
    /// Rows of `2^bits` zero counters.
    fn with_bits(bits: u32) -> Self {
        Counts {
            rows: [written_zeros(1 << bits), written_zeros(1 << bits)],
            bits,
        }
    }

    /// Count `h` once.
    #[inline]
    fn add(&mut self, h: u64) {
        for (row, slot) in slots(self.bits, h).into_iter().enumerate() {
            let c = &mut self.rows[row][slot];
            *c = c.bump();
        }
    }

    /// [`DfSketch::add_documents`].
    fn add_documents(&mut self, docs: &[Vec<u64>]) {
        const PART_BITS: u32 = 6;
        let bits = self.bits;
        let shift = bits - PART_BITS;
        // Documents in chunks of about 8M hashes, so the scattered copy
        // stays small whatever the corpus size.
        let mut from = 0;
        while from < docs.len() {
            let mut to = from;
            let mut hashes = 0;
            while to < docs.len() && (to == from || hashes + docs[to].len() <= 8 << 20) {
                hashes += docs[to].len();
                to += 1;
            }
            let chunk = &docs[from..to];
            // Pieces of the chunk are scattered in parallel, each into its
            // own partitions; every +1 lands on the same counter whichever
            // piece it came from, so the counts do not depend on the split.
            let per = chunk
                .len()
                .div_ceil(rayon::current_num_threads() * 4)
                .max(1);
            for row in 0..2 {
                let pieces: Vec<Vec<Vec<u32>>> = chunk
                    .par_chunks(per)
                    .map(|docs| {
                        let mut parts: Vec<Vec<u32>> = vec![Vec::new(); 1 << PART_BITS];
                        for d in docs {
                            for &h in d {
                                let slot = slots(bits, h)[row];
                                parts[slot >> shift].push(slot as u32);
                            }
                        }
                        parts
                    })
                    .collect();
                let mask = (1usize << shift) - 1;
                self.rows[row]
                    .par_chunks_mut(1 << shift)
                    .enumerate()
                    .for_each(|(p, counters)| {
                        for slot in pieces.iter().flat_map(|parts| &parts[p]) {
                            let c = &mut counters[*slot as usize & mask];
                            *c = c.bump();
                        }
                    });
            }
            from = to;
        }
    }

    /// Number of documents holding `h` (an upper bound; at most
    /// `C::MAX`).
    #[inline]
    fn get(&self, h: u64) -> u32 {
        let [s0, s1] = slots(self.bits, h);
        self.rows[0][s0].count().min(self.rows[1][s1].count())
    }

    /// Which hashes these rows count at least `count` times, as a table
    /// of one bit per counter ([`DfAtLeast`]).
    fn at_least(&self, count: u32) -> DfAtLeast {
        let rows = self.rows.each_ref().map(|row| {
            row.par_chunks(64)
                .map(|counters| {
                    counters.iter().enumerate().fold(0u64, |bits, (i, &c)| {
                        bits | u64::from(c.count() >= count) << i
                    })
                })
                .collect()
        });
        DfAtLeast {
            rows,
            bits: self.bits,
        }
    }
}

/// A sketch of document frequencies as `scan` keeps them: [`DfSketch`]'s
/// rows with counters of 8 bits when every count it will be asked about
/// (`get(h) >= c`) is at most 255, of 16 otherwise. A count that
/// saturates at 255 still reaches every such `c`, and below that counts
/// are exact, so both widths give the same answers; the narrow rows take
/// half the memory (8 MB fewer fresh pages for the default rows) and half
/// the traffic of counting.
#[derive(Debug, Clone)]
pub(crate) enum Sketch {
    /// Counters of 8 bits.
    Narrow(Counts<u8>),
    /// Counters of 16 bits.
    Wide(Counts<u16>),
}

impl Sketch {
    /// Rows of `2^bits` counters, wide enough to compare counts with
    /// `largest` (the largest cut-off asked about).
    pub(crate) fn new(bits: u32, largest: usize) -> Sketch {
        if largest <= <u8 as Counter>::MAX as usize {
            Sketch::Narrow(Counts::with_bits(bits))
        } else {
            Sketch::Wide(Counts::with_bits(bits))
        }
    }

    /// Count documents, as [`DfSketch::add_documents`] does.
    pub(crate) fn add_documents(&mut self, docs: &[Vec<u64>]) {
        match self {
            Sketch::Narrow(c) => c.add_documents(docs),
            Sketch::Wide(c) => c.add_documents(docs),
        }
    }

    /// Number of documents holding `h` (an upper bound, saturated at the
    /// counters' largest value).
    #[inline]
    pub(crate) fn get(&self, h: u64) -> u32 {
        match self {
            Sketch::Narrow(c) => c.get(h),
            Sketch::Wide(c) => c.get(h),
        }
    }

    /// Which hashes this sketch counts at least `count` times
    /// ([`DfAtLeast`]).
    pub(crate) fn at_least(&self, count: u32) -> DfAtLeast {
        match self {
            Sketch::Narrow(c) => c.at_least(count),
            Sketch::Wide(c) => c.at_least(count),
        }
    }
}

/// Whether a [`DfSketch`] counts a hash at least some number of times,
/// one bit per counter: a sixteenth of the sketch (a megabyte for the
/// default rows, which a core's cache holds, where the sketch's 16 MB are
/// a random read in a far cache per lookup). `holds(h)` is exactly
/// `sketch.get(h) >= count`: the smaller of two counters reaches a count
/// when both do.
pub(crate) struct DfAtLeast {
    rows: [Vec<u64>; 2],
    bits: u32,
}

impl DfAtLeast {
    /// Does the sketch count `h` at least the count this table was made
    /// for?
    #[inline]
    pub(crate) fn holds(&self, h: u64) -> bool {
        let [s0, s1] = slots(self.bits, h);
        self.rows[0][s0 >> 6] >> (s0 & 63) & 1 == 1 && self.rows[1][s1 >> 6] >> (s1 & 63) & 1 == 1
    }

    /// Ask the processor to bring `h`'s bits into cache: a lookup a few
    /// shingles ahead of [`DfAtLeast::holds`] hides the latency of two
    /// random reads when the table is larger than the cache.
    #[inline]
    pub(crate) fn prefetch(&self, h: u64) {
        #[cfg(target_arch = "x86_64")]
        for (row, slot) in slots(self.bits, h).into_iter().enumerate() {
            let p = self.rows[row][slot >> 6..].as_ptr().cast::<i8>();
            // SAFETY: SSE is part of every x86_64 target, and a prefetch
            // is only a hint: it reads nothing and cannot fault (the
            // pointer is into the table anyway).
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
    }
}

/// The counter `h` goes to in each row of a sketch with rows of `2^bits`
/// counters.
#[inline]
fn slots(bits: u32, h: u64) -> [usize; 2] {
    let mask = (1u64 << bits) - 1;
    [(h & mask) as usize, ((h >> 32) & mask) as usize]
}
