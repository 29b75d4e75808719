"""Peer side of the benchmark: torchvision models explained with Captum and Zennit.

Pinned versions (installed by bench/setup-peers.sh):
    torch==2.15.0  torchvision==0.29.2  captum==0.9.0  zennit==0.5.1

The same architectures as innsight's imagenet_model(): torchvision's vgg16, vgg19 and
resnet50 with random weights (weights=None, torchvision's own initialisation), eval
mode, 3 x 224 x 224 inputs, torch.set_num_threads(BENCH_THREADS, default 2).

Usage
    python bench/peers.py --worker MODEL      # driven by bench/drive.py (see below)
    python bench/peers.py --model resnet50 --batches 1 --reps 3 [--methods a,b]

Worker protocol (one line each way, JSON answers prefixed so that stray output of the
libraries cannot be mistaken for them):
    -> READY {"model": ..., "macs": ..., "rss_mb": ..., "hwm_mb": ..., "build_s": ...}
    <- run BATCH METHOD REPS         -> RESULT {"median_s": ..., "times": [...], "peak_mb": ...}
    <- gemm [REPS]                   -> RESULT {"gflops": ..., "median_s": ...}
    <- quit
Each case: the peak resident memory is reset (/proc/self/clear_refs), one untimed
warm-up call, then up to REPS timed calls (fewer when the warm-up shows that REPS
calls would exceed BENCH_CASE_BUDGET seconds, at least one); the median is reported.

Method equivalents (innsight -> peer); every method explains output 1 (target 0), the
logits (innsight: ignore_last_act = TRUE):
    forward         predict()                      -> softmax(model(x)) under no_grad
    gradient        Gradient                       -> captum Saliency(abs=False)
    grad_x_input    Gradient(times_input = TRUE)   -> captum InputXGradient
    smoothgrad      SmoothGrad(n = 10)             -> captum NoiseTunnel(Saliency), smoothgrad, 10 samples
    intgrad         IntegratedGradient(n = 50)     -> captum IntegratedGradients(n_steps=50, riemann_right)
    deeplift        DeepLift (rescale, x_ref = 0)  -> captum DeepLift (rescale, zero baseline)
    lrp_epsilon     LRP "epsilon" (1e-3)           -> zennit Gradient, Epsilon(1e-3) on conv + linear
    lrp_alpha_beta  LRP "alpha_beta" (alpha = 1)   -> zennit Gradient, AlphaBeta(1, 0) on conv + linear
    lrp_composite   the article's LRP composite    -> zennit Gradient, AlphaBeta on conv, Epsilon(1e-6) on
                                                      linear, Pass on batch norm (zennit refuses the article's
                                                      alpha = 0.5, beta = -0.5; its AlphaBeta costs the same
                                                      for any alpha, beta)
    deepshap        DeepSHAP (4 references)        -> captum DeepLiftShap (4 baselines)
Zennit on ResNet50 runs with its ResNetCanonizer (batch norm merged into the
convolutions, the residual sum as a module with the proportional Norm rule), the way
zennit documents LRP for torchvision ResNets. Captum's DeepLift needs every ReLU to be
its own, not-in-place module: the ReLUs are made not-in-place, and ResNet's Bottleneck
blocks (which call one ReLU module three times) get three.
Memory: captum's IntegratedGradients and NoiseTunnel run in chunks of at most 16
images (internal_batch_size / nt_samples_batch_size); innsight chunks by a 1 GiB budget.
"""
import argparse
import ctypes
import gc
import json
import os
import statistics
import sys
import time
import types

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CASE_BUDGET = float(os.environ.get("BENCH_CASE_BUDGET", "4"))
WARMUP = os.environ.get("BENCH_WARMUP", "1") != "0"
CHUNK_IMAGES = 16

import torch  # noqa: E402

torch.set_num_threads(THREADS)
import torchvision  # noqa: E402
from captum.attr import (DeepLift, DeepLiftShap, InputXGradient, IntegratedGradients,  # noqa: E402
                         NoiseTunnel, Saliency)
