"""Wall time of the shipped village Sobol design (experiments/sensitivity_levers.toml) against the same design
as plain Mesa agent-loop runs, measured in the same run.

What is timed:

* **our pipeline**: ``run_sensitivity`` on the shipped config with ``--n`` base samples (default 64, a
  fraction of the shipped N = 1024) on ``--workers`` local processes (default 2): sampling, every run (design
  rows x replicates plus the shared reference runs), SALib analysis and tables (charts off). The full design's
  time is extrapolated per run: ``fixed + runs(N=1024) x (execution seconds / runs measured)``; the run
  count of the full design is exact (the design is built, not run). ``--n 1024`` runs the full design.
* **plain Mesa**: the same model written as a plain Mesa agent loop (``plain_mesa_model.PlainMesaModel``:
  one ``mesa.Agent`` per household, the four products, the subsidy, the teams and the fibre timing of the
  design, a synchronous two-phase update, a DataCollector; ``tests/test_plain_mesa_model.py`` checks that
  its means agree with the vectorised model's) on Thôn Đông with the design's central lever settings for
  the same 59 months; its time per run (build + run, median of a few) x the full design's runs / workers is
  the plain Mesa estimate the target is about. For context the one-product Bass rule of ``bench_model.py``
  (``PlainMesaBass``) on the same network is timed too: a lower bound for any plain Mesa version.
* **where the time goes**: a cProfile of a few runs of the design in this process, summed by module.

Usage:
    python benchmarks/bench_sensitivity.py                 # N = 64 of the shipped design, 2 workers
    python benchmarks/bench_sensitivity.py --n 1024        # the whole design (under a minute on 2 cores)
    python benchmarks/bench_sensitivity.py --n 16 --workers 1   # smoke run
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain_mesa_model import CONFIG  # noqa: E402 - the shipped design (experiments/sensitivity_levers.toml)

TARGET_S, TARGET_RATIO = 120.0, 50.0


def _config(n: int | None):
    import tomllib

    from diffusion.experiments.config import load_config_data

    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    if n is not None:
        data["sensitivity"]["n"] = int(n)
    return load_config_data(data, source=str(CONFIG), base_dir=CONFIG.parent)


def plain_mesa_model_seconds_per_run(months: int, repeats: int = 5) -> float:
    """Build + run time of the plain Mesa version of the model on the design's central setting (median)."""
    from plain_mesa_model import time_plain_runs

    return statistics.median(b + r for b, r, _ in time_plain_runs(repeats, seed=1, months=months))


def plain_mesa_seconds_per_run(months: int, repeats: int = 3) -> float:
    """Build + run time of the plain Mesa Bass rule on Thôn Đông's network (median of ``repeats``)."""
    from bench_model import BASS_P, BASS_Q, PlainMesaBass

    from diffusion import AdoptionModel, ModelParams

    params = ModelParams.bass(BASS_P, BASS_Q).with_overrides({"network": "small_world"})
    adjacency = AdoptionModel("thon_dong", params=params, months=months, seed=1, agents=False,
                              collect=False).network.adjacency
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        m = PlainMesaBass(adjacency, BASS_P, BASS_Q, seed=r)
        for _ in range(months):
            m.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pool_startup_seconds(workers: int) -> float:
    """Time to start a spawn process pool whose workers have imported the model (paid once per study)."""
    from diffusion.experiments.executors import _warm, process_pool

    t0 = time.perf_counter()
    pool = process_pool(workers)()
    for f in [pool.submit(_warm) for _ in range(workers)]:  # (a spawn pool starts a worker per submitted call)
        f.result()
    pool.shutdown()
    return time.perf_counter() - t0


