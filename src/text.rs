//! Stage 2: tokenize a document into normalized, hashed tokens that keep
//! their byte offsets into the original text.
//!
//! Normalization exists for matching only; every report span is cut from the
//! original text with the offsets kept here.
//!
//! What counts as a token:
//! - a run of letters and digits; an apostrophe (`'` or `’`) inside a word
//!   joins (`Pakistan’s` = `Pakistan's` = `pakistans`);
//! - a dot joins short pieces into one abbreviation (`U.S.` = `US` = `us`,
//!   `U.N.`), and digit groups join (`2,700` = `2700`);
//! - hyphens and dashes separate (`U.S.-led` = `US led`, `al-Qaeda` = `al Qaeda`);
//! - in scripts written without spaces (Chinese, Japanese kana, Thai, Lao,
//!   Khmer, Myanmar) every character is a token, so shingles become character
//!   n-grams there.
//!
//! Each word is lowercased and British spellings are folded onto American
//! ones by suffix rules (`-ise`→`-ize`, `-isation`→`-ization`, `-our`→`-or`,
//! `-tre`→`-ter`, `-elled`→`-eled`, `sceptic`→`skeptic`, a few whole words).
//! The folding may merge two different words; that only costs a little
//! precision on single tokens, never a byte offset.

use xxhash_rust::xxh3::xxh3_64;

/// One token: where it is in the original text and the hash of its
/// normalized form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the token's first byte in the original text.
    pub start: u32,
    /// Byte offset one past its last byte.
    pub end: u32,
    /// xxh3 hash of the normalized token.
    pub hash: u64,
}

/// Tokenize `text` into `out` (cleared first).
///
/// Texts over 4 GiB are cut at 4 GiB (offsets are `u32`).
pub fn tokenize(text: &str, out: &mut Vec<Token>) {
    thread_local! {
        /// Kept from text to text: most texts have a word that needs it,
        /// and growing it afresh was an allocation per text.
        static SCRATCH: std::cell::Cell<Scratch> = const {
            std::cell::Cell::new(Scratch { norm: String::new(), ascii: Vec::new() })
        };
    }
    out.clear();
    let mut scratch = SCRATCH.take();
    let bytes = text.as_bytes();
    let limit = bytes.len().min(u32::MAX as usize);
    let mut i = 0;
    // Blocks of 64 bytes, each classified at once. Near the end of the
    // text a block is classified from a copy padded with spaces, which end
    // a word as the end of the text does.
    while i < limit {
        i = match bytes.get(i..limit).and_then(<[u8]>::first_chunk::<BLOCK>) {
            Some(chunk) => block_tokens(text, chunk, i, limit, out, &mut scratch),
            None => {
                let mut chunk = [b' '; BLOCK];
                chunk[..limit - i].copy_from_slice(&bytes[i..limit]);
                block_tokens(text, &chunk, i, limit, out, &mut scratch)
            }
        };
    }
    // Buffers that grew for a very long word are let go.
    if scratch.norm.capacity().max(scratch.ascii.capacity()) <= KEPT_SCRATCH {
        SCRATCH.set(scratch);
    }
}

/// The most bytes a thread's tokenizer buffers keep room for between
/// texts.
const KEPT_SCRATCH: usize = 1 << 12;

/// Bytes the tokenizer classifies at once.
const BLOCK: usize = 64;

/// The tokenizer's buffers for words it cannot hash in place.
#[derive(Default)]
struct Scratch {
    /// A non-ASCII word, normalized.
    norm: String,
    /// An ASCII word, lowercased and without joiners.
    ascii: Vec<u8>,
}

/// Tokenize from `i` (not inside a word) to the end of the 64-byte block
/// at `i` or further, or to the start of the word the block ends inside;
/// returns where to go on. `chunk` is the block: the text's 64 bytes at
/// `i`, or the bytes left before `limit` followed by spaces. Plain words
/// (ASCII letters and digits ended by a byte that cannot join them to
/// more) are found and hashed from the block's masks; anything else goes
/// to [`token_at`].
#[inline]
fn block_tokens(
    text: &str,
    chunk: &[u8; BLOCK],
    i: usize,
    limit: usize,
    out: &mut Vec<Token>,
    scratch: &mut Scratch,
) -> usize {
    let bytes = text.as_bytes();
    let masks = classify_block(chunk);
    let Masks { word, high, .. } = masks;
    let mut p = 0;
    loop {
        // The next byte that is part of a word or not ASCII.
        let next = (word | high) & (u64::MAX << p);
        if next == 0 {
            return i + BLOCK;
        }
        let s = next.trailing_zeros() as usize;
        let after_word = !word & (u64::MAX << s);
        let to = if high >> s & 1 == 1 {
            token_at(text, i + s, limit, out, scratch)
        } else if after_word == 0 {
            if s > 0 {
                // The word runs past the block: the next block starts
                // with it.
                return i + s;
            }
            token_at(text, i + s, limit, out, scratch)
        } else {
            let e = after_word.trailing_zeros() as usize;
            match masks.ending(bytes, i, s, e, limit) {
                Ending::Plain => {
                    out.push(Token {
                        start: (i + s) as u32,
                        end: (i + e) as u32,
                        hash: plain_word_hash(bytes, i + s, i + e, &mut scratch.ascii),
                    });
                    // The byte that ended the word cannot start one: step
                    // over it.
                    i + e + 1
                }
                Ending::Joins => masks
                    .joined_word(bytes, i, s, e, limit, out, &mut scratch.ascii)
                    .unwrap_or_else(|| token_at(text, i + s, limit, out, scratch)),
                Ending::Unsure => token_at(text, i + s, limit, out, scratch),
            }
        };
        if to >= i + BLOCK {
            return to;
        }
        p = to - i;
    }
}

