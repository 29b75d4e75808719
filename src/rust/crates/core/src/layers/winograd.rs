//! Winograd's minimal filtering F(2×2, 3×3) for 3×3 convolutions with stride 1 and
//! dilation 1 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
//! Networks"): every 2×2 block ("tile") of outputs is computed from the 4×4 input patch
//! under it with 16 multiplications per (input, output) channel pair instead of 36.
//! With `U = G g Gᵀ` (the kernel, 4×4 per channel pair), `V = Bᵀ d B` (the patch) and
//! `Y = Aᵀ M A`, the 16 products `M_ξ = Σ_c U_ξ[o, c] V_ξ[c, t]` over a batch of tiles
//! `t` are 16 matrix products `[C_out, C] · [C, tiles]`, so the multiply-adds of a
//! VGG-style layer drop by 2.25×; the transforms are a few additions per element.
//!
//! F(2×2, 3×3) is the smallest variant and numerically the mildest: its transforms
//! only add, subtract and halve, so the rounding error stays within a small factor of
//! the direct sum's (larger tiles such as F(4×4, 3×3) trade accuracy for speed). The
//! results differ from im2col's in the last bits only.
//!
//! The input gradient of such a layer is again a 3×3 stride-1 convolution (of the
//! output signal, with the kernel rotated by 180° and its channel axes swapped, and
//! padding `2 − p` on every side), so [`conv`] serves both directions.
//!
//! Layouts (per chunk of `n` tiles): `V` is `[C][16][n]` (one contiguous block per
//! input channel, so the input transform is parallel over channels), `M` is
//! `[C_out][16][n]` (parallel output transform over output channels), and the
//! products read and write them as strided `[C, n]` / `[C_out, n]` matrices.

use super::im2col::{Scratch, SharedMut};
use crate::linalg::{gemm_into_with, Par};
use crate::scalar::Scalar;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rayon::prelude::*;

/// Bytes of `V` and `M` per chunk: they are written, read by the products and read
/// again, preferably from cache (L2 is 1 MB per core on the dev machine, L3 32 MB
/// shared), but the products need wide enough matrices more.
const CHUNK_BYTES: usize = 12 << 20;
/// Tiles per chunk, at least (narrower products lose efficiency) and at most.
const MIN_TILES: usize = 96;
const MAX_TILES: usize = 512;
/// Fewest channels on either side for the transforms to pay off (the first layer of
/// an image model, with 3 input channels, is faster through im2col).
pub(crate) const MIN_CHANNELS: usize = 16;
/// Fewest tiles (2×2 outputs over all samples) for Winograd: below, the 16 products
/// are too narrow and im2col's one product with 9× the depth wins (VGG's 14×14 maps
/// at batch 1 have 49 tiles).
pub(crate) const MIN_TOTAL_TILES: usize = 96;
/// Below this many multiply-adds a convolution stays on the calling thread.
const PARALLEL_WORK: usize = 1 << 20;

/// Geometry: input `[c, h, w]`, output `[m, ho, wo]`; output `(oy, ox)` reads input
/// rows `oy − top + i` and columns `ox − left + j`, `i, j ∈ 0..3` (zero outside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wino {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub ho: usize,
    pub wo: usize,
    pub top: isize,
    pub left: isize,
}

impl Wino {
    fn tiles_w(&self) -> usize {
        self.wo.div_ceil(2)
    }
    fn tiles(&self) -> usize {
        self.ho.div_ceil(2) * self.tiles_w()
    }
}

/// A transformed kernel: `u[ξ]` is the `[m, c]` matrix of entry `ξ` of `G g Gᵀ`.
pub(crate) struct Kernel<T> {
    u: Vec<T>,
    m: usize,
    c: usize,
}

