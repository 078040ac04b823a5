"""``diffusion optimise``: the search, the robustness check of its Pareto set and of named policies, scenario
discovery for the chosen policy, and the answer, written to ``<results>/optimisation/`` through the results
store (charts and the decision report are drawn from these tables by the presentation layer).

Tables: ``pareto.csv`` (decisions and objectives with intervals), ``history.csv`` (every candidate),
``convergence.csv`` (per generation), ``robustness.csv`` and ``robustness_draws.parquet``, ``draws.csv`` (the
posterior draws used), ``discovery_boxes.csv``, ``discovery_limits.csv``, ``peeling.csv``, and ``decision.json``
(the answer and what the report needs to state it).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion.analyses.decision.discovery import Discovery, discover
from diffusion.analyses.decision.evaluate import (
    Evaluator,
    KeptPool,
    Policy,
    decision_policy,
    draws_table,
    scenario_policy,
)
from diffusion.analyses.decision.optimisation import Search, SearchResult
from diffusion.analyses.decision.robustness import Robustness, answer, cost_outcome, robustness
from diffusion.analyses.decision.spec import DecisionSpec, validate_optimisation
from diffusion.experiments.config import ExperimentConfig, load_config
from diffusion.experiments.evaluation import Setup
from diffusion.experiments.executors import executors_for
from diffusion.experiments.store import Analysis, ResultStore
from diffusion.foundation.calendar import Calendar

KIND = "optimisation"
#: First element of the robustness runs' spawn keys (r, d): their seeds are apart from the search's.
ROBUSTNESS_KEY = (0x726F62,)  # "rob"


@dataclass
class DecisionOutcome:
    """What ``run_optimisation`` did."""

    out_dir: Path
    spec: DecisionSpec
    search: SearchResult | None = None
    robustness: Robustness | None = None
    discovery: Discovery | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def folder(self) -> Path:
        return self.out_dir / KIND


def identity(cfg: ExperimentConfig, setup: Setup) -> str:
    """What the results depend on: the config (with its draws files) and the setup."""
    return hashlib.sha256(json.dumps([cfg.sha256, setup.__dict__], default=str).encode()).hexdigest()


def run_optimisation(cfg: ExperimentConfig | str | Path, out_dir: str | Path | None = None, *,
                     workers: int | None = None, scheduler: str | None = None,
                     executor: Executor | Callable[[], Executor] | None = None, fresh: bool = False,
                     quiet: bool = False, work: Callable[..., Any] | None = None) -> DecisionOutcome:
    """Search, check robustness, discover where the answer fails and write the tables (see the module docstring).

    Args: as ``run_sensitivity`` (``workers=0`` runs in this process).

    Raises:
        ConfigError: a bad [optimisation] table, a constraint no mix keeps, or ``out_dir`` holds another search.
    """
    t0 = time.perf_counter()
    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg)
    spec = validate_optimisation(cfg)
    exp = cfg.experiment
    setup = Setup(cfg.run_place, float(cfg.population.scale), exp.start, int(exp.months), spec.seed)
    out = Path(out_dir) if out_dir is not None else Path("results") / cfg.name
    analysis = ResultStore(out).analysis(KIND, identity(cfg, setup), fresh=fresh, source=cfg.file, info={
        "experiment": cfg.name, "config_file": cfg.file, "config_sha256": cfg.sha256, "config_text": cfg.text,
        "seed": spec.seed, "replicates": spec.replicates, "draws": spec.draws, "population": spec.population,
        "generations": spec.generations, "language": cfg.outputs.language})
    ex = executors_for(workers, scheduler, executor)
    pool = KeptPool(ex.factory)
    try:
        result = _run(cfg, spec, setup, analysis, pool, ex.workers, work, out)
    finally:
        pool.close()
        ex.close()
    result.seconds = time.perf_counter() - t0
    analysis.finish("done", seconds=round(result.seconds, 3),
                    evaluations=result.search.evaluations if result.search else 0)
    return result


def _run(cfg: ExperimentConfig, spec: DecisionSpec, setup: Setup, analysis: Analysis, pool: KeptPool,
         workers: int, work: Callable[..., Any] | None, out: Path) -> DecisionOutcome:
    res = DecisionOutcome(out, spec)
    if spec.searches:
        ev = Evaluator(cfg, setup, [*spec.objectives, *spec.constraints], spec.replicates,
                       draws_table(cfg, spec.draws, spec.seed), pool, workers, spec.runs_per_task, work)
        search = Search(spec, ev, analysis.dir, source=cfg.file,
                        on_checkpoint=lambda p: (analysis.store.record(p, KIND), analysis.store.save()))
        res.search = search.run()
        analysis.write_table("pareto", res.search.pareto, csv=True, parquet=False)
        analysis.write_table("history", res.search.history, csv=True, parquet=False)
        analysis.write_table("convergence", res.search.convergence, csv=True, parquet=False)
    if spec.robustness is None:
        analysis.write_json("decision.json", _decision_json(cfg, spec, res))
        return res
    rob = spec.robustness
    draws = draws_table(cfg, rob.draws, spec.seed + 1)
    cost = cost_outcome(setup.months, Calendar(setup.start, setup.months).label(setup.months))
    ev = Evaluator(cfg, setup, [cost, *spec.targets], rob.replicates, draws, pool, workers, None, work,
                   key_prefix=ROBUSTNESS_KEY)
    policies = [scenario_policy(s) for s in spec.policies]
    if rob.pareto and res.search is not None:
        names = [v.name for v in spec.variables]
        policies += [decision_policy(spec, row["policy"], {k: row[k] for k in names})
                     for row in spread(spec, res.search.pareto, rob.pareto_max).to_dict("records")]
    res.robustness = robustness(ev, policies, spec.targets)
    res.answer = answer(res.robustness.table, rob.probability)
    analysis.write_table("robustness", res.robustness.table, csv=True, parquet=False)
    analysis.write_table("robustness_draws", res.robustness.draws)
    analysis.write_table("draws", draws, csv=True, parquet=False)
    if spec.discovery is not None:
        res.discovery = _discovery(spec, res, policies, draws)
        if res.discovery is not None:
            analysis.write_table("discovery_boxes", res.discovery.boxes, csv=True, parquet=False)
            analysis.write_table("discovery_limits", res.discovery.limits, csv=True, parquet=False)
            analysis.write_table("peeling", res.discovery.trajectory, csv=True, parquet=False)
    analysis.write_json("decision.json", _decision_json(cfg, spec, res))
    return res


def spread(spec: DecisionSpec, pareto: pd.DataFrame, k: int) -> pd.DataFrame:
    """At most ``k`` Pareto mixes, evenly spaced along the cost objective (else the first) from its best to its
    worst, both ends included."""
    if len(pareto) <= k:
        return pareto
    key = next((o.name for o in spec.objectives if o.kind == "cost"), spec.objectives[0].name)
    ordered = pareto.sort_values(key, kind="stable").reset_index(drop=True)
    return ordered.iloc[np.unique(np.round(np.linspace(0, len(ordered) - 1, k)).astype(int))]


def _discovery(spec: DecisionSpec, res: DecisionOutcome, policies: list[Policy], draws: pd.DataFrame
               ) -> Discovery | None:
    disc = spec.discovery
    target = disc.target or spec.targets[0].name
    chosen = res.answer.get("chosen") or (res.answer.get("alternatives") or [None])[0]
    name = disc.policy or (chosen or {}).get("policy")
    per = res.robustness.draws
    rows = per[per["policy"] == name].sort_values("draw")
    if rows.empty:
        return None
    x = draws.set_index("design_point").loc[rows["draw"].to_numpy()].reset_index(drop=True)
    found = discover(x, ~rows[f"met_{target}"].to_numpy(dtype=bool), min_coverage=disc.min_coverage,
                     boxes=disc.boxes, peel_alpha=disc.peel_alpha)
    res.answer["discovery"] = {"policy": name, "target": target}
    return found


def _decision_json(cfg: ExperimentConfig, spec: DecisionSpec, res: DecisionOutcome) -> dict[str, Any]:
    """What the decision report states, in plain values."""
    def clean(d):
        if isinstance(d, dict):
            return {str(k): clean(v) for k, v in d.items()}
        if isinstance(d, list):
            return [clean(v) for v in d]
        if isinstance(d, np.generic):
            d = d.item()
        return None if isinstance(d, float) and np.isnan(d) else d

    return clean({
        "experiment": cfg.name, "description": cfg.experiment.description, "place": cfg.population.place,
        "scale": cfg.population.scale, "start": cfg.experiment.start, "months": cfg.experiment.months,
        "language": cfg.outputs.language, "statistic": spec.statistic, "quantile": spec.quantile,
        "replicates": spec.replicates, "draws": spec.draws,
        "variables": [{"name": v.name, "lever": v.lever, "setting": v.setting, "type": v.type,
                       **({"split": [".".join(t) for t in v.split], "total": v.total} if v.split else {})}
                      for v in spec.variables],
        "objectives": [{"name": o.name, "kind": o.kind, "metric": o.metric, "date": o.date, "sense": o.sense}
                       for o in spec.objectives],
        "constraints": [{"name": o.name, "kind": o.kind, "date": o.date, "max": o.max, "min": o.min}
                        for o in spec.constraints],
        "targets": [{"name": o.name, "kind": o.kind, "metric": o.metric, "date": o.date, "max": o.max, "min": o.min}
                    for o in spec.targets],
        "policies": {s.name: s.description for s in spec.policies},
        "evaluations": res.search.evaluations if res.search else 0,
        "robustness_draws": spec.robustness.draws if spec.robustness else 0,
        "answer": res.answer,
    })
