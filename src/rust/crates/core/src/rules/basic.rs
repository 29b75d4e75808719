//! zennit's decomposition of an LRP rule (its `BasicHook`), written once against the
//! [`Linear`] capability so that every rule works on every linear layer (dense,
//! convolution, average pooling, batch norm) without knowing which one it is.
//!
//! A rule is a list of [`Group`]s. A group is a list of [`Term`]s, each a modified input
//! sent through the layer with modified parameters: `o_k = W_k · m_k(x) + b_k`. Per group,
//!
//! * the denominator is `d = stab(Σ_k c_k o_k)` (see [`Stabiliser`]);
//! * the signal is `g = gate ⊙ R / d` (`R` the upper relevance, `gate` an optional
//!   0/1 mask from the sign of the unmodified output `z = W x + b`);
//! * the relevance is `Σ_k c_k · m_k(x) ⊙ W_kᵀ g`,
//!
//! and the rule's result is the weighted sum `Σ_groups weight · relevance`. The input
//! relevance of, e.g., innsight's epsilon rule is one group with one term
//! (`x`, `W`, `b`), and its alpha-beta rule is two groups of two terms.

use crate::error::{Error, Result};
use crate::graph::Node;
use crate::layers::{BiasMod, Linear, WeightMod};
use crate::propagate::Rule;
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD, Zip};

/// What a term feeds the layer instead of its input `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputMod {
    /// `x`
    Identity,
    /// `x⁺ = max(x, 0)`
    Positive,
    /// `x⁻ = min(x, 0)`
    Negative,
    /// a constant tensor (zennit's ZBox bounds)
    Const(f64),
    /// all ones (zennit's Flat and WSquare)
    Ones,
}

/// One term: `c · W'(m(x)) + b'`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Coefficient `c` of the term, in the denominator and in the relevance.
    pub coef: f64,
    pub input: InputMod,
    pub weight: WeightMod,
    pub bias: BiasMod,
}

impl Term {
    /// A term with coefficient 1.
    pub const fn new(input: InputMod, weight: WeightMod, bias: BiasMod) -> Term {
        Term { coef: 1.0, input, weight, bias }
    }

    /// The unmodified layer: `W x + b`, which is the traced output of a linear node.
    pub const fn identity() -> Term {
        Term::new(InputMod::Identity, WeightMod::Identity, BiasMod::Keep)
    }

    /// The same term with coefficient `coef`.
    pub const fn times(self, coef: f64) -> Term {
        Term { coef, ..self }
    }
}

/// A stabiliser amount: a fixed value, or innsight's `stab` of the scalar type
/// ([`Scalar::STAB`]: 1e-6 in float, 1e-15 in double) with either sign.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Fixed(f64),
    Stab,
    MinusStab,
}

impl Amount {
    fn value<T: Scalar>(self) -> T {
        match self {
            Amount::Fixed(v) => T::of(v),
            Amount::Stab => T::STAB,
            Amount::MinusStab => -T::STAB,
        }
    }
}

/// `d ↦ d + eps · sgn(d) + at_zero · [d = 0]` (with `sgn(0) = 0`).
///
/// innsight's simple rule is `eps = at_zero = stab`, its epsilon rule `eps = ε,
/// at_zero = stab`, the negative part of its alpha-beta rule `eps = stab, at_zero =
/// −stab`; zennit's `stabilize` is `eps = at_zero = 1e-6`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stabiliser {
    pub eps: Amount,
    pub at_zero: Amount,
}

impl Stabiliser {
    /// `eps = at_zero = stab`.
    pub const SIMPLE: Stabiliser = Stabiliser { eps: Amount::Stab, at_zero: Amount::Stab };

    /// zennit's stabiliser with the given epsilon: `eps = at_zero = epsilon`.
    pub const fn zennit(epsilon: f64) -> Stabiliser {
        Stabiliser { eps: Amount::Fixed(epsilon), at_zero: Amount::Fixed(epsilon) }
    }

