"""Charts of a sensitivity analysis (``diffusion sensitivity``), drawn from the tables it writes to
``sensitivity/``:

- ``sobol``: columns ``outcome, factor, S1, S1_conf, ST, ST_conf`` (indices 0..1; ``*_conf`` the half-width of
  the confidence interval, as SALib reports it);
- ``morris``: columns ``outcome, factor, mu_star, mu_star_conf, sigma`` (outcome units);
- ``convergence``: the tidy indices (outcome, factor, index, value, conf, n) from the first half of the design
  and from all of it (two values of ``n``: base samples, or Morris trajectories).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diffusion.foundation.strings import check_language, metric_label, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.registry import PlannedChart, chart_family
from diffusion.presentation.charts.view import ResultsView


def _outcome_label(outcome: str, lang: str) -> str:
    return metric_label(str(outcome), lang, short=True)


def sobol_chart(indices: pd.DataFrame, lang: str = "en") -> Figure:
    """Horizontal bars of S1 (filled) and ST (hatched) per factor with confidence intervals; one panel per
    outcome, factors sorted by ST.

    Args:
        indices: columns outcome, factor, S1, S1_conf, ST, ST_conf.
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    _draw.require_columns(indices, ("outcome", "factor", "S1", "S1_conf", "ST", "ST_conf"), "Sobol")
    outcomes = list(dict.fromkeys(indices["outcome"].astype(str)))
    n_factors = indices.groupby("outcome")["factor"].nunique().max()
    with style.style_context():
        fig, axes = _draw.panel_grid(len(outcomes), ncols_max=2, row_height=0.32 * n_factors + 1.0,
                                     sharex=True, sharey=False, extra=1.0)
        for ax, out in zip(axes, outcomes):
            d = indices[indices["outcome"].astype(str) == out].sort_values("ST", ascending=True, kind="stable")
            y = np.arange(len(d))
            ax.barh(y + 0.2, d["S1"], height=0.38, xerr=d["S1_conf"], color=style.PALETTE[1], edgecolor="black",
                    linewidth=0.5, error_kw={"elinewidth": 0.8, "capsize": 2}, gid=f"S1:{out}")
            ax.barh(y - 0.2, d["ST"], height=0.38, xerr=d["ST_conf"], color="white", edgecolor="black",
                    hatch="///", linewidth=0.5, error_kw={"elinewidth": 0.8, "capsize": 2}, gid=f"ST:{out}")
            ax.set_yticks(y, d["factor"].astype(str))
            ax.axvline(0, color="#555555", linewidth=0.8)
            _draw.panel_title(ax, _outcome_label(out, lang))
            ax.set_xlabel(tr("axis.index", lang))
            style.number_axis(ax, "x", lang)
            _draw.x_grid(ax)
        top = float(np.nanmax(np.r_[indices["ST"] + indices["ST_conf"], indices["S1"] + indices["S1_conf"], 0.1]))
        axes[0].set_xlim(min(0.0, float(np.nanmin(indices["S1"] - indices["S1_conf"]))), max(1.0, top) * 1.02)
        fig.supylabel(tr("axis.factor", lang), fontsize=8.5)
        _draw.title(fig, tr("title.sobol", lang))
        _draw.legend(fig, [
            Patch(facecolor=style.PALETTE[1], edgecolor="black", linewidth=0.5, label=tr("legend.S1", lang)),
            Patch(facecolor="white", edgecolor="black", hatch="///", linewidth=0.5, label=tr("legend.ST", lang)),
        ], ncols=2)
    return fig


