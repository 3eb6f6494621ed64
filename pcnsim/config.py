"""Typed, frozen scenario objects: every parameter of the model with its default, unit and source.

The schema here is the single place a parameter is declared. `pcnsim params` prints it,
the loader (`pcnsim.scenario`) validates YAML against it, and the model reads it. Defaults
are the England baseline PCN of MODEL.md section 7; "assumed" in a source means no public
figure was found and the user should replace it with their own.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


# --------------------------------------------------------------------------- run and structure
class RunConfig(Frozen):
    horizon_weeks: int = P(156, "weeks", "assumed", "simulated length", ge=1, le=1040)
    warmup_weeks: int = P(26, "weeks", "assumed: the v2 leadership backlog and CD strain reach their level after about half a year (docs/model.md 4.1)", "weeks discarded from outputs", ge=0)
    replications: int = P(10, "runs", "assumed", "independent runs per point", ge=1, le=100_000)
    seed: int = P(20190701, "integer", "assumed", "root seed of every random stream", ge=0)

    @model_validator(mode="after")
    def _warmup_before_horizon(self) -> "RunConfig":
        if self.warmup_weeks >= self.horizon_weeks:
            raise ValueError(
                f"warm-up ({self.warmup_weeks} weeks) must be shorter than the horizon "
                f"({self.horizon_weeks} weeks): nothing would be measured")
        return self


class PcnConfig(Frozen):
    practices: int = P(5, "practices", "6,758 practices in 1,250 PCNs = 5.4 (BJGP 2020;70:e899); "
                       "5.1 in 2023 (BMJ Open 2024)", "practices per PCN", ge=1, le=50)
    list_size_per_practice: int = P(9000, "patients", "PCN mean list 48,020 (BMA PCN stats 2020); "
                                    "58% of PCNs at 30-50k (BJGP 2020)",
                                    "registered patients per practice", ge=100, le=200_000)
    list_size_cv: float = P(0.4, "coefficient of variation", "assumed (practice lists in England range from "
                            "under 2,000 to over 40,000 patients)", "spread of practice list sizes around "
                            "the mean (deterministic lognormal quantiles; practice 0 the largest)", ge=0, le=3)
    list_sizes: tuple[int, ...] = P((), "patients", "scenario input", "list sizes one by one (one per practice; "
                                    "overrides list_size_per_practice and list_size_cv)")
    need_weights: tuple[float, ...] = P((), "multiplier", "scenario input (a Carr-Hill-like need index, "
                                        "e.g. the global sum weighted/registered list ratio)",
                                        "demand per patient by practice, relative to the PCN (rescaled so the "
                                        "list-weighted mean is 1); empty: all 1")

    @model_validator(mode="after")
    def _one_per_practice(self) -> "PcnConfig":
        for name in ("list_sizes", "need_weights"):
            v = getattr(self, name)
            if v and len(v) != self.practices:
                raise ValueError(f"pcn.{name} needs one value per practice ({self.practices}), got {len(v)}")
            if v and min(v) <= 0:
                raise ValueError(f"pcn.{name} must be positive")
        return self

    list_size: Optional[int] = P(None, "patients", "a planner's figure: the PCN's registered list (the "
                                 "Network Contract DES lists them)",
                                 "the PCN's whole registered list; when set, it is split evenly between "
                                 "the practices (list_size_per_practice = list_size / practices, "
                                 "rounded) and wins over list_size_per_practice", ge=100, le=2_000_000)

    @model_validator(mode="before")
    @classmethod
    def _split_total_list(cls, data: Any) -> Any:
        """A total list (`list_size`) sets each practice's share of it (the mean practice list;
        lists given one by one, where the schema has them, win over both)."""
        if isinstance(data, dict) and data.get("list_sizes"):
            return data
        if isinstance(data, dict) and isinstance(data.get("list_size"), int) \
                and not isinstance(data.get("list_size"), bool):
            practices = data.get("practices", 5)
            if isinstance(practices, int) and not isinstance(practices, bool) and practices >= 1:
                data = {**data, "list_size_per_practice": max(1, round(data["list_size"] / practices))}
        return data


class MeetingSeries(Frozen):
    """A recurring system meeting at a fixed weekday and session."""

    name: str = Field(min_length=1)
    kind: Literal["system", "forum"] = "system"
    every_weeks: float = Field(gt=0, le=520)
    hours: float = Field(gt=0, le=SESSION_HOURS)
    weekday: int = Field(ge=0, le=4, description="0 = Monday")
    session: Literal["am", "pm"] = "am"
    offset_weeks: int = Field(0, ge=0)


DEFAULT_MEETINGS = (
    MeetingSeries(name="ICB board", every_weeks=8, hours=3.0, weekday=2, session="am", offset_weeks=1),
    MeetingSeries(name="Place board", every_weeks=4, hours=2.0, weekday=1, session="pm", offset_weeks=2),
    MeetingSeries(name="Primary care sub-committee", every_weeks=2, hours=2.0, weekday=3, session="pm"),
    MeetingSeries(name="PCN CD forum", kind="forum", every_weeks=4, hours=2.0, weekday=0, session="pm"),
)


DEFAULT_ICS_NAME = "ICS"


class IcsConfig(Frozen):
    name: str = P(DEFAULT_ICS_NAME, "label", "-", "a label for the ICS (England's points); a name other than "
                  "'ICS' also labels its PCNs' random streams, so differently named ICSs draw "
                  "independent numbers",
                  min_length=1, max_length=100)
    pcns: int = P(1, "PCNs", "single-PCN run; an ICS holds 500k-3m people, mean 1.4m, 42 ICBs "
                  "(King's Fund, NHS England)", "PCNs simulated together in one ICS", ge=1, le=2000)
    representation: Literal["all", "forum"] = P(
        "all", "-", "the forum model discussed in the 2019 article (seed 004)",
        "'all': every CD invited to every system meeting; 'forum': elected representatives")
    forum_representatives: int = P(2, "CDs", "the forum model discussed in the 2019 article (seed 004)",
                                   "CDs elected to represent the rest, with 'forum'", ge=1)
    meeting_load: float = P(1.0, "multiplier", "scenario lever",
                            "multiplier on the frequency of every system meeting (0 removes them)",
                            ge=0, le=20)
    meetings: tuple[MeetingSeries, ...] = P(
        DEFAULT_MEETINGS, "series", "ICB boards meet about every two months (Lincolnshire ICB 2024); "
        "the rest assumed", "the system meeting calendar ('forum' kind held only with representation: forum)")
    requests_per_week: float = P(1.0, "requests", "assumed (data returns, consultations)",
                                 "ad-hoc system requests arriving per week, each a leadership task",
                                 ge=0, le=100)
    request_hours: float = P(3.0, "hours", "assumed", "mean effort of an ad-hoc system request",
                             gt=0, le=100)
    attend_if_clinical: float = P(0.5, "probability", "assumed",
                                  "chance a CD leaves an unbackfilled clinical session for a meeting",
                                  ge=0, le=1)
    request_deadline_days: float = P(2.0, "working days", "assumed (data returns and consultations "
                                     "commonly asked for within days)",
                                     "deadline of an ad-hoc system request from its arrival; one that "
                                     "protected time cannot meet takes a clinic", gt=0, le=60)
    representative_prep_hours: float = P(2.0, "hours per meeting", "assumed (reading papers, gathering "
                                         "the other CDs' views, feeding back)",
                                         "preparation and feedback work a forum representative carries "
                                         "for each system meeting attended", ge=0, le=40)
    seats_per_meeting: int = P(0, "CDs", "the 2019 article (seed 004): ten or more CDs are 'too many to sit "
                               "on the ICS board'; assumed", "PCN CD seats at each system meeting (0: "
                               "no limit); CDs take seats in PCN order", ge=0, le=2000)

    @model_validator(mode="after")
    def _reps_within_pcns(self) -> "IcsConfig":
        if self.representation == "forum" and self.forum_representatives > self.pcns:
            raise ValueError(
                f"forum_representatives ({self.forum_representatives}) cannot exceed the PCNs in "
                f"the ICS (ics.pcns = {self.pcns})")
        return self


# --------------------------------------------------------------------------- demand
class DemandMix(Frozen):
    """Share of requests by type; normalised to sum to 1 by the model."""

    gp_complex: float = Field(0.40, ge=0, le=1)
    nursing: float = Field(0.29, ge=0, le=1)
    same_day: float = Field(0.12, ge=0, le=1)
    medicines: float = Field(0.08, ge=0, le=1)
    msk: float = Field(0.04, ge=0, le=1)
    mental_health: float = Field(0.03, ge=0, le=1)
    social: float = Field(0.04, ge=0, le=1)

    @model_validator(mode="after")
    def _some_demand(self) -> "DemandMix":
        if sum(self.shares()) <= 0:
            raise ValueError("at least one demand type needs a positive share")
        return self

    def shares(self) -> tuple[float, ...]:
        return tuple(getattr(self, t) for t in DEMAND_TYPES)


class UrgentShares(Frozen):
    """Share of each type's requests that triage finds urgent (to be seen today or tomorrow); assumed."""

    gp_complex: float = Field(0.30, ge=0, le=1)
    nursing: float = Field(0.05, ge=0, le=1)
    same_day: float = Field(0.90, ge=0, le=1)
    medicines: float = Field(0.10, ge=0, le=1)
    msk: float = Field(0.10, ge=0, le=1)
    mental_health: float = Field(0.25, ge=0, le=1)
    social: float = Field(0.0, ge=0, le=1)

    def shares(self) -> tuple[float, ...]:
        return tuple(getattr(self, t) for t in DEMAND_TYPES)


