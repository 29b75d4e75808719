//! Global average or max pooling: `[B, C, ...spatial]` → `[B, C]`, reducing all
//! spatial axes at once (innsight's `GlobalPooling` with `method` "average" or "max").
//!
//! VJP: average pooling spreads `g / N` over the `N` spatial positions of each
//! channel. Max pooling routes `g` to one position per channel: the **first** maximal
//! one in row-major order of the spatial axes (later ties get nothing). The forward
//! pass reads the value at that same position, so forward and VJP always agree on the
//! winner; this is also the position torch's `argmax` reports.

use super::{expect_inputs, Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, numel, reshape, Shape};
use ndarray::{Array2, Array4, ArrayD, ArrayView3, ArrayViewD, Axis, Ix3};

/// Global pooling over all spatial axes.
pub struct GlobalPool {
    max: bool,
}

impl GlobalPool {
    /// `method` = "average" or "max".
    pub fn new(method: &str) -> Result<Self> {
        match method {
            "average" => Ok(GlobalPool { max: false }),
            "max" => Ok(GlobalPool { max: true }),
            other => Err(Error::Spec(format!("unknown GlobalPooling `method` '{other}'; expected \"average\" or \"max\""))),
        }
    }

    /// True for max pooling, false for average pooling.
    pub fn is_max(&self) -> bool {
        self.max
    }
}

/// `[B, C, N]` view of a `[B, C, ...spatial]` tensor (which must be in standard layout).
fn planes<'a, T: Scalar>(x: &'a ArrayViewD<'a, T>) -> Result<ArrayView3<'a, T>> {
    let (b, c) = (x.shape()[0], x.shape()[1]);
    let n = numel(&x.shape()[2..]);
    x.view()
        .into_shape_with_order((b, c, n))
        .map_err(|e| Error::Internal(format!("global pooling: {e}")))
}

/// Index of the first maximum of each `[b, c, :]` lane.
fn argmax<T: Scalar>(x: &ArrayView3<T>) -> Array2<usize> {
    let (b, c, _) = x.dim();
    Array2::from_shape_fn((b, c), |(i, j)| {
        let lane = x.slice(ndarray::s![i, j, ..]);
        let mut best = 0;
        for (k, &v) in lane.iter().enumerate().skip(1) {
            // strict comparison keeps the first of equal maxima
            if v > lane[best] {
                best = k;
            }
        }
        best
    })
}

