"""One primary care network: its actors, its weekly books and its metrics.

A `Pcn` builds its ARRS workforce, practices, leadership work, manager and clinical director,
each handed the collaborators it uses; each Saturday it closes the week's books (one value per
WEEKLY_SERIES), and at the end it merges its actors' metrics over the weeks after warm-up.
"""
from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from pcnsim.config import DEMAND_TYPES, GPAD_BINS, WEEKS_PER_YEAR, Scenario
from pcnsim.model.arrs import ArrsWorkforce
from pcnsim.model.claims import Claims
from pcnsim.model.clinical_director import ClinicalDirector
from pcnsim.model.ledger import WEEK_FIELDS, WEEKLY_SERIES, Measured, Week
from pcnsim.model.leadership import LeadershipWork, PcnManager
from pcnsim.model.practices import Practices
from pcnsim.model.streams import pcn_stream

if TYPE_CHECKING:
    from pcnsim.model.ics import Ics


class Pcn:
    """One primary care network: practices, ARRS workforce, leadership work, manager and CD.

    Built leaves first, each actor handed what it uses: the week's books; the ARRS workforce
    (the books, the ICS's labour supply); the practices; the leadership work (the workforce);
    the manager (the work); the claimants on the CD's protected time (the practices' GP pressure
    and recall to clinic, the workforce's staff in post and recent starters); the CD (the work, the
    manager, the practices, the ICS's meeting calendar, the claimants). The manager and the CD hold the work, so what the work needs of them goes back
    as narrow callbacks (`LeadershipWork.connect`).
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int, index: int, ics: Ics):
        self.env, self.s, self.replication, self.index, self.ics = env, scenario, replication, index, ics
        # the week's books, written by every actor and closed on Saturday (one object, reset in place)
        self.week = week = Week()
        self.week_rows: list[tuple] = []          # one row of WEEKLY_SERIES a week (`weekly` reads them by series)
        self._week_values = operator.attrgetter(*WEEK_FIELDS)
        self._weekly = None
        self.served_by_age = np.zeros(scenario.demand.diary_days + 1)   # measured bookings by lead (working days)
        self.planned_by_age = np.zeros(scenario.demand.diary_days + 1)  # of planned work (not waits)
        self.measuring = False
        self.backlog_start = 0
        # the Saturday books' constants: the CD's and manager's pay a week
        self._cd_pay_week = scenario.cd_protected_sessions * scenario.costs.cd_session
        self._manager_pay_week = scenario.funding.manager_wte * scenario.costs.manager_wte / WEEKS_PER_YEAR

        self.arrs = ArrsWorkforce(env, scenario, week, ics.labour_supply, self.rng("arrs"),
                                  self.rng("arrs_recruitment"))
        self.practices = Practices(scenario, env, week, self.rng("demand"), self.rng("booking"), self.arrs,
                                   lambda: self.measuring, ics.engine, rng_leads=self.rng("demand/leads"))
        self._leads = np.arange(self.practices.week_served_by_age.size)   # an appointment's lead, in working days
        self.work = work = LeadershipWork(env, scenario, self.arrs, self.rng)
        self.manager = PcnManager(scenario, week, work)
        # the claimants on the CD's protected time: read-only callables of the practices and the workforce
        self.claims = Claims(env, scenario, week, self.rng, self.practices.gp_pressure, self.practices.add_gp_hours,
                             self.arrs.wte_in_post, self.arrs.recent_starters, self.practices.list_sizes)
        self.cd = cd = ClinicalDirector(env, scenario, week, self.rng, work, self.manager, self.practices, ics, index,
                                        self.claims)
        work.connect(claim=self.manager.claim, urgent=cd.desk.request_arrived, commitment=lambda: cd.commitment)
        # started in this order: events due at one instant run in the order they were scheduled (the
        # ICS closes the week's books, `week_close`)
        self.practices.start()
        self.arrs.start()
        self.cd.start()
        self.work.start()

    def rng(self, process: str) -> np.random.Generator:
        """The random stream of one of this PCN's processes (streams.STREAM_PROCESSES)."""
        return pcn_stream(self.s, self.replication, self.index, process)

    def week_close(self, week: int) -> None:
        """Saturday, week `week`: the manager's week, supervision given, staff, money and the week's series.

        The ICS closes its PCNs' books one after the other, in PCN order, at BOOKS_CLOSE_AT (`Ics.books`):
        nothing else happens then, and closing the books starts no process.
        """
        s, wk = self.s, self.week
        practices, arrs, cd, work = self.practices, self.arrs, self.cd, self.work
        practices.close_week()
        self.manager.close_week()
        work.consequences()
        if s.leadership.development_demand_reduction > 0:     # development done avoids demand (2.6)
            practices.demand_factor = 1.0 - s.leadership.development_demand_reduction * work.done_share["development"]
        # the share of supervision given, as `supervision_given_share` counts it, sets next week's attrition
        needed = wk.gp_supervision_needed_hours
        arrs.supervision_ratio = wk.gp_supervision_hours / needed if needed > 0 else 1.0
        wk.appointments = wk.gp_appointments + wk.arrs_appointments + wk.nurse_appointments + wk.dpc_appointments
        wk.backlog = practices.backlog()
        served = practices.week_served_by_age
        n_served = served.sum()
        wk.wait_days_mean = float(served @ self._leads / n_served) if n_served else 0.0
        planned = practices.diary.planned_by_age
        if self.measuring:
            self.served_by_age += served
            self.planned_by_age += planned
        served.fill(0.0)
        planned.fill(0.0)                          # the practices add to it in place (and read it each day)
        arrs.close_week(week)
        wk.cd_strain = cd.strain
        wk.practice_lead_pcn_hours = practices.lead_pcn_hours_week
        wk.cd_in_post = float(cd.in_post)
        wk.leadership_backlog_hours = work.open_hours()
        cd_pay = self._cd_pay_week if cd.in_post else 0.0
        wk.spend = wk.arrs_spend + cd_pay + self._manager_pay_week + wk.locum_sessions * s.costs.locum_session
        self.week_rows.append(self._week_values(wk) + tuple(arrs.in_post.values()))   # by role, in ARRS_ROLES order
        wk.reset()
        if week + 1 == s.run.warmup_weeks:
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
        """The end of warm-up: the PCN and its leadership work count from now on."""
        self.measuring = True
        self.work.measuring = True
        self.backlog_start = self.practices.backlog()
        self.backlog_start_by_type = self.practices.backlog_by_type()

    def metrics(self) -> dict[str, float]:
        """This PCN's catalogue metrics over the weeks after warm-up: each actor's own, merged.

        The practices' are worked out here (`delivery_metrics`) until `Practices` reports its own;
        the PCN adds its spend, its patients and the two ratios of the merged figures.
        """
        s = self.s
        measured = Measured(self.weekly, s.run.warmup_weeks, s.years_measured)
        m = self.delivery_metrics(measured)
        m.update(self.arrs.metrics(measured))
        m.update(self.work.metrics(measured, self.manager.tasks))
        m.update(self.manager.metrics(measured))
        m.update(self.cd.metrics(measured))
        m["spend_per_year"] = measured.per_year("spend")
        m["registered_patients"] = float(s.list_size)
        m["cost_per_appointment"] = m["spend_per_year"] / m["appointments_per_year"] if m["appointments_per_year"] else math.nan
        # of booked appointments (attended and not), as GPAD counts them by role
        booked = m["booked_appointments_per_year"]
        m["gp_appointment_share"] = m["gp_appointments_per_year"] / booked if booked else 0.0
        return m

    def delivery_metrics(self, measured: Measured) -> dict[str, float]:
        """The practices' metrics: requests, appointments and unmet by who and by type, the backlog,
        waits and booking lead times, supervision given, practice leads' PCN time and utilisation by pool.

        A seam: these belong to `Practices.metrics`, once the practices report their own.
        """
        pr, years, per_year, mean = self.practices, measured.years, measured.per_year, measured.mean
        requests = measured.total("requests")
        bt = pr.by_type
        served = self.served_by_age
        cum = np.cumsum(served)
        n_served = cum[-1] if cum.size else 0.0
        # did-not-attend: each type's booked appointments (slots used) times the expected DNA rate of its
        # bookings' GPAD lead bins (no random draw: the slot is used either way)
        bins = pr.diary.lead_bins
        rates = np.array(self.s.demand.dna_rates) * self.s.demand.dna_scale
        made = bins.sum(axis=1)
        dna_share = np.divide(bins @ rates, made, out=np.zeros_like(made), where=made > 0)
        booked_by_type = bt["appointments"]
        dna_by_type = booked_by_type * dna_share
        booked = float(booked_by_type.sum())
        dna = float(dna_by_type.sum())
        all_bins = bins.sum(axis=0)
        n = all_bins.sum()
        sup_needed = measured.total("gp_supervision_needed_hours")
        m = {"requests_per_year": per_year("requests"),
             "appointments_per_year": (booked - dna) / years,
             "dna_per_year": dna / years,
             "booked_appointments_per_year": booked / years,
             "gp_appointments_per_year": per_year("gp_appointments"),
             "arrs_appointments_per_year": per_year("arrs_appointments"),
             "nurse_appointments_per_year": per_year("nurse_appointments"),
             "dpc_appointments_per_year": per_year("dpc_appointments"),
             "unmet_per_year": per_year("unmet"),
             "backlog_start": float(self.backlog_start),
             "backlog_end": pr.backlog(),
             "demand_met_share": (booked - dna) / requests if requests else 1.0,
             "wait_days_mean": float(served @ np.arange(served.size) / n_served) if n_served else 0.0,
             "wait_days_p90": float(np.searchsorted(cum, 0.9 * n_served)) if n_served else 0.0,
             "gp_supervision_hours_per_week": mean("gp_supervision_hours"),
             "gp_supervision_needed_hours_per_week": mean("gp_supervision_needed_hours"),
             # the same hours as the weekly ratio ARRS attrition reads (`Pcn.week_close`), over the measured weeks
             "supervision_given_share": (measured.total("gp_supervision_hours") / sup_needed if sup_needed > 0
                                         else 1.0),
             "practice_lead_pcn_hours_per_week": mean("practice_lead_pcn_hours"),
             "diverted_per_year": bt["diverted"].sum() / years, "returned_per_year": bt["returned"].sum() / years,
             "booked_same_day_share": float(all_bins[0] / n) if n else 0.0,
             "booked_over_14_days_share": float(all_bins[4:].sum() / n) if n else 0.0}
        for b, name in enumerate(GPAD_BINS):
            m[f"booked_share.{name}"] = float(all_bins[b] / n) if n else 0.0
        end = pr.backlog_by_type()
        start = getattr(self, "backlog_start_by_type", np.zeros_like(end))
        for i, t in enumerate(DEMAND_TYPES):
            m[f"requests_per_year.{t}"] = bt["requests"][i] / years
            m[f"appointments_per_year.{t}"] = (booked_by_type[i] - dna_by_type[i]) / years
            m[f"dna_per_year.{t}"] = dna_by_type[i] / years
            m[f"gp_appointments_per_year.{t}"] = bt["gp"][i] / years
            m[f"unmet_per_year.{t}"] = bt["unmet"][i] / years
            m[f"diverted_per_year.{t}"] = bt["diverted"][i] / years
            m[f"backlog_change.{t}"] = float(end[i] - start[i])
        for name, share in pr.utilisation().items():
            m[f"utilisation.{name}"] = share
        return m
