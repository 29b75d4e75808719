//! The shared engine of the gradient family: average a (weighted) gradient over `n`
//! sampled points per instance. Gradient is `n = 1` at `x`; SmoothGrad samples noisy
//! copies; IntegratedGradient walks the path from `x_ref`; ExpectedGradient samples
//! references and path points. [`mean_signals`] is the same engine with the backward
//! pass supplied by the caller (DeepLift and DeepSHAP average multipliers over
//! references with it).
//!
//! Point rows are processed in chunks so that one chunk's trace and backward signals
//! fit the memory budget; results do not depend on the chunking.

use crate::error::{Error, Result};
use crate::graph::{Graph, Trace};
use crate::methods::Targets;
use crate::propagate::{backward, GradientRule, Rule};
use ndarray::Zip;
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn};

/// What every method run shares.
pub struct Context<'a, T: Scalar> {
    pub graph: &'a Graph<T>,
    pub targets: &'a Targets,
    pub ignore_last_act: bool,
    /// Memory budget per chunk, in bytes.
    pub budget: usize,
    /// Called after each chunk with (rows done, rows in total).
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// A sampling plan: `n` points per instance, and an optional per-point multiplier of
/// the gradient (e.g. `x − x_ref`).
pub trait Plan<T: Scalar>: Sync {
    /// Points per instance.
    fn n(&self) -> usize;
    /// Write point `k` of instance `i` for model input `j` into `dst` (`[in...]`).
    fn point(&self, i: usize, k: usize, j: usize, dst: ArrayViewMutD<T>);
    /// Multiply the gradient at that point by this (`[in...]`), or `None`.
    fn times(&self, i: usize, k: usize, j: usize, point: &ArrayViewD<T>) -> Option<ArrayD<T>>;
}

/// Mean over each instance's points of `gradient ⊙ multiplier`, per model input
/// `[S, B, in...]` (`None` where no gradient arrives). Chunks may split an instance's
/// points: the gradient of one point does not depend on the others, and a large `n`
/// (IntegratedGradient's 50 path points of a ResNet) must not force all of an
/// instance's traces into memory at once.
pub fn mean_gradients<T: Scalar>(ctx: &Context<T>, b: usize, plan: &dyn Plan<T>) -> Result<Vec<Option<ArrayD<T>>>> {
    let g = ctx.graph;
    let rows = g.rows_per_chunk(ctx.targets.total(), ctx.budget);
    accumulate(ctx, b, plan, Chunking::Rows(rows), &|xs: &[ArrayD<T>], _| gradients(ctx, xs, None))
}

/// A look at each chunk's forward trace, with the index of the chunk's first instance
/// (e.g. to take the model outputs from it instead of running another forward pass).
pub type OnTrace<'a, T> = dyn Fn(usize, &Trace<T>) + Sync + 'a;

/// [`mean_gradients`] on chunks of whole instances, handing each chunk's trace to
/// `on_trace` before its reverse pass.
pub fn mean_gradients_with<T: Scalar>(
    ctx: &Context<T>,
    b: usize,
    plan: &dyn Plan<T>,
    on_trace: &OnTrace<T>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    let rows = ctx.graph.rows_per_chunk(ctx.targets.total(), ctx.budget);
    mean_signals(ctx, b, plan, rows, &|xs: &[ArrayD<T>], i0: usize| gradients(ctx, xs, Some((i0, on_trace))))
}

/// The gradients of the selected outputs at the rows `xs`, `[S, rows, in...]` per input.
fn gradients<T: Scalar>(
    ctx: &Context<T>,
    xs: &[ArrayD<T>],
    on_trace: Option<(usize, &OnTrace<T>)>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    let g = ctx.graph;
    let rule = GradientRule;
    let trace = g.forward(xs)?;
    if let Some((i0, f)) = on_trace {
        f(i0, &trace);
    }
    let seeds = ctx.targets.seeds(g, xs[0].shape()[0], ctx.ignore_last_act);
    backward(g, xs, &trace, seeds, &|_| -> &dyn Rule<T> { &rule })
}

/// The backward signals of one chunk: given the chunk's points (`[rows, in...]` per
/// model input, rows instance-major with `plan.n()` points each) and the index of the
/// chunk's first instance, return `[S, rows, in...]` per model input.
pub type ChunkSignals<'a, T> = dyn Fn(&[ArrayD<T>], usize) -> Result<Vec<Option<ArrayD<T>>>> + Sync + 'a;

