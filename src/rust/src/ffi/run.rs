//! One entry point per method run: R sends the model handle, the method spec (JSON)
//! and the data; everything else happens in the core on the package's thread pool.

use super::convert::{attribution_to_r, tensor_from_r, view_to_r};
use super::error::{guarded, to_r};
use super::model::Model;
use super::threads::with_threads;
use crate::with_graph;
use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::methods::{self, MethodResult, RunInputs, RunSpec};
use innsight_core::{Graph, Result as CoreResult, Scalar};
use ndarray::ArrayD;

fn tensors<T: Scalar>(x: &Robj, channels_last: bool, what: &str) -> CoreResult<Option<Vec<ArrayD<T>>>> {
    if x.is_null() {
        return Ok(None);
    }
    let list = List::try_from(x.clone()).map_err(|_| innsight_core::Error::Data(format!("`{what}` must be a list of arrays")))?;
    list.values()
        .enumerate()
        .map(|(k, v)| tensor_from_r::<T>(&v, channels_last, &format!("{what}[[{}]]", k + 1)))
        .collect::<CoreResult<Vec<_>>>()
        .map(Some)
}

/// Run the method on a worker thread while this (R's main) thread forwards progress
/// reports to the R callback `progress(done, total)`; without a callback, run directly.
fn compute<T: Scalar>(
    g: &Graph<T>,
    spec: &RunSpec,
    inputs: &RunInputs<T>,
    n_threads: i32,
    progress: &Robj,
) -> CoreResult<MethodResult<T>> {
    let Some(callback) = progress.as_function() else {
        return guarded(|| with_threads(n_threads, || methods::run(g, spec, inputs))?);
    };
    let (tx, rx) = std::sync::mpsc::channel::<(usize, usize)>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let report = move |done: usize, total: usize| {
                let _ = tx.send((done, total));
            };
            guarded(|| with_threads(n_threads, || methods::run_with_progress(g, spec, inputs, Some(&report)))?)
        });
        for (done, total) in rx {
            // a failing progress display must not stop the computation
            let _ = callback.call(pairlist!(done as f64, total as f64));
        }
        worker.join().unwrap_or_else(|_| Err(innsight_core::Error::Internal("worker thread failed".into())))
    })
}

/// An optional converted value, `NULL` when absent.
fn or_null(x: Option<RResult<Robj>>) -> RResult<Robj> {
    x.unwrap_or_else(|| Ok(Robj::from(())))
}

/// Run an attribution method.
/// @noRd
#[extendr]
fn run_method(model: &Model, spec_json: &str, data: Robj, x_ref: Robj, data_ref: Robj, channels_first: bool, n_threads: i32, progress: Robj) -> RResult<List> {
    let spec = to_r(RunSpec::from_json(spec_json))?;
    let cl = !channels_first;
    with_graph!(&model.graph, g, T => {
        let inputs = RunInputs::<T> {
            data: to_r(tensors::<T>(&data, cl, "data"))?.unwrap_or_default(),
            x_ref: to_r(tensors::<T>(&x_ref, cl, "x_ref"))?,
            data_ref: to_r(tensors::<T>(&data_ref, cl, "data_ref"))?,
        };
        let res = to_r(compute(g, &spec, &inputs, n_threads, &progress))?;
        let mut result = Vec::new();
        let mut index = Vec::new();
        for (k, per_input) in &res.result {
            index.push(*k as i32 + 1);
            let leaves = per_input.iter().map(|a| or_null(a.as_ref().map(|a| attribution_to_r(a, cl)))).collect::<RResult<Vec<Robj>>>()?;
            result.push(List::from_values(leaves));
        }
        let matrices = |v: &[Option<ndarray::ArrayD<T>>]| -> RResult<Vec<Robj>> {
            v.iter().map(|p| or_null(p.as_ref().map(|p| view_to_r(&p.view())))).collect()
        };
        let (pred, goal) = (matrices(&res.pred)?, matrices(&res.goal)?);
        Ok(list!(
            result = List::from_values(result),
            output_index = index,
            pred = List::from_values(pred),
            goal = List::from_values(goal)
        ))
    })
}

extendr_module! {
    mod run;
    fn run_method;
}