    /// Stabilise `d` in place.
    pub fn apply<T: Scalar>(self, d: &mut ArrayD<T>) {
        let (eps, at_zero) = (self.eps.value::<T>(), self.at_zero.value::<T>());
        d.mapv_inplace(|v| stabilised(v, eps, at_zero));
    }
}

/// `v + eps · sgn(v) + at_zero · [v = 0]`.
#[inline]
pub fn stabilised<T: Scalar>(v: T, eps: T, at_zero: T) -> T {
    if v > T::zero() {
        v + eps
    } else if v < T::zero() {
        v - eps
    } else if v == T::zero() {
        v + at_zero
    } else {
        v
    }
}

/// Which output positions a group explains (zennit's Gamma rule splits by the sign of
/// the unmodified output `z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    All,
    /// only where `z > 0`
    OutputPositive,
    /// only where `z < 0`
    OutputNegative,
}

/// Terms sharing one denominator.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Weight of the group's relevance in the result.
    pub weight: f64,
    pub terms: Vec<Term>,
    pub stabiliser: Stabiliser,
    pub gate: Gate,
}

impl Group {
    /// A group of weight 1 over all outputs.
    pub fn new(terms: Vec<Term>, stabiliser: Stabiliser) -> Group {
        Group { weight: 1.0, terms, stabiliser, gate: Gate::All }
    }

    /// The same group with another weight.
    pub fn weighted(self, weight: f64) -> Group {
        Group { weight, ..self }
    }

    /// The same group restricted by a gate.
    pub fn gated(self, gate: Gate) -> Group {
        Group { gate, ..self }
    }

    /// Whether the denominator is the unmodified output (one identity term).
    fn is_output(&self) -> bool {
        self.terms == [Term::identity()]
    }
}

/// An LRP rule in zennit's decomposition. As a [`Rule`] it acts on nodes with the
/// [`Linear`] capability; [`BasicRule::apply`] runs it on any linear map.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicRule {
    pub groups: Vec<Group>,
}

/// Modified inputs, computed once per rule application.
struct Inputs<'a, 'b, T: Scalar> {
    x: &'a ArrayViewD<'b, T>,
    cache: Vec<(InputMod, ArrayD<T>)>,
}

impl<T: Scalar> Inputs<'_, '_, T> {
    fn get(&mut self, m: InputMod) -> ArrayViewD<'_, T> {
        if m == InputMod::Identity {
            return self.x.view();
        }
        let at = match self.cache.iter().position(|(k, _)| *k == m) {
            Some(at) => at,
            None => {
                let v = match m {
                    InputMod::Positive => self.x.mapv(|v| v.max(T::zero())),
                    InputMod::Negative => self.x.mapv(|v| v.min(T::zero())),
                    InputMod::Const(c) => ArrayD::from_elem(self.x.raw_dim(), T::of(c)),
                    InputMod::Ones => ArrayD::from_elem(self.x.raw_dim(), T::one()),
                    InputMod::Identity => unreachable!("handled above"),
                };
                self.cache.push((m, v));
                self.cache.len() - 1
            }
        };
        self.cache[at].1.view()
    }
}

