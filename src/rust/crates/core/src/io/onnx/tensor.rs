//! ONNX tensors as constants: decoding `TensorProto` payloads (inline or external
//! data) into `f64` values, and the small constant arithmetic that exporters leave in
//! shape subgraphs (numpy broadcasting, gather, slice, concat).

use super::proto::{data_type as dt, TensorProto};
use super::Value;
use crate::error::{Error, Result};
use prost::bytes::Bytes;
use std::cell::OnceCell;
use std::rc::Rc;

/// A constant tensor: full shape (ONNX axes, including any batch axis) and row-major
/// values. `int` marks integer tensors (shapes, indices, axes), which stay exact
/// in `f64` up to 2^53.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub int: bool,
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The number of values of a shape, `None` when it does not fit a `usize`.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

impl Const {
    /// A 1-D integer tensor.
    pub fn ints(v: &[i64]) -> Const {
        Const { shape: vec![v.len()], data: v.iter().map(|&x| x as f64).collect(), int: true }
    }

    /// A float scalar.
    pub fn scalar(v: f64) -> Const {
        Const { shape: vec![], data: vec![v], int: false }
    }

    /// The values as whole numbers (for shapes, axes, indices).
    pub fn as_ints(&self, what: &str) -> Result<Vec<i64>> {
        self.data
            .iter()
            .map(|&v| {
                // INT64_MIN/MAX (slice ends meaning "to the end") saturate exactly
                if v.is_finite() && v.fract() == 0.0 {
                    Ok(v as i64)
                } else {
                    Err(Error::Spec(format!("{what} must hold whole numbers, found {v}")))
                }
            })
            .collect()
    }

    /// The single value of a one-element tensor.
    pub fn single(&self, what: &str) -> Result<f64> {
        match self.data.as_slice() {
            [v] => Ok(*v),
            _ => Err(Error::Spec(format!("{what} must be a single value, got shape {:?}", self.shape))),
        }
    }
}

/// A float32 tensor kept as its little-endian bytes, shared with the file's buffer,
/// until an operator asks for its values. The weights of `Conv`, `Gemm` and `MatMul`
/// go into the model as these bytes: a large model is neither copied nor widened to
/// `f64` on its way in (VGG16's 138 million weights would be 1.1 GB as `f64`).
#[derive(Debug)]
pub struct Float32 {
    pub shape: Vec<usize>,
    pub bytes: Bytes,
    values: OnceCell<Const>,
}

impl Float32 {
    /// The tensor as a [`Const`] (converted once, on first use).
    pub fn values(&self) -> &Const {
        self.values.get_or_init(|| Const { shape: self.shape.clone(), data: f32_values(&self.bytes).collect(), int: false })
    }
}

/// Little-endian float32 bytes as `f64` values.
fn f32_values(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
}

/// Transpose a row-major `rows × cols` matrix of little-endian float32 bytes.
pub fn transpose_f32(bytes: &[u8], rows: usize, cols: usize) -> Bytes {
    let mut out = vec![0u8; bytes.len()];
    for (r, row) in bytes.chunks_exact(4 * cols).enumerate() {
        for (c, v) in row.chunks_exact(4).enumerate() {
            out[4 * (c * rows + r)..4 * (c * rows + r) + 4].copy_from_slice(v);
        }
    }
    Bytes::from(out)
}

/// Where `TensorProto` external data is read from: `location` is the file name
/// relative to the model's folder (already checked to stay inside it).
pub type ExternalReader<'a> = dyn Fn(&str) -> Result<Bytes> + 'a;

/// Check an external-data location: a relative path that stays inside the model's
/// folder (no `..`, no absolute path), as the ONNX specification requires.
pub fn check_location(loc: &str) -> Result<()> {
    let bad = loc.is_empty()
        || loc.starts_with('/')
        || loc.starts_with('\\')
        || loc.contains(':')
        || loc.split(['/', '\\']).any(|p| p == "..");
    if bad {
        return Err(Error::Io(format!(
            "external data location `{loc}` must be a file name relative to the model's folder"
        )));
    }
    Ok(())
}

