//! innsight-core: the numeric core of the innsight R package.
//!
//! It knows nothing about R. A model is described by innsight's list format
//! ([`spec::ModelSpec`], JSON) plus named weight tensors; [`graph::Graph`] turns that
//! into an immutable DAG of [`layers::Layer`]s. [`graph::Graph::forward`] writes every
//! node's output into a [`graph::Trace`], and [`propagate::backward`] runs the single
//! reverse pass in which a [`propagate::Rule`] decides at each node how the upper
//! signal becomes the lower one. The methods in [`methods`] only wire these together.
//!
//! Layout conventions (see [`tensor`]): row-major, batch first, channels first.
//! Backward signals carry the selected model outputs as an extra leading axis.

pub mod activation;
pub mod agnostic;
pub mod block_cache;
pub mod composite;
pub mod error;
pub mod gemm_path;
pub mod graph;
pub mod image;
pub mod io;
pub mod isa;
pub mod layers;
pub mod layout;
pub mod linalg;
pub mod methods;
pub mod propagate;
pub mod rng;
pub mod rules;
pub mod scalar;
pub mod sketch;
pub mod spec;
pub mod tensor;

pub use error::{Error, Result};
pub use graph::{Graph, Trace};
pub use scalar::Scalar;
pub use spec::ModelSpec;