/// Mean over each instance's points of `signal ⊙ multiplier`, per model input
/// `[S, B, in...]`, with the signals computed by `signals` on chunks of whole instances
/// of at most `rows_per_chunk` rows (at least one instance).
pub fn mean_signals<T: Scalar>(
    ctx: &Context<T>,
    b: usize,
    plan: &dyn Plan<T>,
    rows_per_chunk: usize,
    signals: &ChunkSignals<T>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    accumulate(ctx, b, plan, Chunking::Instances(rows_per_chunk), signals)
}

/// How the `B · n` point rows are cut into chunks.
#[derive(Clone, Copy)]
enum Chunking {
    /// Whole instances, at most this many rows (but at least one instance).
    Instances(usize),
    /// At most this many rows, cutting through instances where needed.
    Rows(usize),
}

/// The shared loop: build each chunk's points, get their signals, multiply, and sum
/// them into `[S, B, in...]`; divide by `n` at the end.
fn accumulate<T: Scalar>(
    ctx: &Context<T>,
    b: usize,
    plan: &dyn Plan<T>,
    chunking: Chunking,
    signals: &ChunkSignals<T>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    let g = ctx.graph;
    let n = plan.n().max(1);
    let total = b * n;
    let step = match chunking {
        Chunking::Instances(rows) => (rows / n).max(1) * n,
        Chunking::Rows(rows) => rows.max(1),
    };
    let mut out: Vec<Option<ArrayD<T>>> = (0..g.input_shapes.len()).map(|_| None).collect();
    let mut r0 = 0;
    while r0 < total {
        let r1 = (r0 + step).min(total);
        let rows = r1 - r0;
        let mut xs: Vec<ArrayD<T>> = (0..g.input_shapes.len()).map(|j| ArrayD::zeros(IxDyn(&g.input_batch_shape(j, rows)))).collect();
        for (j, x) in xs.iter_mut().enumerate() {
            for (r, row) in x.outer_iter_mut().enumerate() {
                plan.point((r0 + r) / n, (r0 + r) % n, j, row);
            }
        }
        let unit = if matches!(chunking, Chunking::Instances(_)) { n } else { 1 };
        let grads = split_signals(signals, &xs, r0, n, unit)?;
        for (j, grad) in grads.into_iter().enumerate() {
            let Some(grad) = grad else { continue };
            let dst = out[j].get_or_insert_with(|| {
                let mut full = grad.shape().to_vec();
                full[1] = b;
                ArrayD::zeros(IxDyn(&full))
            });
            for r in 0..rows {
                let (i, k) = ((r0 + r) / n, (r0 + r) % n);
                let m = plan.times(i, k, j, &xs[j].index_axis(Axis(0), r));
                for (mut acc, slab) in dst.outer_iter_mut().zip(grad.outer_iter()) {
                    let mut acc = acc.index_axis_mut(Axis(0), i);
                    let row = slab.index_axis(Axis(0), r);
                    match &m {
                        Some(m) => Zip::from(&mut acc).and(&row).and(m).for_each(|a, &g, &m| *a += g * m),
                        None => acc += &row,
                    }
                }
            }
        }
        r0 = r1;
        if let Some(report) = ctx.progress {
            report(r0, total);
        }
    }
    let scale = T::of(1.0 / n as f64);
    for x in out.iter_mut().flatten() {
        x.mapv_inplace(|v| v * scale);
    }
    Ok(out)
}

/// A chunk's signals with its rows split across the pool's threads (in whole units of
/// `unit` rows): each thread runs the whole graph on its share. The passes have
/// serial stretches (element-wise layers, small convolutions, the reverse driver)
/// in which a single batch leaves a core idle; parallel loops inside a share still
/// run, and mostly stay on their own thread. Rows are independent, so the result is
/// the same as one call on the whole chunk.
fn split_signals<T: Scalar>(
    signals: &ChunkSignals<T>,
    xs: &[ArrayD<T>],
    r0: usize,
    n: usize,
    unit: usize,
) -> Result<Vec<Option<ArrayD<T>>>> {
    use rayon::prelude::*;
    let units = xs[0].shape()[0] / unit.max(1);
    let parts = rayon::current_num_threads().min(units);
    if parts <= 1 {
        return signals(xs, r0 / n);
    }
    let bounds: Vec<(usize, usize)> = (0..parts).map(|p| (units * p / parts * unit, units * (p + 1) / parts * unit)).collect();
    let results: Vec<Result<Vec<Option<ArrayD<T>>>>> = bounds
        .par_iter()
        .map(|&(a, z)| {
            let share: Vec<ArrayD<T>> = xs.iter().map(|x| x.slice_axis(Axis(0), (a..z).into()).to_owned()).collect();
            signals(&share, (r0 + a) / n)
        })
        .collect();
    let results: Vec<Vec<Option<ArrayD<T>>>> = results.into_iter().collect::<Result<_>>()?;
    // [S, rows, in...] per model input: join the shares along the row axis
    join_parts(results.len(), results[0].len(), 1, |p, j| results[p][j].as_ref().map(|a| a.view()))
}

