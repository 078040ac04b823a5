"""The world a run lives in: incomes, prices and network coverage of each month, read from the dated tables
of ``diffusion/data/world_series.csv`` (every row with its source).

Money is in VND at 2022 prices (the year of the income survey behind ``income_mean_vnd``): nominal values
are deflated with the consumer price index (``cpi_inflation``, yearly averages placed at mid-year).

- Income: a place's households keep their income rank; their income per person in month t is their
  income at 2022 times the real income index of the place's area (national, urban, rural or a region)
  at t over 2022. The index interpolates the household surveys log-linearly between survey years (values
  at mid-year); after the last survey it grows at the area's average real growth of its last five
  survey years (derived); before the first it shrinks at the growth of the first two surveys.
- Prices: each product's price and fee in month t is its 2022 value (``ProductParams``) times the real
  price index of its series at t over 2022, interpolated log-linearly between dated observations and held
  constant outside them (assumption: no trend is invented beyond the data).
- Coverage: the share of hamlets reached by mobile broadband (3G, then 4G) and by fixed broadband,
  interpolated linearly and held at the last value after it. A hamlet is reached when the share passes its
  own threshold (drawn once per run; stratified over the place's hamlets), so the model's rollout follows the
  national curve on average. Places may delay it (``Place.infrastructure_lag_years``) and levers may
  replace it from their start (``InfrastructureRollout``).

Runs may start in any month of the tables (``HISTORY_START`` to ``LAST_START``) and continue past them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from diffusion.foundation.calendar import parse_month
from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import world_series

#: The first month of the tables: every run's history starts here.
HISTORY_START = "2008-01"
#: Money is expressed at the prices of this year.
PRICE_YEAR = 2022
#: The series each product's price and monthly fee follow (None: no price).
PRICE_SERIES: dict[str, tuple[str | None, str | None]] = {
    "smartphone": ("price_smartphone_entry", None),
    "mobile_data": (None, "price_mobile_data_month"),
    "fibre": ("price_fibre_month", "price_fibre_month"),
    "services": (None, None),
}
#: The series of the networks' reach.
COVERAGE_SERIES = {"mobile": "coverage_mobile_broadband_population", "fibre": "coverage_fixed_broadband_hamlets"}
#: Areas of the income series a place may follow.
AREAS: tuple[str, ...] = ("national", "urban", "rural", "red_river_delta", "northern_midlands_mountains", "southeast")


def absolute_month(text: str) -> int:
    """"YYYY-MM" as a month count (year * 12 + month - 1)."""
    y, m = parse_month(text)
    return y * 12 + m - 1


def _month_of(year: float) -> float:
    """A table's year (whole: the yearly value, placed at mid-year; decimal: year + (month - 1) / 12)."""
    return year * 12 + 6 if float(year).is_integer() else year * 12


@functools.cache
def _points(series: str, area: str = "national") -> tuple[np.ndarray, np.ndarray]:
    """(months, values) of a series for an area, sorted by month (later rows win on equal months)."""
    pts: dict[float, float] = {}
    for row in world_series():
        if row.series == series and row.area == area:
            pts[_month_of(row.year)] = row.value
    if not pts:
        raise ParameterError("world series", f"{series} ({area})", "a series of diffusion/data/world_series.csv")
    months = np.array(sorted(pts))
    return months, np.array([pts[m] for m in months])


@functools.cache
def _cpi_level() -> tuple[np.ndarray, np.ndarray]:
    """(months, log price level) at mid-years from the yearly inflation rates, 0 at mid-2022."""
    months, rates = _points("cpi_inflation")
    years = ((months - 6) / 12).astype(int)
    log_level = np.concatenate([[0.0], np.cumsum(np.log1p(rates[1:] / 100.0))])  # level of each year / first year
    ref = np.interp(PRICE_YEAR * 12 + 6, months, log_level)
    return years * 12.0 + 6, log_level - ref


def log_price_level(month: float) -> float:
    """log(CPI at ``month`` / CPI in 2022), interpolated between mid-years, extrapolated at the nearest rate."""
    m, lv = _cpi_level()
    if month <= m[0]:
        return float(lv[0] + (month - m[0]) * (lv[1] - lv[0]) / (m[1] - m[0]))
    if month >= m[-1]:
        return float(lv[-1] + (month - m[-1]) * (lv[-1] - lv[-2]) / (m[-1] - m[-2]))
    return float(np.interp(month, m, lv))


