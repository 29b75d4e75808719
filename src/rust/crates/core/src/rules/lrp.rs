//! LRP rules: innsight's `simple`, `epsilon`, `alpha_beta` and `pass`, and zennit's
//! `gamma`, `flat`, `wsquare`, `zbox` and `zplus`, plus the fixed rules of the nodes
//! that take no user rule. Each linear rule is a [`BasicRule`] (zennit's decomposition,
//! see [`super::basic`]), so it is written once and acts on every linear layer.
//!
//! Notation, per linear node: `x` the input, `z = W x + b` the (traced) output, `R` the
//! upper relevance of one selected output, `W'ᵀ` the layer's VJP with modified weights,
//! `(·)^±` positive/negative parts, `sgn(0) = 0`, `[·]` the indicator, and `stab` the
//! scalar type's stabiliser ([`crate::Scalar::STAB`]: 1e-6 float, 1e-15 double).
//!
//! innsight (Bach et al. 2015, "On pixel-wise explanations for non-linear classifier
//! decisions by layer-wise relevance propagation", PLoS ONE), for Dense, Conv and
//! average pooling (`W` = 1/k per window, no bias):
//!
//! * `simple`: `R_in = x ⊙ Wᵀ(R / (z + stab·sgn(z) + stab·[z=0]))`. The bias absorbs
//!   relevance.
//! * `epsilon(ε)`, default [`EPSILON_DEFAULT`] = 0.001:
//!   `R_in = x ⊙ Wᵀ(R / (z + ε·sgn(z) + stab·[z=0]))`.
//! * `alpha_beta(α)`, default [`ALPHA_DEFAULT`] = 0.5 (β = α − 1 implicitly):
//!   `P = W⁺x⁺ + W⁻x⁻ + b⁺`, `N = W⁻x⁺ + W⁺x⁻ + b⁻`,
//!   `R⁺ = x⁺ ⊙ W⁺ᵀs⁺ + x⁻ ⊙ W⁻ᵀs⁺` with `s⁺ = R / (P + stab·sgn(P) + stab·[P=0])`,
//!   `R⁻ = x⁻ ⊙ W⁺ᵀs⁻ + x⁺ ⊙ W⁻ᵀs⁻` with `s⁻ = R / (N + stab·sgn(N) − stab·[N=0])`,
//!   `R_in = α R⁺ + (1 − α) R⁻`; `R⁻` is skipped when α = 1.
//! * `pass`: `R_in = R`, only on layers whose output has the input's shape
//!   (BatchNorm among the rule-taking layers).
//! * BatchNorm has its own forms of the first three ([`DiagonalRule`]); with the
//!   per-channel factor `f = γ/√(var + eps)`, `y` the output and `b = β − f μ`:
//!   `simple`: `R_in = f x / (y + stab·[y=0]) ⊙ R`;
//!   `epsilon(ε)`: `R_in = f x / (y + ε·sgn(y) + stab·[y=0]) ⊙ R`;
//!   `alpha_beta(α)`: with `p = (f x)⁺`, `q = (f x)⁻`,
//!   `R_in = [α p / (p + stab·[p=0] + b⁺) + (1 − α) q / (q − stab·[q=0] + b⁻)] ⊙ R`.
//! * Max pooling: with `winner_takes_all = TRUE` R goes to each window's argmax (the
//!   VJP) and the rule is ignored; with `FALSE` the layer is treated as average pooling
//!   over the same windows (`z = avgpool(x⁺) + avgpool(x⁻)`), under any rule
//!   ([`AveragedMaxPool`]).
//!
//! zennit (rules as in zennit's `rules.py`, stabiliser `d + (sgn(d) + [d=0])·1e-6`,
//! [`ZENNIT_STABILIZER`]):
//!
//! * `zplus` (Montavon et al. 2017, "Explaining nonlinear classification decisions
//!   with deep Taylor decomposition", Pattern Recognition): α = 1 with zennit's
//!   stabiliser: `R_in = x⁺ ⊙ W⁺ᵀs + x⁻ ⊙ W⁻ᵀs`, `s = R / stab(W⁺x⁺ + b⁺ + W⁻x⁻)`.
//! * `gamma(γ)`, default [`GAMMA_DEFAULT`] = 0.25 (Montavon et al. 2019, "Layer-wise
//!   relevance propagation: an overview"; generalised to signed inputs by Andéol et
//!   al. 2021): with `W^γ± = W + γW^±`, `b^γ± = b + γb^±`,
//!   `s⁺ = [z>0] R / stab(W^γ+ x⁺ + b^γ+ + W^γ− x⁻)`,
//!   `s⁻ = [z<0] R / stab(W^γ− x⁺ + b^γ− + W^γ+ x⁻)`,
//!   `R_in = x⁺ ⊙ (W^γ+ᵀs⁺ + W^γ−ᵀs⁻) + x⁻ ⊙ (W^γ−ᵀs⁺ + W^γ+ᵀs⁻)`.
//! * `flat` (Lapuschkin et al. 2019, "Unmasking Clever Hans predictors and assessing
//!   what machines really learn", Nat. Commun.): `R_in = 1ᵀ(R / stab(1·1))`, every
//!   weight one, no bias: each output spreads R evenly over its receptive field.
//! * `wsquare` (Montavon et al. 2017): `R_in = (W⊙W)ᵀ(R / stab((W⊙W)·1 + b⊙b))`.
//! * `zbox(low, high)` (Montavon et al. 2017), for inputs bounded by `low ≤ x ≤ high`
//!   (no default; typically the first layer):
//!   `s = R / stab(z − (W⁺l + b⁺) − (W⁻h + b⁻))`, `R_in = x ⊙ Wᵀs − l ⊙ W⁺ᵀs − h ⊙ W⁻ᵀs`.
//!
//! Nodes that take no user rule:
//!
//! * activations (fused or stand-alone): `R_in = R`; LRP works on pre-activations;
//! * Add ([`ProportionalSum`], decision 14): summand `k` gets
//!   `R ⊙ x_k / (y + stab·sgn(y) + stab·[y=0])`, `y = Σ_k x_k`;
//! * Flatten, Concatenate, Padding, Skipping, GlobalAvgPooling (`R/n` to every
//!   position) and GlobalMaxPooling (R to the first maximum): the plain VJP.

