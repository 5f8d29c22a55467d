//! The usual JSON Lines record read in one pass, without a parser's
//! general machinery.
//!
//! Nearly every record of a news archive is one flat object whose fields
//! are strings (`"id"`, `"text"`, a title, a date) with perhaps a number or
//! a boolean among the fields nobody reads. [`record_fields`] reads such a
//! line straight into the six fields [`super::parse_jsonl_line`] uses:
//! each string's closing quote found by a 16-byte scan that notes its
//! escapes on the way, then the string copied once (decoded from the noted
//! escapes when it has any). It
//! gives up, returning `None`, on anything else (a known field that is not
//! a string or null, a known field given twice, a nested value, an escaped
//! key, JSON that is not valid): the caller then parses the line in
//! full, which gives the same answer on what this reads and the precise
//! message on what it does not.

/// The fields read, in [`NAMES`] order.
pub(super) type Fields = [Option<String>; 6];

/// The fields [`record_fields`] reads: `id`, `text`, `outlet`,
/// `published`, `url`, `title`.
pub(super) const NAMES: [&[u8]; 6] = [b"id", b"text", b"outlet", b"published", b"url", b"title"];

/// The known fields of `line` when it is one JSON object whose known fields
/// are strings or null, each at most once, and whose other fields are
/// strings, numbers, booleans or null (`None` for a known field that is
/// absent or null); `None` when the line is anything else.
pub(super) fn record_fields(line: &str) -> Option<Fields> {
    thread_local! {
        /// The escapes' positions, kept from line to line (a fresh vector
        /// per line grew by doubling on every text with newlines).
        static ESCAPES: std::cell::Cell<Vec<usize>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut r = Reader {
        line,
        b: line.as_bytes(),
        at: 0,
        escapes: ESCAPES.take(),
    };
    let fields = read_record(&mut r);
    // One that grew for a line of escapes is let go.
    if r.escapes.capacity() <= KEPT_ESCAPES {
        ESCAPES.set(r.escapes);
    }
    fields
}

/// The record's known fields, read from the start of the line (see
/// [`record_fields`]).
fn read_record(r: &mut Reader) -> Option<Fields> {
    let mut fields: Fields = Default::default();
    let mut seen = [false; 6];
    r.space();
    r.expect(b'{')?;
    r.space();
    if r.peek() == Some(b'}') {
        r.at += 1;
    } else {
        loop {
            r.expect(b'"')?;
            let key = r.plain_key()?;
            r.space();
            r.expect(b':')?;
            r.space();
            let known = NAMES.iter().position(|&n| n == key);
            if let Some(k) = known {
                if seen[k] {
                    return None;
                }
                seen[k] = true;
            }
            match (r.peek()?, known) {
                (b'"', Some(k)) => {
                    r.at += 1;
                    fields[k] = Some(r.string()?);
                }
                (b'"', None) => {
                    r.at += 1;
                    r.skip_string()?;
                }
                (b'n', _) => r.literal(b"null")?,
                (b't', None) => r.literal(b"true")?,
                (b'f', None) => r.literal(b"false")?,
                (b'-' | b'0'..=b'9', None) => r.number()?,
                _ => return None,
            }
            r.space();
            match r.peek()? {
                b',' => {
                    r.at += 1;
                    r.space();
                }
                b'}' => {
                    r.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    r.space();
    (r.at == r.b.len()).then_some(fields)
}

/// The most escape positions a thread keeps room for between lines.
const KEPT_ESCAPES: usize = 1 << 13;

/// A position in the line.
struct Reader<'a> {
    line: &'a str,
    /// The line's bytes.
    b: &'a [u8],
    at: usize,
    /// Where the escapes of the string being read start, from its start.
    escapes: Vec<usize>,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Step over JSON whitespace (space, tab, line feed, carriage return).
    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A key's bytes, after its opening quote, up to its closing quote
    /// (stepped over); `None` for a key with an escape or a control
    /// character (an escaped key may spell a known name).
    fn plain_key(&mut self) -> Option<&'a [u8]> {
        let (b, start) = (self.b, self.at);
        let end = start + special(&b[start..])?;
        (b[end] == b'"').then(|| {
            self.at = end + 1;
            &b[start..end]
        })
    }

    /// A number, as JSON writes them: `-? (0 | [1-9][0-9]*) (. [0-9]+)?
    /// ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One digit or more.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// A string as written, after its opening quote, up to its closing
    /// quote (stepped over), its escapes noted in `escapes`. `None` for a
    /// control character or no closing quote.
    fn raw_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        // First the closing quote, noting the escapes on the way; most
        // strings have none and are copied as they are.
        self.escapes.clear();
        let mut at = start;
        let end = loop {
            at += special(&self.b[at..])?;
            match self.b[at] {
                b'"' => break at,
                b'\\' => {
                    self.escapes.push(at - start);
                    at += 2;
                    if at > self.b.len() {
                        return None;
                    }
                }
                _ => return None,
            }
        };
        self.at = end + 1;
        // Cut at ASCII bytes (the quotes), so at character boundaries.
        self.line.get(start..end)
    }

    /// The string whose opening quote was just read, decoded. `None` as
    /// for [`Reader::raw_string`], and for an unknown escape, a `\u`
    /// escape that is not four hex digits or a lone surrogate.
    fn string(&mut self) -> Option<String> {
        let raw = self.raw_string()?;
        if self.escapes.is_empty() {
            Some(raw.to_string())
        } else {
            unescape(raw, &self.escapes)
        }
    }

    /// Read past the string whose opening quote was just read, checking
    /// its escapes as [`Reader::string`] does, without keeping it.
    fn skip_string(&mut self) -> Option<()> {
        let raw = self.raw_string()?;
        if !self.escapes.is_empty() {
            unescape(raw, &self.escapes)?;
        }
        Some(())
    }
}

/// `raw` (a string between its quotes) decoded, its escapes starting at
/// `escapes` (the backslashes, in order).
fn unescape(raw: &str, escapes: &[usize]) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let b = raw.as_bytes();
    // The end of the escape last decoded.
    let mut last = 0;
    for &p in escapes {
        if p < last {
            // The trailing half of a surrogate pair, decoded with the
            // leading half.
            continue;
        }
        // Backslashes are ASCII: the cuts are at character boundaries.
        out.push_str(raw.get(last..p)?);
        let (c, len) = match *b.get(p + 1)? {
            kind @ (b'"' | b'\\' | b'/') => (kind as char, 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let unit = hex4(b.get(p + 2..)?)?;
                let (code, len) = match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by an
                        // escaped trailing one.
                        let low = hex4(b.get(p + 6..)?.strip_prefix(b"\\u")?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => (unit, 6),
                };
                (char::from_u32(code)?, len)
            }
            _ => return None,
        };
        out.push(c);
        last = p + len;
    }
    out.push_str(raw.get(last..)?);
    Some(out)
}

/// The four hex digits at the start of `s`, as a number.
fn hex4(s: &[u8]) -> Option<u32> {
    s.get(..4)?.iter().try_fold(0u32, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some(n << 4 | v)
    })
}

