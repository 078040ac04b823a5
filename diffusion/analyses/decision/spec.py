"""The ``[optimisation]`` table: which lever settings to choose, what to minimise or maximise, under which
constraints, how sure (replicates, posterior draws, mean or quantile), and the robustness and scenario-discovery
questions asked of the answer.

A config's ``[optimisation]`` table (see docs/decision.md)::

    [optimisation]
    scenario = "programme"      # the scenario whose levers and parameters the decisions override
    replicates = 10             # runs per candidate, the same seeds for every candidate (common random numbers)
    draws = 0                   # posterior draws per candidate ([uncertainties]); 0: the model's defaults
    statistic = "mean"          # or "quantile" (with quantile = 0.8)
    population = 50             # NSGA-II population
    generations = 100           # candidate evaluations = population x generations

    [optimisation.variables.members]
    target = "levers.teams.members_per_team"
    lower = 0
    upper = 12                  # whole numbers when the setting is; levels = [...] for a categorical one

    [optimisation.objectives.offline]
    kind = "households_without" # share_at | households_without | month_reached | cost | gap
    metric = "share_internet"
    date = "2025-12"
    sense = "min"

    [optimisation.constraints.budget]
    kind = "cost"
    date = "2025-12"
    max = 1.5e9                 # VND at 2022 prices

``[optimisation.robustness]`` re-evaluates the Pareto set and the scenarios it names over posterior draws
against ``targets``; ``[optimisation.discovery]`` runs PRIM on the draws where a policy misses a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.messages import Problem, check_output, outcome_month, validate_table
from diffusion.experiments.scenarios import ScenarioSpec, check_value, default_scenario, param_is_integer
from diffusion.experiments.schema import StrictModel
from diffusion.experiments.uncertainties import resolve_target
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.text import did_you_mean, key_path, show

OUTCOME_KINDS = ("share_at", "households_without", "month_reached", "cost", "gap")
#: spawn_key of the stream that picks the posterior draws of a search and of a robustness check.
DRAWS_STREAM_KEY = (0x6F707469,)  # "opti"


# ======================================================================== the tables
class OutcomeKeys(StrictModel):
    """An outcome measured on every run of a candidate."""

    kind: Literal[OUTCOME_KINDS] = Field(  # type: ignore[valid-type]
        description="share_at (a metric at date), households_without (households lacking it at date), "
        "month_reached (months from the start until metric >= share; never: months + 1), cost (VND spent by "
        "date), gap (metric minus `minus` at date, e.g. the richest quintile's share minus the poorest's).")
    metric: str = Field("share_internet", description="Monthly output (cost: cum_cost_total or cum_cost.<lever>).")
    date: str | None = Field(None, description='"YYYY-MM" (default: the last month).')
    share: float | None = Field(None, gt=0, le=1, description="Level of month_reached (0-1).")
    minus: str | None = Field(None, description="The metric subtracted by gap (e.g. share_internet_q1).")


class ObjectiveSection(OutcomeKeys):
    """An objective: an outcome to minimise or maximise."""

    sense: Literal["min", "max"] = "min"


class LimitSection(OutcomeKeys):
    """A constraint or target: an outcome kept at most ``max`` and/or at least ``min``."""

    max: float | None = None
    min: float | None = None


class VariableSection(StrictModel):
    """A decision variable: a lever setting with bounds (real, whole numbers) or levels (categorical)."""

    target: str | None = Field(None, description="levers.<lever>.<setting> of the base scenario.")
    lower: float | None = None
    upper: float | None = None
    levels: list[Any] | None = Field(None, min_length=2, description="Categorical values.")
    integer: bool | None = Field(None, description="Whole numbers (default: when the setting is a whole number).")
    split: list[str] | None = Field(None, min_length=2, max_length=2, description=(
        "Instead of target: two lever settings (levers.<lever>.<setting>, e.g. two budget_vnd) that share "
        "`total`: the variable is the first one's share (0-1, or lower/upper), the second gets the rest."))
    total: float | None = Field(None, gt=0, description="The amount the two settings of `split` share.")


class RobustnessSection(StrictModel):
    """Re-evaluate policies over posterior draws."""

    policies: list[str] = Field(default_factory=list, description="Scenarios of the config to re-evaluate.")
    pareto: bool = Field(True, description="Also re-evaluate the Pareto set of the search.")
    pareto_max: int = Field(24, ge=1, le=10_000, description="At most this many Pareto mixes, evenly spread along "
                            "the cost (or first) objective from the cheapest to the dearest.")
    draws: int = Field(32, ge=2, le=100_000, description="Posterior draws ([uncertainties] of the config).")
    replicates: int = Field(1, ge=1, le=1000)
    probability: float = Field(0.8, gt=0, le=1, description="The answer's required probability of meeting "
                               "every target.")
    targets: dict[str, LimitSection] = Field(min_length=1)


class DiscoverySection(StrictModel):
    """PRIM on the uncertain parameters of the draws where a policy misses a target."""

    policy: str | None = Field(None, description="A policy of the robustness table (default: the answer).")
    target: str | None = Field(None, description="A robustness target (default: the first).")
    min_coverage: float = Field(0.5, gt=0, le=1, description="Boxes are chosen on the peeling trajectory as the "
                                "densest with at least this coverage.")
    boxes: int = Field(2, ge=1, le=10)
    peel_alpha: float = Field(0.05, gt=0, lt=0.5)


class OptimisationSection(StrictModel):
    """The [optimisation] table."""

    scenario: str | None = None
    replicates: int = Field(10, ge=1, le=10_000)
    draws: int = Field(0, ge=0, le=10_000)
    seed: int | None = Field(None, ge=0)
    statistic: Literal["mean", "quantile"] = "mean"
    quantile: float = Field(0.5, gt=0, lt=1)
    interval: float = Field(0.9, gt=0, lt=1)
    population: int = Field(40, ge=4, le=10_000)
    generations: int = Field(25, ge=1, le=100_000)
    runs_per_task: int | None = Field(None, ge=1, le=100_000)
    variables: dict[str, VariableSection] = Field(default_factory=dict)
    objectives: dict[str, ObjectiveSection] = Field(default_factory=dict)
    constraints: dict[str, LimitSection] = Field(default_factory=dict)
    robustness: RobustnessSection | None = None
    discovery: DiscoverySection | None = None


# ======================================================================== resolved
@dataclass(frozen=True)
class Outcome:
    """A resolved outcome (``t``: month index of its date; ``sense`` of objectives, ``max``/``min`` of limits)."""

    name: str
    kind: str
    metric: str
    t: int
    date: str
    share: float | None = None
    minus: str | None = None
    sense: str = "min"
    max: float | None = None
    min: float | None = None

    def met(self, value):
        """Whether ``value`` (a number or an array) keeps the limits."""
        ok = value == value  # NaN never meets
        if self.max is not None:
            ok = ok & (value <= self.max)
        if self.min is not None:
            ok = ok & (value >= self.min)
        return ok


@dataclass(frozen=True)
class Variable:
    """A decision variable: the lever setting it sets and its domain."""

    name: str
    lever: str
    setting: str
    type: str  # "real" | "int" | "choice"
    lower: float | None = None
    upper: float | None = None
    levels: tuple[Any, ...] = ()
    #: a share of ``total`` between two lever settings (the first is ``lever``/``setting``): ((lever, setting),) * 2
    split: tuple[tuple[str, str], ...] = ()
    total: float | None = None

    def settings(self, shown: Any) -> dict[tuple[str, str], Any]:
        """(lever, setting) -> value of a decision as shown: one setting, or the two that share ``total``."""
        if self.split:
            share = float(shown)
            return {self.split[0]: share * self.total, self.split[1]: (1.0 - share) * self.total}
        return {(self.lever, self.setting): self.value(shown)}

    @property
    def labels(self) -> list[Any]:
        """The levels as the search and the tables show them (a list level as its items joined by "+")."""
        return [level_label(v) for v in self.levels]

    def value(self, shown: Any) -> Any:
        """The setting's value of a decision as shown (a level's label back to the level)."""
        return self.levels[self.labels.index(shown)] if self.type == "choice" else shown

    @property
    def floor(self) -> Any:
        """The least intensive value: the lower bound, or the first level (its label)."""
        return self.labels[0] if self.type == "choice" else (int(self.lower) if self.type == "int" else self.lower)


def level_label(value: Any) -> Any:
    """A categorical level as a table cell: a list as its items joined by "+", a table (a fibre schedule hamlet ->
    month, say) as "key: value" pairs joined by "; "."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {level_label(v)}" for k, v in value.items())
    return "+".join(map(str, value)) if isinstance(value, list | tuple) else value


