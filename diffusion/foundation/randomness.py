"""Seeded random streams, one per random process, from a numpy SeedSequence.

Every random process in a run (population synthesis, network, adoption of each product, churn, member
uptake, thresholds, visit targeting, rollout order) has its own child stream with a fixed position in
the run's SeedSequence, so switching a lever on never shifts another process's numbers (common random
numbers across scenarios).

The monthly decisions use *counter-based* uniforms: the draw for household ``i`` in month ``t`` of a
process is a SplitMix64 hash of (process key, t, i). It is the same whatever else happens in the run and
can be computed for only the households that need one, which keeps the monthly step cheap.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from numba import njit

from diffusion.foundation.errors import ParameterError

#: Fixed positions of each process's child stream in the run's SeedSequence. Append only: changing a
#: position changes every result.
PROCESSES: tuple[str, ...] = (
    "population",
    "network",
    "initial",
    "thresholds",
    "adopt.smartphone",
    "adopt.mobile_data",
    "adopt.fibre",
    "adopt.services",
    "churn.smartphone",
    "churn.mobile_data",
    "churn.fibre",
    "churn.services",
    "members",
    "visits",
    "rollout",
    "mesa",
    "payments",
    "wake.churn.smartphone",
    "wake.churn.mobile_data",
    "wake.churn.fibre",
    "wake.churn.services",
    "wake.members",
    "wake.adopt.smartphone",
    "wake.adopt.mobile_data",
    "wake.adopt.fibre",
    "wake.adopt.services",
    "outreach.smartphone",
    "outreach.mobile_data",
    "outreach.fibre",
    "outreach.services",
    "wake.outreach.smartphone",
    "wake.outreach.mobile_data",
    "wake.outreach.fibre",
    "wake.outreach.services",
    "coverage",
    "people.first",
    "people.member",
    "demography.death",
    "demography.birth",
    "demography.leave",
    "demography.form",
    "demography.renew",
)

def as_seed_sequence(seed) -> np.random.SeedSequence:
    """Turn an int, a SeedSequence or None (fresh entropy) into a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise ParameterError("seed", seed, "a whole number >= 0, a numpy SeedSequence, or None")
    return np.random.SeedSequence(int(seed))


