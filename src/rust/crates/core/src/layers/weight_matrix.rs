//! A layer's read-only weight matrix, owned or borrowed.
//!
//! Dense and convolution layers hold most of a model's parameters (VGG19: 574 MB in
//! single precision). The R package keeps a converted model's weights as one
//! safetensors byte vector; when its precision is the graph's, the layers borrow
//! their matrices from those bytes instead of copying them, so the weights exist
//! once in memory. Everything else (tests, model files read here, the other
//! precision) gives the layers owned matrices.

use crate::scalar::Scalar;
use ndarray::{Array2, ArrayD, ArrayView2};

enum Storage<T> {
    Owned(Array2<T>),
    /// `rows * cols` values in row-major order at `ptr`.
    Borrowed { ptr: *const T, rows: usize, cols: usize },
}

/// A read-only `[rows, cols]` matrix in row-major order.
pub struct WeightMatrix<T> {
    storage: Storage<T>,
}

// SAFETY: the matrix is never written through; a borrowed one points to memory
// that, by the contract of `WeightMatrix::borrowed`, stays valid and unchanged while
// the matrix exists, so sharing it across threads is sharing `&[T]`.
unsafe impl<T: Send + Sync> Send for WeightMatrix<T> {}
unsafe impl<T: Send + Sync> Sync for WeightMatrix<T> {}

impl<T: Scalar> WeightMatrix<T> {
    /// An owned matrix.
    pub fn owned(a: Array2<T>) -> Self {
        let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
        WeightMatrix { storage: Storage::Owned(a) }
    }

    /// A matrix over `data` (`rows * cols` values, row-major) without copying it.
    ///
    /// # Safety
    /// `data` must stay valid and unchanged for as long as the matrix, and every
    /// graph that holds it, exists.
    pub unsafe fn borrowed(data: &[T], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "borrowed weight matrix of the wrong size");
        WeightMatrix { storage: Storage::Borrowed { ptr: data.as_ptr(), rows, cols } }
    }

    /// A tensor `[d0, d1, ...]` as the matrix `[d0, d1 · ...]` (a vector as one row),
    /// converted to `T`.
    pub fn from_f64(a: &ArrayD<f64>) -> Self {
        let (rows, cols) = matrix_dims(a.shape());
        let data: Vec<T> = a.iter().map(|&v| T::of(v)).collect();
        Self::owned(Array2::from_shape_vec((rows, cols), data).expect("rows * cols = len"))
    }

    /// The matrix.
    pub fn view(&self) -> ArrayView2<'_, T> {
        match &self.storage {
            Storage::Owned(a) => a.view(),
            // SAFETY: see `borrowed`: the values outlive `self`, and `&self` bounds
            // the view's lifetime.
            Storage::Borrowed { ptr, rows, cols } => unsafe { ArrayView2::from_shape_ptr((*rows, *cols), *ptr) },
        }
    }

    /// `(rows, cols)`.
    pub fn dim(&self) -> (usize, usize) {
        match &self.storage {
            Storage::Owned(a) => a.dim(),
            Storage::Borrowed { rows, cols, .. } => (*rows, *cols),
        }
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.dim().0
    }

    /// Whether the values are borrowed (not copied) from someone else's memory.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.storage, Storage::Borrowed { .. })
    }
}

/// `[d0, d1, ...]` → `(d0, d1 · ...)`; a vector is one row, a scalar one value.
pub fn matrix_dims(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (1, *n),
        [r, rest @ ..] => (*r, rest.iter().product()),
    }
}

/// A weight tensor for a layer: its shape and its values as a `[d0, d1 · ...]`
/// matrix.
pub struct WeightTensor<T> {
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// The values.
    pub matrix: WeightMatrix<T>,
}

impl<T: Scalar> From<ArrayD<f64>> for WeightTensor<T> {
    fn from(a: ArrayD<f64>) -> Self {
        WeightTensor { shape: a.shape().to_vec(), matrix: WeightMatrix::from_f64(&a) }
    }
}

impl<T: Scalar> From<&ArrayD<f64>> for WeightTensor<T> {
    fn from(a: &ArrayD<f64>) -> Self {
        WeightTensor { shape: a.shape().to_vec(), matrix: WeightMatrix::from_f64(a) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn owned_and_borrowed_views_agree() {
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 2, 2]), |ix| (ix[0] * 4 + ix[1] * 2 + ix[2]) as f64);
        let t: WeightTensor<f32> = (&a).into();
        assert_eq!(t.shape, vec![3, 2, 2]);
        assert_eq!(t.matrix.dim(), (3, 4));
        assert!(!t.matrix.is_borrowed());
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let b = unsafe { WeightMatrix::borrowed(&data, 3, 4) };
        assert!(b.is_borrowed());
        assert_eq!(b.view(), t.matrix.view());
        assert_eq!(b.view()[[2, 3]], 11.0);
    }

    #[test]
    fn matrix_dims_flatten_trailing_axes() {
        assert_eq!(matrix_dims(&[]), (1, 1));
        assert_eq!(matrix_dims(&[5]), (1, 5));
        assert_eq!(matrix_dims(&[4, 3, 2, 2]), (4, 12));
    }
}
