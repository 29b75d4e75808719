//! One explanation run: the rows to evaluate, the model outputs received for them, and
//! the final regression.
//!
//! Rows come in a fixed order: the `n` instances first, then (SHAP only) the `R`
//! reference rows, then for every instance `i`, coalition `c` and reference `r` the
//! perturbed row (SHAP averages the output over all references; LIME uses one
//! reference row per sample). The caller asks for chunks of rows, evaluates them and
//! feeds the outputs back in the same order.

use super::coalitions::{self, Coalitions};
use super::{kernel_shap, lime, permutation_shap};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::scalar::Scalar;
use ndarray::{Array2, Array3, ArrayD, ArrayView2, Axis, IxDyn};
use rayon::prelude::*;
use serde::Deserialize;

/// Which method, with its arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum AgnosticSpec {
    /// KernelSHAP on `n_coalitions` coalitions; exact when `2^p − 2 ≤ n_coalitions`.
    KernelShap { n_coalitions: usize, seed: u64 },
    /// Permutation sampling with `n_permutations` (antithetic pairs).
    PermutationShap { n_permutations: usize, seed: u64 },
    /// LIME with `n_samples` perturbations, kernel width, ridge penalty and an optional
    /// number of selected groups. `masks` fixes the samples (tests).
    Lime {
        n_samples: usize,
        kernel_width: f64,
        lambda: f64,
        #[serde(default)]
        n_features: Option<usize>,
        seed: u64,
        #[serde(default)]
        masks: Option<Vec<Vec<u8>>>,
    },
}

impl AgnosticSpec {
    /// Parse from JSON.
    pub fn from_json(json: &str) -> Result<AgnosticSpec> {
        serde_json::from_str(json).map_err(|e| Error::Argument(format!("invalid method description: {e}")))
    }

    fn is_shap(&self) -> bool {
        !matches!(self, AgnosticSpec::Lime { .. })
    }
}

/// The attributions of a run.
pub struct AgnosticResult {
    /// `[n, d, S]`: per instance, feature (the caller's flat order) and output.
    pub values: Array3<f64>,
    /// Model outputs on the instances `[n, S]`.
    pub pred: Array2<f64>,
    /// What the values sum to (SHAP: `f(x) − mean f(ref)`), `[n, S]`.
    pub goal: Option<Array2<f64>>,
}

/// Feature groups: the group (0-based) of every feature and the groups' sizes.
struct Groups {
    of: Vec<usize>,
    size: Vec<usize>,
}

impl Groups {
    fn new(of: Vec<usize>, d: usize) -> Result<Groups> {
        if of.len() != d {
            return Err(Error::Argument(format!("`feature_groups` must give a group for each of the {d} features, not {}", of.len())));
        }
        let p = of.iter().max().map_or(0, |m| m + 1);
        let mut size = vec![0usize; p];
        for &g in &of {
            size[g] += 1;
        }
        if let Some(g) = size.iter().position(|&s| s == 0) {
            return Err(Error::Argument(format!("`feature_groups` must number the groups 1..{p} without gaps (group {} is empty)", g + 1)));
        }
        Ok(Groups { of, size })
    }
}

/// An explanation run in progress.
pub struct Session {
    spec: AgnosticSpec,
    coal: Coalitions,
    perms: Vec<Vec<usize>>,
    x: Array2<f64>,
    refs: Array2<f64>,
    groups: Groups,
    /// References per coalition row (SHAP: all `R`; LIME: 1).
    reps: usize,
    /// LIME: the reference row of every sample.
    ref_of_sample: Vec<usize>,
    /// Rows before the perturbed ones (instances, and the references for SHAP).
    n_head: usize,
    total: usize,
    next: usize,
    pending: Option<(usize, usize)>,
    /// Outputs of the head rows `[n_head, S]` and sums over references of the
    /// perturbed outputs `[n, M, S]`; allocated when the first outputs arrive.
    head: Option<Array2<f64>>,
    acc: Option<Array3<f64>>,
}