@functools.cache
def _real_log(series: str, area: str) -> tuple[np.ndarray, np.ndarray]:
    """(months, log real value at 2022 prices) of a nominal money series."""
    months, values = _points(series, area)
    return months, np.log(values) - np.array([log_price_level(m) for m in months])


def _growth_tail(months: np.ndarray, logs: np.ndarray, n_last: int) -> float:
    """Average log growth per month over the last ``n_last`` points (0 with fewer than two)."""
    k = min(n_last, len(months))
    return float((logs[-1] - logs[-k]) / (months[-1] - months[-k])) if k >= 2 else 0.0


def income_index(area: str, month: float) -> float:
    """Real income per person in ``month`` over 2022, in ``area`` (see the module docstring)."""
    m, lg = _real_log("income_per_capita_month", area)
    ref = _log_interp(m, lg, PRICE_YEAR * 12 + 6, _growth_tail(m, lg, 6), (lg[1] - lg[0]) / (m[1] - m[0]))
    value = _log_interp(m, lg, month, _growth_tail(m, lg, 6), (lg[1] - lg[0]) / (m[1] - m[0]))
    return math.exp(value - ref)


def _log_interp(m: np.ndarray, lg: np.ndarray, month: float, after: float, before: float) -> float:
    if month < m[0]:
        return float(lg[0] + (month - m[0]) * before)
    if month > m[-1]:
        return float(lg[-1] + (month - m[-1]) * after)
    return float(np.interp(month, m, lg))


def price_index(series: str, month: float) -> float:
    """Real price of ``series`` in ``month`` over 2022 (held at the nearest observation outside the data)."""
    m, lg = _real_log(series, "national")
    ref = float(np.interp(PRICE_YEAR * 12 + 6, m, lg))
    return math.exp(float(np.interp(month, m, lg)) - ref)


def coverage(network: str, month):
    """Share of hamlets reached by ``network`` ("mobile" or "fibre") in ``month`` (0..1; months may be an array)."""
    m, v = _points(COVERAGE_SERIES[network])
    out = np.interp(month, m, v, left=0.0 if network == "mobile" else v[0]) / 100.0
    return float(out) if np.ndim(out) == 0 else out


@functools.lru_cache(maxsize=64)
def _coverage_curve(network: str, first: int, last: int, lag_months: int) -> np.ndarray:
    """The running maximum of the share reached in months first..last, delayed by ``lag_months``."""
    return np.maximum.accumulate(coverage(network, np.arange(first, last + 1, dtype=np.float64) - lag_months))


@functools.cache
def last_start() -> str:
    """The last month a run may start in: the last month of the income and price tables."""
    last = max(_points("income_per_capita_month", "national")[0][-1], _points("cpi_inflation")[0][-1])
    last = int(last)
    return f"{last // 12:04d}-{last % 12 + 1:02d}"


def check_start(start: str, name: str = "start") -> str:
    """``start`` if a run may start then (from HISTORY_START to ``last_start()``), else ParameterError."""
    m = absolute_month(start)
    if not absolute_month(HISTORY_START) <= m <= absolute_month(last_start()):
        raise ParameterError(name, start, f"a month from {HISTORY_START} (the first month of the dated tables in "
                             f"diffusion/data/world_series.csv) to {last_start()} (their last)")
    return start


@dataclass(frozen=True)
class MonthWorld:
    """The world of one month, as the step reads it: the real income index of the place's area, and per
    product the price and fee indices (1 in 2022)."""

    income: float
    price: tuple[float, ...]
    fee: tuple[float, ...]


@functools.lru_cache(maxsize=4096)
def month_world(area: str, month: int, products: tuple[str, ...]) -> MonthWorld:
    """The world of absolute month ``month`` for a place of ``area`` (cached: many runs share months)."""
    def idx(series: str | None) -> float:
        return 1.0 if series is None else price_index(series, month)

    return MonthWorld(income_index(area, month), tuple(idx(PRICE_SERIES[p][0]) for p in products),
                      tuple(idx(PRICE_SERIES[p][1]) for p in products))


def coverage_months(network: str, thresholds: np.ndarray, first: int, last: int, lag_months: int = 0) -> np.ndarray:
    """For hamlets with coverage thresholds in (0, 1), the absolute month each is reached (last + 1: not by
    ``last``), searching months ``first``..``last``; the place's lag delays the national curve."""
    curve = _coverage_curve(network, int(first), int(last), int(lag_months))
    # the share rises (or stays): a hamlet is reached in the first month its threshold is passed
    reached = np.searchsorted(curve, thresholds, side="left")
    return np.where(reached < curve.size, first + reached, last + 1)
