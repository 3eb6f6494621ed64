"""The Additional Roles Reimbursement Scheme: each role, the role mix, the workforce the budget buys."""
from __future__ import annotations

from typing import Iterator, Literal

from pydantic import Field, model_validator

from pcnsim.config.base import ARRS_ROLES, DemandType, Frozen, P


# --------------------------------------------------------------------------- ARRS
class ArrsRole(Frozen):
    """One ARRS role: what a WTE costs, whom it serves, and the GP supervision it needs."""

    serves: DemandType = Field(json_schema_extra={"unit": "demand type", "source": "docs/model.md 2.3 (who may serve a type)"},
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
        "£88m underspent of £1.412bn, NHS England 2023/24)",
        "candidates for ARRS posts arriving at the ICS (all roles; split by the role mix; 0 = unlimited)",
        ge=0, le=1000)
    unsupervised_attrition_multiplier: float = P(
        2.0, "multiplier", "assumed", "attrition multiplier at no supervision (1 at full supervision)",
        ge=1, le=20)
    supervision_preblocked_share: float = P(
        0.75, "share", "assumed: no public figure (Nuffield Trust: supervision is unfunded and uncosted)",
        "share of the supervision wanted that is blocked into GP diaries when a day opens, before any "
        "patient is booked (a supervision rota), unless released under GP pressure "
        "(`supervision_release_per_pressure`); the rest is given on the day from GP slots left free after "
        "patients. Renamed from `supervision_protected_share` (delivery v3)", ge=0, le=1)
    supervision_release_pressure: float = P(
        1.0, "GP demand / GP slots", "assumed: the point at which last week's GP demand (GP appointments and "
        "requests unmet) fills every GP slot",
        "GP pressure (`Practices.gp_pressure`: last week's GP demand over GP slots offered) above which "
        "practices release pre-blocked supervision to patients", ge=0, le=10)
    supervision_release_per_pressure: float = P(
        1.0, "share of the pre-blocked supervision per unit of GP pressure", "assumed (range 0-2; 0 = blocks "
        "never released): no public figure; Nuffield Trust (2024): with supervisor time unfunded, supervision "
        "'may not be provided adequately, or at all' where GP capacity is short",
        "share of the pre-blocked supervision released to patients for each unit of GP pressure above "
        "`supervision_release_pressure` (all of it at most): at pressure 1.3, 30% with the default",
        ge=0, le=20)
    new_starter_productivity: float = P(
        0.5, "share of a WTE's appointments", "assumed (range 0.3-0.8): a new starter learns the PCN's "
        "systems, pathways and rota before a full list", "what a new ARRS starter delivers until their induction "
        "task is done (`leadership.induction_link`)", ge=0, le=1)
    unaided_induction_weeks: float = P(
        13.0, "weeks", "assumed (range 8-26): a starter whose induction is never done finds their own way in "
        "a quarter", "weeks after which a new starter is productive even if their induction is not done",
        ge=0, le=104)
    supervision_share: float = P(1.0, "share", "assumed: no public figure (Nuffield Trust: "
                                 "supervision is unfunded and uncosted)",
                                 "share of the supervision ARRS staff need that GPs give", ge=0, le=1)
    # leadership v3, part A: ARRS staff's claims on the CD's protected time (docs/model.md 2.5.1)
    cd_queries_per_wte_hour: float = P(
        0.003, "claims per WTE in post per protected hour", "assumed (supervision questions and queries that "
        "cannot wait for the supervision rota: with 20 WTE in post, about one claim in two protected sessions; "
        "range 0.001-0.01)",
        "ARRS staff's claims on the CD's protected time, per WTE in post", ge=0, le=1)
    cd_queries_per_starter_hour: float = P(
        0.02, "claims per starter per protected hour", "assumed (a new starter's questions, induction and "
        "first appraisal: several times an established WTE's; range 0.005-0.05)",
        "ARRS staff's claims on the CD's protected time, per member of staff in their first "
        "`arrs.induction_weeks` weeks", ge=0, le=1)
    cd_query_hours: float = P(0.33, "hours", "assumed (a query of 20 minutes; range 0.15-0.75)",
                              "mean length of an ARRS claim on the CD (exponential)", gt=0, le=4)
    induction_weeks: float = P(12.0, "weeks", "assumed (a new ARRS starter's first three months: induction, "
                               "a probation period of 3-6 months is usual; range 4-26)",
                               "weeks after starting during which an ARRS starter counts as new", ge=0, le=104)
