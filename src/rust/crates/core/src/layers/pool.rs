//! Max and average pooling (1D and 2D), without padding, dilation or ceil mode.
//!
//! Average: `y[.., oy, ox] = (1/(kh·kw)) Σ_{i<kh, j<kw} x[.., oy·sh + i, ox·sw + j]`;
//! max: the largest entry of the same window.
//!
//! Shapes: input `[B, C, L]` (1D) or `[B, C, H, W]` (2D), output `[B, C, Lo]` /
//! `[B, C, Ho, Wo]` with `Ho = ⌊(H − kh)/sh⌋ + 1`. Strides default to the kernel size.
//! 1D pooling runs as 2D pooling with `H = kh = 1`.
//!
//! VJP: average pooling spreads `g / (kh·kw)` over each window (overlapping windows
//! accumulate); max pooling routes `g` to the argmax of each window of the traced input
//! (the first maximum in row-major window order on ties, so the result is
//! deterministic).
//!
//! The free functions ([`avg_pool`], [`avg_pool_vjp`], [`max_pool`], [`max_pool_argmax`],
//! [`max_pool_vjp`]) take the spatial kernel and strides and treat all leading axes as
//! independent planes, so they also serve signals with an extra leading axis.

use super::dense::modify_weight;
use super::{expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMod};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, Shape};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;
use std::borrow::Cow;

/// Below this many input elements, planes are processed on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

/// Max or average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// A pooling layer.
pub struct Pool {
    kind: PoolKind,
    kernel: Vec<usize>,
    strides: Vec<usize>,
}

/// Pooling geometry of one plane (1D as `h = kh = sh = 1`) and the number of spatial
/// axes `d` it came from.
#[derive(Debug, Clone, Copy)]
struct Plane {
    d: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ho: usize,
    wo: usize,
}

impl Plane {
    /// Geometry for the spatial extent `spatial` (1 or 2 axes, as many as `kernel`).
    fn new(spatial: &[usize], kernel: &[usize], strides: &[usize]) -> Result<Plane> {
        let d = kernel.len();
        if !(1..=2).contains(&d)
            || strides.len() != d
            || spatial.len() != d
            || kernel.contains(&0)
            || strides.contains(&0)
        {
            return Err(Error::Internal(format!(
                "pooling: kernel {kernel:?} and strides {strides:?} do not fit spatial shape {spatial:?}"
            )));
        }
        let two = |v: &[usize]| if d == 1 { [1, v[0]] } else { [v[0], v[1]] };
        let ([h, w], [kh, kw], [sh, sw]) = (two(spatial), two(kernel), two(strides));
        // ⌊(n − k)/s⌋ + 1 when the window fits
        let out = |n: usize, k: usize, s: usize| (n >= k).then(|| (n - k) / s + 1);
        match (out(h, kh, sh), out(w, kw, sw)) {
            (Some(ho), Some(wo)) => Ok(Plane { d, h, w, kh, kw, sh, sw, ho, wo }),
            _ => Err(Error::Spec(format!(
                "input of spatial shape {spatial:?} is smaller than the pooling kernel {kernel:?}"
            ))),
        }
    }
    fn n_in(&self) -> usize {
        self.h * self.w
    }
    fn n_out(&self) -> usize {
        self.ho * self.wo
    }
    /// `lead` followed by the output's spatial axes.
    fn out_shape(&self, lead: &[usize]) -> Vec<usize> {
        [lead, &[self.ho, self.wo][2 - self.d..]].concat()
    }
    /// Flat index in the plane of the window's top-left element for output `o`.
    fn corner(&self, o: usize) -> usize {
        (o / self.wo) * self.sh * self.w + (o % self.wo) * self.sw
    }
}

/// Run `f(plane index, output plane)` over all planes of `out` (`len` each), in
/// parallel when `work` is large.
fn for_planes<U: Send>(out: &mut [U], len: usize, work: usize, f: impl Fn(usize, &mut [U]) + Sync + Send) {
    if len == 0 {
    } else if work >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(len).enumerate().for_each(|(i, o)| crate::isa::dispatch(|| f(i, o)));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(i, o)| crate::isa::dispatch(|| f(i, o)));
    }
}