/// Tokenize what starts at `i`: step over one character that is not part
/// of a word, or read one token; returns where to go on.
fn token_at(
    text: &str,
    i: usize,
    limit: usize,
    out: &mut Vec<Token>,
    scratch: &mut Scratch,
) -> usize {
    let bytes = text.as_bytes();
    let b = bytes[i];
    if b < 0x80 {
        if BYTE_CLASS[b as usize] != WORD {
            return i + 1;
        }
        // Fastest path: a plain run of ASCII letters and digits ended
        // by a space or punctuation that cannot join words.
        let start = i;
        let j = word_end(bytes, i + 1, limit);
        let ends_plainly = j >= limit
            || match BYTE_CLASS[bytes[j] as usize] {
                OTHER => true,
                HIGH => false,
                _ => after_joiner(bytes, start, j, limit) == Ending::Plain,
            };
        if ends_plainly {
            out.push(Token {
                start: start as u32,
                end: j as u32,
                hash: plain_word_hash(bytes, start, j, &mut scratch.ascii),
            });
            // The byte that ended the word is ASCII and no part of a
            // word (it ended it plainly): step over it too.
            return j + 1;
        }
        // Fast path: a word of ASCII letters and digits, with joiners
        // (`U.S.`, `2,700`, `it's`). It gives up (and the general path
        // below takes the word) as soon as a non-ASCII character could
        // belong to the word.
        if let Some(end) = scan_ascii_word(text, i, limit, &mut scratch.ascii) {
            fold_spelling_bytes(&mut scratch.ascii);
            out.push(Token {
                start: i as u32,
                end: end as u32,
                hash: xxh3_64(&scratch.ascii),
            });
            return end;
        }
    }
    let (c, len) = char_at(text, i);
    if !is_word_char(c) {
        return i + len;
    }
    let norm = &mut scratch.norm;
    if is_unspaced_script(c) {
        norm.clear();
        norm.extend(c.to_lowercase());
        push(out, i, i + len, norm);
        return i + len;
    }
    let end = scan_word(text, i, limit, norm);
    fold_spelling(norm);
    push(out, i, end, norm);
    end
}

/// What the byte after a run of ASCII letters and digits does to the
/// word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// It ends the word: ASCII that is neither a letter, a digit nor a
    /// joiner, a joiner that joins nothing, or the end of the text.
    Plain,
    /// It is a joiner (`'`, `.` or `,`) joining the next run on.
    Joins,
    /// It is, or is followed by, a non-ASCII byte: left to the general
    /// path.
    Unsure,
}

/// The joiner (`'`, `.` or `,`) at `j` ends the run of ASCII letters and
/// digits from `start`: what it does to the word.
#[inline]
fn after_joiner(bytes: &[u8], start: usize, j: usize, limit: usize) -> Ending {
    if j + 1 >= limit {
        return Ending::Plain;
    }
    let next = bytes[j + 1];
    if next >= 0x80 {
        return Ending::Unsure;
    }
    let joins = match bytes[j] {
        b'\'' => BYTE_CLASS[next as usize] == WORD,
        b'.' => BYTE_CLASS[next as usize] == WORD && j - start <= 3,
        _ => bytes[j - 1].is_ascii_digit() && next.is_ascii_digit(),
    };
    if joins { Ending::Joins } else { Ending::Plain }
}

/// The masks of a 64-byte block ([`classify_block`]): bit `k` of each
/// tells about byte `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    /// An ASCII letter or digit.
    word: u64,
    /// Not ASCII.
    high: u64,
    /// A joiner: `'`, `.` or `,`.
    joiner: u64,
}

impl Masks {
    /// What ends the run of letters and digits from `s` to `e` (bit
    /// positions in the block at `i`; `e` inside the block).
    #[inline]
    fn ending(&self, bytes: &[u8], i: usize, s: usize, e: usize, limit: usize) -> Ending {
        if self.high >> e & 1 == 1 {
            Ending::Unsure
        } else if self.joiner >> e & 1 == 0 {
            Ending::Plain
        } else {
            after_joiner(bytes, i + s, i + e, limit)
        }
    }

    /// Read the word of runs joined by joiners (`U.S.`, `2,700`, `it's`)
    /// whose first run is `s..e` in the block at `i` (the joiner at `e`
    /// joins), as [`scan_ascii_word`] reads it, from the masks; push its
    /// token and return where to go on. `None` (nothing pushed) when the
    /// word runs past the block or meets a non-ASCII byte.
    #[allow(clippy::too_many_arguments)]
    fn joined_word(
        &self,
        bytes: &[u8],
        i: usize,
        s: usize,
        mut e: usize,
        limit: usize,
        out: &mut Vec<Token>,
        ascii: &mut Vec<u8>,
    ) -> Option<usize> {
        ascii.clear();
        ascii.extend(bytes[i + s..i + e].iter().map(|&b| b | 0x20));
        loop {
            // The joiner joins a letter or digit on: the next run starts
            // right after it.
            let from = e + 1;
            if from >= BLOCK {
                return None;
            }
            let rest = !self.word & (u64::MAX << from);
            if rest == 0 {
                return None;
            }
            e = rest.trailing_zeros() as usize;
            ascii.extend(bytes[i + from..i + e].iter().map(|&b| b | 0x20));
            match self.ending(bytes, i, from, e, limit) {
                Ending::Plain => break,
                Ending::Joins => continue,
                Ending::Unsure => return None,
            }
        }
        // Up to sixteen bytes, hashed as a plain word is (no copy into a
        // packed number unless a spelling rule may apply); longer, by the
        // general fold. The same hash either way.
        let hash = if ascii.len() <= 16 {
            plain_word_hash(ascii, 0, ascii.len(), &mut Vec::new())
        } else {
            fold_spelling_bytes(ascii);
            xxh3_64(ascii)
        };
        out.push(Token {
            start: (i + s) as u32,
            end: (i + e) as u32,
            hash,
        });
        Some(i + e)
    }
}

