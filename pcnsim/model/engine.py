"""How the practices' days run, chosen by the environment variable PCNSIM_ENGINE (docs/performance.md).

- "compiled" (the default): one pass an ICS-day over its PCNs (`Ics.days`), each PCN's day one
  compiled call (`daybook.serve`);
- "per-pcn": the same compiled calls, from one SimPy process per PCN;
- "python": one process per PCN on the list reference (`booking.py`).

All three give the same numbers (tests/test_daybook.py). This module imports nothing heavy, so
the CLI can check the choice before a run starts.
"""
from __future__ import annotations

import os

from pcnsim.errors import ScenarioError

ENGINES = ("compiled", "per-pcn", "python")


def engine() -> str:
    """The engine PCNSIM_ENGINE names (read when a simulation is built, so tests can switch it)."""
    name = os.environ.get("PCNSIM_ENGINE", "compiled")
    if name not in ENGINES:
        raise ScenarioError(f"environment variable PCNSIM_ENGINE = {name!r}: expected one of "
                            f"{', '.join(ENGINES)}, or unset for 'compiled' (docs/performance.md); nothing was run.")
    return name
