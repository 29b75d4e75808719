//! DeepLift (Shrikumar et al. 2017) with one reference `x_ref`: multipliers from the
//! [`DeepLift`] rule, seeded with ones (one-hot) at the selected output nodes, and
//! contribution `m ⊙ (x − x_ref)` per input. Decomposition goal: `z(x) − z(x_ref)`
//! (`z` = pre-activation when `ignore_last_act`); `pred` is the activated output at `x`.
//!
//! JSON (`RunSpec` fields plus): `{"method": "deep_lift", "rule": "rescale" |
//! "reveal_cancel", "winner_takes_all": bool}`; `x_ref` is one `[1, in...]` row per
//! model input.
//!
//! The engine is shared with DeepSHAP: [`attribute`] pairs every instance with every
//! reference row (instance-major), runs the data and the tiled references as two
//! traces of the same batch, and averages `m ⊙ (x − ref)` over the references.
//! DeepLift is the case of a single reference.

use super::expectation::{mean_rows, mean_signals, outputs, stack, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::propagate::{backward, Rule};
use crate::rules::deeplift::{DeepLift, DeepLiftKind, Traced};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis};
use serde::Deserialize;
use std::sync::Mutex;

/// Arguments of DeepLift.
#[derive(Debug, Clone, Deserialize)]
pub struct DeepLiftSpec {
    /// innsight's `rule_name`: `"rescale"` or `"reveal_cancel"`.
    pub rule: String,
    /// Max pooling: route multipliers to the argmax of `x` (`true`, innsight's default)
    /// or rescale through the average of the window (`false`, sums to delta).
    pub winner_takes_all: bool,
}

/// Every instance paired with every reference row: `n = R` points per instance, all
/// equal to the instance, each weighted by `x − ref_r`.
struct Pairs<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
    refs: &'a [ArrayD<T>],
}

impl<T: Scalar> Plan<T> for Pairs<'_, T> {
    fn n(&self) -> usize {
        self.refs[0].shape()[0]
    }
    fn point(&self, i: usize, _k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        dst.assign(&self.data[j].index_axis(Axis(0), i));
    }
    fn times(&self, _i: usize, k: usize, j: usize, point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        Some(point - &self.refs[j].index_axis(Axis(0), k))
    }
}

/// `mean_r m_r ⊙ (x − ref_r)` per selected output and input, with pred `= f(x)` and goal
/// `= z(x) − mean_r z(ref_r)`. `refs` hold `R ≥ 1` rows per model input (checked by the
/// caller); `data` is checked by [`super::run_with_progress`].
pub(super) fn attribute<T: Scalar>(
    ctx: &Context<T>,
    data: &[ArrayD<T>],
    refs: &[ArrayD<T>],
    kind: DeepLiftKind,
    winner_takes_all: bool,
) -> Result<MethodResult<T>> {
    let g = ctx.graph;
    let (b, r) = (data[0].shape()[0], refs[0].shape()[0]);
    // two traces per row (data and reference)
    let rows_per_chunk = g.rows_per_chunk(ctx.targets.total(), ctx.budget / 2);
    // pred and z(x) of each chunk's instances, and mean_r z(ref_r): read off the traces
    // the multipliers need anyway instead of two more forward passes
    let (preds, zs) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let z_ref: Mutex<Option<Vec<ArrayD<T>>>> = Mutex::new(None);
    let signals = mean_signals(ctx, b, &Pairs { data, refs }, rows_per_chunk, &|xs: &[ArrayD<T>], i0: usize| {
        let rows = xs[0].shape()[0];
        // row q pairs instance q / R with reference q % R (chunks hold whole instances)
        let tiled: Vec<ArrayD<T>> = refs
            .iter()
            .map(|x_ref| {
                let index: Vec<usize> = (0..rows).map(|q| q % r).collect();
                x_ref.select(Axis(0), &index)
            })
            .collect();
        // the two passes are independent: one per thread
        let (trace, ref_trace) = rayon::join(|| g.forward(xs), || g.forward(&tiled));
        let (trace, ref_trace) = (trace?, ref_trace?);
        let first_rows: Vec<usize> = (0..rows / r).map(|i| i * r).collect();
        let pick = |t: &crate::graph::Trace<T>, pre: bool, at: &[usize]| -> Vec<ArrayD<T>> {
            ctx.targets.select(g, t, pre).into_iter().map(|a| a.select(Axis(0), at)).collect()
        };
        preds.lock().unwrap_or_else(|e| e.into_inner()).push((i0, pick(&trace, false, &first_rows)));
        zs.lock().unwrap_or_else(|e| e.into_inner()).push((i0, pick(&trace, ctx.ignore_last_act, &first_rows)));
        z_ref.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| {
            let all: Vec<usize> = (0..r).collect();
            pick(&ref_trace, ctx.ignore_last_act, &all).iter().map(mean_rows).collect()
        });
        let seeds = ctx.targets.seeds(g, rows, ctx.ignore_last_act);
        let seeded: Vec<usize> = seeds.iter().map(|(id, _)| *id).collect();
        let rule = DeepLift::new(
            g,
            Traced { inputs: xs, trace: &trace },
            Traced { inputs: &tiled, trace: &ref_trace },
            kind,
            winner_takes_all,
            &seeded,
        )?;
        backward(g, xs, &trace, seeds, &|_| -> &dyn Rule<T> { &rule })
    })?;
    let (pred, z) = (stack(preds.into_inner().unwrap_or_else(|e| e.into_inner()))?, stack(zs.into_inner().unwrap_or_else(|e| e.into_inner()))?);
    let z_ref = match z_ref.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(z) => z,
        // no rows, no chunk: the references' outputs need their own pass
        None => outputs(ctx, refs)?.1.iter().map(mean_rows).collect(),
    };
    let goal = z.iter().zip(&z_ref).map(|(z, z_ref)| Some(z - z_ref)).collect();
    Ok(MethodResult { result: ctx.targets.split(g, signals), pred: pred.into_iter().map(Some).collect(), goal })
}

