"""The README's examples run as written, and docs/CLI.md is the CLI as it is now.

The examples of "What people use it for" run in order, in a folder laid out like a clone (its
``../shared`` is the real one), each block as its own shell (or Python) process, as a newcomer
would paste them. The one change: the server's port 8000 becomes a free port.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def readme_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in the README's section of jobs, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    jobs = text.split("## What people use it for", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(bash|python)\n(.*?)```", jobs, flags=re.S)


def test_the_readme_is_short_and_names_no_issue_or_commit():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count("\n") <= 200
    commit = r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"
    assert not re.search(r"\bissue \d+|" + commit, text), "issue numbers or commit ids"
    assert len(readme_blocks()) >= 6


def test_cli_reference_is_current():
    from realorai.cli.reference import markdown

    assert (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8") == markdown(), (
        "docs/CLI.md is stale: python -m realorai.cli.reference > docs/CLI.md"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "data" / "game450").is_dir(), reason="needs ../shared/data (the README's datasets)")
def test_every_readme_example_runs_as_written(tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    port = str(_free_port())
    outputs = []
    for language, code in readme_blocks():
        code = code.replace("8000", port)
        cmd = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{language} block failed:\n{code}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    # What the README says each job shows.
    assert re.search(r"gemini_0\.png\s+│\s+ai\s+│\s+provenance", outputs[0]), outputs[0]
    assert outputs[1].startswith("ai provenance")
    assert re.search(r"copy\.jpg\s+│\s+ai\s+│\s+match", outputs[2]), outputs[2]
    assert '"verdict":"ai"' in outputs[3].replace(" ", "") and '"basis":"match"' in outputs[3].replace(" ", "")
    assert (clone / "runs" / "game450" / "MODEL_CARD.md").is_file()
    assert (clone / "runs" / "bench-game450" / "benchmark.md").is_file()
    assert (clone / "scan.parquet").is_file()
