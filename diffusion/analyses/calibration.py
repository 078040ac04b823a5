"""Calibration of uncertain parameters to observed rates with ABC-SMC (pyABC).

A config's ``[calibration]`` table names the free parameters and their priors, the observed targets (place or
setup, indicator, value or one-sided bound, date, households observed), the *setups* that produce them (place,
scale, start, months, levers) and the ABC-SMC settings. Example::

    [calibration]
    population_size = 200      # particles per generation
    generations = 6            # at most this many generations
    min_epsilon = 1.0          # stop earlier once the distance threshold reaches this
    noise_floor = 0.02         # added to the binomial sd of every target (model and reporting error)
    seed = 7                   # root of every simulation's SeedSequence (default: [experiment] seed)

    [calibration.priors."smartphone.q"]
    dist = "uniform"           # uniform | loguniform (lower > 0) | normal (mean, sd; lower/upper truncate)
    lower = 0.1
    upper = 1.5

    [calibration.setups.thon_dong]
    place = "thon_dong"        # a place preset
    scale = 1.0                # default 1.0 (the population's scale for [population] place)
    start = "2021-01"          # default: [experiment] start
    levers = ["team"]          # names from [levers] (default: all levers of the scenario)
    scenario = "smart_hamlet"  # whose levers and parameters (default: the first non-reference scenario)

    [[calibration.targets]]
    setup = "thon_dong"        # or place = "<preset>" for a setup with the defaults above
    indicator = "share_internet"
    value = ">95%"             # a share (0.95 or "95%"), or a bound ">0.95", "<= 10%"
    date = "2023-06"
    households = 275           # households observed: the binomial noise of the value
    source = "https://..."
    role = "fit"               # "fit" (in the distance) or "check" (only charted and tabled)

Distance: each target i contributes z_i = |sim - obs| / s_i with s_i = sqrt(obs (1 - obs) / n_i + floor^2)
(n_i the *observed* households: for a provincial share that is the province's households, so the noise floor
dominates; the simulated province may be smaller, scale only sets the model's own noise). A bound contributes
zero inside it and the shortfall over s_i outside. The distance is the root mean square of the z_i over the
"fit" targets, so epsilon = 1 means "on average within one noise unit".

Randomness: each simulation's model seed is ``SeedSequence(seed, spawn_key=(CALIBRATION_STREAM, setup,
h(theta)))`` with h a hash of the parameter values, so one parameter vector always gives the same simulation.
pyABC draws its proposals with numpy's global generator (re-seeded from the OS in pyABC's parallel workers),
so a parallel calibration is not bitwise reproducible; the in-process sampler (``workers=0``) is.

Resuming: pyABC's history database ``calibration.db`` lives in the output folder; a rerun with the same
calibration (settings other than generations/min_epsilon unchanged) loads it and continues to the requested
number of generations. ``fresh=True`` starts over.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from diffusion.experiments.config import (
    ExperimentConfig,
    LeverSpec,
    default_scenario,
    flatten_tables,
    key_path,
    load_config,
    validate_table,
)
from diffusion.experiments.results import write_json
from diffusion.experiments.schema import StrictModel
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError, DiffusionError, ParameterError
from diffusion.foundation.sources import places
from diffusion.foundation.text import did_you_mean
from diffusion.model.outputs import metric_names
from diffusion.model.params import ModelParams, parameter_aliases

log = logging.getLogger(__name__)

#: First spawn-key word of every calibration simulation's seed (distinct from the experiment's keys).
CALIBRATION_STREAM = 0xCA1B
#: Second spawn-key word of the posterior-predictive runs.
PREDICTIVE_STREAM = 0x9D
#: Files the calibration writes in its folder (besides charts/); --fresh removes them.
OUTPUT_FILES = ("calibration.db", "calibration_state.json", "posterior.parquet", "posterior_draws.parquet",
                "posterior_summary.csv", "generations.csv", "predictive.parquet", "observed.csv", "targets_fit.csv",
                "posterior_uncertainties.toml", "manifest.json")


# ======================================================================== schema
class PriorSection(StrictModel):
    dist: Literal["uniform", "loguniform", "normal"] = "uniform"
    lower: float | None = None
    upper: float | None = None
    mean: float | None = None
    sd: float | None = None


class SetupSection(StrictModel):
    place: str
    scale: float | None = None
    start: str | None = None
    months: int | None = None
    scenario: str | None = None
    levers: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TargetSection(StrictModel):
    setup: str | None = None
    place: str | None = None
    indicator: str
    value: float | str
    date: str
    households: int | None = None
    source: str = ""
    note: str = ""
    role: Literal["fit", "check"] = "fit"


class CalibrationSection(StrictModel):
    population_size: int = Field(100, ge=2)
    generations: int = Field(5, ge=1)
    min_epsilon: float = Field(1.0, ge=0)
    noise_floor: float = Field(0.02, gt=0, le=1)
    seed: int | None = None
    batch_size: int = Field(4, ge=1)
    predictive_draws: int = Field(50, ge=1)
    posterior_draws: int = Field(1000, ge=1)
    priors: dict[str, PriorSection]
    setups: dict[str, SetupSection] = Field(default_factory=dict)
    targets: list[TargetSection]


# ======================================================================== spec
@dataclass(frozen=True)
class PriorSpec:
    """A free parameter: ``name`` as written, ``key`` the ModelParams flat key, ``safe`` pyABC's name."""

    name: str
    key: str
    safe: str
    dist: str
    lower: float | None
    upper: float | None
    mean: float | None = None
    sd: float | None = None

    def rv(self):
        import pyabc

        if self.dist == "uniform":
            return pyabc.RV("uniform", self.lower, self.upper - self.lower)
        if self.dist == "loguniform":
            return pyabc.RV("loguniform", self.lower, self.upper)
        lo = -np.inf if self.lower is None else (self.lower - self.mean) / self.sd
        hi = np.inf if self.upper is None else (self.upper - self.mean) / self.sd
        if np.isinf(lo) and np.isinf(hi):
            return pyabc.RV("norm", self.mean, self.sd)
        return pyabc.RV("truncnorm", lo, hi, loc=self.mean, scale=self.sd)

    def bounds(self) -> tuple[float, float]:
        if self.lower is not None and self.upper is not None:
            return (self.lower, self.upper)
        lo = self.lower if self.lower is not None else self.mean - 3 * self.sd
        hi = self.upper if self.upper is not None else self.mean + 3 * self.sd
        return (lo, hi)


