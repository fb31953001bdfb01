"""Runs side by side (the report's Model Comparison) as HTML with embedded plots, and Markdown."""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path

from realorai.atomic import write_text
from realorai.models import get_spec

COLUMNS = [
    ("model", "model"),
    ("params", "params (trainable)"),
    ("init", "weights"),
    ("epoch", "best epoch"),
    ("threshold", "threshold (val)"),
    ("accuracy", "accuracy"),
    ("accuracy_real", "acc. real"),
    ("accuracy_ai", "acc. AI (recall)"),
    ("precision_ai", "precision AI"),
    ("f1_macro", "macro F1"),
    ("roc_auc", "ROC-AUC"),
    ("average_precision", "AP"),
    ("train_seconds", "epoch loop s"),
]
PLOTS = [
    ("curves.png", "accuracy and loss"),
    ("eval-{split}/confusion.png", "confusion matrix"),
    ("eval-{split}/roc.png", "ROC"),
]


def _init(model: str, config: dict) -> str:
    """How the weights started: a reader must see that an offline ResNet was not ImageNet-trained."""
    if not get_spec(model).frozen_backbone:
        return "trained from scratch"
    if config.get("pretrained", True):
        return "ImageNet backbone (frozen)"
    return "RANDOM backbone (frozen; no ImageNet weights)"


def _load(run: Path, split: str) -> dict:
    def read(name: str) -> dict:
        f = run / name
        return json.loads(f.read_text()) if f.is_file() else {}

    summary, metrics, config = read("train_summary.json"), read(f"eval-{split}/metrics.json"), read("config.json")
    if not metrics:
        raise FileNotFoundError(f"{run}: no eval-{split}/metrics.json (run `realorai evaluate {run} --split {split}`)")
    from realorai.models.checkpoint import read_meta

    saved = read_meta(run).get("saved_at")
    if metrics.get("checkpoint_saved_at") != saved:
        raise ValueError(
            f"{run}: eval-{split}/metrics.json is not from the current checkpoint (saved {saved}); "
            f"rerun `realorai evaluate {run} --split {split}`"
        )
    params = summary.get("params") or _checkpoint_params(run)
    return {
        "run": run,
        "metrics": metrics,
        "summary": summary,
        "row": {
            "model": metrics["model"],
            "params": f"{params.get('total', 0):,} ({params.get('trainable', 0):,})",
            "init": _init(metrics["model"], config),
            "epoch": summary.get("best_epoch") or "n/a (a fitted head, no epochs)",
            "threshold": metrics["threshold"],
            "accuracy": metrics["accuracy"],
            "accuracy_real": metrics["accuracy_real"],
            "accuracy_ai": metrics["accuracy_ai"],
            "precision_ai": metrics["per_class"]["ai"]["precision"],
            "f1_macro": metrics["macro_avg"]["f1-score"],
            "roc_auc": metrics["roc_auc"],
            "average_precision": metrics["average_precision"],
            "train_seconds": f"{summary['train_seconds']:.1f}" if "train_seconds" in summary else "",
        },
    }


