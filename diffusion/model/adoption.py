"""``AdoptionModel``: the household adoption model as a Mesa model.

The model owns the state arrays; each ``step()`` is one month of vectorised array operations (see
``diffusion.model.dynamics``). Households are ``Household`` Mesa agents created only when asked for
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

from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ParameterError, check_choice, check_positive
from diffusion.foundation.randomness import Streams
from diffusion.foundation.sources import Place, places
from diffusion.foundation.sources import place as get_place
from diffusion.model.agents import Household
from diffusion.model.engine import BatchRun, run_batch
from diffusion.model.levers import Lever
from diffusion.model.outputs import HAMLET_COLUMNS
from diffusion.model.params import ModelParams, check_population

#: Places with at most this many households get their Household views at creation.
AUTO_AGENTS = 5_000


def _reporter(model: AdoptionModel, name: str) -> float:
    return model.outputs[name]


def _hamlet_reporter(model: AdoptionModel) -> np.ndarray:
    return model.hamlet_table.copy()


class OutputCollector(mesa.DataCollector):
    """Mesa's DataCollector for the model's monthly outputs: one model reporter per output (``model.outputs``)
    and ``by_hamlet`` (the table of shares by hamlet).

    ``collect`` appends the month's values directly instead of calling each reporter and deep-copying its
    value, which Mesa does for every reporter and which cost as much as a month of the dynamics in a
    hamlet. The values are the same: the outputs are floats, and the by-hamlet table is a new array every
    month. A collector whose reporters were changed collects the way Mesa does.
    """

    def __init__(self, names: list[str]):
        self._names = list(names)
        reporters: dict[str, Any] = {name: partial(_reporter, name=name) for name in self._names}
        reporters["by_hamlet"] = _hamlet_reporter
        super().__init__(model_reporters=reporters)
        self._reporters = dict(reporters)

    def collect(self, model) -> None:
        if (self.model_reporters != self._reporters or self.agent_reporters or self.agenttype_reporters
                or not isinstance(model, AdoptionModel)):
            super().collect(model)
            return
        values, columns = model.outputs, self.model_vars
        for name in self._names:
            columns[name].append(values[name])
        columns["by_hamlet"].append(model.hamlet_table)


def _check_arguments(place: Any, levers: Any, scale: Any) -> list[Lever]:
    """The arguments a model is built from, checked before anything is built (ParameterError naming the argument):
    the place, the levers (a list of Lever objects; None for none) and the scale, with the population it gives
    within ``params.MAX_HOUSEHOLDS`` (an estimate of its memory in the message)."""
    if isinstance(place, str):
        place = get_place(place)
    elif not isinstance(place, Place):
        raise ParameterError("place", place, f"a place preset, one of {', '.join(map(repr, places()))}, or a Place "
                             "(diffusion.foundation.sources.make_place)")
    if levers is None:
        levers = ()
    if isinstance(levers, str | Lever) or not isinstance(levers, Iterable):
        raise ParameterError("levers", levers, "a list of Lever objects, e.g. [DigitalTeams(), SmartphoneSubsidy()]")
    out = list(levers)
    for lv in out:
        if not isinstance(lv, Lever):
            hint = " (make_lever(kind, name, ...) builds one by its kind)" if isinstance(lv, str) else ""
            raise ParameterError("levers", lv, f"Lever objects such as DigitalTeams(){hint}")
    names = [lv.name for lv in out]
    for name in names:
        if names.count(name) > 1:
            raise ParameterError("levers", name, "levers with distinct names")
    check_positive("scale", scale)
    check_population(place.households * float(scale), "scale", scale)
    return out


class AdoptionModel(mesa.Model):
    """Households of one place adopting smartphones, internet and digital services, month by month.

    Args:
        place: a place preset ("thon_dong", "dam_buon", "commune", "quang_ninh", "well_mixed") or a Place.
        params: a ModelParams, or a mapping of overrides to the defaults.
        levers: policy levers (see ``diffusion.model.levers``); None or () for none.
        start: the month the run starts, "YYYY-MM", from 2008-01 (its state then comes from the model's history
            from 2008: see ``model.engine``); levers act from then on.
        months: number of monthly steps; ``run()`` stops there and ``running`` turns False.
        scale: size factor for the place (see ``population.hamlet_sizes``); the population must stay within
            ``params.MAX_HOUSEHOLDS`` (5 million households, about 3 GB), checked before anything is built.
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
        self.levers = _check_arguments(place, levers, scale)
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
        self.engine = run_batch(place, scale, start, months, [BatchRun(self.streams.seed_sequence, params,
                                                                       self.levers)])
        self.population, self.network = self.engine.population, self.engine.network
        self.dynamics = self.engine.dynamics
        self.state = self.engine.state
        self._views: list[Household] | None = None
        self._take_outputs()
        self.collect = collect
        self.datacollector = OutputCollector(list(self.outputs))
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

    def step(self) -> None:
        """Simulate one month (Mesa increments ``steps`` before this runs)."""
        t = self.steps
        if t > self.calendar.months:
            raise ParameterError("months", self.calendar.months, f"at least {t} to simulate month {t}")
        self.engine.step()
        self._take_outputs()
        if self.collect:
            self.datacollector.collect(self)
        self.running = self.steps < self.calendar.months

    @property
    def cum_costs(self) -> dict[str, float]:
        """Spending so far per lever, VND."""
        return {name: float(v[0]) for name, v in self.engine.cum_costs.items()}

    def refresh(self) -> None:
        """Recount the model's caches and current outputs after editing ``state`` arrays by hand."""
        self.engine.refresh()
        self._take_outputs()

    def _take_outputs(self) -> None:
        self.outputs = {k: float(v[0]) for k, v in self.engine.outputs.items()}
        self.hamlet_table = self.engine.hamlet_table

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
        cols = list(HAMLET_COLUMNS)
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
