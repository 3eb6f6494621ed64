"""pcnsim: a discrete-event simulation of capacity and leadership time in NHS England PCNs.

The public API is small: `load_scenario` reads and validates a scenario file, `run` runs it
(every point of its sweep, every replication) and returns the run's data frames.
"""
from __future__ import annotations

import os as _os

from pcnsim._version import __version__

# One BLAS thread a process (unless the user says otherwise), set before numpy loads OpenBLAS:
# pcnsim parallelises by processes (the executors), and BLAS threads on top only contend; the
# calibration's emulators (small matrices) ran 10-30 times slower with them on a busy 2-core machine.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__all__ = ["__version__", "load_scenario", "run", "simulate"]


def load_scenario(path_or_name, overrides=None):
    """Load, merge and validate a scenario (a path or a bundled name) into a frozen `Scenario`."""
    from pcnsim.scenario import load_scenario as _load

    return _load(path_or_name, overrides)


def run(scenario, **options):
    """Run a scenario (and its sweep) and return its data frames; see `pcnsim.experiment.run`."""
    from pcnsim.experiment import run as _run

    return _run(scenario, **options)


def simulate(scenario, replication=0):
    """Simulate one replication of a scenario's base point; see `pcnsim.model.simulate`."""
    from pcnsim.model import simulate as _simulate

    return _simulate(scenario, replication)
