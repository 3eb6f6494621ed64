"""Paired differences of sweep points, bounds instead of shrugs, drivers named, spread between CDs
(issue 25): pure functions on small frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pcnsim import analysis, metrics
from pcnsim.config import Scenario
from pcnsim.experiment.differences import reference_point, sweep_differences
from pcnsim.report.answers import (answer_sentences, change_words, compare_headline, moved_drivers,
                                   spread_sentences)

pytestmark = pytest.mark.unit


def long_results(values: dict[tuple[int, str], list[float]]) -> pd.DataFrame:
    """Long-form results from {(point, metric): one value per replication}."""
    rows = [{"point": p, "replication": r, "metric": m, "value": v}
            for (p, m), vs in values.items() for r, v in enumerate(vs)]
    return pd.DataFrame(rows)


def _crn(seed: int = 3, reps: int = 10) -> pd.DataFrame:
    """Three points sharing a large per-replication term (common random numbers): point 1 moves
    strain and overtime up a little, point 2 moves nothing."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 5, reps)                 # what the points share: far larger than the effect
    own = lambda: rng.normal(0, 0.2, reps)          # noqa: E731
    return long_results({
        (0, "cd_strain_mean"): list(10 + shared + own()),
        (1, "cd_strain_mean"): list(11 + shared + own()),
        (2, "cd_strain_mean"): list(10 + shared + own()),
        (0, "cd_overtime_hours_per_week"): list(2 + shared / 5 + own()),
        (1, "cd_overtime_hours_per_week"): list(3 + shared / 5 + own()),
        (2, "cd_overtime_hours_per_week"): list(2 + shared / 5 + own()),
        (0, "cd_slack_hours_per_week"): list(1 + own()),
        (1, "cd_slack_hours_per_week"): list(1 + own()),
        (2, "cd_slack_hours_per_week"): list(1 + own()),
    })


def test_point_differences_pair_replications_and_match_paired_interval():
    results = _crn()
    table = analysis.point_differences(results, 0)
    assert list(table.columns) == list(analysis.DIFFERENCE_COLUMNS)
    assert sorted(set(table["point"])) == [1, 2] and (table["reference"] == 0).all()
    for (p, m), row in table.set_index(["point", "metric"]).iterrows():
        a = results[(results["point"] == 0) & (results["metric"] == m)].sort_values("replication")["value"]
        b = results[(results["point"] == p) & (results["metric"] == m)].sort_values("replication")["value"]
        diff, lo, hi, n = analysis.paired_interval(a.to_numpy(), b.to_numpy())
        assert row["difference"] == pytest.approx(diff) and row["n"] == n == 10
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
        assert row["method"] == analysis.PAIRED_METHOD
    strain = table.set_index(["point", "metric"]).loc[(1, "cd_strain_mean")]
    assert strain["ci_low"] > 0                                    # paired: the shared noise cancels
    summary = analysis.summarise(results, by=["point"])
    welch = analysis.point_differences(None, 0, summary=summary).set_index(["point", "metric"])
    assert (welch["method"] == analysis.WELCH_METHOD).all()
    assert welch.loc[(1, "cd_strain_mean"), "ci_low"] < 0        # unpaired: lost in the shared noise
    other = analysis.point_differences(results, 2, unpaired=[1]).set_index(["point", "metric"])
    assert sorted(set(other.index.get_level_values(0))) == [0, 1]
    assert other.loc[(1, "cd_strain_mean"), "method"] == analysis.WELCH_METHOD
    assert other.loc[(0, "cd_strain_mean"), "method"] == analysis.PAIRED_METHOD


def test_a_missing_replication_is_left_out_of_the_pairs():
    results = _crn()
    results = results[~((results["point"] == 1) & (results["replication"] == 4))]
    table = analysis.point_differences(results, 0).set_index(["point", "metric"])
    assert table.loc[(1, "cd_strain_mean"), "n"] == 9 and table.loc[(2, "cd_strain_mean"), "n"] == 10


def test_summary_spread_columns_are_quantiles_of_the_replications():
    results = _crn()
    plain = analysis.summarise(results, by=["point"])
    assert "p10" not in plain                                      # opt-in: the weekly figures skip it
    s = analysis.summarise(results, by=["point"], spread=True)
    assert list(s.columns)[-3:] == list(analysis.SPREAD_COLUMNS)
    for _, row in s.iterrows():
        x = results[(results["point"] == row["point"]) & (results["metric"] == row["metric"])]["value"]
        assert (row["p10"], row["p50"], row["p90"]) == pytest.approx(tuple(np.quantile(x, [0.1, 0.5, 0.9])))
    pd.testing.assert_frame_equal(s[plain.columns], plain)        # the other columns are unchanged


