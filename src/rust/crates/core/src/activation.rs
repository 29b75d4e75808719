//! Activation functions: forward, derivative, and the vector-Jacobian product.
//!
//! All but softmax act elementwise, so their VJP is `g ⊙ f'(z)`. Softmax acts along
//! the channel axis (axis 1 of a `[B, C, ...]` tensor, which is the feature axis of
//! tabular data and the last axis of innsight's rank-1 outputs); its VJP is
//! `y ⊙ (g − Σ_c g·y)`.
//!
//! Definitions follow torch: leaky_relu slope 0.01, softplus β = 1 (with a linear
//! tail for βz > 20), elu α = 1, selu with the standard constants, gelu the exact erf
//! form, silu = z·σ(z). The piecewise-linear ones follow ONNX (the operators that
//! exporters write for torch's `ReLU6`, `Hardsigmoid` and `Hardswish`): clip to
//! `[min, max]`, hard_sigmoid `max(0, min(1, αz + β))` (ONNX defaults α = 0.2,
//! β = 0.5; torch's is α = 1/6), hard_swish `z · max(0, min(1, z/6 + 1/2))`. At
//! their kinks the derivative is taken from the right-open side, as torch does
//! (e.g. clip: 1 on `min < z < max`, 0 elsewhere).

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::spec::ActivationArgs;
use crate::linalg::{map_flat, map_slabs};
use ndarray::{ArrayD, ArrayViewD, Axis};

/// An activation function with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    Relu,
    LeakyRelu { slope: f64 },
    Softplus { beta: f64 },
    Sigmoid,
    Softmax,
    Tanh,
    Elu { alpha: f64 },
    Selu,
    Gelu,
    Silu,
    Clip { min: f64, max: f64 },
    HardSigmoid { alpha: f64, beta: f64 },
    HardSwish,
}

const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// The activation names accepted in `activation_name` / `act_name`.
pub const ACTIVATION_NAMES: &[&str] = &[
    "linear", "relu", "leaky_relu", "softplus", "sigmoid", "logistic", "softmax", "tanh", "elu", "selu", "gelu",
    "silu", "swish", "clip", "relu6", "hard_sigmoid", "hard_swish",
];

impl Activation {
    /// Look an activation up by its innsight name.
    pub fn from_name(name: &str, args: &ActivationArgs) -> Result<Activation> {
        Ok(match name {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu { slope: args.negative_slope.unwrap_or(0.01) },
            "softplus" => Activation::Softplus { beta: args.beta.unwrap_or(1.0) },
            "sigmoid" | "logistic" => Activation::Sigmoid,
            "softmax" => Activation::Softmax,
            "tanh" => Activation::Tanh,
            "elu" => Activation::Elu { alpha: args.alpha.unwrap_or(1.0) },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu,
            "silu" | "swish" => Activation::Silu,
            "relu6" => Activation::Clip { min: 0.0, max: 6.0 },
            "clip" => {
                let (min, max) = (args.min.unwrap_or(f64::NEG_INFINITY), args.max.unwrap_or(f64::INFINITY));
                if !(min <= max) {
                    return Err(Error::Spec(format!("clip needs `min` <= `max`, got min = {min}, max = {max}")));
                }
                Activation::Clip { min, max }
            }
            "hard_sigmoid" => Activation::HardSigmoid { alpha: args.alpha.unwrap_or(0.2), beta: args.beta.unwrap_or(0.5) },
            "hard_swish" => Activation::HardSwish,
            other => {
                return Err(Error::Spec(format!(
                    "unknown activation '{other}'; expected one of {}",
                    ACTIVATION_NAMES.join(", ")
                )))
            }
        })
    }

    /// Whether this is the identity.
    pub fn is_linear(&self) -> bool {
        matches!(self, Activation::Linear)
    }

    /// Whether the activation acts elementwise (everything but softmax).
    pub fn is_elementwise(&self) -> bool {
        !matches!(self, Activation::Softmax)
    }

    /// Whether innsight shifts the LRP start value by −0.5 for this output activation.
    pub fn is_probability(&self) -> bool {
        matches!(self, Activation::Sigmoid | Activation::Softmax)
    }

