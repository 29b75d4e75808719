//! How the ONNX reader stores weights: float32 initializers held as raw bytes go into
//! the model as float32 bytes (no widening, no copy), also through the transposes
//! of `Gemm` (transB = 0) and `MatMul`; the same model with its weights written as
//! `float_data` (decoded to f64) must give exactly the same weights and outputs.

use innsight_core::io::onnx::proto::*;
use innsight_core::io::onnx::{read_onnx, OnnxWeight};
use innsight_core::io::TensorFile;
use innsight_core::Graph;
use ndarray::{ArrayD, IxDyn};
use prost::Message;

fn no_external(loc: &str) -> innsight_core::Result<prost::bytes::Bytes> {
    panic!("unexpected external data {loc}")
}

fn tensor(name: &str, dims: &[i64], values: &[f32], raw: bool) -> TensorProto {
    let mut t = TensorProto { name: name.into(), dims: dims.to_vec(), data_type: data_type::FLOAT, ..Default::default() };
    if raw {
        t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into();
    } else {
        t.float_data = values.to_vec();
    }
    t
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeTensor { elem_type: data_type::FLOAT, shape: Some(TensorShapeProto { dim }) }),
        }),
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: output.into(),
        op_type: op.into(),
        attribute,
        ..Default::default()
    }
}

/// x (3) → MatMul W1 (3×4) → Relu → Gemm W2 (4×2, transB = 0) + C → y (2).
fn mlp(raw: bool) -> Vec<u8> {
    let w1: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 7.0).collect();
    let w2: Vec<f32> = (0..8).map(|i| (3.0 - i as f32) / 9.0).collect();
    let graph = GraphProto {
        node: vec![
            node("MatMul", &["x", "w1"], "h", vec![]),
            node("Relu", &["h"], "r", vec![]),
            node("Gemm", &["r", "w2", "c"], "y", vec![]),
        ],
        name: "mlp".into(),
        initializer: vec![tensor("w1", &[3, 4], &w1, raw), tensor("w2", &[4, 2], &w2, raw), tensor("c", &[2], &[0.25, -0.5], raw)],
        input: vec![value_info("x", &[1, 3])],
        output: vec![value_info("y", &[1, 2])],
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

#[test]
fn float32_weights_stay_float32_and_equal_the_decoded_ones() {
    let raw = read_onnx(mlp(true), &no_external).unwrap();
    let decoded = read_onnx(mlp(false), &no_external).unwrap();
    let names = ["layers.2.weight", "layers.4.weight"];
    for name in names {
        assert!(matches!(raw.weights.get(name), Some(OnnxWeight::F32 { .. })), "{name} is stored as float32 bytes");
        assert!(matches!(decoded.weights.get(name), Some(OnnxWeight::F64(_))), "{name} from float_data is f64");
        assert_eq!(raw.weights.get(name).unwrap().to_f64(), decoded.weights.get(name).unwrap().to_f64(), "{name}");
    }
    // MatMul's (in, out) factor became the Dense layer's (out, in) weight
    let w1 = raw.weights.get("layers.2.weight").unwrap().to_f64();
    assert_eq!(w1.shape(), [4, 3]);
    assert_eq!(w1[[1, 2]], ((9.0f32 - 5.5) / 7.0) as f64, "W[o = 1, i = 2] is the file's element (2, 1)");

    // the blob both ways, and the model built from it, agree bit for bit
    let x = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.3, -1.2, 2.0, 1.0, 0.5, -0.25]).unwrap();
    let mut outs = vec![];
    for m in [&raw, &decoded] {
        let (head, total) = m.weights.safetensors_layout().unwrap();
        let mut blob = vec![0u8; total];
        m.weights.write_safetensors(&head, &mut blob).unwrap();
        let file = TensorFile::parse(&blob).unwrap();
        assert_eq!(file.entries.len(), m.weights.len());
        let g: Graph<f64> = Graph::build(&m.spec, &m.weights).unwrap();
        outs.push(g.forward(&[x.clone()]).unwrap().values[g.outputs[0]].clone());
    }
    assert_eq!(outs[0], outs[1]);
    // against the closed form
    let w2 = raw.weights.get("layers.4.weight").unwrap().to_f64();
    let b2 = raw.weights.get("layers.4.bias").unwrap().to_f64();
    for n in 0..2 {
        let h: Vec<f64> = (0..4).map(|o| (0..3).map(|i| w1[[o, i]] * x[[n, i]]).sum::<f64>().max(0.0)).collect();
        for o in 0..2 {
            let y = (0..4).map(|i| w2[[o, i]] * h[i]).sum::<f64>() + b2[[o]];
            assert!((outs[0][[n, o]] - y).abs() < 1e-12, "output ({n}, {o})");
        }
    }
}
