"""How the practices' days run, chosen by the environment variable PCNSIM_ENGINE (docs/performance.md).

- "compiled" (the default): one pass an ICS-day over its PCNs (`practices.days` run by the ICS), each PCN's day one
  compiled call (`daybook.serve`, numba, compiled on first use and cached per machine by numba);
- "per-pcn": the same compiled calls, from one SimPy process per PCN;
- "python": one process per PCN on the list reference (`booking.py`), which is also what runs where
  numba cannot be imported.

All three give the same numbers (tests/test_daybook.py). This module imports nothing heavy, so
the CLI can check the choice before a run starts.
"""
from __future__ import annotations

import importlib.util
import os

from pcnsim.errors import ScenarioError

ENGINES = ("compiled", "per-pcn", "python")


def engine() -> str:
    """The engine PCNSIM_ENGINE names (read when a simulation is built, so tests can switch it);
    "python" where numba is not installed, whatever it names."""
    name = os.environ.get("PCNSIM_ENGINE", "compiled")
    if name not in ENGINES:
        raise ScenarioError(f"environment variable PCNSIM_ENGINE = {name!r}: expected one of "
                            f"{', '.join(ENGINES)}, or unset for 'compiled' (docs/performance.md); nothing was run.")
    return name if numba_available() else "python"


def numba_available() -> bool:
    """Whether numba can be imported (found without importing it, which takes a second)."""
    return importlib.util.find_spec("numba") is not None
