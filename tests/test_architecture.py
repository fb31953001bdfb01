"""The layout of docs/ARCHITECTURE.md, enforced: layers import only downward, no import loops,
small files and functions, and the serving and verdict paths load no training code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "realorai"

# Lower numbers are lower layers; a module may import its own layer or any below it.
LAYERS = {
    "cli": 4, "serve": 4, "__main__": 4,
    "inference": 3, "evaluation": 3, "learn": 3,
    "baselines": 2, "detector": 2,
    "models": 1, "data": 1, "provenance": 1, "bank": 1, "features": 2,
    "atomic": 0, "progress": 0, "imaging": 0, "device": 0, "metrics": 0, "plots": 0, "distributed": 0,
    "hashing": 0, "install": 0, "limits": 0, "jpeg": 0, "tiers": 0, "containers": 0, "rgb": 0, "__init__": 0,
}  # fmt: skip
MAX_FILE_LINES, MAX_FUNCTION_LINES = 300, 80


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports_of(path: Path) -> set[str]:
    """Every realorai module this file imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("realorai"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("realorai"))
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else LAYERS["__init__"]


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges = {}
    for name, path in mods.items():
        targets = {t for t in imports_of(path) if t in mods and t != name}
        if name == "realorai":
            # The package's lazy ``Detector`` attribute (the public facade) is the one allowed exception.
            targets.discard("realorai.inference.detector")
        edges[name] = targets
    return edges


def test_every_module_has_a_layer():
    assert all(layer(m) >= 0 for m in modules())


def test_layers_import_only_downward():
    upward = [f"{a} -> {b}" for a, targets in graph().items() for b in targets if layer(b) > layer(a)]
    assert upward == []


def test_the_two_families_never_import_each_other():
    crossing = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        for b in targets
        if {(a.split(".") + [""])[1], (b.split(".") + [""])[1]} == {"baselines", "detector"}
    ]
    assert crossing == []


def test_no_import_loops():
    edges = graph()
    state: dict[str, int] = {}
    loops = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, ()):
            # A package's __init__ re-exporting its own submodules is not a loop.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                loops.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert loops == []


def test_files_and_functions_stay_small():
    too_long = []
    for name, path in modules().items():
        text = path.read_text()
        n = text.count("\n")
        if n > MAX_FILE_LINES:
            too_long.append(f"{name}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


@pytest.mark.parametrize(
    "code",
    [
        "import realorai.serve.app",
        "from realorai import Detector; Detector.default()",
        "import realorai.cli.main",
    ],
)
def test_serving_and_verdicts_load_no_training_code(code):
    probe = (
        f"{code}; import sys; "
        "print([m for m in ('sklearn', 'matplotlib', 'realorai.baselines.train', 'realorai.detector.fit') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
