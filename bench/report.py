"""The benchmark's reports: one per CPU kind, and the index that compares the kinds.

A full `make bench` run writes bench/results/<kind>.json and bench/results/<kind>.md
for the CPU kind it ran on (model name and widest vector instruction set, e.g.
`amd-epyc-avx2`), then rewrites bench/results.md from every kind's JSON: one ratio
column per kind, checked against the targets of issue 14, so that a regression on
one kind of machine cannot hide behind another's numbers. Standard library only.
"""
import datetime
import glob
import json
import os
import platform
import re

METHODS = ["forward", "gradient", "grad_x_input", "smoothgrad", "intgrad", "deeplift",
           "lrp_epsilon", "lrp_alpha_beta", "lrp_composite", "deepshap"]
PEER_CALL = {
    "forward": "torch forward + softmax",
    "gradient": "captum Saliency",
    "grad_x_input": "captum InputXGradient",
    "smoothgrad": "captum NoiseTunnel(Saliency), 10 samples",
    "intgrad": "captum IntegratedGradients, 50 steps",
    "deeplift": "captum DeepLift",
    "lrp_epsilon": "zennit Epsilon",
    "lrp_alpha_beta": "zennit AlphaBeta(1, 0)",
    "lrp_composite": "zennit AlphaBeta/Epsilon/Pass",
    "deepshap": "captum DeepLiftShap, 4 baselines",
}
LABEL = {
    "forward": "forward (predict)",
    "gradient": "Gradient",
    "grad_x_input": "Gradient x Input",
    "smoothgrad": "SmoothGrad n = 10",
    "intgrad": "IntegratedGradient n = 50",
    "deeplift": "DeepLift rescale",
    "lrp_epsilon": "LRP epsilon",
    "lrp_alpha_beta": "LRP alpha_beta (alpha = 1)",
    "lrp_composite": "LRP article composite",
    "deepshap": "DeepSHAP, 4 references",
}
# Time targets (ours / peer) per method family. DeepSHAP is DeepLift on several
# references, so it gets DeepLift's target.
TARGET = {"forward": 1.0, "gradient": 0.9, "grad_x_input": 0.9, "smoothgrad": 0.9, "intgrad": 0.9,
          "deeplift": 0.6, "lrp_epsilon": 0.6, "lrp_alpha_beta": 0.6, "lrp_composite": 0.6, "deepshap": 0.6}


def cpu_flags():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def widest_isa(flags):
    """The widest x86 vector extension the CPU reports (what a runtime dispatch can pick)."""
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags and "fma" in flags:
        return "avx2"
    return "sse2" if flags else "unknown"


def cpu_kind():
    """(slug, description) of this machine's CPU kind, e.g. ('amd-epyc-avx2', 'AMD EPYC, AVX2')."""
    model = cpu_model()
    isa = widest_isa(cpu_flags())
    # drop the noise that differs between machines of one kind
    short = re.sub(r"\((R|TM)\)|CPU|Processor|@.*$|\d+-Core", " ", model, flags=re.I)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{short} {isa}".lower()).strip("-")
    return slug, f"{model}, widest vector ISA {isa.upper()}"


def fmt(x, digits=3):
    if x is None:
        return "–"
    return f"{x:.{digits}f}"


def ratio(row):
    t_o, t_p = row["innsight"].get("median_s"), row["peer"].get("median_s")
    return t_o / t_p if t_o and t_p else None


def cell(res):
    if "error" in res:
        return "error"
    return fmt(res.get("median_s")) + ("*" if res.get("warmup_only") else "")


def build_peaks(model_info, side):
    """Peak resident memory while building: the process peak read right after the build."""
    return {m: mi[side].get("hwm_mb") for m, mi in model_info.items() if side in mi}


