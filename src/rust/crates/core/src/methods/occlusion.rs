//! Occlusion (Zeiler & Fergus 2014): slide a window over the input, replace what it
//! covers by a baseline value, and credit the covered features with the drop of the
//! selected outputs, `f(x) − f(x_occluded)`. Every feature gets the mean over the
//! windows that cover it.
//!
//! Window placement follows Captum's `Occlusion`, so results are comparable: along an
//! axis of length `L` with window `w` and stride `s` there are `⌈(L − w) / s⌉ + 1`
//! positions starting at `0, s, 2s, ...`; the last one is cut off at the border.

use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::numel;
use ndarray::{concatenate, ArrayD, Axis, IxDyn};
use serde::Deserialize;

/// Window, strides (per input axis, channels first) and the baseline value.
#[derive(Debug, Clone, Deserialize)]
pub struct OcclusionSpec {
    pub window: Vec<usize>,
    pub strides: Vec<usize>,
    pub baseline: f64,
}

/// The boxes `[start, end)` per axis of every window position, in row-major order.
fn windows(shape: &[usize], spec: &OcclusionSpec) -> Result<Vec<Vec<(usize, usize)>>> {
    let rank = shape.len();
    if spec.window.len() != rank || spec.strides.len() != rank {
        return Err(Error::Argument(format!(
            "`window` and `strides` need one value per input axis ({rank}), got {} and {}",
            spec.window.len(),
            spec.strides.len()
        )));
    }
    let mut per_axis = Vec::with_capacity(rank);
    for a in 0..rank {
        let (l, w, s) = (shape[a], spec.window[a], spec.strides[a]);
        if w == 0 || w > l {
            return Err(Error::Argument(format!("the window ({}) must fit the input shape ({}) on every axis", fmt(&spec.window), fmt(shape))));
        }
        if s == 0 || (s > w && w < l) {
            return Err(Error::Argument(format!(
                "the strides ({}) must be between 1 and the window size ({}) on every axis the window does not cover, or features are never occluded",
                fmt(&spec.strides),
                fmt(&spec.window)
            )));
        }
        let n = (l - w).div_ceil(s) + 1;
        per_axis.push((0..n).map(|k| (k * s, (k * s + w).min(l))).collect::<Vec<_>>());
    }
    // Cartesian product, last axis fastest
    let mut boxes: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
    for axis in &per_axis {
        boxes = boxes.into_iter().flat_map(|b| axis.iter().map(move |&r| [b.clone(), vec![r]].concat())).collect();
    }
    Ok(boxes)
}