class DemandConfig(Frozen):
    appointments_per_patient_year: float = P(
        6.3, "requests per patient per year",
        "assumed: GPAD's 5.9 appointments delivered a patient a year (370.1m in 12 months to Apr 2024, "
        "NHS England, / 62.4m patients) plus the requests not met; tuned so the model delivers about 5.6",
        "appointment requests per patient per year", ge=0, le=100)
    winter_uplift: float = P(0.10, "share", "assumed", "extra demand in December to February", ge=0, le=3)
    weekday_profile: tuple[float, float, float, float, float] = P(
        (1.25, 0.95, 0.95, 0.95, 0.90), "relative (Mon-Fri)", "assumed",
        "relative demand by weekday, normalised to mean 1")
    patience_days: int = P(20, "working days", "assumed: four weeks; GPAD counts appointments booked "
                           "up to and beyond 28 days ahead (NHS Digital, Appointments in General Practice)",
                           "the booking horizon: working days ahead (today = 0) a routine request can be "
                           "booked; a request no eligible diary can take within it is not booked", ge=1, le=260)
    urgent: UrgentShares = P(UrgentShares(), "share of each type", "assumed; tuned so that about 43% of appointments "
                               "are booked the same day (GPAD Nov 2023: 42.6%, DHSC written answer 15 Jan 2024)",
                               "share of each type's requests triaged urgent (today or tomorrow, else diverted)")
    on_the_day_share: float = P(0.42, "share of slots", "assumed (practices release 'book on the day' slots "
                                "each morning); tuned with `urgent` to GPAD's same-day share",
                                "share of every clinician's slots that cannot be booked ahead, released on the day",
                                ge=0, le=1)
    skill_mix_reach_days: int = P(5, "working days", "assumed",
                                  "how far ahead triage looks for a slot with a preferred role before "
                                  "offering the first free slot of any eligible role", ge=0, le=260)
    tolerance_days: float = P(30.0, "working days", "assumed; tuned towards GPAD's tail (Nov 2023: 17.3% "
                              "of appointments more than 14 days after booking)",
                              "mean of the exponential wait a routine patient accepts: an offer d working "
                              "days ahead is taken with probability exp(-d / tolerance); 0: every offer is taken",
                              ge=0, le=1000)
    return_share: float = P(0.5, "share", "assumed (GP Patient Survey 2023: 12.2% of those who could not get "
                            "an appointment went to A&E; the rest tried again, went elsewhere or did without)",
                            "share of routine patients not booked (declined or no slot) who contact again",
                            ge=0, le=1)
    return_after_days: int = P(5, "working days", "assumed", "when a returning patient contacts again",
                               ge=1, le=260)
    mix: DemandMix = P(DemandMix(), "share", "assumed; tuned so that GPs deliver about 45% of "
                       "appointments (RCGP key statistics Apr 2024: 45%; Health Foundation Dec 2023: 47%)",
                       "share of requests by type")

    @model_validator(mode="after")
    def _profile_positive(self) -> "DemandConfig":
        if any(v < 0 for v in self.weekday_profile) or sum(self.weekday_profile) <= 0:
            raise ValueError("weekday_profile needs five non-negative values with a positive sum")
        return self


