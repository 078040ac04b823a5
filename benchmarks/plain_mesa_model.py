"""The household adoption model written as a plain Mesa agent loop: the baseline of the speed benchmarks.

``diffusion`` runs its monthly rule (``diffusion/model/dynamics.py``, the members' year in
``diffusion/model/demography.py``, levers in ``diffusion/model/levers/``, the month's order in
``diffusion/model/engine.py``) as vectorised array operations over all households and their members, and many
runs stacked in one set of arrays. This module writes the **same rule** the way a Mesa user would naturally
write it, so that ``benchmarks/bench_sensitivity.py`` can time the vectorised pipeline against a like-for-like
plain Mesa version of the full four-product model on the shipped sensitivity design (Thôn Đông, 275
households, 59 months from 2021-01, levers smartphone subsidy, digital teams and fibre timing), and so that
``tests/test_plain_mesa_model.py`` can check the vectorised model's law against an independent writing of it:

* one ``PlainHousehold(mesa.Agent)`` per household, holding its attributes as Python scalars (income per
  person, income rank, skill, exposure, last team visit, a list of product-use booleans, eligibility flags,
  hamlet) and its members as three Python lists of ``SLOTS`` member slots (age, -1 for an empty slot; sex;
  whether the member uses a smartphone), and a list of its neighbour agents;
* a synchronous update in two phases, as Mesa's old ``SimultaneousActivation`` did: every agent decides
  from the start-of-month state (``model.agents.do("step")``), then every agent applies its decisions
  (``model.agents.do("advance")``); the members' year likewise, in phases (``age_a_year``, ``births``,
  ``settle_year``) with the model's counts between them;
* Python loops over neighbours and member slots, ``math.exp``, one draw from ``model.random`` per decision;
* the levers as model methods over the agents (team visits ordered with Python's ``sorted``), and a
  ``mesa.DataCollector`` whose model reporters loop over the agents (and their members) for the monthly
  shares and costs.

Words used below: a household's *size* is its living members; its *head* is the member in slot 0, or the
oldest member when slot 0 is empty; its *youngest adult* is its youngest member of 15 or over (the head when it
has none); its *first user* is the member who gets a smartphone the household takes up: the youngest of 15 or
over, else the youngest of at least ``phone_min_age``, else any member (the lowest slot on a tie), as
``diffusion.model.people.first_user``.

The rule, month t (1-based; absolute month ``month0 + t``, ``month0`` the run's start month), as in
``diffusion.model.engine.Engine.step``:

0. **in January** (absolute month divisible by 12; not for the identical households of the Bass check), the
   members' year, in phases over all households, with ``model.random``: (a) every member grows a year older;
   each dies with P = 1 - exp(-mortality_a * exp(mortality_b * age)); each member aged 18-29 outside slot 0
   leaves with P = 1 - exp(-leave_home_per_year); (b) each woman aged 20-39 gives birth with
   P = birth_rate_scale * min(0.9, crude birth rate of the month (``people.crude_birth_rate``) * the run's
   members / the run's women aged 20-39, both counted after (a)), at most one child a household a year (age 0,
   a girl with P = ``people.FEMALE_SHARE``, in the first free slot after slot 0 -- a child never takes the
   head's slot, as in ``demography.py``; none when those slots are all taken); a household
   left without members, and any other with P = g / (1 + g) (g = ``household_growth_per_year``), is to be
   re-formed; (c) the re-formed households: two adults aged 22-31 (slot 0, slot 1 a woman), a child aged 0-4
   with P = 1/2 (in slot 2; a girl with P = ``people.FEMALE_SHARE``), each adult using a smartphone with the
   probability that the people aged 20-34 of
   its hamlet (counted after (b), the members of households about to be re-formed included) do (0 in a hamlet
   without any), no product but the adults' smartphone, no exposure, never visited, skill
   ``skill_base - skill_age_slope * (younger adult's age - 30) + skill_income_slope * (income rank - 0.5) +
   skill_noise * N(0, 1)`` clipped to [0.02, 1]. Every other household's skill falls by ``skill_age_slope``
   times the change of its youngest adult's age (clipped to [0.02, 1]), and a household whose smartphone
   users all died or left passes the smartphone to its first user when that member is ``phone_min_age`` or
   over, else gives it up (and the products that need it);
1. the world of the month (``diffusion.model.world.month_world`` of the place's income area): the real
   income index and each product's price and fee indices; which hamlets have mobile coverage and fibre: the
   world's networks reach each hamlet from a month drawn once per run, and from its start an infrastructure
   lever with a schedule for a network replaces that network's reach with its schedule;
2. levers act: the smartphone subsidy opens (it lowers the smartphone price for eligible households), the
   digital teams visit (exposure set to 1, skill gap closed by ``skill_boost``, visit month recorded);
3. every household lacking a product it is ready for adopts with P = 1 - exp(-lambda / 12),
   lambda = (p + q*s + o*v) * a * r, where a is the logistic affordability of the cost share
   c = (price * price index / amortisation_months + fee * fee index, less the open subsidies for a
   smartphone) / (income per person * max(size, 1) * income index); ready means the product's prerequisites
   and network and, for a smartphone, a head of ``phone_min_age`` or over; every user of a product with churn
   gives it up with P = 1 - exp(-churn * (1 + m * (1 - a)) / 12); in a household with a smartphone, one of
   the members of ``phone_min_age`` or over without one, picked uniformly, starts using one with
   P = (1 - exp(-member_uptake_per_year / 12)) * (1 - w + w * s_m), where w is the smartphone's skill weight
   and s_m = clip(skill - skill_age_slope * (the member's age - the youngest adult's age), 0.02, 1) -- all
   read the start-of-month state;
4. all changes are applied (skill growth of households that had a smartphone, the new member's smartphone,
   adoptions, lapses, the first user's smartphone in a household taking one up, lost prerequisites: a
   household without a smartphone has no member using one), the levers book their costs, exposure decays
   with its half-life.

Outputs (``REPORTERS``): the shares of households using each product and the internet, the share of
working-age people (15-64) using a smartphone (``share_working_age_smartphone``, counted from the members),
the people of 15 and over, the working-age people, the share of people of 15 and over using a smartphone,
and the month's and cumulative costs.

Where it deliberately differs from the vectorised model:

* **Random numbers are not shared.** The vectorised model draws counter-based uniforms per process and
  household (and member slot) and thins each event with a bounding trial (``diffusion.foundation.randomness``);
  this model draws one ``model.random.random()`` per decision (and one ``model.random.gauss`` for a re-formed
  household's skill). The two agree in law (the same probabilities), not run by run;
  ``tests/test_plain_mesa_model.py`` checks that their means over replicates agree.
* **No history.** The vectorised model simulates every run from 2008-01 to its start (``Engine.month0``) and
  starts there; this model starts from that state instead: the population, the social network, the months in
  which the world's networks reach each hamlet and the start-month state (who uses what, skill, exposure,
  visits, the members' ages, sex and smartphones) are copied from a vectorised ``diffusion.AdoptionModel``
  at month 0 (``from_adoption_model``), so both start from the same households and the comparison is of the
  months from the start on. Random pieces of the levers are drawn afresh from ``model.random``: the static
  tie-break order of the team visits, the hamlet order of a [date, share] rollout schedule and the order of
  subsidy payments under a budget cap. Who a lever considers elderly-only and the head ages of the
  ``elderly_first`` order are those of the start month, as the vectorised levers read them
  (``LeverContext.state``).
* The world's indices and the crude birth rate are read from ``diffusion.model.world.month_world`` and
  ``diffusion.model.people.crude_birth_rate`` (the dated tables the model shares with its data), not computed
  here.
* Only the hazard mechanism (the threshold mechanism raises NotImplementedError) and the levers of the
  sensitivity design (smartphone_subsidy, digital_teams, infrastructure) are implemented; the others
  (connection_support, public_access) raise NotImplementedError. Outputs by group (income quintile, age
  group, hamlet, age band, sex) are not computed.

Usage:
    python benchmarks/plain_mesa_model.py               # time the shipped Thôn Đông setting (59 months)
    python benchmarks/plain_mesa_model.py --repeats 10 --seed 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mesa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's diffusion

from diffusion import AdoptionModel, ModelParams
from diffusion.foundation.calendar import Calendar
from diffusion.model.levers import DigitalTeams, InfrastructureRollout, Lever, SmartphoneSubsidy, make_lever
from diffusion.model.people import FEMALE_SHARE, SLOTS, crude_birth_rate
from diffusion.model.products import PRODUCTS
from diffusion.model.world import absolute_month, month_world

#: The shipped sensitivity design; its [levers] tables are the central lever settings.
CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "sensitivity_levers.toml"
SMARTPHONE, MOBILE, FIBRE, SERVICES = range(4)
#: Month index of a network that never arrives.
NEVER = 10**9
#: Ages of working-age people (15-64) and of the adults a household's skill follows (15 and over).
WORKING_AGE = range(15, 65)
ADULT = 15


# =========================================================================== the household
class PlainHousehold(mesa.Agent):
    """One household with its own attributes (Python scalars), its members (Python lists of ``SLOTS`` member
    slots) and a list of its neighbours.

    ``uses[k]`` is the use of product k in ``PRODUCTS`` order (smartphone, mobile data, fibre, services);
    ``age[s]``, ``female[s]`` and ``phone[s]`` are the age (-1: empty slot), sex and smartphone use of the member
    in slot s (slot 0 is the head while alive).
    """

    def __init__(self, model: PlainMesaModel, *, hamlet: int, income: float, income_rank: float, degree: int,
                 poor: bool, near_poor: bool, elderly_only: bool, head_age: float, skill: float, uses: list[bool],
                 age: list[int], female: list[bool], phone: list[bool], exposure: float = 0.0,
                 last_visit: int = -1):
        super().__init__(model)
        # static attributes
        self.hamlet = hamlet
        self.income = income  # VND per person per month at 2022 prices
        self.income_rank = income_rank  # 0..1 (a re-formed household's skill reads it)
        self.degree = degree
        self.poor = poor
        self.near_poor = near_poor
        # as the levers see the household: at the run's start (who is elderly-only, the elderly_first order)
        self.elderly_only = elderly_only
        self.start_head_age = head_age
        self.subsidy_eligible: dict[str, bool] = {}  # subsidy lever name -> eligible (set by the model)
        # dynamic state
        self.skill = skill
        self.uses = uses
        self.exposure = exposure
        self.last_visit = last_visit
        self.age = age
        self.female = female
        self.phone = phone
        # what follows from the members (``recount``; they change only in January)
        self.size = 0
        self.working_age = 0
        self.head_age = 0.0
        self.young_age = 0.0
        self.recount()
        self.neighbours: list[PlainHousehold] = []
        # this month's decisions, applied in ``advance``
        self.to_adopt: list[int] = []
        self.to_drop: list[int] = []
        self.new_user: int | None = None  # slot of a member who starts using a smartphone
        # the members' year, between ``age_a_year`` and ``settle_year``
        self.young_before = self.young_age
        self.reformed = False

    # ------------------------------------------------------------- the members
    def recount(self) -> None:
        """Size, working-age members, the head's age (slot 0, or the oldest member when slot 0 is empty) and the
        youngest adult's age (the head's when there is no member of 15 or over)."""
        ages = [a for a in self.age if a >= 0]
        self.size = len(ages)
        self.working_age = sum(1 for a in ages if a in WORKING_AGE)
        self.head_age = float(self.age[0] if self.age[0] >= 0 else max(self.age))
        adults = [a for a in ages if a >= ADULT]
        self.young_age = float(min(adults)) if adults else self.head_age

    def size_now(self) -> int:
        """Living members (``size`` is recounted only at the end of the members' year)."""
        return SLOTS - self.age.count(-1)

    def phone_users(self) -> int:
        """Working-age members using a smartphone."""
        return sum(1 for a, p in zip(self.age, self.phone) if p and a in WORKING_AGE)

    def first_user(self) -> int:
        """The slot of the member who gets the household's smartphone: the youngest of 15 or over, else the
        youngest old enough, else any member (the lowest slot on a tie)."""
        min_age = self.model.min_age

        def key(s: int) -> int:
            a = self.age[s]
            if a >= ADULT:
                return a
            if a >= min_age:
                return 1000 + a
            return 2000 if a >= 0 else 9999

        return min(range(SLOTS), key=key)

    def drop_unsupported(self) -> None:
        """Uses whose prerequisite lapsed go too; without a smartphone no member uses one."""
        u = self.uses
        u[MOBILE] = u[MOBILE] and u[SMARTPHONE]
        u[SERVICES] = u[SERVICES] and u[SMARTPHONE] and (u[MOBILE] or u[FIBRE])
        if not u[SMARTPHONE]:
            self.phone = [False] * SLOTS

    # ------------------------------------------------------------- pieces of the rule
    def products_used(self) -> int:
        """How many of the simulated products the household uses."""
        return sum(1 for k in self.model.active if self.uses[k])

    def ready_for(self, k: int) -> bool:
        """Prerequisites and infrastructure of product k (the household lacks it)."""
        m = self.model
        if k == MOBILE:
            return self.uses[SMARTPHONE] and m.mobile_coverage[self.hamlet]
        if k == FIBRE:
            return m.fibre_ready[self.hamlet]
        if k == SERVICES:
            return self.uses[SMARTPHONE] and (self.uses[MOBILE] or self.uses[FIBRE])
        return self.head_age >= m.min_age  # a smartphone: someone old enough for one

    def neighbour_share(self, k: int) -> float:
        """Share of the neighbours using product k."""
        m = self.model
        if m.well_mixed:
            return (m.users_at_start[k] - self.uses[k]) / max(len(m.households) - 1, 1)
        if not self.neighbours:
            return 0.0
        return sum(1 for other in self.neighbours if other.uses[k]) / len(self.neighbours)

    def readiness(self, k: int, skill: float | None = None) -> float:
        """1 - w + w * skill (the household's skill unless another is given)."""
        w = self.model.skill_weight[k]
        return 1.0 - w + w * (self.skill if skill is None else skill)

    def cost_share(self, k: int) -> float:
        """Net monthly cost of product k (price amortised, fee, both at this month's price indices, the price
        less the open subsidies) as a share of the household's income this month."""
        m = self.model
        world = m.world
        price = m.price[k] * world.price[k]
        fee = m.fee[k] * world.fee[k]
        if k == SMARTPHONE:
            off = sum(s.amount for s in m.subsidies if s.open and self.subsidy_eligible[s.name])
            price = max(price - off, 0.0)
        return (price / m.params.amortisation_months + fee) / (self.income * max(self.size, 1) * world.income)

    def affordability(self, k: int) -> float:
        """Logistic of the cost share, 1 for a free product."""
        m = self.model
        if not m.has_cost[k]:
            return 1.0
        z = min(m.params.affordability_slope * (self.cost_share(k) - m.params.affordability_midpoint), 700.0)
        return m.affordability_scale / (1.0 + math.exp(z))

    def visit(self, t: int, skill_boost: float) -> None:
        """A digital-team visit in month t."""
        self.exposure = 1.0
        self.skill += skill_boost * (1.0 - self.skill)
        self.last_visit = t

    # ------------------------------------------------------------- the month
    def step(self) -> None:
        """Decide from the start-of-month state (nothing changes until ``advance``)."""
        m = self.model
        self.to_adopt = []
        self.to_drop = []
        self.new_user = None
        for k in m.active:
            if self.uses[k]:
                if m.churn[k] > 0:
                    rate = m.churn[k]
                    if m.has_cost[k]:
                        rate *= 1.0 + m.params.churn_unaffordable_multiplier * (1.0 - self.affordability(k))
                    if self.random.random() < 1.0 - math.exp(-rate / 12.0):
                        self.to_drop.append(k)
            elif self.ready_for(k):
                rate = m.p[k] + m.q[k] * self.neighbour_share(k) + m.o[k] * self.exposure  # per year
                rate *= self.affordability(k) * self.readiness(k)
                if self.random.random() < 1.0 - math.exp(-rate / 12.0):
                    self.to_adopt.append(k)
        if SMARTPHONE in m.active and self.uses[SMARTPHONE]:
            able = [s for s in range(SLOTS) if self.age[s] >= m.min_age and not self.phone[s]]
            if able:  # one of them, each equally likely, may start; older members start more slowly
                s = self.random.choice(able)
                skill = min(max(self.skill - m.skill_age_slope * (self.age[s] - self.young_age), 0.02), 1.0)
                if self.random.random() < m.member_prob * self.readiness(SMARTPHONE, skill):
                    self.new_user = s

    def advance(self) -> None:
        """Apply the month's decisions, then let the outreach exposure decay."""
        m = self.model
        if SMARTPHONE in m.active:
            if self.new_user is not None:
                self.phone[self.new_user] = True
            if self.uses[SMARTPHONE]:  # users at the start of the month gain skill
                self.skill += m.skill_growth * (1.0 - self.skill)
        for k in self.to_adopt:
            self.uses[k] = True
        for k in self.to_drop:
            self.uses[k] = False
        if SMARTPHONE in self.to_adopt:
            self.phone[self.first_user()] = True
        if self.to_drop:
            self.drop_unsupported()
        self.exposure *= m.exposure_decay

    # ------------------------------------------------------------- the members' year (January)
    def age_a_year(self) -> None:
        """Everyone a year older; deaths and young adults leaving (phase (a) of the members' year)."""
        m = self.model
        rand = self.random.random
        self.young_before = self.young_age
        for s in range(SLOTS):
            if self.age[s] < 0:
                continue
            self.age[s] += 1
            a = self.age[s]
            gone = rand() < 1.0 - math.exp(-m.mortality_a * math.exp(m.mortality_b * a))
            if not gone and s > 0 and 18 <= a < 30:
                gone = rand() < m.leave_prob
            if gone:
                self.age[s] = -1
                self.female[s] = False
                self.phone[s] = False

    def mothers(self) -> int:
        """Women aged 20-39."""
        return sum(1 for a, f in zip(self.age, self.female) if f and 20 <= a < 40)

    def births(self) -> None:
        """At most one birth (each mother with the year's ``model.birth_prob``); whether the household is re-formed
        (phase (b) of the members' year)."""
        m = self.model
        rand = self.random.random
        mothers = self.mothers()
        if mothers and -1 in self.age[1:] and any(rand() < m.birth_prob for _ in range(mothers)):
            s = self.age.index(-1, 1)  # the first free slot after the head's
            self.age[s] = 0
            self.female[s] = rand() < FEMALE_SHARE
            self.phone[s] = False
        self.reformed = self.age.count(-1) == SLOTS or rand() < m.renew_prob

    def settle_year(self) -> None:
        """Phase (c) of the members' year: a household to re-form is re-formed, the others' skill follows the
        change of their youngest adult's age, and the smartphone stays with the members."""
        m = self.model
        if self.reformed:
            self.reform(m.young_phone_share[self.hamlet])
        self.recount()
        if not self.reformed:
            self.skill = min(max(self.skill - m.skill_age_slope * (self.young_age - self.young_before), 0.02), 1.0)
        if self.uses[SMARTPHONE] and not any(self.phone):  # its users died or left: an heir takes it
            heir = self.first_user()
            if self.age[heir] >= m.min_age:
                self.phone[heir] = True
        has_phone = any(self.phone)
        lost = self.uses[SMARTPHONE] and not has_phone
        self.uses[SMARTPHONE] = has_phone  # (a re-formed household's adults may bring one)
        if lost:
            self.drop_unsupported()

    def reform(self, share: float) -> None:
        """A newly formed young household takes the household's place (see the module docstring)."""
        m = self.model
        rand = self.random.random
        self.age = [-1] * SLOTS
        self.female = [False] * SLOTS
        self.phone = [False] * SLOTS
        self.age[0] = 22 + int(rand() * 10)
        self.age[1] = 22 + int(rand() * 10)
        self.female[1] = True
        if rand() < 0.5:
            self.age[2] = int(rand() * 5)
            self.female[2] = rand() < FEMALE_SHARE
        self.phone[0] = rand() < share
        self.phone[1] = rand() < share
        self.uses = [False] * len(PRODUCTS)
        self.exposure = 0.0
        self.last_visit = -1
        p = m.params
        young = min(self.age[0], self.age[1])
        skill = (p.skill_base - p.skill_age_slope * (young - 30.0) + p.skill_income_slope * (self.income_rank - 0.5)
                 + p.skill_noise * self.random.gauss(0.0, 1.0))
        self.skill = min(max(skill, 0.02), 1.0)


# =========================================================================== the levers' settings
class _Window:
    """Active months of a lever: ``start`` to ``end`` inclusive (default the whole run)."""

    def __init__(self, lever: Lever, calendar: Calendar):
        self.name = lever.name
        self.enabled = lever.enabled
        self.t_start = 1 if lever.start is None else max(1, calendar.index(lever.start))
        self.t_end = calendar.months if lever.end is None else calendar.index(lever.end)
        self.spent = 0.0

    def active(self, t: int) -> bool:
        return self.enabled and self.t_start <= t <= self.t_end


class PlainSubsidy(_Window):
    """``amount_vnd`` off the smartphone price for eligible households, paid per eligible adopter."""

    def __init__(self, lever: SmartphoneSubsidy, calendar: Calendar):
        super().__init__(lever, calendar)
        self.amount = float(lever.amount_vnd)
        self.eligibility = set(lever.eligibility)
        self.budget = math.inf if lever.budget_vnd is None else float(lever.budget_vnd)
        self.open = False

    def eligible(self, h: PlainHousehold) -> bool:
        e = self.eligibility
        return ("all" in e or ("poor" in e and h.poor) or ("near_poor" in e and h.near_poor)
                or ("elderly_only" in e and h.elderly_only))


class PlainTeams(_Window):
    """Digital teams: ``capacity`` visits per served hamlet a month, in the order of ``targeting``."""

    def __init__(self, lever: DigitalTeams, calendar: Calendar, hamlet_names: list[str]):
        super().__init__(lever, calendar)
        self.capacity = lever.teams_per_hamlet * lever.members_per_team * lever.visits_per_member
        self.targeting = lever.targeting
        self.skill_boost = float(lever.skill_boost)
        self.revisit = int(lever.revisit_months)
        self.monthly_cost = float(lever.allowance_vnd) * lever.teams_per_hamlet * lever.members_per_team
        if lever.hamlets is None:
            self.served = set(range(len(hamlet_names)))
        else:
            wanted = [lever.hamlets] if isinstance(lever.hamlets, str | int) else lever.hamlets
            self.served = {_hamlet_index(h, hamlet_names) for h in wanted}
        self.tie: dict[int, float] = {}  # unique_id -> static random tie-break (drawn by the model)

    def priority(self, h: PlainHousehold) -> tuple:
        """Sort key: fewest products first (non_adopters_first only), then the targeting key, then the tie."""
        tier = h.products_used() if self.targeting == "non_adopters_first" else 0
        if self.targeting == "poorest_first":
            key = h.income
        elif self.targeting == "elderly_first":
            key = -h.start_head_age  # the head's age at the run's start, as the vectorised lever reads it
        elif self.targeting == "best_connected_first":
            key = -h.degree
        else:  # random, non_adopters_first
            key = 0.0
        return tier, key, self.tie[h.unique_id]


class PlainRollout(_Window):
    """Months from which each hamlet has fibre and mobile coverage (a schedule per network). From the lever's
    start, a network with a schedule follows it instead of the world's reach; a network without one follows the
    world's reach."""

    def __init__(self, lever: InfrastructureRollout, calendar: Calendar, hamlet_names: list[str], rng):
        super().__init__(lever, calendar)
        self.cost = float(lever.cost_per_hamlet_vnd)
        order_fibre = rng.sample(range(len(hamlet_names)), len(hamlet_names))
        order_mobile = rng.sample(range(len(hamlet_names)), len(hamlet_names))
        self.fibre_month = self._months(lever.fibre, order_fibre, calendar, hamlet_names)
        self.mobile_month = self._months(lever.mobile, order_mobile, calendar, hamlet_names)
        self.has_fibre = lever.fibre is not None
        self.has_mobile = lever.mobile is not None

    @staticmethod
    def _months(schedule, order: list[int], calendar: Calendar, hamlet_names: list[str]) -> list[int]:
        H = len(hamlet_names)
        months = [NEVER] * H
        if schedule is None:  # (unused: the network follows the world's reach)
            return months
        if isinstance(schedule, Mapping):  # hamlet -> "YYYY-MM"
            for key, date in schedule.items():
                months[_hamlet_index(key, hamlet_names)] = calendar.index(date)
            return months
        last = 0.0
        for date, share in schedule:  # [date, share of hamlets connected by then], hamlets in a random order
            t = calendar.index(date)
            for h in order[int(round(last * H)) : int(round(share * H))]:
                months[h] = min(months[h], t)
            last = share
        return months

    def active(self, t: int) -> bool:  # a schedule replaces the world's reach from the lever's start on
        return self.enabled and self.t_start <= t


def _hamlet_index(key, hamlet_names: list[str]) -> int:
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int):
        return key
    import unicodedata

    return hamlet_names.index(unicodedata.normalize("NFC", str(key)))


