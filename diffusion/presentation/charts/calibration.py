"""Charts of a calibration (``diffusion calibrate``), drawn from the tables it writes to ``calibration/``:

- ``posterior``: one column per parameter and a ``weight`` column (ABC-SMC particle weights, need not sum
  to 1; equal weights if absent). Other non-numeric columns are ignored.
- ``predictive``: columns ``metric, date, value`` (one row per posterior draw and month; a ``draw`` column
  may identify the draw, a ``setup`` column the place simulated);
- ``observed``: the targets: ``metric, date, value`` with optional ``n`` (households observed, for a
  binomial interval), ``source``, ``setup``, ``op`` (``>``/``>=``/``<``/``<=`` for a one-sided bound),
  ``target`` (its key) and ``role`` ("fit" or "check").

The prior bounds drawn under the posterior are the calibration's section of the manifest
(``"priors": {"<parameter>": [low, high]}``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diffusion.foundation.stats import weighted_quantiles
from diffusion.foundation.strings import check_language, metric_label, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.data import source_label, to_datetime64
from diffusion.presentation.charts.registry import PlannedChart, chart_family
from diffusion.presentation.charts.view import ResultsView

_OP_MARKERS = {"=": "D", ">": "^", ">=": "^", "<": "v", "<=": "v"}


def _ops(observed: pd.DataFrame) -> list[str]:
    return observed["op"].astype(str).tolist() if "op" in observed.columns else ["="] * len(observed)


def calibration_fit(predictive: pd.DataFrame, observed: pd.DataFrame, lang: str = "en") -> Figure:
    """Posterior predictive median and 90% band over time, with the observed values (and their 90% binomial
    intervals when the number of households ``n`` is given); one panel per metric, or per (setup, metric)
    when both tables have a ``setup`` column (calibration to several places).

    Args:
        predictive: columns metric, date ("YYYY-MM"), value (share 0..1), one row per draw and month;
            optional setup.
        observed: columns metric, date, value; optional n, source, setup and op ("=", ">", ">=", "<",
            "<=": a bound is drawn as a triangle pointing the way the truth lies).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    _draw.require_columns(predictive, ("metric", "date", "value"), "posterior predictive")
    _draw.require_columns(observed, ("metric", "date", "value"), "observed")
    by_setup = "setup" in predictive.columns and "setup" in observed.columns
    keys = ["setup", "metric"] if by_setup else ["metric"]
    panels = list(dict.fromkeys(
        [tuple(str(v) for v in r) for r in observed[keys].itertuples(index=False)]
        + [tuple(str(v) for v in r) for r in predictive[keys].drop_duplicates().itertuples(index=False)]))

    def rows_of(df: pd.DataFrame, key: tuple) -> pd.DataFrame:
        mask = np.ones(len(df), dtype=bool)
        for k, v in zip(keys, key):
            mask &= df[k].astype(str).to_numpy() == v
        return df[mask]

    with style.style_context():
        fig, axes = _draw.panel_grid(len(panels), ncols_max=3, row_height=2.4, sharex=False, sharey=False)
        for ax, key in zip(axes, panels):
            x, q = _draw.predictive_band(ax, rows_of(predictive, key), ":".join(key))
            o = rows_of(observed, key)
            for i, (date, value, op) in enumerate(zip(o["date"], o["value"], _ops(o))):
                n = o["n"].iloc[i] if "n" in o.columns and op == "=" else np.nan
                _draw.observed_share(ax, date, value, n, marker=_OP_MARKERS.get(op, "D"),
                                     gid=f"observed:{':'.join(key)}:{i}")
            xo = to_datetime64(o["date"])
            _draw.share_limits(ax, np.r_[q[0.05].to_numpy(dtype=float), o["value"].to_numpy(dtype=float)])
            first = min(x.min(), xo.min()) if len(xo) else x.min()
            last = max(x.max(), xo.max()) if len(xo) else x.max()
            style.date_axis(ax, first, last, lang)
            style.percent_axis(ax, lang=lang)
            label = metric_label(key[-1], lang, short=True)
            _draw.panel_title(ax, f"{key[0]}: {label}" if by_setup else label)
            ax.set_ylabel(tr("axis.share_generic", lang))
        _draw.title(fig, tr("title.calibration_fit", lang))
        srcs = sorted({source_label(s) for s in observed.get("source", pd.Series(dtype=str)).dropna()})
        obs_label = tr("legend.observed_plain", lang) + (f" ({', '.join(srcs)})" if srcs else "")
        handles = [
            Line2D([], [], color=_draw.FAN_COLOUR, label=tr("legend.predictive", lang)),
            Patch(facecolor=_draw.FAN_COLOUR, alpha=0.2, linewidth=0, label=tr("legend.band90", lang)),
            Line2D([], [], linestyle="none", marker="D", color="black", markersize=5, label=obs_label),
        ]
        if any(op != "=" for op in _ops(observed)):
            handles.append(Line2D([], [], linestyle="none", marker="^", color="black", markersize=5,
                                  label=tr("legend.bound", lang)))
        _draw.legend(fig, handles, ncols=2 if len(handles) == 4 else 3)
    return fig