def prior_bounds(config: dict) -> dict[str, tuple[float, float]]:
    """(low, high) of each prior of a config's ``[calibration.priors]`` as read, nested tables flattened and
    names resolved to ModelParams keys (the columns of ``posterior.parquet``), spanning mean ± 3 sd where a
    normal prior has no bound (as ``PriorSpec.bounds``). Priors that do not validate are left out: this
    serves charts, ``validate_calibration`` reports the problems."""
    from pydantic import ValidationError

    section = config.get("calibration")
    raw = section.get("priors") if isinstance(section, dict) else None
    if not isinstance(raw, dict):
        return {}
    aliases = parameter_aliases()
    out: dict[str, tuple[float, float]] = {}
    for name, table in flatten_tables(raw, set(PriorSection.model_fields)).items():
        try:
            pr = PriorSection.model_validate(table)
        except ValidationError:
            continue
        known = (pr.lower is not None and pr.upper is not None) or (pr.mean is not None and pr.sd is not None)
        if name in aliases and known:
            spec = PriorSpec(name, aliases[name], name, pr.dist, pr.lower, pr.upper, pr.mean, pr.sd)
            out[spec.key] = tuple(float(b) for b in spec.bounds())
    return out


@dataclass(frozen=True)
class SetupSpec:
    """One simulated place: the model that produces some targets."""

    name: str
    place: str
    scale: float
    start: str
    months: int
    params: dict[str, Any]
    levers: tuple[LeverSpec, ...]


@dataclass(frozen=True)
class TargetSpec:
    """One observed value: ``op`` is "=", ">", ">=", "<" or "<="; ``value`` a share 0..1."""

    key: str
    setup: str
    indicator: str
    op: str
    value: float
    date: str
    month: int
    households: int | None
    source: str
    note: str
    role: str

    @property
    def label(self) -> str:
        v = f"{self.value:.1%}" if self.op == "=" else f"{self.op}{self.value:.1%}"
        return f"{self.setup}: {self.indicator} {v} ({self.date})"


