//! innsight's named-list model format, as JSON (the R side sends the normalised
//! list through `jsonlite`, weights travel separately as named tensors).
//!
//! Indices are 1-based exactly as in R: `input_layers` uses `0` for "model input",
//! `output_layers` uses `-1` for "model output". [`crate::graph::Graph::build`]
//! converts them once. Scalars may arrive as one-element arrays and vectors as
//! scalars (jsonlite's `auto_unbox`); the deserialisers below accept both.

use serde::{Deserialize, Deserializer, Serialize};

/// A whole model: layers plus the graph's entry and exit points.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ModelSpec {
    /// In-shapes (channels first, no batch axis), one per model input.
    #[serde(deserialize_with = "shapes")]
    pub input_dim: Vec<Vec<usize>>,
    /// 1-based indices of the layers that receive the model inputs, in input order.
    #[serde(deserialize_with = "many")]
    pub input_nodes: Vec<usize>,
    /// 1-based indices of the layers whose outputs are model outputs, in output order.
    #[serde(deserialize_with = "many")]
    pub output_nodes: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerSpec>,
}

/// One layer: its type-specific parameters plus its graph edges.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LayerSpec {
    /// Type and hyper-parameters.
    #[serde(flatten)]
    pub op: OpSpec,
    /// 1-based predecessor indices; `0` = a model input.
    #[serde(deserialize_with = "many_i64")]
    pub input_layers: Vec<i64>,
    /// 1-based successor indices; `-1` = a model output.
    #[serde(deserialize_with = "many_i64")]
    pub output_layers: Vec<i64>,
    /// Optional expected in-shape(s) (checked against shape inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim_in: Option<serde_json::Value>,
    /// Optional expected out-shape (checked against shape inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim_out: Option<serde_json::Value>,
}

/// Activation parameters (all optional; defaults as in torch).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ActivationArgs {
    /// leaky_relu slope (default 0.01).
    #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
    pub negative_slope: Option<f64>,
    /// softplus sharpness (default 1).
    #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// elu scale (default 1).
    #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// clip lower bound (default −∞).
    #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// clip upper bound (default +∞).
    #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Convolution hyper-parameters (Conv1D and Conv2D).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConvSpec {
    #[serde(deserialize_with = "one")]
    pub activation_name: String,
    #[serde(default)]
    pub activation_args: ActivationArgs,
    #[serde(default, deserialize_with = "opt_many", skip_serializing_if = "Option::is_none")]
    pub stride: Option<Vec<usize>>,
    #[serde(default, deserialize_with = "opt_many", skip_serializing_if = "Option::is_none")]
    pub dilation: Option<Vec<usize>>,
    #[serde(default, deserialize_with = "opt_many", skip_serializing_if = "Option::is_none")]
    pub padding: Option<Vec<usize>>,
    /// Number of channel groups (default 1; the input channels for a depthwise
    /// convolution). The weight is `[C_out, C_in / groups, k...]`.
    #[serde(default, deserialize_with = "opt_usize", skip_serializing_if = "Option::is_none")]
    pub groups: Option<usize>,
}

/// Pooling hyper-parameters (max and average, 1D and 2D).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PoolSpec {
    #[serde(deserialize_with = "many")]
    pub kernel_size: Vec<usize>,
    #[serde(default, deserialize_with = "opt_many", skip_serializing_if = "Option::is_none")]
    pub strides: Option<Vec<usize>>,
}

