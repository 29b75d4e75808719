//! A mergeable quantile sketch with relative accuracy, after the idea of DDSketch
//! (Masson, Rim and Lee, VLDB 2019): values are counted in logarithmic buckets
//! whose width grows with the magnitude, so every quantile is known to within a
//! relative error `alpha` while the memory depends only on the range of the
//! magnitudes, not on how many values were seen.
//!
//! A [`Sketch`] summarises many *cells* at once (in innsight: features × outputs,
//! one value per data row). Summaries of data chunks are combined with
//! [`Sketch::merge`]; since bucket counts, counts, minima and maxima are combined by
//! integer addition and min/max, the merged sketch is the same whatever the order
//! or grouping of the merges (only the floating sums differ, at rounding level).
//!
//! Keys. With `gamma = (1 + alpha) / (1 - alpha)`, a magnitude `|x| >= MIN_MAGNITUDE`
//! falls in the bucket `k = ceil(ln|x| / ln gamma)`, i.e. `gamma^(k-1) < |x| <=
//! gamma^k`. The stored *signed key* shifts `k` so that the smallest possible
//! bucket is 1 and carries the sign of `x`: `key = sign(x) * (k - k_min + 1)`. Key 0
//! is the bucket of zero and of magnitudes below `MIN_MAGNITUDE`. Positive and
//! negative values can therefore never share a key, and sorting the keys sorts the
//! buckets by value (a more negative key is a larger negative magnitude).
//! The bucket's value is `sign * 2 gamma^k / (gamma + 1)`, at most `alpha` away
//! (relatively) from every magnitude in `(gamma^(k-1), gamma^k]`.
//!
//! Bounded size. Gradients of a data set's background pixels spread over many
//! decades, and every new decade is new buckets. A cell therefore keeps relative
//! accuracy only for magnitudes within [`DECADES`] decades of its largest: the
//! buckets further below are collapsed into one *floor* bucket per sign, at
//! `|key| = top - span` for the cell's largest `|key|` `top`. A cell then has at most
//! `2 span + 1` buckets however many values it sees, and a collapsed value's quantile
//! is off by less than `10^-DECADES` times the cell's largest magnitude. Since the
//! floor only rises as values are added, collapsing at every step gives the same
//! buckets as collapsing once at the end: merges stay order-independent.

use crate::error::{Error, Result};
use ndarray::Array2;

/// Magnitudes below this go to the zero bucket: the log mapping needs a floor, and
/// attributions this small are zero for every purpose of a summary.
pub const MIN_MAGNITUDE: f64 = 1e-30;

/// Decades of magnitude, below a cell's largest, that keep relative accuracy.
pub const DECADES: f64 = 6.0;

/// A bucket's count. 32 bits halve the sketch's memory next to 64; the price is a
/// limit of [`MAX_CELL_COUNT`] values per cell, checked wherever values are added.
pub type BucketCount = u32;

/// The most values one cell can summarise (so that no bucket count overflows).
pub const MAX_CELL_COUNT: u64 = BucketCount::MAX as u64;

/// The map between values and signed bucket keys for one accuracy.
#[derive(Debug, Clone, Copy)]
struct KeyMap {
    alpha: f64,
    gamma: f64,
    ln_gamma: f64,
    /// `ceil(ln MIN_MAGNITUDE / ln gamma)`: the unshifted index of the lowest bucket.
    k_min: i64,
    /// The largest shifted index any finite value can have.
    m_max: i64,
    /// Keys spanning [`DECADES`] decades: the floor of a cell sits this far below its top.
    span: i32,
}

impl KeyMap {
    fn new(alpha: f64) -> Result<KeyMap> {
        if !(alpha.is_finite() && alpha > 0.0 && alpha < 1.0) {
            return Err(Error::Argument(format!("the sketch accuracy `alpha` must be a number in (0, 1), not {alpha}")));
        }
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        // ln_1p keeps ln(gamma) accurate for small alpha, where gamma is close to 1
        let ln_gamma = (2.0 * alpha / (1.0 - alpha)).ln_1p();
        let k_min = (MIN_MAGNITUDE.ln() / ln_gamma).ceil() as i64;
        let k_max = (f64::MAX.ln() / ln_gamma).ceil() as i64;
        let m_max = k_max - k_min + 1;
        // keys travel to R as 32-bit integers
        if m_max > i32::MAX as i64 {
            return Err(Error::Argument(format!(
                "the sketch accuracy `alpha` = {alpha} is too fine: its bucket keys do not fit 32-bit integers"
            )));
        }
        let span = (DECADES * std::f64::consts::LN_10 / ln_gamma).ceil().min(i32::MAX as f64) as i32;
        Ok(KeyMap { alpha, gamma, ln_gamma, k_min, m_max, span })
    }

