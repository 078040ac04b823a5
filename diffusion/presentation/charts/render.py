"""Read a results folder and write every applicable chart to ``<results>/charts/<name>.{png,svg,pdf}``.

A results folder (written by the experiment layer) holds ``manifest.json``, ``timeseries.parquet``,
``summary.csv`` and optionally ``by_hamlet.parquet``. The analysis layers may add, as CSV or Parquet
(see ``ANALYSIS_FILES``): ``sensitivity/sobol``, ``sensitivity/morris``, ``calibration/posterior``,
``calibration/predictive`` and ``calibration/observed`` (column formats in ``charts.analysis``), and
an ``observed.csv`` (metric, date, value, source) of observations to mark on the adoption charts;
without it, the package observations for the config's place preset are used (``data.observed_points``).

``[outputs] charts`` in the config selects chart families (``CHART_FAMILIES``) or chart names; absent,
empty or ``["all"]`` means every applicable chart. ``[outputs] language`` ("en" or "vi") picks the
labels unless ``render_all`` is given a language.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from diffusion.foundation import sources
from diffusion.foundation.strings import check_language, fmt_month, metric_label, tr
from diffusion.presentation.charts import adoption, analysis, costs, style, targets
from diffusion.presentation.charts.data import (
    ADOPTION_METRICS,
    at_month,
    n_runs,
    observed_points,
    place_key,
    place_name,
    reference_scenario,
    scenarios_in,
)

log = logging.getLogger(__name__)

#: Chart families, in the order they appear in the report.
CHART_FAMILIES: tuple[str, ...] = (
    "dashboard", "adoption", "scenarios", "additional", "cost_effectiveness", "spending",
    "by_income", "by_age", "by_hamlet", "sobol", "morris", "calibration_fit", "posterior",
)
#: Optional analysis tables: key -> path inside the results folder without suffix (.parquet or .csv).
ANALYSIS_FILES: dict[str, str] = {
    "sobol": "sensitivity/sobol",
    "morris": "sensitivity/morris",
    "posterior": "calibration/posterior",
    "predictive": "calibration/predictive",
    "calibration_observed": "calibration/observed",
}


@dataclass
class Results:
    """A results folder, read.

    Attributes:
        folder: the folder.
        manifest: manifest.json as a dict ({} if missing).
        config: the config as read (``manifest["config"]``; {} if missing).
        timeseries: the tidy long table.
        by_hamlet: the per-hamlet long table, or None.
        summary: summary.csv, or None.
        tables: analysis tables by ``ANALYSIS_FILES`` key (only those present).
        observed: observations to mark on the adoption charts.
        language: "en" or "vi".
        place_key: the place preset of the config, or None.
        place: its display name (with diacritics), or None.
        reference: the reference scenario.
    """

    folder: Path
    manifest: dict
    config: dict
    timeseries: pd.DataFrame
    by_hamlet: pd.DataFrame | None
    summary: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    observed: pd.DataFrame | None = None
    language: str = "en"
    place_key: str | None = None
    place: str | None = None
    reference: str = ""

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in order of appearance."""
        return scenarios_in(self.timeseries)


