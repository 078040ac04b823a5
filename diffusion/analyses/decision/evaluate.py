"""Policies as runs of the evaluation service, and their outcomes read back.

A *policy* is the base scenario with some lever settings changed (a search candidate: one value per decision
variable), or a scenario of the config. Every policy is run over the same replicates and posterior draws:
run (replicate r, draw d) draws from ``SeedSequence(seed, spawn_key=(r, d))`` whatever the policy, so two
policies differ by their levers, not by noise (common random numbers). The runs of many policies are cut
into tasks and simulated in batches (``experiments.evaluation``: runs of one setup that share the levers'
names are stacked in one set of arrays), on the project's executors.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diffusion.analyses.decision.spec import DRAWS_STREAM_KEY, DecisionSpec, Outcome, Variable
from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.evaluation import Probe, Recording, RunSpec, Setup, Task, TaskResult
from diffusion.experiments.executors import execute, shutdown_executor
from diffusion.experiments.plan import cut_tasks, design_overrides, design_table
from diffusion.experiments.scenarios import LeverSpec, ScenarioSpec, scenario_levers
from diffusion.experiments.schema import DesignSection
from diffusion.foundation.errors import DiffusionError


@dataclass(frozen=True)
class Policy:
    """A policy to evaluate: its name, parameters and levers (``decision``: the variables' values, if any)."""

    name: str
    params: dict[str, Any]
    levers: tuple[LeverSpec, ...]
    decision: dict[str, Any] | None = None


def decision_policy(spec: DecisionSpec, name: str, decision: dict[str, Any]) -> Policy:
    """The base scenario with the decision variables set to ``decision``."""
    over = {k: val for v in spec.variables for k, val in v.settings(decision[v.name]).items()}
    return Policy(name, dict(spec.base.params), tuple(scenario_levers(spec.base, over)), dict(decision))


def scenario_policy(scn: ScenarioSpec) -> Policy:
    return Policy(scn.name, dict(scn.params), tuple(scn.levers))


def plain_decision(variables: list[Variable], x: dict[str, Any]) -> dict[str, Any]:
    """A candidate's values as plain Python values of each variable's type (pymoo gives numpy scalars)."""
    out: dict[str, Any] = {}
    for v in variables:
        val = x[v.name]
        val = val.item() if isinstance(val, np.generic) else val
        if v.type == "int":
            val = int(round(float(val)))
        elif v.type == "real":
            val = float(val)
        out[v.name] = val
    return out


def decision_key(decision: dict[str, Any]) -> str:
    return json.dumps(decision, sort_keys=True, default=str)


def draws_table(cfg: ExperimentConfig, n: int, seed: int) -> pd.DataFrame | None:
    """``n`` posterior draws of the config's [uncertainties] (a Latin hypercube through them, as ``diffusion run``
    takes them; None for n = 0): ``design_point`` and one column per uncertainty."""
    if n <= 0:
        return None
    draws_seed = int(np.random.SeedSequence(seed, spawn_key=DRAWS_STREAM_KEY).generate_state(1)[0])
    sections = cfg.sections.model_copy(update={
        "design": DesignSection(sampler="lhs", n=int(n)),
        "experiment": cfg.sections.experiment.model_copy(update={"seed": draws_seed})})
    return design_table(dataclasses.replace(cfg, sections=sections))


def probes(outcomes: list[Outcome]) -> tuple[Probe, ...]:
    """The values each run records for ``outcomes``."""
    out: dict[str, Probe] = {}
    for o in outcomes:
        if o.kind == "month_reached":
            out[f"reach:{o.metric}:{o.share}"] = Probe(f"reach:{o.metric}:{o.share}", o.metric, "reach", o.t,
                                                       float(o.share))
            continue
        for m in (o.metric, "households" if o.kind == "households_without" else None, o.minus):
            if m is not None:
                out[f"{m}@{o.t}"] = Probe(f"{m}@{o.t}", m, "at", o.t)
    return tuple(out.values())


def outcome_values(o: Outcome, table: pd.DataFrame, months: int) -> np.ndarray:
    """The outcome of every run (rows of the probe table)."""
    if o.kind == "month_reached":
        v = table[f"reach:{o.metric}:{o.share}"].to_numpy(dtype=float)
        return np.where(np.isnan(v), months + 1.0, v)  # never reached: censored at months + 1
    v = table[f"{o.metric}@{o.t}"].to_numpy(dtype=float)
    if o.kind == "households_without":
        return (1.0 - v) * table[f"households@{o.t}"].to_numpy(dtype=float)
    if o.kind == "gap":
        return v - table[f"{o.minus}@{o.t}"].to_numpy(dtype=float)
    return v


class KeptPool:
    """An executor factory for ``execute`` that keeps one pool for every generation of a search (the evaluator runs
    ``execute`` with ``keep=True``); ``close()`` ends it. A broken pool is replaced."""

    def __init__(self, factory: Executor | Callable[[], Executor]):
        self.factory = (lambda: factory) if isinstance(factory, Executor) else factory
        self.pool = None

    def __call__(self) -> Executor:
        if self.pool is None or getattr(self.pool, "_broken", False):
            self.pool = self.factory()
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            shutdown_executor(self.pool)
            self.pool = None


class EvaluationFailed(DiffusionError):
    """Runs of some policies failed (twice); the message names the first error."""


@dataclass
class Evaluator:
    """Evaluates policies over ``replicates`` x the draws of ``draws`` (None: the model's defaults), with the same
    seeds for every policy; ``pool`` runs the tasks and stays open between evaluations."""

    cfg: ExperimentConfig
    setup: Setup
    outcomes: list[Outcome]
    replicates: int
    draws: pd.DataFrame | None
    pool: KeptPool
    workers: int = 1
    runs_per_task: int | None = None
    work: Callable[..., Any] | None = None
    #: prepended to every run's spawn key (the robustness check's runs use their own seeds, apart from the search's)
    key_prefix: tuple[int, ...] = ()

    @property
    def n_draws(self) -> int:
        return 1 if self.draws is None else len(self.draws)

    def runs(self, policies: list[Policy]) -> list[RunSpec]:
        out = []
        for d in range(self.n_draws):
            params, lever_over = design_overrides(self.cfg, self.draws, d)
            for i, p in enumerate(policies):
                levers = tuple(LeverSpec(lv.kind, lv.name, {**lv.settings, **{s: v for (n, s), v in
                               lever_over.items() if n == lv.name}}) for lv in p.levers) if lever_over else p.levers
                for r in range(self.replicates):
                    out.append(RunSpec(f"p{i}", r, d, {**p.params, **params}, levers,
                                       seed_key=(*self.key_prefix, r, d)))
        return out

    def evaluate(self, policies: list[Policy]) -> pd.DataFrame:
        """One row per policy, draw and replicate: ``policy`` (index into ``policies``), ``draw``, ``replicate``
        and one column per outcome."""
        runs = self.runs(policies)
        if not runs:
            return pd.DataFrame(columns=["policy", "draw", "replicate", *(o.name for o in self.outcomes)])
        size = self.runs_per_task or max(1, -(-len(runs) // max(1, self.workers)))
        tasks = cut_tasks(runs, self.setup, size, make=Task,
                          recording=Recording(series=False, hamlets=False, probes=probes(self.outcomes)))
        parts: dict[str, pd.DataFrame] = {}

        def collect(task: Task, result: TaskResult) -> None:
            parts[task.id] = result.table

        failures = execute(tasks, self.pool, on_result=collect, window=2 * self.workers, work=self.work, keep=True)
        if failures:
            last = failures[0].error.strip().splitlines()
            raise EvaluationFailed(f"{len(failures)} task(s) of policy runs failed: {last[-1] if last else '?'}")
        table = pd.concat([parts[t.id] for t in tasks], ignore_index=True)
        out = pd.DataFrame({"policy": table["scenario"].str.slice(1).astype(np.int64).to_numpy(),
                            "draw": table["design_point"].to_numpy(), "replicate": table["replicate"].to_numpy()})
        for o in self.outcomes:
            out[o.name] = outcome_values(o, table, self.setup.months)
        return out.sort_values(["policy", "draw", "replicate"], kind="stable").reset_index(drop=True)


def summarise(values: pd.DataFrame, outcomes: list[Outcome], statistic: str, quantile: float, interval: float
              ) -> pd.DataFrame:
    """Per policy: each outcome's statistic (mean or the quantile over draws and replicates) and its interval
    (``<name>_lo``, ``<name>_hi``: the central ``interval`` of the runs)."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    g = values.groupby("policy", sort=True)
    out = pd.DataFrame(index=g.size().index)
    for o in outcomes:
        col = g[o.name]
        out[o.name] = col.mean() if statistic == "mean" else col.quantile(quantile)
        out[f"{o.name}_lo"] = col.quantile(lo)
        out[f"{o.name}_hi"] = col.quantile(hi)
    return out.reset_index()
