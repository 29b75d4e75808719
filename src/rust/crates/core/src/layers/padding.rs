//! Padding of the spatial axes of `[B, C, L]` and `[B, C, H, W]` inputs, in torch's
//! four modes: `constant` (fill with `value`), `reflect` (mirror without repeating the
//! edge), `replicate` (repeat the edge) and `circular` (wrap around).
//!
//! `padding` lists the last axis first, as torch's `F.pad` does: `(left, right)` for
//! 1D inputs and `(left, right, top, bottom)` for 2D inputs. A single value pads every
//! side; for 2D inputs two values mean `(left = right, top = bottom)`. The list format
//! does not say whether the input is 1D or 2D, so lengths are resolved against the
//! input rank in shape inference.
//!
//! Every output position either holds `value` or copies one input position, and the
//! copy rule is separable per axis. So each axis gets a table "output index → source
//! index (or none)", the forward pass is a gather through the tables and the VJP the
//! matching scatter-add: a crop for `constant`, and a crop plus accumulation of the
//! padded border back onto its source positions for the other modes.

use super::{expect_inputs, Layer, LayerKind};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::{fmt_shape, reshape, Shape};
use ndarray::{Array3, ArrayD, ArrayViewD, Zip};

/// How padded positions are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Reflect,
    Replicate,
    Circular,
}

/// The mode names accepted in `mode`.
pub const PAD_MODES: &[&str] = &["constant", "reflect", "replicate", "circular"];

impl PadMode {
    /// The mode's name in the list format.
    pub fn name(self) -> &'static str {
        PAD_MODES[self as usize]
    }

    /// Source index along one axis for output index `o`, when `before` positions are
    /// padded in front of an axis of size `n` (the pad sizes were validated, see
    /// [`Padding::sides`]). `None` means "the constant value".
    fn source(self, o: usize, before: usize, n: usize) -> Option<usize> {
        let (i, n) = (o as isize - before as isize, n as isize);
        let inside = (0..n).contains(&i);
        match self {
            PadMode::Constant => inside.then_some(i as usize),
            PadMode::Replicate => Some(i.clamp(0, n - 1) as usize),
            // the edge itself is not repeated: index -1 mirrors to 1, n to n-2
            PadMode::Reflect => Some(if i < 0 { -i } else if i >= n { 2 * (n - 1) - i } else { i } as usize),
            PadMode::Circular => Some(i.rem_euclid(n) as usize),
        }
    }
}

/// A padding layer.
pub struct Padding {
    /// As given, last axis first.
    padding: Vec<usize>,
    mode: PadMode,
    value: f64,
}

impl Padding {
    /// From the list-format keys (`mode` defaults to "constant" and `value` to 0 in
    /// the builder).
    pub fn new(padding: &[usize], mode: &str, value: f64) -> Result<Self> {
        if !matches!(padding.len(), 1 | 2 | 4) {
            return Err(Error::Spec(format!(
                "`padding` must have length 1, 2 (1D: left, right; 2D: left/right, top/bottom) or 4 (2D: left, right, top, bottom), got {}",
                padding.len()
            )));
        }
        let mode = match mode {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "replicate" => PadMode::Replicate,
            "circular" => PadMode::Circular,
            other => {
                return Err(Error::Spec(format!("unknown padding `mode` '{other}'; expected one of {}", PAD_MODES.join(", "))))
            }
        };
        if value.is_nan() {
            return Err(Error::Spec("padding `value` must be a number, got NaN".into()));
        }
        Ok(Padding { padding: padding.to_vec(), mode, value })
    }

    /// The padding mode.
    pub fn mode(&self) -> PadMode {
        self.mode
    }

