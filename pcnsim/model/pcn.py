"""One primary care network: its actors, its weekly books and its metrics.

A `Pcn` brings together its practices, ARRS workforce, leadership work, manager and clinical
director; each Saturday it closes the week's books (one value per WEEKLY_SERIES), and at the
end it turns the weeks after warm-up into the INTERFACE.md metrics of the PCN.
"""
from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from pcnsim.config import ARRS_ROLES, DEMAND_TYPES, WEEKS_PER_YEAR, Scenario
from pcnsim.model.arrs import ArrsWorkforce, arrs_budget
from pcnsim.model.calendar import BOOKS_CLOSE_AT, WEEK
from pcnsim.model.clinical_director import ClinicalDirector
from pcnsim.model.ledger import WEEK_FIELDS, WEEKLY_SERIES, Week
from pcnsim.model.leadership import LeadershipWork, PcnManager
from pcnsim.model.practices import Practices
from pcnsim.model.streams import pcn_stream

if TYPE_CHECKING:
    from pcnsim.model.ics import Ics

class Pcn:
    """One primary care network: practices, ARRS workforce, leadership work, manager and CD."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int, index: int, ics: Ics):
        self.env, self.s, self.replication, self.index, self.ics = env, scenario, replication, index, ics
        # the week's books, written by every actor and closed on Saturday (one dict, reset in place)
        self.week = Week()
        self.week_rows: list[tuple] = []          # one row of WEEKLY_SERIES a week (`weekly` reads them by series)
        self._week_values = operator.attrgetter(*WEEK_FIELDS)
        self._weekly = None
        self.served_by_age = np.zeros(scenario.demand.patience_days + 1)   # measured appointments by lead
        self.measuring = False
        self.backlog_start = 0

        # leadership work's consequences for the ARRS workforce (LeadershipWork.consequences)
        self.arrs_attrition_multiplier = 1.0
        self.arrs_recruitment_factor = 1.0
        self.arrs = ArrsWorkforce(self)
        self.practices = Practices(scenario, env, self.week, self.rng("demand"), self.rng("booking"), self.arrs,
                                   lambda: self.measuring, ics.engine)
        self.work = LeadershipWork(self)
        self.manager = PcnManager(self)
        self.cd = ClinicalDirector(self)
        # started in this order: events due at one instant run in the order they were scheduled
        self.practices.start()
        self.arrs.start()
        self.cd.start()
        env.process(self.week_close())
        self.work.start()

    def rng(self, process: str) -> np.random.Generator:
        """The random stream of one of this PCN's processes (streams.STREAM_PROCESSES)."""
        return pcn_stream(self.s, self.replication, self.index, process)

    def week_close(self):
        """Saturday: the manager's week, supervision given, staff, money and the week's series."""
        env, s = self.env, self.s
        practices, arrs, cd = self.practices, self.arrs, self.cd
        leads = np.arange(practices.week_served_by_age.size)     # an appointment's lead, in working days
        costs = [(r, arrs.roles[r].annual_cost) for r in ARRS_ROLES]
        budgets: dict[int, float] = {}                          # the week's ARRS budget by year
        cd_pay_week = s.cd_protected_sessions * s.costs.cd_session
        manager_pay_week = s.funding.manager_wte * s.costs.manager_wte / WEEKS_PER_YEAR
        week = 0
        while True:
            yield env.timeout(week * WEEK + BOOKS_CLOSE_AT - env.now)
            wk = self.week
            practices.close_week()
            self.manager.close_week()
            needed, practices.supervision_needed = practices.supervision_needed, 0.0
            arrs.supervision_ratio = wk.gp_supervision_hours / needed if needed > 0 else 1.0
            wk.appointments = wk.gp_appointments + wk.arrs_appointments + wk.nurse_appointments
            wk.backlog = practices.backlog()
            served = practices.week_served_by_age
            n_served = served.sum()
            wk.wait_days_mean = float(served @ leads / n_served) if n_served else 0.0
            if self.measuring:
                self.served_by_age += served
            served.fill(0.0)                          # the practices add to it in place (and read it each day)
            in_post = arrs.in_post
            wk.arrs_posts_funded = float(sum(arrs.posts.values()))
            wk.arrs_in_post = float(sum(in_post.values()))
            wk.arrs_vacancies = wk.arrs_posts_funded - wk.arrs_in_post
            wk.arrs_spend = sum([in_post[r] * cost for r, cost in costs]) / WEEKS_PER_YEAR
            year = week // WEEKS_PER_YEAR
            if year not in budgets:
                budgets[year] = arrs_budget(s, year) / WEEKS_PER_YEAR
            wk.arrs_budget = budgets[year]
            wk.cd_strain = cd.strain
            wk.arrs_attrition_multiplier = self.arrs_attrition_multiplier
            wk.practice_lead_pcn_hours = practices.lead_pcn_hours_week
            wk.cd_in_post = float(cd.in_post)
            wk.leadership_backlog_hours = self.work.open_hours()
            cd_pay = cd_pay_week if cd.in_post else 0.0
            wk.spend = wk.arrs_spend + cd_pay + manager_pay_week + wk.locum_sessions * s.costs.locum_session
            self.week_rows.append(self._week_values(wk) + tuple([in_post[r] for r in ARRS_ROLES]))
            wk.reset()
            week += 1
            if week == s.run.warmup_weeks:
                self.start_measuring()

    @property
    def weekly(self) -> dict[str, np.ndarray]:
        """The weekly series so far, by name (WEEKLY_SERIES), as float arrays."""
        n = len(self.week_rows)
        if self._weekly is None or self._weekly[0] != n:      # built once a week at most, when read
            cols = np.array(self.week_rows, dtype=float).reshape(n, len(WEEKLY_SERIES))
            self._weekly = (n, {k: cols[:, i] for i, k in enumerate(WEEKLY_SERIES)})
        return self._weekly[1]

    def start_measuring(self) -> None:
        self.measuring = True
        self.backlog_start = self.practices.backlog()
        self.backlog_start_by_type = self.practices.backlog_by_type()

    def metrics(self) -> dict[str, float]:
        """The INTERFACE.md metrics of this PCN over the weeks after warm-up."""
        s = self.s
        w0 = s.run.warmup_weeks
        years = s.years_measured
        series = {k: v[w0:] for k, v in self.weekly.items()}
        tot = {k: float(v.sum()) for k, v in series.items()}
        mean = {k: float(v.mean()) for k, v in series.items()}
        served = self.served_by_age
        cum = np.cumsum(served)
        n_served = cum[-1] if cum.size else 0.0
        funded = series["arrs_posts_funded"]
        # tasks due by the end: finished (late or not) or still open past their due date (never done)
        open_late = sum(1 for t in (*self.work.tasks, *self.manager.tasks) if t.due <= s.run.horizon_weeks * WEEK)
        due, overdue = self.work.due["count"] + open_late, self.work.due["overdue"] + open_late
        m = {
            "requests_per_year": tot["requests"] / years,
            "appointments_per_year": tot["appointments"] / years,
            "gp_appointments_per_year": tot["gp_appointments"] / years,
            "arrs_appointments_per_year": tot["arrs_appointments"] / years,
            "nurse_appointments_per_year": tot["nurse_appointments"] / years,
            "unmet_per_year": tot["unmet"] / years,
            "backlog_start": float(self.backlog_start),
            "backlog_end": self.practices.backlog(),
            "demand_met_share": tot["appointments"] / tot["requests"] if tot["requests"] else 1.0,
            "wait_days_mean": float(served @ np.arange(served.size) / n_served) if n_served else 0.0,
            "wait_days_p90": float(np.searchsorted(cum, 0.9 * n_served)) if n_served else 0.0,
            "lost_appointments_per_year": tot["lost_appointments"] / years,
            "gp_supervision_hours_per_week": mean["gp_supervision_hours"],
            "cd_clinical_hours_per_week": mean["cd_clinical_hours"],
            "cd_leadership_hours_per_week": mean["cd_leadership_hours"],
            "cd_meeting_hours_per_week": mean["cd_meeting_hours"],
            "cd_displaced_clinical_hours_per_week": mean["cd_displaced_clinical_hours"],
            "cd_overtime_hours_per_week": mean["cd_overtime_hours"],
            "cd_slack_hours_per_week": mean["cd_slack_hours"],
            "cd_protected_hours_per_week": mean["cd_protected_hours"],
            "leadership_tasks_overdue_share": (overdue / due if due else 0.0),
            "meetings_attended_share": (tot["meetings_attended"] / tot["meetings_expected"]
                                        if tot["meetings_expected"] else 1.0),
            "cd_resignations_per_year": tot["cd_resignations"] / years,
            "cd_vacancy_share": 1.0 - mean["cd_in_post"],
            "cd_posts_filled": mean["cd_in_post"],
            "cd_strain_mean": (float(series["cd_strain"] @ series["cd_in_post"] / series["cd_in_post"].sum())
                               if series["cd_in_post"].sum() else 0.0),    # over weeks with a CD in post
            "arrs_leavers_per_year": tot["arrs_leavers"] / years,
            "arrs_vacancy_rate": float(series["arrs_vacancies"].sum() / funded.sum()) if funded.sum() else 0.0,
            "arrs_staff_wte": mean["arrs_in_post"],
            "arrs_posts_funded": mean["arrs_posts_funded"],
            "arrs_spend_per_year": tot["arrs_spend"] / years,
            "arrs_budget_per_year": tot["arrs_budget"] / years,
            "arrs_budget_used_share": tot["arrs_spend"] / tot["arrs_budget"] if tot["arrs_budget"] > 0 else 0.0,
            "manager_hours_used_per_week": mean["manager_hours_used"],
            "locum_sessions_per_year": tot["locum_sessions"] / years,
            # leadership v2 (docs/model.md 3.4)
            "cd_role_hours_per_week": mean["cd_leadership_hours"] + mean["cd_meeting_hours"],
            "cd_hours_over_contract_per_week": mean["cd_overtime_hours"],
            "cd_protected_hours_displaced_per_week": mean["cd_protected_displaced_hours"],
            "development_hours_per_week": mean["development_hours"],
            "practice_lead_pcn_hours_per_week": mean["practice_lead_pcn_hours"],
            "arrs_attrition_multiplier": mean["arrs_attrition_multiplier"],
            "spend_per_year": tot["spend"] / years,
            "registered_patients": float(s.list_size),
        }
        m.update(self.delivery_metrics(years))
        m["cost_per_appointment"] = m["spend_per_year"] / m["appointments_per_year"] if m["appointments_per_year"] else math.nan
        m["gp_appointment_share"] = (m["gp_appointments_per_year"] / m["appointments_per_year"]
                                     if m["appointments_per_year"] else 0.0)
        return m

    def delivery_metrics(self, years: float) -> dict[str, float]:
        """The v2 delivery metrics: by type, diverted and returned, booking lead times, utilisation by pool."""
        pr = self.practices
        bt = pr.by_type
        served = self.served_by_age
        n = served.sum()
        m = {"diverted_per_year": bt["diverted"].sum() / years, "returned_per_year": bt["returned"].sum() / years,
             "booked_same_day_share": float(served[0] / n) if n else 0.0,
             # 14 calendar days = 10 working days: "over 14 days" is a lead of 11 working days or more
             "booked_over_14_days_share": float(served[11:].sum() / n) if n else 0.0}
        end = pr.backlog_by_type()
        start = getattr(self, "backlog_start_by_type", np.zeros_like(end))
        for i, t in enumerate(DEMAND_TYPES):
            m[f"requests_per_year.{t}"] = bt["requests"][i] / years
            m[f"appointments_per_year.{t}"] = bt["appointments"][i] / years
            m[f"gp_appointments_per_year.{t}"] = bt["gp"][i] / years
            m[f"unmet_per_year.{t}"] = bt["unmet"][i] / years
            m[f"diverted_per_year.{t}"] = bt["diverted"][i] / years
            m[f"backlog_change.{t}"] = float(end[i] - start[i])
        for name, share in pr.utilisation().items():
            m[f"utilisation.{name}"] = share
        return m
