"""Scan, duplicates, label conflicts, audit, split, overview."""

from __future__ import annotations

import io

import pytest
from conftest import SHARED, make_dataset, png_header_bomb, smooth_image
from PIL import Image

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
    smooth_image(1, 64).resize((60, 60)).save(ai / "near_of_ai_001.jpg", quality=85)  # near duplicate
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
        "phash",
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
