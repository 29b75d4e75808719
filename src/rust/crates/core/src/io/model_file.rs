//! innsight's model file: one safetensors file.
//!
//! * Tensors: the weights, named `layers.<i>.<name>` exactly as in [`Weights`]
//!   (`i` is the 1-based layer index; `name` is `weight`, `bias`, `gamma`, `beta`,
//!   `run_mean` or `run_var`), all `F32` (precision `"float"`) or all `F64`
//!   (`"double"`), row-major with the list format's dims (a dense weight is
//!   `(out, in)`, a 2-D convolution's `(out, in, kh, kw)`).
//! * `__metadata__` (all values are strings):
//!   * `innsight_format`: the format version, `"1"`;
//!   * `innsight_model`: the model as JSON: the normalised list-format description
//!     the converter hands to the core (`input_dim`, `input_nodes`, `output_nodes`,
//!     `layers` without weights), plus `input_names` and `output_names`;
//!   * `innsight_dtype`: `"float"` or `"double"`;
//!   * `innsight_checksum`: `"crc32:"` and 8 lowercase hex digits: the CRC-32
//!     (zlib's) of, in this order, every other metadata entry in key order (key,
//!     then value, each followed by a zero byte); every tensor in name order (its
//!     name, its dtype such as `F32`, and its shape as decimal numbers joined by
//!     `,`, each followed by a zero byte); and the whole data section (the bytes
//!     after the header). A tool that edits the file must update it;
//!   * any other keys are kept and ignored (the R package writes
//!     `innsight_version`).
//!
//! The header is padded with spaces only (as the safetensors format says).
//! Together with the checksum, this makes every change of a file's bytes either
//! an error or a deliberate edit with a recomputed checksum.

use super::crc32::Crc32;
use super::tensors::{assemble, dtype_name, encode_data, Encoded, TensorFile};
use crate::error::{Error, Result};
use crate::layers::Weights;
use crate::spec::{ModelSpec, OpSpec};
use ndarray::ArrayD;
use safetensors::Dtype;
use std::collections::BTreeMap;

/// Metadata key of the format version.
pub const FORMAT_KEY: &str = "innsight_format";
/// The format version this module writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// Metadata key of the model description (JSON).
pub const MODEL_KEY: &str = "innsight_model";
/// Metadata key of the precision.
pub const DTYPE_KEY: &str = "innsight_dtype";
/// Metadata key of the checksum.
pub const CHECKSUM_KEY: &str = "innsight_checksum";

/// The converter's precision, which is also the weights' element type in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `"float"`: `F32` tensors.
    Float,
    /// `"double"`: `F64` tensors.
    Double,
}

impl Precision {
    /// From innsight's dtype name.
    pub fn from_name(name: &str) -> Option<Precision> {
        match name {
            "float" => Some(Precision::Float),
            "double" => Some(Precision::Double),
            _ => None,
        }
    }

    /// innsight's dtype name.
    pub fn name(&self) -> &'static str {
        match self {
            Precision::Float => "float",
            Precision::Double => "double",
        }
    }

    /// The tensors' element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            Precision::Float => Dtype::F32,
            Precision::Double => Dtype::F64,
        }
    }
}

/// A model file's content.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// `innsight_model`: the description with names, as stored.
    pub model_json: String,
    /// The parsed description.
    pub spec: ModelSpec,
    /// The precision.
    pub precision: Precision,
    /// The weights in file order (converted to `f64` exactly).
    pub weights: Vec<(String, ArrayD<f64>)>,
    /// The whole `__metadata__`.
    pub metadata: BTreeMap<String, String>,
}

fn spec_err(msg: impl Into<String>) -> Error {
    Error::Spec(msg.into())
}

/// The weight names a layer type carries: (required, optional).
fn weight_names(op: &OpSpec) -> (&'static [&'static str], &'static [&'static str]) {
    match op {
        OpSpec::Dense { .. } | OpSpec::Conv1D(_) | OpSpec::Conv2D(_) => (&["weight", "bias"], &[]),
        // `beta` is optional in the list format; the file always has it (zeros when
        // the layer had none), so a file that lacks it is recognisably incomplete
        OpSpec::BatchNorm { .. } => (&["gamma", "beta", "run_mean", "run_var"], &[]),
        _ => (&[], &[]),
    }
}

