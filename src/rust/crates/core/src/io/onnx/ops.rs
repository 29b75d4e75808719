//! ONNX operators → list-format layers, one function per operator family.
//!
//! Conventions of the mapping (all shapes per sample, channels first):
//! * `Conv` → `Conv1D`/`Conv2D` (with `groups`), `Gemm`/`MatMul` → `Dense`
//!   (`W = α·B` or `α·Bᵀ`, bias `β·C`); a constant `Add` right after a Dense/Conv
//!   layer it alone reads becomes that layer's bias.
//! * constant `Add`/`Sub`/`Mul`/`Div` that act per channel (a scalar or one value
//!   per channel) → an inference-mode `BatchNorm` with `run_mean = 0`,
//!   `run_var = 1`, `eps = 0`, i.e. exactly `y = γ·x + β`;
//!   `BatchNormalization` → `BatchNorm`.
//! * `Add` of two maps → `Add`, `Sub` → `Add` after a `BatchNorm` with `γ = −1`,
//!   `Mul` of two maps → `Multiply` (a gate), except `x·Sigmoid(x)` and
//!   `x·HardSigmoid(x)` (α = 1/6, β = 1/2), which are SiLU and hard swish.
//! * `MaxPool`/`AveragePool` → a `Padding` layer where the node pads (max: the
//!   lowest float, average: zeros, only with `count_include_pad = 1`), then the
//!   pooling layer; `GlobalAveragePool`/`GlobalMaxPool` and `ReduceMean`/`ReduceMax`
//!   over all spatial axes with `keepdims = 1` → pooling over the whole map (output
//!   `[C, 1, 1]` as in ONNX), with `keepdims = 0` → `GlobalPooling`.

use super::tensor::{self as t, Const};
use super::{Builder, NodeCtx, OnnxWeight, Value, MAX_INPUT_VALUES};
use crate::error::{Error, Result};
use crate::layers::multiply::Multiply;
use crate::spec::{ActivationArgs, ConvSpec, OpSpec, PoolSpec};
use std::collections::{HashMap, HashSet};

/// The operators the reader translates (shape-only and constant ones included).
pub const SUPPORTED: &[&str] = &[
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
    "Div", "Dropout", "Elu", "Flatten", "Gather", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
    "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Neg", "Pad", "ReduceMax",
    "ReduceMean", "Relu", "Reshape", "Selu", "Shape", "Sigmoid", "Slice", "Softmax", "Softplus", "Sqrt", "Squeeze",
    "Sub", "Tanh", "Transpose", "Unsqueeze",
];

/// Product nodes rewritten as activations, and the activation nodes they absorb.
pub(crate) struct Rewrites {
    pub skipped: HashSet<*const crate::io::onnx::proto::NodeProto>,
    /// Mul node → (activation name, the name of its operand `x`, constants the
    /// pattern needs: (tensor name, value)).
    pub fused: HashMap<*const crate::io::onnx::proto::NodeProto, (&'static str, String, Vec<(String, f64)>)>,
    /// `Where(x > t, x, Softplus(x))` node → (the Softplus output, the name of `t`).
    pub softplus_tail: HashMap<*const crate::io::onnx::proto::NodeProto, (String, String)>,
}

/// Find `x · Sigmoid(x)` (SiLU, as exporters write torch's `SiLU`) and
/// `x · HardSigmoid(x)` with α = 1/6, β = 1/2 (hard swish), where the gate's output
/// has no other reader: both become one activation instead of a product, so LRP and
/// DeepLift treat them as the activations they are.
pub(crate) fn fuse_gated_activations(graph: &crate::io::onnx::proto::GraphProto, b: &Builder) -> Rewrites {
    let producer: HashMap<&str, &crate::io::onnx::proto::NodeProto> =
        graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n))).collect();
    let mut r = Rewrites { skipped: HashSet::new(), fused: HashMap::new(), softplus_tail: HashMap::new() };
    // torch.export writes softplus' linear tail (torch's threshold 20) as
    // Where(x > t, x, Softplus(x)); innsight's softplus has that tail built in
    for node in graph.node.iter().filter(|n| n.op_type == "Where" && n.input.len() == 3) {
        let (Some(&cond), Some(&sp)) = (producer.get(node.input[0].as_str()), producer.get(node.input[2].as_str())) else {
            continue;
        };
        let x = &node.input[1];
        if cond.op_type == "Greater" && cond.input.len() == 2 && &cond.input[0] == x && b.uses(&node.input[0]) == 1
            && sp.op_type == "Softplus" && sp.input.first() == Some(x)
        {
            r.skipped.insert(cond as *const _);
            r.softplus_tail.insert(node as *const _, (node.input[2].clone(), cond.input[1].clone()));
        }
    }
    for node in graph.node.iter().filter(|n| n.op_type == "Mul" && n.input.len() == 2) {
        for (gate, x) in [(1, 0), (0, 1)] {
            let Some(&g) = producer.get(node.input[gate].as_str()) else { continue };
            if g.input.first() != Some(&node.input[x]) || b.uses(&node.input[gate]) != 1 {
                continue;
            }
            let attr = |name: &str, d: f64| g.attribute.iter().find(|a| a.name == name).map_or(d, |a| a.f as f64);
            let act = match g.op_type.as_str() {
                "Sigmoid" => "silu",
                "HardSigmoid" if (attr("alpha", 0.2) - 1.0 / 6.0).abs() < 1e-6 && (attr("beta", 0.5) - 0.5).abs() < 1e-6 => {
                    "hard_swish"
                }
                _ => continue,
            };
            r.skipped.insert(g as *const _);
            r.fused.insert(node as *const _, (act, node.input[x].clone(), vec![]));
            break;
        }
    }
    fuse_erf_gelu(graph, b, &producer, &mut r);
    r
}

