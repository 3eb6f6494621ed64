"""Numbers in plain words: counts, shares, hours, money, and estimates rounded to what their CI supports.

Labels, units and kinds of metrics come from the catalogue (`pcnsim.metrics.label`, `kind`,
`unit`, `axis_label`); this module only turns values into text.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from pcnsim.analysis import bounded_interval, finite

__all__ = ["format_number", "format_share", "format_hours", "format_money", "format_value",
           "format_estimate", "format_param", "estimate_cells", "ci_decimals", "round_to_ci", "point_text",
           "lower_first"]


def format_number(x: Any, decimals: Optional[int] = None) -> str:
    """A count with thousands separators: 251043 -> "251,043"; small values keep 2 significant
    figures (0.234 -> "0.23"); `decimals` forces a number of decimals."""
    if not finite(x):
        return "n/a"
    x = float(x)
    if decimals is None:
        a = abs(x)
        decimals = 0 if a >= 100 or a == 0 else 1 if a >= 10 else 2
    s = f"{x:,.{decimals}f}"
    return "0" if s in ("-0", "-0.0", "-0.00") else s


def format_share(x: Any, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.9451 -> "94.5%"."""
    return "n/a" if not finite(x) else f"{float(x) * 100:.{decimals}f}%"


def format_hours(x: Any) -> str:
    """Hours with one decimal: 12.345 -> "12.3"."""
    return "n/a" if not finite(x) else f"{float(x):,.1f}"


def format_money(x: Any, decimals: Optional[int] = None) -> str:
    """Pounds: 1234567.8 -> "£1,234,568"; under £100 with pence: 8.123 -> "£8.12"."""
    if not finite(x):
        return "n/a"
    x = float(x)
    if decimals is None:
        decimals = 0 if abs(x) >= 100 else 2
    sign = "-" if x < 0 else ""
    return f"{sign}£{abs(x):,.{decimals}f}"


def format_value(x: Any, kind: str, decimals: Optional[int] = None) -> str:
    """Format a value by kind (count, share, hours, days, money, wte)."""
    if kind == "share":
        return format_share(x)
    if kind in ("hours", "days", "wte"):
        return format_hours(x) if decimals is None else format_number(x, decimals)
    if kind == "money":
        return format_money(x, decimals)
    return format_number(x, decimals)


def ci_decimals(mean: float, lo: float, hi: float, kind: str) -> Optional[int]:
    """Decimals that show a count or money estimate to the precision its CI supports: two
    significant figures of the half-width, never finer than units for values of 100 or more."""
    if kind not in ("count", "money") or not all(finite(v) for v in (mean, lo, hi)):
        return None
    half = (float(hi) - float(lo)) / 2
    if abs(mean) < 100 or half <= 0:
        return None
    step = 10 ** (math.floor(math.log10(half)) - 1)
    return max(0, -int(math.floor(math.log10(max(step, 1)))))


def round_to_ci(x: float, mean: float, lo: float, hi: float, kind: str) -> float:
    """A count or money value rounded to the step `ci_decimals` shows (others unchanged)."""
    if kind not in ("count", "money") or not all(finite(v) for v in (mean, lo, hi)):
        return x
    half = (float(hi) - float(lo)) / 2
    if abs(mean) < 100 or half <= 0:
        return x
    step = max(1.0, 10 ** (math.floor(math.log10(half)) - 1))
    return round(float(x) / step) * step


def estimate_cells(mean: Any, lo: Any, hi: Any, kind: str, metric: Optional[str] = None) -> tuple[str, str]:
    """A value and its CI ("a to b", or "" without one), rounded to what the CI supports; the CI
    is cut at the metric's bounds (`pcnsim.analysis.bounded_interval`; by kind without a metric)."""
    if finite(mean) and finite(lo) and finite(hi):
        lo, hi = bounded_interval(float(mean), float(lo), float(hi), share=kind == "share", metric=metric)
    dec = ci_decimals(mean, lo, hi, kind)
    rd = lambda v: round_to_ci(v, mean, lo, hi, kind) if finite(v) else v  # noqa: E731
    value = format_value(rd(mean), kind, dec)
    if not (finite(lo) and finite(hi)):
        return value, ""
    return value, f"{format_value(rd(lo), kind, dec)} to {format_value(rd(hi), kind, dec)}"


def format_estimate(mean: Any, ci_low: Any, ci_high: Any, kind: str = "count",
                    metric: Optional[str] = None) -> str:
    """"251,000 (95% CI 249,800 to 252,300)": counts and money rounded to the precision the
    interval supports; shares as %, hours and days with one decimal. Naming the `metric` cuts
    the interval at its catalogue bounds."""
    value, ci = estimate_cells(mean, ci_low, ci_high, kind, metric)
    return f"{value} (95% CI {ci})" if ci else value


def format_param(v: Any) -> str:
    """A parameter value as people read it: true/false, 1,000, 0.25."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if finite(v):
        return f"{float(v):,.4g}"
    return str(v)


def point_text(values: dict) -> str:
    """A sweep point's swept values: "funding.cd_wte_per_50k = 0.5, ics.pcns = 12"."""
    return ", ".join(f"{k} = {format_param(v)}" for k, v in values.items())


def lower_first(label: str) -> str:
    """'Share of requests' -> 'share of requests'; 'CD unpaid overtime' stays as it is."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label
