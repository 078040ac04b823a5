"""summary.csv in the report: its rows, each outcome's label and its values as text in the outcome's unit.

Each row's outcome is looked up by name among the outcomes the results describe (``Results.outcomes``:
``experiments.outcomes.Outcome`` objects with their kind, unit and label); nothing is read from the name
itself. An outcome the results do not describe is labelled with its name and shown as a plain number.

Targets (``target_sentence``, ``target_cells``): per scenario and target, the households or people still
short of it at the deadline (median and range over runs), the month the near-target and the target are
reached (median), or "not reached by <last month of the runs>": a month that was not reached is never
written as a number or left undefined.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from diffusion.experiments.outcomes import (
    NEAR_TARGET,
    Outcome,
    outcome_catalogue,
    when_reached,
)
from diffusion.foundation import sources
from diffusion.foundation.strings import fmt_month, fmt_number, fmt_pct, tr, unit_label
from diffusion.presentation.charts.targets import TargetStatus
from diffusion.presentation.charts.view import ResultsView


def summary_long(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv as one row per scenario and outcome: scenario, outcome, median, p5, p95, mean, date.

    Reads the long format of the experiment layer (scenario, outcome, median, p05|p5, p95, [mean, date,
    ...]; its other columns, such as ``reference`` and design values, are kept after these) and a wide one
    (scenario, <outcome>_median, <outcome>_p5|_p05, <outcome>_p95); empty if neither.
    """
    cols = ["scenario", "outcome", "median", "p5", "p95", "mean", "date"]
    if {"scenario", "outcome", "median"} <= set(summary.columns):
        out = pd.DataFrame({
            "scenario": summary["scenario"].astype(str), "outcome": summary["outcome"].astype(str),
            "median": pd.to_numeric(summary["median"], errors="coerce"),
            "p5": pd.to_numeric(summary.get("p05", summary.get("p5", np.nan)), errors="coerce"),
            "p95": pd.to_numeric(summary.get("p95", np.nan), errors="coerce"),
            "mean": pd.to_numeric(summary.get("mean", np.nan), errors="coerce"),
            "date": summary.get("date", pd.Series([None] * len(summary))).where(lambda d: d.notna(), None),
        })
        # what the row is compared with, and any design columns (``answer.design_columns``), kept as they are
        ref = summary["reference"] if "reference" in summary.columns else pd.Series([""] * len(summary))
        out["reference"] = ref.astype(object).where(ref.notna(), "").astype(str).to_numpy()
        extra = [c for c in summary.columns if c not in out.columns and c not in ("p05", "p5")]
        for c in extra:
            out[c] = summary[c].to_numpy()
        return out[cols + ["reference"] + extra].reset_index(drop=True)
    if "scenario" in summary.columns:
        outcomes = [c[: -len("_median")] for c in summary.columns if c.endswith("_median")]
        rows = []
        for _, r in summary.iterrows():
            for o in outcomes:
                low = r.get(f"{o}_p05", r.get(f"{o}_p5", np.nan))
                high = r.get(f"{o}_p95", np.nan)
                rows.append([str(r["scenario"]), o, float(r[f"{o}_median"]), float(low), float(high), np.nan, None,
                             ""])
        return pd.DataFrame(rows, columns=cols + ["reference"])
    return pd.DataFrame(columns=cols + ["reference"])


def summary_rows(summary: pd.DataFrame) -> list[tuple[str, str, float, float, float]]:
    """(scenario, outcome, median, p5, p95) of every row of summary.csv (see ``summary_long``)."""
    long = summary_long(summary)
    return [(r.scenario, r.outcome, float(r.median), float(r.p5), float(r.p95)) for r in long.itertuples()]


def known_outcomes(view: ResultsView) -> dict[str, Outcome]:
    """The outcomes the results describe, by name: ``Results.outcomes`` (from the config's metrics) and those
    of every share column of the time series (for a stored config that no longer validates)."""
    ts = view.timeseries
    extra: dict[str, Outcome] = {}
    if ts is not None:
        metrics = [c for c in ts.columns if c.startswith("share_")]
        present = set(ts["date"])
        extra = outcome_catalogue(metrics, sorted({t.by for t in sources.targets() if t.by in present}),
                                  near=near_target(view))
    return {**extra, **view.results.outcomes}


def near_target(view: ResultsView) -> float:
    """The near-target level of the results: ``[outputs] near_target`` of the config (default 0.99)."""
    return view.config.outputs.near_target if view.config is not None else NEAR_TARGET


def outcome_label(name: str, outcomes: dict[str, Outcome], lang: str, last_date: str | None = None) -> str:
    """A readable label of a summary.csv outcome (its name when the results do not describe it)."""
    o = outcomes.get(name)
    return o.label(lang, last_date) if o is not None else name


def _plain(value: float, lang: str) -> str:
    """A number of an outcome the results do not describe."""
    if abs(value) >= 100 or float(value).is_integer():
        return fmt_number(value, lang, 0)
    return fmt_number(value, lang, 2 if abs(value) < 1 else 1)


def _points(value: float, lang: str) -> str:
    return ("+" if value > 0 else "") + fmt_number(100 * value, lang, 1) + " " + tr("word.pp", lang)


