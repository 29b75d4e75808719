//! Expected Gradients (Erion et al. 2021): for each instance, `n` pairs of a reference
//! row `x'` and a path point `α` (drawn in R, so `set.seed()` applies); the result is
//! `mean[∇z(x' + α(x − x')) ⊙ (x − x')]`. Goal: `z(x) − mean_r z(data_ref_r)`.

use super::expectation::{mean_gradients, mean_rows, outputs, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Zip};

struct Sampled<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
    refs: &'a [ArrayD<T>],
    n: usize,
    ref_index: &'a [usize],
    alpha: &'a [f64],
}

impl<T: Scalar> Plan<T> for Sampled<'_, T> {
    fn n(&self) -> usize {
        self.n
    }
    fn point(&self, i: usize, k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        let (r, a) = (self.ref_index[i * self.n + k] - 1, T::of(self.alpha[i * self.n + k]));
        Zip::from(&mut dst)
            .and(&self.data[j].index_axis(Axis(0), i))
            .and(&self.refs[j].index_axis(Axis(0), r))
            .for_each(|d, &x, &xr| *d = xr + a * (x - xr));
    }
    fn times(&self, i: usize, k: usize, j: usize, _point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        let r = self.ref_index[i * self.n + k] - 1;
        Some(&self.data[j].index_axis(Axis(0), i) - &self.refs[j].index_axis(Axis(0), r))
    }
}

/// Run ExpectedGradient.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, n: usize, ref_index: &[usize], alpha: &[f64]) -> Result<MethodResult<T>> {
    let refs = inputs.data_ref.as_ref().ok_or_else(|| Error::Argument("ExpectedGradient needs `data_ref`".into()))?;
    let n_ref = ctx.graph.check_inputs(refs, "data_ref")?;
    let b = inputs.data[0].shape()[0];
    if ref_index.len() != b * n || alpha.len() != b * n {
        return Err(Error::Internal(format!("expected {} reference draws, got {} and {}", b * n, ref_index.len(), alpha.len())));
    }
    if let Some(bad) = ref_index.iter().find(|&&r| r < 1 || r > n_ref) {
        return Err(Error::Internal(format!("reference index {bad} outside 1..{n_ref}")));
    }
    let grads = mean_gradients(ctx, b, &Sampled { data: &inputs.data, refs, n, ref_index, alpha })?;
    let (pred, z) = outputs(ctx, &inputs.data)?;
    let (_, z_ref) = outputs(ctx, refs)?;
    let goal = z.iter().zip(&z_ref).map(|(a, r)| Some(a - &mean_rows(r))).collect();
    Ok(MethodResult { result: ctx.targets.split(ctx.graph, grads), pred: pred.into_iter().map(Some).collect(), goal })
}
