//! Model-agnostic explanations: KernelSHAP, permutation SHAP and LIME.
//!
//! These methods only need the model's predictions, so the model may be anything R
//! can call. The features of one instance are gathered into `p` groups (single
//! features of a table, patches of an image); a *coalition* is a binary vector over
//! the groups. For every instance, a [`session::Session`] writes the perturbed rows
//! (groups in the coalition from the instance, the others from a reference row),
//! receives the model's outputs for them chunk by chunk, and finally solves the
//! method's regression. The row layout is the caller's: one row per evaluated input,
//! the features in a fixed flat order, so R can hand the rows to any prediction
//! function (or the core runs a converted model on them directly).
//!
//! Each feature of a group carries an equal share of the group's value, so that sums
//! over features equal sums over groups (SHAP's efficiency holds feature-wise too).

pub mod coalitions;
pub mod kernel_shap;
pub mod lime;
pub mod permutation_shap;
pub mod session;
pub mod solve;

pub use session::{AgnosticResult, AgnosticSpec, Session};
