"""The ICS's shared labour supply: candidates for ARRS posts, by role, that the PCNs compete for.

Candidates for each role arrive at the ICS as a Poisson process at a rate set by the ICS's
population, not by the money; each waits in a SimPy `Container` (up to a quarter-year's
arrivals; more give up and work elsewhere) until a PCN's recruitment process takes one. So
funding more posts everywhere does not fill them all: vacancies and underspend follow.
"""
from __future__ import annotations

import math
import simpy

from pcnsim.config import ARRS_ROLES, DEFAULT_ICS_NAME, Scenario
from pcnsim.model.calendar import WEEK
from pcnsim.model.streams import stream

YEAR = 52 * WEEK


def candidates_per_year(scenario: Scenario) -> dict[str, float]:
    """Candidates a year by role for the whole ICS: rate per 10,000 patients x role mix share x population
    (the registered patients of all its PCNs)."""
    rate = scenario.arrs.candidates_per_10k_year
    mix = {r: getattr(scenario.arrs.mix, r) for r in ARRS_ROLES}
    total = sum(mix.values())
    population = scenario.ics_list_size
    return {r: rate * mix[r] / total * population / 10_000 for r in ARRS_ROLES}


class LabourSupply:
    """One `Container` of candidates per ARRS role, filled by a Poisson arrival process per role.

    The ICS owns it (`Ics.labour_supply`) and hands it to each PCN's `ArrsWorkforce`, which hires from it.
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, replication: int):
        self.env = env
        label = "" if scenario.ics.name == DEFAULT_ICS_NAME else f"{scenario.ics.name}/"
        self.rng = stream(scenario, replication, f"{label}ics/labour_supply")
        self.rates = candidates_per_year(scenario)
        self.unlimited = scenario.arrs.candidates_per_10k_year <= 0
        self.pools = {r: simpy.Container(env, capacity=max(1, math.ceil(rate / 4)), init=0)
                      for r, rate in self.rates.items()}
        self.arrived = dict.fromkeys(ARRS_ROLES, 0)
        if not self.unlimited:
            for r, rate in self.rates.items():
                if rate > 0:
                    env.process(self.arrivals(r, rate))

    def arrivals(self, role: str, rate: float):
        pool = self.pools[role]
        while True:
            yield self.env.timeout(self.rng.exponential(YEAR / rate))
            self.arrived[role] += 1
            if pool.level < pool.capacity:
                yield pool.put(1)

    def hire(self, role: str):
        """An event that succeeds when a candidate for `role` is taken (at once if the supply is unlimited)."""
        if self.unlimited:
            return self.env.timeout(0)
        return self.pools[role].get(1)
