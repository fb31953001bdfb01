"""Intermediate blocks of other ViT image towers, through the libraries' own APIs and caches.

For users with internet (or a filled cache): any CLIP-like tower of Hugging Face ``transformers``
(CLIP, SigLIP) or of ``open_clip``, named so that the name alone rebuilds it:

    hf:openai/clip-vit-large-patch14@12          transformers, block 12 (0-based)
    hf:google/siglip-base-patch16-224@6+9        blocks 6 and 9 side by side
    open_clip:ViT-L-14/laion2b_s32b_b82k@12      open_clip model / pretrained tag

Without ``@`` the middle block is read. Weights come from the library's usual download and cache
(``HF_HOME``, open_clip's ``cache_dir``); nothing realorai ships. Features are what the ONNX
extractor gives: per 224-px (the tower's own size) native-resolution crop and block, the class
token (where the tower has one) and the mean of the patch tokens; normalised with the mean and std
the library's own preprocessing uses. ``weights_sha256`` hashes the tower's state dict, so a
checkpoint refuses other weights under the same name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from realorai.features.registry import ExtractorUnavailable, create_extractor, register, register_family
from realorai.models.registry import DataConfig

RUN = 8  # crops per forward pass


@dataclass
class Tower:
    """What the library gives: the module, a forward to the chosen blocks' token streams, and the
    preprocessing the library itself would apply."""

    module: object
    blocks_of: object  # (x float (N, 3, S, S), blocks) -> list of (N, L, D) tensors
    depth: int
    prefix_tokens: int  # 1: a class token first; 0: patch tokens only (SigLIP)
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: dict


def parse(spec: str) -> tuple[str, tuple[int, ...] | None]:
    """'repo@6+9' -> ('repo', (6, 9)); no '@': (spec, None), the middle block."""
    where, sep, blocks = spec.rpartition("@")
    if not sep:
        return spec, None
    try:
        return where, tuple(int(b) for b in blocks.split("+"))
    except ValueError as e:
        raise ValueError(f"{spec!r}: blocks after '@' are 0-based numbers joined by '+', e.g. @6 or @6+9") from e


def state_sha256(module) -> str:
    """sha256 over the state dict (names, dtypes, bytes): the weights, whatever file they came in."""
    import torch

    h = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{key}:{t.dtype}:{tuple(tensor.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())  # raw bytes: bfloat16 too
    return h.hexdigest()


class TowerBlocks:
    """Features of ``blocks`` of a torch ViT tower on native-resolution crops."""

    backend = "torch"

    def __init__(self, name: str, tower: Tower, blocks: tuple[int, ...] | None) -> None:
        blocks = blocks if blocks is not None else (tower.depth // 2,)
        bad = [b for b in blocks if not 0 <= b < tower.depth]
        if bad:
            raise ValueError(f"{name}: block {bad[0]} does not exist; the tower has blocks 0-{tower.depth - 1}")
        self.name, self.tower, self.blocks = name, tower, tuple(blocks)
        self.weights_sha256 = state_sha256(tower.module)
        self.data_config = DataConfig(input_size=tower.size, mean=tower.mean, std=tower.std, interpolation="bicubic",
                                      resize="crops", crop_grid=2)  # fmt: skip
        probe = self._tokens(np.zeros((1, 3, tower.size, tower.size), np.uint8))
        self.num_features = sum(f.shape[1] for f in probe)

    def eval(self) -> TowerBlocks:
        return self

    def describe(self) -> dict:
        """What a checkpoint records to rebuild these features anywhere."""
        tokens = "class token + mean of patch tokens" if self.tower.prefix_tokens else "mean of patch tokens"
        return {"name": self.name, "blocks": list(self.blocks), "tokens": tokens,
                "crops": f"up to 2 x 2 native-resolution {self.tower.size}-px crops, averaged per image",
                "weights_sha256": self.weights_sha256, "weights": self.tower.source,
                "data_config": self.data_config.to_dict(), "num_features": self.num_features}  # fmt: skip

    def _tokens(self, crops: np.ndarray) -> list[np.ndarray]:
        import torch

        mean = torch.tensor(self.tower.mean, dtype=torch.float32).reshape(1, 3, 1, 1)
        std = torch.tensor(self.tower.std, dtype=torch.float32).reshape(1, 3, 1, 1)
        x = (torch.from_numpy(np.ascontiguousarray(crops)).float() / 255 - mean) / std
        with torch.no_grad():
            streams = self.tower.blocks_of(x, self.blocks)
        p = self.tower.prefix_tokens
        parts = []
        for s in streams:
            s = s.float()
            parts.append(torch.cat([s[:, 0], s[:, p:].mean(1)], 1) if p else s.mean(1))
        return [t.numpy() for t in parts]

    def crop_features(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (N, 3, S, S) -> (N, F) float64."""
        out = [np.concatenate(self._tokens(crops[i : i + RUN]), axis=1) for i in range(0, len(crops), RUN)]
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, self.num_features))


