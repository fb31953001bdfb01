"""Fixtures: tiny images and datasets the tests make themselves (no network, no shared data)."""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch.nn as nn
from PIL import Image

from realorai.models.registry import DataConfig, ModelSpec, register_model

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Exported ONNX graphs are cached by checkpoint hash: the tests' go to a folder of their own
# (subprocesses inherit it), never to the user's ~/.cache.
os.environ["REALORAI_CACHE"] = tempfile.mkdtemp(prefix="realorai-test-cache-")
# The default detector is detector-clip-b16, whose tower comes on first use: the tests never
# download, so they run on the fallback detector-lite0-early, shipped whole, the same on every
# machine. tests/test_default_detector.py checks the choice itself, on a tiny tower.
os.environ["REALORAI_DEFAULT_DETECTOR"] = "lite0"


class TinyCNN(nn.Module):
    """A registered stand-in for the report's 25.8 M-parameter CNN (same layer kinds: conv, ReLU,
    BatchNorm, pooling, dense head with BatchNorm and dropout) for tests of the training machinery."""

    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Dropout(0.2), nn.Linear(16, num_classes)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


TEST_CNN = "test-cnn"
register_model(
    ModelSpec(
        name=TEST_CNN,
        builder=lambda num_classes=2, pretrained=False: TinyCNN(num_classes),
        data_config=DataConfig(input_size=32, resize="squash"),
        description="tests only: a tiny CNN trained like report-cnn",
        preset={"optimizer": "adam", "lr": 1e-2, "epochs": 2, "batch_size": 8},
    )
)


def smooth_image(seed: int, size: int = 64, noise: float = 0.0) -> Image.Image:
    """A distinct image per seed: upsampled 6x6 random colours (stable perceptual hash),
    plus optional per-pixel noise."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    arr = np.asarray(small.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64)
    if noise:
        arr = arr + rng.normal(0, noise, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, depth: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)  # grey, no interlace
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_header_bomb(width: int, height: int) -> bytes:
    """A valid PNG header that claims ``width`` x ``height`` pixels, with almost no data."""
    return _png(width, height, 8, zlib.compress(b"\0" * 16))


def png16(width: int, height: int) -> bytes:
    """A whole 16-bit grey PNG of zeros: a few KB on disk, 2 bytes a pixel decoded (built row by row)."""
    z = zlib.compressobj(9)
    row = b"\0" * (1 + 2 * width)
    return _png(width, height, 16, b"".join(z.compress(row) for _ in range(height)) + z.flush())


def make_dataset(root: Path, per_class: int = 12, size: int = 64) -> Path:
    """A learnable toy dataset: 'ai' images are smooth, 'real' ones carry sensor-like noise."""
    for label, noise, offset in (("ai", 0.0, 0), ("real", 25.0, 1000)):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            smooth_image(offset + i, size, noise).save(folder / f"{label}_{i:03d}.png")
    return root


@pytest.fixture
def toy_dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "toy")


@pytest.fixture(scope="session")
def split_manifest(tmp_path_factory) -> Path:
    """A scanned and split toy dataset, shared by the training tests."""
    from realorai.data.manifest import save_manifest, scan
    from realorai.data.split import split

    root = make_dataset(tmp_path_factory.mktemp("data") / "toy", per_class=14)
    df = split(scan(root, show_progress=False), seed=0)
    path = root.parent / "manifest.parquet"
    save_manifest(df, path)
    return path


@pytest.fixture(scope="session")
def cnn_run(split_manifest, tmp_path_factory) -> Path:
    """The tiny test CNN trained for two epochs on the toy data (under a second)."""
    from realorai.baselines.config import resolve_config
    from realorai.baselines.train import fit

    run = tmp_path_factory.mktemp("runs") / "cnn"
    fit(resolve_config(TEST_CNN, str(split_manifest), epochs=2, batch_size=8), run, show_progress=False)
    return run


@pytest.fixture
def clip_tower(tmp_path, monkeypatch) -> Path:
    """CLIP's weights replaced by a tiny random tower (tests/clip_tiny.py) for this test."""
    pytest.importorskip("onnx")
    from clip_tiny import tiny_tower

    from realorai.features import weights as clip_weights

    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "clip-cache"))
    path = tmp_path / "tiny-clip.onnx"
    tiny_tower(path)
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: path)
    return path


# --- Bank tests on both engines -------------------------------------------------------------
# Every test in BANK_MODULES runs twice: on SQLite files, as written, and on PostgreSQL, where a
# bank file path given to ``Bank`` (by the test, the CLI or the server) becomes a schema of one
# test database. Tests about files themselves (read-only mounts, a full disk, a deleted file,
# version-1 files) are marked ``sqlite_only``.
BANK_MODULES = {"test_bank", "test_bank_v3", "test_bank_exchange", "test_hardening5", "test_streams", "test_refit"}


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (tests/pg.py), or a skip saying why there is none."""
    import pg

    why = pg.missing()
    if why:
        pytest.skip(why)
    server = pg.Server()
    yield server
    server.stop()


def pytest_generate_tests(metafunc):
    # The bank modules say `pytestmark = pytest.mark.usefixtures("bank_engine")`; a test checks
    # that each of BANK_MODULES does (tests/test_bank_v3.py).
    if "bank_engine" in metafunc.fixturenames:
        metafunc.parametrize("bank_engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def bank_engine(request, monkeypatch):
    """The engine banks of this test live on (see BANK_MODULES)."""
    if request.param == "sqlite":
        return "sqlite"
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about SQLite files themselves")
    server = request.getfixturevalue("postgres")
    import hashlib

    from realorai.bank import store
    from realorai.bank.engine import is_url

    original = store.Bank.__init__

    def on_postgres(self, path, create=False, read_only=None):
        if is_url(path):
            return original(self, path, create, read_only)
        schema = "t" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]
        if not create and not server.has_schema(schema):
            raise FileNotFoundError(f"{path}: no such bank (`realorai bank add ... --bank FILE` makes one)")
        return original(self, server.url(schema), create, read_only)

    monkeypatch.setattr(store.Bank, "__init__", on_postgres)
    schema_of = lambda path: "t" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]  # noqa: E731
    monkeypatch.setattr(sys.modules[__name__], "_located", lambda path: server.url(schema_of(path)))
    return "postgresql"


def _located(path) -> str:
    return str(path)


def located(path) -> str:
    """Where a bank test's bank ``path`` lives on this run's engine: the path itself on SQLite, a
    PostgreSQL URL on PostgreSQL (for the processes a test starts, which the patch cannot reach)."""
    return _located(path)
