"""The one catalogue of pcnsim's metrics: name, label, unit, kind, bounds, aggregation, headline.

Every layer reads this table: the model (how a metric of an ICS combines its PCNs), the
summary (bounds of displayed intervals), national totals (how PCNs add up to England), the
report, compare and the command line (labels, units, headline metrics). No other module keeps
a list of metric names. A metric with a suffix (`requests_per_year.msk`,
`utilisation.paramedic`, `cd_strain_mean.representative`) takes its entry from the name before
the first dot and adds the suffix to its label (`lookup`).

Kinds drive formatting: count, share, hours, days, money, wte, score.

Drivers (`Metric.drivers`, read with `drivers(name)`): the metrics whose change explains this
one, by the model's own mechanism (docs/model.md), e.g. CD resignations <- strain (2.10: the
weekly hazard grows with strain), strain <- overtime, clinics given up, protected time taken
and, lowering it, slack (its formula). A name with a leading "-" is a driver whose rise
lowers the metric. When a sweep's or a comparison's paired difference of a metric excludes
zero, its answer sentence names the drivers that moved too, with their own paired change:
those that moved the way that explains it ("... lower, through CD unpaid overtime (-3.6
hours a week)") and those that pushed against it ("partly offset by ..."). Only direct
drivers are named, and only those the run has. A new metric gets its drivers with one
argument of its entry, `drivers=("cd_strain_mean",)`; a suffixed name
(`cd_strain_mean.representative`) takes its base's drivers, each read with the same suffix
where the run has it.
Aggregation over PCNs (`aggregate`):
- `total`: a per-PCN amount; the ICS figure is the mean per PCN, national is x PCNs, summed;
- `mean`: a per-PCN level (hours a week, shares of a PCN's own events); mean over PCNs;
- `ratio`: a ratio of two totals (`ratio` names numerator and denominator), never a mean of ratios;
- `point`: describes the point, not a PCN (summed as it is).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

__all__ = ["Metric", "CATALOGUE", "HEADLINE", "RARE", "lookup", "label", "kind", "unit", "axis_label",
           "aggregate", "ratio_of", "bounds", "drivers", "order", "suffix_label", "FAMILIES"]

FAMILIES = ("delivery", "leadership", "retention", "money", "run")


@dataclass(frozen=True)
class Metric:
    """One metric: what it is called, how it is shown and how PCNs combine into it."""

    name: str
    label: str
    kind: str
    unit: str
    family: str
    aggregate: str = "mean"
    ratio: Optional[tuple[str, str]] = None
    low: Optional[float] = 0.0            # no pcnsim metric is negative
    high: Optional[float] = None          # shares: 1.0
    headline: bool = False
    headline_rank: int = 0                # a headline metric's place in HEADLINE (reading order)
    rare: bool = False                    # a count of rare events: exact Poisson interval (analysis.poisson_interval)
    drivers: tuple[str, ...] = ()         # metrics whose change explains this one; "-name": a rise lowers it

    @property
    def bounds(self) -> tuple[Optional[float], Optional[float]]:
        return (self.low, self.high)


def _m(name, label, kind, unit, family, aggregate="mean", headline=0, **kw) -> Metric:
    """An entry; `headline=k` makes it the k-th headline metric."""
    if kind == "share" and "high" not in kw:
        kw["high"] = 1.0
    return Metric(name, label, kind, unit, family, aggregate, headline=bool(headline), headline_rank=headline, **kw)


_YEAR = "a year"
_WEEK = "hours a week"

#: In docs/interface.md's order, then the further metrics the model writes (docs/model.md 3.4).
_ENTRIES: tuple[Metric, ...] = (
    # delivery
    _m("requests_per_year", "Appointment requests", "count", "requests a year", "delivery", "total"),
    _m("appointments_per_year", "Appointments delivered", "count", "appointments a year", "delivery", "total",
       headline=1,
       drivers=("-lost_appointments_per_year", "arrs_staff_wte")),
    _m("gp_appointments_per_year", "Appointments delivered by GPs", "count", "appointments a year", "delivery",
       "total"),
    _m("arrs_appointments_per_year", "Appointments delivered by ARRS staff", "count", "appointments a year",
       "delivery", "total"),
    _m("unmet_per_year", "Unmet requests (diverted or not booked)", "count", "requests a year", "delivery", "total",
       headline=4),
    _m("backlog_start", "Backlog at the end of warm-up", "count", "requests waiting", "delivery", "total"),
    _m("backlog_end", "Backlog at the end", "count", "requests waiting", "delivery", "total"),
    # delivered / requests: above 1 while a backlog is drawn down, so no upper bound
    _m("demand_met_share", "Share of requests delivered", "share", "%", "delivery", "ratio",
       ratio=("appointments_per_year", "requests_per_year"), high=None, headline=2),
    _m("wait_days_mean", "Mean wait for an appointment", "days", "working days", "delivery", headline=3),
    _m("wait_days_p90", "90th percentile wait", "days", "working days", "delivery"),
    _m("lost_appointments_per_year", "Appointments lost to displaced CD sessions", "count", "appointments a year",
       "delivery", "total",
       drivers=("cd_displaced_clinical_hours_per_week",)),
    _m("gp_supervision_hours_per_week", "GP time supervising ARRS staff", "hours", _WEEK, "delivery",
       drivers=("gp_supervision_needed_hours_per_week", "-unmet_per_year")),
    # leadership time
    _m("cd_clinical_hours_per_week", "CD time in clinical sessions", "hours", _WEEK, "leadership"),
    _m("cd_leadership_hours_per_week", "CD time on leadership tasks", "hours", _WEEK, "leadership",
       drivers=("cd_protected_hours_per_week", "-cd_protected_hours_displaced_per_week")),
    _m("cd_meeting_hours_per_week", "CD time in system meetings", "hours", _WEEK, "leadership"),
    # docs/model.md 2.5 and 7: a meeting in a clinical slot gives the clinic up, one in an off slot is
    # overtime; protected time that meetings and requests take spills into clinics and evenings
    _m("cd_displaced_clinical_hours_per_week", "CD clinical time given up", "hours", _WEEK, "leadership",
       drivers=("cd_meeting_hours_per_week", "cd_protected_hours_displaced_per_week")),
    _m("cd_overtime_hours_per_week", "CD unpaid overtime", "hours", _WEEK, "leadership", headline=5,
       drivers=("cd_meeting_hours_per_week", "cd_protected_hours_displaced_per_week")),
    _m("leadership_tasks_overdue_share", "Leadership tasks late or never done", "share", "%", "leadership",
       headline=6,
       drivers=("-cd_leadership_hours_per_week", "-manager_hours_used_per_week")),
    _m("meetings_attended_share", "System meetings the CD attended", "share", "%", "leadership"),
    _m("representation_share", "System meetings with a PCN CD present", "share", "%", "leadership"),
    # retention
    _m("cd_resignations_per_year", "CD resignations", "count", _YEAR, "retention", "total", headline=7,
       rare=True,
       drivers=("cd_strain_mean",)),
    _m("cd_vacancy_share", "Weeks with no CD in post", "share", "%", "retention",
       drivers=("cd_resignations_per_year",)),
    _m("arrs_leavers_per_year", "ARRS leavers", "count", _YEAR, "retention", "total",
       drivers=("arrs_attrition_multiplier", "-supervision_given_share")),
    _m("arrs_vacancy_rate", "ARRS funded posts vacant", "share", "%", "retention", headline=8,
       drivers=("arrs_leavers_per_year",)),
    _m("arrs_staff_wte", "ARRS staff in post", "wte", "WTE", "retention", "total"),
    _m("arrs_budget_used_share", "ARRS budget used", "share", "%", "money"),
    # money
    # what the PCN's own funding pays for: ARRS pay, protected CD sessions, the manager and locums;
    # GP and nurse pay (from the practices' core contract) is not counted, and the labels say so
    _m("spend_per_year", "PCN-funded spend (ARRS, CD, manager, locums)", "money", "£ a year", "money", "total"),
    _m("cost_per_appointment", "PCN-funded spend per appointment (no GP or nurse pay)", "money",
       "£ per appointment", "money", "ratio",
       ratio=("spend_per_year", "appointments_per_year")),
    # further metrics the model writes
    _m("nurse_appointments_per_year", "Appointments delivered by practice nurses", "count", "appointments a year",
       "delivery", "total"),
    _m("cd_slack_hours_per_week", "CD protected time with no task to do", "hours", _WEEK, "leadership"),
    _m("cd_protected_hours_per_week", "CD protected time", "hours", _WEEK, "leadership"),
    _m("cd_strain_mean", "CD strain (mean weekly)", "score", "strain score", "retention",
       # docs/model.md 2.10: overtime, clinics given up and protected time taken add to strain; slack
       # relieves it (protected hours are not a driver: whether they lengthen the week depends on
       # where the sessions come from)
       drivers=("cd_overtime_hours_per_week", "cd_displaced_clinical_hours_per_week",
                "cd_protected_hours_displaced_per_week", "-cd_slack_hours_per_week")),
    _m("arrs_posts_funded", "ARRS posts funded", "wte", "WTE", "retention", "total"),
    _m("arrs_spend_per_year", "ARRS pay", "money", "£ a year", "money", "total"),
    _m("manager_hours_used_per_week", "PCN manager time used on tasks", "hours", _WEEK, "leadership"),
    _m("locum_sessions_per_year", "Locum sessions", "count", "sessions a year", "money", "total"),
    _m("pcns_simulated", "PCNs simulated", "count", "PCNs", "run", "point"),
    # delivery v2 (docs/model.md 2.3): by type via suffixes, urgency, booking, utilisation
    _m("diverted_per_year", "Urgent requests diverted (111, A&E, pharmacy)", "count", "requests a year", "delivery",
       "total"),
    _m("returned_per_year", "Patients contacting again (not booked)", "count", "contacts a year", "delivery", "total"),
    _m("booked_same_day_share", "Appointments booked the same day", "share", "%", "delivery"),
    _m("booked_over_14_days_share", "Appointments more than 14 days after booking", "share", "%", "delivery"),
    _m("utilisation", "Patient-facing slots used for patients", "share", "%", "delivery"),
    # delivery v3 (docs/model.md 2.3, 3.4): GPAD's lead-time bins, did-not-attend, direct patient care staff
    _m("booked_share", "Appointments by calendar days from booking (GPAD's bins)", "share", "%", "delivery"),
    _m("dna_per_year", "Booked appointments not attended (expected)", "count", "appointments a year", "delivery",
       "total"),
    _m("booked_appointments_per_year", "Appointments booked (attended and not)", "count", "appointments a year",
       "delivery", "total"),
    _m("dpc_appointments_per_year", "Appointments booked with practices' direct patient care staff", "count",
       "appointments a year", "delivery", "total"),
    # change in requests waiting over the measured weeks, by type (the conservation identity's last term);
    # it can be negative
    _m("backlog_change", "Change in requests waiting", "count", "requests", "delivery", "total", low=None),
    # leadership v2 (docs/interface.md "Metrics"; docs/model.md 3.4)
    _m("cd_role_hours_per_week", "CD time on the role (leadership + meetings)", "hours", _WEEK, "leadership"),
    _m("cd_hours_over_contract_per_week", "CD hours beyond contracted sessions", "hours", _WEEK, "leadership"),
    _m("cd_protected_hours_displaced_per_week", "CD protected time taken by meetings or requests", "hours", _WEEK,
       "leadership"),
    _m("development_hours_per_week", "Development work done (CD and manager)", "hours", _WEEK, "leadership"),
    _m("practice_lead_pcn_hours_per_week", "Practice leads' GP time on PCN work", "hours", _WEEK, "leadership"),
    _m("arrs_attrition_multiplier", "ARRS attrition multiplier from leadership work undone", "score", "multiplier",
       "retention", low=1.0),
    # England as it is (docs/model.md 7.1): what national totals are checked against
    _m("registered_patients", "Registered patients", "count", "patients", "run", "total"),
    _m("gp_appointment_share", "Share of booked appointments with GPs", "share", "%", "delivery", "ratio",
       ratio=("gp_appointments_per_year", "booked_appointments_per_year")),
    _m("arrs_budget_per_year", "ARRS budget", "money", "£ a year", "money", "total"),
    _m("cd_posts_filled", "CD posts filled (mean over weeks)", "wte", "CDs in post", "retention", "total"),
    # governance (docs/model.md 2.9): whose view the system's decisions hear, per CD
    _m("cd_involved_share", "Decisions affecting the PCN with its view put in", "share", "%", "leadership"),
    _m("cd_always_involved_share", "CDs always involved (view in 90%+ of decisions while at work)", "share", "%",
       "leadership"),
    # leadership v3, consequences (docs/model.md 2.6, 2.10): expected resignations, CAIP income
    _m("cd_resignations_expected_per_year", "CD resignations expected (sum of weekly hazards)", "count", _YEAR,
       "retention", "total", drivers=("cd_strain_mean",)),
    # CD-years in post / expected resignations; 100 years when none is expected (a zero hazard)
    _m("cd_tenure_expected_years", "CD expected tenure", "count", "years", "retention", "ratio",
       ratio=("cd_posts_filled", "cd_resignations_expected_per_year"),
       drivers=("-cd_resignations_expected_per_year",)),
    # access work done within its grace (2.6): the CD's and the manager's
    _m("caip_earned_share", "Capacity and Access Improvement Payment earned", "share", "%", "money",
       drivers=("-leadership_tasks_overdue_share", "manager_hours_used_per_week")),
    _m("leadership_income_per_year", "Leadership income (CAIP earned)", "money", "£ a year", "money", "total",
       drivers=("caip_earned_share",)),
    # leadership v3, part A (docs/model.md 2.5.1): claims on the CD's protected time, by claimant via suffixes
    # (`.system`, `.practices`, `.arrs`) and in total
    _m("cd_preemptions_per_week", "Claims that took the CD from protected desk work", "count", "preemptions a week",
       "leadership"),
    _m("cd_protected_hours_lost_per_week", "CD protected time taken by claims", "hours", _WEEK, "leadership"),
    # delivery v3 (docs/model.md 2.4): supervision as a policy that can fall. Given over needed, as the weekly
    # ratio ARRS attrition reads; GP pressure (GP demand, appointments and unmet, over GP slots) releases the
    # pre-blocked part and leaves no free slot for the ad-hoc part: unmet requests (GP demand beyond GP time) drive it
    _m("gp_supervision_needed_hours_per_week", "GP supervision ARRS staff need", "hours", _WEEK, "delivery"),
    _m("supervision_given_share", "ARRS supervision given, share of need", "share", "%", "retention", "ratio",
       ratio=("gp_supervision_hours_per_week", "gp_supervision_needed_hours_per_week"),
       drivers=("-unmet_per_year",)),
)

CATALOGUE: dict[str, Metric] = {m.name: m for m in _ENTRIES}
#: The metrics that headline a run, in the order people read them (CLI, report, sweep figures).
HEADLINE: tuple[str, ...] = tuple(m.name for m in sorted((m for m in _ENTRIES if m.headline),
                                                         key=lambda m: m.headline_rank))
#: Counts of rare events, summarised with an exact Poisson interval when the exposure is known.
RARE: tuple[str, ...] = tuple(m.name for m in _ENTRIES if m.rare)

_SUFFIX_LABELS = {
    "gp": "GPs", "nurse": "practice nurses",
    "first_contact_physio": "first contact physio", "social_prescribing_link_worker": "social prescribing link worker",
    "health_wellbeing_coach": "health & wellbeing coach", "msk": "MSK", "gp_complex": "GP (complex)",
    "same_day": "same day", "representative": "representative CDs", "other": "other CDs",
    "seated": "CDs with a seat", "unseated": "CDs without a seat",
    "system": "the system", "practices": "the practices", "arrs": "ARRS staff",
}


def suffix_label(suffix: str) -> str:
    """Plain words for a role, demand type or group named in a metric's suffix."""
    return _SUFFIX_LABELS.get(suffix, suffix.replace("_", " "))


