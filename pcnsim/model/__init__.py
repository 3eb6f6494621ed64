"""The SimPy model: the actors of a PCN and of its ICS, and `simulate` for one replication.

Time is in hours from Monday 00:00 of the first week of April (`calendar`). Patient demand is
aggregated per practice per working day; people are allocated per half-day session. The
model does no I/O: `simulate` returns metrics and weekly series for the layers above.

The actors, one module each, in the order a week unfolds:

- `ics.Ics`: the integrated care system, its PCNs and its system meeting calendar;
- `pcn.Pcn`: one PCN, bringing its actors together and closing the week's books;
- `practices.Practices`: requests arrive, wait by age, are served oldest first or leave unmet;
- `arrs.ArrsWorkforce`: posts the ARRS budget buys, leave, attrition and recruitment;
- `leadership.LeadershipWork` and `leadership.PcnManager`: leadership tasks, and the manager
  who takes operations work off the CD;
- `clinical_director.ClinicalDirector`: the CD's week, session by session, with overflow of
  leadership work and strain-driven resignation.

`streams` spawns one random stream per stochastic process of each PCN; `simulation` runs one
replication.
"""
from __future__ import annotations

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

__all__ = ["simulate", "Replication", "WEEKLY_SERIES", "Week", "arrs_posts", "stream", "STREAM_PROCESSES",
           "STREAM_NAME_PATTERN", "STREAM_SCHEME", "STREAM_SPAWN_KEY", "WEEK", "DAY", "SLOTS", "is_open", "Ics", "Pcn", "Practices", "ArrsWorkforce",
           "LeadershipWork", "PcnManager", "ClinicalDirector", "Meeting", "Task", "occurrences"]
