//! Fuzz target `safetensors`: see `innsight_fuzz::safetensors`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| innsight_fuzz::safetensors(data));
