"""Figures across the points of a sweep: a headline metric across the sweep, its Sobol
sensitivity indices, and each ICS of a national run against the national figure.

Each function draws one figure from summary.csv (or sensitivity.csv), or returns None when
the run lacks what it needs. What each shows: docs/report.md.
"""
from __future__ import annotations

import math
import re
import textwrap
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import bounded_interval, finite, sobol_display
from pcnsim.report.answers import parameter_label
from pcnsim.report.formatting import format_number, format_param, format_value, lower_first
from pcnsim.report.national import AGGREGATE_TEXT, ICS_METRICS, National
from pcnsim.experiment.folder import RunData
from pcnsim.report.style import (FIG_SIZE, Figure, new_figure, palette, plot_scale, save, subtitle, theme,
                                 readable_ticks, thousands)

__all__ = ["fig_sweep_metric", "fig_sensitivity", "fig_ics"]

MAX_ERRORBAR_POINTS = 60  # scatter plots draw CI whiskers up to this many points


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def fig_sweep_metric(run: RunData, metric: str, figdir: Path, index: int) -> Optional[Figure]:
    """sweep_NN_<metric>.png: a metric at every point: a line, a heatmap, dots, or a row per name."""
    s = run.summary[run.summary["metric"] == metric]
    if s.empty:
        return None
    labels = [k for k in run.swept_keys if _is_label_key(k)]
    keys = [k for k in run.swept_keys if k not in labels] or run.swept_keys
    dropped = [k for k in run.swept_keys if k not in keys]
    kind = run.sweep_kind
    scale = plot_scale(metric)
    col = palette(2)[0]
    title = f"{catalogue.label(metric)} across the sweep"
    horizontal = False          # one text key with many or long values: a row per point
    if len(keys) == 1 and not _is_numeric(s[keys[0]]):
        names = [format_param(v) for v in s.sort_values("point")[keys[0]]]
        horizontal = len(names) > 6 or max(len(n) for n in names) > 14
    figsize = (FIG_SIZE[0], max(FIG_SIZE[1], 2.4 + 0.3 * len(s))) if horizontal else FIG_SIZE
    with theme():
        fig, body = new_figure(title, subtitle(run), figsize=figsize)
        if len(keys) == 1:
            key = keys[0]
            ax = body.subplots(1, 1)
            if _is_numeric(s[key]) and kind in ("grid", "points") and s[key].is_unique:
                d = s.sort_values(key)
                ax.plot(d[key], d["mean"] * scale, marker="o", color=col, lw=2.5)
                ax.fill_between(d[key], d["ci_low"] * scale, d["ci_high"] * scale, color=col,
                                alpha=0.25, linewidth=0)
                how = "Line: mean over replications; band: its 95% confidence interval."
            elif _is_numeric(s[key]):
                _scatter(ax, s[key], s, scale, col)
                how = ("Each dot is one point of the sweep (mean over replications"
                       + (", whiskers 95% CIs)." if len(s) <= MAX_ERRORBAR_POINTS else ")."))
            else:
                d = s.sort_values("point")
                names = [format_param(v) for v in d[key]]
                if horizontal:      # many or long names: one row each, read down the page
                    y = np.arange(len(d))[::-1]
                    ax.errorbar(d["mean"] * scale, y, xerr=_yerr(d, scale), fmt="o", ms=8, capsize=4,
                                color=col, lw=1.8)
                    ax.set_yticks(y, names, fontsize="x-small" if len(names) > 15 else "small")
                    ax.set_ylim(-0.7, len(d) - 0.3)
                    ax.set_ylabel(parameter_label(key))
                    ax.set_xlabel(catalogue.axis_label(metric))
                    thousands(ax.xaxis)
                else:
                    x = np.arange(len(d))
                    ax.errorbar(x, d["mean"] * scale, yerr=_yerr(d, scale, metric), fmt="o", ms=12,
                                capsize=10, color=col, lw=2.5)
                    readable_ticks(ax, x, names, fontsize="medium")
                how = "Dots: means over replications; whiskers: 95% confidence intervals."
            if not horizontal:
                ax.set_xlabel(parameter_label(key))
                ax.set_ylabel("\n".join(textwrap.wrap(catalogue.axis_label(metric), 34)))   # never clipped
                thousands(ax.yaxis)
        elif len(keys) == 2 and kind == "grid":
            import seaborn as sns

            k1, k2 = keys
            piv = s.pivot_table(index=k1, columns=k2, values="mean", aggfunc="mean") * scale
            piv = piv.sort_index(ascending=False)
            ann = piv.map(lambda v: format_value(v / scale, catalogue.kind(metric)) if finite(v) else "")
            ax = body.subplots(1, 1)
            sns.heatmap(piv, annot=ann.to_numpy(), fmt="", cmap="viridis", ax=ax, linewidths=1,
                        cbar_kws={"label": "\n".join(textwrap.wrap(catalogue.axis_label(metric), 34))}, annot_kws={"fontsize": "small"})
            readable_ticks(ax, np.arange(len(piv.columns)) + 0.5, [format_param(v) for v in piv.columns])
            readable_ticks(ax, np.arange(len(piv.index)) + 0.5, [format_param(v) for v in piv.index],
                           axis="y")
            ax.set_xlabel(parameter_label(k2))
            ax.set_ylabel(parameter_label(k1))
            how = ("Each cell is the mean over replications at that combination (95% confidence "
                   "intervals in summary.csv and the table below).")
        else:
            _facet_by_key(body, s, keys, metric, scale, col)
            how = ("Each dot is one point of the sweep (mean over replications"
                   + (", whiskers 95% CIs" if len(s) <= MAX_ERRORBAR_POINTS else "")
                   + "), plotted against each swept parameter in turn; a clear trend in a panel "
                   "means the metric depends on that parameter.")
        path = save(fig, figdir / f"sweep_{index:02d}_{metric}.png")
    if dropped:
        how += (f" {', '.join(dropped)} only names the points, so it is not an axis"
                + ("; the per-ICS figure shows each ICS by name." if "ics.name" in dropped
                   and "ics.pcns" in keys else "."))
    return Figure(path, title, f"{catalogue.label(metric)} ({catalogue.unit(metric)}) at each point of "
                  f"the {kind or ''} sweep. {how}")


