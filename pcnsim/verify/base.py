"""What a verification check is: expected against got, within a tolerance."""
from __future__ import annotations

import math
from dataclasses import dataclass


from pcnsim.config import DAYS_PER_WEEK, WEEKS_PER_YEAR


WORKING_DAYS_PER_YEAR = WEEKS_PER_YEAR * DAYS_PER_WEEK   # 260, the model's demand divisor
OBSERVE_AT = 21.0                                        # hours after midnight: after the day's service
CI_LEVEL = 0.99                                          # two-sided level of the statistical checks

CI_LEVEL = 0.99                                          # two-sided level of the statistical checks


@dataclass(frozen=True)
class Check:
    """One verification check.

    `relation` says how `got` is compared: "==" passes when |got - expected| <= tolerance,
    "<=" when got <= expected + tolerance, ">=" when got >= expected - tolerance.
    """

    name: str
    expected: float
    got: float
    tolerance: float
    passed: bool
    note: str
    relation: str = "=="
    seconds: float = 0.0


def _check(name: str, expected: float, got: float, tolerance: float, note: str, relation: str = "==") -> Check:
    expected, got, tolerance = float(expected), float(got), float(tolerance)
    if not (math.isfinite(got) and math.isfinite(expected)):
        passed = False
    elif relation == "==":
        passed = abs(got - expected) <= tolerance
    elif relation == "<=":
        passed = got <= expected + tolerance
    elif relation == ">=":
        passed = got >= expected - tolerance
    else:
        raise ValueError(f"unknown relation {relation!r}")
    return Check(name, expected, got, tolerance, passed, note, relation)


