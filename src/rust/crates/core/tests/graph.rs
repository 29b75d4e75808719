//! Whole-model tests of the graph and the gradient-family methods: gradients against
//! finite differences of `Graph::forward` for every activation and layer kind that
//! does not need convolutions, graph validation errors, invariances (batch, output
//! selection, chunking, threads, f32/f64) and method-level properties
//! (IntegratedGradient completeness, ExpectedGradient reproducibility, SmoothGrad
//! without noise).

mod common;

use common::*;
use innsight_core::layers::Weights;
use innsight_core::methods::{MethodResult, MethodSpec};
use innsight_core::{Error, ModelSpec};
use ndarray::{concatenate, ArrayD, Axis, IxDyn};
use serde_json::{json, Value};

/// Check the gradient of every node of every output against finite differences of the
/// forward pass (of the pre-activation when `ignore_last_act`).
fn check_gradient(spec: &ModelSpec, weights: &Weights, ignore_last_act: bool, seed: u64, what: &str) {
    let g = graph::<f64>(spec, weights);
    let x = random_inputs(&g, 3, seed);
    let res = gradient(&g, x.clone(), ignore_last_act);
    assert_eq!(res.result.len(), g.n_outputs(), "{what}: every output is selected");
    let connected = g.connected();
    for (k, per_input) in &res.result {
        let node = if ignore_last_act { g.preactivations[*k] } else { g.outputs[*k] };
        for col in 0..g.output_width(*k) {
            let fd = finite_differences(&g, &x, node, col);
            for (j, grad) in per_input.iter().enumerate() {
                let ctx = format!("{what}: output {k}, node {col}, input {j}");
                match grad {
                    Some(grad) => assert_close(&grad.index_axis(Axis(0), col).to_owned(), &fd[j], FINITE_DIFF, &ctx),
                    None => {
                        assert!(!connected[*k][j], "{ctx}: no result for a connected input");
                        assert!(fd[j].iter().all(|v| *v == 0.0), "{ctx}: unconnected input changes the output");
                    }
                }
            }
        }
    }
}

/// Two Dense layers `5 -> 6 -> 3` with the same activation.
fn mlp(act: &str, args: Value) -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [5], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "dim_in": [5], "dim_out": [6],
             "activation_name": act, "activation_args": args},
            {"type": "Dense", "input_layers": 1, "output_layers": -1, "dim_in": [6], "dim_out": [3],
             "activation_name": act, "activation_args": args}
        ]
    }));
    (spec, WeightsBuilder::new(1).dense(1, 6, 5).dense(2, 3, 6).build())
}