/// Type-specific layer parameters; the `type` strings are innsight's.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum OpSpec {
    Dense {
        #[serde(deserialize_with = "one")]
        activation_name: String,
        #[serde(default)]
        activation_args: ActivationArgs,
    },
    Conv1D(ConvSpec),
    Conv2D(ConvSpec),
    MaxPooling1D(PoolSpec),
    MaxPooling2D(PoolSpec),
    AveragePooling1D(PoolSpec),
    AveragePooling2D(PoolSpec),
    GlobalPooling {
        #[serde(deserialize_with = "one")]
        method: String,
    },
    BatchNorm {
        #[serde(deserialize_with = "one")]
        num_features: usize,
        #[serde(deserialize_with = "one")]
        eps: f64,
    },
    Flatten {
        #[serde(default, deserialize_with = "opt_i64", skip_serializing_if = "Option::is_none")]
        start_dim: Option<i64>,
        #[serde(default, deserialize_with = "opt_i64", skip_serializing_if = "Option::is_none")]
        end_dim: Option<i64>,
        /// Order in which the model flattens: "channels_first" (torch, list models;
        /// default) or "channels_last" (keras).
        #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
        data_format: Option<String>,
    },
    Padding {
        #[serde(deserialize_with = "many")]
        padding: Vec<usize>,
        #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, deserialize_with = "opt_f64", skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
    },
    Concatenate {
        #[serde(deserialize_with = "one")]
        axis: i64,
    },
    Add {},
    Activation {
        #[serde(deserialize_with = "one")]
        act_name: String,
        #[serde(default)]
        activation_args: ActivationArgs,
    },
    Skipping {},
    /// Elementwise product of two inputs (broadcast over axes of size 1).
    Multiply {},
    /// Reshape to `shape` (no batch axis), row-major.
    Reshape {
        #[serde(deserialize_with = "many")]
        shape: Vec<usize>,
    },
}

impl OpSpec {
    /// innsight's `type` string of this layer.
    pub fn type_name(&self) -> &'static str {
        match self {
            OpSpec::Dense { .. } => "Dense",
            OpSpec::Conv1D(_) => "Conv1D",
            OpSpec::Conv2D(_) => "Conv2D",
            OpSpec::MaxPooling1D(_) => "MaxPooling1D",
            OpSpec::MaxPooling2D(_) => "MaxPooling2D",
            OpSpec::AveragePooling1D(_) => "AveragePooling1D",
            OpSpec::AveragePooling2D(_) => "AveragePooling2D",
            OpSpec::GlobalPooling { .. } => "GlobalPooling",
            OpSpec::BatchNorm { .. } => "BatchNorm",
            OpSpec::Flatten { .. } => "Flatten",
            OpSpec::Padding { .. } => "Padding",
            OpSpec::Concatenate { .. } => "Concatenate",
            OpSpec::Add {} => "Add",
            OpSpec::Activation { .. } => "Activation",
            OpSpec::Skipping {} => "Skipping",
            OpSpec::Multiply {} => "Multiply",
            OpSpec::Reshape { .. } => "Reshape",
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(x) => vec![x],
            OneOrMany::Many(v) => v,
        }
    }
}

fn many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(OneOrMany::<T>::deserialize(d)?.into_vec())
}

fn many_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    many::<D, i64>(d)
}

fn opt_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    Ok(Option::<OneOrMany<T>>::deserialize(d)?.map(OneOrMany::into_vec))
}

fn one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    let mut v = many::<D, T>(d)?;
    if v.len() != 1 {
        return Err(serde::de::Error::custom(format!("expected a single value, got {}", v.len())));
    }
    Ok(v.remove(0))
}

fn opt_one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    match opt_many::<D, T>(d)? {
        None => Ok(None),
        Some(mut v) if v.len() == 1 => Ok(Some(v.remove(0))),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => Err(serde::de::Error::custom(format!("expected a single value, got {}", v.len()))),
    }
}

fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    opt_one::<D, f64>(d)
}

fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    opt_one::<D, i64>(d)
}

fn opt_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    opt_one::<D, usize>(d)
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    opt_one::<D, String>(d)
}

fn shapes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<usize>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shapes {
        One(OneOrMany<usize>),
        Many(Vec<OneOrMany<usize>>),
    }
    Ok(match Shapes::deserialize(d)? {
        Shapes::One(s) => vec![s.into_vec()],
        Shapes::Many(v) => v.into_iter().map(OneOrMany::into_vec).collect(),
    })
}

impl ModelSpec {
    /// Parse a model description from JSON.
    pub fn from_json(json: &str) -> crate::Result<ModelSpec> {
        serde_json::from_str(json).map_err(|e| crate::Error::Spec(format!("invalid model description: {e}")))
    }

    /// The description as JSON (what [`ModelSpec::from_json`] reads).
    pub fn to_json(&self) -> crate::Result<String> {
        serde_json::to_string(self).map_err(|e| crate::Error::Internal(format!("model description: {e}")))
    }
}
