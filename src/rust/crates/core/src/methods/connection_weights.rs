//! Connection weights (Olden, Joy & Death 2004), generalised to any graph: the
//! selected outputs' one-hot seeds are chained backwards through the weights only,
//! ignoring activations and biases, i.e. `W₁ᵀ ⋯ W_Lᵀ` for a dense network.
//!
//! * **Global** (`times_input = false`): no data; the result is `[S, 1, in...]` and
//!   `pred`/`goal` are `None`.
//! * **Local** (`times_input = true`): the global result times the data,
//!   `[S, B, in...]`; `pred` = activated outputs at the data, `goal` = `None`.
//!
//! JSON (`RunSpec` fields plus): `{"method": "connection_weights", "times_input": bool}`;
//! `data` may be empty in the global case.
//!
//! Per node, with no forward pass the layer VJPs run on a trace of **all ones**
//! (batch 1): Dense/Conv give `Wᵀ g`, BatchNorm `scale ⊙ g`, average pooling (also
//! global) its VJP, Flatten/Concatenate/Padding their VJPs, and Add gives every summand
//! the signal unchanged (the weights chain is linear; innsight divided by the number of
//! summands, see decision 13). Activation nodes pass the signal through. Max pooling
//! (also global) is its VJP at the all-ones input: every window is a tie, so the whole
//! signal goes to the window's first element, as in innsight, whose max-pool gradient
//! was evaluated on `torch_ones` (a quirk kept on purpose).

use super::expectation::{outputs, Context};
use super::{MethodResult, RunInputs};
use crate::error::Result;
use crate::graph::{Node, Trace};
use crate::layers::LayerKind;
use crate::propagate::{backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::with_leading;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde::Deserialize;

/// Arguments of ConnectionWeights.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionWeightsSpec {
    /// Multiply the global result by the data (the local variant).
    pub times_input: bool,
}

/// Weights only: the VJP of every layer (at the all-ones trace), activations skipped.
struct WeightsOnly;

impl<T: Scalar> Rule<T> for WeightsOnly {
    fn backward(&self, _id: usize, node: &Node<T>, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, upper: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        if node.op.kind() == LayerKind::Activation {
            return Ok(vec![upper.to_owned()]);
        }
        node.op.vjp(inputs, output, upper)
    }
}

/// Run ConnectionWeights.
pub fn run<T: Scalar>(ctx: &Context<T>, inputs: &RunInputs<T>, spec: &ConnectionWeightsSpec) -> Result<MethodResult<T>> {
    let g = ctx.graph;
    let ones: Vec<ArrayD<T>> = (0..g.input_shapes.len()).map(|j| ArrayD::ones(IxDyn(&g.input_batch_shape(j, 1)))).collect();
    let trace = Trace { values: g.nodes.iter().map(|n| ArrayD::ones(IxDyn(&with_leading(&[1], &n.out_shape)))).collect() };
    let seeds = ctx.targets.seeds(g, 1, ctx.ignore_last_act);
    let signals = backward(g, &ones, &trace, seeds, &|_| -> &dyn Rule<T> { &WeightsOnly })?;
    let global = ctx.targets.split(g, signals);
    if !spec.times_input {
        let none = || global.iter().map(|_| None).collect();
        if let Some(report) = ctx.progress {
            report(1, 1);
        }
        return Ok(MethodResult { pred: none(), goal: none(), result: global });
    }
    let data = &inputs.data;
    let result = global
        .into_iter()
        .map(|(k, per_input)| {
            let local = per_input.into_iter().zip(data).map(|(w, x)| w.map(|w| &w * x)).collect();
            (k, local)
        })
        .collect();
    let (pred, _) = outputs(ctx, data)?;
    let goal = pred.iter().map(|_| None).collect();
    if let Some(report) = ctx.progress {
        let b = data[0].shape()[0];
        report(b, b);
    }
    Ok(MethodResult { result, pred: pred.into_iter().map(Some).collect(), goal })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::layers::Weights;
    use crate::methods::{run as run_method, RunSpec};
    use crate::spec::ModelSpec;

    #[test]
    fn max_pooling_sends_everything_to_the_first_element_of_each_window() {
        // (C, L) = (1, 4) -> MaxPool(2) -> (1, 2) -> Flatten -> Dense [1, 2] with weight (3, 5)
        let spec = ModelSpec::from_json(
            &serde_json::json!({
                "input_dim": [1, 4], "input_nodes": [1], "output_nodes": [3],
                "layers": [
                    {"type": "MaxPooling1D", "kernel_size": 2, "input_layers": 0, "output_layers": 2},
                    {"type": "Flatten", "input_layers": 1, "output_layers": 3},
                    {"type": "Dense", "input_layers": 2, "output_layers": -1, "activation_name": "relu"}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let mut w = Weights::new();
        w.insert("layers.3.weight".into(), ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![3.0, 5.0]).unwrap());
        w.insert("layers.3.bias".into(), ArrayD::from_elem(IxDyn(&[1]), 100.0));
        let g = Graph::<f64>::build(&spec, &w).unwrap();
        let rs = RunSpec::from_json(
            &serde_json::json!({"method": "connection_weights", "times_input": false, "output_idx": [[1]], "ignore_last_act": false})
                .to_string(),
        )
        .unwrap();
        let res = run_method(&g, &rs, &RunInputs { data: vec![], x_ref: None, data_ref: None }).unwrap();
        let a = res.result[0].1[0].as_ref().unwrap();
        assert_eq!(a.shape(), &[1, 1, 1, 4]);
        assert_eq!(a.as_slice().unwrap(), &[3.0, 0.0, 5.0, 0.0]);
        assert!(res.pred[0].is_none() && res.goal[0].is_none());
    }
}
