//! DeepLift multipliers (Shrikumar, Greenside & Kundaje 2017, "Learning Important
//! Features Through Propagating Activation Differences"), innsight's `rule_name`
//! `"rescale"` (default) and `"reveal_cancel"`, as one [`Rule`] for the reverse driver.
//!
//! A multiplier `m` of a node output is `∂(target difference)/∂(Δ output)` in the
//! DeepLift sense; the driver carries `m` as the signal `[S, B, out...]`, seeded with
//! ones (one-hot) at the selected output nodes. Contributions are `m ⊙ (x − x')` at the
//! model inputs, and every node keeps summation to delta:
//! `Σ m_in ⊙ Δin = Σ m_out ⊙ Δout` (Δ = value at `x` minus value at the reference).
//!
//! **Reference scheme.** The rule holds two traced forward passes with the *same*
//! batch: the data rows and the reference rows, row `b` of one paired with row `b` of
//! the other (a single reference is tiled over the batch). DeepSHAP is then DeepLift on
//! a batch of (instance, reference) pairs and needs nothing of its own here.
//!
//! Per node (`stab` = [`Scalar::STAB`]: 1e-6 in float, 1e-15 in double):
//!
//! * **Activation nodes** (fused or stand-alone), Rescale:
//!   `m_z = m ⊙ Δy/Δz`, and where `|Δz| ≤ stab` the derivative at the midpoint
//!   `f'((z + z')/2)` instead of the ill-conditioned secant (innsight's near-zero
//!   treatment). Stand-alone activations always rescale, whatever the rule name.
//!   Softmax is treated as innsight does: the same elementwise secant `Δy_i/Δz_i`
//!   (summation to delta holds exactly, since `Σ m_i (Δy_i/Δz_i) Δz_i = Σ m_i Δy_i`),
//!   with the diagonal of the softmax Jacobian `s_i(1 − s_i)` at the midpoint in the
//!   near-zero case (innsight's autograd of `Σ softmax` gives 0 there). captum's
//!   renormalised softmax multipliers do not sum to delta and are not used.
//! * **RevealCancel** sits on the *linear* node (Dense or Conv, through the
//!   [`Linear`] capability only) whose output feeds its fused non-linear activation;
//!   that activation node then passes `m` through unchanged. With `Δx = x − x'` at the
//!   linear node's input and no bias:
//!   `Δ⁺ = W⁺Δx⁺ + W⁻Δx⁻`, `Δ⁻ = W⁻Δx⁺ + W⁺Δx⁻` (so `Δ⁺ + Δ⁻ = Δz`),
//!   `Δy⁺ = ½[f(z'+Δ⁺) − f(z')] + ½[f(z) − f(z'+Δ⁻)]`,
//!   `Δy⁻ = ½[f(z'+Δ⁻) − f(z')] + ½[f(z) − f(z'+Δ⁺)]`,
//!   `m⁺ = m ⊙ Δy⁺/(Δ⁺ + stab·[Δ⁺=0])`, `m⁻ = m ⊙ Δy⁻/(Δ⁻ − stab·[Δ⁻=0])`, and then
//!   `m_in = (G_{W⁺}m⁺ + G_{W⁻}m⁻)·[Δx>0] + (G_{W⁻}m⁺ + G_{W⁺}m⁻)·[Δx<0] +
//!   G_W(½(m⁺+m⁻))·[Δx=0]` with `G_V` the VJP under weights `V`. The last term is
//!   half the sum of the four others, as `G_W = G_{W⁺} + G_{W⁻}`. Summation to delta
//!   holds because `m⁺Δ⁺ + m⁻Δ⁻ = m(Δy⁺ + Δy⁻) = mΔy`, which needs `Δy⁺ = 0` where
//!   `Δ⁺ = 0`: true for elementwise `f` (then `z = z' + Δ⁻`), false for softmax, whose
//!   `f(z' + Δ⁻)_i` also moves with the other components. innsight applied the formula
//!   to softmax anyway and lost summation to delta wherever a unit's inputs all pull
//!   one way; here a softmax layer is rescaled under either rule.
//!   A linear node that receives a seed itself (the output layer under
//!   `ignore_last_act`) propagates only its linear part, and its activation node, if
//!   it receives a signal from elsewhere, rescales.
//! * **Max pooling**: `winner_takes_all` → the VJP at `x` (the argmax of `x`; summation
//!   to delta fails where the argmax of `x'` differs). Otherwise
//!   `m ← m ⊙ (maxpool(x) − maxpool(x'))/(avgpool(Δx) + stab·[·=0])` followed by the
//!   average-pooling VJP, which restores summation to delta.
//! * **Global max pooling**: the same two variants, with the global average in place of
//!   the windowed one (innsight only has the argmax mask, which is the
//!   `winner_takes_all` variant).
//! * **Everything else** (Dense/Conv without RevealCancel, BatchNorm, average pooling,
//!   global average pooling, Add, Concatenate, Flatten, Padding, Skipping): the plain
//!   VJP. These nodes are affine, so the gradient *is* the DeepLift multiplier; Add
//!   gives every summand the same `m`.

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::graph::{Graph, Node, Source, Trace};
use crate::layers::pool::{avg_pool, avg_pool_vjp};
use crate::layers::{BiasMod, LayerKind, Linear, WeightMod};
use crate::propagate::Rule;
use crate::scalar::Scalar;
use crate::tensor::{numel, reshape};
use ndarray::{ArrayD, ArrayViewD, Axis, Zip};

