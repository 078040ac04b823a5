"""The households' social network as a compressed sparse adjacency, built with vectorised code.

Inside each hamlet a Watts-Strogatz small world: a ring where every household is tied to its
``mean_degree / 2`` nearest neighbours on each side, each tie rewired to a random household of the same
hamlet with probability ``rewiring``. Between hamlets of one commune, ``inter_hamlet_ties`` extra ties per
household join random pairs. The "complete" network is well-mixed: every household sees the whole
population (used for the Bass-limit check), and no matrix is stored.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

from diffusion.model.params import ModelParams
from diffusion.model.population import Population


class Network:
    """Who sees whom. ``share_of`` serves the monthly step.

    Attributes:
        adjacency: scipy CSR matrix (float32, symmetric, no self-ties) or None when well-mixed.
        degree: ties per household (float32); for the complete network, n - 1.
    """

    def __init__(self, n: int, adjacency: sp.csr_matrix | None, layout=None):
        self.n = n
        self.adjacency = adjacency
        #: RunLayout of stacked runs (a well-mixed network is then well mixed within each run)
        self.layout = layout if layout is not None and layout.runs > 1 else None
        if adjacency is None:
            if self.layout is None:
                self.degree = np.full(n, n - 1, dtype=np.float32)
            else:
                self.degree = (self.layout.sizes[self.layout.run] - 1).astype(np.float32)
        else:
            self.degree = np.diff(adjacency.indptr).astype(np.float32)

    @property
    def well_mixed(self) -> bool:
        return self.adjacency is None

    def share_of(self, idx: np.ndarray, x: np.ndarray, total: float | None = None) -> np.ndarray:
        """Share of neighbours with x True, for households ``idx`` only (float64).

        Cost is proportional to the ties of ``idx``, not to the population. ``total`` (x.sum()) may be
        passed for the well-mixed network.
        """
        if idx.size == 0:
            return np.zeros(0)
        if self.adjacency is None:
            if self.layout is not None:
                L = self.layout
                totals = np.bincount(L.run, weights=x, minlength=L.runs)
                r = L.run[idx]
                return (totals[r] - x[idx]) / np.maximum(L.sizes[r] - 1, 1)
            if total is None:
                total = float(np.count_nonzero(x))
            return (total - x[idx]) / max(self.n - 1, 1)
        a = self.adjacency
        return _share_kernel(a.indptr, a.indices, np.asarray(idx, dtype=np.int64), x)

    def neighbours(self, i: int) -> np.ndarray:
        """Ids of household ``i``'s neighbours (all others when well-mixed)."""
        if self.adjacency is None:
            return np.delete(np.arange(self.n), i)
        a = self.adjacency
        return a.indices[a.indptr[i] : a.indptr[i + 1]].copy()

    @classmethod
    def stack(cls, networks: list[Network], layout) -> Network:
        """Several runs' networks as one block-diagonal network (no ties between runs)."""
        n = int(layout.offsets[-1])
        if networks[0].adjacency is None:
            return cls(n, None, layout)
        indptr = [np.zeros(1, dtype=np.int64)]
        indices = []
        for i, net in enumerate(networks):
            a = net.adjacency
            indptr.append(a.indptr[1:].astype(np.int64) + (indptr[-1][-1] if i else 0))
            indices.append(a.indices.astype(np.int64) + layout.offsets[i])
        indices = np.concatenate(indices)
        adj = sp.csr_matrix((np.ones(indices.shape[0], dtype=np.float32), indices.astype(np.int32),
                             np.concatenate(indptr).astype(np.int32)), shape=(n, n))
        return cls(n, adj, layout)

    @property
    def n_ties(self) -> int:
        if self.adjacency is None:
            return self.n * (self.n - 1) // 2
        return int(self.adjacency.nnz // 2)


def build_network(pop: Population, params: ModelParams, rng: np.random.Generator) -> Network:
    """Build the network of ``pop`` (see the module docstring) from the run's "network" stream."""
    n = pop.n
    if params.network == "complete":
        return Network(n, None)
    bounds = pop.hamlet_bounds()
    start = bounds[pop.hamlet]
    size = (bounds[1:] - bounds[:-1])[pop.hamlet]
    local = np.arange(n) - start
    half = params.mean_degree // 2
    half_h = np.minimum(half, (size - 1) // 2)
    src_parts, dst_parts = [], []
    for d in range(1, half + 1):
        # One ring tie per household and distance; drawn for every household so the stream never shifts.
        u_rewire = rng.random(n)
        u_target = rng.random(n)
        keep = d <= half_h
        target_local = (local + d) % np.maximum(size, 1)
        rewired = u_rewire < params.rewiring
        random_other = (local + 1 + (u_target * np.maximum(size - 1, 1)).astype(np.int64)) % np.maximum(size, 1)
        target_local = np.where(rewired, random_other, target_local)
        src_parts.append(np.flatnonzero(keep))
        dst_parts.append((start + target_local)[keep])
    # Small hamlets whose ring is too short still get ties (complete inside the hamlet).
    small = np.flatnonzero((size - 1) // 2 < half)
    if small.size:
        s_local = local[small]
        s_size = size[small]
        for d in range(1, int(s_size.max())):
            ok = (s_local + d) < s_size
            src_parts.append(small[ok])
            dst_parts.append(small[ok] + d)
    m = int(round(params.inter_hamlet_ties * n))
    if m > 0 and pop.n_communes >= 1 and pop.n_hamlets > 1:
        cb = pop.commune_bounds()
        i = rng.integers(0, n, m)
        c = pop.commune[i]
        lo, hi = cb[c], cb[c + 1]
        j = lo + (rng.random(m) * (hi - lo)).astype(np.int64)
        ok = pop.hamlet[i] != pop.hamlet[j]
        src_parts.append(i[ok])
        dst_parts.append(j[ok])
    src = np.concatenate(src_parts).astype(np.int64)
    dst = np.concatenate(dst_parts).astype(np.int64)
    ok = src != dst
    src, dst = src[ok], dst[ok]
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    adj = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1.0
    adj.sort_indices()
    return Network(n, adj)


@njit(cache=True, nogil=True)
def _share_kernel(indptr, indices, idx, x):
    """Share of the neighbours of households ``idx`` with x True, read from the CSR adjacency (0 for a household
    without ties); compiled, so the month pays for the ties of ``idx`` alone."""
    out = np.empty(idx.size, dtype=np.float64)
    for j in range(idx.size):
        i = idx[j]
        lo, hi = indptr[i], indptr[i + 1]
        count = 0
        for k in range(lo, hi):
            count += x[indices[k]]
        out[j] = count * (1.0 / (hi - lo)) if hi > lo else 0.0
    return out
