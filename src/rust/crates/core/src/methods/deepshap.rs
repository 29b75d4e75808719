//! DeepSHAP (Lundberg & Lee 2017): DeepLift averaged over a sample of references,
//! `mean_r m_r ⊙ (x − ref_r)`, where `m_r` are the DeepLift multipliers of the pair
//! (x, ref_r). Decomposition goal: `mean_r (z(x) − z(ref_r))`; with a single zero
//! reference it is DeepLift with a zero baseline.
//!
//! JSON (`RunSpec` fields plus): `{"method": "deep_shap", "rule": "rescale" |
//! "reveal_cancel", "winner_takes_all": bool}`; `data_ref` holds the `R` reference rows
//! `[R, in...]` per model input, already subset and permuted in R (`limit_ref`).
//!
//! Every instance is paired with all `R` references (instance-major) and the `B·R`
//! pairs run through [`super::deeplift::attribute`] in chunks of whole instances
//! bounded by the memory budget.

use super::deeplift::{attribute, check_refs};
use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::Result;
use crate::rules::deeplift::DeepLiftKind;
use crate::scalar::Scalar;
use serde::Deserialize;

/// Arguments of DeepSHAP.
#[derive(Debug, Clone, Deserialize)]
pub struct DeepShapSpec {
    /// innsight's `rule_name`: `"rescale"` or `"reveal_cancel"`.
    pub rule: String,
    /// Max pooling: argmax routing (`true`) or average-pool rescaling (`false`).
    pub winner_takes_all: bool,
}

/// Run DeepSHAP.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &DeepShapSpec) -> Result<MethodResult<T>> {
    let kind = DeepLiftKind::from_name(&spec.rule)?;
    let (data_ref, _) = check_refs(ctx, inputs.data_ref.as_ref(), "data_ref", "DeepSHAP")?;
    attribute(ctx, &inputs.data, data_ref, kind, spec.winner_takes_all)
}
