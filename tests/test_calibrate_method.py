"""History matching on an analytic toy (no simulation), and the `calibration:` section's schema."""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pcnsim.config import CalibrationConfig, Scenario
from pcnsim.config.calibration import (DEFAULT_COUNT_DISCREPANCY, DEFAULT_SHARE_DISCREPANCY, numeric_key_problem,
                                       resolve_unknowns)
from pcnsim.experiment.history import (CONFIRM_BEST, CUTOFF, Emulator, Target, emulated_implausibility, history_match,
                                      implausibility, point_measure)

pytestmark = pytest.mark.unit

TRUTH = {"a": 4.0, "b": 2.0}


def toy(points: np.ndarray, wave: int):
    """y1 = a, y2 = a + b: known region around (4, 2); replication sd 0.05, 3 replications."""
    a, b = points[:, 0], points[:, 1]
    means = np.c_[a, a + b]
    return means, np.full_like(means, 0.05), 3


TARGETS = [Target("y1", 4.0, 0.3), Target("y2", 6.0, 0.3)]
RANGES = {"a": (0.0, 10.0), "b": (0.0, 10.0)}


def test_implausibility_is_the_distance_in_standard_deviations():
    targets = [Target("n", 100.0, 3.0), Target("s", 0.5, 0.02, share=True)]
    means = np.array([[106.0, 0.5], [100.0, 0.44]])
    sds = np.array([[0.0, 0.0], [4.0, 0.0]])
    got = implausibility(targets, means, sds, replications=4)
    assert got[0, 0] == pytest.approx(2.0)            # |100 - 106| / 3
    assert got[0, 1] == pytest.approx(0.0)
    assert got[1, 0] == pytest.approx(0.0)
    assert got[1, 1] == pytest.approx(3.0)            # 0.06 / 0.02
    # replication noise widens the denominator: sd 4 over 4 runs adds variance 4
    assert implausibility(targets, np.array([[106.0, 0.5]]), sds[1:], 4)[0, 0] == pytest.approx(6 / np.sqrt(13))
    # a metric the runs could not compute never fits
    assert np.isinf(implausibility(targets, np.array([[np.nan, 0.5]]), sds[:1], 4)[0, 0])


def test_the_measure_is_the_largest_then_the_second_largest_for_many_targets():
    few = np.array([[0.5, 4.0, 1.0]])
    assert point_measure(few)[0] == 4.0
    many = np.array([[0.5, 9.0, 1.0, 2.5, 0.1, 0.2]])
    assert point_measure(many)[0] == 2.5   # one odd target alone does not rule the point out
    # ... but only a share may be the one left out: a count (the volume) must always be met
    shares = [False, False, True, True, True, True]
    assert point_measure(many, shares)[0] == 9.0
    assert point_measure(np.array([[0.5, 1.0, 9.0, 2.5, 0.1, 0.2]]), shares)[0] == 2.5
    assert list(point_measure(np.array([[4.0, 1, 9, 2, 0, 0], [1.0, 1, 9, 8, 0, 0]]), shares)) == [4.0, 8.0]


def test_history_matching_finds_the_known_region_and_refocuses():
    fit = history_match(toy, TARGETS, RANGES, waves=3, points=20, seed=5)
    assert fit.fits, fit.verdict()
    assert fit.chosen["a"] == pytest.approx(TRUTH["a"], abs=0.6)
    assert fit.chosen["b"] == pytest.approx(TRUTH["b"], abs=0.9)
    assert fit.failing == []
    # the waves refocus: later boxes are smaller than the ranges, and still hold the truth
    last = fit.waves[-1]
    for key, (low, high) in last.box.items():
        assert low <= TRUTH[key] <= high
        assert high - low < 0.6 * (RANGES[key][1] - RANGES[key][0])
    # later waves find more non-implausible points than the first
    assert last.non_implausible.sum() > fit.waves[0].non_implausible.sum()
    for wave in fit.waves:
        ni = fit.ni_ranges(wave)
        if ni is not None:
            assert ni["a"][0] <= TRUTH["a"] + 0.3 * 3 and ni["a"][1] >= TRUTH["a"] - 0.3 * 3
    assert "A parameter set fits" in fit.verdict()


