//! Fuzz target `onnx`: see `innsight_fuzz::onnx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| innsight_fuzz::onnx(data));
