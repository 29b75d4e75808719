//! Convolution (1D and 2D). PLACEHOLDER: implemented by a follow-up change.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};
use std::marker::PhantomData;

/// A convolution layer.
pub struct Conv<T: Scalar> {
    _t: PhantomData<T>,
}

impl<T: Scalar> Conv<T> {
    /// Conv1D from a `[C_out, C_in, k]` weight.
    pub fn new_1d(_w: ArrayD<f64>, _b: Option<ArrayD<f64>>, _s: Option<&[usize]>, _d: Option<&[usize]>, _p: Option<&[usize]>) -> Result<Self> {
        Err(Error::Spec("Conv1D is not implemented yet".into()))
    }
    /// Conv2D from a `[C_out, C_in, kh, kw]` weight.
    pub fn new_2d(_w: ArrayD<f64>, _b: Option<ArrayD<f64>>, _s: Option<&[usize]>, _d: Option<&[usize]>, _p: Option<&[usize]>) -> Result<Self> {
        Err(Error::Spec("Conv2D is not implemented yet".into()))
    }
}

impl<T: Scalar> Layer<T> for Conv<T> {
    fn kind(&self) -> LayerKind { LayerKind::Conv2D }
    fn output_shape(&self, _inputs: &[Shape]) -> Result<Shape> { Err(Error::Internal("conv".into())) }
    fn forward(&self, _inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> { Err(Error::Internal("conv".into())) }
    fn vjp(&self, _i: &[ArrayViewD<T>], _o: &ArrayViewD<T>, _g: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> { Err(Error::Internal("conv".into())) }
}
