"""The tidy results table of an experiment and its summary over runs (summary.csv)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from diffusion.experiments.outcomes import (
    NEAR_TARGET,
    Outcome,
    additional_adopters,
    censored_median,
    check_near,
    cost_per_additional,
    summary_outcomes,
    target_months,
)
from diffusion.foundation.sources import targets as default_targets

KEYS: tuple[str, ...] = ("scenario", "replicate", "design_point")
COLUMNS = ["scenario", "outcome", "reference", "median", "p05", "p95", "mean", "runs", "date"]


def assemble(frames: Sequence[pd.DataFrame], scenarios: Sequence[str] | None = None) -> pd.DataFrame | None:
    """Stack task tables into the tidy long table, sorted by scenario (config order), design point,
    replicate and month (rows within a month, such as hamlets, keep their order). Lever columns (names
    with a dot) missing for a scenario are filled with 0.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    ts = pd.concat(frames, ignore_index=True)
    lever_cols = [c for c in ts.columns if "." in c]
    if lever_cols:
        ts[lever_cols] = ts[lever_cols].fillna(0.0)
    order = {s: i for i, s in enumerate(scenarios or sorted(ts["scenario"].unique()))}
    key = ts["scenario"].map(order).fillna(len(order)).astype(np.int64)
    ts = ts.assign(_order=key).sort_values(["_order", "design_point", "replicate", "month"], kind="stable")
    return ts.drop(columns="_order").reset_index(drop=True)


def quantiles(values, discrete: bool = False) -> tuple[float, float, float, float, int]:
    """(median, 5th and 95th percentile, mean, runs with a value) of one outcome's values over runs.

    ``discrete`` (months reached): a run without a value did not reach the level within the run (it is
    right-censored at the run's end) and counts as beyond every month; quantiles are observed months. The
    median is given only when more than half of the runs reach the level, a percentile only when it falls on
    a run that reaches it, and the mean only when every run does (the mean of censored months is unknown);
    otherwise they are empty (NaN), which reads "not reached by the end of the run". ``runs`` counts all
    runs; the share reaching it is the outcome ``reached.<target>`` (``near_reached.<target>``).
    """
    v = np.asarray(values, dtype=float)
    if discrete:
        n = v.size
        if n == 0:
            return (np.nan,) * 4 + (0,)  # type: ignore[return-value]
        w = np.where(np.isnan(v), np.inf, v)
        q = np.quantile(w, [0.05, 0.95], method="inverted_cdf")
        q = np.where(np.isinf(q), np.nan, q)
        med = censored_median(v)[0]
        mean = float(v.mean()) if not np.isnan(v).any() else np.nan
        return med, float(q[0]), float(q[1]), mean, n
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (np.nan,) * 4 + (0,)  # type: ignore[return-value]
    q = np.quantile(v, [0.5, 0.05, 0.95])
    return float(q[0]), float(q[1]), float(q[2]), float(v.mean()), int(v.size)


