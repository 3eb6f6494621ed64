"""The whole scenario (`Scenario`), the story its report leads with (`ReportConfig`), and
`parameter_rows`, every parameter as a row for `pcnsim params`."""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Optional

from pydantic import BaseModel, Field, model_serializer, model_validator

from pcnsim.config.arrs import ArrsConfig
from pcnsim.config.base import SESSION_HOURS, WEEKS_PER_YEAR, WTE_HOURS, Frozen
from pcnsim.config.calibration import CalibrationConfig, check_unknowns
from pcnsim.config.leadership import ClinicalDirectorConfig, IcsConfig, LeadershipConfig, ManagerConfig
from pcnsim.config.money import DES_CD_WTE_PER_50K, CostsConfig, FundingConfig
from pcnsim.config.practices import (CalendarConfig, DemandConfig, DpcConfig, GpConfig, NurseConfig, PcnConfig,
                                     RunConfig)
from pcnsim.config.sweep import Sweep


# --------------------------------------------------------------------------- the story
def _check_metric(name: str, where: str) -> None:
    """A metric name from `pcnsim.metrics`, else an error with the closest name."""
    from pcnsim import metrics

    if metrics.lookup(name) is None:
        import difflib

        guess = difflib.get_close_matches(name, list(metrics.CATALOGUE), n=1, cutoff=0.6)
        hint = f"; did you mean '{guess[0]}'?" if guess else "; the metric names are listed in docs/report.md"
        raise ValueError(f"'{name}' in {where} is not a pcnsim metric{hint}")


class PublishedFigure(Frozen):
    """A published national figure that a national run's total of one metric is set beside
    (`pcnsim run england` prints the comparison; docs/model.md 7.1)."""

    metric: str = Field(min_length=1, description="the metric compared (a name from `pcnsim.metrics`)")
    value: float = Field(description="the published figure, in the metric's unit (a share as 0 to 1)")
    source: str = Field(min_length=1, max_length=400, description="where the figure is published")
    note: str = Field("", max_length=400, description="why the model's figure may differ from it")

    @model_validator(mode="after")
    def _known_metric(self) -> "PublishedFigure":
        _check_metric(self.metric, "published")
        return self


class ReportConfig(Frozen):
    """What the report and `pcnsim compare` lead with: the scenario's question and the metrics
    that answer it. Not a model parameter: it changes no number."""

    question: str = Field("", max_length=300, description="the question the scenario answers, in "
                          "plain words (the first line of its report and comparisons)")
    focus: tuple[str, ...] = Field((), max_length=8, description="metrics that answer the question "
                                   "(names from `pcnsim.metrics`, suffixes such as "
                                   "`cd_meeting_hours_per_week.representative` allowed)")
    published: tuple[PublishedFigure, ...] = Field((), max_length=40, description="published national "
                                                   "figures a national run's totals are set beside")
    reference: Optional[int] = Field(None, ge=0, description="the point of a `grid` or `points` sweep "
                                     "that every other point is compared with, replication by replication "
                                     "(its number, 0 the first, as in summary.csv); default: the first point")

    @model_validator(mode="after")
    def _known_metrics(self) -> "ReportConfig":
        for name in self.focus:
            _check_metric(name, "focus")
        return self


