"""Small numeric helpers shared by analyses and charts."""

from __future__ import annotations

import numpy as np


def weighted_quantiles(values, weights, qs) -> np.ndarray:
    """Quantiles of ``values`` under ``weights`` (inverse of the weighted empirical distribution)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)
