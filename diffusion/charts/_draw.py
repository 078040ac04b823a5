"""Drawing pieces shared by the charts: fans, point-ranges, target lines, observed markers, panel grids."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import sources
from . import style
from .data import source_label, to_datetime64
from .strings import fmt_month, fmt_pct, tr

FAN_COLOUR = style.PALETTE[1]
TARGET_COLOUR = "#333333"


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


def fan(ax: Axes, bands: pd.DataFrame, colour: str = FAN_COLOUR, gid: str = "") -> None:
    """Median line with 50% and 90% bands over a dated x axis (bands from ``data.quantile_bands``)."""
    x = to_datetime64(bands["date"])
    ax.fill_between(x, bands["p5"], bands["p95"], color=colour, alpha=0.16, linewidth=0, gid=f"band90:{gid}")
    ax.fill_between(x, bands["p25"], bands["p75"], color=colour, alpha=0.36, linewidth=0, gid=f"band50:{gid}")
    ax.plot(x, bands["p50"], color=colour, linewidth=1.8, gid=f"median:{gid}")


def fan_handles(lang: str, colour: str = FAN_COLOUR) -> list:
    """Legend handles explaining a fan."""
    return [
        Line2D([], [], color=colour, linewidth=1.8, label=tr("legend.median", lang)),
        Patch(facecolor=colour, alpha=0.36, linewidth=0, label=tr("legend.band50", lang)),
        Patch(facecolor=colour, alpha=0.16, linewidth=0, label=tr("legend.band90", lang)),
    ]


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
        date_text = getattr(row, "date_text", None) or fmt_month(row.date, lang)
        label = tr("legend.observed", lang, place=getattr(row, "place", "") or "", value=value_text,
                   date=date_text, source=source_label(getattr(row, "source", "") or ""))
        (line,) = ax.plot(to_datetime64([row.date]), [row.value], linestyle="none",
                          marker="^" if qual == ">" else "D", markersize=6.5, markeredgecolor="black",
                          markeredgewidth=1.0, markerfacecolor="white" if approx else "black",
                          label=label, gid=f"observed:{i}", zorder=4, clip_on=False)
        out.append(line)
    return out


def share_limits(ax: Axes, low_values, top: float = 1.0) -> None:
    """y range from a rounded-down lower bound (multiples of 10%) to just above ``top`` (100%)."""
    vals = np.asarray([v for v in np.ravel(low_values) if np.isfinite(v)], dtype=float)
    low = float(vals.min()) if vals.size else 0.0
    low = max(0.0, math.floor((low - 0.02) * 10) / 10)
    ax.set_ylim(low, top + 0.02 * (top - low) + 0.005)


def point_range(ax: Axes, y: float, q: pd.Series | dict, *, colour: str, marker: str = "o", filled: bool = True,
                gid: str = "", horizontal: bool = True) -> None:
    """Median dot with a thick 50% bar and a thin 90% bar (horizontal: values on the x axis)."""
    if horizontal:
        ax.plot([q["p5"], q["p95"]], [y, y], color=colour, linewidth=1.0, solid_capstyle="butt", gid=f"p90:{gid}")
        ax.plot([q["p25"], q["p75"]], [y, y], color=colour, linewidth=4.0, solid_capstyle="butt",
                gid=f"p50:{gid}")
        ax.plot([q["p50"]], [y], linestyle="none", marker=marker, markersize=6.5, markeredgecolor=colour,
                markerfacecolor=colour if filled else "white", markeredgewidth=1.3, gid=f"median:{gid}", zorder=3)
    else:
        ax.plot([y, y], [q["p5"], q["p95"]], color=colour, linewidth=1.0, solid_capstyle="butt", gid=f"p90:{gid}")
        ax.plot([y, y], [q["p25"], q["p75"]], color=colour, linewidth=4.0, solid_capstyle="butt",
                gid=f"p50:{gid}")
        ax.plot([y], [q["p50"]], linestyle="none", marker=marker, markersize=6.5, markeredgecolor=colour,
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


def scenario_label(name: str, reference: str | None, lang: str) -> str:
    """A scenario's name, marked "(reference)" when it is the reference (unless its name says so)."""
    if name != reference or any(w in name.lower() for w in ("reference", "tham chiếu", "baseline")):
        return name
    return tr("legend.reference", lang, name=name)


def legend(fig: Figure, handles: list, ncols: int | None = None) -> None:
    """A frameless legend below the panels (constrained layout makes room for it)."""
    if not handles:
        return
    ncols = ncols or min(len(handles), 3)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, handlelength=2.6, columnspacing=1.4)


def point_range_handles(lang: str, colour: str = "#555555", filled_note: bool = False) -> list:
    """Legend handles explaining a point-range: median dot, 50% and 90% bars."""
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


def title(fig: Figure, text: str, width: int = 62) -> None:
    """Figure title, left-aligned, wrapped to the figure width."""
    fig.suptitle(textwrap.fill(text, width), x=0.01, horizontalalignment="left")