@dataclass
class DecisionSpec:
    """A validated [optimisation] table."""

    base: ScenarioSpec
    seed: int
    replicates: int
    draws: int
    statistic: str
    quantile: float
    interval: float
    population: int
    generations: int
    runs_per_task: int | None
    variables: list[Variable]
    objectives: list[Outcome]
    constraints: list[Outcome]
    robustness: RobustnessSection | None = None
    targets: list[Outcome] = field(default_factory=list)
    policies: list[ScenarioSpec] = field(default_factory=list)
    discovery: DiscoverySection | None = None

    @property
    def searches(self) -> bool:
        return bool(self.variables and self.objectives)

    @property
    def outcomes(self) -> list[Outcome]:
        """Every outcome a candidate's runs must give (objectives, constraints, targets), by name."""
        out: dict[str, Outcome] = {}
        for o in (*self.objectives, *self.constraints, *self.targets):
            out.setdefault(o.name, o)
        return list(out.values())


def validate_optimisation(cfg: ExperimentConfig) -> DecisionSpec:
    """Check a config's [optimisation] table against the config; the resolved spec.

    Raises:
        ConfigError: naming ``optimisation.<...>`` paths, with "did you mean" hints.
    """
    raw = cfg.data.get("optimisation")
    if raw is None:
        raise cfg.error("optimisation", "is required for `diffusion optimise`: add an [optimisation] table")
    sec: OptimisationSection = validate_table(OptimisationSection, raw, ("optimisation",), cfg.file)
    problems: list[Problem] = []
    base = default_scenario(cfg.scenarios, sec.scenario)
    if base is None:
        problems.append(("optimisation.scenario", f"unknown scenario {sec.scenario!r}"
                         f"{did_you_mean(sec.scenario, list(cfg.scenarios))}; scenarios: {', '.join(cfg.scenarios)}"))
        raise ConfigError(cfg.file, problems)
    cal = Calendar(cfg.experiment.start, cfg.experiment.months)
    kinds = {lv.name: lv.kind for lv in base.levers}
    variables = [v for v in (_variable(k, s, base, kinds, cfg, problems) for k, s in sec.variables.items()) if v]
    objectives = [o for o in (_outcome(f"optimisation.objectives.{key_path(k)}", k, s, cal, kinds, problems)
                              for k, s in sec.objectives.items()) if o]
    constraints = [o for o in (_outcome(f"optimisation.constraints.{key_path(k)}", k, s, cal, kinds, problems)
                               for k, s in sec.constraints.items()) if o]
    for k, s in sec.constraints.items():
        if s.max is None and s.min is None:
            problems.append((f"optimisation.constraints.{key_path(k)}", "needs max or min (the limit to keep)"))
    if sec.variables and not sec.objectives:
        problems.append(("optimisation.objectives", "is required with variables: one or more outcomes to min/max"))
    if sec.objectives and not sec.variables:
        problems.append(("optimisation.variables", "is required with objectives: the lever settings to choose"))
    if not sec.variables and sec.robustness is None:
        problems.append(("optimisation", "has nothing to do: add variables and objectives (a search) or a "
                         "[optimisation.robustness] table"))
    spec = DecisionSpec(base, int(sec.seed if sec.seed is not None else cfg.experiment.seed), sec.replicates,
                        sec.draws, sec.statistic, sec.quantile, sec.interval, sec.population, sec.generations,
                        sec.runs_per_task, variables, objectives, constraints)
    if (sec.draws or sec.robustness is not None) and not cfg.uncertainties:
        problems.append(("optimisation.draws" if sec.draws else "optimisation.robustness",
                         "needs [uncertainties] to draw from (e.g. [uncertainties.\"*\"] with the posterior draws)"))
    _robustness(sec, spec, cfg, cal, kinds, problems)
    if problems:
        raise ConfigError(cfg.file, problems)
    return spec


