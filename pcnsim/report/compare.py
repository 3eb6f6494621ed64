"""Compare two finished runs: metric by metric, B minus A, with a 95% confidence interval.

When both runs used the same root seed and the same replication indices, replication i
of A and replication i of B share their random numbers (common random numbers), so the
difference is estimated from the per-replication differences (a paired t-interval),
which is much tighter than comparing two independent means. Otherwise the runs are
independent samples and Welch's t-interval is used.

A difference is "distinguishable from noise" when its 95% CI excludes zero. The intervals
themselves are `pcnsim.analysis.paired_interval` and `welch_interval`.
"""
from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite, paired_interval, welch_interval
from pcnsim.errors import RunFolderError, ScenarioError
from pcnsim.report.answers import (DEFAULT_FOCUS, answer_metrics, story, NO_DIFFERENCE, all_identical, compare_headline, format_difference,
                                   headline_metrics, is_fixed, is_identical)
from pcnsim.report.formatting import format_param, format_value, point_text
from pcnsim.experiment.folder import RunData, load_run, order_metrics, write_text_atomic
from pcnsim.report.rendering import embedded_figure, render
from pcnsim.report.style import new_figure, palette, save, theme

__all__ = ["COLUMNS", "compare_runs", "default_out_dir", "write_comparison", "describe_comparison",
           "comparison_table", "format_difference", "render_comparison", "resolve_point", "compare_headline"]

COLUMNS = ["metric", "point_a", "point_b", "mean_a", "mean_b", "difference", "ci_low", "ci_high",
           "relative_difference", "n_a", "n_b", "n", "paired", "method", "distinguishable"]


# --------------------------------------------------------------------------- matching
def _as_run(run: Any) -> RunData:
    return run if isinstance(run, RunData) else load_run(run)


def _key_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)) and math.isfinite(v):
        return round(float(v), 9)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _matched_points(a: RunData, b: RunData) -> tuple[list[tuple[int, int]], list[str]]:
    """Pairs (point of A, point of B): points with equal swept values when both runs sweep the
    same keys; otherwise the first point of each."""
    if a.swept_keys and set(a.swept_keys) == set(b.swept_keys):
        keys = list(a.swept_keys)
        index_b = {tuple(_key_value(v) for v in b.point_values(p).values()): p for p in b.points}
        pairs = []
        for p in a.points:
            va = a.point_values(p)
            key = tuple(_key_value(va[k]) for k in b.point_values(b.first_point))
            if key in index_b:
                pairs.append((p, index_b[key]))
        if pairs:
            return pairs, keys
    return [(a.first_point, b.first_point)], []


def _seeds_match(a: RunData, b: RunData) -> bool:
    sa, sb = a.manifest.get("seed"), b.manifest.get("seed")
    if sa is None:
        sa = a.run_settings.get("seed")
    if sb is None:
        sb = b.run_settings.get("seed")
    if sa is None or sb is None or sa != sb:
        return False
    ra, rb = a.manifest.get("replication_seeds"), b.manifest.get("replication_seeds")
    if ra is not None and rb is not None:
        common = min(len(ra), len(rb)) if isinstance(ra, list) and isinstance(rb, list) else 0
        return ra[:common] == rb[:common]
    return True


def _values(run: RunData, point: int) -> Optional[pd.DataFrame]:
    if run.results is None or not {"replication", "value"} <= set(run.results.columns):
        return None
    return run.results[run.results["point"] == point]


def _by_metric(values: Optional[pd.DataFrame]) -> Optional[dict[str, pd.Series]]:
    """{metric: its value by replication (the mean of a replication's rows)}, in one pass over
    the results rather than one filter of the whole frame per metric (a comparison of two
    baseline runs reads some 100 metrics: this keeps `pcnsim compare` near a second)."""
    if values is None:
        return None
    agg = values.groupby(["metric", "replication"], sort=True)["value"].mean()
    out: dict[str, dict] = {}
    for (m, r), v in zip(agg.index, agg.to_numpy()):
        out.setdefault(str(m), {})[r] = v
    return {m: pd.Series(d, dtype="float64") for m, d in out.items()}


