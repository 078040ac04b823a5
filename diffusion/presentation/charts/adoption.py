"""Adoption charts: over time per product, by scenario, additional adopters, by group and by hamlet.

Each function takes the tidy results (see ``charts.data``) and returns a matplotlib Figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion.experiments.outcomes import additional_adopters
from diffusion.foundation.strings import check_language, fmt_month, fmt_number, metric_label, tr
from diffusion.model.outputs import QUINTILES
from diffusion.model.population import AGE_GROUPS
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.data import (
    MAIN_INDICATORS,
    at_month,
    compared_scenarios,
    of_scenario,
    quantile_bands,
    scenarios_in,
    to_datetime64,
)


def _y_label(metric: str, lang: str) -> str:
    return tr("axis.share_people" if "working_age" in metric else "axis.share_households", lang)


def place_suffix(place: str | None) -> str:
    return f" — {place}" if place else ""


def _check_metric(df: pd.DataFrame, metric: str) -> None:
    if metric not in df.columns:
        raise ValueError(f"the results have no column {metric!r}")


def adoption_over_time(results: pd.DataFrame, metric: str = "share_internet", *, scenarios: list[str] | None = None,
                       reference: str | None = None, observed: pd.DataFrame | None = None, targets=None,
                       place: str | None = None, lang: str = "en") -> Figure:
    """Fan chart of one indicator over time, one panel per scenario.

    Args:
        results: tidy results (scenario, replicate, design_point, month, date, metrics).
        metric: the share column, e.g. "share_internet" or "share_working_age_smartphone".
        scenarios: which scenarios, in order (default: all, in order of appearance).
        reference: the reference scenario (marked in its panel title).
        observed: observed values (columns metric, date "YYYY-MM", value 0..1; optional qualifier, place,
            date_text, date_text_vi, source, approximate_date; see ``data.observed_points``); rows of other metrics
            are ignored.
        targets: Resolution 09 targets (default: ``sources.targets()``; ``()`` for none).
        place: place name for the title (with diacritics).
        lang: "en" or "vi".

    Returns:
        The figure: median line, 50% and 90% bands over runs, target line, observed markers.
    """
    lang = check_language(lang)
    _check_metric(results, metric)
    scenarios = scenarios or scenarios_in(results)
    bands = quantile_bands(results, metric)
    obs = observed[observed["metric"] == metric] if observed is not None and len(observed) else None
    target = _draw.target_for(metric, targets)
    with style.style_context():
        fig, axes = _draw.panel_grid(len(scenarios), row_height=2.3)
        x_all = to_datetime64(bands["date"])
        first, last = x_all.min(), x_all.max()
        handles = _draw.fan_handles(lang)
        lows = [bands["p5"].min()]
        for i, (ax, scn) in enumerate(zip(axes, scenarios)):
            b = of_scenario(bands, scn)
            _draw.fan(ax, b, gid=scn)
            _draw.panel_title(ax, _draw.scenario_label(scn, reference, lang))
            style.date_axis(ax, first, last, lang)
            if target is not None:
                line = _draw.target_line(ax, target, lang, first, last)
                if i == 0:
                    handles.append(line)
            if obs is not None and len(obs):
                lines = _draw.observed_markers(ax, obs, lang)
                lows.append(obs["value"].min())
                if i == 0:
                    handles.extend(lines)
            style.percent_axis(ax, lang=lang)
        _draw.share_limits(axes[0], lows)
        _draw.label_first_col(axes, _y_label(metric, lang))
        style.bottom_xlabels_only(axes)
        _draw.title(fig, tr("title.adoption", lang, indicator=metric_label(metric, lang),
                            place=place_suffix(place)))
        _draw.legend(fig, handles, ncols=3 if len(handles) <= 4 else 2)
    return fig


def scenario_comparison(results: pd.DataFrame, metrics: tuple[str, ...] = (
        "share_smartphone", "share_internet", "share_fibre", "share_services"), *,
        reference: str | None = None, targets=None, place: str | None = None, lang: str = "en") -> Figure:
    """Median over runs per scenario (one colour, line style and marker each), with the 50% band shaded;
    one panel per metric.

    Args:
        results: tidy results.
        metrics: share columns, one panel each.
        reference: the reference scenario (marked in the legend).
        targets: Resolution 09 targets (default: all; ``()`` for none).
        place: place name for the title.
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    metrics = tuple(m for m in metrics if m in results.columns)
    if not metrics:
        raise ValueError("none of the metrics is in the results")
    scenarios = scenarios_in(results)
    with style.style_context():
        fig, axes = _draw.panel_grid(len(metrics), ncols_max=2, row_height=2.35, sharey=False)
        handles = []
        target_handle = None
        first = last = None
        for ax, metric in zip(axes, metrics):
            bands = quantile_bands(results, metric)
            x_all = to_datetime64(bands["date"])
            first, last = x_all.min(), x_all.max()
            for scn in scenarios:
                b = of_scenario(bands, scn)
                st = _draw.scenario_style(scn, scenarios, reference)
                x = to_datetime64(b["date"])
                ax.fill_between(x, b["p25"], b["p75"], color=st["color"], alpha=0.13, linewidth=0,
                                gid=f"band50:{metric}:{scn}")
                (line,) = ax.plot(x, b["p50"], color=st["color"], linestyle=st["linestyle"], marker=st["marker"],
                                  markevery=max(1, len(x) // 6), linewidth=1.5,
                                  label=_draw.scenario_label(scn, reference, lang), gid=f"median:{metric}:{scn}")
                if metric == metrics[0]:
                    handles.append(line)
            target = _draw.target_for(metric, targets)
            if target is not None:
                line = _draw.target_line(ax, target, lang, first, last)
                target_handle = target_handle or Line2D([], [], color=_draw.TARGET_COLOUR, linestyle="--",
                                                        linewidth=0.9, label=tr("legend.target_short", lang))
            _draw.panel_title(ax, metric_label(metric, lang, short=True))
            style.date_axis(ax, first, last, lang)
            style.percent_axis(ax, lang=lang)
            _draw.share_limits(ax, bands["p25"].min())
        _draw.label_first_col(axes, tr("axis.share_households", lang))
        style.bottom_xlabels_only(axes)
        _draw.title(fig, tr("title.scenarios", lang, place=place_suffix(place)))
        _draw.legend(fig, handles + ([target_handle] if target_handle else []), ncols=3)
    return fig


def additional_adopters_chart(results: pd.DataFrame, reference: str | None = None,
                              indicators: tuple[str, ...] = MAIN_INDICATORS, month: int | None = None,
                              lang: str = "en") -> Figure:
    """Additional households using each product against the reference, per scenario, at ``month``.

    Runs are paired with the reference's run of the same replicate and design point (common random
    numbers), so the intervals show the policy's effect, not the noise between runs.

    Args:
        results: tidy results with at least two scenarios.
        reference: the reference scenario (default: see ``data.reference_scenario``).
        indicators: products, one panel each ("smartphone", "internet", ...).
        month: month index (default: the last month).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    scenarios, reference, others = compared_scenarios(results, reference, "additional adopters")
    indicators = tuple(i for i in indicators if f"share_{i}" in results.columns)
    add = additional_adopters(results, reference, indicators)
    _, month, date = at_month(results, month)
    add = add[add["month"] == month]
    with style.style_context():
        fig, axes, ypos = _draw.scenario_rows(len(indicators), others)
        for ax, ind in zip(axes, indicators):
            for scn, y in zip(others, ypos):
                st = _draw.scenario_style(scn, scenarios, reference)
                q = _draw.quantiles_of(of_scenario(add, scn)[f"additional_{ind}"])
                _draw.point_range(ax, y, q, colour=st["color"], marker=st["marker"], gid=f"{ind}:{scn}")
            ax.axvline(0, color="#555555", linewidth=0.8, zorder=1)
            _draw.panel_title(ax, metric_label(f"share_{ind}", lang, short=True))
            _draw.x_grid(ax)
            style.number_axis(ax, "x", lang)
            ax.set_xlabel(tr("axis.households_count", lang))
            ax.margins(x=0.12)
        _draw.finish_scenario_rows(fig, axes, ypos, others,
                                   tr("title.additional", lang, reference=reference, date=fmt_month(date, lang)), lang)
    return fig


def _group_columns(group: str) -> list[tuple[str, str]]:
    if group == "income":
        return [(q, f"group.{q}") for q in QUINTILES]
    if group == "age":
        return [(f"age_{g}", f"group.age_{g}") for g in AGE_GROUPS]
    raise ValueError(f"group {group!r} is not 'income' or 'age'")


def adoption_by_group(results: pd.DataFrame, group: str = "income",
                      indicators: tuple[str, ...] = MAIN_INDICATORS, month: int | None = None,
                      reference: str | None = None, lang: str = "en") -> Figure:
    """Share of households using each product by income quintile or by age of the head, per scenario.

    Args:
        results: tidy results with the ``share_<indicator>_q1..q5`` / ``share_<indicator>_age_*`` columns.
        group: "income" (quintiles of income per person) or "age" (age group of the household head).
        indicators: products, one panel each.
        month: month index (default: the last month).
        reference: the reference scenario (marked in the legend).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    groups = _group_columns(group)
    indicators = tuple(i for i in indicators if f"share_{i}_{groups[0][0]}" in results.columns)
    if not indicators:
        raise ValueError(f"the results have no {group} group columns")
    scenarios = scenarios_in(results)
    rows, month, date = at_month(results, month)
    n = len(scenarios)
    offsets = -(np.arange(n) - (n - 1) / 2) * min(0.22, 0.66 / max(n, 1))  # first scenario on top
    ypos = np.arange(len(groups))[::-1].astype(float)
    with style.style_context():
        fig, axes = _draw.panel_grid(len(indicators), ncols_max=2, row_height=2.3, sharex=False, sharey=True,
                                     extra=0.9)
        handles = []
        for ax, ind in zip(axes, indicators):
            lows = []
            for i, scn in enumerate(scenarios):
                st = _draw.scenario_style(scn, scenarios, reference)
                sub = of_scenario(rows, scn)
                for (suffix, _), y in zip(groups, ypos):
                    q = _draw.quantiles_of(sub[f"share_{ind}_{suffix}"])
                    lows.append(q["p5"])
                    ax.plot([q["p5"], q["p95"]], [y + offsets[i]] * 2, color=st["color"], linewidth=1.0,
                            gid=f"p90:{ind}:{suffix}:{scn}")
                    ax.plot([q["p50"]], [y + offsets[i]], linestyle="none", marker=st["marker"],
                            color=st["color"], markersize=5, gid=f"median:{ind}:{suffix}:{scn}")
                if ind == indicators[0]:
                    handles.append(Line2D([], [], linestyle="none", marker=st["marker"], color=st["color"],
                                          label=_draw.scenario_label(scn, reference, lang)))
            _draw.panel_title(ax, metric_label(f"share_{ind}", lang, short=True))
            _draw.x_grid(ax)
            style.percent_axis(ax, "x", lang=lang)
            ax.set_xlabel(tr("axis.households_pct", lang))
            ax.set_xlim(_draw.share_floor(lows), 1.02)
        axes[0].set_yticks(ypos, [tr(key, lang) for _, key in groups])
        _draw.label_first_col(axes, tr(f"grouping.{group}", lang))
        _draw.title(fig, tr(f"title.by_{group}", lang, date=fmt_month(date, lang)))
        _draw.legend(fig, handles, ncols=min(len(handles), 4))
    return fig


def adoption_by_hamlet(by_hamlet: pd.DataFrame, indicator: str = "internet", lang: str = "en") -> Figure:
    """Heat map of an indicator per hamlet (rows) and month (columns), median over runs; one panel per
    scenario, one shared colour scale.

    Args:
        by_hamlet: long table with scenario, replicate, design_point, month, date, hamlet, share_*.
        indicator: "smartphone", "internet", ... (column ``share_<indicator>``).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    col = f"share_{indicator}"
    _check_metric(by_hamlet, col)
    scenarios = scenarios_in(by_hamlet)
    by = [c for c in ("scenario", "hamlet", "month") if c in by_hamlet.columns]
    med = by_hamlet.groupby(by, sort=False).agg(value=(col, "median"), date=("date", "first")).reset_index()
    hamlets = list(dict.fromkeys(by_hamlet["hamlet"].astype(str)))
    months = np.sort(med["month"].unique())
    dates = med.drop_duplicates("month").set_index("month").loc[months, "date"]
    edges = to_datetime64(dates)
    edges = np.append(edges, (edges[-1].astype("datetime64[M]") + 1).astype("datetime64[D]"))
    vals = med["value"].to_numpy(dtype=float)
    vmin = max(0.0, np.floor(np.nanmin(vals) * 10) / 10) if np.isfinite(vals).any() else 0.0
    vmax = min(1.0, np.ceil(np.nanmax(vals) * 10) / 10) if np.isfinite(vals).any() else 1.0
    if vmax <= vmin:
        vmin, vmax = max(0.0, vmin - 0.1), min(1.0, vmax + 0.1)
    label_hamlets = len(hamlets) <= 40  # beyond that, names would not be legible: rows stay unlabelled
    per_row = max(1.1, 0.16 * len(hamlets) + 0.7) if label_hamlets else 3.0
    with style.style_context():
        fig, axes = _draw.panel_grid(len(scenarios), ncols_max=1, row_height=per_row, extra=1.0, sharey=True)
        mesh = None
        for ax, scn in zip(axes, scenarios):
            sub = of_scenario(med, scn)
            grid = sub.pivot(index="hamlet", columns="month", values="value").reindex(index=hamlets, columns=months)
            mesh = ax.pcolormesh(edges, np.arange(len(hamlets) + 1), grid.to_numpy(dtype=float),
                                 cmap=style.SEQUENTIAL_CMAP, vmin=vmin, vmax=vmax, shading="flat",
                                 rasterized=grid.size > 2_000, gid=f"heatmap:{scn}")
            _draw.panel_title(ax, scn)
            ax.grid(False)
            style.date_axis(ax, edges[0], edges[-1], lang)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(len(hamlets), 0)
            if label_hamlets:
                ax.set_yticks(np.arange(len(hamlets)) + 0.5, hamlets, fontsize=7)
                ax.set_ylabel(tr("axis.hamlet", lang))
            else:
                ax.set_yticks([])
                ax.set_ylabel(tr("axis.hamlets_n", lang, n=fmt_number(len(hamlets), lang)))
        cbar = fig.colorbar(mesh, ax=axes, location="right", shrink=0.9, aspect=30)
        cbar.set_label(tr("colorbar.share", lang, indicator=metric_label(col, lang, short=True)))
        style.percent_axis(cbar.ax, "y", lang=lang)
        cbar.outline.set_visible(False)
        style.bottom_xlabels_only(axes)
        _draw.title(fig, tr("title.by_hamlet", lang, indicator=metric_label(col, lang)))
    return fig
