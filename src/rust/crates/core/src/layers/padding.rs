//! Padding (constant, reflect, replicate, circular). PLACEHOLDER: implemented by a follow-up change.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};

/// A padding layer.
pub struct Padding;

impl Padding {
    /// From the list-format keys.
    pub fn new(_padding: &[usize], _mode: &str, _value: f64) -> Result<Self> { Err(Error::Spec("Padding is not implemented yet".into())) }
}

impl<T: Scalar> Layer<T> for Padding {
    fn kind(&self) -> LayerKind { LayerKind::Padding }
    fn output_shape(&self, _inputs: &[Shape]) -> Result<Shape> { Err(Error::Internal("pad".into())) }
    fn forward(&self, _inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> { Err(Error::Internal("pad".into())) }
    fn vjp(&self, _i: &[ArrayViewD<T>], _o: &ArrayViewD<T>, _g: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> { Err(Error::Internal("pad".into())) }
}
