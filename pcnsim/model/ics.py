"""The integrated care system: its PCNs and the system meeting calendar they share.

Each Monday the week's meetings are laid out; each Saturday the ICS books whether every
system meeting had a PCN CD present (representation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import simpy

from pcnsim.config import MeetingSeries, Scenario
from pcnsim.config import DAYS_PER_WEEK
from pcnsim.model.calendar import DAY, SERVICE_AT, SLOTS, WEEK, WEEK_CLOSE_AT, is_open
from pcnsim.model.pcn import Pcn
from pcnsim.model.engine import engine as practices_engine


@dataclass
class Meeting:
    """One occurrence of a system meeting series in a given week."""

    series: MeetingSeries
    slot: int
    attended: int = 0          # CDs present (representation: at least one)


def occurrences(series: MeetingSeries, week: int, load: float) -> int:
    """Meetings of a series held in a week: its frequency scaled by `ics.meeting_load`.

    The count telescopes, so more load never holds fewer meetings up to any week.
    """
    k = week - series.offset_weeks
    if load <= 0 or k < 0:
        return 0
    return math.floor(load * (k + 1) / series.every_weeks + 1e-9) - math.floor(load * k / series.every_weeks + 1e-9)


class Ics:
    """The ICS of one replication: its PCNs, this week's meetings and its representation record."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int):
        self.env = env
        self.s = scenario
        self.meetings_this_week: dict[int, list[Meeting]] = {}
        self.representation = {"held": 0, "represented": 0}
        self.measuring = False
        forum = scenario.ics.representation == "forum"
        self.series = [m for m in scenario.ics.meetings if m.kind == "system" or forum]
        # each PCN its own scenario when the PCNs differ in size (Scenario.pcn_scenarios), else this one
        self.pcns = [Pcn(env, s, replication, i, self) for i, s in enumerate(scenario.pcn_scenarios())]
        env.process(self.system_meetings())
        if practices_engine() == "compiled":
            env.process(self.days())

    def expected_at(self, pcn_index: int, meeting: Meeting) -> bool:
        """Whether a PCN's CD is expected at a meeting under the representation model."""
        return self.expects(pcn_index, meeting.series)

    def expects(self, pcn_index: int, series: MeetingSeries) -> bool:
        """Whether a PCN's CD is expected at the meetings of a series: every CD at the forum and,
        with 'all', at every meeting; with 'forum', only the representatives at system meetings."""
        if series.kind == "forum" or self.s.ics.representation == "all":
            return True
        return pcn_index < self.s.ics.forum_representatives

    def days(self):
        """Each weekday at 18:00, every PCN's day in one pass (`Practices.day`): each PCN keeps its own
        streams, and nothing else happens at 18:00, so the numbers are those of one process a PCN."""
        env, practices = self.env, [pcn.practices for pcn in self.pcns]
        week = 0
        while True:
            for p in practices:
                p.week_ahead(week)
            for day in range(DAYS_PER_WEEK):
                yield env.timeout(week * WEEK + day * DAY + SERVICE_AT - env.now)
                for p in practices:
                    p.day(week, day)
            week += 1

    def system_meetings(self):
        """Each Monday, lay out the week's meetings; each Saturday, book representation."""
        week = 0
        while True:
            plan: dict[int, list[Meeting]] = {}
            for series in self.series:
                slot = series.weekday * 2 + (series.session == "pm")
                for n in range(occurrences(series, week, self.s.ics.meeting_load)):   # extra ones go to later slots
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
