"""The integrated care system: its PCNs, the labour supply and the system meeting calendar they share.

Each Monday the week's meetings are laid out; each Saturday the ICS books whether every
system meeting had a PCN CD present (representation) and whose view each decision heard
(governance: `pcnsim.model.governance`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from pcnsim.config import WEEKS_PER_YEAR, MeetingSeries, Scenario
from pcnsim.model.calendar import BOOKS_CLOSE_AT, SLOTS, WEEK, WEEK_CLOSE_AT, open_days
from pcnsim.model.governance import Governance
from pcnsim.model.labour import LabourSupply
from pcnsim.model.pcn import Pcn
from pcnsim.model.practices import days
from pcnsim.model.engine import engine


@dataclass
class Meeting:
    """One occurrence of a system meeting series in a given week."""

    series: MeetingSeries
    slot: int
    attended: int = 0          # CDs present (representation: at least one)
    who: list[int] = field(default_factory=list)   # the PCNs whose CDs are present (governance)


def occurrences(series: MeetingSeries, week: int, load: float) -> int:
    """Meetings of a series held in a week: its frequency scaled by `ics.meeting_load`.

    The count telescopes, so more load never holds fewer meetings up to any week.
    """
    k = week - series.offset_weeks
    if load <= 0 or k < 0:
        return 0
    return math.floor(load * (k + 1) / series.every_weeks + 1e-9) - math.floor(load * k / series.every_weeks + 1e-9)


class Ics:
    """The ICS of one replication: its labour supply, its PCNs, this week's meetings and its representation record.

    Built leaves first: the labour supply, then the PCNs (each handed the supply and this meeting
    calendar), then the meeting calendar's process.
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int):
        self.env = env
        self.s = scenario
        self.meetings_this_week: dict[int, list[Meeting]] = {}
        self.representation = {"held": 0, "represented": 0}
        self.measuring = False
        forum = scenario.ics.representation == "forum"
        self.series = [m for m in scenario.ics.meetings if m.kind == "system" or forum]
        #: how the practices' days run (PCNSIM_ENGINE, read once a replication): "compiled" serves
        #: every PCN's day in one pass a day here; the others give each PCN a process of its own
        self.engine = engine()
        #: candidates for ARRS posts, shared by the PCNs' workforces (its arrival processes start first)
        self.labour_supply = LabourSupply(env, scenario, replication)
        # each PCN its own scenario when the PCNs differ in size (Scenario.pcn_scenarios), else this one
        self.pcns = [Pcn(env, s, replication, i, self) for i, s in enumerate(scenario.pcn_scenarios())]
        #: the seats on the system bodies and whose view their decisions heard
        self.governance = Governance(scenario, self.series, len(self.pcns))
        env.process(self.system_meetings())
        env.process(self.books())
        if self.engine == "compiled":
            env.process(days(env, [pcn.practices for pcn in self.pcns]))

    def metrics(self) -> dict[str, float]:
        """The ICS's own catalogue metrics: representation at system meetings, the PCNs' involvement in
        system decisions (governance) and the PCNs simulated."""
        rep = self.representation
        return {"representation_share": rep["represented"] / rep["held"] if rep["held"] else 1.0,
                **self.governance.metrics(),
                "pcns_simulated": float(len(self.pcns))}

    def expected_at(self, pcn_index: int, meeting: Meeting) -> bool:
        """Whether a PCN's CD is expected at a meeting under the representation model."""
        return self.expects(pcn_index, meeting.series)

    def expects(self, pcn_index: int, series: MeetingSeries) -> bool:
        """Whether a PCN's CD is expected at the meetings of a series: every CD at the forum and,
        with 'all', at every meeting; with 'forum', only the representatives at system meetings."""
        if series.kind == "forum" or self.s.ics.representation == "all":
            return True
        return pcn_index < self.s.ics.forum_representatives

    def books(self):
        """Each Saturday at BOOKS_CLOSE_AT, after representation is booked, every PCN closes its week's books
        (`Pcn.week_close`), in PCN order: one wake-up for the ICS rather than one a PCN, the same order."""
        env, pcns = self.env, self.pcns
        week = 0
        while True:
            yield env.timeout(week * WEEK + BOOKS_CLOSE_AT - env.now)
            for pcn in pcns:
                pcn.week_close(week)
            week += 1

    def system_meetings(self):
        """Each Monday, lay out the week's meetings; each Saturday, book representation and governance."""
        open_table, load = open_days(self.s), self.s.ics.meeting_load
        week = 0
        while True:
            plan: dict[int, list[Meeting]] = {}
            open_week = open_table[week % WEEKS_PER_YEAR]
            for series in self.series:
                slot = series.weekday * 2 + (series.session == "pm")
                for n in range(occurrences(series, week, load)):   # extra ones go to later slots
                    at = (slot + 2 * n) % SLOTS
                    if open_week[at // 2]:
                        plan.setdefault(at, []).append(Meeting(series, at))
            self.meetings_this_week = plan
            yield self.env.timeout(WEEK_CLOSE_AT)
            if self.measuring:
                for meetings in plan.values():
                    for m in meetings:
                        if m.series.kind == "system":
                            self.representation["held"] += 1
                            self.representation["represented"] += m.attended > 0
            self.governance.book_week([m for meetings in plan.values() for m in meetings],
                                      [pcn.cd.at_work for pcn in self.pcns], self.measuring)
            yield self.env.timeout(WEEK - WEEK_CLOSE_AT)
            week += 1
