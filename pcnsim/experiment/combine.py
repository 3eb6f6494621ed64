"""The finish step: the cell files, in (point, replication) order, become the run folder's files.

results.parquet/.csv, summary.csv, weekly.parquet (streamed: memory stays flat as sweeps
grow), sensitivity.csv for Sobol sweeps, differences.csv for grid and points sweeps, and the completed manifest.json with the MSER-5
warm-up suggestion. Statistics come from `pcnsim.analysis`.

It runs in the main process after the cells, so it is kept quick: a cell's rows stay pyarrow
columns (no Python object a row), weekly.parquet is compressed by a thread of its own while the
next cells are read, and each point's weekly series are summed as one block per cell.
"""
from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from pcnsim import metrics
from pcnsim.config import WEEKS_PER_YEAR, Scenario
from pcnsim.experiment.cells import METRIC_WEEK, cell_name, read_cell, schemas
from pcnsim.experiment.differences import sweep_differences, write_differences
from pcnsim.experiment.folder import RunData, atomic, metric_metadata, write_frame_atomic, write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

#: Weekly series whose MSER-5 truncation points make the suggested warm-up (when present):
#: the model's state variables, which carry the initial transient.
WARMUP_SERIES = ("backlog", "wait_days_mean", "arrs_in_post", "cd_strain", "leadership_backlog_hours")
#: weekly.parquet's rows a row group, about: few enough to hold two groups' rows at once, enough for
#: zstd to compress well; a reader of one point's series skips the other groups (their statistics).
_WEEKLY_ROWS_PER_GROUP = 250_000


def combine(folder: Path, is_done: Callable[[int, int], bool], failed_cells: Sequence[dict[str, Any]],
            scenario: Scenario, manifest: dict[str, Any], points: list[dict[str, Any]], keys: Sequence[str],
            reps: int) -> RunData:
    """Combine the finished cells of `folder/cells` into the run folder's files; return the run."""
    from pcnsim import analysis

    cells_dir = folder / "cells"
    rows = _MetricRows()
    per_cell_events: list[list[int]] = []
    pcns_total = 0
    cell_seconds = 0.0
    warmup = _WarmupSums()   # one point's series at a time (memory stays flat)
    # the swept values of each point ride in the schema metadata: weekly rows carry the point number
    weekly_schema = schemas()[1].with_metadata({b"pcnsim.points": json.dumps(dict(enumerate(points)),
                                                                             default=str).encode()})
    with atomic(folder / "weekly.parquet") as weekly_tmp, _WeeklyFile(weekly_tmp, weekly_schema) as weekly:
        for point in range(len(points)):
            for rep in range(reps):
                if not is_done(point, rep):
                    continue
                table, info = read_cell(cells_dir / f"{cell_name(point, rep)}.parquet")
                _check_scenario(cells_dir, point, rep, info, manifest.get("scenario_fingerprint"))
                per_cell_events.append([point, rep, int(info.get("events", 0))])
                pcns_total += int(info.get("pcns", 0))
                cell_seconds += float(info.get("seconds", 0.0))
                metric_rows, weekly_rows = _split_cell(table)
                rows.add(point, rep, metric_rows)
                if weekly_rows.num_rows:
                    weekly.add(point, rep, weekly_rows)
                    warmup.add(weekly_rows)
            warmup.end_point()
        weekly.flush(last=True)   # written while the results are worked out

        results = _results_frame(rows, points, keys)
        summary = analysis.summarise(results, by=["point", *keys], exposure=_exposure(results, points, scenario),
                                     rare=metrics.RARE, spread=True)
        sensitivity = None
        if scenario.sweep is not None and scenario.sweep.kind == "sobol":
            problem = analysis.sobol_problem(scenario.sweep.sobol.ranges)
            sensitivity = analysis.sensitivity(results, problem, len(points), seed=scenario.run.seed)
        differences = sweep_differences(results, summary, scenario.sweep.kind if scenario.sweep else None,
                                        manifest.get("scenario"), lambda p: points[p], keys)
        summary_out = summary_file(summary)
        described = metric_metadata(results["metric"].unique()) if len(results) else {}
    write_frame_atomic(folder / "results.parquet", results,
                       {"pcnsim.metrics": described, "pcnsim.points": dict(enumerate(points))})
    write_frame_atomic(folder / "results.csv", results)
    write_frame_atomic(folder / "summary.csv", summary_out)
    if sensitivity is not None:
        write_frame_atomic(folder / "sensitivity.csv", sensitivity)
    write_differences(folder, differences)

    failed = sorted(failed_cells, key=lambda f: (f["point"], f["replication"]))
    for stale in ("finished_cells", "error"):   # left by an interrupted or stopped session
        manifest.pop(stale, None)
    session = manifest["sessions"][-1]
    manifest["seeds"]["per_replication"] = [{"replication": r, "entropy": scenario.run.seed, "spawn_key_prefix": [r]}
                                            for r in range(reps)]
    manifest.update({
        "status": "failed" if failed else "complete",
        "finished": session.get("finished"),
        "wall_seconds": round(sum(s.get("wall_seconds", 0.0) for s in manifest["sessions"]), 3),
        "replications": reps,
        "cells": {"total": len(points) * reps, "finished": len(per_cell_events), "failed": len(failed),
                  "cpu_seconds": round(cell_seconds, 3)},
        "simpy_events": {"total": int(sum(e[2] for e in per_cell_events)),
                         "per_cell": per_cell_events, "columns": ["point", "replication", "events"]},
        "pcns_simulated": pcns_total,
        "failed_cells": failed,
        "warmup_suggestion": _warmup_suggestion(warmup.truncation, scenario.run.warmup_weeks),
    })
    write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return RunData(folder, manifest, manifest.get("scenario") or {}, summary, results, sensitivity, list(keys))


