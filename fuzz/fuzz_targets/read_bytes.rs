//! `read_bytes_as_text` on arbitrary bytes: never panics; decoded text is
//! never empty after trimming; plain UTF-8 without BOM/NUL is kept exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match wiretrace::read_bytes_as_text(data) {
        Ok((text, encoding)) => {
            assert!(!text.trim().is_empty(), "accepted text is blank");
            if encoding.is_none() {
                assert_eq!(text.as_bytes(), data, "no encoding note but text differs");
            }
            let _ = wiretrace::tokens(&text);
        }
        Err(reason) => assert!(!reason.is_empty(), "empty reason"),
    }
});
