"""Policy evaluations per second of the shipped commune optimisation (experiments/optimise_commune.toml) against
the same evaluations as single runs, measured in the same run.

What is timed:

* **our pipeline**: ``run_optimisation`` on the shipped config with ``--generations`` generations (default 5 of
  the shipped 84; population 60, 10 replicates, robustness off) on ``--workers`` local processes (default 2):
  every generation's candidates are evaluated together, their runs stacked in batches of the evaluation
  service (``model.engine.run_batch``). Candidate evaluations per second, model runs per second, and the
  shipped search's time extrapolated from the seconds per generation (``fixed + 84 x per generation``).
  ``--generations 84`` runs the whole search.
* **single runs**: the same kind of evaluations, each of a candidate's runs simulated alone (a batch of one run,
  as a plain loop over ``AdoptionModel`` runs would do), in this process on one core, for ``--single``
  candidates (default 6) x 10 replicates; evaluations per second per core, times the workers, is the baseline.

Usage:
    python benchmarks/bench_optimise.py                    # 5 generations, 2 workers
    python benchmarks/bench_optimise.py --generations 84   # the whole shipped search
    python benchmarks/bench_optimise.py --generations 1 --single 2 --workers 1   # smoke run
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "optimise_commune.toml"
TARGET_S = 600.0


def _config(generations: int):
    from diffusion.experiments.config import load_config_data

    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    shipped = int(data["optimisation"]["generations"])
    data["optimisation"]["generations"] = int(generations)
    data["optimisation"].pop("robustness", None)
    data["optimisation"].pop("discovery", None)
    return load_config_data(data, source=str(CONFIG), base_dir=CONFIG.parent), shipped


def pipeline(generations: int, workers: int) -> dict:
    from diffusion.analyses.decision import run_optimisation

    cfg, shipped = _config(generations)
    out = Path(tempfile.mkdtemp(prefix="bench_optimise_"))
    try:
        t0 = time.perf_counter()
        res = run_optimisation(cfg, out, workers=workers, fresh=True, quiet=True)
        total = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    evals = res.search.evaluations
    pop, reps = res.spec.population, res.spec.replicates
    runs = len(res.search.history.drop_duplicates(subset=[v.name for v in res.spec.variables])) * reps
    return {"seconds": total, "evaluations": evals, "runs": runs, "generations": generations, "shipped": shipped,
            "population": pop, "replicates": reps, "per_generation": total / generations}


def single_runs(candidates: int) -> dict:
    """Each run of ``candidates`` random candidates simulated alone (a batch of one run)."""
    import numpy as np

    from diffusion.analyses.decision.evaluate import decision_policy, probes
    from diffusion.analyses.decision.spec import validate_optimisation
    from diffusion.experiments.evaluation import Recording, RunSpec, Setup, evaluate

    cfg, _ = _config(1)
    spec = validate_optimisation(cfg)
    setup = Setup(cfg.run_place, float(cfg.population.scale), cfg.experiment.start, int(cfg.experiment.months),
                  spec.seed)
    rec = Recording(series=False, hamlets=False, probes=probes([*spec.objectives, *spec.constraints]))
    rng = np.random.default_rng(1)
    evaluate(setup, [RunSpec("warm", 0, 0, {}, tuple(spec.base.levers), seed_key=(0, 0))], rec)  # imports, caches
    t0 = time.perf_counter()
    n = 0
    for c in range(candidates):
        d = {v.name: (v.labels[rng.integers(len(v.labels))] if v.type == "choice" else
                      int(rng.integers(int(v.lower), int(v.upper) + 1)) if v.type == "int" else
                      float(rng.uniform(v.lower, v.upper))) for v in spec.variables}
        p = decision_policy(spec, f"c{c}", d)
        for r in range(spec.replicates):
            evaluate(setup, [RunSpec(f"c{c}", r, 0, p.params, p.levers, seed_key=(r, 0))], rec)
            n += 1
    total = time.perf_counter() - t0
    return {"seconds": total, "runs": n, "evaluations": candidates, "replicates": spec.replicates}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--single", type=int, default=6, help="candidates evaluated as single runs (baseline)")
    args = ap.parse_args(argv)
    ours = pipeline(args.generations, args.workers)
    base = single_runs(args.single)
    our_rate = ours["evaluations"] / ours["seconds"]
    base_rate = base["evaluations"] / base["seconds"] * args.workers
    shipped_evals = ours["population"] * ours["shipped"]
    est = ours["per_generation"] * ours["shipped"]
    print(f"shipped commune optimisation: population {ours['population']} x {ours['shipped']} generations = "
          f"{shipped_evals:,} candidate evaluations x {ours['replicates']} replicates")
    print(f"our pipeline ({args.workers} workers, {ours['generations']} generations): {ours['evaluations']:,} "
          f"evaluations ({ours['runs']:,} model runs) in {ours['seconds']:.1f} s = {our_rate:.2f} policy evaluations "
          f"per second ({ours['runs'] / ours['seconds']:.1f} runs/s)")
    print(f"single runs (one core, x{args.workers} workers assumed): {base['evaluations']} evaluations "
          f"({base['runs']} runs) in {base['seconds']:.1f} s = {base_rate:.2f} policy evaluations per second")
    print(f"speed-up of batched evaluation over single runs: {our_rate / base_rate:.1f}x")
    print(f"shipped search estimated at {est:.0f} s ({est / 60:.1f} min; target {TARGET_S / 60:.0f} min: "
          f"{'met' if est <= TARGET_S else 'MISSED'}); as single runs: "
          f"{shipped_evals / base_rate:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
