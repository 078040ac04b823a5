"""Sampling and analysis with SALib, shared by model studies and plain functions: the design on the unit cube,
Sobol or Morris indices with bootstrap intervals, their convergence and the replicate noise of outcomes."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from diffusion.analyses.sensitivity.spec import Factor, SensitivitySpec, sampler_seed, size_warnings

log = logging.getLogger(__name__)


def sample_unit(problem: dict[str, Any], method: str, n: int, seed: int, *, second_order: bool = False,
                levels: int = 4) -> np.ndarray:
    """The SALib design on the unit cube: rows in SALib's order (blocks of ``step`` rows per base sample)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # our own warnings about n are clearer
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(problem, int(n), calc_second_order=second_order, scramble=True,
                                seed=sampler_seed(seed))
        from SALib.sample import morris

        return morris.sample(problem, int(n), num_levels=levels, seed=sampler_seed(seed))


def analyse(problem: dict[str, Any], method: str, X: np.ndarray, Y: np.ndarray, *, second_order: bool = False,
            levels: int = 4, bootstrap: int = 1000, conf_level: float = 0.95, seed: int = 0,
            outcome: str = "y") -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """SALib analysis of one outcome.

    Returns:
        The wide table (Sobol: outcome, factor, S1, S1_conf, ST, ST_conf; Morris: outcome, factor, mu,
        mu_star, mu_star_conf, sigma) and, for Sobol with ``second_order``, a table of S2 (outcome,
        factor, factor_2, S2, S2_conf); ``*_conf`` are half-widths at ``conf_level`` (bootstrap).
    """
    Y = np.asarray(Y, dtype=float)
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"outcome {outcome!r} has {int(np.sum(~np.isfinite(Y)))} non-finite values")
    names = list(dict.fromkeys(problem["groups"])) if problem.get("groups") else list(problem["names"])
    bs = sampler_seed(seed) + 1
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.analyze import sobol

            r = sobol.analyze(problem, Y, calc_second_order=second_order, num_resamples=bootstrap,
                              conf_level=conf_level, seed=bs)
            wide = pd.DataFrame({"outcome": outcome, "factor": names, "S1": r["S1"], "S1_conf": r["S1_conf"],
                                 "ST": r["ST"], "ST_conf": r["ST_conf"]})
            s2 = None
            if second_order:
                rows = [(outcome, names[i], names[j], r["S2"][i, j], r["S2_conf"][i, j])
                        for i in range(len(names)) for j in range(i + 1, len(names))]
                s2 = pd.DataFrame(rows, columns=["outcome", "factor", "factor_2", "S2", "S2_conf"])
            return wide, s2
        from SALib.analyze import morris

        r = morris.analyze(problem, np.asarray(X, dtype=float), Y, num_resamples=bootstrap, conf_level=conf_level,
                           num_levels=levels, seed=bs)
        return pd.DataFrame({"outcome": outcome, "factor": names, "mu": r["mu"], "mu_star": r["mu_star"],
                             "mu_star_conf": r["mu_star_conf"], "sigma": r["sigma"]}), None


def tidy(wide: pd.DataFrame, n_base: int) -> pd.DataFrame:
    """Wide indices -> long: outcome, factor, index (S1, ST, mu_star, sigma, ...), value, conf, lower, upper, n."""
    idx = [c for c in ("S1", "ST", "mu", "mu_star", "sigma") if c in wide.columns]
    rows = []
    for rec in wide.to_dict("records"):
        for k in idx:
            conf = rec.get(f"{k}_conf", np.nan)
            rows.append({"outcome": rec["outcome"], "factor": rec["factor"], "index": k, "value": rec[k],
                         "conf": conf, "lower": rec[k] - conf, "upper": rec[k] + conf, "n": n_base})
    return pd.DataFrame(rows)


def convergence(problem: dict[str, Any], method: str, X: np.ndarray, Y: np.ndarray, n: int, step: int,
                full: pd.DataFrame | None = None, **kw: Any) -> pd.DataFrame:
    """Indices from the first half of the base samples (or trajectories) and from all, long format.
    ``full``: the wide indices from all of them, when already computed with the same settings."""
    out = []
    half = n // 2
    for n_used, r in ((half, half * step), (n, len(Y))):
        if n_used < 2:
            continue
        if r == len(Y) and full is not None:
            wide = full
        else:
            wide, _ = analyse(problem, method, X[:r], Y[:r], **kw)
        out.append(tidy(wide, n_used))
    return pd.concat(out, ignore_index=True)


