"""The evaluation service: given a place and calendar (``Setup``) and a list of run specifications
(parameters, levers, seeds), simulate them and return what was asked for of each run (``Recording``).

Every command evaluates its runs here: ``diffusion run`` records every monthly output, a sensitivity
study a few values per run, a calibration the shares at its target dates. Runs are simulated together in
batches (``model.engine.run_batch``) of up to ``BATCH_HOUSEHOLDS`` households: runs that share the
mechanism, the active products and the levers' names and kinds are stacked in one set of arrays, and each
gives exactly the numbers it gives alone, so how runs are grouped never changes a result. A place too big
for a batch is a batch of one run.

Seeds: a run draws from ``SeedSequence(setup.seed, spawn_key=run.key)``; the key is (replicate,
design_point) unless the run says otherwise, and never holds the scenario, so every scenario of a
replicate sees the same random numbers (common random numbers).

Where the work runs (this process, local processes, a Dask cluster), retries and resuming are
``experiments.executors``; the tasks' results on disk are ``experiments.store``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from diffusion.experiments.scenarios import LeverSpec
from diffusion.foundation.sources import Place
from diffusion.foundation.sources import place as get_place
from diffusion.model.engine import BatchRun, Engine, run_batch
from diffusion.model.outputs import BASIC_METRICS, HAMLET_COLUMNS, metric_names
from diffusion.model.params import ModelParams

#: A batch holds at most this many households (all its runs together), which bounds a worker's memory. A
#: village run of ~275 households over 60 months costs ~1.5 ms in a batch of hundreds against ~30 ms alone.
BATCH_HOUSEHOLDS = 150_000
#: The key columns of every run's rows.
KEYS: tuple[str, ...] = ("scenario", "replicate", "design_point")


def seed_sequence(root_seed: int, *key: int) -> np.random.SeedSequence:
    """The SeedSequence of the run with spawn key ``key`` (for experiments (replicate, design_point): the same
    in every scenario, so scenarios share their random numbers)."""
    return np.random.SeedSequence(int(root_seed), spawn_key=tuple(int(k) for k in key))


@dataclass(frozen=True)
class Setup:
    """What the runs of a task share: the place (a preset key or a Place), its scale, the calendar and the root
    seed."""

    place: str | Place
    scale: float
    start: str
    months: int
    seed: int

    @property
    def households(self) -> float:
        """Households of one run (about: a many-hamlet place is scaled by whole hamlets)."""
        pl = get_place(self.place) if isinstance(self.place, str) else self.place
        return max(1.0, pl.households * self.scale)


@dataclass(frozen=True)
class RunSpec:
    """One model run.

    Attributes:
        scenario, replicate, design_point: the run's keys in the results.
        params: flat ModelParams overrides (``"rewiring"``, ``"smartphone.q"``).
        levers: the run's levers with their settings.
        seed_key: the spawn key of its seed (default (replicate, design_point)).
    """

    scenario: str
    replicate: int
    design_point: int
    params: dict[str, Any]
    levers: tuple[LeverSpec, ...]
    seed_key: tuple[int, ...] | None = None

    @property
    def key(self) -> tuple[int, ...]:
        return self.seed_key if self.seed_key is not None else (self.replicate, self.design_point)


@dataclass(frozen=True)
class Probe:
    """A value recorded from each run instead of its whole series.

    Attributes:
        column: the column of the result table.
        metric: the monthly output it reads.
        how: "at" (the metric at ``month``) or "reach" (the first month the metric is at least ``share``; NaN
            if never).
    """

    column: str
    metric: str
    how: str = "at"
    month: int = 0
    share: float = 0.0


@dataclass(frozen=True)
class Recording:
    """What to keep of each run: every monthly output (``series``) and the shares by hamlet (``hamlets``, for
    places of several hamlets), or only ``probes``."""

    series: bool = True
    hamlets: bool = True
    probes: tuple[Probe, ...] = ()

    @property
    def metrics(self) -> list[str]:
        """The outputs the probes read."""
        return sorted({p.metric for p in self.probes})

    @property
    def detail(self) -> bool:
        """Whether shares by income quintile and age group must be computed."""
        return self.series or bool(set(self.metrics) & (set(metric_names()) - set(BASIC_METRICS)))


@dataclass(frozen=True)
class Task:
    """Runs of one setup executed together by one worker; ``id`` names its part file."""

    id: str
    setup: Setup
    runs: tuple[RunSpec, ...]
    recording: Recording = field(default_factory=Recording)


@dataclass
class TaskResult:
    """What a task sends back.

    Attributes:
        table: with series, one row per run and month (keys, month, date and every monthly output); with
            probes, one row per run (keys and one column per probe).
        hamlets: one row per run, month and hamlet with the shares by hamlet (None for a one-hamlet place or
            without series).
    """

    table: pd.DataFrame
    hamlets: pd.DataFrame | None = None


def evaluate_task(task: Task, execution: int = 0) -> TaskResult:
    """Run a task's runs (in a worker; ``execution`` counts earlier attempts and is not used by the model)."""
    return evaluate(task.setup, task.runs, task.recording)