def _read_table(stem: Path) -> pd.DataFrame | None:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = stem.with_name(stem.name + suffix)
        if path.exists():
            return reader(path)
    return None


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Scenario as text, date as "YYYY-MM", rows in a stable order."""
    df = df.copy()
    if "scenario" in df.columns:
        df["scenario"] = df["scenario"].astype(str)
    if "date" in df.columns:
        df["date"] = df["date"].astype(str).str.slice(0, 7)
    return df


def load_results(results_dir: str | Path, language: str | None = None) -> Results:
    """Read a results folder (see the module docstring).

    Args:
        results_dir: the folder.
        language: "en" or "vi"; default ``[outputs] language`` of the config, else "en".

    Raises:
        FileNotFoundError: when the folder has no timeseries.parquet.
    """
    folder = Path(results_dir)
    ts_path = folder / "timeseries.parquet"
    if not ts_path.exists():
        raise FileNotFoundError(f"{ts_path} does not exist: is {folder} a results folder?")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    config = manifest.get("config") or {}
    outputs = config.get("outputs") or {}
    lang = check_language(language or outputs.get("language") or "en")
    ts = _normalise(pd.read_parquet(ts_path))
    bh = _read_table(folder / "by_hamlet")
    summary_path = folder / "summary.csv"
    summary = pd.read_csv(summary_path) if summary_path.exists() else None
    tables = {}
    for key, rel in ANALYSIS_FILES.items():
        t = _read_table(folder / rel)
        if t is not None:
            tables[key] = _normalise(t)
    pkey = place_key(config)
    observed = _read_table(folder / "observed")
    if observed is None:
        observed = observed_points(pkey)
    return Results(
        folder=folder, manifest=manifest, config=config, timeseries=ts,
        by_hamlet=_normalise(bh) if bh is not None else None, summary=summary, tables=tables,
        observed=_normalise(observed), language=lang, place_key=pkey, place=place_name(pkey, lang),
        reference=_reference(manifest, scenarios_in(ts), config),
    )


def _reference(manifest: dict, scenarios: list[str], config: dict) -> str:
    """The plan's reference scenario (manifest ``plan.reference``) if it is in the results, else
    ``data.reference_scenario``."""
    ref = (manifest.get("plan") or {}).get("reference")
    return str(ref) if ref is not None and str(ref) in scenarios else reference_scenario(scenarios, config)


@dataclass(frozen=True)
class Chart:
    """A chart to draw: its file name, family, how to build it and its caption."""

    name: str
    family: str
    build: Callable[[], Figure]
    caption: str


def prior_bounds(config: dict) -> dict[str, tuple[float, float]]:
    """Bounds of the priors behind a posterior: the config's ``[calibration.priors]`` (see
    ``calibration.prior_bounds``) and, for parameters not calibrated there, its ``[uncertainties.*]``
    (``lower``/``upper``, or ``bounds = [low, high]``); nested tables such as ``[uncertainties.smartphone.q]``
    are flattened to "smartphone.q"."""
    from diffusion.analyses.calibration import prior_bounds as calibration_priors
    from diffusion.experiments.config import flatten_tables

    out = {}
    for name, sec in flatten_tables(config.get("uncertainties") or {}).items():
        if not isinstance(sec, dict):
            continue
        b = sec.get("bounds", [sec.get("lower"), sec.get("upper")])
        if isinstance(b, list | tuple) and len(b) == 2 and all(isinstance(v, int | float) for v in b):
            out[str(name)] = (float(b[0]), float(b[1]))
    out.update(calibration_priors(config))
    return out


def planned_charts(res: Results) -> list[Chart]:
    """Every chart that applies to these results, in report order, filtered by ``[outputs] charts``."""
    lang, ts = res.language, res.timeseries
    scenarios = res.scenarios
    multi = len(scenarios) > 1
    ref = res.reference
    last_date = fmt_month(at_month(ts)[2], lang)
    spending = bool(costs.levers_with_spending(ts))
    charts: list[Chart] = []

    def add(name: str, family: str, fn: Callable[[], Figure], caption_key: str, **fields) -> None:
        charts.append(Chart(name, family, fn, tr(caption_key, lang, **fields)))

    if any(t.metric in ts.columns for t in sources.targets()):
        add("resolution09", "dashboard", partial(targets.resolution09_dashboard, ts, reference=ref, lang=lang),
            "caption.dashboard")
    runs = n_runs(ts)
    for metric in ADOPTION_METRICS:
        if metric in ts.columns:
            add(f"adoption_{metric.removeprefix('share_')}", "adoption",
                partial(adoption.adoption_over_time, ts, metric, reference=ref, observed=res.observed,
                        place=res.place, lang=lang),
                "caption.adoption", indicator=metric_label(metric, lang), place=adoption._place_suffix(res.place),
                runs=runs)
    if multi:
        add("scenarios", "scenarios", partial(adoption.scenario_comparison, ts, reference=ref, place=res.place,
                                              lang=lang), "caption.scenarios")
        add("additional_adopters", "additional", partial(adoption.additional_adopters_chart, ts, ref, lang=lang),
            "caption.additional", date=last_date, reference=ref)
        if spending:
            add("cost_effectiveness", "cost_effectiveness",
                partial(costs.cost_effectiveness_chart, ts, ref, lang=lang), "caption.cost_effectiveness",
                date=last_date, reference=ref)
    if spending:
        add("spending", "spending", partial(costs.spending_over_time, ts, lang=lang), "caption.spending")
    if "share_internet_q1" in ts.columns:
        add("by_income", "by_income", partial(adoption.adoption_by_group, ts, "income", reference=ref, lang=lang),
            "caption.by_income", date=last_date)
    if "share_internet_age_under_35" in ts.columns:
        add("by_age", "by_age", partial(adoption.adoption_by_group, ts, "age", reference=ref, lang=lang),
            "caption.by_age", date=last_date)
    bh = res.by_hamlet
    if bh is not None and "hamlet" in bh.columns and bh["hamlet"].nunique() > 1:
        for ind in ("internet", "smartphone"):
            if f"share_{ind}" in bh.columns:
                add(f"hamlets_{ind}", "by_hamlet", partial(adoption.adoption_by_hamlet, bh, ind, lang=lang),
                    "caption.by_hamlet", indicator=metric_label(f"share_{ind}", lang))
    t = res.tables
    if "sobol" in t:
        add("sobol", "sobol", partial(analysis.sobol_chart, t["sobol"], lang=lang), "caption.sobol")
    if "morris" in t:
        add("morris", "morris", partial(analysis.morris_chart, t["morris"], lang=lang), "caption.morris")
    if "predictive" in t and "calibration_observed" in t:
        add("calibration_fit", "calibration_fit",
            partial(analysis.calibration_fit, t["predictive"], t["calibration_observed"], lang=lang),
            "caption.calibration_fit")
    if "posterior" in t:
        add("posterior", "posterior",
            partial(analysis.posterior_chart, t["posterior"], prior_bounds(res.config), lang=lang),
            "caption.posterior")
    wanted = (res.config.get("outputs") or {}).get("charts")
    if isinstance(wanted, str):
        wanted = [wanted]
    if wanted and "all" not in wanted:
        charts = [c for c in charts if c.family in wanted or c.name in wanted]
    return charts


@dataclass(frozen=True)
class RenderedChart:
    """A chart written to disk."""

    name: str
    family: str
    caption: str
    png: Path
    svg: Path
    pdf: Path


def render_results(res: Results) -> list[RenderedChart]:
    """Draw and save every planned chart of ``res`` into ``<folder>/charts``.

    A chart whose builder finds it does not apply (it raises ValueError) is skipped with a log message.
    """
    out_dir = res.folder / "charts"
    done = []
    for chart in planned_charts(res):
        try:
            fig = chart.build()
        except ValueError as err:
            log.info("chart %s skipped: %s", chart.name, err)
            continue
        png, svg, pdf = style.save(fig, out_dir / chart.name)
        done.append(RenderedChart(chart.name, chart.family, chart.caption, png, svg, pdf))
        log.debug("wrote %s", png)
    return done


def render_all(results_dir: str | Path, language: str | None = None) -> list[Path]:
    """Write every applicable chart of a results folder as PNG, SVG and PDF.

    Args:
        results_dir: a results folder (manifest.json, timeseries.parquet, ...).
        language: "en" or "vi" (default: the config's ``[outputs] language``, else "en").

    Returns:
        The PNG paths, one per chart, in report order (``.svg`` and ``.pdf`` beside each).
    """
    return [c.png for c in render_results(load_results(results_dir, language))]

