//! Image resizing for `load_images()`: separable resampling as in Pillow's
//! `Image.resize` (and torchvision's `Resize(antialias = True)`), on `f64` planes.
//!
//! Each output pixel `o` along an axis of input size `n` and output size `m` looks at
//! the input around the centre `c = (o + 1/2)·s` with `s = n/m`. The filter kernel `K`
//! is widened by `f = max(s, 1)`, so shrinking averages over every input pixel the
//! output pixel covers (antialiasing) instead of sampling a few of them:
//!
//! `y[o] = Σ_i K((i − c + 1/2)/f) · x[i] / Σ_i K((i − c + 1/2)/f)`,
//! `i` from `⌊c − r + 1/2⌋` to `⌊c + r + 1/2⌋ − 1` clipped to the image, `r` = support·f.
//!
//! The weights are normalised per output pixel, so constant images stay constant,
//! and an axis whose size does not change is copied (the weights are then exactly
//! 0 and 1). Rows are resampled first, then columns, as Pillow does. Filters:
//! `bilinear` (triangle, support 1: Pillow's `BILINEAR`), `bicubic` (Keys' cubic with
//! a = −1/2, support 2), `lanczos` (Lanczos-3) and `nearest` (the input pixel under
//! the output pixel's centre, `⌊(o + 1/2)·s⌋`, no averaging: Pillow's `NEAREST`, the
//! default of Keras' `load_img`).
//!
//! Pillow computes 8-bit images in fixed point, clipping and rounding to integers
//! after each pass; here everything stays in `f64` (optionally clipped to a range
//! after each pass, see [`resize`]), which agrees with Pillow's float ("F") images
//! to rounding and with its 8-bit images to within one grey level.

use crate::error::{Error, Result};
use ndarray::{Array3, ArrayView3, Axis};

/// A resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Bilinear,
    Bicubic,
    Lanczos,
}

/// The filter names accepted by [`Filter::from_name`].
pub const FILTERS: &[&str] = &["nearest", "bilinear", "bicubic", "lanczos"];

