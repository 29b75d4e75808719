//! PLACEHOLDER for the connection_weights method (filled in by its own change).

use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use serde::Deserialize;

/// Arguments of the method.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionWeightsSpec {}

/// Run the method.
pub fn run<T: Scalar>(_ctx: &Context<T>, _inputs: &RunInputs<T>, _spec: &ConnectionWeightsSpec) -> Result<MethodResult<T>> {
    Err(Error::Argument("this method is not implemented yet".into()))
}
