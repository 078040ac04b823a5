"""The members' year: every January people grow a year older, some die, some are born, some young adults leave,
and households left without members, and a share of the others, are taken over by newly formed young households.

Rates (``ModelParams``): a Gompertz death hazard a * exp(b * age); births as many as the national crude birth
rate of the year (demography.csv, times ``birth_rate_scale``) gives for the run's people, to women aged 20-39,
each equally likely (at most one a household a year); members aged 18-29 who do not head their household leave
at ``leave_home_per_year``. The number of households of a place is held constant: the place's households are a
sample of a stock that grew 1.81% a year (2009-2019 censuses, demography.csv), so each year a share
``household_growth_per_year`` / (1 + it) of them, drawn at random, is replaced by a newly formed household, as
is every household that dies out. A new household is two adults aged 22-31 with a young child half the time
(assumption); each adult uses a smartphone with the probability that people aged 20-34 of its hamlet do now, and
the household starts without internet or services, with a skill drawn as at the start.

Validation (docs/validation.md): with the defaults a place's households shrink from 3.73 persons (2009) to 3.65
(2019), against the censuses' 3.8 and 3.6, and its people age faster than the country's (65 and over: 7.5% to
12%, against 6.4% to 7.7%), because the heads' ages (an assumption) put too many people in their fifties.

The draws are counter-based per member slot (``Streams.slot_uniforms``), so the year of a run does not
depend on other runs or on levers.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import ndtri

from diffusion.foundation.randomness import Streams
from diffusion.foundation.threads import run_all, threads_for
from diffusion.model.params import ModelParams
from diffusion.model.people import FEMALE_SHARE, SLOTS, crude_birth_rate, hand_phones, working_users
from diffusion.model.population import Population, skill_of
from diffusion.model.products import SMARTPHONE, enforce_prerequisites
from diffusion.model.state import State


class Demography:
    """The yearly change of the members of one run, or of stacked runs (per-run rates spread to households)."""

    def __init__(self, params: list[ModelParams], pop: Population, run: np.ndarray | None, month0: int):
        def per_household(attr: str) -> np.ndarray | float:
            values = np.array([getattr(p, attr) for p in params], dtype=np.float64)
            return float(values[0]) if run is None else values[run]

        self.params, self.pop, self.run = params, pop, run
        #: threads for the year's independent pieces (``foundation.threads``)
        self.threads = threads_for(pop.n)
        #: the absolute month (``world.absolute_month``) of the engine's month 0
        self.month0 = int(month0)
        self.a, self.b = per_household("mortality_a"), per_household("mortality_b")
        self.birth_scale = per_household("birth_rate_scale")
        self.leave = 1.0 - np.exp(-per_household("leave_home_per_year"))
        growth = per_household("household_growth_per_year")
        self.renew = growth / (1.0 + growth)
        self.slope = per_household("skill_age_slope")
        self.skill_base, self.skill_income = per_household("skill_base"), per_household("skill_income_slope")
        self.skill_noise = per_household("skill_noise")
        self.min_age = per_household("phone_min_age")
        self.runs = 1 if run is None else int(run.max()) + 1
        self._q: np.ndarray | None = None  # death probabilities by whole age (per run), made when first needed

    def year(self, state: State, streams: Streams, t: int) -> None:
        """Apply the year's changes in month t (a January) to ``state``, in place. The work is on the flat list
        of living members (a quarter of the slots), never on every slot."""
        n = self.pop.n
        young_before = state.young_age.copy()
        k, slot, h, age = _age_living(state.age)  # everyone a year older
        flat = state.age.reshape(-1)  # member k is slot k // n of household k % n

        def leaving() -> np.ndarray:
            young = np.flatnonzero((slot > 0) & (age >= 18) & (age < 30))
            u = streams.member_uniforms("demography.leave", t, slot[young], h[young], n, SLOTS, flat=k[young])
            return young[u < self._at(self.leave, h[young])]

        dies, leaves = run_all([lambda: streams.member_uniforms("demography.death", t, slot, h, n, SLOTS, flat=k)
                                < self._death_probability(age, h), leaving], self.threads)
        dies[leaves] = True  # (leaving: gone as well)
        gone = k[dies]
        flat[gone] = -1
        state.phone.reshape(-1)[gone] = False
        state.female.reshape(-1)[gone] = False
        keep = ~dies
        # births write the slots of no living member, which the hamlets' young users and the renewals never read
        _, renewed, share = run_all([
            lambda: self._births(state, streams, t, (k, slot, h, age, keep)),
            lambda: streams.uniforms("demography.renew", t, np.arange(n), n) < self.renew,
            lambda: self._young_phone_share(h, age, state.phone.reshape(-1)[k], keep)], self.threads)
        empty = np.flatnonzero(~(state.age >= 0).any(axis=0) | renewed)
        if empty.size:
            self._reform(state, streams, t, empty, share)
        half = n // 2  # (the households' attributes, in two independent halves)
        run_all([lambda: state.set_households(slice(0, half)), lambda: state.set_households(slice(half, n))],
                self.threads)
        kept = np.ones(n, dtype=bool)
        kept[empty] = False
        shift = np.where(kept, self.slope * (state.young_age - young_before), 0.0)
        state.skill[:] = np.clip(state.skill - shift, 0.02, 1.0).astype(np.float32)
        self._phones_and_products(state)

    def _births(self, state: State, streams: Streams, t: int, members: tuple[np.ndarray, ...]) -> None:
        """Births as the year's crude birth rate gives for each run's people, to women of 20-39 (at most one
        child a household), given the members (flat index k, slot, household h, age, and whether they live on)."""
        n = self.pop.n
        k, slot, h, age, keep = members
        mother = np.flatnonzero(keep & state.female.reshape(-1)[k] & (age >= 20) & (age < 40))
        ms, mh = slot[mother], h[mother]
        p = self._birth_probability(h, keep, mh, t)
        u = streams.member_uniforms("demography.birth", t, ms, mh, n, SLOTS, flat=k[mother])
        born = u < p[mh]
        first = np.full(n, SLOTS, dtype=np.int64)  # the first slot of a mother giving birth, per household
        np.minimum.at(first, mh[born], ms[born])
        has = np.flatnonzero(first < SLOTS)
        open_slots = state.age[1:, has] < 0  # a child never takes slot 0, the head's (even when it is empty)
        keep = open_slots.any(axis=0)
        has, open_slots = has[keep], open_slots[:, keep]
        if has.size == 0:
            return
        free = open_slots.argmax(axis=0) + 1
        ub = streams.member_uniforms("demography.birth", t, first[has], has, n, SLOTS)
        girl = (ub / p[has]) < FEMALE_SHARE  # (uniform again below p)
        state.age[free, has] = 0
        state.female[free, has] = girl
        state.phone[free, has] = False

    def _death_probability(self, age: np.ndarray, h: np.ndarray) -> np.ndarray:
        """The yearly probability of death at ``age`` of members of households ``h``: 1 - exp(-a exp(b age)),
        read from a table by whole age (per run for stacked runs)."""
        ages = np.arange(256, dtype=np.float64)
        if self.run is None:
            if self._q is None:
                self._q = -np.expm1(-self.a * np.exp(self.b * ages))
            return self._q[np.minimum(age, 255)]
        if self._q is None:
            a = np.array([p.mortality_a for p in self.params])[:, None]
            b = np.array([p.mortality_b for p in self.params])[:, None]
            self._q = -np.expm1(-a * np.exp(b * ages[None, :]))
        return self._q[self.run[h], np.minimum(age, 255)]

    def _birth_probability(self, h: np.ndarray, keep: np.ndarray, mothers: np.ndarray, t: int) -> np.ndarray:
        """Each mother's probability of a birth in the year of month t, per household: crude birth rate x people /
        mothers of the run (capped at 0.9), given the households of the members (``h``, living on where ``keep``)
        and of the mothers."""
        rate = crude_birth_rate(self.month0 + t)
        if self.run is None:
            people = np.count_nonzero(keep)
            return np.full(self.pop.n, self.birth_scale * min(0.9, rate * people / max(mothers.size, 1)))
        total = np.bincount(self.run[h[keep]], minlength=self.runs)
        m = np.bincount(self.run[mothers], minlength=self.runs)
        per_run = np.minimum(0.9, rate * total / np.maximum(m, 1))
        return self.birth_scale * per_run[self.run]

    def _reform(self, state: State, streams: Streams, t: int, h: np.ndarray, young_share: np.ndarray) -> None:
        """A newly formed young household in place of households ``h`` (see the module docstring), whose adults use
        a smartphone with the share of people aged 20-34 of their hamlet who do (``young_share``, per hamlet)."""
        n = self.pop.n
        u = streams.slot_uniforms("demography.form", t, h, n, SLOTS)
        share = young_share[self.pop.hamlet[h]]
        state.age[:, h] = -1
        state.female[:, h] = False
        state.phone[:, h] = False
        state.age[0, h] = (22 + np.floor(u[0] * 10)).astype(np.int16)
        state.age[1, h] = (22 + np.floor(u[1] * 10)).astype(np.int16)
        state.female[1, h] = True
        child = u[2] < 0.5
        state.age[2, h[child]] = np.floor(u[3][child] * 5).astype(np.int16)
        state.female[2, h[child]] = u[7][child] < FEMALE_SHARE
        state.phone[0, h] = u[4] < share
        state.phone[1, h] = u[5] < share
        state.adopted[:, h] = False
        state.exposure[h] = 0.0
        state.last_visit[h] = -1
        young = np.minimum(state.age[0, h], state.age[1, h]).astype(np.float64)
        noise = ndtri(np.clip(u[6], 1e-12, 1 - 1e-12))
        at = self._at
        state.skill[h] = skill_of(young, self.pop.income_rank[h], noise, at(self.skill_base, h), at(self.slope, h),
                                  at(self.skill_income, h), at(self.skill_noise, h))

    @staticmethod
    def _at(x, h: np.ndarray):
        return x if np.ndim(x) == 0 else x[h]

    def _young_phone_share(self, h: np.ndarray, age: np.ndarray, phone: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Per hamlet, the share of its people aged 20-34 who use a smartphone (0 where it has none), from the
        members (household h, age, phone; living on where ``keep``)."""
        return _young_share_kernel(self.pop.hamlet, h, age, phone, keep, self.pop.n_hamlets)

    def _phones_and_products(self, state: State) -> None:
        """A household uses a smartphone exactly when one of its members does. When its last user died or left,
        the phone passes to the member who would take up a first one (``people.first_user``); a household left
        with no member old enough gives it up."""
        has_phone = state.phone.any(axis=0)
        orphan = np.flatnonzero(state.adopted[SMARTPHONE] & ~has_phone)
        if orphan.size:
            able = hand_phones(state.age, state.phone, orphan, self._at(self.min_age, orphan))
            state.phone_users[orphan] = working_users(np.take(state.age, orphan, axis=1),
                                                      np.take(state.phone, orphan, axis=1))
            has_phone[orphan[able]] = True
        lost = np.flatnonzero(state.adopted[SMARTPHONE] & ~has_phone)
        state.adopted[SMARTPHONE] = has_phone
        if lost.size:
            enforce_prerequisites(state.adopted, lost)


