//! Convolution layers (Conv1D, Conv2D): zero padding followed by a valid convolution:
//!
//! `y[b, o, oy, ox] = bias[o] + Σ_{c,i,j} W[o, c, i, j] · xpad[b, c, oy·sh + i·dh, ox·sw + j·dw]`.
//!
//! Shapes: weight `[C_out, C_in, kh, kw]` (Conv1D: `[C_out, C_in, k]`), bias `[C_out]`,
//! input `[B, C_in, H, W]` (Conv1D: `[B, C_in, L]`), output `[B, C_out, Ho, Wo]` with
//! `Ho = ⌊(H + top + bottom − dh·(kh−1) − 1) / sh⌋ + 1` (likewise `Wo`). Conv1D runs as
//! Conv2D with `H = kh = 1`.
//!
//! Padding follows innsight's list format: Conv1D `padding` = `p` (both sides) or
//! `(left, right)`; Conv2D `padding` = `p` (all sides), `(a, b)` (left = right = a,
//! top = bottom = b) or `(left, right, top, bottom)`. `stride`/`dilation` are one value
//! or `(h, w)`.
//!
//! Forward is im2col + GEMM (`y_b = W · cols_b`); the VJP is `dcols = Wᵀ · g` followed
//! by col2im, on the upper signal with `S` and `B` merged. The chunked drivers (column
//! buffer ≤ 256 MB, parallelism only inside the GEMM and im2col/col2im, a plain GEMM
//! for 1×1 kernels with stride 1 and no padding) live in [`super::im2col`]; this file
//! holds the layer: argument checks, shapes and the innsight padding conventions.

use super::dense::{modify_bias, modify_weight, scale_rows};
use super::im2col::{conv_forward, conv_vjp, default_budget, Geom};
use super::winograd::{self, Wino};
use super::{expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMatrix, WeightMod, WeightTensor};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, merge_leading, reshape, Shape};
use ndarray::{Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, CowArray, Ix2, IxDyn};
use std::sync::OnceLock;

/// A convolution layer (1D or 2D).
pub struct Conv<T: Scalar> {
    kind: LayerKind,
    /// `[C_out, C_in·kh·kw]`: each row is one filter in im2col row order `(c, i, j)`.
    weight: WeightMatrix<T>,
    bias: Array1<T>,
    c_in: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// `(left, right, top, bottom)`.
    padding: [usize; 4],
    /// `W⁺` and `W⁻`, made on first use: the LRP rules alpha-beta, z⁺ and gamma and
    /// DeepLift's RevealCancel use them at every call, and a convolution's weights are
    /// small next to its activations (VGG19: 80 MB per variant, ResNet50: 94 MB).
    w_pos: OnceLock<Array2<T>>,
    w_neg: OnceLock<Array2<T>>,
}

fn positive(name: &str, v: Vec<usize>) -> Result<Vec<usize>> {
    if v.contains(&0) {
        return Err(Error::Spec(format!("`{name}` must be at least 1, got {v:?}")));
    }
    Ok(v)
}

impl<T: Scalar> Conv<T> {
    /// Conv1D from a `[C_out, C_in, k]` weight.
    pub fn new_1d(
        weight: impl Into<WeightTensor<T>>,
        bias: Option<ArrayD<f64>>,
        stride: Option<&[usize]>,
        dilation: Option<&[usize]>,
        padding: Option<&[usize]>,
    ) -> Result<Self> {
        let weight = weight.into();
        if weight.shape.len() != 3 {
            return Err(Error::Spec(format!(
                "Conv1D `weight` must have 3 dimensions (C_out, C_in, k), got {}",
                weight.shape.len()
            )));
        }
        let one = |name: &str, v: Option<&[usize]>| match v {
            None => Ok(1),
            Some([x]) => positive(name, vec![*x]).map(|v| v[0]),
            Some(xs) => Err(Error::Spec(format!("Conv1D `{name}` must have length 1, got {}", xs.len()))),
        };
        let (st, di) = (one("stride", stride)?, one("dilation", dilation)?);
        let (left, right) = match padding {
            None => (0, 0),
            Some([p]) => (*p, *p),
            Some([l, r]) => (*l, *r),
            Some(xs) => return Err(Error::Spec(format!("Conv1D `padding` must have length 1 or 2, got {}", xs.len()))),
        };
        let sh = weight.shape.clone();
        // a 1D kernel is a 2D kernel of height 1: same matrix, shape [C_out, C_in, 1, k]
        let w4 = WeightTensor { shape: vec![sh[0], sh[1], 1, sh[2]], matrix: weight.matrix };
        Self::build(LayerKind::Conv1D, w4, bias, [1, st], [1, di], [left, right, 0, 0])
    }

