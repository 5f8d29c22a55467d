//! Stage 3b: MinHash signatures by one-permutation hashing.
//!
//! Classic MinHash evaluates K hash functions for every shingle. Here each
//! shingle is mixed once: the top bits of the mixed value pick one of K bins
//! and the value competes for that bin's minimum (one-permutation hashing,
//! Li, Owen & Zhang 2012). Bins that no shingle reached are filled by
//! *optimal densification* (Shrivastava 2017): an empty bin copies the value
//! of the non-empty bin found by a bin-specific probe sequence, the same
//! sequence for every set, so two sets agree on a densified bin with the
//! probability they agree on the donor. The fraction of equal bins of two
//! signatures is then an unbiased estimate of the sets' Jaccard similarity.

use crate::shingle::mix64;

/// Largest signature length supported.
pub const MAX_PERM: usize = 1024;

/// Marks a bin no shingle reached (before densification).
const EMPTY: u64 = u64::MAX;
const SEED: u64 = 0x5157_2EED_0D1E_CAFE;

/// Compute the K-bin signature of a set of shingle hashes into `out`.
///
/// Duplicate hashes are harmless. Returns `false` (and leaves `out` filled
/// with a sentinel) when `shingles` is empty. `k` is clamped to
/// `1..=MAX_PERM`.
pub fn signature(shingles: impl IntoIterator<Item = u64>, k: usize, out: &mut Vec<u64>) -> bool {
    let k = k.clamp(1, MAX_PERM);
    out.clear();
    out.resize(k, EMPTY);
    let mut any = false;
    for h in shingles {
        let x = mix64(h ^ SEED);
        let bin = fast_range(x, k);
        // The high bits chose the bin; rank within a bin by the rest.
        let v = x & (EMPTY >> 1);
        if v < out[bin] {
            out[bin] = v;
        }
        any = true;
    }
    if any {
        densify(out);
    }
    any
}

/// Fill empty bins from non-empty ones (optimal densification).
fn densify(sig: &mut [u64]) {
    let k = sig.len();
    let filled = filled_bins(sig);
    let reached: u32 = filled.iter().map(|w| w.count_ones()).sum();
    if reached as usize == k {
        return;
    }
    PROBES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.k != k {
            *cache = Probes::new(k);
        }
        #[cfg(target_arch = "x86_64")]
        if cache.ssse3 && !cache.narrow.is_empty() {
            // SAFETY: `cache.ssse3` says the processor has SSSE3.
            unsafe { fill_empties_ssse3(sig, &filled, &cache.narrow) };
            return;
        }
        fill_empties(sig, &filled, &cache.wide);
    });
}

/// A bitmap of bins, bit `i % 64` of word `i / 64` for bin `i`.
type Bitmap = [u64; MAX_PERM / 64];

/// Bin `d`'s bit of `filled` (0 or 1).
#[inline]
fn filled_bit(filled: &Bitmap, d: usize) -> u64 {
    (filled[d / 64] >> (d % 64)) & 1
}

/// The bitmap of `sig`'s filled bins (bit `i % 64` of word `i / 64`).
/// Values have their top bit clear and [`EMPTY`] has it set, so the
/// bitmap is the complement of the top bits, which SSE2 gathers two at
/// a time.
fn filled_bins(sig: &[u64]) -> Bitmap {
    let mut filled: Bitmap = [0; MAX_PERM / 64];
    for (word, chunk) in filled.iter_mut().zip(sig.chunks(64)) {
        let mut empty = 0u64;
        let (pairs, rest) = chunk.as_chunks::<2>();
        let odd = rest.first().map_or(0, |&v| v >> 63);
        for (p, pair) in pairs.iter().enumerate() {
            empty |= top_bits(pair) << (2 * p);
        }
        empty |= odd << (chunk.len() - 1);
        let valid = u64::MAX >> (64 - chunk.len());
        *word = !empty & valid;
    }
    filled
}

/// The top bits of a pair of values (bit 0: the first value's).
#[cfg(target_arch = "x86_64")]
#[inline]
fn top_bits(pair: &[u64; 2]) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY: `pair` is sixteen bytes (unaligned loads are allowed); the
    // other intrinsics are SSE2, always present on x86-64.
    unsafe { _mm_movemask_pd(_mm_castsi128_pd(_mm_loadu_si128(pair.as_ptr().cast()))) as u64 }
}

/// [`top_bits`] on other processors.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn top_bits(pair: &[u64; 2]) -> u64 {
    (pair[0] >> 63) | (pair[1] >> 63) << 1
}

