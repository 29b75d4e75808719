"""Run both sides of the benchmark case by case and write the reports (bench/report.py).

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
import subprocess
import sys
import time

from report import METHODS, cpu_kind, fmt, now, write_index, write_kind_report

HERE = os.path.dirname(os.path.abspath(__file__))
SLOW = {"smoothgrad", "intgrad", "deepshap"}


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


def timing_note(a):
    budget = os.environ.get("BENCH_CASE_BUDGET", "4")
    if os.environ.get("BENCH_WARMUP") == "0":
        return f"Median of {a.reps} timed call(s) per case ({a.slow_reps} for SmoothGrad, IntegratedGradient, " \
               "DeepSHAP), no warm-up."
    return f"Median of up to {a.reps} timed calls ({a.slow_reps} for SmoothGrad, IntegratedGradient, " \
           f"DeepSHAP) after one untimed warm-up call; fewer calls when they would exceed {budget} s per " \
           f"case, and a case whose warm-up alone took longer than {budget} s is reported from that call " \
           "(marked *)."


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
    p.add_argument("--out", default=None,
                   help="report path (default: bench/results/<cpu kind>.md for a full run, which also "
                        "rewrites bench/results.md; bench/logs/partial-<cpu kind>.md for a partial one)")
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
    slug, description = cpu_kind()
    full = not a.quick and (models, batches, methods) == (["resnet50", "vgg16", "vgg19"], [1, 4], METHODS)
    out = a.out or (os.path.join(HERE, "results", slug + ".md") if full
                    else os.path.join(a.logdir, f"partial-{slug}.md"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    run = {"kind": {"slug": slug, "description": description}, "date": now(), "cores": os.cpu_count(),
           "quick": a.quick, "timing": timing_note(a), "gemm": gemm, "info": info, "models": model_info,
           "rows": rows, "seconds": total, "load": [load_start, load_end]}
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(run, f, indent=1)
    write_kind_report(out, run)
    if full and a.out is None:
        write_index(os.path.join(HERE, "results"), os.path.join(HERE, "results.md"))
    log(f"done in {total / 60:.1f} min: {out}")


if __name__ == "__main__":
    sys.exit(main())