/// Leading shape (all but the last `d` axes) and standard-layout data of `x`.
fn split<'a, 'b: 'a, T: Scalar>(x: &'a ArrayViewD<'b, T>, d: usize) -> Result<(Vec<usize>, Cow<'a, [T]>)> {
    if x.ndim() < d {
        return Err(Error::Internal(format!("pooling: rank {} below {d} spatial axes", x.ndim())));
    }
    let data = x.as_slice().map(Cow::Borrowed).unwrap_or_else(|| Cow::Owned(x.iter().cloned().collect()));
    Ok((x.shape()[..x.ndim() - d].to_vec(), data))
}

/// [`split`] plus the geometry of `x`'s own spatial axes.
fn prepare<'a, 'b: 'a, T: Scalar>(
    x: &'a ArrayViewD<'b, T>,
    kernel: &[usize],
    strides: &[usize],
) -> Result<(Vec<usize>, Cow<'a, [T]>, Plane)> {
    let (lead, data) = split(x, kernel.len())?;
    Ok((lead, data, Plane::new(&x.shape()[x.ndim() - kernel.len()..], kernel, strides)?))
}

/// Average pooling over the last `kernel.len()` axes of `x` (any leading axes).
pub fn avg_pool<T: Scalar>(x: &ArrayViewD<T>, kernel: &[usize], strides: &[usize]) -> Result<ArrayD<T>> {
    let (lead, xs, p) = prepare(x, kernel, strides)?;
    let scale = T::one() / T::of((p.kh * p.kw) as f64);
    let mut out = vec![T::zero(); lead.iter().product::<usize>() * p.n_out()];
    for_planes(&mut out, p.n_out(), xs.len(), |q, o| {
        let src = &xs[q * p.n_in()..][..p.n_in()];
        for (e, y) in o.iter_mut().enumerate() {
            let c = p.corner(e);
            *y = (0..p.kh).map(|i| src[c + i * p.w..][..p.kw].iter().copied().sum::<T>()).sum::<T>() * scale;
        }
    });
    Ok(ArrayD::from_shape_vec(IxDyn(&p.out_shape(&lead)), out).expect("pool output shape"))
}

/// VJP of [`avg_pool`] for an input of spatial shape `in_spatial`: `g`
/// `[lead..., out spatial]` → `[lead..., in_spatial]`.
pub fn avg_pool_vjp<T: Scalar>(
    g: &ArrayViewD<T>,
    in_spatial: &[usize],
    kernel: &[usize],
    strides: &[usize],
) -> Result<ArrayD<T>> {
    let (lead, gs) = split(g, kernel.len())?;
    let p = Plane::new(in_spatial, kernel, strides)?;
    if g.shape() != p.out_shape(&lead) {
        return Err(Error::Internal(format!("avg_pool_vjp: signal {:?} does not fit input {in_spatial:?}", g.shape())));
    }
    let scale = T::one() / T::of((p.kh * p.kw) as f64);
    let mut gx = vec![T::zero(); lead.iter().product::<usize>() * p.n_in()];
    for_planes(&mut gx, p.n_in(), gs.len(), |q, dst| {
        for (e, &v) in gs[q * p.n_out()..][..p.n_out()].iter().enumerate() {
            let (c, v) = (p.corner(e), v * scale);
            (0..p.kh).for_each(|i| dst[c + i * p.w..][..p.kw].iter_mut().for_each(|d| *d += v));
        }
    });
    Ok(ArrayD::from_shape_vec(IxDyn(&[&lead[..], in_spatial].concat()), gx).expect("vjp shape"))
}

/// Index within its plane of each window's first maximum, `[planes, out]`.
///
/// Per output row, the window offsets `(i, j)` are the outer loop and the output
/// columns the inner one, with the running maxima in a buffer: the inner loop is a
/// compare-and-select over independent lanes that the compiler vectorises, where a
/// loop per window would chase its own running index. Offsets go in row-major
/// window order with a strict comparison, so ties keep the first maximum (and a NaN
/// at the corner stays, as in a plain scan).
fn argmax<T: Scalar>(xs: &[T], planes: usize, p: &Plane) -> Vec<usize> {
    let mut idx = vec![0usize; planes * p.n_out()];
    for_planes(&mut idx, p.n_out(), xs.len(), |q, o| argmax_plane(&xs[q * p.n_in()..][..p.n_in()], p, o));
    idx
}

