"""The household adoption model written as a plain Mesa agent loop: the baseline of the speed benchmarks.

``diffusion`` runs its monthly rule (``diffusion/dynamics.py``, levers in ``diffusion/levers.py``, the month's
order in ``diffusion/engine.py``) as vectorised array operations over all households, and many runs stacked
in one set of arrays. This module writes the **same rule** the way a Mesa user would naturally write it, so
that ``benchmarks/bench_sensitivity.py`` can time the vectorised pipeline against a like-for-like plain Mesa
version of the full four-product model on the shipped sensitivity design (Thôn Đông, 275 households, 59
months from 2021-01, levers smartphone subsidy, digital teams and fibre timing):

* one ``PlainHousehold(mesa.Agent)`` per household, holding its attributes as Python scalars (income,
  working-age members, skill, exposure, last team visit, a list of product-use booleans, smartphone
  users, eligibility flags, hamlet) and a list of its neighbour agents;
* a synchronous update in two phases, as Mesa's old ``SimultaneousActivation`` did: every agent decides
  from the start-of-month state (``model.agents.do("step")``), then every agent applies its decisions
  (``model.agents.do("advance")``);
* Python loops over neighbours, ``math.exp``, one draw from ``model.random`` per decision;
* the levers as model methods over the agents (team visits ordered with Python's ``sorted``), and a
  ``mesa.DataCollector`` whose model reporters loop over the agents for the monthly shares and costs.

The rule, month t (1-based), as in ``diffusion.model.engine.Engine.step``:

1. infrastructure: which hamlets have mobile coverage and fibre in month t;
2. levers act: the smartphone subsidy opens (it lowers the smartphone price for eligible households), the
   digital teams visit (exposure set to 1, skill gap closed by ``skill_boost``, visit month recorded);
3. every household lacking a product it is ready for adopts with P = 1 - exp(-lambda / 12),
   lambda = (p + q*s + o*v) * a * r; every user of a product with churn gives it up with
   P = 1 - exp(-churn * (1 + m * (1 - a)) / 12); a further working-age member of a smartphone household
   starts using one with P = (1 - exp(-uptake / 12)) * r -- all read the start-of-month state;
4. all changes are applied (skill growth of households that had a smartphone, new users, lapses, lost
   prerequisites), the levers book their costs, exposure decays with its half-life.

Where it deliberately differs from the vectorised model:

* **Random numbers are not shared.** The vectorised model draws counter-based uniforms per process and
  household and thins each event with a bounding trial (``diffusion.randomness``); this model draws one
  ``model.random.random()`` per decision. The two agree in law (the same probabilities), not run by run;
  ``tests/test_plain_mesa_model.py`` checks that their means over replicates agree.
* The population, the social network and the start-month state (who uses what, smartphone users, skill)
  are copied from a vectorised ``diffusion.AdoptionModel`` at month 0 (``from_adoption_model``), so both
  start from the same households. Random pieces of the levers are drawn afresh from ``model.random``: the
  static tie-break order of the team visits, the hamlet order of a [date, share] rollout schedule and the
  order of subsidy payments under a budget cap.
* Only the hazard mechanism (the threshold mechanism raises NotImplementedError) and the levers of the
  sensitivity design (smartphone_subsidy, digital_teams, infrastructure) are implemented; the others
  (connection_support, public_access) raise NotImplementedError.

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
from diffusion.model.products import PRODUCTS

#: The shipped sensitivity design; its [levers] tables are the central lever settings.
CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "sensitivity_levers.toml"
SMARTPHONE, MOBILE, FIBRE, SERVICES = range(4)
#: Month index of a network that never arrives.
NEVER = 10**9


# =========================================================================== the household
class PlainHousehold(mesa.Agent):
    """One household with its own attributes (Python scalars) and a list of its neighbours.

    ``uses[k]`` is the use of product k in ``PRODUCTS`` order (smartphone, mobile data, fibre, services).
    """

    def __init__(self, model: PlainMesaModel, *, hamlet: int, income: float, household_income: float,
                 working_age: int, head_age: float, degree: int, poor: bool, near_poor: bool, elderly_only: bool,
                 skill: float, uses: list[bool], phone_users: int, exposure: float = 0.0, last_visit: int = -1):
        super().__init__(model)
        # static attributes
        self.hamlet = hamlet
        self.income = income  # VND per person per month
        self.household_income = household_income  # VND per household per month
        self.working_age = working_age
        self.head_age = head_age
        self.degree = degree
        self.poor = poor
        self.near_poor = near_poor
        self.elderly_only = elderly_only
        self.subsidy_eligible: dict[str, bool] = {}  # subsidy lever name -> eligible (set by the model)
        # dynamic state
        self.skill = skill
        self.uses = uses
        self.phone_users = phone_users
        self.exposure = exposure
        self.last_visit = last_visit
        self.neighbours: list[PlainHousehold] = []
        # this month's decisions, applied in ``advance``
        self.to_adopt: list[int] = []
        self.to_drop: list[int] = []
        self.new_member = False

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
        return True

    def neighbour_share(self, k: int) -> float:
        """Share of the neighbours using product k."""
        m = self.model
        if m.well_mixed:
            return (m.users_at_start[k] - self.uses[k]) / max(len(m.households) - 1, 1)
        if not self.neighbours:
            return 0.0
        return sum(1 for other in self.neighbours if other.uses[k]) / len(self.neighbours)

    def readiness(self, k: int) -> float:
        w = self.model.skill_weight[k]
        return 1.0 - w + w * self.skill

    def cost_share(self, k: int) -> float:
        """Net monthly cost of product k (price amortised, fee, both after this month's price decline and the
        subsidies) as a share of household income."""
        m = self.model
        price = m.price[k] * m.price_factor
        fee = m.fee[k] * m.price_factor
        if k == SMARTPHONE:
            off = sum(s.amount for s in m.subsidies if s.open and self.subsidy_eligible[s.name])
            price = max(price - off, 0.0)
        return (price / m.params.amortisation_months + fee) / self.household_income

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
        self.new_member = False
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
        if SMARTPHONE in m.active and self.uses[SMARTPHONE] and self.phone_users < self.working_age:
            if self.random.random() < m.member_prob * self.readiness(SMARTPHONE):
                self.new_member = True

    def advance(self) -> None:
        """Apply the month's decisions, then let the outreach exposure decay."""
        m = self.model
        if SMARTPHONE in m.active:
            if self.new_member:
                self.phone_users += 1
            if self.uses[SMARTPHONE]:  # users at the start of the month gain skill
                self.skill += m.skill_growth * (1.0 - self.skill)
        for k in self.to_adopt:
            self.uses[k] = True
        for k in self.to_drop:
            self.uses[k] = False
        if SMARTPHONE in self.to_adopt:
            self.phone_users = min(1, self.working_age)
        if self.to_drop:  # uses whose prerequisite lapsed go too
            u = self.uses
            u[MOBILE] = u[MOBILE] and u[SMARTPHONE]
            u[SERVICES] = u[SERVICES] and u[SMARTPHONE] and (u[MOBILE] or u[FIBRE])
            if not u[SMARTPHONE]:
                self.phone_users = 0
        self.exposure *= m.exposure_decay


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
            key = -h.head_age
        elif self.targeting == "best_connected_first":
            key = -h.degree
        else:  # random, non_adopters_first
            key = 0.0
        return tier, key, self.tie[h.unique_id]


