"""The figure that answers the scenario's question: its focus metrics (`report.focus`), one
small panel each in the metric's own unit, every point of the run side by side.

A panel per metric (at most 8), so that hours sit with hours and shares with shares; one
colour, the points on the x axis (named by their swept values, thinned when there are
many), dots at the mean and whiskers at the 95% CI cut at the metric's bounds.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from pcnsim import metrics as catalogue
from pcnsim.experiment.folder import RunData
from pcnsim.report.figures.sweep import _yerr
from pcnsim.analysis import finite
from pcnsim.report.formatting import format_param, format_value
from pcnsim.report.style import (FIG_SIZE, Figure, new_figure, palette, plot_scale, readable_ticks, save,
                                 subtitle, theme, thousands)

__all__ = ["fig_focus", "point_names", "MAX_FOCUS_POINTS"]

#: A focus figure shows at most this many points side by side (larger sweeps: the sweep figures).
MAX_FOCUS_POINTS = 24


def point_names(run: RunData, short: bool = True) -> dict[int, str]:
    """A name for each point: its swept values ("forum", "2 sessions"), or "point N"."""
    out = {}
    for p in run.points:
        values = run.point_values(p)
        if not values:
            out[p] = f"point {p}"
        elif short and len(values) == 1:
            out[p] = format_param(next(iter(values.values())))
        else:
            out[p] = ", ".join(f"{k.rsplit('.', 1)[-1]} {format_param(v)}" for k, v in values.items())
    return out


#: Columns of panels for n focus metrics, and how many characters a panel title is wrapped to.
_COLUMNS = {1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4}
_TITLE_CHARS = {1: 60, 2: 36, 3: 22, 4: 16}


def _limits(means: np.ndarray, lows: np.ndarray, highs: np.ndarray, metric: str) -> tuple[float, float]:
    """The y range of a panel: from zero for a metric that cannot fall below zero (so a dot's
    interval is seen against the value itself, not against a zoomed sliver of the axis), and
    never narrower than a fifth of the largest value around the data; shares stop at 100%."""
    vals = np.concatenate([v[np.isfinite(v)] for v in (means, lows, highs)])
    if not len(vals):
        return 0.0, 1.0
    lo, hi = float(vals.min()), float(vals.max())
    top = max(abs(lo), abs(hi)) or 1.0
    low_bound, high_bound = catalogue.bounds(metric)
    if low_bound == 0 and lo >= 0:
        lo = 0.0
    span = max(hi - lo, 0.2 * top)
    mid = (hi + lo) / 2 if lo != 0 else None
    if mid is None:
        hi = lo + span * 1.18
    else:
        lo, hi = mid - span * 0.59, mid + span * 0.59
        if low_bound == 0 and lo < 0:
            lo, hi = 0.0, hi - lo
    if high_bound is not None and catalogue.kind(metric) == "share":
        hi = min(hi, 100.0 * high_bound * 1.04)
    return lo, hi


def fig_focus(run: RunData, focus: Sequence[str], figdir: Path, question: str = "") -> Optional[Figure]:
    """focus.png: the focus metrics the run has, a panel each; None if it has none of them or
    has more points than `MAX_FOCUS_POINTS`.

    Panel titles are wrapped to the panel's width (so neighbours never overlap); each dot is
    labelled with its value; axes start at zero for metrics that cannot be negative, so a small
    interval looks small."""
    have = set(run.summary["metric"])
    metrics = [m for m in dict.fromkeys(focus) if m in have][:8]
    if not metrics or len(run.points) > MAX_FOCUS_POINTS:
        return None
    names = point_names(run)
    if len(run.points) > 1 and any(len(names[p]) > 16 for p in run.points):
        names = {p: str(p) for p in run.points}    # long names (several keys, ICS names): the point's number
    n = len(metrics)
    ncols = _COLUMNS[n]
    nrows = math.ceil(n / ncols)
    chars = _TITLE_CHARS[ncols]
    height = max(FIG_SIZE[1], 1.6 + 3.9 * nrows)
    col = palette(1)[0]
    title = textwrap.shorten(question, 140, placeholder="...") if question else "The focus metrics"
    with theme():
        fig, body = new_figure(title, subtitle(run), figsize=(FIG_SIZE[0], height))
        axes = np.atleast_1d(body.subplots(nrows, ncols, squeeze=False)).ravel()
        x = np.arange(len(run.points))
        for ax, m in zip(axes, metrics):
            d = run.summary[run.summary["metric"] == m].set_index("point").reindex(run.points).reset_index()
            scale = plot_scale(m)
            yerr = _yerr(d, scale, m)
            means = d["mean"].to_numpy(dtype=float) * scale
            ax.errorbar(x, means, yerr=yerr, fmt="o", ms=10, capsize=8, color=col, lw=2.5)
            ax.set_title("\n".join(textwrap.wrap(catalogue.label(m), chars)[:3]),
                         fontsize="medium" if ncols <= 3 else "small")
            ax.set_ylabel(catalogue.unit(m), fontsize="small")
            ax.set_ylim(*_limits(means, means - yerr[0], means + yerr[1], m))
            if len(x) == 1:
                label = names[run.points[0]] if run.swept_keys else "this run"
                ax.set_xticks([0], ["\n".join(textwrap.wrap(label, chars))], fontsize="small")
                ax.set_xlim(-1, 1)
            else:
                readable_ticks(ax, x, [names[p] for p in run.points], max_labels=8 if ncols <= 2 else 4)
                ax.set_xlim(-0.5, len(x) - 0.5)
            if len(x) <= 3:     # the value beside each dot: read, not estimated from the axis
                for xi, v, row in zip(x, means, d.to_dict("records")):
                    if finite(v):
                        ax.annotate(format_value(row["mean"], catalogue.kind(m)), (xi, v), xytext=(14, 0),
                                    textcoords="offset points", va="center", fontsize="small")
            ax.tick_params(axis="y", labelsize="small")
            thousands(ax.yaxis)
        for ax in axes[n:]:
            ax.set_visible(False)
        path = save(fig, figdir / "focus.png")
    keys = ", ".join(run.swept_keys)
    numbered = " (by number: the table by point names them)" if names.get(run.points[0]) == str(run.points[0]) \
        and len(run.points) > 1 else ""
    how = (f"Each panel is one metric in its own unit; the points of the sweep ({keys}) side by side{numbered}."
           if len(run.points) > 1 else "Each panel is one metric in its own unit, its axis from zero.")
    return Figure(path, "The answer in figures",
                  f"{how} Dots are means over replications, whiskers their 95% confidence intervals "
                  "(cut at the metric's bounds: no share above 100%, no hours below zero).")
