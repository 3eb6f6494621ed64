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

from bisect import bisect_right
from heapq import heappush
from operator import attrgetter
from typing import Any, Callable, Protocol

import numpy as np
import simpy
from simpy.events import NORMAL, PENDING, Event
from simpy.resources.resource import Preempted, PriorityRequest, Release

from pcnsim.config import Scenario
from pcnsim.model.ledger import Measured, Week

#: Priorities on the CD (lower first): a meeting preempts a claim and a desk session; a claim preempts
#: a desk session. The desk (`desk.py`) uses them too.
MEETING, CLAIM, DESK = 0, 1, 2
#: The claimants, in the order their claims are drawn (each its own stream `claims/<claimant>`).
CLAIMANTS = ("system", "practices", "arrs")

_new = object.__new__
_key = attrgetter("key")


class Director(simpy.PreemptiveResource):
    """The CD as SimPy's `PreemptiveResource` of capacity one, its requests and releases built in one call each.

    The same events as SimPy's, made, triggered and scheduled in the same order (a request granted at once
    succeeds as it is made; one that preempts the holder interrupts them first; a release succeeds at once
    and, when processed, grants the first request queued): SimPy's general code (a sorted queue re-sorted
    with a lambda, a loop over queues of one, a search for the lowest-priority user) is most of what the
    contest for the CD costs, and a capacity of one needs none of it.
    """

    def __init__(self, env: simpy.Environment):
        super().__init__(env, capacity=1)

    def request(self, priority: int = 0, preempt: bool = True) -> PriorityRequest:
        """SimPy's `PriorityRequest(self, priority, preempt)`."""
        env = self._env
        req = _new(PriorityRequest)
        req.env, req.callbacks = env, []
        req.priority, req.preempt = priority, preempt
        req.time = now = env._now
        req.key = (priority, now, not preempt)
        req.resource, req.proc = self, env._active_proc
        queue = self.put_queue
        list.append(queue, req)
        if len(queue) > 1:
            list.sort(queue, key=_key)
        req.callbacks.append(self._trigger_get)
        self._trigger_put(None)
        return req

    def release(self, request: PriorityRequest) -> Release:
        """SimPy's `Release(self, request)`: it succeeds at once (the get queue is always empty)."""
        env = self._env
        rel = _new(Release)
        rel.env, rel.callbacks, rel.request = env, [], request
        rel.resource, rel.proc = self, env._active_proc
        rel.callbacks.append(self._trigger_put)
        try:
            self.users.remove(request)
        except ValueError:
            pass
        rel._ok, rel._value = True, None
        heappush(env._queue, (env._now, NORMAL, next(env._eid), rel))
        return rel

    def _trigger_put(self, get_event: Any) -> None:
        """SimPy's `_trigger_put` of a `PreemptiveResource` of capacity one: the first request queued preempts
        the user if it may and ranks before them, and is granted if the CD is free."""
        queue = self.put_queue
        if not queue:
            return
        event, users = queue[0], self.users
        if users and event.preempt:
            user = users[0]
            if user.key > event.key:
                users.remove(user)
                user.proc.interrupt(Preempted(by=event.proc, usage_since=user.usage_since, resource=self))
        if not users:
            users.append(event)
            env = self._env
            event.usage_since = env._now
            event._ok, event._value = True, None
            heappush(env._queue, (env._now, NORMAL, next(env._eid), event))
            queue.pop(0)

    def _trigger_get(self, put_event: Any) -> None:
        """Nothing to do: releases succeed as they are made, so no get request ever waits."""


class FirstOf(Event):
    """SimPy's `a | b` for two events not yet processed, in one object: triggered (and scheduled) when the
    first of them is processed, as SimPy's `Condition` is. What `a in (yield a | b)` tells, whether `a` was
    processed by then, is `a.callbacks is None` when the waiting process resumes."""

    def __init__(self, env: simpy.Environment, a: Event, b: Event):
        self.env, self.callbacks = env, []
        a.callbacks.append(self._check)
        b.callbacks.append(self._check)

    def _check(self, event: Event) -> None:
        if self._value is PENDING:
            self._ok, self._value = True, None
            env = self.env
            heappush(env._queue, (env._now, NORMAL, next(env._eid), self))


def first_of(env: simpy.Environment, a: Event, b: Event) -> FirstOf:
    """An event triggered when the first of `a` and `b` (neither processed yet) is processed (`FirstOf`)."""
    return FirstOf(env, a, b)


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
        self._rng_system, self._rng_practices, self._rng_arrs = (self.rng[c] for c in CLAIMANTS)
        others = np.asarray(list_sizes, dtype=float)[1:]
        self.others = others / others.sum() if others.size and others.sum() > 0 else None   # recalls elsewhere
        self.others_cum = np.cumsum(self.others) if self.others is not None else None
        # the same numbers as a list, searched with `bisect_right` (numpy's searchsorted, side "right")
        self._others_cum = self.others_cum.tolist() if self.others is not None else []
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
            rng = self._rng_system
            n = rng.poisson(self.system_rate * hours)
            if n:
                at, length = rng.random(n).tolist(), rng.exponential(self.system_hours, n).tolist()
                drawn += [(now + a * hours, "system", h, -1) for a, h in zip(at, length)]
        if self.recall_rate > 0:
            rng = self._rng_practices
            rate = self.recall_rate * max(self.gp_pressure(), 0.0) ** self.recall_power   # per session
            n = rng.poisson(rate)
            if n:
                at = min(rng.random(n).tolist())     # the first recall takes the rest of the session
                u = rng.random()
                practice = 0
                if u >= self.own_share and self.others is not None:   # another practice, by list size
                    v = (u - self.own_share) / (1.0 - self.own_share)
                    practice = 1 + min(bisect_right(self._others_cum, v), self.others.size - 1)
                drawn.append((now + at * hours, "practices", hours, practice))
        if self.query_wte > 0 or self.query_starter > 0:
            rng = self._rng_arrs
            starters = self.arrs_starters(self.induction_weeks) if self.query_starter > 0 else 0
            rate = self.query_wte * self.arrs_wte() + self.query_starter * starters
            n = rng.poisson(rate * hours) if rate > 0 else 0
            if n:
                at, length = rng.random(n).tolist(), rng.exponential(self.query_hours, n).tolist()
                drawn += [(now + a * hours, "arrs", h, -1) for a, h in zip(at, length)]
        if drawn:
            if len(drawn) > 1:
                drawn.sort()
            env.process(self.in_turn(desk, drawn, now + hours))
            return True
        return False

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
                yield first_of(env, req, env.timeout(end - env.now))
                if req.callbacks is not None:        # not processed: the session ended first, the claim lapses
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