/// The same network with linear Dense layers and stand-alone Activation layers.
fn mlp_standalone(act: &str, args: Value) -> (ModelSpec, Weights) {
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

const ACTIVATIONS: &[&str] = &["relu", "leaky_relu", "softplus", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "silu"];

fn activation_args(act: &str) -> Value {
    match act {
        "leaky_relu" => json!({"negative_slope": 0.3}),
        "softplus" => json!({"beta": 1.5}),
        "elu" => json!({"alpha": 0.7}),
        _ => json!({}),
    }
}

// ---------------------------------------------------------------------------------
// (a) gradients of whole models against finite differences

#[test]
fn gradient_matches_finite_differences_for_every_activation() {
    for (i, act) in ACTIVATIONS.iter().enumerate() {
        let args = activation_args(act);
        let seed = 10 + i as u64;
        let (spec, w) = mlp(act, args.clone());
        check_gradient(&spec, &w, false, seed, &format!("{act} (fused)"));
        check_gradient(&spec, &w, true, seed, &format!("{act} (fused, ignore_last_act)"));
        let (spec, w) = mlp_standalone(act, args);
        check_gradient(&spec, &w, false, seed, &format!("{act} (stand-alone)"));
        check_gradient(&spec, &w, true, seed, &format!("{act} (stand-alone, ignore_last_act)"));
    }
}

#[test]
fn custom_activation_arguments_are_honoured() {
    // y = leaky_relu(1 · x) with slope 0.3 at x = −2 is −0.6 (the default slope would give −0.02)
    let spec = model(json!({
        "input_dim": [1], "input_nodes": [1], "output_nodes": [1],
        "layers": [{"type": "Dense", "input_layers": 0, "output_layers": -1,
                    "activation_name": "leaky_relu", "activation_args": {"negative_slope": 0.3}}]
    }));
    let mut w = Weights::new();
    w.insert("layers.1.weight".into(), ArrayD::from_elem(IxDyn(&[1, 1]), 1.0));
    let g = graph::<f64>(&spec, &w);
    let x = ArrayD::from_elem(IxDyn(&[1, 1]), -2.0);
    let y = &g.forward(std::slice::from_ref(&x)).unwrap().values[g.outputs[0]];
    assert!((y[[0, 0]] + 0.6).abs() < 1e-15, "{y}");
    let grad = gradient(&g, vec![x], false);
    let d = grad.result[0].1[0].as_ref().unwrap();
    assert!((d[[0, 0, 0]] - 0.3).abs() < 1e-15, "{d}");
}

#[test]
fn gradient_through_skip_connection_with_add() {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [4],
        "layers": [
            {"type": "Skipping", "input_layers": 0, "output_layers": [2, 3]},
            {"type": "Dense", "input_layers": 1, "output_layers": 3, "activation_name": "tanh"},
            {"type": "Add", "input_layers": [1, 2], "output_layers": 4, "dim_in": [[4], [4]], "dim_out": [4]},
            {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    let w = WeightsBuilder::new(3).dense(2, 4, 4).dense(4, 2, 4).build();
    check_gradient(&spec, &w, false, 30, "skip connection");
    check_gradient(&spec, &w, true, 31, "skip connection (ignore_last_act)");
}

#[test]
fn gradient_through_concatenate_branches() {
    for axis in [json!(2), json!(-1)] {
        let spec = model(json!({
            "input_dim": [5], "input_nodes": [1], "output_nodes": [5],
            "layers": [
                {"type": "Dense", "input_layers": 0, "output_layers": [2, 3], "activation_name": "elu"},
                {"type": "Dense", "input_layers": 1, "output_layers": 4, "activation_name": "gelu"},
                {"type": "Dense", "input_layers": 1, "output_layers": 4, "activation_name": "silu"},
                {"type": "Concatenate", "axis": axis, "input_layers": [2, 3], "output_layers": 5, "dim_out": [6]},
                {"type": "Dense", "input_layers": 4, "output_layers": -1, "activation_name": "softmax"}
            ]
        }));
        let w = WeightsBuilder::new(4).dense(1, 3, 5).dense(2, 4, 3).dense(3, 2, 3).dense(5, 3, 6).build();
        check_gradient(&spec, &w, false, 40, &format!("concatenate on axis {axis}"));
    }
}

/// Two inputs and two outputs; output 2 depends on input 2 only. `output_nodes` lists
/// the later layer first, so output order differs from layer order.
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

#[test]
fn gradient_with_two_inputs_and_two_outputs() {
    let (spec, w) = two_in_two_out();
    check_gradient(&spec, &w, false, 50, "two inputs, two outputs");
    check_gradient(&spec, &w, true, 51, "two inputs, two outputs (ignore_last_act)");
    let g = graph::<f64>(&spec, &w);
    assert_eq!((g.output_width(0), g.output_width(1)), (3, 2), "outputs follow `output_nodes` order");
    let res = gradient(&g, random_inputs(&g, 2, 52), false);
    // output 1 (layer 5) does not see input 1; output 2 (layer 4) sees both
    assert!(res.result[0].1[0].is_none() && res.result[0].1[1].is_some());
    assert!(res.result[1].1.iter().all(Option::is_some));
}

#[test]
fn gradient_through_batch_norm() {
    let tabular = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [4],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "linear"},
            {"type": "BatchNorm", "num_features": 6, "eps": 1e-5, "input_layers": 1, "output_layers": 3},
            {"type": "Activation", "act_name": "tanh", "input_layers": 2, "output_layers": 4},
            {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    let w = WeightsBuilder::new(6).dense(1, 6, 4).batch_norm(2, 6).dense(4, 2, 6).build();
    check_gradient(&tabular, &w, false, 60, "BatchNorm on (C)");

    for (shape, flat) in [(json!([3, 5]), 15), (json!([3, 2, 4]), 24)] {
        let signal = model(json!({
            "input_dim": shape, "input_nodes": [1], "output_nodes": [4],
            "layers": [
                {"type": "BatchNorm", "num_features": 3, "eps": 0.001, "input_layers": 0, "output_layers": 2, "dim_out": shape},
                {"type": "Activation", "act_name": "softplus", "input_layers": 1, "output_layers": 3},
                {"type": "Flatten", "input_layers": 2, "output_layers": 4, "dim_out": [flat]},
                {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "sigmoid"}
            ]
        }));
        let w = WeightsBuilder::new(7).batch_norm(1, 3).dense(4, 2, flat).build();
        check_gradient(&signal, &w, false, 61, &format!("BatchNorm on {shape}"));
    }
}

#[test]
fn gradient_through_padding_in_every_mode() {
    for (i, mode) in ["constant", "reflect", "replicate", "circular"].iter().enumerate() {
        // (C, L) = (2, 6), padded (left 2, right 1) to (2, 9)
        let spec1d = model(json!({
            "input_dim": [2, 6], "input_nodes": [1], "output_nodes": [4],
            "layers": [
                {"type": "Padding", "padding": [2, 1], "mode": mode, "value": 0.5,
                 "input_layers": 0, "output_layers": 2, "dim_out": [2, 9]},
                {"type": "BatchNorm", "num_features": 2, "eps": 1e-5, "input_layers": 1, "output_layers": 3},
                {"type": "Flatten", "input_layers": 2, "output_layers": 4},
                {"type": "Dense", "input_layers": 3, "output_layers": -1, "activation_name": "tanh"}
            ]
        }));
        let w = WeightsBuilder::new(8).batch_norm(2, 2).dense(4, 3, 18).build();
        check_gradient(&spec1d, &w, false, 70 + i as u64, &format!("Padding 1D {mode}"));

        // (C, H, W) = (2, 4, 3), padded (left 1, right 2, top 0, bottom 1) to (2, 5, 6)
        let spec2d = model(json!({
            "input_dim": [2, 4, 3], "input_nodes": [1], "output_nodes": [3],
            "layers": [
                {"type": "Padding", "padding": [1, 2, 0, 1], "mode": mode, "value": -1.0,
                 "input_layers": 0, "output_layers": 2, "dim_out": [2, 5, 6]},
                {"type": "Flatten", "input_layers": 1, "output_layers": 3},
                {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "silu"}
            ]
        }));
        let w = WeightsBuilder::new(9).dense(3, 2, 60).build();
        check_gradient(&spec2d, &w, false, 80 + i as u64, &format!("Padding 2D {mode}"));
    }
    // `mode` and `value` may be omitted (decision 3: constant, 0)
    let spec = model(json!({
        "input_dim": [1, 3], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "Padding", "padding": 1, "input_layers": 0, "output_layers": 2},
            {"type": "Flatten", "input_layers": 1, "output_layers": -1}
        ]
    }));
    let g = graph::<f64>(&spec, &Weights::new());
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 3]), vec![1.0, 2.0, 3.0]).unwrap();
    let y = &g.forward(&[x]).unwrap().values[g.outputs[0]];
    assert_eq!(y.as_slice().unwrap(), &[0.0, 1.0, 2.0, 3.0, 0.0]);
}

