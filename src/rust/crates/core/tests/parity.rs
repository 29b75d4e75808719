//! Numeric parity with the reference fixtures in `tests/fixtures/` of the R package
//! (written by `tools/fixtures/make_fixtures.py` from captum, zennit, torch autograd
//! or a direct re-implementation of innsight's formulas; see the manifest's
//! `reference` and `note` per case).
//!
//! Every manifest row is one case: a model (innsight's list format as JSON, weights
//! under `weights`), the method spec exactly as [`RunSpec`] parses it, the inputs, and
//! the expected result, `pred` and `goal` in f64. Each case runs in f64 and in f32.
//! All cases are checked and reported together; the test fails if any case fails.
//!
//! Run with `cargo test --test parity -- --nocapture` to see the per-case errors.

use innsight_core::layers::Weights;
use innsight_core::methods::{self, MethodResult, RunInputs, RunSpec};
use innsight_core::{Graph, ModelSpec, Scalar};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Double precision: `max |got − expected| <= PARITY_F64 · max(1, max |expected|)`, per tensor.
const PARITY_F64: f64 = 1e-6;
/// Single precision (weights and inputs rounded to f32, computed in f32), same form.
const PARITY_F32: f64 = 1e-4;

/// The error text of a method stub.
const NOT_IMPLEMENTED: &str = "not implemented yet";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../tests/fixtures")
}

fn read_json(rel: &str) -> Value {
    let path = fixtures_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()))
}

/// `{"shape": [...], "data": [...]}` (row-major) as an array.
fn tensor(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> =
        v["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().expect("dim") as usize).collect();
    let data: Vec<f64> = v["data"].as_array().expect("data").iter().map(|x| x.as_f64().expect("number")).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).expect("shape and data agree")
}

fn tensors(v: &Value) -> Vec<ArrayD<f64>> {
    v.as_array().expect("a list of tensors").iter().map(tensor).collect()
}

struct Model {
    spec: ModelSpec,
    weights: Weights,
}

fn load_model(rel: &str) -> Model {
    let v = read_json(rel);
    let spec = ModelSpec::from_json(&v.to_string()).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let weights = v["weights"].as_object().expect("weights").iter().map(|(k, t)| (k.clone(), tensor(t))).collect();
    Model { spec, weights }
}

/// The tolerance of a named level; the manifest repeats the numbers, and they must agree.
fn tolerance(level: &str, double: bool) -> f64 {
    match (level, double) {
        ("standard", true) => PARITY_F64,
        ("standard", false) => PARITY_F32,
        _ => panic!("unknown tolerance level `{level}`"),
    }
}

/// How a case went in one precision.
enum Outcome {
    /// Largest error relative to the allowed error (<= 1).
    Pass(f64),
    NotImplemented(String),
    Fail(String),
}

fn scale_of(a: &ArrayD<f64>) -> f64 {
    a.iter().fold(1.0f64, |m, v| m.max(v.abs()))
}

/// Compare one tensor; returns the error as a fraction of the allowed error.
fn compare(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str, errors: &mut String) -> f64 {
    if got.shape() != want.shape() {
        let _ = writeln!(errors, "    {what}: shape {:?}, expected {:?}", got.shape(), want.shape());
        return f64::INFINITY;
    }
    let mut worst = (0.0f64, 0usize);
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let d = (g - w).abs();
        if d.is_nan() || d > worst.0 {
            worst = (d, i);
        }
    }
    let allowed = tol * scale_of(want);
    let frac = worst.0 / allowed;
    if frac.is_nan() || frac > 1.0 {
        let i = worst.1;
        let _ = writeln!(
            errors,
            "    {what}: max |diff| {:.3e} > {allowed:.3e} (at flat index {i}: got {}, expected {})",
            worst.0,
            got.iter().nth(i).copied().unwrap_or(f64::NAN),
            want.iter().nth(i).copied().unwrap_or(f64::NAN)
        );
    }
    frac
}

/// Core result `[S_k, B, in...]` in innsight's result layout `[B, in..., S_k]`.
fn to_result_layout<T: Scalar>(a: &ArrayD<T>) -> ArrayD<f64> {
    let n = a.ndim();
    let axes: Vec<usize> = (1..n).chain(std::iter::once(0)).collect();
    a.mapv(|v| v.as_f64()).permuted_axes(IxDyn(&axes)).as_standard_layout().into_owned()
}

