//! Grouped convolution (`groups > 1`; depthwise when `groups` = input channels, as in
//! MobileNet and EfficientNet): the input channels are split into `groups` equal
//! parts, and part `g` is convolved with its own `C_out / groups` filters. Each group
//! is an ordinary [`Conv`] over its channel slice, so the forward pass, the VJP and
//! every rule's modified weights come from the same kernels as for `groups = 1`;
//! groups run in parallel.
//!
//! Weight `[C_out, C_in / groups, kh, kw]` (Conv1D: `[C_out, C_in / groups, k]`), as in
//! torch and ONNX; output channel `o` belongs to group `o / (C_out / groups)`.

use super::conv::Conv;
use super::{expect_inputs, BiasMod, Layer, LayerKind, Linear, WeightMatrix, WeightMod, WeightTensor};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, Shape};
use ndarray::{s, Array1, ArrayD, ArrayViewD, Axis, Slice};
use rayon::prelude::*;

/// A convolution whose channels are split into independent groups.
pub struct GroupedConv<T: Scalar> {
    kind: LayerKind,
    groups: Vec<Conv<T>>,
    /// Input channels per group.
    c_in: usize,
}

impl<T: Scalar> GroupedConv<T> {
    /// Split the weight and bias into `groups` convolutions built by `make` (one of
    /// [`Conv::new_1d`] / [`Conv::new_2d`] with the layer's stride, dilation, padding).
    pub fn new(
        kind: LayerKind,
        groups: usize,
        weight: WeightTensor<T>,
        bias: Option<ArrayD<f64>>,
        make: impl Fn(WeightTensor<T>, Option<ArrayD<f64>>) -> Result<Conv<T>>,
    ) -> Result<Self> {
        let c_out = weight.shape.first().copied().unwrap_or(0);
        if groups == 0 || c_out % groups != 0 {
            return Err(Error::Spec(format!(
                "`groups` = {groups} must be at least 1 and divide the number of output channels ({c_out})"
            )));
        }
        if let Some(b) = &bias {
            if b.len() != c_out {
                return Err(Error::Spec(format!("`bias` must have length {c_out}, got {}", b.len())));
            }
        }
        let m = c_out / groups;
        let matrix = weight.matrix.view();
        let mut convs = Vec::with_capacity(groups);
        for g in 0..groups {
            let rows = matrix.slice(s![g * m..(g + 1) * m, ..]).to_owned();
            let shape = [&[m][..], &weight.shape[1..]].concat();
            let b = bias.as_ref().map(|b| b.slice_axis(Axis(0), Slice::from(g * m..(g + 1) * m)).to_owned());
            convs.push(make(WeightTensor { shape, matrix: WeightMatrix::owned(rows) }, b)?);
        }
        Ok(GroupedConv { kind, groups: convs, c_in: weight.shape[1] })
    }

    /// Run `f(g, group g, its slice of x)` for every group in parallel and concatenate
    /// the results along `axis`.
    fn per_group(
        &self,
        x: &ArrayViewD<T>,
        axis: usize,
        width: usize,
        f: impl Fn(usize, &Conv<T>, ArrayViewD<T>) -> Result<ArrayD<T>> + Sync,
    ) -> Result<ArrayD<T>> {
        let parts: Vec<ArrayD<T>> = self
            .groups
            .par_iter()
            .enumerate()
            .map(|(g, conv)| f(g, conv, x.slice_axis(Axis(axis), Slice::from(g * width..(g + 1) * width))))
            .collect::<Result<_>>()?;
        // assembled in place (a concatenation along an inner axis would not be in
        // standard layout)
        let mut shape = parts[0].shape().to_vec();
        let w = shape[axis];
        shape[axis] = w * parts.len();
        let mut out = ArrayD::zeros(ndarray::IxDyn(&shape));
        for (g, p) in parts.iter().enumerate() {
            out.slice_axis_mut(Axis(axis), Slice::from(g * w..(g + 1) * w)).assign(p);
        }
        Ok(out)
    }

    fn c_out_per_group(&self) -> usize {
        self.groups[0].bias().len()
    }
}

impl<T: Scalar> Layer<T> for GroupedConv<T> {
    fn kind(&self) -> LayerKind {
        self.kind
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let shape = &inputs[0];
        let n = self.groups.len();
        if shape.is_empty() || shape[0] != n * self.c_in {
            return Err(Error::Spec(format!(
                "input {} must have {} channels ({} groups of {}, channels first)",
                fmt_shape(shape),
                n * self.c_in,
                n,
                self.c_in
            )));
        }
        let mut one = shape.clone();
        one[0] = self.c_in;
        let mut out = self.groups[0].output_shape(&[one])?;
        out[0] *= n;
        Ok(out)
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        expect_inputs(inputs.len(), 1)?;
        self.per_group(&inputs[0], 1, self.c_in, |_, conv, x| conv.forward(&[x]))
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let m = self.c_out_per_group();
        let g = self.per_group(grad, 2, m, |gi, conv, g| {
            let x = inputs[0].slice_axis(Axis(1), Slice::from(gi * self.c_in..(gi + 1) * self.c_in));
            let y = output.slice_axis(Axis(1), Slice::from(gi * m..(gi + 1) * m));
            Ok(conv.vjp(&[x], &y, &g)?.remove(0))
        })?;
        Ok(vec![g])
    }

