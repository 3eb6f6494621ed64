"""The SimPy model: the actors of a PCN and of its ICS, and `simulate` for one replication.

Time is in hours from Monday 00:00 of the first week of April (`calendar`). Patient demand is
aggregated per practice per working day; people are allocated per half-day session. The
model does no I/O: `simulate` returns metrics and weekly series for the layers above.

The actors, one module each, in the order a week unfolds:

- `ics.Ics`: the integrated care system, its labour supply (`labour.LabourSupply`), its PCNs and
  its system meeting calendar;
- `pcn.Pcn`: one PCN, building its actors (each handed the collaborators it uses) and closing
  the week's books;
- `practices.Practices`: requests arrive, wait by age, are served oldest first or leave unmet;
- `arrs.ArrsWorkforce`: posts the ARRS budget buys, leave, attrition and recruitment;
- `leadership.LeadershipWork` and `leadership.PcnManager`: leadership tasks, and the manager
  who takes operations work off the CD;
- `clinical_director.ClinicalDirector`: the CD's week, session by session, with overflow of
  leadership work and strain-driven resignation; its `desk.Desk` holds the contest for the CD.

`streams` spawns one random stream per stochastic process of each PCN; `simulation` runs one
replication.

The package loads nothing until one of its names is first used (PEP 562 `__getattr__`): a
run's main process with worker processes needs only the stream constants for its manifest,
and the model's modules may import compiled code (numba) that only the processes that
simulate should pay for.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pcnsim.model.arrs import ArrsWorkforce, arrs_posts
    from pcnsim.model.calendar import DAY, SLOTS, WEEK, is_open
    from pcnsim.model.clinical_director import ClinicalDirector
    from pcnsim.model.ics import Ics, Meeting, occurrences
    from pcnsim.model.leadership import LeadershipWork, PcnManager, Task
    from pcnsim.model.ledger import WEEKLY_SERIES, Week
    from pcnsim.model.pcn import Pcn
    from pcnsim.model.practices import Practices
    from pcnsim.model.simulation import Replication, simulate
    from pcnsim.model.streams import STREAM_NAME_PATTERN, STREAM_PROCESSES, STREAM_SCHEME, STREAM_SPAWN_KEY, stream

#: Where each public name lives: {name: module of the package}.
_WHERE = {
    "ArrsWorkforce": "arrs", "arrs_posts": "arrs", "DAY": "calendar", "SLOTS": "calendar", "WEEK": "calendar",
    "is_open": "calendar", "ClinicalDirector": "clinical_director", "Ics": "ics", "Meeting": "ics",
    "occurrences": "ics", "LeadershipWork": "leadership", "PcnManager": "leadership", "Task": "leadership",
    "WEEKLY_SERIES": "ledger", "Week": "ledger", "Pcn": "pcn", "Practices": "practices",
    "Replication": "simulation", "simulate": "simulation", "STREAM_NAME_PATTERN": "streams",
    "STREAM_PROCESSES": "streams", "STREAM_SCHEME": "streams", "STREAM_SPAWN_KEY": "streams",
    "stream": "streams",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept in the package)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pcnsim.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pcnsim.model.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = list(_WHERE)