crate::multiversion! {
    /// [`argmax`] of one plane `src` into `o` (`[ho·wo]`). Each input row under an
    /// output row is first split into its `sw` stride phases (`phase[r][t] =
    /// row[t·sw + r]`), so that tap `j` of every window in the row is the contiguous
    /// run `phase[j % sw][j / sw..]`; the running maximum and the tap that gave it are
    /// kept per output column.
    fn argmax_plane<T: Scalar>(src: &[T], p: &Plane, o: &mut [usize]) {
        let (w, wo, sw) = (p.w, p.wo, p.sw);
        let plen = w.div_ceil(sw);
        let mut phases = vec![T::zero(); sw * plen];
        let mut best = vec![T::zero(); wo];
        let mut tap = vec![0u32; wo];
        // offset of tap k = i·kw + j from the window's corner
        let offset: Vec<usize> = (0..p.kh * p.kw).map(|k| (k / p.kw) * w + k % p.kw).collect();
        for (oy, at) in o.chunks_mut(wo).enumerate() {
            let top = oy * p.sh * w;
            for i in 0..p.kh {
                let row = &src[top + i * w..][..w];
                for (r, phase) in phases.chunks_mut(plen).enumerate() {
                    phase.iter_mut().zip(row[r.min(w)..].iter().step_by(sw)).for_each(|(d, &v)| *d = v);
                }
                for j in 0..p.kw {
                    let k = (i * p.kw + j) as u32;
                    let run = &phases[(j % sw) * plen + j / sw..][..wo];
                    if k == 0 {
                        best.copy_from_slice(run);
                        tap.fill(0);
                        continue;
                    }
                    for ((b, t), &v) in best.iter_mut().zip(tap.iter_mut()).zip(run) {
                        let take = v > *b;
                        *b = if take { v } else { *b };
                        *t = if take { k } else { *t };
                    }
                }
            }
            for (ox, (a, &k)) in at.iter_mut().zip(tap.iter()).enumerate() {
                *a = top + ox * sw + offset[k as usize];
            }
        }
    }
}

/// For each output element of max pooling `x` (`[lead..., spatial]`), the flat index
/// of the selected input element within its plane; layout `[lead..., out spatial]`.
pub fn max_pool_argmax<T: Scalar>(x: &ArrayViewD<T>, kernel: &[usize], strides: &[usize]) -> Result<Vec<usize>> {
    let (lead, xs, p) = prepare(x, kernel, strides)?;
    Ok(argmax(&xs, lead.iter().product(), &p))
}

/// Max pooling over the last `kernel.len()` axes of `x` (any leading axes).
pub fn max_pool<T: Scalar>(x: &ArrayViewD<T>, kernel: &[usize], strides: &[usize]) -> Result<ArrayD<T>> {
    let (lead, xs, p) = prepare(x, kernel, strides)?;
    let idx = argmax(&xs, lead.iter().product(), &p);
    let out = idx.iter().enumerate().map(|(e, &i)| xs[(e / p.n_out()) * p.n_in() + i]).collect();
    Ok(ArrayD::from_shape_vec(IxDyn(&p.out_shape(&lead)), out).expect("pool output shape"))
}

/// Route a signal through max pooling of the traced input `x` (`[lead..., spatial]`):
/// `g` `[extra..., lead..., out spatial]` → `[extra..., lead..., spatial]`, each entry
/// added to its window's argmax in `x`.
pub fn max_pool_vjp<T: Scalar>(
    x: &ArrayViewD<T>,
    g: &ArrayViewD<T>,
    kernel: &[usize],
    strides: &[usize],
) -> Result<ArrayD<T>> {
    let (lead, xs, p) = prepare(x, kernel, strides)?;
    let n_extra = g.ndim().saturating_sub(x.ndim());
    if g.ndim() < x.ndim() || g.shape()[n_extra..] != p.out_shape(&lead)[..] {
        return Err(Error::Internal(format!(
            "max_pool_vjp: signal {:?} does not fit input {:?}",
            g.shape(),
            x.shape()
        )));
    }
    let planes_x: usize = lead.iter().product();
    let idx = argmax(&xs, planes_x, &p);
    let (_, gs) = split(g, kernel.len())?;
    let mut gx = vec![T::zero(); gs.len() / p.n_out().max(1) * p.n_in()];
    for_planes(&mut gx, p.n_in(), gs.len(), |q, dst| {
        let at = &idx[(q % planes_x) * p.n_out()..][..p.n_out()];
        gs[q * p.n_out()..][..p.n_out()].iter().zip(at).for_each(|(&v, &i)| dst[i] += v);
    });
    Ok(ArrayD::from_shape_vec(IxDyn(&[&g.shape()[..n_extra], x.shape()].concat()), gx).expect("vjp shape"))
}

