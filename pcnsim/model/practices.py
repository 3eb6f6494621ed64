"""The practices of a PCN: requests arrive each working day and wait by age until served or lost.

Each open day the day's capacity serves the oldest requests first: practice nurses their own
practice's nursing requests, ARRS staff their types across the PCN, then GPs their own
practice (less the time they give to supervising ARRS staff). Requests past their patience
leave unmet (a diversion to 111, A&E or a walk-in centre).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pcnsim.config import DAYS_PER_WEEK, DEMAND_TYPES, WEEKS_PER_YEAR
from pcnsim.model.calendar import (ARRIVALS_AT, DAY, SERVICE_AT, SESSION_MINUTES, SLOTS, WEEK, WINTER_WEEKS,
                                   is_open, leave_share)

if TYPE_CHECKING:
    from pcnsim.model.pcn import Pcn

T = {t: i for i, t in enumerate(DEMAND_TYPES)}
GP_ORDER = [T[t] for t in ("gp_complex", "nursing", "same_day", "medicines", "msk", "mental_health")]


def as_index(types: list[int]) -> slice | list[int]:
    """Type indices as a slice where they are consecutive: a view, where a list would copy."""
    if types and types == list(range(types[0], types[-1] + 1)):
        return slice(types[0], types[-1] + 1)
    return types


GP_TYPES = as_index(GP_ORDER)


def take_oldest(waiting: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Serve `capacity` requests per row from `waiting` (rows x queue order, first served first)."""
    before = np.cumsum(waiting, axis=-1) - waiting
    return np.minimum(waiting, np.maximum(capacity[..., None] - before, 0))


