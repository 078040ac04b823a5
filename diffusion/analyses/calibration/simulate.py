"""What ABC-SMC compares: simulated target shares for a parameter vector (``Simulator``, through the
evaluation service) and the distance between them and the observations (``BinomialDistance``).

Distance: each target i contributes z_i = |sim - obs| / s_i with s_i = sqrt(obs (1 - obs) / n_i + floor^2)
(n_i the *observed* households: for a provincial share that is the province's households, so the noise floor
dominates; the simulated province may be smaller, scale only sets the model's own noise). A bound contributes
zero inside it and the shortfall over s_i outside. The distance is the root mean square of the z_i over the
"fit" targets, so epsilon = 1 means "on average within one noise unit".

Randomness: each simulation's seed is ``SeedSequence(seed, spawn_key=(CALIBRATION_STREAM, setup, h(theta)))``
with h a hash of the parameter values, so one parameter vector always gives the same simulation.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion.analyses.calibration.spec import CalibrationSpec, PriorSpec, SetupSpec, TargetSpec
from diffusion.experiments.evaluation import Probe, Recording, RunSpec, evaluate
from diffusion.foundation.errors import ParameterError

#: First spawn-key word of every calibration simulation's seed (distinct from the experiment's keys).
CALIBRATION_STREAM = 0xCA1B
#: Second spawn-key word of the posterior-predictive runs.
PREDICTIVE_STREAM = 0x9D


def theta_word(theta: dict[str, float]) -> int:
    """A 32-bit hash of a parameter vector (the last word of its simulations' seeds)."""
    blob = json.dumps({k: float(v) for k, v in sorted(theta.items())}).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=4).digest(), "little")


@dataclass
class Simulator:
    """Picklable pyABC model: parameters (pyABC names) -> {target key: simulated share}."""

    priors: list[PriorSpec]
    setups: dict[str, SetupSpec]
    targets: list[TargetSpec]
    seed: int

    def overrides(self, theta: dict[str, float]) -> dict[str, float]:
        return {p.key: float(theta[p.safe]) for p in self.priors}

    def _run(self, si: int, setup: SetupSpec, over: dict[str, float], key: tuple[int, ...]) -> RunSpec:
        return RunSpec(setup.name, 0, 0, {**setup.params, **over}, setup.levers,
                       seed_key=(CALIBRATION_STREAM, si, *key))

    def __call__(self, theta) -> dict[str, float]:
        theta = {k: float(v) for k, v in dict(theta).items()}
        over = self.overrides(theta)
        word = theta_word(theta)
        out: dict[str, float] = {}
        for si, (sname, setup) in enumerate(self.setups.items()):
            ts = sorted((t for t in self.targets if t.setup == sname), key=lambda t: t.month)
            if not ts:
                continue
            probes = tuple(Probe(t.key, t.indicator, "at", t.month) for t in ts)
            try:
                row = evaluate(setup.setup(self.seed, months=ts[-1].month), [self._run(si, setup, over, (word,))],
                               Recording(series=False, hamlets=False, probes=probes)).table.iloc[0]
            except ParameterError:
                return {t.key: float("nan") for t in self.targets}
            out.update({t.key: float(row[t.key]) for t in ts})
        return out

    def predictive(self, draws: list[dict[str, float]], first: int = 0) -> pd.DataFrame:
        """Monthly shares of every target's indicator for posterior draws ``first``, ``first + 1``, ... (one
        batch per setup), long: setup, date, metric, value, draw."""
        frames = []
        for si, (sname, setup) in enumerate(self.setups.items()):
            inds = sorted({t.indicator for t in self.targets if t.setup == sname})
            if not inds:
                continue
            runs = [self._run(si, setup, over, (PREDICTIVE_STREAM, first + i)) for i, over in enumerate(draws)]
            table = evaluate(setup.setup(self.seed), runs, Recording(hamlets=False)).table
            for i in range(len(draws)):
                ts = table.iloc[i * (setup.months + 1):(i + 1) * (setup.months + 1)]
                long = ts.melt(id_vars=["date"], value_vars=inds, var_name="metric", value_name="value")
                long.insert(0, "setup", sname)
                long["draw"] = first + i
                frames.append(long)
        order = sorted(range(len(frames)), key=lambda j: (frames[j]["draw"].iloc[0], j))
        return pd.concat([frames[j] for j in order], ignore_index=True)


@dataclass
class BinomialDistance:
    """Root mean square of per-target z-scores; bounds are zero inside. See the module docstring."""

    targets: list[TargetSpec]
    noise_floor: float

    def scale(self, t: TargetSpec) -> float:
        var = self.noise_floor ** 2
        if t.households:
            var += t.value * (1.0 - t.value) / t.households
        return math.sqrt(var)

    def z(self, t: TargetSpec, sim: float) -> float:
        if sim is None or not np.isfinite(sim):
            return float("inf")
        if t.op in (">", ">="):
            gap = max(0.0, t.value - sim)
        elif t.op in ("<", "<="):
            gap = max(0.0, sim - t.value)
        else:
            gap = abs(sim - t.value)
        return gap / self.scale(t)

    def __call__(self, x: dict, x0: dict | None = None, *args, **kwargs) -> float:
        zs = [self.z(t, x.get(t.key, float("nan"))) for t in self.targets if t.role == "fit"]
        if any(not np.isfinite(z) for z in zs):
            return float("inf")
        return float(math.sqrt(sum(z * z for z in zs) / len(zs)))


def observed_stats(spec: CalibrationSpec) -> dict[str, float]:
    """The observed value of every target, by key (pyABC's observed summary statistics)."""
    return {t.key: t.value for t in spec.targets}
