"""Run both sides of the benchmark case by case and write bench/results.md.

For every model, one worker process per side is started (bench/bench.R for innsight,
bench/peers.py for Captum/Zennit); both build the model once, then the cases are sent
to them alternately: (batch, method) by (batch, method), the side that goes first
switching from case to case. Only one side computes at any time. Standard library
only; called by bench/run.sh, which sets up the environment.

    python3 bench/drive.py --python PEERS_PYTHON [--quick] [--models ...] [--isolate]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ["forward", "gradient", "grad_x_input", "smoothgrad", "intgrad", "deeplift",
           "lrp_epsilon", "lrp_alpha_beta", "lrp_composite", "deepshap"]
SLOW = {"smoothgrad", "intgrad", "deepshap"}
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


def log(msg):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", flush=True)


class Worker:
    """One side's worker process: a line protocol over stdin/stdout."""

    def __init__(self, side, cmd, model, logdir, env):
        self.side, self.model = side, model
        self.logf = open(os.path.join(logdir, f"{model}-{side}.log"), "a")
        self.proc = subprocess.Popen(cmd + ["--worker", model], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.logf, text=True, bufsize=1, env=env)
        self.info = self.read("READY") or {"error": "worker did not start (see the log)"}
        self.hwm = self.info.get("hwm_mb", 0) or 0

    def read(self, tag):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1:])
            self.logf.write(line)  # anything else the libraries print

    def ask(self, command):
        if self.proc.poll() is not None:
            return {"error": f"worker exited with status {self.proc.returncode}"}
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"error": "worker closed its input"}
        res = self.read("RESULT")
        if res is None:
            self.proc.wait()
            return {"error": f"worker exited with status {self.proc.returncode} (see the log)"}
        self.hwm = max(self.hwm, res.get("peak_mb") or 0)
        return res

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=60)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def fmt(x, digits=3):
    if x is None:
        return "–"
    return f"{x:.{digits}f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python", required=True, help="the peers' Python (torch, captum, zennit)")
    p.add_argument("--rscript", default="Rscript")
    p.add_argument("--models", default="resnet50,vgg16,vgg19")
    p.add_argument("--batches", default="1,4")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--reps", type=int, default=5, help="timed calls per fast case")
    p.add_argument("--slow-reps", type=int, default=3, help="timed calls for SmoothGrad, IG, DeepSHAP")
    p.add_argument("--quick", action="store_true", help="ResNet50, batch 1, one call per case, no warm-up")
    p.add_argument("--isolate", action="store_true",
                   help="fresh worker processes for every case (exact per-case peak memory; slower)")
    p.add_argument("--out", default=os.path.join(HERE, "results.md"))
    p.add_argument("--logdir", default=os.path.join(HERE, "logs"))
    a = p.parse_args()
    if a.quick:
        a.models, a.batches, a.reps, a.slow_reps = "resnet50", "1", 1, 1
        os.environ["BENCH_WARMUP"] = "0"
    os.makedirs(a.logdir, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("BENCH_THREADS", "2")
    # each side may use exactly BENCH_THREADS threads, also in the BLAS/OpenMP layers
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = env["BENCH_THREADS"]
    cmds = {"innsight": [a.rscript, os.path.join(HERE, "bench.R")],
            "peer": [a.python, os.path.join(HERE, "peers.py")]}
    models = a.models.split(",")
    batches = [int(b) for b in a.batches.split(",")]
    methods = a.methods.split(",")
    started = time.time()
    load_start = loadavg()
    log(f"benchmark: models {models}, batches {batches}, {len(methods)} methods; logs in {a.logdir}")

    def start(model):
        return {side: Worker(side, cmd, model, a.logdir, env) for side, cmd in cmds.items()}

    def stop(workers):
        for w in workers.values():
            w.close()

    # GEMM peaks
    ws = start("none")
    info = {side: w.info for side, w in ws.items()}
    gemm = {side: w.ask(f"gemm {1 if a.quick else 5}") for side, w in ws.items()}
    stop(ws)
    log("GEMM GFLOP/s: " + ", ".join(f"{s} {g.get('gflops', float('nan')):.1f}" for s, g in gemm.items()))

    rows, model_info = [], {}
    k = 0
    for model in models:
        ws = None if a.isolate else start(model)
        if ws is not None:
            model_info[model] = {side: dict(w.info) for side, w in ws.items()}
            log(f"{model}: built (innsight {fmt(ws['innsight'].info.get('build_s'), 1)} s, "
                f"peer {fmt(ws['peer'].info.get('build_s'), 1)} s)")
        for batch in batches:
            for method in methods:
                reps = a.slow_reps if method in SLOW else a.reps
                if a.isolate:
                    ws = start(model)
                    model_info.setdefault(model, {side: dict(w.info) for side, w in ws.items()})
                order = ["innsight", "peer"] if k % 2 == 0 else ["peer", "innsight"]
                res = {}
                for side in order:
                    res[side] = ws[side].ask(f"run {batch} {method} {reps}")
                k += 1
                if a.isolate:
                    for side, w in ws.items():
                        mi = model_info[model][side]
                        mi["process_peak_mb"] = max(mi.get("process_peak_mb", 0), w.hwm)
                    stop(ws)
                row = {"model": model, "batch": batch, "method": method, **res}
                rows.append(row)
                t_o, t_p = res["innsight"].get("median_s"), res["peer"].get("median_s")
                ratio = f"{t_o / t_p:.2f}" if t_o and t_p else "–"
                errs = "; ".join(f"{s}: {r['error']}" for s, r in res.items() if "error" in r)
                log(f"{model} b{batch} {method:15s} innsight {fmt(t_o)} s | peer {fmt(t_p)} s | ratio {ratio}"
                    + (f"  ERROR {errs}" if errs else ""))
        if not a.isolate:
            for side, w in ws.items():
                model_info[model][side]["process_peak_mb"] = w.hwm
            stop(ws)

    total = time.time() - started
    load_end = loadavg()
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump({"gemm": gemm, "info": info, "models": model_info, "rows": rows, "seconds": total,
                   "load": [load_start, load_end]}, f, indent=1)
    write_markdown(a, gemm, info, model_info, rows, total, load_start, load_end, models, batches)
    log(f"done in {total / 60:.1f} min: {a.out}")


def cell(res):
    if "error" in res:
        return "error"
    return fmt(res.get("median_s")) + ("*" if res.get("warmup_only") else "")


def write_markdown(a, gemm, info, model_info, rows, total, load_start, load_end, models, batches):
    peak = gemm["peer"].get("gflops")
    ours_gemm = gemm["innsight"].get("gflops")
    i_o, i_p = info["innsight"], info["peer"]
    out = []
    w = out.append
    w("# Benchmark results: innsight vs Captum / Zennit")
    w("")
    w(f"Written by `make bench` (bench/run.sh{', BENCH_QUICK=1' if a.quick else ''}) on "
      f"{datetime.datetime.now():%Y-%m-%d %H:%M}, in {total / 60:.1f} minutes.")
    w("")
    w(f"- Machine: {cpu_model()}, {os.cpu_count()} cores; load average (1, 5, 15 min) "
      f"{' '.join(load_start)} at the start, {' '.join(load_end)} at the end.")
    w(f"- innsight {i_o.get('innsight', '?')} on R {i_o.get('R', '?')}, {i_o.get('threads', '?')} threads; "
      f"torch {i_p.get('torch', '?')}, torchvision {i_p.get('torchvision', '?')}, captum {i_p.get('captum', '?')}, "
      f"zennit {i_p.get('zennit', '?')} on Python {i_p.get('python', '?')}, {i_p.get('threads', '?')} threads.")
    budget = os.environ.get("BENCH_CASE_BUDGET", "4")
    if os.environ.get("BENCH_WARMUP") == "0":
        timing = f"Median of {a.reps} timed call(s) per case ({a.slow_reps} for SmoothGrad, IntegratedGradient, " \
                 "DeepSHAP), no warm-up."
    else:
        timing = f"Median of up to {a.reps} timed calls ({a.slow_reps} for SmoothGrad, IntegratedGradient, " \
                 f"DeepSHAP) after one untimed warm-up call; fewer calls when they would exceed {budget} s per " \
                 f"case, and a case whose warm-up alone took longer than {budget} s is reported from that call " \
                 "(marked *)."
    w(f"- {timing} "
      "The two sides alternate case by case. Random weights (innsight: `imagenet_model(seed = 42)`, "
      "peer: torchvision `weights=None`), random N(0, 1) images, output 1 explained.")
    w("")
    w("## GEMM peak (4096 x 4096 x 4096, f32)")
    w("")
    w("| what | median (s) | GFLOP/s |")
    w("|---|---|---|")
    w(f"| torch `mm` (the machine's practical peak) | {fmt(gemm['peer'].get('median_s'))} | {fmt(peak, 1)} |")
    w(f"| innsight: `predict()` of a 4096 -> 4096 dense layer on 4096 rows (incl. R <-> Rust copies) | "
      f"{fmt(gemm['innsight'].get('median_s'))} | {fmt(ours_gemm, 1)} |")
    w("")
    w("## Times (median seconds) and peak resident memory")
    w("")
    w("Peak memory per case is the process's peak while running the case (the model's weights included; "
      "memory the allocator kept from earlier cases can raise it, `--isolate` gives exact figures).")
    w("")
    w("| model | batch | method | innsight (s) | peer (s) | peer call | ours/peer | innsight peak (MB) | peer peak (MB) |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o, pr = r["innsight"], r["peer"]
        t_o, t_p = o.get("median_s"), pr.get("median_s")
        ratio = f"{t_o / t_p:.2f}" if t_o and t_p else "–"
        cells = [r["model"], str(r["batch"]), LABEL.get(r["method"], r["method"]),
                cell(o), cell(pr),
                 PEER_CALL.get(r["method"], ""), ratio, fmt(o.get("peak_mb"), 0), fmt(pr.get("peak_mb"), 0)]
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
        macs = model_info.get(r["model"], {}).get("innsight", {}).get("macs") or \
            model_info.get(r["model"], {}).get("peer", {}).get("macs")
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
    w("| model | innsight after building | peer after building | innsight peak | peer peak |")
    w("|---|---|---|---|---|")
    for m in models:
        mi = model_info.get(m)
        if not mi:
            continue
        o, pr = mi["innsight"], mi["peer"]
        w(f"| {m} | {fmt(o.get('rss_mb'), 0)} | {fmt(pr.get('rss_mb'), 0)} | "
          f"{fmt(max(o.get('hwm_mb') or 0, o.get('process_peak_mb') or 0), 0)} | "
          f"{fmt(max(pr.get('hwm_mb') or 0, pr.get('process_peak_mb') or 0), 0)} |")
    w("")
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
