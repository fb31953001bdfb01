"""Labelled examples for ``realorai adapt``: from folders the user labels, or from images whose
verified provenance labels them (``--from-evidence``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from realorai.inference.inputs import find_inputs

SCAN_SUFFIXES = (".jsonl", ".parquet", ".csv")  # outputs of `realorai predict -o`
SCAN_KEYS = ("path", "verdict", "basis")  # what examples are read from


def from_folders(folder: str | None, ai: list[str], real: list[str]) -> pd.DataFrame:
    """path, label, origin: ``folder``'s ai/ and real/ sub-folders (any class-folder name the
    data pipeline knows), and every image under each --ai and --real folder or file."""
    from realorai.data.manifest import DEFAULT_LABEL_MAP, label_for

    rows = []
    if folder:
        root = Path(folder)
        if not root.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder")
        for f in find_inputs([folder]).files:
            label = label_for(Path(f), root, DEFAULT_LABEL_MAP)
            if label in ("ai", "real"):
                rows.append({"path": f, "label": label, "origin": f"folder {folder}"})
    for label, items in (("ai", ai), ("real", real)):
        found = find_inputs(items)
        if found.missing:
            item, reason = next(iter(found.missing.items()))
            raise FileNotFoundError(f"--{label} {item}: {reason}")
        rows += [{"path": f, "label": label, "origin": f"--{label}"} for f in found.files]
    return example_frame(rows)


def example_frame(rows: list[dict]) -> pd.DataFrame:
    """path, label, origin as plain objects: a file name that is not UTF-8 (held as surrogates)
    cannot enter pandas' Arrow strings; the scan reports such a file by its printable name."""
    return pd.DataFrame(rows, columns=["path", "label", "origin"], dtype=object)


def _jsonl_rows(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as e:
                raise ValueError(f"{path}:{n}: not a JSON row of a realorai scan ({type(e).__name__})") from e
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: a scan row must be a JSON object, not a {type(row).__name__}")
            rows.append(_checked(row, path, n))
    return rows


def _checked(row: dict, source, where) -> dict:
    """A scan row with the keys examples are read from, else a ValueError naming file and line."""
    missing = [k for k in SCAN_KEYS if k not in row]
    if missing:
        raise ValueError(f"{source}:{where}: not a row of a realorai scan (no {', '.join(map(repr, missing))}); "
                         "make one with `realorai predict FOLDER -o scan.jsonl`")  # fmt: skip
    if not isinstance(row["path"], str) or not row["path"]:
        raise ValueError(f"{source}:{where}: 'path' must be a file name")
    return row


def scan_rows(source: str, trust=None, show_progress: bool = False) -> tuple[list[dict], bool]:
    """(the rows of a scan, whether they came from a file): read from a `predict -o` output, or
    made now (provenance read)."""
    path = Path(source)
    if path.is_file() and path.suffix in SCAN_SUFFIXES:
        if path.suffix == ".jsonl":
            return _jsonl_rows(path), True
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix == ".csv" else pd.read_parquet(path)
        except Exception as e:  # a truncated Parquet file, a CSV of another tool...
            raise ValueError(f"{source}: not a readable scan table ({type(e).__name__}: {str(e)[:120]})") from e
        missing = [k for k in SCAN_KEYS if k not in df.columns]
        if missing:
            raise ValueError(f"{source}: not a scan of realorai 0.1 or later (no {', '.join(map(repr, missing))} "
                             "column); scan it again with `realorai predict -o`")  # fmt: skip
        return [_checked(r, source, f"row {i + 2}") for i, r in enumerate(df.to_dict("records"))], True
    from realorai.inference.predict import predict

    rows, _ = predict([source], show_progress=show_progress, c2pa_trust=trust)
    return rows, False


def reverify(path: str, trust=None) -> tuple[str | None, str]:
    """(label, why not): the label the file's own C2PA credential gives under ``trust`` now, or
    None and the reason. A scan file's word is never taken: anyone can edit it."""
    from realorai.provenance.c2pa_evidence import verified_label

    if not os.path.isfile(path):
        return None, "file not found"
    return verified_label(path, trust)


def from_evidence(sources: list[str], trust=None, show_progress: bool = False) -> tuple[pd.DataFrame, list[str], list]:
    """(examples labelled by verified provenance, the readable images that have none, the rows
    that claimed verified provenance but whose file does not verify now: path, claimed, reason).
    Every claim is re-verified from the file under ``trust``; a scan's rows must have been made
    with provenance read (not --pixels-only)."""
    examples, unlabelled, dropped = [], [], []
    for source in sources:
        rows, from_file = scan_rows(source, trust, show_progress)
        pixels_only = rows and all(r.get("findings") in (None, "") and r.get("basis") != "provenance" for r in rows)
        if from_file and pixels_only:
            raise ValueError(f"{source}: scanned with --pixels-only: no provenance to label examples with")
        for r in rows:
            if r["verdict"] == "error":
                continue
            label, why = reverify(r["path"], trust)
            if label is not None:
                examples.append({"path": r["path"], "label": label, "origin": f"verified C2PA ({source})"})
            elif r.get("basis") == "provenance" and r["verdict"] in ("ai", "real"):
                dropped.append({"path": r["path"], "claimed": r["verdict"], "reason": why})
            elif why == "file not found":
                dropped.append({"path": r["path"], "claimed": "", "reason": why})
            else:
                unlabelled.append(r["path"])
    df = example_frame(examples).drop_duplicates("path")
    return df, list(dict.fromkeys(unlabelled)), dropped
