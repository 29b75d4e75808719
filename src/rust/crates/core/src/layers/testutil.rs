//! Test helpers shared by the layer unit tests: random tensors and a finite-difference
//! check of a layer's VJP (central differences in f64).

use super::Layer;
use crate::rng::Rng;
use crate::tensor::{numel, with_leading, Shape};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// A `[shape]` tensor of standard normal values.
pub fn randn(shape: &[usize], rng: &mut Rng) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.normal())
}

/// Check `layer.vjp` against central finite differences of `layer.forward`.
///
/// Draws inputs of the given in-shapes with batch `batch`, an upper signal with `s`
/// output slabs, and compares every input coordinate's derivative. Panics with a
/// message naming the first mismatch.
pub fn check_vjp(layer: &dyn Layer<f64>, in_shapes: &[Shape], batch: usize, s: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let inputs: Vec<ArrayD<f64>> = in_shapes.iter().map(|sh| randn(&with_leading(&[batch], sh), &mut rng)).collect();
    check_vjp_at(layer, &inputs, s, &mut rng);
}

/// As [`check_vjp`], at given inputs.
pub fn check_vjp_at(layer: &dyn Layer<f64>, inputs: &[ArrayD<f64>], s: usize, rng: &mut Rng) {
    let batch = inputs[0].shape()[0];
    let in_shapes: Vec<Shape> = inputs.iter().map(|x| x.shape()[1..].to_vec()).collect();
    let out_shape = layer.output_shape(&in_shapes).expect("output_shape");
    let views: Vec<ArrayViewD<f64>> = inputs.iter().map(|x| x.view()).collect();
    let y = layer.forward(&views).expect("forward");
    assert_eq!(y.shape(), &with_leading(&[batch], &out_shape)[..], "forward shape vs output_shape");
    let g = randn(&with_leading(&[s, batch], &out_shape), rng);
    let vj = layer.vjp(&views, &y.view(), &g.view()).expect("vjp");
    assert_eq!(vj.len(), inputs.len());
    let h = 1e-6;
    for (k, x) in inputs.iter().enumerate() {
        assert_eq!(vj[k].shape(), &with_leading(&[s], x.shape())[..], "vjp shape for input {k}");
        let n = numel(x.shape());
        for i in 0..n {
            let eval = |delta: f64| {
                let mut xs: Vec<ArrayD<f64>> = inputs.to_vec();
                xs[k].as_slice_mut().expect("standard layout")[i] += delta;
                let v: Vec<ArrayViewD<f64>> = xs.iter().map(|x| x.view()).collect();
                layer.forward(&v).expect("forward")
            };
            let dy = (eval(h) - eval(-h)) / (2.0 * h);
            let b = i / (n / batch);
            for si in 0..s {
                // only sample b's outputs depend on this coordinate
                let gs = g.index_axis(ndarray::Axis(0), si);
                let fd: f64 = (&gs * &dy).sum();
                let got = vj[k].index_axis(ndarray::Axis(0), si).as_slice().expect("layout")[i];
                assert!(
                    (fd - got).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "vjp mismatch: input {k}, coordinate {i} (sample {b}), slab {si}: finite difference {fd}, vjp {got}"
                );
            }
        }
    }
}
