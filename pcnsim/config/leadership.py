"""Leadership: the clinical director, the PCN manager, the leadership work they share, and the
ICS whose system meetings and requests call on them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pcnsim.config.base import SESSION_HOURS, Frozen, OverflowTarget, P, TimetablePolicy

#: What an extra protected session replaces (`clinical_director.extra_protected_from`).
ExtraProtectedFrom = Literal["clinics_backfilled", "clinics", "off"]


# --------------------------------------------------------------------------- leadership
class ClinicalDirectorConfig(Frozen):
    clinical_sessions: int = P(6, "sessions a week", "GPs work 6.2 sessions a week on average "
                               "(BJGP 2024;74:e652)", "the CD's clinical sessions", ge=0, le=10)
    extra_protected_sessions: float = P(0.0, "sessions a week", "scenario lever (the Fuller stocktake "
                                        "asks for 'sufficient protected time')",
                                        "protected sessions beyond funded CD time; what each replaces is "
                                        "`clinical_director.extra_protected_from` (default "
                                        "'clinics_backfilled': one of the CD's clinics, a locum paid for it)",
                                        ge=0, le=10)
    extra_protected_from: ExtraProtectedFrom = P(
        "clinics_backfilled", "policy", "assumed (the Fuller stocktake and the sector mean sessions freed from "
        "clinics, backfilled and funded; docs/model.md 2.5)",
        "what a protected session beyond the CD's contract (extra, or funded above the DES rate: "
        "docs/model.md 2.5) replaces: 'clinics_backfilled' one of the CD's clinics, a locum paid "
        "for it (the practice keeps its appointments); 'clinics' one of the CD's clinics, not backfilled (its "
        "appointments lost); 'off' the CD's days off first, unpaid (the behaviour before leadership v3)")
    overflow: tuple[OverflowTarget, ...] = P(("manager", "clinical", "overtime"), "order", "assumed",
                                             "where leadership work beyond protected time goes")
    max_displaced_sessions: int = P(2, "sessions a week", "assumed",
                                    "clinical sessions a CD gives up to leadership in a week",
                                    ge=0, le=10)
    max_overtime_hours: float = P(8.0, "hours a week", "assumed (two long evenings; 20 h gave a runaway "
                                  "catch-up mode no survey reports)",
                                  "unpaid hours a CD will work beyond contract in a week", ge=0, le=80)
    base_resignation_per_year: float = P(0.06, "per year", "calibrated (docs/model.md 7) so that CDs resign "
                                         "at about 12% a year at baseline (the expected hazard over 120 "
                                         "replications): BMA CD survey 2019 (n = 213) 11% plan "
                                         "to quit within 12 months; Pulse 2024 (n = 65) 13% want to stay under a "
                                         "year", "resignation hazard with no strain",
                                         ge=0, le=1)
    strain_sensitivity: float = P(0.07, "per hour a week", "calibrated to GPs' intention to leave (docs/model.md "
                                  "2.10): 10 h a week of strain (a 50-hour week against a sustainable 40) "
                                  "multiplies the hazard by 2 (exp(0.7)), the middle of the odds ratios of "
                                  "intention to leave for low job satisfaction, 1.35 (1.12-1.70), and low "
                                  "morale, 2.68 (1.56-3.80) (Shen et al., BMC Fam Pract 2020;21:246, "
                                  "PMC7702723; 25 studies, 27,285 GPs); Fletcher et al., BMJ Open "
                                  "2017;7:e015853: low morale and workload predict GPs' intention to quit. "
                                  "Range 0.03-0.10 (x1.35 to x2.7 at 10 h). Intention is not behaviour",
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
    commitment_cv: float = P(0.8, "coefficient of variation", "assumed; set with "
                             "`manager.development_pickup_weeks` so that time on the role spreads over CDs as "
                             "Pulse 2024 reports (16% up to 10 h, 18% 10-16 h, 28% 16-20 h, 38% over 20 h)",
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
    development_pickup_weeks: float = P(1.0, "weeks", "assumed (the CD leads development, the Fuller "
                                        "stocktake's integrated neighbourhood teams; the manager picks up what "
                                        "would slip); set with `clinical_director.commitment_cv` so that time on "
                                        "the role spreads as Pulse 2024 reports (docs/model.md 7)",
                                        "the manager takes up a development task only once it falls due within "
                                        "this many weeks (`leadership.development_due_weeks` or more: any open "
                                        "task, as before)", ge=0, le=104)


class LeadershipConfig(Frozen):
    operations_hours_per_week: float = P(8.0, "hours", "assumed; with the rest of leadership work, set so that "
                                         "time on the role matches Pulse 2024 (docs/model.md 7); 10 h before "
                                         "the access work (`access_hours_per_week`) was named apart",
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
    # leadership v3, consequences (docs/model.md 2.6): each link sourced or assumed, with a switch
    access_hours_per_week: float = P(
        2.0, "hours a week", "assumed (range 1-4): the leadership work of the three Modern General Practice "
        "Access components (better digital telephony, simpler online requests, faster care navigation, "
        "assessment and response) that the CD certifies to the ICB (Network Contract DES 2024/25 part B); "
        "taken out of the operations work, which was 10 h, so time on the role stays calibrated",
        "operations work for the Capacity and Access Improvement Payment, a third per component", ge=0, le=50)
    access_grace_weeks: float = P(13.0, "weeks", "assumed (range 4-26): the ICB assesses the access components "
                                  "over the year and since 2024/25 may pay the CAIP at any point in it (Pulse, "
                                  "28 Feb 2024), so access work done within a quarter of its due date counts",
                                  "weeks after an access task's due date within which doing it still earns "
                                  "its part of the CAIP", ge=0, le=52)
    caip_link: bool = P(True, "-", "Pulse, 28 Feb 2024 (each MGPA component attracts a third of CAIP); "
                        "Pulse PCN FOI 2024: most ICBs that had assessed paid PCNs 100%",
                        "whether the CAIP is earned only as its access work gets done by its due dates "
                        "(false: the full payment, whatever is done)")
    induction_link: bool = P(True, "-", "assumed (docs/model.md 2.6)",
                             "whether a new ARRS starter works at `arrs.new_starter_productivity` until "
                             "their induction task is done (false: productive from the first day)")
    development_demand_reduction: float = P(
        0.0, "share of requests", "no source pins it: evaluations of integrated care (Nuffield Trust and "
        "King's Fund reviews) find small or no reductions in unplanned care; range 0-0.03",
        "share of appointment requests avoided when all development work (integrated neighbourhood teams, "
        "proactive care) gets done (0 switches the link off)", ge=0, le=0.2)


# --------------------------------------------------------------------------- the ICS
class MeetingSeries(Frozen):
    """A recurring system meeting at a fixed weekday and session."""

    name: str = Field(min_length=1)
    kind: Literal["system", "forum"] = "system"
    every_weeks: float = Field(gt=0, le=520)
    hours: float = Field(gt=0, le=SESSION_HOURS)
    weekday: int = Field(ge=0, le=4, description="0 = Monday")
    session: Literal["am", "pm"] = "am"
    offset_weeks: int = Field(0, ge=0)
    # governance (docs/model.md 2.9): what a seat on the body gives the PCN its CD represents
    seats: int = Field(0, ge=0, le=2000, description=(
        "primary care seats (CDs) on the body: a seated CD in the room puts their PCN's view into its "
        "decisions, an unseated one only as an observer (`ics.observer_voice_share`); 0: every CD holds a "
        "seat (the CD forum). Defaults: ICB board 1 (the Health and Care Act 2022's partner member for "
        "primary medical services), place board 2, primary care committee 3 (assumed; range 1-5)"))
    decisions: float = Field(1.0, ge=0, le=100, description=(
        "decisions a meeting takes that affect every PCN of the ICS (assumed; range 0-10). Defaults: ICB "
        "board 1, place board 1, primary care committee 6 (calibrated: it holds the delegated primary "
        "medical services decisions, docs/model.md 7), CD forum 0 (it gathers views, decides nothing)"))


DEFAULT_MEETINGS = (
    MeetingSeries(name="ICB board", every_weeks=8, hours=3.0, weekday=2, session="am", offset_weeks=1,
                  seats=1, decisions=1.0),
    MeetingSeries(name="Place board", every_weeks=4, hours=2.0, weekday=1, session="pm", offset_weeks=2,
                  seats=2, decisions=1.0),
    MeetingSeries(name="Primary care sub-committee", every_weeks=2, hours=2.0, weekday=3, session="pm",
                  seats=3, decisions=6.0),
    MeetingSeries(name="PCN CD forum", kind="forum", every_weeks=4, hours=2.0, weekday=0, session="pm",
                  seats=0, decisions=0.0),
)


DEFAULT_ICS_NAME = "ICS"


class IcsConfig(Frozen):
    name: str = P(DEFAULT_ICS_NAME, "label", "-", "a label for the ICS (England's points); a name other than "
                  "'ICS' also labels its PCNs' random streams, so differently named ICSs draw "
                  "independent numbers",
                  min_length=1, max_length=100)
    pcns: int = P(1, "PCNs", "single-PCN run; an ICS holds 500k-3m people, mean 1.4m, 42 ICBs "
                  "(King's Fund, NHS England)", "PCNs simulated together in one ICS", ge=1, le=2000)
    pcn_list_size_cv: float = P(0.0, "coefficient of variation", "0.32 fits England's PCNs: 10th and 90th "
                                "percentiles 31,100 and 69,200 patients, January 2020 (BJGP 2020;70:e899); 0: "
                                "every PCN the same size", "spread of PCN list sizes around the PCN of `pcn` "
                                "(deterministic lognormal quantiles; PCN 0 the largest); each PCN's practices, "
                                "funding and staff follow its size", ge=0, le=3)
    pcn_list_sizes: tuple[int, ...] = P((), "patients", "scenario input (the Network Contract DES lists each "
                                        "PCN's registered list)", "the PCNs' registered lists one by one (one "
                                        "per PCN; overrides pcn_list_size_cv and the PCN size set by `pcn`)")
    representation: Literal["all", "forum"] = P(
        "all", "-", "the forum model discussed in the 2019 article (seed 004)",
        "'all': every CD invited to every system meeting; 'forum': elected representatives")
    forum_representatives: int = P(2, "CDs", "the forum model discussed in the 2019 article (seed 004)",
                                   "CDs elected to represent the rest, with 'forum'", ge=1)
    meeting_load: float = P(1.0, "multiplier", "scenario lever",
                            "multiplier on the frequency of every system meeting (0 removes them)",
                            ge=0, le=20)
    meetings: tuple[MeetingSeries, ...] = P(
        DEFAULT_MEETINGS, "series", "ICB boards meet about every two months (Lincolnshire ICB 2024); the ICB "
        "board's one primary care seat is the Health and Care Act 2022's partner member for primary medical "
        "services; the primary care sub-committee's 6 decisions a meeting calibrated so that 10% of CDs (its 3 seat "
        "holders of 30) are always involved, against 12% (NHS Confederation 2021, docs/model.md 7); the rest "
        "assumed (seats 1-5, decisions 0-10 a meeting)",
        "the system meeting calendar ('forum' kind held only with representation: forum), each series with "
        "its primary care `seats` and the `decisions` a meeting takes that affect every PCN")
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
    # leadership v3, part A: the system's claim on the CD's protected time (docs/model.md 2.5.1)
    interruptions_per_protected_hour: float = P(
        0.08, "claims per protected hour", "assumed (ad-hoc calls, an urgent request that will not wait, a "
        "meeting that overruns: about one protected session in three; range 0-0.3)",
        "the system's claims on the CD during protected time (Poisson); scaled by the system-demands scenario",
        ge=0, le=5)
    interruption_hours: float = P(0.5, "hours", "assumed (range 0.25-1)",
                                  "mean length of a system claim on the CD (exponential)", gt=0, le=4)
    representative_prep_hours: float = P(2.0, "hours per meeting", "assumed (reading papers, gathering "
                                         "the other CDs' views, feeding back)",
                                         "preparation and feedback work a forum representative carries "
                                         "for each system meeting attended", ge=0, le=40)
    seats_per_meeting: int = P(0, "CDs", "the 2019 article (seed 004): ten or more CDs are 'too many to sit "
                               "on the ICS board'; assumed", "room limit: CDs admitted to each system meeting "
                               "(0: no limit), in PCN order. Attendance only: the seats that put a PCN's view in "
                               "are each meeting series' `seats` (docs/model.md 2.9)", ge=0, le=2000)
    # governance (docs/model.md 2.9): seats, observers and the forum's carried views
    system_pcns: int = P(30, "PCNs", "an ICS of 1.4 million people (the mean of 42 ICBs; King's Fund, NHS England) "
                         "/ a PCN of 45,000 = 31; range 11-67 (ICSs of 0.5-3 million)",
                         "PCNs of the ICS that the system bodies' primary care seats are shared among when a single "
                         "PCN is simulated (a simulated ICS of several PCNs shares them among its `pcns`)",
                         ge=1, le=2000)
    observer_voice_share: float = P(0.25, "share of a decision", "assumed (an unseated CD may speak but neither "
                                    "votes nor is asked; range 0-0.5)",
                                    "credit for a PCN's view when its CD attends a system meeting without a seat",
                                    ge=0, le=1)
    forum_carry_share: float = P(0.8, "share of a decision", "assumed (a representative carries the forum's "
                                 "views, not every PCN's detail; range 0.5-1)",
                                 "credit for a PCN's view carried by a seated forum representative, when its CD "
                                 "attended the last forum ('forum' representation)", ge=0, le=1)

    @model_validator(mode="after")
    def _one_size_per_pcn(self) -> "IcsConfig":
        sizes = self.pcn_list_sizes
        if sizes and len(sizes) != self.pcns:
            raise ValueError(f"pcn_list_sizes needs one list size per PCN (ics.pcns = {self.pcns}), got {len(sizes)}")
        if sizes and not all(100 <= v <= 2_000_000 for v in sizes):
            raise ValueError("pcn_list_sizes: every PCN's list must be between 100 and 2,000,000 patients")
        return self

    @model_validator(mode="after")
    def _reps_within_pcns(self) -> "IcsConfig":
        if self.representation == "forum" and self.forum_representatives > self.pcns:
            raise ValueError(
                f"forum_representatives ({self.forum_representatives}) cannot exceed the PCNs in "
                f"the ICS (ics.pcns = {self.pcns})")
        return self
