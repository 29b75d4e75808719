//! Reading any safetensors file into named `f64` tensors, and writing named tensors
//! as `F32` or `F64` deterministically.
//!
//! The format: 8 bytes (little-endian `u64`) giving the header length `n`, then `n`
//! bytes of UTF-8 JSON (`{"__metadata__": {str: str}, "<name>": {"dtype", "shape",
//! "data_offsets": [begin, end]}, ...}`), then the data section: every tensor's
//! elements in row-major (C) order, little-endian, at its offsets. Parsing and
//! validation (header length, JSON, contiguous offsets that cover the data exactly,
//! sizes that fit shape × dtype) is the `safetensors` crate's; this module adds
//! bounds-checked access and the dtype conversions.
//!
//! The writer is this module's own: the crate's writer (without `std`) keeps
//! `__metadata__` in a randomly seeded hash map, so its header bytes differ from run
//! to run. Here the header's keys are sorted (`__metadata__` first, then tensor names)
//! and the data follow in name order, so equal content gives equal bytes.

use crate::error::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;

/// One tensor's entry in a parsed file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The tensor's name.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape, row-major (`[]` for a scalar).
    pub shape: Vec<usize>,
    begin: usize,
    end: usize,
}

/// A parsed safetensors file borrowing the file's bytes.
#[derive(Debug)]
pub struct TensorFile<'a> {
    bytes: &'a [u8],
    data_start: usize,
    /// `__metadata__` (empty when the file has none).
    pub metadata: BTreeMap<String, String>,
    /// Whether the header had a `__metadata__` entry at all.
    pub has_metadata: bool,
    /// Whether the header JSON is followed by spaces only (the format's padding).
    pub padded_with_spaces: bool,
    /// Tensors in the order of their data offsets.
    pub entries: Vec<Entry>,
}

/// The safetensors name of a dtype (`"F32"`, `"I64"`, ...).
pub fn dtype_name(d: Dtype) -> String {
    format!("{d:?}")
}

fn io_err(msg: impl Into<String>) -> Error {
    Error::Io(msg.into())
}

impl<'a> TensorFile<'a> {
    /// Parse and validate the header. Errors are [`Error::Io`] naming what is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<TensorFile<'a>> {
        if bytes.len() < 8 {
            return Err(io_err(format!(
                "not a safetensors file: it has {} bytes, fewer than the 8-byte header length",
                bytes.len()
            )));
        }
        let (n, meta) = SafeTensors::read_metadata(bytes).map_err(|e| io_err(format!("not a valid safetensors file: {e}")))?;
        let data_start = n.checked_add(8).filter(|&s| s <= bytes.len()).ok_or_else(|| io_err("not a valid safetensors file: invalid header length"))?;
        let data_len = bytes.len() - data_start;
        let mut entries = Vec::new();
        let infos = meta.tensors();
        for name in meta.offset_keys() {
            let info = infos.get(&name).ok_or_else(|| io_err("not a valid safetensors file: inconsistent tensor table"))?;
            let (begin, end) = info.data_offsets;
            if begin > end || end > data_len {
                return Err(io_err(format!("not a valid safetensors file: the offsets of tensor `{name}` lie outside the data")));
            }
            entries.push(Entry { name: name.clone(), dtype: info.dtype, shape: info.shape.clone(), begin, end });
        }
        let has_metadata = meta.metadata().is_some();
        let metadata: BTreeMap<String, String> =
            meta.metadata().as_ref().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
        let header = &bytes[8..data_start];
        let end = header.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        let padded_with_spaces = end > 0 && header[end - 1] == b'}';
        Ok(TensorFile { bytes, data_start, metadata, has_metadata, padded_with_spaces, entries })
    }

    /// The entry of a tensor.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The whole data section (everything after the header).
    pub fn data_section(&self) -> &'a [u8] {
        &self.bytes[self.data_start..]
    }

    /// A tensor's raw little-endian bytes.
    pub fn raw(&self, e: &Entry) -> &'a [u8] {
        &self.data_section()[e.begin..e.end]
    }

    /// A tensor converted to `f64` (row-major, the file's shape). Floats of every
    /// width, integers and booleans convert; 8-bit and smaller floats and complex
    /// numbers are rejected.
    pub fn to_f64(&self, e: &Entry) -> Result<ArrayD<f64>> {
        let raw = self.raw(e);
        let vals: Vec<f64> = match e.dtype {
            Dtype::F64 => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
            Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as f64).collect(),
            Dtype::F16 => raw.chunks_exact(2).map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]]))).collect(),
            Dtype::BF16 => raw.chunks_exact(2).map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64).collect(),
            Dtype::I64 => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64).collect(),
            Dtype::U64 => raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64).collect(),
            Dtype::I32 => raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as f64).collect(),
            Dtype::U32 => raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as f64).collect(),
            Dtype::I16 => raw.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f64).collect(),
            Dtype::U16 => raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as f64).collect(),
            Dtype::I8 => raw.iter().map(|&b| b as i8 as f64).collect(),
            Dtype::U8 => raw.iter().map(|&b| b as f64).collect(),
            Dtype::BOOL => raw.iter().map(|&b| if b != 0 { 1.0 } else { 0.0 }).collect(),
            other => {
                return Err(io_err(format!("tensor `{}` has element type {}, which innsight cannot read", e.name, dtype_name(other))))
            }
        };
        ArrayD::from_shape_vec(IxDyn(&e.shape), vals)
            .map_err(|_| io_err(format!("tensor `{}`: its data do not fit its shape {:?}", e.name, e.shape)))
    }
}

