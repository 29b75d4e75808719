//! Vanilla gradient `∂z/∂x` and Gradient×Input `x ⊙ ∂z/∂x`
//! (Simonyan et al. 2014; Shrikumar et al. 2016). Decomposition goal: `z(x)`.

use super::expectation::{mean_gradients_with, stack, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::graph::Trace;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis};
use std::sync::Mutex;

struct AtData<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
    times_input: bool,
}

impl<T: Scalar> Plan<T> for AtData<'_, T> {
    fn n(&self) -> usize {
        1
    }
    fn point(&self, i: usize, _k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        dst.assign(&self.data[j].index_axis(Axis(0), i));
    }
    fn times(&self, _i: usize, _k: usize, _j: usize, point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        self.times_input.then(|| point.to_owned())
    }
}

/// Run Gradient (optionally ×Input).
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, times_input: bool) -> Result<MethodResult<T>> {
    let b = inputs.data[0].shape()[0];
    // The points are the data rows themselves, so pred and goal come from the traces
    // of the gradient's own forward passes (no second forward pass).
    let (preds, zs) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let keep = |i0: usize, trace: &Trace<T>| {
        preds.lock().unwrap_or_else(|e| e.into_inner()).push((i0, ctx.targets.select(ctx.graph, trace, false)));
        zs.lock().unwrap_or_else(|e| e.into_inner()).push((i0, ctx.targets.select(ctx.graph, trace, ctx.ignore_last_act)));
    };
    let grads = mean_gradients_with(ctx, b, &AtData { data: &inputs.data, times_input }, &keep)?;
    let (pred, z) = (stack(preds.into_inner().unwrap_or_else(|e| e.into_inner()))?, stack(zs.into_inner().unwrap_or_else(|e| e.into_inner()))?);
    Ok(MethodResult { result: ctx.targets.split(ctx.graph, grads), pred: pred.into_iter().map(Some).collect(), goal: z.into_iter().map(Some).collect() })
}
