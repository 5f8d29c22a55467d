//! Stage 4: seed-and-extend alignment of a candidate document pair.

use serde::Serialize;
use std::cell::RefCell;

/// Where a passage sits in one document: a byte span of its original text.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Witness {
    /// Index of the document in [`crate::Report::documents`].
    pub doc: usize,
    /// Byte offset of the first byte (on a UTF-8 boundary).
    pub start: usize,
    /// Byte offset one past the last byte (on a UTF-8 boundary).
    pub end: usize,
}

/// A passage of text that two documents share: an aligned pair of spans.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Passage {
    /// Number of the passage, in report order.
    pub id: usize,
    /// The cluster the passage belongs to.
    pub cluster: usize,
    /// Token-level similarity of the two spans, 0..1 (1 - edit distance / length).
    pub similarity: f64,
    /// Tokens aligned, counted in the `a` witness.
    pub tokens: usize,
    /// The span in the document that sorts first by id.
    pub a: Witness,
    /// The span in the other document.
    pub b: Witness,
}

use crate::shingle::ShingledDoc;
use crate::text::{Token, normalized_into};

/// Settings for aligning one document pair.
#[derive(Debug, Clone, Copy)]
pub struct AlignParams {
    /// Shingle size in tokens (must match the shingles in [`ShingledDoc`]).
    pub ngram: usize,
    /// A passage needs at least this many tokens covered by shared shingles.
    pub min_tokens: usize,
    /// Pieces are chained into one passage across gaps up to this many
    /// tokens in each text (a dropped sentence, a rewritten clause).
    pub max_gap: usize,
    /// Shared tokens per token of the passage span, at least (0..1).
    pub min_density: f64,
    /// Token-level similarity of the two spans, at least (0..1). Formulaic
    /// text with different facts filled in ("raising 200 mln dlrs through
    /// an offering of debentures due 2017") stays below it.
    pub min_similarity: f64,
    /// A passage covering this share of the shorter document's tokens is
    /// reported even when it is shorter than `min_tokens` (short documents
    /// reused whole).
    pub whole_document: f64,
}

impl Default for AlignParams {
    fn default() -> Self {
        AlignParams {
            ngram: 5,
            min_tokens: 20,
            max_gap: 50,
            min_density: 0.3,
            min_similarity: 0.5,
            whole_document: 0.8,
        }
    }
}

/// An aligned passage in token coordinates, before it is numbered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alignment {
    /// Token range in the first document.
    pub a: (usize, usize),
    /// Token range in the second document.
    pub b: (usize, usize),
    /// Tokens of `a` covered by shared shingles or matched on extension.
    pub matched: usize,
    /// 1 - (token edit distance / longer length).
    pub similarity: f64,
}

/// A run of consecutive shared shingles on one diagonal.
#[derive(Debug, Clone, Copy)]
struct Run {
    a0: usize,
    a1: usize,
    b0: usize,
    b1: usize,
}

#[derive(Debug, Clone, Copy)]
struct Chain {
    run: Run,
    matched: usize,
}

/// Most positions one shingle hash may pair up in the two documents;
/// phrases repeated more often than this inside a document are not seeds.
const MAX_SEED_FANOUT: usize = 16;

