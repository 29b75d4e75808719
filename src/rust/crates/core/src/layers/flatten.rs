//! Flatten a range of axes into one.
//!
//! `start_dim` (default 2) and `end_dim` (default −1) count the batch axis as 1, as
//! in innsight. The model declares its flattening order through `data_format`:
//! `"channels_first"` (torch and list models, the default) flattens `[C, H, W]` as
//! is; `"channels_last"` (keras) flattens as if the tensor were `[H, W, C]`. The
//! caller's data layout (`channels_first` of a method) never changes this.

use super::{expect_inputs, Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, numel, reshape, reshape_view, Shape};
use ndarray::{ArrayD, ArrayViewD};

/// Flatten axes `start..=end` of the shape (0-based, batch excluded).
pub struct Flatten {
    start_dim: i64,
    end_dim: i64,
    channels_last: bool,
}

impl Flatten {
    /// Build from the list-format keys.
    pub fn new(start_dim: Option<i64>, end_dim: Option<i64>, data_format: Option<&str>) -> Result<Self> {
        let channels_last = match data_format.unwrap_or("channels_first") {
            "channels_first" => false,
            "channels_last" => true,
            other => {
                return Err(Error::Spec(format!(
                    "`data_format` must be \"channels_first\" or \"channels_last\", got \"{other}\""
                )))
            }
        };
        Ok(Flatten { start_dim: start_dim.unwrap_or(2), end_dim: end_dim.unwrap_or(-1), channels_last })
    }

    /// 0-based (start, end) within a shape of `rank` axes.
    fn range(&self, rank: usize) -> Result<(usize, usize)> {
        let conv = |d: i64| if d < 0 { rank as i64 + 1 + d } else { d - 1 } - 1;
        let (s, e) = (conv(self.start_dim), conv(self.end_dim));
        if s < 0 || e >= rank as i64 || s > e {
            return Err(Error::Spec(format!(
                "`start_dim` = {} and `end_dim` = {} do not select axes of an input of rank {rank} (the batch axis counts as 1)",
                self.start_dim, self.end_dim
            )));
        }
        if self.channels_last && (s != 0 || e != rank as i64 - 1) {
            return Err(Error::Spec("a channels-last Flatten must flatten all axes".into()));
        }
        Ok((s as usize, e as usize))
    }

    /// Input shape as the model sees it before flattening (channels moved last).
    fn model_order(&self, shape: &[usize]) -> Vec<usize> {
        let mut s = shape.to_vec();
        if self.channels_last && s.len() > 1 {
            s.rotate_left(1);
        }
        s
    }
}

impl<T: Scalar> Layer<T> for Flatten {
    fn kind(&self) -> LayerKind {
        LayerKind::Flatten
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let shape = &inputs[0];
        let (s, e) = self.range(shape.len()).map_err(|err| Error::Spec(format!("input {}: {err}", fmt_shape(shape))))?;
        let mut out = shape[..s].to_vec();
        out.push(numel(&shape[s..=e]));
        out.extend_from_slice(&shape[e + 1..]);
        Ok(out)
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        let x = &inputs[0];
        let b = x.shape()[0];
        let out = <Self as Layer<T>>::output_shape(self, &[x.shape()[1..].to_vec()])?;
        let mut full = vec![b];
        full.extend(out);
        if self.channels_last && x.ndim() > 2 {
            let mut perm: Vec<usize> = (0..x.ndim()).collect();
            perm[1..].rotate_left(1);
            reshape_view(&x.view().permuted_axes(perm), &full)
        } else {
            reshape_view(x, &full)
        }
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let x_shape = &inputs[0].shape()[1..];
        let lead = &grad.shape()[..2];
        let mut model_shape = lead.to_vec();
        model_shape.extend(self.model_order(x_shape));
        let g = reshape_view(grad, &model_shape)?;
        if self.channels_last && x_shape.len() > 1 {
            // [S, B, H, W, C] -> [S, B, C, H, W]
            let n = g.ndim();
            let mut perm: Vec<usize> = (0..n).collect();
            perm[2..].rotate_right(1);
            Ok(vec![g.permuted_axes(perm).as_standard_layout().into_owned()])
        } else {
            Ok(vec![reshape(g, &[lead, x_shape].concat())?])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::check_vjp;

    #[test]
    fn flattens_in_both_orders() {
        check_vjp(&Flatten::new(None, None, None).unwrap(), &[vec![2, 3, 4]], 2, 2, 1);
        check_vjp(&Flatten::new(None, None, Some("channels_last")).unwrap(), &[vec![2, 3, 4]], 2, 2, 2);
        check_vjp(&Flatten::new(Some(3), None, None).unwrap(), &[vec![2, 3, 4]], 2, 1, 3);
        let x = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[1, 2, 1, 3]), |ix| (ix[1] * 10 + ix[3]) as f64);
        let cl = Flatten::new(None, None, Some("channels_last")).unwrap();
        let y = <Flatten as Layer<f64>>::forward(&cl, &[x.view()]).unwrap();
        // keras order: (h, w, c) with c fastest
        assert_eq!(y.as_slice().unwrap(), &[0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        assert!(Flatten::new(None, None, Some("nhwc")).is_err());
    }
}
