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
        some = rng.choice(n, 300, replace=False)  # (and both at once: park where True, restart the others)
        chain.park_where(t, rng.random(some.size) < 0.5, some)
    assert 0 < chain.parked.sum() < n


def _splitmix_unit(key: int, counter: int) -> float:
    """SplitMix64 of (key, counter), top 53 bits as a uniform: plain Python integers, the reference."""
    mask = 2**64 - 1
    x = (counter * 0x9E3779B97F4A7C15 + key) & mask
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & mask
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & mask
    x ^= x >> 31
    return (x >> 11) / 2**53


def test_counter_based_uniforms_are_splitmix64_of_key_and_counter():
    """The compiled draws against the reference: a single run's counter is i + 1 + month * n; a stacked run draws
    what it draws alone (its own key, its index within its run); a phase's offset shifts the month."""
    from diffusion.model.population import RunLayout

    a, b = Streams(3), Streams(4).shifted(7)
    n, month = 1_000, 2**40 + 5  # (a month large enough for the counter to wrap around 2**64)
    idx = np.array([0, 1, 499, 999])
    key = int(a._keys["adopt.fibre"][0])
    expected = [_splitmix_unit(key, (int(i) + 1 + month * n) % 2**64) for i in idx]
    np.testing.assert_array_equal(a.uniforms("adopt.fibre", month, idx, n), expected)
    stacked = Streams.stack([a, b.shifted(-7)], RunLayout(np.array([0, n, n + 300]), np.array([0, 1, 2])))
    got = stacked.uniforms("members", 11, np.array([3, n + 3, n + 299]), n + 300)
    np.testing.assert_array_equal(got, [a.uniforms("members", 11, np.array([3]), n)[0],
                                        b.uniforms("members", 4, np.array([3]), 300)[0],
                                        b.uniforms("members", 4, np.array([299]), 300)[0]])
