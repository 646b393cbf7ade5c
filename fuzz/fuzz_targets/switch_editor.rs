//! See `dlt_fuzz::switch_editor`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_fuzz::switch_editor::check(data));
