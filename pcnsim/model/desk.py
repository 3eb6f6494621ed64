"""The clinical director's desk: the contest for the CD's time, in SimPy.

The CD is a `simpy.PreemptiveResource` of capacity one (`Desk.director`). A desk session
(protected time, or a clinic given up to leadership) holds it at `DESK` priority and works
leadership tasks earliest due first; a system meeting takes it at `MEETING` priority and
preempts the session, which books the work done on the task in hand (the task keeps its
remaining effort) and queues again, resuming if the session has time left; an urgent system
request interrupts the task in hand (docs/model.md 2.5). The claimants on protected time (the
system, the practices, ARRS staff: `claims.Claims`, drawn at each protected session's start) take
the CD at `CLAIM` priority, between a meeting and the desk, and preempt it the same way (2.5.1).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import simpy

from pcnsim.model.ledger import Measured, Week

from pcnsim.model.claims import CLAIM, DESK, MEETING, Claims, Director, claim_metrics, first_of

if TYPE_CHECKING:
    from pcnsim.model.leadership import LeadershipWork, Task

__all__ = ["Desk", "MEETING", "CLAIM", "DESK"]      # the priorities on the CD (claims.py)


class Desk:
    """The CD's desk sessions, meetings and urgent requests: a component the `ClinicalDirector` owns.

    Collaborators: the leadership work (`work`: the tasks a session works on), the week's books
    (`week`: hours on leadership, development, slack and protected time displaced) and the claimants
    on protected time (`claims`, drawn at each protected session's start; None: no claims).
    """

    def __init__(self, env: simpy.Environment, week: Week, work: LeadershipWork, claims: Optional[Claims] = None):
        self.env, self.week, self.work, self.claims = env, week, work, claims
        self.director = Director(env)                       # the CD, contested
        self.session_proc: Optional[simpy.Process] = None   # the desk session in progress
        self.holding = False                                 # whether it holds the CD now
        self.in_hand: Optional[Task] = None                  # the task it is working on
        self.claimed = 0.0                                   # hours claims took from this session

    def attend(self, hours: float):
        """A system meeting: takes the CD (preempting a desk session) for its hours."""
        with self.director.request(priority=MEETING, preempt=True) as req:
            yield req
            yield self.env.timeout(hours)

    def start(self, hours: float, meeting_part: float, protected: bool) -> None:
        """Start a desk session of `hours` now (`session`)."""
        self.session_proc = self.env.process(self.session(hours, meeting_part, protected))

    def session(self, hours: float, meeting_part: float, protected: bool):
        """Leadership tasks, earliest due first, for the session's hours.

        The session asks for the CD (at `DESK` priority) whenever anyone else may want them in it (a
        meeting in the slot, or a claim drawn for it; otherwise holding the resource changes nothing and
        costs events, so it does not ask). Preempted by a meeting or a claim, it
        books the work done on the task in hand (which keeps its remaining effort) and queues for the CD
        again, resuming if the session has time left; interrupted by an urgent request, it turns to the
        request. Time with no task to do is slack; `meeting_part` hours of the session went to meetings
        and `claimed` hours to claims. A protected session draws its claims first (`Claims.draw`).
        """
        env, work, wk = self.env, self.work, self.week
        end = env.now + hours
        worked = 0.0
        self.claimed = 0.0
        claimed = protected and self.claims is not None and self.claims.draw(self, hours)
        contended = meeting_part > 0 or claimed       # only a meeting in this slot or a claim can want the CD too
        next_task, book = work.next_task, self.book
        while end - env.now > 1e-9:
            req = self.director.request(priority=DESK, preempt=False) if contended else None
            since, task = env.now, None
            try:
                if req is None:
                    pass                         # nobody else wants the CD this session: no request needed
                elif not req.triggered:          # a meeting or a claim holds the CD: wait, but not past the session
                    yield first_of(env, req, env.timeout(end - env.now))
                    if req.callbacks is not None:     # not processed: the session ended while they held the CD
                        break
                else:
                    yield req
                self.holding = True
                while end - (since := env.now) > 1e-9:
                    task = self.in_hand = next_task()
                    if task is None:
                        yield env.timeout(end - since)            # nothing to do: slack
                        break
                    step = min(task.effort, end - since)
                    yield env.timeout(step)
                    worked += book(task, step, protected)
                    task = None
            except simpy.Interrupt:
                # preempted by a meeting or a claim (the desk is lost: ask again) or an urgent request
                # (carry on); an interrupt that finds the session queuing (two at one instant) changes nothing
                done = env.now - since
                if self.holding and task is not None and done > 0:
                    worked += self.book(task, min(done, task.effort), protected)
            finally:
                self.holding, self.in_hand = False, None
                if req is None:
                    pass
                elif req.triggered:
                    self.director.release(req)
                else:
                    req.cancel()
        wk.cd_slack_hours += max(0.0, hours - meeting_part - worked - self.claimed)

    def metrics(self, measured: Measured) -> dict[str, float]:
        """The desk's catalogue metrics: preemptions and protected hours lost to claims, by claimant."""
        return claim_metrics(measured)

    def book(self, task: Task, hours: float, protected: bool) -> float:
        """Book `hours` of the CD's work on `task`; return them."""
        wk = self.week
        self.work.progress(task, hours, self.env.now)
        wk.cd_leadership_hours += hours
        if task.kind == "development":
            wk.development_hours += hours
        elif task.kind == "system" and protected:
            wk.cd_protected_displaced_hours += hours      # protected time taken by a system request
        return hours

    def request_arrived(self, task: Task) -> None:
        """An urgent system request: if the CD is at their desk on later-due work, it interrupts it."""
        if self.holding and self.session_proc is not None and self.session_proc.is_alive and (
                self.in_hand is None or self.in_hand.due > task.due):
            self.session_proc.interrupt("urgent request")
