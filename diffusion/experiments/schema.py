"""The schema of experiment config files: one pydantic model per table, the lever tables built from the
lever classes' signatures, and the reference page generated from them (docs/config-reference.md).

Loading, resolving scenarios and checking values against the real objects is ``diffusion.experiments.config``.
Descriptions of the ``[model]`` keys are read from the "Attributes:" sections of ``ModelParams`` and
``ProductParams``, so the reference page says what the model's own docstrings say (with sources).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import fields as dc_fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from diffusion.foundation.calendar import parse_month
from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import places
from diffusion.model.levers import ELIGIBILITY, LEVER_TYPES, TARGETING
from diffusion.model.params import MAX_HOUSEHOLDS as MODEL_MAX_HOUSEHOLDS
from diffusion.model.params import MECHANISMS, NETWORKS, PLAUSIBLE, ModelParams, ProductParams
from diffusion.model.products import INDICATORS, PRODUCTS
from diffusion.model.world import AREAS, HISTORY_START, check_start

#: Metrics summarised when ``[outputs] metrics`` is not given.
DEFAULT_METRICS: tuple[str, ...] = tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)
SAMPLERS: tuple[str, ...] = ("full_factorial", "lhs")
#: Largest population a config may ask for (households x scale), to keep a typo from filling memory (the model's).
MAX_HOUSEHOLDS = MODEL_MAX_HOUSEHOLDS
#: Name of the single scenario of a config without [scenarios].
DEFAULT_SCENARIO = "baseline"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
LEVER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
#: Keys of [places.<key>] tables (they name the place in results and manifests).
PLACE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
#: Largest initial share (of January 2008) that is plausible for products nobody had then: `diffusion check` warns
#: above it (smartphones were first sold in Vietnam in 2008; 3G came in 2009-08; apps and QR payments later).
PLAUSIBLE_SHARE_2008: dict[str, tuple[float, str]] = {
    "smartphone": (0.05, "nobody had a smartphone then (the first were sold in Vietnam that year)"),
    "mobile_data": (0.05, "nobody had mobile data then (3G came in August 2009)"),
    "services": (0.05, "nobody used bank apps, QR payments or online public services then"),
}


# ======================================================================== schema
class StrictModel(BaseModel):
    """A config table: unknown keys are errors, types are not coerced, numbers are finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _month(value: str | None) -> str | None:
    """A pydantic check of a "YYYY-MM" month."""
    if value is not None:
        try:
            parse_month(value)
        except ParameterError:
            raise ValueError('a month written "YYYY-MM" in quotes, for example "2023-06"') from None
    return value


class ExperimentSection(StrictModel):
    """What is run: the experiment's name, time window, replications and root seed."""

    name: str = Field(
        description="Name of the experiment; results go to results/<name>/. Letters, digits, '_', '-', '.'.",
        pattern=_NAME.pattern,
        max_length=100,
    )
    description: str = Field("", description="What question the experiment answers (free text; diacritics welcome). "
                             "Text only: `diffusion run` reruns nothing when it changes.")
    description_vi: str = Field("", description="The question in Vietnamese, for the Vietnamese report "
                                "([outputs] language = \"vi\"; default: the description). Text only, as description.")
    start: str = Field(
        "2021-01",
        description=f'First simulated month, "YYYY-MM": from {HISTORY_START} to the last month of the dated tables '
        "(diffusion/data/world_series.csv). A later start is reached by simulating the place's history from "
        f"{HISTORY_START} without levers, so the state at the start comes from the model.",
    )
    months: int = Field(60, ge=1, le=1200, description="Number of monthly steps (months).")
    replications: int = Field(
        10, ge=1, le=100_000, description="Replicates per scenario and design point (independent random streams)."
    )
    seed: int = Field(
        ge=0,
        description="Root seed (whole number >= 0). Run streams come from numpy.random.SeedSequence(seed, "
        "spawn_key=(replicate, design_point)); the scenario is not in the key (common random numbers).",
    )
    runs_per_task: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Runs grouped into one task of the executor (default: chosen from the run size so that a "
        "task takes about a second). Results never depend on it.",
    )

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        _month(value)
        try:
            check_start(value)
        except ParameterError as e:
            raise ValueError(e.allowed) from None
        return value


class PopulationSection(StrictModel):
    """Where: the place (a preset or a [places.<key>] table of the file) and its size."""

    place: str = Field(
        description="The place: the key of a [places.<key>] table of this file, or a preset: one of "
        + ", ".join(repr(k) for k in places()) + " (diffusion/data/places.csv)."
    )
    scale: float = Field(
        1.0,
        gt=0,
        description="Size factor: multiplies the households of a one-hamlet place, the hamlets (and communes) of "
        "a larger one.",
    )


