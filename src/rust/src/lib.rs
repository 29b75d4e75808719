//! The extendr binding of innsight: converts R values to the core's tensors and back,
//! maps errors to tagged messages and owns the thread pool. No numerics live here.

mod ffi;

use extendr_api::prelude::*;

extendr_module! {
    mod innsight;
    use model;
    use blob;
    use agnostic;
    use run;
    use io;
    use image;
    use memory;
    use isa;
    use sketch;
}

pub use ffi::{agnostic, blob, model, run};
pub use ffi::io;
pub use ffi::image;
pub use ffi::memory;
pub use ffi::isa;
pub use ffi::sketch;
