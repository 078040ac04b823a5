"""From a validated config to the list of runs (scenario x replicate x design point), grouped into tasks.

Seeds: run (replicate r, design point d) draws from ``numpy.random.SeedSequence(root_seed, spawn_key=(r, d))``.
The scenario is not in the key, so replicate r of every scenario sees the same random numbers (common
random numbers) and differences between scenarios are the policy, not noise. A run's result depends only
on the config, its scenario, replicate and design point: never on how runs are grouped into tasks, the
number of workers or the executor.

Design points come from ``[uncertainties]`` and ``[design]``: a full factorial of levels, or a Latin
hypercube drawn from the root seed's "design" stream. Parameters read ``from`` the same draws file are
drawn together, row by row (posterior draws are joint).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.distributions import plain
from diffusion.experiments.evaluation import RunSpec, Setup, Task
from diffusion.experiments.scenarios import scenario_levers, scenario_params, value_problem
from diffusion.experiments.uncertainties import UncertaintySpec, swept
from diffusion.foundation.errors import ConfigError, ParameterError
from diffusion.foundation.sources import Place
from diffusion.foundation.sources import place as get_place
from diffusion.foundation.text import did_you_mean

#: spawn_key of the stream that draws Latin-hypercube designs (a one-element key never equals a run's
#: two-element (replicate, design_point) key).
DESIGN_STREAM_KEY = (0x64657369,)  # "desi"
#: A task aims at about this much work (seconds on one core), so per-task overhead stays small...
TARGET_TASK_SECONDS = 1.0
#: ...but a plan has at least this many tasks when it has that many runs (parallelism, progress, resume).
MIN_TASKS = 8


@dataclass
class Plan:
    """Every run of an experiment, grouped into tasks.

    Attributes:
        tasks: in plan order (design point, then replicate, then scenario).
        scenarios: scenario names in config order.
        reference: the reference scenario, if any.
        design: design_point and one column per uncertainty (None without [design]).
        replications, design_points, runs_per_task: counts.
        swept: the design columns summarised apart (``uncertainties.swept``).
        compare: ``[outputs] compare``: (scenario, scenario compared with) pairs.
    """

    name: str
    setup: Setup
    tasks: list[Task]
    scenarios: list[str]
    reference: str | None
    design: pd.DataFrame | None
    replications: int
    design_points: int
    runs_per_task: int
    swept: list[str] = field(default_factory=list)
    compare: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return sum(len(t.runs) for t in self.tasks)

    def describe(self) -> dict[str, Any]:
        """Counts for the manifest."""
        return {
            "scenarios": self.scenarios,
            "reference": self.reference,
            "replications": self.replications,
            "design_points": self.design_points,
            "runs": self.n_runs,
            "tasks": len(self.tasks),
            "runs_per_task": self.runs_per_task,
            "swept": self.swept,
            "compare": [list(p) for p in self.compare],
        }


# ================================================================ design
def _bounded(u: UncertaintySpec) -> bool:
    if u.dist in ("uniform", "loguniform", "triangular"):
        return True
    return u.dist in ("normal", "lognormal") and u.lower is not None and u.upper is not None


def design_table(cfg: ExperimentConfig) -> pd.DataFrame | None:
    """The design table: ``design_point`` and one column per uncertainty (None without [design])."""
    if cfg.design is None or not cfg.uncertainties:
        return None
    # factors: single uncertainties, or groups drawn together from one draws file
    groups: dict[str, list[UncertaintySpec]] = {}
    factors: list[list[UncertaintySpec]] = []
    for u in cfg.uncertainties:
        if u.dist == "empirical":
            if u.source not in groups:
                groups[u.source] = []
                factors.append(groups[u.source])
            groups[u.source].append(u)
        else:
            factors.append([u])

    def values(factor: list[UncertaintySpec], q: np.ndarray) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for u in factor:
            if u.dist == "empirical":  # rows of the draws file (parameters of one file are drawn together)
                col = cfg.draws[u.source][u.column].to_numpy()
                rows = np.minimum((q * len(col)).astype(np.int64), len(col) - 1)
                v = col[rows]
                if u.integer:
                    v = np.round(np.asarray(v, dtype=float))
                out[u.name] = [plain(x, u.integer) for x in v]
            else:
                out[u.name] = u.quantile(q)
        return out

    if cfg.design.sampler == "lhs":
        n = int(cfg.design.n)
        rng = np.random.default_rng(np.random.SeedSequence(cfg.experiment.seed, spawn_key=DESIGN_STREAM_KEY))
        cols: dict[str, list[Any]] = {}
        for factor in factors:
            q = (rng.permutation(n) + rng.random(n)) / n
            cols.update(values(factor, q))
    else:
        per_factor: list[dict[str, list[Any]]] = []
        for factor in factors:
            u0 = factor[0]
            if u0.dist == "choice":
                q = (np.arange(len(u0.values)) + 0.5) / len(u0.values)
            elif u0.dist == "empirical":
                n_rows = len(cfg.draws[u0.source])
                L = min(cfg.design.levels_of(u0.name), n_rows)
                rows = np.unique(np.round(np.linspace(0, n_rows - 1, L)).astype(np.int64)) if L > 1 else [n_rows // 2]
                q = (np.asarray(rows) + 0.5) / n_rows
            else:
                L = cfg.design.levels_of(u0.name)
                q = np.linspace(0.0, 1.0, L) if (_bounded(u0) and L > 1) else (np.arange(L) + 0.5) / L
            per_factor.append(values(factor, q))
        cols = {}
        sizes = [len(next(iter(f.values()))) for f in per_factor]
        combos = list(itertools.product(*[range(s) for s in sizes]))
        for f, fac in enumerate(per_factor):
            for name, vals in fac.items():
                cols[name] = [vals[c[f]] for c in combos]
    design = pd.DataFrame({"design_point": np.arange(len(next(iter(cols.values()))), dtype=np.int64)})
    for u in cfg.uncertainties:
        design[u.name] = cols[u.name]
    return design


def design_overrides(cfg: ExperimentConfig, design: pd.DataFrame | None, d: int
                     ) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """The parameters and lever settings (lever, setting) that row ``d`` of a design (or of posterior draws) sets."""
    params: dict[str, Any] = {}
    levers: dict[tuple[str, str], Any] = {}
    if design is None:
        return params, levers
    row = design.iloc[d]
    for u in cfg.uncertainties:
        value = plain(row[u.name], u.integer)
        if u.target[0] == "model":
            params[u.target[1]] = value
        else:
            levers[(u.target[1], u.target[2])] = value
    return params, levers


def _check_design_points(cfg: ExperimentConfig, design: pd.DataFrame) -> None:
    """Every design point must give valid parameters in every scenario (else ConfigError before any run)."""
    problems: list[tuple[str, str]] = []
    n_checks = len(design) * len(cfg.scenarios)
    if n_checks > 20_000:  # check each value alone; combinations would take too long
        for u in cfg.uncertainties:
            for value in pd.unique(design[u.name]):
                msg = value_problem(u.target, plain(value, u.integer), cfg.scenarios)
                if msg:
                    problems.append((u.path, msg))
        if problems:
            raise ConfigError(cfg.file, problems[:10])
        return
    for d in range(len(design)):
        params, lever_values = design_overrides(cfg, design, d)
        for scn in cfg.scenarios.values():
            try:
                scenario_params(scn, params)
                for lv in scenario_levers(scn, lever_values):
                    lv.build()
            except ParameterError as e:
                path = next((u.path for u in cfg.uncertainties if u.target[-1] in (e.name, str(e.name))),
                            "uncertainties")
                values = ", ".join(f"{u.name}={design.iloc[d][u.name]!r}" for u in cfg.uncertainties)
                problems.append((path, (f"design point {d} ({values}) in scenario {scn.name!r}: "
                                 f"{e.name!r} = {e.value!r} is not allowed: {e.allowed}")))
                break
        if len(problems) >= 10:
            break
    if problems:
        raise ConfigError(cfg.file, problems)


# ================================================================ plan
def estimated_run_seconds(place: str | Place, scale: float, months: int) -> float:
    """Rough time of one run on one core (s): fixed cost plus household-months (measured on the dev machine)."""
    pl = get_place(place) if isinstance(place, str) else place
    households = pl.households * scale
    return 0.02 + 8e-8 * households * months


def task_size(n_runs: int, size: int) -> int:
    """``size`` runs per task, made smaller when that would give fewer than MIN_TASKS tasks (at least 1)."""
    return max(1, min(size, math.ceil(n_runs / MIN_TASKS)))


def cut_tasks(runs: list[RunSpec], setup: Setup, size: int, make: Callable[..., Any] = Task, **extra: Any) -> list:
    """Consecutive runs cut into tasks of ``size`` runs (the last may be shorter), in order.

    Task i is ``make(f"task-{i:0{width}d}", setup, tuple(runs[i*size:(i+1)*size]), **extra)`` with ``width``
    at least 5 digits and enough for every task. ``size`` is used as given (see task_size for the MIN_TASKS rule).
    """
    width = max(5, len(str(math.ceil(len(runs) / size))))
    return [make(f"task-{i:0{width}d}", setup, tuple(runs[k : k + size]), **extra)
            for i, k in enumerate(range(0, len(runs), size))]


def make_plan(cfg: ExperimentConfig, *, check: bool = True) -> Plan:
    """Every run of ``cfg`` grouped into tasks.

    Args:
        cfg: a validated config.
        check: also check every design point's parameters (ConfigError before any run).

    Returns:
        The plan; runs are ordered by design point, replicate, scenario and cut into tasks of
        ``runs_per_task`` consecutive runs (from the config, else about TARGET_TASK_SECONDS of work each).
    """
    exp = cfg.experiment
    design = design_table(cfg)
    if design is not None and check:
        _check_design_points(cfg, design)
    n_points = 1 if design is None else len(design)
    setup = Setup(cfg.run_place, float(cfg.population.scale), exp.start, int(exp.months), int(exp.seed))
    runs: list[RunSpec] = []
    for d in range(n_points):
        params, lever_values = design_overrides(cfg, design, d)
        per_scenario = {
            name: ({**scn.params, **params}, tuple(scenario_levers(scn, lever_values)))
            for name, scn in cfg.scenarios.items()
        }
        for r in range(exp.replications):
            for name, (p, lv) in per_scenario.items():
                runs.append(RunSpec(name, r, d, p, lv))
    if exp.runs_per_task:
        size = int(exp.runs_per_task)
    else:
        est = estimated_run_seconds(setup.place, setup.scale, setup.months)
        size = task_size(len(runs), int(TARGET_TASK_SECONDS // est))
    tasks = cut_tasks(runs, setup, size)
    return Plan(
        name=cfg.name,
        setup=setup,
        tasks=tasks,
        scenarios=list(cfg.scenarios),
        reference=cfg.reference,
        design=design,
        replications=int(exp.replications),
        design_points=n_points,
        runs_per_task=size,
        swept=swept(cfg.uncertainties, cfg.design.sampler) if design is not None else [],
        compare=compare_pairs(cfg),
    )


def compare_pairs(cfg: ExperimentConfig) -> list[tuple[str, str]]:
    """``[outputs] compare`` as (scenario, compared with) pairs; ConfigError naming each pair that is not two
    different scenarios of the config."""
    names = list(cfg.scenarios)
    problems, pairs = [], []
    for i, pair in enumerate(cfg.outputs.compare or []):
        path = f"outputs.compare[{i}]"
        if len(pair) != 2 or pair[0] == pair[1]:
            problems.append((path, f"{pair!r} is not allowed: two different scenarios, such as "
                                   f"[{names[-1]!r}, {names[0]!r}]"))
            continue
        for j, name in enumerate(pair):
            if name not in names:
                problems.append((f"{path}[{j}]", f"unknown scenario {name!r}{did_you_mean(name, names)}; scenarios: "
                                                 f"{', '.join(names)}"))
        pairs.append((pair[0], pair[1]))
    if problems:
        raise ConfigError(cfg.file, problems)
    return pairs
