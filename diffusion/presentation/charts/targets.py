"""The Resolution 09 dashboard: for each target, the projected value at the target date per scenario, with
its interval, whether it is met and the month it is reached; and each scenario's standing against each
target (``target_status``), which the report's text and table read."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion.experiments.outcomes import NEAR_TARGET, censored_median, target_months
from diffusion.foundation import sources
from diffusion.foundation.strings import check_language, fmt_month, fmt_pct, tr
from diffusion.presentation.charts import _draw, style
from diffusion.presentation.charts.data import at_month, month_of_date, of_scenario, scenarios_in


@dataclass(frozen=True)
class TargetStatus:
    """One scenario's standing against one target, over its runs.

    Months reached are right-censored at the end of the runs: a median month is given only when more than
    half of the runs reach the level, else None ("not reached by ``last_date``").

    Attributes:
        scenario: scenario name.
        target: the target.
        date: the month the values are read at ("YYYY-MM"): the target date, or the last month of the run
            when the run ends earlier (``in_run`` False).
        in_run: whether the run covers the target date.
        quantiles: p5, p25, p50, p75, p95 of the value over runs (share 0..1).
        met: runs meeting the target at the target date (0 when the run ends earlier).
        runs: number of runs.
        reached: median over runs of the first month the target share is reached ("YYYY-MM"), or None
            when not more than half of the runs reach it.
        reached_runs: runs reaching the target share within the run.
        near: the near-target level (share of the target's share).
        near_reached, near_runs: the same as reached and reached_runs for the near-target.
        last_date: the last month of the runs ("YYYY-MM"): what a level is "not reached by".
        unit: what the shortfall counts (households, working_age_people, people), or None.
        shortfall: min, p50 (median) and max over runs of the units still short at the target date; None
            when the run ends before it or the metric has no count.
    """

    scenario: str
    target: sources.Target
    date: str
    in_run: bool
    quantiles: dict
    met: int
    runs: int
    reached: str | None
    reached_runs: int = 0
    near: float = NEAR_TARGET
    near_reached: str | None = None
    near_runs: int = 0
    last_date: str = ""
    unit: str | None = None
    shortfall: dict | None = None


def _median_date(months, dates: pd.Series) -> tuple[str | None, int]:
    """(median month as "YYYY-MM" or None, runs reaching) of months reached over runs (``censored_median``)."""
    med, k, _ = censored_median(months)
    return (str(dates.loc[int(med)]) if np.isfinite(med) else None), k


def _shortfall(tm: pd.DataFrame) -> dict | None:
    short = tm["shortfall"].to_numpy(dtype=float) if "shortfall" in tm.columns else np.array([])
    short = short[np.isfinite(short)]
    if not short.size:
        return None
    return {"min": float(short.min()), "p50": float(np.median(short)), "max": float(short.max())}


def target_status(results: pd.DataFrame, targets=None, near: float = NEAR_TARGET) -> list[TargetStatus]:
    """Standing of every scenario against every target whose metric is in the results (``near``: the
    near-target level, ``[outputs] near_target``)."""
    targets = sources.targets() if targets is None else tuple(targets)
    targets = tuple(t for t in targets if t.metric in results.columns)
    if not targets:
        return []
    months = target_months(results, targets, near)
    last_month = int(results["month"].max())
    dates = results.drop_duplicates("month").set_index("month")["date"].astype(str)
    out = []
    for tg in targets:
        m = month_of_date(results, tg.by)
        in_run = m is not None
        m = last_month if m is None else m
        rows = results[results["month"] == m]
        for scn in scenarios_in(results):
            vals = of_scenario(rows, scn)[tg.metric].to_numpy(dtype=float)
            tm = of_scenario(months[months["target"] == tg.target], scn)
            reached, k = _median_date(tm["month_reached"], dates)
            near_reached, k_near = _median_date(tm["near_month_reached"], dates)
            out.append(TargetStatus(
                scenario=scn, target=tg, date=str(dates.loc[m]), in_run=in_run,
                quantiles=_draw.quantiles_of(vals),
                met=int(np.sum(vals >= tg.share - 1e-12)) if in_run else 0, runs=int(vals.size),
                reached=reached, reached_runs=k, near=float(near), near_reached=near_reached, near_runs=k_near,
                last_date=str(dates.loc[last_month]), unit=tm["unit"].iloc[0] if len(tm) else None,
                shortfall=_shortfall(tm) if in_run else None,
            ))
    return out


def resolution09_dashboard(results: pd.DataFrame, targets=None, reference: str | None = None,
                           lang: str = "en") -> Figure:
    """One row per Resolution 09 target: value at the target date per scenario (point-range; filled when
    the median meets the target), the target share as a dashed line, and beside it the runs that meet it
    and the (median) month it is reached.

    Args:
        results: tidy results.
        targets: targets (default: ``sources.targets()``); those whose metric is missing are skipped.
        reference: the reference scenario (marked).
        lang: "en" or "vi".
    """
    lang = check_language(lang)
    status = target_status(results, targets)
    if not status:
        raise ValueError("none of the targets' metrics is in the results")
    scenarios = scenarios_in(results)
    tgs = list(dict.fromkeys(s.target for s in status))
    ypos = np.arange(len(scenarios))[::-1]
    row_h = 0.36 * len(scenarios) + 0.75
    last_date = at_month(results)[2]
    with style.style_context():
        fig = style.ChartFigure(figsize=(style.WIDTH, row_h * len(tgs) + 0.9), layout="constrained")
        grid = fig.subplots(len(tgs), 2, squeeze=False, gridspec_kw={"width_ratios": [3, 2]})
        for row, tg in enumerate(tgs):
            ax, tx = grid[row]
            sts = [s for s in status if s.target == tg]
            for s, y in zip(sts, ypos):
                st = _draw.scenario_style(s.scenario, scenarios, reference)
                filled = s.in_run and s.quantiles["p50"] >= tg.share - 1e-12
                _draw.point_range(ax, y, s.quantiles, colour=st["color"], marker=st["marker"], filled=filled,
                                  gid=f"{tg.target}:{s.scenario}")
                if s.in_run:
                    note = tr("note.met", lang, k=s.met, n=s.runs) + "\n" + (
                        tr("note.reached", lang, date=fmt_month(s.reached, lang)) if s.reached
                        else tr("note.not_reached", lang, date=fmt_month(last_date, lang)))
                else:
                    note = tr("note.run_ends", lang, date=fmt_month(s.date, lang))
                tx.text(0.0, y, note, va="center", ha="left", fontsize=7.5, linespacing=1.3,
                        gid=f"note:{tg.target}:{s.scenario}")
            ax.axvline(tg.share, color=_draw.TARGET_COLOUR, linestyle="--", linewidth=0.9, gid=f"target:{tg.metric}")
            lo = _draw.share_floor([s.quantiles["p5"] for s in sts] + [tg.share])
            ax.set_xlim(lo, 1.0 + 0.03 * (1.0 - lo) + 0.005)
            style.percent_axis(ax, "x", lang=lang)
            _draw.x_grid(ax)
            ax.set_yticks(ypos, [_draw.scenario_label(s, reference, lang) for s in scenarios])
            ax.set_ylim(-0.6, len(scenarios) - 0.4)
            label = tg.label(lang)
            head = f"{label[:1].upper()}{label[1:]}: {fmt_pct(tg.share, lang)}, {fmt_month(tg.by, lang)}"
            ax.set_title(textwrap.fill(head, 55), loc="left")
            date = sts[0].date
            ax.set_xlabel(tr("axis.value_at", lang, date=fmt_month(date, lang)))
            tx.set_ylim(ax.get_ylim())
            tx.set_xlim(0, 1)
            tx.axis("off")
        _draw.title(fig, tr("title.dashboard", lang))
        handles = _draw.point_range_handles(lang, filled_note=True)
        handles.append(Line2D([], [], color=_draw.TARGET_COLOUR, linestyle="--", linewidth=0.9,
                              label=tr("legend.target_short", lang)))
        _draw.legend(fig, handles, ncols=3)
    return fig