    /// Conv2D from a `[C_out, C_in, kh, kw]` weight.
    pub fn new_2d(
        weight: impl Into<WeightTensor<T>>,
        bias: Option<ArrayD<f64>>,
        stride: Option<&[usize]>,
        dilation: Option<&[usize]>,
        padding: Option<&[usize]>,
    ) -> Result<Self> {
        let weight = weight.into();
        if weight.shape.len() != 4 {
            return Err(Error::Spec(format!(
                "Conv2D `weight` must have 4 dimensions (C_out, C_in, kh, kw), got {}",
                weight.shape.len()
            )));
        }
        let st = positive("stride", super::per_axis("stride", stride, 2, 1)?)?;
        let di = positive("dilation", super::per_axis("dilation", dilation, 2, 1)?)?;
        let pad = match padding {
            None => [0; 4],
            Some([p]) => [*p; 4],
            Some([a, b]) => [*a, *a, *b, *b],
            Some([l, r, t, b]) => [*l, *r, *t, *b],
            Some(xs) => {
                return Err(Error::Spec(format!("Conv2D `padding` must have length 1, 2 or 4, got {}", xs.len())))
            }
        };
        Self::build(LayerKind::Conv2D, weight, bias, [st[0], st[1]], [di[0], di[1]], pad)
    }

    fn build(
        kind: LayerKind,
        w4: WeightTensor<T>,
        bias: Option<ArrayD<f64>>,
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: [usize; 4],
    ) -> Result<Self> {
        let sh = w4.shape.clone();
        if sh.contains(&0) {
            return Err(Error::Spec(format!("`weight` must not have empty dimensions, got shape {sh:?}")));
        }
        let (c_out, c_in) = (sh[0], sh[1]);
        let bias = match bias {
            None => Array1::zeros(c_out),
            Some(b) if b.len() == c_out => Array1::from_iter(b.iter().map(|&v| T::of(v))),
            Some(b) => {
                return Err(Error::Spec(format!(
                    "`bias` must have length {c_out} (the number of output channels of `weight`), got {}",
                    b.len()
                )))
            }
        };
        // [C_out, C_in, kh, kw] row-major is already the [C_out, C_in·kh·kw] matrix
        let weight = w4.matrix;
        Ok(Conv {
            kind,
            weight,
            bias,
            c_in,
            kernel: [sh[2], sh[3]],
            stride,
            dilation,
            padding,
            w_pos: OnceLock::new(),
            w_neg: OnceLock::new(),
        })
    }

