"""Derived outcomes from tidy monthly results: additional adopters against a reference scenario, cost
per additional adopting household, and the month each policy target is reached.

The input is the tidy long table of the experiment layer (one row per scenario, replicate, design point
and month; see ``AdoptionModel.timeseries`` for the metric columns). Comparisons with the reference
pair rows with the same replicate and design point: the runs share their random numbers (common random
numbers), so the difference is the policy's effect, not noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import Target
from diffusion.foundation.sources import targets as default_targets
from diffusion.model.products import INDICATORS

KEYS = ["replicate", "design_point", "month"]


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
