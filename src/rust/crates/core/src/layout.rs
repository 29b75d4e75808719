//! Memory orders: column-major (Fortran, R's) arrays into row-major (C, the core's)
//! ones, the copy every array from R goes through once.

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, IxDyn, ShapeBuilder, Zip};
use rayon::prelude::*;

/// Column-major `src` with `dims` → row-major `dst`, converted by `of`, in parallel
/// over the first axis (2-D arrays, e.g. large dense weights, in cache-sized tiles).
/// Panics when `src` or `dst` does not hold `dims`' product of values.
pub fn f_to_c_order<T: Copy + Send + Sync>(dst: &mut [T], src: &[f64], dims: &[usize], of: fn(f64) -> T) {
    let n: usize = dims.iter().product();
    assert!(src.len() == n && dst.len() == n, "f_to_c_order: {} and {} values for {n}", src.len(), dst.len());
    let trivial = dims.iter().filter(|&&d| d > 1).count() <= 1;
    if trivial {
        dst.par_iter_mut().zip(src.par_iter()).for_each(|(o, &v)| *o = of(v));
        return;
    }
    if dims.len() == 2 {
        transpose_tiled(dst, src, dims[0], dims[1], of);
        return;
    }
    let src = ArrayViewD::from_shape(IxDyn(dims).f(), src).expect("length checked above");
    let mut out = ArrayViewMutD::from_shape(IxDyn(dims), dst).expect("length checked above");
    Zip::from(out.axis_iter_mut(Axis(0))).and(src.axis_iter(Axis(0))).par_for_each(|mut o, s| {
        o.zip_mut_with(&s, |o, &v| *o = of(v));
    });
}

/// `src` is a column-major `rows x cols` matrix; write it row-major into `dst`.
fn transpose_tiled<T: Copy + Send + Sync>(dst: &mut [T], src: &[f64], rows: usize, cols: usize, of: fn(f64) -> T) {
    const TILE: usize = 64;
    // each task owns TILE whole output rows
    dst.par_chunks_mut(TILE * cols).enumerate().for_each(|(bi, block)| {
        let r0 = bi * TILE;
        let nr = block.len() / cols;
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for c in c0..c1 {
                let column = &src[c * rows + r0..c * rows + r0 + nr];
                for (r, &v) in column.iter().enumerate() {
                    block[r * cols + c] = of(v);
                }
            }
        }
    });
}

/// Write the values at column-major positions `start..start + src.len()` of an array
/// with `dims` into their places in the row-major `dst` (the whole array), converted
/// by `of`: for arrays that arrive from R in chunks. Panics when the chunk does not
/// fit the array.
pub fn f_chunk_to_c_order<T: Copy>(dst: &mut [T], dims: &[usize], start: usize, src: &[f64], of: fn(f64) -> T) {
    let n: usize = dims.iter().product();
    assert!(dst.len() == n && start + src.len() <= n, "f_chunk_to_c_order: chunk beyond the array");
    if src.is_empty() {
        return;
    }
    let k = dims.len();
    // row-major strides, and the multi-index of `start` (first axis fastest)
    let mut stride = vec![1usize; k];
    for a in (0..k.saturating_sub(1)).rev() {
        stride[a] = stride[a + 1] * dims[a + 1];
    }
    let mut idx = vec![0usize; k];
    let mut rest = start;
    for a in 0..k {
        idx[a] = rest % dims[a];
        rest /= dims[a];
    }
    let mut at: usize = (0..k).map(|a| idx[a] * stride[a]).sum();
    for &v in src {
        dst[at] = of(v);
        // advance the column-major counter, keeping the row-major offset in step
        for a in 0..k {
            idx[a] += 1;
            at += stride[a];
            if idx[a] < dims[a] {
                break;
            }
            at -= stride[a] * dims[a];
            idx[a] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_and_four_axes_match_ndarray() {
        for dims in [vec![2, 3, 4], vec![3, 1, 2, 5], vec![4, 3, 3, 3]] {
            let n: usize = dims.iter().product();
            let src: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
            let mut dst = vec![0f32; n];
            f_to_c_order(&mut dst, &src, &dims, |v| v as f32);
            let want = ArrayViewD::from_shape(IxDyn(&dims).f(), &src[..]).unwrap();
            let got = ArrayViewD::from_shape(IxDyn(&dims), &dst[..]).unwrap();
            assert!(want.iter().zip(got.iter()).all(|(&a, &b)| a as f32 == b), "{dims:?}");
        }
    }

    #[test]
    fn chunks_fill_the_array_like_one_copy() {
        for dims in [vec![7], vec![4, 5], vec![3, 2, 4], vec![2, 3, 1, 5]] {
            let n: usize = dims.iter().product();
            let src: Vec<f64> = (0..n).map(|i| i as f64 + 0.25).collect();
            let mut whole = vec![0.0; n];
            f_to_c_order(&mut whole, &src, &dims, |v| v);
            for chunk in [1, 3, n] {
                let mut parts = vec![0.0; n];
                for s in (0..n).step_by(chunk) {
                    f_chunk_to_c_order(&mut parts, &dims, s, &src[s..(s + chunk).min(n)], |v| v);
                }
                assert_eq!(parts, whole, "{dims:?} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn tiled_transpose_matches_the_definition() {
        for (rows, cols) in [(1, 7), (3, 5), (64, 64), (65, 130), (200, 3)] {
            let src: Vec<f64> = (0..rows * cols).map(|i| i as f64).collect();
            let mut dst = vec![0.0; rows * cols];
            transpose_tiled(&mut dst, &src, rows, cols, |v| v);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(dst[r * cols + c], src[c * rows + r], "{rows}x{cols} at {r},{c}");
                }
            }
        }
    }
}