impl<T: Scalar> Layer<T> for GlobalPool {
    fn kind(&self) -> LayerKind {
        if self.max {
            LayerKind::GlobalMaxPool
        } else {
            LayerKind::GlobalAvgPool
        }
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let shape = &inputs[0];
        if shape.len() < 2 {
            return Err(Error::Spec(format!(
                "input shape {} has no spatial axis: GlobalPooling needs (C, L) or (C, H, W) inputs",
                fmt_shape(shape)
            )));
        }
        if numel(&shape[1..]) == 0 {
            return Err(Error::Spec(format!("input shape {} has an empty spatial axis", fmt_shape(shape))));
        }
        Ok(vec![shape[0]])
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        let x = inputs[0].as_standard_layout();
        let xv = x.view();
        let x3 = planes(&xv)?;
        let y = if self.max {
            let am = argmax(&x3);
            Array2::from_shape_fn(am.dim(), |(i, j)| x3[[i, j, am[[i, j]]]])
        } else {
            x3.mean_axis(Axis(2)).ok_or_else(|| Error::Internal("global pooling over an empty axis".into()))?
        };
        Ok(y.into_dyn())
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let x = inputs[0].as_standard_layout();
        let xv = x.view();
        let x3 = planes(&xv)?;
        let (b, c, n) = x3.dim();
        let g = grad.view().into_dimensionality::<Ix3>().map_err(|e| Error::Internal(e.to_string()))?;
        let s = g.shape()[0];
        let gi = if self.max {
            let am = argmax(&x3);
            let mut gi = Array4::<T>::zeros((s, b, c, n));
            for ((si, i, j), &v) in g.indexed_iter() {
                gi[[si, i, j, am[[i, j]]]] = v;
            }
            gi
        } else {
            let inv = T::one() / T::of(n as f64);
            let spread = g.mapv(|v| v * inv).insert_axis(Axis(3));
            spread.broadcast((s, b, c, n)).ok_or_else(|| Error::Internal("global pooling: broadcast".into()))?.to_owned()
        };
        let mut shape = vec![s];
        shape.extend_from_slice(inputs[0].shape());
        Ok(vec![reshape(gi.into_dyn(), &shape)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_vjp, randn};
    use crate::rng::Rng;
    use ndarray::IxDyn;

    #[test]
    fn forward_matches_naive_mean_and_max() {
        let mut rng = Rng::new(31);
        for shape in [vec![2, 3, 5], vec![2, 3, 2, 4]] {
            let x = randn(&shape, &mut rng);
            let avg = <GlobalPool as Layer<f64>>::forward(&GlobalPool::new("average").unwrap(), &[x.view()]).unwrap();
            let max = <GlobalPool as Layer<f64>>::forward(&GlobalPool::new("max").unwrap(), &[x.view()]).unwrap();
            assert_eq!(avg.shape(), &[2, 3]);
            assert_eq!(max.shape(), &[2, 3]);
            for b in 0..2 {
                for c in 0..3 {
                    let lane: Vec<f64> = x.index_axis(Axis(0), b).index_axis(Axis(0), c).iter().copied().collect();
                    let mean = lane.iter().sum::<f64>() / lane.len() as f64;
                    let m = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    assert!((avg[[b, c]] - mean).abs() < 1e-12);
                    assert_eq!(max[[b, c]], m);
                }
            }
        }
    }

    #[test]
    fn vjp_matches_finite_differences() {
        for (k, method) in ["average", "max"].into_iter().enumerate() {
            let layer = GlobalPool::new(method).unwrap();
            check_vjp(&layer, &[vec![3, 5]], 2, 2, 300 + k as u64);
            check_vjp(&layer, &[vec![2, 3, 2]], 3, 3, 310 + k as u64);
        }
    }

    #[test]
    fn max_routes_ties_to_the_first_maximum() {
        // channel 0: maxima at positions 1 and 3; channel 1: constant
        let x = ndarray::Array::from_shape_vec(IxDyn(&[1, 2, 4]), vec![0.0, 2.0, -1.0, 2.0, 5.0, 5.0, 5.0, 5.0]).unwrap();
        let layer = GlobalPool::new("max").unwrap();
        let y = <GlobalPool as Layer<f64>>::forward(&layer, &[x.view()]).unwrap();
        let g = ndarray::Array::from_shape_vec(IxDyn(&[1, 1, 2]), vec![3.0, 7.0]).unwrap();
        let gi = <GlobalPool as Layer<f64>>::vjp(&layer, &[x.view()], &y.view(), &g.view()).unwrap();
        assert_eq!(gi[0].shape(), &[1, 1, 2, 4]);
        assert_eq!(gi[0].as_slice().unwrap(), &[0.0, 3.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn kinds_and_errors() {
        let avg = GlobalPool::new("average").unwrap();
        let max = GlobalPool::new("max").unwrap();
        assert_eq!(<GlobalPool as Layer<f64>>::kind(&avg), LayerKind::GlobalAvgPool);
        assert_eq!(<GlobalPool as Layer<f64>>::kind(&max), LayerKind::GlobalMaxPool);
        let e = GlobalPool::new("mean").err().unwrap().to_string();
        assert!(e.contains("unknown GlobalPooling `method` 'mean'"), "{e}");
        assert_eq!(<GlobalPool as Layer<f64>>::output_shape(&avg, &[vec![4, 2, 3]]).unwrap(), vec![4]);
        assert!(<GlobalPool as Layer<f64>>::output_shape(&avg, &[vec![4]]).unwrap_err().to_string().contains("no spatial axis"));
        assert!(<GlobalPool as Layer<f64>>::output_shape(&avg, &[vec![4, 0]]).is_err());
        assert!(<GlobalPool as Layer<f64>>::output_shape(&avg, &[vec![4, 2], vec![4, 2]]).is_err());
    }
}
