"""Experiment config files: TOML -> validated objects, with errors a researcher can act on.

A config file has these tables (see docs/config-reference.md, generated from the schema in
``diffusion.experiments.schema`` by ``diffusion check --reference docs/config-reference.md``):

- ``[experiment]``: name, description, start month, months, replications, root seed;
- ``[population]``: the place (a preset, or a ``[places.<key>]`` table of the file) and its scale;
- ``[places.<key>]``: places of the file besides the presets (households, hamlets, communes, income, source);
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
    >>> from diffusion.experiments.config import load_config
    >>> cfg = load_config("experiments/thon_dong.toml")  # doctest: +SKIP
    >>> cfg.scenarios["with_team"].levers  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffusion.experiments.messages import Problem, raise_problems, retired_text, validate_table
from diffusion.experiments.scenarios import (
    ScenarioSpec,
    check_binding,
    check_objects,
    resolve_levers,
    resolve_scenarios,
    value_problem,
)
from diffusion.experiments.schema import (
    DEFAULT_METRICS,
    MAX_HOUSEHOLDS,
    PLACE_KEY,
    PLAUSIBLE_SHARE_2008,
    ConfigFile,
    DesignSection,
    ExperimentSection,
    OutputsSection,
    PopulationSection,
)
from diffusion.experiments.uncertainties import (
    TABLE_KEYS,
    UncertaintySpec,
    check_design,
    flatten_tables,
    resolve_uncertainties,
)
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError, ParameterError
from diffusion.foundation.sources import Place, make_place, places
from diffusion.foundation.text import did_you_mean, key_path, nfc, show
from diffusion.model.outputs import metric_names
from diffusion.model.params import ModelParams
from diffusion.model.world import HISTORY_START


@dataclass
class ExperimentConfig:
    """A validated config file with its scenarios, uncertainties and provenance.

    Attributes:
        file: the file as named by the user (used in messages).
        base_dir: directory that relative paths in the config are resolved against.
        text: the file's text as read.
        data: the parsed TOML.
        sha256: hash of the parsed content (comments and layout do not count) and of any draws files.
        identity: the same hash without the keys that only name or describe (``PRESENTATION_KEYS``): what the
            simulations depend on, so ``diffusion run`` resumes (reruns nothing) after a scenario is relabelled.
        sections: the validated tables (pydantic models).
        scenarios: name -> ScenarioSpec, in file order.
        reference: the reference scenario, if any.
        uncertainties: the uncertain parameters, in file order.
        draws: draws file path -> its table (empirical uncertainties).
        places: the places of the file's [places.<key>] tables, by key.
    """

    file: str
    base_dir: Path
    text: str
    data: dict[str, Any]
    sha256: str
    identity: str
    sections: ConfigFile
    scenarios: dict[str, ScenarioSpec]
    reference: str | None
    uncertainties: list[UncertaintySpec]
    draws: dict[str, Any] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.sections.experiment.name

    @property
    def place(self) -> Place:
        """The place of ``[population]``: a [places.<key>] table of the file, else the preset."""
        key = self.population.place
        return self.places[key] if key in self.places else places()[key]

    @property
    def run_place(self) -> str | Place:
        """The place as the evaluation service (``Setup.place``) takes it: the preset's key, or the Place of a
        [places.<key>] table (whose key is ``population.place``, what results and manifests show)."""
        key = self.population.place
        return self.places.get(key, key)

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
    except RecursionError:
        raise ConfigError(source, f"is not a config: its tables or lists are nested more than {MAX_DEPTH} levels "
                          "deep") from None
    return load_config_data(data, source=source, base_dir=base_dir, text=text, build=build)


#: Deepest nesting of tables and lists a config may have (a real config has 4 or 5 levels).
MAX_DEPTH = 32


def _check_shape(data: dict[str, Any], source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, and keys that are one name written in two Unicode forms (composed
    and decomposed "thôn_đông" look the same but would silently merge into one); walked without recursion."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        obj, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(source, [(path, f"is nested more than {MAX_DEPTH} levels deep: not allowed")])
        if isinstance(obj, dict):
            seen: dict[str, str] = {}
            for key, value in obj.items():
                norm = unicodedata.normalize("NFC", key) if isinstance(key, str) else key
                sub = f"{path}.{key_path(norm)}" if path else key_path(norm)
                if norm in seen:
                    problems.append((sub, (f"the key {norm!r} is given twice, written in two Unicode forms "
                                     "(composed and decomposed characters look the same): keep one of them")))
                seen[norm] = key
                stack.append((value, sub, depth + 1))
        elif isinstance(obj, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj))
    raise_problems(source, sorted(set(problems)))


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
    _check_shape(data, source)
    data = nfc(data)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    sections = validate_table(ConfigFile, data, (), source)
    exp = sections.experiment

    problems: list[Problem] = []
    own = _check_places(sections, problems)
    _check_population(sections, own, problems)
    _check_retired(data, problems)
    _check_outputs(sections, problems)
    levers = resolve_levers(data.get("levers", {}), problems)
    scenarios, reference = resolve_scenarios(sections, data, levers, problems)
    raise_problems(source, problems)

    uncertainties, draws = resolve_uncertainties(data.get("uncertainties", {}), scenarios, base, problems)
    raise_problems(source, problems)
    check_design(sections, uncertainties, problems)
    raise_problems(source, problems)

    cal = Calendar(exp.start, exp.months)
    for scn in scenarios.values():
        check_objects(scn, cal, problems)
    raise_problems(source, problems)
    for unc in uncertainties:
        for value in unc.extremes():
            msg = value_problem(unc.target, value, scenarios)
            if msg:
                problems.append((unc.path, msg))
                break
    raise_problems(source, problems)
    if build:
        check_binding(sections, scenarios, problems, place=own.get(sections.population.place))
        raise_problems(source, problems)

    digest = config_hash(data, draws)
    return ExperimentConfig(
        file=source,
        base_dir=base,
        text=text if text is not None else "",
        data=data,
        sha256=digest,
        identity=config_hash(without_presentation(data), draws),
        sections=sections,
        scenarios=scenarios,
        reference=reference,
        uncertainties=uncertainties,
        draws=draws,
        places=own,
    )


#: Keys that only name or describe, for the report: ``[experiment]``'s and each ``[scenarios.<name>]``'s. They
#: are left out of ``ExperimentConfig.identity`` (not of ``sha256``).
PRESENTATION_KEYS: dict[str, tuple[str, ...]] = {
    "experiment": ("description", "description_vi"),
    "scenarios": ("label", "label_vi", "description", "description_vi"),
}


def without_presentation(data: dict[str, Any]) -> dict[str, Any]:
    """The parsed config without its ``PRESENTATION_KEYS`` (a copy; the order of everything else kept)."""
    out = dict(data)
    experiment = out.get("experiment")
    if isinstance(experiment, dict):
        out["experiment"] = {k: v for k, v in experiment.items() if k not in PRESENTATION_KEYS["experiment"]}
    scenarios = out.get("scenarios")
    if isinstance(scenarios, dict):
        out["scenarios"] = {name: {k: v for k, v in sec.items() if k not in PRESENTATION_KEYS["scenarios"]}
                            if isinstance(sec, dict) else sec for name, sec in scenarios.items()}
    return out


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


def _check_places(sections: ConfigFile, problems: list[Problem]) -> dict[str, Place]:
    """The [places.<key>] tables as Places: keys that name no preset, numbers a place can have."""
    presets = places()
    out: dict[str, Place] = {}
    for key, sec in sections.places.items():
        path = f"places.{key_path(key)}"
        if not PLACE_KEY.match(key):
            problems.append((path, (f"place key {key!r} is not allowed: letters, digits, '_' or '-', starting with a "
                             "letter (it names the place in [population] place and in the results)")))
            continue
        if key in presets:
            problems.append((path, (f"place key {key!r} is not allowed: it is the key of a preset "
                             f"({presets[key].name}, diffusion/data/places.csv); pick another key for this place, "
                             f"e.g. '{key}_2'")))
            continue
        try:
            out[key] = make_place(key, sec.name, sec.households, sec.hamlets, sec.communes, sec.income_multiplier,
                                  sec.area, sec.urban_share, sec.infrastructure_lag_years, sec.source)
        except ParameterError as e:
            problems.append((f"{path}.{e.name}", f"{show(e.value)} is not allowed: {e.allowed}"))
    return out


def _check_population(sections: ConfigFile, own: dict[str, Place], problems: list[Problem]) -> None:
    """The place is a [places.<key>] table or a preset, and its scale gives a population that can be built."""
    table = {**places(), **own}
    pop = sections.population
    if pop.place not in table:
        if pop.place in sections.places:
            return  # the table itself is invalid: already reported
        keys = list(table)
        problems.append(
            ("population.place", (f"{pop.place!r} is not allowed: one of {', '.join(map(repr, keys))} (presets of "
             f"diffusion/data/places.csv, or [places.<key>] tables of this file){did_you_mean(pop.place, keys)}"))
        )
        return
    pl = table[pop.place]
    n = pl.households * pop.scale
    if n > MAX_HOUSEHOLDS:
        problems.append(("population.scale", (f"{pop.scale!r} is not allowed: {pl.name} at this scale has "
                         f"{n:,.0f} households, above the limit of {MAX_HOUSEHOLDS:,}")))
    elif pl.hamlets == 1 and round(pl.households * pop.scale) < 2:
        problems.append(("population.scale", f"{pop.scale!r} is not allowed: a factor giving at least 2 households"))


def _check_retired(data: dict[str, Any], problems: list[Problem]) -> None:
    """Retired parameters named by [uncertainties] and [calibration] (priors, setups' params); those in [model]
    tables are found by the schema (``messages``)."""
    named: list[tuple[str, Any]] = []
    unc = data.get("uncertainties")
    if isinstance(unc, dict):
        named += [(f"uncertainties.{key_path(k)}", k) for k in flatten_tables(unc)]
    cal = data.get("calibration")
    if isinstance(cal, dict):
        if isinstance(cal.get("priors"), dict):
            named += [(f"calibration.priors.{key_path(k)}", k) for k in flatten_tables(cal["priors"], TABLE_KEYS)]
        setups = cal.get("setups") if isinstance(cal.get("setups"), dict) else {}
        for name, setup in setups.items():
            params = setup.get("params") if isinstance(setup, dict) else None
            if isinstance(params, dict):
                named += [(f"calibration.setups.{key_path(name)}.params.{key_path(k)}", k) for k in params]
    for path, key in named:
        text = retired_text(key)
        if text:
            problems.append((path, text))


def _metric_allowed(name: str, lever_names: set[str]) -> bool:
    """Whether ``name`` is a monthly output: a share, a cost, or a lever's cost or activity column."""
    if name in metric_names() or name in ("cost_total", "cum_cost_total"):
        return True
    for pre in ("cost.", "cum_cost."):
        if name.startswith(pre) and name[len(pre):] in lever_names:
            return True
    return "." in name and name.split(".", 1)[0] in lever_names


def _check_outputs(sections: ConfigFile, problems: list[Problem]) -> None:
    """``[outputs] metrics`` must be monthly outputs (chart names are checked by the presentation layer, which
    owns the charts)."""
    out = sections.outputs
    names = set(sections.levers) | {n for s in sections.scenarios.values() for n in s.levers}
    for i, m in enumerate(out.metrics or []):
        if not _metric_allowed(m, names):
            allowed = list(metric_names()) + ["cost_total", "cum_cost_total"]
            problems.append((f"outputs.metrics[{i}]", (f"{m!r} is not allowed: a monthly metric such as "
                             f"share_internet or cum_cost.<lever>{did_you_mean(m, allowed)}")))


# ======================================================================== warnings
def config_warnings(cfg: ExperimentConfig) -> list[str]:
    """What `diffusion check` warns about (the config is valid, but may not say what its author means): places
    without a source, initial shares set for a run that starts after January 2008, initial shares that are
    implausible for January 2008."""
    out = [f"places.{key_path(k)}.source is missing: say where the numbers of {p.name} come from (a survey, census "
           "or commune report, with its web address); it is kept with the config in the results' manifest.json"
           for k, p in cfg.places.items() if not p.basis.strip()]
    out += _degree_warnings(cfg)
    shares = _initial_shares(cfg)
    start = cfg.experiment.start
    if shares and start != HISTORY_START:
        out.append(f"{', '.join(shares)}: initial shares are the shares of January 2008 ({HISTORY_START}), the start "
                   f"of every run's history, not of the start {start}: the state at {start} comes from the model's "
                   f"history from {HISTORY_START} (leave the defaults, or give shares of {HISTORY_START})")
    for path, (prod, value) in shares.items():
        limit, why = PLAUSIBLE_SHARE_2008.get(prod, (1.0, ""))
        if value > limit:
            out.append(f"{path} = {value:g} is implausible for January 2008, when every run's history starts: {why}; "
                       f"use at most {limit:g} (the model default is 0)")
    return out


def _degree_warnings(cfg: ExperimentConfig) -> list[str]:
    """A small-world network cannot give a household more ties than its hamlet has other households: say so
    rather than let the network be capped silently."""
    pl = cfg.place
    per_hamlet = pl.households / max(pl.hamlets, 1) * (cfg.population.scale if pl.hamlets == 1 else 1.0)
    out = []
    for scn in cfg.scenarios.values():
        degree = scn.params.get("mean_degree", ModelParams.mean_degree)
        if scn.params.get("network", "small_world") == "small_world" and degree >= per_hamlet:
            path = scn.origins.get("mean_degree", "model.mean_degree")
            out.append(f"{path} = {degree} is not below the households of a hamlet of {pl.name} (about "
                       f"{per_hamlet:,.0f}): every household is tied to every other of its hamlet (the network is "
                       "capped there)")
    return list(dict.fromkeys(out))


def _initial_shares(cfg: ExperimentConfig) -> dict[str, tuple[str, float]]:
    """Config path -> (product, largest value) of every initial share the config sets (in [model], a scenario or
    an uncertainty)."""
    out: dict[str, tuple[str, float]] = {}
    for scn in cfg.scenarios.values():
        for key, path in scn.origins.items():
            if key.endswith(".initial_share") and key in scn.params:
                out[path] = (key.split(".", 1)[0], float(scn.params[key]))
    for u in cfg.uncertainties:
        if u.target[0] == "model" and u.target[1].endswith(".initial_share"):
            values = [float(v) for v in u.extremes() if isinstance(v, int | float)]
            out[u.path] = (u.target[1].split(".", 1)[0], max(values, default=0.0))
    return out
