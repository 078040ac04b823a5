"""The chains of Bernoulli successes that drive every monthly event (``randomness.WakeChain``): each month is an
independent Bernoulli(p) trial, across epoch boundaries too, and parking a chain changes none of its successes."""

from __future__ import annotations

import numpy as np

from diffusion.foundation.randomness import Streams, WakeChain


def _successes(chain: WakeChain, months: int) -> np.ndarray:
    hits = np.zeros((months + 1, chain.n), dtype=bool)
    for t in range(1, months + 1):
        hits[t, chain.due(t)] = True
    return hits[1:]


def test_each_month_is_an_independent_bernoulli_trial():
    p, n, months = 0.15, 200_000, 60
    chain = WakeChain(Streams(5), "members", p, n, horizon=months)
    assert chain.epoch == 40  # (6 successes expected per epoch)
    hits = _successes(chain, months)
    rate = hits.mean(axis=1)
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(rate - p) < 5 * se), rate  # every month, those at the epoch's edges included
    both = (hits[:-1] & hits[1:]).mean(axis=1)  # consecutive months, across the boundary at 40 too
    assert np.all(np.abs(both - p * p) < 5 * np.sqrt(p * p / n))


def test_parking_changes_no_success():
    """Chains parked and restarted at random: in every month, the awake households succeed exactly where the
    never-parked chain does."""
    n, months = 5_000, 100
    free = _successes(WakeChain(Streams(9), "members", 0.2, n, horizon=months), months)
    chain = WakeChain(Streams(9), "members", 0.2, n, horizon=months)
    rng = np.random.default_rng(0)
    for t in range(1, months + 1):
        awake = ~chain.parked
        hits = np.zeros(n, dtype=bool)
        hits[chain.due(t)] = True
        np.testing.assert_array_equal(hits, free[t - 1] & awake)
        chain.park(rng.choice(n, 500, replace=False))
        chain.unpark(t, rng.choice(n, 700, replace=False))
    assert 0 < chain.parked.sum() < n
