"""Fuzzing the upload and decode path: whatever the bytes, an answer (a verdict or a clear
error), never an unhandled exception or a 500."""

from __future__ import annotations

import io

import pytest
from conftest import smooth_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from realorai.inference.detector import Detector
from realorai.serve import ServeSettings, create_app

ANSWERS = {200, 413, 415, 422}


def _seeds() -> list[bytes]:
    img = smooth_image(0, 96, noise=6.0)
    out = []
    for fmt, kw in (("PNG", {}), ("JPEG", {"quality": 80}), ("WEBP", {}), ("GIF", {}), ("BMP", {}), ("TIFF", {})):
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        out.append(buf.getvalue())
    return out


SEEDS = _seeds()


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    with TestClient(
        base_url="http://127.0.0.1", app=create_app(ServeSettings(max_pixels=4_000_000), Detector.default())
    ) as c:
        yield c


def _check(client, name: str, data: bytes) -> None:
    r = client.post("/v1/detect", files=[("files", (name, data, "application/octet-stream"))])
    assert r.status_code in ANSWERS, (r.status_code, r.text[:300])
    body = r.json()
    if r.status_code == 200:
        row = body["results"][0]
        assert row["verdict"] in ("likely_ai", "likely_real", "inconclusive") and 0 <= row["p_ai"] <= 1
    else:
        assert body["error"]["message"]


fuzz = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(data=st.binary(max_size=4096))
def test_random_bytes(client, data):
    _check(client, "random.bin", data)


@fuzz
@given(seed=st.sampled_from(range(len(SEEDS))), cut=st.floats(0, 1))
def test_truncated_real_images(client, seed, cut):
    data = SEEDS[seed]
    _check(client, "cut", data[: int(len(data) * cut)])


@fuzz
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=12),
)
def test_mutated_real_images(client, seed, edits):
    data = bytearray(SEEDS[seed])
    for where, value in edits:
        data[min(int(where * len(data)), len(data) - 1)] = value
    _check(client, "mutated", bytes(data))


@fuzz
@given(w=st.integers(1, 700), h=st.integers(1, 700), mode=st.sampled_from(["RGB", "L", "RGBA", "P", "1", "I;16"]))
def test_odd_dimensions_and_modes(client, w, h, mode):
    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, format="PNG")
    _check(client, f"{w}x{h}.png", buf.getvalue())