fn check_result<T: Scalar>(res: &MethodResult<T>, expected: &Value, tol: f64) -> Result<f64, String> {
    let exp = expected["result"].as_array().expect("result");
    let mut errors = String::new();
    let mut worst = 0.0f64;
    let got_outputs: Vec<usize> = res.result.iter().map(|(k, _)| k + 1).collect();
    let want_outputs: Vec<usize> = exp.iter().map(|e| e["output"].as_u64().expect("output") as usize).collect();
    if got_outputs != want_outputs {
        return Err(format!("    explained outputs {got_outputs:?}, expected {want_outputs:?}\n"));
    }
    for (r, ((k, parts), e)) in res.result.iter().zip(exp).enumerate() {
        let want_inputs = e["inputs"].as_array().expect("inputs");
        if parts.len() != want_inputs.len() {
            let _ =
                writeln!(errors, "    output {}: {} input leaves, expected {}", k + 1, parts.len(), want_inputs.len());
            continue;
        }
        for (j, (got, want)) in parts.iter().zip(want_inputs).enumerate() {
            let what = format!("result output {} input {}", k + 1, j + 1);
            match (got, want.is_null()) {
                (None, true) => {}
                (Some(a), false) => {
                    worst = worst.max(compare(&to_result_layout(a), &tensor(want), tol, &what, &mut errors))
                }
                (None, false) => {
                    let _ = writeln!(errors, "    {what}: missing (not connected), expected values");
                }
                (Some(_), true) => {
                    let _ = writeln!(errors, "    {what}: present, expected null (input not connected)");
                }
            }
        }
        for (name, got) in [("pred", res.pred.get(r)), ("goal", res.goal.get(r))] {
            let what = format!("{name} output {}", k + 1);
            match got {
                Some(Some(a)) => {
                    worst = worst.max(compare(&a.mapv(|v| v.as_f64()), &tensor(&e[name]), tol, &what, &mut errors))
                }
                _ => {
                    let _ = writeln!(errors, "    {what}: missing");
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(worst)
    } else {
        Err(errors)
    }
}

struct Inputs {
    data: Vec<ArrayD<f64>>,
    x_ref: Option<Vec<ArrayD<f64>>>,
    data_ref: Option<Vec<ArrayD<f64>>>,
}

fn run_in<T: Scalar>(model: &Model, spec: &RunSpec, inputs: &Inputs, expected: &Value, tol: f64) -> Outcome {
    let graph = match Graph::<T>::build(&model.spec, &model.weights) {
        Ok(g) => g,
        Err(e) => return Outcome::Fail(format!("    graph build failed: {e}\n")),
    };
    let cast = |xs: &Vec<ArrayD<f64>>| xs.iter().map(|x| x.mapv(T::of)).collect::<Vec<_>>();
    let run_inputs = RunInputs {
        data: cast(&inputs.data),
        x_ref: inputs.x_ref.as_ref().map(cast),
        data_ref: inputs.data_ref.as_ref().map(cast),
    };
    match methods::run(&graph, spec, &run_inputs) {
        Err(e) if e.to_string().contains(NOT_IMPLEMENTED) => Outcome::NotImplemented(e.to_string()),
        Err(e) => Outcome::Fail(format!("    method failed: {e}\n")),
        Ok(res) => match check_result(&res, expected, tol) {
            Ok(worst) => Outcome::Pass(worst),
            Err(msg) => Outcome::Fail(msg),
        },
    }
}

#[test]
fn parity_with_reference_fixtures() {
    let manifest = read_json("manifest.json");
    let levels = manifest["tolerances"].as_object().expect("tolerances");
    for (level, v) in levels {
        assert_eq!(
            v["double"].as_f64(),
            Some(tolerance(level, true)),
            "manifest tolerance `{level}` (double) differs from this test's"
        );
        assert_eq!(
            v["float"].as_f64(),
            Some(tolerance(level, false)),
            "manifest tolerance `{level}` (float) differs from this test's"
        );
    }
    let cases = manifest["cases"].as_array().expect("cases");
    assert!(!cases.is_empty(), "the manifest lists no cases");

    let mut models: HashMap<String, Model> = HashMap::new();
    let mut report = String::new();
    let mut failures: Vec<String> = Vec::new();
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let method = case["method"].as_str().expect("method");
        let model_file = case["model"].as_str().expect("model");
        let model = models.entry(model_file.to_string()).or_insert_with(|| load_model(model_file));
        let spec = RunSpec::from_json(&case["spec"].to_string()).unwrap_or_else(|e| panic!("{id}: {e}"));
        let optional = |key: &str| case[key].as_str().map(|f| tensors(&read_json(f)));
        let inputs = Inputs {
            data: tensors(&read_json(case["data"].as_str().expect("data"))),
            x_ref: optional("x_ref"),
            data_ref: optional("data_ref"),
        };
        let expected = read_json(case["expected"].as_str().expect("expected"));
        let level = case["tolerance"].as_str().expect("tolerance");

        let outcomes = [
            ("f64", run_in::<f64>(model, &spec, &inputs, &expected, tolerance(level, true))),
            ("f32", run_in::<f32>(model, &spec, &inputs, &expected, tolerance(level, false))),
        ];
        let reference = case["reference"].as_str().unwrap_or("?");
        let mut line = format!("{id:45} {reference:17}");
        for (dtype, outcome) in &outcomes {
            match outcome {
                Outcome::Pass(frac) => {
                    let _ = write!(line, " {dtype} ok ({:.1e} of tol)", frac);
                }
                Outcome::NotImplemented(msg) => {
                    let _ = write!(line, " {dtype} NOT IMPLEMENTED");
                    failures.push(format!("{id} [{dtype}]: {msg} (method `{method}`)"));
                }
                Outcome::Fail(msg) => {
                    let _ = write!(line, " {dtype} FAIL");
                    failures
                        .push(format!("{id} [{dtype}] ({reference}; {}):\n{msg}", case["note"].as_str().unwrap_or("")));
                }
            }
        }
        let _ = writeln!(report, "{line}");
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "{} of {} parity checks failed:\n{}",
        failures.len(),
        2 * cases.len(),
        failures.join("\n")
    );
}
