"""Delivery v2 (docs/model.md 2.3, 2.4): triage, booking, skill mix, supervision, ARRS money and people, practices."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcnsim import model
from pcnsim.config import ARRS_ROLES, DEMAND_TYPES, GPAD_BINS
from pcnsim.model import arrs_posts, simulate
from pcnsim.model.labour import candidates_per_year
from pcnsim.model.practices import list_sizes
from pcnsim.verify import idle_while_unmet, observe, scenario

pytestmark = pytest.mark.integration

SHORT = {"run.horizon_weeks": 40, "run.warmup_weeks": 8}


def short(**values):
    return scenario(values={**SHORT, **values})


@pytest.fixture(scope="module")
def baseline():
    s = short()
    return s, simulate(s, 0)


def test_demand_is_conserved_by_type(baseline):
    s, rep = baseline
    m, years = rep.metrics, s.years_measured
    for t in DEMAND_TYPES:
        rhs = (m[f"appointments_per_year.{t}"] + m[f"dna_per_year.{t}"] + m[f"unmet_per_year.{t}"]
               + m[f"backlog_change.{t}"] / years)
        assert m[f"requests_per_year.{t}"] == pytest.approx(rhs, rel=1e-12, abs=1e-9)
    assert sum(m[f"requests_per_year.{t}"] for t in DEMAND_TYPES) == pytest.approx(m["requests_per_year"])
    assert sum(m[f"unmet_per_year.{t}"] for t in DEMAND_TYPES) == pytest.approx(m["unmet_per_year"])
    assert m["diverted_per_year"] <= m["unmet_per_year"]


def test_gps_see_every_type_their_colleagues_cannot_fit_in(baseline):
    """Triage sends MSK, mental health and same-day requests to GPs when the ARRS diaries are full."""
    _, rep = baseline
    m = rep.metrics
    for t in ("msk", "mental_health", "same_day"):
        assert m[f"gp_appointments_per_year.{t}"] > 0, t
        assert m[f"gp_appointments_per_year.{t}"] < m[f"appointments_per_year.{t}"], t


def test_no_eligible_slot_sits_free_while_a_request_it_could_serve_is_not_booked():
    s = short(**{"demand.tolerance_days": 0.0})
    obs = observe(s, 0)
    assert obs.replication.metrics["unmet_per_year"] > 0     # the diaries do fill up
    assert obs.idle_unmet[0] == 0.0


def test_idle_check_can_fail():
    """The property check finds a free GP slot left behind (it is not vacuous)."""
    s = short()
    seen = {}
    model.simulate(s, 0, observer=lambda ics: seen.setdefault("ics", ics))
    pr = seen["ics"].pcns[0].practices.diary
    pr.unbooked_today = np.ones_like(pr.unbooked_today)
    pr.free_gp[0, 0] = 3
    assert idle_while_unmet(pr) >= 3


def test_capacity_far_above_demand_books_everyone_the_same_day():
    s = short(**{"gps.wte_per_10k": 50.0, "demand.skill_mix_reach_days": 0, "demand.planned_share": 0.0})
    m = simulate(s, 0).metrics
    assert m["booked_same_day_share"] == 1.0
    assert m["unmet_per_year"] == 0.0 and m["diverted_per_year"] == 0.0 and m["returned_per_year"] == 0.0


def test_waits_spread_out_rather_than_pile_at_the_horizon():
    s = short()
    seen = {}
    model.simulate(s, 0, observer=lambda ics: seen.setdefault("ics", ics))
    lead = seen["ics"].pcns[0].served_by_age
    share = lead / lead.sum()
    H = s.demand.patience_days
    assert share[0] > 0.25                          # a same-day share
    assert share[1:11].sum() > 0.3                  # a body of booked-ahead appointments
    assert share[H - 1] < 0.05                      # no spike at the last bookable day


def test_planned_work_makes_the_tail_beyond_28_days_and_its_waits_are_not_counted():
    """Planned requests book at their desired date (weeks ahead): GPAD's over-28-day bin is theirs, and
    they are not waits; with none planned, nothing is booked beyond the routine horizon of 20 open days."""
    s = short(**{"gps.wte_per_10k": 50.0, "demand.planned_share": 0.3})
    m = simulate(s, 0).metrics
    none = simulate(short(**{"gps.wte_per_10k": 50.0, "demand.planned_share": 0.0}), 0).metrics
    assert m["booked_share.over_28_days"] > 0.01 and none["booked_share.over_28_days"] == 0.0
    assert m["wait_days_mean"] < 2.0           # planned leads (5 to 40 open days) are not in the waits
    assert sum(m[f"booked_share.{b}"] for b in GPAD_BINS) == pytest.approx(1.0)


def test_dna_is_the_expected_count_of_the_bins_and_scales():
    base = simulate(short(), 0).metrics
    double = simulate(short(**{"demand.dna_scale": 2.0}), 0).metrics
    assert double["dna_per_year"] == pytest.approx(2 * base["dna_per_year"])
    assert double["booked_appointments_per_year"] == base["booked_appointments_per_year"]   # the slot is used
    share = base["dna_per_year"] / base["booked_appointments_per_year"]
    assert 0.019 < share < 0.089


def test_a_second_offer_books_decliners_with_an_idle_role():
    """With GPs idle, a nursing patient who declines a far nurse slot is offered the DPC staff's or the GP's
    earliest slot: nursing requests go (almost) all met."""
    s = short(**{"gps.wte_per_10k": 9.0, "nurses.wte_per_10k": 1.0})
    m = simulate(s, 0).metrics
    assert m["unmet_per_year.nursing"] < 0.03 * m["requests_per_year.nursing"]


def test_urgent_requests_not_seen_by_tomorrow_are_diverted():
    few_gps = short(**{"gps.wte_per_10k": 2.0})
    m = simulate(few_gps, 0).metrics
    base = simulate(short(), 0).metrics
    assert m["diverted_per_year"] > 2 * base["diverted_per_year"]
    assert m["diverted_per_year.same_day"] > 0


def test_returning_patients_come_back_and_are_counted_once():
    none = simulate(short(**{"demand.return_share": 0.0}), 0).metrics
    some = simulate(short(**{"demand.return_share": 0.8}), 0).metrics
    assert none["returned_per_year"] == 0.0 and some["returned_per_year"] > 0
    # returns are not new requests: the request count is the same arrival stream
    assert some["requests_per_year"] == none["requests_per_year"]
    assert some["unmet_per_year"] < none["unmet_per_year"]


def test_scarce_gp_time_cuts_supervision_and_raises_arrs_attrition():
    """Supervision competes with patients for GP slots: with GP time short, less is given, more staff leave."""
    values = {"run.horizon_weeks": 104, "run.warmup_weeks": 4}
    plenty = scenario(values={**values, "gps.wte_per_10k": 50.0})
    short_gps = scenario(values=values)
    given, leavers = {}, {}
    for label, s in (("plenty", plenty), ("short", short_gps)):
        runs = [simulate(s, r) for r in range(4)]
        given[label] = np.mean([r.metrics["gp_supervision_hours_per_week"] for r in runs])
        leavers[label] = np.mean([r.metrics["arrs_leavers_per_year"] for r in runs])
    assert given["short"] < 0.9 * given["plenty"]
    assert leavers["short"] > leavers["plenty"]


def test_arrs_budget_is_spent_in_the_role_mix_to_the_pound():
    for practices in (1, 5):
        s = scenario(values={"pcn.practices": practices})
        posts = arrs_posts(s)
        cost = sum(posts[r] * getattr(s.arrs.roles, r).annual_cost for r in ARRS_ROLES)
        assert cost == pytest.approx(s.arrs_budget, rel=1e-12)
        # the roles the scheme allows at the start (ARRS GPs from week 26, practice nurses from week 52)
        mix = np.array([getattr(s.arrs.mix, r) * (getattr(s.arrs.roles, r).from_week == 0) for r in ARRS_ROLES])
        wte = np.array([posts[r] for r in ARRS_ROLES])
        assert wte / wte.sum() == pytest.approx(mix / mix.sum())


def test_budget_by_year_changes_the_posts_each_april():
    s = scenario(values={"run.horizon_weeks": 110, "run.warmup_weeks": 4,
                         "funding.arrs_per_patient_by_year": (10.0, 30.0)})
    w = simulate(s, 0).weekly["arrs_posts_funded"]
    assert w[10] == pytest.approx(arrs_posts(s, 0) and sum(arrs_posts(s, 0).values()))
    assert w[60] == pytest.approx(sum(arrs_posts(s, 1).values()))
    assert w[60] > 2.5 * w[10]


def test_a_shared_labour_supply_leaves_posts_vacant_when_everyone_is_funded_more():
    # the budget triples in the second year: the new posts must be filled from the shared supply
    values = {"run.horizon_weeks": 104, "run.warmup_weeks": 52, "ics.pcns": 3,
              "funding.arrs_per_patient_by_year": (22.89, 70.0)}
    unlimited = scenario(values={**values, "arrs.candidates_per_10k_year": 0.0})
    shared = scenario(values=values)
    v_unlimited = np.mean([simulate(unlimited, r).metrics["arrs_vacancy_rate"] for r in range(2)])
    v_shared = np.mean([simulate(shared, r).metrics["arrs_vacancy_rate"] for r in range(2)])
    assert v_shared > v_unlimited + 0.05
    rates = candidates_per_year(shared)
    assert sum(rates.values()) == pytest.approx(3.5 * shared.list_size * 3 / 10_000)


def test_practices_differ_in_size_and_need():
    s = scenario(values={"pcn.list_size_cv": 0.5})
    sizes = list_sizes(s)
    assert sizes.mean() == pytest.approx(s.pcn.list_size_per_practice)
    assert sizes.std() / sizes.mean() > 0.3 and sizes[0] == sizes.max()
    listed = scenario(values={"pcn.list_sizes": (4000, 6000, 8000, 10000, 12000)})
    assert listed.list_size == 40_000
    weighted = scenario(values={"pcn.list_sizes": (5000, 5000, 5000, 5000, 5000),
                                "pcn.need_weights": (2.0, 1.0, 1.0, 1.0, 1.0)})
    seen = {}
    model.simulate(scenario(weighted, {"run.horizon_weeks": 2, "run.warmup_weeks": 1}), 0,
                   observer=lambda ics: seen.setdefault("ics", ics))
    lam = seen["ics"].pcns[0].practices.lam.sum(1)
    assert lam[0] == pytest.approx(2 * lam[1])
    assert lam.sum() == pytest.approx(25_000 * s.demand.appointments_per_patient_year / 260)


def test_more_arrs_money_gives_more_appointments_and_fewer_diverted():
    lo = simulate(short(**{"funding.arrs_per_patient": 11.45}), 0).metrics
    hi = simulate(short(**{"funding.arrs_per_patient": 34.34}), 0).metrics
    assert hi["appointments_per_year"] > lo["appointments_per_year"]
    assert hi["diverted_per_year"] < lo["diverted_per_year"]
    assert hi["wait_days_mean"] <= lo["wait_days_mean"] + 0.25


def test_arrs_gps_join_the_gp_diaries_from_the_week_the_scheme_allows_them():
    values = {"run.horizon_weeks": 60, "run.warmup_weeks": 30, "arrs.mix.arrs_gp": 0.3}
    s = scenario(values=values)
    rep = simulate(s, 0)
    gps = rep.weekly["arrs_in_post.arrs_gp"]
    assert gps[:26].max() == 0.0 and gps[40:].mean() > 1.0        # none before October 2024 (week 26)
    assert arrs_posts(s, 0, 25)["arrs_gp"] == 0.0 and arrs_posts(s, 0, 26)["arrs_gp"] > 3.0
    without = simulate(scenario(values={**values, "arrs.mix.arrs_gp": 0.0}), 0).metrics
    # the same money buys fewer, dearer posts, but the ARRS GPs work in the GP diaries
    assert rep.metrics["gp_appointments_per_year"] > without["gp_appointments_per_year"]
    assert rep.metrics["utilisation.arrs_gp"] == rep.metrics["utilisation.gp"]


def test_supervision_blocks_are_released_under_gp_pressure():
    """The share of the pre-blocked supervision kept (docs/model.md 2.4): all of it up to the release
    pressure, then one unit of pressure less per `supervision_release_per_pressure`, never below none."""
    s = short(**{"arrs.supervision_release_pressure": 1.0, "arrs.supervision_release_per_pressure": 1.0})
    from pcnsim.model.ics import Ics
    from pcnsim.model.simulation import CountingEnvironment
    pr = Ics(CountingEnvironment(), s, 0).pcns[0].practices
    kept = {}
    for pressure in (0.6, 1.0, 1.3, 1.7, 2.5):
        pr.last_gp_pressure = pressure
        kept[pressure] = pr.supervision_kept()
        blocked = pr.staffing().protected * s.gps.appointment_minutes / 60.0
        assert blocked == pytest.approx(pr.staffing().wanted * s.arrs.supervision_preblocked_share * kept[pressure])
    assert kept == pytest.approx({0.6: 1.0, 1.0: 1.0, 1.3: 0.7, 1.7: 0.3, 2.5: 0.0})


def test_supervision_given_share_is_the_ratio_arrs_attrition_reads(baseline):
    """Given over needed over the measured weeks, from the weekly series `Pcn.week_close` divides for attrition."""
    s, rep = baseline
    w, m = rep.weekly, rep.metrics
    given, needed = (w[k][s.run.warmup_weeks:].sum() for k in ("gp_supervision_hours", "gp_supervision_needed_hours"))
    assert needed > 0
    assert m["supervision_given_share"] == pytest.approx(given / needed, rel=1e-12)
    assert m["gp_supervision_needed_hours_per_week"] == pytest.approx(needed / (s.run.horizon_weeks - s.run.warmup_weeks))
    assert 0.0 < m["supervision_given_share"] <= 1.0


def test_blocks_never_released_give_the_preblocked_share_at_baseline():
    """With release switched off the rota is kept whatever the pressure: GPs full, given = the pre-blocked share."""
    m = simulate(short(**{"arrs.supervision_release_per_pressure": 0.0}), 0).metrics
    assert m["supervision_given_share"] == pytest.approx(0.75, abs=0.02)
    released = simulate(short(), 0).metrics
    assert released["supervision_given_share"] < m["supervision_given_share"] - 0.02
    # under real shortage (GPs at 3.5 per 10,000) the release is large; switched off, the rota is still kept
    short_gps = {"gps.wte_per_10k": 3.5}
    kept = simulate(short(**short_gps, **{"arrs.supervision_release_per_pressure": 0.0}), 0).metrics
    pressed = simulate(short(**short_gps), 0).metrics
    assert kept["supervision_given_share"] == pytest.approx(0.75, abs=0.02)
    assert pressed["supervision_given_share"] < kept["supervision_given_share"] - 0.2


def test_fewer_gps_give_less_supervision_and_lose_more_arrs_staff():
    """Issue 26's done-when: GPs at 3.5 per 10,000 against 4.5, the bundled baseline's horizon and warm-up,
    10 replications paired by common random numbers: supervision given lower and ARRS leavers higher, each
    95% interval of the paired difference excluding zero (docs/model.md 2.4)."""
    from pcnsim.analysis import t_interval
    runs = {gp: [simulate(scenario(values={"gps.wte_per_10k": gp}), r).metrics for r in range(10)]
            for gp in (3.5, 4.5)}
    for key, sign in (("supervision_given_share", -1), ("arrs_leavers_per_year", +1)):
        diff = [a[key] - b[key] for a, b in zip(runs[3.5], runs[4.5])]
        mean, _, low, high, _ = t_interval(diff, 0.95)
        assert (high < 0) if sign < 0 else (low > 0), (key, mean, low, high)


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10).filter(lambda w: sum(w) > 0),
       seed=st.integers(0, 2**32 - 1))
def test_the_lead_table_gives_the_binary_search_s_leads(weights, seed):
    """`lead_table`'s lookup (with its fallback) is `searchsorted(cdf, u, side="right")` for every u: random
    uniforms, every bucket's edges and the cumulative shares themselves, on random lead weights."""
    from pcnsim.model.practices import LEAD_BUCKETS, lead_table

    by_lead = np.zeros(51)
    w = np.array(weights)
    by_lead[1:1 + 5 * w.size] = np.repeat(w / w.sum() / 5, 5)
    cdf = np.cumsum(by_lead)
    cdf[np.flatnonzero(by_lead).max(initial=0):] = 1.0
    table = lead_table(cdf.tobytes())
    edges = np.arange(LEAD_BUCKETS) / LEAD_BUCKETS
    u = np.concatenate([np.random.default_rng(seed).random(20_000), edges, np.nextafter(edges[1:], 0.0),
                        cdf[cdf < 1.0], np.nextafter(cdf[cdf < 1.0], 0.0)])
    lead = table[(u * LEAD_BUCKETS).astype(np.intp)]
    odd = lead < 0
    lead[odd] = cdf.searchsorted(u[odd], side="right")
    assert np.array_equal(lead, cdf.searchsorted(u, side="right"))
    assert odd.mean() < 0.05                # the table answers almost every draw


