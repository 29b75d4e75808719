//! The weights of a translated ONNX model, each in its own precision: float32
//! tensors from the file as their bytes (shared with the file's buffer, not widened),
//! values the translation computed (folded biases, per-channel affine constants) as
//! `f64`. They leave the reader as one safetensors file written straight into memory
//! the caller provides ([`OnnxWeights::write_safetensors`]), the form in which the R
//! package keeps a model's weights; the graph builder reads float32 weights from it
//! without a copy.

use crate::error::{Error, Result};
use crate::io::tensors::{header, TableRow};
use crate::layers::{WeightSource, WeightTensor, Weights};
use crate::Scalar;
use ndarray::{ArrayD, IxDyn};
use prost::bytes::Bytes;
use rayon::prelude::*;
use safetensors::Dtype;
use std::collections::BTreeMap;

/// One weight tensor.
#[derive(Debug, Clone)]
pub enum OnnxWeight {
    /// Computed values.
    F64(ArrayD<f64>),
    /// Float32 values as little-endian bytes.
    F32 { shape: Vec<usize>, bytes: Bytes },
}

impl OnnxWeight {
    pub fn shape(&self) -> &[usize] {
        match self {
            OnnxWeight::F64(a) => a.shape(),
            OnnxWeight::F32 { shape, .. } => shape,
        }
    }

    fn dtype(&self) -> Dtype {
        match self {
            OnnxWeight::F64(_) => Dtype::F64,
            OnnxWeight::F32 { .. } => Dtype::F32,
        }
    }

    fn n_bytes(&self) -> usize {
        match self {
            OnnxWeight::F64(a) => 8 * a.len(),
            OnnxWeight::F32 { bytes, .. } => bytes.len(),
        }
    }

    /// The values as `f64` (exact).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            OnnxWeight::F64(a) => a.clone(),
            OnnxWeight::F32 { shape, bytes } => {
                let v = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect();
                ArrayD::from_shape_vec(IxDyn(shape), v).expect("a float32 weight's byte count matches its shape")
            }
        }
    }

    /// Write the little-endian bytes into `out` (exactly `n_bytes()` long), in
    /// parallel blocks: most of the time goes into first touching fresh memory.
    fn write_le(&self, out: &mut [u8]) {
        const BLOCK: usize = 1 << 22;
        match self {
            OnnxWeight::F32 { bytes, .. } => {
                out.par_chunks_mut(BLOCK).zip(bytes.par_chunks(BLOCK)).for_each(|(o, i)| o.copy_from_slice(i));
            }
            OnnxWeight::F64(a) => {
                let values = a.as_slice().map(std::borrow::Cow::Borrowed).unwrap_or_else(|| a.iter().copied().collect());
                out.par_chunks_mut(BLOCK).zip(values.par_chunks(BLOCK / 8)).for_each(|(o, v)| {
                    for (d, x) in o.chunks_exact_mut(8).zip(v.iter()) {
                        d.copy_from_slice(&x.to_le_bytes());
                    }
                });
            }
        }
    }
}

/// The weights by list-format name (`layers.<i>.<name>`).
#[derive(Debug, Clone, Default)]
pub struct OnnxWeights(BTreeMap<String, OnnxWeight>);

impl OnnxWeights {
    pub fn insert(&mut self, name: String, w: OnnxWeight) {
        self.0.insert(name, w);
    }

    pub fn get(&self, name: &str) -> Option<&OnnxWeight> {
        self.0.get(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every weight as `f64` (for tests and small models).
    pub fn to_f64(&self) -> Weights {
        self.0.iter().map(|(k, w)| (k.clone(), w.to_f64())).collect()
    }

    /// The safetensors header for [`write_safetensors`](Self::write_safetensors)
    /// and the total file size.
    pub fn safetensors_layout(&self) -> Result<(Vec<u8>, usize)> {
        let mut table: Vec<TableRow> = Vec::with_capacity(self.0.len());
        let mut end = 0;
        for (name, w) in &self.0 {
            table.push((name.as_str(), w.dtype(), w.shape(), end, end + w.n_bytes()));
            end += w.n_bytes();
        }
        let h = header(&table, &BTreeMap::new())?;
        let total = h.len() + end;
        Ok((h, total))
    }

    /// Write the weights as a safetensors file (tensors in name order, each in its
    /// own precision) into `out`, which must have the size `safetensors_layout()`
    /// gives along with the header.
    pub fn write_safetensors(&self, head: &[u8], out: &mut [u8]) -> Result<()> {
        let data_len: usize = self.0.values().map(OnnxWeight::n_bytes).sum();
        if out.len() != head.len() + data_len {
            return Err(Error::Internal(format!("weight blob of {} bytes for {} bytes of weights", out.len(), head.len() + data_len)));
        }
        let (h, mut rest) = out.split_at_mut(head.len());
        h.copy_from_slice(head);
        for w in self.0.values() {
            let (part, tail) = rest.split_at_mut(w.n_bytes());
            w.write_le(part);
            rest = tail;
        }
        Ok(())
    }
}

impl<T: Scalar> WeightSource<T> for OnnxWeights {
    fn tensor(&self, name: &str) -> Result<Option<ArrayD<f64>>> {
        Ok(self.get(name).map(OnnxWeight::to_f64))
    }

    fn weight(&self, name: &str) -> Result<Option<WeightTensor<T>>> {
        Ok(self.get(name).map(|w| WeightTensor::from(w.to_f64())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::TensorFile;

    #[test]
    fn safetensors_round_trip_in_both_precisions() {
        let mut w = OnnxWeights::default();
        let f32s: Vec<u8> = [1.5f32, -2.25, 3.0e-8, 7.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        w.insert("layers.2.weight".into(), OnnxWeight::F32 { shape: vec![2, 2], bytes: Bytes::from(f32s) });
        let bias = ndarray::arr1(&[0.1, 1.0 / 3.0]).into_dyn();
        w.insert("layers.2.bias".into(), OnnxWeight::F64(bias.clone()));
        let (head, total) = w.safetensors_layout().unwrap();
        let mut out = vec![0u8; total];
        w.write_safetensors(&head, &mut out).unwrap();
        let file = TensorFile::parse(&out).unwrap();
        let weight = file.entry("layers.2.weight").unwrap();
        assert_eq!(weight.dtype, Dtype::F32);
        assert_eq!(file.to_f64(weight).unwrap(), w.get("layers.2.weight").unwrap().to_f64());
        assert_eq!(file.to_f64(weight).unwrap().as_slice().unwrap(), &[1.5, -2.25, 3.0e-8f32 as f64, 7.0]);
        // computed values keep every bit of their f64
        assert_eq!(file.to_f64(file.entry("layers.2.bias").unwrap()).unwrap(), bias);
        assert!(w.write_safetensors(&head, &mut out[1..]).is_err());
    }
}