class CalendarConfig(Frozen):
    leave_weeks_per_year: float = P(6.0, "weeks", "assumed", "annual leave and study leave per person",
                                    ge=0, le=26)
    bank_holidays: bool = P(True, "-", "England's 8 bank holidays (gov.uk), at fixed weeks",
                            "whether bank holidays close the practices")


# --------------------------------------------------------------------------- practice staff
class GpConfig(Frozen):
    wte_per_10k: float = P(4.5, "WTE per 10,000 patients", "27,321 fully qualified GP FTE, 2023 "
                           "(BMJ Open 2024); BMA: 4.4", "GPs per 10,000 patients", ge=0, le=50)
    sessions_per_wte: float = P(9.0, "sessions a week", "BMA model salaried GP contract",
                                "sessions of 4 h 10 min per WTE", ge=0, le=10)
    patient_facing_share: float = P(0.75, "share of sessions", "MODEL.md section 7 (assumed there); GPs "
                                    "then deliver about 49% of appointments (docs/model.md, calibration)",
                                    "share of GP session time in appointments", ge=0, le=1)
    appointment_minutes: float = P(12.0, "minutes", "83% of practices book 10-minute slots; 32% last "
                                   "over 15 min (GPonline 2022); mean f2f 9.2 min (BMJ Open 2017)",
                                   "GP appointment length", gt=0, le=240)


