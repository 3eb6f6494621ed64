"""Figures and a one-page offline HTML report for a finished run folder; comparisons of two runs.

`write_report(folder)` reads a run folder (docs/interface.md "The run folder"), draws the
figures into `<folder>/figures/*.png` and writes `<folder>/report.html`: one
self-contained page (figures embedded as data URIs, inline CSS, no scripts, no web
addresses) that a trainer can open offline or a planner can print for a board.

The package reads files only; it never imports the experiment runner or the model. Its
modules, each with one job:

- (reading a run folder: `pcnsim.experiment.folder`, re-exported here as `load_run`, `RunData`);
- `formatting`: numbers in plain words (`format_estimate`...); labels and units come from
  the metric catalogue, `pcnsim.metrics`;
- `style`: the look of every figure; `figures`: the figures (`draw_figures`);
- `national`: national figures of a run whose points are ICSs (`national_totals`, `national_of`);
- `tables` and `page`: what the HTML page says (`key_sentences`, `write_report`);
- `compare`: two runs, metric by metric, with 95% CIs (`compare_runs`); `index`: a pack's index page;
- `rendering`: the pages from the Jinja2 templates in `templates/` (every value escaped).

What each figure shows, and how to read the page: docs/report.md.
"""
from __future__ import annotations

from pcnsim.report.figures import draw_figures
from pcnsim.report.formatting import (format_estimate, format_hours, format_money, format_number, format_share,
                                      format_value)
from pcnsim.report.national import (ICS_METRICS, National, national_of, national_sentences, national_totals,
                                    write_national)
from pcnsim.report.page import assumption_rows, key_sentences, render_report, write_report
from pcnsim.experiment.folder import RunData, load_run, order_metrics

__all__ = [
    "RunData", "load_run", "order_metrics", "draw_figures", "write_report", "render_report", "key_sentences",
    "assumption_rows", "format_number", "format_share", "format_hours", "format_money", "format_value",
    "format_estimate", "National", "national_of", "national_sentences", "national_totals", "write_national",
    "ICS_METRICS",
]