/// innsight's DeepLift `rule_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepLiftKind {
    /// `"rescale"`: secant slopes on activations (the default).
    Rescale,
    /// `"reveal_cancel"`: positive and negative parts through each Dense/Conv layer
    /// with a non-linear activation.
    RevealCancel,
}

impl DeepLiftKind {
    /// Parse innsight's rule name.
    pub fn from_name(name: &str) -> Result<DeepLiftKind> {
        match name {
            "rescale" => Ok(DeepLiftKind::Rescale),
            "reveal_cancel" => Ok(DeepLiftKind::RevealCancel),
            other => Err(Error::Argument(format!(
                "unknown DeepLift rule '{other}'; expected \"rescale\" or \"reveal_cancel\""
            ))),
        }
    }
}

/// One traced forward pass: the model inputs `[B, in...]` and every node's output.
#[derive(Clone, Copy)]
pub struct Traced<'a, T: Scalar> {
    pub inputs: &'a [ArrayD<T>],
    pub trace: &'a Trace<T>,
}

/// What a node does under the rule.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NodeRule {
    /// The layer's VJP.
    Gradient,
    /// Secant slope of an activation node.
    Rescale,
    /// Pass the multiplier through (an activation whose linear node reveals/cancels).
    Pass,
    /// RevealCancel on a linear node; `act` is its fused activation node.
    RevealCancel { act: usize },
    /// Max pooling rescaled by the average pooling of the input difference.
    MaxPoolRescale,
    /// Global max pooling rescaled by the global average of the input difference.
    GlobalMaxRescale,
    /// A product of two inputs: the VJP at the midpoints `(x + x_ref) / 2`, which
    /// splits `Δ(a·b) = b̄·Δa + ā·Δb` exactly (the symmetric product rule), so the
    /// summation-to-delta property holds through gates.
    MidpointProduct,
}

/// DeepLift multipliers for every node of a graph, at one pair of traces.
pub struct DeepLift<'a, T: Scalar> {
    graph: &'a Graph<T>,
    data: Traced<'a, T>,
    reference: Traced<'a, T>,
    per_node: Vec<NodeRule>,
}

