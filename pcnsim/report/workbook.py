"""summary.xlsx: the run's summary as a spreadsheet a planner opens in Excel and uses at once.

Sheets:

- "Summary": one row per point and metric: the metric's label and unit from the catalogue, the
  swept values, the mean, the 95% interval kept within the metric's bounds (a share within
  0-100%, nothing below zero: `pcnsim.analysis.bounded_interval`), the raw t-interval and the
  number of replications;
- one sheet per family of metrics ("Delivery", "Leadership time", "Retention", "Money"), the
  same columns, the focus metrics (those that answer the scenario's question) first;
- "About": the scenario, what the run changed from it (`RunData.changes`), its question, how to
  read the numbers, and every setting the run used (key, value, unit).

Excel-ready, not General format: each number cell has its unit's format (counts "#,##0", shares
"0.0%" of the fraction, money "£#,##0", hours and days "0.0"); every sheet has its header row
frozen and filters on. Written atomically beside summary.csv by `write_report`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import bounded_interval, finite
from pcnsim.experiment.folder import RunData, atomic, scenario_object
from pcnsim.report.answers import story

__all__ = ["workbook_frame", "write_workbook", "number_format", "FAMILY_SHEETS"]

#: The sheet of each family of metrics, in reading order.
FAMILY_SHEETS = {"delivery": "Delivery", "leadership": "Leadership time", "retention": "Retention",
                 "money": "Money"}
#: The columns that hold a metric's value (formatted by its unit).
VALUE_COLUMNS = ("mean", "95% CI low", "95% CI high", "raw CI low", "raw CI high")


def number_format(metric: str, mean: Any = None) -> str:
    """The Excel number format of a metric's values: shares "0.0%" (the cell holds the fraction),
    money "£#,##0" ("£#,##0.00" under £100), counts "#,##0" ("#,##0.00" under 100: 0.15
    resignations a year is not 0), hours, days and WTE "#,##0.0", scores "0.00"."""
    kind = catalogue.kind(metric)
    small = finite(mean) and abs(float(mean)) < 100
    if kind == "share":
        return "0.0%"
    if kind == "money":
        return "£#,##0.00" if small else "£#,##0"
    if kind in ("hours", "days", "wte"):
        return "#,##0.0"
    if kind == "score":
        return "0.00"
    return "#,##0.00" if small else "#,##0"


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


def _family_frame(frame: pd.DataFrame, family: str, focus: list[str]) -> pd.DataFrame:
    """The rows of one family, the focus metrics first (in the focus list's order)."""
    if frame.empty:
        return frame
    fam = frame[[(catalogue.lookup(m).family if catalogue.lookup(m) else "delivery") == family
                 for m in frame["metric name"]]]
    rank = {m: i for i, m in enumerate(focus)}
    return fam.sort_values(["point", "metric name"], key=lambda c: c.map(lambda m: rank.get(m, len(rank)))
                           if c.name == "metric name" else c, kind="stable")


def about_rows(run: RunData) -> list[tuple[str, Any]]:
    """The "About" sheet: what the run is (its changes, never the base's description as if it
    still held), its question, how to read the numbers, then every setting it used."""
    question, _ = story(run.scenario)
    if question and run.changes:
        question = f"The question of {run.based_on}, asked of this run with its changes: {question}"
    rows: list[tuple[str, Any]] = [
        ("scenario", run.title),
        ("based on", run.based_on),
        ("changes", "; ".join(run.changes) if run.changes else "none: the scenario as its file gives it"),
        ("description", run.stated_description or "(the scenario has no description)"),
        ("question", question or "(the scenario states none)"),
        ("replications", run.replications),
        ("how to read", "Each row is a metric at one point of the run: the mean over replications after the "
                        "warm-up (per PCN) and its 95% confidence interval, kept within the metric's bounds (no "
                        "share above 100%, nothing below zero: an interval that crosses a bound is cut there, "
                        "and the raw t-interval is in the last columns). Shares are stored as fractions (0 to 1) "
                        "and shown as percentages. summary.csv holds the same numbers."),
        ("", ""),
        ("settings", "every parameter this run used (key: value, unit)"),
    ]
    sc = scenario_object(run)
    if sc is not None:
        from pcnsim.config import parameter_rows

        for r in parameter_rows(sc):
            if r["key"] in ("name", "description"):   # said above (a changed run's base description may be untrue)
                continue
            value = r["value"]
            text = json.dumps(value) if isinstance(value, (list, dict)) else value
            if isinstance(text, str) and len(text) > 300:
                text = text[:297] + "..."
            rows.append((r["key"], f"{text} {r.get('unit') or ''}".strip() if not isinstance(text, (int, float))
                         or isinstance(text, bool) else text))
    return rows


def _style(ws, frame: pd.DataFrame) -> None:
    """Number formats by unit, the header frozen, filters on, readable widths."""
    from openpyxl.styles import Font

    if frame.empty:
        return
    cols = list(frame.columns)
    value_idx = [cols.index(c) + 1 for c in VALUE_COLUMNS if c in cols]
    names = list(frame["metric name"])
    means = list(frame["mean"])
    for i, (m, mean) in enumerate(zip(names, means), start=2):
        fmt = number_format(m, mean)
        for j in value_idx:
            ws.cell(row=i, column=j).number_format = fmt
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for col in ws.columns:
        width = max(len(str(c.value if c.value is not None else "")) for c in col[:60])
        ws.column_dimensions[col[0].column_letter].width = min(50, max(10, width + 2))


def write_workbook(run: RunData) -> Path:
    """Write `<run folder>/summary.xlsx` (whole or not at all); return its path."""
    from openpyxl.styles import Alignment, Font

    _, focus = story(run.scenario)
    frame = workbook_frame(run)
    about = pd.DataFrame(about_rows(run), columns=["about this run", "value"])
    path = run.folder / "summary.xlsx"
    with atomic(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            frame.to_excel(xl, sheet_name="Summary", index=False)
            _style(xl.sheets["Summary"], frame)
            for family, sheet in FAMILY_SHEETS.items():
                part = _family_frame(frame, family, focus)
                if part.empty:
                    continue
                part.to_excel(xl, sheet_name=sheet, index=False)
                _style(xl.sheets[sheet], part)
            about.to_excel(xl, sheet_name="About", index=False)
            ws = xl.sheets["About"]
            ws.column_dimensions["A"].width = 40
            ws.column_dimensions["B"].width = 110
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for row in ws.iter_rows(min_row=2, max_row=10):
                row[1].alignment = Alignment(wrap_text=True, vertical="top")
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = ws.dimensions
    return path
