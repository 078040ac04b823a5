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

import numpy as np

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

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(b) for b in (30, 27, 31, 11))


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
        self._keys = {
            name: np.uint64(ss.generate_state(1, np.uint64)[0]) for name, ss in self._children.items()
        }
        self.layout = None
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
        out._keys = {name: np.array([s._keys[name] for s in streams], dtype=np.uint64) for name in PROCESSES}
        out.layout = layout
        out.offset = streams[0].offset
        # counter of household i in month 0 (its index within its run, plus one) and the month stride
        out._local = (np.arange(layout.run.shape[0]) - layout.offsets[layout.run] + 1).astype(np.uint64)
        same = bool(np.all(layout.sizes == layout.sizes[0]))
        out._stride = np.uint64(layout.sizes[0]) if same else layout.sizes.astype(np.uint64)
        return out

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
        month = np.asarray(month, dtype=np.uint64)
        if self.layout is not None:
            idx = np.asarray(index, dtype=np.int64)
            r = self.layout.run[idx]
            stride = self._stride if self._stride.ndim == 0 else self._stride[r]
            counter = self._local[idx]
            counter += month * stride
            return _unit(splitmix_bits(self._keys[process][r], counter))
        counter = np.asarray(index, dtype=np.int64).astype(np.uint64, copy=True)
        counter += month * np.uint64(n_total) + np.uint64(1)
        return _unit(splitmix_bits(self._keys[process], counter))


_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def _unit(bits: np.ndarray) -> np.ndarray:
    """53 random bits as a uniform in [0, 1)."""
    out = bits.astype(np.float64)
    out *= _TO_UNIT
    return out


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
    the chain from the start of the current epoch to the current month, so a chain's successes are the same
    whether or not it was ever parked: parking changes no number.

    Args:
        streams: the run's streams.
        process: the process name (its stream is ``wake.<process>``).
        p: the bound on the monthly probability, 0..1; for stacked runs one bound per run.
        n: households.
        horizon: the last month that will be simulated.
        run: for stacked runs, the run of each household (``RunLayout.run``).
    """

    #: Expected successes per epoch of the largest bound (the epoch is this many months over p, and at least 12).
    EPOCH_SUCCESSES = 6

    def __init__(self, streams: Streams, process: str, p, n: int, horizon: int, run: np.ndarray | None = None):
        self.streams, self.process, self.n, self.horizon = streams, process, n, int(horizon)
        self._stream = f"wake.{process}"
        p = np.asarray(p, dtype=np.float64)
        self.p = float(p.max())
        if p.ndim:  # one bound per run, kept per household
            p = p[run]
        self._p = p
        with np.errstate(divide="ignore"):
            self._log_q = np.log1p(-np.minimum(p, 1.0))
        self._interior = bool(np.all((p > 0) & (p < 1)))  # no bound of 0 or 1
        #: months per epoch (per household for stacked runs: each run's from its own bound, so a run's numbers
        #: never depend on the runs stacked with it)
        with np.errstate(divide="ignore"):
            epoch = np.where(p > 0, np.maximum(12, np.ceil(self.EPOCH_SUCCESSES / p)), self.horizon + 1)
        self.epoch = int(epoch) if epoch.ndim == 0 else epoch.astype(np.int64)
        # the smallest type that holds every month (a month's pass over all households reads this array)
        dtype = next(d for d in (np.uint8, np.int16, np.int32) if self.horizon + 1 <= np.iinfo(d).max)
        self.next = self._next(0, np.arange(n)).astype(dtype)
        #: households whose chain is parked (its successes are skipped until ``unpark``)
        self.parked = np.zeros(n, dtype=bool)

    def _epoch_of(self, idx: np.ndarray):
        return self.epoch if np.ndim(self.epoch) == 0 else self.epoch[idx]

    def _gap(self, t, idx: np.ndarray) -> np.ndarray:
        """Months from month t (a success, or the start of an epoch) to the next success of households idx."""
        u = self.streams.uniforms(self._stream, t, idx, self.n)
        log_q = self._log_q if self._log_q.ndim == 0 else self._log_q[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.floor(np.log1p(-u) / log_q)
        gap += 1.0
        if not self._interior:
            p = self._p if self._p.ndim == 0 else self._p[idx]
            gap = np.where(p >= 1, 1.0, np.where(p <= 0, self.horizon + 1, gap))
        return gap.astype(np.int64)

    def _next(self, t, idx: np.ndarray) -> np.ndarray:
        """The next success after month t (a success, or the start of an epoch; one month, or one per household)
        of each of households idx (horizon + 1: not in the run)."""
        last = self.horizon + 1
        if self.p <= 0 or idx.size == 0:
            return np.full(idx.size, last, dtype=np.int64)
        t = np.broadcast_to(np.asarray(t, dtype=np.int64), idx.shape)
        epoch = self._epoch_of(idx)
        nxt = t + self._gap(t, idx)
        end = (t // epoch + 1) * epoch  # the last month of the epoch that follows month t
        over = np.flatnonzero((nxt > end) & (end < last))
        while over.size:  # the gap crosses into the next epoch: that epoch's first gap, from its start
            start = end[over]
            nxt[over] = start + self._gap(start, idx[over])
            end[over] = start + (epoch if np.ndim(epoch) == 0 else epoch[over])
            over = over[(nxt[over] > end[over]) & (end[over] < last)]
        return np.minimum(nxt, last)

    def park(self, idx: np.ndarray) -> None:
        """Skip the successes of households ``idx`` from now on."""
        self.parked[idx] = True

    def unpark(self, t: int, idx: np.ndarray) -> None:
        """Stop skipping, after month t, the successes of those of households ``idx`` that are parked: their
        chains are walked from the start of the epoch of month t + 1 (as if they had never been parked)."""
        idx = idx[self.parked[idx]]
        if idx.size == 0:
            return
        self.parked[idx] = False
        epoch = self._epoch_of(idx)
        nxt = self._next((t // epoch) * epoch, idx)
        behind = np.flatnonzero(nxt <= t)
        while behind.size:
            nxt[behind] = self._next(nxt[behind], idx[behind])
            behind = behind[nxt[behind] <= t]
        self.next[idx] = nxt

    def due(self, t: int) -> np.ndarray:
        """Households (sorted ids) whose trial succeeds in month t and whose chain is not parked; their chains
        move on."""
        idx = np.flatnonzero(self.next == t)
        idx = idx[~self.parked[idx]]
        if idx.size:
            self.next[idx] = self._next(t, idx)
        return idx


def splitmix_bits(key: np.uint64, counter: np.ndarray) -> np.ndarray:
    """SplitMix64 output for stream ``key`` at positions ``counter`` (consumed), top 53 bits."""
    x = np.asarray(counter, dtype=np.uint64)
    if x.ndim == 0:  # scalar arithmetic would warn on the intended wrap-around; arrays wrap silently
        x = x.reshape(1)
    x *= _GAMMA
    x += key
    tmp = np.empty_like(x)  # (one scratch array for the shifts instead of one each)
    np.right_shift(x, _S30, out=tmp)
    x ^= tmp
    x *= _M1
    np.right_shift(x, _S27, out=tmp)
    x ^= tmp
    x *= _M2
    np.right_shift(x, _S31, out=tmp)
    x ^= tmp
    x >>= _S11
    return x