impl Session {
    /// Plan a run on the instances `x` `[n, d]` with references `refs` `[R, d]` and the
    /// feature groups `groups` (0-based, one per feature).
    pub fn new(spec: AgnosticSpec, x: Array2<f64>, refs: Array2<f64>, groups: Vec<usize>) -> Result<Session> {
        let d = x.ncols();
        if refs.ncols() != d {
            return Err(Error::Data(format!("`data_ref` has {} features per instance, but `data` has {d}", refs.ncols())));
        }
        if refs.nrows() == 0 {
            return Err(Error::Data("`data_ref` must contain at least one instance".into()));
        }
        let groups = Groups::new(groups, d)?;
        let p = groups.size.len();
        let mut perms = Vec::new();
        let mut ref_of_sample = Vec::new();
        let coal = match &spec {
            AgnosticSpec::KernelShap { n_coalitions, seed } => {
                if p <= coalitions::MAX_EXACT_GROUPS && (1usize << p) - 2 <= *n_coalitions {
                    coalitions::all_coalitions(p)
                } else {
                    coalitions::paired_sample(p, *n_coalitions, &mut Rng::new(*seed))
                }
            }
            AgnosticSpec::PermutationShap { n_permutations, seed } => {
                let (pp, c) = coalitions::permutation_chains(p, (*n_permutations).max(1), &mut Rng::new(*seed));
                perms = pp;
                c
            }
            AgnosticSpec::Lime { n_samples, seed, masks, .. } => {
                let mut rng = Rng::new(*seed);
                let c = match masks {
                    Some(rows) => Coalitions::from_rows(p, rows)?,
                    None => coalitions::bernoulli_masks(p, *n_samples, &mut rng),
                };
                let r = refs.nrows();
                ref_of_sample = (0..c.len()).map(|_| ((rng.uniform() * r as f64) as usize).min(r - 1)).collect();
                c
            }
        };
        let (reps, n_head) = if spec.is_shap() { (refs.nrows(), x.nrows() + refs.nrows()) } else { (1, x.nrows()) };
        let total = n_head + x.nrows() * coal.len() * reps;
        Ok(Session { spec, coal, perms, x, refs, groups, reps, ref_of_sample, n_head, total, next: 0, pending: None, head: None, acc: None })
    }

    /// Number of rows to evaluate in total.
    pub fn total_rows(&self) -> usize {
        self.total
    }

    /// Number of rows handed out so far.
    pub fn rows_done(&self) -> usize {
        self.next
    }

    /// Number of feature groups.
    pub fn n_groups(&self) -> usize {
        self.groups.size.len()
    }

    /// Write row `r` into `dst`.
    fn write_row(&self, r: usize, dst: &mut [f64]) {
        let n = self.x.nrows();
        if r < n {
            dst.iter_mut().zip(self.x.row(r)).for_each(|(o, v)| *o = *v);
            return;
        }
        if r < self.n_head {
            dst.iter_mut().zip(self.refs.row(r - n)).for_each(|(o, v)| *o = *v);
            return;
        }
        let q = r - self.n_head;
        let m = self.coal.len();
        let (i, c, rep) = (q / (m * self.reps), (q / self.reps) % m, q % self.reps);
        let ref_row = if self.spec.is_shap() { rep } else { self.ref_of_sample[c] };
        let (mask, x, refs) = (self.coal.mask(c), self.x.row(i), self.refs.row(ref_row));
        for (f, o) in dst.iter_mut().enumerate() {
            *o = if mask[self.groups.of[f]] { x[f] } else { refs[f] };
        }
    }