def _is_label_key(key: str) -> bool:
    """A swept key that names a point rather than setting a lever (`ics.name`)."""
    last = key.rsplit(".", 1)[-1]
    return last in ("name", "description")


def _yerr(d: pd.DataFrame, scale: float, metric: Optional[str] = None):
    """Whiskers of the 95% CIs, cut at the metric's bounds (`pcnsim.analysis.bounded_interval`)."""
    metric = metric if metric is not None else (str(d["metric"].iloc[0]) if "metric" in d and len(d) else None)
    cut = [bounded_interval(float(m), float(l), float(h), metric=metric) if finite(m) and finite(l) and finite(h)
           else (l, h) for m, l, h in zip(d["mean"], d["ci_low"], d["ci_high"])]
    low = pd.Series([c[0] for c in cut], index=d.index, dtype=float)
    high = pd.Series([c[1] for c in cut], index=d.index, dtype=float)
    lo = (d["mean"] - low).clip(lower=0) * scale
    hi = (high - d["mean"]).clip(lower=0) * scale
    return np.vstack([lo.fillna(0).to_numpy(), hi.fillna(0).to_numpy()])


def _facet_by_key(body, s: pd.DataFrame, keys: list[str], metric: str, scale: float, col) -> None:
    """A metric against each swept key in turn, a panel per key sharing the y axis (three to a
    row, two for four keys): a seaborn.objects facet grid drawn on `body`. A text key's values
    are placed at 0, 1... in sorted order and named on its axis. seaborn (imported here, about a second) is paid for
    only by a run that sweeps three keys or more, or samples them (LHS, Sobol)."""
    import seaborn.objects as so

    from pcnsim.report.style import rc

    yerr = _yerr(s, scale, metric)
    y = s["mean"].to_numpy(dtype=float) * scale
    categories: dict[str, list[str]] = {}
    panels = []
    for key in keys:
        if _is_numeric(s[key]):
            x = s[key].astype(float).to_numpy()
        else:
            categories[key] = sorted(s[key].astype(str).unique())
            x = s[key].astype(str).map({c: i for i, c in enumerate(categories[key])}).to_numpy(dtype=float)
        panels.append(pd.DataFrame({"key": key, "x": x, "y": y, "low": y - yerr[0], "high": y + yerr[1],
                                    "point": np.arange(len(y))}))
    long = pd.concat(panels, ignore_index=True)
    ncols = 2 if len(keys) == 4 else min(3, len(keys))   # four panels: two rows of two, no empty row end
    plot = (so.Plot(long, x="x", y="y").facet(col="key", order=keys, wrap=ncols)
            .share(x=False, y=True).theme(rc()).on(body))
    if len(s) <= MAX_ERRORBAR_POINTS:     # a whisker per point (grouped by point: points sharing an x stay apart)
        plot = (plot.add(so.Range(color=col, alpha=0.8, linewidth=1.5), ymin="low", ymax="high", group="point")
                .add(so.Dot(color=col, alpha=0.8, pointsize=7)))
    else:
        plot = plot.add(so.Dot(color=col, alpha=0.5, pointsize=4.5, edgewidth=0))
    with warnings.catch_warnings():   # seaborn 0.13 passes pandas 3 a deprecated `copy=`: not ours
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module="seaborn")
        plot.plot()
    rows = -(-len(keys) // ncols)
    ylabel = "\n".join(textwrap.wrap(catalogue.axis_label(metric), 34 if rows == 1 else 22))  # fits a row's height
    for i, (ax, key) in enumerate(zip(body.axes, keys)):
        ax.set_title("")
        if key in categories:
            readable_ticks(ax, range(len(categories[key])), categories[key])
        if rows == 1:
            xlabel = textwrap.wrap(parameter_label(key), 28)
        else:                                              # its first clause, two lines at most: rows stay apart
            xlabel = textwrap.wrap(parameter_label(key).split(";")[0], 28, max_lines=2, placeholder=" ...")
        ax.set_xlabel("\n".join(xlabel), fontsize="small")
        ax.xaxis.label.set_visible(True)                   # seaborn hides an upper row's: every panel names its key
        ax.set_ylabel(ylabel if i % ncols == 0 else "", fontsize="small")
        if i % ncols == 0:
            thousands(ax.yaxis)


def _scatter(ax, x, d: pd.DataFrame, scale: float, col) -> None:
    if len(d) <= MAX_ERRORBAR_POINTS:
        ax.errorbar(x, d["mean"] * scale, yerr=_yerr(d, scale), fmt="o", ms=7, capsize=4,
                    color=col, alpha=0.8, lw=1.5)
    else:
        ax.scatter(x, d["mean"] * scale, s=18, color=col, alpha=0.5, linewidths=0)


def fig_sensitivity(run: RunData, metric: str, figdir: Path, index: int) -> Optional[Figure]:
    """sensitivity_NN_<metric>.png: first-order and total Sobol indices of a metric, by parameter,
    shown within [0, 1] (`pcnsim.analysis.sobol_display`), parameters named in words."""
    sens = run.sensitivity
    d = sobol_display(sens[sens["metric"] == metric])
    if d.empty or d["ST"].isna().all():
        return None
    d = d.sort_values("ST", ascending=True)
    cols = palette(2)
    y = np.arange(len(d))
    h = 0.38
    title = f"What drives {lower_first(catalogue.label(metric))}?"
    noise = d["noise_share"].iloc[0] if "noise_share" in d else math.nan
    sub = subtitle(run) + (f" · replication noise {noise:.0%} of the variation" if finite(noise) else "")
    with theme():
        fig, body = new_figure(title, sub)
        ax = body.subplots(1, 1)
        for off, (col, lab, c) in zip((-h / 2, h / 2), (("S1", "on its own (S1)", cols[0]),
                                                        ("ST", "with interactions (ST)", cols[1]))):
            err = np.vstack([(d[col] - d[f"{col}_low"]).fillna(0).to_numpy(),
                             (d[f"{col}_high"] - d[col]).fillna(0).to_numpy()])
            ax.barh(y + off, d[col].fillna(0), height=h, color=c, label=lab, xerr=err, capsize=6,
                    error_kw={"lw": 2})
        labels = ["\n".join(textwrap.wrap(parameter_label(p), 30)) for p in d["parameter"]]
        ax.set_yticks(y, labels, fontsize="small")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the metric's variance (Sobol index, 0 to 1)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small", frameon=False)
        path = save(fig, figdir / f"sensitivity_{index:02d}_{metric}.png")
    caption = (f"Sobol sensitivity indices of {lower_first(catalogue.label(metric))}: the first-order "
               "index S1 is the share of the metric's variance explained by a parameter on its own; "
               "the total index ST adds its interactions with the others. Whiskers are 95% "
               "confidence intervals; indices and intervals are shown within 0 to 1 (sensitivity.csv "
               "keeps SALib's raw estimates). Parameters whose ST is near zero can be fixed at any "
               "value in their range without changing this metric.")
    if finite(noise) and noise > 0.3:
        caption += (f" Replication noise is {noise:.0%} of the variation between points: too much to "
                    "read the indices closely; rerun with more replications.")
    return Figure(path, title, caption)


def _short_ics_name(name: str) -> str:
    """'NHS Kent and Medway ICB' -> 'Kent and Medway' (other names unchanged)."""
    m = re.fullmatch(r"NHS (.+?) (?:ICB|Integrated Care Board|ICS)", name.strip())
    return m.group(1) if m else name


def fig_ics(run: RunData, nat: National, figdir: Path) -> Optional[Figure]:
    """Each ICS's demand met (and CD overtime) per PCN, a row each, against the national figure."""
    have = set(run.summary["metric"])
    metrics = [m for m in ("demand_met_share", "cd_overtime_hours_per_week") if m in have]
    if not metrics:
        metrics = [m for m in ICS_METRICS if m in have][:1]
    if not metrics:
        return None
    s = run.summary[run.summary["point"].isin(nat.points)]
    by_metric = {m: s[s["metric"] == m].set_index("point") for m in metrics}
    first = by_metric[metrics[0]]
    order = [p for p in first["mean"].sort_values(ascending=True).index]   # best at the top
    order += [p for p in nat.points if p not in order]
    n = len(order)
    labels = [_short_ics_name(nat.names[p]) for p in order]
    shortened = any(lab != nat.names[p] for lab, p in zip(labels, order))
    reps = nat.replications or (run.replications or 0)
    cols = palette(3)
    title = "ICS by ICS, per PCN"
    sub = (f"Scenario: {run.name} · {reps} replication{'s' if reps != 1 else ''} · {n} ICSs, "
           f"{format_number(nat.total_pcns, 0)} PCNs · per PCN")
    height = max(FIG_SIZE[1], 2.4 + 0.3 * n)
    with theme():
        fig, body = new_figure(title, sub, figsize=(FIG_SIZE[0], height))
        axes = np.atleast_1d(body.subplots(1, len(metrics), sharey=True, squeeze=False)).ravel()
        y = np.arange(n)
        for ax, m, c in zip(axes, metrics, cols):
            d = by_metric[m].reindex(order)
            scale = plot_scale(m)
            lo, hi = d["ci_low"].copy(), d["ci_high"].copy()
            if catalogue.kind(m) == "share":
                lo, hi = lo.clip(0, 1), hi.clip(0, 1)
            err = np.vstack([(d["mean"] - lo).clip(lower=0).fillna(0).to_numpy() * scale,
                             (hi - d["mean"]).clip(lower=0).fillna(0).to_numpy() * scale])
            ax.errorbar(d["mean"] * scale, y, xerr=err, fmt="o", ms=8, capsize=4, color=c, lw=1.8)
            r = nat.row(m)
            if r is not None and finite(r["value"]):
                ax.axvline(float(r["value"]) * scale, color="0.2", ls="--", lw=2,
                           label=f"national: {format_value(r['value'], catalogue.kind(m))}")
                ax.legend(loc="lower right", fontsize="x-small")
            ax.set_xlabel(catalogue.axis_label(m) + "\nper PCN", fontsize="small")
            thousands(ax.xaxis)
        axes[0].set_yticks(y, labels, fontsize="x-small" if n > 15 else "small")
        axes[0].set_ylim(-0.7, n - 0.3)
        path = save(fig, figdir / "national_ics.png")
    whiskers = ("whiskers are 95% confidence intervals" if reps > 1
                else "one replication, so no confidence intervals")
    caption = (f"Each ICS's {' and '.join(lower_first(catalogue.label(m)) for m in metrics)}, per PCN "
               f"(mean over replications and over the ICS's PCNs; {whiskers}), sorted by "
               f"{lower_first(catalogue.label(metrics[0]))}, highest at the top.")
    r = nat.row(metrics[0])
    if r is not None:
        caption += f" The dashed line is the national figure ({AGGREGATE_TEXT.get(r['aggregate'], '')})."
    spec = (run.sweep or {}).get("points")
    if isinstance(spec, list) and all(isinstance(p, dict) and set(p) <= {"ics.name", "ics.pcns"}
                                      for p in spec):
        caption += (" Every ICS here is made of the same England-baseline PCNs: differences between "
                    "ICSs come from their number of PCNs (which share the ICS's system meetings) and "
                    "from simulation noise, not from local data.")
    if shortened:
        caption += " Names are shortened (\u201cNHS\u201d and \u201cICB\u201d left out)."
    return Figure(path, title, caption)
