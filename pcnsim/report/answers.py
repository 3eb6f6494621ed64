"""Answers in plain language: the scenario's question, then what the numbers say about it.

Pure functions (frames and names in, sentences out), shared by the report page, `pcnsim
compare`, its compare.html and any other front end (the app):

- `story(scenario)`: the question and the focus metrics a scenario declares (`report:`),
  or the headline metrics when it declares none;
- `answer_sentences(summary, focus, names, differences)`: each focus metric at each point,
  with its 95% CI, and what each point changes against the reference point, paired
  replication by replication (differences.csv), with the drivers that moved;
- `spread_sentences(summary, ...)`: how much late tasks and time on the role vary between CDs;
- `compare_headline(df, focus, ...)`: the opening paragraph of a comparison of two runs.

A bound, not a shrug: a change is said either as a direction and size with its 95% interval
("12 points lower (4.1 to 20)") when the interval excludes zero, or as the bound the run puts
on it ("any effect is smaller than ±8.2 points"), the interval's half-width; never as a bare
"no difference".
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite
from pcnsim.report.formatting import estimate_cells, format_estimate, format_value, lower_first

__all__ = ["story", "answer_sentences", "compare_headline", "headline_metrics", "is_fixed", "is_identical",
           "all_identical",
           "format_difference", "parameter_label", "sobol_sentences"]

#: How many metrics a headline names at most (the focus first, then the headline metrics).
HEADLINE_SIZE = 6


#: The whole answer, family by family: what "In short" says for a family the focus list leaves
#: out (delivery, leadership time, retention and money are always answered).
FAMILY_DEFAULTS: dict[str, tuple[str, ...]] = {
    "delivery": ("appointments_per_year", "unmet_per_year"),
    "leadership": ("cd_overtime_hours_per_week", "leadership_tasks_overdue_share"),
    "retention": ("cd_resignations_per_year", "arrs_vacancy_rate"),
    "money": ("spend_per_year", "cost_per_appointment"),
}
FAMILY_WORDS = {"delivery": "Delivery", "leadership": "Leadership time", "retention": "Retention",
                "money": "Money"}
#: The focus of a scenario that declares none: the headline metrics, then money.
DEFAULT_FOCUS: tuple[str, ...] = tuple(dict.fromkeys((*catalogue.HEADLINE, "spend_per_year",
                                                      "cost_per_appointment")))


def story(scenario: Optional[Mapping[str, Any]]) -> tuple[str, list[str]]:
    """(question, focus metrics) of a scenario's `report:` key (a dict as in manifest.json or
    scenario.yaml); ("", `DEFAULT_FOCUS`: delivery, leadership time, retention and money) when
    it has none."""
    report = (scenario or {}).get("report") if isinstance(scenario, Mapping) else None
    report = report if isinstance(report, Mapping) else {}
    question = " ".join(str(report.get("question") or "").split())
    focus = [str(m) for m in (report.get("focus") or ()) if isinstance(m, str)]
    return question, focus or list(DEFAULT_FOCUS)


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


def _difference_sentence(r: Mapping[str, Any], name_a: str, name_b: str,
                         rows: Optional[Mapping[str, Mapping[str, Any]]] = None) -> str:
    """One metric of a comparison: both values, then the change with its interval and the
    drivers that moved (`moved_drivers`), or the bound on it (`change_words`). `rows`: every
    metric's row of the same pair of points, for the drivers."""
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
        through = moved_drivers(m, float(r["difference"]), lambda d: rows.get(d)) if rows is not None else ""
        return f"{label}: {b} in {name_b} against {a} in {name_a}, {word} by {diff.lstrip('+-')}{through}."
    return (f"{label}: {b} in {name_b} against {a} in {name_a}; the difference, {diff}, is too small for this "
            f"run to show: any effect is {_bound_words(m, r)[1:-1]}.")


