"""Scan, duplicates, label conflicts, audit, split, overview."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED, make_dataset, png_header_bomb, smooth_image
from PIL import Image
from test_bank import picture

from realorai.data.audit import audit
from realorai.data.manifest import label_for, load_manifest, parse_label_map, save_manifest, scan, summary, usable
from realorai.data.overview import sample_grid
from realorai.data.split import parse_ratios, split, split_counts


@pytest.fixture
def messy(tmp_path):
    """A dataset with one of every kind of bad file, duplicates and a cross-class duplicate."""
    root = make_dataset(tmp_path / "messy", per_class=6)
    ai, real = root / "ai", root / "real"
    (ai / "empty.jpg").write_bytes(b"")
    (ai / "text.jpg").write_text("not an image")
    buf = io.BytesIO()
    smooth_image(50, 128, noise=20).save(buf, "JPEG")
    (real / "cut.jpg").write_bytes(buf.getvalue()[:400])
    (real / "bomb.png").write_bytes(png_header_bomb(100_000, 100_000))
    (root / "README.txt").write_text("about this data")
    Image.new("CMYK", (32, 32), (10, 20, 30, 0)).save(real / "cmyk.jpg")
    (ai / "ai_000_copy.png").write_bytes((ai / "ai_000.png").read_bytes())  # exact duplicate
    picture(1, 64).save(ai / "ai_001.png")  # photo-like: PDQ reads it stably (6x6 colour blocks are not)
    picture(1, 64).resize((60, 60)).save(ai / "near_of_ai_001.jpg", quality=85)  # near duplicate
    (real / "stolen.png").write_bytes((ai / "ai_002.png").read_bytes())  # same bytes, other class
    return root


def test_scan_reports_every_bad_file_and_completes(messy):
    df = scan(messy, show_progress=False)
    status = dict(zip(df["path"].map(lambda p: p.split("messy/")[1]), df["status"], strict=True))
    assert status["ai/empty.jpg"] == "corrupt"
    assert status["ai/text.jpg"] == "corrupt"
    assert status["real/cut.jpg"] == "corrupt"
    assert status["real/bomb.png"] == "unsupported"
    assert status["README.txt"] == "unsupported"
    assert status["real/cmyk.jpg"] == "ok"
    assert status["ai/ai_000_copy.png"] == "duplicate"
    assert status["ai/ai_000.png"] == "ok"
    reasons = dict(zip(df["path"].map(lambda p: p.split("messy/")[1]), df["reason"], strict=True))
    assert "empty file" in reasons["ai/empty.jpg"]
    assert "decompression bomb" in reasons["real/bomb.png"]
    assert "exact duplicate of" in reasons["ai/ai_000_copy.png"]
    assert len(df) == 6 * 2 + 9  # every file has a row
    assert set(df.columns) >= {
        "path",
        "label",
        "sha256",
        "pdq",
        "width",
        "height",
        "format",
        "mode",
        "bytes",
        "exif",
        "status",
        "reason",
    }


def test_near_duplicates_share_a_group_and_conflicts_are_flagged(messy):
    df = scan(messy, show_progress=False)
    by_name = df.assign(name=df["path"].map(lambda p: p.split("messy/")[1])).set_index("name")
    assert by_name.at["ai/near_of_ai_001.jpg", "status"] == "ok"
    assert by_name.at["ai/near_of_ai_001.jpg", "dup_group"] == by_name.at["ai/ai_001.png", "dup_group"]
    assert by_name.at["ai/ai_003.png", "dup_group"] != by_name.at["ai/ai_001.png", "dup_group"]
    assert by_name.at["real/stolen.png", "label_conflict"] and by_name.at["ai/ai_002.png", "label_conflict"]
    assert "label conflict" in by_name.at["ai/ai_002.png", "reason"]
    kept = usable(df)["path"].map(lambda p: p.split("messy/")[1]).tolist()
    assert "ai/ai_002.png" not in kept and "real/stolen.png" not in kept
    assert summary(df)["label_conflict_files"] == 2


def test_labels_from_class_folders_only(tmp_path):
    root = tmp_path / "d"
    assert label_for(root / "AiArtData" / "x.jpg", root, parse_label_map(None)) == "ai"
    assert label_for(root / "RealArt" / "sub" / "x.jpg", root, parse_label_map(None)) == "real"
    assert label_for(root / "train" / "1_fake" / "x.jpg", root, parse_label_map(None)) == "ai"
    assert label_for(root / "FAKE" / "x.jpg", root, parse_label_map(None)) == "ai"
    assert label_for(root / "photos" / "fake_looking.jpg", root, parse_label_map(None)) is None  # no substrings
    assert label_for(root / "photos" / "x.jpg", root, parse_label_map("photos=real")) == "real"
    with pytest.raises(ValueError, match="FOLDER=LABEL"):
        parse_label_map("oops")


def test_unknown_folders_are_unlabeled(tmp_path):
    smooth_image(0).save((tmp_path / "misc").mkdir() or tmp_path / "misc" / "a.png")
    df = scan(tmp_path, show_progress=False)
    assert df["status"].tolist() == ["unlabeled"] and "--label-map" in df["reason"][0]


def test_manifest_roundtrip_parquet_and_csv(messy, tmp_path):
    df = scan(messy, show_progress=False)
    for name in ("m.parquet", "m.csv"):
        save_manifest(df, tmp_path / name)
        back = load_manifest(tmp_path / name)
        assert back["path"].tolist() == df["path"].tolist()
        assert back["status"].tolist() == df["status"].tolist()
    assert not list(tmp_path.glob(".*.tmp"))


def test_split_is_deterministic_stratified_and_keeps_groups_together(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=30)
    for i in range(5):  # near duplicates of five images
        smooth_image(i, 64).resize((58, 58)).save(root / "ai" / f"near_{i}.jpg", quality=80)
    df = scan(root, show_progress=False)
    a, b, c = split(df, seed=3), split(df, seed=3), split(df, seed=4)
    assert a["split"].tolist() == b["split"].tolist()
    assert a["split"].tolist() != c["split"].tolist()
    assert (a.groupby("dup_group")["split"].nunique() == 1).all()
    counts = split_counts(a)
    assert counts["test"]["real"] == 6 and counts["val"]["real"] == 3 and counts["train"]["real"] == 21
    assert abs(counts["test"]["ai"] - 7) <= 1
    assert parse_ratios("80/20") == (0.8, 0.0, 0.2)
    report = split(df, seed=0, ratios=parse_ratios("80/20"))
    assert "val" not in set(report["split"])


def test_audit_warns_when_metadata_separates_classes(tmp_path):
    root = tmp_path / "shortcut"
    for i in range(12):
        (root / "ai").mkdir(parents=True, exist_ok=True)
        (root / "real").mkdir(parents=True, exist_ok=True)
        smooth_image(i, 64).save(root / "ai" / f"{i}.png")
        smooth_image(100 + i, 96 + 8 * i).save(root / "real" / f"{i}.jpg", quality=90)
    result = audit(scan(root, show_progress=False))
    assert result["metadata_classifier"]["accuracy"] >= 0.9
    assert any("SHORTCUT" in w for w in result["warnings"])
    assert result["per_class"]["ai"]["format"] == {"PNG": 12}


def test_audit_quiet_when_metadata_is_uninformative(tmp_path):
    root = tmp_path / "fair"
    for label in ("ai", "real"):  # both classes stored the same way: same size, format, noise
        (root / label).mkdir(parents=True)
        for i in range(20):
            smooth_image((0 if label == "ai" else 500) + i, 64, noise=10).save(root / label / f"{i}.png")
    result = audit(scan(root, show_progress=False))
    assert result["metadata_classifier"]["accuracy"] < 0.75
    assert not result["warnings"]


def test_overview_grid_is_a_png(toy_dataset, tmp_path):
    out = sample_grid(scan(toy_dataset, show_progress=False), tmp_path / "grid.png", per_class=4)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 200


@pytest.mark.skipif(not (SHARED / "playground100").is_dir(), reason="../shared/data/playground100 not present")
def test_playground100_size_shortcut_is_caught():
    df = scan(SHARED / "playground100", show_progress=False)
    assert summary(df)["usable_by_label"] == {"ai": 50, "real": 50}
    result = audit(df)
    assert result["best_single_feature"]["accuracy"] > 0.95
    assert any("SHORTCUT" in w for w in result["warnings"])


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


@pytest.mark.parametrize("threshold", [0, 4, 31])
def test_near_pairs_are_exactly_those_of_a_brute_force_scan(threshold):
    from realorai.data.duplicates import _near_pairs

    rng = np.random.default_rng(threshold)
    hashes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    for a, b, k in [(1, 2, threshold), (3, 4, threshold + 1), (5, 6, 0), (7, 8, max(0, threshold - 1))]:
        bits = np.unpackbits(hashes[a].copy())
        bits[rng.choice(256, k, replace=False)] ^= 1
        hashes[b] = np.packbits(bits)
    d = np.bitwise_count(hashes[:, None] ^ hashes[None, :]).sum(axis=2)
    brute = {(int(i), int(j)) for i, j in zip(*np.nonzero(d <= threshold), strict=True) if i < j}
    assert set(_near_pairs(hashes, threshold)) == brute and (1, 2) in brute and (3, 4) not in brute
    with pytest.raises(ValueError, match="0 to 31"):
        list(_near_pairs(hashes, 32))