/// The exact GELU as opsets before 20 write it: `x · (erf(x / √2) + 1) · 0.5`
/// (Div, Erf, Add, then the two products in either order; the constants are
/// checked at translation).
fn fuse_erf_gelu(
    graph: &crate::io::onnx::proto::GraphProto,
    b: &Builder,
    producer: &HashMap<&str, &crate::io::onnx::proto::NodeProto>,
    r: &mut Rewrites,
) {
    use crate::io::onnx::proto::NodeProto;
    let mut readers: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    for n in &graph.node {
        for i in &n.input {
            readers.entry(i.as_str()).or_default().push(n);
        }
    }
    let sole = |name: &str, op: &str| -> Option<&NodeProto> {
        match readers.get(name).map(|v| v.as_slice()) {
            Some([n]) if n.op_type == op && b.uses(name) == 1 => Some(*n),
            _ => None,
        }
    };
    let other = |n: &NodeProto, this: &str| -> Option<String> {
        match n.input.as_slice() {
            [p, q] if p == this => Some(q.clone()),
            [p, q] if q == this => Some(p.clone()),
            _ => None,
        }
    };
    for erf in graph.node.iter().filter(|n| n.op_type == "Erf" && n.input.len() == 1) {
        let Some(&div) = producer.get(erf.input[0].as_str()) else { continue };
        if div.op_type != "Div" || div.input.len() != 2 || b.uses(&erf.input[0]) != 1 {
            continue;
        }
        let x = div.input[0].clone();
        let Some(add) = sole(&erf.output[0], "Add") else { continue };
        let Some(mul1) = sole(&add.output[0], "Mul") else { continue };
        let Some(mul2) = sole(&mul1.output[0], "Mul") else { continue };
        // the factors x and 1/2 come in either order
        let (Some(f1), Some(f2), Some(one)) =
            (other(mul1, &add.output[0]), other(mul2, &mul1.output[0]), other(add, &erf.output[0]))
        else {
            continue;
        };
        let half = match (f1 == x, f2 == x) {
            (true, false) => f2,
            (false, true) => f1,
            _ => continue,
        };
        for n in [div, erf, add, mul1] {
            r.skipped.insert(n as *const _);
        }
        let checks = vec![(div.input[1].clone(), std::f64::consts::SQRT_2), (one, 1.0), (half, 0.5)];
        r.fused.insert(mul2 as *const _, ("gelu", x, checks));
    }
}

/// Translate one node; returns one value per node output.
pub(crate) fn translate_node(b: &mut Builder, c: &NodeCtx) -> Result<Vec<Value>> {
    let op = c.node.op_type.as_str();
    if op == "Constant" {
        return Ok(vec![constant_node(c)?]);
    }
    if c.all_const() && !c.inputs.is_empty() {
        return Ok(vec![Value::Const(fold(b, c)?)]);
    }
    let one = |v: Value| Ok(vec![v]);
    match op {
        "Identity" => one(c.input(0)?.clone()),
        "Dropout" => {
            if c.node.output.get(1).is_some_and(|m| !m.is_empty() && b.uses(m) > 0) {
                return Err(c.err("the dropout mask output is used; only inference graphs are supported"));
            }
            one(c.input(0)?.clone())
        }
        "Cast" => match c.attr_int("to", 1) {
            1 | 11 => one(c.input(0)?.clone()),
            other => Err(c.err(format!("a cast of the feature map to {} is not supported", t::dtype_name(other as i32)))),
        },
        "Shape" => {
            let (_, shape) = c.map(0)?;
            // the batch size is not part of the model; 1 stands for it
            let full: Vec<i64> = std::iter::once(1).chain(shape.iter().map(|&d| d as i64)).collect();
            one(Value::Const(shape_slice(c, &full)?))
        }
        "Conv" => one(conv(b, c)?),
        "Gemm" => one(gemm(b, c)?),
        "MatMul" => one(matmul(b, c)?),
        "BatchNormalization" => one(batch_norm(b, c)?),
        "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Softmax" | "Elu" | "Selu" | "Gelu" | "Softplus" | "HardSigmoid"
        | "HardSwish" | "Clip" => one(activation(b, c)?),
        "MaxPool" | "AveragePool" => one(pool(b, c)?),
        "GlobalAveragePool" | "GlobalMaxPool" => {
            let (layer, shape) = c.map(0)?;
            one(whole_map_pool(b, c, layer, &shape, op == "GlobalMaxPool", true)?)
        }
        "ReduceMean" | "ReduceMax" => one(reduce(b, c)?),
        "Flatten" => one(flatten(b, c)?),
        "Reshape" => {
            let (layer, shape) = c.map(0)?;
            let target = c.constant(1, "the target shape")?.as_ints("the target shape")?;
            let per_sample = reshape_target(c, &shape, &target, c.attr_int("allowzero", 0) != 0)?;
            one(reshape_to(b, layer, &shape, per_sample))
        }
        "Squeeze" | "Unsqueeze" => {
            let (layer, shape) = c.map(0)?;
            let axes = axes_of(c, b.opset >= 13)?;
            let full = [&[1][..], &shape[..]].concat();
            let out = if op == "Squeeze" { squeeze(c, &full, axes.as_deref())? } else { unsqueeze(c, &full, axes.as_deref())? };
            if out.first() != Some(&1) || out.len() < 2 {
                return Err(c.err("squeezing or unsqueezing the batch axis is not supported"));
            }
            one(reshape_to(b, layer, &shape, out[1..].to_vec()))
        }
        "Transpose" => {
            let (_, shape) = c.map(0)?;
            let perm = c.attr_ints("perm").unwrap_or_else(|| (0..=shape.len() as i64).rev().collect());
            if perm.iter().enumerate().all(|(i, &p)| p == i as i64) {
                return one(c.input(0)?.clone());
            }
            Err(c.err(format!(
                "a Transpose with perm {perm:?} of a feature map is not supported (only the identity); for a channels-last model, export it with channels first"
            )))
        }
        "Concat" => one(concat(b, c)?),
        "Add" | "Sub" | "Mul" | "Div" => one(arithmetic(b, c)?),
        "Pad" => one(pad(b, c)?),
        _ => Err(c.err(format!(
            "operator `{op}` is not supported; supported operators: {}",
            SUPPORTED.join(", ")
        ))),
    }
}

/// The activation of a fused gate (see [`fuse_gated_activations`]) on map `x`.
pub(crate) fn fused_activation(b: &mut Builder, c: &NodeCtx, act: &str) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    Ok(push_activation(b, layer, &shape, act, ActivationArgs::default()))
}

fn push_activation(b: &mut Builder, layer: usize, shape: &[usize], name: &str, args: ActivationArgs) -> Value {
    let l = b.push(OpSpec::Activation { act_name: name.to_string(), activation_args: args }, &[layer]);
    Value::Map { layer: l, shape: shape.to_vec() }
}