def _needs(module: str, extra: str):
    try:
        import torch  # noqa: F401

        return __import__(module)
    except ImportError as e:
        raise ExtractorUnavailable(f"{module} is not installed: pip install 'realorai[{extra}]'") from e


def hf_tower(repo: str) -> Tower:
    """A CLIP or SigLIP vision tower by its Hugging Face id (or a local folder), with its processor's
    mean and std. Offline and not cached: ExtractorUnavailable naming the repo."""
    transformers = _needs("transformers", "hf")
    transformers.utils.logging.disable_progress_bar()  # realorai draws its own (on stderr)
    try:
        config = transformers.AutoConfig.from_pretrained(repo)
        kind = config.model_type
        classes = {"clip": "CLIPVisionModel", "clip_vision_model": "CLIPVisionModel",
                   "siglip": "SiglipVisionModel", "siglip_vision_model": "SiglipVisionModel"}  # fmt: skip
        if kind not in classes:
            raise ValueError(f"hf:{repo}: a {kind} model; realorai reads CLIP and SigLIP vision towers")
        model = getattr(transformers, classes[kind]).from_pretrained(repo).eval()
        processor = transformers.AutoImageProcessor.from_pretrained(repo)
    except OSError as e:
        raise ExtractorUnavailable(f"hf:{repo}: not in the Hugging Face cache and not downloadable here ({e})") from e
    vision = getattr(config, "vision_config", config)

    def blocks_of(x, blocks):
        hidden = model(pixel_values=x, output_hidden_states=True).hidden_states  # [0]: the embeddings
        return [hidden[b + 1] for b in blocks]

    source = {"library": "transformers", "repo": repo, "revision": getattr(config, "_commit_hash", None)}
    return Tower(model, blocks_of, vision.num_hidden_layers, 1 if kind.startswith("clip") else 0,
                 vision.image_size, tuple(processor.image_mean), tuple(processor.image_std), source)  # fmt: skip


def open_clip_tower(spec: str) -> Tower:
    """An open_clip ViT image tower, 'MODEL/PRETRAINED' (a tag open_clip knows, or a checkpoint file)."""
    open_clip = _needs("open_clip", "open-clip")
    model_name, _, pretrained = spec.partition("/")
    if not pretrained:  # open_clip would build random weights: features of nothing
        raise ValueError(f"open_clip:{spec}: name the weights as MODEL/PRETRAINED (e.g. ViT-L-14/laion2b_s32b_b82k)")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained)
    except RuntimeError as e:  # open_clip raises RuntimeError for unknown names and failed downloads
        raise ExtractorUnavailable(f"open_clip:{spec}: {e}") from e
    visual = model.visual.eval()
    if not hasattr(visual, "forward_intermediates") or not hasattr(visual, "transformer"):
        raise ValueError(f"open_clip:{spec}: not a ViT tower with intermediate blocks")
    norm = next(t for t in preprocess.transforms if type(t).__name__ == "Normalize")

    def blocks_of(x, blocks):
        out = visual.forward_intermediates(x, indices=list(blocks), stop_early=True, intermediates_only=True,
                                           output_fmt="NLC", output_extra_tokens=True)  # fmt: skip
        import torch

        return [
            torch.cat([c, p], 1)
            for c, p in zip(out["image_intermediates_prefix"], out["image_intermediates"], strict=True)
        ]

    size = visual.image_size[0] if isinstance(visual.image_size, tuple) else visual.image_size
    source = {"library": "open_clip", "model": model_name, "pretrained": pretrained}
    return Tower(visual, blocks_of, len(visual.transformer.resblocks), 1, int(size), tuple(norm.mean),
                 tuple(norm.std), source)  # fmt: skip


@register_family("hf", "hf:REPO[@BLOCKS]", "a transformers CLIP/SigLIP tower's blocks (Hugging Face cache)")
def _hf(name: str, rest: str) -> TowerBlocks:
    repo, blocks = parse(rest)
    return TowerBlocks(name, hf_tower(repo), blocks)


@register_family("open_clip", "open_clip:MODEL/PRETRAINED[@BLOCKS]", "an open_clip ViT tower's blocks (its cache)")
def _open_clip(name: str, rest: str) -> TowerBlocks:
    spec, blocks = parse(rest)
    return TowerBlocks(name, open_clip_tower(spec), blocks)


# Names for the towers worth trying first (downloaded by the libraries on first use).
ALIASES = {
    "clip-l14": ("hf:openai/clip-vit-large-patch14@12", "CLIP ViT-L/14 block 12 of 24 (transformers; 1.7 GB)"),
    "siglip-b16": ("hf:google/siglip-base-patch16-224@6", "SigLIP B/16 block 6 (transformers; patch tokens only)"),
    "clip-b16-fp32": ("hf:openai/clip-vit-base-patch16@6", "the clip-b16 features at full precision (transformers)"),
}
for _alias, (_target, _why) in ALIASES.items():
    register(_alias, _why)(lambda t=_target, a=_alias: _rename(create_extractor(t), a))


def _rename(extractor: TowerBlocks, name: str) -> TowerBlocks:
    extractor.name = name
    return extractor
