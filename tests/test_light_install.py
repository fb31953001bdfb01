"""The light install (``pip install realorai``: no torch, torchvision, timm, scikit-learn or
matplotlib): predict, inspect, the HTTP API and the Python API work on the shipped ONNX graph and
on the default detector-clip-b16 (numpy head, ONNX tower), and commands that need the training
extra say so. Those modules are blocked in a
subprocess, as if they were not installed."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import smooth_image

# None in sys.modules: `import torch` fails and importlib.util.find_spec("torch") is None, as
# when the package is not installed.
BLOCK = """
import sys
for name in ("torch", "torchvision", "timm", "sklearn", "matplotlib", "imwatermark", "cv2"):
    sys.modules[name] = None
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300)


def test_predict_inspect_and_python_api_without_torch(tmp_path):
    img = tmp_path / "photo.png"
    smooth_image(1, 300, noise=10).save(img)
    r = run(
        "import sys; from realorai.cli.main import main; "
        f"sys.argv = ['realorai', 'inspect', {str(img)!r}, '--json', '-q']; main()"
    )
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["verdict"] in ("likely_ai", "likely_real", "inconclusive") and 0 <= row["p_ai"] <= 1
    assert row["basis"] == "pixels" and row["findings"] == []  # provenance read, nothing found
    r = run(
        "from realorai import Detector; det = Detector.default(); "
        f"row = det.predict({str(img)!r}); print(det.backend, row['verdict'], row['p_ai'])"
    )
    assert r.returncode == 0, r.stderr
    backend, verdict, p = r.stdout.split()
    assert backend == "onnx" and verdict == row["verdict"] and abs(float(p) - row["p_ai"]) < 1e-9


def test_the_clip_default_without_torch(tmp_path):
    """CLIP's tower (a tiny one here) in the cache, the default in auto mode: detector-clip-b16
    scores on ONNX Runtime and numpy alone, as the parent's torch model does."""
    import os

    from clip_tiny import tiny_tower
    from test_default_detector import head_checkpoint

    from realorai.hashing import sha256_file
    from realorai.inference.detector import Detector

    cache = tmp_path / "cache"
    tower = cache / "clip-b16" / "clip_encoder.int8.onnx"
    tower.parent.mkdir(parents=True)
    tiny_tower(tower)
    ckpt = head_checkpoint(tmp_path / "clip.safetensors", tower)
    img = tmp_path / "photo.png"
    smooth_image(3, 300, noise=10).save(img)
    code = (
        "from realorai.features import weights as w; from realorai.inference import default; "
        f"w.CLIP_B16['sha256'] = {sha256_file(tower)!r}; w._installed = lambda: None; "
        "real = default.packaged; "
        f"default.packaged = lambda n: {str(ckpt)!r} if n == default.CLIP_WEIGHTS else real(n); "
        "from realorai import Detector; det = Detector.default(); "
        f"print(det.name, det.backend, det.predict({str(img)!r})['p_ai'])"
    )  # fmt: skip
    env = {**os.environ, "REALORAI_CACHE": str(cache), "REALORAI_DEFAULT_DETECTOR": "auto"}
    r = subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    name, backend, p = r.stdout.split()
    assert (name, backend) == ("detector-clip-b16", "onnx")
    from realorai.features import weights as w

    orig = w.clip_onnx
    w.clip_onnx = lambda expected=None: tower
    try:
        torch_p = Detector.load(ckpt, backend="torch").predict(str(img))["p_ai"]
    finally:
        w.clip_onnx = orig
    assert abs(float(p) - torch_p) < 1e-5


def test_http_api_without_torch(tmp_path):
    img = tmp_path / "photo.jpg"
    smooth_image(2, 256, noise=10).save(img, quality=90)
    r = run(
        "from fastapi.testclient import TestClient; from realorai.serve import create_app; "
        "client = TestClient(create_app(), base_url='http://127.0.0.1').__enter__(); "
        f"resp = client.post('/v1/detect', files={{'files': ('p.jpg', open({str(img)!r}, 'rb'))}}); "
        "print(resp.status_code, resp.json()['results'][0]['verdict'])"
    )
    assert r.returncode == 0, r.stderr
    status, verdict = r.stdout.split()
    assert status == "200" and verdict in ("likely_ai", "likely_real", "inconclusive")


def test_training_commands_name_the_extra(tmp_path):
    r = run(
        "import sys; from realorai.cli.main import main; "
        "sys.argv = ['realorai', 'train', '--model', 'report-cnn', '--manifest', 'm.parquet', "
        f"'-o', {str(tmp_path)!r}]; main()"
    )
    assert r.returncode == 2 and "pip install -e '.[train]'" in r.stderr and "torch" in r.stderr