# --------------------------------------------------------------------------- comparison
def resolve_point(run: RunData, point: Any, which: str = "run") -> int:
    """A point of `run` named by its number (`2`) or by a swept value (`forum`, `2.0`).

    Raises `ScenarioError` (exit 2) naming the run's points when it matches none or several."""
    text = str(point).strip()
    if len(text) > 100:   # never a point (and Python reads no integer past 4,300 digits)
        raise ScenarioError(f"{which} '{run.folder}': the point named is {len(text):,} characters long; name one "
                            "point by its number or a swept value.")
    if text.lstrip("-").isdigit() and int(text) in run.points:
        return int(text)
    matches = [p for p in run.points
               if any(text in (str(v), format_param(v)) or text == f"{k}={format_param(v)}"
                      for k, v in run.point_values(p).items())]
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(f"{p} ({point_text(run.point_values(p))})" for p in run.points[:12])
    more = f" and {len(run.points) - 12} more" if len(run.points) > 12 else ""
    what = "several points" if matches else "no point"
    raise ScenarioError(f"{which} '{run.folder}': '{text}' names {what} of its sweep; name one point by "
                        f"its number or a swept value it alone has. Its points: {listing}{more}.")


def _check_points(a: RunData, b: RunData, point_a: Any, point_b: Any) -> Optional[list[tuple[int, int]]]:
    """The pair of points to compare when the user named them (None: match them by value).

    A sweep with more than one point needs its point named, unless neither point is named and
    both runs sweep the same keys (then each point of A is compared with B's point of the
    same values)."""
    if point_a is None and point_b is None and a.swept_keys and set(a.swept_keys) == set(b.swept_keys):
        return None
    for run, point, which, flag in ((a, point_a, "A", "--point-a"), (b, point_b, "B", "--point-b")):
        if point is None and len(run.points) > 1:
            listing = "; ".join(f"{p} ({point_text(run.point_values(p))})" for p in run.points[:8])
            raise ScenarioError(
                f"run {which} '{run.folder}' is a sweep of {len(run.points)} points and the two runs do not "
                f"sweep the same keys, so it is not clear which point to compare. Name it as RUN:POINT "
                f"(e.g. '{run.folder}:{run.points[-1]}') or with {flag} POINT, by its number or a swept "
                f"value. Its points: {listing}{' ...' if len(run.points) > 8 else ''}.")
    pa = a.first_point if point_a is None else resolve_point(a, point_a, "run A")
    pb = b.first_point if point_b is None else resolve_point(b, point_b, "run B")
    return [(pa, pb)]


def compare_runs(run_a: Any, run_b: Any, point_a: Any = None, point_b: Any = None) -> pd.DataFrame:
    """Every metric of run B minus run A, with its 95% CI.

    `run_a`, `run_b`: run folders (paths) or `RunData`. Points are matched by their swept
    values when both runs sweep the same keys, otherwise the first point (point 0) of each is
    compared; `point_a`, `point_b` name one point of each (a number or a swept value; a sweep
    whose point is not named and cannot be matched is refused with `ScenarioError`). One row
    per (matched point, metric) present in both runs; columns: `metric`,
    `point_a`, `point_b`, any swept keys, `mean_a`, `mean_b`, `difference` (B - A), `ci_low`,
    `ci_high`, `relative_difference` (difference / |mean A|), `n_a`, `n_b`, `n` (pairs when
    paired, otherwise the smaller of n_a and n_b), `paired`, `method`, `distinguishable`
    (the CI excludes zero).

    Pairs by replication (paired t-interval on the per-replication differences) when both
    runs share their root seed (and per-replication seeds if recorded) and the replication
    indices match; otherwise Welch's t-interval."""
    a, b = _as_run(run_a), _as_run(run_b)
    named = _check_points(a, b, point_a, point_b)
    pairs, keys = _matched_points(a, b) if named is None else (named, [])
    same_seed = _seeds_match(a, b)
    rows = []
    for pa, pb in pairs:
        sa = a.summary[a.summary["point"] == pa].set_index("metric")
        sb = b.summary[b.summary["point"] == pb].set_index("metric")
        va, vb = _by_metric(_values(a, pa)), _by_metric(_values(b, pb))
        metrics = order_metrics(m for m in sa.index if m in sb.index)
        point_cols = {k: v for k, v in a.point_values(pa).items() if k in keys}
        for m in metrics:
            row: dict[str, Any] = {"metric": m, "point_a": pa, "point_b": pb, **point_cols}
            xa = va.get(m) if va is not None else None
            xb = vb.get(m) if vb is not None else None
            if xa is not None and xb is not None and len(xa) and len(xb):
                mean_a, mean_b = float(xa.mean()), float(xb.mean())
                n_a, n_b = int(xa.count()), int(xb.count())
                paired = same_seed and set(xa.index) == set(xb.index) and n_a >= 2
                if paired:
                    common = sorted(xa.index)
                    diff, lo, hi, n = paired_interval(xa.loc[common], xb.loc[common])
                else:
                    sd_a = float(xa.std(ddof=1)) if n_a > 1 else math.nan
                    sd_b = float(xb.std(ddof=1)) if n_b > 1 else math.nan
                    diff, lo, hi = welch_interval(mean_a, sd_a, n_a, mean_b, sd_b, n_b)
                    n = min(n_a, n_b)
            else:  # no per-replication results: from the summaries, unpaired
                ra, rb = sa.loc[m], sb.loc[m]
                mean_a, mean_b = float(ra["mean"]), float(rb["mean"])
                n_a = int(ra["n"]) if finite(ra.get("n")) else 0
                n_b = int(rb["n"]) if finite(rb.get("n")) else 0
                diff, lo, hi = welch_interval(mean_a, ra.get("std", math.nan), n_a,
                                              mean_b, rb.get("std", math.nan), n_b)
                paired, n = False, min(n_a, n_b)
            row.update({
                "mean_a": mean_a, "mean_b": mean_b, "difference": diff, "ci_low": lo, "ci_high": hi,
                "relative_difference": diff / abs(mean_a) if mean_a not in (0, 0.0) and finite(mean_a)
                else math.nan,
                "n_a": n_a, "n_b": n_b, "n": n, "paired": bool(paired),
                "method": "paired t (common random numbers)" if paired else "Welch t",
                "distinguishable": bool(finite(lo) and finite(hi) and (lo > 0 or hi < 0)),
            })
            rows.append(row)
    cols = COLUMNS[:3] + keys + COLUMNS[3:]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- output
