//! Batch normalisation in inference form:
//! `y = gamma · (x − run_mean) / sqrt(run_var + eps) + beta`, per channel.
//!
//! The channel is axis 1 of the forward tensor (`[B, C]`, `[B, C, L]` or
//! `[B, C, H, W]`), i.e. the first axis of the shape. With running statistics fixed the
//! layer is a per-channel affine map `y = scale · x + shift`, which is how it is
//! stored: the forward pass, the VJP (`g · scale`, broadcast over the channel axis of
//! the `[S, B, C, ...]` signal) and LRP rules that treat BatchNorm as an affine layer
//! all need exactly these two vectors and nothing else.

use super::dense::{modify_bias, modify_weight};
use super::{expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMod};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, Shape};
use ndarray::{Array1, ArrayD, ArrayViewD};

/// Apply `f(channel, plane)` to every `[rest]` plane of a standard-layout tensor whose
/// planes cycle through `c` channels (`[.., C, rest...]` flattened), in parallel when
/// large.
fn per_plane<T: Scalar>(data: &mut [T], c: usize, rest: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    let rest = rest.max(1);
    if data.len() >= 1 << 16 && rest >= 64 && rayon::current_num_threads() > 1 {
        data.par_chunks_mut(rest).enumerate().for_each(|(i, p)| f(i % c, p));
    } else {
        data.chunks_mut(rest).enumerate().for_each(|(i, p)| f(i % c, p));
    }
}

/// Inference-mode batch norm, stored as its per-channel affine map.
pub struct BatchNorm<T: Scalar> {
    /// `gamma / sqrt(run_var + eps)`, one per channel.
    scale: Array1<T>,
    /// `beta − run_mean · scale`, one per channel.
    shift: Array1<T>,
}

