"""The report page: one self-contained HTML file (figures embedded as data URIs, inline CSS,
no scripts, no web addresses) that a trainer can open offline or a planner can print.

`write_report(folder)` draws the figures, writes `<folder>/report.html` and, for a national
run, `<folder>/national.csv`. How to read the page: docs/report.md.
"""
from __future__ import annotations

import base64
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
from pcnsim.report.tables import esc, ics_table, metrics_table, national_section, sweep_table

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
        value_text = json.dumps(value) if isinstance(value, (list, dict)) else format_param(value)
        if len(value_text) > 120:
            value_text = value_text[:117] + "..."
        flag = "<span class=flag>assumed</span>" + (" <span class=changed>changed</span>"
                                                     if r.get("changed") else "")
        body.append(f"<tr><td><code>{esc(r['key'])}</code><br><small>{esc(r.get('description', ''))}"
                    f"</small></td><td class=val>{esc(value_text)}</td><td>{esc(r.get('unit', ''))}</td>"
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
             ("wall time", f"{float(m['wall_seconds']):,.1f} s" if finite(m.get("wall_seconds")) else None),
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
ul.key li,ul.answer li{margin:.4rem 0}
.question{font-size:1.45rem;font-weight:bold;margin:.6rem 0}
figure{margin:1.5rem 0;page-break-inside:avoid}figure img{width:100%;height:auto;border:1px solid var(--rule)}
figcaption{color:var(--muted);font-size:.95rem}figcaption b{color:var(--ink)}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border-bottom:1px solid var(--rule);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f2f2f2;position:sticky;top:0}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.wide{overflow-x:auto}td.val{text-align:right;overflow-wrap:anywhere;min-width:6rem}
td code,th code{overflow-wrap:anywhere}table.points{font-size:.8rem}table.points th{font-size:.78rem}
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


def _question_html(run: RunData, focus_figures: list[Figure]) -> str:
    """The page's first section: the scenario's question, the answer in sentences, its figure."""
    question, focus = story(run.scenario)
    names = point_names(run, short=False)
    sentences = answer_sentences(run.summary, focus, names, differences=load_differences(run), pcns=run.pcns)
    head = (f"<p class=question>{esc(question)}</p>" if question else
            "<p class=note>The scenario states no question (add <code>report: {question: ..., "
            "focus: [...]}</code> to its file); these are the headline metrics.</p>")
    body = "".join(f"<li>{esc(s)}</li>" for s in sentences)
    figs = "".join(_figure_html(f.path, f.title, f.caption) for f in focus_figures)
    if not focus_figures and len(run.points) > MAX_FOCUS_POINTS:
        figs = ("<p class=note>This sweep has too many points to show side by side: the figures "
                "below show each metric across the sweep.</p>")
    return (f"<section id=\"question\"><h2>The question</h2>\n{head}\n"
            f"<ul class=answer>{body}</ul>\n{figs}\n</section>")


#: The page's style sheet, shared by compare.html.
PAGE_CSS = _CSS


def figure_html(path: Path, title: str, caption: str) -> str:
    """A figure embedded as a data URI, with its title and caption."""
    return _figure_html(path, title, caption)


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
                      f"({esc(point_text(run.point_values(point)))}); the sweep figures and the table "
                      "by point cover all of them.</p>")
    if nat is not None:
        sweep_html = (f"<p>This run simulates <strong>{len(nat.points)} ICSs</strong> "
                      f"({format_number(nat.total_pcns, 0)} PCNs), one sweep point each: the "
                      "<a href=\"#national\">national totals</a> add them up, and the "
                      "<a href=\"#ics\">per-ICS table</a> lists each. The key results and "
                      f"week-by-week figures are for point {point} "
                      f"({esc(point_text(run.point_values(point)))}).</p>")
    national_html = national_nav = ""
    if nat is not None:
        national_nav = '<a href="#national">National totals</a><a href="#ics">Per ICS</a>'
        national_html = (f"<section id=\"national\"><h2>National totals</h2>\n{national_section(run, nat)}"
                         f"\n</section>\n<section id=\"ics\"><h2>Per ICS</h2>\n{ics_table(run, nat)}"
                         "\n</section>")
    sentences = key_sentences(run, point)
    key_html = ("<ul class=key>" + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ul>"
                if sentences else "<p class=note>None of the headline metrics is in this run.</p>")
    question_html = _question_html(run, [f for f in figures if f.path.name == "focus.png"])
    # every PNG in figures/: ours with their captions (the focus figure is in the question's
    # section), any others after them
    drawn = {f.path.resolve(): f for f in figures}
    figs_html = [_figure_html(f.path, f.title, f.caption) for f in figures if f.path.name != "focus.png"]
    figdir = run.folder / "figures"
    for extra in sorted(figdir.glob("*.png")) if figdir.is_dir() else []:
        if extra.resolve() not in drawn:
            figs_html.append(_figure_html(extra, extra.stem.replace("_", " "),
                                          "A figure found in the run's figures folder."))
    notes_html = "".join(f"<p class=note>{esc(n)}</p>" for n in notes)
    by_point = (sweep_table(run) if run.swept_keys and len(run.points) > 1 and nat is None
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
<nav><a href="#question">The question</a>{national_nav}<a href="#key">Key results</a><a href="#figures">Figures</a><a href="#metrics">All metrics</a><a href="#assumptions">Assumptions</a><a href="#provenance">Provenance</a></nav>
</header>
<main>
{question_html}
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
<p class=note>Point {point}{esc(' (' + point_text(run.point_values(point)) + ')') if run.swept_keys else ''}: mean over replications, 95% t-interval, number of replications.</p>
{metrics_table(run, point)}
{('<h3>Key metrics by point</h3>' + by_point) if by_point else ''}
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


_UNSET = object()


def write_report(folder: str | os.PathLike, *, run: Optional[RunData] = None, national=_UNSET) -> Path:
    """Draw the figures and write `<folder>/report.html` and `<folder>/summary.xlsx`; return the
    page's path.

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
    return path
