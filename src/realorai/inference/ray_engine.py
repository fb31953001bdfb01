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

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from realorai.imaging import IMAGE_EXTENSIONS, Upload
from realorai.inference.inputs import expand_inputs

LIST_SUFFIXES = (".parquet", ".csv")  # a table of paths, column "path"


def _is_uri(s: str) -> bool:
    return "://" in s and not s.startswith("file://")


def _read_bytes(path: str) -> bytes:
    if _is_uri(path):
        import pyarrow.fs as pafs

        fs, inner = pafs.FileSystem.from_uri(path)
        with fs.open_input_stream(inner) as f:
            return f.read()
    return Path(path.removeprefix("file://")).read_bytes()


def list_sources(inputs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Folders, globs, files, URIs and Parquet/CSV lists of paths -> paths, {input: reason}."""
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
    found, missing = expand_inputs(local)
    return list(dict.fromkeys(files + found)), {**errors, **missing}


class Scorer:
    """One per Ray actor: loads the detector once, then scores batches of paths."""

    def __init__(self, model: str | None, backend: str, options: dict) -> None:
        from realorai.inference.detector import Detector

        self.detector = Detector.load(model, "cpu", backend)
        self.options = options

    def __call__(self, batch: dict) -> dict:
        from realorai.inference.analyze import analyze
        from realorai.inference.rows import error_row

        sources, rows_by_index = [], {}
        for i, path in enumerate(batch["path"]):
            path = str(path)
            try:
                sources.append((i, Upload(path, _read_bytes(path))))
            except Exception as e:  # unreadable: a row with the reason, never a failed task
                reason = f"cannot read file: {type(e).__name__}: {e}"
                rows_by_index[i] = error_row(path, reason, self.detector.threshold)
        scored = analyze(self.detector, [u for _, u in sources], **self.options)
        for (i, _), row in zip(sources, scored, strict=True):
            rows_by_index[i] = row
        return {"row": [json.dumps(rows_by_index[i], allow_nan=False) for i in range(len(batch["path"]))]}


def ray_chunks(
    detector, todo: list[str], chunk: int, *, model: str | None, backend: str, address: str | None, actors: int | None,
    **options,
) -> Iterator[list[dict]]:  # fmt: skip
    """Scored chunks from Ray Data, in whatever order the actors finish them."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-dataset INFO lines in the scan's output
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the scan's own progress bar counts committed files
    if not todo:
        return
    n = actors or max(1, int(ray.available_resources().get("CPU", 1)) // 2)
    ds = ray.data.from_items([{"path": p} for p in todo]).map_batches(
        Scorer,
        fn_constructor_kwargs={"model": model, "backend": backend, "options": options},
        batch_size=chunk,
        concurrency=n,
        num_cpus=1,
        # Ray Data's defaults restart a crashed actor and retry its batch (max_restarts and
        # max_task_retries -1); a file that fails every time is already an error row, so a
        # batch never fails for one file.
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="pandas"):
        yield [json.loads(r) for r in batch["row"]]
