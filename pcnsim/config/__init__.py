"""Typed, frozen scenario objects: every parameter of the model with its default, unit and source.

The schema here is the single place a parameter is declared. `pcnsim params` prints it,
the loader (`pcnsim.scenario`) validates YAML against it, and the model reads it. Defaults
are the England baseline PCN of docs/model.md section 7; "assumed" in a source means no public
figure was found and the user should replace it with their own.

The package is split by the model's actors; every public name is re-exported here, so
`from pcnsim.config import X` is the way to use it:

- `base`: units of time, `DEMAND_TYPES`, `ARRS_ROLES`, `P`, `Frozen`, `is_number`;
- `practices`: the run, the PCN and its practices, demand, the calendar, GPs and nurses;
- `arrs`: the ARRS roles, their mix, the workforce the budget buys;
- `leadership`: the clinical director, the PCN manager, leadership work, the ICS and its meetings;
- `money`: funding and costs;
- `calibration`: the `calibration:` section (`CalibrationConfig`) for `pcnsim calibrate`;
- `sweep`: `SWEEP_KINDS`, `MAX_SWEEP_POINTS`, `Sweep`;
- `scenario`: `ReportConfig` (and its `PublishedFigure`s), `Scenario`, `parameter_rows`.
"""
from __future__ import annotations

from pcnsim.config.arrs import ArrsConfig, ArrsMix, ArrsRole, ArrsRoles
from pcnsim.config.base import (
    ARRS_ROLES,
    DAYS_PER_WEEK,
    DEMAND_TYPES,
    SESSION_HOURS,
    SESSIONS_PER_DAY,
    WEEKS_PER_YEAR,
    WTE_HOURS,
    DemandType,
    Frozen,
    OverflowTarget,
    P,
    TimetablePolicy,
    is_number,
)
from pcnsim.config.calibration import BOOKED_BINS, DEFAULT_UNKNOWNS, CalibrationConfig
from pcnsim.config.leadership import (
    DEFAULT_ICS_NAME,
    DEFAULT_MEETINGS,
    ClinicalDirectorConfig,
    IcsConfig,
    LeadershipConfig,
    ManagerConfig,
    MeetingSeries,
)
from pcnsim.config.money import CostsConfig, FundingConfig
from pcnsim.config.practices import (
    CalendarConfig,
    DemandConfig,
    DemandMix,
    DpcConfig,
    GpConfig,
    GPAD_BINS,
    PlannedWeights,
    NurseConfig,
    PcnConfig,
    RunConfig,
    UrgentShares,
)
from pcnsim.config.scenario import PublishedFigure, ReportConfig, Scenario, parameter_rows
from pcnsim.config.sweep import MAX_SWEEP_POINTS, SWEEP_KINDS, Number, Sweep, SweepRanges

__all__ = [
    "ARRS_ROLES",
    "BOOKED_BINS",
    "DAYS_PER_WEEK",
    "DEFAULT_ICS_NAME",
    "DEFAULT_MEETINGS",
    "DEFAULT_UNKNOWNS",
    "DEMAND_TYPES",
    "MAX_SWEEP_POINTS",
    "SESSIONS_PER_DAY",
    "SESSION_HOURS",
    "SWEEP_KINDS",
    "WEEKS_PER_YEAR",
    "WTE_HOURS",
    "ArrsConfig",
    "ArrsMix",
    "ArrsRole",
    "ArrsRoles",
    "CalendarConfig",
    "CalibrationConfig",
    "ClinicalDirectorConfig",
    "CostsConfig",
    "DemandConfig",
    "DemandMix",
    "DemandType",
    "Frozen",
    "FundingConfig",
    "GpConfig",
    "IcsConfig",
    "LeadershipConfig",
    "ManagerConfig",
    "MeetingSeries",
    "NurseConfig",
    "DpcConfig",
    "GPAD_BINS",
    "PlannedWeights",
    "Number",
    "OverflowTarget",
    "P",
    "PcnConfig",
    "PublishedFigure",
    "ReportConfig",
    "RunConfig",
    "Scenario",
    "Sweep",
    "SweepRanges",
    "TimetablePolicy",
    "UrgentShares",
    "is_number",
    "parameter_rows",
]
