//! The convolution engine behind [`super::conv`]: im2col / col2im for 2-D
//! convolutions (1-D is the case `h = 1`) and the chunked GEMM drivers
//! [`conv_forward`] (`y_b = bias + W · cols_b`) and [`conv_vjp`]
//! (`gx_b = col2im(Wᵀ · g_b)`).
//!
//! Geometry: an input sample is `[C, H, W]`, zero padded by `top`/`left` (the bottom and
//! right padding only enter through the output size `Ho, Wo`). Output position
//! `(oy, ox)` and kernel tap `(i, j)` read input pixel
//! `(oy·sh + i·dh − top, ox·sw + j·dw − left)`, or zero when that lies in the padding.
//!
//! Column matrix: row `(c, i, j)` (row-major, `K = C·kh·kw` rows, row stride `ld`) and
//! one column per (sample, output position) of a chunk: a chunk covers samples `0..n`
//! of a slice and positions `p0..p1` of each, so column `g·(p1−p0) + (p − p0)`.
//!
//! The padding is never materialised: runs of positions that read padding are written
//! as zeros (im2col) or skipped (col2im), which also crops the gradient for free.
//!
//! Chunks (several whole samples side by side, or a position range of one sample)
//! keep the column buffer bounded and cache-resident. Parallelism lives inside the
//! GEMM (rayon, in `gemm`) and inside im2col/col2im, one after the other, never nested.

use crate::linalg::gemm_into;
use crate::scalar::Scalar;
use ndarray::{s, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, ShapeBuilder};
use rayon::prelude::*;

/// Upper bound for one chunk's column buffer.
const COL_BUDGET_BYTES: usize = 256 << 20;
/// Target columns per chunk: wide enough for an efficient two-way parallel GEMM (small
/// feature maps such as 7×7 are grouped across samples), narrow enough that the
/// column buffer is still in cache when the GEMM (or col2im) reads it. 1.5k–4k
/// columns measured equally fast for a 64→64 3×3 layer at 224×224.
const TILE_COLS: usize = 2048;

/// Below this many column entries a chunk is handled on the calling thread (rayon's
/// scheduling would cost more than it saves).
const PARALLEL_MIN: usize = 1 << 15;

/// Convolution geometry of one sample (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub top: usize,
    pub left: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geom {
    /// Rows of the column matrix.
    pub fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Output positions per sample.
    pub fn p(&self) -> usize {
        self.ho * self.wo
    }
    /// Input elements per sample.
    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// `1×1` kernel, stride 1, no padding: each sample is already its column matrix, so
    /// the GEMM runs on it directly. Small maps (e.g. 7×7) in a batch still take the
    /// grouped im2col path: one wide GEMM over many samples was ~25 % faster than many
    /// narrow ones, which outweighs the copy.
    pub fn pointwise(&self, rows: usize) -> bool {
        let unit = (self.kh, self.kw, self.sh, self.sw, self.top, self.left) == (1, 1, 1, 1, 0, 0);
        // with a unit kernel and stride, equal sizes mean no bottom/right padding either
        unit && (self.ho, self.wo) == (self.h, self.w) && (rows == 1 || self.p() >= TILE_COLS / 2)
    }

    /// Output columns `ox ∈ [lo, hi)` whose input column `ox·sw + off` lies inside
    /// `[0, w)` for the kernel column `j`.
    fn valid_cols(&self, j: usize) -> (usize, usize) {
        let off = (j * self.dw) as isize - self.left as isize;
        let lo = if off >= 0 { 0 } else { off.unsigned_abs().div_ceil(self.sw) };
        let last = self.w as isize - 1 - off;
        let hi = if last < 0 { 0 } else { (last as usize / self.sw + 1).min(self.wo) };
        (lo.min(hi), hi)
    }

    /// Walk positions `p0..p1` for kernel tap `(i, j)` as maximal runs within output rows.
    /// `run(q, n, src)` gets the run's offset `q` from `p0`, its length `n`, and for
    /// in-bounds runs the plane index of the first input pixel (later ones step by `sw`);
    /// `None` marks runs that read padding.
    fn for_runs(&self, i: usize, j: usize, p0: usize, p1: usize, mut run: impl FnMut(usize, usize, Option<usize>)) {
        let (lo, hi) = self.valid_cols(j);
        let col_off = (j * self.dw) as isize - self.left as isize;
        let mut p = p0;
        while p < p1 {
            let (oy, ox_a) = (p / self.wo, p % self.wo);
            let ox_b = (ox_a + (p1 - p)).min(self.wo);
            let q = p - p0;
            let iy = (oy * self.sh + i * self.dh) as isize - self.top as isize;
            if iy < 0 || iy >= self.h as isize {
                run(q, ox_b - ox_a, None);
            } else {
                let (a, b) = (lo.clamp(ox_a, ox_b), hi.clamp(ox_a, ox_b).max(lo.clamp(ox_a, ox_b)));
                if a > ox_a {
                    run(q, a - ox_a, None);
                }
                if b > a {
                    let start = iy as usize * self.w + (a as isize * self.sw as isize + col_off) as usize;
                    run(q + a - ox_a, b - a, Some(start));
                }
                if ox_b > b {
                    run(q + b - ox_a, ox_b - b, None);
                }
            }
            p += ox_b - ox_a;
        }
    }
}

