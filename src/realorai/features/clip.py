"""CLIP ViT-B/16's intermediate blocks on native-resolution crops, on ONNX Runtime.

Why intermediate blocks: CLIP's final embedding is built to name what a picture shows; the
residual stream of its middle blocks still carries how the picture was made, and it was what
carried to unseen sources when this project screened it (docs/DETECTOR.md). Why native crops:
resizing erases the traces a generator leaves (Corvi et al. 2023) and CLIP's own resize view read
image sizes on one set. Each image gives up to 2 x 2 crops of 224 px at native resolution (the
detector's crop plan), CLIP's normalisation; per crop and chosen block, the class token and the
mean of the 196 patch tokens (768 each); the crops' features are averaged per image by the
scoring code, as for every extractor.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from realorai.features import cut, weights
from realorai.features.registry import ExtractorUnavailable, register
from realorai.features.weights import CLIP_B16
from realorai.models.registry import DataConfig

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's own (open_clip OPENAI_DATASET_MEAN)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
BLOCK = "/vision_model/encoder/layers.{}/Add_1_output_0"  # the residual stream after block k (0-based)
# One crop per ONNX Runtime call. The INT8 tower quantizes its activations dynamically: each run
# computes its scales over the whole batch, so a crop's features moved with the other crops in its
# run (11% relative L2 for one crop beside three others, measured on the real tower). One crop a
# run makes an image's features its own, whatever it is batched with (cost: RESULTS.md "clip-cost").
RUN = 1


class ClipBlocks:
    """Features of CLIP blocks ``blocks`` (0-based, as the graph names its layers)."""

    backend = "onnx"

    def __init__(self, name: str, blocks: tuple[int, ...], onnx_path: Path | None = None,
                 sha256: str | None = None) -> None:  # fmt: skip
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ExtractorUnavailable("the CLIP extractors run on ONNX Runtime: pip install onnxruntime") from e
        self.name, self.blocks = name, tuple(blocks)
        self.outputs = [BLOCK.format(b) for b in self.blocks]
        # The real tower's cut, from the cache where it verifies against a sha256 written in code
        # (features.cut: no onnx import, no 85 MB read); else the tower, read once: the bytes cut
        # and run are the bytes hashed here, which every head on these features checks.
        graph = cut.cached_cut(CLIP_B16["sha256"], self.blocks) if onnx_path is None and sha256 is None else None
        if graph is not None:
            self.weights_sha256 = CLIP_B16["sha256"]
        else:
            source = onnx_path if onnx_path is not None else weights.clip_onnx()
            data = Path(source).read_bytes()
            self.weights_sha256 = hashlib.sha256(data).hexdigest()
            if sha256 is not None and sha256 != self.weights_sha256:
                raise ExtractorUnavailable(f"{source}: sha256 {self.weights_sha256[:16]}..., not the expected "
                                           f"{sha256[:16]}...: a different or damaged file")  # fmt: skip
            graph = cut.cut(data, self.weights_sha256, self.blocks, self.outputs)
            del data
        self.session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.data_config = DataConfig(input_size=224, mean=CLIP_MEAN, std=CLIP_STD, interpolation="bicubic",
                                      resize="crops", crop_grid=2)  # fmt: skip
        width = self.session.run(self.outputs[:1], {self.input: np.zeros((1, 3, 224, 224), np.float32)})[0].shape[-1]
        self.num_features = 2 * width * len(self.blocks)

    def eval(self) -> ClipBlocks:
        return self

    def describe(self) -> dict:
        """What a checkpoint records to rebuild these features anywhere."""
        return {"name": self.name, "blocks": list(self.blocks), "tokens": "class token + mean of patch tokens",
                "crops": "up to 2 x 2 native-resolution 224-px crops, averaged per image",
                "runs": "one crop per ONNX Runtime run (dynamic quantization: batch-independent features)",
                "weights_sha256": self.weights_sha256, "weights": CLIP_B16["upstream"], "export": CLIP_B16["export"],
                "data_config": self.data_config.to_dict(), "num_features": self.num_features}  # fmt: skip

    def crop_features(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (N, 3, 224, 224) -> (N, F) float64."""
        mean = np.asarray(CLIP_MEAN, np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(CLIP_STD, np.float32).reshape(1, 3, 1, 1)
        out = []
        for start in range(0, len(crops), RUN):
            x = (crops[start : start + RUN].astype(np.float32) / 255 - mean) / std
            tokens = self.session.run(self.outputs, {self.input: x})
            out.append(np.concatenate([np.concatenate([t[:, 0], t[:, 1:].mean(1)], axis=1) for t in tokens], axis=1))
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, self.num_features))


for _name, _blocks, _why in (
    ("clip-b16", (6,), "CLIP ViT-B/16 block 6, class + mean patch token, native crops (few-shot default)"),
    ("clip-b16-b9", (9,), "CLIP ViT-B/16 block 9 (the screening's best zero-shot block)"),
    ("clip-b16-b6b9", (6, 9), "CLIP ViT-B/16 blocks 6 and 9 side by side (3,072 values)"),
    ("clip-b16-b5", (5,), "CLIP ViT-B/16 block 5 (the best single block of the pool's LODO)"),
    ("clip-b16-all", tuple(range(11)), "CLIP ViT-B/16 blocks 0-10 side by side (16,896 values; the whole tower)"),
):
    register(_name, _why)(lambda onnx_path=None, sha256=None, n=_name, b=_blocks: ClipBlocks(n, b, onnx_path, sha256))