#[test]
fn gradient_through_global_pooling() {
    for (i, method) in ["average", "max"].iter().enumerate() {
        let spec = model(json!({
            "input_dim": [3, 7], "input_nodes": [1], "output_nodes": [3],
            "layers": [
                {"type": "Activation", "act_name": "softplus", "input_layers": 0, "output_layers": 2},
                {"type": "GlobalPooling", "method": method, "input_layers": 1, "output_layers": 3, "dim_out": [3]},
                {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "tanh"}
            ]
        }));
        let w = WeightsBuilder::new(10).dense(3, 2, 3).build();
        check_gradient(&spec, &w, false, 90 + i as u64, &format!("GlobalPooling {method} on (C, L)"));
    }
    // both poolings next to a Flatten of the same (C, L) input, and on (C, H, W)
    for (shape, flat) in [(json!([3, 7]), 21), (json!([3, 2, 4]), 24)] {
        let spec = model(json!({
            "input_dim": shape, "input_nodes": [1], "output_nodes": [6],
            "layers": [
                {"type": "Skipping", "input_layers": 0, "output_layers": [2, 3, 4]},
                {"type": "GlobalPooling", "method": "average", "input_layers": 1, "output_layers": 5},
                {"type": "GlobalPooling", "method": "max", "input_layers": 1, "output_layers": 5},
                {"type": "Flatten", "input_layers": 1, "output_layers": 5},
                {"type": "Concatenate", "axis": 2, "input_layers": [2, 3, 4], "output_layers": 6, "dim_out": [6 + flat]},
                {"type": "Dense", "input_layers": 5, "output_layers": -1, "activation_name": "sigmoid"}
            ]
        }));
        let w = WeightsBuilder::new(11).dense(6, 2, 6 + flat).build();
        check_gradient(&spec, &w, false, 95, &format!("GlobalPooling with Flatten on {shape}"));
    }
}

// ---------------------------------------------------------------------------------
// (b) graph validation errors

fn spec_json(input_dim: Value, layers: Value, input_nodes: Value, output_nodes: Value) -> Value {
    json!({"input_dim": input_dim, "input_nodes": input_nodes, "output_nodes": output_nodes, "layers": layers})
}

fn small_dense_weights() -> Weights {
    WeightsBuilder::new(12).dense(1, 3, 3).dense(2, 3, 3).dense(3, 3, 3).build()
}

#[test]
fn rejects_cycles() {
    let spec = model(spec_json(
        json!([3]),
        json!([
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "relu"},
            {"type": "Add", "input_layers": [1, 3], "output_layers": 3},
            {"type": "Dense", "input_layers": 2, "output_layers": [2, -1], "activation_name": "relu"}
        ]),
        json!([1]),
        json!([3]),
    ));
    let e = build_error(&spec, &small_dense_weights());
    assert_eq!(e.kind(), "model");
    assert!(e.to_string().contains("the layers form a cycle (layers involved: 2, 3)"), "{e}");
}

#[test]
fn rejects_empty_layers() {
    let spec = model(json!({"input_dim": [3], "input_nodes": [1], "output_nodes": [1], "layers": []}));
    let e = build_error(&spec, &Weights::new());
    assert!(e.to_string().contains("no layers"), "{e}");
}

