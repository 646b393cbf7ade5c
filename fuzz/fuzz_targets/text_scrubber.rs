//! See `dlt_fuzz::text_scrubber`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_fuzz::text_scrubber::check(data));
