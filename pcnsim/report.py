"""Figures and a one-page offline HTML report for a finished run folder.

`write_report(folder)` reads a run folder (INTERFACE.md "A run folder"), draws the
figures into `<folder>/figures/*.png` and writes `<folder>/report.html`: one
self-contained page (figures embedded as data URIs, inline CSS, no scripts, no web
addresses) that a trainer can open offline or a planner can print for a board.

This module reads files only; it never imports the experiment runner or the model.
Figures are drawn with matplotlib's object API (no pyplot, no global backend or theme
change), so importing it from a notebook changes nothing there.

What each figure shows, and how to read the page: docs/report.md.
"""
from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import numpy as np
import pandas as pd

from pcnsim.errors import RunFolderError

__all__ = [
    "RunData", "load_run", "draw_figures", "write_report", "KEY_METRICS", "METRICS",
    "metric_label", "metric_kind", "format_number", "format_share", "format_hours",
    "format_money", "format_value", "format_estimate", "t_interval", "National", "national_of",
    "write_national", "ICS_METRICS",
]

# --------------------------------------------------------------------------- metric metadata
# metric name -> (plain label, kind, unit). Kinds drive formatting: count, share, hours,
# days, money, wte. Order is INTERFACE.md's "Metrics" table; unknown metrics follow, sorted.
METRICS: dict[str, tuple[str, str, str]] = {
    "requests_per_year": ("Appointment requests", "count", "requests a year"),
    "appointments_per_year": ("Appointments delivered", "count", "appointments a year"),
    "gp_appointments_per_year": ("Appointments delivered by GPs", "count", "appointments a year"),
    "arrs_appointments_per_year": ("Appointments delivered by ARRS staff", "count", "appointments a year"),
    "unmet_per_year": ("Unmet requests (diverted)", "count", "requests a year"),
    "backlog_start": ("Backlog at the end of warm-up", "count", "requests waiting"),
    "backlog_end": ("Backlog at the end", "count", "requests waiting"),
    "demand_met_share": ("Share of requests delivered", "share", "%"),
    "wait_days_mean": ("Mean wait for an appointment", "days", "working days"),
    "wait_days_p90": ("90th percentile wait", "days", "working days"),
    "lost_appointments_per_year": ("Appointments lost to displaced CD sessions", "count",
                                   "appointments a year"),
    "gp_supervision_hours_per_week": ("GP time supervising ARRS staff", "hours", "hours a week"),
    "cd_clinical_hours_per_week": ("CD time in clinical sessions", "hours", "hours a week"),
    "cd_leadership_hours_per_week": ("CD time on leadership tasks", "hours", "hours a week"),
    "cd_meeting_hours_per_week": ("CD time in system meetings", "hours", "hours a week"),
    "cd_displaced_clinical_hours_per_week": ("CD clinical time given up", "hours", "hours a week"),
    "cd_overtime_hours_per_week": ("CD unpaid overtime", "hours", "hours a week"),
    "leadership_tasks_overdue_share": ("Leadership tasks late or never done", "share", "%"),
    "meetings_attended_share": ("System meetings the CD attended", "share", "%"),
    "representation_share": ("System meetings with a PCN CD present", "share", "%"),
    "cd_resignations_per_year": ("CD resignations", "count", "a year"),
    "cd_vacancy_share": ("Weeks with no CD in post", "share", "%"),
    "arrs_leavers_per_year": ("ARRS leavers", "count", "a year"),
    "arrs_vacancy_rate": ("ARRS funded posts vacant", "share", "%"),
    "arrs_staff_wte": ("ARRS staff in post", "wte", "WTE"),
    "arrs_budget_used_share": ("ARRS budget used", "share", "%"),
    "spend_per_year": ("Modelled spend", "money", "£ a year"),
    "cost_per_appointment": ("Cost per appointment delivered", "money", "£ per appointment"),
    # further metrics the model writes (docs/model.md), after INTERFACE.md's
    "nurse_appointments_per_year": ("Appointments delivered by practice nurses", "count",
                                    "appointments a year"),
    "cd_slack_hours_per_week": ("CD protected time with no task to do", "hours", "hours a week"),
    "cd_protected_hours_per_week": ("CD protected time", "hours", "hours a week"),
    "cd_strain_mean": ("CD strain (mean weekly)", "count", "strain score"),
    "arrs_posts_funded": ("ARRS posts funded", "wte", "WTE"),
    "arrs_spend_per_year": ("ARRS pay", "money", "£ a year"),
    "manager_hours_used_per_week": ("PCN manager time used on tasks", "hours", "hours a week"),
    "locum_sessions_per_year": ("Locum sessions", "count", "sessions a year"),
    "pcns_simulated": ("PCNs simulated", "count", "PCNs"),
}

# The metrics that headline a sweep (one figure each, when present).
KEY_METRICS: tuple[str, ...] = (
    "appointments_per_year",
    "demand_met_share",
    "wait_days_mean",
    "unmet_per_year",
    "cd_overtime_hours_per_week",
    "leadership_tasks_overdue_share",
    "cd_resignations_per_year",
    "arrs_vacancy_rate",
)

ARRS_ROLE_NAMES = (
    "clinical_pharmacist", "pharmacy_technician", "first_contact_physio", "paramedic",
    "physician_associate", "advanced_practitioner", "mental_health_practitioner",
    "social_prescribing_link_worker", "health_wellbeing_coach", "care_coordinator",
)

STANDARD_COLUMNS = {"point", "replication", "metric", "value", "mean", "std", "ci_low", "ci_high",
                    "n", "week"}
SWEEP_KINDS = ("grid", "points", "lhs", "sobol")
MAX_TABLE_POINTS = 30     # a sweep table of key metrics by point, up to this many points
MAX_ERRORBAR_POINTS = 60  # scatter plots draw CI whiskers up to this many points
FIG_SIZE = (13.33, 7.5)   # 16:9, a slide
FIG_DPI = 110


def metric_label(metric: str) -> str:
    """Plain label of a metric ("Appointments delivered"); the name itself if unknown."""
    if metric in METRICS:
        return METRICS[metric][0]
    if metric.startswith("arrs_in_post."):
        return "In post: " + _role_label(metric.split(".", 1)[1])
    return metric.replace("_", " ")


def metric_kind(metric: str) -> str:
    """How a metric is formatted: count, share, hours, days, money or wte."""
    if metric in METRICS:
        return METRICS[metric][1]
    if metric.endswith(("_share", "_rate")):
        return "share"
    if "hours" in metric:
        return "hours"
    if "days" in metric:
        return "days"
    if metric.startswith(("cost", "spend")):
        return "money"
    return "count"


def metric_unit(metric: str) -> str:
    if metric in METRICS:
        return METRICS[metric][2]
    return {"share": "%", "hours": "hours a week", "days": "working days", "money": "£"}.get(
        metric_kind(metric), "")


def axis_label(metric: str) -> str:
    unit = metric_unit(metric)
    return f"{metric_label(metric)} ({unit})" if unit else metric_label(metric)


def _scale(metric: str) -> float:
    """Shares are plotted as percentages."""
    return 100.0 if metric_kind(metric) == "share" else 1.0


def _role_label(role: str) -> str:
    return {"first_contact_physio": "first contact physio",
            "social_prescribing_link_worker": "social prescribing link worker",
            "health_wellbeing_coach": "health & wellbeing coach"}.get(role, role.replace("_", " "))


# --------------------------------------------------------------------------- formatting
def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def format_number(x: Any, decimals: Optional[int] = None) -> str:
    """A count with thousands separators: 251043 -> "251,043"; small values keep 2 significant
    figures (0.234 -> "0.23"); `decimals` forces a number of decimals."""
    if not _finite(x):
        return "n/a"
    x = float(x)
    if decimals is None:
        a = abs(x)
        decimals = 0 if a >= 100 or a == 0 else 1 if a >= 10 else 2
    s = f"{x:,.{decimals}f}"
    return "0" if s in ("-0", "-0.0", "-0.00") else s


