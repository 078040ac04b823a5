"""A model study's design as runs of the evaluation service: every design row times the replicates, plus the
reference runs of cost outcomes, cut into tasks that record only the values the outcomes need; and the
outcomes read back from those values.

Every design point's runs use ``SeedSequence(seed, spawn_key=(replicate, base_sample))``: all points built
from one base sample (Sobol's A, B and AB_i rows; one Morris trajectory) share their random numbers, so the
differences SALib's estimators take are differences of factors, not of noise (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diffusion.analyses.sensitivity.salib import design_table, noise_row, sample_unit
from diffusion.analyses.sensitivity.spec import SensitivitySpec
from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.evaluation import Probe, Recording, RunSpec, Setup, Task
from diffusion.experiments.plan import cut_tasks, task_size
from diffusion.experiments.scenarios import LeverSpec, scenario_levers

#: Runs per task: a task's runs are simulated together in batches (``experiments.evaluation``), where a
#: village run of ~275 households over 60 months costs ~1.5 ms in a batch of 256 against ~30 ms alone.
RUNS_PER_TASK = 512


def probes(spec: SensitivitySpec) -> tuple[Probe, ...]:
    """The values each run records: a metric at a month ("at") or the first month it reaches a share
    ("reach"); cost outcomes record the share, the spending and the households at their month."""
    out: dict[str, Probe] = {}
    for o in spec.outcomes:
        if o.kind in ("share_at", "value_at"):
            out[f"{o.metric}@{o.t}"] = Probe(f"{o.metric}@{o.t}", o.metric, "at", o.t, 0.0)
        elif o.kind == "month_reached":
            k = f"reach:{o.metric}:{o.share}"
            out[k] = Probe(k, o.metric, "reach", o.t, float(o.share))
        else:
            for m in (o.metric, "cum_cost_total", "households"):
                out[f"{m}@{o.t}"] = Probe(f"{m}@{o.t}", m, "at", o.t, 0.0)
    return tuple(out.values())


@dataclass
class ModelDesign:
    """The model runs of a sensitivity design.

    Attributes:
        X: unit-cube design (rows, factors); design: its table.
        tasks: the tasks; run scenario "x<row>" for design rows, "ref<i>" for references.
        ref_of_row: the reference index of each design row (-1 without a reference).
    """

    spec: SensitivitySpec
    setup: Setup
    X: np.ndarray
    design: pd.DataFrame
    tasks: list[Task]
    ref_of_row: np.ndarray
    n_refs: int

    @property
    def n_runs(self) -> int:
        return sum(len(t.runs) for t in self.tasks)


def make_design(cfg: ExperimentConfig, spec: SensitivitySpec) -> ModelDesign:
    """Sample the design and cut its runs (rows x replicates, plus references) into tasks.

    References are shared: design rows of one base sample with the same model parameters and the same
    settings of the levers that stay on in the reference have one reference run per replicate.
    """
    exp = cfg.experiment
    setup = Setup(cfg.run_place, float(cfg.population.scale), exp.start, int(exp.months), spec.seed)
    X = sample_unit(spec.problem, spec.method, spec.n, spec.seed, second_order=spec.second_order,
                    levels=spec.levels)
    design, values = design_table(spec, X)
    base = spec.base
    step = spec.step
    runs: list[RunSpec] = []
    refs: dict[tuple, int] = {}
    ref_of_row = np.full(len(X), -1, dtype=np.int64)
    ref_runs: list[tuple[int, dict[str, Any], tuple[LeverSpec, ...]]] = []
    needs_reference = spec.needs_reference
    # levers switched off keep the base settings: a lever that is off does the same whatever its settings
    switched_off = {b.name: LeverSpec(b.kind, b.name, {**b.settings, "enabled": False}) for b in base.levers
                    if b.name in spec.reference_off}
    # a reference is set by the base sample and the factors that act on it (model parameters, levers kept on)
    acting_on_reference = [j for j, f in enumerate(spec.factors) if not f.dummy and any(
        t[0] == "model" or t[1] not in switched_off for t in f.targets)]
    for k in range(len(X)):
        g = k // step
        params = dict(base.params)
        lever_over: dict[tuple[str, str], Any] = {}
        for f, v in zip(spec.factors, values):
            for t, tv in f.settings(v[k]):
                if t[0] == "model":
                    params[t[1]] = tv
                elif t[0] == "lever":
                    lever_over[(t[1], t[2])] = tv
        levers = tuple(scenario_levers(base, lever_over))
        for r in range(spec.replicates):
            runs.append(RunSpec(f"x{k}", r, g, params, levers))
        if needs_reference:
            key = (g, *(_frozen(values[j][k]) for j in acting_on_reference))
            if key not in refs:
                refs[key] = len(refs)
                ref_runs.append((g, params, tuple(switched_off.get(lv.name, lv) for lv in levers)))
            ref_of_row[k] = refs[key]
    for i, (g, params, ref_levers) in enumerate(ref_runs):
        for r in range(spec.replicates):
            runs.append(RunSpec(f"ref{i}", r, g, params, ref_levers))
    runs.sort(key=lambda rs: (rs.design_point, rs.replicate))  # stable: a task's runs share base samples
    size = task_size(len(runs), int(spec.runs_per_task or exp.runs_per_task or RUNS_PER_TASK))
    tasks = cut_tasks(runs, setup, size, recording=Recording(series=False, hamlets=False, probes=probes(spec)))
    return ModelDesign(spec, setup, X, design, tasks, ref_of_row, len(ref_runs))


def _frozen(value: Any) -> Any:
    """A factor value as a dictionary key (levels may be lists)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


