"""Policy levers: objects with a schedule, an eligibility rule, a mechanism and a cost.

Each lever acts on the household state in two places of the month (see ``AdoptionModel.step``):

1. ``act(t, ...)`` before the households decide: it sets the month's effects (a lower net price, a fee
   discount, which hamlets have coverage or fibre, an awareness floor) and makes team visits;
2. ``book(t, ...)`` after the decisions: it pays for what happened (subsidies to eligible adopters,
   allowances, connections) within its budget, and returns what it spent this month in VND.

Every lever records, for every month, what it did (``last`` holds that month's activity). Dates are
"YYYY-MM"; a lever is active from ``start`` to ``end`` inclusive (default: the whole run). Each lever
draws random numbers from its own stream only, so switching one on never shifts another process.

Several runs can be stacked in one set of arrays (see ``diffusion.engine``): each run binds its own
levers, ``stack_levers`` joins the bound levers of one name, and the joined lever acts on all runs at
once. A lever therefore keeps its settings as arrays with one value per run (``per_run``), per
household or per hamlet, and ``book`` returns the month's spending per run, an array of length ``runs``.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ParameterError, check_choice, check_rate, check_share, check_whole
from diffusion.foundation.text import did_you_mean
from diffusion.model.dynamics import MonthEffects, State, StepResult
from diffusion.model.products import FIBRE, PRODUCTS, SMARTPHONE

ELIGIBILITY: tuple[str, ...] = ("poor", "near_poor", "elderly_only", "all")
TARGETING: tuple[str, ...] = (
    "random",
    "non_adopters_first",
    "poorest_first",
    "elderly_first",
    "best_connected_first",
)


@dataclass
class LeverContext:
    """What a lever may look at when it is bound to a model."""

    calendar: Calendar
    population: Any
    network: Any
    streams: Any
    params: Any
    layout: Any = None  # population.RunLayout (None: built for the single run)

    def __post_init__(self):
        if self.layout is None:
            from diffusion.model.population import RunLayout

            self.layout = RunLayout.single(self.population.n, self.population.n_hamlets)


class Lever:
    """Base class. Subclasses set ``kind``, validate their fields and override act/book. A subclass that
    gives households an outreach exposure (``State.exposure`` or ``MonthEffects.awareness``) must set
    ``raises_exposure = True``: without a lever that does, the step does not simulate the outreach term.

    After ``bind`` the attributes named in ``per_run`` hold one value per run, those in ``per_household``
    one per household (``household_ids``: arrays of household ids), those in ``per_hamlet`` one per
    hamlet (``hamlet_ids``: arrays of hamlet ids); ``stack_levers`` joins them run after run.
    """

    kind: ClassVar[str] = "lever"
    activities: ClassVar[tuple[str, ...]] = ()
    per_run: ClassVar[tuple[str, ...]] = ()
    per_household: ClassVar[tuple[str, ...]] = ()
    household_ids: ClassVar[tuple[str, ...]] = ()
    per_hamlet: ClassVar[tuple[str, ...]] = ()
    hamlet_ids: ClassVar[tuple[str, ...]] = ()
    _BASE_PER_RUN: ClassVar[tuple[str, ...]] = ("t_start", "t_end", "on", "budget", "spent")
    #: whether the lever can give households an outreach exposure (``State.exposure`` or
    #: ``MonthEffects.awareness``); only then does the step draw outreach trials (see ``diffusion.dynamics``)
    raises_exposure: ClassVar[bool] = False

    def __init__(self, name: str | None = None, start: str | None = None, end: str | None = None,
                 enabled: bool = True):
        self.name = name or self.kind
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", name, "a non-empty text", self.kind)
        self.start = start
        self.end = end
        if not isinstance(enabled, bool):
            raise ParameterError("enabled", enabled, "true or false", self.name)
        self.enabled = enabled
        self.last: dict[str, np.ndarray] = {}
        self.budget_vnd: float | None = None  # total VND the lever may spend (None: no limit)

    # ---------------------------------------------------------------- binding
    def bind(self, ctx: LeverContext) -> None:
        """Resolve dates against the run's calendar and precompute what the lever needs."""
        cal = ctx.calendar
        self.ctx = ctx
        t_start = 1 if self.start is None else max(1, cal.index(self.start, self._field("start")))
        t_end = cal.months if self.end is None else cal.index(self.end, self._field("end"))
        if t_end < t_start:
            raise ParameterError(self._field("end"), self.end, f"a month not before start ({self.start})")
        self.t_start = np.array([t_start])
        self.t_end = np.array([t_end])
        self.on = np.array([self.enabled])
        self.budget = np.array([np.inf if self.budget_vnd is None else float(self.budget_vnd)])
        self.spent = np.zeros(1)
        self.last = {a: np.zeros(1) for a in self.activities}

    def _remaining(self) -> np.ndarray:
        """VND left in the budget, per run (infinite without one)."""
        return self.budget - self.spent

    def _field(self, f: str) -> str:
        return f"levers.{self.name}.{f}"

    def active(self, t: int) -> np.ndarray:
        """Whether the lever acts in month t, per run."""
        return self.on & (self.t_start <= t) & (t <= self.t_end)

    def _eligible_mask(self, eligibility: tuple[str, ...]) -> np.ndarray:
        pop = self.ctx.population
        if "all" in eligibility:
            return np.ones(pop.n, dtype=bool)
        m = np.zeros(pop.n, dtype=bool)
        if "poor" in eligibility:
            m |= pop.poor
        if "near_poor" in eligibility:
            m |= pop.near_poor
        if "elderly_only" in eligibility:
            m |= pop.elderly_only
        return m

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.ctx.layout.runs)

    def _payable(self, unit: np.ndarray, committed: np.ndarray | float = 0.0) -> np.ndarray:
        """Whole payments of ``unit`` VND (per run) that each run's budget still allows after ``committed``
        VND of this month (inf: no budget)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.maximum(np.floor_divide(self._remaining() - committed, unit), 0.0)
        return np.where(np.isfinite(self.budget), left, np.inf)

    def _pay_first(self, ids: np.ndarray, t: int, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split households ``ids`` into those paid and those not: at most ``limit[r]`` of run r's (a
        per-run array, inf: all), taken in a random order drawn from the "payments" stream for month t."""
        L = self.ctx.layout
        run = L.run[ids]
        if ids.size == 0 or np.all(L.count(ids) <= limit):
            return ids, ids[:0]
        u = self.ctx.streams.uniforms("payments", t, ids, L.sizes[0])
        order = np.lexsort((u, run))
        ids, run = ids[order], run[order]
        keep = rank_in_groups(run) < limit[run]
        return ids[keep], ids[~keep]

    # ---------------------------------------------------------------- month
    def infrastructure(self, t: int, effects: MonthEffects) -> None:
        """Set which hamlets have coverage and fibre in month t (infrastructure levers only)."""

    def act(self, t: int, state: State, effects: MonthEffects) -> None:
        """Act before the month's decisions."""

    def book(self, t: int, state: State, result: StepResult) -> np.ndarray:
        """Pay for the month; return VND spent this month, per run."""
        return self._zeros()


