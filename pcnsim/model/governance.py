"""Representation as governance: who holds the system bodies' primary care seats, and whose view
each decision hears (docs/model.md 2.9).

Attending a system meeting is not the same as being represented at it. Each system body (a
meeting series) has a few primary care `seats` and takes `decisions` that affect every PCN of
the ICS. A PCN's view is put into a decision when its CD is in the room with a seat (credit 1),
in the room without one (`ics.observer_voice_share`), or, with a forum, when a seated
representative is in the room and the PCN's CD attended the last forum to give them its view
(`ics.forum_carry_share`); a CD who is away (leave, a clinic, a vacant post) puts no view in.
Per CD this gives the share of decisions affecting their PCN with its view put in
(`cd_involved_share`) and whether it was put into at least 90% of those taken while the CD was
at work (`cd_always_involved_share`), the measure comparable with the NHS Confederation's 2021
survey (12% of PCN leaders "always" involved in system-level discussions).

Seats: with 'all', the CDs of the first PCNs (PCN 0 the largest) hold every body's seats, the
same few CDs sitting on each body, as primary care's system leads do; with 'forum', the forum's
representatives hold them, in order. A simulated ICS of several PCNs shares the seats among
them; a single simulated PCN stands for any of the `ics.system_pcns` PCNs of its ICS, so its
metrics are the mean over the seats it might hold (each position equally likely): the
expectation of a draw of its seat, with no draw and no sampling noise.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from pcnsim.config import MeetingSeries, Scenario

if TYPE_CHECKING:
    from pcnsim.model.ics import Meeting

#: A CD is "always" involved when their PCN's view went into at least this share of the decisions
#: taken while they were at work (the survey's "always", docs/model.md 2.9).
ALWAYS = 0.9


def seated(series: MeetingSeries, position: int) -> bool:
    """Whether the CD at `position` in the seat order holds a seat on the body (seats 0: every CD)."""
    return series.seats == 0 or position < series.seats


class Governance:
    """The ICS's record of whose view its system bodies' decisions heard, PCN by PCN.

    `book_week` is called each Saturday with the week's meetings (each knowing which PCNs'
    CDs attended, `Meeting.who`) and which CDs were at work; it keeps who attended the last
    forum from the start and, once measuring, adds each PCN's decisions and credit.
    """

    def __init__(self, scenario: Scenario, series: Sequence[MeetingSeries], pcns: int):
        ics = scenario.ics
        self.forum = ics.representation == "forum"
        self.observer, self.carry = ics.observer_voice_share, ics.forum_carry_share
        self.reps = min(ics.forum_representatives, pcns) if self.forum else 0
        self.pcns = pcns
        self.series = list(series)
        # each PCN's possible seat positions, (weight, position): one sure position in a simulated ICS
        # (PCN order; with a forum the representatives first, the others after every seat), every
        # position of the ICS's `system_pcns` equally likely for a single PCN standing for any of them
        if pcns == 1 and not self.forum and ics.system_pcns > 1:
            positions = self._positions(series, ics.system_pcns)
            self.positions = [positions]
        else:
            self.positions = [[(1.0, self._position(i))] for i in range(pcns)]
        self.last_forum = [False] * pcns           # whether each PCN's CD attended the last forum
        self.decisions = [0.0] * pcns              # decisions affecting the PCN (measured)
        self.decisions_at_work = [0.0] * pcns      # ... taken while its CD was at work
        self.credit = [[0.0] * len(p) for p in self.positions]          # its view put in, by position
        self.credit_at_work = [[0.0] * len(p) for p in self.positions]

    def _position(self, i: int) -> int:
        """PCN i's place in the seat order: with a forum the representatives hold the seats, the other
        CDs none (a large position) unless a body seats every CD."""
        if self.forum and i >= self.reps:
            return 10 ** 9
        return i

    @staticmethod
    def _positions(series: Iterable[MeetingSeries], n: int) -> list[tuple[float, int]]:
        """The distinct seat positions of n, weighted by how many of the n positions seat alike: the
        positions below the largest seat count one by one, the rest (no seat but the open ones) together."""
        top = max((s.seats for s in series if s.seats > 0), default=0)
        distinct = min(top, n)
        out = [(1.0 / n, k) for k in range(distinct)]
        if n > distinct:
            out.append(((n - distinct) / n, distinct))
        return out

    def seated(self, series: MeetingSeries, pcn: int) -> bool:
        """Whether a PCN of a simulated ICS holds a seat on a body (its sure position)."""
        return seated(series, self._position(pcn))

    def book_week(self, meetings: Iterable[Meeting], at_work: Sequence[bool], measuring: bool) -> None:
        """The week's meetings in time order: forums update who gave the representatives their view;
        system meetings, once measuring, add their decisions and each PCN's credit."""
        for m in sorted(meetings, key=lambda m: m.slot):
            series = m.series
            who = set(m.who)
            if series.kind == "forum":
                self.last_forum = [i in who for i in range(self.pcns)]
            if not measuring or series.decisions <= 0:
                continue
            d = series.decisions
            carried = self.forum and any(i < self.reps and self.seated(series, i) for i in who)
            for i in range(self.pcns):
                self.decisions[i] += d
                if at_work[i]:
                    self.decisions_at_work[i] += d
                here = i in who
                carry = self.carry if carried and self.last_forum[i] else 0.0
                for k, (_, position) in enumerate(self.positions[i]):
                    c = max(1.0 if here and seated(series, position) else self.observer if here else 0.0, carry)
                    if c > 0:
                        self.credit[i][k] += d * c
                        if at_work[i]:
                            self.credit_at_work[i][k] += d * c

    def metrics(self) -> dict[str, float]:
        """The ICS's involvement metrics: the mean over its PCNs and over the CDs with a seat on a
        deciding body and those without (`cd_involved_share.seated`, `.unseated`, when there are
        both; for a single PCN, over the seat positions it might hold): what a forum changes for the
        many is the unseated CDs' involvement."""
        per = [self.pcn_metrics(i) for i in range(self.pcns)]
        out = {k: sum(p[k] for p in per) / len(per) for k in per[0]}
        groups = {"seated": [0.0, 0.0], "unseated": [0.0, 0.0]}      # weighted sum of shares, weight
        for i in range(self.pcns):
            for k, (weight, position) in enumerate(self.positions[i]):
                group = groups["seated" if self.holds_seat(position) else "unseated"]
                group[0] += weight * self.involved(i, k)
                group[1] += weight
        if all(weight > 0 for _, weight in groups.values()):
            for name, (total, weight) in groups.items():
                out[f"cd_involved_share.{name}"] = total / weight
        return out

    def holds_seat(self, position: int) -> bool:
        """Whether the CD at a seat position holds a seat on a body that decides and does not seat every CD."""
        return any(s.kind == "system" and s.decisions > 0 and s.seats > 0 and position < s.seats
                   for s in self.series)

    def involved(self, i: int, k: int) -> float:
        """The share of the decisions affecting PCN i with its view put in, its CD at seat position k
        (no decisions at all: 1, nothing was decided without it)."""
        return self.credit[i][k] / self.decisions[i] if self.decisions[i] > 0 else 1.0

    def pcn_metrics(self, i: int) -> dict[str, float]:
        """PCN i's involvement: the share of decisions affecting it with its view put in, and whether its
        CD was always involved (0 or 1; a single PCN: the chance over the seats it might hold). No
        decisions at all: 1 and 1, nothing was decided without it; decisions but none while a CD was at
        work (a vacant post all along): never always involved."""
        if self.decisions[i] <= 0:
            return {"cd_involved_share": 1.0, "cd_always_involved_share": 1.0}
        involved = always = 0.0
        at_work = self.decisions_at_work[i]
        for k, (weight, _) in enumerate(self.positions[i]):
            involved += weight * self.involved(i, k)
            always += weight * (at_work > 0 and self.credit_at_work[i][k] >= ALWAYS * at_work - 1e-9)
        return {"cd_involved_share": involved, "cd_always_involved_share": float(always)}
