"""Speed and scale: the ONNX Runtime backend, Ray Data batch scoring, torchrun training."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_CNN, png_header_bomb, smooth_image

from realorai.inference.batch import parts_dir, run_batch
from realorai.inference.detector import Detector


def images(root: Path, sizes=(100, 224, 300, 520, 700)) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, s in enumerate(sizes):
        p = root / f"img_{i}.png"
        smooth_image(i, s, noise=8.0).save(p)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def torch_and_onnx():
    return Detector.load(None, "cpu", "torch"), Detector.load(None, "cpu", "onnx")


def test_onnx_backend_matches_torch(torch_and_onnx, tmp_path):
    det_t, det_o = torch_and_onnx
    assert (det_t.backend, det_o.backend) == ("torch", "onnx")
    paths = images(tmp_path)  # small (upsampled), exact, odd and large sizes
    pt, po = det_t.rows(paths), det_o.rows(paths)
    for a, b in zip(pt, po, strict=True):
        assert abs(a["p_ai"] - b["p_ai"]) < 1e-4 and a["low_confidence"] == b["low_confidence"]
    assert Detector.load(None, "cpu", "auto").backend == "onnx"  # measured faster on the CPU


def test_backend_errors(split_manifest, tmp_path):
    with pytest.raises(ValueError, match="unknown backend"):
        Detector.load(None, "cpu", "tensorrt")
    import shutil

    from realorai.inference.detector import default_onnx

    graph = tmp_path / "DET.ONNX"  # judged by its content, not by the name's case
    shutil.copyfile(default_onnx(), graph)
    with pytest.raises(ValueError, match="onnx backend only"):
        Detector.load(graph, "cpu", "torch")
    assert Detector.load(graph).backend == "onnx"


def test_exported_file_runs_without_torch(tmp_path):
    """The .onnx file with its metadata is all a user of another runtime needs."""
    model = tmp_path / "det.onnx"
    r = subprocess.run(
        [sys.executable, "-m", "realorai", "export", "onnx", "-o", str(model)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    [image] = images(tmp_path / "img", sizes=(600,))
    expected = Detector.load(None, "cpu", "torch").rows([image])[0]["p_ai"]
    script = f"""
