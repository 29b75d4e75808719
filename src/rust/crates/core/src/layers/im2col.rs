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

use crate::linalg::{gemm_into_with, Par};
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
/// Layers with fewer multiply-adds run on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 20;
/// Fewest columns a chunk is cut down to so that every thread gets one.
const MIN_TASK_COLS: usize = 256;

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
    #[inline(always)]
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
#[cfg(test)]
pub(crate) fn im2col<T: Scalar>(g: &Geom, x: &[T], n: usize, (p0, p1): (usize, usize), cols: &mut [T], ld: usize) {
    fill_cols(g, x, n, (p0, p1), cols, ld, true)
}

/// [`im2col`], on the calling thread unless `parallel`.
fn fill_cols<T: Scalar>(
    g: &Geom,
    x: &[T],
    n: usize,
    (p0, p1): (usize, usize),
    cols: &mut [T],
    ld: usize,
    parallel: bool,
) {
    let pc = p1 - p0;
    let width = n * pc;
    debug_assert!(ld >= width && cols.len() >= (g.k() - 1) * ld + width);
    debug_assert_eq!(x.len(), n * g.in_len());
    let one_row = |r: usize, row: &mut [T]| fill_row(g, x, n, (p0, p1), r, row);
    let cols = &mut cols[..g.k() * ld];
    // One task per row: rows are independent, and there are enough of them even for
    // 3-channel inputs (27 rows for a 3×3 kernel).
    if parallel && g.k() * width >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        cols.par_chunks_mut(ld).enumerate().for_each(|(r, row)| one_row(r, row));
    } else {
        cols.chunks_mut(ld).enumerate().for_each(|(r, row)| one_row(r, row));
    }
}

crate::multiversion! {
    /// Row `r` (channel `c`, kernel tap `(i, j)`) of [`im2col`] for `n` samples.
    fn fill_row<T: Scalar>(g: &Geom, x: &[T], n: usize, cols: (usize, usize), r: usize, row: &mut [T]) {
        let (p0, p1) = cols;
        let pc = p1 - p0;
        let plane = g.h * g.w;
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
    }
}

