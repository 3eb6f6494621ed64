"""The report page: one self-contained HTML file (figures embedded as data URIs, inline CSS,
no scripts, no web addresses) that a trainer can open offline or a planner can print. This
module gathers what the page says; `templates/report.html.j2` lays it out.

`write_report(folder)` draws the figures, writes `<folder>/report.html` and, for a national
run, `<folder>/national.csv`. How to read the page: docs/report.md.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Optional

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite
from pcnsim.report.figures import draw
from pcnsim.report.formatting import format_estimate, format_number, format_param, format_value, \
    point_text
from pcnsim.report.national import National, national_of, save_national
from pcnsim.report.sentences import result_sentences
from pcnsim.report.answers import answer_sentences, story
from pcnsim.experiment.differences import load_differences
from pcnsim.report.figures.focus import MAX_FOCUS_POINTS, point_names
from pcnsim.experiment.folder import RunData, scenario_object, load_run, write_text_atomic
from pcnsim.report.style import Figure
from pcnsim.report.workbook import write_workbook
from pcnsim.report.rendering import embedded_figure, render
from pcnsim.report.tables import ics_view, metric_rows, national_view, sweep_view

__all__ = ["key_sentences", "assumption_rows", "render_report", "write_report"]


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
        return format_estimate(r["mean"], r["ci_low"], r["ci_high"], catalogue.kind(m), m)

    def val(m: str) -> str:
        return format_value(s.loc[m, "mean"], catalogue.kind(m))

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
    return out + result_sentences(has, est, val, "pcn")


def assumption_rows(run: RunData) -> tuple[list[dict], bool]:
    """Parameters whose source says "assumed", with this run's values; and whether the values
    are the run's own (False: the scenario could not be rebuilt, defaults are listed)."""
    from pcnsim.config import parameter_rows

    sc = scenario_object(run)
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


def assumption_view(run: RunData) -> dict:
    """The "Assumptions" section's rows (each value in words, cut to 120 characters) and whether
    they are the run's own values (`assumption_rows`)."""
    rows, own = assumption_rows(run)
    out = []
    for r in rows:
        value = r["value"]
        text = json.dumps(value) if isinstance(value, (list, dict)) else format_param(value)
        if len(text) > 120:
            text = text[:117] + "..."
        out.append({"key": r["key"], "description": r.get("description", ""), "value": text,
                    "unit": r.get("unit", ""), "source": r.get("source", ""), "changed": bool(r.get("changed"))})
    from pcnsim.report.knife_edge import knife_edge_view

    return {"rows": out, "own": own, "knife_edge": knife_edge_view(run)}


def provenance_items(run: RunData) -> list[tuple[str, str]]:
    """The "Provenance" table: what ran, where, when and from which code ("not recorded" for
    what the manifest lacks)."""
    m = run.manifest
    commit = m.get("git_commit")
    if commit and m.get("git_dirty"):
        commit = f"{commit} (with uncommitted changes)"
    items = [("pcnsim version", m.get("pcnsim_version")), ("git commit", commit),
             ("root seed", m.get("seed", run.run_settings.get("seed"))),
             ("replications", run.replications), ("started", m.get("started")),
             ("finished", m.get("finished")),
             ("wall time", f"{float(m['wall_seconds']):,.1f} s" if finite(m.get("wall_seconds")) else None),
             ("platform", m.get("platform")), ("Python", m.get("python")),
             ("command", " ".join(map(str, m["command"])) if isinstance(m.get("command"), list)
              else m.get("command")),
             ("run folder", str(run.folder.resolve()))]
    return [(k, str(v) if v not in (None, "") else "not recorded") for k, v in items]


def _question_view(run: RunData, focus_figures: list[Figure]) -> dict:
    """The page's first section: the scenario's question, the answer in sentences, its figure
    (or, for a sweep too wide for one, a note that the sweep figures show it)."""
    question, focus = story(run.scenario)
    names = point_names(run, short=False)
    return {"text": question, "asked_of": run.based_on if run.changes else "",
            "changes": "; ".join(run.changes), "sentences": answer_sentences(run.summary, focus, names, differences=load_differences(run),
                                                pcns=run.pcns, years=_years(run)),
            "figures": [embedded_figure(f.path, f.title, f.caption) for f in focus_figures],
            "too_many": not focus_figures and len(run.points) > MAX_FOCUS_POINTS}


def _years(run: RunData) -> Optional[float]:
    """Years measured in a replication (after the warm-up), for the counts behind rare events."""
    from pcnsim.config import WEEKS_PER_YEAR

    h, w = run.horizon_weeks, run.warmup_weeks or 0.0
    return (h - w) / WEEKS_PER_YEAR if h and h > w else None


