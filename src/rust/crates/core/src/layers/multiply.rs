//! Elementwise product of two feature maps with broadcasting over axes of size 1,
//! e.g. a squeeze-and-excitation gate `[C, 1, 1]` times its signal `[C, H, W]`.
//!
//! The VJP is the product rule: `∂y/∂a = b` and `∂y/∂b = a`, each summed over the
//! axes along which that input was broadcast. Attribution rules that do not follow
//! the gradient treat the product specially (see `composite` for LRP and
//! `rules::deeplift` for DeepLift): [`Multiply::signal_input`] names the input that
//! carries the signal.

use super::{expect_inputs, Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, Shape};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

/// `y = a ⊙ b` (two inputs of equal rank, each axis equal or 1 in one of them).
pub struct Multiply;

impl Multiply {
    /// The broadcast output shape, or why the shapes do not fit.
    pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Shape> {
        let bad = || {
            Error::Spec(format!(
                "the inputs of a Multiply layer must have equal ranks and sizes that are equal or 1 per axis, got {} and {}",
                fmt_shape(a),
                fmt_shape(b)
            ))
        };
        if a.len() != b.len() {
            return Err(bad());
        }
        a.iter()
            .zip(b)
            .map(|(&x, &y)| match (x, y) {
                _ if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(bad()),
            })
            .collect()
    }

    /// Which input carries the signal (the other acts as a gate): the one with the
    /// output's shape; the first when both have it.
    pub fn signal_input(in_shapes: &[Shape], out_shape: &[usize]) -> usize {
        if in_shapes[0] != out_shape && in_shapes.get(1).is_some_and(|s| s == out_shape) {
            1
        } else {
            0
        }
    }
}

/// Sum `g` `[S, B, out...]` down to `[S, B, shape...]` over the broadcast axes.
pub fn reduce_to<T: Scalar>(mut g: ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    for (k, &n) in shape.iter().enumerate() {
        if n == 1 && g.shape()[k + 2] != 1 {
            g = g.sum_axis(Axis(k + 2)).insert_axis(Axis(k + 2));
        }
    }
    g
}

impl<T: Scalar> Layer<T> for Multiply {
    fn kind(&self) -> LayerKind {
        LayerKind::Multiply
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 2)?;
        Multiply::broadcast(&inputs[0], &inputs[1])
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        expect_inputs(inputs.len(), 2)?;
        let out = Multiply::broadcast(&inputs[0].shape()[1..], &inputs[1].shape()[1..])?;
        let full = IxDyn(&[&[inputs[0].shape()[0]][..], &out].concat());
        let (a, b) = (inputs[0].broadcast(full.clone()), inputs[1].broadcast(full));
        match (a, b) {
            (Some(a), Some(b)) => Ok(&a * &b),
            _ => Err(Error::Internal("multiply: inputs do not broadcast".into())),
        }
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        expect_inputs(inputs.len(), 2)?;
        let full = IxDyn(grad.shape());
        let mut out = Vec::with_capacity(2);
        for (k, other) in [(0, 1), (1, 0)] {
            let o = inputs[other].view().insert_axis(Axis(0));
            let o = o.broadcast(full.clone()).ok_or_else(|| Error::Internal("multiply vjp: broadcast".into()))?;
            out.push(reduce_to(grad * &o, &inputs[k].shape()[1..]));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::check_vjp;

    #[test]
    fn product_rule_with_broadcasting_matches_finite_differences() {
        check_vjp(&Multiply, &[vec![3, 4, 5], vec![3, 1, 1]], 2, 2, 1);
        check_vjp(&Multiply, &[vec![3, 1, 1], vec![3, 4, 5]], 2, 3, 2);
        check_vjp(&Multiply, &[vec![6], vec![6]], 3, 2, 3);
        check_vjp(&Multiply, &[vec![2, 1, 4], vec![1, 3, 4]], 1, 2, 4);
        assert!(<Multiply as Layer<f64>>::output_shape(&Multiply, &[vec![3, 4], vec![4, 3]]).is_err());
        assert!(<Multiply as Layer<f64>>::output_shape(&Multiply, &[vec![3, 4], vec![3, 4, 1]]).is_err());
        assert_eq!(Multiply::signal_input(&[vec![3, 1, 1], vec![3, 4, 5]], &[3, 4, 5]), 1);
        assert_eq!(Multiply::signal_input(&[vec![3, 4, 5], vec![3, 1, 1]], &[3, 4, 5]), 0);
    }
}
