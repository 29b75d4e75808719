#!/usr/bin/env python3
"""Read an innsight model file with Python's `safetensors` (dev-only check).

Usage: python read_model_file.py MODEL.safetensors OUT.json

Opens the file with `safetensors.safe_open` (framework "numpy"), verifies the
`innsight_checksum` entry by the definition in vignettes/model-files.Rmd (zlib's
CRC-32 of the other metadata entries, the tensor table in name order, and the data
section),
and writes a JSON report: metadata, and per tensor its dtype, shape and values
(row-major, as Python floats, whose repr round-trips exactly).

Pinned: Python 3.11, safetensors 0.8.0, numpy 2.x (any version with safetensors'
numpy API works).
"""
import json
import sys
import zlib

import numpy as np
import safetensors
from safetensors import safe_open


def checksum(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__")
    c = 0
    for key in sorted(k for k in meta if k != "innsight_checksum"):
        c = zlib.crc32(key.encode("utf-8") + b"\0" + meta[key].encode("utf-8") + b"\0", c)
    for name in sorted(header):
        t = header[name]
        for part in (name, t["dtype"], ",".join(str(d) for d in t["shape"])):
            c = zlib.crc32(part.encode("utf-8") + b"\0", c)
    c = zlib.crc32(raw[8 + n :], c)
    return "crc32:%08x" % c


def main(path, out):
    report = {"safetensors_version": safetensors.__version__, "tensors": {}}
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
        report["metadata"] = meta
        for name in f.keys():
            a = f.get_tensor(name)
            report["tensors"][name] = {
                "dtype": {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}[a.dtype],
                "shape": list(a.shape),
                "values": [float(v) for v in a.reshape(-1)],  # C order
            }
    report["checksum_computed"] = checksum(path)
    report["checksum_ok"] = report["checksum_computed"] == meta.get("innsight_checksum")
    report["model"] = json.loads(meta["innsight_model"])
    with open(out, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
