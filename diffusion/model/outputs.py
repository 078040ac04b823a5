"""Monthly outputs, kept up to date from the month's changes.

Households are counted per (hamlet, use code) and per (income quintile x age group of the head, use code),
where the use code has one bit per product; people of 15 and over per (age bin, sex), with how many of them
use a smartphone. The tables are built from scratch when the members change (``recount``: at the start and
every January) and updated from the few households that changed each month (``update``), so the outputs
cost nothing like a pass over the population.

Households: ``share_<indicator>`` (smartphone, mobile data, fibre, internet = mobile data or fibre,
services), ``share_working_age_smartphone`` (people aged 15-64 using a smartphone, the Resolution 09
indicator), by income quintile and age group of the head. People: ``people`` (aged 15 and over),
``working_age_people`` (15-64, the denominator of the Resolution 09 share), ``share_people_smartphone`` (15 and
over), ``share_adults_smartphone`` (18 and over, as surveys of adults report), by age band (15-24, 25-34,
35-44, 45-54, 55-64, 65+) and by sex; ``share_people_internet`` (15 and
over using a smartphone of their own in a household with internet: mobile data or fibre). The shares by age
band, weighted by the people in each band, add up to the overall share.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from diffusion.model.people import AGE_BANDS, SEXES
from diffusion.model.population import AGE_GROUPS, Population
from diffusion.model.products import INDICATORS, use_bits, uses
from diffusion.model.state import State, StepResult, use_codes

_CODES = np.arange(16)
#: (16 use codes, indicators): whether a household with that use code counts for each indicator
_MASK_MATRIX = np.stack([(_CODES & use_bits(k)) > 0 for k in INDICATORS]).T.astype(np.float64)
QUINTILES: tuple[str, ...] = ("q1", "q2", "q3", "q4", "q5")
_A = len(AGE_GROUPS)
_HEAD_EDGES = np.array([35, 50, 65])
#: Age bins of people (lower bounds): 15-17, 18-24, then the bands of AGE_BANDS from 25.
_BIN_EDGES = np.array([15, 18, 25, 35, 45, 55, 65])
_BINS = len(_BIN_EDGES)
#: The bin of every age + 1 (index 0: an empty slot, age -1), -1 under 15.
_BIN_OF_AGE = (np.searchsorted(_BIN_EDGES, np.arange(-1, 2**15), side="right") - 1).astype(np.int64)
#: Which bins make each age band (15-24 is 15-17 and 18-24).
_BAND_BINS: tuple[tuple[int, ...], ...] = ((0, 1), (2,), (3,), (4,), (5,), (6,))


#: Names of the shares by group, in the order ``OutputCounter._detail`` gives them: per indicator, the
#: quintiles then the age groups.
_GROUP_NAMES: tuple[str, ...] = tuple(
    name for k in INDICATORS
    for name in [f"share_{k}_{q}" for q in QUINTILES] + [f"share_{k}_age_{g}" for g in AGE_GROUPS]
)
#: Names of the people's shares by age band and sex (detail).
PEOPLE_GROUP_NAMES: tuple[str, ...] = (tuple(f"share_people_smartphone_{b}" for b in AGE_BANDS)
                                       + tuple(f"share_people_smartphone_{s}" for s in SEXES))

#: The outputs computed without ``detail`` (overall shares only; no income quintiles, age groups or bands).
BASIC_METRICS: tuple[str, ...] = (
    ("households",) + tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)
    + ("people", "working_age_people", "share_people_smartphone", "share_adults_smartphone", "share_people_internet")
)


#: Columns of the table of shares by hamlet (``OutputCounter.compute``), in order.
HAMLET_COLUMNS: tuple[str, ...] = tuple(f"share_{k}" for k in INDICATORS) + ("share_working_age_smartphone",)


def metric_names() -> list[str]:
    """Names of the scalar monthly outputs (before the levers' cost and activity columns), in order."""
    names = list(BASIC_METRICS)
    names += [f"share_{k}_{q}" for k in INDICATORS for q in QUINTILES]
    names += [f"share_{k}_age_{g}" for k in INDICATORS for g in AGE_GROUPS]
    return names + list(PEOPLE_GROUP_NAMES)


def head_age_group(head_age: np.ndarray) -> np.ndarray:
    """Index into AGE_GROUPS of the head's age."""
    group = (head_age >= _HEAD_EDGES[0]).astype(np.int8)
    for edge in _HEAD_EDGES[1:]:
        group += head_age >= edge
    return group


class OutputCounter:
    """Counts of households per group and use code, and of people per age bin and sex, for one population
    (or for stacked runs, per run).

    Args:
        pop: the population; layout: ``population.RunLayout`` of stacked runs (None: one run).
        groups: keep the counts by income quintile and age group (needed for ``compute(detail=True)``).
    """

    def __init__(self, pop: Population, layout=None, groups: bool = True):
        self.pop = pop
        self.groups = groups
        self.runs = 1 if layout is None else layout.runs
        self.layout = layout
        self.run = np.zeros(pop.n, dtype=np.int64) if layout is None else layout.run
        self.hamlet = pop.hamlet.astype(np.int64)
        H = pop.n_hamlets
        self.hamlet_households = np.bincount(self.hamlet, minlength=H).astype(np.float64)
        self.households = self._per_run(self.hamlet_households)

    def _per_run(self, x: np.ndarray) -> np.ndarray:
        """Sums of a per-hamlet array (H, ...) over each run's hamlets: (runs, ...)."""
        if self.runs == 1:
            return x.sum(axis=0)[None]
        return np.add.reduceat(x, self.layout.hamlet_offsets[:-1], axis=0)

    def recount(self, state: State) -> None:
        """Count from scratch (at creation, every January, or after the state was edited by hand)."""
        H, B = self.pop.n_hamlets, self.runs
        code = use_codes(state.adopted).astype(np.int64)
        self.group = self.pop.quintile.astype(np.int64) * _A + head_age_group(state.head_age)
        if B > 1:
            self.group += self.run * (5 * _A)
        self.group_households = (np.bincount(self.group, minlength=B * 5 * _A).reshape(B, 5, _A).astype(np.float64))
        self.by_hamlet = np.bincount(self.hamlet * 16 + code, minlength=H * 16).reshape(H, 16)
        self.by_group = np.bincount(self.group * 16 + code, minlength=B * 5 * _A * 16).reshape(B * 5 * _A, 16)
        self.users_hamlet = np.bincount(self.hamlet, weights=state.phone_users, minlength=H)
        self.working_age_hamlet = np.bincount(self.hamlet, weights=state.working_age, minlength=H)
        self.working_age_total = self._per_run(self.working_age_hamlet)
        self._count_people(state)

    def _count_people(self, state: State) -> None:
        """People of 15 and over by (run, age bin, sex) cell, with how many use a smartphone and are online."""
        size = self.runs * _BINS * 2
        run = self.run if self.runs > 1 else np.empty(0, dtype=np.int64)
        people, users, online = _count_people_kernel(state.age, state.female, state.phone,
                                                     uses("internet", state.adopted), run, _BIN_OF_AGE, size,
                                                     _BINS * 2)
        shape = (self.runs, _BINS, 2)
        self.people, self.people_users, self.people_online = (x.reshape(shape) for x in (people, users, online))

    def update(self, res: StepResult) -> None:
        """Apply one month's changes."""
        idx = res.touched
        if idx.size == 0:
            return
        old, new = use_codes(res.before), use_codes(res.after)
        changed = old != new
        if changed.any():
            # each household that changed leaves its old (group, code) cell and joins its new one (counted with
            # bincount, several times faster than np.add.at; integer counts, so the same numbers)
            who, old, new = idx[changed], old[changed], new[changed]
            tables = [(self.by_hamlet, self.hamlet[who] * 16)]
            if self.groups:
                tables.append((self.by_group, self.group[who] * 16))
            for table, cell in tables:
                flat = table.reshape(-1)
                flat += np.bincount(cell + new, minlength=flat.size)
                flat -= np.bincount(cell + old, minlength=flat.size)
        du = res.users_after.astype(np.float64) - res.users_before
        if du.any():  # (whole numbers as floats: the sums are exact in any order)
            self.users_hamlet += np.bincount(self.hamlet[idx], weights=du, minlength=self.users_hamlet.size)
        ch = res.members
        if ch is not None and ch.household.size:
            adult = ch.age >= 15  # (people of 15 and over are counted)
            h = ch.household[adult]
            cell = (self.run[h] * _BINS + _BIN_OF_AGE[ch.age[adult].astype(np.intp) + 1]) * 2 + ch.female[adult]
            size = self.runs * _BINS * 2
            for table, d in ((self.people_users, ch.d_phone), (self.people_online, ch.d_online)):
                table += np.bincount(cell, weights=d[adult], minlength=size).reshape(table.shape)

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
        people, used = self.people.sum(axis=2), self.people_users.sum(axis=2)  # (B, bins)
        out["people"] = people.sum(axis=1)
        out["working_age_people"] = wa.copy()
        out["share_people_smartphone"] = _share(used.sum(axis=1), people.sum(axis=1))
        out["share_adults_smartphone"] = _share(used[:, 1:].sum(axis=1), people[:, 1:].sum(axis=1))
        out["share_people_internet"] = _share(self.people_online.sum(axis=(1, 2)), people.sum(axis=1))
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
        """Shares by income quintile and by age group of the head; people's by age band and sex."""
        B = self.runs
        ind_g = (self.by_group @ _MASK_MATRIX).reshape(B, 5, _A, len(INDICATORS))
        by = np.concatenate([ind_g.sum(axis=2), ind_g.sum(axis=1)], axis=1)  # (B, 5 quintiles + A, ind)
        hh = np.concatenate([self.group_households.sum(axis=2), self.group_households.sum(axis=1)], axis=1)
        hh = np.broadcast_to(hh[:, :, None], by.shape)
        share = np.divide(by, hh, out=np.full(by.shape, np.nan), where=hh > 0)
        out.update(zip(_GROUP_NAMES, share.transpose(2, 1, 0).reshape(-1, B)))
        people, used = self.people.sum(axis=2), self.people_users.sum(axis=2)
        for band, bins in zip(AGE_BANDS, _BAND_BINS):
            out[f"share_people_smartphone_{band}"] = _share(used[:, bins].sum(axis=1), people[:, bins].sum(axis=1))
        for s, sex in enumerate(SEXES):
            out[f"share_people_smartphone_{sex}"] = _share(self.people_users[:, :, s].sum(axis=1),
                                                           self.people[:, :, s].sum(axis=1))


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)


@njit(cache=True, nogil=True)
def _count_people_kernel(age, female, phone, internet, run, bin_of_age, size, per_run):
    """``OutputCounter._count_people``: one pass over the member slots (``run`` empty: a single run)."""
    people, users, online = np.zeros(size), np.zeros(size), np.zeros(size)
    stacked = run.size > 0
    for s in range(age.shape[0]):
        for h in range(age.shape[1]):
            a = age[s, h]
            if a < 15:
                continue
            cell = bin_of_age[a + 1] * 2 + female[s, h]
            if stacked:
                cell += run[h] * per_run
            people[cell] += 1.0
            if phone[s, h]:
                users[cell] += 1.0
                if internet[h]:
                    online[cell] += 1.0
    return people, users, online
