"""Uncertain parameters of an experiment (``[uncertainties.<parameter>]``) and the design that samples them
(``[design]``): which parameter each names, its distribution, and the draws files of empirical ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from diffusion.experiments.distributions import Distribution, DistributionKeys, read_distribution
from diffusion.experiments.messages import Problem, validate_table
from diffusion.experiments.scenarios import ScenarioSpec, Target, param_is_integer
from diffusion.experiments.schema import ConfigFile, lever_settings
from diffusion.foundation.text import did_you_mean, key_path, show
from diffusion.model.params import parameter_aliases


class UncertaintySection(DistributionKeys):
    """How an uncertain parameter varies across design points."""

    from_: str | None = Field(
        None,
        alias="from",
        description="Parquet file of posterior draws (columns = parameter names, one row per draw), relative to "
        "the config file; written by the calibration command. Parameters from the same file are drawn "
        "together, row by row.",
    )
    column: str | None = Field(None, description="Column of the draws file (default: the parameter's name).")


@dataclass(frozen=True, kw_only=True)
class UncertaintySpec(Distribution):
    """An uncertain parameter: its distribution (see ``Distribution``) and what it sets.

    Attributes:
        name: the key as written in the config (the design table's column).
        target: ("model", flat parameter key) or ("lever", lever name, setting).
        source: the draws file (empirical only), resolved to an absolute path.
    """

    name: str
    target: Target

    @property
    def path(self) -> str:
        return f"uncertainties.{key_path(self.name)}"


#: Keys of a distribution table (a table with one of them is a leaf, not a nesting level).
TABLE_KEYS = set(UncertaintySection.model_fields) | {"from", "levels", "target"}


def flatten_tables(tables: dict[str, Any], keys: set[str] = TABLE_KEYS, prefix: str = "") -> dict[str, Any]:
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


def resolve_target(name: Any, path: str, kinds: dict[str, str], problems: list[Problem], *,
                   scope: str = "", dates: bool = False) -> Target | None:
    """The parameter a name refers to: ("lever", lever, setting) for ``levers.<lever>.<setting>``, else
    ("model", canonical ModelParams key). None after appending a problem (with "did you mean" hints).

    Args:
        kinds: lever name -> kind, of the levers that may be named.
        scope: where the levers come from, for messages (e.g. "of scenario 'x'").
        dates: whether a lever's start and end may be named.
    """
    if not isinstance(name, str):
        problems.append((path, f"{show(name)} is not allowed: a parameter or lever setting name in quotes"))
        return None
    pnames = parameter_aliases()
    if name.startswith("levers."):
        parts = name.split(".")
        if len(parts) != 3:
            problems.append((path, f"{name!r}: a lever setting is named levers.<lever>.<setting>"))
            return None
        _, lever, setting = parts
        if lever not in kinds:
            problems.append((path, (f"unknown lever {lever!r}{did_you_mean(lever, list(kinds))}; levers"
                                    f"{' ' + scope if scope else ''}: {', '.join(kinds) or 'none defined'}")))
            return None
        settings = [s for s in lever_settings(kinds[lever]) if dates or s not in ("start", "end")]
        if setting not in settings:
            problems.append((path, (f"unknown setting {setting!r} of lever {lever!r} ({kinds[lever]})"
                                    f"{did_you_mean(setting, settings)}; settings: {', '.join(settings)}")))
            return None
        return ("lever", lever, setting)
    if name in pnames:
        return ("model", pnames[name])
    problems.append((path, (f"unknown parameter {name!r}{did_you_mean(name, list(pnames))}: a model parameter "
                            "(e.g. rewiring, \"smartphone.q\" in quotes, q_smartphone) or levers.<lever>.<setting>")))
    return None


def lever_kinds(scenarios: dict[str, ScenarioSpec]) -> dict[str, str]:
    """Lever name -> kind over all scenarios (a lever keeps one kind in every scenario)."""
    kinds: dict[str, str] = {}
    for scn in scenarios.values():
        for lv in scn.levers:
            kinds.setdefault(lv.name, lv.kind)
    return kinds


def resolve_uncertainties(tables: dict[str, Any], scenarios: dict[str, ScenarioSpec], base: Path,
                          problems: list[Problem]) -> tuple[list[UncertaintySpec], dict[str, pd.DataFrame]]:
    """The ``[uncertainties]`` tables resolved: parameters, distributions and the draws files they read."""
    out: list[UncertaintySpec] = []
    draws: dict[str, pd.DataFrame] = {}
    kinds = lever_kinds(scenarios)
    for name, table in _expand_all(flatten_tables(tables), base, draws, problems).items():
        path = f"uncertainties.{key_path(name)}"
        target = resolve_target(name, path, kinds, problems)
        if target is None:
            continue
        if not isinstance(table, dict):
            problems.append((path, f"{show(table)} is not allowed: a table (lower, upper, dist, ...)"))
            continue
        sec = validate_table(UncertaintySection, table, ("uncertainties", name), "", problems)
        if sec is None:
            continue
        source, column = None, sec.column
        if sec.from_ is not None:
            found = _draws_column(name, path, target, sec, base, draws, problems)
            if found is None:
                continue
            source, column = found
        dist = read_distribution(sec, path, problems, integer=param_is_integer(target, scenarios),
                                 source=source if sec.from_ is not None else None, column=column)
        if dist is not None:
            out.append(UncertaintySpec(**dist.__dict__, name=name, target=target))
    return out, draws


#: The name of an [uncertainties] table that stands for every column of its draws file.
EVERY_COLUMN = "*"


def _expand_all(tables: dict[str, Any], base: Path, draws: dict[str, pd.DataFrame], problems: list[Problem]
                ) -> dict[str, Any]:
    """``[uncertainties."*"]`` (dist = "empirical", from = a draws file) as one table per column of the file:
    every parameter of a calibration's posterior, drawn together."""
    if EVERY_COLUMN not in tables:
        return tables
    out = {k: v for k, v in tables.items() if k != EVERY_COLUMN}
    table = tables[EVERY_COLUMN]
    path = f'uncertainties."{EVERY_COLUMN}"'
    if not isinstance(table, dict) or table.get("dist") != "empirical" or "from" not in table or "column" in table:
        problems.append((path, 'stands for every column of a draws file: give dist = "empirical" and from = "<file>" '
                               "(and no column)"))
        return out
    frame = _read_draws(str(table["from"]), base, draws, f"{path}.from", problems)
    if frame is not None:
        for col in frame.columns:
            out.setdefault(str(col), {**table, "column": str(col)})
    return out


def _read_draws(source: str, base: Path, draws: dict[str, pd.DataFrame], path: str, problems: list[Problem]
                ) -> pd.DataFrame | None:
    """A draws file (Parquet, or CSV with '#' comment lines), read once into ``draws``."""
    src = Path(source)
    key = str(src if src.is_absolute() else base / src)
    if key not in draws:
        try:
            draws[key] = pd.read_csv(key, comment="#") if key.endswith(".csv") else pd.read_parquet(key)
        except Exception as e:  # noqa: BLE001 - any reader failure is a problem of the user's file
            problems.append((path, (f"{source!r} cannot be read as a table of draws (Parquet, or CSV) "
                                    f"({type(e).__name__}: {e}); the calibration command writes this file")))
            return None
    return draws[key]


def _draws_column(name: str, path: str, target: Target, sec: UncertaintySection, base: Path,
                  draws: dict[str, pd.DataFrame], problems: list[Problem]) -> tuple[str, str] | None:
    """(absolute draws file, column) of an empirical uncertainty, reading the file once into ``draws``."""
    frame = _read_draws(sec.from_, base, draws, f"{path}.from", problems)
    if frame is None:
        return None
    src = Path(sec.from_)
    key = str(src if src.is_absolute() else base / src)
    candidates = [sec.column] if sec.column else [name, target[-1] if target[0] == "model" else name]
    if target[0] == "model" and "." in target[1]:
        prod, f = target[1].split(".")
        candidates.append(f"{f}_{prod}")
    col = next((c for c in candidates if c in frame.columns), None)
    if col is None or len(frame) == 0:
        problems.append((f"{path}.from", (f"{sec.from_!r} has no column {candidates[0]!r} with draws; columns: "
                                          f"{', '.join(map(str, frame.columns))}")))
        return None
    return key, col


def swept(uncertainties: list[UncertaintySpec], sampler: str | None) -> list[str]:
    """The design columns summarised apart (a sweep, like one row per setting of Mesa's batch_run or NetLogo's
    BehaviorSpace), not pooled over: those of a full factorial design, except draws from a file (a posterior,
    whose draws stand for uncertainty), and every ``choice`` in any design. Others (a Latin hypercube's
    continuous values, posterior draws) are uncertainty, pooled over in each summary."""
    return [u.name for u in uncertainties
            if u.dist == "choice" or (sampler == "full_factorial" and u.dist != "empirical")]


def check_design(sections: ConfigFile, uncertainties: list[UncertaintySpec], problems: list[Problem]) -> None:
    """``[design]`` against the uncertainties: a sampler with what it needs and a design of sensible size."""
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
