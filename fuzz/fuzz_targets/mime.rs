//! MIME to properties: `okapi::delivery::mime::parse_message` on arbitrary bytes.
//!
//! Whatever the input, parsing must not panic (a panic would take okapi-server's delivery down
//! with it) and the raw bytes must be kept byte-exact: they are what getMessageSource returns and
//! the truth every property is derived from.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = okapi::delivery::mime::parse_message(data, 0);
    assert_eq!(
        parsed.raw.as_deref(),
        Some(data),
        "the raw message must be kept byte-exact"
    );
});