def answer_metrics(focus: Sequence[str], present: Sequence[str], size: int = 10) -> list[str]:
    """The metrics of the whole answer: the focus and headline ones (`headline_metrics`), then,
    for any of delivery, leadership time, retention and money still missing, its defaults
    (`FAMILY_DEFAULTS`) that are present."""
    chosen = headline_metrics(focus, present, size)
    have = set(present)
    for fam, names in FAMILY_DEFAULTS.items():
        if not any(_family(m) == fam for m in chosen):
            chosen.extend(m for m in names if m in have and m not in chosen)
    return chosen


def _family(metric: str) -> str:
    m = catalogue.lookup(metric)
    return m.family if m is not None else "delivery"


def in_short(rows: Mapping[str, Mapping[str, Any]], focus: Sequence[str], name_a: str = "A", name_b: str = "B",
             exposure: Optional[tuple[float, float]] = None) -> str:
    """"In short": the whole answer, one plain sentence for each of delivery, leadership time,
    retention and money (the focus metrics of the family, else `FAMILY_DEFAULTS`), each metric
    as rose / fell by how much, no clear change (with the bound on it), identical in both runs
    (shared random numbers), or, for a rare count, its rate in words with the events behind it.
    `rows`: {metric: comparison row}; `exposure`: PCN-years a replication of A and of B (for
    the counts of rare events). "" when no family has a metric in `rows`."""
    sentences = []
    for fam, words in FAMILY_WORDS.items():
        chosen = [m for m in dict.fromkeys(focus) if m in rows and _family(m) == fam]
        chosen = chosen or [m for m in FAMILY_DEFAULTS[fam] if m in rows]
        chosen = [m for m in chosen if not is_fixed(rows[m])]
        if not chosen:
            continue
        parts = [_short_phrase(m, rows[m], name_a, name_b, exposure) for m in chosen]
        sentences.append(f"{words}: " + _join(parts) + ".")
    if not sentences:
        return ""
    return f"In short, from {name_a} to {name_b}: " + " ".join(sentences)


def _short_phrase(m: str, r: Mapping[str, Any], name_a: str, name_b: str,
                  exposure: Optional[tuple[float, float]]) -> str:
    label = lower_first(catalogue.label(m))
    rare = m.partition(".")[0] in catalogue.RARE
    ea = event_count(r.get("mean_a"), r.get("n_a"), exposure[0]) if exposure and rare else None
    eb = event_count(r.get("mean_b"), r.get("n_b"), exposure[1]) if exposure and rare else None
    if is_identical(r):
        if rare:
            text = f"{label} {rate_words(r.get('mean_a'))} in both runs"
            if ea is not None:
                text += f" ({_count_word(ea)} events each, identical in both runs: shared random numbers)"
                return text + (", too few events to tell" if ea + (eb or 0) < FEW_EVENTS else "")
            return text + " (identical in both runs: shared random numbers)"
        return f"{label} identical in both runs (shared random numbers)"
    if rare:
        text = f"{label} {rate_words(r.get('mean_a'))} in {name_a} and {rate_words(r.get('mean_b'))} in {name_b}"
        if ea is not None and eb is not None:
            text += f" ({_count_word(ea)} and {_count_word(eb)} events)"
            if ea + eb < FEW_EVENTS and not r.get("distinguishable"):
                return text + ", too few events to tell"
        if not r.get("distinguishable"):
            return text + f", no clear change {_bound_words(m, r)}"
        return text
    if r.get("distinguishable"):
        word = "rose" if r["difference"] > 0 else "fell"
        return f"{label} {word} by {signed_change(m, r).lstrip('+-')}"
    return f"no clear change in {label} {_bound_words(m, r)}"