# =========================================================================== reporters
def _share(model: PlainMesaModel, uses) -> float:
    return sum(1 for h in model.households if uses(h.uses)) / len(model.households)


def share_smartphone(model: PlainMesaModel) -> float:
    return _share(model, lambda u: u[SMARTPHONE])


def share_mobile_data(model: PlainMesaModel) -> float:
    return _share(model, lambda u: u[MOBILE])


def share_fibre(model: PlainMesaModel) -> float:
    return _share(model, lambda u: u[FIBRE])


def share_internet(model: PlainMesaModel) -> float:
    return _share(model, lambda u: u[MOBILE] or u[FIBRE])


def share_services(model: PlainMesaModel) -> float:
    return _share(model, lambda u: u[SERVICES])


def share_working_age_smartphone(model: PlainMesaModel) -> float:
    """Working-age members (15-64) using a smartphone, over all working-age members."""
    wa = sum(h.working_age for h in model.households)
    return sum(h.phone_users() for h in model.households) / wa if wa else 0.0


def people(model: PlainMesaModel) -> float:
    """Members of 15 and over."""
    return float(sum(1 for h in model.households for a in h.age if a >= ADULT))


def working_age_people(model: PlainMesaModel) -> float:
    return float(sum(h.working_age for h in model.households))


def share_people_smartphone(model: PlainMesaModel) -> float:
    """Members of 15 and over using a smartphone, over all members of 15 and over."""
    adults = [p for h in model.households for a, p in zip(h.age, h.phone) if a >= ADULT]
    return sum(adults) / len(adults) if adults else math.nan


