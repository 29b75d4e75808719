//! PLACEHOLDER for the deepshap method (filled in by its own change).

use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use serde::Deserialize;

/// Arguments of the method.
#[derive(Debug, Clone, Deserialize)]
pub struct DeepShapSpec {}

/// Run the method.
pub fn run<T: Scalar>(_ctx: &Context<T>, _inputs: &RunInputs<T>, _spec: &DeepShapSpec) -> Result<MethodResult<T>> {
    Err(Error::Argument("this method is not implemented yet".into()))
}