def default_out_dir(run_a: Any, run_b: Any, root: str | os.PathLike = "outputs") -> Path:
    """`outputs/compare-<A>-vs-<B>-<YYYYmmdd-HHMMSS>/`, with a suffix if that exists already."""
    name_a = Path(run_a.folder if isinstance(run_a, RunData) else run_a).resolve().name
    name_b = Path(run_b.folder if isinstance(run_b, RunData) else run_b).resolve().name
    base = Path(root) / f"compare-{name_a}-vs-{name_b}-{datetime.now():%Y%m%d-%H%M%S}"
    path, i = base, 2
    while path.exists():
        path = base.with_name(f"{base.name}-{i}")
        i += 1
    return path


#: At most this many rows in compare.png (the focus metrics first, then headline ones).
PLOT_ROWS = 8


def _plot(df: pd.DataFrame, path: Path, name_a: str, name_b: str,
          focus: tuple[str, ...] | list[str] = ()) -> Optional[Path]:
    """compare.png: a forest plot of the focus metrics (then the headline ones), one row each:
    the difference B − A as a dot with its 95% interval, a panel per unit so that rows in the
    same unit share one scale (shares in percentage points), each row's difference written
    at its right. Differences fixed by the scenarios are left out."""
    import textwrap

    first = df[(df["point_a"] == df["point_a"].iloc[0]) & (df["point_b"] == df["point_b"].iloc[0])]
    by_metric = {r["metric"]: r for r in first.to_dict("records")
                 if finite(r["difference"]) and not is_fixed(r) and not is_identical(r)}
    metrics = headline_metrics(list(focus) or list(catalogue.HEADLINE), list(by_metric), PLOT_ROWS)[:PLOT_ROWS]
    if not metrics:
        return None
    groups: dict[str, list[dict]] = {}
    for m in metrics:
        unit = "percentage points" if catalogue.kind(m) == "share" else catalogue.unit(m)
        groups.setdefault(unit, []).append(by_metric[m])
    pal = palette(8)
    method = "paired by replication" if first["paired"].all() else (
        "Welch (unpaired)" if not first["paired"].any() else "paired where possible")
    weights = [len(rows) + 0.9 for rows in groups.values()]    # a row each, and room for the unit's axis
    height = max(5.0, 1.35 + 0.62 * sum(weights) + 0.35 * len(groups))
    with theme():
        fig, body = new_figure(f"{name_b} compared with {name_a}",
                               f"B − A, 95% CIs ({method}); orange: beyond the noise; one scale per unit",
                               figsize=(13.33, height))
        axes = np.atleast_1d(body.subplots(len(groups), 1, squeeze=False, height_ratios=weights)).ravel()
        for ax, (unit, rows) in zip(axes, groups.items()):
            y = np.arange(len(rows))[::-1].astype(float)
            scale = 100.0 if unit == "percentage points" else 1.0
            ends = []
            for yi, r in zip(y, rows):
                x, lo, hi = (r["difference"] * scale, r["ci_low"] * scale, r["ci_high"] * scale)
                c = pal[3] if r["distinguishable"] else "0.45"
                if finite(lo) and finite(hi):
                    ax.hlines(yi, lo, hi, colors=[c], lw=4)
                    ends += [lo, hi]
                ax.plot([x], [yi], "o", color=c, ms=11)
                ends.append(x)
            ax.axvline(0, color="black", lw=1.2)
            span = max([abs(v) for v in ends if finite(v)] + [1e-9])
            ax.set_xlim(-1.12 * span, 1.12 * span)
            ax.set_ylim(-0.6, len(rows) - 0.4)
            ax.set_yticks(y, ["\n".join(textwrap.wrap(catalogue.label(r["metric"]), 30)[:2]) for r in rows],
                          fontsize="small")
            right = ax.twinx()
            right.set_ylim(ax.get_ylim())
            right.set_yticks(y, [_short_diff(r) for r in rows], fontsize="small")
            right.grid(False)
            ax.set_xlabel(f"B − A ({unit})", fontsize="small")
            ax.tick_params(axis="x", labelsize="small")
            ax.xaxis.set_major_locator(_ticks())
            ax.xaxis.set_major_formatter(_compact())
            ax.grid(False, axis="y")
        return save(fig, path)