/// Check the weights' shapes against the list format: a dense weight is
/// `(out, in)`, a convolution's `(out, in, k...)`, a bias has `out` entries, and
/// every BatchNorm vector `num_features`. (Whether they fit the layers' inputs is
/// checked when the graph is built.)
fn check_weight_shapes<'a>(spec: &ModelSpec, shape_of: impl Fn(&str) -> Option<&'a [usize]>) -> Result<()> {
    for (i, layer) in spec.layers.iter().enumerate() {
        let name = |w: &str| format!("layers.{}.{w}", i + 1);
        let get = |w: &str| shape_of(&name(w)).ok_or_else(|| spec_err(format!("the weight `{}` is missing", name(w))));
        let bad = |w: &str, s: &[usize], want: String| {
            spec_err(format!("tensor `{}` of layer {} ({}) has shape {s:?}, expected {want}", name(w), i + 1, layer.op.type_name()))
        };
        let rank = match &layer.op {
            OpSpec::Dense { .. } => 2,
            OpSpec::Conv1D(_) => 3,
            OpSpec::Conv2D(_) => 4,
            OpSpec::BatchNorm { num_features, .. } => {
                for w in ["gamma", "beta", "run_mean", "run_var"] {
                    let s = get(w)?;
                    if s != [*num_features] {
                        return Err(bad(w, s, format!("[{num_features}] (num_features)")));
                    }
                }
                continue;
            }
            _ => continue,
        };
        let ws = get("weight")?;
        if ws.len() != rank || ws.contains(&0) {
            let what = match rank {
                2 => "(out, in)",
                3 => "(out_channels, in_channels, kernel)",
                _ => "(out_channels, in_channels, kernel_h, kernel_w)",
            };
            return Err(bad("weight", ws, format!("a rank-{rank} shape {what}")));
        }
        let bs = get("bias")?;
        if bs != [ws[0]] {
            return Err(bad("bias", bs, format!("[{}]", ws[0])));
        }
    }
    Ok(())
}

/// Check that the tensor names are exactly the weights the layers need.
fn check_weight_names<'n>(spec: &ModelSpec, names: impl Iterator<Item = &'n str>) -> Result<()> {
    let n = spec.layers.len();
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        let parts: Vec<&str> = name.splitn(3, '.').collect();
        let index = match parts.as_slice() {
            ["layers", i, _] if !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) && !i.starts_with('0') => i.parse::<usize>().ok(),
            _ => None,
        };
        let Some(index) = index.filter(|&i| (1..=n).contains(&i)) else {
            return Err(spec_err(format!(
                "tensor `{name}` is not a weight of the model: names must be `layers.<i>.<name>` with a layer index between 1 and {n}"
            )));
        };
        let op = &spec.layers[index - 1].op;
        let (required, optional) = weight_names(op);
        if !required.contains(&parts[2]) && !optional.contains(&parts[2]) {
            let allowed: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
            return Err(spec_err(format!(
                "tensor `{name}`: layer {index} ({}) has {}",
                op.type_name(),
                if allowed.is_empty() { "no weights".to_string() } else { format!("only the weights {}", allowed.join(", ")) }
            )));
        }
        seen.insert((index, parts[2].to_string()));
    }
    for (i, layer) in spec.layers.iter().enumerate() {
        for w in weight_names(&layer.op).0 {
            if !seen.contains(&(i + 1, w.to_string())) {
                return Err(spec_err(format!("the weight `layers.{}.{w}` of layer {} ({}) is missing", i + 1, i + 1, layer.op.type_name())));
            }
        }
    }
    Ok(())
}

