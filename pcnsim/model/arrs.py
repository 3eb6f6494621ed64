"""The PCN's ARRS workforce: the posts its budget buys, staff in post, on leave, leaving and recruited.

Attrition rises when GP supervision is not given; a vacant post is filled after the
recruitment time. Staff at work serve their role's demand type across the PCN.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pcnsim.config import ARRS_ROLES, DAYS_PER_WEEK, DEMAND_TYPES, WEEKS_PER_YEAR, Scenario
from pcnsim.model.calendar import SESSION_MINUTES, WEEK, WEEK_PLAN_AT, leave_share
from pcnsim.model.practices import as_index

if TYPE_CHECKING:
    from pcnsim.model.pcn import Pcn


def arrs_posts(scenario: Scenario) -> dict[str, int]:
    """Whole-WTE posts the ARRS budget buys in the role mix, never costing more than the budget.

    Posts are bought in one fixed order that does not depend on the budget (Webster's divisor
    method on the mix: the next post goes to the role with the largest share / (posts + 0.5)),
    stopping at the first post that does not fit. So more money never buys fewer posts.
    """
    budget = scenario.arrs_budget
    mix = {r: getattr(scenario.arrs.mix, r) for r in ARRS_ROLES}
    cost = {r: role.annual_cost for r, role in scenario.arrs.roles.items()}
    posts = dict.fromkeys(ARRS_ROLES, 0)
    roles = [r for r in ARRS_ROLES if mix[r] > 0]
    left = budget
    while roles:
        r = max(roles, key=lambda r: (mix[r] / (posts[r] + 0.5), -ARRS_ROLES.index(r)))
        if cost[r] > left + 1e-9:
            return posts
        posts[r] += 1
        left -= cost[r]
        if cost[r] <= 0 and posts[r] > 10_000:   # free posts: stop somewhere sensible
            return posts
    return posts


class ArrsWorkforce:
    """The ARRS staff of one PCN, by role: funded posts, in post, on leave this week."""

    def __init__(self, pcn: Pcn):
        s = self.s = pcn.s
        self.pcn, self.env, self.week = pcn, pcn.env, pcn.week
        self.rng, self.rng_recruitment = pcn.rng("arrs"), pcn.rng("arrs_recruitment")
        self.roles = dict(s.arrs.roles.items())
        self.posts = arrs_posts(s)
        self.in_post = dict.fromkeys(ARRS_ROLES, 0)
        self.on_leave = dict.fromkeys(ARRS_ROLES, 0)
        by_type = [[r for r in ARRS_ROLES if self.roles[r].serves == t] for t in DEMAND_TYPES]
        types = [t for t, roles in enumerate(by_type) if roles]
        self.types = as_index(types)                          # the demand types ARRS staff serve
        self.roles_by_type = [by_type[t] for t in types]
        self.slots_per_wte = {
            r: s.arrs.sessions_per_wte / DAYS_PER_WEEK * SESSION_MINUTES * s.arrs.patient_facing_share
            / role.appointment_minutes for r, role in self.roles.items()}
        self.carry = dict.fromkeys(ARRS_ROLES, 0.0)          # fractions of appointments to the next day
        self.supervision_ratio = 1.0                          # share of last week's supervision given
        # posts start filled at the steady-state vacancy level; the vacant ones are being recruited
        for r in ARRS_ROLES:
            a, weeks = self.roles[r].attrition_per_year, s.arrs.recruitment_weeks
            vacant_p = a * weeks / WEEKS_PER_YEAR / (1 + a * weeks / WEEKS_PER_YEAR)
            vacant = int(self.rng.binomial(self.posts[r], vacant_p))
            self.in_post[r] = self.posts[r] - vacant
            for _ in range(vacant):
                self.env.process(self.recruit(r, residual=True))

    def start(self) -> None:
        self.env.process(self.weeks())

    def supervision_needed(self) -> float:
        """GP supervision hours a week the staff at work need (staff on leave this week need none)."""
        return sum((self.in_post[r] - self.on_leave[r]) * self.roles[r].supervision_hours_per_week
                   for r in ARRS_ROLES)

    def appointments_today(self) -> list[int]:
        """Whole appointments per served type today (the roles serving one type pool theirs)."""
        caps = []
        for roles in self.roles_by_type:
            cap = 0
            for r in roles:
                total = (self.in_post[r] - self.on_leave[r]) * self.slots_per_wte[r] + self.carry[r]
                whole = math.floor(total)
                self.carry[r] = total - whole
                cap += whole
            caps.append(cap)
        return caps

    def weeks(self):
        """Each Monday: who is on leave this week, and who leaves (attrition rises without supervision)."""
        env, s, rng = self.env, self.s, self.rng
        leave_p = leave_share(s)
        boost = s.arrs.unsupervised_attrition_multiplier - 1.0
        while True:
            yield env.timeout(WEEK_PLAN_AT)
            # unsupervised staff leave more, and so do staff whose line management and induction go undone
            multiplier = (1.0 + boost * (1.0 - self.supervision_ratio)) * self.pcn.arrs_attrition_multiplier
            for r in ARRS_ROLES:
                n = self.in_post[r]
                if n == 0:
                    self.on_leave[r] = 0
                    continue
                p_leave = 1.0 - math.exp(-self.roles[r].attrition_per_year * multiplier / WEEKS_PER_YEAR)
                leavers = int(rng.binomial(n, p_leave))
                if leavers:
                    self.in_post[r] -= leavers
                    self.week.arrs_leavers += leavers
                    for _ in range(leavers):
                        env.process(self.recruit(r))
                self.on_leave[r] = int(rng.binomial(self.in_post[r], leave_p))
            yield env.timeout(WEEK - WEEK_PLAN_AT)

    def recruit(self, role: str, residual: bool = False):
        """A vacant post is advertised and filled after the recruitment time (gamma, shape 4)."""
        mean = self.s.arrs.recruitment_weeks * self.pcn.arrs_recruitment_factor   # development work done: faster
        rng = self.rng_recruitment
        weeks = rng.gamma(4.0, mean / 4.0) if mean > 0 else 0.0
        if residual:  # a post vacant at the start has a uniformly distributed time left
            weeks *= rng.random()
        yield self.env.timeout(weeks * WEEK)
        self.in_post[role] += 1
