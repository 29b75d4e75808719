//! Whole-model tests of LRP: conservation (layer by layer and end to end) with zero
//! biases through every layer kind, innsight's start values and goals, the iNNvestigate
//! alpha-beta case, BatchNorm passing relevance exactly, presets, rule resolution
//! errors, the JSON contract, and batch/chunk invariance.

mod common;

use common::*;
use innsight_core::composite::{first_linear, Composite};
use innsight_core::layers::Weights;
use innsight_core::methods::lrp::{LrpSpec, RuleEntry};
use innsight_core::methods::{self, MethodResult, MethodSpec, RunInputs, RunSpec};
use innsight_core::propagate::{backward, Rule};
use innsight_core::rules::lrp::LrpRule;
use innsight_core::{Error, Graph, ModelSpec};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use serde_json::json;
use std::sync::Mutex;

/// Conservation in f64 with zero biases: stabilisers of 1e-15 (and ε = 1e-13) change
/// each denominator by a relative amount far below this.
const CONSERVED: f64 = 1e-10;

fn entry(m: &str, rule: &str, param: Option<f64>) -> RuleEntry {
    RuleEntry { r#match: m.into(), rule: rule.into(), param, low: None, high: None }
}

fn lrp(rules: Vec<RuleEntry>, composite: Option<&str>, winner_takes_all: bool) -> LrpSpec {
    LrpSpec { rules, composite: composite.map(String::from), winner_takes_all, low: None, high: None }
}

/// Set every bias, BatchNorm `beta` and running mean to zero.
fn zero_biases(mut w: Weights) -> Weights {
    for (name, t) in w.iter_mut() {
        if name.ends_with(".bias") || name.ends_with(".beta") || name.ends_with(".run_mean") {
            t.fill(0.0);
        }
    }
    w
}

/// Image model: Conv2D (padding) → BatchNorm → AvgPool2D → Padding → Conv2D →
/// MaxPool2D → Flatten → Dense with output activation `act`.
fn image_model(act: &str) -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [[2, 8, 8]], "input_nodes": [1], "output_nodes": [8],
        "layers": [
            {"type": "Conv2D", "input_layers": 0, "output_layers": 2, "activation_name": "relu", "padding": [1]},
            {"type": "BatchNorm", "num_features": 3, "eps": 1e-3, "input_layers": 1, "output_layers": 3},
            {"type": "AveragePooling2D", "kernel_size": [2, 2], "input_layers": 2, "output_layers": 4},
            {"type": "Padding", "padding": [1, 1, 1, 1], "mode": "constant", "value": 0, "input_layers": 3, "output_layers": 5},
            {"type": "Conv2D", "input_layers": 4, "output_layers": 6, "activation_name": "relu"},
            {"type": "MaxPooling2D", "kernel_size": [2, 2], "input_layers": 5, "output_layers": 7},
            {"type": "Flatten", "input_layers": 6, "output_layers": 8, "dim_out": [16]},
            {"type": "Dense", "input_layers": 7, "output_layers": -1, "activation_name": act, "dim_out": [3]}
        ]
    }));
    let w = WeightsBuilder::new(11)
        .tensor(1, "weight", &[3, 2, 3, 3])
        .tensor(1, "bias", &[3])
        .batch_norm(2, 3)
        .tensor(5, "weight", &[4, 3, 3, 3])
        .tensor(5, "bias", &[4])
        .dense(8, 3, 16)
        .build();
    (spec, w)
}

/// Signal model: Conv1D → MaxPool1D → overlapping AvgPool1D → Flatten → Dense (sigmoid).
fn signal_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [[2, 10]], "input_nodes": [1], "output_nodes": [5],
        "layers": [
            {"type": "Conv1D", "input_layers": 0, "output_layers": 2, "activation_name": "relu"},
            {"type": "MaxPooling1D", "kernel_size": 2, "input_layers": 1, "output_layers": 3},
            {"type": "AveragePooling1D", "kernel_size": 2, "strides": 1, "input_layers": 2, "output_layers": 4},
            {"type": "Flatten", "input_layers": 3, "output_layers": 5, "dim_out": [9]},
            {"type": "Dense", "input_layers": 4, "output_layers": -1, "activation_name": "sigmoid"}
        ]
    }));
    let w = WeightsBuilder::new(12).tensor(1, "weight", &[3, 2, 3]).tensor(1, "bias", &[3]).dense(5, 2, 9).build();
    (spec, w)
}