class PlaceSection(StrictModel):
    """A place of this file, [places.<key>]: a hamlet, commune or district that is not a preset. ``<key>`` names
    it in ``[population] place`` (and calibration setups) and in the results; it must not be a preset's key."""

    name: str = Field(description="The place's name as people write it (diacritics welcome), shown in charts "
                      "and the report.")
    households: int = Field(description="Households living there (whole number >= hamlets).")
    hamlets: int = Field(description="Hamlets (thôn, bản, xóm, tổ dân phố) (whole number >= communes).")
    communes: int = Field(1, description="Communes (xã, phường, thị trấn) (whole number >= 1).")
    income_multiplier: float = Field(
        description="Income per person of the place over Vietnam's rural average (3.86 million VND a month, VHLSS "
        "2022): 1 for an average rural place, 0.5 for a place half as well off (number > 0). Household incomes "
        "are drawn around income_mean_vnd times this factor."
    )
    area: Literal[AREAS] = Field(  # type: ignore[valid-type]
        "rural",
        description="The income series of diffusion/data/world_series.csv whose growth over time the place's "
        "incomes follow: one of " + ", ".join(AREAS) + ".",
    )
    urban_share: float = Field(0.0, description="Share of its people living in urban areas (0-1; describes the "
                               "place: the model does not use it yet).")
    infrastructure_lag_years: float = Field(
        0.0,
        description="Years after the national curve that mobile broadband and fibre reach its hamlets: 0 when the "
        "national curve says, more for a remote place (number >= 0).",
    )
    source: str = Field(
        "",
        description="Where the numbers come from (survey, census, commune report; with its web address if any). "
        "Recommended: `diffusion check` warns when it is missing; it is kept with the config in the results' "
        "manifest.json. The report shows it as the place's basis, as written in both languages (the presets' "
        "basis has a Vietnamese version, basis_vi of diffusion/data/places.csv).",
    )


