"""A resumable batch scan: ``realorai predict FOLDER --output results.{parquet,csv,jsonl} [--resume]``.

Rows are committed as they come, a chunk at a time, each chunk a file renamed into
``<output>.parts/`` only when whole. A scan killed at any moment leaves whole chunks and at most
a stray temporary file; ``--resume`` reads the chunks, skips every file they hold and scores the
rest, so that the finished output holds every file exactly once. At the end the chunks are
merged into the output (written atomically) and the parts folder is removed.

A resume is the same scan or none: its inputs (resolved to absolute paths) are recorded with
the model and options, and rows are keyed by each file's resolved path, so ``data`` and
``$PWD/data`` are one file set. Each committed row carries its file's size and modification
time: a file changed since is scored again, and rows of files that are gone are dropped (and
said so), never kept stale.

With a bank, each committed row also records the bank's state it was scored against (the bank's
id and change counter). On ``--resume`` with a bank that changed since, a row that matched an
entry which has since been revoked or removed is scored again (its verdict may rest on that
entry); a row scored against another bank file altogether (another bank id) is scored again
whatever it matched. Rows whose matches all still stand are kept: like the rows of a scan that
was never interrupted, each is the verdict of the bank as it was when that row was scored
(docs/BANK.md, "Scans and a changing bank").
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from realorai.atomic import atomic_path, check_output_path, folder_lock, write_json, write_with
from realorai.inference.analyze import analyze
from realorai.inference.detector import Detector
from realorai.inference.inputs import Found, find_inputs, own_outputs
from realorai.inference.rows import FLAT_COLUMNS, error_row, flat_row, spreadsheet_safe
from realorai.inference.scan_bank import bank_state, stale_matches
from realorai.progress import progress_bar

FORMATS = (".parquet", ".csv", ".jsonl")
CHUNK = 256  # images per committed chunk: at most this much work is redone after a kill


def parts_dir(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def file_key(path: str) -> str:
    """One key per file however it was named (relative, absolute, through a link); URIs as they are."""
    return path if "://" in path else os.path.realpath(path)


def file_stamp(path: str) -> list[int] | None:
    """[size, mtime_ns] of a local file, None for a URI or a file that is gone."""
    if "://" in path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def resolved_inputs(inputs: list[str]) -> list[str]:
    """The inputs as a scan records them: absolute paths (patterns made absolute, not expanded)."""

    def resolved(i: str) -> str:
        if "://" in i:
            return i
        return os.path.abspath(i) if glob.has_magic(i) else os.path.realpath(i)

    return sorted({resolved(i) for i in inputs})


def _read_parts(parts: Path) -> list[dict]:
    """Committed entries in commit order: {"row", "key", "stamp"} (rows of older scans: no stamp)."""
    entries = []
    for part in sorted(parts.glob("part-*.jsonl")):
        for n, line in enumerate(part.read_text(encoding="utf-8").splitlines(), 1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:  # a chunk edited or damaged by hand; never guess
                raise ValueError(f"{part}:{n}: unreadable committed row ({e}); remove {parts} to start over") from e
            if "row" not in obj:
                obj = {"row": obj, "key": file_key(obj["path"]), "stamp": None}
            entries.append(obj)
    return entries


def _latest(entries: list[dict]) -> dict[str, dict]:
    """key -> the last committed entry for it (a re-scored file's new row wins)."""
    return {e["key"]: e for e in entries}


def _write_output(rows: list[dict], output: Path) -> None:
    if output.suffix == ".jsonl":
        text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows)
        write_with(output, lambda p: p.write_text(text, encoding="utf-8"))
        return
    df = pd.DataFrame([flat_row(r) for r in rows], columns=list(FLAT_COLUMNS))
    for column in ("p_ai", "likely_ai_from", "likely_real_below"):
        df[column] = df[column].astype("float64")
    if output.suffix == ".csv":  # a cell a spreadsheet would run as a formula is neutralised
        safe = df.map(spreadsheet_safe)
        write_with(output, lambda p: safe.to_csv(p, index=False))
    else:
        write_with(output, lambda p: df.to_parquet(p, index=False))