def _robustness(sec: OptimisationSection, spec: DecisionSpec, cfg: ExperimentConfig, cal: Calendar,
                kinds: dict[str, str], problems: list[Problem]) -> None:
    rob = sec.robustness
    if rob is None:
        if sec.discovery is not None:
            problems.append(("optimisation.discovery", "needs [optimisation.robustness] (its draws and targets)"))
        return
    spec.robustness = rob
    spec.targets = [o for o in (_outcome(f"optimisation.robustness.targets.{key_path(k)}", k, s, cal, kinds,
                                         problems) for k, s in rob.targets.items()) if o]
    for k, s in rob.targets.items():
        if s.max is None and s.min is None:
            problems.append((f"optimisation.robustness.targets.{key_path(k)}", "needs max or min (the target)"))
    for i, name in enumerate(rob.policies):
        if name not in cfg.scenarios:
            problems.append((f"optimisation.robustness.policies[{i}]", f"unknown scenario {name!r}"
                             f"{did_you_mean(name, list(cfg.scenarios))}; scenarios: {', '.join(cfg.scenarios)}"))
        else:
            spec.policies.append(cfg.scenarios[name])
    if not rob.policies and not (rob.pareto and spec.searches):
        problems.append(("optimisation.robustness.policies", "names no policy: list scenarios, or search with "
                         "variables and objectives (pareto = true)"))
    disc = sec.discovery
    if disc is not None:
        spec.discovery = disc
        if disc.target is not None and disc.target not in rob.targets:
            problems.append(("optimisation.discovery.target", f"unknown target {disc.target!r}"
                             f"{did_you_mean(disc.target, list(rob.targets))}; targets: {', '.join(rob.targets)}"))