def morris_chart(morris: pd.DataFrame, lang: str = "en") -> Figure:
    """μ* against σ per factor (labelled points, horizontal bars: μ* confidence interval), one panel per
    outcome, with the σ = μ* line.

    Args:
        morris: columns outcome, factor, mu_star, mu_star_conf, sigma.
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    _draw.require_columns(morris, ("outcome", "factor", "mu_star", "mu_star_conf", "sigma"), "Morris")
    outcomes = list(dict.fromkeys(morris["outcome"].astype(str)))
    with style.style_context():
        fig, axes = _draw.panel_grid(len(outcomes), ncols_max=2, row_height=2.8, sharex=False, sharey=False)
        for ax, out in zip(axes, outcomes):
            d = morris[morris["outcome"].astype(str) == out]
            ax.errorbar(d["mu_star"], d["sigma"], xerr=d["mu_star_conf"], fmt="o", color="black", markersize=4.5,
                        elinewidth=0.8, capsize=2, gid=f"morris:{out}")
            top = float(np.nanmax(np.r_[d["mu_star"] + d["mu_star_conf"], d["sigma"], 1e-12])) * 1.15
            ax.plot([0, top], [0, top], color="#777777", linestyle="--", linewidth=0.8)
            for row in d.itertuples(index=False):
                ax.annotate(str(row.factor), (row.mu_star, row.sigma), xytext=(4, 3), textcoords="offset points",
                            fontsize=7.5)
            ax.set_xlim(0, top)
            ax.set_ylim(0, top)
            _draw.panel_title(ax, _outcome_label(out, lang))
            ax.grid(axis="x", visible=True)
            ax.set_xlabel(tr("axis.mu_star", lang), fontsize=7.5)
            ax.set_ylabel(tr("axis.sigma", lang), fontsize=7.5)
            style.number_axis(ax, "x", lang)
            style.number_axis(ax, "y", lang)
        _draw.title(fig, tr("title.morris", lang))
        _draw.legend(fig, [Line2D([], [], color="#777777", linestyle="--", linewidth=0.8,
                                  label=tr("legend.identity", lang))], ncols=1)
    return fig


def convergence_chart(conv: pd.DataFrame, lang: str = "en", index: str | None = None) -> Figure:
    """Dumbbells per factor: ``index`` (default ST for Sobol, mu_star for Morris) at n/2 and n, with CIs.

    Args:
        conv: columns outcome, factor, index, value, conf, n.
        lang: "en" or "vi".
        index: which index to show.
    """
    lang = check_language(lang)
    _draw.require_columns(conv, ("outcome", "factor", "index", "value", "conf", "n"), "convergence")
    if index is None:
        index = "ST" if (conv["index"] == "ST").any() else "mu_star"
    d_all = conv[conv["index"] == index]
    if d_all.empty:
        raise ValueError(f"the convergence table has no {index!r} indices")
    ns = sorted(d_all["n"].unique())
    outcomes = list(dict.fromkeys(d_all["outcome"].astype(str)))
    n_factors = d_all.groupby("outcome")["factor"].nunique().max()
    with style.style_context():
        fig, axes = _draw.panel_grid(len(outcomes), ncols_max=2, row_height=0.3 * n_factors + 1.0, sharex=False,
                                     sharey=False, extra=1.0)
        for ax, out in zip(axes, outcomes):
            d = d_all[d_all["outcome"].astype(str) == out]
            full = d[d["n"] == ns[-1]].sort_values("value", kind="stable")
            order = list(full["factor"])
            for k, n in enumerate(ns):
                dn = d[d["n"] == n].set_index("factor").reindex(order)
                off = 0.15 if k == 0 and len(ns) > 1 else -0.15 if len(ns) > 1 else 0.0
                ax.errorbar(dn["value"], np.arange(len(order)) + off, xerr=dn["conf"].fillna(0.0), fmt="o",
                            color="black", markerfacecolor="white" if k == 0 and len(ns) > 1 else "black",
                            markersize=4.5, elinewidth=0.8, capsize=2, gid=f"convergence:{out}:{n}")
            ax.set_yticks(range(len(order)), order)
            ax.axvline(0, color="#555555", linewidth=0.8)
            _draw.panel_title(ax, _outcome_label(out, lang))
            ax.set_xlabel(tr(f"sensitivity.axis_{index}", lang) if index in ("ST", "mu_star") else index)
            style.number_axis(ax, "x", lang)
            _draw.x_grid(ax)
        _draw.title(fig, tr("sensitivity.convergence_title", lang))
        handles = []
        if len(ns) > 1:
            handles.append(Line2D([], [], linestyle="none", marker="o", color="black", markerfacecolor="white",
                                  label=tr("sensitivity.legend_half", lang, n=ns[0])))
        handles.append(Line2D([], [], linestyle="none", marker="o", color="black",
                              label=tr("sensitivity.legend_all", lang, n=ns[-1])))
        _draw.legend(fig, handles, ncols=len(handles))
    return fig


# ------------------------------------------------------------------------------------ chart families
@chart_family("sobol", kind="sensitivity")
def plan_sobol(v: ResultsView) -> Iterator[PlannedChart]:
    table = v.table("sensitivity", "sobol")
    if table is not None:
        yield "sobol", partial(sobol_chart, table, lang=v.language), {}


@chart_family("morris", kind="sensitivity")
def plan_morris(v: ResultsView) -> Iterator[PlannedChart]:
    table = v.table("sensitivity", "morris")
    if table is not None:
        yield "morris", partial(morris_chart, table, lang=v.language), {}


@chart_family("convergence", kind="sensitivity", charts=("sensitivity_convergence",),
              caption="sensitivity.convergence_title")
def plan_convergence(v: ResultsView) -> Iterator[PlannedChart]:
    table = v.table("sensitivity", "convergence")
    if table is not None:
        yield "sensitivity_convergence", partial(convergence_chart, table, lang=v.language), {}
