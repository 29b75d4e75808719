//! Files: safetensors bytes in and out, with no R types and no file system access
//! (the binding reads and writes the bytes).
//!
//! * [`tensors`]: any safetensors file → named `f64` tensors (row-major, the file's
//!   shapes), e.g. torchvision/timm state dicts; and a deterministic writer.
//! * [`model_file`]: innsight's own model file, one safetensors file whose
//!   `__metadata__` carries the list-format description as JSON, the precision, a
//!   format version and a checksum, and whose tensors are the weights
//!   `layers.<i>.<name>` in the converter's precision (`F32` or `F64`).
//! * [`crc32`]: the checksum (CRC-32 as in zlib).
//!
//! Malformed input never panics: every problem is an [`crate::Error::Io`] (the bytes
//! are not a readable safetensors file, or they are corrupt) or an
//! [`crate::Error::Spec`] (a readable file that does not describe a valid model).

pub mod crc32;
pub mod model_file;
pub mod onnx;
pub mod tensors;

pub use model_file::{read_model, write_model, ModelFile, Precision};
pub use tensors::{write_tensors, TensorFile};
pub use safetensors::Dtype;
