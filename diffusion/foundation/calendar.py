"""Monthly calendar: month indices from a start month ("YYYY-MM"), rates per year to monthly probabilities."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from diffusion.foundation.errors import ParameterError

#: Length of one model step in years (the model steps monthly).
DT_YEARS = 1.0 / 12.0

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str, name: str = "date") -> tuple[int, int]:
    """Parse ``"YYYY-MM"`` into (year, month); raise ParameterError otherwise."""
    m = _MONTH.match(text) if isinstance(text, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(name, text, 'a month written "YYYY-MM", for example "2023-06"')
    return int(m.group(1)), int(m.group(2))


def rate_to_prob(rate_per_year, dt_years: float = DT_YEARS):
    """Probability of at least one event in ``dt_years`` at a constant hazard: 1 - exp(-rate * dt)."""
    return -np.expm1(-np.asarray(rate_per_year) * dt_years)


@dataclass(frozen=True)
class Calendar:
    """The simulated months: month 0 is ``start``; ``months`` steps are simulated.

    The state recorded at month index t is the state at the *end* of calendar month ``start + t``
    (index 0 is the initial state at the start of ``start``, before any step).
    """

    start: str = "2021-01"
    months: int = 60

    def __post_init__(self):
        parse_month(self.start, "start")
        if isinstance(self.months, bool) or not isinstance(self.months, int | np.integer) or self.months < 1:
            raise ParameterError("months", self.months, "a whole number of months >= 1")

    @property
    def start_ym(self) -> tuple[int, int]:
        return parse_month(self.start, "start")

    def index(self, month: str, name: str = "date", allow_outside: bool = False) -> int:
        """Month index (0-based, from ``start``) of ``"YYYY-MM"``.

        Raises ParameterError if the month lies outside the simulated window (unless ``allow_outside``).
        """
        y, m = parse_month(month, name)
        y0, m0 = self.start_ym
        idx = (y - y0) * 12 + (m - m0)
        if not allow_outside and not 0 <= idx <= self.months:
            raise ParameterError(
                name, month, f"a month within the simulated window {self.start} to {self.label(self.months)}"
            )
        return idx

    def label(self, index: int) -> str:
        """The "YYYY-MM" of month index ``index``."""
        y0, m0 = self.start_ym
        total = y0 * 12 + (m0 - 1) + int(index)
        return f"{total // 12:04d}-{total % 12 + 1:02d}"

    def dates(self) -> np.ndarray:
        """Numpy datetime64[M] for indices 0..months."""
        return np.datetime64(self.start, "M") + np.arange(self.months + 1)