def evaluate(setup: Setup, runs: tuple[RunSpec, ...] | list[RunSpec], recording: Recording = Recording()
             ) -> TaskResult:
    """Simulate ``runs`` of ``setup`` in batches and return what ``recording`` asks for, rows in run order."""
    params_of: dict[str, ModelParams] = {}
    prepared: list[ModelParams] = []
    batches: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        key = json.dumps(run.params, sort_keys=True, default=str)
        if key not in params_of:
            params_of[key] = ModelParams().with_overrides(run.params)
        prm = params_of[key]
        prepared.append(prm)
        kind = (prm.mechanism, tuple(prm.active_products), prm.homogeneous,
                tuple((lv.kind, lv.name) for lv in run.levers))
        batches.setdefault(kind, []).append(i)
    per_batch = max(1, int(BATCH_HOUSEHOLDS // setup.households))
    tables: list[Any] = [None] * len(runs)
    hamlets: list[Any] = [None] * len(runs)
    for members in batches.values():
        for j in range(0, len(members), per_batch):
            chunk = members[j:j + per_batch]
            engine = run_batch(setup.place, setup.scale, setup.start, setup.months, [
                BatchRun(seed_sequence(setup.seed, *runs[i].key), prepared[i], list(runs[i].levers))
                for i in chunk], detail=recording.detail)
            got = _simulate(engine, [runs[i] for i in chunk], recording)
            for i, (table, by_hamlet) in zip(chunk, got):
                tables[i], hamlets[i] = table, by_hamlet
    if not recording.series:
        return TaskResult(pd.DataFrame(tables))
    frames = [h for h in hamlets if h is not None]
    return TaskResult(pd.concat(tables, ignore_index=True), pd.concat(frames, ignore_index=True) if frames else None)


def _simulate(engine: Engine, runs: list[RunSpec], recording: Recording) -> list[tuple[Any, Any]]:
    """Advance a batch to the end of its calendar; per run, its table (or probe row) and hamlet table."""
    months = engine.calendar.months
    zero = np.zeros(len(runs))
    names = list(engine.outputs) if recording.series else recording.metrics

    def read(k: str) -> np.ndarray:  # (a probe may name a lever's column that some batches lack)
        return engine.outputs[k] if recording.series else engine.outputs.get(k, zero)

    grid = {k: [read(k)] for k in names}
    by_hamlet = [engine.hamlet_table] if recording.series and _keeps_hamlets(engine, recording) else None
    for _ in range(months):
        engine.step()
        for k in names:
            grid[k].append(read(k))
        if by_hamlet is not None:
            by_hamlet.append(engine.hamlet_table)
    stacked = {k: np.stack(v) for k, v in grid.items()}  # (months + 1, runs)
    if not recording.series:
        return [(_probe_row(run, stacked, recording.probes, b), None) for b, run in enumerate(runs)]
    dates = [engine.calendar.label(t) for t in range(months + 1)]
    out = []
    for b, run in enumerate(runs):
        table = pd.DataFrame({k: stacked[k][:, b] for k in names})
        table.insert(0, "date", dates)
        table.insert(0, "month", np.arange(months + 1))
        hamlet = None
        if by_hamlet is not None:
            hamlet = _hamlet_rows(engine, by_hamlet, b, dates)
        out.append((_keyed(table, run), _keyed(hamlet, run) if hamlet is not None else None))
    return out


def _keeps_hamlets(engine: Engine, recording: Recording) -> bool:
    """Shares by hamlet are kept for places of several hamlets only (one hamlet would repeat the table)."""
    layout = engine.layout
    return recording.hamlets and int(layout.hamlet_offsets[1] - layout.hamlet_offsets[0]) > 1


def _hamlet_rows(engine: Engine, by_hamlet: list[np.ndarray], b: int, dates: list[str]) -> pd.DataFrame:
    """Run b's shares by hamlet, month after month (rows: month, then hamlet in place order)."""
    lo, hi = engine.layout.hamlet_offsets[b], engine.layout.hamlet_offsets[b + 1]
    names = engine.population.hamlet_names[lo:hi]
    values = np.concatenate([tab[lo:hi] for tab in by_hamlet])
    frame = pd.DataFrame(values, columns=list(HAMLET_COLUMNS))
    frame.insert(0, "hamlet", names * len(by_hamlet))
    frame.insert(0, "date", np.repeat(dates, hi - lo))
    frame.insert(0, "month", np.repeat(np.arange(len(by_hamlet)), hi - lo))
    return frame


def _keyed(df: pd.DataFrame, run: RunSpec) -> pd.DataFrame:
    df.insert(0, "design_point", run.design_point)
    df.insert(0, "replicate", run.replicate)
    df.insert(0, "scenario", run.scenario)
    return df


def _probe_row(run: RunSpec, stacked: dict[str, np.ndarray], probes: tuple[Probe, ...], b: int) -> dict[str, Any]:
    row: dict[str, Any] = {"scenario": run.scenario, "replicate": run.replicate, "design_point": run.design_point}
    for p in probes:
        v = stacked[p.metric][:, b]
        if p.how == "at":
            row[p.column] = float(v[p.month])
        else:
            hit = np.flatnonzero(v >= p.share - 1e-12)
            row[p.column] = float(hit[0]) if hit.size else np.nan
    return row
