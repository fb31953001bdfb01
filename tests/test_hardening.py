"""Regression tests for the trust-and-correctness review: each failed on the code before its fix."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from realorai.atomic import write_json
from realorai.train import STATE, fit, resolve_config


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
    cfg = resolve_config("report-cnn", str(split_manifest), epochs=2, batch_size=8)
    with pytest.raises(ValueError, match="refused to load"):
        fit(cfg, run, resume=True, show_progress=False)
    assert not marker.exists()


def test_resume_refuses_changed_settings_before_writing(cnn_run, split_manifest, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cnn_run, run)
    before = (run / "config.json").read_text()
    cfg = resolve_config("report-cnn", str(split_manifest), epochs=3, batch_size=8, lr=0.5)
    with pytest.raises(ValueError, match=r"lr: 0\.001 -> 0\.5"):
        fit(cfg, run, resume=True, show_progress=False)
    assert (run / "config.json").read_text() == before  # nothing rewritten
    # More epochs alone is what resuming is for.
    more = resolve_config("report-cnn", str(split_manifest), epochs=3, batch_size=8)
    assert fit(more, run, resume=True, show_progress=False)["epochs_run"] == 3


def test_train_split_of_one_more_than_a_batch_multiple(split_manifest, tmp_path):
    df = pd.read_parquet(split_manifest)
    n_train = int(((df["split"] == "train") & (df["status"] == "ok")).sum())
    batch = n_train - 1  # the last batch holds exactly one image
    cfg = resolve_config("report-cnn", str(split_manifest), epochs=1, batch_size=batch)
    summary = fit(cfg, tmp_path / "run", show_progress=False)
    assert summary["epochs_run"] == 1


def test_tiny_validation_keeps_threshold_at_half(cnn_run):
    from realorai.checkpoint import read_meta

    meta = read_meta(cnn_run)
    assert meta["threshold"] == 0.5 and "under 10 per class" in meta["threshold_source"]
    assert sum(meta["n_val"].values()) < 20


def test_json_outputs_are_strict(tmp_path):
    path = write_json(tmp_path / "m.json", {"auc": float("nan"), "x": [1.0, float("inf")]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"auc": None, "x": [1.0, None]}


def test_100_megapixel_header_is_accepted_and_130_refused(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from conftest import png_header_bomb

    from realorai.imaging import ImageLoadError, open_image

    ok = tmp_path / "big.png"
    ok.write_bytes(png_header_bomb(10_000, 10_000))  # 100 MP: a real camera can make this
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_bomb(13_000, 10_000))

    def status(path):
        try:
            open_image(path).close()
            return "ok"
        except ImageLoadError as e:
            return e.status

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(status, [ok, bomb] * 100))
    assert results == ["ok", "unsupported"] * 100  # the same answer every time, in any thread


def test_16_bit_scaled_by_bit_depth_not_by_maximum(tmp_path):
    import numpy as np
    from PIL import Image

    from realorai.imaging import load_image

    for top in (255, 256):
        ramp = np.linspace(0, top, 64, dtype=np.uint16).reshape(8, 8)
        f = tmp_path / f"ramp{top}.png"
        Image.fromarray(ramp).save(f)
        assert Image.open(f).mode.startswith("I")
        assert np.asarray(load_image(f)).max() == 1  # 255/65535 and 256/65535 of full scale


@pytest.mark.parametrize("compressed", [False, True])
def test_huge_png_text_chunk_is_one_error_row(tmp_path, compressed, cnn_run):
    detector = cnn_run
    from conftest import smooth_image
    from PIL import PngImagePlugin
    from typer.testing import CliRunner

    from realorai.cli import app

    info = PngImagePlugin.PngInfo()
    text = "A" * (80 * 2**20 if not compressed else 20 * 2**20)
    if compressed:
        info.add_text("Comment", text, zip=True)  # a zlib bomb: 20 MB of text in a few kB
    else:
        info.add_text("Comment", text)
    bad = tmp_path / "bad.png"
    smooth_image(1, 32).save(bad, pnginfo=info)
    smooth_image(2, 64).save(tmp_path / "good.png")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path), "--json", "-q", "--model", str(detector)])
    assert result.exit_code == 0, result.output
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.output.strip().splitlines())}
    assert set(rows) == {"bad.png", "good.png"}
    assert rows["bad.png"]["verdict"] == "error" and re.search("text.chunk", rows["bad.png"]["error"], re.I)
    assert not rows["good.png"]["error"] and rows["good.png"]["verdict"] in ("ai", "real")


def test_labelled_copy_wins_over_unlabeled_exact_copy(tmp_path):
    from conftest import make_dataset

    from realorai.data.manifest import scan

    root = make_dataset(tmp_path / "d", per_class=3)
    (root / "downloads").mkdir()
    shutil.copy(root / "real" / "real_000.png", root / "downloads" / "x.png")  # sorts before real/
    df = scan(root, show_progress=False).set_index("path")
    assert df.loc[str(root / "real" / "real_000.png"), "status"] == "ok"
    assert df.loc[str(root / "downloads" / "x.png"), "status"] == "duplicate"


def test_near_duplicate_chains_do_not_merge_unrelated_images(tmp_path):
    import numpy as np
    from conftest import smooth_image
    from PIL import Image

    from realorai.data.manifest import scan

    a = np.asarray(smooth_image(1, 128), dtype=float)
    b = np.asarray(smooth_image(2, 128), dtype=float)
    for label in ("ai", "real"):
        (tmp_path / label).mkdir()
    for k, t in enumerate(np.linspace(0, 1, 25)):  # a blend chain from a (ai) to b (real)
        label = "ai" if t < 0.5 else "real"
        Image.fromarray((a * (1 - t) + b * t).astype(np.uint8)).save(tmp_path / label / f"blend_{k:02d}.png")
    df = scan(tmp_path, show_progress=False)
    first, last = df[df["path"].str.endswith("blend_00.png")], df[df["path"].str.endswith("blend_24.png")]
    assert first["dup_group"].iloc[0] != last["dup_group"].iloc[0]
    assert df["label_conflict"].sum() < 16  # before: 16 of 25 lost to one chained group


def test_flat_images_are_not_near_duplicates_of_each_other(tmp_path):
    from PIL import Image

    from realorai.data.manifest import scan

    for label, colour in (("ai", (10, 10, 10)), ("real", (200, 30, 30))):
        (tmp_path / label).mkdir()
        Image.new("RGB", (64, 64), colour).save(tmp_path / label / "flat.png")
        Image.new("RGB", (1, 300), colour).save(tmp_path / label / "strip.png")
    df = scan(tmp_path, show_progress=False)
    assert not df["label_conflict"].any() and (df["status"] == "ok").all()


def test_file_name_that_is_not_utf8_gets_a_row(tmp_path):
    import os

    from conftest import make_dataset

    from realorai.data.manifest import save_manifest, scan

    root = make_dataset(tmp_path / "d", per_class=2)
    bad = os.path.join(os.fsencode(root / "ai"), b"bad\xff\xfename.png")
    shutil.copy(root / "ai" / "ai_000.png", bad)
    df = scan(root, show_progress=False)
    row = df[df["path"].str.contains("bad")].iloc[0]
    assert row["status"] == "unsupported" and "UTF-8" in row["reason"] and "\\xff" in row["path"]
    save_manifest(df, tmp_path / "m.parquet")  # writes, where the raw name used to crash
    save_manifest(df, tmp_path / "m.csv")


def test_manifest_round_trips_through_csv_and_parquet(tmp_path):
    from conftest import make_dataset

    from realorai.data.audit import audit
    from realorai.data.manifest import load_manifest, save_manifest, scan
    from realorai.data.split import split

    df = split(scan(make_dataset(tmp_path / "d", per_class=6), show_progress=False), seed=0)
    save_manifest(df, tmp_path / "m.csv")
    save_manifest(df, tmp_path / "m.parquet")
    a, b = load_manifest(tmp_path / "m.csv"), load_manifest(tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a["label_conflict"].dtype == bool and str(a["width"].dtype) == "Int64"
    audit(a)  # crashed on the CSV form before
    text = (tmp_path / "m.csv").read_text().splitlines()
    cols = text[0].split(",")
    cells = text[1].split(",")
    cells[cols.index("label_conflict")] = ""
    (tmp_path / "edited.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    with pytest.raises(ValueError, match="column 'label_conflict' needs True/False, got '' \\(line 2\\)"):
        load_manifest(tmp_path / "edited.csv")


def test_outputs_follow_the_umask(tmp_path):
    import os
    import stat

    from realorai.atomic import UMASK, write_text

    f = write_text(tmp_path / "x.txt", "hi")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o666 & ~UMASK
    long_name = "n" * 250 + ".json"  # near NAME_MAX: the temporary name must still fit
    assert write_text(tmp_path / long_name, "{}").read_text() == "{}"


def test_evaluate_refuses_images_the_model_was_trained_on(cnn_run, split_manifest, tmp_path):
    from realorai.data.manifest import load_manifest, save_manifest
    from realorai.data.split import split
    from realorai.evaluate import evaluate_run

    resplit = tmp_path / "resplit.parquet"  # another seed: most "test" images were trained on
    save_manifest(split(load_manifest(split_manifest), seed=99), resplit)
    with pytest.raises(ValueError, match="were used to train or calibrate this model"):
        evaluate_run(cnn_run, resplit, "test", tmp_path / "e1", show_progress=False)
    m = evaluate_run(cnn_run, resplit, "test", tmp_path / "e2", show_progress=False, allow_seen=True)
    assert m["seen_in_training"] > 0
    assert evaluate_run(cnn_run, split_manifest, "test", tmp_path / "e3", show_progress=False)["seen_in_training"] == 0


def _rgb_icc(red, green, blue, name: str) -> bytes:
    """A minimal ICC v2 display profile: primaries (PCS XYZ, D50) and gamma-1 curves."""
    import struct

    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(v):
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    curv = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 256) + b"\0\0"
    text = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green))]
    tags += [(b"bXYZ", xyz(blue)), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I", offset + len(data)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + data


def test_icc_profile_converted_to_srgb_and_recorded(tmp_path):
    import numpy as np
    from PIL import Image

    from realorai.data.manifest import scan
    from realorai.imaging import load_image

    # sRGB's primaries with red and green swapped: stored red is meant to be shown green.
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    icc = _rgb_icc(green, red, blue, "swapped primaries")
    for label in ("ai", "real"):
        (tmp_path / label).mkdir()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(tmp_path / "ai" / "x.png", icc_profile=icc)
    Image.new("RGB", (16, 16), (200, 0, 0)).save(tmp_path / "real" / "plain.png")
    shown = np.asarray(load_image(tmp_path / "ai" / "x.png"))[0, 0]
    assert shown[1] > 150 and shown[0] < 50  # converted: green, as the profile says
    assert tuple(np.asarray(load_image(tmp_path / "real" / "plain.png"))[0, 0]) == (200, 0, 0)
    df = scan(tmp_path, show_progress=False).set_index("path")
    assert df.loc[str(tmp_path / "ai" / "x.png"), "color_space"] == "swapped primaries"
    assert df.loc[str(tmp_path / "real" / "plain.png"), "color_space"] == ""


def test_symlinked_class_folders_and_avif_ico_are_found(tmp_path):
    import os

    from conftest import make_dataset
    from PIL import Image

    from realorai.data.manifest import scan
    from realorai.inference import expand_inputs

    shared = make_dataset(tmp_path / "shared", per_class=3)
    root = tmp_path / "data"
    root.mkdir()
    for label in ("ai", "real"):
        os.symlink(shared / label, root / label)
    os.symlink(root, root / "ai" / "loop")  # a cycle must not hang the walk
    Image.new("RGB", (32, 32), (1, 2, 3)).save(shared / "real" / "icon.ico")
    Image.new("RGB", (32, 32), (1, 2, 3)).save(shared / "real" / "photo.avif")
    df = scan(root, show_progress=False)
    assert (df["label"] != "").sum() >= 8
    files, _ = expand_inputs([str(root / "real")])
    assert {os.path.basename(f) for f in files} >= {"icon.ico", "photo.avif", "real_000.png"}


def test_center_crop_of_an_extreme_strip_is_bounded():
    import time

    from PIL import Image

    from realorai.models import resolve_data_config
    from realorai.preprocess import resize_for_model

    strip = Image.new("RGB", (1, 100_000), (9, 9, 9))
    t0 = time.perf_counter()
    x = resize_for_model(strip, resolve_data_config("efficientnet-lite0-transfer"))
    assert tuple(x.shape) == (3, 224, 224) and time.perf_counter() - t0 < 2.0  # was ~20 GB


def test_broken_checkpoints_are_refused(cnn_run, tmp_path):
    import json as _json

    import safetensors.torch
    from safetensors import safe_open

    from realorai.checkpoint import load_checkpoint

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

    cfg = resolve_config("report-cnn", str(split_manifest), epochs=1, batch_size=8)
    with folder_lock(tmp_path / "run"), pytest.raises(ValueError, match="in use by another"):
        fit(cfg, tmp_path / "run", show_progress=False)


def test_report_refuses_a_stale_evaluation(cnn_run, split_manifest, tmp_path):
    from realorai.evaluate import evaluate_run
    from realorai.report import write_report

    run = tmp_path / "run"
    shutil.copytree(cnn_run, run)
    evaluate_run(run, split_manifest, "test", show_progress=False)
    write_report([run], tmp_path / "r.html")
    more = resolve_config("report-cnn", str(split_manifest), epochs=3, batch_size=8)
    fit(more, run, resume=True, show_progress=False)  # a newer checkpoint, the old eval-test/ left
    with pytest.raises(ValueError, match="not from the current checkpoint"):
        write_report([run], tmp_path / "r2.html")


def test_cli_errors_are_lines_not_tracebacks(tmp_path, capsys, monkeypatch):
    import sys

    from conftest import make_dataset

    from realorai.cli import main

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
    assert e.value.code == 0
    assert "[red]x[bold].png" in capsys.readouterr().err  # shown as named, not as markup


def test_bf16_models_are_scored_in_bf16(split_manifest, tmp_path):
    from realorai.checkpoint import load_checkpoint
    from realorai.inference import score_paths
    from realorai.preprocess import load_tensor, normalize

    cfg = resolve_config("report-cnn", str(split_manifest), epochs=1, batch_size=8, precision="bf16")
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
    from realorai.evaluate import evaluate_run

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
