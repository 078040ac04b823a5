"""The search: NSGA-II (pymoo) over mixed decision variables (real, whole numbers, categorical), each candidate
evaluated over the same replicates and posterior draws (common random numbers), objective = the mean or a
quantile of its runs, constraints (a budget) as inequality constraints.

A generation's candidates are evaluated together (their runs cut into tasks of the evaluation service, run in
batches on the project's executors); a candidate proposed again is not rerun (its values are kept by its
decisions). After every generation the algorithm's state and the history are written to
``optimisation/checkpoint.pkl``: an interrupted search resumes from its last finished generation, and the same
seed gives the same search (pymoo draws from a generator seeded from the config, kept in the checkpoint).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion.analyses.decision.evaluate import (
    Evaluator,
    decision_key,
    decision_policy,
    plain_decision,
    summarise,
)
from diffusion.analyses.decision.spec import DecisionSpec, Outcome
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.files import atomic_write
from diffusion.foundation.text import key_path

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pkl"
#: spawn_key of the stream that seeds pymoo (its own generator, kept in the checkpoint).
SEARCH_STREAM_KEY = (0x6E736761,)  # "nsga"


def make_problem(spec: DecisionSpec):
    """The pymoo problem: the decision variables, the objectives and the constraints (evaluated outside pymoo)."""
    from pymoo.core.problem import Problem
    from pymoo.core.variable import Choice, Integer, Real

    def var(v):
        if v.type == "choice":
            return Choice(options=v.labels)
        if v.type == "int":
            return Integer(bounds=(int(v.lower), int(v.upper)))
        return Real(bounds=(v.lower, v.upper))

    return Problem(vars={v.name: var(v) for v in spec.variables}, n_obj=len(spec.objectives),
                   n_ieq_constr=sum((c.max is not None) + (c.min is not None) for c in spec.constraints))


def make_algorithm(spec: DecisionSpec):
    """NSGA-II with mixed-variable sampling, mating and duplicate elimination, seeded from the spec's seed."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableMating, MixedVariableSampling

    alg = NSGA2(pop_size=spec.population, sampling=MixedVariableSampling(),
                mating=MixedVariableMating(eliminate_duplicates=MixedVariableDuplicateElimination()),
                eliminate_duplicates=MixedVariableDuplicateElimination())
    seed = int(np.random.SeedSequence(spec.seed, spawn_key=SEARCH_STREAM_KEY).generate_state(1)[0])
    alg.setup(make_problem(spec), termination=("n_gen", spec.generations), seed=seed, verbose=False)
    return alg


