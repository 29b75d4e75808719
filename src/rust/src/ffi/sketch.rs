//! Quantile sketches of data set summaries (`innsight_core::sketch`) as plain R
//! lists: a sketch is sent between `future` workers and saved with the method, and
//! an external pointer would survive neither.
//!
//! The list: `alpha` (double), `cells` (integer), per cell the doubles `count`,
//! `sum`, `sum_abs`, `sum_sq`, `min`, `max` (`min`/`max` NA for an empty cell), and
//! the buckets of all cells in one raw vector `buckets`: per cell, the number of
//! its buckets, then per bucket its key and its count, all as LEB128 varints (the
//! first key of a cell zigzag-coded, every further key as the step from the one
//! before, which is positive since keys increase). Neighbouring keys mostly differ
//! by one and most counts are small, so a bucket takes two or three bytes instead
//! of sixteen as three R vectors: the summary of a large data set is that much
//! smaller to keep, save and send to workers. `sketch_buckets()` decodes it.
//! A list read back is checked field by field, since it may come from a file.

use super::error::{arg_err, guarded, tagged, to_r};
use extendr_api::prelude::*;
use innsight_core::sketch::{BucketCount, CellSketch, Sketch};
use innsight_core::{Error as CoreError, Result as CoreResult};
type RResult<T> = std::result::Result<T, extendr_api::Error>;

/// Counts cross as doubles: R integers stop at 2^31, doubles are exact to 2^53.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

fn malformed(msg: String) -> CoreError {
    CoreError::Data(format!("malformed sketch: {msg}"))
}

fn field(l: &List, name: &str) -> CoreResult<Robj> {
    l.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| malformed(format!("the field `{name}` is missing")))
}

/// A numeric field as doubles (integers are accepted: a list may have been edited).
fn doubles(l: &List, name: &str) -> CoreResult<Vec<f64>> {
    let v = field(l, name)?;
    if let Some(s) = v.as_real_slice() {
        return Ok(s.to_vec());
    }
    if let Some(s) = v.as_integer_slice() {
        return Ok(s.iter().map(|&i| if i == i32::MIN { f64::NAN } else { i as f64 }).collect());
    }
    Err(malformed(format!("the field `{name}` must be a numeric vector")))
}

/// An integer field (whole doubles are accepted, for the same reason).
fn integers(l: &List, name: &str) -> CoreResult<Vec<i32>> {
    let v = field(l, name)?;
    if let Some(s) = v.as_integer_slice() {
        if s.contains(&i32::MIN) {
            return Err(malformed(format!("the field `{name}` has missing values")));
        }
        return Ok(s.to_vec());
    }
    if let Some(s) = v.as_real_slice() {
        return s
            .iter()
            .map(|&x| {
                if x.fract() == 0.0 && x.abs() <= i32::MAX as f64 {
                    Ok(x as i32)
                } else {
                    Err(malformed(format!("the field `{name}` must hold whole numbers, not {x}")))
                }
            })
            .collect();
    }
    Err(malformed(format!("the field `{name}` must be an integer vector")))
}

fn count_of(x: f64, what: &str) -> CoreResult<u64> {
    if (0.0..=MAX_EXACT).contains(&x) && x.fract() == 0.0 {
        Ok(x as u64)
    } else {
        Err(malformed(format!("`{what}` must hold non-negative whole numbers, not {x}")))
    }
}

fn sketch_from_r(x: &Robj, what: &str) -> CoreResult<Sketch> {
    let l = List::try_from(x.clone()).map_err(|_| malformed(format!("`{what}` must be a list")))?;
    let alpha = match doubles(&l, "alpha")?.as_slice() {
        [a] => *a,
        _ => return Err(malformed("the field `alpha` must be a single number".into())),
    };
    let cells = match integers(&l, "cells")?.as_slice() {
        [c] if *c >= 0 => *c as usize,
        _ => return Err(malformed("the field `cells` must be a single non-negative integer".into())),
    };
    let per_cell = |name: &str| -> CoreResult<Vec<f64>> {
        let v = doubles(&l, name)?;
        if v.len() != cells {
            return Err(malformed(format!("the field `{name}` has {} values for {cells} cells", v.len())));
        }
        Ok(v)
    };
    let (count, sum, sum_abs, sum_sq) = (per_cell("count")?, per_cell("sum")?, per_cell("sum_abs")?, per_cell("sum_sq")?);
    let (min, max) = (per_cell("min")?, per_cell("max")?);
    let bytes = field(&l, "buckets")?;
    let bytes = bytes.as_raw_slice().ok_or_else(|| malformed("the field `buckets` must be a raw vector".into()))?;
    let mut r = Reader { bytes, at: 0 };
    let mut out = Vec::with_capacity(cells);
    for j in 0..cells {
        let n = count_of(count[j], "count")?;
        // an empty cell has no extremes: NA in R, the neutral elements in the core
        let (lo, hi) = if n == 0 && min[j].is_nan() && max[j].is_nan() { (f64::INFINITY, f64::NEG_INFINITY) } else { (min[j], max[j]) };
        let buckets = r.cell(j)?;
        out.push(CellSketch { count: n, sum: sum[j], sum_abs: sum_abs[j], sum_sq: sum_sq[j], min: lo, max: hi, buckets });
    }
    if r.at != bytes.len() {
        return Err(malformed(format!("the field `buckets` has {} bytes after the last cell", bytes.len() - r.at)));
    }
    // the core checks the rest: key order and range, counts against buckets, extremes
    Sketch::from_parts(alpha, out)
}

