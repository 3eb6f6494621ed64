"""Week-by-week figures of one point: demand and delivery, the CD's hours, ARRS staff, retention.

Each function draws one figure from the weekly series (weekly.parquet) of a point, or returns
None when the series it needs are missing. What each shows: docs/report.md.
"""
from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from pcnsim.analysis import bounded_interval, finite, summarise
from pcnsim.config import ARRS_ROLES
from pcnsim.report.formatting import format_hours, format_number
from pcnsim.experiment.folder import RunData, scenario_object
from pcnsim.report.style import Figure, new_figure, palette, save, subtitle, theme, thousands

__all__ = ["fig_delivery", "fig_cd_hours", "fig_arrs", "fig_retention"]


#: The bands of the last weekly frame seen: (a weak reference to it, {metric: band}). The four
#: figures ask for two dozen bands of the same frame; one `summarise` gives them all.
_bands: tuple[Any, dict[str, pd.DataFrame]] = (None, {})


def _weekly_band(weekly: pd.DataFrame, metric: str) -> Optional[pd.DataFrame]:
    """Per week: mean over replications and the 95% t-interval of that mean (`summarise`)."""
    global _bands
    ref, bands = _bands
    if ref is None or ref() is not weekly:
        every = summarise(weekly[["week", "metric", "value"]], by=["week"])
        every = every.rename(columns={"ci_low": "low", "ci_high": "high"})
        bands = {str(m): rows.set_index("week").sort_index()[["mean", "low", "high"]]
                 for m, rows in every.groupby("metric", sort=False)}
        _bands = (weakref.ref(weekly), bands)
    band = bands.get(metric)
    return None if band is None else band.copy()


def _shade_warmup(ax, run: RunData, label: bool = True) -> None:
    w = run.warmup_weeks
    if w and w > 0:
        ax.axvspan(-0.5, w - 0.5, color="0.85", alpha=0.6, zorder=0,
                   label="warm-up (not measured)" if label else None)


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