#[test]
fn rejects_bad_input_and_output_nodes() {
    let layers = json!([
        {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "relu"},
        {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "linear"}
    ]);
    let w = small_dense_weights();
    let cases = [
        (json!([3]), json!([3]), json!([2]), "`input_nodes` contains 3, but layers are numbered 1..2"),
        (json!([3]), json!([0]), json!([2]), "`input_nodes` contains 0"),
        (json!([3]), json!([1]), json!([5]), "`output_nodes` contains 5"),
        (json!([3]), json!([1]), json!([]), "`output_nodes` is empty"),
        (json!([[3], [3]]), json!([1]), json!([2]), "`input_dim` describes 2 input(s) but `input_nodes` lists 1"),
    ];
    for (dim, ins, outs, msg) in cases {
        let e = build_error(&model(spec_json(dim, layers.clone(), ins, outs)), &w);
        assert_eq!(e.kind(), "model");
        assert!(e.to_string().contains(msg), "want '{msg}', got '{e}'");
    }
    // layer 2 reads a model input without being listed in `input_nodes`
    let mut layers = layers;
    layers[1]["input_layers"] = json!([1, 0]);
    let e = build_error(&model(spec_json(json!([3]), layers, json!([1]), json!([2]))), &w);
    assert!(e.to_string().contains("layer 2 (Dense): `input_layers` contains 0 (model input) but the layer is not listed"), "{e}");
}

#[test]
fn rejects_unknown_layer_type_when_parsing() {
    let json = json!({
        "input_dim": [3], "input_nodes": [1], "output_nodes": [1],
        "layers": [{"type": "Dense2", "input_layers": 0, "output_layers": -1, "activation_name": "relu"}]
    });
    let e = ModelSpec::from_json(&json.to_string()).unwrap_err();
    assert_eq!(e.kind(), "model");
    assert!(e.to_string().contains("invalid model description") && e.to_string().contains("Dense2"), "{e}");
}

#[test]
fn shape_mismatch_names_the_layer() {
    let spec = model(spec_json(
        json!([3]),
        json!([
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "relu"},
            {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "linear"}
        ]),
        json!([1]),
        json!([2]),
    ));
    // layer 2 expects 4 inputs but layer 1 gives 3
    let w = WeightsBuilder::new(13).dense(1, 3, 3).dense(2, 2, 4).build();
    let e = build_error(&spec, &w);
    assert!(matches!(e, Error::Layer { index: 2, .. }), "{e:?}");
    assert!(e.to_string().starts_with("layer 2 (Dense): input shape (*, 3) does not fit"), "{e}");

    // a layer's own parameters are reported the same way
    let spec = model(json!({
        "input_dim": [2, 4], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "Padding", "padding": [1], "mode": "mirror", "input_layers": 0, "output_layers": 2},
            {"type": "GlobalPooling", "method": "max", "input_layers": 1, "output_layers": -1}
        ]
    }));
    let e = build_error(&spec, &Weights::new());
    assert!(e.to_string().starts_with("layer 1 (Padding): unknown padding `mode` 'mirror'"), "{e}");
    let spec = model(json!({
        "input_dim": [2, 4], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 0, "output_layers": 2},
            {"type": "GlobalPooling", "method": "average", "input_layers": 1, "output_layers": -1}
        ]
    }));
    let e = build_error(&spec, &WeightsBuilder::new(14).batch_norm(1, 3).build());
    assert!(e.to_string().starts_with("layer 1 (BatchNorm): input shape (*, 2, 4) has 2 channel(s)"), "{e}");
    let e = build_error(&spec, &Weights::new());
    assert!(e.to_string().starts_with("layer 1 (BatchNorm): missing weight tensor `gamma`"), "{e}");
}

#[test]
fn rejects_outputs_that_are_not_flat() {
    let spec = model(json!({
        "input_dim": [2, 4], "input_nodes": [1], "output_nodes": [1],
        "layers": [{"type": "Padding", "padding": [1], "input_layers": 0, "output_layers": -1}]
    }));
    let e = build_error(&spec, &Weights::new());
    assert!(e.to_string().contains("output 1 (layer 1) has shape (*, 2, 6)"), "{e}");
}

#[test]
fn rejects_dim_in_and_dim_out_mismatch() {
    let with_dims = |dim_in: Value, dim_out: Value| {
        model(spec_json(
            json!([3]),
            json!([{"type": "Dense", "input_layers": 0, "output_layers": -1, "activation_name": "relu",
                    "dim_in": dim_in, "dim_out": dim_out}]),
            json!([1]),
            json!([1]),
        ))
    };
    let w = WeightsBuilder::new(15).dense(1, 2, 3).build();
    graph::<f64>(&with_dims(json!([3]), json!([2])), &w);
    let e = build_error(&with_dims(json!([4]), json!([2])), &w);
    assert!(e.to_string().contains("layer 1 (Dense): mismatch between the calculated input shape (*, 3) and the given `dim_in` (*, 4)"), "{e}");
    let e = build_error(&with_dims(json!(3), json!([5])), &w);
    assert!(e.to_string().contains("calculated output shape (*, 2) and the given `dim_out` (*, 5)"), "{e}");
}