def test_the_fit_is_the_same_for_the_same_seed_and_differs_for_another():
    a = history_match(toy, TARGETS, RANGES, waves=2, points=12, seed=1)
    b = history_match(toy, TARGETS, RANGES, waves=2, points=12, seed=1)
    c = history_match(toy, TARGETS, RANGES, waves=2, points=12, seed=2)
    assert a.chosen == b.chosen
    assert a.chosen != c.chosen


def test_a_target_no_point_can_reach_is_named_and_there_is_no_fit():
    def with_unreachable(points, wave):
        means, sds, reps = toy(points, wave)
        return np.c_[means, points[:, 0]], np.c_[sds, np.full(len(points), 0.05)], reps

    targets = [*TARGETS, Target("y3", 50.0, 0.5)]   # y3 = a, and a is at most 10
    fit = history_match(with_unreachable, targets, RANGES, waves=2, points=12, seed=3)
    assert not fit.fits
    assert fit.unreachable == ["y3"]
    assert "y3" in fit.failing
    text = fit.verdict()
    assert text.startswith("No parameter set fits") and "y3" in text and "widen" in text


def test_targets_met_alone_but_not_together_are_said_so():
    def conflicting(points, wave):   # y1 = a and y2 = a: targets 2 and 8 cannot both hold
        a = points[:, 0]
        return np.c_[a, a], np.full((len(a), 2), 0.05), 3

    fit = history_match(conflicting, [Target("y1", 2.0, 0.5), Target("y2", 8.0, 0.5)], {"a": (0.0, 10.0)},
                        waves=2, points=10, seed=1)
    assert not fit.fits and fit.unreachable == []
    assert "not together" in fit.verdict()


def test_whole_number_unknowns_are_rounded_and_confirm_is_used():
    seen = []

    def confirm(point):
        seen.append(point.copy())
        return np.array([4.0, 6.0]), np.array([0.01, 0.01]), 10

    fit = history_match(toy, TARGETS, {"a": (0, 10), "b": (0.0, 10.0)}, waves=1, points=8, seed=1,
                        whole=[True, False], confirm=confirm)
    assert all(float(v).is_integer() for v in fit.waves[0].points[:, 0])
    assert isinstance(fit.chosen["a"], int)
    # the CONFIRM_BEST least implausible (distinct) points are run again; the chosen one is among them
    assert len(seen) == CONFIRM_BEST and fit.replications == 10 and fit.fits
    assert len({tuple(p) for p in seen}) == CONFIRM_BEST
    assert any(np.allclose(p, [fit.chosen["a"], fit.chosen["b"]]) for p in seen)
    assert len(fit.confirmed) == CONFIRM_BEST


# --------------------------------------------------------------------------- the emulator screen
def test_the_emulator_interpolates_a_smooth_response_and_knows_where_it_is_unsure():
    from scipy.stats import qmc

    def f(x):
        return np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    x = qmc.LatinHypercube(d=2, rng=np.random.default_rng(1)).random(30)
    em = Emulator(x, f(x))
    test = qmc.LatinHypercube(d=2, rng=np.random.default_rng(2)).random(200)
    mean, var = em.predict(test)
    err = np.abs(mean - f(test))
    assert err.max() < 0.1 * np.ptp(f(test))                 # accurate across the square
    assert (err <= 3 * np.sqrt(var) + 1e-3).mean() > 0.9      # its variance covers its errors
    _, at_runs = em.predict(x)
    _, far = em.predict(np.array([[3.0, 3.0]]))               # outside the runs: unsure
    assert far[0] > 100 * at_runs.max()


