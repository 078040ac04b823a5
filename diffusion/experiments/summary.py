"""The tidy results table of an experiment and its summary over runs (summary.csv)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from diffusion.experiments.outcomes import (
    NEAR_TARGET,
    Bootstrap,
    Outcome,
    additional_adopters,
    censored_median,
    check_near,
    deadweight,
    effect_note,
    incremental_cost,
    lever_outcomes,
    summary_outcomes,
    target_months,
)
from diffusion.foundation.sources import targets as default_targets

KEYS: tuple[str, ...] = ("scenario", "replicate", "design_point")
COLUMNS = ["scenario", "outcome", "reference", "median", "p05", "p95", "mean", "runs", "date", "mean_p05", "mean_p95",
           "note"]
#: Compared outcomes whose mean's bootstrap interval says whether the scenario has a measurable effect (``note``).
EFFECT_KINDS = ("diff_final", "diff_at", "additional", "additional_eligible")


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
    """The tables one group of runs' outcomes are computed from (the runs of one design setting), indexed by run
    (replicate, design point)."""

    def __init__(self, ts: pd.DataFrame, near: float = NEAR_TARGET):
        self.ts = ts
        self.keys = [k for k in ("replicate", "design_point") if k in ts.columns]
        last = ts["month"] == ts.groupby(list(KEYS))["month"].transform("max")
        self.final = ts[last]
        self.targets = target_months(ts, default_targets(), near)

    def by_run(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.set_index(self.keys).sort_index()

    def final_of(self, scn: str) -> pd.DataFrame:
        return self.by_run(self.final[self.final["scenario"] == scn])

    def at(self, scn: str, date: str) -> pd.DataFrame:
        return self.ts[(self.ts["scenario"] == scn) & (self.ts["date"] == date)]

    def reached(self, scn: str, target: str) -> pd.DataFrame:
        tm = self.targets
        return tm[(tm["scenario"] == scn) & (tm["target"] == target)] if len(tm) else tm

    def total(self, scn: str, column: str) -> pd.Series:
        """A monthly column summed over each run's months (a lever's payments), by run."""
        own = self.ts[self.ts["scenario"] == scn]
        return own.groupby(self.keys)[column].sum().sort_index()


def _own(o: Outcome, scn: str, runs: _Runs, f: pd.DataFrame) -> Any:
    """The values of an outcome of scenario ``scn`` alone over its runs (``f``: its final months by run)."""
    if o.kind == "final":
        return f[o.metric]
    if o.kind == "at":
        return runs.at(scn, o.date)[o.metric]
    if o.kind in ("month_reached", "near_month_reached"):
        return runs.reached(scn, o.target)[o.kind]
    if o.kind in ("reached", "near_reached"):
        return runs.reached(scn, o.target)[o.kind].astype(float)
    if o.kind == "shortfall":  # none without the count of the target's unit in the results
        short = runs.reached(scn, o.target)["shortfall"]
        return short if short.notna().any() else None
    if o.kind == "total_cost":
        return f["cum_cost_total"]
    if o.kind == "eligible_final":
        size = f[f"{o.lever}.eligible_households"]
        return (f[f"{o.lever}.eligible_{o.indicator}"] / size.where(size > 0)).dropna()
    if o.kind == "payments":
        return runs.total(scn, f"{o.lever}.payments")
    raise ValueError(f"unknown outcome kind {o.kind!r}")


def _compared(o: Outcome, scn: str, ref: str, runs: _Runs, f: pd.DataFrame, pair: dict[str, Any]) -> Any:
    """The values of a compared outcome of ``scn`` against ``ref`` over paired runs (same replicate and design
    point); ``pair`` caches what several outcomes of the pair share."""
    if o.kind == "diff_final":
        return f[o.metric] - runs.final_of(ref).reindex(f.index)[o.metric]
    if o.kind == "diff_at":
        a = runs.by_run(runs.at(scn, o.date))
        return a[o.metric] - runs.by_run(runs.at(ref, o.date)).reindex(a.index)[o.metric]
    if o.kind == "months_earlier":
        if runs.reached(scn, o.target).empty:
            return None
        a = runs.reached(scn, o.target).set_index(runs.keys)["month_reached"]
        b = runs.reached(ref, o.target).set_index(runs.keys)["month_reached"]
        return b.reindex(a.index) - a if len(a) else None
    if o.kind in ("additional_eligible", "deadweight", "deadweight_vnd"):
        col = f"{o.lever}.eligible_{o.indicator or 'smartphone'}"
        extra = f[col] - runs.final_of(ref).reindex(f.index)[col]
        if o.kind == "additional_eligible":
            return extra
        paid = runs.total(scn, f"{o.lever}.payments").reindex(f.index)
        dw = pd.Series(deadweight(paid, extra), index=f.index)
        if o.kind == "deadweight":
            return dw
        vnd = runs.total(scn, f"{o.lever}.paid_vnd").reindex(f.index)
        return dw * (vnd / paid.where(paid > 0)).fillna(0.0)
    if o.kind == "additional":
        return _extra(scn, ref, runs, pair)[f"additional_{o.indicator}"]
    if o.kind == "additional_cost":
        return _extra(scn, ref, runs, pair)["additional_cost_vnd"]
    raise ValueError(f"unknown outcome kind {o.kind!r}")


def _extra(scn: str, ref: str, runs: _Runs, pair: dict[str, Any]) -> pd.DataFrame:
    """Additional households and spending of ``scn`` against ``ref`` at the end of the runs, by run (cached)."""
    if "extra" not in pair:
        both = runs.final[runs.final["scenario"].isin([scn, ref])]
        extra = additional_adopters(both, ref)
        pair["extra"] = runs.by_run(extra[extra["scenario"] == scn])
    return pair["extra"]


def _row(o: Outcome, scn: str, ref: str, values, boot: Bootstrap, month_of: dict) -> dict[str, Any]:
    """One row of summary.csv from an outcome's values over runs."""
    v = np.asarray(values, dtype=float)
    med, p05, p95, mean, n = quantiles(v, o.discrete)
    row = {"scenario": scn, "outcome": o.name, "reference": ref, "median": med, "p05": p05, "p95": p95,
           "mean": mean, "runs": n, "date": month_of.get(int(med)) if o.discrete and not np.isnan(med) else None,
           "mean_p05": np.nan, "mean_p95": np.nan, "note": ""}
    if o.compared and not o.discrete:
        lo, hi = boot.mean_interval(v[~np.isnan(v)])
        row.update(mean_p05=lo, mean_p95=hi, note=effect_note(lo, hi) if o.kind in EFFECT_KINDS else "")
    return row


