//! See `dlt_fuzz::outbox_reader`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dlt_fuzz::outbox_reader::check(data));
