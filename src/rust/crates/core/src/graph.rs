//! The model graph: an immutable DAG of layer nodes in topological order, built from a
//! [`ModelSpec`] plus weights, and the [`Trace`] a forward pass writes.
//!
//! The builder converts the spec's 1-based layer indices to 0-based node ids once,
//! here. A Dense/Conv layer with a non-linear activation becomes two nodes (the affine
//! part and an activation node), so every node is either affine or an activation;
//! the spec's layer index is kept on each node for messages and per-layer rules.

use crate::error::{Error, Result};
use crate::layers::{self, Layer, LayerKind, WeightSource};
use crate::scalar::Scalar;
use crate::spec::{ModelSpec, OpSpec};
use crate::tensor::{fmt_shape, numel, with_leading, Shape};
use ndarray::{ArrayD, ArrayViewD};
use std::sync::{Arc, OnceLock};

/// Where a node's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The k-th model input (0-based).
    Input(usize),
    /// Another node's output.
    Node(usize),
}

/// One node of the graph.
pub struct Node<T: Scalar> {
    /// The operation (shared with the batch-norm-folded graph).
    pub op: Arc<dyn Layer<T>>,
    /// Its inputs, in order.
    pub inputs: Vec<Source>,
    /// 1-based index of the spec layer this node belongs to.
    pub layer_index: usize,
    /// innsight `type` of that spec layer.
    pub type_name: &'static str,
    /// Shapes of the inputs (no batch axis).
    pub in_shapes: Vec<Shape>,
    /// Shape of the output (no batch axis).
    pub out_shape: Shape,
    /// True for an activation node split off a Dense/Conv layer.
    pub fused: bool,
}

/// An immutable model graph.
pub struct Graph<T: Scalar> {
    /// Nodes in topological order.
    pub nodes: Vec<Node<T>>,
    /// In-shapes of the model inputs.
    pub input_shapes: Vec<Shape>,
    /// Node ids of the model outputs (after the last activation).
    pub outputs: Vec<usize>,
    /// Node ids of the model outputs with the last activation skipped
    /// (`ignore_last_act = TRUE`).
    pub preactivations: Vec<usize>,
    /// For every spec layer (0-based), the node producing its output.
    pub layer_output: Vec<usize>,
    /// The batch-norm-folded graph, made on first use (see [`Graph::batchnorm_folded`]).
    folded: OnceLock<Option<Box<Graph<T>>>>,
}

/// All node outputs of one forward pass, `[B, out...]` each.
pub struct Trace<T: Scalar> {
    pub values: Vec<ArrayD<T>>,
}

fn layer_err(i: usize, op: &OpSpec, e: Error) -> Error {
    e.in_layer(i + 1, op.type_name())
}

/// Kahn's algorithm over the spec's `input_layers` edges; errors name a layer on a cycle.
fn topological_order(spec: &ModelSpec) -> Result<Vec<usize>> {
    let n = spec.layers.len();
    let mut indeg = vec![0usize; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, l) in spec.layers.iter().enumerate() {
        for &p in &l.input_layers {
            if p > 0 {
                indeg[i] += 1;
                succ[p as usize - 1].push(i);
            }
        }
    }
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &s in succ[i].iter().rev() {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.push(s);
            }
        }
    }
    if order.len() < n {
        let stuck: Vec<String> = (0..n).filter(|&i| indeg[i] > 0).map(|i| (i + 1).to_string()).collect();
        return Err(Error::Spec(format!("the layers form a cycle (layers involved: {})", stuck.join(", "))));
    }
    Ok(order)
}

fn check_indices(spec: &ModelSpec) -> Result<()> {
    let n = spec.layers.len();
    if n == 0 {
        return Err(Error::Spec("the model has no layers".into()));
    }
    if spec.input_dim.len() != spec.input_nodes.len() {
        return Err(Error::Spec(format!(
            "`input_dim` describes {} input(s) but `input_nodes` lists {}",
            spec.input_dim.len(),
            spec.input_nodes.len()
        )));
    }
    for (name, v) in [("input_nodes", &spec.input_nodes), ("output_nodes", &spec.output_nodes)] {
        if v.is_empty() {
            return Err(Error::Spec(format!("`{name}` is empty")));
        }
        if let Some(bad) = v.iter().find(|&&i| i < 1 || i > n) {
            return Err(Error::Spec(format!("`{name}` contains {bad}, but layers are numbered 1..{n}")));
        }
    }
    for (i, l) in spec.layers.iter().enumerate() {
        let ctx = |msg: String| Error::Layer { index: i + 1, type_name: l.op.type_name().into(), msg };
        if l.input_layers.is_empty() {
            return Err(ctx("`input_layers` is empty".into()));
        }
        if let Some(bad) = l.input_layers.iter().find(|&&p| p < 0 || p as usize > n || p as usize == i + 1) {
            return Err(ctx(format!("`input_layers` contains {bad}; expected 0 (model input) or another layer in 1..{n}")));
        }
        if let Some(bad) = l.output_layers.iter().find(|&&p| p < -1 || p == 0 || p > n as i64) {
            return Err(ctx(format!("`output_layers` contains {bad}; expected -1 (model output) or a layer in 1..{n}")));
        }
        if l.input_layers.contains(&0) && !spec.input_nodes.contains(&(i + 1)) {
            return Err(ctx("`input_layers` contains 0 (model input) but the layer is not listed in `input_nodes`".into()));
        }
    }
    Ok(())
}