/// The offset of the first byte of `s` that a string cannot simply copy: a
/// quote, a backslash or a control character (below 0x20, which JSON
/// forbids inside strings).
pub(crate) fn special(s: &[u8]) -> Option<usize> {
    let mut chunks = s.chunks_exact(16);
    let mut base = 0;
    for chunk in &mut chunks {
        let mask = special_mask(chunk.try_into().ok()?);
        if mask != 0 {
            return Some(base + mask.trailing_zeros() as usize);
        }
        base += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is_special(b))
        .map(|p| base + p)
}

/// Whether a string stops at `b` ([`special`]).
fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Bit `k` set when byte `k` of `chunk` is special ([`special`]): three
/// SSE2 compares (part of every x86-64 processor).
#[cfg(target_arch = "x86_64")]
#[inline]
fn special_mask(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the sixteen bytes `chunk` points at (unaligned
    // loads are allowed); the other intrinsics are SSE2, always present on
    // x86-64.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Below 0x20 exactly when the unsigned minimum with 0x1F is itself.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control)) as u32
    }
}

/// [`special_mask`] a byte at a time, on other processors.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn special_mask(chunk: &[u8; 16]) -> u32 {
    special_mask_bytewise(chunk)
}

/// [`special_mask`] by [`is_special`] (the reference the tests hold the
/// SSE2 version to).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn special_mask_bytewise(chunk: &[u8; 16]) -> u32 {
    crate::text::mask_where(chunk, is_special)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sse2_mask_agrees_with_the_bytes() {
        for first in 0..=255u8 {
            let mut chunk = [b'a'; 16];
            for (k, c) in chunk.iter_mut().enumerate() {
                *c = first.wrapping_add(k as u8 * 17);
            }
            assert_eq!(special_mask(&chunk), special_mask_bytewise(&chunk));
        }
    }

    #[test]
    fn a_usual_record_is_read() {
        let line = r#" {"id": "a1", "text": "Line one.\nHe said \"no\" \u00e9 \ud83d\ude00 caf\u00E9", "n": -1.5e3, "ok": true, "x": null, "outlet": null, "title":"T"} "#;
        let f = record_fields(line).unwrap();
        assert_eq!(f[0].as_deref(), Some("a1"));
        assert_eq!(f[1].as_deref(), Some("Line one.\nHe said \"no\" é 😀 café"));
        assert_eq!(f[2], None);
        assert_eq!(f[5].as_deref(), Some("T"));
        assert_eq!(record_fields("{}"), Some(Default::default()));
    }

    #[test]
    fn anything_else_is_left_to_the_full_parser() {
        for line in [
            r#"{"id": 7, "text": "x"}"#,
            r#"{"id": "a", "id": "b", "text": "x"}"#,
            r#"{"te\u0078t": "x"}"#,
            r#"{"id": "a", "meta": {"k": 1}}"#,
            r#"{"id": "a", "tags": ["k"]}"#,
            r#"{"id": "a", "n": 01}"#,
            r#"{"id": "a", "n": 1.}"#,
            r#"{"id": "a",}"#,
            r#"{"id": "a"} x"#,
            r#"{"id": "a" "text": "b"}"#,
            r#"{"id": "a\qb"}"#,
            r#"{"id": "\ud800"}"#,
            r#"{"id": "\udc00\ud800"}"#,
            r#"{"id": "\u12G4"}"#,
            "{\"id\": \"a\tb\"}",
            r#"{"id": "a"#,
            r#"{"id": "a\"#,
            r#"["id"]"#,
            "",
        ] {
            assert_eq!(record_fields(line), None, "{line}");
        }
    }
}