class Streams:
    """The random streams of one run.

    Args:
        seed: an int, a ``numpy.random.SeedSequence`` (as spawned by the experiment layer) or None.
    """

    def __init__(self, seed=None):
        self.seed_sequence = as_seed_sequence(seed)
        self._children = {
            name: np.random.SeedSequence(
                self.seed_sequence.entropy,
                spawn_key=tuple(self.seed_sequence.spawn_key) + (k,),
                pool_size=self.seed_sequence.pool_size,
            )
            for k, name in enumerate(PROCESSES)
        }
        # What the compiled draws need (see ``_uniform``): each process's key, one per run (here one), and for
        # stacked runs each household's run, its counter in month 0 and each run's month stride (empty for a single
        # run, whose stride the caller gives).
        self._keys = {name: ss.generate_state(1, np.uint64) for name, ss in self._children.items()}
        self.layout = None
        self._run = _EMPTY_I
        self._local = _EMPTY_U
        self._strides = None
        #: months simulated before month 0 of this phase (a run's window after its history, see
        #: ``model.engine``): the counter-based draws of month t are those of month ``offset + t``
        self.offset = 0

    def shifted(self, months: int) -> Streams:
        """The same streams for a phase that starts ``months`` months later (its month t draws the numbers of
        month ``months + t``, never those of an earlier phase)."""
        out = copy.copy(self)
        out.offset = self.offset + int(months)
        return out

    @classmethod
    def stack(cls, streams: list[Streams], layout) -> Streams:
        """The streams of several stacked runs (see ``population.RunLayout``): each household draws from
        its own run's streams at its index within that run, so a stacked run draws exactly the numbers
        it draws alone. Counter-based draws only (``uniforms``); generators belong to single runs."""
        out = cls.__new__(cls)
        out.seed_sequence = None
        out._children = {}
        out._keys = {name: np.concatenate([s._keys[name] for s in streams]) for name in PROCESSES}
        out.layout = layout
        out.offset = streams[0].offset
        # counter of household i in month 0 (its index within its run, plus one) and each run's month stride
        out._run = np.ascontiguousarray(layout.run, dtype=np.int64)
        out._local = (np.arange(layout.run.shape[0]) - layout.offsets[layout.run] + 1).astype(np.uint64)
        out._strides = layout.sizes.astype(np.uint64)
        return out

    def kernel_args(self, process: str, n_total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(keys, run, local, strides) of the compiled draws of ``process`` for households of a run of ``n_total``
        (see ``_uniform``)."""
        strides = self._strides if self._strides is not None else np.array([n_total], dtype=np.uint64)
        return self._keys[process], self._run, self._local, strides

    def slot_uniforms(self, process: str, month: int, index: np.ndarray, n_total: int, slots: int) -> np.ndarray:
        """Counter-based uniforms (slots, len(index)) for the member slots of households ``index`` (each slot
        draws as a month of its own: month * slots + slot)."""
        base = (month + self.offset) * slots
        return np.stack([self._draw(process, base + s, index, n_total) for s in range(slots)])

    def member_uniforms(self, process: str, month: int, slot: np.ndarray, household: np.ndarray, n_total: int,
                        slots: int, flat: np.ndarray | None = None) -> np.ndarray:
        """The values of ``slot_uniforms`` for the members (``slot[i]``, ``household[i]``) only. ``flat`` (their
        flat indices, slot * n_total + household), when given, saves a step for a single run: the counter of a
        member is then its flat index in the month's block of slots * n_total."""
        if flat is not None and self.layout is None:
            return self._draw(process, (month + self.offset) * slots, flat, n_total)
        return self._draw(process, (month + self.offset) * slots + np.asarray(slot), household, n_total)

    def generator(self, process: str) -> np.random.Generator:
        """A fresh numpy Generator for ``process`` (same numbers every time it is asked for)."""
        if self.layout is not None:
            raise RuntimeError("stacked runs draw counter-based uniforms only; use each run's own Streams")
        return np.random.default_rng(self._children[process])

    def uniforms(self, process: str, month: int, index: np.ndarray, n_total: int) -> np.ndarray:
        """Counter-based uniforms in [0, 1) for households ``index`` in ``month`` of ``process``.

        The value for a household depends only on the run's seed, the process, the month and the
        household, never on which other households are drawn for.
        """
        return self._draw(process, month + self.offset, index, n_total)

    def _draw(self, process: str, month, index: np.ndarray, n_total: int) -> np.ndarray:
        """``uniforms`` at an absolute month (the phase's offset already added; an int, or one per index)."""
        idx = np.asarray(index, dtype=np.int64).reshape(-1)
        months = np.asarray(month, dtype=np.int64).reshape(-1)
        return _draw_kernel(*self.kernel_args(process, n_total), months, idx)


class WakeChain:
    """Months at which each household's Bernoulli(p) trial of a monthly event succeeds.

    An event that happens with probability at most ``p`` per household per month (adopting a product,
    giving one up, a further member starting to use a phone) is simulated by drawing the gaps between
    successes of the monthly Bernoulli(p) trials (geometric, from the ``wake.<process>`` stream keyed by
    household and month) instead of a uniform for every household every month. At a success the caller
    accepts the event with probability P_i / p. This is the same process in law; it depends only on the
    seed, the process and ``p`` (a function of the parameters, never of the levers or the state), so
    common random numbers across scenarios hold exactly. A month costs one comparison per household and
    the rest in proportion to the households whose trial succeeds.

    The chain restarts at the start of every epoch of ``EPOCH_SUCCESSES / p`` months (at least a year): a gap
    that would cross into the next epoch is replaced by the first gap of that epoch, drawn from its own start.
    Months stay independent Bernoulli(p) trials (the gaps are memoryless), and a household's successes in an
    epoch depend on that epoch alone, which is what makes parking cheap and exact:

    A household for which the event cannot happen (a product it already uses, for its adoption chain) can be
    ``park``-ed: its successes are skipped without drawing the next one, which saves the work. ``unpark`` walks
    the chain on to the current month, from the success it was waiting for when parked if that lies in the
    current epoch, else from the epoch's start, so a chain's successes are the same whether or not it was ever
    parked: parking changes no number.

    Args:
        streams: the run's streams.
        process: the process name (its stream is ``wake.<process>``).
        p: the bound on the monthly probability, 0..1; for stacked runs one bound per run.
        n: households.
        horizon: the last month that will be simulated.
    """

    #: Expected successes per epoch of the largest bound (the epoch is this many months over p, and at least 12).
    EPOCH_SUCCESSES = 6

    def __init__(self, streams: Streams, process: str, p, n: int, horizon: int):
        self.process, self.n, self.horizon = process, n, int(horizon)
        self._stream = f"wake.{process}"
        p = np.atleast_1d(np.asarray(p, dtype=np.float64))  # one bound per run
        with np.errstate(divide="ignore"):
            log_q = np.log1p(-np.minimum(p, 1.0))
            #: months per epoch (per run for stacked runs: each run's from its own bound, so a run's numbers never
            #: depend on the runs stacked with it)
            epoch = np.where(p > 0, np.maximum(12, np.ceil(self.EPOCH_SUCCESSES / p)), self.horizon + 1)
        self.epoch = int(epoch[0]) if epoch.size == 1 else epoch.astype(np.int64)
        # what the compiled kernels need, in the order of their arguments (see ``_next_success``)
        self._law = (*streams.kernel_args(self._stream, n), np.int64(streams.offset), p, log_q,
                     np.atleast_1d(epoch).astype(np.int64), np.int64(self.horizon + 1))
        # the smallest type that holds every month (a month's pass over all households reads this array)
        dtype = next(d for d in (np.uint8, np.int16, np.int32) if self.horizon + 1 <= np.iinfo(d).max)
        self.next = np.empty(n, dtype=dtype)
        _first_successes(self.next, *self._law)
        #: households whose chain is parked (its successes are skipped until ``unpark``)
        self.parked = np.zeros(n, dtype=bool)

    def park(self, idx: np.ndarray) -> None:
        """Skip the successes of households ``idx`` from now on."""
        self.parked[idx] = True

    def unpark(self, t: int, idx: np.ndarray) -> None:
        """Stop skipping, after month t, the successes of those of households ``idx`` that are parked: their
        chains are walked on to their first success after month t (as if they had never been parked; see
        ``_restart``)."""
        _unpark(self.next, self.parked, np.int64(t), np.asarray(idx, dtype=np.int64).reshape(-1), *self._law)

    def park_where(self, t: int, park: np.ndarray, idx: np.ndarray | None = None) -> None:
        """Park the chains of households ``idx`` (default: all) where ``park`` (aligned with idx) is True and restart
        the others (``unpark`` after month t): what ``park`` and ``unpark`` do, in one pass."""
        idx = _EMPTY_I if idx is None else np.asarray(idx, dtype=np.int64).reshape(-1)
        _park_where(self.next, self.parked, np.int64(t), np.asarray(park, dtype=np.bool_).reshape(-1), idx, *self._law)

    def due(self, t: int) -> np.ndarray:
        """Households (sorted ids) whose trial succeeds in month t and whose chain is not parked; their chains
        move on."""
        return _due(self.next, self.parked, np.int64(t), *self._law)


# ----------------------------------------------------------------------------------------------------------------
# Compiled kernels (numba). Each works on one household at a time and is called once per month for the households
# that need it, so the month costs no Python per household. The numbers are those of the formulas in the
# docstrings above, computed in the same order in float64 and uint64.

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(b) for b in (30, 27, 31, 11))
_ONE = np.uint64(1)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_U = np.empty(0, dtype=np.uint64)


