"""The SimPy model: practices, ARRS staff and clinical directors of the PCNs of one ICS.

Time is in hours from Monday 00:00 of the first week of April. Patient demand is aggregated
per practice per working day (counts of requests by type, waiting in backlogs by age);
people are allocated per half-day session. The processes are:

- `Pcn.practice_days`: each working day, requests arrive, the day's capacity serves the
  oldest requests first, and requests past their patience leave unmet;
- `Pcn.arrs_workforce` and `Pcn.recruit_arrs`: leave, attrition (rising when GP
  supervision is not given) and recruitment of the posts the ARRS budget buys;
- `Pcn.clinical_director`: the CD's week, session by session (clinical, protected,
  system meetings), with overflow of leadership work and strain-driven resignation;
- `Pcn.task_arrivals`: operations, development and ad-hoc system requests as tasks;
- `Ics.system_meetings`: the system meeting calendar shared by the ICS's PCNs.

The model does no I/O: `simulate` returns metrics and weekly series for the layers above.
"""
from __future__ import annotations

import hashlib
import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from pcnsim.config import (ARRS_ROLES, DAYS_PER_WEEK, DEFAULT_ICS_NAME, DEMAND_TYPES, SESSION_HOURS,
                           WEEKS_PER_YEAR, WTE_HOURS, MeetingSeries, Scenario)

WEEK = 168.0
DAY = 24.0
SESSION_START = (8.0, 13.0)           # AM and PM session start, hours after midnight
ARRIVALS_AT, SERVICE_AT = 7.0, 18.0   # when a day's requests arrive and its capacity serves them
WEEK_PLAN_AT, WEEK_CLOSE_AT = 0.5, 5 * DAY + 1.0  # Monday 00:30 plan; Saturday 01:00 books close
SLOTS = DAYS_PER_WEEK * 2             # session slots in a week: Mon AM, Mon PM, ..., Fri PM
SESSION_MINUTES = SESSION_HOURS * 60.0

T = {t: i for i, t in enumerate(DEMAND_TYPES)}
GP_ORDER = [T[t] for t in ("gp_complex", "nursing", "same_day", "medicines", "msk", "mental_health")]


def as_index(types: list[int]) -> slice | list[int]:
    """Type indices as a slice where they are consecutive: a view, where a list would copy."""
    if types and types == list(range(types[0], types[-1] + 1)):
        return slice(types[0], types[-1] + 1)
    return types


GP_TYPES = as_index(GP_ORDER)
# Bank holidays of England as (week of the April-start year, weekday): Good Friday, Easter Monday,
# early May, spring, summer, Christmas Day, Boxing Day, New Year's Day (dates fixed; assumed).
BANK_HOLIDAYS = frozenset({(0, 4), (1, 0), (4, 0), (8, 0), (21, 0), (38, 3), (38, 4), (39, 0)})


def is_open(scenario: Scenario, week: int, day: int) -> bool:
    """Whether practices open (and meetings are held) on `day` of `week`: not a bank holiday."""
    return not (scenario.calendar.bank_holidays and (week % WEEKS_PER_YEAR, day) in BANK_HOLIDAYS)
WINTER_WEEKS = range(35, 48)          # December to February in an April-start year

# Weekly series written for every week (per PCN; the mean over PCNs for an ICS).
WEEKLY_SERIES = (
    "requests", "appointments", "gp_appointments", "arrs_appointments", "nurse_appointments",
    "unmet", "backlog", "wait_days_mean", "lost_appointments", "gp_supervision_hours",
    "arrs_posts_funded", "arrs_in_post", "arrs_vacancies", "arrs_leavers", "arrs_spend",
    "cd_contracted_hours", "cd_protected_hours", "cd_clinical_hours", "cd_leadership_hours",
    "cd_meeting_hours", "cd_displaced_clinical_hours", "cd_overtime_hours", "cd_slack_hours",
    "cd_strain", "cd_in_post", "cd_resignations", "leadership_backlog_hours",
    "manager_hours_available", "manager_hours_used", "meetings_expected", "meetings_attended",
    "locum_sessions", "spend",
) + tuple(f"arrs_in_post.{r}" for r in ARRS_ROLES)


@dataclass
class Replication:
    """What one replication of one scenario point produced."""

    metrics: dict[str, float]
    weekly: dict[str, np.ndarray]
    events: int
    pcns: int


#: The stochastic processes of a PCN, each with its own stream named `pcn{i}/{process}`.
STREAM_PROCESSES = ("demand", "arrs", "arrs_recruitment", "clinical_director", "cd_recruitment", "meetings",
                    "timetable", "tasks/operations", "tasks/development", "tasks/system")
STREAM_NAME_PATTERN = "pcn{i}/{process}, prefixed by '{ics.name}/' when ics.name is not the default 'ICS'"


def stream(scenario: Scenario, replication: int, name: str) -> np.random.Generator:
    """The random stream of one stochastic process, spawned from the run's root seed.

    The spawn key is (replication, four 32-bit words of sha256(name)): the same replication sees
    the same numbers at every sweep point, and adding or changing one process never reshuffles
    another's draws (128 bits of the name: no two of England's ~10,000 streams can collide).
    """
    digest = hashlib.sha256(name.encode()).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "big") for i in range(0, 16, 4))
    seq = np.random.SeedSequence(entropy=scenario.run.seed, spawn_key=(replication, *words))
    return np.random.Generator(np.random.PCG64(seq))


