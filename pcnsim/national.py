"""National figures from a sweep whose points are whole ICSs (`scenarios/england.yaml`).

Every metric pcnsim writes is per PCN (the mean over the PCNs of one simulated ICS). A
national figure weights each point by its number of PCNs (`ics.pcns`):

- counts (`*_per_year`, `backlog_start`, `backlog_end`, `arrs_staff_wte`,
  `arrs_posts_funded`) are summed: per-PCN value x PCNs, over the points;
- shares, hours a week, waits and every other metric are PCN-weighted means (for
  `wait_days_p90` that is the weighted mean of the ICSs' 90th percentiles, not the
  national percentile);
- `demand_met_share` and `cost_per_appointment` are ratios of national totals
  (appointments / requests, spend / appointments), as the model computes them for an ICS;
- `pcns_simulated` (PCNs in a point, not a per-PCN value) is summed as it is.

From long-form results (one row per point, replication and metric), the national figure is
computed per replication, then its mean and a 95% t-interval over replications: the points
share random numbers (common random numbers), so the interval has to come from whole
national replications. From a summary (mean, ci_low, ci_high per point), the interval is
the conservative one that holds whatever the correlation between points: the half-widths
add up, weighted like the means.

No I/O: the caller reads the run (`pcnsim.experiment.load_run`) and passes its frames.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

CONFIDENCE = 0.95

#: Count metrics (per PCN) that add up over PCNs, besides every ``*_per_year`` metric.
TOTAL_METRICS = frozenset({"backlog_start", "backlog_end", "arrs_staff_wte", "arrs_posts_funded"})
#: Metrics that are national ratios of two national totals: numerator, denominator.
RATIO_METRICS: dict[str, tuple[str, str]] = {
    "demand_met_share": ("appointments_per_year", "requests_per_year"),
    "cost_per_appointment": ("spend_per_year", "appointments_per_year"),
}
#: Metrics that describe the point rather than a PCN: summed as they are.
POINT_METRICS = frozenset({"pcns_simulated"})

COLUMNS = ["metric", "aggregate", "value", "ci_low", "ci_high", "n", "pcns"]


def aggregate_of(metric: str) -> str:
    """How a metric becomes national: 'total' (x PCNs, summed), 'sum', 'ratio' or 'mean' (PCN-weighted)."""
    if metric in POINT_METRICS:
        return "sum"
    if metric in RATIO_METRICS:
        return "ratio"
    if metric.endswith("_per_year") or metric in TOTAL_METRICS:
        return "total"
    return "mean"


def _points_list(scenario_points: Any) -> list[Mapping[str, Any]] | None:
    """Sweep points as a list of {dotted key: value}; accepts a Scenario with a `points` sweep."""
    if scenario_points is None:
        return None
    sweep = getattr(scenario_points, "sweep", None)
    if sweep is not None or hasattr(scenario_points, "ics"):
        if sweep is None or sweep.points is None:
            raise ValueError("national_totals needs a scenario whose sweep is `points:` (one point per ICS)")
        return [dict(p) for p in sweep.points]
    return [dict(p) for p in scenario_points]


def _pcns_by_point(frame: pd.DataFrame, points: list[Mapping[str, Any]] | None) -> dict[int, float]:
    """PCNs of each point: from the sweep points, else from the frame's `ics.pcns` column."""
    present = sorted(int(p) for p in frame["point"].unique())
    out: dict[int, float] = {}
    for p in present:
        pcns = None
        if points is not None:
            if p >= len(points):
                raise ValueError(f"results have point {p} but only {len(points)} sweep points were given")
            pcns = points[p].get("ics.pcns")
        if pcns is None and "ics.pcns" in frame.columns:
            pcns = frame.loc[frame["point"] == p, "ics.pcns"].iloc[0]
        if pcns is None:
            raise ValueError(f"point {p}: no `ics.pcns` in its sweep point or in the results")
        pcns = float(pcns)
        if not math.isfinite(pcns) or pcns < 0:
            raise ValueError(f"point {p}: ics.pcns = {pcns} is not a PCN count")
        out[p] = pcns
    return out