class _Runs:
    """The tables one scenario's outcomes are computed from, indexed by run (replicate, design point)."""

    def __init__(self, ts: pd.DataFrame, reference: str | None, near: float = NEAR_TARGET):
        self.ts = ts
        self.keys = [k for k in ("replicate", "design_point") if k in ts.columns]
        last = ts["month"] == ts.groupby(list(KEYS))["month"].transform("max")
        self.final = ts[last]
        self.targets = target_months(ts, default_targets(), near)
        self.reference = reference

    def by_run(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.set_index(self.keys).sort_index()

    def at(self, scn: str, date: str) -> pd.DataFrame:
        return self.ts[(self.ts["scenario"] == scn) & (self.ts["date"] == date)]

    def reached(self, scn: str, target: str) -> pd.DataFrame:
        tm = self.targets
        return tm[(tm["scenario"] == scn) & (tm["target"] == target)] if len(tm) else tm


def _values(o: Outcome, scn: str, runs: _Runs, f: pd.DataFrame, pair: dict[str, Any]) -> Any:
    """The values of outcome ``o`` for scenario ``scn`` over its runs (``f``: its final months by run)."""
    ref = runs.reference
    if o.kind == "final":
        return f[o.metric]
    if o.kind == "at":
        return runs.at(scn, o.date)[o.metric]
    if o.kind == "month_reached":
        return runs.reached(scn, o.target)["month_reached"]
    if o.kind == "reached":
        return runs.reached(scn, o.target)["reached"].astype(float)
    if o.kind == "near_month_reached":
        return runs.reached(scn, o.target)["near_month_reached"]
    if o.kind == "near_reached":
        return runs.reached(scn, o.target)["near_reached"].astype(float)
    if o.kind == "shortfall":  # none without the count of the target's unit in the results
        short = runs.reached(scn, o.target)["shortfall"]
        return short if short.notna().any() else None
    if o.kind == "total_cost":
        return f["cum_cost_total"]
    if o.kind == "diff_final":
        return f[o.metric] - runs.by_run(runs.final[runs.final["scenario"] == ref]).reindex(f.index)[o.metric]
    if o.kind == "diff_at":
        a = runs.by_run(runs.at(scn, o.date))
        return a[o.metric] - runs.by_run(runs.at(ref, o.date)).reindex(a.index)[o.metric]
    if o.kind == "months_earlier":
        if runs.reached(scn, o.target).empty:
            return None
        a = runs.reached(scn, o.target).set_index(runs.keys)["month_reached"]
        b = runs.reached(ref, o.target).set_index(runs.keys)["month_reached"]
        return b.reindex(a.index) - a if len(a) else None
    if "extra" not in pair:  # additional adopters and cost, against the reference at the end of the runs
        both = runs.final[runs.final["scenario"].isin([scn, ref])]
        extra = additional_adopters(both, ref)
        pair.update(both=both, extra=runs.by_run(extra[extra["scenario"] == scn]))
    if o.kind == "additional":
        return pair["extra"][f"additional_{o.indicator}"]
    if o.kind == "additional_cost":
        return pair["extra"]["additional_cost_vnd"]
    cpa = cost_per_additional(pair["both"], ref, indicator=o.indicator)
    return cpa.loc[cpa["scenario"] == scn, "cost_per_additional_vnd"]


def summarise(
    ts: pd.DataFrame,
    *,
    reference: str | None = None,
    metrics: Sequence[str] = ("share_smartphone", "share_internet"),
    scenarios: Sequence[str] | None = None,
    near: float = NEAR_TARGET,
) -> pd.DataFrame:
    """Outcomes per scenario with intervals over runs (replicates x design points).

    The outcomes and their order are ``outcomes.summary_outcomes``: each metric in the last month and at the
    target dates inside the run, the month each target and near-target (``near`` of its share, ``[outputs]
    near_target``) is first reached and the share of runs reaching it, the shortfall at each deadline inside
    the run (households, working-age people or people still short), total spending; against the reference
    (paired on replicate and design point): differences, months earlier, additional households, additional
    spending and the cost per additional adopting household. Months reached are censored at the end of the
    run: see ``quantiles``.

    Returns:
        Columns scenario, outcome, reference (the scenario compared with, or empty), median, p05, p95
        (5th and 95th percentiles), mean, runs (runs with a value; for months reached, every run), date
        (months reached: the median as "YYYY-MM"; empty when not more than half of the runs reach it).
    """
    scenarios = list(scenarios) if scenarios is not None else list(dict.fromkeys(ts["scenario"]))
    metrics = [m for m in metrics if m in ts.columns]
    near = check_near(near)
    runs = _Runs(ts, reference, near)
    dates = sorted({t.by for t in default_targets() if (ts["date"] == t.by).any()})
    targets = tuple(t for t in default_targets() if t.metric in ts.columns)
    own, vs = summary_outcomes(metrics, dates, targets, near)
    month_of = dict(zip(ts["month"], ts["date"]))
    compare = reference is not None and reference in set(runs.final["scenario"])
    rows: list[dict[str, Any]] = []
    for scn in scenarios:
        f = runs.by_run(runs.final[runs.final["scenario"] == scn])
        if f.empty:
            continue
        pair: dict[str, Any] = {}
        for o in own + (vs if compare and scn != reference else []):
            if o.target and not o.compared and runs.reached(scn, o.target).empty:
                continue
            values = _values(o, scn, runs, f, pair)
            if values is None:
                continue
            med, p05, p95, mean, n = quantiles(np.asarray(values, dtype=float), o.discrete)
            rows.append({"scenario": scn, "outcome": o.name, "reference": reference if o.compared else "",
                         "median": med, "p05": p05, "p95": p95, "mean": mean, "runs": n,
                         "date": month_of.get(int(med)) if o.discrete and not np.isnan(med) else None})
    return pd.DataFrame(rows, columns=COLUMNS)