/// The checksum entry for the metadata (the entry `innsight_checksum` itself is
/// skipped), a tensor table (any order) and a data section.
pub fn checksum(meta: &BTreeMap<String, String>, table: &[(&str, Dtype, &[usize])], data: &[u8]) -> String {
    let mut c = Crc32::new();
    for (k, v) in meta.iter().filter(|(k, _)| k.as_str() != CHECKSUM_KEY) {
        c.update(k.as_bytes());
        c.update(&[0]);
        c.update(v.as_bytes());
        c.update(&[0]);
    }
    let mut sorted: Vec<&(&str, Dtype, &[usize])> = table.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (name, dtype, shape) in sorted {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        for part in [name.to_string(), dtype_name(*dtype), dims.join(",")] {
            c.update(part.as_bytes());
            c.update(&[0]);
        }
    }
    c.update(data);
    format!("crc32:{:08x}", c.finish())
}

/// Encode a model file. `model_json` is the description with names (it must parse
/// as a [`ModelSpec`]); `weights` are exactly the layers' weights (a BatchNorm
/// layer's `beta` may be missing: it is stored as zeros); `extra` metadata is
/// stored too (innsight's own keys take precedence).
pub fn write_model(model_json: &str, weights: &Weights, precision: Precision, extra: &BTreeMap<String, String>) -> Result<Encoded> {
    let spec = ModelSpec::from_json(model_json)?;
    let mut filled: Weights = Weights::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        if let OpSpec::BatchNorm { num_features, .. } = &layer.op {
            let name = format!("layers.{}.beta", i + 1);
            if !weights.contains_key(&name) {
                filled.insert(name, ArrayD::zeros(ndarray::IxDyn(&[*num_features])));
            }
        }
    }
    // vectors (biases, BatchNorm parameters) are stored 1-D whatever their R dims
    for (k, v) in weights {
        let vector = [".bias", ".gamma", ".beta", ".run_mean", ".run_var"].iter().any(|s| k.ends_with(s));
        if vector && v.ndim() != 1 {
            filled.insert(k.clone(), v.iter().copied().collect::<ndarray::Array1<f64>>().into_dyn());
        }
    }
    let list: Vec<(&str, &ArrayD<f64>)> = weights
        .iter()
        .filter(|(k, _)| !filled.contains_key(*k))
        .chain(filled.iter())
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    check_weight_names(&spec, list.iter().map(|(k, _)| *k))?;
    check_weight_shapes(&spec, |n| list.iter().find(|(k, _)| *k == n).map(|(_, v)| v.shape()))?;
    for (name, w) in &list {
        if w.iter().any(|v| !v.is_finite()) {
            return Err(spec_err(format!("weight `{name}` contains missing or non-finite values")));
        }
    }
    let section = encode_data(&list, precision.dtype())?;
    let mut meta = extra.clone();
    meta.insert(FORMAT_KEY.into(), FORMAT_VERSION.into());
    meta.insert(MODEL_KEY.into(), model_json.into());
    meta.insert(DTYPE_KEY.into(), precision.name().into());
    let sum = checksum(&meta, &section.table(), &section.data);
    meta.insert(CHECKSUM_KEY.into(), sum);
    assemble(section, &meta)
}

