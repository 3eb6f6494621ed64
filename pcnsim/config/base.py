"""The ground every parameter model stands on: units of time, the demand types and ARRS roles,
`P` (a parameter with its unit and source), `Frozen` (the base of every config object), `is_number`."""
from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SESSION_HOURS = 25.0 / 6.0  # 4 h 10 min, a GP session (BMA model salaried contract)
SESSIONS_PER_DAY = 2
DAYS_PER_WEEK = 5
WEEKS_PER_YEAR = 52
WTE_HOURS = 9 * SESSION_HOURS  # 37.5 h: nine sessions a week

DEMAND_TYPES = ("gp_complex", "nursing", "same_day", "medicines", "msk", "mental_health", "social")
ARRS_ROLES = (
    "clinical_pharmacist",
    "pharmacy_technician",
    "first_contact_physio",
    "paramedic",
    "physician_associate",
    "advanced_practitioner",
    "mental_health_practitioner",
    "social_prescribing_link_worker",
    "health_wellbeing_coach",
    "care_coordinator",
    "arrs_gp",
    "general_practice_nurse",
)
DemandType = Literal["gp_complex", "nursing", "same_day", "medicines", "msk", "mental_health", "social"]
OverflowTarget = Literal["manager", "clinical", "overtime"]
TimetablePolicy = Literal["meeting_aware", "fixed"]


def P(default: Any, unit: str, source: str, description: str = "", **constraints: Any) -> Any:
    """A parameter: its default plus the unit and public source `pcnsim params` prints."""
    return Field(default, description=description,
                 json_schema_extra={"unit": unit, "source": source}, **constraints)


class Frozen(BaseModel):
    """Base of every config object: immutable, strict types, no unknown keys, no NaN."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
