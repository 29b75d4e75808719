//! Time the core on VGG19- and ResNet50-shaped graphs (torchvision shapes, random
//! weights, 224×224, f32) and say where the time goes.
//!
//! ```text
//! cargo run --release --example profile_models -- [options]
//!   --models vgg19,resnet50     which graphs (default both)
//!   --methods forward,gradient,smoothgrad,deeplift,lrp_eps,lrp_ab   (default: all)
//!   --batch 1 --size 224 --reps 5 --threads 2
//!   --breakdown                 time every node (forward and reverse pass; fastest of
//!                               --reps runs per node) and print
//!                               the time per layer kind and the GFLOP/s of each conv
//!   --save DIR / --compare DIR  write the results / compare them with a saved run
//!                               (max |a - b| relative to max |b|, per method)
//! ```
//!
//! Whole-method timings go through the public entry point (`methods::run`) exactly as
//! the R binding calls it; the per-node breakdown re-runs the same forward pass and
//! reverse driver with a timing wrapper around each node's rule. Timings are medians
//! of `--reps` runs after one warm-up run. Peak memory is the process's resident peak
//! during the method (VmHWM, reset before each method through /proc/self/clear_refs).

use innsight_core::composite::Composite;
use innsight_core::graph::Node;
use innsight_core::layers::{LayerKind, Weights};
use innsight_core::methods::{self, RunInputs, RunSpec, Targets};
use innsight_core::propagate::{backward, GradientRule, Rule};
use innsight_core::rng::Rng;
use innsight_core::rules::deeplift::{DeepLift, DeepLiftKind, Traced};
use innsight_core::{Graph, ModelSpec, Result};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Builds a list-format model layer by layer (1-based indices, as in R).
struct Builder {
    layers: Vec<Value>,
    weights: Weights,
    rng: Rng,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder { layers: Vec::new(), weights: Weights::new(), rng: Rng::new(seed) }
    }

    /// Add a layer fed by `inputs` (0 = model input); returns its index.
    fn add(&mut self, mut layer: Value, inputs: &[usize]) -> usize {
        layer["input_layers"] = json!(inputs);
        self.layers.push(layer);
        self.layers.len()
    }

    /// Uniform weights with the variance of He initialisation (keeps ReLU activations
    /// O(1) through 50 layers); uniform because 143M Gaussian draws are slow.
    fn he(&mut self, shape: &[usize], fan_in: usize) -> ArrayD<f64> {
        let a = (6.0 / fan_in as f64).sqrt();
        ArrayD::from_shape_simple_fn(IxDyn(shape), || (2.0 * self.rng.uniform() - 1.0) * a)
    }

    fn small(&mut self, n: usize, scale: f64, offset: f64) -> ArrayD<f64> {
        ArrayD::from_shape_simple_fn(IxDyn(&[n]), || offset + scale * (2.0 * self.rng.uniform() - 1.0))
    }

    fn conv(&mut self, input: usize, c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize, act: &str, bias: bool) -> usize {
        let i = self.add(
            json!({"type": "Conv2D", "activation_name": act, "stride": [stride, stride], "padding": [pad, pad, pad, pad]}),
            &[input],
        );
        let w = self.he(&[c_out, c_in, k, k], c_in * k * k);
        self.weights.insert(format!("layers.{i}.weight"), w);
        if bias {
            let b = self.small(c_out, 0.05, 0.0);
            self.weights.insert(format!("layers.{i}.bias"), b);
        }
        i
    }

    fn batch_norm(&mut self, input: usize, c: usize) -> usize {
        let i = self.add(json!({"type": "BatchNorm", "num_features": c, "eps": 1e-5}), &[input]);
        let (g, b, m, v) = (self.small(c, 0.1, 1.0), self.small(c, 0.05, 0.0), self.small(c, 0.05, 0.0), self.small(c, 0.1, 1.0));
        for (name, t) in [("gamma", g), ("beta", b), ("run_mean", m), ("run_var", v)] {
            self.weights.insert(format!("layers.{i}.{name}"), t);
        }
        i
    }

    fn dense(&mut self, input: usize, c_in: usize, c_out: usize, act: &str) -> usize {
        let i = self.add(json!({"type": "Dense", "activation_name": act}), &[input]);
        let w = self.he(&[c_out, c_in], c_in);
        self.weights.insert(format!("layers.{i}.weight"), w);
        let b = self.small(c_out, 0.05, 0.0);
        self.weights.insert(format!("layers.{i}.bias"), b);
        i
    }

    fn relu(&mut self, input: usize) -> usize {
        self.add(json!({"type": "Activation", "act_name": "relu"}), &[input])
    }

    /// Fill in `output_layers` (the inverse of `input_layers`) and build the spec.
    fn finish(mut self, size: usize) -> (ModelSpec, Weights) {
        let n = self.layers.len();
        let mut outs: Vec<Vec<i64>> = vec![Vec::new(); n];
        for (i, l) in self.layers.iter().enumerate() {
            for p in l["input_layers"].as_array().expect("inputs") {
                let p = p.as_u64().expect("index") as usize;
                if p > 0 {
                    outs[p - 1].push(i as i64 + 1);
                }
            }
        }
        for (l, o) in self.layers.iter_mut().zip(outs) {
            l["output_layers"] = if o.is_empty() { json!([-1]) } else { json!(o) };
        }
        let spec = json!({"input_dim": [[3, size, size]], "input_nodes": [1], "output_nodes": [n], "layers": self.layers});
        (ModelSpec::from_json(&spec.to_string()).expect("valid spec"), self.weights)
    }
}

