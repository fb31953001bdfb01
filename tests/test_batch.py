"""The resumable batch scan: killed at random moments, resumed, every file exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import smooth_image

from realorai.inference.batch import parts_dir, run_batch
from realorai.inference.detector import Detector


def make_folder(root: Path, n: int = 48) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        smooth_image(i, 240 + (i % 3) * 40, noise=6.0).save(root / f"img_{i:03d}.png")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.default()


@pytest.mark.slow
def test_killed_scans_resume_to_the_same_rows(tmp_path, detector):
    folder = make_folder(tmp_path / "imgs")
    reference = tmp_path / "reference.jsonl"
    run_batch([str(folder)], reference, detector, chunk=4, show_progress=False, log=lambda m: None)
    expected = {r["path"]: r for r in read_jsonl(reference)}
    assert len(expected) == 49 and expected[str(folder / "broken.png")]["verdict"] == "error"

    out = tmp_path / "scan.jsonl"
    # Chunks of 2 (25 in all): a scan starts in under a second and scores ~30 images a second
    # here, so the kill must come early for the scan to still be running.
    cmd = [sys.executable, "-m", "realorai", "predict", str(folder), "-o", str(out), "--chunk", "2", "-q"]
    rng = random.Random(0)
    killed_mid_scan = 0
    for attempt in range(3):
        proc = subprocess.Popen(cmd + (["--resume"] if attempt else []), stdout=subprocess.DEVNULL)
        target = rng.randint(1, 11)  # kill once this many chunks are committed, plus a random moment
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            if len(list(parts_dir(out).glob("part-*.jsonl"))) >= target:
                time.sleep(rng.uniform(0, 0.3))
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_scan += not out.exists()
        proc.wait()
    assert killed_mid_scan >= 2, "the scan finished before it could be killed: the test proved nothing"
    done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # one file could not be read
    assert "49 rows" in done.stderr and "1 files could not be scored" in done.stderr
    rows = read_jsonl(out)
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 49  # nothing lost, nothing doubled
    for r in rows:
        e = expected[r["path"]]
        assert r["verdict"] == e["verdict"]
        assert (r["p_ai"] is None and e["p_ai"] is None) or r["p_ai"] == pytest.approx(e["p_ai"], abs=1e-6)
    assert not parts_dir(out).exists()


def test_resume_rules(tmp_path, detector):
    folder = make_folder(tmp_path / "imgs", n=6)
    out = tmp_path / "scan.parquet"
    summary = run_batch([str(folder)], out, detector, chunk=2, show_progress=False, log=lambda m: None)
    assert summary["files"] == 7 and summary["by_verdict"]["error"] == 1
    df = pd.read_parquet(out)
    assert list(df.columns[:6]) == ["schema_version", "path", "verdict", "basis", "tier", "p_ai"]
    with pytest.raises(ValueError, match="--resume to continue it or --overwrite"):
        run_batch([str(folder)], out, detector, show_progress=False)
    messages = []
    run_batch([str(folder)], out, detector, resume=True, show_progress=False, log=messages.append)
    assert "complete" in messages[0]
    # Resuming a finished scan over other inputs is refused (new files are never silently skipped).
    smooth_image(99, 240).save(folder / "new.png")
    with pytest.raises(ValueError, match="finished scan of other inputs"):
        run_batch([str(folder)], out, detector, resume=True, show_progress=False)
    # --overwrite scans again; the old output stays until the new one is whole.
    again = run_batch([str(folder)], out, detector, overwrite=True, show_progress=False, log=lambda m: None)
    assert again["files"] == 8 and len(pd.read_parquet(out)) == 8
    # An interrupted scan resumed with other options is refused, not mixed.
    parts = parts_dir(tmp_path / "half.csv")
    parts.mkdir()
    (parts / "scan.json").write_text(json.dumps({"model": "other"}))
    with pytest.raises(ValueError, match="other settings"):
        run_batch([str(folder)], tmp_path / "half.csv", detector, resume=True, show_progress=False)
    with pytest.raises(ValueError, match="must end in"):
        run_batch([str(folder)], tmp_path / "out.xlsx", detector, show_progress=False)


def test_csv_output_and_heatmaps_from_the_command_line(tmp_path):
    folder = make_folder(tmp_path / "imgs", n=3)
    heat = tmp_path / "heat"
    cmd = [sys.executable, "-m", "realorai", "predict", str(folder), "-o", str(tmp_path / "s.csv")]
    r = subprocess.run(cmd + ["--heatmaps", str(heat), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr  # broken.png: scored all but one
    df = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert len(df) == 4
    pngs = sorted(heat.glob("*.heatmap.png"))
    assert len(pngs) == 3 and set(df.loc[df.verdict != "error", "heatmap"]) == {str(p) for p in pngs}
    assert os.path.getsize(pngs[0]) > 1000


def test_heatmaps_inside_the_scanned_folder_are_never_inputs(tmp_path, detector):
    folder = make_folder(tmp_path / "imgs", n=3)
    heat = folder / "heat"
    for attempt in range(2):  # the second scan finds the first one's heatmaps in the folder
        out = tmp_path / f"s{attempt}.jsonl"
        run_batch([str(folder)], out, detector, heatmaps=heat, show_progress=False, log=lambda m: None)
        assert len(read_jsonl(out)) == 4
    assert len(list(heat.glob("*.heatmap.png"))) == 3


def test_csv_cells_that_spreadsheets_would_run_are_neutralised(tmp_path, detector, monkeypatch):
    import csv

    folder = tmp_path / "imgs"
    folder.mkdir()
    names = ["=1+2.jpg", '=HYPERLINK("evil.example","x").jpg', "@SUM(1+1).jpg", "+x.jpg", "-y.jpg", "ok.jpg"]
    for i, name in enumerate(names):
        smooth_image(i, 64).save(folder / name, format="JPEG")
    monkeypatch.chdir(folder)  # a scan of "." names the files bare, as a user's relative scan does
    out = tmp_path / "s.csv"
    run_batch(["."], out, detector, show_progress=False, log=lambda m: None)
    with open(out, newline="") as f:
        paths = sorted(r["path"] for r in csv.DictReader(f))
    assert paths == sorted(("'" + n) if n[0] in "=+-@" else n for n in names)
    # Resuming the finished CSV scan reads the neutralised names back as the same files.
    messages = []
    run_batch(["."], out, detector, resume=True, show_progress=False, log=messages.append)
    assert "complete" in messages[0]
    # The same in --csv on stdout.
    from typer.testing import CliRunner

    from realorai.cli.main import app

    result = CliRunner().invoke(app, ["predict", ".", "--csv", "--pixels-only"])
    assert "3,'=1+2.jpg," in result.output and "3,=1+2.jpg" not in result.output


class Killed(Exception):
    """Stands in for kill -9 after some chunks are committed."""


def killed_after(n_chunks: int):
    from realorai.inference.batch import local_chunks

    def engine(detector, todo, chunk, **kw):
        for i, rows in enumerate(local_chunks(detector, todo, chunk, **kw)):
            if i == n_chunks:
                raise Killed
            yield rows

    return engine


def test_resume_is_keyed_by_resolved_inputs_and_paths(tmp_path, detector, monkeypatch):
    """`data` then `$PWD/data`: the same files, never doubled; other inputs are refused."""
    folder = make_folder(tmp_path / "data", n=9)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "o.jsonl"
    quiet = {"show_progress": False, "log": lambda m: None}
    with pytest.raises(Killed):
        run_batch(["data"], out, detector, chunk=2, engine=killed_after(2), **quiet)
    with pytest.raises(ValueError, match="other inputs"):
        run_batch([str(tmp_path / "other")], out, detector, resume=True, **quiet)
    summary = run_batch([str(folder)], out, detector, resume=True, **quiet)
    rows = read_jsonl(out)
    assert summary["files"] == len(rows) == 10
    assert len({os.path.realpath(r["path"]) for r in rows}) == 10


def test_resume_rescores_changed_files_and_drops_deleted_ones(tmp_path, detector):
    folder = make_folder(tmp_path / "data", n=6)
    out = tmp_path / "o.parquet"
    with pytest.raises(Killed):
        run_batch([str(folder)], out, detector, chunk=3, engine=killed_after(1), show_progress=False)
    first = [r["row"]["path"] for r in read_jsonl(next(parts_dir(out).glob("part-*.jsonl")))]
    changed, deleted = Path(first[0]), Path(first[1])
    smooth_image(99, 300, noise=30.0).save(changed)  # different pixels, size and mtime
    deleted.unlink()
    messages = []
    summary = run_batch([str(folder)], out, detector, resume=True, show_progress=False, log=messages.append)
    df = pd.read_parquet(out)
    assert summary["files"] == len(df) == 6 and str(deleted) not in set(df.path)
    fresh = detector.predict(str(changed))
    assert df.set_index("path").loc[str(changed), "p_ai"] == pytest.approx(fresh["p_ai"], abs=1e-6)
    text = " ".join(messages)
    assert "1 files changed" in text and "1 files scored before are gone" in text


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_non_utf8_file_names_in_every_output_format(tmp_path, detector, suffix):
    folder = tmp_path / "imgs"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/caf\xe9.png"
    smooth_image(1, 240).save(os.fsdecode(raw), format="PNG")
    smooth_image(2, 240).save(folder / "plain.png")
    out = tmp_path / f"o{suffix}"
    with pytest.raises(Killed):
        run_batch([str(folder)], out, detector, chunk=1, engine=killed_after(1), show_progress=False)
    run_batch([str(folder)], out, detector, resume=True, show_progress=False, log=lambda m: None)
    if suffix == ".jsonl":
        paths = [r["path"] for r in read_jsonl(out)]
        assert os.fsdecode(raw) in paths and len(paths) == 2
        return
    df = pd.read_csv(out, keep_default_na=False) if suffix == ".csv" else pd.read_parquet(out)
    row = df[df.path_raw_hex != ""].iloc[0]
    assert "caf\\xe9.png" in row.path and bytes.fromhex(row.path_raw_hex) == raw
    assert len(df) == 2 and (df.verdict != "error").all()


def test_a_long_file_name_gets_a_short_heatmap_and_a_failed_write_is_a_note(tmp_path, detector):
    from realorai.inference.analyze import analyze

    folder = tmp_path / "imgs"
    folder.mkdir()
    long_name = folder / ("n" * 245 + ".png")  # 249 bytes: legal, but too long with a suffix added
    smooth_image(3, 240).save(long_name)
    heat = tmp_path / "heat"
    summary = run_batch([str(folder)], tmp_path / "o.jsonl", detector, heatmaps=heat, show_progress=False)
    assert summary["files"] == 1 and not summary["errors"]
    (png,) = heat.glob("*.heatmap.png")
    assert len(png.name.encode()) < 140
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the heatmap folder should be")
    (row,) = analyze(detector, [str(long_name)], heatmaps=blocked / "sub")
    assert row["p_ai"] is not None and not row["error"] and "cannot write" in row["heatmap"]["error"]