use super::basic::{stabilised, Amount, BasicRule, Gate, Group, InputMod, Stabiliser, Term};
use crate::linalg::map_slabs;
use crate::error::{Error, Result};
use crate::graph::Node;
use crate::layers::multiply::{reduce_to, Multiply};
use crate::layers::pool::AvgPoolMap;
use crate::layers::{BiasMod, WeightMod};
use crate::propagate::Rule;
use crate::scalar::Scalar;
use ndarray::{ArrayD, ArrayViewD};

/// innsight's default ε of the epsilon rule (its docs said 0.01, its code used 0.001;
/// decision 1 keeps 0.001).
pub const EPSILON_DEFAULT: f64 = 0.001;
/// innsight's default α of the alpha-beta rule.
pub const ALPHA_DEFAULT: f64 = 0.5;
/// zennit's default γ of the gamma rule.
pub const GAMMA_DEFAULT: f64 = 0.25;
/// zennit's stabiliser of its rules (`stabilizer=1e-6`), in every precision.
pub const ZENNIT_STABILIZER: f64 = 1e-6;

/// The rule names a composite accepts.
pub const RULE_NAMES: &[&str] =
    &["simple", "epsilon", "alpha_beta", "pass", "gamma", "flat", "wsquare", "zbox", "zplus"];

/// A rule with its parameters, as named in a composite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrpRule {
    Simple,
    Epsilon(f64),
    AlphaBeta(f64),
    Pass,
    Gamma(f64),
    Flat,
    WSquare,
    ZBox { low: f64, high: f64 },
    ZPlus,
}

fn finite(rule: &str, what: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        return Err(Error::Argument(format!("the `{what}` of the rule '{rule}' must be a finite number, got {v}")));
    }
    Ok(v)
}

fn non_negative(rule: &str, what: &str, v: f64) -> Result<f64> {
    if finite(rule, what, v)? < 0.0 {
        return Err(Error::Argument(format!("the `{what}` of the rule '{rule}' must be >= 0, got {v}")));
    }
    Ok(v)
}

impl LrpRule {
    /// Parse a rule name with its optional parameter (ε, α or γ; defaults as above) and
    /// bounds (`zbox` only, required there). Parameters of rules without one are ignored,
    /// as innsight ignores `rule_param` for `simple` and `pass`.
    pub fn parse(name: &str, param: Option<f64>, low: Option<f64>, high: Option<f64>) -> Result<LrpRule> {
        Ok(match name {
            "simple" => LrpRule::Simple,
            "epsilon" => LrpRule::Epsilon(non_negative(name, "param", param.unwrap_or(EPSILON_DEFAULT))?),
            "alpha_beta" => LrpRule::AlphaBeta(finite(name, "param", param.unwrap_or(ALPHA_DEFAULT))?),
            "pass" => LrpRule::Pass,
            "gamma" => LrpRule::Gamma(non_negative(name, "param", param.unwrap_or(GAMMA_DEFAULT))?),
            "flat" => LrpRule::Flat,
            "wsquare" => LrpRule::WSquare,
            "zplus" => LrpRule::ZPlus,
            "zbox" => {
                let (Some(low), Some(high)) = (low, high) else {
                    return Err(Error::Argument(
                        "the rule 'zbox' needs the input bounds `low` and `high` (the lowest and highest possible input values)".into(),
                    ));
                };
                let (low, high) = (finite(name, "low", low)?, finite(name, "high", high)?);
                if low > high {
                    return Err(Error::Argument(format!(
                        "the rule 'zbox' needs `low` <= `high`, got low = {low} and high = {high}"
                    )));
                }
                LrpRule::ZBox { low, high }
            }
            other => {
                return Err(Error::Argument(format!(
                    "unknown LRP rule '{other}'; expected one of {}",
                    RULE_NAMES.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
                )))
            }
        })
    }