def outcomes_from_runs(md: ModelDesign, runs: pd.DataFrame) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Per outcome: the replicate means per design row (analysed) and the noise table."""
    spec = md.spec
    n_rows, R = len(md.X), spec.replicates
    runs = runs.copy()
    is_ref = runs["scenario"].str.startswith("ref")
    runs["idx"] = runs["scenario"].str.slice(3).where(is_ref, runs["scenario"].str.slice(1)).astype(np.int64)

    def grid(frame: pd.DataFrame, col: str, n: int) -> np.ndarray:
        a = np.full((n, R), np.nan)
        a[frame["idx"].to_numpy(), frame["replicate"].to_numpy()] = frame[col].to_numpy(dtype=float)
        return a

    xs, rs = runs[~is_ref], runs[is_ref]
    Y: dict[str, np.ndarray] = {}
    noise = []
    for o in spec.outcomes:
        if o.kind in ("share_at", "value_at"):
            per = grid(xs, f"{o.metric}@{o.t}", n_rows)
            y = per.mean(axis=1)
        elif o.kind == "month_reached":
            per = grid(xs, f"reach:{o.metric}:{o.share}", n_rows)
            per = np.where(np.isnan(per), md.setup.months + 1, per)  # never reached: censored at months + 1
            y = per.mean(axis=1)
        else:
            share = grid(xs, f"{o.metric}@{o.t}", n_rows)
            cost = grid(xs, f"cum_cost_total@{o.t}", n_rows)
            hh = grid(xs, f"households@{o.t}", n_rows)
            ri = md.ref_of_row
            rshare = grid(rs, f"{o.metric}@{o.t}", md.n_refs)[ri]
            rcost = grid(rs, f"cum_cost_total@{o.t}", md.n_refs)[ri]
            extra_hh = (share - rshare) * hh
            extra_cost = cost - rcost
            per = extra_cost / np.maximum(extra_hh, o.min_additional)
            y = extra_cost.mean(axis=1) / np.maximum(extra_hh.mean(axis=1), o.min_additional)
        if np.isnan(per).any():
            raise RuntimeError(f"outcome {o.name!r}: {int(np.isnan(per).sum())} runs missing")
        Y[o.name] = y
        noise.append(noise_row(o.name, per))
    return Y, pd.DataFrame(noise)
