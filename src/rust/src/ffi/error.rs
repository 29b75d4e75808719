//! Errors crossing into R. Every message starts with a tag `[innsight:<kind>] ` that
//! the R helper `rust_call()` turns into the condition class `innsight_error_<kind>`.
//! Panics are caught here and reported as internal errors, never as panic text.

use innsight_core::Error as CoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Format a core error as a tagged message.
pub fn tagged(e: &CoreError) -> String {
    format!("[innsight:{}] {}", e.kind(), e)
}

/// Convert a core result into an extendr result with a tagged message.
pub fn to_r<T>(r: innsight_core::Result<T>) -> extendr_api::Result<T> {
    r.map_err(|e| extendr_api::Error::Other(tagged(&e)))
}

/// Run `f`, turning a panic into an internal error.
pub fn guarded<T>(f: impl FnOnce() -> innsight_core::Result<T>) -> innsight_core::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(CoreError::Internal(format!("the Rust core failed unexpectedly ({what}); please report this")))
        }
    }
}

/// Shorthand for an argument error.
pub fn arg_err(msg: impl Into<String>) -> CoreError {
    CoreError::Argument(msg.into())
}