class PlainRollout(_Window):
    """Months from which each hamlet has fibre and mobile coverage (a schedule per network)."""

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
        if schedule is None:  # available everywhere from the start
            return [0] * H
        months = [NEVER] * H
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

    def active(self, t: int) -> bool:  # an infrastructure lever acts whenever it is switched on
        return self.enabled


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
    wa = sum(h.working_age for h in model.households)
    return sum(h.phone_users for h in model.households) / wa if wa else 0.0


REPORTERS = {
    "share_smartphone": share_smartphone,
    "share_mobile_data": share_mobile_data,
    "share_fibre": share_fibre,
    "share_internet": share_internet,
    "share_services": share_services,
    "share_working_age_smartphone": share_working_age_smartphone,
    "cost_total": "cost_total",
    "cum_cost_total": "cum_cost_total",
}


# =========================================================================== the model
class PlainMesaModel(mesa.Model):
    """The four-product adoption model as a plain Mesa agent loop (see the module docstring).

    Args:
        population: a ``diffusion.model.population.Population`` (its arrays are copied into the agents).
        adjacency: symmetric CSR adjacency of the social network, or None for a well-mixed population.
        state: the start-month ``diffusion.model.dynamics.State`` (copied into the agents).
        params: the run's ModelParams (hazard mechanism only).
        levers: Lever objects or mappings {"kind": ..., "name": ..., settings...}; only their settings are
            read (smartphone_subsidy, digital_teams and infrastructure are implemented).
        calendar: the run's ``diffusion.calendar.Calendar``.
        seed: seed of the model's random number generators.
    """

    def __init__(self, population, adjacency, state, params: ModelParams, levers: Iterable[Lever | Mapping],
                 calendar: Calendar, seed: int | None = None):
        super().__init__(rng=seed)
        if params.mechanism != "hazard":
            raise NotImplementedError("the plain Mesa model implements the hazard mechanism only")
        self.params = params
        self.calendar = calendar
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
        self.price_factor = 1.0

        # the households, copied once from the population and the start-month state
        pop = population
        n_hamlets = len(pop.hamlet_names)
        degree = ([pop.n - 1] * pop.n if adjacency is None
                  else [int(d) for d in (adjacency.indptr[1:] - adjacency.indptr[:-1])])
        columns = zip(pop.hamlet.tolist(), pop.income.tolist(), pop.household_income.tolist(),
                      pop.working_age.tolist(), pop.head_age.tolist(), degree, pop.poor.tolist(),
                      pop.near_poor.tolist(), pop.elderly_only.tolist(), state.skill.tolist(),
                      state.adopted.T.tolist(), state.phone_users.tolist(), state.exposure.tolist(),
                      state.last_visit.tolist())
        self.households: list[PlainHousehold] = [
            PlainHousehold(self, hamlet=h, income=inc, household_income=hinc, working_age=wa, head_age=age,
                           degree=deg, poor=poor, near_poor=near, elderly_only=eld, skill=sk, uses=list(u),
                           phone_users=pu, exposure=ex, last_visit=lv)
            for h, inc, hinc, wa, age, deg, poor, near, eld, sk, u, pu, ex, lv in columns
        ]
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
        """The plain model of a vectorised ``AdoptionModel`` at month 0: the same population, network,
        start-month state, parameters and calendar, and the same levers' settings (default: the source's
        levers)."""
        if source.steps != 0:
            raise ValueError("copy the vectorised model before its first step (month 0)")
        return cls(source.population, source.network.adjacency, source.state, source.params,
                   source.levers if levers is None else levers, source.calendar, seed)

    # ------------------------------------------------------------------ the month
    def infrastructure(self, t: int) -> None:
        """Which hamlets have fibre and mobile coverage in month t."""
        for hamlet in range(len(self.fibre_ready)):
            self.fibre_ready[hamlet] = all(not r.enabled or r.fibre_month[hamlet] <= t for r in self.rollouts)
            self.mobile_coverage[hamlet] = all(not r.enabled or r.mobile_month[hamlet] <= t for r in self.rollouts)

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
        self.price_factor = math.exp(-self.params.price_decline_per_year * t / 12.0)
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

    Build is creating the agents, their neighbour lists and the levers from the vectorised model's
    population, network and start state (the vectorised model itself is built outside the timing); run is
    all monthly steps with data collection."""
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
    print(f"vectorised AdoptionModel, same setting: {vectorised * 1e3:.1f} ms per run (build included, one "
          "run, collect=False)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
