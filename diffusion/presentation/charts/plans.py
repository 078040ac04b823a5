"""The chart families of a run (``diffusion run``): what each draws from ``timeseries.parquet`` and
``by_hamlet.parquet``, registered in report order (see ``charts.registry``)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from diffusion.foundation import sources
from diffusion.foundation.strings import fmt_month, metric_label
from diffusion.presentation.charts import adoption, costs, targets
from diffusion.presentation.charts.data import ADOPTION_METRICS, at_month, n_runs
from diffusion.presentation.charts.registry import PlannedChart, chart_family
from diffusion.presentation.charts.view import ResultsView

#: Indicators of the heat maps by hamlet.
HAMLET_INDICATORS: tuple[str, ...] = ("internet", "smartphone")


def _last_date(v: ResultsView) -> str:
    return fmt_month(at_month(v.timeseries)[2], v.language)


def _several_scenarios(v: ResultsView) -> bool:
    return len(v.scenarios) > 1


@chart_family("dashboard", charts=("resolution09",))
def plan_dashboard(v: ResultsView) -> Iterator[PlannedChart]:
    ts = v.timeseries
    if any(t.metric in ts.columns for t in sources.targets()):
        yield "resolution09", partial(targets.resolution09_dashboard, ts, reference=v.reference, lang=v.language), {}


@chart_family("adoption", charts=tuple(f"adoption_{m.removeprefix('share_')}" for m in ADOPTION_METRICS))
def plan_adoption(v: ResultsView) -> Iterator[PlannedChart]:
    ts, lang = v.timeseries, v.language
    runs = n_runs(ts)
    for metric in ADOPTION_METRICS:
        if metric in ts.columns:
            build = partial(adoption.adoption_over_time, ts, metric, reference=v.reference, observed=v.observed,
                            place=v.place, lang=lang)
            yield (f"adoption_{metric.removeprefix('share_')}", build,
                   {"indicator": metric_label(metric, lang), "place": adoption.place_suffix(v.place), "runs": runs})


@chart_family("scenarios")
def plan_scenarios(v: ResultsView) -> Iterator[PlannedChart]:
    if _several_scenarios(v):
        yield "scenarios", partial(adoption.scenario_comparison, v.timeseries, reference=v.reference, place=v.place,
                                   lang=v.language), {}


@chart_family("additional", charts=("additional_adopters",))
def plan_additional(v: ResultsView) -> Iterator[PlannedChart]:
    if _several_scenarios(v):
        yield ("additional_adopters", partial(adoption.additional_adopters_chart, v.timeseries, v.reference,
                                              lang=v.language),
               {"date": _last_date(v), "reference": v.reference})


@chart_family("cost_effectiveness")
def plan_cost_effectiveness(v: ResultsView) -> Iterator[PlannedChart]:
    if _several_scenarios(v) and costs.levers_with_spending(v.timeseries):
        yield ("cost_effectiveness", partial(costs.cost_effectiveness_chart, v.timeseries, v.reference,
                                             lang=v.language),
               {"date": _last_date(v), "reference": v.reference})


@chart_family("spending")
def plan_spending(v: ResultsView) -> Iterator[PlannedChart]:
    if costs.levers_with_spending(v.timeseries):
        yield "spending", partial(costs.spending_over_time, v.timeseries, lang=v.language), {}


@chart_family("by_income")
def plan_by_income(v: ResultsView) -> Iterator[PlannedChart]:
    if "share_internet_q1" in v.timeseries.columns:
        yield ("by_income", partial(adoption.adoption_by_group, v.timeseries, "income", reference=v.reference,
                                    lang=v.language), {"date": _last_date(v)})


@chart_family("by_age")
def plan_by_age(v: ResultsView) -> Iterator[PlannedChart]:
    if "share_internet_age_under_35" in v.timeseries.columns:
        yield ("by_age", partial(adoption.adoption_by_group, v.timeseries, "age", reference=v.reference,
                                 lang=v.language), {"date": _last_date(v)})


@chart_family("by_hamlet", charts=tuple(f"hamlets_{i}" for i in HAMLET_INDICATORS))
def plan_by_hamlet(v: ResultsView) -> Iterator[PlannedChart]:
    bh = v.by_hamlet
    if bh is None or "hamlet" not in bh.columns or bh["hamlet"].nunique() <= 1:
        return
    for ind in HAMLET_INDICATORS:
        if f"share_{ind}" in bh.columns:
            yield (f"hamlets_{ind}", partial(adoption.adoption_by_hamlet, bh, ind, lang=v.language),
                   {"indicator": metric_label(f"share_{ind}", v.language)})