def profile_runs(cfg, n_runs: int = 30) -> list[tuple[str, float]]:
    """Seconds per run by module (cProfile tottime summed over ``n_runs`` runs of the design)."""
    from diffusion.analyses.sensitivity import make_design, validate_sensitivity
    from diffusion.experiments.evaluation import Task, evaluate_task

    spec = validate_sensitivity(cfg)
    md = make_design(cfg, spec)
    runs = [r for t in md.tasks for r in t.runs][:n_runs]
    task = Task("profile", md.setup, tuple(runs), md.tasks[0].recording)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    evaluate_task(task)
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    by: dict[str, float] = defaultdict(float)
    total = 0.0
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        total += tt
        if "/diffusion/" in file:
            key = "diffusion/" + file.split("/diffusion/")[-1]
        elif "/mesa/" in file:
            key = "mesa"
        elif "numpy" in file or func.startswith(("<method", "<built-in")):
            key = "numpy / builtins"
        else:
            key = "other python"
        by[key] += tt
    scale = wall / total / len(runs) if total else 0.0
    return sorted(((k, v * scale) for k, v in by.items()), key=lambda kv: -kv[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="Sobol base samples to run (shipped: 1024)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", help="keep the results in this folder")
    args = ap.parse_args(argv)

    from diffusion.analyses.sensitivity import make_design, run_sensitivity, validate_sensitivity

    full_cfg = _config(None)
    full_spec = validate_sensitivity(full_cfg)
    full = make_design(full_cfg, full_spec)
    cfg = _config(args.n)
    spec = validate_sensitivity(cfg)
    md = make_design(cfg, spec)
    months = cfg.experiment.months
    print(f"shipped design: N = {full_spec.n}, {len(full_spec.factors)} factors, {full_spec.replicates} replicates,"
          f" {len(full.X):,} design points, {full.n_refs:,} shared reference points -> {full.n_runs:,} runs of "
          f"{months} months ({cfg.population.place}, {cfg.population.scale:g})")
    print(f"measured: N = {spec.n} ({spec.n / full_spec.n:.1%} of the design): {md.n_runs:,} runs on "
          f"{args.workers} worker(s), {os.cpu_count()} cores")

    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_sens_"))
    t0 = time.perf_counter()
    res = run_sensitivity(cfg, out, workers=args.workers, fresh=True, quiet=True)
    wall = time.perf_counter() - t0
    if not res.ok:
        print("runs failed", res.failures)
        return 1
    # the analysis and table writing, timed again alone on the finished runs (resume: no run is redone)
    t1 = time.perf_counter()
    run_sensitivity(cfg, out, workers=0, quiet=True)
    fixed = time.perf_counter() - t1
    startup = pool_startup_seconds(args.workers) if args.workers > 0 else 0.0
    execution = max(wall - fixed - startup, 1e-9)
    fixed += startup
    per_run_wall = execution / md.n_runs
    est_full = fixed + full.n_runs * per_run_wall if spec.n != full_spec.n else wall
    print(f"\nour pipeline, measured: {wall:.1f} s wall ({execution:.1f} s running {md.n_runs:,} runs = "
          f"{per_run_wall * 1e3:.2f} ms wall per run on {args.workers} workers, "
          f"{per_run_wall * args.workers * 1e3:.1f} ms per run per core; "
          f"{fixed:.1f} s pool start-up ({startup:.1f} s), sampling, "
          "analysis, tables)")
    label = "measured" if spec.n == full_spec.n else "extrapolated per run"
    print(f"our pipeline, full design ({label}): {est_full:.0f} s = {est_full / 60:.1f} min")

    workers = max(args.workers, 1)
    mesa_run = plain_mesa_model_seconds_per_run(months)
    mesa_full = full.n_runs * mesa_run / workers
    bass_run = plain_mesa_seconds_per_run(months)
    bass_full = full.n_runs * bass_run / workers
    print(f"plain Mesa agent loop of the same model (four products, subsidy, teams, fibre timing; 275 households, "
          f"{months} months): {mesa_run * 1e3:.1f} ms per run; full design on {workers} cores: {mesa_full:.0f} s = "
          f"{mesa_full / 60:.1f} min (estimate)")
    print(f"  lower bound, plain Mesa one-product Bass rule on the same network: {bass_run * 1e3:.1f} ms per run; "
          f"{bass_full:.0f} s = {bass_full / 60:.1f} min; our pipeline is {bass_full / est_full:.1f}x that")
    ratio = mesa_full / est_full
    print(f"\nspeed-up over the plain Mesa model: {ratio:.1f}x (target {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}); full design {est_full:.0f} s "
          f"(target {TARGET_S:.0f} s: {'met' if est_full <= TARGET_S else 'MISSED'})")

    print("\nwhere one run's time goes (cProfile of 30 runs in this process, ms per run, profiler overhead "
          "spread pro rata):")
    for k, v in profile_runs(cfg)[:10]:
        print(f"  {v * 1e3:7.2f}  {k}")
    noise = res.result.noise
    print("\nreplicate noise share (within-point variance / total):")
    print(noise.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\nindices at this N:")
    print(res.result.sobol.sort_values(["outcome", "ST"], ascending=[True, False])
          .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
