"""Networks reaching hamlets (mobile coverage, fibre) and internet at the cultural house."""

from __future__ import annotations

import numpy as np

from diffusion.foundation.errors import ParameterError, check_rate, check_share
from diffusion.model.levers.base import GROUP_ACTIVITIES, Lever, hamlet_index, hamlet_mask


class InfrastructureRollout(Lever):
    """Which hamlets have mobile coverage and fibre, and from which month.

    ``fibre`` and ``mobile`` are schedules, each either
      - a mapping hamlet -> "YYYY-MM" (hamlet by name or 0-based index), or
      - a list of [date, share] pairs, like [["2023-06", 0.86], ["2025-06", 1.0]]: the share of hamlets
        connected by each date; hamlets are taken in a random order (the "rollout" stream).
    A network without a schedule follows the world's rollout (``model.world``); one with a schedule follows
    it from the lever's start on, before that the world's. A hamlet with no date in an explicit schedule, or
    beyond the last share, is not connected from the lever's start (its users keep their connections, but no
    household takes a new one until the schedule reaches it). Connecting a hamlet
    costs ``cost_per_hamlet_vnd`` (assumption: 0, operators' investment is not the programme's).
    ``hamlets`` restricts the lever to the hamlets named: the others follow the world's rollout, and the shares
    of a list schedule are shares of the hamlets named.
    """

    kind = "infrastructure"
    activities = ("fibre_hamlets_connected", "mobile_hamlets_connected", "fibre_hamlets", "mobile_hamlets",
                  "paid_vnd", *GROUP_ACTIVITIES)
    per_run = ("has_fibre", "has_mobile", "cost", "group_size")
    per_hamlet = ("_fibre_month", "_mobile_month", "_served")
    household_ids = ("_group_ids",)

    setting_docs = {**Lever.setting_docs,
                    "fibre": 'Fibre schedule: a table hamlet -> "YYYY-MM", or a list of ["YYYY-MM", share of hamlets] '
                             "pairs (omit: fibre follows the world's rollout, world_series.csv).",
                    "mobile": "Mobile coverage schedule, same forms as fibre (omit: coverage follows the world's "
                              "rollout).",
                    "cost_per_hamlet_vnd": "Programme cost of connecting one hamlet (fibre or mobile), VND."}

    def __init__(self, fibre=None, mobile=None, cost_per_hamlet_vnd: float = 0.0, hamlets: list | None = None,
                 **kw):
        super().__init__(**kw)
        self.fibre = fibre
        self.mobile = mobile
        self.hamlets = hamlets
        self.cost_per_hamlet_vnd = check_rate("cost_per_hamlet_vnd", cost_per_hamlet_vnd, self.name)
        for label, sched in (("fibre", fibre), ("mobile", mobile)):
            if sched is not None and not isinstance(sched, dict | list | tuple):
                raise ParameterError(label, sched, "a mapping hamlet -> 'YYYY-MM' or a list of [date, share]",
                                     self.name)

    def bind(self, ctx):
        super().bind(ctx)
        pop = ctx.population

        def orders():
            rng = ctx.streams.generator("rollout")
            return rng.permutation(pop.n_hamlets), rng.permutation(pop.n_hamlets)

        order_f, order_m = pop.derive(("rollout",), orders)
        self._served = hamlet_mask(self.hamlets, pop, self._field("hamlets"))
        self._bind_group(self._served[pop.hamlet])
        order_f, order_m = order_f[self._served[order_f]], order_m[self._served[order_m]]
        never = np.iinfo(np.int32).max
        self._fibre_month = self._schedule(self.fibre, "fibre", order_f, ctx, never)
        self._mobile_month = self._schedule(self.mobile, "mobile", order_m, ctx, never)
        self.has_fibre = np.array([self.fibre is not None])
        self.has_mobile = np.array([self.mobile is not None])
        self.cost = np.array([float(self.cost_per_hamlet_vnd)])
        self.last.update(fibre_hamlets=np.array([float(np.sum(self._fibre_month <= 0))]),
                         mobile_hamlets=np.array([float(np.sum(self._mobile_month <= 0))]))

    def _schedule(self, sched, label, order, ctx, never) -> np.ndarray:
        pop, cal = ctx.population, ctx.calendar
        H = order.size  # the hamlets served
        field = self._field(label)
        if sched is None:
            return np.where(self._served, 0, never).astype(np.int64)
        months = np.full(pop.n_hamlets, never, dtype=np.int64)
        if isinstance(sched, dict):
            for key, date in sched.items():
                h = hamlet_index(key, pop, field)
                if not self._served[h]:
                    raise ParameterError(f"{field}.{key}", date, f"a date for a hamlet of {self._field('hamlets')}")
                months[h] = cal.index(date, f"{field}.{key}")
            return months
        last_share = 0.0
        for i, item in enumerate(sched):
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise ParameterError(f"{field}[{i}]", item, "a pair [date 'YYYY-MM', share 0..1]")
            date, share = item
            t = cal.index(date, f"{field}[{i}]")
            share = check_share(f"{field}[{i}].share", share)
            if share < last_share:
                raise ParameterError(f"{field}[{i}].share", share, f"a share >= the previous one ({last_share})")
            k0, k1 = int(round(last_share * H)), int(round(share * H))
            months[order[k0:k1]] = np.minimum(months[order[k0:k1]], t)
            last_share = share
        return months

    def infrastructure(self, t, effects):
        """From its start, a schedule replaces the networks' reach of the world (``model.world``): hamlets are
        reached when it says, and only then."""
        L = self.ctx.layout
        own = L.spread_hamlets(self.on & (self.t_start <= t))
        if not np.any(own):
            return
        fibre = own & L.spread_hamlets(self.has_fibre) & self._served
        mobile = own & L.spread_hamlets(self.has_mobile) & self._served
        effects.fibre_ready = np.where(fibre, self._fibre_month <= t, effects.fibre_ready)
        effects.mobile_coverage = np.where(mobile, self._mobile_month <= t, effects.mobile_coverage)

    def book(self, t, state, result):
        L = self.ctx.layout
        on = self.on
        nf = np.where(self.has_fibre & on, L.hamlet_sum((self._fibre_month == t).astype(np.float64)), 0.0)
        nm = np.where(self.has_mobile & on, L.hamlet_sum((self._mobile_month == t).astype(np.float64)), 0.0)
        paid = (nf + nm) * self.cost
        self.spent += paid
        self.last = {
            "fibre_hamlets_connected": nf,
            "mobile_hamlets_connected": nm,
            "fibre_hamlets": np.where(on, L.hamlet_sum((self._fibre_month <= t).astype(np.float64)), 0.0),
            "mobile_hamlets": np.where(on, L.hamlet_sum((self._mobile_month <= t).astype(np.float64)), 0.0),
            "paid_vnd": paid,
        }
        self._record_group(state)
        return paid