/// Call `f` with every bin below `k` whose bit is clear in `filled`, in
/// order.
#[inline]
fn for_each_empty(filled: &Bitmap, k: usize, mut f: impl FnMut(usize)) {
    for (w, &word) in filled.iter().enumerate().take(k.div_ceil(64)) {
        let valid = if (w + 1) * 64 <= k {
            u64::MAX
        } else {
            (1u64 << (k % 64)) - 1
        };
        let mut empties = !word & valid;
        while empties != 0 {
            f(w * 64 + empties.trailing_zeros() as usize);
            empties &= empties - 1;
        }
    }
}

/// The donor of bin `j` when none of its first [`TABLE_PROBES`] probes is
/// filled (rare: only for very short texts): the sequence goes on.
#[cold]
fn donor_beyond_table(j: usize, k: usize, filled: &Bitmap) -> usize {
    (TABLE_PROBES as u64 + 1..)
        .map(|attempt| probe(j, attempt, k))
        .find(|&d| filled_bit(filled, d) != 0)
        .unwrap_or(0)
}

/// [`densify`]'s filling, probe by probe (any `k`): the donor is the first
/// filled bin of the sequence.
fn fill_empties(sig: &mut [u64], filled: &Bitmap, table: &[u16]) {
    let k = sig.len();
    let is_filled = |d: usize| filled_bit(filled, d);
    for_each_empty(filled, k, |j| {
        let first = &table[j * TABLE_PROBES..(j + 1) * TABLE_PROBES];
        // The first probe alone finds a donor as often as bins are filled
        // (most of them, but for short texts); then eight at a time, with
        // no branch per probe.
        let d = first[0] as usize;
        if is_filled(d) != 0 {
            sig[j] = sig[d];
            return;
        }
        let mut donor = None;
        for group in first.chunks_exact(8) {
            let mut hits = 0u32;
            for (p, &d) in group.iter().enumerate() {
                hits |= (is_filled(d as usize) as u32) << p;
            }
            if hits != 0 {
                donor = Some(group[hits.trailing_zeros() as usize] as usize);
                break;
            }
        }
        let donor = donor.unwrap_or_else(|| donor_beyond_table(j, k, filled));
        sig[j] = sig[donor];
    });
}

/// [`fill_empties`] for `k <= 256` with SSSE3: a bin's sixteen first
/// probes are looked up in the filled-bin bitmap all at once (a byte
/// shuffle picks each probe's byte of the bitmap, a second one its bit).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn fill_empties_ssse3(sig: &mut [u64], filled: &Bitmap, table: &[[u8; 16]]) {
    if sig.len() <= 128 {
        fill_probed_ssse3::<true>(sig, filled, table);
    } else {
        fill_probed_ssse3::<false>(sig, filled, table);
    }
}

/// [`fill_empties_ssse3`]'s work; `NARROW` when `k <= 128`, so that every
/// probe's byte lies in the bitmap's first sixteen (one shuffle finds it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn fill_probed_ssse3<const NARROW: bool>(sig: &mut [u64], filled: &Bitmap, table: &[[u8; 16]]) {
    use std::arch::x86_64::*;
    let k = sig.len();
    // The bitmap's 32 bytes (bins 0..256), as two vectors.
    let mut bytes = [0u8; 32];
    for (w, word) in filled[..4].iter().enumerate() {
        bytes[w * 8..w * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    // SAFETY (the loads): each reads sixteen bytes of a `[u8; 32]` or a
    // `[u8; 16]`; unaligned loads are allowed.
    let (low, high) = unsafe {
        (
            _mm_loadu_si128(bytes.as_ptr().cast()),
            _mm_loadu_si128(bytes[16..].as_ptr().cast()),
        )
    };
    let bit_values = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    for_each_empty(filled, k, |j| {
        let probes = &table[j];
        // SAFETY: as above.
        let p = unsafe { _mm_loadu_si128(probes.as_ptr().cast()) };
        // Byte `d / 8` of the bitmap (0..32: from `low` or `high` by bit
        // 4), and the bit `d % 8` within it.
        let at = _mm_and_si128(_mm_srli_epi16(p, 3), _mm_set1_epi8(0x1f));
        let byte = if NARROW {
            _mm_shuffle_epi8(low, at)
        } else {
            let upper = _mm_cmpgt_epi8(at, _mm_set1_epi8(15));
            _mm_or_si128(
                _mm_and_si128(upper, _mm_shuffle_epi8(high, at)),
                _mm_andnot_si128(upper, _mm_shuffle_epi8(low, at)),
            )
        };
        let bit = _mm_shuffle_epi8(bit_values, _mm_and_si128(p, _mm_set1_epi8(7)));
        let hits = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(byte, bit), bit)) as u32;
        let donor = if hits != 0 {
            probes[hits.trailing_zeros() as usize] as usize
        } else {
            donor_beyond_table(j, k, filled)
        };
        sig[j] = sig[donor];
    });
}