/// Align two documents: every maximal passage they share.
///
/// Seeds are shingles both documents hold; seeds on one diagonal form runs;
/// runs that follow each other in both texts within `max_gap` tokens chain
/// into one passage (so a dropped sentence or a swapped word does not split
/// it); each passage is then extended token by token past its outer seeds,
/// counting tokens that are equal after normalization or nearly equal
/// (`urged`/`urge`, by normalized Levenshtein) as matches.
pub fn align_pair(
    text_a: &str,
    a: &ShingledDoc,
    text_b: &str,
    b: &ShingledDoc,
    p: &AlignParams,
) -> Vec<Alignment> {
    if a.tokens.is_empty() || b.tokens.is_empty() {
        return Vec::new();
    }
    if a.fingerprint == b.fingerprint && a.tokens.len() == b.tokens.len() {
        let n = a.tokens.len();
        return vec![Alignment {
            a: (0, n),
            b: (0, n),
            matched: n,
            similarity: 1.0,
        }];
    }
    let runs = seed_runs(a, b, p.ngram);
    let chains = bridge_shared_gaps(a, b, chain_runs(runs, p.max_gap, p.ngram), p);
    let shorter = a.tokens.len().min(b.tokens.len());
    let whole = ((p.whole_document * shorter as f64).ceil() as usize).max(p.ngram);
    let min_tokens = p.min_tokens.min(whole);
    let mut found: Vec<Alignment> = Vec::new();
    for c in chains {
        let mut run = c.run;
        let mut matched = c.matched;
        matched += extend(text_a, a, text_b, b, &mut run);
        let span = (run.a1 - run.a0).max(run.b1 - run.b0);
        let sparse = |m: usize| (m as f64) < p.min_density * span as f64;
        // Seeds exclude shingles common in the corpus or the outlet, so in
        // text built of stock phrases a real reprint has its seeds spread
        // thin: the density is then taken over every token the two spans
        // share. The length test stays on seeds alone (counting common
        // text there lets stock-phrase pastiches through).
        if matched < min_tokens || (sparse(matched) && sparse(shared_tokens(a, b, &run, p.ngram))) {
            continue;
        }
        found.push(Alignment {
            a: (run.a0, run.a1),
            b: (run.b0, run.b1),
            matched,
            similarity: 0.0,
        });
    }
    let mut out = merge_overlapping(found);
    for al in &mut out {
        al.similarity = similarity(
            &a.tokens[al.a.0..al.a.1],
            &b.tokens[al.b.0..al.b.1],
            al.matched,
        );
    }
    out.retain(|al| al.similarity >= p.min_similarity);
    out
}

/// Chains are bridged across gaps of at most this many times `max_gap`.
const BRIDGE_REACH: usize = 4;

