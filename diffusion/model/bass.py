"""The Bass-limit check: well-mixed, identical households, one product, no levers.

In that limit the model's mean adoption curve is the Bass curve. With monthly steps and the hazard
P = 1 - exp(-(p + q*s)/12), the expected share follows the discrete recursion

    F[t+1] = F[t] + (1 - F[t]) * (1 - exp(-(p + q * F[t] * n / (n - 1)) / 12)),   F[0] = 0

(``s`` is the adopters' share among the *other* n - 1 households), which tends to the continuous
Bass solution F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}) as the step shrinks.

Example:
    >>> from diffusion.model.bass import bass_model, discrete_bass
    >>> m = bass_model(p=0.03, q=0.38, months=120, seed=1)
    >>> m.run()
    >>> curve = discrete_bass(0.03, 0.38, 120, n=m.population.n)
"""

from __future__ import annotations

import numpy as np

from diffusion.foundation.calendar import DT_YEARS
from diffusion.foundation.errors import check_rate
from diffusion.model.adoption import AdoptionModel
from diffusion.model.params import ModelParams
from diffusion.model.world import HISTORY_START


def discrete_bass(p: float, q: float, months: int, n: int | None = None) -> np.ndarray:
    """Expected share of adopters at months 0..months in the model's monthly form (rates per year)."""
    check_rate("p", p)
    check_rate("q", q)
    factor = 1.0 if not n or n <= 1 else n / (n - 1)
    f = np.zeros(months + 1)
    for t in range(months):
        f[t + 1] = f[t] + (1 - f[t]) * -np.expm1(-(p + q * min(1.0, f[t] * factor)) * DT_YEARS)
    return f


def continuous_bass(p: float, q: float, years: np.ndarray) -> np.ndarray:
    """The continuous Bass curve F(t) for t in years."""
    t = np.asarray(years, dtype=float)
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def bass_model(p: float = 0.03, q: float = 0.38, households: int = 1000, months: int = 120,
               seed=None, **kwargs) -> AdoptionModel:
    """An AdoptionModel in the Bass limit: place "well_mixed" scaled to ``households``, from the first month of
    the world tables (no history before it: nobody has adopted at the start)."""
    kwargs.setdefault("start", HISTORY_START)
    return AdoptionModel(
        "well_mixed",
        params=ModelParams.bass(p, q),
        scale=households / 1000,
        months=months,
        seed=seed,
        **kwargs,
    )