/// Decode and validate a model file. Unreadable or corrupt bytes give
/// [`Error::Io`]; a readable file that is not a valid innsight model gives
/// [`Error::Spec`]. Shapes are checked later, when the graph is built.
pub fn read_model(bytes: &[u8]) -> Result<ModelFile> {
    let file = TensorFile::parse(bytes)?;
    let meta = &file.metadata;
    if !meta.contains_key(FORMAT_KEY) && !meta.contains_key(CHECKSUM_KEY) {
        return Err(spec_err(format!(
            "the file is a safetensors file but not an innsight model file: its metadata has no `{FORMAT_KEY}` entry (files of pretrained weights are read with `imagenet_model(weights = )`)"
        )));
    }
    // integrity first: a damaged file is an I/O error whatever it seems to say
    if !file.padded_with_spaces {
        return Err(Error::Io("the model file is corrupt: its header is followed by bytes other than spaces".into()));
    }
    let Some(stored) = meta.get(CHECKSUM_KEY) else {
        return Err(Error::Io(format!("the model file is damaged or was edited: its metadata has no `{CHECKSUM_KEY}` entry")));
    };
    let table: Vec<(&str, Dtype, &[usize])> = file.entries.iter().map(|e| (e.name.as_str(), e.dtype, e.shape.as_slice())).collect();
    let got = checksum(meta, &table, file.data_section());
    if *stored != got {
        return Err(Error::Io(format!(
            "the model file is corrupt: its checksum does not match its content (stored {}, computed {got})",
            stored.chars().take(20).collect::<String>()
        )));
    }
    let Some(version) = meta.get(FORMAT_KEY) else {
        return Err(spec_err(format!("the model file's metadata has no `{FORMAT_KEY}` entry")));
    };
    if version != FORMAT_VERSION {
        return Err(spec_err(format!(
            "the model file has format version \"{}\", but this version of innsight reads version {FORMAT_VERSION} only",
            version.chars().take(20).collect::<String>()
        )));
    }
    let model_json = meta.get(MODEL_KEY).ok_or_else(|| spec_err(format!("the model file's metadata has no `{MODEL_KEY}` entry")))?;
    let precision = meta
        .get(DTYPE_KEY)
        .and_then(|d| Precision::from_name(d))
        .ok_or_else(|| spec_err(format!("the model file's metadata entry `{DTYPE_KEY}` must be \"float\" or \"double\"")))?;
    let spec = ModelSpec::from_json(model_json).map_err(|e| spec_err(format!("the model file's description is invalid: {e}")))?;
    let want = precision.dtype();
    for e in &file.entries {
        if e.dtype != want {
            return Err(spec_err(format!(
                "tensor `{}` has element type {}, but a \"{}\" model file holds {} tensors only",
                e.name,
                dtype_name(e.dtype),
                precision.name(),
                dtype_name(want)
            )));
        }
    }
    check_weight_names(&spec, file.entries.iter().map(|e| e.name.as_str()))?;
    check_weight_shapes(&spec, |n| file.entry(n).map(|e| e.shape.as_slice()))?;
    let mut weights = Vec::with_capacity(file.entries.len());
    for e in &file.entries {
        let a = file.to_f64(e)?;
        if a.iter().any(|v| !v.is_finite()) {
            return Err(spec_err(format!("weight `{}` contains non-finite values", e.name)));
        }
        weights.push((e.name.clone(), a));
    }
    Ok(ModelFile { model_json: model_json.clone(), spec, precision, weights, metadata: meta.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, ArrayD};

    const JSON: &str = r#"{"input_dim":[[3]],"input_nodes":[1],"output_nodes":[2],"layers":[
        {"type":"Dense","input_layers":[0],"output_layers":[2],"activation_name":"relu"},
        {"type":"BatchNorm","input_layers":[1],"output_layers":[-1],"num_features":2,"eps":1e-5}],
        "input_names":[[["a","b","c"]]],"output_names":[[["y1","y2"]]]}"#;

    fn weights() -> Weights {
        let mut w = Weights::new();
        w.insert("layers.1.weight".into(), array![[0.1, -0.2, 0.3], [1.0 / 3.0, 2.5, -1e-300]].into_dyn());
        w.insert("layers.1.bias".into(), array![0.5, -0.5].into_dyn());
        w.insert("layers.2.gamma".into(), array![1.0, 2.0].into_dyn());
        w.insert("layers.2.beta".into(), array![0.25, -0.75].into_dyn());
        w.insert("layers.2.run_mean".into(), array![0.0, 1.0].into_dyn());
        w.insert("layers.2.run_var".into(), array![1.0, 4.0].into_dyn());
        w
    }

    fn as_map(v: &[(String, ArrayD<f64>)]) -> Weights {
        v.iter().cloned().collect()
    }

    #[test]
    fn round_trip_is_exact() {
        let w = weights();
        let extra: BTreeMap<String, String> = [("innsight_version".to_string(), "0.4".to_string())].into();
        let bytes = write_model(JSON, &w, Precision::Double, &extra).unwrap().into_bytes();
        let m = read_model(&bytes).unwrap();
        assert_eq!(m.model_json, JSON);
        assert_eq!(m.precision, Precision::Double);
        assert_eq!(as_map(&m.weights), w);
        assert_eq!(m.metadata["innsight_version"], "0.4");
        // writing the read content again gives the same bytes
        let again = write_model(&m.model_json, &as_map(&m.weights), m.precision, &extra).unwrap().into_bytes();
        assert_eq!(bytes, again);

        let bytes = write_model(JSON, &w, Precision::Float, &extra).unwrap().into_bytes();
        let m = read_model(&bytes).unwrap();
        assert_eq!(m.precision, Precision::Float);
        let rounded: Weights = w.iter().map(|(k, v)| (k.clone(), v.mapv(|x| x as f32 as f64))).collect();
        assert_eq!(as_map(&m.weights), rounded);
        let again = write_model(&m.model_json, &as_map(&m.weights), m.precision, &extra).unwrap().into_bytes();
        assert_eq!(bytes, again);
    }

    #[test]
    fn mismatches_are_named() {
        let mut w = weights();
        w.remove("layers.2.run_var");
        let e = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap_err();
        assert!(matches!(&e, Error::Spec(m) if m.contains("layers.2.run_var")), "{e}");
        let mut w = weights();
        w.insert("layers.3.weight".into(), array![1.0].into_dyn());
        let e = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("layers.3.weight"), "{e}");
        let mut w = weights();
        w.insert("layers.2.weight".into(), array![1.0].into_dyn());
        let e = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("BatchNorm"), "{e}");
    }

    #[test]
    fn missing_beta_is_stored_as_zeros_and_required_on_reading() {
        let mut w = weights();
        w.remove("layers.2.beta");
        let bytes = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap().into_bytes();
        let m = read_model(&bytes).unwrap();
        assert_eq!(as_map(&m.weights)["layers.2.beta"], ndarray::arr1(&[0.0, 0.0]).into_dyn());
        // without the checksum the file is refused
        let f = TensorFile::parse(&bytes).unwrap();
        let mut meta = f.metadata.clone();
        meta.remove(CHECKSUM_KEY);
        let tensors: Vec<(String, ArrayD<f64>)> = f.entries.iter().map(|e| (e.name.clone(), f.to_f64(e).unwrap())).collect();
        let list: Vec<(&str, &ArrayD<f64>)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let stripped = super::super::write_tensors(&list, Dtype::F64, &meta).unwrap().into_bytes();
        assert!(matches!(read_model(&stripped), Err(Error::Io(m)) if m.contains(CHECKSUM_KEY)));
    }

    #[test]
    fn shapes_follow_the_list_format() {
        let mut w = weights();
        w.insert("layers.1.bias".into(), array![[0.5, -0.5]].into_dyn());
        // a (1, 2) bias is stored as a vector
        let bytes = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap().into_bytes();
        assert_eq!(as_map(&read_model(&bytes).unwrap().weights)["layers.1.bias"].shape(), &[2]);
        let mut w = weights();
        w.insert("layers.1.weight".into(), array![0.1, -0.2, 0.3].into_dyn());
        let e = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("rank-2"), "{e}");
        let mut w = weights();
        w.insert("layers.2.gamma".into(), array![1.0, 2.0, 3.0].into_dyn());
        let e = write_model(JSON, &w, Precision::Double, &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("num_features"), "{e}");
    }

    #[test]
    fn plain_safetensors_is_not_a_model_file() {
        let a = array![1.0, 2.0].into_dyn();
        let bytes = super::super::write_tensors(&[("fc.weight", &a)], Dtype::F32, &BTreeMap::new()).unwrap().into_bytes();
        assert!(matches!(read_model(&bytes), Err(Error::Spec(m)) if m.contains("innsight_format")));
    }

    #[test]
    fn every_single_bit_flip_and_truncation_is_refused() {
        let w = weights();
        let bytes = write_model(JSON, &w, Precision::Float, &BTreeMap::new()).unwrap().into_bytes();
        read_model(&bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(read_model(&bytes[..cut]).is_err(), "truncation at {cut} was accepted");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                match read_model(&b) {
                    Err(Error::Io(_)) | Err(Error::Spec(_)) => {}
                    Err(other) => panic!("byte {i} bit {bit}: unexpected error kind {other}"),
                    Ok(_) => panic!("byte {i} bit {bit}: a changed file was accepted"),
                }
            }
        }
    }
}