/// Probes per bin kept in the table; the sequence goes on beyond them.
const TABLE_PROBES: usize = 16;

/// The first [`TABLE_PROBES`] probes of every bin, for one `k`.
struct Probes {
    k: usize,
    /// As `u16`, bin after bin (any `k`).
    wide: Vec<u16>,
    /// As bytes, one array per bin, when `k <= 256` (else empty).
    narrow: Vec<[u8; 16]>,
    /// Whether the processor has SSSE3 (for [`fill_empties_ssse3`]).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    ssse3: bool,
}

impl Probes {
    fn new(k: usize) -> Probes {
        let wide = probe_table(k);
        let narrow = if k <= 256 {
            wide.chunks_exact(TABLE_PROBES)
                .map(|c| std::array::from_fn(|p| c[p] as u8))
                .collect()
        } else {
            Vec::new()
        };
        #[cfg(target_arch = "x86_64")]
        let ssse3 = std::arch::is_x86_feature_detected!("ssse3");
        #[cfg(not(target_arch = "x86_64"))]
        let ssse3 = false;
        Probes {
            k,
            wide,
            narrow,
            ssse3,
        }
    }
}

thread_local! {
    /// The probe table for the last `k` used on this thread.
    static PROBES: std::cell::RefCell<Probes> = const {
        std::cell::RefCell::new(Probes {
            k: 0,
            wide: Vec::new(),
            narrow: Vec::new(),
            ssse3: false,
        })
    };
}

/// The donor bin tried by bin `j` at attempt `attempt` (from 1).
#[inline]
fn probe(j: usize, attempt: u64, k: usize) -> usize {
    fast_range(mix64((j as u64) << 32 ^ attempt ^ SEED.rotate_left(17)), k)
}

fn probe_table(k: usize) -> Vec<u16> {
    (0..k)
        .flat_map(|j| (1..=TABLE_PROBES as u64).map(move |a| probe(j, a, k) as u16))
        .collect()
}

/// Map a uniform 64-bit value onto `0..k` without division.
#[inline]
pub(crate) fn fast_range(x: u64, k: usize) -> usize {
    ((x as u128 * k as u128) >> 64) as usize
}

