//! The model handle: an immutable graph in the requested precision behind an R
//! external pointer. R keeps the model list, so a handle lost by `saveRDS()` is
//! rebuilt from it.

use super::convert::{r_dims, tensor_from_r, view_to_r, weight_from_r};
use super::error::{arg_err, guarded, to_r};
use super::threads::with_threads;
use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::layers::Weights;
use innsight_core::tensor::Shape;
use innsight_core::{Graph, ModelSpec, Result as CoreResult};
use std::sync::Arc;

/// A graph in one of the two precisions.
pub enum AnyGraph {
    F32(Arc<Graph<f32>>),
    F64(Arc<Graph<f64>>),
}

/// Run `$body` with `$g` bound to the typed graph and `$t` to its scalar type.
#[macro_export]
macro_rules! with_graph {
    ($any:expr, $g:ident, $t:ident => $body:expr) => {
        match $any {
            $crate::ffi::model::AnyGraph::F32($g) => {
                type $t = f32;
                $body
            }
            $crate::ffi::model::AnyGraph::F64($g) => {
                type $t = f64;
                $body
            }
        }
    };
}

/// A converted model (internal handle).
/// @noRd
#[extendr]
pub struct Model {
    pub graph: AnyGraph,
}

fn read_weights(weights: &List) -> CoreResult<Weights> {
    let mut w = Weights::new();
    for (name, value) in weights.iter() {
        w.insert(name.to_string(), weight_from_r(&value, name)?);
    }
    Ok(w)
}

fn build(spec_json: &str, weights: &List, dtype: &str) -> CoreResult<AnyGraph> {
    let spec = ModelSpec::from_json(spec_json)?;
    let w = read_weights(weights)?;
    Ok(match dtype {
        "float" => AnyGraph::F32(Arc::new(Graph::build(&spec, &w)?)),
        "double" => AnyGraph::F64(Arc::new(Graph::build(&spec, &w)?)),
        other => return Err(arg_err(format!("`dtype` must be \"float\" or \"double\", got \"{other}\""))),
    })
}

fn shape_robj(s: &Shape) -> Robj {
    s.iter().map(|&d| d as i32).collect::<Vec<i32>>().into()
}

#[extendr]
impl Model {
    /// Build a model from its JSON description and named weights.
    fn new(spec_json: &str, weights: List, dtype: &str) -> RResult<Self> {
        to_r(guarded(|| build(spec_json, &weights, dtype)).map(|graph| Model { graph }))
    }

    /// Model outputs (or pre-activations) for data given per input layer.
    fn forward(&self, data: List, channels_first: bool, preactivation: bool, n_threads: i32) -> RResult<List> {
        let out = with_graph!(&self.graph, g, T => {
            let xs: CoreResult<Vec<_>> = data.values().enumerate().map(|(k, x)| tensor_from_r::<T>(&x, !channels_first, &format!("data[[{}]]", k + 1))).collect();
            let xs = to_r(xs)?;
            let trace = to_r(guarded(|| with_threads(n_threads, || g.forward(&xs))?))?;
            let ids = if preactivation { &g.preactivations } else { &g.outputs };
            ids.iter().map(|&id| view_to_r(&trace.values[id].view())).collect::<RResult<Vec<Robj>>>()?
        });
        Ok(List::from_values(out))
    }

    /// Per layer (spec order): type, class key, input shapes and output shape.
    fn layers(&self) -> List {
        with_graph!(&self.graph, g, T => {
            let mut rows: Vec<Robj> = Vec::new();
            for &id in &g.layer_output {
                // the first node of a layer carries its input shapes
                let first = g.nodes.iter().position(|n| n.layer_index == g.nodes[id].layer_index).unwrap_or(id);
                let node = &g.nodes[first];
                let ins: Vec<Robj> = node.in_shapes.iter().map(shape_robj).collect();
                let row = List::from_names_and_values(
                    ["type", "class", "dim_in", "dim_out"],
                    [Robj::from(node.type_name), Robj::from(node.op.kind().class_key()), List::from_values(ins).into(), shape_robj(&g.nodes[id].out_shape)],
                );
                rows.push(row.map(Robj::from).unwrap_or_else(|_| Robj::from(())));
            }
            let _ = std::marker::PhantomData::<T>;
            List::from_values(rows)
        })
    }

    /// Output shapes, one per model output.
    fn output_dims(&self) -> List {
        with_graph!(&self.graph, g, T => {
            let _ = std::marker::PhantomData::<T>;
            List::from_values(g.outputs.iter().map(|&id| shape_robj(&g.nodes[id].out_shape)))
        })
    }

    /// The precision of this handle.
    fn dtype(&self) -> &'static str {
        match self.graph {
            AnyGraph::F32(_) => "float",
            AnyGraph::F64(_) => "double",
        }
    }
}

/// dims of an R object (exposed for tests of the boundary).
/// @noRd
#[extendr]
fn rust_dims(x: Robj) -> Vec<i32> {
    r_dims(&x).into_iter().map(|d| d as i32).collect()
}

extendr_module! {
    mod model;
    impl Model;
    fn rust_dims;
}