class NurseConfig(Frozen):
    wte_per_10k: float = P(3.0, "WTE per 10,000 patients", "assumed from NHS Digital General "
                           "Practice Workforce orders of magnitude (nurses about 2.6 FTE per 10,000 "
                           "patients plus HCAs); 3.0 (MODEL.md 2.5) in calibration",
                           "nurses and HCAs", ge=0, le=50)
    sessions_per_wte: float = P(9.0, "sessions a week", "assumed", "sessions per WTE", ge=0, le=10)
    patient_facing_share: float = P(0.85, "share of sessions", "assumed",
                                    "share of nurse time in appointments", ge=0, le=1)
    appointment_minutes: float = P(15.0, "minutes", "assumed", "nurse appointment length", gt=0, le=240)


# --------------------------------------------------------------------------- ARRS
class ArrsRole(Frozen):
    """One ARRS role: what a WTE costs, whom it serves, and the GP supervision it needs."""

    serves: DemandType = Field(json_schema_extra={"unit": "demand type", "source": "MODEL.md section 3"},
                               description="the demand type the role serves")
    annual_cost: float = Field(ge=0, le=1_000_000, description="cost of a WTE", json_schema_extra={
        "unit": "£ per WTE per year", "source": "maximum reimbursable 2024/25 for pharmacist, technician, "
        "AP (The Pharmacist, Sep 2024); the rest assumed from pay bands"})
    appointment_minutes: float = Field(gt=0, le=240, description="appointment length",
                                       json_schema_extra={"unit": "minutes", "source": "assumed"})
    supervision_hours_per_week: float = Field(
        0.5, ge=0, le=37.5, description="GP supervision a WTE needs", json_schema_extra={
            "unit": "GP hours a week per WTE", "source": "assumed: no public figure (Nuffield Trust: "
            "supervision is unfunded and uncosted)"})
    attrition_per_year: float = Field(0.15, ge=0, le=5, description="base leavers per WTE a year",
                                      json_schema_extra={"unit": "share per year",
                                                         "source": "assumed: no public ARRS turnover figure"})
    joins: Literal["", "gp", "nurse"] = Field(
        "", description="'gp' or 'nurse': the role works in the practices' GP or nurse diaries (an ARRS GP "
        "or practice nurse) instead of a PCN-wide ARRS pool", json_schema_extra={"unit": "-", "source": "-"})
    from_week: int = Field(0, ge=0, le=1040, description="week of the horizon from which the scheme "
                           "reimburses the role (the budget is spent in the mix of the roles allowed)",
                           json_schema_extra={"unit": "week", "source": "see each role"})