def _checkpoint_params(run: Path) -> dict:
    """{total, trainable} counted from the checkpoint's tensors, for runs whose summary has none
    (a detector: its frozen backbone is stored beside the fitted head and statistics)."""
    from safetensors import safe_open

    path = run / "best.safetensors" if run.is_dir() else run
    if not path.is_file():
        return {}
    with safe_open(str(path), "numpy") as f:
        sizes = {k: math.prod(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not a dict)
    # A frozen backbone's tensors are stored with the head but never trained.
    return {"total": sum(sizes.values()), "trainable": sum(n for k, n in sizes.items() if not k.startswith("backbone"))}


def _overlays(items: list[dict], out: Path, split: str) -> list[tuple[Path, str]]:
    """One ROC plot and one metrics chart with every run, beside ``out``."""
    import numpy as np
    import pandas as pd

    from realorai.plots import plot_metric_bars, plot_roc_overlay

    curves = []
    for it in items:
        preds = it["run"] / f"eval-{split}" / "predictions.csv"
        if preds.is_file():
            df = pd.read_csv(preds).dropna(subset=["p_ai"])
            y = (df["label"] == "ai").to_numpy(int)
            curves.append((it["row"]["model"], y, df["p_ai"].to_numpy(float), it["metrics"]["roc_auc"]))
    roc = plot_roc_overlay(curves, out.with_name(out.stem + "-roc.png"), f"ROC on {split}, every run")
    keys = {
        "accuracy": "accuracy",
        "balanced acc.": None,
        "macro F1": "f1_macro",
        "ROC-AUC": "roc_auc",
        "AP": "average_precision",
    }
    rows = [it["row"] for it in items]
    bars = {name: [float(r[k]) for r in rows] for name, k in keys.items() if k}
    bars["balanced acc."] = [float(np.mean([r["accuracy_real"], r["accuracy_ai"]])) for r in rows]
    chart = plot_metric_bars([r["model"] for r in rows], bars, out.with_name(out.stem + "-metrics.png"),
                             f"{split} metrics, every run")  # fmt: skip
    return [(roc, "ROC, every run"), (chart, "metrics, every run")]


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _figure(f: Path, caption: str) -> str:
    data = base64.b64encode(f.read_bytes()).decode()
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{caption}"><figcaption>{caption}</figcaption></figure>'
    )


def write_report(
    runs: list[str | Path], out: str | Path, split: str = "test", title: str = "Model comparison"
) -> list[Path]:
    """Write ``out`` (.html) and its Markdown twin (.md) comparing ``runs`` on ``split``."""
    out = Path(out)
    items = [_load(Path(r), split) for r in runs]
    n = items[0]["metrics"]["n"]
    head = [label for _, label in COLUMNS]
    # Markdown: relative image links.
    md = [
        f"# {title}",
        "",
        f"Split: `{split}` ({n} images). Thresholds were chosen on the validation split.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    md += ["| " + " | ".join(_fmt(it["row"][k]) for k, _ in COLUMNS) + " |" for it in items]
    overlays = _overlays(items, out, split)
    md += ["", *(f"![{caption}]({f.name})" for f, caption in overlays)]
    for it in items:
        md += ["", f"## {it['row']['model']}", "", "```", it["metrics"]["report"].rstrip(), "```", ""]
        for name, caption in PLOTS:
            f = it["run"] / name.format(split=split)
            if f.is_file():
                md.append(f"![{caption}]({os.path.relpath(f, out.parent)})")
        for path, reason in it["metrics"].get("unreadable", {}).items():
            md.append(f"- unreadable: `{path}`: {reason}")
    # HTML: self-contained, plots embedded.
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(it['row'][k]))}</td>" for k, _ in COLUMNS) + "</tr>" for it in items
    )
    sections = []
    for it in items:
        imgs = []
        for name, caption in PLOTS:
            f = it["run"] / name.format(split=split)
            if f.is_file():
                imgs.append(_figure(f, caption))
        sections.append(
            f"<h2>{html.escape(it['row']['model'])}</h2><pre>{html.escape(it['metrics']['report'])}</pre>"
            + "".join(imgs)
        )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
figure{{display:inline-block;margin:0 1em 1em 0}}img{{max-height:320px}}</style></head><body>
<h1>{html.escape(title)}</h1><p>Split: <code>{split}</code> ({n} images). Thresholds were chosen on the validation
split, never on test.</p><table><tr>{"".join(f"<th>{html.escape(h)}</th>" for h in head)}</tr>{rows}</table>
{"".join(_figure(f, caption) for f, caption in overlays)}
{"".join(sections)}</body></html>"""
    html_path = out.with_suffix(".html")
    md_path = out.with_suffix(".md")
    write_text(html_path, page)
    write_text(md_path, "\n".join(md) + "\n")
    return [html_path, md_path]
