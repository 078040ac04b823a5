"""Charts of a decision analysis (``diffusion optimise``), drawn from the tables it writes to ``optimisation/``:

- ``pareto_front``: every mix evaluated (grey) and the Pareto mixes, cost against the first other objective,
  coloured by a third objective (``history.csv``, ``pareto.csv``; the budget as a dashed line);
- ``pareto_policies``: parallel coordinates of the Pareto mixes, decisions then objectives, each axis scaled to
  its range (``pareto.csv``);
- ``search_convergence``: the best value of each objective among the feasible mixes after each generation
  (``convergence.csv``);
- ``robustness``: per policy, the probability of meeting every target over the posterior draws and its mean
  regret (``robustness.csv``);
- ``peeling``: PRIM's peeling trajectory, coverage against density, the chosen box marked (``peeling.csv``).

What the objectives are is read from ``decision.json`` (names, kinds, senses, the budget).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion.foundation.strings import check_language, fmt_pct, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.registry import PlannedChart, chart_family
from diffusion.presentation.charts.view import ResultsView

KIND = "optimisation"


def decision_info(v: ResultsView) -> dict[str, Any]:
    """``optimisation/decision.json`` of a results folder ({} without one)."""
    path = v.folder / KIND / "decision.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _axes_objectives(objectives: list[dict]) -> tuple[str, str, str | None]:
    """(x, y, colour): cost on x when an objective is a cost, the first other on y, a third as colour."""
    names = [o["name"] for o in objectives]
    cost = next((o["name"] for o in objectives if o["kind"] == "cost"), names[-1] if len(names) > 1 else names[0])
    others = [n for n in names if n != cost]
    y = others[0] if others else cost
    third = next((n for n in names if n not in (cost, y)), None)
    return cost, y, third


def pareto_front(history: pd.DataFrame, pareto: pd.DataFrame, objectives: list[dict], budget: float | None = None,
                 lang: str = "en") -> Figure:
    """Cost (x) against the first other objective (y) of every mix evaluated (grey) and the Pareto mixes (filled,
    coloured by a third objective when there is one); a dashed vertical line at the budget."""
    lang = check_language(lang)
    x, y, c = _axes_objectives(objectives)
    _draw.require_columns(pareto, (x, y), "Pareto")
    with style.style_context():
        fig, axes = style.new_figure(height=3.8)
        ax = axes[0, 0]
        ax.scatter(history[x], history[y], s=8, color="#bbbbbb", linewidths=0, label=tr("legend.evaluated", lang),
                   gid="evaluated")
        kw: dict[str, Any] = {"color": style.PALETTE[1]}
        if c is not None:
            kw = {"c": pareto[c], "cmap": style.SEQUENTIAL_CMAP}
        pts = ax.scatter(pareto[x], pareto[y], s=34, edgecolors="black", linewidths=0.6, zorder=3, gid="pareto", **kw)
        if c is not None:
            fig.colorbar(pts, ax=ax, label=c, shrink=0.85)
        if budget is not None:
            ax.axvline(budget, color="#333333", linestyle="--", linewidth=0.9)
        kinds = {o["name"]: o["kind"] for o in objectives}
        for axis, name in (("x", x), ("y", y)):
            million = kinds.get(name) == "cost"  # VND in millions: readable ticks
            (ax.set_xlabel if axis == "x" else ax.set_ylabel)(tr("axis.million", lang, name=name) if million else name)
            style.number_axis(ax, axis, lang, scale=1e6 if million else 1.0)
        _draw.title(fig, tr("caption.pareto", lang, third=c or "-"))
    return fig


def pareto_policies(pareto: pd.DataFrame, variables: list[dict], objectives: list[dict], lang: str = "en") -> Figure:
    """Parallel coordinates: one line per Pareto mix across its decisions and objectives (each axis 0 = its
    smallest value among the mixes, 1 = its largest; categorical decisions by level)."""
    lang = check_language(lang)
    cols = [v["name"] for v in variables] + [o["name"] for o in objectives]
    _draw.require_columns(pareto, tuple(cols), "Pareto")
    scaled = {}
    for col in cols:
        s = pareto[col]
        if not pd.api.types.is_numeric_dtype(s):
            s = pd.Series(pd.factorize(s.astype(str), sort=True)[0], index=s.index, dtype=float)
        s = s.astype(float)
        span = s.max() - s.min()
        scaled[col] = (s - s.min()) / span if span > 0 else s * 0 + 0.5
    with style.style_context():
        fig, axes = style.new_figure(height=3.6)
        ax = axes[0, 0]
        xs = np.arange(len(cols))
        first = cols[len(variables)] if objectives else cols[0]
        order = pareto[first].rank(method="first").to_numpy()
        cmap = colormaps[style.SEQUENTIAL_CMAP]
        for i in range(len(pareto)):
            ax.plot(xs, [scaled[col].iloc[i] for col in cols], color=cmap(order[i] / max(1, len(pareto))),
                    linewidth=1.2, marker="o", markersize=3, gid=f"policy:{pareto['policy'].iloc[i]}")
        for xi in xs:
            ax.axvline(xi, color="#888888", linewidth=0.6)
        ax.set_xticks(xs, cols, rotation=30, ha="right")
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([0, 1], ["min", "max"])
        _draw.title(fig, tr("caption.pareto_policies", lang))
    return fig


def search_convergence(conv: pd.DataFrame, objectives: list[dict], lang: str = "en") -> Figure:
    """The best value of each objective among the feasible mixes so far, against the mixes evaluated."""
    lang = check_language(lang)
    names = [o["name"] for o in objectives]
    _draw.require_columns(conv, ("evaluations", *(f"best_{n}" for n in names)), "convergence")
    with style.style_context():
        fig, axes = _draw.panel_grid(len(names), ncols_max=3, row_height=2.4, sharex=True, sharey=False)
        for ax, n in zip(axes, names):
            ax.plot(conv["evaluations"], conv[f"best_{n}"], color="black", linewidth=1.2, marker="o", markersize=2.5,
                    gid=f"best:{n}")
            _draw.panel_title(ax, n)
            ax.set_xlabel(tr("axis.evaluations", lang))
            style.number_axis(ax, "y", lang)
        _draw.title(fig, tr("caption.search_convergence", lang))
    return fig


def robustness_chart(rob: pd.DataFrame, probability: float, targets: list[dict], lang: str = "en") -> Figure:
    """Per policy (cheapest on top): bars of the probability of meeting every target, the required probability
    as a dashed line; beside it the mean regret on the first target."""
    lang = check_language(lang)
    _draw.require_columns(rob, ("policy", "cost", "p_all"), "robustness")
    d = rob.sort_values("cost", ascending=False, kind="stable")
    regret = f"regret_{targets[0]['name']}" if targets else None
    with style.style_context():
        fig, axes = style.new_figure(1, 2, height=0.32 * len(d) + 1.6, sharey=True)
        ax, ax2 = axes[0]
        y = np.arange(len(d))
        ax.barh(y, d["p_all"], color=style.PALETTE[1], edgecolor="black", linewidth=0.5, gid="p_all")
        ax.axvline(probability, color="#333333", linestyle="--", linewidth=0.9)
        ax.set_yticks(y, [f"{p}" for p in d["policy"]])
        ax.set_xlim(0, 1)
        ax.set_xlabel(tr("axis.probability", lang))
        style.percent_axis(ax, "x", lang)
        for yi, p in zip(y, d["p_all"]):
            ax.annotate(fmt_pct(float(p), lang), (float(p), yi), xytext=(3, -3), textcoords="offset points",
                        fontsize=7)
        if regret is not None and regret in d.columns:
            ax2.barh(y, d[regret], color="white", edgecolor="black", hatch="///", linewidth=0.5, gid="regret")
            ax2.set_xlabel(f"{tr('axis.regret', lang)}: {targets[0]['name']}")
            style.number_axis(ax2, "x", lang)
        _draw.title(fig, tr("decision.robustness", lang))
    return fig


def peeling_chart(traj: pd.DataFrame, lang: str = "en") -> Figure:
    """Coverage (x) against density (y) along PRIM's peeling trajectory of each box, the chosen box circled."""
    lang = check_language(lang)
    _draw.require_columns(traj, ("box", "coverage", "density", "chosen"), "peeling")
    if traj.empty:
        raise ValueError("no peeling trajectory (the policy never misses the target, or always does)")
    with style.style_context():
        fig, axes = style.new_figure(height=3.6)
        ax = axes[0, 0]
        handles = []
        for k, (box, d) in enumerate(traj.groupby("box", sort=True)):
            st = style.series_style(k)
            ax.plot(d["coverage"], d["density"], color=st["color"], marker="o", markersize=3, linewidth=1.0,
                    gid=f"box:{box}")
            ch = d[d["chosen"].astype(bool)]
            ax.scatter(ch["coverage"], ch["density"], s=90, facecolors="none", edgecolors="black", zorder=3)
            handles.append(Line2D([], [], color=st["color"], marker="o", markersize=3, label=f"box {box}"))
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                              color="black", label=tr("legend.chosen_box", lang)))
        ax.set_xlabel(tr("axis.coverage", lang))
        ax.set_ylabel(tr("axis.density", lang))
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        style.percent_axis(ax, "x", lang)
        style.percent_axis(ax, "y", lang)
        _draw.legend(fig, handles)
        _draw.title(fig, tr("decision.discovery", lang))
    return fig


