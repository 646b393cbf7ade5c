//! See `dlt_fuzz::message_parsing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_fuzz::message_parsing::check(data));
