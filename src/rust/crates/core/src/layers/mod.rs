//! Layers: forward pass, shape inference and vector-Jacobian product (VJP).
//!
//! A layer knows nothing about attribution methods. Rules (see [`crate::propagate`])
//! work through the layer's VJP or through its capabilities.
//!
//! Conventions (see [`crate::tensor`]): `forward` receives one `[B, in...]` tensor per
//! input and returns `[B, out...]`; `vjp` receives the upper signal `[S, B, out...]`
//! and returns one `[S, B, in...]` signal per input.
//!
//! Dense and convolution layers carry a fused activation in innsight's list format;
//! the graph builder splits it off into its own [`activation_layer::ActivationLayer`]
//! node, so every layer here is either purely affine or purely an activation.

pub mod activation_layer;
pub mod add;
pub mod batch_norm;
pub mod concat;
pub mod conv;
pub mod dense;
pub mod flatten;
pub mod global_pool;
pub mod grouped_conv;
mod im2col;
pub mod multiply;
pub mod padding;
pub mod pool;
pub mod reshape;
pub mod skip;
pub mod weight_matrix;
mod winograd;

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::spec::OpSpec;
use crate::tensor::Shape;
use ndarray::{Array1, ArrayD, ArrayViewD};
use std::collections::HashMap;
pub use weight_matrix::{WeightMatrix, WeightTensor};

/// Named weight tensors (row-major, `f64`), e.g. `layers.3.weight`, `layers.3.bias`.
/// Layer indices in names are 1-based, as in the R list.
pub type Weights = HashMap<String, ArrayD<f64>>;

/// innsight's layer classes. The `class_key` strings are the keys accepted by LRP's
/// per-layer `rule_name` / `rule_param` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayerKind {
    Dense,
    Conv1D,
    Conv2D,
    BatchNorm,
    AvgPool1D,
    AvgPool2D,
    MaxPool1D,
    MaxPool2D,
    GlobalAvgPool,
    GlobalMaxPool,
    Flatten,
    Concatenate,
    Add,
    Padding,
    Skipping,
    Activation,
    Multiply,
    Reshape,
}

impl LayerKind {
    /// innsight's class name of the layer (used by per-layer LRP rules and printing).
    pub fn class_key(&self) -> &'static str {
        match self {
            LayerKind::Dense => "Dense_Layer",
            LayerKind::Conv1D => "Conv1D_Layer",
            LayerKind::Conv2D => "Conv2D_Layer",
            LayerKind::BatchNorm => "BatchNorm_Layer",
            LayerKind::AvgPool1D => "AvgPool1D_Layer",
            LayerKind::AvgPool2D => "AvgPool2D_Layer",
            LayerKind::MaxPool1D => "MaxPool1D_Layer",
            LayerKind::MaxPool2D => "MaxPool2D_Layer",
            LayerKind::GlobalAvgPool => "GlobalAvgPooling",
            LayerKind::GlobalMaxPool => "GlobalMaxPooling",
            LayerKind::Flatten => "Flatten_Layer",
            LayerKind::Concatenate => "Concatenate_Layer",
            LayerKind::Add => "Adding_Layer",
            LayerKind::Padding => "Padding_Layer",
            LayerKind::Skipping => "Skipping_Layer",
            LayerKind::Activation => "Activation",
            LayerKind::Multiply => "Multiply_Layer",
            LayerKind::Reshape => "Reshape_Layer",
        }
    }
}

/// A graph node's operation.
pub trait Layer<T: Scalar>: Send + Sync {
    /// The layer's class.
    fn kind(&self) -> LayerKind;

    /// Output shape (no batch axis) for the given input shapes; errors say what
    /// was expected.
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape>;

    /// Forward pass: `[B, in...]` per input → `[B, out...]`.
    fn forward(&self, inputs: &[ArrayViewD<T>]) -> Result<ArrayD<T>>;

    /// Vector-Jacobian product: upper signal `grad` `[S, B, out...]` → one
    /// `[S, B, in...]` per input. `inputs` and `output` are the traced forward values.
    fn vjp(&self, inputs: &[ArrayViewD<T>], output: &ArrayViewD<T>, grad: &ArrayViewD<T>) -> Result<Vec<ArrayD<T>>>;

    /// The activation, for activation nodes.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// The linear capability, for layers affine in their single input.
    fn as_linear(&self) -> Option<&dyn Linear<T>> {
        None
    }

    /// The window `(kernel, strides)` over the spatial axes, for max and average
    /// pooling layers (DeepLift pools the input difference with a max layer's window).
    fn pool_window(&self) -> Option<(&[usize], &[usize])> {
        None
    }