// ---------------------------------------------------------------------------------
// (c) invariances

/// A model exercising most layer kinds at once: (C, L) input through padding, batch
/// norm, both global poolings and a flatten branch; plus a tabular second input.
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

fn stack(parts: &[ArrayD<f64>], axis: usize) -> ArrayD<f64> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(axis), &views).unwrap()
}

/// Concatenate per-sample results along the batch axis.
fn stack_results(parts: &[MethodResult<f64>]) -> MethodResult<f64> {
    let result = parts[0]
        .result
        .iter()
        .enumerate()
        .map(|(o, (k, per_input))| {
            let inputs = (0..per_input.len())
                .map(|j| per_input[j].as_ref().map(|_| stack(&parts.iter().map(|p| p.result[o].1[j].clone().unwrap()).collect::<Vec<_>>(), 1)))
                .collect();
            (*k, inputs)
        })
        .collect();
    let pred = (0..parts[0].pred.len())
        .map(|o| parts[0].pred[o].as_ref().map(|_| stack(&parts.iter().map(|p| p.pred[o].clone().unwrap()).collect::<Vec<_>>(), 0)))
        .collect();
    let goal = (0..parts[0].goal.len())
        .map(|o| parts[0].goal[o].as_ref().map(|_| stack(&parts.iter().map(|p| p.goal[o].clone().unwrap()).collect::<Vec<_>>(), 0)))
        .collect();
    MethodResult { result, pred, goal }
}

fn invariance_methods() -> Vec<MethodSpec> {
    vec![
        MethodSpec::Gradient { times_input: true },
        MethodSpec::SmoothGrad { times_input: false, n: 4, noise_level: 0.2, seed: 7, row_offset: 0 },
        MethodSpec::IntegratedGradient { times_input: true, n: 6 },
    ]
}

#[test]
fn mixed_model_gradient_matches_finite_differences() {
    let (spec, w) = mixed_model();
    check_gradient(&spec, &w, false, 100, "mixed model");
    check_gradient(&spec, &w, true, 101, "mixed model (ignore_last_act)");
}

#[test]
fn batch_result_equals_stacked_single_sample_results() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 5, 110);
    let x_ref = random_inputs(&g, 1, 111);
    for method in invariance_methods() {
        let rs = run_spec(method.clone(), all_outputs(&g), false);
        let whole = run(&g, &rs, x.clone(), Some(x_ref.clone()), None);
        let singles: Vec<_> = (0..5)
            .map(|b| {
                let xb = x.iter().map(|xi| xi.slice_axis(Axis(0), (b..b + 1).into()).to_owned()).collect();
                run(&g, &rs, xb, Some(x_ref.clone()), None)
            })
            .collect();
        // a one-byte budget gives one-row chunks: the gradient family then cuts through
        // instances (one sampled point per chunk), which must change nothing
        let chunked_run = run(&g, &chunked(&rs), x.clone(), Some(x_ref.clone()), None);
        assert_results_close(&whole, &chunked_run, CLOSE, &format!("{method:?} chunked"));
        if matches!(method, MethodSpec::SmoothGrad { .. }) {
            // SmoothGrad's noise is keyed by the instance's index in the batch, so a
            // batch of one gets instance 0's noise: only row 0 is comparable.
            let (whole, single) = (&whole.result, &singles[0].result);
            for ((_, a), (_, b)) in whole.iter().zip(single) {
                for (a, b) in a.iter().zip(b) {
                    match (a, b) {
                        (Some(a), Some(b)) => assert_close(&a.slice_axis(Axis(1), (0..1).into()).to_owned(), b, CLOSE, "SmoothGrad row 0"),
                        (a, b) => assert_eq!(a.is_none(), b.is_none(), "SmoothGrad connectivity"),
                    }
                }
            }
        } else {
            assert_results_close(&whole, &stack_results(&singles), CLOSE, &format!("{method:?}"));
        }
    }
}

#[test]
fn selecting_several_outputs_equals_selecting_each_alone() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 3, 120);
    let x_ref = random_inputs(&g, 1, 121);
    for method in invariance_methods() {
        let together = run(&g, &run_spec(method.clone(), vec![Some(vec![1, 3]), Some(vec![2])], false), x.clone(), Some(x_ref.clone()), None);
        let cases = [(vec![Some(vec![1]), None], 0, 0), (vec![Some(vec![3]), None], 0, 1), (vec![None, Some(vec![2])], 1, 0)];
        for (sel, out, slab) in cases {
            let alone = run(&g, &run_spec(method.clone(), sel.clone(), false), x.clone(), Some(x_ref.clone()), None);
            let (k, per_input) = &alone.result[0];
            let (k2, joint) = &together.result[out];
            assert_eq!(k, k2);
            for (j, (a, b)) in per_input.iter().zip(joint).enumerate() {
                let ctx = format!("{method:?} {sel:?} input {j}");
                match (a, b) {
                    (Some(a), Some(b)) => assert_close(a, &b.slice_axis(Axis(0), (slab..slab + 1).into()).to_owned(), CLOSE, &ctx),
                    (a, b) => assert_eq!(a.is_none(), b.is_none(), "{ctx}: connectivity"),
                }
            }
            let pred = together.pred[out].as_ref().unwrap().slice_axis(Axis(1), (slab..slab + 1).into()).to_owned();
            assert_close(alone.pred[0].as_ref().unwrap(), &pred, CLOSE, &format!("{method:?} {sel:?} pred"));
        }
    }
}