def _short_diff(row: Mapping[str, Any]) -> str:
    """A row's difference and interval for the figure's right margin: "+1,200 (−50 to 2,400)"."""
    return _fmt_diff(pd.Series(row)).replace("95% CI ", "").replace(" points", "")


def _ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3, symmetric=True)


def _compact():
    """Tick labels short enough for a small panel: 20,000 -> 20k, 1,500,000 -> 1.5m."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v: float, _pos=None) -> str:
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:g}m"
        if a >= 1e4:
            return f"{v / 1e3:g}k"
        return f"{v:,.10g}" if a >= 1 or v == 0 else f"{v:.2g}"
    return FuncFormatter(fmt)


def _family(metric: str) -> str:
    m = catalogue.lookup(metric)
    return m.family if m is not None else "delivery"


def run_exposure(run: RunData) -> Optional[float]:
    """PCN-years measured in one replication of a run (for the counts behind rare events)."""
    from pcnsim.config import WEEKS_PER_YEAR

    h, w = run.horizon_weeks, run.warmup_weeks or 0.0
    if not h or h <= w:
        return None
    return (h - w) / WEEKS_PER_YEAR * max(1, run.pcns)


def comparison_names(a: RunData, b: RunData, df: pd.DataFrame) -> tuple[str, list[str], str, str, str, str]:
    """(question, focus, name A, name B, label A, label B) of a comparison: each run named by its
    scenario and changes (`RunData.title`), never by its folder path ("baseline" and "baseline
    with 62,000 patients in 7 practices; ARRS budget 90% of baseline"; two runs of one name
    are told apart as "run A" and "run B"); a sweep's point added; the labels add the folder.
    The question is B's (else A's), said as the base scenario's when a run changes it."""
    question, focus = story(b.scenario)
    source = b
    if not question:
        question, focus = story(a.scenario)
        source = a
    if question and (a.changes or b.changes):
        question = f"The question of {source.based_on}: {question}"

    def name(run: RunData, point_col: str) -> str:
        text = run.title
        if run.swept_keys and not df.empty and df[point_col].nunique() == 1:
            p = int(df[point_col].iloc[0])
            text += f" (point {p}: {point_text(run.point_values(p))})"
        return text

    name_a, name_b = name(a, "point_a"), name(b, "point_b")
    if name_a == name_b:
        name_a, name_b = f"{name_a} (run A)", f"{name_b} (run B)"
    label_a = f"{name_a}; run folder {a.folder}"
    label_b = f"{name_b}; run folder {b.folder}"
    return question, focus, name_a, name_b, label_a, label_b