    /// `(scale, shift)` when the layer is the per-channel affine map
    /// `y = scale · x + shift` over axis 1 (inference-mode batch normalisation).
    fn channel_affine(&self) -> Option<(&Array1<T>, &Array1<T>)> {
        None
    }

    /// This layer followed by the per-output-channel affine map `scale · y + shift`,
    /// as one layer (dense and convolution layers: `W·scale`, `b·scale + shift`).
    fn then_affine(&self, _scale: &Array1<T>, _shift: &Array1<T>) -> Option<Box<dyn Layer<T>>> {
        None
    }
}

/// How a rule modifies a linear layer's weights (zennit's parameter modifiers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightMod {
    /// `W`
    Identity,
    /// `W⁺ = max(W, 0)`
    Positive,
    /// `W⁻ = min(W, 0)`
    Negative,
    /// `W + γ W⁺`
    Gamma(f64),
    /// `W + γ W⁻`
    GammaNegative(f64),
    /// `W ⊙ W`
    Square,
    /// all ones (same sparsity pattern as the layer, e.g. a conv kernel of ones)
    Ones,
}

/// How a rule modifies a linear layer's bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BiasMod {
    Keep,
    Zero,
    Positive,
    Negative,
    /// `b + γ b⁺`
    Gamma(f64),
    /// `b + γ b⁻`
    GammaNegative(f64),
    /// `b ⊙ b`
    Square,
}

/// Layers affine in their single input (Dense, Conv, AvgPool, BatchNorm): forward and
/// VJP with substituted parameters. This is all an LRP-type rule needs, so rules are
/// written once for every linear layer kind.
pub trait Linear<T: Scalar>: Send + Sync {
    /// `W' x + b'` for `x` `[N, in...]` (any leading batch size `N`).
    fn forward_mod(&self, x: &ArrayViewD<T>, w: WeightMod, b: BiasMod) -> Result<ArrayD<T>>;
    /// `W'ᵀ g` for `g` `[S, B, out...]`, returning `[S, B, in...]`; `in_shape` is the
    /// input shape without batch axis (a strided convolution or pooling cannot infer it).
    fn vjp_mod(&self, g: &ArrayViewD<T>, in_shape: &[usize], w: WeightMod) -> Result<ArrayD<T>>;
}

/// A layer built from the spec: its main operation plus a fused activation (only
/// Dense/Conv layers have a non-linear one).
pub struct Built<T: Scalar> {
    pub op: Box<dyn Layer<T>>,
    pub activation: Activation,
}

/// Where a graph's parameters come from: the named `f64` tensors of a list model
/// ([`Weights`]) or a source whose weight matrices the layers may borrow (the R
/// package's weight blob).
pub trait WeightSource<T: Scalar> {
    /// A (small) parameter tensor as `f64`: a bias, batch-norm statistics.
    fn tensor(&self, name: &str) -> Result<Option<ArrayD<f64>>>;
    /// A dense or convolution weight in the layers' precision.
    fn weight(&self, name: &str) -> Result<Option<WeightTensor<T>>>;
}

impl<T: Scalar> WeightSource<T> for Weights {
    fn tensor(&self, name: &str) -> Result<Option<ArrayD<f64>>> {
        Ok(self.get(name).cloned())
    }

    fn weight(&self, name: &str) -> Result<Option<WeightTensor<T>>> {
        Ok(self.get(name).map(WeightTensor::from))
    }
}

fn missing(name: &str) -> Error {
    Error::Spec(format!("missing weight tensor `{name}`"))
}

fn take<T: Scalar>(w: &dyn WeightSource<T>, index: usize, name: &str) -> Result<ArrayD<f64>> {
    w.tensor(&format!("layers.{index}.{name}"))?.ok_or_else(|| missing(name))
}

fn take_opt<T: Scalar>(w: &dyn WeightSource<T>, index: usize, name: &str) -> Result<Option<ArrayD<f64>>> {
    w.tensor(&format!("layers.{index}.{name}"))
}

fn take_weight<T: Scalar>(w: &dyn WeightSource<T>, index: usize) -> Result<WeightTensor<T>> {
    w.weight(&format!("layers.{index}.weight"))?.ok_or_else(|| missing("weight"))
}