impl Pool {
    /// `dims` = 1 (`kernel_size` of length 1) or 2 (length 2, or 1 broadcast to both
    /// axes); `strides` of the same form, default = `kernel_size`.
    pub fn new(kind: PoolKind, dims: usize, kernel_size: &[usize], strides: Option<&[usize]>) -> Result<Self> {
        let read = |name: &str, v: &[usize]| -> Result<Vec<usize>> {
            let v = match (dims, v) {
                (1, [a]) => vec![*a],
                (2, [a]) => vec![*a, *a],
                (2, [a, b]) => vec![*a, *b],
                (1 | 2, _) => {
                    let want = if dims == 1 { "1" } else { "1 or 2" };
                    return Err(Error::Spec(format!(
                        "pooling `{name}` must have length {want} for {dims}D pooling, got {}",
                        v.len()
                    )));
                }
                _ => return Err(Error::Spec(format!("pooling must be 1D or 2D, got {dims} dimensions"))),
            };
            if v.contains(&0) {
                return Err(Error::Spec(format!("pooling `{name}` must be at least 1, got {v:?}")));
            }
            Ok(v)
        };
        let kernel = read("kernel_size", kernel_size)?;
        let strides = match strides {
            Some(s) => read("strides", s)?,
            None => kernel.clone(),
        };
        Ok(Pool { kind, kernel, strides })
    }

    /// The spatial kernel size (one entry per spatial axis).
    pub fn kernel(&self) -> &[usize] {
        &self.kernel
    }
    /// The spatial strides.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
    /// Max or average.
    pub fn pool_kind(&self) -> PoolKind {
        self.kind
    }
}

impl<T: Scalar> Layer<T> for Pool {
    fn kind(&self) -> LayerKind {
        match (self.kind, self.kernel.len()) {
            (PoolKind::Max, 1) => LayerKind::MaxPool1D,
            (PoolKind::Max, _) => LayerKind::MaxPool2D,
            (PoolKind::Avg, 1) => LayerKind::AvgPool1D,
            (PoolKind::Avg, _) => LayerKind::AvgPool2D,
        }
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let (shape, d) = (&inputs[0], self.kernel.len());
        if shape.len() != d + 1 {
            let what = if d == 1 { "(C, L)" } else { "(C, H, W)" };
            return Err(Error::Spec(format!("{d}D pooling needs an input of shape {what}, got {}", fmt_shape(shape))));
        }
        let p = Plane::new(&shape[1..], &self.kernel, &self.strides).map_err(|_| {
            Error::Spec(format!("input {} is smaller than the pooling kernel {:?}", fmt_shape(shape), self.kernel))
        })?;
        Ok(p.out_shape(&shape[..1]))
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        expect_inputs(inputs.len(), 1)?;
        <Self as Layer<T>>::output_shape(self, &[inputs[0].shape()[1..].to_vec()])?;
        match self.kind {
            PoolKind::Avg => avg_pool(&inputs[0], &self.kernel, &self.strides),
            PoolKind::Max => max_pool(&inputs[0], &self.kernel, &self.strides),
        }
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let x = &inputs[0];
        Ok(vec![match self.kind {
            PoolKind::Avg => {
                avg_pool_vjp(grad, &x.shape()[x.ndim() - self.kernel.len()..], &self.kernel, &self.strides)?
            }
            PoolKind::Max => max_pool_vjp(x, grad, &self.kernel, &self.strides)?,
        }])
    }

    fn pool_window(&self) -> Option<(&[usize], &[usize])> {
        Some((&self.kernel, &self.strides))
    }

    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        (self.kind == PoolKind::Avg).then_some(self as &dyn Linear<T>)
    }
}