fn push_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One cell's buckets in the `buckets` format (module notes).
fn encode_cell(buckets: &[(i32, BucketCount)], out: &mut Vec<u8>) {
    push_varint(buckets.len() as u64, out);
    let mut prev: Option<i32> = None;
    for &(k, n) in buckets {
        match prev {
            // zigzag: small magnitudes of either sign take few bytes
            None => push_varint(((k << 1) ^ (k >> 31)) as u32 as u64, out),
            Some(p) => push_varint((k as i64 - p as i64) as u64, out),
        }
        push_varint(n as u64, out);
        prev = Some(k);
    }
}

/// Reads the `buckets` raw vector cell by cell, checking every step: the bytes
/// may come from a file.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self, cell: usize) -> CoreResult<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at).ok_or_else(|| {
                malformed(format!("the field `buckets` ends inside cell {}", cell + 1))
            })?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed(format!("the field `buckets` has an overlong number in cell {}", cell + 1)))
    }

    fn cell(&mut self, cell: usize) -> CoreResult<Vec<(i32, BucketCount)>> {
        let bad = |what: &str| malformed(format!("the field `buckets` has {what} in cell {}", cell + 1));
        let n = self.varint(cell)?;
        // every bucket takes at least two bytes: a count beyond that is not a sketch
        // (and must not size an allocation)
        if n > ((self.bytes.len() - self.at) / 2) as u64 {
            return Err(bad("more buckets than bytes"));
        }
        let mut out = Vec::with_capacity(n as usize);
        let mut prev: Option<i64> = None;
        for _ in 0..n {
            let raw = self.varint(cell)?;
            let key = match prev {
                None => {
                    let z = u32::try_from(raw).map_err(|_| bad("a key out of range"))?;
                    ((z >> 1) as i32 ^ -((z & 1) as i32)) as i64
                }
                Some(_) if raw == 0 => return Err(bad("keys that do not increase")),
                Some(p) => p + raw.min(u32::MAX as u64 + 1) as i64,
            };
            let key = i32::try_from(key).map_err(|_| bad("a key out of range"))?;
            let count = BucketCount::try_from(self.varint(cell)?).map_err(|_| bad("a bucket count out of range"))?;
            out.push((key, count));
            prev = Some(key as i64);
        }
        Ok(out)
    }
}

fn sketch_to_r(s: &Sketch) -> RResult<List> {
    let cells = s.cells();
    let n_cells = i32::try_from(cells.len()).map_err(|_| extendr_api::Error::Other(tagged(&arg_err("a sketch of more than 2^31 cells cannot be an R list"))))?;
    let per = |f: fn(&CellSketch) -> f64| cells.iter().map(f).collect::<Vec<f64>>();
    let na = <f64 as CanBeNA>::na();
    let mut buckets: Vec<u8> = Vec::new();
    for c in cells {
        encode_cell(&c.buckets, &mut buckets);
    }
    Ok(list!(
        alpha = s.alpha(),
        cells = n_cells,
        count = per(|c| c.count as f64),
        sum = per(|c| c.sum),
        sum_abs = per(|c| c.sum_abs),
        sum_sq = per(|c| c.sum_sq),
        min = cells.iter().map(|c| if c.count == 0 { na } else { c.min }).collect::<Vec<f64>>(),
        max = cells.iter().map(|c| if c.count == 0 { na } else { c.max }).collect::<Vec<f64>>(),
        buckets = Raw::from_bytes(&buckets)
    ))
}

fn single_number(x: &Robj, what: &str) -> CoreResult<f64> {
    match (x.as_real_slice(), x.as_integer_slice()) {
        (Some([v]), _) => Ok(*v),
        (_, Some([v])) if *v != i32::MIN => Ok(*v as f64),
        _ => Err(arg_err(format!("`{what}` must be a single number"))),
    }
}

/// Sketch a block of values: rows along the first axis, one cell per position of
/// the other axes (in R's column-major order); a vector is a single cell.
/// @param values A numeric matrix or array.
/// @param alpha Relative accuracy of the quantiles, in (0, 1).
/// @noRd
#[extendr]
fn sketch_block(values: Robj, alpha: Robj) -> RResult<List> {
    let s = to_r(guarded(|| block_sketch(&values, single_number(&alpha, "alpha")?)))?;
    sketch_to_r(&s)
}

fn block_sketch(values: &Robj, alpha: f64) -> CoreResult<Sketch> {
    with_block(values, |data, rows, cells| Sketch::from_block(data, rows, cells, alpha))
}