    /// The fill value of `constant` padding.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// `(before, after)` for every spatial axis in axis order (`[(left, right)]` for
    /// `(C, L)`, `[(top, bottom), (left, right)]` for `(C, H, W)`), checked against
    /// the input shape and the mode.
    pub fn sides(&self, shape: &[usize]) -> Result<Vec<(usize, usize)>> {
        let p = &self.padding;
        let sides = match (shape.len(), p.len()) {
            (2, 1) => vec![(p[0], p[0])],
            (2, 2) => vec![(p[0], p[1])],
            (2, n) => {
                return Err(Error::Spec(format!(
                    "`padding` for a 1D input {} must have length 1 or 2 (left, right), got {n}",
                    fmt_shape(shape)
                )))
            }
            (3, 1) => vec![(p[0], p[0]); 2],
            (3, 2) => vec![(p[1], p[1]), (p[0], p[0])],
            (3, 4) => vec![(p[2], p[3]), (p[0], p[1])],
            (3, n) => {
                return Err(Error::Spec(format!(
                    "`padding` for a 2D input {} must have length 1, 2 or 4 (left, right, top, bottom), got {n}",
                    fmt_shape(shape)
                )))
            }
            _ => {
                return Err(Error::Spec(format!(
                    "input shape {} is not supported: Padding works on (C, L) and (C, H, W) inputs",
                    fmt_shape(shape)
                )))
            }
        };
        let names = if shape.len() == 2 { ["length"].as_slice() } else { ["height", "width"].as_slice() };
        for ((&(lo, hi), &n), name) in sides.iter().zip(&shape[1..]).zip(names) {
            let big = lo.max(hi);
            let rule = match self.mode {
                PadMode::Constant => None,
                PadMode::Reflect => (big > 0 && big >= n).then_some("must be smaller than"),
                PadMode::Replicate => (big > 0 && n == 0).then_some("needs a non-empty"),
                PadMode::Circular => (big > n).then_some("must be at most"),
            };
            if let Some(rule) = rule {
                return Err(Error::Spec(format!(
                    "{} padding of {big} {rule} the input {name} ({n}) of input {}",
                    self.mode.name(),
                    fmt_shape(shape)
                )));
            }
        }
        Ok(sides)
    }

    /// Per-axis source tables for an input of shape `shape` (no batch axis).
    fn tables(&self, shape: &[usize]) -> Result<Tables> {
        let sides = self.sides(shape)?;
        let table = |(lo, hi): (usize, usize), n: usize| (0..lo + n + hi).map(|o| self.mode.source(o, lo, n)).collect::<Vec<_>>();
        Ok(match sides.as_slice() {
            [w] => Tables { rows: vec![Some(0)], cols: table(*w, shape[1]), plane: (1, shape[1]) },
            [h, w] => Tables { rows: table(*h, shape[1]), cols: table(*w, shape[2]), plane: (shape[1], shape[2]) },
            _ => return Err(Error::Internal("padding: unexpected number of spatial axes".into())),
        })
    }
}

/// Source index (or `None` for the constant) of every output row and column, and the
/// input plane size `(h, w)`. A 1D input is treated as a plane of height 1.
struct Tables {
    rows: Vec<Option<usize>>,
    cols: Vec<Option<usize>>,
    plane: (usize, usize),
}

