"""The look of every figure: theme, palette, a slide-shaped figure with a title band, saving.

Figures are drawn with matplotlib's object API (no pyplot, no global backend or theme
change), so importing the report from a notebook changes nothing there; seaborn draws on the
same figures (`sns.heatmap(ax=...)`, `seaborn.objects.Plot.on(...)` with `.theme(rc())`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from pcnsim import metrics
from pcnsim.experiment.folder import atomic
from pcnsim.report.formatting import point_text

__all__ = ["Figure", "FIG_SIZE", "FIG_DPI", "theme", "palette", "new_figure", "save", "thousands", "plot_scale",
           "subtitle"]

FIG_SIZE = (13.33, 7.5)   # 16:9, a slide
FIG_DPI = 110
#: A figure title longer than this is wrapped onto two lines in a smaller size.
TITLE_CHARS = 60


@dataclass
class Figure:
    """A drawn figure: its file, a title and a caption for the report."""

    path: Path
    title: str
    caption: str


#: seaborn 0.13's "whitegrid" style, "talk" context and "colorblind" palette, written out:
#: importing seaborn costs about two seconds (it imports scipy.stats), and only a sweep's
#: figures draw with it (the grid heatmap; the panels by swept key, a seaborn.objects facet
#: grid), so a single scenario's report does without it. tests/test_report.py checks these against seaborn. Left out: the style's
#: `image.cmap` ("rocket", a colormap that exists only once seaborn is imported); no figure
#: draws with the default colormap (the heatmap names viridis).
WHITEGRID = {
    "figure.facecolor": "white", "axes.labelcolor": ".15", "xtick.direction": "out",
    "ytick.direction": "out", "xtick.color": ".15", "ytick.color": ".15", "axes.axisbelow": True,
    "grid.linestyle": "-", "text.color": ".15", "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
    "xtick.top": False, "ytick.right": False, "axes.grid": True, "axes.facecolor": "white",
    "axes.edgecolor": ".8", "grid.color": ".8", "axes.spines.left": True, "axes.spines.bottom": True,
    "axes.spines.right": True, "axes.spines.top": True, "xtick.bottom": False, "ytick.left": False,
}
TALK = {
    "axes.linewidth": 1.875, "grid.linewidth": 1.5, "lines.linewidth": 2.25, "lines.markersize": 9.0,
    "patch.linewidth": 1.5, "xtick.major.width": 1.875, "ytick.major.width": 1.875,
    "xtick.minor.width": 1.5, "ytick.minor.width": 1.5, "xtick.major.size": 9.0, "ytick.major.size": 9.0,
    "xtick.minor.size": 6.0, "ytick.minor.size": 6.0, "font.size": 18.0, "axes.labelsize": 18.0,
    "axes.titlesize": 18.0, "xtick.labelsize": 16.5, "ytick.labelsize": 16.5, "legend.fontsize": 16.5,
    "legend.title_fontsize": 18.0,
}
COLORBLIND = tuple(tuple(c / 255 for c in rgb) for rgb in (
    (1, 115, 178), (222, 143, 5), (2, 158, 115), (213, 94, 0), (204, 120, 188),
    (202, 145, 97), (251, 175, 228), (148, 148, 148), (236, 225, 51), (86, 180, 233)))


def rc() -> dict:
    """The figures' matplotlib settings: seaborn's "talk" context, white grid and colour-blind
    palette, bold titles. `theme` applies them to a block; a seaborn.objects `Plot` takes them
    with `.theme(rc())` (it applies its own theme otherwise)."""
    import matplotlib as mpl

    out = {**WHITEGRID, **TALK}
    out["axes.prop_cycle"] = mpl.cycler(color=palette(len(COLORBLIND)))
    out.update({"figure.dpi": FIG_DPI, "savefig.dpi": FIG_DPI, "axes.titleweight": "bold",
                "legend.frameon": True, "legend.framealpha": 0.9})
    return out


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """seaborn's "talk" context, white grid and colour-blind palette (`rc`), for this block only."""
    import matplotlib as mpl

    with mpl.rc_context(rc()):
        yield


def palette(n: int) -> list:
    """n colours of the colour-blind palette (repeating after ten, as seaborn's does)."""
    return [COLORBLIND[i % len(COLORBLIND)] for i in range(n)]


#: A subtitle longer than this (a run's changes) is set on two lines in a smaller size.
SUBTITLE_CHARS = 96
#: The most characters a line of a two-line subtitle holds at the smaller size (the slide's width).
SUBTITLE_LINE = 110


