"""Verification of the model: limit cases with known answers, and invariants of every run.

`run_checks()` returns a list of `Check`s, each comparing what the model gives (`got`) with
what it must give (`expected`) within a `tolerance`:

- conservation laws that hold exactly in every run (demand, CD hours, ARRS budget,
  headcounts), on the baseline and on an ICS of several PCNs;
- limit cases: no ARRS budget, no system meetings, unlimited GP capacity;
- a single demand type with Poisson arrivals and a fixed whole number of appointments a
  day: the practice's backlog is then the discrete-time queue
  ``Q[n+1] = max(Q[n] + A[n+1] - c, 0)``, ``A ~ Poisson(lam)``, whose stationary
  distribution is computed exactly (`exact_queue`) and compared with the simulation, with
  a tolerance from the replications' confidence interval;
- Little's law in its sample-path form, which holds exactly for every run (`little`);
- determinism: one seed, one set of numbers.

The checks and their formulas are written up in docs/verification.md. This module runs
the model and does no I/O; the `pcnsim verify` command prints the table.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import numpy as np
from scipy import stats

from pcnsim import model
from pcnsim.analysis import halfwidth
from pcnsim.config import ARRS_ROLES, DAYS_PER_WEEK, DEMAND_TYPES, SESSION_HOURS, WEEKS_PER_YEAR, Scenario

__all__ = ["Check", "Observed", "exact_queue", "little", "observe", "queue_scenario", "run_checks", "scenario"]

WORKING_DAYS_PER_YEAR = WEEKS_PER_YEAR * DAYS_PER_WEEK   # 260, the model's demand divisor
OBSERVE_AT = 21.0                                        # hours after midnight: after the day's service
CI_LEVEL = 0.99                                          # two-sided level of the statistical checks


@dataclass(frozen=True)
class Check:
    """One verification check.

    `relation` says how `got` is compared: "==" passes when |got - expected| <= tolerance,
    "<=" when got <= expected + tolerance, ">=" when got >= expected - tolerance.
    """

    name: str
    expected: float
    got: float
    tolerance: float
    passed: bool
    note: str
    relation: str = "=="
    seconds: float = 0.0


def _check(name: str, expected: float, got: float, tolerance: float, note: str, relation: str = "==") -> Check:
    expected, got, tolerance = float(expected), float(got), float(tolerance)
    if not (math.isfinite(got) and math.isfinite(expected)):
        passed = False
    elif relation == "==":
        passed = abs(got - expected) <= tolerance
    elif relation == "<=":
        passed = got <= expected + tolerance
    elif relation == ">=":
        passed = got >= expected - tolerance
    else:
        raise ValueError(f"unknown relation {relation!r}")
    return Check(name, expected, got, tolerance, passed, note, relation)


# --------------------------------------------------------------------------- scenarios
def scenario(base: Optional[Scenario] = None, values: Optional[Mapping[str, Any]] = None) -> Scenario:
    """`base` (default: the baseline defaults) with dotted keys replaced, validated."""
    base = base if base is not None else Scenario()
    values = dict(values or {})
    try:
        from pcnsim.scenario import apply_values
    except ImportError:  # pragma: no cover - the loader ships with pcnsim
        apply_values = None
    if apply_values is not None:
        return apply_values(base, values, "pcnsim.verify")
    data = base.model_dump()
    for key, value in values.items():
        *path, last = key.split(".")
        target = data
        for p in path:
            target = target[p]
        target[last] = tuple(value) if isinstance(value, list) else value
    return Scenario.model_validate(data)


def queue_scenario(lam: float, c: int, patience_days: int = 60, horizon_weeks: int = 260,
                   warmup_weeks: int = 8, seed: int = 20190701) -> Scenario:
    """One practice whose booked-ahead diary is the discrete-time queue with Poisson(lam) arrivals and c a day.

    One demand type (`gp_complex`), all routine, no slots held for the day, every offer taken,
    no returns, no nurses, no ARRS, a CD with no clinical sessions, no leave, no bank
    holidays, a flat weekday profile and no winter: only the practice's GPs serve, and their
    capacity is 1 WTE x 10 sessions x 250 min / 5 days = 500 minutes a day, i.e. c
    appointments of 500/c minutes. Demand per working day is list x rate / 260 = lam. Each
    request is booked into the first free slot, so the diary fills from the front and a
    request's lead time is its FIFO wait; the booking horizon is `patience_days`.
    """
    list_size = 1000
    minutes_per_day = 1.0 * 10 * 1.0 * SESSION_HOURS * 60.0 / DAYS_PER_WEEK   # 500
    mix = {f"demand.mix.{t}": (1.0 if t == "gp_complex" else 0.0) for t in DEMAND_TYPES}
    return scenario(values={
        "name": "verify-queue",
        "run.horizon_weeks": horizon_weeks, "run.warmup_weeks": warmup_weeks, "run.seed": seed,
        "pcn.practices": 1, "pcn.list_size_per_practice": list_size,
        "demand.appointments_per_patient_year": lam * WORKING_DAYS_PER_YEAR / list_size,
        "demand.weekday_profile": (1.0, 1.0, 1.0, 1.0, 1.0), "demand.winter_uplift": 0.0,
        "demand.patience_days": patience_days, **mix,
        # booking limit case: no urgency, no slots held for the day, every offer taken, no returns,
        # one practice of the mean size
        **{f"demand.urgent.{t}": 0.0 for t in DEMAND_TYPES}, "demand.on_the_day_share": 0.0,
        "demand.tolerance_days": 0.0, "demand.return_share": 0.0, "pcn.list_size_cv": 0.0,
        "calendar.bank_holidays": False, "calendar.leave_weeks_per_year": 0.0,
        "gps.wte_per_10k": 10.0, "gps.sessions_per_wte": 10.0, "gps.patient_facing_share": 1.0,
        "gps.appointment_minutes": minutes_per_day / c,
        "nurses.wte_per_10k": 0.0, "funding.arrs_per_patient": 0.0,
        "clinical_director.clinical_sessions": 0, "ics.meeting_load": 0.0,
        "leadership.practice_lead_pcn_hours_per_week": 0.0,     # no GP time out of the queue's capacity
    })


def queue_capacity(s: Scenario) -> float:
    """GP appointments a day of practice 0, as the model computes them (no CD sessions, no leave)."""
    wte = s.gps.wte_per_10k * s.pcn.list_size_per_practice / 10_000
    day = (1 - s.calendar.leave_weeks_per_year / WEEKS_PER_YEAR) * SESSION_HOURS * 60.0 / DAYS_PER_WEEK
    return wte * s.gps.sessions_per_wte * s.gps.patient_facing_share * day / s.gps.appointment_minutes


# --------------------------------------------------------------------------- exact queue
def exact_queue(lam: float, c: int, patience_days: Optional[int] = None) -> dict[str, float]:
    """The stationary end-of-day backlog of Q[n+1] = max(Q[n] + A[n+1] - c, 0), A ~ Poisson(lam).

    The chain is truncated at a level N far in the tail (probability lumped into N) and its
    stationary distribution pi solves pi P = pi, sum(pi) = 1 exactly (a dense linear solve,
    equivalent to power iteration to convergence). With FIFO service of exactly c a day, an
    arriving request at position j of its day's batch has Q + j - 1 requests ahead and waits
    floor((Q + j - 1) / c) working days (0 = served the day it arrives), where Q ~ pi is the
    previous day's end-of-day backlog and P(J = j) = P(A >= j) / lam (the position of an
    arbitrary member of a batch; Burke). Needs lam < c. For c = 1 the mean is the M/D/1
    result lam^2 / (2 (1 - lam)).
    """
    if not 0 < lam < c:
        raise ValueError(f"the queue is stable only for 0 < lam < c (lam = {lam}, c = {c})")
    amax = int(lam + 40 * math.sqrt(lam) + 40)
    pa = stats.poisson.pmf(np.arange(amax + 1), lam)
    pa[-1] += stats.poisson.sf(amax, lam)
    # a generous truncation: the tail decays geometrically, at a rate set by the drift c - lam
    n = min(int(c + amax + 60 * (lam + 1) / (c - lam) + 200), 6000)
    trans = np.zeros((n + 1, n + 1))
    steps = np.arange(amax + 1)
    for i in range(n + 1):
        j = np.minimum(np.maximum(i + steps - c, 0), n)
        np.add.at(trans[i], j, pa)
    a = trans.T - np.eye(n + 1)
    a[-1, :] = 1.0
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.clip(np.linalg.solve(a, b), 0.0, None)
    pi /= pi.sum()
    q = np.arange(n + 1)
    p_j = np.array([pa[j:].sum() for j in range(1, amax + 1)]) / lam   # P(J = j) = P(A >= j) / lam
    ahead = q[:, None] + np.arange(amax)[None, :]           # Q + j - 1 for j = 1..amax
    wait = np.floor(ahead / c)
    mean_wait = float(pi @ (wait @ p_j))
    # the distribution of the wait: P(W = k) = sum_q pi(q) sum_j P(J = j) [floor((q + j - 1)/c) = k]
    wait_pmf = np.bincount(wait.astype(np.int64).ravel(), weights=(pi[:, None] * p_j[None, :]).ravel())
    cdf = np.cumsum(wait_pmf)
    out = {"mean_backlog": float(pi @ q), "var_backlog": float(pi @ q ** 2 - (pi @ q) ** 2),
           "p_empty": float(pi[0]), "mean_wait": mean_wait, "p_wait_0": float(wait_pmf[0]),
           "wait_p90": float(np.searchsorted(cdf, 0.9)), "cdf_at_p90": float(cdf[int(np.searchsorted(cdf, 0.9))]),
           "tail_mass": float(pi[-1])}
    if patience_days is not None:
        out["p_wait_at_least_patience"] = float(pi @ ((wait >= patience_days) @ p_j))
    return out


# --------------------------------------------------------------------------- observing a run
@dataclass
class Observed:
    """A replication plus what a daily observer saw in each PCN, at the end of every open day.

    `day_week[k]` is the week of the k-th open day; `backlog[p][k]` the requests waiting at
    its end in PCN p; `age_sum[p][k]` the sum of their ages (end-of-day counts already made:
    a booking of lead l now k + 1 days from its appointment has made l - k; an urgent request
    carried to tomorrow 1; a returner r days from contacting again R - r). `weekly[p]` are
    the PCNs' own weekly series and `served_by_age[p]` their measured appointments by lead
    in working days. `idle_unmet[p]` is the most free bookable slots, over the open days, that
    an eligible pool had while a request it could serve went unbooked for want of a slot.
    """

    replication: model.Replication
    day_week: np.ndarray
    backlog: list[np.ndarray]
    age_sum: list[np.ndarray]
    weekly: list[dict[str, np.ndarray]]
    patience_days: list[int] = field(default_factory=list)
    served_by_age: list[np.ndarray] = field(default_factory=list)
    return_after_days: list[int] = field(default_factory=list)
    idle_unmet: list[float] = field(default_factory=list)


def observe(s: Scenario, replication: int = 0) -> Observed:
    """Run `model.simulate` with an observer riding along (it reads the backlog, changes nothing).

    The observer is a SimPy process started with the ICS; it wakes at 21:00 of every day (after
    the day's service at 18:00 and before the next arrivals) and records, on open days only,
    the backlog of each PCN and the sum of its requests' ages. It draws no random numbers.
    """
    seen: dict[str, Any] = {"days": []}
    idle = [0.0] * s.ics.pcns

    def ride_along(ics: model.Ics) -> None:
        seen["ics"] = ics
        ics.env.process(_observer(ics))

    def _observer(ics: model.Ics):
        week = 0
        while True:
            for day in range(DAYS_PER_WEEK):
                yield ics.env.timeout(week * model.WEEK + day * model.DAY + OBSERVE_AT - ics.env.now)
                if model.is_open(s, week, day):
                    row = [week]
                    for i, pcn in enumerate(ics.pcns):
                        row += [int(round(pcn.practices.backlog())), age_sum(pcn.practices)]
                        idle[i] = max(idle[i], idle_while_unmet(pcn.practices))
                    seen["days"].append(row)
            week += 1

    rep = model.simulate(s, replication, observer=ride_along)
    ics = seen["ics"]
    days = np.array(seen["days"], dtype=np.int64).reshape(-1, 1 + 2 * len(ics.pcns))
    return Observed(
        replication=rep, day_week=days[:, 0],
        backlog=[days[:, 1 + 2 * p] for p in range(len(ics.pcns))],
        age_sum=[days[:, 2 + 2 * p] for p in range(len(ics.pcns))],
        weekly=[{k: np.asarray(v) for k, v in pcn.weekly.items()} for pcn in ics.pcns],
        patience_days=[pcn.practices.H for pcn in ics.pcns],
        served_by_age=[np.asarray(pcn.served_by_age, dtype=float).copy() for pcn in ics.pcns],
        return_after_days=[pcn.practices.returns.shape[-1] for pcn in ics.pcns], idle_unmet=idle)


def age_sum(pr) -> int:
    """End-of-day counts already made by the requests waiting (after the day's service and diary move)."""
    H = pr.H
    lead, k = np.arange(H + 1)[:, None], np.arange(H)[None, :]
    booked = int((pr.by_lead * np.maximum(lead - k, 0)).sum())
    R = pr.returns.shape[-1]
    returners = int((pr.returns.sum(axis=(0, 1)) * (R - np.arange(R))).sum())
    return booked + int(pr.carried.sum()) + returners


def idle_while_unmet(pr) -> float:
    """Free bookable slots an eligible pool still has while a request it could serve went unbooked today.

    Read after the day's service, when the diary has moved on a day: the days that were open to
    booking are now 0..H-2 (day H-1 has just opened). 0 is the allocation policy's promise.
    """
    unbooked = pr.unbooked_today
    if not unbooked.any():
        return 0.0
    P, H = pr.P, pr.H
    worst = 0.0
    for t in range(unbooked.shape[1]):
        at = unbooked[:, t] > 0
        if not at.any():
            continue
        worst = max(worst, float(pr.free_gp[at, :H - 1].sum()))
        if t == pr.nursing:
            worst = max(worst, float(pr.free[P:2 * P][at, :H - 1].sum()))
        if t in pr.arrs_types:
            worst = max(worst, float(pr.free[2 * P + pr.arrs_types.index(t), :H - 1].sum()))
    return worst


def little(s: Scenario, obs: Observed) -> tuple[float, float]:
    """Little's law, sample-path form, for a single-PCN run: (mean end-of-day backlog, its prediction).

    A request booked with a lead of l working days is in the end-of-day backlog of l open days
    (0 when seen the day it is triaged); an urgent request carried to the next day is in one,
    whether it is then seen (lead 1) or diverted; a patient who will contact again is in R of
    them (R = `demand.return_after_days`) before the new contact is triaged; a patient who goes
    elsewhere is in none. Summing over the open days of the measured weeks:

        sum_d Q_d = sum_served l + diverted + R x returned + S_end - S_start

    where S is the end-of-day counts already made by the requests waiting at the end of the
    window (S_end) and just before it (S_start), the boundary terms (`age_sum`).
    """
    if s.ics.pcns != 1:
        raise ValueError("the sample-path Little check reads per-PCN metrics: use one PCN")
    w0 = s.run.warmup_weeks
    inside = obs.day_week >= w0
    days = int(inside.sum())
    q, ages = obs.backlog[0], obs.age_sum[0]
    s_start = int(ages[~inside][-1]) if (~inside).any() else 0
    s_end = int(ages[inside][-1])
    m = obs.replication.metrics
    years = s.years_measured
    served = m["appointments_per_year"] * years
    diverted = m["diverted_per_year"] * years
    returned = m["returned_per_year"] * years
    predicted = (m["wait_days_mean"] * served + diverted + obs.return_after_days[0] * returned
                 + s_end - s_start) / days
    return float(q[inside].mean()), float(predicted)


# --------------------------------------------------------------------------- the checks
def _ci_halfwidth(values: np.ndarray, level: float = CI_LEVEL) -> float:
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return math.inf
    return halfwidth(values, level)


class _Plan:
    """Sizes of the runs: the full plan keeps `pcnsim verify` under a minute, `quick` a few seconds."""

    def __init__(self, quick: bool):
        self.quick = quick
        self.base_weeks, self.base_warmup, self.base_reps = (26, 4, 2) if quick else (52, 13, 3)
        self.ics_weeks, self.ics_reps = (16, 1) if quick else (40, 2)
        # (lam, c, replications, horizon weeks): a warm-up of 8 weeks is far past the relaxation time
        self.queues = [(4.0, 5, 8, 52)] if quick else [(4.0, 5, 40, 78), (45.0, 50, 16, 52)]


def _baseline(plan: _Plan) -> Scenario:
    return scenario(values={"name": "verify-baseline", "run.horizon_weeks": plan.base_weeks,
                            "run.warmup_weeks": plan.base_warmup})


def _demand_checks(runs: list[tuple[Scenario, model.Replication]]) -> list[Check]:
    worst_year = worst_week = worst_split = 0.0
    for s, rep in runs:
        m, w, years = rep.metrics, rep.weekly, s.years_measured
        lhs = m["requests_per_year"]
        rhs = m["appointments_per_year"] + m["unmet_per_year"] + (m["backlog_end"] - m["backlog_start"]) / years
        worst_year = max(worst_year, abs(lhs - rhs) / max(lhs, 1.0))
        before = np.concatenate([[0.0], w["backlog"][:-1]])
        worst_week = max(worst_week, float(np.max(np.abs(
            w["requests"] - (w["appointments"] + w["unmet"] + w["backlog"] - before)))))
        split = m["gp_appointments_per_year"] + m["arrs_appointments_per_year"] + m["nurse_appointments_per_year"]
        worst_split = max(worst_split, abs(m["appointments_per_year"] - split) / max(split, 1.0))
    n = len(runs)
    worst_type = 0.0
    for s, rep in runs:
        m, years = rep.metrics, s.years_measured
        for t in DEMAND_TYPES:
            lhs = m[f"requests_per_year.{t}"]
            rhs = (m[f"appointments_per_year.{t}"] + m[f"unmet_per_year.{t}"]
                   + m[f"backlog_change.{t}"] / years)
            worst_type = max(worst_type, abs(lhs - rhs) / max(m["requests_per_year"], 1.0))
    return [
        _check("demand conserved by type (per year)", 0.0, worst_type, 1e-9,
               f"max over 7 types of |requests.t - (appointments.t + unmet.t + backlog_change.t/years)| "
               f"/ requests, {n} runs"),
        _check("demand conserved (per year)", 0.0, worst_year, 1e-9,
               f"max rel |requests - (appointments + unmet + (backlog_end - backlog_start)/years)|, {n} runs"),
        _check("demand conserved (every week)", 0.0, worst_week, 1e-6,
               f"max |requests - appointments - unmet - (backlog - backlog last week)| over weeks of {n} runs"),
        _check("appointments = GP + ARRS + nurse", 0.0, worst_split, 1e-9,
               f"max rel difference over {n} runs"),
    ]


def _hours_checks(observed: list[Observed]) -> list[Check]:
    worst, lowest_overtime, weeks, lowest_slack = 0.0, math.inf, 0, math.inf
    for obs in observed:
        for w in obs.weekly:   # one CD person-week per PCN per week
            used = w["cd_clinical_hours"] + w["cd_leadership_hours"] + w["cd_meeting_hours"] + w["cd_slack_hours"]
            worst = max(worst, float(np.max(np.abs(used - (w["cd_contracted_hours"] + w["cd_overtime_hours"])))))
            lowest_overtime = min(lowest_overtime, float(w["cd_overtime_hours"].min()))
            lowest_slack = min(lowest_slack, float(w["cd_slack_hours"].min()))
            weeks += len(w["cd_slack_hours"])
    return [
        _check("CD hours conserved (every person-week)", 0.0, worst, 1e-9,
               f"max |clinical + leadership + meeting + slack - (contracted + overtime)| over {weeks} CD-weeks"),
        _check("CD overtime never negative", 0.0, lowest_overtime, 0.0,
               f"min weekly overtime hours over {weeks} CD-weeks", relation=">="),
        _check("CD slack never negative", 0.0, lowest_slack, 1e-9,
               f"min weekly unused protected hours over {weeks} CD-weeks", relation=">="),
    ]


def _arrs_checks(plan: _Plan, runs: list[tuple[Scenario, model.Replication]]) -> list[Check]:
    worst_share, worst_posts, worst_headcount = 0.0, 0.0, 0.0
    for s, rep in runs:
        if s.arrs_budget > 0:
            worst_share = max(worst_share, float(rep.weekly["arrs_spend"].max()) * WEEKS_PER_YEAR / s.arrs_budget,
                              rep.metrics["arrs_budget_used_share"])
        w = rep.weekly
        # headcounts: 0 <= in post <= funded, for every role and in total
        worst_headcount = max(worst_headcount, float(np.max(-w["arrs_in_post"])), float(np.max(-w["arrs_vacancies"])),
                              *(float(np.max(-w[f"arrs_in_post.{r}"])) for r in ARRS_ROLES))
    base = scenario()
    rates = np.linspace(0.0, 120.0, 61 if plan.quick else 241)
    for rate in rates:
        s = scenario(base, {"funding.arrs_per_patient": float(rate)})
        posts = model.arrs_posts(s)
        cost = sum(posts[r] * getattr(s.arrs.roles, r).annual_cost for r in ARRS_ROLES)
        if s.arrs_budget > 0:
            worst_posts = max(worst_posts, cost / s.arrs_budget)
        elif cost > 0:
            worst_posts = math.inf
    return [
        _check("ARRS spend <= budget (simulated)", 1.0, worst_share, 1e-12,
               f"max over weeks of weekly ARRS spend x 52 / budget, {len(runs)} runs", relation="<="),
        _check("ARRS posts cost <= budget", 1.0, worst_posts, 1e-12,
               f"max cost of arrs_posts() / budget over {rates.size} rates 0-120 GBP/patient", relation="<="),
        _check("ARRS headcounts in [0, funded]", 0.0, worst_headcount, 0.0,
               "max of -in post and -(funded - in post), every role and week", relation="<="),
    ]


def _limit_checks(plan: _Plan) -> list[Check]:
    base = _baseline(plan)
    checks = []
    m = model.simulate(scenario(base, {"funding.arrs_per_patient": 0.0}), 0).metrics
    got = (m["arrs_appointments_per_year"] + m["gp_supervision_hours_per_week"] + m["arrs_staff_wte"]
           + m["arrs_spend_per_year"] + m["arrs_leavers_per_year"])
    checks.append(_check("no ARRS budget: no ARRS activity", 0.0, got, 0.0,
                         "ARRS appointments + supervision + WTE + spend + leavers with arrs_per_patient = 0"))
    rep = model.simulate(scenario(base, {"ics.meeting_load": 0.0}), 0)
    got = rep.metrics["cd_meeting_hours_per_week"] + float(rep.weekly["meetings_expected"].sum()) \
        + float(rep.weekly["cd_meeting_hours"].sum())
    checks.append(_check("no meetings: no meeting hours", 0.0, got, 0.0,
                         "CD meeting hours + meetings expected (all weeks) with ics.meeting_load = 0"))
    # triage books a preferred role only if it has a slot today (reach 0), else a GP today
    unlimited = scenario(base, {"gps.wte_per_10k": 50.0, "ics.meeting_load": 0.0, "demand.mix.social": 0.0,
                                "demand.skill_mix_reach_days": 0})
    m = model.simulate(unlimited, 0).metrics
    checks.append(_check("unlimited capacity: nothing unmet", 0.0, m["unmet_per_year"] + m["backlog_end"], 0.0,
                         "unmet per year + backlog at end with 50 GP WTE per 10k, no meetings, no social demand, reach 0"))
    checks.append(_check("unlimited capacity: waits 0", 0.0, m["wait_days_mean"] + m["wait_days_p90"], 0.0,
                         "mean + p90 wait (working days): all booked the day they are triaged (capacity >> demand)"))
    return checks


def _delivery_checks(plan: _Plan) -> list[Check]:
    """The allocation policy's promise, and supervision competing with patients for GP time."""
    base = _baseline(plan)
    # every offer taken, so that a free slot left behind can only be the policy's doing
    tight = scenario(base, {"demand.tolerance_days": 0.0})
    obs = observe(tight, 0)
    unbooked = obs.replication.metrics["unmet_per_year"]
    checks = [_check("skill mix: no eligible slot idle while a request goes unbooked", 0.0, obs.idle_unmet[0], 0.0,
                     f"max free bookable slots of an eligible pool on a day a request it could serve found no "
                     f"slot (every offer taken; {unbooked:,.0f} unmet a year)")]
    # long enough for leavers to be counted: ARRS attrition is 15% a year
    base = scenario(base, {"run.horizon_weeks": 104, "run.warmup_weeks": 4})
    plenty = scenario(base, {"gps.wte_per_10k": 50.0})
    reps = 3 if plan.quick else 6
    ratio, leavers = {}, {}
    for label, sc in (("plenty", plenty), ("base", base)):
        runs = [model.simulate(sc, r) for r in range(reps)]
        w = [r.weekly for r in runs]
        ratio[label] = float(np.mean([x["gp_supervision_hours"].sum() for x in w]))
        leavers[label] = float(np.mean([r.metrics["arrs_leavers_per_year"] for r in runs]))
    return checks


def _determinism_checks(plan: _Plan) -> list[Check]:
    s = _baseline(plan)
    a, b, c = model.simulate(s, 1), model.simulate(s, 1), model.simulate(s, 2)
    obs = observe(s, 1)

    def differences(x: model.Replication, y: model.Replication) -> int:
        n = sum(1 for k in x.metrics if not (x.metrics[k] == y.metrics.get(k) or
                                             (math.isnan(x.metrics[k]) and math.isnan(y.metrics.get(k, 0.0)))))
        return n + sum(int(not np.array_equal(x.weekly[k], y.weekly[k])) for k in x.weekly)

    return [
        _check("same seed, same numbers", 0.0, differences(a, b), 0.0,
               "metrics and weekly series that differ between two runs of one seed and replication"),
        _check("observer does not perturb the model", 0.0, differences(a, obs.replication), 0.0,
               "metrics and weekly series that differ when the verification observer rides along"),
        _check("replications differ", 1.0, float(a.metrics["requests_per_year"] != c.metrics["requests_per_year"]),
               0.0, "1 if replications 1 and 2 of one seed draw different demand"),
    ]


def _queue_checks(lam: float, c: int, reps: int, weeks: int, patience: int = 60) -> list[Check]:
    s = queue_scenario(lam, c, patience_days=patience, horizon_weeks=weeks, warmup_weeks=8)
    cap = queue_capacity(s)
    if abs(cap - c) > 1e-6:
        raise AssertionError(f"the queue scenario gives {cap} appointments a day, not {c}")
    exact = exact_queue(lam, c, patience)
    backlog, wait, empty, unmet, same_day, little_err = [], [], [], [], [], 0.0
    served = np.zeros(patience + 1)
    for r in range(reps):
        obs = observe(s, r)
        inside = obs.day_week >= s.run.warmup_weeks
        q = obs.backlog[0][inside]
        backlog.append(q.mean())
        empty.append((q == 0).mean())
        m = obs.replication.metrics
        wait.append(m["wait_days_mean"])
        served += obs.served_by_age[0]
        same_day.append(obs.served_by_age[0][0] / obs.served_by_age[0].sum())
        unmet.append(m["unmet_per_year"] / m["requests_per_year"])
        got, predicted = little(s, obs)
        little_err = max(little_err, abs(got - predicted) / max(predicted, 1.0))
    n = reps
    days = n * (s.run.horizon_weeks - s.run.warmup_weeks) * DAYS_PER_WEEK
    p90 = float(np.searchsorted(np.cumsum(served), 0.9 * served.sum()))
    label = f"lam={lam:g}, c={c}"
    where = f"{n} reps x {days // n} days; tolerance = {CI_LEVEL:.1%} t-interval of the replication means"
    return [
        _check(f"queue {label}: mean end-of-day backlog", exact["mean_backlog"], np.mean(backlog),
               _ci_halfwidth(backlog), f"exact stationary mean of Q'=max(Q+A-c,0), A~Poisson; {where}"),
        _check(f"queue {label}: P(backlog = 0)", exact["p_empty"], np.mean(empty), _ci_halfwidth(empty),
               f"exact stationary pi(0); {where}"),
        _check(f"queue {label}: mean wait (days)", exact["mean_wait"], np.mean(wait), _ci_halfwidth(wait),
               f"E floor((Q+J-1)/c), P(J=j)=P(A>=j)/lam (FIFO, same-day = 0); {where}"),
        _check(f"queue {label}: share served same day", exact["p_wait_0"], np.mean(same_day),
               _ci_halfwidth(same_day), f"exact P(wait = 0) (sensitive to FIFO vs LIFO); {where}"),
        _check(f"queue {label}: p90 wait (days)", exact["wait_p90"], p90, 0.0,
               f"exact 90th percentile (exact CDF there {exact['cdf_at_p90']:.3f}); pooled over {n} reps"),
        _check(f"queue {label}: unmet share", exact["p_wait_at_least_patience"], np.mean(unmet),
               max(_ci_halfwidth(unmet), 1e-12),
               f"P(wait >= patience {patience} days) without abandonment (upper bound); {where}"),
        _check(f"Little's law, queue {label}", 0.0, little_err, 1e-9,
               "max rel |mean Q - (lam_served W + lam_unmet (A-1) + boundary)/days|, sample-path form, exact"),
    ]


def _little_baseline_checks(observed: list[tuple[Scenario, Observed]]) -> list[Check]:
    worst, detail = 0.0, ""
    for s, obs in observed:
        got, predicted = little(s, obs)
        err = abs(got - predicted) / max(predicted, 1.0)
        if err >= worst:
            worst, detail = err, f"L = {got:.1f} vs {predicted:.1f}"
    return [_check("Little's law, baseline", 0.0, worst, 1e-9,
                   f"as above, with 7 demand types, abandonment, bank holidays; {len(observed)} runs ({detail})")]


def run_checks(quick: bool = False, only: Optional[Callable[[str], bool]] = None) -> list[Check]:
    """Run every verification check (smaller runs with `quick`); a check that raises fails.

    `only`, if given, is called with each group's name (demand, hours, arrs, limits,
    delivery, determinism, queue, little) and the group runs when it returns True.
    """
    plan = _Plan(quick)
    base = _baseline(plan)
    ics = scenario(base, {"name": "verify-ics", "ics.pcns": 3, "ics.representation": "forum",
                          "ics.forum_representatives": 1, "run.horizon_weeks": plan.ics_weeks,
                          "run.warmup_weeks": 4, "funding.backfill_meetings": True})
    cache: dict[str, Any] = {}

    def base_observed() -> list[tuple[Scenario, Observed]]:
        if "base" not in cache:
            cache["base"] = [(base, observe(base, r)) for r in range(plan.base_reps)]
        return cache["base"]

    def ics_observed() -> list[tuple[Scenario, Observed]]:
        if "ics" not in cache:
            cache["ics"] = [(ics, observe(ics, r)) for r in range(plan.ics_reps)]
        return cache["ics"]

    def all_runs() -> list[tuple[Scenario, model.Replication]]:
        return [(s, o.replication) for s, o in base_observed() + ics_observed()]

    groups: list[tuple[str, Callable[[], list[Check]]]] = [
        ("demand", lambda: _demand_checks(all_runs())),
        ("hours", lambda: _hours_checks([o for _, o in base_observed() + ics_observed()])),
        ("arrs", lambda: _arrs_checks(plan, all_runs())),
        ("limits", lambda: _limit_checks(plan)),
        ("delivery", lambda: _delivery_checks(plan)),
        ("determinism", lambda: _determinism_checks(plan)),
        *(("queue", lambda q=q: _queue_checks(*q)) for q in plan.queues),
        ("little", lambda: _little_baseline_checks(base_observed())),
    ]
    checks: list[Check] = []
    for name, group in groups:
        if only is not None and not only(name):
            continue
        start = time.perf_counter()
        try:
            found = group()
        except Exception as err:  # noqa: BLE001 - a check that cannot run is a failed check
            found = [Check(f"{name}: could not run", math.nan, math.nan, 0.0, False,
                           f"{type(err).__name__}: {err}")]
        seconds = (time.perf_counter() - start) / max(len(found), 1)
        checks.extend(Check(**{**c.__dict__, "seconds": seconds}) for c in found)
    return checks