    /// The next (at most `max_rows`) rows to evaluate `[m, d]`, or `None` when all rows
    /// have been handed out. Their outputs must be fed before the next chunk.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Array2<f64>>> {
        if self.pending.is_some() {
            return Err(Error::Internal("the outputs of the previous chunk were not fed".into()));
        }
        if self.next >= self.total {
            return Ok(None);
        }
        let (start, end) = (self.next, (self.next + max_rows.max(1)).min(self.total));
        let d = self.x.ncols();
        let mut rows = Array2::zeros((end - start, d));
        if let Some(buf) = rows.as_slice_mut() {
            buf.par_chunks_mut(d.max(1)).enumerate().for_each(|(k, dst)| self.write_row(start + k, dst));
        }
        self.pending = Some((start, end));
        self.next = end;
        Ok(Some(rows))
    }

    /// The model outputs `[m, S]` for the rows of the last chunk.
    pub fn feed(&mut self, out: ArrayView2<f64>) -> Result<()> {
        let Some((start, end)) = self.pending else {
            return Err(Error::Internal("outputs fed without a pending chunk".into()));
        };
        if out.nrows() != end - start {
            return Err(Error::Data(format!("the predictions have {} rows for {} input rows", out.nrows(), end - start)));
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(Error::Data("the predictions contain missing or non-finite values".into()));
        }
        let s = out.ncols();
        let (n, m) = (self.x.nrows(), self.coal.len());
        let head = self.head.get_or_insert_with(|| Array2::zeros((self.n_head, s)));
        if head.ncols() != s {
            return Err(Error::Data(format!("the predictions have {s} columns, earlier ones had {}", head.ncols())));
        }
        let acc = self.acc.get_or_insert_with(|| Array3::zeros((n, m, s)));
        for (k, row) in out.rows().into_iter().enumerate() {
            let r = start + k;
            if r < self.n_head {
                head.row_mut(r).assign(&row);
            } else {
                let q = r - self.n_head;
                let (i, c) = (q / (m * self.reps), (q / self.reps) % m);
                let mut dst = acc.index_axis_mut(Axis(0), i);
                let mut dst = dst.row_mut(c);
                dst += &row;
            }
        }
        self.pending = None;
        Ok(())
    }

    /// Solve the method's regression once every row has been fed.
    pub fn finish(&self) -> Result<AgnosticResult> {
        if self.pending.is_some() || self.next < self.total {
            return Err(Error::Internal("not all rows were evaluated".into()));
        }
        let head = self.head.as_ref().ok_or_else(|| Error::Internal("no outputs were fed".into()))?;
        let n = self.x.nrows();
        let s = head.ncols();
        let pred = head.slice(ndarray::s![..n, ..]).to_owned();
        let m = self.coal.len();
        let empty = Array3::zeros((n, m, s));
        let v = self.acc.as_ref().unwrap_or(&empty) / self.reps as f64;
        let (phi, goal) = match &self.spec {
            AgnosticSpec::Lime { kernel_width, lambda, n_features, .. } => {
                let w = lime::kernel_weights(&self.coal, *kernel_width);
                let mut coef = Array3::zeros((n, self.n_groups(), s));
                let mut y = vec![0.0; m];
                for i in 0..n {
                    for o in 0..s {
                        for (c, yc) in y.iter_mut().enumerate() {
                            *yc = v[[i, c, o]];
                        }
                        for (g, b) in lime::fit(&self.coal, &y, &w, *lambda, *n_features)?.into_iter().enumerate() {
                            coef[[i, g, o]] = b;
                        }
                    }
                }
                (coef, None)
            }
            _ => {
                let v_empty: Vec<f64> = head.slice(ndarray::s![n.., ..]).mean_axis(Axis(0)).map(|a| a.to_vec()).unwrap_or_default();
                let phi = match &self.spec {
                    AgnosticSpec::PermutationShap { .. } => permutation_shap::estimate(&self.perms, v.view(), &v_empty, pred.view()),
                    _ => kernel_shap::solve(&self.coal, v.view(), &v_empty, pred.view())?,
                };
                (phi, Some(kernel_shap::goal(&v_empty, pred.view())))
            }
        };
        let d = self.x.ncols();
        let values = Array3::from_shape_fn((n, d, s), |(i, f, o)| {
            let g = self.groups.of[f];
            phi[[i, g, o]] / self.groups.size[g] as f64
        });
        Ok(AgnosticResult { values, pred, goal })
    }

    /// The whole run with a model evaluated by `eval` on chunks of at most `max_rows`
    /// rows; `progress(done, total)` after each chunk.
    pub fn run(
        mut self,
        max_rows: usize,
        eval: &mut dyn FnMut(ArrayView2<f64>) -> Result<Array2<f64>>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<AgnosticResult> {
        while let Some(rows) = self.next_chunk(max_rows)? {
            let out = eval(rows.view())?;
            self.feed(out.view())?;
            progress(self.next, self.total);
        }
        self.finish()
    }
}