def format_share(x: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.9451 -> "94.5%"."""
    return "n/a" if not _finite(x) else f"{float(x) * 100:.{decimals}f}%"


def format_hours(x: Any) -> str:
    """Hours with one decimal: 12.345 -> "12.3"."""
    return "n/a" if not _finite(x) else f"{float(x):,.1f}"


def format_money(x: Any, decimals: Optional[int] = None) -> str:
    """Pounds: 1234567.8 -> "£1,234,568"; under £100 with pence: 8.123 -> "£8.12"."""
    if not _finite(x):
        return "n/a"
    x = float(x)
    if decimals is None:
        decimals = 0 if abs(x) >= 100 else 2
    sign = "-" if x < 0 else ""
    return f"{sign}£{abs(x):,.{decimals}f}"


def format_value(x: Any, kind: str, decimals: Optional[int] = None) -> str:
    """Format a value by kind (count, share, hours, days, money, wte)."""
    if kind == "share":
        return format_share(x)
    if kind in ("hours", "days", "wte"):
        return format_hours(x) if decimals is None else format_number(x, decimals)
    if kind == "money":
        return format_money(x, decimals)
    return format_number(x, decimals)


def _ci_decimals(mean: float, lo: float, hi: float, kind: str) -> Optional[int]:
    """Decimals that show a count or money estimate to the precision its CI supports: two
    significant figures of the half-width, never finer than units for values of 100 or more."""
    if kind not in ("count", "money") or not all(_finite(v) for v in (mean, lo, hi)):
        return None
    half = (float(hi) - float(lo)) / 2
    if abs(mean) < 100 or half <= 0:
        return None
    step = 10 ** (math.floor(math.log10(half)) - 1)
    return max(0, -int(math.floor(math.log10(max(step, 1)))))


def _round_to_ci(x: float, mean: float, lo: float, hi: float, kind: str) -> float:
    if kind not in ("count", "money") or not all(_finite(v) for v in (mean, lo, hi)):
        return x
    half = (float(hi) - float(lo)) / 2
    if abs(mean) < 100 or half <= 0:
        return x
    step = max(1.0, 10 ** (math.floor(math.log10(half)) - 1))
    return round(float(x) / step) * step


def format_estimate(mean: Any, ci_low: Any, ci_high: Any, kind: str = "count") -> str:
    """"251,000 (95% CI 249,800 to 252,300)": counts and money rounded to the precision the
    interval supports; shares as %, hours and days with one decimal."""
    value, ci = _estimate_cells(mean, ci_low, ci_high, kind)
    return f"{value} (95% CI {ci})" if ci else value


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and t-interval of the mean of `values`: (mean, low, high, n); NaN bounds if n < 2."""
    from pcnsim.analysis import t_interval as interval

    mean, _, low, high, n = interval([x for x in values if _finite(x)], confidence)
    return (mean, low, high, n)


# --------------------------------------------------------------------------- reading a run folder
from pcnsim.experiment.folder import (  # noqa: E402  (the one run-folder reader)
    RunData, _scenario_object, load_run, order_metrics, write_text_atomic,
)


# --------------------------------------------------------------------------- figure helpers
@dataclass
class Figure:
    """A drawn figure: its file, a title and a caption for the report."""

    path: Path
    title: str
    caption: str


@contextlib.contextmanager
def _theme() -> Iterator[None]:
    """seaborn's "talk" context, white grid and colour-blind palette, for this block only."""
    import matplotlib as mpl
    import seaborn as sns

    rc = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("talk"))
    rc["axes.prop_cycle"] = mpl.cycler(color=sns.color_palette("colorblind"))
    rc.update({"figure.dpi": FIG_DPI, "savefig.dpi": FIG_DPI, "axes.titleweight": "bold",
               "legend.frameon": True, "legend.framealpha": 0.9})
    with mpl.rc_context(rc):
        yield


def _palette(n: int) -> list:
    import seaborn as sns

    return sns.color_palette("colorblind", n)


