//! Arbitrary bytes -> lossy UTF-8 -> tokens; every span must be a valid,
//! non-empty slice on char boundaries, and `normalized` must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let toks = wiretrace::tokens(&text);
    let mut last_end = 0usize;
    for t in &toks {
        let (s, e) = (t.start as usize, t.end as usize);
        assert!(s < e, "empty token {s}..{e}");
        assert!(e <= text.len(), "token {s}..{e} past end {}", text.len());
        assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        assert!(s >= last_end, "tokens overlap or go backwards");
        last_end = e;
        let _ = wiretrace::normalized(&text, s, e);
    }
    // Out-of-range and mid-char requests must not panic either.
    let n = text.len();
    let _ = wiretrace::normalized(&text, 0, n + 1);
    let _ = wiretrace::normalized(&text, n / 2, n);
    let _ = wiretrace::normalized(&text, n, 0);
});
