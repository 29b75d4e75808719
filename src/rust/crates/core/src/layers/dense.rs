//! Dense (fully connected) layer: `y = x Wᵀ + b`.
//!
//! Shapes: weight `[out, in]` (innsight/torch layout), bias `[out]`, input `[B, in]`,
//! output `[B, out]`. VJP: `g_in = g W` on the merged `[S·B, out]` signal.

use super::{expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMatrix, WeightMod, WeightTensor};
use crate::error::{Error, Result};
use crate::linalg::{gemm_into, gemm_into_with, matmul, Par};
use crate::scalar::Scalar;
use crate::tensor::{merge_leading, reshape, Shape};
use ndarray::{s, Array1, Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Ix2, ShapeBuilder};
use rayon::prelude::*;

/// A dense layer.
pub struct Dense<T: Scalar> {
    weight: WeightMatrix<T>,
    bias: Array1<T>,
}

impl<T: Scalar> Dense<T> {
    /// Build from a `[out, in]` weight and an optional `[out]` bias (zeros if absent).
    pub fn new(weight: impl Into<WeightTensor<T>>, bias: Option<ArrayD<f64>>) -> Result<Self> {
        let WeightTensor { shape, matrix: weight } = weight.into();
        if shape.len() != 2 {
            return Err(Error::Spec(format!("`weight` must be a matrix (out, in), got {} dimension(s)", shape.len())));
        }
        let out = weight.nrows();
        let bias = match bias {
            None => Array1::zeros(out),
            Some(b) => {
                if b.len() != out {
                    return Err(Error::Spec(format!(
                        "`bias` must have length {out} (the number of rows of `weight`), got {}",
                        b.len()
                    )));
                }
                Array1::from_iter(b.iter().map(|&v| T::of(v)))
            }
        };
        Ok(Dense { weight, bias })
    }

    /// The `[out, in]` weight matrix.
    pub fn weight(&self) -> ArrayView2<'_, T> {
        self.weight.view()
    }

    /// The `[out]` bias.
    pub fn bias(&self) -> &Array1<T> {
        &self.bias
    }
}

/// Apply a weight modification elementwise.
pub fn modify_weight<T: Scalar>(w: &T, m: WeightMod) -> T {
    match m {
        WeightMod::Identity => *w,
        WeightMod::Positive => w.max(T::zero()),
        WeightMod::Negative => w.min(T::zero()),
        WeightMod::Gamma(g) => *w + T::of(g) * w.max(T::zero()),
        WeightMod::GammaNegative(g) => *w + T::of(g) * w.min(T::zero()),
        WeightMod::Square => *w * *w,
        WeightMod::Ones => T::one(),
    }
}

/// `W·diag(scale)` row-wise and `b·scale + shift`: an affine layer followed by a
/// per-output affine map, as one layer.
pub fn scale_rows<T: Scalar>(w: &ArrayView2<T>, b: &Array1<T>, scale: &Array1<T>, shift: &Array1<T>) -> (Array2<T>, Array1<T>) {
    let mut w = w.to_owned();
    for (mut row, &s) in w.outer_iter_mut().zip(scale.iter()) {
        row *= s;
    }
    let b = Array1::from_iter(b.iter().zip(scale.iter().zip(shift.iter())).map(|(&b, (&s, &t))| b * s + t));
    (w, b)
}

/// Apply a bias modification elementwise.
pub fn modify_bias<T: Scalar>(b: &T, m: BiasMod) -> T {
    match m {
        BiasMod::Keep => *b,
        BiasMod::Zero => T::zero(),
        BiasMod::Positive => b.max(T::zero()),
        BiasMod::Negative => b.min(T::zero()),
        BiasMod::Gamma(g) => *b + T::of(g) * b.max(T::zero()),
        BiasMod::GammaNegative(g) => *b + T::of(g) * b.min(T::zero()),
        BiasMod::Square => *b * *b,
    }
}

/// Bytes of modified weights materialised per block (per thread) when a rule
/// substitutes the weights: a few MB, so a block is still in cache when the product
/// reads it, and the full modified matrix (400 MB for VGG's first dense layer) is
/// never held.
const MOD_BLOCK_BYTES: usize = 2 << 20;

