//! Fuzz target `model_file`: see `innsight_fuzz::model_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| innsight_fuzz::model_file(data));