fn activation(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    let mut args = ActivationArgs::default();
    let name = match c.node.op_type.as_str() {
        "Relu" => "relu",
        "Sigmoid" => "sigmoid",
        "Tanh" => "tanh",
        "Softplus" => "softplus",
        "HardSwish" => "hard_swish",
        "LeakyRelu" => {
            args.negative_slope = Some(c.attr_float("alpha", 0.01));
            "leaky_relu"
        }
        "Elu" => {
            args.alpha = Some(c.attr_float("alpha", 1.0));
            "elu"
        }
        "Selu" => {
            let (a, g) = (c.attr_float("alpha", 1.673_263_192_176_818_8), c.attr_float("gamma", 1.050_701_022_148_132_3));
            if (a - 1.673_263_242_354_377_3).abs() > 1e-6 || (g - 1.050_700_987_355_480_5).abs() > 1e-6 {
                return Err(c.err(format!("Selu with alpha = {a}, gamma = {g} is not supported (only the standard constants)")));
            }
            "selu"
        }
        "Gelu" => {
            let approx = c.attr_str("approximate", "none");
            if approx != "none" {
                return Err(c.err(format!("Gelu with approximate = \"{approx}\" is not supported (only the exact form)")));
            }
            "gelu"
        }
        "HardSigmoid" => {
            args.alpha = Some(c.attr_float("alpha", 0.2));
            args.beta = Some(c.attr_float("beta", 0.5));
            "hard_sigmoid"
        }
        "Clip" => {
            let bound = |k: usize, attr: &str| -> Result<Option<f64>> {
                if b.opset >= 11 {
                    c.opt_constant(k, attr)?.map(|v| v.single(attr)).transpose()
                } else {
                    Ok(c.attr(attr).map(|a| a.f as f64))
                }
            };
            // ±FLT_MAX is how exporters write "no bound"
            let finite = |v: Option<f64>| v.filter(|x| x.abs() < 3.0e38);
            args.min = finite(bound(1, "min")?);
            args.max = finite(bound(2, "max")?);
            "clip"
        }
        "Softmax" => {
            let default = if b.opset >= 13 { -1 } else { 1 };
            let axis = t::axis(c.attr_int("axis", default), shape.len() + 1, "Softmax axis").map_err(|e| c.err(e))?;
            // innsight's softmax acts along the channel axis (the only axis of a vector)
            let ok = axis == 1 && (shape.len() == 1 || b.opset >= 13);
            if !ok {
                return Err(c.err(format!(
                    "Softmax over axis {axis} of a map of per-sample shape {shape:?} is not supported (only over the channel axis 1)"
                )));
            }
            "softmax"
        }
        other => return Err(c.err(format!("internal: no activation for {other}"))),
    };
    Ok(push_activation(b, layer, &shape, name, args))
}

/// A constant node's value.
fn constant_node(c: &NodeCtx) -> Result<Value> {
    let a = c.node.attribute.first().ok_or_else(|| c.err("a Constant node without a value"))?;
    Ok(Value::Const(match a.name.as_str() {
        "value" => {
            return t::decode(a.t.as_ref().ok_or_else(|| c.err("`value` holds no tensor"))?, &|_: &str| {
                Err(Error::Io("a Constant node's tensor may not use external data".into()))
            })
        }
        "value_float" => Const::scalar(a.f as f64),
        "value_floats" => Const { shape: vec![a.floats.len()], data: a.floats.iter().map(|&v| v as f64).collect(), int: false },
        "value_int" => Const { shape: vec![], data: vec![a.i as f64], int: true },
        "value_ints" => Const::ints(&a.ints),
        other => return Err(c.err(format!("a Constant with `{other}` is not supported"))),
    }))
}

/// `Shape` with the `start`/`end` attributes (opset 15).
fn shape_slice(c: &NodeCtx, full: &[i64]) -> Result<Const> {
    let r = full.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (s, e) = (clamp(c.attr_int("start", 0)), clamp(c.attr_int("end", r)));
    Ok(Const::ints(if s < e { &full[s..e] } else { &[] }))
}

/// `axes` from the attribute (older opsets) or the second input.
fn axes_of(c: &NodeCtx, from_input: bool) -> Result<Option<Vec<i64>>> {
    if from_input {
        c.opt_constant(1, "axes")?.map(|a| a.as_ints("axes")).transpose()
    } else {
        Ok(c.attr_ints("axes"))
    }
}

/// Fewest values a folded constant may always hold: shape subgraphs are tiny, and
/// weights that pass through a fold (a transposed or scaled initializer) are bounded
/// by their own size instead (see [`check_fold_size`]).
pub const FOLD_MIN_LIMIT: usize = 1 << 24;

/// Refuse a folded constant of shape `shape` with more values than all of the
/// node's constant inputs together, or [`FOLD_MIN_LIMIT`] if that is larger: a few
/// bytes (`ConstantOfShape` of shape `[1e9, 1e9]`, a broadcast of two long vectors,
/// a Gather with many indices) must not ask for gigabytes.
fn check_fold_size(c: &NodeCtx, shape: &[usize]) -> Result<()> {
    let inputs: usize = c
        .inputs
        .iter()
        .flatten()
        .map(|v| match v {
            Value::Const(x) => x.data.len(),
            Value::Float32(f) => f.bytes.len() / 4,
            Value::Map { .. } => 0,
        })
        .sum();
    let limit = inputs.max(FOLD_MIN_LIMIT);
    match t::checked_numel(shape) {
        Some(n) if n <= limit => Ok(()),
        _ => Err(c.err(format!(
            "the constant it computes has shape {shape:?}, more than the {limit} values it may hold (its inputs' size or 2^24)"
        ))),
    }
}

