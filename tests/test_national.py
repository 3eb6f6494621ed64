"""National totals of an ICS-per-point sweep (pcnsim.report.national)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pcnsim.report.national import aggregate_of, national_totals

pytestmark = pytest.mark.unit

POINTS = [{"ics.name": "NHS Small ICB", "ics.pcns": 10}, {"ics.name": "NHS Large ICB", "ics.pcns": 30}]

# per-PCN metrics of the two points, by replication
PER_PCN = {
    0: {"appointments_per_year": [100.0, 110.0], "requests_per_year": [120.0, 120.0],
        "demand_met_share": [100 / 120, 110 / 120], "cd_overtime_hours_per_week": [2.0, 4.0],
        "arrs_staff_wte": [20.0, 21.0], "spend_per_year": [1000.0, 1200.0],
        "cost_per_appointment": [10.0, 1200 / 110], "pcns_simulated": [10.0, 30.0]},
    1: {"appointments_per_year": [104.0, 112.0], "requests_per_year": [121.0, 118.0],
        "demand_met_share": [104 / 121, 112 / 118], "cd_overtime_hours_per_week": [3.0, 5.0],
        "arrs_staff_wte": [19.0, 22.0], "spend_per_year": [1010.0, 1190.0],
        "cost_per_appointment": [1010 / 104, 1190 / 112], "pcns_simulated": [10.0, 30.0]},
}


def results_frame(reps=(0, 1)) -> pd.DataFrame:
    rows = []
    for rep in reps:
        for metric, values in PER_PCN[rep].items():
            for point, value in enumerate(values):
                rows.append({"point": point, **POINTS[point], "replication": rep, "metric": metric, "value": value})
    return pd.DataFrame(rows)


def expected(rep: int) -> dict[str, float]:
    m = PER_PCN[rep]
    appts = 10 * m["appointments_per_year"][0] + 30 * m["appointments_per_year"][1]
    reqs = 10 * m["requests_per_year"][0] + 30 * m["requests_per_year"][1]
    spend = 10 * m["spend_per_year"][0] + 30 * m["spend_per_year"][1]
    return {"appointments_per_year": appts, "requests_per_year": reqs, "spend_per_year": spend,
            "arrs_staff_wte": 10 * m["arrs_staff_wte"][0] + 30 * m["arrs_staff_wte"][1],
            "cd_overtime_hours_per_week": (10 * m["cd_overtime_hours_per_week"][0]
                                           + 30 * m["cd_overtime_hours_per_week"][1]) / 40,
            "demand_met_share": appts / reqs, "cost_per_appointment": spend / appts, "pcns_simulated": 40.0}


def test_aggregate_kinds():
    assert aggregate_of("appointments_per_year") == "total"
    assert aggregate_of("cd_resignations_per_year") == "total"
    assert aggregate_of("arrs_staff_wte") == "total"
    assert aggregate_of("backlog_end") == "total"
    assert aggregate_of("cd_overtime_hours_per_week") == "mean"
    assert aggregate_of("meetings_attended_share") == "mean"
    assert aggregate_of("demand_met_share") == "ratio"
    assert aggregate_of("pcns_simulated") == "sum"


def test_one_replication_totals_means_and_ratios():
    out = national_totals(results_frame(reps=(0,)), POINTS).set_index("metric")
    want = expected(0)
    for metric, value in want.items():
        assert out.loc[metric, "value"] == pytest.approx(value, rel=1e-12), metric
    assert out.loc["appointments_per_year", "value"] == 10 * 100 + 30 * 110
    assert out.loc["appointments_per_year", "aggregate"] == "total"
    assert out.loc["cd_overtime_hours_per_week", "value"] == pytest.approx(3.5)
    assert (out["n"] == 1).all() and (out["pcns"] == 40).all()
    assert out["ci_low"].isna().all() and out["ci_high"].isna().all()
    assert list(out.index) == list(PER_PCN[0])          # metric order kept


def test_replications_give_mean_and_t_interval_of_national_figures():
    out = national_totals(results_frame(), POINTS).set_index("metric")
    for metric in ("appointments_per_year", "cd_overtime_hours_per_week", "demand_met_share"):
        sample = np.array([expected(0)[metric], expected(1)[metric]])
        low, high = stats.t.interval(0.95, 1, loc=sample.mean(), scale=stats.sem(sample))
        assert out.loc[metric, "value"] == pytest.approx(sample.mean())
        assert out.loc[metric, "ci_low"] == pytest.approx(low)
        assert out.loc[metric, "ci_high"] == pytest.approx(high)
        assert out.loc[metric, "n"] == 2


def test_pcns_from_the_results_column_or_a_scenario():
    res = results_frame()
    a = national_totals(res, POINTS)
    b = national_totals(res)                                       # the swept `ics.pcns` column
    pd.testing.assert_frame_equal(a, b)

    class Sweep:
        points = tuple(POINTS)

    class ScenarioLike:
        sweep = Sweep()
        ics = None

    pd.testing.assert_frame_equal(a, national_totals(res, ScenarioLike()))

    class RunLike:
        results = res

    pd.testing.assert_frame_equal(a, national_totals(RunLike(), POINTS))


def test_summary_input_sums_means_and_bounds_the_interval():
    res = results_frame()
    rows = []
    for (point, metric), g in res.groupby(["point", "metric"], sort=False):
        v = g["value"].to_numpy()
        h = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
        rows.append({"point": point, "metric": metric, "mean": v.mean(), "std": v.std(ddof=1),
                     "ci_low": v.mean() - h, "ci_high": v.mean() + h, "n": len(v)})
    summary = pd.DataFrame(rows)
    out = national_totals(summary, POINTS).set_index("metric")
    full = national_totals(res, POINTS).set_index("metric")
    # totals and weighted means are linear: the same point estimate either way
    for metric in ("appointments_per_year", "arrs_staff_wte", "cd_overtime_hours_per_week"):
        assert out.loc[metric, "value"] == pytest.approx(full.loc[metric, "value"])
    half = summary.assign(h=(summary.ci_high - summary.ci_low) / 2).set_index(["metric", "point"])["h"]
    assert out.loc["appointments_per_year", "ci_high"] - out.loc["appointments_per_year", "value"] == \
        pytest.approx(10 * half[("appointments_per_year", 0)] + 30 * half[("appointments_per_year", 1)])
    assert math.isnan(out.loc["demand_met_share", "ci_low"])       # no bound for a ratio
    assert out.loc["demand_met_share", "value"] == pytest.approx(
        out.loc["appointments_per_year", "value"] / out.loc["requests_per_year", "value"])


def test_incomplete_replications_are_left_out_and_missing_points_refused():
    res = results_frame()
    partial = res[~((res.replication == 1) & (res.point == 1))]
    out = national_totals(partial, POINTS).set_index("metric")
    assert (out["n"] == 1).all()
    assert out.loc["appointments_per_year", "value"] == expected(0)["appointments_per_year"]
    with pytest.raises(ValueError, match="every ICS"):
        national_totals(res[res.point == 0], POINTS)
    with pytest.raises(ValueError, match="ics.pcns"):
        national_totals(res.drop(columns=["ics.pcns"]), [{"ics.name": "x"}, {"ics.name": "y"}])


def test_empty_frame_gives_empty_table():
    out = national_totals(pd.DataFrame(columns=["point", "replication", "metric", "value"]), POINTS)
    assert out.empty and list(out.columns) == ["metric", "aggregate", "value", "ci_low", "ci_high", "n", "pcns"]
