//! See `dlt_properties::outbox_reader`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_properties::fuzz(&dlt_properties::OUTBOX_READER, data));
