"""Labelled examples for ``realorai adapt``: from folders the user labels, or from images whose
verified provenance labels them (``--from-evidence``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from realorai.inference.inputs import find_inputs

SCAN_SUFFIXES = (".jsonl", ".parquet", ".csv")  # outputs of `realorai predict -o`


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
    return pd.DataFrame(rows, columns=["path", "label", "origin"])


def scan_rows(source: str, trust=None, show_progress: bool = False) -> list[dict]:
    """The rows of a scan: read from a `predict -o` output, or made now (provenance read)."""
    path = Path(source)
    if path.is_file() and path.suffix in SCAN_SUFFIXES:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        df = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix == ".csv" else pd.read_parquet(path)
        if "basis" not in df.columns:
            raise ValueError(f"{source}: not a scan of realorai 0.1 or later (no 'basis' column); scan it again")
        return df.to_dict("records")
    from realorai.inference.predict import predict

    rows, _ = predict([source], show_progress=show_progress, c2pa_trust=trust)
    return rows


def from_evidence(sources: list[str], trust=None, show_progress: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """(examples labelled by verified provenance, the readable images that have none). A scan's
    rows must have been made with provenance read (not --pixels-only)."""
    examples, unlabelled = [], []
    for source in sources:
        rows = scan_rows(source, trust, show_progress)
        if rows and all(r.get("findings") in (None, "") for r in rows):
            raise ValueError(f"{source}: scanned with --pixels-only: no provenance to label examples with")
        for r in rows:
            if r["basis"] == "provenance" and r["verdict"] in ("ai", "real"):
                examples.append({"path": r["path"], "label": r["verdict"], "origin": f"verified C2PA ({source})"})
            elif r["verdict"] != "error":
                unlabelled.append(r["path"])
    df = pd.DataFrame(examples, columns=["path", "label", "origin"]).drop_duplicates("path")
    return df, list(dict.fromkeys(unlabelled))