def rank_in_groups(groups: np.ndarray) -> np.ndarray:
    """Each element's position within its group, for ``groups`` whose equal values are contiguous."""
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    return np.arange(groups.size) - np.repeat(starts, np.diff(np.append(starts, groups.size)))


def stack_levers(levers: list[Lever], ctx: LeverContext) -> Lever:
    """One lever acting on stacked runs from the bound levers of those runs (the same name and kind,
    in run order); ``ctx`` is the stacked runs' context."""
    first = levers[0]
    for lv in levers[1:]:
        if type(lv) is not type(first) or lv.name != first.name:
            raise ValueError(f"stacked runs must have the same levers: {first.name!r} ({first.kind}) against "
                             f"{lv.name!r} ({lv.kind})")
    L = ctx.layout
    out = copy.copy(first)
    for f in Lever._BASE_PER_RUN + first.per_run + first.per_household + first.per_hamlet:
        setattr(out, f, np.concatenate([getattr(lv, f) for lv in levers]))
    for f in first.household_ids:
        setattr(out, f, np.concatenate([getattr(lv, f) + L.offsets[i] for i, lv in enumerate(levers)]))
    for f in first.hamlet_ids:
        setattr(out, f, np.concatenate([getattr(lv, f) + L.hamlet_offsets[i] for i, lv in enumerate(levers)]))
    out.ctx = ctx
    out.last = {a: np.concatenate([lv.last[a] for lv in levers]) for a in first.activities}
    return out


