//! Composites: which LRP rule each node gets (zennit's `LayerMapComposite` and
//! `SpecialFirstLayerMapComposite`, matched on innsight's class keys).
//!
//! A composite is an ordered list of (matcher → rule) entries: the user's entries
//! first, then those of the named preset. Resolution happens once per method call,
//! before any compute, and gives one [`Rule`] per node:
//!
//! * a **rule-taking** node (Dense, Conv1D, Conv2D, BatchNorm, AvgPool1D/2D,
//!   MaxPool1D/2D) gets the rule of the first matching entry, or innsight's default
//!   `simple` (max pooling: see `winner_takes_all`). A rule that cannot act on the node
//!   (`pass` on a shape-changing layer) is an [`Error::Argument`] naming the node's
//!   layer index and class;
//! * every other node has a fixed rule: activations pass relevance unchanged, Add
//!   splits it in proportion to the summands, the rest (Flatten, Concatenate, Padding,
//!   Skipping, global pooling) use their VJP. See [`crate::rules::lrp`].
//!
//! Matchers: an innsight class key ([`class_keys`]) or a family ([`family_keys`]):
//! `any` (every rule-taking node), `dense`, `conv` (1D and 2D), `linear` (dense or
//! conv), `pooling` (average and max pooling), `first_linear` (a Dense/Conv node that a
//! model input reaches without passing another Dense/Conv node: zennit's first layer).
//!
//! Presets ([`presets`]; zennit's composites with its snake_case names accepted too;
//! `epsilon` is innsight's, ε = 0.001):
//!
//! | preset | entries |
//! |---|---|
//! | `EpsilonPlus` | dense: epsilon; conv: zplus |
//! | `EpsilonPlusFlat` | first_linear: flat; then EpsilonPlus |
//! | `EpsilonGammaBox` | first_linear: zbox(low, high) (the spec's `low`/`high`, required); conv: gamma(0.25); dense: epsilon |
//! | `EpsilonAlpha2Beta1` | dense: epsilon; conv: alpha_beta(α = 2) |

use crate::error::{Error, Result};
use crate::graph::{Graph, Node, Source};
use crate::layers::LayerKind;
use crate::propagate::{GradientRule, Rule};
use crate::rules::lrp::{self, AveragedMaxPool, LrpRule, Pass, ProportionalSum, SignalTakesAll};
use crate::scalar::Scalar;
use serde::Deserialize;

/// One user entry: apply `rule` (with its parameters) to the nodes `match` selects.
/// JSON: `{"match": "Conv2D_Layer", "rule": "epsilon", "param": 0.01}`; `low`/`high`
/// are the input bounds of `zbox` (default: the spec's).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RuleEntry {
    #[serde(rename = "match")]
    pub r#match: String,
    pub rule: String,
    #[serde(default)]
    pub param: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
}

/// innsight's class keys of the rule-taking layers, with their kinds.
const CLASSES: [(&str, LayerKind); 8] = [
    ("Dense_Layer", LayerKind::Dense),
    ("Conv1D_Layer", LayerKind::Conv1D),
    ("Conv2D_Layer", LayerKind::Conv2D),
    ("BatchNorm_Layer", LayerKind::BatchNorm),
    ("AvgPool1D_Layer", LayerKind::AvgPool1D),
    ("AvgPool2D_Layer", LayerKind::AvgPool2D),
    ("MaxPool1D_Layer", LayerKind::MaxPool1D),
    ("MaxPool2D_Layer", LayerKind::MaxPool2D),
];
const CLASS_KEYS: [&str; 8] = [
    "Dense_Layer",
    "Conv1D_Layer",
    "Conv2D_Layer",
    "BatchNorm_Layer",
    "AvgPool1D_Layer",
    "AvgPool2D_Layer",
    "MaxPool1D_Layer",
    "MaxPool2D_Layer",
];
const FAMILY_KEYS: [&str; 6] = ["any", "dense", "conv", "linear", "pooling", "first_linear"];
const PRESETS: [(&str, &str); 4] = [
    ("EpsilonPlus", "epsilon_plus"),
    ("EpsilonPlusFlat", "epsilon_plus_flat"),
    ("EpsilonGammaBox", "epsilon_gamma_box"),
    ("EpsilonAlpha2Beta1", "epsilon_alpha2_beta1"),
];
const PRESET_NAMES: [&str; 4] = ["EpsilonPlus", "EpsilonPlusFlat", "EpsilonGammaBox", "EpsilonAlpha2Beta1"];

/// The valid rule names.
pub fn rule_names() -> &'static [&'static str] {
    lrp::RULE_NAMES
}

/// innsight's class keys of the layers that take a rule.
pub fn class_keys() -> &'static [&'static str] {
    &CLASS_KEYS
}

