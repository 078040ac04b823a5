"""Experiment config files: TOML -> validated objects, with errors a researcher can act on.

A config file has these tables (see docs/config-reference.md, generated from the schema in
``diffusion.config_schema`` by ``diffusion check --reference docs/config-reference.md``):

- ``[experiment]``: name, description, start month, months, replications, root seed;
- ``[population]``: the place preset and its scale;
- ``[model]``: the mechanism, the network and any ``ModelParams`` field; per product as
  ``[model.products.<product>]``;
- ``[levers.<name>]``: one policy lever each: ``kind`` plus that lever's settings;
- ``[scenarios.<name>]``: named overrides of levers (``levers.teams.enabled = false``) and of model
  parameters (``model.rewiring = 0.1``); at most one is the ``reference``;
- ``[uncertainties.<parameter>]``: a parameter's distribution (``lower``/``upper``/``dist``, a list of
  ``values``, or ``from`` a Parquet file of posterior draws);
- ``[design]``: how the uncertainties are sampled (``full_factorial`` or ``lhs``);
- ``[outputs]``: language of labels, charts, metrics;
- ``[calibration]``, ``[sensitivity]``: reserved for the calibration and sensitivity commands.

Every problem raises one error type, :class:`diffusion.errors.ConfigError`, whose message names the file,
the dotted field path and what is allowed; unknown keys get a "did you mean" hint. Lever settings and
model parameters are also checked by building the real objects (and, with ``build=True``, one model of
the place), so that every error appears at ``diffusion check`` time, before any run.

Example:
    >>> from diffusion.config import load_config
    >>> cfg = load_config("experiments/thon_dong.toml")  # doctest: +SKIP
    >>> cfg.scenarios["with_team"].levers  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import typing
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from diffusion.experiments.schema import (
    _LEVER_NAME,
    CHART_NAMES,
    DEFAULT_METRICS,
    DEFAULT_SCENARIO,
    LEVER_MODELS,
    LEVER_OVERRIDE_MODELS,
    MAX_HOUSEHOLDS,
    ConfigFile,
    DesignSection,
    ExperimentSection,
    OutputsSection,
    PopulationSection,
    UncertaintySection,
    _unwrap,
    lever_settings,
    reference_markdown,
)
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError, DiffusionError, ParameterError
from diffusion.foundation.sources import places
from diffusion.foundation.text import did_you_mean
from diffusion.model.levers import LEVER_TYPES, Lever, LeverContext, make_lever
from diffusion.model.outputs import metric_names
from diffusion.model.params import ModelParams, parameter_aliases
from diffusion.model.products import PRODUCTS


# ======================================================================== resolved
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


@dataclass(frozen=True)
class UncertaintySpec:
    """An uncertain parameter.

    Attributes:
        name: the key as written in the config (the design table's column).
        target: ("model", flat parameter key) or ("lever", lever name, setting).
        dist: one of DISTRIBUTIONS.
        integer: round values to whole numbers.
        source: the draws file (empirical only), resolved to an absolute path.
        column: the column of the draws file.
    """

    name: str
    target: tuple[str, ...]
    dist: str
    lower: float | None = None
    upper: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    values: tuple[Any, ...] | None = None
    integer: bool = False
    source: str | None = None
    column: str | None = None

    @property
    def path(self) -> str:
        return f"uncertainties.{key_path(self.name)}"

    def extremes(self) -> list[Any]:
        """Values at the edges of the distribution, used to check the parameter at config time."""
        if self.values is not None:
            return list(self.values)
        out = [v for v in (self.lower, self.upper, self.mode, self.mean) if v is not None]
        return [round(v) if self.integer else v for v in out]


@dataclass
class ExperimentConfig:
    """A validated config file with its scenarios, uncertainties and provenance.

    Attributes:
        file: the file as named by the user (used in messages).
        base_dir: directory that relative paths in the config are resolved against.
        text: the file's text as read.
        data: the parsed TOML.
        sha256: hash of the parsed content (comments and layout do not count) and of any draws files.
        sections: the validated tables (pydantic models).
        scenarios: name -> ScenarioSpec, in file order.
        reference: the reference scenario, if any.
        uncertainties: the uncertain parameters, in file order.
        draws: draws file path -> its table (empirical uncertainties).
    """

    file: str
    base_dir: Path
    text: str
    data: dict[str, Any]
    sha256: str
    sections: ConfigFile
    scenarios: dict[str, ScenarioSpec]
    reference: str | None
    uncertainties: list[UncertaintySpec]
    draws: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.sections.experiment.name

    @property
    def experiment(self) -> ExperimentSection:
        return self.sections.experiment

    @property
    def population(self) -> PopulationSection:
        return self.sections.population

    @property
    def design(self) -> DesignSection | None:
        return self.sections.design

    @property
    def outputs(self) -> OutputsSection:
        return self.sections.outputs

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.outputs.metrics) if self.outputs.metrics else DEFAULT_METRICS

    def error(self, path: str, text: str) -> ConfigError:
        """A ConfigError about ``path`` of this file."""
        return ConfigError(self.file, [(path, text)])


# ======================================================================== loading
def load_config(path: str | Path, *, build: bool = True) -> ExperimentConfig:
    """Read and validate a config file.

    Args:
        path: the TOML file.
        build: also build one model of the place and bind every scenario's levers to it (catches lever
            dates outside the window and unknown hamlets; about a second at province scale).

    Raises:
        ConfigError: for any problem, naming the file and the field path.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(str(path), f"cannot be read: {e.strerror or e}") from None
    return load_config_text(raw, source=str(path), base_dir=p.resolve().parent, build=build)