    /// The `[C_out, C_in·kh·kw]` weight matrix (rows in `(c, i, j)` order).
    pub fn weight(&self) -> ArrayView2<'_, T> {
        self.weight.view()
    }
    /// The `[C_out]` bias.
    pub fn bias(&self) -> &Array1<T> {
        &self.bias
    }

    fn is_1d(&self) -> bool {
        self.kind == LayerKind::Conv1D
    }

    /// Geometry for an input shape without batch axis (`[C, L]` or `[C, H, W]`).
    fn geom(&self, shape: &[usize]) -> Result<Geom> {
        let (rank, what) = if self.is_1d() { (2, "(C, L)") } else { (3, "(C, H, W)") };
        if shape.len() != rank {
            return Err(Error::Spec(format!(
                "a {} layer needs an input of shape {what}, got {}",
                self.kind.class_key(),
                fmt_shape(shape)
            )));
        }
        if shape[0] != self.c_in {
            return Err(Error::Spec(format!(
                "input {} has {} channel(s) but `weight` expects {} (channels first)",
                fmt_shape(shape),
                shape[0],
                self.c_in
            )));
        }
        let (h, w) = if self.is_1d() { (1, shape[1]) } else { (shape[1], shape[2]) };
        let [left, right, top, bottom] = self.padding;
        let out = |n: usize, k: usize, s: usize, d: usize| {
            let span = d * (k - 1) + 1;
            (n >= span).then(|| (n - span) / s + 1)
        };
        let (ho, wo) = match (
            out(h + top + bottom, self.kernel[0], self.stride[0], self.dilation[0]),
            out(w + left + right, self.kernel[1], self.stride[1], self.dilation[1]),
        ) {
            (Some(ho), Some(wo)) => (ho, wo),
            _ => {
                return Err(Error::Spec(format!(
                    "input {} is too small for the kernel {:?} with dilation {:?} and padding {:?}",
                    fmt_shape(shape),
                    if self.is_1d() { &self.kernel[1..] } else { &self.kernel[..] },
                    self.dilation,
                    self.padding
                )))
            }
        };
        let [kh, kw] = self.kernel;
        let ([sh, sw], [dh, dw]) = (self.stride, self.dilation);
        Ok(Geom { c: self.c_in, h, w, kh, kw, sh, sw, dh, dw, top, left, ho, wo })
    }

    /// The Winograd geometry of a 3×3 layer with stride and dilation 1 (see
    /// [`winograd`]): of its forward pass, or (`gradient`) of its input gradient, the
    /// full correlation of the output signal with the rotated kernel, padded by
    /// `2 − p` on each side.
    fn winograd(&self, g: &Geom, rows: usize, gradient: bool) -> Option<Wino> {
        let c_out = self.weight.nrows();
        let tiles = rows * g.ho.div_ceil(2) * g.wo.div_ceil(2);
        if (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw) != (3, 3, 1, 1, 1, 1)
            || g.c.min(c_out) < winograd::MIN_CHANNELS
            || tiles < winograd::MIN_TOTAL_TILES
        {
            return None;
        }
        let (top, left) = (g.top as isize, g.left as isize);
        Some(if gradient {
            Wino { c: c_out, h: g.ho, w: g.wo, m: g.c, ho: g.h, wo: g.w, top: 2 - top, left: 2 - left }
        } else {
            Wino { c: g.c, h: g.h, w: g.w, m: c_out, ho: g.ho, wo: g.wo, top, left }
        })
    }

    fn out_dims(&self, g: &Geom) -> Vec<usize> {
        if self.is_1d() {
            vec![self.weight.nrows(), g.wo]
        } else {
            vec![self.weight.nrows(), g.ho, g.wo]
        }
    }

    /// Forward pass with another weight matrix / bias of the layer's shapes (e.g. the
    /// positive part of the weights in LRP): `x` `[B, C_in, ...]` → `[B, C_out, ...]`.
    pub fn forward_with(
        &self,
        x: &ArrayViewD<T>,
        weight: &ArrayView2<T>,
        bias: Option<&ArrayView1<T>>,
    ) -> Result<ArrayD<T>> {
        self.forward_chunked(x, weight, bias, default_budget::<T>())
    }

    fn forward_chunked(
        &self,
        x: &ArrayViewD<T>,
        w: &ArrayView2<T>,
        bias: Option<&ArrayView1<T>>,
        budget: usize,
    ) -> Result<ArrayD<T>> {
        let g = self.geom(&x.shape()[1..])?;
        if w.dim() != self.weight.dim() {
            return Err(Error::Internal(format!("conv weight {:?}, expected {:?}", w.dim(), self.weight.dim())));
        }
        let xs = x.as_standard_layout();
        let xsl = xs.as_slice().ok_or_else(|| Error::Internal("conv: input layout".into()))?;
        let shape = [&[x.shape()[0]][..], &self.out_dims(&g)].concat();
        if let Some(geo) = self.winograd(&g, x.shape()[0], false) {
            let b = bias.map(|b| b.to_vec());
            let y = winograd::conv(&geo, xsl, x.shape()[0], &winograd::Kernel::forward(w, g.c), b.as_deref());
            return ArrayD::from_shape_vec(IxDyn(&shape), y).map_err(|e| Error::Internal(e.to_string()));
        }
        let y = conv_forward(&g, xsl, x.shape()[0], w, bias, budget);
        reshape(y.into_dyn(), &shape)
    }

    /// Input gradient with another weight matrix: `g` `[N, C_out, out...]` (any number
    /// of merged leading rows) → `[N, C_in, in...]` for an input of shape `in_shape`
    /// (without batch axis).
    pub fn vjp_with(&self, g: &ArrayViewD<T>, in_shape: &[usize], weight: &ArrayView2<T>) -> Result<ArrayD<T>> {
        self.vjp_chunked(g, in_shape, weight, default_budget::<T>())
    }

    fn vjp_chunked(
        &self,
        grad: &ArrayViewD<T>,
        in_shape: &[usize],
        w: &ArrayView2<T>,
        budget: usize,
    ) -> Result<ArrayD<T>> {
        let g = self.geom(in_shape)?;
        if w.dim() != self.weight.dim() {
            return Err(Error::Internal(format!("conv weight {:?}, expected {:?}", w.dim(), self.weight.dim())));
        }
        let rows = grad.shape()[0];
        if grad.shape()[1..] != self.out_dims(&g)[..] {
            return Err(Error::Internal(format!(
                "conv vjp: signal {:?} does not fit output {:?}",
                grad.shape(),
                self.out_dims(&g)
            )));
        }
        let gs = grad.as_standard_layout();
        if let Some(geo) = self.winograd(&g, rows, true) {
            let gsl = gs.as_slice().ok_or_else(|| Error::Internal("conv: signal layout".into()))?;
            let gx = winograd::conv(&geo, gsl, rows, &winograd::Kernel::transposed(w, g.c), None);
            return ArrayD::from_shape_vec(IxDyn(&[&[rows][..], in_shape].concat()), gx)
                .map_err(|e| Error::Internal(e.to_string()));
        }
        let g3 =
            gs.view().into_shape_with_order((rows, w.nrows(), g.p())).map_err(|e| Error::Internal(e.to_string()))?;
        let gx = conv_vjp(&g, &g3, w, budget);
        reshape(gx.into_dyn(), &[&[rows][..], in_shape].concat())
    }
}