/// For each output `k < n_out`, its blocks in the `parts` parts (`block(p, k)`)
/// joined along `axis`; `None` where no part has one. The one place where chunks'
/// or thread shares' blocks become one block per output.
fn join_parts<'a, T: Scalar>(
    parts: usize,
    n_out: usize,
    axis: usize,
    block: impl Fn(usize, usize) -> Option<ArrayViewD<'a, T>>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    (0..n_out)
        .map(|k| {
            let views: Vec<ArrayViewD<T>> = (0..parts).filter_map(|p| block(p, k)).collect();
            if views.is_empty() {
                return Ok(None);
            }
            ndarray::concatenate(Axis(axis), &views).map(Some).map_err(|e| Error::Internal(e.to_string()))
        })
        .collect()
}

/// [`join_parts`] along the row axis where every part has every output.
fn join_rows<'a, T: Scalar>(
    parts: usize,
    n_out: usize,
    block: impl Fn(usize, usize) -> ArrayViewD<'a, T>,
) -> Result<Vec<ArrayD<T>>> {
    join_parts(parts, n_out, 0, |p, k| Some(block(p, k)))?
        .into_iter()
        .map(|b| b.ok_or_else(|| Error::Internal("a part without a block".into())))
        .collect()
}

/// One `[B, S_k]` block per output with a selection.
pub type Blocks<T> = Vec<ArrayD<T>>;

/// Model outputs at `data` for the selected nodes: `(pred, z)` per output with a
/// selection, each `[B, S_k]`; `z` is the pre-activation when `ignore_last_act`.
pub fn outputs<T: Scalar>(ctx: &Context<T>, data: &[ArrayD<T>]) -> Result<(Blocks<T>, Blocks<T>)> {
    let g = ctx.graph;
    let b = data[0].shape()[0];
    let per_chunk = g.rows_per_chunk(0, ctx.budget);
    let mut preds: Vec<Vec<ArrayD<T>>> = Vec::new();
    let mut zs: Vec<Vec<ArrayD<T>>> = Vec::new();
    let mut i0 = 0;
    while i0 < b {
        let i1 = (i0 + per_chunk).min(b);
        let chunk: Vec<ArrayD<T>> = data.iter().map(|x| x.slice_axis(Axis(0), (i0..i1).into()).to_owned()).collect();
        let keep: Vec<usize> = g.outputs.iter().chain(&g.preactivations).copied().collect();
        let trace = g.forward_keeping(&chunk, &keep)?;
        preds.push(ctx.targets.select(g, &trace, false));
        zs.push(ctx.targets.select(g, &trace, ctx.ignore_last_act));
        i0 = i1;
    }
    let join = |parts: &[Vec<ArrayD<T>>]| join_rows(parts.len(), parts.first().map_or(0, Vec::len), |p, k| parts[p][k].view());
    Ok((join(&preds)?, join(&zs)?))
}

/// Per output with a selection: the chunks' `[rows, S_k]` blocks (tagged with the
/// chunk's first row) stacked in row order.
pub fn stack<T: Scalar>(mut chunks: Vec<(usize, Vec<ArrayD<T>>)>) -> Result<Vec<ArrayD<T>>> {
    chunks.sort_by_key(|(i0, _)| *i0);
    let n = chunks.first().map_or(0, |(_, c)| c.len());
    join_rows(chunks.len(), n, |p, k| chunks[p].1[k].view())
}

/// Row-wise mean of `[R, S_k]` blocks → `[1, S_k]`.
pub fn mean_rows<T: Scalar>(x: &ArrayD<T>) -> ArrayD<T> {
    x.mean_axis(Axis(0)).map(|m| m.insert_axis(Axis(0))).unwrap_or_else(|| x.clone())
}