/// Two inputs and two outputs, with Add and Concatenate: `a = relu(W1 x1)`,
/// `b = tanh(W2 x2)`; output 1 = softmax(W8 (relu(W5 (a + b)) + W6 [a, b])), output 2 =
/// W9 b.
fn branch_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [[5], [4]], "input_nodes": [1, 2], "output_nodes": [8, 9],
        "layers": [
            {"type": "Dense", "input_layers": 0, "output_layers": [3, 4], "activation_name": "relu"},
            {"type": "Dense", "input_layers": 0, "output_layers": [3, 4, 9], "activation_name": "tanh"},
            {"type": "Add", "input_layers": [1, 2], "output_layers": 5},
            {"type": "Concatenate", "axis": 2, "input_layers": [1, 2], "output_layers": 6},
            {"type": "Dense", "input_layers": 3, "output_layers": 7, "activation_name": "relu"},
            {"type": "Dense", "input_layers": 4, "output_layers": 7, "activation_name": "linear"},
            {"type": "Add", "input_layers": [5, 6], "output_layers": 8},
            {"type": "Dense", "input_layers": 7, "output_layers": -1, "activation_name": "softmax"},
            {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "linear"}
        ]
    }));
    let w = WeightsBuilder::new(13)
        .dense(1, 4, 5)
        .dense(2, 4, 4)
        .dense(5, 3, 4)
        .dense(6, 3, 8)
        .dense(8, 2, 3)
        .dense(9, 2, 4)
        .build();
    (spec, w)
}

/// A squeeze-excitation gate as ONNX imports write it: depthwise Conv2D (relu) as
/// the signal; gate = global average -> 1x1 conv (sigmoid); Multiply -> Flatten ->
/// Dense. LRP gives the product's relevance to the signal, none to the gate, so
/// relevance is conserved through the block.
fn gated_model() -> (ModelSpec, Weights) {
    let spec = model(json!({
        "input_dim": [3, 4, 4], "input_nodes": [1], "output_nodes": [6],
        "layers": [
            {"type": "Conv2D", "activation_name": "relu", "padding": 1, "groups": 3, "input_layers": 0, "output_layers": [2, 4]},
            {"type": "AveragePooling2D", "kernel_size": [4, 4], "strides": [4, 4], "input_layers": 1, "output_layers": 3},
            {"type": "Conv2D", "activation_name": "sigmoid", "input_layers": 2, "output_layers": 4},
            {"type": "Multiply", "input_layers": [1, 3], "output_layers": 5},
            {"type": "Flatten", "input_layers": 4, "output_layers": 6},
            {"type": "Dense", "activation_name": "linear", "input_layers": 5, "output_layers": -1}
        ]
    }));
    let w = WeightsBuilder::new(17)
        .tensor(1, "weight", &[6, 1, 3, 3])
        .tensor(1, "bias", &[6])
        .tensor(3, "weight", &[6, 6, 1, 1])
        .tensor(3, "bias", &[6])
        .dense(6, 2, 96)
        .build();
    (spec, w)
}

fn models() -> Vec<(&'static str, ModelSpec, Weights)> {
    let mut v = Vec::new();
    for act in ["softmax", "sigmoid", "linear"] {
        let (s, w) = image_model(act);
        v.push((act, s, w));
    }
    let (s, w) = signal_model();
    v.push(("signal", s, w));
    let (s, w) = branch_model();
    v.push(("branch", s, w));
    let (s, w) = gated_model();
    v.push(("gated", s, w));
    v
}

fn run_lrp(g: &Graph<f64>, spec: LrpSpec, x: &[ArrayD<f64>], ignore_last_act: bool) -> MethodResult<f64> {
    run(g, &run_spec(MethodSpec::Lrp(spec), all_outputs(g), ignore_last_act), x.to_vec(), None, None)
}