#[test]
fn one_and_two_threads_give_equal_results() {
    // large enough for the parallel matrix product and parallel elementwise kernels
    let spec = model(json!({
        "input_dim": [300], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "tanh"},
            {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "softmax"}
        ]
    }));
    let w = WeightsBuilder::new(17).dense(1, 200, 300).dense(2, 10, 200).build();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 32, 130);
    let x_ref = random_inputs(&g, 1, 131);
    let (mixed, mw) = mixed_model();
    let gm = graph::<f64>(&mixed, &mw);
    let xm = random_inputs(&gm, 16, 132);
    let xm_ref = random_inputs(&gm, 1, 133);
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    for method in invariance_methods() {
        let rs = run_spec(method.clone(), all_outputs(&g), false);
        let one = pool(1).install(|| run(&g, &rs, x.clone(), Some(x_ref.clone()), None));
        let two = pool(2).install(|| run(&g, &rs, x.clone(), Some(x_ref.clone()), None));
        assert_results_close(&one, &two, CLOSE, &format!("{method:?} MLP"));
        let rs = run_spec(method.clone(), all_outputs(&gm), false);
        let one = pool(1).install(|| run(&gm, &rs, xm.clone(), Some(xm_ref.clone()), None));
        let two = pool(2).install(|| run(&gm, &rs, xm.clone(), Some(xm_ref.clone()), None));
        assert_results_close(&one, &two, CLOSE, &format!("{method:?} mixed model"));
    }
}

#[test]
fn float_and_double_agree() {
    for (spec, w) in [mlp("tanh", json!({})), mixed_model(), two_in_two_out()] {
        let g64 = graph::<f64>(&spec, &w);
        let g32 = graph::<f32>(&spec, &w);
        let x = random_inputs(&g64, 4, 140);
        let x_ref = random_inputs(&g64, 1, 141);
        for method in [MethodSpec::Gradient { times_input: false }, MethodSpec::IntegratedGradient { times_input: true, n: 10 }] {
            let r64 = run(&g64, &run_spec(method.clone(), all_outputs(&g64), false), x.clone(), Some(x_ref.clone()), None);
            let r32 = run(&g32, &run_spec(method.clone(), all_outputs(&g32), false), cast(&x), Some(cast(&x_ref)), None);
            for ((_, a), (_, b)) in r32.result.iter().zip(&r64.result) {
                for (a, b) in a.iter().zip(b) {
                    if let (Some(a), Some(b)) = (a, b) {
                        assert_rel_to_max(&a.mapv(f64::from), b, F32_VS_F64, &format!("{method:?}"));
                    }
                }
            }
            for (a, b) in r32.pred.iter().zip(&r64.pred) {
                let (a, b) = (a.as_ref().expect("pred"), b.as_ref().expect("pred"));
                assert_rel_to_max(&a.mapv(f64::from), b, F32_VS_F64, "pred");
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// (d) method properties

/// Sum of attributions over every input coordinate, `[S, B]` per output.
fn attribution_sums(res: &MethodResult<f64>) -> Vec<ArrayD<f64>> {
    res.result
        .iter()
        .map(|(_, per_input)| {
            per_input
                .iter()
                .flatten()
                .map(|a| {
                    let (s, b) = (a.shape()[0], a.shape()[1]);
                    a.to_shape((s, b, a.len() / (s * b))).unwrap().sum_axis(Axis(2)).into_dyn()
                })
                .reduce(|x, y| x + y)
                .unwrap()
        })
        .collect()
}

/// Largest completeness gap `|Σ attributions − goal|`, relative to the largest |goal|.
fn completeness_gap(res: &MethodResult<f64>) -> f64 {
    let mut gap: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (sum, goal) in attribution_sums(res).iter().zip(&res.goal) {
        let goal = goal.as_ref().unwrap().t().to_owned(); // [B, S] -> [S, B]
        gap = gap.max((sum - &goal).iter().fold(0.0, |m, v| m.max(v.abs())));
        scale = scale.max(goal.iter().fold(0.0, |m, v| m.max(v.abs())));
    }
    gap / scale
}

fn smooth_mlp() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [3],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "tanh"},
            {"type": "Dense", "input_layers": 1, "output_layers": 3, "activation_name": "tanh"},
            {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "tanh"}
        ]
    }));
    (spec, WeightsBuilder::new(18).dense(1, 8, 4).dense(2, 8, 8).dense(3, 3, 8).build())
}

