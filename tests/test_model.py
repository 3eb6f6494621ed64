"""The model's invariants and limit cases, on short horizons so that the suite stays fast."""
import math

import numpy as np
import pytest

from pcnsim.config import ARRS_ROLES, SESSION_HOURS, Scenario
from pcnsim.model import WEEKLY_SERIES, arrs_posts, simulate

pytestmark = pytest.mark.integration


def scenario(**sections) -> Scenario:
    """The baseline with some sections' fields replaced (a year, 4 weeks of warm-up)."""
    data = Scenario().model_dump()
    data["run"].update(horizon_weeks=52, warmup_weeks=4)
    for section, values in sections.items():
        target = data
        *path, last = section.split("__")
        for p in path:
            target = target[p]
        if isinstance(values, dict):
            target[last].update(values)
        else:
            target[last] = values
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def baseline():
    return simulate(scenario(), 0)


def test_demand_is_conserved(baseline):
    m = baseline.metrics
    years = scenario().years_measured
    lhs = m["requests_per_year"]
    rhs = (m["appointments_per_year"] + m["dna_per_year"] + m["unmet_per_year"]
           + (m["backlog_end"] - m["backlog_start"]) / years)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    assert m["booked_appointments_per_year"] == pytest.approx(
        m["gp_appointments_per_year"] + m["arrs_appointments_per_year"] + m["nurse_appointments_per_year"]
        + m["dpc_appointments_per_year"])
    assert m["booked_appointments_per_year"] == pytest.approx(m["appointments_per_year"] + m["dna_per_year"])


def test_weekly_demand_is_conserved_week_by_week(baseline):
    w = baseline.weekly
    backlog_before = np.concatenate([[0.0], w["backlog"][:-1]])
    assert np.allclose(w["requests"], w["appointments"] + w["unmet"] + w["backlog"] - backlog_before)


def test_cd_hours_are_conserved_every_week(baseline):
    w = baseline.weekly
    used = w["cd_clinical_hours"] + w["cd_leadership_hours"] + w["cd_meeting_hours"] + w["cd_slack_hours"]
    assert np.allclose(used, w["cd_contracted_hours"] + w["cd_overtime_hours"])
    assert (w["cd_overtime_hours"] >= 0).all()
    assert (w["cd_displaced_clinical_hours"] <= w["cd_leadership_hours"] + w["cd_meeting_hours"] + 1e-9).all()


def test_weekly_series_cover_every_week(baseline):
    assert set(baseline.weekly) == set(WEEKLY_SERIES)
    assert all(len(v) == 52 for v in baseline.weekly.values())
    assert baseline.events > 1000


def test_same_seed_same_numbers_and_replications_differ():
    a, b, c = simulate(scenario(), 3), simulate(scenario(), 3), simulate(scenario(), 4)
    assert a.metrics == b.metrics
    assert a.metrics != c.metrics


def test_changing_meetings_leaves_demand_stream_untouched():
    a = simulate(scenario(), 1)
    b = simulate(scenario(ics={"meeting_load": 2.0}), 1)
    assert a.metrics["requests_per_year"] == b.metrics["requests_per_year"]


def test_no_arrs_budget_means_no_arrs_activity():
    m = simulate(scenario(funding={"arrs_per_patient": 0.0}), 0).metrics
    assert m["arrs_appointments_per_year"] == 0
    assert m["gp_supervision_hours_per_week"] == 0
    assert m["arrs_staff_wte"] == 0 and m["arrs_leavers_per_year"] == 0


def test_arrs_spend_never_exceeds_budget_and_posts_grow_with_budget():
    for rate in (5.0, 22.89, 40.0):
        s = scenario(funding={"arrs_per_patient": rate})
        posts = arrs_posts(s)
        cost = sum(posts[r] * getattr(s.arrs.roles, r).annual_cost for r in ARRS_ROLES)
        assert cost <= s.arrs_budget + 1e-6
    low = simulate(scenario(funding={"arrs_per_patient": 11.0}), 0).metrics
    high = simulate(scenario(funding={"arrs_per_patient": 33.0}), 0).metrics
    assert high["arrs_staff_wte"] > low["arrs_staff_wte"]
    assert high["arrs_budget_used_share"] <= 1.0