def _new_figure(title: str, subtitle: str, figsize=FIG_SIZE):
    """A slide-shaped figure with a title band on top; returns (figure, body to draw in)."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=figsize, layout="constrained")
    head, body = fig.subfigures(2, 1, height_ratios=[1.1, figsize[1] - 1.1])
    head.text(0.5, 0.97, title, ha="center", va="top", fontsize="x-large", fontweight="bold")
    head.text(0.5, 0.04, subtitle, ha="center", va="bottom", fontsize="medium", color="0.3")
    return fig, body


def _subtitle(run: RunData, point: Optional[int] = None) -> str:
    reps = run.replications
    parts = [f"Scenario: {run.name}"]
    if reps:
        parts.append(f"{reps} replication{'s' if reps != 1 else ''}")
    if point is not None and run.swept_keys:
        parts.append(f"point {point}: " + _point_text(run.point_values(point)))
    pcns = run.point_pcns(point)
    if pcns > 1:
        parts.append(f"per PCN, mean of {pcns} PCNs")
    return " · ".join(parts)


def _point_text(values: dict) -> str:
    return ", ".join(f"{k} = {_fmt_param(v)}" for k, v in values.items())


def _fmt_param(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if _finite(v):
        return f"{float(v):,.4g}"
    return str(v)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=FIG_DPI, facecolor="white")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _weekly_band(weekly: pd.DataFrame, metric: str) -> Optional[pd.DataFrame]:
    """Per week: mean over replications and the 95% t-interval of that mean."""
    from pcnsim.analysis import t_quantile

    d = weekly[weekly["metric"] == metric]
    if d.empty:
        return None
    g = d.groupby("week")["value"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count()})
    tq = t_quantile(0.975, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tq * out["sd"].fillna(0) / np.sqrt(out["n"]), np.nan)
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out


def _shade_warmup(ax, run: RunData, label: bool = True) -> None:
    w = run.warmup_weeks
    if w and w > 0:
        ax.axvspan(-0.5, w - 0.5, color="0.85", alpha=0.6, zorder=0,
                   label="warm-up (not measured)" if label else None)


def _thousands(axis) -> None:
    """Thousands separators on an axis whose ticks reach 1,000 or more."""
    from matplotlib.ticker import FuncFormatter

    lo, hi = axis.get_view_interval()
    if max(abs(lo), abs(hi)) >= 1000:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _fade_warmup(ax, run: RunData) -> None:
    """Fade the warm-up weeks of a stacked chart (a shade behind would be hidden)."""
    w = run.warmup_weeks
    if w and w > 0:
        ax.axvspan(-0.5, w - 0.5, facecolor="white", alpha=0.6, zorder=5, lw=0, hatch="//",
                   edgecolor="0.55", label="warm-up (faded; not measured)")


def _line_band(ax, band: pd.DataFrame, label: str, color, scale: float = 1.0, **kw) -> None:
    ax.plot(band.index, band["mean"] * scale, color=color, label=label, **kw)
    if band["low"].notna().any():
        ax.fill_between(band.index, band["low"] * scale, band["high"] * scale, color=color,
                        alpha=0.25, linewidth=0)


def _band_note(run: RunData) -> str:
    reps = run.replications
    return ("Lines are means over the replications; shaded bands their 95% confidence intervals"
            if (reps or 0) > 1 else "One replication: no confidence band")


# --------------------------------------------------------------------------- the figures
def _fig_delivery(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    have = set(weekly["metric"].unique())
    top = [m for m in ("requests", "appointments", "unmet") if m in have]
    if not top and "backlog" not in have:
        return None
    cols = _palette(4)
    with _theme():
        fig, body = _new_figure("Demand and delivery, week by week", _subtitle(run, point))
        axes = body.subplots(2, 1, sharex=True, height_ratios=[3, 2]) if "backlog" in have and top \
            else [body.subplots(1, 1)]
        if top:
            ax = axes[0]
            _shade_warmup(ax, run)
            names = {"requests": "requests (demand)", "appointments": "appointments delivered",
                     "unmet": "unmet (diverted)"}
            for m, c in zip(("requests", "appointments", "unmet"), cols):
                if m in have:
                    _line_band(ax, _weekly_band(weekly, m), names[m], c, lw=2)
            ax.set_ylabel("per week")
            ax.set_ylim(bottom=0)
            _thousands(ax.yaxis)
            ax.legend(loc="center right", fontsize="small")
        if "backlog" in have:
            ax = axes[-1]
            _shade_warmup(ax, run, label=not top)
            _line_band(ax, _weekly_band(weekly, "backlog"), "backlog (requests waiting)", cols[3], lw=2)
            ax.set_ylabel("requests waiting")
            ax.set_ylim(bottom=0)
            _thousands(ax.yaxis)
            ax.legend(loc="upper left", fontsize="small")
        axes[-1].set_xlabel("week")
        path = _save(fig, figdir / "delivery.png")
    return Figure(path, "Demand and delivery, week by week",
                  "Appointment requests arriving each week against appointments delivered and "
                  "requests that left unserved (diverted to 111, A&E or walk-in), with the backlog "
                  f"of requests waiting below. {_band_note(run)}; the grey area is the warm-up, "
                  "which the summary figures leave out.")


def _protected_hours(run: RunData, weekly: pd.DataFrame) -> Optional[float]:
    if "cd_protected_hours" in set(weekly["metric"].unique()):
        return None  # drawn week by week
    sc = _scenario_object(run)
    if sc is None:
        return None
    from pcnsim.config import SESSION_HOURS

    return sc.cd_protected_sessions * SESSION_HOURS


def _fig_cd_hours(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    # leadership and meetings at the bottom, so they read against the protected-time line
    uses = [("cd_leadership_hours", "leadership tasks"), ("cd_meeting_hours", "system meetings"),
            ("cd_clinical_hours", "clinical sessions"), ("cd_overtime_hours", "unpaid overtime")]
    have = set(weekly["metric"].unique())
    uses = [(m, lab) for m, lab in uses if m in have]
    if not uses:
        return None
    pal = _palette(6)
    cols = [{"cd_leadership_hours": pal[0], "cd_meeting_hours": pal[2], "cd_clinical_hours": "0.72",
             "cd_overtime_hours": pal[3]}[m] for m, _ in uses]
    means = {m: _weekly_band(weekly, m)["mean"] for m, _ in uses}
    frame = pd.DataFrame(means).fillna(0)
    w = run.warmup_weeks or 0
    after = frame[frame.index >= w] if (frame.index >= w).any() else frame
    protected_series = _weekly_band(weekly, "cd_protected_hours") if "cd_protected_hours" in have else None
    protected_const = _protected_hours(run, weekly)
    with _theme():
        fig, body = _new_figure("Where the clinical director's hours go", _subtitle(run, point))
        ax, bx = body.subplots(1, 2, width_ratios=[4, 1], sharey=True)
        ax.stackplot(frame.index, *[frame[m] for m, _ in uses], labels=[lab for _, lab in uses],
                     colors=cols, alpha=0.85)
        _fade_warmup(ax, run)
        bottom = 0.0
        for (m, lab), c in zip(uses, cols):
            v = float(after[m].mean())
            bx.bar(0, v, bottom=bottom, color=c, alpha=0.85, width=0.6)
            if v > 0.5:
                bx.text(0, bottom + v / 2, format_hours(v), ha="center", va="center", fontsize="small")
            bottom += v
        line_label = "protected (funded) CD time"
        if protected_series is not None:
            ax.plot(protected_series.index, protected_series["mean"], color="black", lw=2.5, ls="--",
                    label=line_label)
            p_after = protected_series["mean"][protected_series.index >= w].mean()
        elif protected_const is not None:
            ax.axhline(protected_const, color="black", lw=2.5, ls="--", label=line_label)
            p_after = protected_const
        else:
            p_after = None
        if p_after is not None and _finite(p_after):
            bx.axhline(p_after, color="black", lw=2.5, ls="--")
            bx.text(0.33, p_after, f" {format_hours(p_after)} h", va="bottom", fontsize="x-small")
        ax.set_xlabel("week")
        ax.set_ylabel("CD hours per week")
        ax.set_ylim(bottom=0)
        handles, labels = ax.get_legend_handles_labels()
        order = [labels.index(lab) for _, lab in reversed(uses)] + [
            i for i, lab in enumerate(labels) if lab not in {u for _, u in uses}]
        bx.legend([handles[i] for i in order], [labels[i] for i in order], loc="center left",
                  bbox_to_anchor=(1.02, 0.5), fontsize="x-small")
        bx.set_xticks([0], ["average\nweek"])
        bx.set_xlim(-0.6, 0.9)
        path = _save(fig, figdir / "cd_hours.png")
    return Figure(path, "Where the clinical director's hours go",
                  "The clinical director's week, stacked by use: clinical sessions, leadership "
                  "tasks, system meetings and unpaid overtime (mean over replications, hours per "
                  "week). The dashed line is the protected CD time funded each week; leadership "
                  "and meetings above it come out of clinical time or overtime. The bar on the "
                  "right is the average week after the warm-up (grey).")


def _fig_arrs(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    have = set(weekly["metric"].unique())
    roles = [r for r in ARRS_ROLE_NAMES if f"arrs_in_post.{r}" in have]
    roles += sorted(m.split(".", 1)[1] for m in have
                    if m.startswith("arrs_in_post.") and m.split(".", 1)[1] not in roles)
    if not roles and "arrs_in_post" not in have:
        return None
    cols = _palette(max(len(roles), 1))
    with _theme():
        fig, body = _new_figure("ARRS staff in post, by role", _subtitle(run, point))
        ax, vx = body.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
        if roles:
            frame = pd.DataFrame({r: _weekly_band(weekly, f"arrs_in_post.{r}")["mean"]
                                  for r in roles}).fillna(0)
            ax.stackplot(frame.index, *[frame[r] for r in roles], labels=[_role_label(r) for r in roles],
                         colors=cols, alpha=0.9)
        else:
            _line_band(ax, _weekly_band(weekly, "arrs_in_post"), "in post", cols[0], lw=2)
        if "arrs_posts_funded" in have:
            b = _weekly_band(weekly, "arrs_posts_funded")
            ax.plot(b.index, b["mean"], color="black", ls="--", lw=2.5, label="funded posts")
        _fade_warmup(ax, run)
        ax.set_ylabel("staff in post (WTE)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="x-small")
        _shade_warmup(vx, run)
        if "arrs_vacancies" in have:
            _line_band(vx, _weekly_band(weekly, "arrs_vacancies"), "vacant posts", "#D55E00", lw=2)
            vx.set_ylim(bottom=0)
        else:
            vx.text(0.5, 0.5, "no vacancy series in weekly.parquet", ha="center", va="center",
                    transform=vx.transAxes)
        vx.set_ylabel("vacant (WTE)")
        vx.set_xlabel("week")
        vx.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="x-small")
        path = _save(fig, figdir / "arrs_staff.png")
    return Figure(path, "ARRS staff in post, by role",
                  "Additional Roles (ARRS) staff in post each week, stacked by role (mean over "
                  "replications), against the posts the ARRS budget funds (dashed). Below: funded "
                  f"posts vacant while a leaver is replaced. {_band_note(run)}.")


def _summary_row(run: RunData, metric: str, point: int) -> Optional[pd.Series]:
    s = run.point_summary(point)
    return s.loc[metric] if metric in s.index else None


def _fig_retention(run: RunData, weekly: Optional[pd.DataFrame], figdir: Path,
                   point: int) -> Optional[Figure]:
    rates = [(m, lab) for m, lab in (("cd_resignations_per_year", "CD resignations"),
                                     ("arrs_leavers_per_year", "ARRS leavers"))
             if _summary_row(run, m, point) is not None]
    have_cd = weekly is not None and "cd_in_post" in set(weekly["metric"].unique())
    if not rates and not have_cd:
        return None
    cols = _palette(4)
    with _theme():
        fig, body = _new_figure("Retention: who leaves, and is the CD post filled?", _subtitle(run, point))
        gs = body.add_gridspec(1, len(rates) + (2 if have_cd else 0))
        for i, (m, lab) in enumerate(rates):
            ax = body.add_subplot(gs[0, i])
            r = _summary_row(run, m, point)
            mean, lo, hi = float(r["mean"]), r["ci_low"], r["ci_high"]
            err = None
            if _finite(lo) and _finite(hi):
                err = [[max(mean - float(lo), 0)], [max(float(hi) - mean, 0)]]
            ax.bar([0], [mean], yerr=err, capsize=12, color=cols[i + 1], width=0.6,
                   error_kw={"lw": 2.5})
            ax.text(0.05, mean, f" {format_number(mean)}", ha="left", va="bottom",
                    fontsize="medium", fontweight="bold")
            ax.set_xticks([0], [lab])
            ax.set_xlim(-0.7, 0.7)
            ax.set_ylabel("per year (95% CI)")
            ax.set_ylim(bottom=0)
        if have_cd:
            ax = body.add_subplot(gs[0, len(rates):])
            _shade_warmup(ax, run)
            band = _weekly_band(weekly, "cd_in_post")
            band[["low", "high"]] = band[["low", "high"]].clip(0, 1)
            _line_band(ax, band, "CD in post", cols[0], scale=100, lw=2)
            ax.set_ylim(0, 105)
            ax.set_ylabel("CD post filled (% of runs)" if run.point_pcns(point) == 1
                          else "CD posts filled (%)")
            ax.set_xlabel("week")
            ax.legend(loc="lower left", fontsize="small")
        path = _save(fig, figdir / "retention.png")
    return Figure(path, "Retention: who leaves, and is the CD post filled?",
                  "Left: clinical director resignations and ARRS leavers per year after the "
                  "warm-up (mean over replications, whiskers 95% confidence intervals; note the "
                  "separate scales). Right: the share of replications (or of PCNs, for an ICS) "
                  "whose CD post is filled each week; it dips while a leaver's post is re-advertised.")


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _fig_sweep_metric(run: RunData, metric: str, figdir: Path, index: int) -> Optional[Figure]:
    s = run.summary[run.summary["metric"] == metric]
    if s.empty:
        return None
    labels = [k for k in run.swept_keys if _is_label_key(k)]
    keys = [k for k in run.swept_keys if k not in labels] or run.swept_keys
    dropped = [k for k in run.swept_keys if k not in keys]
    kind = run.sweep_kind
    scale = _scale(metric)
    col = _palette(2)[0]
    title = f"{metric_label(metric)} across the sweep"
    horizontal = False          # one text key with many or long values: a row per point
    if len(keys) == 1 and not _is_numeric(s[keys[0]]):
        names = [_fmt_param(v) for v in s.sort_values("point")[keys[0]]]
        horizontal = len(names) > 6 or max(len(n) for n in names) > 14
    figsize = (FIG_SIZE[0], max(FIG_SIZE[1], 2.4 + 0.3 * len(s))) if horizontal else FIG_SIZE
    with _theme():
        fig, body = _new_figure(title, _subtitle(run), figsize=figsize)
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
                names = [_fmt_param(v) for v in d[key]]
                if horizontal:      # many or long names: one row each, read down the page
                    y = np.arange(len(d))[::-1]
                    ax.errorbar(d["mean"] * scale, y, xerr=_yerr(d, scale), fmt="o", ms=8, capsize=4,
                                color=col, lw=1.8)
                    ax.set_yticks(y, names, fontsize="x-small" if len(names) > 15 else "small")
                    ax.set_ylim(-0.7, len(d) - 0.3)
                    ax.set_ylabel(key)
                    ax.set_xlabel(axis_label(metric))
                    _thousands(ax.xaxis)
                else:
                    x = np.arange(len(d))
                    ax.errorbar(x, d["mean"] * scale, yerr=_yerr(d, scale), fmt="o", ms=12, capsize=10,
                                color=col, lw=2.5)
                    ax.set_xticks(x, names)
                how = "Dots: means over replications; whiskers: 95% confidence intervals."
            if not horizontal:
                ax.set_xlabel(key)
                ax.set_ylabel(axis_label(metric))
                _thousands(ax.yaxis)
        elif len(keys) == 2 and kind == "grid":
            import seaborn as sns

            k1, k2 = keys
            piv = s.pivot_table(index=k1, columns=k2, values="mean", aggfunc="mean") * scale
            piv = piv.sort_index(ascending=False)
            ann = piv.map(lambda v: format_value(v / scale, metric_kind(metric)) if _finite(v) else "")
            ax = body.subplots(1, 1)
            sns.heatmap(piv, annot=ann.to_numpy(), fmt="", cmap="viridis", ax=ax, linewidths=1,
                        cbar_kws={"label": axis_label(metric)}, annot_kws={"fontsize": "small"})
            ax.set_xticklabels([_fmt_param(v) for v in piv.columns])
            ax.set_yticklabels([_fmt_param(v) for v in piv.index], rotation=0)
            ax.set_xlabel(k2)
            ax.set_ylabel(k1)
            how = ("Each cell is the mean over replications at that combination (95% confidence "
                   "intervals in summary.csv and the table below).")
        else:
            n = len(keys)
            ncols = min(3, n)
            nrows = math.ceil(n / ncols)
            axes = np.atleast_1d(body.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
            for ax, key in zip(axes, keys):
                if _is_numeric(s[key]):
                    _scatter(ax, s[key], s, scale, col)
                else:
                    cats = sorted(s[key].astype(str).unique())
                    xs = s[key].astype(str).map({c: i for i, c in enumerate(cats)})
                    _scatter(ax, xs, s, scale, col)
                    ax.set_xticks(range(len(cats)), cats)
                ax.set_xlabel(key, fontsize="small")
            for ax in axes[n:]:
                ax.set_visible(False)
            for ax in axes[::ncols]:
                ax.set_ylabel(axis_label(metric), fontsize="small")
                _thousands(ax.yaxis)
            how = ("Each dot is one point of the sweep (mean over replications"
                   + (", whiskers 95% CIs" if len(s) <= MAX_ERRORBAR_POINTS else "")
                   + "), plotted against each swept parameter in turn; a clear trend in a panel "
                   "means the metric depends on that parameter.")
        path = _save(fig, figdir / f"sweep_{index:02d}_{metric}.png")
    if dropped:
        how += (f" {', '.join(dropped)} only names the points, so it is not an axis"
                + ("; the per-ICS figure shows each ICS by name." if "ics.name" in dropped
                   and "ics.pcns" in keys else "."))
    return Figure(path, title, f"{metric_label(metric)} ({metric_unit(metric)}) at each point of "
                  f"the {kind or ''} sweep. {how}")


def _is_label_key(key: str) -> bool:
    """A swept key that names a point rather than setting a lever (`ics.name`)."""
    last = key.rsplit(".", 1)[-1]
    return last in ("name", "description")


def _yerr(d: pd.DataFrame, scale: float):
    lo = (d["mean"] - d["ci_low"]).clip(lower=0) * scale
    hi = (d["ci_high"] - d["mean"]).clip(lower=0) * scale
    return np.vstack([lo.fillna(0).to_numpy(), hi.fillna(0).to_numpy()])


def _scatter(ax, x, d: pd.DataFrame, scale: float, col) -> None:
    if len(d) <= MAX_ERRORBAR_POINTS:
        ax.errorbar(x, d["mean"] * scale, yerr=_yerr(d, scale), fmt="o", ms=7, capsize=4,
                    color=col, alpha=0.8, lw=1.5)
    else:
        ax.scatter(x, d["mean"] * scale, s=18, color=col, alpha=0.5, linewidths=0)


def _fig_sensitivity(run: RunData, metric: str, figdir: Path, index: int) -> Optional[Figure]:
    sens = run.sensitivity
    d = sens[sens["metric"] == metric].copy()
    if d.empty:
        return None
    d = d.sort_values("ST", ascending=True)
    cols = _palette(2)
    y = np.arange(len(d))
    h = 0.38
    title = f"What drives {metric_label(metric).lower()}?"
    with _theme():
        fig, body = _new_figure(title, _subtitle(run))
        ax = body.subplots(1, 1)
        for off, (col, lab, c) in zip((-h / 2, h / 2), (("S1", "first order (S1)", cols[0]),
                                                        ("ST", "total (ST)", cols[1]))):
            err = d.get(f"{col}_conf")
            ax.barh(y + off, d[col], height=h, color=c, label=lab,
                    xerr=None if err is None else err.fillna(0).abs(), capsize=6,
                    error_kw={"lw": 2})
        ax.set_yticks(y, d["parameter"])
        ax.axvline(0, color="0.3", lw=1)
        ax.set_xlabel("Sobol index (share of output variance)")
        ax.legend(loc="lower right", fontsize="small")
        path = _save(fig, figdir / f"sensitivity_{index:02d}_{metric}.png")
    return Figure(path, title,
                  f"Sobol sensitivity indices of {metric_label(metric).lower()}: the first-order "
                  "index S1 is the share of the metric's variance explained by a parameter on its "
                  "own; the total index ST adds its interactions with the others. Whiskers are 95% "
                  "confidence intervals. Parameters whose ST is near zero can be fixed at any "
                  "value in their range without changing this metric.")


# --------------------------------------------------------------------------- national runs
#: Per-PCN metrics in the "Per ICS" table of a national run, when the run has them.
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

#: How `pcnsim.national` turns per-PCN values into a national figure, in words.
AGGREGATE_TEXT = {
    "total": "total: per-PCN value × PCNs, summed over ICSs",
    "sum": "summed over ICSs",
    "mean": "mean per PCN, weighted by PCNs",
    "ratio": "ratio of national totals",
}


@dataclass
class National:
    """A run whose sweep points are ICSs, and its national figures (`pcnsim.national`)."""

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
    from pcnsim.national import national_totals

    present = run.points
    sweep = run.sweep
    spec = sweep.get("points") if sweep is not None else None
    if isinstance(spec, list) and spec:   # every ICS of the sweep, whether or not it has results
        if len(spec) < 2 or not all(isinstance(p, dict) and _finite(p.get("ics.pcns")) for p in spec):
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
        if not _finite(v):
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

    Its columns are `pcnsim.national.national_totals`'s: metric, aggregate, value, ci_low,
    ci_high, n, pcns. Written atomically (a temporary file, then renamed)."""
    return _write_national(load_run(folder), None)


