"""The month loop of one run or of many runs stacked in one set of arrays.

``Engine`` owns the state, the dynamics, the bound levers and the output counts, and advances them a
month at a time. ``AdoptionModel`` (the Mesa model) drives an engine of one run. ``run_batch`` builds an
engine of many runs of one place and calendar, which may differ in their parameters, lever settings and
seeds, and advances them together: every array holds the runs one after the other (see
``population.RunLayout``), each household draws from its own run's random streams at its index within
that run, and so each run of a batch gives exactly the numbers it gives alone. A batch costs about as
much per month as one run of all its households, which is what makes designs of tens of thousands of
small runs fast (``diffusion sensitivity`` runs every task as batches).

Batches reuse what runs share: runs with the same seed and the same population and network parameters
share one built population and network, their initial state when their start-month infrastructure and
initial-adoption parameters agree, and levers given as specifications with the same settings are bound
once (a small cache per process, for places of up to ``CACHE_MAX_HOUSEHOLDS`` households).
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffusion.foundation.calendar import Calendar
from diffusion.foundation.randomness import Streams, as_seed_sequence
from diffusion.foundation.sources import place as get_place
from diffusion.model.dynamics import Dynamics, MonthEffects, State
from diffusion.model.levers import Lever, LeverContext, stack_levers
from diffusion.model.network import Network, build_network
from diffusion.model.outputs import OutputCounter
from diffusion.model.params import ModelParams
from diffusion.model.population import Population, RunLayout, build_population, stack_populations
from diffusion.model.products import PRODUCTS
from diffusion.model.start import initial_state

#: Places up to this many households are kept in the per-process build cache.
CACHE_MAX_HOUSEHOLDS = 5_000
#: Entries kept in each build cache.
CACHE_SIZE = 64


class Engine:
    """Runs advanced together month by month.

    Args:
        population, network, streams: of the run, or of the stacked runs (with ``layout``).
        params: the run's parameters, or one ModelParams per stacked run.
        levers: bound levers (for stacked runs, joined with ``levers.stack_levers``).
        state: the start-month state.
        calendar: the runs' calendar.
        layout: ``RunLayout`` of stacked runs (None: one run).
        detail: compute the shares by income quintile and age group every month (``outputs.metric_names``);
            without, only ``outputs.BASIC_METRICS`` and the costs.

    After every month ``outputs`` maps each monthly output (shares, costs, the levers' activity) to an
    array with one value per run, and ``hamlet_table`` holds the shares by hamlet.
    """

    def __init__(self, population: Population, network: Network, streams: Streams,
                 params: ModelParams | list[ModelParams], levers: list[Lever], state: State, calendar: Calendar,
                 layout: RunLayout | None = None, detail: bool = True):
        self.population, self.network, self.streams = population, network, streams
        self.detail = detail
        self.layout = layout if layout is not None else RunLayout.single(population.n, population.n_hamlets)
        self.runs = self.layout.runs
        stacked = layout if self.runs > 1 else None
        self.calendar = calendar
        self.levers = list(levers)
        self.state = state
        self.dynamics = Dynamics(params, population, network, streams, calendar.months, stacked,
                                 outreach=any(lv.raises_exposure for lv in self.levers))
        self.dynamics.settle(state, 0)
        self.counter = OutputCounter(population, stacked, groups=detail)
        self.counter.recount(state)
        self.t = 0
        self.cum_costs = {lv.name: np.zeros(self.runs) for lv in self.levers}
        self._record({lv.name: np.zeros(self.runs) for lv in self.levers})

    @classmethod
    def single(cls, population: Population, network: Network, streams: Streams, params: ModelParams,
               levers: Sequence[Lever], calendar: Calendar) -> Engine:
        """The engine of one run: binds the levers and draws the start-month state."""
        ctx = LeverContext(calendar, population, network, streams, params)
        for lv in levers:
            lv.bind(ctx)
        state = initial_state(params, population, streams, month_effects(population, levers, 0))
        return cls(population, network, streams, params, list(levers), state, calendar)

    def effects(self, t: int) -> MonthEffects:
        """The month's effects before the levers act: coverage and fibre from the infrastructure levers."""
        return month_effects(self.population, self.levers, t)

    def step(self) -> None:
        """Simulate the next month (synchronous update; see ``diffusion.model.dynamics``)."""
        t = self.t + 1
        effects = self.effects(t)
        for lv in self.levers:
            lv.act(t, self.state, effects)
        result = self.dynamics.step(self.state, t, effects)
        self.counter.update(result)
        costs = {lv.name: lv.book(t, self.state, result) for lv in self.levers}
        self.dynamics.end_of_month(self.state)
        self.t = t
        self._record(costs)

    def refresh(self) -> None:
        """Recount the caches and the current outputs after the state arrays were edited by hand."""
        self.dynamics.settle(self.state, self.t)
        self.counter.recount(self.state)
        out, self.hamlet_table = self.counter.compute(self.detail)
        self.outputs.update(out)

    def _record(self, costs: dict[str, np.ndarray]) -> None:
        out, hamlet = self.counter.compute(self.detail)
        total = np.zeros(self.runs)
        cum_total = np.zeros(self.runs)
        for name, c in costs.items():
            self.cum_costs[name] = self.cum_costs[name] + c
            out[f"cost.{name}"] = c
            out[f"cum_cost.{name}"] = self.cum_costs[name]
            total = total + c
            cum_total = cum_total + self.cum_costs[name]
        out["cost_total"] = total
        out["cum_cost_total"] = cum_total
        for lv in self.levers:
            for k in lv.activities:
                out[f"{lv.name}.{k}"] = lv.last.get(k, np.zeros(self.runs))
        self.outputs = out
        self.hamlet_table = hamlet


def month_effects(population: Population, levers: Sequence[Lever], t: int) -> MonthEffects:
    """Coverage and fibre in month t (0: the start month) from bound levers."""
    H = population.n_hamlets
    eff = MonthEffects(mobile_coverage=np.ones(H, dtype=bool), fibre_ready=np.ones(H, dtype=bool))
    for lv in levers:
        lv.infrastructure(t, eff)
    return eff


# ============================================================================ batches
@dataclass
class BatchRun:
    """One run of a batch: its seed, parameters and levers, as unbound Lever objects or as specifications
    with ``kind``, ``name``, ``settings`` and ``build()`` (``config.LeverSpec``), which a batch may bind once
    for all its runs of the same seed and settings."""

    seed: Any
    params: ModelParams
    levers: list[Any]


class _Cache(OrderedDict):
    def fetch(self, key, make: Callable[[], Any]):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > CACHE_SIZE:
            self.popitem(last=False)
        return value


_STREAMS = _Cache()
_BUILDS = _Cache()
_STATES = _Cache()
_LEVERS = _Cache()

#: ModelParams fields the start-month state reads besides the population (see ``start.initial_state``).
_INITIAL_FIELDS = ("initial_adoption", "initial_income_coef", "initial_age_coef", "active_products", "mechanism",
                   "threshold_mean", "threshold_income_slope", "threshold_sd", "never_adopt_share")


def _seed_key(ss: np.random.SeedSequence) -> tuple:
    return (ss.entropy, tuple(ss.spawn_key), ss.pool_size)


def _build_key(params: ModelParams) -> str:
    """Everything but the products' parameters, which the population and the network never read."""
    return repr([(f.name, getattr(params, f.name)) for f in dataclasses.fields(params) if f.name != "products"])


def _initial_values(params: ModelParams) -> str:
    values = [getattr(params, f) for f in _INITIAL_FIELDS]
    values += [params.products[p].initial_share for p in PRODUCTS]
    return repr(values)


def run_batch(place: str, scale: float, start: str, months: int, runs: Sequence[BatchRun], *,
              detail: bool = True) -> Engine:
    """An engine of ``runs`` stacked: each run is built (or taken from the cache), its levers bound,
    then all are joined. Runs must share the mechanism, the active products and the lever names and
    kinds (settings may differ). ``detail``: see ``Engine``."""
    calendar = Calendar(start, months)
    small = _small(place, scale)
    place_key = place if isinstance(place, str) else repr(place)
    pops, nets, streams, states, bound = [], [], [], [], []
    keys: dict[int, tuple[str, str]] = {}  # by id of the params (runs often share one ModelParams)
    spec_keys: dict[int, tuple[str, str, str]] = {}  # by id of the lever specifications
    for run in runs:
        if id(run.params) not in keys:
            keys[id(run.params)] = (_build_key(run.params), _initial_values(run.params))
        build_key, initial_values = keys[id(run.params)]
        ss = as_seed_sequence(run.seed)
        skey = _seed_key(ss)
        st = _STREAMS.fetch(skey, lambda ss=ss: Streams(ss))
        bkey = (place_key, float(scale), skey, build_key)

        def build(st=st, prm=run.params):
            pop = build_population(place, prm, st.generator("population"), scale)
            return pop, build_network(pop, prm, st.generator("network"))

        pop, net = _BUILDS.fetch(bkey, build) if small else build()
        ctx = LeverContext(calendar, pop, net, st, run.params)
        levers = []
        for lv in run.levers:
            if isinstance(lv, Lever):
                lv.bind(ctx)
                levers.append(lv)
                continue
            if id(lv) not in spec_keys:
                spec_keys[id(lv)] = (lv.kind, lv.name, json.dumps(lv.settings, sort_keys=True, default=str))

            def bind(lv=lv, ctx=ctx):
                b = lv.build()
                b.bind(ctx)
                return b

            # a bound lever is never changed by a stacked run (stack_levers copies what runs change)
            shared = small and len(runs) > 1
            levers.append(_LEVERS.fetch((bkey, start, months, spec_keys[id(lv)]), bind) if shared else bind())
        eff0 = month_effects(pop, levers, 0)

        def first(pop=pop, st=st, prm=run.params, eff0=eff0):
            return initial_state(prm, pop, st, eff0)

        ikey = (bkey, initial_values, eff0.mobile_coverage.tobytes(), eff0.fibre_ready.tobytes())
        state0 = _STATES.fetch(ikey, first) if small else first()
        pops.append(pop)
        nets.append(net)
        streams.append(st)
        states.append(state0)
        bound.append(levers)
    if len(runs) == 1:
        return Engine(pops[0], nets[0], streams[0], runs[0].params, bound[0], states[0].copy(), calendar,
                      detail=detail)
    population, layout = stack_populations(pops)
    network = Network.stack(nets, layout)
    stacked_streams = Streams.stack(streams, layout)
    names = [[lv.name for lv in b] for b in bound]
    if any(n != names[0] for n in names):
        raise ValueError("runs of a batch must have the same levers (names and kinds)")
    ctx = LeverContext(calendar, population, network, stacked_streams, runs[0].params, layout)
    levers = [stack_levers([b[i] for b in bound], ctx) for i in range(len(names[0]))]
    state = State.stack(states)
    return Engine(population, network, stacked_streams, [r.params for r in runs], levers, state, calendar, layout,
                  detail=detail)


def _small(place, scale: float) -> bool:
    pl = get_place(place) if isinstance(place, str) else place
    return pl.households * scale <= CACHE_MAX_HOUSEHOLDS
