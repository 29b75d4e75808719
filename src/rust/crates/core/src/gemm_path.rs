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
use std::any::TypeId;

/// One product, `dst = (read_dst ? dst : 0) + lhs·rhs` in the `gemm` crate's
/// convention (column stride first), on the micro-kernels of `isa`: `gemm::gemm`'s
/// own choice when `isa` is what the CPU has, the narrower kernels otherwise.
///
/// # Safety
/// As `gemm::gemm`: the pointers must be valid for the shapes and strides, and `dst`
/// must not alias the inputs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: Scalar>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
    par: gemm::Parallelism,
) {
    if isa < crate::isa::detected() && capped(isa, m, n, k, dst, dst_cs, dst_rs, read_dst, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs, par) {
        return;
    }
    gemm::gemm(
        m,
        n,
        k,
        dst,
        dst_cs,
        dst_rs,
        read_dst,
        lhs,
        lhs_cs,
        lhs_rs,
        rhs,
        rhs_cs,
        rhs_rs,
        T::one(),
        T::one(),
        false,
        false,
        false,
        par,
    )
}

/// [`gemm`] on the narrower kernels; `false` when `isa` has none here.
#[allow(clippy::too_many_arguments)]
unsafe fn capped<T: Scalar>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
    par: gemm::Parallelism,
) -> bool {
    // The generic driver wants a column-oriented destination and non-negative
    // destination and inner strides (what `gemm::gemm` arranges before it
    // dispatches): a row-oriented product is computed as its transpose,
    // `dstᵀ = rhsᵀ·lhsᵀ`, and negative strides are walked from the other end.
    let (m, n, mut dst_cs, mut dst_rs, mut lhs, mut lhs_cs, mut lhs_rs, mut rhs, mut rhs_cs, mut rhs_rs) =
        if dst_cs.abs() < dst_rs.abs() {
            (n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs)
        } else {
            (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs)
        };
    let mut dst = dst;
    if dst_rs < 0 && m > 0 {
        dst = dst.wrapping_offset((m - 1) as isize * dst_rs);
        lhs = lhs.wrapping_offset((m - 1) as isize * lhs_rs);
        (dst_rs, lhs_rs) = (-dst_rs, -lhs_rs);
    }
    if dst_cs < 0 && n > 0 {
        dst = dst.wrapping_offset((n - 1) as isize * dst_cs);
        rhs = rhs.wrapping_offset((n - 1) as isize * rhs_cs);
        (dst_cs, rhs_cs) = (-dst_cs, -rhs_cs);
    }
    if lhs_cs < 0 && k > 0 {
        lhs = lhs.wrapping_offset((k - 1) as isize * lhs_cs);
        rhs = rhs.wrapping_offset((k - 1) as isize * rhs_rs);
        (lhs_cs, rhs_rs) = (-lhs_cs, -rhs_rs);
    }
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
                m,
                n,
                k,
                dst as *mut $ty,
                dst_cs,
                dst_rs,
                read_dst,
                lhs as *const $ty,
                lhs_cs,
                lhs_rs,
                rhs as *const $ty,
                rhs_cs,
                rhs_rs,
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
