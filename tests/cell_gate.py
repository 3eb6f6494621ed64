"""Cells that wait at a gate, for the fault tests (tests/test_faults.py, tests/test_faults_cluster.py).

With a gate, a run computes every cell as usual but holds each one other than p00000-r0000
(after computing it) until the gate file exists. A test can then kill, interrupt or fault a
run while exactly one cell is kept and the next is running, whatever the machine's load: it
synchronises on files, not on the clock.

- a `pcnsim run` process: `python -m tests.cell_gate GATE run FILE ...` (as `python -m pcnsim`);
- a dask worker: `dask worker --preload tests.cell_gate` with `PCNSIM_TEST_GATE=GATE` set.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: Longest a cell waits at the gate: a test that never opens it fails rather than hangs.
MAX_WAIT_SECONDS = 300.0


def install(gate: str | Path) -> None:
    """Wrap `run_cell` in this process with the gate (the executors call it, and a dask worker
    unpickles the run's `run_cell` by name, so both find the wrapped one)."""
    from pcnsim.experiment import cells, executors

    run_cell = cells.run_cell

    def gated_run_cell(payload):
        out = run_cell(payload)
        if (payload[0], payload[1]) != (0, 0):
            deadline = time.monotonic() + MAX_WAIT_SECONDS
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return out

    gated_run_cell.__module__, gated_run_cell.__qualname__ = run_cell.__module__, run_cell.__qualname__
    cells.run_cell = executors.run_cell = gated_run_cell


def dask_setup(worker: object) -> None:
    """Called by dask as a worker with `--preload tests.cell_gate` starts."""
    if os.environ.get("PCNSIM_TEST_GATE"):
        install(os.environ["PCNSIM_TEST_GATE"])


if __name__ == "__main__":
    install(sys.argv[1])
    sys.argv = ["pcnsim", *sys.argv[2:]]
    from pcnsim.cli import main

    main()