    /// The floor `|key|` of a cell whose buckets are `buckets` (sorted): keys with a
    /// smaller non-zero magnitude are collapsed into it. 1 (nothing to collapse)
    /// when the cell spans fewer than [`DECADES`] decades.
    fn floor(&self, buckets: &[(i32, BucketCount)]) -> i32 {
        let top = match (buckets.first(), buckets.last()) {
            (Some(a), Some(b)) => a.0.unsigned_abs().max(b.0.unsigned_abs()) as i64,
            _ => 0,
        };
        (top - self.span as i64).max(1) as i32
    }

    /// `key` with magnitudes below `floor` raised to it (sign kept, zero stays).
    fn collapse(key: i32, floor: i32) -> i32 {
        if key != 0 && key.abs() < floor {
            floor * key.signum()
        } else {
            key
        }
    }

    /// The signed key of a finite value.
    fn key(&self, x: f64) -> i32 {
        let a = x.abs();
        // NaN would land here too, but callers reject it before
        if a.is_nan() || a < MIN_MAGNITUDE {
            return 0;
        }
        // the clamp only guards against libm rounding at the two ends of the range
        let m = ((a.ln() / self.ln_gamma).ceil() as i64 - self.k_min + 1).clamp(1, self.m_max) as i32;
        if x < 0.0 {
            -m
        } else {
            m
        }
    }

    /// The value representing a bucket (its key's sign times the magnitude
    /// `2 gamma^k / (gamma + 1)`, computed in logs so the top bucket stays finite as
    /// long as it can).
    fn value(&self, key: i32) -> f64 {
        if key == 0 {
            return 0.0;
        }
        let k = key.unsigned_abs() as i64 - 1 + self.k_min;
        let mag = (k as f64 * self.ln_gamma + (2.0 / (self.gamma + 1.0)).ln()).exp();
        if key < 0 {
            -mag
        } else {
            mag
        }
    }
}

/// The summary of one cell: exact moments and extremes plus the bucket counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSketch {
    /// Number of values.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Sum of their absolute values.
    pub sum_abs: f64,
    /// Sum of their squares.
    pub sum_sq: f64,
    /// Smallest value (`+inf` for an empty cell, the neutral element of `min`).
    pub min: f64,
    /// Largest value (`-inf` for an empty cell).
    pub max: f64,
    /// `(signed key, count)` of the non-empty buckets, keys strictly increasing.
    pub buckets: Vec<(i32, BucketCount)>,
}

impl CellSketch {
    /// A cell that has seen no value.
    pub fn empty() -> CellSketch {
        CellSketch {
            count: 0,
            sum: 0.0,
            sum_abs: 0.0,
            sum_sq: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            buckets: Vec::new(),
        }
    }

    /// Collapse the buckets below the cell's floor (see the module notes). The map
    /// is monotone in the key, so the buckets stay sorted; equal keys are summed.
    fn collapse(&mut self, map: &KeyMap) {
        let floor = map.floor(&self.buckets);
        if floor <= 1 {
            return;
        }
        let mut w = 0;
        for r in 0..self.buckets.len() {
            let (k, n) = self.buckets[r];
            let k = KeyMap::collapse(k, floor);
            if w > 0 && self.buckets[w - 1].0 == k {
                self.buckets[w - 1].1 += n;
            } else {
                self.buckets[w] = (k, n);
                w += 1;
            }
        }
        self.buckets.truncate(w);
    }

    /// Add the values `col` (all finite) to this cell in place; `keys` and `runs`
    /// are scratch. The caller has checked that the count stays within
    /// [`MAX_CELL_COUNT`], so no bucket count can overflow.
    fn absorb(&mut self, col: &[f64], map: &KeyMap, keys: &mut Vec<i32>, runs: &mut Vec<(i32, BucketCount)>) {
        keys.clear();
        for &x in col {
            self.sum += x;
            self.sum_abs += x.abs();
            self.sum_sq += x * x;
            // +0.0 for -0.0: f64::min/max may return either zero, which would make
            // the merged extremes depend on the merge order
            let x0 = x + 0.0;
            self.min = self.min.min(x0);
            self.max = self.max.max(x0);
            keys.push(map.key(x));
        }
        self.count += col.len() as u64;
        // sorting and run-length coding beats a map for the typical chunk
        keys.sort_unstable();
        runs.clear();
        for &k in keys.iter() {
            match runs.last_mut() {
                Some((last, n)) if *last == k => *n += 1,
                _ => runs.push((k, 1)),
            }
        }
        self.merge_runs(runs);
        self.collapse(map);
    }