impl<T: Scalar> Kernel<T> {
    /// `g(o, c)` is the 3×3 kernel (row-major taps) from input channel `c` to output
    /// channel `o`.
    fn new(m: usize, c: usize, g: impl Fn(usize, usize) -> [T; 9] + Sync) -> Self {
        let half = T::of(0.5);
        let mut u = vec![T::zero(); 16 * m * c];
        let up = SharedMut(u.as_mut_ptr());
        // One task per output channel: its 16 rows are made in a small local buffer
        // (in cache) and then copied to row o of each of the 16 matrices.
        let one = |o: usize, local: &mut Vec<T>| {
            let up = up;
            local.resize(16 * c, T::zero());
            for ci in 0..c {
                let k = g(o, ci);
                // G g: 4 rows of 3
                let mut gg = [[T::zero(); 3]; 4];
                for j in 0..3 {
                    let (g0, g1, g2) = (k[j], k[3 + j], k[6 + j]);
                    gg[0][j] = g0;
                    gg[1][j] = (g0 + g1 + g2) * half;
                    gg[2][j] = (g0 - g1 + g2) * half;
                    gg[3][j] = g2;
                }
                // (G g) Gᵀ
                for (a, &[k0, k1, k2]) in gg.iter().enumerate() {
                    local[(4 * a) * c + ci] = k0;
                    local[(4 * a + 1) * c + ci] = (k0 + k1 + k2) * half;
                    local[(4 * a + 2) * c + ci] = (k0 - k1 + k2) * half;
                    local[(4 * a + 3) * c + ci] = k2;
                }
            }
            for xi in 0..16 {
                // SAFETY: row o of matrix ξ (of [16][m][c]) belongs to this task.
                let dst = unsafe { std::slice::from_raw_parts_mut(up.0.add((xi * m + o) * c), c) };
                dst.copy_from_slice(&local[xi * c..(xi + 1) * c]);
            }
        };
        if m * c >= 4096 && rayon::current_num_threads() > 1 {
            (0..m).into_par_iter().for_each_init(Vec::new, |local, o| crate::isa::dispatch(|| one(o, local)));
        } else {
            let mut local = Vec::new();
            (0..m).for_each(|o| crate::isa::dispatch(|| one(o, &mut local)));
        }
        Kernel { u, m, c }
    }

    /// The forward kernel of a `[C_out, C·9]` weight matrix (rows in `(c, i, j)` order).
    pub fn forward(w: &ArrayView2<T>, c: usize) -> Self {
        let ws = w.as_standard_layout();
        let wf = ws.as_slice().expect("standard layout");
        let k = 9 * c;
        Self::new(w.nrows(), c, |o, ci| std::array::from_fn(|t| wf[o * k + ci * 9 + t]))
    }

    /// The kernel of the input gradient: rotated by 180°, channel axes swapped.
    pub fn transposed(w: &ArrayView2<T>, c: usize) -> Self {
        let ws = w.as_standard_layout();
        let wf = ws.as_slice().expect("standard layout");
        let k = 9 * c;
        Self::new(c, w.nrows(), |ci, o| std::array::from_fn(|t| wf[o * k + ci * 9 + 8 - t]))
    }

    fn u(&self, xi: usize) -> ArrayView2<'_, T> {
        ArrayView2::from_shape((self.m, self.c), &self.u[xi * self.m * self.c..][..self.m * self.c])
            .expect("kernel shape")
    }
}

/// Tile `t` (flat over samples) of `geo`: (sample, tile row, tile column).
fn tile_at(geo: &Wino, t: usize) -> (usize, usize, usize) {
    let (pt, tw) = (geo.tiles(), geo.tiles_w());
    (t / pt, (t % pt) / tw, (t % pt) % tw)
}

/// Walk tiles `t0..t0+n` as runs within one tile row: `f(k, sample, ty, tx0, len)`
/// for the run of `len` tiles starting at chunk position `k`, tile column `tx0`.
#[inline(always)]
fn for_tile_runs(geo: &Wino, t0: usize, n: usize, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
    let tw = geo.tiles_w();
    let mut k = 0;
    while k < n {
        let (s, ty, tx) = tile_at(geo, t0 + k);
        let len = (tw - tx).min(n - k);
        f(k, s, ty, tx, len);
        k += len;
    }
}

