"""Property tests (hypothesis): invariants that every valid scenario must satisfy.

Random valid scenarios (1-6 practices, 1-3 PCNs, any representation, overflow order,
backfill flags, ARRS budget and meeting load including 0, horizons of 8-30 weeks) are
simulated and checked for: demand conservation, CD hours conservation in every CD
person-week, shares in [0, 1], no negative counts or hours, determinism, ARRS spend within
budget, and responses the model guarantees on a common seed. Example counts are kept
small so that the file runs in well under a minute; raise them locally with
`--hypothesis-profile` or by editing `EXAMPLES`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcnsim import model
from pcnsim.config import ARRS_ROLES, DEMAND_TYPES, GPAD_BINS, WEEKS_PER_YEAR, MeetingSeries, Scenario
from pcnsim.model import arrs_posts, simulate
from pcnsim.verify import observe, scenario

pytestmark = pytest.mark.integration

EXAMPLES = 20
SIM = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])

SHARES = ("demand_met_share", "leadership_tasks_overdue_share", "meetings_attended_share",
          "representation_share", "cd_vacancy_share", "arrs_vacancy_rate", "arrs_budget_used_share")
OVERFLOWS = [p for n in range(4) for p in itertools.permutations(("manager", "clinical", "overtime"), n)]


@st.composite
def scenarios(draw) -> Scenario:
    horizon = draw(st.integers(8, 30))
    pcns = draw(st.integers(1, 3))
    representation = draw(st.sampled_from(["all", "forum"]))
    values = {
        "run.horizon_weeks": horizon,
        "run.warmup_weeks": draw(st.integers(0, horizon - 1)),
        "run.seed": draw(st.integers(0, 2 ** 32 - 1)),
        "pcn.practices": draw(st.integers(1, 6)),
        "pcn.list_size_per_practice": draw(st.integers(1_000, 15_000)),
        "demand.appointments_per_patient_year": draw(st.floats(0.5, 12.0)),
        "demand.patience_days": draw(st.integers(1, 30)),
        "funding.arrs_per_patient": draw(st.one_of(st.just(0.0), st.floats(0.0, 60.0))),
        "clinical_director.extra_protected_sessions": draw(st.floats(0.0, 4.0)),
        "clinical_director.overflow": draw(st.sampled_from(OVERFLOWS)),
        "ics.meeting_load": draw(st.one_of(st.just(0.0), st.floats(0.0, 3.0))),
        "ics.pcns": pcns,
        "ics.representation": representation,
        "ics.forum_representatives": draw(st.integers(1, pcns)),
        "funding.backfill_meetings": draw(st.booleans()),
        "funding.backfill_leadership": draw(st.booleans()),
        "calendar.bank_holidays": draw(st.booleans()),
        "demand.on_the_day_share": draw(st.floats(0.0, 1.0)),
        "demand.tolerance_days": draw(st.one_of(st.just(0.0), st.floats(1.0, 100.0))),
        "demand.return_share": draw(st.floats(0.0, 1.0)),
        "demand.skill_mix_reach_days": draw(st.integers(0, 30)),
        "pcn.list_size_cv": draw(st.floats(0.0, 1.5)),
        "demand.planned_share": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.6))),
        "demand.planned_lead_weeks": tuple(draw(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10))) + (0.1,),
        "dpc.wte_per_10k": draw(st.one_of(st.just(0.0), st.floats(0.0, 6.0))),
        "demand.dna_scale": draw(st.floats(0.0, 2.0)),
        "arrs.supervision_preblocked_share": draw(st.floats(0.0, 1.0)),
        "arrs.supervision_release_pressure": draw(st.floats(0.0, 3.0)),
        "arrs.supervision_release_per_pressure": draw(st.floats(0.0, 5.0)),
    }
    return scenario(values=values)


def _finite(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x)


@SIM
@given(s=scenarios())
def test_invariants_of_any_valid_scenario(s):
    obs = observe(s, 0)
    rep = obs.replication
    m, years = rep.metrics, s.years_measured

    # demand is conserved, over the measured years and week by week
    lhs = m["requests_per_year"]
    rhs = (m["appointments_per_year"] + m["dna_per_year"] + m["unmet_per_year"]
           + (m["backlog_end"] - m["backlog_start"]) / years)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-6)
    for w in obs.weekly:
        before = np.concatenate([[0.0], w["backlog"][:-1]])
        assert np.allclose(w["requests"], w["appointments"] + w["unmet"] + w["backlog"] - before, atol=1e-6)

    # CD hours are conserved in every person-week (one CD per PCN); overtime never negative
    for w in obs.weekly:
        used = w["cd_clinical_hours"] + w["cd_leadership_hours"] + w["cd_meeting_hours"] + w["cd_slack_hours"]
        assert np.allclose(used, w["cd_contracted_hours"] + w["cd_overtime_hours"], atol=1e-9)
        assert (w["cd_overtime_hours"] >= 0).all()

    # shares are in [0, 1]; delivered / requests only exceeds 1 by the backlog drawn down
    for k in SHARES:
        if k == "demand_met_share":
            continue
        assert -1e-12 <= m[k] <= 1 + 1e-12, (k, m[k])
    drawdown = max(0.0, m["backlog_start"] - m["backlog_end"]) / years
    assert 0 <= m["demand_met_share"] <= 1 + drawdown / max(m["requests_per_year"], 1e-12) + 1e-12

    # demand is conserved type by type (docs/model.md 2.3), and the types add up
    for t in DEMAND_TYPES:
        rhs = (m[f"appointments_per_year.{t}"] + m[f"dna_per_year.{t}"] + m[f"unmet_per_year.{t}"]
               + m[f"backlog_change.{t}"] / years)
        assert m[f"requests_per_year.{t}"] == pytest.approx(rhs, rel=1e-9, abs=1e-6), t
    assert sum(m[f"appointments_per_year.{t}"] for t in DEMAND_TYPES) == pytest.approx(
        m["appointments_per_year"], rel=1e-9, abs=1e-6)
    assert sum(m[f"dna_per_year.{t}"] for t in DEMAND_TYPES) == pytest.approx(m["dna_per_year"], rel=1e-9, abs=1e-6)
    # GPAD's lead-time bins share out the bookings made (none made: all 0)
    bins = [m[f"booked_share.{b}"] for b in GPAD_BINS]
    assert sum(bins) == pytest.approx(1.0) or sum(bins) == 0.0
    assert m["diverted_per_year"] <= m["unmet_per_year"] + 1e-9
    for k, v in m.items():
        if k.startswith("utilisation.") or (k.startswith("booked_") and not k.endswith("_per_year")):
            assert -1e-12 <= v <= 1 + 1e-12, (k, v)

    # no negative counts or hours, in the metrics or in any weekly series (a change in waiting may be negative)
    for k, v in m.items():
        if k == "cost_per_appointment" and math.isnan(v):
            assert m["appointments_per_year"] == 0
            continue
        if k.startswith("backlog_change."):
            assert _finite(v), (k, v)
            continue
        assert _finite(v) and v >= -1e-9, (k, v)
    for w in [rep.weekly, *obs.weekly]:
        for k, series in w.items():
            assert len(series) == s.run.horizon_weeks
            assert np.isfinite(series).all() and (series >= -1e-9).all(), k

    # headcounts within [0, funded]; ARRS spend never exceeds the budget
    for w in obs.weekly:
        assert (w["arrs_in_post"] <= w["arrs_posts_funded"] + 1e-9).all()
        assert (w["arrs_spend"] * WEEKS_PER_YEAR <= s.arrs_budget * (1 + 1e-12) + 1e-9).all()
        assert set(np.unique(w["cd_in_post"])) <= {0.0, 1.0}
    assert m["arrs_budget_used_share"] <= 1 + 1e-12
    if s.arrs_budget == 0:
        assert m["arrs_appointments_per_year"] == 0 and m["gp_supervision_hours_per_week"] == 0
    if s.ics.meeting_load == 0:
        assert m["cd_meeting_hours_per_week"] == 0


def test_displaced_clinical_time_is_spent_on_leadership_or_meetings_small_pcns():
    """A single 1,000-patient practice, overflow to clinical time only, 10 seeds."""
    for seed in range(10):
        s = scenario(values={"run.horizon_weeks": 26, "run.warmup_weeks": 0, "run.seed": seed, "pcn.practices": 1,
                             "pcn.list_size_per_practice": 1000, "funding.arrs_per_patient": 0.0,
                             "clinical_director.overflow": ("clinical",), "ics.meeting_load": 0.0})
        w = simulate(s, 0).weekly
        assert (w["cd_displaced_clinical_hours"] <= w["cd_leadership_hours"] + w["cd_meeting_hours"] + 1e-9).all()


def _same(a: model.Replication, b: model.Replication) -> bool:
    ok = a.metrics.keys() == b.metrics.keys() and all(
        a.metrics[k] == b.metrics[k] or (math.isnan(a.metrics[k]) and math.isnan(b.metrics[k])) for k in a.metrics)
    return ok and all(np.array_equal(a.weekly[k], b.weekly[k]) for k in a.weekly)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(s=scenarios(), replication=st.integers(0, 50))
def test_same_seed_same_numbers(s, replication):
    assert _same(simulate(s, replication), simulate(s, replication))


LEVERS = st.sampled_from([
    ("ics.meeting_load", st.floats(0.0, 3.0)),
    ("funding.arrs_per_patient", st.floats(0.0, 60.0)),
    ("clinical_director.extra_protected_sessions", st.floats(0.0, 4.0)),
    ("funding.backfill_meetings", st.booleans()),
    ("arrs.supervision_share", st.floats(0.0, 1.0)),
    ("gps.wte_per_10k", st.floats(1.0, 10.0)),
])


@settings(max_examples=8, deadline=None, derandomize=True)
@given(s=scenarios(), data=st.data())
def test_levers_leave_the_demand_stream_untouched(s, data):
    """Common random numbers: a lever that is not demand changes no request (one stream per process)."""
    key, values = data.draw(LEVERS)
    other = scenario(s, {key: data.draw(values)})
    a, b = simulate(s, 0), simulate(other, 0)
    assert np.array_equal(a.weekly["requests"], b.weekly["requests"])


# --------------------------------------------------------------------------- pure functions: many examples
@settings(max_examples=300, deadline=None, derandomize=True)
@given(rate=st.floats(0.0, 500.0), list_size=st.integers(100, 200_000), practices=st.integers(1, 10))
def test_arrs_posts_never_cost_more_than_the_budget(rate, list_size, practices):
    s = scenario(values={"funding.arrs_per_patient": rate, "pcn.list_size_per_practice": list_size,
                         "pcn.practices": practices})
    posts = arrs_posts(s)
    cost = {r: role.annual_cost for r, role in s.arrs.roles.items()}
    spent = sum(posts[r] * cost[r] for r in ARRS_ROLES)
    assert all(n >= 0 for n in posts.values())
    assert spent <= s.arrs_budget + 1e-6
    # posts are bought in a fixed order and buying stops at the first that does not fit:
    # what is left is less than the dearest role in the mix
    in_mix = [r for r in ARRS_ROLES if getattr(s.arrs.mix, r) > 0]
    assert s.arrs_budget - spent < max(cost[r] for r in in_mix) + 1e-6


@settings(max_examples=300, deadline=None, derandomize=True)
@given(rate=st.floats(0.0, 200.0), extra=st.floats(0.01, 5.0), list_size=st.integers(1_000, 20_000))
def test_more_arrs_money_never_funds_fewer_posts(rate, extra, list_size):
    def posts(r):
        return arrs_posts(scenario(values={"funding.arrs_per_patient": r, "pcn.list_size_per_practice": list_size}))
    assert sum(posts(min(rate + extra, 1000.0)).values()) >= sum(posts(rate).values())


def test_more_arrs_money_never_funds_fewer_posts_scan():
    for list_size in (1_000, 9_000):
        previous = 0
        for rate in np.arange(0.0, 200.0, 0.37):
            posts = sum(arrs_posts(scenario(values={"funding.arrs_per_patient": float(rate),
                                                    "pcn.list_size_per_practice": list_size})).values())
            assert posts >= previous, (list_size, rate)
            previous = posts


@settings(max_examples=200, deadline=None, derandomize=True)
@given(low=st.floats(0.0, 10.0), more=st.floats(0.0, 10.0), every=st.floats(0.5, 26.0),
       offset=st.integers(0, 10), weeks=st.integers(1, 200))
def test_more_meeting_load_never_holds_fewer_meetings(low, more, every, offset, weeks):
    """Meetings held up to any week never decrease with `ics.meeting_load` (the count telescopes)."""
    series = MeetingSeries(name="m", every_weeks=every, hours=1.0, weekday=0, offset_weeks=offset)

    def held(load):
        return sum(model.occurrences(series, w, load) for w in range(weeks))

    high = min(low + more, 20.0)
    assert held(high) >= held(low)
    assert all(model.occurrences(series, w, low) >= 0 for w in range(weeks))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(extra=st.floats(0.0, 10.0), more=st.floats(0.0, 10.0), cd=st.floats(0.0, 5.0))
def test_more_protected_sessions_never_protect_less(extra, more, cd):
    a = scenario(values={"clinical_director.extra_protected_sessions": extra, "funding.cd_wte_per_50k": cd})
    b = scenario(values={"clinical_director.extra_protected_sessions": min(extra + more, 10.0),
                         "funding.cd_wte_per_50k": cd})
    assert 0 <= a.cd_protected_sessions <= b.cd_protected_sessions <= 10