def summarize(rows: list[dict]) -> dict:
    """Counts per verdict and per basis, and the files that could not be read."""
    return {
        "files": len(rows),
        "by_verdict": dict(Counter(r["verdict"] for r in rows)),
        "by_basis": dict(Counter(r["basis"] for r in rows)),
        "errors": {r["path"]: r["error"] for r in rows if r["verdict"] == "error"},
    }


def local_chunks(detector: Detector, todo: list[str], chunk: int, **analyze_kwargs) -> Iterator[list[dict]]:
    """The local engine: this process scores one chunk after another."""
    for start in range(0, len(todo), chunk):
        yield analyze(detector, todo[start : start + chunk], **analyze_kwargs)


def run_batch(
    inputs: list[str],
    output: Path,
    detector: Detector,
    resume: bool = False,
    chunk: int = CHUNK,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
    engine: Callable[..., Iterator[list[dict]]] | None = None,
    list_inputs: Callable[..., Found] = find_inputs,
    overwrite: bool = False,
    **analyze_kwargs,
) -> dict:
    """Scan ``inputs`` into ``output``; returns the summary. See the module docstring.

    ``engine(detector, todo, chunk, **analyze_kwargs)`` yields scored chunks (any order, any
    size): the local engine by default, or Ray Data (``realorai.inference.ray_engine``).
    ``list_inputs(inputs, exclude)`` finds the files; the run's own outputs are excluded.
    ``overwrite`` scans again into an existing output (replaced only when the new one is whole)."""
    engine = engine or local_chunks
    output = check_output_path(Path(output))
    if output.suffix not in FORMATS:
        raise ValueError(f"{output}: the output must end in {', '.join(FORMATS)}")
    if chunk < 1:
        raise ValueError(f"--chunk must be at least 1, got {chunk}")
    parts = parts_dir(output)
    settings = {
        "model": detector.name,
        "weights": detector.source,
        "threshold": detector.threshold,
        "options": {k: str(v) for k, v in sorted(analyze_kwargs.items()) if k != "show_progress"},
        "inputs": resolved_inputs(inputs),
    }
    if not resume and not overwrite and (output.exists() or parts.exists()):
        what = "a scan of it was interrupted" if parts.exists() else "it is a finished scan"
        raise ValueError(f"{output}: already exists ({what}); pass --resume to continue it or --overwrite to "
                         "scan again")  # fmt: skip
    own = own_outputs(analyze_kwargs.get("heatmaps") or None, parts)
    if resume and output.exists() and not parts.exists():
        return _finished(output, list_inputs(inputs, own), log)
    with folder_lock(parts):  # two scans writing one output would double rows
        if overwrite:
            _start_over(parts)
        _check_settings(parts / "scan.json", settings, output)
        found = list_inputs(inputs, own)
        files, missing = found.files, found.missing
        keys = {f: file_key(f) for f in files}
        state = bank_state(analyze_kwargs.get("bank"))
        latest = _latest(_read_parts(parts))
        done, dropped, changed = _reconcile(latest, files, keys)
        stale = stale_matches(latest, done, analyze_kwargs.get("bank"), state)
        done -= stale
        todo = [f for f in files if keys[f] not in done]
        if done or dropped or changed or stale:
            log(f"resuming: {len(done)} files already done, {len(todo)} to go")
        if changed:
            log(f"{len(changed)} files changed since they were scored: scoring them again")
        if stale:
            log(f"{len(stale)} rows rested on bank entries since revoked or removed (or on another bank): "
                "scoring them again")  # fmt: skip
        if dropped:
            log(f"{len(dropped)} files scored before are gone or no longer among the inputs: their rows are dropped")
        next_part = len(list(parts.glob("part-*.jsonl")))
        with progress_bar("scan", len(todo), show_progress) as advance:
            for rows in engine(detector, todo, chunk, **analyze_kwargs):
                _commit(parts, next_part, rows, bank_state(analyze_kwargs.get("bank")))
                next_part += 1
                advance(len(rows))
        lost = [error_row(item, reason, detector.tiers) for item, reason in missing.items()]
        if lost:
            _commit(parts, next_part, lost)
        wanted = set(keys.values()) | {file_key(item) for item in missing}
        rows = [e["row"] for k, e in _latest(_read_parts(parts)).items() if k in wanted]
        _write_output(rows, output)
    shutil.rmtree(parts)
    return {"output": str(output), **summarize(rows), "skipped": found.skipped}


