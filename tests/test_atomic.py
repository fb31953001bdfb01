"""Atomic, strict and umask-respecting outputs."""

from __future__ import annotations

import json

from realorai.atomic import write_json


def test_json_outputs_are_strict(tmp_path):
    path = write_json(tmp_path / "m.json", {"auc": float("nan"), "x": [1.0, float("inf")]})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"auc": None, "x": [1.0, None]}


def test_outputs_follow_the_umask(tmp_path):
    import os
    import stat

    from realorai.atomic import UMASK, write_text

    f = write_text(tmp_path / "x.txt", "hi")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o666 & ~UMASK
    long_name = "n" * 250 + ".json"  # near NAME_MAX: the temporary name must still fit
    assert write_text(tmp_path / long_name, "{}").read_text() == "{}"
