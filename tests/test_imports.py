"""The import contracts of docs/architecture.md, checked by import-linter, and no import cycle.

The contracts live in pyproject.toml (`[tool.importlinter]`): the layers (each imports only
those below it; every module of `pcnsim/` has one), what the report may not reach, two pairs
that stand apart, and no cycle between the modules of any package (`acyclic_siblings`). The
suite runs `lint-imports` on the repository as a user would, and holds it to failing on a
planted cycle, a planted upward import and a module with no layer: a check that cannot fail
is not a check.

import-linter reads every import (inside functions too) but, as configured, not those under
`if TYPE_CHECKING:`, which never run: the model's actors name each other's types. Those must
still point down the layers: the layer contracts are run a second time with them counted.

`acyclic_siblings` compares the children of a package; a package's `__init__` and its own
modules (the command line's group and its verbs, say), or a module and the façade
`pcnsim/__init__.py`, can still import each other. `test_no_import_cycle_anywhere` finds
every cycle of the module graph (grimp's, import-linter's own) with imports that run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp   # import-linter's graph library: `pip install -e ".[test]"` brings both
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`lint-imports --no-cache ARGS` in `cwd`, whose `pcnsim` it checks (not the installed one)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*LINT, "--no-cache", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def import_cycles(graph) -> list[list[str]]:
    """The cycles of an import graph: its strongly connected components of two or more modules
    (Tarjan's algorithm, iterative), each sorted; a package counts as its `__init__`."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def _runtime_graph():
    """pcnsim's import graph as it runs: function-local imports in, `TYPE_CHECKING` ones out."""
    return grimp.build_graph("pcnsim", cache_dir=None, exclude_type_checking_imports=True)


@pytest.mark.integration
def test_the_import_contracts_hold():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.integration
def test_type_hints_point_down_the_layers_too(tmp_path):
    """The contracts again, `TYPE_CHECKING` imports counted (all but the cycles: actors may name
    each other's types)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "exclude_type_checking_imports = true" in text
    config = tmp_path / "typing.toml"
    config.write_text(text.replace("exclude_type_checking_imports = true", "exclude_type_checking_imports = false"),
                      encoding="utf-8")
    import tomllib

    ids = [c["id"] for c in tomllib.loads(text)["tool"]["importlinter"]["contracts"] if c["type"] != "acyclic_siblings"]
    done = _lint(ROOT, "--config", str(config), *[a for i in ids for a in ("--contract", i)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ids)} kept, 0 broken" in done.stdout


@pytest.mark.unit
def test_no_import_cycle_anywhere():
    """Not between siblings (the contract), nor between a package and its modules, nor through
    the façade: no module of pcnsim imports the façade `pcnsim`."""
    graph = _runtime_graph()
    assert import_cycles(graph) == []
    assert graph.find_modules_that_directly_import("pcnsim") == set()


@pytest.mark.unit
def test_the_cycle_finder_finds_a_package_importing_its_own_module_back():
    graph = _runtime_graph()
    graph.add_import(importer="pcnsim.cli.terminal", imported="pcnsim.cli")
    graph.add_import(importer="pcnsim.scenario.keys", imported="pcnsim")   # round through the façade
    found = import_cycles(graph)
    assert any({"pcnsim.cli", "pcnsim.cli.terminal"} <= set(cycle) for cycle in found), found
    assert any({"pcnsim", "pcnsim.scenario", "pcnsim.scenario.keys"} <= set(cycle) for cycle in found), found


#: Changes planted in a copy of the package, and the contract each must break. Each plant is an
#: import inside a function, as the ones import-linter must not miss.
PLANTS = {
    "cycle": ("scenario/yamlio.py", "def _planted():\n    from pcnsim.scenario import keys\n",
              "No cycles are allowed in pcnsim.scenario"),
    "upward": ("metrics.py", "def _planted():\n    from pcnsim.experiment import folder\n",
               "Each layer imports only the layers below it BROKEN"),
    "no layer": ("planted.py", '"""A module no layer names."""\n',
                 "Each layer imports only the layers below it BROKEN"),
    "report reaches the model": ("report/tables.py", "def _planted():\n    from pcnsim.model import calendar\n",
                                 "The report reads a run folder, not the model, scenario files or checks BROKEN"),
}


@pytest.mark.integration
@pytest.mark.parametrize("plant", list(PLANTS))
def test_the_contracts_fail_on_a_planted_fault(tmp_path, plant):
    shutil.copytree(ROOT / "pcnsim", tmp_path / "pcnsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _lint(tmp_path).returncode == 0        # the copy is as good as the original
    file, code, message = PLANTS[plant]
    path = tmp_path / "pcnsim" / file
    path.write_text((path.read_text(encoding="utf-8") + "\n\n" if path.exists() else "") + code, encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode != 0 and message in done.stdout, done.stdout + done.stderr
