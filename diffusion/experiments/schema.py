"""The schema of experiment config files: one pydantic model per table, the lever tables built from the
lever classes' signatures, and the reference page generated from them (docs/config-reference.md).

Loading, resolving scenarios and checking values against the real objects is ``diffusion.config``.
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
from diffusion.model.params import MECHANISMS, NETWORKS, ModelParams, ProductParams
from diffusion.model.products import INDICATORS, PRODUCTS

#: Charts the report may draw (``[outputs] charts``): "all", a chart family, or one chart's name.
CHART_NAMES: tuple[str, ...] = (
    "all",
    "dashboard",
    "adoption",
    "scenarios",
    "additional",
    "cost_effectiveness",
    "spending",
    "by_income",
    "by_age",
    "by_hamlet",
    "sobol",
    "morris",
    "calibration_fit",
    "posterior",
    "resolution09",
    "additional_adopters",
    *(f"adoption_{k}" for k in (*INDICATORS, "working_age_smartphone")),
    "hamlets_internet",
    "hamlets_smartphone",
)
#: Metrics summarised when ``[outputs] metrics`` is not given.
DEFAULT_METRICS: tuple[str, ...] = tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)
#: Distributions of an uncertainty.
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "loguniform", "triangular", "normal", "lognormal", "choice", "empirical")
SAMPLERS: tuple[str, ...] = ("full_factorial", "lhs")
#: Largest population a config may ask for (households x scale), to keep a typo from filling memory.
MAX_HOUSEHOLDS = 5_000_000
#: Name of the single scenario of a config without [scenarios].
DEFAULT_SCENARIO = "baseline"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_LEVER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


# ======================================================================== schema
class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _month(value: str | None) -> str | None:
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
    description: str = Field("", description="What question the experiment answers (free text; diacritics welcome).")
    start: str = Field("2021-01", description='First simulated month, "YYYY-MM".')
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
        return _month(value)


class PopulationSection(StrictModel):
    """Where: the place preset and its size."""

    place: str = Field(
        description="Place preset: one of " + ", ".join(repr(k) for k in places()) + " (diffusion/data/places.csv)."
    )
    scale: float = Field(
        1.0,
        gt=0,
        description="Size factor: multiplies the households of a one-hamlet place, the hamlets (and communes) of "
        "a larger one.",
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


def _build_product_section() -> type[BaseModel]:
    docs = _attribute_docs(ProductParams)
    hints = typing.get_type_hints(ProductParams)
    fdefs = {
        f.name: (hints[f.name] | None, Field(None, description=docs.get(f.name, "")))
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
        fdefs[f.name] = (typ | None, Field(None, description=docs.get(f.name, "")))
    return create_model(
        "ModelSection",
        __base__=StrictModel,
        __doc__="Model mechanism and parameters (any ModelParams field; omitted ones keep the model default).",
        **fdefs,
    )


ModelSection = _build_model_section()


class ScenarioSection(StrictModel):
    """A named variant: overrides of lever settings and model parameters."""

    description: str = Field("", description="What the scenario represents.")
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


class UncertaintySection(StrictModel):
    """How an uncertain parameter varies across design points."""

    dist: Literal[DISTRIBUTIONS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Distribution: uniform (lower, upper; the default), loguniform (0 < lower < upper), triangular "
        "(lower, mode, upper), normal (mean, sd; truncated to lower/upper if given), lognormal (mean and sd of the "
        "log; truncated likewise), choice (values), empirical (from).",
    )
    lower: float | None = Field(None, description="Lower bound, in the parameter's unit.")
    upper: float | None = Field(None, description="Upper bound, in the parameter's unit (> lower).")
    mode: float | None = Field(None, description="Most likely value (triangular).")
    mean: float | None = Field(None, description="Mean (normal) or mean of the log (lognormal).")
    sd: float | None = Field(None, gt=0, description="Standard deviation (normal) or sd of the log (lognormal), > 0.")
    values: list[bool | int | float | str] | None = Field(
        None, min_length=1, description="Discrete values to choose from (dist choice), e.g. [4, 6, 8]."
    )
    integer: bool | None = Field(
        None, description="Round sampled values to whole numbers (default: when the parameter is a whole number)."
    )
    from_: str | None = Field(
        None,
        alias="from",
        description="Parquet file of posterior draws (columns = parameter names, one row per draw), relative to "
        "the config file; written by the calibration command. Parameters from the same file are drawn "
        "together, row by row.",
    )
    column: str | None = Field(None, description="Column of the draws file (default: the parameter's name).")


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
        None, description="Charts to draw (default: all that apply): 'all', a family (" + ", ".join(CHART_NAMES[1:14])
        + ") or a chart's name (" + ", ".join(CHART_NAMES[14:]) + ")."
    )
    metrics: list[str] | None = Field(
        None,
        description="Monthly metrics summarised in summary.csv (default: " + ", ".join(DEFAULT_METRICS) + ").",
    )


class ConfigFile(StrictModel):
    """A whole config file."""

    experiment: ExperimentSection
    population: PopulationSection
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
        "(see diffusion/calibration.py and docs/calibration.md for its keys)."
    )
    sensitivity: dict[str, Any] | None = Field(
        None,
        description="Sensitivity analysis (Sobol or Morris with SALib) run by `diffusion sensitivity`; checked by "
        "`diffusion check` (see diffusion/sensitivity.py for its keys).",
    )


# ---------------------------------------------------------------- lever schemas
#: Description of each lever setting; (kind, setting) first, then setting.
LEVER_SETTING_DOCS: dict[Any, str] = {
    "kind": "Lever type: one of " + ", ".join(LEVER_TYPES) + ".",
    "start": 'First month the lever acts, "YYYY-MM" (default: the first simulated month).',
    "end": 'Last month the lever acts, "YYYY-MM", inclusive (default: the last simulated month).',
    "enabled": "false switches the lever off; it stays in the tables with zero activity and cost.",
    "amount_vnd": "Subsidy per eligible household buying a smartphone, VND (national scheme: 500,000 VND per "
    "poor or near-poor household from 2022-12, Circular 14/2022/TT-BTTTT).",
    "eligibility": "Who is eligible: one of, or a list of, " + ", ".join(ELIGIBILITY) + ".",
    "budget_vnd": "Total budget, VND; payments stop when it is spent (omit: no limit).",
    "install_subsidy_vnd": "One-off subsidy per eligible household connecting to fibre, VND.",
    "monthly_discount_vnd": "Fibre fee discount per enrolled household, VND per month.",
    "discount_months": "Months the fee discount lasts after connection.",
    "teams_per_hamlet": "Community digital teams per served hamlet.",
    "members_per_team": "Members per team (province: 11,255 members / 1,473 teams = 7.6).",
    "visits_per_member": "Household visits per member per month.",
    "targeting": "Which households are visited first: " + ", ".join(TARGETING) + ".",
    ("digital_teams", "skill_boost"): "Share (0-1) of the gap between a visited household's skill and 1 closed by "
    "a visit.",
    "revisit_months": "Months before a household may be visited again.",
    "allowance_vnd": "Allowance per team member per month, VND (the lever's cost).",
    "hamlets": "Hamlets served, by name or 0-based index (omit: every hamlet).",
    "fibre": 'Fibre schedule: a table hamlet -> "YYYY-MM", or a list of ["YYYY-MM", share of hamlets] pairs '
    "(omit: fibre everywhere from the start).",
    "mobile": "Mobile coverage schedule, same forms as fibre (omit: coverage everywhere from the start).",
    "cost_per_hamlet_vnd": "Programme cost of connecting one hamlet (fibre or mobile), VND.",
    "awareness": "Floor (0-1) under the outreach exposure of households of served hamlets while open.",
    ("public_access", "skill_boost"): "Share (0-1) of the skill gap closed once, in the opening month.",
    "setup_cost_vnd": "Cost of opening one access point, VND.",
    "monthly_cost_vnd": "Running cost of one access point, VND per month.",
}

_SETTING_TYPES: dict[str, Any] = {
    "eligibility": Literal[ELIGIBILITY] | list[Literal[ELIGIBILITY]],  # type: ignore[valid-type]
    "hamlets": str | int | list[str | int] | None,
    "fibre": dict[str, str] | list[list[str | float]] | None,
    "mobile": dict[str, str] | list[list[str | float]] | None,
    "targeting": Literal[TARGETING],  # type: ignore[valid-type]
}


def _setting_doc(kind: str, name: str) -> str:
    return LEVER_SETTING_DOCS.get((kind, name)) or LEVER_SETTING_DOCS.get(name) or f"See diffusion.levers ({kind})."


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
    for name, (typ, default) in lever_settings(kind).items():
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



def _unwrap(tp: Any) -> list[Any]:
    """The members of a union type (or the type itself)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(tp) for a in _unwrap(arg)]
    return [tp]


