"""Tidy-results helpers shared by the charts: quantile bands over runs, dates, scenarios, observed points.

The input of every chart is the experiment layer's tidy long table (``timeseries.parquet``): one row per
scenario, replicate, design point and month, with ``date`` as "YYYY-MM" and the metric columns of
``AdoptionModel.timeseries()``. A *run* is one (replicate, design_point) pair; quantiles are taken over
runs, per scenario and month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from diffusion.foundation import sources
from diffusion.foundation.strings import STRINGS, tr

RUN_KEYS: tuple[str, ...] = ("replicate", "design_point")
#: Quantile levels drawn everywhere: the 90% and 50% intervals around the median.
LEVELS: dict[str, float] = {"p5": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}
#: Metrics drawn as adoption-over-time charts, in order.
ADOPTION_METRICS: tuple[str, ...] = (
    "share_smartphone",
    "share_mobile_data",
    "share_fibre",
    "share_internet",
    "share_services",
    "share_working_age_smartphone",
)
#: Indicators compared across scenarios, groups and hamlets (household shares).
MAIN_INDICATORS: tuple[str, ...] = ("smartphone", "internet", "fibre", "services")


def to_datetime64(dates) -> np.ndarray:
    """"YYYY-MM" strings as numpy datetime64[D] at the first day of the month (how charts place months)."""
    return np.array([np.datetime64(str(d)[:7] + "-01", "D") for d in np.asarray(dates).ravel()])


def run_keys(df: pd.DataFrame) -> list[str]:
    """The columns that identify a run within a scenario (those of RUN_KEYS present)."""
    return [k for k in RUN_KEYS if k in df.columns]


def scenarios_in(df: pd.DataFrame) -> list[str]:
    """Scenario names in order of first appearance (one unnamed scenario if the column is missing)."""
    if "scenario" not in df.columns:
        return [""]
    return list(dict.fromkeys(df["scenario"].astype(str)))


def of_scenario(df: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The rows of ``scenario`` (all rows when there is no scenario column)."""
    return df[df["scenario"].astype(str) == scenario] if "scenario" in df.columns else df


def n_runs(df: pd.DataFrame, scenario: str | None = None) -> int:
    """Number of runs (replicate x design point) of a scenario (or the largest over scenarios)."""
    keys = run_keys(df)
    if "scenario" in df.columns:
        if scenario is not None:
            df = of_scenario(df, scenario)
            return len(df.drop_duplicates(keys)) if keys else 1
        return max(n_runs(df, s) for s in scenarios_in(df))
    return len(df.drop_duplicates(keys)) if keys else 1


def compared_scenarios(results, reference: str | None, what: str) -> tuple[list[str], str, list[str]]:
    """All scenarios, the reference (given, or ``reference_scenario``) and the scenarios compared with
    it; ValueError naming ``what`` when there is nothing to compare."""
    scenarios = scenarios_in(results)
    reference = reference or reference_scenario(scenarios)
    others = [s for s in scenarios if s != reference]
    if not others:
        raise ValueError(f"{what} need at least one scenario besides the reference")
    return scenarios, reference, others


def reference_scenario(scenarios: list[str], preferred: str | None = None) -> str:
    """The scenario comparisons are made against.

    The first of: ``preferred`` (the config's reference scenario) if it is among ``scenarios``; a scenario
    named "reference" (or "baseline", "no_policy", "status_quo"); the first scenario.
    """
    if preferred is not None and str(preferred) in scenarios:
        return str(preferred)
    for name in ("reference", "baseline", "no_policy", "status_quo"):
        if name in scenarios:
            return name
    return scenarios[0]


def quantile_bands(df: pd.DataFrame, column: str, by: tuple[str, ...] = ("scenario", "month")) -> pd.DataFrame:
    """Quantiles over runs of ``column`` per ``by`` group (plus ``date`` if present).

    Returns:
        One row per group with ``by`` columns, ``date`` and p5, p25, p50, p75, p95 (NaN values ignored).
    """
    by = [b for b in by if b in df.columns]
    grouped = df.groupby(by, sort=True)
    out = pd.DataFrame({name: grouped[column].quantile(q) for name, q in LEVELS.items()})
    if "date" in df.columns and "date" not in by:
        out.insert(0, "date", grouped["date"].first())
    out = out.reset_index()
    return out.reset_index(drop=True)


def at_month(df: pd.DataFrame, month: int | None = None) -> tuple[pd.DataFrame, int, str]:
    """Rows of ``month`` (default: the last month of the run) with the month index and its date."""
    month = int(df["month"].max()) if month is None else int(month)
    rows = df[df["month"] == month]
    date = str(rows["date"].iloc[0]) if len(rows) and "date" in rows.columns else str(month)
    return rows, month, date


