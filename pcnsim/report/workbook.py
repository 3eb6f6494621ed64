"""summary.xlsx: the run's summary as a spreadsheet a planner opens without pandas.

Two sheets: "Summary" (one row per point and metric: the metric's label and unit from the
catalogue, the swept values, the mean, the 95% CI cut at the metric's bounds, the raw
t-interval and the number of replications) and "About" (the scenario, its question, and how
to read the numbers). Written atomically beside summary.csv by `write_report`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import bounded_interval, finite
from pcnsim.experiment.folder import RunData, atomic
from pcnsim.report.answers import story

__all__ = ["workbook_frame", "write_workbook"]


def workbook_frame(run: RunData) -> pd.DataFrame:
    """The "Summary" sheet: summary.csv with labels, units and displayed (bounded) intervals."""
    s = run.summary
    rows = []
    for r in s.to_dict("records"):
        m = str(r["metric"])
        lo, hi = r.get("ci_low"), r.get("ci_high")
        shown = (bounded_interval(float(r["mean"]), float(lo), float(hi), metric=m)
                 if finite(r.get("mean")) and finite(lo) and finite(hi) else (lo, hi))
        row = {"point": r["point"]}
        row.update({k: r.get(k) for k in run.swept_keys})   # the key, as written in --set and sweeps
        row.update({"metric": catalogue.label(m), "unit": catalogue.unit(m), "mean": r["mean"],
                    "95% CI low": shown[0], "95% CI high": shown[1], "replications": r.get("n"),
                    "metric name": m, "raw CI low": lo, "raw CI high": hi})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        order = {m: i for i, m in enumerate(catalogue.order(s["metric"].unique()))}
        frame = frame.sort_values(["point", "metric name"], key=lambda c: c.map(order) if c.name == "metric name"
                                  else c, kind="stable")
    return frame


def write_workbook(run: RunData) -> Path:
    """Write `<run folder>/summary.xlsx` (whole or not at all); return its path."""
    question, _ = story(run.scenario)
    about = pd.DataFrame({"": ["scenario", "question", "description", "replications", "how to read"],
                          " ": [run.name, question or "(the scenario states none)", run.description,
                                run.replications,
                                "Each row is a metric at one point of the run: the mean over replications "
                                "after the warm-up (per PCN) and its 95% confidence interval, cut at the "
                                "metric's bounds (no share above 100%, nothing below zero); the raw "
                                "t-interval is in the last columns. summary.csv holds the same numbers."]})
    path = run.folder / "summary.xlsx"
    with atomic(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            workbook_frame(run).to_excel(xl, sheet_name="Summary", index=False)
            about.to_excel(xl, sheet_name="About", index=False)
            for sheet, width in (("Summary", 22), ("About", 110)):
                ws = xl.sheets[sheet]
                for col in ws.columns:
                    ws.column_dimensions[col[0].column_letter].width = width if sheet == "About" else \
                        min(45, max(10, max(len(str(c.value or "")) for c in col[:50]) + 2))
    return path
