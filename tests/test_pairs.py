"""Aligned pairs: the taef2 autoencoder, `data reconstruct`, and pairs kept together in manifests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SHARED, smooth_image
from typer.testing import CliRunner

from realorai.cli.main import app
from realorai.data.manifest import scan
from realorai.data.split import split
from realorai.detector.autoencoder import FILES, TAEF2
from realorai.detector.pairs import reconstruct_folders

TAEF2_DIR = SHARED.parent / "models" / "taef2"


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A randomly initialised state dict of taef2's shapes (CI has no copy of the real weights)."""
    folder = tmp_path_factory.mktemp("taef2")
    torch.manual_seed(0)
    net = TAEF2()
    torch.save(net.encoder.state_dict(), folder / "taef2_encoder.pth")
    torch.save(net.decoder.state_dict(), folder / "taef2_decoder.pth")
    return folder


def test_random_weights_of_the_same_shape_load_and_reconstruct(random_weights):
    net = TAEF2.load(random_weights)
    rgb = np.asarray(smooth_image(1, 48), dtype=np.uint8)
    out = net.reconstruct(rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match="multiples of 8"):
        net.reconstruct(rgb[:45])


def test_wrong_or_missing_weights_are_clear_errors(tmp_path, random_weights):
    with pytest.raises(FileNotFoundError, match="taef2 weights missing"):
        TAEF2.load(tmp_path)
    torch.save({"0.weight": torch.zeros(1)}, tmp_path / "taef2_encoder.pth")
    (tmp_path / "taef2_decoder.pth").write_bytes((random_weights / "taef2_decoder.pth").read_bytes())
    with pytest.raises(ValueError, match="not taef2 weights"):
        TAEF2.load(tmp_path)


@pytest.mark.skipif(not TAEF2_DIR.is_dir(), reason="../shared/models/taef2 is absent")
def test_shared_weights_reconstruct_an_image_closely():
    from realorai.hashing import sha256_file

    assert {n: sha256_file(TAEF2_DIR / n) for n in FILES} == FILES  # the pinned upstream files
    net = TAEF2.load(TAEF2_DIR)
    rgb = np.asarray(smooth_image(2, 96, noise=4), dtype=np.uint8)
    out = net.reconstruct(rgb)
    assert out.shape == (96, 96, 3)
    psnr = 10 * np.log10(255**2 / np.mean((out.astype(float) - rgb) ** 2))
    assert psnr > 25  # the same content: a wrong architecture gives noise (under 12 dB)


def test_pairs_stay_together_and_are_not_conflicts(tmp_path, random_weights):
    src = tmp_path / "photos"
    (src / "real").mkdir(parents=True)
    (src / "ai").mkdir()
    for i in range(8):
        smooth_image(100 + i, 96 + 8 * i, noise=8).save(src / "real" / f"p{i}.jpg", quality=90)
    smooth_image(999, 96).save(src / "ai" / "fake.png")  # never reconstructed as a real image
    smooth_image(1, 20).save(src / "real" / "tiny.png")  # under 64 px: skipped with its reason
    result = reconstruct_folders([src], tmp_path / "pairs", random_weights, max_side=80, show_progress=False)
    assert result["pairs"] == 8 and list(result["skipped"]) == [str(src / "real" / "tiny.png")]
    pairs = tmp_path / "pairs"
    assert sorted(p.name for p in (pairs / "real").iterdir()) == sorted(p.name for p in (pairs / "ai").iterdir())
    # A true conflict elsewhere stays one: an AI-labelled copy of a real crop.
    real_one = sorted((pairs / "real").iterdir())[0]
    (pairs / "ai" / "stolen.png").write_bytes(real_one.read_bytes())
    df = scan(pairs, show_progress=False)
    images = df[df["status"].isin(["ok", "duplicate"])]
    paired = images[images["pair"] != ""]
    assert len(paired) == 16 and paired.groupby("pair")["dup_group"].nunique().eq(1).all()
    conflicts = images[images["label_conflict"]]
    assert set(conflicts["path"]) == {
        str(real_one),
        str(pairs / "ai" / real_one.name),
        str(pairs / "ai" / "stolen.png"),
    }
    parts = split(df, seed=0)
    assert parts[parts["pair"] != ""].groupby("pair")["split"].nunique().eq(1).all()


def test_reconstruct_command_needs_weights(tmp_path):
    (tmp_path / "real").mkdir()
    smooth_image(1, 96).save(tmp_path / "real" / "a.png")
    r = CliRunner().invoke(
        app, ["data", "reconstruct", str(tmp_path), "-o", str(tmp_path / "out"), "--weights", str(tmp_path)]
    )
    assert r.exit_code == 2 and "taef2 weights missing" in r.output


def test_lodo_folds_never_train_on_the_left_out_sets_reconstructions(tmp_path, random_weights):
    from realorai.detector.pairs import pairs_excluding

    for name in ("setA", "setB"):
        (tmp_path / name / "real").mkdir(parents=True)
        for i in range(3):
            image = smooth_image({"setA": 10, "setB": 20}[name] + i, 96, noise=8)
            image.save(tmp_path / name / "real" / f"{name}{i}.png")
    reconstruct_folders([tmp_path / "setA", tmp_path / "setB"], tmp_path / "pairs", random_weights, 80, False)
    kept = pairs_excluding(tmp_path / "pairs", "setA")
    images = kept[kept["status"] == "ok"]
    assert len(images) == 6 and all("setB" in p for p in images["path"])
    assert set(images["label"]) == {"real", "ai"} and images["split"].isin(["train", "val"]).all()
