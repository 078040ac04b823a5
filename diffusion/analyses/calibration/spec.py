"""The ``[calibration]`` table: free parameters and their priors, the setups (place, calendar, levers) that
produce the observed targets, the targets themselves, and the ABC-SMC settings. Everything is checked
before any simulation; every problem names its ``calibration.<path>``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from diffusion.experiments.config import ExperimentConfig, load_config
from diffusion.experiments.distributions import Distribution, DistributionKeys, read_distribution
from diffusion.experiments.evaluation import Setup
from diffusion.experiments.messages import Problem, validate_table
from diffusion.experiments.scenarios import LeverSpec, build_model, default_scenario
from diffusion.experiments.schema import StrictModel
from diffusion.experiments.uncertainties import TABLE_KEYS, flatten_tables
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError, ParameterError
from diffusion.foundation.sources import places
from diffusion.foundation.text import did_you_mean, key_path
from diffusion.model.outputs import metric_names
from diffusion.model.params import ModelParams, parameter_aliases
from diffusion.model.world import check_start

#: Distributions a prior may have.
PRIOR_DISTRIBUTIONS = ("uniform", "loguniform", "normal")


# ======================================================================== schema
class PriorSection(DistributionKeys):
    """A free parameter's prior: uniform (lower, upper), loguniform (0 < lower < upper) or normal (mean, sd;
    truncated to lower/upper if given)."""


class SetupSection(StrictModel):
    place: str
    scale: float | None = None
    start: str | None = None
    months: int | None = None
    scenario: str | None = None
    levers: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TargetSection(StrictModel):
    """One observed value (``value`` at ``date``) or a dated series of them (``series``: [["YYYY-MM", value],
    ...]) of one indicator of one setup."""

    setup: str | None = None
    place: str | None = None
    indicator: str
    value: float | str | None = None
    date: str | None = None
    series: list[list[str | float]] | None = None
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
@dataclass(frozen=True, kw_only=True)
class PriorSpec(Distribution):
    """A free parameter: its prior (see ``Distribution``), ``name`` as written, ``key`` the ModelParams flat key,
    ``safe`` pyABC's name for it.

    pyABC samples a loguniform parameter as its logarithm, uniform between the logarithms of the bounds (the
    same prior): its Gaussian perturbation kernels then work on the scale the prior is flat on, which keeps
    the particles' importance weights even (``to_model``/``to_sampler`` convert).
    """

    name: str
    key: str
    safe: str

    def to_model(self, x: float) -> float:
        """The parameter's value from pyABC's variable."""
        return float(math.exp(x)) if self.dist == "loguniform" else float(x)

    def to_sampler(self, value: float) -> float:
        """pyABC's variable for a parameter value."""
        return float(math.log(value)) if self.dist == "loguniform" else float(value)

    def rv(self):
        """The prior as a pyABC random variable (of the logarithm for a loguniform prior)."""
        import pyabc  # (imported here: pyABC takes about a second to import, and only the calibration needs it)

        if self.dist == "uniform":
            return pyabc.RV("uniform", self.lower, self.upper - self.lower)
        if self.dist == "loguniform":
            lo, hi = math.log(self.lower), math.log(self.upper)
            return pyabc.RV("uniform", lo, hi - lo)
        lo = -float("inf") if self.lower is None else (self.lower - self.mean) / self.sd
        hi = float("inf") if self.upper is None else (self.upper - self.mean) / self.sd
        if lo == -float("inf") and hi == float("inf"):
            return pyabc.RV("norm", self.mean, self.sd)
        return pyabc.RV("truncnorm", lo, hi, loc=self.mean, scale=self.sd)


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

    def setup(self, seed: int, months: int | None = None) -> Setup:
        """The evaluation service's setup of this place (to ``months`` instead of the setup's own)."""
        return Setup(self.place, self.scale, self.start, self.months if months is None else months, seed)


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


# ======================================================================== validation
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
        data["priors"] = flatten_tables(data["priors"], TABLE_KEYS)
    sec = validate_table(CalibrationSection, data, ("calibration",), src)
    problems: list[Problem] = []
    priors = _priors(sec, problems)
    setups: dict[str, SetupSpec] = {}
    for name, s in sec.setups.items():
        spec = _setup(cfg, name, s, f"calibration.setups.{key_path(name)}", problems)
        if spec is not None:
            setups[name] = spec
    targets = _targets(cfg, sec, setups, problems)
    if problems:
        raise ConfigError(src, problems)
    used = {t.setup for t in targets}
    setups = {k: v for k, v in setups.items() if k in used}
    if build:
        _check_build(setups, problems)
        if problems:
            raise ConfigError(src, problems)
    return CalibrationSpec(
        file=src, name=cfg.name, priors=priors, setups=setups, targets=targets,
        population_size=sec.population_size, generations=sec.generations, min_epsilon=sec.min_epsilon,
        noise_floor=sec.noise_floor, seed=sec.seed if sec.seed is not None else int(cfg.experiment.seed),
        batch_size=sec.batch_size, predictive_draws=sec.predictive_draws, posterior_draws=sec.posterior_draws,
        raw=sec.model_dump(),
    )


