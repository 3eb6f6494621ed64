"""How the practices' days run, chosen by the environment variable PCNSIM_ENGINE (docs/performance.md).

- "compiled" (the default): one pass an ICS-day over its PCNs (`practices.days` run by the ICS), each PCN's day one
  compiled call (`daybook.serve`);
- "per-pcn": the same compiled calls, from one SimPy process per PCN;
- "python": one process per PCN on the list reference (`booking.py`).

All three give the same numbers (tests/test_daybook.py). This module imports nothing heavy, so
the CLI can check the choice before a run starts.
"""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from pcnsim.errors import ScenarioError

ENGINES = ("compiled", "per-pcn", "python")


def engine() -> str:
    """The engine PCNSIM_ENGINE names (read when a simulation is built, so tests can switch it)."""
    name = os.environ.get("PCNSIM_ENGINE", "compiled")
    if name not in ENGINES:
        raise ScenarioError(f"environment variable PCNSIM_ENGINE = {name!r}: expected one of "
                            f"{', '.join(ENGINES)}, or unset for 'compiled' (docs/performance.md); nothing was run.")
    return name


def compiled_day_cached() -> bool:
    """Whether numba's cache holds the compiled day for this source, so that no process compiles it.

    Read from the cache's index file names (`daybook.serve-<line>.py<version>.nbi`) without
    importing numba: in `NUMBA_CACHE_DIR` if set, else next to the source or in the user's cache.
    """
    source = Path(__file__).with_name("daybook.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    line = next((min([n.lineno, *(d.lineno for d in n.decorator_list)]) for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name == "serve"), None)
    if line is None:
        return False
    index = f"daybook.serve-{line}.py{sys.version_info.major}{sys.version_info.minor}.nbi"
    root = os.environ.get("NUMBA_CACHE_DIR")
    places = [Path(root)] if root else [source.parent / "__pycache__", Path.home() / ".cache" / "numba"]
    return any(place.is_dir() and next(place.rglob(index), None) is not None for place in places)
