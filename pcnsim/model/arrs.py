"""The PCN's ARRS workforce: money, posts, people.

The year's budget buys fractional WTE in the role mix, to the pound; each role's establishment
is whole-time posts plus one part-time post. A vacant post is advertised, and filled when the
recruitment time has passed and a candidate is taken from the ICS's shared labour supply
(`labour.LabourSupply`), which the PCNs compete for. Attrition rises when GP supervision is
not given. The staff in post open clinics in the booking diaries (`practices.Practices`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections import deque

import numpy as np
import simpy

from pcnsim.config import ARRS_ROLES, DAYS_PER_WEEK, WEEKS_PER_YEAR, Scenario
from pcnsim.model.calendar import SESSION_MINUTES, WEEK, WEEK_PLAN_AT, leave_share
from pcnsim.model.labour import LabourSupply
from pcnsim.model.ledger import Measured, Week


def arrs_budget(scenario: Scenario, year: int = 0) -> float:
    """The PCN's ARRS budget in year `year` of the horizon (0 = the first), £ a year."""
    by_year = scenario.funding.arrs_per_patient_by_year
    rate = by_year[min(year, len(by_year) - 1)] if by_year else scenario.funding.arrs_per_patient
    return rate * scenario.list_size


def arrs_posts(scenario: Scenario, year: int = 0, week: int | None = None) -> dict[str, float]:
    """WTE by role the year's ARRS budget buys: the budget spent in the role mix (shares of WTE), to the pound.

    WTE of role r = budget x m_r / sum_k m_k c_k (m the mix of the roles the scheme allows in
    `week` (default: the year's first), normalised; c the annual cost of a WTE), so that
    sum_r WTE_r c_r = budget exactly. More money buys proportionally more of every role.
    """
    budget = arrs_budget(scenario, year)
    week = year * WEEKS_PER_YEAR if week is None else week
    roles = scenario.arrs.roles
    mix = {r: (getattr(scenario.arrs.mix, r) if getattr(roles, r).from_week <= week else 0.0) for r in ARRS_ROLES}
    total = sum(mix.values())
    cost = {r: role.annual_cost for r, role in scenario.arrs.roles.items()}
    per_unit = sum(mix[r] / total * cost[r] for r in ARRS_ROLES) if total > 0 else 0.0
    if budget <= 0 or per_unit <= 0:
        return dict.fromkeys(ARRS_ROLES, 0.0)
    return {r: budget * mix[r] / total / per_unit for r in ARRS_ROLES}


@dataclass(eq=False, slots=True)
class Starter:
    """A new ARRS starter: their role's index, their WTE and when they took up the post (their induction)."""

    role: int
    wte: float
    since: float