def _national(table: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """National figures from a (point x metric) table of per-PCN values and PCN weights by point."""
    w = weights.reindex(table.index).to_numpy(dtype=float)
    out: dict[str, float] = {}
    for metric in table.columns:
        x = table[metric].to_numpy(dtype=float)
        kind = aggregate_of(metric)
        if kind == "sum":
            out[metric] = float(np.sum(x))
        elif kind == "total":
            out[metric] = float(np.sum(x * w))
        else:   # means; ratios are replaced below when both totals exist
            ok = ~np.isnan(x)
            out[metric] = float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if np.sum(w[ok]) > 0 else math.nan
    for metric, (num, den) in RATIO_METRICS.items():
        if metric in out and num in out and den in out:
            out[metric] = out[num] / out[den] if out[den] else math.nan
    return pd.Series(out)


def _t_halfwidth(std: float, n: int, confidence: float) -> float:
    if n < 2 or not math.isfinite(std):
        return math.nan
    from pcnsim.analysis import t_quantile

    return float(t_quantile(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)


def national_totals(results_or_summary: Any, scenario_points: Any = None, *,
                    confidence: float = CONFIDENCE) -> pd.DataFrame:
    """National figures of a sweep whose points are ICSs: per-PCN metrics x PCNs, over the points.

    ``results_or_summary`` is a run's long-form ``results`` (``point``, ``replication``,
    ``metric``, ``value``; swept-key columns allowed), its ``summary`` (``point``,
    ``metric``, ``mean``, ``ci_low``, ``ci_high``, ``n``), or an object with a
    ``results`` frame (a `RunResult`). ``scenario_points`` gives each point's PCNs: the
    sweep points in order (``[{"ics.name": ..., "ics.pcns": 55}, ...]``) or a scenario
    with a ``points`` sweep; if None, the frame's ``ics.pcns`` column is used.

    Returns one row per metric: ``metric``, ``aggregate`` (total, sum, mean, ratio — see
    the module doc), ``value`` (the national figure; with results, its mean over
    replications), ``ci_low``, ``ci_high`` (95% by default; NaN with one replication),
    ``n`` (replications used: those with every point present) and ``pcns`` (PCNs
    counted). Metrics keep the order in which they first appear.
    """
    frame = getattr(results_or_summary, "results", results_or_summary)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("national_totals expects a results or summary DataFrame (or a RunResult)")
    points = _points_list(scenario_points)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("metric", "aggregate") else float) for c in COLUMNS})
    if "point" not in frame.columns or "metric" not in frame.columns:
        raise ValueError("national_totals needs `point` and `metric` columns")
    pcns = _pcns_by_point(frame, points)
    if points is not None and len(pcns) < len(points):
        missing = sorted(set(range(len(points))) - set(pcns))
        raise ValueError(f"no results for sweep points {missing[:10]}: a national figure needs every ICS")
    weights = pd.Series(pcns)
    order = list(dict.fromkeys(frame["metric"]))
    total_pcns = float(weights.sum())

    if "value" in frame.columns:            # long-form results: national figure per replication
        reps = frame["replication"] if "replication" in frame.columns else pd.Series(0, index=frame.index)
        per_rep = []
        n_points = len(pcns)
        for _, group in frame.assign(replication=reps).groupby("replication", sort=True):
            if group["point"].nunique() < n_points:
                continue                    # a failed cell: this replication has no national figure
            table = group.pivot_table(index="point", columns="metric", values="value", aggfunc="first", dropna=False)
            per_rep.append(_national(table, weights))
        if not per_rep:
            raise ValueError("no replication has results for every point")
        nat = pd.DataFrame(per_rep)
        n = len(nat)
        mean = nat.mean()
        std = nat.std(ddof=1) if n > 1 else pd.Series(math.nan, index=nat.columns)
        rows = []
        for metric in order:
            if metric not in nat.columns:
                continue
            h = _t_halfwidth(float(std[metric]), n, confidence)
            rows.append({"metric": metric, "aggregate": aggregate_of(metric), "value": float(mean[metric]),
                         "ci_low": float(mean[metric]) - h, "ci_high": float(mean[metric]) + h,
                         "n": n, "pcns": total_pcns})
        return pd.DataFrame(rows, columns=COLUMNS)

    if "mean" not in frame.columns:
        raise ValueError("national_totals needs a `value` column (results) or a `mean` column (summary)")
    means = frame.pivot_table(index="point", columns="metric", values="mean", aggfunc="first", dropna=False)
    value = _national(means, weights)
    if {"ci_low", "ci_high"} <= set(frame.columns):
        half = (frame["ci_high"] - frame["ci_low"]) / 2
        halves = frame.assign(_h=half).pivot_table(index="point", columns="metric", values="_h", aggfunc="first",
                                                   dropna=False)
    else:
        halves = means * math.nan
    halves = halves.reindex(index=means.index, columns=means.columns)
    w = weights.reindex(means.index).to_numpy(dtype=float)
    n = int(frame["n"].min()) if "n" in frame.columns else 1
    rows = []
    for metric in order:
        if metric not in value.index:
            continue
        kind = aggregate_of(metric)
        hw = halves[metric].to_numpy(dtype=float)
        if kind == "total":
            h = float(np.sum(hw * w))
        elif kind == "sum":
            h = float(np.sum(hw))
        elif kind == "mean":
            h = float(np.sum(hw * w) / np.sum(w)) if np.sum(w) > 0 else math.nan
        else:                               # a ratio's interval is not a sum of half-widths
            h = math.nan
        rows.append({"metric": metric, "aggregate": kind, "value": float(value[metric]),
                     "ci_low": float(value[metric]) - h, "ci_high": float(value[metric]) + h,
                     "n": n, "pcns": total_pcns})
    return pd.DataFrame(rows, columns=COLUMNS)
