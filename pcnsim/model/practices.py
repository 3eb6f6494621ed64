"""The practices of a PCN: requests are triaged, urgent ones seen today or tomorrow, routine ones booked.

Each working day's requests are triaged at the end of the day (18:00): urgent requests take
today's free slots of an eligible clinician (yesterday's urgent first), or wait one day, then
are diverted (111, A&E, community pharmacy). Routine requests (and returning patients) are
booked into the first free slot of an eligible clinician within `demand.patience_days`: a diary of
free slots by clinician pool for the next H open days, a GP, a nurse and a direct-patient-care pool
per practice and one pool per ARRS role for the whole PCN. A patient offered a slot beyond their
tolerance declines and is offered the earliest slot of the roles after it; decliners and patients no
diary can take contact again later or go elsewhere. Planned requests (reviews, follow-ups) take the
first free slot at or after their desired date, up to H open days ahead. GP
supervision of ARRS staff is booked into the same GP diaries (docs/model.md 2.3 and 2.4).
"""
from __future__ import annotations

import functools
import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from pcnsim.config import ARRS_ROLES, DAYS_PER_WEEK, DEMAND_TYPES, WEEKS_PER_YEAR, Scenario
from pcnsim.model.booking import Diary, Staffing
from pcnsim.model.calendar import (DAY, SERVICE_AT, SESSION_MINUTES, SLOTS, WEEK, WINTER_WEEKS, leave_share,
                                   open_days)
from pcnsim.model.ledger import Week
from pcnsim.model.tallies import gpad_bin

if TYPE_CHECKING:
    import simpy

    from pcnsim.model.arrs import ArrsWorkforce

T = {t: i for i, t in enumerate(DEMAND_TYPES)}
POOLS = ("gp", "nurse", "dpc", *ARRS_ROLES)    # the `utilisation.<role>` suffixes




def eligible_roles(scenario) -> dict[str, list[str]]:
    """Per demand type, the roles that may serve it, preferred first (GPs last, for every type).

    Practice nurses, then the practices' direct-patient-care staff, serve `nursing`; each ARRS role the
    type it `serves`; the ARRS roles serving
    one type share one PCN-wide diary (their slots pooled). ARRS GPs and practice nurses
    (`joins`) work in the practices' GP and nurse diaries instead.
    """
    out = {}
    for t in DEMAND_TYPES:
        roles = [r for r in ARRS_ROLES if getattr(scenario.arrs.roles, r).serves == t
                 and not getattr(scenario.arrs.roles, r).joins]
        out[t] = (["nurse", "dpc"] if t == "nursing" else []) + roles + ["gp"]
    return out



def planned_shares(scenario) -> np.ndarray:
    """Share of each type's requests planned (booked ahead by design): `demand.planned_share` of all requests,
    spread over the types by `demand.planned_weights` (proportional to mix x weight), each capped at the
    type's routine share (1 - urgent): planned requests come out of the routine ones."""
    d = scenario.demand
    mix = np.array(d.mix.shares())
    mix = mix / mix.sum()
    weights = np.array(d.planned_weights.shares())
    cap = 1.0 - np.array(d.urgent.shares())
    if d.planned_share <= 0 or (mix * weights).sum() <= 0:
        return np.zeros(mix.size)
    return np.minimum(d.planned_share * weights / (mix * weights).sum(), cap)


def list_sizes(scenario) -> np.ndarray:
    """Registered patients by practice: listed one by one, or spread around the mean with `pcn.list_size_cv`.

    The spread is deterministic (lognormal quantiles at (i + 0.5) / P, rescaled to the mean), so
    that it draws no random numbers and every scenario point has the same practices.
    """
    P, mean, cv = scenario.pcn.practices, scenario.pcn.list_size_per_practice, scenario.pcn.list_size_cv
    if scenario.pcn.list_sizes:
        return np.array(scenario.pcn.list_sizes, dtype=float)
    if cv <= 0 or P == 1:
        return np.full(P, float(mean))
    # the normal quantiles from the standard library (as `Scenario.pcn_list_sizes` takes them): scipy.special
    # cost 0.3 s of import in every process that simulates
    sigma = math.sqrt(math.log(1 + cv * cv))
    normal = NormalDist()
    z = np.array([normal.inv_cdf((i + 0.5) / P) for i in range(P)])
    x = np.exp(sigma * z)[::-1]                 # practice 0 (the CD's) is the largest
    return mean * x / x.mean()


