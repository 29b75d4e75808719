//! Writes the seed corpora: valid model files, safetensors files and ONNX files of a
//! few small architectures, into `corpus/<target>/seed-<name>` (run from
//! src/rust/fuzz: `cargo +nightly run --release --example seeds`). Every seed is
//! checked to go all the way (read, graph built, forward pass) before it is written,
//! so the fuzzer starts from inputs that reach the deep code.

use innsight_core::io::model_file::{read_model, write_model, Precision};
use innsight_core::io::onnx::proto::{
    self, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, TypeTensor, ValueInfoProto,
};
use innsight_core::io::onnx::read_onnx;
use innsight_core::io::tensors::{header, write_tensors};
use innsight_core::io::{Dtype, TensorFile};
use innsight_core::layers::Weights;
use innsight_core::Graph;
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use std::collections::BTreeMap;
use std::path::Path;

/// Deterministic small weights: a fixed sequence in [-1, 1].
fn values(n: usize, salt: usize) -> Vec<f64> {
    (0..n).map(|i| (((i * 7 + salt * 13) % 17) as f64 - 8.0) / 8.0).collect()
}

fn tensor(shape: &[usize], salt: usize) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values(shape.iter().product(), salt)).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    assert!(bytes.len() < 64 * 1024, "seed {name} has {} bytes", bytes.len());
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

// ---------------------------------------------------------------- model files

/// (name, description, weights as (name, shape)).
fn model_cases() -> Vec<(&'static str, String, Vec<(&'static str, Vec<usize>)>)> {
    vec![
        (
            "dense",
            r#"{"input_dim":[[4]],"input_nodes":[1],"output_nodes":[2],"layers":[
 {"type":"Dense","input_layers":[0],"output_layers":[2],"activation_name":"relu","dim_in":[4],"dim_out":[3]},
 {"type":"Dense","input_layers":[1],"output_layers":[-1],"activation_name":"softmax"}],
 "input_names":[[["a","b","c","d"]]],"output_names":[[["y1","y2"]]]}"#
                .into(),
            vec![("layers.1.weight", vec![3, 4]), ("layers.1.bias", vec![3]), ("layers.2.weight", vec![2, 3]), ("layers.2.bias", vec![2])],
        ),
        (
            "conv2d-maxpool",
            r#"{"input_dim":[[1,6,6]],"input_nodes":[1],"output_nodes":[4],"layers":[
 {"type":"Conv2D","input_layers":[0],"output_layers":[2],"activation_name":"relu","stride":[1,1],"padding":[0,0,0,0],"dilation":[1,1]},
 {"type":"MaxPooling2D","input_layers":[1],"output_layers":[3],"kernel_size":[2,2],"strides":[2,2]},
 {"type":"Flatten","input_layers":[2],"output_layers":[4]},
 {"type":"Dense","input_layers":[3],"output_layers":[-1],"activation_name":"linear"}]}"#
                .into(),
            vec![("layers.1.weight", vec![2, 1, 3, 3]), ("layers.1.bias", vec![2]), ("layers.4.weight", vec![3, 8]), ("layers.4.bias", vec![3])],
        ),
        (
            "conv1d-batchnorm-avgpool",
            r#"{"input_dim":[[2,8]],"input_nodes":[1],"output_nodes":[5],"layers":[
 {"type":"Conv1D","input_layers":[0],"output_layers":[2],"activation_name":"tanh","stride":1,"padding":[1,1]},
 {"type":"BatchNorm","input_layers":[1],"output_layers":[3],"num_features":3,"eps":1e-5},
 {"type":"AveragePooling1D","input_layers":[2],"output_layers":[4],"kernel_size":2},
 {"type":"Flatten","input_layers":[3],"output_layers":[5]},
 {"type":"Dense","input_layers":[4],"output_layers":[-1],"activation_name":"sigmoid"}]}"#
                .into(),
            vec![
                ("layers.1.weight", vec![3, 2, 3]),
                ("layers.1.bias", vec![3]),
                ("layers.2.gamma", vec![3]),
                ("layers.2.beta", vec![3]),
                ("layers.2.run_mean", vec![3]),
                ("layers.2.run_var", vec![3]),
                ("layers.5.weight", vec![2, 12]),
                ("layers.5.bias", vec![2]),
            ],
        ),
        (
            "add-concat",
            r#"{"input_dim":[[4]],"input_nodes":[1],"output_nodes":[6],"layers":[
 {"type":"Skipping","input_layers":[0],"output_layers":[2,3]},
 {"type":"Dense","input_layers":[1],"output_layers":[4,5],"activation_name":"relu"},
 {"type":"Dense","input_layers":[1],"output_layers":[4],"activation_name":"leaky_relu","activation_args":{"negative_slope":0.1}},
 {"type":"Add","input_layers":[2,3],"output_layers":[5]},
 {"type":"Concatenate","input_layers":[2,4],"output_layers":[6],"axis":-1},
 {"type":"Dense","input_layers":[5],"output_layers":[-1],"activation_name":"linear"}]}"#
                .into(),
            vec![
                ("layers.2.weight", vec![3, 4]),
                ("layers.2.bias", vec![3]),
                ("layers.3.weight", vec![3, 4]),
                ("layers.3.bias", vec![3]),
                ("layers.6.weight", vec![2, 6]),
                ("layers.6.bias", vec![2]),
            ],
        ),
        (
            "padding-globalpool-multiply",
            r#"{"input_dim":[[2,4,4]],"input_nodes":[1],"output_nodes":[7],"layers":[
 {"type":"Padding","input_layers":[0],"output_layers":[2],"padding":[1,1,1,1],"mode":"reflect"},
 {"type":"Conv2D","input_layers":[1],"output_layers":[3,4],"activation_name":"elu","stride":2,"groups":2},
 {"type":"Activation","input_layers":[2],"output_layers":[4],"act_name":"sigmoid"},
 {"type":"Multiply","input_layers":[2,3],"output_layers":[5]},
 {"type":"AveragePooling2D","input_layers":[4],"output_layers":[6],"kernel_size":[2,2],"strides":[1,1]},
 {"type":"GlobalPooling","input_layers":[5],"output_layers":[7],"method":"max"},
 {"type":"Dense","input_layers":[6],"output_layers":[-1],"activation_name":"linear"}]}"#
                .into(),
            vec![("layers.2.weight", vec![4, 1, 3, 3]), ("layers.2.bias", vec![4]), ("layers.7.weight", vec![2, 4]), ("layers.7.bias", vec![2])],
        ),
        (
            "two-inputs-reshape",
            r#"{"input_dim":[[6],[2,3]],"input_nodes":[1,2],"output_nodes":[5],"layers":[
 {"type":"Reshape","input_layers":[0],"output_layers":[3],"shape":[2,3]},
 {"type":"Activation","input_layers":[0],"output_layers":[3],"act_name":"clip","activation_args":{"min":-0.5,"max":0.5}},
 {"type":"Concatenate","input_layers":[1,2],"output_layers":[4],"axis":2},
 {"type":"Flatten","input_layers":[3],"output_layers":[5],"data_format":"channels_last"},
 {"type":"Dense","input_layers":[4],"output_layers":[-1],"activation_name":"gelu"}]}"#
                .into(),
            vec![("layers.5.weight", vec![2, 12]), ("layers.5.bias", vec![2])],
        ),
    ]
}

