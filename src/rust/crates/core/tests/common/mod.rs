//! Helpers shared by the integration tests: models written as `serde_json::json!`,
//! random weights under innsight's names, method runs, central finite differences of
//! the forward pass, and the named tolerance levels every comparison uses.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use innsight_core::layers::Weights;
use innsight_core::methods::{self, MethodResult, MethodSpec, RunInputs, RunSpec};
use innsight_core::rng::Rng;
use innsight_core::{Error, Graph, ModelSpec, Scalar};
use ndarray::{ArrayD, Axis, Dimension, IxDyn};

/// Results that differ only in summation order (chunking, batching, threads), in f64.
pub const CLOSE: f64 = 1e-12;
/// Analytic gradients against central finite differences in f64.
pub const FINITE_DIFF: f64 = 1e-6;
/// Step of the central finite differences.
pub const FD_STEP: f64 = 1e-6;
/// f32 against f64 results, relative to the largest magnitude of the f64 result.
pub const F32_VS_F64: f64 = 1e-4;
/// IntegratedGradient completeness at n = 2000 on a smooth model (right Riemann sum,
/// error O(1/n)).
pub const IG_COMPLETENESS: f64 = 1e-3;

/// Parse a model description through the public JSON entry point.
pub fn model(json: serde_json::Value) -> ModelSpec {
    ModelSpec::from_json(&json.to_string()).expect("valid model description")
}

/// A tensor of standard normal values.
pub fn randn(shape: &[usize], rng: &mut Rng) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.normal())
}

/// Builds a [`Weights`] map of random tensors named `layers.<i>.<name>` (1-based `i`).
pub struct WeightsBuilder {
    rng: Rng,
    map: Weights,
}

impl WeightsBuilder {
    pub fn new(seed: u64) -> Self {
        WeightsBuilder { rng: Rng::new(seed), map: Weights::new() }
    }

    /// Any named tensor of layer `i`.
    pub fn tensor(mut self, i: usize, name: &str, shape: &[usize]) -> Self {
        let t = randn(shape, &mut self.rng);
        self.map.insert(format!("layers.{i}.{name}"), t);
        self
    }

    /// Dense weight `[out, in]` (scaled by 1/sqrt(in) to keep activations O(1)) and bias.
    pub fn dense(mut self, i: usize, out: usize, inn: usize) -> Self {
        let w = randn(&[out, inn], &mut self.rng) / (inn as f64).sqrt();
        self.map.insert(format!("layers.{i}.weight"), w);
        self.tensor(i, "bias", &[out])
    }

    /// BatchNorm parameters for `c` channels (variances kept away from zero).
    pub fn batch_norm(mut self, i: usize, c: usize) -> Self {
        let var = randn(&[c], &mut self.rng).mapv(|v| v * v + 0.5);
        self.map.insert(format!("layers.{i}.run_var"), var);
        self.tensor(i, "gamma", &[c]).tensor(i, "beta", &[c]).tensor(i, "run_mean", &[c])
    }

    pub fn build(self) -> Weights {
        self.map
    }
}

/// Build a graph, panicking with the error message on failure.
pub fn graph<T: Scalar>(spec: &ModelSpec, weights: &Weights) -> Graph<T> {
    match Graph::<T>::build(spec, weights) {
        Ok(g) => g,
        Err(e) => panic!("graph build failed: {e}"),
    }
}

/// The error of a graph build that must fail.
pub fn build_error(spec: &ModelSpec, weights: &Weights) -> Error {
    match Graph::<f64>::build(spec, weights) {
        Ok(_) => panic!("graph build unexpectedly succeeded"),
        Err(e) => e,
    }
}

/// Random inputs `[batch, in...]` for every model input of `graph`.
pub fn random_inputs<T: Scalar>(graph: &Graph<T>, batch: usize, seed: u64) -> Vec<ArrayD<f64>> {
    let mut rng = Rng::new(seed);
    graph.input_shapes.iter().map(|s| randn(&[&[batch][..], s.as_slice()].concat(), &mut rng)).collect()
}

/// Cast f64 tensors to the compute scalar.
pub fn cast<T: Scalar>(xs: &[ArrayD<f64>]) -> Vec<ArrayD<T>> {
    xs.iter().map(|x| x.mapv(T::of)).collect()
}

/// Select every node of every model output.
pub fn all_outputs<T: Scalar>(graph: &Graph<T>) -> Vec<Option<Vec<usize>>> {
    (0..graph.n_outputs()).map(|k| Some((1..=graph.output_width(k)).collect())).collect()
}

