//! Attribution methods. Each file only composes the graph, the driver and rules;
//! the method spec that crosses the R boundary is one serde-tagged enum.

pub mod connection_weights;
pub mod deeplift;
pub mod deepshap;
pub mod expectation;
pub mod expected_gradient;
pub mod gradcam;
pub mod gradient;
pub mod integrated_gradient;
pub mod lrp;
pub mod occlusion;
pub mod smoothgrad;
pub mod targets;

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::scalar::Scalar;
use ndarray::ArrayD;
use serde::Deserialize;
pub use targets::Targets;

/// Which method to run, with its own arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MethodSpec {
    /// Vanilla gradient (and Gradient×Input).
    Gradient { times_input: bool },
    /// SmoothGrad: mean gradient over `n` noisy copies. `row_offset` is the global
    /// index of the first data row when the data are one chunk of a larger set.
    SmoothGrad {
        times_input: bool,
        n: usize,
        noise_level: f64,
        seed: u64,
        #[serde(default)]
        row_offset: usize,
    },
    /// Integrated gradients along the straight path from `x_ref`.
    IntegratedGradient { times_input: bool, n: usize },
    /// Expected gradients: reference rows `ref_index` (1-based) and path points `alpha`
    /// drawn in R, `n` per instance, instance-major.
    ExpectedGradient { n: usize, ref_index: Vec<usize>, alpha: Vec<f64> },
    /// Layer-wise relevance propagation with a composite of rules.
    Lrp(lrp::LrpSpec),
    /// DeepLift with a single reference `x_ref`.
    DeepLift(deeplift::DeepLiftSpec),
    /// DeepSHAP: DeepLift averaged over the reference rows `data_ref`.
    DeepShap(deepshap::DeepShapSpec),
    /// Connection weights (global, or local with `times_input`).
    ConnectionWeights(connection_weights::ConnectionWeightsSpec),
    /// Occlusion with a sliding window.
    Occlusion(occlusion::OcclusionSpec),
    /// Grad-CAM on one layer.
    GradCam(gradcam::GradCamSpec),
}

/// A full method call: method plus the arguments every method shares.
#[derive(Debug, Clone, Deserialize)]
pub struct RunSpec {
    #[serde(flatten)]
    pub method: MethodSpec,
    /// Per model output: 1-based selected output nodes, or null.
    pub output_idx: Vec<Option<Vec<usize>>>,
    /// Explain the last layer's pre-activation instead of its output.
    pub ignore_last_act: bool,
    /// Memory budget in bytes for one chunk of rows (default 1 GiB).
    #[serde(default)]
    pub chunk_bytes: Option<usize>,
}

impl RunSpec {
    /// Parse from JSON.
    pub fn from_json(json: &str) -> Result<RunSpec> {
        serde_json::from_str(json).map_err(|e| Error::Argument(format!("invalid method description: {e}")))
    }
}

/// Data a method runs on, in the core's layout (`[B, in...]` per model input).
pub struct RunInputs<T: Scalar> {
    pub data: Vec<ArrayD<T>>,
    /// One reference instance `[1, in...]` per input (IntegratedGradient, DeepLift).
    pub x_ref: Option<Vec<ArrayD<T>>>,
    /// Reference rows `[R, in...]` per input (ExpectedGradient, DeepSHAP).
    pub data_ref: Option<Vec<ArrayD<T>>>,
}

/// What a method returns.
pub struct MethodResult<T: Scalar> {
    /// For every output with selected nodes (in output order): the output's index
    /// and, per model input, `[S_k, B, in...]` or `None` where the input is not
    /// connected to that output.
    pub result: Vec<(usize, Vec<Option<ArrayD<T>>>)>,
    /// Activated model outputs at the selected nodes, `[B, S_k]` per output (`None`
    /// for methods without a forward pass, e.g. global connection weights).
    pub pred: Vec<Option<ArrayD<T>>>,
    /// What the attributions should sum to, `[B, S_k]` per output (if defined).
    pub goal: Vec<Option<ArrayD<T>>>,
}

/// Run a method.
pub fn run<T: Scalar>(graph: &Graph<T>, spec: &RunSpec, inputs: &RunInputs<T>) -> Result<MethodResult<T>> {
    run_with_progress(graph, spec, inputs, None)
}

/// Run a method, reporting progress as (rows done, rows in total) after each chunk.
pub fn run_with_progress<T: Scalar>(
    graph: &Graph<T>,
    spec: &RunSpec,
    inputs: &RunInputs<T>,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<MethodResult<T>> {
    // the methods that need only the network's function and gradient run on the
    // batch-norm-folded graph (same function, fewer passes)
    let graph = match &spec.method {
        MethodSpec::Gradient { .. }
        | MethodSpec::SmoothGrad { .. }
        | MethodSpec::IntegratedGradient { .. }
        | MethodSpec::ExpectedGradient { .. } => graph.batchnorm_folded(),
        MethodSpec::DeepLift(s) if s.rule == "rescale" => graph.batchnorm_folded(),
        MethodSpec::DeepShap(s) if s.rule == "rescale" => graph.batchnorm_folded(),
        _ => graph,
    };
    let targets = Targets::new(graph, &spec.output_idx)?;
    // global ConnectionWeights is the one method without data
    if !matches!(&spec.method, MethodSpec::ConnectionWeights(s) if !s.times_input) {
        graph.check_inputs(&inputs.data, "data")?;
    }
    let budget = spec.chunk_bytes.unwrap_or(1 << 30);
    let ctx = expectation::Context { graph, targets: &targets, ignore_last_act: spec.ignore_last_act, budget, progress };
    // every sampling method averages over n points: n = 0 would index empty draws
    // (ExpectedGradient) or divide by zero (IntegratedGradient's path points)
    if let MethodSpec::SmoothGrad { n: 0, .. } | MethodSpec::IntegratedGradient { n: 0, .. } | MethodSpec::ExpectedGradient { n: 0, .. } =
        &spec.method
    {
        return Err(Error::Argument("`n` must be at least 1".into()));
    }
    match &spec.method {
        MethodSpec::Gradient { times_input } => gradient::run(&ctx, inputs, *times_input),
        MethodSpec::SmoothGrad { times_input, n, noise_level, seed, row_offset } => {
            smoothgrad::run(&ctx, inputs, *times_input, *n, *noise_level, smoothgrad::Stream { seed: *seed, row_offset: *row_offset })
        }
        MethodSpec::IntegratedGradient { times_input, n } => integrated_gradient::run(&ctx, inputs, *times_input, *n),
        MethodSpec::ExpectedGradient { n, ref_index, alpha } => expected_gradient::run(&ctx, inputs, *n, ref_index, alpha),
        MethodSpec::Lrp(s) => lrp::run(&ctx, inputs, s),
        MethodSpec::DeepLift(s) => deeplift::run(&ctx, inputs, s),
        MethodSpec::DeepShap(s) => deepshap::run(&ctx, inputs, s),
        MethodSpec::ConnectionWeights(s) => connection_weights::run(&ctx, inputs, s),
        MethodSpec::Occlusion(s) => occlusion::run(&ctx, inputs, s),
        MethodSpec::GradCam(s) => gradcam::run(&ctx, inputs, s),
    }
}