fn model_files(dir: &Path) {
    for (name, json, shapes) in model_cases() {
        let w: Weights = shapes
            .iter()
            .enumerate()
            .map(|(k, (n, s))| {
                let t = tensor(s, k);
                // variances are positive
                (n.to_string(), if n.ends_with("run_var") { t.mapv(|v| v.abs() + 0.5) } else { t })
            })
            .collect();
        for precision in [Precision::Float, Precision::Double] {
            let extra: BTreeMap<String, String> = [("innsight_version".to_string(), "0.4.0".to_string())].into();
            let bytes = write_model(&json, &w, precision, &extra).unwrap_or_else(|e| panic!("{name}: {e}")).into_bytes();
            let m = read_model(&bytes).unwrap();
            let weights: Weights = m.weights.into_iter().collect();
            let g = Graph::<f64>::build(&m.spec, &weights).unwrap_or_else(|e| panic!("{name}: {e}"));
            let inputs: Vec<ArrayD<f64>> =
                g.input_shapes.iter().map(|s| ArrayD::from_elem(IxDyn(&[&[1][..], s].concat()), 0.5)).collect();
            g.forward(&inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
            write(dir, &format!("{name}-{}.safetensors", precision.name()), &bytes);
        }
    }
}

// ------------------------------------------------------------ safetensors files

fn safetensors_files(dir: &Path) {
    let a = tensor(&[2, 3], 1);
    let b = tensor(&[4], 2);
    let s = ArrayD::from_elem(IxDyn(&[]), 1.5);
    let meta: BTreeMap<String, String> = [("format".to_string(), "pt".to_string()), ("note".to_string(), "seed \"quoted\"".to_string())].into();
    for (dtype, tag) in [(Dtype::F32, "f32"), (Dtype::F64, "f64")] {
        let bytes = write_tensors(&[("fc.weight", &a), ("fc.bias", &b), ("scale", &s)], dtype, &meta).unwrap().into_bytes();
        write(dir, &format!("{tag}.safetensors"), &bytes);
    }
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    write(dir, "empty-tensor.safetensors", &write_tensors(&[("e", &empty)], Dtype::F32, &BTreeMap::new()).unwrap().into_bytes());
    write(dir, "no-tensors.safetensors", &write_tensors(&[], Dtype::F32, &meta).unwrap().into_bytes());
    // one tensor of every other element type the reader converts, written by hand
    let raw: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = vec![
        ("half", Dtype::F16, vec![2, 2], [0x3C00u16, 0xC000, 0x0001, 0x7BFF].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("brain", Dtype::BF16, vec![3], [0x3F80u16, 0xC000, 0x0000].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("long", Dtype::I64, vec![2], [-3i64, 1 << 40].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("ulong", Dtype::U64, vec![1], u64::MAX.to_le_bytes().to_vec()),
        ("int", Dtype::I32, vec![1, 2], [-7i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("uint", Dtype::U32, vec![1], 7u32.to_le_bytes().to_vec()),
        ("short", Dtype::I16, vec![2], [-2i16, 3].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("ushort", Dtype::U16, vec![1], 65535u16.to_le_bytes().to_vec()),
        ("byte", Dtype::I8, vec![3], vec![0x80, 0x7F, 0x01]),
        ("ubyte", Dtype::U8, vec![2], vec![0, 255]),
        ("flag", Dtype::BOOL, vec![2], vec![0, 1]),
        ("fp8", Dtype::F8_E4M3, vec![2], vec![0x38, 0xB8]),
    ];
    let mut data = Vec::new();
    let mut ranges = Vec::new();
    for (_, _, _, bytes) in &raw {
        ranges.push((data.len(), data.len() + bytes.len()));
        data.extend_from_slice(bytes);
    }
    let mut table: Vec<(&str, Dtype, &[usize], usize, usize)> =
        raw.iter().zip(&ranges).map(|((n, d, s, _), &(b, e))| (*n, *d, s.as_slice(), b, e)).collect();
    table.sort_by(|x, y| x.3.cmp(&y.3));
    let mut bytes = header(&table, &meta).unwrap();
    bytes.extend_from_slice(&data);
    let f = TensorFile::parse(&bytes).unwrap();
    assert_eq!(f.entries.len(), raw.len());
    write(dir, "all-dtypes.safetensors", &bytes);
}

// ------------------------------------------------------------------ ONNX files

fn f32_tensor(name: &str, shape: &[usize], salt: usize) -> TensorProto {
    let v = values(shape.iter().product(), salt);
    TensorProto {
        name: name.into(),
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: proto::data_type::FLOAT,
        raw_data: v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect::<Vec<u8>>().into(),
        ..Default::default()
    }
}

fn i64_tensor(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: proto::data_type::INT64,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn value_info(name: &str, shape: &[i64]) -> ValueInfoProto {
    let dim = shape.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeTensor { elem_type: proto::data_type::FLOAT, shape: Some(TensorShapeProto { dim }) }),
        }),
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: proto::attribute_type::INTS, ints: v.to_vec(), ..Default::default() }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: proto::attribute_type::INT, i: v, ..Default::default() }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: proto::attribute_type::FLOAT, f: v, ..Default::default() }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: format!("{op}_{}", outputs[0]),
        attribute,
        ..Default::default()
    }
}

fn model(input: &[i64], output: &[i64], nodes: Vec<NodeProto>, initializer: Vec<TensorProto>, opset: i64) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        producer_name: "innsight-fuzz-seeds".into(),
        producer_version: "1".into(),
        graph: Some(GraphProto {
            name: "seed".into(),
            node: nodes,
            initializer,
            input: vec![value_info("x", input)],
            output: vec![value_info("y", output)],
        }),
        functions: vec![],
    }
    .encode_to_vec()
}

