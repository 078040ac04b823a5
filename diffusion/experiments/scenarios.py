"""Scenarios resolved against the base config: each scenario's model parameters and levers, where each
value was set (to name the config path in messages), and checks of values against the real objects."""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from diffusion.experiments.messages import join_path, validate_table
from diffusion.experiments.schema import (
    DEFAULT_SCENARIO,
    LEVER_MODELS,
    LEVER_NAME,
    LEVER_OVERRIDE_MODELS,
    ConfigFile,
    lever_settings,
)
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import Place
from diffusion.foundation.text import did_you_mean, key_path, show
from diffusion.model.adoption import AdoptionModel
from diffusion.model.levers import LEVER_TYPES, Lever, LeverContext, make_lever
from diffusion.model.params import ModelParams
from diffusion.model.products import PRODUCTS

#: Where a parameter is set: ("model", flat ModelParams key) or ("lever", lever name, setting).
Target = tuple[str, ...]


@dataclass(frozen=True)
class LeverSpec:
    """One lever of a scenario: its kind, name and the settings written in the config (VND, months...)."""

    kind: str
    name: str
    settings: dict[str, Any]

    def build(self) -> Lever:
        """The lever object (``diffusion.levers.make_lever``)."""
        return make_lever(self.kind, self.name, **self.settings)


@dataclass
class ScenarioSpec:
    """A scenario resolved against the base config.

    Attributes:
        params: flat ModelParams overrides ("rewiring", "smartphone.q") of [model] and the scenario.
        levers: the levers of the scenario, base levers first (with the scenario's overrides).
        origins: flat parameter key or "levers.<name>.<setting>" -> the config path that set it.
    """

    name: str
    description: str
    reference: bool
    params: dict[str, Any]
    levers: list[LeverSpec]
    origins: dict[str, str] = field(default_factory=dict)


def check_lever_table(name: str, table: dict[str, Any], prefix: tuple[Any, ...], base_kind: str | None,
                       problems: list[tuple[str, str]]) -> tuple[str | None, dict[str, Any] | None]:
    """Validate one lever table; return (kind, settings as written) or (None, None)."""
    path = join_path(prefix)
    if not LEVER_NAME.match(name):
        problems.append((path, (f"lever name {name!r} is not allowed: letters, digits, '_' or '-', starting with a "
                         "letter or '_' (it becomes part of column names such as cost.<name>)")))
        return None, None
    kind = table.get("kind")
    kinds = list(LEVER_TYPES)
    if base_kind is None:
        if kind is None:
            problems.append((f"{path}.kind", f"is required but missing: one of {', '.join(map(repr, kinds))}"))
            return None, None
        if not isinstance(kind, str) or kind not in LEVER_TYPES:
            problems.append((f"{path}.kind", (f"{show(kind)} is not allowed: one of {', '.join(map(repr, kinds))}"
                             f"{did_you_mean(kind, kinds)}")))
            return None, None
        model = LEVER_MODELS[kind]
    else:
        if kind is not None and kind != base_kind:
            problems.append((f"{path}.kind", (f"{show(kind)} is not allowed: a scenario cannot change a lever's kind "
                             f"({base_kind!r}); define a new lever with another name instead")))
            return None, None
        kind = base_kind
        model = LEVER_OVERRIDE_MODELS[kind]
    before = len(problems)
    validate_table(model, table, prefix, "", problems)
    if len(problems) > before:
        return None, None
    settings = {k: v for k, v in table.items() if k != "kind"}
    return kind, settings


def resolve_levers(tables: dict[str, dict[str, Any]], problems: list[tuple[str, str]]) -> dict[str, LeverSpec]:
    out: dict[str, LeverSpec] = {}
    for name, table in tables.items():
        kind, settings = check_lever_table(name, table, ("levers", name), None, problems)
        if kind is not None and settings is not None:
            out[name] = LeverSpec(kind, name, settings)
    return out


def flat_model(section: BaseModel | None, prefix: str) -> tuple[dict[str, Any], dict[str, str]]:
    """[model]-shaped table -> flat overrides for ModelParams.with_overrides, and their config paths."""
    params: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if section is None:
        return params, origins
    for key, value in section.model_dump(exclude_unset=True).items():
        if key == "products":
            for prod, fields_ in (value or {}).items():
                for f, v in (fields_ or {}).items():
                    params[f"{prod}.{f}"] = v
                    origins[f"{prod}.{f}"] = f"{prefix}.products.{prod}.{f}"
        else:
            params[key] = tuple(value) if isinstance(value, list) else value
            origins[key] = f"{prefix}.{key}"
    return params, origins