crate::multiversion! {
    /// Add the columns of sample `s` of a chunk for one input channel (rows `row0 ..
    /// row0 + kh·kw` of `cols`) into that channel's input plane `dst` (`H·W`).
    fn add_plane<T: Scalar>(g: &Geom, cols: &[T], row0: usize, s: usize, range: (usize, usize), ld: usize, dst: &mut [T]) {
        let (p0, p1) = range;
        let pc = p1 - p0;
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &cols[(row0 + i * g.kw + j) * ld + s * pc..][..pc];
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
    let add = |idx: usize, dst: &mut [T]| add_plane(g, cols, (idx % g.c) * kk, idx / g.c, (p0, p1), ld, dst);
    if g.k() * width >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        gx.par_chunks_mut(plane).enumerate().for_each(|(idx, dst)| add(idx, dst));
    } else {
        gx.chunks_mut(plane).enumerate().for_each(|(idx, dst)| add(idx, dst));
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

/// Split `rows` samples of `p` positions into chunks of at most [`TILE_COLS`] columns
/// (never more than `budget` column entries, `k` per column). With `tasks > 1` there
/// are at least `tasks` chunks (a multiple of it) whenever each still gets
/// [`MIN_TASK_COLS`] columns, so that every thread has whole chunks to itself. With
/// `group`, small samples share a chunk side by side; without, chunks never span
/// samples.
fn plan(rows: usize, k: usize, p: usize, budget: usize, tasks: usize, group: bool) -> Vec<Chunk> {
    let target = TILE_COLS.min(budget / k.max(1)).max(1);
    let total = rows * p;
    let mut n = total.div_ceil(target).max(1);
    if tasks > 1 && total >= tasks * MIN_TASK_COLS {
        n = n.max(tasks).next_multiple_of(tasks);
    }
    let width = total.div_ceil(n).max(1);
    if p <= width && group {
        let g = (width / p).clamp(1, rows.max(1));
        (0..rows).step_by(g).map(|r0| Chunk { r0, r1: (r0 + g).min(rows), p0: 0, p1: p }).collect()
    } else {
        // equal tiles rather than full ones plus a small remainder
        let pc = p.div_ceil(p.div_ceil(width.min(p)));
        (0..rows)
            .flat_map(|r| (0..p).step_by(pc.max(1)).map(move |p0| Chunk { r0: r, r1: r + 1, p0, p1: (p0 + pc).min(p) }))
            .collect()
    }
}

/// Whether `work` multiply-adds are worth splitting across threads.
fn parallel_work(work: usize) -> bool {
    rayon::current_num_threads() > 1 && work >= PARALLEL_FLOPS
}

/// A pointer to an output array that parallel tasks fill in disjoint parts.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);
// SAFETY: only used to hand disjoint regions of one array to rayon tasks (see the
// users); the array outlives the parallel loop.
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

/// Scratch buffers, one per rayon worker: a task takes the one of the thread it runs
/// on (tasks never call into rayon while holding it, so the lock is never contended).
pub(crate) struct Scratch<T>(Vec<std::sync::Mutex<(Vec<T>, Vec<T>)>>);

impl<T: Scalar> Scratch<T> {
    pub(crate) fn new() -> Self {
        Scratch(
            (0..rayon::current_num_threads().max(1)).map(|_| std::sync::Mutex::new((Vec::new(), Vec::new()))).collect(),
        )
    }
    pub(crate) fn get(&self) -> std::sync::MutexGuard<'_, (Vec<T>, Vec<T>)> {
        let i = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        self.0[i].lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `buf` grown (zero-filled) to at least `n` elements.
fn at_least<T: Scalar>(buf: &mut Vec<T>, n: usize) -> &mut [T] {
    if buf.len() < n {
        buf.resize(n, T::zero());
    }
    &mut buf[..n]
}

/// Forward: `x` (`rows` samples `[C, H, W]`, flat) → `[rows, C_out, P]` with
/// `y_b = bias + W · cols_b` (`w` is `[C_out, K]`).
///
/// Threads: when the product is large and there are at least as many chunks as
/// threads, each chunk is one task (its own im2col and a single-threaded GEMM into
/// its own part of `y`), so threads never wait on each other inside a layer; a layer
/// with fewer columns than that (a small map at batch 1) runs its one chunk with
/// the GEMM split across threads instead.
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
    let parallel = parallel_work(c_out * k * rows * p);
    let tasks = if parallel { rayon::current_num_threads() } else { 1 };
    let pointwise = g.pointwise(rows);
    let chunks = plan(rows, k, p, if pointwise { usize::MAX } else { budget }, tasks, !pointwise);
    let fill_bias = |yv: &mut ArrayViewMut2<T>| {
        if let Some(b) = bias {
            yv.axis_iter_mut(Axis(0)).zip(b.iter()).for_each(|(mut ch, &v)| ch.fill(v));
        }
    };
    let y_ptr = SharedMut(y.as_mut_ptr());
    let scratch = Scratch::<T>::new();
    let one = |ch: &Chunk, par: Par| {
        let Chunk { r0, r1, p0, p1 } = *ch;
        let (n, ld) = (ch.cols(), lead_dim::<T>(ch.cols()));
        let y_ptr = y_ptr;
        if r1 - r0 == 1 {
            // SAFETY: chunks cover disjoint (sample, position range) blocks of `y`,
            // whose [C_out, P] slab of sample r0 starts at r0·C_out·P.
            let mut yv =
                unsafe { ArrayViewMut2::from_shape_ptr((c_out, n).strides((p, 1)), y_ptr.0.add(r0 * c_out * p + p0)) };
            fill_bias(&mut yv);
            if pointwise {
                let xr = ArrayView2::from_shape((k, p), &x[r0 * len..][..len]).expect("pointwise shape");
                gemm_into_with(&mut yv, w, &xr.slice(s![.., p0..p1]), true, par);
                return;
            }
            let mut bufs = scratch.get();
            let cols = at_least(&mut bufs.0, k * ld);
            fill_cols(g, &x[r0 * len..r1 * len], 1, (p0, p1), cols, ld, par == Par::Auto);
            let cv = ArrayView2::from_shape((k, n).strides((ld, 1)), &cols[..]).expect("cols shape");
            gemm_into_with(&mut yv, w, &cv, true, par);
        } else {
            // Samples side by side in the columns: the product is [C_out, G, P] and is
            // written back in [G, C_out, P] order.
            let mut bufs = scratch.get();
            let (cols, tmp) = &mut *bufs;
            let cols = at_least(cols, k * ld);
            fill_cols(g, &x[r0 * len..r1 * len], r1 - r0, (p0, p1), cols, ld, par == Par::Auto);
            let cv = ArrayView2::from_shape((k, n).strides((ld, 1)), &cols[..]).expect("cols shape");
            let tmp = at_least(tmp, c_out * ld);
            let mut tv = ArrayViewMut2::from_shape((c_out, n).strides((ld, 1)), &mut tmp[..]).expect("tmp shape");
            gemm_into_with(&mut tv, w, &cv, false, par);
            let t3 = ArrayView3::from_shape((c_out, r1 - r0, p).strides((ld, p, 1)), &tmp[..]).expect("tmp shape");
            // SAFETY: samples r0..r1 belong to this chunk only.
            let mut ys = unsafe { ArrayViewMut3::from_shape_ptr((r1 - r0, c_out, p), y_ptr.0.add(r0 * c_out * p)) };
            ys.assign(&t3.permuted_axes([1, 0, 2]));
            for mut yv in ys.outer_iter_mut() {
                if let Some(b) = bias {
                    yv.axis_iter_mut(Axis(0)).zip(b.iter()).for_each(|(mut ch, &v)| ch += v);
                }
            }
        }
    };
    if tasks > 1 && chunks.len() >= tasks {
        chunks.par_iter().for_each(|ch| one(ch, Par::Seq));
    } else {
        chunks.iter().for_each(|ch| one(ch, if parallel { Par::Auto } else { Par::Seq }));
    }
    y
}

/// VJP: `grad` `[rows, C_out, P]` → `[rows, C, H·W]` with `gx_b = col2im(Wᵀ · g_b)`.
///
/// Threads: col2im of neighbouring chunks adds into the same input rows, so large
/// layers are split by input channel instead: each task takes a group of channels
/// (its rows of `Wᵀ`) through every chunk and adds into those channels' planes only.
/// 1×1 layers (no col2im) are split by columns like the forward pass.
pub(crate) fn conv_vjp<T: Scalar>(g: &Geom, grad: &ArrayView3<T>, w: &ArrayView2<T>, budget: usize) -> Array3<T> {
    let (rows, c_out, p, k, len) = (grad.shape()[0], w.nrows(), g.p(), g.k(), g.in_len());
    let wt = w.t();
    let mut gx = Array3::<T>::zeros((rows, g.c, g.h * g.w));
    let parallel = parallel_work(c_out * k * rows * p);
    let nt = if parallel { rayon::current_num_threads() } else { 1 };
    let gx_ptr = SharedMut(gx.as_mut_ptr());
    if g.pointwise(rows) {
        let chunks = plan(rows, k, p, usize::MAX, nt, false);
        let one = |ch: &Chunk, par: Par| {
            let gx_ptr = gx_ptr;
            // SAFETY: chunks cover disjoint (sample, position range) blocks of `gx`
            // (a 1×1 layer's input has the output's positions).
            let mut gv = unsafe {
                ArrayViewMut2::from_shape_ptr((g.c, ch.cols()).strides((p, 1)), gx_ptr.0.add(ch.r0 * len + ch.p0))
            };
            gemm_into_with(&mut gv, &wt, &grad.slice(s![ch.r0, .., ch.p0..ch.p1]), false, par);
        };
        if nt > 1 && chunks.len() >= nt {
            chunks.par_iter().for_each(|ch| one(ch, Par::Seq));
        } else {
            chunks.iter().for_each(|ch| one(ch, if parallel { Par::Auto } else { Par::Seq }));
        }
        return gx;
    }
    let chunks = plan(rows, k, p, budget, 1, true);
    let kk = g.kh * g.kw;
    // the chunk's signal as [C_out, n] (row stride ld), samples side by side
    let signal = |ch: &Chunk, tmp: &mut Vec<T>, ld: usize| {
        let Chunk { r0, r1, .. } = *ch;
        let tmp = at_least(tmp, c_out * ld);
        let mut t3 =
            ArrayViewMut3::from_shape((c_out, r1 - r0, p).strides((ld, p, 1)), &mut tmp[..]).expect("tmp shape");
        t3.assign(&grad.slice(s![r0..r1, .., ..]).permuted_axes([1, 0, 2]));
    };
    let groups = if nt > 1 { g.c.min(nt) } else { 1 };
    if groups > 1 {
        let scratch = Scratch::<T>::new();
        (0..groups).into_par_iter().for_each(|t| {
            let (c0, c1) = (t * g.c / groups, (t + 1) * g.c / groups);
            let wt_t = wt.slice(s![c0 * kk..c1 * kk, ..]);
            let mut bufs = scratch.get();
            let (dcols, tmp) = &mut *bufs;
            let gx_ptr = gx_ptr;
            for ch in &chunks {
                let Chunk { r0, r1, p0, p1 } = *ch;
                let (n, ld) = (ch.cols(), lead_dim::<T>(ch.cols()));
                let dc = at_least(dcols, (c1 - c0) * kk * ld);
                let mut dv =
                    ArrayViewMut2::from_shape(((c1 - c0) * kk, n).strides((ld, 1)), &mut dc[..]).expect("dcols");
                if r1 - r0 == 1 {
                    gemm_into_with(&mut dv, &wt_t, &grad.slice(s![r0, .., p0..p1]), false, Par::Seq);
                } else {
                    signal(ch, tmp, ld);
                    let tv = ArrayView2::from_shape((c_out, n).strides((ld, 1)), &tmp[..]).expect("tmp shape");
                    gemm_into_with(&mut dv, &wt_t, &tv, false, Par::Seq);
                }
                let plane = g.h * g.w;
                for s in 0..r1 - r0 {
                    for c in c0..c1 {
                        // SAFETY: this task alone writes the planes of channels c0..c1.
                        let dst = unsafe {
                            std::slice::from_raw_parts_mut(gx_ptr.0.add(((r0 + s) * g.c + c) * plane), plane)
                        };
                        add_plane(g, dc, (c - c0) * kk, s, (p0, p1), ld, dst);
                    }
                }
            }
        });
        return gx;
    }
    let (mut dcols, mut tmp) = (Vec::new(), Vec::new());
    let gxs = gx.as_slice_mut().expect("fresh array");
    let par = if parallel { Par::Auto } else { Par::Seq };
    for ch @ Chunk { r0, r1, p0, p1 } in chunks {
        let (n, ld) = (ch.cols(), lead_dim::<T>(ch.cols()));
        let dc = at_least(&mut dcols, k * ld);
        let mut dv = ArrayViewMut2::from_shape((k, n).strides((ld, 1)), &mut dc[..]).expect("dcols shape");
        if r1 - r0 == 1 {
            gemm_into_with(&mut dv, &wt, &grad.slice(s![r0, .., p0..p1]), false, par);
        } else {
            signal(&ch, &mut tmp, ld);
            let tv = ArrayView2::from_shape((c_out, n).strides((ld, 1)), &tmp[..]).expect("tmp shape");
            gemm_into_with(&mut dv, &wt, &tv, false, par);
        }
        col2im(g, dc, r1 - r0, (p0, p1), &mut gxs[r0 * len..r1 * len], ld);
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
