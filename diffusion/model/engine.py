"""The month loop of one run or of many runs stacked in one set of arrays.

``Engine`` owns the state, the dynamics, the members' year, the bound levers and the output counts, and
advances them a month at a time. ``AdoptionModel`` (the Mesa model) drives an engine of one run.
``run_batch`` builds an engine of many runs of one place and calendar, which may differ in their parameters,
lever settings and seeds, and advances them together: every array holds the runs one after the other (see
``population.RunLayout``), each household draws from its own run's random streams at its index within
that run, and so each run of a batch gives exactly the numbers it gives alone. A batch costs about as
much per month as one run of all its households, which is what makes designs of tens of thousands of
small runs fast.

**History.** Every run starts in January 2008 (``world.HISTORY_START``), from the sourced shares of that
month (``ProductParams.initial_share``). A run whose calendar starts later is simulated from 2008 to its
start first, without levers (its history), and its state at the start is where the run begins: a place's
shares at any date follow from its incomes, members, prices and networks under the same law as the months
that follow, so a poorer place starts lower. Runs that share their seed and parameters share their history
(scenarios of one replicate differ only from their start); the histories of a batch are simulated together,
and kept for places of up to ``CACHE_MAX_HOUSEHOLDS`` households in a small per-process cache. A run's months
draw the random numbers of their own dates (``Streams.shifted``): its start state and its months are one
process from 2008.

Batches reuse what runs share: runs with the same seed and the same population and network parameters share
one built population and network, and levers given as specifications with the same settings are bound once.
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
from diffusion.foundation.threads import run_all
from diffusion.model.demography import Demography
from diffusion.model.dynamics import Dynamics
from diffusion.model.levers import Lever, LeverContext, stack_levers
from diffusion.model.network import Network, build_network
from diffusion.model.outputs import OutputCounter
from diffusion.model.params import ModelParams
from diffusion.model.population import Population, RunLayout, build_population, stack_populations
from diffusion.model.start import initial_state
from diffusion.model.state import MonthEffects, State
from diffusion.model.world import HISTORY_START, absolute_month, check_start, coverage_months

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
                 layout: RunLayout | None = None, detail: bool = True, reach: Reach | None = None):
        self.population, self.network, self.streams = population, network, streams
        self.detail = detail
        self.layout = layout if layout is not None else RunLayout.single(population.n, population.n_hamlets)
        self.runs = self.layout.runs
        stacked = layout if self.runs > 1 else None
        self.calendar = calendar
        self.month0 = absolute_month(calendar.start)
        self.reach = reach if reach is not None else Reach.everywhere(population.n_hamlets)
        self.levers = list(levers)
        self.state = state
        plist = list(params) if isinstance(params, list | tuple) else [params]
        self.dynamics = Dynamics(plist if len(plist) > 1 else plist[0], population, network, streams,
                                 calendar.months, stacked, outreach=any(lv.raises_exposure for lv in self.levers),
                                 month0=self.month0)
        self.demography = None if plist[0].homogeneous else Demography(plist, population, self.dynamics.run,
                                                                                  self.month0)
        self.dynamics.settle(state, 0)
        self.counter = OutputCounter(population, stacked, groups=detail)
        self.counter.recount(state)
        self.t = 0
        self.cum_costs = {lv.name: np.zeros(self.runs) for lv in self.levers}
        self._record({lv.name: np.zeros(self.runs) for lv in self.levers})

    def effects(self, t: int) -> MonthEffects:
        """The month's effects before the levers act: the networks' reach, then the infrastructure levers'."""
        return month_effects(self.population, self.levers, t, self.reach, self.month0)

    def step(self) -> None:
        """Simulate the next month (synchronous update; see ``diffusion.model.dynamics``); in January the
        members' year comes first (``model.demography``)."""
        t = self.t + 1
        if self.demography is not None and (self.month0 + t) % 12 == 0:
            self.demography.year(self.state, self.streams, t)
            # the outputs' recount and the chains' settling (restarted chains may fire in this month already) are
            # independent pieces (``foundation.threads``)
            run_all([lambda: self.counter.recount(self.state), *self.dynamics.settling(self.state, t - 1)],
                    self.dynamics.threads)
        self.dynamics.begin_month(t)
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
        """Recount the caches and the current outputs after the state arrays were edited by hand (members' phones
        follow the households' smartphones: ``Dynamics.sync_members``)."""
        self.dynamics.sync_members(self.state)
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


