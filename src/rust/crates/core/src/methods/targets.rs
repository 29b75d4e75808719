//! Selected output nodes (`output_idx`) and the seeds they give the reverse pass.
//!
//! All selected nodes of all outputs travel backwards together: the signal's leading
//! axis has `S = Σ_k S_k` slabs, output `k` owning slabs `offset_k .. offset_k + S_k`.

use crate::error::{Error, Result};
use crate::graph::{Graph, Trace};
use crate::scalar::Scalar;
use ndarray::{s, ArrayD, Axis, IxDyn};

/// Selected output nodes, 0-based, per model output.
pub struct Targets {
    pub per_output: Vec<Option<Vec<usize>>>,
}

impl Targets {
    /// Validate 1-based `output_idx` against the graph.
    pub fn new<T: Scalar>(graph: &Graph<T>, output_idx: &[Option<Vec<usize>>]) -> Result<Targets> {
        if output_idx.len() > graph.n_outputs() {
            return Err(Error::Argument(format!(
                "`output_idx` has {} entries but the model has {} output layer(s)",
                output_idx.len(),
                graph.n_outputs()
            )));
        }
        let mut per_output = Vec::new();
        for k in 0..graph.n_outputs() {
            let sel = match output_idx.get(k).cloned().flatten() {
                None => None,
                Some(v) if v.is_empty() => None,
                Some(v) => {
                    let width = graph.output_width(k);
                    if let Some(bad) = v.iter().find(|&&i| i < 1 || i > width) {
                        return Err(Error::Argument(format!(
                            "`output_idx` for output layer {} contains {bad}, expected values in 1..{width}",
                            k + 1
                        )));
                    }
                    Some(v.iter().map(|i| i - 1).collect())
                }
            };
            per_output.push(sel);
        }
        if per_output.iter().all(Option::is_none) {
            return Err(Error::Argument("`output_idx` selects no output node".into()));
        }
        Ok(Targets { per_output })
    }

    /// Total number of selected nodes `S`.
    pub fn total(&self) -> usize {
        self.per_output.iter().flatten().map(Vec::len).sum()
    }

    /// `(output k, slab offset, selected nodes)` for every output with a selection.
    pub fn blocks(&self) -> Vec<(usize, usize, &[usize])> {
        let mut off = 0;
        let mut v = Vec::new();
        for (k, sel) in self.per_output.iter().enumerate() {
            if let Some(sel) = sel {
                v.push((k, off, sel.as_slice()));
                off += sel.len();
            }
        }
        v
    }

    /// One-hot seeds `[S, B, O_k]` at each selected output's node.
    pub fn seeds<T: Scalar>(&self, graph: &Graph<T>, b: usize, ignore_last_act: bool) -> Vec<(usize, ArrayD<T>)> {
        let s_total = self.total();
        self.blocks()
            .into_iter()
            .map(|(k, off, sel)| {
                let node = if ignore_last_act { graph.preactivations[k] } else { graph.outputs[k] };
                let mut seed = ArrayD::<T>::zeros(IxDyn(&[s_total, b, graph.output_width(k)]));
                for (si, &j) in sel.iter().enumerate() {
                    seed.slice_mut(s![off + si, .., j]).fill(T::one());
                }
                (node, seed)
            })
            .collect()
    }

    /// Selected columns `[B, S_k]` of every output node's traced value.
    pub fn select<T: Scalar>(&self, graph: &Graph<T>, trace: &Trace<T>, preactivation: bool) -> Vec<ArrayD<T>> {
        self.blocks()
            .into_iter()
            .map(|(k, _, sel)| {
                let node = if preactivation { graph.preactivations[k] } else { graph.outputs[k] };
                trace.values[node].select(Axis(1), sel)
            })
            .collect()
    }

    /// Split per-input signals `[S, B, in...]` into per-output blocks `[S_k, B, in...]`;
    /// inputs not connected to an output give `None`.
    pub fn split<T: Scalar>(&self, graph: &Graph<T>, per_input: Vec<Option<ArrayD<T>>>) -> Vec<(usize, Vec<Option<ArrayD<T>>>)> {
        let connected = graph.connected();
        self.blocks()
            .into_iter()
            .map(|(k, off, sel)| {
                let parts = per_input
                    .iter()
                    .enumerate()
                    .map(|(j, sig)| match sig {
                        Some(a) if connected[k][j] => Some(a.slice_axis(Axis(0), (off..off + sel.len()).into()).to_owned()),
                        _ => None,
                    })
                    .collect();
                (k, parts)
            })
            .collect()
    }
}
