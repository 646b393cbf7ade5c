//! See `dlt_properties::switch_editor`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_properties::fuzz(&dlt_properties::SWITCH_EDITOR, data));
