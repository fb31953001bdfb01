"""Training, checkpoints, resume, evaluation, prediction and the comparison report, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TEST_CNN

from realorai.atomic import atomic_path, write_text
from realorai.baselines.config import resolve_config
from realorai.baselines.score import score_paths
from realorai.baselines.train import STATE, fit
from realorai.data.manifest import load_manifest, usable
from realorai.data.split import labels_of
from realorai.evaluation.evaluate import evaluate_run
from realorai.evaluation.runs_report import write_report
from realorai.inference.predict import predict
from realorai.metrics import choose_threshold
from realorai.models import create_model
from realorai.models.checkpoint import load_checkpoint, read_meta


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
    assert config["model"] == TEST_CNN and config["optimizer"] == "adam" and config["lr"] == 1e-2


def test_report_models_get_the_reports_settings():
    cfg = resolve_config("report-cnn", "m.parquet")
    assert (cfg.optimizer, cfg.lr, cfg.epochs, cfg.batch_size) == ("adam", 1e-3, 30, 32)
    cfg = resolve_config("resnet101-transfer", "m.parquet", epochs=3)
    assert (cfg.optimizer, cfg.lr, cfg.momentum, cfg.epochs) == ("sgd", 1e-4, 0.9, 3)


def test_checkpoint_is_self_describing(cnn_run):
    meta = read_meta(cnn_run)
    assert meta["model"] == TEST_CNN and meta["classes"] == ["real", "ai"]
    assert meta["data_config"]["input_size"] == 32
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
    fit(resolve_config(TEST_CNN, str(manifest), epochs=1, batch_size=16), run, show_progress=False)
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
    rows, _ = predict(
        [str(toy_dataset / "ai"), str(bad), str(tmp_path / "missing.png"), str(toy_dataset / "real" / "real_00*.png")],
        cnn_run,
        show_progress=False,
    )
    by_path = {r["path"]: r for r in rows}
    assert by_path[str(bad)]["verdict"] == "error" and "cannot" in by_path[str(bad)]["error"]
    assert "no such file" in by_path[str(tmp_path / "missing.png")]["error"]
    good = [r for r in rows if not r["error"]]
    assert len(good) == 12 + 10
    # Scores obtained independently of predict's rows; a classifier trained on one dataset has no
    # out-of-source measurement, so every verdict from its pixels is inconclusive.
    model, meta = load_checkpoint(cnn_run)
    p, _ = score_paths(model, [r["path"] for r in good], show_progress=False)
    assert {r["verdict"] for r in good} == {"inconclusive"} and "reliability" not in meta
    assert [r["p_ai"] for r in good] == pytest.approx(p)


def test_resume_continues_exactly_where_it_stopped(split_manifest, tmp_path):
    cfg2 = resolve_config(TEST_CNN, str(split_manifest), epochs=2, batch_size=8, seed=5)
    straight = fit(cfg2, tmp_path / "straight", show_progress=False)
    cfg1 = resolve_config(TEST_CNN, str(split_manifest), epochs=1, batch_size=8, seed=5)
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
        fit(resolve_config(TEST_CNN, str(tmp_path / "m.parquet"), epochs=1), tmp_path / "run", show_progress=False)


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
    assert TEST_CNN in page and "data:image/png;base64," in page and "ROC-AUC" in page
    md = md_path.read_text()
    assert f"| {TEST_CNN} |" in md and "](" in md and "trained from scratch" in md


def test_atomic_write_never_leaves_a_half_file(tmp_path):
    target = tmp_path / "out.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


class _Exploit:
    """Pickles into a call that writes a marker file when unpickled by a trusting loader."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_resume_never_unpickles_code(cnn_run, split_manifest, tmp_path):
    run = tmp_path / "received"
    shutil.copytree(cnn_run, run)
    marker = tmp_path / "marker.txt"
    torch.save({"history": [], "payload": _Exploit(marker)}, run / STATE)
    cfg = resolve_config(TEST_CNN, str(split_manifest), epochs=2, batch_size=8)
    with pytest.raises(ValueError, match="refused to load"):
        fit(cfg, run, resume=True, show_progress=False)
    assert not marker.exists()


def test_resume_refuses_changed_settings_before_writing(cnn_run, split_manifest, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cnn_run, run)
    before = (run / "config.json").read_text()
    cfg = resolve_config(TEST_CNN, str(split_manifest), epochs=3, batch_size=8, lr=0.5)
    with pytest.raises(ValueError, match=r"lr: 0\.01 -> 0\.5"):
        fit(cfg, run, resume=True, show_progress=False)
    assert (run / "config.json").read_text() == before  # nothing rewritten
    # More epochs alone is what resuming is for.
    more = resolve_config(TEST_CNN, str(split_manifest), epochs=3, batch_size=8)
    assert fit(more, run, resume=True, show_progress=False)["epochs_run"] == 3


def test_train_split_of_one_more_than_a_batch_multiple(split_manifest, tmp_path):
    df = pd.read_parquet(split_manifest)
    n_train = int(((df["split"] == "train") & (df["status"] == "ok")).sum())
    batch = n_train - 1  # the last batch holds exactly one image
    cfg = resolve_config(TEST_CNN, str(split_manifest), epochs=1, batch_size=batch)
    summary = fit(cfg, tmp_path / "run", show_progress=False)
    assert summary["epochs_run"] == 1


