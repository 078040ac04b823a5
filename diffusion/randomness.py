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

import numpy as np

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
)

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """Turn an int, a SeedSequence or None (fresh entropy) into a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        from .errors import ParameterError

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

    def generator(self, process: str) -> np.random.Generator:
        """A fresh numpy Generator for ``process`` (same numbers every time it is asked for)."""
        return np.random.default_rng(self._children[process])

    def seed_sequence_for(self, process: str) -> np.random.SeedSequence:
        return self._children[process]

    def uniforms(self, process: str, month: int, index: np.ndarray, n_total: int) -> np.ndarray:
        """Counter-based uniforms in [0, 1) for households ``index`` in ``month`` of ``process``.

        The value for a household depends only on the run's seed, the process, the month and the
        household, never on which other households are drawn for.
        """
        counter = np.uint64(month) * np.uint64(n_total) + index.astype(np.uint64) + np.uint64(1)
        return splitmix_uniform(self._keys[process], counter)


def splitmix_uniform(key: np.uint64, counter: np.ndarray) -> np.ndarray:
    """SplitMix64 output for stream ``key`` at positions ``counter``, as float64 uniforms in [0, 1)."""
    with np.errstate(over="ignore"):
        x = counter * _GAMMA
        x += key
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    x >>= np.uint64(11)
    return x.astype(np.float64) * (1.0 / 9007199254740992.0)
