"""The PCN's leadership work and its manager.

Operations (running the PCN: line management, induction of new ARRS starters, rotas,
contract reporting), development (integrated neighbourhood teams: deferrable) and ad-hoc
system requests (short deadlines) arrive as tasks, each with an effort and a due date. The
PCN manager owns a share of the operations work from its arrival; the rest is the clinical
director's, done earliest-due first. Development work is done only in protected time (or by
the manager's spare hours), so it is what gets dropped when time is short. Tasks long past
due are dropped. The share of operations and development work done feeds back on the PCN's
ARRS workforce (attrition, recruitment time): `LeadershipWork.consequences`. Access work (the three
Modern General Practice Access components) earns the Capacity and Access Improvement Payment when
done by its due dates, and a new ARRS starter is fully productive once their induction is done
(docs/model.md 2.6).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import simpy

from pcnsim.config import WTE_HOURS, Scenario
from pcnsim.model.arrs import ArrsWorkforce, Starter
from pcnsim.model.calendar import DAY, WEEK, leave_share
from pcnsim.model.ledger import Measured, Week

TASK_KINDS = ("operations", "development", "system")
#: the Modern General Practice Access components, each a third of the CAIP (docs/model.md 2.6)
ACCESS_COMPONENTS = ("telephony", "online_requests", "care_navigation")


@dataclass(eq=False, slots=True)
class Task:
    """A piece of leadership work: done in order of due date (then arrival)."""

    due: float
    seq: int
    kind: str          # operations, development, system
    effort: float      # hours still to do
    component: int = -1                # an access task: its MGPA component (ACCESS_COMPONENTS), else -1
    size: float = 0.0                  # an access task: its whole effort (the CAIP counts hours)
    starter: Optional[Starter] = None  # an induction task: the new ARRS starter it inducts

    def __lt__(self, other: "Task") -> bool:   # the heaps' order, without building tuples
        return self.due < other.due or (self.due == other.due and self.seq < other.seq)


def working_days_later(t: float, days: float) -> float:
    """The time `days` working days after `t`, skipping Saturdays and Sundays."""
    left = days
    while left > 0:
        t += DAY
        if (t % WEEK) // DAY < 5:
            left -= 1
    return t


class LeadershipWork:
    """The PCN's open leadership tasks and the record of tasks due.

    `tasks` is the CD's heap of operations and system tasks (by due date), `development` the
    heap of development tasks; the manager's own operations tasks are `PcnManager.tasks`.
    Collaborators: the ARRS workforce (`arrs`: staff in post and starters make operations work, and
    the work done sets its attrition and recruitment factors). The manager and the CD hold this work;
    what it needs of them comes back through narrow callbacks the PCN connects (`connect`).
    """

    #: the manager takes a new operations task if they own less than their share (`PcnManager.claim`)
    claim: Callable[[Task], bool]
    #: the CD's desk hears of a system request: it may interrupt the task in hand (`Desk.request_arrived`)
    urgent: Callable[[Task], None]
    #: the CD's commitment now (1: the mean), which scales operations and development work
    commitment: Callable[[], float]

    def __init__(self, env: simpy.Environment, s: Scenario, arrs: ArrsWorkforce,
                 streams: Callable[[str], np.random.Generator]):
        self.env, self.s, self.arrs = env, s, arrs
        self.rng = {k: streams(f"tasks/{k}") for k in TASK_KINDS}
        self.rng_access = streams("tasks/access")
        # the CAIP: per access component, measured hours due by the end, and those done by their due date
        self.access_due = [0.0] * len(ACCESS_COMPONENTS)
        self.access_on_time = [0.0] * len(ACCESS_COMPONENTS)
        self.access_grace = s.leadership.access_grace_weeks * WEEK
        self.tasks: list[Task] = []
        self.development: list[Task] = []
        self.seq = 0
        self.measuring = False                    # after warm-up (the PCN sets it): tasks due count (`finish`)
        self.due = {"count": 0, "overdue": 0}     # measured tasks due by the end: all, and finished late
        # this week's hours by kind, arrived and done (the consequences' inputs)
        self.arrived = dict.fromkeys(TASK_KINDS, 0.0)
        self.done = dict.fromkeys(TASK_KINDS, 0.0)
        self.done_share = {"operations": 1.0, "development": 1.0}   # smoothed share of work done
        # how long after arrival development and operations tasks fall due; tasks due after the horizon never count
        self.due_after = {"development": s.leadership.development_due_weeks * WEEK,
                          "operations": s.leadership.task_due_weeks * WEEK}
        self.horizon = s.run.horizon_weeks * WEEK
        self._next_development = math.inf         # the next development task's arrival (`start`, `catch_up`)

    def connect(self, claim: Callable[[Task], bool], urgent: Callable[[Task], None],
                commitment: Callable[[], float]) -> None:
        """The callbacks to the manager and the CD, who are built after this work (they hold it)."""
        self.claim, self.urgent, self.commitment = claim, urgent, commitment

    def start(self) -> None:
        """System requests arrive in a process of their own; development tasks are added when the work is next
        looked at (`catch_up`); operations arrive in weekly batches (`operations_week`)."""
        l = self.s.leadership
        self._development_rng = self.rng["development"]
        self._development_mean, self._development_hours = l.task_hours, l.development_hours_per_week
        self._draw_development(self.env.now)
        self.env.process(self.requests())

    def _draw_development(self, at: float) -> None:
        """The time of the next development task after one at `at` (or the start): a Poisson process's next
        arrival, at the rate the CD's commitment gives then (none ever again if the rate is 0)."""
        rate = self._development_hours * self.commitment() / self._development_mean
        self._next_development = at + self._development_rng.exponential(WEEK / rate) if rate > 0 else math.inf

    def catch_up(self) -> None:
        """Add the development tasks that arrived by now, each as an arrival process would have at its
        arrival (its effort, then the next arrival's time, drawn in that order from the development stream).

        Development tasks go only to the development heap, which nothing reads or changes between two
        arrivals but what calls this first (the CD's desk and overtime, the manager, the books, the
        clinic test, `drop_stale`), so adding them when next looked at gives the same heap, the same
        numbers and the same draws as an event at each arrival, without the events. The CD's commitment
        sets the rate: the CD catches the work up before it changes (a resignation, an appointment).
        """
        now = self.env.now
        while self._next_development <= now:
            at = self._next_development
            effort = self._development_rng.exponential(self._development_mean)
            self.seq += 1
            task = Task(at + self.due_after["development"], self.seq, "development", effort, -1, effort, None)
            self.arrived["development"] += effort
            heapq.heappush(self.development, task)
            self._draw_development(at)

    def operations_week(self) -> None:
        """Monday: the week's recurrent operations work (rotas, returns, line management) arrives as a
        batch: a Poisson number of tasks (mean: the week's hours x commitment / task_hours) with
        exponential efforts, from the operations stream; then induction for new ARRS starters."""
        mean_effort = self.s.leadership.task_hours
        rng = self.rng["operations"]
        n = rng.poisson(self.operations_hours() * self.commitment() / mean_effort)
        if n:
            self.add_operations(rng.exponential(mean_effort, n).tolist())
        self.new_starters()
        self.access_week()

    def access_week(self) -> None:
        """Monday: each access component's work for the week (a third of `leadership.access_hours_per_week`):
        a Poisson number of operations tasks with exponential efforts, from the access stream; the CAIP
        is earned on it (`caip_earned_share`). The contract asks for it, so the CD's commitment does not scale it."""
        hours = self.s.leadership.access_hours_per_week / len(ACCESS_COMPONENTS)
        if hours <= 0:
            return
        mean_effort, rng = self.s.leadership.task_hours, self.rng_access
        for c in range(len(ACCESS_COMPONENTS)):
            n = rng.poisson(hours / mean_effort)
            if n:
                self.add_operations(rng.exponential(mean_effort, n).tolist(), component=c)

    def operations_hours(self) -> float:
        """Operations work a week: a fixed part, a part per practice and a part per ARRS WTE in post."""
        l, wte = self.s.leadership, sum(self.arrs.in_post.values())
        return l.operations_hours_per_week + l.operations_hours_per_practice * self.s.pcn.practices + \
            l.operations_hours_per_arrs_wte * wte

    def requests(self):
        """System requests arrive as a Poisson process with exponential efforts. Their rate is the system's,
        whatever the CD's commitment (the system asks what it asks); development tasks, whose rate the
        commitment scales, are added by `catch_up`."""
        env, rng, s = self.env, self.rng["system"], self.s
        rate, mean_effort = s.ics.requests_per_week, s.ics.request_hours
        if rate <= 0:
            return
        while True:
            yield env.timeout(rng.exponential(WEEK / rate))
            self.add("system", rng.exponential(mean_effort))

    def add(self, kind: str, effort: float, due: Optional[float] = None, component: int = -1,
            starter: Optional[Starter] = None) -> Task:
        """A new task: operations go to the manager while they own less than their share. An access task
        names its component, an induction task its starter."""
        if kind == "development":
            self.catch_up()
        self.seq += 1
        if due is None:
            if kind == "system":
                due = working_days_later(self.env.now, self.s.ics.request_deadline_days)
            else:
                due = self.env.now + self.due_after[kind]
        task = Task(due, self.seq, kind, effort, component, effort, starter)
        self.arrived[kind] += effort
        if kind == "development":
            heapq.heappush(self.development, task)
            return task
        if kind == "operations" and self.claim(task):
            return task
        heapq.heappush(self.tasks, task)
        if kind == "system":
            self.urgent(task)
        return task

    def add_operations(self, efforts: list[float], component: int = -1) -> None:
        """`add("operations", effort, component=component)` for each of `efforts` in turn (a Monday's batch)."""
        due = self.env.now + self.due_after["operations"]
        claim, tasks, arrived = self.claim, self.tasks, self.arrived
        for effort in efforts:
            self.seq += 1
            task = Task(due, self.seq, "operations", effort, component, effort, None)
            arrived["operations"] += effort
            if not claim(task):
                heapq.heappush(tasks, task)

    def new_starters(self) -> None:
        """Monday: an induction task for each person who took up an ARRS post since last Monday."""
        starters, self.arrs.starters = self.arrs.starters, 0
        inductees, self.arrs.new_starters = self.arrs.new_starters, []
        hours = self.s.leadership.induction_hours_per_starter
        for i in range(starters if hours > 0 else 0):
            self.add("operations", hours, starter=inductees[i] if i < len(inductees) else None)

    def hours_due_before(self, when: float) -> float:
        """Hours of work on the CD's open operations and system tasks due before `when`."""
        return sum(t.effort for t in self.tasks if t.due < when)

    def has_hours(self, hours: float) -> bool:
        """Whether the CD's open tasks (development included) add up to at least `hours` (stops early)."""
        self.catch_up()
        total = 0.0
        for heap in (self.tasks, self.development):
            for t in heap:
                total += t.effort
                if total >= hours:
                    return True
        return False

    def open_hours(self) -> float:
        self.catch_up()
        return sum([t.effort for t in self.tasks]) + sum([t.effort for t in self.development])

    def finish(self, task: Task, when: float) -> None:
        """A task finished at `when` (math.inf: dropped): the tasks due, the CAIP's access hours, and a
        new starter's induction done (they are productive from now: `ArrsWorkforce.inducted`)."""
        if task.starter is not None and when < math.inf:
            self.arrs.inducted(task.starter)
        if self.measuring and task.due <= self.horizon:
            self.due["count"] += 1
            self.due["overdue"] += when > task.due
            if task.component >= 0:
                self.access_due[task.component] += task.size
                if when <= task.due + self.access_grace:
                    self.access_on_time[task.component] += task.size

    def next_task(self, development: bool = True) -> Optional[Task]:
        """The CD's earliest-due open task (development too, unless `development` is False)."""
        if self._next_development <= self.env.now:
            self.catch_up()
        a = self.tasks[0] if self.tasks else None
        if development and self.development and (a is None or self.development[0].due < a.due):
            return self.development[0]
        return a

    def progress(self, task: Task, hours: float, when: float) -> None:
        """`hours` of work on `task`; finished at `when` if nothing is left."""
        task.effort -= hours
        self.done[task.kind] += hours
        if task.effort <= 1e-9:
            if task.kind == "development":
                self.catch_up()
            heap = self.development if task.kind == "development" else self.tasks
            if heap and heap[0] is task:
                heapq.heappop(heap)
            else:                                  # not at the top (a manager's queue): remove it
                heap.remove(task)
                heapq.heapify(heap)
            self.finish(task, when)

    def work_on(self, hours: float, until_due: float = math.inf, queue: list[Task] | None = None,
                done_by_now: bool = False) -> float:
        """Spend up to `hours` on the earliest-due tasks (due before `until_due`); return hours used.

        `queue` is a heap of tasks, the CD's operations and system tasks by default; a task is
        done `used` hours from now, or now with `done_by_now` (the manager's week, booked on Saturday).
        """
        queue = self.tasks if queue is None else queue
        if queue is self.development:
            self.catch_up()
        used = 0.0
        while queue and used < hours - 1e-12 and queue[0].due < until_due:
            task = queue[0]
            step = min(task.effort, hours - used)
            task.effort -= step
            self.done[task.kind] += step
            used += step
            if task.effort <= 1e-12:
                heapq.heappop(queue)
                self.finish(task, self.env.now if done_by_now else self.env.now + used)
        return used

    def drop_stale(self) -> None:
        """Tasks long past due are dropped: they count as never done (overdue)."""
        limit = self.env.now - self.s.leadership.task_abandon_weeks * WEEK
        self.catch_up()
        for heap in (self.tasks, self.development):
            while heap and heap[0].due < limit:       # the stale tasks are the earliest due: the top
                self.finish(heapq.heappop(heap), math.inf)

    def consequences(self) -> None:
        """Saturday: the smoothed share of operations and development work done this week sets the
        ARRS workforce's attrition multiplier and recruitment-time factor (docs/model.md 2.6)."""
        self.catch_up()
        l = self.s.leadership
        a = 1.0 / l.consequence_weeks
        for kind in ("operations", "development"):
            arrived = self.arrived[kind]
            if arrived > 0:
                share = min(1.0, self.done[kind] / arrived)
                self.done_share[kind] += a * (share - self.done_share[kind])
        self.arrs.attrition_multiplier = 1.0 + (l.undone_operations_attrition_multiplier - 1.0) * (
            1.0 - self.done_share["operations"])
        self.arrs.recruitment_factor = 1.0 - l.development_recruitment_speedup * self.done_share["development"]
        self.arrived = dict.fromkeys(TASK_KINDS, 0.0)
        self.done = dict.fromkeys(TASK_KINDS, 0.0)

    def metrics(self, measured: Measured, manager_tasks: list[Task]) -> dict[str, float]:
        """The leadership work's catalogue metrics: tasks late or never done, and development done.

        Tasks due by the end count: finished (late or not), or still open past their due date
        (never done), the CD's and the manager's (`manager_tasks`).
        """
        open_late = sum(1 for t in (*self.tasks, *manager_tasks) if t.due <= self.horizon)
        due, overdue = self.due["count"] + open_late, self.due["overdue"] + open_late
        return {"leadership_tasks_overdue_share": (overdue / due if due else 0.0),
                "development_hours_per_week": measured.mean("development_hours"),
                **self.caip_metrics(manager_tasks)}

    def caip_metrics(self, manager_tasks: list[Task]) -> dict[str, float]:
        """The CAIP earned: each component's third in proportion to its measured access hours done within
        `access_grace_weeks` of their due dates (tasks open at the end past that count as not done; a
        component with no work due is earned in full),
        and the income it brings (`funding.caip_per_patient` x patients; all of it with `caip_link` off)."""
        due = list(self.access_due)
        for t in (*self.tasks, *manager_tasks):
            if t.component >= 0 and t.due + self.access_grace <= self.horizon and self.measuring:   # failed
                due[t.component] += t.size
        shares = [on_time / d if d > 0 else 1.0 for on_time, d in zip(self.access_on_time, due)]
        share = sum(shares) / len(shares) if self.s.leadership.caip_link else 1.0
        return {"caip_earned_share": share,
                "leadership_income_per_year": share * self.s.funding.caip_per_patient * self.s.list_size}