fn onnx_cases() -> Vec<(&'static str, Vec<u8>)> {
    let dense = model(
        &[1, 4],
        &[1, 2],
        vec![
            node("Gemm", &["x", "w1", "b1"], &["h"], vec![int("transB", 1)]),
            node("Relu", &["h"], &["r"], vec![]),
            node("Gemm", &["r", "w2", "b2"], &["y"], vec![float("alpha", 0.5), float("beta", 1.0)]),
        ],
        vec![f32_tensor("w1", &[3, 4], 1), f32_tensor("b1", &[3], 2), f32_tensor("w2", &[3, 2], 3), f32_tensor("b2", &[2], 4)],
        13,
    );
    let conv = model(
        &[1, 1, 6, 6],
        &[1, 3],
        vec![
            node("Conv", &["x", "w", "b"], &["c"], vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1]), ints("strides", &[1, 1])]),
            node("Relu", &["c"], &["r"], vec![]),
            node("MaxPool", &["r"], &["p"], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
            node("Flatten", &["p"], &["f"], vec![int("axis", 1)]),
            node("Gemm", &["f", "w2", "b2"], &["y"], vec![int("transB", 1)]),
        ],
        vec![f32_tensor("w", &[2, 1, 3, 3], 1), f32_tensor("b", &[2], 2), f32_tensor("w2", &[3, 18], 3), f32_tensor("b2", &[3], 4)],
        11,
    );
    let batchnorm = model(
        &[1, 2, 8],
        &[1, 2],
        vec![
            node("Conv", &["x", "w"], &["c"], vec![ints("kernel_shape", &[3]), ints("dilations", &[2])]),
            node("BatchNormalization", &["c", "g", "be", "m", "v"], &["n"], vec![float("epsilon", 1e-5)]),
            node("AveragePool", &["n"], &["a"], vec![ints("kernel_shape", &[2]), ints("strides", &[2])]),
            node("GlobalAveragePool", &["a"], &["gp"], vec![]),
            node("Flatten", &["gp"], &["f"], vec![]),
            node("MatMul", &["f", "w2"], &["mm"], vec![]),
            node("Sigmoid", &["mm"], &["y"], vec![]),
        ],
        vec![
            f32_tensor("w", &[3, 2, 3], 1),
            f32_tensor("g", &[3], 2),
            f32_tensor("be", &[3], 3),
            f32_tensor("m", &[3], 4),
            TensorProto { float_data: vec![1.0, 0.5, 2.0], ..f32_tensor("v", &[3], 0) }.with_no_raw(),
            f32_tensor("w2", &[3, 2], 5),
        ],
        15,
    );
    let add_concat = model(
        &[1, 4],
        &[1, 2],
        vec![
            node("Gemm", &["x", "wa", "ba"], &["a"], vec![int("transB", 1)]),
            node("Gemm", &["x", "wb", "bb"], &["b"], vec![int("transB", 1)]),
            node("Add", &["a", "b"], &["s"], vec![]),
            node("Concat", &["a", "s"], &["cat"], vec![int("axis", 1)]),
            node("Tanh", &["cat"], &["t"], vec![]),
            node("Gemm", &["t", "wc"], &["y"], vec![int("transB", 1)]),
        ],
        vec![
            f32_tensor("wa", &[3, 4], 1),
            f32_tensor("ba", &[3], 2),
            f32_tensor("wb", &[3, 4], 3),
            f32_tensor("bb", &[3], 4),
            f32_tensor("wc", &[2, 6], 5),
        ],
        17,
    );
    // the shape subgraph exporters write in front of a Reshape, folded to constants
    let shape_subgraph = model(
        &[1, 2, 3, 3],
        &[1, 2],
        vec![
            node("Shape", &["x"], &["shape"], vec![]),
            node("Gather", &["shape", "zero"], &["batch"], vec![int("axis", 0)]),
            node("Unsqueeze", &["batch", "axes"], &["batch1"], vec![]),
            node("Concat", &["batch1", "minus_one"], &["target"], vec![int("axis", 0)]),
            node("Reshape", &["x", "target"], &["flat"], vec![]),
            node("Constant", &[], &["scale"], vec![AttributeProto { name: "value_float".into(), r#type: proto::attribute_type::FLOAT, f: 2.0, ..Default::default() }]),
            node("Mul", &["flat", "scale"], &["scaled"], vec![]),
            node("Slice", &["wfull", "starts", "ends", "sax"], &["w"], vec![]),
            node("Transpose", &["w"], &["wt"], vec![ints("perm", &[1, 0])]),
            node("MatMul", &["scaled", "wt"], &["mm"], vec![]),
            node("Softmax", &["mm"], &["y"], vec![int("axis", -1)]),
        ],
        vec![
            TensorProto { dims: vec![], ..i64_tensor("zero", &[0]) },
            i64_tensor("axes", &[0]),
            i64_tensor("minus_one", &[-1]),
            f32_tensor("wfull", &[3, 18], 6),
            i64_tensor("starts", &[0]),
            i64_tensor("ends", &[2]),
            i64_tensor("sax", &[0]),
        ],
        13,
    );
    // a weight in external data (served from memory by the fuzz target)
    let mut external = f32_tensor("w", &[2, 4], 0);
    external.raw_data = Default::default();
    external.data_location = 1;
    external.external_data = vec![
        StringStringEntryProto { key: "location".into(), value: innsight_fuzz::EXTERNAL_NAME.into() },
        StringStringEntryProto { key: "offset".into(), value: "16".into() },
        StringStringEntryProto { key: "length".into(), value: "32".into() },
    ];
    let external = model(&[1, 4], &[1, 2], vec![node("Gemm", &["x", "w"], &["y"], vec![int("transB", 1)])], vec![external], 14);
    let pad = model(
        &[1, 1, 4, 4],
        &[1, 4],
        vec![
            node("Pad", &["x", "pads", "cval"], &["p"], vec![]),
            node("Conv", &["p", "w"], &["c"], vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), int("group", 1)]),
            node("LeakyRelu", &["c"], &["l"], vec![float("alpha", 0.2)]),
            node("ReduceMean", &["l"], &["m"], vec![ints("axes", &[2, 3]), int("keepdims", 0)]),
            node("Identity", &["m"], &["y"], vec![]),
        ],
        vec![
            i64_tensor("pads", &[0, 0, 1, 1, 0, 0, 1, 1]),
            TensorProto { dims: vec![], ..f32_tensor("cval", &[], 0) },
            f32_tensor("w", &[4, 1, 3, 3], 7),
        ],
        13,
    );
    vec![
        ("dense", dense),
        ("conv-maxpool", conv),
        ("conv1d-batchnorm-avgpool", batchnorm),
        ("add-concat", add_concat),
        ("shape-subgraph", shape_subgraph),
        ("external-data", external),
        ("pad-reducemean", pad),
    ]
}