/// Average pooling as a linear map: every window weight is `1/k` (`k` = kernel area)
/// and there is no bias, so a weight modifier scales the whole map by
/// `modify(1/k) · k` (Positive, `GammaNegative`: 1; Negative: 0; `Gamma(γ)`: 1 + γ;
/// Square: 1/k; Ones: k, i.e. sum pooling). Bias modifiers have nothing to act on.
fn avg_factor<T: Scalar>(kernel: &[usize], w: WeightMod) -> Option<T> {
    let unit = T::one() / T::of(kernel.iter().product::<usize>() as f64);
    let m = modify_weight(&unit, w);
    (m != unit).then(|| m / unit)
}

fn avg_forward_mod<T: Scalar>(
    x: &ArrayViewD<T>,
    kernel: &[usize],
    strides: &[usize],
    w: WeightMod,
) -> Result<ArrayD<T>> {
    let mut y = avg_pool(x, kernel, strides)?;
    if let Some(f) = avg_factor::<T>(kernel, w) {
        y.mapv_inplace(|v| v * f);
    }
    Ok(y)
}

fn avg_vjp_mod<T: Scalar>(
    g: &ArrayViewD<T>,
    in_shape: &[usize],
    kernel: &[usize],
    strides: &[usize],
    w: WeightMod,
) -> Result<ArrayD<T>> {
    let spatial = in_shape.get(1..).filter(|s| s.len() == kernel.len()).ok_or_else(|| {
        Error::Internal(format!("average pooling: input shape {in_shape:?} does not fit kernel {kernel:?}"))
    })?;
    let mut gx = avg_pool_vjp(g, spatial, kernel, strides)?;
    if let Some(f) = avg_factor::<T>(kernel, w) {
        gx.mapv_inplace(|v| v * f);
    }
    Ok(gx)
}

/// The `Linear` capability of an average pooling layer (its input is `[N, C, spatial...]`).
impl<T: Scalar> Linear<T> for Pool {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, _b: BiasMod) -> Result<ArrayD<T>> {
        avg_forward_mod(x, &self.kernel, &self.strides, w)
    }

    fn vjp_mod(&self, g: &ArrayViewD<T>, in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        avg_vjp_mod(g, in_shape, &self.kernel, &self.strides, w)
    }
}

/// Average pooling over given windows as a stand-alone linear map: what innsight's LRP
/// uses in place of a max pooling layer when `winner_takes_all = FALSE`.
pub struct AvgPoolMap {
    kernel: Vec<usize>,
    strides: Vec<usize>,
}

impl AvgPoolMap {
    /// The map for spatial `kernel` and `strides` (as from [`Layer::pool_window`]).
    pub fn new(kernel: &[usize], strides: &[usize]) -> Self {
        AvgPoolMap { kernel: kernel.to_vec(), strides: strides.to_vec() }
    }
}

