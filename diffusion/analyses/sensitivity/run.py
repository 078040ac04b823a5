"""Running a sensitivity study: sample the design, evaluate its runs (resuming finished tasks), analyse, and
write the tables to ``<results>/sensitivity/`` through the results store (charts are drawn from them by
the presentation layer)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.analyses.sensitivity.design import ModelDesign, make_design, outcomes_from_runs
from diffusion.analyses.sensitivity.salib import SensitivityResult, analyse_all
from diffusion.analyses.sensitivity.spec import SensitivitySpec, validate_sensitivity
from diffusion.experiments.config import ExperimentConfig, load_config
from diffusion.experiments.executors import Executors, execute, executors_for
from diffusion.experiments.store import Analysis, ResultStore
from diffusion.foundation.progress import progress_bar


@dataclass
class SensitivityOutcome:
    """What ``run_sensitivity`` did: the result (None if runs failed), counts and the folder."""

    out_dir: Path
    result: SensitivityResult | None
    runs: int
    tasks: int
    skipped_tasks: int
    failures: list[Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.failures


def design_hash(cfg: ExperimentConfig, md: ModelDesign) -> str:
    """The identity of a study's results: the config, the design, the setup and how tasks are cut."""
    h = hashlib.sha256(cfg.sha256.encode())
    h.update(pd.util.hash_pandas_object(md.design, index=False).to_numpy().tobytes())
    recording = [asdict(p) for p in md.tasks[0].recording.probes] if md.tasks else []
    h.update(json.dumps([md.setup.__dict__, len(md.tasks), recording], default=str).encode())
    return h.hexdigest()


def run_sensitivity(cfg: ExperimentConfig | str | Path, out_dir: str | Path | None = None, *,
                    workers: int | None = None, scheduler: str | None = None,
                    executor: Executor | Callable[[], Executor] | None = None, fresh: bool = False,
                    quiet: bool = False, work: Callable[..., Any] | None = None) -> SensitivityOutcome:
    """Sample, run (resuming finished tasks), analyse and write a sensitivity study.

    Args:
        cfg: a config (or its path) with a [sensitivity] table.
        out_dir: results folder (default ``results/<experiment name>``); the study goes to its ``sensitivity/``.
        workers: local worker processes (default: cores; 0: in this process).
        scheduler: a Dask scheduler address ("tcp://host:port") instead of local processes.
        executor: any Executor or factory of executors instead of the above.
        fresh: discard an earlier study in ``out_dir``.
        quiet: no progress bar.
        work: the function a worker runs for each task (default: the evaluation service; tests inject faults).

    Raises:
        ConfigError: a bad config, or ``out_dir`` holds another study (use ``fresh``).
    """
    t0 = time.perf_counter()
    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg)
    spec = validate_sensitivity(cfg)
    ex = executors_for(workers, scheduler, executor, start_now=True)  # local workers start while the design is made
    try:
        return _run(cfg, spec, Path(out_dir) if out_dir is not None else Path("results") / cfg.name, ex, fresh,
                    quiet, work, t0)
    finally:
        ex.close()


def _run(cfg: ExperimentConfig, spec: SensitivitySpec, out: Path, ex: Executors, fresh: bool, quiet: bool,
         work: Callable[..., Any] | None, t0: float) -> SensitivityOutcome:
    md = make_design(cfg, spec)
    analysis = ResultStore(out).analysis("sensitivity", design_hash(cfg, md), fresh=fresh, source=cfg.file, info={
        "experiment": cfg.name, "config_file": cfg.file, "config_sha256": cfg.sha256, "method": spec.method,
        "n": spec.n, "replicates": spec.replicates, "seed": spec.seed, "factors": spec.names,
        "outcomes": [o.name for o in spec.outcomes], "design_rows": len(md.X),
        "reference_runs_per_replicate": md.n_refs, "runs": md.n_runs, "tasks": len(md.tasks),
        "warnings": spec.warnings, "language": cfg.outputs.language})
    done = analysis.done(md.tasks)
    todo = [t for t in md.tasks if t.id not in done]
    bar = progress_bar(md.n_runs, md.n_runs - sum(len(t.runs) for t in todo), "run", cfg.name, quiet)
    try:
        failures = execute(todo, ex.factory, work=work, on_result=analysis.write_part, window=2 * ex.workers,
                           on_progress=lambda t: bar.update(len(t.runs)))
    finally:
        bar.close()
    if failures:
        analysis.finish("failed", failures=[f.describe() for f in failures])
        return SensitivityOutcome(out, None, md.n_runs, len(md.tasks), len(done), failures, time.perf_counter() - t0)
    runs = pd.concat([analysis.read_part(t).table for t in md.tasks], ignore_index=True)
    Y, noise = outcomes_from_runs(md, runs)
    design = md.design.copy()
    for k, y in Y.items():
        design[k] = y
    result = analyse_all(spec, md.X, Y, design, noise)
    write_tables(result, analysis)
    analysis.finish("done", seconds=round(time.perf_counter() - t0, 3))
    return SensitivityOutcome(out, result, md.n_runs, len(md.tasks), len(done), [], time.perf_counter() - t0)


def write_tables(result: SensitivityResult, analysis: Analysis) -> None:
    """The study's tables: indices, noise and convergence (Parquet and CSV), the Sobol or Morris table and S2,
    and the design with its outcomes."""
    tables = {"indices": result.indices, "noise": result.noise, "convergence": result.convergence,
              "sobol": result.sobol, "morris": result.morris, "s2": result.s2}
    for name, frame in tables.items():
        if frame is not None:
            analysis.write_table(name, frame, csv=True)
    analysis.write_table("design", result.design)