def test_the_emulator_averages_replication_noise():
    rng = np.random.default_rng(3)
    x = rng.random((60, 1))
    noisy = 2 * x[:, 0] + rng.normal(0, 0.2, 60)
    mean, _ = Emulator(x, noisy).predict(np.array([[0.25], [0.5], [0.75]]))
    assert mean == pytest.approx([0.5, 1.0, 1.5], abs=0.12)   # nearer the truth than one run's noise (0.2)


def test_the_screen_rules_out_by_emulated_implausibility_with_the_emulators_variance():
    x = np.linspace(0, 1, 12)[:, None]
    em = Emulator(x, 10 * x[:, 0])
    targets = [Target("y", 5.0, 0.2)]
    got = emulated_implausibility(targets, [em], np.array([[0.5], [0.9], [0.0]]))[:, 0]
    assert got[0] < 1 and got[1] > 10 and got[2] > 10
    # far from the runs the emulator's variance enters the denominator: less implausible than its mean says
    mean, var = em.predict(np.array([[4.0]]))
    far = emulated_implausibility(targets, [em], np.array([[4.0]]))[0, 0]
    assert var[0] > 0 and far < abs(5.0 - mean[0]) / 0.2


def noisy_toy(points: np.ndarray, wave: int):
    """Four unknowns, seven targets, replication noise (sd 0.1 over 3 runs): a small region fits."""
    rng = np.random.default_rng(wave)
    a, b, c, d = points.T
    means = np.c_[a * b, a + c, np.tanh(c - d), b - d, a * d / 10, c * b / 10, a + b + c + d]
    return means + rng.normal(0, 0.1 / np.sqrt(3), means.shape), np.full_like(means, 0.1), 3


def test_the_emulator_screen_finds_a_small_region_in_four_unknowns():
    truth = np.array([[6.0, 3.0, 2.0, 4.0]])
    z = [18.0, 8.0, np.tanh(-2.0), -1.0, 2.4, 0.6, 15.0]   # the toy's outputs at the truth
    targets = [Target(f"y{i}", float(v), 0.4) for i, v in enumerate(z)]
    ranges = {k: (0.0, 10.0) for k in "abcd"}
    fit = history_match(noisy_toy, targets, ranges, waves=4, points=20, seed=4)
    assert fit.fits, fit.verdict()
    assert [fit.chosen[k] for k in "abcd"] == pytest.approx(truth[0], abs=1.0)
    shares = [w.kept_share for w in fit.waves[1:]]
    assert fit.waves[0].kept_share is None and all(0 < s < 0.5 for s in shares)
    assert fit.waves[-1].non_implausible.mean() > 0.5 > fit.waves[0].non_implausible.mean()


# --------------------------------------------------------------------------- the section
def section(**kw) -> dict:
    return {"targets": {"appointments_per_year": 231000, "gp_appointment_share": 0.455,
                        "booked_share.same_day": 0.44}, **kw}


def test_the_section_validates_and_defaults_its_discrepancy():
    cal = CalibrationConfig.model_validate(section(discrepancy={"appointments_per_year": 0.05}))
    assert cal.sd("appointments_per_year") == pytest.approx(0.05 * 231000)       # relative for a count
    assert cal.sd("gp_appointment_share") == pytest.approx(DEFAULT_SHARE_DISCREPANCY)   # absolute for a share
    assert cal.sd("booked_share.same_day") == pytest.approx(DEFAULT_SHARE_DISCREPANCY)
    plain = CalibrationConfig.model_validate(section())
    assert plain.sd("appointments_per_year") == pytest.approx(DEFAULT_COUNT_DISCREPANCY * 231000)