/// Rows in the caller's flat feature order (column-major over the caller's input shape
/// `dims`, as R stores an array) as a model input `[m, dims...]` in the core's layout:
/// channels first, so a channels-last shape has its last axis moved to the front.
pub fn rows_to_input<T: Scalar>(rows: ArrayView2<f64>, dims: &[usize], channels_last: bool) -> Result<ArrayD<T>> {
    let k = dims.len();
    let mut shape = vec![rows.nrows()];
    shape.extend(dims.iter().rev());
    let flat: Vec<T> = rows.iter().map(|&v| T::of(v)).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| Error::Data(format!("rows do not fit the input shape: {e}")))?;
    // reversed axes back to the caller's order, then channels to the front
    let mut order: Vec<usize> = std::iter::once(0).chain((1..=k).rev()).collect();
    if channels_last && k > 1 {
        let c = order.remove(k);
        order.insert(1, c);
    }
    Ok(a.permuted_axes(IxDyn(&order)).as_standard_layout().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn linear(rows: ArrayView2<f64>, w: &[f64]) -> Array2<f64> {
        Array2::from_shape_fn((rows.nrows(), 1), |(r, _)| rows.row(r).iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + 0.3)
    }

    #[test]
    fn shap_of_a_linear_model_is_w_times_x_minus_the_reference_mean() {
        let w = [1.5, -2.0, 0.25, 3.0];
        let x = array![[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 0.5, 2.0]];
        let refs = array![[0.5, 0.0, 1.0, 1.0], [1.5, 1.0, -1.0, 0.0], [0.0, 2.0, 0.0, 2.0]];
        let mean = refs.mean_axis(Axis(0)).unwrap();
        for spec in [
            AgnosticSpec::KernelShap { n_coalitions: 100, seed: 1 },
            AgnosticSpec::KernelShap { n_coalitions: 8, seed: 1 },
            AgnosticSpec::PermutationShap { n_permutations: 4, seed: 1 },
        ] {
            let s = Session::new(spec, x.clone(), refs.clone(), vec![0, 1, 2, 3]).unwrap();
            let res = s.run(7, &mut |rows| Ok(linear(rows, &w)), &mut |_, _| {}).unwrap();
            for i in 0..2 {
                for f in 0..4 {
                    let want = w[f] * (x[[i, f]] - mean[f]);
                    assert!((res.values[[i, f, 0]] - want).abs() < 1e-10, "{f}: {} vs {want}", res.values[[i, f, 0]]);
                }
            }
        }
    }

    #[test]
    fn grouped_features_share_their_group_value() {
        let w = [1.0, 2.0, 3.0];
        let x = array![[1.0, 1.0, 1.0]];
        let refs = array![[0.0, 0.0, 0.0]];
        let s = Session::new(AgnosticSpec::KernelShap { n_coalitions: 10, seed: 1 }, x, refs, vec![0, 0, 1]).unwrap();
        let res = s.run(100, &mut |rows| Ok(linear(rows, &w)), &mut |_, _| {}).unwrap();
        assert!((res.values[[0, 0, 0]] - 1.5).abs() < 1e-12 && (res.values[[0, 1, 0]] - 1.5).abs() < 1e-12);
        assert!((res.values[[0, 2, 0]] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn bad_predictions_and_groups_are_errors() {
        let x = array![[1.0, 2.0]];
        assert!(Session::new(AgnosticSpec::KernelShap { n_coalitions: 10, seed: 1 }, x.clone(), x.clone(), vec![0, 2]).is_err());
        let mut s = Session::new(AgnosticSpec::KernelShap { n_coalitions: 10, seed: 1 }, x.clone(), x.clone(), vec![0, 1]).unwrap();
        let rows = s.next_chunk(3).unwrap().unwrap();
        assert!(s.feed(Array2::zeros((rows.nrows() + 1, 1)).view()).is_err());
        assert!(s.feed(Array2::from_elem((rows.nrows(), 1), f64::NAN).view()).is_err());
    }

    #[test]
    fn rows_follow_the_column_major_order_of_the_caller_layout() {
        // one channels-last 2 x 3 x 2 (H, W, C) instance, values = R's linear index
        let row = Array2::from_shape_fn((1, 12), |(_, f)| f as f64);
        let t: ArrayD<f64> = rows_to_input(row.view(), &[2, 3, 2], true).unwrap();
        assert_eq!(t.shape(), &[1, 2, 2, 3]);
        // R index of (h, w, c) is h + 2 w + 6 c
        for c in 0..2 {
            for h in 0..2 {
                for w in 0..3 {
                    assert_eq!(t[[0, c, h, w]], (h + 2 * w + 6 * c) as f64);
                }
            }
        }
    }
}