def _attribute_docs(cls: type) -> dict[str, str]:
    """Descriptions of a dataclass's fields from the "Attributes:" section of its Google-style docstring."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    if "Attributes:" not in doc:
        return out
    names: list[str] = []
    for line in doc.split("Attributes:", 1)[1].splitlines():
        m = re.match(r"^    ([a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*): (.*)$", line)
        if m:
            names = m.group(1).split(", ")
            for n in names:
                out[n] = m.group(2).strip()
        elif line.startswith("        ") and names:
            for n in names:
                out[n] += " " + line.strip()
        elif line.strip() == "":
            continue
        else:
            names = []
    return out


def _model_field_type(name: str, hint: Any) -> Any:
    if name == "mechanism":
        return Literal[MECHANISMS]  # type: ignore[valid-type]
    if name == "network":
        return Literal[NETWORKS]  # type: ignore[valid-type]
    if name == "active_products":
        return list[Literal[PRODUCTS]]  # type: ignore[valid-type]
    return hint


def _plausible(name: str) -> dict[str, Any] | None:
    """A model parameter's plausible range for the reference page (``params.PLAUSIBLE``, parameters.csv; the
    model checks it, in its own words)."""
    return {"range": list(PLAUSIBLE[name][:2])} if name in PLAUSIBLE else None


def _build_product_section() -> type[BaseModel]:
    docs = _attribute_docs(ProductParams)
    hints = typing.get_type_hints(ProductParams)
    fdefs = {  # (the plausible ranges are the same for every product)
        f.name: (hints[f.name] | None, Field(None, description=docs.get(f.name, ""),
                                             json_schema_extra=_plausible(f"{PRODUCTS[0]}.{f.name}")))
        for f in dc_fields(ProductParams)
    }
    return create_model("ProductSection", __base__=StrictModel, __doc__="Parameters of one product.", **fdefs)


ProductSection = _build_product_section()
ProductsSection = create_model(
    "ProductsSection",
    __base__=StrictModel,
    __doc__="Per-product parameters, [model.products.<product>].",
    **{p: (ProductSection | None, Field(None, description=f"Parameters of {p}.")) for p in PRODUCTS},
)


def _build_model_section() -> type[BaseModel]:
    docs = _attribute_docs(ModelParams)
    hints = typing.get_type_hints(ModelParams)
    fdefs: dict[str, Any] = {}
    for f in dc_fields(ModelParams):
        if f.name == "products":
            fdefs["products"] = (
                ProductsSection | None,
                Field(None, description="Per-product parameters: [model.products.<product>], product one of "
                      + ", ".join(PRODUCTS) + "."),
            )
            continue
        typ = _model_field_type(f.name, hints[f.name])
        fdefs[f.name] = (typ | None, Field(None, description=docs.get(f.name, ""),
                                           json_schema_extra=_plausible(f.name)))
    return create_model(
        "ModelSection",
        __base__=StrictModel,
        __doc__="Model mechanism and parameters (any ModelParams field; omitted ones keep the model default).",
        **fdefs,
    )


ModelSection = _build_model_section()


class ScenarioSection(StrictModel):
    """A named variant: overrides of lever settings and model parameters."""

    label: str = Field("", max_length=80, description="The scenario's name in the report (default: its key). Text "
                       "only, like label_vi, description and description_vi: when only they change, `diffusion run` "
                       "reruns nothing and the report shows the new text.")
    label_vi: str = Field("", max_length=80, description="Its name in the Vietnamese report (default: label).")
    description: str = Field("", description="What the scenario represents.")
    description_vi: str = Field("", description="Its description in the Vietnamese report (default: description).")
    reference: bool = Field(
        False, description="The scenario the others are compared with (common random numbers); at most one."
    )
    model: ModelSection | None = Field(  # type: ignore[valid-type]
        None, description="Model parameter overrides, same keys as [model] (e.g. model.rewiring = 0.1)."
    )
    levers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Lever overrides: levers.<name>.<setting> = value for a lever of [levers] (e.g. "
        "levers.teams.enabled = false), or a new lever for this scenario only (with its kind).",
    )


class DesignSection(StrictModel):
    """How the uncertainties are sampled into design points."""

    sampler: Literal[SAMPLERS] = Field(  # type: ignore[valid-type]
        description="full_factorial (every combination of levels) or lhs (Latin hypercube of n points). Sobol and "
        "Morris designs belong to [sensitivity]."
    )
    n: int | None = Field(None, ge=1, le=1_000_000, description="Design points of the Latin hypercube (lhs).")
    levels: int | dict[str, int] = Field(
        3,
        description="Levels per uncertainty of the full factorial: one number for all, or a table "
        "parameter -> levels. Bounded distributions use evenly spaced values from lower to upper, others "
        "evenly spaced quantiles; choice uses all its values.",
    )

    def levels_of(self, name: str) -> int:
        """Levels of uncertainty ``name`` in the full factorial (a table without it gives the default, 3)."""
        return int(self.levels.get(name, 3) if isinstance(self.levels, dict) else self.levels)


class OutputsSection(StrictModel):
    """What the report shows."""

    language: Literal["en", "vi"] = Field("en", description="Language of chart and table labels: en or vi.")
    charts: list[str] | None = Field(
        None, description="Charts to draw (default: all that apply): 'all', a chart family or a chart's name (the "
        "list is in the section on charts below)."
    )
    metrics: list[str] | None = Field(
        None,
        description="Monthly metrics summarised in summary.csv (default: " + ", ".join(DEFAULT_METRICS) + ").",
    )
    compare: list[list[str]] | None = Field(
        None,
        description='Pairs of scenarios compared besides each scenario against the reference, paired on replicates '
        '(common random numbers): [["vnd_1m", "vnd_500k"]] gives the differences, additional households and cost per '
        'additional household of vnd_1m against vnd_500k in summary.csv (its reference column names vnd_500k).',
    )
    near_target: float = Field(
        0.99, gt=0, le=1,
        description="Near-target level, a share in (0, 1]: summary.csv and the report give the month each Resolution "
        "09 target reaches this share of its target (0.99: 99% of a 100% target), since a stochastic model seldom "
        "reaches 100% exactly, beside the households or people still short of the target at its deadline.",
    )


class ConfigFile(StrictModel):
    """A whole config file."""

    experiment: ExperimentSection
    population: PopulationSection
    places: dict[str, PlaceSection] = Field(
        default_factory=dict, description="[places.<key>] tables: places of this file besides the presets."
    )
    model: ModelSection = Field(default_factory=ModelSection)  # type: ignore[valid-type]
    levers: dict[str, dict[str, Any]] = Field(default_factory=dict, description="[levers.<name>] tables.")
    scenarios: dict[str, ScenarioSection] = Field(default_factory=dict, description="[scenarios.<name>] tables.")
    uncertainties: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="[uncertainties.<parameter>] tables."
    )
    design: DesignSection | None = None
    outputs: OutputsSection = Field(default_factory=OutputsSection)
    calibration: dict[str, Any] | None = Field(
        None, description="ABC-SMC calibration (pyABC) run by `diffusion calibrate`; checked by `diffusion check` "
        "(see docs/calibration.md for its keys)."
    )
    sensitivity: dict[str, Any] | None = Field(
        None,
        description="Sensitivity analysis (Sobol or Morris with SALib) run by `diffusion sensitivity`; checked by "
        "`diffusion check` (see docs/sensitivity.md for its keys).",
    )
    optimisation: dict[str, Any] | None = Field(
        None,
        description="Lever portfolios under a budget and under uncertainty (NSGA-II with pymoo, robustness over "
        "posterior draws, PRIM) run by `diffusion optimise`; checked by `diffusion check` (see docs/decision.md).",
    )


# ---------------------------------------------------------------- lever schemas
_SETTING_TYPES: dict[str, Any] = {
    "eligibility": Literal[ELIGIBILITY] | list[Literal[ELIGIBILITY]],  # type: ignore[valid-type]
    "hamlets": str | int | list[str | int] | None,
    "fibre": dict[str, str] | list[list[str | float]] | None,
    "mobile": dict[str, str] | list[list[str | float]] | None,
    "targeting": Literal[TARGETING],  # type: ignore[valid-type]
}


#: Plausible ranges of numeric lever settings (by name, for every lever that has them): a config outside is an
#: error at `diffusion check` (money in VND; a typo such as 1e308 would make every cost infinite).
SETTING_RANGES: dict[str, tuple[float, float]] = {
    "amount_vnd": (0, 1e8), "install_subsidy_vnd": (0, 1e8), "monthly_discount_vnd": (0, 1e7),
    "budget_vnd": (0, 1e15), "allowance_vnd": (0, 1e8), "cost_per_hamlet_vnd": (0, 1e12),
    "setup_cost_vnd": (0, 1e11), "monthly_cost_vnd": (0, 1e9), "teams_per_hamlet": (0, 100),
    "members_per_team": (0, 100), "visits_per_member": (0, 1000), "revisit_months": (0, 1200),
    "discount_months": (0, 1200),
}


def _ranged(name: str, typ: Any) -> Any:
    """A lever setting's type, bounded by its plausible range (``SETTING_RANGES``) when it has one."""
    if name not in SETTING_RANGES:
        return typ
    lo, hi = SETTING_RANGES[name]
    union = typing.get_origin(typ) in (typing.Union, types.UnionType)
    members = [t for t in (typing.get_args(typ) if union else (typ,)) if t is not type(None)]
    if len(members) != 1 or members[0] not in (int, float):
        return typ
    ranged = typing.Annotated[members[0], Field(ge=lo, le=hi)]
    return ranged | None if union else ranged