def write_comparison(df: pd.DataFrame, out_dir: str | os.PathLike, name_a: str = "A",
                     name_b: str = "B", *, question: str = "", focus: tuple[str, ...] | list[str] = (),
                     label_a: str = "", label_b: str = "",
                     exposure: Optional[tuple[float, float]] = None) -> Path:
    """Write `compare.csv`, `compare.png` and `compare.html` (a self-contained page: the
    headline paragraph, the figure, how the difference was estimated, the full table) into
    `out_dir` (created; refused if it exists and is not empty, so nothing is overwritten).
    `question` and `focus` (the scenario's `report:`) lead the page; `label_a`, `label_b`
    describe the runs (folder and point). Returns the folder."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunFolderError(f"{out} exists and is not empty; choose another --out (a comparison "
                             "never overwrites files).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunFolderError(f"cannot create {out}: {err}") from err
    write_text_atomic(out / "compare.csv", with_metadata(df).to_csv(index=False))
    figure = _plot(df, out / "compare.png", name_a, name_b, focus) if not df.empty else None
    write_text_atomic(out / "compare.html", render_comparison(
        df, name_a, name_b, question=question, focus=focus, figure=figure,
        label_a=label_a or name_a, label_b=label_b or name_b, exposure=exposure))
    return out


def render_comparison(df: pd.DataFrame, name_a: str = "A", name_b: str = "B", *, question: str = "",
                      focus: tuple[str, ...] | list[str] = (), figure: Optional[Path] = None,
                      label_a: str = "", label_b: str = "",
                      exposure: Optional[tuple[float, float]] = None) -> str:
    """compare.html as a string: one self-contained page (figure embedded, no scripts, no web
    addresses) that opens with the question and the answer (`templates/compare.html.j2`)."""
    head = compare_headline(df, focus, question, "A", "B", exposure)
    lead = ""
    if question and head and head[0].rstrip("?") == question.rstrip("?"):
        lead, head = head[0], head[1:]
    fig = embedded_figure(figure, f"{name_b} compared with {name_a}",
                          "One row per focus metric: its difference B − A (the dot) with its 95% confidence "
                          "interval (the bar), written at the right; rows in the same unit share one scale "
                          "(shares in percentage points), and the vertical line is no difference. Orange: the "
                          "interval excludes zero (distinguishable from noise); grey: it includes zero, and "
                          "any effect is smaller than the farther end of its interval. Differences fixed by "
                          "the scenarios are left out; every metric is in the table below.") if figure is not None and figure.exists() else None
    method = [s.removesuffix(":") + ("; they are flagged in the table." if s.endswith(":") else "")
              for s in describe_comparison(df, "A", "B") if not s.startswith("  - ")]
    rows = []
    for _, r in df.iterrows():
        kind = catalogue.kind(r["metric"])
        where = f" [point {r['point_a']}]" if df["point_a"].nunique() > 1 else ""
        rows.append({"label": catalogue.label(r["metric"]) + where, "metric": r["metric"],
                     "unit": catalogue.unit(r["metric"]), "a": format_value(r["mean_a"], kind),
                     "b": format_value(r["mean_b"], kind), "difference": _fmt_diff(r),
                     "flag": "fixed" if is_fixed(r) else "differs" if r["distinguishable"] else
                     "identical" if is_identical(r) else ""})
    return render("compare.html.j2", name_a=name_a, name_b=name_b, label_a=label_a or name_a,
                  label_b=label_b or name_b, question=lead, short=head[0] if head else "",
                  sentences=head[1:], figure=fig, method=method, rows=rows,
                  written=datetime.now().strftime("%Y-%m-%d %H:%M"))


def with_metadata(df: pd.DataFrame) -> pd.DataFrame:
    """compare.csv's frame: after `metric`, its `label`, `unit` and `kind` from the catalogue
    (`pcnsim.metrics`), the unit of a share "fraction (0 to 1)" as the file holds it."""
    out = df.copy()
    at = list(out.columns).index("metric") + 1 if "metric" in out.columns else 0
    for i, (col, fn) in enumerate((("label", catalogue.label), ("unit", file_unit), ("kind", catalogue.kind))):
        out.insert(at + i, col, [fn(m) for m in out["metric"]] if "metric" in out.columns else [])
    return out


def file_unit(metric: str) -> str:
    """A metric's unit as a data file holds it: a share is "fraction (0 to 1)", not "%"."""
    return "fraction (0 to 1)" if catalogue.kind(metric) == "share" else catalogue.unit(metric)


def _fmt_diff(row: pd.Series) -> str:
    return format_difference(row["difference"], row["ci_low"], row["ci_high"], catalogue.kind(row["metric"]))


