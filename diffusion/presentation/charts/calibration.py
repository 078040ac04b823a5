"""Calibration charts not in ``diffusion.charts``: one panel per target against the posterior predictive,
and a pair plot of the weighted posterior. Same style as ``diffusion.charts`` (save with ``charts.style.save``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diffusion.foundation.strings import check_language, metric_label, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.analysis import weighted_quantiles
from diffusion.presentation.charts.data import to_datetime64


def _t(key: str, lang: str) -> str:
    return tr(f"calibration.{key}", lang)


def targets_chart(predictive: pd.DataFrame, targets, lang: str = "en") -> Figure:
    """One panel per target: the posterior-predictive median and 90% band of its indicator over its setup's
    months, and the observed value (diamond with a binomial 90% interval) or bound (triangle and line).

    Args:
        predictive: columns setup, metric, date, value, draw (``Simulator.predictive`` rows).
        targets: ``TargetSpec`` objects.
    """
    lang = check_language(lang)
    with style.style_context():
        fig, axes = _draw.panel_grid(len(targets), ncols_max=2, row_height=2.4, sharex=False, sharey=False)
        for ax, t in zip(axes, targets):
            p = predictive[(predictive["setup"] == t.setup) & (predictive["metric"] == t.indicator)]
            x, q = _draw.predictive_band(ax, p, t.key, band="band")
            if t.op == "=":
                _draw.observed_share(ax, t.date, t.value, t.households, markersize=5, gid=f"observed:{t.key}")
            else:
                marker = "^" if t.op.startswith(">") else "v"
                ax.plot(to_datetime64([t.date]), [t.value], marker=marker, color="black", linestyle="none",
                        markersize=6, zorder=4, gid=f"bound:{t.key}")
                ax.axhline(t.value, color=_draw.TARGET_COLOUR, linestyle="--", linewidth=0.8)
            _draw.share_limits(ax, np.r_[q[0.05].to_numpy(dtype=float), t.value])
            style.date_axis(ax, x.min(), x.max(), lang)
            style.percent_axis(ax, lang=lang)
            name = f"{t.setup}: {metric_label(t.indicator, lang, short=True)}"
            if t.role == "check":
                name += f" ({_t('check', lang)})"
            _draw.panel_title(ax, name)
            ax.set_ylabel(_t("share", lang))
        _draw.title(fig, _t("title_targets", lang))
        _draw.legend(fig, [
            Line2D([], [], color=_draw.FAN_COLOUR, label=_t("median", lang)),
            Patch(facecolor=_draw.FAN_COLOUR, alpha=0.2, linewidth=0, label=_t("band", lang)),
            Line2D([], [], linestyle="none", marker="D", color="black", markersize=5, label=_t("observed", lang)),
            Line2D([], [], linestyle="--", marker="^", color="black", markersize=5, label=_t("bound", lang)),
        ], ncols=2)
    return fig


def pair_plot(posterior: pd.DataFrame, prior_bounds: dict[str, tuple[float, float]] | None = None,
              lang: str = "en") -> Figure:
    """Lower triangle: weighted particles of each pair of parameters (darker = more weight); diagonal: the
    weighted marginal histogram with median and 90% credible interval. Axes span the prior bounds.

    Args:
        posterior: one numeric column per parameter and a ``weight`` column.
    """
    lang = check_language(lang)
    w = posterior["weight"].to_numpy(dtype=float) if "weight" in posterior.columns else np.ones(len(posterior))
    w = w / w.sum()
    params = [c for c in posterior.columns if c != "weight" and pd.api.types.is_numeric_dtype(posterior[c])]
    k = len(params)
    prior_bounds = prior_bounds or {}
    lims = {c: prior_bounds.get(c, (float(posterior[c].min()), float(posterior[c].max()))) for c in params}
    with style.style_context():
        size = min(style.WIDTH, 1.6 * k + 0.6)
        fig, axes = style.new_figure(k, k, height=size + 0.6, width=size, sharex=False, sharey=False)
        order = np.argsort(w)
        for i, ri in enumerate(params):
            for j, cj in enumerate(params):
                ax = axes[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    v = posterior[ri].to_numpy(dtype=float)
                    lo, hi = lims[ri]
                    ax.hist(v, bins=np.linspace(lo, hi, 21), weights=w, color=style.PALETTE[1], alpha=0.6,
                            edgecolor="white", linewidth=0.3)
                    for qv, ls in zip(weighted_quantiles(v, w, [0.05, 0.5, 0.95]), (":", "-", ":")):
                        ax.axvline(qv, color="black", linestyle=ls, linewidth=0.9)
                    ax.set_xlim(lo, hi)
                    ax.set_yticks([])
                else:
                    ax.scatter(posterior[cj].to_numpy()[order], posterior[ri].to_numpy()[order], c=w[order],
                               cmap=style.SEQUENTIAL_CMAP + "_r", s=6, linewidths=0)
                    ax.set_xlim(*lims[cj])
                    ax.set_ylim(*lims[ri])
                if i == k - 1:
                    ax.set_xlabel(cj, fontsize=7)
                else:
                    ax.set_xticklabels([])
                if j == 0 and i > 0:
                    ax.set_ylabel(ri, fontsize=7)
                elif j > 0:
                    ax.set_yticklabels([])
                ax.tick_params(labelsize=6)
        _draw.title(fig, _t("title_pair", lang))
    return fig
