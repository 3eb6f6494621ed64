"""Who else claims the CD's protected time: the system, the practices and the ARRS staff.

At the start of each protected desk session each claimant draws, from its own stream, a Poisson
number of claims over the session (rate x hours), each at a uniform time within it and with its
length. A session's claims are made in time order by one SimPy process: each, at its time,
requests the CD (`Desk.director`) at `CLAIM` priority with `preempt=True`: it takes the CD from desk work mid-task (the desk session
books the work done and queues again), waits for a meeting that holds the CD, and gives up when
the session ends. Drawn only at session starts, so the claims cost a few events a week
(docs/model.md 2.5.1).
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import simpy

from pcnsim.config import Scenario
from pcnsim.model.ledger import Measured, Week

#: Priorities on the CD (lower first): a meeting preempts a claim and a desk session; a claim preempts
#: a desk session. The desk (`desk.py`) uses them too.
MEETING, CLAIM, DESK = 0, 1, 2
#: The claimants, in the order their claims are drawn (each its own stream `claims/<claimant>`).
CLAIMANTS = ("system", "practices", "arrs")


class Contested(Protocol):
    """What a claim needs of the CD's desk: the CD (a `PreemptiveResource`) and the hours claims took
    from the session in progress."""

    director: simpy.PreemptiveResource
    claimed: float


class Claims:
    """The three claimants on the CD's protected time, drawn at each protected session's start.

    Collaborators, all read-only callables or books: the week's books (`week`: preemptions and
    hours lost by claimant, protected time displaced, the CD's hours), the practices' GP pressure
    (`gp_pressure`: last week's GP demand over GP slots) and their recall of the CD to clinic
    (`recall(practice, hours)`), and the ARRS staff in post (`arrs_wte`) and recent starters
    (`arrs_starters(weeks)`).
    """

    def __init__(self, env: simpy.Environment, s: Scenario, week: Week,
                 streams: Callable[[str], np.random.Generator], gp_pressure: Callable[[], float],
                 recall: Callable[[int, float], None], arrs_wte: Callable[[], float],
                 arrs_starters: Callable[[float], int], list_sizes: np.ndarray):
        self.env, self.s, self.week = env, s, week
        self.gp_pressure, self.recall, self.arrs_wte, self.arrs_starters = gp_pressure, recall, arrs_wte, arrs_starters
        self.rng = {c: streams(f"claims/{c}") for c in CLAIMANTS}
        others = np.asarray(list_sizes, dtype=float)[1:]
        self.others = others / others.sum() if others.size and others.sum() > 0 else None   # recalls elsewhere
        self.others_cum = np.cumsum(self.others) if self.others is not None else None
        ics, gps, arrs = s.ics, s.gps, s.arrs
        self.system_rate, self.system_hours = ics.interruptions_per_protected_hour, ics.interruption_hours
        self.recall_rate, self.recall_power = gps.cd_recall_per_session, gps.cd_recall_pressure_elasticity
        self.own_share = gps.cd_recall_own_practice_share
        self.query_wte, self.query_starter = arrs.cd_queries_per_wte_hour, arrs.cd_queries_per_starter_hour
        self.query_hours, self.induction_weeks = arrs.cd_query_hours, arrs.induction_weeks

    # ------------------------------------------------------------------ drawing
    def draw(self, desk: Contested, hours: float) -> bool:
        """A protected desk session of `hours` starts now: each claimant's claims over it, made in time order
        by one process (claims of one priority queue first come, first served, so one process in time order
        is the same contest with fewer events). Returns whether any claim was drawn."""
        env = self.env
        now = env.now
        drawn: list[tuple[float, str, float, int]] = []          # (time, claimant, hours, practice)
        if self.system_rate > 0:
            rng = self.rng["system"]
            n = rng.poisson(self.system_rate * hours)
            if n:
                at, length = rng.random(n), rng.exponential(self.system_hours, n)
                drawn += [(now + a * hours, "system", h, -1) for a, h in zip(at.tolist(), length.tolist())]
        if self.recall_rate > 0:
            rng = self.rng["practices"]
            rate = self.recall_rate * max(self.gp_pressure(), 0.0) ** self.recall_power   # per session
            n = rng.poisson(rate)
            if n:
                at = float(rng.random(n).min())      # the first recall takes the rest of the session
                u = rng.random()
                practice = 0
                if u >= self.own_share and self.others is not None:   # another practice, by list size
                    v = (u - self.own_share) / (1.0 - self.own_share)
                    practice = 1 + min(int(np.searchsorted(self.others_cum, v, side="right")), self.others.size - 1)
                drawn.append((now + at * hours, "practices", hours, practice))
        if self.query_wte > 0 or self.query_starter > 0:
            rng = self.rng["arrs"]
            starters = self.arrs_starters(self.induction_weeks) if self.query_starter > 0 else 0
            rate = self.query_wte * self.arrs_wte() + self.query_starter * starters
            n = rng.poisson(rate * hours) if rate > 0 else 0
            if n:
                at, length = rng.random(n), rng.exponential(self.query_hours, n)
                drawn += [(now + a * hours, "arrs", h, -1) for a, h in zip(at.tolist(), length.tolist())]
        if drawn:
            drawn.sort()
            env.process(self.in_turn(desk, drawn, now + hours))
        return bool(drawn)

    def in_turn(self, desk: Contested, drawn: list[tuple[float, str, float, int]], end: float):
        """A session's claims, in time order, each when it falls due (or when the one before it ends)."""
        env = self.env
        for at, who, hours, practice in drawn:
            if at > env.now:
                yield env.timeout(at - env.now)
            yield from self.hold(desk, who, end, hours, practice)

    # ------------------------------------------------------------------ a claim
    def hold(self, desk: Contested, who: str, end: float, hours: float, practice: int):
        """A claim made now: take the CD from desk work (preempting it) for `hours`, within the session ending
        at `end`; a meeting holding the CD is waited for, and past the session's end the claim lapses.
        The practices' claim recalls the CD to clinic at `practice` for the rest of the session."""
        env = self.env
        if end - env.now <= 1e-9:
            return
        req = desk.director.request(priority=CLAIM, preempt=True)
        try:
            if not req.triggered:                    # a meeting (or another claim) holds the CD: wait
                got = yield req | env.timeout(end - env.now)
                if req not in got:                   # the session ended first: the claim lapses
                    return
            else:
                yield req
            took = min(hours, end - env.now)
            if took <= 1e-9:
                return
            # booked now, as the desk session works out its slack when it ends, at `end` at the latest
            desk.claimed += took
            self.book(who, took, practice, 1)
            start = env.now
            try:
                yield env.timeout(took)
            except simpy.Interrupt:                  # a meeting took the CD from the claim (none does today)
                left = took - (env.now - start)
                desk.claimed -= left
                self.book(who, -left, -1, 0)
        finally:
            if req.triggered:
                desk.director.release(req)
            else:
                req.cancel()

    def book(self, who: str, hours: float, practice: int, preemptions: int) -> None:
        """Book a claim's hours: protected time displaced (strain), the claimant's preemptions and hours,
        and the CD's hours (a clinic at `practice` for the practices, leadership time for the system and
        ARRS staff)."""
        wk = self.week
        wk.cd_protected_displaced_hours += hours
        if who == "system":
            wk.cd_preemptions_system += preemptions
            wk.cd_claim_hours_system += hours
            wk.cd_leadership_hours += hours
        elif who == "practices":
            wk.cd_preemptions_practices += preemptions
            wk.cd_claim_hours_practices += hours
            wk.cd_clinical_hours += hours
            if practice >= 0:
                self.recall(practice, hours)
        else:
            wk.cd_preemptions_arrs += preemptions
            wk.cd_claim_hours_arrs += hours
            wk.cd_leadership_hours += hours



def claim_metrics(measured: Measured) -> dict[str, float]:
    """Preemptions and protected hours lost a week (over all measured weeks), by claimant and in total."""
    mean = measured.mean
    out: dict[str, float] = {}
    for c in CLAIMANTS:
        out[f"cd_preemptions_per_week.{c}"] = mean(f"cd_preemptions_{c}")
        out[f"cd_protected_hours_lost_per_week.{c}"] = mean(f"cd_claim_hours_{c}")
    out["cd_preemptions_per_week"] = sum(out[f"cd_preemptions_per_week.{c}"] for c in CLAIMANTS)
    out["cd_protected_hours_lost_per_week"] = sum(out[f"cd_protected_hours_lost_per_week.{c}"] for c in CLAIMANTS)
    return out
