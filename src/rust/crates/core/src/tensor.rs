//! Layout conventions, written down once.
//!
//! * Tensors are `ndarray::ArrayD<T>` in row-major (C) order.
//! * Forward activations are batch first and channels first: `[B, F]` (tabular),
//!   `[B, C, L]` (signal), `[B, C, H, W]` (image). A *shape* ([`Shape`]) never includes
//!   the batch axis.
//! * Backward signals carry the selected model outputs as an extra **leading** axis:
//!   `[S, B, ...]`. All selected outputs travel backwards in one pass, and each
//!   output's slab stays contiguous. Elementwise factors of shape `[B, ...]` broadcast
//!   against such a signal without copies.
//! * The caller's layout (R's column-major order, channels last) is handled at the
//!   boundary (the binding crate), never inside layers.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// A tensor shape without the batch axis.
pub type Shape = Vec<usize>;

/// Number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Format a shape as innsight prints it: `(*, 3, 32, 32)`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("(*, {})", inner.join(", "))
}

/// View `x` with its first `n` axes merged into one (x must be in standard layout).
pub fn merge_leading<'a, T: Scalar>(x: &'a ArrayViewD<'a, T>, n: usize) -> Result<ArrayViewD<'a, T>> {
    let sh = x.shape();
    let lead: usize = sh[..n].iter().product();
    let mut new_shape = vec![lead];
    new_shape.extend_from_slice(&sh[n..]);
    x.view()
        .into_shape_with_order(IxDyn(&new_shape))
        .map_err(|e| Error::Internal(format!("merge_leading: {e}")))
}

/// Reshape an owned array (copying only when it is not in standard layout).
pub fn reshape<T: Scalar>(x: ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>> {
    let x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
    x.into_shape_with_order(IxDyn(shape)).map_err(|e| Error::Internal(format!("reshape: {e}")))
}

/// Owned standard-layout copy of a view, reshaped.
pub fn reshape_view<T: Scalar>(x: &ArrayViewD<T>, shape: &[usize]) -> Result<ArrayD<T>> {
    reshape(x.as_standard_layout().into_owned(), shape)
}

/// `[a, b, rest...]` as a vector.
pub fn with_leading(lead: &[usize], rest: &[usize]) -> Vec<usize> {
    let mut v = lead.to_vec();
    v.extend_from_slice(rest);
    v
}
