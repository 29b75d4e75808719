//! SmoothGrad (Smilkov et al. 2017): the mean gradient over `n` noisy copies
//! `x + ε`, `ε ~ N(0, σ²)`, with `σ = noise_level · (max(x_i) − min(x_i))` per
//! instance and input layer (σ = noise_level when the range is 0). With
//! `times_input`, each gradient is multiplied by its noisy input. Goal: `z(x)`.
//!
//! Noise for (instance i, draw k) comes from its own generator seeded from
//! `(seed, i, k)` with `i` the instance's index in the whole data set, so results
//! do not depend on chunking (inside the core or across R's chunks and workers)
//! or on the thread count.

use super::expectation::{mean_gradients, outputs, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::error::Result;
use crate::rng::Rng;
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Zip};

struct Noisy<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
    /// σ per (input j, instance i).
    sigma: Vec<Vec<f64>>,
    n: usize,
    stream: Stream,
    times_input: bool,
}

/// Where the noise comes from: the run's seed and the global index of the first
/// data row (non-zero when the data are one chunk of a larger set).
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    pub seed: u64,
    pub row_offset: usize,
}

impl<T: Scalar> Plan<T> for Noisy<'_, T> {
    fn n(&self) -> usize {
        self.n
    }
    fn point(&self, i: usize, k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        let row = (self.stream.row_offset + i) as u128;
        let stream = (self.stream.seed as u128 * 0x9E37_79B9 + (row * self.n as u128 + k as u128) * 1_000_003 + j as u128) as u64;
        let mut rng = Rng::new(stream);
        let sigma = self.sigma[j][i];
        Zip::from(&mut dst).and(&self.data[j].index_axis(Axis(0), i)).for_each(|d, &x| *d = x + T::of(sigma * rng.normal()));
    }
    fn times(&self, _i: usize, _k: usize, _j: usize, point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        self.times_input.then(|| point.to_owned())
    }
}

/// Run SmoothGrad.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, times_input: bool, n: usize, noise_level: f64, stream: Stream) -> Result<MethodResult<T>> {
    let b = inputs.data[0].shape()[0];
    let sigma = inputs
        .data
        .iter()
        .map(|x| {
            x.outer_iter()
                .map(|row| {
                    let (lo, hi) = row.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v.as_f64()), hi.max(v.as_f64())));
                    let range = hi - lo;
                    if range > 0.0 { noise_level * range } else { noise_level }
                })
                .collect()
        })
        .collect();
    let plan = Noisy { data: &inputs.data, sigma, n, stream, times_input };
    let grads = mean_gradients(ctx, b, &plan)?;
    let (pred, z) = outputs(ctx, &inputs.data)?;
    Ok(MethodResult { result: ctx.targets.split(ctx.graph, grads), pred: pred.into_iter().map(Some).collect(), goal: z.into_iter().map(Some).collect() })
}
