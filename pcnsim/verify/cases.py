"""Scenarios with known answers: the single-type queue and its exact stationary distribution."""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import numpy as np
from scipy import stats

from pcnsim.config import DAYS_PER_WEEK, DEMAND_TYPES, SESSION_HOURS, WEEKS_PER_YEAR, Scenario
from pcnsim.verify.base import WORKING_DAYS_PER_YEAR


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
    no returns, nothing planned, no nurses or DPC staff, no ARRS, a CD with no clinical sessions, no leave, no bank
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
        "nurses.wte_per_10k": 0.0, "dpc.wte_per_10k": 0.0, "funding.arrs_per_patient": 0.0,
        "demand.planned_share": 0.0,          # nothing booked ahead by design: every lead is a wait
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