    /// f(z) for an elementwise activation.
    #[inline]
    pub fn apply<T: Scalar>(&self, z: T) -> T {
        let zf = z.as_f64();
        match *self {
            Activation::Linear => z,
            Activation::Relu => z.max(T::zero()),
            Activation::LeakyRelu { slope } => {
                if z > T::zero() {
                    z
                } else {
                    z * T::of(slope)
                }
            }
            Activation::Softplus { beta } => {
                let bz = beta * zf;
                if bz > 20.0 {
                    z
                } else {
                    T::of(bz.exp().ln_1p() / beta)
                }
            }
            Activation::Sigmoid => T::one() / (T::one() + (-z).exp()),
            Activation::Tanh => z.tanh(),
            Activation::Elu { alpha } => {
                if z > T::zero() {
                    z
                } else {
                    T::of(alpha * zf.exp_m1())
                }
            }
            Activation::Selu => T::of(SELU_SCALE * if zf > 0.0 { zf } else { SELU_ALPHA * zf.exp_m1() }),
            Activation::Gelu => T::of(0.5 * zf * (1.0 + erf(zf / std::f64::consts::SQRT_2))),
            Activation::Silu => z / (T::one() + (-z).exp()),
            Activation::Clip { min, max } => T::of(zf.max(min).min(max)),
            Activation::HardSigmoid { alpha, beta } => T::of((alpha * zf + beta).clamp(0.0, 1.0)),
            Activation::HardSwish => T::of(zf * (zf / 6.0 + 0.5).clamp(0.0, 1.0)),
            Activation::Softmax => z, // not elementwise; handled by `forward`
        }
    }

    /// f'(z) for an elementwise activation.
    #[inline]
    pub fn derivative<T: Scalar>(&self, z: T) -> T {
        let zf = z.as_f64();
        match *self {
            Activation::Linear => T::one(),
            Activation::Relu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu { slope } => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::of(slope)
                }
            }
            Activation::Softplus { beta } => {
                let bz = beta * zf;
                if bz > 20.0 {
                    T::one()
                } else {
                    T::of(1.0 / (1.0 + (-bz).exp()))
                }
            }
            Activation::Sigmoid => {
                let s = T::one() / (T::one() + (-z).exp());
                s * (T::one() - s)
            }
            Activation::Tanh => {
                let t = z.tanh();
                T::one() - t * t
            }
            Activation::Elu { alpha } => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::of(alpha * zf.exp())
                }
            }
            Activation::Selu => T::of(SELU_SCALE * if zf > 0.0 { 1.0 } else { SELU_ALPHA * zf.exp() }),
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + erf(zf / std::f64::consts::SQRT_2));
                let pdf = (-0.5 * zf * zf).exp() / (2.0 * std::f64::consts::PI).sqrt();
                T::of(cdf + zf * pdf)
            }
            Activation::Silu => {
                let s = T::one() / (T::one() + (-z).exp());
                s * (T::one() + z * (T::one() - s))
            }
            Activation::Clip { min, max } => T::of(if zf > min && zf < max { 1.0 } else { 0.0 }),
            Activation::HardSigmoid { alpha, beta } => {
                let u = alpha * zf + beta;
                T::of(if u > 0.0 && u < 1.0 { alpha } else { 0.0 })
            }
            Activation::HardSwish => T::of(if zf < -3.0 {
                0.0
            } else if zf > 3.0 {
                1.0
            } else {
                zf / 3.0 + 0.5
            }),
            Activation::Softmax => T::one(),
        }
    }

    /// y = f(z) for a `[B, C, ...]` tensor.
    pub fn forward<T: Scalar>(&self, z: &ArrayViewD<T>) -> ArrayD<T> {
        match self {
            Activation::Linear => z.to_owned(),
            Activation::Softmax => softmax(z),
            act => {
                let zs = z.as_standard_layout();
                let zf = zs.as_slice().expect("standard layout");
                // ReLU gets its own loop: the generic `apply` matches on the activation
                // per element, which keeps the hottest loop of a CNN from vectorising.
                let y = match act {
                    Activation::Relu => map_flat(zf, |v| v.max(T::zero())),
                    act => map_flat(zf, |v| act.apply(v)),
                };
                ArrayD::from_shape_vec(z.raw_dim(), y).expect("activation shape")
            }
        }
    }

    /// VJP: given the pre-activation `z` `[B, ...]`, the output `y` `[B, ...]` and the
    /// upper gradient `g` `[S, B, ...]`, return `[S, B, ...]`.
    pub fn vjp<T: Scalar>(&self, z: &ArrayViewD<T>, y: &ArrayViewD<T>, g: &ArrayViewD<T>) -> ArrayD<T> {
        match self {
            Activation::Linear => g.to_owned(),
            Activation::Softmax => {
                // per output slab s: y ⊙ (g − Σ_c g·y)
                let mut out = g.as_standard_layout().into_owned();
                for mut slab in out.outer_iter_mut() {
                    let dot = (&slab * y).sum_axis(Axis(1)).insert_axis(Axis(1));
                    slab -= &dot;
                    slab *= y;
                }
                out
            }
            act => {
                // g ⊙ f'(z) in one pass, f'(z) broadcast over the leading S axis
                let (gs, zs) = (g.as_standard_layout(), z.as_standard_layout());
                let (gf, zf) = (gs.as_slice().expect("standard layout"), zs.as_slice().expect("standard layout"));
                let out = match act {
                    Activation::Relu => map_slabs(gf, zf, |gv, zv| gv * if zv > T::zero() { T::one() } else { T::zero() }),
                    act => map_slabs(gf, zf, |gv, zv| gv * act.derivative(zv)),
                };
                ArrayD::from_shape_vec(g.raw_dim(), out).expect("activation shape")
            }
        }
    }
}

