"""``AdoptionModel``: the household adoption model as a Mesa model.

The model owns the state arrays; each ``step()`` is one month of vectorised array operations (see
``diffusion.dynamics``). Households are ``Household`` Mesa agents created only when asked for
(``model.households()``, or automatically for places of up to ``AUTO_AGENTS`` households), so a
province-scale run never builds 400,000 Python objects.

Example:
    >>> from diffusion import AdoptionModel
    >>> m = AdoptionModel("thon_dong", months=24, seed=1)
    >>> m.run()
    >>> m.timeseries()[["date", "share_smartphone", "share_internet"]].tail(1)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from .agents import Household
from .calendar import Calendar
from .dynamics import Dynamics, MonthEffects, initial_state
from .errors import ParameterError, check_choice
from .levers import Lever, LeverContext
from .network import build_network
from .outputs import INDICATORS, OutputCounter
from .params import ModelParams
from .population import build_population
from .randomness import Streams
from .sources import Place

#: Places with at most this many households get their Household views at creation.
AUTO_AGENTS = 5_000


def _reporter(model: AdoptionModel, name: str) -> float:
    return model.outputs[name]


def _hamlet_reporter(model: AdoptionModel) -> np.ndarray:
    return model.hamlet_table.copy()


class AdoptionModel(mesa.Model):
    """Households of one place adopting smartphones, internet and digital services, month by month.

    Args:
        place: a place preset ("thon_dong", "dam_buon", "commune", "quang_ninh", "well_mixed") or a Place.
        params: a ModelParams, or a mapping of overrides to the defaults.
        levers: policy levers (see ``diffusion.levers``).
        start: first simulated month, "YYYY-MM".
        months: number of monthly steps; ``run()`` stops there and ``running`` turns False.
        scale: size factor for the place (see ``population.hamlet_sizes``).
        seed: an int or a ``numpy.random.SeedSequence``; the same seed gives the same run. Mesa's
            ``rng`` (a Generator or int) is accepted instead, as in ``mesa.Model``.
        agents: "auto" (views for places up to AUTO_AGENTS households), True or False.
        collect: record every month in ``datacollector`` (turn off for the fastest runs; ``outputs``
            still holds the latest month).
        **overrides: parameter overrides by name ("rewiring", "q_smartphone", ...), so that
            ``mesa.batch_run`` can vary them.
    """

    def __init__(
        self,
        place: str | Place = "thon_dong",
        *,
        params: ModelParams | dict[str, Any] | None = None,
        levers: Iterable[Lever] = (),
        start: str = "2021-01",
        months: int = 60,
        scale: float = 1.0,
        seed: int | np.random.SeedSequence | None = None,
        rng: np.random.Generator | int | None = None,
        agents: str | bool = "auto",
        collect: bool = True,
        **overrides: Any,
    ):
        if seed is not None and rng is not None:
            raise ParameterError("seed", seed, "either seed or rng, not both")
        if rng is not None:
            seed = int(np.random.default_rng(rng).integers(2**63 - 1))
        self.streams = Streams(seed)
        super().__init__(rng=self.streams.generator("mesa"))
        if params is None:
            params = ModelParams()
        elif isinstance(params, dict):
            params = ModelParams().with_overrides(params)
        elif not isinstance(params, ModelParams):
            raise ParameterError("params", params, "a ModelParams or a mapping of parameter overrides")
        if overrides:
            params = params.with_overrides(overrides)
        self.params = params
        self.calendar = Calendar(start, months)
        if agents not in ("auto", True, False):
            check_choice("agents", agents, ("auto", "True", "False"))
        self.population = build_population(place, params, self.streams.generator("population"), scale)
        self.network = build_network(self.population, params, self.streams.generator("network"))
        self.dynamics = Dynamics(params, self.population, self.network, self.streams, self.calendar.months)
        self.levers = list(levers)
        names = [lv.name for lv in self.levers]
        for lv in self.levers:
            if not isinstance(lv, Lever):
                raise ParameterError("levers", lv, "Lever objects (see diffusion.levers)")
            if names.count(lv.name) > 1:
                raise ParameterError("levers", lv.name, "levers with distinct names")
        ctx = LeverContext(self.calendar, self.population, self.network, self.streams, params)
        for lv in self.levers:
            lv.bind(ctx)
        effects0 = self._effects(0)
        self.state = initial_state(params, self.population, self.streams, effects0)
        self.dynamics.recount(self.state)
        self._counter = OutputCounter(self.population)
        self._counter.recount(self.state)
        self.cum_costs = {lv.name: 0.0 for lv in self.levers}
        self._views: list[Household] | None = None
        self.outputs: dict[str, float] = {}
        self.hamlet_table = np.empty((0, 0))
        self._record(
            costs={lv.name: 0.0 for lv in self.levers},
            activity={f"{lv.name}.{k}": float(v) for lv in self.levers for k, v in lv.last.items()},
        )
        self.collect = collect
        reporters: dict[str, Any] = {name: partial(_reporter, name=name) for name in self.outputs}
        reporters["by_hamlet"] = _hamlet_reporter
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        if collect:
            self.datacollector.collect(self)
        self.running = self.steps < self.calendar.months
        if agents is True or (agents == "auto" and self.population.n <= AUTO_AGENTS):
            self.households()

    # ------------------------------------------------------------------ time
    @property
    def month(self) -> int:
        """Months simulated so far (0 before the first step)."""
        return self.steps

    @property
    def date(self) -> str:
        """The current month as "YYYY-MM" (the month last simulated; the start month before any step)."""
        return self.calendar.label(self.steps)

    def _effects(self, t: int) -> MonthEffects:
        H = self.population.n_hamlets
        eff = MonthEffects(mobile_coverage=np.ones(H, dtype=bool), fibre_ready=np.ones(H, dtype=bool))
        for lv in self.levers:
            lv.infrastructure(t, eff)
        return eff

    def step(self) -> None:
        """Simulate one month (Mesa increments ``steps`` before this runs)."""
        t = self.steps
        if t > self.calendar.months:
            raise ParameterError("months", self.calendar.months, f"at least {t} to simulate month {t}")
        effects = self._effects(t)
        for lv in self.levers:
            lv.act(t, self.state, effects)
        result = self.dynamics.step(self.state, t, effects)
        self._counter.update(result)
        costs = {lv.name: float(lv.book(t, self.state, result)) for lv in self.levers}
        self.dynamics.end_of_month(self.state)
        activity = {f"{lv.name}.{k}": float(v) for lv in self.levers for k, v in lv.last.items()}
        self._record(costs, activity)
        if self.collect:
            self.datacollector.collect(self)
        self.running = self.steps < self.calendar.months

    def refresh(self) -> None:
        """Recount the model's caches and current outputs after editing ``state`` arrays by hand."""
        self.dynamics.recount(self.state)
        self._counter.recount(self.state)
        out, self.hamlet_table = self._counter.compute()
        self.outputs.update(out)

    def _record(self, costs: dict[str, float], activity: dict[str, float]) -> None:
        out, hamlet = self._counter.compute()
        total = 0.0
        for name, c in costs.items():
            self.cum_costs[name] += c
            out[f"cost.{name}"] = c
            out[f"cum_cost.{name}"] = self.cum_costs[name]
            total += c
        out["cost_total"] = total
        out["cum_cost_total"] = sum(self.cum_costs.values())
        for lv in self.levers:
            for k in lv.activities:
                out[f"{lv.name}.{k}"] = activity.get(f"{lv.name}.{k}", 0.0)
        self.outputs = out
        self.hamlet_table = hamlet

    def run_for(self, months: int) -> None:
        """Simulate ``months`` more months."""
        for _ in range(int(months)):
            self.step()

    def run(self) -> None:
        """Simulate to the end of the calendar."""
        while self.steps < self.calendar.months:
            self.step()

    # -------------------------------------------------------------- results
    def timeseries(self) -> pd.DataFrame:
        """One row per recorded month: month index, date and every scalar output."""
        df = self.datacollector.get_model_vars_dataframe().drop(columns=["by_hamlet"])
        df.insert(0, "date", [self.calendar.label(i) for i in range(len(df))])
        df.insert(0, "month", np.arange(len(df)))
        return df.reset_index(drop=True)

    def by_hamlet(self) -> pd.DataFrame:
        """Long table: month, date, hamlet and the share of households per indicator."""
        rows = self.datacollector.model_vars["by_hamlet"]
        cols = [f"share_{k}" for k in INDICATORS] + ["share_working_age_smartphone"]
        frames = []
        for t, tab in enumerate(rows):
            f = pd.DataFrame(tab, columns=cols)
            f.insert(0, "hamlet", self.population.hamlet_names)
            f.insert(0, "date", self.calendar.label(t))
            f.insert(0, "month", t)
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    # --------------------------------------------------------------- agents
    def households(self) -> list[Household]:
        """The households as Mesa agents (created on first call; also in ``model.agents``)."""
        if self._views is None:
            self._views = [Household(self, i) for i in range(self.population.n)]
        return self._views

    def household(self, index: int) -> Household:
        """The view of household ``index``."""
        return self.households()[index]