def _role(serves: str, cost: float, minutes: float, supervision: float = 0.5) -> ArrsRole:
    return ArrsRole(serves=serves, annual_cost=cost, appointment_minutes=minutes,
                    supervision_hours_per_week=supervision)


class ArrsRoles(Frozen):
    """Costs: maximum reimbursable 2024/25 for pharmacist, technician, AP (The Pharmacist, Sep
    2024); the rest assumed from pay bands. Minutes, supervision and attrition: assumed."""

    clinical_pharmacist: ArrsRole = _role("medicines", 65_838, 20, 1.0)
    pharmacy_technician: ArrsRole = _role("medicines", 42_437, 15)
    first_contact_physio: ArrsRole = _role("msk", 65_838, 20)
    paramedic: ArrsRole = _role("same_day", 62_000, 20, 1.5)
    physician_associate: ArrsRole = _role("same_day", 62_000, 15, 2.5)
    advanced_practitioner: ArrsRole = _role("same_day", 72_141, 15, 1.0)
    mental_health_practitioner: ArrsRole = _role("mental_health", 55_000, 30, 1.0)
    social_prescribing_link_worker: ArrsRole = _role("social", 42_437, 45)
    health_wellbeing_coach: ArrsRole = _role("social", 42_437, 45)
    care_coordinator: ArrsRole = _role("social", 35_000, 30)
    # newly qualified GPs from 1 October 2024 (week 26 of a horizon starting April 2024), reimbursed up to
    # £92,462 with on-costs (NHS England, Aug 2024; Pulse); general practice nurses from April 2025 (week 52)
    # (Network Contract DES 2025/26); the nurse cost (Band 6 with on-costs) and supervision are assumed
    arrs_gp: ArrsRole = ArrsRole(serves="gp_complex", annual_cost=92_462, appointment_minutes=12,
                                 supervision_hours_per_week=1.0, joins="gp", from_week=26)
    general_practice_nurse: ArrsRole = ArrsRole(serves="nursing", annual_cost=52_000, appointment_minutes=15,
                                                supervision_hours_per_week=0.5, joins="nurse", from_week=52)

    def items(self) -> Iterator[tuple[str, ArrsRole]]:
        return ((r, getattr(self, r)) for r in ARRS_ROLES)


class ArrsMix(Frozen):
    """Share of ARRS WTE by role; normalised to sum to 1 by the model. ARRS FTE Mar 2023:
    pharmacists 6,331, care coordinators 5,507, SPLWs 3,433 of 26,877 (Healthcare Leader)."""

    clinical_pharmacist: float = Field(0.24, ge=0, le=1)
    pharmacy_technician: float = Field(0.08, ge=0, le=1)
    first_contact_physio: float = Field(0.06, ge=0, le=1)
    paramedic: float = Field(0.06, ge=0, le=1)
    physician_associate: float = Field(0.05, ge=0, le=1)
    advanced_practitioner: float = Field(0.04, ge=0, le=1)
    mental_health_practitioner: float = Field(0.05, ge=0, le=1)
    social_prescribing_link_worker: float = Field(0.13, ge=0, le=1)
    health_wellbeing_coach: float = Field(0.05, ge=0, le=1)
    care_coordinator: float = Field(0.20, ge=0, le=1)
    # ARRS GPs: 866.6 FTE in April 2025 (NHS England ARRS claims; Nursing in Practice, Jun 2025), about
    # 2% of ARRS FTE; ARRS practice nurses: no figure yet. Both 0 by default (the baseline is 2023/24-
    # 2024/25 and a share above 0 re-plans the mix mid-run, docs/model.md 2.4): set a share to use them
    arrs_gp: float = Field(0.0, ge=0, le=1)
    general_practice_nurse: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _some_role(self) -> "ArrsMix":
        if sum(getattr(self, r) for r in ARRS_ROLES) <= 0:
            raise ValueError("at least one ARRS role needs a positive share")
        return self


