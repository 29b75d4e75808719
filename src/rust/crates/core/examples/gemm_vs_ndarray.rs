//! Compare the `gemm` crate (used by the core) with ndarray's own `dot`
//! (matrixmultiply) on shapes typical of dense and im2col convolution layers.
//! Run: `cargo run --release --example gemm_vs_ndarray` (in crates/core).

use innsight_core::linalg::matmul;
use ndarray::Array2;
use std::time::Instant;

fn time<F: FnMut()>(mut f: F, reps: usize) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn main() {
    let threads = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    // (m, k, n): VGG fc1 at batch 1 and 4, conv3_1 as im2col GEMM, a square product
    let shapes = [(1usize, 25088usize, 4096usize), (4, 25088, 4096), (256, 1152, 3136), (64, 576, 50176), (2048, 2048, 2048)];
    println!("| m x k x n | gemm crate (ms) | GFLOP/s | ndarray dot (ms) | GFLOP/s |");
    println!("|---|---|---|---|---|");
    for (m, k, n) in shapes {
        let a = Array2::<f32>::from_shape_fn((m, k), |(i, j)| ((i * 31 + j * 7) % 13) as f32 * 0.01);
        let b = Array2::<f32>::from_shape_fn((k, n), |(i, j)| ((i * 17 + j * 3) % 11) as f32 * 0.01);
        let reps = if m * n * k > 1 << 31 { 3 } else { 10 };
        let t_gemm = pool.install(|| time(|| drop(matmul(&a.view(), &b.view())), reps));
        let t_nd = pool.install(|| time(|| drop(a.dot(&b)), reps));
        let gf = |t: f64| 2.0 * (m * n * k) as f64 / t / 1e9;
        println!("| {m} x {k} x {n} | {:.2} | {:.1} | {:.2} | {:.1} |", t_gemm * 1e3, gf(t_gemm), t_nd * 1e3, gf(t_nd));
    }
}
