"""A dask worker preload for tests/test_faults_cluster.py: cells that wait at a gate.

Started with `dask worker --preload tests.cluster_gate` and the environment variable
`PCNSIM_TEST_GATE=PATH`, the worker computes every cell as usual but holds each one other than
p00000-r0000 until PATH exists. A test can then fault the cluster while exactly one cell is
kept and the others are running, whatever the machine's load: it synchronises on files, not
on the clock. Without the variable the worker is unchanged.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

#: Longest a cell waits at the gate: a test that never opens it fails rather than hangs.
MAX_WAIT_SECONDS = 300.0


def dask_setup(worker: object) -> None:
    """Called by dask as the worker starts: wrap `run_cell` with the gate. The run sends
    `run_cell` by reference, so the worker's unpickling finds the wrapped one."""
    gate = os.environ.get("PCNSIM_TEST_GATE")
    if not gate:
        return
    from pcnsim.experiment import cells

    run_cell = cells.run_cell

    def gated_run_cell(payload):
        out = run_cell(payload)
        if (payload[0], payload[1]) != (0, 0):
            deadline = time.monotonic() + MAX_WAIT_SECONDS
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return out

    gated_run_cell.__module__, gated_run_cell.__qualname__ = run_cell.__module__, run_cell.__qualname__
    cells.run_cell = gated_run_cell
