"""Report-ready charts of experiment results, in English or Vietnamese.

Every chart function takes tidy results (the experiment layer's long table: scenario, replicate,
design_point, month, date and the metric columns of ``AdoptionModel.timeseries()``) or a documented
analysis table, and returns a ``matplotlib.figure.Figure`` in the house style (``charts.style``);
``style.save(fig, path_stem)`` writes it as PNG, SVG and PDF, byte-identical on reruns.
``render_all(results_dir)`` draws every applicable chart of a results folder.

Charts:
    adoption_over_time: fan chart of one indicator, one panel per scenario, targets and observations.
    scenario_comparison: medians per scenario for the main indicators.
    additional_adopters_chart: households beyond the reference per scenario, with intervals.
    cost_effectiveness_chart: cost per additional adopting household per scenario, with intervals.
    spending_over_time: cumulative spending stacked by lever.
    adoption_by_group: by income quintile or age of the household head.
    adoption_by_hamlet: heat map hamlet x month.
    resolution09_dashboard: each Resolution 09 target, value at the target date, met or not, when reached.
    sobol_chart, morris_chart, calibration_fit, posterior_chart: sensitivity and calibration.
"""

from diffusion.foundation.strings import LANGUAGES, STRINGS, tr
from diffusion.presentation.charts.adoption import (
    additional_adopters_chart,
    adoption_by_group,
    adoption_by_hamlet,
    adoption_over_time,
    scenario_comparison,
)
from diffusion.presentation.charts.analysis import calibration_fit, morris_chart, posterior_chart, sobol_chart
from diffusion.presentation.charts.costs import cost_effectiveness_chart, spending_over_time
from diffusion.presentation.charts.data import observed_points, quantile_bands
from diffusion.presentation.charts.render import (
    ANALYSIS_FILES,
    CHART_FAMILIES,
    Results,
    load_results,
    render_all,
    render_results,
)
from diffusion.presentation.charts.style import save
from diffusion.presentation.charts.targets import resolution09_dashboard, target_status

__all__ = [
    "ANALYSIS_FILES",
    "CHART_FAMILIES",
    "LANGUAGES",
    "STRINGS",
    "Results",
    "additional_adopters_chart",
    "adoption_by_group",
    "adoption_by_hamlet",
    "adoption_over_time",
    "calibration_fit",
    "cost_effectiveness_chart",
    "load_results",
    "morris_chart",
    "observed_points",
    "posterior_chart",
    "quantile_bands",
    "render_all",
    "render_results",
    "resolution09_dashboard",
    "save",
    "scenario_comparison",
    "sobol_chart",
    "spending_over_time",
    "target_status",
    "tr",
]