#: How a value is written, by the outcome's unit (``experiments.outcomes.UNITS``; "month" and
#: "share_of_runs" are written by ``outcome_values`` itself).
FORMATS: dict[str, Callable[[float, str], str]] = {
    "share": lambda v, lang: fmt_pct(v, lang, 1),
    "share_difference": _points,
    "households": lambda v, lang: fmt_number(v, lang, 0),
    "vnd": lambda v, lang: fmt_number(v, lang, 0),
    "vnd_per_household": lambda v, lang: fmt_number(v, lang, 0),
    "months": lambda v, lang: fmt_number(v, lang, 1),
    "working_age_people": lambda v, lang: fmt_number(v, lang, 0),
    "people": lambda v, lang: fmt_number(v, lang, 0),
}


def _month_values(row, lang: str, month_dates: dict[int, str]) -> tuple[str, str]:
    """A month reached: the median month (as summary.csv dates it) and the interval; "not reached by <last
    month of the runs>" where summary.csv leaves them empty (not reached in enough runs, see
    ``experiments.summary.quantiles``)."""
    end = month_dates[max(month_dates)] if month_dates else ""

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return tr("target.not_reached", lang, end=fmt_month(end, lang)) if end else tr("word.never", lang)
        return fmt_month(month_dates.get(int(v), str(int(v))), lang)

    text = fmt_month(row.date, lang) if isinstance(row.date, str) and row.date else fmt(row.median)
    if not (np.isfinite(row.p5) or np.isfinite(row.p95)):
        return text, "–"
    return text, f"{fmt(row.p5)} – {fmt(row.p95)}"


def outcome_values(row, outcome: Outcome | None, lang: str, month_dates: dict[int, str]) -> tuple[str, str]:
    """(median, 5–95% interval) of a ``summary_long`` row as text, in the unit of its ``outcome``."""
    unit = outcome.unit if outcome is not None else None
    if unit == "month":
        return _month_values(row, lang, month_dates)
    if unit == "share_of_runs":
        share = row.mean if np.isfinite(row.mean) else row.median
        return tr("word.of_runs", lang, pct=fmt_pct(share, lang, 0)), "–"
    fmt = FORMATS.get(unit, _plain)
    med, lo, hi = row.median, row.p5, row.p95
    text = fmt(med, lang) if np.isfinite(med) else "–"
    return text, (f"{fmt(lo, lang)} – {fmt(hi, lang)}" if np.isfinite(lo) and np.isfinite(hi) else "–")


# ------------------------------------------------------------------------------------ targets
def _short_text(s: TargetStatus, lang: str) -> str:
    """Who is still short of the target at its deadline, over the runs, in words."""
    if not s.in_run:
        return tr("target.short_after", lang, date=fmt_month(s.date, lang))
    if s.shortfall is None or s.unit is None:
        return tr("target.short_unknown", lang, metric=s.target.metric)
    unit = unit_label(s.unit, lang)
    sf = s.shortfall
    if sf["max"] <= 0:
        return tr("target.short_none", lang, date=fmt_month(s.date, lang), n=s.runs, unit=unit)
    if sf["max"] == sf["min"]:
        return tr("target.short_same", lang, median=fmt_number(sf["p50"], lang, 0), unit=unit,
                           date=fmt_month(s.date, lang), n=s.runs)
    return tr("target.short", lang, median=fmt_number(sf["p50"], lang, 0), unit=unit,
                       date=fmt_month(s.date, lang), n=s.runs, low=fmt_number(sf["min"], lang, 0),
                       high=fmt_number(sf["max"], lang, 0))


def target_cells(s: TargetStatus, lang: str) -> dict[str, str]:
    """The text of one scenario's standing against one target: ``short`` (the shortfall at the deadline:
    median and range over runs, or why there is none), ``unit``, ``near_when`` and ``when`` (the median month
    the near-target and the target are reached, or "not reached by <last month>" with the runs that do not
    reach it)."""
    short = "–"
    if s.in_run and s.shortfall is not None:
        sf = s.shortfall
        short = fmt_number(sf["p50"], lang, 0)
        if sf["max"] > sf["min"]:
            short += f" ({fmt_number(sf['min'], lang, 0)}–{fmt_number(sf['max'], lang, 0)})"
    elif not s.in_run:
        short = tr("note.run_ends", lang, date=fmt_month(s.date, lang))
    return {
        "short": short,
        "unit": unit_label(s.unit, lang) if s.unit else "–",
        "near_when": when_reached(s.near_reached, s.near_runs, s.runs, s.last_date, lang),
        "when": when_reached(s.reached, s.reached_runs, s.runs, s.last_date, lang),
    }


def _pct_exact(share: float, lang: str) -> str:
    """A share as a percentage with as few decimals (up to 2) as it needs: 99%, 94.05%."""
    pct = 100.0 * share
    decimals = next((d for d in (0, 1) if abs(round(pct, d) - pct) < 1e-9), 2)
    return fmt_pct(share, lang, decimals)


def target_sentence(s: TargetStatus, lang: str) -> str:
    """One scenario's standing against one target in a few plain sentences: the shortfall at the deadline,
    when the near-target and the target are reached, or "not reached by <last month of the runs>"."""
    label = s.target.label(lang)
    return tr("target.sentence", lang, target=label[:1].upper() + label[1:],
                       share=fmt_pct(s.target.share, lang), by=fmt_month(s.target.by, lang),
                       short=_short_text(s, lang), near=fmt_pct(s.near, lang),
                       near_share=_pct_exact(s.near * s.target.share, lang),
                       near_when=when_reached(s.near_reached, s.near_runs, s.runs, s.last_date, lang, verb=True),
                       when=when_reached(s.reached, s.reached_runs, s.runs, s.last_date, lang, verb=True))
