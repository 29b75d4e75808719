//! A stand-alone activation node (also the node that carries a Dense/Conv layer's
//! fused activation after the graph builder splits it off).

use super::{expect_inputs, Layer, LayerKind};
use crate::activation::Activation;
use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Shape;
use ndarray::{ArrayD, ArrayViewD};

/// Applies an [`Activation`]; shape preserving.
pub struct ActivationLayer {
    act: Activation,
}

impl ActivationLayer {
    /// Wrap an activation.
    pub fn new(act: Activation) -> Self {
        ActivationLayer { act }
    }
}

impl<T: Scalar> Layer<T> for ActivationLayer {
    fn kind(&self) -> LayerKind {
        LayerKind::Activation
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        Ok(inputs[0].clone())
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        Ok(self.act.forward(&inputs[0]))
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![self.act.vjp(&inputs[0], output, grad)])
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.act)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::check_vjp;

    #[test]
    fn vjp_matches_finite_differences_for_every_activation() {
        let acts = [
            Activation::Relu, Activation::LeakyRelu { slope: 0.1 }, Activation::Softplus { beta: 1.0 },
            Activation::Sigmoid, Activation::Tanh, Activation::Elu { alpha: 1.0 }, Activation::Selu,
            Activation::Gelu, Activation::Silu, Activation::Linear, Activation::Softmax,
        ];
        for (i, act) in acts.into_iter().enumerate() {
            let layer = ActivationLayer::new(act);
            check_vjp(&layer, &[vec![5]], 3, 2, 10 + i as u64);
            check_vjp(&layer, &[vec![3, 2, 2]], 2, 2, 40 + i as u64);
        }
    }

    #[test]
    fn softmax_sums_to_one_over_channels() {
        let x = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[2, 3, 4]), |ix| (ix[0] + 2 * ix[1] + ix[2]) as f64 * 0.3);
        let y = <ActivationLayer as Layer<f64>>::forward(&ActivationLayer::new(Activation::Softmax), &[x.view()]).unwrap();
        let s = y.sum_axis(ndarray::Axis(1));
        assert!(s.iter().all(|v| (v - 1.0).abs() < 1e-12));
    }
}
