//! The ONNX reader on PyTorch exports (tests/fixtures/onnx, made by
//! tools/fixtures/make_onnx_fixtures.py): forward passes against onnxruntime (float)
//! and torch (double), and Gradient, IntegratedGradient, DeepLift and LRP-ε against
//! captum and zennit on the same modules; plus bad files.

mod common;

use common::assert_rel_to_max;
use innsight_core::io::onnx::{read_onnx, OnnxModel};
use innsight_core::io::TensorFile;
use innsight_core::methods::{self, RunInputs, RunSpec};
use innsight_core::{Graph, Scalar};
use ndarray::{ArrayD, Axis};
use std::path::PathBuf;

/// Double-precision agreement with the float64 torch module: limited by the float32
/// weights the exporters write after folding batch norms (~1e-7 relative) and by
/// captum's float32 integration step sizes (~2e-8).
const DOUBLE_TOL: f64 = 1e-6;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../tests/fixtures/onnx")
}

fn no_external(loc: &str) -> innsight_core::Result<prost::bytes::Bytes> {
    panic!("unexpected external data {loc}")
}

fn load(file: &str) -> OnnxModel {
    let bytes = std::fs::read(fixtures().join(file)).expect("fixture");
    read_onnx(bytes, &no_external).unwrap_or_else(|e| panic!("{file}: {e}"))
}

struct Refs {
    tensors: std::collections::HashMap<String, ArrayD<f64>>,
}

impl Refs {
    fn load(name: &str) -> Refs {
        let bytes = std::fs::read(fixtures().join(format!("{name}.ref.safetensors"))).expect("refs");
        let file = TensorFile::parse(&bytes).expect("safetensors");
        let tensors = file.entries.iter().map(|e| (e.name.clone(), file.to_f64(e).expect("f64"))).collect();
        Refs { tensors }
    }
    fn get(&self, k: &str) -> Option<&ArrayD<f64>> {
        self.tensors.get(k)
    }
    fn many(&self, prefix: &str) -> Vec<ArrayD<f64>> {
        (1..).map_while(|k| self.get(&format!("{prefix}.{k}")).cloned()).collect()
    }
}

fn manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest")).expect("json")
}

fn cast<T: Scalar>(xs: &[ArrayD<f64>]) -> Vec<ArrayD<T>> {
    xs.iter().map(|x| x.mapv(T::of)).collect()
}

fn outputs<T: Scalar>(g: &Graph<T>, xs: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
    let trace = g.forward(&cast::<T>(xs)).expect("forward");
    g.outputs.iter().map(|&o| trace.values[o].mapv(|v| v.as_f64())).collect()
}

#[test]
fn forward_passes_match_onnxruntime_and_torch() {
    for m in manifest()["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let refs = Refs::load(name);
        let xs = refs.many("input");
        for (kind, ort_key) in [("torchscript", "ort"), ("dynamo", "ort_dynamo")] {
            let file = m["files"][kind].as_str().unwrap();
            let model = load(file);
            // through JSON, as the R package sends it
            let spec = innsight_core::ModelSpec::from_json(&model.spec.to_json().unwrap()).unwrap();
            let g32: Graph<f32> = Graph::build(&spec, &model.weights).unwrap_or_else(|e| panic!("{file}: {e}"));
            let g64: Graph<f64> = Graph::build(&model.spec, &model.weights).unwrap();
            let (ort, torch) = (refs.many(ort_key), refs.many("torch"));
            assert_eq!(ort.len(), g32.n_outputs(), "{file}: outputs");
            for (k, (y, e)) in outputs(&g32, &xs).iter().zip(&ort).enumerate() {
                assert_rel_to_max(y, e, 1e-5, &format!("{file} float output {k} vs onnxruntime"));
            }
            // the TorchScript exporter folds batch norms into the convolutions and
            // rounds the folded weights to float32: ~1e-7 relative off the module
            for (k, (y, e)) in outputs(&g64, &xs).iter().zip(&torch).enumerate() {
                assert_rel_to_max(y, e, DOUBLE_TOL, &format!("{file} double output {k} vs torch"));
            }
        }
    }
}