@dataclass
class CalibrationSpec:
    """A validated ``[calibration]`` table."""

    file: str
    name: str
    priors: list[PriorSpec]
    setups: dict[str, SetupSpec]
    targets: list[TargetSpec]
    population_size: int
    generations: int
    min_epsilon: float
    noise_floor: float
    seed: int
    batch_size: int
    predictive_draws: int
    posterior_draws: int
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def fit_targets(self) -> list[TargetSpec]:
        return [t for t in self.targets if t.role == "fit"]

    def identity(self) -> str:
        """Hash of everything that changes what a generation means (not generations/min_epsilon/draws)."""
        keep = {k: v for k, v in self.raw.items()
                if k not in ("generations", "min_epsilon", "predictive_draws", "posterior_draws", "batch_size")}
        blob = json.dumps({"cal": keep, "setups": {k: asdict(s) for k, s in self.setups.items()}},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


_VALUE = re.compile(r"^\s*(>=|<=|>|<|=|~)?\s*([0-9]*\.?[0-9]+)\s*(%)?\s*$")


def parse_value(value: float | str) -> tuple[str, float]:
    """``0.95``, ``"95%"``, ``">0.95"``, ``"> 95%"``, ``"<=10%"`` -> (op, share). Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a share")
    if isinstance(value, int | float):
        op, v = "=", float(value)
    else:
        m = _VALUE.match(value)
        if not m:
            raise ValueError("a share 0..1, a percentage such as '95%', or a bound such as '>0.95' or '> 95%'")
        op = m.group(1) or "="
        op = "=" if op == "~" else op
        v = float(m.group(2)) / (100.0 if m.group(3) else 1.0)
    if not 0.0 <= v <= 1.0:
        raise ValueError("a share between 0 and 1 (write percentages with '%')")
    return op, v


def validate_calibration(cfg: ExperimentConfig | str | Path, *, build: bool = True) -> CalibrationSpec:
    """Check the ``[calibration]`` table of ``cfg`` (a loaded config or a path) and resolve it.

    Every problem (unknown keys, bad priors, unknown places, indicators, scenarios or levers, dates outside a
    setup's run, parameter values the model rejects) raises one ConfigError naming ``calibration.<path>``,
    before any simulation. With ``build``, each setup's model is built once (not run) to bind its levers.
    """
    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg, build=False)
    src = cfg.file
    raw = cfg.data.get("calibration")
    if raw is None:
        raise ConfigError(src, [("calibration", "is required for calibration: add a [calibration] table with "
                                 "priors and targets (see docs/calibration.md)")])
    if not isinstance(raw, dict):
        raise ConfigError(src, [("calibration", "must be a table")])
    data = dict(raw)
    if isinstance(data.get("priors"), dict):
        data["priors"] = flatten_tables(data["priors"], set(PriorSection.model_fields))
    sec = validate_table(CalibrationSection, data, ("calibration",), src)

    problems: list[tuple[str, str]] = []
    exp = cfg.experiment
    # ---------------------------------------------------------------- priors
    pnames = parameter_aliases()
    priors: list[PriorSpec] = []
    if not sec.priors:
        problems.append(("calibration.priors", "needs at least one free parameter"))
    seen_keys: dict[str, str] = {}
    for name, pr in sec.priors.items():
        path = f"calibration.priors.{key_path(name)}"
        if name not in pnames:
            problems.append((path, f"unknown parameter {name!r}{did_you_mean(name, list(pnames))}: a model parameter "
                             "such as \"smartphone.q\" (quoted), q_smartphone or affordability_midpoint"))
            continue
        key = pnames[name]
        if key in seen_keys:
            problems.append((path, f"the same parameter as calibration.priors.{seen_keys[key]}"))
            continue
        seen_keys[key] = name
        bad = False
        if pr.dist in ("uniform", "loguniform"):
            for k in ("lower", "upper"):
                if getattr(pr, k) is None:
                    problems.append((f"{path}.{k}", f"is required for dist = {pr.dist!r}"))
                    bad = True
            for k in ("mean", "sd"):
                if getattr(pr, k) is not None:
                    problems.append((f"{path}.{k}", f"is not used by dist = {pr.dist!r} (lower, upper)"))
                    bad = True
            if not bad and pr.lower >= pr.upper:
                problems.append((f"{path}.lower", f"{pr.lower!r} is not allowed: lower must be below upper "
                                 f"({pr.upper!r})"))
                bad = True
            if not bad and pr.dist == "loguniform" and pr.lower <= 0:
                problems.append((f"{path}.lower", f"{pr.lower!r} is not allowed: dist = 'loguniform' needs lower > 0"))
                bad = True
        else:
            for k in ("mean", "sd"):
                if getattr(pr, k) is None:
                    problems.append((f"{path}.{k}", "is required for dist = 'normal'"))
                    bad = True
            if not bad and pr.sd <= 0:
                problems.append((f"{path}.sd", f"{pr.sd!r} is not allowed: a standard deviation > 0"))
                bad = True
            if not bad and pr.lower is not None and pr.upper is not None and pr.lower >= pr.upper:
                problems.append((f"{path}.lower", f"{pr.lower!r} is not allowed: lower must be below upper"))
                bad = True
        if bad:
            continue
        spec = PriorSpec(name, key, key.replace(".", "__"), pr.dist, pr.lower, pr.upper, pr.mean, pr.sd)
        # the support's edges must be values the model accepts
        for v in spec.bounds():
            try:
                ModelParams().with_overrides({key: v})
            except ParameterError as e:
                problems.append((path, f"the prior reaches {v!r}, which is not allowed for {key!r}: {e.allowed}"))
                bad = True
                break
        if not bad:
            priors.append(spec)

    # ---------------------------------------------------------------- setups
    known_places = places()
    setups: dict[str, SetupSpec] = {}

    def make_setup(name: str, s: SetupSection, path: str) -> SetupSpec | None:
        ok = True
        if s.place not in known_places:
            problems.append((f"{path}.place", f"unknown place {s.place!r}{did_you_mean(s.place, known_places)}; "
                             f"places: {', '.join(known_places)}"))
            ok = False
        scale = s.scale if s.scale is not None else (cfg.population.scale if s.place == cfg.population.place else 1.0)
        if scale <= 0:
            problems.append((f"{path}.scale", f"{scale!r} is not allowed: a factor > 0"))
            ok = False
        start = s.start or exp.start
        months = s.months if s.months is not None else exp.months
        try:
            Calendar(start, months)
        except ParameterError as e:
            problems.append((f"{path}.{'start' if 'month' not in str(e.name) else 'months'}",
                             f"{e.value!r} is not allowed: {e.allowed}"))
            ok = False
        scn = default_scenario(cfg, s.scenario)
        if scn is None:
            problems.append((f"{path}.scenario", f"unknown scenario {s.scenario!r}"
                             f"{did_you_mean(s.scenario, cfg.scenarios)}; scenarios: {', '.join(cfg.scenarios)}"))
            return None
        levers = list(scn.levers)
        if s.levers is not None:
            names = [lv.name for lv in levers]
            for i, ln in enumerate(s.levers):
                if ln not in names:
                    problems.append((f"{path}.levers[{i}]", f"unknown lever {ln!r}{did_you_mean(ln, names)}; levers of "
                                     f"scenario {scn.name!r}: {', '.join(names) or 'none'}"))
                    ok = False
            levers = [lv for lv in levers if lv.name in s.levers]
        params = dict(scn.params)
        for k, v in s.params.items():
            if k not in pnames:
                problems.append((f"{path}.params.{k}", f"unknown parameter {k!r}{did_you_mean(k, list(pnames))}"))
                ok = False
            else:
                params[pnames[k]] = v
        if ok:
            try:
                ModelParams().with_overrides(params)
            except ParameterError as e:
                problems.append((f"{path}.params", f"{e.value!r} for {e.name!r} is not allowed: {e.allowed}"))
                ok = False
        for lv in levers:
            for k in ("start", "end"):
                d = lv.settings.get(k)
                if ok and d is not None:
                    try:
                        Calendar(start, months).index(d, k)
                    except ParameterError as e:
                        problems.append((f"{path}.start", f"lever {lv.name!r} {k} {d} is outside this setup's run "
                                         f"({start}, {months} months): {e.allowed}"))
                        ok = False
        return SetupSpec(name, s.place, float(scale), start, int(months), params, tuple(levers)) if ok else None

    for name, s in sec.setups.items():
        spec = make_setup(name, s, f"calibration.setups.{key_path(name)}")
        if spec is not None:
            setups[name] = spec

    # ---------------------------------------------------------------- targets
    indicators = [m for m in metric_names() if m.startswith("share_")]
    targets: list[TargetSpec] = []
    if not sec.targets:
        problems.append(("calibration.targets", "needs at least one [[calibration.targets]]"))
    for i, t in enumerate(sec.targets):
        path = f"calibration.targets[{i}]"
        if (t.setup is None) == (t.place is None):
            problems.append((path, "give either setup = \"<name of [calibration.setups]>\" or place = \"<preset>\""))
            continue
        if t.setup is not None:
            if t.setup not in sec.setups:
                problems.append((f"{path}.setup", f"unknown setup {t.setup!r}{did_you_mean(t.setup, sec.setups)}; "
                                 f"setups: {', '.join(sec.setups) or 'none defined'}"))
                continue
            if t.setup not in setups:
                continue  # already reported
            setup = setups[t.setup]
        else:
            if t.place not in known_places:
                problems.append((f"{path}.place", f"unknown place {t.place!r}{did_you_mean(t.place, known_places)}; "
                                 f"places: {', '.join(known_places)}"))
                continue
            sname = t.place if t.place not in sec.setups else f"{t.place}_default"
            if sname not in setups:
                spec = make_setup(sname, SetupSection(place=t.place), path)
                if spec is None:
                    continue
                setups[sname] = spec
            setup = setups[sname]
        if t.indicator not in indicators:
            problems.append((f"{path}.indicator", f"unknown indicator {t.indicator!r}"
                             f"{did_you_mean(t.indicator, indicators)}; the model's shares: "
                             f"{', '.join(indicators[:6])}, ... (see diffusion.outputs)"))
            continue
        try:
            op, value = parse_value(t.value)
        except ValueError as e:
            problems.append((f"{path}.value", f"{t.value!r} is not allowed: {e}"))
            continue
        cal = Calendar(setup.start, setup.months)
        try:
            month = cal.index(t.date, "date")
        except ParameterError as e:
            problems.append((f"{path}.date", f"{t.date!r} is not allowed: {e.allowed} (setup {setup.name!r} runs "
                             f"{setup.start} to {cal.label(setup.months)})"))
            continue
        if t.households is not None and t.households < 1:
            problems.append((f"{path}.households", f"{t.households!r} is not allowed: a whole number >= 1"))
            continue
        key = f"t{i}_{setup.name}_{t.indicator}"
        targets.append(TargetSpec(key, setup.name, t.indicator, op, value, t.date, month, t.households,
                                  t.source, t.note, t.role))
    if targets and not any(t.role == "fit" for t in targets):
        problems.append(("calibration.targets", "needs at least one target with role = \"fit\""))
    if problems:
        raise ConfigError(src, problems)
    used = {t.setup for t in targets}
    setups = {k: v for k, v in setups.items() if k in used}
    if build:
        _check_build(src, setups, priors, problems)
        if problems:
            raise ConfigError(src, problems)
    return CalibrationSpec(
        file=src, name=cfg.name, priors=priors, setups=setups, targets=targets,
        population_size=sec.population_size, generations=sec.generations, min_epsilon=sec.min_epsilon,
        noise_floor=sec.noise_floor, seed=sec.seed if sec.seed is not None else int(exp.seed),
        batch_size=sec.batch_size, predictive_draws=sec.predictive_draws, posterior_draws=sec.posterior_draws,
        raw=sec.model_dump(),
    )


def _check_build(src: str, setups: dict[str, SetupSpec], priors: list[PriorSpec], problems: list) -> None:
    """Build (not run) each setup's model once to bind its levers (hamlets, schedules)."""
    from diffusion.model.adoption import AdoptionModel

    for s in setups.values():
        try:
            AdoptionModel(s.place, params=ModelParams().with_overrides(s.params),
                          levers=[lv.build() for lv in s.levers], start=s.start, months=s.months, scale=s.scale,
                          seed=0, agents=False, collect=False)
        except (ParameterError, TypeError, ValueError, KeyError, IndexError) as e:
            problems.append((f"calibration.setups.{s.name}", f"cannot be built: {type(e).__name__}: {e}"))


# ======================================================================== simulation and distance
def _theta_word(theta: dict[str, float]) -> int:
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

    def _model(self, setup_index: int, setup: SetupSpec, over: dict[str, float], key: tuple[int, ...],
               collect: bool, months: int):
        from diffusion.model.adoption import AdoptionModel

        params = ModelParams().with_overrides({**setup.params, **over})
        seed = np.random.SeedSequence(self.seed, spawn_key=(CALIBRATION_STREAM, setup_index, *key))
        return AdoptionModel(setup.place, params=params, levers=[lv.build() for lv in setup.levers],
                             start=setup.start, months=months, scale=setup.scale, seed=seed, agents=False,
                             collect=collect)

    def __call__(self, theta) -> dict[str, float]:
        theta = {k: float(v) for k, v in dict(theta).items()}
        over = self.overrides(theta)
        word = _theta_word(theta)
        out: dict[str, float] = {}
        for si, (sname, setup) in enumerate(self.setups.items()):
            ts = sorted((t for t in self.targets if t.setup == sname), key=lambda t: t.month)
            if not ts:
                continue
            try:
                m = self._model(si, setup, over, (word,), False, ts[-1].month)
            except ParameterError:
                return {t.key: float("nan") for t in self.targets}
            for t in ts:
                if m.steps < t.month:
                    m.run_for(t.month - m.steps)
                out[t.key] = float(m.outputs[t.indicator])
        return out

    def predictive(self, over: dict[str, float], draw: int) -> pd.DataFrame:
        """Monthly shares of every target's indicator for one posterior draw, per setup."""
        frames = []
        for si, (sname, setup) in enumerate(self.setups.items()):
            inds = sorted({t.indicator for t in self.targets if t.setup == sname})
            if not inds:
                continue
            m = self._model(si, setup, over, (PREDICTIVE_STREAM, draw), True, setup.months)
            m.run()
            ts = m.timeseries()
            long = ts.melt(id_vars=["date"], value_vars=inds, var_name="metric", value_name="value")
            long.insert(0, "setup", sname)
            long["draw"] = draw
            frames.append(long)
        return pd.concat(frames, ignore_index=True)


def _predictive_job(sim: Simulator, over: dict[str, float], draw: int) -> pd.DataFrame:
    return sim.predictive(over, draw)


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
    return {t.key: t.value for t in spec.targets}


# ======================================================================== the run
def _executor_setup(workers: int | None, scheduler: str | None, executor_factory):
    """(executor or None, closer, workers) from the options."""
    if executor_factory is not None:
        ex = executor_factory()
        return ex, (lambda: ex.shutdown(wait=True, cancel_futures=True)), max(1, workers or os.cpu_count() or 1)
    if scheduler:
        from diffusion.experiments.execution import DaskConnection

        conn = DaskConnection(scheduler)
        ex = conn.factory()()
        return ex, conn.close, conn.workers
    w = (os.cpu_count() or 1) if workers is None else workers
    if w <= 0:
        return None, (lambda: None), 0
    from diffusion.experiments.execution import process_pool

    ex = process_pool(w)()
    return ex, (lambda: ex.shutdown(wait=True, cancel_futures=True)), w


def _make_abc(spec: CalibrationSpec, sampler):
    import pyabc

    prior = pyabc.Distribution(**{p.safe: p.rv() for p in spec.priors})
    sim = Simulator(spec.priors, spec.setups, spec.targets, spec.seed)
    dist = BinomialDistance(spec.targets, spec.noise_floor)
    abc = pyabc.ABCSMC(sim, prior, dist, population_size=spec.population_size, sampler=sampler)
    return abc, sim


def _quiet_pyabc(quiet: bool) -> None:
    for name in ("ABC", "pyabc", "Sampler", "Epsilon", "History", "Distance", "Acceptor", "Transition",
                 "Population", "Redis", "ABC.History", "ABC.Sampler", "ABC.Epsilon", "ABC.Distance",
                 "ABC.Predictor", "ABC.Transition", "ABC.Acceptor", "ABC.Population", "ABC.Model"):
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.INFO)


def calibrate(
    cfg: ExperimentConfig | str | Path,
    out_dir: str | Path | None = None,
    executor_factory: Callable[[], Any] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    quiet: bool = False,
    *,
    stop_after: int | None = None,
) -> Path:
    """Run (or resume) the ABC-SMC calibration of ``cfg`` and write its outputs to ``out_dir``.

    Args:
        cfg: a loaded config or a path.
        out_dir: output folder (default ``results/<experiment name>/calibration``).
        executor_factory: a callable returning a ``concurrent.futures.Executor`` (overrides workers/scheduler).
        workers: local worker processes (default: all cores); 0 samples in this process (reproducible).
        scheduler: a Dask scheduler address ("tcp://...").
        fresh: discard an earlier calibration in the folder.
        quiet: only warnings.
        stop_after: run at most this many generations in this call (tests use it to interrupt).

    Returns:
        The output folder.
    """
    import pyabc

    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg, build=False)
    spec = validate_calibration(cfg)
    _quiet_pyabc(quiet)
    out = Path(out_dir) if out_dir is not None else Path("results") / cfg.name / "calibration"
    out.mkdir(parents=True, exist_ok=True)
    db = out / "calibration.db"
    state_file = out / "calibration_state.json"
    if fresh:
        for name in OUTPUT_FILES:
            if (out / name).exists():
                (out / name).unlink()
        if (out / "charts").is_dir():
            shutil.rmtree(out / "charts")
    state = json.loads(state_file.read_text()) if state_file.exists() and db.exists() else None
    if db.exists() and state is None:
        raise ConfigError(spec.file, [("calibration", f"{db} exists without calibration_state.json; rerun with "
                                       "--fresh to start over")])
    if state is not None and state.get("identity") != spec.identity():
        raise ConfigError(spec.file, [("calibration", f"{db} holds a calibration with other priors, targets or "
                                       "setups; rerun with --fresh to start over (or use another --out)")])

    started = time.time()
    ex, close, nworkers = _executor_setup(workers, scheduler, executor_factory)
    try:
        if ex is None:
            sampler = pyabc.sampler.SingleCoreSampler()
            # pyABC proposes with numpy's global generator: seeded below from the root seed and the generation
        else:
            sampler = pyabc.sampler.ConcurrentFutureSampler(
                cfuture_executor=ex, client_max_jobs=max(2, 2 * nworkers), batch_size=spec.batch_size)
        abc, sim = _make_abc(spec, sampler)
        url = f"sqlite:///{db.resolve()}"
        if state is None:
            _seed_global(spec.seed, 0)
            abc.new(url, observed_stats(spec))
            state = {"identity": spec.identity(), "run_id": int(abc.history.id), "wall_seconds": 0.0,
                     "file": spec.file}
            write_json(state_file, state)
        else:
            abc.load(url, state["run_id"])
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
            state["wall_seconds"] = float(state.get("wall_seconds", 0.0)) + (time.time() - t0)
            write_json(state_file, state)
        history = abc.history
        finished = int(history.max_t) + 1 >= spec.generations or (
            (_last_epsilon(history) or np.inf) <= spec.min_epsilon)
        if stop_after is not None and not finished:
            return out
        _write_outputs(spec, cfg, out, history, sim, ex, started, nworkers, state)
    finally:
        close()
    return out


