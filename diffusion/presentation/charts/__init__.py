"""Report-ready charts of experiment results, in English or Vietnamese.

Every chart function takes tidy results (the experiment layer's long table: scenario, replicate,
design_point, month, date and the metric columns of ``AdoptionModel.timeseries()``) or a documented
analysis table, and returns a ``matplotlib.figure.Figure`` in the house style (``charts.style``);
``style.save(fig, path_stem)`` writes it as PNG, SVG and PDF, byte-identical on reruns.
``render_charts(results_dir)`` draws every applicable chart of a results folder; the chart families are
registered in ``charts.registry`` (``chart_names()``, ``check_outputs(cfg)``).

Charts:
    adoption_over_time: fan chart of one indicator, one panel per scenario, targets and observations.
    scenario_comparison: medians per scenario for the main indicators.
    additional_adopters_chart: households beyond the reference per scenario, with intervals.
    cost_effectiveness_chart: cost per additional adopting household per scenario, with intervals.
    spending_over_time: cumulative spending stacked by lever.
    adoption_by_group: by income quintile or age of the household head.
    adoption_by_hamlet: heat map hamlet x month.
    resolution09_dashboard: each Resolution 09 target, value at the target date, met or not, when reached.
    sobol_chart, morris_chart, convergence_chart: a sensitivity analysis (``charts.sensitivity``).
    calibration_fit, targets_chart, posterior_chart, pair_plot: a calibration (``charts.calibration``).
"""

from diffusion.foundation.strings import LANGUAGES, STRINGS, tr
from diffusion.presentation.charts import (  # noqa: F401  (plans registers the run's chart families)
    decision,  # noqa: F401  (registers the decision chart families)
    plans,
    style,
    sweep,  # noqa: F401  (registers the chart of outcomes against a swept design value)
)
from diffusion.presentation.charts.adoption import (
    additional_adopters_chart,
    adoption_by_group,
    adoption_by_hamlet,
    adoption_over_time,
    scenario_comparison,
)
from diffusion.presentation.charts.calibration import calibration_fit, pair_plot, posterior_chart, targets_chart
from diffusion.presentation.charts.costs import cost_effectiveness_chart, spending_over_time
from diffusion.presentation.charts.data import observed_points, quantile_bands
from diffusion.presentation.charts.decision import (
    pareto_front,
    pareto_policies,
    peeling_chart,
    robustness_chart,
    search_convergence,
)
from diffusion.presentation.charts.registry import chart_names, check_outputs
from diffusion.presentation.charts.render import RenderedChart, planned_charts, render_charts
from diffusion.presentation.charts.sensitivity import convergence_chart, morris_chart, sobol_chart
from diffusion.presentation.charts.style import save
from diffusion.presentation.charts.targets import resolution09_dashboard, target_status
from diffusion.presentation.charts.view import ResultsView, open_view

__all__ = [
    "LANGUAGES",
    "STRINGS",
    "RenderedChart",
    "ResultsView",
    "additional_adopters_chart",
    "adoption_by_group",
    "adoption_by_hamlet",
    "adoption_over_time",
    "calibration_fit",
    "chart_names",
    "check_outputs",
    "convergence_chart",
    "cost_effectiveness_chart",
    "morris_chart",
    "observed_points",
    "open_view",
    "pareto_front",
    "pareto_policies",
    "peeling_chart",
    "pair_plot",
    "planned_charts",
    "posterior_chart",
    "quantile_bands",
    "render_charts",
    "resolution09_dashboard",
    "robustness_chart",
    "save",
    "scenario_comparison",
    "search_convergence",
    "sobol_chart",
    "spending_over_time",
    "style",
    "target_status",
    "targets_chart",
    "tr",
]