/// torchvision's vgg19 (no dropout; its adaptive pooling is the identity at 224²).
fn vgg19(size: usize) -> (ModelSpec, Weights) {
    let mut b = Builder::new(19);
    let cfg: &[usize] = &[64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0];
    let (mut last, mut c, mut hw) = (0, 3, size);
    for &v in cfg {
        if v == 0 {
            last = b.add(json!({"type": "MaxPooling2D", "kernel_size": [2, 2], "strides": [2, 2]}), &[last]);
            hw /= 2;
        } else {
            last = b.conv(last, c, v, 3, 1, 1, "relu", true);
            c = v;
        }
    }
    last = b.add(json!({"type": "Flatten"}), &[last]);
    last = b.dense(last, c * hw * hw, 4096, "relu");
    last = b.dense(last, 4096, 4096, "relu");
    b.dense(last, 4096, 1000, "linear");
    b.finish(size)
}

/// torchvision's resnet50 (v1.5: stride on the 3×3 conv). The stem's max pooling
/// pads by one; a replicate Padding layer gives the same maxima as -inf padding.
fn resnet50(size: usize) -> (ModelSpec, Weights) {
    let mut b = Builder::new(50);
    let mut last = b.conv(0, 3, 64, 7, 2, 3, "linear", false);
    last = b.batch_norm(last, 64);
    last = b.relu(last);
    last = b.add(json!({"type": "Padding", "padding": [1, 1, 1, 1], "mode": "replicate"}), &[last]);
    last = b.add(json!({"type": "MaxPooling2D", "kernel_size": [3, 3], "strides": [2, 2]}), &[last]);
    let mut c_in = 64;
    for (stage, &(blocks, width)) in [(3, 64), (4, 128), (6, 256), (3, 512)].iter().enumerate() {
        for blk in 0..blocks {
            let stride = if blk == 0 && stage > 0 { 2 } else { 1 };
            let c_out = width * 4;
            let x = last;
            let mut h = b.conv(x, c_in, width, 1, 1, 0, "linear", false);
            h = b.batch_norm(h, width);
            h = b.relu(h);
            h = b.conv(h, width, width, 3, stride, 1, "linear", false);
            h = b.batch_norm(h, width);
            h = b.relu(h);
            h = b.conv(h, width, c_out, 1, 1, 0, "linear", false);
            h = b.batch_norm(h, c_out);
            let skip = if blk == 0 {
                let d = b.conv(x, c_in, c_out, 1, stride, 0, "linear", false);
                b.batch_norm(d, c_out)
            } else {
                x
            };
            last = b.add(json!({"type": "Add"}), &[h, skip]);
            last = b.relu(last);
            c_in = c_out;
        }
    }
    last = b.add(json!({"type": "GlobalPooling", "method": "average"}), &[last]);
    b.dense(last, 2048, 1000, "linear");
    b.finish(size)
}