crate::multiversion! {
    /// Input transform of tiles `t0..t0+n` for channel `c` into `v` (`[16][n]`).
    ///
    /// Per run of tiles along a tile row, the four input rows under it are split into
    /// even and odd columns (`e[j] = row[2j]`, `o[j] = row[2j + 1]`, relative to the run's
    /// first column), so that `B` along the row is `e[j] − e[j+1]`, `o[j] + e[j+1]`,
    /// `e[j+1] − o[j]`, `o[j] − o[j+1]`: contiguous loops over the run that the compiler
    /// vectorises, as is `Bᵀ` down the four rows.
    fn transform_channel<T: Scalar>(geo: &Wino, x: &[T], c: usize, t0: usize, n: usize, v: &mut [T]) {
        let plane = geo.h * geo.w;
        let tw = geo.tiles_w();
        // e and o (tw + 1 each) and the row transform h (4 x tw) of each of the 4 rows
        let mut eo = vec![T::zero(); 2 * (tw + 1)];
        let mut ext = vec![T::zero(); 2 * (tw + 1)];
        let mut hb = vec![T::zero(); 16 * tw];
        for_tile_runs(geo, t0, n, |k, s, ty, tx0, len| {
            let src = &x[(s * geo.c + c) * plane..][..plane];
            for r in 0..4 {
                let iy = (2 * ty + r) as isize - geo.top;
                let h = &mut hb[4 * r * tw..4 * (r + 1) * tw];
                if iy < 0 || iy >= geo.h as isize {
                    // the four parts of h sit `tw` apart: a run shorter than a tile row
                    // must clear each of them, not the first 4·len values
                    h.fill(T::zero());
                    continue;
                }
                let row = &src[iy as usize * geo.w..][..geo.w];
                let (e, o) = eo.split_at_mut(tw + 1);
                let col0 = 2 * tx0 as isize - geo.left;
                // the run's 2·(len + 1) input columns, zero where they fall in the
                // padding: the in-range part is one copy, so a run that touches the
                // border (every run of a padded layer) still takes the fast loop
                let width = 2 * (len + 1);
                let cols = &mut ext[..width];
                let lo = (-col0).clamp(0, width as isize) as usize;
                let hi = (geo.w as isize - col0).clamp(lo as isize, width as isize) as usize;
                cols[..lo].fill(T::zero());
                if hi > lo {
                    let start = (col0 + lo as isize) as usize;
                    cols[lo..hi].copy_from_slice(&row[start..start + (hi - lo)]);
                }
                cols[hi..].fill(T::zero());
                for ((e, o), pair) in e[..=len].iter_mut().zip(o[..=len].iter_mut()).zip(cols.chunks_exact(2)) {
                    *e = pair[0];
                    *o = pair[1];
                }
                let (h0, rest) = h.split_at_mut(tw);
                let (h1, rest) = rest.split_at_mut(tw);
                let (h2, h3) = rest.split_at_mut(tw);
                // exact-length slices: no bounds checks, so the loop vectorises
                let (e0, e1, o0, o1) = (&e[..len], &e[1..=len], &o[..len], &o[1..=len]);
                let (h0, h1, h2, h3) = (&mut h0[..len], &mut h1[..len], &mut h2[..len], &mut h3[..len]);
                for j in 0..len {
                    h0[j] = e0[j] - e1[j];
                    h1[j] = o0[j] + e1[j];
                    h2[j] = e1[j] - o0[j];
                    h3[j] = o0[j] - o1[j];
                }
            }
            // down the rows: v[4a + b] from h[r][b]
            for b in 0..4 {
                let row = |r: usize| &hb[(4 * r + b) * tw..][..len];
                let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3));
                let at = |a: usize| (4 * a + b) * n + k;
                let put = |v: &mut [T], a: usize, x: &[T], y: &[T], f: fn(T, T) -> T| {
                    for ((d, &p), &q) in v[at(a)..at(a) + len].iter_mut().zip(x).zip(y) {
                        *d = f(p, q);
                    }
                };
                put(v, 0, d0, d2, |p, q| p - q);
                put(v, 1, d1, d2, |p, q| p + q);
                put(v, 2, d2, d1, |p, q| p - q);
                put(v, 3, d1, d3, |p, q| p - q);
            }
        });
    }
}

