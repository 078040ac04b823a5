"""Charts of a sweep: an outcome of summary.csv against a swept design value (a lever's amount, a parameter's
levels), one line per scenario, as Mesa's batch_run or NetLogo's BehaviorSpace tables are plotted.

summary.csv holds one row per scenario, outcome and design setting when the design sweeps values (the design
columns between ``scenario`` and ``outcome``: ``experiments.summary.summarise``); these charts read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from diffusion.foundation.strings import check_language, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.registry import PlannedChart, chart_family
from diffusion.presentation.charts.view import ResultsView

#: The outcomes drawn against a swept value, in order (those summary.csv holds).
SWEEP_OUTCOMES: tuple[str, ...] = ("final.share_internet", "additional_households.internet",
                                   "cost_per_additional_vnd.internet")


def swept_columns(summary: pd.DataFrame | None) -> list[str]:
    """The design columns of summary.csv (between ``scenario`` and ``outcome``) with more than one value."""
    if summary is None or not {"scenario", "outcome"} <= set(summary.columns):
        return []
    cols = list(summary.columns)
    between = cols[cols.index("scenario") + 1: cols.index("outcome")]
    return [c for c in between if summary[c].nunique() > 1]


def sweep_chart(summary: pd.DataFrame, swept: str, outcomes: tuple[str, ...] = SWEEP_OUTCOMES,
                reference: str | None = None, labels: dict | None = None, lang: str = "en") -> Figure:
    """Outcomes of summary.csv against the swept design value ``swept``: one panel per outcome, one line per
    scenario (and setting of any other swept column) with its median and 5–95% range; compared outcomes are
    those against the reference (``reference``).

    Args:
        summary: summary.csv with the column ``swept``.
        outcomes: outcome names, one panel each (those absent are skipped).
        labels: outcome name -> ``experiments.outcomes.Outcome`` (for its label), else the name is shown.
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    if swept not in summary.columns:
        raise ValueError(f"summary.csv has no design column {swept!r}")
    others = [c for c in swept_columns(summary) if c != swept]
    rows = summary[summary["outcome"].isin(outcomes)].copy()
    ref_col = rows["reference"].fillna("").astype(str) if "reference" in rows.columns else ""
    rows = rows[(ref_col == "") | (ref_col == (reference or ""))]
    panels = [o for o in outcomes if (rows["outcome"] == o).any()]
    if not panels:
        raise ValueError(f"summary.csv has none of the outcomes {outcomes}")
    scenarios = list(dict.fromkeys(summary["scenario"].astype(str)))
    with style.style_context():
        fig, grid = style.new_figure(1, len(panels), height=3.2)
        axes = list(grid[0])
        for ax, name in zip(axes, panels):
            of = rows[rows["outcome"] == name]
            for key, g in of.groupby(["scenario", *others], sort=False):
                key = key if isinstance(key, tuple) else (key,)
                g = g.sort_values(swept)
                x = pd.to_numeric(g[swept], errors="coerce").to_numpy(dtype=float)
                med = g["median"].to_numpy(dtype=float)
                st = _draw.scenario_style(str(key[0]), scenarios, reference)
                text = str(key[0]) + "".join(f", {c} = {v}" for c, v in zip(others, key[1:]))
                ax.fill_between(x, g["p05"].to_numpy(dtype=float), g["p95"].to_numpy(dtype=float),
                                color=st["color"], alpha=0.15, linewidth=0)
                ax.plot(x, med, color=st["color"], linestyle=st["linestyle"], marker=st["marker"], label=text,
                        gid=f"sweep:{name}:{text}")
            if not np.isfinite(pd.to_numeric(of["median"], errors="coerce")).any():
                ax.text(0.5, 0.5, tr("note.no_measurable_effect", lang), transform=ax.transAxes, ha="center",
                        va="center", fontsize=8, color="#555555", gid=f"none:{name}")
                ax.set_xticks([])
                ax.set_yticks([])
            o = (labels or {}).get(name)
            _draw.panel_title(ax, o.label(lang) if o is not None else name)
            ax.set_xlabel(swept)
            style.number_axis(ax, "x", lang)
            if name.startswith("final.share_"):
                style.percent_axis(ax, "y", lang)
            else:
                style.number_axis(ax, "y", lang)
        handles, seen = [], set()
        for ax in axes:
            for h in ax.get_lines():
                if h.get_label() not in seen and not h.get_label().startswith("_"):
                    seen.add(h.get_label())
                    handles.append(h)
        _draw.title(fig, tr("title.sweep", lang, outcome=tr("word.outcomes", lang), swept=swept))
        _draw.legend(fig, handles)
    return fig


def _finite(summary: pd.DataFrame) -> bool:
    return bool(np.isfinite(pd.to_numeric(summary["median"], errors="coerce")).any())


@chart_family("sweep", charts=("sweep",))
def plan_sweep(v: ResultsView) -> Iterator[PlannedChart]:
    """Outcomes against the first swept design value, when summary.csv sweeps one."""
    summary = v.results.summary
    swept = swept_columns(summary)
    if not swept or not _finite(summary):
        return
    outcomes = v.results.outcomes
    yield ("sweep", partial(sweep_chart, summary, swept[0], reference=v.reference or None, labels=outcomes,
                            lang=v.language),
           {"outcome": tr("word.outcomes", v.language), "swept": swept[0]})