class ArrsConfig(Frozen):
    mix: ArrsMix = P(ArrsMix(), "share of WTE", "ARRS FTE Mar 2023 (Healthcare Leader, May 2023); "
                     "the rest assumed", "role mix the budget buys")
    roles: ArrsRoles = P(ArrsRoles(), "per role", "see each role", "cost, minutes, supervision, attrition")
    sessions_per_wte: float = P(9.0, "sessions a week", "assumed", "sessions per ARRS WTE", ge=0, le=10)
    patient_facing_share: float = P(0.70, "share of sessions", "assumed",
                                    "share of ARRS time in appointments", ge=0, le=1)
    recruitment_weeks: float = P(12.0, "weeks", "assumed", "mean time to fill a vacant post",
                                 ge=0, le=260)
    candidates_per_10k_year: float = P(
        3.5, "candidates a year per 10,000 patients", "assumed (no published figure for the flow of "
        "candidates); tuned so that the baseline PCN spends about 92% of its ARRS budget (published: 94%, "
        "£88m underspent of £1.412bn, MODEL.md)",
        "candidates for ARRS posts arriving at the ICS (all roles; split by the role mix; 0 = unlimited)",
        ge=0, le=1000)
    unsupervised_attrition_multiplier: float = P(
        2.0, "multiplier", "assumed", "attrition multiplier at no supervision (1 at full supervision)",
        ge=1, le=20)
    supervision_protected_share: float = P(
        0.75, "share", "assumed: no public figure (Nuffield Trust: supervision is unfunded and uncosted)",
        "share of the supervision wanted that is blocked into GP diaries when a day opens, before any "
        "patient is booked; the rest is given on the day from GP slots left free after patients", ge=0, le=1)
    supervision_share: float = P(1.0, "share", "assumed: no public figure (Nuffield Trust: "
                                 "supervision is unfunded and uncosted)",
                                 "share of the supervision ARRS staff need that GPs give", ge=0, le=1)


