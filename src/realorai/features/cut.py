"""CLIP's graph cut at its blocks, kept in realorai's cache only when it is a cut written here.

Cutting the tower needs the onnx package, and importing it alone costs about 0.5 s of a cold first
verdict (the default detector reads block 6). So a cut is cached, but never trusted as a file:
``KNOWN`` holds, in code, the sha256 of each cut this realorai makes of the checked tower (onnx
1.23.2; the cut is byte-for-byte the same from run to run). A cached cut is used only when its
bytes hash to that value, and it is written only when a fresh cut does, so a file swapped in the
cache is never run, and a cut by another onnx version (another sha256) is simply made in memory
each time, as before. The cut's sha256 stands for the tower's: ``KNOWN`` is keyed by both.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from realorai.features.weights import CLIP_B16, cache_dir, with_block_outputs

KNOWN = {  # (tower sha256, blocks) -> sha256 of the cut graph's bytes
    (CLIP_B16["sha256"], (6,)): "9e4ce988246212522388edab50add34e8096ad144a5fda806bbf9c66e345dde0",
    (CLIP_B16["sha256"], (5,)): "61d8bf2cd29d2e3bee76c856f252d97592e999daab54d0fc7a5cf340140de249",
    (CLIP_B16["sha256"], (9,)): "1c103097830a8a991804a988e3bbd05ef88c8d67b0a73feb812bb5c1b830cea6",
    (CLIP_B16["sha256"], (6, 9)): "cf089ccb61c6cfae9c4a1cc5c106a04c1e40e568b7e37689b11b4d42ff158a19",
    (CLIP_B16["sha256"], tuple(range(11))): "45a411f9f249cbb65f4864867141295c54314a797eb0bc013db5f027576b3394",
}


def cached_cut(tower_sha256: str, blocks: tuple[int, ...]) -> bytes | None:
    """The cached cut of ``blocks``, if the cache holds one whose bytes are a known cut; else None."""
    want = KNOWN.get((tower_sha256, tuple(blocks)))
    path = _path(want) if want else None
    if path is None or not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == want else None


def cut(tower: bytes, tower_sha256: str, blocks: tuple[int, ...], names: list[str]) -> bytes:
    """The cut of ``tower`` (whose sha256 the caller computed) at ``names``; kept when it is known."""
    from realorai.atomic import write_bytes

    graph = with_block_outputs(tower, names)
    want = KNOWN.get((tower_sha256, tuple(blocks)))
    if want and hashlib.sha256(graph).hexdigest() == want:
        with contextlib.suppress(OSError):  # a read-only cache: cut again next time
            write_bytes(_path(want), graph)
    return graph


def _path(digest: str) -> Path:
    return cache_dir() / "clip-b16" / f"cut-{digest[:16]}.onnx"
