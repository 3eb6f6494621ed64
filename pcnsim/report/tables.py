"""The tables of the report page as rows of text: all metrics of a point, the headline metrics by
sweep point, the national totals (with published figures beside them) and the per-ICS table.

Each function returns plain data (numbers already in words); the macros of
`templates/parts.html.j2` lay the rows out as HTML and escape them (`pcnsim.report.rendering`).
"""
from __future__ import annotations

from typing import Any, Optional

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite
from pcnsim.report.formatting import (ci_decimals, estimate_cells, format_number,
                                      format_param, format_value, round_to_ci)
from pcnsim.report.national import AGGREGATE_TEXT, ICS_METRICS, National, comparison_cells, national_cells, \
    national_comparison, national_kind, national_sentences, published_figures
from pcnsim.experiment.folder import RunData, order_metrics

__all__ = ["metric_rows", "sweep_view", "national_view", "published_rows", "ics_view", "value_pm",
           "MAX_TABLE_POINTS"]

MAX_TABLE_POINTS = 30     # a sweep table of key metrics by point, up to this many points


def _heading(metric: str) -> dict[str, str]:
    """A metric as a column heading: its label and, below it, its unit."""
    return {"label": catalogue.label(metric), "unit": catalogue.unit(metric)}


def metric_rows(run: RunData, point: Optional[int] = None) -> list[dict[str, Any]]:
    """Every metric of a point: label, name, mean, 95% CI (as summary.csv has it), unit and n."""
    from pcnsim.analysis import bounded_interval

    s = run.point_summary(point)
    rows = []
    for m, r in s.iterrows():
        kind = catalogue.kind(m)
        lo, hi = r["ci_low"], r["ci_high"]
        cut = False
        if finite(r["mean"]) and finite(lo) and finite(hi):   # kept within the metric's bounds, and said so
            blo, bhi = bounded_interval(float(r["mean"]), float(lo), float(hi), metric=m)
            cut = (blo, bhi) != (float(lo), float(hi))
            lo, hi = blo, bhi
        dec = ci_decimals(r["mean"], lo, hi, kind)
        rd = lambda v: round_to_ci(v, r["mean"], lo, hi, kind) if finite(v) else v  # noqa: E731
        rows.append({"label": catalogue.label(m), "metric": m, "mean": format_value(rd(r["mean"]), kind, dec),
                     "low": format_value(rd(lo), kind, dec),
                     "high": format_value(rd(hi), kind, dec), "unit": catalogue.unit(m),
                     "n": int(r["n"]) if finite(r.get("n")) else "", "cut": cut})
    return rows


def sweep_view(run: RunData) -> Optional[dict[str, Any]]:
    """The headline metrics at each sweep point (the first `MAX_TABLE_POINTS`); None when the
    run has none of them. Each cell is a value and its 95% CI, or None when the point lacks it."""
    from pcnsim.report.answers import parameter_label

    keys = run.swept_keys
    metrics = [m for m in catalogue.HEADLINE if m in set(run.summary["metric"])]
    if not metrics:
        return None
    s = run.summary[run.summary["metric"].isin(metrics)]
    points = run.points
    shown = points[:MAX_TABLE_POINTS]
    rows = []
    for p in shown:
        have = s[s["point"] == p].set_index("metric")
        vals = run.point_values(p)
        cells = []
        for m in metrics:
            if m in have.index:
                r = have.loc[m]
                value, ci = estimate_cells(r["mean"], r["ci_low"], r["ci_high"], catalogue.kind(m), m)
                cells.append({"value": value, "ci": ci})
            else:
                cells.append(None)
        rows.append({"point": p, "values": [format_param(vals.get(k, "")) for k in keys], "cells": cells})
    return {"keys": [parameter_label(k) for k in keys], "metrics": [_heading(m) for m in metrics],
            "rows": rows, "shown": len(shown), "total": len(points)}