#[test]
fn integrated_gradient_sums_to_the_output_difference() {
    let (spec, w) = smooth_mlp();
    let g = graph::<f64>(&spec, &w);
    let x = vec![random_inputs(&g, 4, 150)[0].mapv(|v| 1.5 * v)];
    let x_ref = vec![ArrayD::zeros(IxDyn(&[1, 4]))];
    let gaps: Vec<f64> = [10, 100, 2000]
        .iter()
        .map(|&n| {
            let rs = run_spec(MethodSpec::IntegratedGradient { times_input: true, n }, all_outputs(&g), false);
            completeness_gap(&run(&g, &rs, x.clone(), Some(x_ref.clone()), None))
        })
        .collect();
    assert!(gaps[0] > gaps[1] && gaps[1] > gaps[2], "the gap must shrink as n grows: {gaps:?}");
    assert!(gaps[2] < IG_COMPLETENESS, "n = 2000: relative gap {} (all: {gaps:?})", gaps[2]);
}

#[test]
fn integrated_gradient_rejects_a_reference_with_several_rows() {
    let (spec, w) = smooth_mlp();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 3, 155);
    let rs = run_spec(MethodSpec::IntegratedGradient { times_input: true, n: 5 }, all_outputs(&g), false);
    let inputs = innsight_core::methods::RunInputs { data: x.clone(), x_ref: Some(x), data_ref: None };
    let e = innsight_core::methods::run(&g, &rs, &inputs).err().expect("an x_ref with 3 rows must be rejected");
    assert_eq!(e.kind(), "argument");
    assert!(e.to_string().contains("`x_ref` must hold one instance"), "{e}");
}

fn expected_gradient_spec(b: usize, n: usize, n_ref: usize, seed: u64) -> MethodSpec {
    let mut rng = innsight_core::rng::Rng::new(seed);
    let ref_index = (0..b * n).map(|_| 1 + (rng.uniform() * n_ref as f64) as usize).collect();
    let alpha = (0..b * n).map(|_| rng.uniform()).collect();
    MethodSpec::ExpectedGradient { n, ref_index, alpha }
}

#[test]
fn expected_gradient_is_reproducible() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 3, 160);
    let refs = random_inputs(&g, 6, 161);
    let method = expected_gradient_spec(3, 5, 6, 162);
    let rs = run_spec(method, all_outputs(&g), false);
    let a = run(&g, &rs, x.clone(), None, Some(refs.clone()));
    let b = run(&g, &rs, x.clone(), None, Some(refs.clone()));
    assert_results_close(&a, &b, 0.0, "same draws");
    let c = run(&g, &chunked(&rs), x.clone(), None, Some(refs.clone()));
    assert_results_close(&a, &c, CLOSE, "same draws, chunked");
    let d = run(&g, &run_spec(expected_gradient_spec(3, 5, 6, 163), all_outputs(&g), false), x, None, Some(refs));
    let differs = a.result[0].1[0].as_ref().unwrap() != d.result[0].1[0].as_ref().unwrap();
    assert!(differs, "other draws give other results");
}

#[test]
fn expected_gradient_is_exact_for_a_linear_model_when_draws_cover_every_reference() {
    let spec = model(json!({
        "input_dim": [4], "input_nodes": [1], "output_nodes": [2],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "linear"},
            {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    let w = WeightsBuilder::new(19).dense(1, 5, 4).dense(2, 2, 5).build();
    let g = graph::<f64>(&spec, &w);
    let (b, n_ref) = (3, 4);
    let x = random_inputs(&g, b, 170);
    let refs = random_inputs(&g, n_ref, 171);
    let ref_index = (0..b).flat_map(|_| 1..=n_ref).collect();
    let alpha = (0..b * n_ref).map(|k| (k as f64 + 0.5) / (b * n_ref) as f64).collect();
    let rs = run_spec(MethodSpec::ExpectedGradient { n: n_ref, ref_index, alpha }, all_outputs(&g), false);
    let res = run(&g, &rs, x, None, Some(refs));
    assert!(completeness_gap(&res) < 1e-12, "gap {}", completeness_gap(&res));
}

#[test]
fn smoothgrad_without_noise_equals_gradient() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 3, 180);
    for times_input in [false, true] {
        let grad = run(&g, &run_spec(MethodSpec::Gradient { times_input }, all_outputs(&g), false), x.clone(), None, None);
        let smooth = MethodSpec::SmoothGrad { times_input, n: 5, noise_level: 0.0, seed: 3, row_offset: 0 };
        let sg = run(&g, &run_spec(smooth, all_outputs(&g), false), x.clone(), None, None);
        assert_results_close(&sg, &grad, CLOSE, &format!("times_input = {times_input}"));
    }
    // with noise, the same seed reproduces and another seed does not
    let noisy = |seed| {
        let m = MethodSpec::SmoothGrad { times_input: false, n: 5, noise_level: 0.3, seed, row_offset: 0 };
        run(&g, &run_spec(m, all_outputs(&g), false), x.clone(), None, None)
    };
    let (a, b, c) = (noisy(1), noisy(1), noisy(2));
    assert_results_close(&a, &b, 0.0, "same seed");
    assert!(a.result[0].1[0] != c.result[0].1[0], "another seed gives other noise");
}

#[test]
fn sampling_methods_reject_zero_samples() {
    let (spec, w) = smooth_mlp();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 2, 190);
    let x_ref = random_inputs(&g, 1, 191);
    let methods = [
        MethodSpec::SmoothGrad { times_input: false, n: 0, noise_level: 0.1, seed: 1, row_offset: 0 },
        MethodSpec::IntegratedGradient { times_input: true, n: 0 },
        MethodSpec::ExpectedGradient { n: 0, ref_index: vec![], alpha: vec![] },
    ];
    for method in methods {
        let rs = run_spec(method.clone(), all_outputs(&g), false);
        let inputs = innsight_core::methods::RunInputs { data: x.clone(), x_ref: Some(x_ref.clone()), data_ref: Some(x_ref.clone()) };
        let e = innsight_core::methods::run(&g, &rs, &inputs).err().unwrap_or_else(|| panic!("{method:?} must be rejected"));
        assert_eq!(e.kind(), "argument");
        assert!(e.to_string().contains("`n` must be at least 1"), "{e}");
    }
}

