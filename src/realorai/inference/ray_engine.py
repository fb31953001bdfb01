"""Batch scoring on Ray Data: ``realorai predict --engine ray SOURCE -o results.parquet``.

Ray Data spreads the paths over actors, each holding one loaded detector (a stateful class in
``map_batches``); each actor reads its files itself (local paths or any pyarrow filesystem URI:
s3://, gs://, hdfs://...), so a file that cannot be read is an error row, not a failed job.
The driver commits each scored block as a chunk of the resumable scan (``realorai.inference.batch``), so
a killed job resumed with ``--resume`` ends with every file exactly once, and the output has the
same columns as the local engine's. On a cluster: ``--ray-address ray://HEAD:10001`` (or
RAY_ADDRESS); alone, Ray starts a local instance on this machine's cores.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from realorai.imaging import IMAGE_EXTENSIONS, Upload
from realorai.inference.inputs import Found, find_inputs

LIST_SUFFIXES = (".parquet", ".csv")  # a table of paths, column "path"


def _is_uri(s: str) -> bool:
    return "://" in s and not s.startswith("file://")


def _source(path: str):
    """What an actor scores for ``path``: a local file as a path (its header is checked before a
    byte of pixels is read, as in the local engine), a URI's bytes only after its size is checked
    against the decode budget (a compressed file larger than that cannot decode within it)."""
    if not _is_uri(path):
        return path.removeprefix("file://")
    import pyarrow.fs as pafs

    from realorai import limits

    fs, inner = pafs.FileSystem.from_uri(path)
    size, budget = fs.get_file_info(inner).size, limits.current().max_decoded_bytes
    if size is not None and size > budget:
        raise ValueError(f"{size / 1e6:,.0f} MB file exceeds the decode budget of {budget / 1e6:,.0f} MB")
    with fs.open_input_stream(inner) as f:
        return Upload(path, f.read())


def list_sources(inputs: list[str], exclude: list[tuple[str, str]] = ()) -> Found:
    """Folders, globs, files, URIs and Parquet/CSV lists of paths -> what was found (local paths
    under ``exclude``, a run's own outputs, are left out)."""
    import pandas as pd

    files: list[str] = []
    local: list[str] = []
    errors: dict[str, str] = {}
    for item in inputs:
        if item.lower().endswith(LIST_SUFFIXES):
            try:
                table = pd.read_parquet(item) if item.lower().endswith(".parquet") else pd.read_csv(item)
                files += table["path"].astype(str).tolist()
            except (OSError, KeyError, ValueError) as e:
                errors[item] = f"cannot read a list of paths (a 'path' column): {type(e).__name__}: {e}"
        elif _is_uri(item):
            import pyarrow.fs as pafs

            try:
                fs, inner = pafs.FileSystem.from_uri(item)
                info = fs.get_file_info(inner)
                if info.type == pafs.FileType.Directory:
                    found = fs.get_file_info(pafs.FileSelector(inner, recursive=True))
                    scheme = item.split("://", 1)[0]
                    files += sorted(
                        f"{scheme}://{f.path}"
                        for f in found
                        if f.type == pafs.FileType.File and Path(f.path).suffix.lower() in IMAGE_EXTENSIONS
                    )
                else:
                    files.append(item)
            except Exception as e:
                errors[item] = f"cannot list {item}: {type(e).__name__}: {e}"
        else:
            local.append(item)
    found = find_inputs(local, exclude)
    return Found(list(dict.fromkeys(files + found.files)), {**errors, **found.missing}, found.skipped)


def _trust_origin(trust) -> str | None:
    """The ``--c2pa-trust`` value an actor resolves again: None for the default list."""
    from realorai.provenance.trust import SIGNERS, TrustAnchors, active_dir

    if not isinstance(trust, TrustAnchors):
        return None if trust is None else str(trust)
    return None if trust.origin == str(active_dir() / SIGNERS) else trust.origin


class Scorer:
    """One per Ray actor: loads the detector once, then scores batches of paths."""

    def __init__(self, model: str | None, backend: str, options: dict) -> None:
        from realorai.inference.detector import Detector
        from realorai.provenance import resolve

        self.detector = Detector.load(model, "cpu", backend)
        # Trust anchors travel as their origin (None: this node's default list), not as PEM text:
        # small constructor arguments stay out of Ray's object store.
        self.options = {**options, "c2pa_trust": resolve(options.get("c2pa_trust"))}

    def __call__(self, batch: dict) -> dict:
        from realorai.inference.analyze import analyze
        from realorai.inference.rows import error_row

        sources, rows_by_index = [], {}
        for i, path in enumerate(batch["path"]):
            path = str(path)
            try:
                sources.append((i, _source(path)))
            except Exception as e:  # unreadable: a row with the reason, never a failed task
                reason = f"cannot read file: {type(e).__name__}: {e}"
                rows_by_index[i] = error_row(path, reason, self.detector.tiers)
        scored = analyze(self.detector, [src for _, src in sources], **self.options)
        for (i, _), row in zip(sources, scored, strict=True):
            rows_by_index[i] = row
        return {"row": [json.dumps(rows_by_index[i], allow_nan=False) for i in range(len(batch["path"]))]}


@contextlib.contextmanager
def _stderr_to_file(enabled: bool):
    """With ``-q``: this process's file descriptor 2 goes to a temporary file while Ray runs,
    because Ray's C++ core worker writes its own lines ("core_worker.cc ... E") there, past
    Python's logging. If the job fails, the captured tail is shown, so nothing is lost."""
    if not enabled:
        yield
        return
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode("utf-8", "replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def ray_chunks(
    detector, todo: list[str], chunk: int, *, model: str | None, backend: str, address: str | None, actors: int | None,
    quiet: bool = False, **options,
) -> Iterator[list[dict]]:  # fmt: skip
    """Scored chunks from Ray Data, in whatever order the actors finish them. ``quiet``: none of
    Ray's own log lines."""
    # Actors load what the driver loaded: the default is resolved once, here (inference.default),
    # never again per actor, so all score with one detector and none fetches weights itself.
    model = model if model is not None else detector.source
    with _stderr_to_file(quiet):
        yield from _ray_chunks(todo, chunk, model, backend, address, actors, options)


def _ray_chunks(todo, chunk, model, backend, address, actors, options) -> Iterator[list[dict]]:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()  # importing ray.data sets its loggers up: quieten them after
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-dataset INFO lines in the scan's output
    ctx.enable_progress_bars = False  # the scan's own progress bar counts committed files
    if not todo:
        return
    n = actors or max(1, int(ray.available_resources().get("CPU", 1)) // 2)
    options = {**options, "c2pa_trust": _trust_origin(options.get("c2pa_trust"))}
    ds = ray.data.from_items([{"path": p} for p in todo]).map_batches(
        Scorer,
        fn_constructor_kwargs={"model": model, "backend": backend, "options": options},
        batch_size=chunk,
        compute=ray.data.ActorPoolStrategy(size=n),
        num_cpus=1,
        # Ray Data's defaults restart a crashed actor and retry its batch (max_restarts and
        # max_task_retries -1); a file that fails every time is already an error row, so a
        # batch never fails for one file.
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="pandas"):
        yield [json.loads(r) for r in batch["row"]]