/// Decode a tensor into a constant value: float32 data stored as bytes stays bytes
/// ([`Float32`]), everything else becomes a [`Const`]. Supported element types:
/// float, double, float16, int8/uint8, int32, int64 and bool.
pub(crate) fn decode(t: &TensorProto, external: &ExternalReader) -> Result<Value> {
    let name = if t.name.is_empty() { "(unnamed)" } else { &t.name };
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::Io(format!("tensor `{name}` has a negative dimension {d}"))))
        .collect::<Result<_>>()?;
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| {
        Error::Io(format!("tensor `{name}` has too many elements ({shape:?})"))
    })?;
    let (size, int) = match t.data_type {
        dt::FLOAT => (4, false),
        dt::DOUBLE => (8, false),
        dt::FLOAT16 => (2, false),
        dt::INT64 => (8, true),
        dt::INT32 => (4, true),
        dt::INT8 | dt::UINT8 | dt::BOOL => (1, true),
        other => {
            return Err(Error::Spec(format!(
                "tensor `{name}` has the element type {} ({other}); supported: float, double, float16, int64, int32, int8, uint8, bool",
                dtype_name(other)
            )))
        }
    };
    // the declared shape may be anything: its byte size is checked, not trusted
    let n_bytes = n
        .checked_mul(size)
        .ok_or_else(|| Error::Io(format!("tensor `{name}` of shape {shape:?} is too large")))?;
    let raw: Option<Bytes> = if t.data_location == 1 {
        let get = |k: &str| t.external_data.iter().find(|e| e.key == k).map(|e| e.value.as_str());
        let loc = get("location").ok_or_else(|| Error::Io(format!("tensor `{name}`: external data without a location")))?;
        check_location(loc)?;
        let num = |k: &str| -> Result<Option<usize>> {
            get(k).map(|v| v.parse::<usize>().map_err(|_| Error::Io(format!("tensor `{name}`: bad external `{k}` {v:?}")))).transpose()
        };
        let (offset, length) = (num("offset")?.unwrap_or(0), num("length")?);
        let external_bytes = external(loc)?;
        let len = length.unwrap_or(n_bytes);
        let end = offset.checked_add(len).filter(|&e| e <= external_bytes.len()).ok_or_else(|| {
            Error::Io(format!("tensor `{name}`: the external file `{loc}` is too short for offset {offset} + length {len}"))
        })?;
        Some(external_bytes.slice(offset..end))
    } else if !t.raw_data.is_empty() || n == 0 {
        Some(t.raw_data.clone())
    } else {
        None
    };
    let data: Vec<f64> = match raw {
        Some(bytes) => {
            if bytes.len() != n_bytes {
                return Err(Error::Io(format!(
                    "tensor `{name}` of shape {shape:?} needs {} bytes of data, found {}",
                    n_bytes,
                    bytes.len()
                )));
            }
            if t.data_type == dt::FLOAT {
                if let Some(bad) = f32_values(&bytes).find(|v| !v.is_finite()) {
                    return Err(Error::Spec(format!("tensor `{name}` holds the non-finite value {bad}")));
                }
                return Ok(Value::Float32(Rc::new(Float32 { shape, bytes, values: OnceCell::new() })));
            }
            let chunks = bytes.chunks_exact(size);
            match t.data_type {
                dt::DOUBLE => chunks.map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
                dt::FLOAT16 => chunks.map(|c| f16_to_f64(u16::from_le_bytes(c.try_into().unwrap()))).collect(),
                dt::INT64 => chunks.map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
                dt::INT32 => chunks.map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64).collect(),
                dt::INT8 => chunks.map(|c| c[0] as i8 as f64).collect(),
                _ => chunks.map(|c| c[0] as f64).collect(),
            }
        }
        None => {
            let v: Vec<f64> = match t.data_type {
                dt::FLOAT => t.float_data.iter().map(|&x| x as f64).collect(),
                dt::DOUBLE => t.double_data.clone(),
                dt::INT64 => t.int64_data.iter().map(|&x| x as f64).collect(),
                // int32_data also carries int8/uint8/bool and the bits of float16
                dt::FLOAT16 => t.int32_data.iter().map(|&x| f16_to_f64(x as u16)).collect(),
                _ => t.int32_data.iter().map(|&x| x as f64).collect(),
            };
            if v.len() != n {
                return Err(Error::Io(format!("tensor `{name}` of shape {shape:?} holds {} values", v.len())));
            }
            v
        }
    };
    if !int {
        if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
            return Err(Error::Spec(format!("tensor `{name}` holds the non-finite value {bad}")));
        }
    }
    Ok(Value::Const(Const { shape, data, int }))
}

