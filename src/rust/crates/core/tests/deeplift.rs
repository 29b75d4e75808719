//! Whole-model tests of DeepLift, DeepSHAP and ConnectionWeights: summation to delta
//! (Σ contributions = z(x) − z(x_ref), with z from the forward pass) for every
//! activation, both rules, with and without `ignore_last_act`, through pooling,
//! BatchNorm, skip connections, concatenation, convolutions and several inputs and
//! outputs; DeepSHAP against its definition; invariances (batch, chunking); and
//! ConnectionWeights against independently computed weight products.

mod common;

use common::*;
use innsight_core::layers::Weights;
use innsight_core::methods::connection_weights::ConnectionWeightsSpec;
use innsight_core::methods::deeplift::DeepLiftSpec;
use innsight_core::methods::deepshap::DeepShapSpec;
use innsight_core::methods::{MethodResult, MethodSpec, RunSpec};
use innsight_core::{Graph, ModelSpec};
use ndarray::{concatenate, Array2, ArrayD, Axis, Ix2, IxDyn};
use serde_json::{json, Value};

/// Summation to delta in f64 (the multipliers are exact up to rounding).
const SUM_TO_DELTA: f64 = 1e-8;

const RULES: [&str; 2] = ["rescale", "reveal_cancel"];

const ACTIVATIONS: &[&str] = &["relu", "leaky_relu", "softplus", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "softmax"];

fn activation_args(act: &str) -> Value {
    match act {
        "leaky_relu" => json!({"negative_slope": 0.3}),
        "softplus" => json!({"beta": 1.5}),
        "elu" => json!({"alpha": 0.7}),
        _ => json!({}),
    }
}

fn deeplift(rule: &str, winner_takes_all: bool) -> MethodSpec {
    MethodSpec::DeepLift(DeepLiftSpec { rule: rule.into(), winner_takes_all })
}

fn deepshap(rule: &str, winner_takes_all: bool) -> MethodSpec {
    MethodSpec::DeepShap(DeepShapSpec { rule: rule.into(), winner_takes_all })
}

/// Run a DeepLift/DeepSHAP `method` on every output node of `g`.
fn run_on(g: &Graph<f64>, method: MethodSpec, ignore_last_act: bool, x: &[ArrayD<f64>], refs: &[ArrayD<f64>]) -> MethodResult<f64> {
    let spec = run_spec(method.clone(), all_outputs(g), ignore_last_act);
    match method {
        MethodSpec::DeepShap(_) => run(g, &spec, x.to_vec(), None, Some(refs.to_vec())),
        _ => run(g, &spec, x.to_vec(), Some(refs.to_vec()), None),
    }
}

/// The selected value (every node) of output `k` at `inputs`: `[B, O_k]`.
fn target(g: &Graph<f64>, inputs: &[ArrayD<f64>], k: usize, ignore_last_act: bool) -> ArrayD<f64> {
    let node = if ignore_last_act { g.preactivations[k] } else { g.outputs[k] };
    g.forward(inputs).unwrap().values[node].clone()
}

/// Largest |Σ contributions − (z(x) − mean_r z(ref_r))| over outputs, nodes and rows, with
/// `z` from the forward pass; also checks that the reported goal is that difference.
fn summation_error(g: &Graph<f64>, res: &MethodResult<f64>, x: &[ArrayD<f64>], refs: &[ArrayD<f64>], ignore_last_act: bool) -> f64 {
    let mut worst = 0.0f64;
    for (o, (k, per_input)) in res.result.iter().enumerate() {
        let z = target(g, x, *k, ignore_last_act);
        let z_ref = target(g, refs, *k, ignore_last_act).mean_axis(Axis(0)).unwrap();
        let want = &z - &z_ref;
        assert_close(res.goal[o].as_ref().expect("goal"), &want, 1e-12, "goal");
        assert_close(res.pred[o].as_ref().expect("pred"), &target(g, x, *k, false), 1e-12, "pred");
        let mut total = ArrayD::<f64>::zeros(IxDyn(&[want.shape()[1], want.shape()[0]]));
        for a in per_input.iter().flatten() {
            let flat = a.view().into_shape_with_order((a.shape()[0], a.shape()[1], a.len() / a.shape()[0] / a.shape()[1])).unwrap();
            total += &flat.sum_axis(Axis(2)).into_dyn();
        }
        for ((s, b), t) in total.into_dimensionality::<Ix2>().unwrap().indexed_iter() {
            worst = worst.max((t - want[[b, s]]).abs());
        }
    }
    worst
}

/// Run `method` and assert summation to delta; returns the error.
fn check_sum(g: &Graph<f64>, method: MethodSpec, ignore_last_act: bool, x: &[ArrayD<f64>], refs: &[ArrayD<f64>], what: &str) -> f64 {
    let res = run_on(g, method, ignore_last_act, x, refs);
    let err = summation_error(g, &res, x, refs, ignore_last_act);
    assert!(err < SUM_TO_DELTA, "{what}: summation-to-delta error {err}");
    err
}

