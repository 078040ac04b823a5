"""Sensitivity and calibration charts, from simple documented tables.

Inputs (the sensitivity and calibration layers write them; see ``render.ANALYSIS_FILES`` for file names):

- Sobol indices: columns ``outcome, factor, S1, S1_conf, ST, ST_conf`` (indices 0..1; ``*_conf`` the
  half-width of the confidence interval, as SALib reports it).
- Morris screening: columns ``outcome, factor, mu_star, mu_star_conf, sigma`` (outcome units).
- Posterior: one column per parameter and a ``weight`` column (ABC-SMC particle weights, need not sum
  to 1; equal weights if absent). Other non-numeric columns are ignored.
- Posterior predictive: columns ``metric, date, value`` (one row per posterior draw and month; a ``draw``
  column may identify the draw, a ``setup`` column the place simulated), and observed values: ``metric,
  date, value`` with optional ``n`` (households observed, for a binomial interval), ``source``, ``setup``
  and ``op`` (``>``/``>=``/``<``/``<=`` for a one-sided bound).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diffusion.foundation.strings import check_language, metric_label, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.data import source_label, to_datetime64


def _require(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} table lacks the columns {missing}")


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
    _require(indices, ("outcome", "factor", "S1", "S1_conf", "ST", "ST_conf"), "Sobol")
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
    _require(morris, ("outcome", "factor", "mu_star", "mu_star_conf", "sigma"), "Morris")
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


_OP_MARKERS = {"=": "D", ">": "^", ">=": "^", "<": "v", "<=": "v"}


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
    _require(predictive, ("metric", "date", "value"), "posterior predictive")
    _require(observed, ("metric", "date", "value"), "observed")
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
            metric = key[-1]
            x, q = _draw.predictive_band(ax, rows_of(predictive, key), ":".join(key))
            o = rows_of(observed, key)
            ops = o["op"].astype(str).tolist() if "op" in o.columns else ["="] * len(o)
            for i, (date, value, op) in enumerate(zip(o["date"], o["value"], ops)):
                n = o["n"].iloc[i] if "n" in o.columns and op == "=" else np.nan
                _draw.observed_share(ax, date, value, n, marker=_OP_MARKERS.get(op, "D"),
                                     gid=f"observed:{':'.join(key)}:{i}")
            xo = to_datetime64(o["date"])
            lows = np.r_[q[0.05].to_numpy(dtype=float), o["value"].to_numpy(dtype=float)]
            _draw.share_limits(ax, lows)
            first = min(x.min(), xo.min()) if len(xo) else x.min()
            last = max(x.max(), xo.max()) if len(xo) else x.max()
            style.date_axis(ax, first, last, lang)
            style.percent_axis(ax, lang=lang)
            label = metric_label(metric, lang, short=True)
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
        if any(op != "=" for op in (observed["op"].astype(str) if "op" in observed.columns else [])):
            handles.append(Line2D([], [], linestyle="none", marker="^", color="black", markersize=5,
                                  label=tr("legend.bound", lang)))
        _draw.legend(fig, handles, ncols=2 if len(handles) == 4 else 3)
    return fig


def weighted_quantiles(values, weights, qs) -> np.ndarray:
    """Quantiles of ``values`` under ``weights`` (inverse of the weighted empirical distribution)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)


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
    weights = posterior["weight"].to_numpy(dtype=float) if "weight" in posterior.columns else np.ones(len(posterior))
    params = [c for c in posterior.columns if c != "weight" and pd.api.types.is_numeric_dtype(posterior[c])]
    if not params:
        raise ValueError("the posterior table has no parameter columns")
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
