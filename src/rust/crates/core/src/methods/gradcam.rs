//! Grad-CAM (Selvaraju et al. 2017): a class activation map from a convolution-like
//! layer. With `A` the layer's output `[K, spatial...]` and `g = ∂y/∂A` the gradient of
//! the selected output, every channel gets the weight `α_k = mean_spatial g_k`, and the
//! map is `ReLU(Σ_k α_k A_k)`. The map is upsampled to the input's spatial size (bilinear
//! or linear, or nearest neighbour, with the sampling of PyTorch's `interpolate` and
//! `align_corners = FALSE`), and each input channel carries an equal share of it, so
//! the channel sum is the map.

use super::expectation::Context;
use super::{MethodResult, RunInputs};
use crate::error::{Error, Result};
use crate::propagate::{backward_to, GradientRule, Rule};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, numel};
use ndarray::{ArrayD, Axis, IxDyn};
use serde::Deserialize;

/// The layer (1-based, in the model's layer list) and the upsampling.
#[derive(Debug, Clone, Deserialize)]
pub struct GradCamSpec {
    pub layer: usize,
    /// `"bilinear"` (linear along each spatial axis) or `"nearest"`.
    pub upsample: String,
}

/// Sampling positions for one axis: `(i0, i1, weight of i1)` per output position.
fn axis_weights(n_in: usize, n_out: usize, linear: bool) -> Vec<(usize, usize, f64)> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            if !linear {
                let i = ((o as f64 * scale).floor() as usize).min(n_in - 1);
                return (i, i, 0.0);
            }
            let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(n_in - 1);
            let i1 = (i0 + 1).min(n_in - 1);
            (i0, i1, src - i0 as f64)
        })
        .collect()
}

/// Upsample `[h]` or `[h, w]` maps (row-major) to `out` (separable interpolation).
fn upsample(map: &[f64], shape: &[usize], out: &[usize], linear: bool) -> Vec<f64> {
    let mut cur = map.to_vec();
    let mut cur_shape = shape.to_vec();
    for a in 0..shape.len() {
        let w = axis_weights(cur_shape[a], out[a], linear);
        let outer: usize = cur_shape[..a].iter().product();
        let inner: usize = cur_shape[a + 1..].iter().product();
        let mut next = vec![0.0; outer * out[a] * inner];
        for o in 0..outer {
            for (j, &(i0, i1, t)) in w.iter().enumerate() {
                for k in 0..inner {
                    let v0 = cur[(o * cur_shape[a] + i0) * inner + k];
                    let v1 = cur[(o * cur_shape[a] + i1) * inner + k];
                    next[(o * out[a] + j) * inner + k] = (1.0 - t) * v0 + t * v1;
                }
            }
        }
        cur = next;
        cur_shape[a] = out[a];
    }
    cur
}

