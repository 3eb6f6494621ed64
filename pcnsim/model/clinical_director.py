"""The PCN's clinical director (CD): a weekly timetable lived session by session, with a contest for the CD.

The CD is a `simpy.PreemptiveResource` of capacity one (`desk.Desk`, which the CD owns). Protected
sessions (and clinics given up to leadership) are desk sessions: a process that holds the CD
and works leadership tasks earliest-due first. A system meeting takes the CD with a higher
priority and preempts the desk session, which keeps the task in hand (its remaining effort)
and queues for the CD again, resuming when the meeting ends if the session has time left.
An urgent system request arriving while the CD is at their desk interrupts the task in hand.
A clinic is given up when work due within the week cannot be done in the protected time
left before its due dates; what is still short on Friday evening is worked as overtime.
Strain counts hours beyond a sustainable week, overtime, displaced clinics and displaced
protected time, and recovers with slack; strain raises the chance of resigning.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
import simpy

from pcnsim.config import SESSION_HOURS, WEEKS_PER_YEAR, MeetingSeries, Scenario
from pcnsim.model.calendar import (DAY, FRIDAY_EVENING, SESSION_START, SLOTS, WEEK, CD_PLAN_AT, leave_share,
                                   open_days)
from pcnsim.model.desk import Desk
from pcnsim.model.leadership import LeadershipWork, PcnManager
from pcnsim.model.ledger import Measured, Week

if TYPE_CHECKING:
    from pcnsim.model.claims import Claims
    from pcnsim.model.ics import Ics, Meeting
    from pcnsim.model.practices import Practices

#: The fixed weekly pattern: protected sessions take slots in this order, clinics the next ones,
#: and the slots left at the end are off (baseline: protected Wed PM and Fri PM; clinics Mon, Tue
#: AM, Wed AM, Thu AM; off Thu PM and Fri AM).
FIXED_ORDER = (5, 9, 2, 6, 0, 1, 3, 4, 7, 8)


def slot_of(series: MeetingSeries) -> int:
    return series.weekday * 2 + (series.session == "pm")


def protected_slot_count(sessions: float) -> int:
    """Whole slots for `sessions` protected sessions: round(p), at least one if any (halves to even)."""
    return max(1, round(sessions)) if sessions > 1e-9 else 0


def clinic_count(scenario: Scenario) -> tuple[int, int]:
    """The CD's clinics a week, and how many of the contracted ones protected sessions replace.

    The CD's own non-clinical slots hold the funded sessions up to the DES rate's
    (`Scenario.cd_contract_sessions`); every protected slot beyond them, funded beyond the DES rate or
    extra (`clinical_director.extra_protected_sessions`), replaces a clinic with 'clinics' or
    'clinics_backfilled' (`clinical_director.extra_protected_from`), so more protected time releases
    the CD from clinics rather than lengthening their week; with 'off' the slots beyond take the days
    off first and replace clinics only once those are used up. Either way protected and clinical slots
    share the ten. Replaced clinics are counted against the timetable of the contract's sessions alone.
    """
    cd = scenario.clinical_director
    n_prot = protected_slot_count(scenario.cd_protected_sessions)
    n_base = protected_slot_count(min(10.0, scenario.cd_contract_sessions))
    clinics = min(cd.clinical_sessions, SLOTS)
    if cd.extra_protected_from == "off":
        n_clin = min(clinics, SLOTS - n_prot)
    else:
        n_clin = max(0, min(clinics - max(0, n_prot - n_base), SLOTS - n_prot))
    return n_clin, max(0, min(clinics, SLOTS - n_base) - n_clin)


def timetable(scenario: Scenario, meeting_series: list[MeetingSeries] = ()) -> tuple[list[str], list[float]]:
    """The CD's weekly timetable under `clinical_director.timetable`: each slot's kind and hours.

    Protected time is n = round(p) whole slots (at least one if any is funded) sharing its hours.
    `meeting_aware` puts them on the slots of `meeting_series` (the series the CD is expected
    at), most frequent first, then in FIXED_ORDER; `fixed` uses FIXED_ORDER. Clinics take the
    next slots of FIXED_ORDER (as many as `clinic_count` gives), the rest are off. No random draw.
    """
    prot = scenario.cd_protected_sessions
    n_prot = protected_slot_count(prot)
    n_clin, _ = clinic_count(scenario)
    order = list(FIXED_ORDER)
    if scenario.clinical_director.timetable == "meeting_aware":
        first: list[int] = []
        for series in sorted(meeting_series, key=lambda m: (m.every_weeks, -m.hours)):
            if slot_of(series) not in first:
                first.append(slot_of(series))
        order = first + [s for s in FIXED_ORDER if s not in first]
    protected = order[:n_prot]
    rest = [s for s in FIXED_ORDER if s not in protected]
    kinds = ["off"] * SLOTS
    hours = [SESSION_HOURS] * SLOTS
    for slot in protected:
        kinds[slot] = "protected"
        hours[slot] = prot * SESSION_HOURS / n_prot
    for slot in rest[:n_clin]:
        kinds[slot] = "clinical"
    return kinds, hours


#: How far two sums of the same hours in different orders can differ (float rounding), with margin: `short_of`
#: and `shortfall` trust a sum taken window by window only when it is further than this from their threshold.
ROUNDING = 1e-7

#: How many of the first entries of the heap of tasks `_overdue_on_top` looks at.
TOP = 16

#: `cd_tenure_expected_years` when no resignation is expected (a zero hazard): a cap, not infinity
TENURE_CAP_YEARS = 100.0


def expected_tenure(cd_years_a_year: float, expected_a_year: float) -> float:
    """CD-years in post over expected resignations (both a year), capped at TENURE_CAP_YEARS."""
    if expected_a_year <= cd_years_a_year / TENURE_CAP_YEARS:
        return TENURE_CAP_YEARS
    return cd_years_a_year / expected_a_year


class ClinicalDirector:
    """The CD post of one PCN: its timetable, the CD in post (or not), on leave, and their strain.

    Collaborators: the leadership work (`work`), the manager (`manager`, who takes operations work
    while the CD is away), the practices (`practices`: the CD's clinics, a locum's, appointments
    lost), the ICS's meeting calendar (`ics`, where this PCN is number `index`), the week's
    books (`week`) and the claimants on protected time (`claims`, handed to its desk). It owns its
    desk (`desk`: desk sessions, meetings, urgent requests, claims).
    """

    def __init__(self, env: simpy.Environment, s: Scenario, week: Week, streams: Callable[[str], np.random.Generator],
                 work: LeadershipWork, manager: PcnManager, practices: Practices, ics: Ics, index: int,
                 claims: Optional[Claims] = None):
        self.env, self.s, self.week = env, s, week
        self.work, self.manager, self.practices, self.ics, self.index = work, manager, practices, ics, index
        self.rng, self.rng_recruitment = streams("clinical_director"), streams("cd_recruitment")
        self.rng_meetings, self.rng_commitment = streams("meetings"), streams("cd_commitment")
        self.representative = ics.s.ics.representation == "forum" and index < ics.s.ics.forum_representatives
        series = [m for m in ics.series if ics.expects(index, m)]
        self.slot_kind, self.slot_hours = timetable(self.s, series)
        # the protected slots that replace a clinic (`clinic_count`: those beyond the contract's, funded or
        # extra; the week's last ones): a locum's clinic
        # with 'clinics_backfilled', the clinic's appointments lost with 'clinics', nothing with 'off'
        n_replaced = clinic_count(self.s)[1]
        prot_slots = [slot for slot, k in enumerate(self.slot_kind) if k == "protected"]
        self.replacing = frozenset(prot_slots[len(prot_slots) - n_replaced:] if n_replaced else ())
        self.extra_from = self.s.clinical_director.extra_protected_from
        # clinics given up to leadership a week at most (`session`): none unless "clinical" is an overflow target
        cd = self.s.clinical_director
        self._max_displaced = cd.max_displaced_sessions if "clinical" in cd.overflow else 0
        self.contracted_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k != "off")
        self.protected_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k == "protected")
        self.slot_at = [slot // 2 * DAY + SESSION_START[slot % 2] for slot in range(SLOTS)]   # hours into the week
        # the protected slots: (slot, hours, weekday, start within the week), for `protected_windows`
        self.protected_slots = [(slot, h, slot // 2, self.slot_at[slot])
                                for slot, (k, h) in enumerate(zip(self.slot_kind, self.slot_hours)) if k == "protected"]
        self.open_days = open_days(self.s)       # is_open by week of the year and weekday
        # the series whose meetings this CD is expected at (`expected`), by identity: a Meeting holds its series
        self._expected_series = frozenset(id(m) for m in series)
        # the week's slots as `weeks` walks them: (slot, kind, hours, start within the week, weekday, a clinic
        # the post's GP holds, a protected slot that replaces a clinic)
        self._slots = [(slot, kind, h, self.slot_at[slot], slot // 2, kind == "clinical" or slot in self.replacing,
                        slot in self.replacing) for slot, (kind, h) in enumerate(zip(self.slot_kind, self.slot_hours))]
        # `week_windows`, kept: this week's (week, the ICS's plan it was worked out from, windows), later weeks'
        self._this_week: tuple = (None, None, [])
        self._later_weeks: dict[int, list] = {}
        self.in_post, self.on_leave = True, False
        self.at_work = True                 # in post and not on leave this week
        self.commitment = self.draw_commitment()
        self.reset_strain()    # strain, its EWMA numerator and bias correction (update_strain)
        self.desk = Desk(env, week, work, claims)
        self.displaced = 0                 # clinics given up to leadership this week
        self.unbackfilled_hours = 0.0      # clinical hours given up with no locum this week

    def start(self) -> None:
        self.env.process(self.weeks())

    @property
    def holding(self) -> bool:
        """Whether the CD is at their desk now (a desk session holds them)."""
        return self.desk.holding

    def attend(self, hours: float):
        """A system meeting: it takes the CD from their desk for its hours (`Desk.attend`)."""
        return self.desk.attend(hours)

    def start_desk(self, hours: float, meeting_part: float, protected: bool) -> None:
        """A desk session of `hours` from now, `meeting_part` of them taken by meetings (`Desk.session`)."""
        self.desk.start(hours, meeting_part, protected)

    def metrics(self, measured: Measured) -> dict[str, float]:
        """The CD post's catalogue metrics: the CD's week by kind of time, meetings, strain and turnover,
        and the clinics it gave up (appointments lost, locum sessions)."""
        mean, per_year, series = measured.mean, measured.per_year, measured.series
        attended, expected = measured.total("meetings_attended"), measured.total("meetings_expected")
        in_post = series["cd_in_post"]
        return {
            "lost_appointments_per_year": per_year("lost_appointments"),
            "cd_clinical_hours_per_week": mean("cd_clinical_hours"),
            "cd_leadership_hours_per_week": mean("cd_leadership_hours"),
            "cd_meeting_hours_per_week": mean("cd_meeting_hours"),
            "cd_displaced_clinical_hours_per_week": mean("cd_displaced_clinical_hours"),
            "cd_overtime_hours_per_week": mean("cd_overtime_hours"),
            "cd_slack_hours_per_week": mean("cd_slack_hours"),
            "cd_protected_hours_per_week": mean("cd_protected_hours"),
            "meetings_attended_share": attended / expected if expected else 1.0,
            "cd_resignations_per_year": per_year("cd_resignations"),
            **self.retention_metrics(measured),
            "cd_vacancy_share": 1.0 - mean("cd_in_post"),
            "cd_posts_filled": mean("cd_in_post"),
            "cd_strain_mean": (float(series["cd_strain"] @ in_post / in_post.sum())
                               if in_post.sum() else 0.0),    # over weeks with a CD in post
            "locum_sessions_per_year": per_year("locum_sessions"),
            "cd_role_hours_per_week": mean("cd_leadership_hours") + mean("cd_meeting_hours"),
            "cd_hours_over_contract_per_week": mean("cd_overtime_hours"),
            "cd_protected_hours_displaced_per_week": mean("cd_protected_displaced_hours"),
            **self.desk.metrics(measured),      # the claims on protected time, by claimant
        }

    def retention_metrics(self, measured: Measured) -> dict[str, float]:
        """Expected resignations (the sum of the weeks' resignation probabilities while in post: the
        realised count's conditional expectation, far less noisy) and the expected tenure they imply."""
        expected = measured.per_year("cd_resignations_expected")
        in_post = measured.mean("cd_in_post")
        return {"cd_resignations_expected_per_year": expected,
                "cd_tenure_expected_years": expected_tenure(in_post, expected)}

    def draw_commitment(self) -> float:
        """How much leadership work this CD takes on, relative to the mean (gamma, mean 1, drawn once per CD)."""
        cv = self.s.clinical_director.commitment_cv
        return float(self.rng_commitment.gamma(1 / cv ** 2, cv ** 2)) if cv > 0 else 1.0

    def expected(self, meetings) -> list[Meeting]:
        """The meetings this PCN's CD is expected at under the representation model (`Ics.expected_at`, which
        depends on the meeting's series alone: worked out once per series, in `__init__`)."""
        ids = self._expected_series
        return [m for m in meetings if id(m.series) in ids]

    def weeks(self):
        """The CD's week, session by session; then overtime, strain and the chance of resigning."""
        env, s, rng, wk = self.env, self.s, self.rng, self.week
        cd = s.clinical_director
        leave_p = leave_share(s)
        week = 0
        while True:
            start = week * WEEK
            yield env.timeout(start + CD_PLAN_AT - env.now)
            self.work.drop_stale()
            self.work.operations_week()
            self.unbackfilled_hours, self.displaced = 0.0, 0
            leave = rng.random() < leave_p      # drawn every week, so the stream keeps step through vacancies
            self.on_leave = self.in_post and leave
            working = self.in_post and not self.on_leave
            self.at_work = working              # for the ICS's governance record this week
            if working:
                wk.cd_contracted_hours += self.contracted_hours
                wk.cd_protected_hours += self.protected_hours
            elif "manager" in cd.overflow:   # on leave or vacant: the manager takes operations work due soon
                self.manager.take(self.work.hours_due_before(start + 2 * WEEK))
            planned = self.ics.meetings_this_week
            open_week = self.open_days[week % WEEKS_PER_YEAR]
            for slot, kind, hours, at, day, gp_clinic, replaces in self._slots:
                if slot not in planned and (kind == "off" or not (gp_clinic or working)):
                    continue                 # nothing happens in this slot (`gp_clinic`: a clinic the post's GP holds)
                yield env.timeout(start + at - env.now)     # whole hours: the same sum
                open_today = open_week[day]
                here = planned.get(slot) if open_today else None
                meetings = self.expected(here) if here else []
                wk.meetings_expected += len(meetings)
                if not open_today:   # a bank holiday: no clinic, no protected time
                    if working and kind != "off":
                        wk.cd_contracted_hours -= hours
                        if kind == "protected":
                            wk.cd_protected_hours -= hours
                    continue
                if working:
                    self.session(slot, meetings)
                    if replaces:
                        self.replaced_clinic()
                elif gp_clinic and not self.in_post:
                    # the post is vacant: the GP who held it still runs their clinics
                    self.practices.add_gp_session(locum=False)
            # Friday evening: overtime on work that would otherwise be late, then the week's strain
            yield env.timeout(start + FRIDAY_EVENING - env.now)
            if working:
                if "overtime" in cd.overflow and cd.max_overtime_hours > 0:
                    self.overtime(env.now + WEEK)
                self.update_strain(self.strain_input())
            elif self.in_post:
                self.update_strain(0.0)             # a week of leave: strain recovers
            quit_draw = rng.random()                # drawn every week, like leave: the stream keeps step
            if self.in_post:
                p_quit = 1.0 - math.exp(-self.hazard() / WEEKS_PER_YEAR)
                wk.cd_resignations_expected += p_quit   # the week's expected resignations (docs/model.md 2.10)
                if quit_draw < p_quit:
                    wk.cd_resignations += 1
                    self.in_post = False
                    self.reset_strain()
                    self.work.catch_up()            # the development work so far came at the old commitment
                    self.commitment = 1.0           # the post's work while vacant: the mean
                    env.process(self.appoint())
            week += 1

    def overtime(self, horizon: float) -> None:
        """Friday evening: unpaid hours, up to `max_overtime_hours`, first on operations and system work
        that protected time cannot get done before it is due (`shortfall`), then on development work
        falling due before `horizon` (development never takes a clinic, but a CD works evenings on it)."""
        cd, wk, work = self.s.clinical_director, self.week, self.work
        budget = cd.max_overtime_hours
        short = self.shortfall(horizon, budget)
        used = work.work_on(min(budget, short), horizon) if short > 1e-9 else 0.0
        dev = work.work_on(budget - used, horizon, queue=work.development) if budget - used > 1e-9 else 0.0
        wk.cd_leadership_hours += used + dev
        wk.cd_overtime_hours += used + dev
        wk.development_hours += dev

    def hazard(self) -> float:
        """Resignations a year at the current strain."""
        cd = self.s.clinical_director
        return cd.base_resignation_per_year * math.exp(cd.strain_sensitivity * self.strain)

    def strain_input(self) -> float:
        """This week's strain input x (docs/model.md 2.10)."""
        cd, wk = self.s.clinical_director, self.week
        worked = wk.cd_contracted_hours + wk.cd_overtime_hours
        return (wk.cd_overtime_hours + max(0.0, worked - cd.sustainable_hours)
                + cd.displaced_strain_weight * (self.unbackfilled_hours + wk.cd_protected_displaced_hours)
                - cd.slack_strain_weight * wk.cd_slack_hours)

    # ------------------------------------------------------------------ a session
    def session(self, slot: int, meetings: list[Meeting]) -> None:
        """What the CD does in one session: meetings take the CD first; protected time and a clinic
        given up are desk sessions; otherwise the clinic runs."""
        s, wk = self.s, self.week
        kind, hours = self.slot_kind[slot], self.slot_hours[slot]
        go: list[Meeting] = []
        if meetings:
            attend = True
            if kind == "clinical" and not s.funding.backfill_meetings:
                attend = self.rng_meetings.random() < s.ics.attend_if_clinical
            seats = s.ics.seats_per_meeting
            go = [m for m in meetings if not seats or m.attended < seats] if attend else []
        if go:
            meeting_hours = sum(m.series.hours for m in go)
            for m in go:
                m.attended += 1
                m.who.append(self.index)
                if self.representative and m.series.kind == "system" and s.ics.representative_prep_hours > 0:
                    self.work.add("system", s.ics.representative_prep_hours, due=self.env.now + WEEK)
            wk.meetings_attended += len(go)
            wk.cd_meeting_hours += meeting_hours
            if kind == "off":                        # in the CD's own time
                wk.cd_overtime_hours += meeting_hours
                return
            if kind == "clinical":
                self.give_up_clinic(hours, s.funding.backfill_meetings)
            else:
                wk.cd_protected_displaced_hours += min(meeting_hours, hours)
            wk.cd_overtime_hours += max(0.0, meeting_hours - hours)
            self.env.process(self.attend(meeting_hours))       # first: it takes the CD
            self.start_desk(hours, min(meeting_hours, hours), protected=kind == "protected")
            return
        if kind == "protected":
            self.start_desk(hours, 0.0, protected=True)
        elif kind == "clinical":
            if (self.displaced < self._max_displaced          # 0 unless "clinical" is in `overflow`
                    and self.short_of(self.env.now + WEEK, SESSION_HOURS / 2)
                    and self.work.has_hours(hours)):            # and a whole session's work waiting
                self.displaced += 1
                self.give_up_clinic(hours, s.funding.backfill_leadership)
                self.start_desk(hours, 0.0, protected=False)
            else:
                wk.cd_clinical_hours += hours
                self.practices.add_gp_session(locum=False)

    def shortfall(self, horizon: float, enough: float = math.inf) -> float:
        """Hours of the CD's operations and system work due before `horizon` that the protected time
        left before each due date cannot cover, worked earliest due first (0 if all can be done;
        the count stops once it reaches `enough`: then any value at least `enough`)."""
        tasks = self.work.tasks
        if not tasks:
            return 0.0
        if enough < math.inf and (overdue := self._overdue_on_top(tasks)) >= enough + ROUNDING:
            return overdue
        windows = self.protected_windows(horizon)
        if enough < math.inf:
            bound = self._shortfall_by_window(tasks, windows, horizon, enough)
            if bound >= enough + ROUNDING:       # surely at least `enough` (the count would stop there)
                return bound
        return self._shortfall_in_order(tasks, windows, horizon, enough)

    def short_of(self, horizon: float, enough: float) -> bool:
        """Whether `shortfall(horizon, enough) >= enough`, told without sorting the tasks unless it is a close
        call (and without the protected windows when all the work due falls short of `enough`)."""
        tasks = self.work.tasks
        if self._overdue_on_top(tasks) >= enough + ROUNDING:
            return True
        due = sum([t.effort for t in tasks if t.due < horizon])
        if due < enough - ROUNDING:                  # the shortfall is at most the work due
            return False
        windows = self.protected_windows(horizon)
        bound = self._shortfall_by_window(tasks, windows, horizon, enough, due)
        if bound >= enough + ROUNDING:
            return True
        if bound < enough - ROUNDING:
            return False
        return self._shortfall_in_order(tasks, windows, horizon, enough) >= enough

    def _overdue_on_top(self, tasks: list) -> float:
        """A lower bound of the shortfall, up to rounding: the work already overdue among the first entries of
        the heap of tasks (the earliest due are there). No protected time is left before an overdue task's due
        date, so this work alone is short; a CD far behind is told at once, without looking at every task."""
        now = self.env.now
        return sum([t.effort for t in tasks[:TOP] if t.due < now])

    @staticmethod
    def _shortfall_in_order(tasks: list, windows: list[tuple[float, float]], horizon: float, enough: float) -> float:
        """The shortfall, the tasks due before `horizon` taken in order of due date (then effort)."""
        due = [(t.due, t.effort) for t in tasks if t.due < horizon]
        if not due:
            return 0.0
        due.sort()
        need = cap = worst = 0.0
        i = 0
        for when, effort in due:
            need += effort
            while i < len(windows) and windows[i][0] <= when:
                cap += windows[i][1]
                i += 1
            if need - cap > worst:
                worst = need - cap
                if worst >= enough:
                    break
        return worst

    @staticmethod
    def _shortfall_by_window(tasks: list, windows: list[tuple[float, float]], horizon: float, enough: float,
                             due: float | None = None) -> float:
        """The shortfall up to rounding, window by window: the work due before each window's end (and before
        `horizon`) less the protected hours of the windows before it. The same maximum as the task-by-task
        count of `_shortfall_in_order` (between two windows' ends the protected hours stay and the work due
        only grows), with sums in another order, so within ROUNDING of it; no sort. `due`, if given, is the
        work due before `horizon`. Stops once past `enough` + ROUNDING, or once what is left cannot reach
        `enough` - ROUNDING (then a value below it)."""
        if due is None:
            due = sum([t.effort for t in tasks if t.due < horizon])
        worst = cap = 0.0
        reached = -math.inf     # the latest end so far: a task counts a window's hours once every earlier one ended
        for end, hours in windows:                   # they end by `horizon`
            if end > reached:
                reached = end
            gap = sum([t.effort for t in tasks if t.due < reached]) - cap
            if gap > worst:
                worst = gap
                if worst >= enough + ROUNDING:
                    return worst
            cap += hours
            if due - cap < enough - ROUNDING and worst < enough - ROUNDING:
                return worst                         # the gaps still to come are at most due - cap
        return max(worst, due - cap)

    def protected_windows(self, horizon: float) -> list[tuple[float, float]]:
        """(end, hours) of the protected sessions from now to `horizon`, less the meetings expected in
        them this week (later weeks: the whole session)."""
        now = self.env.now
        w = int(now // WEEK)
        out = [window for at, h, window in self.week_windows(w, True) if at >= now and at + h <= horizon]
        w += 1
        while w * WEEK < horizon:             # later weeks: every session starts after now
            out += [window for at, h, window in self.week_windows(w, False) if at + h <= horizon]
            w += 1
        return out

    def week_windows(self, w: int, this_week: bool) -> list[tuple[float, float, tuple[float, float]]]:
        """(start, hours, (end, hours less meetings)) of week w's protected sessions on open days: in this
        week less the meetings expected in them, in a later week whole. Worked out once a week (this week's
        again if the ICS lays out a new plan), as `shortfall` asks several times a week."""
        if this_week:
            planned = self.ics.meetings_this_week
            if self._this_week[0] != w or self._this_week[1] is not planned:
                self._this_week = (w, planned, self._windows_of(w, planned))
                self._later_weeks.pop(w, None)      # kept only for weeks still ahead
            return self._this_week[2]
        if w not in self._later_weeks:
            self._later_weeks[w] = self._windows_of(w, {})
        return self._later_weeks[w]

    def _windows_of(self, w: int, planned: dict) -> list[tuple[float, float, tuple[float, float]]]:
        start, open_week = w * WEEK, self.open_days[w % WEEKS_PER_YEAR]
        out = []
        for slot, h, day, offset in self.protected_slots:
            if open_week[day]:
                at = start + offset                  # whole hours: exact, in any order of adding
                left = h - min(h, sum(m.series.hours for m in self.expected(planned[slot]))) if slot in planned else h
                out.append((at, h, (at + left, left)))
        return out

    def replaced_clinic(self) -> None:
        """A clinic a protected session beyond the contract's replaced (`clinical_director.extra_protected_from`):
        a locum runs it ('clinics_backfilled'), or its appointments are lost ('clinics'); with 'off', as
        before leadership v3, nothing is booked."""
        if self.extra_from == "clinics_backfilled":
            self.week.locum_sessions += 1
            self.practices.add_gp_session(locum=True)
        elif self.extra_from == "clinics":
            self.week.lost_appointments += self.practices.gp_session_slots

    def give_up_clinic(self, hours: float, backfilled: bool) -> None:
        """A clinical session given up: a locum takes it if backfill is funded, else its appointments are lost."""
        wk = self.week
        wk.cd_displaced_clinical_hours += hours
        if backfilled:
            wk.locum_sessions += 1
            self.practices.add_gp_session(locum=True)
        else:
            wk.lost_appointments += self.practices.gp_session_slots
            self.unbackfilled_hours += hours

    def update_strain(self, x: float) -> None:
        """Strain: a weighted mean of the weeks' x with a `strain_weeks` memory, over weeks in post, at least 0.

        An exponentially weighted mean, bias-corrected (divided by the weights so far) so that a
        CD new in post has the mean of the weeks worked, not a mean diluted by weeks before
        they started: strain needs no long warm-up and a new CD's strain is not artificially low.
        Slack weeks have a negative x, so strain recovers; it never goes below 0.
        """
        a = 1.0 / self.s.clinical_director.strain_weeks
        self.strain_sum = max(0.0, self.strain_sum + a * (x - self.strain_sum))
        self.strain_weight += a * (1.0 - self.strain_weight)
        self.strain = max(0.0, self.strain_sum / self.strain_weight)

    def reset_strain(self) -> None:
        """No strain history: a new CD starts afresh (and a vacant post carries none)."""
        self.strain, self.strain_sum, self.strain_weight = 0.0, 0.0, 0.0

    def appoint(self):
        """A vacant CD post is filled after the recruitment time (gamma, shape 4), from the Monday
        after: the new CD takes up the post's weekly timetable with a whole week."""
        mean = self.s.clinical_director.recruitment_weeks
        weeks = self.rng_recruitment.gamma(4.0, mean / 4.0) if mean > 0 else 0.0
        monday = math.ceil((self.env.now + max(weeks, 1e-9) * WEEK) / WEEK) * WEEK
        yield self.env.timeout(monday - self.env.now)
        self.in_post = True
        self.work.catch_up()                    # the development work so far came at the old commitment
        self.commitment = self.draw_commitment()