/// Join chains that follow each other in both texts when the text between
/// them is shared, seeds or not: in copy built of stock phrases the seeds
/// can be further apart than `max_gap` while the text between them is the
/// same. A gap is bridged when at most `max_gap` of its tokens, in each
/// text, are not covered by a shingle the other text's gap also holds.
fn bridge_shared_gaps(
    a: &ShingledDoc,
    b: &ShingledDoc,
    chains: Vec<Chain>,
    p: &AlignParams,
) -> Vec<Chain> {
    let n = p.ngram;
    let mut out: Vec<Chain> = Vec::with_capacity(chains.len());
    for c in chains {
        if let Some(last) = out.last_mut() {
            let (l, r) = (last.run, c.run);
            let follows = r.a0 + n > l.a1 && r.b0 + n > l.b1 && r.a1 > l.a1 && r.b1 > l.b1;
            // Gaps far longer than `max_gap` are not worth a look: seeds
            // are rarely that sparse, and the test costs a sort of the gap.
            let near =
                r.a0 < l.a1 + BRIDGE_REACH * p.max_gap && r.b0 < l.b1 + BRIDGE_REACH * p.max_gap;
            if follows && near {
                // The gaps with the first shingle of the next chain, so
                // that shingles starting in the gap count.
                let (ga0, gb0) = (l.a1.min(r.a0), l.b1.min(r.b0));
                let gap = Run {
                    a0: ga0,
                    a1: r.a0 + n,
                    b0: gb0,
                    b1: r.b0 + n,
                };
                let flip = Run {
                    a0: gap.b0,
                    a1: gap.b1,
                    b0: gap.a0,
                    b1: gap.a1,
                };
                let open_a = (gap.a1 - gap.a0).saturating_sub(shared_tokens(a, b, &gap, n));
                let open_b = (gap.b1 - gap.b0).saturating_sub(shared_tokens(b, a, &flip, n));
                if open_a <= p.max_gap && open_b <= p.max_gap {
                    last.matched += c.matched.saturating_sub(l.a1.saturating_sub(r.a0));
                    last.run.a1 = r.a1;
                    last.run.b1 = r.b1;
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Tokens of the `a` span of `run` covered by a shingle that also occurs
/// (anywhere) in its `b` span, common shingles included.
fn shared_tokens(a: &ShingledDoc, b: &ShingledDoc, run: &Run, n: usize) -> usize {
    fn inside(d: &ShingledDoc, lo: usize, hi: usize, n: usize) -> &[u64] {
        let end = (hi + 1).saturating_sub(n).min(d.shingles.len());
        &d.shingles[lo.min(end)..end]
    }
    let mut in_b = inside(b, run.b0, run.b1, n).to_vec();
    in_b.sort_unstable();
    let mut covered = 0;
    let mut until = run.a0;
    for (i, h) in (run.a0..).zip(inside(a, run.a0, run.a1, n)) {
        if in_b.binary_search(h).is_ok() {
            covered += (i + n).min(run.a1) - i.max(until);
            until = i + n;
        }
    }
    covered
}

/// Shared seeds, grouped into runs along diagonals.
fn seed_runs(a: &ShingledDoc, b: &ShingledDoc, n: usize) -> Vec<Run> {
    let (sa, sb) = (&a.seeds, &b.seeds);
    let mut hits: Vec<(i64, u32, u32)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < sa.len() && j < sb.len() {
        let (ka, kb) = (sa[i].0, sb[j].0);
        if ka != kb {
            // Without a branch on which side is behind: the comparison is
            // a coin toss the processor would mispredict.
            i += usize::from(ka < kb);
            j += usize::from(kb < ka);
        } else {
            let ie = i + sa[i..].iter().take_while(|s| s.0 == ka).count();
            let je = j + sb[j..].iter().take_while(|s| s.0 == ka).count();
            shared_seeds((a, &sa[i..ie]), (b, &sb[j..je]), &mut hits);
            i = ie;
            j = je;
        }
    }
    hits.sort_unstable();
    let (na, nb) = (a.tokens.len(), b.tokens.len());
    let mut runs: Vec<Run> = Vec::new();
    let mut last_diag = i64::MIN;
    for (diag, pa, pb) in hits {
        let (pa, pb) = (pa as usize, pb as usize);
        let (ea, eb) = ((pa + n).min(na), (pb + n).min(nb));
        if let Some(r) = runs.last_mut()
            && diag == last_diag
            && pa <= r.a1
        {
            r.a1 = r.a1.max(ea);
            r.b1 = r.b1.max(eb);
            continue;
        }
        runs.push(Run {
            a0: pa,
            a1: ea,
            b0: pb,
            b1: eb,
        });
        last_diag = diag;
    }
    runs.sort_unstable_by_key(|r| (r.a0, r.b0, r.a1, r.b1));
    runs
}

/// The hits `(diagonal, position in a, position in b)` of two runs of
/// seeds with the same high hash bits: the seeds whose whole hashes are
/// equal (nearly always all of them), unless one hash is held at so many
/// positions in both that it says nothing about where the copy is.
fn shared_seeds(
    (a, ra): (&ShingledDoc, &[(u32, u32)]),
    (b, rb): (&ShingledDoc, &[(u32, u32)]),
    hits: &mut Vec<(i64, u32, u32)>,
) {
    let hash = |d: &ShingledDoc, s: &(u32, u32)| d.shingles[s.1 as usize];
    let (mut x, mut y) = (0, 0);
    while x < ra.len() && y < rb.len() {
        let (ha, hb) = (hash(a, &ra[x]), hash(b, &rb[y]));
        if ha != hb {
            x += usize::from(ha < hb);
            y += usize::from(hb < ha);
            continue;
        }
        let xe = x + ra[x..].iter().take_while(|s| hash(a, s) == ha).count();
        let ye = y + rb[y..].iter().take_while(|s| hash(b, s) == ha).count();
        if (xe - x) * (ye - y) <= MAX_SEED_FANOUT {
            for &(_, pa) in &ra[x..xe] {
                for &(_, pb) in &rb[y..ye] {
                    hits.push((pa as i64 - pb as i64, pa, pb));
                }
            }
        }
        x = xe;
        y = ye;
    }
}

/// Chain runs that follow each other in both texts into passages.
fn chain_runs(runs: Vec<Run>, max_gap: usize, n: usize) -> Vec<Chain> {
    let mut open: Vec<Chain> = Vec::new();
    let mut done: Vec<Chain> = Vec::new();
    let (gap, overlap) = (max_gap as i64, n as i64);
    for r in runs {
        // Close chains that can no longer be continued.
        let mut k = 0;
        while k < open.len() {
            if open[k].run.a1 + max_gap < r.a0 {
                done.push(open.swap_remove(k));
            } else {
                k += 1;
            }
        }
        let mut best: Option<(i64, usize)> = None;
        for (ci, c) in open.iter().enumerate() {
            let ga = r.a0 as i64 - c.run.a1 as i64;
            let gb = r.b0 as i64 - c.run.b1 as i64;
            let fits = ga >= -overlap
                && gb >= -overlap
                && ga <= gap
                && gb <= gap
                && r.a1 > c.run.a1
                && r.b1 > c.run.b1;
            if fits {
                let cost = ga.max(gb);
                if best.is_none_or(|(bc, _)| cost < bc) {
                    best = Some((cost, ci));
                }
            }
        }
        match best {
            Some((_, ci)) => {
                let c = &mut open[ci];
                c.matched += r.a1 - r.a0.max(c.run.a1);
                c.run.a1 = r.a1;
                c.run.b1 = c.run.b1.max(r.b1);
            }
            None => open.push(Chain {
                run: r,
                matched: r.a1 - r.a0,
            }),
        }
    }
    done.extend(open);
    done.sort_unstable_by_key(|c| (c.run.a0, c.run.b0));
    done
}

/// Do two tokens match, exactly after normalization or nearly?
fn tokens_match(ta: &str, a: &Token, tb: &str, b: &Token) -> bool {
    if a.hash == b.hash {
        return true;
    }
    let (la, lb) = ((a.end - a.start) as usize, (b.end - b.start) as usize);
    if la < 4 || lb < 4 {
        return false;
    }
    // Nearly all pairs asked about differ (gen 20k: 225 of 223k match):
    // the normalized forms go into buffers kept by the thread, and a length
    // difference over a fifth rules a pair out before the edit distance
    // (which is at least that difference).
    thread_local! {
        static FORMS: RefCell<(String, String, Vec<Token>)> = const {
            RefCell::new((String::new(), String::new(), Vec::new()))
        };
    }
    FORMS.with_borrow_mut(|(na, nb, scratch)| {
        normalized_into(ta, a.start as usize, a.end as usize, na, scratch);
        normalized_into(tb, b.start as usize, b.end as usize, nb, scratch);
        let (ca, cb) = (na.chars().count(), nb.chars().count());
        ca.abs_diff(cb) * 5 <= ca.max(cb) && strsim::normalized_levenshtein(na, nb) >= 0.8
    })
}

/// Extend a passage past its outer seeds in both directions, X-drop style:
/// +1 for a matching token pair, -1 for a mismatch, stop when the score
/// falls 3 below its best. Extension runs on through text too common to
/// be a seed (a stock phrase that opens the reprinted lead is still part
/// of it), but matches count as evidence only up to the first common
/// shingle, so common text cannot make a passage on its own (and there
/// only equal tokens match, not near-equal ones). Returns the number of
/// matched tokens added as evidence.
fn extend(ta: &str, da: &ShingledDoc, tb: &str, db: &ShingledDoc, run: &mut Run) -> usize {
    const X: i64 = 3;
    let (a, b) = (&da.tokens[..], &db.tokens[..]);
    let mut added = 0;
    // Leftwards.
    let (mut score, mut best, mut best_i, mut best_m, mut m) = (0i64, 0i64, 0usize, 0usize, 0usize);
    let mut i = 1;
    let mut evidence = true;
    while i <= run.a0 && i <= run.b0 {
        evidence &= !da.is_common(run.a0 - i) && !db.is_common(run.b0 - i);
        let (x, y) = (&a[run.a0 - i], &b[run.b0 - i]);
        if x.hash == y.hash || (evidence && tokens_match(ta, x, tb, y)) {
            score += 1;
            m += usize::from(evidence);
        } else {
            score -= 1;
        }
        if score > best {
            (best, best_i, best_m) = (score, i, m);
        }
        if score < best - X {
            break;
        }
        i += 1;
    }
    run.a0 -= best_i;
    run.b0 -= best_i;
    added += best_m;
    // Rightwards.
    let (mut score, mut best, mut best_i, mut best_m, mut m) = (0i64, 0i64, 0usize, 0usize, 0usize);
    let mut i = 0;
    let mut evidence = true;
    while run.a1 + i < a.len() && run.b1 + i < b.len() {
        evidence &= !da.is_common(run.a1 + i) && !db.is_common(run.b1 + i);
        let (x, y) = (&a[run.a1 + i], &b[run.b1 + i]);
        if x.hash == y.hash || (evidence && tokens_match(ta, x, tb, y)) {
            score += 1;
            m += usize::from(evidence);
        } else {
            score -= 1;
        }
        if score > best {
            (best, best_i, best_m) = (score, i + 1, m);
        }
        if score < best - X {
            break;
        }
        i += 1;
    }
    run.a1 += best_i;
    run.b1 += best_i;
    added + best_m
}

/// Token-level similarity: 1 - edit distance / longer length. Spans too
/// long for a quadratic edit distance fall back to the matched share.
fn similarity(a: &[Token], b: &[Token], matched: usize) -> f64 {
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 0.0;
    }
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return (matched as f64 / longer as f64).min(1.0);
    }
    let ha: Vec<u64> = a.iter().map(|t| t.hash).collect();
    let hb: Vec<u64> = b.iter().map(|t| t.hash).collect();
    1.0 - levenshtein(&ha, &hb) as f64 / longer as f64
}

/// Exact Levenshtein distance of two token sequences. A common prefix and
/// suffix cost nothing (passages begin and end on matching seeds); close
/// copies are then settled in a narrow band, and the rest by the
/// bit-parallel algorithm, whose cost does not grow with the distance.
pub(crate) fn levenshtein(a: &[u64], b: &[u64]) -> usize {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let k = a.len().abs_diff(b.len()).max(16);
    match bounded_levenshtein(a, b, k) {
        Some(d) => d,
        None => levenshtein_tokens(a, b),
    }
}

/// Levenshtein distance of two token sequences by the bit-parallel
/// algorithm of [`levenshtein_bytes_within`]: the rows holding a column's token
/// are found by binary search in the rows sorted by token.
fn levenshtein_tokens(a: &[u64], b: &[u64]) -> usize {
    let (rows, cols) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if rows.is_empty() {
        return cols.len();
    }
    let mut by_token: Vec<(u64, u32)> = (0u32..).zip(rows).map(|(i, &t)| (t, i)).collect();
    by_token.sort_unstable();
    let mut table = BitColumns::new(rows.len());
    let mut eq = vec![0u64; table.pv.len()];
    for &c in cols {
        let first = by_token.partition_point(|e| e.0 < c);
        let same = by_token[first..].iter().take_while(|e| e.0 == c);
        for &(_, i) in same.clone() {
            eq[i as usize / 64] |= 1 << (i % 64);
        }
        table.advance(&eq);
        for &(_, i) in same {
            eq[i as usize / 64] = 0;
        }
    }
    table.distance
}

/// Levenshtein distance of `a` and `b` when it is at most `k`, else `None`
/// (Ukkonen's band: only cells within `k` of the diagonal are computed).
pub(crate) fn bounded_levenshtein<T: PartialEq>(a: &[T], b: &[T], k: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > k {
        return None;
    }
    if n == 0 || m == 0 {
        return Some(n.max(m));
    }
    let inf = k + 1;
    let mut prev: Vec<usize> = (0..=m).map(|j| j.min(inf)).collect();
    let mut cur = vec![inf; m + 1];
    for i in 1..=n {
        let lo = i.saturating_sub(k).max(1);
        let hi = (i + k).min(m);
        cur[lo - 1] = if lo == 1 { i.min(inf) } else { inf };
        let mut row_min = cur[lo - 1];
        // Cells lo..=hi of this row from cells lo-1..=hi of the row above,
        // as slices zipped together (no bounds check per cell).
        let x = &a[i - 1];
        let mut left = cur[lo - 1];
        for ((up, y), out) in prev[lo - 1..=hi]
            .windows(2)
            .zip(&b[lo - 1..hi])
            .zip(&mut cur[lo..=hi])
        {
            let cost = usize::from(x != y);
            let v = (up[0] + cost).min(up[1] + 1).min(left + 1).min(inf);
            *out = v;
            left = v;
            row_min = row_min.min(v);
        }
        if hi < m {
            cur[hi + 1] = inf;
        }
        if row_min > k {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[m];
    (d <= k).then_some(d)
}

/// The Levenshtein distance of two byte strings (tests).
#[cfg(test)]
fn levenshtein_bytes(a: &[u8], b: &[u8]) -> usize {
    levenshtein_bytes_within(a, b, usize::MAX).unwrap_or(usize::MAX)
}

/// Levenshtein distance of two byte strings by Myers' bit-parallel
/// algorithm (Myers 1999), with Hyyrö's blocks for strings over 64 bytes:
/// the shorter string's bytes are the rows, 64 rows a word, and one column
/// costs a few word operations per block instead of one step per cell.
/// Returns it when it is at most `k`, else `None`, found early:
/// the last row's value changes by at most one per column, so once it
/// exceeds `k` by more than the columns left, the distance will too. For
/// two different texts it falls slowly (a column matches few rows), so
/// the table usually stops well before its last column at the quote
/// audit's threshold.
pub(crate) fn levenshtein_bytes_within(a: &[u8], b: &[u8], k: usize) -> Option<usize> {
    let (rows, cols) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if rows.is_empty() {
        return (cols.len() <= k).then_some(cols.len());
    }
    let mut table = BitColumns::new(rows.len());
    let blocks = table.pv.len();
    // For each byte value, the rows holding it: a table kept by the thread
    // and cleared after use where it was set (allocating and zeroing 2 KiB
    // per block for every pair was a third of this function's instructions
    // in the quote audit, callgrind on generated 20k).
    thread_local! {
        static PEQ: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }
    PEQ.with_borrow_mut(|peq| {
        if peq.len() < 256 * blocks {
            peq.resize(256 * blocks, 0);
        }
        for (i, &c) in rows.iter().enumerate() {
            peq[c as usize * blocks + i / 64] |= 1 << (i % 64);
        }
        let mut within = true;
        for (j, &c) in cols.iter().enumerate() {
            table.advance(&peq[c as usize * blocks..(c as usize + 1) * blocks]);
            let left = cols.len() - 1 - j;
            if table.distance.saturating_sub(left) > k {
                within = false;
                break;
            }
        }
        for (i, &c) in rows.iter().enumerate() {
            peq[c as usize * blocks + i / 64] = 0;
        }
        // Long strings do not leave their large table behind.
        if peq.len() > 256 * 64 {
            *peq = Vec::new();
        }
        within.then_some(table.distance)
    })
}

/// One column of the edit-distance table, kept as bits (Myers 1999; the
/// 64-row blocks are Hyyrö's): for each row, whether its value is one more
/// (`pv`) or one less (`mv`) than the row above; and the value of the last
/// row.
struct BitColumns {
    pv: Vec<u64>,
    mv: Vec<u64>,
    /// The last row's bit in the last block.
    last_row: u64,
    /// The table's value at the last row of the current column.
    distance: usize,
}

impl BitColumns {
    /// Column 0 of a table of `rows` rows (`rows > 0`): 0, 1, 2, ...
    fn new(rows: usize) -> Self {
        let blocks = rows.div_ceil(64);
        BitColumns {
            pv: vec![u64::MAX; blocks],
            mv: vec![0; blocks],
            last_row: 1 << ((rows - 1) % 64),
            distance: rows,
        }
    }

    /// Move to the next column, whose symbol equals the rows set in `eqs`.
    #[inline]
    fn advance(&mut self, eqs: &[u64]) {
        let blocks = self.pv.len();
        // The horizontal delta entering a block from above: row 0 of the
        // table grows by one per column.
        let mut carry: i8 = 1;
        for (blk, &eq) in eqs.iter().enumerate().take(blocks) {
            let (p, n) = (self.pv[blk], self.mv[blk]);
            let xv = eq | n;
            let eq = eq | u64::from(carry < 0);
            let xh = ((eq & p).wrapping_add(p) ^ p) | eq;
            let ph = n | !(xh | p);
            let mh = p & xh;
            let top = if blk + 1 == blocks {
                self.last_row
            } else {
                1 << 63
            };
            let out = if ph & top != 0 {
                1
            } else if mh & top != 0 {
                -1
            } else {
                0
            };
            let ph = (ph << 1) | u64::from(carry > 0);
            let mh = (mh << 1) | u64::from(carry < 0);
            self.pv[blk] = mh | !(xv | ph);
            self.mv[blk] = ph & xv;
            carry = out;
        }
        self.distance = self.distance.wrapping_add_signed(isize::from(carry));
    }
}

/// Merge passages that overlap in both texts (extension can make
/// neighbours meet).
fn merge_overlapping(mut v: Vec<Alignment>) -> Vec<Alignment> {
    v.sort_unstable_by_key(|x| (x.a.0, x.b.0));
    let mut out: Vec<Alignment> = Vec::new();
    for x in v {
        if let Some(last) = out.last_mut()
            && x.a.0 < last.a.1
            && x.b.0 < last.b.1
            && x.b.1 > last.b.0
        {
            last.b.0 = last.b.0.min(x.b.0);
            last.b.1 = last.b.1.max(x.b.1);
            let overlap = last.a.1.min(x.a.1) - x.a.0;
            last.a.1 = last.a.1.max(x.a.1);
            last.matched = (last.matched + x.matched)
                .saturating_sub(overlap)
                .min(last.a.1 - last.a.0);
            continue;
        }
        out.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_equal_tokens_are_within_a_fifth() {
        let near = |a: &str, b: &str| {
            let (ta, tb) = (crate::text::tokens(a), crate::text::tokens(b));
            tokens_match(a, &ta[0], b, &tb[0])
        };
        // One edit in five characters is the limit, whatever the case.
        assert!(near("abcde", "ABCD"));
        assert!(near("Haqqani", "Haqani"));
        assert!(near("Kabul's", "kabuls"));
        assert!(!near("abcdefghi", "abcdefg"));
        assert!(!near("Kabul", "Karachi"));
        // Under four bytes only equal tokens match.
        assert!(!near("the", "tho"));
        assert!(near("the", "THE"));
    }

    #[test]
    fn seeds_equal_in_their_high_bits_only_do_not_match() {
        // Shingle 0 of each document shares its high 32 bits with the
        // other's but not its whole hash; shingle 1 is the same in both.
        let doc = |first: u64| {
            let mut d = ShingledDoc {
                tokens: vec![
                    Token {
                        start: 0,
                        end: 0,
                        hash: 0
                    };
                    2
                ],
                shingles: vec![first, 0x1234_5678_9ABC_DEF0],
                ..ShingledDoc::default()
            };
            d.set_seeds(|_| true);
            d
        };
        let (a, b) = (doc(0xAAAA_BBBB_0000_0001), doc(0xAAAA_BBBB_0000_0002));
        assert_eq!(a.seeds[0].0, b.seeds[0].0);
        let runs: Vec<(usize, usize)> = seed_runs(&a, &b, 1).iter().map(|r| (r.a0, r.b0)).collect();
        assert_eq!(runs, [(1, 1)]);
        // With whole hashes equal, both match.
        let c = doc(0xAAAA_BBBB_0000_0001);
        assert_eq!(seed_runs(&a, &c, 1).len(), 1);
        assert_eq!(seed_runs(&a, &c, 1)[0].a1, 2);
    }

    /// Two documents whose shingles are all common except every
    /// `every`-th one of `a` (as in a corpus of stock phrases).
    fn sparse_seeds(text_a: &str, text_b: &str, every: usize) -> (ShingledDoc, ShingledDoc) {
        let (mut a, mut b) = (ShingledDoc::new(text_a, 5), ShingledDoc::new(text_b, 5));
        let rare: std::collections::HashSet<u64> =
            a.shingles.iter().copied().step_by(every).collect();
        a.set_seeds(|h| rare.contains(&h));
        b.set_seeds(|h| rare.contains(&h));
        (a, b)
    }

    fn words(from: usize, to: usize) -> String {
        (from..to).map(|i| format!("word{i} ")).collect()
    }

    #[test]
    fn shared_common_text_joins_sparse_seeds() {
        // Seeds 70 tokens apart (more than max_gap), common text between
        // them the same in both: one passage over the whole text.
        let text = words(0, 400);
        let b_text = format!("{}{text}", words(1000, 1010));
        let (a, b) = sparse_seeds(&text, &b_text, 70);
        let found = align_pair(&text, &a, &b_text, &b, &AlignParams::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].a.1 - found[0].a.0 >= 350, "{found:?}");
    }

    #[test]
    fn extension_runs_through_shared_common_text() {
        // Seeds only in the middle 40 tokens; the 60 tokens either side are
        // common but the same in both texts: the passage covers them.
        let text = words(0, 160);
        let b_text = format!("{}{text}{}", words(1000, 1010), words(2000, 2010));
        let (mut a, mut b) = (ShingledDoc::new(&text, 5), ShingledDoc::new(&b_text, 5));
        let rare: std::collections::HashSet<u64> = a.shingles[60..100].iter().copied().collect();
        a.set_seeds(|h| rare.contains(&h));
        b.set_seeds(|h| rare.contains(&h));
        let found = align_pair(&text, &a, &b_text, &b, &AlignParams::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].a, (0, 160), "{found:?}");
        assert_eq!(found[0].b, (10, 170), "{found:?}");
        // Common text is not evidence: one seed (5 tokens) inside 160
        // shared common tokens makes no passage.
        let rare: std::collections::HashSet<u64> = a.shingles[80..81].iter().copied().collect();
        a.set_seeds(|h| rare.contains(&h));
        b.set_seeds(|h| rare.contains(&h));
        let found = align_pair(&text, &a, &b_text, &b, &AlignParams::default());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn different_text_between_sparse_seeds_is_not_joined() {
        // The same seeds, but the text between them differs in the two
        // documents: no passage (each seed alone is too short).
        let a_text = words(0, 400);
        let b_text: String = (0..400)
            .map(|i| {
                if i % 70 < 5 {
                    format!("word{i} ")
                } else {
                    format!("other{i} ")
                }
            })
            .collect();
        let (a, b) = sparse_seeds(&a_text, &b_text, 70);
        let found = align_pair(&a_text, &a, &b_text, &b, &AlignParams::default());
        assert!(found.is_empty(), "{found:?}");
    }

    proptest::proptest! {
        #[test]
        fn banded_levenshtein_is_exact(a in "[abc]{0,60}", b in "[abc]{0,60}", k in 0usize..70) {
            let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let d = strsim::levenshtein(&a, &b);
            let (ta, tb): (Vec<u64>, Vec<u64>) = (
                ca.iter().map(|&c| c as u64).collect(),
                cb.iter().map(|&c| c as u64).collect(),
            );
            proptest::prop_assert_eq!(levenshtein(&ta, &tb), d);
            proptest::prop_assert_eq!(levenshtein_tokens(&ta, &tb), d);
            proptest::prop_assert_eq!(bounded_levenshtein(&ca, &cb, k), (d <= k).then_some(d));
        }

        // Lengths across one, two and three 64-row blocks, and alphabets
        // small (many matches) and large.
        #[test]
        fn bit_parallel_levenshtein_is_exact(
            a in "[ab]{0,150}|[a-z ]{0,200}",
            b in "[ab]{0,150}|[a-z ]{0,200}",
            cut in 0usize..200,
        ) {
            let d = strsim::levenshtein(&a, &b);
            proptest::prop_assert_eq!(levenshtein_bytes(a.as_bytes(), b.as_bytes()), d);
            let tokens = |s: &str| s.bytes().map(|c| u64::from(c) * 0x9E37_79B9).collect::<Vec<_>>();
            proptest::prop_assert_eq!(levenshtein_tokens(&tokens(&a), &tokens(&b)), d);
            proptest::prop_assert_eq!(levenshtein(&tokens(&a), &tokens(&b)), d);
            // A near copy: a prefix of `a` followed by `b`'s tail.
            let near = format!("{}{}", &a[..cut.min(a.len())], &b[cut.min(b.len())..]);
            let d = strsim::levenshtein(&a, &near);
            proptest::prop_assert_eq!(levenshtein_bytes(a.as_bytes(), near.as_bytes()), d);
            // Bounded: the distance up to `k`, nothing above.
            for k in [0, d.saturating_sub(1), d, d + 1, cut] {
                let want = (d <= k).then_some(d);
                proptest::prop_assert_eq!(levenshtein_bytes_within(a.as_bytes(), near.as_bytes(), k), want);
            }
        }
    }

    #[test]
    fn bit_parallel_levenshtein_edges() {
        let long: String = (0..130)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect();
        for (a, b) in [
            ("", ""),
            ("", "abc"),
            ("abc", ""),
            ("kitten", "sitting"),
            (long.as_str(), long.as_str()),
            (long.as_str(), &long[1..]),
            (&long[..64], &long[..65]),
            (&long[..64], &long[1..64]),
        ] {
            assert_eq!(
                levenshtein_bytes(a.as_bytes(), b.as_bytes()),
                strsim::levenshtein(a, b),
                "{a} / {b}"
            );
        }
    }
}