/// Run Grad-CAM.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &GradCamSpec) -> Result<MethodResult<T>> {
    let g = ctx.graph;
    if g.input_shapes.len() != 1 {
        return Err(Error::Argument("Grad-CAM supports models with a single input layer".into()));
    }
    let n_layers = g.layer_output.len();
    if spec.layer < 1 || spec.layer > n_layers {
        return Err(Error::Argument(format!("`layer` must be between 1 and {n_layers}, not {}", spec.layer)));
    }
    let node = g.layer_output[spec.layer - 1];
    let (in_shape, a_shape) = (g.input_shapes[0].clone(), g.nodes[node].out_shape.clone());
    if a_shape.len() != in_shape.len() || a_shape.len() < 2 {
        return Err(Error::Argument(format!(
            "layer {} ({}) has output shape ({}); Grad-CAM needs a layer with channels and the same spatial axes as the input ({})",
            spec.layer,
            g.nodes[node].type_name,
            fmt_shape(&a_shape),
            fmt_shape(&in_shape)
        )));
    }
    let linear = match spec.upsample.as_str() {
        "bilinear" => true,
        "nearest" => false,
        other => return Err(Error::Argument(format!("`upsample` must be \"bilinear\" or \"nearest\", not \"{other}\""))),
    };
    let x = &inputs.data[0];
    let b = x.shape()[0];
    let s_total = ctx.targets.total();
    let (k_ch, spatial) = (a_shape[0], &a_shape[1..]);
    let (c_in, in_spatial) = (in_shape[0], &in_shape[1..]);
    let (hw, in_hw) = (numel(spatial), numel(in_spatial));
    let mut out = vec![0.0f64; s_total * b * c_in * in_hw];
    let mut preds: Vec<Vec<ArrayD<T>>> = Vec::new();
    let rows = g.rows_per_chunk(s_total, ctx.budget);
    let rule = GradientRule;
    let rule_for = |_: usize| -> &dyn Rule<T> { &rule };
    let mut i0 = 0;
    while i0 < b {
        let m = rows.min(b - i0);
        let xs = vec![x.slice_axis(Axis(0), (i0..i0 + m).into()).to_owned()];
        let trace = g.forward(&xs)?;
        preds.push(ctx.targets.select(g, &trace, false));
        let seeds = ctx.targets.seeds(g, m, ctx.ignore_last_act);
        let grad = backward_to(g, &xs, &trace, seeds, &rule_for, node)?
            .ok_or_else(|| Error::Argument(format!("layer {} does not influence the selected outputs", spec.layer)))?;
        let act = &trace.values[node];
        for s in 0..s_total {
            for r in 0..m {
                let (gr, ar) = (grad.index_axis(Axis(0), s).index_axis_move(Axis(0), r), act.index_axis(Axis(0), r));
                let (gr, ar) = (gr.as_standard_layout(), ar.as_standard_layout());
                let (gs, av) = (gr.as_slice().unwrap_or(&[]), ar.as_slice().unwrap_or(&[]));
                let mut cam = vec![0.0f64; hw];
                for k in 0..k_ch {
                    let alpha = gs[k * hw..(k + 1) * hw].iter().map(|v| v.as_f64()).sum::<f64>() / hw as f64;
                    for (c, a) in cam.iter_mut().zip(&av[k * hw..(k + 1) * hw]) {
                        *c += alpha * a.as_f64();
                    }
                }
                cam.iter_mut().for_each(|c| *c = c.max(0.0));
                let up = upsample(&cam, spatial, in_spatial, linear);
                let base = (s * b + i0 + r) * c_in * in_hw;
                for c in 0..c_in {
                    for (o, v) in out[base + c * in_hw..base + (c + 1) * in_hw].iter_mut().zip(&up) {
                        *o = v / c_in as f64;
                    }
                }
            }
        }
        i0 += m;
        if let Some(p) = ctx.progress {
            p(i0, b);
        }
    }
    let mut shape = vec![s_total, b];
    shape.extend(&in_shape);
    let attr = ArrayD::from_shape_vec(IxDyn(&shape), out.into_iter().map(T::of).collect()).map_err(|e| Error::Internal(e.to_string()))?;
    let n_blocks = ctx.targets.blocks().len();
    let pred = (0..n_blocks)
        .map(|k| {
            let views: Vec<_> = preds.iter().map(|p| p[k].view()).collect();
            ndarray::concatenate(Axis(0), &views).map(Some).map_err(|e| Error::Internal(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MethodResult { result: ctx.targets.split(g, vec![Some(attr)]), pred, goal: vec![None; n_blocks] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_upsampling_matches_pytorchs_half_pixel_rule() {
        // torch.nn.functional.interpolate(tensor([[[0., 1., 2.]]]), size=6, mode="linear")
        // = [0, .25, .75, 1.25, 1.75, 2]
        let got = upsample(&[0.0, 1.0, 2.0], &[3], &[6], true);
        let want = [0.0, 0.25, 0.75, 1.25, 1.75, 2.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12);
        }
        // nearest: floor(o * in / out)
        assert_eq!(upsample(&[0.0, 1.0, 2.0], &[3], &[6], false), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn bilinear_is_separable() {
        let map = [1.0, 2.0, 3.0, 4.0];
        let up = upsample(&map, &[2, 2], &[4, 4], true);
        // corners keep the corner values, centre rows interpolate
        assert_eq!(up[0], 1.0);
        assert_eq!(up[15], 4.0);
        assert!((up[5] - (1.0 * 0.75 * 0.75 + 2.0 * 0.75 * 0.25 + 3.0 * 0.25 * 0.75 + 4.0 * 0.0625)).abs() < 1e-12);
    }
}
