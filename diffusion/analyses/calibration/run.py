"""Running (or resuming) an ABC-SMC calibration with pyABC and writing its outputs to ``<results>/calibration/``
through the results store (charts are drawn from them by the presentation layer).

Proposals are drawn in this process in rounds and simulated in batches (``sampler.BatchSampler``); each
simulation is seeded by its parameter values, so a calibration gives the same posterior with any number of
workers.
pyABC's history database ``calibration.db`` lives in the folder; a rerun with the same calibration
(settings other than generations/min_epsilon/draws unchanged) loads it and continues to the requested
number of generations. ``fresh=True`` starts over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion.analyses.calibration.sampler import batch_sampler
from diffusion.analyses.calibration.simulate import CALIBRATION_STREAM, BinomialDistance, Simulator, observed_stats
from diffusion.analyses.calibration.spec import CalibrationSpec, validate_calibration
from diffusion.experiments.config import ExperimentConfig, load_config
from diffusion.experiments.executors import Executors, executors_for
from diffusion.experiments.store import Analysis, ResultStore
from diffusion.foundation.progress import progress_bar
from diffusion.foundation.stats import weighted_quantiles

log = logging.getLogger(__name__)


def calibrate(
    cfg: ExperimentConfig | str | Path,
    out_dir: str | Path | None = None,
    executor: Executor | Callable[[], Executor] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    quiet: bool = False,
    *,
    stop_after: int | None = None,
) -> Path:
    """Run (or resume) the ABC-SMC calibration of ``cfg`` and write its outputs.

    Args:
        cfg: a loaded config or a path.
        out_dir: results folder (default ``results/<experiment name>``); the calibration goes to its
            ``calibration/``.
        executor: an Executor or a factory of executors (overrides workers/scheduler).
        workers: local worker processes (default: all cores); 0 simulates in this process (same results).
        scheduler: a Dask scheduler address ("tcp://...").
        fresh: discard an earlier calibration in the folder.
        quiet: only warnings.
        stop_after: run at most this many generations in this call (tests use it to interrupt).

    Returns:
        The calibration's folder (``<out_dir>/calibration``).
    """
    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg, build=False)
    spec = validate_calibration(cfg)
    _quiet_pyabc(quiet)
    out = Path(out_dir) if out_dir is not None else Path("results") / cfg.name
    analysis = ResultStore(out).analysis("calibration", spec.identity(), fresh=fresh, source=spec.file, info={
        "experiment": cfg.name, "config_file": spec.file, "config_sha256": cfg.sha256, "seed": spec.seed,
        "calibration": spec.raw, "language": cfg.outputs.language,
        "priors": {p.key: list(p.bounds()) for p in spec.priors}})
    started = time.time()
    ex = executors_for(workers, scheduler, executor)
    pool = None if ex.info.get("kind") == "in_process" else ex.factory()
    try:
        abc, sim = _make_abc(spec, pool, ex.workers, quiet)
        db = analysis.dir / "calibration.db"
        history = _run_generations(spec, abc, analysis, db, stop_after)
        if history is not None:
            _write_outputs(spec, analysis, history, sim, pool, ex, started)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        ex.close()
    return analysis.dir


def _run_generations(spec: CalibrationSpec, abc, analysis: Analysis, db: Path, stop_after: int | None):
    """Start or resume pyABC's history and run the generations still due; the history when the calibration
    is finished, None when ``stop_after`` interrupted it."""
    url = f"sqlite:///{db.resolve()}"
    if "run_id" not in analysis.section or not db.exists():
        db.unlink(missing_ok=True)
        _seed_global(spec.seed, 0)
        abc.new(url, observed_stats(spec))
        analysis.store.record(db, "calibration", digest=False)
        analysis.update(run_id=int(abc.history.id), wall_seconds=0.0)
    else:
        abc.load(url, analysis.section["run_id"])
    done0 = int(abc.history.max_t) + 1
    remaining = spec.generations - done0
    last_eps = _last_epsilon(abc.history)
    if remaining > 0 and not (last_eps is not None and last_eps <= spec.min_epsilon):
        n = remaining if stop_after is None else min(remaining, stop_after)
        if done0:
            log.info("resuming %s after generation %d", db, done0 - 1)
        _seed_global(spec.seed, done0)
        t0 = time.time()
        abc.run(minimum_epsilon=spec.min_epsilon, max_nr_populations=n)
        analysis.update(wall_seconds=float(analysis.section.get("wall_seconds", 0.0)) + (time.time() - t0))
    history = abc.history
    finished = int(history.max_t) + 1 >= spec.generations or (
        (_last_epsilon(history) or np.inf) <= spec.min_epsilon)
    return history if finished or stop_after is None else None


def _make_abc(spec: CalibrationSpec, pool, workers: int, quiet: bool):
    import pyabc  # (imported here: pyABC takes about a second to import, and only the calibration needs it)

    prior = pyabc.Distribution(**{p.safe: p.rv() for p in spec.priors})
    sim = Simulator(spec.priors, spec.setups, spec.targets, spec.seed)
    dist = BinomialDistance(spec.targets, spec.noise_floor)
    bar = {}

    def progress(t: int, accepted: int, needed: int, simulations: int) -> None:
        if t not in bar:
            for old in bar.values():
                old.close()
            bar.clear()
            bar[t] = progress_bar(needed, 0, "particle", f"{spec.name} generation {t}", quiet)
        b = bar[t]
        b.update(accepted - b.n)
        b.set_postfix(simulations=simulations)
        log.info("generation %d: %d of %d particles accepted after %d simulations", t, accepted, needed, simulations)

    sampler = batch_sampler(sim, spec.seed, pool, workers if pool is not None else 1, spec.batch_size, progress)
    abc = pyabc.ABCSMC(sim, prior, dist, population_size=spec.population_size, sampler=sampler)
    return abc, sim


def _quiet_pyabc(quiet: bool) -> None:
    for name in ("ABC", "pyabc", "Sampler", "Epsilon", "History", "Distance", "Acceptor", "Transition",
                 "Population", "Redis", "ABC.History", "ABC.Sampler", "ABC.Epsilon", "ABC.Distance",
                 "ABC.Predictor", "ABC.Transition", "ABC.Acceptor", "ABC.Population", "ABC.Model"):
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.INFO)


def _seed_global(seed: int, generation: int) -> None:
    """Seed numpy's global generator, which pyABC proposes with, from the root seed and the generation."""
    ss = np.random.SeedSequence(seed, spawn_key=(CALIBRATION_STREAM, 0xABC, generation))
    np.random.seed(ss.generate_state(1, np.uint32)[0])


