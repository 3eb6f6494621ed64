"""Sweeps: the designs (`SWEEP_KINDS`) and the `sweep:` section of a scenario."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, model_validator

from pcnsim.config.base import Frozen


# --------------------------------------------------------------------------- sweeps
Number = float | int | bool
#: The designs a sweep can use, in the order `Sweep` checks them (one definition for every layer).
SWEEP_KINDS = ("grid", "points", "lhs", "sobol")
#: The most points a sweep may have (planning one costs about 30 KB; each is then run
#: `run.replications` times): larger sweeps are refused when the scenario is validated.
MAX_SWEEP_POINTS = 100_000


class SweepRanges(Frozen):
    n: int = Field(ge=1, le=1_000_000)
    ranges: dict[str, tuple[float, float]]


class Sweep(Frozen):
    """Exactly one design: a grid, explicit points, a Latin hypercube, or a Sobol (Saltelli) design."""

    grid: Optional[dict[str, tuple[Any, ...]]] = None
    points: Optional[tuple[dict[str, Any], ...]] = None
    lhs: Optional[SweepRanges] = None
    sobol: Optional[SweepRanges] = None

    @model_validator(mode="after")
    def _one_design(self) -> "Sweep":
        given = [k for k in SWEEP_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a sweep needs exactly one of grid, points, lhs, sobol (got {given or 'none'})")
        n = self.size()
        if n > MAX_SWEEP_POINTS:
            detail = (" x ".join(f"{len(v):,}" for v in (self.grid or {}).values()) + " = ") if self.grid else ""
            raise ValueError(f"this {self.kind} sweep has {detail}{n:,} points, more than the maximum of "
                             f"{MAX_SWEEP_POINTS:,}; sweep fewer values (or split it into several runs)")
        return self

    def size(self) -> int:
        """The number of points the sweep has (computed without planning them)."""
        if self.grid is not None:
            n = 1
            for values in self.grid.values():
                n *= len(values)
            return n
        if self.points is not None:
            return len(self.points)
        if self.lhs is not None:
            return self.lhs.n
        return self.sobol.n * (len(self.sobol.ranges) + 2)  # type: ignore[union-attr]

    @property
    def kind(self) -> str:
        return next(k for k in SWEEP_KINDS if getattr(self, k) is not None)

    def keys(self) -> tuple[str, ...]:
        """The swept dotted keys, in the order they appear."""
        if self.grid is not None:
            return tuple(self.grid)
        if self.points is not None:
            seen: dict[str, None] = {}
            for p in self.points:
                seen.update(dict.fromkeys(p))
            return tuple(seen)
        return tuple((self.lhs or self.sobol).ranges)  # type: ignore[union-attr]