def _split_cell(table: Any) -> tuple[Any, Any]:
    """A cell's whole-run metric rows (week -1) and its weekly rows, in file order: slices of
    the table when the metrics come first (as `write_cell` writes them), else filtered copies."""
    import pyarrow as pa

    is_metric = table.column("week").to_numpy() == METRIC_WEEK
    n = int(np.count_nonzero(is_metric))
    if not is_metric[n:].any():
        return table.slice(0, n), table.slice(n)
    return table.filter(pa.array(is_metric)), table.filter(pa.array(~is_metric))


class _MetricRows:
    """The cells' whole-run metric rows, gathered for results: values, and each cell's list of
    names kept once for all the cells that share it (a copy, so no cell's file data is held)."""

    def __init__(self) -> None:
        self.point: list[np.ndarray] = []
        self.replication: list[np.ndarray] = []
        self.value: list[np.ndarray] = []
        self.names: list[Any] = []   # a pyarrow string array per cell, shared while the names repeat

    def add(self, point: int, rep: int, rows: Any) -> None:
        import pyarrow as pa

        n = rows.num_rows
        names = rows.column("metric")
        if not (self.names and len(self.names[-1]) == n and self.names[-1].equals(names.combine_chunks())):
            self.names.append(pa.array(names.to_pylist(), pa.string()))
        else:
            self.names.append(self.names[-1])
        self.point.append(np.full(n, point, np.int64))
        self.replication.append(np.full(n, rep, np.int64))
        self.value.append(rows.column("value").to_numpy().astype("float64"))   # a copy, as the names


def _check_scenario(cells_dir: Path, point: int, rep: int, info: dict[str, Any], expected: str | None) -> None:
    """Refuse a cell computed for another scenario than the run's (two runs into one folder),
    rather than mix it into the results. Cells and manifests without a scenario fingerprint
    (an older pcnsim) are not checked."""
    stored = info.get("scenario_fingerprint")
    if expected and stored and stored != expected:
        from pcnsim.errors import RunFolderError

        raise RunFolderError(
            f"cannot combine the run in '{cells_dir.parent}': the cell file "
            f"{cell_name(point, rep)}.parquet was computed for another scenario (scenario fingerprint "
            f"{stored[:12]}, the run's {expected[:12]}), so another run wrote into this folder and its cells "
            "are mixed. Start a new run in a new folder.")