class ArrsWorkforce:
    """The ARRS staff of one PCN, by role: establishment (whole posts + a part-time post) and who is in post.

    Collaborators: the week's books (`week`: leavers, and on Saturday posts, staff and money) and the
    ICS's labour supply (`supply`), which it hires from. The leadership work sets `attrition_multiplier`
    and `recruitment_factor` each Saturday; the PCN sets `supervision_ratio`.
    """

    def __init__(self, env: simpy.Environment, s: Scenario, week: Week, supply: LabourSupply,
                 rng: np.random.Generator, rng_recruitment: np.random.Generator):
        self.env, self.s, self.week, self.supply = env, s, week, supply
        self.rng, self.rng_recruitment = rng, rng_recruitment
        self.roles = dict(s.arrs.roles.items())
        self.leave = leave_share(s)
        self.changes = 0
        self.slots_per_wte = np.array([
            s.arrs.sessions_per_wte / DAYS_PER_WEEK * SESSION_MINUTES * s.arrs.patient_facing_share
            / self.roles[r].appointment_minutes for r in ARRS_ROLES])
        self.supervision_hours = np.array([self.roles[r].supervision_hours_per_week for r in ARRS_ROLES])
        self.supervision_ratio = 1.0                          # share of last week's supervision given
        # leadership work's consequences (`LeadershipWork.consequences`): attrition, and recruitment time
        self.attrition_multiplier = 1.0
        self.recruitment_factor = 1.0
        self.costs = [(r, self.roles[r].annual_cost) for r in ARRS_ROLES]
        self.budgets: dict[int, float] = {}                   # the week's ARRS budget by year (`close_week`)
        self.posts: dict[str, float] = {}
        self.whole = dict.fromkeys(ARRS_ROLES, 0)             # whole-time posts in the establishment
        self.part = dict.fromkeys(ARRS_ROLES, 0.0)            # the part-time post's WTE (0: none)
        self.in_whole = dict.fromkeys(ARRS_ROLES, 0)          # whole-time staff in post
        self.in_part = dict.fromkeys(ARRS_ROLES, False)       # the part-time post filled
        self.seeking_whole = dict.fromkeys(ARRS_ROLES, 0)     # whole-time posts being recruited
        self.seeking_part = dict.fromkeys(ARRS_ROLES, False)
        self.starters = 0     # people who took up a post since the leadership work last counted them (induction)
        # the induction link (docs/model.md 2.6): starters not yet counted by the leadership work, and those
        # working at `arrs.new_starter_productivity` until their induction is done (or `unaided_induction_weeks`)
        self.new_starters: list[Starter] = []
        self.inducting: list[Starter] = []
        self.induction_link = (s.leadership.induction_link and s.leadership.induction_hours_per_starter > 0
                               and s.arrs.new_starter_productivity < 1.0)
        self.role_index = {r: i for i, r in enumerate(ARRS_ROLES)}
        self.start_times: deque[float] = deque()              # when recent starters took up their posts
        self.in_post = dict.fromkeys(ARRS_ROLES, 0.0)         # WTE in post
        # `close_week`'s sums (posts funded, staff, vacancies, pay), kept while the posts and staff stay
        self._staff_changes, self._staff_posts, self._staff = -1, None, (0.0, 0.0, 0.0, 0.0)
        # the establishment is set at the start, each April when the budget changes by year, and when
        # the scheme first allows a role that is in the mix
        self.replan = sorted({self.roles[r].from_week for r in ARRS_ROLES
                              if self.roles[r].from_week > 0 and getattr(s.arrs.mix, r) > 0})
        self.establish(0, start=True)

    def start(self) -> None:
        self.env.process(self.weeks())

    def close_week(self, week: int) -> None:
        """Saturday: posts funded, staff in post, vacancies, pay, the week's budget and the attrition multiplier."""
        wk, s, in_post = self.week, self.s, self.in_post
        # the staff and pay sums change only with the posts or the staff in post (`_update` counts the changes)
        if self._staff_changes != self.changes or self._staff_posts is not self.posts:
            funded, staff = float(sum(self.posts.values())), float(sum(in_post.values()))
            spend = sum([in_post[r] * cost for r, cost in self.costs]) / WEEKS_PER_YEAR
            self._staff_changes, self._staff_posts = self.changes, self.posts
            self._staff = (funded, staff, funded - staff, spend)
        wk.arrs_posts_funded, wk.arrs_in_post, wk.arrs_vacancies, wk.arrs_spend = self._staff
        year = week // WEEKS_PER_YEAR
        if year not in self.budgets:
            self.budgets[year] = arrs_budget(s, year) / WEEKS_PER_YEAR
        wk.arrs_budget = self.budgets[year]
        wk.arrs_attrition_multiplier = self.attrition_multiplier

    def metrics(self, measured: Measured) -> dict[str, float]:
        """The workforce's catalogue metrics: leavers, vacancies, staff, posts, pay, budget and attrition."""
        funded = measured.series["arrs_posts_funded"]
        vacancies = measured.series["arrs_vacancies"]
        spend, budget = measured.total("arrs_spend"), measured.total("arrs_budget")
        return {
            "arrs_leavers_per_year": measured.per_year("arrs_leavers"),
            "arrs_vacancy_rate": float(vacancies.sum() / funded.sum()) if funded.sum() else 0.0,
            "arrs_staff_wte": measured.mean("arrs_in_post"),
            "arrs_posts_funded": measured.mean("arrs_posts_funded"),
            "arrs_spend_per_year": spend / measured.years,
            "arrs_budget_per_year": budget / measured.years,
            "arrs_budget_used_share": spend / budget if budget > 0 else 0.0,
            "arrs_attrition_multiplier": measured.mean("arrs_attrition_multiplier"),
        }

    def _update(self, r: str) -> None:
        self.in_post[r] = self.in_whole[r] + (self.part[r] if self.in_part[r] else 0.0)
        self.changes += 1                  # the practices' diaries re-read the staff in post

    def establish(self, year: int, start: bool = False, week: int | None = None) -> None:
        """Set the establishment the year's budget buys; advertise posts that are vacant and not being filled.

        At the start, posts begin filled at the steady-state vacancy level (each vacant with
        probability a r / 52 / (1 + a r / 52)), and those vacant have part of a recruitment time
        left. Later, staff above a smaller establishment stay until they leave (no redundancies).
        """
        s = self.s
        self.posts = arrs_posts(s, year, week)
        for r in ARRS_ROLES:
            wte = self.posts[r]
            whole = math.floor(wte + 1e-9)
            part = wte - whole
            self.whole[r], self.part[r] = whole, (part if part > 1e-9 else 0.0)
            if start:
                a, weeks = self.roles[r].attrition_per_year, s.arrs.recruitment_weeks
                vacant_p = a * weeks / WEEKS_PER_YEAR / (1 + a * weeks / WEEKS_PER_YEAR)
                vacant = int(self.rng.binomial(whole, vacant_p))
                self.in_whole[r] = whole - vacant
                self.in_part[r] = bool(self.part[r]) and self.rng.random() >= vacant_p
            if not self.part[r]:
                self.in_part[r] = False
            self._update(r)
            self.advertise(r, residual=start)

    def advertise(self, r: str, residual: bool = False) -> None:
        """Start recruiting every vacant post of role r that is not already being filled."""
        for _ in range(self.whole[r] - self.in_whole[r] - self.seeking_whole[r]):
            self.seeking_whole[r] += 1
            self.env.process(self.recruit(r, True, residual))
        if self.part[r] and not self.in_part[r] and not self.seeking_part[r]:
            self.seeking_part[r] = True
            self.env.process(self.recruit(r, False, residual))

    def working_wte(self) -> np.ndarray:
        """WTE by role at work on an average day (in post, less the leave share), new starters whose
        induction is not done counted at `arrs.new_starter_productivity` (at most the staff in post)."""
        wte = np.array([self.in_post[r] for r in ARRS_ROLES])
        if self.inducting:
            new = np.zeros(len(ARRS_ROLES))
            for st in self.inducting:
                new[st.role] += st.wte
            wte = wte - (1.0 - self.s.arrs.new_starter_productivity) * np.minimum(new, wte)
        return wte * (1.0 - self.leave)

    def started(self, role: str, wte: float) -> None:
        """Someone took up a post: the leadership work gives them an induction task next Monday; with the
        induction link they work at reduced productivity until it is done."""
        self.starters += 1
        self.start_times.append(self.env.now)
        starter = Starter(self.role_index[role], wte, self.env.now)
        self.new_starters.append(starter)
        if self.induction_link:
            self.inducting.append(starter)

    def inducted(self, starter: Starter) -> None:
        """A starter's induction task is done: fully productive from now (the diaries re-read the staff)."""
        if starter in self.inducting:
            self.inducting.remove(starter)
            self.changes += 1

    def unaided(self) -> None:
        """Monday: starters past `arrs.unaided_induction_weeks` are productive, inducted or not."""
        limit = self.env.now - self.s.arrs.unaided_induction_weeks * WEEK
        if self.inducting and self.inducting[0].since <= limit:    # in order of starting
            self.inducting = [st for st in self.inducting if st.since > limit]
            self.changes += 1

    def wte_in_post(self) -> float:
        """ARRS WTE in post now (read-only)."""
        return float(sum(self.in_post.values()))

    def recent_starters(self, weeks: float) -> int:
        """People who took up a post in the last `weeks` weeks (read-only, leavers among them included)."""
        times, since = self.start_times, self.env.now - weeks * WEEK
        while times and times[0] < since:
            times.popleft()
        return len(times)

    def weeks(self):
        """Each Monday: in April the year's establishment; leavers (attrition rises without supervision)."""
        env, s, rng = self.env, self.s, self.rng
        boost = s.arrs.unsupervised_attrition_multiplier - 1.0
        attrition = [(r, self.roles[r].attrition_per_year) for r in ARRS_ROLES]
        in_whole, in_part = self.in_whole, self.in_part      # updated in place, never replaced
        whole_posts, part_posts = self.whole, self.part      # likewise
        week = 0
        while True:
            # one wake-up a week, on Monday at WEEK_PLAN_AT (nothing else happens then: the order is kept)
            yield env.timeout(week * WEEK + WEEK_PLAN_AT - env.now)
            if week and ((week % WEEKS_PER_YEAR == 0 and s.funding.arrs_per_patient_by_year) or week in self.replan):
                self.establish(week // WEEKS_PER_YEAR, week=week)
            self.unaided()
            # unsupervised staff leave more, and so do staff whose line management and induction go undone
            multiplier = (1.0 + boost * (1.0 - self.supervision_ratio)) * self.attrition_multiplier
            # one uniform per whole-time post of the establishment (or per person, above a cut one) and
            # one for the part-time post, drawn whoever is in post: two runs that differ only in the
            # hazard (paired sweep points) draw the same numbers, and a post left in one is left in both
            # whenever the other's hazard is the higher (docs/model.md 4.3). The roles' uniforms follow
            # each other in the stream, so they are drawn in one call (the same numbers as a call a role);
            # when none is below the highest chance of leaving, nobody leaves and no role is looked at
            drawn, n, p_max = [], 0, 0.0
            for r, a in attrition:
                posts = max(whole_posts[r], in_whole[r])
                if posts or part_posts[r] or in_part[r]:
                    p_leave = 1.0 - math.exp(-a * multiplier / WEEKS_PER_YEAR)
                    drawn.append((r, p_leave, posts, n))
                    n += posts + 1
                    if p_leave > p_max:
                        p_max = p_leave
            u = rng.random(n).tolist() if n else []
            if u and min(u) < p_max:
                for r, p_leave, posts, at in drawn:
                    whole, part = in_whole[r], in_part[r]
                    leavers = 0
                    for x in u[at:at + whole]:
                        if x < p_leave:
                            leavers += 1
                    part_leaves = part and u[at + posts] < p_leave
                    if leavers or part_leaves:
                        in_whole[r] -= leavers
                        in_part[r] = part and not part_leaves
                        self.week.arrs_leavers += leavers + int(part_leaves)
                        self._update(r)
                        self.advertise(r)
            week += 1

    def recruit(self, role: str, whole: bool, residual: bool = False):
        """A vacant post is advertised; after the recruitment time (gamma, shape 4) it is filled by a
        candidate from the ICS's labour supply, as soon as one is there (the PCNs compete for them).
        Development work done shortens the search (`recruitment_factor`)."""
        mean = self.s.arrs.recruitment_weeks * self.recruitment_factor
        rng = self.rng_recruitment
        weeks = rng.gamma(4.0, mean / 4.0) if mean > 0 else 0.0
        if residual:  # a post vacant at the start has a uniformly distributed time left
            weeks *= rng.random()
        yield self.env.timeout(weeks * WEEK)
        yield self.supply.hire(role)
        if whole:
            self.seeking_whole[role] -= 1
            if self.in_whole[role] < self.whole[role]:
                self.in_whole[role] += 1
                self.started(role, 1.0)
        else:
            self.seeking_part[role] = False
            if self.part[role]:
                self.in_part[role] = True
                self.started(role, self.part[role])
        self._update(role)