/// The hash of the plain word `bytes[start..end]` (ASCII letters and
/// digits), lowercased and folded: `xxh3_64` of the normalized word.
#[inline(always)]
fn plain_word_hash(bytes: &[u8], start: usize, end: usize, ascii: &mut Vec<u8>) -> u64 {
    let len = end - start;
    if len <= 16 {
        // Letters and digits only: setting bit 5 of every byte
        // lowercases the letters and leaves the digits as they are.
        if len < 4 {
            let at = |k: usize| bytes[start + k] | 0x20;
            return xxh3_1to3(at(0), at(len / 2), at(len - 1), len);
        }
        let first = read_u32(bytes, start) | 0x2020_2020;
        let last = read_u32(bytes, end - 4) | 0x2020_2020;
        if may_fold(first, last) {
            // The word is loaded as sixteen bytes at once (padded by hand
            // only near the end of the text) and folded in registers.
            let raw = match bytes
                .get(start..start + 16)
                .and_then(<[u8]>::first_chunk::<16>)
            {
                Some(b) => u128::from_le_bytes(*b),
                None => pack(&bytes[start..end]),
            };
            let lower = (raw | LOWERCASE_BIT) & low_bytes(len);
            if let Some((folded, n)) = fold_rules(lower, len) {
                return xxh3_64(&folded.to_le_bytes()[..n]);
            }
        }
        // Nothing to fold (nearly every word): hashed from the text where
        // it lies, as `xxh3_64` reads a word of this length.
        if len <= 8 {
            xxh3_4to8(first, last, len)
        } else {
            let first = read_u64(bytes, start) | 0x2020_2020_2020_2020;
            let last = read_u64(bytes, end - 8) | 0x2020_2020_2020_2020;
            xxh3_9to16(first, last, len)
        }
    } else {
        ascii.clear();
        ascii.extend(bytes[start..end].iter().map(u8::to_ascii_lowercase));
        fold_spelling_bytes(ascii);
        xxh3_64(ascii)
    }
}

/// The four bytes at `at` of `bytes`, little-endian (zero past the end,
/// which callers never reach).
#[inline(always)]
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |b| u32::from_le_bytes(*b))
}

/// The eight bytes at `at` of `bytes`, little-endian (zero past the end,
/// which callers never reach).
#[inline(always)]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |b| u64::from_le_bytes(*b))
}

/// The first 56 bytes of XXH3's default secret, as the eight-byte words
/// its short-input paths read (the published constant of the XXH3
/// specification).
const XXH3_SECRET: [u64; 7] = [
    u64::from_le_bytes([0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe]),
    u64::from_le_bytes([0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c]),
    u64::from_le_bytes([0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb]),
    u64::from_le_bytes([0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f]),
    u64::from_le_bytes([0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78]),
    u64::from_le_bytes([0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21]),
    u64::from_le_bytes([0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e]),
];

/// `xxh3_64` of a word of one to three bytes, given its first, middle
/// (`len / 2`) and last bytes.
#[inline(always)]
fn xxh3_1to3(c1: u8, c2: u8, c3: u8, len: usize) -> u64 {
    let combo = u32::from(c1) << 16 | u32::from(c2) << 24 | u32::from(c3) | (len as u32) << 8;
    let flip = (XXH3_SECRET[0] as u32 ^ (XXH3_SECRET[0] >> 32) as u32) as u64;
    let mut h = u64::from(combo) ^ flip;
    h ^= h >> 33;
    h = h.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 29;
    h = h.wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^ h >> 32
}

/// `xxh3_64` of a word of four to eight bytes, given its first and last
/// four bytes (little-endian).
#[inline(always)]
fn xxh3_4to8(first: u32, last: u32, len: usize) -> u64 {
    let keyed = (u64::from(last) + (u64::from(first) << 32)) ^ (XXH3_SECRET[1] ^ XXH3_SECRET[2]);
    let mut h = keyed ^ keyed.rotate_left(49) ^ keyed.rotate_left(24);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^= (h >> 35).wrapping_add(len as u64);
    h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^ h >> 28
}

/// `xxh3_64` of a word of nine to sixteen bytes, given its first and last
/// eight bytes (little-endian).
#[inline(always)]
fn xxh3_9to16(first: u64, last: u64, len: usize) -> u64 {
    let lo = first ^ (XXH3_SECRET[3] ^ XXH3_SECRET[4]);
    let hi = last ^ (XXH3_SECRET[5] ^ XXH3_SECRET[6]);
    let product = u128::from(lo) * u128::from(hi);
    let acc = (len as u64)
        .wrapping_add(lo.swap_bytes())
        .wrapping_add(hi)
        .wrapping_add(product as u64 ^ (product >> 64) as u64);
    let mut h = acc ^ acc >> 37;
    h = h.wrapping_mul(0x1656_6791_9E37_79F9);
    h ^ h >> 32
}

/// The masks of the 64 bytes of `chunk`: which are ASCII letters or
/// digits, which are not ASCII, which are joiners (`'`, `.` or `,`).
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify_block(chunk: &[u8; BLOCK]) -> Masks {
    use std::arch::x86_64::*;
    let (mut word, mut high, mut joiner) = (0u64, 0u64, 0u64);
    for (k, part) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: the load reads the sixteen bytes of `part` (unaligned
        // loads are allowed); the other intrinsics are SSE2, always
        // present on x86-64.
        let (w, h, j) = unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast());
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let joins = _mm_or_si128(_mm_or_si128(eq(b'\''), eq(b'.')), eq(b','));
            (
                _mm_movemask_epi8(word_lanes(v)) as u16,
                _mm_movemask_epi8(v) as u16,
                _mm_movemask_epi8(joins) as u16,
            )
        };
        word |= u64::from(w) << (16 * k);
        high |= u64::from(h) << (16 * k);
        joiner |= u64::from(j) << (16 * k);
    }
    Masks { word, high, joiner }
}

/// [`classify_block`] on other processors.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn classify_block(chunk: &[u8; BLOCK]) -> Masks {
    classify_block_bytewise(chunk)
}

/// [`classify_block`] by the byte table (the reference the tests hold the
/// SSE2 version to).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_block_bytewise(chunk: &[u8; BLOCK]) -> Masks {
    let mut masks = Masks {
        word: 0,
        high: 0,
        joiner: 0,
    };
    for (k, &b) in chunk.iter().enumerate() {
        match BYTE_CLASS[b as usize] {
            WORD => masks.word |= 1 << k,
            HIGH => masks.high |= 1 << k,
            JOINER => masks.joiner |= 1 << k,
            _ => {}
        }
    }
    masks
}

/// The end of the run of ASCII letters and digits that starts at `j`
/// (at most `limit`), sixteen bytes at a time.
#[inline]
fn word_end(bytes: &[u8], mut j: usize, limit: usize) -> usize {
    while let Some(chunk) = bytes[..limit].get(j..).and_then(<[u8]>::first_chunk) {
        let m = non_word_mask(chunk);
        if m != 0 {
            return j + m.trailing_zeros() as usize;
        }
        j += 16;
    }
    while j < limit && BYTE_CLASS[bytes[j] as usize] == WORD {
        j += 1;
    }
    j
}