def _start_over(parts: Path) -> None:
    """--overwrite: the chunks of an earlier scan go; the lock file stays (it is held)."""
    for p in parts.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
        elif p.name != ".lock":
            p.unlink()


def _finished(output: Path, found: Found, log) -> dict:
    """--resume on a finished output: nothing to do when it holds exactly these inputs' files,
    refused when the inputs name others (resuming never rescans silently nor skips new files)."""
    done = {file_key(p) for p in _output_paths(output)}
    wanted = {file_key(f) for f in found.files} | {file_key(m) for m in found.missing}
    new = wanted - done
    if new:
        raise ValueError(
            f"{output}: is a finished scan of other inputs ({len(new)} of these files are not in it); "
            "--overwrite scans these inputs into it again, or choose another --output"
        )
    log(f"{output} is complete; nothing to resume")
    return {"output": str(output), "resumed": 0}


def _output_paths(output: Path) -> list[str]:
    """The file paths of a finished output's rows (raw names restored from ``path_raw_hex``)."""
    if output.suffix == ".jsonl":
        return [json.loads(line)["path"] for line in output.read_text(encoding="utf-8").splitlines() if line]
    df = pd.read_csv(output, dtype=str, keep_default_na=False) if output.suffix == ".csv" else pd.read_parquet(output)
    paths = []
    for path, raw in zip(df["path"], df.get("path_raw_hex", [""] * len(df)), strict=True):
        if raw:
            path = bytes.fromhex(raw).decode("utf-8", "surrogateescape")
        elif output.suffix == ".csv" and path.startswith("'"):
            path = path[1:]  # spreadsheet_safe's apostrophe
        paths.append(path)
    return paths


def _check_settings(recorded: Path, settings: dict, output: Path) -> None:
    """Record a new scan's settings, or refuse to resume one that used others."""
    if not recorded.exists():
        write_json(recorded, settings)
        return
    before = json.loads(recorded.read_text())
    changed = [k for k in settings if before.get(k) != settings[k]]
    if changed:
        what = "inputs" if changed == ["inputs"] else f"settings ({', '.join(changed)})"
        raise ValueError(
            f"{output}: the interrupted scan used other {what}; resume with the same inputs, model and "
            "options, or choose another --output"
        )


def _reconcile(latest: dict[str, dict], files: list[str], keys: dict[str, str]) -> tuple[set, list, list]:
    """(keys whose committed row still holds, keys dropped because their file is gone or no
    longer an input, files changed since their row was committed)."""
    current = {keys[f]: f for f in files}
    done, changed = set(), []
    for key, entry in latest.items():
        f = current.get(key)
        if f is None:
            continue
        if entry["stamp"] is not None and entry["stamp"] != file_stamp(f):
            changed.append(f)
        else:
            done.add(key)
    dropped = [k for k, e in latest.items() if k not in current and e["row"].get("verdict") != "error"]
    return done, dropped, changed


def _commit(parts: Path, n: int, rows: list[dict], bank: list | None = None) -> None:
    """Write one chunk whole or not at all: a temporary file renamed into place. Each row goes
    with its file's key and [size, mtime] as they were when it was scored, and the bank's state
    it was matched against."""
    lines = []
    for r in rows:
        entry = {"row": r, "key": file_key(r["path"]), "stamp": file_stamp(r["path"])}
        if bank is not None:
            entry["bank"] = bank
        lines.append(json.dumps(entry, allow_nan=False) + "\n")
    with atomic_path(parts / f"part-{n:06d}.jsonl") as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