def objective_matrix(spec: DecisionSpec, stats: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(F, G) for pymoo: objectives to minimise (maximised ones negated), constraints as g <= 0 scaled by their
    limits."""
    F = np.column_stack([stats[o.name].to_numpy(dtype=float) * (1.0 if o.sense == "min" else -1.0)
                         for o in spec.objectives])
    cols = []
    for c in spec.constraints:
        v = stats[c.name].to_numpy(dtype=float)
        for limit, sign in ((c.max, 1.0), (c.min, -1.0)):
            if limit is not None:
                cols.append(sign * (v - limit) / max(abs(limit), 1e-9))
    G = np.column_stack(cols) if cols else np.zeros((len(stats), 0))
    return F, np.nan_to_num(G, nan=1e9)


@dataclass
class SearchResult:
    """What a search gives: every candidate evaluated (``history``), the Pareto set (``pareto``) and one row per
    generation (``convergence``)."""

    history: pd.DataFrame
    pareto: pd.DataFrame
    convergence: pd.DataFrame
    generations: int
    resumed_from: int = 0

    @property
    def evaluations(self) -> int:
        return len(self.history)


class Search:
    """A resumable search: ``run()`` advances generation by generation, checkpointing into ``folder``."""

    def __init__(self, spec: DecisionSpec, evaluator: Evaluator, folder: Path | None = None, *,
                 on_checkpoint: Callable[[Path], None] | None = None, source: str = "<config>"):
        self.spec, self.evaluator, self.folder = spec, evaluator, folder
        self.on_checkpoint, self.source = on_checkpoint, source
        self.outcomes: list[Outcome] = [*spec.objectives, *spec.constraints]
        self.known: dict[str, dict[str, float]] = {}  # decisions -> stats (a candidate proposed again)
        self.rows: list[dict[str, Any]] = []
        self.convergence: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- evaluation
    def stats_of(self, decisions: list[dict[str, Any]]) -> pd.DataFrame:
        """The statistics of candidates (evaluating those not seen before), one row each, in order."""
        new = list({decision_key(d): d for d in decisions if decision_key(d) not in self.known}.values())
        if new:
            policies = [decision_policy(self.spec, f"c{i}", d) for i, d in enumerate(new)]
            values = self.evaluator.evaluate(policies)
            s = self.spec
            stats = summarise(values, self.outcomes, s.statistic, s.quantile, s.interval)
            for d, (_, row) in zip(new, stats.iterrows()):
                self.known[decision_key(d)] = {k: float(v) for k, v in row.items() if k != "policy"}
        return pd.DataFrame([self.known[decision_key(d)] for d in decisions])

    def check_floor(self) -> None:
        """The least intensive mix (every decision at its lower bound or first level) must keep the constraints:
        else no mix is likely to, and the search would only return an empty table. A clear error instead."""
        if not self.spec.constraints:
            return
        floor = {v.name: v.floor for v in self.spec.variables}
        stats = self.stats_of([floor]).iloc[0]
        for c in self.spec.constraints:
            value = stats[c.name]
            for key, limit, bad in (("max", c.max, value > (c.max or 0)), ("min", c.min, value < (c.min or 0))):
                if limit is not None and bad:
                    raise infeasible(self.source, c, key, limit, value, "the least intensive mix (every decision "
                                     "at its lower bound or first level)")

    # ---------------------------------------------------------------- the loop
    def run(self) -> SearchResult:
        from pymoo.core.evaluator import Evaluator as PymooEvaluator
        from pymoo.problems.static import StaticProblem

        alg, start = self._resume()
        resumed = start
        if start == 0:
            self.check_floor()
        gen = start
        while alg.has_next():
            pop = alg.ask()
            decisions = [plain_decision(self.spec.variables, x) for x in pop.get("X")]
            stats = self.stats_of(decisions)
            F, G = objective_matrix(self.spec, stats)
            PymooEvaluator().eval(StaticProblem(alg.problem, F=F, G=G), pop)
            alg.tell(infills=pop)
            gen += 1
            for i, (d, (_, row)) in enumerate(zip(decisions, stats.iterrows())):
                self.rows.append({"generation": gen, "candidate": i, **d, **row.to_dict(),
                                  "feasible": bool(np.all(G[i] <= 0))})
            self.convergence.append(self._progress(gen))
            log.info("generation %d: %d candidates evaluated, %d feasible", gen, len(self.rows),
                     self.convergence[-1]["feasible"])
            self._checkpoint(alg, gen)
        history = pd.DataFrame(self.rows)
        pareto = pareto_set(self.spec, history)
        if pareto.empty:
            self._raise_infeasible(history)
        return SearchResult(history, pareto, pd.DataFrame(self.convergence), gen, resumed)

    def _progress(self, gen: int) -> dict[str, Any]:
        h = pd.DataFrame(self.rows)
        ok = h[h["feasible"]]
        row: dict[str, Any] = {"generation": gen, "evaluations": len(h), "feasible": len(ok),
                               "pareto_size": len(pareto_set(self.spec, h))}
        for o in self.spec.objectives:
            best = ok[o.name].min() if o.sense == "min" else ok[o.name].max()
            row[f"best_{o.name}"] = float(best) if len(ok) else np.nan
        return row

    def _raise_infeasible(self, history: pd.DataFrame) -> None:
        for c in self.spec.constraints:
            for key, limit in (("max", c.max), ("min", c.min)):
                if limit is None:
                    continue
                best = history[c.name].min() if key == "max" else history[c.name].max()
                if not c.met(best):
                    raise infeasible(self.source, c, key, limit, best, f"the best of the {len(history)} mixes "
                                     "evaluated")
        raise ConfigError(self.source, [("optimisation.constraints", "no mix keeps every constraint at once; loosen "
                                         "one of them or widen the decisions' bounds")])

    # ---------------------------------------------------------------- checkpoints
    def _resume(self):
        path = self.folder / CHECKPOINT if self.folder is not None else None
        if path is not None and path.exists():
            try:
                state = pickle.loads(path.read_bytes())
                self.rows, self.convergence = state["rows"], state["convergence"]
                self.known = state["known"]
                log.info("resuming the search after generation %d", state["generation"])
                return state["algorithm"], int(state["generation"])
            except Exception as e:  # noqa: BLE001 - a damaged checkpoint means starting over
                log.warning("the checkpoint %s cannot be read (%s); the search starts over", path, e)
                self.rows, self.convergence, self.known = [], [], {}
        return make_algorithm(self.spec), 0

    def _checkpoint(self, alg, gen: int) -> None:
        if self.folder is None:
            return
        path = self.folder / CHECKPOINT
        atomic_write(path, pickle.dumps({"algorithm": alg, "generation": gen, "rows": self.rows,
                                         "convergence": self.convergence, "known": self.known}))
        if self.on_checkpoint is not None:
            self.on_checkpoint(path)


def infeasible(source: str, c: Outcome, key: str, limit: float, value: float, what: str) -> ConfigError:
    """The one-line error of a constraint that no mix keeps."""
    word = "at most" if key == "max" else "at least"
    fix = "raise" if key == "max" else "lower"
    return ConfigError(source, [(f"optimisation.constraints.{key_path(c.name)}.{key}", (
        f"{limit:,.6g} is not allowed: {what} gives {c.name} = {value:,.6g}, so no mix keeps it {word} {limit:,.6g}; "
        f"{fix} {key} past {value:,.6g} or change the decisions' bounds"))])


def pareto_set(spec: DecisionSpec, history: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated feasible candidates of a history (each decision once), sorted by the first objective;
    ``policy`` names them pareto-1, pareto-2, ..."""
    if history.empty:
        return history.assign(policy=[])
    names = [v.name for v in spec.variables]
    ok = history[history["feasible"]].drop_duplicates(subset=names, keep="first")
    if ok.empty:
        return ok.assign(policy=[])
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F, _ = objective_matrix(spec, ok)
    front = NonDominatedSorting().do(F, only_non_dominated_front=True)
    out = ok.iloc[np.sort(front)].sort_values([o.name for o in spec.objectives], kind="stable")
    out = out.reset_index(drop=True)
    out.insert(0, "policy", [f"pareto-{i + 1}" for i in range(len(out))])
    return out