def _write_national(run: RunData, nat: Optional[National]) -> Optional[Path]:
    nat = nat if nat is not None else national_of(run)
    if nat is None or nat.table is None or nat.table.empty:
        return None
    path = run.folder / "national.csv"
    _write_text_atomic(path, nat.table.to_csv(index=False))
    return path


def _lower_first(label: str) -> str:
    """'Share of requests' -> 'share of requests'; 'CD unpaid overtime' stays as it is."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def _national_kind(metric: str, aggregate: str) -> str:
    """How a national figure is formatted: WTE totals run to thousands, so as counts."""
    kind = metric_kind(metric)
    return "count" if kind == "wte" and aggregate == "total" else kind


def _short_ics_name(name: str) -> str:
    """'NHS Kent and Medway ICB' -> 'Kent and Medway' (other names unchanged)."""
    m = re.fullmatch(r"NHS (.+?) (?:ICB|Integrated Care Board|ICS)", name.strip())
    return m.group(1) if m else name


def _fig_ics(run: RunData, nat: National, figdir: Path) -> Optional[Figure]:
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
    cols = _palette(3)
    title = "ICS by ICS, per PCN"
    sub = (f"Scenario: {run.name} · {reps} replication{'s' if reps != 1 else ''} · {n} ICSs, "
           f"{format_number(nat.total_pcns, 0)} PCNs · per PCN")
    height = max(FIG_SIZE[1], 2.4 + 0.3 * n)
    with _theme():
        fig, body = _new_figure(title, sub, figsize=(FIG_SIZE[0], height))
        axes = np.atleast_1d(body.subplots(1, len(metrics), sharey=True, squeeze=False)).ravel()
        y = np.arange(n)
        for ax, m, c in zip(axes, metrics, cols):
            d = by_metric[m].reindex(order)
            scale = _scale(m)
            lo, hi = d["ci_low"].copy(), d["ci_high"].copy()
            if metric_kind(m) == "share":
                lo, hi = lo.clip(0, 1), hi.clip(0, 1)
            err = np.vstack([(d["mean"] - lo).clip(lower=0).fillna(0).to_numpy() * scale,
                             (hi - d["mean"]).clip(lower=0).fillna(0).to_numpy() * scale])
            ax.errorbar(d["mean"] * scale, y, xerr=err, fmt="o", ms=8, capsize=4, color=c, lw=1.8)
            r = nat.row(m)
            if r is not None and _finite(r["value"]):
                ax.axvline(float(r["value"]) * scale, color="0.2", ls="--", lw=2,
                           label=f"national: {format_value(r['value'], metric_kind(m))}")
                ax.legend(loc="lower right", fontsize="x-small")
            ax.set_xlabel(axis_label(m) + "\nper PCN", fontsize="small")
            _thousands(ax.xaxis)
        axes[0].set_yticks(y, labels, fontsize="x-small" if n > 15 else "small")
        axes[0].set_ylim(-0.7, n - 0.3)
        path = _save(fig, figdir / "national_ics.png")
    whiskers = ("whiskers are 95% confidence intervals" if reps > 1
                else "one replication, so no confidence intervals")
    caption = (f"Each ICS's {' and '.join(_lower_first(metric_label(m)) for m in metrics)}, per PCN "
               f"(mean over replications and over the ICS's PCNs; {whiskers}), sorted by "
               f"{_lower_first(metric_label(metrics[0]))}, highest at the top.")
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


def _draw(run: RunData, nat: Optional[National] = None) -> tuple[list[Figure], list[str]]:
    figdir = run.folder / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    notes: list[str] = []
    point = run.first_point
    weekly = run.weekly(point)
    if weekly is None or weekly.empty:
        notes.append("No weekly series (weekly.parquet missing or empty): the week-by-week "
                     "figures (delivery, CD hours, ARRS staff, CD in post) are not drawn.")
    else:
        for fn, what in ((_fig_delivery, "delivery (requests, appointments, unmet, backlog)"),
                         (_fig_cd_hours, "CD hours by use (cd_*_hours)"),
                         (_fig_arrs, "ARRS staff in post (arrs_in_post*)")):
            fig = fn(run, weekly, figdir, point)
            if fig is None:
                notes.append(f"Figure skipped: weekly.parquet has no {what} series.")
            else:
                figures.append(fig)
    fig = _fig_retention(run, weekly, figdir, point)
    if fig is None:
        notes.append("Figure skipped: no CD resignation, ARRS leaver or CD-in-post data.")
    else:
        figures.append(fig)
    if nat is not None:
        fig = _fig_ics(run, nat, figdir)
        if fig is None:
            notes.append("Per-ICS figure skipped: none of its metrics is in summary.csv.")
        else:
            figures.append(fig)
    if run.swept_keys and len(run.points) > 1:
        metrics = [m for m in KEY_METRICS if m in set(run.summary["metric"])]
        if not metrics:
            notes.append("Sweep figures skipped: none of the key metrics is in summary.csv.")
        for i, m in enumerate(metrics):
            fig = _fig_sweep_metric(run, m, figdir, i)
            if fig is not None:
                figures.append(fig)
    if run.sensitivity is not None:
        sens = run.sensitivity
        if not {"metric", "parameter", "S1", "ST"} <= set(sens.columns):
            notes.append("Sensitivity figure skipped: sensitivity.csv lacks metric, parameter, S1, ST.")
        else:
            present = list(dict.fromkeys(sens["metric"]))
            metrics = [m for m in KEY_METRICS if m in present] or present[:6]
            for i, m in enumerate(metrics):
                fig = _fig_sensitivity(run, m, figdir, i)
                if fig is not None:
                    figures.append(fig)
    return figures, notes + run.notes


def draw_figures(folder: str | os.PathLike) -> list[Path]:
    """Draw every figure the run's data allows into `<folder>/figures/`; return their paths.

    For a sweep, the week-by-week figures are of the first point (point 0); the sweep figures
    show each key metric across all points."""
    run = load_run(folder)
    figures, _ = _draw(run, national_of(run))
    return [f.path for f in figures]


# --------------------------------------------------------------------------- the page
_URL = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)


def esc(text: Any) -> str:
    """HTML-escape text; web addresses lose their scheme so the page references nothing online."""
    return html.escape(_URL.sub("", str(text)), quote=True)


def _subject(run: RunData, point: Optional[int] = None) -> str:
    pcns = run.point_pcns(point)
    return "The PCN" if pcns == 1 else f"Each PCN (mean of the {pcns} PCNs in the ICS)"


def key_sentences(run: RunData, point: Optional[int] = None) -> list[str]:
    """The headline results of a point in plain English, each with its 95% CI."""
    s = run.point_summary(point)

    def has(*ms: str) -> bool:
        return all(m in s.index for m in ms)

    def est(m: str) -> str:
        r = s.loc[m]
        return format_estimate(r["mean"], r["ci_low"], r["ci_high"], metric_kind(m))

    def val(m: str) -> str:
        return format_value(s.loc[m, "mean"], metric_kind(m))

    who = _subject(run, run.first_point if point is None else point)
    out: list[str] = []
    if has("appointments_per_year"):
        tail = f", {val('demand_met_share')} of requests" if has("demand_met_share") else ""
        req = (f" Patients asked for {val('requests_per_year')} appointments a year."
               if has("requests_per_year") else "")
        out.append(f"{who} delivered {est('appointments_per_year')} appointments a year{tail}.{req}")
    if has("gp_appointments_per_year", "arrs_appointments_per_year"):
        out.append(f"GPs delivered {val('gp_appointments_per_year')} of them and ARRS staff "
                   f"{val('arrs_appointments_per_year')}.")
    if has("unmet_per_year"):
        out.append(f"{est('unmet_per_year')} requests a year went unserved (diverted to 111, A&E "
                   "or a walk-in centre).")
    if has("wait_days_mean"):
        p90 = (f"; one patient in ten waited more than {val('wait_days_p90')} working days"
               if has("wait_days_p90") else "")
        out.append(f"Patients waited {est('wait_days_mean')} working days on average for an "
                   f"appointment{p90}.")
    if has("backlog_end"):
        out.append(f"At the end of the run {est('backlog_end')} requests were waiting.")
    if has("lost_appointments_per_year"):
        out.append(f"Clinical sessions the CD gave up cost {est('lost_appointments_per_year')} "
                   "appointments a year.")
    if has("cd_clinical_hours_per_week", "cd_leadership_hours_per_week"):
        meet = (f" and {val('cd_meeting_hours_per_week')} in system meetings"
                if has("cd_meeting_hours_per_week") else "")
        out.append(f"The clinical director spent {val('cd_clinical_hours_per_week')} hours a week "
                   f"in clinical sessions, {val('cd_leadership_hours_per_week')} on leadership "
                   f"tasks{meet}.")
    if has("cd_overtime_hours_per_week"):
        out.append(f"The clinical director worked {est('cd_overtime_hours_per_week')} hours a week "
                   "of unpaid overtime.")
    if has("leadership_tasks_overdue_share"):
        out.append(f"{est('leadership_tasks_overdue_share')} of leadership tasks were finished late "
                   "or never.")
    if has("meetings_attended_share"):
        rep = (f"; primary care had a CD present at {val('representation_share')} of system meetings"
               if has("representation_share") else "")
        out.append(f"The CD attended {est('meetings_attended_share')} of the system meetings they "
                   f"were expected at{rep}.")
    if has("cd_resignations_per_year"):
        vac = (f"; the post was vacant {val('cd_vacancy_share')} of weeks"
               if has("cd_vacancy_share") else "")
        out.append(f"CDs resigned {est('cd_resignations_per_year')} times a year{vac}.")
    if has("arrs_staff_wte"):
        out.append(f"{est('arrs_staff_wte')} WTE of ARRS staff were in post on average.")
    if has("arrs_leavers_per_year"):
        vac = (f", and {val('arrs_vacancy_rate')} of funded ARRS posts were vacant"
               if has("arrs_vacancy_rate") else "")
        out.append(f"{est('arrs_leavers_per_year')} ARRS staff left a year{vac}.")
    if has("arrs_budget_used_share"):
        out.append(f"{est('arrs_budget_used_share')} of the ARRS budget was used.")
    if has("spend_per_year"):
        cpa = (f", {val('cost_per_appointment')} per appointment delivered"
               if has("cost_per_appointment") else "")
        out.append(f"Modelled spend was {est('spend_per_year')} a year{cpa}.")
    return [o[0].upper() + o[1:] if o else o for o in out]


def _metrics_table(run: RunData, point: Optional[int] = None) -> str:
    s = run.point_summary(point)
    rows = []
    for m, r in s.iterrows():
        kind = metric_kind(m)
        dec = _ci_decimals(r["mean"], r["ci_low"], r["ci_high"], kind)
        rd = lambda v: _round_to_ci(v, r["mean"], r["ci_low"], r["ci_high"], kind) if _finite(v) else v  # noqa: E731
        n = int(r["n"]) if _finite(r.get("n")) else ""
        rows.append(f"<tr><td>{esc(metric_label(m))}<br><code>{esc(m)}</code></td>"
                    f"<td class=num>{esc(format_value(rd(r['mean']), kind, dec))}</td>"
                    f"<td class=num>{esc(format_value(rd(r['ci_low']), kind, dec))} to "
                    f"{esc(format_value(rd(r['ci_high']), kind, dec))}</td>"
                    f"<td>{esc(metric_unit(m))}</td><td class=num>{n}</td></tr>")
    return ("<table><thead><tr><th>metric</th><th>mean</th><th>95% CI</th><th>unit</th>"
            "<th>n</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _sweep_table(run: RunData) -> str:
    keys = run.swept_keys
    metrics = [m for m in KEY_METRICS if m in set(run.summary["metric"])]
    if not metrics:
        return ""
    s = run.summary[run.summary["metric"].isin(metrics)]
    points = run.points
    shown = points[:MAX_TABLE_POINTS]
    head = "".join(f"<th>{esc(k)}</th>" for k in keys) + "".join(
        f"<th>{esc(metric_label(m))}<br><small>{esc(metric_unit(m))}</small></th>" for m in metrics)
    body = []
    for p in shown:
        rows = s[s["point"] == p].set_index("metric")
        vals = run.point_values(p)
        cells = "".join(f"<td class=num>{esc(_fmt_param(vals.get(k, '')))}</td>" for k in keys)
        for m in metrics:
            if m in rows.index:
                r = rows.loc[m]
                cells += f"<td class=num>{esc(format_estimate(r['mean'], r['ci_low'], r['ci_high'], metric_kind(m)))}</td>"
            else:
                cells += "<td></td>"
        body.append(f"<tr><td class=num>{p}</td>{cells}</tr>")
    more = (f"<p class=note>The first {len(shown)} of {len(points)} points are shown; summary.csv "
            "holds them all.</p>" if len(points) > len(shown) else "")
    return ("<div class=wide><table><thead><tr><th>point</th>" + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table></div>" + more)


def assumption_rows(run: RunData) -> tuple[list[dict], bool]:
    """Parameters whose source says "assumed", with this run's values; and whether the values
    are the run's own (False: the scenario could not be rebuilt, defaults are listed)."""
    from pcnsim.config import parameter_rows

    sc = _scenario_object(run)
    defaults = {r["key"]: r["value"] for r in parameter_rows()}
    rows = parameter_rows(sc) if sc is not None else parameter_rows()
    out = []
    for r in rows:
        if "assumed" not in str(r.get("source", "")).lower():
            continue
        r = dict(r)
        r["changed"] = sc is not None and defaults.get(r["key"]) != r["value"]
        out.append(r)
    return out, sc is not None