/// Call `f(values, rows, cells)` on an R block (rows along the first axis).
fn with_block<R>(values: &Robj, f: impl FnOnce(&[f64], usize, usize) -> CoreResult<R>) -> CoreResult<R> {
    let dims = super::convert::r_dims(values);
    let rows = dims.first().copied().unwrap_or(0);
    let cells: usize = dims.iter().skip(1).product();
    let converted;
    let data: &[f64] = match (values.as_real_slice(), values.as_integer_slice()) {
        (Some(s), _) => s,
        (_, Some(s)) => {
            converted = s.iter().map(|&i| if i == i32::MIN { f64::NAN } else { i as f64 }).collect::<Vec<f64>>();
            &converted
        }
        _ => return Err(CoreError::Data("the values to sketch must be a numeric matrix or array".into())),
    };
    f(data, rows, cells)
}

/// A sketch that stays in Rust while one process adds its chunks: converting the
/// growing sketch to an R list and back for every chunk cost more memory (and
/// time) than the chunks themselves. It becomes a list once, to travel.
/// @noRd
#[extendr]
pub struct SketchAccumulator {
    alpha: f64,
    sketch: Option<Sketch>,
}

#[extendr]
impl SketchAccumulator {
    /// An empty accumulator of accuracy `alpha`.
    fn new(alpha: Robj) -> RResult<Self> {
        let alpha = to_r(single_number(&alpha, "alpha"))?;
        // checks alpha now rather than at the first block
        to_r(Sketch::from_block(&[], 0, 0, alpha))?;
        Ok(SketchAccumulator { alpha, sketch: None })
    }

    /// Add the sketch of a block (as `sketch_block()` takes it).
    fn add_block(&mut self, values: Robj) -> RResult<()> {
        let alpha = self.alpha;
        match &mut self.sketch {
            None => self.sketch = Some(to_r(guarded(|| block_sketch(&values, alpha)))?),
            // in place: the sketch is not copied for every chunk
            Some(acc) => to_r(guarded(|| with_block(&values, |data, rows, cells| acc.absorb_block(data, rows, cells))))?,
        }
        Ok(())
    }

    /// The sketch so far as a list (`sketch_block()`'s format).
    fn to_list(&self) -> RResult<List> {
        match &self.sketch {
            Some(s) => sketch_to_r(s),
            None => Err(extendr_api::Error::Other(super::error::tagged(&CoreError::Internal("the accumulator holds no block yet".into())))),
        }
    }
}

/// The sketch of the union of two parts (same `alpha` and cells).
/// @noRd
#[extendr]
fn sketch_merge(a: Robj, b: Robj) -> RResult<List> {
    let s = to_r(guarded(|| sketch_from_r(&a, "a")?.merge(&sketch_from_r(&b, "b")?)))?;
    sketch_to_r(&s)
}

/// Quantiles per cell: a cells x probs matrix (NA for an empty cell).
/// @param abs Quantiles of the absolute values.
/// @noRd
#[extendr]
fn sketch_quantiles(s: Robj, probs: Robj, abs: Robj) -> RResult<Robj> {
    let q = to_r(guarded(|| {
        let probs: Vec<f64> = match (probs.as_real_slice(), probs.as_integer_slice()) {
            (Some(p), _) => p.to_vec(),
            (_, Some(p)) => p.iter().map(|&i| if i == i32::MIN { f64::NAN } else { i as f64 }).collect(),
            _ => return Err(arg_err("`probs` must be a numeric vector")),
        };
        let abs = match abs.as_logical_slice() {
            Some([b]) if !b.is_na() => b.is_true(),
            _ => return Err(arg_err("`abs` must be TRUE or FALSE")),
        };
        sketch_from_r(&s, "s")?.quantiles(&probs, abs)
    }))?;
    let (n, p) = q.dim();
    let na = <f64 as CanBeNA>::na();
    // R's matrices are column-major; an empty cell's NaN becomes NA
    let m = RMatrix::new_matrix(n, p, |r, c| if q[[r, c]].is_nan() { na } else { q[[r, c]] });
    Ok(m.into())
}

/// The buckets of a sketch list as a list of `cell` (1-based), `key` (the
/// core's signed key) and `n`, sorted by cell, then key: for tests and for
/// looking inside a summary.
/// @noRd
#[extendr]
fn sketch_buckets(s: Robj) -> RResult<List> {
    let s = to_r(guarded(|| sketch_from_r(&s, "s")))?;
    let (mut cell, mut key, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for (j, c) in s.cells().iter().enumerate() {
        for &(k, m) in &c.buckets {
            cell.push(j as i32 + 1);
            key.push(k);
            n.push(m as f64);
        }
    }
    Ok(list!(cell = cell, key = key, n = n))
}

extendr_module! {
    mod sketch;
    impl SketchAccumulator;
    fn sketch_block;
    fn sketch_buckets;
    fn sketch_merge;
    fn sketch_quantiles;
}
