"""The PCN's leadership work and its manager.

Operations, development and ad-hoc system requests arrive as tasks, each with an effort
and a due date, and are done earliest-due first by the clinical director or, for the
operations work handed over, by the PCN manager. Tasks long past due are dropped.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pcnsim.config import WTE_HOURS
from pcnsim.model.calendar import WEEK, leave_share

if TYPE_CHECKING:
    from pcnsim.model.pcn import Pcn

TASK_KINDS = ("operations", "development", "system")


@dataclass(order=True)
class Task:
    """A piece of leadership work: done in order of due date."""

    due: float
    seq: int
    kind: str = field(compare=False)          # operations, development, system
    effort: float = field(compare=False)      # hours still to do


class LeadershipWork:
    """The PCN's open leadership tasks (a heap by due date) and the record of tasks due."""

    def __init__(self, pcn: Pcn):
        self.pcn, self.env, self.s = pcn, pcn.env, pcn.s
        self.rng = {k: pcn.rng(f"tasks/{k}") for k in TASK_KINDS}
        self.tasks: list[Task] = []
        self.seq = 0
        self.ops_hours_arrived = 0.0
        self.due = {"count": 0, "overdue": 0}     # measured tasks due by the end: all, and finished late

    def start(self) -> None:
        for kind in TASK_KINDS:
            self.env.process(self.arrivals(kind))

    def operations_hours(self) -> float:
        """Operations work a week: a fixed part, a part per practice and a part per ARRS WTE in post."""
        l, wte = self.s.leadership, sum(self.pcn.arrs.in_post.values())
        return l.operations_hours_per_week + l.operations_hours_per_practice * self.s.pcn.practices + \
            l.operations_hours_per_arrs_wte * wte

    def arrivals(self, kind: str):
        """Leadership tasks of one kind arrive as a Poisson process with exponential efforts."""
        env, rng, s = self.env, self.rng[kind], self.s
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
            self.seq += 1
            heapq.heappush(self.tasks, Task(env.now + due, self.seq, kind, effort))
            if kind == "operations":
                self.ops_hours_arrived += effort

    def hours_due_before(self, when: float) -> float:
        """Hours of work on open tasks due before `when`."""
        return sum(t.effort for t in self.tasks if t.due < when)

    def open_hours(self) -> float:
        return sum(t.effort for t in self.tasks)

    def finish(self, task: Task, when: float) -> None:
        if self.pcn.measuring and task.due <= self.s.run.horizon_weeks * WEEK:
            self.due["count"] += 1
            self.due["overdue"] += when > task.due

    def work_on(self, hours: float, until_due: float = math.inf, queue: list[Task] | None = None,
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

    def drop_stale(self) -> None:
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


class PcnManager:
    """The PCN manager: works through the operations tasks the clinical director hands over."""

    def __init__(self, pcn: Pcn):
        self.pcn, self.s, self.work, self.week = pcn, pcn.s, pcn.work, pcn.week
        self.tasks: list[Task] = []
        self.hours_taken = 0.0                    # operations hours handed over so far
        #: the manager's hours in an average week (funded WTE less leave)
        self.hours_week = self.s.funding.manager_wte * WTE_HOURS * (1 - leave_share(self.s))

    def take(self, hours: float) -> float:
        """Take up to `hours` of operations tasks from the CD, earliest due first; return hours taken.

        The manager takes at most `manager.operations_share` of all operations work so far and
        no more than a week of their own hours.
        """
        work = self.work
        limit = min(hours, self.hours_week, self.s.manager.operations_share * work.ops_hours_arrived - self.hours_taken)
        if limit <= 0:
            return 0.0
        moved, keep = 0.0, []
        for task in sorted(work.tasks):
            if task.kind == "operations" and moved + task.effort <= limit + 1e-9:
                moved += task.effort
                self.tasks.append(task)
            else:
                keep.append(task)
        heapq.heapify(keep)
        work.tasks = keep
        self.hours_taken += moved
        return moved

    def close_week(self) -> None:
        """Saturday: the manager works through the operations tasks handed over this week."""
        available = self.hours_week
        heapq.heapify(self.tasks)
        used = self.work.work_on(available, queue=self.tasks, done_by_now=True)
        self.week.manager_hours_available += available
        self.week.manager_hours_used += used
