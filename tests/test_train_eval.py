"""Training, checkpoints, resume, evaluation, prediction and the comparison report, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from realorai.atomic import atomic_path, write_text
from realorai.checkpoint import load_checkpoint, read_meta
from realorai.data.manifest import load_manifest, usable
from realorai.evaluate import evaluate_run
from realorai.inference import score_paths
from realorai.metrics import choose_threshold
from realorai.models import create_model
from realorai.predict import predict
from realorai.report import write_report
from realorai.train import fit, labels_of, resolve_config


def test_run_folder_holds_everything(cnn_run):
    for name in (
        "config.json",
        "history.csv",
        "history.json",
        "curves.png",
        "best.safetensors",
        "last.safetensors",
        "train_summary.json",
        "last_state.pt",
    ):
        assert (cnn_run / name).is_file(), name
    history = json.loads((cnn_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    config = json.loads((cnn_run / "config.json").read_text())
    assert config["model"] == "report-cnn" and config["optimizer"] == "adam" and config["lr"] == 1e-3


def test_checkpoint_is_self_describing(cnn_run):
    meta = read_meta(cnn_run)
    assert meta["model"] == "report-cnn" and meta["classes"] == ["real", "ai"]
    assert meta["data_config"]["input_size"] == 224
    # The toy validation split holds 2 images per class: too few, so the threshold stays 0.5.
    assert meta["threshold"] == 0.5 and meta["threshold_source"].startswith("default 0.5 (validation has")
    assert "accuracy" in meta["metrics"]["val"] and meta["config"]["epochs"] == 2
    assert {"torch", "timm", "realorai"} <= set(meta["versions"])


def test_threshold_comes_from_validation_not_test(tmp_path):
    from conftest import make_dataset

    from realorai.data.manifest import save_manifest, scan
    from realorai.data.split import split

    root = make_dataset(tmp_path / "d", per_class=34)
    manifest = tmp_path / "m.parquet"
    save_manifest(split(scan(root, show_progress=False), seed=0, ratios=(0.5, 0.3, 0.2)), manifest)
    run = tmp_path / "run"
    fit(resolve_config("report-cnn", str(manifest), epochs=1, batch_size=16), run, show_progress=False)
    model, meta = load_checkpoint(run)
    assert meta["n_val"] == {"real": 10, "ai": 10} and meta["threshold_source"].startswith("validation")
    df = usable(load_manifest(manifest))
    val = df[df["split"] == "val"]
    p, errors = score_paths(model, val["path"].tolist(), show_progress=False)
    assert not errors
    assert meta["threshold"] == pytest.approx(choose_threshold(labels_of(val), p))


def test_evaluate_writes_metrics_and_plots(cnn_run, split_manifest):
    m = evaluate_run(cnn_run, split_manifest, "test", show_progress=False)
    test = usable(load_manifest(split_manifest)).query("split == 'test'")
    assert m["n"] == len(test) and m["threshold"] == read_meta(cnn_run)["threshold"]
    assert "precision    recall  f1-score   support" in m["report"]
    assert np.array(m["confusion_matrix"]).sum() == len(test)
    for name in ("metrics.json", "predictions.csv", "confusion.png", "roc.png"):
        assert (cnn_run / "eval-test" / name).is_file()
    # Recount from the raw scores, not with the function under test.
    model, meta = load_checkpoint(cnn_run)
    p, _ = score_paths(model, test["path"].tolist(), show_progress=False)
    truth = (test["label"] == "ai").to_numpy()
    called_ai = p >= meta["threshold"]
    assert m["accuracy"] == pytest.approx(float((called_ai == truth).mean()))
    assert m["accuracy_ai"] == pytest.approx(float(called_ai[truth].mean()))
    preds = pd.read_csv(cnn_run / "eval-test" / "predictions.csv")
    assert preds["p_ai"].to_numpy() == pytest.approx(p)


def test_predict_scores_good_files_and_reports_bad_ones(cnn_run, toy_dataset, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    rows = predict(
        [str(toy_dataset / "ai"), str(bad), str(tmp_path / "missing.png"), str(toy_dataset / "real" / "real_00*.png")],
        cnn_run,
        show_progress=False,
    )
    by_path = {r["path"]: r for r in rows}
    assert by_path[str(bad)]["verdict"] == "error" and "cannot" in by_path[str(bad)]["error"]
    assert "no such file" in by_path[str(tmp_path / "missing.png")]["error"]
    good = [r for r in rows if not r["error"]]
    assert len(good) == 12 + 10
    # Verdicts against scores and a threshold obtained independently of predict's rows.
    model, meta = load_checkpoint(cnn_run)
    p, _ = score_paths(model, [r["path"] for r in good], show_progress=False)
    assert [r["verdict"] for r in good] == ["ai" if x >= meta["threshold"] else "real" for x in p]
    assert [r["p_ai"] for r in good] == pytest.approx(p)


def test_resume_continues_exactly_where_it_stopped(split_manifest, tmp_path):
    cfg2 = resolve_config("report-cnn", str(split_manifest), epochs=2, batch_size=8, seed=5)
    straight = fit(cfg2, tmp_path / "straight", show_progress=False)
    cfg1 = resolve_config("report-cnn", str(split_manifest), epochs=1, batch_size=8, seed=5)
    fit(cfg1, tmp_path / "resumed", show_progress=False)
    resumed = fit(cfg2, tmp_path / "resumed", resume=True, show_progress=False)
    h2 = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert len(h2) == 2
    # The same weights, bit for bit, as a run that was never interrupted.
    a, _ = load_checkpoint(tmp_path / "straight" / "last.safetensors")
    b, _ = load_checkpoint(tmp_path / "resumed" / "last.safetensors")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    assert straight["threshold"] == resumed["threshold"]


def test_frozen_backbone_trains_head_on_cached_features(split_manifest, tmp_path):
    cfg = resolve_config("efficientnet-lite0-transfer", str(split_manifest), epochs=3, aug_views=1, class_weighted=True)
    summary = fit(cfg, tmp_path / "lite0", show_progress=False)
    model, meta = load_checkpoint(tmp_path / "lite0")
    reference = create_model("efficientnet-lite0-transfer", pretrained=True)
    # The backbone is saved unchanged: training touched only the head.
    assert torch.equal(model.backbone.conv_stem.weight, reference.backbone.conv_stem.weight)
    assert summary["epochs_run"] == 3 and meta["config"]["class_weighted"] is True
    assert summary["params"]["trainable"] == sum(p.numel() for p in model.head.parameters())


def test_training_needs_a_split(tmp_path, toy_dataset):
    from realorai.data.manifest import save_manifest, scan

    save_manifest(scan(toy_dataset, show_progress=False), tmp_path / "m.parquet")
    with pytest.raises(ValueError, match="realorai data split"):
        fit(resolve_config("report-cnn", str(tmp_path / "m.parquet"), epochs=1), tmp_path / "run", show_progress=False)


def test_config_layers_and_unknown_keys(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("epochs = 7\nlr = 0.01\n")
    cfg = resolve_config("resnet101-transfer", "m.parquet", f, lr=0.5)
    assert (cfg.optimizer, cfg.epochs, cfg.lr) == ("sgd", 7, 0.5)
    assert resolve_config("resnet101-transfer", "m.parquet").epochs == 20
    j = tmp_path / "c.json"
    j.write_text('{"epochz": 3}')
    with pytest.raises(ValueError, match="epochz"):
        resolve_config("report-cnn", "m.parquet", j)


def test_report_compares_runs(cnn_run, split_manifest, tmp_path):
    evaluate_run(cnn_run, split_manifest, "test", show_progress=False)
    html_path, md_path = write_report([cnn_run], tmp_path / "cmp.html")
    page = html_path.read_text()
    assert "report-cnn" in page and "data:image/png;base64," in page and "ROC-AUC" in page
    md = md_path.read_text()
    assert "| report-cnn |" in md and "](" in md and "trained from scratch" in md


def test_atomic_write_never_leaves_a_half_file(tmp_path):
    target = tmp_path / "out.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
