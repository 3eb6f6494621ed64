"""The report's figures: `draw` draws every figure a run's data allow into `<folder>/figures/`.

- `focus`: the scenario's focus metrics (`report.focus`), the figure that answers its question;
- `weekly`: week-by-week figures of one point (delivery, CD hours, ARRS staff, retention);
- `sweep`: figures across the points of a sweep (a headline metric, Sobol sensitivity, each ICS).
The look they share (theme, palette, title band, saving) is `pcnsim.report.style`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pcnsim import metrics as catalogue
from pcnsim.report.answers import story
from pcnsim.report.figures.focus import fig_focus
from pcnsim.report.figures.sweep import fig_ics, fig_sensitivity, fig_sweep_metric
from pcnsim.report.figures.weekly import fig_arrs, fig_cd_hours, fig_delivery, fig_retention
from pcnsim.report.national import National, national_of
from pcnsim.experiment.folder import RunData, load_run
from pcnsim.report.style import Figure

__all__ = ["draw", "draw_figures"]


def draw(run: RunData, nat: Optional[National] = None) -> tuple[list[Figure], list[str]]:
    """Every figure the run's data allow (`nat`: its national figures, for the per-ICS one), and
    notes saying which were skipped and why."""
    figdir = run.folder / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    notes: list[str] = []
    point = run.first_point
    question, focus = story(run.scenario)
    fig = fig_focus(run, focus, figdir, question)
    if fig is not None:
        figures.append(fig)
    weekly = run.weekly(point)
    if weekly is None or weekly.empty:
        notes.append("No weekly series (weekly.parquet missing or empty): the week-by-week "
                     "figures (delivery, CD hours, ARRS staff, CD in post) are not drawn.")
    else:
        for fn, what in ((fig_delivery, "delivery (requests, appointments, unmet, backlog)"),
                         (fig_cd_hours, "CD hours by use (cd_*_hours)"),
                         (fig_arrs, "ARRS staff in post (arrs_in_post*)")):
            fig = fn(run, weekly, figdir, point)
            if fig is None:
                notes.append(f"Figure skipped: weekly.parquet has no {what} series.")
            else:
                figures.append(fig)
    fig = fig_retention(run, weekly, figdir, point)
    if fig is None:
        notes.append("Figure skipped: no CD resignation, ARRS leaver or CD-in-post data.")
    else:
        figures.append(fig)
    if nat is not None:
        fig = fig_ics(run, nat, figdir)
        if fig is None:
            notes.append("Per-ICS figure skipped: none of its metrics is in summary.csv.")
        else:
            figures.append(fig)
    if run.swept_keys and len(run.points) > 1:
        metrics = [m for m in catalogue.HEADLINE if m in set(run.summary["metric"])]
        if not metrics:
            notes.append("Sweep figures skipped: none of the key metrics is in summary.csv.")
        for i, m in enumerate(metrics):
            fig = fig_sweep_metric(run, m, figdir, i)
            if fig is not None:
                figures.append(fig)
    if run.sensitivity is not None:
        sens = run.sensitivity
        if not {"metric", "parameter", "S1", "ST"} <= set(sens.columns):
            notes.append("Sensitivity figure skipped: sensitivity.csv lacks metric, parameter, S1, ST.")
        else:
            present = list(dict.fromkeys(sens["metric"]))
            metrics = [m for m in catalogue.HEADLINE if m in present] or present[:6]
            for i, m in enumerate(metrics):
                fig = fig_sensitivity(run, m, figdir, i)
                if fig is not None:
                    figures.append(fig)
    return figures, notes + run.notes


def draw_figures(folder: str | os.PathLike) -> list[Path]:
    """Draw every figure the run's data allows into `<folder>/figures/`; return their paths.

    For a sweep, the week-by-week figures are of the first point (point 0); the sweep figures
    show each key metric across all points."""
    run = load_run(folder)
    figures, _ = draw(run, national_of(run))
    return [f.path for f in figures]