def comparison_table(df: pd.DataFrame) -> str:
    """A readable fixed-width table of the comparison."""
    header = ("metric", "unit", "A", "B", "B - A (95% CI)", "")
    lines = []
    for _, r in df.iterrows():
        kind = catalogue.kind(r["metric"])
        label = catalogue.label(r["metric"])
        if r["point_a"] != df["point_a"].iloc[0] or df["point_a"].nunique() > 1:
            label = f"{label} [point {r['point_a']}]"
        lines.append((label, catalogue.unit(r["metric"]), format_value(r["mean_a"], kind),
                      format_value(r["mean_b"], kind), _fmt_diff(r), "*" if r["distinguishable"] else ""))
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(6)]
    fmt = lambda x: "  ".join(str(v).ljust(w) if i in (0, 1, 4) else str(v).rjust(w)  # noqa: E731
                              for i, (v, w) in enumerate(zip(x, widths))).rstrip()
    out = [fmt(header), "  ".join("-" * w for w in widths)]
    out += [fmt(x) for x in lines]
    out.append("* distinguishable from noise: the 95% CI of the difference excludes zero")
    return "\n".join(out)


def _join_labels(metrics) -> str:
    labels = [catalogue.label(m) for m in metrics]
    if len(labels) > 12:
        return "; ".join(labels[:12]) + f" and {len(labels) - 12} more (in compare.csv)"
    return "; ".join(labels)


def focus_rows(df: pd.DataFrame, focus: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """The rows of the answer's metrics (`headline_metrics` of the focus, else `DEFAULT_FOCUS`) at
    the first pair of points: what `pcnsim compare` prints (the full table is `--all` and compare.csv)."""
    if df.empty:
        return df
    first = df[(df["point_a"] == df["point_a"].iloc[0]) & (df["point_b"] == df["point_b"].iloc[0])]
    chosen = answer_metrics(list(focus) or list(DEFAULT_FOCUS), list(first["metric"]), size=10)
    rank = {m: i for i, m in enumerate(chosen)}
    part = first[first["metric"].isin(chosen)]
    return part.iloc[sorted(range(len(part)), key=lambda i: rank[part["metric"].iloc[i]])]


def describe_comparison(df: pd.DataFrame, name_a: str = "A", name_b: str = "B") -> list[str]:
    """Plain sentences: how the difference was estimated, and which metrics differ."""
    if df.empty:
        return ["The two runs have no metric in common to compare."]
    if all_identical(df):
        return [NO_DIFFERENCE.format(a=name_a, b=name_b)]
    out = []
    if df["paired"].all():
        out.append(f"{name_b} and {name_a} share their random numbers (same seed and replications), "
                   "so each replication of B is compared with the same replication of A "
                   "(a paired t-interval).")
    elif not df["paired"].any():
        out.append(f"{name_b} and {name_a} do not share their random numbers (different seeds or "
                   "replications), so they are compared as independent samples (Welch's t-interval); "
                   "rerun both with the same --seed for a sharper comparison.")
    else:
        out.append("Some metrics are paired by replication and some compared as independent samples.")
    fixed = df[[is_fixed(r) for r in df.to_dict("records")]] if len(df) else df
    df = df.drop(index=fixed.index)
    dist = df[df["distinguishable"]]
    if dist.empty:
        out.append("No difference is distinguishable from noise: every 95% confidence interval "
                   "includes zero.")
    else:
        out.append(f"{len(dist)} of {len(df)} differences are distinguishable from noise:")
        for _, r in dist.iterrows():
            where = f" (point {r['point_a']})" if df["point_a"].nunique() > 1 else ""
            word = "higher" if r["difference"] > 0 else "lower"
            unit = catalogue.unit(r["metric"])
            unit = "" if unit in ("%", "") or unit.startswith("£") else f" {unit}"
            out.append(f"  - {catalogue.label(r['metric'])}{where}: {word} in {name_b}, by "
                       f"{_fmt_diff(r).lstrip('+-')}{unit}.")
        rest = len(df) - len(dist)
        if rest:
            out.append(f"The other {rest} differences are too small for this run to show: each 95% CI "
                       "includes zero, and any effect is smaller than the farther end of its interval "
                       "(in the table).")
    same = df[[is_identical(r) and _family(r["metric"]) != "run" for r in df.to_dict("records")]] if len(df) else df
    if len(same):
        out.append("Identical in both runs (shared random numbers): "
                   + _join_labels(same["metric"]) + ".")
    if len(fixed):
        out.append("Set by the scenarios' inputs, not estimated (no noise at all): "
                   + "; ".join(f"{catalogue.label(r['metric'])} {_fmt_diff(r)}" for _, r in fixed.iterrows())
                   + ".")
    return out