    fn then_affine(&self, scale: &Array1<T>, shift: &Array1<T>) -> Option<Box<dyn Layer<T>>> {
        let m = self.c_out_per_group();
        if scale.len() != m * self.groups.len() || shift.len() != scale.len() {
            return None;
        }
        let mut groups = Vec::with_capacity(self.groups.len());
        for (g, conv) in self.groups.iter().enumerate() {
            let r = g * m..(g + 1) * m;
            let (sc, sh) = (scale.slice(s![r.clone()]).to_owned(), shift.slice(s![r]).to_owned());
            groups.push(conv.then_affine_conv(&sc, &sh)?);
        }
        Some(Box::new(GroupedConv { kind: self.kind, groups, c_in: self.c_in }))
    }

    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        Some(self)
    }
}

impl<T: Scalar> Linear<T> for GroupedConv<T> {
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>> {
        self.per_group(x, 1, self.c_in, |_, conv, x| conv.forward_mod(&x, w, b))
    }

    fn vjp_mod(&self, g: &ArrayViewD<T>, in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>> {
        let mut one = in_shape.to_vec();
        one[0] = self.c_in;
        self.per_group(g, 2, self.c_out_per_group(), |_, conv, g| conv.vjp_mod(&g, &one, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_linear, check_vjp, randn};
    use crate::rng::Rng;
    use ndarray::Dimension;

    fn grouped(groups: usize, c_in: usize, c_out: usize, k: &[usize], seed: u64) -> (GroupedConv<f64>, ArrayD<f64>, ArrayD<f64>) {
        let mut rng = Rng::new(seed);
        let w = randn(&[&[c_out, c_in / groups][..], k].concat(), &mut rng);
        let b = randn(&[c_out], &mut rng);
        let kind = if k.len() == 1 { LayerKind::Conv1D } else { LayerKind::Conv2D };
        let layer = GroupedConv::new(kind, groups, WeightTensor::from(w.clone()), Some(b.clone()), |w, b| {
            if k.len() == 1 {
                Conv::new_1d(w, b, Some(&[2]), None, Some(&[1, 0]))
            } else {
                Conv::new_2d(w, b, Some(&[1, 2]), None, Some(&[1, 0, 1, 1]))
            }
        })
        .unwrap();
        (layer, w, b)
    }

    /// Forward equals the dense convolution with the block-diagonal weight that
    /// zeroes every cross-group filter tap.
    #[test]
    fn equals_block_diagonal_dense_convolution() {
        for (groups, c_in, c_out, k) in [(3, 3, 6, vec![3, 3]), (2, 4, 2, vec![2, 3]), (4, 4, 4, vec![3])] {
            let (layer, w, b) = grouped(groups, c_in, c_out, &k, 7);
            let cg = c_in / groups;
            let m = c_out / groups;
            let full = ArrayD::from_shape_fn(ndarray::IxDyn(&[&[c_out, c_in][..], &k].concat()), |ix| {
                let (o, c) = (ix[0], ix[1]);
                if c / cg == o / m {
                    let mut j: Vec<usize> = (0..ix.ndim()).map(|a| ix[a]).collect();
                    j[1] = c % cg;
                    w[ndarray::IxDyn(&j)]
                } else {
                    0.0
                }
            });
            let dense = if k.len() == 1 {
                Conv::new_1d(WeightTensor::from(full), Some(b), Some(&[2]), None, Some(&[1, 0])).unwrap()
            } else {
                Conv::new_2d(WeightTensor::from(full), Some(b), Some(&[1, 2]), None, Some(&[1, 0, 1, 1])).unwrap()
            };
            let shape = [&[2, c_in][..], if k.len() == 1 { &[7][..] } else { &[5, 6][..] }].concat();
            let x = randn(&shape, &mut Rng::new(3));
            let (a, e) = (layer.forward(&[x.view()]).unwrap(), dense.forward(&[x.view()]).unwrap());
            assert_eq!(a.shape(), e.shape());
            assert!(a.iter().zip(e.iter()).all(|(p, q)| (p - q).abs() < 1e-12));
            check_vjp(&layer, &[shape[1..].to_vec()], 2, 2, 5);
            check_linear(&layer, &shape[1..], 9);
        }
    }

    #[test]
    fn rejects_groups_that_do_not_divide_the_channels() {
        let w: WeightTensor<f64> = WeightTensor::from(ArrayD::<f64>::zeros(ndarray::IxDyn(&[5, 1, 3, 3])));
        assert!(GroupedConv::new(LayerKind::Conv2D, 2, w, None, |w, b| Conv::new_2d(w, b, None, None, None)).is_err());
        let (layer, _, _) = grouped(3, 3, 6, &[3, 3], 1);
        assert!(layer.output_shape(&[vec![4, 5, 5]]).is_err());
    }
}