def test_low_demand_leaves_nothing_unmet():
    m = simulate(scenario(demand={"appointments_per_patient_year": 0.5}), 0).metrics
    assert m["unmet_per_year"] == 0
    assert m["wait_days_mean"] < 0.05


def test_no_meetings_means_no_meeting_hours():
    m = simulate(scenario(ics={"meeting_load": 0.0}), 0).metrics
    assert m["cd_meeting_hours_per_week"] == 0


def test_cutting_supervision_raises_arrs_attrition():
    # supervision all blocked into GP diaries ahead of patients and never released: given in full (docs/model.md 2.4)
    s_full = scenario(run={"horizon_weeks": 156}, arrs={"supervision_preblocked_share": 1.0,
                                                         "supervision_release_per_pressure": 0.0})
    s_none = scenario(run={"horizon_weeks": 156}, arrs={"supervision_share": 0.0})
    full = np.mean([simulate(s_full, r).metrics["arrs_leavers_per_year"] for r in range(4)])
    none = np.mean([simulate(s_none, r).metrics["arrs_leavers_per_year"] for r in range(4)])
    assert none > 1.5 * full


def test_more_protected_time_means_less_overtime_and_displacement():
    base = scenario(clinical_director={"overflow": ("overtime",)})
    more = scenario(clinical_director={"overflow": ("overtime",), "extra_protected_sessions": 3.0})
    b = np.mean([simulate(base, r).metrics["cd_overtime_hours_per_week"] for r in range(3)])
    m = np.mean([simulate(more, r).metrics["cd_overtime_hours_per_week"] for r in range(3)])
    assert m < b


def test_protected_hours_follow_funding():
    s = scenario()
    assert s.cd_protected_sessions == pytest.approx(0.25 * 45_000 / 50_000 * 37.5 / SESSION_HOURS)
    assert math.isclose(s.cd_funded_hours, 0.25 * 45_000 / 50_000 * 37.5)


def test_strain_is_the_bias_corrected_mean_of_the_weeks_worked():
    """A CD with the same strain input every week has that strain from week one (docs/model.md
    2.10: the mean over the last 13 weeks), and a leave week pulls it towards zero."""
    import simpy

    from pcnsim.model import Ics, Pcn

    scenario = Scenario()
    env = simpy.Environment()
    cd = Pcn(env, scenario, 0, 0, Ics(env, scenario, 0)).cd
    for _ in range(5):
        cd.update_strain(4.0)
        assert cd.strain == pytest.approx(4.0)
    cd.update_strain(0.0)
    a = 1 / scenario.clinical_director.strain_weeks
    weight = 1 - (1 - a) ** 6
    assert cd.strain == pytest.approx(4.0 * (1 - a) * (1 - (1 - a) ** 5) / weight)
    assert 0 < cd.strain < 4.0


def test_named_icss_draw_independent_numbers_and_one_name_keeps_common_numbers():
    """England's points are different places: their PCNs must not replay each other's draws."""
    base = {"run": {"horizon_weeks": 8, "warmup_weeks": 2}, "ics": {"pcns": 2}}
    def results(name):
        s = Scenario.model_validate({**base, "ics": {**base["ics"], "name": name}})
        return simulate(s, 0).metrics["requests_per_year"]
    assert results("NHS North ICB") != results("NHS South ICB")
    assert results("NHS North ICB") == results("NHS North ICB")
    assert results("ICS") != results("NHS North ICB")


def test_a_cd_vacancy_leaves_meetings_unattended():
    """Weeks with no CD in post from start to end: meetings are expected but nobody attends."""
    s = Scenario.model_validate({"run": {"horizon_weeks": 260, "warmup_weeks": 1},
                                 "clinical_director": {"base_resignation_per_year": 1.0,
                                                       "strain_sensitivity": 0.0, "recruitment_weeks": 26}})
    w = simulate(s, 0).weekly
    in_post = np.asarray(w["cd_in_post"])
    vacant = np.flatnonzero((in_post[1:] == 0) & (in_post[:-1] == 0)) + 1   # vacant all week
    assert len(vacant) > 20
    assert np.asarray(w["meetings_expected"])[vacant].sum() > 0
    assert np.asarray(w["meetings_attended"])[vacant].sum() == 0
    assert np.asarray(w["meetings_attended"])[in_post == 1].sum() > 0
    # and over the run, attendance falls with the vacancy
    assert simulate(s, 0).metrics["cd_vacancy_share"] > 0.15


