//! The extendr binding of innsight: converts R values to the core's tensors and back,
//! maps errors to tagged messages and owns the thread pool. No numerics live here.

mod ffi;

use extendr_api::prelude::*;

extendr_module! {
    mod innsight;
    use model;
    use run;
}

pub use ffi::{model, run};