def test_planned_requests_arrive_by_desired_lead_as_the_lead_weeks_say():
    """A week's planned requests are Poisson by practice, type and day, their desired leads drawn one by one:
    over many weeks the counts by lead match the expected requests times `planned_lead_weeks` (spread evenly
    over each week's five open days), and no request wants today or a lead past the last week's."""
    from pcnsim.model.ics import Ics
    from pcnsim.model.simulation import CountingEnvironment

    s = scenario(values={"demand.planned_lead_weeks": (0.5, 0.0, 0.3, 0.2)})
    practices = Ics(CountingEnvironment(), s, 0).pcns[0].practices
    weeks, H = 400, practices.H
    by_lead = np.zeros(H)
    urgent_routine = np.zeros((2,) + practices.lam.shape)
    expected = np.zeros(2)
    for w in range(weeks):
        practices.week_ahead(w)
        a = practices.week_arrivals
        by_lead += a[:, 2:].sum(axis=(0, 2, 3))
        urgent_routine += a[:, :2].sum(axis=0)
        season = practices.season[w % len(practices.season)] * practices.weekday_profile.sum()
        expected += season * np.array([practices.lam_split[:2].sum(), practices.lam_split[2].sum()])
    shares = np.repeat(np.array([0.5, 0.0, 0.3, 0.2]) / 5, 5)
    want = np.zeros(H)
    want[1:21] = expected[1] * shares
    assert by_lead[0] == 0 and by_lead[21:].sum() == 0
    assert by_lead[6:11].sum() == 0                      # the second week has no weight
    nz = want > 0
    z = (by_lead[nz] - want[nz]) / np.sqrt(want[nz])
    assert np.abs(z).max() < 5, z
    assert abs(urgent_routine.sum() - expected[0]) < 5 * np.sqrt(expected[0])
