"""The HTML tables of the report page: all metrics of a point, headline metrics by sweep point,
national totals and the per-ICS table; and `esc`, the page's one way to put text in HTML."""
from __future__ import annotations

import html
import re
from typing import Any, Optional

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite
from pcnsim.report.formatting import (ci_decimals, estimate_cells, format_number,
                                      format_param, format_value, round_to_ci)
from pcnsim.report.national import AGGREGATE_TEXT, ICS_METRICS, National, comparison_cells, national_cells, \
    national_comparison, national_kind, national_sentences, published_figures
from pcnsim.experiment.folder import RunData, order_metrics

__all__ = ["esc", "metrics_table", "sweep_table", "national_section", "published_table", "ics_table", "MAX_TABLE_POINTS"]

MAX_TABLE_POINTS = 30     # a sweep table of key metrics by point, up to this many points
_URL = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)


def esc(text: Any) -> str:
    """HTML-escape text; web addresses lose their scheme so the page references nothing online."""
    return html.escape(_URL.sub("", str(text)), quote=True)


def metrics_table(run: RunData, point: Optional[int] = None) -> str:
    """Every metric of a point: mean, 95% CI (as summary.csv has it), unit and n."""
    s = run.point_summary(point)
    rows = []
    for m, r in s.iterrows():
        kind = catalogue.kind(m)
        dec = ci_decimals(r["mean"], r["ci_low"], r["ci_high"], kind)
        rd = lambda v: round_to_ci(v, r["mean"], r["ci_low"], r["ci_high"], kind) if finite(v) else v  # noqa: E731
        n = int(r["n"]) if finite(r.get("n")) else ""
        rows.append(f"<tr><td>{esc(catalogue.label(m))}<br><code>{esc(m)}</code></td>"
                    f"<td class=num>{esc(format_value(rd(r['mean']), kind, dec))}</td>"
                    f"<td class=num>{esc(format_value(rd(r['ci_low']), kind, dec))} to "
                    f"{esc(format_value(rd(r['ci_high']), kind, dec))}</td>"
                    f"<td>{esc(catalogue.unit(m))}</td><td class=num>{n}</td></tr>")
    return ("<table><thead><tr><th>metric</th><th>mean</th><th>95% CI</th><th>unit</th>"
            "<th>n</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def sweep_table(run: RunData) -> str:
    """The headline metrics at each sweep point (the first `MAX_TABLE_POINTS`)."""
    keys = run.swept_keys
    metrics = [m for m in catalogue.HEADLINE if m in set(run.summary["metric"])]
    if not metrics:
        return ""
    s = run.summary[run.summary["metric"].isin(metrics)]
    points = run.points
    shown = points[:MAX_TABLE_POINTS]
    from pcnsim.report.answers import parameter_label

    head = "".join(f"<th>{esc(parameter_label(k))}</th>" for k in keys) + "".join(
        f"<th>{esc(catalogue.label(m))}<br><small>{esc(catalogue.unit(m))}</small></th>" for m in metrics)
    body = []
    for p in shown:
        rows = s[s["point"] == p].set_index("metric")
        vals = run.point_values(p)
        cells = "".join(f"<td class=num>{esc(format_param(vals.get(k, '')))}</td>" for k in keys)
        for m in metrics:
            if m in rows.index:
                r = rows.loc[m]
                value, ci = estimate_cells(r["mean"], r["ci_low"], r["ci_high"], catalogue.kind(m), m)
                below = f"<br><small>{esc(ci)}</small>" if ci else ""
                cells += f"<td class=num>{esc(value)}{below}</td>"
            else:
                cells += "<td></td>"
        body.append(f"<tr><td class=num>{p}</td>{cells}</tr>")
    more = (f"<p class=note>The first {len(shown)} of {len(points)} points are shown; summary.csv "
            "holds them all.</p>" if len(points) > len(shown) else "")
    return ("<p class=note>Each cell: the mean and, below it, its 95% confidence interval.</p>"
            "<div class=wide><table class=points><thead><tr><th>point</th>" + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table></div>" + more)


def value_pm(mean: Any, lo: Any, hi: Any, kind: str, metric: Optional[str] = None) -> str:
    """HTML: a value and, below it, ± its CI half-width, both rounded to what the CI supports."""
    value, _ = estimate_cells(mean, lo, hi, kind, metric)
    if not (finite(lo) and finite(hi)):
        return esc(value)
    half = (float(hi) - float(lo)) / 2
    dec = ci_decimals(mean, lo, hi, kind)
    h = round_to_ci(half, mean, lo, hi, kind)
    if kind == "share":
        text = f"{h * 100:.1f} points"
    else:
        text = format_value(h, kind, dec)
    return f"{esc(value)}<br><small>± {esc(text)}</small>"


def national_section(run: RunData, nat: National) -> str:
    """The "National totals" section: sentences, a note on the intervals, a table of every metric."""
    if nat.table is None or nat.table.empty:
        why = f" ({nat.error})" if nat.error else ""
        return ("<p class=note>National totals could not be computed from this run" + esc(why)
                + ". Finish the run (<code>pcnsim run --out RUN_FOLDER --resume</code>) and redraw "
                "the report with <code>pcnsim report RUN_FOLDER</code>.</p>")
    reps = nat.replications
    if reps <= 1:
        ci_note = ("<p class=note><strong>One replication: there are no confidence intervals.</strong> "
                   "Each figure comes from one simulated run of each ICS, so it carries simulation "
                   "noise that this run cannot measure. Run with <code>--replications 5</code> (or more) to get "
                   "95% confidence intervals. Large counts and sums of money are shown to 4 "
                   "significant figures (national.csv has them in full).</p>")
    elif nat.method == "summary":
        ci_note = (f"<p class=note>Ranges are conservative 95% confidence intervals from summary.csv "
                   f"({reps} replications; the ICSs' half-widths added up, since results.parquet "
                   "was not available). Ratios of national totals have none.</p>")
    else:
        ci_note = (f"<p class=note>Ranges are 95% confidence intervals over {reps} whole national "
                   "replications (every ICS of a replication shares its random numbers, so the "
                   "national figure is computed replication by replication).</p>")
    sentences = "".join(f"<li>{esc(s)}</li>" for s in national_sentences(run, nat))
    t = nat.table.set_index("metric")
    rows = []
    for m in order_metrics(t.index):
        r = t.loc[m]
        kind = national_kind(m, r["aggregate"])
        value, ci = national_cells(r["value"], r["ci_low"], r["ci_high"], kind, m)
        if not ci:
            ci = ("none (1 replication)" if reps <= 1 else
                  "none (a ratio)" if r["aggregate"] == "ratio" else "n/a")
        unit = catalogue.unit(m)
        if r["aggregate"] == "mean":
            unit = f"{unit}, per PCN" if unit else "per PCN"
        elif r["aggregate"] == "total":
            unit = f"{unit}, all PCNs" if unit else "all PCNs"
        rows.append(f"<tr><td>{esc(catalogue.label(m))}<br><code>{esc(m)}</code></td>"
                    f"<td>{esc(AGGREGATE_TEXT.get(r['aggregate'], r['aggregate']))}<br>"
                    f"<code>{esc(r['aggregate'])}</code></td>"
                    f"<td class=num>{esc(value)}</td><td class=num>{esc(ci)}</td>"
                    f"<td>{esc(unit)}</td></tr>")
    table = ("<div class=wide><table><thead><tr><th>metric</th><th>how it is combined</th>"
             "<th>national value</th><th>95% CI</th><th>unit</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table></div>")
    return (f"<ul class=key>{sentences}</ul>{ci_note}{published_table(run, nat)}"
            "<p class=note>Counts (per year, backlogs, WTE) are totals over all PCNs; hours, waits "
            "and shares are means per PCN weighted by each ICS's PCNs; the share of demand met and "
            "the cost per appointment are ratios of national totals. The 90th percentile wait is "
            "the weighted mean of the ICSs' percentiles, not a national percentile. The same "
            "figures are in <code>national.csv</code> in the run folder.</p>" + table)


def published_table(run: RunData, nat: National) -> str:
    """The national figures beside the published ones the scenario names (`report.published`), if any."""
    published = published_figures(run)
    if not published:
        return ""
    rows = []
    for _, r in national_comparison(nat, published).iterrows():
        model, value, gap = comparison_cells(r)
        why = f"<br><small>{esc(r['note'])}</small>" if r["note"] else ""
        rows.append(f"<tr><td>{esc(r['label'])}<br><code>{esc(r['metric'])}</code></td>"
                    f"<td class=num>{esc(model)}</td><td class=num>{esc(value)}</td><td class=num>{esc(gap)}</td>"
                    f"<td>{esc(r['source'])}{why}</td></tr>")
    return ("<h3>Beside published figures</h3><div class=wide><table><thead><tr><th>figure</th><th>model</th>"
            "<th>published</th><th>gap</th><th>source, and why they may differ</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div><p class=note>Gap: the model's national figure over the "
            "published one, less 1. The figures and their sources are the scenario's "
            "<code>report.published</code>.</p>")


def ics_table(run: RunData, nat: National) -> str:
    """The "Per ICS" table: each ICS's `ICS_METRICS` per PCN, and the national figure per PCN."""
    have = set(run.summary["metric"])
    metrics = [m for m in ICS_METRICS if m in have]
    head = ("<th>ICS</th><th>PCNs</th>" + "".join(
        f"<th>{esc(catalogue.label(m))}<br><small>{esc(catalogue.unit(m))}</small></th>" for m in metrics))
    s = run.summary[run.summary["metric"].isin(metrics)]
    body = []
    for p in nat.points:
        rows = s[s["point"] == p].set_index("metric")
        cells = f"<td>{esc(nat.names[p])}</td><td class=num>{esc(format_number(nat.pcns[p], 0))}</td>"
        for m in metrics:
            if m not in rows.index:
                cells += "<td class=num>n/a</td>"
                continue
            r = rows.loc[m]
            cells += f"<td class=num>{value_pm(r['mean'], r['ci_low'], r['ci_high'], catalogue.kind(m), m)}</td>"
        body.append(f"<tr>{cells}</tr>")
    # the national row, per PCN: totals / PCNs; means and ratios as they are
    cells = (f"<td><strong>All {len(nat.points)} ICSs</strong></td>"
             f"<td class=num><strong>{esc(format_number(nat.total_pcns, 0))}</strong></td>")
    for m in metrics:
        r = nat.row(m)
        if r is None or not finite(r["value"]) or not nat.total_pcns:
            cells += "<td class=num>n/a</td>"
            continue
        per = nat.total_pcns if r["aggregate"] == "total" else 1.0
        text = value_pm(float(r["value"]) / per, float(r["ci_low"]) / per, float(r["ci_high"]) / per,
                        catalogue.kind(m), m)
        cells += f"<td class=num><strong>{text}</strong></td>"
    body.append(f"<tr>{cells}</tr>")
    ci = ("Below each value, ± the half-width of its 95% confidence interval."
          if (nat.replications or run.replications or 0) > 1
          else "One replication: no confidence intervals.")
    return ("<p class=note>Each value is per PCN: the mean over the ICS's PCNs and over "
            f"replications. {ci} The last row is the national figure per PCN. Every metric of every "
            "ICS is in summary.csv.</p><div class=wide><table><thead><tr>" + head
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
