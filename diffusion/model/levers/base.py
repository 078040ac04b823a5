"""Policy levers: objects with a schedule, an eligibility rule, a mechanism and a cost.

This module is the base class and what every lever shares; each kind of lever is a module of this package
(``subsidies``, ``teams``, ``infrastructure``), registered in ``LEVER_TYPES`` (``__init__``).

Each lever acts on the household state in two places of the month (see ``Engine.step``):

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
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ParameterError, check_choice, check_rate
from diffusion.model.population import RunLayout
from diffusion.model.products import uses
from diffusion.model.state import MonthEffects, State, StepResult

ELIGIBILITY: tuple[str, ...] = ("poor", "near_poor", "elderly_only", "all")

#: What a lever with a group of its own (its eligibility and hamlets) records each month, per run: the group's
#: households and those of them using each indicator's product (``<lever>.eligible_<indicator>``); 0 households
#: when the group is every household of the place.
GROUP_INDICATORS: tuple[str, ...] = ("smartphone", "internet", "services")
GROUP_ACTIVITIES: tuple[str, ...] = ("eligible_households", *(f"eligible_{i}" for i in GROUP_INDICATORS))


@dataclass
class LeverContext:
    """What a lever may look at when it is bound to a model. Who is eligible is decided from the households as
    they are at the run's start (``state``; the population's own values for a run that starts in 2008)."""

    calendar: Calendar
    population: Any
    network: Any
    streams: Any
    params: Any
    layout: Any = None  # population.RunLayout (None: built for the single run)
    #: the state at the run's start (members' ages and households then), or None at the start of the history
    state: Any = None

    def __post_init__(self):
        if self.layout is None:
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
    #: ``MonthEffects.awareness``); only then does the step draw outreach trials (see ``model.dynamics``)
    raises_exposure: ClassVar[bool] = False
    #: what each setting means, for the config reference page (a subclass adds its own to these)
    setting_docs: ClassVar[dict[str, str]] = {
        "start": 'First month the lever acts, "YYYY-MM" (default: the first simulated month).',
        "end": 'Last month the lever acts, "YYYY-MM", inclusive (default: the last simulated month).',
        "enabled": "false switches the lever off; it stays in the tables with zero activity and cost.",
        "eligibility": "Who is eligible: one of, or a list of, " + ", ".join(ELIGIBILITY) + ".",
        "budget_vnd": "Total budget, VND; payments stop when it is spent (omit: no limit).",
        "hamlets": "Hamlets served, by name or 0-based index (omit: every hamlet).",
    }

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
            m |= (self.ctx.state if self.ctx.state is not None else pop).elderly_only
        return m

    def _zeros(self) -> np.ndarray:
        return np.zeros(self.ctx.layout.runs)

    # ---------------------------------------------------------------- the lever's own group
    def _bind_group(self, group: np.ndarray) -> None:
        """Remember the households a lever targets (its eligibility within its hamlets: ``group``, one flag per
        household) so that ``_record_group`` can count them; a group of every household is not counted (the
        overall outputs are its outputs) and records 0 households."""
        ids = np.flatnonzero(group) if not group.all() else np.empty(0, dtype=np.int64)
        self._group_ids = ids.astype(np.int64)
        self.group_size = self.ctx.layout.count(self._group_ids)

    def _record_group(self, state: State) -> None:
        """Add the month's counts of the lever's group to ``last`` (see GROUP_ACTIVITIES)."""
        ids = self._group_ids
        self.last["eligible_households"] = self.group_size.astype(np.float64)
        if ids.size == 0:
            for ind in GROUP_INDICATORS:
                self.last[f"eligible_{ind}"] = self._zeros()
            return
        adopted = np.take(state.adopted, ids, axis=1)
        L = self.ctx.layout
        for ind in GROUP_INDICATORS:
            using = ids[uses(ind, adopted)]
            self.last[f"eligible_{ind}"] = L.count(using)

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


def eligibility_of(value, lever: str) -> tuple[str, ...]:
    """A lever's ``eligibility`` setting as a tuple of ELIGIBILITY values (ParameterError otherwise)."""
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items:
        raise ParameterError("eligibility", value, f"one or more of {ELIGIBILITY}", lever)
    for e in items:
        check_choice("eligibility", e, ELIGIBILITY, lever)
    return items


def budget_of(value, lever: str) -> float | None:
    """A lever's ``budget_vnd`` setting: None (no limit) or VND >= 0."""
    if value is None:
        return None
    return check_rate("budget_vnd", value, lever)


def hamlet_index(key, pop, field) -> int:
    """The index of a hamlet named by name or 0-based index (ParameterError naming ``field`` otherwise)."""
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        if 0 <= key < pop.n_hamlets:
            return int(key)
        raise ParameterError(field, key, f"a hamlet index 0..{pop.n_hamlets - 1} or a hamlet name")
    name = unicodedata.normalize("NFC", str(key))
    if name in pop.hamlet_names:
        return pop.hamlet_names.index(name)
    shown = ", ".join(pop.hamlet_names[:5]) + (" …" if pop.n_hamlets > 5 else "")
    raise ParameterError(field, key, f"a hamlet of this place ({shown}) or its index")


def hamlet_mask(hamlets, pop, field) -> np.ndarray:
    """Which hamlets a lever serves: all without ``hamlets``, else those named (by name or index)."""
    if hamlets is None:
        return np.ones(pop.n_hamlets, dtype=bool)
    if isinstance(hamlets, str | int):
        hamlets = [hamlets]
    m = np.zeros(pop.n_hamlets, dtype=bool)
    for h in hamlets:
        m[hamlet_index(h, pop, field)] = True
    return m