def _setting_doc(kind: str, name: str) -> str:
    """What a lever setting means (from the lever class's ``setting_docs``)."""
    if name == "kind":
        return "Lever type: one of " + ", ".join(LEVER_TYPES) + "."
    return LEVER_TYPES[kind].setting_docs.get(name) or f"See diffusion.model.levers ({kind})."


def lever_settings(kind: str) -> dict[str, tuple[Any, Any]]:
    """The settings of lever ``kind``: name -> (type, default) from the lever class's signature."""
    cls = LEVER_TYPES[kind]
    hints = typing.get_type_hints(cls.__init__)
    out: dict[str, tuple[Any, Any]] = {
        "start": (str | None, None),
        "end": (str | None, None),
        "enabled": (bool, True),
    }
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "kw", "name") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        typ = _SETTING_TYPES.get(pname, hints.get(pname, Any))
        default = p.default
        if isinstance(default, tuple):
            default = list(default)
        out[pname] = (typ, default)
    return out


@classmethod  # type: ignore[misc]
def _month_validator(cls, value: str | None) -> str | None:
    return _month(value)


def _lever_model(kind: str, partial: bool) -> type[BaseModel]:
    fdefs: dict[str, Any] = {
        "kind": (Literal[kind] | None if partial else Literal[kind], Field(None if partial else ...,
                                                                         description=_setting_doc(kind, "kind")))
    }
    for name, (raw, default) in lever_settings(kind).items():
        typ = _ranged(name, raw)
        d = None if partial else default
        t = typ | None if partial else typ
        fdefs[name] = (t, Field(d, description=_setting_doc(kind, name)))
    cls = LEVER_TYPES[kind]
    model = create_model(
        f"{cls.__name__}{'Override' if partial else 'Settings'}",
        __base__=StrictModel,
        __doc__=(inspect.getdoc(cls) or "").split("\n\n")[0],
        __validators__={"_dates": field_validator("start", "end")(_month_validator)},
        **fdefs,
    )
    return model


LEVER_MODELS: dict[str, type[BaseModel]] = {k: _lever_model(k, False) for k in LEVER_TYPES}
LEVER_OVERRIDE_MODELS: dict[str, type[BaseModel]] = {k: _lever_model(k, True) for k in LEVER_TYPES}



def unwrap(tp: Any) -> list[Any]:
    """The members of a union type (or the type itself)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(tp) for a in unwrap(arg)]
    return [tp]
