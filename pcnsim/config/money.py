"""Money: the funding a PCN receives (ARRS budget, CD time, manager) and what backfill costs."""
from __future__ import annotations

from pydantic import model_validator

from pcnsim.config.base import Frozen, P


#: The Network Contract DES rate of funded CD time (WTE per 50,000 patients): the sessions it funds are the
#: CD's own non-clinical sessions; protected sessions beyond them come out of the CD's clinics (docs/model.md 2.5)
DES_CD_WTE_PER_50K = 0.25


# --------------------------------------------------------------------------- money
class FundingConfig(Frozen):
    arrs_per_patient: float = P(22.89, "£ per patient per year", "PCN ARRS cap 2024/25 (Pulse 2024); "
                                "£22.671 in 2023/24", "ARRS budget", ge=0, le=1000)
    arrs_per_patient_by_year: tuple[float, ...] = P(
        (), "£ per patient per year, by year of the horizon", "scenario input (e.g. 2023/24 £22.67, 2024/25 "
        "£22.89: Pulse 2024)", "the ARRS budget year by year from April of the first year (the last value "
        "holds after the list ends); empty: arrs_per_patient every year")
    cd_wte_per_50k: float = P(DES_CD_WTE_PER_50K, "WTE per 50,000 patients", "Network Contract DES 2019: "
                              "'0.25 WTE per 50,000' (Ockham Healthcare 2022); £0.729 a patient 2020/21-2023/24 "
                              "(BMA); sessions beyond the DES rate's release the CD from clinics "
                              "(`clinical_director.extra_protected_from`, docs/model.md 2.5)", "funded CD time",
                              ge=0, le=5)
    manager_wte: float = P(1.0, "WTE", "assumed; leadership and management payment £0.699 per adjusted "
                           "patient 2023/24 (NHS England)", "PCN manager time funded", ge=0, le=10)
    caip_per_patient: float = P(0.974, "£ per patient per year", "2024/25: the Capacity and Access Improvement "
                                "Payment, 30% of the Capacity and Access Payment (£3.248 per adjusted patient), "
                                "a third per Modern General Practice Access component (Network Contract DES "
                                "2024/25 part B; Pulse, 28 Feb 2024); per registered patient here, as ARRS; "
                                "range 0.9-1.2 (£1.185 in 2023/24)",
                                "the CAIP the PCN can earn (`leadership.caip_link`)", ge=0, le=100)
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
