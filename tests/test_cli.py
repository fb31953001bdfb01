"""The command line, driven through Typer's runner as a user would type it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from realorai.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_every_job():
    result = invoke("--help")
    assert result.exit_code == 0
    for job in ("data", "train", "evaluate", "report", "predict", "reproduce", "models"):
        assert job in result.output
    data_help = invoke("data", "--help").output
    for job in ("scan", "audit", "split", "overview"):
        assert job in data_help


def test_models_table():
    result = invoke("models")
    assert result.exit_code == 0 and "report-cnn" in result.output and "efficientnet-lite0-transfer" in result.output


def test_data_jobs_end_to_end(toy_dataset, tmp_path):
    (toy_dataset / "ai" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    manifest = tmp_path / "m.parquet"
    result = invoke("data", "scan", toy_dataset, "-o", manifest, "-q")
    assert result.exit_code == 1, result.output  # one image could not be read: exit code 1, and it is listed
    assert "broken.png" in result.output and "corrupt" in result.output
    result = invoke("data", "audit", manifest, "-o", tmp_path / "audit.json")
    assert result.exit_code == 0, result.output
    assert "metadata-only classifier" in result.output
    assert "per_class" in json.loads((tmp_path / "audit.json").read_text())
    result = invoke("data", "split", manifest, "--seed", "1")
    assert result.exit_code == 0 and "train" in result.output
    result = invoke("data", "overview", manifest, "-o", tmp_path / "grid.png")
    assert result.exit_code == 0 and (tmp_path / "grid.png").stat().st_size > 1000


def test_scan_of_a_missing_folder_is_a_clear_error(tmp_path):
    result = invoke("data", "scan", tmp_path / "nope", "-o", tmp_path / "m.parquet")
    assert result.exit_code == 2 and "not a folder" in result.output


def test_train_evaluate_predict_report(split_manifest, toy_dataset, tmp_path):
    run = tmp_path / "run"
    result = invoke(
        "train",
        "--model",
        "efficientnet-lite0-transfer",
        "--manifest",
        split_manifest,
        "-o",
        run,
        "--epochs",
        "2",
        "--no-augment",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output and (run / "best.safetensors").is_file()
    result = invoke("evaluate", run, "--manifest", split_manifest, "--split", "test", "-q")
    assert result.exit_code == 0, result.output
    assert "precision    recall" in result.output and "ROC-AUC" in result.output
    result = invoke("report", run, run, "-o", tmp_path / "report.html")
    assert result.exit_code == 0 and (tmp_path / "report.md").is_file()
    # Every run on one ROC plot and one metrics chart, embedded; the parameter count is never 0.
    md = (tmp_path / "report.md").read_text()
    assert "![ROC, every run](report-roc.png)" in md and (tmp_path / "report-metrics.png").is_file()
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") >= 2
    assert "| 0 (0) |" not in md

    img = toy_dataset / "ai" / "ai_000.png"
    result = invoke("predict", img, "--model", run, "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.strip().splitlines()[0])
    assert row["path"] == str(img) and 0 <= row["p_ai"] <= 1 and row["schema_version"] == 3
    # A classifier trained on one dataset has no out-of-source measurement: its pixel verdicts are inconclusive.
    assert row["verdict"] == "inconclusive" and row["basis"] == "pixels" and "inconclusive" in row["reliability"]
    result = invoke("predict", toy_dataset, "--model", run, "--csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 24 and {"path", "p_ai", "verdict"} <= set(rows[0])
    result = runner.invoke(app, ["predict", str(img), "--model", str(run), "-q"], env={"COLUMNS": "250"})
    assert "ai_000.png" in result.output and "P(AI), tier" in result.output and "inconclusive" in result.output


def test_predict_all_unreadable_exits_nonzero(cnn_run, tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_text("nope")
    result = invoke("predict", bad, "--model", cnn_run, "--json")
    assert result.exit_code == 3  # nothing scored
    assert json.loads(result.output)["error"].startswith("not a recognised image format")


def test_train_with_unknown_model_fails_cleanly(split_manifest, tmp_path):
    result = invoke("train", "--model", "nope", "--manifest", split_manifest, "-o", tmp_path / "r")
    assert result.exit_code == 2 and "available" in result.output


@pytest.mark.slow
@pytest.mark.slow
def test_reproduce_runs_every_stage(tmp_path):
    from conftest import make_dataset

    data = make_dataset(tmp_path / "data", per_class=10)
    result = invoke("reproduce", "--data", data, "-o", tmp_path / "out", "--epochs", "1", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "reproduce.json").read_text())
    assert set(summary["timings_s"]) >= {
        "scan",
        "audit",
        "split",
        "overview",
        "train report-cnn",
        "train resnet101-transfer",
        "train efficientnet-lite0-transfer",
        "report",
    }
    assert "RANDOMLY INITIALISED" in summary["notes"].get("resnet101-transfer", "RANDOMLY INITIALISED")
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--resume"], "--resume applies to an --output scan"),
        (["--overwrite"], "--overwrite applies to an --output scan"),
        (["-o", "out.csv", "--resume", "--overwrite"], "choose one"),
        (["--evidence", "--pixels-only"], "contradict"),
        (["--engine", "ray"], "--engine ray writes its rows to a file"),
        (["-o", "out.parquet", "--engine", "ray", "--heatmaps", "h"], "use the local engine for heatmaps"),
        (["--backend", "tensorrt"], "tensorrt"),
    ],
)
def test_predict_option_combinations_that_cannot_work_are_refused(tmp_path, args, words):
    result = invoke("predict", tmp_path / "x.jpg", *args)
    assert result.exit_code == 2 and words in result.output


def test_export_onnx_and_serve_refuse_bad_targets(tmp_path):
    result = invoke("export", "onnx", "-o", tmp_path / "model.bin")
    assert result.exit_code == 2 and "must end in .onnx" in result.output
    result = invoke("serve", "--host", "0.0.0.0")
    assert result.exit_code == 2 and "REALORAI_API_KEY" in result.output


def test_serve_honours_port_0_and_refuses_an_empty_host(monkeypatch):
    import uvicorn

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.update(kw))
    result = invoke("serve", "--port", "0")
    assert result.exit_code == 0 and ran["port"] == 0 and "free port" in result.output
    result = invoke("serve", "--host", "")
    assert result.exit_code == 2 and "empty host" in result.output


def test_cli_errors_are_lines_not_tracebacks(tmp_path, capsys, monkeypatch):
    import sys

    from conftest import make_dataset

    from realorai.cli.main import main

    root = make_dataset(tmp_path / "d", per_class=2)
    (root / "ai" / "[red]x[bold].png").write_bytes(b"junk")
    cases = [
        ["data", "scan", str(root), "-o", str(tmp_path)],  # a folder as the output
        ["data", "scan", str(root), "-o", str(root / "ai" / "ai_000.png" / "m.parquet")],  # inside a file
        ["data", "scan", str(root), "-o", str(tmp_path / ("n" * 300 + ".parquet"))],
        ["data", "split", str(tmp_path / "nope.parquet")],
    ]
    for argv in cases:
        monkeypatch.setattr(sys, "argv", ["realorai", *argv])
        with pytest.raises(SystemExit) as e:
            main()
        assert e.value.code == 2
        captured = capsys.readouterr()
        assert "error:" in captured.err and "Traceback" not in captured.err, argv
    monkeypatch.setattr(sys, "argv", ["realorai", "data", "scan", str(root), "-o", str(tmp_path / "m.parquet"), "-q"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 1  # the junk file is an unreadable image
    assert "[red]x[bold].png" in capsys.readouterr().err  # shown as named, not as markup


def test_terminal_escapes_from_names_and_metadata_are_escaped(tmp_path):
    from conftest import smooth_image
    from PIL import Image

    img = tmp_path / "a\x1b[2Jb\x1bM.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Evil\x1b[31mCam\x9b"  # Make
    exif[0x0110] = "Model\x1b]0;title\x07"
    smooth_image(1, 256, noise=8.0).save(img, exif=exif)
    for args in (["predict", str(img)], ["inspect", str(img)], ["predict", str(img), "--csv"]):
        result = invoke(*args, "-q")
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x9b" not in result.output and "\x07" not in result.output
        assert "\\x1b" in result.output
    result = invoke("predict", str(tmp_path / "gone\x1b[2J.jpg"), "-q")
    assert "\x1b" not in result.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["--batch-size", "0"], "--batch-size must be 1 to 1024"),
        (["--batch-size", "-3"], "--batch-size must be 1 to 1024"),
        (["--chunk", "0", "-o", "x.csv"], "--chunk must be at least 1"),
        (["-o", "x.csv", "--json"], "--json prints the rows on stdout"),
        (["-o", "x.parquet", "--csv"], "--csv prints the rows on stdout"),
        (["--json", "--csv"], "choose one"),
    ],
)
def test_bad_values_and_conflicting_options_are_refused(tmp_path, args, words):
    from conftest import smooth_image

    smooth_image(1, 64).save(tmp_path / "a.png")
    result = invoke("predict", str(tmp_path / "a.png"), *[str(tmp_path / a) if a.startswith("x.") else a for a in args])
    assert result.exit_code == 2 and words in result.output
    assert not list(tmp_path.glob("x.*"))


def test_a_full_disk_during_a_scan_says_resume_continues_it(tmp_path, monkeypatch):
    import errno

    from conftest import smooth_image

    from realorai.inference import batch

    for i in range(3):
        smooth_image(i, 64).save(tmp_path / f"{i}.png")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(batch, "_commit", full)
    result = invoke("predict", str(tmp_path), "-o", str(tmp_path / "o.csv"), "-q")
    assert result.exit_code == 3 and "No space left on device" in result.output and "--resume" in result.output
    assert "unexpected" not in result.output


def test_python_api_one_path_one_row(tmp_path):
    from realorai.inference.detector import Detector

    det = Detector.default()
    row = det.predict(str(tmp_path / "missing.jpg"))
    assert isinstance(row, dict) and row["verdict"] == "error" and "no such file" in row["error"]
    with pytest.raises(ValueError, match="batch_size"):
        det.score([str(tmp_path / "missing.jpg")], batch_size=0)
