"""taef2: a tiny latent autoencoder distilled from FLUX.2's (madebyollin/taesd, MIT), written
here from the architecture its state dicts index; the weights are loaded from a folder.

Why: every latent-diffusion generator shows its images through such a decoder, so a real photo
passed through encoder and decoder keeps its content and gains the decoder's traces. Pairs of a
real image and its reconstruction differ only by those traces (aligned datasets, Rajan et al.
2025; DRCT, 2024), the hardest and cleanest fakes a detector can train on.

Weights: ``--weights DIR`` holding ``taef2_encoder.pth`` and ``taef2_decoder.pth``, else the
cache (``~/.cache/realorai/taef2``), which ``download_weights`` fills from the upstream
repository at a pinned commit, each file checked by its sha256. Credit: Ollin Boer Bohan,
taesd (MIT); keep its LICENSE with the weights.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from realorai.atomic import write_bytes
from realorai.hashing import sha256_file

UPSTREAM = "https://raw.githubusercontent.com/madebyollin/taesd/5cccb12dc72074a4be35680c3b108548a7c69978/"
FILES = {
    "taef2_encoder.pth": "10a4e1021e89d7551eaf161352da8dbd0b1aa83872ae28b150c1df1ce2f147b6",
    "taef2_decoder.pth": "0a44a31e1ae59eb9dbf9359d24942fd3ef5928162c1800d97a28c61d51be0ab5",
}
LATENT_CHANNELS, WIDTH, SCALE = 32, 64, 8


def _conv(c_in: int, c_out: int, bias: bool = True, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)


class Block(nn.Module):
    """ReLU(conv(x') + x') with x' = x + pool(x) where the block has ``pool`` (the 1/8-scale ones)."""

    def __init__(self, c: int = WIDTH, pool: bool = False) -> None:
        super().__init__()
        self.conv = nn.Sequential(_conv(c, c), nn.ReLU(), _conv(c, c), nn.ReLU(), _conv(c, c))
        if pool:
            self.pool = nn.Sequential(
                nn.Conv2d(c, 4 * c, 1, bias=False),
                nn.GroupNorm(4, 4 * c),
                nn.ReLU(),
                nn.Conv2d(4 * c, c, 1, bias=False),
            )
        else:
            self.pool = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return torch.relu(self.conv(x) + x)


class Clamp(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z / 3) * 3


def encoder() -> nn.Sequential:
    """RGB in [0, 1] (N, 3, H, W) -> latent (N, 32, H/8, W/8)."""
    layers: list[nn.Module] = [_conv(3, WIDTH), Block()]
    for stage in range(3):
        pool = stage == 2
        layers += [_conv(WIDTH, WIDTH, bias=False, stride=2), Block(pool=pool), Block(pool=pool), Block(pool=pool)]
    return nn.Sequential(*layers, _conv(WIDTH, LATENT_CHANNELS))


def decoder() -> nn.Sequential:
    """Latent (N, 32, h, w) -> RGB (N, 3, 8h, 8w), clamped to [0, 1] by :func:`reconstruct`."""
    layers: list[nn.Module] = [Clamp(), _conv(LATENT_CHANNELS, WIDTH), nn.ReLU()]
    layers += [Block(pool=True) for _ in range(3)]
    for stage in range(3):
        blocks = 1 if stage == 2 else 3
        layers += [nn.Upsample(scale_factor=2), _conv(WIDTH, WIDTH, bias=False), *[Block() for _ in range(blocks)]]
    return nn.Sequential(*layers, _conv(WIDTH, 3))


def cache_dir() -> Path:
    from realorai.install import cache_dir as root

    return root() / "taef2"


def download_weights(dest: Path | None = None, timeout: float = 60.0) -> Path:
    """Fetch both files from the pinned upstream commit into ``dest`` (the cache), checked by sha256."""
    dest = dest or cache_dir()
    for name, digest in FILES.items():
        if (dest / name).is_file() and sha256_file(dest / name) == digest:
            continue
        with urllib.request.urlopen(UPSTREAM + name, timeout=timeout) as r:  # noqa: S310 (a fixed https URL)
            data = r.read()
        path = write_bytes(dest / f"{name}.partial", data)
        if sha256_file(path) != digest:
            path.unlink()
            raise ValueError(f"{UPSTREAM + name}: sha256 does not match the pinned {digest[:12]}...; not used")
        path.replace(dest / name)
    return dest


def weights_dir(weights: str | Path | None = None) -> Path:
    """The folder holding both files: ``weights`` when given, else the cache; a clear error otherwise."""
    folder = Path(weights) if weights else cache_dir()
    missing = [n for n in FILES if not (folder / n).is_file()]
    if missing:
        hint = (
            ""
            if weights
            else " (pass --weights DIR, or download them once with `realorai data reconstruct --download`)"
        )
        raise FileNotFoundError(f"{folder}: taef2 weights missing: {', '.join(missing)}{hint}")
    return folder


class TAEF2(nn.Module):
    """The autoencoder: ``reconstruct`` maps uint8 RGB to its decoded copy, the same size."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder(), decoder()

    @classmethod
    def load(cls, weights: str | Path | None = None) -> TAEF2:
        folder = weights_dir(weights)
        net = cls()
        for part, name in ((net.encoder, "taef2_encoder.pth"), (net.decoder, "taef2_decoder.pth")):
            state = torch.load(folder / name, map_location="cpu", weights_only=True)
            try:
                part.load_state_dict(state)
            except RuntimeError as e:
                raise ValueError(f"{folder / name}: not taef2 weights ({str(e).splitlines()[0]})") from e
        return net.eval()

    @torch.no_grad()
    def reconstruct(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3), H and W multiples of 8 -> uint8 (H, W, 3): encoded, decoded, rounded."""
        h, w = rgb.shape[:2]
        if h % SCALE or w % SCALE:
            raise ValueError(f"taef2 needs sides that are multiples of {SCALE}, got {w}x{h} (crop first)")
        x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0
        y = self.decoder(self.encoder(x)).clamp(0, 1)
        return (y[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def crop_to_multiple(img: Image.Image, multiple: int = SCALE) -> Image.Image:
    """The centre crop whose sides are multiples of ``multiple`` (never padding: black borders leave traces)."""
    w, h = img.width // multiple * multiple, img.height // multiple * multiple
    if w == 0 or h == 0:
        raise ValueError(f"image of {img.width}x{img.height} is smaller than {multiple} px")
    left, top = (img.width - w) // 2, (img.height - h) // 2
    return img.crop((left, top, left + w, top + h))