def resolve_scenarios(sections: ConfigFile, data: dict[str, Any], levers: dict[str, LeverSpec],
                       problems: list[tuple[str, str]]) -> tuple[dict[str, ScenarioSpec], str | None]:
    base_params, base_origins = flat_model(sections.model, "model")
    base_origins.update({f"levers.{n}.{k}": f"levers.{n}.{k}" for n, lv in levers.items() for k in lv.settings})
    refs = [n for n, s in sections.scenarios.items() if s.reference]
    if len(refs) > 1:
        problems.append((f"scenarios.{key_path(refs[1])}.reference",
                         (f"true is not allowed: at most one scenario is the reference, and {', '.join(refs)} are "
                          "all marked reference = true")))
    raw_scenarios = data.get("scenarios", {})
    if not sections.scenarios:
        return {DEFAULT_SCENARIO: ScenarioSpec(DEFAULT_SCENARIO, "", False, dict(base_params), list(levers.values()),
                                               dict(base_origins))}, None
    out: dict[str, ScenarioSpec] = {}
    for name, scn in sections.scenarios.items():
        if not name.strip():
            problems.append(("scenarios", "a scenario name must not be empty"))
            continue
        sp = f"scenarios.{key_path(name)}"
        p, o = flat_model(scn.model, f"{sp}.model")
        params = {**base_params, **p}
        origins = {**base_origins, **o}
        specs = dict(levers)
        for lname, table in raw_scenarios.get(name, {}).get("levers", {}).items():
            base = levers.get(lname)
            if base is None and lname in data.get("levers", {}):
                continue  # the lever itself is invalid: already reported
            if base is None and "kind" not in table:
                known = list(levers)
                problems.append((f"{sp}.levers.{key_path(lname)}",
                                 (f"unknown lever {lname!r}{did_you_mean(lname, known)}: a scenario overrides a "
                                  f"lever of [levers] ({', '.join(known) or 'none defined'}) or defines a new one "
                                  "with its kind")))
                continue
            kind, settings = check_lever_table(lname, table, ("scenarios", name, "levers", lname),
                                                base.kind if base else None, problems)
            if kind is None or settings is None:
                continue
            merged = {**(base.settings if base else {}), **settings}
            specs[lname] = LeverSpec(kind, lname, merged)
            for k in settings:
                origins[f"levers.{lname}.{k}"] = f"{sp}.levers.{key_path(lname)}.{k}"
        out[name] = ScenarioSpec(name, scn.description, scn.reference, params, list(specs.values()), origins)
    return out, (refs[0] if refs else None)


def param_is_integer(target: tuple[str, ...], scenarios: dict[str, ScenarioSpec]) -> bool:
    if target[0] == "model":
        key = target[1]
        if "." in key:
            return False
        hint = typing.get_type_hints(ModelParams).get(key)
        return hint is int
    _, lever, setting = target
    for scn in scenarios.values():
        for lv in scn.levers:
            if lv.name == lever:
                typ, _ = lever_settings(lv.kind)[setting]
                return typ is int
    return False


def param_path(scn: ScenarioSpec, key: str) -> str:
    """Config path of ModelParams key ``key`` as set for scenario ``scn``."""
    if key in scn.origins:
        return scn.origins[key]
    if "." in key and key.split(".", 1)[0] in PRODUCTS:
        prod, f = key.split(".", 1)
        return f"model.products.{prod}.{f}"
    return f"model.{key}"


def lever_path(scn: ScenarioSpec, lever: str, setting: str) -> str:
    """Config path of a lever setting as set for scenario ``scn``."""
    return scn.origins.get(f"levers.{lever}.{setting}", f"levers.{key_path(lever)}.{setting}")


def param_problem(scn: ScenarioSpec, e: ParameterError) -> tuple[str, str]:
    name = e.name
    if isinstance(name, str) and name.startswith("levers."):
        rest = name[len("levers."):]
        lever, _, tail = rest.partition(".")
        m = re.match(r"[A-Za-z_]+", tail)
        setting = m.group(0) if m else ""
        path = lever_path(scn, lever, setting) + tail[len(setting):] if setting else f"levers.{lever}"
    elif e.where and any(lv.name == e.where for lv in scn.levers):
        path = lever_path(scn, e.where, str(name))
    else:
        path = param_path(scn, str(name))
    return path, f"{show(e.value)} is not allowed: {e.allowed}"


def scenario_params(scn: ScenarioSpec, extra: dict[str, Any] | None = None) -> ModelParams:
    """The ModelParams of a scenario (with ``extra`` flat overrides, e.g. a design point's values)."""
    return ModelParams().with_overrides({**scn.params, **(extra or {})})


