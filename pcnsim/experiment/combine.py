"""The finish step: the cell files, in (point, replication) order, become the run folder's files.

results.parquet/.csv, summary.csv, weekly.parquet (streamed: memory stays flat as sweeps
grow), sensitivity.csv for Sobol sweeps, differences.csv for grid and points sweeps, and the completed manifest.json with the MSER-5
warm-up suggestion. Statistics come from `pcnsim.analysis`.
"""
from __future__ import annotations

import json
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
_WEEKLY_ROWS_PER_GROUP = 1_000_000


def combine(folder: Path, is_done: Callable[[int, int], bool], failed_cells: Sequence[dict[str, Any]],
            scenario: Scenario, manifest: dict[str, Any], points: list[dict[str, Any]], keys: Sequence[str],
            reps: int) -> RunData:
    """Combine the finished cells of `folder/cells` into the run folder's files; return the run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pcnsim import analysis

    cells_dir = folder / "cells"
    metric_cols: dict[str, list[np.ndarray]] = {"point": [], "replication": [], "metric": [], "value": []}
    per_cell_events: list[list[int]] = []
    pcns_total = 0
    cell_seconds = 0.0
    sums: dict[tuple[int, str], np.ndarray] = {}   # one point's series at a time (memory stays flat)
    counts: dict[tuple[int, str], int] = {}
    truncation: dict[str, int] = {}                  # MSER-5 weeks per series, largest over points
    pending: list[pa.Table] = []
    pending_rows = 0
    # the swept values of each point ride in the schema metadata: weekly rows carry the point number
    weekly_schema = schemas()[1].with_metadata({b"pcnsim.points": json.dumps(dict(enumerate(points)),
                                                                             default=str).encode()})
    with atomic(folder / "weekly.parquet") as weekly_tmp, \
            pq.ParquetWriter(weekly_tmp, weekly_schema, compression="zstd") as writer:
        for point in range(len(points)):
            for rep in range(reps):
                if not is_done(point, rep):
                    continue
                table, info = read_cell(cells_dir / f"{cell_name(point, rep)}.parquet")
                _check_scenario(cells_dir, point, rep, info, manifest.get("scenario_fingerprint"))
                per_cell_events.append([point, rep, int(info.get("events", 0))])
                pcns_total += int(info.get("pcns", 0))
                cell_seconds += float(info.get("seconds", 0.0))
                week = table.column("week").to_numpy()
                metric = table.column("metric").to_numpy(zero_copy_only=False)
                value = table.column("value").to_numpy()
                is_metric = week == METRIC_WEEK
                n_metrics = int(is_metric.sum())
                metric_cols["point"].append(np.full(n_metrics, point, np.int64))
                metric_cols["replication"].append(np.full(n_metrics, rep, np.int64))
                metric_cols["metric"].append(metric[is_metric])
                metric_cols["value"].append(value[is_metric])
                weekly = table.filter(pa.array(~is_metric))
                if weekly.num_rows:
                    n = weekly.num_rows
                    pending.append(pa.table({"point": pa.array(np.full(n, point, np.int64)),
                                             "replication": pa.array(np.full(n, rep, np.int64)),
                                             "week": weekly.column("week"), "metric": weekly.column("metric"),
                                             "value": weekly.column("value")}, schema=weekly_schema))
                    pending_rows += n
                    if pending_rows >= _WEEKLY_ROWS_PER_GROUP:
                        writer.write_table(pa.concat_tables(pending), row_group_size=_WEEKLY_ROWS_PER_GROUP)
                        pending, pending_rows = [], 0
                    _accumulate(sums, counts, point, week[~is_metric], metric[~is_metric], value[~is_metric])
            _truncate_point(sums, counts, truncation)
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=_WEEKLY_ROWS_PER_GROUP)

    results = _results_frame(metric_cols, points, keys)
    summary = analysis.summarise(results, by=["point", *keys], exposure=_exposure(results, points, scenario),
                                 rare=metrics.RARE, spread=True)
    sensitivity = None
    if scenario.sweep is not None and scenario.sweep.kind == "sobol":
        problem = analysis.sobol_problem(scenario.sweep.sobol.ranges)
        sensitivity = analysis.sensitivity(results, problem, len(points), seed=scenario.run.seed)
    described = metric_metadata(results["metric"].unique()) if len(results) else {}
    write_frame_atomic(folder / "results.parquet", results,
                       {"pcnsim.metrics": described, "pcnsim.points": dict(enumerate(points))})
    write_frame_atomic(folder / "results.csv", results)
    write_frame_atomic(folder / "summary.csv", summary_file(summary))
    if sensitivity is not None:
        write_frame_atomic(folder / "sensitivity.csv", sensitivity)
    write_differences(folder, sweep_differences(results, summary, scenario.sweep.kind if scenario.sweep else None,
                                                manifest.get("scenario"), lambda p: points[p], keys))

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
        "warmup_suggestion": _warmup_suggestion(truncation, scenario.run.warmup_weeks),
    })
    write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=2, default=str))
    return RunData(folder, manifest, manifest.get("scenario") or {}, summary, results, sensitivity, list(keys))


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


def _accumulate(sums: dict, counts: dict, point: int, week: np.ndarray, metric: np.ndarray,
                value: np.ndarray) -> None:
    """Add one cell's weekly series to the per-point sums (for the MSER-5 suggestion).

    A cell file holds each series contiguously, weeks ascending (see `write_cell`)."""
    if metric.size == 0:
        return
    change = np.flatnonzero(metric[1:] != metric[:-1]) + 1
    for lo, hi in zip([0, *change], [*change, metric.size]):
        key = (point, str(metric[lo]))
        weeks = week[lo:hi]
        series = np.zeros(int(weeks.max()) + 1)
        series[weeks] = value[lo:hi]
        if key not in sums:
            sums[key], counts[key] = series, 1
        elif sums[key].size == series.size:
            sums[key] += series
            counts[key] += 1


def _truncate_point(sums: dict, counts: dict, truncation: dict[str, int]) -> None:
    """MSER-5 on the replication means of one point's weekly series; then forget them."""
    from pcnsim import analysis

    for (point, metric), total in sums.items():
        weeks = analysis.mser5(total / counts[(point, metric)])
        truncation[metric] = max(truncation.get(metric, 0), weeks)
    sums.clear()
    counts.clear()


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
    from pcnsim.analysis import bounded_interval

    out = summary.copy()
    if out.empty or "metric" not in out:
        return out
    meta = metric_metadata(out["metric"].unique())
    at = list(out.columns).index("metric") + 1
    for i, col in enumerate(("label", "unit", "kind")):
        out.insert(at + i, col, [meta[str(m)][col] for m in out["metric"]])
    cut = [bounded_interval(float(m), float(lo), float(hi), metric=str(name))
           if all(np.isfinite(v) for v in (m, lo, hi)) else (lo, hi)
           for name, m, lo, hi in zip(out["metric"], out["mean"], out["ci_low"], out["ci_high"])]
    out["ci_low_bounded"] = [c[0] for c in cut]
    out["ci_high_bounded"] = [c[1] for c in cut]
    out["ci_cut"] = [bool((c[0] != lo) or (c[1] != hi)) and np.isfinite(lo) and np.isfinite(hi)
                     for c, lo, hi in zip(cut, out["ci_low"], out["ci_high"])]
    return out