impl<'a, T: Scalar> DeepLift<'a, T> {
    /// Set up the rule. `data` and `reference` must have the same batch (row `b` of the
    /// reference is the reference of row `b`). `seeded` lists the nodes where the
    /// driver's seeds sit: a linear node among them skips RevealCancel (its activation
    /// is not traversed for that seed). Errors if RevealCancel meets a fused
    /// activation whose linear node lacks the [`Linear`] capability.
    pub fn new(
        graph: &'a Graph<T>,
        data: Traced<'a, T>,
        reference: Traced<'a, T>,
        kind: DeepLiftKind,
        winner_takes_all: bool,
        seeded: &[usize],
    ) -> Result<Self> {
        let n = graph.nodes.len();
        // linear node id -> its fused activation node id
        let mut fused_act = vec![None; n];
        for (a, node) in graph.nodes.iter().enumerate() {
            if let (true, [Source::Node(l)]) = (node.fused, node.inputs.as_slice()) {
                fused_act[*l] = Some(a);
            }
        }
        let elementwise = |a: usize| graph.nodes[a].op.activation().is_some_and(|f| f.is_elementwise());
        let reveal = |l: usize| {
            kind == DeepLiftKind::RevealCancel && fused_act[l].is_some_and(elementwise) && !seeded.contains(&l)
        };
        let mut per_node = Vec::with_capacity(n);
        for (id, node) in graph.nodes.iter().enumerate() {
            let rule = match node.op.kind() {
                LayerKind::Activation => match node.inputs.as_slice() {
                    [Source::Node(l)] if node.fused && reveal(*l) && fused_act[*l] == Some(id) => NodeRule::Pass,
                    _ => NodeRule::Rescale,
                },
                LayerKind::MaxPool1D | LayerKind::MaxPool2D if !winner_takes_all => NodeRule::MaxPoolRescale,
                LayerKind::GlobalMaxPool if !winner_takes_all => NodeRule::GlobalMaxRescale,
                LayerKind::Multiply => NodeRule::MidpointProduct,
                _ => match fused_act[id] {
                    Some(act) if reveal(id) => {
                        if node.op.as_linear().is_none() {
                            return Err(Error::Argument(format!(
                                "layer {} ({}): the DeepLift rule \"reveal_cancel\" needs a linear layer (Dense or Conv) before the activation",
                                node.layer_index, node.type_name
                            )));
                        }
                        NodeRule::RevealCancel { act }
                    }
                    _ => NodeRule::Gradient,
                },
            };
            per_node.push(rule);
        }
        Ok(DeepLift { graph, data, reference, per_node })
    }