def write_kind_report(path, run):
    """The full report of one run (one CPU kind) as Markdown."""
    gemm, info, model_info, rows = run["gemm"], run["info"], run["models"], run["rows"]
    peak = gemm["peer"].get("gflops")
    i_o, i_p = info["innsight"], info["peer"]
    out = []
    w = out.append
    w(f"# Benchmark results on {run['kind']['description']}")
    w("")
    w(f"Written by `make bench` (bench/run.sh{', BENCH_QUICK=1' if run.get('quick') else ''}) on "
      f"{run['date']}, in {run['seconds'] / 60:.1f} minutes. Index of all CPU kinds: `bench/results.md`.")
    w("")
    load_start, load_end = run["load"]
    w(f"- Machine: {run['kind']['description']}, {run['cores']} cores; load average (1, 5, 15 min) "
      f"{' '.join(load_start)} at the start, {' '.join(load_end)} at the end.")
    w(f"- Kernels used: innsight {i_o.get('isa', '?')}; torch CPU capability "
      f"`{i_p.get('cpu_capability', '?')}`.")
    w(f"- innsight {i_o.get('innsight', '?')} on R {i_o.get('R', '?')}, {i_o.get('threads', '?')} threads; "
      f"torch {i_p.get('torch', '?')}, torchvision {i_p.get('torchvision', '?')}, captum {i_p.get('captum', '?')}, "
      f"zennit {i_p.get('zennit', '?')} on Python {i_p.get('python', '?')}, {i_p.get('threads', '?')} threads.")
    w(f"- {run['timing']} The two sides alternate case by case. Random weights (innsight: "
      "`imagenet_model(seed = 42)`, peer: torchvision `weights=None`), random N(0, 1) images, output 1 explained.")
    w("")
    w("## GEMM peak (4096 x 4096 x 4096, f32)")
    w("")
    w("| what | median (s) | GFLOP/s |")
    w("|---|---|---|")
    w(f"| torch `mm` (the machine's practical peak) | {fmt(gemm['peer'].get('median_s'))} | {fmt(peak, 1)} |")
    w(f"| innsight: `predict()` of a 4096 -> 4096 dense layer on 4096 rows (incl. R <-> Rust copies) | "
      f"{fmt(gemm['innsight'].get('median_s'))} | {fmt(gemm['innsight'].get('gflops'), 1)} |")
    w("")
    w("## Times (median seconds) and peak resident memory")
    w("")
    w("Peak memory per case is the process's peak while running the case (the model's weights included; "
      "memory the allocator kept from earlier cases can raise it, `--isolate` gives exact figures). "
      "Target: the ratio ours/peer at most the `target` column.")
    w("")
    w("| model | batch | method | innsight (s) | peer (s) | peer call | ours/peer | target | innsight peak (MB) | peer peak (MB) |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o, pr = r["innsight"], r["peer"]
        cells = [r["model"], str(r["batch"]), LABEL.get(r["method"], r["method"]), cell(o), cell(pr),
                 PEER_CALL.get(r["method"], ""), fmt(ratio(r), 2), fmt(TARGET.get(r["method"]), 1),
                 fmt(o.get("peak_mb"), 0), fmt(pr.get("peak_mb"), 0)]
        w("| " + " | ".join(cells) + " |")
    errors = [(r["model"], r["batch"], r["method"], s, r[s]["error"]) for r in rows for s in ("innsight", "peer")
              if "error" in r[s]]
    if errors:
        w("")
        w("Errors:")
        for m, b, meth, s, e in errors:
            w(f"- {m} batch {b} {meth} ({s}): {e}")
    w("")
    w("## Forward pass: achieved GFLOP/s (2 x multiply-accumulates of the convolutions and dense layers)")
    w("")
    w("| model | batch | GMAC per image | innsight GFLOP/s | % of GEMM peak | peer GFLOP/s | % of GEMM peak |")
    w("|---|---|---|---|---|---|---|")
    for r in rows:
        if r["method"] != "forward":
            continue
        mi = model_info.get(r["model"], {})
        macs = mi.get("innsight", {}).get("macs") or mi.get("peer", {}).get("macs")
        if not macs:
            continue
        flops = 2 * macs * r["batch"]
        cells = [r["model"], str(r["batch"]), fmt(macs / 1e9, 2)]
        for side in ("innsight", "peer"):
            t = r[side].get("median_s")
            g = flops / t / 1e9 if t else None
            cells += [fmt(g, 1), fmt(100 * g / peak, 0) if g and peak else "–"]
        w("| " + " | ".join(cells) + " |")
    w("")
    w("## Memory per process (MB)")
    w("")
    w("`peak while building`: the process's peak resident memory when the model is built (read right after "
      "building, before any case). `peak`: the highest over the whole run.")
    w("")
    w("| model | innsight peak while building | peer peak while building | innsight after building | "
      "peer after building | innsight peak | peer peak |")
    w("|---|---|---|---|---|---|---|")
    for m, mi in model_info.items():
        o, pr = mi.get("innsight", {}), mi.get("peer", {})
        w(f"| {m} | {fmt(o.get('hwm_mb'), 0)} | {fmt(pr.get('hwm_mb'), 0)} | {fmt(o.get('rss_mb'), 0)} | "
          f"{fmt(pr.get('rss_mb'), 0)} | "
          f"{fmt(max(o.get('hwm_mb') or 0, o.get('process_peak_mb') or 0), 0)} | "
          f"{fmt(max(pr.get('hwm_mb') or 0, pr.get('process_peak_mb') or 0), 0)} |")
    w("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def misses(run):
    """Rows of one run that miss a target: time ratio, case memory or build memory."""
    out = []
    for r in run["rows"]:
        q, t = ratio(r), TARGET.get(r["method"])
        if q is None:
            out.append(f"{r['model']} b{r['batch']} {LABEL.get(r['method'], r['method'])}: no ratio (error)")
            continue
        if t is not None and q > t:
            out.append(f"{r['model']} b{r['batch']} {LABEL.get(r['method'], r['method'])}: time {q:.2f} > {t}")
        po, pp = r["innsight"].get("peak_mb"), r["peer"].get("peak_mb")
        if po and pp and po >= pp:
            out.append(f"{r['model']} b{r['batch']} {LABEL.get(r['method'], r['method'])}: "
                       f"memory {po:.0f} MB >= {pp:.0f} MB")
    bo, bp = build_peaks(run["models"], "innsight"), build_peaks(run["models"], "peer")
    for m in bo:
        if bo[m] and bp.get(m) and bo[m] >= bp[m]:
            out.append(f"{m} build: memory {bo[m]:.0f} MB >= {bp[m]:.0f} MB")
    return out


def write_index(results_dir, path):
    """bench/results.md: every CPU kind's ratios side by side, and each kind's misses."""
    runs = []
    for f in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(f) as fh:
            runs.append(json.load(fh))
    out = []
    w = out.append
    w("# Benchmark results: innsight vs Captum / Zennit, per CPU kind")
    w("")
    w("Rewritten by every full `make bench` from `bench/results/<kind>.json`; the full tables of each "
      "kind (times, memory, GFLOP/s) are in `bench/results/<kind>.md`. Cells: median time ours / peer "
      "(2 threads each, f32); a `!` marks a miss of the target (forward 1.0, gradient family 0.9, "
      "DeepLift, DeepSHAP and LRP 0.6).")
    w("")
    for run in runs:
        k = run["kind"]
        i_o, i_p = run["info"]["innsight"], run["info"]["peer"]
        w(f"- `{k['slug']}`: {k['description']}; measured {run['date']}; kernels: innsight {i_o.get('isa', '?')}, "
          f"torch `{i_p.get('cpu_capability', '?')}`; details in `bench/results/{k['slug']}.md`.")
    if not runs:
        w("No results yet: run `make bench`.")
    w("")
    keys = []
    for run in runs:
        for r in run["rows"]:
            key = (r["model"], r["batch"], r["method"])
            if key not in keys:
                keys.append(key)
    order = {m: i for i, m in enumerate(METHODS)}
    keys.sort(key=lambda k: (k[0], k[1], order.get(k[2], 99)))
    w("| model | batch | method | target | " + " | ".join(f"`{run['kind']['slug']}`" for run in runs) + " |")
    w("|---|---|---|---|" + "---|" * len(runs))
    for key in keys:
        cells = [key[0], str(key[1]), LABEL.get(key[2], key[2]), fmt(TARGET.get(key[2]), 1)]
        for run in runs:
            row = next((r for r in run["rows"] if (r["model"], r["batch"], r["method"]) == key), None)
            q = ratio(row) if row else None
            t = TARGET.get(key[2])
            cells.append("–" if q is None else f"{q:.2f}" + (" !" if t is not None and q > t else ""))
        w("| " + " | ".join(cells) + " |")
    w("")
    w("Peak resident memory while building the model (MB, innsight / peer):")
    w("")
    w("| model | " + " | ".join(f"`{run['kind']['slug']}`" for run in runs) + " |")
    w("|---|" + "---|" * len(runs))
    models = sorted({m for run in runs for m in run["models"]})
    for m in models:
        cells = [m]
        for run in runs:
            mi = run["models"].get(m, {})
            cells.append(f"{fmt(mi.get('innsight', {}).get('hwm_mb'), 0)} / {fmt(mi.get('peer', {}).get('hwm_mb'), 0)}")
        w("| " + " | ".join(cells) + " |")
    w("")
    for run in runs:
        miss = misses(run)
        w(f"Misses on `{run['kind']['slug']}`: " + ("none." if not miss else ""))
        if miss:
            w("")
            for m in miss:
                w(f"- {m}")
        w("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def now():
    return f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
