//! Matrix products on the `gemm` crate (runtime-dispatched SIMD kernels: AVX2/FMA,
//! AVX-512 where present) with rayon parallelism inside large products. Strided views
//! are passed as-is, so transposes cost nothing.

use crate::scalar::Scalar;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Products smaller than this many multiply-adds run on one thread.
const PARALLEL_THRESHOLD: usize = 1 << 18;

/// `c = (accumulate ? c : 0) + a · b` for 2-D views of any strides.
///
/// # Panics
/// If the shapes do not conform (a programming error, checked by callers).
pub fn gemm_into<T: Scalar>(c: &mut ArrayViewMut2<T>, a: &ArrayView2<T>, b: &ArrayView2<T>, accumulate: bool) {
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
    let par = if m * n * k >= PARALLEL_THRESHOLD && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    let (cs, as_, bs) = (c.strides().to_vec(), a.strides().to_vec(), b.strides().to_vec());
    // SAFETY: the three views are valid for the given shapes and strides, `c` is a
    // unique mutable borrow, and T is f32 or f64 (the sealed Scalar trait), which
    // `gemm` supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            cs[1],
            cs[0],
            accumulate,
            a.as_ptr(),
            as_[1],
            as_[0],
            b.as_ptr(),
            bs[1],
            bs[0],
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// `a · b` as a new matrix.
pub fn matmul<T: Scalar>(a: &ArrayView2<T>, b: &ArrayView2<T>) -> Array2<T> {
    let mut c = Array2::<T>::zeros((a.nrows(), b.ncols()));
    gemm_into(&mut c.view_mut(), a, b, false);
    c
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
}