def compare_headline(df: pd.DataFrame, focus: Sequence[str] = (), question: str = "",
                     name_a: str = "A", name_b: str = "B",
                     exposure: Optional[tuple[float, float]] = None) -> list[str]:
    """The opening of a comparison, B against A, as a short list of sentences.

    `df` is `compare_runs`' frame (one pair of points is read: the first); `focus` the
    metrics that answer `question` (the scenario's `report:`). The first sentence is the
    question (when there is one), the second the short answer (which focus and headline
    metrics rose or fell, and the bound on any change in the others), then one sentence per
    metric with both values and the difference with its 95% CI, and the drivers that moved
    with a clear change or the bound on an unclear one. Pure: no I/O."""
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
    short = in_short(rows, focus or DEFAULT_FOCUS, name_a, name_b, exposure)
    if short:
        out.append(short)
        out.extend(_difference_sentence(rows[m], name_a, name_b, rows) for m in chosen)
        return out
    differ = [m for m in chosen if rows[m].get("distinguishable")]
    same = [m for m in chosen if not rows[m].get("distinguishable")]
    bounds = [f"{lower_first(catalogue.label(m))} {_bound_words(m, rows[m])}" for m in same]
    if differ:
        said = [f"{lower_first(catalogue.label(m))} {'rose' if rows[m]['difference'] > 0 else 'fell'}"
                for m in differ]
        text = f"In short: from {name_a} to {name_b}, " + _join(said)
        if same:
            text += "; any change in " + _join(bounds) + " is too small for this run to show"
        out.append(text + ".")
    elif all(is_identical(rows[m]) for m in chosen):
        out.append(f"In short: {_join([lower_first(catalogue.label(m)) for m in chosen])} "
                   f"{'is' if len(chosen) == 1 else 'are'} exactly the same in {name_a} and {name_b} (no "
                   "difference at all); what differs is in the full table.")
    else:
        out.append(f"In short: none of {_join([lower_first(catalogue.label(m)) for m in chosen])} "
                   f"differs clearly between {name_a} and {name_b} (every 95% confidence interval of the "
                   "difference includes zero): any change in " + _join(bounds) + " is too small for this "
                   "run to show.")
    out.extend(_difference_sentence(rows[m], name_a, name_b, rows) for m in chosen)
    return out


