//! Image resizing for `load_images()`: R's `(height, width, channels)` arrays in,
//! resized arrays of the same layout out. The work is `innsight_core::image`.

use super::convert::r_dims;
use super::error::{arg_err, guarded, to_r};
use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::image::{resize, Filter};
use innsight_core::Result as CoreResult;
use ndarray::ArrayView3;

/// Resize an image array `(height, width, channels)` (doubles) to
/// `height x width` with a filter ("bilinear", "bicubic", "lanczos", "nearest"),
/// clipping each pass to `c(lo, hi)` unless `lo > hi`.
/// @param x Numeric array `(H, W, C)`.
/// @param height,width Target size.
/// @param filter Filter name.
/// @param lo,hi Value range (e.g. 0 and 255).
/// @noRd
#[extendr]
fn image_resize(x: Robj, height: i32, width: i32, filter: &str, lo: f64, hi: f64) -> RResult<Robj> {
    let f = to_r(Filter::from_name(filter))?;
    let dims = r_dims(&x);
    if dims.len() != 3 {
        return to_r(Err(arg_err(format!("an image must be a (height, width, channels) array, got {} dims", dims.len()))));
    }
    if height < 1 || width < 1 {
        return to_r(Err(arg_err(format!("the target size must be positive, got {height} x {width}"))));
    }
    let data = x.as_real_slice().ok_or_else(|| Error::Other("[innsight:argument] an image must be a double array".into()))?;
    let (h, w, c) = (dims[0], dims[1], dims[2]);
    let (oh, ow) = (height as usize, width as usize);
    // R's column-major (H, W, C) is row-major (C, W, H); the core wants (C, H, W)
    // (its pass order, width first, matters when passes are clipped), and the
    // result goes back the same way.
    let out = to_r(guarded(|| -> CoreResult<Vec<f64>> {
        let view = ArrayView3::from_shape((c, w, h), data).map_err(|e| arg_err(e.to_string()))?;
        let planes = view.permuted_axes([0, 2, 1]).as_standard_layout().into_owned();
        let resized = resize(planes.view(), oh, ow, f, (lo <= hi).then_some((lo, hi)))?;
        Ok(resized.permuted_axes([0, 2, 1]).as_standard_layout().into_owned().into_raw_vec_and_offset().0)
    }))?;
    let mut robj: Robj = out.into();
    robj.set_attrib("dim", vec![oh as i32, ow as i32, c as i32])?;
    Ok(robj)
}

extendr_module! {
    mod image;
    fn image_resize;
}