@njit(cache=True, inline="always")
def _uniform(keys, run, local, strides, month, i):
    """The counter-based uniform of household i (a stacked index when ``run`` is not empty) in absolute ``month``:
    SplitMix64 of (key, counter), top 53 bits. A single run's counter is i + 1 + month * n, a stacked run's is
    the household's index within its run plus one, plus month * its run's size."""
    if run.size == 0:
        key = keys[0]
        x = np.uint64(i) + _ONE + np.uint64(month) * strides[0]
    else:
        r = run[i]
        key = keys[r]
        x = local[i] + np.uint64(month) * strides[r]
    x = x * _GAMMA + key
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    x >>= _S11
    return float(x) * _TO_UNIT


@njit(cache=True, nogil=True)
def _draw_kernel(keys, run, local, strides, months, idx):
    out = np.empty(idx.size, dtype=np.float64)
    one = months.size == 1
    for j in range(idx.size):
        out[j] = _uniform(keys, run, local, strides, months[0] if one else months[j], idx[j])
    return out


@njit(cache=True, inline="always")
def _next_success(t, i, keys, run, local, strides, offset, p, log_q, epoch, last):
    """The next success after month t (a success, or the start of an epoch) of household i's chain (``last``: not
    in the run). A gap that would cross into the next epoch is replaced by that epoch's first gap, drawn from its
    start."""
    r = 0 if run.size == 0 else run[i]
    pr, lq, e = p[r], log_q[r], epoch[r]
    end = (t // e + 1) * e
    while True:
        if pr >= 1.0:
            gap = 1
        elif pr <= 0.0:
            gap = last
        else:
            u = _uniform(keys, run, local, strides, t + offset, i)
            gap = int(min(math.floor(math.log1p(-u) / lq), float(last))) + 1
        nxt = t + gap
        if nxt <= end or end >= last:
            return min(nxt, last)
        t = end
        end = t + e


@njit(cache=True, nogil=True)
def _first_successes(nxt, keys, run, local, strides, offset, p, log_q, epoch, last):
    for i in range(nxt.size):
        nxt[i] = _next_success(0, i, keys, run, local, strides, offset, p, log_q, epoch, last)


@njit(cache=True, nogil=True)
def _due(nxt, parked, t, keys, run, local, strides, offset, p, log_q, epoch, last):
    """One pass over the households: those whose next success is month t and whose chain is not parked, in order;
    their chains move on."""
    out = np.empty(nxt.size, dtype=np.int64)  # (not written beyond the hits: the allocation costs nothing)
    k = 0
    for i in range(nxt.size):
        if nxt[i] == t and not parked[i]:
            out[k] = i
            k += 1
            nxt[i] = _next_success(t, i, keys, run, local, strides, offset, p, log_q, epoch, last)
    return out[:k].copy()


@njit(cache=True, inline="always")
def _restart(nxt, parked, t, i, keys, run, local, strides, offset, p, log_q, epoch, last):
    """Household i's chain, parked until month t, walked to its first success after month t: from the success it
    was waiting for when it was parked (``nxt[i]``, left as it was), when that lies in the epoch of month t + 1,
    else from the start of that epoch. A success after an epoch's start was drawn within that epoch (a gap that
    would cross into an epoch is replaced by one drawn from its start), so either way the walk follows the
    chain's own successes."""
    parked[i] = False
    e = epoch[0 if run.size == 0 else run[i]]
    start = (t // e) * e
    m = np.int64(nxt[i])
    if m <= start:
        m = _next_success(start, i, keys, run, local, strides, offset, p, log_q, epoch, last)
    while m <= t:
        m = _next_success(m, i, keys, run, local, strides, offset, p, log_q, epoch, last)
    nxt[i] = m


@njit(cache=True, nogil=True)
def _unpark(nxt, parked, t, idx, keys, run, local, strides, offset, p, log_q, epoch, last):
    for i in idx:
        if parked[i]:
            _restart(nxt, parked, t, i, keys, run, local, strides, offset, p, log_q, epoch, last)


@njit(cache=True, nogil=True)
def _park_where(nxt, parked, t, park, idx, keys, run, local, strides, offset, p, log_q, epoch, last):
    every = idx.size == 0 and park.size == nxt.size  # (no ids: every household, park aligned with them)
    for j in range(park.size):
        i = j if every else idx[j]
        if park[j]:
            parked[i] = True
        elif parked[i]:
            _restart(nxt, parked, t, i, keys, run, local, strides, offset, p, log_q, epoch, last)
