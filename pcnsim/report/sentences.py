"""The results in plain English: one builder of sentences for a PCN, an ICS or England.

`result_sentences(has, est, val, voice)` takes three small functions over whatever holds
the numbers (a run's summary, national totals): `has(*metrics)` (are they all there),
`est(metric)` (the value with its 95% CI, formatted) and `val(metric)` (the value alone),
so that the report's key results (`page.key_sentences`) and the national figures
(`national.national_sentences`) say the same things in the same words. `voice` is
"pcn" (one PCN, or the mean PCN of an ICS) or "national" (totals over many ICSs).
"""
from __future__ import annotations

from typing import Callable

__all__ = ["result_sentences", "capitalised"]

Has = Callable[..., bool]
Text = Callable[[str], str]


def capitalised(sentences: list[str]) -> list[str]:
    """Each sentence with a capital first letter ("2.1 requests..." unchanged)."""
    return [s[0].upper() + s[1:] if s else s for s in sentences]


def result_sentences(has: Has, est: Text, val: Text, voice: str = "pcn") -> list[str]:
    """The delivery, leadership, retention and money sentences, each when its metrics are there.

    The opening sentence (who delivered how many appointments) belongs to the caller: it
    names the PCN or the country."""
    national = voice == "national"
    cd = "the average clinical director" if national else "the clinical director"
    out: list[str] = []
    if has("unmet_per_year"):
        if has("diverted_per_year"):
            out.append(f"{est('unmet_per_year')} requests a year went unserved: {est('diverted_per_year')} "
                       "urgent ones not seen by the next day (diverted to 111, A&E or a pharmacy), the "
                       "rest routine ones not booked (declined or no slot) that did not come back.")
        else:
            out.append(f"{est('unmet_per_year')} requests a year went unserved (diverted to 111, A&E "
                       "or a walk-in centre).")
    if has("wait_days_mean"):
        tail = (" (mean over PCNs)" if national else
                f"; one patient in ten waited more than {val('wait_days_p90')} working days"
                if has("wait_days_p90") else "")
        out.append(f"Patients waited {est('wait_days_mean')} working days on average for an "
                   f"appointment{tail}.")
    if has("backlog_end") and not national:
        out.append(f"At the end of the run {est('backlog_end')} requests were waiting.")
    if has("lost_appointments_per_year"):
        who = "clinical directors" if national else "the CD"
        out.append(f"Clinical sessions {who} gave up cost {est('lost_appointments_per_year')} "
                   "appointments a year.")
    if national and has("cd_protected_hours_per_week"):
        lead = (f" and spent {val('cd_leadership_hours_per_week')} on leadership tasks"
                if has("cd_leadership_hours_per_week") else "")
        out.append(f"{cd} had {est('cd_protected_hours_per_week')} hours a week of protected "
                   f"time{lead}.")
    if not national and has("cd_clinical_hours_per_week", "cd_leadership_hours_per_week"):
        meet = (f" and {val('cd_meeting_hours_per_week')} in system meetings"
                if has("cd_meeting_hours_per_week") else "")
        out.append(f"{cd} spent {val('cd_clinical_hours_per_week')} hours a week in clinical "
                   f"sessions, {val('cd_leadership_hours_per_week')} on leadership tasks{meet}.")
    if has("cd_overtime_hours_per_week"):
        out.append(f"{cd} worked {est('cd_overtime_hours_per_week')} hours a week of unpaid "
                   "overtime.")
    if has("leadership_tasks_overdue_share") and not national:
        out.append(f"{est('leadership_tasks_overdue_share')} of leadership tasks were finished late "
                   "or never.")
    if has("cd_involved_share") and not national:
        # involvement first: being in the room is not being heard (docs/model.md 2.9)
        always = (f"; {val('cd_always_involved_share')} of CDs had it put into at least 90% of the "
                  "decisions taken while they were at work (12% of PCN leaders say they are always "
                  "involved, NHS Confederation 2021)" if has("cd_always_involved_share") else "")
        out.append(f"The PCN's view was put into {est('cd_involved_share')} of the system decisions "
                   f"affecting it{always}.")
    if has("meetings_attended_share"):
        rep = (f"; primary care had a CD present at {val('representation_share')} of system meetings"
               if has("representation_share") and not national else "")
        who = "clinical directors" if national else "the CD"
        out.append(f"{who} attended {est('meetings_attended_share')} of the system meetings they "
                   f"were expected at{rep}.")
    if has("cd_resignations_per_year"):
        if national:
            out.append(f"{est('cd_resignations_per_year')} clinical directors resigned a year "
                       "across these PCNs.")
        else:
            vac = (f"; the post was vacant {val('cd_vacancy_share')} of weeks"
                   if has("cd_vacancy_share") else "")
            out.append(f"CDs resigned {est('cd_resignations_per_year')} times a year{vac}.")
    if has("arrs_staff_wte"):
        leavers = (f"; {est('arrs_leavers_per_year')} left a year"
                   if national and has("arrs_leavers_per_year") else "")
        when = "" if national else " on average"
        out.append(f"{est('arrs_staff_wte')} WTE of ARRS staff were in post{when}{leavers}.")
    if has("arrs_leavers_per_year") and not national:
        vac = (f", and {val('arrs_vacancy_rate')} of funded ARRS posts were vacant"
               if has("arrs_vacancy_rate") else "")
        out.append(f"{est('arrs_leavers_per_year')} ARRS staff left a year{vac}.")
    if has("arrs_budget_used_share") and not national:
        out.append(f"{est('arrs_budget_used_share')} of the ARRS budget was used.")
    if has("spend_per_year"):
        cpa = (f", {val('cost_per_appointment')} per appointment delivered"
               if has("cost_per_appointment") else "")
        out.append(f"PCN-funded spend (ARRS staff, CD sessions, the manager and locums; GP and nurse "
                   f"pay not counted) was {est('spend_per_year')} a year{cpa}.")
    return capitalised(out)