impl<T: Scalar> Layer<T> for Conv<T> {
    fn kind(&self) -> LayerKind {
        self.kind
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        Ok(self.out_dims(&self.geom(&inputs[0])?))
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        expect_inputs(inputs.len(), 1)?;
        self.forward_with(&inputs[0], &self.weight.view(), Some(&self.bias.view()))
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let (sn, b) = (grad.shape()[0], grad.shape()[1]);
        let in_shape = &inputs[0].shape()[1..];
        let gs = grad.as_standard_layout();
        let gv = gs.view();
        let gi = self.vjp_with(&merge_leading(&gv, 2)?, in_shape, &self.weight.view())?;
        Ok(vec![reshape(gi, &[&[sn, b][..], in_shape].concat())?])
    }

    fn then_affine(&self, scale: &Array1<T>, shift: &Array1<T>) -> Option<Box<dyn Layer<T>>> {
        Some(Box::new(self.then_affine_conv(scale, shift)?))
    }

    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        Some(self)
    }
}

impl<T: Scalar> Conv<T> {
    /// This convolution followed by the per-output-channel map `scale · y + shift`.
    pub fn then_affine_conv(&self, scale: &Array1<T>, shift: &Array1<T>) -> Option<Conv<T>> {
        if scale.len() != self.bias.len() || shift.len() != self.bias.len() {
            return None;
        }
        let (weight, bias) = scale_rows(&self.weight.view(), &self.bias, scale, shift);
        Some(Conv {
            kind: self.kind,
            weight: WeightMatrix::owned(weight),
            bias,
            c_in: self.c_in,
            kernel: self.kernel,
            stride: self.stride,
            dilation: self.dilation,
            padding: self.padding,
            w_pos: OnceLock::new(),
            w_neg: OnceLock::new(),
        })
    }
}

impl<T: Scalar> Conv<T> {
    /// The weight matrix with a modifier applied (`Ones` keeps the kernel's shape, so
    /// padded positions still contribute nothing).
    fn weight_mod(&self, m: WeightMod) -> CowArray<'_, T, Ix2> {
        let modified = || self.weight.view().map(|w| modify_weight(w, m));
        match m {
            WeightMod::Identity => self.weight.view().into(),
            WeightMod::Positive => self.w_pos.get_or_init(modified).view().into(),
            WeightMod::Negative => self.w_neg.get_or_init(modified).view().into(),
            _ => modified().into(),
        }
    }
}

impl<T: Scalar> Linear<T> for Conv<T> {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>> {
        let bias = self.bias.map(|v| modify_bias(v, b));
        self.forward_with(x, &self.weight_mod(w).view(), Some(&bias.view()))
    }