/// IEEE half precision → f64 (exact).
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1F) as i32;
    let frac = (h & 0x3FF) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// A serialised file in two parts (header with its length prefix, and data), so a
/// writer can emit both without concatenating them in memory.
#[derive(Debug)]
pub struct Encoded {
    /// The 8-byte header length followed by the padded JSON header.
    pub header: Vec<u8>,
    /// The data section.
    pub data: Vec<u8>,
}

impl Encoded {
    /// The whole file.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = self.header;
        out.extend_from_slice(&self.data);
        out
    }
}

/// The data section and tensor table of named `f64` tensors stored as `dtype`
/// (`F32` or `F64`), in name order.
pub struct DataSection {
    /// The bytes.
    pub data: Vec<u8>,
    table: Vec<(String, Dtype, Vec<usize>, usize, usize)>,
}

impl DataSection {
    /// (name, dtype, shape) of every tensor, in name order.
    pub fn table(&self) -> Vec<(&str, Dtype, &[usize])> {
        self.table.iter().map(|(n, d, s, _, _)| (n.as_str(), *d, s.as_slice())).collect()
    }
}

/// Encode tensors (any order; written sorted by name) as `F32` or `F64`.
pub fn encode_data(tensors: &[(&str, &ArrayD<f64>)], dtype: Dtype) -> Result<DataSection> {
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
        other => return Err(Error::Internal(format!("cannot write tensors as {}", dtype_name(other)))),
    };
    let mut sorted: Vec<&(&str, &ArrayD<f64>)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::Argument(format!("two tensors are named `{}`", w[0].0)));
    }
    let total: usize = sorted.iter().map(|(_, a)| a.len() * width).sum();
    let mut data = Vec::with_capacity(total);
    let mut table = Vec::with_capacity(sorted.len());
    for (name, a) in sorted {
        let begin = data.len();
        match dtype {
            Dtype::F32 => {
                for &v in a.iter() {
                    let f = v as f32;
                    if v.is_finite() && !f.is_finite() {
                        return Err(Error::Argument(format!(
                            "tensor `{name}` holds values beyond single precision's range; use double precision (`dtype = \"double\"`)"
                        )));
                    }
                    data.extend_from_slice(&f.to_le_bytes());
                }
            }
            _ => {
                for &v in a.iter() {
                    data.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        table.push((name.to_string(), dtype, a.shape().to_vec(), begin, data.len()));
    }
    Ok(DataSection { data, table })
}

/// Finish a file: header (metadata with sorted keys, then tensors by name) + data.
pub fn assemble(section: DataSection, metadata: &BTreeMap<String, String>) -> Result<Encoded> {
    let table: Vec<TableRow> = section.table.iter().map(|(n, d, s, b, e)| (n.as_str(), *d, s.as_slice(), *b, *e)).collect();
    Ok(Encoded { header: header(&table, metadata)?, data: section.data })
}

/// One tensor of a file's table: name, dtype, shape and its byte range in the data
/// section.
pub type TableRow<'a> = (&'a str, Dtype, &'a [usize], usize, usize);

/// A safetensors header (the 8-byte length, then the JSON padded to a multiple of 8)
/// for tensors listed in name order with contiguous byte ranges. Writers that fill
/// the data section themselves (into memory they allocate) use this directly.
pub fn header(table: &[TableRow], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let json = |s: &str| serde_json::to_string(s).map_err(|e| Error::Internal(format!("cannot encode `{s}`: {e}")));
    let mut h = String::from("{");
    let mut first = true;
    if !metadata.is_empty() {
        h.push_str("\"__metadata__\":{");
        for (k, (key, value)) in metadata.iter().enumerate() {
            if k > 0 {
                h.push(',');
            }
            h.push_str(&json(key)?);
            h.push(':');
            h.push_str(&json(value)?);
        }
        h.push('}');
        first = false;
    }
    for (name, dtype, shape, begin, end) in table {
        if !first {
            h.push(',');
        }
        first = false;
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        h.push_str(&format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            json(name)?,
            dtype_name(*dtype),
            dims.join(","),
            begin,
            end
        ));
    }
    h.push('}');
    while h.len() % 8 != 0 {
        h.push(' ');
    }
    let mut header = Vec::with_capacity(8 + h.len());
    header.extend_from_slice(&(h.len() as u64).to_le_bytes());
    header.extend_from_slice(h.as_bytes());
    Ok(header)
}

/// Encode named tensors as `F32` or `F64` with string metadata.
pub fn write_tensors(tensors: &[(&str, &ArrayD<f64>)], dtype: Dtype, metadata: &BTreeMap<String, String>) -> Result<Encoded> {
    assemble(encode_data(tensors, dtype)?, metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn round_trip_f64_and_f32() {
        let a = array![[1.5, -2.0, 3.25], [4.0, 5.0, 6.0]].into_dyn();
        let b = ndarray::arr1(&[0.1, 0.2]).into_dyn();
        let mut meta = BTreeMap::new();
        meta.insert("k".to_string(), "v \"quoted\"".to_string());
        for dtype in [Dtype::F64, Dtype::F32] {
            let bytes = write_tensors(&[("b", &b), ("a", &a)], dtype, &meta).unwrap().into_bytes();
            let f = TensorFile::parse(&bytes).unwrap();
            assert_eq!(f.metadata, meta);
            assert_eq!(f.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
            let ga = f.to_f64(f.entry("a").unwrap()).unwrap();
            assert_eq!(ga, a);
            let gb = f.to_f64(f.entry("b").unwrap()).unwrap();
            if dtype == Dtype::F64 {
                assert_eq!(gb, b);
            } else {
                assert_eq!(gb, b.mapv(|v| v as f32 as f64));
            }
            // deterministic
            let again = write_tensors(&[("a", &a), ("b", &b)], dtype, &meta).unwrap().into_bytes();
            assert_eq!(bytes, again);
            assert_eq!((bytes.len() - 8 - f.data_section().len()) % 8, 0);
        }
    }

    #[test]
    fn half_floats() {
        assert_eq!(f16_to_f64(0x3C00), 1.0);
        assert_eq!(f16_to_f64(0xC000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7BFF), 65504.0);
        assert!(f16_to_f64(0x7C00).is_infinite());
    }

    #[test]
    fn malformed_input_is_an_io_error() {
        let a = array![[1.0, 2.0], [3.0, 4.0]].into_dyn();
        let bytes = write_tensors(&[("a", &a)], Dtype::F32, &BTreeMap::new()).unwrap().into_bytes();
        for cut in 0..bytes.len() {
            assert!(matches!(TensorFile::parse(&bytes[..cut]), Err(Error::Io(_))), "cut {cut}");
        }
        // every single-byte change of the header either fails cleanly or still parses
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for i in 0..8 + n {
            for v in [0u8, 0xFF, b'"', b'9', b'{'] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(f) = TensorFile::parse(&b) {
                    for e in &f.entries {
                        let _ = f.to_f64(e);
                    }
                }
            }
        }
    }
}
