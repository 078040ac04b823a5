"""Drawing pieces shared by the charts: fans, point-ranges, target lines, observed markers, panel grids."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from diffusion.foundation import sources
from diffusion.foundation.strings import fmt_month, fmt_pct, tr
from diffusion.presentation.charts import style
from diffusion.presentation.charts.data import source_label, to_datetime64

FAN_COLOUR = style.PALETTE[1]
TARGET_COLOUR = "#333333"


def require_columns(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    """ValueError (the chart does not apply) when ``df`` lacks any of ``cols``."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} table lacks the columns {missing}")


def panel_grid(n: int, *, ncols_max: int = 3, row_height: float = 2.5, extra: float = 0.9,
               sharex: bool | str = True, sharey: bool | str = True) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` panels in rows of at most ``ncols_max``; unused axes are removed."""
    ncols = max(1, min(n, ncols_max))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = style.new_figure(nrows, ncols, height=row_height * nrows + extra, sharex=sharex, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    # panels left without a neighbour below still need their x tick labels
    for i, ax in enumerate(flat[:n]):
        if i + ncols >= n:
            ax.tick_params(labelbottom=True)
    return fig, flat[:n]


def fan(ax: Axes, bands: pd.DataFrame, gid: str = "") -> None:
    """Median line with 50% and 90% bands over a dated x axis (bands from ``data.quantile_bands``)."""
    x = to_datetime64(bands["date"])
    ax.fill_between(x, bands["p5"], bands["p95"], color=FAN_COLOUR, alpha=0.16, linewidth=0, gid=f"band90:{gid}")
    ax.fill_between(x, bands["p25"], bands["p75"], color=FAN_COLOUR, alpha=0.36, linewidth=0, gid=f"band50:{gid}")
    ax.plot(x, bands["p50"], color=FAN_COLOUR, linewidth=1.8, gid=f"median:{gid}")


def fan_handles(lang: str) -> list:
    """Legend handles explaining a fan."""
    return [
        Line2D([], [], color=FAN_COLOUR, linewidth=1.8, label=tr("legend.median", lang)),
        Patch(facecolor=FAN_COLOUR, alpha=0.36, linewidth=0, label=tr("legend.band50", lang)),
        Patch(facecolor=FAN_COLOUR, alpha=0.16, linewidth=0, label=tr("legend.band90", lang)),
    ]


def predictive_band(ax: Axes, predictive: pd.DataFrame, gid: str,
                    band: str = "band90") -> tuple[np.ndarray, pd.DataFrame]:
    """Posterior-predictive median line and 90% band over the dates of ``predictive`` (columns date, value,
    one row per draw and month); returns the dates and the quantiles (columns 0.05, 0.5, 0.95 by date)."""
    q = predictive.groupby("date", sort=True)["value"].quantile([0.05, 0.5, 0.95]).unstack()
    x = to_datetime64(q.index)
    ax.fill_between(x, q[0.05], q[0.95], color=FAN_COLOUR, alpha=0.2, linewidth=0, gid=f"{band}:{gid}")
    ax.plot(x, q[0.5], color=FAN_COLOUR, gid=f"median:{gid}")
    return x, q


def wilson(p: float, n: float, z: float = 1.645) -> tuple[float, float]:
    """90% Wilson interval of a binomial share p observed in n (NaN when n is unknown or not positive)."""
    if not (n and n > 0 and np.isfinite(n)):
        return float("nan"), float("nan")
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def observed_share(ax: Axes, date: str, value: float, n: float | None, *, marker: str = "D",
                   markersize: float = 5.5, gid: str = "") -> None:
    """An observed share at its date, with its 90% Wilson interval when the number observed ``n`` is known."""
    lo, hi = wilson(value, n)
    err = [[value - lo], [hi - value]] if np.isfinite(lo) else None
    ax.errorbar(to_datetime64([date]), [value], yerr=err, fmt=marker, color="black", markersize=markersize,
                elinewidth=0.9, capsize=2, gid=gid, zorder=4, clip_on=False)


def target_for(metric: str, targets=None) -> sources.Target | None:
    """The Resolution 09 target on ``metric`` (None if there is none or ``targets`` is empty)."""
    for tg in sources.targets() if targets is None else targets:
        if tg.metric == metric:
            return tg
    return None


def target_line(ax: Axes, target: sources.Target, lang: str, first, last) -> Line2D:
    """Dashed horizontal line at the target share; dotted vertical line at the target date if in range."""
    label = tr("legend.target", lang, share=fmt_pct(target.share, lang), date=fmt_month(target.by, lang))
    line = ax.axhline(target.share, color=TARGET_COLOUR, linestyle="--", linewidth=0.9, label=label,
                      gid=f"target:{target.metric}", zorder=1.5)
    when = to_datetime64([target.by])[0]
    if first <= when <= last:
        ax.axvline(when, color=TARGET_COLOUR, linestyle=":", linewidth=0.8, gid=f"target_date:{target.metric}",
                   zorder=1.5)
    return line


def observed_markers(ax: Axes, obs: pd.DataFrame, lang: str) -> list[Line2D]:
    """One marker per observation at its date: triangle for a lower bound ("> x"), diamond otherwise;
    hollow when only the year is known (plotted at mid-year)."""
    out = []
    for i, row in enumerate(obs.itertuples(index=False)):
        qual = getattr(row, "qualifier", "") or ""
        approx = bool(getattr(row, "approximate_date", False))
        value_text = f"{qual}{fmt_pct(row.value, lang)}".replace("~", "≈")
        date_text = ((getattr(row, "date_text_vi", None) if lang == "vi" else None) or getattr(row, "date_text", None)
                     or fmt_month(row.date, lang))
        label = tr("legend.observed", lang, place=getattr(row, "place", "") or "", value=value_text,
                   date=date_text, source=source_label(getattr(row, "source", "") or ""))
        (line,) = ax.plot(to_datetime64([row.date]), [row.value], linestyle="none",
                          marker="^" if qual == ">" else "D", markersize=6.5, markeredgecolor="black",
                          markeredgewidth=1.0, markerfacecolor="white" if approx else "black",
                          label=label, gid=f"observed:{i}", zorder=4, clip_on=False)
        out.append(line)
    return out


def share_floor(values) -> float:
    """Lower axis limit for shares: the smallest finite value less 2 points, rounded down to a multiple of
    10% and not below 0 (0 when no value is finite)."""
    vals = np.asarray([v for v in np.ravel(values) if np.isfinite(v)], dtype=float)
    low = float(vals.min()) if vals.size else 0.0
    return max(0.0, math.floor((low - 0.02) * 10) / 10)


def share_limits(ax: Axes, low_values) -> None:
    """y range from a rounded-down lower bound (``share_floor``) to just above 100%."""
    low = share_floor(low_values)
    ax.set_ylim(low, 1.0 + 0.02 * (1.0 - low) + 0.005)


def x_grid(ax: Axes) -> None:
    """Grid lines on the x axis only (for panels whose values run along x)."""
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)


def label_first_col(axes: list[Axes], text: str) -> None:
    """The y label on the panels of the first column only; with several rows of panels, once for the figure (a
    long label, such as the Vietnamese one of income quintiles, would run past a single panel and the title)."""
    first = [ax for ax in axes if ax.get_subplotspec().is_first_col()]
    if len(first) > 1:
        first[0].figure.supylabel(text, fontsize=matplotlib.rcParams["axes.labelsize"])
        return
    for ax in first:
        ax.set_ylabel(text)


def point_range(ax: Axes, y: float, q: pd.Series | dict, *, colour: str, marker: str = "o", filled: bool = True,
                gid: str = "") -> None:
    """Median dot with a thick 50% bar and a thin 90% bar, values on the x axis."""
    ax.plot([q["p5"], q["p95"]], [y, y], color=colour, linewidth=1.0, solid_capstyle="butt", gid=f"p90:{gid}")
    ax.plot([q["p25"], q["p75"]], [y, y], color=colour, linewidth=4.0, solid_capstyle="butt", gid=f"p50:{gid}")
    ax.plot([q["p50"]], [y], linestyle="none", marker=marker, markersize=6.5, markeredgecolor=colour,
            markerfacecolor=colour if filled else "white", markeredgewidth=1.3, gid=f"median:{gid}", zorder=3)


def quantiles_of(values) -> dict[str, float]:
    """p5, p25, p50, p75, p95 of the finite values (NaN when there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {k: float("nan") for k in ("p5", "p25", "p50", "p75", "p95")}
    qs = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
    return dict(zip(("p5", "p25", "p50", "p75", "p95"), map(float, qs)))


def scenario_style(name: str, scenarios: list[str], reference: str | None) -> dict:
    """Colour, line style and marker of a scenario: the reference always gets the first (black, solid),
    the others the following ones in their order."""
    if reference not in scenarios:
        return style.series_style(scenarios.index(name))
    if name == reference:
        return style.series_style(0)
    return style.series_style(1 + [s for s in scenarios if s != reference].index(name))


#: The names the charts give scenarios while a results folder's charts are drawn (its ``label``/``label_vi``;
#: ``scenario_names``); a scenario without one is named by its key.
_NAMES: ContextVar[dict[str, str] | None] = ContextVar("scenario_names", default=None)


@contextmanager
def scenario_names(names: dict[str, str]) -> Iterator[None]:
    """Name scenarios by ``names`` (key -> label) in the charts drawn inside the block."""
    token = _NAMES.set(dict(names))
    try:
        yield
    finally:
        _NAMES.reset(token)


def scenario_label(name: str, reference: str | None, lang: str) -> str:
    """A scenario's name (its label when ``scenario_names`` gives one), marked "(reference)" when it is the
    reference (unless its name says so)."""
    shown = (_NAMES.get() or {}).get(name, name)
    if name != reference or any(w in shown.lower() for w in ("reference", "tham chiếu", "baseline", "đối chứng")):
        return shown
    return tr("legend.reference", lang, name=shown)


def legend(fig: Figure, handles: list, ncols: int | None = None) -> None:
    """A frameless legend below the panels (constrained layout makes room for it)."""
    if not handles:
        return
    ncols = ncols or min(len(handles), 3)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, handlelength=2.6, columnspacing=1.4)


def point_range_handles(lang: str, filled_note: bool = False) -> list:
    """Legend handles explaining a point-range: median dot, 50% and 90% bars."""
    colour = "#555555"
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=6, color=colour, label=tr("legend.pr_median", lang)),
        Line2D([], [], color=colour, linewidth=4.0, solid_capstyle="butt", label=tr("legend.pr_50", lang)),
        Line2D([], [], color=colour, linewidth=1.0, label=tr("legend.pr_90", lang)),
    ]
    if filled_note:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=6, markeredgecolor=colour,
                              markerfacecolor="white", label=tr("legend.pr_hollow", lang)))
    return handles


def panel_title(ax: Axes, text: str) -> None:
    """Panel title wrapped to the panel's width (about 14 characters per inch at the title size)."""
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    ax.set_title(textwrap.fill(str(text), max(12, int(width_in * 14))))


def title(fig: Figure, text: str) -> None:
    """Figure title, left-aligned, wrapped to the figure width."""
    fig.suptitle(textwrap.fill(text, 62), x=0.01, horizontalalignment="left")


def scenario_rows(n_panels: int, scenarios: list[str]) -> tuple[Figure, list[Axes], np.ndarray]:
    """Panels of point-ranges, one row per scenario (first on top): the figure, its panels and the rows'
    y positions. ``finish_scenario_rows`` labels them."""
    fig, axes = panel_grid(n_panels, ncols_max=2, row_height=0.3 * len(scenarios) + 1.1, sharex=False,
                           sharey=True, extra=0.9)
    return fig, axes, np.arange(len(scenarios))[::-1]


def finish_scenario_rows(fig: Figure, axes: list[Axes], ypos: np.ndarray, scenarios: list[str], text: str,
                         lang: str) -> None:
    """Scenario names on the rows of ``scenario_rows`` panels, the title ``text`` and the point-range legend."""
    axes[0].set_yticks(ypos, scenarios)
    axes[0].set_ylim(-0.6, len(scenarios) - 0.4)
    label_first_col(axes, tr("axis.scenario", lang))
    title(fig, text)
    legend(fig, point_range_handles(lang), ncols=3)