/// Evaluate a node whose inputs are all constants.
fn fold(b: &Builder, c: &NodeCtx) -> Result<Const> {
    let k = |i: usize| c.constant(i, "input");
    let op = c.node.op_type.as_str();
    if matches!(op, "Add" | "Sub" | "Mul" | "Div") {
        if let Some(shape) = t::broadcast_shape(&k(0)?.shape, &k(1)?.shape) {
            check_fold_size(c, &shape)?;
        }
    }
    let r = match op {
        "Identity" | "Dropout" => k(0)?.clone(),
        "Add" => t::binary(k(0)?, k(1)?, |x, y| x + y)?,
        "Sub" => t::binary(k(0)?, k(1)?, |x, y| x - y)?,
        "Mul" => t::binary(k(0)?, k(1)?, |x, y| x * y)?,
        "Div" => t::binary(k(0)?, k(1)?, |x, y| x / y)?,
        "Neg" => Const { data: k(0)?.data.iter().map(|v| -v).collect(), ..k(0)?.clone() },
        "Sqrt" => Const { data: k(0)?.data.iter().map(|v| v.sqrt()).collect(), ..k(0)?.clone() },
        "Shape" => shape_slice(c, &k(0)?.shape.iter().map(|&d| d as i64).collect::<Vec<_>>())?,
        "Cast" => {
            let to = c.attr_int("to", 1) as i32;
            let x = k(0)?;
            let int = !matches!(to, 1 | 10 | 11);
            Const { data: if int { x.data.iter().map(|v| v.trunc()).collect() } else { x.data.clone() }, int, shape: x.shape.clone() }
        }
        "Gather" => {
            let x = k(0)?;
            let ax = t::axis(c.attr_int("axis", 0), x.shape.len(), "Gather axis")?;
            check_fold_size(c, &[&x.shape[..ax], &k(1)?.shape[..], &x.shape[ax + 1..]].concat())?;
            t::gather(x, k(1)?, ax)?
        }
        "Concat" => {
            let parts: Vec<Const> = (0..c.inputs.len()).map(|i| k(i).cloned()).collect::<Result<_>>()?;
            let ax = t::axis(c.attr_int("axis", 0), parts[0].shape.len(), "Concat axis")?;
            t::concat(&parts, ax)?
        }
        "Unsqueeze" | "Squeeze" => {
            let x = k(0)?;
            let axes = axes_of(c, b.opset >= 13)?;
            let shape = if op == "Squeeze" { squeeze(c, &x.shape, axes.as_deref())? } else { unsqueeze(c, &x.shape, axes.as_deref())? };
            Const { shape, ..x.clone() }
        }
        "Reshape" => {
            let x = k(0)?;
            let target = k(1)?.as_ints("the target shape")?;
            let allow_zero = c.attr_int("allowzero", 0) != 0;
            let mut shape = Vec::new();
            let mut infer = None;
            for (i, &d) in target.iter().enumerate() {
                match d {
                    -1 => {
                        infer = Some(i);
                        shape.push(1)
                    }
                    0 if !allow_zero => shape.push(*x.shape.get(i).ok_or_else(|| c.err("Reshape: 0 beyond the input rank"))?),
                    d if d >= 0 => shape.push(d as usize),
                    d => return Err(c.err(format!("Reshape: invalid size {d}"))),
                }
            }
            let n = x.data.len();
            if let Some(i) = infer {
                let rest = t::checked_numel(&shape).unwrap_or(usize::MAX);
                shape[i] = if rest == 0 { 0 } else { n / rest };
            }
            if t::checked_numel(&shape) != Some(n) {
                return Err(c.err(format!("cannot reshape a constant of shape {:?} to {target:?}", x.shape)));
            }
            Const { shape, ..x.clone() }
        }
        "Transpose" => {
            let x = k(0)?;
            let perm: Vec<usize> = match c.attr_ints("perm") {
                Some(p) => p.iter().map(|&a| t::axis(a, x.shape.len(), "perm")).collect::<Result<_>>()?,
                None => (0..x.shape.len()).rev().collect(),
            };
            // a repeated or missing axis would index past the data
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..x.shape.len()).collect::<Vec<_>>() {
                return Err(c.err(format!("`perm` {perm:?} is not a permutation of the {} axes", x.shape.len())));
            }
            t::transpose(x, &perm)
        }
        "Slice" => {
            let x = k(0)?;
            let starts = k(1)?.as_ints("starts")?;
            let ends = k(2)?.as_ints("ends")?;
            let axes: Vec<usize> = match c.opt_constant(3, "axes")? {
                Some(a) => a.as_ints("axes")?.iter().map(|&v| t::axis(v, x.shape.len(), "Slice axis")).collect::<Result<_>>()?,
                None => (0..starts.len()).collect(),
            };
            let steps = match c.opt_constant(4, "steps")? {
                Some(s) => s.as_ints("steps")?,
                None => vec![1; starts.len()],
            };
            if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
                return Err(c.err("Slice: starts, ends, axes and steps differ in length"));
            }
            t::slice(x, &starts, &ends, &axes, &steps)?
        }
        "ConstantOfShape" => {
            let shape: Vec<usize> = k(0)?.as_ints("the shape")?.iter().map(|&d| d.max(0) as usize).collect();
            let v = match c.attr("value").and_then(|a| a.t.as_ref()) {
                Some(tp) => t::decode_const(tp, &|_: &str| Err(Error::Io("no external data here".into())))?,
                None => Const::scalar(0.0),
            };
            check_fold_size(c, &shape)?;
            let n = shape.iter().product();
            Const { data: vec![v.data.first().copied().unwrap_or(0.0); n], shape, int: v.int }
        }
        _ => {
            return Err(c.err(format!(
                "operator `{op}` on constants is not supported; supported operators: {}",
                SUPPORTED.join(", ")
            )))
        }
    };
    Ok(r)
}

fn squeeze(c: &NodeCtx, shape: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>> {
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&x| t::axis(x, shape.len(), "Squeeze axis")).collect::<Result<_>>()?,
        None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
    };
    if let Some(&bad) = drop.iter().find(|&&i| shape[i] != 1) {
        return Err(c.err(format!("cannot squeeze axis {bad} of size {}", shape[bad])));
    }
    Ok(shape.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, &d)| d).collect())
}

