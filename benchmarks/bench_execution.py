"""Overhead of the experiment layer against calling the model directly, for 1,000 village runs.

Baseline: a plain loop in one process that builds ``AdoptionModel("thon_dong", months=60, agents=False)``
with Thôn Đông's two levers, runs it and takes ``timeseries()`` (what a script would do), 1,000 times.

Measured against it, on the same 1,000 runs (same seeds):

- the experiment layer in this process (``workers=0``): config check, plan, per-task tables, atomic
  Parquet parts, assembly of timeseries.parquet and summary.csv; the layer's own cost per run;
- the experiment layer on a local process pool of 2 workers (the default executor, "spawn"): wall time,
  and core-seconds (2 x wall) against the baseline's; the overhead per run includes starting the
  workers and imbalance at the end.

Usage: ``python benchmarks/bench_execution.py [--runs 1000] [--workers 2]``. On a machine shared with
other work, the pool's numbers are noisy; the in-process ratio is the layer's overhead proper.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

CONFIG = """
[experiment]
name = "bench_execution"
start = "2021-01"
months = {months}
replications = {runs}
seed = 20210101

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2022-03"

[levers.cultural_house]
kind = "public_access"
start = "2022-03"
"""


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished child processes, s."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def direct(runs: int, months: int) -> tuple[float, float]:
    """(wall s, CPU s) for ``runs`` model runs called directly in this process."""
    from diffusion import AdoptionModel, make_lever
    from diffusion.experiments.evaluation import seed_sequence

    t0, c0 = time.perf_counter(), cpu_seconds()
    for r in range(runs):
        levers = [make_lever("digital_teams", "team", start="2022-03"),
                  make_lever("public_access", "cultural_house", start="2022-03")]
        m = AdoptionModel("thon_dong", levers=levers, months=months, seed=seed_sequence(20210101, r, 0), agents=False)
        m.run()
        m.timeseries()
    return time.perf_counter() - t0, cpu_seconds() - c0


def layer(cfg_path: Path, out: Path, workers: int) -> tuple[float, float]:
    """(wall s, CPU s of this process and its workers) of ``run_experiment`` (config check to
    summary.csv; no report)."""
    from diffusion.analyses.experiment import run_experiment

    t0, c0 = time.perf_counter(), cpu_seconds()
    outcome = run_experiment(cfg_path, out=out, workers=workers, quiet=True, fresh=True)
    elapsed = time.perf_counter() - t0
    assert outcome.ok, outcome.failures
    return elapsed, cpu_seconds() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_execution_"))
    try:
        cfg = tmp / "bench.toml"
        cfg.write_text(CONFIG.format(runs=args.runs, months=args.months), encoding="utf-8")
        direct(5, args.months)  # warm the imports and caches
        t_direct, c_direct = direct(args.runs, args.months)
        t_inproc, c_inproc = layer(cfg, tmp / "inproc", 0)
        t_pool, c_pool = layer(cfg, tmp / "pool", args.workers)
        n = args.runs
        load = os.getloadavg()[0]
        print(f"{n} runs of Thôn Đông (275 households, {args.months} months); {os.cpu_count()} cores, load average "
              f"{load:.1f} at the end")
        print(f"  direct model calls, 1 process    : wall {t_direct:6.2f} s, CPU {c_direct:6.2f} s "
              f"= {1000 * c_direct / n:6.2f} ms per run")
        print(f"  experiment layer, in process     : wall {t_inproc:6.2f} s, CPU {c_inproc:6.2f} s; overhead "
              f"{1000 * (c_inproc - c_direct) / n:+6.2f} ms CPU per run, ratio {c_inproc / c_direct:.3f}")
        print(f"  experiment layer, {args.workers} workers      : wall {t_pool:6.2f} s (speed-up "
              f"{t_direct / t_pool:.2f}x), CPU {c_pool:6.2f} s incl. workers; overhead "
              f"{1000 * (c_pool - c_direct) / n:+6.2f} ms CPU per run, ratio {c_pool / c_direct:.3f}; "
              f"wall x workers / direct = {args.workers * t_pool / t_direct:.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