/// Row stride for a column matrix of `width` columns: whole cache lines, and an odd
/// number of them, so that walking down a column cycles through all cache sets
/// instead of hitting the same few (a stride that is a multiple of 4 KiB made the
/// GEMM's packing thrash and halved its multi-threaded speed).
pub(crate) fn lead_dim<T>(width: usize) -> usize {
    let per_line = (64 / std::mem::size_of::<T>()).max(1);
    let lines = width.div_ceil(per_line);
    (lines + 1 - lines % 2) * per_line
}

/// Fill `cols` (`[K, n·(p1−p0)]`, row stride `ld`) from `x` (`n` samples `[C, H, W]`).
pub(crate) fn im2col<T: Scalar>(g: &Geom, x: &[T], n: usize, (p0, p1): (usize, usize), cols: &mut [T], ld: usize) {
    let pc = p1 - p0;
    let width = n * pc;
    debug_assert!(ld >= width && cols.len() == g.k() * ld);
    debug_assert_eq!(x.len(), n * g.in_len());
    let plane = g.h * g.w;
    let fill_row = |r: usize, row: &mut [T]| {
        let (c, i, j) = (r / (g.kh * g.kw), (r / g.kw) % g.kh, r % g.kw);
        for s in 0..n {
            let src = &x[(s * g.c + c) * plane..][..plane];
            let dst = &mut row[s * pc..(s + 1) * pc];
            g.for_runs(i, j, p0, p1, |q, len, start| match start {
                None => dst[q..q + len].fill(T::zero()),
                Some(st) if g.sw == 1 => dst[q..q + len].copy_from_slice(&src[st..st + len]),
                Some(st) => {
                    for (t, d) in dst[q..q + len].iter_mut().enumerate() {
                        *d = src[st + t * g.sw];
                    }
                }
            });
        }
    };
    // One task per row: rows are independent, and there are enough of them even for
    // 3-channel inputs (27 rows for a 3×3 kernel).
    if g.k() * width >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        cols.par_chunks_mut(ld).enumerate().for_each(|(r, row)| fill_row(r, row));
    } else {
        cols.chunks_mut(ld).enumerate().for_each(|(r, row)| fill_row(r, row));
    }
}

/// Scatter-add `cols` (`[K, n·(p1−p0)]`, row stride `ld`) into `gx` (`n` samples
/// `[C, H, W]`), the adjoint of [`im2col`]. Entries that came from padding are dropped.
pub(crate) fn col2im<T: Scalar>(g: &Geom, cols: &[T], n: usize, (p0, p1): (usize, usize), gx: &mut [T], ld: usize) {
    let pc = p1 - p0;
    let width = n * pc;
    debug_assert!(ld >= width && cols.len() >= (g.k() - 1) * ld + width);
    debug_assert_eq!(gx.len(), n * g.in_len());
    let plane = g.h * g.w;
    let kk = g.kh * g.kw;
    // One task per (sample, channel) plane: planes are disjoint outputs, so no two
    // tasks ever add into the same element.
    let add_plane = |idx: usize, dst: &mut [T]| {
        let (s, c) = (idx / g.c, idx % g.c);
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &cols[(c * kk + i * g.kw + j) * ld + s * pc..][..pc];
                g.for_runs(i, j, p0, p1, |q, len, start| {
                    let src = &row[q..q + len];
                    match start {
                        None => {}
                        // contiguous: a zip the compiler vectorises
                        Some(st) if g.sw == 1 => dst[st..st + len].iter_mut().zip(src).for_each(|(d, &v)| *d += v),
                        Some(st) => src.iter().enumerate().for_each(|(t, &v)| dst[st + t * g.sw] += v),
                    }
                });
            }
        }
    };
    if g.k() * width >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        gx.par_chunks_mut(plane).enumerate().for_each(|(idx, dst)| add_plane(idx, dst));
    } else {
        gx.chunks_mut(plane).enumerate().for_each(|(idx, dst)| add_plane(idx, dst));
    }
}

