"""Cost charts: cost per additional adopting household, and spending over time stacked by lever."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator

from diffusion.experiments.outcomes import cost_per_additional
from diffusion.foundation.strings import check_language, fmt_month, fmt_number, lever_label, metric_label, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.data import (
    MAIN_INDICATORS,
    at_month,
    compared_scenarios,
    of_scenario,
    scenarios_in,
    to_datetime64,
)

MILLION = 1e6


def levers_with_spending(results: pd.DataFrame) -> list[str]:
    """Lever names (from the ``cum_cost.<lever>`` columns) that spend something in some run."""
    out = []
    for c in results.columns:
        if c.startswith("cum_cost.") and results[c].fillna(0).abs().max() > 0:
            out.append(c[len("cum_cost."):])
    return out


def cost_effectiveness_chart(results: pd.DataFrame, reference: str | None = None,
                             indicators: tuple[str, ...] = MAIN_INDICATORS,
                             month: int | None = None, lang: str = "en") -> Figure:
    """Cost per additional adopting household against the reference, per scenario, with intervals.

    Per run: (cumulative spending - the reference run's) / (households using - the reference run's) at
    ``month`` (``outcomes.cost_per_additional``); runs without additional households are left out.

    Args:
        results: tidy results with at least two scenarios and some spending.
        reference: the reference scenario (default: ``data.reference_scenario``).
        indicators: products, one panel each.
        month: month index (default: the last month).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    scenarios, reference, others = compared_scenarios(results, reference, "cost-effectiveness charts")
    if not levers_with_spending(results):
        raise ValueError("no lever spends anything in these results")
    indicators = tuple(i for i in indicators if f"share_{i}" in results.columns)
    _, month, date = at_month(results, month)
    with style.style_context():
        fig, axes, ypos = _draw.scenario_rows(len(indicators), others)
        for ax, ind in zip(axes, indicators):
            cpa = cost_per_additional(results, reference, ind, month)
            qs = {scn: _draw.quantiles_of(of_scenario(cpa, scn)["cost_per_additional_vnd"] / MILLION)
                  for scn in others}
            finite = np.array([v for q in qs.values() for v in q.values() if np.isfinite(v)])
            positive = finite[finite > 0]
            log = positive.size > 0 and finite.min() > 0 and positive.max() / positive.min() > 30
            for scn, y in zip(others, ypos):
                st = _draw.scenario_style(scn, scenarios, reference)
                q = qs[scn]
                if np.isfinite(q["p50"]):
                    _draw.point_range(ax, y, q, colour=st["color"], marker=st["marker"], gid=f"{ind}:{scn}")
                else:
                    ax.text(0.02, y, tr("note.no_additional", lang), transform=ax.get_yaxis_transform(),
                            va="center", ha="left", fontsize=7.5, color="#555555", gid=f"none:{ind}:{scn}")
            _draw.panel_title(ax, metric_label(f"share_{ind}", lang, short=True))
            ax.set_xlabel(tr("axis.vnd_per_household", lang))
            _draw.x_grid(ax)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(base=10))
                ax.xaxis.set_major_formatter(FuncFormatter(
                    lambda v, _p: fmt_number(v, lang, 0 if v >= 1 else int(min(3, np.ceil(-np.log10(v)))))))
                ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
            else:
                if finite.size:
                    ax.set_xlim(min(0.0, finite.min()) * 1.1, max(finite.max(), 1e-9) * 1.12)
                style.number_axis(ax, "x", lang)
        _draw.finish_scenario_rows(
            fig, axes, ypos, others,
            tr("title.cost_effectiveness", lang, reference=reference, date=fmt_month(date, lang)), lang)
    return fig


def spending_over_time(results: pd.DataFrame, lang: str = "en") -> Figure:
    """Cumulative spending per lever (mean over runs, stacked), one panel per scenario that spends.

    Args:
        results: tidy results with ``cum_cost.<lever>`` columns (VND).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    levers = levers_with_spending(results)
    if not levers:
        raise ValueError("no lever spends anything in these results")
    cols = [f"cum_cost.{lv}" for lv in levers]
    subsets = {scn: of_scenario(results, scn) for scn in scenarios_in(results)}
    spending = {scn: sub for scn, sub in subsets.items() if sub[cols].fillna(0).to_numpy().max() > 0}
    with style.style_context():
        fig, axes = _draw.panel_grid(len(spending), ncols_max=3, row_height=2.4)
        for ax, (scn, sub) in zip(axes, spending.items()):
            mean = sub.groupby("month", sort=True).agg({**{c: "mean" for c in cols}, "date": "first"})
            x = to_datetime64(mean["date"])
            base = np.zeros(len(mean))
            for i, (lv, c) in enumerate(zip(levers, cols)):
                top = base + mean[c].fillna(0).to_numpy() / MILLION
                ax.fill_between(x, base, top, facecolor=style.PALETTE[(i + 1) % len(style.PALETTE)],
                                edgecolor="black", hatch=style.HATCHES[i % len(style.HATCHES)], linewidth=0.5,
                                gid=f"stack:{scn}:{lv}")
                base = top
            _draw.panel_title(ax, scn)
            style.date_axis(ax, x.min(), x.max(), lang)
            style.number_axis(ax, "y", lang)
            ax.set_ylim(bottom=0)
        _draw.label_first_col(axes, tr("axis.cum_spending", lang))
        handles = [Patch(facecolor=style.PALETTE[(i + 1) % len(style.PALETTE)], edgecolor="black",
                         hatch=style.HATCHES[i % len(style.HATCHES)], linewidth=0.5, label=lever_label(lv, lang))
                   for i, lv in enumerate(levers)]
        style.bottom_xlabels_only(axes)
        _draw.title(fig, tr("title.spending", lang) + f" ({tr('note.mean_stack', lang)})")
        _draw.legend(fig, handles, ncols=min(3, len(handles)))
    return fig