class PublicAccessPoint(Lever):
    """Internet at the hamlet cultural house (nhà văn hoá): from ``start``, households of the served
    hamlets keep an outreach exposure of at least ``awareness`` (0..1), and their skill gains
    ``skill_boost`` of its gap to 1 once, in the opening month. Costs ``setup_cost_vnd`` per point when
    it opens and ``monthly_cost_vnd`` per point every month (assumptions: 5,000,000 and 300,000 VND).
    """

    kind = "public_access"
    raises_exposure = True
    activities = ("points", "paid_vnd", *GROUP_ACTIVITIES)
    per_run = ("awareness_run", "skill_boost_run", "setup_cost", "monthly_cost", "group_size")
    per_household = ("_households",)
    household_ids = ("_group_ids",)
    per_hamlet = ("_served",)

    setting_docs = {**Lever.setting_docs,
                    "awareness": "Floor (0-1) under the outreach exposure of households of served hamlets while open.",
                    "skill_boost": "Share (0-1) of the skill gap closed once, in the opening month.",
                    "setup_cost_vnd": "Cost of opening one access point, VND.",
                    "monthly_cost_vnd": "Running cost of one access point, VND per month."}

    def __init__(self, awareness: float = 0.2, skill_boost: float = 0.05, setup_cost_vnd: float = 5_000_000.0,
                 monthly_cost_vnd: float = 300_000.0, hamlets: list | None = None, **kw):
        super().__init__(**kw)
        self.awareness = check_share("awareness", awareness, self.name)
        self.skill_boost = check_share("skill_boost", skill_boost, self.name)
        self.setup_cost_vnd = check_rate("setup_cost_vnd", setup_cost_vnd, self.name)
        self.monthly_cost_vnd = check_rate("monthly_cost_vnd", monthly_cost_vnd, self.name)
        self.hamlets = hamlets

    def bind(self, ctx):
        super().bind(ctx)
        pop = ctx.population
        self._served = hamlet_mask(self.hamlets, pop, self._field("hamlets"))
        self._households = self._served[pop.hamlet]
        self._bind_group(self._households)
        self.awareness_run = np.array([self.awareness])
        self.skill_boost_run = np.array([self.skill_boost], dtype=np.float32)
        self.setup_cost = np.array([float(self.setup_cost_vnd)])
        self.monthly_cost = np.array([float(self.monthly_cost_vnd)])

    def act(self, t, state, effects):
        L = self.ctx.layout
        acting = self.active(t)
        if not acting.any():
            return
        opening = acting & (self.t_start == t) & (self.skill_boost_run > 0)
        if opening.any():
            h = self._households & L.spread(opening)
            state.skill[h] += self.skill_boost_run[L.run[h]] * (1.0 - state.skill[h])
        aware = acting & (self.awareness_run > 0)
        if aware.any():
            if effects.awareness is None:
                effects.awareness = np.zeros(state.adopted.shape[1], dtype=np.float32)
            floor = np.where(self._households & L.spread(aware), L.spread(self.awareness_run), 0.0)
            np.maximum(effects.awareness, floor.astype(np.float32), out=effects.awareness)

    def book(self, t, state, result):
        L = self.ctx.layout
        acting = self.active(t)
        points = np.where(acting, L.hamlet_sum(self._served.astype(np.float64)), 0.0)
        paid = points * (self.monthly_cost + np.where(self.t_start == t, self.setup_cost, 0.0))
        self.spent += paid
        self.last = {"points": points, "paid_vnd": paid}
        self._record_group(state)
        return paid