/// The start values `[B, O_k]` of output `k`: `z`, or `y` (− 0.5 for a probability output).
fn start_values(g: &Graph<f64>, x: &[ArrayD<f64>], k: usize, ignore_last_act: bool) -> ArrayD<f64> {
    let trace = g.forward(x).unwrap();
    if ignore_last_act {
        return trace.values[g.preactivations[k]].clone();
    }
    let y = trace.values[g.outputs[k]].clone();
    match g.nodes[g.outputs[k]].op.activation() {
        Some(a) if a.is_probability() => y - 0.5,
        _ => y,
    }
}

/// Σ over every input feature of the relevance for output `k`, node `j`, row `b`.
fn total(res: &MethodResult<f64>, k: usize, j: usize, b: usize) -> f64 {
    let (_, per_input) = res.result.iter().find(|(kk, _)| *kk == k).unwrap();
    per_input.iter().flatten().map(|r| r.index_axis(Axis(0), j).index_axis(Axis(0), b).sum()).sum()
}

/// A rule wrapper that records, per node, the worst `|Σ upper − Σ lower|` relative to
/// `Σ |upper|` over slabs and rows.
struct Conserving<'a> {
    inner: &'a dyn Rule<f64>,
    worst: &'a Mutex<Vec<(f64, String)>>,
}

impl Rule<f64> for Conserving<'_> {
    fn backward(
        &self,
        id: usize,
        node: &innsight_core::graph::Node<f64>,
        inputs: &[ArrayViewD<f64>],
        output: &ArrayViewD<f64>,
        upper: &ArrayViewD<f64>,
    ) -> innsight_core::Result<Vec<ArrayD<f64>>> {
        let lower = self.inner.backward(id, node, inputs, output, upper)?;
        let (s, b) = (upper.shape()[0], upper.shape()[1]);
        for si in 0..s {
            for bi in 0..b {
                let up = upper.index_axis(Axis(0), si).index_axis(Axis(0), bi).to_owned();
                let lo: f64 = lower.iter().map(|l| l.index_axis(Axis(0), si).index_axis(Axis(0), bi).sum()).sum();
                let scale = up.iter().map(|v| v.abs()).sum::<f64>();
                if scale > 0.0 {
                    let rel = (up.sum() - lo).abs() / scale;
                    self.worst
                        .lock()
                        .unwrap()
                        .push((rel, format!("node {id} ({}, layer {})", node.type_name, node.layer_index)));
                }
            }
        }
        Ok(lower)
    }
}

/// Run the resolved rules of `spec` node by node (seeds as the method makes them) and
/// return the worst per-node conservation error.
fn layerwise(g: &Graph<f64>, spec: &LrpSpec, x: &[ArrayD<f64>], ignore_last_act: bool) -> (f64, String) {
    let composite = Composite::new(&spec.rules, spec.composite.as_deref(), spec.low, spec.high).unwrap();
    let rules = composite.resolve(g, spec.winner_takes_all).unwrap();
    let worst = Mutex::new(Vec::new());
    let wrapped: Vec<Conserving> = rules.iter().map(|r| Conserving { inner: r.as_ref(), worst: &worst }).collect();
    let trace = g.forward(x).unwrap();
    let b = x[0].shape()[0];
    let mut seeds = Vec::new();
    for k in 0..g.n_outputs() {
        let node = if ignore_last_act { g.preactivations[k] } else { g.outputs[k] };
        let v = start_values(g, x, k, ignore_last_act);
        let o = g.output_width(k);
        let mut seed = ArrayD::<f64>::zeros(IxDyn(&[o, b, o]));
        for j in 0..o {
            for bi in 0..b {
                seed[[j, bi, j]] = v[[bi, j]];
            }
        }
        seeds.push((node, seed));
    }
    let rule_for = |id: usize| -> &dyn Rule<f64> { &wrapped[id] };
    backward(g, x, &trace, seeds, &rule_for).unwrap();
    let all = worst.into_inner().unwrap();
    all.into_iter().fold((0.0, String::new()), |acc, w| if w.0 > acc.0 { w } else { acc })
}