    /// Traced reference inputs of node `id`.
    fn ref_inputs(&self, id: usize) -> Vec<ArrayViewD<'a, T>> {
        self.graph.node_inputs(id, self.reference.inputs, self.reference.trace)
    }

    /// Secant slope of an activation node, `[B, ...]`.
    fn rescale(&self, id: usize, node: &Node<T>, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>) -> Result<ArrayD<T>> {
        let act = node.op.activation().ok_or_else(|| Error::Internal("rescale on a node without activation".into()))?;
        let z_ref = &self.ref_inputs(id)[0];
        Ok(secant(act, &inputs[0], z_ref, output, &self.reference.trace.values[id].view()))
    }

    /// RevealCancel on linear node `id` whose fused activation node is `act_id`.
    fn reveal_cancel(
        &self,
        id: usize,
        node: &Node<T>,
        act_id: usize,
        inputs: &[ArrayViewD<T>],
        upper: &ArrayViewD<T>,
    ) -> Result<ArrayD<T>> {
        let lin: &dyn Linear<T> = node.op.as_linear().ok_or_else(|| Error::Internal("reveal_cancel without Linear".into()))?;
        let act = self.graph.nodes[act_id]
            .op
            .activation()
            .ok_or_else(|| Error::Internal("reveal_cancel: successor is not an activation".into()))?;
        let dx = &inputs[0] - &self.ref_inputs(id)[0];
        let dx_pos = dx.mapv(|v| v.max(T::zero()));
        let dx_neg = dx.mapv(|v| v.min(T::zero()));
        let part = |v: &ArrayD<T>, w: WeightMod| lin.forward_mod(&v.view(), w, BiasMod::Zero);
        let d_pos = part(&dx_pos, WeightMod::Positive)? + part(&dx_neg, WeightMod::Negative)?;
        let d_neg = part(&dx_pos, WeightMod::Negative)? + part(&dx_neg, WeightMod::Positive)?;
        drop((dx_pos, dx_neg));
        let z_ref = &self.reference.trace.values[id];
        let (y, y_ref) = (&self.data.trace.values[act_id], &self.reference.trace.values[act_id]);
        let f_pos = act.forward(&(z_ref + &d_pos).view());
        let f_neg = act.forward(&(z_ref + &d_neg).view());
        let (half, stab) = (T::of(0.5), T::STAB);
        // the factors m⁺/m and m⁻/m, [B, out...], written over Δ⁺ and Δ⁻
        let mut k_pos = d_pos;
        Zip::from(&mut k_pos).and(&f_pos).and(&f_neg).and(y).and(y_ref).for_each(|k, &fp, &fnn, &yv, &yr| {
            let dy_pos = half * (fp - yr) + half * (yv - fnn);
            *k = dy_pos / (*k + if *k == T::zero() { stab } else { T::zero() });
        });
        let mut k_neg = d_neg;
        Zip::from(&mut k_neg).and(&f_pos).and(&f_neg).and(y).and(y_ref).for_each(|k, &fp, &fnn, &yv, &yr| {
            let dy_neg = half * (fnn - yr) + half * (yv - fp);
            *k = dy_neg / (*k - if *k == T::zero() { stab } else { T::zero() });
        });
        let m_pos = times(upper, &k_pos);
        let m_neg = times(upper, &k_neg);
        // G_{W⁺}m⁺ + G_{W⁻}m⁻ (for Δx > 0) and G_{W⁻}m⁺ + G_{W⁺}m⁻ (for Δx < 0)
        let in_shape = &inputs[0].shape()[1..];
        let g = |m: &ArrayD<T>, w: WeightMod| lin.vjp_mod(&m.view(), in_shape, w);
        let up = g(&m_pos, WeightMod::Positive)? + g(&m_neg, WeightMod::Negative)?;
        let down = g(&m_pos, WeightMod::Negative)? + g(&m_neg, WeightMod::Positive)?;
        let mut out = up;
        for (mut slab, down) in out.outer_iter_mut().zip(down.outer_iter()) {
            Zip::from(&mut slab).and(&down).and(&dx).for_each(|o, &d, &delta| {
                if delta < T::zero() {
                    *o = d;
                } else if delta == T::zero() {
                    *o = half * (*o + d);
                }
            });
        }
        Ok(out)
    }

    /// Max pooling rescaled by the average pooling of the input difference.
    fn max_pool_rescale(
        &self,
        id: usize,
        node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<ArrayD<T>> {
        let (kernel, strides) =
            node.op.pool_window().ok_or_else(|| Error::Internal("max pooling without a pooling window".into()))?;
        let x = &inputs[0];
        let dx = x - &self.ref_inputs(id)[0];
        let mut factor = avg_pool(&dx.view(), kernel, strides)?;
        Zip::from(&mut factor).and(output).and(&self.reference.trace.values[id]).for_each(|f, &y, &yr| {
            *f = (y - yr) / (*f + if *f == T::zero() { T::STAB } else { T::zero() });
        });
        let m = times(upper, &factor);
        avg_pool_vjp(&m.view(), &x.shape()[x.ndim() - kernel.len()..], kernel, strides)
    }

    /// Global max pooling rescaled by the global average of the input difference.
    fn global_max_rescale(&self, id: usize, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, upper: &ArrayViewD<T>) -> Result<ArrayD<T>> {
        let x = &inputs[0];
        let (b, c) = (x.shape()[0], x.shape()[1]);
        let n = numel(&x.shape()[2..]);
        let dx = reshape(x - &self.ref_inputs(id)[0], &[b, c, n])?;
        let mut factor = dx.sum_axis(Axis(2));
        let inv = T::one() / T::of(n as f64);
        Zip::from(&mut factor).and(output).and(&self.reference.trace.values[id]).for_each(|f, &y, &yr| {
            let mean = *f * inv;
            *f = (y - yr) / (mean + if mean == T::zero() { T::STAB } else { T::zero() });
        });
        // the global-average VJP: m / n at every position of the channel
        let m = times(upper, &factor) * inv;
        let s = m.shape()[0];
        let spread = m.insert_axis(Axis(3));
        let spread = spread.broadcast(ndarray::IxDyn(&[s, b, c, n])).ok_or_else(|| Error::Internal("global max: broadcast".into()))?;
        let mut shape = vec![s];
        shape.extend_from_slice(x.shape());
        reshape(spread.to_owned(), &shape)
    }
}

impl<T: Scalar> Rule<T> for DeepLift<'_, T> {
    fn backward(&self, id: usize, node: &Node<T>, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, upper: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(match self.per_node[id] {
            NodeRule::Gradient => return node.op.vjp(inputs, output, upper),
            NodeRule::Pass => vec![upper.to_owned()],
            NodeRule::Rescale => vec![times(upper, &self.rescale(id, node, inputs, output)?)],
            NodeRule::RevealCancel { act } => vec![self.reveal_cancel(id, node, act, inputs, upper)?],
            NodeRule::MaxPoolRescale => vec![self.max_pool_rescale(id, node, inputs, output, upper)?],
            NodeRule::GlobalMaxRescale => vec![self.global_max_rescale(id, inputs, output, upper)?],
            NodeRule::MidpointProduct => {
                let half = T::of(0.5);
                let mid: Vec<ArrayD<T>> = inputs
                    .iter()
                    .zip(self.ref_inputs(id))
                    .map(|(x, r)| (x + &r).mapv(|v| v * half))
                    .collect();
                let views: Vec<ArrayViewD<T>> = mid.iter().map(|m| m.view()).collect();
                return node.op.vjp(&views, output, upper);
            }
        })
    }
}

