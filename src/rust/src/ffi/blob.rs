//! R weight arrays → one safetensors byte vector, streamed tensor by tensor.
//!
//! The blob is what a converter keeps of its weights (see `model.rs`). It is written
//! straight from R's memory into the R raw vector: no whole-model copy in between
//! (VGG19's 144 million weights would otherwise exist as R doubles, as a row-major
//! f64 copy, as encoded bytes and as the raw vector at once, about 3.5 GB).

use super::convert::{r_dims, raw_vector};
use super::error::{guarded, to_r};
use extendr_api::prelude::*;
use innsight_core::io::tensors::{header, TableRow};
use innsight_core::io::Dtype;
use innsight_core::layout::{f_chunk_to_c_order, f_to_c_order};
use innsight_core::{Error as CoreError, Result as CoreResult};
use rayon::prelude::*;
use std::collections::BTreeMap;
type RResult<T> = std::result::Result<T, extendr_api::Error>;

/// `"float"` → F32, `"double"` → F64.
pub fn blob_dtype(dtype: &str) -> CoreResult<Dtype> {
    match dtype {
        "float" => Ok(Dtype::F32),
        "double" => Ok(Dtype::F64),
        other => Err(CoreError::Argument(format!("`dtype` must be \"float\" or \"double\", got \"{other}\""))),
    }
}

/// An error unless every value of weight `name` is finite.
fn check_finite(name: &str, data: &[f64]) -> CoreResult<()> {
    if data.par_iter().any(|v| !v.is_finite()) {
        return Err(CoreError::Spec(format!("weight `{name}` contains missing or non-finite values")));
    }
    Ok(())
}

/// The indices of `names` in name order (the blob's); an error if a name repeats.
fn name_order<S: AsRef<str>>(names: &[S]) -> CoreResult<Vec<usize>> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].as_ref().cmp(names[b].as_ref()));
    if let Some(w) = order.windows(2).find(|w| names[w[0]].as_ref() == names[w[1]].as_ref()) {
        return Err(CoreError::Argument(format!("two tensors are named `{}`", names[w[0]].as_ref())));
    }
    Ok(order)
}

/// One named R double array, borrowed.
pub struct RTensor<'a> {
    pub name: &'a str,
    pub data: &'a [f64],
    pub dims: Vec<usize>,
}

/// Borrow every entry of `named` (name, R array) as a tensor, sorted by name as the
/// safetensors header lists them. Rejects non-double entries, non-finite values and
/// repeated names.
pub fn r_tensors<'a>(named: &'a [(String, extendr_api::Robj)]) -> CoreResult<Vec<RTensor<'a>>> {
    let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = Vec::with_capacity(named.len());
    for i in name_order(&names)? {
        let (name, value) = &named[i];
        let data = value
            .as_real_slice()
            .ok_or_else(|| CoreError::Data(format!("`{name}` must be a numeric (double) array")))?;
        check_finite(name, data)?;
        out.push(RTensor { name, data, dims: r_dims(value) });
    }
    Ok(out)
}

/// Whether every value of every tensor is a single-precision number.
pub fn all_single(tensors: &[RTensor]) -> bool {
    tensors.iter().all(|t| t.data.par_iter().all(|&v| (v as f32) as f64 == v))
}

/// The blob's layout: header bytes, total length and the tensor table.
pub struct BlobPlan {
    pub header: Vec<u8>,
    pub total: usize,
    pub dtype: Dtype,
    offsets: Vec<usize>,
}

/// An error unless every value fits single precision's range.
pub fn check_single_range(name: &str, data: &[f64]) -> CoreResult<()> {
    let max = data.par_iter().fold(|| 0.0f64, |m, v| m.max(v.abs())).reduce(|| 0.0, f64::max);
    if (max as f32).is_infinite() {
        return Err(CoreError::Argument(format!(
            "tensor `{name}` holds values beyond single precision's range; use double precision (`dtype = \"double\"`)"
        )));
    }
    Ok(())
}

/// Plan the blob of `tensors` (from [`r_tensors`]) stored as `dtype`.
pub fn plan_tensors(tensors: &[RTensor], dtype: Dtype) -> CoreResult<BlobPlan> {
    if dtype == Dtype::F32 {
        for t in tensors {
            check_single_range(t.name, t.data)?;
        }
    }
    let entries: Vec<(&str, &[usize])> = tensors.iter().map(|t| (t.name, t.dims.as_slice())).collect();
    plan(&entries, dtype)
}

/// Plan a blob of tensors (names in header order, dims) stored as `dtype`.
pub fn plan(entries: &[(&str, &[usize])], dtype: Dtype) -> CoreResult<BlobPlan> {
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
        _ => return Err(CoreError::Internal("weight blobs are F32 or F64".into())),
    };
    let mut offsets = Vec::with_capacity(entries.len() + 1);
    let mut at = 0;
    offsets.push(0);
    for (_, dims) in entries {
        at += dims.iter().product::<usize>() * width;
        offsets.push(at);
    }
    let table: Vec<TableRow> =
        entries.iter().enumerate().map(|(i, (name, dims))| (*name, dtype, *dims, offsets[i], offsets[i + 1])).collect();
    let header = header(&table, &BTreeMap::new())?;
    Ok(BlobPlan { total: header.len() + at, header, dtype, offsets })
}

