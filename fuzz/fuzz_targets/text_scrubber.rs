//! See `dlt_properties::text_scrubber`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_properties::fuzz(&dlt_properties::TEXT_SCRUBBER, data));
