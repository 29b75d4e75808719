//! Identity node (innsight's `Skipping`: input and dropout layers).

use super::{expect_inputs, Layer, LayerKind};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};

/// The identity.
pub struct Skip;

impl<T: Scalar> Layer<T> for Skip {
    fn kind(&self) -> LayerKind {
        LayerKind::Skipping
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        Ok(inputs[0].clone())
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        Ok(inputs[0].to_owned())
    }

    fn vjp(&self, _inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![grad.to_owned()])
    }
}