fn unsqueeze(c: &NodeCtx, shape: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>> {
    let axes = axes.ok_or_else(|| c.err("Unsqueeze needs `axes`"))?;
    let r = shape.len() + axes.len();
    let ins: Vec<usize> = axes.iter().map(|&x| t::axis(x, r, "Unsqueeze axis")).collect::<Result<_>>()?;
    let mut src = shape.iter();
    Ok((0..r).map(|i| if ins.contains(&i) { 1 } else { *src.next().unwrap_or(&1) }).collect())
}

/// The per-sample target of a `Reshape` of a map of per-sample shape `shape`; the
/// first entry of `target` stands for the batch axis.
fn reshape_target(c: &NodeCtx, shape: &[usize], target: &[i64], allow_zero: bool) -> Result<Vec<usize>> {
    let n = t::checked_numel(shape).ok_or_else(|| c.err(format!("the per-sample shape {shape:?} has too many values to reshape")))?;
    let full = [&[1][..], shape].concat();
    if target.len() < 2 {
        return Err(c.err(format!("a Reshape to {target:?} would merge the batch axis into the features")));
    }
    let mut out = Vec::new();
    let mut infer = None;
    for (i, &d) in target.iter().enumerate().skip(1) {
        match d {
            -1 if infer.is_none() => {
                infer = Some(out.len());
                out.push(1);
            }
            0 if !allow_zero => out.push(*full.get(i).ok_or_else(|| c.err("Reshape: 0 beyond the input rank"))?),
            d if d > 0 => out.push(d as usize),
            _ => return Err(c.err(format!("Reshape to {target:?} is not supported"))),
        }
    }
    let rest = t::checked_numel(&out).unwrap_or(usize::MAX);
    if let Some(i) = infer {
        if rest == 0 || n % rest != 0 {
            return Err(c.err(format!("cannot reshape a map of per-sample shape {shape:?} to {target:?}")));
        }
        out[i] = n / rest;
    }
    if t::checked_numel(&out) != Some(n) {
        return Err(c.err(format!(
            "a Reshape of the per-sample shape {shape:?} to {target:?} moves data across the batch axis, which is not supported"
        )));
    }
    Ok(out)
}

/// Alias, Flatten (to one axis) or Reshape layer.
fn reshape_to(b: &mut Builder, layer: usize, shape: &[usize], target: Vec<usize>) -> Value {
    if target == shape {
        return Value::Map { layer, shape: target };
    }
    let op = if target.len() == 1 && shape.len() > 1 {
        OpSpec::Flatten { start_dim: None, end_dim: None, data_format: None }
    } else {
        OpSpec::Reshape { shape: target.clone() }
    };
    Value::Map { layer: b.push(op, &[layer]), shape: target }
}

fn flatten(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    let axis = t::axis(c.attr_int("axis", 1), shape.len() + 1, "Flatten axis").map_err(|e| c.err(e))?;
    if axis != 1 {
        return Err(c.err(format!("Flatten with axis = {axis} is not supported (only 1: keep the batch axis)")));
    }
    let n = t::checked_numel(&shape).ok_or_else(|| c.err(format!("the per-sample shape {shape:?} has too many values to flatten")))?;
    Ok(reshape_to(b, layer, &shape, vec![n]))
}

/// Per-axis `(before, after)` padding of a convolution or pooling node over the
/// spatial axes `spatial`, from `pads` or `auto_pad`.
fn spatial_pads(c: &NodeCtx, spatial: &[usize], kernel: &[usize], strides: &[usize], dilations: &[usize]) -> Result<Vec<(usize, usize)>> {
    let d = spatial.len();
    match c.attr_str("auto_pad", "NOTSET").as_str() {
        "NOTSET" => {
            let pads = c.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * d]);
            if pads.len() != 2 * d || pads.iter().any(|&p| p < 0) {
                return Err(c.err(format!("`pads` {pads:?} must hold {} non-negative values", 2 * d)));
            }
            Ok((0..d).map(|i| (pads[i] as usize, pads[i + d] as usize)).collect())
        }
        "VALID" => Ok(vec![(0, 0); d]),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => Ok((0..d)
            .map(|i| {
                let out = spatial[i].div_ceil(strides[i]);
                let need = ((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1).saturating_sub(spatial[i]);
                let small = need / 2;
                if mode == "SAME_UPPER" { (small, need - small) } else { (need - small, small) }
            })
            .collect()),
        other => Err(c.err(format!("auto_pad = \"{other}\" is not supported"))),
    }
}

/// innsight's padding order: 1D `(left, right)`, 2D `(left, right, top, bottom)`.
fn innsight_padding(p: &[(usize, usize)]) -> Vec<usize> {
    match p {
        [(l, r)] => vec![*l, *r],
        [(t, b), (l, r)] => vec![*l, *r, *t, *b],
        _ => vec![],
    }
}

fn per_axis_attr(c: &NodeCtx, name: &str, d: usize) -> Result<Vec<usize>> {
    match c.attr_ints(name) {
        None => Ok(vec![1; d]),
        Some(v) if v.len() == d && v.iter().all(|&x| x >= 1) => Ok(v.iter().map(|&x| x as usize).collect()),
        Some(v) => Err(c.err(format!("`{name}` {v:?} must hold {d} positive values"))),
    }
}

fn spatial_rank(c: &NodeCtx, shape: &[usize]) -> Result<usize> {
    match shape.len() {
        2 | 3 => Ok(shape.len() - 1),
        _ => Err(c.err(format!("needs a (C, L) or (C, H, W) feature map, got per-sample shape {shape:?}"))),
    }
}

fn conv(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    let d = spatial_rank(c, &shape)?;
    let (w_shape, w) = c.weight(1, "the weight")?;
    let bias = c.opt_constant(2, "the bias")?;
    if w_shape.len() != d + 2 {
        return Err(c.err(format!("the weight has shape {w_shape:?}, expected rank {}", d + 2)));
    }
    let groups = c.attr_int("group", 1);
    if groups < 1 || shape[0] as i64 != w_shape[1] as i64 * groups {
        return Err(c.err(format!(
            "the input has {} channels but the weight {w_shape:?} with group = {groups} expects {}",
            shape[0],
            w_shape[1] as i64 * groups
        )));
    }
    let kernel = w_shape[2..].to_vec();
    let strides = per_axis_attr(c, "strides", d)?;
    let dilations = per_axis_attr(c, "dilations", d)?;
    let pads = spatial_pads(c, &shape[1..], &kernel, &strides, &dilations)?;
    let mut out = vec![w_shape[0]];
    for i in 0..d {
        let span = dilations[i] * (kernel[i] - 1) + 1;
        let n = shape[1 + i] + pads[i].0 + pads[i].1;
        if n < span {
            return Err(c.err(format!("the input {shape:?} is too small for the kernel {kernel:?}")));
        }
        out.push((n - span) / strides[i] + 1);
    }
    let spec = ConvSpec {
        activation_name: "linear".into(),
        activation_args: ActivationArgs::default(),
        stride: Some(strides),
        dilation: Some(dilations),
        padding: Some(innsight_padding(&pads)),
        groups: (groups > 1).then_some(groups as usize),
    };
    let l = b.push(if d == 1 { OpSpec::Conv1D(spec) } else { OpSpec::Conv2D(spec) }, &[layer]);
    b.store(l, "weight", w);
    // the list format wants a bias on every Dense/Conv layer
    let bias = bias.map_or_else(|| vec![0.0; out[0]], |b| b.data.clone());
    if bias.len() != out[0] {
        return Err(c.err(format!("the bias has {} values for {} output channels", bias.len(), out[0])));
    }
    b.weight(l, "bias", &[out[0]], bias)?;
    Ok(Value::Map { layer: l, shape: out })
}

