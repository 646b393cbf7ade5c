//! See `dlt_fuzz::config_loader`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_fuzz::config_loader::check(data));
