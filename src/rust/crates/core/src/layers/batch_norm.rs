//! Batch normalisation (inference). PLACEHOLDER: implemented by a follow-up change.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};
use std::marker::PhantomData;

/// Inference-mode batch norm.
pub struct BatchNorm<T: Scalar> { _t: PhantomData<T> }

impl<T: Scalar> BatchNorm<T> {
    /// From the list-format keys.
    pub fn new(_n: usize, _eps: f64, _gamma: ArrayD<f64>, _beta: Option<ArrayD<f64>>, _mean: ArrayD<f64>, _var: ArrayD<f64>) -> Result<Self> {
        Err(Error::Spec("BatchNorm is not implemented yet".into()))
    }
}

impl<T: Scalar> Layer<T> for BatchNorm<T> {
    fn kind(&self) -> LayerKind { LayerKind::BatchNorm }
    fn output_shape(&self, _inputs: &[Shape]) -> Result<Shape> { Err(Error::Internal("bn".into())) }
    fn forward(&self, _inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> { Err(Error::Internal("bn".into())) }
    fn vjp(&self, _i: &[ArrayViewD<T>], _o: &ArrayViewD<T>, _g: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> { Err(Error::Internal("bn".into())) }
}
