"""A cell: one sweep point times one replication, run in a worker and kept as one small file.

Each cell calls the model's `simulate(point_scenario, replication)`; its result depends only
on its point and replication (`pcnsim.model.stream`), whatever the executor. A finished cell
is written at once to `cells/pPPPPP-rRRRR.parquet`: its whole-run metrics as rows of week -1,
then each weekly series, weeks ascending.
"""
from __future__ import annotations

import functools
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pcnsim.config import Scenario
from pcnsim.experiment.folder import atomic

METRIC_WEEK = -1               # week value of the whole-run metric rows in a cell file
#: `cell_problem`'s word for a cell computed for another scenario (refused, not redone).
FOREIGN_SCENARIO = "computed for another scenario"


def cell_name(point: int, replication: int) -> str:
    """File stem of a cell in `cells/`: `p00003-r0007`."""
    return f"p{point:05d}-r{replication:04d}"


@dataclass
class CellOutcome:
    """What a worker sends back for one cell (an error instead of data if it raised)."""

    point: int
    replication: int
    metrics: dict[str, float] = field(default_factory=dict)
    weekly: dict[str, np.ndarray] = field(default_factory=dict)
    events: int = 0
    pcns: int = 0
    seconds: float = 0.0
    error: dict[str, str] | None = None
    fingerprint: str = ""       # the model fingerprint of the worker that computed it


@functools.lru_cache(maxsize=1)
def worker_fingerprint() -> str:
    """This process's model fingerprint (`manifest.model_fingerprint`), computed once per process.

    Every cell carries it, so the run can refuse a cell computed by a worker whose pcnsim
    model differs from its own (a dask worker with another installation, say)."""
    from pcnsim.experiment.manifest import model_fingerprint

    return model_fingerprint()


def _default_simulate(scenario: Scenario, replication: int) -> Any:
    from pcnsim.model import simulate

    return simulate(scenario, replication)


def run_cell(payload: tuple[int, int, Scenario, Callable | None]) -> CellOutcome:
    """Run one cell in a worker: ``(point, replication, point scenario, simulate or None)``.

    Exceptions become `CellOutcome.error`; KeyboardInterrupt and SystemExit pass through.
    """
    point, replication, scenario, simulate = payload
    fn = simulate or _default_simulate
    start = time.perf_counter()
    try:
        fingerprint = worker_fingerprint()
        rep = fn(scenario, replication)
        metrics = {str(k): float(v) for k, v in rep.metrics.items()}
        weekly = {str(k): np.asarray(v, dtype=float).ravel()
                  for k, v in (getattr(rep, "weekly", None) or {}).items()}
        return CellOutcome(point, replication, metrics, weekly, int(getattr(rep, "events", 0) or 0),
                           int(getattr(rep, "pcns", scenario.ics.pcns) or 0), time.perf_counter() - start,
                           fingerprint=fingerprint)
    except Exception as err:  # noqa: BLE001 - a failed cell is a record, not a crash
        return CellOutcome(point, replication, seconds=time.perf_counter() - start,
                           error={"type": type(err).__name__, "message": str(err),
                                  "traceback": traceback.format_exc()})


def schemas() -> tuple[Any, Any]:
    """The pyarrow schemas of a cell file and of weekly.parquet."""
    import pyarrow as pa

    cell = pa.schema([("week", pa.int32()), ("metric", pa.string()), ("value", pa.float64())])
    weekly = pa.schema([("point", pa.int64()), ("replication", pa.int64()), ("week", pa.int32()),
                        ("metric", pa.string()), ("value", pa.float64())])
    return cell, weekly


def write_cell(cells_dir: Path, out: CellOutcome, scenario_fp: str = "") -> None:
    """One cell's metrics (week -1) and weekly series as a small parquet file, atomically.

    Its metadata record the model fingerprint of the worker that computed it and `scenario_fp`,
    the run's scenario fingerprint, so that a cell is never used for another scenario."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    series = list(out.weekly.values())
    n = len(out.metrics)
    weeks = np.concatenate([np.full(n, METRIC_WEEK, np.int32), *(np.arange(s.size, dtype=np.int32) for s in series)])
    values = np.concatenate([np.fromiter(out.metrics.values(), float, n), *series]).astype(float, copy=False)
    # each row's name taken from the list of names (a metric's, a series' repeated): no Python string a row
    rows = np.repeat(np.arange(n + len(series), dtype=np.int64), [1] * n + [s.size for s in series])
    names = pa.array([*out.metrics, *out.weekly], pa.string()).take(pa.array(rows, pa.int64()))
    table = pa.table({"week": pa.array(weeks, pa.int32()), "metric": names, "value": pa.array(values, pa.float64())},
                     schema=schemas()[0])
    info = {"point": out.point, "replication": out.replication, "events": out.events, "pcns": out.pcns,
            "seconds": round(out.seconds, 6), "model_fingerprint": out.fingerprint}
    if scenario_fp:
        info["scenario_fingerprint"] = scenario_fp
    table = table.replace_schema_metadata({b"pcnsim.cell": json.dumps(info).encode()})
    with atomic(cells_dir / f"{cell_name(out.point, out.replication)}.parquet") as tmp:
        pq.write_table(table, str(tmp), compression="zstd")


def read_cell(path: Path) -> tuple[Any, dict[str, Any]]:
    """A cell file's table and its record (point, replication, events, pcns, seconds)."""
    import pyarrow.parquet as pq

    # as pq.read_table, without its dataset machinery (a third faster); a small file: arrow's thread
    # pool (use_threads, pre_buffer's reads ahead) costs more than it saves (half, and a third)
    with pq.ParquetFile(path, pre_buffer=False) as cell:
        table = cell.read(use_threads=False)
    info = json.loads((table.schema.metadata or {}).get(b"pcnsim.cell", b"{}"))
    return table, info


def read_cell_metrics(path: Path) -> tuple[list[str], np.ndarray]:
    """Only a cell file's whole-run metrics: (names, values)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, filters=[("week", "=", METRIC_WEEK)])
    return table.column("metric").to_pylist(), table.column("value").to_numpy()


def cell_problem(path: Path, fingerprint: str | None = None, scenario_fp: str | None = None) -> str | None:
    """Why a cell file cannot be used (empty, truncated, not a cell, the wrong cell, another
    model's, another scenario's: `FOREIGN_SCENARIO`), or None if it is whole. Reads only the
    file's footer, so it is cheap. A cell without a scenario fingerprint (an older pcnsim) is
    not checked for it."""
    import pyarrow.parquet as pq

    try:
        if path.stat().st_size == 0:
            return "empty"
        meta = pq.read_metadata(path)
        info = json.loads((meta.metadata or {}).get(b"pcnsim.cell", b"null"))
        names = set(meta.schema.to_arrow_schema().names)
    except Exception as err:  # noqa: BLE001 - whatever is wrong with it, it is redone
        return f"unreadable ({type(err).__name__})"
    if not isinstance(info, dict) or not {"week", "metric", "value"} <= names:
        return "not a pcnsim cell file"
    if cell_name(int(info.get("point", -1)), int(info.get("replication", -1))) != path.stem:
        return "holds another cell"
    stored = info.get("model_fingerprint")
    if fingerprint and stored and stored != fingerprint:
        return "computed by other model code"
    stored_scenario = info.get("scenario_fingerprint")
    if scenario_fp and stored_scenario and stored_scenario != scenario_fp:
        return FOREIGN_SCENARIO
    if meta.num_rows == 0:
        return "has no rows"
    return None