/// Random data (`batch` rows) and one random reference row.
fn data_and_ref(g: &Graph<f64>, batch: usize, seed: u64) -> (Vec<ArrayD<f64>>, Vec<ArrayD<f64>>) {
    (random_inputs(g, batch, seed), random_inputs(g, 1, seed + 1000))
}

/// Check summation to delta for both rules, with and without `ignore_last_act`, and
/// report the largest error.
fn check_all_rules(spec: &ModelSpec, w: &Weights, winner_takes_all: bool, seed: u64, what: &str) -> f64 {
    let g = graph::<f64>(spec, w);
    let (x, x_ref) = data_and_ref(&g, 4, seed);
    let mut worst = 0.0f64;
    for rule in RULES {
        for ignore in [false, true] {
            let what = format!("{what}, {rule}, ignore_last_act = {ignore}");
            worst = worst.max(check_sum(&g, deeplift(rule, winner_takes_all), ignore, &x, &x_ref, &what));
        }
    }
    worst
}

// ---------------------------------------------------------------------------------
// models

/// Three Dense layers `5 -> 7 -> 6 -> 3` with the same fused activation.
fn mlp(act: &str) -> (ModelSpec, Weights) {
    let args = activation_args(act);
    let spec = model(json!({
        "input_dim": [5], "input_nodes": [1], "output_nodes": [3],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": act, "activation_args": args},
            {"type": "Dense", "input_layers": 1, "output_layers": 3, "activation_name": act, "activation_args": args},
            {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": act, "activation_args": args}
        ]
    }));
    (spec, WeightsBuilder::new(1).dense(1, 7, 5).dense(2, 6, 7).dense(3, 3, 6).build())
}

/// Linear Dense layers with stand-alone Activation layers.
fn mlp_standalone(act: &str) -> (ModelSpec, Weights) {
    let args = activation_args(act);
    let spec = model(json!({
        "input_dim": [5], "input_nodes": [1], "output_nodes": [4],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "linear"},
            {"type": "Activation", "input_layers": 1, "output_layers": 3, "act_name": act, "activation_args": args},
            {"type": "Dense", "input_layers": 2, "output_layers": 4, "activation_name": "linear"},
            {"type": "Activation", "input_layers": 3, "output_layers": -1, "act_name": act, "activation_args": args}
        ]
    }));
    (spec, WeightsBuilder::new(2).dense(1, 6, 5).dense(3, 3, 6).build())
}

/// Skip connection: `x -> Dense(tanh) -> Add(x, ·) -> Dense(sigmoid)`.
fn skip_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [4],
        "layers": [
            {"type": "Skipping", "input_layers": 0, "output_layers": [2, 3]},
            {"type": "Dense", "input_layers": 1, "output_layers": 3, "activation_name": "tanh"},
            {"type": "Add", "input_layers": [1, 2], "output_layers": 4},
            {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    (spec, WeightsBuilder::new(3).dense(2, 4, 4).dense(4, 2, 4).build())
}

/// Two branches concatenated, softmax output.
fn concat_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [5], "input_nodes": [1], "output_nodes": [5],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": [2, 3], "activation_name": "elu"},
            {"type": "Dense", "input_layers": 1, "output_layers": 4, "activation_name": "gelu"},
            {"type": "Dense", "input_layers": 1, "output_layers": 4, "activation_name": "silu"},
            {"type": "Concatenate", "axis": 2, "input_layers": [2, 3], "output_layers": 5},
            {"type": "Dense", "input_layers": 4, "output_layers": -1, "activation_name": "softmax"}
        ]
    }));
    (spec, WeightsBuilder::new(4).dense(1, 3, 5).dense(2, 4, 3).dense(3, 2, 3).dense(5, 3, 6).build())
}

/// Two inputs and two outputs; output 1 (layer 5) depends on input 2 only.
fn two_in_two_out() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [[4], [3]], "input_nodes": [1, 2], "output_nodes": [5, 4],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 3, "activation_name": "relu"},
            {"type": "Dense", "input_layers": 0, "output_layers": [3, 5], "activation_name": "tanh"},
            {"type": "Add", "input_layers": [1, 2], "output_layers": 4},
            {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "softplus"},
            {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    (spec, WeightsBuilder::new(5).dense(1, 5, 4).dense(2, 5, 3).dense(4, 2, 5).dense(5, 3, 5).build())
}

/// Output layer 1 also feeds output layer 2: under `ignore_last_act` its linear node
/// gets a seed while its activation still carries output 2's multipliers.
fn output_feeding_output() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [1, 2],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": [2, -1], "activation_name": "tanh"},
            {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    (spec, WeightsBuilder::new(17).dense(1, 5, 4).dense(2, 2, 5).build())
}

