"""Features and priors for benchmarks/kshot.py, computed once and cached in its output folder.

`early`: the shipped detector's raw features (its ONNX graph's `features` output, clean crops
averaged per image; `views` augmented one-crop views per image as well). `clip`: CLIP ViT-B/16's
image embedding (INT8 ONNX, experiment only) of a 224-px centre crop after resizing the short
side to 224 px, CLIP's own normalisation.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

POOL = ("art500", "cifake2k", "game450", "museum111", "stylegan200")
SETS = (*POOL, "playground100")
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32).reshape(3, 1, 1)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32).reshape(3, 1, 1)


def frame(data: Path, name: str, cache: Path) -> pd.DataFrame:
    """Usable images of a set: path, y (1 = AI), group (near-duplicate group)."""
    from realorai.data.manifest import load_manifest, save_manifest, scan, usable

    saved = cache / f"manifest-{name}.parquet"
    df = load_manifest(saved) if saved.is_file() else save_manifest(scan(data / name, show_progress=False), saved)
    if not isinstance(df, pd.DataFrame):
        df = load_manifest(saved)
    df = usable(df)
    df = df[df["label"].isin(["ai", "real"])].sort_values("path").reset_index(drop=True)
    return pd.DataFrame(
        {"path": df["path"], "y": (df["label"] == "ai").astype(int), "group": df["dup_group"].astype(str)}
    )


def _cached(path: Path, compute):
    if path.is_file():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def reprocessed(img):
    """Both classes alike: centre square, 512 x 512 (bicubic), JPEG q90. Size, aspect and file
    history then say nothing about the class; what is left is in the pixels."""
    from PIL import Image

    from realorai.detector.augment import jpeg_roundtrip

    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    square = img.crop((left, top, left + side, top + side)).resize((512, 512), Image.Resampling.BICUBIC)
    return jpeg_roundtrip(square, 90)


def early_features(paths: list[str], views: int, reprocess: bool = False) -> dict:
    from realorai.detector.augment import AugmentConfig
    from realorai.detector.score import image_features
    from realorai.inference.detector import Detector

    det = Detector.shipped()
    transform = reprocessed if reprocess else None
    x, xv, _ = image_features(det.model, paths, views, AugmentConfig(), seed=0, show_progress=True, transform=transform)
    return {"x": x, "views": xv.reshape(views, len(paths), -1) if views else np.zeros((0, len(paths), x.shape[1]))}


def multiscale_features(paths: list[str], reprocess: bool = False) -> dict:
    """Lite0's mean and std at every stage plus its pooled last layer (2,848 numbers), ImageNet weights."""
    from realorai.detector.score import image_features
    from realorai.models import create_model

    model = create_model("detector-lite0-multiscale", pretrained=True).eval()
    x, _, _ = image_features(model, paths, 0, None, 0, True, reprocessed if reprocess else None)
    return {"x": x}


def clip_native_features(paths: list[str], onnx: Path, reprocess: bool = False) -> dict:
    """CLIP embeddings of the detector's native-resolution crops (up to 2 x 2 of 224 px, no resize), averaged."""
    import onnxruntime as ort

    from realorai.detector.crops import CropPlan, image_crops
    from realorai.imaging import load_image

    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    out = []
    for i, path in enumerate(paths):
        img = load_image(path)
        crops, _, _ = image_crops(reprocessed(img) if reprocess else img, CropPlan(224, 2))
        x = (crops.astype(np.float32) / 255 - CLIP_MEAN) / CLIP_STD
        out.append(session.run(["image_embeds"], {"pixel_values": x})[0].mean(0))
        if i % 100 == 0:
            print(f"clip-native {i}/{len(paths)}", flush=True)
    return {"x": np.stack(out).astype(np.float64)}


def clip_features(paths: list[str], onnx: Path, reprocess: bool = False) -> dict:
    import onnxruntime as ort
    from PIL import Image

    from realorai.imaging import load_image

    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])

    def prepare(path: str) -> np.ndarray:
        img = load_image(path)
        if reprocess:
            img = reprocessed(img)
        scale = 224 / min(img.size)
        img = img.resize((max(224, round(img.width * scale)), max(224, round(img.height * scale))),
                         Image.Resampling.BICUBIC)  # fmt: skip
        left, top = (img.width - 224) // 2, (img.height - 224) // 2
        arr = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32).transpose(2, 0, 1) / 255
        return (arr - CLIP_MEAN) / CLIP_STD

    out = []
    with ThreadPoolExecutor(2) as pool:
        for i in range(0, len(paths), 16):
            batch = np.stack(list(pool.map(prepare, paths[i : i + 16])))
            out.append(session.run(["image_embeds"], {"pixel_values": batch})[0])
            print(f"clip {i + len(batch)}/{len(paths)}", flush=True)
    return {"x": np.concatenate(out).astype(np.float64)}


