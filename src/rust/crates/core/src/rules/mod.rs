//! Rules for the reverse driver ([`crate::propagate::Rule`]). A rule works through a
//! layer's capabilities (its VJP, [`crate::layers::Linear`], its activation), never
//! through its concrete type, so each rule is written once.
//!
//! * [`lrp`]: LRP rules (innsight's simple, epsilon, alpha_beta, pass; zennit's gamma,
//!   flat, w², z-box) built on the basic decomposition.
//! * [`deeplift`]: DeepLift's Rescale and RevealCancel multipliers.

pub mod deeplift;
pub mod lrp;