/// The family matchers.
pub fn family_keys() -> &'static [&'static str] {
    &FAMILY_KEYS
}

/// The preset names.
pub fn presets() -> &'static [&'static str] {
    &PRESET_NAMES
}

/// Whether a node of this kind takes a rule from the composite.
pub fn takes_rule(kind: LayerKind) -> bool {
    CLASSES.iter().any(|(_, k)| *k == kind)
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// Which nodes an entry selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    Class(LayerKind),
    Any,
    Dense,
    Conv,
    Linear,
    Pooling,
    FirstLinear,
}

impl Matcher {
    /// Parse a class key or family name.
    pub fn parse(s: &str) -> Result<Matcher> {
        if let Some((_, k)) = CLASSES.iter().find(|(name, _)| *name == s) {
            return Ok(Matcher::Class(*k));
        }
        Ok(match s {
            "any" => Matcher::Any,
            "dense" => Matcher::Dense,
            "conv" => Matcher::Conv,
            "linear" => Matcher::Linear,
            "pooling" => Matcher::Pooling,
            "first_linear" => Matcher::FirstLinear,
            other => {
                return Err(Error::Argument(format!(
                    "unknown LRP rule target '{other}'; expected a layer class ({}) or one of {}",
                    quoted(&CLASS_KEYS),
                    quoted(&FAMILY_KEYS)
                )))
            }
        })
    }

    /// Whether a rule-taking node of kind `kind` is selected; `first` says whether it
    /// is a first linear node.
    pub fn matches(&self, kind: LayerKind, first: bool) -> bool {
        use LayerKind as K;
        let conv = matches!(kind, K::Conv1D | K::Conv2D);
        match *self {
            Matcher::Class(k) => k == kind,
            Matcher::Any => takes_rule(kind),
            Matcher::Dense => kind == K::Dense,
            Matcher::Conv => conv,
            Matcher::Linear => conv || kind == K::Dense,
            Matcher::Pooling => matches!(kind, K::AvgPool1D | K::AvgPool2D | K::MaxPool1D | K::MaxPool2D),
            Matcher::FirstLinear => first && (conv || kind == K::Dense),
        }
    }
}

/// One resolved entry, with where it came from (for messages).
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    matcher: Matcher,
    rule: LrpRule,
    from: String,
}

/// An ordered list of (matcher → rule) entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    entries: Vec<Entry>,
}

/// The entries of a preset; `low`/`high` are the input bounds (EpsilonGammaBox).
fn preset_entries(name: &str, low: Option<f64>, high: Option<f64>) -> Result<Vec<(Matcher, LrpRule)>> {
    let Some((canonical, _)) = PRESETS.iter().find(|(a, b)| *a == name || *b == name) else {
        return Err(Error::Argument(format!(
            "unknown LRP composite '{name}'; expected one of {}",
            quoted(&PRESET_NAMES)
        )));
    };
    let eps = LrpRule::Epsilon(lrp::EPSILON_DEFAULT);
    let epsilon_plus = vec![(Matcher::Dense, eps), (Matcher::Conv, LrpRule::ZPlus)];
    Ok(match *canonical {
        "EpsilonPlus" => epsilon_plus,
        "EpsilonPlusFlat" => [vec![(Matcher::FirstLinear, LrpRule::Flat)], epsilon_plus].concat(),
        "EpsilonGammaBox" => {
            let zbox = LrpRule::parse("zbox", None, low, high).map_err(|e| {
                Error::Argument(format!("the composite 'EpsilonGammaBox' applies zbox to the first layer: {e}"))
            })?;
            vec![
                (Matcher::FirstLinear, zbox),
                (Matcher::Conv, LrpRule::Gamma(lrp::GAMMA_DEFAULT)),
                (Matcher::Dense, eps),
            ]
        }
        "EpsilonAlpha2Beta1" => vec![(Matcher::Dense, eps), (Matcher::Conv, LrpRule::AlphaBeta(2.0))],
        other => return Err(Error::Internal(format!("preset '{other}' without entries"))),
    })
}

impl Composite {
    /// User entries (tried first) and an optional preset. `low`/`high` are the default
    /// input bounds for `zbox` (user entries may give their own).
    pub fn new(entries: &[RuleEntry], preset: Option<&str>, low: Option<f64>, high: Option<f64>) -> Result<Composite> {
        let mut out = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let from = format!("rule entry {}", i + 1);
            let matcher = Matcher::parse(&e.r#match).map_err(|err| Error::Argument(format!("{from}: {err}")))?;
            let rule = LrpRule::parse(&e.rule, e.param, e.low.or(low), e.high.or(high))
                .map_err(|err| Error::Argument(format!("{from}: {err}")))?;
            out.push(Entry { matcher, rule, from });
        }
        if let Some(name) = preset {
            let from = format!("composite '{name}'");
            for (matcher, rule) in preset_entries(name, low, high)? {
                out.push(Entry { matcher, rule, from: from.clone() });
            }
        }
        Ok(Composite { entries: out })
    }

