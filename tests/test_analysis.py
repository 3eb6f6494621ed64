"""Output analysis: t-, paired, Welch and bounded intervals, replication counts, MSER-5 and Sobol indices
(pcnsim.analysis)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pcnsim import analysis

pytestmark = pytest.mark.unit

ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_t_interval_matches_scipy():
    sample = np.array([12.1, 9.8, 11.4, 10.2, 13.0, 10.9, 11.7])
    mean, std, low, high, n = analysis.t_interval(sample)
    ref_low, ref_high = stats.t.interval(0.95, len(sample) - 1, loc=sample.mean(), scale=stats.sem(sample))
    assert n == 7
    assert mean == pytest.approx(sample.mean())
    assert std == pytest.approx(sample.std(ddof=1))
    assert (low, high) == (pytest.approx(ref_low, rel=1e-12), pytest.approx(ref_high, rel=1e-12))
    assert analysis.halfwidth(sample) == pytest.approx((ref_high - ref_low) / 2)
    assert analysis.relative_halfwidth(sample) == pytest.approx((ref_high - ref_low) / 2 / sample.mean())


def test_paired_and_welch_intervals_match_scipy():
    a = np.array([100.0, 110.0, 120.0, 130.0])
    b = np.array([101.0, 112.0, 123.0, 134.0])
    diff, low, high, n = analysis.paired_interval(a, b)
    ref = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert n == 4 and diff == pytest.approx(2.5)
    assert (low, high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    diff, low, high = analysis.welch_interval(a.mean(), a.std(ddof=1), 4, b.mean(), b.std(ddof=1), 4)
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(2.5) and (low, high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert all(math.isnan(x) for x in analysis.welch_interval(1.0, 0.5, 1, 2.0, 0.5, 4)[1:])


def test_bounded_interval_takes_the_catalogue_bounds():
    assert analysis.bounded_interval(0.5, -0.2, 1.2, metric="cd_overtime_hours_per_week") == (0.0, 1.2)
    assert analysis.bounded_interval(0.6, 0.15, 1.06, metric="arrs_vacancy_rate") == (0.15, 1.0)
    # demand met can exceed 1 (a backlog drawn down): the catalogue gives it no upper bound
    assert analysis.bounded_interval(0.99, 0.97, 1.01, metric="demand_met_share") == (0.97, 1.01)
    # without a metric: by kind, a share stops at 1 unless its mean is above 1
    assert analysis.bounded_interval(0.99, 0.97, 1.01, share=True) == (0.97, 1.0)
    assert analysis.bounded_interval(1.02, 0.98, 1.06, share=True) == (0.98, 1.06)


def test_summarise_groups_and_matches_scipy():
    rng = np.random.default_rng(5)
    rows = []
    for point in (0, 1):
        for rep in range(6):
            rows.append({"point": point, "k": 10 * point, "replication": rep, "metric": "a", "value": rng.normal(point, 1)})
            rows.append({"point": point, "k": 10 * point, "replication": rep, "metric": "b", "value": rng.normal(5, 2)})
    results = pd.DataFrame(rows)
    summary = analysis.summarise(results)
    assert list(summary.columns) == ["point", "k", "metric", "mean", "std", "ci_low", "ci_high", "n"]
    assert list(zip(summary["point"], summary["metric"])) == [(0, "a"), (0, "b"), (1, "a"), (1, "b")]
    for _, row in summary.iterrows():
        x = results[(results["point"] == row["point"]) & (results["metric"] == row["metric"])]["value"]
        low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
        assert row["n"] == 6


def test_one_replication_gives_nan_interval_not_a_crash():
    results = pd.DataFrame({"point": [0], "replication": [0], "metric": ["a"], "value": [3.0]})
    row = analysis.summarise(results).iloc[0]
    assert row["mean"] == 3.0 and row["n"] == 1
    assert math.isnan(row["std"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    assert analysis.t_interval([3.0])[0] == 3.0 and math.isnan(analysis.halfwidth([3.0]))


def test_replications_needed_uses_the_square_law():
    rng = np.random.default_rng(1)
    values = rng.normal(100, 10, 10)
    results = pd.DataFrame({"point": 0, "replication": range(10), "metric": "a", "value": values})
    summary = analysis.summarise(results)
    rel = analysis.relative_halfwidth(values)
    target = rel / 2
    assert analysis.replications_needed(summary, {"a": target}) in (40, 41)  # 10 x 2^2, rounding
    assert analysis.replications_needed(summary, {"a": rel * 1.01}) == 0
    assert analysis.replications_needed(summary, {"missing": 0.01}) == 0


def test_mser5_finds_an_initial_transient():
    rng = np.random.default_rng(7)
    weeks = np.arange(200)
    transient = 50 * np.exp(-weeks / 8.0)           # dies out by about week 40
    series = 100 + transient + rng.normal(0, 1, weeks.size)
    cut = analysis.mser5(series)
    assert cut % 5 == 0
    assert 20 <= cut <= 60
    # stationary noise: MSER-5 may cut some batches by chance, never more than half the series
    assert analysis.mser5(100 + rng.normal(0, 1, 200)) <= 100
    assert analysis.mser5([1.0, 2.0]) == 0                   # too short to judge
    assert analysis.suggest_warmup({"x": series})["x"] == cut


@pytest.mark.parametrize("weeks", [0, 4, 9, 10, 11, 104, 157])
def test_mser5_rows_is_mser5_row_by_row(weeks):
    """The block form `combine` uses: the same truncation as `mser5` of each row, gaps and ties included."""
    rng = np.random.default_rng(weeks)
    t = np.arange(weeks)
    rows = [100 + 50 * np.exp(-t / 8.0) + rng.normal(0, 1, weeks), rng.normal(0, 1, weeks), np.zeros(weeks),
            np.full(weeks, 3.25), np.round(rng.normal(0, 1, weeks)), -np.exp(-t / 3.0), 1e12 + rng.normal(0, 1, weeks)]
    gappy = rng.normal(0, 1, weeks)
    gappy[::7] = np.nan
    rows += [gappy, np.full(weeks, np.nan)]
    block = np.array(rows).reshape(len(rows), weeks)
    assert analysis.mser5_rows(block).tolist() == [analysis.mser5(r) for r in block]
    assert analysis.mser5_rows(block, batch=3, max_fraction=0.3).tolist() == \
        [analysis.mser5(r, batch=3, max_fraction=0.3) for r in block]


def test_sobol_indices_recover_ishigami():
    from SALib.sample import sobol as salib_sobol

    problem = analysis.sobol_problem({f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3)})
    x = salib_sobol.sample(problem, 2048, calc_second_order=False, seed=11)
    table = analysis.sobol_indices(problem, ishigami(x), seed=11)
    assert list(table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table["S1"].to_numpy() == pytest.approx(ISHIGAMI_S1, abs=0.04)
    assert table["ST"].to_numpy() == pytest.approx(ISHIGAMI_ST, abs=0.04)


def test_sobol_indices_of_a_constant_are_nan():
    problem = analysis.sobol_problem({"a": (0, 1), "b": (0, 1)})
    table = analysis.sobol_indices(problem, np.ones(4 * 8))
    assert table[["S1", "ST"]].isna().all().all()
    with pytest.raises(ValueError):
        analysis.sobol_indices(problem, np.ones(7))


def test_noise_share():
    rng = np.random.default_rng(3)
    signal = np.arange(20, dtype=float)
    rows = [{"point": p, "value": signal[p] + rng.normal(0, 0.01)} for p in range(20) for _ in range(4)]
    assert analysis.noise_share(pd.DataFrame(rows), 20) < 0.001
    noisy = [{"point": p, "value": rng.normal(0, 1)} for p in range(20) for _ in range(4)]
    assert analysis.noise_share(pd.DataFrame(noisy), 20) > 0.3


def test_sensitivity_uses_only_replications_finished_at_every_point():
    """A failed cell must not leave some points averaged over fewer replications than others."""
    from SALib.sample import sobol as salib_sobol

    problem = analysis.sobol_problem({f"x{i}": (-math.pi, math.pi) for i in (1, 2, 3)})
    x = salib_sobol.sample(problem, 64, calc_second_order=False, seed=5)
    points = len(x)
    rng = np.random.default_rng(1)
    rows = [{"point": p, "replication": r, "metric": "y", "value": ishigami(x[p:p + 1])[0] + 3 * r + rng.normal()}
            for r in range(3) for p in range(points)]
    full = pd.DataFrame(rows)
    failed = full[~((full["point"] == 7) & (full["replication"] == 2))]      # one failed cell
    expected = analysis.sensitivity(full[full["replication"] < 2], problem, points, seed=5)
    got = analysis.sensitivity(failed, problem, points, seed=5)
    assert got[["S1", "ST"]].to_numpy() == pytest.approx(expected[["S1", "ST"]].to_numpy())


def test_noise_share_leaves_out_luck_shared_by_every_point():
    """Common random numbers: a replication's own luck shifts every point alike and is not noise
    for the indices; only the point-by-replication interaction is (issue 28: the sensitivity
    scenario's leadership indices read "100% noise")."""
    rng = np.random.default_rng(5)
    signal = np.linspace(0, 1, 30)
    luck = rng.normal(0, 5, 6)                                  # far larger than the signal
    rows = [{"point": p, "replication": r, "value": signal[p] + luck[r] + rng.normal(0, 0.01)}
            for p in range(30) for r in range(6)]
    assert analysis.noise_share(pd.DataFrame(rows), 30) < 0.01
    unpaired = pd.DataFrame(rows).drop(columns="replication")
    assert analysis.noise_share(unpaired, 30) == 1.0            # without replication numbers: counted as noise