def test_a_change_is_a_direction_and_size_or_a_bound():
    m = "cd_resignations_per_year"
    lower = change_words(m, {"difference": -0.05, "ci_low": -0.08, "ci_high": -0.02})
    assert lower == "0.050 a year lower (0.020 to 0.080)"       # two significant figures of the half-width
    bound = change_words(m, {"difference": 0.001, "ci_low": -0.03, "ci_high": 0.032})
    assert bound == "any effect is smaller than ±0.032 a year"
    leaning = change_words("cd_leadership_hours_per_week", {"difference": 3.0, "ci_low": -0.03, "ci_high": 5.9})
    assert leaning.startswith("any effect is smaller than ±5.9 hours a week (estimate +3.0, 95% CI")
    share = change_words("leadership_tasks_overdue_share", {"difference": -0.26, "ci_low": -0.40, "ci_high": -0.11})
    assert share == "26 points lower (11 to 40)"
    assert change_words(m, {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}) == "the same in every replication"
    rare = change_words(m, {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}, bound=0.37)
    assert rare.startswith("any effect is smaller than ±0.37 a year (no replication differed")
    assert "no interval" in change_words(m, {"difference": 0.1, "ci_low": np.nan, "ci_high": np.nan})


def test_drivers_are_catalogue_metrics_and_carry_a_direction():
    for m in metrics.CATALOGUE.values():
        for d in m.drivers:
            assert d.lstrip("-") in metrics.CATALOGUE, (m.name, d)
            assert d.lstrip("-") != m.name, m.name
    assert metrics.drivers("cd_resignations_per_year") == (("cd_strain_mean", 1),)
    assert ("cd_slack_hours_per_week", -1) in metrics.drivers("cd_strain_mean")
    assert metrics.drivers("cd_strain_mean.representative")[0] == ("cd_overtime_hours_per_week.representative", 1)
    assert metrics.drivers("not_a_metric") == ()
    rows = {"cd_overtime_hours_per_week": {"difference": -3.6, "ci_low": -5.0, "ci_high": -2.0},
            "cd_slack_hours_per_week": {"difference": 4.6, "ci_low": 2.0, "ci_high": 7.0},
            "cd_protected_hours_displaced_per_week": {"difference": 1.6, "ci_low": 0.5, "ci_high": 2.5},
            "cd_displaced_clinical_hours_per_week": {"difference": -0.1, "ci_low": -1.0, "ci_high": 0.8}}
    text = moved_drivers("cd_strain_mean", -4.3, rows.get)
    assert text == (", through CD unpaid overtime (-3.6 hours a week) and CD protected time with no task to do "
                    "(+4.6 hours a week); partly offset by CD protected time taken by meetings or requests "
                    "(+1.6 hours a week)")                          # clinics given up did not move: not named
    assert moved_drivers("cd_strain_mean.other", -4.3, rows.get).startswith(", through CD unpaid overtime")
    assert moved_drivers("wait_days_mean", 1.0, rows.get) == ""


def _summary_and_differences():
    results = _crn()
    summary = analysis.summarise(results, by=["point"], spread=True)
    return summary, analysis.point_differences(results, 0)


def test_the_answer_pairs_each_point_with_the_reference_and_names_the_drivers():
    summary, diffs = _summary_and_differences()
    names = {0: "baseline", 1: "more meetings", 2: "same"}
    lines = answer_sentences(summary, ["cd_strain_mean", "wait_days_mean"], names, differences=diffs)
    strain = lines[0]
    assert "Against baseline, replication by replication (10 replications, common random numbers):" in strain
    assert "at more meetings: 1.12 higher (0.99 to 1.25), through CD unpaid overtime (+0.90 hours a week);" in strain
    assert "at same: any effect is smaller than ±" in strain
    assert "within the noise" not in " ".join(lines)
    assert lines[-1].startswith("Not in this run's results: mean wait")


def test_many_points_are_summarised_with_the_largest_change_and_a_bound():
    reps = 6
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 3, reps)
    values = {(p, "cd_overtime_hours_per_week"): list(2 + (0.5 * p if p >= 6 else 0) + shared
                                                      + rng.normal(0, 0.1, reps)) for p in range(9)}
    results = long_results(values)
    summary = analysis.summarise(results, by=["point"])
    line = answer_sentences(summary, ["cd_overtime_hours_per_week"], differences=analysis.point_differences(results, 0))[0]
    assert "3 of 8 points differ clearly; the largest change is at point 8: 3.96 hours a week higher (3.84 to 4.09)" in line
    assert "; at the other 5 points any effect is smaller than ±" in line


