"""The week's books: one number per weekly series, written by the actors and closed on Saturday.

`Week` is the typed ledger of one PCN's week (a misspelt series is an AttributeError, not a new
key); `WEEKLY_SERIES` names the series written to weekly.parquet for every week, in this order,
followed by ARRS staff in post by role (`arrs_in_post.<role>`), which `Pcn.week_close` reads
from the workforce. `Measured` is those series over the weeks after warm-up: what each actor's
`metrics` reads.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pcnsim.config import ARRS_ROLES


@dataclass(slots=True)
class Week:
    """The running totals (or Saturday levels) of one PCN's week; `reset` starts the next week."""

    requests: float = 0.0
    appointments: float = 0.0
    gp_appointments: float = 0.0
    arrs_appointments: float = 0.0
    nurse_appointments: float = 0.0
    dpc_appointments: float = 0.0
    unmet: float = 0.0
    diverted: float = 0.0
    returned: float = 0.0
    backlog: float = 0.0
    wait_days_mean: float = 0.0
    lost_appointments: float = 0.0
    gp_supervision_hours: float = 0.0
    gp_supervision_needed_hours: float = 0.0          # what the ARRS staff at work needed (docs/model.md 2.4)
    arrs_posts_funded: float = 0.0
    arrs_in_post: float = 0.0
    arrs_vacancies: float = 0.0
    arrs_leavers: float = 0.0
    arrs_spend: float = 0.0
    arrs_budget: float = 0.0
    cd_contracted_hours: float = 0.0
    cd_protected_hours: float = 0.0
    cd_clinical_hours: float = 0.0
    cd_leadership_hours: float = 0.0
    cd_meeting_hours: float = 0.0
    cd_displaced_clinical_hours: float = 0.0
    cd_overtime_hours: float = 0.0
    cd_slack_hours: float = 0.0
    cd_strain: float = 0.0
    cd_in_post: float = 0.0
    cd_resignations: float = 0.0
    leadership_backlog_hours: float = 0.0
    manager_hours_available: float = 0.0
    manager_hours_used: float = 0.0
    meetings_expected: float = 0.0
    meetings_attended: float = 0.0
    locum_sessions: float = 0.0
    spend: float = 0.0
    # leadership v2 (docs/model.md 2.5-2.11)
    cd_protected_displaced_hours: float = 0.0
    development_hours: float = 0.0
    manager_development_hours: float = 0.0
    practice_lead_pcn_hours: float = 0.0
    arrs_attrition_multiplier: float = 0.0
    # leadership v3, consequences (docs/model.md 2.10, 2.14)
    cd_resignations_expected: float = 0.0
    # leadership v3, part A: claims that preempted the CD's protected desk time, and the hours they took
    cd_preemptions_system: float = 0.0
    cd_preemptions_practices: float = 0.0
    cd_preemptions_arrs: float = 0.0
    cd_claim_hours_system: float = 0.0
    cd_claim_hours_practices: float = 0.0
    cd_claim_hours_arrs: float = 0.0

    def reset(self) -> None:
        """Every series back to its default, 0.0, in place: the actors hold this object for the whole run."""
        self.__init__()         # the dataclass's own __init__ sets every field to its default, 0.0 (faster than setattr)


WEEK_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Week))
ROLE_SERIES: tuple[str, ...] = tuple(f"arrs_in_post.{r}" for r in ARRS_ROLES)
#: Weekly series written for every week (per PCN; the mean over PCNs for an ICS).
WEEKLY_SERIES: tuple[str, ...] = WEEK_FIELDS + ROLE_SERIES


class Measured:
    """The weekly series of one PCN over the weeks after warm-up, and the years they cover: each actor
    turns the series it wrote into its catalogue metrics (`metrics(measured)`)."""

    def __init__(self, weekly: dict[str, np.ndarray], warmup_weeks: int, years: float):
        self.series = {k: v[warmup_weeks:] for k, v in weekly.items()}
        self.years = years

    def total(self, name: str) -> float:
        return float(self.series[name].sum())

    def per_year(self, name: str) -> float:
        """The series' total over the measured weeks, a year."""
        return self.total(name) / self.years

    def mean(self, name: str) -> float:
        """The series' mean over the measured weeks (a level, or hours a week)."""
        return float(self.series[name].mean())
