//! One error enum for the whole core. Every variant has a stable `kind()` string that
//! the R side turns into the condition class `innsight_error_<kind>`.

/// Errors raised by the core. Messages name the offending layer (1-based, as in the
/// R list format) or argument and say what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model description is malformed (missing keys, bad values, cycles, ...).
    #[error("{0}")]
    Spec(String),
    /// A layer's inputs, weights or parameters do not fit together.
    #[error("layer {index} ({type_name}): {msg}")]
    Layer { index: usize, type_name: String, msg: String },
    /// Data passed to a method does not fit the model.
    #[error("{0}")]
    Data(String),
    /// A method argument is invalid.
    #[error("{0}")]
    Argument(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// A bug: an invariant of the core was broken.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Stable short name used for the R condition class.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Spec(_) => "model",
            Error::Layer { .. } => "layer",
            Error::Data(_) => "data",
            Error::Argument(_) => "argument",
            Error::Io(_) => "io",
            Error::Internal(_) => "internal",
        }
    }

    /// Attach a layer index and type to an error raised while handling that layer.
    pub fn in_layer(self, index: usize, type_name: &str) -> Error {
        match self {
            Error::Layer { .. } => self,
            other => Error::Layer { index, type_name: type_name.to_string(), msg: other.to_string() },
        }
    }
}

/// Result alias used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for `Err(Error::Spec(format!(...)))`.
#[macro_export]
macro_rules! spec_err {
    ($($arg:tt)*) => { Err($crate::error::Error::Spec(format!($($arg)*))) };
}
