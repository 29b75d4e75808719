//! ONNX models → innsight's list format.
//!
//! [`read_onnx`] decodes the protobuf ([`proto`]), checks the opset (11 to 21 of the
//! default domain), and walks the graph's nodes in their (topological) order while
//! tracking, per ONNX tensor name, either a constant ([`tensor::Const`]: initializers,
//! `Constant` nodes and everything computed only from constants, such as the
//! `Shape → Gather → Concat` subgraphs exporters write in front of a `Reshape`) or a
//! feature map: the list-format layer producing it and its per-sample shape (the
//! ONNX shape without the batch axis; layouts stay channels first, as in ONNX).
//! Operators that only move data (Identity, Dropout, Flatten, Reshape, Squeeze,
//! Unsqueeze) become aliases or `Reshape`/`Flatten` layers; the others map onto the
//! core's layers (see [`ops`]). The result is a [`ModelSpec`] plus the weights
//! ([`weights`]: the file's float32 tensors as they are, computed ones in `f64`), so
//! an ONNX model is checked and built exactly like any list model.
//!
//! Every model input starts with a `Skipping` layer (the list format lets one layer
//! receive each input, while an ONNX input may feed several nodes). Nodes that no
//! graph output depends on are dropped. Anything outside the supported set (an
//! operator, an element type, a symbolic input size, an attribute value) is an
//! [`Error::Spec`] that names the node, its operator and what is supported; bytes
//! that are not an ONNX model are an [`Error::Io`]. Nothing panics on malformed input.

pub mod ops;
pub mod proto;
pub mod tensor;
pub mod weights;

use crate::error::{Error, Result};
use crate::spec::{LayerSpec, ModelSpec, OpSpec};
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use proto::{GraphProto, ModelProto, NodeProto};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tensor::{Const, ExternalReader, Float32};
pub use weights::{OnnxWeight, OnnxWeights};
/// The byte buffer type the reader takes (the binding hands over file contents).
pub use prost::bytes::Bytes;

/// The supported opset versions of the default (`ai.onnx`) domain.
pub const OPSETS: std::ops::RangeInclusive<i64> = 11..=21;

/// A translated model.
#[derive(Debug)]
pub struct OnnxModel {
    pub spec: ModelSpec,
    pub weights: OnnxWeights,
    /// The graph's input and output tensor names, in order.
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
    /// Opset of the default domain, producer name and version.
    pub opset: i64,
    pub producer: String,
}

/// What an ONNX tensor name stands for during translation.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Const(Const),
    /// A float32 initializer (shared: values are copied around by name).
    Float32(Rc<Float32>),
    /// A feature map: output of list-format layer `layer` (1-based), per-sample shape.
    Map { layer: usize, shape: Vec<usize> },
}

/// The translation state.
pub(crate) struct Builder {
    pub layers: Vec<LayerSpec>,
    pub weights: OnnxWeights,
    values: HashMap<String, Value>,
    /// Number of nodes (and graph outputs) reading each tensor.
    uses: HashMap<String, usize>,
    pub opset: i64,
}

impl Builder {
    /// Append a layer reading the given layers; returns its 1-based index.
    pub fn push(&mut self, op: OpSpec, inputs: &[usize]) -> usize {
        self.layers.push(LayerSpec {
            op,
            input_layers: inputs.iter().map(|&i| i as i64).collect(),
            output_layers: vec![],
            dim_in: None,
            dim_out: None,
        });
        self.layers.len()
    }

    /// Store computed values as a weight of layer `index` (1-based) under the list
    /// format's name.
    pub fn weight(&mut self, index: usize, name: &str, shape: &[usize], data: Vec<f64>) -> Result<()> {
        let a = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| Error::Internal(format!("onnx weight: {e}")))?;
        self.store(index, name, OnnxWeight::F64(a));
        Ok(())
    }

    /// Store a weight of layer `index` as it is.
    pub fn store(&mut self, index: usize, name: &str, w: OnnxWeight) {
        self.weights.insert(format!("layers.{index}.{name}"), w);
    }

    /// How many readers tensor `name` has.
    pub fn uses(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    pub fn set(&mut self, name: &str, v: Value) {
        self.values.insert(name.to_string(), v);
    }
}