def _assumptions_html(run: RunData) -> str:
    rows, own = assumption_rows(run)
    intro = ("<p>These parameters have no public source: their defaults are the modellers' "
             "assumptions (the source text says <em>assumed</em>). Replace them with your own "
             "figures where you have them; rows marked <strong>changed</strong> were set by this "
             "scenario.</p>")
    if not own:
        intro += ("<p class=note>The scenario in this run folder could not be read back into "
                  "pcnsim's configuration, so the <strong>defaults</strong> are listed, not this "
                  "run's values.</p>")
    body = []
    for r in rows:
        value = r["value"]
        value_text = json.dumps(value) if isinstance(value, (list, dict)) else _fmt_param(value)
        if len(value_text) > 120:
            value_text = value_text[:117] + "..."
        flag = "<span class=flag>assumed</span>" + (" <span class=changed>changed</span>"
                                                     if r.get("changed") else "")
        body.append(f"<tr><td><code>{esc(r['key'])}</code><br><small>{esc(r.get('description', ''))}"
                    f"</small></td><td class=num>{esc(value_text)}</td><td>{esc(r.get('unit', ''))}</td>"
                    f"<td>{flag}<br><small>{esc(r.get('source', ''))}</small></td></tr>")
    return (intro + "<div class=wide><table><thead><tr><th>parameter</th><th>value</th>"
            "<th>unit</th><th>source</th></tr></thead><tbody>" + "".join(body)
            + "</tbody></table></div>")