class PcnManager:
    """The PCN manager: owns a share of the operations work from its arrival, takes more while the
    CD is away, and spends spare hours on development work.

    Collaborators: the leadership work (`work`: it offers new operations tasks here, `claim`) and the
    week's books (`week`).
    """

    def __init__(self, s: Scenario, week: Week, work: LeadershipWork):
        self.s, self.week, self.work = s, week, work
        self.tasks: list[Task] = []
        self.ops_hours_arrived = 0.0              # all operations hours arrived so far (`claim`)
        self.hours_taken = 0.0                    # operations hours owned or handed over so far
        #: the manager's hours in an average week (funded WTE less leave)
        self.hours_week = self.s.funding.manager_wte * WTE_HOURS * (1 - leave_share(self.s))
        self.share = self.s.manager.operations_share      # of all operations work, at most

    def claim(self, task: Task) -> bool:
        """Take a new operations task if the manager owns less than their share of all operations work
        arrived (a funded manager only); return whether they took it."""
        self.ops_hours_arrived += task.effort
        share = self.share
        if self.hours_week <= 0 or share <= 0:
            return False
        if self.hours_taken < share * self.ops_hours_arrived:
            self.hours_taken += task.effort
            heapq.heappush(self.tasks, task)
            return True
        return False

    def take(self, hours: float) -> float:
        """Take up to `hours` of the CD's operations tasks, earliest due first; return hours taken.

        The manager takes at most `manager.operations_share` of all operations work so far and
        no more than a week of their own hours.
        """
        work = self.work
        limit = min(hours, self.hours_week, self.s.manager.operations_share * self.ops_hours_arrived - self.hours_taken)
        if limit <= 0:
            return 0.0
        moved, keep = 0.0, []
        for task in sorted(work.tasks):
            if task.kind == "operations" and moved + task.effort <= limit + 1e-9:
                moved += task.effort
                heapq.heappush(self.tasks, task)
            else:
                keep.append(task)
        heapq.heapify(keep)
        work.tasks = keep
        self.hours_taken += moved
        return moved

    def close_week(self) -> None:
        """Saturday: the manager works through their operations tasks, then, with spare hours, development
        falling due within `manager.development_pickup_weeks`: the CD leads development, and the manager
        picks up what would slip, so a CD with time to spare does their own (docs/model.md 2.8)."""
        available = self.hours_week
        used = self.work.work_on(available, queue=self.tasks, done_by_now=True)
        spare = min(available - used, self.s.manager.development_share * available)
        pickup = self.work.env.now + self.s.manager.development_pickup_weeks * WEEK
        dev = self.work.work_on(spare, pickup, queue=self.work.development, done_by_now=True) if spare > 0 else 0.0
        self.week.manager_hours_available += available
        self.week.manager_hours_used += used + dev
        self.week.manager_development_hours += dev
        self.week.development_hours += dev

    def metrics(self, measured: Measured) -> dict[str, float]:
        """The manager's catalogue metric: their hours used on tasks a week."""
        return {"manager_hours_used_per_week": measured.mean("manager_hours_used")}
