"""National figures from a sweep whose points are whole ICSs (`scenarios/england.yaml`).

Every metric pcnsim writes is per PCN (the mean over the PCNs of one simulated ICS). A
national figure weights each point by its number of PCNs (`ics.pcns`), as the metric
catalogue says the metric combines (`pcnsim.metrics.aggregate`):

- `total` (counts: `*_per_year`, backlogs, `arrs_staff_wte`, `arrs_posts_funded`): per-PCN
  value x PCNs, summed over the points;
- `mean` (shares, hours a week, waits...): PCN-weighted means (for `wait_days_p90` that is
  the weighted mean of the ICSs' 90th percentiles, not the national percentile);
- `ratio` (`demand_met_share`, `cost_per_appointment`): the ratio of the national totals the
  catalogue names (`pcnsim.metrics.ratio_of`), as the model computes it for an ICS;
- `sum` (the catalogue's `point` metrics: `pcns_simulated`, not a per-PCN value): summed as it is.

From long-form results (one row per point, replication and metric), the national figure is
computed per replication, then its mean and a 95% t-interval over replications: the points
share random numbers (common random numbers), so the interval has to come from whole
national replications. From a summary (mean, ci_low, ci_high per point), the interval is
the conservative one that holds whatever the correlation between points: the half-widths
add up, weighted like the means.

`national_totals` does no I/O; `national_of` and `write_national` work on a run folder
(`national.csv`), and `national_sentences` says the figures in plain English.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import CONFIDENCE, finite, t_interval
from pcnsim.report.formatting import estimate_cells, format_number, format_value
from pcnsim.experiment.folder import RunData, load_run, write_text_atomic
from pcnsim.report.sentences import capitalised, result_sentences

__all__ = ["COLUMNS", "AGGREGATE_TEXT", "ICS_METRICS", "National", "aggregate_of", "national_totals",
           "national_of", "write_national", "save_national", "national_sentences", "national_cells",
           "national_kind", "COMPARISON_COLUMNS", "published_figures", "national_comparison", "comparison_cells",
           "comparison_lines"]

COLUMNS = ["metric", "aggregate", "value", "ci_low", "ci_high", "n", "pcns"]

#: Per-PCN metrics in the "Per ICS" table of a national run, when the run has them: a choice
#: of columns for one table (the headline metrics less the sweep-only ones, plus the CD's
#: protected time and ARRS staff), so kept here rather than as a catalogue flag.
ICS_METRICS: tuple[str, ...] = (
    "appointments_per_year",
    "demand_met_share",
    "wait_days_mean",
    "cd_protected_hours_per_week",
    "cd_overtime_hours_per_week",
    "leadership_tasks_overdue_share",
    "cd_resignations_per_year",
    "arrs_staff_wte",
)

#: How a national figure is made from per-PCN values, in words (national.csv's `aggregate`).
AGGREGATE_TEXT = {
    "total": "total: per-PCN value × PCNs, summed over ICSs",
    "sum": "summed over ICSs",
    "mean": "mean per PCN, weighted by PCNs",
    "ratio": "ratio of national totals",
}


# --------------------------------------------------------------------------- national arithmetic
def aggregate_of(metric: str) -> str:
    """How a metric becomes national: 'total' (x PCNs, summed), 'sum', 'ratio' or 'mean' (PCN-weighted).

    The catalogue's aggregation (`pcnsim.metrics.aggregate`), in national.csv's words: a
    `point` metric is summed as it is ('sum')."""
    kind = catalogue.aggregate(metric)
    return "sum" if kind == "point" else kind


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
    for metric in list(out):
        ratio = catalogue.ratio_of(metric) if aggregate_of(metric) == "ratio" else None
        if ratio is not None and ratio[0] in out and ratio[1] in out:
            num, den = ratio
            out[metric] = out[num] / out[den] if out[den] else math.nan
    return pd.Series(out)


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
        rows = []
        for metric in order:
            if metric not in nat.columns:
                continue
            mean, _, low, high, _ = t_interval(nat[metric].to_numpy(dtype=float), confidence)
            rows.append({"metric": metric, "aggregate": aggregate_of(metric), "value": mean,
                         "ci_low": low, "ci_high": high, "n": len(nat), "pcns": total_pcns})
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


# --------------------------------------------------------------------------- a national run
@dataclass
class National:
    """A run whose sweep points are ICSs, and its national figures (`national_totals`)."""

    points: list[int]
    names: dict[int, str]          # ICS name by point (`ics.name`, else "point N")
    pcns: dict[int, float]         # PCNs by point (`ics.pcns`)
    table: Optional[pd.DataFrame]  # `national_totals` output; None if it could not be computed
    method: str                    # "replications" (results) or "summary" (summary.csv)
    error: Optional[str] = None

    @property
    def total_pcns(self) -> float:
        return float(sum(self.pcns.values()))

    @property
    def replications(self) -> int:
        if self.table is None or self.table.empty:
            return 0
        return int(self.table["n"].min())

    def row(self, metric: str) -> Optional[pd.Series]:
        if self.table is None:
            return None
        t = self.table[self.table["metric"] == metric]
        return None if t.empty else t.iloc[0]


def national_of(run: RunData) -> Optional[National]:
    """The national figures of a run whose sweep points are ICSs, or None if it is not one.

    A run qualifies when it is a `points:` sweep of more than one point and every point sets
    `ics.pcns` (as `scenarios/england.yaml` does); points that repeat an `ics.name` are not
    distinct ICSs, so such a run does not qualify. National figures come from the long-form
    results (an interval from whole national replications) or, without them, from
    summary.csv (conservative intervals)."""
    present = run.points
    sweep = run.sweep
    spec = sweep.get("points") if sweep is not None else None
    if isinstance(spec, list) and spec:   # every ICS of the sweep, whether or not it has results
        if len(spec) < 2 or not all(isinstance(p, dict) and finite(p.get("ics.pcns")) for p in spec):
            return None
        points_arg: Optional[list[dict]] = spec
    elif (sweep is None and run.sweep_kind == "points" and "ics.pcns" in run.swept_keys
          and len(present) >= 2):
        points_arg = None            # no sweep recorded: the summary's `ics.pcns` column
    else:
        return None
    names: dict[int, str] = {}
    pcns: dict[int, float] = {}
    for p in (range(len(spec)) if points_arg is not None else present):
        values = dict(points_arg[p]) if points_arg is not None else run.point_values(p)
        v = values.get("ics.pcns")
        if not finite(v):
            return None
        pcns[p] = float(v)
        name = values.get("ics.name")
        names[p] = str(name) if name is not None and str(name) not in ("", "nan") else f"point {p}"
    named = [n for p, n in names.items() if not n.startswith("point ")]
    if len(named) != len(set(named)):
        return None                  # the same ICS twice: an experiment on it, not a country
    table, method, error = None, "replications", None
    try:
        if run.results is not None and "value" in run.results.columns:
            table = national_totals(run.results, points_arg)
        else:
            method = "summary"
            table = national_totals(run.summary, points_arg)
    except (ValueError, KeyError, TypeError) as err:
        error = str(err)
    return National(sorted(pcns), names, pcns, table, method, error)


def write_national(folder: str | os.PathLike) -> Optional[Path]:
    """Write `<folder>/national.csv` if the run's points are ICSs; return its path, or None.

    Its columns are `national_totals`'s: metric, aggregate, value, ci_low, ci_high, n, pcns.
    Written atomically (a temporary file, then renamed)."""
    return save_national(load_run(folder))


def save_national(run: RunData, nat: Optional[National] = None) -> Optional[Path]:
    """`write_national` for a run already read (and its national figures, if worked out)."""
    nat = nat if nat is not None else national_of(run)
    if nat is None or nat.table is None or nat.table.empty:
        return None
    path = run.folder / "national.csv"
    write_text_atomic(path, nat.table.to_csv(index=False))
    return path


def national_kind(metric: str, aggregate: str) -> str:
    """How a national figure is formatted: WTE totals run to thousands, so as counts."""
    kind = catalogue.kind(metric)
    return "count" if kind == "wte" and aggregate == "total" else kind


def national_cells(value: Any, lo: Any, hi: Any, kind: str, metric: Optional[str] = None) -> tuple[str, str]:
    """A national figure and its CI; without a CI, large counts and money keep 4 significant
    figures (one replication cannot support more: 297,689,104 shows as 297,700,000)."""
    if not (finite(lo) and finite(hi)) and kind in ("count", "money") and finite(value) \
            and abs(float(value)) >= 10_000:
        step = 10 ** (math.floor(math.log10(abs(float(value)))) - 3)
        value = round(float(value) / step) * step
        return format_value(value, kind, 0), ""
    return estimate_cells(value, lo, hi, kind, metric)


# --------------------------------------------------------------------------- published figures
COMPARISON_COLUMNS = ["metric", "label", "model", "model_low", "model_high", "published", "gap", "source", "note"]


def published_figures(run: RunData) -> list[dict]:
    """The published figures the run's scenario sets its national totals beside (`report.published`)."""
    report = run.scenario.get("report") if isinstance(run.scenario, dict) else None
    figures = report.get("published") if isinstance(report, dict) else None
    return [dict(f) for f in figures if isinstance(f, Mapping)] if isinstance(figures, list) else []