    /// Merge sorted `(key, count)` runs into the buckets in place, from the back:
    /// the vector grows by exactly the number of new keys (none once a cell's range
    /// is covered), so a sketch that has seen its data's range stops allocating,
    /// and no scratch copy of the cell is made.
    fn merge_runs(&mut self, runs: &[(i32, BucketCount)]) {
        let old = self.buckets.len();
        let mut i = 0;
        let mut fresh = 0;
        for &(k, _) in runs {
            while i < old && self.buckets[i].0 < k {
                i += 1;
            }
            if !(i < old && self.buckets[i].0 == k) {
                fresh += 1;
            }
        }
        self.buckets.reserve_exact(fresh);
        self.buckets.resize(old + fresh, (0, 0));
        // a, b: unmerged ends of the old buckets and of the runs; w: next slot to fill
        let (mut a, mut b, mut w) = (old, runs.len(), old + fresh);
        while b > 0 {
            let r = runs[b - 1];
            w -= 1;
            if a > 0 && self.buckets[a - 1].0 > r.0 {
                self.buckets[w] = self.buckets[a - 1];
                a -= 1;
            } else if a > 0 && self.buckets[a - 1].0 == r.0 {
                self.buckets[w] = (r.0, self.buckets[a - 1].1 + r.1);
                a -= 1;
                b -= 1;
            } else {
                self.buckets[w] = r;
                b -= 1;
            }
        }
        // the old buckets left of `a` are already in their final place
        debug_assert_eq!(w, a);
    }

    fn merged(&self, other: &CellSketch, cell: usize, map: &KeyMap) -> Result<CellSketch> {
        let count = self
            .count
            .checked_add(other.count)
            .filter(|&n| n <= MAX_CELL_COUNT)
            .ok_or_else(|| too_many(cell))?;
        let mut buckets = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.buckets, &other.buckets);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => {
                    buckets.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    buckets.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    // cannot overflow: the bucket counts are bounded by the total count
                    buckets.push((a[i].0, a[i].1 + b[j].1));
                    i += 1;
                    j += 1;
                }
            }
        }
        buckets.extend_from_slice(&a[i..]);
        buckets.extend_from_slice(&b[j..]);
        let mut c = CellSketch {
            count,
            sum: self.sum + other.sum,
            sum_abs: self.sum_abs + other.sum_abs,
            sum_sq: self.sum_sq + other.sum_sq,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            buckets,
        };
        c.collapse(map);
        c.buckets.shrink_to_fit();
        Ok(c)
    }
}

fn too_many(cell: usize) -> Error {
    Error::Data(format!("sketch cell {}: a summary holds at most {MAX_CELL_COUNT} values per cell", cell + 1))
}

/// A quantile sketch of many cells, all with the same accuracy.
#[derive(Debug, Clone)]
pub struct Sketch {
    map: KeyMap,
    cells: Vec<CellSketch>,
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Sketch) -> bool {
        self.map.alpha == other.map.alpha && self.cells == other.cells
    }
}

impl Sketch {
    /// Sketch a column-major block: `values[j * rows .. (j + 1) * rows]` are the
    /// values of cell `j`. Every value must be finite.
    pub fn from_block(values: &[f64], rows: usize, cells: usize, alpha: f64) -> Result<Sketch> {
        let map = KeyMap::new(alpha)?;
        if rows.checked_mul(cells) != Some(values.len()) {
            return Err(Error::Argument(format!(
                "a block of {rows} rows and {cells} cells needs {} values, not {}",
                rows as u128 * cells as u128,
                values.len()
            )));
        }
        let mut sketch = Sketch { map, cells: vec![CellSketch::empty(); cells] };
        sketch.absorb_block(values, rows, cells)?;
        Ok(sketch)
    }

