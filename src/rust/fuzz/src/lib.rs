//! What the fuzz targets run, shared with the seed generator (`examples/seeds.rs`).
//!
//! Each function takes arbitrary bytes, feeds them to one of the core's readers of
//! untrusted files and, when the reader accepts them, goes on the way the R package
//! does: the parsed description becomes a graph, and a graph small enough to be
//! cheap runs one forward pass. Errors are expected and ignored; a panic or an
//! abort is a bug in the core.

use innsight_core::io::model_file::{checksum, read_model, Precision, CHECKSUM_KEY};
use innsight_core::io::onnx::{read_onnx, Bytes};
use innsight_core::io::TensorFile;
use innsight_core::layers::Weights;
use innsight_core::{Error, Graph, ModelSpec, Scalar};
use ndarray::{ArrayD, IxDyn};
use std::sync::Once;

/// Largest number of values in an input or in a layer's output for which a built
/// graph also runs a forward pass (keeps every execution well below a millisecond).
pub const FORWARD_LIMIT: usize = 1 << 14;

/// Name of the in-memory external-data file the ONNX target serves.
pub const EXTERNAL_NAME: &str = "external.bin";

/// One thread for rayon: the fuzzer runs one input at a time, and the machine's
/// other core belongs to others.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    });
}

/// Build the graph of a description in precision `T` and, if it is small, run a
/// forward pass on a batch of one constant sample.
fn build_and_run<T: Scalar>(spec: &ModelSpec, weights: &dyn innsight_core::layers::WeightSource<T>) {
    let Ok(graph) = Graph::<T>::build(spec, weights) else { return };
    let small = |s: &[usize]| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_some_and(|n| n <= FORWARD_LIMIT);
    if !graph.input_shapes.iter().all(|s| small(s)) || !graph.nodes.iter().all(|n| small(&n.out_shape)) {
        return;
    }
    let inputs: Vec<ArrayD<T>> = graph
        .input_shapes
        .iter()
        .map(|s| {
            let mut dims = vec![1];
            dims.extend_from_slice(s);
            ArrayD::from_elem(IxDyn(&dims), T::of(0.5))
        })
        .collect();
    let _ = graph.forward(&inputs);
}

/// The bytes with the stored checksum replaced by the right one, when the file is
/// a readable safetensors file whose header holds a checksum of the same length as
/// its JSON string. Without this, almost every mutation of a model file stops at the
/// checksum, and the model description and the weights behind it would never be
/// exercised.
pub fn repair_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let file = TensorFile::parse(data).ok()?;
    let stored = file.metadata.get(CHECKSUM_KEY)?;
    let table: Vec<_> = file.entries.iter().map(|e| (e.name.as_str(), e.dtype, e.shape.as_slice())).collect();
    let right = checksum(&file.metadata, &table, file.data_section());
    if *stored == right {
        return None;
    }
    let needle = format!("\"{stored}\"");
    let header_end = data.len() - file.data_section().len();
    let at = data[8..header_end].windows(needle.len()).position(|w| w == needle.as_bytes())? + 8;
    let replacement = format!("\"{right}\"");
    if replacement.len() != needle.len() {
        return None;
    }
    let mut out = data.to_vec();
    out[at..at + needle.len()].copy_from_slice(replacement.as_bytes());
    Some(out)
}

/// innsight's model file: [`read_model`], then the graph in the file's precision.
pub fn model_file(data: &[u8]) {
    init();
    let repaired = repair_checksum(data);
    for bytes in std::iter::once(data).chain(repaired.as_deref()) {
        let Ok(m) = read_model(bytes) else { continue };
        let weights: Weights = m.weights.into_iter().collect();
        match m.precision {
            Precision::Float => build_and_run::<f32>(&m.spec, &weights),
            Precision::Double => build_and_run::<f64>(&m.spec, &weights),
        }
    }
}

/// Any safetensors file: [`TensorFile::parse`], then every tensor's bytes and values.
pub fn safetensors(data: &[u8]) {
    let Ok(file) = TensorFile::parse(data) else { return };
    let _ = file.data_section();
    for e in &file.entries {
        let raw = file.raw(e);
        if let Ok(a) = file.to_f64(e) {
            // a tensor that converts has exactly its shape's number of values
            assert_eq!(a.shape(), e.shape.as_slice(), "tensor `{}`", e.name);
            assert!(a.len() <= raw.len(), "tensor `{}`: {} values from {} bytes", e.name, a.len(), raw.len());
        }
        let _ = file.entry(&e.name);
    }
}

/// Serve external data from memory: [`EXTERNAL_NAME`] holds 1024 bytes (the
/// float32 values 0, 0.25, 0.5, ...); any other location is refused.
pub fn external_data(location: &str) -> innsight_core::Result<Bytes> {
    if location == EXTERNAL_NAME {
        let bytes: Vec<u8> = (0..256).flat_map(|i| (i as f32 * 0.25).to_le_bytes()).collect();
        Ok(Bytes::from(bytes))
    } else {
        Err(Error::Io(format!("external data `{location}` is not available")))
    }
}

/// An ONNX model: [`read_onnx`] with in-memory external data, then what the R
/// package does with the result: the description as JSON and back, the weights as a
/// safetensors blob (parsed again), and the graph in single precision.
pub fn onnx(data: &[u8]) {
    init();
    let Ok(m) = read_onnx(Bytes::copy_from_slice(data), &external_data) else { return };
    let Ok(json) = m.spec.to_json() else { return };
    let Ok(spec) = ModelSpec::from_json(&json) else { return };
    if let Ok((head, total)) = m.weights.safetensors_layout() {
        let mut blob = vec![0u8; total];
        if m.weights.write_safetensors(&head, &mut blob).is_ok() {
            safetensors(&blob);
        }
    }
    build_and_run::<f32>(&spec, &m.weights);
}