def _provenance_html(run: RunData) -> str:
    m = run.manifest
    commit = m.get("git_commit")
    if commit and m.get("git_dirty"):
        commit = f"{commit} (with uncommitted changes)"
    items = [("pcnsim version", m.get("pcnsim_version")), ("git commit", commit),
             ("root seed", m.get("seed", run.run_settings.get("seed"))),
             ("replications", run.replications), ("started", m.get("started")),
             ("finished", m.get("finished")),
             ("wall time", f"{float(m['wall_seconds']):,.1f} s" if _finite(m.get("wall_seconds")) else None),
             ("platform", m.get("platform")), ("Python", m.get("python")),
             ("command", " ".join(map(str, m["command"])) if isinstance(m.get("command"), list)
              else m.get("command")),
             ("run folder", str(run.folder.resolve()))]
    rows = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v if v not in (None, '') else 'not recorded')}"
                   f"</code></td></tr>" for k, v in items)
    return f"<table class=prov><tbody>{rows}</tbody></table>"


_CSS = """
:root{--ink:#1b1b1b;--muted:#555;--rule:#d0d0d0;--accent:#0072B2;--warn:#D55E00}
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);
max-width:1100px;margin:0 auto;padding:1.5rem 2rem 4rem;line-height:1.5;font-size:18px}
h1{font-size:2.2rem;margin:.2rem 0}h2{font-size:1.5rem;border-bottom:2px solid var(--accent);
padding-bottom:.2rem;margin-top:2.5rem}
.lede{font-size:1.15rem}.meta,.note{color:var(--muted)}
nav a{margin-right:1rem;color:var(--accent)}
ul.key li{margin:.4rem 0}
figure{margin:1.5rem 0;page-break-inside:avoid}figure img{width:100%;height:auto;border:1px solid var(--rule)}
figcaption{color:var(--muted);font-size:.95rem}figcaption b{color:var(--ink)}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border-bottom:1px solid var(--rule);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f2f2f2;position:sticky;top:0}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.wide{overflow-x:auto}
.flag{background:#fde9dc;color:var(--warn);border-radius:4px;padding:0 .3rem;font-size:.8rem;font-weight:bold}
.changed{background:#dceefa;color:var(--accent);border-radius:4px;padding:0 .3rem;font-size:.8rem;font-weight:bold}
code{font-size:.85em}table.prov th{width:12rem}
@media print{body{font-size:12pt;max-width:none}nav{display:none}h2{page-break-after:avoid}}
"""