def scenario_levers(scn: ScenarioSpec, extra: dict[tuple[str, str], Any] | None = None) -> list[LeverSpec]:
    """The lever specs of a scenario with ``extra`` (lever, setting) -> value overrides."""
    extra = extra or {}
    out = []
    for lv in scn.levers:
        more = {s: v for (n, s), v in extra.items() if n == lv.name}
        out.append(LeverSpec(lv.kind, lv.name, {**lv.settings, **more}) if more else lv)
    return out


def check_value(target: Target, value: Any, scn: ScenarioSpec) -> str | None:
    """Why ``value`` of the parameter ``target`` is not allowed in scenario ``scn`` (None if it is)."""
    try:
        if target[0] == "model":
            scenario_params(scn, {target[1]: value})
        else:
            _, lever, setting = target
            for lv in scenario_levers(scn, {(lever, setting): value}):
                if lv.name == lever:
                    lv.build()
    except ParameterError as e:
        return f"value {show(value)} for {e.name!r} is not allowed: {e.allowed}"
    except (TypeError, ValueError) as e:
        return f"value {show(value)} is not allowed: {e}"
    return None


def value_problem(target: Target, value: Any, scenarios: dict[str, ScenarioSpec]) -> str | None:
    """Why ``value`` of ``target`` is not allowed in some scenario (the first scenario's ``check_value``), or None."""
    for scn in scenarios.values():
        msg = check_value(target, value, scn)
        if msg:
            return msg
    return None


def default_scenario(scenarios: dict[str, ScenarioSpec], name: str | None = None) -> ScenarioSpec | None:
    """Scenario ``name``, or with no name the first non-reference scenario (else the first one).

    None when ``name`` is given but is not one of ``scenarios`` (the caller reports it).
    """
    if name is not None:
        return scenarios.get(name)
    return next((s for s in scenarios.values() if not s.reference), next(iter(scenarios.values())))


def check_objects(scn: ScenarioSpec, cal: Calendar, problems: list[tuple[str, str]]) -> None:
    """Build the scenario's parameters and levers (not bound) and check the levers' dates against ``cal``."""
    try:
        scenario_params(scn)
    except ParameterError as e:
        problems.append(param_problem(scn, e))
    except (TypeError, ValueError) as e:
        problems.append((f"scenarios.{key_path(scn.name)}.model", f"cannot be used: {e}"))
    for lv in scn.levers:
        try:
            lv.build()
        except ParameterError as e:
            problems.append(param_problem(scn, e))
            continue
        except (TypeError, ValueError) as e:
            problems.append((lever_path(scn, lv.name, ""), f"cannot be used: {e}"))
            continue
        for key in ("start", "end"):
            if lv.settings.get(key) is not None:
                try:
                    cal.index(lv.settings[key], key)
                except ParameterError as e:
                    problems.append((lever_path(scn, lv.name, key), f"{show(e.value)} is not allowed: {e.allowed}"))


def build_model(place: str | Place, scale: float, start: str, months: int, params: dict[str, Any],
                levers: tuple[LeverSpec, ...] | list[LeverSpec]) -> AdoptionModel:
    """A model of the place with ``levers`` bound to it, not run (raises what building or binding raises)."""
    return AdoptionModel(place, params=ModelParams().with_overrides(params), levers=[lv.build() for lv in levers],
                         start=start, months=months, scale=scale, seed=0, agents=False, collect=False)


def check_binding(sections: ConfigFile, scenarios: dict[str, ScenarioSpec], problems: list[tuple[str, str]],
                  place: Place | None = None) -> None:
    """Build one model of the place (``place``: a [places.<key>] table's, else the preset of [population]) and
    bind each scenario's levers to it (dates, hamlets, schedules)."""
    exp, pop = sections.experiment, sections.population
    first = next(iter(scenarios.values()))
    try:
        model = build_model(place or pop.place, pop.scale, exp.start, exp.months, first.params, ())
    except ParameterError as e:
        problems.append(param_problem(first, e))
        return
    for scn in scenarios.values():
        params = scenario_params(scn)
        ctx = LeverContext(model.calendar, model.population, model.network, model.streams, params)
        for spec in scn.levers:
            try:
                spec.build().bind(ctx)
            except ParameterError as e:
                problems.append(param_problem(scn, e))
            except (TypeError, ValueError, KeyError, IndexError) as e:
                problems.append((lever_path(scn, spec.name, ""), f"cannot be used: {type(e).__name__}: {e}"))