def load_config_text(
    text: str | bytes, *, source: str = "<config>", base_dir: str | Path | None = None, build: bool = True
) -> ExperimentConfig:
    """Validate config text (str, or bytes that must be UTF-8); see :func:`load_config`."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            line = bytes(text)[: e.start].count(b"\n") + 1
            raise ConfigError(
                source, f"is not UTF-8 text (byte 0x{bytes(text)[e.start]:02x} on line {line}); save it as UTF-8"
            ) from None
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, f"is not valid TOML: {e}") from None
    return load_config_data(data, source=source, base_dir=base_dir, text=text, build=build)


def load_config_data(
    data: dict[str, Any],
    *,
    source: str = "<config>",
    base_dir: str | Path | None = None,
    text: str | None = None,
    build: bool = True,
) -> ExperimentConfig:
    """Validate parsed TOML (a dict of tables); see :func:`load_config`."""
    if not isinstance(data, dict):
        raise ConfigError(source, "must be a TOML document of tables")
    data = _nfc(data)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    sections = validate_table(ConfigFile, data, (), source)
    exp = sections.experiment

    problems: list[tuple[str, str]] = []
    _check_population(sections, problems)
    _check_outputs(sections, problems)
    levers = _check_levers(data.get("levers", {}), problems)
    scenarios, reference = _resolve_scenarios(sections, data, levers, problems)
    _raise(source, problems)

    uncertainties, draws = _resolve_uncertainties(data.get("uncertainties", {}), scenarios, sections, base, problems)
    _raise(source, problems)
    _check_design(sections, uncertainties, problems)
    _raise(source, problems)

    cal = Calendar(exp.start, exp.months)
    for scn in scenarios.values():
        _check_objects(scn, cal, problems)
    _raise(source, problems)
    for unc in uncertainties:
        for value in unc.extremes():
            msg = value_problem(unc, value, scenarios)
            if msg:
                problems.append((unc.path, msg))
                break
    _raise(source, problems)
    if build:
        _check_binding(sections, scenarios, problems)
        _raise(source, problems)

    digest = config_hash(data, draws)
    return ExperimentConfig(
        file=source,
        base_dir=base,
        text=text if text is not None else "",
        data=data,
        sha256=digest,
        sections=sections,
        scenarios=scenarios,
        reference=reference,
        uncertainties=uncertainties,
        draws=draws,
    )


def config_hash(data: dict[str, Any], draws: dict[str, Any] | None = None) -> str:
    """SHA-256 of the parsed config (order kept; comments and layout ignored) and of any draws files."""
    h = hashlib.sha256(json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8"))
    for path in sorted(draws or {}):
        h.update(path.encode("utf-8"))
        try:
            h.update(hashlib.sha256(Path(path).read_bytes()).digest())
        except OSError:
            pass
    return h.hexdigest()


def _nfc(obj: Any) -> Any:
    """Unicode NFC for every key and text value (Vietnamese can be typed composed or decomposed)."""
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, dict):
        return {_nfc(k) if isinstance(k, str) else k: _nfc(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nfc(v) for v in obj]
    return obj


def _raise(source: str, problems: list[tuple[str, str]]) -> None:
    if problems:
        raise ConfigError(source, list(dict.fromkeys(problems)))


def key_path(key: Any) -> str:
    key = str(key)
    return key if re.match(r"^[A-Za-z0-9_\-]+$", key) else json.dumps(key, ensure_ascii=False)


def _join(loc: tuple[Any, ...]) -> str:
    out = ""
    for seg in loc:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + key_path(seg)
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------ pydantic -> messages
_ALLOWED: dict[str, str] = {
    "int_type": "a whole number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list [ ... ]",
    "none_required": "nothing",
}


def validate_table(model: type[BaseModel], data: Any, prefix: tuple[Any, ...], source: str,
              problems: list[tuple[str, str]] | None = None) -> Any:
    """``model.model_validate(data)``; errors become (path, text) problems, raised unless a list is given."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        found = _messages(e, model, data, prefix)
        if problems is None:
            raise ConfigError(source, found) from None
        problems.extend(found)
        return None