def practice_wte(scenario, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GP, practice-nurse and direct-patient-care WTE by practice (before the CD's and practice leads' time
    comes out of the GPs'): listed one by one (`pcn.gp_wte`, `pcn.nurse_wte`, `pcn.dpc_wte`: published
    practice figures), else the rate per 10,000 patients times each practice's list. New arrays: the
    caller may change them."""
    pcn = scenario.pcn

    def wte(listed: tuple[float, ...], per_10k: float) -> np.ndarray:
        return np.array(listed, dtype=float) if listed else per_10k * sizes / 10_000

    return (wte(pcn.gp_wte, scenario.gps.wte_per_10k), wte(pcn.nurse_wte, scenario.nurses.wte_per_10k),
            wte(pcn.dpc_wte, scenario.dpc.wte_per_10k))


#: Buckets of [0, 1) in `lead_table`; a power of 2, so that a uniform's bucket, floor(u * LEAD_BUCKETS), is exact.
LEAD_BUCKETS = 4096


@functools.lru_cache(maxsize=8)
def lead_table(cdf: bytes) -> np.ndarray:
    """A planned request's desired lead by bucket of its uniform u: `searchsorted(cdf, u, side="right")`, the
    same for every u of bucket [b/K, (b+1)/K) unless a cumulative share falls inside it, where it is -1 (look
    it up). A table lookup instead of a binary search for about 99% of the draws, the same numbers; read it,
    never write it (the PCNs of a run share it)."""
    c = np.frombuffer(cdf)
    edges = np.arange(LEAD_BUCKETS + 1) / LEAD_BUCKETS
    low = c.searchsorted(edges[:-1], side="right")     # shares <= the bucket's start
    high = c.searchsorted(edges[1:], side="left")      # shares < its end
    table = np.where(low == high, low, -1)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=8)
def gpad_bins(open_days, H: int) -> tuple[np.ndarray, np.ndarray]:
    """GPAD's lead-time bin of a booking l open days ahead, for each week of the year and weekday it is made
    on, (52, 5, H); and the bin of an urgent request carried from the previous open day, (52, 5). Calendar
    days count weekends and closed days, as GPAD does; the year wraps. Worked out once per calendar and
    horizon (every PCN of a run shares the tables, 20 ms each to build): read them, never write them."""
    W, D = len(open_days), len(open_days[0])
    table = np.zeros((W, D, H), np.int64)
    back = np.zeros((W, D), np.int64)
    for w in range(W):
        for d in range(D):
            cal, k, l = 7 * w + d, 0, 0
            while l < H:
                ww, dd = divmod(k, 7)
                if dd < D and open_days[(w + ww) % W][dd] and k >= d:
                    table[w, d, l] = gpad_bin(7 * (w + ww) + dd - cal)
                    l += 1
                k += 1
            k = cal - 1
            while True:
                ww, dd = divmod(k, 7)
                if dd < D and open_days[ww % W][dd]:
                    break
                k -= 1
            back[w, d] = gpad_bin(cal - k)
    return table, back


def days(env, practices: list[Practices]):
    """Each working day at 18:00, the day of each practices in `practices` (`Practices.day`): one PCN's
    in a process of its own, or all an ICS's in one pass (`Ics`). Each keeps its own streams and nothing
    else happens at 18:00, so the numbers are the same either way (tests/test_daybook.py)."""
    week = 0
    while True:
        for p in practices:
            p.week_ahead(week)
        for day in range(DAYS_PER_WEEK):
            yield env.timeout(week * WEEK + day * DAY + SERVICE_AT - env.now)
            for p in practices:
                p.day(week, day)
        week += 1


class Practices:
    """The PCN's practices: demand, triage, the booking diaries (a `Diary`) and the day's appointments.

    Its collaborators come in explicitly: the scenario, the SimPy environment, the week's ledger it
    writes, its demand and booking streams, the ARRS workforce whose staff open clinics, whether the
    run is measuring yet (asked each day), and the day engine (`engine.engine`).
    """

    def __init__(self, scenario: Scenario, env: simpy.Environment, week: Week, rng: np.random.Generator,
                 rng_booking: np.random.Generator, arrs: ArrsWorkforce, measuring: Callable[[], bool], engine: str,
                 rng_leads: np.random.Generator):
        s = self.s = scenario
        self.env, self.week, self.arrs, self.measuring, self.engine = env, week, arrs, measuring, engine
        self.rng, self.rng_booking = rng, rng_booking
        # planned requests' desired leads: a stream of their own, so that the demand stream's draws keep
        # step between two scenarios whose planned counts differ (common random numbers)
        self.rng_leads = rng_leads
        d = s.demand
        P, NT, H, R = s.pcn.practices, len(DEMAND_TYPES), d.diary_days, d.patience_days
        self.P, self.H = P, H
        leave = leave_share(s)

        # demand: expected requests per practice, type and weekday, before seasonality
        self.list_sizes = sizes = list_sizes(s)
        need = np.array(s.pcn.need_weights, dtype=float) if s.pcn.need_weights else np.ones(P)
        need = need / (need @ sizes / sizes.sum())           # list-weighted mean 1: the PCN's volume is kept
        mix = np.array(d.mix.shares())
        profile = np.array(d.weekday_profile) / np.mean(d.weekday_profile)
        per_day = sizes * need * d.appointments_per_patient_year / (WEEKS_PER_YEAR * DAYS_PER_WEEK)
        self.lam = per_day[:, None] * (mix / mix.sum())[None, :]          # (P, T)
        self.weekday_profile = profile
        winter = np.array([1.0 + d.winter_uplift * (w in WINTER_WEEKS) for w in range(WEEKS_PER_YEAR)])
        self.season = winter / winter.mean()
        self.open_days = open_days(s)                  # is_open by week of the year and weekday
        self.lam_weeks: dict[int, np.ndarray] = {}    # the week's expected requests by week of the year (`week_ahead`)
        urgent = np.array(d.urgent.shares())
        self.planned = plan = planned_shares(s)
        # triage splits Poisson arrivals into independent Poisson urgent, routine and planned streams (thinning),
        # the planned by desired lead (l open days ahead: week i's weight spread over leads 5i+1..5i+5)
        weeks = np.array(d.planned_lead_weeks, dtype=float)
        by_lead = np.zeros(H)
        by_lead[1:1 + 5 * weeks.size] = np.repeat(weeks / weeks.sum() / 5, 5)
        self.lam_split = np.stack([self.lam * urgent[None, :], self.lam * np.maximum(1 - urgent - plan, 0.0)[None, :],
                                   self.lam * plan[None, :]])                      # (3, P, T)
        # a planned request's desired lead: drawn one by one from `by_lead` (its cumulative shares), which with a
        # Poisson total gives independent Poisson counts by lead, as thinning would, for far fewer draws
        self.lead_cdf = np.cumsum(by_lead)            # `by_lead` sums to 1
        self.lead_cdf[np.flatnonzero(by_lead).max(initial=0):] = 1.0   # rounding never passes the last lead
        self.lead_table = lead_table(self.lead_cdf.tobytes())
        self._planned_at: np.ndarray | None = None     # where `week_ahead` counts a planned request (by lead)
        # an offer d days ahead is taken with probability accept_p[d]; no draw when tolerance is 0 (`draw`)
        draw = d.tolerance_days > 0
        accept_p = np.exp(-np.arange(H) / d.tolerance_days) if draw else np.ones(H)
        reach = min(d.skill_mix_reach_days + 1, R)
        passes = np.array((reach, R) if reach < R else (R,), np.int64)
        self.gpad_bin, self.back_bin = gpad_bins(self.open_days, H)

        # the pools: GPs, nurses and DPC staff per practice; one PCN-wide ARRS pool per type ARRS roles serve
        self.eligible = eligible_roles(s)
        self.arrs_types = [T[t] for t in DEMAND_TYPES if len(self.eligible[t]) > (3 if t == "nursing" else 1)]
        K = len(self.arrs_types)
        roles = [getattr(s.arrs.roles, r) for r in ARRS_ROLES]
        # role -> ARRS pool; ARRS GPs and nurses join the practices' diaries (-1, -2), by list share
        self.role_pool = np.array([-1 if ro.joins == "gp" else -2 if ro.joins == "nurse"
                                   else self.arrs_types.index(T[ro.serves]) for ro in roles])
        self.pool_of_roles = np.zeros((3 * P + K, len(ARRS_ROLES)))
        share = sizes / sizes.sum()
        for i, k in enumerate(self.role_pool):
            if k == -1:
                self.pool_of_roles[:P, i] = share
            elif k == -2:
                self.pool_of_roles[P:2 * P, i] = share
            else:
                self.pool_of_roles[3 * P + k, i] = 1.0
        # GPs book the most constrained types first (fewest roles that could serve them), ties in type order
        gp_order = np.array(sorted(range(NT), key=lambda t: (len(self.eligible[DEMAND_TYPES[t]]), t)))
        self.nursing = T["nursing"]

        # capacity a working day, in appointments (before supervision)
        cd_wte = min(s.clinical_director.clinical_sessions, SLOTS) / s.gps.sessions_per_wte if s.gps.sessions_per_wte else 0
        gp_wte, nurse_wte, dpc_wte = practice_wte(s, sizes)
        gp_wte[0] = max(0.0, gp_wte[0] - cd_wte)     # the CD is one of practice 0's GPs
        # each practice's GP lead gives hours to PCN work out of GP time (leadership.practice_lead_pcn_hours_per_week)
        lead_wte = min(s.leadership.practice_lead_pcn_hours_per_week / (s.gps.sessions_per_wte * SESSION_MINUTES / 60)
                       if s.gps.sessions_per_wte else 0.0, float(gp_wte.min()))
        gp_wte -= lead_wte
        self.lead_pcn_hours_week = P * lead_wte * s.gps.sessions_per_wte * SESSION_MINUTES / 60 * (1 - leave)
        day = (1 - leave) * SESSION_MINUTES / DAYS_PER_WEEK
        self.gp_slots_day = gp_wte * s.gps.sessions_per_wte * s.gps.patient_facing_share * day / s.gps.appointment_minutes
        self.nurse_slots_day = (nurse_wte * s.nurses.sessions_per_wte * s.nurses.patient_facing_share
                                * day / s.nurses.appointment_minutes)
        self.dpc_slots_day = dpc_wte * s.dpc.sessions_per_wte * s.dpc.patient_facing_share * day / s.dpc.appointment_minutes
        self.base_slots = np.concatenate([self.gp_slots_day, self.nurse_slots_day, self.dpc_slots_day,
                                          np.zeros(len(self.arrs_types))])
        #: appointments in one GP session: a CD's clinic, or a locum's in its place
        self.gp_session_slots = SESSION_MINUTES * s.gps.patient_facing_share / s.gps.appointment_minutes
        self.carry_extra = 0.0                  # the fraction of a slot the CD's and locums' clinics carry over
        self._open_key: Optional[tuple[int, float]] = None
        self._open: Optional[Staffing] = None
        self._staff_key: Optional[int] = None         # the staff in post last read (`arrs.changes`) and what they give
        self._staff: tuple[np.ndarray, float, float] = (self.base_slots, 0.0, 0.0)
        self.diary = Diary(P, H, d.return_after_days, self.arrs_types, self.nursing, gp_order, accept_p, draw, passes,
                           d.return_share, d.on_the_day_share, float(s.gps.appointment_minutes))
        # the diary's tallies the PCN reads (bookings by lead, totals by type)
        self.week_served_by_age, self.by_type = self.diary.served_by_age, self.diary.by_type
        # today's extra GP sessions at practice 0
        self.cd_gp_slots_today = 0.0
        self.locum_slots_today = 0.0
        # the compiled day (pcnsim.model.daybook) or the list reference (PCNSIM_ENGINE=python): the same numbers
        self.compiled = engine != "python"
        if self.compiled:
            from pcnsim.model import daybook           # imports numba: only the compiled engines need it
            self._daybook, self._day = daybook, daybook.Day
            self._rules, self._books = daybook.bundles(self.diary)
            self._serve: Optional[Callable] = None     # `daybook.entry`, found on the first open day
        self.routine_pending = 0                       # routine requests that arrived on closed days
        self.returns_due = 0                           # returners due on the next open day
        # the CD recalled to clinic from protected time (`add_gp_hours`): today's GP slots by practice, and
        # the fractions carried; the GP slots offered this week and last week's GP pressure (`gp_pressure`)
        self.recall_slots_today = [0.0] * P
        self.recall_carry = [0.0] * P
        self.recalled = False
        self.gp_offered_week = 0.0
        self.last_gp_pressure = 1.0
        self._u_pool = np.zeros(1 << 16)               # the booking stream's uniforms, read from `_u_next` on
        self._u_next = self._u_pool.size               # (all read: the first open day fills it)
        #: requests arriving as a share of the expected: development work done avoids some (docs/model.md 2.6;
        #: the PCN sets it each Saturday when `leadership.development_demand_reduction` > 0)
        self.demand_factor = 1.0

    def start(self) -> None:
        """Open the diary's first days; serve the days in a process of its own unless the ICS serves them."""
        staffing = self.staffing()
        for k in range(self.H):
            self.diary.open_day(k, staffing)
        if self.engine != "compiled":
            self.env.process(days(self.env, [self]))

    def add_gp_session(self, locum: bool) -> None:
        """One more GP session at practice 0 today: the CD's clinic, or a locum's."""
        if locum:
            self.locum_slots_today += self.gp_session_slots
        else:
            self.cd_gp_slots_today += self.gp_session_slots

    def add_gp_hours(self, practice: int, hours: float) -> None:
        """The CD recalled to clinic at `practice` for `hours` today: GP slots for today's triage there."""
        self.recall_slots_today[practice] += hours * 60.0 * self.s.gps.patient_facing_share / self.s.gps.appointment_minutes
        self.recalled = True

    def gp_pressure(self) -> float:
        """Last week's GP pressure: GP appointments + requests unmet, over GP slots offered (1 before the first
        week closes). Read-only; what the practices' claim on the CD's protected time scales with."""
        return self.last_gp_pressure

    def supervision_kept(self) -> float:
        """Share of the pre-blocked supervision the practices keep in the rota of a day they open: 1 up to
        `arrs.supervision_release_pressure`, then less by `arrs.supervision_release_per_pressure` for each
        unit of last week's GP pressure above it, never below 0 (docs/model.md 2.4)."""
        a = self.s.arrs
        excess = self.last_gp_pressure - a.supervision_release_pressure
        return 1.0 if excess <= 0.0 else max(0.0, 1.0 - a.supervision_release_per_pressure * excess)

    def staffing(self) -> Staffing:
        """Slots a day by pool, supervision hours needed and wanted, and the GP slots blocked for it:
        what the staff in post give (and the supervision blocks last week's GP pressure leaves), worked
        out again only when they (or the pressure) change: the pressure, weekly, changes only the block."""
        s, arrs = self.s, self.arrs
        key = (arrs.changes, self.last_gp_pressure)
        if key != self._open_key:
            if arrs.changes != self._staff_key:
                wte = arrs.working_wte()
                slots = self.base_slots + self.pool_of_roles @ (wte * arrs.slots_per_wte)
                needed = float(wte @ arrs.supervision_hours) / DAYS_PER_WEEK
                self._staff_key, self._staff = arrs.changes, (slots, needed, needed * s.arrs.supervision_share)
            slots, needed, wanted = self._staff
            blocked = wanted * s.arrs.supervision_preblocked_share * self.supervision_kept()
            protected = blocked * 60.0 / s.gps.appointment_minutes
            self._open_key, self._open = key, Staffing(slots, needed, wanted, protected)
        return self._open

    # ------------------------------------------------------------------ books
    def backlog_by_type(self) -> np.ndarray:
        """Requests waiting, by type: arrived not yet triaged, urgent carried, booked not yet seen, returners."""
        dy, P = self.diary, self.P
        out = (dy.arrived.sum(axis=(0, 1)) + dy.carried.sum(0) + dy.booked_gp.sum(1)
               + dy.returns.sum(axis=(0, 2))).astype(float)
        pref = dy.booked_pref.sum(1)
        out[self.nursing] += pref[:2 * P].sum()
        out[dy.arrs_type_slice] += pref[2 * P:]
        return out

    def backlog(self) -> float:
        """Requests waiting (`backlog_by_type`, summed)."""
        dy = self.diary
        return float(dy.arrived.sum() + dy.carried.sum() + dy.booked_gp.sum() + dy.booked_pref.sum()
                     + dy.returns.sum())

    def utilisation(self) -> dict[str, float]:
        """Share of each role's patient-facing slots used for patients (ARRS roles: their pool's share)."""
        used, offered = self.diary.used, self.diary.offered
        share = np.divide(used, offered, out=np.zeros_like(used), where=offered > 0)
        out = {"gp": float(share[0]), "nurse": float(share[1]), "dpc": float(share[2])}
        for r, k in zip(ARRS_ROLES, self.role_pool):
            out[r] = float(share[0] if k == -1 else share[1] if k == -2 else share[3 + k])
        return out

    def week_ahead(self, week: int) -> None:
        """The week's requests, (day, urgent/routine/planned by desired lead, P, T): Poisson counts of urgent,
        routine and planned requests by day, practice and type in one draw, then each planned request's desired
        lead (`lead_cdf`) drawn from the uniforms of a stream of its own (`rng_leads`)."""
        w = week % WEEKS_PER_YEAR
        lam = self.lam_weeks.get(w)
        if lam is None:
            season = self.season[w] * self.weekday_profile
            lam = self.lam_weeks[w] = self.lam_split[None] * season[:, None, None, None]
        counts = self.rng.poisson(lam if self.demand_factor == 1.0 else lam * self.demand_factor)   # (day, 3, P, T)
        D, _, P, NT = counts.shape
        cells = P * NT
        planned = counts[:, 2].ravel()                   # by (day, practice, type)
        n = int(planned.sum())
        if n:
            u = self.rng_leads.random(n)
            lead = self.lead_table[(u * LEAD_BUCKETS).astype(np.intp)]    # exact: LEAD_BUCKETS is a power of 2
            odd = lead < 0
            if odd.any():
                lead[odd] = self.lead_cdf.searchsorted(u[odd], side="right")
            if self._planned_at is None:                 # each (day, practice, type)'s place at lead 0, flat
                day, pt = np.divmod(np.arange(planned.size), cells)
                self._planned_at = (day * (2 + self.H) + 2) * cells + pt
            arrivals = np.bincount(np.repeat(self._planned_at, planned) + lead * cells,
                                   minlength=D * (2 + self.H) * cells).reshape(D, 2 + self.H, P, NT)
        else:
            arrivals = np.zeros((D, 2 + self.H, P, NT), np.int64)
        arrivals[:, :2] = counts[:, :2]
        self.week_arrivals = arrivals
        # routine and planned requests by day (each may need uniforms)
        self.routine_by_day = counts[:, 1:].reshape(D, -1).sum(axis=1).tolist()

    def day(self, week: int, day: int) -> None:
        """18:00 of a weekday: the day's requests arrive; on open days they are served."""
        arrivals = self.week_arrivals[day]
        if self.open_days[week % WEEKS_PER_YEAR][day]:
            self.serve_day(week * DAYS_PER_WEEK + day, arrivals, self.routine_by_day[day])
        else:
            self.arrive(arrivals, self.routine_by_day[day])
        self.cd_gp_slots_today = self.locum_slots_today = 0.0
        if self.recalled:
            self.recall_slots_today = [0.0] * self.P
            self.recalled = False

    def arrive(self, arrivals: np.ndarray, routine: int) -> None:
        """A closed day's requests (`routine` of them routine) join those waiting for triage."""
        self.diary.arrived += arrivals
        self.week.requests += arrivals.sum()
        self.routine_pending += routine
        if self.measuring():
            self.by_type["requests"] += arrivals.sum(axis=(0, 1))

    def serve_day(self, day_index: int, arrivals: np.ndarray, routine: int) -> None:
        """The day's requests (`routine` of them routine); triage, urgent care, booking, supervision, today's
        appointments; then the diary moves a day. Compiled (`daybook.serve`) unless PCNSIM_ENGINE=python."""
        # the CD's clinics and any locum add whole slots at practice 0, the fraction carried (`whole`)
        total = self.cd_gp_slots_today + self.locum_slots_today + self.carry_extra
        extra = math.floor(total + 1e-9)
        self.carry_extra = total - extra
        # the day's uniforms, consecutive numbers of the booking stream: for each routine or planned request
        # (arrived or returning) one for its offer, one for a second offer and one for its return; drawn in
        # blocks, the same numbers
        need = 3 * (self.routine_pending + routine + self.returns_due)
        self.routine_pending = 0
        at, pool = self._u_next, self._u_pool
        if at + need > pool.size:
            # refilled in place (a fresh block each time cost page faults): the unread tail moves to the
            # front, the stream fills the rest; the same numbers in the same order whatever the block sizes
            left = pool.size - at
            if left + need > pool.size:                # a day that needs more than the pool holds
                pool = self._u_pool = np.concatenate([pool[at:], np.zeros(left + need)])
            else:
                pool[:left] = pool[at:]                # numpy copies overlapping ranges correctly
            self.rng_booking.random(out=pool[left:])
            at = 0
        self._u_next = at + need
        dy = self.diary
        if self.recalled:                              # the CD recalled to clinic: whole slots, fractions carried
            for p, x in enumerate(self.recall_slots_today):
                if x:
                    total = x + self.recall_carry[p]
                    whole = math.floor(total + 1e-9)
                    self.recall_carry[p] = total - whole
                    dy.free[p, 0] += whole
                    dy.capacity[p, 0] += whole
        staffing, measuring = self.staffing(), self.measuring()
        w, d = divmod(day_index, DAYS_PER_WEEK)
        w %= WEEKS_PER_YEAR
        gpad_bin, back_bin = self.gpad_bin[w, d], int(self.back_bin[w, d])
        if self.compiled:
            day = self._day(arrivals[0], arrivals[1], arrivals[2:], pool, at, day_index, extra, measuring,
                            staffing.slots, staffing.protected, staffing.wanted, staffing.needed, gpad_bin, back_bin)
            if self._serve is None:
                self._serve = self._daybook.entry(self._rules, self._books, day)
            # the GP slots offered today (extra slots included) come back from the day: the same whole number
            self.returns_due, offered = self._serve(self._rules, self._books, day)
            self.gp_offered_week += float(offered)
        else:
            self.gp_offered_week += float(dy.capacity[:self.P, 0].sum()) + extra
            self.returns_due = self.diary.serve_lists(day_index, arrivals, pool[at:at + need].tolist(), extra,
                                                      measuring, staffing, gpad_bin.tolist(), back_bin)

    def close_week(self) -> None:
        """Saturday, first: the open days' counts (`Diary.week_counts`, summed day by day, as the ledger would
        have) into the week's books, once a week; nothing reads those series before then."""
        wk, counts = self.week, self.diary.week_counts
        c = dict(zip(counts.dtype.names, counts[0].item()))
        wk.requests += c["requests"]
        wk.returned += c["returned"]
        wk.diverted += c["diverted"]
        wk.unmet += c["diverted"] + c["elsewhere"]
        wk.gp_supervision_hours += c["supervision"]
        wk.gp_supervision_needed_hours += c["supervision_needed"]
        wk.gp_appointments += c["gp"]
        wk.nurse_appointments += c["nurse"]
        wk.dpc_appointments += c["dpc"]
        wk.arrs_appointments += c["arrs"]
        if self.gp_offered_week > 0:
            self.last_gp_pressure = (c["gp"] + c["diverted"] + c["elsewhere"]) / self.gp_offered_week
        self.gp_offered_week = 0.0
        counts.fill(0.0)
