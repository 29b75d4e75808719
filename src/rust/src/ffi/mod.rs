//! The R ⇄ Rust boundary, one concern per file.

pub mod agnostic;
pub mod blob;
pub mod convert;
pub mod error;
pub mod image;
pub mod isa;
pub mod io;
pub mod memory;
pub mod model;
pub mod run;
pub mod sketch;
pub mod threads;
