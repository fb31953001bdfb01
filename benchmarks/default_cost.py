"""Benchmark: what the default detector costs beside the fallback (issue 35, item 6).

    python benchmarks/default_cost.py [--images 16]

For each packaged detector (the default detector-clip-b16 and the fallback detector-lite0-early),
in a fresh process of its own: seconds to load it (the CLIP tower's graph cut at block 6 and its
ONNX Runtime session, or the shipped graph), seconds per image of the whole scoring path
(decode, up to 2 x 2 native crops, the network, the head) at 512 px and at 12 MP, and the
process's peak resident memory. The images are a camera photo (cameras162) resized and saved as
JPEG q92: the content does not matter for the cost. Writes the RESULTS.md section "default-cost".
Run on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from clip_cost import images  # noqa: E402
from reproduce_report import machine, replace_section  # noqa: E402

DETECTORS = {"detector-clip-b16 (default)": "detector-clip-b16.safetensors",
             "detector-lite0-early (fallback)": "detector-default.safetensors"}  # fmt: skip

CHILD = """
import json, resource, sys, time
from realorai.inference.default import packaged
from realorai.inference.detector import Detector
name, sets = sys.argv[1], json.loads(sys.argv[2])
t0 = time.perf_counter()
det = Detector.load(packaged(name))
out = {"load_s": time.perf_counter() - t0, "backend": det.backend}
status = open("/proc/self/status").read()
out["loaded_mb"] = int(status.split("VmRSS:")[1].split()[0]) / 1024  # the process with the model, before scoring
for label, paths in sets.items():
    det.score(paths[:2])  # warm-up
    t0 = time.perf_counter()
    det.score(paths)
    out[label] = (time.perf_counter() - t0) / len(paths)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=16, help="images of each size")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = images(Path(tmp), args.images)
        got = {}
        for label, file in DETECTORS.items():
            r = subprocess.run([sys.executable, "-c", CHILD, file, json.dumps(sets)], capture_output=True, text=True,
                               check=True)  # fmt: skip
            got[label] = json.loads(r.stdout.strip().splitlines()[-1])
    table = [
        "| detector | backend | load | memory once loaded | s / image, 512 px | s / image, 12 MP | peak memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, g in got.items():
        table.append(f"| {label} | {g['backend']} | {g['load_s']:.2f} s | {g['loaded_mb']:.0f} MB | "
                     f"{g['512 px']:.3f} | {g['12 MP']:.3f} | {g['peak_mb']:.0f} MB |")  # fmt: skip
    clip, lite = got.values()
    ratio = ", ".join(f"{clip[k] / lite[k]:.1f}x at {k}" for k in sets)
    text = "\n".join([
        "## What the default detector costs (`benchmarks/default_cost.py`)\n",
        f"- Command: `{shlex.join(['python', 'benchmarks/default_cost.py', *sys.argv[1:]])}`",
        f"- Machine: {machine()}, idle",
        f"- {args.images} JPEG images of each size, one fresh process per detector, the whole scoring path "
        "(decode, up to 2 x 2 native crops, network, head); CLIP's tower already fetched (the first use's "
        "78 MB download is not in these figures)",
        "", *table, "",
        f"- The default costs {ratio} per image what the fallback costs. Peak memory is the process's "
        "maximum while scoring, most of it the 12-MP images decoded in flight (the same for both).",
    ])  # fmt: skip
    replace_section(args.doc, "default-cost", text)
    print(text)


if __name__ == "__main__":
    main()
