"""Output analysis: confidence intervals, replication counts, warm-up and Sobol indices.

Pure functions over numbers and tidy frames; no file or network I/O, and no import of
any other pcnsim module but the metric catalogue (`pcnsim.metrics`, for the bounds of a
displayed interval), so that every layer above the model can use them.

- `t_interval`, `paired_interval`, `welch_interval` and `bounded_interval` are THE
  intervals of pcnsim (`bounded_intervals`: many rows at once): of a mean, of a difference of paired or independent samples, and
  cut for display at the bounds a metric cannot cross (`finite` says whether a value is a
  number at all).
- `summarise` turns long-form results (one row per point, replication and metric) into
  means with 95% t-intervals, and (with ``spread=True``, as summary.csv has them) the 10th,
  50th and 90th percentiles of the replications: the spread between CDs, not the precision
  of the mean.
- `point_differences` gives each point of a sweep against a reference point, metric by
  metric: the paired t-interval of the replication-by-replication differences under common
  random numbers (Welch's interval where the points do not share their random numbers), as
  differences.csv has them.
- `halfwidth`, `relative_halfwidth` and `replications_needed` support the "replicate
  until the confidence interval is narrow enough" rule.
- `mser5` and `suggest_warmup` suggest a warm-up from weekly series (MSER-5); `mser5_rows`
  does many series of one length at once.
- `sobol_indices` and `sensitivity` compute first-order and total Sobol indices with
  SALib from a Saltelli design. With a stochastic model the indices are computed on the
  mean over replications at each design point, so they describe the *expected* response;
  the replication noise left in those means is reported separately as `noise_share`.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from pcnsim.metrics import bounds as metric_bounds

if TYPE_CHECKING:  # pandas and scipy load when a function needs them: `pcnsim run` reaches its
    import pandas as pd  # first cell without them (the run folder's module imports `finite`)

CONFIDENCE = 0.95
SUMMARY_STATS = ("mean", "std", "ci_low", "ci_high", "n")
#: The quantiles of the replications summary.csv gives each metric, and their columns.
SPREAD_QUANTILES = (0.1, 0.5, 0.9)
SPREAD_COLUMNS = ("p10", "p50", "p90")
#: Columns of differences.csv (`point_differences`).
DIFFERENCE_COLUMNS = ("point", "metric", "reference", "difference", "ci_low", "ci_high", "n", "method")
SENSITIVITY_COLUMNS = ("metric", "parameter", "S1", "S1_conf", "ST", "ST_conf", "noise_share")


def finite(x: Any) -> bool:
    """True for a number that is not NaN or infinite (None and text are not)."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def t_quantile(q: Any, df: Any) -> Any:
    """Student's t quantile (as `scipy.stats.t.ppf(q, df)`), from scipy.special: importing
    scipy.stats costs about two seconds at the start of every run, scipy.special a fifth of it."""
    from scipy.special import stdtrit

    return stdtrit(df, q)


