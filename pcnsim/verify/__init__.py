"""Verification of the model: limit cases with known answers, and invariants of every run.

`run_checks()` returns a list of `Check`s, each comparing what the model gives (`got`) with
what it must give (`expected`) within a `tolerance`:

- conservation laws that hold exactly in every run (demand, CD hours, ARRS budget,
  headcounts), on the baseline and on an ICS of several PCNs;
- limit cases: no ARRS budget, no system meetings, unlimited GP capacity;
- a single demand type with Poisson arrivals and a fixed whole number of appointments a
  day: the practice's backlog is then the discrete-time queue
  ``Q[n+1] = max(Q[n] + A[n+1] - c, 0)``, ``A ~ Poisson(lam)``, whose stationary
  distribution is computed exactly (`exact_queue`) and compared with the simulation, with
  a tolerance from the replications' confidence interval;
- Little's law in its sample-path form, which holds exactly for every run (`little`);
- determinism: one seed, one set of numbers.

The checks and their formulas are written up in docs/verification.md. This module runs
the model and does no I/O; the `pcnsim verify` command prints the table.
"""
from __future__ import annotations

from pcnsim.verify.base import Check, _check
from pcnsim.verify.cases import exact_queue, queue_capacity, queue_scenario, scenario
from pcnsim.verify.checks import run_checks
from pcnsim.verify.observing import Observed, age_sum, idle_while_unmet, little, observe

__all__ = ["Check", "Observed", "age_sum", "exact_queue", "idle_while_unmet", "little", "observe", "queue_capacity",
           "queue_scenario", "run_checks", "scenario", "_check"]