def _messages(exc: ValidationError, model: type[BaseModel], data: Any,
              prefix: tuple[Any, ...]) -> list[tuple[str, str]]:
    items: list[tuple[tuple[Any, ...], str, str]] = []  # (loc, kind, text)
    for err in exc.errors():
        loc = _clean_loc(data, err["loc"], err["type"])
        t = err["type"]
        inp = err.get("input")
        if t == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            text = f"unknown key {str(loc[-1])!r}{did_you_mean(loc[-1], allowed)}; allowed here: {', '.join(allowed)}"
        elif t == "missing":
            text = "is required but missing"
        elif t == "literal_error":
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            text = f"{_show(inp)} is not allowed: one of {', '.join(map(repr, expected))}{did_you_mean(inp, expected)}"
        else:
            allowed = _ALLOWED.get(t)
            if allowed is None:
                msg = err["msg"].removeprefix("Value error, ")
                allowed = msg[:1].lower() + msg[1:]
            text = f"{_show(inp)} is not allowed: {allowed}"
        items.append((loc, t, text))
    # a union reports one error per member: keep the deepest, merge the rest
    locs = [loc for loc, _, _ in items]
    merged: dict[tuple[Any, ...], list[str]] = {}
    for loc, _t, text in items:
        if any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs):
            continue
        merged.setdefault(loc, [])
        if text not in merged[loc]:
            merged[loc].append(text)
    out = []
    for loc, texts in merged.items():
        if len(texts) > 1 and all(" is not allowed: " in t for t in texts):
            head = texts[0].split(" is not allowed: ")[0]
            text = head + " is not allowed: " + " or ".join(t.split(" is not allowed: ", 1)[1] for t in texts)
        else:
            text = "; ".join(texts)
        out.append((_join(prefix + loc), text))
    return out


def _clean_loc(data: Any, loc: tuple[Any, ...], etype: str) -> tuple[Any, ...]:
    """Drop the union-member tags pydantic puts into error locations (segments absent from the input)."""
    out: list[Any] = []
    cur = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(cur, dict) and seg in cur
        if in_dict or (isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)):
            out.append(seg)
            cur = cur[seg]
        elif isinstance(cur, dict) and last and etype == "missing":
            out.append(seg)
    return tuple(out)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    types: list[Any] = [model]
    for seg in loc:
        nxt: list[Any] = []
        for tp in types:
            for t in _unwrap(tp):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    for name, f in t.model_fields.items():
                        if (f.alias or name) == seg:
                            nxt.append(f.annotation)
                elif typing.get_origin(t) is dict:
                    nxt.append(typing.get_args(t)[1])
                elif typing.get_origin(t) is list and isinstance(seg, int):
                    nxt.append(typing.get_args(t)[0])
        types = nxt
    keys: list[str] = []
    for tp in types:
        for t in _unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                keys += [f.alias or n for n, f in t.model_fields.items()]
    return keys