/// A Dense layer with weight `[M, K]` (row-major) and optional bias on map `layer`.
fn dense(b: &mut Builder, layer: usize, m: usize, w: OnnxWeight, bias: Option<Vec<f64>>) -> Result<Value> {
    let l = b.push(OpSpec::Dense { activation_name: "linear".into(), activation_args: ActivationArgs::default() }, &[layer]);
    b.store(l, "weight", w);
    b.weight(l, "bias", &[m], bias.unwrap_or_else(|| vec![0.0; m]))?;
    Ok(Value::Map { layer: l, shape: vec![m] })
}

fn vector_input(c: &NodeCtx) -> Result<(usize, usize)> {
    let (layer, shape) = c.map(0)?;
    match shape[..] {
        [k] => Ok((layer, k)),
        _ => Err(c.err(format!(
            "needs a (batch, features) input, got per-sample shape {shape:?} (batched matrix products are not supported)"
        ))),
    }
}

fn gemm(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, k) = vector_input(c)?;
    if c.attr_int("transA", 0) != 0 {
        return Err(c.err("Gemm with transA = 1 on the feature map is not supported"));
    }
    let shape = c.const_shape(1, "the weight B")?;
    let (alpha, beta) = (c.attr_float("alpha", 1.0), c.attr_float("beta", 1.0));
    let trans_b = c.attr_int("transB", 0) != 0;
    let (rows, cols) = match shape[..] {
        [r, s] => (r, s),
        _ => return Err(c.err(format!("B has shape {shape:?}, expected a matrix"))),
    };
    let (m, kk) = if trans_b { (rows, cols) } else { (cols, rows) };
    if kk != k {
        return Err(c.err(format!("the input has {k} features but B {shape:?} expects {kk}")));
    }
    let weight = match c.float32(1) {
        // float32 weights stay float32 (PyTorch's Linear is Gemm with transB = 1)
        Some(f) if alpha == 1.0 && trans_b => OnnxWeight::F32 { shape: vec![m, k], bytes: f.bytes.clone() },
        Some(f) if alpha == 1.0 => OnnxWeight::F32 { shape: vec![m, k], bytes: t::transpose_f32(&f.bytes, k, m) },
        _ => {
            let w = c.constant(1, "the weight B")?;
            let v: Vec<f64> = if trans_b {
                w.data.iter().map(|v| alpha * v).collect()
            } else {
                (0..m).flat_map(|o| (0..k).map(move |i| (o, i))).map(|(o, i)| alpha * w.data[i * m + o]).collect()
            };
            OnnxWeight::F64(ndarray::Array2::from_shape_vec((m, k), v).map_err(|e| c.err(e))?.into_dyn())
        }
    };
    let bias = match c.opt_constant(2, "the bias C")? {
        None => None,
        Some(cb) => {
            if t::broadcast_shape(&cb.shape, &[1, m]).as_deref() != Some(&[1, m][..]) {
                return Err(c.err(format!("C has shape {:?}; expected one value per output ({m})", cb.shape)));
            }
            Some(t::expand(cb, &[m]).iter().map(|v| beta * v).collect())
        }
    };
    dense(b, layer, m, weight, bias)
}

fn matmul(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, k) = vector_input(c)?;
    let shape = c.const_shape(1, "the second factor")?;
    let m = match shape[..] {
        [kk, m] if kk == k => m,
        _ => return Err(c.err(format!("the second factor has shape {shape:?}, expected ({k}, outputs)"))),
    };
    let weight = match c.float32(1) {
        Some(f) => OnnxWeight::F32 { shape: vec![m, k], bytes: t::transpose_f32(&f.bytes, k, m) },
        None => {
            let w = c.constant(1, "the second factor")?;
            let v = (0..m).flat_map(|o| (0..k).map(move |i| w.data[i * m + o])).collect();
            OnnxWeight::F64(ndarray::Array2::from_shape_vec((m, k), v).map_err(|e| c.err(e))?.into_dyn())
        }
    };
    dense(b, layer, m, weight, None)
}

fn batch_norm(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    if c.attr_int("training_mode", 0) != 0 {
        return Err(c.err("BatchNormalization in training mode is not supported"));
    }
    let ch = shape[0];
    let names = ["gamma", "beta", "run_mean", "run_var"];
    let mut params = Vec::new();
    for (i, what) in names.iter().enumerate() {
        let p = c.constant(i + 1, what)?;
        if p.data.len() != ch {
            return Err(c.err(format!("`{what}` has {} values for {ch} channels", p.data.len())));
        }
        params.push(p.data.clone());
    }
    let l = b.push(OpSpec::BatchNorm { num_features: ch, eps: c.attr_float("epsilon", 1e-5) }, &[layer]);
    for (name, p) in names.iter().zip(params) {
        b.weight(l, name, &[ch], p)?;
    }
    Ok(Value::Map { layer: l, shape })
}

/// `y = scale·x + shift` per channel, as an inference-mode batch norm.
fn channel_affine(b: &mut Builder, layer: usize, shape: &[usize], scale: Vec<f64>, shift: Vec<f64>) -> Result<Value> {
    let ch = shape[0];
    let l = b.push(OpSpec::BatchNorm { num_features: ch, eps: 0.0 }, &[layer]);
    b.weight(l, "gamma", &[ch], scale)?;
    b.weight(l, "beta", &[ch], shift)?;
    b.weight(l, "run_mean", &[ch], vec![0.0; ch])?;
    b.weight(l, "run_var", &[ch], vec![1.0; ch])?;
    Ok(Value::Map { layer: l, shape: shape.to_vec() })
}

/// The channel count of a map that an element-wise op with a constant (or a
/// difference of maps) turns into a per-channel affine layer, whose four weight
/// vectors are built here: at most 2^24 channels, so that a file declaring a map
/// of billions of channels is an error, not an allocation of gigabytes.
fn affine_channels(c: &NodeCtx, shape: &[usize]) -> Result<usize> {
    match shape.first() {
        Some(&ch) if ch <= FOLD_MIN_LIMIT => Ok(ch),
        _ => Err(c.err(format!("the map of shape {shape:?} has more than 2^24 channels"))),
    }
}