@pytest.mark.parametrize("data, words", [
    (section(targets={"appointment_per_year": 1}), "did you mean 'appointments_per_year'"),
    (section(targets={"booked_share.someday": 0.1}), "not a booking-lead bin"),
    (section(targets={"gp_appointment_share": 45.5}), "fraction from 0 to 1"),
    (section(discrepancy={"wait_days_mean": 0.1}), "not one of the targets"),
    (section(discrepancy={"appointments_per_year": 0}), "above 0"),
    (section(unknowns={"demand.tolerance_days": (80.0, 5.0)}), "low < high"),
    ({"targets": {}}, "at least 1"),
])
def test_bad_sections_are_refused(data, words):
    with pytest.raises(ValidationError) as err:
        CalibrationConfig.model_validate(data)
    assert words in str(err.value)


def test_unknowns_must_be_numeric_parameters_of_the_scenario():
    assert numeric_key_problem(Scenario, "demand.tolerance_days") is None
    assert numeric_key_problem(Scenario, "pcn.practices") is None
    assert "not a scenario key" in numeric_key_problem(Scenario, "demand.nonsense")
    assert "not a numeric parameter" in numeric_key_problem(Scenario, "demand.weekday_profile")
    assert "not a model parameter" in numeric_key_problem(Scenario, "run.seed")
    with pytest.raises(ValidationError, match="demand has no 'nonsense'"):
        Scenario.model_validate({"calibration": section(unknowns={"demand.nonsense": (1.0, 2.0)})})


def test_default_unknowns_skip_keys_this_schema_lacks():
    cal = CalibrationConfig.model_validate(section())
    ranges, notes = resolve_unknowns(cal, Scenario)
    assert "demand.appointments_per_patient_year" in ranges and "demand.tolerance_days" in ranges
    for key in ("demand.planned_share", "demand.dna_scale"):   # delivery v3's keys: present or noted
        assert (key in ranges) != any(key in n for n in notes)
    own, none = resolve_unknowns(CalibrationConfig.model_validate(section(unknowns={"pcn.practices": (3, 6)})),
                                 Scenario)
    assert own == {"pcn.practices": (3, 6)} and none == []


def test_the_section_changes_nothing_else_and_is_carried():
    from pcnsim.scenario import dump_yaml

    plain = Scenario()
    assert "calibration" not in plain.model_dump()          # fingerprints of scenarios without one unchanged
    assert "calibration" not in dump_yaml(plain)
    with_it = Scenario.model_validate({"calibration": section()})
    assert with_it.model_dump()["calibration"]["targets"]["gp_appointment_share"] == 0.455
    assert "booked_share.same_day: 0.44" in dump_yaml(with_it)
    assert {k: v for k, v in with_it.model_dump().items() if k != "calibration"} == plain.model_dump()


def test_a_volume_the_staff_cannot_deliver_is_said_so():
    """`diagnose`: every point short of the appointments by more than 3 sd, GPs full where most
    was delivered: the verdict says the staff cannot deliver it (no simulation: a saturating toy)."""
    from pcnsim.experiment.calibrate import DIAGNOSTICS, diagnose

    def saturating(points, wave):   # appointments rise with demand a, then the staff are full at 100
        a = points[:, 0]
        return np.c_[np.minimum(20 * a, 100.0), 0.4 + 0.01 * a], np.full((len(a), 2), 0.5), 3

    targets = [Target("appointments_per_year", 130.0, 3.0), Target("gp_appointment_share", 0.45, 0.015, True)]
    fit = history_match(saturating, targets, {"a": (1.0, 10.0)}, waves=2, points=8, seed=1)
    assert not fit.fits and "appointments_per_year" in fit.failing
    every = np.vstack([w.points for w in fit.waves])[:, 0]
    extra = np.c_[np.minimum(every / 5, 1.0), np.full(len(every), 0.9), np.full(len(every), 0.7)]
    assert extra.shape[1] == len(DIAGNOSTICS)
    fit.diagnosis = diagnose(fit, extra)
    text = fit.verdict()
    assert "The staff cannot deliver this volume" in text and "GP utilisation 100%" in text and "23% short" in text
    # staff with room to spare: no such claim
    assert diagnose(fit, np.c_[extra[:, 0] * 0.5, extra[:, 1:]]) == []