    /// The rule's name.
    pub fn name(&self) -> &'static str {
        match self {
            LrpRule::Simple => "simple",
            LrpRule::Epsilon(_) => "epsilon",
            LrpRule::AlphaBeta(_) => "alpha_beta",
            LrpRule::Pass => "pass",
            LrpRule::Gamma(_) => "gamma",
            LrpRule::Flat => "flat",
            LrpRule::WSquare => "wsquare",
            LrpRule::ZBox { .. } => "zbox",
            LrpRule::ZPlus => "zplus",
        }
    }

    /// The rule on a general linear layer (`None` for `pass`, which is not one).
    pub fn basic(&self) -> Option<BasicRule> {
        Some(match *self {
            LrpRule::Simple => simple(),
            LrpRule::Epsilon(e) => epsilon(e),
            LrpRule::AlphaBeta(a) => alpha_beta(a),
            LrpRule::Pass => return None,
            LrpRule::Gamma(g) => gamma(g),
            LrpRule::Flat => flat(),
            LrpRule::WSquare => wsquare(),
            LrpRule::ZBox { low, high } => zbox(low, high),
            LrpRule::ZPlus => zplus(),
        })
    }

    /// innsight's BatchNorm form of the rule, where it has one.
    pub fn diagonal(&self) -> Option<DiagonalRule> {
        match *self {
            LrpRule::Simple => Some(DiagonalRule::Simple),
            LrpRule::Epsilon(e) => Some(DiagonalRule::Epsilon(e)),
            LrpRule::AlphaBeta(a) => Some(DiagonalRule::AlphaBeta(a)),
            _ => None,
        }
    }
}

use BiasMod as B;
use InputMod as I;
use WeightMod as W;

/// innsight's `simple`: one identity term, stabilised by `stab`.
pub fn simple() -> BasicRule {
    BasicRule { groups: vec![Group::new(vec![Term::identity()], Stabiliser::SIMPLE)] }
}

/// innsight's `epsilon(ε)`.
pub fn epsilon(eps: f64) -> BasicRule {
    let stab = Stabiliser { eps: Amount::Fixed(eps), at_zero: Amount::Stab };
    BasicRule { groups: vec![Group::new(vec![Term::identity()], stab)] }
}

/// innsight's `alpha_beta(α)`.
pub fn alpha_beta(alpha: f64) -> BasicRule {
    let positive = Group::new(
        vec![Term::new(I::Positive, W::Positive, B::Positive), Term::new(I::Negative, W::Negative, B::Zero)],
        Stabiliser::SIMPLE,
    )
    .weighted(alpha);
    let mut groups = vec![positive];
    if alpha != 1.0 {
        let negative = Group::new(
            vec![Term::new(I::Positive, W::Negative, B::Negative), Term::new(I::Negative, W::Positive, B::Zero)],
            Stabiliser { eps: Amount::Stab, at_zero: Amount::MinusStab },
        )
        .weighted(1.0 - alpha);
        groups.push(negative);
    }
    BasicRule { groups }
}

/// zennit's `ZPlus`.
pub fn zplus() -> BasicRule {
    let terms = vec![Term::new(I::Positive, W::Positive, B::Positive), Term::new(I::Negative, W::Negative, B::Zero)];
    BasicRule { groups: vec![Group::new(terms, Stabiliser::zennit(ZENNIT_STABILIZER))] }
}

/// zennit's generalised `Gamma(γ)`.
pub fn gamma(g: f64) -> BasicRule {
    let stab = Stabiliser::zennit(ZENNIT_STABILIZER);
    let positive = Group::new(
        vec![Term::new(I::Positive, W::Gamma(g), B::Gamma(g)), Term::new(I::Negative, W::GammaNegative(g), B::Zero)],
        stab,
    )
    .gated(Gate::OutputPositive);
    let negative = Group::new(
        vec![
            Term::new(I::Positive, W::GammaNegative(g), B::GammaNegative(g)),
            Term::new(I::Negative, W::Gamma(g), B::Zero),
        ],
        stab,
    )
    .gated(Gate::OutputNegative);
    BasicRule { groups: vec![positive, negative] }
}

/// zennit's `Flat`.
pub fn flat() -> BasicRule {
    BasicRule {
        groups: vec![Group::new(vec![Term::new(I::Ones, W::Ones, B::Zero)], Stabiliser::zennit(ZENNIT_STABILIZER))],
    }
}

