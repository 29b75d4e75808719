//! The single reverse driver shared by every backward-pass method.
//!
//! Starting from seed signals `[S, B, out...]` at some nodes, nodes are visited in
//! reverse topological order; a node's signal is the sum of what its successors send
//! back (fan-out), and a [`Rule`] maps it to one signal per node input. Signals that
//! reach model inputs are summed per input. Methods differ only in their rules.

use crate::error::Result;
use crate::graph::{Graph, Node, Source, Trace};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD};

/// How a node turns its upper signal into signals for its inputs.
pub trait Rule<T: Scalar>: Send + Sync {
    /// `id` is the node's id in the graph (rules that need more context, such as a
    /// reference trace, hold it themselves and look it up by id); `inputs`/`output`
    /// are the traced forward values `[B, ...]`; `upper` is `[S, B, out...]`.
    /// Returns one `[S, B, in...]` per input.
    fn backward(&self, id: usize, node: &Node<T>, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, upper: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>>;
}

/// The plain gradient: every node's vector-Jacobian product.
pub struct GradientRule;

impl<T: Scalar> Rule<T> for GradientRule {
    fn backward(&self, _id: usize, node: &Node<T>, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, upper: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        node.op.vjp(inputs, output, upper)
    }
}

fn accumulate<T: Scalar>(slot: &mut Option<ArrayD<T>>, signal: ArrayD<T>) {
    match slot {
        Some(acc) => *acc += &signal,
        None => *slot = Some(signal),
    }
}

/// Run the reverse pass. `rule_for(node_id)` picks each node's rule. Returns one
/// `[S, B, in...]` signal per model input (`None` where no signal arrived).
pub fn backward<'r, T: Scalar>(
    graph: &Graph<T>,
    inputs: &[ArrayD<T>],
    trace: &Trace<T>,
    seeds: Vec<(usize, ArrayD<T>)>,
    rule_for: &dyn Fn(usize) -> &'r dyn Rule<T>,
) -> Result<Vec<Option<ArrayD<T>>>> {
    Ok(reverse(graph, inputs, trace, seeds, rule_for, None)?.0)
}

/// The reverse pass down to node `stop` only: the signal `[S, B, out...]` that arrives
/// at `stop`'s output (e.g. the gradient with respect to a layer's activations for
/// Grad-CAM), `None` if nothing arrives there.
pub fn backward_to<'r, T: Scalar>(
    graph: &Graph<T>,
    inputs: &[ArrayD<T>],
    trace: &Trace<T>,
    seeds: Vec<(usize, ArrayD<T>)>,
    rule_for: &dyn Fn(usize) -> &'r dyn Rule<T>,
    stop: usize,
) -> Result<Option<ArrayD<T>>> {
    Ok(reverse(graph, inputs, trace, seeds, rule_for, Some(stop))?.1)
}

/// Signals at the model inputs, and at `stop` when given (the pass ends there).
#[allow(clippy::type_complexity)]
fn reverse<'r, T: Scalar>(
    graph: &Graph<T>,
    inputs: &[ArrayD<T>],
    trace: &Trace<T>,
    seeds: Vec<(usize, ArrayD<T>)>,
    rule_for: &dyn Fn(usize) -> &'r dyn Rule<T>,
    stop: Option<usize>,
) -> Result<(Vec<Option<ArrayD<T>>>, Option<ArrayD<T>>)> {
    let mut pending: Vec<Option<ArrayD<T>>> = (0..graph.nodes.len()).map(|_| None).collect();
    for (id, seed) in seeds {
        accumulate(&mut pending[id], seed);
    }
    let mut at_inputs: Vec<Option<ArrayD<T>>> = (0..graph.input_shapes.len()).map(|_| None).collect();
    for id in (0..graph.nodes.len()).rev() {
        if stop == Some(id) {
            return Ok((at_inputs, pending[id].take()));
        }
        let Some(upper) = pending[id].take() else { continue };
        let node = &graph.nodes[id];
        let ins = graph.node_inputs(id, inputs, trace);
        let lower = rule_for(id)
            .backward(id, node, &ins, &trace.values[id].view(), &upper.view())
            .map_err(|e| e.in_layer(node.layer_index, node.type_name))?;
        for (src, sig) in node.inputs.iter().zip(lower) {
            match *src {
                Source::Input(k) => accumulate(&mut at_inputs[k], sig),
                Source::Node(j) => accumulate(&mut pending[j], sig),
            }
        }
    }
    Ok((at_inputs, None))
}
