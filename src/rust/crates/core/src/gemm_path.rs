//! The `gemm` crate's kernels for a capped instruction set.
//!
//! `gemm::gemm` picks its micro-kernels once per process from what the CPU reports
//! (AVX-512 where present, with the `x86-v4` feature) and cannot be told otherwise.
//! When [`crate::isa`] is capped below the detected level (`INNSIGHT_ISA=avx2` on an
//! AVX-512 machine, or `isa::set_cap`), the product runs here instead: the same
//! generic driver of `gemm-common`, given the narrower micro-kernels that the
//! `gemm-f32`/`gemm-f64` crates export. So one machine can run, and tests can compare,
//! the code paths that AVX2-only and baseline machines take.

use crate::isa::Isa;
use crate::scalar::Scalar;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::any::TypeId;

/// A product's operands as raw parts, in the `gemm` crates' convention (column
/// stride first): `dst (m x n) = lhs (m x k) · rhs (k x n)`.
#[derive(Clone, Copy)]
struct Operands<T> {
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
}

impl<T> Operands<T> {
    fn of(c: &mut ArrayViewMut2<T>, a: &ArrayView2<T>, b: &ArrayView2<T>) -> Operands<T> {
        let (cs, as_, bs) = (c.strides().to_vec(), a.strides(), b.strides());
        Operands {
            m: a.nrows(),
            n: b.ncols(),
            k: a.ncols(),
            dst: c.as_mut_ptr(),
            dst_cs: cs[1],
            dst_rs: cs[0],
            lhs: a.as_ptr(),
            lhs_cs: as_[1],
            lhs_rs: as_[0],
            rhs: b.as_ptr(),
            rhs_cs: bs[1],
            rhs_rs: bs[0],
        }
    }

    /// The same product as the generic driver wants it, a column-oriented
    /// destination and non-negative destination and inner strides (what
    /// `gemm::gemm` arranges before it dispatches): a row-oriented product is
    /// computed as its transpose, `dstᵀ = rhsᵀ·lhsᵀ`, and negative strides are
    /// walked from the other end.
    fn normalised(self) -> Operands<T> {
        let mut o = if self.dst_cs.abs() < self.dst_rs.abs() {
            Operands {
                m: self.n,
                n: self.m,
                dst_cs: self.dst_rs,
                dst_rs: self.dst_cs,
                lhs: self.rhs,
                lhs_cs: self.rhs_rs,
                lhs_rs: self.rhs_cs,
                rhs: self.lhs,
                rhs_cs: self.lhs_rs,
                rhs_rs: self.lhs_cs,
                ..self
            }
        } else {
            self
        };
        if o.dst_rs < 0 && o.m > 0 {
            o.dst = o.dst.wrapping_offset((o.m - 1) as isize * o.dst_rs);
            o.lhs = o.lhs.wrapping_offset((o.m - 1) as isize * o.lhs_rs);
            (o.dst_rs, o.lhs_rs) = (-o.dst_rs, -o.lhs_rs);
        }
        if o.dst_cs < 0 && o.n > 0 {
            o.dst = o.dst.wrapping_offset((o.n - 1) as isize * o.dst_cs);
            o.rhs = o.rhs.wrapping_offset((o.n - 1) as isize * o.rhs_cs);
            (o.dst_cs, o.rhs_cs) = (-o.dst_cs, -o.rhs_cs);
        }
        if o.lhs_cs < 0 && o.k > 0 {
            o.lhs = o.lhs.wrapping_offset((o.k - 1) as isize * o.lhs_cs);
            o.rhs = o.rhs.wrapping_offset((o.k - 1) as isize * o.rhs_rs);
            (o.lhs_cs, o.rhs_rs) = (-o.lhs_cs, -o.rhs_rs);
        }
        o
    }
}

/// `c = (accumulate ? c : 0) + a·b` on the micro-kernels of `isa`: `gemm::gemm`'s own
/// choice when `isa` is what the CPU has, the narrower kernels otherwise.
pub fn gemm<T: Scalar>(
    isa: Isa,
    c: &mut ArrayViewMut2<T>,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    assert!(a.ncols() == b.nrows() && c.dim() == (a.nrows(), b.ncols()), "gemm: shapes do not match");
    let o = Operands::of(c, a, b);
    // SAFETY: the three views are valid for the shapes and strides taken from them,
    // `c` is a unique mutable borrow (so `dst` aliases neither input), and T is f32
    // or f64 (the sealed Scalar trait), which `gemm` supports.
    unsafe {
        if isa < crate::isa::detected() && capped(isa, o.normalised(), accumulate, par) {
            return;
        }
        gemm::gemm(
            o.m, o.n, o.k, o.dst, o.dst_cs, o.dst_rs, accumulate, o.lhs, o.lhs_cs, o.lhs_rs, o.rhs, o.rhs_cs, o.rhs_rs,
            T::one(), T::one(), false, false, false, par,
        )
    }
}

