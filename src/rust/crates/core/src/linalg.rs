//! Matrix products on the `gemm` crate (runtime-dispatched SIMD kernels: AVX2/FMA,
//! AVX-512 where present; a capped instruction set goes through `gemm_path`) with
//! rayon parallelism inside large products. Strided views
//! are passed as-is, so transposes cost nothing.

use crate::scalar::Scalar;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// Products smaller than this many multiply-adds run on one thread.
const PARALLEL_THRESHOLD: usize = 1 << 18;
/// Fewest rows (columns) per thread for splitting a product by rows (columns); below
/// both, the `gemm` crate's own split is used.
const ROW_BLOCK_MIN: usize = 64;
const COL_BLOCK_MIN: usize = 256;

/// How a product may use threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Par {
    /// On the calling thread: for products that are themselves one task of a parallel
    /// loop (parallelism at one level only).
    Seq,
    /// Split across the rayon pool when the product is large enough.
    Auto,
}

/// `c = (accumulate ? c : 0) + a · b` for 2-D views of any strides.
///
/// # Panics
/// If the shapes do not conform (a programming error, checked by callers).
pub fn gemm_into<T: Scalar>(c: &mut ArrayViewMut2<T>, a: &ArrayView2<T>, b: &ArrayView2<T>, accumulate: bool) {
    gemm_into_with(c, a, b, accumulate, Par::Auto)
}

/// [`gemm_into`] with an explicit threading choice. Under [`Par::Auto`], large products
/// are split into one column (or row) block per thread, each a single-threaded
/// product: on the 2-core dev machine that kept ~60 GFLOP per CPU-second where the
/// `gemm` crate's own rayon split of a 64 × 576 × 4096 product fell to ~35 (its threads
/// synchronise inside every block of the product).
pub fn gemm_into_with<T: Scalar>(
    c: &mut ArrayViewMut2<T>,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    accumulate: bool,
    par: Par,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(k == k2 && c.dim() == (m, n), "gemm_into: shape mismatch {:?} x {:?} -> {:?}", a.dim(), b.dim(), c.dim());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::zero());
        }
        return;
    }
    let threads = rayon::current_num_threads();
    let big = m * n * k >= PARALLEL_THRESHOLD && threads > 1 && par == Par::Auto;
    if big && (n >= COL_BLOCK_MIN * threads || m >= ROW_BLOCK_MIN * threads) {
        // Wide products split by columns (each thread reads all of `a`), tall ones by
        // rows (each thread reads all of `b`); the blocks are independent products.
        let by_cols = n >= COL_BLOCK_MIN * threads;
        let len = if by_cols { n } else { m };
        // round to the microkernel's tile (16 rows x 6 columns for f32 AVX2)
        let block = len.div_ceil(threads).next_multiple_of(if by_cols { 6 } else { 16 }).min(len);
        let ax = if by_cols { Axis(1) } else { Axis(0) };
        let mut tasks: Vec<(ArrayViewMut2<T>, ArrayView2<T>)> = Vec::new();
        let (mut rest_c, mut rest_x) = (c.view_mut(), if by_cols { b.view() } else { a.view() });
        while rest_x.len_of(ax) > 0 {
            let h = block.min(rest_x.len_of(ax));
            let (c0, c1) = rest_c.split_at(ax, h);
            let (x0, x1) = rest_x.split_at(ax, h);
            tasks.push((c0, x0));
            (rest_c, rest_x) = (c1, x1);
        }
        tasks.into_par_iter().for_each(|(mut cb, xb)| {
            if by_cols {
                raw_gemm(&mut cb, a, &xb, accumulate, gemm::Parallelism::None)
            } else {
                raw_gemm(&mut cb, &xb, b, accumulate, gemm::Parallelism::None)
            }
        });
        return;
    }
    let p = if big { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    raw_gemm(c, a, b, accumulate, p);
}

/// The `gemm` crate call itself, on the active instruction set.
fn raw_gemm<T: Scalar>(
    c: &mut ArrayViewMut2<T>,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    crate::gemm_path::gemm(crate::isa::active(), c, a, b, accumulate, par)
}

/// `a · b` as a new matrix.
pub fn matmul<T: Scalar>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> Array2<T> {
    let mut c = Array2::<T>::zeros((a.nrows(), b.ncols()));
    gemm_into(&mut c.view_mut(), a, b, false);
    c
}

// ---- Elementwise loops ------------------------------------------------------------
//
// Activation VJPs, rule arithmetic and the like are memory-bound passes over tensors
// of up to tens of millions of elements. They run here on contiguous slices, split
// into cache-sized pieces across the rayon pool (parallelism at one level: these are
// never called from inside another parallel loop), with plain loops over slices
// inside each piece so that the compiler vectorises them.

/// Elements per task of an elementwise loop.
const EW_CHUNK: usize = 1 << 14;
/// Below this many elements an elementwise loop stays on the calling thread.
const EW_PARALLEL_MIN: usize = 1 << 16;