/// Bit `k` set when byte `k` of `chunk` is not an ASCII letter or digit:
/// SSE2 (part of every x86-64 processor) classifies the sixteen bytes in
/// a few instructions.
#[cfg(target_arch = "x86_64")]
#[inline]
fn non_word_mask(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the sixteen bytes `chunk` points at (unaligned
    // loads are allowed); the other intrinsics are SSE2, always present on
    // x86-64.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        !(_mm_movemask_epi8(word_lanes(v)) as u32) & 0xffff
    }
}

/// The lanes of `v` (sixteen bytes) that hold an ASCII letter or digit,
/// set to all ones (the others to zero).
#[cfg(target_arch = "x86_64")]
#[inline]
fn word_lanes(v: std::arch::x86_64::__m128i) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 intrinsics on values (no memory is read); SSE2 is part
    // of every x86-64 processor.
    unsafe {
        // Shifted so that the wanted range starts at -128: one signed
        // compare tests both of its ends.
        let below = |x: __m128i, first: u8, n: i8| {
            let shifted = _mm_add_epi8(x, _mm_set1_epi8((128u8.wrapping_sub(first)) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8(-128 + n))
        };
        let letter = below(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
        let digit = below(v, b'0', 10);
        _mm_or_si128(letter, digit)
    }
}

/// [`non_word_mask`] a byte at a time, on other processors.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn non_word_mask(chunk: &[u8; 16]) -> u32 {
    non_word_mask_bytewise(chunk)
}

/// [`non_word_mask`] by the byte table (the reference the tests hold the
/// SSE2 version to).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn non_word_mask_bytewise(chunk: &[u8; 16]) -> u32 {
    mask_where(chunk, |b| BYTE_CLASS[b as usize] != WORD)
}

/// Bit `k` set when `hit` holds for byte `k` of `chunk`: the plain form of
/// the SSE2 byte masks, which the tests hold them to (and which other
/// processors use).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn mask_where(chunk: &[u8; 16], hit: impl Fn(u8) -> bool) -> u32 {
    chunk
        .iter()
        .enumerate()
        .filter(|&(_, &b)| hit(b))
        .fold(0, |m, (k, _)| m | 1 << k)
}

/// Call `f` with the position of every ASCII capital (`A` to `Z`) and
/// every byte equal to one of `others` in `bytes`, in order: sixteen bytes
/// at a time with SSE2, so that text with few of them costs a few
/// instructions per sixteen bytes (and one more per byte of `others`).
pub(crate) fn for_each_capital_or(bytes: &[u8], others: &[u8], mut f: impl FnMut(usize)) {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk) {
        let mut m = capital_or_mask(chunk, others);
        while m != 0 {
            f(at + m.trailing_zeros() as usize);
            m &= m - 1;
        }
        at += 16;
    }
    for (i, b) in bytes.iter().enumerate().skip(at) {
        if b.is_ascii_uppercase() || others.contains(b) {
            f(i);
        }
    }
}

/// Bit `k` set when byte `k` of `chunk` is an ASCII capital or one of
/// `others`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn capital_or_mask(chunk: &[u8; 16], others: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the sixteen bytes `chunk` points at (unaligned
    // loads are allowed); the other intrinsics are SSE2, always present on
    // x86-64.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        // Shifted so that `A` lands on -128: one signed compare tests both
        // ends of the range.
        let shifted = _mm_add_epi8(v, _mm_set1_epi8((128u8.wrapping_sub(b'A')) as i8));
        let mut hits = _mm_cmplt_epi8(shifted, _mm_set1_epi8(-128 + 26));
        for &o in others {
            hits = _mm_or_si128(hits, _mm_cmpeq_epi8(v, _mm_set1_epi8(o as i8)));
        }
        _mm_movemask_epi8(hits) as u32
    }
}

/// [`capital_or_mask`] a byte at a time, on other processors.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn capital_or_mask(chunk: &[u8; 16], others: &[u8]) -> u32 {
    chunk
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_uppercase() || others.contains(b))
        .fold(0, |m, (k, _)| m | 1 << k)
}

/// ASCII letters and digits.
const WORD: u8 = 1;
/// `'`, `.` and `,`, which may join two pieces of a word.
const JOINER: u8 = 2;
/// Bytes of non-ASCII characters.
const HIGH: u8 = 3;
/// Any other ASCII byte: spaces and punctuation that end a word.
const OTHER: u8 = 0;

/// The class of every byte value, for the tokenizer's fast path.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            HIGH
        } else if c.is_ascii_alphanumeric() {
            WORD
        } else if c == b'\'' || c == b'.' || c == b',' {
            JOINER
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// [`scan_word`] for a word made of ASCII only: the same token, or `None`
/// when a non-ASCII character might extend or join it.
#[inline]
fn scan_ascii_word(text: &str, mut i: usize, limit: usize, norm: &mut Vec<u8>) -> Option<usize> {
    let bytes = text.as_bytes();
    norm.clear();
    let mut end = i;
    let mut piece_len = 0usize;
    let mut last_was_digit = false;
    while i < limit {
        let b = bytes[i];
        if BYTE_CLASS[b as usize] == WORD {
            norm.push(b.to_ascii_lowercase());
            piece_len += 1;
            last_was_digit = b.is_ascii_digit();
            i += 1;
            end = i;
            continue;
        }
        if b >= 0x80 {
            // A letter, a combining mark or a joiner (’, ZWJ) would carry
            // the word on; punctuation such as ” or — ends it.
            let (c, _) = char_at(text, i);
            match c {
                c if !is_word_char(c) && !matches!(c, '’' | '\u{200c}' | '\u{200d}') => break,
                _ => return None,
            }
        }
        if i + 1 >= limit {
            break;
        }
        let next = bytes[i + 1];
        let joins = match b {
            b'\'' | b'.' if next >= 0x80 => return None,
            b'\'' => BYTE_CLASS[next as usize] == WORD,
            b'.' => BYTE_CLASS[next as usize] == WORD && piece_len <= 3,
            b',' => last_was_digit && next.is_ascii_digit(),
            _ => false,
        };
        if !joins {
            break;
        }
        piece_len = 0;
        i += 1;
    }
    Some(end)
}

/// The byte ranges of the lines of `bytes`, cut at each `\n` as
/// `split(|&b| b == b'\n')` cuts them (an empty last line after a final
/// `\n` included), found with `memchr`: a byte-by-byte split costs
/// several instructions per byte.
pub(crate) fn line_ranges(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let ends = memchr::memchr_iter(b'\n', bytes).chain([bytes.len()]);
    ends.scan(0, |start, end| {
        let line = *start..end;
        *start = end + 1;
        Some(line)
    })
}

/// Tokenize `text` into a new vector.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut v = Vec::new();
    tokenize(text, &mut v);
    v
}