# ------------------------------------------------------------ section checks
def _check_population(sections: ConfigFile, problems: list[tuple[str, str]]) -> None:
    table = places()
    pop = sections.population
    if pop.place not in table:
        keys = list(table)
        problems.append(
            ("population.place", (f"{pop.place!r} is not allowed: one of {', '.join(map(repr, keys))}"
             f"{did_you_mean(pop.place, keys)}"))
        )
        return
    pl = table[pop.place]
    n = pl.households * pop.scale
    if n > MAX_HOUSEHOLDS:
        problems.append(("population.scale", (f"{pop.scale!r} is not allowed: {pl.name} at this scale has "
                         f"{n:,.0f} households, above the limit of {MAX_HOUSEHOLDS:,}")))
    elif pl.hamlets == 1 and round(pl.households * pop.scale) < 2:
        problems.append(("population.scale", f"{pop.scale!r} is not allowed: a factor giving at least 2 households"))


def _metric_allowed(name: str, lever_names: set[str]) -> bool:
    if name in metric_names() or name in ("cost_total", "cum_cost_total"):
        return True
    for pre in ("cost.", "cum_cost."):
        if name.startswith(pre) and name[len(pre):] in lever_names:
            return True
    return "." in name and name.split(".", 1)[0] in lever_names


def _check_outputs(sections: ConfigFile, problems: list[tuple[str, str]]) -> None:
    out = sections.outputs
    for i, c in enumerate(out.charts or []):
        if c not in CHART_NAMES:
            problems.append((f"outputs.charts[{i}]", (f"{c!r} is not allowed: one of "
                             f"{', '.join(map(repr, CHART_NAMES))}{did_you_mean(c, list(CHART_NAMES))}")))
    names = set(sections.levers) | {n for s in sections.scenarios.values() for n in s.levers}
    for i, m in enumerate(out.metrics or []):
        if not _metric_allowed(m, names):
            allowed = list(metric_names()) + ["cost_total", "cum_cost_total"]
            problems.append((f"outputs.metrics[{i}]", (f"{m!r} is not allowed: a monthly metric such as "
                             f"share_internet or cum_cost.<lever>{did_you_mean(m, allowed)}")))