@dataclass
class Reach:
    """The absolute month (``world.absolute_month``) in which mobile broadband and fixed broadband reach each
    hamlet (drawn once per run: see ``reach_of``)."""

    mobile: np.ndarray
    fibre: np.ndarray

    @classmethod
    def everywhere(cls, hamlets: int) -> Reach:
        """Both networks everywhere from the start (places without a place of their own: tests, Bass)."""
        never = np.full(hamlets, np.iinfo(np.int64).min // 2, dtype=np.int64)
        return cls(never, never.copy())

    @classmethod
    def stack(cls, reaches: list[Reach]) -> Reach:
        return cls(np.concatenate([r.mobile for r in reaches]), np.concatenate([r.fibre for r in reaches]))


#: The last month searched for a network's reach (later: never); runs end before it.
_REACH_LAST = absolute_month("2100-12")


def reach_of(population: Population, streams: Streams) -> Reach:
    """When the networks reach each hamlet of a run: hamlet h (in a random order drawn from the run's
    "coverage" stream, stratified over the hamlets) is reached when the national share of hamlets reached
    (``world.coverage``), delayed by the place's lag, passes (rank + u) / hamlets."""
    def draw() -> Reach:
        rng = streams.generator("coverage")
        H = population.n_hamlets
        lag = int(round(12 * population.place.infrastructure_lag_years))
        first = absolute_month(HISTORY_START)
        out = []
        for network in ("mobile", "fibre"):
            thresholds = (rng.permutation(H) + rng.random(H)) / H
            out.append(coverage_months(network, thresholds, first, _REACH_LAST, lag))
        return Reach(*out)

    return population.derive(("reach",), draw)


def month_effects(population: Population, levers: Sequence[Lever], t: int, reach: Reach, month0: int
                  ) -> MonthEffects:
    """Coverage and fibre in month t (0: the start month): the networks' reach, then bound infrastructure levers."""
    now = month0 + t
    eff = MonthEffects(mobile_coverage=reach.mobile <= now, fibre_ready=reach.fibre <= now)
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

def _seed_key(ss: np.random.SeedSequence) -> tuple:
    return (ss.entropy, tuple(ss.spawn_key), ss.pool_size)


def _build_key(params: ModelParams) -> str:
    """Everything but the products' parameters, which the population and the network never read."""
    return repr([(f.name, getattr(params, f.name)) for f in dataclasses.fields(params) if f.name != "products"])


def _params_key(params: ModelParams) -> str:
    """Everything a run's history depends on besides the place, scale and seed."""
    return repr(params)


@dataclass
class _Built:
    """What a run of a batch is built from: its population, network and streams, and its cache keys."""

    population: Population
    network: Network
    streams: Streams
    bkey: tuple
    pkey: str


def _build(place, scale: float, run: BatchRun, small: bool, keys: dict[int, tuple[str, str]]) -> _Built:
    """A run's population, network and streams (from the cache for small places)."""
    if id(run.params) not in keys:
        keys[id(run.params)] = (_build_key(run.params), _params_key(run.params))
    build_key, pkey = keys[id(run.params)]
    ss = as_seed_sequence(run.seed)
    skey = _seed_key(ss)
    st = _STREAMS.fetch(skey, lambda: Streams(ss))
    bkey = (place if isinstance(place, str) else repr(place), float(scale), skey, build_key)

    def build():
        pop = build_population(place, run.params, st.generator("population"), scale)
        return pop, build_network(pop, run.params, st.generator("network"))

    pop, net = _BUILDS.fetch(bkey, build) if small else build()
    return _Built(pop, net, st, bkey, pkey)


def _histories(place, scale: float, start: str, runs: Sequence[BatchRun], built: list[_Built], small: bool
               ) -> list[State]:
    """Each run's state at ``start``: its history from HISTORY_START simulated without levers, runs with the same
    seed and parameters sharing one, all that are not in the cache together in one batch."""
    months = absolute_month(start) - absolute_month(HISTORY_START)
    keys = [(b.bkey, b.pkey, start) for b in built]
    todo: dict[tuple, int] = {}
    for i, key in enumerate(keys):
        if key not in todo and not (small and key in _STATES):
            todo[key] = i
    if todo:
        first = list(todo.values())
        hist = run_batch(place, scale, HISTORY_START, months, [BatchRun(runs[i].seed, runs[i].params, [])
                                                               for i in first], detail=False,
                         _built=[built[i] for i in first])
        for _ in range(months):
            hist.step()
        found = dict(zip(todo, hist.state.split(hist.layout.offsets)))
        if small:
            for key, state in found.items():
                _STATES[key] = state
    else:
        found = {}
    return [(found[key] if key in found else _STATES.fetch(key, lambda: None)).copy() for key in keys]


def run_batch(place: str, scale: float, start: str, months: int, runs: Sequence[BatchRun], *,
              detail: bool = True, _built: list[_Built] | None = None) -> Engine:
    """An engine of ``runs`` stacked: each run is built (or taken from the cache), brought to ``start`` by its
    history, its levers bound, then all are joined. Runs must share the mechanism, the active products and the
    lever names and kinds (settings may differ). ``detail``: see ``Engine``."""
    check_start(start)
    calendar = Calendar(start, months)
    small = _small(place, scale)
    keys: dict[int, tuple[str, str]] = {}  # by id of the params (runs often share one ModelParams)
    built = _built if _built is not None else [_build(place, scale, run, small, keys) for run in runs]
    offset = absolute_month(start) - absolute_month(HISTORY_START)
    states = _histories(place, scale, start, runs, built, small) if offset else [None] * len(runs)
    month0 = absolute_month(start)
    spec_keys: dict[int, tuple[str, str, str]] = {}  # by id of the lever specifications
    bound, reaches, streams = [], [], []
    for i, (run, b) in enumerate(zip(runs, built)):
        st = b.streams.shifted(offset) if offset else b.streams
        reach = reach_of(b.population, b.streams)
        ctx = LeverContext(calendar, b.population, b.network, st, run.params, state=states[i])
        shared = small and len(runs) > 1  # a bound lever is never changed by a stacked run (stack_levers copies)
        levers = [_bind(lv, ctx, (b.bkey, b.pkey, start, months), spec_keys, shared) for lv in run.levers]
        if states[i] is None:
            states[i] = initial_state(run.params, b.population, st, month_effects(b.population, levers, 0, reach,
                                                                                  month0))
        bound.append(levers)
        reaches.append(reach)
        streams.append(st)
    if len(runs) == 1:
        return Engine(built[0].population, built[0].network, streams[0], runs[0].params, bound[0], states[0],
                      calendar, detail=detail, reach=reaches[0])
    population, layout = stack_populations([b.population for b in built])
    network = Network.stack([b.network for b in built], layout)
    stacked_streams = Streams.stack(streams, layout)
    names = [[lv.name for lv in b] for b in bound]
    if any(n != names[0] for n in names):
        raise ValueError("runs of a batch must have the same levers (names and kinds)")
    ctx = LeverContext(calendar, population, network, stacked_streams, runs[0].params, layout)
    levers = [stack_levers([b[i] for b in bound], ctx) for i in range(len(names[0]))]
    return Engine(population, network, stacked_streams, [r.params for r in runs], levers, State.stack(states),
                  calendar, layout, detail=detail, reach=Reach.stack(reaches))


def _bind(lv: Any, ctx: LeverContext, key: tuple, spec_keys: dict, shared: bool) -> Lever:
    """A run's lever bound to its context: a Lever object as it is, a specification built (and, for runs of
    small places in a batch, bound once for every run of the same seed, parameters and settings)."""
    if isinstance(lv, Lever):
        lv.bind(ctx)
        return lv
    if id(lv) not in spec_keys:
        spec_keys[id(lv)] = (lv.kind, lv.name, json.dumps(lv.settings, sort_keys=True, default=str))

    def bind() -> Lever:
        out = lv.build()
        out.bind(ctx)
        return out

    return _LEVERS.fetch((*key, spec_keys[id(lv)]), bind) if shared else bind()


def _small(place, scale: float) -> bool:
    pl = get_place(place) if isinstance(place, str) else place
    return pl.households * scale <= CACHE_MAX_HOUSEHOLDS