    /// The rule chosen for node `id` (`None` for nodes that take no rule), and where
    /// it came from.
    pub fn rule_of<T: Scalar>(&self, graph: &Graph<T>, id: usize, first: &[bool]) -> Option<(LrpRule, &str)> {
        let kind = graph.nodes[id].op.kind();
        if !takes_rule(kind) {
            return None;
        }
        Some(
            self.entries
                .iter()
                .find(|e| e.matcher.matches(kind, first[id]))
                .map(|e| (e.rule, e.from.as_str()))
                .unwrap_or((LrpRule::Simple, "the default")),
        )
    }

    /// One rule per node, checked against the node before any compute.
    pub fn resolve<T: Scalar>(&self, graph: &Graph<T>, winner_takes_all: bool) -> Result<Vec<Box<dyn Rule<T>>>> {
        let first = first_linear(graph);
        let mut rules: Vec<Box<dyn Rule<T>>> = Vec::with_capacity(graph.nodes.len());
        for (id, node) in graph.nodes.iter().enumerate() {
            rules.push(match self.rule_of(graph, id, &first) {
                Some((rule, from)) => node_rule(rule, node, winner_takes_all).map_err(|why| {
                    Error::Argument(format!(
                        "the LRP rule '{}' ({from}) cannot be applied to layer {} ({}): {why}",
                        rule.name(),
                        node.layer_index,
                        node.op.kind().class_key()
                    ))
                })?,
                None => fixed_rule(node),
            });
        }
        Ok(rules)
    }
}

/// For every node: whether it is a Dense/Conv node that some model input reaches
/// without passing another Dense/Conv node.
pub fn first_linear<T: Scalar>(graph: &Graph<T>) -> Vec<bool> {
    let n = graph.nodes.len();
    // clean[id]: the node's output is reached from a model input through no Dense/Conv
    let (mut clean, mut first) = (vec![false; n], vec![false; n]);
    for (id, node) in graph.nodes.iter().enumerate() {
        let fed_clean = node.inputs.iter().any(|s| match *s {
            Source::Input(_) => true,
            Source::Node(j) => clean[j],
        });
        if matches!(node.op.kind(), LayerKind::Dense | LayerKind::Conv1D | LayerKind::Conv2D) {
            first[id] = fed_clean;
        } else {
            clean[id] = fed_clean;
        }
    }
    first
}

/// The rule of a node that takes none from the composite.
fn fixed_rule<T: Scalar>(node: &Node<T>) -> Box<dyn Rule<T>> {
    match node.op.kind() {
        LayerKind::Activation => Box::new(Pass),
        LayerKind::Add => Box::new(ProportionalSum),
        LayerKind::Multiply => Box::new(SignalTakesAll),
        _ => Box::new(GradientRule),
    }
}

