//! See `dlt_properties::config_loader`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_properties::fuzz(&dlt_properties::CONFIG_LOADER, data));