/// Column budget in elements of `T`.
pub(crate) fn default_budget<T>() -> usize {
    COL_BUDGET_BYTES / std::mem::size_of::<T>()
}

/// A unit of work: samples `r0..r1` and positions `p0..p1` (a proper position range
/// only when the chunk holds one sample).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    r0: usize,
    r1: usize,
    p0: usize,
    p1: usize,
}

impl Chunk {
    fn cols(&self) -> usize {
        (self.r1 - self.r0) * (self.p1 - self.p0)
    }
}

/// Split `rows` samples of `p` positions into chunks of about [`TILE_COLS`] columns
/// (never more than `budget` column entries, `k` per column), and allocate a buffer
/// that fits the largest.
fn plan<T: Scalar>(rows: usize, k: usize, p: usize, budget: usize) -> (Vec<Chunk>, Vec<T>) {
    let target = TILE_COLS.min(budget / k).max(1);
    let chunks: Vec<Chunk> = if p <= target {
        let g = (target / p).clamp(1, rows.max(1));
        (0..rows).step_by(g).map(|r0| Chunk { r0, r1: (r0 + g).min(rows), p0: 0, p1: p }).collect()
    } else {
        // equal tiles rather than full ones plus a small remainder
        let pc = p.div_ceil(p.div_ceil(target));
        (0..rows)
            .flat_map(|r| (0..p).step_by(pc).map(move |p0| Chunk { r0: r, r1: r + 1, p0, p1: (p0 + pc).min(p) }))
            .collect()
    };
    let max_ld = chunks.iter().map(|c| lead_dim::<T>(c.cols())).max().unwrap_or(0);
    (chunks, vec![T::zero(); k * max_ld])
}

/// Forward: `x` (`rows` samples `[C, H, W]`, flat) → `[rows, C_out, P]` with
/// `y_b = bias + W · cols_b` (`w` is `[C_out, K]`).
pub(crate) fn conv_forward<T: Scalar>(
    g: &Geom,
    x: &[T],
    rows: usize,
    w: &ArrayView2<T>,
    bias: Option<&ArrayView1<T>>,
    budget: usize,
) -> Array3<T> {
    let (c_out, p, k, len) = (w.nrows(), g.p(), g.k(), g.in_len());
    let mut y = Array3::<T>::zeros((rows, c_out, p));
    if let Some(b) = bias {
        y.axis_iter_mut(Axis(1)).zip(b.iter()).for_each(|(mut ch, &v)| ch.fill(v));
    }
    if g.pointwise(rows) {
        for (r, mut yr) in y.outer_iter_mut().enumerate() {
            let xr = ArrayView2::from_shape((k, p), &x[r * len..][..len]).expect("pointwise shape");
            gemm_into(&mut yr, w, &xr, true);
        }
        return y;
    }
    let (chunks, mut cols) = plan::<T>(rows, k, p, budget);
    let mut tmp = Vec::new();
    for ch @ Chunk { r0, r1, p0, p1 } in chunks {
        let (n, ld) = (ch.cols(), lead_dim::<T>(ch.cols()));
        im2col(g, &x[r0 * len..r1 * len], r1 - r0, (p0, p1), &mut cols[..k * ld], ld);
        let cv = ArrayView2::from_shape((k, n).strides((ld, 1)), &cols[..k * ld]).expect("cols shape");
        if r1 - r0 == 1 {
            gemm_into(&mut y.slice_mut(s![r0, .., p0..p1]), w, &cv, true);
        } else {
            // Samples side by side in the columns: the product is [C_out, G, P] and is
            // added back in [G, C_out, P] order.
            tmp.resize(c_out * ld, T::zero());
            let mut tv = ArrayViewMut2::from_shape((c_out, n).strides((ld, 1)), &mut tmp[..]).expect("tmp shape");
            gemm_into(&mut tv, w, &cv, false);
            let t3 = ArrayView3::from_shape((c_out, r1 - r0, p).strides((ld, p, 1)), &tmp[..]).expect("tmp shape");
            let mut ys = y.slice_mut(s![r0..r1, .., ..]);
            ys += &t3.permuted_axes([1, 0, 2]);
        }
    }
    y
}

