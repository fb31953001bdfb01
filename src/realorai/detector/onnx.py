"""The detector as an ONNX graph, run by ONNX Runtime on the CPU.

The exported graph takes what the crop plan produces, uint8 crops ``(N, 3, S, S)`` RGB, and
returns each crop's calibrated logit of P(AI) ``(N,)``: scaling and mean/std normalisation are
inside the graph, so a caller only cuts crops. The contract (input size, mean/std, crop plan,
how crop logits become P(AI), the threshold) is written into the file's metadata under the key
``realorai``, so the file is usable without realorai or torch. Opset 17, dynamic batch axis.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

OPSET = 17
META_KEY = "realorai"
# What of the checkpoint's metadata travels in the graph: enough for rows (the tiers) and provenance.
ONNX_META = ("train_datasets", "train_fingerprint", "temperature", "saved_at", "reliability", "adapted")


def contract(meta: dict, data_config: dict, source_sha256: str = "", features: int = 0) -> dict:
    """What a caller needs to use the graph, stored in its metadata."""
    return {
        "format": "realorai-onnx/1",
        "model": meta.get("model", ""),
        "input": {"name": "crops", "dtype": "uint8", "layout": "NCHW, RGB, 0-255", "size": data_config["input_size"]},
        "normalisation": {"mean": data_config["mean"], "std": data_config["std"], "note": "inside the graph"},
        "output": {"name": "logit", "meaning": "calibrated logit of P(AI) per crop"},
        # A frozen design's raw features per crop (0: none), what an adapted head reads.
        "features": {"name": "features", "size": features} if features else None,
        "crop_plan": {"size": data_config["input_size"], "grid": data_config["crop_grid"]},
        "aggregate": "P(AI) of an image = sigmoid(mean of its crops' logits)",
        "threshold": float(meta.get("threshold", 0.5)),
        "data_config": data_config,
        "opset": OPSET,
        "meta": {k: meta[k] for k in ONNX_META if k in meta},
        # The sha256 of the checkpoint this graph was exported from: a cached or shipped graph is
        # used for a checkpoint only when this matches.
        "source_sha256": source_sha256,
    }


def export_bytes(model, meta: dict, source_sha256: str = "") -> bytes:
    """The ONNX file of a torch detector, with its contract in the metadata. A detector whose
    features come from another runtime (``ModelSpec.onnx_export`` false) is refused."""
    import onnx
    import torch

    from realorai.models import get_spec

    if meta.get("model") and not get_spec(meta["model"]).onnx_export:
        raise ValueError(f"{meta['model']}: its features come from another runtime; use the checkpoint itself")

    cfg = model.data_config

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = model
            # preprocess.normalize's arithmetic, with mean/std as buffers so that tracing keeps them.
            self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(cfg.std).view(1, 3, 1, 1))

        def forward(self, crops: torch.Tensor):
            x = (crops.float() / 255.0 - self.mean) / self.std
            if with_features:  # a frozen design: its features too, for heads adapted on them
                f = self.net.features(x)
                return self.net.logit(f), f
            return self.net(x)[:, 1]

    model = model.cpu().eval()
    with_features = hasattr(model, "features") and hasattr(model, "logit") and hasattr(model, "num_features")
    size = cfg.input_size
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            Graph().eval(),
            (torch.zeros(2, 3, size, size, dtype=torch.uint8),),
            buf,
            # The TorchScript exporter (deprecated since torch 2.9, present in 2.14): 0.7 s here, where
            # the torch.export one takes ~10 s and needs onnxscript.
            dynamo=False,
            opset_version=OPSET,
            input_names=["crops"],
            output_names=["logit", "features"] if with_features else ["logit"],
            dynamic_axes={"crops": {0: "n"}, "logit": {0: "n"}, **({"features": {0: "n"}} if with_features else {})},
        )
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    features = model.num_features if with_features else 0
    entry.key, entry.value = META_KEY, json.dumps(contract(meta, cfg.to_dict(), source_sha256, features))
    proto.producer_name = "realorai"
    return proto.SerializeToString()


class OnnxCropModel:
    """A detector run by ONNX Runtime: ``data_config`` and ``crop_logits(uint8 crops)``, like the
    torch model the scoring code otherwise holds."""

    def __init__(self, model: bytes | str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        from realorai.models.registry import DataConfig

        opts = ort.SessionOptions()
        # No busy-waiting between runs: the decoding threads need those cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The arena keeps the peak of the largest run for the life of the process (1 GB after one
        # run of 64 crops), so runs are never larger than score.CROPS_PER_RUN crops (~65 MB); it
        # stays on: without it each run allocates anew, 2.2x slower (17.6 against 38.7 images/s).
        if threads:
            opts.intra_op_num_threads = threads
        from realorai.models.meta_check import check_data_config, check_meta

        source = model if isinstance(model, bytes) else str(model)
        name = "ONNX bytes" if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # InvalidProtobuf, InvalidGraph...: not a model ONNX Runtime can run
            first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            raise ValueError(f"{name}: neither a realorai checkpoint (safetensors) nor an ONNX graph ({first})") from e
        raw = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise ValueError(f"{name}: an ONNX graph, but not a realorai ONNX detector (no '{META_KEY}' metadata)")
        try:
            self.contract = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise ValueError(f"{name}: its '{META_KEY}' metadata is not JSON ({type(e).__name__})") from e
        if (not isinstance(self.contract, dict) or not isinstance(self.contract.get("data_config"), dict)
                or not isinstance(self.contract.get("meta") or {}, dict)):  # fmt: skip
            raise ValueError(f"{name}: its '{META_KEY}' metadata lacks data_config or meta: a broken or crafted graph")
        check_data_config(name, self.contract["data_config"])
        check_meta(name, {"model": self.contract.get("model", ""), "threshold": self.contract.get("threshold", 0.5),
                          **(self.contract.get("meta") or {})})  # fmt: skip
        self.data_config = DataConfig.from_dict(self.contract["data_config"])

    def eval(self) -> OnnxCropModel:
        return self

    def crop_logits(self, crops: np.ndarray) -> np.ndarray:
        return self.session.run(["logit"], {"crops": np.ascontiguousarray(crops, dtype=np.uint8)})[0]

    @property
    def num_features(self) -> int:
        return (self.contract.get("features") or {}).get("size", 0)

    def crop_features(self, crops: np.ndarray) -> np.ndarray:
        """Raw features per crop (a frozen design's graph exported since issue 23)."""
        if not self.num_features:
            raise ValueError("this ONNX graph has no features output (export it again with realorai 0.1 or later)")
        return self.session.run(["features"], {"crops": np.ascontiguousarray(crops, dtype=np.uint8)})[0]
