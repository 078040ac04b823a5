"""The monthly step: vectorised adoption, churn and member uptake over the household state arrays.

Mechanism (default "hazard"): a household that lacks a product and is ready for it adopts this month
with probability P = 1 - exp(-lambda / 12), where

    lambda = (p + q*s + o*v) * a * r          (per year)

s is the share of its network neighbours using the product, v its outreach exposure (1 just after a
team visit, halving every ``exposure_half_life_months``; a public access point keeps a floor under it),
a its affordability and r its readiness. Under the "threshold" mechanism q*s is replaced by
``threshold_rate_per_year`` once s reaches the household's own threshold, and a ``never_adopt_share`` of
households never adopt.

Affordability a = (1 + exp(-k*c50)) / (1 + exp(k*(c - c50))) is a logistic of the cost share
c = (net price / amortisation months + net monthly fee) / household income per month, scaled so that
a = 1 for a free product. Prices, fees and incomes are those of the month's date (``model.world``). Readiness
r = 1 - w + w*skill for a product with skill weight w, and 0 where a prerequisite is missing:

    mobile data: a smartphone and mobile coverage in the hamlet
    fibre:       fibre brought to the hamlet
    services:    a smartphone and internet (mobile data or fibre)
    smartphone:  a member old enough (``phone_min_age``)

People: the household's first smartphone goes to its youngest member of 15 or over (``people.first_user``);
further members old enough take one up at ``member_uptake_per_year`` times a readiness that falls with their
age above the household's youngest adult (``Dynamics._new_users``).

**The update is synchronous**: every decision in month t reads the state at the start of month t (after
the levers' actions of that month, such as team visits); all changes are applied together at the end of
the month. A household that adopts a smartphone in month t can take mobile data from month t + 1. A
household whose last internet connection lapses stops using services that need it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from diffusion.foundation.calendar import DT_YEARS
from diffusion.foundation.randomness import Streams, WakeChain
from diffusion.foundation.threads import run_all, threads_for
from diffusion.model.members import able_members, member_changes
from diffusion.model.params import ModelParams
from diffusion.model.people import first_user, hand_phones, working_users
from diffusion.model.population import Population
from diffusion.model.products import LADDER, NEEDED, PRODUCTS, SMARTPHONE, enforce_prerequisites, prerequisites, uses
from diffusion.model.state import MonthEffects, State, StepResult
from diffusion.model.world import HISTORY_START, absolute_month, month_world


class Dynamics:
    """The step for one population, network and parameter set, or for several stacked runs.

    Args:
        params: the run's parameters, or one ModelParams per run when runs are stacked (``layout``).
        layout: ``population.RunLayout`` of stacked runs (None: one run). Stacked runs may differ in any
            number of the parameters but must share the mechanism, the active products and ``homogeneous``.
        outreach: whether a lever can give households an outreach exposure (``Lever.raises_exposure``);
            without, exposure stays 0 and the outreach term o*v is not simulated at all.
    """

    def __init__(self, params: ModelParams | list[ModelParams], pop: Population, network, streams: Streams,
                 horizon: int, layout=None, outreach: bool = False, month0: int | None = None):
        runs = list(params) if isinstance(params, list | tuple) else [params]
        params = runs[0]
        for other in runs[1:]:
            for name in ("mechanism", "active_products", "homogeneous"):
                if getattr(other, name) != getattr(params, name):
                    raise ValueError(f"stacked runs must share {name!r}")
        self.params = params
        self.B = len(runs)
        self.run = None if self.B == 1 else layout.run
        self.pop = pop
        self.network = network
        self.streams = streams
        self.n = pop.n
        self.active = [PRODUCTS.index(p) for p in PRODUCTS if p in params.active_products]

        def product(attr: str) -> np.ndarray:  # (4 products, runs)
            return np.array([[getattr(prm.products[p], attr) for prm in runs] for p in PRODUCTS], dtype=np.float64)

        def scalar(attr: str) -> np.ndarray:  # (runs,)
            return np.array([getattr(prm, attr) for prm in runs], dtype=np.float64)

        self.p, self.q, self.o = product("p"), product("q"), product("o")
        self.price, self.fee = product("price_vnd"), product("monthly_fee_vnd")
        self.churn, self.skill_weight = product("churn_per_year"), product("skill_weight")
        if params.homogeneous:
            self.price[:] = 0.0
            self.fee[:] = 0.0
            self.churn[:] = 0.0
        # per product, in any run (Python bools, read every month)
        self.has_cost = [bool(x) for x in (self.price > 0).any(axis=1) | (self.fee > 0).any(axis=1)]
        self._skilled = [bool(x) for x in (self.skill_weight > 0).any(axis=1)]
        self._churns = [bool(x) for x in (self.churn > 0).any(axis=1)]
        #: the absolute month (``world.absolute_month``) of month 0, and the place's income area
        self.month0 = absolute_month(HISTORY_START) if month0 is None else int(month0)
        self.area = pop.place.area
        self.world = month_world(self.area, self.month0, PRODUCTS)
        self.min_age = scalar("phone_min_age")
        self._min_age_hh = self._per_household32(self.min_age)  # (per household for stacked runs)
        self.aff_k, self.aff_c50 = scalar("affordability_slope"), scalar("affordability_midpoint")
        self._aff_scale = 1.0 + np.exp(-self.aff_k * self.aff_c50)
        self.amortisation = scalar("amortisation_months")
        self.churn_multiplier = scalar("churn_unaffordable_multiplier")
        self.threshold_rate = scalar("threshold_rate_per_year")
        self.decay = 0.5 ** (1.0 / scalar("exposure_half_life_months"))
        self.skill_growth = 1.0 - np.exp(-scalar("skill_growth_per_year") * DT_YEARS)
        self.member_prob = 1.0 - np.exp(-scalar("member_uptake_per_year") * DT_YEARS)
        self._age_slope = scalar("skill_age_slope")
        self._grows = bool((self.skill_growth > 0).any())
        # float32 factors of the whole-population updates (per household for stacked runs)
        self._decay = self._per_household32(self.decay)
        self._skill_growth = np.atleast_1d(self._per_household32(self.skill_growth))
        # Upper bounds of the monthly probabilities (see ``step``), with a hair of slack for rounding.
        social_max = self.q if params.mechanism == "hazard" else np.broadcast_to(self.threshold_rate, self.q.shape)
        self._reach = (self.p + social_max) * (1 + 1e-9)  # the first source's rate with s = 1, per year
        self.p_max = -np.expm1(-self._reach * DT_YEARS)
        self.o_max = -np.expm1(-self.o * (1 + 1e-9) * DT_YEARS)
        costly = (self.price > 0) | (self.fee > 0)  # per product and run
        churn_max = self.churn * np.where(costly, 1.0 + self.churn_multiplier, 1.0)
        self.churn_max = -np.expm1(-churn_max * (1 + 1e-9) * DT_YEARS)
        self._slot = np.zeros(self.n, dtype=np.int32)  # scratch of ``_distinct``
        #: threads for the month's independent pieces (``foundation.threads``)
        self.threads = threads_for(self.n)
        # Every monthly event as chains of successes of its bounding Bernoulli trial (see WakeChain): per product,
        # an adoption chain bounded by p_max, parked while the household uses the product or lacks its network, and
        # where the product is given up a churn chain bounded by churn_max, parked while it does not (``settle``).
        bounds = {f"adopt.{PRODUCTS[k]}": self.p_max[k] for k in self.active}
        bounds |= {f"churn.{PRODUCTS[k]}": self.churn_max[k] for k in self.active if self._churns[k]}
        bounds["members"] = self.member_prob
        # the outreach term o*v*a*r as events of its own, with chains bounded by o (only where exposure can arise)
        self._exposed = outreach
        bounds |= {f"outreach.{PRODUCTS[k]}": self.o_max[k] for k in self.active if outreach and (self.o[k] > 0).any()}
        chains = dict(zip(bounds, run_all([lambda name=name: WakeChain(streams, name, self._chain_bound(bounds[name]),
                                                                       self.n, horizon) for name in bounds],
                                          self.threads), strict=True))
        self.wake = {k: chains[f"adopt.{PRODUCTS[k]}"] for k in self.active}
        self.churn_wake = {k: c for k in self.active if (c := chains.get(f"churn.{PRODUCTS[k]}")) is not None}
        self.member_wake = chains["members"]
        self.outreach = {k: c for k in self.active if (c := chains.get(f"outreach.{PRODUCTS[k]}")) is not None}
        #: per product that needs a network, the hamlets it had reached when the chains were last parked (all at
        #: first; ``_follow_networks`` keeps it to the month's)
        self._reached = {k: np.ones(pop.n_hamlets, dtype=bool) for k in self.active if LADDER[k].network is not None}

    def _chain_bound(self, x: np.ndarray):
        return float(x[0]) if self.B == 1 else x

    def _per_household32(self, x: np.ndarray):
        return np.float32(x[0]) if self.B == 1 else x[self.run].astype(np.float32)

    def runs_of(self, idx: np.ndarray) -> np.ndarray | None:
        """The runs of households ``idx`` (None for a single run), for ``at``."""
        return None if self.B == 1 else self.run[idx]

    @staticmethod
    def at(x: np.ndarray, r: np.ndarray | None):
        """A per-run value for households of runs ``r`` (from ``runs_of``; the value itself for one run)."""
        return x[0] if r is None else x[r]

    def settle(self, state: State, t: int) -> None:
        """Park, for every household, the chains whose events cannot happen now and restart the others (at
        creation, after the members change each January, and after hand edits of the state through
        ``AdoptionModel.refresh``): a product's adoption and outreach chains while the household uses it or its
        hamlet lacks the product's network (as last seen: ``_follow_networks``), its churn chain while it does not,
        and the further-member chain unless the household uses a smartphone and has a member old enough without
        one. Parking changes no number (see ``WakeChain``); the month's changes park and restart the chains of the
        households they touch (``_apply``)."""
        run_all(self.settling(state, t), self.threads)

    def settling(self, state: State, t: int) -> list:
        """``settle`` as independent pieces (``threads.run_all``), one per chain; a caller may add pieces of its own."""
        pieces = [piece for k in self.active for piece in self._parking(k, t, state.adopted[k])]
        if SMARTPHONE in self.active:
            m = self._min_age_hh
            old = state.age >= m
            self._old = old.sum(axis=0, dtype=np.int16)
            self._phones = (old & state.phone).sum(axis=0, dtype=np.int16)
            pieces.append(lambda: self._park_members(state, t, None))
        return pieces

    def _parking(self, k: int, t: int, uses_k: np.ndarray, ids: np.ndarray | None = None) -> list:
        """Pieces (``threads.run_all``), one per chain of product k, that park the chains of households ``ids`` (None:
        all) and restart the others: its adoption and outreach chains while the household uses it (``uses_k``,
        aligned with ids) or its hamlet lacks the product's network, its churn chain while it does not use it.
        Networks reach a hamlet once, after years without (fibre reached a third of Quảng Ninh's households by
        2012 and nine in ten by 2020), so their parking saves many trials for one restart. (Parking for a missing
        prerequisite as well was measured: the trials it saves cost as much again in restarts.)"""
        skip = uses_k
        if k in self._reached and not self._reached[k].all():
            skip = uses_k | ~self._reached[k][self.pop.hamlet if ids is None else self.pop.hamlet[ids]]
        chains = [(self.wake[k], skip)]
        if k in self.outreach:
            chains.append((self.outreach[k], skip))
        if k in self.churn_wake:
            chains.append((self.churn_wake[k], ~uses_k))
        return [lambda chain=chain, park=park: chain.park_where(t, park, ids) for chain, park in chains]

    def _follow_networks(self, state: State, t: int, effects: MonthEffects) -> None:
        """Before month t's trials: park or restart (after month t - 1) the adoption and outreach chains of the
        households of hamlets that a product's network has reached, or left, since they were last parked."""
        pieces = []
        for k, seen in self._reached.items():
            now = effects.reached(LADDER[k].network)
            moved = np.flatnonzero(now != seen)
            if moved.size == 0:
                continue
            self._reached[k] = now.copy()
            ids = self.pop.households_of(moved)
            pieces += self._parking(k, t - 1, state.adopted[k, ids], ids)
        if pieces:
            run_all(pieces, self.threads)

    def _park_members(self, state: State, t: int, ids: np.ndarray | None) -> None:
        """Park or restart the further-member chains of households ``ids`` (None: all; see ``settle``)."""
        sel = slice(None) if ids is None else ids
        on = (self._old[sel] > self._phones[sel]) & state.adopted[SMARTPHONE, sel]
        self.member_wake.park_where(t, ~on, ids)

    def neighbour_share(self, k: int, idx: np.ndarray, state: State) -> np.ndarray:
        """Share of the neighbours of households ``idx`` who use product k (start-of-month state), counted
        for those households only: it is asked for the few whose trial succeeds."""
        return self.network.share_of(idx, state.adopted[k])

    # ----------------------------------------------------------- pieces
    def begin_month(self, t: int) -> None:
        """Read the world of month t (prices, fees and incomes of its date; ``model.world``)."""
        self.world = month_world(self.area, self.month0 + t, PRODUCTS)

    def cost_share(self, k: int, idx: np.ndarray, t: int, effects: MonthEffects | None,
                   r: np.ndarray | None, state: State) -> np.ndarray:
        """Net cost of product k per month as a share of household income in month t (``begin_month``), for
        households idx of runs r (``runs_of(idx)``)."""
        w = self.world
        if r is None:
            price, fee = self.price[k, 0] * w.price[k], self.fee[k, 0] * w.fee[k]
        else:
            price = self.price[k][r] * w.price[k]
            fee = self.fee[k][r] * w.fee[k]
        if effects is not None:
            if k in effects.price_subsidy:
                price = np.maximum(price - effects.price_subsidy[k][idx], 0.0)
            if k in effects.fee_discount:
                fee = np.maximum(fee - effects.fee_discount[k][idx], 0.0)
        income = self.pop.income[idx] * np.maximum(state.size[idx], 1) * w.income
        return (price / self.at(self.amortisation, r) + fee) / income

    def affordability(self, c: np.ndarray, r: np.ndarray | None) -> np.ndarray:
        """a(c) in (0, 1] for cost shares c of households of runs r (see ``runs_of``), 1 for a free product
        (see module docstring)."""
        k, c50 = self.at(self.aff_k, r), self.at(self.aff_c50, r)
        z = np.minimum(k * (c - c50), 700.0)
        return self.at(self._aff_scale, r) / (1.0 + np.exp(z))

    def conditions(self, k: int, idx: np.ndarray, t: int, effects: MonthEffects, state: State,
                   r: np.ndarray | None):
        """a * r of households ``idx`` of runs r (``runs_of(idx)``) that are ready for product k: their
        affordability times the skill part of their readiness, 1 - w + w*skill (see module docstring)."""
        f = 1.0
        if self.has_cost[k]:
            f = self.affordability(self.cost_share(k, idx, t, effects, r, state), r)
        if self._skilled[k]:
            w = self.at(self.skill_weight[k], r)
            f = f * (1.0 - w + w * state.skill[idx])
        return f

    def ready(self, k: int, state: State, effects: MonthEffects, idx: np.ndarray | None = None) -> np.ndarray:
        """Which of households ``idx`` (default: all) lack product k and have its prerequisites and
        infrastructure, and, for a smartphone, a member old enough for one (a bool array aligned with idx)."""
        a = state.adopted
        sel = slice(None) if idx is None else idx
        ok = ~a[k, sel]
        needs = prerequisites(k, a, sel)
        if needs is not None:
            ok &= needs
        network = LADDER[k].network
        if network is not None:
            reach = effects.reached(network)
            if not reach.all():
                ok &= reach[self.pop.hamlet[sel]]
        if k == SMARTPHONE:  # someone old enough for a smartphone (the head, or the oldest member, is)
            m = self._min_age_hh
            ok &= state.head_age[sel] >= (m if np.ndim(m) == 0 else m[sel])
        if state.never is not None:
            ok &= ~state.never[k, sel]
        return ok

    # ----------------------------------------------------------- the step
    def step(self, state: State, t: int, effects: MonthEffects) -> StepResult:
        """Advance ``state`` by month ``t`` (1-based index of the month being simulated), in place.

        Implementation note (thinning): lambda is the sum of two sources, (p + social)*a*r and o*v*a*r,
        simulated as independent events; a household adopts when either fires, with probability
        1 - (1 - P_1)(1 - P_2) = 1 - exp(-lambda/12), so this is the hazard model in law. Each source is
        bounded, because s, v, a and r are all at most 1: the first by p + max(social), the second by o,
        giving monthly bounds P_max. Each is simulated as a ``WakeChain`` of successes of its
        Bernoulli(P_max) trial, and a household whose trial succeeds in month t adopts with probability
        P / P_max, computed from the state at the start of the month; the neighbour share, affordability
        and readiness are computed only for those few households. The outreach source is simulated only
        when a lever can give households an exposure (``Lever.raises_exposure``): without one, v = 0 and it
        never fires. The bounds depend on the parameters alone, never on the levers' settings or the
        state, so scenarios share their random numbers exactly: the trials of the first source are the
        same with or without teams, and those of the outreach source the same for any team settings.
        Giving a product up has its own chain, bounded by the churn rate at its highest (``churn_max``), and
        further smartphone users have theirs; each chain is parked while its event cannot happen (``settle``).
        """
        self._follow_networks(state, t, effects)
        # Every chain's trials and decisions read the start-of-month state alone: independent pieces
        # (``threads.run_all``), the adoption chains with the highest bounds (the most trials) first.
        pieces = {("adopt", k): lambda k=k: self._adoptions(k, self.wake[k].due(t), t, state, effects)
                  for k in sorted(self.active, key=lambda k: -self.p_max[k].max())}
        for k, chain in self.outreach.items():
            pieces["reach", k] = lambda k=k, chain=chain: self._outreach(k, chain.due(t), t, state, effects)
        for k, chain in self.churn_wake.items():
            pieces["lapse", k] = lambda k=k, chain=chain: self._lapses(k, chain.due(t), t, effects, state)
        pieces["members", 0] = lambda: self._new_users(t, state)
        done = dict(zip(pieces, run_all(list(pieces.values()), self.threads), strict=True))
        adopted = {k: done["adopt", k] for k in self.active}
        for k in self.outreach:
            reached = done["reach", k]
            if reached.size:
                adopted[k] = np.union1d(adopted[k], reached)
        lapsed = {k: done["lapse", k] for k in self.churn_wake}
        return self._apply(state, t, adopted, lapsed, *done["members", 0])

    def _adoptions(self, k: int, due: np.ndarray, t: int, state: State, effects: MonthEffects) -> np.ndarray:
        """Which of households ``due`` (whose first-source trial for product k succeeds) adopt it: those ready,
        with probability P / bound (see ``step``)."""
        at = self.at
        sub = due[self.ready(k, state, effects, due)]
        if sub.size == 0:
            return sub
        r = self.runs_of(sub)
        us = self.streams.uniforms(f"adopt.{PRODUCTS[k]}", t, sub, self.n) * at(self.p_max[k], r)
        c = self.conditions(k, sub, t, effects, state, r)
        # Only a draw under the probability with every neighbour using the product (s = 1) can be an
        # adoption, so neighbours are counted for those households alone; the outcome is the same.
        near = us < -np.expm1(-at(self._reach[k], r) * c * DT_YEARS)
        sub, us = sub[near], us[near]
        if r is not None:
            r = r[near]
        if np.ndim(c):
            c = c[near]
        s = self.neighbour_share(k, sub, state)
        if self.params.mechanism == "hazard":
            social = at(self.q[k], r) * s
        else:
            social = at(self.threshold_rate, r) * (s >= state.threshold[k, sub])
        lam = (at(self.p[k], r) + social) * c
        return sub[us < -np.expm1(-lam * DT_YEARS)]

    def _lapses(self, k: int, due: np.ndarray, t: int, effects: MonthEffects, state: State) -> np.ndarray:
        """Which of households ``due`` (whose churn trial for product k succeeds) give it up: users only, by churn,
        higher when the product is unaffordable."""
        at = self.at
        sub = due[state.adopted[k, due]]
        r = self.runs_of(sub)
        us = self.streams.uniforms(f"churn.{PRODUCTS[k]}", t, sub, self.n) * at(self.churn_max[k], r)
        lam = at(self.churn[k], r)
        if self.has_cost[k] and sub.size:
            aff = self.affordability(self.cost_share(k, sub, t, effects, r, state), r)
            lam = lam * (1.0 + at(self.churn_multiplier, r) * (1.0 - aff))
        return sub[us < -np.expm1(-lam * DT_YEARS)]

    def _new_users(self, t: int, state: State) -> tuple[np.ndarray, np.ndarray]:
        """Members of smartphone households who start using a smartphone of their own: (households, slots).

        At a success of a household's trial, one of its members old enough and without a smartphone is drawn
        (each equally likely) and starts with probability uptake * readiness, where readiness = 1 - w + w * s
        and s is the household's skill less ``skill_age_slope`` per year by which the member is older than the
        household's youngest adult: older members take up a smartphone more slowly."""
        if SMARTPHONE not in self.active:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        due = self.member_wake.due(t)
        due = due[state.adopted[SMARTPHONE, due]]
        min_age = np.atleast_1d(self.at(self.min_age, self.runs_of(due)))
        count = able_members(state.age, state.phone, due, min_age, None)
        keep = count > 0
        due, count = due[keep], count[keep]
        min_age = min_age if min_age.size == 1 else min_age[keep]
        r = self.runs_of(due)
        pick = np.floor(self.streams.uniforms("people.member", t, due, self.n) * count).astype(np.int64)
        slot = able_members(state.age, state.phone, due, min_age, pick)  # the pick-th member able to start
        age = state.age[slot, due].astype(np.float64)
        skill = np.clip(state.skill[due] - self.at(self._age_slope, r) * (age - state.young_age[due]), 0.02, 1.0)
        mp = self.at(self.member_prob, r)
        us = self.streams.uniforms("members", t, due, self.n) * mp
        w = self.at(self.skill_weight[SMARTPHONE], r)
        ok = us < mp * (1.0 - w + w * skill)
        return due[ok], slot[ok]

    def _apply(self, state: State, t: int, adopted: dict[int, np.ndarray], lapsed: dict[int, np.ndarray],
               grow: np.ndarray, slots: np.ndarray) -> StepResult:
        """Apply the month's changes together (synchronous update) and say what changed."""
        a = state.adopted
        touched = self._distinct(np.concatenate([grow, *adopted.values(), *lapsed.values()]))
        before = np.take(a, touched, axis=1)  # (np.take: several times faster than a[:, ids])
        users_before = state.phone_users[touched]
        # what the members' changes need from the start of the month: the phones of households that give up
        # their smartphone (all go), and whether the households of new users were online
        cleared = lapsed.get(SMARTPHONE, _NONE)
        cleared_phones = np.take(state.phone, cleared, axis=1)
        cleared_online = uses("internet", np.take(a, cleared, axis=1))
        new = adopted.get(SMARTPHONE, _NONE)
        starters = np.concatenate([grow, new])
        starters_online = uses("internet", np.take(a, starters, axis=1))
        first = _NONE
        if SMARTPHONE in self.active:
            state.phone[slots, grow] = True
            self._phones[grow] += 1  # (a new user is old enough: ``members.able_members``)
            age = state.age[slots, grow]
            state.phone_users[grow] += ((age >= 15) & (age < 65)).astype(np.int16)
            if self._grows:
                _grow_skill(state.skill, a[SMARTPHONE], self._skill_growth)
        for k, idx in adopted.items():
            a[k, idx] = True
        for k, idx in lapsed.items():
            a[k, idx] = False
        if SMARTPHONE in adopted:
            first = first_user(np.take(state.age, new, axis=1), self.at(self.min_age, self.runs_of(new)))
            state.phone[first, new] = True
            age = state.age[first, new]
            state.phone_users[new] = ((age >= 15) & (age < 65)).astype(np.int16)
            m = self._min_age_hh
            self._phones[new] = age >= (m if np.ndim(m) == 0 else m[new])  # (the first user may be younger)
        # giving up a product another needs may take that one away too (a household listed twice is harmless)
        broken = [ids for k, ids in lapsed.items() if k in NEEDED and ids.size]
        if broken:
            self.enforce_prerequisites(state, np.concatenate(broken))
        after = np.take(a, touched, axis=1)
        changed = before != after
        # each chain's parking and the members' changes are independent pieces (``threads.run_all``)
        pieces = [lambda: member_changes(state, touched, before, after,
                                          (starters, np.concatenate([slots, first]), starters_online),
                                          (cleared, cleared_phones, cleared_online))]
        for k in self.active:
            ch = np.flatnonzero(changed[k])
            if ch.size:
                pieces += self._parking(k, t, after[k, ch], touched[ch])
        if SMARTPHONE in self.active:
            self._phones[cleared] = 0
            pieces.append(lambda: self._park_members(state, t, np.concatenate([starters, cleared])))
        members = run_all(pieces, self.threads)[0]
        return StepResult(adopted, lapsed, touched, before, after, users_before, state.phone_users[touched], members)

    def _outreach(self, k: int, due: np.ndarray, t: int, state: State, effects: MonthEffects) -> np.ndarray:
        """Which of households ``due`` (whose outreach trial for product k succeeds) adopt it through the
        outreach term: with probability (1 - exp(-o*v*a*r/12)) / o_max."""
        v = state.exposure[due]
        if effects.awareness is not None:
            v = np.maximum(v, effects.awareness[due])
        exposed = v > 0
        due, v = due[exposed], v[exposed]
        ok = self.ready(k, state, effects, due)
        sub, v = due[ok], v[ok]
        if sub.size == 0:
            return sub
        r = self.runs_of(sub)
        us = self.streams.uniforms(f"outreach.{PRODUCTS[k]}", t, sub, self.n) * self.at(self.o_max[k], r)
        lam = self.at(self.o[k], r) * v * self.conditions(k, sub, t, effects, state, r)
        return sub[us < -np.expm1(-lam * DT_YEARS)]

    def _distinct(self, ids: np.ndarray) -> np.ndarray:
        """Each of ``ids`` once, in time proportional to their number: every id writes its position into a
        scratch array, and one write per id survives whatever the order of the writes, so an id is kept at
        exactly the one position that reads back its own."""
        pos = np.arange(ids.size, dtype=np.int32)
        self._slot[ids] = pos
        return ids[self._slot[ids] == pos]

    def enforce_prerequisites(self, state: State, idx: np.ndarray | None = None) -> None:
        """Drop uses whose prerequisite lapsed (services without internet, and so on), for households
        ``idx`` (default all)."""
        if idx is None:
            idx = np.arange(self.n)
        enforce_prerequisites(state.adopted, idx)
        without = idx[~state.adopted[SMARTPHONE, idx]]
        state.phone_users[without] = 0
        state.phone[:, without] = False

    def sync_members(self, state: State) -> None:
        """After hand edits of ``state.adopted``: a smartphone household without a member using one gives it to
        the member who would take up its first (``people.first_user``), or gives it up when nobody is old enough;
        a household without a smartphone has no member using one; the working-age users are recounted."""
        lone = np.flatnonzero(state.adopted[SMARTPHONE] & ~state.phone.any(axis=0))
        if lone.size:
            able = hand_phones(state.age, state.phone, lone, self.at(self.min_age, self.runs_of(lone)))
            state.adopted[SMARTPHONE, lone[~able]] = False  # nobody old enough for it
        self.enforce_prerequisites(state)
        state.phone_users[:] = working_users(state.age, state.phone)

    def end_of_month(self, state: State) -> None:
        """Exposure decays with its half-life (where a lever can give exposure; without one it stays 0)."""
        if self._exposed:
            state.exposure *= self._decay


_NONE = np.empty(0, dtype=np.int64)


@njit(cache=True, nogil=True)
def _grow_skill(skill: np.ndarray, phone: np.ndarray, growth: np.ndarray) -> None:
    """skill += (1 - skill) * growth * phone, in float32 as the state holds it and in numpy's order (``growth``: one
    value, or one per household); one pass instead of four numpy passes, without a branch per household (and one
    loop per case, so neither chooses its growth per household)."""
    one = np.float32(1.0)
    if growth.size == 1:
        g = growth[0]
        for i in range(skill.size):
            skill[i] += (one - skill[i]) * g * np.float32(phone[i])
    else:
        for i in range(skill.size):
            skill[i] += (one - skill[i]) * growth[i] * np.float32(phone[i])
