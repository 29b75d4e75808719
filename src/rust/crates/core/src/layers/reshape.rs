//! Reshape to a fixed per-sample shape (row-major, channels first), e.g. ONNX's
//! `Reshape`, `Squeeze` and `Unsqueeze` of a feature map. The elements keep their
//! order, so the VJP reshapes the upper signal back; rules pass through it.

use super::{expect_inputs, Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, numel, reshape_view, with_leading, Shape};
use ndarray::{ArrayD, ArrayViewD};

/// `[B, in...]` → `[B, shape...]` with `numel(in) = numel(shape)`.
pub struct Reshape {
    shape: Shape,
}

impl Reshape {
    /// The target shape without the batch axis.
    pub fn new(shape: &[usize]) -> Result<Self> {
        if shape.is_empty() || shape.contains(&0) {
            return Err(Error::Spec(format!("`shape` must be positive whole numbers, got {shape:?}")));
        }
        Ok(Reshape { shape: shape.to_vec() })
    }
}

impl<T: Scalar> Layer<T> for Reshape {
    fn kind(&self) -> LayerKind {
        LayerKind::Reshape
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        if numel(&inputs[0]) != numel(&self.shape) {
            return Err(Error::Spec(format!(
                "cannot reshape an input of shape {} ({} elements) to {} ({} elements)",
                fmt_shape(&inputs[0]),
                numel(&inputs[0]),
                fmt_shape(&self.shape),
                numel(&self.shape)
            )));
        }
        Ok(self.shape.clone())
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        expect_inputs(inputs.len(), 1)?;
        reshape_view(&inputs[0], &with_leading(&[inputs[0].shape()[0]], &self.shape))
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![reshape_view(grad, &with_leading(&grad.shape()[..2], &inputs[0].shape()[1..]))?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::check_vjp;

    #[test]
    fn reshapes_and_vjp_is_exact() {
        check_vjp(&Reshape::new(&[3, 2, 2]).unwrap(), &[vec![2, 6]], 2, 2, 1);
        check_vjp(&Reshape::new(&[12]).unwrap(), &[vec![3, 1, 4]], 1, 3, 2);
        assert!(<Reshape as Layer<f64>>::output_shape(&Reshape::new(&[5]).unwrap(), &[vec![2, 3]]).is_err());
        assert!(Reshape::new(&[0, 2]).is_err());
    }
}