/// A run spec with the default memory budget.
pub fn run_spec(method: MethodSpec, output_idx: Vec<Option<Vec<usize>>>, ignore_last_act: bool) -> RunSpec {
    RunSpec { method, output_idx, ignore_last_act, chunk_bytes: None }
}

/// The same run with a tiny memory budget: every chunk holds one instance (one
/// sampled point for the gradient family, which may split instances).
pub fn chunked(rs: &RunSpec) -> RunSpec {
    RunSpec { chunk_bytes: Some(1), ..rs.clone() }
}

/// Run a method on `data` (plus optional references), panicking on errors.
pub fn run<T: Scalar>(
    graph: &Graph<T>,
    spec: &RunSpec,
    data: Vec<ArrayD<T>>,
    x_ref: Option<Vec<ArrayD<T>>>,
    data_ref: Option<Vec<ArrayD<T>>>,
) -> MethodResult<T> {
    match methods::run(graph, spec, &RunInputs { data, x_ref, data_ref }) {
        Ok(r) => r,
        Err(e) => panic!("method failed: {e}"),
    }
}

/// Plain gradient of every node of every output (after the last activation unless
/// `ignore_last_act`).
pub fn gradient<T: Scalar>(graph: &Graph<T>, data: Vec<ArrayD<T>>, ignore_last_act: bool) -> MethodResult<T> {
    let spec = run_spec(MethodSpec::Gradient { times_input: false }, all_outputs(graph), ignore_last_act);
    run(graph, &spec, data, None, None)
}

/// Central finite differences of column `col` of node `node`'s traced value with
/// respect to every model input: one `[B, in...]` tensor per input.
///
/// Rows of a batch are independent, so one coordinate is perturbed in all rows at once.
pub fn finite_differences(graph: &Graph<f64>, inputs: &[ArrayD<f64>], node: usize, col: usize) -> Vec<ArrayD<f64>> {
    let eval = |j: usize, i: usize, delta: f64| {
        let mut xs = inputs.to_vec();
        for mut row in xs[j].outer_iter_mut() {
            row.as_slice_mut().expect("standard layout")[i] += delta;
        }
        let trace = graph.forward(&xs).expect("forward");
        trace.values[node].index_axis(Axis(1), col).to_owned()
    };
    inputs
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let per_row = x.len() / x.shape()[0];
            let mut d = ArrayD::<f64>::zeros(x.raw_dim());
            for i in 0..per_row {
                let fd = (eval(j, i, FD_STEP) - eval(j, i, -FD_STEP)) / (2.0 * FD_STEP);
                for (b, mut row) in d.outer_iter_mut().enumerate() {
                    row.as_slice_mut().expect("standard layout")[i] = fd[[b]];
                }
            }
            d
        })
        .collect()
}

/// Elementwise `|a − b| <= tol · (1 + |b|)`, naming the first offending index.
pub fn assert_close(a: &ArrayD<f64>, b: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    for ((ix, &x), &y) in a.indexed_iter().zip(b.iter()) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}: at {:?}: {x} vs {y} (tolerance {tol})", ix.slice());
    }
}

/// `max |a − b| <= tol · max |b|`: agreement relative to the result's scale, for
/// comparisons (such as f32 against f64) whose error is absolute rather than per element.
pub fn assert_rel_to_max(a: &ArrayD<f64>, b: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = a.iter().zip(b.iter()).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(err <= tol * scale, "{what}: max error {err} exceeds {tol} x {scale}");
}

/// Assert two method results are equal within `tol` (result, pred and goal).
pub fn assert_results_close(a: &MethodResult<f64>, b: &MethodResult<f64>, tol: f64, what: &str) {
    assert_eq!(a.result.len(), b.result.len(), "{what}: number of outputs");
    for ((ka, pa), (kb, pb)) in a.result.iter().zip(&b.result) {
        assert_eq!(ka, kb, "{what}: output order");
        for (j, (x, y)) in pa.iter().zip(pb).enumerate() {
            match (x, y) {
                (Some(x), Some(y)) => assert_close(x, y, tol, &format!("{what}: output {ka}, input {j}")),
                (None, None) => {}
                _ => panic!("{what}: output {ka}, input {j}: connected in one result only"),
            }
        }
    }
    for (x, y) in a.pred.iter().zip(&b.pred) {
        match (x, y) {
            (Some(x), Some(y)) => assert_close(x, y, tol, &format!("{what}: pred")),
            (None, None) => {}
            _ => panic!("{what}: pred present in one result only"),
        }
    }
    for (x, y) in a.goal.iter().zip(&b.goal) {
        if let (Some(x), Some(y)) = (x, y) {
            assert_close(x, y, tol, &format!("{what}: goal"));
        }
    }
}