/// Build the layer at 1-based `index` from its spec and weights.
pub fn build<T: Scalar>(index: usize, op: &OpSpec, w: &dyn WeightSource<T>) -> Result<Built<T>> {
    use crate::layers::pool::PoolKind;
    let linear = Activation::Linear;
    let built = |op: Box<dyn Layer<T>>, activation| Built { op, activation };
    Ok(match op {
        OpSpec::Dense { activation_name, activation_args } => built(
            Box::new(dense::Dense::new(take_weight(w, index)?, take_opt(w, index, "bias")?)?),
            Activation::from_name(activation_name, activation_args)?,
        ),
        OpSpec::Conv1D(c) | OpSpec::Conv2D(c) => {
            let (w, b) = (take_weight(w, index)?, take_opt(w, index, "bias")?);
            let (s, d, p) = (c.stride.as_deref(), c.dilation.as_deref(), c.padding.as_deref());
            let one_d = matches!(op, OpSpec::Conv1D(_));
            let make = |w: WeightTensor<T>, b| if one_d { conv::Conv::new_1d(w, b, s, d, p) } else { conv::Conv::new_2d(w, b, s, d, p) };
            let layer: Box<dyn Layer<T>> = match c.groups.unwrap_or(1) {
                1 => Box::new(make(w, b)?),
                g => {
                    let kind = if one_d { LayerKind::Conv1D } else { LayerKind::Conv2D };
                    Box::new(grouped_conv::GroupedConv::new(kind, g, w, b, make)?)
                }
            };
            built(layer, Activation::from_name(&c.activation_name, &c.activation_args)?)
        }
        OpSpec::MaxPooling1D(p) => built(Box::new(pool::Pool::new(PoolKind::Max, 1, &p.kernel_size, p.strides.as_deref())?), linear),
        OpSpec::MaxPooling2D(p) => built(Box::new(pool::Pool::new(PoolKind::Max, 2, &p.kernel_size, p.strides.as_deref())?), linear),
        OpSpec::AveragePooling1D(p) => built(Box::new(pool::Pool::new(PoolKind::Avg, 1, &p.kernel_size, p.strides.as_deref())?), linear),
        OpSpec::AveragePooling2D(p) => built(Box::new(pool::Pool::new(PoolKind::Avg, 2, &p.kernel_size, p.strides.as_deref())?), linear),
        OpSpec::GlobalPooling { method } => built(Box::new(global_pool::GlobalPool::new(method)?), linear),
        OpSpec::BatchNorm { num_features, eps } => built(
            Box::new(batch_norm::BatchNorm::new(
                *num_features,
                *eps,
                take(w, index, "gamma")?,
                take_opt(w, index, "beta")?,
                take(w, index, "run_mean")?,
                take(w, index, "run_var")?,
            )?),
            linear,
        ),
        OpSpec::Flatten { start_dim, end_dim, data_format } => built(
            Box::new(flatten::Flatten::new(*start_dim, *end_dim, data_format.as_deref())?),
            linear,
        ),
        OpSpec::Padding { padding, mode, value } => built(
            Box::new(padding::Padding::new(padding, mode.as_deref().unwrap_or("constant"), value.unwrap_or(0.0))?),
            linear,
        ),
        OpSpec::Concatenate { axis } => built(Box::new(concat::Concatenate::new(*axis)), linear),
        OpSpec::Add {} => built(Box::new(add::Add), linear),
        OpSpec::Activation { act_name, activation_args } => built(
            Box::new(activation_layer::ActivationLayer::new(Activation::from_name(act_name, activation_args)?)),
            linear,
        ),
        OpSpec::Skipping {} => built(Box::new(skip::Skip), linear),
        OpSpec::Multiply {} => built(Box::new(multiply::Multiply), linear),
        OpSpec::Reshape { shape } => built(Box::new(reshape::Reshape::new(shape)?), linear),
    })
}

/// Convert a weight tensor to the compute scalar.
pub fn cast<T: Scalar>(a: &ArrayD<f64>) -> ArrayD<T> {
    a.mapv(T::of)
}

/// Check that exactly `n` inputs arrived.
pub fn expect_inputs(got: usize, n: usize) -> Result<()> {
    if got != n {
        return Err(Error::Spec(format!("expected {n} input(s), got {got}")));
    }
    Ok(())
}

/// Read a per-axis hyper-parameter given as one value or one per axis.
pub fn per_axis(name: &str, v: Option<&[usize]>, n: usize, default: usize) -> Result<Vec<usize>> {
    match v {
        None => Ok(vec![default; n]),
        Some([x]) => Ok(vec![*x; n]),
        Some(xs) if xs.len() == n => Ok(xs.to_vec()),
        Some(xs) => Err(Error::Spec(format!("`{name}` must have length 1 or {n}, got {}", xs.len()))),
    }
}

#[cfg(test)]
pub mod testutil;
