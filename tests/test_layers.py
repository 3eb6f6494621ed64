"""Imports point one way: down the layers of docs/architecture.md, never back up.

    errors, metrics          the bottom: importable by every layer
    analysis                 statistics (intervals, summaries, MSER-5, Sobol): they know no model
    config, scenario         the scenario: typed parameters, YAML loading
    model                    the SimPy model (a module or the package pcnsim/model/)
    experiment               sweeps, replications, executors, the run folder
    verify                   checks of the model against known answers
    report, compare, national   figures, the HTML page, comparisons, national totals
    app                      the live workshop page (`pcnsim app`)
    cli, __main__            the command line

Every import of every module is read (with `ast`, function-local imports included) and
resolved to a layer by its first name under `pcnsim`, so the test works whether `report`
(or `model`) is one module or a package. `pcnsim/__init__.py` is the public façade and may
import anything; `from pcnsim import __version__` reaches only the façade's constant.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pcnsim"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "metrics"),
    ("analysis",),
    ("config", "scenario"),
    ("model",),
    ("experiment",),
    ("verify",),
    ("report", "compare", "national"),
    ("app",),
    ("cli", "__main__"),
)
LAYER = {name: rank for rank, names in enumerate(LAYERS) for name in names}

#: Upward edges accepted on purpose, each with its reason.
ACCEPTED: dict[tuple[str, str], str] = {}

pytestmark = pytest.mark.unit


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported pcnsim module, line) for every import in a module, at any depth."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")
                package = package if is_package else package[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for a in node.names:  # `from pcnsim import model` imports the module pcnsim.model
                full = f"{base}.{a.name}"
                found.append((full if full in modules else base, node.lineno))
    return [(target, line) for target, line in found if target == "pcnsim" or target.startswith("pcnsim.")]


def _layer_name(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None   # None: the façade `pcnsim` itself


def _edges() -> list[tuple[str, str, int, str, str]]:
    modules = _modules()
    edges = []
    for name, path in modules.items():
        if name == "pcnsim":
            continue  # the public façade
        for target, line in _imports(name, path, modules):
            edges.append((name, target, line, _layer_name(name), _layer_name(target)))
    return edges


def test_every_module_has_a_layer():
    unknown = sorted({source for source, *_ in _edges() if _layer_name(source) not in LAYER}
                     | {n for n in _modules() if n != "pcnsim" and _layer_name(n) not in LAYER})
    assert not unknown, f"modules with no layer in tests/test_layers.py and docs/architecture.md: {unknown}"


def test_imports_point_down_the_layers():
    upward = []
    for source, target, line, a, b in _edges():
        if b is None or a == b or LAYER[b] <= LAYER[a] or (a, b) in ACCEPTED:
            continue
        upward.append(f"{source} (line {line}) imports {target}: layer {a} may not use {b}")
    assert not upward, "imports pointing back up the layers:\n" + "\n".join(upward)


def test_analysis_stands_on_the_bottom_layer_only():
    """The accepted edge experiment -> analysis stays acyclic: analysis uses only errors and metrics."""
    used = {b for _, _, _, a, b in _edges() if a == "analysis" and b is not None}
    assert used <= set(LAYERS[0]) | {"analysis"}, used