crate::multiversion! {
    /// Output transform of tiles `t0..t0+n` for output channel `o` (`mo` is `[16][n]`),
    /// plus the bias, written into `y` (`rows` samples `[m, ho, wo]`). Contiguous loops
    /// over runs of tiles, as in [`transform_channel`].
    ///
    /// # Safety
    /// `y` must point to the whole output, and no other thread may write the elements of
    /// output channel `o` of these tiles.
    unsafe fn untransform_channel<T: Scalar>(geo: &Wino, mo: &[T], o: usize, t0: usize, n: usize, bias: T, y: SharedMut<T>) {
        let plane = geo.ho * geo.wo;
        let tw = geo.tiles_w();
        let mut sb = vec![T::zero(); 8 * tw];
        let mut out = vec![T::zero(); 4 * tw];
        for_tile_runs(geo, t0, n, |k, s, ty, tx0, len| {
            let m = |xi: usize| &mo[xi * n + k..][..len];
            // Aᵀ down the rows: s0[q] = m[q] + m[4+q] + m[8+q], s1[q] = m[4+q] − m[8+q] − m[12+q]
            for q in 0..4 {
                let (m0, m1, m2, m3) = (m(q), m(4 + q), m(8 + q), m(12 + q));
                let (s0, s1) = sb[2 * q * tw..2 * (q + 1) * tw].split_at_mut(tw);
                let (s0, s1) = (&mut s0[..len], &mut s1[..len]);
                for j in 0..len {
                    s0[j] = m0[j] + m1[j] + m2[j];
                    s1[j] = m1[j] - m2[j] - m3[j];
                }
            }
            // A along the row, plus the bias: out[a][b] per tile
            for a in 0..2 {
                let sq = |q: usize| &sb[(2 * q + a) * tw..][..len];
                let (q0, q1, q2, q3) = (sq(0), sq(1), sq(2), sq(3));
                let (y0, y1) = out[2 * a * tw..2 * (a + 1) * tw].split_at_mut(tw);
                let (y0, y1) = (&mut y0[..len], &mut y1[..len]);
                for j in 0..len {
                    y0[j] = q0[j] + q1[j] + q2[j] + bias;
                    y1[j] = q1[j] - q2[j] - q3[j] + bias;
                }
            }
            let base = (s * geo.m + o) * plane;
            for a in 0..2 {
                let oy = 2 * ty + a;
                if oy >= geo.ho {
                    continue;
                }
                let row = std::slice::from_raw_parts_mut(y.0.add(base + oy * geo.wo), geo.wo);
                let (y0, y1) = (&out[2 * a * tw..][..len], &out[(2 * a + 1) * tw..][..len]);
                let seg = &mut row[2 * tx0..(2 * (tx0 + len)).min(geo.wo)];
                if seg.len() == 2 * len {
                    // interleave the two output columns of each tile
                    for (pair, (&p, &q)) in seg.chunks_exact_mut(2).zip(y0.iter().zip(y1)) {
                        pair[0] = p;
                        pair[1] = q;
                    }
                } else {
                    // the last tile of an odd-width row has one column
                    for (j, d) in seg.iter_mut().enumerate() {
                        *d = if j % 2 == 0 { y0[j / 2] } else { y1[j / 2] };
                    }
                }
            }
        });
    }
}