/// A node's view for the operator translators: inputs resolved, attributes by name.
pub(crate) struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub inputs: Vec<Option<Value>>,
}

impl NodeCtx<'_> {
    /// An error about this node.
    pub fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::Spec(format!("{}: {}", describe(self.node), brief(&msg.to_string())))
    }

    pub fn attr(&self, name: &str) -> Option<&proto::AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub fn attr_float(&self, name: &str, default: f64) -> f64 {
        self.attr(name).map_or(default, |a| a.f as f64)
    }

    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn attr_str(&self, name: &str, default: &str) -> String {
        self.attr(name).map_or(default.to_string(), |a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// Input `k`, which must be present.
    pub fn input(&self, k: usize) -> Result<&Value> {
        self.inputs.get(k).and_then(Option::as_ref).ok_or_else(|| self.err(format!("input {} is missing", k + 1)))
    }

    /// Input `k` as a constant (weights, shapes, axes), or an error saying so.
    pub fn constant(&self, k: usize, what: &str) -> Result<&Const> {
        match self.input(k)? {
            Value::Const(c) => Ok(c),
            Value::Float32(w) => Ok(w.values()),
            Value::Map { .. } => Err(self.err(format!(
                "{what} (input {}) must be a constant (an initializer or computed from constants only)",
                k + 1
            ))),
        }
    }

    /// Optional constant input `k` (absent or empty name → `None`).
    pub fn opt_constant(&self, k: usize, what: &str) -> Result<Option<&Const>> {
        match self.inputs.get(k) {
            None | Some(None) => Ok(None),
            Some(Some(_)) => self.constant(k, what).map(Some),
        }
    }

    /// Input `k` as a feature map `(layer, shape)`.
    pub fn map(&self, k: usize) -> Result<(usize, Vec<usize>)> {
        match self.input(k)? {
            Value::Map { layer, shape } => Ok((*layer, shape.clone())),
            _ => Err(self.err(format!("input {} must depend on the model input, not be a constant", k + 1))),
        }
    }

    /// Constant input `k` as a weight tensor to store: a float32 initializer as its
    /// bytes, any other constant as values. Returns the shape too.
    pub fn weight(&self, k: usize, what: &str) -> Result<(Vec<usize>, OnnxWeight)> {
        if let Some(Value::Float32(w)) = self.inputs.get(k).and_then(Option::as_ref) {
            return Ok((w.shape.clone(), OnnxWeight::F32 { shape: w.shape.clone(), bytes: w.bytes.clone() }));
        }
        let c = self.constant(k, what)?;
        let a = ArrayD::from_shape_vec(IxDyn(&c.shape), c.data.clone()).map_err(|e| Error::Internal(format!("onnx weight: {e}")))?;
        Ok((c.shape.clone(), OnnxWeight::F64(a)))
    }

    /// The shape of constant input `k` (without converting a float32 initializer).
    pub fn const_shape(&self, k: usize, what: &str) -> Result<Vec<usize>> {
        match self.float32(k) {
            Some(f) => Ok(f.shape.clone()),
            None => Ok(self.constant(k, what)?.shape.clone()),
        }
    }

    /// Input `k` when it is a float32 initializer.
    pub fn float32(&self, k: usize) -> Option<&Float32> {
        match self.inputs.get(k).and_then(Option::as_ref) {
            Some(Value::Float32(w)) => Some(w),
            _ => None,
        }
    }

    /// Whether every present input is a constant.
    pub fn all_const(&self) -> bool {
        self.inputs.iter().flatten().all(|v| !matches!(v, Value::Map { .. }))
    }
}

/// Longest message of a node error, in characters.
const MAX_MESSAGE: usize = 400;

/// `msg`, cut to [`MAX_MESSAGE`] characters: a message quoting a list attribute
/// of a hostile file (millions of pads) would otherwise be megabytes of text.
fn brief(msg: &str) -> String {
    match msg.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{} ... ({} characters cut)", &msg[..at], msg[at..].chars().count()),
        None => msg.to_string(),
    }
}

