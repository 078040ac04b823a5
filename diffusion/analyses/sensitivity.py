"""Global sensitivity analysis of levers and uncertain parameters with SALib: Sobol indices and Morris screening.

A config's ``[sensitivity]`` table says what to vary, how to sample it and what to measure::

    [sensitivity]
    method = "sobol"            # or "morris" (trajectories, levels)
    n = 1024                    # Sobol base samples (a power of two); the design has n*(k+2) points
    second_order = false        # also S2 (then n*(2k+2) points)
    replicates = 5              # runs per design point (averaged); replicate noise is reported
    seed = 7                    # default: [experiment] seed

    [sensitivity.factors.subsidy_amount]
    target = "levers.subsidy.amount_vnd"   # a lever setting, or a model parameter ("smartphone.q")
    lower = 0
    upper = 1000000             # dist: uniform (default), loguniform, triangular (mode), normal/lognormal
    [sensitivity.factors.targeting]
    target = "levers.team.targeting"
    levels = ["random", "non_adopters_first", "poorest_first"]  # categorical: [0,1) cut in equal parts
    group = "team"              # optional: factors of a group move together and get one index

    [sensitivity.outcomes.internet_2025]
    kind = "share_at"           # share_at (value_at: any metric) | month_reached | cost_per_additional
    metric = "share_internet"
    date = "2025-12"

Every design point's runs use ``SeedSequence(seed, spawn_key=(replicate, base_sample))``: all points built
from one base sample (Sobol's A, B and AB_i rows; one Morris trajectory) share their random numbers, so the
differences SALib's estimators take are differences of factors, not of noise (common random numbers), and a
factor the model does not use gets an index of exactly zero. The reference of the cost outcome is the same
point (same factor values and seeds) with the programme levers off (``reference_off``, default every lever
that is not infrastructure).

The model can be replaced by a plain function (``analyse_function``): sampling, the mapping from the unit
cube to factor values and the SALib analysis are the same code for both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from diffusion.experiments.config import (
    ExperimentConfig,
    LeverSpec,
    ScenarioSpec,
    UncertaintySpec,
    _show,
    check_value,
    default_scenario,
    key_path,
    param_is_integer,
    scenario_levers,
    scenario_params,
    validate_table,
)
from diffusion.experiments.plan import RunSpec, Setup, Task, cut_tasks, ppf, seed_sequence, task_size
from diffusion.experiments.schema import StrictModel, lever_settings
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.text import did_you_mean
from diffusion.model.params import parameter_aliases

log = logging.getLogger(__name__)

#: spawn_key of the stream that seeds SALib's samplers and bootstraps (not a run's (replicate, point) key).
SAMPLER_STREAM_KEY = (0x73656E73,)  # "sens"
#: Below this many Sobol base samples the indices are flagged as unstable.
MIN_STABLE_N = 256
#: Below this many Morris trajectories the screening is flagged as unstable.
MIN_STABLE_TRAJECTORIES = 10
#: Runs per task: a task's runs are simulated together in batches (see ``diffusion.engine``), where a
#: village run of ~275 households over 60 months costs ~1.5 ms in a batch of 256 against ~30 ms alone.
RUNS_PER_TASK = 512
#: A batch holds at most this many households (all runs together), which bounds a worker's memory.
BATCH_HOUSEHOLDS = 150_000
OUTCOME_KINDS = ("share_at", "value_at", "month_reached", "cost_per_additional")
NUMERIC_DISTS = ("uniform", "loguniform", "triangular", "normal", "lognormal")


# ======================================================================== the [sensitivity] table
class FactorSection(StrictModel):
    """One factor: a lever setting or model parameter, its range or levels; or a dummy."""

    target: str | list[str] | None = Field(
        None, description="levers.<lever>.<setting> or a model parameter (default: the key); a list moves several "
        "together (the same value, or with relative = true the same multiplier).")
    relative: bool = Field(False, description="The value multiplies each target's base value (e.g. 0.5 to 2).")
    dist: Literal[NUMERIC_DISTS] | None = Field(None, description="Distribution (default uniform).")  # type: ignore
    lower: float | None = None
    upper: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    levels: list[Any] | None = Field(None, min_length=1, description="Categorical values, cut from [0,1).")
    integer: bool | None = None
    group: str | None = None
    dummy: bool = Field(False, description="A factor the model does not use (a check on the indices' noise).")


class OutcomeSection(StrictModel):
    """One outcome measured on every run."""

    kind: Literal[OUTCOME_KINDS]  # type: ignore[valid-type]
    metric: str = Field("share_internet", description="Monthly metric (share_at, month_reached).")
    date: str | None = Field(None, description="YYYY-MM (default: the last month).")
    share: float | None = Field(None, ge=0, le=1, description="Target share (month_reached).")
    indicator: str = Field("internet", description="Product of cost_per_additional.")
    min_additional: float = Field(1.0, gt=0, description="Floor on additional households (cost_per_additional).")


class SensitivitySection(StrictModel):
    """The [sensitivity] table."""

    method: Literal["sobol", "morris"]
    n: int | None = Field(None, ge=2, le=1_048_576, description="Sobol base samples (a power of two).")
    second_order: bool = False
    trajectories: int | None = Field(None, ge=2, le=100_000, description="Morris trajectories.")
    levels: int = Field(4, ge=2, le=64, description="Morris grid levels (even).")
    replicates: int = Field(5, ge=1, le=10_000)
    seed: int | None = Field(None, ge=0)
    scenario: str | None = Field(None, description="Scenario whose levers and parameters are the base.")
    reference_off: list[str] | None = Field(None, description="Levers switched off in the cost reference.")
    bootstrap: int = Field(1000, ge=10, le=100_000, description="Bootstrap resamples of the intervals.")
    conf_level: float = Field(0.95, gt=0, lt=1)
    runs_per_task: int | None = Field(None, ge=1, le=100_000)
    factors: dict[str, FactorSection] = Field(min_length=1)
    outcomes: dict[str, OutcomeSection] = Field(min_length=1)


# ======================================================================== resolved spec
@dataclass(frozen=True)
class Factor(UncertaintySpec):
    """A resolved factor: an uncertainty (name, target, distribution) that maps a unit-cube coordinate
    u in [0,1) to a value (see ``at``).

    Attributes (beyond UncertaintySpec's):
        target: ("model", flat key), ("lever", lever, setting) or ("dummy",).
        dist: a numeric distribution, "levels" (the choices in ``values``) or "dummy".
        group: the group name (itself when not grouped).
        also: further targets set with the same value (or multiplier).
        relative: the value is a multiplier of each target's base value (``base``, one per target).
    """

    group: str = ""
    also: tuple[tuple[str, ...], ...] = ()
    relative: bool = False
    base: tuple[float, ...] = ()

    @property
    def path(self) -> str:
        return f"sensitivity.factors.{key_path(self.name)}"

    @property
    def targets(self) -> tuple[tuple[str, ...], ...]:
        return (self.target, *self.also)

    def settings(self, value: Any) -> list[tuple[tuple[str, ...], Any]]:
        """(target, value) pairs that one factor value sets (multiplied by each base when relative)."""
        if self.dist == "dummy":
            return []
        if self.relative:
            return [(t, float(value) * b) for t, b in zip(self.targets, self.base)]
        return [(t, value) for t in self.targets]

    def at(self, u: np.ndarray) -> list[Any]:
        """Factor values at unit coordinates ``u`` (levels: ``floor(u * len(levels))``)."""
        u = np.asarray(u, dtype=float)
        if self.dist == "levels":
            idx = np.clip((u * len(self.values)).astype(np.int64), 0, len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.dist == "dummy":
            return [float(x) for x in u]
        if self.integer and self.dist == "uniform":  # whole numbers lower..upper, each equally likely
            lo, hi = math.ceil(self.lower), math.floor(self.upper)
            return [int(x) for x in np.clip(lo + np.floor(u * (hi - lo + 1)), lo, hi)]
        v = np.asarray(ppf(self, np.clip(u, 1e-9, 1 - 1e-9) if self.dist in ("normal", "lognormal") else u),
                       dtype=float)
        if self.integer:
            return [int(x) for x in np.round(v)]
        return [float(x) for x in v]


@dataclass(frozen=True)
class Outcome:
    """A resolved outcome: ``t`` the month index of ``date``."""

    name: str
    kind: str
    metric: str
    t: int
    date: str
    share: float | None = None
    indicator: str = "internet"
    min_additional: float = 1.0


@dataclass
class SensitivitySpec:
    """A validated [sensitivity] table against its config.

    Attributes:
        factors: in file order; ``groups`` the group of each (None when no factor is grouped).
        base: the scenario whose levers and parameters the factors override.
        reference_off: levers switched off in the cost reference (empty without cost outcomes).
        warnings: about N (power of two, size) and replicates; also logged.
    """

    method: str
    n: int
    second_order: bool
    levels: int
    replicates: int
    seed: int
    factors: list[Factor]
    outcomes: list[Outcome]
    base: ScenarioSpec | None = None
    reference_off: tuple[str, ...] = ()
    bootstrap: int = 1000
    conf_level: float = 0.95
    runs_per_task: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def groups(self) -> list[str] | None:
        if all(f.group == f.name for f in self.factors):
            return None
        return [f.group for f in self.factors]

    @property
    def index_names(self) -> list[str]:
        """Names the indices are reported for: the groups (in first-seen order) or the factors."""
        return list(dict.fromkeys(self.groups)) if self.groups else self.names

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem on the unit cube (factor values come from ``Factor.values``)."""
        p: dict[str, Any] = {"num_vars": len(self.factors), "names": self.names,
                             "bounds": [[0.0, 1.0]] * len(self.factors)}
        if self.groups:
            p["groups"] = self.groups
        return p

    @property
    def step(self) -> int:
        """Design rows per base sample (Sobol) or trajectory (Morris)."""
        k = len(self.index_names)
        if self.method == "morris":
            return k + 1
        return 2 * k + 2 if self.second_order else k + 2

    @property
    def needs_reference(self) -> bool:
        return any(o.kind == "cost_per_additional" for o in self.outcomes)


def _sampler_seed(seed: int) -> int:
    return int(np.random.SeedSequence(int(seed), spawn_key=SAMPLER_STREAM_KEY).generate_state(1)[0])


def _size_warnings(method: str, n: int, replicates: int | None) -> list[str]:
    out = []
    if method == "sobol":
        if n & (n - 1):
            out.append(f"n = {n} is not a power of two: Sobol sequences lose their balance; use "
                       f"{1 << (n - 1).bit_length()} or {1 << (n.bit_length() - 1)}")
        if n < MIN_STABLE_N:
            out.append(f"n = {n} base samples is small: expect wide intervals and unstable rankings "
                       f"(use at least {MIN_STABLE_N}; check the convergence chart)")
    elif n < MIN_STABLE_TRAJECTORIES:
        out.append(f"{n} Morris trajectories is few: use at least {MIN_STABLE_TRAJECTORIES}")
    if replicates is not None and replicates < 2:
        out.append("replicates = 1: the replicate noise in the outcomes cannot be measured")
    return out


def validate_sensitivity(cfg: ExperimentConfig) -> SensitivitySpec:
    """Check a config's [sensitivity] table against the config; the resolved spec.

    Raises:
        ConfigError: naming ``sensitivity.<...>`` paths, with "did you mean" hints for unknown names.
    """
    raw = cfg.data.get("sensitivity")
    if raw is None:
        raise cfg.error("sensitivity", "is required for `diffusion sensitivity`: add a [sensitivity] table")
    sec: SensitivitySection = validate_table(SensitivitySection, raw, ("sensitivity",), cfg.file)
    problems: list[tuple[str, str]] = []
    # method-specific sizes
    if sec.method == "sobol":
        if sec.n is None:
            problems.append(("sensitivity.n", "is required for method = 'sobol' (base samples, a power of two)"))
        if sec.trajectories is not None:
            problems.append(("sensitivity.trajectories", "is not used by method = 'sobol' (use n)"))
    else:
        if sec.trajectories is None:
            problems.append(("sensitivity.trajectories", "is required for method = 'morris'"))
        if sec.n is not None:
            problems.append(("sensitivity.n", "is not used by method = 'morris' (use trajectories)"))
        if sec.second_order:
            problems.append(("sensitivity.second_order", "is not used by method = 'morris'"))
        if sec.levels % 2:
            problems.append(("sensitivity.levels", f"{sec.levels} is not allowed: an even number of levels"))
    # base scenario
    scenarios = cfg.scenarios
    base = default_scenario(cfg, sec.scenario)
    if base is None:
        problems.append(("sensitivity.scenario", (f"unknown scenario {sec.scenario!r}"
                         f"{did_you_mean(sec.scenario, list(scenarios))}; scenarios: {', '.join(scenarios)}")))
        base = next(iter(scenarios.values()))
    kinds = {lv.name: lv.kind for lv in base.levers}
    factors = [f for f in (_resolve_factor(k, v, base, kinds, problems) for k, v in sec.factors.items()) if f]
    names = [f.name for f in factors]
    if any(f.group != f.name for f in factors):
        for f in factors:
            if f.group in names and f.group != f.name:
                problems.append((f"sensitivity.factors.{key_path(f.name)}.group",
                                 f"{f.group!r} is not allowed: a group must not be named like another factor"))
    outcomes = [o for o in (_resolve_outcome(k, v, cfg, kinds, problems) for k, v in sec.outcomes.items()) if o]
    ref_off: tuple[str, ...] = ()
    if any(o.kind == "cost_per_additional" for o in outcomes):
        if sec.reference_off is None:
            ref_off = tuple(n for n, k in kinds.items() if k != "infrastructure")
        else:
            for i, n in enumerate(sec.reference_off):
                if n not in kinds:
                    problems.append((f"sensitivity.reference_off[{i}]",
                                     (f"unknown lever {n!r}{did_you_mean(n, list(kinds))}"
                                      f"; levers: {', '.join(kinds) or 'none'}")))
            ref_off = tuple(sec.reference_off)
        if not ref_off and not problems:
            problems.append(("sensitivity.reference_off", ("switches no lever off: the cost reference would equal "
                             "every design point")))
    elif sec.reference_off is not None:
        problems.append(("sensitivity.reference_off", "is not used without a cost_per_additional outcome"))
    if problems:
        raise ConfigError(cfg.file, problems)
    n = int(sec.n if sec.method == "sobol" else sec.trajectories)
    seed = int(sec.seed if sec.seed is not None else cfg.experiment.seed)
    spec = SensitivitySpec(sec.method, n, bool(sec.second_order), int(sec.levels), int(sec.replicates), seed,
                           factors, outcomes, base, ref_off, int(sec.bootstrap), float(sec.conf_level),
                           sec.runs_per_task)
    spec.warnings = _size_warnings(sec.method, n, spec.replicates)
    if cfg.uncertainties:
        spec.warnings.append("[uncertainties] are not varied by `diffusion sensitivity`: declare what should vary "
                             "as [sensitivity.factors.<name>]")
    return spec


def _resolve_factor(key: str, sec: FactorSection, base: ScenarioSpec, kinds: dict[str, str],
                    problems: list[tuple[str, str]]) -> Factor | None:
    path = f"sensitivity.factors.{key_path(key)}"
    group = sec.group or key
    if sec.dummy:
        extra = [k for k in ("target", "dist", "lower", "upper", "mode", "mean", "sd", "levels")
                 if getattr(sec, k) is not None]
        if extra:
            problems.append((f"{path}.{extra[0]}", "is not used by a dummy factor (dummy = true)"))
            return None
        return Factor(key, ("dummy",), "dummy", 0.0, 1.0, group=group)
    names = sec.target if isinstance(sec.target, list) else [sec.target or key]
    tpath = f"{path}.target" if sec.target else path
    if not names:
        problems.append((tpath, "an empty list is not allowed: one or more parameters or lever settings"))
        return None
    targets = [_resolve_target(n, tpath, base, kinds, problems) for n in names]
    if any(t is None for t in targets):
        return None
    target = targets[0]
    bases: tuple[float, ...] = ()
    if sec.relative:
        if sec.levels is not None:
            problems.append((f"{path}.relative", "is not used with levels"))
            return None
        vals = [_base_value(t, base) for t in targets]
        bad = [n for n, v in zip(names, vals) if not isinstance(v, int | float) or isinstance(v, bool)]
        if bad:
            problems.append((f"{path}.relative", f"true is not allowed: {bad[0]!r} has no numeric base value"))
            return None
        bases = tuple(float(v) for v in vals)
    before = len(problems)
    if sec.levels is not None:
        extra = [k for k in ("dist", "lower", "upper", "mode", "mean", "sd") if getattr(sec, k) is not None]
        if extra:
            problems.append((f"{path}.{extra[0]}", "is not used with levels (a categorical factor)"))
            return None
        f = Factor(key, target, "levels", values=tuple(sec.levels), group=group, also=tuple(targets[1:]))
        candidates = list(sec.levels)
    else:
        dist = sec.dist or ("normal" if sec.mean is not None or sec.sd is not None else "uniform")
        need = {"uniform": {"lower", "upper"}, "loguniform": {"lower", "upper"},
                "triangular": {"lower", "upper", "mode"}, "normal": {"mean", "sd"}, "lognormal": {"mean", "sd"}}[dist]
        may = {"lower", "upper"} if dist in ("normal", "lognormal") else set()
        given = {k for k in ("lower", "upper", "mode", "mean", "sd") if getattr(sec, k) is not None}
        for k in sorted(need - given):
            problems.append((f"{path}.{k}", f"is required for dist = {dist!r}"))
        for k in sorted(given - need - may):
            problems.append((f"{path}.{k}", f"is not used by dist = {dist!r}"))
        lo, hi = sec.lower, sec.upper
        if lo is not None and hi is not None and not lo < hi:
            problems.append((f"{path}.upper", f"{hi!r} is not allowed: upper must be greater than lower ({lo!r})"))
        if dist == "loguniform" and lo is not None and lo <= 0:
            problems.append((f"{path}.lower", f"{lo!r} is not allowed: loguniform needs lower > 0"))
        if dist == "triangular" and None not in (lo, hi, sec.mode) and not lo <= sec.mode <= hi:
            problems.append((f"{path}.mode", f"{sec.mode!r} is not allowed: a value between lower and upper"))
        if len(problems) > before:
            return None
        integer = sec.integer if sec.integer is not None else (
            not sec.relative and param_is_integer(target, {base.name: base}))
        f = Factor(key, target, dist, lo, hi, sec.mode, sec.mean, sec.sd, integer=bool(integer), group=group,
                   also=tuple(targets[1:]), relative=bool(sec.relative), base=bases)
        candidates = f.at(np.array([0.0, 0.5, 1.0 - 1e-12]))
    for v in candidates:
        for t, tv in f.settings(v):
            msg = check_value(UncertaintySpec(key, t, "choice", values=(tv,)), tv, base)
            if msg:
                problems.append((f"{path}.levels" if sec.levels is not None else path, msg))
                return None
    return f


def _resolve_target(name: str, tpath: str, base: ScenarioSpec, kinds: dict[str, str],
                    problems: list[tuple[str, str]]) -> tuple[str, ...] | None:
    pnames = parameter_aliases()
    if not isinstance(name, str):
        problems.append((tpath, f"{_show(name)} is not allowed: a parameter or lever setting name in quotes"))
        return None
    if name.startswith("levers."):
        parts = name.split(".")
        if len(parts) != 3:
            problems.append((tpath, f"{name!r}: a lever setting is named levers.<lever>.<setting>"))
            return None
        _, lever, setting = parts
        if lever not in kinds:
            problems.append((tpath, (f"unknown lever {lever!r}{did_you_mean(lever, list(kinds))}; levers of scenario "
                             f"{base.name!r}: {', '.join(kinds) or 'none defined'}")))
            return None
        settings = list(lever_settings(kinds[lever]))
        if setting not in settings:
            problems.append((tpath, (f"unknown setting {setting!r} of lever {lever!r} ({kinds[lever]})"
                             f"{did_you_mean(setting, settings)}; settings: {', '.join(settings)}")))
            return None
        return ("lever", lever, setting)
    if name in pnames:
        return ("model", pnames[name])
    problems.append((tpath, (f"unknown parameter {name!r}{did_you_mean(name, list(pnames))}: a model parameter "
                     "(e.g. rewiring, \"smartphone.q\") or levers.<lever>.<setting>")))
    return None


def _base_value(target: tuple[str, ...], base: ScenarioSpec) -> Any:
    """The value a target has in the base scenario (model default or lever default when not set)."""
    if target[0] == "model":
        params = scenario_params(base)
        key = target[1]
        if "." in key:
            prod, f = key.split(".", 1)
            return getattr(params.products[prod], f)
        return getattr(params, key)
    _, lever, setting = target
    lv = next(lv for lv in base.levers if lv.name == lever)
    if setting in lv.settings:
        return lv.settings[setting]
    return lever_settings(lv.kind)[setting][1]


def _resolve_outcome(key: str, sec: OutcomeSection, cfg: ExperimentConfig, kinds: dict[str, str],
                     problems: list[tuple[str, str]]) -> Outcome | None:
    from diffusion.foundation.calendar import Calendar
    from diffusion.foundation.errors import ParameterError
    from diffusion.model.outputs import metric_names
    from diffusion.model.products import INDICATORS

    path = f"sensitivity.outcomes.{key_path(key)}"
    cal = Calendar(cfg.experiment.start, cfg.experiment.months)
    date = sec.date or cal.label(cal.months)
    try:
        t = cal.index(date, "date")
    except ParameterError as e:
        problems.append((f"{path}.date", f"{_show(date)} is not allowed: {e.allowed}"))
        return None
    set_ = sec.model_fields_set
    if sec.kind == "cost_per_additional":
        if sec.indicator not in INDICATORS:
            problems.append((f"{path}.indicator", (f"{sec.indicator!r} is not allowed: one of {', '.join(INDICATORS)}"
                             f"{did_you_mean(sec.indicator, list(INDICATORS))}")))
            return None
        for k in ("metric", "share"):
            if k in set_:
                problems.append((f"{path}.{k}", "is not used by kind = 'cost_per_additional' (use indicator)"))
                return None
        if not kinds:
            problems.append((path, "needs levers to compare with a reference without them"))
            return None
        return Outcome(key, sec.kind, f"share_{sec.indicator}", t, date, indicator=sec.indicator,
                       min_additional=sec.min_additional)
    allowed = list(metric_names()) + ["cost_total", "cum_cost_total"] + \
        [f"{p}{n}" for n in kinds for p in ("cost.", "cum_cost.")]
    if sec.metric not in allowed:
        problems.append((f"{path}.metric", (f"{sec.metric!r} is not allowed: a monthly metric such as "
                         f"share_internet{did_you_mean(sec.metric, allowed)}")))
        return None
    for k in ("indicator", "min_additional"):
        if k in set_:
            problems.append((f"{path}.{k}", f"is not used by kind = {sec.kind!r}"))
            return None
    if sec.kind == "month_reached":
        if sec.share is None:
            problems.append((f"{path}.share", "is required for kind = 'month_reached' (the target share, 0-1)"))
            return None
        if "date" in set_:
            problems.append((f"{path}.date", "is not used by kind = 'month_reached'"))
            return None
        return Outcome(key, sec.kind, sec.metric, cal.months, cal.label(cal.months), share=float(sec.share))
    if sec.share is not None:
        problems.append((f"{path}.share", f"is not used by kind = {sec.kind!r}"))
        return None
    return Outcome(key, sec.kind, sec.metric, t, date)


# ======================================================================== sampling and analysis (shared)
def sample_unit(problem: dict[str, Any], method: str, n: int, seed: int, *, second_order: bool = False,
                levels: int = 4) -> np.ndarray:
    """The SALib design on the unit cube: rows in SALib's order (blocks of ``step`` rows per base sample)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # our own warnings about n are clearer
        if method == "sobol":
            from SALib.sample import sobol

            return sobol.sample(problem, int(n), calc_second_order=second_order, scramble=True,
                                seed=_sampler_seed(seed))
        from SALib.sample import morris

        return morris.sample(problem, int(n), num_levels=levels, seed=_sampler_seed(seed))


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
    bs = _sampler_seed(seed) + 1
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


def _analyse_all(spec: SensitivitySpec, X: np.ndarray, Y: dict[str, np.ndarray], design: pd.DataFrame,
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
        out.append(Factor(name, ("function", name), "uniform", float(lo), float(hi), group=g))
    return out


def _design_table(spec: SensitivitySpec, X: np.ndarray) -> tuple[pd.DataFrame, list[list[Any]]]:
    """Design rows: row, base_sample, u:<factor> and each factor's value (levels as JSON text)."""
    step = spec.step
    design = pd.DataFrame({"row": np.arange(len(X), dtype=np.int64),
                           "base_sample": np.arange(len(X), dtype=np.int64) // step})
    values = []
    for j, f in enumerate(spec.factors):
        design[f"u:{f.name}"] = X[:, j]
        v = f.at(X[:, j])
        values.append(v)
        design[f.name] = [json.dumps(x, ensure_ascii=False) for x in v] if f.dist == "levels" else v
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
        spec.warnings = _size_warnings(method, int(n), None)
    X = sample_unit(spec.problem, spec.method, spec.n, spec.seed, second_order=spec.second_order,
                    levels=spec.levels)
    design, values = _design_table(spec, X)
    V = np.column_stack([np.asarray(v, dtype=float) for v in values])
    if spec.replicates > 1:
        runs = np.column_stack([np.asarray(func(V, r), dtype=float) for r in range(spec.replicates)])
    else:
        runs = np.asarray(func(V), dtype=float)[:, None]
    Y = runs.mean(axis=1)
    design["y"] = Y
    noise = pd.DataFrame([_noise("y", runs)])
    return _analyse_all(spec, X, {"y": Y}, design, noise)


def _noise(name: str, runs: np.ndarray) -> dict[str, Any]:
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


# ======================================================================== the model's design as tasks
@dataclass(frozen=True)
class SensitivityTask(Task):
    """A Task (see ``diffusion.plan``) that also says which values to record from each run.

    ``record``: (column, metric, how, month, share) with how "at" (the metric at month) or "reach" (first
    month the metric is at least share, NaN if never).
    """

    record: tuple[tuple[str, str, str, int, float], ...] = ()


def _records(spec: SensitivitySpec) -> tuple[tuple[str, str, str, int, float], ...]:
    out: dict[str, tuple[str, str, str, int, float]] = {}
    for o in spec.outcomes:
        if o.kind in ("share_at", "value_at"):
            out[f"{o.metric}@{o.t}"] = (f"{o.metric}@{o.t}", o.metric, "at", o.t, 0.0)
        elif o.kind == "month_reached":
            k = f"reach:{o.metric}:{o.share}"
            out[k] = (k, o.metric, "reach", o.t, float(o.share))
        else:
            for m in (o.metric, "cum_cost_total", "households"):
                out[f"{m}@{o.t}"] = (f"{m}@{o.t}", m, "at", o.t, 0.0)
    return tuple(out.values())


def evaluate_task(task: Task, execution: int = 0) -> pd.DataFrame:
    """Run a SensitivityTask's runs (in a worker); one row per run with the recorded values.

    The runs are simulated together in batches (``engine.run_batch``): runs that share the mechanism,
    the active products and the levers' names, up to ``BATCH_HOUSEHOLDS`` households per batch. Each run
    gives exactly the numbers it gives alone; only the recorded outputs are kept, month by month.
    """
    from diffusion.experiments.execution import test_crash_hook
    from diffusion.foundation.sources import place as get_place
    from diffusion.model.engine import BatchRun, run_batch
    from diffusion.model.outputs import BASIC_METRICS, metric_names
    from diffusion.model.params import ModelParams

    test_crash_hook(task.id, execution)
    s = task.setup
    rec = getattr(task, "record", ())
    metrics = sorted({r[1] for r in rec})
    detail = bool(set(metrics) & (set(metric_names()) - set(BASIC_METRICS)))  # shares by quintile or age group
    params_of: dict[str, ModelParams] = {}
    batches: dict[tuple, list[int]] = {}
    prepared = []
    for i, run in enumerate(task.runs):
        key = json.dumps(run.params, sort_keys=True, default=str)
        if key not in params_of:
            params_of[key] = ModelParams().with_overrides(run.params)
        prm = params_of[key]
        prepared.append(prm)
        kind = (prm.mechanism, tuple(prm.active_products), prm.homogeneous,
                tuple((lv.kind, lv.name) for lv in run.levers))
        batches.setdefault(kind, []).append(i)
    households = max(1.0, get_place(s.place).households * s.scale) if isinstance(s.place, str) else 1.0
    per_batch = max(1, int(BATCH_HOUSEHOLDS // households))
    rows: list[dict[str, Any] | None] = [None] * len(task.runs)
    for members in batches.values():
        for j in range(0, len(members), per_batch):
            chunk = members[j:j + per_batch]
            runs = [task.runs[i] for i in chunk]
            engine = run_batch(s.place, s.scale, s.start, s.months, [
                BatchRun(seed_sequence(s.seed, run.replicate, run.design_point), prepared[i], list(run.levers))
                for i, run in zip(chunk, runs)], detail=detail)
            zero = np.zeros(len(chunk))
            series = {m: [engine.outputs.get(m, zero)] for m in metrics}
            for _ in range(s.months):
                engine.step()
                for m in metrics:
                    series[m].append(engine.outputs.get(m, zero))
            grid = {m: np.stack(v) for m, v in series.items()}  # (months + 1, runs)
            for b, (i, run) in enumerate(zip(chunk, runs)):
                row: dict[str, Any] = {"scenario": run.scenario, "replicate": run.replicate,
                                       "design_point": run.design_point}
                for col, m, how, t, share in rec:
                    v = grid[m][:, b]
                    if how == "at":
                        row[col] = float(v[t])
                    else:
                        hit = np.flatnonzero(v >= share - 1e-12)
                        row[col] = float(hit[0]) if hit.size else np.nan
                rows[i] = row
    return pd.DataFrame(rows)


@dataclass
class ModelDesign:
    """The model runs of a sensitivity design.

    Attributes:
        X: unit-cube design (rows, factors); design: its table.
        tasks: SensitivityTasks; run scenario "x<row>" for design rows, "ref<i>" for references.
        ref_of_row: the reference index of each design row (-1 without a reference).
    """

    spec: SensitivitySpec
    setup: Setup
    X: np.ndarray
    design: pd.DataFrame
    tasks: list[SensitivityTask]
    ref_of_row: np.ndarray
    n_refs: int

    @property
    def n_runs(self) -> int:
        return sum(len(t.runs) for t in self.tasks)


def make_design(cfg: ExperimentConfig, spec: SensitivitySpec) -> ModelDesign:
    """Sample the design and cut its runs (rows x replicates, plus references) into tasks.

    References are shared: design rows of one base sample with the same model parameters and the same
    settings of the levers that stay on in the reference have one reference run per replicate.
    """
    exp = cfg.experiment
    setup = Setup(cfg.population.place, float(cfg.population.scale), exp.start, int(exp.months), spec.seed)
    X = sample_unit(spec.problem, spec.method, spec.n, spec.seed, second_order=spec.second_order,
                    levels=spec.levels)
    design, values = _design_table(spec, X)
    base = spec.base
    step = spec.step
    runs: list[RunSpec] = []
    refs: dict[tuple, int] = {}
    ref_of_row = np.full(len(X), -1, dtype=np.int64)
    ref_runs: list[tuple[int, dict[str, Any], tuple[LeverSpec, ...]]] = []
    needs_reference = spec.needs_reference
    # levers switched off keep the base settings: a lever that is off does the same whatever its settings
    switched_off = {b.name: LeverSpec(b.kind, b.name, {**b.settings, "enabled": False}) for b in base.levers
                    if b.name in spec.reference_off}
    # a reference is set by the base sample and the factors that act on it (model parameters, levers kept on)
    acting_on_reference = [j for j, f in enumerate(spec.factors) if f.dist != "dummy" and any(
        t[0] == "model" or t[1] not in switched_off for t in f.targets)]
    for k in range(len(X)):
        g = k // step
        params = dict(base.params)
        lever_over: dict[tuple[str, str], Any] = {}
        for f, v in zip(spec.factors, values):
            for t, tv in f.settings(v[k]):
                if t[0] == "model":
                    params[t[1]] = tv
                elif t[0] == "lever":
                    lever_over[(t[1], t[2])] = tv
        levers = tuple(scenario_levers(base, lever_over))
        for r in range(spec.replicates):
            runs.append(RunSpec(f"x{k}", r, g, params, levers))
        if needs_reference:
            key = (g, *(_frozen(values[j][k]) for j in acting_on_reference))
            if key not in refs:
                refs[key] = len(refs)
                ref_runs.append((g, params, tuple(switched_off.get(lv.name, lv) for lv in levers)))
            ref_of_row[k] = refs[key]
    for i, (g, params, ref_levers) in enumerate(ref_runs):
        for r in range(spec.replicates):
            runs.append(RunSpec(f"ref{i}", r, g, params, ref_levers))
    runs.sort(key=lambda rs: (rs.design_point, rs.replicate))  # stable: a task's runs share base samples
    size = task_size(len(runs), int(spec.runs_per_task or exp.runs_per_task or RUNS_PER_TASK))
    tasks = cut_tasks(runs, setup, size, SensitivityTask, record=_records(spec))
    return ModelDesign(spec, setup, X, design, tasks, ref_of_row, len(ref_runs))


def _frozen(value: Any) -> Any:
    """A factor value as a dictionary key (levels may be lists)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


def outcomes_from_runs(md: ModelDesign, runs: pd.DataFrame) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Per outcome: the replicate means per design row (analysed) and the noise table."""
    spec = md.spec
    n_rows, R = len(md.X), spec.replicates
    runs = runs.copy()
    is_ref = runs["scenario"].str.startswith("ref")
    runs["idx"] = runs["scenario"].str.slice(3).where(is_ref, runs["scenario"].str.slice(1)).astype(np.int64)

    def grid(frame: pd.DataFrame, col: str, n: int) -> np.ndarray:
        a = np.full((n, R), np.nan)
        a[frame["idx"].to_numpy(), frame["replicate"].to_numpy()] = frame[col].to_numpy(dtype=float)
        return a

    xs, rs = runs[~is_ref], runs[is_ref]
    Y: dict[str, np.ndarray] = {}
    noise = []
    for o in spec.outcomes:
        if o.kind in ("share_at", "value_at"):
            per = grid(xs, f"{o.metric}@{o.t}", n_rows)
            y = per.mean(axis=1)
        elif o.kind == "month_reached":
            per = grid(xs, f"reach:{o.metric}:{o.share}", n_rows)
            per = np.where(np.isnan(per), md.setup.months + 1, per)  # never reached: censored at months + 1
            y = per.mean(axis=1)
        else:
            share = grid(xs, f"{o.metric}@{o.t}", n_rows)
            cost = grid(xs, f"cum_cost_total@{o.t}", n_rows)
            hh = grid(xs, f"households@{o.t}", n_rows)
            ri = md.ref_of_row
            rshare = grid(rs, f"{o.metric}@{o.t}", md.n_refs)[ri]
            rcost = grid(rs, f"cum_cost_total@{o.t}", md.n_refs)[ri]
            extra_hh = (share - rshare) * hh
            extra_cost = cost - rcost
            per = extra_cost / np.maximum(extra_hh, o.min_additional)
            y = extra_cost.mean(axis=1) / np.maximum(extra_hh.mean(axis=1), o.min_additional)
        if np.isnan(per).any():
            raise RuntimeError(f"outcome {o.name!r}: {int(np.isnan(per).sum())} runs missing")
        Y[o.name] = y
        noise.append(_noise(o.name, per))
    return Y, pd.DataFrame(noise)


# ======================================================================== running, resumable
@dataclass
class SensitivityOutcome:
    """What ``run_sensitivity`` did: the result (None if runs failed), counts and the folder."""

    out_dir: Path
    result: SensitivityResult | None
    runs: int
    tasks: int
    skipped_tasks: int
    failures: list[Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.failures


def _design_hash(cfg: ExperimentConfig, md: ModelDesign) -> str:
    h = hashlib.sha256(cfg.sha256.encode())
    h.update(pd.util.hash_pandas_object(md.design, index=False).to_numpy().tobytes())
    h.update(json.dumps([md.setup.__dict__, len(md.tasks), md.tasks[0].record if md.tasks else ()],
                        default=str).encode())
    return h.hexdigest()


def run_sensitivity(cfg: ExperimentConfig | str | Path, out_dir: str | Path | None = None, *,
                    workers: int | None = None, scheduler: str | None = None,
                    executor: Executor | Callable[[], Executor] | None = None, fresh: bool = False,
                    quiet: bool = False, charts: bool = True) -> SensitivityOutcome:
    """Sample, run (resuming finished tasks), analyse and write a sensitivity study.

    Args:
        cfg: a config (or its path) with a [sensitivity] table.
        out_dir: results folder (default ``results/<experiment name>``).
        workers: local worker processes (default: cores; 0: in this process).
        scheduler: a Dask scheduler address ("tcp://host:port") instead of local processes.
        executor: any Executor or factory of executors instead of the above.
        fresh: discard earlier results in ``out_dir``.
        quiet: no progress bar.
        charts: draw the charts (Sobol or Morris, convergence).

    Raises:
        ConfigError: a bad config, or ``out_dir`` holds another study (use ``fresh``).
    """
    import time

    from diffusion.experiments.config import load_config
    from diffusion.experiments.execution import executors_for

    t0 = time.perf_counter()
    if not isinstance(cfg, ExperimentConfig):
        cfg = load_config(cfg)
    spec = validate_sensitivity(cfg)
    ex = executors_for(workers, scheduler, executor, start_now=True)  # local workers start while the design is made
    try:
        return _run_sensitivity(cfg, spec, out_dir, ex, fresh, quiet, charts, t0)
    finally:
        ex.close()


def _run_sensitivity(cfg: ExperimentConfig, spec: SensitivitySpec, out_dir, ex, fresh: bool, quiet: bool,
                     charts: bool, t0: float) -> SensitivityOutcome:
    import time

    from diffusion.experiments.execution import execute
    from diffusion.experiments.results import package_versions, write_json, write_parquet

    md = make_design(cfg, spec)
    out = Path(out_dir) if out_dir is not None else Path("results") / cfg.name
    parts = out / "sensitivity" / "parts"
    digest = _design_hash(cfg, md)
    manifest_path = out / "manifest.json"
    if fresh:
        if (out / "sensitivity").exists():
            shutil.rmtree(out / "sensitivity")
        for stem in ("sobol", "morris", "sensitivity_convergence"):
            for ext in ("png", "svg", "pdf"):
                (out / "charts" / f"{stem}.{ext}").unlink(missing_ok=True)
        manifest_path.unlink(missing_ok=True)
    elif manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("kind") != "sensitivity" or old.get("design_sha256") != digest:
            raise ConfigError(cfg.file, [("sensitivity", (f"{out} holds results of another config or design; use "
                                          "--fresh to replace them or --out for another folder"))])
    done = {p.stem for p in parts.glob("task-*.parquet")} if parts.exists() else set()
    todo = [t for t in md.tasks if t.id not in done]
    manifest = {"kind": "sensitivity", "experiment": cfg.name, "config_file": cfg.file, "config_sha256": cfg.sha256,
                "design_sha256": digest, "method": spec.method, "n": spec.n, "replicates": spec.replicates,
                "seed": spec.seed, "factors": spec.names, "outcomes": [o.name for o in spec.outcomes],
                "design_rows": len(md.X), "reference_runs_per_replicate": md.n_refs, "runs": md.n_runs,
                "tasks": len(md.tasks), "packages": package_versions(), "warnings": spec.warnings,
                "status": "running"}
    write_json(manifest_path, manifest)

    from tqdm.auto import tqdm

    bar = tqdm(total=md.n_runs, initial=md.n_runs - sum(len(t.runs) for t in todo), unit="run", desc=cfg.name,
               disable=quiet or None, leave=False, dynamic_ncols=True)
    try:
        failures = execute(todo, ex.factory, work=evaluate_task,
                           on_result=lambda task, frame: write_parquet(parts / f"{task.id}.parquet", frame),
                           window=2 * ex.workers, on_progress=lambda t: bar.update(len(t.runs)))
    finally:
        bar.close()
    if failures:
        manifest.update(status="failed", failures=[f.describe() for f in failures])
        write_json(manifest_path, manifest)
        return SensitivityOutcome(out, None, md.n_runs, len(md.tasks), len(md.tasks) - len(todo), failures,
                                  time.perf_counter() - t0)
    frames = [pd.read_parquet(parts / f"{t.id}.parquet") for t in md.tasks]
    runs = pd.concat(frames, ignore_index=True)
    Y, noise = outcomes_from_runs(md, runs)
    design = md.design.copy()
    for k, y in Y.items():
        design[k] = y
    result = _analyse_all(spec, md.X, Y, design, noise)
    write_outputs(result, out, language=cfg.outputs.language, charts=charts)
    manifest.update(status="done", seconds=round(time.perf_counter() - t0, 3))
    write_json(manifest_path, manifest)
    return SensitivityOutcome(out, result, md.n_runs, len(md.tasks), len(md.tasks) - len(todo), [],
                              time.perf_counter() - t0)


def write_outputs(result: SensitivityResult, out: str | Path, *, language: str = "en", charts: bool = True) -> None:
    """Tables under ``out/sensitivity/`` (indices CSV+Parquet, sobol/morris wide, design, noise,
    convergence) and charts under ``out/charts/``."""
    from diffusion.experiments.results import atomic_write, write_parquet

    d = Path(out) / "sensitivity"

    def both(name: str, frame: pd.DataFrame) -> None:
        write_parquet(d / f"{name}.parquet", frame)
        atomic_write(d / f"{name}.csv", lambda p: frame.to_csv(p, index=False))

    both("indices", result.indices)
    both("noise", result.noise)
    both("convergence", result.convergence)
    if result.sobol is not None:
        both("sobol", result.sobol)
    if result.morris is not None:
        both("morris", result.morris)
    if result.s2 is not None:
        both("s2", result.s2)
    write_parquet(d / "design.parquet", result.design)
    if charts:
        from diffusion.presentation.charts import morris_chart, save, sobol_chart
        from diffusion.presentation.charts.sensitivity import convergence_chart

        cdir = Path(out) / "charts"
        if result.sobol is not None:
            save(sobol_chart(result.sobol, language), cdir / "sobol")
        if result.morris is not None:
            save(morris_chart(result.morris, language), cdir / "morris")
        save(convergence_chart(result.convergence, language), cdir / "sensitivity_convergence")


# ======================================================================== CLI
def sensitivity_command(args: argparse.Namespace) -> int:
    """Handler of ``diffusion sensitivity`` (arguments from ``diffusion.cli``): 0 done, 1 runs failed, 2 bad
    config."""
    try:
        res = run_sensitivity(args.config, args.out, workers=args.workers, scheduler=args.scheduler,
                              fresh=args.fresh, quiet=args.quiet)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    if not res.ok:
        print(f"{len(res.failures)} task(s) failed; see {res.out_dir / 'manifest.json'}; rerun to retry them",
              file=sys.stderr)
        return 1
    if not args.quiet:
        r = res.result
        for w in r.warnings:
            print(f"warning: {w}", file=sys.stderr)
        cols = ["S1", "ST"] if r.method == "sobol" else ["mu_star", "sigma"]
        table = r.sobol if r.method == "sobol" else r.morris
        with pd.option_context("display.width", 140, "display.max_rows", 200):
            print(table.sort_values(["outcome", cols[-1]], ascending=[True, False])
                  .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(r.noise.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(f"{res.runs} runs ({res.skipped_tasks} of {res.tasks} tasks resumed) in {res.seconds:.1f} s; "
              f"results in {res.out_dir}")
    return 0


def sensitivity_main(argv: Sequence[str] | None = None) -> int:
    """``python -m diffusion.sensitivity CONFIG ...``: the same as ``diffusion sensitivity CONFIG ...``."""
    from diffusion.cli import main as cli_main

    return cli_main(["sensitivity", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(sensitivity_main())
