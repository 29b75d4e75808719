//! Files: innsight's model file (save/load) and safetensors weight files (read into
//! R arrays with the file's dims, row-major order turned into R's column-major one).
//! The core (`innsight_core::io`) does all parsing and validation on bytes; this
//! file only reads and writes them and converts to and from R.

use super::convert::{r_dims, raw_vector, view_to_r, weight_from_r};
use innsight_core::io::onnx::Bytes;
use ndarray::ShapeBuilder;
use super::error::{arg_err, guarded, to_r};
use extendr_api::prelude::*;
type RResult<T> = std::result::Result<T, extendr_api::Error>;
use innsight_core::io::model_file::{checksum, read_model, write_model, Precision};
use innsight_core::io::onnx::read_onnx;
use innsight_core::io::tensors::{dtype_name, write_tensors, TensorFile};
use innsight_core::layers::Weights;
use innsight_core::{Error as CoreError, Result as CoreResult};
use ndarray::ArrayD;
use innsight_core::io::Dtype;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

fn read_bytes(path: &str) -> CoreResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| CoreError::Io(format!("cannot read the file `{path}`: {e}")))
}

/// Write `parts` to a temporary file next to `path`, then rename it, so a failed
/// write never leaves a truncated file behind.
fn write_parts(path: &str, parts: &[&[u8]]) -> CoreResult<()> {
    let target = Path::new(path);
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    let tmp = target.with_file_name(format!(".{name}.innsight-{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        for p in parts {
            f.write_all(p)?;
        }
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CoreError::Io(format!("cannot write the file `{path}`: {e}"))
    })
}

fn metadata_from_r(x: &List) -> CoreResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in x.iter() {
        let value = v.as_str().ok_or_else(|| arg_err(format!("metadata entry `{k}` must be a single string")))?;
        out.insert(k.to_string(), value.to_string());
    }
    Ok(out)
}

/// Named R arrays → row-major tensors. Model weights must be finite; plain tensor
/// files (test fixtures) may hold any values.
fn weights_from_r(x: &List, finite: bool) -> CoreResult<Weights> {
    let mut w = Weights::new();
    for (name, value) in x.iter() {
        if name.is_empty() || name == "NA" {
            return Err(arg_err("every tensor needs a name"));
        }
        let a = if finite {
            weight_from_r(&value, name)?
        } else {
            let data = value.as_real_slice().ok_or_else(|| arg_err(format!("`{name}` must be a numeric (double) array")))?;
            let dims = r_dims(&value);
            ndarray::ArrayViewD::from_shape(ndarray::IxDyn(&dims).f(), data)
                .map_err(|e| arg_err(format!("`{name}`: {e}")))?
                .as_standard_layout()
                .into_owned()
        };
        w.insert(name.to_string(), a);
    }
    Ok(w)
}

/// An `f64` tensor as an R array with the same dims (a scalar without `dim`).
fn array_to_r(a: &ArrayD<f64>) -> RResult<Robj> {
    if a.ndim() == 0 {
        return Ok(Robj::from(a.iter().next().copied().unwrap_or(f64::NAN)));
    }
    view_to_r(&a.view())
}

fn named_strings(map: &BTreeMap<String, String>) -> RResult<Robj> {
    let mut r = Robj::from(map.values().cloned().collect::<Vec<String>>());
    r.set_attrib("names", map.keys().cloned().collect::<Vec<String>>())?;
    Ok(r)
}

/// Write innsight's model file.
/// @param path File path.
/// @param model_json The model description with names (JSON).
/// @param weights Named list of weight arrays (`layers.<i>.<name>`).
/// @param dtype `"float"` or `"double"`.
/// @param metadata Named list of extra metadata strings.
/// @noRd
#[extendr]
fn io_save_model(path: &str, model_json: &str, weights: List, dtype: &str, metadata: List) -> RResult<()> {
    to_r(guarded(|| {
        let precision = Precision::from_name(dtype).ok_or_else(|| arg_err("`dtype` must be \"float\" or \"double\""))?;
        let w = weights_from_r(&weights, true)?;
        let extra = metadata_from_r(&metadata)?;
        let enc = write_model(model_json, &w, precision, &extra)?;
        write_parts(path, &[&enc.header, &enc.data])
    }))
}

/// Read innsight's model file: `list(model_json, dtype, weights, metadata)`.
/// @param path File path.
/// @noRd
#[extendr]
fn io_load_model(path: &str) -> RResult<List> {
    let m = to_r(guarded(|| read_model(&read_bytes(path)?)))?;
    let names: Vec<String> = m.weights.iter().map(|(n, _)| n.clone()).collect();
    let values = m.weights.iter().map(|(_, a)| array_to_r(a)).collect::<RResult<Vec<Robj>>>()?;
    let weights = List::from_names_and_values(names, values)?;
    let out = List::from_names_and_values(
        ["model_json", "dtype", "weights", "metadata"],
        [Robj::from(m.model_json.as_str()), Robj::from(m.precision.name()), weights.into(), named_strings(&m.metadata)?],
    )?;
    Ok(out)
}