/// A constant operand as one value per channel of a map of per-sample shape
/// `shape`, when it is a scalar or varies along the channel axis only.
fn per_channel(k: &Const, shape: &[usize]) -> Option<Vec<f64>> {
    let r = shape.len() + 1;
    if k.shape.len() > r {
        return None;
    }
    let padded = [vec![1; r - k.shape.len()], k.shape.clone()].concat();
    let ch = shape[0];
    if padded[0] != 1 || padded[2..].iter().any(|&d| d != 1) || (padded[1] != 1 && padded[1] != ch) {
        return None;
    }
    Some(if padded[1] == 1 { vec![k.data[0]; ch] } else { k.data.clone() })
}

fn arithmetic(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let op = c.node.op_type.as_str();
    match (c.input(0)?, c.input(1)?) {
        (Value::Map { .. }, Value::Map { .. }) => {
            let ((la, sa), (lb, sb)) = (c.map(0)?, c.map(1)?);
            match op {
                "Add" | "Sub" if sa == sb => {
                    let lb = if op == "Sub" {
                        let ch = affine_channels(c, &sb)?;
                        match channel_affine(b, lb, &sb, vec![-1.0; ch], vec![0.0; ch])? {
                            Value::Map { layer, .. } => layer,
                            _ => unreachable!(),
                        }
                    } else {
                        lb
                    };
                    Ok(Value::Map { layer: b.push(OpSpec::Add {}, &[la, lb]), shape: sa })
                }
                "Add" | "Sub" => Err(c.err(format!("a sum of maps of different shapes {sa:?} and {sb:?} (broadcasting) is not supported"))),
                "Mul" => {
                    let out = Multiply::broadcast(&sa, &sb).map_err(|e| c.err(e))?;
                    Ok(Value::Map { layer: b.push(OpSpec::Multiply {}, &[la, lb]), shape: out })
                }
                _ => Err(c.err("a quotient of two feature maps is not supported")),
            }
        }
        (Value::Map { .. }, _) | (_, Value::Map { .. }) => {
            let map_first = matches!(c.input(0)?, Value::Map { .. });
            let (layer, shape) = c.map(if map_first { 0 } else { 1 })?;
            let ch = affine_channels(c, &shape)?;
            let k = c.constant(if map_first { 1 } else { 0 }, "the constant operand")?;
            let v = per_channel(k, &shape).ok_or_else(|| {
                c.err(format!(
                    "the constant of shape {:?} must be a scalar or hold one value per channel of the map {shape:?}",
                    k.shape
                ))
            })?;
            let (scale, shift) = match (op, map_first) {
                ("Add", _) => (vec![1.0; ch], v),
                ("Sub", true) => (vec![1.0; ch], v.iter().map(|x| -x).collect()),
                ("Sub", false) => (vec![-1.0; ch], v),
                ("Mul", _) => (v, vec![0.0; ch]),
                ("Div", true) => {
                    if v.contains(&0.0) {
                        return Err(c.err("division by a constant zero"));
                    }
                    (v.iter().map(|x| 1.0 / x).collect(), vec![0.0; ch])
                }
                _ => return Err(c.err("a constant divided by a feature map is not supported")),
            };
            if scale.iter().all(|&s| s == 1.0) {
                if let Some(v) = fold_into_bias(b, c, layer, &shift)? {
                    return Ok(v);
                }
            }
            channel_affine(b, layer, &shape, scale, shift)
        }
        _ => Err(c.err("internal: constants should have been folded")),
    }
}

/// A constant added right after a Dense or Conv layer that nothing else reads
/// becomes part of its bias (MatMul + Add is how exporters write a linear layer).
fn fold_into_bias(b: &mut Builder, c: &NodeCtx, layer: usize, shift: &[f64]) -> Result<Option<Value>> {
    let operand = &c.node.input[if matches!(c.inputs[0], Some(Value::Map { .. })) { 0 } else { 1 }];
    let linear = matches!(
        &b.layers[layer - 1].op,
        OpSpec::Dense { activation_name, .. } if activation_name == "linear"
    ) || matches!(&b.layers[layer - 1].op, OpSpec::Conv1D(s) | OpSpec::Conv2D(s) if s.activation_name == "linear");
    if !linear || b.uses(operand) != 1 {
        return Ok(None);
    }
    let key = format!("layers.{layer}.bias");
    let mut bias = b.weights.get(&key).map(|a| a.to_f64().iter().copied().collect::<Vec<f64>>()).unwrap_or_else(|| vec![0.0; shift.len()]);
    if bias.len() != shift.len() {
        return Ok(None);
    }
    bias.iter_mut().zip(shift).for_each(|(x, s)| *x += s);
    let n = bias.len();
    b.weight(layer, "bias", &[n], bias)?;
    Ok(Some(c.input(if matches!(c.inputs[0], Some(Value::Map { .. })) { 0 } else { 1 })?.clone()))
}

/// The list-format pooling layer of a kind and spatial rank.
fn pool_op(max: bool, d: usize, spec: PoolSpec) -> OpSpec {
    match (max, d) {
        (true, 1) => OpSpec::MaxPooling1D(spec),
        (true, _) => OpSpec::MaxPooling2D(spec),
        (false, 1) => OpSpec::AveragePooling1D(spec),
        (false, _) => OpSpec::AveragePooling2D(spec),
    }
}

/// Pooling over the whole spatial extent: `[C, 1, (1)]` (`keep`) or `[C]`.
fn whole_map_pool(b: &mut Builder, c: &NodeCtx, layer: usize, shape: &[usize], max: bool, keep: bool) -> Result<Value> {
    let d = spatial_rank(c, shape)?;
    if !keep {
        let l = b.push(OpSpec::GlobalPooling { method: if max { "max" } else { "average" }.into() }, &[layer]);
        return Ok(Value::Map { layer: l, shape: vec![shape[0]] });
    }
    let kernel = shape[1..].to_vec();
    let op = pool_op(max, d, PoolSpec { kernel_size: kernel.clone(), strides: Some(kernel) });
    let out = [&[shape[0]][..], &vec![1; d]].concat();
    Ok(Value::Map { layer: b.push(op, &[layer]), shape: out })
}

