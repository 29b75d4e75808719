//! Max and average pooling (1D and 2D). PLACEHOLDER: implemented by a follow-up change.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};

/// Max or average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind { Max, Avg }

/// A pooling layer.
pub struct Pool { _kind: PoolKind }

impl Pool {
    /// `dims` = 1 or 2.
    pub fn new(_kind: PoolKind, _dims: usize, _kernel: &[usize], _strides: Option<&[usize]>) -> Result<Self> {
        Err(Error::Spec("pooling is not implemented yet".into()))
    }
}

impl<T: Scalar> Layer<T> for Pool {
    fn kind(&self) -> LayerKind { LayerKind::MaxPool2D }
    fn output_shape(&self, _inputs: &[Shape]) -> Result<Shape> { Err(Error::Internal("pool".into())) }
    fn forward(&self, _inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> { Err(Error::Internal("pool".into())) }
    fn vjp(&self, _i: &[ArrayViewD<T>], _o: &ArrayViewD<T>, _g: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> { Err(Error::Internal("pool".into())) }
}
