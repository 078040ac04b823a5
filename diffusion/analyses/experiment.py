"""``diffusion run``: every scenario, replicate and design point of a config, as a thin analysis on the
evaluation service: plan the runs, evaluate them (resuming finished tasks), assemble and summarise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffusion.experiments.config import ExperimentConfig, load_config
from diffusion.experiments.executors import Failure, execute, executors_for
from diffusion.experiments.plan import Plan, make_plan
from diffusion.experiments.results import BY_HAMLET, DESIGN, SUMMARY, TIMESERIES
from diffusion.experiments.store import Analysis, ResultStore
from diffusion.experiments.summary import assemble, summarise
from diffusion.foundation.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What ``run_experiment`` did.

    Attributes:
        out_dir: the results folder.
        runs_done, runs_failed: counts over the whole experiment (resumed tasks included).
        failures: the tasks that failed in this invocation.
        skipped_tasks: tasks found finished on disk and not rerun.
        manifest: the run's section of the manifest.
    """

    out_dir: Path
    runs_done: int
    runs_failed: int
    failures: list[Failure]
    skipped_tasks: int
    manifest: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.failures and self.runs_failed == 0


def run_experiment(
    config: ExperimentConfig | str | Path,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | Callable[[], Executor] | None = None,
    fresh: bool = False,
    quiet: bool = False,
    work: Callable[..., Any] | None = None,
) -> RunOutcome:
    """Run an experiment: plan, execute (resuming finished tasks), write the tidy results.

    Args:
        config: an ExperimentConfig, or the path of a config file.
        out: results folder (default ``results/<experiment name>``).
        workers: worker processes of the local pool (default: the number of cores; 0 runs in this process).
        scheduler: address of a Dask scheduler ("tcp://host:port"); overrides ``workers``.
        executor: any Executor (or factory of executors) instead of the above.
        fresh: discard earlier results of ``diffusion run`` in ``out`` and start over.
        quiet: no progress bar.
        work: the function a worker runs for each task (default: the evaluation service; tests inject faults).

    Raises:
        ConfigError: bad config, or ``out`` holds results of a different config (use ``fresh`` or another
            ``out``).
    """
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    plan = make_plan(cfg)
    out_dir = Path(out) if out is not None else Path("results") / cfg.name
    info = {
        "experiment": cfg.name, "description": cfg.experiment.description, "config_file": str(cfg.file),
        "config_sha256": cfg.sha256, "config_text": cfg.text, "config": cfg.data, "root_seed": cfg.experiment.seed,
        "seeds": "numpy.random.SeedSequence(root_seed, spawn_key=(replicate, design_point)); the scenario is not in "
                 "the key (common random numbers)",
        "plan": plan.describe()}
    # The identity leaves out labels and descriptions: relabelling a scenario resumes (the manifest then records
    # the new config, which the report shows). Results of a version that hashed the whole config (sha256) resume.
    analysis = ResultStore(out_dir).analysis("run", cfg.identity, fresh=fresh, source=cfg.file, info=info,
                                             also=(cfg.sha256,))
    done = analysis.done(plan.tasks)
    todo = [t for t in plan.tasks if t.id not in done]
    if done:
        log.info("resuming: %d of %d tasks already done in %s", len(done), len(plan.tasks), out_dir)
    ex = executors_for(workers, scheduler, executor, tasks=len(todo))
    analysis.update(executor=ex.info)
    bar = progress_bar(plan.n_runs, sum(len(t.runs) for t in plan.tasks if t.id in done), "run", cfg.name, quiet)
    try:
        failures = execute(todo, ex.factory, on_result=analysis.write_part, window=2 * ex.workers,
                           on_progress=lambda t: bar.update(len(t.runs)), work=work)
    finally:
        bar.close()
        ex.close()
    for f in failures:
        analysis.write_failure(f)
    section = _finish(cfg, plan, analysis)
    return RunOutcome(out_dir=out_dir, runs_done=section["runs_done"], runs_failed=section["runs_failed"],
                      failures=failures, skipped_tasks=len(done), manifest=section)


def _finish(cfg: ExperimentConfig, plan: Plan, analysis: Analysis) -> dict[str, Any]:
    """Assemble the tables from the parts, write them and the run's section of the manifest."""
    frames, hamlet_frames, done_runs, failed = [], [], 0, []
    for t in plan.tasks:
        part = analysis.read_part(t)
        if part is not None:
            frames.append(part.table)
            if part.hamlets is not None:
                hamlet_frames.append(part.hamlets)
            done_runs += len(t.runs)
        else:
            failed.append(analysis.failure(t) or {"task": t.id, "error": "not run",
                                                  "runs": [[r.scenario, r.replicate, r.design_point] for r in t.runs]})
    ts = assemble(frames, plan.scenarios)
    if ts is not None:
        analysis.write_table(TIMESERIES.removesuffix(".parquet"), ts)
        summary = summarise(ts, reference=plan.reference, metrics=cfg.metrics, scenarios=plan.scenarios,
                            near=cfg.outputs.near_target, compare=plan.compare, design=plan.design, by=plan.swept,
                            seed=cfg.experiment.seed)
        analysis.write_table(SUMMARY.removesuffix(".csv"), summary, parquet=False, csv=True, float_format="%.10g")
    else:
        analysis.remove(TIMESERIES)
    hamlets = assemble(hamlet_frames, plan.scenarios)
    if hamlets is not None:
        analysis.write_table(BY_HAMLET.removesuffix(".parquet"), hamlets)
    if plan.design is not None:
        analysis.write_table(DESIGN.removesuffix(".parquet"), plan.design)
    return analysis.finish("complete" if not failed else "incomplete", runs_done=done_runs,
                           runs_failed=sum(len(f["runs"]) for f in failed), tasks_done=len(frames), tasks_failed=failed)