def lookup(name: str) -> Optional[Metric]:
    """The catalogue entry of a metric, `base.suffix` names included; None if unknown."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    base, dot, suffix = name.partition(".")
    if dot and base in CATALOGUE:
        m = CATALOGUE[base]
        ratio = tuple(f"{part}.{suffix}" for part in m.ratio) if m.ratio else None
        return Metric(name, f"{m.label}: {suffix_label(suffix)}", m.kind, m.unit, m.family, m.aggregate,
                      ratio, m.low, m.high, headline=False, headline_rank=0, rare=m.rare, drivers=m.drivers)
    return None


def _guess_kind(name: str) -> str:
    if name.endswith(("_share", "_rate")):
        return "share"
    if "hours" in name:
        return "hours"
    if "days" in name:
        return "days"
    if name.startswith(("cost", "spend")):
        return "money"
    return "count"


def label(name: str) -> str:
    """Plain label ("Appointments delivered"); the name in words if unknown."""
    m = lookup(name)
    return m.label if m else name.replace("_", " ")


def kind(name: str) -> str:
    """How a metric is formatted: count, share, hours, days, money, wte or score."""
    m = lookup(name)
    return m.kind if m else _guess_kind(name)


def unit(name: str) -> str:
    m = lookup(name)
    if m:
        return m.unit
    return {"share": "%", "hours": _WEEK, "days": "working days", "money": "£"}.get(kind(name), "")


def axis_label(name: str) -> str:
    u = unit(name)
    return f"{label(name)} ({u})" if u else label(name)


def aggregate(name: str) -> str:
    """How PCNs combine: total, mean, ratio or point (unknown names: total if per year, else mean)."""
    m = lookup(name)
    if m:
        return m.aggregate
    return "total" if name.endswith("_per_year") else "mean"


def ratio_of(name: str) -> Optional[tuple[str, str]]:
    """Numerator and denominator of a ratio metric, else None."""
    m = lookup(name)
    return m.ratio if m else None


def bounds(name: str) -> tuple[Optional[float], Optional[float]]:
    """The values a metric cannot cross (for displayed intervals): shares [0, 1], the rest >= 0."""
    m = lookup(name)
    if m:
        return m.bounds
    return (0.0, 1.0) if _guess_kind(name) == "share" else (0.0, None)


def drivers(name: str) -> tuple[tuple[str, int], ...]:
    """The metrics whose change explains `name`, each with its direction: (driver, +1) when a
    rise of the driver raises `name`, (driver, -1) when it lowers it (the catalogue entry's
    `drivers`; none if unknown). A suffixed name's drivers carry its suffix
    ("cd_strain_mean.representative" -> "cd_overtime_hours_per_week.representative", ...):
    callers fall back to the plain name where the run has no suffixed one."""
    m = lookup(name)
    if m is None:
        return ()
    _, dot, suffix = name.partition(".")
    out = []
    for d in m.drivers:
        sign, base = (-1, d[1:]) if d.startswith("-") else (1, d)
        out.append((f"{base}.{suffix}" if dot and name not in CATALOGUE else base, sign))
    return tuple(out)


def order(names: Iterable[str]) -> list[str]:
    """Metric names in catalogue order (suffixed ones after their base), unknown ones last, sorted."""
    index = {n: i for i, n in enumerate(CATALOGUE)}

    def key(n: str):
        base, _, suffix = n.partition(".")
        return (0, index[base], suffix) if base in index else (1, 0, n)
    return sorted(names, key=key)