fn fmt(v: &[usize]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// Flat (row-major) indices of the features in a box.
fn box_indices(shape: &[usize], bx: &[(usize, usize)]) -> Vec<usize> {
    let mut idx = vec![0usize];
    for (&len, &(lo, hi)) in shape.iter().zip(bx) {
        idx = idx.iter().flat_map(|&base| (lo..hi).map(move |i| base * len + i)).collect();
    }
    idx
}

/// Selected outputs `[rows, S]` (all output blocks side by side).
fn outputs<T: Scalar>(ctx: &Context<T>, x: &ArrayD<T>, keep: &[usize]) -> Result<ArrayD<T>> {
    let trace = ctx.graph.forward_keeping(std::slice::from_ref(x), keep)?;
    let blocks = ctx.targets.select(ctx.graph, &trace, ctx.ignore_last_act);
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    concatenate(Axis(1), &views).map_err(|e| Error::Internal(e.to_string()))
}

/// Run Occlusion.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &OcclusionSpec) -> Result<MethodResult<T>> {
    let g = ctx.graph;
    if g.input_shapes.len() != 1 {
        return Err(Error::Argument("Occlusion supports models with a single input layer".into()));
    }
    let shape = g.input_shapes[0].clone();
    let boxes = windows(&shape, spec)?;
    let cells: Vec<Vec<usize>> = boxes.iter().map(|b| box_indices(&shape, b)).collect();
    let d = numel(&shape);
    let mut count = vec![0.0f64; d];
    for c in &cells {
        for &i in c {
            count[i] += 1.0;
        }
    }
    let keep: Vec<usize> = g.outputs.iter().chain(&g.preactivations).copied().collect();
    let x = &inputs.data[0];
    let b = x.shape()[0];
    let s_total = ctx.targets.total();
    let base = outputs(ctx, x, &keep)?;
    let mut attr = vec![0.0f64; s_total * b * d];
    let rows = g.rows_per_chunk(1, ctx.budget).max(1);
    let baseline = T::of(spec.baseline);
    let n_pos = cells.len();
    let total = b * n_pos;
    let mut done = 0;
    while done < total {
        let m = rows.min(total - done);
        let mut batch = ArrayD::<T>::zeros(IxDyn(&[m, d]));
        for r in 0..m {
            let (i, w) = ((done + r) / n_pos, (done + r) % n_pos);
            let mut row = batch.index_axis_mut(Axis(0), r);
            let src = x.index_axis(Axis(0), i);
            for (o, v) in row.iter_mut().zip(src.iter()) {
                *o = *v;
            }
            let flat = row.as_slice_mut().ok_or_else(|| Error::Internal("row not contiguous".into()))?;
            for &f in &cells[w] {
                flat[f] = baseline;
            }
        }
        let mut batch_shape = vec![m];
        batch_shape.extend(&shape);
        let batch = batch.into_shape_with_order(IxDyn(&batch_shape)).map_err(|e| Error::Internal(e.to_string()))?;
        let z = outputs(ctx, &batch, &keep)?;
        for r in 0..m {
            let (i, w) = ((done + r) / n_pos, (done + r) % n_pos);
            for s in 0..s_total {
                let diff = (base[[i, s]] - z[[r, s]]).as_f64();
                let dst = &mut attr[(s * b + i) * d..(s * b + i + 1) * d];
                for &f in &cells[w] {
                    dst[f] += diff;
                }
            }
        }
        done += m;
        if let Some(p) = ctx.progress {
            p(done, total);
        }
    }
    for (k, a) in attr.iter_mut().enumerate() {
        *a /= count[k % d];
    }
    let mut full_shape = vec![s_total, b];
    full_shape.extend(&shape);
    let attr = ArrayD::from_shape_vec(IxDyn(&full_shape), attr.into_iter().map(T::of).collect()).map_err(|e| Error::Internal(e.to_string()))?;
    let trace = g.forward_keeping(std::slice::from_ref(x), &keep)?;
    let pred = ctx.targets.select(g, &trace, false);
    Ok(MethodResult { result: ctx.targets.split(g, vec![Some(attr)]), pred: pred.into_iter().map(Some).collect(), goal: vec![None; ctx.targets.blocks().len()] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_captums_placement() {
        let spec = OcclusionSpec { window: vec![3, 4], strides: vec![3, 3], baseline: 0.0 };
        let b = windows(&[3, 10], &spec).unwrap();
        // axis 1: ceil((10 - 4) / 3) + 1 = 3 positions: [0,4), [3,7), [6,10)
        assert_eq!(b.len(), 3);
        assert_eq!(b[2], vec![(0, 3), (6, 10)]);
        let spec = OcclusionSpec { window: vec![4], strides: vec![3], baseline: 0.0 };
        // ceil((9 - 4) / 3) + 1 = 3: [0,4), [3,7), [6,9) cut at the border
        assert_eq!(windows(&[9], &spec).unwrap().last().unwrap(), &vec![(6, 9)]);
        assert_eq!(box_indices(&[3, 10], &[(1, 2), (6, 8)]), vec![16, 17]);
    }

    #[test]
    fn bad_windows_are_argument_errors() {
        let w = |window: Vec<usize>, strides: Vec<usize>| windows(&[3, 8], &OcclusionSpec { window, strides, baseline: 0.0 });
        assert!(matches!(w(vec![3, 9], vec![3, 1]), Err(Error::Argument(_))));
        assert!(matches!(w(vec![3, 2], vec![3, 3]), Err(Error::Argument(_))));
        assert!(matches!(w(vec![3], vec![3]), Err(Error::Argument(_))));
        assert!(w(vec![3, 8], vec![5, 9]).is_ok());
    }
}
