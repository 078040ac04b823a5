"""A pyABC sampler that simulates its proposals in batches (``BatchSampler``).

pyABC's own samplers simulate one parameter vector per call. Here each round of a generation draws a batch of
proposals in this process (pyABC's transition kernels, from numpy's global generator seeded from the
calibration's seed, the generation and the round), simulates all of them at once through the evaluation service
(``Simulator.batch``: the runs of a setup stacked in ``engine.run_batch``, chunks spread over the workers), and
then lets pyABC draw the same proposals again and judge them, in order, against the simulated results, keeping
the first ``n`` accepted. pyABC's own function does the drawing and judging both times (the first time the
simulator only records what it is asked for), so its kernels, weights and acceptance are used as they are.
Runs stacked by the hundred cost a fraction of the same runs one by one, which is what makes a calibration to
series from 2008 affordable.

Because every proposal is drawn here and every simulation is seeded by its parameter values, the calibration is
the same whatever the number of workers or where they run.

pyABC (about a second to import) is imported only when a sampler is made (``batch_sampler``).
"""

from __future__ import annotations

import math
from concurrent.futures import Executor

import numpy as np

from diffusion.analyses.calibration.simulate import CALIBRATION_STREAM, Simulator, theta_key

#: Proposals simulated in one round at most (bounds memory: every run of a round is held at once).
MAX_ROUND = 4000


def batch_sampler(simulator: Simulator, seed: int, pool: Executor | None, workers: int, min_chunk: int,
                  progress=None):
    """A pyABC sampler that simulates in batches: ``BatchSampling`` on pyABC's ``Sampler`` (see its arguments)."""
    global _SAMPLER
    if _SAMPLER is None:
        from pyabc.sampler import Sampler

        _SAMPLER = type("BatchSampler", (BatchSampling, Sampler), {"__doc__": BatchSampling.__doc__})
    return _SAMPLER(simulator, seed, pool, workers, min_chunk, progress)


_SAMPLER = None


class BatchSampling:
    """pyABC sampler (mixed into pyABC's ``Sampler`` by ``batch_sampler``): proposals drawn in rounds,
    simulated together (see the module docstring).

    Args:
        simulator: the calibration's simulator (its cache receives each round's results).
        seed: the calibration's root seed.
        pool: an executor to spread a round's chunks over, or None to simulate in this process.
        workers: the executor's workers (chunks per round).
        min_chunk: fewest simulations in one chunk.
        progress: called with (generation, accepted, needed, simulations) after every round.
    """

    def __init__(self, simulator: Simulator, seed: int, pool: Executor | None, workers: int, min_chunk: int,
                 progress=None):
        super().__init__()
        self.simulator, self.seed, self.pool = simulator, int(seed), pool
        self.workers, self.min_chunk, self.progress = max(1, int(workers)), max(1, int(min_chunk)), progress
        self.rate = 1.0  # acceptance rate of the last round (sets the next round's size)

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                ana_vars=None):
        """Rounds of: draw the proposals (``simulate_one`` with the simulator recording instead of
        simulating), simulate them together, then draw the same proposals again (numpy's global generator
        re-seeded) and let pyABC judge them against the simulated results, in order."""
        sample = self._create_empty_sample()
        done, round_no = 0, 0
        while sample.n_accepted < n and done < max_eval:
            need = n - sample.n_accepted
            size = need if all_accepted else math.ceil(1.2 * need / max(self.rate, 0.01))
            size = int(min(max(size, need, self.workers * self.min_chunk), MAX_ROUND, max_eval - done))
            self._seed(t, round_no)
            self.simulator.recording = []
            try:
                for _ in range(size):
                    simulate_one()
                thetas = self.simulator.recording
            finally:
                self.simulator.recording = None
            self._simulate(thetas)
            self._seed(t, round_no)
            accepted0, used = sample.n_accepted, 0
            for _ in range(size):
                sample.append(simulate_one())
                used += 1
                if sample.n_accepted >= n:
                    break
            self.simulator.cache.clear()
            done += used
            self.rate = max((sample.n_accepted - accepted0) / max(used, 1), 1.0 / (used + 1))
            round_no += 1
            if self.progress is not None:
                self.progress(t, sample.n_accepted, n, done)
        self.nr_evaluations_ = done
        if sample.n_accepted < n:
            sample.ok = False
        return sample

    def _seed(self, t: int, round_no: int) -> None:
        """Seed numpy's global generator, which pyABC's kernels draw from, for this generation and round."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(CALIBRATION_STREAM, 0xABC, t + 1, round_no))
        np.random.seed(ss.generate_state(1, np.uint32)[0])

    def _simulate(self, thetas: list[dict]) -> None:
        """Simulate a round's proposals (chunks over the workers) into the simulator's cache."""
        fresh, seen = [], set()
        for th in thetas:
            key = theta_key(th)
            if key not in seen:
                seen.add(key)
                fresh.append(th)
        if self.pool is None:
            results = self.simulator.batch(fresh)
        else:
            size = max(self.min_chunk, math.ceil(len(fresh) / self.workers))
            futures = [self.pool.submit(self.simulator.batch, fresh[i:i + size])
                       for i in range(0, len(fresh), size)]
            results = [r for f in futures for r in f.result()]
        for th, res in zip(fresh, results):
            self.simulator.cache[theta_key(th)] = res