impl<T: Scalar> Dense<T> {
    /// Rows (or columns) of `W` per block of modified weights, for blocks of `len`
    /// elements per row (column).
    fn block(len: usize) -> usize {
        (MOD_BLOCK_BYTES / (std::mem::size_of::<T>() * len.max(1))).max(8)
    }
}

impl<T: Scalar> Linear<T> for Dense<T> {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>> {
        let x = x.view().into_dimensionality::<Ix2>().map_err(|e| Error::Internal(e.to_string()))?;
        // A column-major `y` (for more than one row), so that `gemm` keeps the
        // product as it is and packs the (small) input rather than `W`: for a
        // row-major output it would compute `yᵀ = W xᵀ` with `W` as its left operand
        // and pack that row-major matrix element by element (VGG's first dense layer
        // is 411 MB: a fifth of the forward pass at batch 4 went there).
        let bias = |(_, j): (usize, usize)| modify_bias(&self.bias[j], b);
        let mut y = if x.nrows() > 1 {
            Array2::from_shape_fn((x.nrows(), self.bias.len()).f(), bias)
        } else {
            Array2::from_shape_fn((x.nrows(), self.bias.len()), bias)
        };
        if w == WeightMod::Identity {
            gemm_into(&mut y.view_mut(), &x, &self.weight.view().t(), true);
            return Ok(y.as_standard_layout().into_owned().into_dyn());
        }
        // y[:, rows] += x · W'[rows]ᵀ, one block of output rows per task, each block's
        // modified weights made in a per-task buffer (each output's sum runs over the
        // same inputs in the same order as one product with the whole W' would)
        let (out, inn) = self.weight.dim();
        let rows = Self::block(inn);
        let mut cols: Vec<ArrayViewMut2<T>> = Vec::new();
        let mut rest = y.view_mut();
        while rest.ncols() > 0 {
            let h = rows.min(rest.ncols());
            let (a, b_) = rest.split_at(Axis(1), h);
            cols.push(a);
            rest = b_;
        }
        let task = |(i, mut yb): (usize, ArrayViewMut2<T>)| {
            let r0 = i * rows;
            let wb = self.weight.view().slice(s![r0..r0 + yb.ncols(), ..]).map(|v| modify_weight(v, w));
            gemm_into_with(&mut yb, &x, &wb.t(), true, Par::Seq);
        };
        if out > rows && rayon::current_num_threads() > 1 {
            cols.into_par_iter().enumerate().for_each(task);
        } else {
            cols.into_iter().enumerate().for_each(task);
        }
        Ok(y.as_standard_layout().into_owned().into_dyn())
    }

    fn vjp_mod(&self, grad: &ArrayViewD<T>, _in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        let (s_, b) = (grad.shape()[0], grad.shape()[1]);
        let g = grad.as_standard_layout();
        let gv = g.view();
        let g2 = merge_leading(&gv, 2)?.into_dimensionality::<Ix2>().map_err(|e| Error::Internal(e.to_string()))?;
        let (out, inn) = self.weight.dim();
        if w == WeightMod::Identity {
            let gi = matmul(&g2, &self.weight.view());
            return reshape(gi.into_dyn(), &[s_, b, inn]);
        }
        // gi[:, cols] = g · W'[:, cols], one block of input columns per task
        let mut gi = Array2::<T>::zeros((g2.nrows(), inn));
        let width = Self::block(out);
        let mut blocks: Vec<ArrayViewMut2<T>> = Vec::new();
        let mut rest = gi.view_mut();
        while rest.ncols() > 0 {
            let h = width.min(rest.ncols());
            let (a, b_) = rest.split_at(Axis(1), h);
            blocks.push(a);
            rest = b_;
        }
        let task = |(i, mut gb): (usize, ArrayViewMut2<T>)| {
            let c0 = i * width;
            let wb = self.weight.view().slice(s![.., c0..c0 + gb.ncols()]).map(|v| modify_weight(v, w));
            gemm_into_with(&mut gb, &g2, &wb.view(), false, Par::Seq);
        };
        if inn > width && rayon::current_num_threads() > 1 {
            blocks.into_par_iter().enumerate().for_each(task);
        } else {
            blocks.into_iter().enumerate().for_each(task);
        }
        reshape(gi.into_dyn(), &[s_, b, inn])
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn kind(&self) -> LayerKind {
        LayerKind::Dense
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let (out, inn) = self.weight.dim();
        if inputs[0] != [inn] {
            return Err(Error::Spec(format!(
                "input shape {} does not fit `weight` of shape ({out}, {inn}); a dense layer needs a flat input of length {inn}",
                crate::tensor::fmt_shape(&inputs[0])
            )));
        }
        Ok(vec![out])
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        self.forward_mod(&inputs[0], WeightMod::Identity, BiasMod::Keep)
    }

    fn vjp(&self, _inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![self.vjp_mod(grad, &[], WeightMod::Identity)?])
    }

