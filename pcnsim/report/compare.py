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
from typing import Any, Optional

import numpy as np
import pandas as pd

from pcnsim import metrics as catalogue
from pcnsim.analysis import finite, paired_interval, welch_interval
from pcnsim.errors import RunFolderError
from pcnsim.report.answers import format_difference
from pcnsim.report.formatting import format_value
from pcnsim.experiment.folder import RunData, load_run, order_metrics, write_text_atomic
from pcnsim.report.style import new_figure, palette, save, theme

__all__ = ["COLUMNS", "compare_runs", "default_out_dir", "write_comparison", "describe_comparison",
           "comparison_table", "format_difference"]

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


# --------------------------------------------------------------------------- comparison
def compare_runs(run_a: Any, run_b: Any) -> pd.DataFrame:
    """Every metric of run B minus run A, with its 95% CI.

    `run_a`, `run_b`: run folders (paths) or `RunData`. Points are matched by their swept
    values when both runs sweep the same keys, otherwise the first point (point 0) of each is
    compared. One row per (matched point, metric) present in both runs; columns: `metric`,
    `point_a`, `point_b`, any swept keys, `mean_a`, `mean_b`, `difference` (B - A), `ci_low`,
    `ci_high`, `relative_difference` (difference / |mean A|), `n_a`, `n_b`, `n` (pairs when
    paired, otherwise the smaller of n_a and n_b), `paired`, `method`, `distinguishable`
    (the CI excludes zero).

    Pairs by replication (paired t-interval on the per-replication differences) when both
    runs share their root seed (and per-replication seeds if recorded) and the replication
    indices match; otherwise Welch's t-interval."""
    a, b = _as_run(run_a), _as_run(run_b)
    pairs, keys = _matched_points(a, b)
    same_seed = _seeds_match(a, b)
    rows = []
    for pa, pb in pairs:
        sa = a.summary[a.summary["point"] == pa].set_index("metric")
        sb = b.summary[b.summary["point"] == pb].set_index("metric")
        va, vb = _values(a, pa), _values(b, pb)
        metrics = order_metrics(m for m in sa.index if m in sb.index)
        point_cols = {k: v for k, v in a.point_values(pa).items() if k in keys}
        for m in metrics:
            row: dict[str, Any] = {"metric": m, "point_a": pa, "point_b": pb, **point_cols}
            xa = va[va["metric"] == m].set_index("replication")["value"] if va is not None else None
            xb = vb[vb["metric"] == m].set_index("replication")["value"] if vb is not None else None
            if xa is not None and xb is not None and len(xa) and len(xb):
                xa = xa.groupby(level=0).mean()
                xb = xb.groupby(level=0).mean()
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


def _plot(df: pd.DataFrame, path: Path, name_a: str, name_b: str) -> Optional[Path]:
    first = df[(df["point_a"] == df["point_a"].iloc[0]) & (df["point_b"] == df["point_b"].iloc[0])]
    d = first[first["relative_difference"].notna()].iloc[::-1]
    if d.empty:
        return None
    scale = 100 / d["mean_a"].abs()
    x = d["relative_difference"] * 100
    lo = (d["ci_low"] * scale).fillna(x)
    hi = (d["ci_high"] * scale).fillna(x)
    pal = palette(8)
    colours = [pal[3] if flag else "0.55" for flag in d["distinguishable"]]
    method = "paired by replication" if d["paired"].all() else (
        "Welch (unpaired)" if not d["paired"].any() else "paired where possible")
    height = max(7.5, 0.42 * len(d) + 2.5)
    with theme():
        fig, body = new_figure(f"{name_b} compared with {name_a}",
                               f"difference B − A as % of A's mean, 95% CIs, {method}",
                               figsize=(13.33, height))
        ax = body.subplots(1, 1)
        y = np.arange(len(d))
        ax.hlines(y, lo, hi, colors=colours, lw=3)
        ax.scatter(x, y, c=colours, s=90, zorder=3)
        ax.axvline(0, color="black", lw=1.5)
        ax.set_yticks(y, [catalogue.label(m) for m in d["metric"]], fontsize="small")
        ax.set_xlabel("difference B − A (% of A's mean)")
        ax.set_ylim(-0.7, len(d) - 0.3)
        bounds = np.abs(np.r_[lo.to_numpy(), hi.to_numpy(), x.to_numpy()])
        lim = max(5.0, 1.3 * float(np.nanquantile(bounds, 0.75)), 1.1 * float(np.abs(x).max()))
        if np.nanmax(bounds) > lim:  # a few very noisy metrics would squash the rest: cut them
            ax.set_xlim(-lim, lim)
            for yi, l, h, c in zip(y, lo, hi, colours):
                if h > lim:
                    ax.plot(lim, yi, marker=">", color=c, ms=12, clip_on=False)
                if l < -lim:
                    ax.plot(-lim, yi, marker="<", color=c, ms=12, clip_on=False)
            ax.set_xlabel("difference B − A (% of A's mean; arrows: interval runs off the axis)")
        from matplotlib.lines import Line2D

        ax.legend([Line2D([], [], color=pal[3], marker="o", lw=3),
                   Line2D([], [], color="0.55", marker="o", lw=3)],
                  ["distinguishable from noise", "within the noise"], loc="lower right",
                  fontsize="x-small")
        return save(fig, path)


def write_comparison(df: pd.DataFrame, out_dir: str | os.PathLike, name_a: str = "A",
                     name_b: str = "B") -> Path:
    """Write `compare.csv` and `compare.png` into `out_dir` (created; refused if it exists and
    is not empty, so nothing is overwritten). Returns the folder."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunFolderError(f"{out} exists and is not empty; choose another --out (a comparison "
                             "never overwrites files).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunFolderError(f"cannot create {out}: {err}") from err
    write_text_atomic(out / "compare.csv", df.to_csv(index=False))
    if not df.empty:
        _plot(df, out / "compare.png", name_a, name_b)
    return out


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


def describe_comparison(df: pd.DataFrame, name_a: str = "A", name_b: str = "B") -> list[str]:
    """Plain sentences: how the difference was estimated, and which metrics differ."""
    if df.empty:
        return ["The two runs have no metric in common to compare."]
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
            out.append(f"The other {rest} differences are within the noise (their 95% CIs include zero).")
    return out
