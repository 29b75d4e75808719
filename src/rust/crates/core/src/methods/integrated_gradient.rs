//! Integrated Gradients (Sundararajan et al. 2017) with innsight's right Riemann sum:
//! `mean_{k=1..n} ∇z(x_ref + (k/n)(x − x_ref))`, times `(x − x_ref)` when
//! `times_input` (the default). Goal: `z(x) − z(x_ref)`.

use super::expectation::{mean_gradients, outputs, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Zip};

struct Path<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
    x_ref: &'a [ArrayD<T>],
    n: usize,
    times_input: bool,
}

impl<T: Scalar> Plan<T> for Path<'_, T> {
    fn n(&self) -> usize {
        self.n
    }
    fn point(&self, i: usize, k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        let alpha = T::of((k + 1) as f64 / self.n as f64);
        Zip::from(&mut dst)
            .and(&self.data[j].index_axis(Axis(0), i))
            .and(&self.x_ref[j].index_axis(Axis(0), 0))
            .for_each(|d, &x, &r| *d = r + alpha * (x - r));
    }
    fn times(&self, i: usize, _k: usize, j: usize, _point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        self.times_input.then(|| &self.data[j].index_axis(Axis(0), i) - &self.x_ref[j].index_axis(Axis(0), 0))
    }
}

/// Run IntegratedGradient.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, times_input: bool, n: usize) -> Result<MethodResult<T>> {
    let x_ref = inputs.x_ref.as_ref().ok_or_else(|| Error::Argument("IntegratedGradient needs `x_ref`".into()))?;
    // the path uses row 0 only, and the goal z(x) − z(x_ref) must use the same row
    let n_ref = ctx.graph.check_inputs(x_ref, "x_ref")?;
    if n_ref != 1 {
        return Err(Error::Argument(format!("`x_ref` must hold one instance (a batch of 1), got {n_ref}")));
    }
    let b = inputs.data[0].shape()[0];
    let grads = mean_gradients(ctx, b, &Path { data: &inputs.data, x_ref, n, times_input })?;
    let (pred, z) = outputs(ctx, &inputs.data)?;
    let (_, z_ref) = outputs(ctx, x_ref)?;
    let goal = z.iter().zip(&z_ref).map(|(a, r)| Some(a - r)).collect();
    Ok(MethodResult { result: ctx.targets.split(ctx.graph, grads), pred: pred.into_iter().map(Some).collect(), goal })
}