/// BatchNorm between a Dense layer and a stand-alone activation.
fn batch_norm_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [4],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "linear"},
            {"type": "BatchNorm", "num_features": 6, "eps": 1e-5, "input_layers": 1, "output_layers": 3},
            {"type": "Activation", "act_name": "tanh", "input_layers": 2, "output_layers": 4},
            {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    (spec, WeightsBuilder::new(6).dense(1, 6, 4).batch_norm(2, 6).dense(4, 2, 6).build())
}

/// Padding, BatchNorm, both global poolings, Flatten, Concatenate; a second tabular
/// input; two outputs (softmax and gelu).
fn mixed_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [[2, 5], [3]], "input_nodes": [1, 7], "output_nodes": [10, 8],
        "layers": [
            {"type": "Padding", "padding": [1, 2], "mode": "reflect", "input_layers": 0, "output_layers": 2},
            {"type": "BatchNorm", "num_features": 2, "eps": 1e-5, "input_layers": 1, "output_layers": [3, 4, 5]},
            {"type": "GlobalPooling", "method": "max", "input_layers": 2, "output_layers": 6},
            {"type": "GlobalPooling", "method": "average", "input_layers": 2, "output_layers": 6},
            {"type": "Flatten", "input_layers": 2, "output_layers": 6},
            {"type": "Concatenate", "axis": 2, "input_layers": [3, 4, 5], "output_layers": [8, 9]},
            {"type": "Dense", "input_layers": 0, "output_layers": 9, "activation_name": "tanh"},
            {"type": "Dense", "input_layers": 6, "output_layers": -1, "activation_name": "softmax"},
            {"type": "Concatenate", "axis": -1, "input_layers": [6, 7], "output_layers": 10},
            {"type": "Dense", "input_layers": 9, "output_layers": -1, "activation_name": "gelu"}
        ]
    }));
    let w = WeightsBuilder::new(16).batch_norm(2, 2).dense(7, 4, 3).dense(8, 3, 20).dense(10, 4, 24).build();
    (spec, w)
}

