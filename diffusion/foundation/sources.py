"""Package data: observations with their sources, place presets and policy targets.

The files live in ``diffusion/data/`` and are read with their source columns, so every figure the model
uses can be traced to a page. Place names are returned in Unicode NFC. The text columns a report shows have a
Vietnamese twin named ``<column>_vi`` (observations.csv: place, indicator, value, date, note; parameters.csv:
source; places.csv: basis); ``in_language`` picks one, ``Place.basis_in`` a place's basis.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from diffusion.foundation.errors import (
    ParameterError,
    check_choice,
    check_positive,
    check_rate,
    check_share,
    check_whole,
)


@cache
def data_digest() -> str:
    """SHA-256 of the package's data files (``diffusion/data/*.csv``): what charts drawn from them (observed
    points, sources, labels) depend on besides a run's results."""
    h = hashlib.sha256()
    for entry in sorted(resources.files("diffusion.data").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".csv"):
            h.update(entry.name.encode("utf-8"))
            h.update(hashlib.sha256(entry.read_bytes()).digest())
    return h.hexdigest()


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("diffusion.data").joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return [{k: unicodedata.normalize("NFC", v) for k, v in row.items()} for row in csv.DictReader(lines)]


def in_language(row: Mapping[str, str], column: str, lang: str) -> str:
    """A text column of a data file's row in ``lang``: its Vietnamese twin ``<column>_vi`` when ``lang`` is "vi"
    and the row has one that is not empty, otherwise the column as written (English)."""
    if lang == "vi" and row.get(f"{column}_vi"):
        return row[f"{column}_vi"]
    return row[column]


@cache
def observations() -> tuple[dict[str, str], ...]:
    """Rows of observations.csv (place, indicator, value, unit, date, source_url, note, and place_vi,
    indicator_vi, value_vi, date_vi, note_vi in Vietnamese: see ``in_language``). Code matches and parses the
    English columns; the Vietnamese ones are for reading."""
    return tuple(_read_csv("observations.csv"))


@cache
def parameters() -> tuple[dict[str, str], ...]:
    """Rows of parameters.csv (name, value, unit, basis, source, source_vi, min, max): where each default number
    comes from (source_vi: the source in Vietnamese, see ``in_language``)."""
    return tuple(_read_csv("parameters.csv"))


@dataclass(frozen=True)
class SeriesRow:
    """A row of world_series.csv: a dated value of one series for one area, with its source."""

    series: str
    area: str
    year: float
    value: float
    unit: str
    basis: str
    source_url: str
    note: str


@cache
def world_series() -> tuple[SeriesRow, ...]:
    """Rows of world_series.csv: the dated incomes, prices, inflation and coverage the model reads."""
    out = []
    for r in _read_csv("world_series.csv"):
        out.append(SeriesRow(r["series"], r["area"], float(r["year"]), float(r["value"]), r["unit"], r["basis"],
                             r["source_url"], r["note"]))
    return tuple(out)


@cache
def demography() -> tuple[dict[str, str], ...]:
    """Rows of demography.csv: census counts, age structure, birth and death rates."""
    return tuple(_read_csv("demography.csv"))


@dataclass(frozen=True)
class Place:
    """A place preset: how many communes, hamlets and households, and where the numbers come from."""

    key: str
    name: str
    communes: int
    hamlets: int
    households: int
    income_multiplier: float
    basis: str
    source_url: str
    area: str = "rural"
    urban_share: float = 0.0
    infrastructure_lag_years: float = 0.0

    def basis_in(self, lang: str) -> str:
        """The basis in ``lang``: a preset's Vietnamese basis (basis_vi of places.csv) when ``lang`` is "vi";
        otherwise, and for a place that is not a preset (a config's [places.<key>] table, ``make_place``), the
        basis as written."""
        if lang == "vi" and places().get(self.key) == self:
            return _basis_vi().get(self.key) or self.basis
        return self.basis


@cache
def _basis_vi() -> dict[str, str]:
    """Preset key -> its basis in Vietnamese (places.csv basis_vi; kept out of Place, whose fields are what a
    setup hashes)."""
    return {r["key"]: r.get("basis_vi") or "" for r in _read_csv("places.csv")}


@cache
def places() -> dict[str, Place]:
    """All place presets by key (their Vietnamese basis: ``Place.basis_in``)."""
    out = {}
    for r in _read_csv("places.csv"):
        out[r["key"]] = Place(
            key=r["key"],
            name=r["name"],
            communes=int(r["communes"]),
            hamlets=int(r["hamlets"]),
            households=int(r["households"]),
            income_multiplier=float(r["income_multiplier"]),
            basis=r["basis"],
            source_url=r["source_url"],
            area=r["area"],
            urban_share=float(r["urban_share"]),
            infrastructure_lag_years=float(r["infrastructure_lag_years"]),
        )
    return out


def place(key: str) -> Place:
    """The preset ``key`` (see places.csv)."""
    table = places()
    check_choice("place", key, tuple(table))
    return table[key]


_URL = re.compile(r"https?://\S+")


def make_place(key: str, name: str, households: int, hamlets: int, communes: int = 1, income_multiplier: float = 1.0,
               area: str = "rural", urban_share: float = 0.0, infrastructure_lag_years: float = 0.0,
               source: str = "") -> Place:
    """A place that is not a preset (a config's ``[places.<key>]`` table), its numbers checked.

    ``source`` says where the numbers come from; it becomes the place's ``basis``, and the first web address in
    it its ``source_url``. ``area`` must be one of ``diffusion.model.world.AREAS``: the config schema checks it
    (this layer does not know the income series).

    Raises:
        ParameterError: naming the first field with a value that is not allowed (``households``, ...).
    """
    c = check_whole("communes", communes, minimum=1)
    h = check_whole("hamlets", hamlets, minimum=1)
    n = check_whole("households", households, minimum=1)
    if h < c:
        raise ParameterError("hamlets", hamlets, f"a whole number >= communes ({c}): every commune has at least "
                             "one hamlet")
    if n < h:
        raise ParameterError("households", households, f"a whole number >= hamlets ({h}): every hamlet has at "
                             "least one household")
    m = check_positive("income_multiplier", income_multiplier)
    u = check_share("urban_share", urban_share)
    lag = check_rate("infrastructure_lag_years", infrastructure_lag_years)
    if not isinstance(name, str) or not name.strip():
        raise ParameterError("name", name, "the place's name as text (diacritics welcome)")
    url = _URL.search(source or "")
    return Place(key=key, name=unicodedata.normalize("NFC", name.strip()), communes=c, hamlets=h, households=n,
                 income_multiplier=m, basis=source or "", source_url=url.group(0).rstrip(").,;") if url else "",
                 area=area, urban_share=u, infrastructure_lag_years=lag)


@dataclass(frozen=True)
class Target:
    """A policy target: ``metric`` reaches ``share`` by month ``by``."""

    target: str
    metric: str
    share: float
    by: str
    label_en: str
    label_vi: str
    source_url: str
    note: str

    def label(self, lang: str) -> str:
        """The target's description in ``lang`` ("vi": Vietnamese, otherwise English)."""
        return self.label_vi if lang == "vi" else self.label_en


@cache
def targets() -> tuple[Target, ...]:
    """The Resolution 09 targets (targets.csv)."""
    rows = _read_csv("targets.csv")
    out = []
    for r in rows:
        try:
            share = float(r["share"])
        except ValueError:
            raise ParameterError("targets.csv share", r["share"], "a number between 0 and 1") from None
        out.append(Target(**{**r, "share": share}))
    return tuple(out)