def month_of_date(df: pd.DataFrame, date: str) -> int | None:
    """Month index of "YYYY-MM" in the results, or None if the run does not cover it."""
    hit = df.loc[df["date"].astype(str) == date, "month"]
    return int(hit.iloc[0]) if len(hit) else None


# --------------------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class _ObservedSeries:
    place: str  # the "place" column of observations.csv
    indicator: str  # the "indicator" column
    metric: str  # the model output it is compared with


#: Package observations that are adoption rates comparable with a model output.
OBSERVED_SERIES: tuple[_ObservedSeries, ...] = (
    _ObservedSeries("Thon Dong (Duc Yen commune; Dam Ha)", "households that installed and use internet",
                    "share_internet"),
    _ObservedSeries("Thon Dam Buon (Dam Ha commune)", "households using smartphones and smart apps",
                    "share_smartphone"),
    _ObservedSeries("Quang Ninh", "households with fibre broadband internet", "share_fibre"),
)
#: Which observation places are shown on the charts of a place preset.
PLACE_OBSERVATIONS: dict[str, tuple[str, ...]] = {
    "thon_dong": ("Thon Dong (Duc Yen commune; Dam Ha)",),
    "dam_buon": ("Thon Dam Buon (Dam Ha commune)",),
    "commune": ("Quang Ninh",),
    "quang_ninh": ("Quang Ninh",),
}
_DISPLAY_PLACE = {
    "Thon Dong (Duc Yen commune; Dam Ha)": "Thôn Đông",
    "Thon Dam Buon (Dam Ha commune)": "Thôn Đầm Buôn",
    "Quang Ninh": "Quảng Ninh",
}


def _parse_date(text: str) -> tuple[str | None, bool]:
    """("YYYY-MM", approximate?) from observations.csv dates: "2023-06", "reported 2026-01-05", "c.2023"."""
    m = re.search(r"(\d{4})-(\d{2})", text)
    if m:
        return f"{m.group(1)}-{m.group(2)}", False
    m = re.search(r"c\.\s*(\d{4})", text)
    if m:
        return f"{m.group(1)}-07", True  # a year without a month: plotted at mid-year, marked approximate
    return None, False


def _parse_value(text: str) -> tuple[float | None, str]:
    """(share 0..1, qualifier) from "95", ">95", "~98"; qualifier is ">", "~" or ""."""
    m = re.fullmatch(r"\s*([<>~]?)\s*(\d+(?:\.\d+)?)\s*", text)
    if not m:
        return None, ""
    return float(m.group(2)) / 100.0, m.group(1)


def observed_points(place: str | None) -> pd.DataFrame:
    """Observed adoption rates for a place preset, from the package's observations.csv.

    Args:
        place: a place key ("thon_dong", "dam_buon", "commune", "quang_ninh"); other places have none.

    Returns:
        Columns metric, date ("YYYY-MM"), value (share 0..1), qualifier (">" lower bound, "~" about, ""),
        approximate_date (bool: only the year is known; plotted at July), place (display name, with
        diacritics), date_text (as in the source), date_text_vi (the same in Vietnamese, observations.csv
        date_vi), source (the source address).
    """
    cols = ["metric", "date", "value", "qualifier", "approximate_date", "place", "date_text", "date_text_vi",
            "source"]
    wanted = PLACE_OBSERVATIONS.get(place or "", ())
    rows = []
    for r in sources.observations():
        for s in OBSERVED_SERIES:
            if r["place"] == s.place and r["indicator"] == s.indicator and s.place in wanted:
                value, qual = _parse_value(r["value"])
                date, approx = _parse_date(r["date"])
                if value is None or date is None:
                    continue
                rows.append({
                    "metric": s.metric, "date": date, "value": value, "qualifier": qual,
                    "approximate_date": approx, "place": _DISPLAY_PLACE.get(s.place, s.place),
                    "date_text": r["date"], "date_text_vi": sources.in_language(r, "date", "vi"),
                    "source": r["source_url"],
                })
    return pd.DataFrame(rows, columns=cols)


def source_label(url: str) -> str:
    """Short form of a source address for a legend: its host name without "www."."""
    host = urlparse(str(url)).netloc
    return host[4:] if host.startswith("www.") else (host or str(url))


def place_name(key: str | None, lang: str = "en") -> str | None:
    """Display name of a place preset: proper names as in places.csv (with diacritics), descriptive
    presets ("commune", "well_mixed") in ``lang``; None for None."""
    if key is None:
        return None
    if f"place.{key}" in STRINGS:
        return tr(f"place.{key}", lang)
    p = sources.places().get(key)
    return p.name if p else key