/// Max and average pooling straight after a monotone activation (so `x_ref = x / 2`
/// keeps every window's argmax), 1D or 2D, with a global max pooling branch.
fn pooling_model(two_d: bool) -> (ModelSpec, Weights) {
    let (shape, pool, avg, kernel) = if two_d {
        (json!([2, 4, 6]), "MaxPooling2D", "AveragePooling2D", json!([2, 2]))
    } else {
        (json!([2, 8]), "MaxPooling1D", "AveragePooling1D", json!([2]))
    };
    let spec = model(json!({
        "input_dim": shape, "input_nodes": [1], "output_nodes": [8],
        "layers": [
            {"type": "Activation", "act_name": "softplus", "input_layers": 0, "output_layers": [2, 6]},
            {"type": pool, "kernel_size": kernel, "input_layers": 1, "output_layers": 3},
            {"type": avg, "kernel_size": kernel, "strides": 1, "input_layers": 2, "output_layers": 4},
            {"type": "Flatten", "input_layers": 3, "output_layers": 5},
            {"type": "Dense", "input_layers": 4, "output_layers": 7, "activation_name": "tanh"},
            {"type": "GlobalPooling", "method": "max", "input_layers": 1, "output_layers": 7},
            {"type": "Concatenate", "axis": 2, "input_layers": [5, 6], "output_layers": 8},
            {"type": "Dense", "input_layers": 7, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    // max pool then stride-1 average pool: 1D (2, 8) -> (2, 4) -> (2, 3); 2D (2, 4, 6) -> (2, 2, 3) -> (2, 1, 2)
    let flat_in = if two_d { 2 * 2 } else { 2 * 3 };
    (spec, WeightsBuilder::new(7).dense(5, 4, flat_in).dense(8, 2, 6).build())
}

/// Conv1D(relu) -> MaxPool1D -> Conv1D(tanh, stride 2, padding) -> Flatten -> Dense(softplus)
fn conv1d_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [3, 12], "input_nodes": [1], "output_nodes": [5],
        "layers": [
            {"type": "Conv1D", "activation_name": "relu", "input_layers": 0, "output_layers": 2},
            {"type": "MaxPooling1D", "kernel_size": 2, "input_layers": 1, "output_layers": 3},
            {"type": "Conv1D", "activation_name": "tanh", "stride": 2, "padding": [1, 0], "input_layers": 2, "output_layers": 4},
            {"type": "Flatten", "input_layers": 3, "output_layers": 5},
            {"type": "Dense", "input_layers": 4, "output_layers": -1, "activation_name": "softplus"}
        ]
    }));
    // (3, 12) -conv k3-> (4, 10) -pool 2-> (4, 5) -conv k2 s2 pad(1,0)-> (2, 3) -> 6
    let w = WeightsBuilder::new(8)
        .tensor(1, "weight", &[4, 3, 3])
        .tensor(1, "bias", &[4])
        .tensor(3, "weight", &[2, 4, 2])
        .tensor(3, "bias", &[2])
        .dense(5, 3, 6)
        .build();
    (spec, w)
}

/// Conv2D(softplus, padding 1) -> AvgPool2D -> BatchNorm -> Conv2D(silu) -> MaxPool2D ->
/// Flatten -> Dense(sigmoid)
fn conv2d_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [2, 6, 6], "input_nodes": [1], "output_nodes": [7],
        "layers": [
            {"type": "Conv2D", "activation_name": "softplus", "padding": 1, "input_layers": 0, "output_layers": 2},
            {"type": "AveragePooling2D", "kernel_size": [2, 2], "input_layers": 1, "output_layers": 3},
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 2, "output_layers": 4},
            {"type": "Conv2D", "activation_name": "silu", "input_layers": 3, "output_layers": 5},
            {"type": "MaxPooling2D", "kernel_size": [1, 2], "input_layers": 4, "output_layers": 6},
            {"type": "Flatten", "input_layers": 5, "output_layers": 7},
            {"type": "Dense", "input_layers": 6, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    // (2, 6, 6) -conv k3 p1-> (3, 6, 6) -avg 2-> (3, 3, 3) -BN-> -conv k2-> (4, 2, 2) -max (1, 2)-> (4, 2, 1) -> 8
    let w = WeightsBuilder::new(9)
        .tensor(1, "weight", &[3, 2, 3, 3])
        .tensor(1, "bias", &[3])
        .batch_norm(3, 3)
        .tensor(4, "weight", &[4, 3, 2, 2])
        .tensor(4, "bias", &[4])
        .dense(7, 2, 8)
        .build();
    (spec, w)
}

/// A squeeze-and-excitation block as ONNX imports write it: depthwise Conv2D (groups
/// = channels) -> SiLU; gate = global average -> 1x1 conv (relu) -> 1x1 conv (sigmoid);
/// Multiply(signal, gate) -> Reshape -> Dense(tanh)
fn squeeze_excitation_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [4, 5, 5], "input_nodes": [1], "output_nodes": [8],
        "layers": [
            {"type": "Conv2D", "activation_name": "silu", "padding": 1, "groups": 4, "input_layers": 0, "output_layers": [2, 5]},
            {"type": "AveragePooling2D", "kernel_size": [5, 5], "strides": [5, 5], "input_layers": 1, "output_layers": 3},
            {"type": "Conv2D", "activation_name": "relu", "input_layers": 2, "output_layers": 4},
            {"type": "Conv2D", "activation_name": "sigmoid", "input_layers": 3, "output_layers": 5},
            {"type": "Multiply", "input_layers": [1, 4], "output_layers": 6},
            {"type": "Reshape", "shape": [8, 25], "input_layers": 5, "output_layers": 7},
            {"type": "Flatten", "input_layers": 6, "output_layers": 8},
            {"type": "Dense", "activation_name": "tanh", "input_layers": 7, "output_layers": -1}
        ]
    }));
    let w = WeightsBuilder::new(21)
        .tensor(1, "weight", &[8, 1, 3, 3])
        .tensor(1, "bias", &[8])
        .tensor(3, "weight", &[2, 8, 1, 1])
        .tensor(3, "bias", &[2])
        .tensor(4, "weight", &[8, 2, 1, 1])
        .tensor(4, "bias", &[8])
        .dense(8, 3, 200)
        .build();
    (spec, w)
}

// ---------------------------------------------------------------------------------
// DeepLift: summation to delta

#[test]
fn deeplift_sums_to_delta_for_every_activation() {
    let mut worst = 0.0f64;
    for (i, act) in ACTIVATIONS.iter().enumerate() {
        let (spec, w) = mlp(act);
        worst = worst.max(check_all_rules(&spec, &w, true, 10 + i as u64, &format!("{act} (fused)")));
        let (spec, w) = mlp_standalone(act);
        worst = worst.max(check_all_rules(&spec, &w, true, 30 + i as u64, &format!("{act} (stand-alone)")));
    }
    eprintln!("summation to delta, every activation: max error {worst:.2e}");
}

#[test]
fn deeplift_sums_to_delta_through_skip_concatenate_batch_norm_and_two_outputs() {
    let mut worst = 0.0f64;
    for (name, (spec, w)) in [
        ("skip connection", skip_model()),
        ("concatenate", concat_model()),
        ("batch norm", batch_norm_model()),
        ("two inputs, two outputs", two_in_two_out()),
        ("mixed layers", mixed_model()),
        ("an output feeding another output", output_feeding_output()),
        ("squeeze-excitation gate (Multiply) after a depthwise convolution", squeeze_excitation_model()),
    ] {
        // global max pooling in the mixed model needs winner_takes_all = FALSE for exactness
        worst = worst.max(check_all_rules(&spec, &w, false, 50, name));
    }
    eprintln!("summation to delta, graph structures: max error {worst:.2e}");
}