def _priors(sec: CalibrationSection, problems: list[Problem]) -> list[PriorSpec]:
    """The free parameters: known names, each once, priors the model accepts over their whole support."""
    pnames = parameter_aliases()
    out: list[PriorSpec] = []
    if not sec.priors:
        problems.append(("calibration.priors", "needs at least one free parameter"))
    seen: dict[str, str] = {}
    for name, pr in sec.priors.items():
        path = f"calibration.priors.{key_path(name)}"
        if name not in pnames:
            problems.append((path, f"unknown parameter {name!r}{did_you_mean(name, list(pnames))}: a model parameter "
                             "such as \"smartphone.q\" (quoted), q_smartphone or affordability_midpoint"))
            continue
        key = pnames[name]
        if key in seen:
            problems.append((path, f"the same parameter as calibration.priors.{seen[key]}"))
            continue
        seen[key] = name
        dist = read_distribution(pr, path, problems, allowed=PRIOR_DISTRIBUTIONS)
        if dist is None:
            continue
        spec = PriorSpec(**dist.__dict__, name=name, key=key, safe=key.replace(".", "__"))
        for v in spec.bounds():  # the support's edges must be values the model accepts
            try:
                ModelParams().with_overrides({key: v})
            except ParameterError as e:
                problems.append((path, f"the prior reaches {v!r}, which is not allowed for {key!r}: {e.allowed}"))
                break
        else:
            out.append(spec)
    return out


def _setup(cfg: ExperimentConfig, name: str, s: SetupSection, path: str, problems: list[Problem]) -> SetupSpec | None:
    """A setup resolved: its place, scale, calendar, the scenario's levers and parameters (with its own)."""
    before = len(problems)
    known = {**places(), **cfg.places}
    if s.place not in known:
        problems.append((f"{path}.place", f"unknown place {s.place!r}{did_you_mean(s.place, known)}; "
                         f"places ([places.<key>] tables and presets): {', '.join(known)}"))
    pop = cfg.population
    scale = s.scale if s.scale is not None else (pop.scale if s.place == pop.place else 1.0)
    if scale <= 0:
        problems.append((f"{path}.scale", f"{scale!r} is not allowed: a factor > 0"))
    start = s.start or cfg.experiment.start
    months = s.months if s.months is not None else cfg.experiment.months
    try:
        cal = Calendar(check_start(start, "start"), months)
    except ParameterError as e:
        problems.append((f"{path}.{'start' if 'month' not in str(e.name) else 'months'}",
                         f"{e.value!r} is not allowed: {e.allowed}"))
        cal = None
    scn = default_scenario(cfg.scenarios, s.scenario)
    if scn is None:
        problems.append((f"{path}.scenario", f"unknown scenario {s.scenario!r}"
                         f"{did_you_mean(s.scenario, cfg.scenarios)}; scenarios: {', '.join(cfg.scenarios)}"))
        return None
    levers = _setup_levers(scn, s, path, problems)
    params = _setup_params(scn.params, s, path, problems, ok=len(problems) == before)
    if cal is not None and len(problems) == before:
        for lv in levers:
            for k in ("start", "end"):
                d = lv.settings.get(k)
                if d is not None and len(problems) == before:
                    try:
                        cal.index(d, k)
                    except ParameterError as e:
                        problems.append((f"{path}.start", f"lever {lv.name!r} {k} {d} is outside this setup's run "
                                         f"({start}, {months} months): {e.allowed}"))
    if len(problems) > before:
        return None
    return SetupSpec(name, cfg.places.get(s.place, s.place), float(scale), start, int(months), params, tuple(levers))


def _setup_levers(scn, s: SetupSection, path: str, problems: list[Problem]) -> list[LeverSpec]:
    """The scenario's levers, or those of them the setup names."""
    levers = list(scn.levers)
    if s.levers is None:
        return levers
    names = [lv.name for lv in levers]
    for i, ln in enumerate(s.levers):
        if ln not in names:
            problems.append((f"{path}.levers[{i}]", f"unknown lever {ln!r}{did_you_mean(ln, names)}; levers of "
                             f"scenario {scn.name!r}: {', '.join(names) or 'none'}"))
    return [lv for lv in levers if lv.name in s.levers]


def _setup_params(base: dict[str, Any], s: SetupSection, path: str, problems: list[Problem], ok: bool
                  ) -> dict[str, Any]:
    """The scenario's parameters with the setup's own, checked by building them (when nothing failed yet)."""
    pnames = parameter_aliases()
    params = dict(base)
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
    return params