def _last_epsilon(history) -> float | None:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return float(pops["epsilon"].iloc[-1]) if len(pops) else None


# ======================================================================== outputs
def generation_table(history) -> pd.DataFrame:
    """Generation, epsilon, particles, simulations, acceptance rate and effective sample size."""
    from pyabc.weighted_statistics import effective_sample_size  # (see calibrate)

    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    for _, r in pops.iterrows():
        _, w = history.get_distribution(m=0, t=int(r["t"]))
        rows.append({"generation": int(r["t"]), "epsilon": float(r["epsilon"]), "particles": int(r["particles"]),
                     "simulations": int(r["samples"]),
                     "acceptance_rate": float(r["particles"]) / max(1.0, float(r["samples"])),
                     "ess": float(effective_sample_size(np.asarray(w))),
                     "wall_seconds": float(r["wall_time"]) if "wall_time" in r else float("nan"),
                     "end_time": str(r["population_end_time"])})
    return pd.DataFrame(rows)


def posterior_tables(spec: CalibrationSpec, history) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The weighted posterior (columns: parameter keys, weight), equally weighted draws, and the summary:
    median, 90% credible interval and mean of each parameter against its prior."""
    df, w = history.get_distribution(m=0)
    names = [p.key for p in spec.priors]  # the canonical keys ("smartphone.q"), as empirical draws expect
    post = pd.DataFrame({p.key: [p.to_model(x) for x in df[p.safe].to_numpy(dtype=float)] for p in spec.priors})
    post["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    ss = np.random.SeedSequence(spec.seed, spawn_key=(CALIBRATION_STREAM, 0xD7A))
    idx = np.random.default_rng(ss).choice(len(post), size=spec.posterior_draws, replace=True,
                                           p=post["weight"].to_numpy())
    draws = post.iloc[idx][names].reset_index(drop=True)
    rows = []
    for p in spec.priors:
        q5, q50, q95 = weighted_quantiles(post[p.key], post["weight"], [0.05, 0.5, 0.95])
        lo, hi = p.bounds()
        rows.append({"parameter": p.key, "prior": p.dist, "prior_lower": lo, "prior_upper": hi,
                     "median": q50, "ci90_lower": q5, "ci90_upper": q95,
                     "mean": float(np.sum(post[p.key] * post["weight"])),
                     "ci90_share_of_prior": (q95 - q5) / (hi - lo) if hi > lo else float("nan")})
    return post, draws, pd.DataFrame(rows)


def _predictive(sim: Simulator, draws: pd.DataFrame, k: int, pool, workers: int) -> pd.DataFrame:
    """The posterior predictive of the first ``k`` draws, in chunks spread over the executor."""
    keyed = [{c: float(v) for c, v in draws.iloc[i].items()} for i in range(k)]
    if pool is None:
        return sim.predictive(keyed)
    size = max(1, -(-k // max(1, workers)))
    futs = [pool.submit(sim.predictive, keyed[i:i + size], i) for i in range(0, k, size)]
    return pd.concat([f.result() for f in futs], ignore_index=True)


def _place_key(place) -> str:
    """A setup's place as the results name it: its key (a config's [places.<key>] table gives a Place)."""
    return getattr(place, "key", place)


def target_fit(spec: CalibrationSpec, pred: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The observations as a table, and each target against its posterior predictive distribution."""
    obs = pd.DataFrame([{"target": t.key, "setup": t.setup, "place": _place_key(spec.setups[t.setup].place),
                         "metric": t.indicator, "date": t.date, "op": t.op, "value": t.value,
                         "n": t.households if t.households else np.nan, "role": t.role, "source": t.source,
                         "note": t.note} for t in spec.targets])
    dist = BinomialDistance(spec.targets, spec.noise_floor)
    rows = []
    for t in spec.targets:
        v = pred[(pred["setup"] == t.setup) & (pred["metric"] == t.indicator) & (pred["date"] == t.date)]["value"]
        q5, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
        zs = np.array([dist.z(t, x) for x in v])
        rows.append({"target": t.key, "setup": t.setup, "indicator": t.indicator, "date": t.date,
                     "observed": f"{t.op}{t.value:.4g}" if t.op != "=" else f"{t.value:.4g}", "role": t.role,
                     "noise_sd": dist.scale(t), "predictive_median": q50, "predictive_q05": q5,
                     "predictive_q95": q95, "share_within_1sd_or_bound": float(np.mean(zs <= 1.0))})
    return obs, pd.DataFrame(rows)