# ======================================================================== reference page
def _type_text(tp: Any) -> str:
    parts = []
    for t in _unwrap(tp):
        if t is type(None):
            continue
        origin = typing.get_origin(t)
        if origin is Literal:
            parts.append(" \\| ".join(f"`{a!r}`" for a in typing.get_args(t)))
        elif origin is list:
            parts.append(f"list of {_type_text(typing.get_args(t)[0])}")
        elif origin is dict:
            parts.append(f"table of {_type_text(typing.get_args(t)[1])}")
        elif isinstance(t, type) and issubclass(t, BaseModel):
            parts.append("table")
        elif t is Any:
            parts.append("any")
        elif isinstance(t, type):
            parts.append({"str": "text", "int": "whole number", "float": "number", "bool": "true/false"}.get(
                t.__name__, t.__name__))
        else:
            parts.append(str(t))
    return " or ".join(parts) or "any"


def _default_text(f: Any, defaults: dict[str, Any] | None = None, name: str = "") -> str:
    if defaults is not None and name in defaults:
        return f"`{defaults[name]!r}` (model default)"
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        return "(empty)"
    return "—" if f.default is None else f"`{f.default!r}`"


def _table(model: type[BaseModel], defaults: dict[str, Any] | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        if name in skip:
            continue
        key = f.alias or name
        desc = (f.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{key}` | {_type_text(f.annotation)} | {_default_text(f, defaults, name)} | {desc} |")
    return lines


def reference_markdown() -> str:
    """The config reference page (docs/config-reference.md), generated from the schema."""
    mp = ModelParams()
    model_defaults = {f.name: getattr(mp, f.name) for f in dc_fields(ModelParams) if f.name != "products"}
    model_defaults["active_products"] = list(mp.active_products)
    out = [
        "# Config reference",
        "",
        ("<!-- Generated by `diffusion check --reference docs/config-reference.md` from diffusion/config_schema.py; "
        "do not edit by hand. -->"),
        "",
        ("An experiment is one TOML file (UTF-8). Tables and keys not listed here are errors (with a \"did you "
        "mean\" hint); every error names the file and the dotted field path. Validate a file with "
        "`diffusion check CONFIG`; run it with `diffusion run CONFIG`."),
        "",
        "Units: rates are per year, money is VND (2021 prices), shares are 0–1, months are \"YYYY-MM\".",
        "",
        "## [experiment]",
        "",
        *_table(ExperimentSection),
        "",
        "## [population]",
        "",
        *_table(PopulationSection),
        "",
        "## [model]",
        "",
        "Any `ModelParams` field; omitted fields keep the model default shown here.",
        "",
        *_table(ModelSection, model_defaults),
        "",
        "### [model.products.<product>]",
        "",
        "`<product>` is one of " + ", ".join(f"`{p}`" for p in PRODUCTS) + ". Model defaults per product:",
        "",
        "| product | " + " | ".join(f.name for f in dc_fields(ProductParams)) + " |",
        "|---|" + "---|" * len(dc_fields(ProductParams)),
    ]
    for p in PRODUCTS:
        pp = mp.products[p]
        out.append(f"| `{p}` | " + " | ".join(f"{getattr(pp, f.name):g}" for f in dc_fields(ProductParams)) + " |")
    out += ["", *_table(ProductSection), ""]
    out += [
        "## [levers.<name>]",
        "",
        ("One table per lever; `<name>` (letters, digits, `_`, `-`) names it in the results (`cost.<name>`, "
        "`<name>.<activity>` columns). `kind` chooses the type; the other keys are that type's settings."),
        "",
    ]
    for kind, model in LEVER_MODELS.items():
        out += [f"### kind = \"{kind}\"", "", (model.__doc__ or "").strip().replace("\n", " "), "",
                *_table(model), ""]
    out += [
        "## [scenarios.<name>]",
        "",
        ("Named variants of the base config. Overrides use dotted keys, e.g. `levers.teams.enabled = false`, "
        "`levers.subsidy.amount_vnd = 1000000`, `model.rewiring = 0.1`, `model.products.smartphone.q = 0.5`. "
        "A lever not in [levers] may be defined for one scenario with its `kind`. Without [scenarios] the "
        f"experiment has one scenario, `{DEFAULT_SCENARIO}`. All scenarios share random numbers replicate by "
        "replicate (common random numbers), so differences against the reference are the policy's effect."),
        "",
        *_table(ScenarioSection),
        "",
        "## [uncertainties.<parameter>]",
        "",
        ("`<parameter>` is a model parameter (`rewiring`, `\"smartphone.q\"` in quotes or `q_smartphone`) or a lever "
        "setting `\"levers.<lever>.<setting>\"`. Each design point sets the parameter in every scenario."),
        "",
        *_table(UncertaintySection),
        "",
        "## [design]",
        "",
        *_table(DesignSection),
        "",
        "## [outputs]",
        "",
        *_table(OutputsSection),
        "",
        "## [calibration], [sensitivity]",
        "",
        ("`[sensitivity]` configures `diffusion sensitivity` (Sobol or Morris with SALib; keys in "
        "diffusion/sensitivity.py and experiments/sensitivity_levers.toml); `[calibration]` configures "
        "`diffusion calibrate` (pyABC; diffusion/calibration.py). `diffusion check` validates both."),
        "",
    ]
    return "\n".join(out)
