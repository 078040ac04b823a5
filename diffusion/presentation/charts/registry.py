"""The chart registry: every chart family registers itself here, with a decorator on the function that plans
its charts.

A *family* is a kind of chart (``adoption``, ``sobol``, ``posterior``, ...); it draws one or more *charts*
(files ``charts/<name>.{png,svg,pdf}``): ``adoption`` draws ``adoption_internet``, ``adoption_fibre``, ...
Each family declares the analysis whose tables it reads (``run``, ``sensitivity``, ``calibration``), the
names of the charts it may draw and the string key of its caption in the report. Everything else is derived
from the registry: the report's order of charts (the run's first, then the sensitivity analysis's, then the
calibration's; within an analysis, the order its families register in), the names ``[outputs] charts`` may
use (``chart_names``, ``check_outputs``) and the section on charts of the config reference page.

A plan function takes the results (``charts.view.ResultsView``) and yields ``(name, build, fields)`` for each
chart that applies: ``build()`` returns the figure, ``fields`` fill in the caption. The families register
when ``diffusion.presentation.charts`` is imported (its ``__init__`` imports the modules that define them).

Example:
    >>> @chart_family("spending", caption="caption.spending")  # doctest: +SKIP
    ... def plan_spending(view):
    ...     if costs.levers_with_spending(view.timeseries):
    ...         yield "spending", partial(costs.spending_over_time, view.timeseries, lang=view.language), {}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from diffusion.foundation.strings import tr
from diffusion.foundation.text import did_you_mean

#: The analyses whose tables charts are drawn from.
KINDS: tuple[str, ...] = ("run", "sensitivity", "calibration", "optimisation")
#: What ``[outputs] charts`` may say besides families and chart names.
ALL = "all"

#: What a plan function yields per chart: its name, how to build it, the fields of its caption.
PlannedChart = tuple[str, Callable[[], Figure], dict[str, Any]]


@dataclass(frozen=True)
class Chart:
    """A chart to draw: its file name, family and analysis, how to build it and its caption (in the results'
    language)."""

    name: str
    family: str
    kind: str
    build: Callable[[], Figure]
    caption: str


@dataclass(frozen=True)
class Family:
    """A registered chart family.

    Attributes:
        name: the family's name (what ``[outputs] charts`` may say).
        kind: the analysis whose tables it reads (one of KINDS).
        charts: the names of the charts it may draw.
        caption: the string key of its charts' caption (``foundation.strings``).
        plan: the plan function (see the module docstring).
    """

    name: str
    kind: str
    charts: tuple[str, ...]
    caption: str
    plan: Callable[[Any], Iterable[PlannedChart]]

    def planned(self, view: Any) -> list[Chart]:
        """The charts of this family that apply to ``view`` (a ``ResultsView``)."""
        out = []
        for name, build, fields in self.plan(view):
            if name not in self.charts:
                raise ValueError(f"chart family {self.name!r} planned {name!r}, which it did not register "
                                 f"(one of {self.charts})")
            out.append(Chart(name, self.name, self.kind, build, tr(self.caption, view.language, **fields)))
        return out


_FAMILIES: dict[str, Family] = {}


def chart_family(name: str, *, kind: str = "run", charts: Iterable[str] | None = None,
                 caption: str | None = None) -> Callable:
    """Register the decorated plan function as chart family ``name``.

    Args:
        name: the family's name.
        kind: the analysis whose tables it reads: "run", "sensitivity" or "calibration".
        charts: the names of the charts it may draw (default: one chart named as the family).
        caption: the string key of the caption (default ``caption.<name>``).
    """
    if kind not in KINDS:
        raise ValueError(f"chart family {name!r}: kind {kind!r} is not one of {KINDS}")
    names = tuple(charts) if charts is not None else (name,)
    key = caption or f"caption.{name}"

    def register(plan: Callable[[Any], Iterable[PlannedChart]]) -> Callable[[Any], Iterable[PlannedChart]]:
        if name in _FAMILIES:
            raise ValueError(f"chart family {name!r} is registered twice")
        taken = {c for f in _FAMILIES.values() for c in f.charts}
        if taken & set(names):
            raise ValueError(f"chart family {name!r}: the chart names {sorted(taken & set(names))} are taken")
        _FAMILIES[name] = Family(name, kind, names, key, plan)
        return plan

    return register


def families(kinds: Iterable[str] | None = None) -> list[Family]:
    """The registered families in report order (only those of analyses ``kinds``, when given): by analysis
    (KINDS), then in the order they registered."""
    wanted = None if kinds is None else set(kinds)
    if wanted is not None and wanted - set(KINDS):
        raise ValueError(f"kinds {sorted(wanted - set(KINDS))} are not among {KINDS}")
    ordered = sorted(_FAMILIES.values(), key=lambda f: KINDS.index(f.kind))  # (stable: registration order kept)
    return [f for f in ordered if wanted is None or f.kind in wanted]


def chart_names() -> dict[str, list[str]]:
    """Family -> the names of its charts, in report order (for the config reference page)."""
    return {f.name: list(f.charts) for f in families()}


def allowed_charts() -> list[str]:
    """What ``[outputs] charts`` may list: "all", a family or a chart's name."""
    out = [ALL, *(f.name for f in families())]
    out += [c for f in families() for c in f.charts if c not in out]
    return out


def check_outputs(cfg: Any) -> list[tuple[str, str]]:
    """Problems of ``[outputs] charts`` of a validated config (``ExperimentConfig``): (field path, message)
    for each entry that is neither "all" nor a family nor a chart's name."""
    allowed = allowed_charts()
    problems = []
    for i, c in enumerate(cfg.outputs.charts or []):
        if c not in allowed:
            problems.append((f"outputs.charts[{i}]", (f"{c!r} is not allowed: one of "
                                                      f"{', '.join(map(repr, allowed))}{did_you_mean(c, allowed)}")))
    return problems


def selected(charts: list[Chart], selection: list[str] | None) -> list[Chart]:
    """The charts ``[outputs] charts`` selects: absent, empty or with "all": every chart; else those whose
    family or name it lists."""
    if not selection or ALL in selection:
        return charts
    return [c for c in charts if c.family in selection or c.name in selection]