def _eligibility(value, lever: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items:
        raise ParameterError("eligibility", value, f"one or more of {ELIGIBILITY}", lever)
    for e in items:
        check_choice("eligibility", e, ELIGIBILITY, lever)
    return items


def _budget(value, lever: str) -> float | None:
    if value is None:
        return None
    return check_rate("budget_vnd", value, lever)


class SmartphoneSubsidy(Lever):
    """Support for buying a smartphone: ``amount_vnd`` off the price for eligible households.

    The national scheme pays 500,000 VND per poor or near-poor household from 2022-12 (Circular
    14/2022/TT-BTTTT; observations). The subsidy lowers the net price the household faces when it
    decides; it is paid when an eligible household adopts, in a random order within the month, until
    ``budget_vnd`` is spent (None: no limit). While the remaining budget is below one payment the
    subsidy is closed.
    """

    kind = "smartphone_subsidy"
    activities = ("payments", "paid_vnd")
    per_run = ("amount",)
    per_household = ("_eligible",)

    def __init__(self, amount_vnd: float = 500_000.0, eligibility=("poor", "near_poor"),
                 budget_vnd: float | None = None, **kw):
        super().__init__(**kw)
        self.amount_vnd = check_rate("amount_vnd", amount_vnd, self.name)
        self.eligibility = _eligibility(eligibility, self.name)
        self.budget_vnd = _budget(budget_vnd, self.name)

    def bind(self, ctx):
        super().bind(ctx)
        self.amount = np.array([float(self.amount_vnd)])
        self._eligible = self._eligible_mask(self.eligibility)
        self._offer_key = None  # (the offer array is rebuilt for this binding)

    def act(self, t, state, effects):
        self._open = self.active(t) & (self.amount > 0) & (self._remaining() >= self.amount)
        if not self._open.any():
            return
        key = self._open.tobytes()
        if self._offer_key != key:  # the offer changes only when a run opens or closes
            L = self.ctx.layout
            self._offer = np.where(self._eligible & L.spread(self._open), L.spread(self.amount), 0.0)
            self._offer_key = key
        effects.add(effects.price_subsidy, SMARTPHONE, self._offer)

    def book(self, t, state, result):
        self.last = {"payments": self._zeros(), "paid_vnd": self._zeros()}
        open_ = getattr(self, "_open", None)
        if open_ is None or not open_.any():
            return self._zeros()
        L = self.ctx.layout
        new = result.adopted.get(SMARTPHONE, np.empty(0, dtype=np.int64))
        new = new[self._eligible[new] & open_[L.run[new]]]
        pay, _ = self._pay_first(new, t, self._payable(self.amount))
        count = L.count(pay)
        paid = count * self.amount
        self.spent += paid
        self.last = {"payments": count, "paid_vnd": paid}
        return paid


class ConnectionSupport(Lever):
    """Support for fixed (fibre) broadband: a one-off installation subsidy and/or a monthly fee
    discount for ``discount_months`` months after connection, for eligible households.

    Both lower the cost share the household weighs when deciding (and, for the discount, when deciding
    whether to keep the connection). Installation subsidies are paid when an eligible household
    connects; discounts every month to connected, enrolled households; all within ``budget_vnd``.
    """

    kind = "connection_support"
    activities = ("installations_paid", "discounts_paid", "paid_vnd")
    per_run = ("install", "discount", "months")
    per_household = ("_eligible", "_enrolled_until")

    def __init__(self, install_subsidy_vnd: float = 0.0, monthly_discount_vnd: float = 0.0,
                 discount_months: int = 12, eligibility=("poor", "near_poor"),
                 budget_vnd: float | None = None, **kw):
        super().__init__(**kw)
        self.install_subsidy_vnd = check_rate("install_subsidy_vnd", install_subsidy_vnd, self.name)
        self.monthly_discount_vnd = check_rate("monthly_discount_vnd", monthly_discount_vnd, self.name)
        self.discount_months = check_whole("discount_months", discount_months, 0, self.name)
        self.eligibility = _eligibility(eligibility, self.name)
        self.budget_vnd = _budget(budget_vnd, self.name)

    def bind(self, ctx):
        super().bind(ctx)
        n = ctx.population.n
        self.install = np.array([float(self.install_subsidy_vnd)])
        self.discount = np.array([float(self.monthly_discount_vnd)])
        self.months = np.array([int(self.discount_months)])
        self._eligible = self._eligible_mask(self.eligibility)
        self._enrolled_until = np.full(n, -1, dtype=np.int32)

    def act(self, t, state, effects):
        L = self.ctx.layout
        enrolled = (self._enrolled_until >= t) & state.adopted[FIBRE]
        self._open = self.active(t) & (self._remaining() > 0) & ((self.install > 0) | (self.discount > 0))
        offer = self._eligible & ~state.adopted[FIBRE] & L.spread(self._open)
        if ((self.install > 0) & self._open).any():
            effects.add(effects.price_subsidy, FIBRE, np.where(offer, L.spread(self.install), 0.0))
        discounting = (self.discount > 0) & (self.months > 0)
        if discounting.any() and (offer.any() or enrolled.any()):
            effects.add(effects.fee_discount, FIBRE,
                        np.where((offer | enrolled) & L.spread(discounting), L.spread(self.discount), 0.0))

    def book(self, t, state, result):
        L = self.ctx.layout
        paid = self._zeros()
        n_disc = self._zeros()
        n_inst = self._zeros()
        # ongoing discounts first (commitments), then new installations, within the budget
        ongoing = np.flatnonzero((self._enrolled_until >= t) & state.adopted[FIBRE])
        ongoing = ongoing[self.discount[L.run[ongoing]] > 0]
        if ongoing.size:
            kept, dropped = self._pay_first(ongoing, t, self._payable(self.discount))
            n_disc = L.count(kept)
            paid += n_disc * self.discount
            self._enrolled_until[dropped] = -1  # budget ran out: the remaining enrolments end
        open_ = getattr(self, "_open", None)
        if open_ is not None and open_.any():
            new = result.adopted.get(FIBRE, np.empty(0, dtype=np.int64))
            new = new[self._eligible[new] & open_[L.run[new]]]
            enrol, _ = self._pay_first(new, t, np.where(self.install > 0, self._payable(self.install, paid), np.inf))
            n_inst = np.where(self.install > 0, L.count(enrol), 0.0)
            paid += n_inst * self.install
            # the first discounted month is the month after connection
            enrol = enrol[((self.discount > 0) & (self.months > 0))[L.run[enrol]]]
            self._enrolled_until[enrol] = t + self.months[L.run[enrol]]
        self.spent += paid
        self.last = {"installations_paid": n_inst, "discounts_paid": n_disc, "paid_vnd": paid}
        return paid


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
    activities = ("visits", "paid_vnd")
    per_run = ("capacity_run", "monthly_cost", "skill_boost_run", "revisit", "tiered")
    per_household = ("_served_households",)
    household_ids = ("_order",)
    hamlet_ids = ("_hamlet_of",)
    per_hamlet = ("_served",)

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
        self._served = _hamlet_mask(self.hamlets, pop, self._field("hamlets"))
        self._served_households = self._served[pop.hamlet]
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
            key = -pop.head_age.astype(np.float64)
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
        return paid


class InfrastructureRollout(Lever):
    """Which hamlets have mobile coverage and fibre, and from which month.

    ``fibre`` and ``mobile`` are schedules, each either
      - a mapping hamlet -> "YYYY-MM" (hamlet by name or 0-based index), or
      - a list of [date, share] pairs, like [["2023-06", 0.86], ["2025-06", 1.0]]: the share of hamlets
        connected by each date; hamlets are taken in a random order (the "rollout" stream).
    A network without a schedule is available everywhere from the start. A hamlet with no date in an
    explicit schedule, or beyond the last share, is never connected in the run. Connecting a hamlet
    costs ``cost_per_hamlet_vnd`` (assumption: 0, operators' investment is not the programme's).
    """

    kind = "infrastructure"
    activities = ("fibre_hamlets_connected", "mobile_hamlets_connected", "fibre_hamlets", "mobile_hamlets",
                  "paid_vnd")
    per_run = ("has_fibre", "has_mobile", "cost")
    per_hamlet = ("_fibre_month", "_mobile_month")

    def __init__(self, fibre=None, mobile=None, cost_per_hamlet_vnd: float = 0.0, **kw):
        super().__init__(**kw)
        self.fibre = fibre
        self.mobile = mobile
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
        H = pop.n_hamlets
        field = self._field(label)
        if sched is None:
            return np.zeros(H, dtype=np.int64)
        months = np.full(H, never, dtype=np.int64)
        if isinstance(sched, dict):
            for key, date in sched.items():
                h = _hamlet_index(key, pop, field)
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
        if not self.on.any():
            return
        off = ~self.ctx.layout.spread_hamlets(self.on)
        effects.fibre_ready &= (self._fibre_month <= t) | off
        effects.mobile_coverage &= (self._mobile_month <= t) | off

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
        return paid


class PublicAccessPoint(Lever):
    """Internet at the hamlet cultural house (nhà văn hoá): from ``start``, households of the served
    hamlets keep an outreach exposure of at least ``awareness`` (0..1), and their skill gains
    ``skill_boost`` of its gap to 1 once, in the opening month. Costs ``setup_cost_vnd`` per point when
    it opens and ``monthly_cost_vnd`` per point every month (assumptions: 5,000,000 and 300,000 VND).
    """

    kind = "public_access"
    raises_exposure = True
    activities = ("points", "paid_vnd")
    per_run = ("awareness_run", "skill_boost_run", "setup_cost", "monthly_cost")
    per_household = ("_households",)
    per_hamlet = ("_served",)

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
        self._served = _hamlet_mask(self.hamlets, pop, self._field("hamlets"))
        self._households = self._served[pop.hamlet]
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
        return paid


def _hamlet_index(key, pop, field) -> int:
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        if 0 <= key < pop.n_hamlets:
            return int(key)
        raise ParameterError(field, key, f"a hamlet index 0..{pop.n_hamlets - 1} or a hamlet name")
    import unicodedata

    name = unicodedata.normalize("NFC", str(key))
    if name in pop.hamlet_names:
        return pop.hamlet_names.index(name)
    shown = ", ".join(pop.hamlet_names[:5]) + (" …" if pop.n_hamlets > 5 else "")
    raise ParameterError(field, key, f"a hamlet of this place ({shown}) or its index")


def _hamlet_mask(hamlets, pop, field) -> np.ndarray:
    if hamlets is None:
        return np.ones(pop.n_hamlets, dtype=bool)
    if isinstance(hamlets, str | int):
        hamlets = [hamlets]
    m = np.zeros(pop.n_hamlets, dtype=bool)
    for h in hamlets:
        m[_hamlet_index(h, pop, field)] = True
    return m


LEVER_TYPES: dict[str, type[Lever]] = {
    cls.kind: cls
    for cls in (SmartphoneSubsidy, ConnectionSupport, DigitalTeams, InfrastructureRollout, PublicAccessPoint)
}


@functools.cache
def _settings_of(cls: type[Lever]) -> frozenset[str]:
    """The settings a lever class accepts (its constructor's arguments and the base ones)."""
    import inspect

    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "kw"}
    return frozenset(allowed | {"name", "start", "end", "enabled"})


def make_lever(kind: str, name: str | None = None, **settings) -> Lever:
    """Build a lever from its kind ("smartphone_subsidy", "connection_support", "digital_teams",
    "infrastructure", "public_access") and settings; unknown settings raise ParameterError."""
    check_choice("kind", kind, tuple(LEVER_TYPES), name)
    cls = LEVER_TYPES[kind]
    allowed = _settings_of(cls)
    for key in settings:
        if key not in allowed:
            hint = did_you_mean(key, sorted(allowed))
            raise ParameterError(key, settings[key], f"a setting of {kind}: {', '.join(sorted(allowed))}{hint}",
                                 name or kind)
    return cls(name=name, **settings)