fn method_json(name: &str) -> Value {
    let common = json!({"output_idx": [[1]], "ignore_last_act": false});
    let m = match name {
        "gradient" => json!({"method": "gradient", "times_input": false}),
        "smoothgrad" => json!({"method": "smooth_grad", "times_input": false, "n": 10, "noise_level": 0.1, "seed": 42}),
        "deeplift" => json!({"method": "deep_lift", "rule": "rescale", "winner_takes_all": true}),
        "lrp_eps" => json!({"method": "lrp", "rules": [{"match": "any", "rule": "epsilon", "param": 0.001}]}),
        "lrp_ab" => json!({"method": "lrp", "rules": [{"match": "any", "rule": "alpha_beta", "param": 1.0}]}),
        other => panic!("unknown method {other}"),
    };
    let mut m = m;
    for (k, v) in common.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Resident peak of this process in bytes, and a way to reset it.
fn vm_hwm() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024))
        .unwrap_or(0)
}
fn vm_rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024))
        .unwrap_or(0)
}
/// CPU time of all threads of this process so far (seconds), from the scheduler's
/// per-thread accounting: unlike wall time it hardly depends on the machine's load.
fn cpu_time() -> f64 {
    let mut ns = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    ns as f64 * 1e-9
}
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Name of a node's kind for the breakdown (fused activations apart).
fn kind_name(node: &Node<f32>) -> String {
    match node.op.kind() {
        LayerKind::Activation if node.fused => "Activation (fused)".into(),
        k => format!("{k:?}"),
    }
}

/// Times every node's rule (the reverse pass of the breakdown).
struct Timed<'r> {
    inner: Vec<&'r dyn Rule<f32>>,
    times: Mutex<Vec<f64>>,
}

impl Rule<f32> for Timed<'_> {
    fn backward(&self, id: usize, node: &Node<f32>, inputs: &[ArrayViewD<f32>], output: &ArrayViewD<f32>, upper: &ArrayViewD<f32>) -> Result<Vec<ArrayD<f32>>> {
        let t = Instant::now();
        let r = self.inner[id].backward(id, node, inputs, output, upper);
        self.times.lock().unwrap()[id] += t.elapsed().as_secs_f64();
        r
    }
}

struct Breakdown {
    fwd: Vec<f64>,
    bwd: Vec<f64>,
}

/// One forward pass (timed per node) and the method's reverse pass (timed per node),
/// mirroring what `methods::run` does for that method.
fn breakdown(g: &Graph<f32>, x: &[ArrayD<f32>], method: &str) -> Breakdown {
    let timed_forward = |xs: &[ArrayD<f32>]| {
        let mut values: Vec<ArrayD<f32>> = Vec::new();
        let mut fwd = vec![0.0; g.nodes.len()];
        for (id, node) in g.nodes.iter().enumerate() {
            let ins: Vec<ArrayViewD<f32>> = node
                .inputs
                .iter()
                .map(|s| match *s {
                    innsight_core::graph::Source::Input(k) => xs[k].view(),
                    innsight_core::graph::Source::Node(j) => values[j].view(),
                })
                .collect();
            let t = Instant::now();
            let y = node.op.forward(&ins).unwrap();
            fwd[id] = t.elapsed().as_secs_f64();
            values.push(y);
        }
        fwd
    };
    let fwd = timed_forward(x);
    let targets = Targets::new(g, &[Some(vec![1])]).unwrap();
    let seeds = targets.seeds(g, x[0].shape()[0], false);
    let trace = g.forward(x).unwrap();
    let n = g.nodes.len();
    let bwd = match method {
        "forward" => vec![0.0; n],
        "gradient" | "smoothgrad" => {
            let rule = GradientRule;
            let timed = Timed { inner: vec![&rule; n], times: Mutex::new(vec![0.0; n]) };
            backward(g, x, &trace, seeds, &|_| &timed as &dyn Rule<f32>).unwrap();
            let t = timed.times.into_inner().unwrap();
            if method == "smoothgrad" {
                t.iter().map(|v| v * 10.0).collect()
            } else {
                t
            }
        }
        "lrp_eps" | "lrp_ab" => {
            let spec = method_json(method);
            let entries: Vec<innsight_core::composite::RuleEntry> = serde_json::from_value(spec["rules"].clone()).unwrap();
            let comp = Composite::new(&entries, None, None, None).unwrap();
            let rules = comp.resolve(g, true).unwrap();
            let timed = Timed { inner: rules.iter().map(|r| r.as_ref()).collect(), times: Mutex::new(vec![0.0; n]) };
            backward(g, x, &trace, seeds, &|_| &timed as &dyn Rule<f32>).unwrap();
            timed.times.into_inner().unwrap()
        }
        "deeplift" => {
            let xr: Vec<ArrayD<f32>> = x.iter().map(|a| ArrayD::zeros(a.raw_dim())).collect();
            let ref_trace = g.forward(&xr).unwrap();
            let seeded: Vec<usize> = seeds.iter().map(|(id, _)| *id).collect();
            let rule = DeepLift::new(g, Traced { inputs: x, trace: &trace }, Traced { inputs: &xr, trace: &ref_trace }, DeepLiftKind::Rescale, true, &seeded).unwrap();
            let timed = Timed { inner: vec![&rule; n], times: Mutex::new(vec![0.0; n]) };
            backward(g, x, &trace, seeds, &|_| &timed as &dyn Rule<f32>).unwrap();
            timed.times.into_inner().unwrap()
        }
        other => panic!("unknown method {other}"),
    };
    Breakdown { fwd, bwd }
}