@njit(cache=True, nogil=True)
def _age_living(age: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every living member (age >= 0 in the (SLOTS, n) ``age``) a year older, in place; and their flat indices
    (slot * n + household), slots, households and new ages, in flat order. One pass to count, one to fill (a
    pass of numpy calls would read the slots five times)."""
    slots, n = age.shape
    count = 0
    for s in range(slots):
        for i in range(n):
            count += age[s, i] >= 0
    k = np.empty(count, dtype=np.int64)
    slot = np.empty(count, dtype=np.int64)
    h = np.empty(count, dtype=np.int64)
    ages = np.empty(count, dtype=age.dtype)
    m = 0
    for s in range(slots):
        for i in range(n):
            a = age[s, i]
            if a >= 0:
                a += 1
                age[s, i] = a
                k[m], slot[m], h[m], ages[m] = s * n + i, s, i, a
                m += 1
    return k, slot, h, ages


@njit(cache=True, nogil=True)
def _young_share_kernel(hamlet_of, h, age, phone, keep, hamlets):
    """``Demography._young_phone_share``: one pass over the members."""
    total, used = np.zeros(hamlets), np.zeros(hamlets)
    for j in range(h.size):
        if keep[j] and 20 <= age[j] < 35:
            c = hamlet_of[h[j]]
            total[c] += 1.0
            if phone[j]:
                used[c] += 1.0
    out = np.zeros(hamlets)
    for c in range(hamlets):
        if total[c] > 0:
            out[c] = used[c] / total[c]
    return out
