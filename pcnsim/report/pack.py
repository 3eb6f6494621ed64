"""A scenario pack's what-ifs against its baseline, and the room view.

`pcnsim run workshop` runs a folder of scenarios; its first scenario (in file order,
`01-baseline.yaml`) is the pack's **baseline**. Each later scenario is a what-if, and a
what-if is only an answer beside the baseline: "What if the ARRS budget were halved?" is
answered by "24,000 fewer appointments (19,800 to 28,700)", not by "226,020 appointments".
So after each what-if has run, `compare_with_baseline` compares it with the baseline (every
point of a sweep in turn), paired replication by replication when both share their seed and
replications (common random numbers), exactly as `pcnsim compare` does, and writes:

- `<what-if>/against-baseline/compare.{csv,png,html}` (a sweep: one `point-<N>/` folder per
  point), the same files as `pcnsim compare`;
- `<what-if>/against-baseline/about.json`: what the report, index.html and room.html show
  (the short answer and the focus metrics' paired differences, already in words).

The report of the what-if opens with that difference (`load_against`); index.html shows each
question with its one-sentence answer and the differences; `write_room` writes room.html, one
screen per question at 1280x720 (the question, the answer in large type and one figure) for a
projector.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from pcnsim import metrics as catalogue
from pcnsim.experiment.folder import RunData, load_run, write_text_atomic

__all__ = ["AGAINST_DIR", "Against", "compare_with_baseline", "load_against", "Slide", "write_room",
           "render_room", "room_slides"]

#: The folder, inside a what-if's run folder, that holds its comparison with the pack's baseline.
AGAINST_DIR = "against-baseline"


@dataclass
class Against:
    """One point of a what-if against the pack's baseline, in words: `short` is the one-sentence
    answer ("In short: ..."), `rows` the focus metrics (label, unit, baseline, what_if,
    difference with its 95% CI, differs), `method` how the difference was estimated, `href`
    the comparison page relative to the run folder."""

    baseline: str
    point: int
    point_name: str
    short: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    method: str = ""
    href: str = ""


def _rows(df, focus) -> list[dict[str, Any]]:
    from pcnsim.report.answers import format_difference, headline_metrics, is_fixed
    from pcnsim.report.formatting import format_value

    first = df[(df["point_a"] == df["point_a"].iloc[0]) & (df["point_b"] == df["point_b"].iloc[0])]
    by = {r["metric"]: r for r in first.to_dict("records")}
    out = []
    for m in headline_metrics(list(focus) or list(catalogue.HEADLINE), list(by)):
        r = by[m]
        if is_fixed(r):
            continue
        kind = catalogue.kind(m)
        out.append({"label": catalogue.label(m), "unit": catalogue.unit(m),
                    "baseline": format_value(r["mean_a"], kind), "what_if": format_value(r["mean_b"], kind),
                    "difference": format_difference(r["difference"], r["ci_low"], r["ci_high"], kind),
                    "differs": bool(r["distinguishable"])})
    return out


def _method(df) -> str:
    if len(df) and df["paired"].all():
        n = int(df["n"].max())
        return (f"Paired replication by replication ({n} replications sharing their random numbers with "
                "the baseline's): 95% confidence intervals of the difference.")
    return ("Compared as independent samples (Welch's t-interval): the two runs do not share their "
            "replications, so the intervals are wider than a paired comparison's.")


def compare_with_baseline(baseline: RunData | Path, what_if: RunData | Path) -> list[Against]:
    """Compare every point of `what_if` with the pack's `baseline` (its first point); write
    `<what_if>/against-baseline/` (replacing an earlier one) and return the comparisons."""
    from pcnsim.report.answers import compare_headline, story
    from pcnsim.report.compare import compare_runs, write_comparison
    from pcnsim.report.figures.focus import point_names

    base = baseline if isinstance(baseline, RunData) else load_run(baseline)
    what = what_if if isinstance(what_if, RunData) else load_run(what_if)
    out_root = what.folder / AGAINST_DIR
    if out_root.exists():
        shutil.rmtree(out_root)
    question, focus = story(what.scenario)
    names = point_names(what, short=False)
    found: list[Against] = []
    for point in what.points:
        df = compare_runs(base, what, None, point if len(what.points) > 1 else None)
        if df.empty:
            continue
        where = out_root if len(what.points) == 1 else out_root / f"point-{point}"
        name_b = what.name if len(what.points) == 1 else f"{what.name} ({names[point]})"
        write_comparison(df, where, base.name, name_b, question=question, focus=focus,
                         label_a=f"{base.name}: the pack's baseline", label_b=name_b)
        head = compare_headline(df, focus, question, "the baseline", "the what-if")
        if question and head:
            head = head[1:]
        found.append(Against(base.name, int(point), names[point], head[0] if head else "", _rows(df, focus),
                             _method(df), (where / "compare.html").relative_to(what.folder).as_posix()))
    out_root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_root / "about.json", json.dumps(
        {"baseline": base.name, "baseline_folder": str(base.folder),
         "points": [asdict(a) for a in found]}, indent=2))
    return found


def load_against(run: RunData | Path) -> list[Against]:
    """The comparisons `compare_with_baseline` wrote into a run folder ([] when none)."""
    folder = run.folder if isinstance(run, RunData) else Path(run)
    try:
        about = json.loads((folder / AGAINST_DIR / "about.json").read_text(encoding="utf-8"))
        return [Against(**p) for p in about.get("points", [])]
    except (OSError, ValueError, TypeError):
        return []


# --------------------------------------------------------------------------- the room view
@dataclass
class Slide:
    """One screen of the room view: a heading (the scenario), its question, the answer in one or
    two sentences, and one figure (a PNG file)."""

    heading: str
    question: str
    answer: list[str]
    figure: Optional[Path]
    caption: str = ""
    href: str = ""


def room_slides(run: RunData, href: str = "") -> list[Slide]:
    """A run's screens: one per comparison with the pack's baseline (its short answer and
    compare.png), else one with its own question, its first answer sentence and focus.png."""
    from pcnsim.experiment.differences import load_differences
    from pcnsim.report.answers import answer_sentences, story
    from pcnsim.report.figures.focus import point_names

    question, focus = story(run.scenario)
    against = load_against(run)
    if against:
        out = []
        for a in against:
            png = run.folder / Path(a.href).parent / "compare.png"
            heading = run.name if len(against) == 1 else f"{run.name}: {a.point_name}"
            out.append(Slide(heading, question, [a.short], png if png.exists() else None,
                             f"Against the pack's baseline ({a.baseline}): each difference with its 95% interval.",
                             href))
        return out
    sentences = answer_sentences(run.summary, focus, point_names(run, short=False),
                                 differences=load_differences(run), pcns=run.pcns)
    png = run.folder / "figures" / "focus.png"
    return [Slide(run.name, question, sentences[:1], png if png.exists() else None,
                  "The focus metrics: means over replications with their 95% intervals.", href)]


def render_room(title: str, slides: list[Slide]) -> str:
    """room.html as a string: one screen per slide, each fitting 1280x720 (templates/room.html.j2)."""
    from pcnsim.report.rendering import embedded_figure, render

    shown = []
    for s in slides:
        fig = embedded_figure(s.figure, s.heading, s.caption) if s.figure is not None else None
        shown.append({"heading": s.heading, "question": s.question, "answer": s.answer, "figure": fig,
                      "href": s.href})
    return render("room.html.j2", title=title, slides=shown, written=datetime.now().strftime("%Y-%m-%d %H:%M"))


def write_room(folder: Path, title: str, slides: list[Slide]) -> Path:
    """Write `<folder>/room.html` (atomically); return its path."""
    path = Path(folder) / "room.html"
    write_text_atomic(path, render_room(title, slides))
    return path