/// Read an ONNX model: `list(model_json, blob, input_names, output_names, opset,
/// producer)`. `model_json` is the list-format description without weights, `blob`
/// the weights as one safetensors raw vector (the file's float32 tensors as they
/// are, values computed while translating in double precision): what a converted
/// model keeps, so the weights never pass through R arrays. External-data files are
/// read from the model's folder (the core checks that their names stay inside it).
/// @param path File path.
/// @noRd
#[extendr]
fn io_read_onnx(path: &str) -> RResult<List> {
    let folder = Path::new(path).parent().map(Path::to_path_buf).unwrap_or_default();
    let cache: std::cell::RefCell<BTreeMap<String, Bytes>> = Default::default();
    let external = |loc: &str| -> CoreResult<Bytes> {
        if let Some(b) = cache.borrow().get(loc) {
            return Ok(b.clone());
        }
        let bytes = Bytes::from(read_bytes(&folder.join(loc).to_string_lossy())?);
        cache.borrow_mut().insert(loc.to_string(), bytes.clone());
        Ok(bytes)
    };
    let m = to_r(guarded(|| read_onnx(read_bytes(path)?, &external)))?;
    let json = to_r(m.spec.to_json())?;
    let (head, total) = to_r(m.weights.safetensors_layout())?;
    let blob = raw_vector(total, |out| m.weights.write_safetensors(&head, out))?;
    List::from_names_and_values(
        ["model_json", "blob", "input_names", "output_names", "opset", "producer"],
        [
            Robj::from(json.as_str()),
            blob,
            Robj::from(m.input_names.clone()),
            Robj::from(m.output_names.clone()),
            Robj::from(m.opset as f64),
            Robj::from(m.producer.as_str()),
        ],
    )
}

/// Read any safetensors file: `list(tensors, dtypes, metadata)`; tensors are double
/// arrays with the file's dims (in file order), `metadata` is `NULL` when absent.
/// @param path File path.
/// @noRd
#[extendr]
fn io_read_safetensors(path: &str) -> RResult<List> {
    let bytes = to_r(guarded(|| read_bytes(path)))?;
    let file = to_r(guarded(|| TensorFile::parse(&bytes)))?;
    let mut names = Vec::with_capacity(file.entries.len());
    let mut values = Vec::with_capacity(file.entries.len());
    let mut dtypes = Vec::with_capacity(file.entries.len());
    for e in &file.entries {
        // one tensor at a time: the f64 copy is dropped once R has its array
        let a = to_r(guarded(|| file.to_f64(e)))?;
        values.push(array_to_r(&a)?);
        names.push(e.name.clone());
        dtypes.push(dtype_name(e.dtype));
    }
    let mut dt = Robj::from(dtypes);
    dt.set_attrib("names", names.clone())?;
    let metadata = if file.has_metadata { named_strings(&file.metadata)? } else { Robj::from(()) };
    let out = List::from_names_and_values(
        ["tensors", "dtypes", "metadata"],
        [List::from_names_and_values(names, values)?.into(), dt, metadata],
    )?;
    Ok(out)
}

/// Write named arrays as a safetensors file (F32 or F64), e.g. for test fixtures.
/// @param path File path.
/// @param tensors Named list of numeric arrays.
/// @param dtype `"F32"` or `"F64"`.
/// @param metadata Named list of metadata strings.
/// @noRd
#[extendr]
fn io_write_safetensors(path: &str, tensors: List, dtype: &str, metadata: List) -> RResult<()> {
    to_r(guarded(|| {
        let dt = match dtype {
            "F32" => Dtype::F32,
            "F64" => Dtype::F64,
            _ => return Err(arg_err("`dtype` must be \"F32\" or \"F64\"")),
        };
        let w = weights_from_r(&tensors, false)?;
        let meta = metadata_from_r(&metadata)?;
        let list: Vec<(&str, &ArrayD<f64>)> = w.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let enc = write_tensors(&list, dt, &meta)?;
        write_parts(path, &[&enc.header, &enc.data])
    }))
}

/// The `innsight_checksum` entry a model file's bytes should carry (for tests and
/// tools that edit model files): computed from the file's metadata, tensor table
/// and data, whatever its stored checksum says.
/// @param bytes The file's bytes (raw vector).
/// @noRd
#[extendr]
fn io_checksum(bytes: Raw) -> RResult<String> {
    to_r(guarded(|| {
        let file = TensorFile::parse(bytes.as_slice())?;
        let table: Vec<(&str, Dtype, &[usize])> = file.entries.iter().map(|e| (e.name.as_str(), e.dtype, e.shape.as_slice())).collect();
        Ok(checksum(&file.metadata, &table, file.data_section()))
    }))
}

extendr_module! {
    mod io;
    fn io_checksum;
    fn io_save_model;
    fn io_load_model;
    fn io_read_onnx;
    fn io_read_safetensors;
    fn io_write_safetensors;
}