def _results_frame(cols: dict[str, list[np.ndarray]], points: list[dict[str, Any]],
                   keys: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    columns = ["point", *keys, "replication", "metric", "value"]
    if not cols["point"]:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "object") for c in columns})
    results = pd.DataFrame({
        "point": np.concatenate(cols["point"]), "replication": np.concatenate(cols["replication"]),
        "metric": pd.array(np.concatenate(cols["metric"]), dtype="str"),
        "value": np.concatenate(cols["value"]).astype("float64")})
    index = results["point"].to_numpy()
    for i, key in enumerate(keys):
        results.insert(1 + i, key, pd.Series([points[p][key] for p in range(len(points))]).iloc[index].to_numpy())
    return results[columns]


def _exposure(results: pd.DataFrame, points: list[dict[str, Any]], scenario: Scenario) -> dict[int, float]:
    """PCN-years measured in one replication of each point: the exposure of a rare count's exact interval."""
    pcns = results[results["metric"] == "pcns_simulated"].groupby("point")["value"].first()
    out = {}
    for point, n in pcns.items():
        values = points[point] if point < len(points) else {}
        horizon = values.get("run.horizon_weeks", scenario.run.horizon_weeks)
        warmup = values.get("run.warmup_weeks", scenario.run.warmup_weeks)
        out[point] = float(n) * (horizon - warmup) / WEEKS_PER_YEAR
    return out