import sys, json
sys.modules["torch"] = None  # importing torch now fails: prove it is not needed
import numpy as np, onnxruntime as ort
from PIL import Image
s = ort.InferenceSession({str(model)!r}, providers=["CPUExecutionProvider"])
c = json.loads(s.get_modelmeta().custom_metadata_map["realorai"])
size, grid = c["crop_plan"]["size"], c["crop_plan"]["grid"]
img = np.asarray(Image.open({image!r}).convert("RGB"))
h, w, _ = img.shape
def starts(n, length):
    return [(length - size) // 2] if n == 1 else [round(i * (length - size) / (n - 1)) for i in range(n)]
nx, ny = max(1, min(grid, w // size)), max(1, min(grid, h // size))
crops = np.stack([img[y:y + size, x:x + size].transpose(2, 0, 1) for y in starts(ny, h) for x in starts(nx, w)])
z = s.run(None, {{"crops": crops}})[0]
print(json.dumps({{"p": float(1 / (1 + np.exp(-z.mean()))), "opset": c["opset"]}}))
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert abs(got["p"] - expected) < 1e-4 and got["opset"] == 17
    assert Detector.load(model).rows([image])[0]["p_ai"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_torchrun_two_processes_train_a_loadable_model(split_manifest, tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH")
    out = tmp_path / "ddp"
    # The tiny test CNN (tests/torchrun_entry.py registers it in each process): DDP machinery, not the model.
    entry = str(Path(__file__).resolve().parent / "torchrun_entry.py")
    cmd = [torchrun, "--nproc_per_node", "2", entry, "train", "--model", TEST_CNN]
    cmd += ["--manifest", str(split_manifest), "-o", str(out), "--epochs", "2", "--batch-size", "4", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    # The first failing rank speaks first; torchrun's summary comes last: show both.
    assert r.returncode == 0, r.stderr[:3000] + "\n[...]\n" + r.stderr[-1500:]
    assert r.stdout.count("wrote") == 1  # rank 0 alone reports and writes
    from realorai.models.checkpoint import read_meta

    meta = read_meta(out / "best.safetensors")
    assert meta["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert len(json.loads((out / "history.json").read_text())) == 2
    det = Detector.load(out, "cpu", "torch")
    df = pd.read_parquet(split_manifest)
    rows = det.rows(df["path"].tolist()[:6])
    assert all(0 <= r["p_ai"] <= 1 and r["verdict"] in ("likely_ai", "likely_real", "inconclusive") for r in rows)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'realorai[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_engine_gives_the_local_verdicts_and_resumes(local_ray, tmp_path):
    from functools import partial

    from realorai.inference.ray_engine import list_sources, ray_chunks

    folder = tmp_path / "imgs"
    images(folder, sizes=(120, 230, 300, 400, 520, 260, 330, 610))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    listing = tmp_path / "list.csv"
    paths = sorted(str(p) for p in folder.iterdir())
    pd.DataFrame({"path": paths + [str(folder / "gone.png")]}).to_csv(listing, index=False)
    det = Detector.load(None, "cpu", "auto")
    quiet = {"show_progress": False, "log": lambda m: None}
    local = tmp_path / "local.parquet"
    run_batch([str(folder), str(folder / "gone.png")], local, det, chunk=3, **quiet)
    engine = partial(ray_chunks, model=None, backend="auto", address=None, actors=2)

    # A job interrupted after its first committed chunk, then resumed: every file exactly once.
    class Killed(Exception):
        pass

    def dies_after_one(*args, **kwargs):
        yield next(engine(*args, **kwargs))
        raise Killed

    out = tmp_path / "ray.parquet"
    with pytest.raises(Killed):
        run_batch([str(listing)], out, det, chunk=3, engine=dies_after_one, list_inputs=list_sources, **quiet)
    assert len(list(parts_dir(out).glob("part-*.jsonl"))) == 1 and not out.exists()
    run_batch([str(listing)], out, det, chunk=3, resume=True, engine=engine, list_inputs=list_sources, **quiet)
    a = pd.read_parquet(local).set_index("path").sort_index()
    b = pd.read_parquet(out).set_index("path").sort_index()
    assert b.index.is_unique and list(a.columns) == list(b.columns) and len(b) == 10
    assert (a["verdict"] == b["verdict"]).all()
    assert np.allclose(a["p_ai"].fillna(-1), b["p_ai"].fillna(-1), atol=1e-6)
    gone = b.loc[str(folder / "gone.png")]  # listed in the table but missing: an error row with the reason
    assert gone["verdict"] == "error" and "cannot read file" in gone["error"]


@pytest.mark.slow
def test_ray_actors_match_against_the_same_bank(local_ray, tmp_path):
    """A scan on the Ray engine with --bank: each actor opens the bank's index (once per state of
    the bank) and a banked picture's copies are matched as in the local engine."""
    from functools import partial

    from PIL import ImageOps
    from test_bank import picture

    from realorai.bank import Bank
    from realorai.bank.add import add_one
    from realorai.inference.ray_engine import ray_chunks

    bank = Bank(tmp_path / "bank.db", create=True)
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(3):
        picture(60 + i).save(tmp_path / f"o{i}.png")
        assert add_one(bank, tmp_path / f"o{i}.png", label="ai", by="ray test").status == "banked"
        ImageOps.mirror(picture(60 + i)).resize((200, 200)).save(folder / f"copy{i}.jpg", quality=80)
    picture(99).save(folder / "unrelated.png")
    det = Detector.load(None, "cpu", "auto")
    quiet = {"show_progress": False, "log": lambda m: None}
    engine = partial(ray_chunks, model=None, backend="auto", address=None, actors=2)
    out, local = tmp_path / "ray.parquet", tmp_path / "local.parquet"
    run_batch([str(folder)], out, det, chunk=2, engine=engine, bank=str(bank.path), **quiet)
    run_batch([str(folder)], local, det, chunk=2, bank=str(bank.path), **quiet)
    a = pd.read_parquet(local).set_index("path").sort_index()
    b = pd.read_parquet(out).set_index("path").sort_index()
    assert list(b["basis"]) == ["match", "match", "match", "pixels"] and (a["verdict"] == b["verdict"]).all()
    assert b["verdict"].iloc[0] == "likely_ai" and "ray test" in b["why"].iloc[0]


@pytest.mark.slow
def test_a_killed_ray_job_resumes_to_every_file_once(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'realorai[ray]')")
    import signal
    import time

    folder = tmp_path / "imgs"
    images(folder, sizes=tuple(230 + 10 * i for i in range(24)))
    out = tmp_path / "scan.parquet"
    cmd = [sys.executable, "-m", "realorai", "predict", str(folder), "-o", str(out), "--engine", "ray"]
    cmd += ["--chunk", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while proc.poll() is None and time.time() < deadline and not list(parts_dir(out).glob("part-*.jsonl")):
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed: the test proved nothing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and list(parts_dir(out).glob("part-*.jsonl"))
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    # -q: none of Ray's own log lines (its C++ core worker's "E" lines, Python INFO lines)
    assert "core_worker" not in r.stderr and "INFO" not in r.stderr, r.stderr[-2000:]
    df = pd.read_parquet(out)
    assert len(df) == 24 and df["path"].is_unique
    expected = {row["path"]: row["p_ai"] for row in Detector.load(None, "cpu", "auto").rows(df["path"].tolist())}
    assert all(abs(p - expected[path]) < 1e-6 for path, p in zip(df["path"], df["p_ai"], strict=True))


def test_ray_actors_check_headers_before_reading_a_file(tmp_path):
    """A 3 GB sparse PNG whose header claims 100,000 x 100,000 pixels: refused from its header,
    never read into memory (the actor used to read whole files first)."""
    from realorai.inference.ray_engine import Scorer

    huge = tmp_path / "huge.png"
    with open(huge, "wb") as f:
        f.write(png_header_bomb(100_000, 100_000))
        f.truncate(3 * 1024**3)  # sparse: no disk space used
    scorer = Scorer(None, "auto", {})

    def kb(field: str) -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field))
        return int(line.split()[1])

    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    before = kb("VmRSS")
    (row,) = [json.loads(r) for r in scorer({"path": [str(huge)]})["row"]]
    assert row["verdict"] == "error" and "decompression bomb refused" in row["error"]
    assert kb("VmHWM") - before < 200 * 1024