/// zennit's `WSquare`.
pub fn wsquare() -> BasicRule {
    BasicRule {
        groups: vec![Group::new(vec![Term::new(I::Ones, W::Square, B::Square)], Stabiliser::zennit(ZENNIT_STABILIZER))],
    }
}

/// zennit's `ZBox(low, high)`.
pub fn zbox(low: f64, high: f64) -> BasicRule {
    let terms = vec![
        Term::identity(),
        Term::new(I::Const(low), W::Positive, B::Positive).times(-1.0),
        Term::new(I::Const(high), W::Negative, B::Negative).times(-1.0),
    ];
    BasicRule { groups: vec![Group::new(terms, Stabiliser::zennit(ZENNIT_STABILIZER))] }
}

/// The identity (`pass`, and every activation node): relevance passes unchanged.
pub struct Pass;

impl<T: Scalar> Rule<T> for Pass {
    fn backward(
        &self,
        _id: usize,
        node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        _output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        if inputs.len() != 1 || inputs[0].shape()[1..] != upper.shape()[2..] {
            return Err(Error::Internal(format!("'pass' reached the shape-changing node {}", node.type_name)));
        }
        Ok(vec![upper.to_owned()])
    }
}

/// innsight's BatchNorm forms of `simple`, `epsilon` and `alpha_beta`, for a layer whose
/// linear map is diagonal (`y = f ⊙ x + b`, one weight per element). They differ from
/// the general linear forms in their stabilisers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiagonalRule {
    Simple,
    Epsilon(f64),
    AlphaBeta(f64),
}

impl<T: Scalar> Rule<T> for DiagonalRule {
    fn backward(
        &self,
        _id: usize,
        node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        let lin = node.op.as_linear().ok_or_else(|| {
            Error::Internal(format!("a BatchNorm rule reached the non-linear node {}", node.type_name))
        })?;
        let x = &inputs[0];
        let fx = lin.forward_mod(x, WeightMod::Identity, BiasMod::Zero)?;
        let stab = T::STAB;
        let at_zero = move |v: T| if v == T::zero() { stab } else { T::zero() };
        let ys = output.as_standard_layout();
        let (ff, yf) = (fx.as_slice().expect("fresh array"), ys.as_slice().expect("standard layout"));
        let factor = match *self {
            DiagonalRule::Simple => map_slabs(ff, yf, |a, y| a / (y + at_zero(y))),
            DiagonalRule::Epsilon(e) => {
                let e = T::of(e);
                map_slabs(ff, yf, |a, y| a / (y + e * sgn(y) + at_zero(y)))
            }
            DiagonalRule::AlphaBeta(alpha) => {
                // the map's bias parts at one row (they do not depend on the row)
                let zeros = ArrayD::<T>::zeros(ndarray::IxDyn(&[&[1][..], &x.shape()[1..]].concat()));
                let b_pos = lin.forward_mod(&zeros.view(), WeightMod::Identity, BiasMod::Positive)?;
                let b_neg = lin.forward_mod(&zeros.view(), WeightMod::Identity, BiasMod::Negative)?;
                let (bp, bn) = (b_pos.as_slice().expect("fresh array"), b_neg.as_slice().expect("fresh array"));
                let (a, one_minus_a) = (T::of(alpha), T::of(1.0 - alpha));
                let mut f = vec![T::zero(); ff.len()];
                crate::linalg::for_slab_pieces(&mut f, bp.len(), |piece, at, off| {
                    let n = piece.len();
                    for (((o, &v), &bp), &bn) in piece.iter_mut().zip(&ff[at..at + n]).zip(&bp[off..off + n]).zip(&bn[off..off + n]) {
                        let (p, q) = (v.max(T::zero()), v.min(T::zero()));
                        let pos = p / (p + at_zero(p) + bp);
                        let neg = if alpha == 1.0 { T::zero() } else { q / (q - at_zero(q) + bn) };
                        *o = a * pos + one_minus_a * neg;
                    }
                });
                f
            }
        };
        let factor = ArrayD::from_shape_vec(fx.raw_dim(), factor).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(vec![super::basic::times_per_slab(upper, &factor.view())])
    }
}

/// `sgn` with `sgn(0) = 0`.
fn sgn<T: Scalar>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else if v < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Add (decision 14): each summand gets relevance in proportion to its contribution,
/// `R ⊙ x_k / (y + stab·sgn(y) + stab·[y=0])` with `y = Σ_k x_k` (zennit's `Norm` on
/// its `Sum` layer, with innsight's stabiliser).
pub struct ProportionalSum;