/// The normalized form of the token at `text[start..end]`, as hashed.
pub fn normalized(text: &str, start: usize, end: usize) -> String {
    let mut norm = String::new();
    normalized_into(text, start, end, &mut norm, &mut Vec::new());
    norm
}

/// [`normalized`] into `norm` (cleared first), with `scratch` for the
/// tokens of the piece: no allocation once both have grown.
pub(crate) fn normalized_into(
    text: &str,
    start: usize,
    end: usize,
    norm: &mut String,
    scratch: &mut Vec<Token>,
) {
    norm.clear();
    let Some(piece) = text.get(start..end) else {
        return;
    };
    tokenize(piece, scratch);
    if let Some(first) = scratch.first() {
        if let Some(c) = piece.chars().next()
            && is_unspaced_script(c)
        {
            norm.extend(c.to_lowercase());
            return;
        }
        scan_word(piece, first.start as usize, piece.len(), norm);
        fold_spelling(norm);
    }
}

fn push(out: &mut Vec<Token>, start: usize, end: usize, norm: &str) {
    out.push(Token {
        start: start as u32,
        end: end as u32,
        hash: xxh3_64(norm.as_bytes()),
    });
}

/// Read one word starting at `i`; write its lowercased form (joiners
/// removed) into `norm`; return the byte offset one past its last character.
fn scan_word(text: &str, mut i: usize, limit: usize, norm: &mut String) -> usize {
    norm.clear();
    let mut end = i;
    let mut piece_len = 0usize; // characters since the last joiner
    let mut last_was_digit = false;
    while i < limit {
        let (c, len) = char_at(text, i);
        if is_word_char(c) && !is_unspaced_script(c) {
            if c.is_ascii() {
                norm.push(c.to_ascii_lowercase());
            } else {
                norm.extend(c.to_lowercase());
            }
            piece_len += 1;
            last_was_digit = c.is_ascii_digit();
            i += len;
            end = i;
            continue;
        }
        if i + len >= limit {
            break;
        }
        let (next, _) = char_at(text, i + len);
        let joins = match c {
            '\'' | '’' | '\u{200c}' | '\u{200d}' => is_word_char(next),
            '.' => is_word_char(next) && piece_len <= 3,
            ',' => last_was_digit && next.is_ascii_digit(),
            _ => false,
        };
        if !joins || is_unspaced_script(next) {
            break;
        }
        piece_len = 0;
        i += len;
    }
    end
}

fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        return (b as char, 1);
    }
    match text.get(i..).and_then(|s| s.chars().next()) {
        Some(c) => (c, c.len_utf8()),
        None => (' ', 1),
    }
}

/// Letters, digits and combining marks belong to words.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() || is_combining_mark(c)
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED | 0x0900..=0x0903
        | 0x093A..=0x094F | 0x0E31..=0x0E3A | 0x0E47..=0x0E4E | 0x3099..=0x309A)
}

/// Scripts written without spaces between words.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF        // Thai, Lao
        | 0x1000..=0x109F      // Myanmar
        | 0x1780..=0x17FF      // Khmer
        | 0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x3134F) // CJK extensions B..G
}

/// Fold British spellings onto American ones (ASCII words of 4+ letters).
fn fold_spelling(w: &mut String) {
    if w.len() < 4 || !w.is_ascii() {
        return;
    }
    let mut bytes = std::mem::take(w).into_bytes();
    fold_spelling_bytes(&mut bytes);
    // Only ASCII bytes were written, so this is always valid UTF-8.
    *w = String::from_utf8(bytes).unwrap_or_default();
}

/// [`fold_spelling`] on the bytes of an ASCII word.
fn fold_spelling_bytes(w: &mut Vec<u8>) {
    if w.len() < 4 {
        return;
    }
    if w.len() <= 16 {
        let (folded, len) = fold_packed(pack(w), w.len());
        w.clear();
        w.extend_from_slice(&folded.to_le_bytes()[..len]);
        return;
    }
    // Longer than any whole word: the prefix rule, then the suffix rules
    // on the last sixteen bytes.
    if w.starts_with(b"sceptic") {
        w[1] = b'k';
    }
    let cut = w.len() - 16;
    let (folded, len) = fold_suffix(pack(&w[cut..]), 16);
    w.truncate(cut);
    w.extend_from_slice(&folded.to_le_bytes()[..len]);
}

/// Bit 5 of each of sixteen packed bytes.
const LOWERCASE_BIT: u128 = u128::from_le_bytes([0x20; 16]);

/// Up to sixteen bytes as one little-endian number (byte `i` of `s` in
/// bits `8i..8i+8`), zero above them.
const fn pack(s: &[u8]) -> u128 {
    let mut v = 0u128;
    let mut i = 0;
    while i < s.len() && i < 16 {
        v |= (s[i] as u128) << (8 * i);
        i += 1;
    }
    v
}

/// The low `n` bytes of a packed word set (all sixteen for `n >= 16`).
/// Looked up: shifting a 128-bit number by a variable amount took about
/// fourteen instructions per token (callgrind, Reuters).
#[inline]
fn low_bytes(n: usize) -> u128 {
    LOW_BYTES[n.min(16)]
}

/// [`low_bytes`] for every length.
static LOW_BYTES: [u128; 17] = {
    let mut t = [u128::MAX; 17];
    let mut n = 0;
    while n < 16 {
        t[n] = (1u128 << (8 * n)) - 1;
        n += 1;
    }
    t
};

/// [`fold_spelling_bytes`] on a packed lowercase word of `len <= 16`
/// bytes (zero above them), in registers: whole words, then the `sceptic`
/// prefix, then the suffix rules. Returns the folded word, packed, and its
/// length.
#[inline]
fn fold_packed(w: u128, len: usize) -> (u128, usize) {
    if len < 4 {
        return (w, len);
    }
    if !may_fold(w as u32, (w >> (8 * (len - 4))) as u32) {
        return (w, len);
    }
    fold_rules(w, len).unwrap_or((w, len))
}