def _bound_words(metric: str, row: Mapping[str, Any]) -> str:
    """"(smaller than ±1.4 hours a week)": the bound a comparison puts on an unclear change."""
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if not (finite(lo) and finite(hi)):
        return "(no interval: one replication)"
    prefix, unit, scale = _size_unit(metric)
    b = max(abs(float(lo)), abs(float(hi))) * scale
    dec = _decimals((float(hi) - float(lo)) * scale / 2)
    return f"(smaller than ±{_number(b, dec, prefix)}{' ' + unit if unit else ''})"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def answer_sentences(summary: pd.DataFrame, focus: Sequence[str],
                     names: Optional[Mapping[int, str]] = None,
                     differences: Optional[pd.DataFrame] = None, pcns: int = 1,
                     years: Optional[float] = None) -> list[str]:
    """Each focus metric in a sentence: its value with a 95% CI (one point), or its value at
    each point (a sweep of up to 6 points) or its range across the points; then, for a sweep,
    what each point changes against the reference point, paired replication by replication.

    `summary`: summary.csv's rows (point, metric, mean, ci_low, ci_high, and p10, p90 when
    it has them); `names`: a short name for each point ("extra_protected_sessions 2");
    `differences`: differences.csv's rows (`pcnsim.analysis.point_differences`; None: the
    points are compared from `summary` with Welch's interval; empty: not compared). A change is either a
    direction and size with its interval ("12 points lower (4.1 to 20)"), naming the
    metric's drivers that moved too (`pcnsim.metrics.drivers`), or a bound ("any effect is
    smaller than ±0.03 a year"): never a bare "no difference". Then, for late tasks and time
    on the role, the spread between CDs (`spread_sentences`; `pcns` PCNs a replication).
    Metrics the run lacks are named in one closing sentence. `years`: the years measured in a
    replication; with it, a rare count is said in words with its count (`rare_words`: "about one
    in seven years (3 resignations in 20 PCN-years simulated)"). Pure: no I/O."""
    out: list[str] = []
    missing = []
    points = sorted(int(p) for p in summary["point"].unique()) if len(summary) else []
    names = dict(names or {})
    diffs = _differences_by(summary, differences, points)
    if len(points) == 1:
        short = run_in_short(summary, focus, years * max(1, pcns) if years else None)
        if short:
            out.append(short)
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
            if m.partition(".")[0] in catalogue.RARE and years:
                r = rows.iloc[0]
                out.append(f"{label}: " + rare_words(m, r["mean"], r.get("n"), years * max(1, pcns),
                                                      r.get("ci_low"), r.get("ci_high")) + ".")
                continue
            out.append(f"{label}: {next(iter(est.values()))}{unit}.")
            continue
        changes = change_sentence(m, diffs, names, summary)
        if len(rows) <= 6:
            parts = [f"{est[p]} at {names.get(p, f'point {p}')}" for p in est]
            out.append(f"{label}{unit and ' (' + unit.strip() + ')'}: " + "; ".join(parts) + "."
                       + (" " + changes if changes else ""))
            continue
        lo, hi = rows.loc[rows["mean"].idxmin()], rows.loc[rows["mean"].idxmax()]
        if lo["mean"] == hi["mean"]:
            out.append(f"{label}: {format_value(lo['mean'], kind)}{unit} at every point."
                       + (" " + changes if changes else ""))
            continue
        out.append(f"{label} ranges from {format_value(lo['mean'], kind)} at "
                   f"{names.get(int(lo['point']), 'point ' + str(int(lo['point'])))} to "
                   f"{format_value(hi['mean'], kind)}{unit} at "
                   f"{names.get(int(hi['point']), 'point ' + str(int(hi['point'])))}."
                   + (" " + changes if changes else ""))
    out.extend(spread_sentences(summary, names, pcns=pcns,
                                reference=_reference_of(diffs, points)))
    if missing:
        out.append("Not in this run's results: " + _join([lower_first(catalogue.label(m)) for m in missing])
                   + " (the model version that ran it does not write "
                   + ("it" if len(missing) == 1 else "them") + ").")
    return out


#: Metrics whose spread between CDs the answer states (issue 25: late tasks and time on the
#: role vary from 8% to 100% and from 5 to 30 hours a week across CDs).
SPREAD_METRICS = ("leadership_tasks_overdue_share", "cd_role_hours_per_week")
#: At most this many points are set side by side in a sentence (more: a summary of them).
MAX_SENTENCE_POINTS = 6