def take_oldest(waiting: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Serve `capacity` requests per row from `waiting` (rows x queue order, first served first)."""
    before = np.cumsum(waiting, axis=-1) - waiting
    return np.minimum(waiting, np.maximum(capacity[..., None] - before, 0))


def arrs_posts(scenario: Scenario) -> dict[str, int]:
    """Whole-WTE posts the ARRS budget buys in the role mix, never costing more than the budget.

    Posts are bought in one fixed order that does not depend on the budget (Webster's divisor
    method on the mix: the next post goes to the role with the largest share / (posts + 0.5)),
    stopping at the first post that does not fit. So more money never buys fewer posts.
    """
    budget = scenario.arrs_budget
    mix = {r: getattr(scenario.arrs.mix, r) for r in ARRS_ROLES}
    cost = {r: role.annual_cost for r, role in scenario.arrs.roles.items()}
    posts = dict.fromkeys(ARRS_ROLES, 0)
    roles = [r for r in ARRS_ROLES if mix[r] > 0]
    left = budget
    while roles:
        r = max(roles, key=lambda r: (mix[r] / (posts[r] + 0.5), -ARRS_ROLES.index(r)))
        if cost[r] > left + 1e-9:
            return posts
        posts[r] += 1
        left -= cost[r]
        if cost[r] <= 0 and posts[r] > 10_000:   # free posts: stop somewhere sensible
            return posts
    return posts


@dataclass(order=True)
class Task:
    """A piece of leadership work: done in order of due date."""

    due: float
    seq: int
    kind: str = field(compare=False)          # operations, development, system
    effort: float = field(compare=False)      # hours still to do


@dataclass
class Meeting:
    """One occurrence of a system meeting series in a given week."""

    series: MeetingSeries
    slot: int
    attended: int = 0          # CDs present (representation: at least one)


class Ics:
    """The integrated care system: its PCNs and its system meeting calendar."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int):
        self.env = env
        self.s = scenario
        self.meetings_this_week: dict[int, list[Meeting]] = {}
        self.representation = {"held": 0, "represented": 0}
        self.measuring = False
        forum = scenario.ics.representation == "forum"
        self.series = [m for m in scenario.ics.meetings if m.kind == "system" or forum]
        self.pcns = [Pcn(env, scenario, replication, i, self) for i in range(scenario.ics.pcns)]
        env.process(self.system_meetings())

    def expected_at(self, pcn_index: int, meeting: Meeting) -> bool:
        """Whether a PCN's CD is expected at a meeting under the representation model."""
        if meeting.series.kind == "forum" or self.s.ics.representation == "all":
            return True
        return pcn_index < self.s.ics.forum_representatives

    def occurrences(self, week: int, series: MeetingSeries) -> int:
        """Meetings of a series held in a week: its frequency scaled by `ics.meeting_load`."""
        load = self.s.ics.meeting_load
        k = week - series.offset_weeks
        if load <= 0 or k < 0:
            return 0
        return math.floor(load * (k + 1) / series.every_weeks + 1e-9) - math.floor(load * k / series.every_weeks + 1e-9)

    def system_meetings(self):
        """Each Monday, lay out the week's meetings; each Saturday, book representation."""
        week = 0
        while True:
            plan: dict[int, list[Meeting]] = {}
            for series in self.series:
                slot = series.weekday * 2 + (series.session == "pm")
                for n in range(self.occurrences(week, series)):   # extra meetings go to later slots
                    at = (slot + 2 * n) % SLOTS
                    if is_open(self.s, week, at // 2):
                        plan.setdefault(at, []).append(Meeting(series, at))
            self.meetings_this_week = plan
            yield self.env.timeout(WEEK_CLOSE_AT)
            if self.measuring:
                for meetings in plan.values():
                    for m in meetings:
                        if m.series.kind == "system":
                            self.representation["held"] += 1
                            self.representation["represented"] += m.attended > 0
            yield self.env.timeout(WEEK - WEEK_CLOSE_AT)
            week += 1


class Pcn:
    """One primary care network: practices, ARRS workforce, clinical director and manager."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int, index: int, ics: Ics):
        s = self.s = scenario
        self.env, self.ics, self.index = env, ics, index
        # A named ICS labels its PCNs' streams, so that the PCNs of different ICSs (the points of
        # scenarios/england.yaml) draw independent numbers; sweeps that keep one name keep common
        # random numbers, and the default unnamed ICS keeps the plain `pcnK/...` streams.
        label = "" if scenario.ics.name == DEFAULT_ICS_NAME else f"{scenario.ics.name}/"
        def rng(process: str) -> np.random.Generator:
            assert process in STREAM_PROCESSES, process     # the manifest lists them
            return stream(scenario, replication, f"{label}pcn{index}/{process}")
        self.rng_demand, self.rng_arrs, self.rng_cd = rng("demand"), rng("arrs"), rng("clinical_director")
        self.rng_arrs_recruitment, self.rng_cd_recruitment = rng("arrs_recruitment"), rng("cd_recruitment")
        self.rng_meetings, self.rng_tasks = rng("meetings"), {k: rng(f"tasks/{k}") for k in
                                                              ("operations", "development", "system")}
        P, A = s.pcn.practices, s.demand.patience_days
        self.leave_share = s.calendar.leave_weeks_per_year / WEEKS_PER_YEAR

        # --- demand: expected requests per practice, type and weekday, before seasonality
        mix = np.array(s.demand.mix.shares())
        profile = np.array(s.demand.weekday_profile) / np.mean(s.demand.weekday_profile)
        per_day = s.pcn.list_size_per_practice * s.demand.appointments_per_patient_year / (WEEKS_PER_YEAR * DAYS_PER_WEEK)
        self.lam = per_day * (mix / mix.sum())[None, :] * np.ones((P, 1))      # (P, T)
        self.weekday_profile = profile
        winter = np.array([1.0 + s.demand.winter_uplift * (w in WINTER_WEEKS) for w in range(WEEKS_PER_YEAR)])
        self.season = winter / winter.mean()
        self.waiting = np.zeros((P, len(DEMAND_TYPES), A), dtype=np.int64)   # by practice, type, age (days)

        # --- practice capacity, minutes a working day (before supervision)
        cd_wte = min(s.clinical_director.clinical_sessions, SLOTS) / s.gps.sessions_per_wte if s.gps.sessions_per_wte else 0
        gp_wte = np.full(P, s.gps.wte_per_10k * s.pcn.list_size_per_practice / 10_000)
        gp_wte[0] = max(0.0, gp_wte[0] - cd_wte)     # the CD is one of practice 0's GPs
        day = (1 - self.leave_share) * SESSION_MINUTES / DAYS_PER_WEEK
        self.gp_minutes = gp_wte * s.gps.sessions_per_wte * s.gps.patient_facing_share * day
        nurse_wte = s.nurses.wte_per_10k * s.pcn.list_size_per_practice / 10_000
        self.nurse_slots_day = np.full(P, nurse_wte * s.nurses.sessions_per_wte * s.nurses.patient_facing_share
                                       * day / s.nurses.appointment_minutes)
        self.cd_session_slots = SESSION_MINUTES * s.gps.patient_facing_share / s.gps.appointment_minutes
        self.carry = {"gp": np.zeros(P), "nurse": np.zeros(P), **{r: 0.0 for r in ARRS_ROLES}}

        # --- ARRS: posts the budget buys, filled at the steady-state vacancy level
        self.roles = dict(s.arrs.roles.items())
        self.posts = arrs_posts(s)
        self.in_post = dict.fromkeys(ARRS_ROLES, 0)
        self.on_leave = dict.fromkeys(ARRS_ROLES, 0)
        by_type = [[r for r in ARRS_ROLES if self.roles[r].serves == t] for t in DEMAND_TYPES]
        arrs_types = [t for t, roles in enumerate(by_type) if roles]
        self.arrs_types = as_index(arrs_types)
        self.arrs_roles_by_type = [by_type[t] for t in arrs_types]
        self.arrs_slots_per_wte = {
            r: s.arrs.sessions_per_wte / DAYS_PER_WEEK * SESSION_MINUTES * s.arrs.patient_facing_share
            / role.appointment_minutes for r, role in self.roles.items()}
        self.rotation = [np.roll(np.arange(P), -k) for k in range(P)]
        self.supervision_ratio = 1.0
        for r in ARRS_ROLES:
            a, weeks = self.roles[r].attrition_per_year, s.arrs.recruitment_weeks
            vacant_p = a * weeks / WEEKS_PER_YEAR / (1 + a * weeks / WEEKS_PER_YEAR)
            vacant = int(self.rng_arrs.binomial(self.posts[r], vacant_p))
            self.in_post[r] = self.posts[r] - vacant
            for _ in range(vacant):
                env.process(self.recruit_arrs(r, residual=True))

        # --- clinical director: a fixed weekly timetable of protected and clinical slots
        # protected time is whole slots (rounded, at least one if any is funded), sharing its hours
        prot = s.cd_protected_sessions
        n_prot = max(1, round(prot)) if prot > 1e-9 else 0
        n_clin = min(s.clinical_director.clinical_sessions, SLOTS - n_prot)
        order = rng("timetable").permutation(SLOTS)
        self.slot_kind = ["off"] * SLOTS
        self.slot_hours = [SESSION_HOURS] * SLOTS
        for slot in order[:n_prot]:
            self.slot_kind[slot] = "protected"
            self.slot_hours[slot] = prot * SESSION_HOURS / n_prot
        for slot in order[n_prot:n_prot + n_clin]:
            self.slot_kind[slot] = "clinical"
        self.contracted_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k != "off")
        self.protected_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k == "protected")
        self.cd_in_post, self.cd_on_leave = True, False
        self.reset_strain()    # strain, its EWMA numerator and bias correction (update_strain)
        self.tasks: list[Task] = []
        self.manager_tasks: list[Task] = []
        self.task_seq = 0
        self.displace_budget = 0
        self.overtime_budget = 0.0
        self.unbackfilled_hours = 0.0
        self.ops_hours_arrived = 0.0
        self.ops_hours_to_manager = 0.0

        # --- accounting
        self.week: dict[str, float] = dict.fromkeys(WEEKLY_SERIES, 0.0)
        self.weekly: dict[str, list[float]] = {k: [] for k in WEEKLY_SERIES}
        self.served_by_age = np.zeros(A)          # measured appointments by wait, working days
        self.week_served_by_age = np.zeros(A)
        self.cd_gp_slots_today = 0.0
        self.locum_slots_today = 0.0
        self.tasks_due = {"count": 0, "overdue": 0}
        self.measuring = False
        self.backlog_start = 0

        for proc in (self.practice_days(), self.arrs_workforce(), self.clinical_director(), self.week_close(),
                     *(self.task_arrivals(k) for k in ("operations", "development", "system"))):
            env.process(proc)

    # ------------------------------------------------------------------ calendar helpers
    def week_of_year(self, week: int) -> int:
        return week % WEEKS_PER_YEAR

    def is_open(self, week: int, day: int) -> bool:
        return is_open(self.s, week, day)

    # ------------------------------------------------------------------ delivery
    def practice_days(self):
        """Each working day: requests arrive, the day's capacity serves the oldest, the rest age."""
        env, s = self.env, self.s
        week = 0
        while True:
            for day in range(DAYS_PER_WEEK):
                yield env.timeout(week * WEEK + day * DAY + ARRIVALS_AT - env.now)
                season = self.season[self.week_of_year(week)] * self.weekday_profile[day]
                arrivals = self.rng_demand.poisson(self.lam * season)
                self.waiting[:, :, 0] += arrivals
                self.week["requests"] += arrivals.sum()
                yield env.timeout(week * WEEK + day * DAY + SERVICE_AT - env.now)
                if self.is_open(week, day):
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
        s, W, wk = self.s, self.waiting, self.week
        P = W.shape[0]
        served_age = np.zeros(W.shape[2])
        # supervision comes out of GP clinical time, spread over practices by GP time
        needed = sum((self.in_post[r] - self.on_leave[r]) * self.roles[r].supervision_hours_per_week
                     for r in ARRS_ROLES)   # staff on leave this week need none
        wanted_min = needed * s.arrs.supervision_share * 60.0 / DAYS_PER_WEEK
        gp_min = self.gp_minutes.copy()
        given_min = min(wanted_min, gp_min.sum())
        if given_min > 0:
            gp_min -= given_min * gp_min / gp_min.sum()
        wk["gp_supervision_hours"] += given_min / 60.0
        wk["_supervision_needed"] = wk.get("_supervision_needed", 0.0) + needed * 60.0 / DAYS_PER_WEEK / 60.0

        # nurses: nursing at their own practice
        nurse = self.slots("nurse", self.nurse_slots_day)
        x = W[:, T["nursing"], ::-1]
        got = take_oldest(x, nurse)
        W[:, T["nursing"], ::-1] -= got
        wk["nurse_appointments"] += got.sum()
        served_age += got.sum(axis=0)[::-1]

        # ARRS staff: their type across the PCN, oldest first, practices in rotating order
        # (the roles serving one type pool their appointments; which of them is idle is immaterial)
        caps = []
        for roles in self.arrs_roles_by_type:
            cap = 0
            for r in roles:
                total = (self.in_post[r] - self.on_leave[r]) * self.arrs_slots_per_wte[r] + self.carry[r]
                whole = math.floor(total)
                self.carry[r] = total - whole
                cap += whole
            caps.append(cap)
        if any(caps):
            order = self.rotation[day_index % P]
            x = W[order][:, self.arrs_types, ::-1]                  # (P, types, A) oldest first
            A = x.shape[2]
            flat = x.transpose(1, 2, 0).reshape(len(caps), A * P)   # per type: age-major, practices within
            got = take_oldest(flat, np.array(caps, dtype=np.int64)).reshape(len(caps), A, P).transpose(2, 0, 1)
            back = np.empty_like(got)
            back[order] = got
            W[:, self.arrs_types, ::-1] -= back
            wk["arrs_appointments"] += got.sum()
            served_age += got.sum(axis=(0, 1))[::-1]

        # GPs (the CD's clinical sessions and any locum count at practice 0): own practice
        slots = gp_min / s.gps.appointment_minutes
        slots[0] += self.cd_gp_slots_today + self.locum_slots_today
        cap = self.slots("gp", slots)
        x = W[:, GP_TYPES, ::-1]                                    # (P, types, A)
        got = take_oldest(x.reshape(P, -1), cap).reshape(x.shape)
        W[:, GP_TYPES, ::-1] -= got
        wk["gp_appointments"] += got.sum()
        served_age += got.sum(axis=(0, 1))[::-1]

        self.week_served_by_age += served_age
        # requests at the end of their patience leave unmet; the rest wait another day
        wk["unmet"] += W[:, :, -1].sum()
        W[:, :, 1:] = W[:, :, :-1]
        W[:, :, 0] = 0

    # ------------------------------------------------------------------ ARRS workforce
    def arrs_workforce(self):
        """Each Monday: who is on leave this week, and who leaves (attrition rises without supervision)."""
        env, s, rng = self.env, self.s, self.rng_arrs
        leave_p = self.leave_share
        boost = s.arrs.unsupervised_attrition_multiplier - 1.0
        while True:
            yield env.timeout(WEEK_PLAN_AT)
            multiplier = 1.0 + boost * (1.0 - self.supervision_ratio)
            for r in ARRS_ROLES:
                n = self.in_post[r]
                if n == 0:
                    self.on_leave[r] = 0
                    continue
                p_leave = 1.0 - math.exp(-self.roles[r].attrition_per_year * multiplier / WEEKS_PER_YEAR)
                leavers = int(rng.binomial(n, p_leave))
                if leavers:
                    self.in_post[r] -= leavers
                    self.week["arrs_leavers"] += leavers
                    for _ in range(leavers):
                        env.process(self.recruit_arrs(r))
                self.on_leave[r] = int(rng.binomial(self.in_post[r], leave_p))
            yield env.timeout(WEEK - WEEK_PLAN_AT)

    def recruit_arrs(self, role: str, residual: bool = False):
        """A vacant post is advertised and filled after the recruitment time (gamma, shape 4)."""
        mean = self.s.arrs.recruitment_weeks
        rng = self.rng_arrs_recruitment
        weeks = rng.gamma(4.0, mean / 4.0) if mean > 0 else 0.0
        if residual:  # a post vacant at the start has a uniformly distributed time left
            weeks *= rng.random()
        yield self.env.timeout(weeks * WEEK)
        self.in_post[role] += 1

    # ------------------------------------------------------------------ leadership work
    def operations_hours(self) -> float:
        l, wte = self.s.leadership, sum(self.in_post.values())
        return l.operations_hours_per_week + l.operations_hours_per_practice * self.s.pcn.practices + \
            l.operations_hours_per_arrs_wte * wte

    def task_arrivals(self, kind: str):
        """Leadership tasks of one kind arrive as a Poisson process with exponential efforts."""
        env, rng, s = self.env, self.rng_tasks[kind], self.s
        due = s.leadership.task_due_weeks * WEEK
        while True:
            if kind == "operations":
                mean_effort = s.leadership.task_hours
                rate = self.operations_hours() / mean_effort
            elif kind == "development":
                mean_effort = s.leadership.task_hours
                rate = s.leadership.development_hours_per_week / mean_effort
            else:
                mean_effort, rate = s.ics.request_hours, s.ics.requests_per_week
            if rate <= 0:
                return
            yield env.timeout(rng.exponential(WEEK / rate))
            effort = rng.exponential(mean_effort)
            self.task_seq += 1
            heapq.heappush(self.tasks, Task(env.now + due, self.task_seq, kind, effort))
            if kind == "operations":
                self.ops_hours_arrived += effort

    def finish(self, task: Task, when: float) -> None:
        if self.measuring and task.due <= self.s.run.horizon_weeks * WEEK:
            self.tasks_due["count"] += 1
            self.tasks_due["overdue"] += when > task.due

    def work_on_tasks(self, hours: float, until_due: float = math.inf, queue: list[Task] | None = None,
                      done_by_now: bool = False) -> float:
        """Spend up to `hours` on the earliest-due tasks (due before `until_due`); return hours used.

        `queue` is a heap of tasks, the CD's by default; a task is done `used` hours from now, or
        now with `done_by_now` (the manager's week, booked on Saturday).
        """
        queue = self.tasks if queue is None else queue
        used = 0.0
        while queue and used < hours - 1e-12 and queue[0].due < until_due:
            task = queue[0]
            step = min(task.effort, hours - used)
            task.effort -= step
            used += step
            if task.effort <= 1e-12:
                heapq.heappop(queue)
                self.finish(task, self.env.now if done_by_now else self.env.now + used)
        return used

    def drop_stale_tasks(self) -> None:
        """Tasks long past due are dropped: they count as never done (overdue)."""
        limit = self.env.now - self.s.leadership.task_abandon_weeks * WEEK
        if self.tasks and self.tasks[0].due < limit:
            keep = []
            for task in self.tasks:
                if task.due < limit:
                    self.finish(task, math.inf)
                else:
                    keep.append(task)
            heapq.heapify(keep)
            self.tasks = keep

    def plan_overflow(self, week_start: float) -> None:
        """Monday: if the work due within two weeks exceeds this week's protected time, overflow it."""
        s = self.s
        horizon = week_start + 2 * WEEK
        need = sum(t.effort for t in self.tasks if t.due < horizon)
        meetings_in_protected = sum(
            min(self.slot_hours[slot], sum(m.series.hours for m in ms if self.ics.expected_at(self.index, m)))
            for slot, ms in self.ics.meetings_this_week.items() if self.slot_kind[slot] == "protected")
        week = round(week_start / WEEK)
        protected = sum(h for slot, (kind, h) in enumerate(zip(self.slot_kind, self.slot_hours))
                        if kind == "protected" and self.is_open(week, slot // 2))   # none on a bank holiday
        overflow = need - max(0.0, protected - meetings_in_protected)
        self.displace_budget, self.overtime_budget = 0, 0.0
        for target in s.clinical_director.overflow:
            if overflow <= 0:
                break
            if target == "manager":
                overflow -= self.hand_to_manager(overflow)
            elif target == "clinical":
                clinical_slots = self.slot_kind.count("clinical")
                k = min(s.clinical_director.max_displaced_sessions, clinical_slots,
                        math.ceil(overflow / SESSION_HOURS - 1e-9))
                self.displace_budget = k
                overflow -= k * SESSION_HOURS
            elif target == "overtime":
                self.overtime_budget = min(s.clinical_director.max_overtime_hours, overflow)
                overflow -= self.overtime_budget

    @property
    def manager_hours_week(self) -> float:
        """The PCN manager's hours in an average week (funded WTE less leave)."""
        return self.s.funding.manager_wte * WTE_HOURS * (1 - self.leave_share)

    def hand_to_manager(self, hours: float) -> float:
        """Move up to `hours` of operations tasks, earliest due first, to the PCN manager.

        The manager takes at most `manager.operations_share` of all operations work so far and
        no more than a week of their own hours; returns the hours moved.
        """
        s = self.s
        limit = min(hours, self.manager_hours_week, s.manager.operations_share * self.ops_hours_arrived - self.ops_hours_to_manager)
        if limit <= 0:
            return 0.0
        moved, keep = 0.0, []
        for task in sorted(self.tasks):
            if task.kind == "operations" and moved + task.effort <= limit + 1e-9:
                moved += task.effort
                self.manager_tasks.append(task)
            else:
                keep.append(task)
        heapq.heapify(keep)
        self.tasks = keep
        self.ops_hours_to_manager += moved
        return moved

    def manager_week(self) -> None:
        """The PCN manager works through the operations tasks handed over this week."""
        available = self.manager_hours_week
        heapq.heapify(self.manager_tasks)
        used = self.work_on_tasks(available, queue=self.manager_tasks, done_by_now=True)
        self.week["manager_hours_available"] += available
        self.week["manager_hours_used"] += used

    # ------------------------------------------------------------------ the clinical director
    def clinical_director(self):
        """The CD's week, session by session; then overtime, strain and the chance of resigning."""
        env, s, rng, wk = self.env, self.s, self.rng_cd, self.week
        cd = s.clinical_director
        leave_p = self.leave_share
        week = 0
        while True:
            start = week * WEEK
            yield env.timeout(start + WEEK_PLAN_AT + 0.1 - env.now)
            self.drop_stale_tasks()
            self.unbackfilled_hours = 0.0
            leave = rng.random() < leave_p      # drawn every week, so the stream keeps step through vacancies
            self.cd_on_leave = self.cd_in_post and leave
            working = self.cd_in_post and not self.cd_on_leave
            if working:
                self.plan_overflow(start)
                wk["cd_contracted_hours"] += self.contracted_hours
                wk["cd_protected_hours"] += self.protected_hours
            else:   # on leave or vacant: the manager still takes operations work due soon
                self.displace_budget, self.overtime_budget = 0, 0.0
                if "manager" in cd.overflow:
                    self.hand_to_manager(sum(t.effort for t in self.tasks if t.due < start + 2 * WEEK))
            for slot in range(SLOTS):
                day, half = divmod(slot, 2)
                yield env.timeout(start + day * DAY + SESSION_START[half] - env.now)
                meetings = [m for m in self.ics.meetings_this_week.get(slot, ())
                            if self.ics.expected_at(self.index, m)] if self.is_open(week, day) else []
                wk["meetings_expected"] += len(meetings)
                if not self.is_open(week, day):   # a bank holiday: no clinic, no protected time
                    if working and self.slot_kind[slot] != "off":
                        wk["cd_contracted_hours"] -= self.slot_hours[slot]
                        if self.slot_kind[slot] == "protected":
                            wk["cd_protected_hours"] -= self.slot_hours[slot]
                    continue
                if working:
                    self.session(slot, meetings)
                elif self.slot_kind[slot] == "clinical" and not self.cd_in_post:
                    # the post is vacant: the GP who held it still runs their clinics
                    self.cd_gp_slots_today += self.cd_session_slots
            # Friday evening: overtime on work due soon, then the week's strain
            yield env.timeout(start + 4 * DAY + 19.0 - env.now)
            if working:
                if self.overtime_budget > 0:
                    used = self.work_on_tasks(self.overtime_budget, start + 2 * WEEK)
                    wk["cd_leadership_hours"] += used
                    wk["cd_overtime_hours"] += used
                x = wk["cd_overtime_hours"] + cd.displaced_strain_weight * self.unbackfilled_hours
                self.update_strain(x)
            elif self.cd_in_post:
                self.update_strain(0.0)             # a week of leave: strain recovers
            quit_draw = rng.random()                # drawn every week, like leave: the stream keeps step
            if self.cd_in_post:
                hazard = cd.base_resignation_per_year * math.exp(cd.strain_sensitivity * self.strain)
                if quit_draw < 1.0 - math.exp(-hazard / WEEKS_PER_YEAR):
                    wk["cd_resignations"] += 1
                    self.cd_in_post = False
                    self.reset_strain()
                    env.process(self.appoint_cd())
            week += 1

    def session(self, slot: int, meetings: list[Meeting]) -> None:
        """What the CD does in one session: a meeting takes it whatever was planned."""
        s, wk = self.s, self.week
        kind, hours = self.slot_kind[slot], self.slot_hours[slot]
        if meetings:
            attend = True
            if kind == "clinical" and not s.funding.backfill_meetings:
                attend = self.rng_meetings.random() < s.ics.attend_if_clinical
            if attend:
                meeting_hours = sum(m.series.hours for m in meetings)
                for m in meetings:
                    m.attended += 1
                wk["meetings_attended"] += len(meetings)
                wk["cd_meeting_hours"] += meeting_hours
                if kind == "off":
                    wk["cd_overtime_hours"] += meeting_hours
                    return
                if kind == "clinical":
                    wk["cd_displaced_clinical_hours"] += hours
                    if s.funding.backfill_meetings:
                        wk["locum_sessions"] += 1
                        self.locum_slots_today += self.cd_session_slots
                    else:
                        wk["lost_appointments"] += self.cd_session_slots
                        self.unbackfilled_hours += hours
                in_session = min(meeting_hours, hours)
                wk["cd_overtime_hours"] += meeting_hours - in_session
                self.leadership(hours - in_session)
                return
        if kind == "protected":
            self.leadership(hours)
        elif kind == "clinical":
            # give up the clinic only for work due soon, and only if there is a session's worth
            urgent = (self.displace_budget > 0 and self.tasks and self.tasks[0].due < self.env.now + 2 * WEEK
                      and sum(t.effort for t in self.tasks) >= hours)
            if urgent:
                self.displace_budget -= 1
                wk["cd_displaced_clinical_hours"] += hours
                if s.funding.backfill_leadership:
                    wk["locum_sessions"] += 1
                    self.locum_slots_today += self.cd_session_slots
                else:
                    wk["lost_appointments"] += self.cd_session_slots
                    self.unbackfilled_hours += hours
                self.leadership(hours)
            else:
                wk["cd_clinical_hours"] += hours
                self.cd_gp_slots_today += self.cd_session_slots

    def leadership(self, hours: float) -> None:
        used = self.work_on_tasks(hours) if hours > 0 else 0.0
        self.week["cd_leadership_hours"] += used
        self.week["cd_slack_hours"] += hours - used

    def update_strain(self, x: float) -> None:
        """Strain: a weighted mean of the weeks' x with a `strain_weeks` memory, over weeks in post.

        An exponentially weighted mean, bias-corrected (divided by the weights so far) so that a
        CD new in post has the mean of the weeks worked, not a mean diluted by weeks before
        they started: strain needs no long warm-up and a new CD's strain is not artificially low.
        """
        a = 1.0 / self.s.clinical_director.strain_weeks
        self.strain_sum += a * (x - self.strain_sum)
        self.strain_weight += a * (1.0 - self.strain_weight)
        self.strain = self.strain_sum / self.strain_weight

    def appoint_cd(self):
        """A vacant CD post is filled after the recruitment time (gamma, shape 4), from the Monday
        after: the new CD takes up the post's weekly timetable with a whole week."""
        mean = self.s.clinical_director.recruitment_weeks
        weeks = self.rng_cd_recruitment.gamma(4.0, mean / 4.0) if mean > 0 else 0.0
        monday = math.ceil((self.env.now + max(weeks, 1e-9) * WEEK) / WEEK) * WEEK
        yield self.env.timeout(monday - self.env.now)
        self.cd_in_post = True

    def reset_strain(self) -> None:
        """No strain history: a new CD starts afresh (and a vacant post carries none)."""
        self.strain, self.strain_sum, self.strain_weight = 0.0, 0.0, 0.0

    # ------------------------------------------------------------------ weekly books
    def week_close(self):
        """Saturday: the manager's week, supervision given, staff, money and the week's series."""
        env, s = self.env, self.s
        week = 0
        while True:
            yield env.timeout(week * WEEK + WEEK_CLOSE_AT + 0.5 - env.now)
            wk = self.week
            self.manager_week()
            needed = wk.pop("_supervision_needed", 0.0)
            self.supervision_ratio = wk["gp_supervision_hours"] / needed if needed > 0 else 1.0
            wk["appointments"] = wk["gp_appointments"] + wk["arrs_appointments"] + wk["nurse_appointments"]
            wk["backlog"] = float(self.waiting.sum())
            served = self.week_served_by_age
            wk["wait_days_mean"] = float(served @ np.arange(served.size) / served.sum()) if served.sum() else 0.0
            if self.measuring:
                self.served_by_age += served
            self.week_served_by_age = np.zeros_like(served)
            wk["arrs_posts_funded"] = float(sum(self.posts.values()))
            wk["arrs_in_post"] = float(sum(self.in_post.values()))
            wk["arrs_vacancies"] = wk["arrs_posts_funded"] - wk["arrs_in_post"]
            for r in ARRS_ROLES:
                wk[f"arrs_in_post.{r}"] = float(self.in_post[r])
            wk["arrs_spend"] = sum(self.in_post[r] * self.roles[r].annual_cost for r in ARRS_ROLES) / WEEKS_PER_YEAR
            wk["cd_strain"] = self.strain
            wk["cd_in_post"] = float(self.cd_in_post)
            wk["leadership_backlog_hours"] = sum(t.effort for t in self.tasks)
            cd_pay = s.cd_protected_sessions * s.costs.cd_session if self.cd_in_post else 0.0
            wk["spend"] = (wk["arrs_spend"] + cd_pay + s.funding.manager_wte * s.costs.manager_wte / WEEKS_PER_YEAR
                           + wk["locum_sessions"] * s.costs.locum_session)
            for k in WEEKLY_SERIES:
                self.weekly[k].append(float(wk[k]))
            for k in WEEKLY_SERIES:   # reset in place: the processes hold this dict
                wk[k] = 0.0
            week += 1
            if week == s.run.warmup_weeks:
                self.start_measuring()

    def start_measuring(self) -> None:
        self.measuring = True
        self.backlog_start = int(self.waiting.sum())

    # ------------------------------------------------------------------ results
    def metrics(self) -> dict[str, float]:
        """The INTERFACE.md metrics of this PCN over the weeks after warm-up."""
        s = self.s
        w0 = s.run.warmup_weeks
        years = s.years_measured
        series = {k: np.asarray(v[w0:]) for k, v in self.weekly.items()}
        tot = {k: float(v.sum()) for k, v in series.items()}
        mean = {k: float(v.mean()) for k, v in series.items()}
        served = self.served_by_age
        cum = np.cumsum(served)
        n_served = cum[-1] if cum.size else 0.0
        funded = series["arrs_posts_funded"]
        budget = s.arrs_budget
        # tasks due by the end: finished (late or not) or still open past their due date (never done)
        open_late = sum(1 for t in (*self.tasks, *self.manager_tasks) if t.due <= s.run.horizon_weeks * WEEK)
        due, overdue = self.tasks_due["count"] + open_late, self.tasks_due["overdue"] + open_late
        m = {
            "requests_per_year": tot["requests"] / years,
            "appointments_per_year": tot["appointments"] / years,
            "gp_appointments_per_year": tot["gp_appointments"] / years,
            "arrs_appointments_per_year": tot["arrs_appointments"] / years,
            "nurse_appointments_per_year": tot["nurse_appointments"] / years,
            "unmet_per_year": tot["unmet"] / years,
            "backlog_start": float(self.backlog_start),
            "backlog_end": float(self.waiting.sum()),
            "demand_met_share": tot["appointments"] / tot["requests"] if tot["requests"] else 1.0,
            "wait_days_mean": float(served @ np.arange(served.size) / n_served) if n_served else 0.0,
            "wait_days_p90": float(np.searchsorted(cum, 0.9 * n_served)) if n_served else 0.0,
            "lost_appointments_per_year": tot["lost_appointments"] / years,
            "gp_supervision_hours_per_week": mean["gp_supervision_hours"],
            "cd_clinical_hours_per_week": mean["cd_clinical_hours"],
            "cd_leadership_hours_per_week": mean["cd_leadership_hours"],
            "cd_meeting_hours_per_week": mean["cd_meeting_hours"],
            "cd_displaced_clinical_hours_per_week": mean["cd_displaced_clinical_hours"],
            "cd_overtime_hours_per_week": mean["cd_overtime_hours"],
            "cd_slack_hours_per_week": mean["cd_slack_hours"],
            "cd_protected_hours_per_week": mean["cd_protected_hours"],
            "leadership_tasks_overdue_share": (overdue / due if due else 0.0),
            "meetings_attended_share": (tot["meetings_attended"] / tot["meetings_expected"]
                                        if tot["meetings_expected"] else 1.0),
            "cd_resignations_per_year": tot["cd_resignations"] / years,
            "cd_vacancy_share": 1.0 - mean["cd_in_post"],
            "cd_strain_mean": (float(series["cd_strain"] @ series["cd_in_post"] / series["cd_in_post"].sum())
                               if series["cd_in_post"].sum() else 0.0),    # over weeks with a CD in post
            "arrs_leavers_per_year": tot["arrs_leavers"] / years,
            "arrs_vacancy_rate": float(series["arrs_vacancies"].sum() / funded.sum()) if funded.sum() else 0.0,
            "arrs_staff_wte": mean["arrs_in_post"],
            "arrs_posts_funded": mean["arrs_posts_funded"],
            "arrs_spend_per_year": tot["arrs_spend"] / years,
            "arrs_budget_used_share": tot["arrs_spend"] / years / budget if budget > 0 else 0.0,
            "manager_hours_used_per_week": mean["manager_hours_used"],
            "locum_sessions_per_year": tot["locum_sessions"] / years,
            "spend_per_year": tot["spend"] / years,
        }
        m["cost_per_appointment"] = m["spend_per_year"] / m["appointments_per_year"] if m["appointments_per_year"] else math.nan
        return m


# Metrics that are shares of ICS totals (ratio of sums) rather than means over PCNs.
_RATIO_METRICS = {
    "demand_met_share": ("appointments_per_year", "requests_per_year"),
    "cost_per_appointment": ("spend_per_year", "appointments_per_year"),
}


def simulate(scenario: Scenario, replication: int = 0) -> Replication:
    """Simulate one replication of a scenario: every PCN of its ICS over the horizon.

    Metrics are per PCN (the mean over the ICS's PCNs), over the weeks after warm-up; weekly
    series cover every week, warm-up included, so that warm-up can be judged from them.
    """
    env = simpy.Environment()
    ics = Ics(env, scenario, replication)
    if scenario.run.warmup_weeks == 0:
        for pcn in ics.pcns:
            pcn.start_measuring()
        ics.measuring = True
    else:
        def start_ics_measuring():
            yield env.timeout(scenario.run.warmup_weeks * WEEK)
            ics.measuring = True
        env.process(start_ics_measuring())
    env.run(until=scenario.run.horizon_weeks * WEEK)
    events = next(env._eid)  # SimPy's event counter: events scheduled in this run

    per_pcn = [pcn.metrics() for pcn in ics.pcns]
    metrics = {k: float(np.mean([m[k] for m in per_pcn])) for k in per_pcn[0]}
    for k, (num, den) in _RATIO_METRICS.items():
        metrics[k] = metrics[num] / metrics[den] if metrics[den] else metrics[k]
    rep = ics.representation
    metrics["representation_share"] = rep["represented"] / rep["held"] if rep["held"] else 1.0
    metrics["pcns_simulated"] = float(len(ics.pcns))
    weekly = {k: np.mean([pcn.weekly[k] for pcn in ics.pcns], axis=0) for k in WEEKLY_SERIES}
    return Replication(metrics=metrics, weekly=weekly, events=events, pcns=len(ics.pcns))
