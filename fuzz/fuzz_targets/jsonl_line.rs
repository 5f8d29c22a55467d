//! `parse_jsonl_line` on arbitrary strings: never panics; accepted records
//! have a non-empty id and non-blank text; rejections carry a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match wiretrace::parse_jsonl_line(line) {
        Ok((doc, _warnings)) => {
            assert!(!doc.id.is_empty());
            assert!(!doc.text.trim().is_empty());
            assert_eq!(doc.bytes, doc.text.len());
        }
        Err(reason) => assert!(!reason.is_empty()),
    }
});