def run_description(run: RunData) -> str:
    """What the run is (`RunData.stated_description`): the scenario's description, or, for a
    run with changes, what it is based on and its changes, never the base's description."""
    return run.stated_description or "(The scenario has no description.)"


def _meta(run: RunData) -> str:
    """The header's line about the run: replications, weeks, PCNs, when it finished."""
    reps = run.replications
    meta = []
    if reps:
        meta.append(f"{reps} replication{'s' if reps != 1 else ''} per point")
    if run.horizon_weeks:
        meta.append(f"{run.horizon_weeks:g} weeks simulated"
                    + (f", the first {run.warmup_weeks:g} a warm-up not measured" if run.warmup_weeks else ""))
    if run.pcns > 1:
        meta.append(f"{run.pcns} PCNs in one ICS; results are per PCN")
    if reps and reps <= 3:   # said where the numbers are read, not only on the terminal
        meta.append(f"only {reps} replication{'s' if reps != 1 else ''}: the intervals are too wide to answer "
                    "most questions (use 10 or more)")
    if run.manifest.get("finished"):
        meta.append(f"finished {run.manifest['finished']}")
    return " · ".join(meta)


def render_report(run: RunData, figures: list[Figure], notes: list[str],
                  national: Optional[National] = None) -> str:
    """The report page as a string (self-contained HTML, from `templates/report.html.j2`).
    ``national``: the run's national figures (`national_of`); worked out here if not given."""
    nat = national if national is not None else national_of(run)
    point = run.first_point
    swept = bool(run.swept_keys)
    sweep = None
    if swept and len(run.points) > 1:
        sweep = {"kind": run.sweep_kind or "sweep", "points": len(run.points), "keys": ", ".join(run.swept_keys)}
    national_ctx = None
    if nat is not None:
        national_ctx = {"count": len(nat.points), "pcns": format_number(nat.total_pcns, 0),
                        "totals": national_view(run, nat), "ics": ics_view(run, nat)}
    # every PNG in figures/: ours with their captions (the focus figure is in the question's
    # section), any others after them
    drawn = {f.path.resolve() for f in figures}
    shown = [embedded_figure(f.path, f.title, f.caption) for f in figures if f.path.name != "focus.png"]
    figdir = run.folder / "figures"
    for extra in sorted(figdir.glob("*.png")) if figdir.is_dir() else []:
        if extra.resolve() not in drawn:
            shown.append(embedded_figure(extra, extra.stem.replace("_", " "),
                                         "A figure found in the run's figures folder."))
    from pcnsim.report.pack import load_against

    return render(
        "report.html.j2", name=run.title, against=[vars(a) for a in load_against(run)],
        description=run_description(run), changed=bool(run.changes),
        meta=_meta(run), question=_question_view(run, [f for f in figures if f.path.name == "focus.png"]),
        national=national_ctx, sweep=sweep, point=point, swept=swept,
        point_text=point_text(run.point_values(point)), key=key_sentences(run, point), figures=shown,
        notes=notes, metrics=metric_rows(run, point),
        by_point=sweep_view(run) if sweep is not None and nat is None else None,
        assumptions=assumption_view(run), provenance=provenance_items(run),
        version=run.manifest.get("pcnsim_version", ""), written=datetime.now().strftime("%Y-%m-%d %H:%M"))


_UNSET = object()


def write_report(folder: str | os.PathLike, *, run: Optional[RunData] = None, national=_UNSET) -> Path:
    """Draw the figures and write `<folder>/report.html`, `<folder>/room.html` (the room view:
    `pcnsim.report.pack`) and `<folder>/summary.xlsx`; return the page's path.

    For a run whose sweep points are ICSs (`national_of`), also write `<folder>/national.csv`.
    ``run`` (the folder as `load_run` read it) and ``national`` (its `national_of`, None for
    none) skip reading and computing them again when the caller already has them.

    Raises `RunFolderError` if `folder` is not a run folder."""
    run = run if run is not None else load_run(folder)
    nat = national_of(run) if national is _UNSET else national
    figures, notes = draw(run, nat)
    page = render_report(run, figures, notes, national=nat)
    save_national(run, nat)
    write_workbook(run)
    path = run.folder / "report.html"
    write_text_atomic(path, page)
    from pcnsim.report.pack import room_slides, write_room

    write_room(run.folder, run.name, room_slides(run, "report.html"))
    return path
