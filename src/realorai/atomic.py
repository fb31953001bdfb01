"""Atomic file output: write to a temporary file beside the target, then rename over it.

A crash mid-write leaves at most a stray ``.tmp`` file, never a half-written target that a
later run would trust.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    # Read once at import, while single-threaded: os.umask can only be read by setting it.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``target`` on success.

    The file gets the usual permissions (0666 less the umask, not mkstemp's 0600) and is
    flushed to disk before the rename, so a crash leaves the old file or the new one, whole.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A short temporary name: a target name near the file system's limit must still fit.
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~UMASK)
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (a run folder) or fail at once: two trainings writing
    one folder would leave its config and weights disagreeing."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                f"{folder}: in use by another realorai process (wait for it, or use another folder)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_resume_settings(out: str | os.PathLike[str], settings: dict, may_change: tuple[str, ...] = ()) -> None:
    """Refuse to resume the run in ``out`` with other settings than its config.json records
    (besides ``may_change``): they would be ignored by the restored state, or mix two experiments."""
    out = Path(out)
    try:
        old = json.loads((out / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{out}: cannot resume, config.json unreadable ({e})") from e
    new = json.loads(json.dumps(_finite(settings)))  # as it was saved: tuples as lists
    changed = sorted(k for k in new if k not in may_change and old.get(k) != new[k])
    if changed:
        diffs = ", ".join(f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in changed)
        raise ValueError(f"{out}: cannot resume with changed settings ({diffs}); start a new run folder")


def check_output_path(target: str | os.PathLike[str]) -> Path:
    """Fail early, before hours of work, if ``target`` cannot be written as a file."""
    target = Path(target)
    if len(os.fsencode(target.name)) > 255:
        raise ValueError(f"{target}: file name longer than 255 bytes")
    if target.is_dir():
        raise ValueError(f"{target}: is a folder; give a file name")
    parent = target.parent
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"{target}: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise ValueError(f"{target}: cannot write in {p} (permission denied)")
            break
    return target


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result to ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    return write_with(target, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    return write_with(target, lambda p: p.write_bytes(data))


def _finite(obj: Any) -> Any:
    """NaN and infinities become null: strict JSON parsers reject them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Strict JSON (``allow_nan=False``): NaN is written as null."""
    return write_text(target, json.dumps(_finite(obj), indent=2, allow_nan=False, default=str) + "\n")
