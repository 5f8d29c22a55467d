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
    let mut filled = [0u64; MAX_PERM / 64];
    let mut empty = 0;
    for (i, &v) in sig.iter().enumerate() {
        if v != EMPTY {
            filled[i / 64] |= 1 << (i % 64);
        } else {
            empty += 1;
        }
    }
    if empty == 0 {
        return;
    }
    for j in 0..k {
        if sig[j] != EMPTY {
            continue;
        }
        let mut attempt: u64 = 1;
        loop {
            let probe = mix64((j as u64) << 32 ^ attempt ^ SEED.rotate_left(17));
            let donor = fast_range(probe, k);
            if filled[donor / 64] & (1 << (donor % 64)) != 0 {
                sig[j] = sig[donor];
                break;
            }
            attempt += 1;
        }
    }
}

/// Map a uniform 64-bit value onto `0..k` without division.
#[inline]
fn fast_range(x: u64, k: usize) -> usize {
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
}