@dataclass
class SensitivityResult:
    """What an analysis found.

    Attributes:
        indices: tidy table: outcome, factor, index, value, conf, lower, upper, n.
        sobol / morris: the wide tables the chart functions take (None for the other method).
        s2: second-order indices (Sobol with second_order).
        convergence: tidy indices at n/2 and n base samples.
        noise: outcome, replicates, noise_share_run (within-point variance over total, single runs),
            noise_share_mean (the same for the replicate means that were analysed).
        design: the design (unit coordinates ``u:<factor>`` and factor values) with the outcomes.
        warnings: about N and replicates.
    """

    method: str
    indices: pd.DataFrame
    sobol: pd.DataFrame | None
    morris: pd.DataFrame | None
    s2: pd.DataFrame | None
    convergence: pd.DataFrame
    noise: pd.DataFrame
    design: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def analyse_all(spec: SensitivitySpec, X: np.ndarray, Y: dict[str, np.ndarray], design: pd.DataFrame,
                 noise: pd.DataFrame) -> SensitivityResult:
    problem = spec.problem
    kw = {"second_order": spec.second_order, "levels": spec.levels, "bootstrap": spec.bootstrap,
              "conf_level": spec.conf_level, "seed": spec.seed}
    wides, s2s, convs = [], [], []
    warns = list(spec.warnings)
    for name, y in Y.items():
        if np.all(np.isfinite(y)) and np.ptp(y) == 0:
            warns.append(f"outcome {name!r} is the same ({y[0]:g}) at every design point: its indices are undefined")
            names = spec.index_names
            nan = np.full(len(names), np.nan)
            cols = (["S1", "S1_conf", "ST", "ST_conf"] if spec.method == "sobol"
                    else ["mu", "mu_star", "mu_star_conf", "sigma"])
            wides.append(pd.DataFrame({"outcome": name, "factor": names, **{c: nan for c in cols}}))
            convs.append(tidy(wides[-1], spec.n))
            continue
        wide, s2 = analyse(problem, spec.method, X, y, outcome=name, **kw)
        wides.append(wide)
        if s2 is not None:
            s2s.append(s2)
        kw1 = {**kw, "second_order": False if spec.method == "morris" else spec.second_order}
        conv = convergence(problem, spec.method, X, y, spec.n, spec.step, full=wide if kw1 == kw else None,
                           outcome=name, **kw1)
        conv["outcome"] = name
        convs.append(conv)
    wide = pd.concat(wides, ignore_index=True)
    indices = tidy(wide, spec.n)
    for w in warns:
        log.warning("%s", w)
    return SensitivityResult(
        spec.method, indices,
        wide if spec.method == "sobol" else None,
        wide if spec.method == "morris" else None,
        pd.concat(s2s, ignore_index=True) if s2s else None,
        pd.concat(convs, ignore_index=True), noise, design, warns)


def _factors_from_problem(problem: dict[str, Any]) -> list[Factor]:
    groups = problem.get("groups") or problem["names"]
    dists = problem.get("dists") or ["unif"] * len(problem["names"])
    out = []
    for name, (lo, hi), g, d in zip(problem["names"], problem["bounds"], groups, dists):
        if d != "unif":
            raise ValueError(f"factor {name}: only uniform ('unif') bounds are supported here")
        out.append(Factor(name=name, target=("function", name), dist="uniform", lower=float(lo), upper=float(hi),
                          group=g))
    return out


def design_table(spec: SensitivitySpec, X: np.ndarray) -> tuple[pd.DataFrame, list[list[Any]]]:
    """Design rows: row, base_sample, u:<factor> and each factor's value (levels as JSON text)."""
    step = spec.step
    design = pd.DataFrame({"row": np.arange(len(X), dtype=np.int64),
                           "base_sample": np.arange(len(X), dtype=np.int64) // step})
    values = []
    for j, f in enumerate(spec.factors):
        design[f"u:{f.name}"] = X[:, j]
        v = f.unit(X[:, j])
        values.append(v)
        design[f.name] = [json.dumps(x, ensure_ascii=False) for x in v] if f.dist == "choice" else v
    return design, values


def analyse_function(problem: dict[str, Any] | SensitivitySpec, func: Callable[[np.ndarray], np.ndarray], n: int,
                     seed: int = 0, *, method: str = "sobol", second_order: bool = False, levels: int = 4,
                     bootstrap: int = 1000, conf_level: float = 0.95, replicates: int = 1) -> SensitivityResult:
    """The sensitivity pipeline with a plain function in place of the model (tests, teaching).

    Args:
        problem: a SALib problem with uniform bounds (``names``, ``bounds``, optional ``groups``), or a
            SensitivitySpec (its factors' distributions are used).
        func: maps an array (rows, factors) of factor values to outcomes (rows,); with ``replicates`` > 1
            it is called as ``func(X, replicate)`` once per replicate and the replicates averaged.
        n: Sobol base samples or Morris trajectories.
    """
    if isinstance(problem, SensitivitySpec):
        spec = problem
    else:
        spec = SensitivitySpec(method, int(n), second_order, levels, replicates, int(seed),
                               _factors_from_problem(problem), [], bootstrap=bootstrap, conf_level=conf_level)
        spec.warnings = size_warnings(method, int(n), None)
    X = sample_unit(spec.problem, spec.method, spec.n, spec.seed, second_order=spec.second_order,
                    levels=spec.levels)
    design, values = design_table(spec, X)
    V = np.column_stack([np.asarray(v, dtype=float) for v in values])
    if spec.replicates > 1:
        runs = np.column_stack([np.asarray(func(V, r), dtype=float) for r in range(spec.replicates)])
    else:
        runs = np.asarray(func(V), dtype=float)[:, None]
    Y = runs.mean(axis=1)
    design["y"] = Y
    noise = pd.DataFrame([noise_row("y", runs)])
    return analyse_all(spec, X, {"y": Y}, design, noise)


def noise_row(name: str, runs: np.ndarray) -> dict[str, Any]:
    """Replicate noise of an outcome: runs (design rows, replicates)."""
    runs = np.asarray(runs, dtype=float)
    R = runs.shape[1]
    if R < 2:
        return {"outcome": name, "replicates": R, "noise_share_run": np.nan, "noise_share_mean": np.nan}
    within = float(np.nanmean(np.nanvar(runs, axis=1, ddof=1)))
    total = float(np.nanvar(runs, ddof=1))
    means = float(np.nanvar(np.nanmean(runs, axis=1), ddof=1))
    return {"outcome": name, "replicates": R,
            "noise_share_run": within / total if total > 0 else np.nan,
            "noise_share_mean": min(1.0, within / R / means) if means > 0 else np.nan}
