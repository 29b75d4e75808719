//! PLACEHOLDER for the lrp method (filled in by its own change).

use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use serde::Deserialize;

/// Arguments of the method.
#[derive(Debug, Clone, Deserialize)]
pub struct LrpSpec {}

/// Run the method.
pub fn run<T: Scalar>(_ctx: &Context<T>, _inputs: &RunInputs<T>, _spec: &LrpSpec) -> Result<MethodResult<T>> {
    Err(Error::Argument("this method is not implemented yet".into()))
}