/// [`gemm`] on the narrower kernels, for operands already [`Operands::normalised`];
/// `false` when `isa` has none here.
///
/// # Safety
/// The operands must be valid for their shapes and strides, `dst` must not alias
/// the inputs.
unsafe fn capped<T: Scalar>(isa: Isa, o: Operands<T>, read_dst: bool, par: gemm::Parallelism) -> bool {
    // The micro-kernel tables of one (module, type): `$n` is the kernels' vector
    // width in elements (the gemm crates' private `N`: 8 f32 / 4 f64 lanes for AVX2,
    // 1 for the scalar kernels).
    macro_rules! run {
        ($simd:expr, $ty:ty, $kernels:path, $n:expr) => {{
            use $kernels as k_;
            gemm_common::gemm::gemm_basic_generic::<
                _,
                $ty,
                { $n },
                { k_::MR_DIV_N * $n },
                { k_::NR },
                { k_::MR_DIV_N },
                { k_::H_M },
                { k_::H_N },
            >(
                $simd,
                o.m,
                o.n,
                o.k,
                o.dst as *mut $ty,
                o.dst_cs,
                o.dst_rs,
                read_dst,
                o.lhs as *const $ty,
                o.lhs_cs,
                o.lhs_rs,
                o.rhs as *const $ty,
                o.rhs_cs,
                o.rhs_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                |a, b, c| a * b + c,
                &k_::UKR,
                &k_::H_UKR,
                false,
                par,
            )
        }};
    }
    let is_f32 = TypeId::of::<T>() == TypeId::of::<f32>();
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            let Some(simd) = gemm_common::simd::V3::try_new() else {
                return false;
            };
            if is_f32 {
                run!(simd, f32, gemm_f32::microkernel::fma::f32, 8)
            } else {
                run!(simd, f64, gemm_f64::microkernel::fma::f64, 4)
            }
            true
        }
        Isa::Baseline => {
            let simd = gemm_common::simd::Scalar;
            if is_f32 {
                run!(simd, f32, gemm_f32::microkernel::scalar::f32, 1)
            } else {
                run!(simd, f64, gemm_f64::microkernel::scalar::f64, 1)
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, ShapeBuilder};

    fn naive(a: &ArrayView2<f64>, b: &ArrayView2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| (0..a.ncols()).map(|l| a[[i, l]] * b[[l, j]]).sum())
    }

    fn filled(rows: usize, cols: usize, seed: f64) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 7 + j * 3) as f64 * seed).sin())
    }

    /// Every level this CPU has, on row- and column-oriented destinations and on
    /// reversed (negative-stride) operands, equals the textbook product; with
    /// `accumulate` the old destination is added.
    #[test]
    fn every_level_and_layout_equals_the_naive_product() {
        let (m, k, n) = (13, 9, 11);
        let a = filled(m, k, 0.37);
        let b = filled(k, n, 0.91);
        for isa in crate::isa::available() {
            for col_major in [false, true] {
                for reversed in [false, true] {
                    let (av, bv) = if reversed {
                        (a.slice(s![..;-1, ..;-1]), b.slice(s![..;-1, ..]))
                    } else {
                        (a.view(), b.view())
                    };
                    let expect = naive(&av, &bv);
                    let mut c = if col_major { Array2::<f64>::ones((m, n).f()) } else { Array2::<f64>::ones((m, n)) };
                    gemm(isa, &mut c.view_mut(), &av, &bv, true, gemm::Parallelism::None);
                    let err = (&c - &expect - 1.0).mapv(f64::abs).fold(0.0f64, |x, &y| x.max(y));
                    assert!(err < 1e-12, "{isa:?} col_major={col_major} reversed={reversed}: {err}");
                    let mut r = c.slice_mut(s![.., ..;-1]);
                    gemm(isa, &mut r, &av, &bv, false, gemm::Parallelism::None);
                    let err = (&r - &expect).mapv(f64::abs).fold(0.0f64, |x, &y| x.max(y));
                    assert!(err < 1e-12, "{isa:?} reversed destination: {err}");
                }
            }
        }
    }
}
