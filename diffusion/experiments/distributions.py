"""One distribution type for everything that varies: ``[uncertainties]`` of an experiment, the factors of a
sensitivity study and the priors of a calibration.

A config table gives ``dist`` and its keys (``lower``/``upper``, ``mode``, ``mean``/``sd``, ``values``, or
``from`` a file of draws); ``read_distribution`` checks the table once, with the same messages for all
three uses, and returns a ``Distribution``. What the uses differ in is only which distributions they
allow and how they turn a number in [0, 1) into a value:

- ``quantile(q)``: the distribution's quantiles (a design of levels or a Latin hypercube); whole numbers
  are the rounded quantiles;
- ``unit(u)``: a coordinate of a sensitivity design's unit cube; whole numbers ``lower..upper`` are equally
  likely (SALib's estimators assume every value has the same share of the cube), and a normal's tails are
  cut at 1e-9;
- ``bounds()``: the support, or mean ± 3 sd for an unbounded normal (charts of priors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from diffusion.experiments.schema import StrictModel

DISTRIBUTIONS: tuple[str, ...] = ("uniform", "loguniform", "triangular", "normal", "lognormal", "choice", "empirical")
NUMERIC: tuple[str, ...] = ("uniform", "loguniform", "triangular", "normal", "lognormal")

#: dist -> (keys it needs, keys it may take besides)
KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "uniform": (frozenset({"lower", "upper"}), frozenset()),
    "loguniform": (frozenset({"lower", "upper"}), frozenset()),
    "triangular": (frozenset({"lower", "upper", "mode"}), frozenset()),
    "normal": (frozenset({"mean", "sd"}), frozenset({"lower", "upper"})),
    "lognormal": (frozenset({"mean", "sd"}), frozenset({"lower", "upper"})),
    "choice": (frozenset({"values"}), frozenset()),
    "empirical": (frozenset({"from"}), frozenset({"column"})),
}


class DistributionKeys(StrictModel):
    """The keys of a distribution in a config table (the tables of uncertainties, factors and priors add
    their own keys to these)."""

    dist: Literal[DISTRIBUTIONS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Distribution: uniform (lower, upper; the default), loguniform (0 < lower < upper), triangular "
        "(lower, mode, upper), normal (mean, sd; truncated to lower/upper if given), lognormal (mean and sd of the "
        "log; truncated likewise), choice (values), empirical (from).",
    )
    lower: float | None = Field(None, description="Lower bound, in the parameter's unit.")
    upper: float | None = Field(None, description="Upper bound, in the parameter's unit (> lower).")
    mode: float | None = Field(None, description="Most likely value (triangular).")
    mean: float | None = Field(None, description="Mean (normal) or mean of the log (lognormal).")
    sd: float | None = Field(None, gt=0, description="Standard deviation (normal) or sd of the log (lognormal), > 0.")
    values: list[bool | int | float | str | list[Any]] | None = Field(
        None, min_length=1, description="Discrete values to choose from (dist choice), e.g. [4, 6, 8].")
    integer: bool | None = Field(
        None, description="Round values to whole numbers (default: when the parameter is a whole number).")


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """A distribution of one parameter's values.

    Attributes:
        dist: one of DISTRIBUTIONS.
        lower, upper, mode, mean, sd: its numbers (those ``dist`` takes; None otherwise).
        values: the choices of ``choice``.
        integer: values are whole numbers.
        source, column: the draws file and its column (``empirical``).
    """

    dist: str
    lower: float | None = None
    upper: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    values: tuple[Any, ...] | None = None
    integer: bool = False
    source: str | None = None
    column: str | None = None

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantiles ``q`` (0..1) of a numeric distribution."""
        from scipy import stats  # (imported here: scipy.stats takes a noticeable time to load in every worker)

        q = np.asarray(q, dtype=float)
        lo, hi = self.lower, self.upper
        if self.dist == "uniform":
            return lo + q * (hi - lo)
        if self.dist == "loguniform":
            return np.exp(np.log(lo) + q * (np.log(hi) - np.log(lo)))
        if self.dist == "triangular":
            return stats.triang.ppf(q, (self.mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        if self.dist not in ("normal", "lognormal"):
            raise ValueError(f"dist {self.dist!r} has no quantile function")
        log = self.dist == "lognormal"
        a = -np.inf if lo is None else ((np.log(lo) if lo > 0 else -np.inf) if log else lo)
        b = np.inf if hi is None else ((np.log(hi) if hi > 0 else -np.inf) if log else hi)
        z = stats.truncnorm.ppf(q, (a - self.mean) / self.sd, (b - self.mean) / self.sd, loc=self.mean, scale=self.sd)
        return np.exp(z) if log else z

    def quantile(self, q: np.ndarray) -> list[Any]:
        """Values at quantiles ``q`` (choice: the ``floor(q * len(values))``-th value; whole numbers rounded)."""
        q = np.asarray(q, dtype=float)
        if self.dist == "choice":
            rows = np.minimum((q * len(self.values)).astype(np.int64), len(self.values) - 1)
            return [plain(self.values[i], self.integer) for i in rows]
        v = self.ppf(q)
        if self.integer:
            v = np.round(np.asarray(v, dtype=float))
        return [plain(x, self.integer) for x in v]

    def unit(self, u: np.ndarray) -> list[Any]:
        """Values at coordinates ``u`` of a sensitivity design's unit cube (see the module docstring)."""
        u = np.asarray(u, dtype=float)
        if self.dist == "choice":
            idx = np.clip((u * len(self.values)).astype(np.int64), 0, len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.integer and self.dist == "uniform":  # whole numbers lower..upper, each equally likely
            lo, hi = math.ceil(self.lower), math.floor(self.upper)
            return [int(x) for x in np.clip(lo + np.floor(u * (hi - lo + 1)), lo, hi)]
        v = np.asarray(self.ppf(np.clip(u, 1e-9, 1 - 1e-9) if self.dist in ("normal", "lognormal") else u),
                       dtype=float)
        if self.integer:
            return [int(x) for x in np.round(v)]
        return [float(x) for x in v]

    def bounds(self) -> tuple[float, float]:
        """(low, high): the support, or mean ± 3 sd where a normal has no bound."""
        if self.lower is not None and self.upper is not None:
            return (self.lower, self.upper)
        lo = self.lower if self.lower is not None else self.mean - 3 * self.sd
        hi = self.upper if self.upper is not None else self.mean + 3 * self.sd
        return (lo, hi)

    def extremes(self) -> list[Any]:
        """Values at the edges of the distribution, to check the parameter accepts them before any run."""
        if self.values is not None:
            return list(self.values)
        out = [v for v in (self.lower, self.upper, self.mode, self.mean) if v is not None]
        return [round(v) if self.integer else v for v in out]

    def distribution(self) -> Distribution:
        """The distribution alone (without what a subclass adds)."""
        return Distribution(**{f: getattr(self, f) for f in Distribution.__dataclass_fields__})


def plain(x: Any, integer: bool) -> Any:
    """numpy scalars -> Python values (they go into ModelParams and JSON); whole floats -> int when integer."""
    if isinstance(x, np.generic):
        x = x.item()
    if integer and isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def read_distribution(sec: DistributionKeys, path: str, problems: list[tuple[str, str]], *,
                      allowed: tuple[str, ...] = DISTRIBUTIONS, integer: bool = False, source: str | None = None,
                      column: str | None = None) -> Distribution | None:
    """Check a table's distribution keys and return the Distribution (None after appending problems).

    Args:
        sec: the validated table; ``dist`` is inferred when absent (``from`` -> empirical, ``values`` ->
            choice, ``mean`` (or ``sd`` without both bounds) -> normal, else uniform).
        path: the table's dotted config path (problems name ``<path>.<key>``).
        allowed: the distributions this use accepts.
        integer: the default of ``integer`` (whether the parameter is a whole number).
        source, column: the ``from`` and ``column`` keys of a table that has them.
    """
    given = {k for k in ("lower", "upper", "mode", "mean", "sd", "values") if getattr(sec, k) is not None}
    if source is not None:
        given.add("from")
    if column is not None:
        given.add("column")
    bounded = {"lower", "upper"} <= given
    dist = sec.dist or ("empirical" if "from" in given else "choice" if "values" in given
                        else "normal" if "mean" in given or ("sd" in given and not bounded) else "uniform")
    if dist not in allowed:
        problems.append((f"{path}.dist", f"{dist!r} is not allowed here: one of {', '.join(map(repr, allowed))}"))
        return None
    need, may = KEYS[dist]
    before = len(problems)
    for k in sorted(need - given):
        problems.append((f"{path}.{k}", f"is required for dist = {dist!r}"))
    for k in sorted(given - need - may):
        problems.append((f"{path}.{k}", (f"is not used by dist = {dist!r} (it takes "
                                         f"{', '.join(sorted(need | may))}); remove it")))
    lo, hi = sec.lower, sec.upper
    if lo is not None and hi is not None and not lo < hi:
        problems.append((f"{path}.upper", f"{hi!r} is not allowed: upper must be greater than lower ({lo!r})"))
    if dist in ("loguniform", "lognormal") and lo is not None and lo <= 0:
        problems.append((f"{path}.lower", f"{lo!r} is not allowed: {dist} needs lower > 0"))
    if dist == "triangular" and None not in (lo, hi, sec.mode) and not lo <= sec.mode <= hi:
        problems.append((f"{path}.mode", f"{sec.mode!r} is not allowed: a value between lower and upper"))
    if dist == "normal" and sec.mean is not None and ((lo is not None and sec.mean < lo) or
                                                      (hi is not None and sec.mean > hi)):
        problems.append((f"{path}.mean", f"{sec.mean!r} is not allowed: a value between lower and upper"))
    if len(problems) > before:
        return None
    return Distribution(dist=dist, lower=lo, upper=hi, mode=sec.mode, mean=sec.mean, sd=sec.sd,
                        values=tuple(sec.values) if sec.values is not None else None,
                        integer=bool(sec.integer if sec.integer is not None else integer),
                        source=source, column=column)