impl Filter {
    /// Parse a filter name.
    pub fn from_name(name: &str) -> Result<Filter> {
        match name {
            "nearest" => Ok(Filter::Nearest),
            "bilinear" => Ok(Filter::Bilinear),
            "bicubic" => Ok(Filter::Bicubic),
            "lanczos" => Ok(Filter::Lanczos),
            other => Err(Error::Argument(format!(
                "unknown resize filter \"{other}\"; expected one of {}",
                FILTERS.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Half-width of the kernel at scale 1.
    fn support(self) -> f64 {
        match self {
            Filter::Nearest => 0.5,
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
            Filter::Lanczos => 3.0,
        }
    }

    /// The kernel.
    fn kernel(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Nearest => f64::from(u8::from(x < 0.5)),
            Filter::Bilinear => (1.0 - x).max(0.0),
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Filter::Lanczos => {
                if x < 3.0 {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// The weights of one output position: the first input index and the weights of the
/// consecutive input positions from there.
#[derive(Debug, Clone)]
struct Taps {
    first: usize,
    weights: Vec<f64>,
}

/// Weights for resampling an axis of `n` positions to `m`.
fn taps(filter: Filter, n: usize, m: usize) -> Vec<Taps> {
    let scale = n as f64 / m as f64;
    if filter == Filter::Nearest {
        return (0..m)
            .map(|o| Taps { first: (((o as f64 + 0.5) * scale).floor() as usize).min(n - 1), weights: vec![1.0] })
            .collect();
    }
    let fscale = scale.max(1.0);
    let support = filter.support() * fscale;
    (0..m)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - support + 0.5).floor().max(0.0) as usize).min(n - 1);
            let hi = ((centre + support + 0.5).floor() as usize).clamp(lo + 1, n);
            let mut weights: Vec<f64> =
                (lo..hi).map(|i| filter.kernel((i as f64 - centre + 0.5) / fscale)).collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            Taps { first: lo, weights }
        })
        .collect()
}

/// Resample the last axis of `src` (`[planes, rows, n]`) to `m` positions.
fn resample_last(src: ArrayView3<f64>, m: usize, filter: Filter) -> Array3<f64> {
    let (p, r, n) = src.dim();
    let t = taps(filter, n, m);
    let mut out = Array3::<f64>::zeros((p, r, m));
    for (src_plane, mut out_plane) in src.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
        for (row, mut out_row) in src_plane.rows().into_iter().zip(out_plane.rows_mut()) {
            for (o, tap) in t.iter().enumerate() {
                out_row[o] = tap.weights.iter().enumerate().map(|(k, w)| w * row[tap.first + k]).sum();
            }
        }
    }
    out
}

/// Resize every plane of `src` (`[planes, height, width]`) to `out_h × out_w`.
/// With `range = Some((lo, hi))`, the result of each pass is clipped to it, as
/// Pillow does for 8-bit images (it matters only for the filters with negative
/// lobes, `bicubic` and `lanczos`, which can overshoot at edges).
pub fn resize(
    src: ArrayView3<f64>,
    out_h: usize,
    out_w: usize,
    filter: Filter,
    range: Option<(f64, f64)>,
) -> Result<Array3<f64>> {
    let (p, h, w) = src.dim();
    if h == 0 || w == 0 {
        return Err(Error::Argument(format!("cannot resize an empty image ({h} x {w})")));
    }
    if out_h == 0 || out_w == 0 {
        return Err(Error::Argument(format!("the target size must be positive, got {out_h} x {out_w}")));
    }
    if p == 0 {
        return Ok(Array3::zeros((0, out_h, out_w)));
    }
    let clip = |mut a: Array3<f64>| {
        if let Some((lo, hi)) = range {
            a.mapv_inplace(|v| v.clamp(lo, hi));
        }
        a
    };
    // rows (the width) first, then columns (the height), each only when it changes
    let wide = if out_w != w { clip(resample_last(src, out_w, filter)) } else { src.to_owned() };
    if out_h == h {
        return Ok(wide);
    }
    let swapped = wide.view().permuted_axes([0, 2, 1]);
    let tall = clip(resample_last(swapped.as_standard_layout().view(), out_h, filter));
    Ok(tall.permuted_axes([0, 2, 1]).as_standard_layout().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn ramp(p: usize, h: usize, w: usize) -> Array3<f64> {
        Array3::from_shape_fn((p, h, w), |(c, i, j)| (c * 1000 + i * 37 + j * 11) as f64 % 255.0)
    }

    #[test]
    fn same_size_is_the_identity() {
        let x = ramp(3, 7, 5);
        for f in [Filter::Nearest, Filter::Bilinear, Filter::Bicubic, Filter::Lanczos] {
            assert_eq!(resize(x.view(), 7, 5, f, None).unwrap(), x);
        }
    }

    #[test]
    fn constant_images_stay_constant() {
        let x = Array3::from_elem((2, 13, 9), 17.25);
        for f in [Filter::Nearest, Filter::Bilinear, Filter::Bicubic, Filter::Lanczos] {
            for (h, w) in [(4, 3), (30, 20), (13, 2), (1, 1)] {
                let y = resize(x.view(), h, w, f, None).unwrap();
                assert_eq!(y.dim(), (2, h, w));
                assert!(y.iter().all(|v| (v - 17.25).abs() < 1e-12), "{f:?} {h}x{w}");
            }
        }
    }

    #[test]
    fn halving_a_checkerboard_averages_it() {
        let x = Array3::from_shape_fn((1, 16, 16), |(_, i, j)| ((i + j) % 2) as f64);
        let y = resize(x.view(), 8, 8, Filter::Bilinear, None).unwrap();
        // inside, each output pixel sees the weights 1/8, 3/8, 3/8, 1/8 along each axis
        for i in 1..7 {
            for j in 1..7 {
                assert!((y[[0, i, j]] - 0.5).abs() < 1e-12);
            }
        }
        // a factor-2 nearest pick takes the lower-right pixel of each 2 x 2 block
        let n = resize(x.view(), 8, 8, Filter::Nearest, None).unwrap();
        assert!(n.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bilinear_weights_match_pillow_by_hand() {
        // 4 -> 2: support 2 around centres 1 and 3: weights (3, 3, 1)/7 and (1, 3, 3)/7
        let x = Array3::from_shape_vec((1, 1, 4), vec![1.0, 2.0, 4.0, 8.0]).unwrap();
        let y = resize(x.view(), 1, 2, Filter::Bilinear, None).unwrap();
        assert!((y[[0, 0, 0]] - (3.0 + 6.0 + 4.0) / 7.0).abs() < 1e-12);
        assert!((y[[0, 0, 1]] - (2.0 + 12.0 + 24.0) / 7.0).abs() < 1e-12);
        // 2 -> 4 (enlarging): centres 0.25, 0.75, 1.25, 1.75, triangle of width 1
        let x = Array3::from_shape_vec((1, 1, 2), vec![0.0, 4.0]).unwrap();
        let y = resize(x.view(), 1, 4, Filter::Bilinear, None).unwrap();
        assert_eq!(y.into_raw_vec_and_offset().0, vec![0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn rows_and_columns_are_not_mixed_up() {
        let x = ramp(2, 6, 10);
        let y = resize(x.view(), 3, 10, Filter::Bilinear, None).unwrap();
        let yt = resize(x.view().permuted_axes([0, 2, 1]).as_standard_layout().view(), 10, 3, Filter::Bilinear, None).unwrap();
        assert_eq!(y, yt.permuted_axes([0, 2, 1]));
    }

    #[test]
    fn clipping_applies_after_each_pass() {
        let x = Array3::from_shape_fn((1, 6, 6), |(_, i, j)| if (i + j) % 3 == 0 { 255.0 } else { 0.0 });
        let free = resize(x.view(), 17, 15, Filter::Lanczos, None).unwrap();
        assert!(free.iter().any(|&v| !(0.0..=255.0).contains(&v)));
        let clipped = resize(x.view(), 17, 15, Filter::Lanczos, Some((0.0, 255.0))).unwrap();
        assert!(clipped.iter().all(|&v| (0.0..=255.0).contains(&v)));
    }

    #[test]
    fn bad_sizes_are_errors() {
        let x = ramp(1, 3, 3);
        assert!(resize(x.view(), 0, 3, Filter::Bilinear, None).is_err());
        assert!(Filter::from_name("cubic").is_err());
    }
}