def test_a_new_cd_starts_on_a_monday_with_a_whole_week_and_no_strain_while_vacant():
    s = Scenario.model_validate({"run": {"horizon_weeks": 260, "warmup_weeks": 1},
                                 "clinical_director": {"base_resignation_per_year": 1.0,
                                                       "strain_sensitivity": 0.0, "recruitment_weeks": 8}})
    w = {k: np.asarray(v) for k, v in simulate(s, 0).weekly.items()}
    in_post = w["cd_in_post"]
    starts = np.flatnonzero((in_post[:-1] == 0) & (in_post[1:] == 1)) + 1
    assert len(starts) >= 5
    # the week a new CD starts they hold the timetable from Monday (0 only in a week of leave)
    contracted = w["cd_contracted_hours"][starts]
    assert np.count_nonzero(contracted) >= len(starts) // 2
    assert np.all(w["cd_strain"][in_post == 0] == 0)


def test_tasks_never_done_by_the_end_count_as_overdue():
    """Nothing done (no protected time, nowhere to overflow) and nothing yet dropped: every task due
    by the end is overdue, not 'no task due' (docs/interface.md: finished late, or never)."""
    s = Scenario.model_validate({"run": {"horizon_weeks": 10, "warmup_weeks": 1},
                                 "funding": {"cd_wte_per_50k": 0.0, "manager_wte": 0.0},
                                 "clinical_director": {"overflow": ()},
                                 "leadership": {"task_abandon_weeks": 52}})
    assert simulate(s, 0).metrics["leadership_tasks_overdue_share"] == 1.0


@pytest.mark.parametrize("bank_holidays", [True, False])
def test_the_open_days_table_is_is_open(bank_holidays):
    """The hot loops read `open_days` (built once); it must say what `is_open` says, for every week of a horizon."""
    from pcnsim.model.calendar import BANK_HOLIDAYS, is_open, open_days
    s = scenario(calendar={"bank_holidays": bank_holidays})
    table = open_days(s)
    assert [[table[w % 52][d] for d in range(5)] for w in range(156)] == \
        [[is_open(s, w, d) for d in range(5)] for w in range(156)]
    assert sum(not x for row in table for x in row) == (len(BANK_HOLIDAYS) if bank_holidays else 0)


def test_each_actor_reports_its_own_metrics_and_together_the_catalogue():
    """Every catalogue name is reported by exactly one actor (by the ICS, by a PCN's actors, or by the
    PCN itself), and the PCN's metrics are its actors' merged."""
    import simpy

    from pcnsim.metrics import CATALOGUE
    from pcnsim.model import Ics
    from pcnsim.model.calendar import WEEK
    from pcnsim.model.ledger import Measured

    s = Scenario.model_validate({"run": {"horizon_weeks": 6, "warmup_weeks": 2}})
    env = simpy.Environment()
    ics = Ics(env, s, 0)
    pcn = ics.pcns[0]
    env.run(until=s.run.horizon_weeks * WEEK)
    measured = Measured(pcn.weekly, s.run.warmup_weeks, s.years_measured)
    reports = {"practices (in Pcn, for now)": pcn.delivery_metrics(measured), "arrs": pcn.arrs.metrics(measured),
               "leadership work": pcn.work.metrics(measured, pcn.manager.tasks),
               "manager": pcn.manager.metrics(measured), "clinical director": pcn.cd.metrics(measured),
               "ics": ics.metrics()}
    merged = pcn.metrics()
    reports["pcn"] = {k: v for k, v in merged.items() if not any(k in r for r in reports.values())}
    assert set(reports["pcn"]) == {"spend_per_year", "registered_patients", "cost_per_appointment",
                                   "gp_appointment_share"}
    bases = {actor: {k.partition(".")[0] for k in r} for actor, r in reports.items()}
    owners: dict[str, list[str]] = {}
    for actor, names in bases.items():
        for name in names:
            owners.setdefault(name, []).append(actor)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert set(owners) == set(CATALOGUE)
    assert set(merged) == {k for actor, r in reports.items() if actor != "ics" for k in r}