def _write_outputs(spec: CalibrationSpec, analysis: Analysis, history, sim: Simulator, pool, ex: Executors,
                   started: float) -> None:
    post, draws, summary = posterior_tables(spec, history)
    analysis.write_table("posterior", post)
    analysis.write_table("posterior_draws", draws)
    analysis.write_table("posterior_summary", summary, parquet=False, csv=True, float_format="%.6g")
    gens = generation_table(history)
    analysis.write_table("generations", gens, parquet=False, csv=True, float_format="%.6g")
    pred = _predictive(sim, draws, min(spec.predictive_draws, spec.posterior_draws), pool, ex.workers)
    analysis.write_table("predictive", pred)
    obs, fit = target_fit(spec, pred)
    analysis.write_table("observed", obs, parquet=False, csv=True)
    analysis.write_table("targets_fit", fit, parquet=False, csv=True, float_format="%.4g")
    rel = (analysis.dir / "posterior_draws.parquet").resolve()
    fragment = ["# Posterior draws of the calibration; paste into an experiment config (paths relative to it).",
                f"# Written by `diffusion calibrate {spec.file}`; {spec.posterior_draws} equally weighted draws.", ""]
    for c in (p.key for p in spec.priors):
        fragment += [f'[uncertainties."{c}"]', 'dist = "empirical"', f'from = "{rel}"', ""]
    analysis.write_text("posterior_uncertainties.toml", "\n".join(fragment))
    total = int(history.total_nr_simulations)  # includes pyABC's calibration sample of the prior
    wall = analysis.section.get("wall_seconds")
    analysis.finish("done", workers=ex.workers if pool is not None else 0, generations_done=int(len(gens)),
                    generations_requested=spec.generations, min_epsilon=spec.min_epsilon,
                    final_epsilon=float(gens["epsilon"].iloc[-1]) if len(gens) else None,
                    population_size=spec.population_size, simulations=total, calibration_wall_seconds=wall,
                    simulations_per_second=total / wall if wall else None, this_call_seconds=time.time() - started)
