"""Monthly outputs computed from the state in one pass (a single bincount over cells x use codes).

A cell is (hamlet, income quintile, age group of the head); a household's use code has one bit per
product. Counting households per (cell, code) gives every share the model reports: overall, by income
quintile, by age group of the head, and by hamlet.
"""

from __future__ import annotations

import numpy as np

from .dynamics import FIBRE, MOBILE, SERVICES, SMARTPHONE, State
from .population import AGE_GROUPS, Population

#: Indicators reported overall and by group: name -> test on the use code (bits: phone 1, mobile 2,
#: fibre 4, services 8).
INDICATORS: tuple[str, ...] = ("smartphone", "mobile_data", "fibre", "internet", "services")
_CODES = np.arange(16)
_MASKS = {
    "smartphone": (_CODES & 1) > 0,
    "mobile_data": (_CODES & 2) > 0,
    "fibre": (_CODES & 4) > 0,
    "internet": (_CODES & 6) > 0,
    "services": (_CODES & 8) > 0,
}
_MASK_MATRIX = np.stack([_MASKS[k] for k in INDICATORS]).astype(np.float64)  # (5, 16)
QUINTILES: tuple[str, ...] = ("q1", "q2", "q3", "q4", "q5")


def metric_names() -> list[str]:
    """Names of the scalar monthly outputs, in order."""
    names = ["households"] + [f"share_{k}" for k in INDICATORS] + ["share_working_age_smartphone"]
    names += [f"share_{k}_{q}" for k in INDICATORS for q in QUINTILES]
    names += [f"share_{k}_age_{g}" for k in INDICATORS for g in AGE_GROUPS]
    return names


class OutputCounter:
    """Precomputed cell ids for one population."""

    def __init__(self, pop: Population):
        self.pop = pop
        self.n_cells = pop.n_hamlets * 5 * len(AGE_GROUPS)
        cell = (pop.hamlet.astype(np.int64) * 5 + pop.quintile) * len(AGE_GROUPS) + pop.age_group
        self.cell16 = cell * 16
        self.cell = cell
        self.cell_households = np.bincount(cell, minlength=self.n_cells).reshape(pop.n_hamlets, 5, len(AGE_GROUPS))
        self.working_age_total = float(pop.working_age.sum())
        self.working_age_hamlet = np.bincount(pop.hamlet, weights=pop.working_age, minlength=pop.n_hamlets)
        self.names = metric_names()

    def compute(self, state: State) -> tuple[dict[str, float], np.ndarray]:
        """Scalar outputs and the by-hamlet table (n_hamlets x (5 indicators + working-age share))."""
        a = state.adopted.view(np.uint8)
        code = a[MOBILE] << 1
        code |= a[SMARTPHONE]
        code |= a[FIBRE] << 2
        code |= a[SERVICES] << 3
        counts = np.bincount(self.cell16 + code, minlength=self.n_cells * 16)
        counts = counts.reshape(self.pop.n_hamlets, 5, len(AGE_GROUPS), 16).astype(np.float64)
        users_h = np.bincount(self.pop.hamlet, weights=state.phone_users, minlength=self.pop.n_hamlets)
        ind = counts @ _MASK_MATRIX.T  # (H, 5, A, 5 indicators)
        n = float(self.pop.n)
        out: dict[str, float] = {"households": n}
        total = ind.sum(axis=(0, 1, 2))
        for i, k in enumerate(INDICATORS):
            out[f"share_{k}"] = total[i] / n
        out["share_working_age_smartphone"] = (
            float(users_h.sum()) / self.working_age_total if self.working_age_total else 0.0
        )
        by_q = ind.sum(axis=(0, 2))  # (5 quintiles, 5 indicators)
        hh_q = self.cell_households.sum(axis=(0, 2))
        by_a = ind.sum(axis=(0, 1))
        hh_a = self.cell_households.sum(axis=(0, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            for i, k in enumerate(INDICATORS):
                for j, q in enumerate(QUINTILES):
                    out[f"share_{k}_{q}"] = by_q[j, i] / hh_q[j] if hh_q[j] else float("nan")
                for j, g in enumerate(AGE_GROUPS):
                    out[f"share_{k}_age_{g}"] = by_a[j, i] / hh_a[j] if hh_a[j] else float("nan")
            by_h = ind.sum(axis=(1, 2))
            hh_h = self.cell_households.sum(axis=(1, 2))
            hamlet = np.empty((self.pop.n_hamlets, len(INDICATORS) + 1))
            hamlet[:, :-1] = by_h / hh_h[:, None]
            wa_h = self.working_age_hamlet
            hamlet[:, -1] = np.where(wa_h > 0, users_h / np.maximum(wa_h, 1), np.nan)
        return out, hamlet