class _WeeklyFile:
    """weekly.parquet's rows in (point, replication) order, a row group every
    `_WEEKLY_ROWS_PER_GROUP` rows or so (the cells' rows gathered until there are as many),
    written by a thread of its own: pyarrow encodes and compresses without Python's lock, so a
    row group is written while the next cells are read. At most the row group being written
    and the one being gathered are held (memory stays flat)."""

    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        self._schema = schema
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pcnsim-weekly")
        self._writing: list[Future] = []
        self._pending: list[Any] = []
        self._rows = 0

    def __enter__(self) -> _WeeklyFile:
        return self

    def add(self, point: int, rep: int, rows: Any) -> None:
        """One cell's weekly rows (week, metric, value)."""
        import pyarrow as pa

        n = rows.num_rows
        self._pending.append(pa.table({"point": pa.array(np.full(n, point, np.int64)),
                                       "replication": pa.array(np.full(n, rep, np.int64)),
                                       "week": rows.column("week"), "metric": rows.column("metric"),
                                       "value": rows.column("value")}, schema=self._schema))
        self._rows += n
        if self._rows >= _WEEKLY_ROWS_PER_GROUP:
            self.flush()

    def flush(self, last: bool = False) -> None:
        """Write the rows gathered so far as a row group, in the writing thread once it has
        written the group before (memory stays flat); the `last` rows (none follow them) at
        once: here when nothing is being written (handing them over, the threads taking turns
        at Python's lock, would cost more than it saves), else after the group being written."""
        import pyarrow as pa

        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending, self._rows = [], 0
        if last and not self._writing:
            self._writer.write_table(table, row_group_size=table.num_rows)
            return
        if not last:
            self._wait()
        self._writing.append(self._thread.submit(self._writer.write_table, table, row_group_size=table.num_rows))

    def _wait(self) -> None:
        """Wait for the row groups handed over; a writing error (a full disk) is raised here."""
        while self._writing:
            self._writing.pop(0).result()

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if exc_type is None:
                self.flush()
                self._wait()
        finally:
            self._close(cancel=exc_type is not None)

    def _close(self, cancel: bool) -> None:
        """Close the file once no row group is being written (after an error, none is begun):
        a signal meanwhile (Ctrl-C, SIGTERM) is raised after the write, so that the thread
        never writes to a closed file."""
        signal: BaseException | None = None
        while True:
            try:
                self._thread.shutdown(wait=True, cancel_futures=cancel)
                break
            except BaseException as err:  # noqa: BLE001 - raised again below, once the thread is done
                signal = signal or err
        self._writer.close()
        if signal is not None:
            raise signal


class _WarmupSums:
    """Each weekly series summed over one point's replications, for the MSER-5 warm-up
    suggestion: the largest truncation of each series over the points (`truncation`).

    A cell holds each series contiguously, weeks ascending (see `write_cell`). A cell whose
    series all run weeks 0 to L-1 is added as one (series x weeks) block; any other cell
    series by series (a series whose length differs from the point's first is left out)."""

    def __init__(self) -> None:
        self.truncation: dict[str, int] = {}                 # MSER-5 weeks per series, largest over points
        self._names: tuple[str, ...] = ()                     # the rows of `_block`
        self._block: np.ndarray | None = None                 # their sums, series x weeks
        self._count = 0
        self._sums: dict[str, np.ndarray] = {}                # series by series, for other cells
        self._counts: dict[str, int] = {}
        self._layout: tuple[Any, tuple[str, ...], list[int], np.ndarray | None] | None = None

    def add(self, rows: Any) -> None:
        """One cell's weekly rows (week, metric, value) for the current point."""
        metric = rows.column("metric")
        week = rows.column("week").to_numpy()
        value = rows.column("value").to_numpy()
        names, starts, length = self._series(metric, week)
        if length:
            block = value.reshape(len(names), length)
            if self._block is None and not self._sums:
                self._names, self._block, self._count = names, block.astype("float64"), 1
                return
            if self._block is not None and names == self._names and length == self._block.shape[1]:
                self._block += block
                self._count += 1
                return
        self._unblock()
        for name, lo, hi in zip(names, starts, [*starts[1:], week.size]):
            weeks = week[lo:hi]
            series = np.zeros(int(weeks.max()) + 1)
            series[weeks] = value[lo:hi]
            if name not in self._sums:
                self._sums[name], self._counts[name] = series, 1
            elif self._sums[name].size == series.size:
                self._sums[name] += series
                self._counts[name] += 1

    def _series(self, metric: Any, week: np.ndarray) -> tuple[tuple[str, ...], list[int], int]:
        """A cell's series names and first rows, and their common length L when every series
        runs weeks 0 to L-1 once (else 0). Worked out once while the names repeat from cell to cell."""
        if self._layout is None or len(self._layout[0]) != len(metric) or not self._layout[0].equals(metric):
            import pyarrow.compute as pc

            change = pc.not_equal(metric.slice(1), metric.slice(0, len(metric) - 1)).to_numpy(zero_copy_only=False)
            starts = [0, *(np.flatnonzero(change) + 1).tolist()]
            names = tuple(str(n) for n in metric.take(starts).to_pylist())
            length = week.size // len(names)
            uniform = (length * len(names) == week.size and len(set(names)) == len(names)
                       and starts == list(range(0, week.size, length)))
            weeks = np.tile(np.arange(length, dtype=week.dtype), len(names)) if uniform else None
            self._layout = (metric, names, starts, weeks)
        _, names, starts, weeks = self._layout
        length = weeks.size // len(names) if weeks is not None and np.array_equal(week, weeks) else 0
        return names, starts, length

    def _unblock(self) -> None:
        """Turn the block into series by series (a cell of another layout came)."""
        if self._block is not None:
            for name, total in zip(self._names, self._block):
                self._sums[name], self._counts[name] = total, self._count
            self._names, self._block, self._count = (), None, 0

    def end_point(self) -> None:
        """MSER-5 on the replication means of the point's series; then forget them."""
        from pcnsim import analysis

        if self._block is not None:
            for name, weeks in zip(self._names, analysis.mser5_rows(self._block / self._count)):
                self.truncation[name] = max(self.truncation.get(name, 0), int(weeks))
        for name, total in self._sums.items():
            weeks = analysis.mser5(total / self._counts[name])
            self.truncation[name] = max(self.truncation.get(name, 0), weeks)
        self._names, self._block, self._count = (), None, 0
        self._sums.clear()
        self._counts.clear()