def test_a_rare_count_no_replication_changes_is_bounded_by_the_exact_intervals():
    """Resignations equal at every point of every replication (common random numbers, few
    events): the pairs carry no information, so the bound comes from each point's exact interval."""
    results = long_results({(p, "cd_resignations_per_year"): [0.0, 0.5, 0.0, 0.0, 0.0] for p in range(8)})
    summary = analysis.summarise(results, by=["point"], exposure=2.0, rare=metrics.RARE)
    diffs = analysis.point_differences(results, 0)
    line = answer_sentences(summary, ["cd_resignations_per_year"], differences=diffs)[0]
    lo, hi = analysis.poisson_interval(1, 10)
    assert line.startswith("CD resignations: 0.10 a year at every point.")
    assert f"none of the 7 points differs clearly; at each of them any effect is smaller than ±{hi - lo:.2f} a year" in line
    few = answer_sentences(summary[summary["point"] < 3], ["cd_resignations_per_year"],
                           differences=diffs[diffs["point"] < 3])[0]
    assert "at point 1: any effect is smaller than ±0.55 a year (no replication differed" in few


def test_spread_between_cds_is_said_for_late_tasks_and_role_hours():
    results = long_results({(0, "leadership_tasks_overdue_share"): [0.08, 0.2, 0.3, 0.5, 0.9, 1.0],
                            (0, "cd_role_hours_per_week"): [5, 10, 12, 15, 22, 30]})
    summary = analysis.summarise(results, by=["point"], spread=True)
    lines = spread_sentences(summary)
    assert lines[0].startswith("Spread between CDs of leadership tasks late or never done: across replications "
                               "(one PCN and its CD each), the middle 80% lie between 14.0% and 95.0%.")
    assert "more replications narrow the interval, not the spread" in lines[0]
    assert "between 7.5 and 26.0 hours a week" in lines[1]
    ics = spread_sentences(summary, pcns=10)[0]
    assert ics.startswith("Spread between replications of leadership tasks late or never done: across replications "
                          "(each the mean of 10 PCNs' CDs; single CDs vary more)")
    assert spread_sentences(summary.drop(columns=["p10", "p50", "p90"])) == []
    assert answer_sentences(summary, ["leadership_tasks_overdue_share"])[2] == lines[0]   # after "In short"


def test_the_reference_point_and_which_points_share_random_numbers():
    assert reference_point({"report": {"reference": 2}}, [0, 1, 2]) == 2
    assert reference_point({"report": {"reference": 7}}, [0, 1, 2]) == 0
    assert reference_point({}, [3, 1]) == 1 and reference_point(None, []) is None
    results = _crn()
    table = sweep_differences(results, None, "grid", {"report": {"reference": 1}},
                              {0: {"k": 0}, 1: {"k": 1}, 2: {"k": 2}}.get, ["k"])
    assert list(table.columns[:3]) == ["point", "k", "metric"] and set(table["reference"]) == {1}
    assert sweep_differences(results, None, "sobol", {}, {0: {}}.get, []) is None
    icss = {0: {"ics.name": "A"}, 1: {"ics.name": "B"}, 2: {"ics.name": "C"}}
    assert sweep_differences(results, None, "points", {}, icss.get, ["ics.name"]) is None   # other systems
    summary = analysis.summarise(results, by=["point"])
    assert answer_sentences(summary, ["cd_strain_mean"], differences=pd.DataFrame())[0].count("Against") == 0
    ok = Scenario.model_validate({"sweep": {"grid": {"ics.meeting_load": (1, 2, 3)}}, "report": {"reference": 2}})
    assert ok.report.reference == 2
    for bad in ({"report": {"reference": 3}, "sweep": {"grid": {"ics.meeting_load": (1, 2, 3)}}},
                {"report": {"reference": 0}, "sweep": {"lhs": {"n": 4, "ranges": {"ics.meeting_load": (1, 2)}}}}):
        with pytest.raises(ValueError, match="report.reference"):
            Scenario.model_validate(bad)


def test_compare_states_a_bound_and_the_drivers_that_moved():
    df = pd.DataFrame([
        {"metric": "cd_strain_mean", "point_a": 0, "point_b": 0, "mean_a": 10.0, "mean_b": 12.0,
         "difference": 2.0, "ci_low": 1.0, "ci_high": 3.0, "distinguishable": True},
        {"metric": "cd_overtime_hours_per_week", "point_a": 0, "point_b": 0, "mean_a": 1.0, "mean_b": 2.2,
         "difference": 1.2, "ci_low": 0.5, "ci_high": 1.9, "distinguishable": True},
        {"metric": "wait_days_mean", "point_a": 0, "point_b": 0, "mean_a": 4.6, "mean_b": 4.7,
         "difference": 0.1, "ci_low": -0.2, "ci_high": 0.4, "distinguishable": False},
    ])
    lines = compare_headline(df, ["cd_strain_mean", "wait_days_mean"], "", "A", "B")
    assert lines[0] == ("In short, from A to B: Delivery: no clear change in mean wait for an appointment (smaller "
                        "than ±0.40 working days). Leadership time: CD unpaid overtime rose by 1.2 hours a week. "
                        "Retention: CD strain (mean weekly) rose by 2.0.")
    assert lines[1].endswith("higher by 2.0 (95% CI +1.0 to +3.0), through CD unpaid overtime (+1.2 hours a week).")
    assert "any effect is smaller than ±0.40 working days" in lines[2]
