"""A check that a figure can be read in a room: no overlapping text, nothing clipped, no
squashed panel, no large blank area. Measured, not judged by eye.

Every figure of the report and of `pcnsim compare` is saved through `pcnsim.report.style.save`;
inside `collecting()` each one is also checked here, so a test can draw every figure a run
produces and assert that none has a problem:

    with collecting() as checked:
        write_report(folder)
    assert all(not c.problems for c in checked)

What `check_figure` measures (matplotlib's renderer gives each text's box in pixels):

- **overlapping text**: any two visible text artists (titles, labels, tick labels, legend
  entries, annotations) whose boxes overlap by more than `OVERLAP_PX` pixels each way;
- **clipped text**: a text box that reaches outside the figure;
- **squashed panels**: a visible axes panel less than `MIN_PANEL_PX` pixels tall (the
  2-pixel slivers compare.png once had);
- **blank area**: the share of the image, cut into a `TILES` x `TILES` grid, whose tiles
  hold nothing but the background, above `MAX_BLANK_SHARE` (three quarters of compare.png
  was once empty).

Outside `collecting()` nothing is checked, so a run pays nothing for it.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

__all__ = ["CheckedFigure", "check_figure", "collecting", "record", "MIN_PANEL_PX", "MAX_BLANK_SHARE",
           "OVERLAP_PX", "TILES"]

#: An axes panel shorter than this (pixels at the saved resolution) is squashed.
MIN_PANEL_PX = 60
#: At most this share of the image may be blank tiles.
MAX_BLANK_SHARE = 0.35
#: Two text boxes overlapping by this many pixels or fewer in either direction touch, not overlap.
OVERLAP_PX = 1.5
#: The blank-area grid: the image is cut into TILES x TILES tiles.
TILES = 12


@dataclass
class CheckedFigure:
    """One checked figure: its file (None when checked before saving), the problems found (plain
    sentences; none is a pass) and the measures behind them."""

    path: Optional[Path]
    problems: list[str] = field(default_factory=list)
    blank_share: float = 0.0
    smallest_panel_px: float = float("nan")
    texts: int = 0


_collected: Optional[list[CheckedFigure]] = None


@contextlib.contextmanager
def collecting() -> Iterator[list[CheckedFigure]]:
    """Check every figure saved through `style.save` in this block; yields the list of results,
    filled as figures are saved."""
    global _collected
    previous, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = previous


def record(fig, path: Optional[Path], dpi: Optional[float] = None) -> None:
    """Called by `style.save` after a figure is written (at `dpi`): check it when `collecting()` is on."""
    if _collected is not None:
        _collected.append(check_figure(fig, path, dpi=dpi))


def _hidden_ticks(fig) -> set[int]:
    """ids of tick labels matplotlib does not draw: ticks outside the axis's view interval."""
    out: set[int] = set()
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            tol = (hi - lo) * 1e-9 + 1e-12
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - tol <= tick.get_loc() <= hi + tol:
                    out.update({id(tick.label1), id(tick.label2)})
    return out


def _texts(fig, renderer) -> list[tuple[str, object]]:
    """(text, box in pixels) of every visible, non-empty text artist of the figure."""
    from matplotlib.text import Text

    hidden = _hidden_ticks(fig)
    out = []
    for t in fig.findobj(Text):
        if id(t) in hidden or not t.get_text().strip() or not t.get_visible():
            continue
        ax = t.axes
        if ax is not None and not ax.get_visible():
            continue
        parent = t.get_figure(root=False) if hasattr(t, "get_figure") else None
        if parent is not None and hasattr(parent, "get_visible") and not parent.get_visible():
            continue
        if t.get_alpha() == 0:
            continue
        box = t.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        out.append((t.get_text().replace("\n", " "), box))
    return out


def _blank_share(rgba: np.ndarray, tiles: int = TILES) -> float:
    """The share of a `tiles` x `tiles` grid of the image whose tiles are all background (the
    colour of the top-left pixel, white in every pcnsim figure)."""
    rgb = rgba[..., :3].astype(np.int16)
    background = rgb[0, 0]
    ink = np.abs(rgb - background).max(axis=2) > 8
    h, w = ink.shape
    rows = np.linspace(0, h, tiles + 1).astype(int)
    cols = np.linspace(0, w, tiles + 1).astype(int)
    blank = 0
    for i in range(tiles):
        for j in range(tiles):
            if not ink[rows[i]:rows[i + 1], cols[j]:cols[j + 1]].any():
                blank += 1
    return blank / (tiles * tiles)


def check_figure(fig, path: Optional[Path] = None, *, dpi: Optional[float] = None,
                 min_panel_px: float = MIN_PANEL_PX, max_blank_share: float = MAX_BLANK_SHARE) -> CheckedFigure:
    """Draw `fig` (a matplotlib Figure) at `dpi` (default: the figure's own; `style.save` passes the
    saved resolution) and measure it:
    overlapping text, text outside the figure, axes panels shorter than `min_panel_px`, and
    the blank share of the image above `max_blank_share`. Returns the problems in words."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    old_canvas, old_dpi = fig.canvas, fig.dpi
    try:
        fig.set_dpi(dpi or old_dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        result = CheckedFigure(Path(path) if path is not None else None)
        figbox = fig.bbox
        texts = _texts(fig, renderer)
        result.texts = len(texts)
        for text, box in texts:
            if (box.x0 < figbox.x0 - 1 or box.y0 < figbox.y0 - 1 or box.x1 > figbox.x1 + 1
                    or box.y1 > figbox.y1 + 1):
                result.problems.append(f"text outside the figure: {text[:60]!r}")
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                (ta, a), (tb, b) = texts[i], texts[j]
                dx = min(a.x1, b.x1) - max(a.x0, b.x0)
                dy = min(a.y1, b.y1) - max(a.y0, b.y0)
                if dx > OVERLAP_PX and dy > OVERLAP_PX:
                    result.problems.append(f"overlapping text: {ta[:50]!r} and {tb[:50]!r}")
        heights = [ax.get_window_extent(renderer).height for ax in fig.get_axes()
                   if ax.get_visible() and ax.get_label() != "<colorbar>"]
        if heights:
            result.smallest_panel_px = float(min(heights))
            if result.smallest_panel_px < min_panel_px:
                result.problems.append(f"a panel only {result.smallest_panel_px:.0f} px tall "
                                       f"(at least {min_panel_px:.0f})")
        result.blank_share = _blank_share(np.asarray(canvas.buffer_rgba()))
        if result.blank_share > max_blank_share:
            result.problems.append(f"{result.blank_share:.0%} of the image is blank "
                                   f"(at most {max_blank_share:.0%})")
        return result
    finally:
        fig.set_dpi(old_dpi)
        fig.set_canvas(old_canvas)