# --------------------------------------------------------------------------- the scenario
class Scenario(Frozen):
    """A whole scenario: one PCN (or an ICS of PCNs) and how to run it."""

    name: str = Field("baseline", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    run: RunConfig = RunConfig()
    ics: IcsConfig = IcsConfig()
    pcn: PcnConfig = PcnConfig()
    demand: DemandConfig = DemandConfig()
    calendar: CalendarConfig = CalendarConfig()
    gps: GpConfig = GpConfig()
    nurses: NurseConfig = NurseConfig()
    dpc: DpcConfig = DpcConfig()
    arrs: ArrsConfig = ArrsConfig()
    clinical_director: ClinicalDirectorConfig = ClinicalDirectorConfig()
    manager: ManagerConfig = ManagerConfig()
    leadership: LeadershipConfig = LeadershipConfig()
    funding: FundingConfig = FundingConfig()
    costs: CostsConfig = CostsConfig()
    sweep: Optional[Sweep] = None
    report: ReportConfig = ReportConfig()
    calibration: Optional[CalibrationConfig] = None   # for `pcnsim calibrate`; changes no number of a run

    @model_serializer(mode="wrap")
    def _without_empty_calibration(self, handler: Any) -> Any:
        """A scenario without a `calibration:` section dumps as before it existed (its scenario.yaml
        and fingerprint unchanged)."""
        data = handler(self)
        if self.calibration is None and isinstance(data, dict):
            data.pop("calibration", None)
        return data

    @model_validator(mode="after")
    def _calibration_keys(self) -> "Scenario":
        """The unknowns a `calibration:` section names are numeric parameters of this schema."""
        if self.calibration is not None:
            check_unknowns(self.calibration, type(self))
        return self

    @model_validator(mode="after")
    def _pcn_spread_alone(self) -> "Scenario":
        """PCNs of their own sizes have practices of their own number: per-practice lists do not apply."""
        if self.pcn_spread:
            per_practice = [k for k in ("list_sizes", "need_weights", "gp_wte", "nurse_wte", "dpc_wte")
                            if getattr(self.pcn, k)]
            if per_practice:
                key = "ics.pcn_list_sizes" if self.ics.pcn_list_sizes else "ics.pcn_list_size_cv"
                raise ValueError(
                    f"{key}: it gives the PCNs sizes of their own, and each PCN's practices follow its size, "
                    f"so {' and '.join('pcn.' + k for k in per_practice)} (one value per practice) cannot be "
                    f"used with it; remove one or the other")
        return self

    @model_validator(mode="after")
    def _reference_is_a_point(self) -> "Scenario":
        """`report.reference` names a point of a grid or points sweep (a design of its own has no
        natural reference: its points are samples, not options). Without a sweep it is not
        checked: each point of a sweep is validated as a scenario of its own, without one."""
        ref = self.report.reference
        if ref is None or self.sweep is None:
            return self
        if self.sweep.kind not in ("grid", "points"):
            raise ValueError("report.reference names the sweep point the others are compared with; it needs a "
                             f"`grid` or `points` sweep, not `{self.sweep.kind}`")
        if ref >= self.sweep.size():
            raise ValueError(f"report.reference = {ref}: this sweep has points 0 to {self.sweep.size() - 1}")
        return self

    # -- derived quantities the model and the docs share
    @property
    def list_size(self) -> int:
        """Registered patients of one PCN."""
        if self.pcn.list_sizes:
            return int(sum(self.pcn.list_sizes))
        return self.pcn.practices * self.pcn.list_size_per_practice

    @property
    def pcn_spread(self) -> bool:
        """Whether the PCNs of the ICS differ in size (`ics.pcn_list_sizes`, or `ics.pcn_list_size_cv` > 0)."""
        return bool(self.ics.pcn_list_sizes) or (self.ics.pcn_list_size_cv > 0 and self.ics.pcns > 1)

    def pcn_list_sizes(self) -> tuple[int, ...]:
        """Registered patients of each PCN of the ICS, PCN 0 first.

        Listed (`ics.pcn_list_sizes`), or spread around this scenario's PCN list with
        `ics.pcn_list_size_cv`: lognormal quantiles at (i + 0.5) / n, largest first, rescaled so
        that their mean is the PCN list (deterministic, like the practices' lists: no random
        numbers, so every sweep point has the same PCNs); without a spread, the PCN list each."""
        n, mean, cv = self.ics.pcns, self.list_size, self.ics.pcn_list_size_cv
        if self.ics.pcn_list_sizes:
            return tuple(self.ics.pcn_list_sizes)
        if cv <= 0 or n == 1:
            return (mean,) * n
        sigma = math.sqrt(math.log(1 + cv * cv))
        normal = NormalDist()
        x = [math.exp(sigma * normal.inv_cdf((n - i - 0.5) / n)) for i in range(n)]
        scale = mean * n / sum(x)
        return tuple(max(1, round(v * scale)) for v in x)

    def pcn_scenarios(self) -> tuple["Scenario", ...]:
        """One scenario per PCN of the ICS: this one for each, or, when the PCNs differ in size
        (`pcn_spread`), a copy whose `pcn` has that PCN's list: its practices are its list over
        `pcn.list_size_per_practice` (rounded half up, at least one), sharing it evenly. So the
        PCN's CD time, ARRS budget, GPs, nurses and leadership work follow its size."""
        if not self.pcn_spread:
            return (self,) * self.ics.pcns
        per_practice = self.pcn.list_size_per_practice
        out = []
        for size in self.pcn_list_sizes():
            practices = max(1, math.floor(size / per_practice + 0.5))
            each = max(1, round(size / practices))
            pcn = self.pcn.model_copy(update={"practices": practices, "list_size_per_practice": each,
                                              "list_size": practices * each})
            out.append(self.model_copy(update={"pcn": pcn}))
        return tuple(out)

    @property
    def ics_list_size(self) -> int:
        """Registered patients of every PCN of the ICS together."""
        if not self.pcn_spread:
            return self.list_size * self.ics.pcns
        return sum(s.list_size for s in self.pcn_scenarios())

    @property
    def cd_funded_hours(self) -> float:
        """Funded CD hours a week: WTE per 50k x list size / 50k x 37.5 h."""
        return self.funding.cd_wte_per_50k * self.list_size / 50_000 * WTE_HOURS

    @property
    def cd_contract_sessions(self) -> float:
        """The CD's own non-clinical sessions a week: what the DES rate funds at this list size, or the
        funded time if less (protected sessions beyond them replace clinics, docs/model.md 2.5)."""
        des = DES_CD_WTE_PER_50K * self.list_size / 50_000 * WTE_HOURS
        return min(des, self.cd_funded_hours) / SESSION_HOURS

    @property
    def cd_protected_sessions(self) -> float:
        """Protected sessions a week: funded time plus any extra, at most a full week."""
        return min(10.0, self.cd_funded_hours / SESSION_HOURS + self.clinical_director.extra_protected_sessions)

    @property
    def arrs_budget(self) -> float:
        """ARRS budget of one PCN, £ a year."""
        rate = (self.funding.arrs_per_patient_by_year[0] if self.funding.arrs_per_patient_by_year
                else self.funding.arrs_per_patient)
        return rate * self.list_size

    @property
    def years_measured(self) -> float:
        return (self.run.horizon_weeks - self.run.warmup_weeks) / WEEKS_PER_YEAR


def parameter_rows(model: BaseModel | type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, Any]]:
    """Every parameter as a row: dotted key, value, unit, source, description (for `pcnsim params`)."""
    instance = model if isinstance(model, BaseModel) else model()
    rows: list[dict[str, Any]] = []
    for name, field in type(instance).model_fields.items():
        if name in ("sweep", "report", "calibration"):
            continue
        value = getattr(instance, name)
        key = f"{prefix}{name}"
        extra = field.json_schema_extra or {}
        if isinstance(value, BaseModel) and name not in ("meetings",):
            doc = (type(value).__doc__ or "").strip().replace("\n", " ")
            sub = parameter_rows(value, key + ".")
            for row in sub:
                if row["source"] == "" and extra.get("source"):
                    row["source"] = extra["source"]
                    row["unit"] = row["unit"] or extra.get("unit", "")
                if row["source"] == "" and doc:
                    row["source"] = doc
            rows.extend(sub)
            continue
        if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            value = [v.model_dump(mode="json") for v in value]
        elif isinstance(value, tuple):
            value = list(value)
        rows.append({"key": key, "value": value, "unit": extra.get("unit", ""),
                     "source": extra.get("source", ""), "description": field.description or ""})
    return rows
