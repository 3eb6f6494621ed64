"""differences.csv: each point of a `grid` or `points` sweep against its reference point.

Replication r of every sweep point draws the same random numbers: each stochastic process has
its own stream, spawned from (run.seed, r, the stream's name) (`pcnsim.model.streams`), and
`run.seed` cannot be swept. So point p and the reference are compared replication by
replication (`pcnsim.analysis.point_differences`: a paired t-interval), which removes the
noise the two share.

The reference is the scenario's `report.reference` (a point number) or the first point.
No differences.csv is written for Latin hypercube and Sobol designs (their points are
samples of a space, not options to set against a baseline: sensitivity.csv answers them),
nor for a sweep of `ics.name` (the national runs: each point is another ICS, whose PCNs draw
streams named after it, so the points are neither options nor paired).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from pcnsim.experiment.folder import RunData, write_frame_atomic

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DIFFERENCES_FILE", "reference_point", "sweep_differences", "write_differences", "load_differences"]

DIFFERENCES_FILE = "differences.csv"
#: Swept keys that make each point another system with streams of its own (`pcnsim.model.streams.pcn_stream`).
_OTHER_SYSTEM_KEYS = ("ics.name",)
_PAIRED_KINDS = ("grid", "points")


def reference_point(scenario: Optional[Mapping[str, Any]], points: Sequence[int]) -> Optional[int]:
    """The point the others are compared with: `report.reference` when it is one of `points`,
    else the first point; None without points."""
    points = sorted(int(p) for p in points)
    if not points:
        return None
    report = scenario.get("report") if isinstance(scenario, Mapping) else None
    ref = report.get("reference") if isinstance(report, Mapping) else None
    if isinstance(ref, (int, float)) and not isinstance(ref, bool) and math.isfinite(ref) and int(ref) in points:
        return int(ref)
    return points[0]


def sweep_differences(results: Optional[pd.DataFrame], summary: Optional[pd.DataFrame], kind: Optional[str],
                      scenario: Optional[Mapping[str, Any]], values: Callable[[int], Mapping[str, Any]],
                      keys: Sequence[str]) -> Optional[pd.DataFrame]:
    """differences.csv's frame: `point`, the swept keys, then `pcnsim.analysis.DIFFERENCE_COLUMNS`
    after `point`; None unless a `grid` or `points` sweep of two or more points of one system."""
    from pcnsim import analysis

    base = results if results is not None and len(results) else summary
    if kind not in _PAIRED_KINDS or base is None or base.empty or any(k in keys for k in _OTHER_SYSTEM_KEYS):
        return None
    points = sorted(int(p) for p in base["point"].unique())
    if len(points) < 2:
        return None
    ref = reference_point(scenario, points)
    table = analysis.point_differences(results, ref, summary=summary)
    for i, key in enumerate(keys):
        table.insert(1 + i, key, [values(int(p)).get(key) for p in table["point"]])
    return table


def write_differences(folder: Path, table: Optional[pd.DataFrame]) -> None:
    """Write `<folder>/differences.csv` (atomically) when there is a table."""
    if table is not None:
        write_frame_atomic(folder / DIFFERENCES_FILE, table)


def load_differences(run: RunData) -> pd.DataFrame:
    """A run's differences: its differences.csv, or worked out from its results (a run folder
    written before differences.csv existed); an empty frame when none apply (one point, a
    Latin hypercube or Sobol design, a sweep of ICSs), so that the answer compares no points."""
    import pandas as pd

    from pcnsim.analysis import DIFFERENCE_COLUMNS

    none = pd.DataFrame(columns=list(DIFFERENCE_COLUMNS))
    kind = run.sweep_kind
    if kind not in _PAIRED_KINDS:
        return none
    path = run.folder / DIFFERENCES_FILE
    if path.exists():
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError):
            table = None
        if table is not None and {"point", "metric", "difference", "ci_low", "ci_high"} <= set(table.columns):
            return table
    table = sweep_differences(run.results, run.summary, kind, run.scenario, run.point_values, run.swept_keys)
    return none if table is None else table