# --------------------------------------------------------------------------- leadership
class ClinicalDirectorConfig(Frozen):
    clinical_sessions: int = P(6, "sessions a week", "GPs work 6.2 sessions a week on average "
                               "(BJGP 2024;74:e652)", "the CD's clinical sessions", ge=0, le=10)
    extra_protected_sessions: float = P(0.0, "sessions a week", "scenario lever (the Fuller stocktake "
                                        "asks for 'sufficient protected time')",
                                        "protected sessions beyond funded CD time", ge=0, le=10)
    overflow: tuple[OverflowTarget, ...] = P(("manager", "clinical", "overtime"), "order", "assumed",
                                             "where leadership work beyond protected time goes")
    max_displaced_sessions: int = P(2, "sessions a week", "assumed",
                                    "clinical sessions a CD gives up to leadership in a week",
                                    ge=0, le=10)
    max_overtime_hours: float = P(8.0, "hours a week", "assumed (two long evenings; 20 h gave a runaway "
                                  "catch-up mode no survey reports)",
                                  "unpaid hours a CD will work beyond contract in a week", ge=0, le=80)
    base_resignation_per_year: float = P(0.047, "per year", "calibrated (docs/model.md 7) so that CDs resign "
                                         "at about 12% a year at baseline: BMA CD survey 2019 (n = 213) 11% plan "
                                         "to quit within 12 months; Pulse 2024 (n = 65) 13% want to stay under a "
                                         "year", "resignation hazard with no strain",
                                         ge=0, le=1)
    strain_sensitivity: float = P(0.1, "per hour a week", "assumed (MODEL.md: hazard x exp(0.1 x "
                                  "mean overtime hours a week over the last 13 weeks))",
                                  "log-hazard increase per hour of strain", ge=0, le=5)
    strain_weeks: float = P(13.0, "weeks", "assumed", "memory of strain (exponential smoothing)",
                            ge=1, le=260)
    displaced_strain_weight: float = P(0.5, "per hour", "assumed",
                                       "weight of a displaced clinical hour in strain (an overtime hour is 1)",
                                       ge=0, le=10)
    recruitment_weeks: float = P(12.0, "weeks", "assumed", "mean time to appoint a new CD", ge=0, le=260)
    timetable: TimetablePolicy = P(
        "meeting_aware", "policy", "assumed (docs/model.md 2.5: CDs plan their diary around the standing "
        "system meetings, which are published a year ahead)",
        "'meeting_aware': protected sessions on the slots of the system meetings the CD is expected at, "
        "most frequent first, the rest in the fixed pattern; 'fixed': the set weekly pattern")
    sustainable_hours: float = P(37.5, "hours a week", "a full-time GP week of nine sessions (BMA model "
                                 "salaried contract); assumed as the threshold of strain",
                                 "hours worked in a week beyond which every hour adds to strain", ge=0, le=100)
    slack_strain_weight: float = P(0.5, "per hour", "assumed",
                                   "strain relief per hour of protected time with nothing to do (recovery)",
                                   ge=0, le=10)
    commitment_cv: float = P(0.6, "coefficient of variation", "assumed; set so that time on the role "
                             "spreads over CDs as Pulse 2024 reports (16% up to 10 h, 28% 16-20 h, 38% over 20 h)",
                             "spread over CDs of the leadership work they take on (gamma, mean 1, drawn "
                             "once per CD)", ge=0, le=3)

    @model_validator(mode="after")
    def _overflow_unique(self) -> "ClinicalDirectorConfig":
        if len(set(self.overflow)) != len(self.overflow):
            raise ValueError("overflow lists a target more than once")
        return self


class ManagerConfig(Frozen):
    operations_share: float = P(0.7, "share", "assumed",
                                "share of operations work the PCN manager owns from its arrival "
                                "(and the most they take over while the CD is away)", ge=0, le=1)
    development_share: float = P(0.2, "share of the manager's hours", "assumed",
                                 "most of the manager's week spent on development work (integrated "
                                 "neighbourhood teams) when their operations work is done", ge=0, le=1)