/// `rule` on a rule-taking node, or why it cannot act there.
pub fn node_rule<T: Scalar>(
    rule: LrpRule,
    node: &Node<T>,
    winner_takes_all: bool,
) -> std::result::Result<Box<dyn Rule<T>>, String> {
    let kind = node.op.kind();
    let Some(basic) = rule.basic() else {
        // pass: only where the output has the input's shape
        let shape_kept = node.inputs.len() == 1 && node.in_shapes[0] == node.out_shape;
        if shape_kept && matches!(kind, LayerKind::BatchNorm | LayerKind::Activation | LayerKind::Skipping) {
            return Ok(Box::new(Pass));
        }
        return Err(
            "'pass' is only defined for layers whose output has the shape of their input (BatchNorm_Layer)".into()
        );
    };
    if matches!(kind, LayerKind::MaxPool1D | LayerKind::MaxPool2D) {
        if winner_takes_all {
            return Ok(Box::new(GradientRule));
        }
        let (k, s) = node.op.pool_window().ok_or("the max pooling layer does not report its window")?;
        return Ok(Box::new(AveragedMaxPool::new(k, s, basic)));
    }
    if node.op.as_linear().is_none() {
        return Err("the rule needs a linear layer (Dense, Conv, BatchNorm, average or max pooling)".into());
    }
    if kind == LayerKind::BatchNorm {
        if let Some(d) = rule.diagonal() {
            return Ok(Box::new(d));
        }
    }
    Ok(Box::new(basic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_list_the_allowed_values() {
        for &k in class_keys().iter().chain(family_keys()) {
            assert!(Matcher::parse(k).is_ok(), "{k}");
        }
        let e = Matcher::parse("Dense").unwrap_err();
        assert!(matches!(e, Error::Argument(_)));
        assert!(
            e.to_string().contains("'Dense'")
                && e.to_string().contains("'Dense_Layer'")
                && e.to_string().contains("'first_linear'")
        );
        for &r in rule_names() {
            let parsed = LrpRule::parse(r, None, Some(0.0), Some(1.0)).unwrap();
            assert_eq!(parsed.name(), r);
        }
        let e = LrpRule::parse("lrp0", None, None, None).unwrap_err().to_string();
        assert!(e.contains("'lrp0'") && e.contains("'alpha_beta'") && e.contains("'zbox'"), "{e}");
        assert_eq!(LrpRule::parse("epsilon", None, None, None).unwrap(), LrpRule::Epsilon(0.001));
        assert_eq!(LrpRule::parse("alpha_beta", None, None, None).unwrap(), LrpRule::AlphaBeta(0.5));
        assert_eq!(LrpRule::parse("gamma", None, None, None).unwrap(), LrpRule::Gamma(0.25));
        assert!(LrpRule::parse("zbox", None, Some(0.0), None).unwrap_err().to_string().contains("`low` and `high`"));
        assert!(LrpRule::parse("zbox", None, Some(1.0), Some(0.0)).is_err());
        assert!(LrpRule::parse("epsilon", Some(-1.0), None, None).is_err());
        assert!(LrpRule::parse("alpha_beta", Some(f64::NAN), None, None).is_err());
        for &p in presets() {
            let needs_bounds = p == "EpsilonGammaBox";
            assert_eq!(Composite::new(&[], Some(p), None, None).is_err(), needs_bounds, "{p}");
            assert!(Composite::new(&[], Some(p), Some(-1.0), Some(1.0)).is_ok());
        }
        assert!(Composite::new(&[], Some("epsilon_plus_flat"), None, None).is_ok());
        let e = Composite::new(&[], Some("Epsilon"), None, None).unwrap_err().to_string();
        assert!(e.contains("'Epsilon'") && e.contains("'EpsilonGammaBox'"), "{e}");
        let entry = RuleEntry { r#match: "conv".into(), rule: "gamma".into(), param: None, low: None, high: None };
        let bad = RuleEntry { r#match: "Conv3D_Layer".into(), ..entry.clone() };
        assert!(Composite::new(&[entry.clone(), bad], None, None, None)
            .unwrap_err()
            .to_string()
            .starts_with("rule entry 2"));
    }

    #[test]
    fn entries_are_json_with_a_match_key() {
        let e: RuleEntry =
            serde_json::from_str(r#"{"match": "Dense_Layer", "rule": "epsilon", "param": 0.01}"#).unwrap();
        assert_eq!(
            e,
            RuleEntry {
                r#match: "Dense_Layer".into(),
                rule: "epsilon".into(),
                param: Some(0.01),
                low: None,
                high: None
            }
        );
        let e: RuleEntry =
            serde_json::from_str(r#"{"match": "first_linear", "rule": "zbox", "low": -1, "high": 2, "param": null}"#)
                .unwrap();
        assert_eq!((e.low, e.high, e.param), (Some(-1.0), Some(2.0), None));
    }

    #[test]
    fn matchers_select_the_documented_kinds() {
        use LayerKind as K;
        let all = [
            K::Dense,
            K::Conv1D,
            K::Conv2D,
            K::BatchNorm,
            K::AvgPool1D,
            K::AvgPool2D,
            K::MaxPool1D,
            K::MaxPool2D,
            K::GlobalAvgPool,
            K::GlobalMaxPool,
            K::Flatten,
            K::Concatenate,
            K::Add,
            K::Padding,
            K::Skipping,
            K::Activation,
        ];
        let picked = |m: Matcher, first: bool| all.iter().copied().filter(|&k| m.matches(k, first)).collect::<Vec<_>>();
        assert_eq!(picked(Matcher::Any, false), all[..8].to_vec());
        assert_eq!(picked(Matcher::Dense, false), vec![K::Dense]);
        assert_eq!(picked(Matcher::Conv, false), vec![K::Conv1D, K::Conv2D]);
        assert_eq!(picked(Matcher::Linear, false), vec![K::Dense, K::Conv1D, K::Conv2D]);
        assert_eq!(picked(Matcher::Pooling, false), vec![K::AvgPool1D, K::AvgPool2D, K::MaxPool1D, K::MaxPool2D]);
        assert_eq!(picked(Matcher::FirstLinear, false), vec![]);
        assert_eq!(picked(Matcher::FirstLinear, true), vec![K::Dense, K::Conv1D, K::Conv2D]);
        assert_eq!(picked(Matcher::Class(K::BatchNorm), true), vec![K::BatchNorm]);
    }
}
