"""Benchmark: what CLIP block features cost (issue 30, item 5). Seconds per image at 512 px and at
12 MP for the shipped early statistics and the CLIP extractors (decode, 2 x 2 native crops, ONNX
Runtime runs of up to 4 crops, the scoring path's CROPS_PER_RUN); `adapt` of 25 + 25 examples
(game450, the default 4 augmented views, cross-validation included) with each; and with
--light-venv the light install's size with and without the `[clip]` extra (onnx) and the
weights. Writes the RESULTS.md section "clip-cost".

    python benchmarks/clip_cost.py [--images 16] [--light-venv /tmp/realorai-light]

The 12-MP images are a camera photo (cameras162) upscaled to 4000 x 3000 and saved as JPEG q92:
the content does not matter for the cost, the decode of 12 MP does. Run on an idle machine.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from cold_start import light_install  # noqa: E402
from reproduce_report import machine, replace_section  # noqa: E402

EXTRACTORS = ("early", "clip-b16", "clip-b16-b6b9")


def images(folder: Path, n: int) -> dict[str, list[str]]:
    from PIL import Image

    source = sorted((ROOT.parent / "shared" / "data" / "cameras162" / "real").glob("*.jp*g"))
    base = Image.open(source[0]).convert("RGB") if source else Image.effect_noise((640, 480), 40).convert("RGB")
    out = {}
    for label, size in (("512 px", (512, 512)), ("12 MP", (4000, 3000))):
        img = base.resize(size, Image.Resampling.BICUBIC)
        paths = []
        for i in range(n):
            p = folder / f"{label.replace(' ', '')}-{i}.jpg"
            img.save(p, quality=92)
            paths.append(str(p))
        out[label] = paths
    return out


def seconds_per_image(name: str, paths: list[str]) -> float:
    from realorai.detector.score import image_features
    from realorai.features import create_extractor
    from realorai.inference.detector import Detector

    if name == "early":
        det = Detector.shipped()
        det.score(paths[:2])  # warm-up
        t0 = time.perf_counter()
        det.score(paths)
        return (time.perf_counter() - t0) / len(paths)
    extractor = create_extractor(name)
    image_features(extractor, paths[:2])  # warm-up (graph cut and cached on first use)
    t0 = time.perf_counter()
    image_features(extractor, paths)
    return (time.perf_counter() - t0) / len(paths)


def adapt_seconds(features: str, out: Path) -> float | None:
    """Wall seconds of adapting on 25 AI + 25 real game450 images (the first 25 of each, sorted)."""
    from realorai.inference.adapt import adapt
    from realorai.inference.examples import from_folders

    game = ROOT.parent / "shared" / "data" / "game450"
    if not game.is_dir():
        return None
    ai, real = (sorted(p for p in (game / c).iterdir() if p.is_file())[:25] for c in ("ai", "real"))
    examples = from_folders(None, [str(p) for p in ai], [str(p) for p in real])
    t0 = time.perf_counter()
    adapt(examples, out, show_progress=False, log=lambda m: None, features=features)
    return time.perf_counter() - t0


def sizes(venv: Path) -> list[str]:
    from realorai.features.weights import cache_dir

    _, line = light_install(venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    before = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "onnx>=1.15"], check=True)
    after = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    tower = (cache_dir() / "clip-b16" / "clip_encoder.int8.onnx").stat().st_size
    cuts: list[int] = []  # cut graphs are built in memory now, never cached (hardening round 5)
    return [
        f"- Light install: {line}",
        f"- With the `[clip]` extra (onnx): **{after / 2**20:.0f} MB** of packages "
        f"(+{(after - before) / 2**20:.0f} MB); "
        f"the weights in realorai's cache: the INT8 tower {tower / 2**20:.0f} MB, and one graph cut at the last block "
        f"used per block set ({len(cuts)} here, {cuts[0] / 2**20:.0f}-{cuts[-1] / 2**20:.0f} MB each)"
        if cuts
        else f"the INT8 tower in realorai's cache: {tower / 2**20:.0f} MB",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=16, help="images of each size")
    ap.add_argument("--light-venv", type=Path, default=None)
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = images(Path(tmp), args.images)
        table = ["| features | " + " | ".join(f"s / image, {k}" for k in sets) + " |", "|---|---|---|"]
        for name in EXTRACTORS:
            cells = [f"{seconds_per_image(name, paths):.3f}" for paths in sets.values()]
            table.append(f"| `{name}` | " + " | ".join(cells) + " |")
        adapts = {f: adapt_seconds(f, Path(tmp) / f"adapt-{f}") for f in ("early", "clip-b16")}
    said = ", ".join(f"`--features {f}` **{s:.0f} s**" for f, s in adapts.items() if s is not None)
    lead = "- `realorai adapt` of 25 + 25 game450 examples (4 augmented views, its cross-validation included)"
    adapt_line = [f"{lead}: {said}"] if said else []
    extra = sizes(args.light_venv) if args.light_venv else []
    text = "\n".join([
        "## What CLIP block features cost (`benchmarks/clip_cost.py`)\n",
        f"- Command: `{shlex.join(['python', 'benchmarks/clip_cost.py', *sys.argv[1:]])}`",
        f"- Machine: {machine()}, idle",
        f"- {args.images} JPEG images of each size, one process, decode + up to 2 x 2 native 224-px crops + features "
        "(`early`: the shipped detector's whole scoring on ONNX Runtime; CLIP: INT8 ONNX, runs of up to 4 crops)",
        "", *table, "", *adapt_line, *extra,
    ])  # fmt: skip
    replace_section(args.doc, "clip-cost", text)
    print(text)


if __name__ == "__main__":
    main()