def _targets(cfg: ExperimentConfig, sec: CalibrationSection, setups: dict[str, SetupSpec],
             problems: list[Problem]) -> list[TargetSpec]:
    """The observed targets, each tied to a setup (named, or the place's default setup)."""
    targets: list[TargetSpec] = []
    if not sec.targets:
        problems.append(("calibration.targets", "needs at least one [[calibration.targets]]"))
    for i, t in enumerate(sec.targets):
        path = f"calibration.targets[{i}]"
        setup = _target_setup(cfg, sec, t, setups, path, problems)
        if setup is None:
            continue
        if t.series is not None:
            if t.value is not None or t.date is not None:
                problems.append((path, "give either value and date, or series = [[\"YYYY-MM\", value], ...], "
                                 "not both"))
                continue
            if not t.series:
                problems.append((f"{path}.series", "needs at least one [\"YYYY-MM\", value] pair"))
                continue
            for j, pair in enumerate(t.series):
                if len(pair) != 2 or not isinstance(pair[0], str):
                    problems.append((f"{path}.series[{j}]", f"{pair!r} is not allowed: a pair [\"YYYY-MM\", value]"))
                    continue
                date, value = pair
                spec = _target(t, f"{i}_{j}", setup, f"{path}.series[{j}]", problems, value=value, date=date)
                if spec is not None:
                    targets.append(spec)
            continue
        if t.value is None or t.date is None:
            problems.append((path, "needs value and date (or series = [[\"YYYY-MM\", value], ...])"))
            continue
        spec = _target(t, str(i), setup, path, problems, value=t.value, date=t.date)
        if spec is not None:
            targets.append(spec)
    if targets and not any(t.role == "fit" for t in targets):
        problems.append(("calibration.targets", "needs at least one target with role = \"fit\""))
    return targets


def _target_setup(cfg: ExperimentConfig, sec: CalibrationSection, t: TargetSection, setups: dict[str, SetupSpec],
                  path: str, problems: list[Problem]) -> SetupSpec | None:
    """The setup a target names, or for ``place = ...`` that place's default setup (made once)."""
    if (t.setup is None) == (t.place is None):
        problems.append((path, "give either setup = \"<name of [calibration.setups]>\" or place = \"<preset or "
                         "[places.<key>]>\""))
        return None
    if t.setup is not None:
        if t.setup not in sec.setups:
            problems.append((f"{path}.setup", f"unknown setup {t.setup!r}{did_you_mean(t.setup, sec.setups)}; "
                             f"setups: {', '.join(sec.setups) or 'none defined'}"))
        return setups.get(t.setup)  # (None: the setup itself is invalid, already reported)
    known = {**places(), **cfg.places}
    if t.place not in known:
        problems.append((f"{path}.place", f"unknown place {t.place!r}{did_you_mean(t.place, known)}; "
                         f"places ([places.<key>] tables and presets): {', '.join(known)}"))
        return None
    name = t.place if t.place not in sec.setups else f"{t.place}_default"
    if name not in setups:
        spec = _setup(cfg, name, SetupSection(place=t.place), path, problems)
        if spec is None:
            return None
        setups[name] = spec
    return setups[name]


def _target(t: TargetSection, i: str, setup: SetupSpec, path: str, problems: list[Problem], *,
            value: float | str, date: str) -> TargetSpec | None:
    """A target resolved against its setup: a share of the model's, a value or bound, a month in the run."""
    indicators = [m for m in metric_names() if m.startswith("share_")]
    if t.indicator not in indicators:
        problems.append((f"{path}.indicator", f"unknown indicator {t.indicator!r}"
                         f"{did_you_mean(t.indicator, indicators)}; the model's shares: "
                         f"{', '.join(indicators[:6])}, ... (see diffusion.model.outputs)"))
        return None
    in_series = ".series[" in path  # (a series pair is named as a whole)
    where = path if in_series else f"{path}.value"
    try:
        op, share = parse_value(value)
    except ValueError as e:
        problems.append((where, f"{value!r} is not allowed: {e}"))
        return None
    cal = Calendar(setup.start, setup.months)
    try:
        month = cal.index(date, "date")
    except ParameterError as e:
        where = path if in_series else f"{path}.date"
        problems.append((where, f"{date!r} is not allowed: {e.allowed} (setup {setup.name!r} runs "
                         f"{setup.start} to {cal.label(setup.months)})"))
        return None
    if t.households is not None and t.households < 1:
        problems.append((f"{path}.households", f"{t.households!r} is not allowed: a whole number >= 1"))
        return None
    return TargetSpec(f"t{i}_{setup.name}_{t.indicator}", setup.name, t.indicator, op, share, date, month,
                      t.households, t.source, t.note, t.role)


def _check_build(setups: dict[str, SetupSpec], problems: list[Problem]) -> None:
    """Build (not run) each setup's model once to bind its levers (hamlets, schedules)."""
    for s in setups.values():
        try:
            build_model(s.place, s.scale, s.start, s.months, s.params, s.levers)
        except (ParameterError, TypeError, ValueError, KeyError, IndexError) as e:
            problems.append((f"calibration.setups.{s.name}", f"cannot be built: {type(e).__name__}: {e}"))