def _seed_global(seed: int, generation: int) -> None:
    ss = np.random.SeedSequence(seed, spawn_key=(CALIBRATION_STREAM, 0xABC, generation))
    np.random.seed(ss.generate_state(1, np.uint32)[0])


def _last_epsilon(history) -> float | None:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return float(pops["epsilon"].iloc[-1]) if len(pops) else None


# ======================================================================== outputs
def weighted_quantiles(values, weights, qs) -> np.ndarray:
    from diffusion.presentation.charts.analysis import weighted_quantiles as wq

    return wq(values, weights, qs)


def generation_table(history) -> pd.DataFrame:
    """Generation, epsilon, particles, simulations, acceptance rate and effective sample size."""
    from pyabc.weighted_statistics import effective_sample_size

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


def _write_outputs(spec: CalibrationSpec, cfg: ExperimentConfig, out: Path, history, sim: Simulator, ex,
                   started: float, nworkers: int, state: dict[str, Any]) -> None:
    from diffusion.experiments.results import atomic_write, git_commit, package_versions, write_parquet
    from diffusion.presentation.charts import calibration as cc
    from diffusion.presentation.charts import posterior_chart
    from diffusion.presentation.charts.style import save

    df, w = history.get_distribution(m=0)
    # columns are the canonical parameter keys ("smartphone.q"), as config.py's empirical draws expect
    names = [p.key for p in spec.priors]
    post = pd.DataFrame({p.key: df[p.safe].to_numpy(dtype=float) for p in spec.priors})
    post["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
    write_parquet(out / "posterior.parquet", post)

    # equally weighted draws for [uncertainties."<param>"] dist = "empirical", from = ".../posterior_draws.parquet"
    ss = np.random.SeedSequence(spec.seed, spawn_key=(CALIBRATION_STREAM, 0xD7A))
    rng = np.random.default_rng(ss)
    idx = rng.choice(len(post), size=spec.posterior_draws, replace=True, p=post["weight"].to_numpy())
    draws = post.iloc[idx][names].reset_index(drop=True)
    write_parquet(out / "posterior_draws.parquet", draws)

    rows = []
    for p in spec.priors:
        col = p.key
        q5, q50, q95 = weighted_quantiles(post[col], post["weight"], [0.05, 0.5, 0.95])
        lo, hi = p.bounds()
        rows.append({"parameter": col, "prior": p.dist, "prior_lower": lo, "prior_upper": hi,
                     "median": q50, "ci90_lower": q5, "ci90_upper": q95,
                     "mean": float(np.sum(post[col] * post["weight"])),
                     "ci90_share_of_prior": (q95 - q5) / (hi - lo) if hi > lo else float("nan")})
    summary = pd.DataFrame(rows)
    atomic_write(out / "posterior_summary.csv", lambda tmp: summary.to_csv(tmp, index=False, float_format="%.6g"))
    gens = generation_table(history)
    atomic_write(out / "generations.csv", lambda tmp: gens.to_csv(tmp, index=False, float_format="%.6g"))

    # posterior predictive: weighted resample of particles, each run with full time series
    k = min(spec.predictive_draws, spec.posterior_draws)
    keyed = [({c: float(v) for c, v in draws.iloc[i].items()}, i) for i in range(k)]
    if ex is None:
        pred_frames = [_predictive_job(sim, o, i) for o, i in keyed]
    else:
        futs = [ex.submit(_predictive_job, sim, o, i) for o, i in keyed]
        pred_frames = [f.result() for f in futs]
    pred = pd.concat(pred_frames, ignore_index=True)
    write_parquet(out / "predictive.parquet", pred)
    obs = pd.DataFrame([{"target": t.key, "setup": t.setup, "place": spec.setups[t.setup].place,
                         "metric": t.indicator, "date": t.date, "op": t.op, "value": t.value,
                         "n": t.households if t.households else np.nan, "role": t.role, "source": t.source,
                         "note": t.note} for t in spec.targets])
    atomic_write(out / "observed.csv", lambda tmp: obs.to_csv(tmp, index=False))
    dist = BinomialDistance(spec.targets, spec.noise_floor)
    trows = []
    for t in spec.targets:
        v = pred[(pred["setup"] == t.setup) & (pred["metric"] == t.indicator) & (pred["date"] == t.date)]["value"]
        q5, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
        zs = np.array([dist.z(t, x) for x in v])
        trows.append({"target": t.key, "setup": t.setup, "indicator": t.indicator, "date": t.date,
                      "observed": f"{t.op}{t.value:.4g}" if t.op != "=" else f"{t.value:.4g}", "role": t.role,
                      "noise_sd": dist.scale(t), "predictive_median": q50, "predictive_q05": q5,
                      "predictive_q95": q95, "share_within_1sd_or_bound": float(np.mean(zs <= 1.0))})
    fit = pd.DataFrame(trows)
    atomic_write(out / "targets_fit.csv", lambda tmp: fit.to_csv(tmp, index=False, float_format="%.4g"))

    lang = cfg.outputs.language
    bounds = {p.key: p.bounds() for p in spec.priors}
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    import matplotlib.pyplot as plt

    for stem, make in (("calibration_targets", lambda: cc.targets_chart(pred, spec.targets, lang=lang)),
                       ("posterior", lambda: posterior_chart(post, bounds, lang=lang)),
                       ("pair_plot", lambda: cc.pair_plot(post, bounds, lang=lang))):
        fig = make()
        save(fig, charts / stem)
        plt.close(fig)

    fragment = ["# Posterior draws of the calibration; paste into an experiment config (paths relative to it).",
                f"# Written by `diffusion calibrate {spec.file}`; {spec.posterior_draws} equally weighted draws.",
                ""]
    rel = (out / "posterior_draws.parquet").resolve()
    for c in names:
        fragment += [f'[uncertainties."{c}"]', 'dist = "empirical"', f'from = "{rel}"', ""]
    (out / "posterior_uncertainties.toml").write_text("\n".join(fragment), encoding="utf-8")

    total_sims = int(history.total_nr_simulations)  # includes pyABC's calibration sample of the prior
    manifest = {
        "config": spec.file, "experiment": cfg.name, "config_sha256": cfg.sha256, "identity": spec.identity(),
        "run_id": state["run_id"], "seed": spec.seed, "workers": nworkers,
        "generations_done": int(len(gens)), "generations_requested": spec.generations,
        "final_epsilon": float(gens["epsilon"].iloc[-1]) if len(gens) else None, "min_epsilon": spec.min_epsilon,
        "population_size": spec.population_size, "simulations": total_sims,
        "calibration_wall_seconds": state.get("wall_seconds"),
        "simulations_per_second": total_sims / state["wall_seconds"] if state.get("wall_seconds") else None,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "this_call_seconds": time.time() - started,
        "calibration": spec.raw, "package_versions": package_versions(), "git": git_commit(),
    }
    write_json(out / "manifest.json", manifest)


# ======================================================================== CLI
def calibrate_main(args: argparse.Namespace) -> int:
    """Handler of ``diffusion calibrate`` (arguments from ``diffusion.cli``): 0 done, 2 config error."""
    logging.getLogger("ABC").propagate = False  # pyABC prints through its own handler
    try:
        out = calibrate(args.config, args.out, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
                        quiet=args.quiet)
    except (ConfigError, DiffusionError) as e:
        log.error("%s", e)
        return 2
    if not args.quiet:
        summary = pd.read_csv(out / "posterior_summary.csv")
        log.info("posterior medians and 90%% credible intervals (%s):\n%s", out / "posterior_summary.csv",
                 summary[["parameter", "median", "ci90_lower", "ci90_upper"]].to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m diffusion.calibration CONFIG ...``: the same as ``diffusion calibrate CONFIG ...``."""
    from diffusion.cli import main as cli_main

    return cli_main(["calibrate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