# --------------------------------------------------------------------------- t-intervals
def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float, int]:
    """Mean, sample standard deviation and the two-sided Student-t interval of the mean.

    Returns ``(mean, std, ci_low, ci_high, n)``. NaN values are ignored. With one value the
    standard deviation and the interval are NaN (there is no estimate of spread); with
    none, everything but ``n`` is NaN.
    """
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return (mean, math.nan, math.nan, math.nan, 1)
    std = float(x.std(ddof=1))
    h = float(t_quantile(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return (mean, std, mean - h, mean + h, n)


def paired_interval(a: Iterable[float], b: Iterable[float],
                    confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """Mean of b - a over pairs and its t-interval: (difference, low, high, pairs).

    For two runs that share their random numbers (common random numbers), replication i of
    one against replication i of the other; pairs with a non-finite difference are left out.
    """
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    mean, _, low, high, n = t_interval(d[np.isfinite(d)], confidence)
    return (mean, low, high, n)


def welch_interval(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int,
                   confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Difference of means (b - a) of independent samples and Welch's t-interval: (difference, low, high)."""
    diff = float(mean_b) - float(mean_a)
    if n_a < 2 or n_b < 2 or not (finite(sd_a) and finite(sd_b)):
        return (diff, math.nan, math.nan)
    va, vb = float(sd_a) ** 2 / n_a, float(sd_b) ** 2 / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return (diff, diff, diff)
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    half = float(t_quantile(0.5 + confidence / 2, df) * se)
    return (diff, diff - half, diff + half)


def bounded_interval(mean: float, low: float, high: float, share: bool = False, *,
                     metric: str | None = None) -> tuple[float, float]:
    """A t-interval cut, for display, at the bounds a metric cannot cross.

    The bounds are the catalogue's (`pcnsim.metrics.bounds(metric)`: no metric is negative,
    shares stop at 1 except demand_met_share, which exceeds 1 while a backlog is drawn
    down); without a metric name, [0, 1] for a share and >= 0 otherwise. A bound is applied
    only when the mean is on its side of it. With few replications a t-interval crosses
    these bounds; summary.csv keeps the raw interval, people are shown the cut one.
    """
    if metric is not None:
        floor, ceiling = metric_bounds(metric)
    else:
        floor, ceiling = 0.0, (1.0 if share else None)
    if floor is not None and math.isfinite(mean) and mean >= floor and math.isfinite(low):
        low = max(low, floor)
    if ceiling is not None and math.isfinite(mean) and mean <= ceiling and math.isfinite(high):
        high = min(high, ceiling)
    return low, high


def bounded_intervals(mean: np.ndarray, low: np.ndarray, high: np.ndarray,
                      metric: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`bounded_interval` of many rows at once (the same numbers): row i is `metric[i]`'s
    interval; a row with a value that is not finite keeps its interval."""
    names, codes = np.unique(np.asarray(metric, dtype=object).astype(str), return_inverse=True)
    bounds = [metric_bounds(str(m)) for m in names]
    floor = np.array([np.nan if lo is None else lo for lo, _ in bounds], dtype=float)[codes]
    ceiling = np.array([np.nan if hi is None else hi for _, hi in bounds], dtype=float)[codes]
    mean, low, high = (np.asarray(x, dtype=float) for x in (mean, low, high))
    finite = np.isfinite(mean) & np.isfinite(low) & np.isfinite(high)
    with np.errstate(invalid="ignore"):   # a bound applies when the mean is on its side of it
        raised = finite & (mean >= floor) & (floor > low)
        lowered = finite & (mean <= ceiling) & (ceiling < high)
    return np.where(raised, floor, low), np.where(lowered, ceiling, high)


def halfwidth(values: Iterable[float], confidence: float = CONFIDENCE) -> float:
    """Half-width of the t-interval of the mean (NaN with fewer than two values)."""
    mean, _, low, high, _ = t_interval(values, confidence)
    return (high - low) / 2


def relative_halfwidth(values: Iterable[float], confidence: float = CONFIDENCE) -> float:
    """Half-width divided by the absolute mean: 0.01 means "mean within +/-1% (95% CI)".

    A zero mean gives 0 when the values do not vary and infinity when they do; fewer than
    two values give NaN.
    """
    mean, _, low, high, _ = t_interval(values, confidence)
    return _relative((high - low) / 2, mean)


def _relative(h: float, mean: float) -> float:
    if math.isnan(h):
        return math.nan
    if mean == 0:
        return 0.0 if h == 0 else math.inf
    return h / abs(mean)


def poisson_interval(count: float, exposure: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate: `count` events over `exposure` (e.g. PCN-years).

    Lower = chi2(a/2; 2k)/2 / exposure (0 when k = 0), upper = chi2(1 - a/2; 2k + 2)/2 / exposure,
    with chi2(q; 2k)/2 = gammaincinv(k, q). Zero events give [0, -ln(a/2)/exposure], an interval
    with a positive upper end (3.69 / exposure at 95%), never [0, 0].
    """
    from scipy.special import gammaincinv

    if not (exposure > 0) or not math.isfinite(count) or count < 0:
        return (math.nan, math.nan)
    k = round(count)
    a = 1.0 - confidence
    low = float(gammaincinv(k, a / 2)) if k > 0 else 0.0
    high = float(gammaincinv(k + 1, 1 - a / 2))
    return (low / exposure, high / exposure)


def summarise(results: pd.DataFrame, by: Sequence[str] | None = None,
              confidence: float = CONFIDENCE, exposure: float | Mapping[Any, float] | None = None,
              rare: Iterable[str] = (), spread: bool = False) -> pd.DataFrame:
    """Summarise long-form results into one row per group and metric.

    ``results`` has columns ``metric`` and ``value`` (and normally ``point``, the swept
    keys and ``replication``). ``by`` are the grouping columns before ``metric``; by
    default every column except ``replication``, ``metric`` and ``value``. Groups keep
    the order in which they first appear. Columns of the result: ``*by, metric, mean, std,
    ci_low, ci_high, n`` where the interval is the two-sided Student-t interval of the
    mean at ``confidence`` (n = 1 gives NaN std and interval).

    Rare counts: with ``exposure`` (the exposure of one replication, e.g. years measured x PCNs
    for a per-PCN rate a year; a number, or a mapping from the value of the first ``by``
    column to a number), the metrics named in ``rare`` (callers pass ``pcnsim.metrics.RARE``)
    get the exact Poisson interval (`poisson_interval`) of their total count, sum(value x
    exposure) over replications, over the total exposure, instead of the t-interval. Without
    ``exposure`` (the default) every metric keeps its t-interval.

    Spread: with ``spread=True`` the columns ``p10, p50, p90`` follow ``n``: the 10th, 50th
    and 90th percentiles of the group's values (linear interpolation between replications).
    The interval says how precisely the mean is known and narrows with more replications;
    these say how much one replication (one CD, with a single PCN) differs from another,
    and do not narrow. Values are what the cells hold: for an ICS of several PCNs, each
    replication's value is already the mean over its PCNs.
    """
    import pandas as pd

    if by is None:
        by = [c for c in results.columns if c not in ("replication", "metric", "value")]
    keys = [*by, "metric"]
    columns = [*keys, *SUMMARY_STATS, *(SPREAD_COLUMNS if spread else ())]
    if results.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c in SUMMARY_STATS else object) for c in columns})
    grouped = results.groupby(keys, sort=False, dropna=False)["value"]
    out = grouped.agg(mean="mean", std="std", n="count").reset_index()
    n = out["n"].to_numpy(dtype=float)
    std = out["std"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = t_quantile(0.5 + confidence / 2, np.where(n > 1, n - 1, np.nan))
        h = tcrit * std / np.sqrt(n)
    h = np.where(n > 1, h, np.nan)
    out["std"] = np.where(n > 1, std, np.nan)
    out["ci_low"] = out["mean"].to_numpy(dtype=float) - h
    out["ci_high"] = out["mean"].to_numpy(dtype=float) + h
    out["n"] = out["n"].astype("int64")
    rare = set(rare)
    if exposure is not None and rare:
        sums = grouped.sum().reset_index(drop=True).to_numpy(dtype=float)
        metric, n = out["metric"].to_numpy(), out["n"].to_numpy()
        first = out[by[0]].to_numpy() if by else [None] * len(out)
        low, high = out["ci_low"].to_numpy(dtype=float, copy=True), out["ci_high"].to_numpy(dtype=float, copy=True)
        for i in np.flatnonzero([m in rare for m in metric]):
            e = exposure.get(first[i]) if isinstance(exposure, Mapping) else exposure
            if e is None or not e > 0:
                continue
            low[i], high[i] = poisson_interval(sums[i] * e, n[i] * e, confidence)
        out["ci_low"], out["ci_high"] = low, high
    if spread:
        for col, level in zip(SPREAD_COLUMNS, SPREAD_QUANTILES):   # in the groups' order, as `out`
            out[col] = grouped.quantile(level).to_numpy(dtype=float)
    return out[columns]


PAIRED_METHOD = "paired t (common random numbers)"
WELCH_METHOD = "Welch t"


def point_differences(results: pd.DataFrame | None, reference: int, *, summary: pd.DataFrame | None = None,
                      unpaired: Iterable[int] = (), confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Each point of a sweep minus the reference point, metric by metric, with a 95% interval.

    Replication r of every point of a sweep draws the same random numbers (common random
    numbers, `pcnsim.model.streams`), so point p is compared with the reference replication
    by replication: the mean of the differences value(p, r) - value(reference, r) over the
    replications both have, and its Student-t interval (as `paired_interval`; a pair with a
    non-finite difference is left out). Positive correlation between the two removes most of
    the noise the points share, so this interval is far narrower than two overlapping
    intervals of means. Points in ``unpaired`` (those that do not share the reference's
    random numbers, e.g. ICSs of other names) get Welch's interval of two independent
    samples instead, as do all points when ``results`` is None (then from ``summary``'s
    mean, std and n).

    ``results``: long form with ``point``, ``replication``, ``metric``, ``value``. Returns
    `DIFFERENCE_COLUMNS` (``point, metric, reference, difference, ci_low, ci_high, n,
    method``), one row per point other than the reference and metric at both, points in
    order and metrics in the order they first appear; ``n`` is the pairs (paired) or the
    smaller sample (Welch); NaN interval with fewer than two.
    """
    import pandas as pd

    columns = list(DIFFERENCE_COLUMNS)
    unpaired = {int(p) for p in unpaired}
    frames = []
    if results is not None and len(results):
        r = results[["point", "replication", "metric", "value"]]
        order = list(pd.unique(r["metric"]))
        wide = r.groupby(["metric", "replication", "point"], sort=True)["value"].mean().unstack("point")
        if reference in wide.columns:
            others = [p for p in wide.columns if p != reference and int(p) not in unpaired]
            d = wide[others].sub(wide[reference], axis=0)
            d = d.where(np.isfinite(d))
            g = d.groupby(level="metric")
            mean, std, n = g.mean(), g.std(ddof=1), g.count()
            long = pd.DataFrame({"difference": mean.unstack(), "std": std.unstack(),
                                 "n": n.unstack()}).reset_index()
            long.columns = ["point", "metric", "difference", "std", "n"]
            long = long[long["n"] > 0]
            nn = long["n"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                tcrit = t_quantile(0.5 + confidence / 2, np.where(nn > 1, nn - 1, np.nan))
                h = np.where(nn > 1, tcrit * long["std"].to_numpy(dtype=float) / np.sqrt(nn), np.nan)
            diff = long["difference"].to_numpy(dtype=float)
            long["ci_low"], long["ci_high"] = diff - h, diff + h
            long["reference"] = reference
            long["method"] = PAIRED_METHOD
            long["_order"] = long["metric"].map({m: i for i, m in enumerate(order)})
            frames.append(long)
        # each point's mean, std and count: for Welch's intervals, needed only for unpaired points
        stats = r.groupby(["point", "metric"])["value"].agg(["mean", "std", "count"]) if unpaired else None
    elif summary is not None and len(summary):
        order = list(pd.unique(summary["metric"]))
        stats = summary.groupby(["point", "metric"]).agg(mean=("mean", "first"), std=("std", "first"),
                                                          count=("n", "first"))
        unpaired = {int(p) for p in summary["point"].unique()}
    else:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    welch = []
    points = sorted({int(p) for p in stats.index.get_level_values("point")}) if stats is not None else []
    if reference in points:
        ref = stats.loc[reference]
        for p in points:
            if p == reference or p not in unpaired:
                continue
            here = stats.loc[p]
            for m in here.index.intersection(ref.index):
                a, b = ref.loc[m], here.loc[m]
                na, nb = int(a["count"]) if finite(a["count"]) else 0, int(b["count"]) if finite(b["count"]) else 0
                diff, lo, hi = welch_interval(a["mean"], a["std"], na, b["mean"], b["std"], nb, confidence)
                welch.append({"point": p, "metric": m, "difference": diff, "ci_low": lo, "ci_high": hi,
                              "n": min(na, nb), "reference": reference, "method": WELCH_METHOD,
                              "_order": order.index(m) if m in order else len(order)})
    if welch:
        frames.append(pd.DataFrame(welch))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True).sort_values(["point", "_order"], kind="stable")
    out["point"] = out["point"].astype("int64")
    out["n"] = out["n"].astype("int64")
    return out[columns].reset_index(drop=True)


def relative_halfwidths(summary: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """Rows of ``summary`` for ``metrics`` with the added column ``rel_halfwidth``."""
    rows = summary[summary["metric"].isin(list(metrics))].copy()
    h = (rows["ci_high"] - rows["ci_low"]) / 2
    rows["rel_halfwidth"] = [_relative(float(a), float(m)) for a, m in zip(h, rows["mean"])]
    return rows


def replications_needed(summary: pd.DataFrame, targets: Mapping[str, float]) -> int:
    """Replications per point for every target metric to reach its relative half-width.

    Uses the usual estimate n* = ceil(n (h / h*)^2) for each point and metric in ``targets``
    (metric -> target relative half-width of the 95% CI) and returns the largest. Returns
    0 when every target is already met; ``summary`` is a frame from `summarise`. A metric
    with fewer than two replications (NaN half-width) asks for at least two. Metrics absent
    from ``summary`` are ignored.
    """
    rows = relative_halfwidths(summary, targets)
    need = 0
    for metric, n, rel in zip(rows["metric"], rows["n"], rows["rel_halfwidth"]):
        target = float(targets[metric])
        if math.isnan(rel):
            need = max(need, 2 if n < 2 else int(n) + 1)
        elif rel > target:
            need = max(need, int(n) + 1 if math.isinf(rel) else math.ceil(n * (rel / target) ** 2))
    return need


# --------------------------------------------------------------------------- warm-up (MSER-5)
def mser5(series: Sequence[float] | np.ndarray, batch: int = 5, max_fraction: float = 0.5) -> int:
    """MSER-5 truncation point of a series (White 1997; White, Cobb and Spratt 2000).

    The series is cut into batches of ``batch`` observations (a trailing partial batch is
    dropped); for each candidate d the statistic is the variance of the batch means
    after the first d batches divided by the number left, i.e.
    ``sum((Z_j - mean(Z[d:]))^2) / (b - d)^2``. The d that minimises it over the first
    ``max_fraction`` of the batches is chosen, and the number of observations to delete,
    ``batch * d``, is returned (0: no warm-up needed). For a simulation, apply it to the
    mean over replications of a weekly series, which is much less noisy than one run.
    """
    x = np.asarray(series, dtype=float)
    x = x[~np.isnan(x)]
    b = x.size // batch
    if b < 2:
        return 0
    z = x[: b * batch].reshape(b, batch).mean(axis=1)
    dmax = max(0, min(b - 2, int(b * max_fraction)))
    # suffix sums give every candidate's statistic in O(b)
    rev = z[::-1]
    s1 = np.cumsum(rev)[::-1]          # sum of z[d:]
    s2 = np.cumsum(rev * rev)[::-1]    # sum of z[d:]^2
    m = np.arange(b, 0, -1, dtype=float)  # b - d
    ss = np.maximum(s2 - s1 * s1 / m, 0.0)
    stat = ss / (m * m)
    d = int(np.argmin(stat[: dmax + 1]))
    return batch * d


def mser5_rows(series: np.ndarray, batch: int = 5, max_fraction: float = 0.5) -> np.ndarray:
    """`mser5` of each row of a 2-d array at once (the same truncation points, row by row)."""
    x = np.asarray(series, dtype=float)
    out = np.zeros(x.shape[0], dtype=np.int64)
    gaps = np.isnan(x).any(axis=1)
    for i in np.flatnonzero(gaps):   # a row with gaps is shorter once they are dropped
        out[i] = mser5(x[i], batch, max_fraction)
    b = x.shape[1] // batch
    if b < 2 or gaps.all():
        return out
    z = x[~gaps, : b * batch].reshape(-1, b, batch).mean(axis=2)
    dmax = max(0, min(b - 2, int(b * max_fraction)))
    rev = z[:, ::-1]
    s1 = np.cumsum(rev, axis=1)[:, ::-1]
    s2 = np.cumsum(rev * rev, axis=1)[:, ::-1]
    m = np.arange(b, 0, -1, dtype=float)
    ss = np.maximum(s2 - s1 * s1 / m, 0.0)
    stat = ss / (m * m)
    out[~gaps] = batch * np.argmin(stat[:, : dmax + 1], axis=1)
    return out


def suggest_warmup(series: Mapping[Any, Sequence[float] | np.ndarray], batch: int = 5) -> dict[Any, int]:
    """MSER-5 truncation point of each named series (e.g. metric -> mean weekly series)."""
    return {name: mser5(s, batch=batch) for name, s in series.items()}


# --------------------------------------------------------------------------- Sobol indices
def sobol_problem(ranges: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """A SALib problem from ``{dotted key: (low, high)}``, in the given key order."""
    return {"num_vars": len(ranges), "names": list(ranges),
            "bounds": [[float(lo), float(hi)] for lo, hi in ranges.values()]}


def sobol_indices(problem: Mapping[str, Any], Y: Sequence[float] | np.ndarray, *, seed: int | None = None,
                  num_resamples: int = 100, conf_level: float = CONFIDENCE) -> pd.DataFrame:
    """First-order and total Sobol indices of one output from a Saltelli design.

    ``Y`` holds the output at each row of ``SALib.sample.sobol.sample(problem, N,
    calc_second_order=False)``, in the same order (N (D + 2) values). Returns one row per
    parameter: ``parameter, S1, S1_conf, ST, ST_conf`` (the ``_conf`` columns are the
    half-widths of SALib's bootstrap intervals at ``conf_level``; ``seed`` fixes them).
    An output that does not vary gives NaN indices instead of an error.
    """
    import pandas as pd

    from SALib.analyze import sobol as salib_sobol

    y = np.asarray(Y, dtype=float)
    names = list(problem["names"])
    d = len(names)
    if y.size == 0 or y.size % (d + 2) != 0:
        raise ValueError(f"a Saltelli design without second order has N x (D + 2) = N x {d + 2} rows; "
                         f"got {y.size} outputs")
    empty = pd.DataFrame({"parameter": names, "S1": np.nan, "S1_conf": np.nan, "ST": np.nan, "ST_conf": np.nan})
    if not np.all(np.isfinite(y)) or np.var(y) == 0:
        return empty
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        si = salib_sobol.analyze(dict(problem), y, calc_second_order=False, num_resamples=num_resamples,
                                 conf_level=conf_level, print_to_console=False, seed=seed)
    return pd.DataFrame({"parameter": names,
                         "S1": np.asarray(si["S1"], dtype=float), "S1_conf": np.asarray(si["S1_conf"], dtype=float),
                         "ST": np.asarray(si["ST"], dtype=float), "ST_conf": np.asarray(si["ST_conf"], dtype=float)})


def noise_share(results: pd.DataFrame, points: int) -> float:
    """Share of the variance of the per-point means that is replication noise.

    ``results`` holds one metric: columns ``point`` and ``value``, one row per replication.
    The noise variance of a point's mean is s^2 / n; its average over points divided by
    the variance of the means across points estimates how much of what Sobol analyses is
    noise rather than the parameters' effect (0: none; near 1: the indices mean little).
    Capped at 1 (both variances are estimates, and with few replications the noise
    estimate can exceed the total). NaN with fewer than two replications per point.

    Common random numbers: when every point ran the same replications (``replication``
    column, a full table), replication r of every point shares its random numbers, so a
    replication's own luck (a CD who resigns early in replication 0, at every point) shifts
    every point's mean alike and leaves the indices untouched. The noise is then the
    point-by-replication interaction (two-way residual variance, (P-1)(n-1) degrees of
    freedom) over n, not the whole within-point variance, which would count the shared luck
    as noise (it made the bundled sensitivity scenario's leadership indices "100% noise").
    """
    g = results.groupby("point")["value"]
    means = g.mean().reindex(range(points))
    var_of_mean = (g.var(ddof=1) / g.count()).reindex(range(points))
    total = float(np.nanvar(means.to_numpy(dtype=float), ddof=1)) if points > 1 else math.nan
    noise = float(np.nanmean(var_of_mean.to_numpy(dtype=float))) if var_of_mean.notna().any() else math.nan
    if "replication" in results.columns and points > 1:
        table = results.pivot_table(index="point", columns="replication", values="value", aggfunc="mean")
        if len(table) == points and table.shape[1] >= 2 and not table.isna().any().any():
            x = table.to_numpy(dtype=float)
            resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
            n = x.shape[1]
            noise = float((resid ** 2).sum() / ((points - 1) * (n - 1))) / n
    if math.isnan(noise) or math.isnan(total):
        return math.nan
    if total == 0:
        return math.nan if noise == 0 else 1.0
    return min(1.0, noise / total)  # both are estimates: a ratio above 1 means "all noise"


def sensitivity(results: pd.DataFrame, problem: Mapping[str, Any], points: int, *,
                seed: int | None = None, num_resamples: int = 100) -> pd.DataFrame:
    """Sobol indices of every metric of a Saltelli sweep.

    ``results``: long form with ``point`` (0..points-1, the design rows in order),
    ``replication``, ``metric`` and ``value``. For each metric the mean over replications
    at each design point is analysed with `sobol_indices`. Only replications finished at every
    point are used when there are any (after a failed cell, averaging the other points over
    more replications would break the common random numbers the design relies on); a metric
    missing at some point gets NaN indices. Columns: ``metric, parameter, S1, S1_conf, ST,
    ST_conf, noise_share`` (see `noise_share`).
    """
    import pandas as pd

    per_rep = results.groupby("replication")["point"].nunique()
    complete = per_rep.index[per_rep == points]
    if 0 < len(complete) < len(per_rep):
        results = results[results["replication"].isin(complete)]
    frames = []
    for metric, rows in results.groupby("metric", sort=False):
        y = rows.groupby("point")["value"].mean().reindex(range(points)).to_numpy(dtype=float)
        if np.isnan(y).any():
            table = pd.DataFrame({"parameter": list(problem["names"]), "S1": np.nan, "S1_conf": np.nan,
                                  "ST": np.nan, "ST_conf": np.nan})
        else:
            table = sobol_indices(problem, y, seed=seed, num_resamples=num_resamples)
        table.insert(0, "metric", metric)
        table["noise_share"] = noise_share(rows, points)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=list(SENSITIVITY_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SENSITIVITY_COLUMNS)]


def sobol_display(table: pd.DataFrame) -> pd.DataFrame:
    """Sobol indices as people should read them: each index and its 95% interval within [0, 1].

    Estimated indices leave [0, 1] (S1 = 1.05, ST = -0.02) from sampling error alone; an
    index is a share of variance, so it is shown clipped, with the interval
    ``[index - conf, index + conf]`` cut to [0, 1] as well (columns ``S1_low, S1_high,
    ST_low, ST_high``). The estimates in sensitivity.csv stay as SALib computed them.
    Rows keep their order; a row with NaN indices stays NaN."""
    import pandas as pd

    out = table.copy()
    for col in ("S1", "ST"):
        est = pd.to_numeric(out[col], errors="coerce")
        conf = pd.to_numeric(out.get(f"{col}_conf", pd.Series(np.nan, index=out.index)),
                             errors="coerce").abs()
        out[f"{col}_low"] = (est - conf.fillna(0)).clip(0, 1)
        out[f"{col}_high"] = (est + conf.fillna(0)).clip(0, 1)
        out[col] = est.clip(0, 1)
        # said, not hidden: the estimate SALib gave where it left [0, 1] (NaN where it did not)
        out[f"{col}_raw"] = est.where((est < 0) | (est > 1))
    return out


def top_levers(table: pd.DataFrame, metric: str, k: int = 3) -> pd.DataFrame:
    """The k parameters with the largest total index ST for one metric (`sobol_display`ed)."""
    rows = sobol_display(table[table["metric"] == metric])
    return rows.dropna(subset=["ST"]).sort_values("ST", ascending=False).head(k)