fn reduce(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    let r = shape.len() + 1;
    let axes = axes_of(c, b.opset >= 18)?.ok_or_else(|| c.err("a reduction over all axes (including the batch) is not supported"))?;
    let mut axes: Vec<usize> = axes.iter().map(|&a| t::axis(a, r, "axis")).collect::<Result<_>>().map_err(|e| c.err(e))?;
    axes.sort_unstable();
    if axes != (2..r).collect::<Vec<_>>() || r < 3 {
        return Err(c.err(format!("only a reduction over all spatial axes is supported, got axes {axes:?} of a rank-{r} tensor")));
    }
    whole_map_pool(b, c, layer, &shape, c.node.op_type == "ReduceMax", c.attr_int("keepdims", 1) != 0)
}

fn pool(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (mut layer, shape) = c.map(0)?;
    let max = c.node.op_type == "MaxPool";
    let d = spatial_rank(c, &shape)?;
    let kernel = per_axis_attr(c, "kernel_shape", d)?;
    if c.attr_ints("kernel_shape").is_none() {
        return Err(c.err("`kernel_shape` is missing"));
    }
    let strides = per_axis_attr(c, "strides", d)?;
    if per_axis_attr(c, "dilations", d)?.iter().any(|&x| x != 1) {
        return Err(c.err("pooling with dilations is not supported"));
    }
    if max && c.node.output.get(1).is_some_and(|o| !o.is_empty() && b.uses(o) > 0) {
        return Err(c.err("the MaxPool indices output is not supported"));
    }
    let mut pads = spatial_pads(c, &shape[1..], &kernel, &strides, &vec![1; d])?;
    let ceil = c.attr_int("ceil_mode", 0) != 0;
    let mut out = vec![shape[0]];
    for i in 0..d {
        let n = shape[1 + i] + pads[i].0 + pads[i].1;
        if n < kernel[i] {
            return Err(c.err(format!("the input {shape:?} is too small for the kernel {kernel:?}")));
        }
        let mut o = (n - kernel[i]) / strides[i] + 1;
        if ceil && (n - kernel[i]) % strides[i] != 0 {
            o += 1;
            // the last window must start inside the input or its leading padding
            if (o - 1) * strides[i] >= shape[1 + i] + pads[i].0 {
                o -= 1;
            }
            let extra = ((o - 1) * strides[i] + kernel[i]).saturating_sub(n);
            if extra > 0 && !max {
                return Err(c.err("AveragePool with ceil_mode = 1 and a partial last window is not supported"));
            }
            pads[i].1 += extra;
        }
        out.push(o);
    }
    if pads.iter().any(|&(p, q)| p + q > 0) {
        if !max && c.attr_int("count_include_pad", 0) == 0 {
            return Err(c.err(
                "AveragePool with padding and count_include_pad = 0 is not supported (the divisor would vary at the borders)",
            ));
        }
        // max pooling never selects the padding: pad with the lowest float
        let value = if max { f32::MIN as f64 } else { 0.0 };
        layer = b.push(OpSpec::Padding { padding: innsight_padding(&pads), mode: None, value: Some(value) }, &[layer]);
    }
    let op = pool_op(max, d, PoolSpec { kernel_size: kernel, strides: Some(strides) });
    Ok(Value::Map { layer: b.push(op, &[layer]), shape: out })
}

fn concat(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let maps: Vec<(usize, Vec<usize>)> = (0..c.inputs.len()).map(|k| c.map(k)).collect::<Result<_>>()?;
    let r = maps[0].1.len() + 1;
    let axis = t::axis(c.attr_int("axis", 1), r, "Concat axis").map_err(|e| c.err(e))?;
    if axis == 0 {
        return Err(c.err("a concatenation along the batch axis is not supported"));
    }
    let mut out = maps[0].1.clone();
    for (_, s) in &maps[1..] {
        if s.len() != out.len() || s.iter().zip(&maps[0].1).enumerate().any(|(i, (x, y))| i != axis - 1 && x != y) {
            return Err(c.err(format!("cannot concatenate maps of shapes {:?} and {s:?} along axis {axis}", maps[0].1)));
        }
        out[axis - 1] += s[axis - 1];
    }
    let layers: Vec<usize> = maps.iter().map(|(l, _)| *l).collect();
    // innsight counts the batch axis as 1: ONNX axis a is innsight's a + 1
    Ok(Value::Map { layer: b.push(OpSpec::Concatenate { axis: axis as i64 + 1 }, &layers), shape: out })
}

fn pad(b: &mut Builder, c: &NodeCtx) -> Result<Value> {
    let (layer, shape) = c.map(0)?;
    let r = shape.len() + 1;
    let d = spatial_rank(c, &shape)?;
    let (pads, value) = if b.opset >= 11 {
        let p = c.constant(1, "pads")?.as_ints("pads")?;
        let v = c.opt_constant(2, "constant_value")?.map(|v| v.single("constant_value")).transpose()?.unwrap_or(0.0);
        (p, v)
    } else {
        (c.attr_ints("pads").unwrap_or_default(), c.attr_float("value", 0.0))
    };
    let axes: Vec<usize> = match c.opt_constant(3, "axes")? {
        Some(a) => a.as_ints("axes")?.iter().map(|&x| t::axis(x, r, "Pad axis")).collect::<Result<_>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() || pads.iter().any(|&p| p < 0) {
        return Err(c.err(format!("`pads` {pads:?} must hold {} non-negative values", 2 * axes.len())));
    }
    let mut per_axis = vec![(0usize, 0usize); r];
    for (k, &a) in axes.iter().enumerate() {
        per_axis[a] = (pads[k] as usize, pads[k + axes.len()] as usize);
    }
    if per_axis[0] != (0, 0) || per_axis[1] != (0, 0) {
        return Err(c.err("padding the batch or channel axis is not supported"));
    }
    let mode = match c.attr_str("mode", "constant").as_str() {
        "constant" => "constant",
        "reflect" => "reflect",
        "edge" => "replicate",
        "wrap" => "circular",
        other => return Err(c.err(format!("Pad mode \"{other}\" is not supported"))),
    };
    let spatial = &per_axis[2..];
    let mut out = shape.clone();
    for i in 0..d {
        out[1 + i] = out[1 + i]
            .checked_add(spatial[i].0)
            .and_then(|n| n.checked_add(spatial[i].1))
            .filter(|&n| n <= MAX_INPUT_VALUES)
            .ok_or_else(|| c.err(format!("`pads` {pads:?} make axis {} longer than 2^40", i + 2)))?;
    }
    let l = b.push(
        OpSpec::Padding { padding: innsight_padding(spatial), mode: Some(mode.into()), value: Some(value) },
        &[layer],
    );
    Ok(Value::Map { layer: l, shape: out })
}