/// Softmax along axis 1, numerically stabilised by the per-position maximum.
fn softmax<T: Scalar>(z: &ArrayViewD<T>) -> ArrayD<T> {
    let max = z.fold_axis(Axis(1), T::neg_infinity(), |&m, &v| m.max(v)).insert_axis(Axis(1));
    let mut e = z - &max;
    e.mapv_inplace(|v| v.exp());
    let s = e.sum_axis(Axis(1)).insert_axis(Axis(1));
    e /= &s;
    e
}

/// The error function, accurate to about 1e-15 (needed for GELU parity in f64): the
/// Maclaurin series for |x| < 2 and Lentz's continued fraction for erfc beyond.
pub fn erf(x: f64) -> f64 {
    // series for |x| < 2 (mild cancellation), continued fraction for erfc beyond.
    if x.abs() < 2.0 {
        // Maclaurin series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = 0.0f64;
        let mut term = x;
        let x2 = x * x;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x2 / n;
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let r = erfc_cf(x.abs());
        if x > 0.0 {
            1.0 - r
        } else {
            r - 1.0
        }
    }
}

/// erfc(x) for x ≥ 2 by Lentz's continued fraction (converges fast there).
fn erfc_cf(x: f64) -> f64 {
    // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...)))))
    let tiny = 1e-300;
    let mut f = x;
    if f == 0.0 {
        f = tiny;
    }
    let mut c = f;
    let mut d = 0.0;
    for k in 1..500 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        if d == 0.0 {
            d = tiny;
        }
        c = x + a / c;
        if c == 0.0 {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        let cases = [(0.0, 0.0), (0.1, 0.1124629160182849), (0.5, 0.5204998778130465), (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527), (-1.5, -0.9661051464753108), (3.5, 0.9999992569016276)];
        for (x, e) in cases {
            assert!((erf(x) - e).abs() < 1e-14, "erf({x}) = {} vs {e}", erf(x));
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::Relu, Activation::LeakyRelu { slope: 0.2 }, Activation::Softplus { beta: 2.0 },
            Activation::Sigmoid, Activation::Tanh, Activation::Elu { alpha: 1.3 }, Activation::Selu,
            Activation::Gelu, Activation::Silu, Activation::Linear, Activation::Clip { min: -1.0, max: 1.5 },
            Activation::HardSigmoid { alpha: 0.3, beta: 0.4 }, Activation::HardSwish,
        ];
        let h = 1e-6;
        for act in acts {
            for &z in &[-2.3f64, -0.7, -0.01, 0.02, 0.4, 1.9, 25.0] {
                let fd = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let d = act.derivative(z);
                assert!((fd - d).abs() < 1e-6 * (1.0 + d.abs()), "{act:?} at {z}: fd {fd} vs {d}");
            }
        }
    }
}