def _cost_row(o: Outcome, scn: str, ref: str, extra: pd.DataFrame, boot: Bootstrap) -> dict[str, Any]:
    """The row of a cost per additional household: the ratio of means over all paired runs (``incremental_cost``):
    median and mean hold the ratio, p05, p95 (and mean_p05, mean_p95) its bootstrap interval."""
    ce = incremental_cost(extra["additional_cost_vnd"], extra[f"additional_{o.indicator}"], boot)
    return {"scenario": scn, "outcome": o.name, "reference": ref, "median": ce["value"], "p05": ce["low"],
            "p95": ce["high"], "mean": ce["value"], "runs": ce["runs"], "date": None, "mean_p05": ce["low"],
            "mean_p95": ce["high"], "note": ce["note"]}


def _group_rows(ts: pd.DataFrame, scenarios: list[str], pairs: list[tuple[str, str]], metrics: list[str],
                near: float, boot: Bootstrap, reference: str | None) -> list[dict[str, Any]]:
    """The rows of summary.csv for one group of runs (one design setting): each scenario's own outcomes, then
    its comparisons (``pairs``: (scenario, compared with); deadweight only against the reference, the
    scenario without the payments)."""
    runs = _Runs(ts, near)
    dates = sorted({t.by for t in default_targets() if (ts["date"] == t.by).any()})
    targets = tuple(t for t in default_targets() if t.metric in ts.columns)
    groups, payers = lever_outcomes(ts.columns)
    groups = [g for g in groups if ts[f"{g}.eligible_households"].max() > 0]  # 0: the group is everyone
    own, vs = summary_outcomes(metrics, dates, targets, near, groups, [p for p in payers if p in groups])
    month_of = dict(zip(ts["month"], ts["date"]))
    present = set(runs.final["scenario"])
    rows: list[dict[str, Any]] = []
    for scn in scenarios:
        f = runs.final_of(scn)
        if f.empty:
            continue
        for o in own:
            if o.target and runs.reached(scn, o.target).empty:
                continue
            values = _own(o, scn, runs, f)
            if values is not None:
                rows.append(_row(o, scn, "", values, boot, month_of))
        for a, ref in pairs:
            if a != scn or ref not in present:
                continue
            pair: dict[str, Any] = {}
            for o in vs:
                if o.kind in ("deadweight", "deadweight_vnd") and ref != reference:
                    continue
                if o.kind == "cost_per_additional":
                    rows.append(_cost_row(o, scn, ref, _extra(scn, ref, runs, pair), boot))
                    continue
                values = _compared(o, scn, ref, runs, f, pair)
                if values is not None:
                    rows.append(_row(o, scn, ref, values, boot, month_of))
    return rows