/// Parse an optional `dim_in`/`dim_out` value into shapes.
fn given_shapes(v: &serde_json::Value) -> Option<Vec<Shape>> {
    let as_shape = |v: &serde_json::Value| -> Option<Shape> {
        match v {
            serde_json::Value::Number(n) => Some(vec![n.as_u64()? as usize]),
            serde_json::Value::Array(a) => a.iter().map(|x| x.as_u64().map(|u| u as usize)).collect(),
            _ => None,
        }
    };
    match v {
        serde_json::Value::Array(a) if a.iter().any(|x| x.is_array()) => a.iter().map(as_shape).collect(),
        other => as_shape(other).map(|s| vec![s]),
    }
}

impl<T: Scalar> Graph<T> {
    /// Build and shape-check a graph.
    pub fn build(spec: &ModelSpec, weights: &dyn WeightSource<T>) -> Result<Graph<T>> {
        check_indices(spec)?;
        let order = topological_order(spec)?;
        let mut nodes: Vec<Node<T>> = Vec::new();
        let mut layer_output = vec![usize::MAX; spec.layers.len()];
        let mut layer_preact = vec![usize::MAX; spec.layers.len()];
        for &i in &order {
            let l = &spec.layers[i];
            let mut sources = Vec::new();
            for &p in &l.input_layers {
                sources.push(if p == 0 {
                    let k = spec.input_nodes.iter().position(|&x| x == i + 1).unwrap_or(0);
                    Source::Input(k)
                } else {
                    Source::Node(layer_output[p as usize - 1])
                });
            }
            let in_shapes: Vec<Shape> = sources
                .iter()
                .map(|s| match *s {
                    Source::Input(k) => spec.input_dim[k].clone(),
                    Source::Node(id) => nodes[id].out_shape.clone(),
                })
                .collect();
            let built = layers::build::<T>(i + 1, &l.op, weights).map_err(|e| layer_err(i, &l.op, e))?;
            let out_shape = built.op.output_shape(&in_shapes).map_err(|e| layer_err(i, &l.op, e))?;
            if let Some(given) = l.dim_in.as_ref().and_then(given_shapes) {
                if given != in_shapes {
                    return Err(layer_err(i, &l.op, Error::Spec(format!(
                        "mismatch between the calculated input shape {} and the given `dim_in` {}",
                        in_shapes.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", "),
                        given.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", ")
                    ))));
                }
            }
            if let Some(given) = l.dim_out.as_ref().and_then(given_shapes) {
                if given != [out_shape.clone()] {
                    return Err(layer_err(i, &l.op, Error::Spec(format!(
                        "mismatch between the calculated output shape {} and the given `dim_out` {}",
                        fmt_shape(&out_shape),
                        fmt_shape(&given[0])
                    ))));
                }
            }
            let type_name = l.op.type_name();
            let is_activation_layer = built.op.kind() == LayerKind::Activation;
            let first_source = sources[0];
            nodes.push(Node { op: Arc::from(built.op), inputs: sources, layer_index: i + 1, type_name, in_shapes, out_shape: out_shape.clone(), fused: false });
            let main = nodes.len() - 1;
            layer_preact[i] = match (is_activation_layer, first_source) {
                (true, Source::Node(id)) => id,
                _ => main,
            };
            if built.activation.is_linear() {
                layer_output[i] = main;
            } else {
                nodes.push(Node {
                    op: Arc::new(layers::activation_layer::ActivationLayer::new(built.activation)),
                    inputs: vec![Source::Node(main)],
                    layer_index: i + 1,
                    type_name,
                    in_shapes: vec![out_shape.clone()],
                    out_shape,
                    fused: true,
                });
                layer_output[i] = nodes.len() - 1;
            }
        }
        let outputs: Vec<usize> = spec.output_nodes.iter().map(|&i| layer_output[i - 1]).collect();
        let preactivations: Vec<usize> = spec.output_nodes.iter().map(|&i| layer_preact[i - 1]).collect();
        for (k, &i) in spec.output_nodes.iter().enumerate() {
            let shape = &nodes[outputs[k]].out_shape;
            if shape.len() != 1 {
                return Err(Error::Spec(format!(
                    "output {} (layer {i}) has shape {}, but only models with classification or regression output (one axis) are supported",
                    k + 1,
                    fmt_shape(shape)
                )));
            }
        }
        Ok(Graph { nodes, input_shapes: spec.input_dim.clone(), outputs, preactivations, layer_output, folded: OnceLock::new() })
    }

    /// The same function with every batch normalisation that directly follows a dense
    /// or convolution node folded into that node (`W·scale`, `b·scale + shift`), or
    /// `self` when there is nothing to fold. ResNet50's 53 batch-norm passes then
    /// vanish from the forward and reverse passes of the methods that only need the
    /// network's function and its gradient (the gradient family, DeepLift's Rescale
    /// rule); LRP and RevealCancel treat batch normalisation as a layer of its own and
    /// use the graph as built. A node is folded only when the batch norm is its sole
    /// consumer and the node is not a model output or pre-activation. Made once, on
    /// first use; it owns its folded weights (ResNet50: 94 MB in single precision).
    pub fn batchnorm_folded(&self) -> &Graph<T> {
        self.folded.get_or_init(|| self.fold_batchnorm().map(Box::new)).as_deref().unwrap_or(self)
    }

    fn fold_batchnorm(&self) -> Option<Graph<T>> {
        let n = self.nodes.len();
        let mut consumers = vec![0usize; n];
        for node in &self.nodes {
            for s in &node.inputs {
                if let Source::Node(i) = *s {
                    consumers[i] += 1;
                }
            }
        }
        let kept = |i: usize| self.outputs.contains(&i) || self.preactivations.contains(&i);
        // merged[i]: node i's op with the batch norm after it and that batch norm's
        // index j; into[j] = i (both ways, so that no search is needed below)
        let mut merged: Vec<Option<(Arc<dyn Layer<T>>, usize)>> = vec![None; n];
        let mut into: Vec<Option<usize>> = vec![None; n];
        for (j, node) in self.nodes.iter().enumerate() {
            let Some((scale, shift)) = node.op.channel_affine() else { continue };
            let [Source::Node(i)] = node.inputs[..] else { continue };
            if consumers[i] != 1 || kept(i) || merged[i].is_some() {
                continue;
            }
            if let Some(op) = self.nodes[i].op.then_affine(scale, shift) {
                merged[i] = Some((Arc::from(op), j));
                into[j] = Some(i);
            }
        }
        if into.iter().all(Option::is_none) {
            return None;
        }
        let mut new_id = vec![usize::MAX; n];
        let mut nodes = Vec::with_capacity(n);
        for (id, node) in self.nodes.iter().enumerate() {
            if let Some(i) = into[id] {
                // the batch norm's output is the folded node's
                new_id[id] = new_id[i];
                continue;
            }
            let inputs = node
                .inputs
                .iter()
                .map(|s| match *s {
                    Source::Node(i) => Source::Node(new_id[i]),
                    input => input,
                })
                .collect();
            let folded = merged[id].as_ref();
            let batch_norm = folded.map(|&(_, j)| j);
            nodes.push(Node {
                op: folded.map_or_else(|| node.op.clone(), |(op, _)| op.clone()),
                inputs,
                layer_index: node.layer_index,
                type_name: node.type_name,
                in_shapes: node.in_shapes.clone(),
                out_shape: batch_norm.map_or_else(|| node.out_shape.clone(), |j| self.nodes[j].out_shape.clone()),
                fused: node.fused,
            });
            new_id[id] = nodes.len() - 1;
        }
        let map = |ids: &[usize]| ids.iter().map(|&i| new_id[i]).collect::<Vec<_>>();
        Some(Graph {
            nodes,
            input_shapes: self.input_shapes.clone(),
            outputs: map(&self.outputs),
            preactivations: map(&self.preactivations),
            layer_output: map(&self.layer_output),
            folded: OnceLock::from(None),
        })
    }

    /// Number of model outputs.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Output width of model output `k`.
    pub fn output_width(&self, k: usize) -> usize {
        self.nodes[self.outputs[k]].out_shape[0]
    }

    /// Check that `inputs` fit the model (count and shapes) and share one batch size.
    pub fn check_inputs(&self, inputs: &[ArrayD<T>], what: &str) -> Result<usize> {
        if inputs.len() != self.input_shapes.len() {
            return Err(Error::Data(format!(
                "`{what}` must hold {} input(s), one per model input layer, got {}",
                self.input_shapes.len(),
                inputs.len()
            )));
        }
        let b = inputs[0].shape().first().copied().unwrap_or(0);
        for (k, (x, shape)) in inputs.iter().zip(&self.input_shapes).enumerate() {
            if &x.shape()[1..] != shape.as_slice() || x.shape()[0] != b {
                return Err(Error::Data(format!(
                    "`{what}[[{}]]` has shape ({}), expected (batch = {b}, {})",
                    k + 1,
                    x.shape().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(b)
    }

    /// Run the forward pass and keep every node's output.
    pub fn forward(&self, inputs: &[ArrayD<T>]) -> Result<Trace<T>> {
        self.run_forward(inputs, None)
    }

    /// A forward pass for the values of the nodes `keep` only (e.g. the outputs): every
    /// other node's value is freed after its last consumer, so at most a few layers'
    /// activations are alive at once. The returned trace holds empty arrays for the
    /// nodes not kept.
    pub fn forward_keeping(&self, inputs: &[ArrayD<T>], keep: &[usize]) -> Result<Trace<T>> {
        self.run_forward(inputs, Some(keep))
    }

    /// The forward pass; with `keep`, values not kept are freed after their last use.
    fn run_forward(&self, inputs: &[ArrayD<T>], keep: Option<&[usize]>) -> Result<Trace<T>> {
        self.check_inputs(inputs, "data")?;
        let n = self.nodes.len();
        // for every node, the last node reading it (only needed when freeing)
        let mut last_use: Vec<Option<usize>> = vec![None; if keep.is_some() { n } else { 0 }];
        if keep.is_some() {
            for (id, node) in self.nodes.iter().enumerate() {
                for s in &node.inputs {
                    if let Source::Node(i) = *s {
                        last_use[i] = Some(id);
                    }
                }
            }
        }
        let mut values: Vec<ArrayD<T>> = Vec::with_capacity(n);
        for (id, node) in self.nodes.iter().enumerate() {
            let y = {
                let ins: Vec<ArrayViewD<T>> = node
                    .inputs
                    .iter()
                    .map(|s| match *s {
                        Source::Input(k) => inputs[k].view(),
                        Source::Node(i) => values[i].view(),
                    })
                    .collect();
                node.op.forward(&ins).map_err(|e| e.in_layer(node.layer_index, node.type_name))?
            };
            values.push(y);
            if let Some(keep) = keep {
                for s in &node.inputs {
                    if let Source::Node(i) = *s {
                        if last_use[i] == Some(id) && !keep.contains(&i) {
                            values[i] = ArrayD::zeros(ndarray::IxDyn(&[0]));
                        }
                    }
                }
            }
        }
        Ok(Trace { values })
    }

    /// Traced inputs of a node.
    pub fn node_inputs<'a>(&self, id: usize, inputs: &'a [ArrayD<T>], trace: &'a Trace<T>) -> Vec<ArrayViewD<'a, T>> {
        self.nodes[id]
            .inputs
            .iter()
            .map(|s| match *s {
                Source::Input(k) => inputs[k].view(),
                Source::Node(j) => trace.values[j].view(),
            })
            .collect()
    }

    /// For every (output k, input j): whether input j influences output k.
    pub fn connected(&self) -> Vec<Vec<bool>> {
        let n_in = self.input_shapes.len();
        // reach[id][j]: node id depends on input j
        let mut reach: Vec<Vec<bool>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let mut r = vec![false; n_in];
            for s in &node.inputs {
                match *s {
                    Source::Input(k) => r[k] = true,
                    Source::Node(id) => {
                        for j in 0..n_in {
                            r[j] |= reach[id][j];
                        }
                    }
                }
            }
            reach.push(r);
        }
        self.outputs.iter().map(|&o| reach[o].clone()).collect()
    }

    /// Elements held per batch row by a full trace (all node outputs), used to size
    /// chunks of large batches.
    pub fn trace_numel_per_row(&self) -> usize {
        self.nodes.iter().map(|n| numel(&n.out_shape)).sum::<usize>()
            + self.input_shapes.iter().map(|s| numel(s)).sum::<usize>()
    }

    /// Largest node output per batch row.
    pub fn max_numel_per_row(&self) -> usize {
        self.nodes.iter().map(|n| numel(&n.out_shape)).max().unwrap_or(0)
    }

    /// Rows per chunk so that a trace plus `s` backward slabs stay within `budget` bytes.
    pub fn rows_per_chunk(&self, s: usize, budget: usize) -> usize {
        let per_row = (self.trace_numel_per_row() + 3 * s * self.max_numel_per_row()) * std::mem::size_of::<T>();
        (budget / per_row.max(1)).max(1)
    }

    /// The shape `[B, in...]` of model input `k` for batch `b`.
    pub fn input_batch_shape(&self, k: usize, b: usize) -> Vec<usize> {
        with_leading(&[b], &self.input_shapes[k])
    }
}
