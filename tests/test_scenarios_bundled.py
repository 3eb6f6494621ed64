"""The bundled story scenarios load, validate, and tell their story in a short run.

Each story is checked on a shortened run (a year or less, a few replications, fixed seeds,
common random numbers across the points) and only in the directions that are robust: the
ones that follow from the model's logic, not from a lucky draw. Directions that are real
on the full run but too noisy for a short one (resignations, overtime under protected
time) are described in docs/model.md and not asserted here.
"""
from pathlib import Path

import numpy as np
import pytest

from pcnsim.experiment import plan_points
from pcnsim.model import simulate
from pcnsim.scenario import apply_values, load_scenario

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
STORIES = ("protected-time", "leadership-investment", "ics-forum", "system-demands", "knife-edge")


def short(name: str, horizon: int, warmup: int, replications: int, **more):
    """The story's scenario points, each with a shortened `run` section (and `more` overrides)."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    _, points, scenarios = plan_points(scenario)
    values = {"run.horizon_weeks": horizon, "run.warmup_weeks": warmup,
              "run.replications": replications, "run.seed": 20190701, **more}
    return points, [apply_values(s, values, where=f"short {name}") for s in scenarios]


def mean_metrics(scenario, replications: int) -> dict[str, float]:
    runs = [simulate(scenario, r).metrics for r in range(replications)]
    return {k: float(np.mean([m[k] for m in runs])) for k in runs[0]}


@pytest.mark.parametrize("path", sorted(SCENARIOS.rglob("*.yaml")),
                         ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_every_bundled_scenario_loads_and_validates(path):
    scenario = load_scenario(path)
    assert scenario.name
    _, points, scenarios = plan_points(scenario)   # every sweep point validates too
    assert len(points) == len(scenarios) >= 1


@pytest.mark.parametrize("name", STORIES)
def test_story_scenarios_are_documented_sweeps_of_the_baseline(name):
    text = (SCENARIOS / f"{name}.yaml").read_text()
    assert "extends: baseline" in text
    scenario = load_scenario(name)
    assert scenario.name == name
    assert len(scenario.description.split()) >= 60, "a trainer reads the description out"
    assert scenario.sweep is not None


def test_protected_time_cuts_displaced_clinics_and_lost_appointments():
    points, scenarios = short("protected-time", 52, 4, 8)
    assert [p["clinical_director.extra_protected_sessions"] for p in points] == [0, 1, 2, 3, 4]
    # 8 replications of the three points compared: CDs' commitment spreads widely (CV 0.8), and a
    # CD at the caps strains more with a longer paid week, so 4 draws can reverse the mean
    none, two, four = (mean_metrics(scenarios[i], 8) for i in (0, 2, 4))
    assert none["cd_protected_hours_per_week"] < two["cd_protected_hours_per_week"] < four["cd_protected_hours_per_week"]
    assert none["cd_displaced_clinical_hours_per_week"] > two["cd_displaced_clinical_hours_per_week"] \
        > four["cd_displaced_clinical_hours_per_week"]
    assert none["lost_appointments_per_year"] > two["lost_appointments_per_year"] > four["lost_appointments_per_year"]
    assert none["cd_strain_mean"] > four["cd_strain_mean"]
    # the cost side of the story: protected sessions replace the CD's clinics (extra_protected_from's default,
    # clinics_backfilled), which locums run: the cost is money, not the practices' GP appointments
    assert four["cd_clinical_hours_per_week"] < none["cd_clinical_hours_per_week"]
    assert none["locum_sessions_per_year"] < two["locum_sessions_per_year"] < four["locum_sessions_per_year"]
    assert four["spend_per_year"] > none["spend_per_year"]


def test_leadership_investment_steps():
    points, scenarios = short("leadership-investment", 52, 4, 4)
    no_manager, today, more_cd, backfill_meetings, backfill_all = (mean_metrics(s, 4) for s in scenarios)
    assert points[0]["funding.manager_wte"] == 0 and points[4]["funding.backfill_leadership"] is True
    # a manager takes operations work off the director: less overtime and strain
    assert no_manager["manager_hours_used_per_week"] == 0 < today["manager_hours_used_per_week"]
    assert no_manager["cd_overtime_hours_per_week"] > today["cd_overtime_hours_per_week"]
    assert no_manager["cd_strain_mean"] > today["cd_strain_mean"]
    # twice the CD time: fewer clinics given up, fewer appointments lost; the two sessions beyond the DES
    # rate's release the CD from two clinics a locum runs (docs/model.md 2.5), not from the days off
    assert more_cd["cd_protected_hours_per_week"] > 1.8 * today["cd_protected_hours_per_week"]
    assert more_cd["cd_displaced_clinical_hours_per_week"] < today["cd_displaced_clinical_hours_per_week"]
    assert more_cd["lost_appointments_per_year"] < today["lost_appointments_per_year"]
    assert more_cd["cd_clinical_hours_per_week"] < today["cd_clinical_hours_per_week"]
    assert today["locum_sessions_per_year"] == 0 and more_cd["locum_sessions_per_year"] > 70
    # backfilled meetings buy nothing here: the meeting-aware diary puts every meeting the CD is expected
    # at in protected time (docs/model.md 2.5), so no clinic is left for a meeting and no locum is paid
    assert backfill_meetings["locum_sessions_per_year"] == more_cd["locum_sessions_per_year"]
    assert backfill_meetings["lost_appointments_per_year"] == more_cd["lost_appointments_per_year"]
    # backfilling leadership clinics too: no appointment is lost to the director's work
    assert backfill_all["lost_appointments_per_year"] == 0
    assert backfill_all["locum_sessions_per_year"] > backfill_meetings["locum_sessions_per_year"]
    assert backfill_all["spend_per_year"] > today["spend_per_year"]


def test_ics_forum_saves_director_time_at_a_cost_in_representation():
    # the scenario's 10 PCNs over 30 weeks: with two representatives of ten, a CD's system
    # meeting hours fall well below those of every CD invited (to about 45% on the full run)
    points, scenarios = short("ics-forum", 30, 4, 2)
    assert [p["ics.representation"] for p in points] == ["all", "forum"]
    every_cd, forum = (mean_metrics(s, 2) for s in scenarios)
    assert forum["cd_meeting_hours_per_week"] < 0.7 * every_cd["cd_meeting_hours_per_week"]
    # meetings sit in the CDs' protected time (meeting-aware diaries): fewer meetings give protected time back
    assert forum["cd_protected_hours_displaced_per_week"] < every_cd["cd_protected_hours_displaced_per_week"]
    # and the representatives carry the load: more meeting hours than the others, with preparation
    assert forum["cd_meeting_hours_per_week.representative"] > 3 * forum["cd_meeting_hours_per_week.other"]
    # two representatives with meeting-aware diaries miss a meeting only when both are away (0.98 on 80 weeks)
    assert forum["representation_share"] <= every_cd["representation_share"]
    assert forum["representation_share"] > 0.6       # primary care still represented at most meetings
    assert every_cd["representation_share"] > 0.9
    # but being in the room is not being heard: the forum carries the unseated CDs' views to the seats
    assert forum["cd_involved_share.unseated"] > 2 * every_cd["cd_involved_share.unseated"]
    assert forum["cd_involved_share"] > every_cd["cd_involved_share"]
    # and two representatives hold fewer seats than the three seat holders with everyone there
    assert forum["cd_always_involved_share"] < every_cd["cd_always_involved_share"]


def test_system_demands_cost_clinics_appointments_and_strain():
    points, scenarios = short("system-demands", 52, 4, 4)
    assert [p["ics.meeting_load"] for p in points] == [0.5, 1, 2, 3]
    m = [mean_metrics(s, 4) for s in scenarios]
    for key in ("cd_meeting_hours_per_week", "cd_displaced_clinical_hours_per_week",
                "lost_appointments_per_year"):
        values = [x[key] for x in m]
        assert values == sorted(values) and values[0] < values[-1], (key, values)
    assert m[3]["cd_overtime_hours_per_week"] > m[0]["cd_overtime_hours_per_week"]
    assert m[3]["cd_strain_mean"] > m[0]["cd_strain_mean"]


def test_knife_edge_moves_the_baselines_demand_and_gp_time_by_the_stated_errors():
    """The points are the baseline's own inputs x 1, 0.95, 1.05 (demand) and 0.9, 1.1 (GP WTE): if the
    baseline's defaults move, update scenarios/knife-edge.yaml and rerun `python -m pcnsim.cli.knife_edge`."""
    base = load_scenario("baseline")
    demand, gps = base.demand.appointments_per_patient_year, base.gps.wte_per_10k
    points, _ = short("knife-edge", 20, 4, 1)
    got = [(p["demand.appointments_per_patient_year"], p["gps.wte_per_10k"]) for p in points]
    want = [(demand, gps), (demand * 0.95, gps), (demand * 1.05, gps), (demand, gps * 0.9), (demand, gps * 1.1)]
    assert got == [pytest.approx(w) for w in want]
    assert load_scenario("knife-edge").report.reference == 0


def test_knife_edge_waits_and_unmet_follow_demand_and_gp_time():
    """More demand or fewer GPs: longer waits and more unmet; paired by common random numbers."""
    points, scenarios = short("knife-edge", 52, 26, 2)
    m = [mean_metrics(s, 2) for s in scenarios]
    for key in ("wait_days_mean", "unmet_per_year", "booked_over_14_days_share"):
        assert m[1][key] < m[0][key] < m[2][key], key       # demand -5%, baseline, +5%
        assert m[4][key] < m[0][key] < m[3][key], key       # GP WTE +10%, baseline, -10%