class LeadershipConfig(Frozen):
    operations_hours_per_week: float = P(10.0, "hours", "assumed; with the rest of leadership work, set so that "
                                         "time on the role matches Pulse 2024 (docs/model.md 7)",
                                         "PCN operations work, fixed part",
                                         ge=0, le=200)
    operations_hours_per_practice: float = P(1.0, "hours", "assumed", "operations work per practice",
                                             ge=0, le=50)
    operations_hours_per_arrs_wte: float = P(0.5, "hours", "assumed (line management, appraisal and "
                                             "supervision rotas: a CD with 28 staff to manage, Pulse 2024)",
                                             "operations work per ARRS WTE in post", ge=0, le=50)
    induction_hours_per_starter: float = P(12.0, "hours", "assumed (recruitment, induction and "
                                           "onboarding of each new ARRS starter)",
                                           "operations work on each new ARRS starter, due in their "
                                           "first two weeks", ge=0, le=200)
    development_hours_per_week: float = P(8.0, "hours", "assumed (integrated neighbourhood teams: the "
                                          "Fuller stocktake 2022)",
                                          "service development, deferrable: done in protected time only",
                                          ge=0, le=200)
    development_due_weeks: float = P(8.0, "weeks", "assumed", "time from a development task's arrival "
                                     "to its due date", gt=0, le=104)
    practice_lead_pcn_hours_per_week: float = P(
        4.0, "GP hours a week per practice", "Cogora 2019 (Pulse, Apr 2020; n = 677 GP partners): 18% spent "
        "no time on PCN work, 27% 1-2 h, 26% 10 h or more a week; practice managers about 6 h (not GP "
        "time); 4 h assumed from that spread", "GP partner time each practice gives to PCN work, out of "
        "its GP appointment time", ge=0, le=40)
    undone_operations_attrition_multiplier: float = P(
        1.5, "multiplier", "assumed (line management and induction undone: NHS Staff Survey links "
        "poor management to intention to leave)", "ARRS attrition multiplier when no operations work "
        "gets done (1 when all of it is; 1 switches the link off)", ge=1, le=10)
    development_recruitment_speedup: float = P(
        0.25, "share", "assumed (the Fuller stocktake: purposeful PCN leadership improves recruitment and "
        "retention)", "cut in ARRS recruitment time when all development work gets done (0 switches "
        "the link off)", ge=0, le=0.9)
    consequence_weeks: float = P(13.0, "weeks", "assumed", "memory of work done for the consequences "
                                 "(exponential smoothing)", ge=1, le=260)
    task_hours: float = P(4.0, "hours", "assumed (half a day's piece of work; 4 h rather than 2 h halves the "
                          "model's events)", "mean effort of an operations or development task",
                          gt=0, le=100)
    task_due_weeks: float = P(2.0, "weeks", "assumed", "time from a task's arrival to its due date",
                              gt=0, le=52)
    task_abandon_weeks: float = P(13.0, "weeks", "assumed",
                                  "weeks past due after which an undone task is dropped (never done)",
                                  gt=0, le=520)


# --------------------------------------------------------------------------- money
class FundingConfig(Frozen):
    arrs_per_patient: float = P(22.89, "£ per patient per year", "PCN ARRS cap 2024/25 (Pulse 2024); "
                                "£22.671 in 2023/24", "ARRS budget", ge=0, le=1000)
    arrs_per_patient_by_year: tuple[float, ...] = P(
        (), "£ per patient per year, by year of the horizon", "scenario input (e.g. 2023/24 £22.67, 2024/25 "
        "£22.89: Pulse 2024)", "the ARRS budget year by year from April of the first year (the last value "
        "holds after the list ends); empty: arrs_per_patient every year")
    cd_wte_per_50k: float = P(0.25, "WTE per 50,000 patients", "Network Contract DES 2019: '0.25 WTE "
                              "per 50,000' (Ockham Healthcare 2022); £0.729 a patient 2020/21-2023/24 (BMA)",
                              "funded CD time", ge=0, le=5)
    manager_wte: float = P(1.0, "WTE", "assumed; leadership and management payment £0.699 per adjusted "
                           "patient 2023/24 (NHS England)", "PCN manager time funded", ge=0, le=10)
    backfill_meetings: bool = P(False, "-", "scenario lever",
                                "whether a locum backfills a clinical session a CD leaves for a meeting")
    backfill_leadership: bool = P(False, "-", "scenario lever (added by pcnsim)",
                                  "whether a locum backfills a clinical session a CD gives up to leadership work")

    @model_validator(mode="after")
    def _by_year_non_negative(self) -> "FundingConfig":
        if any(v < 0 for v in self.arrs_per_patient_by_year):
            raise ValueError("funding.arrs_per_patient_by_year values must be >= 0")
        return self


class CostsConfig(Frozen):
    locum_session: float = P(450.0, "£ per session", "assumed", "locum backfill of a clinical session",
                             ge=0, le=100_000)
    cd_session: float = P(450.0, "£ per session", "assumed (reimbursed at the locum rate)",
                          "cost of a protected CD session", ge=0, le=100_000)
    manager_wte: float = P(45_000.0, "£ per year", "assumed", "cost of a WTE PCN manager",
                           ge=0, le=1_000_000)


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


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