/// Conv → BatchNorm → relu (the batch norm foldable), a second BatchNorm after a
/// convolution that also feeds an Add (not foldable), Dense → BatchNorm → softmax
/// output.
fn batchnorm_fold_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [2, 5, 5], "input_nodes": [1], "output_nodes": [9],
        "layers": [
            {"type": "Conv2D", "padding": 1, "activation_name": "linear", "input_layers": 0, "output_layers": 2},
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 1, "output_layers": 3},
            {"type": "Activation", "act_name": "relu", "input_layers": 2, "output_layers": [4, 5]},
            {"type": "Conv2D", "activation_name": "linear", "input_layers": 3, "output_layers": [5, 6]},
            {"type": "Add", "input_layers": [3, 4], "output_layers": 7},
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 4, "output_layers": 7},
            {"type": "Add", "input_layers": [5, 6], "output_layers": 8},
            {"type": "Flatten", "input_layers": 7, "output_layers": 9},
            {"type": "Dense", "input_layers": 8, "output_layers": -1, "activation_name": "softmax"}
        ]
    }));
    let w = WeightsBuilder::new(40)
        .tensor(1, "weight", &[3, 2, 3, 3])
        .tensor(1, "bias", &[3])
        .batch_norm(2, 3)
        .tensor(4, "weight", &[3, 3, 1, 1])
        .tensor(4, "bias", &[3])
        .batch_norm(6, 3)
        .dense(9, 4, 75)
        .build();
    (spec, w)
}

#[test]
fn batchnorm_folding_keeps_the_function_and_its_gradient() {
    let (spec, w) = batchnorm_fold_model();
    let g = graph::<f64>(&spec, &w);
    let folded = g.batchnorm_folded();
    // only the first batch norm folds: the second one's convolution also feeds an Add
    assert_eq!(folded.nodes.len(), g.nodes.len() - 1);
    let x = random_inputs(&g, 3, 41);
    let (a, b) = (g.forward(&x).expect("forward"), folded.forward(&x).expect("forward"));
    for (k, (&i, &j)) in g.outputs.iter().zip(&folded.outputs).enumerate() {
        assert_close(&b.values[j], &a.values[i], 1e-13, &format!("output {k}"));
    }
    for (k, (&i, &j)) in g.preactivations.iter().zip(&folded.preactivations).enumerate() {
        assert_close(&b.values[j], &a.values[i], 1e-13, &format!("pre-activation {k}"));
    }
    // the gradient methods run on the folded graph; finite differences use the original
    check_gradient(&spec, &w, false, 42, "batch norm folded");
    check_gradient(&spec, &w, true, 43, "batch norm folded (ignore_last_act)");
    // nothing to fold (a batch norm after padding): the graph itself
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    assert!(std::ptr::eq(g.batchnorm_folded(), &g));
}

#[test]
fn forward_keeping_frees_all_but_the_kept_nodes() {
    let (spec, w) = mixed_model();
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 4, 50);
    let full = g.forward(&x).expect("forward");
    let keep: Vec<usize> = g.outputs.iter().chain(&g.preactivations).copied().collect();
    let lean = g.forward_keeping(&x, &keep).expect("forward");
    for (id, (a, b)) in lean.values.iter().zip(&full.values).enumerate() {
        if keep.contains(&id) {
            assert_eq!(a, b, "kept node {id}");
        } else if g.nodes.iter().any(|n| n.inputs.contains(&innsight_core::graph::Source::Node(id))) {
            assert_eq!(a.len(), 0, "node {id} was consumed and should have been freed");
        }
    }
}