def _figure_html(path: Path, title: str, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt=\"{esc(title)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption><b>{esc(title)}{'' if title.endswith(('.', '?', '!')) else '.'}</b> "
            f"{esc(caption)}</figcaption></figure>")


def _estimate_cells(mean: Any, lo: Any, hi: Any, kind: str) -> tuple[str, str]:
    """A value and its CI ("a to b", or "" without one), rounded to what the CI supports; the CI
    is cut at 0, and at 100% for a share (`pcnsim.analysis.bounded_interval`)."""
    if _finite(mean) and _finite(lo) and _finite(hi):
        from pcnsim.analysis import bounded_interval

        lo, hi = bounded_interval(float(mean), float(lo), float(hi), share=kind == "share")
    dec = _ci_decimals(mean, lo, hi, kind)
    rd = lambda v: _round_to_ci(v, mean, lo, hi, kind) if _finite(v) else v  # noqa: E731
    value = format_value(rd(mean), kind, dec)
    if not (_finite(lo) and _finite(hi)):
        return value, ""
    return value, f"{format_value(rd(lo), kind, dec)} to {format_value(rd(hi), kind, dec)}"


def _value_pm(mean: Any, lo: Any, hi: Any, kind: str) -> str:
    """HTML: a value and, below it, ± its CI half-width, both rounded to what the CI supports."""
    value, _ = _estimate_cells(mean, lo, hi, kind)
    if not (_finite(lo) and _finite(hi)):
        return esc(value)
    half = (float(hi) - float(lo)) / 2
    dec = _ci_decimals(mean, lo, hi, kind)
    h = _round_to_ci(half, mean, lo, hi, kind)
    if kind == "share":
        text = f"{h * 100:.1f} points"
    else:
        text = format_value(h, kind, dec)
    return f"{esc(value)}<br><small>± {esc(text)}</small>"


def _national_cells(value: Any, lo: Any, hi: Any, kind: str) -> tuple[str, str]:
    """A national figure and its CI; without a CI, large counts and money keep 4 significant
    figures (one replication cannot support more: 297,689,104 shows as 297,700,000)."""
    if not (_finite(lo) and _finite(hi)) and kind in ("count", "money") and _finite(value) \
            and abs(float(value)) >= 10_000:
        step = 10 ** (math.floor(math.log10(abs(float(value)))) - 3)
        value = round(float(value) / step) * step
        return format_value(value, kind, 0), ""
    return _estimate_cells(value, lo, hi, kind)


def national_sentences(run: RunData, nat: National) -> list[str]:
    """The national figures in plain English, each with its 95% CI where there is one."""
    t = nat.table.set_index("metric") if nat.table is not None else pd.DataFrame()

    def has(*ms: str) -> bool:
        return all(m in t.index and _finite(t.loc[m, "value"]) for m in ms)

    def est(m: str) -> str:
        r = t.loc[m]
        value, ci = _national_cells(r["value"], r["ci_low"], r["ci_high"], _national_kind(m, r["aggregate"]))
        return f"{value} (95% CI {ci})" if ci else value

    def val(m: str) -> str:
        r = t.loc[m]
        return _national_cells(r["value"], r["ci_low"], r["ci_high"], _national_kind(m, r["aggregate"]))[0]

    out = [f"The run simulates {len(nat.points)} ICSs with {format_number(nat.total_pcns, 0)} PCNs in "
           "all; each national figure adds up the per-PCN results, weighted by each ICS's PCNs."]
    if has("appointments_per_year"):
        share = f", {val('demand_met_share')} of" if has("demand_met_share") else ""
        req = (f"{share} the {val('requests_per_year')} requested" if has("requests_per_year") else "")
        out.append(f"Nationally, PCNs delivered {est('appointments_per_year')} appointments a "
                   f"year{req}.")
    if has("unmet_per_year"):
        out.append(f"{est('unmet_per_year')} requests a year went unserved (diverted to 111, A&E "
                   "or a walk-in centre).")
    if has("wait_days_mean"):
        out.append(f"Patients waited {est('wait_days_mean')} working days on average for an "
                   "appointment (mean over PCNs).")
    if has("lost_appointments_per_year"):
        out.append(f"Clinical sessions given up by clinical directors cost "
                   f"{est('lost_appointments_per_year')} appointments a year.")
    if has("cd_protected_hours_per_week"):
        lead = (f" and spent {val('cd_leadership_hours_per_week')} on leadership tasks"
                if has("cd_leadership_hours_per_week") else "")
        out.append(f"The average clinical director had {est('cd_protected_hours_per_week')} hours "
                   f"a week of protected time{lead}.")
    if has("cd_overtime_hours_per_week"):
        out.append(f"The average clinical director worked {est('cd_overtime_hours_per_week')} hours "
                   "a week of unpaid overtime.")
    if has("meetings_attended_share"):
        out.append(f"Clinical directors attended {est('meetings_attended_share')} of the system "
                   "meetings they were expected at.")
    if has("cd_resignations_per_year"):
        out.append(f"{est('cd_resignations_per_year')} clinical directors resigned a year across "
                   "these PCNs.")
    if has("arrs_staff_wte"):
        leavers = (f"; {est('arrs_leavers_per_year')} left a year" if has("arrs_leavers_per_year")
                   else "")
        out.append(f"{est('arrs_staff_wte')} WTE of ARRS staff were in post{leavers}.")
    if has("spend_per_year"):
        cpa = (f", {val('cost_per_appointment')} per appointment delivered"
               if has("cost_per_appointment") else "")
        out.append(f"Modelled spend was {est('spend_per_year')} a year{cpa}.")
    return [o[0].upper() + o[1:] for o in out]


def _national_html(run: RunData, nat: National) -> str:
    if nat.table is None or nat.table.empty:
        why = f" ({nat.error})" if nat.error else ""
        return ("<p class=note>National totals could not be computed from this run" + esc(why)
                + ". Finish the run (<code>pcnsim run --out RUN_FOLDER --resume</code>) and redraw "
                "the report with <code>pcnsim report RUN_FOLDER</code>.</p>")
    reps = nat.replications
    if reps <= 1:
        ci_note = ("<p class=note><strong>One replication: there are no confidence intervals.</strong> "
                   "Each figure comes from one simulated run of each ICS, so it carries simulation "
                   "noise that this run cannot measure. Run with <code>--replications 5</code> (or more) to get "
                   "95% confidence intervals. Large counts and sums of money are shown to 4 "
                   "significant figures (national.csv has them in full).</p>")
    elif nat.method == "summary":
        ci_note = (f"<p class=note>Ranges are conservative 95% confidence intervals from summary.csv "
                   f"({reps} replications; the ICSs' half-widths added up, since results.parquet "
                   "was not available). Ratios of national totals have none.</p>")
    else:
        ci_note = (f"<p class=note>Ranges are 95% confidence intervals over {reps} whole national "
                   "replications (every ICS of a replication shares its random numbers, so the "
                   "national figure is computed replication by replication).</p>")
    sentences = "".join(f"<li>{esc(s)}</li>" for s in national_sentences(run, nat))
    t = nat.table.set_index("metric")
    rows = []
    for m in order_metrics(t.index):
        r = t.loc[m]
        kind = _national_kind(m, r["aggregate"])
        value, ci = _national_cells(r["value"], r["ci_low"], r["ci_high"], kind)
        if not ci:
            ci = ("none (1 replication)" if reps <= 1 else
                  "none (a ratio)" if r["aggregate"] == "ratio" else "n/a")
        unit = metric_unit(m)
        if r["aggregate"] == "mean":
            unit = f"{unit}, per PCN" if unit else "per PCN"
        elif r["aggregate"] == "total":
            unit = f"{unit}, all PCNs" if unit else "all PCNs"
        rows.append(f"<tr><td>{esc(metric_label(m))}<br><code>{esc(m)}</code></td>"
                    f"<td>{esc(AGGREGATE_TEXT.get(r['aggregate'], r['aggregate']))}<br>"
                    f"<code>{esc(r['aggregate'])}</code></td>"
                    f"<td class=num>{esc(value)}</td><td class=num>{esc(ci)}</td>"
                    f"<td>{esc(unit)}</td></tr>")
    table = ("<div class=wide><table><thead><tr><th>metric</th><th>how it is combined</th>"
             "<th>national value</th><th>95% CI</th><th>unit</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table></div>")
    return (f"<ul class=key>{sentences}</ul>{ci_note}"
            "<p class=note>Counts (per year, backlogs, WTE) are totals over all PCNs; hours, waits "
            "and shares are means per PCN weighted by each ICS's PCNs; the share of demand met and "
            "the cost per appointment are ratios of national totals. The 90th percentile wait is "
            "the weighted mean of the ICSs' percentiles, not a national percentile. The same "
            "figures are in <code>national.csv</code> in the run folder.</p>" + table)


