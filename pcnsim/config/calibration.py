"""The `calibration:` section of a scenario: published figures a PCN delivered (the targets), how
far the model may honestly sit from them (the discrepancy), and the parameters the data cannot
give (the unknowns), for `pcnsim calibrate`. It changes no number of a run: `pcnsim run` carries
it into scenario.yaml and the manifest and otherwise ignores it."""
from __future__ import annotations

import typing
from typing import Any, Optional

from pydantic import BaseModel, Field, model_validator

from pcnsim.config.base import Frozen

#: The defaults of `pcnsim calibrate` (here, so that its --help loads no experiment code): 5 waves
#: x 30 points x 3 replications of two-year runs (one year of warm-up), the emulators screening
#: 4096 candidates before each later wave, then the 5 least implausible points 10 times each: 500
#: runs of the PCN, about 55 s of CPU for three practices (a PCN-year is about 0.05 s).
DEFAULT_WAVES = 5
DEFAULT_POINTS = 30
DEFAULT_REPLICATIONS = 3
DEFAULT_CONFIRM = 10
DEFAULT_HORIZON_WEEKS = 104
DEFAULT_WARMUP_WEEKS = 52
#: GPAD's seven bins of time between booking and appointment, as `booked_share.<bin>` names them.
BOOKED_BINS = ("same_day", "1_day", "2_7_days", "8_14_days", "15_21_days", "22_28_days", "over_28_days")
#: The unknowns fitted when the section names none: dotted key -> (low, high). Keys this model's
#: schema lacks (delivery v3 adds `demand.planned_share` and `demand.dna_scale`) are skipped
#: with a note, so the defaults work before and after it.
DEFAULT_UNKNOWNS: dict[str, tuple[float, float]] = {
    "demand.appointments_per_patient_year": (3.0, 10.0),
    "demand.planned_share": (0.0, 0.4),
    "demand.tolerance_days": (5.0, 80.0),
    "demand.dna_scale": (0.3, 3.0),
    # a practice's own policy, which no file gives, and what sets its same-day share first of all
    "demand.on_the_day_share": (0.15, 0.75),
}
#: Default discrepancy (model discrepancy and observation error together, one standard deviation)
#: of a count target, relative to the target: 3% (GPAD's monthly counts move by a few per cent
#: with data-quality revisions and unmapped appointments; the model is one PCN's average year).
DEFAULT_COUNT_DISCREPANCY = 0.03
#: Default discrepancy of a share target, absolute (share points as a fraction): 1.5 points.
DEFAULT_SHARE_DISCREPANCY = 0.015


def is_share_target(name: str) -> bool:
    """Whether a target is a share (its discrepancy absolute) rather than a count (relative)."""
    from pcnsim import metrics

    if name.startswith("booked_share."):
        return True
    return metrics.kind(name) == "share"


def default_discrepancy(name: str) -> float:
    """The documented default discrepancy of a target (`DEFAULT_SHARE_DISCREPANCY` or `..._COUNT_...`)."""
    return DEFAULT_SHARE_DISCREPANCY if is_share_target(name) else DEFAULT_COUNT_DISCREPANCY


def _check_target_name(name: str) -> None:
    from pcnsim import metrics

    if name.startswith("booked_share."):
        bin_ = name.split(".", 1)[1]
        if bin_ not in BOOKED_BINS:
            raise ValueError(f"the targets name '{name}', not a booking-lead bin; the bins are "
                             + ", ".join(f"booked_share.{b}" for b in BOOKED_BINS))
        return
    if metrics.lookup(name) is None:
        import difflib

        guess = difflib.get_close_matches(name, [*metrics.CATALOGUE, *(f"booked_share.{b}" for b in BOOKED_BINS)],
                                          n=1, cutoff=0.6)
        hint = f"; did you mean '{guess[0]}'?" if guess else "; `pcnsim metrics` lists the metric names"
        raise ValueError(f"the targets name '{name}', not a pcnsim metric{hint}")