def targets_chart(predictive: pd.DataFrame, observed: pd.DataFrame, lang: str = "en") -> Figure:
    """One panel per target: the posterior-predictive median and 90% band of its indicator over its setup's
    months, and the observed value (diamond with a binomial 90% interval) or bound (triangle and line).

    Args:
        predictive: columns setup, metric, date, value, draw.
        observed: one row per target: columns target, setup, metric, date, op, value; optional n and role.
    """
    lang = check_language(lang)
    _draw.require_columns(predictive, ("setup", "metric", "date", "value"), "posterior predictive")
    _draw.require_columns(observed, ("target", "setup", "metric", "date", "op", "value"), "observed")
    with style.style_context():
        fig, axes = _draw.panel_grid(len(observed), ncols_max=2, row_height=2.4, sharex=False, sharey=False)
        for ax, t in zip(axes, observed.itertuples(index=False)):
            p = predictive[(predictive["setup"].astype(str) == str(t.setup)) & (predictive["metric"] == t.metric)]
            x, q = _draw.predictive_band(ax, p, t.target, band="band")
            op = str(t.op)
            if op == "=":
                _draw.observed_share(ax, t.date, t.value, getattr(t, "n", np.nan), markersize=5,
                                     gid=f"observed:{t.target}")
            else:
                ax.plot(to_datetime64([t.date]), [t.value], marker="^" if op.startswith(">") else "v",
                        color="black", linestyle="none", markersize=6, zorder=4, gid=f"bound:{t.target}")
                ax.axhline(t.value, color=_draw.TARGET_COLOUR, linestyle="--", linewidth=0.8)
            _draw.share_limits(ax, np.r_[q[0.05].to_numpy(dtype=float), t.value])
            style.date_axis(ax, x.min(), x.max(), lang)
            style.percent_axis(ax, lang=lang)
            name = f"{t.setup}: {metric_label(t.metric, lang, short=True)}"
            if getattr(t, "role", "") == "check":
                name += f" ({tr('calibration.check', lang)})"
            _draw.panel_title(ax, name)
            ax.set_ylabel(tr("calibration.share", lang))
        _draw.title(fig, tr("calibration.title_targets", lang))
        _draw.legend(fig, [
            Line2D([], [], color=_draw.FAN_COLOUR, label=tr("calibration.median", lang)),
            Patch(facecolor=_draw.FAN_COLOUR, alpha=0.2, linewidth=0, label=tr("calibration.band", lang)),
            Line2D([], [], linestyle="none", marker="D", color="black", markersize=5,
                   label=tr("calibration.observed", lang)),
            Line2D([], [], linestyle="--", marker="^", color="black", markersize=5,
                   label=tr("calibration.bound", lang)),
        ], ncols=2)
    return fig


