"""The knife-edge table (docs/model.md 8.3): how far waits and unmet demand move for a 5% error in
demand or a 10% error in GP time, from a run of the bundled `knife-edge` scenario.

The report reads run folders only, so the table its assumptions section shows is the run's own when
the run is the knife-edge sweep itself, else the package's copy, `knife_edge.json` beside this module,
written from such a run by `python -m pcnsim.cli.knife_edge` (which runs the scenario first when it is
given no run folder, and rewrites docs/model.md's table too). A metric the run lacks (an older model
without `booked_share.over_28_days`) is left out.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from pcnsim import metrics as catalogue

if TYPE_CHECKING:
    from pcnsim.experiment.folder import RunData

__all__ = ["SCENARIO", "METRICS", "PACKAGE_FILE", "table_from_run", "load_packaged", "knife_edge_view",
           "markdown_table"]

SCENARIO = "knife-edge"
#: What the table shows, in this order; those a run lacks are left out.
METRICS = ("wait_days_mean", "unmet_per_year", "booked_over_14_days_share", "booked_share.over_28_days")
#: The table's column heads.
HEADS = {"wait_days_mean": "mean wait (working days)", "unmet_per_year": "unmet (requests a year)",
         "booked_over_14_days_share": "over 14 days (% of appointments)",
         "booked_share.over_28_days": "over 28 days (% of appointments)"}
#: The swept inputs and their words in the table's first column.
INPUTS = {"demand.appointments_per_patient_year": "demand", "gps.wte_per_10k": "GP WTE"}
PACKAGE_FILE = Path(__file__).with_name("knife_edge.json")


def _number(x: Any) -> Optional[float]:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _change(values: dict[str, Any], reference: dict[str, Any]) -> str:
    """A point's inputs against the reference's, in words: "demand -5%", "GP WTE +10%", "baseline"."""
    out = []
    for key, word in INPUTS.items():
        v, r = _number(values.get(key)), _number(reference.get(key))
        if v is not None and r and abs(v - r) > 1e-12 * abs(r):
            out.append(f"{word} {100 * (v / r - 1):+.0f}%")
    return ", ".join(out) or "baseline"


def table_from_run(run: RunData) -> dict[str, Any]:
    """The table of a knife-edge run: per point, its change from the reference point and, per metric, the
    mean over replications and the paired difference from the reference with its 95% interval."""
    from pcnsim.experiment.differences import load_differences, reference_point

    summary = run.summary
    points = run.points
    ref = reference_point(run.scenario, points)
    shown = [m for m in METRICS if (summary["metric"] == m).any()]
    diffs = load_differences(run)
    rows = []
    for p in points:
        values = run.point_values(p)
        row: dict[str, Any] = {"point": p, "inputs": {k: values.get(k) for k in INPUTS},
                               "change": _change(values, run.point_values(ref)), "metrics": {}}
        for m in shown:
            s = summary[(summary["point"] == p) & (summary["metric"] == m)]
            cell: dict[str, Any] = {"mean": _number(s["mean"].iloc[0]) if len(s) else None}
            if p != ref and diffs is not None and len(diffs):
                d = diffs[(diffs["point"] == p) & (diffs["metric"] == m)]
                if len(d):
                    cell.update(difference=_number(d["difference"].iloc[0]), ci_low=_number(d["ci_low"].iloc[0]),
                                ci_high=_number(d["ci_high"].iloc[0]))
            row["metrics"][m] = cell
        rows.append(row)
    settings = run.run_settings
    return {"scenario": run.name, "replications": run.replications, "reference": ref,
            "horizon_weeks": settings.get("horizon_weeks"), "warmup_weeks": settings.get("warmup_weeks"),
            "pcnsim_version": run.manifest.get("pcnsim_version"), "git_commit": run.manifest.get("git_commit"),
            "written": run.manifest.get("finished"), "metrics": shown, "points": rows,
            "regenerate": "python -m pcnsim.cli.knife_edge"}


def load_packaged(path: Path = PACKAGE_FILE) -> Optional[dict[str, Any]]:
    """The package's table (`knife_edge.json`), or None if it is missing or unreadable."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return table if isinstance(table, dict) and table.get("points") else None


def _format(metric: str, x: Optional[float], signed: bool = False, unit: bool = True) -> str:
    """A value of the table: shares in % (a difference in percentage points), days to 2 places, counts whole."""
    if x is None:
        return "–"
    kind = catalogue.kind(metric)
    sign = "+" if signed and x > 0 else ""
    if kind == "share":
        return f"{sign}{100 * x:.1f}" + ((" pts" if signed else "%") if unit else "")
    if kind == "days":
        return f"{sign}{x:.2f}"
    return f"{sign}{x:,.0f}"


def _cells(table: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The table's header and rows as text: the mean, and for a changed point the paired difference and
    its 95% interval."""
    shown = list(table.get("metrics") or [])
    header = ["change (point)"] + [HEADS.get(m, f"{catalogue.label(m)} ({catalogue.unit(m)})") for m in shown]
    rows = []
    for row in table["points"]:
        out = [f"{row['change']} ({row['point']})"]
        for m in shown:
            c = row["metrics"].get(m, {})
            text = _format(m, c.get("mean"))
            if c.get("difference") is not None:
                text += (f" ({_format(m, c['difference'], True)}; {_format(m, c.get('ci_low'), True, False)} to "
                         f"{_format(m, c.get('ci_high'), True, False)})")
            out.append(text)
        rows.append(out)
    return header, rows


def source_line(table: dict[str, Any]) -> str:
    """Where the numbers come from: the scenario, replications, horizon and the command that regenerates them."""
    weeks = table.get("horizon_weeks")
    warm = table.get("warmup_weeks")
    years = f", {(weeks - warm) / 52:g} years measured after {warm} weeks of warm-up" if (
        isinstance(weeks, (int, float)) and isinstance(warm, (int, float))) else ""
    commit = f", code {str(table['git_commit'])[:10]}" if table.get("git_commit") else ""
    return (f"From `pcnsim run {table.get('scenario', SCENARIO)}`: {table.get('replications')} replications a "
            f"point{years}{commit}. Mean over replications; in brackets the paired difference from point "
            f"{table.get('reference', 0)} (common random numbers) and its 95% interval. Regenerate with "
            f"`{table.get('regenerate', 'python -m pcnsim.cli.knife_edge')}`.")


def markdown_table(table: dict[str, Any]) -> str:
    """The table as Markdown (docs/model.md 8.3), with its source line."""
    header, rows = _cells(table)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n\n" + source_line(table) + "\n"


def knife_edge_view(run: Optional[RunData] = None) -> Optional[dict[str, Any]]:
    """What the report's assumptions section shows: the run's own table when the run is the knife-edge
    sweep, else the package's; None when neither is there."""
    table, own = None, False
    if run is not None and run.name == SCENARIO and len(run.points) > 1:
        try:
            table, own = table_from_run(run), True
        except (KeyError, ValueError, IndexError):
            table = None
    if table is None:
        table = load_packaged()
    if table is None:
        return None
    header, rows = _cells(table)
    return {"header": header, "rows": rows, "source": source_line(table).replace("`", ""), "own": own}