def summarise(
    ts: pd.DataFrame,
    *,
    reference: str | None = None,
    metrics: Sequence[str] = ("share_smartphone", "share_internet"),
    scenarios: Sequence[str] | None = None,
    near: float = NEAR_TARGET,
    compare: Sequence[Sequence[str]] = (),
    design: pd.DataFrame | None = None,
    by: Sequence[str] = (),
    seed: int = 0,
) -> pd.DataFrame:
    """Outcomes per scenario (and design setting) with intervals over runs (replicates x design points).

    The outcomes and their order are ``outcomes.summary_outcomes``: each metric in the last month and at the
    target dates inside the run, the month each target and near-target (``near`` of its share, ``[outputs]
    near_target``) is first reached and the share of runs reaching it, the shortfall at each deadline inside
    the run (households, working-age people or people still short), total spending, the share of each lever's
    eligible group using each product and a subsidy's payments; against the reference and in each pair of
    ``compare`` (paired on replicate and design point): differences, months earlier, additional households
    (also of each lever's eligible group), additional spending, the cost per additional adopting household
    (a ratio of means over all paired runs: ``outcomes.incremental_cost``) and a subsidy's deadweight. Months
    reached are censored at the end of the run: see ``quantiles``.

    Args:
        compare: pairs [scenario, scenario compared with] besides every scenario against the reference.
        design: the design table (design_point and one column per uncertainty); with ``by``, the design columns
            whose values are summarised apart (a sweep): one set of rows per combination of their values, the
            other columns pooled over.
        seed: the experiment's root seed (the bootstrap's stream: ``outcomes.Bootstrap``).

    Returns:
        Columns scenario, the ``by`` columns (the design values), outcome, reference (the scenario compared
        with, or empty), median, p05, p95 (5th and 95th percentiles), mean, runs (runs with a value; for months
        reached, every run), date (months reached: the median as "YYYY-MM"; empty when not more than half of the
        runs reach it), mean_p05 and mean_p95 (compared outcomes: the 90% bootstrap interval of the mean), note
        ("no_measurable_effect" where that interval of a difference or of additional households includes zero,
        "fewer_adopters" where it is below zero). A cost per additional household holds the ratio of means in
        median and mean and its bootstrap interval in p05 and p95, and none where the additional households show
        no measurable effect.
    """
    scenarios = list(scenarios) if scenarios is not None else list(dict.fromkeys(ts["scenario"]))
    metrics = [m for m in metrics if m in ts.columns]
    near = check_near(near)
    pairs = [(s, reference) for s in scenarios if reference is not None and s != reference]
    pairs += [(str(a), str(b)) for a, b in compare if (str(a), str(b)) not in pairs]
    boot = Bootstrap(seed)
    by = [c for c in by if design is not None and c in design.columns]
    if not by:
        return pd.DataFrame(_group_rows(ts, scenarios, pairs, metrics, near, boot, reference), columns=COLUMNS)
    values = design.set_index("design_point")[by]
    ts = ts.join(values, on="design_point")
    frames = []
    for key, g in ts.groupby(by, sort=False):
        rows = _group_rows(g.drop(columns=by), scenarios, pairs, metrics, near, boot, reference)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        for col, v in zip(by, key if isinstance(key, tuple) else (key,)):
            frame.insert(frame.columns.get_loc("outcome"), col, v)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