impl<T: Scalar> Layer<T> for Padding {
    fn kind(&self) -> LayerKind {
        LayerKind::Padding
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape> {
        expect_inputs(inputs.len(), 1)?;
        let shape = &inputs[0];
        let sides = self.sides(shape)?;
        let mut out = vec![shape[0]];
        out.extend(sides.iter().zip(&shape[1..]).map(|(&(lo, hi), &n)| lo + n + hi));
        Ok(out)
    }

    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>> {
        let x = inputs[0].as_standard_layout();
        let in_shape = &x.shape()[1..];
        let Tables { rows, cols, plane: (h, w) } = self.tables(in_shape)?;
        let planes = x.shape()[0] * in_shape[0];
        let x3 = x.view().into_shape_with_order((planes, h, w)).map_err(|e| Error::Internal(e.to_string()))?;
        let mut y = Array3::from_elem((planes, rows.len(), cols.len()), T::of(self.value));
        Zip::from(y.outer_iter_mut()).and(x3.outer_iter()).par_for_each(|mut yp, xp| {
            for (oi, si) in rows.iter().enumerate() {
                let Some(si) = *si else { continue };
                for (oj, sj) in cols.iter().enumerate() {
                    if let Some(sj) = *sj {
                        yp[[oi, oj]] = xp[[si, sj]];
                    }
                }
            }
        });
        let mut out_shape = vec![x.shape()[0]];
        out_shape.extend(<Self as Layer<T>>::output_shape(self, &[in_shape.to_vec()])?);
        reshape(y.into_dyn(), &out_shape)
    }

    fn vjp(&self, inputs: &[ArrayViewD<T>], _output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>> {
        let in_shape = &inputs[0].shape()[1..];
        let Tables { rows, cols, plane: (h, w) } = self.tables(in_shape)?;
        let g = grad.as_standard_layout();
        let planes = g.shape()[0] * g.shape()[1] * in_shape[0];
        let g3 = g
            .view()
            .into_shape_with_order((planes, rows.len(), cols.len()))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut gi = Array3::<T>::zeros((planes, h, w));
        // each output position adds to its one source: positions without a source
        // (constant padding) are simply dropped
        Zip::from(gi.outer_iter_mut()).and(g3.outer_iter()).par_for_each(|mut ip, gp| {
            for (oi, si) in rows.iter().enumerate() {
                let Some(si) = *si else { continue };
                for (oj, sj) in cols.iter().enumerate() {
                    if let Some(sj) = *sj {
                        ip[[si, sj]] += gp[[oi, oj]];
                    }
                }
            }
        });
        let mut shape = grad.shape()[..2].to_vec();
        shape.extend_from_slice(in_shape);
        Ok(vec![reshape(gi.into_dyn(), &shape)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::{check_vjp, randn};
    use crate::rng::Rng;

    /// Naive reference: torch's definitions written out index by index.
    fn naive_index(mode: &str, i: isize, n: isize) -> Option<isize> {
        match mode {
            "constant" => (i >= 0 && i < n).then_some(i),
            "replicate" => Some(i.max(0).min(n - 1)),
            "reflect" => {
                let mut j = i;
                while j < 0 || j >= n {
                    j = if j < 0 { -j } else { 2 * (n - 1) - j };
                }
                Some(j)
            }
            "circular" => Some(((i % n) + n) % n),
            _ => unreachable!(),
        }
    }

    #[test]
    fn forward_1d_matches_naive_for_every_mode() {
        let mut rng = Rng::new(21);
        let x = randn(&[2, 3, 5], &mut rng);
        for mode in PAD_MODES {
            for (pad, (lo, hi)) in [(vec![2], (2, 2)), (vec![1, 3], (1, 3)), (vec![0, 4], (0, 4))] {
                let layer = Padding::new(&pad, mode, 1.5).unwrap();
                let y = <Padding as Layer<f64>>::forward(&layer, &[x.view()]).unwrap();
                assert_eq!(y.shape(), &[2, 3, 5 + lo + hi]);
                for b in 0..2 {
                    for c in 0..3 {
                        for o in 0..5 + lo + hi {
                            let want = naive_index(mode, o as isize - lo as isize, 5).map_or(1.5, |i| x[[b, c, i as usize]]);
                            assert_eq!(y[[b, c, o]], want, "{mode} {pad:?} at {b},{c},{o}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn forward_2d_matches_naive_for_every_mode() {
        let mut rng = Rng::new(22);
        let x = randn(&[2, 2, 4, 3], &mut rng);
        // (left, right, top, bottom) as torch orders them
        for mode in PAD_MODES {
            for (pad, (l, r, t, bo)) in [(vec![1], (1, 1, 1, 1)), (vec![2, 1], (2, 2, 1, 1)), (vec![0, 2, 3, 1], (0, 2, 3, 1))] {
                let layer = Padding::new(&pad, mode, -0.25).unwrap();
                let y = <Padding as Layer<f64>>::forward(&layer, &[x.view()]).unwrap();
                assert_eq!(y.shape(), &[2, 2, 4 + t + bo, 3 + l + r], "{mode} {pad:?}");
                for (ix, &v) in y.indexed_iter() {
                    let si = naive_index(mode, ix[2] as isize - t as isize, 4);
                    let sj = naive_index(mode, ix[3] as isize - l as isize, 3);
                    let want = match (si, sj) {
                        (Some(i), Some(j)) => x[[ix[0], ix[1], i as usize, j as usize]],
                        _ => -0.25,
                    };
                    assert_eq!(v, want, "{mode} {pad:?} at {ix:?}");
                }
            }
        }
    }

    #[test]
    fn reflect_and_circular_match_torch_examples() {
        let x = ndarray::Array::from_shape_vec(ndarray::IxDyn(&[1, 1, 4]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let pad = |mode: &str| {
            let layer = Padding::new(&[3, 2], mode, 0.0).unwrap();
            <Padding as Layer<f64>>::forward(&layer, &[x.view()]).unwrap().into_raw_vec_and_offset().0
        };
        // torch.nn.functional.pad(torch.tensor([[[1., 2, 3, 4]]]), (3, 2), mode)
        assert_eq!(pad("reflect"), vec![4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]);
        assert_eq!(pad("replicate"), vec![1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0]);
        assert_eq!(pad("circular"), vec![2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0]);
        assert_eq!(pad("constant"), vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
    }

    #[test]
    fn vjp_matches_finite_differences_for_every_mode() {
        for (k, mode) in PAD_MODES.iter().enumerate() {
            let seed = 200 + 10 * k as u64;
            check_vjp(&Padding::new(&[2, 3], mode, 0.7).unwrap(), &[vec![2, 4]], 2, 2, seed);
            check_vjp(&Padding::new(&[1], mode, 0.0).unwrap(), &[vec![2, 3, 3]], 2, 2, seed + 1);
            check_vjp(&Padding::new(&[2, 1], mode, 0.0).unwrap(), &[vec![1, 3, 4]], 1, 3, seed + 2);
            check_vjp(&Padding::new(&[0, 2, 1, 2], mode, 0.0).unwrap(), &[vec![2, 3, 3]], 2, 1, seed + 3);
        }
    }

    #[test]
    fn vjp_of_replicate_sums_the_border_into_the_edge() {
        let layer = Padding::new(&[2, 1], "replicate", 0.0).unwrap();
        let x = ArrayD::<f64>::zeros(ndarray::IxDyn(&[1, 1, 3]));
        let y = <Padding as Layer<f64>>::forward(&layer, &[x.view()]).unwrap();
        let g = ArrayD::<f64>::ones(ndarray::IxDyn(&[1, 1, 1, 6]));
        let gi = <Padding as Layer<f64>>::vjp(&layer, &[x.view()], &y.view(), &g.view()).unwrap();
        assert_eq!(gi[0].as_slice().unwrap(), &[3.0, 1.0, 2.0]);
    }

    #[test]
    fn rejects_bad_arguments_and_inputs() {
        let err = |r: Result<Padding>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Padding::new(&[1, 2, 3], "constant", 0.0)).contains("length 1, 2"));
        assert!(err(Padding::new(&[], "constant", 0.0)).contains("got 0"));
        assert!(err(Padding::new(&[1], "zeros", 0.0)).contains("unknown padding `mode` 'zeros'"));
        assert!(err(Padding::new(&[1], "constant", f64::NAN)).contains("NaN"));

        let shape_err = |pad: &[usize], mode: &str, shape: Shape| {
            let layer = Padding::new(pad, mode, 0.0).unwrap();
            <Padding as Layer<f64>>::output_shape(&layer, &[shape]).unwrap_err().to_string()
        };
        let e = shape_err(&[4], "reflect", vec![2, 4]);
        assert!(e.contains("reflect padding of 4 must be smaller than the input length (4)"), "{e}");
        let e = shape_err(&[1, 1, 0, 3], "reflect", vec![2, 3, 5]);
        assert!(e.contains("input height (3)"), "{e}");
        let e = shape_err(&[5], "circular", vec![2, 4]);
        assert!(e.contains("at most the input length (4)"), "{e}");
        assert!(shape_err(&[1], "constant", vec![6]).contains("(C, L) and (C, H, W)"));
        assert!(shape_err(&[1], "constant", vec![1, 2, 3, 4]).contains("(C, L) and (C, H, W)"));
        assert!(shape_err(&[1, 1, 1, 1], "constant", vec![2, 4]).contains("1D input"));

        // boundary cases that are allowed
        let ok = |pad: &[usize], mode: &str, shape: Shape| {
            <Padding as Layer<f64>>::output_shape(&Padding::new(pad, mode, 0.0).unwrap(), &[shape]).unwrap()
        };
        assert_eq!(ok(&[3], "reflect", vec![1, 4]), vec![1, 10]);
        assert_eq!(ok(&[4], "circular", vec![1, 4]), vec![1, 12]);
        assert_eq!(ok(&[9], "replicate", vec![1, 1]), vec![1, 19]);
        assert_eq!(ok(&[2, 1], "constant", vec![3, 5, 6]), vec![3, 7, 10]);
        assert_eq!(<Padding as Layer<f64>>::kind(&Padding::new(&[1], "constant", 0.0).unwrap()), LayerKind::Padding);
    }
}
