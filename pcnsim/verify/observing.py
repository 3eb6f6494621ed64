"""Observing a run day by day: backlogs, idle capacity while requests go unmet, Little's law."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pcnsim import model
from pcnsim.config import DAYS_PER_WEEK, Scenario
from pcnsim.verify.base import OBSERVE_AT

if TYPE_CHECKING:
    from pcnsim.model.booking import Diary


# --------------------------------------------------------------------------- observing a run
@dataclass
class Observed:
    """A replication plus what a daily observer saw in each PCN, at the end of every open day.

    `day_week[k]` is the week of the k-th open day; `backlog[p][k]` the requests waiting at
    its end in PCN p; `age_sum[p][k]` its boundary term for Little's law (`age_sum`). `weekly[p]`
    are the PCNs' own weekly series and `served_by_age[p]` their measured bookings (urgent and
    routine) by lead in working days, counted when made. `idle_unmet[p]` is the most free bookable slots, over the open days, that
    an eligible pool had while a request it could serve went unbooked for want of a slot.
    """

    replication: model.Replication
    day_week: np.ndarray
    backlog: list[np.ndarray]
    age_sum: list[np.ndarray]
    weekly: list[dict[str, np.ndarray]]
    patience_days: list[int] = field(default_factory=list)
    served_by_age: list[np.ndarray] = field(default_factory=list)
    planned_by_age: list[np.ndarray] = field(default_factory=list)
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
                        row += [int(round(pcn.practices.backlog())), age_sum(pcn.practices.diary)]
                        idle[i] = max(idle[i], idle_while_unmet(pcn.practices.diary))
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
        planned_by_age=[np.asarray(pcn.planned_by_age, dtype=float).copy() for pcn in ics.pcns],
        return_after_days=[pcn.practices.diary.returns.shape[-1] for pcn in ics.pcns], idle_unmet=idle)


def age_sum(pr: Diary) -> int:
    """The boundary term of Little's law for the requests waiting in a diary at the end of a day (after the
    day's service and diary move): end-of-day counts already made by those counted when they leave (an urgent
    request carried to tomorrow 1; a returner r days from contacting again R - r), less the end-of-day counts
    still to come of those counted when booked (an appointment k open days after tomorrow: k)."""
    R = pr.returns.shape[-1]
    returners = int((pr.returns.sum(axis=(0, 1)) * (R - np.arange(R))).sum())
    booked = pr.booked_gp.sum(0) + pr.booked_pref.sum(0)
    ahead = int(booked @ np.arange(booked.size))
    return int(pr.carried.sum()) + returners - ahead


def idle_while_unmet(pr: Diary) -> float:
    """Free bookable slots an eligible pool still has while a request it could serve went unbooked today.

    Read after the day's service, when the diary has moved on a day: the days that were open to
    booking are now 0..H-2 (day H-1 has just opened). 0 is the allocation policy's promise.
    """
    unbooked = pr.unbooked_today
    if not unbooked.any():
        return 0.0
    P, H = pr.P, int(pr.passes[-1])        # routine requests book within the passes' last reach
    worst = 0.0
    for t in range(unbooked.shape[1]):
        at = unbooked[:, t] > 0
        if not at.any():
            continue
        worst = max(worst, float(pr.free_gp[at, :H - 1].sum()))
        if t == pr.nursing:
            worst = max(worst, float(pr.free[P:2 * P][at, :H - 1].sum()), float(pr.free[2 * P:3 * P][at, :H - 1].sum()))
        if t in pr.arrs_types:
            worst = max(worst, float(pr.free[3 * P + pr.arrs_types.index(t), :H - 1].sum()))
    return worst


def little(s: Scenario, obs: Observed) -> tuple[float, float]:
    """Little's law, sample-path form, for a single-PCN run: (mean end-of-day backlog, its prediction).

    A request booked with a lead of l working days is in the end-of-day backlog of l open days
    (0 when seen the day it is triaged); an urgent request carried to the next day is in one,
    whether it is then seen (lead 1) or diverted; a patient who will contact again is in R of
    them (R = `demand.return_after_days`) before the new contact is triaged; a patient who goes
    elsewhere is in none. Bookings are counted when made (`served_by_age`), the others when they
    leave the backlog. Summing over the open days of the measured weeks:

        sum_d Q_d = sum_booked l + diverted + R x returned + S_end - S_start

    where S is the boundary term (`age_sum`) at the end of the window (S_end) and just before
    it (S_start); planned bookings count with their leads (`planned_by_age`), like the others.
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
    booked = obs.served_by_age[0] + obs.planned_by_age[0]
    diverted = m["diverted_per_year"] * years
    returned = m["returned_per_year"] * years
    predicted = (float(booked @ np.arange(booked.size)) + diverted + obs.return_after_days[0] * returned
                 + s_end - s_start) / days
    return float(q[inside].mean()), float(predicted)