# ------------------------------------------------------------------------------------ chart families
@chart_family("pareto", kind=KIND, charts=("pareto_front",))
def plan_pareto(v: ResultsView) -> Iterator[PlannedChart]:
    info, pareto, history = decision_info(v), v.table(KIND, "pareto"), v.table(KIND, "history")
    if pareto is not None and history is not None and info.get("objectives") and len(pareto):
        budget = next((c.get("max") for c in info.get("constraints", []) if c.get("kind") == "cost"), None)
        x, y, c = _axes_objectives(info["objectives"])
        yield "pareto_front", partial(pareto_front, history, pareto, info["objectives"], budget, lang=v.language), \
            {"third": c or "-"}


@chart_family("pareto_policies", kind=KIND)
def plan_pareto_policies(v: ResultsView) -> Iterator[PlannedChart]:
    info, pareto = decision_info(v), v.table(KIND, "pareto")
    if pareto is not None and info.get("variables") and len(pareto):
        yield "pareto_policies", partial(pareto_policies, pareto, info["variables"], info["objectives"],
                                         lang=v.language), {}


@chart_family("search_convergence", kind=KIND)
def plan_convergence(v: ResultsView) -> Iterator[PlannedChart]:
    info, conv = decision_info(v), v.table(KIND, "convergence")
    if conv is not None and info.get("objectives") and len(conv):
        yield "search_convergence", partial(search_convergence, conv, info["objectives"], lang=v.language), {}


@chart_family("robustness", kind=KIND)
def plan_robustness(v: ResultsView) -> Iterator[PlannedChart]:
    info, rob = decision_info(v), v.table(KIND, "robustness")
    if rob is not None and len(rob):
        p = (info.get("answer") or {}).get("probability", 0.8)
        yield "robustness", partial(robustness_chart, rob, p, info.get("targets", []), lang=v.language), \
            {"draws": info.get("robustness_draws", "")}


@chart_family("peeling", kind=KIND)
def plan_peeling(v: ResultsView) -> Iterator[PlannedChart]:
    info, traj = decision_info(v), v.table(KIND, "peeling")
    if traj is not None and len(traj):
        d = (info.get("answer") or {}).get("discovery") or {}
        yield "peeling", partial(peeling_chart, traj, lang=v.language), {"policy": d.get("policy", ""),
                                                                          "target": d.get("target", "")}