/// Run `f(piece, at, offset)` over consecutive pieces of `out`, where `at` is the
/// position of the piece's first element in `out` and `offset` its position within
/// its slab of `slab` elements (a piece never crosses a slab boundary). Slabs are the leading-axis slices of a backward
/// signal `[S, B, ...]` against which a `[B, ...]` factor broadcasts: the factor's
/// matching elements are `factor[offset..offset + piece.len()]`.
pub fn for_slab_pieces<T: Send, F>(out: &mut [T], slab: usize, f: F)
where
    F: Fn(&mut [T], usize, usize) + Sync + Send,
{
    let slab = slab.max(1);
    debug_assert_eq!(out.len() % slab, 0);
    if out.len() >= EW_PARALLEL_MIN && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(slab).enumerate().for_each(|(k, s)| {
            s.par_chunks_mut(EW_CHUNK)
                .enumerate()
                .for_each(|(i, piece)| crate::isa::dispatch(|| f(piece, k * slab + i * EW_CHUNK, i * EW_CHUNK)));
        });
    } else {
        for (k, s) in out.chunks_mut(slab).enumerate() {
            for (i, piece) in s.chunks_mut(EW_CHUNK).enumerate() {
                crate::isa::dispatch(|| f(piece, k * slab + i * EW_CHUNK, i * EW_CHUNK));
            }
        }
    }
}

/// `out[s, i] = f(a[s, i], b[i])` for `a` `[S, m]` and `b` `[m]` (flat, standard
/// layout), as a new vector.
pub fn map_slabs<T: Scalar, F>(a: &[T], b: &[T], f: F) -> Vec<T>
where
    F: Fn(T, T) -> T + Sync + Send,
{
    let m = b.len();
    let mut out = vec![T::zero(); a.len()];
    for_slab_pieces(&mut out, m, |piece, at, off| {
        let (src, fac) = (&a[at..at + piece.len()], &b[off..off + piece.len()]);
        for ((o, &x), &y) in piece.iter_mut().zip(src).zip(fac) {
            *o = f(x, y);
        }
    });
    out
}

/// `a[s, i] = f(a[s, i], b[i])` in place for `a` `[S, m]` and `b` `[m]` (flat).
pub fn update_slabs<T: Scalar, F>(a: &mut [T], b: &[T], f: F)
where
    F: Fn(T, T) -> T + Sync + Send,
{
    let m = b.len();
    for_slab_pieces(a, m, |piece, _, off| {
        let fac = &b[off..off + piece.len()];
        for (o, &y) in piece.iter_mut().zip(fac) {
            *o = f(*o, y);
        }
    });
}

/// `f(x)` of every element, as a new vector.
pub fn map_flat<T: Scalar, F>(a: &[T], f: F) -> Vec<T>
where
    F: Fn(T) -> T + Sync + Send,
{
    let mut out = vec![T::zero(); a.len()];
    let n = a.len();
    for_slab_pieces(&mut out, n, |piece, at, _| {
        let src = &a[at..at + piece.len()];
        for (o, &x) in piece.iter_mut().zip(src) {
            *o = f(x);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn matches_naive_product_with_transposes() {
        let a = Array2::from_shape_fn((37, 53), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let b = Array2::from_shape_fn((29, 53), |(i, j)| ((i * 5 + j) % 13) as f64 / 3.0);
        let bt = b.t();
        let c = matmul(&a.view(), &bt);
        let naive = a.dot(&bt);
        assert!((&c - &naive).iter().all(|d| d.abs() < 1e-10));
        let mut acc = naive.clone();
        gemm_into(&mut acc.view_mut(), &a.view(), &bt, true);
        assert!((&acc - &(&naive * 2.0)).iter().all(|d| d.abs() < 1e-9));
    }

    #[test]
    fn large_parallel_product_f32() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let a = Array2::from_shape_fn((130, 300), |(i, j)| ((i + 2 * j) % 7) as f32 - 3.0);
        let b = Array2::from_shape_fn((300, 90), |(i, j)| ((3 * i + j) % 5) as f32 - 2.0);
        let c = pool.install(|| matmul(&a.view(), &b.view()));
        assert_eq!(c, a.dot(&b));
    }

    /// Each instruction set this CPU has (gemm's own dispatch and the capped paths
    /// of `gemm_path`) gives the product within float rounding, f32 and f64, for
    /// plain, transposed and accumulating calls, on one thread and split.
    #[test]
    fn every_instruction_set_gives_the_same_product() {
        fn check<T: Scalar>(tol: f64) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            for &(m, k, n) in &[(1, 7, 3), (17, 33, 9), (130, 300, 90), (64, 576, 700)] {
                let a = Array2::from_shape_fn((m, k), |(i, j)| T::of((((i * 7 + j * 3) % 11) as f64 - 5.0) / 4.0));
                let bt = Array2::from_shape_fn((n, k), |(i, j)| T::of((((i * 5 + j) % 13) as f64 - 6.0) / 8.0));
                let b = bt.t();
                let c0 = Array2::from_shape_fn((m, n), |(i, j)| T::of((i + j) as f64 / 10.0));
                let exact = a.mapv(|v| v.as_f64()).dot(&b.mapv(|v| v.as_f64())) + c0.mapv(|v| v.as_f64());
                for isa in crate::isa::available() {
                    for par in [Par::Seq, Par::Auto] {
                        let mut c = c0.clone();
                        crate::isa::with_cap(isa, || {
                            pool.install(|| gemm_into_with(&mut c.view_mut(), &a.view(), &b, true, par))
                        });
                        let err = (&c.mapv(|v| v.as_f64()) - &exact).mapv(f64::abs).fold(0.0f64, |x, &y| x.max(y));
                        let scale = exact.mapv(f64::abs).fold(1.0f64, |x, &y| x.max(y));
                        assert!(err <= tol * scale * k as f64, "{} {isa:?} {par:?} {m}x{k}x{n}: error {err}", T::NAME);
                    }
                }
            }
        }
        check::<f32>(1e-6);
        check::<f64>(1e-14);
    }
}