impl BlobPlan {
    /// The byte range of tensor `i` (blob order) within the blob.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.header.len() + self.offsets[i]..self.header.len() + self.offsets[i + 1]
    }

    /// Fill `out` (`self.total` bytes): the header, then each tensor's values in
    /// row-major order, little-endian.
    pub fn write(&self, tensors: &[RTensor], out: &mut [u8]) -> CoreResult<()> {
        if out.len() != self.total {
            return Err(CoreError::Internal("weight blob of the wrong size".into()));
        }
        let (head, data) = out.split_at_mut(self.header.len());
        head.copy_from_slice(&self.header);
        for (i, t) in tensors.iter().enumerate() {
            let bytes = &mut data[self.offsets[i]..self.offsets[i + 1]];
            match self.dtype {
                Dtype::F32 => f_to_c_order(typed_mut::<f32>(bytes)?, t.data, &t.dims, |v| v as f32),
                _ => f_to_c_order(typed_mut::<f64>(bytes)?, t.data, &t.dims, |v| v),
            }
        }
        Ok(())
    }
}

/// A weight blob filled piece by piece from R (internal): for weights R draws in
/// chunks (random initialisation), so that no tensor ever exists whole as R doubles.
/// @noRd
#[extendr]
pub struct BlobBuilder {
    raw: Robj,
    plan: BlobPlan,
    /// names and dims in blob (name) order
    names: Vec<String>,
    dims: Vec<Vec<usize>>,
    filled: Vec<usize>,
    /// the caller's tensor index -> its slot in blob order
    slot_of: Vec<usize>,
}

fn internal(msg: impl Into<String>) -> Error {
    Error::Other(super::error::tagged(&CoreError::Internal(msg.into())))
}

/// `bytes` as a slice of `T` (little-endian, aligned: the blob's layout makes it so).
fn typed_mut<T>(bytes: &mut [u8]) -> CoreResult<&mut [T]> {
    // SAFETY: f32/f64 have no invalid bit patterns; `align_to_mut` only yields a
    // middle part of properly aligned, fully covered values.
    let (pre, mid, post) = unsafe { bytes.align_to_mut::<T>() };
    if !pre.is_empty() || !post.is_empty() || cfg!(target_endian = "big") {
        return Err(CoreError::Internal("misaligned weight blob".into()));
    }
    Ok(mid)
}

#[extendr]
impl BlobBuilder {
    /// A blob for tensors `names` with `dims` (list of numeric vectors) stored as
    /// `dtype` (`"float"`: F32, `"double"`: F64), allocated at once.
    fn new(names: Strings, dims: List, dtype: &str) -> RResult<Self> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let dims: Vec<Vec<usize>> = dims
            .values()
            .map(|d| d.as_real_vector().or_else(|| d.as_integer_vector().map(|v| v.iter().map(|&x| x as f64).collect())))
            .map(|d| d.unwrap_or_default().iter().map(|&v| v.max(0.0) as usize).collect())
            .collect();
        let (plan, order) = to_r(guarded(|| {
            let dt = blob_dtype(dtype)?;
            if names.len() != dims.len() {
                return Err(CoreError::Internal("one shape per tensor name".into()));
            }
            let order = name_order(&names)?;
            let entries: Vec<(&str, &[usize])> = order.iter().map(|&i| (names[i].as_str(), dims[i].as_slice())).collect();
            Ok((plan(&entries, dt)?, order))
        }))?;
        let raw = raw_vector(plan.total, |out| {
            out[..plan.header.len()].copy_from_slice(&plan.header);
            Ok(())
        })?;
        let mut slot_of = vec![0; order.len()];
        for (slot, &i) in order.iter().enumerate() {
            slot_of[i] = slot;
        }
        Ok(BlobBuilder {
            raw,
            plan,
            names: order.iter().map(|&i| names[i].clone()).collect(),
            dims: order.iter().map(|&i| dims[i].clone()).collect(),
            filled: vec![0; order.len()],
            slot_of,
        })
    }

    /// Write `values` (column-major, R's order) at positions `start`, `start + 1`,
    /// ... (0-based) of tensor `index` (1-based, in the order of `names`).
    fn fill(&mut self, index: i32, start: f64, values: Robj) -> RResult<()> {
        let data = values.as_real_slice().ok_or_else(|| internal("weight values must be doubles"))?;
        let k = *self.slot_of.get((index as usize).wrapping_sub(1)).ok_or_else(|| internal("no such tensor"))?;
        let n: usize = self.dims[k].iter().product();
        let start = start.max(0.0) as usize;
        let name = &self.names[k];
        to_r(guarded(|| {
            if start + data.len() > n {
                return Err(CoreError::Internal(format!("values beyond the end of tensor `{name}`")));
            }
            check_finite(name, data)?;
            if self.plan.dtype == Dtype::F32 {
                check_single_range(name, data)?;
            }
            Ok(())
        }))?;
        let range = self.plan.range(k);
        let dims = &self.dims[k];
        let dtype = self.plan.dtype;
        let bytes = &mut self.raw.as_raw_slice_mut().ok_or_else(|| internal("weight blob lost"))?[range];
        to_r(guarded(|| {
            match dtype {
                Dtype::F32 => f_chunk_to_c_order(typed_mut::<f32>(bytes)?, dims, start, data, |v| v as f32),
                _ => f_chunk_to_c_order(typed_mut::<f64>(bytes)?, dims, start, data, |v| v),
            }
            Ok(())
        }))?;
        self.filled[k] += data.len();
        Ok(())
    }

    /// The finished blob; an error if any tensor was not filled completely.
    fn finish(&self) -> RResult<Robj> {
        for (k, d) in self.dims.iter().enumerate() {
            if self.filled[k] != d.iter().product::<usize>() {
                return Err(internal(format!("tensor `{}` was not filled", self.names[k])));
            }
        }
        Ok(self.raw.clone())
    }
}

extendr_module! {
    mod blob;
    impl BlobBuilder;
}
