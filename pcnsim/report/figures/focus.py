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
from pcnsim.report.formatting import format_param
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


def fig_focus(run: RunData, focus: Sequence[str], figdir: Path, question: str = "") -> Optional[Figure]:
    """focus.png: the focus metrics the run has, a panel each; None if it has none of them or
    has more points than `MAX_FOCUS_POINTS`."""
    have = set(run.summary["metric"])
    metrics = [m for m in dict.fromkeys(focus) if m in have][:8]
    if not metrics or len(run.points) > MAX_FOCUS_POINTS:
        return None
    names = point_names(run)
    n = len(metrics)
    ncols = {1: 1, 2: 2, 3: 3, 4: 2}.get(n, 4)
    nrows = math.ceil(n / ncols)
    height = max(FIG_SIZE[1], 1.6 + 3.6 * nrows)
    col = palette(1)[0]
    title = textwrap.shorten(question, 90, placeholder="...") if question else "The focus metrics"
    with theme():
        fig, body = new_figure(title, subtitle(run), figsize=(FIG_SIZE[0], height))
        axes = np.atleast_1d(body.subplots(nrows, ncols, squeeze=False)).ravel()
        x = np.arange(len(run.points))
        for ax, m in zip(axes, metrics):
            d = run.summary[run.summary["metric"] == m].set_index("point").reindex(run.points).reset_index()
            scale = plot_scale(m)
            ax.errorbar(x, d["mean"] * scale, yerr=_yerr(d, scale, m), fmt="o", ms=10, capsize=8,
                        color=col, lw=2.5)
            ax.set_title("\n".join(textwrap.wrap(catalogue.label(m), 28)), fontsize="medium")
            ax.set_ylabel(catalogue.unit(m), fontsize="small")
            if len(x) == 1:
                ax.set_xticks([0], [names[run.points[0]] if run.swept_keys else run.name], fontsize="small")
                ax.set_xlim(-1, 1)
            else:
                readable_ticks(ax, x, [names[p] for p in run.points], max_labels=8 if ncols <= 2 else 5)
                ax.set_xlim(-0.5, len(x) - 0.5)
            lo, hi = ax.get_ylim()
            if catalogue.bounds(m)[0] == 0 and lo < 0:
                ax.set_ylim(0, hi)
            thousands(ax.yaxis)
        for ax in axes[n:]:
            ax.set_visible(False)
        path = save(fig, figdir / "focus.png")
    keys = ", ".join(run.swept_keys)
    how = (f"Each panel is one metric in its own unit; the points of the sweep ({keys}) side by side."
           if len(run.points) > 1 else "Each panel is one metric in its own unit.")
    return Figure(path, "The answer in figures",
                  f"{how} Dots are means over replications, whiskers their 95% confidence intervals "
                  "(cut at the metric's bounds: no share above 100%, no hours below zero).")