class Practices:
    """The PCN's practices: their demand, their waiting requests and their GP and nurse capacity."""

    def __init__(self, pcn: Pcn):
        s = self.s = pcn.s
        self.pcn, self.env, self.week = pcn, pcn.env, pcn.week
        self.rng = pcn.rng("demand")
        P, A = s.pcn.practices, s.demand.patience_days
        leave = leave_share(s)

        # demand: expected requests per practice, type and weekday, before seasonality
        mix = np.array(s.demand.mix.shares())
        profile = np.array(s.demand.weekday_profile) / np.mean(s.demand.weekday_profile)
        per_day = s.pcn.list_size_per_practice * s.demand.appointments_per_patient_year / (WEEKS_PER_YEAR * DAYS_PER_WEEK)
        self.lam = per_day * (mix / mix.sum())[None, :] * np.ones((P, 1))      # (P, T)
        self.weekday_profile = profile
        winter = np.array([1.0 + s.demand.winter_uplift * (w in WINTER_WEEKS) for w in range(WEEKS_PER_YEAR)])
        self.season = winter / winter.mean()
        self.waiting = np.zeros((P, len(DEMAND_TYPES), A), dtype=np.int64)   # by practice, type, age (days)

        # capacity, minutes a working day (before supervision)
        cd_wte = min(s.clinical_director.clinical_sessions, SLOTS) / s.gps.sessions_per_wte if s.gps.sessions_per_wte else 0
        gp_wte = np.full(P, s.gps.wte_per_10k * s.pcn.list_size_per_practice / 10_000)
        gp_wte[0] = max(0.0, gp_wte[0] - cd_wte)     # the CD is one of practice 0's GPs
        # each practice's GP lead gives hours to PCN work out of GP time (leadership.practice_lead_pcn_hours_per_week)
        lead_wte = min(s.leadership.practice_lead_pcn_hours_per_week / (s.gps.sessions_per_wte * SESSION_MINUTES / 60)
                       if s.gps.sessions_per_wte else 0.0, float(gp_wte.min()))
        gp_wte -= lead_wte
        self.lead_pcn_hours_week = P * lead_wte * s.gps.sessions_per_wte * SESSION_MINUTES / 60 * (1 - leave)
        day = (1 - leave) * SESSION_MINUTES / DAYS_PER_WEEK
        self.gp_minutes = gp_wte * s.gps.sessions_per_wte * s.gps.patient_facing_share * day
        nurse_wte = s.nurses.wte_per_10k * s.pcn.list_size_per_practice / 10_000
        self.nurse_slots_day = np.full(P, nurse_wte * s.nurses.sessions_per_wte * s.nurses.patient_facing_share
                                       * day / s.nurses.appointment_minutes)
        #: appointments in one GP session: a CD's clinic, or a locum's in its place
        self.gp_session_slots = SESSION_MINUTES * s.gps.patient_facing_share / s.gps.appointment_minutes
        self.carry = {"gp": np.zeros(P), "nurse": np.zeros(P)}
        self.rotation = [np.roll(np.arange(P), -k) for k in range(P)]

        # today's extra GP sessions at practice 0, and this week's books
        self.cd_gp_slots_today = 0.0
        self.locum_slots_today = 0.0
        self.week_served_by_age = np.zeros(A)     # appointments by wait, working days
        self.supervision_needed = 0.0             # hours of GP supervision the ARRS staff needed

    def start(self) -> None:
        self.env.process(self.days())

    def add_gp_session(self, locum: bool) -> None:
        """One more GP session at practice 0 today: the CD's clinic, or a locum's."""
        if locum:
            self.locum_slots_today += self.gp_session_slots
        else:
            self.cd_gp_slots_today += self.gp_session_slots

    def days(self):
        """Each working day: requests arrive, the day's capacity serves the oldest, the rest age."""
        env, s = self.env, self.s
        week = 0
        while True:
            for day in range(DAYS_PER_WEEK):
                yield env.timeout(week * WEEK + day * DAY + ARRIVALS_AT - env.now)
                season = self.season[week % WEEKS_PER_YEAR] * self.weekday_profile[day]
                arrivals = self.rng.poisson(self.lam * season)
                self.waiting[:, :, 0] += arrivals
                self.week.requests += arrivals.sum()
                yield env.timeout(week * WEEK + day * DAY + SERVICE_AT - env.now)
                if is_open(s, week, day):
                    self.serve_day(week * DAYS_PER_WEEK + day)
                self.cd_gp_slots_today = self.locum_slots_today = 0.0
            week += 1

    def slots(self, key: str, minutes_over_length):
        """Whole appointments from fractional capacity, carrying the fraction to the next day."""
        total = minutes_over_length + self.carry[key]
        whole = np.floor(total)
        self.carry[key] = total - whole
        return whole.astype(np.int64) if isinstance(whole, np.ndarray) else np.int64(whole)

    def serve_day(self, day_index: int) -> None:
        """Serve the day's backlog: nurses and ARRS staff first, then GPs their own practice."""
        s, W, wk, arrs = self.s, self.waiting, self.week, self.pcn.arrs
        P = W.shape[0]
        served_age = np.zeros(W.shape[2])
        # supervision comes out of GP clinical time, spread over practices by GP time
        needed = arrs.supervision_needed()
        wanted_min = needed * s.arrs.supervision_share * 60.0 / DAYS_PER_WEEK
        gp_min = self.gp_minutes.copy()
        given_min = min(wanted_min, gp_min.sum())
        if given_min > 0:
            gp_min -= given_min * gp_min / gp_min.sum()
        wk.gp_supervision_hours += given_min / 60.0
        self.supervision_needed += needed * 60.0 / DAYS_PER_WEEK / 60.0

        # nurses: nursing at their own practice
        nurse = self.slots("nurse", self.nurse_slots_day)
        x = W[:, T["nursing"], ::-1]
        got = take_oldest(x, nurse)
        W[:, T["nursing"], ::-1] -= got
        wk.nurse_appointments += got.sum()
        served_age += got.sum(axis=0)[::-1]

        # ARRS staff: their type across the PCN, oldest first, practices in rotating order
        caps = arrs.appointments_today()
        if any(caps):
            order = self.rotation[day_index % P]
            x = W[order][:, arrs.types, ::-1]                       # (P, types, A) oldest first
            A = x.shape[2]
            flat = x.transpose(1, 2, 0).reshape(len(caps), A * P)   # per type: age-major, practices within
            got = take_oldest(flat, np.array(caps, dtype=np.int64)).reshape(len(caps), A, P).transpose(2, 0, 1)
            back = np.empty_like(got)
            back[order] = got
            W[:, arrs.types, ::-1] -= back
            wk.arrs_appointments += got.sum()
            served_age += got.sum(axis=(0, 1))[::-1]

        # GPs (the CD's clinical sessions and any locum count at practice 0): own practice
        slots = gp_min / s.gps.appointment_minutes
        slots[0] += self.cd_gp_slots_today + self.locum_slots_today
        cap = self.slots("gp", slots)
        x = W[:, GP_TYPES, ::-1]                                    # (P, types, A)
        got = take_oldest(x.reshape(P, -1), cap).reshape(x.shape)
        W[:, GP_TYPES, ::-1] -= got
        wk.gp_appointments += got.sum()
        served_age += got.sum(axis=(0, 1))[::-1]

        self.week_served_by_age += served_age
        # requests at the end of their patience leave unmet; the rest wait another day
        wk.unmet += W[:, :, -1].sum()
        W[:, :, 1:] = W[:, :, :-1]
        W[:, :, 0] = 0
