"""The day's tallies both day engines write: named fields that the list reference (`booking`) and
the compiled day (`daybook`) share, from this one definition.

They are numpy record types, so the compiled day reads them by field name and their layout is
part of its signature: numba's cache, which checks only `daybook.py`'s own timestamp, keys each
compiled kernel by its signature, so a change here compiles the day again rather than loading a
kernel built for another layout. This module imports numpy only, so reading the tallies needs no
numba.
"""
from __future__ import annotations

import numpy as np

#: What a PCN's open days add to its week (one record, `Practices.close_week` books it on Saturday):
#: supervision hours given (with those blocked ahead), hours needed, GP, nurse, DPC and ARRS appointments,
#: requests arrived, returners booked again, urgent requests diverted and routine ones gone elsewhere.
WEEK_COUNTS = np.dtype([(name, np.float64) for name in (
    "supervision", "supervision_needed", "gp", "nurse", "dpc", "arrs", "requests", "returned", "diverted", "elsewhere")],
    align=True)

#: The measured totals by demand type (one record a type, after warm-up): requests, appointments,
#: GP appointments, unmet (diverted or gone elsewhere), diverted, and returners.
BY_TYPE = np.dtype([(name, np.float64) for name in (
    "requests", "appointments", "gp", "unmet", "diverted", "returned")], align=True)

#: GPAD's lead-time bins (calendar days from booking to appointment): same day, 1 day, 2-7, 8-14, 15-21,
#: 22-28, over 28 (`pcnsim.config.GPAD_BINS`); the bin of a lead of c calendar days is `gpad_bin(c)`.
N_BINS = 7
BIN_EDGES = (0, 1, 7, 14, 21, 28)


def gpad_bin(days: int) -> int:
    """GPAD's bin of a lead of `days` calendar days (0 same day ... 6 over 28 days)."""
    return sum(1 for edge in BIN_EDGES if days > edge)
