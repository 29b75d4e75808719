//! Giving freed memory back to the system.
//!
//! The passes allocate their activations on the worker threads, whose malloc arenas
//! keep freed blocks for the next run (re-faulting them costs more than the run's
//! element-wise layers, so the package does not trim after every call). The
//! benchmark trims before each case, as its Python side does, so that a case's peak
//! is its own and not what earlier cases left in the arenas.

use extendr_api::prelude::*;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    fn malloc_trim(pad: usize) -> std::os::raw::c_int;
}

/// Give the free memory of every malloc arena back to the system (glibc; a no-op
/// elsewhere). Internal: used by the benchmark between cases.
/// @noRd
#[extendr]
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it may be called at any time.
    unsafe {
        malloc_trim(0);
    }
}

extendr_module! {
    mod memory;
    fn release_free_memory;
}