    /// Add a column-major block of values of the same cells in place (as
    /// [`Sketch::from_block`] takes it, then merged): no second copy of the sketch.
    pub fn absorb_block(&mut self, values: &[f64], rows: usize, cells: usize) -> Result<()> {
        if rows.checked_mul(cells) != Some(values.len()) {
            return Err(Error::Argument(format!(
                "a block of {rows} rows and {cells} cells needs {} values, not {}",
                rows as u128 * cells as u128,
                values.len()
            )));
        }
        if cells != self.cells.len() {
            return Err(Error::Argument(format!(
                "cannot add a block of {cells} cells to a sketch of {} cells",
                self.cells.len()
            )));
        }
        // checked before anything is added, so that an error leaves the sketch as it was
        if let Some(at) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::Data(format!(
                "cannot summarise a non-finite value ({}) in cell {} (row {}) of the sketched block",
                values[at],
                at / rows.max(1) + 1,
                at % rows.max(1) + 1
            )));
        }
        if let Some(j) = self.cells.iter().position(|c| c.count.saturating_add(rows as u64) > MAX_CELL_COUNT) {
            return Err(too_many(j));
        }
        let map = self.map;
        let mut keys: Vec<i32> = Vec::with_capacity(rows);
        let mut runs: Vec<(i32, BucketCount)> = Vec::with_capacity(rows);
        for (j, c) in self.cells.iter_mut().enumerate() {
            c.absorb(&values[j * rows..(j + 1) * rows], &map, &mut keys, &mut runs);
        }
        Ok(())
    }


    /// Rebuild a sketch from its parts (as stored or sent between processes),
    /// checking that they are consistent. Field names in the messages are those of
    /// [`CellSketch`].
    pub fn from_parts(alpha: f64, cells: Vec<CellSketch>) -> Result<Sketch> {
        let map = KeyMap::new(alpha)?;
        for (j, c) in cells.iter().enumerate() {
            let bad = |msg: String| Err(Error::Data(format!("malformed sketch, cell {}: {msg}", j + 1)));
            let mut total: u64 = 0;
            let mut prev: Option<i32> = None;
            for &(k, n) in &c.buckets {
                if prev.is_some_and(|p| p >= k) {
                    return bad("`bucket_key` must be strictly increasing within a cell".into());
                }
                if (k.unsigned_abs() as i64) > map.m_max {
                    return bad(format!("`bucket_key` {k} is out of range for alpha = {alpha}"));
                }
                if n == 0 {
                    return bad("`bucket_n` must be positive".into());
                }
                total = match total.checked_add(n as u64) {
                    Some(t) => t,
                    None => return bad("the `bucket_n` overflow".into()),
                };
                prev = Some(k);
            }
            if c.count > MAX_CELL_COUNT {
                return bad(format!("`count` {} is more than a summary holds ({MAX_CELL_COUNT})", c.count));
            }
            if total != c.count {
                return bad(format!("`count` is {} but its `bucket_n` add up to {total}", c.count));
            }
            if c.sum.is_nan() || c.sum_abs.is_nan() || c.sum_sq.is_nan() {
                return bad("`sum`, `sum_abs` and `sum_sq` must not be missing".into());
            }
            if c.sum_abs < 0.0 || c.sum_sq < 0.0 {
                return bad("`sum_abs` and `sum_sq` must not be negative".into());
            }
            if c.count == 0 {
                if c.min != f64::INFINITY || c.max != f64::NEG_INFINITY || c.sum != 0.0 || c.sum_abs != 0.0 || c.sum_sq != 0.0 {
                    return bad("an empty cell must have no extremes and zero sums".into());
                }
                continue;
            }
            if !(c.min.is_finite() && c.max.is_finite() && c.min <= c.max) {
                return bad("`min` and `max` must be finite with `min <= max`".into());
            }
            // the extremes lie in the first and last bucket; one bucket of slack
            // because another machine's `ln` may round a boundary value the other way
            // (after collapsing: a small minimum may sit in the floor bucket)
            let (first, last) = (c.buckets[0].0 as i64, c.buckets[c.buckets.len() - 1].0 as i64);
            let floor = map.floor(&c.buckets);
            // (a sketch saved before collapsing existed has the raw key)
            let near = |x: f64, b: i64| {
                let k = map.key(x);
                (k as i64 - b).abs() <= 1 || (KeyMap::collapse(k, floor) as i64 - b).abs() <= 1
            };
            if !near(c.min, first) || !near(c.max, last) {
                return bad("`min` and `max` do not match the range of its buckets".into());
            }
        }
        Ok(Sketch { map, cells })
    }

    /// The relative accuracy.
    pub fn alpha(&self) -> f64 {
        self.map.alpha
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }

    /// The per-cell summaries.
    pub fn cells(&self) -> &[CellSketch] {
        &self.cells
    }

    /// Combine the sketches of two disjoint parts of the same cells.
    pub fn merge(&self, other: &Sketch) -> Result<Sketch> {
        if self.map.alpha != other.map.alpha {
            return Err(Error::Argument(format!(
                "cannot merge sketches of different accuracy (alpha {} and {})",
                self.map.alpha, other.map.alpha
            )));
        }
        if self.cells.len() != other.cells.len() {
            return Err(Error::Argument(format!(
                "cannot merge sketches of {} and {} cells",
                self.cells.len(),
                other.cells.len()
            )));
        }
        let cells = self
            .cells
            .iter()
            .zip(&other.cells)
            .enumerate()
            .map(|(j, (a, b))| a.merged(b, j, &self.map))
            .collect::<Result<Vec<_>>>()?;
        Ok(Sketch { map: self.map, cells })
    }

    /// Quantiles `[cells, probs]` of every cell, of the values or (`abs`) of their
    /// magnitudes. The quantile at `p` is the value of the bucket holding the
    /// 0-based rank `floor(p (count - 1))` of the sorted values, clamped into the
    /// cell's range; the first and last rank give the exact minimum and maximum
    /// (of |x| only where that is known: the smallest |x| of a cell with both signs
    /// is not). NaN for an empty cell.
    pub fn quantiles(&self, probs: &[f64], abs: bool) -> Result<Array2<f64>> {
        if let Some(p) = probs.iter().find(|p| !(**p >= 0.0 && **p <= 1.0)) {
            return Err(Error::Argument(format!("quantile probabilities must be in [0, 1], not {p}")));
        }
        let mut out = Array2::from_elem((self.cells.len(), probs.len()), f64::NAN);
        let mut folded: Vec<(i32, BucketCount)> = Vec::new();
        let mut cum: Vec<u64> = Vec::new();
        for (j, c) in self.cells.iter().enumerate() {
            if c.count == 0 {
                continue;
            }
            // (lo, hi) bound the summarised values; `lo_exact` says whether lo is also
            // attained (the smallest |x| is unknown when the signs are mixed)
            let (buckets, lo, lo_exact, hi) = if abs {
                // |x| has the bucket |key|: the magnitude buckets are exact, so the
                // folded distribution loses nothing
                folded.clear();
                folded.extend(c.buckets.iter().map(|&(k, n)| (k.abs(), n)));
                folded.sort_unstable_by_key(|b| b.0);
                folded.dedup_by(|b, a| {
                    let same = a.0 == b.0;
                    if same {
                        a.1 += b.1;
                    }
                    same
                });
                let (lo, lo_exact) = if c.min >= 0.0 {
                    (c.min, true)
                } else if c.max <= 0.0 {
                    (-c.max, true)
                } else {
                    (0.0, false)
                };
                (&folded[..], lo, lo_exact, c.min.abs().max(c.max.abs()))
            } else {
                (&c.buckets[..], c.min, true, c.max)
            };
            cum.clear();
            let mut acc = 0u64;
            cum.extend(buckets.iter().map(|b| {
                acc += b.1 as u64;
                acc
            }));
            for (q, &p) in probs.iter().enumerate() {
                let rank = ((p * (c.count - 1) as f64).floor() as u64).min(c.count - 1);
                // the extremes are known exactly; a bucket value would only be within alpha
                if rank == c.count - 1 {
                    out[[j, q]] = hi;
                    continue;
                }
                if rank == 0 && lo_exact {
                    out[[j, q]] = lo;
                    continue;
                }
                // the first bucket whose cumulative count passes the rank holds it
                let b = cum.partition_point(|&n| n <= rank);
                out[[j, q]] = self.map.value(buckets[b].0).clamp(lo, hi);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const ALPHA: f64 = 0.005;
    // the bucket bound is exact in real numbers; logs and exps add a few ulps
    const SLACK: f64 = 1e-12;

    /// Column-major block of test cells: Gaussian with negatives, log-normal over
    /// many decades, a cell with many zeros, an all-negative cell, a constant cell.
    fn block(rows: usize, seed: u64) -> (Vec<f64>, usize) {
        let mut r = Rng::new(seed);
        let mut v = Vec::new();
        for _ in 0..rows {
            v.push(r.normal() * 3.0);
        }
        for _ in 0..rows {
            v.push((r.normal() * 6.0).exp() * if r.uniform() < 0.3 { -1.0 } else { 1.0 });
        }
        for _ in 0..rows {
            v.push(if r.uniform() < 0.4 { 0.0 } else { r.normal() });
        }
        for _ in 0..rows {
            v.push(-r.uniform() * 10.0 - 1e-3);
        }
        for _ in 0..rows {
            v.push(2.5);
        }
        (v, 5)
    }

    fn exact(col: &[f64], p: f64) -> f64 {
        let mut s = col.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s[(p * (s.len() - 1) as f64).floor() as usize]
    }

    /// `est` is within relative `alpha` of `truth`, or, for a value collapsed into
    /// the floor of a cell whose largest magnitude is `top`, within the floor's
    /// magnitude (`10^-DECADES top`, give or take a bucket).
    fn within_cell(est: f64, truth: f64, alpha: f64, top: f64) -> bool {
        let tiny = top * 10f64.powf(-DECADES) * (1.0 + alpha).powi(4);
        if truth.abs() < tiny {
            (est - truth).abs() <= 2.0 * tiny
        } else {
            within(est, truth, alpha)
        }
    }

    fn top_of(col: &[f64]) -> f64 {
        col.iter().fold(0.0f64, |m, x| m.max(x.abs()))
    }

    fn within(est: f64, truth: f64, alpha: f64) -> bool {
        if truth.abs() < MIN_MAGNITUDE {
            est.abs() < MIN_MAGNITUDE
        } else {
            (est - truth).abs() <= alpha * (1.0 + SLACK) * truth.abs()
        }
    }

    const PROBS: [f64; 9] = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0];

    #[test]
    fn quantiles_within_relative_error() {
        let rows = 2001;
        let (v, cells) = block(rows, 11);
        for alpha in [ALPHA, 0.01, 0.05] {
            let s = Sketch::from_block(&v, rows, cells, alpha).unwrap();
            let q = s.quantiles(&PROBS, false).unwrap();
            let mut worst: f64 = 0.0;
            for j in 0..cells {
                let col = &v[j * rows..(j + 1) * rows];
                for (k, &p) in PROBS.iter().enumerate() {
                    let t = exact(col, p);
                    let top = top_of(col);
                    assert!(within_cell(q[[j, k]], t, alpha, top), "alpha {alpha} cell {j} p {p}: {} vs {t}", q[[j, k]]);
                    if t.abs() > top * 10f64.powf(-DECADES) * (1.0 + alpha).powi(4) {
                        worst = worst.max((q[[j, k]] - t).abs() / t.abs());
                    }
                }
                // extremes are exact thanks to the clamp
                assert_eq!(q[[j, 0]], exact(col, 0.0));
                assert_eq!(q[[j, PROBS.len() - 1]], exact(col, 1.0));
            }
            eprintln!("alpha {alpha}: worst relative quantile error {worst:.3e}");
            assert!(worst <= alpha * (1.0 + SLACK), "worst {worst}");
        }
    }

    #[test]
    fn moments_are_exact_sums() {
        let rows = 500;
        let (v, cells) = block(rows, 5);
        let s = Sketch::from_block(&v, rows, cells, ALPHA).unwrap();
        for (j, c) in s.cells().iter().enumerate() {
            let col = &v[j * rows..(j + 1) * rows];
            assert_eq!(c.count, rows as u64);
            assert_eq!(c.sum, col.iter().sum::<f64>());
            assert_eq!(c.sum_abs, col.iter().map(|x| x.abs()).sum::<f64>());
            assert_eq!(c.sum_sq, col.iter().map(|x| x * x).sum::<f64>());
            assert_eq!(c.min, col.iter().cloned().fold(f64::INFINITY, f64::min));
            assert_eq!(c.max, col.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
            assert_eq!(c.buckets.iter().map(|b| b.1 as u64).sum::<u64>(), rows as u64);
        }
    }

    #[test]
    fn keys_of_signs_and_zero_do_not_collide() {
        let m = KeyMap::new(ALPHA).unwrap();
        assert_eq!(m.key(0.0), 0);
        assert_eq!(m.key(-0.0), 0);
        assert_eq!(m.key(1e-31), 0);
        assert_eq!(m.key(-1e-31), 0);
        for x in [1e-30, 1e-12, 0.3, 1.0, 1.0 + 1e-9, 7.0, 1e200, f64::MAX] {
            let (kp, kn) = (m.key(x), m.key(-x));
            assert!(kp >= 1 && kn <= -1 && kp == -kn, "{x}: {kp} {kn}");
            assert!(within(m.value(kp), x, ALPHA), "{x}: {}", m.value(kp));
            assert!(within(m.value(kn), -x, ALPHA));
        }
        // keys sort like the values
        let xs = [-1e5, -2.0, -1.0, -1e-20, 0.0, 1e-20, 0.5, 1.0, 3.0];
        let ks: Vec<i32> = xs.iter().map(|&x| m.key(x)).collect();
        assert!(ks.windows(2).all(|w| w[0] < w[1]), "{ks:?}");
        assert!(KeyMap::new(0.0).is_err() && KeyMap::new(1.0).is_err() && KeyMap::new(f64::NAN).is_err());
        assert!(KeyMap::new(1e-12).is_err());
    }

    #[test]
    fn single_value_and_empty_cells() {
        let s = Sketch::from_block(&[-3.7], 1, 1, ALPHA).unwrap();
        let q = s.quantiles(&PROBS, false).unwrap();
        assert!(q.iter().all(|&x| x == -3.7));
        let qa = s.quantiles(&PROBS, true).unwrap();
        assert!(qa.iter().all(|&x| x == 3.7));
        let e = Sketch::from_block(&[], 0, 3, ALPHA).unwrap();
        assert_eq!(e.n_cells(), 3);
        assert!(e.quantiles(&[0.5], false).unwrap().iter().all(|x| x.is_nan()));
        // an empty part is the neutral element of merging
        assert_eq!(e.merge(&e).unwrap(), e);
        let one = Sketch::from_block(&[1.0, 2.0, 3.0], 1, 3, ALPHA).unwrap();
        assert_eq!(one.merge(&e).unwrap(), one);
        assert_eq!(e.merge(&one).unwrap(), one);
    }

    /// Sketch of rows `r0..r1` of every cell of a column-major block.
    fn rows_of(v: &[f64], rows: usize, cells: usize, r0: usize, r1: usize) -> Sketch {
        let part: Vec<f64> = (0..cells).flat_map(|j| v[j * rows + r0..j * rows + r1].to_vec()).collect();
        Sketch::from_block(&part, r1 - r0, cells, ALPHA).unwrap()
    }

    fn assert_same(a: &Sketch, b: &Sketch) {
        assert_eq!(a.alpha(), b.alpha());
        for (x, y) in a.cells().iter().zip(b.cells()) {
            assert_eq!(x.buckets, y.buckets);
            assert_eq!((x.count, x.min, x.max), (y.count, y.min, y.max));
            for (s, t) in [(x.sum, y.sum), (x.sum_abs, y.sum_abs), (x.sum_sq, y.sum_sq)] {
                assert!((s - t).abs() <= 1e-12 * t.abs().max(x.sum_abs).max(1e-300), "{s} vs {t}");
            }
        }
    }

    #[test]
    fn merge_of_parts_equals_whole() {
        let rows = 1000;
        let (v, cells) = block(rows, 23);
        let whole = Sketch::from_block(&v, rows, cells, ALPHA).unwrap();
        let cuts = [0, 1, 137, 500, 501, 999, 1000];
        let parts: Vec<Sketch> = cuts.windows(2).map(|w| rows_of(&v, rows, cells, w[0], w[1])).collect();
        let left = parts.iter().skip(1).fold(parts[0].clone(), |acc, p| acc.merge(p).unwrap());
        assert_same(&left, &whole);
        let q_whole = whole.quantiles(&PROBS, false).unwrap();
        assert_eq!(left.quantiles(&PROBS, false).unwrap(), q_whole);
    }

    #[test]
    fn merge_is_order_independent() {
        let rows = 600;
        let (v, cells) = block(rows, 31);
        let parts: Vec<Sketch> = (0..6).map(|k| rows_of(&v, rows, cells, k * 100, (k + 1) * 100)).collect();
        let left = parts.iter().skip(1).fold(parts[0].clone(), |acc, p| acc.merge(p).unwrap());
        let right = parts.iter().rev().skip(1).fold(parts[5].clone(), |acc, p| p.merge(&acc).unwrap());
        let pairs = parts[0]
            .merge(&parts[3])
            .unwrap()
            .merge(&parts[5].merge(&parts[1]).unwrap())
            .unwrap()
            .merge(&parts[4].merge(&parts[2]).unwrap())
            .unwrap();
        for other in [&right, &pairs] {
            assert_same(&left, other);
            assert_eq!(left.quantiles(&PROBS, true).unwrap(), other.quantiles(&PROBS, true).unwrap());
        }
        // -0.0 and 0.0 in different parts: the extremes must not depend on the order
        let a = Sketch::from_block(&[-0.0], 1, 1, ALPHA).unwrap();
        let b = Sketch::from_block(&[0.0], 1, 1, ALPHA).unwrap();
        let (ab, ba) = (a.merge(&b).unwrap(), b.merge(&a).unwrap());
        assert_eq!(ab.cells()[0].min.to_bits(), ba.cells()[0].min.to_bits());
    }

    #[test]
    fn abs_quantiles_within_relative_error() {
        let rows = 1501;
        let (v, cells) = block(rows, 47);
        let s = Sketch::from_block(&v, rows, cells, ALPHA).unwrap();
        let q = s.quantiles(&PROBS, true).unwrap();
        for j in 0..cells {
            let col: Vec<f64> = v[j * rows..(j + 1) * rows].iter().map(|x| x.abs()).collect();
            for (k, &p) in PROBS.iter().enumerate() {
                let t = exact(&col, p);
                assert!(within_cell(q[[j, k]], t, ALPHA, top_of(&col)), "cell {j} p {p}: {} vs {t}", q[[j, k]]);
            }
        }
        // an all-negative cell: |x| is bounded below by |max|
        let col: Vec<f64> = v[3 * rows..4 * rows].iter().map(|x| x.abs()).collect();
        assert_eq!(q[[3, 0]], exact(&col, 0.0));
        assert_eq!(q[[3, PROBS.len() - 1]], exact(&col, 1.0));
    }

    #[test]
    fn errors() {
        let e = Sketch::from_block(&[1.0, 2.0, f64::NAN, 4.0], 2, 2, ALPHA).unwrap_err();
        assert_eq!(e.kind(), "data");
        assert!(e.to_string().contains("cell 2 (row 1)"), "{e}");
        assert!(Sketch::from_block(&[1.0, f64::INFINITY], 2, 1, ALPHA).is_err());
        assert_eq!(Sketch::from_block(&[1.0; 5], 2, 2, ALPHA).unwrap_err().kind(), "argument");
        let a = Sketch::from_block(&[1.0, 2.0], 1, 2, ALPHA).unwrap();
        let b = Sketch::from_block(&[1.0, 2.0], 1, 2, 0.01).unwrap();
        let c = Sketch::from_block(&[1.0], 1, 1, ALPHA).unwrap();
        assert_eq!(a.merge(&b).unwrap_err().kind(), "argument");
        assert_eq!(a.merge(&c).unwrap_err().kind(), "argument");
        assert!(a.quantiles(&[1.5], false).is_err());
        assert!(a.quantiles(&[f64::NAN], false).is_err());
    }

    /// Values over 40 decades: the cell keeps at most `2 span + 1` buckets, and
    /// adding the values block by block in place gives the same sketch as one block,
    /// as merging the blocks' sketches does.
    #[test]
    fn buckets_are_bounded_and_absorbing_equals_merging() {
        let mut r = Rng::new(5);
        let rows = 4000;
        let v: Vec<f64> = (0..rows).map(|_| 10f64.powf(r.uniform() * 40.0 - 30.0) * if r.uniform() < 0.5 { -1.0 } else { 1.0 }).collect();
        let whole = Sketch::from_block(&v, rows, 1, ALPHA).unwrap();
        let span = KeyMap::new(ALPHA).unwrap().span as usize;
        let n = whole.cells()[0].buckets.len();
        assert!(n <= 2 * span + 1, "{n} buckets for a span of {span}");
        // without the floor the cell would have many more distinct keys
        let map = KeyMap::new(ALPHA).unwrap();
        let mut raw: Vec<i32> = v.iter().map(|&x| map.key(x)).collect();
        raw.sort_unstable();
        raw.dedup();
        assert!(raw.len() > 2 * span + 1 && n < raw.len() / 2, "{n} buckets of {} distinct keys", raw.len());
        let mut acc = Sketch::from_block(&v[..250], 250, 1, ALPHA).unwrap();
        let mut merged = acc.clone();
        for k in 1..16 {
            let part = &v[k * 250..(k + 1) * 250];
            acc.absorb_block(part, 250, 1).unwrap();
            merged = merged.merge(&Sketch::from_block(part, 250, 1, ALPHA).unwrap()).unwrap();
        }
        assert_same(&acc, &whole);
        assert_same(&merged, &whole);
        // a collapsed sketch passes the consistency checks of from_parts
        let back = Sketch::from_parts(ALPHA, whole.cells().to_vec()).unwrap();
        assert_eq!(back, whole);
        // errors leave the sketch untouched
        let before = acc.clone();
        assert!(acc.absorb_block(&[1.0, f64::NAN], 2, 1).is_err());
        assert!(acc.absorb_block(&[1.0, 2.0], 1, 2).is_err());
        assert_eq!(acc, before);
    }

    #[test]
    fn parts_round_trip_and_validation() {
        let rows = 300;
        let (v, cells) = block(rows, 3);
        let s = Sketch::from_block(&v, rows, cells, ALPHA).unwrap();
        assert_eq!(Sketch::from_parts(ALPHA, s.cells().to_vec()).unwrap(), s);
        let broken = |f: &dyn Fn(&mut CellSketch)| {
            let mut cs = s.cells().to_vec();
            f(&mut cs[1]);
            Sketch::from_parts(ALPHA, cs).unwrap_err()
        };
        assert!(broken(&|c| c.count += 1).to_string().contains("cell 2"));
        assert!(broken(&|c| c.buckets.swap(0, 1)).to_string().contains("bucket_key"));
        assert!(broken(&|c| c.buckets[0].1 = 0).to_string().contains("bucket_n"));
        assert!(broken(&|c| c.min = c.max + 1.0).to_string().contains("min"));
        assert!(broken(&|c| c.max = 1e6).to_string().contains("max"));
        assert!(broken(&|c| c.sum = f64::NAN).to_string().contains("sum"));
        assert!(broken(&|c| c.buckets[0].0 = i32::MIN + 1).to_string().contains("out of range"));
    }

    #[test]
    fn counts_stay_within_the_cell_limit() {
        // one cell of MAX_CELL_COUNT - 1 values, all in one bucket: built from parts,
        // since that many values would take minutes to add
        let mut big = Sketch::from_block(&[1.0], 1, 1, ALPHA).unwrap().cells()[0].clone();
        big.count = MAX_CELL_COUNT - 1;
        big.buckets[0].1 = (MAX_CELL_COUNT - 1) as BucketCount;
        big.sum = big.count as f64;
        let mut s = Sketch::from_parts(ALPHA, vec![big.clone()]).unwrap();
        // one more value fits; the next block and any merge beyond the limit are errors
        s.absorb_block(&[1.0], 1, 1).unwrap();
        assert_eq!(s.cells()[0].buckets[0].1 as u64, MAX_CELL_COUNT);
        let before = s.clone();
        assert!(s.absorb_block(&[1.0], 1, 1).unwrap_err().to_string().contains("at most"));
        assert_eq!(s, before);
        let one = Sketch::from_block(&[1.0], 1, 1, ALPHA).unwrap();
        assert!(s.merge(&one).unwrap_err().to_string().contains("at most"));
        let mut over = big;
        over.count = MAX_CELL_COUNT + 1;
        assert!(Sketch::from_parts(ALPHA, vec![over]).unwrap_err().to_string().contains("more than"));
    }

    #[test]
    fn in_place_merge_of_runs_matches_a_sorted_union() {
        let mut r = Rng::new(11);
        let mut cell = CellSketch::empty();
        let mut reference: std::collections::BTreeMap<i32, u64> = Default::default();
        for _ in 0..50 {
            let mut runs: Vec<(i32, BucketCount)> = Vec::new();
            let mut k = -40 + (r.uniform() * 10.0) as i32;
            for _ in 0..(r.uniform() * 12.0) as usize {
                k += 1 + (r.uniform() * 5.0) as i32;
                runs.push((k, 1 + (r.uniform() * 3.0) as BucketCount));
            }
            for &(k, n) in &runs {
                *reference.entry(k).or_default() += n as u64;
            }
            cell.merge_runs(&runs);
            let want: Vec<(i32, BucketCount)> = reference.iter().map(|(&k, &n)| (k, n as BucketCount)).collect();
            assert_eq!(cell.buckets, want);
            assert_eq!(cell.buckets.capacity(), cell.buckets.len(), "grows by exactly the new keys");
        }
    }
}