impl<T: Scalar> Linear<T> for AvgPoolMap {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, _b: BiasMod) -> Result<ArrayD<T>> {
        avg_forward_mod(x, &self.kernel, &self.strides, w)
    }

    fn vjp_mod(&self, g: &ArrayViewD<T>, in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        avg_vjp_mod(g, in_shape, &self.kernel, &self.strides, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_linear, check_vjp, randn};
    use crate::rng::Rng;

    /// Defining formula on `[B, C, H, W]`.
    fn naive(x: &ArrayD<f64>, kind: PoolKind, k: [usize; 2], s: [usize; 2]) -> ArrayD<f64> {
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let sh = [x.shape()[0], x.shape()[1], (h - k[0]) / s[0] + 1, (w - k[1]) / s[1] + 1];
        ArrayD::from_shape_fn(IxDyn(&sh), |ix| {
            let vals: Vec<f64> =
                (0..k[0] * k[1]).map(|t| x[[ix[0], ix[1], ix[2] * s[0] + t / k[1], ix[3] * s[1] + t % k[1]]]).collect();
            match kind {
                PoolKind::Max => vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                PoolKind::Avg => vals.iter().sum::<f64>() / vals.len() as f64,
            }
        })
    }

    #[test]
    fn forward_matches_naive_reference() {
        let mut rng = Rng::new(21);
        let pick = |rng: &mut Rng, lo: usize, hi: usize| lo + (rng.uniform() * (hi - lo + 1) as f64) as usize;
        for t in 0..40 {
            let one_d = t % 2 == 1;
            let kind = if t % 4 < 2 { PoolKind::Max } else { PoolKind::Avg };
            let k = [if one_d { 1 } else { pick(&mut rng, 1, 3) }, pick(&mut rng, 1, 3)];
            let s = [if one_d { 1 } else { pick(&mut rng, 1, 3) }, pick(&mut rng, 1, 3)];
            let (h, w) = (if one_d { 1 } else { pick(&mut rng, k[0], 7) }, pick(&mut rng, k[1], 8));
            let x = randn(&[2, 3, h, w], &mut rng);
            let want = naive(&x, kind, k, s);
            let (layer, xin) = if one_d {
                (
                    Pool::new(kind, 1, &k[1..], Some(&s[1..])).unwrap(),
                    x.clone().into_shape_with_order(IxDyn(&[2, 3, w])).unwrap(),
                )
            } else {
                (Pool::new(kind, 2, &k, Some(&s)).unwrap(), x.clone())
            };
            let y = Layer::<f64>::forward(&layer, &[xin.view()]).unwrap();
            let out = Layer::<f64>::output_shape(&layer, &[xin.shape()[1..].to_vec()]).unwrap();
            assert_eq!(y.shape()[1..], out[..]);
            assert!(y.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() < 1e-12), "{kind:?} k{k:?} s{s:?} {h}x{w}");
        }
        // f32 spot check, default strides, length-1 kernel broadcast in 2D
        let x = randn(&[1, 2, 6, 4], &mut rng);
        let layer = Pool::new(PoolKind::Avg, 2, &[2], None).unwrap();
        let y = Layer::<f32>::forward(&layer, &[x.mapv(|v| v as f32).view()]).unwrap();
        let want = naive(&x, PoolKind::Avg, [2, 2], [2, 2]);
        assert!(y.iter().zip(want.iter()).all(|(a, b)| (*a as f64 - b).abs() < 1e-5));
    }

    #[test]
    fn vjp_matches_finite_differences() {
        // overlapping windows (stride < kernel) accumulate; a stride beyond the kernel
        // leaves inputs that no window reads at zero
        for kind in [PoolKind::Avg, PoolKind::Max] {
            let l2 = Pool::new(kind, 2, &[3, 2], Some(&[2, 1])).unwrap();
            assert_eq!(Layer::<f64>::output_shape(&l2, &[vec![2, 7, 5]]).unwrap(), vec![2, 3, 4]);
            check_vjp(&l2, &[vec![2, 7, 5]], 2, 2, 31);
            check_vjp(&Pool::new(kind, 2, &[2, 2], Some(&[3, 3])).unwrap(), &[vec![1, 7, 8]], 2, 1, 32);
            check_vjp(&Pool::new(kind, 1, &[3], Some(&[2])).unwrap(), &[vec![3, 9]], 2, 2, 33);
        }
    }

    /// The vectorised argmax equals a plain scan of each window (first maximum in
    /// row-major window order), with many ties, NaNs and overlapping windows.
    #[test]
    fn argmax_matches_a_plain_window_scan() {
        for &(h, w, kh, kw, sh, sw) in
            &[(7, 9, 3, 3, 2, 2), (6, 6, 2, 2, 2, 2), (1, 11, 1, 3, 1, 2), (5, 8, 2, 3, 1, 3)]
        {
            let planes = 3;
            let xs: Vec<f64> =
                (0..planes * h * w).map(|t| if t % 17 == 5 { f64::NAN } else { ((t * 7919) % 5) as f64 }).collect();
            let p = Plane::new(&[h, w], &[kh, kw], &[sh, sw]).unwrap();
            let got = argmax(&xs, planes, &p);
            for q in 0..planes {
                let src = &xs[q * h * w..][..h * w];
                for o in 0..p.n_out() {
                    let c = p.corner(o);
                    let mut at = c;
                    for i in 0..kh {
                        for j in 0..kw {
                            if src[c + i * w + j] > src[at] {
                                at = c + i * w + j;
                            }
                        }
                    }
                    assert_eq!(got[q * p.n_out() + o], at, "plane {q} output {o} of {h}x{w} k{kh}x{kw} s{sh}x{sw}");
                }
            }
        }
    }

    #[test]
    fn max_routes_ties_to_the_first_maximum_and_kinds_are_named() {
        let x = ArrayD::from_elem(IxDyn(&[1, 1, 4, 4]), 1.0);
        let layer = Pool::new(PoolKind::Max, 2, &[2, 2], None).unwrap();
        let g = ArrayD::from_elem(IxDyn(&[1, 1, 1, 2, 2]), 1.0);
        let gx = Layer::<f64>::vjp(&layer, &[x.view()], &x.view(), &g.view()).unwrap().remove(0);
        let hit: Vec<usize> = gx.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, _)| i).collect();
        assert_eq!(hit, vec![0, 2, 8, 10]);
        assert_eq!(max_pool_argmax(&x.view(), &[2, 2], &[2, 2]).unwrap(), vec![0, 2, 8, 10]);
        let kinds = [
            (PoolKind::Max, 1, LayerKind::MaxPool1D),
            (PoolKind::Max, 2, LayerKind::MaxPool2D),
            (PoolKind::Avg, 1, LayerKind::AvgPool1D),
            (PoolKind::Avg, 2, LayerKind::AvgPool2D),
        ];
        for (kind, dims, lk) in kinds {
            assert_eq!(Layer::<f64>::kind(&Pool::new(kind, dims, &[2], None).unwrap()), lk);
        }
    }

    #[test]
    fn rejects_bad_arguments_and_inputs() {
        let err = |r: Result<Pool>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Pool::new(PoolKind::Max, 1, &[2, 2], None)).contains("`kernel_size`"));
        assert!(err(Pool::new(PoolKind::Max, 2, &[2, 2, 2], None)).contains("`kernel_size`"));
        assert!(err(Pool::new(PoolKind::Avg, 2, &[2, 0], None)).contains("at least 1"));
        assert!(err(Pool::new(PoolKind::Avg, 2, &[2, 2], Some(&[0]))).contains("`strides`"));
        assert!(err(Pool::new(PoolKind::Avg, 1, &[2], Some(&[1, 1]))).contains("`strides`"));
        assert!(Pool::new(PoolKind::Avg, 3, &[2], None).is_err());
        let l = Pool::new(PoolKind::Avg, 2, &[3, 2], None).unwrap();
        assert_eq!(l.kernel(), &[3, 2]);
        assert_eq!(l.strides(), &[3, 2]);
        assert!(Layer::<f64>::output_shape(&l, &[vec![2, 2, 5]]).unwrap_err().to_string().contains("smaller"));
        assert!(Layer::<f64>::output_shape(&l, &[vec![2, 5]]).is_err());
        let x = randn(&[1, 2, 8], &mut Rng::new(1));
        assert!(Layer::<f64>::forward(&l, &[x.view()]).is_err());
    }

    /// Average pooling's Linear capability (overlapping windows, a tail no window reads)
    /// against forward/VJP and the probed matrix form; max pooling has none, and the
    /// stand-alone map over its windows equals the average pooling layer.
    #[test]
    fn average_pooling_is_linear_and_max_pooling_is_not() {
        let a2 = Pool::new(PoolKind::Avg, 2, &[3, 2], Some(&[2, 1])).unwrap();
        check_linear(&a2, &[2, 6, 4], 51);
        check_linear(&Pool::new(PoolKind::Avg, 1, &[2], Some(&[3])).unwrap(), &[2, 8], 52);
        let m2 = Pool::new(PoolKind::Max, 2, &[3, 2], Some(&[2, 1])).unwrap();
        assert!(Layer::<f64>::as_linear(&m2).is_none());
        let (k, s) = Layer::<f64>::pool_window(&m2).unwrap();
        let map = AvgPoolMap::new(k, s);
        let mut rng = Rng::new(53);
        let x = randn(&[2, 2, 6, 4], &mut rng);
        let g = randn(&[3, 2, 2, 2, 3], &mut rng);
        for w in [WeightMod::Identity, WeightMod::Negative, WeightMod::Square, WeightMod::Ones] {
            let want = Linear::<f64>::forward_mod(&a2, &x.view(), w, BiasMod::Keep).unwrap();
            assert_eq!(Linear::<f64>::forward_mod(&map, &x.view(), w, BiasMod::Keep).unwrap(), want);
            let want = Linear::<f64>::vjp_mod(&a2, &g.view(), &[2, 6, 4], w).unwrap();
            assert_eq!(Linear::<f64>::vjp_mod(&map, &g.view(), &[2, 6, 4], w).unwrap(), want);
        }
    }
}