def new_figure(title: str, subtitle: str, figsize=FIG_SIZE):
    """A slide-shaped figure with a title band on top; returns (figure, body to draw in). A long
    title (a scenario's question) and a long subtitle (a run's changes) take two lines each, a
    size down, and the band grows by what the second lines need, so that neither overlaps."""
    import textwrap

    from matplotlib.figure import Figure as MplFigure

    long_title, long_subtitle = len(title) > TITLE_CHARS, len(subtitle) > SUBTITLE_CHARS
    if long_title:
        title = "\n".join(textwrap.wrap(title, TITLE_CHARS + 12)[:2])
    if long_subtitle:   # the rest of the changes shortened onto the second line
        first, *rest = textwrap.wrap(subtitle, SUBTITLE_LINE) or [""]
        subtitle = "\n".join([first] + ([textwrap.shorten(" ".join(rest), SUBTITLE_LINE, placeholder=" …")]
                                        if rest else []))
    band = 1.1 + 0.3 * (long_title and "\n" in title) + 0.3 * (long_subtitle and "\n" in subtitle)
    fig = MplFigure(figsize=figsize, layout="constrained")
    head, body = fig.subfigures(2, 1, height_ratios=[band, figsize[1] - band])
    if long_title:
        head.text(0.5, 0.99, title, ha="center", va="top", fontsize="large", fontweight="bold",
                  linespacing=1.1)
    else:
        head.text(0.5, 0.97, title, ha="center", va="top", fontsize="x-large", fontweight="bold")
    if long_subtitle:
        head.text(0.5, 0.02, subtitle, ha="center", va="bottom", fontsize="small", color="0.3", linespacing=1.1)
    else:
        head.text(0.5, 0.04, subtitle, ha="center", va="bottom", fontsize="medium", color="0.3")
    return fig, body


def save(fig, path: Path) -> Path:
    """Write a figure as PNG, whole or not at all (the run folder's atomic writer); inside
    `pcnsim.report.figcheck.collecting()`, also check it for overlapping text, clipping,
    squashed panels and blank area."""
    from pcnsim.report import figcheck

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp:
        fig.savefig(tmp, format="png", dpi=FIG_DPI, facecolor="white")
    figcheck.record(fig, path, FIG_DPI)
    return path


def thousands(axis) -> None:
    """Thousands separators on an axis whose ticks reach 1,000 or more."""
    from matplotlib.ticker import FuncFormatter

    lo, hi = axis.get_view_interval()
    if max(abs(lo), abs(hi)) >= 1000:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def plot_scale(metric: str) -> float:
    """Shares are plotted as percentages."""
    return 100.0 if metrics.kind(metric) == "share" else 1.0


def subtitle(run, point: Optional[int] = None) -> str:
    """The line under a figure's title: scenario, replications, the point, per PCN of an ICS."""
    reps = run.replications
    # the run's changes from its scenario (`RunData.title`): a figure sent on its own says what it shows
    parts = [f"Scenario: {getattr(run, 'title', run.name)}"]
    if reps:
        parts.append(f"{reps} replication{'s' if reps != 1 else ''}")
    if point is not None and run.swept_keys:
        parts.append(f"point {point}: " + point_text(run.point_values(point)))
    pcns = run.point_pcns(point)
    if pcns > 1:
        parts.append(f"per PCN, mean of {pcns} PCNs")
    return " · ".join(parts)


#: At most this many category labels on an axis; more are thinned (every k-th shown).
MAX_TICK_LABELS = 12


def readable_ticks(ax, positions, labels, axis: str = "x", max_labels: int = MAX_TICK_LABELS,
                   fontsize: str = "small") -> None:
    """Category ticks that stay readable however many categories there are: every k-th label
    when there are more than `max_labels`, and x labels turned 30 degrees when they are long.
    Positions and labels always have the same length (no matplotlib mismatch)."""
    positions, labels = list(positions), [str(v) for v in labels]
    step = max(1, -(-len(labels) // max_labels))
    keep = list(range(0, len(labels), step))
    pos = [positions[i] for i in keep]
    text = [labels[i] for i in keep]
    if axis == "x":
        long = sum(len(t) for t in text) > 60 or any(len(t) > 12 for t in text)
        ax.set_xticks(pos, text, fontsize=fontsize, rotation=30 if long else 0,
                      ha="right" if long else "center", rotation_mode="anchor" if long else "default")
    else:
        ax.set_yticks(pos, text, fontsize=fontsize)
