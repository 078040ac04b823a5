"""Global sensitivity analysis of levers and uncertain parameters with SALib: Sobol indices and Morris screening.

This module is the ``[sensitivity]`` table and its resolution against the config; ``salib`` samples and
analyses, ``design`` turns the design into runs of the evaluation service, ``run`` runs a study.

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

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.distributions import NUMERIC, Distribution, DistributionKeys, read_distribution
from diffusion.experiments.messages import Problem, check_output, outcome_month, validate_table
from diffusion.experiments.scenarios import (
    ScenarioSpec,
    Target,
    check_value,
    default_scenario,
    param_is_integer,
    scenario_params,
)
from diffusion.experiments.schema import StrictModel, lever_settings
from diffusion.experiments.uncertainties import resolve_target
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.text import did_you_mean, key_path
from diffusion.model.products import INDICATORS

#: spawn_key of the stream that seeds SALib's samplers and bootstraps (not a run's (replicate, point) key).
SAMPLER_STREAM_KEY = (0x73656E73,)  # "sens"
#: Below this many Sobol base samples the indices are flagged as unstable.
MIN_STABLE_N = 256
#: Below this many Morris trajectories the screening is flagged as unstable.
MIN_STABLE_TRAJECTORIES = 10
OUTCOME_KINDS = ("share_at", "value_at", "month_reached", "cost_per_additional")


# ======================================================================== the [sensitivity] table
class FactorSection(DistributionKeys):
    """One factor: a lever setting or model parameter, its range or levels; or a dummy."""

    target: str | list[str] | None = Field(
        None, description="levers.<lever>.<setting> or a model parameter (default: the key); a list moves several "
        "together (the same value, or with relative = true the same multiplier).")
    relative: bool = Field(False, description="The value multiplies each target's base value (e.g. 0.5 to 2).")
    levels: list[Any] | None = Field(None, min_length=1, description="Categorical values, cut from [0,1).")
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

# ======================================================================== resolved
@dataclass(frozen=True, kw_only=True)
class Factor(Distribution):
    """A resolved factor: a distribution (see ``Distribution``; a coordinate u of the unit cube gives the
    value ``unit(u)``) over one or more targets.

    Attributes:
        name: the key as written in the config.
        target: ("model", flat key) or ("lever", lever, setting); ("dummy",) for a dummy.
        group: the group name (itself when not grouped).
        also: further targets set with the same value (or multiplier).
        relative: the value is a multiplier of each target's base value (``base``, one per target).
        dummy: a factor the model does not use (its value is u itself).
    """

    name: str
    target: Target
    group: str = ""
    also: tuple[Target, ...] = ()
    relative: bool = False
    base: tuple[float, ...] = ()
    dummy: bool = False

    @property
    def path(self) -> str:
        return f"sensitivity.factors.{key_path(self.name)}"

    @property
    def targets(self) -> tuple[Target, ...]:
        return (self.target, *self.also)

    def settings(self, value: Any) -> list[tuple[Target, Any]]:
        """(target, value) pairs that one factor value sets (multiplied by each base when relative)."""
        if self.dummy:
            return []
        if self.relative:
            return [(t, float(value) * b) for t, b in zip(self.targets, self.base)]
        return [(t, value) for t in self.targets]


@dataclass(frozen=True)
class StudyOutcome:
    """A resolved outcome of a study: what is measured on every run (``t``: the month index of ``date``)."""

    name: str
    kind: str
    metric: str
    t: int
    date: str
    share: float | None = None
    indicator: str = "internet"
    min_additional: float = 1.0


def sampler_seed(seed: int) -> int:
    """The seed of SALib's samplers and bootstraps, from the study's seed."""
    return int(np.random.SeedSequence(int(seed), spawn_key=SAMPLER_STREAM_KEY).generate_state(1)[0])


def size_warnings(method: str, n: int, replicates: int | None) -> list[str]:
    """Warnings about a design too small for stable indices (or replicates too few to measure noise)."""
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
    outcomes: list[StudyOutcome]
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


def validate_sensitivity(cfg: ExperimentConfig) -> SensitivitySpec:
    """Check a config's [sensitivity] table against the config; the resolved spec.

    Raises:
        ConfigError: naming ``sensitivity.<...>`` paths, with "did you mean" hints for unknown names.
    """
    raw = cfg.data.get("sensitivity")
    if raw is None:
        raise cfg.error("sensitivity", "is required for `diffusion sensitivity`: add a [sensitivity] table")
    sec: SensitivitySection = validate_table(SensitivitySection, raw, ("sensitivity",), cfg.file)
    problems: list[Problem] = []
    _check_method(sec, problems)
    # base scenario
    scenarios = cfg.scenarios
    base = default_scenario(scenarios, sec.scenario)
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
    ref_off = _reference_off(sec, outcomes, kinds, problems)
    if problems:
        raise ConfigError(cfg.file, problems)
    n = int(sec.n if sec.method == "sobol" else sec.trajectories)
    seed = int(sec.seed if sec.seed is not None else cfg.experiment.seed)
    spec = SensitivitySpec(sec.method, n, bool(sec.second_order), int(sec.levels), int(sec.replicates), seed,
                           factors, outcomes, base, ref_off, int(sec.bootstrap), float(sec.conf_level),
                           sec.runs_per_task)
    spec.warnings = size_warnings(sec.method, n, spec.replicates)
    if cfg.uncertainties:
        spec.warnings.append("[uncertainties] are not varied by `diffusion sensitivity`: declare what should vary "
                             "as [sensitivity.factors.<name>]")
    return spec


def _check_method(sec: SensitivitySection, problems: list[Problem]) -> None:
    """The sizes each method takes: n for Sobol, trajectories and an even number of levels for Morris."""
    if sec.method == "sobol":
        if sec.n is None:
            problems.append(("sensitivity.n", "is required for method = 'sobol' (base samples, a power of two)"))
        if sec.trajectories is not None:
            problems.append(("sensitivity.trajectories", "is not used by method = 'sobol' (use n)"))
        return
    if sec.trajectories is None:
        problems.append(("sensitivity.trajectories", "is required for method = 'morris'"))
    if sec.n is not None:
        problems.append(("sensitivity.n", "is not used by method = 'morris' (use trajectories)"))
    if sec.second_order:
        problems.append(("sensitivity.second_order", "is not used by method = 'morris'"))
    if sec.levels % 2:
        problems.append(("sensitivity.levels", f"{sec.levels} is not allowed: an even number of levels"))


def _reference_off(sec: SensitivitySection, outcomes: list[StudyOutcome], kinds: dict[str, str],
                   problems: list[Problem]) -> tuple[str, ...]:
    """The levers switched off in the reference of a cost outcome (default: every lever but infrastructure)."""
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
    return ref_off



def _resolve_factor(key: str, sec: FactorSection, base: ScenarioSpec, kinds: dict[str, str],
                    problems: list[Problem]) -> Factor | None:
    """A factor table resolved: its targets, distribution (levels: a choice) and base values when relative."""
    path = f"sensitivity.factors.{key_path(key)}"
    group = sec.group or key
    if sec.dummy:
        extra = [k for k in ("target", "dist", "lower", "upper", "mode", "mean", "sd", "levels", "values")
                 if getattr(sec, k) is not None]
        if extra:
            problems.append((f"{path}.{extra[0]}", "is not used by a dummy factor (dummy = true)"))
            return None
        return Factor(name=key, target=("dummy",), dist="uniform", lower=0.0, upper=1.0, group=group, dummy=True)
    names = sec.target if isinstance(sec.target, list) else [sec.target or key]
    tpath = f"{path}.target" if sec.target else path
    if not names:
        problems.append((tpath, "an empty list is not allowed: one or more parameters or lever settings"))
        return None
    targets = [resolve_target(n, tpath, kinds, problems, scope=f"of scenario {base.name!r}", dates=True)
               for n in names]
    if any(t is None for t in targets):
        return None
    bases = _bases(targets, names, sec, base, path, problems)
    if bases is None:
        return None
    if sec.levels is not None and sec.values is not None:
        problems.append((f"{path}.values", "is not used with levels (give the categories once, as levels)"))
        return None
    keys = sec.model_copy(update={"values": sec.levels}) if sec.levels is not None else sec
    found: list[Problem] = []
    dist = read_distribution(keys, path, found, allowed=(*NUMERIC, "choice"),
                             integer=not sec.relative and param_is_integer(targets[0], {base.name: base}))
    problems += [(p.replace(f"{path}.values", f"{path}.levels") if sec.levels is not None else p, m) for p, m in found]
    if dist is None:
        return None
    f = Factor(**dist.__dict__, name=key, target=targets[0], group=group, also=tuple(targets[1:]),
               relative=bool(sec.relative), base=bases)
    candidates = list(dist.values) if dist.dist == "choice" else f.unit(np.array([0.0, 0.5, 1.0 - 1e-12]))
    for v in candidates:
        for t, tv in f.settings(v):
            msg = check_value(t, tv, base)
            if msg:
                problems.append((f"{path}.levels" if sec.levels is not None else path, msg))
                return None
    return f


def _bases(targets: list[Target], names: list[str], sec: FactorSection, base: ScenarioSpec, path: str,
           problems: list[Problem]) -> tuple[float, ...] | None:
    """The base values a relative factor multiplies (() when not relative; None after a problem)."""
    if not sec.relative:
        return ()
    if sec.levels is not None:
        problems.append((f"{path}.relative", "is not used with levels"))
        return None
    vals = [_base_value(t, base) for t in targets]
    bad = [n for n, v in zip(names, vals) if not isinstance(v, int | float) or isinstance(v, bool)]
    if bad:
        problems.append((f"{path}.relative", f"true is not allowed: {bad[0]!r} has no numeric base value"))
        return None
    return tuple(float(v) for v in vals)


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
                     problems: list[Problem]) -> StudyOutcome | None:
    """An outcome table resolved: its kind's keys, the metric and the month it is read at."""
    path = f"sensitivity.outcomes.{key_path(key)}"
    cal = Calendar(cfg.experiment.start, cfg.experiment.months)
    when = outcome_month(cal, sec.date, f"{path}.date", problems)
    if when is None:
        return None
    date, t = when
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
        return StudyOutcome(key, sec.kind, f"share_{sec.indicator}", t, date, indicator=sec.indicator,
                       min_additional=sec.min_additional)
    if not check_output(sec.metric, f"{path}.metric", kinds, problems):
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
        return StudyOutcome(key, sec.kind, sec.metric, cal.months, cal.label(cal.months), share=float(sec.share))
    if sec.share is not None:
        problems.append((f"{path}.share", f"is not used by kind = {sec.kind!r}"))
        return None
    return StudyOutcome(key, sec.kind, sec.metric, t, date)
