"""Outcomes: what summary.csv reports, as objects that carry their name, unit, label (English and
Vietnamese) and how they are summarised over runs; and the derived measures behind them (additional
adopters against a reference scenario, cost per additional adopting household, the month a target is
reached).

``summary_outcomes`` lists the outcomes of a results table in summary.csv's order; ``summarise``
(``experiments.summary``) computes them and the report and charts look each up by name to label and
format it, never parsing a name. Comparisons with the reference pair rows with the same replicate and
design point: the runs share their random numbers (common random numbers), so the difference is the
policy's effect, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import Target
from diffusion.foundation.sources import targets as default_targets
from diffusion.foundation.strings import fmt_month, metric_label, tr
from diffusion.model.products import INDICATORS

KEYS = ["replicate", "design_point", "month"]

#: Units of outcomes: a share 0..1, a difference of shares, households, VND, VND per household, a month
#: index, a number of months, a share of runs.
UNITS: tuple[str, ...] = ("share", "share_difference", "households", "vnd", "vnd_per_household", "month", "months",
                          "share_of_runs")


@dataclass(frozen=True)
class Outcome:
    """One outcome of summary.csv.

    Attributes:
        name: its key in summary.csv (``"2025-12.share_internet"``, ``"cost_per_additional_vnd.internet"``).
        kind: how it is computed (``experiments.summary``): final, at, month_reached, reached, total_cost,
            diff_final, diff_at, months_earlier, additional, additional_cost, cost_per_additional.
        unit: one of UNITS.
        metric, date, target, indicator: what it is about (those its kind uses).
        compared: it compares a scenario with the reference.
    """

    name: str
    kind: str
    unit: str
    metric: str = ""
    date: str = ""
    target: str = ""
    indicator: str = ""
    compared: bool = False

    @property
    def discrete(self) -> bool:
        """Months reached: a run that never reaches the target counts as beyond every month."""
        return self.kind == "month_reached"

    def label(self, lang: str = "en", last_date: str | None = None) -> str:
        """A readable label in ``lang`` (``last_date``: the last month of the runs, for end-of-run outcomes)."""
        end = fmt_month(last_date, lang) if last_date else ""
        return tr(f"outcome.{self.kind}", lang, metric=metric_label(self.metric, lang, short=True),
                  date=fmt_month(self.date, lang) if self.date else end, target=_target_label(self.target, lang),
                  indicator=metric_label(f"share_{self.indicator}", lang, short=True))


def _target_label(key: str, lang: str) -> str:
    for t in default_targets():
        if t.target == key:
            return t.label(lang)
    return key


def summary_outcomes(metrics, dates, targets: tuple[Target, ...]) -> tuple[list[Outcome], list[Outcome]]:
    """The outcomes of summary.csv in its order: those of every scenario, and those against the reference.

    Args:
        metrics: the monthly metrics summarised; dates: the target dates inside the run; targets: the targets
            whose metric the results have.
    """
    own = [Outcome(f"final.{m}", "final", "share", metric=m) for m in metrics]
    own += [Outcome(f"{d}.{m}", "at", "share", metric=m, date=d) for d in dates for m in metrics]
    for tg in targets:
        own.append(Outcome(f"month_reached.{tg.target}", "month_reached", "month", metric=tg.metric, target=tg.target))
        own.append(Outcome(f"reached.{tg.target}", "reached", "share_of_runs", metric=tg.metric, target=tg.target))
    own.append(Outcome("total_cost_vnd", "total_cost", "vnd"))
    vs = [Outcome(f"diff.final.{m}", "diff_final", "share_difference", metric=m, compared=True) for m in metrics]
    vs += [Outcome(f"diff.{d}.{m}", "diff_at", "share_difference", metric=m, date=d, compared=True)
           for d in dates for m in metrics]
    vs += [Outcome(f"months_earlier.{tg.target}", "months_earlier", "months", metric=tg.metric, target=tg.target,
                   compared=True) for tg in targets]
    vs += [Outcome(f"additional_households.{i}", "additional", "households", indicator=i, compared=True)
           for i in INDICATORS]
    vs.append(Outcome("additional_cost_vnd", "additional_cost", "vnd", compared=True))
    vs += [Outcome(f"cost_per_additional_vnd.{i}", "cost_per_additional", "vnd_per_household", indicator=i,
                   compared=True) for i in INDICATORS]
    return own, vs


def outcome_catalogue(metrics, dates, targets: tuple[Target, ...] | None = None) -> dict[str, Outcome]:
    """Every outcome summary.csv may hold for these metrics and dates, by name."""
    own, vs = summary_outcomes(metrics, dates, default_targets() if targets is None else targets)
    return {o.name: o for o in own + vs}


def _keys(df: pd.DataFrame) -> list[str]:
    return [k for k in KEYS if k in df.columns]


def _check_reference(df: pd.DataFrame, reference: str) -> None:
    if "scenario" not in df.columns:
        raise ParameterError("scenario", None, "a results table with a 'scenario' column")
    names = sorted(df["scenario"].unique())
    if reference not in names:
        raise ParameterError("reference", reference, f"one of the scenarios {names}")


def additional_adopters(df: pd.DataFrame, reference: str, indicators=INDICATORS) -> pd.DataFrame:
    """Households using each indicator's product beyond the reference, per scenario, run and month.

    Returns the key columns, ``scenario`` and ``additional_<indicator>`` (households) and
    ``additional_cost_vnd`` (cumulative spending beyond the reference, VND).
    """
    _check_reference(df, reference)
    keys = _keys(df)
    ref = df[df["scenario"] == reference].set_index(keys)
    out = []
    for scn, g in df.groupby("scenario", sort=False):
        g = g.set_index(keys)
        r = ref.reindex(g.index)
        res = pd.DataFrame(index=g.index)
        res["scenario"] = scn
        for ind in indicators:
            res[f"additional_{ind}"] = (g[f"share_{ind}"] - r[f"share_{ind}"]) * g["households"]
        res["additional_cost_vnd"] = g["cum_cost_total"] - r["cum_cost_total"]
        out.append(res.reset_index())
    return pd.concat(out, ignore_index=True)


def cost_per_additional(df: pd.DataFrame, reference: str, indicator: str = "internet",
                        month: int | None = None) -> pd.DataFrame:
    """Cost per additional adopting household at ``month`` (default: the last), per scenario and run.

    cost = (cumulative spending - reference's) / (households using - reference's). Where the scenario
    adds no adopter the cost is NaN (not infinite), so that medians stay meaningful.
    """
    if f"share_{indicator}" not in df.columns:
        raise ParameterError("indicator", indicator, f"one of {INDICATORS}")
    add = additional_adopters(df, reference, (indicator,))
    month = int(add["month"].max()) if month is None else int(month)
    at = add[add["month"] == month].copy()
    extra = at[f"additional_{indicator}"]
    at["cost_per_additional_vnd"] = np.where(extra > 0, at["additional_cost_vnd"] / extra.where(extra > 0), np.nan)
    return at


def target_months(df: pd.DataFrame, targets: tuple[Target, ...] | None = None) -> pd.DataFrame:
    """For each run and target: the first month (index and date) the target share is reached, the value
    at the target date and whether it is met by then. NaN/None where never reached in the run.
    """
    targets = default_targets() if targets is None else targets
    group_cols = [c for c in ("scenario", "replicate", "design_point") if c in df.columns]
    rows = []
    for key, g in df.groupby(group_cols, sort=False) if group_cols else [((), df)]:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values("month")
        for tg in targets:
            if tg.metric not in g.columns:
                continue
            vals = g[tg.metric].to_numpy()
            hit = np.flatnonzero(vals >= tg.share - 1e-12)
            at_date = g.loc[g["date"] == tg.by, tg.metric]
            value = float(at_date.iloc[0]) if len(at_date) else float("nan")
            row = dict(zip(group_cols, key))
            row.update(
                target=tg.target,
                metric=tg.metric,
                share=tg.share,
                by=tg.by,
                month_reached=int(g["month"].iloc[hit[0]]) if hit.size else np.nan,
                date_reached=g["date"].iloc[hit[0]] if hit.size else None,
                value_at_target_date=value,
                met=bool(value >= tg.share - 1e-12) if len(at_date) else None,
            )
            rows.append(row)
    return pd.DataFrame(rows)