impl<T: Scalar> Rule<T> for ProportionalSum {
    fn backward(
        &self,
        _id: usize,
        _node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        // g = R / stab(y) in one pass, then g ⊙ x_k per summand
        let (us, ys) = (upper.as_standard_layout(), output.as_standard_layout());
        let (uf, yf) = (us.as_slice().expect("standard"), ys.as_slice().expect("standard"));
        let (eps, at_zero) = (Stabiliser::SIMPLE.eps.value::<T>(), Stabiliser::SIMPLE.at_zero.value::<T>());
        let g = ArrayD::from_shape_vec(upper.raw_dim(), map_slabs(uf, yf, |r, y| r / stabilised(y, eps, at_zero)))
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(inputs.iter().map(|x| super::basic::times_per_slab(&g.view(), x)).collect())
    }
}

/// A product of two feature maps (e.g. a squeeze-and-excitation gate times its
/// signal) in LRP: the gate is treated as a constant, as the LRP literature does for
/// gating (Arras et al. 2017, LSTMs), so the product is linear in the signal and all
/// relevance flows to the signal input ([`Multiply::signal_input`]); the gate input
/// receives none.
pub struct SignalTakesAll;

impl<T: Scalar> Rule<T> for SignalTakesAll {
    fn backward(
        &self,
        _id: usize,
        node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        _output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        let signal = Multiply::signal_input(&node.in_shapes, &node.out_shape);
        let lead = &upper.shape()[..2];
        Ok((0..inputs.len())
            .map(|k| {
                if k == signal {
                    reduce_to(upper.to_owned(), &node.in_shapes[k])
                } else {
                    ArrayD::zeros(ndarray::IxDyn(&[lead, &node.in_shapes[k][..]].concat()))
                }
            })
            .collect())
    }
}

/// A max pooling node under `winner_takes_all = FALSE`: the rule acts on the average
/// pooling over the same windows.
pub struct AveragedMaxPool {
    map: AvgPoolMap,
    rule: BasicRule,
}

impl AveragedMaxPool {
    /// `rule` over the average pooling with the given spatial windows.
    pub fn new(kernel: &[usize], strides: &[usize], rule: BasicRule) -> Self {
        AveragedMaxPool { map: AvgPoolMap::new(kernel, strides), rule }
    }
}