/// VJP: `grad` `[rows, C_out, P]` → `[rows, C, H·W]` with `gx_b = col2im(Wᵀ · g_b)`.
pub(crate) fn conv_vjp<T: Scalar>(g: &Geom, grad: &ArrayView3<T>, w: &ArrayView2<T>, budget: usize) -> Array3<T> {
    let (rows, c_out, p, k, len) = (grad.shape()[0], w.nrows(), g.p(), g.k(), g.in_len());
    let wt = w.t();
    let mut gx = Array3::<T>::zeros((rows, g.c, g.h * g.w));
    if g.pointwise(rows) {
        for (mut gxr, gr) in gx.outer_iter_mut().zip(grad.outer_iter()) {
            gemm_into(&mut gxr, &wt, &gr, false);
        }
        return gx;
    }
    let (chunks, mut dcols) = plan::<T>(rows, k, p, budget);
    let mut tmp = Vec::new();
    let gxs = gx.as_slice_mut().expect("fresh array");
    for ch @ Chunk { r0, r1, p0, p1 } in chunks {
        let (n, ld) = (ch.cols(), lead_dim::<T>(ch.cols()));
        let mut dv = ArrayViewMut2::from_shape((k, n).strides((ld, 1)), &mut dcols[..k * ld]).expect("dcols shape");
        if r1 - r0 == 1 {
            gemm_into(&mut dv, &wt, &grad.slice(s![r0, .., p0..p1]), false);
        } else {
            // Lay the samples' signals side by side ([C_out, G, P]) to match the column
            // order of im2col.
            tmp.resize(c_out * ld, T::zero());
            let mut t3 =
                ArrayViewMut3::from_shape((c_out, r1 - r0, p).strides((ld, p, 1)), &mut tmp[..]).expect("tmp shape");
            t3.assign(&grad.slice(s![r0..r1, .., ..]).permuted_axes([1, 0, 2]));
            let tv = ArrayView2::from_shape((c_out, n).strides((ld, 1)), &tmp[..]).expect("tmp shape");
            gemm_into(&mut dv, &wt, &tv, false);
        }
        col2im(g, &dcols[..k * ld], r1 - r0, (p0, p1), &mut gxs[r0 * len..r1 * len], ld);
    }
    gx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col and col2im are adjoint: <im2col(x), c> = <x, col2im(c)>, and im2col
    /// agrees with a direct index computation, also for partial position ranges.
    #[test]
    fn im2col_matches_direct_indexing_and_col2im_is_its_adjoint() {
        let g = Geom { c: 2, h: 4, w: 5, kh: 2, kw: 3, sh: 2, sw: 3, dh: 2, dw: 1, top: 1, left: 2, ho: 3, wo: 3 };
        let x: Vec<f64> = (0..2 * g.in_len()).map(|v| v as f64 * 0.5 - 7.0).collect();
        for (p0, p1) in [(0, 9), (2, 7), (4, 5)] {
            let width = 2 * (p1 - p0);
            let ld = width + 3;
            let mut cols = vec![0.0; g.k() * ld];
            im2col(&g, &x, 2, (p0, p1), &mut cols, ld);
            for r in 0..g.k() {
                let (c, i, j) = (r / 6, (r / 3) % 2, r % 3);
                for s in 0..2 {
                    for p in p0..p1 {
                        let iy = ((p / 3) * 2 + i * 2) as isize - 1;
                        let ix = ((p % 3) * 3 + j) as isize - 2;
                        let want = if (0..4).contains(&iy) && (0..5).contains(&ix) {
                            x[s * g.in_len() + c * 20 + iy as usize * 5 + ix as usize]
                        } else {
                            0.0
                        };
                        assert_eq!(cols[r * ld + s * (p1 - p0) + p - p0], want);
                    }
                }
            }
            // padding columns of `c` are nonzero and must be ignored by col2im
            let c: Vec<f64> = (0..cols.len()).map(|v| ((v * 7) % 11) as f64 - 5.0).collect();
            let cols: Vec<f64> = cols.iter().enumerate().map(|(v, &e)| if v % ld < width { e } else { 0.0 }).collect();
            let mut gx = vec![0.0; x.len()];
            col2im(&g, &c, 2, (p0, p1), &mut gx, ld);
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9, "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn lead_dim_is_an_odd_number_of_cache_lines() {
        assert_eq!(lead_dim::<f32>(2048), 2064);
        assert_eq!(lead_dim::<f32>(17), 48);
        assert_eq!(lead_dim::<f64>(8), 8);
        assert_eq!(lead_dim::<f64>(9), 24);
    }
}