    fn vjp_mod(&self, g: &ArrayViewD<T>, in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        let (sn, b) = (g.shape()[0], g.shape()[1]);
        let gs = g.as_standard_layout();
        let gv = gs.view();
        let gi = self.vjp_with(&merge_leading(&gv, 2)?, in_shape, &self.weight_mod(w).view())?;
        reshape(gi, &[&[sn, b][..], in_shape].concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_linear, check_vjp, randn};
    use crate::rng::Rng;
    use ndarray::IxDyn;

    fn pick(rng: &mut Rng, lo: usize, hi: usize) -> usize {
        lo + (rng.uniform() * (hi - lo + 1) as f64) as usize
    }

    /// Explicit zero padding, then the defining sum. `x` `[B, C, H, W]`, `w` `[O, C, kh, kw]`.
    fn naive(
        x: &ArrayD<f64>,
        w: &ArrayD<f64>,
        b: &ArrayD<f64>,
        st: [usize; 2],
        di: [usize; 2],
        pad: [usize; 4],
    ) -> ArrayD<f64> {
        let (bn, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
        let (o, kh, kw) = (w.shape()[0], w.shape()[2], w.shape()[3]);
        let (hp, wp) = (h + pad[2] + pad[3], wd + pad[0] + pad[1]);
        let xp = ArrayD::from_shape_fn(IxDyn(&[bn, c, hp, wp]), |ix| {
            let (y, x_) = (ix[2] as isize - pad[2] as isize, ix[3] as isize - pad[0] as isize);
            if y < 0 || x_ < 0 || y >= h as isize || x_ >= wd as isize {
                0.0
            } else {
                x[[ix[0], ix[1], y as usize, x_ as usize]]
            }
        });
        let ho = (hp - di[0] * (kh - 1) - 1) / st[0] + 1;
        let wo = (wp - di[1] * (kw - 1) - 1) / st[1] + 1;
        ArrayD::from_shape_fn(IxDyn(&[bn, o, ho, wo]), |ix| {
            let mut acc = b[[ix[1]]];
            for ci in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        acc += w[[ix[1], ci, i, j]]
                            * xp[[ix[0], ci, ix[2] * st[0] + i * di[0], ix[3] * st[1] + j * di[1]]];
                    }
                }
            }
            acc
        })
    }

    fn close(a: &ArrayD<f64>, b: &ArrayD<f64>, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    /// Random 2D and 1D configurations (strides 1–3, dilations 1–2, asymmetric padding)
    /// against the reference; each also runs with tiny column budgets so that every
    /// chunking path (grouped samples, single samples, position ranges) gives the same
    /// forward and VJP, and every fourth VJP is checked by finite differences.
    #[test]
    fn forward_matches_naive_reference_in_all_chunkings() {
        let mut rng = Rng::new(11);
        let mut tested = 0;
        while tested < 40 {
            let one_d = tested % 3 == 2;
            let (c, o, bn) = (pick(&mut rng, 1, 3), pick(&mut rng, 1, 4), pick(&mut rng, 1, 3));
            let (h, wd) = (if one_d { 1 } else { pick(&mut rng, 1, 8) }, pick(&mut rng, 1, 9));
            let (kh, kw) = (if one_d { 1 } else { pick(&mut rng, 1, 3) }, pick(&mut rng, 1, 3));
            let st = [if one_d { 1 } else { pick(&mut rng, 1, 3) }, pick(&mut rng, 1, 3)];
            let di = [if one_d { 1 } else { pick(&mut rng, 1, 2) }, pick(&mut rng, 1, 2)];
            let pad: [usize; 4] = std::array::from_fn(|i| if one_d && i >= 2 { 0 } else { pick(&mut rng, 0, 2) });
            let w = randn(&[o, c, kh, kw], &mut rng);
            let b = randn(&[o], &mut rng);
            let x = randn(&[bn, c, h, wd], &mut rng);
            let layer = if one_d {
                let w3 = w.clone().into_shape_with_order(IxDyn(&[o, c, kw])).unwrap();
                Conv::<f64>::new_1d(w3, Some(b.clone()), Some(&[st[1]]), Some(&[di[1]]), Some(&pad[..2])).unwrap()
            } else {
                Conv::<f64>::new_2d(w.clone(), Some(b.clone()), Some(&st), Some(&di), Some(&pad)).unwrap()
            };
            let in_shape: Vec<usize> = if one_d { vec![c, wd] } else { vec![c, h, wd] };
            if (h + pad[2] + pad[3]) < di[0] * (kh - 1) + 1 || (wd + pad[0] + pad[1]) < di[1] * (kw - 1) + 1 {
                assert!(layer.output_shape(&[in_shape]).is_err());
                continue;
            }
            tested += 1;
            let want = naive(&x, &w, &b, st, di, pad);
            let xin = reshape(x.clone(), &[&[bn][..], &in_shape].concat()).unwrap();
            let out_shape = layer.output_shape(std::slice::from_ref(&in_shape)).unwrap();
            let y = layer.forward(&[xin.view()]).unwrap();
            assert_eq!(y.shape(), &[&[bn][..], &out_shape].concat()[..]);
            let y4 = reshape(y.clone(), want.shape()).unwrap();
            assert!(close(&y4, &want, 1e-12), "config c{c} o{o} {h}x{wd} k{kh}x{kw} s{st:?} d{di:?} p{pad:?}");
            let k = c * kh * kw;
            let (wv, bv) = (layer.weight.view(), layer.bias.view());
            let gr = randn(&[&[2 * bn][..], &out_shape].concat(), &mut rng);
            let gx = layer.vjp_with(&gr.view(), &in_shape, &wv).unwrap();
            let per_sample = k * y.len() / (bn * o);
            for budget in [k, 2 * k + 1, per_sample, 2 * per_sample] {
                assert!(close(&layer.forward_chunked(&xin.view(), &wv, Some(&bv), budget).unwrap(), &y, 1e-12));
                assert!(close(&layer.vjp_chunked(&gr.view(), &in_shape, &wv, budget).unwrap(), &gx, 1e-12));
            }
            if tested % 4 == 0 {
                check_vjp(&layer, &[in_shape], bn, 2, tested as u64);
            }
        }
    }

    #[test]
    fn pointwise_and_f32_match_reference() {
        let mut rng = Rng::new(3);
        let (w, b) = (randn(&[5, 3, 1, 1], &mut rng), randn(&[5], &mut rng));
        let layer = Conv::<f64>::new_2d(w.clone(), Some(b.clone()), None, None, None).unwrap();
        let g = layer.geom(&[3, 4, 6]).unwrap();
        assert!(g.pointwise(1) && !g.pointwise(2) && layer.geom(&[3, 32, 32]).unwrap().pointwise(2));
        // direct GEMM (one sample; a large map), grouped im2col (small maps in a batch)
        for shape in [[1, 3, 4, 6], [2, 3, 32, 32], [3, 3, 2, 3]] {
            let x = randn(&shape, &mut rng);
            assert!(close(&layer.forward(&[x.view()]).unwrap(), &naive(&x, &w, &b, [1, 1], [1, 1], [0; 4]), 1e-12));
        }
        check_vjp(&layer, &[vec![3, 4, 6]], 1, 2, 4);
        check_vjp(&layer, &[vec![3, 2, 3]], 3, 2, 4);

        let x = randn(&[2, 3, 7, 6], &mut rng);
        let (w, b) = (randn(&[4, 3, 3, 2], &mut rng), randn(&[4], &mut rng));
        let layer =
            Conv::<f32>::new_2d(w.clone(), Some(b.clone()), Some(&[2, 1]), Some(&[1, 2]), Some(&[1, 0, 2, 1])).unwrap();
        let want = naive(&x, &w, &b, [2, 1], [1, 2], [1, 0, 2, 1]);
        let y = layer.forward(&[x.mapv(|v| v as f32).view()]).unwrap();
        assert!(close(&y.mapv(|v| v as f64), &want, 1e-5));
    }

    #[test]
    fn vjp_matches_finite_differences() {
        let mut rng = Rng::new(5);
        let c2 = Conv::<f64>::new_2d(
            randn(&[3, 2, 3, 2], &mut rng),
            Some(randn(&[3], &mut rng)),
            Some(&[2, 1]),
            Some(&[1, 2]),
            Some(&[2, 0, 1, 0]),
        )
        .unwrap();
        assert_eq!(Layer::<f64>::kind(&c2), LayerKind::Conv2D);
        check_vjp(&c2, &[vec![2, 5, 6]], 2, 2, 6);
        // stride larger than the kernel: some inputs are never read and get zero
        let c2s = Conv::<f64>::new_2d(randn(&[2, 2, 2, 2], &mut rng), None, Some(&[3]), None, Some(&[1])).unwrap();
        check_vjp(&c2s, &[vec![2, 6, 5]], 1, 2, 7);
        let c1 = Conv::<f64>::new_1d(randn(&[3, 2, 3], &mut rng), None, Some(&[2]), Some(&[2]), Some(&[3, 1])).unwrap();
        assert_eq!(Layer::<f64>::kind(&c1), LayerKind::Conv1D);
        assert_eq!(c1.output_shape(&[vec![2, 7]]).unwrap(), vec![3, 4]);
        check_vjp(&c1, &[vec![2, 7]], 3, 2, 8);
    }

    #[test]
    fn rejects_bad_arguments_and_inputs() {
        let mut rng = Rng::new(9);
        let w4 = randn(&[2, 3, 3, 3], &mut rng);
        let w3 = randn(&[2, 3, 3], &mut rng);
        let err = |r: Result<Conv<f64>>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Conv::new_2d(w3.clone(), None, None, None, None)).contains("4 dimensions"));
        assert!(err(Conv::new_1d(w4.clone(), None, None, None, None)).contains("3 dimensions"));
        assert!(err(Conv::new_2d(w4.clone(), Some(randn(&[3], &mut rng)), None, None, None)).contains("`bias`"));
        assert!(err(Conv::new_2d(w4.clone(), None, None, None, Some(&[1, 1, 1]))).contains("`padding`"));
        assert!(err(Conv::new_1d(w3.clone(), None, None, None, Some(&[1, 1, 1, 1]))).contains("`padding`"));
        assert!(err(Conv::new_2d(w4.clone(), None, Some(&[1, 2, 3]), None, None)).contains("`stride`"));
        assert!(err(Conv::new_2d(w4.clone(), None, Some(&[0]), None, None)).contains("`stride`"));
        assert!(err(Conv::new_1d(w3.clone(), None, None, Some(&[0]), None)).contains("`dilation`"));
        assert!(err(Conv::new_1d(w3.clone(), None, Some(&[1, 1]), None, None)).contains("`stride`"));
        let c = Conv::<f64>::new_2d(w4, None, None, Some(&[2]), None).unwrap();
        assert!(c.output_shape(&[vec![2, 8, 8]]).unwrap_err().to_string().contains("channel"));
        assert!(c.output_shape(&[vec![3, 4, 8]]).unwrap_err().to_string().contains("too small"));
        assert!(c.output_shape(&[vec![3, 8]]).is_err());
        assert_eq!(c.output_shape(&[vec![3, 5, 8]]).unwrap(), vec![2, 1, 4]);
        let c1 = Conv::<f64>::new_1d(w3, None, None, None, Some(&[1])).unwrap();
        assert!(c1.output_shape(&[vec![3, 4, 4]]).is_err());
        assert_eq!(c1.output_shape(&[vec![3, 1]]).unwrap(), vec![2, 1]);
    }

    /// The threaded drivers (chunks as tasks, GEMMs split by rows or columns, the VJP
    /// split by input channel, Winograd's chunks of tiles or its 16 products) give the
    /// one-thread result on layers large enough to take them: plain and strided
    /// kernels, 1×1 layers, grouped small maps, a single small map, a 3-channel input.
    #[test]
    fn threaded_paths_agree_with_one_thread() {
        let mut rng = Rng::new(21);
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        let (p1, p2, p3) = (pool(1), pool(2), pool(3));
        // (c_in, c_out, h, w, k, stride, pad, batch)
        let cases = [
            (8, 16, 40, 37, 3, 1, 1, 1),
            (3, 16, 64, 64, 3, 1, 1, 2),
            (32, 64, 32, 32, 1, 1, 0, 1),
            (32, 64, 32, 32, 1, 1, 0, 3),
            (32, 64, 40, 40, 1, 2, 0, 2),
            (32, 64, 7, 7, 3, 1, 1, 4),
            (64, 128, 7, 7, 3, 1, 1, 1),
            (16, 32, 30, 30, 3, 2, 1, 1),
            (16, 24, 40, 37, 3, 1, 1, 2),
        ];
        for (ci, co, h, wd, k, st, pad, bn) in cases {
            let (w, b) = (randn(&[co, ci, k, k], &mut rng), randn(&[co], &mut rng));
            let layer = Conv::<f64>::new_2d(w.clone(), Some(b.clone()), Some(&[st]), None, Some(&[pad])).unwrap();
            let x = randn(&[bn, ci, h, wd], &mut rng);
            let out = layer.output_shape(&[vec![ci, h, wd]]).unwrap();
            let gr = randn(&[&[2, bn][..], &out].concat(), &mut rng);
            let run = |pool: &rayon::ThreadPool| {
                pool.install(|| {
                    let y = layer.forward(&[x.view()]).unwrap();
                    let gx = layer.vjp(&[x.view()], &y.view(), &gr.view()).unwrap().remove(0);
                    (y, gx)
                })
            };
            let (y1, g1) = run(&p1);
            let want = naive(&x, &w, &b, [st, st], [1, 1], [pad; 4]);
            assert!(close(&reshape(y1.clone(), want.shape()).unwrap(), &want, 1e-12), "forward {ci}->{co} {h}x{wd} k{k}");
            for pool in [&p2, &p3] {
                let (y, gx) = run(pool);
                assert!(close(&y, &y1, 1e-12) && close(&gx, &g1, 1e-12), "threads {ci}->{co} {h}x{wd} k{k} s{st} b{bn}");
            }
        }
    }

    /// 3×3 stride-1 layers run through Winograd's F(2×2, 3×3); forward and input
    /// gradient agree with the im2col drivers for every padding (including paddings
    /// beyond 2, where the gradient's padding `2 − p` is negative).
    #[test]
    fn winograd_agrees_with_im2col() {
        let mut rng = Rng::new(31);
        for pad in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3], [3, 1, 0, 2]] {
            let (c, o, bn, h, wd) = (16, 17, 2, 19, 16);
            let layer =
                Conv::<f64>::new_2d(randn(&[o, c, 3, 3], &mut rng), Some(randn(&[o], &mut rng)), None, None, Some(&pad))
                    .unwrap();
            let g = layer.geom(&[c, h, wd]).unwrap();
            assert!(layer.winograd(&g, 2, false).is_some());
            let x = randn(&[bn, c, h, wd], &mut rng);
            let y = layer.forward(&[x.view()]).unwrap();
            let xs = x.as_slice().unwrap();
            let want = conv_forward(&g, xs, bn, &layer.weight.view(), Some(&layer.bias.view()), default_budget::<f64>());
            assert!(close(&y, &reshape(want.into_dyn(), y.shape()).unwrap(), 1e-12), "forward, padding {pad:?}");
            let gr = randn(&[&[3][..], &y.shape()[1..]].concat(), &mut rng);
            let gx = layer.vjp_with(&gr.view(), &[c, h, wd], &layer.weight.view()).unwrap();
            let g3 = gr.view().into_shape_with_order((3, o, g.p())).unwrap();
            let want = conv_vjp(&g, &g3, &layer.weight.view(), default_budget::<f64>());
            assert!(close(&gx, &reshape(want.into_dyn(), gx.shape()).unwrap(), 1e-12), "gradient, padding {pad:?}");
        }
    }

    /// Timing of typical VGG/ResNet layers (batch 1, f32, 2 threads, best of 5):
    /// `cargo test --release --lib layers::conv::tests::time_vgg_block -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn time_vgg_block() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let mut rng = Rng::new(1);
        // (C_in, C_out, H, k, stride, padding)
        let cases = [
            (64, 64, 224, 3, 1, 1),
            (3, 64, 224, 7, 2, 3),
            (256, 64, 56, 1, 1, 0),
            (64, 256, 56, 1, 1, 0),
            (512, 512, 14, 3, 1, 1),
            (128, 256, 56, 1, 2, 0),
        ];
        for (ci, co, h, k, st, pad) in cases {
            let layer =
                Conv::<f32>::new_2d(randn(&[co, ci, k, k], &mut rng), None, Some(&[st]), None, Some(&[pad])).unwrap();
            let x = randn(&[1, ci, h, h], &mut rng).mapv(|v| v as f32);
            let out = layer.output_shape(&[vec![ci, h, h]]).unwrap();
            let g = randn(&[&[1, 1][..], &out].concat(), &mut rng).mapv(|v| v as f32);
            let (mut fw, mut bw) = (f64::MAX, f64::MAX);
            pool.install(|| {
                for _ in 0..5 {
                    let t = std::time::Instant::now();
                    let y = layer.forward(&[x.view()]).unwrap();
                    let tf = t.elapsed().as_secs_f64();
                    let gx = layer.vjp(&[x.view()], &y.view(), &g.view()).unwrap();
                    assert_eq!(gx[0].shape(), &[1, 1, ci, h, h]);
                    (fw, bw) = (fw.min(tf), bw.min(t.elapsed().as_secs_f64() - tf));
                }
            });
            eprintln!(
                "1x{ci}x{h}x{h} -> {co} {k}x{k}/{st} pad {pad}: forward {:.2} ms, vjp {:.2} ms",
                fw * 1e3,
                bw * 1e3
            );
        }
    }

    /// The Linear capability against forward/VJP and the probed matrix form, including
    /// a strided layer whose last input row is never read (the VJP must zero-fill it).
    #[test]
    fn linear_capability_matches_forward_vjp_and_matrix_form() {
        let mut rng = Rng::new(41);
        let c2 = Conv::<f64>::new_2d(
            randn(&[3, 2, 3, 2], &mut rng),
            Some(randn(&[3], &mut rng)),
            Some(&[2, 1]),
            Some(&[1, 2]),
            Some(&[1, 0, 0, 0]),
        )
        .unwrap();
        assert_eq!(c2.output_shape(&[vec![2, 8, 5]]).unwrap(), vec![3, 3, 4]);
        check_linear(&c2, &[2, 8, 5], 1);
        let c1 = Conv::<f64>::new_1d(randn(&[2, 3, 3], &mut rng), Some(randn(&[2], &mut rng)), Some(&[2]), None, Some(&[1]))
            .unwrap();
        check_linear(&c1, &[3, 8], 2);
    }
}
