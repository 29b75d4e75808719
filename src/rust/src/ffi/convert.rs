//! The only place that knows R's memory layout.
//!
//! R arrays are column-major doubles with a `dim` attribute; the core wants row-major
//! `[B, C, ...]` tensors. Data in the caller's channels-last layout (`[B, ..., C]`)
//! is permuted to channels first on the way in, and results are permuted back on the
//! way out. Each direction copies exactly once.

use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::{Error as CoreError, Result as CoreResult, Scalar};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, ShapeBuilder};

/// The dims of an R vector (its length when it has no `dim`).
pub fn r_dims(x: &Robj) -> Vec<usize> {
    match x.get_attrib("dim").as_ref().and_then(|d| d.as_integer_slice()) {
        Some(d) => d.iter().map(|&v| v.max(0) as usize).collect(),
        None => vec![x.len()],
    }
}

/// A column-major view of an R double array.
fn r_view<'a>(x: &'a Robj, what: &str) -> CoreResult<ArrayViewD<'a, f64>> {
    let data = x
        .as_real_slice()
        .ok_or_else(|| CoreError::Data(format!("`{what}` must be a numeric (double) array")))?;
    let dims = r_dims(x);
    ArrayViewD::from_shape(IxDyn(&dims).f(), data).map_err(|e| CoreError::Data(format!("`{what}`: {e}")))
}

/// R array `(B, d1, ..., dk)` → core tensor `[B, C, ...]`. With `channels_last`, the
/// last R axis is the channel axis and moves to position 1. Rejects NA/NaN/Inf.
pub fn tensor_from_r<T: Scalar>(x: &Robj, channels_last: bool, what: &str) -> CoreResult<ArrayD<T>> {
    let view = r_view(x, what)?;
    let bad = x.as_real_slice().map_or(0, |s| s.iter().filter(|v| !v.is_finite()).count());
    if bad > 0 {
        return Err(CoreError::Data(format!("`{what}` contains {bad} missing or non-finite value(s) (NA, NaN or Inf)")));
    }
    let n = view.ndim();
    let view = if channels_last && n > 2 {
        let mut perm: Vec<usize> = (0..n).collect();
        perm[1..].rotate_right(1);
        view.permuted_axes(perm)
    } else {
        view
    };
    let mut out = ArrayD::<T>::zeros(view.raw_dim());
    out.zip_mut_with(&view, |o, &v| *o = T::of(v));
    Ok(out)
}

/// R array of any rank → row-major `f64` tensor with the same dims (weights).
pub fn weight_from_r(x: &Robj, what: &str) -> CoreResult<ArrayD<f64>> {
    let view = r_view(x, what)?;
    // scan R's memory in its own order: iterating the column-major view in logical
    // order strides through memory (a third of VGG19's build time)
    if x.as_real_slice().is_some_and(|s| s.iter().any(|v| !v.is_finite())) {
        return Err(CoreError::Spec(format!("weight `{what}` contains missing or non-finite values")));
    }
    Ok(view.as_standard_layout().into_owned())
}

/// Copy a (permuted) view into a new R double array with the view's dims.
pub fn view_to_r<T: Scalar>(a: &ArrayViewD<T>) -> RResult<Robj> {
    let dims: Vec<usize> = a.shape().to_vec();
    let mut robj: Robj = Doubles::new(a.len()).into();
    {
        let slice = robj.as_real_slice_mut().ok_or_else(|| Error::Other("cannot allocate result".into()))?;
        let mut dst = ArrayViewMutD::from_shape(IxDyn(&dims).f(), slice).map_err(|e| Error::Other(e.to_string()))?;
        dst.zip_mut_with(a, |o, &v| *o = v.as_f64());
    }
    let dim_attr: Vec<i32> = dims.iter().map(|&d| d as i32).collect();
    robj.set_attrib("dim", dim_attr)?;
    Ok(robj)
}

/// Attribution `[S, B, C, ...]` → R array `(B, C, ..., S)`, or `(B, ..., C, S)` with
/// `channels_last`.
pub fn attribution_to_r<T: Scalar>(a: &ArrayD<T>, channels_last: bool) -> RResult<Robj> {
    let n = a.ndim();
    let mut perm: Vec<usize> = (1..n).collect();
    if channels_last && n > 3 {
        perm[1..].rotate_left(1);
    }
    perm.push(0);
    view_to_r(&a.view().permuted_axes(perm))
}

/// A raw vector of `len` bytes filled by `fill`. R allocates it without zeroing, so
/// each page is first touched by `fill` (large weight blobs: that first touch is
/// most of the cost of making them).
pub fn raw_vector(len: usize, fill: impl FnOnce(&mut [u8]) -> CoreResult<()>) -> RResult<Robj> {
    let mut raw = Robj::alloc_vector(extendr_api::rtype_to_sxp(Rtype::Raw), len);
    let out = raw.as_raw_slice_mut().ok_or_else(|| Error::Other("cannot allocate a raw vector".into()))?;
    super::error::to_r(super::error::guarded(|| fill(out)))?;
    Ok(raw)
}
