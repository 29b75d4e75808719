//! Model-agnostic runs (KernelSHAP, permutation SHAP, LIME). R drives the loop for an
//! arbitrary prediction function: it asks for a chunk of perturbed rows, calls the
//! prediction function once on the chunk and feeds the outputs back. For a converted
//! model the whole loop stays here, with the forward passes on the package's pool.

use super::convert::view_to_r;
use super::error::{guarded, to_r};
use super::model::Model;
use super::threads::with_threads;
use crate::with_graph;
use extendr_api::prelude::*;
use innsight_core::agnostic::session::rows_to_input;
use innsight_core::agnostic::{AgnosticResult, AgnosticSpec, Session};
use innsight_core::{Error as CoreError, Result as CoreResult, Scalar};
use ndarray::{Array2, ArrayView2, IxDyn, ShapeBuilder};
type RResult<T> = std::result::Result<T, extendr_api::Error>;

/// An R numeric matrix as a row-major array.
fn matrix_from_r(x: &Robj, what: &str) -> CoreResult<Array2<f64>> {
    let data = x.as_real_slice().ok_or_else(|| CoreError::Data(format!("`{what}` must be a numeric matrix")))?;
    let dims = super::convert::r_dims(x);
    if dims.len() != 2 {
        return Err(CoreError::Data(format!("`{what}` must be a matrix")));
    }
    let view = ArrayView2::from_shape((dims[0], dims[1]).f(), data).map_err(|e| CoreError::Data(format!("`{what}`: {e}")))?;
    Ok(view.as_standard_layout().into_owned())
}

fn result_to_r(res: &AgnosticResult) -> RResult<List> {
    let values = view_to_r(&res.values.view().into_dyn())?;
    let pred = view_to_r(&res.pred.view().into_dyn())?;
    let goal = match &res.goal {
        Some(g) => view_to_r(&g.view().into_dyn())?,
        None => Robj::from(()),
    };
    Ok(list!(values = values, pred = pred, goal = goal))
}

/// A model-agnostic run in progress (internal).
/// @noRd
#[extendr]
pub struct AgnosticRun {
    session: Option<Session>,
}

impl AgnosticRun {
    fn session(&mut self) -> CoreResult<&mut Session> {
        self.session.as_mut().ok_or_else(|| CoreError::Internal("the run has already finished".into()))
    }
}

/// The selected outputs `nodes` (0-based) of model output `k` on a chunk of rows.
fn model_outputs<T: Scalar>(g: &innsight_core::Graph<T>, rows: ArrayView2<f64>, dims: &[usize], channels_last: bool, k: usize, nodes: &[usize]) -> CoreResult<Array2<f64>> {
    let x = rows_to_input::<T>(rows, dims, channels_last)?;
    let id = g.outputs[k];
    let trace = g.forward_keeping(&[x], &[id])?;
    let out = &trace.values[id];
    let width = out.len() / out.shape()[0].max(1);
    let out = out.view().into_shape_with_order(IxDyn(&[rows.nrows(), width])).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(Array2::from_shape_fn((rows.nrows(), nodes.len()), |(r, s)| out[[r, nodes[s]]].as_f64()))
}

#[extendr]
impl AgnosticRun {
    /// Plan a run on the rows of `x` (instances) and `refs` (references), both
    /// matrices in the caller's flat feature order; `groups` gives each feature's
    /// group (1-based).
    fn new(spec_json: &str, x: Robj, refs: Robj, groups: Vec<i32>) -> RResult<Self> {
        let spec = to_r(AgnosticSpec::from_json(spec_json))?;
        let x = to_r(matrix_from_r(&x, "data"))?;
        let refs = to_r(matrix_from_r(&refs, "data_ref"))?;
        if groups.iter().any(|&g| g < 1) {
            return to_r(Err(CoreError::Argument("`feature_groups` must be positive integers".into())));
        }
        let groups = groups.into_iter().map(|g| g as usize - 1).collect();
        let session = to_r(guarded(|| Session::new(spec, x, refs, groups)))?;
        Ok(AgnosticRun { session: Some(session) })
    }

    /// Rows to evaluate in total.
    fn total_rows(&self) -> f64 {
        self.session.as_ref().map_or(0.0, |s| s.total_rows() as f64)
    }

    /// Number of feature groups.
    fn n_groups(&self) -> i32 {
        self.session.as_ref().map_or(0, |s| s.n_groups() as i32)
    }

    /// The next chunk of at most `max_rows` rows as a matrix, or `NULL` when done.
    fn next_chunk(&mut self, max_rows: f64, n_threads: i32) -> RResult<Robj> {
        let s = to_r(self.session())?;
        let rows = to_r(guarded(|| with_threads(n_threads, || s.next_chunk(max_rows as usize))?))?;
        match rows {
            Some(rows) => view_to_r(&rows.view().into_dyn()),
            None => Ok(Robj::from(())),
        }
    }

    /// The model outputs (a numeric matrix, one row per row of the last chunk).
    fn feed(&mut self, preds: Robj) -> RResult<()> {
        let preds = to_r(matrix_from_r(&preds, "the predictions"))?;
        let s = to_r(self.session())?;
        to_r(guarded(|| s.feed(preds.view())))
    }

    /// Solve once every chunk has been fed: `list(values = (n, d, S), pred = (n, S),
    /// goal = (n, S) or NULL)`.
    fn finish(&mut self, n_threads: i32) -> RResult<List> {
        let s = to_r(self.session())?;
        let res = to_r(guarded(|| with_threads(n_threads, || s.finish())?))?;
        self.session = None;
        result_to_r(&res)
    }

    /// The whole run on a converted model: output layer `k` (1-based), its nodes
    /// `nodes` (1-based); the rows are instances of shape `dims` in the caller's
    /// layout. `progress(done, total)` is called after each chunk.
    #[allow(clippy::too_many_arguments)]
    fn run_model(&mut self, model: &Model, k: i32, nodes: Vec<i32>, dims: Vec<i32>, channels_first: bool, max_rows: f64, n_threads: i32, progress: Robj) -> RResult<List> {
        let mut session = to_r(self.session.take().ok_or_else(|| CoreError::Internal("the run has already finished".into())))?;
        let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
        let nodes: Vec<usize> = nodes.iter().map(|&n| n as usize - 1).collect();
        let k = k as usize - 1;
        let callback = progress.as_function();
        let res = with_graph!(&model.graph, g, T => {
            loop {
                // one chunk on the pool; progress is reported from R's thread
                let more = to_r(guarded(|| with_threads(n_threads, || -> CoreResult<bool> {
                    let Some(rows) = session.next_chunk(max_rows as usize)? else { return Ok(false) };
                    let out = model_outputs::<T>(g, rows.view(), &dims, !channels_first, k, &nodes)?;
                    session.feed(out.view())?;
                    Ok(true)
                })?))?;
                if !more {
                    break;
                }
                if let Some(f) = &callback {
                    let _ = f.call(pairlist!(session.rows_done() as f64, session.total_rows() as f64));
                }
            }
            to_r(guarded(|| with_threads(n_threads, || session.finish())?))?
        });
        result_to_r(&res)
    }
}

extendr_module! {
    mod agnostic;
    impl AgnosticRun;
}