/// `upper ⊙ factor` for a signal `[S, B, ...]` and a factor `[B, ...]`.
fn times<T: Scalar>(upper: &ArrayViewD<T>, factor: &ArrayD<T>) -> ArrayD<T> {
    crate::rules::basic::times_per_slab(upper, &factor.view())
}

/// Rescale factor of an activation, `[B, ...]`: `Δy/Δz`, or the derivative at the
/// midpoint `(z + z')/2` where `|Δz| ≤ stab` (the secant is then mostly rounding error).
pub fn secant<T: Scalar>(act: Activation, z: &ArrayViewD<T>, z_ref: &ArrayViewD<T>, y: &ArrayViewD<T>, y_ref: &ArrayViewD<T>) -> ArrayD<T> {
    let stab = T::STAB;
    let half = T::of(0.5);
    let (zs, zrs, ys, yrs) = (z.as_standard_layout(), z_ref.as_standard_layout(), y.as_standard_layout(), y_ref.as_standard_layout());
    let slices = (zs.as_slice(), zrs.as_slice(), ys.as_slice(), yrs.as_slice());
    let (Some(zf), Some(zrf), Some(yf), Some(yrf)) = slices else { unreachable!("standard layout") };
    let mut f = vec![T::zero(); zf.len()];
    let n = zf.len();
    crate::linalg::for_slab_pieces(&mut f, n, |piece, at, _| {
        let m = piece.len();
        let it = piece.iter_mut().zip(&zf[at..at + m]).zip(&zrf[at..at + m]).zip(&yf[at..at + m]).zip(&yrf[at..at + m]);
        for ((((f, &z), &zr), &y), &yr) in it {
            let dz = z - zr;
            *f = if dz.abs() <= stab { act.derivative(half * (z + zr)) } else { (y - yr) / dz };
        }
    });
    let mut f = ArrayD::from_shape_vec(z.raw_dim(), f).expect("same shape");
    let near_zero = || zf.iter().zip(zrf).any(|(&z, &zr)| (z - zr).abs() <= stab);
    if !act.is_elementwise() && near_zero() {
        // softmax: the diagonal of its Jacobian at the midpoint, s_i (1 − s_i)
        let mid = (z + z_ref) * half;
        let s = act.forward(&mid.view());
        Zip::from(&mut f).and(z).and(z_ref).and(&s).for_each(|f, &z, &zr, &s| {
            if (z - zr).abs() <= stab {
                *f = s * (T::one() - s);
            }
        });
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Weights;
    use crate::propagate::backward;
    use crate::spec::ModelSpec;
    use ndarray::IxDyn;

    fn arr(shape: &[usize], v: &[f64]) -> ArrayD<f64> {
        ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
    }

    /// One Dense layer `2 -> 1` with weight `[1, -1]`, no bias, and activation `act`.
    fn one_unit(act: &str) -> Graph<f64> {
        let spec = ModelSpec::from_json(
            &serde_json::json!({
                "input_dim": [2], "input_nodes": [1], "output_nodes": [1],
                "layers": [{"type": "Dense", "input_layers": 0, "output_layers": -1, "activation_name": act}]
            })
            .to_string(),
        )
        .unwrap();
        let mut w = Weights::new();
        w.insert("layers.1.weight".into(), arr(&[1, 2], &[1.0, -1.0]));
        Graph::build(&spec, &w).unwrap()
    }

    /// Multipliers at the input for one pair (x, x_ref), seeded with 1 at the output.
    fn multipliers(g: &Graph<f64>, x: &[f64], x_ref: &[f64], kind: DeepLiftKind) -> ArrayD<f64> {
        let xs = vec![arr(&[1, 2], x)];
        let rs = vec![arr(&[1, 2], x_ref)];
        let (tx, tr) = (g.forward(&xs).unwrap(), g.forward(&rs).unwrap());
        let seed = (g.outputs[0], ArrayD::from_elem(IxDyn(&[1, 1, 1]), 1.0));
        let rule = DeepLift::new(g, Traced { inputs: &xs, trace: &tx }, Traced { inputs: &rs, trace: &tr }, kind, true, &[seed.0])
            .unwrap();
        backward(g, &xs, &tx, vec![seed], &|_| &rule).unwrap().remove(0).unwrap()
    }

    #[test]
    fn reveal_cancel_reveals_what_rescale_cancels() {
        // The paper's motivating case: z = x1 − x2 stays 0 while both inputs rise, so
        // rescale sees Δz = 0 and the relu derivative at 0 (= 0); reveal_cancel splits
        // Δz into Δ⁺ = 1 and Δ⁻ = −1 and gives each input half the relu's response.
        let g = one_unit("relu");
        let rescale = multipliers(&g, &[1.0, 1.0], &[0.0, 0.0], DeepLiftKind::Rescale);
        assert_eq!(rescale.as_slice().unwrap(), &[0.0, 0.0]);
        let rc = multipliers(&g, &[1.0, 1.0], &[0.0, 0.0], DeepLiftKind::RevealCancel);
        assert_eq!(rc.as_slice().unwrap(), &[0.5, -0.5]);
    }

    #[test]
    fn rescale_is_the_secant_and_both_rules_sum_to_delta() {
        for act in ["relu", "tanh", "gelu", "softplus", "silu"] {
            let g = one_unit(act);
            let f = |x: &[f64]| g.forward(&[arr(&[1, 2], x)]).unwrap().values[g.outputs[0]][[0, 0]];
            let (x, r) = ([0.7, -0.4], [-0.2, 0.3]);
            let m = multipliers(&g, &x, &r, DeepLiftKind::Rescale);
            let slope = (f(&x) - f(&r)) / ((x[0] - x[1]) - (r[0] - r[1]));
            assert!((m[[0, 0, 0]] - slope).abs() < 1e-14 && (m[[0, 0, 1]] + slope).abs() < 1e-14, "{act}");
            for kind in [DeepLiftKind::Rescale, DeepLiftKind::RevealCancel] {
                let m = multipliers(&g, &x, &r, kind);
                let total = m[[0, 0, 0]] * (x[0] - r[0]) + m[[0, 0, 1]] * (x[1] - r[1]);
                assert!((total - (f(&x) - f(&r))).abs() < 1e-14, "{act} {kind:?}: {total}");
            }
        }
    }

    #[test]
    fn near_zero_difference_uses_the_midpoint_derivative() {
        let z = arr(&[1, 3], &[0.3, 1.0, -2.0]);
        let z_ref = arr(&[1, 3], &[0.3 + 1e-16, 0.5, -2.0]);
        let act = Activation::Tanh;
        let (y, y_ref) = (act.forward(&z.view()), act.forward(&z_ref.view()));
        let f = secant(act, &z.view(), &z_ref.view(), &y.view(), &y_ref.view());
        assert_eq!(f[[0, 0]], act.derivative(0.5 * (0.3 + 0.3 + 1e-16)));
        assert!((f[[0, 1]] - (1f64.tanh() - 0.5f64.tanh()) / 0.5).abs() < 1e-15);
        assert_eq!(f[[0, 2]], act.derivative(-2.0));
        // softmax: the Jacobian diagonal s(1 − s) at the midpoint
        let act = Activation::Softmax;
        let (y, y_ref) = (act.forward(&z.view()), act.forward(&z_ref.view()));
        let f = secant(act, &z.view(), &z_ref.view(), &y.view(), &y_ref.view());
        let s = act.forward(&((&z + &z_ref) * 0.5).view());
        assert_eq!(f[[0, 2]], s[[0, 2]] * (1.0 - s[[0, 2]]));
        assert!((f[[0, 1]] - (y[[0, 1]] - y_ref[[0, 1]]) / 0.5).abs() < 1e-15);
    }

    #[test]
    fn rule_names_are_checked() {
        assert_eq!(DeepLiftKind::from_name("rescale").unwrap(), DeepLiftKind::Rescale);
        assert_eq!(DeepLiftKind::from_name("reveal_cancel").unwrap(), DeepLiftKind::RevealCancel);
        let e = DeepLiftKind::from_name("revealcancel").unwrap_err();
        assert_eq!(e.kind(), "argument");
        assert!(e.to_string().contains("'revealcancel'"), "{e}");
    }
}
