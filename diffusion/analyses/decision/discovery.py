"""Scenario discovery: the regions of the uncertain parameters in which a policy misses a target, found with
PRIM (the Patient Rule Induction Method; the ``prim`` package of Project Platypus).

The cases are the posterior draws of a robustness check (one row each, the draw's parameter values); a case of
interest is a draw in which the policy misses the target. PRIM peels the box of all draws, a few percent at a
time, towards the densest region of misses (the *peeling trajectory*: coverage, the share of all misses inside
the box, against density, the share of draws inside the box that are misses). The reported box is the densest
point of the trajectory with at least ``min_coverage``; further boxes are found among the misses left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Discovery:
    """PRIM's results for one policy and target.

    Attributes:
        boxes: one row per box: box (1, 2, ...), coverage, density, mass, res_dim (restricted dimensions).
        limits: one row per box and restricted parameter: box, parameter, min, max, lower, upper (the range of
            the parameter over all draws), qp (the quasi-p value of the restriction).
        trajectory: the peeling trajectory of each box: box, step, coverage, density, mass, res_dim, chosen.
        base_rate: the share of draws in which the policy misses the target.
    """

    boxes: pd.DataFrame
    limits: pd.DataFrame
    trajectory: pd.DataFrame
    base_rate: float
    cases: int


def discover(x: pd.DataFrame, miss: np.ndarray, *, min_coverage: float = 0.5, boxes: int = 2,
             peel_alpha: float = 0.05) -> Discovery:
    """PRIM boxes of the cases ``miss`` (bool per row of ``x``, the uncertain parameters).

    Columns of ``x`` that do not vary are left out. With no case of interest (the policy never misses) or only
    cases of interest, there is nothing to find: empty tables.
    """
    import prim

    logging.getLogger("prim").setLevel(logging.WARNING)
    miss = np.asarray(miss, dtype=bool)
    x = x.loc[:, [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c]) and x[c].nunique() > 1]]
    x = x.astype(float).reset_index(drop=True)
    empty = Discovery(pd.DataFrame(columns=["box", "coverage", "density", "mass", "res_dim"]),
                      pd.DataFrame(columns=["box", "parameter", "min", "max", "lower", "upper", "qp"]),
                      pd.DataFrame(columns=["box", "step", "coverage", "density", "mass", "res_dim", "chosen"]),
                      float(miss.mean()) if len(miss) else 0.0, int(miss.sum()))
    if x.shape[1] == 0 or miss.all() or not miss.any():
        return empty
    p = prim.Prim(x, miss.astype(float), threshold=0.5, threshold_type=">", peel_alpha=peel_alpha,
                  mass_min=max(0.05, 2.0 / len(x)))
    rows, lims, traj = [], [], []
    for b in range(1, boxes + 1):
        box = p.find_box()
        if box is None:
            break
        t = box.peeling_trajectory.reset_index(drop=True)
        ok = t.index[t["coverage"] >= min_coverage - 1e-12]
        i = int(t.loc[ok].sort_values(["density", "coverage"], ascending=False, kind="stable").index[0]) if len(ok) \
            else int(t["coverage"].idxmax())
        box.select(i)
        if b > 1 and box.density <= float(miss.mean()):
            break  # no denser region of misses left
        rows.append({"box": b, "coverage": float(box.coverage), "density": float(box.density),
                     "mass": float(box.mass), "res_dim": int(box.res_dim)})
        for param, lim in box.limits.iterrows():
            lims.append({"box": b, "parameter": str(param), "min": float(lim["min"]), "max": float(lim["max"]),
                         "lower": float(x[param].min()), "upper": float(x[param].max()), "qp": float(lim["qp values"])})
        for k, r in t.iterrows():
            traj.append({"box": b, "step": int(k), "coverage": float(r["coverage"]), "density": float(r["density"]),
                         "mass": float(r["mass"]), "res_dim": int(r["res dim"]), "chosen": int(k) == i})
    return Discovery(pd.DataFrame(rows, columns=empty.boxes.columns), pd.DataFrame(lims, columns=empty.limits.columns),
                     pd.DataFrame(traj, columns=empty.trajectory.columns), empty.base_rate, empty.cases)