    fn then_affine(&self, scale: &Array1<T>, shift: &Array1<T>) -> Option<Box<dyn Layer<T>>> {
        if scale.len() != self.bias.len() || shift.len() != self.bias.len() {
            return None;
        }
        let (weight, bias) = scale_rows(&self.weight.view(), &self.bias, scale, shift);
        Some(Box::new(Dense { weight: WeightMatrix::owned(weight), bias }))
    }

    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_linear, check_vjp, randn};
    use crate::rng::Rng;

    #[test]
    fn forward_matches_naive_and_vjp_matches_finite_differences() {
        let mut rng = Rng::new(1);
        let w = randn(&[4, 6], &mut rng);
        let b = randn(&[4], &mut rng);
        let layer = Dense::<f64>::new(w.clone(), Some(b.clone())).unwrap();
        let x = randn(&[3, 6], &mut rng);
        let y = layer.forward(&[x.view()]).unwrap();
        for i in 0..3 {
            for o in 0..4 {
                let naive: f64 = (0..6).map(|k| x[[i, k]] * w[[o, k]]).sum::<f64>() + b[[o]];
                assert!((y[[i, o]] - naive).abs() < 1e-12);
            }
        }
        check_vjp(&layer, &[vec![6]], 3, 2, 5);
    }

    #[test]
    fn rejects_mismatched_bias_and_input() {
        let mut rng = Rng::new(2);
        assert!(Dense::<f64>::new(randn(&[4, 6], &mut rng), Some(randn(&[3], &mut rng))).is_err());
        let layer = Dense::<f64>::new(randn(&[4, 6], &mut rng), None).unwrap();
        assert!(layer.output_shape(&[vec![5]]).is_err());
        assert!(layer.output_shape(&[vec![2, 3]]).is_err());
    }

    /// Modified weights in blocks (several per layer, on several threads) give the
    /// product with the whole modified matrix.
    #[test]
    fn blocked_weight_modifiers_match_the_modified_matrix() {
        let mut rng = Rng::new(4);
        let (out, inn) = (20, 1 << 16);
        let (w, b) = (randn(&[out, inn], &mut rng), randn(&[out], &mut rng));
        let layer = Dense::<f64>::new(w.clone(), Some(b.clone())).unwrap();
        assert!(Dense::<f64>::block(inn) < out && Dense::<f64>::block(out) < inn);
        let x = randn(&[3, inn], &mut rng);
        let g = randn(&[2, 3, out], &mut rng);
        let w2 = w.into_dimensionality::<Ix2>().unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for m in [WeightMod::Positive, WeightMod::Negative, WeightMod::Gamma(0.25), WeightMod::Square] {
            let wm = w2.map(|v| modify_weight(v, m));
            let (y, gi) = pool.install(|| {
                (layer.forward_mod(&x.view(), m, BiasMod::Positive).unwrap(), layer.vjp_mod(&g.view(), &[inn], m).unwrap())
            });
            let x2 = x.view().into_dimensionality::<Ix2>().unwrap();
            let want = x2.dot(&wm.t()) + &b.mapv(|v| v.max(0.0)).into_dimensionality::<ndarray::Ix1>().unwrap();
            assert!(y.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() <= 1e-9 * (1.0 + b.abs())), "{m:?} forward");
            let g2 = g.view().into_shape_with_order((6, out)).unwrap().into_dimensionality::<Ix2>().unwrap();
            let want = g2.dot(&wm);
            assert!(gi.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() <= 1e-9 * (1.0 + b.abs())), "{m:?} vjp");
        }
    }

    #[test]
    fn linear_capability_matches_forward_vjp_and_matrix_form() {
        let mut rng = Rng::new(3);
        let layer = Dense::<f64>::new(randn(&[4, 6], &mut rng), Some(randn(&[4], &mut rng))).unwrap();
        check_linear(&layer, &[6], 4);
    }
}
