//! Time the phases of reading an ONNX file: `cargo run --release --example onnx_load -- model.onnx`.
use innsight_core::io::onnx::read_onnx;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: onnx_load <model.onnx>");
    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("readable file");
    eprintln!("read file      {:>8.3} s ({} MB)", t.elapsed().as_secs_f64(), bytes.len() >> 20);
    let t = Instant::now();
    let no_external = |loc: &str| -> innsight_core::Result<prost::bytes::Bytes> {
        Err(innsight_core::Error::Io(format!("no external data ({loc})")))
    };
    let m = read_onnx(bytes, &no_external).expect("readable model");
    eprintln!("read_onnx      {:>8.3} s ({} tensors)", t.elapsed().as_secs_f64(), m.weights.len());
}
