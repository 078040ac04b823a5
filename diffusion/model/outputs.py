"""Monthly outputs, kept up to date from the month's changes.

Households are counted per (hamlet, use code) and per (income quintile x age group of the head, use code),
where the use code has one bit per product. The tables are built once (``recount``) and then updated
from the few households that changed each month (``update``), so the outputs cost nothing like a pass
over the population; every share the model reports (overall, by quintile, by age group, by hamlet) is
read off these small tables.
"""

from __future__ import annotations

import numpy as np

from diffusion.model.dynamics import State, StepResult, use_codes
from diffusion.model.population import AGE_GROUPS, Population
from diffusion.model.products import INDICATORS, use_bits

_CODES = np.arange(16)
#: (16 use codes, indicators): whether a household with that use code counts for each indicator
_MASK_MATRIX = np.stack([(_CODES & use_bits(k)) > 0 for k in INDICATORS]).T.astype(np.float64)
QUINTILES: tuple[str, ...] = ("q1", "q2", "q3", "q4", "q5")
_A = len(AGE_GROUPS)


#: Names of the shares by group, in the order ``OutputCounter._detail`` gives them: per indicator, the
#: quintiles then the age groups.
_GROUP_NAMES: tuple[str, ...] = tuple(
    name for k in INDICATORS
    for name in [f"share_{k}_{q}" for q in QUINTILES] + [f"share_{k}_age_{g}" for g in AGE_GROUPS]
)

#: The outputs computed without ``detail`` (overall shares only; no income quintiles or age groups).
BASIC_METRICS: tuple[str, ...] = (
    ("households",) + tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)
)


#: Columns of the table of shares by hamlet (``OutputCounter.compute``), in order.
HAMLET_COLUMNS: tuple[str, ...] = tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)


def metric_names() -> list[str]:
    """Names of the scalar monthly outputs (before the levers' cost and activity columns), in order."""
    names = ["households"] + [f"share_{k}" for k in INDICATORS] + ["share_working_age_smartphone"]
    names += [f"share_{k}_{q}" for k in INDICATORS for q in QUINTILES]
    names += [f"share_{k}_age_{g}" for k in INDICATORS for g in AGE_GROUPS]
    return names


class OutputCounter:
    """Counts of households per group and use code for one population (or for stacked runs, per run).

    Args:
        pop: the population; layout: ``population.RunLayout`` of stacked runs (None: one run).
        groups: keep the counts by income quintile and age group (needed for ``compute(detail=True)``).
    """

    def __init__(self, pop: Population, layout=None, groups: bool = True):
        self.pop = pop
        self.groups = groups
        self.runs = 1 if layout is None else layout.runs
        self.layout = layout
        run = 0 if layout is None else layout.run
        self.hamlet = pop.hamlet.astype(np.int64)
        self.group = run * (5 * _A) + pop.quintile.astype(np.int64) * _A + pop.age_group
        H, B = pop.n_hamlets, self.runs
        self.hamlet_households = np.bincount(self.hamlet, minlength=H).astype(np.float64)
        self.group_households = (
            np.bincount(self.group, minlength=B * 5 * _A).reshape(B, 5, _A).astype(np.float64)
        )
        self.working_age_hamlet = np.bincount(self.hamlet, weights=pop.working_age, minlength=H)
        self.households = self._per_run(self.hamlet_households)
        self.working_age_total = self._per_run(self.working_age_hamlet)

    def _per_run(self, x: np.ndarray) -> np.ndarray:
        """Sums of a per-hamlet array (H, ...) over each run's hamlets: (runs, ...)."""
        if self.runs == 1:
            return x.sum(axis=0)[None]
        return np.add.reduceat(x, self.layout.hamlet_offsets[:-1], axis=0)

    def recount(self, state: State) -> None:
        """Count from scratch (at creation, or after the state was edited by hand)."""
        H, B = self.pop.n_hamlets, self.runs
        code = use_codes(state.adopted).astype(np.int64)
        self.by_hamlet = np.bincount(self.hamlet * 16 + code, minlength=H * 16).reshape(H, 16)
        self.by_group = np.bincount(self.group * 16 + code, minlength=B * 5 * _A * 16).reshape(B * 5 * _A, 16)
        self.users_hamlet = np.bincount(self.hamlet, weights=state.phone_users, minlength=H)

    def update(self, res: StepResult) -> None:
        """Apply one month's changes."""
        idx = res.touched
        if idx.size == 0:
            return
        old, new = use_codes(res.before), use_codes(res.after)
        changed = old != new
        if changed.any():
            # each household that changed leaves its old (group, code) cell and joins its new one
            codes = np.concatenate([old[changed], new[changed]])
            sign = np.repeat(np.array([-1, 1], dtype=np.int64), codes.size // 2)
            who = np.tile(idx[changed], 2)
            np.add.at(self.by_hamlet.reshape(-1), self.hamlet[who] * 16 + codes, sign)
            if self.groups:
                np.add.at(self.by_group.reshape(-1), self.group[who] * 16 + codes, sign)
        du = res.users_after.astype(np.float64) - res.users_before
        if du.any():
            np.add.at(self.users_hamlet, self.hamlet[idx], du)

    def compute(self, detail: bool = True) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Scalar outputs, one value per run (arrays of length ``runs``), and the by-hamlet table
        (n_hamlets x (5 indicators + working-age share)). Without ``detail`` only ``BASIC_METRICS``."""
        B = self.runs
        ind_h = self.by_hamlet @ _MASK_MATRIX  # (H, 5)
        n = self.households
        out: dict[str, np.ndarray] = {"households": n.copy()}
        total = self._per_run(ind_h)  # (B, 5)
        for i, k in enumerate(INDICATORS):
            out[f"share_{k}"] = total[:, i] / n
        users = self.users_hamlet
        wa = self.working_age_total
        out["share_working_age_smartphone"] = np.divide(self._per_run(users), wa, out=np.zeros(B), where=wa > 0)
        if detail:
            if not self.groups:
                raise ValueError("shares by group need an OutputCounter with groups=True")
            self._detail(out)
        hamlet = np.empty((self.pop.n_hamlets, len(INDICATORS) + 1))
        hamlet[:, :-1] = ind_h / self.hamlet_households[:, None]
        wah = self.working_age_hamlet
        hamlet[:, -1] = np.divide(users, wah, out=np.full(wah.shape, np.nan), where=wah > 0)
        return out, hamlet

    def _detail(self, out: dict[str, np.ndarray]) -> None:
        """Shares by income quintile and by age group of the head."""
        B = self.runs
        ind_g = (self.by_group @ _MASK_MATRIX).reshape(B, 5, _A, len(INDICATORS))
        by = np.concatenate([ind_g.sum(axis=2), ind_g.sum(axis=1)], axis=1)  # (B, 5 quintiles + A, ind)
        hh = np.concatenate([self.group_households.sum(axis=2), self.group_households.sum(axis=1)], axis=1)
        hh = np.broadcast_to(hh[:, :, None], by.shape)
        share = np.divide(by, hh, out=np.full(by.shape, np.nan), where=hh > 0)
        out.update(zip(_GROUP_NAMES, share.transpose(2, 1, 0).reshape(-1, B)))
