//! The extendr binding of innsight: converts R values to the core's tensors and back,
//! maps errors to tagged messages and owns the thread pool. No numerics live here.

mod ffi;

use extendr_api::prelude::*;

/// Large freed blocks are kept for the next block of the same size during a call
/// into the core, instead of being unmapped and faulted in again
/// (`innsight_core::block_cache`).
#[global_allocator]
pub static ALLOCATOR: innsight_core::block_cache::BlockCache = innsight_core::block_cache::BlockCache::new();

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
