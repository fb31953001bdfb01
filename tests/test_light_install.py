"""The light install (``pip install realorai``: no torch, torchvision, timm, scikit-learn,
matplotlib or onnx): predict, inspect, the HTTP API and the Python API work on the shipped ONNX
graph, and commands that need the training extra say so. Those modules are blocked in a
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
for name in ("torch", "torchvision", "timm", "sklearn", "matplotlib", "onnx", "imwatermark", "cv2"):
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