def _differences_by(summary: pd.DataFrame, differences: Optional[pd.DataFrame],
                    points: Sequence[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """{(point, metric): a row of differences} from `differences`, or, when it is None, from
    `summary` (Welch's interval against the first point). An empty `differences` (a run whose
    points are not options to compare: `pcnsim.experiment.differences.load_differences`)
    compares none."""
    if differences is None and len(points) > 1 and {"std", "n"} <= set(summary.columns):
        from pcnsim.analysis import point_differences

        differences = point_differences(None, points[0], summary=summary)
    if differences is None or differences.empty:
        return {}
    return {(int(r["point"]), str(r["metric"])): r for r in differences.to_dict("records")}


def _reference_of(diffs: Mapping[tuple[int, str], Mapping[str, Any]], points: Sequence[int]) -> Optional[int]:
    for row in diffs.values():
        if finite(row.get("reference")):
            return int(row["reference"])
    return points[0] if points else None


def _size_unit(metric: str) -> tuple[str, str, float]:
    """(prefix, unit words, scale) in which a change of `metric` is said: shares in percentage
    points, money in pounds, scores bare, the rest in the catalogue's unit."""
    kind = catalogue.kind(metric)
    unit = catalogue.unit(metric)
    if kind == "share":
        return "", "points", 100.0
    if kind == "money":
        return "£", unit.removeprefix("£").strip(), 1.0
    if kind == "score":
        return "", "", 1.0
    return "", unit, 1.0


def _decimals(ref: float) -> int:
    """Decimals (negative: rounded to tens, hundreds) that show two significant figures of `ref`."""
    if not finite(ref) or ref == 0:
        return 0
    return min(6, 1 - math.floor(math.log10(abs(ref))))


def _number(v: float, decimals: int, prefix: str = "", signed: bool = False) -> str:
    r = round(abs(v), decimals)
    text = f"{r:,.{max(0, decimals)}f}"
    sign = ("-" if v < 0 else "+") if signed and r != 0 else ""
    return f"{sign}{prefix}{text}"


def signed_change(metric: str, row: Mapping[str, Any]) -> str:
    """A paired change with its sign and unit, for a driver named in passing: "+1.2 hours a week"."""
    prefix, unit, scale = _size_unit(metric)
    d = float(row["difference"]) * scale if finite(row.get("difference")) else math.nan
    return _number(d, _decimals(d), prefix, signed=True) + (f" {unit}" if unit else "")


def change_words(metric: str, row: Mapping[str, Any], bound: Optional[float] = None) -> str:
    """A paired change in words, B against the reference: "12 points lower (4.1 to 20)" when
    its 95% interval excludes zero, else "any effect is smaller than ±8.2 points": the bound
    the run puts on the change, the end of the interval farthest from zero (about its
    half-width when the estimate is near zero; the estimate and interval are added when it
    leans one way). "The same in every
    replication" when every pair is equal; `bound`, when given, replaces a degenerate zero
    interval (a rare count no pair of replications differs in: see `change_sentence`)."""
    prefix, unit, scale = _size_unit(metric)
    u = f" {unit}" if unit else ""
    d, lo, hi = (float(row[k]) * scale if finite(row.get(k)) else math.nan
                 for k in ("difference", "ci_low", "ci_high"))
    if not finite(d):
        return "not estimated"
    if not (finite(lo) and finite(hi)):
        return f"{_number(d, _decimals(d), prefix, signed=True)}{u} (one replication: no interval)"
    half = (hi - lo) / 2
    if half == 0:
        if d == 0:
            if bound is not None and finite(bound) and bound > 0:
                b = bound * scale
                return (f"any effect is smaller than ±{_number(b, _decimals(b), prefix)}{u} (no replication "
                        "differed; the bound is from each point's exact interval)")
            return "the same in every replication"
        word = "higher" if d > 0 else "lower"
        return f"{_number(d, _decimals(d), prefix)}{u} {word} in every replication"
    dec = _decimals(half)
    if lo > 0 or hi < 0:
        word = "higher" if d > 0 else "lower"
        near, far = sorted((abs(lo), abs(hi)))
        return (f"{_number(d, dec, prefix)}{u} {word} ({_number(near, dec, prefix)} to "
                f"{_number(far, dec, prefix)})")
    bound = max(abs(lo), abs(hi))
    text = f"any effect is smaller than ±{_number(bound, dec, prefix)}{u}"
    if abs(d) >= half / 4:     # the estimate leans one way: show it, and the interval the bound comes from
        text += (f" (estimate {_number(d, dec, prefix, signed=True)}, 95% CI {_number(lo, dec, prefix, signed=True)} "
                 f"to {_number(hi, dec, prefix, signed=True)})")
    return text


def excludes_zero(row: Optional[Mapping[str, Any]]) -> bool:
    """Whether a difference's 95% interval excludes zero (a degenerate interval away from zero too)."""
    if row is None:
        return False
    lo, hi = row.get("ci_low"), row.get("ci_high")
    return finite(lo) and finite(hi) and (float(lo) > 0 or float(hi) < 0)


def moved_drivers(metric: str, change: float, get: Any) -> str:
    """", through CD unpaid overtime (-3.6 hours a week); partly offset by ...": the metric's
    drivers (`pcnsim.metrics.drivers`) whose own difference excludes zero, each with its
    change: first those that moved the way that explains `change` (the metric's difference),
    then those that pushed against it. "" when none moved (or none is known). `get(name)`
    returns a driver's difference row or None; a suffixed driver falls back to its plain name."""
    along, against = [], []
    for d, sign in catalogue.drivers(metric):
        row = get(d)
        if row is None and "." in d:
            d = d.partition(".")[0]
            row = get(d)
        if not excludes_zero(row) or not finite(change) or change == 0:
            continue
        said = f"{lower_first(catalogue.label(d))} ({signed_change(d, row)})"
        (along if (float(row["difference"]) * sign > 0) == (change > 0) else against).append(said)
    text = f", through {_join(along)}" if along else ""
    if against:
        text += f"{';' if along else ','} partly offset by {_join(against)}"
    return text


def _rare_bound(metric: str, point: int, reference: int, summary: pd.DataFrame) -> Optional[float]:
    """The largest change two points' exact (Poisson) intervals of a rare count allow."""
    rows = summary[summary["metric"] == metric].set_index("point")
    if point not in rows.index or reference not in rows.index:
        return None
    a, b = rows.loc[reference], rows.loc[point]
    vals = [a.get("ci_low"), a.get("ci_high"), b.get("ci_low"), b.get("ci_high")]
    if not all(finite(v) for v in vals):
        return None
    return max(float(b["ci_high"]) - float(a["ci_low"]), float(a["ci_high"]) - float(b["ci_low"]))


def change_sentence(metric: str, diffs: Mapping[tuple[int, str], Mapping[str, Any]],
                    names: Mapping[int, str], summary: Optional[pd.DataFrame] = None) -> str:
    """What each point changes in `metric` against the reference point, in one sentence.

    Up to `MAX_SENTENCE_POINTS` points: each named with its change (`change_words`) and, when
    the change is clear, the drivers that moved with it (`moved_drivers`). More points: how
    many show a clear change, the largest of them, and the bound on the others. "" without
    differences."""
    rows = sorted((p, r) for (p, m), r in diffs.items() if m == metric)
    if not rows:
        return ""
    ref = int(rows[0][1]["reference"]) if finite(rows[0][1].get("reference")) else None
    ref_name = names.get(ref, f"point {ref}") if ref is not None else "the first point"
    paired = all(str(r.get("method", "")).startswith("paired") for _, r in rows)
    n = max(int(r["n"]) for _, r in rows if finite(r.get("n"))) if any(finite(r.get("n")) for _, r in rows) else 0
    how = (f"replication by replication ({n} replications, common random numbers)" if paired
           else f"as independent samples ({n} replications each)")
    rare = metric.partition(".")[0] in catalogue.RARE

    def phrase(p: int, r: Mapping[str, Any]) -> str:
        bound = _rare_bound(metric, p, ref, summary) if rare and summary is not None and ref is not None else None
        words = change_words(metric, r, bound)
        if excludes_zero(r):
            words += moved_drivers(metric, float(r["difference"]), lambda d: diffs.get((p, d)))
        return words

    if len(rows) + 1 <= MAX_SENTENCE_POINTS:
        parts = [f"at {names.get(p, f'point {p}')}: {phrase(p, r)}" for p, r in rows]
        return f"Against {ref_name}, {how}: " + "; ".join(parts) + "."
    clear = [(p, r) for p, r in rows if excludes_zero(r)]
    others = [(p, r) for p, r in rows if not excludes_zero(r)]
    text = f"Against {ref_name}, {how}: "
    if clear:
        p, r = max(clear, key=lambda pr: abs(float(pr[1]["difference"])))
        text += (f"{len(clear)} of {len(rows)} points differ clearly; the largest change is at "
                 f"{names.get(p, f'point {p}')}: {phrase(p, r)}")
    else:
        text += f"none of the {len(rows)} points differs clearly"
    bounds = []
    for p, r in others:
        lo, hi = r.get("ci_low"), r.get("ci_high")
        if not (finite(lo) and finite(hi)):
            continue
        b = max(abs(float(lo)), abs(float(hi)))
        if b == 0 and rare and summary is not None and ref is not None:
            b = _rare_bound(metric, p, ref, summary) or 0.0   # no pair differed: the exact intervals bound it
        bounds.append(b)
    if bounds:
        where = (f"the other {len(others)} point{'s' if len(others) > 1 else ''}" if clear else
                 f"{'each of them' if len(others) > 1 else 'it'}")
        widest = max(bounds)
        if widest == 0:
            text += f"; {where} {'are' if clear and len(others) > 1 else 'is'} the same in every replication"
        else:
            prefix, unit, scale = _size_unit(metric)
            b = widest * scale
            text += (f"; at {where} any effect is smaller than ±{_number(b, _decimals(b), prefix)}"
                     f"{' ' + unit if unit else ''}")
    return text + "."


def spread_sentences(summary: pd.DataFrame, names: Optional[Mapping[int, str]] = None,
                     metrics: Sequence[str] = SPREAD_METRICS, pcns: int = 1,
                     reference: Optional[int] = None) -> list[str]:
    """How much `metrics` vary between CDs: the 10th and 90th percentiles of the replications
    (summary.csv's p10 and p90), at each point of a sweep of up to `MAX_SENTENCE_POINTS` points
    (else at the reference point). With one PCN each replication is one simulated CD; with
    several, the mean of the ICS's CDs, and single CDs vary more. The spread explains a wide
    interval of the mean: more replications narrow the interval, not the spread. Pure."""
    if summary is None or summary.empty or not {"p10", "p90"} <= set(summary.columns):
        return []
    names = dict(names or {})
    points = sorted(int(p) for p in summary["point"].unique())
    if len(points) > MAX_SENTENCE_POINTS:
        points = [reference if reference in points else points[0]]
    who = ("across replications (one PCN and its CD each)" if pcns <= 1 else
           f"across replications (each the mean of {pcns} PCNs' CDs; single CDs vary more)")
    out = []
    for m in metrics:
        rows = summary[(summary["metric"] == m) & summary["point"].isin(points)].sort_values("point")
        rows = rows[[finite(a) and finite(b) for a, b in zip(rows["p10"], rows["p90"])]]
        if rows.empty or int(rows["n"].max() if "n" in rows else 0) < 3:
            continue
        kind = catalogue.kind(m)
        unit = _unit_words(m)
        where = lambda p: "" if len(summary["point"].unique()) <= 1 else f" at {names.get(p, f'point {p}')}"  # noqa: E731
        parts = [f"{format_value(r['p10'], kind)} and {format_value(r['p90'], kind)}{unit}{where(int(r['point']))}"
                 for _, r in rows.iterrows()]
        if pcns <= 1:
            out.append(f"Spread between CDs of {lower_first(catalogue.label(m))}: {who}, the middle 80% lie "
                       "between " + "; ".join(parts) + ". That spread between CDs, not imprecision, is what "
                       "widens the interval of the mean: more replications narrow the interval, not the spread.")
        else:
            out.append(f"Spread between replications of {lower_first(catalogue.label(m))}: {who}, the middle "
                       "80% lie between " + "; ".join(parts) + ". More replications narrow the interval of the "
                       "mean, not this spread.")
    return out


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
                 + (f" [clipped to 0-1 from {r['ST_raw']:.2f}]" if finite(r.get("ST_raw")) else "")
                 for _, r in rows.iterrows()]
        noise = sensitivity.loc[sensitivity["metric"] == m, "noise_share"]
        noise_text = ""
        if len(noise) and finite(noise.iloc[0]):
            share = float(noise.iloc[0])
            noise_text = (f"; replication noise is {share:.0%} of the variation"
                          + (" (too much to trust the indices: add replications)" if share > 0.3 else ""))
        out.append(f"{catalogue.label(m)}: " + "; ".join(parts) + noise_text + ".")
    return out


_SMALL = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
#: Fewer events than this (both runs together) are too few to tell a rate, or a change of it.
FEW_EVENTS = 30


def _count_word(n: int) -> str:
    return _SMALL[n] if 0 <= n < len(_SMALL) else f"{n:,}"


def rate_words(rate: Any) -> str:
    """A yearly rate of rare events as people say it: 0.15 -> "about one in seven years", 0.5 ->
    "about one in two years", 2.3 -> "about 2.3 a year", 0 -> "none"."""
    if not finite(rate):
        return "not estimated"
    rate = float(rate)
    if rate <= 0:
        return "none"
    if rate >= 0.95:
        return f"about {rate:,.1f} a year"
    return f"about one in {_count_word(max(2, round(1 / rate)))} years"


def event_count(rate: Any, n: Any, exposure: Optional[float]) -> Optional[int]:
    """Events behind a yearly rate: rate x replications x exposure (PCN-years a replication)."""
    if not (finite(rate) and finite(n) and exposure and exposure > 0):
        return None
    return int(round(float(rate) * float(n) * float(exposure)))


def rare_words(metric: str, rate: Any, n: Any, exposure: Optional[float], lo: Any = None, hi: Any = None) -> str:
    """A rare count (`pcnsim.metrics.RARE`) in words with its count: "about one in seven years
    (0.15 a year, 95% CI 0.03 to 0.44; 3 resignations in 20 PCN-years simulated); too few
    events to pin the rate down". A rate of 0.15 a year means little to a reader; the count
    says how much the run saw."""
    events = event_count(rate, n, exposure)
    noun = lower_first(catalogue.label(metric)).removeprefix("cd ").removeprefix("CD ")
    text = rate_words(rate)
    value, ci = estimate_cells(rate, lo, hi, "count", metric)
    detail = (f"{value} a year" + (f", 95% CI {ci}" if ci else "")) if finite(rate) else ""
    if events is not None:
        detail += (f"; {_count_word(events)} {noun if events != 1 else noun.rstrip('s')} in "
                   f"{float(n) * float(exposure):,.0f} PCN-years simulated")
    text += f" ({detail})" if detail else ""
    if events is not None and events < FEW_EVENTS:
        text += "; too few events to pin the rate down"
    return text


def run_in_short(summary: pd.DataFrame, focus: Sequence[str], exposure: Optional[float] = None) -> str:
    """"In short" for one run: a plain sentence for each of delivery, leadership time, retention
    and money (the family's focus metrics, else `FAMILY_DEFAULTS`), each metric's value (the
    intervals follow in the sentences below it); a rare count in words with its count
    (`rare_words`). `exposure`: PCN-years a replication. "" when no family's metric is there."""
    rows = {str(r["metric"]): r for r in summary.to_dict("records")}
    sentences = []
    for fam, words in FAMILY_WORDS.items():
        chosen = [m for m in dict.fromkeys(focus) if m in rows and _family(m) == fam]
        chosen = chosen or [m for m in FAMILY_DEFAULTS[fam] if m in rows]
        if not chosen:
            continue
        parts = []
        for m in chosen:
            r = rows[m]
            label = lower_first(catalogue.label(m))
            if m.partition(".")[0] in catalogue.RARE:
                events = event_count(r.get("mean"), r.get("n"), exposure)
                text = f"{label} {rate_words(r.get('mean'))}"
                if events is not None:
                    text += f" ({_count_word(events)} in {float(r['n']) * exposure:,.0f} PCN-years simulated"
                    text += ", too few events to pin the rate down)" if events < FEW_EVENTS else ")"
                parts.append(text)
                continue
            value, _ = estimate_cells(r.get("mean"), r.get("ci_low"), r.get("ci_high"), catalogue.kind(m), m)
            unit = _unit_words(m) or (" " + catalogue.unit(m).removeprefix("£").strip()
                                      if catalogue.kind(m) == "money" else "")
            parts.append(f"{label} {value}{unit}")
        sentences.append(f"{words}: " + _join(parts) + ".")
    return ("In short: " + " ".join(sentences)) if sentences else ""