/// Check that a parameter vector holds one value per channel.
fn per_channel(name: &str, a: &ArrayD<f64>, n: usize) -> Result<()> {
    if a.len() != n || a.ndim() > 1 {
        return Err(Error::Spec(format!(
            "`{name}` must be a vector of length {n} (`num_features`), got shape ({})",
            a.shape().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(bad) = a.iter().find(|v| !v.is_finite()) {
        return Err(Error::Spec(format!("`{name}` must hold finite values, found {bad}")));
    }
    Ok(())
}

impl<T: Scalar> BatchNorm<T> {
    /// Build from the list-format keys; `beta` defaults to zeros.
    pub fn new(
        num_features: usize,
        eps: f64,
        gamma: ArrayD<f64>,
        beta: Option<ArrayD<f64>>,
        run_mean: ArrayD<f64>,
        run_var: ArrayD<f64>,
    ) -> Result<Self> {
        if num_features == 0 {
            return Err(Error::Spec("`num_features` must be at least 1".into()));
        }
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(Error::Spec(format!("`eps` must be a finite number >= 0, got {eps}")));
        }
        per_channel("gamma", &gamma, num_features)?;
        per_channel("run_mean", &run_mean, num_features)?;
        per_channel("run_var", &run_var, num_features)?;
        let beta = match beta {
            Some(b) => {
                per_channel("beta", &b, num_features)?;
                b
            }
            None => ArrayD::zeros(ndarray::IxDyn(&[num_features])),
        };
        if let Some((c, v)) = run_var.iter().enumerate().find(|(_, &v)| v + eps <= 0.0) {
            return Err(Error::Spec(format!(
                "`run_var` + `eps` must be positive, but channel {} has run_var = {v} and eps = {eps}",
                c + 1
            )));
        }
        // Combine in f64 and round once, so a float model is as close as possible to
        // the double one.
        let it = gamma.iter().zip(beta.iter()).zip(run_mean.iter().zip(run_var.iter()));
        let (scale, shift): (Vec<T>, Vec<T>) = it
            .map(|((&g, &b), (&m, &v))| {
                let s = g / (v + eps).sqrt();
                (T::of(s), T::of(b - m * s))
            })
            .unzip();
        Ok(BatchNorm { scale: Array1::from(scale), shift: Array1::from(shift) })
    }

    /// Number of channels.
    pub fn num_features(&self) -> usize {
        self.scale.len()
    }

    /// Per-channel factor `gamma / sqrt(run_var + eps)`.
    pub fn scale(&self) -> &Array1<T> {
        &self.scale
    }

    /// Per-channel offset `beta − run_mean · gamma / sqrt(run_var + eps)`.
    pub fn shift(&self) -> &Array1<T> {
        &self.shift
    }
}

impl<T: Scalar> Layer<T> for BatchNorm<T> {
    fn channel_affine(&self) -> Option<(&Array1<T>, &Array1<T>)> {
        Some((&self.scale, &self.shift))
    }

    fn kind(&self) -> LayerKind {
        LayerKind::BatchNorm
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let shape = &inputs[0];
        if shape.is_empty() || shape.len() > 3 {
            return Err(Error::Spec(format!(
                "input shape {} is not supported: BatchNorm works on (C), (C, L) and (C, H, W) inputs",
                fmt_shape(shape)
            )));
        }
        if shape[0] != self.num_features() {
            return Err(Error::Spec(format!(
                "input shape {} has {} channel(s) (first axis), but `num_features` is {}",
                fmt_shape(shape),
                shape[0],
                self.num_features()
            )));
        }
        Ok(shape.clone())
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        self.forward_mod(&inputs[0], WeightMod::Identity, BiasMod::Keep)
    }

    fn vjp(&self, _inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![self.vjp_mod(grad, &[], WeightMod::Identity)?])
    }

    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        Some(self)
    }
}

/// The per-channel affine map as a (diagonal) linear layer: weight `scale`, bias `shift`.
impl<T: Scalar> Linear<T> for BatchNorm<T> {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>> {
        // [B, C, rest...]: the channel is axis 1
        let mut y = x.as_standard_layout().into_owned();
        let (c, rest) = (self.num_features(), x.shape()[2..].iter().product());
        let s: Vec<T> = self.scale.iter().map(|v| modify_weight(v, w)).collect();
        let t: Vec<T> = self.shift.iter().map(|v| modify_bias(v, b)).collect();
        let data = y.as_slice_mut().ok_or_else(|| Error::Internal("batch norm: layout".into()))?;
        per_plane(data, c, rest, |ch, p| p.iter_mut().for_each(|v| *v = *v * s[ch] + t[ch]));
        Ok(y)
    }

    fn vjp_mod(&self, g: &ArrayViewD<T>, _in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        // signal [S, B, C, rest...]: the channel is axis 2
        let mut g = g.as_standard_layout().into_owned();
        let (c, rest) = (self.num_features(), g.shape()[3..].iter().product());
        let s: Vec<T> = self.scale.iter().map(|v| modify_weight(v, w)).collect();
        let data = g.as_slice_mut().ok_or_else(|| Error::Internal("batch norm: layout".into()))?;
        per_plane(data, c, rest, |ch, p| p.iter_mut().for_each(|v| *v *= s[ch]));
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_linear, check_vjp, randn};
    use crate::rng::Rng;
    use ndarray::IxDyn;

    fn params(c: usize, rng: &mut Rng) -> [ArrayD<f64>; 4] {
        let gamma = randn(&[c], rng);
        let beta = randn(&[c], rng);
        let mean = randn(&[c], rng);
        let var = randn(&[c], rng).mapv(|v| v * v + 0.1);
        [gamma, beta, mean, var]
    }

    #[test]
    fn forward_matches_naive_formula_on_every_rank() {
        let mut rng = Rng::new(11);
        let c = 3;
        let [gamma, beta, mean, var] = params(c, &mut rng);
        let eps = 1e-3;
        let bn = BatchNorm::<f64>::new(c, eps, gamma.clone(), Some(beta.clone()), mean.clone(), var.clone()).unwrap();
        for shape in [vec![4, c], vec![2, c, 5], vec![2, c, 3, 4]] {
            let x = randn(&shape, &mut rng);
            let y = bn.forward(&[x.view()]).unwrap();
            assert_eq!(y.shape(), x.shape());
            for (ix, &v) in x.indexed_iter() {
                let ch = ix[1];
                let naive = gamma[[ch]] * (v - mean[[ch]]) / (var[[ch]] + eps).sqrt() + beta[[ch]];
                assert!((y[&ix] - naive).abs() < 1e-12, "shape {shape:?} at {ix:?}: {} vs {naive}", y[&ix]);
            }
        }
    }

    #[test]
    fn beta_defaults_to_zero_and_scale_shift_are_exposed() {
        let mut rng = Rng::new(12);
        let [gamma, _, mean, var] = params(4, &mut rng);
        let bn = BatchNorm::<f32>::new(4, 1e-5, gamma.clone(), None, mean.clone(), var.clone()).unwrap();
        for c in 0..4 {
            let s = gamma[[c]] / (var[[c]] + 1e-5).sqrt();
            assert!((bn.scale()[c] as f64 - s).abs() < 1e-6 * (1.0 + s.abs()));
            assert!((bn.shift()[c] as f64 + mean[[c]] * s).abs() < 1e-5 * (1.0 + s.abs()));
        }
        // a float layer computes in float
        let x = ArrayD::<f32>::from_elem(IxDyn(&[1, 4]), 0.5);
        let y = bn.forward(&[x.view()]).unwrap();
        assert_eq!(y.shape(), &[1, 4]);
    }

    #[test]
    fn vjp_matches_finite_differences() {
        let mut rng = Rng::new(13);
        for (k, shape) in [vec![3], vec![3, 4], vec![3, 2, 3]].into_iter().enumerate() {
            let [gamma, beta, mean, var] = params(3, &mut rng);
            let bn = BatchNorm::<f64>::new(3, 1e-5, gamma, Some(beta), mean, var).unwrap();
            check_vjp(&bn, &[shape], 2, 3, 100 + k as u64);
        }
    }

    #[test]
    fn rejects_bad_parameters_and_inputs() {
        let mut rng = Rng::new(14);
        let [gamma, beta, mean, var] = params(3, &mut rng);
        let msg = |r: Result<BatchNorm<f64>>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let short = randn(&[2], &mut rng);
        assert!(msg(BatchNorm::new(3, 1e-5, short.clone(), None, mean.clone(), var.clone())).contains("`gamma` must be a vector of length 3"));
        assert!(msg(BatchNorm::new(3, 1e-5, gamma.clone(), Some(short.clone()), mean.clone(), var.clone())).contains("`beta`"));
        assert!(msg(BatchNorm::new(3, 1e-5, gamma.clone(), None, short.clone(), var.clone())).contains("`run_mean`"));
        assert!(msg(BatchNorm::new(3, 1e-5, gamma.clone(), None, mean.clone(), short)).contains("`run_var`"));
        assert!(msg(BatchNorm::new(0, 1e-5, gamma.clone(), None, mean.clone(), var.clone())).contains("num_features"));
        assert!(msg(BatchNorm::new(3, -1.0, gamma.clone(), None, mean.clone(), var.clone())).contains("`eps`"));
        let neg = var.mapv(|v| -v);
        assert!(msg(BatchNorm::new(3, 1e-5, gamma.clone(), None, mean.clone(), neg)).contains("must be positive"));
        let matrix = randn(&[3, 1], &mut rng);
        assert!(msg(BatchNorm::new(3, 1e-5, matrix, None, mean.clone(), var.clone())).contains("`gamma`"));

        let bn = BatchNorm::<f64>::new(3, 1e-5, gamma, Some(beta), mean, var).unwrap();
        assert_eq!(bn.output_shape(&[vec![3, 7]]).unwrap(), vec![3, 7]);
        let e = bn.output_shape(&[vec![4, 7]]).unwrap_err().to_string();
        assert!(e.contains("has 4 channel(s)") && e.contains("`num_features` is 3"), "{e}");
        assert!(bn.output_shape(&[vec![3, 2, 2, 2]]).is_err());
        assert!(bn.output_shape(&[vec![]]).is_err());
        assert!(bn.output_shape(&[vec![3], vec![3]]).is_err());
    }

    #[test]
    fn linear_capability_is_the_diagonal_affine_map() {
        let mut rng = Rng::new(15);
        for (k, shape) in [vec![3], vec![3, 4], vec![3, 2, 3]].into_iter().enumerate() {
            let [gamma, beta, mean, var] = params(3, &mut rng);
            let bn = BatchNorm::<f64>::new(3, 1e-5, gamma, Some(beta), mean, var).unwrap();
            check_linear(&bn, &shape, 200 + k as u64);
        }
    }
}