def _check_lever_table(name: str, table: dict[str, Any], prefix: tuple[Any, ...], base_kind: str | None,
                       problems: list[tuple[str, str]]) -> tuple[str | None, dict[str, Any] | None]:
    """Validate one lever table; return (kind, settings as written) or (None, None)."""
    path = _join(prefix)
    if not _LEVER_NAME.match(name):
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
            problems.append((f"{path}.kind", (f"{_show(kind)} is not allowed: one of {', '.join(map(repr, kinds))}"
                             f"{did_you_mean(kind, kinds)}")))
            return None, None
        model = LEVER_MODELS[kind]
    else:
        if kind is not None and kind != base_kind:
            problems.append((f"{path}.kind", (f"{_show(kind)} is not allowed: a scenario cannot change a lever's kind "
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


def _check_levers(tables: dict[str, dict[str, Any]], problems: list[tuple[str, str]]) -> dict[str, LeverSpec]:
    out: dict[str, LeverSpec] = {}
    for name, table in tables.items():
        kind, settings = _check_lever_table(name, table, ("levers", name), None, problems)
        if kind is not None and settings is not None:
            out[name] = LeverSpec(kind, name, settings)
    return out


def _flat_model(section: BaseModel | None, prefix: str) -> tuple[dict[str, Any], dict[str, str]]:
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


def _resolve_scenarios(sections: ConfigFile, data: dict[str, Any], levers: dict[str, LeverSpec],
                       problems: list[tuple[str, str]]) -> tuple[dict[str, ScenarioSpec], str | None]:
    base_params, base_origins = _flat_model(sections.model, "model")
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
        p, o = _flat_model(scn.model, f"{sp}.model")
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
            kind, settings = _check_lever_table(lname, table, ("scenarios", name, "levers", lname),
                                                base.kind if base else None, problems)
            if kind is None or settings is None:
                continue
            merged = {**(base.settings if base else {}), **settings}
            specs[lname] = LeverSpec(kind, lname, merged)
            for k in settings:
                origins[f"levers.{lname}.{k}"] = f"{sp}.levers.{key_path(lname)}.{k}"
        out[name] = ScenarioSpec(name, scn.description, scn.reference, params, list(specs.values()), origins)
    return out, (refs[0] if refs else None)


# ------------------------------------------------------------ uncertainties
_UNC_KEYS = set(UncertaintySection.model_fields) | {"from"}


def flatten_tables(tables: dict[str, Any], keys: set[str] = _UNC_KEYS, prefix: str = "") -> dict[str, Any]:
    """``[uncertainties.smartphone.q]`` (unquoted) nests tables: flatten to "smartphone.q".

    A table is a leaf (not nested further) when it is empty, has one of ``keys`` or holds a non-table value.
    """
    out: dict[str, Any] = {}
    for key, value in tables.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not (set(value) & keys) and all(
            isinstance(v, dict) for v in value.values()
        ):
            out.update(flatten_tables(value, keys, name + "."))
        else:
            out[name] = value
    return out


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


def _resolve_uncertainties(tables: dict[str, Any], scenarios: dict[str, ScenarioSpec], sections: ConfigFile,
                           base: Path, problems: list[tuple[str, str]]) -> tuple[list[UncertaintySpec], dict[str, Any]]:
    out: list[UncertaintySpec] = []
    draws: dict[str, Any] = {}
    flat = flatten_tables(tables)
    pnames = parameter_aliases()
    lever_kinds: dict[str, str] = {}
    for scn in scenarios.values():
        for lv in scn.levers:
            lever_kinds.setdefault(lv.name, lv.kind)
    for name, table in flat.items():
        path = f"uncertainties.{key_path(name)}"
        # which parameter
        if name.startswith("levers."):
            parts = name.split(".")
            if len(parts) != 3:
                problems.append((path, "a lever setting is named levers.<lever>.<setting>"))
                continue
            _, lever, setting = parts
            if lever not in lever_kinds:
                problems.append((path, (f"unknown lever {lever!r}{did_you_mean(lever, list(lever_kinds))}; levers: "
                                 f"{', '.join(lever_kinds) or 'none defined'}")))
                continue
            settings = [s for s in lever_settings(lever_kinds[lever]) if s not in ("start", "end")]
            if setting not in settings:
                problems.append((path, (f"unknown setting {setting!r} of lever {lever!r} "
                                 f"({lever_kinds[lever]}){did_you_mean(setting, settings)}; settings: "
                                 f"{', '.join(settings)}")))
                continue
            target: tuple[str, ...] = ("lever", lever, setting)
        elif name in pnames:
            target = ("model", pnames[name])
        else:
            problems.append((path, (f"unknown parameter {name!r}{did_you_mean(name, list(pnames))}: a model parameter "
                             "(e.g. rewiring, smartphone.q in quotes, q_smartphone) or levers.<lever>.<setting>")))
            continue
        if not isinstance(table, dict):
            problems.append((path, f"{_show(table)} is not allowed: a table (lower, upper, dist, ...)"))
            continue
        sec = validate_table(UncertaintySection, table, ("uncertainties", name), "", problems)
        if sec is None:
            continue
        spec = _check_distribution(name, path, target, sec, scenarios, problems)
        if spec is None:
            continue
        if spec.dist == "empirical":
            src = Path(sec.from_)
            src = src if src.is_absolute() else base / src
            key = str(src)
            if key not in draws:
                try:
                    import pandas as pd

                    draws[key] = pd.read_parquet(src)
                except Exception as e:  # noqa: BLE001 - any reader failure is a problem of the user's file
                    problems.append((f"{path}.from", (f"{sec.from_!r} cannot be read as a Parquet table of draws "
                                     f"({type(e).__name__}: {e}); the calibration command writes this file")))
                    continue
            frame = draws[key]
            candidates = [sec.column] if sec.column else [name, target[-1] if target[0] == "model" else name]
            if target[0] == "model" and "." in target[1]:
                prod, f = target[1].split(".")
                candidates.append(f"{f}_{prod}")
            col = next((c for c in candidates if c in frame.columns), None)
            if col is None or len(frame) == 0:
                problems.append((f"{path}.from", (f"{sec.from_!r} has no column {candidates[0]!r} with draws; columns: "
                                 f"{', '.join(map(str, frame.columns))}")))
                continue
            spec = UncertaintySpec(**{**spec.__dict__, "source": key, "column": col})
        out.append(spec)
    return out, draws


def _check_distribution(name: str, path: str, target: tuple[str, ...], sec: UncertaintySection,
                        scenarios: dict[str, ScenarioSpec], problems: list[tuple[str, str]]) -> UncertaintySpec | None:
    given = {k for k in ("lower", "upper", "mode", "mean", "sd", "values", "from_") if getattr(sec, k) is not None}
    dist = sec.dist
    if dist is None:
        dist = ("empirical" if "from_" in given else "choice" if "values" in given
                else "normal" if {"mean", "sd"} & given else "uniform")
    needs = {
        "uniform": ({"lower", "upper"}, set()),
        "loguniform": ({"lower", "upper"}, set()),
        "triangular": ({"lower", "upper", "mode"}, set()),
        "normal": ({"mean", "sd"}, {"lower", "upper"}),
        "lognormal": ({"mean", "sd"}, {"lower", "upper"}),
        "choice": ({"values"}, set()),
        "empirical": ({"from_"}, set()),
    }[dist]
    before = len(problems)
    for k in sorted(needs[0] - given):
        problems.append((f"{path}.{'from' if k == 'from_' else k}", f"is required for dist = {dist!r}"))
    for k in sorted(given - needs[0] - needs[1]):
        problems.append((f"{path}.{'from' if k == 'from_' else k}",
                         (f"is not used by dist = {dist!r}; remove it (dist {dist} takes "
                         f"{', '.join(sorted(x.replace('from_', 'from') for x in needs[0] | needs[1]))})")))
    lo, hi = sec.lower, sec.upper
    if lo is not None and hi is not None and not lo < hi:
        problems.append((f"{path}.upper", f"{hi!r} is not allowed: upper must be greater than lower ({lo!r})"))
    if dist in ("loguniform", "lognormal") and lo is not None and lo <= 0:
        problems.append((f"{path}.lower", f"{lo!r} is not allowed: {dist} needs lower > 0"))
    if dist == "triangular" and None not in (lo, hi, sec.mode) and not lo <= sec.mode <= hi:
        problems.append((f"{path}.mode", f"{sec.mode!r} is not allowed: a value between lower and upper"))
    if dist == "normal" and sec.mean is not None and ((lo is not None and sec.mean < lo) or
                                                      (hi is not None and sec.mean > hi)):
        problems.append((f"{path}.mean", f"{sec.mean!r} is not allowed: a value between lower and upper"))
    if len(problems) > before:
        return None
    integer = sec.integer if sec.integer is not None else param_is_integer(target, scenarios)
    return UncertaintySpec(
        name=name,
        target=target,
        dist=dist,
        lower=lo,
        upper=hi,
        mode=sec.mode,
        mean=sec.mean,
        sd=sec.sd,
        values=tuple(sec.values) if sec.values is not None else None,
        integer=bool(integer),
        source=None,
        column=sec.column,
    )


def _check_design(sections: ConfigFile, uncertainties: list[UncertaintySpec],
                  problems: list[tuple[str, str]]) -> None:
    design = sections.design
    if design is None:
        if uncertainties and sections.sensitivity is None and sections.calibration is None:
            problems.append(("design", ("is required when [uncertainties] are given: add [design] with sampler = "
                             "'full_factorial' or 'lhs'")))
        return
    if not uncertainties:
        problems.append(("design", "has nothing to vary: add [uncertainties.<parameter>] tables"))
        return
    if design.sampler == "lhs" and design.n is None:
        problems.append(("design.n", "is required for sampler = 'lhs' (the number of design points)"))
    if design.sampler == "full_factorial" and design.n is not None:
        problems.append(("design.n", "is not used by sampler = 'full_factorial' (use levels)"))
    names = [u.name for u in uncertainties]
    if isinstance(design.levels, dict):
        for k in design.levels:
            if k not in names:
                problems.append((f"design.levels.{key_path(k)}", f"unknown uncertainty {k!r}{did_you_mean(k, names)}"))
    levels = design.levels.values() if isinstance(design.levels, dict) else [design.levels]
    for v in levels:
        if v < 1:
            problems.append(("design.levels", f"{v!r} is not allowed: a whole number >= 1"))
    if design.sampler == "full_factorial":
        total = 1
        for u in uncertainties:
            total *= len(u.values) if u.values is not None else design.levels_of(u.name)
        if total > 1_000_000:
            problems.append(("design.levels", (f"the full factorial has {total:,} design points; use fewer levels or "
                             "sampler = 'lhs'")))


# ------------------------------------------------------------ objects
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


def _param_problem(scn: ScenarioSpec, e: ParameterError) -> tuple[str, str]:
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
    return path, f"{_show(e.value)} is not allowed: {e.allowed}"


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


def check_value(unc: UncertaintySpec, value: Any, scn: ScenarioSpec) -> str | None:
    """Why ``value`` of uncertainty ``unc`` is not allowed in scenario ``scn`` (None if it is)."""
    try:
        if unc.target[0] == "model":
            scenario_params(scn, {unc.target[1]: value})
        else:
            _, lever, setting = unc.target
            for lv in scenario_levers(scn, {(lever, setting): value}):
                if lv.name == lever:
                    lv.build()
    except ParameterError as e:
        return f"value {_show(value)} for {e.name!r} is not allowed: {e.allowed}"
    except (TypeError, ValueError) as e:
        return f"value {_show(value)} is not allowed: {e}"
    return None


def value_problem(unc: UncertaintySpec, value: Any, scenarios: dict[str, ScenarioSpec]) -> str | None:
    """Why ``value`` of ``unc`` is not allowed in some scenario (the first scenario's ``check_value``), or None."""
    for scn in scenarios.values():
        msg = check_value(unc, value, scn)
        if msg:
            return msg
    return None


def default_scenario(cfg: ExperimentConfig, name: str | None = None) -> ScenarioSpec | None:
    """Scenario ``name`` of ``cfg``, or with no name the first non-reference scenario (else the first one).

    None when ``name`` is given but is not a scenario of ``cfg`` (the caller reports it).
    """
    if name is not None:
        return cfg.scenarios.get(name)
    return next((s for s in cfg.scenarios.values() if not s.reference), next(iter(cfg.scenarios.values())))


def _check_objects(scn: ScenarioSpec, cal: Calendar, problems: list[tuple[str, str]]) -> None:
    try:
        scenario_params(scn)
    except ParameterError as e:
        problems.append(_param_problem(scn, e))
    except (TypeError, ValueError) as e:
        problems.append((f"scenarios.{key_path(scn.name)}.model", f"cannot be used: {e}"))
    for lv in scn.levers:
        try:
            lv.build()
        except ParameterError as e:
            problems.append(_param_problem(scn, e))
            continue
        except (TypeError, ValueError) as e:
            problems.append((lever_path(scn, lv.name, ""), f"cannot be used: {e}"))
            continue
        for key in ("start", "end"):
            if lv.settings.get(key) is not None:
                try:
                    cal.index(lv.settings[key], key)
                except ParameterError as e:
                    problems.append((lever_path(scn, lv.name, key), f"{_show(e.value)} is not allowed: {e.allowed}"))


def _check_binding(sections: ConfigFile, scenarios: dict[str, ScenarioSpec], problems: list[tuple[str, str]]) -> None:
    """Build one model of the place and bind each scenario's levers to it (dates, hamlets, schedules)."""
    from diffusion.model.adoption import AdoptionModel

    exp, pop = sections.experiment, sections.population
    first = next(iter(scenarios.values()))
    try:
        model = AdoptionModel(pop.place, params=scenario_params(first), start=exp.start, months=exp.months,
                              scale=pop.scale, seed=0, agents=False, collect=False)
    except ParameterError as e:
        problems.append(_param_problem(first, e))
        return
    for scn in scenarios.values():
        params = scenario_params(scn)
        ctx = LeverContext(model.calendar, model.population, model.network, model.streams, params)
        for spec in scn.levers:
            try:
                spec.build().bind(ctx)
            except ParameterError as e:
                problems.append(_param_problem(scn, e))
            except (TypeError, ValueError, KeyError, IndexError) as e:
                problems.append((lever_path(scn, spec.name, ""), f"cannot be used: {type(e).__name__}: {e}"))


__all__ = [
    "CHART_NAMES",
    "DEFAULT_METRICS",
    "DEFAULT_SCENARIO",
    "ConfigError",
    "DiffusionError",
    "ExperimentConfig",
    "LeverSpec",
    "ScenarioSpec",
    "UncertaintySpec",
    "load_config",
    "load_config_data",
    "load_config_text",
    "reference_markdown",
    "scenario_levers",
    "scenario_params",
]
