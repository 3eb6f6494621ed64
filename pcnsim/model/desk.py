"""The clinical director's desk: the contest for the CD's time, in SimPy.

The CD is a `simpy.PreemptiveResource` of capacity one (`Desk.director`). A desk session
(protected time, or a clinic given up to leadership) holds it at `DESK` priority and works
leadership tasks earliest due first; a system meeting takes it at `MEETING` priority and
preempts the session, which books the work done on the task in hand (the task keeps its
remaining effort) and queues again, resuming if the session has time left; an urgent system
request interrupts the task in hand (docs/model.md 2.5).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import simpy

from pcnsim.model.ledger import Week

if TYPE_CHECKING:
    from pcnsim.model.leadership import LeadershipWork, Task

MEETING, DESK = 0, 1          # priorities on the CD: a meeting preempts a desk session


class Desk:
    """The CD's desk sessions, meetings and urgent requests: a component the `ClinicalDirector` owns.

    Collaborators: the leadership work (`work`: the tasks a session works on) and the week's books
    (`week`: hours on leadership, development, slack and protected time displaced).
    """

    def __init__(self, env: simpy.Environment, week: Week, work: LeadershipWork):
        self.env, self.week, self.work = env, week, work
        self.director = simpy.PreemptiveResource(env, capacity=1)   # the CD, contested
        self.session_proc: Optional[simpy.Process] = None   # the desk session in progress
        self.holding = False                                 # whether it holds the CD now
        self.in_hand: Optional[Task] = None                  # the task it is working on

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

        Preempted by a meeting, the session books the work done on the task in hand (which keeps
        its remaining effort) and queues for the CD again; interrupted by an urgent request, it
        turns to the request. Time with no task to do is slack; `meeting_part` hours of the
        session went to meetings.
        """
        env, work, wk = self.env, self.work, self.week
        end = env.now + hours
        worked = 0.0
        contended = meeting_part > 0             # only a meeting in this slot can want the CD too
        while end - env.now > 1e-9:
            req = self.director.request(priority=DESK, preempt=False) if contended else None
            if req is None:
                pass                             # nobody else wants the CD this session: no request needed
            elif not req.triggered:              # a meeting holds the CD: wait, but not past the session
                got = yield req | env.timeout(end - env.now)
                if req not in got:               # the session ended while the meeting held the CD
                    req.cancel()
                    break
            else:
                yield req
            self.holding = True
            since = env.now
            try:
                while end - env.now > 1e-9:
                    since = env.now
                    task = self.in_hand = work.next_task()
                    if task is None:
                        yield env.timeout(end - env.now)          # nothing to do: slack
                        break
                    step = min(task.effort, end - env.now)
                    yield env.timeout(step)
                    worked += self.book(task, step, protected)
            except simpy.Interrupt:
                # preempted by a meeting (the desk is lost: ask again) or an urgent request (carry on)
                task, done = self.in_hand, env.now - since
                if task is not None and done > 0:
                    worked += self.book(task, min(done, task.effort), protected)
            finally:
                self.holding, self.in_hand = False, None
                if req is not None:
                    self.director.release(req)
        wk.cd_slack_hours += max(0.0, hours - meeting_part - worked)

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