class CalibrationConfig(Frozen):
    """What `pcnsim calibrate` fits the scenario to: targets (a catalogue metric per PCN, in the
    model's units -> the published value), their discrepancy, and the unknowns with their ranges."""

    source: str = Field("", max_length=400, description="where the targets come from (publication and months)")
    period: str = Field("", max_length=100, description="the months the targets come from (free text)")
    practices: tuple[str, ...] = Field((), max_length=200, description="practice codes the targets were "
                                       "read for (informative)")
    targets: dict[str, float] = Field(min_length=1, max_length=40, description="metric name -> published "
                                      "value, per PCN in the model's units (a share as 0 to 1)")
    discrepancy: dict[str, float] = Field(default_factory=dict, description="metric name -> one standard "
                                          "deviation of model discrepancy and observation error together: "
                                          "relative to the target for counts, absolute for shares; default "
                                          "3% of a count, 1.5 points of a share")
    unknowns: Optional[dict[str, tuple[float, float]]] = Field(
        None, max_length=12, description="dotted scenario key -> [low, high], the parameters fitted "
        "(default `DEFAULT_UNKNOWNS`, those of them the schema has)")

    @model_validator(mode="after")
    def _check(self) -> "CalibrationConfig":
        for name, value in self.targets.items():
            _check_target_name(name)
            if value < 0:
                raise ValueError(f"the targets give '{name}' = {value}: a target is a count or a share, "
                                 "never negative")
            if is_share_target(name) and value > 1:
                raise ValueError(f"the targets give '{name}' = {value}: a share is written as a fraction "
                                 "from 0 to 1 (0.44 for 44%)")
        for name, sd in self.discrepancy.items():
            if name not in self.targets:
                raise ValueError(f"the discrepancy names '{name}', not one of the targets "
                                 f"({', '.join(self.targets)}); a discrepancy belongs to a target")
            if not sd > 0:
                raise ValueError(f"the discrepancy of '{name}' is {sd}: expected a standard deviation "
                                 "above 0 (relative for a count, absolute for a share)")
        for key, (low, high) in (self.unknowns or {}).items():
            if not low < high:
                raise ValueError(f"the unknowns give '{key}' the range [{low}, {high}]: expected [low, high] "
                                 "with low < high")
        return self

    def sd(self, name: str, target: Optional[float] = None) -> float:
        """A target's discrepancy as one standard deviation in the metric's own unit."""
        value = self.targets[name] if target is None else target
        given = self.discrepancy.get(name, default_discrepancy(name))
        return given if is_share_target(name) else given * abs(value)


def numeric_key_problem(schema: type[BaseModel], key: str) -> Optional[str]:
    """Why a dotted key is not one numeric parameter of the schema (None if it is one)."""
    model: Any = schema
    parts = key.split(".")
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            where = ".".join(parts[:i]) or "the scenario"
            return f"'{key}' is not a scenario key ({where} has no '{part}')"
        ann = fields[part].annotation
        if i < len(parts) - 1:
            model = _model_of(ann)
            if model is None:
                return f"'{key}' is not a scenario key ('{'.'.join(parts[:i + 1])}' is one parameter)"
    if ann not in (int, float):
        return f"'{key}' is not a numeric parameter (a range needs a number)"
    if key.split(".")[0] in ("run", "sweep", "report", "calibration", "name", "description"):
        return f"'{key}' is not a model parameter that a calibration may fit"
    return None


def _model_of(ann: Any) -> Optional[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in typing.get_args(ann):   # Optional[Section]
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def check_unknowns(section: CalibrationConfig, schema: type[BaseModel]) -> None:
    """Every unknown the section names is one numeric parameter of the schema (a `ValueError` otherwise)."""
    for key in section.unknowns or {}:
        problem = numeric_key_problem(schema, key)
        if problem:
            raise ValueError(f"calibration.unknowns: {problem}")


def resolve_unknowns(section: CalibrationConfig, schema: type[BaseModel]
                     ) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """The unknowns to fit, and notes on defaults skipped because this schema lacks them.

    The section's own unknowns are used as given (`check_unknowns` has checked them); without
    them, `DEFAULT_UNKNOWNS` that name a numeric parameter of the schema."""
    if section.unknowns is not None:
        return dict(section.unknowns), []
    out: dict[str, tuple[float, float]] = {}
    notes = []
    for key, bounds in DEFAULT_UNKNOWNS.items():
        problem = numeric_key_problem(schema, key)
        if problem:
            notes.append(f"default unknown {key} skipped: {problem} in this version of pcnsim")
        else:
            out[key] = bounds
    return out, notes