def _variable(key: str, sec: VariableSection, base: ScenarioSpec, kinds: dict[str, str], cfg: ExperimentConfig,
              problems: list[Problem]) -> Variable | None:
    path = f"optimisation.variables.{key_path(key)}"
    if sec.split is not None:
        return _split(path, key, sec, base, kinds, problems)
    if sec.target is None:
        problems.append((f"{path}.target", "is required: levers.<lever>.<setting> (or split and total)"))
        return None
    if not sec.target.startswith("levers."):
        problems.append((f"{path}.target", f"{sec.target!r} is not allowed: a lever setting levers.<lever>.<setting>"
                         " (model parameters are uncertainties, not decisions)"))
        return None
    target = resolve_target(sec.target, f"{path}.target", kinds, problems, scope=f"of scenario {base.name!r}",
                            dates=True)
    if target is None:
        return None
    _, lever, setting = target
    if sec.levels is not None:
        if sec.lower is not None or sec.upper is not None:
            problems.append((f"{path}.levels", "is not used with lower/upper: give levels or bounds"))
            return None
        var = Variable(key, lever, setting, "choice", levels=tuple(sec.levels))
    else:
        if sec.lower is None or sec.upper is None or not sec.lower < sec.upper:
            problems.append((f"{path}.upper" if sec.lower is not None else f"{path}.lower",
                             f"bounds lower < upper are required (got {show(sec.lower)}, {show(sec.upper)}), "
                             "or levels"))
            return None
        integer = sec.integer if sec.integer is not None else param_is_integer(target, {base.name: base})
        var = Variable(key, lever, setting, "int" if integer else "real", float(sec.lower), float(sec.upper))
    for value in (var.levels or (var.floor, int(var.upper) if var.type == "int" else var.upper)):
        msg = check_value(target, value, base)
        if msg:
            problems.append((f"{path}.levels" if var.levels else path, msg))
            return None
    return var


def _split(path: str, key: str, sec: VariableSection, base: ScenarioSpec, kinds: dict[str, str],
           problems: list[Problem]) -> Variable | None:
    """A share of ``total`` between two lever settings (a fixed budget allocated across two levers)."""
    if sec.target is not None or sec.levels is not None or sec.total is None:
        problems.append((path, "split takes total (and optionally lower/upper, shares 0-1), not target or levels"))
        return None
    lower = 0.0 if sec.lower is None else sec.lower
    upper = 1.0 if sec.upper is None else sec.upper
    if not 0.0 <= lower < upper <= 1.0:
        problems.append((f"{path}.upper", f"shares 0 <= lower < upper <= 1 are required (got {show(lower)}, "
                         f"{show(upper)})"))
        return None
    targets = []
    for i, text in enumerate(sec.split):
        target = resolve_target(text, f"{path}.split[{i}]", kinds, problems, scope=f"of scenario {base.name!r}")
        if target is None:
            return None
        if target[0] != "lever":
            problems.append((f"{path}.split[{i}]", f"{text!r} is not allowed: a lever setting "
                             "levers.<lever>.<setting>"))
            return None
        for value in (0.0, sec.total):
            msg = check_value(target, value, base)
            if msg:
                problems.append((f"{path}.split[{i}]", msg))
                return None
        targets.append(target[1:])
    if targets[0] == targets[1]:
        problems.append((f"{path}.split", "names the same setting twice"))
        return None
    return Variable(key, targets[0][0], targets[0][1], "real", lower, upper, split=tuple(targets),
                    total=float(sec.total))


def _outcome(path: str, key: str, sec: OutcomeKeys, cal: Calendar, kinds: dict[str, str],
             problems: list[Problem]) -> Outcome | None:
    when = outcome_month(cal, sec.date, f"{path}.date", problems)
    if when is None:
        return None
    date, t = when
    metric = sec.metric
    if sec.kind == "cost":
        metric = metric if "metric" in sec.model_fields_set else "cum_cost_total"
    for k, m in (("metric", metric), ("minus", sec.minus)):
        if m is not None and not check_output(m, f"{path}.{k}", kinds, problems):
            return None
    if (sec.kind == "month_reached") != (sec.share is not None):
        problems.append((f"{path}.share", "is required by kind = 'month_reached' (and used by no other kind)"))
        return None
    if (sec.kind == "gap") != (sec.minus is not None):
        problems.append((f"{path}.minus", "is required by kind = 'gap' (and used by no other kind)"))
        return None
    return Outcome(key, sec.kind, metric, cal.months if sec.kind == "month_reached" else t, date, sec.share,
                   sec.minus, getattr(sec, "sense", "min"), getattr(sec, "max", None), getattr(sec, "min", None))