def value_pm(mean: Any, lo: Any, hi: Any, kind: str, metric: Optional[str] = None) -> dict[str, str]:
    """A value and ± its CI half-width ("" without a CI), both rounded to what the CI supports."""
    value, _ = estimate_cells(mean, lo, hi, kind, metric)
    if not (finite(lo) and finite(hi)):
        return {"value": value, "pm": ""}
    half = (float(hi) - float(lo)) / 2
    h = round_to_ci(half, mean, lo, hi, kind)
    text = f"{h * 100:.1f} points" if kind == "share" else format_value(h, kind, ci_decimals(mean, lo, hi, kind))
    return {"value": value, "pm": text}


def national_view(run: RunData, nat: National) -> dict[str, Any]:
    """The "National totals" section: sentences, how the intervals were made, every metric's
    national figure and the published figures beside them. `ok` False (with the `error`) when
    the national totals could not be computed."""
    if nat.table is None or nat.table.empty:
        return {"ok": False, "error": nat.error or ""}
    reps = nat.replications
    t = nat.table.set_index("metric")
    rows = []
    for m in order_metrics(t.index):
        r = t.loc[m]
        kind = national_kind(m, r["aggregate"])
        value, ci = national_cells(r["value"], r["ci_low"], r["ci_high"], kind, m)
        if not ci:
            ci = ("none (1 replication)" if reps <= 1 else
                  "none (a ratio)" if r["aggregate"] == "ratio" else "n/a")
        unit = catalogue.unit(m)
        if r["aggregate"] == "mean":
            unit = f"{unit}, per PCN" if unit else "per PCN"
        elif r["aggregate"] == "total":
            unit = f"{unit}, all PCNs" if unit else "all PCNs"
        rows.append({"label": catalogue.label(m), "metric": m, "aggregate": r["aggregate"],
                     "how": AGGREGATE_TEXT.get(r["aggregate"], r["aggregate"]), "value": value, "ci": ci,
                     "unit": unit})
    return {"ok": True, "replications": reps, "method": nat.method, "sentences": national_sentences(run, nat),
            "published": published_rows(run, nat), "rows": rows}


def published_rows(run: RunData, nat: National) -> list[dict[str, str]]:
    """The national figures beside the published ones the scenario names (`report.published`)."""
    published = published_figures(run)
    if not published:
        return []
    rows = []
    for _, r in national_comparison(nat, published).iterrows():
        model, value, gap = comparison_cells(r)
        rows.append({"label": r["label"], "metric": r["metric"], "model": model, "published": value, "gap": gap,
                     "source": r["source"], "note": r["note"]})
    return rows


def ics_view(run: RunData, nat: National) -> dict[str, Any]:
    """The "Per ICS" table: each ICS's `ICS_METRICS` per PCN (a `value_pm` cell, None for n/a),
    and the national figure per PCN in a last row."""
    have = set(run.summary["metric"])
    metrics = [m for m in ICS_METRICS if m in have]
    s = run.summary[run.summary["metric"].isin(metrics)]
    rows = []
    for p in nat.points:
        at = s[s["point"] == p].set_index("metric")
        cells = []
        for m in metrics:
            r = at.loc[m] if m in at.index else None
            cells.append(None if r is None else
                         value_pm(r["mean"], r["ci_low"], r["ci_high"], catalogue.kind(m), m))
        rows.append({"name": nat.names[p], "pcns": format_number(nat.pcns[p], 0), "cells": cells})
    # the national row, per PCN: totals / PCNs; means and ratios as they are
    total = []
    for m in metrics:
        r = nat.row(m)
        if r is None or not finite(r["value"]) or not nat.total_pcns:
            total.append(None)
            continue
        per = nat.total_pcns if r["aggregate"] == "total" else 1.0
        total.append(value_pm(float(r["value"]) / per, float(r["ci_low"]) / per, float(r["ci_high"]) / per,
                              catalogue.kind(m), m))
    return {"metrics": [_heading(m) for m in metrics], "rows": rows,
            "total": {"count": len(nat.points), "pcns": format_number(nat.total_pcns, 0), "cells": total},
            "intervals": (nat.replications or run.replications or 0) > 1}
