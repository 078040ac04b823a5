"""Speed of the calibration: simulations per second during ABC-SMC against the same simulations one at a time,
and the wall time of the shipped history calibration (experiments/calibrate_history.toml) on N workers.

1. One at a time (the plain baseline): the calibration's simulation of one parameter vector (Vietnam, Thôn
   Đông, Đầm Buôn and Quảng Ninh from 2008, every fitted target) for ``--draws`` vectors drawn from the priors,
   one after the other in this process: simulations per second on one core.
2. Calibration: ``diffusion.analyses.calibration.calibrate`` on a local process pool of ``--workers`` (fresh), wall
   time of the whole command (ABC-SMC, posterior predictive, tables and charts) and simulations per second
   during ABC-SMC (pyABC's count of simulations, including its calibration sample, over the ABC-SMC time),
   per worker against one at a time: the gain of simulating each round's proposals stacked in batches.

Usage: ``python benchmarks/bench_calibration.py [--workers 2] [--draws 40] [--out DIR] [--population-size N]
[--generations G]`` (the last two shrink the calibration for a quick run; the default is the shipped one).
On a machine shared with other work the pool's numbers are noisy.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "calibrate_history.toml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--draws", type=int, default=40, help="prior draws for the model-alone loop")
    ap.add_argument("--out", help="calibration output folder (default: a temporary folder, removed)")
    ap.add_argument("--population-size", type=int, help="override [calibration] population_size")
    ap.add_argument("--generations", type=int, help="override [calibration] generations")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args()
    logging.getLogger("mesa").setLevel(logging.WARNING)

    from diffusion.analyses.calibration import Simulator, calibrate, validate_calibration
    from diffusion.experiments.config import load_config_data

    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    if args.population_size:
        data["calibration"]["population_size"] = args.population_size
    if args.generations:
        data["calibration"]["generations"] = args.generations
    cfg = load_config_data(data, source=str(CONFIG), base_dir=CONFIG.parent, build=False)
    spec = validate_calibration(cfg)

    # 1. the model alone
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(0xBE,)))
    sim = Simulator(spec.priors, spec.setups, spec.targets, spec.seed)
    thetas = []
    for _ in range(args.draws):
        th = {}
        for p in spec.priors:
            lo, hi = p.bounds()
            th[p.safe] = float(rng.uniform(np.log(lo), np.log(hi))) if p.dist == "loguniform" else float(
                rng.uniform(lo, hi))
        thetas.append(th)
    sim.batch(thetas[:1])  # warm-up (imports, caches)
    t0 = time.perf_counter()
    for th in thetas:
        sim.batch([th])
    alone = args.draws / (time.perf_counter() - t0)

    # 2. the calibration
    tmp = None
    out = Path(args.out) if args.out else Path(tmp := tempfile.mkdtemp(prefix="bench_cal_"))
    try:
        t0 = time.perf_counter()
        calibrate(cfg, out, workers=args.workers, fresh=True, quiet=True)
        wall = time.perf_counter() - t0
        m = json.loads((out / "manifest.json").read_text())["analyses"]["calibration"]
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    during = m["simulations"] / m["calibration_wall_seconds"]
    res = {
        "workers": args.workers, "population_size": spec.population_size, "generations_done": m["generations_done"],
        "final_epsilon": m["final_epsilon"], "simulations": m["simulations"],
        "model_alone_sims_per_s_one_core": alone,
        "calibration_sims_per_s": during, "calibration_sims_per_s_per_worker": during / args.workers,
        "efficiency_per_worker_vs_alone": during / args.workers / alone,
        "abc_smc_seconds": m["calibration_wall_seconds"], "total_wall_seconds": wall,
    }
    print(f"One at a time (1 core): {alone:.2f} simulations/s ({1000 / alone:.0f} ms per simulation of "
          f"{len({t.setup for t in spec.fit_targets})} setups)")
    print(f"Calibration on {args.workers} workers: {during:.2f} simulations/s "
          f"({during / args.workers:.2f} per worker = {res['efficiency_per_worker_vs_alone']:.2f}x one at a time)")
    print(f"Shipped calibration: {m['simulations']} simulations, {m['generations_done']} generations "
          f"(final epsilon {m['final_epsilon']:.3g}); ABC-SMC {m['calibration_wall_seconds']:.0f} s; "
          f"total wall time {wall:.0f} s ({wall / 60:.1f} min) on {args.workers} workers")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
