"""Answers in plain language: the scenario's question, then what the numbers say about it.

Pure functions (frames and names in, sentences out), shared by the report page, `pcnsim
compare`, its compare.html and any other front end (the app):

- `story(scenario)`: the question and the focus metrics a scenario declares (`report:`),
  or the headline metrics when it declares none;
- `answer_sentences(summary, focus, names)`: each focus metric at each point, with its 95%
  CI, and whether the points differ by more than the noise;
- `compare_headline(df, focus, ...)`: the opening paragraph of a comparison of two runs.

"Within the noise" always means the same thing: the 95% confidence interval of the
difference includes zero.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite
from pcnsim.report.formatting import format_estimate, format_value, lower_first

__all__ = ["story", "answer_sentences", "compare_headline", "headline_metrics", "is_fixed", "is_identical",
           "all_identical",
           "format_difference", "parameter_label", "sobol_sentences"]

#: How many metrics a headline names at most (the focus first, then the headline metrics).
HEADLINE_SIZE = 6


def story(scenario: Optional[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """(question, focus metrics) of a scenario's `report:` key (a dict as in manifest.json or
    scenario.yaml); ("", the catalogue's headline metrics) when it has none."""
    report = (scenario or {}).get("report") if isinstance(scenario, Mapping) else None
    report = report if isinstance(report, Mapping) else {}
    question = " ".join(str(report.get("question") or "").split())
    focus = [str(m) for m in (report.get("focus") or ()) if isinstance(m, str)]
    return question, focus or list(catalogue.HEADLINE)


def headline_metrics(focus: Sequence[str], present: Sequence[str], size: int = HEADLINE_SIZE) -> list[str]:
    """The focus metrics present, then headline ones, at most `size` (focus ones all kept)."""
    have = set(present)
    chosen = [m for m in dict.fromkeys(focus) if m in have]
    for m in catalogue.HEADLINE:
        if len(chosen) >= max(size, len([f for f in focus if f in have])):
            break
        if m in have and m not in chosen:
            chosen.append(m)
    return chosen


def is_identical(row: Mapping[str, Any]) -> bool:
    """A metric with exactly the same value in both runs (no difference at all, not even noise):
    the same run compared with itself, or a change (costs, say) this metric does not depend on."""
    a, b, diff = row.get("mean_a"), row.get("mean_b"), row.get("difference")
    return finite(a) and finite(b) and float(a) == float(b) and (not finite(diff) or float(diff) == 0.0)


def all_identical(df: pd.DataFrame) -> bool:
    """Every metric of a comparison is identical in both runs (`is_identical`)."""
    return df is not None and not df.empty and all(is_identical(r) for r in df.to_dict("records"))


def is_fixed(row: Mapping[str, Any]) -> bool:
    """A difference with no noise at all (its CI is one number) that is not zero: set by the
    scenarios (funded posts, simulated PCNs), not a result. An identical value (`is_identical`)
    is no difference, not a fixed one."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    return finite(lo) and finite(hi) and float(lo) == float(hi) and not is_identical(row)


#: What a comparison says when every metric is identical in both runs.
NO_DIFFERENCE = ("No difference in any metric: {b} gives exactly the numbers of {a} (the same run, or a change "
                 "that none of the metrics depends on).")


def _unit_words(metric: str) -> str:
    unit = catalogue.unit(metric)
    return "" if unit in ("%", "") or unit.startswith("£") else f" {unit}"


def format_difference(diff: float, lo: float, hi: float, kind: str = "count") -> str:
    """A difference and its CI to the precision the CI supports (two significant figures of the
    half-width; three of the difference if the CI is degenerate); shares in percentage points."""
    scale, unit, prefix = (100.0, " points", "") if kind == "share" else (1.0, "", "")
    if kind == "money":
        prefix = "£"
    vals = [v * scale if finite(v) else math.nan for v in (diff, lo, hi)]
    half = (vals[2] - vals[1]) / 2 if finite(vals[1]) and finite(vals[2]) else math.nan
    ref, sig = (half, 2) if finite(half) and half > 0 else (abs(vals[0]), 3)
    decimals = 0 if not finite(ref) or ref == 0 else max(0, min(6, sig - 1 - math.floor(math.log10(ref))))

    def f(v: float) -> str:
        if not finite(v):
            return "n/a"
        text = f"{abs(v):,.{decimals}f}"
        sign = "-" if v < 0 and float(text.replace(",", "")) != 0 else ("+" if v > 0 else "")
        return f"{sign}{prefix}{text}"

    if not finite(half) or half == 0:
        return f"{f(vals[0])}{unit}"
    return f"{f(vals[0])}{unit} (95% CI {f(vals[1])} to {f(vals[2])}{unit})"


def _difference_sentence(r: Mapping[str, Any], name_a: str, name_b: str) -> str:
    m = r["metric"]
    kind = catalogue.kind(m)
    unit = _unit_words(m).strip()
    label = catalogue.label(m) + (f" ({unit})" if unit else "")
    a, b = format_value(r["mean_a"], kind), format_value(r["mean_b"], kind)
    diff = format_difference(r["difference"], r["ci_low"], r["ci_high"], kind)
    if not (finite(r.get("ci_low")) and finite(r.get("ci_high"))):
        return f"{label}: {b} in {name_b} against {a} in {name_a} (one replication: no interval)."
    if r.get("distinguishable"):
        word = "higher" if r["difference"] > 0 else "lower"
        return f"{label}: {b} in {name_b} against {a} in {name_a}, {word} by {diff.lstrip('+-')}."
    return f"{label}: {b} in {name_b} against {a} in {name_a}; the difference, {diff}, is within the noise."


def compare_headline(df: pd.DataFrame, focus: Sequence[str] = (), question: str = "",
                     name_a: str = "A", name_b: str = "B") -> list[str]:
    """The opening of a comparison, B against A, as a short list of sentences.

    `df` is `compare_runs`' frame (one pair of points is read: the first); `focus` the
    metrics that answer `question` (the scenario's `report:`). The first sentence is the
    question (when there is one), the second the short answer (which focus and headline
    metrics differ by more than the noise), then one sentence per metric with both values
    and the difference with its 95% CI. Pure: no I/O."""
    out: list[str] = []
    if question:
        out.append(question if question.endswith("?") else question + "?")
    if df is None or df.empty:
        return out + ["The two runs have no metric in common to compare."]
    if all_identical(df):
        return out + [NO_DIFFERENCE.format(a=name_a, b=name_b)]
    first = df[(df["point_a"] == df["point_a"].iloc[0]) & (df["point_b"] == df["point_b"].iloc[0])]
    rows = {r["metric"]: r for r in first.to_dict("records")}
    chosen = [m for m in headline_metrics(focus or catalogue.HEADLINE, list(rows)) if not is_fixed(rows[m])]
    if not chosen:
        return out + ["None of the headline metrics is in both runs; see the full table."]
    differ = [m for m in chosen if rows[m].get("distinguishable")]
    same = [m for m in chosen if not rows[m].get("distinguishable")]
    if differ:
        said = [f"{lower_first(catalogue.label(m))} {'rose' if rows[m]['difference'] > 0 else 'fell'}"
                for m in differ]
        text = f"In short: from {name_a} to {name_b}, " + _join(said)
        if same:
            text += f"; {_join([lower_first(catalogue.label(m)) for m in same])} did not change by more than the noise"
        out.append(text + ".")
    elif all(is_identical(rows[m]) for m in chosen):
        out.append(f"In short: {_join([lower_first(catalogue.label(m)) for m in chosen])} "
                   f"{'is' if len(chosen) == 1 else 'are'} exactly the same in {name_a} and {name_b} (no "
                   "difference at all); what differs is in the full table.")
    else:
        out.append(f"In short: none of {_join([lower_first(catalogue.label(m)) for m in chosen])} "
                   f"differs between {name_a} and {name_b} by more than the noise (every 95% "
                   "confidence interval of the difference includes zero).")
    out.extend(_difference_sentence(rows[m], name_a, name_b) for m in chosen)
    return out


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def answer_sentences(summary: pd.DataFrame, focus: Sequence[str],
                     names: Optional[Mapping[int, str]] = None) -> list[str]:
    """Each focus metric in a sentence: its value with a 95% CI (one point), or its value at
    each point (a sweep of up to 6 points) or its range across the points, and whether the
    points differ by more than the noise (their intervals do not overlap).

    `summary`: summary.csv's rows (point, metric, mean, ci_low, ci_high); `names`: a short
    name for each point ("point 1: ics.representation = forum"). Metrics the run lacks are
    named in one closing sentence. Pure: no I/O."""
    out: list[str] = []
    missing = []
    points = sorted(int(p) for p in summary["point"].unique()) if len(summary) else []
    names = dict(names or {})
    for m in dict.fromkeys(focus):
        rows = summary[summary["metric"] == m].sort_values("point")
        if rows.empty:
            missing.append(m)
            continue
        kind = catalogue.kind(m)
        label = catalogue.label(m)
        unit = _unit_words(m)
        est = {int(r["point"]): format_estimate(r["mean"], r["ci_low"], r["ci_high"], kind, m)
               for _, r in rows.iterrows()}
        if len(points) <= 1:
            out.append(f"{label}: {next(iter(est.values()))}{unit}.")
            continue
        if len(rows) <= 6:
            parts = [f"{est[p]} at {names.get(p, f'point {p}')}" for p in est]
            out.append(f"{label}{unit and ' (' + unit.strip() + ')'}: " + "; ".join(parts) + "."
                       + _overlap_words(rows))
            continue
        lo, hi = rows.loc[rows["mean"].idxmin()], rows.loc[rows["mean"].idxmax()]
        out.append(f"{label} ranges from {format_value(lo['mean'], kind)} at "
                   f"{names.get(int(lo['point']), 'point ' + str(int(lo['point'])))} to "
                   f"{format_value(hi['mean'], kind)}{unit} at "
                   f"{names.get(int(hi['point']), 'point ' + str(int(hi['point'])))}." + _overlap_words(rows))
    if missing:
        out.append("Not in this run's results: " + _join([lower_first(catalogue.label(m)) for m in missing])
                   + " (the model version that ran it does not write "
                   + ("it" if len(missing) == 1 else "them") + ").")
    return out


def _overlap_words(rows: pd.DataFrame) -> str:
    """" The highest and lowest points differ by more than the noise." or the opposite."""
    if len(rows) < 2 or not (rows["ci_low"].notna().all() and rows["ci_high"].notna().all()):
        return ""
    lo, hi = rows.loc[rows["mean"].idxmin()], rows.loc[rows["mean"].idxmax()]
    if lo["mean"] == hi["mean"]:
        return " The same at every point."
    if float(lo["ci_high"]) < float(hi["ci_low"]):
        return " The highest and the lowest differ by more than the noise."
    return " The points do not differ by more than the noise (their 95% intervals overlap)."


_PARAMETER_LABELS: dict[str, str] = {}


def parameter_label(key: str) -> str:
    """A parameter in words, from its description in `pcnsim.config` ("funding.arrs_per_patient"
    -> "ARRS budget"); the dotted key itself when it has no description."""
    if not _PARAMETER_LABELS:
        from pcnsim.config import parameter_rows

        for row in parameter_rows():
            text = str(row.get("description") or "").strip()
            if text:
                _PARAMETER_LABELS[row["key"]] = text[0].upper() + text[1:]
    return _PARAMETER_LABELS.get(key, key)


def sobol_sentences(sensitivity: pd.DataFrame, metrics: Sequence[str], k: int = 3) -> list[str]:
    """What drives each metric, from sensitivity.csv: its top `k` levers by total Sobol index
    (shown within [0, 1], with the 95% interval), and how much of the variation is replication
    noise. One sentence per metric present. Pure: no I/O."""
    from pcnsim.analysis import top_levers

    out = []
    for m in metrics:
        rows = top_levers(sensitivity, m, k)
        if rows.empty:
            continue
        parts = [f"{parameter_label(r['parameter'])} {r['ST']:.2f} ({r['ST_low']:.2f} to {r['ST_high']:.2f})"
                 for _, r in rows.iterrows()]
        noise = sensitivity.loc[sensitivity["metric"] == m, "noise_share"]
        noise_text = ""
        if len(noise) and finite(noise.iloc[0]):
            share = float(noise.iloc[0])
            noise_text = (f"; replication noise is {share:.0%} of the variation"
                          + (" (too much to trust the indices: add replications)" if share > 0.3 else ""))
        out.append(f"{catalogue.label(m)}: " + "; ".join(parts) + noise_text + ".")
    return out
