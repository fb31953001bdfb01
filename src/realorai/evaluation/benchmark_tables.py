"""The benchmark's tables as Markdown, HTML (ROC plots embedded) and JSON."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from realorai.atomic import write_json, write_text  # noqa: E402
from realorai.metrics import roc_points  # noqa: E402

MAIN = [
    ("n", "images"),
    ("seen_left_out", "left out (seen)"),
    ("roc_auc", "ROC-AUC"),
    ("average_precision", "AP"),
    ("balanced_accuracy", "bal. acc."),
    ("accuracy_real", "acc. real"),
    ("accuracy_ai", "acc. AI"),
    ("ece", "ECE"),
    ("low_confidence", "upsampled"),
]


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.3f}"
    return str(v)


def _points(lost: float) -> str:
    """ROC-AUC points lost (or gained) by a change, in words: never "-0.000" or a bare minus."""
    points = round(lost * 100, 1)
    if not np.isfinite(points) or points == 0:
        return "n/a" if not np.isfinite(points) else "none"
    return f"{points:.1f} lost" if points > 0 else f"{-points:.1f} gained"


def _auc(d: dict) -> str:
    """ROC-AUC with its 95% bootstrap interval, where the row has one."""
    ci = d.get("roc_auc_ci")
    if ci is None or not all(np.isfinite(ci)):
        return _fmt(d.get("roc_auc"))
    return f"{_fmt(d.get('roc_auc'))} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _main_table(result: dict) -> tuple[str, str]:
    ds, thr = result["datasets"], result["threshold"]
    title = (f"Per dataset, as is (threshold {thr:.3f} from the model's validation data): only images the model "
             "never trained, validated or calibrated on are scored ('left out' counts the others); ROC-AUC with "
             "its 95% bootstrap interval")  # fmt: skip
    rows = [[n] + [_auc(d["as_is"]) if k == "roc_auc" else {**d["as_is"], "seen_left_out": d.get("seen_left_out", 0)}
                   .get(k) for k, _ in MAIN] for n, d in ds.items()]  # fmt: skip
    return title, _table(["dataset"] + [h for _, h in MAIN], rows)


def tables(result: dict) -> list[tuple[str, str]]:
    """(title, Markdown table) pairs."""
    out = [_main_table(result)]
    ds = result["datasets"]
    gens = [(n, g, v) for n, d in ds.items() for g, v in d["per_generator"].items()]
    if gens:
        out.append(
            (
                "Recall on AI images per generator",
                _table(["dataset", "generator", "images", "recall"], [[n, g, v["n"], v["recall"]] for n, g, v in gens]),
            )
        )
    out += _shortcut_tables(result)
    rob = {n: d["robustness"] for n, d in ds.items() if "robustness" in d}
    if rob:
        names = list(next(iter(rob.values())))
        rows = [[n, r[names[0]]["n"]] + [r[p]["roc_auc"] for p in names] for n, r in rob.items()]
        out.append(("Robustness: ROC-AUC with images changed in memory", _table(["dataset", "images", *names], rows)))
        rows = [[n] + [_points(r[p]["auc_lost"]) for p in names[1:]] for n, r in rob.items()]
        out.append(("Robustness: ROC-AUC points lost or gained against 'as is'", _table(["dataset", *names[1:]], rows)))
        # Reconstructions and many generators are softer than photos: a detector that calls every
        # blurred or downscaled real image AI has learned softness, not generation.
        rows = [
            [n] + [1 - r[p]["accuracy_real"] for p in names] for n, r in rob.items() if "accuracy_real" in r[names[0]]
        ]
        if rows:
            out.append(
                (
                    "Robustness: share of real images scored at or above the model's threshold after each change "
                    "(a score, not a verdict)",
                    _table(["dataset", *names], rows),
                )  # fmt: skip
            )
    if result.get("lodo"):
        rows = [
            [
                n,
                ", ".join(v["trained_on"]),
                v["train_images"],
                v["n"],
                v["roc_auc"],
                v["average_precision"],
                v["balanced_accuracy"],
                v["accuracy_real"],
                v["accuracy_ai"],
                v["ece"],
            ]
            for n, v in result["lodo"].items()
        ]
        out.append(
            (
                "Leave one dataset out: trained on the others, tested on this one",
                _table(
                    [
                        "left out",
                        "trained on",
                        "train images",
                        "test images",
                        "ROC-AUC",
                        "AP",
                        "bal. acc.",
                        "acc. real",
                        "acc. AI",
                        "ECE",
                    ],
                    rows,
                ),
            )
        )
    return out


def _shortcut_tables(result: dict) -> list[tuple[str, str]]:
    """Metadata-only AUC beside the detector's, its AUC per JPEG-quality band, and false positives."""
    ds, out = result["datasets"], []
    if any("shortcuts" in d for d in ds.values()):
        bands = sorted({b for d in ds.values() for b in d.get("shortcuts", {}).get("jpeg_bands", {})})
        rows = []
        for n, d in ds.items():
            sc = d.get("shortcuts", {})
            cells = []
            for b in bands:
                v = sc.get("jpeg_bands", {}).get(b)
                cells.append("" if v is None else f"{_fmt(v['roc_auc'])} ({v['n_ai']}/{v['n_real']})")
            rows.append([n, d["as_is"]["roc_auc"], sc.get("metadata_auc"), *cells])
        out.append(
            (
                "Shortcuts: the detector's ROC-AUC beside a metadata-only classifier's (cross-validated, no pixels), "
                "and the detector's ROC-AUC within each JPEG-quality band (AI/real images in it)",
                _table(["dataset", "detector ROC-AUC", "metadata-only ROC-AUC", *bands], rows),
            )
        )
    reals = result.get("reals", {})
    if reals:
        rows = [[n, v["n"], v["above_threshold"], v["fpr"]] for n, v in reals.items()]
        title = ("Real-only sets: real images scored at or above the model's threshold (a score, not a verdict: "
                 "`predict` gives a 'likely' verdict only inside a measured tier)")  # fmt: skip
        out.append((title, _table(["dataset", "images", "at or above threshold", "share"], rows)))
    logo = [(d, g, v) for d, gens in result.get("logo", {}).items() for g, v in gens.items()]
    if logo:
        rows = [
            [d, g, v["train_images"], v["test_ai"], v["test_real"], v["roc_auc"], v["accuracy_ai"]] for d, g, v in logo
        ]
        head = ["dataset", "left-out generator", "train images", "test AI", "test real", "ROC-AUC", "recall"]
        out.append(
            ("Leave one generator out: trained without it, tested on it against held-back reals", _table(head, rows))
        )
    fp = result.get("false_positives")
    if fp:
        row = [[fp["reals"], fp["fpr"], fp["ai"], fp["recall"]]]
        title = "False positives: every real image not trained on, at the model's threshold"
        out.append((title, _table(["real images", "real at or above threshold", "AI images", "AI at or above"], row)))
    return out


