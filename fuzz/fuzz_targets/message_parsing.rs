//! See `dlt_properties::message_parsing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_properties::fuzz(&dlt_properties::MESSAGE_PARSING, data));