/// innsight's result `[S, B, in...]` of selected node 0 against a reference `[B, in...]`.
fn check_attribution<T: Scalar>(g: &Graph<T>, spec: &str, xs: &[ArrayD<f64>], expected: &[ArrayD<f64>], tol: f64, what: &str) {
    let rs = RunSpec::from_json(spec).expect("spec");
    let n_in = xs.len();
    let x_ref = Some((0..n_in).map(|k| ArrayD::zeros(g.input_batch_shape(k, 1))).collect());
    let res = methods::run(g, &rs, &RunInputs { data: cast::<T>(xs), x_ref, data_ref: None }).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (_, per_input) = &res.result[0];
    assert_eq!(per_input.len(), expected.len(), "{what}: inputs");
    for (k, (got, e)) in per_input.iter().zip(expected).enumerate() {
        let got = got.as_ref().expect("connected").index_axis(Axis(0), 0).mapv(|v| v.as_f64());
        assert_rel_to_max(&got, e, tol, &format!("{what}, input {k}"));
    }
}

#[test]
fn attributions_match_captum_and_zennit() {
    let man = manifest();
    let (steps, eps) = (man["ig_steps"].as_u64().unwrap(), man["epsilon"].as_f64().unwrap());
    for m in man["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let Some(target) = m["target"].as_u64() else { continue };
        let refs = Refs::load(name);
        let xs = refs.many("input");
        let idx = format!("\"output_idx\": [[{target}]], \"ignore_last_act\": false");
        let cases = [
            ("grad", format!("{{\"method\": \"gradient\", \"times_input\": false, {idx}}}")),
            ("ig", format!("{{\"method\": \"integrated_gradient\", \"times_input\": true, \"n\": {steps}, {idx}}}")),
            ("deeplift", format!("{{\"method\": \"deep_lift\", \"rule\": \"rescale\", \"winner_takes_all\": true, {idx}}}")),
            (
                "lrp_eps",
                format!("{{\"method\": \"lrp\", \"rules\": [{{\"match\": \"any\", \"rule\": \"epsilon\", \"param\": {eps}}}], \"composite\": null, \"winner_takes_all\": true, {idx}}}"),
            ),
        ];
        for kind in ["torchscript", "dynamo"] {
            let file = m["files"][kind].as_str().unwrap();
            let model = load(file);
            let g64: Graph<f64> = Graph::build(&model.spec, &model.weights).unwrap();
            let g32: Graph<f32> = Graph::build(&model.spec, &model.weights).unwrap();
            for (key, spec) in &cases {
                let expected = refs.many(key);
                if expected.is_empty() {
                    continue;
                }
                check_attribution(&g64, spec, &xs, &expected, DOUBLE_TOL, &format!("{file} {key} (double)"));
                check_attribution(&g32, spec, &xs, &expected, 1e-4, &format!("{file} {key} (float)"));
            }
        }
    }
}

#[test]
fn two_output_model_explains_its_second_output() {
    let refs = Refs::load("two_outputs");
    let model = load("two_outputs.onnx");
    let g: Graph<f64> = Graph::build(&model.spec, &model.weights).unwrap();
    let spec = r#"{"method": "gradient", "times_input": false, "output_idx": [null, [1]], "ignore_last_act": false}"#;
    let rs = RunSpec::from_json(spec).unwrap();
    let res = methods::run(&g, &rs, &RunInputs { data: refs.many("input"), x_ref: None, data_ref: None }).unwrap();
    let (k, per_input) = &res.result[0];
    assert_eq!(*k, 1);
    let got = per_input[0].as_ref().unwrap().index_axis(Axis(0), 0).to_owned();
    assert_rel_to_max(&got, &refs.many("grad")[0], 1e-9, "autograd gradient of output 2");
    assert_eq!(model.output_names, ["output_1", "output_2"]);
}

fn read_err(bytes: &[u8]) -> innsight_core::Error {
    read_onnx(bytes.to_vec(), &no_external).expect_err("must fail")
}

#[test]
fn bad_files_give_errors_not_panics() {
    let good = std::fs::read(fixtures().join("resnet50_small.onnx")).unwrap();
    for cut in [1, 10, 100, good.len() / 2, good.len() - 3] {
        let e = read_err(&good[..cut]);
        assert!(matches!(e.kind(), "io" | "model"), "cut {cut}: {e}");
    }
    let mut rng = innsight_core::rng::Rng::new(5);
    for n in [0usize, 1, 7, 64, 4096] {
        let noise: Vec<u8> = (0..n).map(|_| (rng.uniform() * 256.0) as u8).collect();
        let e = read_err(&noise);
        assert!(matches!(e.kind(), "io" | "model"), "noise {n}: {e}");
    }
    // flipping bytes anywhere never panics (errors or a model that still builds)
    for i in (0..good.len()).step_by(97) {
        let mut b = good.clone();
        b[i] ^= 0xa5;
        if let Ok(m) = read_onnx(b, &no_external) {
            let _ = Graph::<f32>::build(&m.spec, &m.weights);
        }
    }
}