trait NoRaw {
    fn with_no_raw(self) -> Self;
}

impl NoRaw for TensorProto {
    /// The values from `float_data` instead of `raw_data`.
    fn with_no_raw(mut self) -> Self {
        self.raw_data = Default::default();
        self
    }
}

fn onnx_files(dir: &Path, fixtures: &Path) {
    for (name, bytes) in onnx_cases() {
        let m = read_onnx(bytes.clone(), &innsight_fuzz::external_data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let g = Graph::<f32>::build(&m.spec, &m.weights).unwrap_or_else(|e| panic!("{name}: {e}"));
        let inputs: Vec<ArrayD<f32>> = g.input_shapes.iter().map(|s| ArrayD::from_elem(IxDyn(&[&[1][..], s].concat()), 0.5)).collect();
        g.forward(&inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        write(dir, &format!("{name}.onnx"), &bytes);
    }
    // the repository's exported fixtures below 64 KB (PyTorch's TorchScript and
    // dynamo exporters), the refused ones included
    let mut names: Vec<_> = std::fs::read_dir(fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names.iter().filter(|p| p.extension().is_some_and(|e| e == "onnx")) {
        let bytes = std::fs::read(p).unwrap();
        if bytes.len() < 64 * 1024 {
            write(dir, &format!("fixture-{}", p.file_name().unwrap().to_string_lossy()), &bytes);
        }
    }
}

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = here.join("corpus");
    for t in ["model_file", "safetensors", "onnx"] {
        std::fs::create_dir_all(corpus.join(t)).unwrap();
    }
    model_files(&corpus.join("model_file"));
    safetensors_files(&corpus.join("safetensors"));
    // model files are safetensors files too
    for e in std::fs::read_dir(corpus.join("model_file")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("seed-dense") || name.starts_with("seed-conv1d") {
            std::fs::copy(&p, corpus.join("safetensors").join(format!("seed-model-{}", &name[5..]))).unwrap();
        }
    }
    onnx_files(&corpus.join("onnx"), &here.join("../../../tests/fixtures/onnx"));
    // innsight's own shipped model files below 64 KB
    for name in ["iris_mlp.safetensors", "penguin_mlp.safetensors"] {
        let bytes = std::fs::read(here.join("../../../inst/extdata").join(name)).unwrap();
        read_model(&bytes).unwrap();
        write(&corpus.join("model_file"), &format!("extdata-{name}"), &bytes);
    }
    println!("seeds written to {}", corpus.display());
}
