//! Layer-wise relevance propagation (Bach et al. 2015): a forward trace, then one
//! reverse pass in which every node applies the rule its composite assigns
//! ([`crate::composite`], rules in [`crate::rules::lrp`]).
//!
//! Start value at each selected output node: `z` (the pre-activation) when
//! `ignore_last_act`; otherwise the activated output `y`, minus 0.5 when the output
//! activation is sigmoid or softmax (so that zero relevance means p = 0.5). Only the
//! selected node is seeded (one-hot times the start value). Goal: the start values.
//!
//! JSON (fields of the method description, next to `"method": "lrp"`):
//! `rules` (list of `{"match", "rule", "param", "low", "high"}`, default empty),
//! `composite` (a preset name or null), `winner_takes_all` (default true), and
//! `low`/`high` (input bounds for the preset EpsilonGammaBox and for zbox entries
//! without their own; default null).

use super::expectation::{mean_signals, stack, Context, Plan};
use super::{MethodResult, RunInputs};
use crate::composite::Composite;
use crate::error::Result;
use crate::graph::{Graph, Trace};
use crate::propagate::{backward, Rule};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis};
use serde::Deserialize;
use std::sync::Mutex;

pub use crate::composite::RuleEntry;

fn yes() -> bool {
    true
}

/// Arguments of LRP.
#[derive(Debug, Clone, Deserialize)]
pub struct LrpSpec {
    /// User entries, tried in order before the preset's.
    #[serde(default)]
    pub rules: Vec<RuleEntry>,
    /// A preset composite (see [`crate::composite::presets`]).
    #[serde(default)]
    pub composite: Option<String>,
    /// Max pooling routes relevance to the window's maximum (`true`) or is treated as
    /// average pooling (`false`).
    #[serde(default = "yes")]
    pub winner_takes_all: bool,
    /// Lowest possible input value (zbox).
    #[serde(default)]
    pub low: Option<f64>,
    /// Highest possible input value (zbox).
    #[serde(default)]
    pub high: Option<f64>,
}

/// The data rows themselves, one point per instance.
struct AtData<'a, T: Scalar> {
    data: &'a [ArrayD<T>],
}

impl<T: Scalar> Plan<T> for AtData<'_, T> {
    fn n(&self) -> usize {
        1
    }
    fn point(&self, i: usize, _k: usize, j: usize, mut dst: ArrayViewMutD<T>) {
        dst.assign(&self.data[j].index_axis(Axis(0), i));
    }
    fn times(&self, _i: usize, _k: usize, _j: usize, _point: &ArrayViewD<T>) -> Option<ArrayD<T>> {
        None
    }
}

/// Whether output `k`'s start value is shifted by −0.5 (a probability output explained
/// after its activation).
fn shifted<T: Scalar>(graph: &Graph<T>, k: usize, ignore_last_act: bool) -> bool {
    !ignore_last_act && graph.nodes[graph.outputs[k]].op.activation().is_some_and(|a| a.is_probability())
}

/// Start values `[rows, O_k]` of every output with a selection (all its nodes).
fn start_values<T: Scalar>(ctx: &Context<T>, trace: &Trace<T>) -> Vec<ArrayD<T>> {
    let g = ctx.graph;
    ctx.targets
        .blocks()
        .into_iter()
        .map(|(k, _, _)| {
            let node = if ctx.ignore_last_act { g.preactivations[k] } else { g.outputs[k] };
            let v = trace.values[node].clone();
            if shifted(g, k, ctx.ignore_last_act) {
                v.mapv(|y| y - T::of(0.5))
            } else {
                v
            }
        })
        .collect()
}

/// Run LRP. Rules are resolved (and checked against the model) before any compute.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &LrpSpec) -> Result<MethodResult<T>> {
    let g = ctx.graph;
    let composite = Composite::new(&spec.rules, spec.composite.as_deref(), spec.low, spec.high)?;
    let rules = composite.resolve(g, spec.winner_takes_all)?;
    let rule_for = |id: usize| -> &dyn Rule<T> { rules[id].as_ref() };
    let b = inputs.data[0].shape()[0];
    let rows = g.rows_per_chunk(ctx.targets.total(), ctx.budget);
    // pred and goal of each chunk, from the trace the reverse pass uses
    let (preds, goals) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let relevance = mean_signals(ctx, b, &AtData { data: &inputs.data }, rows, &|xs: &[ArrayD<T>], i0: usize| {
        let trace = g.forward(xs)?;
        let start = start_values(ctx, &trace);
        let mut seeds = ctx.targets.seeds(g, xs[0].shape()[0], ctx.ignore_last_act);
        for ((_, seed), v) in seeds.iter_mut().zip(&start) {
            // one-hot times the start value
            for mut slab in seed.outer_iter_mut() {
                slab *= v;
            }
        }
        let blocks = ctx.targets.blocks();
        goals
            .lock().unwrap_or_else(|e| e.into_inner())
            .push((i0, start.iter().zip(&blocks).map(|(v, (_, _, sel))| v.select(Axis(1), sel)).collect()));
        preds.lock().unwrap_or_else(|e| e.into_inner()).push((i0, ctx.targets.select(g, &trace, false)));
        backward(g, xs, &trace, seeds, &rule_for)
    })?;
    let pred = stack(preds.into_inner().unwrap_or_else(|e| e.into_inner()))?.into_iter().map(Some).collect();
    let goal = stack(goals.into_inner().unwrap_or_else(|e| e.into_inner()))?.into_iter().map(Some).collect();
    Ok(MethodResult { result: ctx.targets.split(g, relevance), pred, goal })
}