def registry_features(name: str, paths: list[str], reprocess: bool = False) -> dict:
    """An extractor of realorai.features on each image's native crops (clean crops only), as adapt reads them."""
    from realorai.detector.score import image_features
    from realorai.features import create_extractor

    x, _, _ = image_features(create_extractor(name), paths, 0, None, 0, True, reprocessed if reprocess else None)
    return {"x": x}


def load_features(
    fs: str, data: Path, cache: Path, run: Path, clip_onnx: Path | None, views: int, reprocess: bool = False
) -> dict:
    """{"frame": {set: DataFrame}, "x": {set: (n, F)}, "views": {set: (V, n, F)}, "priors": {set: LinearHead}}."""
    frames = {name: frame(data, name, cache) for name in SETS}
    if "+" in fs:  # several feature sets side by side; the prior is fitted on the other pool sets
        parts = [load_features(f, data, cache, run, clip_onnx, 0, reprocess) for f in fs.split("+")]
        xs = {name: np.hstack([p["x"][name] for p in parts]) for name in SETS}
        return {"frame": frames, "x": xs, "views": dict.fromkeys(SETS), "priors": fitted_priors(frames, xs)}
    xs, vs = {}, {}
    for name, df in frames.items():
        if fs == "early":
            tag = f"early-{name}-v{views}" + ("-re" if reprocess else "")
            arrays = _cached(cache / f"{tag}.npz", lambda df=df: early_features(df["path"].tolist(), views, reprocess))
            vs[name] = arrays["views"] if views else None
        elif fs == "multiscale":
            tag = f"multiscale-{name}" + ("-re" if reprocess else "")
            paths = df["path"].tolist()
            arrays = _cached(cache / f"{tag}.npz", lambda paths=paths: multiscale_features(paths, reprocess))
        elif fs == "clipnative":
            tag = f"clipnative-{name}" + ("-re" if reprocess else "")
            paths = df["path"].tolist()
            arrays = _cached(
                cache / f"{tag}.npz", lambda paths=paths: clip_native_features(paths, clip_onnx, reprocess)
            )
        elif fs == "clip":
            if clip_onnx is None:
                raise SystemExit("--clip-onnx FILE is needed for the clip features (see the module docstring)")
            tag = f"clip-{name}" + ("-re" if reprocess else "")
            arrays = _cached(
                cache / f"{tag}.npz", lambda df=df: clip_features(df["path"].tolist(), clip_onnx, reprocess)
            )
        elif fs.startswith("clip-b16"):  # the registry's extractors (realorai.features), as adapt --features
            tag = f"{fs}-{name}" + ("-re" if reprocess else "")
            paths = df["path"].tolist()
            arrays = _cached(cache / f"{tag}.npz", lambda paths=paths: registry_features(fs, paths, reprocess))
        else:
            raise SystemExit(
                f"unknown feature set {fs!r}: early | multiscale | clip | clip-b16..., or several joined by +"
            )
        xs[name] = arrays["x"]
    priors = early_priors(run) if fs == "early" else fitted_priors(frames, xs)
    return {"frame": frames, "x": xs, "views": vs, "priors": priors}


def early_priors(run: Path) -> dict:
    """The shipped design's fold without each pool set; the shipped head for playground100."""
    from safetensors.numpy import load_file

    from realorai.detector.adapt import LinearHead, prior_from_state
    from realorai.inference.detector import default_weights
    from realorai.models.checkpoint import read_meta

    heads = json.loads((run / "out_of_source_heads.json").read_text())
    priors = {
        d: LinearHead(np.array(h["mu"]), np.array(h["sigma"]), np.array(h["w"]), float(h["b"]))
        for d, h in heads.items()
        if d in POOL
    }
    path = default_weights()
    priors["playground100"] = prior_from_state(load_file(str(path)), read_meta(path))
    return priors


def fitted_priors(frames: dict, xs: dict) -> dict:
    """A class- and set-balanced logistic regression on the other pool sets' features."""
    from realorai.detector.adapt import LinearHead, fit_toward

    priors = {}
    for target in SETS:
        others = [n for n in POOL if n != target]
        x = np.concatenate([xs[n] for n in others])
        y = np.concatenate([frames[n]["y"].to_numpy() for n in others])
        mu, sigma = x.mean(0), x.std(0) + 1e-6
        zero = LinearHead(mu, sigma, np.zeros(x.shape[1]), 0.0)
        priors[target] = fit_toward(x, y, zero, lam=0.01)
    return priors
