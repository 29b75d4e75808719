//! Dense (fully connected) layer: `y = x Wᵀ + b`.
//!
//! Shapes: weight `[out, in]` (innsight/torch layout), bias `[out]`, input `[B, in]`,
//! output `[B, out]`. VJP: `g_in = g W` on the merged `[S·B, out]` signal.

use super::{cast, expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMod};
use crate::error::{Error, Result};
use crate::linalg::{gemm_into, matmul};
use crate::scalar::Scalar;
use crate::tensor::{merge_leading, reshape, Shape};
use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Ix2};

/// A dense layer.
pub struct Dense<T: Scalar> {
    weight: Array2<T>,
    bias: Array1<T>,
}

impl<T: Scalar> Dense<T> {
    /// Build from a `[out, in]` weight and an optional `[out]` bias (zeros if absent).
    pub fn new(weight: ArrayD<f64>, bias: Option<ArrayD<f64>>) -> Result<Self> {
        let weight = cast::<T>(&weight)
            .into_dimensionality::<Ix2>()
            .map_err(|_| Error::Spec(format!("`weight` must be a matrix (out, in), got {} dimension(s)", weight.ndim())))?;
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
    pub fn weight(&self) -> &Array2<T> {
        &self.weight
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

impl<T: Scalar> Dense<T> {
    fn weight_mod(&self, m: WeightMod) -> std::borrow::Cow<'_, Array2<T>> {
        match m {
            WeightMod::Identity => std::borrow::Cow::Borrowed(&self.weight),
            m => std::borrow::Cow::Owned(self.weight.map(|w| modify_weight(w, m))),
        }
    }
}

impl<T: Scalar> Linear<T> for Dense<T> {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>> {
        let x = x.view().into_dimensionality::<Ix2>().map_err(|e| Error::Internal(e.to_string()))?;
        let wm = self.weight_mod(w);
        let mut y = Array2::from_shape_fn((x.nrows(), self.bias.len()), |(_, j)| modify_bias(&self.bias[j], b));
        gemm_into(&mut y.view_mut(), &x, &wm.t(), true);
        Ok(y.into_dyn())
    }

    fn vjp_mod(&self, grad: &ArrayViewD<T>, _in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        let (s, b) = (grad.shape()[0], grad.shape()[1]);
        let g = grad.as_standard_layout();
        let gv = g.view();
        let g2 = merge_leading(&gv, 2)?.into_dimensionality::<Ix2>().map_err(|e| Error::Internal(e.to_string()))?;
        let gi = matmul(&g2, &self.weight_mod(w).view());
        reshape(gi.into_dyn(), &[s, b, self.weight.ncols()])
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

    #[test]
    fn linear_capability_matches_forward_vjp_and_matrix_form() {
        let mut rng = Rng::new(3);
        let layer = Dense::<f64>::new(randn(&[4, 6], &mut rng), Some(randn(&[4], &mut rng))).unwrap();
        check_linear(&layer, &[6], 4);
    }
}