def _parameters(posterior: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The parameter columns of a posterior table and its weights (equal when there is no weight column)."""
    params = [c for c in posterior.columns if c != "weight" and pd.api.types.is_numeric_dtype(posterior[c])]
    if not params:
        raise ValueError("the posterior table has no parameter columns")
    w = posterior["weight"].to_numpy(dtype=float) if "weight" in posterior.columns else np.ones(len(posterior))
    return params, w


def posterior_chart(posterior: pd.DataFrame, prior_bounds: dict[str, tuple[float, float]] | None = None,
                    lang: str = "en") -> Figure:
    """Weighted histogram of each parameter's posterior with its weighted median and 90% credible
    interval; one panel per parameter.

    Args:
        posterior: one numeric column per parameter and an optional ``weight`` column.
        prior_bounds: parameter -> (low, high) of the prior, drawn as a bar under the histogram and used
            as the x range.
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    params, weights = _parameters(posterior)
    prior_bounds = prior_bounds or {}
    with style.style_context():
        fig, axes = _draw.panel_grid(len(params), ncols_max=3, row_height=2.1, sharex=False, sharey=False)
        for ax, par in zip(axes, params):
            v = posterior[par].to_numpy(dtype=float)
            lo, hi = prior_bounds.get(par, (np.nanmin(v), np.nanmax(v)))
            if hi <= lo:
                lo, hi = lo - 0.5 * abs(lo or 1), hi + 0.5 * abs(hi or 1)
            w = weights / np.nansum(weights) * 100.0
            ax.hist(v, bins=np.linspace(lo, hi, 21), weights=w, color=style.PALETTE[1], alpha=0.55,
                    edgecolor="white", linewidth=0.4, gid=f"hist:{par}")
            q5, q50, q95 = weighted_quantiles(v, weights, [0.05, 0.5, 0.95])
            ax.axvline(q50, color="black", linewidth=1.4, gid=f"median:{par}")
            ax.axvline(q5, color="black", linestyle=":", linewidth=1.0, gid=f"ci5:{par}")
            ax.axvline(q95, color="black", linestyle=":", linewidth=1.0, gid=f"ci95:{par}")
            if par in prior_bounds:
                ax.plot([lo, hi], [0, 0], color="#777777", linewidth=3, solid_capstyle="butt", clip_on=False,
                        gid=f"prior:{par}")
            ax.set_xlim(lo, hi)
            _draw.panel_title(ax, par)
            ax.set_xlabel(tr("axis.parameter_value", lang, parameter=par), fontsize=7.5)
            ax.set_ylabel(tr("axis.posterior_weight", lang))
            style.number_axis(ax, "x", lang)
            style.number_axis(ax, "y", lang)
        _draw.title(fig, tr("title.posterior", lang))
        handles = [Line2D([], [], color="black", linewidth=1.4, label=tr("legend.posterior_median", lang)),
                   Line2D([], [], color="black", linestyle=":", linewidth=1.0, label=tr("legend.ci90", lang))]
        if prior_bounds:
            handles.append(Line2D([], [], color="#777777", linewidth=3, label=tr("legend.prior", lang)))
        _draw.legend(fig, handles, ncols=len(handles))
    return fig


def pair_plot(posterior: pd.DataFrame, prior_bounds: dict[str, tuple[float, float]] | None = None,
              lang: str = "en") -> Figure:
    """Lower triangle: weighted particles of each pair of parameters (darker = more weight); diagonal: the
    weighted marginal histogram with median and 90% credible interval. Axes span the prior bounds.

    Args:
        posterior: one numeric column per parameter and a ``weight`` column.
    """
    lang = check_language(lang)
    params, w = _parameters(posterior)
    w = w / w.sum()
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
        _draw.title(fig, tr("calibration.title_pair", lang))
    return fig


# ------------------------------------------------------------------------------------ chart families
def prior_bounds(v: ResultsView) -> dict[str, tuple[float, float]]:
    """The prior bounds the calibration recorded in its section of the manifest (parameter -> (low, high))."""
    priors = v.section("calibration").get("priors") or {}
    return {str(k): (float(b[0]), float(b[1])) for k, b in priors.items()
            if isinstance(b, list | tuple) and len(b) == 2 and all(isinstance(x, int | float) for x in b)}


@chart_family("calibration_fit", kind="calibration")
def plan_calibration_fit(v: ResultsView) -> Iterator[PlannedChart]:
    predictive, observed = v.table("calibration", "predictive"), v.table("calibration", "observed")
    if predictive is not None and observed is not None:
        yield "calibration_fit", partial(calibration_fit, predictive, observed, lang=v.language), {}


@chart_family("calibration_targets", kind="calibration", caption="calibration.title_targets")
def plan_calibration_targets(v: ResultsView) -> Iterator[PlannedChart]:
    predictive, observed = v.table("calibration", "predictive"), v.table("calibration", "observed")
    if predictive is not None and observed is not None and "target" in observed.columns:
        yield "calibration_targets", partial(targets_chart, predictive, observed, lang=v.language), {}


@chart_family("posterior", kind="calibration")
def plan_posterior(v: ResultsView) -> Iterator[PlannedChart]:
    posterior = v.table("calibration", "posterior")
    if posterior is not None:
        yield "posterior", partial(posterior_chart, posterior, prior_bounds(v), lang=v.language), {}


@chart_family("pair_plot", kind="calibration", caption="calibration.title_pair")
def plan_pair_plot(v: ResultsView) -> Iterator[PlannedChart]:
    posterior = v.table("calibration", "posterior")
    if posterior is not None:
        yield "pair_plot", partial(pair_plot, posterior, prior_bounds(v), lang=v.language), {}
