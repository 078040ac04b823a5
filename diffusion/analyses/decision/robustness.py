"""Robustness of chosen policies over posterior draws: for each policy its expected outcome, the probability of
meeting each target (and all at once), and its regret against the best policy in each draw (robust
decision-making's usual measures).

Every policy is run on the same draws and seeds (common random numbers), so in each draw the policies face the
same world and the same households; a draw's value of a policy is the mean over its replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion.analyses.decision.evaluate import Evaluator, Policy
from diffusion.analyses.decision.spec import Outcome


@dataclass
class Robustness:
    """The robustness tables.

    Attributes:
        table: one row per policy: ``cost`` (mean), per target its mean (``<target>``), probability of meeting it
            (``p_<target>``) and mean and largest regret (``regret_<target>``, ``max_regret_<target>``); ``p_all``.
        draws: one row per policy and draw: the draw's mean of each outcome, ``met_<target>`` and ``regret_<target>``.
    """

    table: pd.DataFrame
    draws: pd.DataFrame


def cost_outcome(months: int, label: str) -> Outcome:
    """Spending by the last month."""
    return Outcome("cost", "cost", "cum_cost_total", months, label)


def robustness(evaluator: Evaluator, policies: list[Policy], targets: list[Outcome]) -> Robustness:
    """Evaluate ``policies`` over the evaluator's draws and measure them against ``targets``."""
    values = evaluator.evaluate(policies)
    return measure(values, policies, targets)


def measure(values: pd.DataFrame, policies: list[Policy], targets: list[Outcome]) -> Robustness:
    """The robustness tables from run values (columns policy, draw, replicate, cost and one per target)."""
    names = ["cost", *(t.name for t in targets)]
    per = values.groupby(["policy", "draw"], sort=True)[names].mean().reset_index()
    per.insert(0, "name", [policies[i].name for i in per["policy"]])
    met_all = np.ones(len(per), dtype=bool)
    for t in targets:
        v = per[t.name].to_numpy(dtype=float)
        met = np.asarray(t.met(v), dtype=bool)
        per[f"met_{t.name}"] = met
        met_all &= met
        # regret: how far the policy is from the best policy of the same draw, in the direction the target wants
        lower_is_better = t.max is not None
        best = per.groupby("draw")[t.name].transform("min" if lower_is_better else "max").to_numpy(dtype=float)
        per[f"regret_{t.name}"] = (v - best) if lower_is_better else (best - v)
    per["met_all"] = met_all
    g = per.groupby("policy", sort=True)
    table = pd.DataFrame({"policy": [policies[i].name for i in g.size().index]})
    table["cost"] = g["cost"].mean().to_numpy()
    for t in targets:
        table[t.name] = g[t.name].mean().to_numpy()
        table[f"p_{t.name}"] = g[f"met_{t.name}"].mean().to_numpy()
        table[f"regret_{t.name}"] = g[f"regret_{t.name}"].mean().to_numpy()
        table[f"max_regret_{t.name}"] = g[f"regret_{t.name}"].max().to_numpy()
    table["p_all"] = g["met_all"].mean().to_numpy()
    return Robustness(table, per.drop(columns=["policy"]).rename(columns={"name": "policy"}))


def answer(rob: pd.DataFrame, probability: float, alternatives: int = 2) -> dict:
    """The cheapest policy meeting every target with at least ``probability``, and its neighbours by cost (the
    policy just cheaper, which gives up probability, and the one just dearer).

    Returns:
        ``{"chosen": row or None, "alternatives": [rows], "probability": p}``; rows as dicts. Without a policy that
        reaches the probability, ``chosen`` is None and the alternatives are the most likely to meet the targets.
    """
    ok = rob[rob["p_all"] >= probability - 1e-12].sort_values(["cost", "p_all"], ascending=[True, False],
                                                                  kind="stable")
    if ok.empty:
        best = rob.sort_values(["p_all", "cost"], ascending=[False, True], kind="stable")
        return {"chosen": None, "alternatives": best.head(alternatives).to_dict("records"), "probability": probability}
    chosen = ok.iloc[0]
    by_cost = rob.sort_values(["cost", "p_all"], ascending=[True, False], kind="stable").reset_index(drop=True)
    i = int(by_cost.index[by_cost["policy"] == chosen["policy"]][0])
    near = [by_cost.iloc[j].to_dict() for j in (i - 1, i + 1) if 0 <= j < len(by_cost)]  # just cheaper, just dearer
    return {"chosen": chosen.to_dict(), "alternatives": near[:alternatives], "probability": probability}