/// Whether a lowercase word of at least four bytes, given its first and
/// last four (packed), might be folded: one test, nearly always false and
/// so well predicted, that rules out most words before any rule is looked
/// at.
#[inline]
fn may_fold(first4: u32, last4: u32) -> bool {
    ending_may_fold(last4) || first4 == const { pack(b"scep") as u32 }
}

/// [`fold_packed`] past its filter: the folded word and its length, or
/// `None` when no rule changes the word (most words past the filter).
#[inline(never)]
fn fold_rules(w: u128, len: usize) -> Option<(u128, usize)> {
    if let Some(to) = whole_word(w, len) {
        return Some(to);
    }
    let mut folded = w;
    if len >= 7 && w & low_bytes(7) == const { pack(b"sceptic") } {
        folded = (w & !(0xff << 8)) | ((b'k' as u128) << 8);
    }
    let (folded, n) = fold_suffix(folded, len);
    (folded != w || n != len).then_some((folded, n))
}

/// Where a word's last four bytes (packed) fall in [`ENDINGS`].
#[inline]
const fn ending_bit(last4: u32) -> usize {
    (last4.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// Whether a word ending in these four bytes might be folded: no false
/// negatives, about two percent false positives. Its last four bytes are
/// looked up for the rules of four or more letters, its last three for
/// those of three.
#[inline]
fn ending_may_fold(last4: u32) -> bool {
    let has = |bit: usize| ENDINGS[bit / 64] >> (bit % 64) & 1 == 1;
    has(ending_bit(last4)) | has(ending_bit(last4 >> 8))
}

/// A 4,096-bit filter of the last four bytes of every word a whole-word
/// or suffix rule of four or more letters could fold, and of the three
/// letters of the suffix rules of three (the four-byte keys end in a
/// letter, the three-byte ones in a zero byte: no key is both).
static ENDINGS: [u64; 64] = {
    const fn set(mut t: [u64; 64], last4: u32) -> [u64; 64] {
        let bit = ending_bit(last4);
        t[bit / 64] |= 1 << (bit % 64);
        t
    }
    let mut t = [0u64; 64];
    let groups: [&[Rule]; 6] = [&RULES_S, &RULES_N, &RULES_G, &RULES_D, &RULES_R, &RULES_E];
    let mut g = 0;
    while g < groups.len() {
        let mut r = 0;
        while r < groups[g].len() {
            let rule = &groups[g][r];
            if rule.from_len >= 4 {
                t = set(t, (rule.from >> (8 * (rule.from_len - 4))) as u32);
            } else {
                t = set(t, rule.from as u32);
            }
            r += 1;
        }
        g += 1;
    }
    let mut w = 0;
    while w < WHOLE_UK.len() {
        let word = WHOLE_UK[w];
        t = set(t, (pack(word) >> (8 * (word.len() - 4))) as u32);
        w += 1;
    }
    t
};

/// The British whole words [`whole_word`] folds (for [`ENDINGS`]).
const WHOLE_UK: [&[u8]; 12] = [
    b"defence",
    b"offence",
    b"licence",
    b"pretence",
    b"programme",
    b"programmes",
    b"judgement",
    b"ageing",
    b"aluminium",
    b"manoeuvre",
    b"kerb",
    b"tyres",
];

/// One suffix rule, packed: `from` (its last byte decides the group) is
/// replaced by `to`.
struct Rule {
    from: u64,
    from_len: usize,
    to: u64,
    to_len: usize,
}

const fn rule(from: &str, to: &str) -> Rule {
    Rule {
        from: pack(from.as_bytes()) as u64,
        from_len: from.len(),
        to: pack(to.as_bytes()) as u64,
        to_len: to.len(),
    }
}

/// The suffix rules grouped by their last letter; each group keeps the
/// order of `SUFFIXES` (a test checks the groups against it).
const RULES_S: [Rule; 5] = [
    rule("isations", "izations"),
    rule("ises", "izes"),
    rule("yses", "yzes"),
    rule("ours", "ors"),
    rule("tres", "ters"),
];
const RULES_N: [Rule; 1] = [rule("isation", "ization")];
const RULES_G: [Rule; 3] = [
    rule("ising", "izing"),
    rule("ouring", "oring"),
    rule("elling", "eling"),
];
const RULES_D: [Rule; 4] = [
    rule("ised", "ized"),
    rule("ysed", "yzed"),
    rule("oured", "ored"),
    rule("elled", "eled"),
];
const RULES_R: [Rule; 3] = [
    rule("iser", "izer"),
    rule("our", "or"),
    rule("eller", "eler"),
];
const RULES_E: [Rule; 5] = [
    rule("ise", "ize"),
    rule("yse", "yze"),
    rule("ourite", "orite"),
    rule("ourable", "orable"),
    rule("tre", "ter"),
];

/// The first suffix rule that applies to the packed word (`len <= 16`
/// bytes; at least two letters must stay before the suffix).
#[inline]
fn fold_suffix(w: u128, len: usize) -> (u128, usize) {
    let rules: &[Rule] = match (w >> (8 * (len - 1))) as u8 {
        b's' => &RULES_S,
        b'n' => &RULES_N,
        b'g' => &RULES_G,
        b'd' => &RULES_D,
        b'r' => &RULES_R,
        b'e' => &RULES_E,
        _ => return (w, len),
    };
    for r in rules {
        if len > r.from_len + 1 {
            let cut = len - r.from_len;
            let suffix = (w >> (8 * cut)) as u64;
            if suffix == r.from {
                let folded = (w & low_bytes(cut)) | ((r.to as u128) << (8 * cut));
                return (folded, cut + r.to_len);
            }
        }
    }
    (w, len)
}

/// Suffix rules, longest first within each family (grouped by last letter
/// in `fold_spelling_bytes`; a test checks the groups against this list).
#[cfg(test)]
const SUFFIXES: &[(&str, &str)] = &[
    ("isations", "izations"),
    ("isation", "ization"),
    ("ising", "izing"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("iser", "izer"),
    ("ise", "ize"),
    ("yses", "yzes"),
    ("ysed", "yzed"),
    ("yse", "yze"),
    ("ours", "ors"),
    ("oured", "ored"),
    ("ouring", "oring"),
    ("ourite", "orite"),
    ("ourable", "orable"),
    ("our", "or"),
    ("tres", "ters"),
    ("tre", "ter"),
    ("elled", "eled"),
    ("elling", "eling"),
    ("eller", "eler"),
];

/// The British whole words folded, packed, with their length and their
/// American form.
fn whole_word(w: u128, len: usize) -> Option<(u128, usize)> {
    // Dispatch on the first byte and the length, so that most words are
    // ruled out with one compare.
    let (from, to, to_len) = match (w as u8, len) {
        (b'd', 7) => (const { pack(b"defence") }, const { pack(b"defense") }, 7),
        (b'o', 7) => (const { pack(b"offence") }, const { pack(b"offense") }, 7),
        (b'l', 7) => (const { pack(b"licence") }, const { pack(b"license") }, 7),
        (b'p', 8) => (const { pack(b"pretence") }, const { pack(b"pretense") }, 8),
        (b'p', 9) => (const { pack(b"programme") }, const { pack(b"program") }, 7),
        (b'p', 10) => (
            const { pack(b"programmes") },
            const { pack(b"programs") },
            8,
        ),
        (b'j', 9) => (const { pack(b"judgement") }, const { pack(b"judgment") }, 8),
        (b'a', 6) => (const { pack(b"ageing") }, const { pack(b"aging") }, 5),
        (b'a', 9) => (const { pack(b"aluminium") }, const { pack(b"aluminum") }, 8),
        (b'm', 9) => (const { pack(b"manoeuvre") }, const { pack(b"maneuver") }, 8),
        (b'k', 4) => (const { pack(b"kerb") }, const { pack(b"curb") }, 4),
        (b't', 5) => (const { pack(b"tyres") }, const { pack(b"tires") }, 5),
        _ => return None,
    };
    (w == from).then_some((to, to_len))
}

/// The tokenizer without its ASCII fast path: the reference the fast path
/// is tested against.
#[cfg(test)]
fn tokenize_general(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let mut norm = String::new();
    let limit = text.len().min(u32::MAX as usize);
    let mut i = 0;
    while i < limit {
        let (c, len) = char_at(text, i);
        if !is_word_char(c) {
            i += len;
        } else if is_unspaced_script(c) {
            norm.clear();
            norm.extend(c.to_lowercase());
            push(out, i, i + len, &norm);
            i += len;
        } else {
            let end = scan_word(text, i, limit, &mut norm);
            fold_spelling(&mut norm);
            push(out, i, end, &norm);
            i = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole words folded, British then American.
    const WHOLE_WORDS: &[(&str, &str)] = &[
        ("defence", "defense"),
        ("offence", "offense"),
        ("licence", "license"),
        ("pretence", "pretense"),
        ("programme", "program"),
        ("programmes", "programs"),
        ("judgement", "judgment"),
        ("ageing", "aging"),
        ("manoeuvre", "maneuver"),
        ("aluminium", "aluminum"),
        ("kerb", "curb"),
        ("tyres", "tires"),
    ];

    /// The folding rules written plainly on strings: what the packed
    /// folding must agree with.
    fn fold_reference(w: &str) -> String {
        if let Some((_, us)) = WHOLE_WORDS.iter().find(|(uk, _)| *uk == w) {
            return us.to_string();
        }
        let mut w = w.to_string();
        if w.starts_with("sceptic") {
            w.replace_range(1..2, "k");
        }
        for (from, to) in SUFFIXES {
            if w.len() > from.len() + 1 && w.ends_with(from) {
                return format!("{}{to}", &w[..w.len() - from.len()]);
            }
        }
        w
    }

    #[test]
    fn every_rule_folds_like_the_reference() {
        let mut words: Vec<String> = WHOLE_WORDS.iter().map(|(uk, _)| uk.to_string()).collect();
        for (from, _) in SUFFIXES {
            for stem in ["", "x", "xx", "colour", "scepticalxxxxxxxxxx"] {
                words.push(format!("{stem}{from}"));
            }
        }
        words.extend(["sceptic", "sceptical", "scepticism", "scepticisms"].map(String::from));
        for w in &words {
            let mut folded = w.as_bytes().to_vec();
            fold_spelling_bytes(&mut folded);
            assert_eq!(String::from_utf8(folded).unwrap(), fold_reference(w), "{w}");
            assert_eq!(hashes(w), [xxh3_64(fold_reference(w).as_bytes())], "{w}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn packed_folding_matches_the_reference(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-z0-9]{1,5}").unwrap(),
                    proptest::sample::select(
                        SUFFIXES.iter().map(|r| r.0).chain(WHOLE_WORDS.iter().map(|r| r.0))
                            .chain(["sceptic", "k", "e", "s"]).collect::<Vec<_>>()
                    ).prop_map(str::to_string),
                ],
                1..6,
            ),
            upper in proptest::bool::ANY,
        ) {
            let word: String = parts.concat();
            let mut folded = word.as_bytes().to_vec();
            fold_spelling_bytes(&mut folded);
            let want = fold_reference(&word);
            proptest::prop_assert_eq!(String::from_utf8(folded).unwrap(), want.clone());
            let typed = if upper { word.to_uppercase() } else { word.clone() };
            // Alone, and followed by more text (the sixteen-byte load).
            proptest::prop_assert_eq!(hashes(&typed), vec![xxh3_64(want.as_bytes())]);
            let longer = format!("{typed} and then some more words");
            proptest::prop_assert_eq!(hashes(&longer)[0], xxh3_64(want.as_bytes()));
        }
    }

    use proptest::strategy::Strategy;

    fn norms(text: &str) -> Vec<String> {
        tokens(text)
            .iter()
            .map(|t| normalized(text, t.start as usize, t.end as usize))
            .collect()
    }

    fn hashes(text: &str) -> Vec<u64> {
        tokens(text).iter().map(|t| t.hash).collect()
    }

    #[test]
    fn offsets_point_at_original_words() {
        let text = "The U.S. Embassy’s “staff” — 2,700 people";
        let toks = tokens(text);
        let words: Vec<&str> = toks
            .iter()
            .map(|t| &text[t.start as usize..t.end as usize])
            .collect();
        assert_eq!(
            words,
            ["The", "U.S", "Embassy’s", "staff", "2,700", "people"]
        );
    }

    #[test]
    fn wire_copy_edits_normalize_alike() {
        assert_eq!(hashes("the U.S. has"), hashes("The US has"));
        assert_eq!(hashes("Pakistan’s"), hashes("Pakistan's"));
        assert_eq!(hashes("(the Americans)"), hashes("[the Americans]"));
        assert_eq!(hashes("stabilise"), hashes("stabilize"));
        assert_eq!(hashes("scepticism"), hashes("skepticism"));
        assert_eq!(hashes("colour favourite"), hashes("color favorite"));
        assert_eq!(hashes("organisation centre"), hashes("organization center"));
        assert_eq!(hashes("U.S.-led forces"), hashes("US-led forces"));
        assert_ne!(hashes("militants"), hashes("terrorists"));
    }

    #[test]
    fn unspaced_scripts_become_characters() {
        let n = norms("北京市 今日");
        assert_eq!(n, ["北", "京", "市", "今", "日"]);
        let n = norms("پاکستان کی حکومت");
        assert_eq!(n.len(), 3);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "",
            ".",
            "'",
            "a.",
            "a'",
            "1,",
            "é.",
            "\u{200c}",
            "a\u{200c}",
            "x.北",
        ] {
            let t = tokens(s);
            for tok in t {
                assert!(s.is_char_boundary(tok.start as usize));
                assert!(s.is_char_boundary(tok.end as usize));
            }
        }
    }

    #[test]
    fn sixteen_bytes_at_once_classify_like_the_table() {
        // Every byte value in every position, beside letters, digits and
        // the bytes around the ranges' ends.
        for b in 0..=255u8 {
            for k in 0..16 {
                for fill in [
                    b'a', b'Z', b'0', b' ', 0x80, 0xff, b'@', b'[', b'`', b'{', b'/', b':',
                ] {
                    let mut chunk = [fill; 16];
                    chunk[k] = b;
                    assert_eq!(
                        non_word_mask(&chunk),
                        non_word_mask_bytewise(&chunk),
                        "{chunk:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn capitals_and_other_bytes_are_found_sixteen_at_once_as_one_at_a_time() {
        // Every byte value at every position of texts of 0 to 40 bytes,
        // so that both the sixteen-byte chunks and the tail are covered.
        for len in 0..40 {
            for b in 0..=255u8 {
                for k in 0..len {
                    let mut text = vec![b'x'; len];
                    text[k] = b;
                    // A capital in the last place too (unless `b` is there).
                    if len > 3 && k != len - 1 {
                        text[len - 1] = b'Q';
                    }
                    for others in [&b""[..], b"d", b"\x80q\xff{"] {
                        let mut found = Vec::new();
                        for_each_capital_or(&text, others, |i| found.push(i));
                        let expected: Vec<usize> = (0..len)
                            .filter(|&i| text[i].is_ascii_uppercase() || others.contains(&text[i]))
                            .collect();
                        assert_eq!(found, expected, "{text:?} {others:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn short_words_hash_as_xxh3_reads_them() {
        let mut numbers = crate::quotes::tests::numbers(7);
        for len in 1..=16 {
            for _ in 0..2000 {
                let w: Vec<u8> = (0..len).map(|_| numbers(256) as u8).collect();
                let h = match len {
                    1..=3 => xxh3_1to3(w[0], w[len / 2], w[len - 1], len),
                    4..=8 => xxh3_4to8(read_u32(&w, 0), read_u32(&w, len - 4), len),
                    _ => xxh3_9to16(read_u64(&w, 0), read_u64(&w, len - 8), len),
                };
                assert_eq!(h, xxh3_64(&w), "{w:?}");
            }
        }
    }

    #[test]
    fn blocks_classify_like_the_table() {
        let mut numbers = crate::quotes::tests::numbers(11);
        let pool = *b"aZ09 '.,\x80\xff@[`{/:-\n";
        for _ in 0..20_000 {
            let block: [u8; BLOCK] = std::array::from_fn(|_| match numbers(3) {
                0 => numbers(256) as u8,
                _ => pool[numbers(pool.len() as u64) as usize],
            });
            assert_eq!(
                classify_block(&block),
                classify_block_bytewise(&block),
                "{block:?}"
            );
        }
    }

    #[test]
    fn fast_path_matches_general_path_on_the_seeds() {
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            tokenize(&text, &mut fast);
            tokenize_general(&text, &mut slow);
            assert_eq!(fast, slow);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn fast_path_matches_general_path(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-zA-Z0-9]{1,9}").unwrap(),
                    // Past the sixteen bytes the fast path classifies at once.
                    proptest::string::string_regex("[a-zA-Z0-9]{10,40}").unwrap(),
                    proptest::sample::select(vec![
                        " ", ".", ",", "'", "’", "\u{200c}", "\u{200d}", "é", "É", "ß",
                        "北", "ก", "”", "—", "-", "\n", "U.S.", "2,700", "colour",
                        "organisation", "sceptical", "defence", "\u{301}", "ﬁ", "İ",
                    ]).prop_map(str::to_string),
                ],
                // Up to a few hundred bytes: several 64-byte blocks, with
                // words, joiners and non-ASCII characters across their
                // edges.
                0..80,
            )
        ) {
            let text: String = parts.concat();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            tokenize(&text, &mut fast);
            tokenize_general(&text, &mut slow);
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn suffix_groups_cover_every_rule_in_order() {
        let mut grouped = Vec::new();
        for last in [b's', b'n', b'g', b'd', b'r', b'e'] {
            for (from, to) in SUFFIXES
                .iter()
                .filter(|(f, _)| f.as_bytes().last() == Some(&last))
            {
                let mut word = b"abcdef".to_vec();
                word.extend_from_slice(from.as_bytes());
                fold_spelling_bytes(&mut word);
                let mut want = b"abcdef".to_vec();
                want.extend_from_slice(to.as_bytes());
                assert_eq!(word, want, "{from}");
                grouped.push(*from);
            }
        }
        assert_eq!(grouped.len(), SUFFIXES.len());
    }

    #[test]
    fn whole_word_spellings_fold() {
        for (uk, us) in WHOLE_WORDS {
            assert_eq!(hashes(uk), hashes(us), "{uk}");
        }
    }
}