fn print_breakdown(g: &Graph<f32>, conv_k: &[usize], batch: usize, method: &str, b: &Breakdown) {
    let mut per_kind: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let mut name = kind_name(node);
        if node.op.kind() == LayerKind::Conv2D {
            name = format!("Conv2D {}", if conv_k[id] == node.in_shapes[0][0] { "1x1" } else { "kxk" });
        }
        let e = per_kind.entry(name).or_insert((0, 0.0, 0.0));
        e.0 += 1;
        e.1 += b.fwd[id];
        e.2 += b.bwd[id];
    }
    let (tf, tb): (f64, f64) = (b.fwd.iter().sum(), b.bwd.iter().sum());
    println!("\n  breakdown for {method}: forward {:.1} ms, reverse pass {:.1} ms", tf * 1e3, tb * 1e3);
    println!("  | layer kind | nodes | forward ms | reverse ms | reverse % |");
    println!("  |---|---|---|---|---|");
    let mut rows: Vec<_> = per_kind.into_iter().collect();
    rows.sort_by(|a, b| (b.1 .2 + b.1 .1).partial_cmp(&(a.1 .2 + a.1 .1)).unwrap());
    for (k, (n, f, r)) in rows {
        println!("  | {k} | {n} | {:.1} | {:.1} | {:.0} |", f * 1e3, r * 1e3, 100.0 * r / tb.max(1e-12));
    }
    if method == "forward" || method == "gradient" {
        println!("  per conv/dense node (GFLOP/s = 2·MACs / time):");
        println!("  | node | in | out | K | forward ms | GFLOP/s | reverse ms | GFLOP/s |");
        println!("  |---|---|---|---|---|---|---|---|");
        for (id, node) in g.nodes.iter().enumerate() {
            if !matches!(node.op.kind(), LayerKind::Conv2D | LayerKind::Dense) {
                continue;
            }
            let out: usize = node.out_shape.iter().product();
            let flops = 2.0 * (out * conv_k[id] * batch) as f64;
            let gf = |t: f64| if t > 0.0 { flops / t / 1e9 } else { 0.0 };
            println!(
                "  | {id} | {:?} | {:?} | {} | {:.2} | {:.0} | {:.2} | {:.0} |",
                node.in_shapes[0],
                node.out_shape,
                conv_k[id],
                b.fwd[id] * 1e3,
                gf(b.fwd[id]),
                b.bwd[id] * 1e3,
                gf(b.bwd[id])
            );
        }
    }
}

/// Weights per output unit (K of the GEMM) of every conv/dense node.
fn gemm_k(g: &Graph<f32>) -> Vec<usize> {
    g.nodes
        .iter()
        .map(|node| match node.op.kind() {
            LayerKind::Dense => node.in_shapes[0][0],
            LayerKind::Conv2D => {
                // probe: the VJP of a unit signal at one output position through
                // Ones weights touches C·kh·kw inputs when the window is interior
                let lin = node.op.as_linear().unwrap();
                let out = &node.out_shape;
                let mut gsig = ArrayD::<f32>::zeros(IxDyn(&[&[1, 1][..], out].concat()));
                let (h, w) = (out[1] / 2, out[2] / 2);
                gsig[[0, 0, 0, h, w]] = 1.0;
                let gi = lin.vjp_mod(&gsig.view(), &node.in_shapes[0], innsight_core::layers::WeightMod::Ones).unwrap();
                gi.iter().filter(|v| **v != 0.0).count()
            }
            _ => 0,
        })
        .collect()
}

fn save(path: &std::path::Path, a: &ArrayD<f32>) {
    let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write result");
}