from zennit.attribution import Gradient as ZGradient  # noqa: E402
from zennit.composites import LayerMapComposite, layer_map_base  # noqa: E402
from zennit.rules import AlphaBeta, Epsilon, Pass  # noqa: E402
from zennit.torchvision import ResNetCanonizer  # noqa: E402
from zennit.types import BatchNorm, Convolution  # noqa: E402

METHODS = ["forward", "gradient", "grad_x_input", "smoothgrad", "intgrad", "deeplift",
           "lrp_epsilon", "lrp_alpha_beta", "lrp_composite", "deepshap"]


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    """Free what can be freed, then restart the peak resident memory at the current value."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def bottleneck_forward(self, x):
    """torchvision's Bottleneck.forward with one ReLU module per use (for captum)."""
    identity = x
    out = self.bench_relu1(self.bn1(self.conv1(x)))
    out = self.bench_relu2(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    if self.downsample is not None:
        identity = self.downsample(x)
    return self.bench_relu3(out + identity)


def separate_relus(model):
    """Make every ReLU not-in-place and give each Bottleneck its own three (idempotent;
    zennit's canonizer replaces and later deletes the instance's forward)."""
    for m in model.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False
        if isinstance(m, torchvision.models.resnet.Bottleneck):
            if not hasattr(m, "bench_relu1"):
                m.bench_relu1, m.bench_relu2, m.bench_relu3 = torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.ReLU()
            m.forward = types.MethodType(bottleneck_forward, m)
    return model


def count_macs(model):
    """Multiply-accumulates of one 224 x 224 image through the convolutions and linear layers."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            total[0] += mod.weight.numel() * out.shape[2] * out.shape[3]
        elif isinstance(mod, torch.nn.Linear):
            total[0] += mod.weight.numel()

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hs:
        h.remove()
    return total[0]


def build(arch, seed=42):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return separate_relus(model)


def composite(model, kind):
    conv_linear = (Convolution, torch.nn.Linear)
    if kind == "lrp_epsilon":
        rules = [(conv_linear, Epsilon(epsilon=1e-3))]
    elif kind == "lrp_alpha_beta":
        rules = [(conv_linear, AlphaBeta(alpha=1.0, beta=0.0))]
    else:  # the article's composite: alpha-beta on convolutions, z-rule on dense, pass on batch norm
        rules = [(Convolution, AlphaBeta(alpha=1.0, beta=0.0)), (torch.nn.Linear, Epsilon(epsilon=1e-6)),
                 (BatchNorm, Pass())]
    canonizers = [ResNetCanonizer()] if isinstance(model, torchvision.models.ResNet) else None
    return LayerMapComposite(layer_map=rules + layer_map_base(), canonizers=canonizers)


def make_case(model, method, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 224, 224, generator=g)
    zeros = torch.zeros(1, 3, 224, 224)
    refs = torch.randn(4, 3, 224, 224, generator=g)
    target = 0
    if method == "forward":
        def f():
            with torch.no_grad():
                return torch.softmax(model(x), dim=1)
    elif method == "gradient":
        def f():
            return Saliency(separate_relus(model)).attribute(x.clone().requires_grad_(), target=target, abs=False)
    elif method == "grad_x_input":
        def f():
            return InputXGradient(separate_relus(model)).attribute(x.clone().requires_grad_(), target=target)
    elif method == "smoothgrad":
        stdevs = 0.1 * float(x.max() - x.min())

        def f():
            nt = NoiseTunnel(Saliency(separate_relus(model)))
            return nt.attribute(x, nt_type="smoothgrad", nt_samples=10, stdevs=stdevs, target=target, abs=False,
                                nt_samples_batch_size=max(1, CHUNK_IMAGES // batch))
    elif method == "intgrad":
        def f():
            ig = IntegratedGradients(separate_relus(model))
            return ig.attribute(x, baselines=zeros.expand_as(x), target=target, n_steps=50, method="riemann_right",
                                internal_batch_size=CHUNK_IMAGES)
    elif method == "deeplift":
        def f():
            return DeepLift(separate_relus(model)).attribute(x, baselines=zeros.expand_as(x), target=target)
    elif method == "deepshap":
        def f():
            return DeepLiftShap(separate_relus(model)).attribute(x, baselines=refs, target=target)
    elif method in ("lrp_epsilon", "lrp_alpha_beta", "lrp_composite"):
        def f():
            comp = composite(model, method)
            with ZGradient(model=model, composite=comp) as attributor:
                onehot = torch.zeros(batch, 1000)
                onehot[:, target] = 1.0
                _, rel = attributor(x.clone().requires_grad_(), onehot)
            return rel
    else:
        raise ValueError(f"unknown method {method}")
    return f


def time_case(model, method, batch, reps):
    f = make_case(model, method, batch)
    reset_peak()
    if not WARMUP:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = f()
            times.append(time.perf_counter() - t0)
            del out
        return {"median_s": statistics.median(times), "times": times, "warmup_s": None, "warmup_only": False,
                "peak_mb": status_mb("VmHWM")}
    t0 = time.perf_counter()
    out = f()
    warm = time.perf_counter() - t0
    del out
    # a case slower than the budget is reported from its warm-up call alone
    reps = 0 if warm >= CASE_BUDGET else max(1, min(reps, int(CASE_BUDGET // max(warm, 1e-9))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
        del out
    if reps == 0:
        times = [warm]
    return {"median_s": statistics.median(times), "times": times, "warmup_s": warm, "warmup_only": reps == 0,
            "peak_mb": status_mb("VmHWM")}


def gemm(n=4096, reps=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"median_s": med, "gflops": 2 * n ** 3 / med / 1e9, "n": n}


def versions():
    import captum
    import zennit
    try:
        from importlib.metadata import version
        zv = version("zennit")
    except Exception:  # pragma: no cover
        zv = getattr(zennit, "__version__", "?")
    return {"python": sys.version.split()[0], "torch": torch.__version__, "torchvision": torchvision.__version__,
            "captum": captum.__version__, "zennit": zv, "threads": torch.get_num_threads(),
            "cpu_capability": cpu_capability()}


def cpu_capability():
    """The vector ISA torch's CPU kernels dispatch to here (e.g. AVX2, AVX512)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover (older torch)
        return "?"


def worker(arch):
    t0 = time.perf_counter()
    model = None
    info = {"model": arch, **versions()}
    if arch != "none":
        model = build(arch)
        info["macs"] = count_macs(model)
    info.update(build_s=time.perf_counter() - t0, rss_mb=status_mb("VmRSS"), hwm_mb=status_mb("VmHWM"))
    print("READY " + json.dumps(info), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "quit":
                break
            elif parts[0] == "gemm":
                res = gemm(reps=int(parts[1]) if len(parts) > 1 else 5)
            elif parts[0] == "run":
                batch, method, reps = int(parts[1]), parts[2], int(parts[3])
                res = time_case(model, method, batch, reps)
            else:
                res = {"error": f"unknown command {parts[0]}"}
        except Exception as e:  # report and go on with the next case
            res = {"error": f"{type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(res), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", metavar="MODEL")
    p.add_argument("--model", default="resnet50")
    p.add_argument("--batches", default="1")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    if a.worker:
        return worker(a.worker)
    model = build(a.model)
    print(f"{a.model}: {count_macs(model) / 1e9:.2f} GMAC per image; {versions()}")
    for batch in map(int, a.batches.split(",")):
        for m in a.methods.split(","):
            r = time_case(model, m, batch, a.reps)
            print(f"{a.model:9s} batch {batch}  {m:15s} {r['median_s']:8.3f} s  peak {r['peak_mb']:7.0f} MB", flush=True)


if __name__ == "__main__":
    main()
