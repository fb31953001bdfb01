"""Runs side by side (the report's Model Comparison) as HTML with embedded plots, and Markdown."""

from __future__ import annotations

import base64
import html
import json
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
    params = summary.get("params", {})
    return {
        "run": run,
        "metrics": metrics,
        "summary": summary,
        "row": {
            "model": metrics["model"],
            "params": f"{params.get('total', 0):,} ({params.get('trainable', 0):,})",
            "init": _init(metrics["model"], config),
            "epoch": summary.get("best_epoch", ""),
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


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


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
                data = base64.b64encode(f.read_bytes()).decode()
                imgs.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
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
{"".join(sections)}</body></html>"""
    html_path = out.with_suffix(".html")
    md_path = out.with_suffix(".md")
    write_text(html_path, page)
    write_text(md_path, "\n".join(md) + "\n")
    return [html_path, md_path]