def _warmup_suggestion(by_metric: dict[str, int], warmup_weeks: int) -> dict[str, Any] | None:
    if not by_metric:
        return None
    key = [m for m in WARMUP_SERIES if m in by_metric] or sorted(by_metric)
    return {
        "method": "MSER-5 on the mean over replications of each weekly series (every week from 0), "
                  "the largest truncation over sweep points; batches of 5 weeks, searched over the "
                  "first half of the series",
        "current_warmup_weeks": warmup_weeks,
        "key_series": key,
        "suggested_weeks": max(by_metric[m] for m in key),
        "by_series": dict(sorted(by_metric.items())),
    }


def summary_file(summary: "pd.DataFrame") -> "pd.DataFrame":
    """summary.csv as written: after `metric`, its `label`, `unit` (a share's "fraction (0 to 1)")
    and `kind`; at the end the 95% interval kept within the metric's bounds (`ci_low_bounded`,
    `ci_high_bounded`: `pcnsim.analysis.bounded_interval`, a share within 0 to 1, nothing below
    zero) and `ci_cut` (True where a bound cut the t-interval, which `ci_low` and `ci_high` keep)."""
    import pandas as pd

    from pcnsim.analysis import bounded_intervals

    out = summary.copy()
    if out.empty or "metric" not in out:
        return out
    codes, names = pd.factorize(out["metric"], use_na_sentinel=False)   # each metric looked up once
    meta = metric_metadata(names)
    at = list(out.columns).index("metric") + 1
    for i, col in enumerate(("label", "unit", "kind")):
        out.insert(at + i, col, np.asarray([meta[str(m)][col] for m in names], dtype=object)[codes].tolist())
    low, high = out["ci_low"].to_numpy(dtype=float), out["ci_high"].to_numpy(dtype=float)
    cut_low, cut_high = bounded_intervals(out["mean"].to_numpy(dtype=float), low, high,
                                          out["metric"].to_numpy(dtype=object))
    out["ci_low_bounded"], out["ci_high_bounded"] = cut_low, cut_high
    out["ci_cut"] = ((cut_low != low) | (cut_high != high)) & np.isfinite(low) & np.isfinite(high)
    return out


def _results_frame(rows: _MetricRows, points: list[dict[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    columns = ["point", *keys, "replication", "metric", "value"]
    if not rows.point:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "object") for c in columns})
    results = pd.DataFrame({
        "point": np.concatenate(rows.point), "replication": np.concatenate(rows.replication),
        "metric": pd.array(pa.concat_arrays(rows.names), dtype="str"),
        "value": np.concatenate(rows.value)})
    index = results["point"].to_numpy()
    for i, key in enumerate(keys):
        results.insert(1 + i, key, pd.Series([points[p][key] for p in range(len(points))]).iloc[index].to_numpy())
    return results[columns]


def _exposure(results: pd.DataFrame, points: list[dict[str, Any]], scenario: Scenario) -> dict[int, float]:
    """PCN-years measured in one replication of each point: the exposure of a rare count's exact interval."""
    rows = (results["metric"] == "pcns_simulated").to_numpy(dtype=bool)
    point, pcns = results["point"].to_numpy()[rows], results["value"].to_numpy(dtype=float)[rows]
    point, pcns = point[~np.isnan(pcns)], pcns[~np.isnan(pcns)]
    firsts, at = np.unique(point, return_index=True)   # each point's first value, points ascending
    out = {}
    for point, n in zip(firsts.tolist(), pcns[at].tolist()):
        values = points[point] if point < len(points) else {}
        horizon = values.get("run.horizon_weeks", scenario.run.horizon_weeks)
        warmup = values.get("run.warmup_weeks", scenario.run.warmup_weeks)
        out[point] = float(n) * (horizon - warmup) / WEEKS_PER_YEAR
    return out
