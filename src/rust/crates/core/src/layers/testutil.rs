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

/// Check a layer's [`super::Linear`] capability against its dense matrix form.
///
/// The matrix `M` (`[out, in]`, flattened shapes) and bias `b` are probed with basis
/// vectors through `forward_mod(·, Identity, Zero)` and a zero input. Then:
/// * `forward_mod(x, Identity, Keep)` equals `forward(x)` and `M x + b`;
/// * `vjp_mod(g, Identity)` equals `vjp(g)` and `Mᵀ g`;
/// * for every weight modifier, `forward_mod(x, m, Zero) = M' x` and `vjp_mod(g, m) = M'ᵀ g`
///   with `M'` the elementwise modification of the nonzero entries of `M` (each entry of a
///   dense, convolution, pooling or batch-norm matrix is one parameter, so modifying the
///   parameters modifies the matrix entries; `Ones` keeps the sparsity pattern);
/// * for every bias modifier, `forward_mod(0, Identity, m)` is the modified `b`.
pub fn check_linear(layer: &dyn Layer<f64>, in_shape: &[usize], seed: u64) {
    use super::dense::{modify_bias, modify_weight};
    use super::{BiasMod, WeightMod};
    use ndarray::{Array2, Axis, Dimension, Ix2};
    let lin = layer.as_linear().expect("layer has the Linear capability");
    let out_shape = layer.output_shape(&[in_shape.to_vec()]).expect("output_shape");
    let (n_in, n_out) = (numel(in_shape), numel(&out_shape));
    let to2 = |a: &ArrayD<f64>, rows: usize| -> Array2<f64> {
        let cols = a.len() / rows.max(1);
        a.as_standard_layout().into_owned().into_shape_with_order((rows, cols)).unwrap()
    };
    let eye = ArrayD::from_shape_fn(IxDyn(&with_leading(&[n_in], in_shape)), |ix| {
        let i = ix[0];
        let rest: usize = ix.slice()[1..].iter().zip(in_shape).fold(0, |acc, (&k, &d)| acc * d + k);
        if rest == i {
            1.0
        } else {
            0.0
        }
    });
    let probe = |m: WeightMod| -> Array2<f64> {
        let y = lin.forward_mod(&eye.view(), m, BiasMod::Zero).expect("forward_mod");
        to2(&y, n_in).reversed_axes().to_owned()
    };
    let m0 = probe(WeightMod::Identity);
    assert_eq!(m0.dim(), (n_out, n_in));
    let zero = ArrayD::<f64>::zeros(IxDyn(&with_leading(&[1], in_shape)));
    let b0 = to2(&lin.forward_mod(&zero.view(), WeightMod::Identity, BiasMod::Keep).expect("bias"), 1).row(0).to_owned();

    let mut rng = Rng::new(seed);
    let batch = 3;
    let s = 2;
    let x = randn(&with_leading(&[batch], in_shape), &mut rng);
    let g = randn(&with_leading(&[s, batch], &out_shape), &mut rng);
    let close = |a: &Array2<f64>, b: &Array2<f64>, what: &str| {
        assert_eq!(a.dim(), b.dim(), "{what}: shapes");
        for ((ix, &u), &v) in a.indexed_iter().zip(b.iter()) {
            assert!((u - v).abs() <= 1e-12 * (1.0 + v.abs()), "{what}: at {ix:?}: {u} vs {v}");
        }
    };
    let x2 = to2(&x, batch);
    let g2 = to2(&g, s * batch);

    // unmodified: the layer's own forward and VJP, and the matrix form
    let y = layer.forward(&[x.view()]).expect("forward");
    let y_mod = lin.forward_mod(&x.view(), WeightMod::Identity, BiasMod::Keep).expect("forward_mod");
    assert_eq!(y_mod.shape(), y.shape());
    close(&to2(&y_mod, batch), &to2(&y, batch), "forward_mod(Identity, Keep) vs forward");
    close(&to2(&y, batch), &(x2.dot(&m0.t()) + b0.view().insert_axis(Axis(0))), "forward vs matrix form");
    let vj = layer.vjp(&[x.view()], &y.view(), &g.view()).expect("vjp").remove(0);
    let vj_mod = lin.vjp_mod(&g.view(), in_shape, WeightMod::Identity).expect("vjp_mod");
    assert_eq!(vj_mod.shape(), vj.shape());
    close(&to2(&vj_mod, s * batch), &to2(&vj, s * batch), "vjp_mod(Identity) vs vjp");
    close(&to2(&vj, s * batch), &g2.dot(&m0), "vjp vs matrix form");

    let mods = [
        WeightMod::Positive,
        WeightMod::Negative,
        WeightMod::Gamma(0.3),
        WeightMod::GammaNegative(0.7),
        WeightMod::Square,
        WeightMod::Ones,
    ];
    for m in mods {
        let want = m0.mapv(|v| if v != 0.0 { modify_weight(&v, m) } else { 0.0 });
        close(&probe(m), &want, &format!("{m:?}: probed matrix"));
        let f = lin.forward_mod(&x.view(), m, BiasMod::Zero).expect("forward_mod");
        close(&to2(&f, batch), &x2.dot(&want.t()), &format!("{m:?}: forward_mod"));
        let v = lin.vjp_mod(&g.view(), in_shape, m).expect("vjp_mod");
        assert_eq!(v.shape(), vj.shape(), "{m:?}: vjp_mod shape");
        close(&to2(&v, s * batch), &g2.dot(&want), &format!("{m:?}: vjp_mod"));
    }
    let bias_mods = [
        BiasMod::Keep,
        BiasMod::Zero,
        BiasMod::Positive,
        BiasMod::Negative,
        BiasMod::Gamma(0.3),
        BiasMod::GammaNegative(0.7),
        BiasMod::Square,
    ];
    for m in bias_mods {
        let got = lin.forward_mod(&zero.view(), WeightMod::Positive, m).expect("forward_mod");
        let want = b0.mapv(|v| modify_bias(&v, m)).insert_axis(Axis(0));
        close(&to2(&got, 1), &want.into_dimensionality::<Ix2>().unwrap(), &format!("{m:?}: bias"));
    }
}
