//! The model handle: an immutable graph in the requested precision behind an R
//! external pointer, built from the model's weight blob. R keeps the blob (one
//! safetensors byte vector in the converter's precision, see `weights_blob()`), so a
//! handle lost by `saveRDS()` is rebuilt from it, and the weights exist once in R's
//! memory instead of as R doubles next to the core's copy.

use super::blob::{all_single, blob_dtype, plan_tensors, r_tensors};
use super::convert::{r_dims, raw_vector, tensor_from_r, view_to_r};
use innsight_core::io::tensors::TensorFile;
use innsight_core::io::Dtype;
use ndarray::ArrayD;
use super::error::{arg_err, guarded, to_r};
use super::threads::with_threads;
use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::layers::weight_matrix::matrix_dims;
use innsight_core::layers::{WeightMatrix, WeightSource, WeightTensor};
use innsight_core::Scalar;
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
///
/// The graph's dense and convolution layers may borrow their weights from `blob`
/// (see `BlobSource`), so the handle owns the blob: an R raw vector, which R never
/// moves and R code never changes in place. Fields drop in order, the graph first;
/// no clone of the graph outlives a call (method runs join their threads).
/// @noRd
#[extendr]
pub struct Model {
    pub graph: AnyGraph,
    _blob: Raw,
}

/// A weight blob as the graph builder's weight source. Dense and convolution weights
/// stored in the graph's precision are borrowed from the blob, not copied; everything
/// else is converted (exactly, when widening `F32` to `f64`).
struct BlobSource<'a> {
    file: TensorFile<'a>,
}

/// `bytes` as `T` values when they hold exactly that type, suitably aligned.
fn typed_values<T: Scalar>(bytes: &[u8], dtype: Dtype) -> Option<&[T]> {
    let same = matches!((dtype, T::NAME), (Dtype::F32, "float") | (Dtype::F64, "double"));
    let size = std::mem::size_of::<T>();
    let aligned = bytes.as_ptr() as usize % std::mem::align_of::<T>() == 0;
    if !same || !aligned || bytes.len() % size != 0 || cfg!(target_endian = "big") {
        return None;
    }
    // SAFETY: the bytes are `len / size` little-endian values of `T` (checked
    // above), aligned, and every bit pattern is a valid f32/f64.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const T, bytes.len() / size) })
}

impl<T: Scalar> WeightSource<T> for BlobSource<'_> {
    fn tensor(&self, name: &str) -> CoreResult<Option<ArrayD<f64>>> {
        self.file.entry(name).map(|e| self.file.to_f64(e)).transpose()
    }

    fn weight(&self, name: &str) -> CoreResult<Option<WeightTensor<T>>> {
        let Some(e) = self.file.entry(name) else { return Ok(None) };
        if let Some(values) = typed_values::<T>(self.file.raw(e), e.dtype) {
            let (rows, cols) = matrix_dims(&e.shape);
            // SAFETY: the blob is an R raw vector that `Model` keeps alive next to
            // the graph, and R never moves or changes it (see `Model`).
            let matrix = unsafe { WeightMatrix::borrowed(values, rows, cols) };
            return Ok(Some(WeightTensor { shape: e.shape.clone(), matrix }));
        }
        Ok(Some(WeightTensor::from(self.file.to_f64(e)?)))
    }
}

fn build(spec_json: &str, blob: &[u8], dtype: &str) -> CoreResult<AnyGraph> {
    let spec = ModelSpec::from_json(spec_json)?;
    let source = BlobSource { file: TensorFile::parse(blob)? };
    Ok(match dtype {
        "float" => AnyGraph::F32(Arc::new(Graph::build(&spec, &source)?)),
        "double" => AnyGraph::F64(Arc::new(Graph::build(&spec, &source)?)),
        other => return Err(arg_err(format!("`dtype` must be \"float\" or \"double\", got \"{other}\""))),
    })
}

/// The model's weights (named R arrays, `layers.<i>.<name>`) as one safetensors byte
/// vector: what R keeps of a converted model. A float converter stores single
/// precision when that loses nothing (every value is a float, as with weights from
/// Keras, PyTorch or a float model file) or when `single` says the weights are
/// single-precision values by definition; otherwise the blob keeps R's doubles, so
/// computations in double precision see exactly the weights they were given.
/// @param weights Named list of weight arrays.
/// @param dtype `"float"` or `"double"`: the converter's precision.
/// @param single Store single precision in a float converter even if rounding.
/// @noRd
#[extendr]
fn weights_blob(weights: List, dtype: &str, single: bool) -> RResult<Robj> {
    // keep the R objects alive while their data is borrowed
    let named: Vec<(String, Robj)> = weights.iter().map(|(k, v)| (k.to_string(), v)).collect();
    let (tensors, plan) = to_r(guarded(|| {
        let tensors = r_tensors(&named)?;
        let dt = match blob_dtype(dtype)? {
            Dtype::F32 if single || all_single(&tensors) => Dtype::F32,
            _ => Dtype::F64,
        };
        let plan = plan_tensors(&tensors, dt)?;
        Ok((tensors, plan))
    }))?;
    raw_vector(plan.total, |out| plan.write(&tensors, out))
}

/// A weight blob's tensors as named R double arrays (file order).
/// @param blob The blob (raw vector).
/// @noRd
#[extendr]
fn weights_from_blob(blob: Raw) -> RResult<List> {
    let file = to_r(guarded(|| TensorFile::parse(blob.as_slice())))?;
    let mut names = Vec::with_capacity(file.entries.len());
    let mut values = Vec::with_capacity(file.entries.len());
    for e in &file.entries {
        let a = to_r(guarded(|| file.to_f64(e)))?;
        values.push(if a.ndim() == 0 { Robj::from(a.iter().next().copied().unwrap_or(f64::NAN)) } else { view_to_r(&a.view())? });
        names.push(e.name.clone());
    }
    List::from_names_and_values(names, values)
}

fn shape_robj(s: &Shape) -> Robj {
    s.iter().map(|&d| d as i32).collect::<Vec<i32>>().into()
}

#[extendr]
impl Model {
    /// Build a model from its JSON description and weight blob (`weights_blob()`).
    fn new(spec_json: &str, blob: Raw, dtype: &str) -> RResult<Self> {
        let graph = to_r(guarded(|| build(spec_json, blob.as_slice(), dtype)))?;
        Ok(Model { graph, _blob: blob })
    }

    /// Model outputs (or pre-activations) for data given per input layer.
    fn forward(&self, data: List, channels_first: bool, preactivation: bool, n_threads: i32) -> RResult<List> {
        let out = with_graph!(&self.graph, g, T => {
            let xs: CoreResult<Vec<_>> = data.values().enumerate().map(|(k, x)| tensor_from_r::<T>(&x, !channels_first, &format!("data[[{}]]", k + 1))).collect();
            let xs = to_r(xs)?;
            let ids = if preactivation { &g.preactivations } else { &g.outputs };
            // only the outputs are returned: free the other layers' values as we go
            let trace = to_r(guarded(|| with_threads(n_threads, || g.forward_keeping(&xs, ids))?))?;
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

    /// Input shapes, one per model input.
    fn input_dims(&self) -> List {
        with_graph!(&self.graph, g, T => {
            let _ = std::marker::PhantomData::<T>;
            List::from_values(g.input_shapes.iter().map(shape_robj))
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
    fn weights_blob;
    fn weights_from_blob;
}
