"""Leadership model v2: the contest for the CD (preemption, interrupts), the timetable policy,
consequences of leadership work, strain and turnover, representation and the exact Poisson
interval for rare counts (docs/model.md 2.5-2.11)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import simpy

from pcnsim import metrics
from pcnsim.analysis import poisson_interval, summarise
from pcnsim.config import Scenario
from pcnsim.model import Ics, simulate
from pcnsim.model.calendar import DAY, SESSION_START, WEEK
from pcnsim.model.clinical_director import timetable
from pcnsim.model.streams import STREAM_PROCESSES

pytestmark = pytest.mark.integration


def quiet_scenario(**over) -> Scenario:
    """No arrivals of any kind (so a test controls every task) and no meetings."""
    data = {"ics": {"meeting_load": 0.0, "requests_per_week": 0.0},
            "leadership": {"operations_hours_per_week": 0.0, "operations_hours_per_practice": 0.0,
                           "operations_hours_per_arrs_wte": 0.0, "development_hours_per_week": 0.0,
                           "induction_hours_per_starter": 0.0, "access_hours_per_week": 0.0}}
    for k, v in over.items():
        data.setdefault(k, {}).update(v)
    return Scenario.model_validate(data)


def one_cd(s: Scenario):
    env = simpy.Environment()
    ics = Ics(env, s, 0)          # processes created, nothing run yet
    return env, ics.pcns[0]


def test_a_meeting_preempts_protected_work_which_keeps_its_remaining_effort_and_resumes():
    env, pcn = one_cd(quiet_scenario(funding={"manager_wte": 0.0}))
    cd, work = pcn.cd, pcn.work
    task = work.add("operations", 3.0, due=10 * DAY)
    assert task in work.tasks                     # no manager: the CD's
    seen = {}

    def scenario_events():
        cd.start_desk(4.0, 1.5, protected=True)   # a 4-hour protected session from t = 0
        yield env.timeout(1.0)
        seen["held_before"] = cd.holding
        env.process(cd.attend(1.5))               # a meeting called into it at t = 1
        yield env.timeout(0.5)
        seen["effort_during_meeting"] = task.effort
        seen["held_during_meeting"] = cd.holding
    env.process(scenario_events())
    env.run(until=5.0)
    assert seen["held_before"] is True
    assert seen["held_during_meeting"] is False                   # the meeting has the CD
    assert seen["effort_during_meeting"] == pytest.approx(2.0)    # 1 h done before the meeting, booked
    # resumed at t = 2.5 for the 1.5 h left of the session: 0.5 h of the task remains for later
    assert task.effort == pytest.approx(0.5)
    assert pcn.week.cd_leadership_hours == pytest.approx(2.5)
    assert pcn.week.cd_slack_hours == pytest.approx(0.0)
    assert task in work.tasks


def test_an_urgent_request_interrupts_the_task_in_hand_and_is_done_first():
    env, pcn = one_cd(quiet_scenario())
    cd, work = pcn.cd, pcn.work
    dev = work.add("development", 5.0)

    def events():
        cd.start_desk(4.0, 0.0, protected=True)
        yield env.timeout(1.0)
        env_request = work.add("system", 1.0)       # due in two working days: earlier than development
        events.request = env_request
    env.process(events())
    env.run(until=4.5)
    assert events.request not in work.tasks and events.request.effort == pytest.approx(0.0)
    assert dev.effort == pytest.approx(5.0 - 3.0)   # 1 h before the request, 2 h after it
    # a request done in protected time counts as protected time displaced
    assert pcn.week.cd_protected_displaced_hours == pytest.approx(1.0)
    assert pcn.week.development_hours == pytest.approx(3.0)


def test_a_request_protected_time_cannot_meet_before_its_deadline_is_a_shortfall():
    """The decision rule for giving up a clinic: fixed timetable (protected Wed PM and Fri PM)."""
    s = quiet_scenario(clinical_director={"timetable": "fixed"})
    env, pcn = one_cd(s)
    cd, work = pcn.cd, pcn.work
    assert [k for k in cd.slot_kind].count("protected") == 2 and cd.slot_kind[5] == cd.slot_kind[9] == "protected"
    env.run(until=SESSION_START[0])                      # Monday 08:00
    work.add("system", 3.0, due=1 * DAY + 17.0)          # due Tuesday evening: no protected time before it
    assert cd.shortfall(env.now + WEEK) == pytest.approx(3.0)
    work.tasks.clear()
    work.add("system", 3.0, due=3 * DAY + 17.0)          # due Thursday: Wednesday PM covers it
    assert cd.shortfall(env.now + WEEK) == pytest.approx(0.0)


def test_the_timetable_is_a_policy_not_a_draw():
    assert "timetable" not in STREAM_PROCESSES
    s = Scenario()
    series = [m for m in s.ics.meetings if m.kind == "system"]
    aware, _ = timetable(s, series)
    fixed, _ = timetable(Scenario.model_validate({"clinical_director": {"timetable": "fixed"}}), series)
    # meeting_aware: protected on the fortnightly sub-committee (Thu PM) and the place board (Tue PM)
    assert [i for i, k in enumerate(aware) if k == "protected"] == [3, 7]
    assert [i for i, k in enumerate(fixed) if k == "protected"] == [5, 9]
    for kinds in (aware, fixed):
        assert kinds.count("clinical") == 6 and kinds.count("off") == 2
    # the same timetable in every replication and every PCN expected at the same meetings
    kinds = [Ics(simpy.Environment(), s, r).pcns[0].cd.slot_kind for r in range(3)]
    assert kinds[0] == kinds[1] == kinds[2] == aware


def test_meeting_aware_puts_meetings_in_protected_time_and_fixed_in_clinics():
    base = {"run": {"horizon_weeks": 40, "warmup_weeks": 4}}
    aware = simulate(Scenario.model_validate(base), 0).metrics
    fixed = simulate(Scenario.model_validate({**base, "clinical_director": {"timetable": "fixed"}}), 0).metrics
    assert aware["cd_protected_hours_displaced_per_week"] > fixed["cd_protected_hours_displaced_per_week"]
    assert aware["meetings_attended_share"] > fixed["meetings_attended_share"]


def test_more_protected_time_gets_more_leadership_done_with_less_displacement():
    def run(extra):
        # the same CD in every replication (commitment 1; three draws of a wide spread can put most
        # CDs at the caps whatever their protected time), with more development than they get done
        s = Scenario.model_validate({"run": {"horizon_weeks": 60, "warmup_weeks": 8},
                                     "clinical_director": {"extra_protected_sessions": extra, "commitment_cv": 0.0},
                                     "leadership": {"development_hours_per_week": 16.0}})
        ms = [simulate(s, r).metrics for r in range(3)]
        return {k: np.mean([m[k] for m in ms]) for k in ms[0]}
    b, m, most = run(0.0), run(2.0), run(4.0)
    assert m["cd_displaced_clinical_hours_per_week"] < b["cd_displaced_clinical_hours_per_week"]
    assert m["leadership_tasks_overdue_share"] < b["leadership_tasks_overdue_share"]
    assert m["development_hours_per_week"] > b["development_hours_per_week"]
    # every extra session takes one of the CD's clinics (backfilled by a locum, the default)
    assert most["cd_clinical_hours_per_week"] < m["cd_clinical_hours_per_week"]
    assert most["lost_appointments_per_year"] < b["lost_appointments_per_year"]


def test_the_manager_picks_up_only_development_falling_due_so_a_cd_with_time_does_their_own():
    """On Saturday the manager's spare hours go to development due within
    `manager.development_pickup_weeks` (what would slip), not to work the CD still has time for;
    with 8 weeks (development's due time) every open task, as before the parameter."""
    for weeks, far_taken in ((1.0, False), (8.0, True)):
        env, pcn = one_cd(quiet_scenario(manager={"development_pickup_weeks": weeks}))
        work = pcn.work
        late = work.add("development", 1.0, due=-1 * DAY)       # overdue: the manager takes it
        soon = work.add("development", 2.0, due=5 * DAY)        # due within the week: and this
        far = work.add("development", 2.0, due=4 * WEEK)        # the CD's for now
        pcn.manager.close_week()
        assert late.effort == pytest.approx(0.0) and soon.effort == pytest.approx(0.0)
        assert (far.effort == pytest.approx(0.0)) is far_taken
        assert pcn.week.manager_development_hours == pytest.approx(5.0 if far_taken else 3.0)


def test_a_cd_does_the_development_the_manager_leaves():
    """The mechanism in the model: with the manager picking up only what would slip, the CD spends
    more of their own time on the role (their development), and the manager less."""
    base = {"run": {"horizon_weeks": 60, "warmup_weeks": 8}, "clinical_director": {"commitment_cv": 0.0},
            "leadership": {"operations_hours_per_week": 4.0}}
    runs = {w: [simulate(Scenario.model_validate({**base, "manager": {"development_pickup_weeks": w}}), r).metrics
                 for r in range(2)] for w in (1.0, 8.0)}
    mean = {w: {k: np.mean([m[k] for m in ms]) for k in ms[0]} for w, ms in runs.items()}
    assert mean[1.0]["cd_role_hours_per_week"] > mean[8.0]["cd_role_hours_per_week"] + 1.0
    assert mean[1.0]["manager_hours_used_per_week"] < mean[8.0]["manager_hours_used_per_week"] - 1.0


def test_strain_counts_hours_beyond_a_sustainable_week_and_recovers_with_slack():
    env, pcn = one_cd(quiet_scenario())
    cd, wk = pcn.cd, pcn.week
    wk.cd_contracted_hours, wk.cd_overtime_hours = 40.0, 2.0
    assert cd.strain_input() == pytest.approx(2.0 + (42.0 - 37.5))
    wk.reset()
    wk.cd_contracted_hours, wk.cd_slack_hours = 30.0, 4.0
    assert cd.strain_input() < 0                       # a slack week pulls strain down
    cd.update_strain(6.0)
    cd.update_strain(-20.0)
    assert cd.strain == 0.0                            # never below zero


def test_the_resignation_hazard_responds_to_workload():
    heavy = {"run": {"horizon_weeks": 60, "warmup_weeks": 8}}
    light = {**heavy, "leadership": {"operations_hours_per_week": 0.0, "operations_hours_per_practice": 0.0,
                                     "operations_hours_per_arrs_wte": 0.0, "development_hours_per_week": 2.0}}
    m_light = simulate(Scenario.model_validate(light), 0).metrics
    m_heavy = simulate(Scenario.model_validate(heavy), 0).metrics
    assert m_heavy["cd_strain_mean"] > m_light["cd_strain_mean"] + 2
    # the hazard: base x exp(sensitivity x strain), a ratio exp(sensitivity) per hour a week of strain
    env, pcn = one_cd(Scenario())
    cd = pcn.cd
    h0 = cd.hazard()
    cd.update_strain(1.0)
    assert cd.hazard() / h0 == pytest.approx(math.exp(Scenario().clinical_director.strain_sensitivity))


def test_leadership_work_undone_raises_arrs_attrition_and_the_link_can_be_switched_off():
    base = {"run": {"horizon_weeks": 104, "warmup_weeks": 13}, "funding": {"manager_wte": 0.0},
            "leadership": {"operations_hours_per_week": 40.0}}
    on = Scenario.model_validate({**base, "leadership": {**base["leadership"],
                                                         "undone_operations_attrition_multiplier": 3.0}})
    off = Scenario.model_validate({**base, "leadership": {**base["leadership"],
                                                          "undone_operations_attrition_multiplier": 1.0}})
    m_on = [simulate(on, r).metrics for r in range(3)]
    m_off = [simulate(off, r).metrics for r in range(3)]
    assert all(m["arrs_attrition_multiplier"] == pytest.approx(1.0) for m in m_off)
    assert np.mean([m["arrs_attrition_multiplier"] for m in m_on]) > 1.3
    assert np.mean([m["arrs_leavers_per_year"] for m in m_on]) > np.mean([m["arrs_leavers_per_year"] for m in m_off])


def test_practice_leads_pcn_time_comes_out_of_gp_appointments():
    base = {"run": {"horizon_weeks": 30, "warmup_weeks": 4}}
    none = simulate(Scenario.model_validate({**base, "leadership": {"practice_lead_pcn_hours_per_week": 0.0}}), 0)
    some = simulate(Scenario.model_validate({**base, "leadership": {"practice_lead_pcn_hours_per_week": 8.0}}), 0)
    assert none.metrics["practice_lead_pcn_hours_per_week"] == 0.0
    assert some.metrics["practice_lead_pcn_hours_per_week"] == pytest.approx(5 * 8.0 * 46 / 52)
    assert some.metrics["gp_appointments_per_year"] < none.metrics["gp_appointments_per_year"]


def test_a_forum_splits_meeting_hours_by_role_and_limits_seats():
    base = {"run": {"horizon_weeks": 40, "warmup_weeks": 4}, "ics": {"pcns": 5, "forum_representatives": 2}}
    forum = simulate(Scenario.model_validate({**base, "ics": {**base["ics"], "representation": "forum"}}), 0).metrics
    assert forum["cd_meeting_hours_per_week.representative"] > 2 * forum["cd_meeting_hours_per_week.other"]
    assert "cd_strain_mean.representative" in forum and "cd_strain_mean.other" in forum
    everyone = simulate(Scenario.model_validate(base), 0).metrics
    assert "cd_meeting_hours_per_week.other" not in everyone
    one_seat = simulate(Scenario.model_validate({**base, "ics": {**base["ics"], "seats_per_meeting": 1}}), 0).metrics
    assert one_seat["cd_meeting_hours_per_week"] < everyone["cd_meeting_hours_per_week"]


def test_exact_poisson_interval_for_rare_counts():
    low, high = poisson_interval(0, 10.0)
    assert low == 0.0 and high == pytest.approx(-math.log(0.025) / 10.0)
    low, high = poisson_interval(5, 10.0)
    assert low == pytest.approx(0.16235, abs=1e-4) and high == pytest.approx(1.16683, abs=1e-4)
    assert "cd_resignations_per_year" in metrics.RARE
    df = pd.DataFrame({"point": ["p"] * 4, "replication": range(4), "metric": "cd_resignations_per_year",
                       "value": 0.0})
    t = summarise(df, by=["point"])
    assert t["ci_high"].iloc[0] == 0.0                   # the t-interval collapses at zero events
    exact = summarise(df, by=["point"], exposure=2.75, rare=metrics.RARE)
    assert exact["ci_low"].iloc[0] == 0.0 and exact["ci_high"].iloc[0] == pytest.approx(
        -math.log(0.025) / (4 * 2.75))


# ---------------------------------------------------------------- leadership v3: consequences and retention
def paired(over_a: dict, over_b: dict, reps: int, run: dict | None = None) -> tuple[list[dict], list[dict]]:
    """The metrics of two scenarios, replication by replication (common random numbers)."""
    run = run or {}
    a = Scenario.model_validate({**over_a, "run": run})
    b = Scenario.model_validate({**over_b, "run": run})
    return [simulate(a, r).metrics for r in range(reps)], [simulate(b, r).metrics for r in range(reps)]


def test_expected_resignations_are_the_sum_of_the_weekly_resignation_probabilities():
    # no strain effect: each week in post adds 1 - exp(-base/52), exactly the realised draw's probability
    base = 0.2
    s = Scenario.model_validate({"run": {"horizon_weeks": 60, "warmup_weeks": 8},
                                 "clinical_director": {"base_resignation_per_year": base, "strain_sensitivity": 0.0}})
    rep = simulate(s, 0)
    m, weekly = rep.metrics, rep.weekly
    in_post = weekly["cd_in_post"][8:]
    assert m["cd_resignations_expected_per_year"] == pytest.approx(
        (1 - math.exp(-base / 52)) * in_post.sum() / s.years_measured)
    assert m["cd_tenure_expected_years"] == pytest.approx(1 / (52 * (1 - math.exp(-base / 52))), rel=1e-9)
    assert "cd_resignations_expected_per_year" not in metrics.RARE          # a smooth mean: a t-interval
    never = Scenario.model_validate({"run": {"horizon_weeks": 30, "warmup_weeks": 4},
                                     "clinical_director": {"base_resignation_per_year": 0.0}})
    m0 = simulate(never, 0).metrics
    assert m0["cd_resignations_expected_per_year"] == 0.0 and m0["cd_tenure_expected_years"] == 100.0


def test_the_hazard_elasticity_is_the_cited_one_and_system_demand_raises_expected_resignations():
    cd = Scenario().clinical_director
    # 10 h a week of strain multiplies the hazard by about 2: within the odds ratios 1.35-2.7 (PMC7702723)
    assert 1.35 <= math.exp(10 * cd.strain_sensitivity) <= 2.7
    low, high = paired({}, {"ics": {"meeting_load": 3.0, "requests_per_week": 3.0}}, 4,
                       {"horizon_weeks": 104, "warmup_weeks": 26})
    diff = [h["cd_resignations_expected_per_year"] - l["cd_resignations_expected_per_year"] for l, h in zip(low, high)]
    assert np.mean(diff) > 0 and sum(d > 0 for d in diff) >= 3


def test_starving_leadership_loses_caip_and_raises_arrs_vacancies():
    fed, starved = paired({}, {"funding": {"manager_wte": 0.0, "cd_wte_per_50k": 0.125}}, 5)
    caip = [m["caip_earned_share"] for m in fed], [m["caip_earned_share"] for m in starved]
    vacancy = [m["arrs_vacancy_rate"] for m in fed], [m["arrs_vacancy_rate"] for m in starved]
    assert np.mean(caip[0]) > 0.6 and np.mean(caip[1]) < np.mean(caip[0]) - 0.3
    assert np.mean(vacancy[1]) > np.mean(vacancy[0])
    for m in (*fed, *starved):
        assert m["leadership_income_per_year"] == pytest.approx(m["caip_earned_share"] * 0.974 * 45_000)


def test_the_caip_link_switched_off_pays_in_full_and_changes_nothing_else():
    run = {"horizon_weeks": 40, "warmup_weeks": 8}
    on, off = paired({"funding": {"manager_wte": 0.0}}, {"funding": {"manager_wte": 0.0},
                                                          "leadership": {"caip_link": False}}, 1, run)
    assert off[0]["caip_earned_share"] == 1.0 and on[0]["caip_earned_share"] < 1.0
    assert off[0]["leadership_income_per_year"] == pytest.approx(0.974 * 45_000)
    assert on[0]["appointments_per_year"] == off[0]["appointments_per_year"]


def test_a_new_starter_works_at_reduced_productivity_until_their_induction_is_done():
    env, pcn = one_cd(quiet_scenario(leadership={"induction_hours_per_starter": 12.0}))
    arrs, work = pcn.arrs, pcn.work
    role = "clinical_pharmacist"                            # about 5 WTE in post
    before = arrs.working_wte().copy()
    arrs.started(role, 1.0)
    i = arrs.role_index[role]
    assert arrs.working_wte()[i] == pytest.approx(before[i] - 0.5 * (1 - arrs.leave))   # half a WTE less
    work.new_starters()                                     # Monday: the induction task
    task = next(t for t in (*work.tasks, *pcn.manager.tasks) if t.starter is not None)
    changes = arrs.changes
    work.finish(task, env.now)
    assert arrs.working_wte()[i] == pytest.approx(before[i]) and arrs.changes > changes
    # switched off: productive from the first day
    env, pcn = one_cd(quiet_scenario(leadership={"induction_hours_per_starter": 12.0, "induction_link": False}))
    before = pcn.arrs.working_wte().copy()
    pcn.arrs.started(role, 1.0)
    assert np.array_equal(pcn.arrs.working_wte(), before)


def test_development_demand_reduction_is_off_by_default_and_cuts_requests_when_set():
    run = {"horizon_weeks": 40, "warmup_weeks": 8}
    off, on = paired({}, {"leadership": {"development_demand_reduction": 0.03}}, 1, run)
    assert Scenario().leadership.development_demand_reduction == 0.0
    assert on[0]["requests_per_year"] < off[0]["requests_per_year"] * 0.995


def test_the_access_work_draws_from_its_own_stream():
    assert "tasks/access" in STREAM_PROCESSES
    env, pcn = one_cd(quiet_scenario(leadership={"access_hours_per_week": 30.0}))
    pcn.work.access_week()
    tasks = [t for t in (*pcn.work.tasks, *pcn.manager.tasks) if t.component >= 0]
    assert {t.component for t in tasks} == {0, 1, 2} and all(t.kind == "operations" for t in tasks)


# --------------------------------------------------------------------------- leadership v3, part A
# Three claimants preempt protected time (docs/model.md 2.5.1); extra protected time from clinics (2.5).
class FixedClaims:
    """The claims a test makes, drawn at the next protected session's start in place of random ones."""

    def __init__(self, claims, *made: tuple[float, str, float, int]):
        self.claims, self.made = claims, list(made)      # (hours into the session, claimant, hours, practice)

    def draw(self, desk, hours: float) -> bool:
        now = desk.env.now
        drawn = sorted((now + at, who, h, p) for at, who, h, p in self.made)
        self.made = []
        if drawn:
            desk.env.process(self.claims.in_turn(desk, drawn, now + hours))
        return bool(drawn)


def test_a_claim_preempts_protected_work_mid_task_which_resumes_when_it_ends():
    """A claim at CLAIM priority takes the CD from desk work mid-task: the work done is booked, the task keeps
    its remaining effort, the desk session resumes when the claim ends; the claim's hours are protected time
    displaced and the claimant's preemption."""
    env, pcn = one_cd(quiet_scenario(funding={"manager_wte": 0.0}))
    cd, work, desk = pcn.cd, pcn.work, pcn.cd.desk
    desk.claims = FixedClaims(pcn.claims, (1.0, "arrs", 0.5, -1))      # at t = 1, for half an hour
    task = work.add("operations", 3.0, due=10 * DAY)
    seen = {}

    def events():
        cd.start_desk(4.0, 0.0, protected=True)     # a 4-hour protected session from t = 0
        yield env.timeout(1.25)
        seen["held"], seen["effort"] = cd.holding, task.effort
    env.process(events())
    env.run(until=5.0)
    assert seen["held"] is False and seen["effort"] == pytest.approx(2.0)   # 1 h done, booked at t = 1
    assert task.effort == pytest.approx(0.0)        # resumed at 1.5: the 2 h left done by 3.5
    wk = pcn.week
    assert (wk.cd_preemptions_arrs, wk.cd_claim_hours_arrs) == (1.0, pytest.approx(0.5))
    assert wk.cd_protected_displaced_hours == pytest.approx(0.5)
    assert wk.cd_leadership_hours == pytest.approx(3.0 + 0.5)
    assert wk.cd_slack_hours == pytest.approx(0.5)   # 4 h = 3 h of the task + 0.5 h claimed + 0.5 h slack


def test_a_claim_waits_for_a_meeting_and_lapses_when_the_session_ends():
    env, pcn = one_cd(quiet_scenario())
    cd, desk = pcn.cd, pcn.cd.desk
    desk.claims = FixedClaims(pcn.claims, (0.5, "system", 0.75, -1),    # waits for the meeting: 2 to 2.75
                              (1.0, "system", 2.0, -1))                 # then 2.75 to the end, cut to 0.25 h

    def events():
        env.process(cd.attend(2.0))                 # a meeting holds the CD from t = 0 to 2
        cd.start_desk(3.0, 2.0, protected=True)
        yield env.timeout(0)
    env.process(events())
    env.run(until=4.0)
    wk = pcn.week
    assert wk.cd_preemptions_system == 2.0
    assert wk.cd_claim_hours_system == pytest.approx(0.75 + 0.25)
    assert wk.cd_slack_hours == pytest.approx(0.0)
    # a claim that finds a meeting holding the CD to the end of the session lapses
    env2, pcn2 = one_cd(quiet_scenario())
    pcn2.cd.desk.claims = FixedClaims(pcn2.claims, (1.0, "arrs", 0.5, -1))

    def late():
        env2.process(pcn2.cd.attend(3.0))
        pcn2.cd.start_desk(3.0, 3.0, protected=True)
        yield env2.timeout(0)
    env2.process(late())
    env2.run(until=4.0)
    assert pcn2.week.cd_preemptions_arrs == 0.0 and pcn2.week.cd_claim_hours_arrs == 0.0


def test_a_recall_runs_the_rest_of_the_session_as_a_clinic_at_the_recalling_practice():
    env, pcn = one_cd(quiet_scenario())
    cd, desk, practices = pcn.cd, pcn.cd.desk, pcn.practices
    desk.claims = FixedClaims(pcn.claims, (1.0, "practices", 4.0, 2))   # practice 2 recalls the CD at 14:00
    env.run(until=SESSION_START[1])                 # Monday 13:00, before the day is served
    cd.start_desk(4.0, 0.0, protected=True)
    env.run(until=SESSION_START[1] + 4.5)
    wk = pcn.week
    assert wk.cd_preemptions_practices == 1.0 and wk.cd_claim_hours_practices == pytest.approx(3.0)
    assert wk.cd_clinical_hours == pytest.approx(3.0)
    slots = 3.0 * 60 * Scenario().gps.patient_facing_share / Scenario().gps.appointment_minutes
    assert practices.recall_slots_today[2] == pytest.approx(slots) and sum(practices.recall_slots_today) == slots
    env.run(until=DAY)                              # served at 18:00: whole slots in practice 2's diary today
    assert practices.recall_carry[2] == pytest.approx(slots - math.floor(slots))


def test_claims_have_their_own_streams_and_drawing_them_leaves_demand_alone():
    for c in ("system", "practices", "arrs"):
        assert f"claims/{c}" in STREAM_PROCESSES
    base = {"run": {"horizon_weeks": 20, "warmup_weeks": 4}}
    none = {**base, "ics": {"interruptions_per_protected_hour": 0.0}, "gps": {"cd_recall_per_session": 0.0},
            "arrs": {"cd_queries_per_wte_hour": 0.0, "cd_queries_per_starter_hour": 0.0}}
    a = simulate(Scenario.model_validate(base), 0)
    b = simulate(Scenario.model_validate(none), 0)
    assert np.array_equal(a.weekly["requests"], b.weekly["requests"])
    assert b.metrics["cd_preemptions_per_week"] == 0.0 and b.metrics["cd_protected_hours_lost_per_week"] == 0.0


def _paired(values: dict, reps: int = 6) -> list[dict]:
    s = Scenario.model_validate({"run": {"horizon_weeks": 104, "warmup_weeks": 13}, **values})
    return [simulate(s, r).metrics for r in range(reps)]


def test_every_claimant_preempts_at_baseline_and_grows_with_its_driver():
    """Baseline: each claimant > 0.2 preemptions a week; fewer GPs raise the practices' recalls; more ARRS
    staff raise their claims (paired: the same replications, common random numbers)."""
    base = _paired({})
    for c in ("system", "practices", "arrs"):
        assert np.mean([m[f"cd_preemptions_per_week.{c}"] for m in base]) > 0.2, c
    for m in base:
        total = sum(m[f"cd_protected_hours_lost_per_week.{c}"] for c in ("system", "practices", "arrs"))
        assert m["cd_protected_hours_lost_per_week"] == pytest.approx(total)
    few_gps = _paired({"gps": {"wte_per_10k": 4.5 * 0.55}})
    diff = [b["cd_preemptions_per_week.practices"] - a["cd_preemptions_per_week.practices"]
            for a, b in zip(base, few_gps)]
    assert np.mean(diff) > 0.2 and min(diff) > 0
    more_arrs = _paired({"funding": {"arrs_per_patient": 2 * 22.89}})
    diff = [b["cd_preemptions_per_week.arrs"] - a["cd_preemptions_per_week.arrs"] for a, b in zip(base, more_arrs)]
    assert np.mean(diff) > 0.2 and min(diff) > 0


@pytest.mark.parametrize("source, clinics, replaced", [("clinics_backfilled", 5, 1), ("clinics", 5, 1), ("off", 6, 0)])
def test_an_extra_protected_session_replaces_a_clinic_unless_it_takes_a_day_off(source, clinics, replaced):
    from pcnsim.model.clinical_director import clinic_count
    s = Scenario.model_validate({"clinical_director": {"extra_protected_sessions": 1.0,
                                                       "extra_protected_from": source}})
    kinds, _ = timetable(s)
    assert kinds.count("protected") == 3 and kinds.count("clinical") == clinics
    assert kinds.count("off") == 2 if source != "off" else kinds.count("off") == 1
    assert clinic_count(s) == (clinics, replaced)
    # four extra sessions with 'off': two days off, then two clinics
    s4 = Scenario.model_validate({"clinical_director": {"extra_protected_sessions": 4.0, "extra_protected_from": "off"}})
    assert clinic_count(s4) == (4, 2)


def test_backfilled_extra_protected_time_pays_a_locum_and_unbackfilled_loses_the_appointments():
    base = {"run": {"horizon_weeks": 30, "warmup_weeks": 4}}

    def run(source: str, extra: float):
        return simulate(Scenario.model_validate({**base, "clinical_director": {
            "extra_protected_sessions": extra, "extra_protected_from": source}}), 0).metrics
    none, backfilled, lost, off = run("clinics_backfilled", 0.0), run("clinics_backfilled", 1.0), \
        run("clinics", 1.0), run("off", 1.0)
    assert none["locum_sessions_per_year"] == 0.0
    assert backfilled["locum_sessions_per_year"] > 35       # one a working week (leave and bank holidays aside)
    assert lost["locum_sessions_per_year"] == 0.0 and off["locum_sessions_per_year"] == 0.0
    gp_session = Scenario().gps.patient_facing_share * 250 / Scenario().gps.appointment_minutes
    assert lost["lost_appointments_per_year"] - backfilled["lost_appointments_per_year"] > 30 * gp_session
    # contracted hours: the week is no longer with clinics replaced; with 'off' it is one session longer
    assert off["cd_protected_hours_per_week"] == pytest.approx(backfilled["cd_protected_hours_per_week"])


@pytest.mark.parametrize("source, clinics, replaced, off", [("clinics_backfilled", 4, 2, 2), ("clinics", 4, 2, 2),
                                                            ("off", 6, 0, 0)])
def test_funded_time_beyond_the_des_rate_replaces_clinics_as_extra_protected_time_does(source, clinics, replaced, off):
    """Twice the DES rate of funded CD time (4 protected slots) gets the timetable two extra protected sessions
    get: the slots beyond the DES rate's two replace clinics, unless `extra_protected_from` is 'off'."""
    from pcnsim.model.clinical_director import clinic_count

    def scenario(cd_wte: float, extra: float) -> Scenario:
        return Scenario.model_validate({"funding": {"cd_wte_per_50k": cd_wte}, "clinical_director": {
            "extra_protected_sessions": extra, "extra_protected_from": source}})
    funded, extra = scenario(0.5, 0.0), scenario(0.25, 2.0)
    for s in (funded, extra):
        kinds, _ = timetable(s)
        assert (kinds.count("protected"), kinds.count("clinical"), kinds.count("off")) == (4, clinics, off)
        assert clinic_count(s) == (clinics, replaced)
    # below the DES rate nothing changes: fewer protected slots, the clinics of the contract, more days off
    assert clinic_count(scenario(0.125, 0.0)) == (6, 0) and timetable(scenario(0.125, 0.0))[0].count("off") == 3


@pytest.mark.parametrize("source", ["clinics_backfilled", "clinics"])
def test_more_funded_cd_time_does_not_lengthen_the_cds_week(source):
    """The regression found in leadership v3: doubling funded CD time put the new protected sessions on
    the CD's days off, so the CD worked more hours (and strain and resignations rose). Paid plus unpaid
    hours a week must not grow with funded time (a margin for the funded hours' fractions: 4.05 sessions
    in four slots against 2.025 in two); with 'off', the old reading, they grow by about two sessions."""
    run = {"run": {"horizon_weeks": 30, "warmup_weeks": 4}}

    def worked(cd_wte: float, from_: str) -> tuple[float, dict]:
        s = Scenario.model_validate({**run, "funding": {"cd_wte_per_50k": cd_wte},
                                     "clinical_director": {"extra_protected_from": from_}})
        reps = [simulate(s, r) for r in range(2)]
        w = s.run.warmup_weeks
        hours = np.mean([(rep.weekly["cd_contracted_hours"] + rep.weekly["cd_overtime_hours"])[w:].mean()
                         for rep in reps])
        return float(hours), {k: np.mean([rep.metrics[k] for rep in reps]) for k in reps[0].metrics}
    base, _ = worked(0.25, source)
    funded, m = worked(0.5, source)
    assert funded <= base + 0.5
    assert m["cd_protected_hours_per_week"] > 12       # the funded time is there (baseline about 7 h)
    if source == "clinics_backfilled":
        assert m["locum_sessions_per_year"] > 70       # two locum sessions a working week
    else:
        assert m["locum_sessions_per_year"] == 0.0 and m["lost_appointments_per_year"] > 1000
    off, _ = worked(0.5, "off")
    assert off > base + 5                             # the old reading: two sessions on the days off


def test_the_clinic_test_agrees_with_the_shortfall_counted_task_by_task():
    """`short_of` and `shortfall` count the shortfall window by window (no sort) and fall back on the
    task-by-task count only for a close call: their answers are the task-by-task count's, whatever
    the tasks, the protected windows (in time order or not) and the threshold."""
    from pcnsim.model.clinical_director import ROUNDING, ClinicalDirector
    from pcnsim.model.leadership import Task

    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(0, 40))
        dues = rng.choice([-20.0, 100.0, 200.0, 250.0], n) + rng.uniform(0, 60, n) * (rng.random(n) < 0.5)
        tasks = [Task(float(d), i, "operations", float(e)) for i, (d, e) in enumerate(zip(dues, rng.exponential(2.0, n)))]
        windows = [(float(e), float(h)) for e, h in zip(rng.uniform(0, 300, int(rng.integers(0, 4))),
                                                         rng.choice([0.0, 4.2], 4))]
        exact = ClinicalDirector._shortfall_in_order(tasks, windows, 300.0, math.inf)
        for enough in (2.0833, 8.0, exact, exact + 1e-12):
            bound = ClinicalDirector._shortfall_by_window(tasks, windows, 300.0, enough)
            at_least = ClinicalDirector._shortfall_in_order(tasks, windows, 300.0, enough) >= enough
            assert not (bound >= enough + ROUNDING and not at_least)
            assert not (bound < enough - ROUNDING and at_least)
