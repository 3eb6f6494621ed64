"""The PCN's clinical director (CD): a weekly timetable lived session by session.

In each session the CD sees patients, uses protected time on leadership tasks or attends
a system meeting (which takes the session whatever was planned). Leadership work beyond
protected time overflows to the manager, displaced clinics or overtime; overtime and
unbackfilled clinics raise strain, and strain raises the chance of resigning.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from pcnsim.config import SESSION_HOURS, WEEKS_PER_YEAR, Scenario
from pcnsim.model.calendar import (DAY, FRIDAY_EVENING, SESSION_START, SLOTS, WEEK, CD_PLAN_AT, is_open,
                                   leave_share)

if TYPE_CHECKING:
    from pcnsim.model.ics import Meeting
    from pcnsim.model.pcn import Pcn


def timetable(scenario: Scenario, rng: np.random.Generator) -> tuple[list[str], list[float]]:
    """The CD's fixed weekly timetable: each slot's kind (protected, clinical, off) and hours.

    Protected time is whole slots (rounded, at least one if any is funded) sharing its hours.
    """
    prot = scenario.cd_protected_sessions
    n_prot = max(1, round(prot)) if prot > 1e-9 else 0
    n_clin = min(scenario.clinical_director.clinical_sessions, SLOTS - n_prot)
    order = rng.permutation(SLOTS)
    kinds = ["off"] * SLOTS
    hours = [SESSION_HOURS] * SLOTS
    for slot in order[:n_prot]:
        kinds[slot] = "protected"
        hours[slot] = prot * SESSION_HOURS / n_prot
    for slot in order[n_prot:n_prot + n_clin]:
        kinds[slot] = "clinical"
    return kinds, hours


class ClinicalDirector:
    """The CD post of one PCN: its timetable, the CD in post (or not), on leave, and their strain."""

    def __init__(self, pcn: Pcn):
        self.pcn, self.env, self.s, self.week = pcn, pcn.env, pcn.s, pcn.week
        self.work, self.manager, self.practices = pcn.work, pcn.manager, pcn.practices
        self.rng, self.rng_recruitment = pcn.rng("clinical_director"), pcn.rng("cd_recruitment")
        self.rng_meetings = pcn.rng("meetings")
        self.slot_kind, self.slot_hours = timetable(self.s, pcn.rng("timetable"))
        self.contracted_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k != "off")
        self.protected_hours = sum(h for k, h in zip(self.slot_kind, self.slot_hours) if k == "protected")
        self.in_post, self.on_leave = True, False
        self.reset_strain()    # strain, its EWMA numerator and bias correction (update_strain)
        self.displace_budget = 0           # clinical sessions the CD may give up this week
        self.overtime_budget = 0.0         # overtime hours planned this week
        self.unbackfilled_hours = 0.0      # clinical hours given up with no locum this week

    def start(self) -> None:
        self.env.process(self.weeks())

    def expected(self, meetings) -> list[Meeting]:
        """The meetings this PCN's CD is expected at under the representation model."""
        ics, index = self.pcn.ics, self.pcn.index
        return [m for m in meetings if ics.expected_at(index, m)]

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
            self.unbackfilled_hours = 0.0
            leave = rng.random() < leave_p      # drawn every week, so the stream keeps step through vacancies
            self.on_leave = self.in_post and leave
            working = self.in_post and not self.on_leave
            if working:
                self.plan_overflow(start)
                wk.cd_contracted_hours += self.contracted_hours
                wk.cd_protected_hours += self.protected_hours
            else:   # on leave or vacant: the manager still takes operations work due soon
                self.displace_budget, self.overtime_budget = 0, 0.0
                if "manager" in cd.overflow:
                    self.manager.take(self.work.hours_due_before(start + 2 * WEEK))
            for slot in range(SLOTS):
                day, half = divmod(slot, 2)
                yield env.timeout(start + day * DAY + SESSION_START[half] - env.now)
                open_today = is_open(s, week, day)
                meetings = self.expected(self.pcn.ics.meetings_this_week.get(slot, ())) if open_today else []
                wk.meetings_expected += len(meetings)
                if not open_today:   # a bank holiday: no clinic, no protected time
                    if working and self.slot_kind[slot] != "off":
                        wk.cd_contracted_hours -= self.slot_hours[slot]
                        if self.slot_kind[slot] == "protected":
                            wk.cd_protected_hours -= self.slot_hours[slot]
                    continue
                if working:
                    self.session(slot, meetings)
                elif self.slot_kind[slot] == "clinical" and not self.in_post:
                    # the post is vacant: the GP who held it still runs their clinics
                    self.practices.add_gp_session(locum=False)
            # Friday evening: overtime on work due soon, then the week's strain
            yield env.timeout(start + FRIDAY_EVENING - env.now)
            if working:
                if self.overtime_budget > 0:
                    used = self.work.work_on(self.overtime_budget, start + 2 * WEEK)
                    wk.cd_leadership_hours += used
                    wk.cd_overtime_hours += used
                x = wk.cd_overtime_hours + cd.displaced_strain_weight * self.unbackfilled_hours
                self.update_strain(x)
            elif self.in_post:
                self.update_strain(0.0)             # a week of leave: strain recovers
            quit_draw = rng.random()                # drawn every week, like leave: the stream keeps step
            if self.in_post:
                hazard = cd.base_resignation_per_year * math.exp(cd.strain_sensitivity * self.strain)
                if quit_draw < 1.0 - math.exp(-hazard / WEEKS_PER_YEAR):
                    wk.cd_resignations += 1
                    self.in_post = False
                    self.reset_strain()
                    env.process(self.appoint())
            week += 1

    def plan_overflow(self, week_start: float) -> None:
        """Monday: if the work due within two weeks exceeds this week's protected time, overflow it."""
        s = self.s
        horizon = week_start + 2 * WEEK
        need = self.work.hours_due_before(horizon)
        meetings_in_protected = sum(
            min(self.slot_hours[slot], sum(m.series.hours for m in self.expected(ms)))
            for slot, ms in self.pcn.ics.meetings_this_week.items() if self.slot_kind[slot] == "protected")
        week = round(week_start / WEEK)
        protected = sum(h for slot, (kind, h) in enumerate(zip(self.slot_kind, self.slot_hours))
                        if kind == "protected" and is_open(s, week, slot // 2))   # none on a bank holiday
        overflow = need - max(0.0, protected - meetings_in_protected)
        self.displace_budget, self.overtime_budget = 0, 0.0
        for target in s.clinical_director.overflow:
            if overflow <= 0:
                break
            if target == "manager":
                overflow -= self.manager.take(overflow)
            elif target == "clinical":
                clinical_slots = self.slot_kind.count("clinical")
                k = min(s.clinical_director.max_displaced_sessions, clinical_slots,
                        math.ceil(overflow / SESSION_HOURS - 1e-9))
                self.displace_budget = k
                overflow -= k * SESSION_HOURS
            elif target == "overtime":
                self.overtime_budget = min(s.clinical_director.max_overtime_hours, overflow)
                overflow -= self.overtime_budget

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
                wk.meetings_attended += len(meetings)
                wk.cd_meeting_hours += meeting_hours
                if kind == "off":
                    wk.cd_overtime_hours += meeting_hours
                    return
                if kind == "clinical":
                    self.give_up_clinic(hours, s.funding.backfill_meetings)
                in_session = min(meeting_hours, hours)
                wk.cd_overtime_hours += meeting_hours - in_session
                self.leadership(hours - in_session)
                return
        if kind == "protected":
            self.leadership(hours)
        elif kind == "clinical":
            # give up the clinic only for work due soon, and only if there is a session's worth
            work = self.work
            urgent = (self.displace_budget > 0 and work.tasks and work.tasks[0].due < self.env.now + 2 * WEEK
                      and work.open_hours() >= hours)
            if urgent:
                self.displace_budget -= 1
                self.give_up_clinic(hours, s.funding.backfill_leadership)
                self.leadership(hours)
            else:
                wk.cd_clinical_hours += hours
                self.practices.add_gp_session(locum=False)

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

    def leadership(self, hours: float) -> None:
        """Protected hours on leadership tasks; what no task needs is slack."""
        used = self.work.work_on(hours) if hours > 0 else 0.0
        self.week.cd_leadership_hours += used
        self.week.cd_slack_hours += hours - used

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
