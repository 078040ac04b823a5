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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from diffusion.analyses.calibration.spec import CalibrationSpec, PriorSpec, SetupSpec, TargetSpec
from diffusion.experiments.evaluation import Probe, Recording, RunSpec, evaluate
from diffusion.foundation.errors import ParameterError

#: First spawn-key word of every calibration simulation's seed (distinct from the experiment's keys).
CALIBRATION_STREAM = 0xCA1B
#: Second spawn-key word of the posterior-predictive runs.
PREDICTIVE_STREAM = 0x9D


def theta_key(theta) -> str:
    """A parameter vector as a text key (the same values give the same key)."""
    return json.dumps({k: float(v) for k, v in sorted(dict(theta).items())})


def theta_word(theta: dict[str, float]) -> int:
    """A 32-bit hash of a parameter vector's ``theta_key`` (the last word of its simulations' seeds)."""
    return int.from_bytes(hashlib.blake2b(theta_key(theta).encode(), digest_size=4).digest(), "little")


@dataclass
class Simulator:
    """Picklable pyABC model: parameters (pyABC names) -> {target key: simulated share}.

    ``batch`` simulates many parameter vectors at once (each setup's runs stacked by the evaluation service);
    ``BatchSampler`` puts its results in ``cache``, where a call for the same values finds them, and sets
    ``recording`` to collect the values pyABC asks for before simulating them.
    """

    priors: list[PriorSpec]
    setups: dict[str, SetupSpec]
    targets: list[TargetSpec]
    seed: int
    cache: dict = field(default_factory=dict, repr=False, compare=False)
    #: while not None, calls record their parameters here instead of simulating (``BatchSampler``)
    recording: list | None = field(default=None, repr=False, compare=False)

    def __getstate__(self):  # the cache stays in the process that fills it
        state = dict(self.__dict__)
        state["cache"], state["recording"] = {}, None
        return state

    def overrides(self, theta: dict[str, float]) -> dict[str, float]:
        return {p.key: p.to_model(theta[p.safe]) for p in self.priors}

    def _run(self, si: int, setup: SetupSpec, over: dict[str, float], key: tuple[int, ...]) -> RunSpec:
        return RunSpec(setup.name, 0, 0, {**setup.params, **over}, setup.levers,
                       seed_key=(CALIBRATION_STREAM, si, *key))

    def __call__(self, theta) -> dict[str, float]:
        if self.recording is not None:
            self.recording.append(dict(theta))
            return {t.key: float("nan") for t in self.targets if t.role == "fit"}
        found = self.cache.get(theta_key(theta))
        return dict(found) if found is not None else self.batch([theta])[0]

    def batch(self, thetas: list) -> list[dict[str, float]]:
        """The simulated fitted targets of each parameter vector (NaN for all of a vector the model rejects)."""
        thetas = [{k: float(v) for k, v in dict(th).items()} for th in thetas]
        out: list[dict[str, float]] = [{} for _ in thetas]
        overs = [self.overrides(th) for th in thetas]
        words = [theta_word(th) for th in thetas]
        for si, (sname, setup) in enumerate(self.setups.items()):
            ts = sorted((t for t in self.targets if t.setup == sname and t.role == "fit"), key=lambda t: t.month)
            if not ts:  # a setup of checks only is simulated with the posterior, never during the fit
                continue
            probes = tuple(Probe(t.key, t.indicator, "at", t.month) for t in ts)
            recording = Recording(series=False, hamlets=False, probes=probes)
            runs = [self._run(si, setup, over, (word,)) for over, word in zip(overs, words)]
            try:
                table = evaluate(setup.setup(self.seed, months=ts[-1].month), runs, recording).table
            except ParameterError:
                if len(thetas) == 1:
                    return [{t.key: float("nan") for t in self.targets if t.role == "fit"}]
                return [self.batch([th])[0] for th in thetas]  # find the vectors the model rejects
            for i, row in enumerate(table.to_dict("records")):
                out[i].update({t.key: float(row[t.key]) for t in ts})
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
    """The observed value of every fitted target, by key (pyABC's observed summary statistics)."""
    return {t.key: t.value for t in spec.targets if t.role == "fit"}