REPORTERS = {
    "share_smartphone": share_smartphone,
    "share_mobile_data": share_mobile_data,
    "share_fibre": share_fibre,
    "share_internet": share_internet,
    "share_services": share_services,
    "share_working_age_smartphone": share_working_age_smartphone,
    "people": people,
    "working_age_people": working_age_people,
    "share_people_smartphone": share_people_smartphone,
    "cost_total": "cost_total",
    "cum_cost_total": "cum_cost_total",
}


# =========================================================================== the model
class PlainMesaModel(mesa.Model):
    """The four-product adoption model as a plain Mesa agent loop (see the module docstring).

    Args:
        population: a ``diffusion.model.population.Population`` (its arrays are copied into the agents).
        adjacency: symmetric CSR adjacency of the social network, or None for a well-mixed population.
        state: the start-month ``diffusion.model.state.State`` (copied into the agents and their members).
        params: the run's ModelParams (hazard mechanism only).
        levers: Lever objects or mappings {"kind": ..., "name": ..., settings...}; only their settings are
            read (smartphone_subsidy, digital_teams and infrastructure are implemented).
        calendar: the run's ``diffusion.foundation.calendar.Calendar``.
        seed: seed of the model's random number generators.
        reach: the absolute months (``world.absolute_month``) from which the world's mobile and fibre networks
            reach each hamlet, as ``.mobile`` and ``.fibre`` sequences (``diffusion.model.engine.Reach``); None:
            both everywhere.
    """

    def __init__(self, population, adjacency, state, params: ModelParams, levers: Iterable[Lever | Mapping],
                 calendar: Calendar, seed: int | None = None, reach=None):
        super().__init__(rng=seed)
        if params.mechanism != "hazard":
            raise NotImplementedError("the plain Mesa model implements the hazard mechanism only")
        self.params = params
        self.calendar = calendar
        self.month0 = absolute_month(calendar.start)
        self.area = population.place.area
        self.world = month_world(self.area, self.month0, PRODUCTS)
        self.active = [PRODUCTS.index(p) for p in PRODUCTS if p in params.active_products]
        prods = [params.products[p] for p in PRODUCTS]
        self.p = [x.p for x in prods]
        self.q = [x.q for x in prods]
        self.o = [x.o for x in prods]
        free = params.homogeneous  # the Bass-limit households: free products, no churn
        self.price = [0.0 if free else x.price_vnd for x in prods]
        self.fee = [0.0 if free else x.monthly_fee_vnd for x in prods]
        self.churn = [0.0 if free else x.churn_per_year for x in prods]
        self.skill_weight = [x.skill_weight for x in prods]
        self.has_cost = [self.price[k] > 0 or self.fee[k] > 0 for k in range(len(PRODUCTS))]
        self.affordability_scale = 1.0 + math.exp(-params.affordability_slope * params.affordability_midpoint)
        self.exposure_decay = 0.5 ** (1.0 / params.exposure_half_life_months)
        self.skill_growth = 1.0 - math.exp(-params.skill_growth_per_year / 12.0)
        self.member_prob = 1.0 - math.exp(-params.member_uptake_per_year / 12.0)
        self.min_age = params.phone_min_age
        self.skill_age_slope = params.skill_age_slope
        # the members' year (the identical households of the Bass check have none)
        self.members_change = not params.homogeneous
        self.mortality_a, self.mortality_b = params.mortality_a, params.mortality_b
        self.leave_prob = 1.0 - math.exp(-params.leave_home_per_year)
        self.renew_prob = params.household_growth_per_year / (1.0 + params.household_growth_per_year)
        self.birth_prob = 0.0  # each mother's, this year (``members_year``)
        self.young_phone_share: list[float] = []

        # the households, copied once from the population and the start-month state
        pop = population
        n_hamlets = len(pop.hamlet_names)
        degree = ([pop.n - 1] * pop.n if adjacency is None
                  else [int(d) for d in (adjacency.indptr[1:] - adjacency.indptr[:-1])])
        columns = zip(pop.hamlet.tolist(), pop.income.tolist(), pop.income_rank.tolist(), degree,
                      pop.poor.tolist(), pop.near_poor.tolist(), state.elderly_only.tolist(),
                      state.head_age.tolist(), state.skill.tolist(), state.adopted.T.tolist(),
                      state.age.T.tolist(), state.female.T.tolist(), state.phone.T.tolist(),
                      state.exposure.tolist(), state.last_visit.tolist())
        self.households: list[PlainHousehold] = [
            PlainHousehold(self, hamlet=h, income=inc, income_rank=rank, degree=deg, poor=poor, near_poor=near,
                           elderly_only=eld, head_age=head, skill=sk, uses=list(u), age=list(ages),
                           female=list(fem), phone=list(ph), exposure=ex, last_visit=lv)
            for h, inc, rank, deg, poor, near, eld, head, sk, u, ages, fem, ph, ex, lv in columns
        ]
        # the months the world's networks reach each hamlet
        everywhere = [-NEVER] * n_hamlets
        self.reach_mobile = everywhere if reach is None else [int(x) for x in reach.mobile]
        self.reach_fibre = everywhere if reach is None else [int(x) for x in reach.fibre]
        self.well_mixed = adjacency is None
        if not self.well_mixed:
            indptr, indices = adjacency.indptr.tolist(), adjacency.indices.tolist()
            for i, household in enumerate(self.households):
                household.neighbours = [self.households[j] for j in indices[indptr[i] : indptr[i + 1]]]
        self.users_at_start = [0] * len(PRODUCTS)

        # the levers
        self.subsidies: list[PlainSubsidy] = []
        self.teams: list[PlainTeams] = []
        self.rollouts: list[PlainRollout] = []
        for lever in levers:
            if isinstance(lever, Mapping):
                settings = dict(lever)
                lever = make_lever(settings.pop("kind"), settings.pop("name", None), **settings)
            if isinstance(lever, SmartphoneSubsidy):
                s = PlainSubsidy(lever, calendar)
                for h in self.households:
                    h.subsidy_eligible[s.name] = s.eligible(h)
                self.subsidies.append(s)
            elif isinstance(lever, DigitalTeams):
                team = PlainTeams(lever, calendar, pop.hamlet_names)
                team.tie = {h.unique_id: self.random.random() for h in self.households}
                self.teams.append(team)
            elif isinstance(lever, InfrastructureRollout):
                self.rollouts.append(PlainRollout(lever, calendar, pop.hamlet_names, self.random))
            else:
                raise NotImplementedError(f"lever kind {lever.kind!r} is not implemented in the plain Mesa model")
        self.fibre_ready = [True] * n_hamlets
        self.mobile_coverage = [True] * n_hamlets

        self.cost_total = 0.0
        self.cum_cost_total = 0.0
        self.cum_costs = {lv.name: 0.0 for lv in (*self.subsidies, *self.teams, *self.rollouts)}
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)
        self.datacollector.collect(self)
        self.running = self.steps < calendar.months

    @classmethod
    def from_adoption_model(cls, source: AdoptionModel, levers: Iterable[Lever | Mapping] | None = None,
                            seed: int | None = None) -> PlainMesaModel:
        """The plain model of a vectorised ``AdoptionModel`` at month 0: the same population, network, networks'
        reach, start-month state (the end of its history), parameters and calendar, and the same levers'
        settings (default: the source's levers)."""
        if source.steps != 0:
            raise ValueError("copy the vectorised model before its first step (month 0)")
        return cls(source.population, source.network.adjacency, source.state, source.params,
                   source.levers if levers is None else levers, source.calendar, seed, reach=source.engine.reach)

    # ------------------------------------------------------------------ the month
    def infrastructure(self, t: int) -> None:
        """Which hamlets have fibre and mobile coverage in month t: the world's reach, replaced from their start by
        the schedules of infrastructure levers."""
        now = self.month0 + t
        for hamlet in range(len(self.fibre_ready)):
            fibre = self.reach_fibre[hamlet] <= now
            mobile = self.reach_mobile[hamlet] <= now
            for r in self.rollouts:
                if r.active(t):
                    if r.has_fibre:
                        fibre = r.fibre_month[hamlet] <= t
                    if r.has_mobile:
                        mobile = r.mobile_month[hamlet] <= t
            self.fibre_ready[hamlet] = fibre
            self.mobile_coverage[hamlet] = mobile

    def members_year(self, t: int) -> None:
        """January: the members' year (module docstring, step 0), in phases over the agents."""
        self.agents.do("age_a_year")
        people = sum(h.size_now() for h in self.households)
        mothers = sum(h.mothers() for h in self.households)
        rate = crude_birth_rate(self.month0 + t)
        self.birth_prob = self.params.birth_rate_scale * min(0.9, rate * people / max(mothers, 1))
        self.agents.do("births")
        users = [0] * len(self.fibre_ready)
        young = [0] * len(self.fibre_ready)
        for h in self.households:
            for a, phone in zip(h.age, h.phone):
                if 20 <= a < 35:
                    young[h.hamlet] += 1
                    users[h.hamlet] += phone
        self.young_phone_share = [u / y if y else 0.0 for u, y in zip(users, young)]
        self.agents.do("settle_year")

    def team_visits(self, team: PlainTeams, t: int) -> None:
        """The team visits households lacking a product and not visited within ``revisit_months``, in
        priority order, up to its capacity in each served hamlet."""
        if not team.active(t) or team.capacity <= 0:
            return
        n_active = len(self.active)
        candidates = [
            h for h in self.households
            if h.hamlet in team.served and h.products_used() < n_active
            and (team.revisit <= 0 or h.last_visit < 0 or h.last_visit <= t - team.revisit)
        ]
        left = dict.fromkeys(team.served, team.capacity)
        for h in sorted(candidates, key=team.priority):
            if left[h.hamlet] > 0:
                left[h.hamlet] -= 1
                h.visit(t, team.skill_boost)

    def book_subsidy(self, s: PlainSubsidy) -> float:
        """Pay ``amount`` per eligible household that took up a smartphone this month, within the budget."""
        if not s.open:
            return 0.0
        new = [h for h in self.households if SMARTPHONE in h.to_adopt and h.subsidy_eligible[s.name]]
        if math.isfinite(s.budget):
            affordable = int((s.budget - s.spent) // s.amount)
            if len(new) > affordable:
                self.random.shuffle(new)
                new = new[:affordable]
        return len(new) * s.amount

    def book_rollout(self, r: PlainRollout, t: int) -> float:
        if not r.enabled or r.cost == 0:
            return 0.0
        connected = 0
        if r.has_fibre:
            connected += sum(1 for month in r.fibre_month if month == t)
        if r.has_mobile:
            connected += sum(1 for month in r.mobile_month if month == t)
        return connected * r.cost

    def step(self) -> None:
        """One month (Mesa increments ``steps`` before this runs)."""
        t = self.steps
        if self.members_change and (self.month0 + t) % 12 == 0:
            self.members_year(t)
        self.world = month_world(self.area, self.month0 + t, PRODUCTS)
        self.infrastructure(t)
        for s in self.subsidies:
            s.open = s.active(t) and s.amount > 0 and s.budget - s.spent >= s.amount
        for team in self.teams:
            self.team_visits(team, t)
        if self.well_mixed:
            self.users_at_start = [sum(1 for h in self.households if h.uses[k]) for k in range(len(PRODUCTS))]
        self.agents.do("step")  # every household decides from the start-of-month state ...
        self.agents.do("advance")  # ... then all changes are applied together
        costs = {s.name: self.book_subsidy(s) for s in self.subsidies}
        costs.update({team.name: team.monthly_cost * len(team.served) if team.active(t) else 0.0
                      for team in self.teams})
        costs.update({r.name: self.book_rollout(r, t) for r in self.rollouts})
        for lv in (*self.subsidies, *self.teams, *self.rollouts):
            lv.spent += costs[lv.name]
            self.cum_costs[lv.name] += costs[lv.name]
        self.cost_total = sum(costs.values())
        self.cum_cost_total += self.cost_total
        self.datacollector.collect(self)
        self.running = self.steps < self.calendar.months

    def run(self) -> None:
        """Simulate to the end of the calendar."""
        while self.steps < self.calendar.months:
            self.step()

    def outputs(self) -> dict[str, float]:
        """The latest month's reporters."""
        return {name: values[-1] for name, values in self.datacollector.model_vars.items()}


# =========================================================================== helpers
def shipped_lever_settings(config: Path = CONFIG) -> dict[str, dict[str, Any]]:
    """The central lever settings of the sensitivity design: lever name -> {"kind": ..., settings...}."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return {name: dict(table) for name, table in data["levers"].items()}


def named(settings: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``shipped_lever_settings``-style settings as a list of {"kind", "name", settings...}."""
    return [{"name": name, **table} for name, table in settings.items()]


def make_levers(settings: Mapping[str, Mapping[str, Any]]) -> list[Lever]:
    """Fresh lever objects from ``shipped_lever_settings``-style settings."""
    out = []
    for name, table in settings.items():
        table = dict(table)
        out.append(make_lever(table.pop("kind"), name, **table))
    return out


def shipped_setting(config: Path = CONFIG) -> dict[str, Any]:
    """Place, scale, start, months and seed of the sensitivity design."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return {"place": data["population"]["place"], "scale": float(data["population"].get("scale", 1.0)),
            "start": data["experiment"]["start"], "months": int(data["experiment"]["months"]),
            "seed": int(data["experiment"]["seed"])}


def source_model(seed: int, levers: Mapping[str, Mapping[str, Any]] | None = None, params: ModelParams | None = None,
                 place: str = "thon_dong", scale: float = 1.0, start: str = "2021-01",
                 months: int = 59) -> AdoptionModel:
    """A vectorised AdoptionModel at month 0 with fresh levers (default: the shipped central settings)."""
    levers = shipped_lever_settings() if levers is None else levers
    return AdoptionModel(place, params=params, levers=make_levers(levers), start=start, months=months, scale=scale,
                         seed=seed, agents=False, collect=False)


def time_plain_runs(repeats: int = 5, seed: int = 1, levers: Mapping[str, Mapping[str, Any]] | None = None,
                    months: int | None = None) -> list[tuple[float, float, dict[str, float]]]:
    """(build s, run s, final outputs) of ``repeats`` plain Mesa runs of the shipped Thôn Đông setting.

    Build is creating the agents, their members, their neighbour lists and the levers from the vectorised
    model's population, network, networks' reach and start state (the vectorised model itself, with its history
    from 2008 to the start, is built outside the timing: the plain model simulates no history); run is all
    monthly steps from the start with data collection."""
    setting = shipped_setting()
    months = setting["months"] if months is None else months
    levers = shipped_lever_settings() if levers is None else levers
    out = []
    for r in range(repeats):
        source = source_model(seed + r, levers, None, setting["place"], setting["scale"], setting["start"], months)
        t0 = time.perf_counter()
        model = PlainMesaModel.from_adoption_model(source, levers=named(levers), seed=seed + r)
        t1 = time.perf_counter()
        model.run()
        t2 = time.perf_counter()
        out.append((t1 - t0, t2 - t1, model.outputs()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="plain Mesa runs timed (median reported)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--months", type=int, help="months (default: the shipped design's 59)")
    args = ap.parse_args(argv)
    setting = shipped_setting()
    months = setting["months"] if args.months is None else args.months
    runs = time_plain_runs(args.repeats, args.seed, months=months)
    build = statistics.median(b for b, _, _ in runs)
    run = statistics.median(r for _, r, _ in runs)
    total = statistics.median(b + r for b, r, _ in runs)
    last = runs[-1][2]
    # the vectorised model on the same setting, for context (one run, build included)
    t0 = time.perf_counter()
    m = source_model(args.seed, months=months)
    m.run()
    vectorised = time.perf_counter() - t0
    n = m.population.n
    print(f"plain Mesa model, {setting['place']} ({n} households), {months} months from {setting['start']}, "
          f"central levers of {CONFIG.name}: {total * 1e3:.1f} ms per run (build {build * 1e3:.1f} ms + run "
          f"{run * 1e3:.1f} ms; median of {len(runs)})")
    print("last run, final month: " + ", ".join(f"{k} {v:.3f}" if k.startswith("share") else f"{k} {v:,.0f}"
                                                   for k, v in last.items()))
    print(f"vectorised AdoptionModel, same setting: {vectorised * 1e3:.1f} ms per run (build included, its history "
          "from 2008 taken from the engine's cache of the plain runs' sources; one run, collect=False)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