fn describe(node: &NodeProto) -> String {
    if node.name.is_empty() {
        format!("ONNX node producing `{}` ({})", node.output.first().map_or("", |s| s.as_str()), node.op_type)
    } else {
        format!("ONNX node `{}` ({})", node.name, node.op_type)
    }
}

/// Decode and translate an ONNX model. `external` reads an external-data file by
/// its location relative to the model (the binding does the file system access).
pub fn read_onnx(bytes: impl Into<Bytes>, external: &ExternalReader) -> Result<OnnxModel> {
    // decoding from `Bytes` lets the tensors' raw data point into the file's buffer
    let model = ModelProto::decode(bytes.into()).map_err(|e| Error::Io(format!("the file is not a readable ONNX model: {e}")))?;
    let graph = model
        .graph
        .as_ref()
        .filter(|g| !g.node.is_empty() || !g.output.is_empty())
        .ok_or_else(|| Error::Io("the file is not an ONNX model: it holds no graph".into()))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| Error::Io("the ONNX model declares no opset for the default domain".into()))?;
    if !OPSETS.contains(&opset) {
        return Err(Error::Spec(format!(
            "the ONNX model uses opset {opset}; supported are opsets {} to {} (convert it, e.g. with onnx.version_converter)",
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let functions: HashSet<(&str, &str)> = model.functions.iter().map(|f| (f.domain.as_str(), f.name.as_str())).collect();
    translate(graph, opset, &functions, external).map(|(spec, weights, input_names, output_names)| OnnxModel {
        spec,
        weights,
        input_names,
        output_names,
        opset,
        producer: format!("{} {}", model.producer_name, model.producer_version).trim().to_string(),
    })
}

type Translated = (ModelSpec, OnnxWeights, Vec<String>, Vec<String>);

fn translate(
    graph: &GraphProto,
    opset: i64,
    functions: &HashSet<(&str, &str)>,
    external: &ExternalReader,
) -> Result<Translated> {
    let mut b = Builder { layers: vec![], weights: OnnxWeights::default(), values: HashMap::new(), uses: HashMap::new(), opset };
    for t in &graph.initializer {
        b.values.insert(t.name.clone(), tensor::decode(t, external)?);
    }
    // model inputs: graph inputs that are not initializers
    let mut input_dim = Vec::new();
    let mut input_nodes = Vec::new();
    let mut input_names = Vec::new();
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for vi in graph.input.iter().filter(|vi| !inits.contains(vi.name.as_str())) {
        let shape = input_shape(vi)?;
        let layer = b.push(OpSpec::Skipping {}, &[0]);
        b.set(&vi.name, Value::Map { layer, shape: shape.clone() });
        input_dim.push(shape);
        input_nodes.push(layer);
        input_names.push(vi.name.clone());
    }
    if input_nodes.is_empty() {
        return Err(Error::Spec("the ONNX graph has no input (every graph input is an initializer)".into()));
    }
    let live = live_nodes(graph);
    for node in graph.node.iter().filter(|n| live.contains(&(*n as *const NodeProto))) {
        for i in node.input.iter().filter(|i| !i.is_empty()) {
            *b.uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *b.uses.entry(o.name.clone()).or_default() += 1;
    }
    let rewrites = ops::fuse_gated_activations(graph, &b);
    for node in &graph.node {
        let key = node as *const NodeProto;
        if !live.contains(&key) || rewrites.skipped.contains(&key) {
            continue;
        }
        if !(node.domain.is_empty() || node.domain == "ai.onnx") || functions.contains(&(node.domain.as_str(), node.op_type.as_str())) {
            return Err(Error::Spec(format!(
                "{}: operator `{}` of domain `{}` is not supported (only the default ONNX domain; export with inlined functions)",
                describe(node),
                node.op_type,
                node.domain
            )));
        }
        if let Some((act, x, checks)) = rewrites.fused.get(&key) {
            for (name, want) in checks {
                let got = match b.values.get(name) {
                    Some(Value::Const(c)) => c.single(name).unwrap_or(f64::NAN),
                    Some(Value::Float32(c)) => c.values().single(name).unwrap_or(f64::NAN),
                    _ => f64::NAN,
                };
                if !((got - want).abs() <= 1e-6 * want.abs()) {
                    return Err(Error::Spec(format!(
                        "{}: the pattern of an exact GELU needs the constant `{name}` = {want}, got {got}",
                        describe(node)
                    )));
                }
            }
            let v = b.values.get(x).cloned().ok_or_else(|| {
                Error::Spec(format!("{}: input `{x}` is not produced by any earlier node", describe(node)))
            })?;
            let ctx = NodeCtx { node, inputs: vec![Some(v)] };
            let out = ops::fused_activation(&mut b, &ctx, act)?;
            b.set(&node.output[0], out);
            continue;
        }
        if let Some((softplus, threshold)) = rewrites.softplus_tail.get(&key) {
            let t = match b.values.get(threshold) {
                Some(Value::Const(t)) => t.single("the softplus threshold")?,
                Some(Value::Float32(t)) => t.values().single("the softplus threshold")?,
                _ => f64::NAN,
            };
            // beyond 15, softplus(x) and x differ by less than 3e-7
            if !(t >= 15.0) {
                return Err(Error::Spec(format!(
                    "{}: a Where selecting between x and Softplus(x) at threshold {t} is not supported (only softplus' linear tail beyond 15)",
                    describe(node)
                )));
            }
            let v = b.values.get(softplus).cloned().ok_or_else(|| Error::Spec(format!("{}: input `{softplus}` is missing", describe(node))))?;
            b.set(&node.output[0], v);
            continue;
        }
        let inputs = node
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    b.values.get(name).cloned().map(Some).ok_or_else(|| {
                        Error::Spec(format!("{}: input `{name}` is not produced by any earlier node", describe(node)))
                    })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let ctx = NodeCtx { node, inputs };
        let outputs = ops::translate_node(&mut b, &ctx)?;
        for (name, v) in node.output.iter().zip(outputs) {
            if !name.is_empty() {
                b.set(name, v);
            }
        }
    }
    let mut output_nodes = Vec::new();
    let mut output_names = Vec::new();
    for o in &graph.output {
        match b.values.get(&o.name) {
            Some(Value::Map { layer, shape }) if shape.len() == 1 => {
                output_nodes.push(*layer);
                output_names.push(o.name.clone());
            }
            Some(Value::Map { shape, .. }) => {
                return Err(Error::Spec(format!(
                    "graph output `{}` has the per-sample shape {shape:?}; innsight explains outputs with one axis (classes or regression targets): add a Flatten to the model",
                    o.name
                )))
            }
            Some(Value::Const(_) | Value::Float32(_)) => {
                return Err(Error::Spec(format!("graph output `{}` does not depend on the model input", o.name)))
            }
            None => return Err(Error::Spec(format!("graph output `{}` is not produced by any node", o.name))),
        }
    }
    if output_nodes.is_empty() {
        return Err(Error::Spec("the ONNX graph has no output".into()));
    }
    // successor lists (the list format wants both directions)
    let n = b.layers.len();
    let mut succ: Vec<Vec<i64>> = vec![vec![]; n];
    for (i, l) in b.layers.iter().enumerate() {
        for &p in &l.input_layers {
            if p > 0 && !succ[p as usize - 1].contains(&(i as i64 + 1)) {
                succ[p as usize - 1].push(i as i64 + 1);
            }
        }
    }
    for &o in &output_nodes {
        succ[o - 1].push(-1);
    }
    for (l, s) in b.layers.iter_mut().zip(succ) {
        l.output_layers = s;
    }
    let spec = ModelSpec { input_dim, input_nodes, output_nodes, layers: b.layers };
    Ok((spec, b.weights, input_names, output_names))
}

/// Per-sample shape of a model input; the first axis is the batch.
fn input_shape(vi: &proto::ValueInfoProto) -> Result<Vec<usize>> {
    let t = vi
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| Error::Spec(format!("model input `{}` is not a tensor", vi.name)))?;
    if t.elem_type != proto::data_type::FLOAT && t.elem_type != proto::data_type::DOUBLE {
        return Err(Error::Spec(format!(
            "model input `{}` has the element type {}; supported: float, double",
            vi.name,
            tensor::dtype_name(t.elem_type)
        )));
    }
    let dims = t.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or(&[]);
    if dims.len() < 2 || dims.len() > 4 {
        return Err(Error::Spec(format!(
            "model input `{}` has rank {}; supported are (batch, features), (batch, C, L) and (batch, C, H, W)",
            vi.name,
            dims.len()
        )));
    }
    let shape: Vec<usize> = dims[1..]
        .iter()
        .enumerate()
        .map(|(k, d)| match (d.dim_value, &d.dim_param) {
            (Some(v), _) if v > 0 => Ok(v as usize),
            (_, Some(p)) if !p.is_empty() => Err(Error::Spec(format!(
                "model input `{}` has a dynamic size `{p}` on axis {}; export the model with a fixed input size",
                vi.name,
                k + 1
            ))),
            _ => Err(Error::Spec(format!(
                "model input `{}` has no fixed size on axis {}; export the model with a fixed input size",
                vi.name,
                k + 1
            ))),
        })
        .collect::<Result<_>>()?;
    // sizes derived from the input's (flattening, padding) must not overflow
    if tensor::checked_numel(&shape).is_none_or(|n| n > MAX_INPUT_VALUES) {
        return Err(Error::Spec(format!(
            "model input `{}` has the per-sample shape {shape:?}, more than 2^40 values",
            vi.name
        )));
    }
    Ok(shape)
}

/// Most values a model input may have per sample (2^40; real inputs have well
/// under 2^32).
pub const MAX_INPUT_VALUES: usize = 1 << 40;

/// The nodes some graph output depends on.
fn live_nodes(graph: &GraphProto) -> HashSet<*const NodeProto> {
    let producer: HashMap<&str, &NodeProto> =
        graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect();
    let mut live = HashSet::new();
    let mut stack: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let mut seen = HashSet::new();
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        if let Some(&n) = producer.get(t) {
            if live.insert(n as *const NodeProto) {
                stack.extend(n.input.iter().filter(|i| !i.is_empty()).map(|i| i.as_str()));
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_external(loc: &str) -> Result<Bytes> {
        Err(Error::Io(format!("no external data `{loc}` in this test")))
    }

    /// Inputs the fuzz target `onnx` (src/rust/fuzz) found; each once crashed the reader.
    #[test]
    fn fuzz_regressions_are_errors() {
        // a ConstantOfShape of shape [1073741824, 1, 1, 500000] (4e15 bytes of f64)
        // from a 10 KB file: aborted allocating
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-constant-of-shape-huge.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("ConstantOfShape") && m.contains("values it may hold")), "{e}");
        // a Pad by 4e18 on one axis, then a Flatten: the product overflowed
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-pad-size-overflow.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("Pad") && m.contains("longer than 2^40")), "{e}");
        // Pads within 2^40 per axis whose product overflowed in a Flatten
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-flatten-size-overflow.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("too many values to flatten")), "{e}");
        // a Div of a flat map of 9 billion values by a constant: its per-channel
        // affine layer asked for 72 GB of weights
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-affine-channels-huge.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("more than 2^24 channels")), "{e}");
        // a Pad whose `pads` is a folded constant of millions of zeros: the error
        // quoted all of them (libFuzzer's slow unit, megabytes of message)
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-pad-list-huge.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("Pad") && m.contains("characters cut") && m.len() < 600), "{e}");
        // a folded Transpose whose `perm` repeats an axis: indexed past the data
        let bytes = include_bytes!("../../../tests/fuzz-regressions/onnx-transpose-perm-repeated.onnx");
        let e = read_onnx(bytes.to_vec(), &no_external).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("not a permutation")), "{e}");
    }
}