/// One chunk of tiles `t0..t0+n`: input transform into `v` (`[c][16][n]`), the 16
/// products into `mm` (`[m][16][n]`), output transform into `y`. With `par`, each
/// step is spread over the pool (a chunk that is the whole layer); otherwise the
/// chunk runs on the calling thread (one task of a parallel loop over chunks).
#[allow(clippy::too_many_arguments)]
fn chunk<T: Scalar>(
    geo: &Wino,
    x: &[T],
    ker: &Kernel<T>,
    bias: Option<&[T]>,
    (t0, n): (usize, usize),
    v: &mut [T],
    mm: &mut [T],
    y: SharedMut<T>,
    par: bool,
) {
    let (c, m) = (geo.c, geo.m);
    let v = &mut v[..c * 16 * n];
    let mm = &mut mm[..m * 16 * n];
    if par {
        v.par_chunks_mut(16 * n).enumerate().for_each(|(ci, vc)| transform_channel(geo, x, ci, t0, n, vc));
    } else {
        v.chunks_mut(16 * n).enumerate().for_each(|(ci, vc)| transform_channel(geo, x, ci, t0, n, vc));
    }
    let mp = SharedMut(mm.as_mut_ptr());
    let v = &*v;
    let product = |xi: usize| {
        let mp = mp;
        let vx = ArrayView2::from_shape((c, n).strides((16 * n, 1)), &v[xi * n..]).expect("V shape");
        // SAFETY: entry ξ of every output channel: rows o·16n + ξ·n .. + n, disjoint
        // across ξ, inside `mm`.
        let mut mx = unsafe { ArrayViewMut2::from_shape_ptr((m, n).strides((16 * n, 1)), mp.0.add(xi * n)) };
        gemm_into_with(&mut mx, &ker.u(xi), &vx, false, Par::Seq);
    };
    if par {
        (0..16).into_par_iter().for_each(product);
    } else {
        (0..16).for_each(product);
    }
    let mm = &*mm;
    let untransform = |o: usize| {
        let b = bias.map_or(T::zero(), |b| b[o]);
        // SAFETY: output channel o of these tiles is written by this call only.
        unsafe { untransform_channel(geo, &mm[o * 16 * n..][..16 * n], o, t0, n, b, y) }
    };
    if par {
        (0..m).into_par_iter().for_each(untransform);
    } else {
        (0..m).for_each(untransform);
    }
}

/// The convolution of `rows` samples `x` (`[c, h, w]` each, flat) with the transformed
/// kernel, plus `bias` (`[m]`): `rows` samples `[m, ho, wo]`, flat.
pub(crate) fn conv<T: Scalar>(geo: &Wino, x: &[T], rows: usize, ker: &Kernel<T>, bias: Option<&[T]>) -> Vec<T> {
    debug_assert_eq!((ker.m, ker.c), (geo.m, geo.c));
    debug_assert_eq!(x.len(), rows * geo.c * geo.h * geo.w);
    let (c, m) = (geo.c, geo.m);
    let mut y = vec![T::zero(); rows * m * geo.ho * geo.wo];
    let total = rows * geo.tiles();
    if total == 0 {
        return y;
    }
    let nt = rayon::current_num_threads();
    let parallel = nt > 1 && 16 * m * c * total >= PARALLEL_WORK;
    let target = (CHUNK_BYTES / (16 * (c + m) * std::mem::size_of::<T>())).clamp(MIN_TILES, MAX_TILES);
    let mut chunks = total.div_ceil(target);
    if parallel && total >= nt * MIN_TILES {
        // every thread gets whole chunks of its own
        chunks = chunks.max(nt).next_multiple_of(nt);
    }
    let per = total.div_ceil(chunks);
    let ranges: Vec<(usize, usize)> = (0..total).step_by(per).map(|t0| (t0, per.min(total - t0))).collect();
    let yp = SharedMut(y.as_mut_ptr());
    if parallel && ranges.len() >= nt {
        let scratch = Scratch::<T>::new();
        ranges.par_iter().for_each(|&r| {
            let mut bufs = scratch.get();
            let (v, mm) = &mut *bufs;
            grow(v, c * 16 * r.1);
            grow(mm, m * 16 * r.1);
            chunk(geo, x, ker, bias, r, v, mm, yp, false);
        });
    } else {
        let (mut v, mut mm) = (Vec::new(), Vec::new());
        for &r in &ranges {
            grow(&mut v, c * 16 * r.1);
            grow(&mut mm, m * 16 * r.1);
            chunk(geo, x, ker, bias, r, &mut v, &mut mm, yp, parallel);
        }
    }
    y
}