impl<T: Scalar> Rule<T> for AveragedMaxPool {
    fn backward(
        &self,
        _id: usize,
        _node: &Node<T>,
        inputs: &[ArrayViewD<T>],
        _output: &ArrayViewD<T>,
        upper: &ArrayViewD<T>,
    ) -> Result<Vec<ArrayD<T>>> {
        Ok(vec![self.rule.apply(&self.map, &inputs[0], None, upper)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Source;
    use crate::layers::batch_norm::BatchNorm;
    use crate::layers::conv::Conv;
    use crate::layers::dense::Dense;
    use crate::layers::pool::{Pool, PoolKind};
    use crate::layers::testutil::randn;
    use crate::layers::Layer;
    use crate::rng::Rng;
    use crate::tensor::{numel, with_leading};
    use ndarray::{Array1, Array2, Axis, IxDyn};

    const STAB: f64 = 1e-15;
    const ZS: f64 = ZENNIT_STABILIZER;

    /// Dense matrix form `(M [out, in], b [out])` of a layer, probed with basis vectors
    /// through its own forward pass (independent of the Linear capability).
    fn matrix_form(layer: &dyn Layer<f64>, in_shape: &[usize]) -> (Array2<f64>, Array1<f64>) {
        let n_in = numel(in_shape);
        let flat = |y: ArrayD<f64>| Array1::from_iter(y.iter().copied());
        let zero = ArrayD::zeros(IxDyn(&with_leading(&[1], in_shape)));
        let b = flat(layer.forward(&[zero.view()]).unwrap());
        let mut m = Array2::zeros((b.len(), n_in));
        for i in 0..n_in {
            let mut e = zero.clone();
            e.as_slice_mut().unwrap()[i] = 1.0;
            let col = flat(layer.forward(&[e.view()]).unwrap()) - &b;
            m.column_mut(i).assign(&col);
        }
        (m, b)
    }

    fn sgn(v: f64) -> f64 {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
    /// `d + eps·sgn(d) + at_zero·[d = 0]`
    fn st(d: &Array1<f64>, eps: f64, at_zero: f64) -> Array1<f64> {
        d.mapv(|v| v + eps * sgn(v) + if v == 0.0 { at_zero } else { 0.0 })
    }

    /// Each rule written out on the matrix form for one sample `x` and one upper
    /// relevance `r` (innsight's spec 4.5 and zennit's `rules.py`).
    fn reference(rule: LrpRule, m: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>, r: &Array1<f64>) -> Array1<f64> {
        let (mp, mn) = (m.mapv(|v| v.max(0.0)), m.mapv(|v| v.min(0.0)));
        let (bp, bn) = (b.mapv(|v| v.max(0.0)), b.mapv(|v| v.min(0.0)));
        let (xp, xn) = (x.mapv(|v| v.max(0.0)), x.mapv(|v| v.min(0.0)));
        let z = m.dot(x) + b;
        let ones = Array1::<f64>::ones(x.len());
        match rule {
            LrpRule::Simple => x * &m.t().dot(&(r / &st(&z, STAB, STAB))),
            LrpRule::Epsilon(e) => x * &m.t().dot(&(r / &st(&z, e, STAB))),
            LrpRule::AlphaBeta(a) => {
                let p = mp.dot(&xp) + mn.dot(&xn) + &bp;
                let n = mn.dot(&xp) + mp.dot(&xn) + &bn;
                let sp = r / &st(&p, STAB, STAB);
                let sn = r / &st(&n, STAB, -STAB);
                let rp = &xp * &mp.t().dot(&sp) + &xn * &mn.t().dot(&sp);
                let rn = &xn * &mp.t().dot(&sn) + &xp * &mn.t().dot(&sn);
                if a == 1.0 {
                    rp * a
                } else {
                    rp * a + rn * (1.0 - a)
                }
            }
            LrpRule::ZPlus => {
                let s = r / &st(&(mp.dot(&xp) + &bp + mn.dot(&xn)), ZS, ZS);
                &xp * &mp.t().dot(&s) + &xn * &mn.t().dot(&s)
            }
            LrpRule::Gamma(g) => {
                let (gp, gn) = (m + &(&mp * g), m + &(&mn * g));
                let (bgp, bgn) = (b + &(&bp * g), b + &(&bn * g));
                let up = z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
                let un = z.mapv(|v| if v < 0.0 { 1.0 } else { 0.0 });
                let sp = &up * &(r / &st(&(gp.dot(&xp) + &bgp + gn.dot(&xn)), ZS, ZS));
                let sn = &un * &(r / &st(&(gn.dot(&xp) + &bgn + gp.dot(&xn)), ZS, ZS));
                &xp * &(gp.t().dot(&sp) + gn.t().dot(&sn)) + &xn * &(gn.t().dot(&sp) + gp.t().dot(&sn))
            }
            LrpRule::Flat => {
                let pattern = m.mapv(|v| if v != 0.0 { 1.0 } else { 0.0 });
                pattern.t().dot(&(r / &st(&pattern.dot(&ones), ZS, ZS)))
            }
            LrpRule::WSquare => {
                let m2 = m.mapv(|v| v * v);
                m2.t().dot(&(r / &st(&(m2.dot(&ones) + b.mapv(|v| v * v)), ZS, ZS)))
            }
            LrpRule::ZBox { low, high } => {
                let d = &z - &(mp.dot(&(&ones * low)) + &bp) - &(mn.dot(&(&ones * high)) + &bn);
                let s = r / &st(&d, ZS, ZS);
                x * &m.t().dot(&s) - &(mp.t().dot(&s) * low) - &(mn.t().dot(&s) * high)
            }
            LrpRule::Pass => r.clone(),
        }
    }

    fn all_rules() -> Vec<LrpRule> {
        vec![
            LrpRule::Simple,
            LrpRule::Epsilon(EPSILON_DEFAULT),
            LrpRule::Epsilon(0.3),
            LrpRule::AlphaBeta(ALPHA_DEFAULT),
            LrpRule::AlphaBeta(1.0),
            LrpRule::AlphaBeta(2.0),
            LrpRule::ZPlus,
            LrpRule::Gamma(GAMMA_DEFAULT),
            LrpRule::Gamma(0.0),
            LrpRule::Flat,
            LrpRule::WSquare,
            LrpRule::ZBox { low: -2.5, high: 3.0 },
        ]
    }

    /// Check every rule on `layer` against [`reference`], for 3 samples and 2 slabs.
    fn replicate(layer: &dyn Layer<f64>, in_shape: &[usize], seed: u64, what: &str) {
        let mut rng = Rng::new(seed);
        let (m, b) = matrix_form(layer, in_shape);
        let x = randn(&with_leading(&[3], in_shape), &mut rng);
        let z = layer.forward(&[x.view()]).unwrap();
        let r = randn(&with_leading(&[2], z.shape()), &mut rng);
        let lin = layer.as_linear().unwrap();
        for rule in all_rules() {
            let got = rule.basic().unwrap().apply(lin, &x.view(), Some(&z.view()), &r.view()).unwrap();
            assert_eq!(got.shape(), &with_leading(&[2], x.shape())[..]);
            for s in 0..2 {
                for i in 0..3 {
                    let flat = |a: ArrayViewD<f64>| Array1::from_iter(a.iter().copied());
                    let xi = flat(x.index_axis(Axis(0), i));
                    let ri = flat(r.index_axis(Axis(0), s).index_axis(Axis(0), i).into_dyn());
                    let want = reference(rule, &m, &b, &xi, &ri);
                    let have = flat(got.index_axis(Axis(0), s).index_axis(Axis(0), i).into_dyn());
                    for (k, (h, w)) in have.iter().zip(want.iter()).enumerate() {
                        assert!(
                            (h - w).abs() <= 1e-9 * (1.0 + w.abs()),
                            "{what}, {rule:?}, slab {s}, sample {i}, input {k}: {h} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rules_replicate_closed_form_matrix_formulas_on_every_linear_layer() {
        let mut rng = Rng::new(7);
        let dense = Dense::<f64>::new(randn(&[4, 6], &mut rng), Some(randn(&[4], &mut rng))).unwrap();
        replicate(&dense, &[6], 1, "Dense");
        let conv2 = Conv::<f64>::new_2d(
            randn(&[3, 2, 3, 2], &mut rng),
            Some(randn(&[3], &mut rng)),
            Some(&[2, 1]),
            Some(&[1, 2]),
            Some(&[1, 0, 1, 1]),
        )
        .unwrap();
        replicate(&conv2, &[2, 6, 5], 2, "Conv2D");
        let conv1 =
            Conv::<f64>::new_1d(randn(&[2, 3, 3], &mut rng), Some(randn(&[2], &mut rng)), None, None, Some(&[1, 0]))
                .unwrap();
        replicate(&conv1, &[3, 7], 3, "Conv1D");
        replicate(&Pool::new(PoolKind::Avg, 2, &[2, 3], Some(&[1, 2])).unwrap(), &[2, 4, 7], 4, "AvgPool2D");
        let bn = BatchNorm::<f64>::new(
            3,
            1e-3,
            randn(&[3], &mut rng),
            Some(randn(&[3], &mut rng)),
            randn(&[3], &mut rng),
            randn(&[3], &mut rng).mapv(|v| v * v + 0.2),
        )
        .unwrap();
        replicate(&bn, &[3, 4], 5, "BatchNorm");
    }

    fn node(op: Box<dyn Layer<f64>>, in_shapes: Vec<Vec<usize>>) -> Node<f64> {
        let out_shape = op.output_shape(&in_shapes).unwrap();
        let inputs = (0..in_shapes.len()).map(Source::Input).collect();
        Node { op: op.into(), inputs, layer_index: 1, type_name: "Test", in_shapes, out_shape, fused: false }
    }

    #[test]
    fn batch_norm_forms_follow_innsight_and_zero_mean_simple_returns_r() {
        let mut rng = Rng::new(11);
        let (gamma, beta, mean) = (randn(&[3], &mut rng), randn(&[3], &mut rng), randn(&[3], &mut rng));
        let var = randn(&[3], &mut rng).mapv(|v| v * v + 0.2);
        let bn = BatchNorm::<f64>::new(3, 1e-3, gamma.clone(), Some(beta), mean, var.clone()).unwrap();
        let (f, t) = (bn.scale().clone(), bn.shift().clone());
        let n = node(Box::new(bn), vec![vec![3, 2, 2]]);
        let x = randn(&[2, 3, 2, 2], &mut rng);
        let y = n.op.forward(&[x.view()]).unwrap();
        let r = randn(&[2, 2, 3, 2, 2], &mut rng);
        for rule in [
            DiagonalRule::Simple,
            DiagonalRule::Epsilon(0.01),
            DiagonalRule::AlphaBeta(0.5),
            DiagonalRule::AlphaBeta(1.0),
            DiagonalRule::AlphaBeta(2.0),
        ] {
            let got = rule.backward(0, &n, &[x.view()], &y.view(), &r.view()).unwrap().remove(0);
            for (ix, &g) in got.indexed_iter() {
                let (c, xi) = (ix[2], [ix[1], ix[2], ix[3], ix[4]]);
                let (fx, yv, rv, b) = (f[c] * x[xi], y[xi], r[&ix], t[c]);
                let z0 = |v: f64| if v == 0.0 { STAB } else { 0.0 };
                let want = match rule {
                    DiagonalRule::Simple => fx / (yv + z0(yv)) * rv,
                    DiagonalRule::Epsilon(e) => fx / (yv + e * sgn(yv) + z0(yv)) * rv,
                    DiagonalRule::AlphaBeta(a) => {
                        let (p, q) = (fx.max(0.0), fx.min(0.0));
                        (a * p / (p + z0(p) + b.max(0.0)) + (1.0 - a) * q / (q - z0(q) + b.min(0.0))) * rv
                    }
                };
                assert!((g - want).abs() <= 1e-12 * (1.0 + want.abs()), "{rule:?} at {ix:?}: {g} vs {want}");
            }
        }
        // running mean and beta zero: the map is y = f x, and simple returns R exactly
        let zeros = ArrayD::zeros(IxDyn(&[3]));
        let bn0 = BatchNorm::<f64>::new(3, 1e-3, gamma, Some(zeros.clone()), zeros, var).unwrap();
        let n0 = node(Box::new(bn0), vec![vec![3, 2, 2]]);
        let y0 = n0.op.forward(&[x.view()]).unwrap();
        let got = DiagonalRule::Simple.backward(0, &n0, &[x.view()], &y0.view(), &r.view()).unwrap().remove(0);
        assert_eq!(got, r);
    }

    #[test]
    fn add_splits_in_proportion_and_pass_is_the_identity() {
        let mut rng = Rng::new(12);
        let (a, b) = (randn(&[3, 4], &mut rng), randn(&[3, 4], &mut rng));
        let n = node(Box::new(crate::layers::add::Add), vec![vec![4], vec![4]]);
        let y = &a + &b;
        let r = randn(&[2, 3, 4], &mut rng);
        let got = ProportionalSum.backward(0, &n, &[a.view(), b.view()], &y.view(), &r.view()).unwrap();
        for (ix, &rv) in r.indexed_iter() {
            let (i, j) = (ix[1], ix[2]);
            let d = y[[i, j]] + STAB * sgn(y[[i, j]]);
            assert!((got[0][&ix] - rv * a[[i, j]] / d).abs() <= 1e-12 * (1.0 + rv.abs()));
            assert!((got[1][&ix] - rv * b[[i, j]] / d).abs() <= 1e-12 * (1.0 + rv.abs()));
            assert!((got[0][&ix] + got[1][&ix] - rv).abs() <= 1e-12 * (1.0 + rv.abs()));
        }
        let act = node(
            Box::new(crate::layers::activation_layer::ActivationLayer::new(crate::activation::Activation::Relu)),
            vec![vec![4]],
        );
        let out = Pass.backward(0, &act, &[a.view()], &a.view(), &r.view()).unwrap();
        assert_eq!(out[0], r);
    }

    #[test]
    fn max_pooling_without_winner_takes_all_is_average_pooling() {
        let mut rng = Rng::new(13);
        let x = randn(&[2, 2, 5, 6], &mut rng);
        let max = node(Box::new(Pool::new(PoolKind::Max, 2, &[2, 3], Some(&[2, 2])).unwrap()), vec![vec![2, 5, 6]]);
        let avg = node(Box::new(Pool::new(PoolKind::Avg, 2, &[2, 3], Some(&[2, 2])).unwrap()), vec![vec![2, 5, 6]]);
        let y_max = max.op.forward(&[x.view()]).unwrap();
        let y_avg = avg.op.forward(&[x.view()]).unwrap();
        let r = randn(&with_leading(&[2], y_max.shape()), &mut rng);
        for rule in [LrpRule::Simple, LrpRule::Epsilon(0.1), LrpRule::AlphaBeta(0.5), LrpRule::AlphaBeta(2.0)] {
            let basic = rule.basic().unwrap();
            let want = basic.backward(0, &avg, &[x.view()], &y_avg.view(), &r.view()).unwrap().remove(0);
            let (k, s) = max.op.pool_window().unwrap();
            let got = AveragedMaxPool::new(k, s, basic)
                .backward(0, &max, &[x.view()], &y_max.view(), &r.view())
                .unwrap()
                .remove(0);
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{rule:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn f32_rules_agree_with_f64() {
        let mut rng = Rng::new(14);
        let (w, b) = (randn(&[3, 2, 3, 3], &mut rng), randn(&[3], &mut rng));
        let c64 = Conv::<f64>::new_2d(w.clone(), Some(b.clone()), None, None, Some(&[1])).unwrap();
        let c32 = Conv::<f32>::new_2d(w, Some(b), None, None, Some(&[1])).unwrap();
        let x = randn(&[2, 2, 5, 5], &mut rng);
        let z = c64.forward(&[x.view()]).unwrap();
        let r = randn(&with_leading(&[2], z.shape()), &mut rng);
        let (x32, r32) = (x.mapv(|v| v as f32), r.mapv(|v| v as f32));
        let z32 = c32.forward(&[x32.view()]).unwrap();
        for rule in [LrpRule::Epsilon(0.1), LrpRule::AlphaBeta(2.0), LrpRule::Gamma(0.25), LrpRule::Flat] {
            let basic = rule.basic().unwrap();
            let a = basic.apply(&c64, &x.view(), Some(&z.view()), &r.view()).unwrap();
            let b = basic.apply(&c32, &x32.view(), Some(&z32.view()), &r32.view()).unwrap();
            let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = a.iter().zip(b.iter()).fold(0.0f64, |m, (p, q)| m.max((p - *q as f64).abs()));
            assert!(err <= 1e-4 * scale, "{rule:?}: {err} vs scale {scale}");
        }
    }
}
