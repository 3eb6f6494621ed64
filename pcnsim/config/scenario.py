"""The whole scenario (`Scenario`), the story its report leads with (`ReportConfig`), and
`parameter_rows`, every parameter as a row for `pcnsim params`."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field, model_validator

from pcnsim.config.arrs import ArrsConfig
from pcnsim.config.base import SESSION_HOURS, WEEKS_PER_YEAR, WTE_HOURS, Frozen
from pcnsim.config.leadership import ClinicalDirectorConfig, IcsConfig, LeadershipConfig, ManagerConfig
from pcnsim.config.money import CostsConfig, FundingConfig
from pcnsim.config.practices import CalendarConfig, DemandConfig, GpConfig, NurseConfig, PcnConfig, RunConfig
from pcnsim.config.sweep import Sweep


# --------------------------------------------------------------------------- the story
class ReportConfig(Frozen):
    """What the report and `pcnsim compare` lead with: the scenario's question and the metrics
    that answer it. Not a model parameter: it changes no number."""

    question: str = Field("", max_length=300, description="the question the scenario answers, in "
                          "plain words (the first line of its report and comparisons)")
    focus: tuple[str, ...] = Field((), max_length=8, description="metrics that answer the question "
                                   "(names from `pcnsim.metrics`, suffixes such as "
                                   "`cd_meeting_hours_per_week.representative` allowed)")

    @model_validator(mode="after")
    def _known_metrics(self) -> "ReportConfig":
        from pcnsim import metrics

        for name in self.focus:
            if metrics.lookup(name) is None:
                import difflib

                guess = difflib.get_close_matches(name, list(metrics.CATALOGUE), n=1, cutoff=0.6)
                hint = f"; did you mean '{guess[0]}'?" if guess else (
                    "; the metric names are listed in docs/report.md")
                raise ValueError(f"'{name}' in focus is not a pcnsim metric{hint}")
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
    arrs: ArrsConfig = ArrsConfig()
    clinical_director: ClinicalDirectorConfig = ClinicalDirectorConfig()
    manager: ManagerConfig = ManagerConfig()
    leadership: LeadershipConfig = LeadershipConfig()
    funding: FundingConfig = FundingConfig()
    costs: CostsConfig = CostsConfig()
    sweep: Optional[Sweep] = None
    report: ReportConfig = ReportConfig()

    # -- derived quantities the model and the docs share
    @property
    def list_size(self) -> int:
        """Registered patients of one PCN."""
        if self.pcn.list_sizes:
            return int(sum(self.pcn.list_sizes))
        return self.pcn.practices * self.pcn.list_size_per_practice

    @property
    def cd_funded_hours(self) -> float:
        """Funded CD hours a week: WTE per 50k x list size / 50k x 37.5 h."""
        return self.funding.cd_wte_per_50k * self.list_size / 50_000 * WTE_HOURS

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
        if name in ("sweep", "report"):
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