/// Decode a tensor into a [`Const`] (small tensors: attribute values).
pub fn decode_const(t: &TensorProto, external: &ExternalReader) -> Result<Const> {
    Ok(match decode(t, external)? {
        Value::Const(c) => c,
        Value::Float32(f) => f.values().clone(),
        Value::Map { .. } => return Err(Error::Internal("a decoded tensor is not a feature map".into())),
    })
}

/// The ONNX name of an element type.
pub fn dtype_name(t: i32) -> &'static str {
    match t {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        _ => "an 8-bit float or other",
    }
}

/// IEEE half precision bits to `f64`.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 => if frac == 0.0 { f64::INFINITY } else { f64::NAN },
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Numpy broadcasting of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let at = |s: &[usize], i: usize| if i + s.len() >= r { s[i + s.len() - r] } else { 1 };
    (0..r)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Row-major strides.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// `c` broadcast to `shape` (which `c.shape` must broadcast to).
pub fn expand(c: &Const, shape: &[usize]) -> Vec<f64> {
    let r = shape.len();
    let src = strides(&c.shape);
    let off = r - c.shape.len();
    let n = numel(shape);
    let dst = strides(shape);
    (0..n)
        .map(|flat| {
            let mut idx = 0;
            for ax in off..r {
                let i = (flat / dst[ax]) % shape[ax];
                if c.shape[ax - off] != 1 {
                    idx += i * src[ax - off];
                }
            }
            c.data[idx]
        })
        .collect()
}

/// Elementwise binary op with broadcasting.
pub fn binary(a: &Const, b: &Const, f: impl Fn(f64, f64) -> f64) -> Result<Const> {
    let shape = broadcast_shape(&a.shape, &b.shape)
        .ok_or_else(|| Error::Spec(format!("shapes {:?} and {:?} do not broadcast", a.shape, b.shape)))?;
    let (x, y) = (expand(a, &shape), expand(b, &shape));
    let int = a.int && b.int;
    let data = x.iter().zip(&y).map(|(&p, &q)| if int { f(p, q).trunc() } else { f(p, q) }).collect();
    Ok(Const { shape, data, int })
}

/// Normalise a possibly negative axis against `rank`.
pub fn axis(a: i64, rank: usize, what: &str) -> Result<usize> {
    let r = rank as i64;
    let x = if a < 0 { a + r } else { a };
    if x < 0 || x >= r {
        return Err(Error::Spec(format!("{what} {a} is out of range for rank {rank}")));
    }
    Ok(x as usize)
}

/// `data` gathered along `ax` at `indices` (numpy `take`).
pub fn gather(data: &Const, indices: &Const, ax: usize) -> Result<Const> {
    let n = data.shape[ax] as i64;
    let idx: Vec<usize> = indices
        .as_ints("Gather indices")?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + n } else { i };
            if j < 0 || j >= n {
                Err(Error::Spec(format!("Gather index {i} is out of range for an axis of size {n}")))
            } else {
                Ok(j as usize)
            }
        })
        .collect::<Result<_>>()?;
    let outer: usize = data.shape[..ax].iter().product();
    let inner: usize = data.shape[ax + 1..].iter().product();
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in &idx {
            let start = (o * data.shape[ax] + i) * inner;
            out.extend_from_slice(&data.data[start..start + inner]);
        }
    }
    let shape = [&data.shape[..ax], &indices.shape[..], &data.shape[ax + 1..]].concat();
    Ok(Const { shape, data: out, int: data.int })
}

/// Concatenate constants along `ax`.
pub fn concat(parts: &[Const], ax: usize) -> Result<Const> {
    let first = &parts[0];
    for p in parts {
        if p.shape.len() != first.shape.len()
            || p.shape.iter().zip(&first.shape).enumerate().any(|(i, (a, b))| i != ax && a != b)
        {
            return Err(Error::Spec(format!("Concat of constants of shapes {:?} and {:?}", first.shape, p.shape)));
        }
    }
    let outer: usize = first.shape[..ax].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for p in parts {
            let w: usize = p.shape[ax..].iter().product();
            out.extend_from_slice(&p.data[o * w..(o + 1) * w]);
        }
    }
    let mut shape = first.shape.clone();
    shape[ax] = parts.iter().map(|p| p.shape[ax]).sum();
    Ok(Const { shape, data: out, int: parts.iter().all(|p| p.int) })
}