def _ics_table(run: RunData, nat: National) -> str:
    have = set(run.summary["metric"])
    metrics = [m for m in ICS_METRICS if m in have]
    head = ("<th>ICS</th><th>PCNs</th>" + "".join(
        f"<th>{esc(metric_label(m))}<br><small>{esc(metric_unit(m))}</small></th>" for m in metrics))
    s = run.summary[run.summary["metric"].isin(metrics)]
    body = []
    for p in nat.points:
        rows = s[s["point"] == p].set_index("metric")
        cells = f"<td>{esc(nat.names[p])}</td><td class=num>{esc(format_number(nat.pcns[p], 0))}</td>"
        for m in metrics:
            if m not in rows.index:
                cells += "<td class=num>n/a</td>"
                continue
            r = rows.loc[m]
            cells += f"<td class=num>{_value_pm(r['mean'], r['ci_low'], r['ci_high'], metric_kind(m))}</td>"
        body.append(f"<tr>{cells}</tr>")
    # the national row, per PCN: totals / PCNs; means and ratios as they are
    cells = (f"<td><strong>All {len(nat.points)} ICSs</strong></td>"
             f"<td class=num><strong>{esc(format_number(nat.total_pcns, 0))}</strong></td>")
    for m in metrics:
        r = nat.row(m)
        if r is None or not _finite(r["value"]) or not nat.total_pcns:
            cells += "<td class=num>n/a</td>"
            continue
        per = nat.total_pcns if r["aggregate"] == "total" else 1.0
        text = _value_pm(float(r["value"]) / per, float(r["ci_low"]) / per, float(r["ci_high"]) / per,
                         metric_kind(m))
        cells += f"<td class=num><strong>{text}</strong></td>"
    body.append(f"<tr>{cells}</tr>")
    ci = ("Below each value, ± the half-width of its 95% confidence interval."
          if (nat.replications or run.replications or 0) > 1
          else "One replication: no confidence intervals.")
    return ("<p class=note>Each value is per PCN: the mean over the ICS's PCNs and over "
            f"replications. {ci} The last row is the national figure per PCN. Every metric of every "
            "ICS is in summary.csv.</p><div class=wide><table><thead><tr>" + head
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")


def render_report(run: RunData, figures: list[Figure], notes: list[str],
                  national: Optional[National] = None) -> str:
    """The report page as a string (self-contained HTML). ``national``: the run's national
    figures (`national_of`); worked out here if not given."""
    nat = national if national is not None else national_of(run)
    point = run.first_point
    reps = run.replications
    meta = []
    if reps:
        meta.append(f"{reps} replication{'s' if reps != 1 else ''} per point")
    if run.horizon_weeks:
        meta.append(f"{run.horizon_weeks:g} weeks simulated"
                    + (f", the first {run.warmup_weeks:g} a warm-up not measured" if run.warmup_weeks else ""))
    if run.pcns > 1:
        meta.append(f"{run.pcns} PCNs in one ICS; results are per PCN")
    if run.manifest.get("finished"):
        meta.append(f"finished {run.manifest['finished']}")
    sweep_html = ""
    if run.swept_keys and len(run.points) > 1:
        sweep_html = (f"<p>This run is a <strong>{esc(run.sweep_kind or 'sweep')}</strong> sweep of "
                      f"{len(run.points)} points over {esc(', '.join(run.swept_keys))}. The key results "
                      f"and week-by-week figures are for point {point} "
                      f"({esc(_point_text(run.point_values(point)))}); the sweep figures and the table "
                      "by point cover all of them.</p>")
    if nat is not None:
        sweep_html = (f"<p>This run simulates <strong>{len(nat.points)} ICSs</strong> "
                      f"({format_number(nat.total_pcns, 0)} PCNs), one sweep point each: the "
                      "<a href=\"#national\">national totals</a> add them up, and the "
                      "<a href=\"#ics\">per-ICS table</a> lists each. The key results and "
                      f"week-by-week figures are for point {point} "
                      f"({esc(_point_text(run.point_values(point)))}).</p>")
    national_html = national_nav = ""
    if nat is not None:
        national_nav = '<a href="#national">National totals</a><a href="#ics">Per ICS</a>'
        national_html = (f"<section id=\"national\"><h2>National totals</h2>\n{_national_html(run, nat)}"
                         f"\n</section>\n<section id=\"ics\"><h2>Per ICS</h2>\n{_ics_table(run, nat)}"
                         "\n</section>")
    sentences = key_sentences(run, point)
    key_html = ("<ul class=key>" + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ul>"
                if sentences else "<p class=note>None of the headline metrics is in this run.</p>")
    # every PNG in figures/: ours with their captions, any others after them
    drawn = {f.path.resolve(): f for f in figures}
    figs_html = [_figure_html(f.path, f.title, f.caption) for f in figures]
    figdir = run.folder / "figures"
    for extra in sorted(figdir.glob("*.png")) if figdir.is_dir() else []:
        if extra.resolve() not in drawn:
            figs_html.append(_figure_html(extra, extra.stem.replace("_", " "),
                                          "A figure found in the run's figures folder."))
    notes_html = "".join(f"<p class=note>{esc(n)}</p>" for n in notes)
    sweep_table = (_sweep_table(run) if run.swept_keys and len(run.points) > 1 and nat is None
                   else "")
    desc = run.description or "(The scenario has no description.)"
    title = f"{run.name}: pcnsim report"
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<p class=meta>pcnsim report</p>
<h1>{esc(run.name)}</h1>
<p class=lede>{esc(desc)}</p>
<p class=meta>{esc(' · '.join(meta))}</p>
<nav>{national_nav}<a href="#key">Key results</a><a href="#figures">Figures</a><a href="#metrics">All metrics</a><a href="#assumptions">Assumptions</a><a href="#provenance">Provenance</a></nav>
</header>
<main>
{sweep_html}
{national_html}
<section id="key"><h2>Key results</h2>
<p class=note>Each figure is a mean over the replications after the warm-up, per PCN; ranges are 95% confidence intervals of that mean (they say how precisely the simulation pins the mean down, not how much a single year varies).</p>
{key_html}
</section>
<section id="figures"><h2>Figures</h2>
{''.join(figs_html) or '<p class=note>No figures could be drawn from this run.</p>'}
{notes_html}
</section>
<section id="metrics"><h2>All metrics</h2>
<p class=note>Point {point}{esc(' (' + _point_text(run.point_values(point)) + ')') if run.swept_keys else ''}: mean over replications, 95% t-interval, number of replications.</p>
{_metrics_table(run, point)}
{('<h3>Key metrics by point</h3>' + sweep_table) if sweep_table else ''}
</section>
<section id="assumptions"><h2>Assumptions</h2>
{_assumptions_html(run)}
</section>
<section id="provenance"><h2>Provenance</h2>
{_provenance_html(run)}
</section>
</main>
<footer><p class=meta>Written by pcnsim {esc(run.manifest.get('pcnsim_version', ''))} on {esc(datetime.now().strftime('%Y-%m-%d %H:%M'))}. Open this file in any browser; it needs no network.</p></footer>
</body>
</html>
"""


def _write_text_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def write_report(folder: str | os.PathLike) -> Path:
    """Draw the figures and write `<folder>/report.html`; return the page's path.

    For a run whose sweep points are ICSs (`national_of`), also write `<folder>/national.csv`.

    Raises `RunFolderError` if `folder` is not a run folder."""
    run = load_run(folder)
    nat = national_of(run)
    figures, notes = _draw(run, nat)
    page = render_report(run, figures, notes, national=nat)
    _write_national(run, nat)
    path = run.folder / "report.html"
    _write_text_atomic(path, page)
    return path
