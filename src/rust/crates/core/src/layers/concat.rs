//! Concatenation along one axis. innsight's `axis` counts the batch axis as 1, so
//! `2` is the first feature/channel axis; `-1` is the last axis (of the internal,
//! channels-first layout). VJP: split the upper signal back into the input sizes.

use super::{Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, Shape};
use ndarray::{concatenate, ArrayD, ArrayViewD, Axis, Slice};

/// Concatenate inputs along `axis` (innsight convention).
pub struct Concatenate {
    axis: i64,
}

impl Concatenate {
    /// `axis` as in the list format.
    pub fn new(axis: i64) -> Self {
        Concatenate { axis }
    }

    /// The axis index within a shape (no batch axis).
    fn shape_axis(&self, rank: usize) -> Result<usize> {
        let a = if self.axis == -1 { rank as i64 - 1 } else { self.axis - 2 };
        if a < 0 || a >= rank as i64 {
            return Err(Error::Spec(format!(
                "`axis` = {} is out of range for inputs of rank {rank}: use -1 or a value in 2..{} (the batch axis counts as 1)",
                self.axis,
                rank + 1
            )));
        }
        Ok(a as usize)
    }
}

impl<T: Scalar> Layer<T> for Concatenate {
    fn kind(&self) -> LayerKind {
        LayerKind::Concatenate
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        if inputs.is_empty() {
            return Err(Error::Spec("a Concatenate layer needs at least one input".into()));
        }
        let rank = inputs[0].len();
        let a = self.shape_axis(rank)?;
        let mut out = inputs[0].clone();
        out[a] = 0;
        for s in inputs {
            let same_rest = s.len() == rank && s.iter().enumerate().all(|(i, d)| i == a || *d == inputs[0][i]);
            if !same_rest {
                return Err(Error::Spec(format!(
                    "inputs {} and {} cannot be concatenated along axis {}",
                    fmt_shape(&inputs[0]),
                    fmt_shape(s),
                    self.axis
                )));
            }
            out[a] += s[a];
        }
        Ok(out)
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        let a = self.shape_axis(inputs[0].ndim() - 1)? + 1;
        concatenate(Axis(a), inputs).map_err(|e| Error::Internal(format!("concatenate: {e}")))
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let a = self.shape_axis(inputs[0].ndim() - 1)? + 2;
        let mut start = 0isize;
        Ok(inputs
            .iter()
            .map(|x| {
                let len = x.shape()[a - 1] as isize;
                let part = grad.slice_axis(Axis(a), Slice::from(start..start + len)).to_owned();
                start += len;
                part
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::check_vjp;

    #[test]
    fn concatenates_on_channels_and_last_axis() {
        check_vjp(&Concatenate::new(2), &[vec![2, 3], vec![1, 3]], 2, 2, 1);
        check_vjp(&Concatenate::new(-1), &[vec![2, 3], vec![2, 4], vec![2, 1]], 2, 2, 2);
        check_vjp(&Concatenate::new(2), &[vec![3], vec![5]], 3, 1, 3);
        let c = Concatenate::new(3);
        assert_eq!(<Concatenate as Layer<f64>>::output_shape(&c, &[vec![2, 3], vec![2, 4]]).unwrap(), vec![2, 7]);
        assert!(<Concatenate as Layer<f64>>::output_shape(&c, &[vec![2, 3], vec![3, 4]]).is_err());
        assert!(<Concatenate as Layer<f64>>::output_shape(&Concatenate::new(5), &[vec![2, 3]]).is_err());
    }
}