/// Slice along the given axes (ONNX `Slice` semantics, clamped ends, any step ≠ 0).
pub fn slice(data: &Const, starts: &[i64], ends: &[i64], axes: &[usize], steps: &[i64]) -> Result<Const> {
    let r = data.shape.len();
    let mut ranges: Vec<Vec<usize>> = data.shape.iter().map(|&n| (0..n).collect()).collect();
    for (k, &ax) in axes.iter().enumerate() {
        let n = data.shape[ax] as i64;
        let step = steps[k];
        if step == 0 {
            return Err(Error::Spec("Slice step must not be 0".into()));
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let norm = |v: i64| if v < 0 { v + n } else { v };
        let sel: Vec<usize> = if step > 0 {
            let (s, e) = (clamp(norm(starts[k]), 0, n), clamp(norm(ends[k]), 0, n));
            (s..e).step_by(step as usize).map(|i| i as usize).collect()
        } else {
            let (s, e) = (clamp(norm(starts[k]), -1, n - 1), clamp(norm(ends[k]), -1, n - 1));
            let mut v = Vec::new();
            let mut i = s;
            while i > e {
                v.push(i as usize);
                i += step;
            }
            v
        };
        ranges[ax] = sel;
    }
    let shape: Vec<usize> = ranges.iter().map(|v| v.len()).collect();
    let st = strides(&data.shape);
    let mut out = Vec::with_capacity(numel(&shape));
    let mut idx = vec![0usize; r];
    if numel(&shape) > 0 {
        loop {
            out.push(data.data[(0..r).map(|a| ranges[a][idx[a]] * st[a]).sum::<usize>()]);
            let mut a = r;
            loop {
                if a == 0 {
                    return Ok(Const { shape, data: out, int: data.int });
                }
                a -= 1;
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }
    Ok(Const { shape, data: out, int: data.int })
}

/// Transpose by `perm`.
pub fn transpose(data: &Const, perm: &[usize]) -> Const {
    let shape: Vec<usize> = perm.iter().map(|&p| data.shape[p]).collect();
    let src = strides(&data.shape);
    let dst = strides(&shape);
    let out = (0..numel(&shape))
        .map(|flat| perm.iter().enumerate().map(|(a, &p)| ((flat / dst[a]) % shape[a]) * src[p]).sum::<usize>())
        .map(|i| data.data[i])
        .collect();
    Const { shape, data: out, int: data.int }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_helpers_follow_numpy() {
        let a = Const { shape: vec![2, 3], data: (0..6).map(f64::from).collect(), int: true };
        let b = Const::ints(&[10, 20, 30]);
        assert_eq!(binary(&a, &b, |x, y| x + y).unwrap().data, vec![10.0, 21.0, 32.0, 13.0, 24.0, 35.0]);
        assert_eq!(gather(&a, &Const { shape: vec![], data: vec![1.0], int: true }, 0).unwrap().data, vec![3.0, 4.0, 5.0]);
        assert_eq!(gather(&a, &Const::ints(&[-1, 0]), 1).unwrap().data, vec![2.0, 0.0, 5.0, 3.0]);
        let c = concat(&[Const::ints(&[1]), Const::ints(&[-1, 7])], 0).unwrap();
        assert_eq!(c.data, vec![1.0, -1.0, 7.0]);
        assert_eq!(slice(&a, &[1], &[i64::MAX], &[1], &[1]).unwrap().data, vec![1.0, 2.0, 4.0, 5.0]);
        assert_eq!(slice(&a, &[-1], &[i64::MIN], &[1], &[-1]).unwrap().data, vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
        assert_eq!(transpose(&a, &[1, 0]).data, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert!(check_location("../etc/passwd").is_err() && check_location("/abs").is_err());
        assert!(check_location("weights.bin").is_ok() && check_location("data/w.bin").is_ok());
    }
}
