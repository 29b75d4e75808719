//! Rules for the reverse driver ([`crate::propagate::Rule`]). A rule works through a
//! layer's capabilities (its VJP, [`crate::layers::Linear`], its activation), never
//! through its concrete type, so each rule is written once.
//!
//! * [`basic`]: zennit's decomposition of an LRP rule (modified inputs and parameters,
//!   a stabilised denominator, input times VJP), written against the Linear capability.
//! * [`lrp`]: LRP rules (innsight's simple, epsilon, alpha_beta, pass; zennit's gamma,
//!   flat, w², z-box, z⁺) built on the basic decomposition.
//! * [`deeplift`]: DeepLift's Rescale and RevealCancel multipliers.

pub mod basic;
pub mod deeplift;
pub mod lrp;