#[test]
fn deeplift_sums_to_delta_through_pooling() {
    let mut worst = 0.0f64;
    for two_d in [false, true] {
        let (spec, w) = pooling_model(two_d);
        // winner_takes_all = FALSE restores summation to delta for any reference
        worst = worst.max(check_all_rules(&spec, &w, false, 60, &format!("pooling 2D = {two_d}")));
        // winner_takes_all = TRUE is exact when x and x_ref share every argmax
        let g = graph::<f64>(&spec, &w);
        for b in 0..3 {
            let x = random_inputs(&g, 1, 70 + b);
            let x_ref: Vec<ArrayD<f64>> = x.iter().map(|v| v * 0.5).collect();
            for rule in RULES {
                let what = format!("pooling 2D = {two_d}, winner_takes_all, {rule}");
                worst = worst.max(check_sum(&g, deeplift(rule, true), false, &x, &x_ref, &what));
            }
        }
    }
    eprintln!("summation to delta, pooling: max error {worst:.2e}");
}

#[test]
fn winner_takes_all_routes_to_the_argmax_of_x() {
    // MaxPool1D(2) on (1, 4) then a sum: x = (1, 3, 2, 0), x_ref = (4, 1, 0, 1)
    let spec = model(json!({
        "input_dim": [1, 4], "input_nodes": [1], "output_nodes": [3],
        "layers": [
            {"type": "MaxPooling1D", "kernel_size": 2, "input_layers": 0, "output_layers": 2},
            {"type": "Flatten", "input_layers": 1, "output_layers": 3},
            {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    let mut w = Weights::new();
    w.insert("layers.3.weight".into(), ArrayD::from_elem(IxDyn(&[1, 2]), 1.0));
    let g = graph::<f64>(&spec, &w);
    let x = vec![ArrayD::from_shape_vec(IxDyn(&[1, 1, 4]), vec![1.0, 3.0, 2.0, 0.0]).unwrap()];
    let x_ref = vec![ArrayD::from_shape_vec(IxDyn(&[1, 1, 4]), vec![4.0, 1.0, 0.0, 1.0]).unwrap()];
    // multiplier 1 at the argmax of x (positions 1 and 2): contributions 3 − 1 and 2 − 0,
    // which miss Δf = 5 − 5 = 0 because x_ref's first window peaks elsewhere
    let wta = run_on(&g, deeplift("rescale", true), false, &x, &x_ref);
    assert_eq!(wta.result[0].1[0].as_ref().unwrap().as_slice().unwrap(), &[0.0, 2.0, 2.0, 0.0]);
    // average rescaling: window 1 has Δmax = −1 over Δavg = −0.5, window 2 Δmax = 1 over
    // Δavg = 0.5, so m = 2 spread as 1 per element: contributions Δx = (−3, 2, 2, −1)
    let avg = run_on(&g, deeplift("rescale", false), false, &x, &x_ref);
    assert_close(avg.result[0].1[0].as_ref().unwrap(), &(&x[0] - &x_ref[0]).insert_axis(Axis(0)), 1e-15, "average");
}

#[test]
fn deeplift_sums_to_delta_through_convolutions() {
    let mut worst = 0.0f64;
    for (name, (spec, w)) in [("conv1d", conv1d_model()), ("conv2d", conv2d_model())] {
        worst = worst.max(check_all_rules(&spec, &w, false, 80, name));
    }
    eprintln!("summation to delta, convolutions: max error {worst:.2e}");
}

#[test]
fn reveal_cancel_differs_from_rescale() {
    for (name, (spec, w)) in [("dense", mlp("relu")), ("conv1d", conv1d_model()), ("conv2d", conv2d_model())] {
        let g = graph::<f64>(&spec, &w);
        let (x, x_ref) = data_and_ref(&g, 4, 90);
        let a = run_on(&g, deeplift("rescale", true), false, &x, &x_ref);
        let b = run_on(&g, deeplift("reveal_cancel", true), false, &x, &x_ref);
        let (ra, rb) = (a.result[0].1[0].as_ref().unwrap(), b.result[0].1[0].as_ref().unwrap());
        let diff = (ra - rb).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(diff > 1e-3, "{name}: the two rules agree ({diff})");
    }
}

#[test]
fn deeplift_on_a_linear_model_is_gradient_times_difference() {
    let spec = model(json!({
        "input_dim": [[2, 6], [3]], "input_nodes": [1, 5], "output_nodes": [7],
        "layers": [
            {"type": "BatchNorm", "num_features": 2, "eps": 1e-5, "input_layers": 0, "output_layers": 2},
            {"type": "AveragePooling1D", "kernel_size": 3, "strides": 2, "input_layers": 1, "output_layers": 3},
            {"type": "Padding", "padding": [1, 1], "mode": "replicate", "input_layers": 2, "output_layers": 4},
            {"type": "Flatten", "input_layers": 3, "output_layers": 6},
            {"type": "Dense", "input_layers": 0, "output_layers": 6, "activation_name": "linear"},
            {"type": "Concatenate", "axis": 2, "input_layers": [4, 5], "output_layers": 7},
            {"type": "Dense", "input_layers": 6, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    // (2, 6) -avg k3 s2-> (2, 2) -pad-> (2, 4) -> 8, plus 4 from input 2
    let w = WeightsBuilder::new(11).batch_norm(1, 2).dense(5, 4, 3).dense(7, 3, 12).build();
    let g = graph::<f64>(&spec, &w);
    let (x, x_ref) = data_and_ref(&g, 3, 91);
    let grad = gradient(&g, x.clone(), false);
    for rule in RULES {
        let res = run_on(&g, deeplift(rule, true), false, &x, &x_ref);
        for (j, a) in res.result[0].1.iter().enumerate() {
            let want = grad.result[0].1[j].as_ref().unwrap() * &(&x[j] - &x_ref[j]);
            assert_close(a.as_ref().unwrap(), &want, 1e-12, &format!("{rule}, input {j}"));
        }
    }
}

// ---------------------------------------------------------------------------------
// invariances

fn stack(parts: &[ArrayD<f64>], axis: usize) -> ArrayD<f64> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(axis), &views).unwrap()
}

/// Assert that a batch result equals the single-row results stacked along the batch.
fn assert_batch_equals_stacked(batch: &MethodResult<f64>, singles: &[MethodResult<f64>], what: &str) {
    for (o, (_, per_input)) in batch.result.iter().enumerate() {
        for (j, a) in per_input.iter().enumerate() {
            let Some(a) = a else { continue };
            let parts: Vec<ArrayD<f64>> = singles.iter().map(|s| s.result[o].1[j].clone().unwrap()).collect();
            assert_close(a, &stack(&parts, 1), CLOSE, &format!("{what}: output {o}, input {j}"));
        }
        let preds: Vec<ArrayD<f64>> = singles.iter().map(|s| s.pred[o].clone().unwrap()).collect();
        assert_close(batch.pred[o].as_ref().unwrap(), &stack(&preds, 0), CLOSE, &format!("{what}: pred {o}"));
        let goals: Vec<ArrayD<f64>> = singles.iter().map(|s| s.goal[o].clone().unwrap()).collect();
        assert_close(batch.goal[o].as_ref().unwrap(), &stack(&goals, 0), CLOSE, &format!("{what}: goal {o}"));
    }
}

#[test]
fn batch_result_equals_stacked_single_runs_and_chunking_changes_nothing() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let (x, x_ref) = data_and_ref(&g, 4, 100);
    let refs = random_inputs(&g, 3, 101);
    for rule in RULES {
        for (method, r) in [(deeplift(rule, false), &x_ref), (deepshap(rule, false), &refs)] {
            let what = format!("{method:?}");
            let batch = run_on(&g, method.clone(), true, &x, r);
            let singles: Vec<MethodResult<f64>> = (0..4)
                .map(|b| {
                    let xb: Vec<ArrayD<f64>> = x.iter().map(|v| v.slice_axis(Axis(0), (b..b + 1).into()).to_owned()).collect();
                    run_on(&g, method.clone(), true, &xb, r)
                })
                .collect();
            assert_batch_equals_stacked(&batch, &singles, &what);
            let spec = chunked(&run_spec(method.clone(), all_outputs(&g), true));
            let small = match method {
                MethodSpec::DeepShap(_) => run(&g, &spec, x.clone(), None, Some(r.clone())),
                _ => run(&g, &spec, x.clone(), Some(r.clone()), None),
            };
            assert_results_close(&small, &batch, CLOSE, &format!("{what} chunked"));
        }
    }
}

// ---------------------------------------------------------------------------------
// DeepSHAP

#[test]
fn deepshap_sums_to_the_mean_difference_over_references() {
    let mut worst = 0.0f64;
    for (name, (spec, w)) in [("mixed", mixed_model()), ("two outputs", two_in_two_out()), ("conv2d", conv2d_model())] {
        let g = graph::<f64>(&spec, &w);
        let x = random_inputs(&g, 3, 110);
        let refs = random_inputs(&g, 5, 111);
        for rule in RULES {
            for ignore in [false, true] {
                let what = format!("DeepSHAP {name}, {rule}, ignore_last_act = {ignore}");
                worst = worst.max(check_sum(&g, deepshap(rule, false), ignore, &x, &refs, &what));
            }
        }
    }
    eprintln!("DeepSHAP summation to the mean delta: max error {worst:.2e}");
}

#[test]
fn deepshap_is_the_mean_of_deeplift_over_references() {
    let (spec, w) = conv1d_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 2, 120);
    let refs = random_inputs(&g, 3, 121);
    for rule in RULES {
        let shap = run_on(&g, deepshap(rule, true), true, &x, &refs);
        let mut mean: Option<ArrayD<f64>> = None;
        for r in 0..3 {
            let x_ref: Vec<ArrayD<f64>> = refs.iter().map(|v| v.slice_axis(Axis(0), (r..r + 1).into()).to_owned()).collect();
            let one = run_on(&g, deeplift(rule, true), true, &x, &x_ref);
            let a = one.result[0].1[0].clone().unwrap() / 3.0;
            mean = Some(match mean {
                Some(m) => m + a,
                None => a,
            });
        }
        assert_close(shap.result[0].1[0].as_ref().unwrap(), &mean.unwrap(), CLOSE, rule);
    }
}

#[test]
fn deepshap_with_one_zero_reference_equals_deeplift_with_zeros() {
    let (spec, w) = two_in_two_out();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 3, 130);
    let zeros: Vec<ArrayD<f64>> = (0..2).map(|j| ArrayD::zeros(IxDyn(&g.input_batch_shape(j, 1)))).collect();
    for rule in RULES {
        for ignore in [false, true] {
            let a = run_on(&g, deepshap(rule, true), ignore, &x, &zeros);
            let b = run_on(&g, deeplift(rule, true), ignore, &x, &zeros);
            assert_results_close(&a, &b, CLOSE, &format!("{rule}, ignore_last_act = {ignore}"));
        }
    }
}

#[test]
fn references_are_checked() {
    let (spec, w) = mlp("tanh");
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 2, 140);
    let try_run = |method: MethodSpec, x_ref: Option<Vec<ArrayD<f64>>>, data_ref: Option<Vec<ArrayD<f64>>>| {
        let spec = run_spec(method, all_outputs(&g), true);
        let inputs = innsight_core::methods::RunInputs { data: x.clone(), x_ref, data_ref };
        innsight_core::methods::run(&g, &spec, &inputs).err().expect("must fail")
    };
    let e = try_run(deeplift("rescale", true), Some(random_inputs(&g, 2, 141)), None);
    assert!(e.to_string().contains("`x_ref` must hold one instance"), "{e}");
    let e = try_run(deepshap("rescale", true), None, None);
    assert!(e.to_string().contains("DeepSHAP needs `data_ref`"), "{e}");
    let e = try_run(deepshap("rescale", true), None, Some(vec![ArrayD::zeros(IxDyn(&[0, 5]))]));
    assert!(e.to_string().contains("`data_ref` holds no instance"), "{e}");
    let e = try_run(deepshap("reveal", true), None, Some(random_inputs(&g, 2, 142)));
    assert!(e.to_string().contains("'reveal'"), "{e}");
}

// ---------------------------------------------------------------------------------
// ConnectionWeights

fn connection_weights(g: &Graph<f64>, times_input: bool, data: Vec<ArrayD<f64>>) -> MethodResult<f64> {
    let method = MethodSpec::ConnectionWeights(ConnectionWeightsSpec { times_input });
    run(g, &run_spec(method, all_outputs(g), false), data, None, None)
}

fn weight(w: &Weights, i: usize) -> Array2<f64> {
    w[&format!("layers.{i}.weight")].clone().into_dimensionality().unwrap()
}

#[test]
fn global_connection_weights_of_an_mlp_are_the_weight_product() {
    for act in ["relu", "tanh", "softmax"] {
        let (spec, w) = mlp(act);
        let g = graph::<f64>(&spec, &w);
        let res = connection_weights(&g, false, vec![]);
        // [out, in] = W3 W2 W1, i.e. row s of (W1ᵀ W2ᵀ W3ᵀ)ᵀ
        let product = weight(&w, 3).dot(&weight(&w, 2)).dot(&weight(&w, 1));
        let a = res.result[0].1[0].as_ref().unwrap();
        assert_eq!(a.shape(), &[3, 1, 5]);
        assert_close(&a.index_axis(Axis(1), 0).to_owned(), &product.into_dyn(), 1e-12, act);
        assert!(res.pred.iter().all(Option::is_none) && res.goal.iter().all(Option::is_none));

        // local = global ⊙ x
        let x = random_inputs(&g, 4, 150);
        let local = connection_weights(&g, true, x.clone());
        let l = local.result[0].1[0].as_ref().unwrap();
        assert_eq!(l.shape(), &[3, 4, 5]);
        assert_close(l, &(a * &x[0]), 1e-14, "local");
        assert_close(local.pred[0].as_ref().unwrap(), &target(&g, &x, 0, false), 1e-14, "local pred");
        assert!(local.goal[0].is_none());
    }
}

#[test]
fn connection_weights_pass_add_unchanged_to_every_summand() {
    let (spec, w) = skip_model();
    let g = graph::<f64>(&spec, &w);
    let res = connection_weights(&g, false, vec![]);
    // out = W4 (x + W2 x): W4 (I + W2)
    let eye = Array2::<f64>::eye(4);
    let want = weight(&w, 4).dot(&(&eye + &weight(&w, 2)));
    let a = res.result[0].1[0].as_ref().unwrap();
    assert_close(&a.index_axis(Axis(1), 0).to_owned(), &want.into_dyn(), 1e-12, "skip");
}

/// The same model with every activation made linear: its gradient is the weights chain.
fn linearised(spec: &ModelSpec) -> ModelSpec {
    let mut json: Value = serde_json::to_value(spec).unwrap();
    for layer in json["layers"].as_array_mut().unwrap() {
        if layer.get("activation_name").is_some() {
            layer["activation_name"] = json!("linear");
        }
        if layer["type"] == "Activation" {
            layer["act_name"] = json!("linear");
        }
    }
    model(json)
}

#[test]
fn global_connection_weights_equal_the_gradient_of_the_linearised_model() {
    // no max pooling here: the gradient of the linear model then is the weights chain
    let conv_avg = model(json!({
        "input_dim": [2, 6, 6], "input_nodes": [1], "output_nodes": [6],
        "layers": [
            {"type": "Conv2D", "activation_name": "relu", "padding": [1, 0], "stride": [1, 2], "input_layers": 0, "output_layers": 2},
            {"type": "AveragePooling2D", "kernel_size": [2, 2], "input_layers": 1, "output_layers": 3},
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 2, "output_layers": 4},
            {"type": "GlobalPooling", "method": "average", "input_layers": 3, "output_layers": 5},
            {"type": "Dense", "input_layers": 4, "output_layers": 6, "activation_name": "tanh"},
            {"type": "Activation", "act_name": "softmax", "input_layers": 5, "output_layers": -1}
        ]
    }));
    let w = WeightsBuilder::new(12)
        .tensor(1, "weight", &[3, 2, 3, 3])
        .tensor(1, "bias", &[3])
        .batch_norm(3, 3)
        .dense(5, 4, 3)
        .build();
    for (name, (spec, w)) in [
        ("conv + pooling + batch norm", (conv_avg, w)),
        ("two inputs, two outputs", two_in_two_out()),
        ("concatenate", concat_model()),
        ("conv1d with padding", {
            let spec = model(json!({
                "input_dim": [3, 9], "input_nodes": [1], "output_nodes": [4],
                "layers": [
                    {"type": "Padding", "padding": [2, 1], "mode": "constant", "input_layers": 0, "output_layers": 2},
                    {"type": "Conv1D", "activation_name": "silu", "dilation": 2, "input_layers": 1, "output_layers": 3},
                    {"type": "Flatten", "input_layers": 2, "output_layers": 4},
                    {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "sigmoid"}
                ]
            }));
            // (3, 9) -pad-> (3, 12) -conv k3 d2-> (2, 8) -> 16
            let w = WeightsBuilder::new(13).tensor(2, "weight", &[2, 3, 3]).tensor(2, "bias", &[2]).dense(4, 2, 16).build();
            (spec, w)
        }),
    ] {
        let g = graph::<f64>(&spec, &w);
        let cw = connection_weights(&g, false, vec![]);
        let lin = graph::<f64>(&linearised(&spec), &w);
        let grad = gradient(&lin, random_inputs(&lin, 1, 160), false);
        for ((k, a), (kg, b)) in cw.result.iter().zip(&grad.result) {
            assert_eq!(k, kg);
            for (j, (a, b)) in a.iter().zip(b).enumerate() {
                match (a, b) {
                    (Some(a), Some(b)) => assert_close(a, b, 1e-12, &format!("{name}: output {k}, input {j}")),
                    (None, None) => {}
                    _ => panic!("{name}: output {k}, input {j}: connected in one result only"),
                }
            }
        }
    }
}

#[test]
fn connection_weights_need_data_only_when_local() {
    let (spec, w) = mlp("relu");
    let g = graph::<f64>(&spec, &w);
    let method = MethodSpec::ConnectionWeights(ConnectionWeightsSpec { times_input: true });
    let spec = run_spec(method, all_outputs(&g), false);
    let inputs = innsight_core::methods::RunInputs { data: vec![], x_ref: None, data_ref: None };
    let e = innsight_core::methods::run(&g, &spec, &inputs).err().expect("local needs data");
    assert_eq!(e.kind(), "data");
    let json = json!({"method": "connection_weights", "times_input": false, "output_idx": [[2]], "ignore_last_act": false});
    let spec = RunSpec::from_json(&json.to_string()).unwrap();
    let res = innsight_core::methods::run(&g, &spec, &inputs).unwrap();
    assert_eq!(res.result[0].1[0].as_ref().unwrap().shape(), &[1, 1, 5]);
}

#[test]
fn float_and_double_agree() {
    let (spec, w) = conv2d_model();
    let g64 = graph::<f64>(&spec, &w);
    let g32 = graph::<f32>(&spec, &w);
    let (x, x_ref) = data_and_ref(&g64, 2, 170);
    for rule in RULES {
        let spec = run_spec(deeplift(rule, false), all_outputs(&g64), false);
        let a = run(&g64, &spec, x.clone(), Some(x_ref.clone()), None);
        let b = run(&g32, &spec, cast::<f32>(&x), Some(cast::<f32>(&x_ref)), None);
        let b = b.result[0].1[0].as_ref().unwrap().mapv(|v| v as f64);
        assert_rel_to_max(&b, a.result[0].1[0].as_ref().unwrap(), F32_VS_F64, rule);
    }
}
