"""Community digital technology teams visiting households."""

from __future__ import annotations

import numpy as np

from diffusion.foundation.errors import check_choice, check_rate, check_share, check_whole
from diffusion.model.levers.base import GROUP_ACTIVITIES, Lever, hamlet_mask, rank_in_groups
from diffusion.model.products import PRODUCTS

#: The orders in which teams visit households (see ``DigitalTeams``).
TARGETING: tuple[str, ...] = (
    "random",
    "non_adopters_first",
    "poorest_first",
    "elderly_first",
    "best_connected_first",
)


class DigitalTeams(Lever):
    """Community digital technology teams (tổ công nghệ số cộng đồng) visiting households.

    Each served hamlet has ``teams_per_hamlet`` teams of ``members_per_team`` members, each making
    ``visits_per_member`` visits a month, so a hamlet gets at most teams*members*visits visits a month.
    Teams visit households that lack at least one product and were not visited in the last
    ``revisit_months`` months, in the order of ``targeting``:

    - random: a random order;
    - non_adopters_first: households using the fewest products first;
    - poorest_first: lowest income per person first;
    - elderly_first: oldest household head first;
    - best_connected_first: most network ties first.

    A visit sets the household's outreach exposure to 1 (it then halves every
    ``exposure_half_life_months``) and closes ``skill_boost`` of the gap between its skill and 1. The
    cost is ``allowance_vnd`` per member per month while active (assumption: 300,000 VND). The
    province averages 7.6 members per team (11,255 members / 1,473 teams; observations).
    """

    kind = "digital_teams"
    raises_exposure = True
    activities = ("visits", "paid_vnd", *GROUP_ACTIVITIES)
    per_run = ("capacity_run", "monthly_cost", "skill_boost_run", "revisit", "tiered", "group_size")
    per_household = ("_served_households",)
    household_ids = ("_order", "_group_ids")
    hamlet_ids = ("_hamlet_of",)
    per_hamlet = ("_served",)

    setting_docs = {**Lever.setting_docs,
                    "teams_per_hamlet": "Community digital teams per served hamlet.",
                    "members_per_team": "Members per team (province: 11,255 members / 1,473 teams = 7.6).",
                    "visits_per_member": "Household visits per member per month.",
                    "targeting": "Which households are visited first: " + ", ".join(TARGETING) + ".",
                    "skill_boost": "Share (0-1) of the gap between a visited household's skill and 1 closed by a "
                                   "visit.",
                    "revisit_months": "Months before a household may be visited again.",
                    "allowance_vnd": "Allowance per team member per month, VND (the lever's cost)."}

    def __init__(self, teams_per_hamlet: int = 1, members_per_team: int = 8, visits_per_member: int = 10,
                 targeting: str = "non_adopters_first", skill_boost: float = 0.2, revisit_months: int = 6,
                 allowance_vnd: float = 300_000.0, hamlets: list | None = None, **kw):
        super().__init__(**kw)
        self.teams_per_hamlet = check_whole("teams_per_hamlet", teams_per_hamlet, 0, self.name)
        self.members_per_team = check_whole("members_per_team", members_per_team, 0, self.name)
        self.visits_per_member = check_whole("visits_per_member", visits_per_member, 0, self.name)
        self.targeting = check_choice("targeting", targeting, TARGETING, self.name)
        self.skill_boost = check_share("skill_boost", skill_boost, self.name)
        self.revisit_months = check_whole("revisit_months", revisit_months, 0, self.name)
        self.allowance_vnd = check_rate("allowance_vnd", allowance_vnd, self.name)
        self.hamlets = hamlets

    @property
    def capacity(self) -> int:
        """Visits per served hamlet per month."""
        return self.teams_per_hamlet * self.members_per_team * self.visits_per_member

    def bind(self, ctx):
        super().bind(ctx)
        pop = ctx.population
        self._served = hamlet_mask(self.hamlets, pop, self._field("hamlets"))
        self._served_households = self._served[pop.hamlet]
        self._bind_group(self._served_households)  # the households of the hamlets served (none: every hamlet)
        if self.targeting == "elderly_first" and ctx.state is not None:
            # the heads' ages at the run's start depend on its history (its start and parameters): not shared
            self._order, self._hamlet_of = self._priority(ctx)
        else:
            self._order, self._hamlet_of = pop.derive(("visits", self.targeting), lambda: self._priority(ctx))
        self._active_products = [PRODUCTS.index(p) for p in ctx.params.active_products]
        self.capacity_run = np.array([self.capacity])
        self.monthly_cost = np.array([self.allowance_vnd * self.teams_per_hamlet * self.members_per_team])
        self.skill_boost_run = np.array([self.skill_boost], dtype=np.float32)
        self.revisit = np.array([self.revisit_months])
        self.tiered = np.array([self.targeting == "non_adopters_first"])

    def _priority(self, ctx) -> tuple[np.ndarray, np.ndarray]:
        """The static visiting order (grouped by hamlet) and the hamlet of each place in it."""
        pop = ctx.population
        rng = ctx.streams.generator("visits")
        tie = rng.random(pop.n)
        if self.targeting == "poorest_first":
            key = pop.income
        elif self.targeting == "elderly_first":
            key = -(ctx.state if ctx.state is not None else pop).head_age.astype(np.float64)
        elif self.targeting == "best_connected_first":
            key = -ctx.network.degree.astype(np.float64)
        else:
            key = np.zeros(pop.n)
        order = np.lexsort((tie, key, pop.hamlet))
        return order, pop.hamlet[order]

    def act(self, t, state, effects):
        L = self.ctx.layout
        self.last = {"visits": self._zeros(), "paid_vnd": self._zeros()}
        self._visited = np.empty(0, dtype=np.int64)
        acting = self.active(t) & (self.capacity_run > 0)
        if not acting.any():
            return
        order = self._order
        P = len(self._active_products)
        a = state.adopted
        has_all = a[self._active_products[0]].copy()
        for k in self._active_products[1:]:
            has_all &= a[k]
        cand = self._served_households & ~has_all  # lacking at least one product
        if L.runs > 1 and not acting.all():
            cand &= acting[L.run]
        if (self.revisit > 0).any():  # (a revisit period of 0 passes: every earlier visit is <= t)
            rv = self.revisit[0] if (self.revisit == self.revisit[0]).all() else L.spread(self.revisit)
            cand &= (state.last_visit < 0) | (state.last_visit <= t - rv)
        pos = np.flatnonzero(cand[order])  # candidates' places in the priority order
        if self.tiered.any():
            who = order[pos]
            tiers = a[self._active_products[0], who].astype(np.int64)
            for k in self._active_products[1:]:
                tiers += a[k, who]
            if not self.tiered.all():
                tiers = np.where(self.tiered[L.run[who]], tiers, 0)
            levels = range(P)
        else:
            tiers = None
            levels = range(1)
        remaining = np.where(self._served, L.spread_hamlets(self.capacity_run), 0).astype(np.int64)
        picked = []
        for level in levels:
            at = pos if tiers is None else pos[tiers == level]
            if at.size == 0:
                continue
            h = self._hamlet_of[at]  # sorted: hamlets are contiguous in the priority order
            take = rank_in_groups(h) < remaining[h]
            picked.append(order[at[take]])
            remaining -= np.bincount(h[take], minlength=remaining.size)
        visited = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
        state.exposure[visited] = 1.0
        state.skill[visited] += self.skill_boost_run[L.run[visited]] * (1.0 - state.skill[visited])
        state.last_visit[visited] = t
        self._visited = visited
        self.last["visits"] = L.count(visited)

    def book(self, t, state, result):
        L = self.ctx.layout
        acting = self.active(t)
        paid = np.where(acting, self.monthly_cost * L.hamlet_sum(self._served.astype(np.float64)), 0.0)
        self.spent += paid
        self.last = {"visits": self.last.get("visits", self._zeros()), "paid_vnd": paid}
        self._record_group(state)
        return paid
