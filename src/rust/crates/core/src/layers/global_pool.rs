//! Global average / max pooling. PLACEHOLDER: implemented by a follow-up change.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};

/// Global pooling over all spatial axes.
pub struct GlobalPool;

impl GlobalPool {
    /// `method` = "average" or "max".
    pub fn new(_method: &str) -> Result<Self> { Err(Error::Spec("GlobalPooling is not implemented yet".into())) }
}

impl<T: Scalar> Layer<T> for GlobalPool {
    fn kind(&self) -> LayerKind { LayerKind::GlobalAvgPool }
    fn output_shape(&self, _inputs: &[Shape]) -> Result<Shape> { Err(Error::Internal("gp".into())) }
    fn forward(&self, _inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> { Err(Error::Internal("gp".into())) }
    fn vjp(&self, _i: &[ArrayViewD<T>], _o: &ArrayViewD<T>, _g: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> { Err(Error::Internal("gp".into())) }
}