/// Estimated Jaccard similarity: the fraction of bins on which two
/// signatures of equal length agree.
pub fn estimate_jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Densification as the probe sequence defines it, one probe at a time.
    fn densify_by_definition(sig: &mut [u64]) {
        let k = sig.len();
        let original = sig.to_vec();
        for j in 0..k {
            if original[j] == EMPTY {
                let donor = (1..)
                    .map(|attempt| probe(j, attempt, k))
                    .find(|&d| original[d] != EMPTY)
                    .unwrap_or(0);
                sig[j] = original[donor];
            }
        }
    }

    #[test]
    fn densify_follows_the_probe_sequence() {
        let mut sig = Vec::new();
        for k in [1usize, 7, 64, 100, 128, 200, 1024] {
            for n in [1u64, 2, 5, 30, 90, 400, 3000] {
                let set: Vec<u64> = (0..n).map(|i| mix64(i ^ (k as u64) << 20)).collect();
                signature(set.iter().copied(), k, &mut sig);
                // Undo the densification, then redo it by definition.
                let mut sparse = vec![EMPTY; k];
                for &h in &set {
                    let x = mix64(h ^ SEED);
                    let bin = fast_range(x, k);
                    sparse[bin] = sparse[bin].min(x & (EMPTY >> 1));
                }
                densify_by_definition(&mut sparse);
                assert_eq!(sig, sparse, "k {k}, n {n}");
            }
        }
    }

    /// Two sets of `n` elements sharing `shared` elements.
    fn sets(n: u64, shared: u64, salt: u64) -> (Vec<u64>, Vec<u64>) {
        let a: Vec<u64> = (0..n).map(|i| mix64(i + salt * 1_000_003)).collect();
        let mut b: Vec<u64> = a[..shared as usize].to_vec();
        b.extend((0..n - shared).map(|i| mix64((i + salt * 1_000_003 + 1) << 40)));
        (a, b)
    }

    #[test]
    fn estimates_match_exact_jaccard() {
        let k = 256;
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        for (trial, shared) in [
            (0u64, 0u64),
            (1, 50),
            (2, 100),
            (3, 150),
            (4, 190),
            (5, 200),
        ]
        .into_iter()
        .cycle()
        .take(120)
        .enumerate()
        .map(|(i, (_, s))| (i as u64, s))
        {
            let (a, b) = sets(200, shared, trial);
            let exact = shared as f64 / (400 - shared) as f64;
            signature(a.iter().copied(), k, &mut sa);
            signature(b.iter().copied(), k, &mut sb);
            let est = estimate_jaccard(&sa, &sb);
            // Standard error sqrt(J(1-J)/k) is at most 0.031 at k = 256;
            // allow four of them.
            assert!(
                (est - exact).abs() < 0.13,
                "shared {shared}: est {est} exact {exact}"
            );
        }
    }

    #[test]
    fn mean_error_is_small() {
        let k = 128;
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        let mut total = 0.0;
        let trials = 200;
        for t in 0..trials {
            let (a, b) = sets(40, 20, t + 1000);
            signature(a, k, &mut sa);
            signature(b, k, &mut sb);
            total += estimate_jaccard(&sa, &sb);
        }
        let mean = total / trials as f64;
        let exact = 20.0 / 60.0;
        assert!((mean - exact).abs() < 0.02, "mean {mean} exact {exact}");
    }

    #[test]
    fn identical_and_empty_sets() {
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        assert!(signature([1u64, 2, 3], 64, &mut sa));
        assert!(signature([3u64, 2, 1, 1], 64, &mut sb));
        assert_eq!(estimate_jaccard(&sa, &sb), 1.0);
        assert!(!signature(std::iter::empty(), 64, &mut sa));
    }

    /// Both ways of filling give the sequence's donor, at every fill
    /// level (down to one filled bin, where the table's probes run out).
    #[test]
    fn both_fillings_follow_the_probe_sequence() {
        for k in [
            1usize, 2, 15, 16, 17, 64, 100, 127, 128, 129, 200, 255, 256, 257, 1024,
        ] {
            let probes = Probes::new(k);
            assert_eq!(probes.narrow.is_empty(), k > 256);
            for keep in [1u64, 2, 3, 5, 8, 16, 40, 90, 100] {
                let sig: Vec<u64> = (0..k as u64)
                    .map(|i| {
                        let x = mix64(i ^ keep << 32 ^ k as u64);
                        if x % 100 < keep || i == keep % k as u64 {
                            x >> 1
                        } else {
                            EMPTY
                        }
                    })
                    .collect();
                let mut filled = [0u64; MAX_PERM / 64];
                for (i, &v) in sig.iter().enumerate() {
                    filled[i / 64] |= u64::from(v != EMPTY) << (i % 64);
                }
                assert_eq!(filled_bins(&sig), filled, "k {k}, keep {keep}");
                let mut expected = sig.clone();
                densify_by_definition(&mut expected);
                let mut wide = sig.clone();
                fill_empties(&mut wide, &filled, &probes.wide);
                assert_eq!(wide, expected, "k {k}, keep {keep}");
                #[cfg(target_arch = "x86_64")]
                if probes.ssse3 && !probes.narrow.is_empty() {
                    let mut narrow = sig.clone();
                    // SAFETY: `probes.ssse3` says the processor has SSSE3.
                    unsafe { fill_empties_ssse3(&mut narrow, &filled, &probes.narrow) };
                    assert_eq!(narrow, expected, "ssse3: k {k}, keep {keep}");
                }
            }
        }
    }

    #[test]
    fn probe_table_gives_the_probe_sequence() {
        for k in [1, 7, 128, 1024] {
            for filled_every in [1, 3, 50, 1000] {
                let mut sig: Vec<u64> = (0..k as u64)
                    .map(|i| {
                        if i % filled_every == 0 {
                            mix64(i) >> 1
                        } else {
                            EMPTY
                        }
                    })
                    .collect();
                let mut naive = sig.clone();
                for (j, v) in naive.iter_mut().enumerate() {
                    if *v == EMPTY {
                        let donor = (1..)
                            .map(|a| probe(j, a, k))
                            .find(|&d| sig[d] != EMPTY)
                            .unwrap();
                        *v = sig[donor];
                    }
                }
                densify(&mut sig);
                assert_eq!(sig, naive, "k {k}");
            }
        }
    }
}