fn grow<T: Scalar>(buf: &mut Vec<T>, n: usize) {
    if buf.len() < n {
        buf.resize(n, T::zero());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The defining sum, with zero padding.
    fn direct(geo: &Wino, x: &[f64], rows: usize, w: &[f64], bias: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; rows * geo.m * geo.ho * geo.wo];
        for s in 0..rows {
            for o in 0..geo.m {
                for oy in 0..geo.ho {
                    for ox in 0..geo.wo {
                        let mut acc = bias[o];
                        for c in 0..geo.c {
                            for i in 0..3 {
                                for j in 0..3 {
                                    let (iy, ix) =
                                        (oy as isize - geo.top + i as isize, ox as isize - geo.left + j as isize);
                                    if iy >= 0 && ix >= 0 && (iy as usize) < geo.h && (ix as usize) < geo.w {
                                        acc += w[(o * geo.c + c) * 9 + i * 3 + j]
                                            * x[((s * geo.c + c) * geo.h + iy as usize) * geo.w + ix as usize];
                                    }
                                }
                            }
                        }
                        y[((s * geo.m + o) * geo.ho + oy) * geo.wo + ox] = acc;
                    }
                }
            }
        }
        y
    }

    /// Odd and even sizes, paddings 0–2 (the gradient's `2 − p`), one and several
    /// chunks, on one and two threads.
    #[test]
    fn matches_the_direct_sum() {
        let mut rng = Rng::new(3);
        let pool2 = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for (c, m, h, w, top, left, bottom, right, rows) in [
            (1, 1, 4, 4, 0, 0, 0, 0, 1),
            (2, 3, 5, 7, 1, 1, 1, 1, 2),
            (3, 2, 6, 3, 2, 0, 1, 2, 1),
            (4, 5, 9, 8, 1, 2, 0, 1, 3),
            (16, 24, 40, 33, 1, 1, 1, 1, 2),
            (64, 48, 7, 7, 1, 1, 1, 1, 1),
        ] {
            let (ho, wo) = (h + top + bottom - 2, w + left + right - 2);
            let geo = Wino { c, h, w, m, ho, wo, top: top as isize, left: left as isize };
            let x: Vec<f64> = (0..rows * c * h * w).map(|_| rng.normal()).collect();
            let wt: Vec<f64> = (0..m * c * 9).map(|_| rng.normal()).collect();
            let bias: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
            let wv = ArrayView2::from_shape((m, c * 9), &wt).unwrap();
            let want = direct(&geo, &x, rows, &wt, &bias);
            let ker = Kernel::forward(&wv, c);
            let one = conv(&geo, &x, rows, &ker, Some(&bias));
            let two = pool2.install(|| conv(&geo, &x, rows, &Kernel::forward(&wv, c), Some(&bias)));
            // chunks that start and end inside tile rows (the layer's own chunking
            // only does so for some batch sizes)
            let mut split = vec![0.0; want.len()];
            let (mut v, mut mm) = (vec![0.0; c * 16 * 5], vec![0.0; m * 16 * 5]);
            let total = rows * geo.tiles();
            for t0 in (0..total).step_by(5) {
                let n = 5.min(total - t0);
                chunk(&geo, &x, &ker, Some(&bias), (t0, n), &mut v, &mut mm, SharedMut(split.as_mut_ptr()), false);
            }
            for (got, what) in [(&one, "one thread"), (&two, "two threads"), (&split, "odd chunks")] {
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{what} c{c} m{m} {h}x{w}: {a} vs {b}");
                }
            }
            // every instruction set's version of the transforms (and products)
            for isa in crate::isa::available() {
                let got = crate::isa::with_cap(isa, || pool2.install(|| conv(&geo, &x, rows, &ker, Some(&bias))));
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{isa:?} c{c} m{m} {h}x{w}: {a} vs {b}");
                }
            }
        }
    }
}