fn load(path: &std::path::Path) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let models = opt("--models").unwrap_or("vgg19,resnet50".into());
    let all = "forward,gradient,smoothgrad,deeplift,lrp_eps,lrp_ab";
    let method_list = opt("--methods").unwrap_or(all.into());
    let batch: usize = opt("--batch").map_or(1, |v| v.parse().unwrap());
    let size: usize = opt("--size").map_or(224, |v| v.parse().unwrap());
    let reps: usize = opt("--reps").map_or(5, |v| v.parse().unwrap());
    let threads: usize = opt("--threads").map_or(2, |v| v.parse().unwrap());
    let save_dir = opt("--save").map(std::path::PathBuf::from);
    let cmp_dir = opt("--compare").map(std::path::PathBuf::from);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("rayon pool");
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("threads {threads}, batch {batch}, {size}x{size}, f32, median of {reps}; load average at start: {}", load_avg.trim());

    for model in models.split(',') {
        let t = Instant::now();
        let (spec, weights) = match model {
            "vgg19" => vgg19(size),
            "resnet50" => resnet50(size),
            other => panic!("unknown model {other}"),
        };
        let g = Graph::<f32>::build(&spec, &weights).expect("graph");
        drop(weights);
        let conv_k = gemm_k(&g);
        let macs_per_sample: f64 = g
            .nodes
            .iter()
            .enumerate()
            .map(|(id, n)| (n.out_shape.iter().product::<usize>() * conv_k[id]) as f64)
            .sum();
        println!(
            "\n## {model}: {} nodes, {:.2} GMACs per sample, built in {:.1} s, RSS {:.0} MB",
            g.nodes.len(),
            macs_per_sample / 1e9,
            t.elapsed().as_secs_f64(),
            vm_rss() as f64 / 1e6
        );
        let mut rng = Rng::new(7);
        let x = vec![ArrayD::<f32>::from_shape_simple_fn(IxDyn(&[batch, 3, size, size]), || rng.normal() as f32)];
        let x_ref = vec![ArrayD::<f32>::zeros(IxDyn(&[1, 3, size, size]))];
        println!("| method | median s | min s | max s | CPU s (median) | GFLOP/s | peak RSS over base (MB) |");
        println!("|---|---|---|---|---|---|---|");
        for method in method_list.split(',') {
            let base = vm_rss();
            let mut times = Vec::new();
            let mut cpu = Vec::new();
            let mut peak = 0usize;
            let mut last: Option<Vec<ArrayD<f32>>> = None;
            for rep in 0..=reps {
                reset_hwm();
                let (t, c0) = (Instant::now(), cpu_time());
                let out: Vec<ArrayD<f32>> = if method == "forward" {
                    let trace = g.forward(&x).expect("forward");
                    vec![trace.values.last().unwrap().clone()]
                } else {
                    let rs = RunSpec::from_json(&method_json(method).to_string()).unwrap();
                    let inputs = RunInputs { data: x.clone(), x_ref: Some(x_ref.clone()), data_ref: None };
                    let r = methods::run(&g, &rs, &inputs).expect("method");
                    r.result.into_iter().flat_map(|(_, v)| v.into_iter().flatten()).collect()
                };
                let dt = t.elapsed().as_secs_f64();
                let dc = cpu_time() - c0;
                peak = peak.max(vm_hwm());
                if rep > 0 {
                    times.push(dt);
                    cpu.push(dc);
                }
                last = Some(out);
            }
            let med = median(times.clone());
            let (lo, hi) = (times.iter().cloned().fold(f64::MAX, f64::min), times.iter().cloned().fold(0.0, f64::max));
            let gf = 2.0 * macs_per_sample * batch as f64 / med / 1e9;
            println!(
                "| {method} | {med:.3} | {lo:.3} | {hi:.3} | {:.3} | {} | {:.0} |",
                median(cpu),
                if method == "forward" { format!("{gf:.0}") } else { "".into() },
                peak.saturating_sub(base) as f64 / 1e6
            );
            let out = last.unwrap();
            if let Some(dir) = &save_dir {
                std::fs::create_dir_all(dir).unwrap();
                for (k, a) in out.iter().enumerate() {
                    save(&dir.join(format!("{model}_{method}_{k}.f32")), a);
                }
            }
            if let Some(dir) = &cmp_dir {
                for (k, a) in out.iter().enumerate() {
                    if let Some(b) = load(&dir.join(format!("{model}_{method}_{k}.f32"))) {
                        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                        let err = a.iter().zip(&b).fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
                        println!("    compare {method}[{k}]: max |diff| = {err:.3e}, relative to max |ref| {:.3e}", err / scale.max(1e-30));
                    }
                }
            }
        }
        if flag("--breakdown") {
            for method in method_list.split(',') {
                // per node, the fastest of `reps` runs: the least disturbed by the load
                let mut b = breakdown(&g, &x, method);
                for _ in 1..reps {
                    let again = breakdown(&g, &x, method);
                    b.fwd.iter_mut().zip(again.fwd).for_each(|(a, v)| *a = a.min(v));
                    b.bwd.iter_mut().zip(again.bwd).for_each(|(a, v)| *a = a.min(v));
                }
                print_breakdown(&g, &conv_k, batch, method, &b);
            }
        }
    }
}
