"""One replication: build the ICS, run it over the horizon, combine its PCNs' metrics."""
from __future__ import annotations

from dataclasses import dataclass
from heapq import heappop as _heappop, heappush as _heappush
from typing import Any, Callable, Generator, Optional

import numpy as np
import simpy
from simpy.core import BoundClass, StopSimulation
from simpy.events import NORMAL, URGENT, Event, Initialize, Timeout

from pcnsim.config import Scenario
from pcnsim.metrics import CATALOGUE
from pcnsim.model.calendar import WEEK
from pcnsim.model.ics import Ics
from pcnsim.model.ledger import WEEKLY_SERIES


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (the manifest's events per replication).

    Its `run` is SimPy's `step` loop inlined, and its `timeout` SimPy's `Timeout` built in one call:
    the same events in the same order (time, priority, then the order scheduled), a few calls fewer
    an event, which adds up over millions of events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0
        # SimPy binds `process`, `event`... to the environment itself only for its own class
        # (`BoundClass.bind_early` reads type(env).__dict__, which here is this subclass's): bind them here,
        # or every `env.process(...)` goes through a descriptor that builds a new bound method
        for name, attribute in vars(simpy.Environment).items():
            if type(attribute) is BoundClass and name not in vars(CountingEnvironment):
                setattr(self, name, getattr(self, name))

    def process(self, generator: Generator[Event, Any, Any]) -> simpy.Process:
        """A process whose end, when nobody waits for it, is not an event (`Detached`): SimPy's `Process` and
        its `Initialize` event built in one call."""
        if not hasattr(generator, "throw"):
            raise ValueError(f"{generator} is not a generator.")
        proc = _new(Detached)
        proc.env, proc.callbacks, proc._generator = self, [], generator
        init = proc._target = _new(Initialize)
        init.env, init.callbacks, init._value, init._ok = self, [proc._resume], None, True
        _heappush(self._queue, (self._now, URGENT, next(self._eid), init))
        return proc

    def timeout(self, delay: float = 0, value: Any = None) -> Timeout:
        """SimPy's `Timeout(self, delay, value)`, its `__init__` and `schedule` inlined."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        event = _new(Timeout)
        event.env, event.callbacks, event._value, event._delay, event._ok = self, [], value, delay, True
        _heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))
        return event

    def step(self) -> None:
        self.events_processed += 1
        _step(self)

    def run(self, until: Optional[float] = None) -> None:
        """SimPy's `run(until)` for a time (or to the end), with `step` inlined and each event counted."""
        if until is not None:
            at = float(until)
            if at <= self._now:
                raise ValueError(f"until ({at}) must be greater than the current simulation time")
            stop = simpy.Event(self)
            stop._ok, stop._value = True, None
            self.schedule(stop, URGENT, at - self._now)
            stop.callbacks.append(StopSimulation.callback)
        queue, processed = self._queue, 0
        try:
            while queue:
                self._now, _, _, event = _heappop(queue)
                processed += 1
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)      # as SimPy: a copy, the failure its cause
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation:
            pass
        finally:
            self.events_processed += processed


class Detached(simpy.Process):
    """A SimPy process whose successful end schedules no event when nobody waits for it.

    SimPy schedules a process's end as an event, for those who `yield` the process; the model's
    processes (a desk session, a meeting, a session's claims...) are waited for by nobody, so those
    events do nothing but cost a turn of the loop each. Here the end marks the process processed at
    once (a later `yield` of it carries on at once with its value, as for any processed event); a
    process that fails still schedules its end, which stops the run as in SimPy. Otherwise SimPy's
    `Process._resume` (simpy 4.1), line for line.
    """

    def _resume(self, event: Event) -> None:
        env = self.env
        env._active_proc = self
        while True:
            try:
                if event._ok:
                    event = self._generator.send(event._value)
                else:
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = self._generator.throw(exc)
            except StopIteration as e:
                event = None  # type: ignore[assignment]
                self._ok = True
                self._value = e.args[0] if len(e.args) else None
                if self.callbacks:
                    env.schedule(self)
                else:
                    self.callbacks = None     # processed: nobody was waiting
                break
            except BaseException as e:
                event = None  # type: ignore[assignment]
                self._ok = False
                e.__traceback__ = e.__traceback__.tb_next  # type: ignore[union-attr]
                self._value = e
                env.schedule(self)
                break
            try:
                if event.callbacks is not None:
                    event.callbacks.append(self._resume)
                    break
            except AttributeError:
                if hasattr(event, "callbacks"):
                    raise
                raise RuntimeError(f"Invalid yield value {event!r}") from None
        self._target = event
        env._active_proc = None


_step = simpy.Environment.step      # called directly: `super().step()` costs a lookup an event
_new = object.__new__


@dataclass
class Replication:
    """What one replication of one scenario point produced."""

    metrics: dict[str, float]
    weekly: dict[str, np.ndarray]
    events: int
    pcns: int


def simulate(scenario: Scenario, replication: int = 0,
             observer: Optional[Callable[[Ics], None]] = None) -> Replication:
    """Simulate one replication of a scenario: every PCN of its ICS over the horizon.

    Metrics are per PCN (the mean over the ICS's PCNs; ratio metrics of the catalogue a ratio
    of those means), over the weeks after warm-up; weekly series cover every week, warm-up
    included, so that warm-up can be judged from them. `observer`, if given, is called with
    the ICS before the run starts (verification rides along this way; it must draw no numbers).
    """
    env = CountingEnvironment()
    ics = Ics(env, scenario, replication)
    if observer is not None:
        observer(ics)
    if scenario.run.warmup_weeks == 0:
        for pcn in ics.pcns:
            pcn.start_measuring()
        ics.measuring = True
    else:
        def start_ics_measuring():
            yield env.timeout(scenario.run.warmup_weeks * WEEK)
            ics.measuring = True
        env.process(start_ics_measuring())
    env.run(until=scenario.run.horizon_weeks * WEEK)

    per_pcn = [pcn.metrics() for pcn in ics.pcns]
    metrics = {k: float(np.mean([m[k] for m in per_pcn])) for k in per_pcn[0]}
    for k, entry in CATALOGUE.items():
        if entry.aggregate == "ratio" and k in metrics:
            num, den = entry.ratio
            metrics[k] = metrics[num] / metrics[den] if metrics[den] else metrics[k]
    metrics.update(ics.metrics())
    if scenario.ics.representation == "forum":     # by role: representatives and the other CDs
        k = scenario.ics.forum_representatives
        groups = {"representative": per_pcn[:k], "other": per_pcn[k:]}
        for name in ("cd_meeting_hours_per_week", "cd_strain_mean", "cd_role_hours_per_week"):
            for group, ms in groups.items():
                if ms:                                   # no '.other' when every CD represents
                    metrics[f"{name}.{group}"] = float(np.mean([m[name] for m in ms]))
    weekly = {k: np.mean([pcn.weekly[k] for pcn in ics.pcns], axis=0) for k in WEEKLY_SERIES}
    return Replication(metrics=metrics, weekly=weekly, events=env.events_processed, pcns=len(ics.pcns))