def test_tiny_validation_keeps_threshold_at_half(cnn_run):
    from realorai.models.checkpoint import read_meta

    meta = read_meta(cnn_run)
    assert meta["threshold"] == 0.5 and "under 10 per class" in meta["threshold_source"]
    assert sum(meta["n_val"].values()) < 20


def test_evaluate_refuses_images_the_model_was_trained_on(cnn_run, split_manifest, tmp_path):
    from realorai.data.manifest import load_manifest, save_manifest
    from realorai.data.split import split
    from realorai.evaluation.evaluate import evaluate_run

    resplit = tmp_path / "resplit.parquet"  # another seed: most "test" images were trained on
    save_manifest(split(load_manifest(split_manifest), seed=99), resplit)
    with pytest.raises(ValueError, match="were used to train or calibrate this model"):
        evaluate_run(cnn_run, resplit, "test", tmp_path / "e1", show_progress=False)
    m = evaluate_run(cnn_run, resplit, "test", tmp_path / "e2", show_progress=False, allow_seen=True)
    assert m["seen_in_training"] > 0
    assert evaluate_run(cnn_run, split_manifest, "test", tmp_path / "e3", show_progress=False)["seen_in_training"] == 0


def test_broken_checkpoints_are_refused(cnn_run, tmp_path):
    import json as _json

    import safetensors.torch
    from safetensors import safe_open

    from realorai.models.checkpoint import load_checkpoint

    src = cnn_run / "best.safetensors"
    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
    state = safetensors.torch.load_file(str(src))
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key] * float("nan")
    safetensors.torch.save_file(state, str(tmp_path / "nan.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="NaN or infinity"):
        load_checkpoint(tmp_path / "nan.safetensors")
    info = _json.loads(meta["realorai"])
    info["model"] = "no-such-model"
    state = safetensors.torch.load_file(str(src))
    safetensors.torch.save_file(state, str(tmp_path / "u.safetensors"), metadata={"realorai": _json.dumps(info)})
    with pytest.raises(ValueError, match="names model 'no-such-model'"):
        load_checkpoint(tmp_path / "u.safetensors")


def test_run_folder_is_locked(split_manifest, tmp_path):
    from realorai.atomic import folder_lock

    cfg = resolve_config(TEST_CNN, str(split_manifest), epochs=1, batch_size=8)
    with folder_lock(tmp_path / "run"), pytest.raises(ValueError, match="in use by another"):
        fit(cfg, tmp_path / "run", show_progress=False)


def test_report_refuses_a_stale_evaluation(cnn_run, split_manifest, tmp_path):
    from realorai.evaluation.evaluate import evaluate_run
    from realorai.evaluation.runs_report import write_report

    run = tmp_path / "run"
    shutil.copytree(cnn_run, run)
    evaluate_run(run, split_manifest, "test", show_progress=False)
    write_report([run], tmp_path / "r.html")
    more = resolve_config(TEST_CNN, str(split_manifest), epochs=3, batch_size=8)
    fit(more, run, resume=True, show_progress=False)  # a newer checkpoint, the old eval-test/ left
    with pytest.raises(ValueError, match="not from the current checkpoint"):
        write_report([run], tmp_path / "r2.html")


def test_bf16_models_are_scored_in_bf16(split_manifest, tmp_path):
    from realorai.baselines.preprocess import load_tensor, normalize
    from realorai.baselines.score import score_paths
    from realorai.models.checkpoint import load_checkpoint

    cfg = resolve_config(TEST_CNN, str(split_manifest), epochs=1, batch_size=8, precision="bf16")
    fit(cfg, tmp_path / "run", show_progress=False)
    model, meta = load_checkpoint(tmp_path / "run")
    df = pd.read_parquet(split_manifest)
    paths = df[df["split"] == "val"]["path"].tolist()
    p, _ = score_paths(model, paths, show_progress=False)
    x = normalize(torch.stack([load_tensor(q, model.data_config) for q in paths]), model.data_config)
    with torch.no_grad():
        fp32 = model(x).softmax(1)[:, 1].numpy()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(x).float().softmax(1)[:, 1].numpy()
    assert p == pytest.approx(bf16, abs=1e-6)
    assert not np.allclose(p, fp32, atol=1e-6, rtol=0)  # the precision really differs


def test_all_unreadable_split_is_a_clear_error(cnn_run, tmp_path):
    from realorai.data.manifest import save_manifest
    from realorai.evaluation.evaluate import evaluate_run

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    df = pd.DataFrame(
        {
            "path": [str(bad)] * 2,
            "label": ["ai", "real"],
            "status": ["ok", "ok"],
            "dup_group": [0, 1],
            "label_conflict": [False, False],
            "split": ["test", "test"],
            "sha256": ["a", "b"],
        }
    )
    save_manifest(df, tmp_path / "m.parquet")
    with pytest.raises(ValueError, match="none of the 2 images in split 'test' could be read"):
        evaluate_run(cnn_run, tmp_path / "m.parquet", "test", tmp_path / "e", show_progress=False)