def national_comparison(nat: National, published: Any) -> pd.DataFrame:
    """The national figures beside published ones, one row per published figure.

    ``published``: mappings with ``metric``, ``value``, ``source`` and optionally ``note``
    (a scenario's `report.published`). ``model`` is the run's national figure (NaN if the run
    has no such metric) and ``model_low``, ``model_high`` its 95% CI (NaN with one
    replication); ``gap`` is model / published - 1."""
    rows = []
    for fig in published:
        metric = str(fig["metric"])
        row = nat.row(metric)
        model, low, high = ((float(row["value"]), float(row["ci_low"]), float(row["ci_high"]))
                            if row is not None and finite(row["value"]) else (math.nan,) * 3)
        value = float(fig["value"])
        gap = model / value - 1 if value and finite(model) else math.nan
        rows.append({"metric": metric, "label": catalogue.label(metric), "model": model, "model_low": low,
                     "model_high": high, "published": value, "gap": gap, "source": str(fig.get("source", "")),
                     "note": str(fig.get("note", "") or "")})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def comparison_cells(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """A comparison row's model figure (with its 95% CI when there is one), the published figure
    (as published) and the gap, as the national table shows them."""
    metric = str(row["metric"])
    kind = national_kind(metric, aggregate_of(metric))
    model = "-"
    if finite(row["model"]):
        value, ci = national_cells(row["model"], row.get("model_low"), row.get("model_high"), kind, metric)
        model = f"{value} ({ci})" if ci else value
    published = format_value(row["published"], kind)
    gap = "-" if not finite(row["gap"]) else "0.0%" if abs(float(row["gap"])) < 0.0005 else f"{float(row['gap']):+.1%}"
    return model, published, gap


def comparison_lines(table: pd.DataFrame) -> list[str]:
    """The comparison as aligned plain-text lines (for the terminal): metric, model, published, gap,
    then the source and the reason for the gap, indented."""
    if table.empty:
        return []
    cells = [(str(r["label"]), *comparison_cells(r)) for _, r in table.iterrows()]
    header = ("", "model", "published", "gap")
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join([header[0].ljust(widths[0])] + [h.rjust(w) for h, w in zip(header[1:], widths[1:])])]
    for (_, r), c in zip(table.iterrows(), cells):
        lines.append("  ".join([c[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(c[1:], widths[1:])]))
        lines.append(" " * 4 + f"source: {r['source']}" + (f"; {r['note']}" if r["note"] else ""))
    return lines


def national_sentences(run: RunData, nat: National) -> list[str]:
    """The national figures in plain English, each with its 95% CI where there is one."""
    t = nat.table.set_index("metric") if nat.table is not None else pd.DataFrame()

    def has(*ms: str) -> bool:
        return all(m in t.index and finite(t.loc[m, "value"]) for m in ms)

    def est(m: str) -> str:
        r = t.loc[m]
        value, ci = national_cells(r["value"], r["ci_low"], r["ci_high"], national_kind(m, r["aggregate"]), m)
        return f"{value} (95% CI {ci})" if ci else value

    def val(m: str) -> str:
        r = t.loc[m]
        return national_cells(r["value"], r["ci_low"], r["ci_high"], national_kind(m, r["aggregate"]), m)[0]

    patients = (f" ({val('registered_patients')} registered patients)" if has("registered_patients") else "")
    out = [f"The run simulates {len(nat.points)} ICSs with {format_number(nat.total_pcns, 0)} PCNs in "
           f"all{patients}; each national figure adds up the per-PCN results, weighted by each ICS's PCNs."]
    if has("appointments_per_year"):
        share = f", {val('demand_met_share')} of" if has("demand_met_share") else ""
        req = (f"{share} the {val('requests_per_year')} requested" if has("requests_per_year") else "")
        out.append(f"Nationally, PCNs delivered {est('appointments_per_year')} appointments a "
                   f"year{req}.")
    return capitalised(out) + result_sentences(has, est, val, "national")