def fig_delivery(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    """delivery.png: requests, appointments and unmet requests week by week, the backlog below."""
    have = set(weekly["metric"].unique())
    top = [m for m in ("requests", "appointments", "unmet") if m in have]
    if not top and "backlog" not in have:
        return None
    cols = palette(4)
    with theme():
        fig, body = new_figure("Demand and delivery, week by week", subtitle(run, point))
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
            thousands(ax.yaxis)
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")  # beside, not over, the data
        if "backlog" in have:
            ax = axes[-1]
            _shade_warmup(ax, run, label=not top)
            _line_band(ax, _weekly_band(weekly, "backlog"), "backlog (requests waiting)", cols[3], lw=2)
            ax.set_ylabel("requests waiting")
            ax.set_ylim(bottom=0)
            thousands(ax.yaxis)
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
        axes[-1].set_xlabel("week")
        path = save(fig, figdir / "delivery.png")
    return Figure(path, "Demand and delivery, week by week",
                  "Appointment requests arriving each week against appointments delivered and "
                  "requests that left unserved (urgent ones diverted to 111, A&E or a pharmacy, routine ones not booked), with the backlog "
                  f"of requests waiting below. {_band_note(run)}; the grey area is the warm-up, "
                  "which the summary figures leave out.")


def _protected_hours(run: RunData, weekly: pd.DataFrame) -> Optional[float]:
    """The scenario's protected CD hours a week, when weekly.parquet has no series of them."""
    if "cd_protected_hours" in set(weekly["metric"].unique()):
        return None  # drawn week by week
    sc = scenario_object(run)
    if sc is None:
        return None
    from pcnsim.config import SESSION_HOURS

    return sc.cd_protected_sessions * SESSION_HOURS


def fig_cd_hours(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    """cd_hours.png: the CD's week stacked by use against the protected time, and the average week."""
    # leadership and meetings at the bottom, so they read against the protected-time line
    uses = [("cd_leadership_hours", "leadership tasks"), ("cd_meeting_hours", "system meetings"),
            ("cd_clinical_hours", "clinical sessions"), ("cd_overtime_hours", "unpaid overtime")]
    have = set(weekly["metric"].unique())
    uses = [(m, lab) for m, lab in uses if m in have]
    if not uses:
        return None
    pal = palette(6)
    cols = [{"cd_leadership_hours": pal[0], "cd_meeting_hours": pal[2], "cd_clinical_hours": "0.72",
             "cd_overtime_hours": pal[3]}[m] for m, _ in uses]
    means = {m: _weekly_band(weekly, m)["mean"] for m, _ in uses}
    frame = pd.DataFrame(means).fillna(0)
    w = run.warmup_weeks or 0
    after = frame[frame.index >= w] if (frame.index >= w).any() else frame
    protected_series = _weekly_band(weekly, "cd_protected_hours") if "cd_protected_hours" in have else None
    protected_const = _protected_hours(run, weekly)
    with theme():
        fig, body = new_figure("Where the clinical director's hours go", subtitle(run, point))
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
        if p_after is not None and finite(p_after):
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
        path = save(fig, figdir / "cd_hours.png")
    return Figure(path, "Where the clinical director's hours go",
                  "The clinical director's week, stacked by use: clinical sessions, leadership "
                  "tasks, system meetings and unpaid overtime (mean over replications, hours per "
                  "week). The dashed line is the protected CD time funded each week; leadership "
                  "and meetings above it come out of clinical time or overtime. The bar on the "
                  "right is the average week after the warm-up (grey).")


#: The ARRS roles grouped by the demand they serve (`ArrsRole.serves`): at most 6 colours a figure.
_SERVES_LABEL = {"medicines": "pharmacy (medicines)", "msk": "first contact physio (MSK)",
                 "same_day": "same-day care (paramedics, PAs, APs)", "mental_health": "mental health",
                 "social": "social (link workers, coaches, coordinators)"}


def _role_groups(roles: list[str]) -> dict[str, list[str]]:
    """{group label: roles}, in the order of the demand types; unknown roles in "other roles"."""
    from pcnsim.config import ArrsRoles

    defaults = ArrsRoles()
    groups: dict[str, list[str]] = {}
    for serves, text in _SERVES_LABEL.items():
        members = [r for r in roles if getattr(getattr(defaults, r, None), "serves", None) == serves]
        if members:
            groups[text] = members
    other = [r for r in roles if not any(r in m for m in groups.values())]
    if other:
        groups["other roles"] = other
    return groups


def fig_arrs(run: RunData, weekly: pd.DataFrame, figdir: Path, point: int) -> Optional[Figure]:
    """arrs_staff.png: ARRS staff in post by role against the funded posts; vacancies below."""
    have = set(weekly["metric"].unique())
    roles = [r for r in ARRS_ROLES if f"arrs_in_post.{r}" in have]
    roles += sorted(m.split(".", 1)[1] for m in have
                    if m.startswith("arrs_in_post.") and m.split(".", 1)[1] not in roles)
    if not roles and "arrs_in_post" not in have:
        return None
    groups = _role_groups(roles)
    cols = palette(max(len(groups), 1))
    with theme():
        fig, body = new_figure("ARRS staff in post, by kind of work", subtitle(run, point))
        ax, vx = body.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
        if roles:
            frame = pd.DataFrame({r: _weekly_band(weekly, f"arrs_in_post.{r}")["mean"]
                                  for r in roles}).fillna(0)
            grouped = {g: frame[members].sum(axis=1) for g, members in groups.items()}
            ax.stackplot(frame.index, *grouped.values(), labels=list(grouped), colors=cols, alpha=0.9)
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
        path = save(fig, figdir / "arrs_staff.png")
    return Figure(path, "ARRS staff in post, by kind of work",
                  "Additional Roles (ARRS) staff in post each week, stacked by the kind of work their "
                  "roles do (the ten roles in five groups; arrs_in_post.<role> in weekly.parquet has each; mean over "
                  "replications), against the posts the ARRS budget funds (dashed). Below: funded "
                  f"posts vacant while a leaver is replaced. {_band_note(run)}.")


def _summary_row(run: RunData, metric: str, point: int) -> Optional[pd.Series]:
    s = run.point_summary(point)
    return s.loc[metric] if metric in s.index else None


def fig_retention(run: RunData, weekly: Optional[pd.DataFrame], figdir: Path,
                  point: int) -> Optional[Figure]:
    """retention.png: CD resignations and ARRS leavers a year; the CD post filled week by week."""
    rates = [(m, lab) for m, lab in (("cd_resignations_per_year", "CD resignations"),
                                     ("arrs_leavers_per_year", "ARRS leavers"))
             if _summary_row(run, m, point) is not None]
    have_cd = weekly is not None and "cd_in_post" in set(weekly["metric"].unique())
    if not rates and not have_cd:
        return None
    cols = palette(4)
    with theme():
        fig, body = new_figure("Retention: who leaves, and is the CD post filled?", subtitle(run, point))
        gs = body.add_gridspec(1, len(rates) + (2 if have_cd else 0))
        for i, (m, lab) in enumerate(rates):
            ax = body.add_subplot(gs[0, i])
            r = _summary_row(run, m, point)
            mean, lo, hi = float(r["mean"]), r["ci_low"], r["ci_high"]
            err = None
            if finite(lo) and finite(hi):
                lo, hi = bounded_interval(mean, float(lo), float(hi), metric=m)
                err = [[max(mean - lo, 0)], [max(hi - mean, 0)]]
            ax.bar([0], [mean], yerr=err, capsize=12, color=cols[i + 1], width=0.6,
                   error_kw={"lw": 2.5})
            if mean == 0 and not (finite(hi) and float(hi) > 0):   # a sentence, not an empty panel
                ax.text(0.5, 0.5, f"No {lab.split()[-1].lower()}\nin any replication\nafter the warm-up",
                        ha="center", va="center", transform=ax.transAxes, fontsize="medium")
                ax.set_yticks([])
            else:
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
        path = save(fig, figdir / "retention.png")
    return Figure(path, "Retention: who leaves, and is the CD post filled?",
                  "Left: clinical director resignations and ARRS leavers per year after the "
                  "warm-up (mean over replications, whiskers 95% confidence intervals; note the "
                  "separate scales). Right: the share of replications (or of PCNs, for an ICS) "
                  "whose CD post is filled each week; it dips while a leaver's post is re-advertised.")
