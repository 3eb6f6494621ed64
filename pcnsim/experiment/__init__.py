"""Experiments: every point of a scenario's sweep times every replication, run in parallel.

A run is a set of *cells*, one per (sweep point, replication). Each cell calls the model's
`simulate(point_scenario, replication)`; the model derives all its random streams from
`SeedSequence(entropy=run.seed, spawn_key=(replication, *hash of the stream's name))`
(`pcnsim.model.stream`), so a cell's result depends only on its point and its replication:
the same files come out whatever the executor (in process, local worker processes, a
dask.distributed cluster) and however many workers, and replication r sees the same random
numbers at every point (common random numbers).

The package, by job (as the EMA Workbench's em_framework):
- `designs`: the sweep's points (grid, points, LHS, Sobol), each validated into a scenario;
- `cells`: one cell run in a worker, and its file `cells/pPPPPP-rRRRR.parquet`;
- `executors`: one `Executor` interface: in process, local worker processes or a dask.distributed cluster;
- `runner`: `run` — resume, the target half-width loop, Ctrl-C and full disks, progress events;
- `combine`: the cell files become results, summary, weekly series, sensitivity, manifest;
- `folder`: THE run-folder module: atomic writers, folder checks, `load_run` and `RunData`;
- `manifest`: provenance (versions, git commit, model fingerprint) and the resume checks.

A cell that raises is recorded (type, message, traceback) in the manifest and the others go
on; the run then ends with `RunData.failed` non-empty (exit status 1 on the command line).
Statistics (summary, half-width rule, MSER-5, Sobol indices) come from `pcnsim.analysis`;
pandas, pyarrow and scipy load lazily, so worker processes import little beyond the model.
"""
from __future__ import annotations

from pcnsim.experiment.cells import CellOutcome, cell_name, run_cell
from pcnsim.experiment.combine import WARMUP_SERIES
from pcnsim.experiment.designs import design_points, plan_points
from pcnsim.experiment.folder import RunData, RunResult, load_run
from pcnsim.experiment.manifest import MANIFEST_VERSION, model_fingerprint
from pcnsim.experiment.runner import MAX_REPLICATIONS_DEFAULT, Progress, run

__all__ = [
    "WARMUP_SERIES", "CellOutcome", "Progress", "RunData", "RunResult", "cell_name", "design_points",
    "load_run", "model_fingerprint", "plan_points", "run", "run_cell", "MANIFEST_VERSION",
    "MAX_REPLICATIONS_DEFAULT",
]