impl BasicRule {
    /// Input relevance `[S, B, in...]` for the linear map `lin` at input `x` `[B, in...]`
    /// and upper relevance `upper` `[S, B, out...]`. `z` is the map's unmodified output
    /// `W x + b` when it is known (the traced output of a linear node); otherwise it is
    /// computed where needed.
    pub fn apply<T: Scalar>(
        &self,
        lin: &dyn Linear<T>,
        x: &ArrayViewD<T>,
        z: Option<&ArrayViewD<T>>,
        upper: &ArrayViewD<T>,
    ) -> Result<ArrayD<T>> {
        let in_shape = &x.shape()[1..];
        let needs_z = self.groups.iter().any(|g| g.gate != Gate::All || g.is_output());
        let computed: ArrayD<T>;
        let z: Option<ArrayViewD<T>> = match (needs_z, z) {
            (false, _) => None,
            (true, Some(z)) => Some(z.view()),
            (true, None) => {
                computed = lin.forward_mod(x, WeightMod::Identity, BiasMod::Keep)?;
                Some(computed.view())
            }
        };
        let mut inputs = Inputs { x, cache: Vec::new() };
        let mut out: Option<ArrayD<T>> = None;
        for group in &self.groups {
            // denominator: Σ_k c_k o_k, stabilised
            let mut d = match (&z, group.is_output()) {
                (Some(z), true) => z.to_owned(),
                _ => {
                    let mut acc: Option<ArrayD<T>> = None;
                    for t in &group.terms {
                        let mut o = lin.forward_mod(&inputs.get(t.input), t.weight, t.bias)?;
                        if t.coef != 1.0 {
                            o.mapv_inplace(|v| v * T::of(t.coef));
                        }
                        match &mut acc {
                            Some(a) => *a += &o,
                            None => acc = Some(o),
                        }
                    }
                    acc.ok_or_else(|| Error::Internal("an LRP rule group without terms".into()))?
                }
            };
            group.stabiliser.apply(&mut d);
            // signal g = gate ⊙ R / d, broadcast over the leading S axis
            let mut g = upper.to_owned();
            for mut slab in g.outer_iter_mut() {
                slab.zip_mut_with(&d, |r, &dv| *r /= dv);
            }
            if group.gate != Gate::All {
                let z = z.as_ref().ok_or_else(|| Error::Internal("gated LRP group without output".into()))?;
                let keep = |v: T| match group.gate {
                    Gate::OutputPositive => v > T::zero(),
                    Gate::OutputNegative => v < T::zero(),
                    Gate::All => true,
                };
                for mut slab in g.outer_iter_mut() {
                    slab.zip_mut_with(z, |r, &zv| {
                        if !keep(zv) {
                            *r = T::zero();
                        }
                    });
                }
            }
            // relevance Σ_k c_k m_k(x) ⊙ W_kᵀ g, weighted
            for t in &group.terms {
                let mut r = lin.vjp_mod(&g.view(), in_shape, t.weight)?;
                match t.input {
                    InputMod::Ones => {}
                    InputMod::Const(c) => r.mapv_inplace(|v| v * T::of(c)),
                    m => {
                        let xm = inputs.get(m);
                        for mut slab in r.outer_iter_mut() {
                            slab.zip_mut_with(&xm, |a, &b| *a *= b);
                        }
                    }
                }
                let scale = t.coef * group.weight;
                if scale != 1.0 {
                    r.mapv_inplace(|v| v * T::of(scale));
                }
                match &mut out {
                    Some(a) => *a += &r,
                    None => out = Some(r),
                }
            }
        }
        match out {
            Some(out) => Ok(out),
            None => Ok(ArrayD::zeros(ndarray::IxDyn(&[&upper.shape()[..2], in_shape].concat()))),
        }
    }
}

impl<T: Scalar> Rule<T> for BasicRule {
    fn backward(
        &self,
        _id: usize,
        node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        let lin = node.op.as_linear().ok_or_else(|| {
            Error::Internal(format!("an LRP rule reached a {} node, which is not linear", node.type_name))
        })?;
        Ok(vec![self.apply(lin, &inputs[0], Some(output), upper)?])
    }
}

/// `a ⊙ b` for `a` `[S, B, ...]` and `b` `[B, ...]` (broadcast over the leading axis).
pub fn times_per_slab<T: Scalar>(a: &ArrayViewD<T>, b: &ArrayViewD<T>) -> ArrayD<T> {
    let mut out = a.to_owned();
    for mut slab in out.outer_iter_mut() {
        Zip::from(&mut slab).and(b).for_each(|x, &y| *x *= y);
    }
    out
}