def markdown(result: dict) -> str:
    head = [
        f"# realorai benchmark: {result['model']}",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Model source: `{result['source']}`; run on {result['when']}, {result['seconds']:.0f} s.",
        "",
    ]
    for title, table in tables(result):
        head += [f"## {title}", "", table, ""]
    return "\n".join(head)


def _roc_png(result: dict) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for name, d in result["datasets"].items():
        y, p = np.asarray(d["scores"]["y"]), np.asarray([np.nan if v is None else v for v in d["scores"]["p_ai"]])
        ok = np.isfinite(p)
        if len(np.unique(y[ok])) == 2:
            fpr, tpr = roc_points(y[ok], p[ok])
            ax.plot(fpr, tpr, label=f"{name} (AUC {d['as_is']['roc_auc']:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate (real at or above the threshold)")
    ax.set_ylabel("true positive rate (AI caught)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def html_page(result: dict) -> str:
    parts = [
        f"<h1>realorai benchmark: {html.escape(result['model'])}</h1>",
        f"<p>Command: <code>{html.escape(result['command'])}</code></p>",
        f'<img alt="ROC curves per dataset" src="data:image/png;base64,{_roc_png(result)}">',
    ]
    for title, table in tables(result):
        lines = [line for line in table.splitlines() if not line.startswith("|---")]
        cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
        rows = "".join(
            "<tr>"
            + "".join(f"<{'th' if i == 0 else 'td'}>{html.escape(c)}</{'th' if i == 0 else 'td'}>" for c in r)
            + "</tr>"
            for i, r in enumerate(cells)
        )
        parts.append(f"<h2>{html.escape(title)}</h2><table>{rows}</table>")
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;color:#111}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.25em .6em;text-align:right}"
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>realorai benchmark</title><style>{style}</style>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def write_all(result: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_json(out / "benchmark.json", result),
        write_text(out / "benchmark.md", markdown(result)),
        write_text(out / "benchmark.html", html_page(result)),
    ]
    json.dumps(result)  # fail loudly here, not in a reader, if something is not JSON
    return paths