/// Check a reference argument (`what`, needed by `method`) against the model; returns
/// the references and their number of rows (at least one).
pub(super) fn check_refs<'a, T: Scalar>(
    ctx: &Context<T>,
    refs: Option<&'a Vec<ArrayD<T>>>,
    what: &str,
    method: &str,
) -> Result<(&'a [ArrayD<T>], usize)> {
    let refs = refs.ok_or_else(|| Error::Argument(format!("{method} needs `{what}`")))?;
    let n = ctx.graph.check_inputs(refs, what)?;
    if n == 0 {
        return Err(Error::Argument(format!("`{what}` holds no instance")));
    }
    Ok((refs, n))
}

/// Run DeepLift.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &DeepLiftSpec) -> Result<MethodResult<T>> {
    let kind = DeepLiftKind::from_name(&spec.rule)?;
    let (x_ref, n_ref) = check_refs(ctx, inputs.x_ref.as_ref(), "x_ref", "DeepLift")?;
    if n_ref != 1 {
        return Err(Error::Argument(format!("`x_ref` must hold one instance (a batch of 1), got {n_ref}")));
    }
    attribute(ctx, &inputs.data, x_ref, kind, spec.winner_takes_all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::layers::Weights;
    use crate::methods::{run as run_method, MethodSpec, RunSpec};
    use crate::spec::ModelSpec;
    use ndarray::IxDyn;

    fn small() -> Graph<f64> {
        let spec = ModelSpec::from_json(
            &serde_json::json!({
                "input_dim": [3], "input_nodes": [1], "output_nodes": [2],
                "layers": [
                    {"type": "Dense", "input_layers": 0, "output_layers": 2, "activation_name": "tanh"},
                    {"type": "Dense", "input_layers": 1, "output_layers": -1, "activation_name": "sigmoid"}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let mut w = Weights::new();
        let m = |s: &[usize], v: &[f64]| ArrayD::from_shape_vec(IxDyn(s), v.to_vec()).unwrap();
        w.insert("layers.1.weight".into(), m(&[2, 3], &[0.5, -1.0, 0.3, 1.2, 0.4, -0.7]));
        w.insert("layers.1.bias".into(), m(&[2], &[0.1, -0.2]));
        w.insert("layers.2.weight".into(), m(&[2, 2], &[1.0, -0.5, 0.3, 0.8]));
        Graph::build(&spec, &w).unwrap()
    }

    fn spec(json: serde_json::Value) -> RunSpec {
        RunSpec::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn json_contract_and_argument_errors() {
        let g = small();
        let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.2, -0.3, 1.0, 0.5, 0.5, -1.0]).unwrap();
        let x_ref = ArrayD::zeros(IxDyn(&[1, 3]));
        let rs = spec(serde_json::json!({"method": "deep_lift", "rule": "reveal_cancel", "winner_takes_all": true,
                                          "output_idx": [[1, 2]], "ignore_last_act": false}));
        assert!(matches!(&rs.method, MethodSpec::DeepLift(s) if s.rule == "reveal_cancel" && s.winner_takes_all));
        let inputs = RunInputs { data: vec![x.clone()], x_ref: Some(vec![x_ref.clone()]), data_ref: None };
        let res = run_method(&g, &rs, &inputs).unwrap();
        let a = res.result[0].1[0].as_ref().unwrap();
        assert_eq!(a.shape(), &[2, 2, 3]);
        let goal = res.goal[0].as_ref().unwrap();
        for b in 0..2 {
            for s in 0..2 {
                let total: f64 = a.index_axis(Axis(0), s).index_axis(Axis(0), b).sum();
                assert!((total - goal[[b, s]]).abs() < 1e-14);
            }
        }

        let bad = spec(serde_json::json!({"method": "deep_lift", "rule": "simple", "winner_takes_all": true,
                                           "output_idx": [[1]], "ignore_last_act": true}));
        let e = run_method(&g, &bad, &inputs).err().unwrap();
        assert_eq!(e.kind(), "argument");
        assert!(e.to_string().contains("'simple'"), "{e}");

        let rs = spec(serde_json::json!({"method": "deep_lift", "rule": "rescale", "winner_takes_all": false,
                                          "output_idx": [[1]], "ignore_last_act": true}));
        let none = RunInputs { data: vec![x.clone()], x_ref: None, data_ref: None };
        assert!(run_method(&g, &rs, &none).err().unwrap().to_string().contains("needs `x_ref`"));
        let two = RunInputs { data: vec![x.clone()], x_ref: Some(vec![x.clone()]), data_ref: None };
        assert!(run_method(&g, &rs, &two).err().unwrap().to_string().contains("one instance"));
        let wrong = RunInputs { data: vec![x], x_ref: Some(vec![ArrayD::zeros(IxDyn(&[1, 4]))]), data_ref: None };
        assert_eq!(run_method(&g, &rs, &wrong).err().unwrap().kind(), "data");
    }
}
