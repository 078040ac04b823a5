"""Convergence chart of sensitivity indices: each factor's index from the first half of the design against
the whole design, with confidence intervals, in the house style (``diffusion.charts.style``).

Input: the tidy convergence table of ``diffusion.sensitivity`` (columns outcome, factor, index, value,
conf, n), with two values of ``n`` (half and all base samples, or Morris trajectories).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion.foundation.strings import check_language, metric_label, tr
from diffusion.presentation.charts import _draw, style


def convergence_chart(conv: pd.DataFrame, lang: str = "en", index: str | None = None) -> Figure:
    """Dumbbells per factor: ``index`` (default ST for Sobol, mu_star for Morris) at n/2 and n, with CIs.

    Args:
        conv: columns outcome, factor, index, value, conf, n.
        lang: "en" or "vi".
        index: which index to show.
    """
    lang = check_language(lang)
    if index is None:
        index = "ST" if (conv["index"] == "ST").any() else "mu_star"
    d_all = conv[conv["index"] == index]
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
            _draw.panel_title(ax, metric_label(out, lang, short=True))
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
