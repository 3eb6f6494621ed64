"""The run and the practices: run length and seed, the PCN's practices and lists, demand,
the calendar, the practices' GPs, nurses and direct-patient-care staff."""
from __future__ import annotations

import math
from typing import Any, Optional

from pydantic import Field, model_validator

from pcnsim.config.base import DEMAND_TYPES, Frozen, P


# --------------------------------------------------------------------------- run and structure
class RunConfig(Frozen):
    horizon_weeks: int = P(156, "weeks", "assumed", "simulated length", ge=1, le=1040)
    warmup_weeks: int = P(52, "weeks", "assumed: one year, so that the weeks measured are whole years (winter weighs "
                          "as in a year) and the booked queue, the leadership backlog and CD strain have reached "
                          "their seasonal cycle (docs/model.md 4.1)", "weeks discarded from outputs", ge=0)
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

    gp_wte: tuple[float, ...] = P((), "WTE", "scenario input (NHS Digital General Practice Workforce, practice "
                                  "level, TOTAL_GP_FTE: `pcnsim build` writes it)",
                                  "GP WTE by practice, absolute (one per practice; overrides gps.wte_per_10k); "
                                  "empty: gps.wte_per_10k x list")
    nurse_wte: tuple[float, ...] = P((), "WTE", "scenario input (NHS Digital General Practice Workforce, practice "
                                     "level, TOTAL_NURSES_FTE: `pcnsim build` writes it)",
                                     "nurse WTE by practice, absolute (one per practice; overrides "
                                     "nurses.wte_per_10k); empty: nurses.wte_per_10k x list")
    dpc_wte: tuple[float, ...] = P((), "WTE", "scenario input (NHS Digital General Practice Workforce, practice "
                                   "level, TOTAL_DPC_FTE: `pcnsim build` writes it)",
                                   "practice-employed direct patient care staff WTE by practice, absolute (one per "
                                   "practice; overrides dpc.wte_per_10k); empty: dpc.wte_per_10k x list")

    @model_validator(mode="after")
    def _one_per_practice(self) -> "PcnConfig":
        for name in ("list_sizes", "need_weights"):
            v = getattr(self, name)
            if v and len(v) != self.practices:
                raise ValueError(f"pcn.{name} needs one value per practice ({self.practices}), got {len(v)}")
            if v and min(v) <= 0:
                raise ValueError(f"pcn.{name} must be positive")
        for name in ("gp_wte", "nurse_wte", "dpc_wte"):     # staff may be none at a practice, never negative
            v = getattr(self, name)
            if v and len(v) != self.practices:
                raise ValueError(f"pcn.{name} needs one value per practice ({self.practices}), got {len(v)}")
            if v and (min(v) < 0 or max(v) > 500 or not all(math.isfinite(x) for x in v)):
                raise ValueError(f"pcn.{name}: every practice's WTE must be between 0 and 500")
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
        lists given one by one, where the schema has them, win over both).

        A before-validator hands its output on as Python data, where the strict schema wants
        tuples: JSON arrays (a run folder's manifest, read on `--resume`) are made tuples here."""
        if isinstance(data, dict):
            data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        if isinstance(data, dict) and data.get("list_sizes"):
            return data
        if isinstance(data, dict) and isinstance(data.get("list_size"), int) \
                and not isinstance(data.get("list_size"), bool):
            practices = data.get("practices", 5)
            if isinstance(practices, int) and not isinstance(practices, bool) and practices >= 1:
                data = {**data, "list_size_per_practice": max(1, round(data["list_size"] / practices))}
        return data


# --------------------------------------------------------------------------- demand
class DemandMix(Frozen):
    """Share of requests by type; normalised to sum to 1 by the model."""

    gp_complex: float = Field(0.34, ge=0, le=1)
    nursing: float = Field(0.35, ge=0, le=1)
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


class PlannedWeights(Frozen):
    """Relative propensity of each type's requests to be planned (booked ahead by design); assumed."""

    gp_complex: float = Field(1.0, ge=0)
    nursing: float = Field(1.5, ge=0)
    same_day: float = Field(0.0, ge=0)
    medicines: float = Field(1.5, ge=0)
    msk: float = Field(0.5, ge=0)
    mental_health: float = Field(1.0, ge=0)
    social: float = Field(0.5, ge=0)

    def shares(self) -> tuple[float, ...]:
        return tuple(getattr(self, t) for t in DEMAND_TYPES)


#: GPAD's bins of calendar days from booking to appointment (NHS Digital, Appointments in General Practice)
GPAD_BINS = ("same_day", "1_day", "2_7_days", "8_14_days", "15_21_days", "22_28_days", "over_28_days")


class DemandConfig(Frozen):
    appointments_per_patient_year: float = P(
        6.3, "requests per patient per year",
        "assumed: GPAD's 5.9 appointments delivered a patient a year (370.1m in 12 months to Apr 2024, "
        "NHS England, / 62.4m patients) plus the requests not met; the baseline books 5.97 a patient (5.68 attended, "
        "the rest DNA; docs/model.md 7)",
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
    tolerance_days: float = P(26.0, "working days", "assumed; tuned with the planned share to GPAD's "
                              "lead-time bins (Nov 2023: 17.3% of appointments more than 14 days after booking): "
                              "15.7% at 26 working days, 12.7% at 20 and 17.6% at 30 (docs/model.md 7)",
                              "mean of the exponential wait a routine patient accepts: an offer d working "
                              "days ahead is taken with probability exp(-d / tolerance); 0: every offer is taken",
                              ge=0, le=1000)
    return_share: float = P(0.5, "share", "assumed (GP Patient Survey 2023: 12.2% of those who could not get "
                            "an appointment went to A&E; the rest tried again, went elsewhere or did without)",
                            "share of routine patients not booked (declined or no slot) who contact again",
                            ge=0, le=1)
    return_after_days: int = P(5, "working days", "assumed", "when a returning patient contacts again",
                               ge=1, le=260)
    planned_share: float = P(
        0.15, "share of all requests", "assumed (reviews, follow-ups, long-term-condition and medication reviews "
        "booked ahead by design; GPAD counts them in its 8-28 and over-28-day bins); tuned to GPAD's lead-time "
        "profile (docs/model.md 7)",
        "share of all requests booked ahead by design with a desired date (taken out of each type's routine "
        "requests, spread over types by `planned_weights`)", ge=0, le=0.9)
    planned_weights: PlannedWeights = P(PlannedWeights(), "relative", "assumed (same-day work is never planned)",
                                        "relative propensity of each type's requests to be planned")
    planned_lead_weeks: tuple[float, ...] = P(
        (0.30, 0.25, 0.15, 0.13, 0.07, 0.05, 0.03, 0.02), "relative weight by week ahead",
        "assumed; tuned to GPAD's 8-14, 15-21, 22-28 and over-28-day shares (docs/model.md 7)",
        "the desired lead of planned requests: entry i is the weight of a desired date i+1 weeks ahead "
        "(5i+1 to 5i+5 working days, spread evenly); the diary opens two weeks beyond the last", min_length=1,
        max_length=26)
    dna_rates: tuple[float, float, float, float, float, float, float] = P(
        (0.019, 0.05, 0.068, 0.082, 0.085, 0.087, 0.089), "share of booked appointments, by GPAD lead bin",
        "NHS Digital GPAD, analysed by S. Black (GPonline, Nov 2019: 1.9% same day, 5% next day, 6.8% 2-7 days, "
        "8.2-8.9% more than a week ahead; the 8.2-8.9% spread over the longer bins, assumed)",
        "share of booked appointments not attended, by calendar days from booking (same day, 1 day, 2-7, 8-14, "
        "15-21, 22-28, over 28); the slot is used either way")
    dna_scale: float = P(1.0, "multiplier", "assumed (1: the national rates); set to a PCN's own DNA share "
                         "over the national", "multiplies every `dna_rates` entry", ge=0, le=10)
    mix: DemandMix = P(DemandMix(), "share", "assumed; tuned (v3: 6 points from gp_complex to nursing, which "
                       "practice nurses and DPC staff serve) so that GPs deliver about 45% of "
                       "appointments (RCGP key statistics Apr 2024: 45%; Health Foundation Dec 2023: 47%)",
                       "share of requests by type")

    @model_validator(mode="after")
    def _profile_positive(self) -> "DemandConfig":
        if any(v < 0 for v in self.weekday_profile) or sum(self.weekday_profile) <= 0:
            raise ValueError("weekday_profile needs five non-negative values with a positive sum")
        if any(v < 0 for v in self.planned_lead_weeks) or sum(self.planned_lead_weeks) <= 0:
            raise ValueError("planned_lead_weeks needs non-negative weights (one a week ahead) with a positive sum")
        if any(not 0 <= v <= 1 for v in self.dna_rates):
            raise ValueError("dna_rates needs seven shares between 0 and 1 (one per GPAD lead-time bin)")
        return self

    @property
    def diary_days(self) -> int:
        """The diary's horizon in working days: routine requests' `patience_days`, or two weeks beyond the
        furthest desired date of planned work, whichever is further."""
        return max(self.patience_days, 5 * len(self.planned_lead_weeks) + 11)


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
    patient_facing_share: float = P(0.75, "share of sessions", "assumed (docs/model.md 2.2); GPs "
                                    "then have about 45% of booked appointments (docs/model.md 7)",
                                    "share of GP session time in appointments", ge=0, le=1)
    appointment_minutes: float = P(12.0, "minutes", "83% of practices book 10-minute slots; 32% last "
                                   "over 15 min (GPonline 2022); mean f2f 9.2 min (BMJ Open 2017)",
                                   "GP appointment length", gt=0, le=240)
    # leadership v3, part A: the practices' claim on the CD's protected time (docs/model.md 2.5.1)
    cd_recall_per_session: float = P(
        0.165, "recalls per protected session at pressure 1", "assumed (a GP off sick or a clinic short and "
        "the CD, a GP of the PCN, pulled back to it: about one protected session in six; range 0.05-0.3); "
        "tuned: 0.12 until delivery v3 met more demand and GP pressure fell, then 0.165 so that the practices "
        "again preempt protected time about 0.33 times a week at baseline (docs/model.md 2.5.1)",
        "rate at which the practices recall the CD to clinic from a protected session, at GP pressure 1 "
        "(GP demand equal to GP slots)", ge=0, le=5)
    cd_recall_pressure_elasticity: float = P(
        2.0, "exponent", "assumed (recalls grow faster than the shortfall: range 1-3)",
        "the recall rate scales as (GP pressure) ** this, GP pressure = last week's GP appointments + "
        "unmet requests over GP slots offered", ge=0, le=5)
    cd_recall_own_practice_share: float = P(
        0.7, "share", "assumed (the CD is first a GP of their own practice; range 0.5-0.9)",
        "share of recalls to the CD's own practice (the rest go to the others, by list size)", ge=0, le=1)


class NurseConfig(Frozen):
    wte_per_10k: float = P(2.7, "WTE per 10,000 patients", "NHS Digital General Practice Workforce, Jan 2022: "
                           "16,501 nurse FTE (TOTAL_NURSES_FTE) for 61.6m registered patients = 2.68",
                           "practice nurses (HCAs and other direct patient care staff: `dpc`)", ge=0, le=50)
    sessions_per_wte: float = P(9.0, "sessions a week", "assumed", "sessions per WTE", ge=0, le=10)
    patient_facing_share: float = P(0.85, "share of sessions", "assumed",
                                    "share of nurse time in appointments", ge=0, le=1)
    appointment_minutes: float = P(15.0, "minutes", "assumed", "nurse appointment length", gt=0, le=240)


class DpcConfig(Frozen):
    """The practices' own direct-patient-care staff (HCAs, phlebotomists, nursing associates...): a pool per
    practice serving `nursing` after the practice nurses (docs/model.md 2.3)."""

    wte_per_10k: float = P(2.4, "WTE per 10,000 patients", "NHS Digital General Practice Workforce, Jan 2022: "
                           "14,993 direct patient care FTE (TOTAL_DPC_FTE) for 61.6m registered patients = 2.43",
                           "practices' direct patient care staff (not ARRS)", ge=0, le=50)
    sessions_per_wte: float = P(9.0, "sessions a week", "assumed", "sessions per WTE", ge=0, le=10)
    patient_facing_share: float = P(0.5, "share of sessions", "assumed: the count includes dispensers and "
                                    "other roles that book no appointments; tuned with the demand mix to GPAD's "
                                    "appointments a patient (docs/model.md 7)",
                                    "share of DPC time in booked appointments", ge=0, le=1)
    appointment_minutes: float = P(15.0, "minutes", "assumed (HCA and phlebotomy slots of 10-20 minutes)",
                                   "DPC appointment length", gt=0, le=240)
