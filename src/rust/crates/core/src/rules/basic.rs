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
use crate::linalg::{map_slabs, update_slabs};
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
    pub(crate) fn value<T: Scalar>(self) -> T {
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

/// Whether `x` has positive and negative entries (NaN counts as neither, as its
/// positive and negative parts are both 0).
fn signs<T: Scalar>(x: &[T]) -> (bool, bool) {
    let scan = |c: &[T]| c.iter().fold((false, false), |(p, n), &v| (p | (v > T::zero()), n | (v < T::zero())));
    if x.len() >= 1 << 16 && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        x.par_chunks(1 << 14).map(scan).reduce(|| (false, false), |a, b| (a.0 | b.0, a.1 | b.1))
    } else {
        scan(x)
    }
}

impl InputMod {
    /// The modified input at one element.
    #[inline]
    fn at<T: Scalar>(self, v: T) -> T {
        match self {
            InputMod::Identity => v,
            InputMod::Positive => v.max(T::zero()),
            InputMod::Negative => v.min(T::zero()),
            InputMod::Const(c) => T::of(c),
            InputMod::Ones => T::one(),
        }
    }
}

impl BasicRule {
    /// Input relevance `[S, B, in...]` for the linear map `lin` at input `x` `[B, in...]`
    /// and upper relevance `upper` `[S, B, out...]`. `z` is the map's unmodified output
    /// `W x + b` when it is known (the traced output of a linear node); otherwise it is
    /// computed where needed.
    ///
    /// A term whose modified input is zero everywhere (`x⁻` of a non-negative input,
    /// the usual case after a ReLU, or `x⁺` of a non-positive one) and whose bias is
    /// dropped contributes exactly zero to the denominator and to the relevance, so its
    /// products are skipped: alpha-beta and z⁺ then cost one forward and one VJP
    /// product per layer instead of two each.
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
        let zs = z.as_ref().map(|z| z.as_standard_layout());
        let xs = x.as_standard_layout();
        let xf = xs.as_slice().ok_or_else(|| Error::Internal("LRP: input layout".into()))?;
        let (has_pos, has_neg) = signs(xf);
        let vanishes = |t: &Term| {
            let zero_input = match t.input {
                InputMod::Positive => !has_pos,
                InputMod::Negative => !has_neg,
                InputMod::Const(c) => c == 0.0,
                InputMod::Identity | InputMod::Ones => false,
            };
            zero_input && t.bias == BiasMod::Zero
        };
        let us = upper.as_standard_layout();
        let uf = us.as_slice().ok_or_else(|| Error::Internal("LRP: signal layout".into()))?;
        let mut inputs = Inputs { x, cache: Vec::new() };
        let mut out: Option<ArrayD<T>> = None;
        for group in &self.groups {
            // denominator: Σ_k c_k o_k (stabilised below)
            let d_owned;
            let d: &[T] = match (&zs, group.is_output()) {
                (Some(z), true) => z.as_slice().ok_or_else(|| Error::Internal("LRP: output layout".into()))?,
                _ => {
                    let mut acc: Option<ArrayD<T>> = None;
                    for t in group.terms.iter().filter(|t| !vanishes(t)) {
                        let mut o = lin.forward_mod(&inputs.get(t.input), t.weight, t.bias)?;
                        if t.coef != 1.0 {
                            o.mapv_inplace(|v| v * T::of(t.coef));
                        }
                        match &mut acc {
                            Some(a) => *a += &o,
                            None => acc = Some(o),
                        }
                    }
                    if group.terms.is_empty() {
                        return Err(Error::Internal("an LRP rule group without terms".into()));
                    }
                    // every term vanished: the denominator is zero everywhere
                    let out_shape = &upper.shape()[1..];
                    d_owned = acc.unwrap_or_else(|| ArrayD::zeros(ndarray::IxDyn(out_shape)));
                    d_owned.as_slice().ok_or_else(|| Error::Internal("LRP: denominator layout".into()))?
                }
            };
            // signal g = gate ⊙ R / stab(d), broadcast over the leading S axis, one pass
            let (eps, at_zero) = (group.stabiliser.eps.value::<T>(), group.stabiliser.at_zero.value::<T>());
            let g = match group.gate {
                Gate::All => map_slabs(uf, d, |r, dv| r / stabilised(dv, eps, at_zero)),
                gate => {
                    let z = zs.as_ref().ok_or_else(|| Error::Internal("gated LRP group without output".into()))?;
                    let zf = z.as_slice().ok_or_else(|| Error::Internal("LRP: output layout".into()))?;
                    let mut g = map_slabs(uf, d, |r, dv| r / stabilised(dv, eps, at_zero));
                    let keep = |v: T| match gate {
                        Gate::OutputPositive => v > T::zero(),
                        Gate::OutputNegative => v < T::zero(),
                        Gate::All => true,
                    };
                    update_slabs(&mut g, zf, |r, zv| if keep(zv) { r } else { T::zero() });
                    g
                }
            };
            let g = ArrayD::from_shape_vec(upper.raw_dim(), g).map_err(|e| Error::Internal(e.to_string()))?;
            // relevance Σ_k c_k m_k(x) ⊙ W_kᵀ g, weighted, added up in one pass per term
            for t in group.terms.iter().filter(|t| !vanishes(t)) {
                let mut r = lin.vjp_mod(&g.view(), in_shape, t.weight)?;
                let scale = t.coef * group.weight;
                let (m, sc) = (t.input, T::of(scale));
                let rf = r.as_slice_mut().ok_or_else(|| Error::Internal("LRP: relevance layout".into()))?;
                match (&mut out, m, scale != 1.0) {
                    // r ⊙ m(x), then the scale, then the sum: the order of the separate
                    // passes this replaces, so the rounding is the same
                    (None, InputMod::Ones, false) => {}
                    (None, InputMod::Ones, true) => update_slabs(rf, xf, |a, _| a * sc),
                    (None, m, false) => update_slabs(rf, xf, |a, xv| a * m.at(xv)),
                    (None, m, true) => update_slabs(rf, xf, |a, xv| a * m.at(xv) * sc),
                    (Some(acc), m, _) => {
                        let af = acc.as_slice_mut().ok_or_else(|| Error::Internal("LRP: relevance layout".into()))?;
                        let one = scale == 1.0;
                        let ones = m == InputMod::Ones;
                        crate::linalg::for_slab_pieces(af, xf.len(), |piece, at, off| {
                            let (rp, xp) = (&rf[at..at + piece.len()], &xf[off..off + piece.len()]);
                            for ((o, &a), &xv) in piece.iter_mut().zip(rp).zip(xp) {
                                let v = if ones { a } else { a * m.at(xv) };
                                *o += if one { v } else { v * sc };
                            }
                        });
                        continue;
                    }
                }
                out = Some(r);
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
    let (as_, bs) = (a.as_standard_layout(), b.as_standard_layout());
    match (as_.as_slice(), bs.as_slice()) {
        (Some(af), Some(bf)) if af.len() % bf.len().max(1) == 0 && a.shape()[1..] == *b.shape() => {
            ArrayD::from_shape_vec(a.raw_dim(), map_slabs(af, bf, |x, y| x * y)).expect("same shape")
        }
        _ => {
            let mut out = a.to_owned();
            for mut slab in out.outer_iter_mut() {
                Zip::from(&mut slab).and(b).for_each(|x, &y| *x *= y);
            }
            out
        }
    }
}