/// With zero biases, `simple` and `epsilon` (tiny ε) conserve relevance at every node
/// and in total (Σ input relevance = start value), for both max pooling modes, both
/// `ignore_last_act` settings, and every model; goal and pred are as innsight's.
#[test]
fn simple_and_epsilon_conserve_relevance_with_zero_biases() {
    for (name, spec, w) in models() {
        let g = graph::<f64>(&spec, &zero_biases(w));
        let x = random_inputs(&g, 3, 5);
        for rule in ["simple", "epsilon"] {
            let param = (rule == "epsilon").then_some(1e-13);
            for wta in [true, false] {
                for ignore_last_act in [true, false] {
                    let what = format!("{name}, {rule}, winner_takes_all = {wta}, ignore_last_act = {ignore_last_act}");
                    let spec = lrp(vec![entry("any", rule, param)], None, wta);
                    let (err, at) = layerwise(&g, &spec, &x, ignore_last_act);
                    assert!(err <= CONSERVED, "{what}: node conservation error {err} at {at}");
                    let res = run_lrp(&g, spec, &x, ignore_last_act);
                    let trace = g.forward(&x).unwrap();
                    for k in 0..g.n_outputs() {
                        let start = start_values(&g, &x, k, ignore_last_act);
                        let goal = res.goal[k].as_ref().unwrap();
                        assert_close(goal, &start, CLOSE, &format!("{what}: goal"));
                        assert_close(
                            res.pred[k].as_ref().unwrap(),
                            &trace.values[g.outputs[k]],
                            CLOSE,
                            &format!("{what}: pred"),
                        );
                        for j in 0..g.output_width(k) {
                            for b in 0..3 {
                                let (sum, want) = (total(&res, k, j, b), start[[b, j]]);
                                assert!(
                                    (sum - want).abs() <= CONSERVED * want.abs(),
                                    "{what}: output {k}, node {j}, row {b}: Σ relevance {sum} vs start value {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// innsight's bias handling on the iNNvestigate issue #273 case: one Dense layer
/// `W = (1, −1)`, `b = −1` at `x = (1, 1)`, so `z = −1`, `P = 1`, `N = −2`.
#[test]
fn alpha_beta_matches_the_innvestigate_issue_case() {
    let spec = model(json!({
        "input_dim": [2], "input_nodes": [1], "output_nodes": [1],
        "layers": [{"type": "Dense", "input_layers": 0, "output_layers": -1, "activation_name": "sigmoid"}]
    }));
    let mut w = Weights::new();
    w.insert("layers.1.weight".into(), ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, -1.0]).unwrap());
    w.insert("layers.1.bias".into(), ArrayD::from_elem(IxDyn(&[1]), -1.0));
    let g = graph::<f64>(&spec, &w);
    let x = vec![ArrayD::from_elem(IxDyn(&[1, 2]), 1.0)];
    for (alpha, want) in [(1.0, [-1.0, 0.0]), (2.0, [-2.0, 0.5])] {
        let res = run_lrp(&g, lrp(vec![entry("any", "alpha_beta", Some(alpha))], None, true), &x, true);
        let r = res.result[0].1[0].as_ref().unwrap();
        assert_eq!(r.shape(), &[1, 1, 2]);
        for (i, &v) in want.iter().enumerate() {
            assert!(
                (r[[0, 0, i]] - v).abs() <= 1e-12,
                "alpha = {alpha}: relevance {i} = {}, expected {v}",
                r[[0, 0, i]]
            );
        }
        assert_eq!(res.goal[0].as_ref().unwrap()[[0, 0]], -1.0);
    }
}

/// A BatchNorm layer with zero running mean and beta under `simple` hands the start
/// value back unchanged (innsight's test), here as the whole model.
#[test]
fn batch_norm_with_zero_mean_and_beta_passes_relevance_exactly() {
    let spec = model(json!({
        "input_dim": [3], "input_nodes": [1], "output_nodes": [1],
        "layers": [{"type": "BatchNorm", "num_features": 3, "eps": 1e-5, "input_layers": 0, "output_layers": -1}]
    }));
    let g = graph::<f64>(&spec, &zero_biases(WeightsBuilder::new(3).batch_norm(1, 3).build()));
    let x = random_inputs(&g, 4, 9);
    let res = run_lrp(&g, lrp(vec![], None, true), &x, true);
    let r = res.result[0].1[0].as_ref().unwrap();
    let z = g.forward(&x).unwrap().values[0].clone();
    for j in 0..3 {
        for b in 0..4 {
            for i in 0..3 {
                assert_eq!(r[[j, b, i]], if i == j { z[[b, j]] } else { 0.0 });
            }
        }
    }
}

/// Rows are independent: the whole batch, single rows and one-row chunks agree.
#[test]
fn results_do_not_depend_on_batch_or_chunking() {
    for (name, spec, w) in models() {
        let g = graph::<f64>(&spec, &w);
        let x = random_inputs(&g, 4, 21);
        let composite = if name == "branch" { "EpsilonPlusFlat" } else { "EpsilonAlpha2Beta1" };
        let spec = lrp(vec![entry("BatchNorm_Layer", "alpha_beta", Some(0.7))], Some(composite), false);
        let rs = run_spec(MethodSpec::Lrp(spec), all_outputs(&g), false);
        let full = run(&g, &rs, x.clone(), None, None);
        let chunks = run(&g, &chunked(&rs), x.clone(), None, None);
        assert_results_close(&chunks, &full, CLOSE, &format!("{name}: chunked"));
        for b in 0..4 {
            let row: Vec<ArrayD<f64>> = x.iter().map(|t| t.slice_axis(Axis(0), (b..b + 1).into()).to_owned()).collect();
            let one = run(&g, &rs, row, None, None);
            for ((_, pa), (_, pb)) in one.result.iter().zip(&full.result) {
                for (ra, rb) in pa.iter().zip(pb) {
                    if let (Some(ra), Some(rb)) = (ra, rb) {
                        let rb = rb.slice_axis(Axis(1), (b..b + 1).into()).to_owned();
                        assert_close(ra, &rb, CLOSE, &format!("{name}: row {b}"));
                    }
                }
            }
        }
    }
}

/// Presets assign zennit's rules (first layer, conv, dense) and run; a preset equals its
/// entries written out, and user entries take precedence over it.
#[test]
fn presets_resolve_and_run() {
    let (spec, w) = image_model("softmax");
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 2, 31);
    let first = first_linear(&g);
    let conv_nodes: Vec<usize> =
        (0..g.nodes.len()).filter(|&i| g.nodes[i].type_name == "Conv2D" && !g.nodes[i].fused).collect();
    assert_eq!(conv_nodes.len(), 2);
    assert!(first[conv_nodes[0]] && !first[conv_nodes[1]]);
    let dense = (0..g.nodes.len()).find(|&i| g.nodes[i].type_name == "Dense" && !g.nodes[i].fused).unwrap();
    let rule_at = |c: &Composite, id: usize| c.rule_of(&g, id, &first).unwrap().0;
    let eps = LrpRule::Epsilon(0.001);
    let cases = [
        ("EpsilonPlus", [LrpRule::ZPlus, LrpRule::ZPlus, eps]),
        ("EpsilonPlusFlat", [LrpRule::Flat, LrpRule::ZPlus, eps]),
        ("EpsilonGammaBox", [LrpRule::ZBox { low: -3.0, high: 3.0 }, LrpRule::Gamma(0.25), eps]),
        ("EpsilonAlpha2Beta1", [LrpRule::AlphaBeta(2.0), LrpRule::AlphaBeta(2.0), eps]),
    ];
    for (preset, want) in cases {
        let c = Composite::new(&[], Some(preset), Some(-3.0), Some(3.0)).unwrap();
        assert_eq!([rule_at(&c, conv_nodes[0]), rule_at(&c, conv_nodes[1]), rule_at(&c, dense)], want, "{preset}");
        // unmatched rule-taking nodes keep innsight's default
        let bn = (0..g.nodes.len()).find(|&i| g.nodes[i].type_name == "BatchNorm").unwrap();
        assert_eq!(rule_at(&c, bn), LrpRule::Simple);
        let mut s = lrp(vec![], Some(preset), true);
        (s.low, s.high) = (Some(-3.0), Some(3.0));
        let res = run_lrp(&g, s, &x, false);
        let r = res.result[0].1[0].as_ref().unwrap();
        assert_eq!(r.shape(), &[3, 2, 2, 8, 8]);
        assert!(r.iter().all(|v| v.is_finite()), "{preset}: non-finite relevance");
    }
    // a preset equals its entries; user entries come first
    let written = lrp(
        vec![entry("first_linear", "flat", None), entry("dense", "epsilon", None), entry("conv", "zplus", None)],
        None,
        true,
    );
    let preset = lrp(vec![], Some("EpsilonPlusFlat"), true);
    assert_results_close(
        &run_lrp(&g, preset, &x, true),
        &run_lrp(&g, written, &x, true),
        0.0,
        "EpsilonPlusFlat written out",
    );
    let override_first = lrp(vec![entry("Conv2D_Layer", "alpha_beta", Some(1.0))], Some("EpsilonPlus"), true);
    let written = lrp(vec![entry("conv", "alpha_beta", Some(1.0)), entry("dense", "epsilon", None)], None, true);
    assert_results_close(
        &run_lrp(&g, override_first, &x, true),
        &run_lrp(&g, written, &x, true),
        0.0,
        "user entries first",
    );
}

/// With `winner_takes_all`, a rule given for max pooling is ignored (the argmax routing).
#[test]
fn winner_takes_all_ignores_max_pooling_rules() {
    let (spec, w) = image_model("linear");
    let g = graph::<f64>(&spec, &w);
    let x = random_inputs(&g, 2, 41);
    let plain = run_lrp(&g, lrp(vec![], None, true), &x, true);
    let with_rule = run_lrp(&g, lrp(vec![entry("MaxPool2D_Layer", "alpha_beta", Some(2.0))], None, true), &x, true);
    assert_results_close(&with_rule, &plain, 0.0, "rule on max pooling under winner_takes_all");
    let averaged = run_lrp(&g, lrp(vec![entry("MaxPool2D_Layer", "alpha_beta", Some(2.0))], None, false), &x, true);
    let diff = averaged.result[0].1[0].as_ref().unwrap() - plain.result[0].1[0].as_ref().unwrap();
    assert!(diff.iter().any(|v| v.abs() > 1e-6), "winner_takes_all = FALSE changes the result");
}

fn lrp_error(g: &Graph<f64>, spec: LrpSpec) -> Error {
    let calls = Mutex::new(0usize);
    let progress = |_: usize, _: usize| *calls.lock().unwrap() += 1;
    let x = random_inputs(g, 2, 1);
    let rs = run_spec(MethodSpec::Lrp(spec), all_outputs(g), true);
    let inputs = RunInputs { data: x, x_ref: None, data_ref: None };
    let err = match methods::run_with_progress(g, &rs, &inputs, Some(&progress)) {
        Ok(_) => panic!("LRP unexpectedly succeeded"),
        Err(e) => e,
    };
    assert_eq!(*calls.lock().unwrap(), 0, "the error must come before any compute");
    err
}

/// Rules that cannot act on a node, and unknown names, are argument errors that name the
/// node (layer index and class) or the value and the allowed ones, before any compute.
#[test]
fn rule_errors_name_the_node_or_the_value() {
    let (spec, w) = image_model("softmax");
    let g = graph::<f64>(&spec, &w);
    let msg = |s: LrpSpec| {
        let e = lrp_error(&g, s);
        assert_eq!(e.kind(), "argument", "{e}");
        e.to_string()
    };
    let e = msg(lrp(vec![entry("Dense_Layer", "pass", None)], None, true));
    assert!(
        e.contains("'pass'") && e.contains("layer 8") && e.contains("Dense_Layer") && e.contains("rule entry 1"),
        "{e}"
    );
    let e = msg(lrp(vec![entry("BatchNorm_Layer", "pass", None), entry("pooling", "pass", None)], None, false));
    assert!(e.contains("layer 3") && e.contains("AvgPool2D_Layer") && e.contains("rule entry 2"), "{e}");
    let e = msg(lrp(vec![entry("any", "alpha-beta", None)], None, true));
    assert!(e.contains("'alpha-beta'") && e.contains("'alpha_beta'"), "{e}");
    let e = msg(lrp(vec![entry("Conv3D_Layer", "simple", None)], None, true));
    assert!(e.contains("'Conv3D_Layer'") && e.contains("'Conv2D_Layer'") && e.contains("'first_linear'"), "{e}");
    let e = msg(lrp(vec![], Some("EpsilonGamma"), true));
    assert!(e.contains("'EpsilonGamma'") && e.contains("'EpsilonGammaBox'"), "{e}");
    let e = msg(lrp(vec![], Some("EpsilonGammaBox"), true));
    assert!(e.contains("EpsilonGammaBox") && e.contains("`low` and `high`"), "{e}");
    let e = msg(lrp(vec![entry("first_linear", "zbox", None)], None, true));
    assert!(e.contains("zbox") && e.contains("`low` and `high`"), "{e}");
    // pass is fine on BatchNorm and passes relevance unchanged there
    let ok = lrp(vec![entry("BatchNorm_Layer", "pass", None)], None, true);
    let res = run_lrp(&g, ok, &random_inputs(&g, 2, 1), true);
    assert!(res.result[0].1[0].as_ref().unwrap().iter().all(|v| v.is_finite()));
}

/// The JSON the R side sends (jsonlite with `auto_unbox`, `null` for NULL).
#[test]
fn the_json_contract_parses() {
    let rs = RunSpec::from_json(
        &json!({
            "method": "lrp",
            "rules": [
                {"match": "Dense_Layer", "rule": "epsilon", "param": 0.01, "low": null, "high": null},
                {"match": "any", "rule": "simple", "param": null, "low": null, "high": null},
                {"match": "first_linear", "rule": "zbox", "param": null, "low": -1, "high": 2}
            ],
            "composite": null,
            "winner_takes_all": false,
            "output_idx": [[1, 2]],
            "ignore_last_act": true
        })
        .to_string(),
    )
    .unwrap();
    let MethodSpec::Lrp(s) = rs.method else { panic!("not LRP") };
    assert_eq!(s.rules.len(), 3);
    assert_eq!(s.rules[0], entry("Dense_Layer", "epsilon", Some(0.01)));
    assert_eq!((s.rules[2].low, s.rules[2].high), (Some(-1.0), Some(2.0)));
    assert!(s.composite.is_none() && !s.winner_takes_all);
    let rs = RunSpec::from_json(
        &json!({"method": "lrp", "rules": [], "composite": "EpsilonGammaBox", "low": -3, "high": 3,
                "winner_takes_all": true, "output_idx": [null], "ignore_last_act": false})
        .to_string(),
    )
    .unwrap();
    let MethodSpec::Lrp(s) = rs.method else { panic!("not LRP") };
    assert_eq!((s.composite.as_deref(), s.low, s.high), (Some("EpsilonGammaBox"), Some(-3.0), Some(3.0)));
    // defaults: no rules, no preset, winner takes all
    let rs = RunSpec::from_json(&json!({"method": "lrp", "output_idx": [[1]], "ignore_last_act": true}).to_string())
        .unwrap();
    let MethodSpec::Lrp(s) = rs.method else { panic!("not LRP") };
    assert!(s.rules.is_empty() && s.composite.is_none() && s.winner_takes_all && s.low.is_none());
}

/// Float and double agree (relative to the result's scale).
#[test]
fn float_agrees_with_double() {
    let (spec, w) = image_model("sigmoid");
    let g64 = graph::<f64>(&spec, &w);
    let g32 = graph::<f32>(&spec, &w);
    let x = random_inputs(&g64, 2, 51);
    for s in
        [lrp(vec![entry("any", "epsilon", Some(0.01))], None, false), lrp(vec![], Some("EpsilonAlpha2Beta1"), true)]
    {
        let rs = run_spec(MethodSpec::Lrp(s), all_outputs(&g64), true);
        let a = run(&g64, &rs, x.clone(), None, None);
        let b = run(&g32, &rs, cast::<f32>(&x), None, None);
        let ra = a.result[0].1[0].as_ref().unwrap();
        let rb = b.result[0].1[0].as_ref().unwrap().mapv(|v| v as f64);
        assert_rel_to_max(&rb, ra, F32_VS_F64, "f32 vs f64");
    }
}
