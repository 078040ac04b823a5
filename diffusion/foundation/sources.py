"""Package data: observations with their sources, place presets and policy targets.

The files live in ``diffusion/data/`` and are read with their source columns, so every figure the model
uses can be traced to a page. Place names are returned in Unicode NFC.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from diffusion.foundation.errors import ParameterError, check_choice


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("diffusion.data").joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return [{k: unicodedata.normalize("NFC", v) for k, v in row.items()} for row in csv.DictReader(lines)]


@cache
def observations() -> tuple[dict[str, str], ...]:
    """Rows of observations.csv (place, indicator, value, unit, date, source_url, note)."""
    return tuple(_read_csv("observations.csv"))


@cache
def parameters() -> tuple[dict[str, str], ...]:
    """Rows of parameters.csv (name, value, unit, basis, source): where each default number comes from."""
    return tuple(_read_csv("parameters.csv"))


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


@cache
def places() -> dict[str, Place]:
    """All place presets by key."""
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
        )
    return out


def place(key: str) -> Place:
    """The preset ``key`` (thon_dong, dam_buon, commune, quang_ninh, well_mixed)."""
    table = places()
    check_choice("place", key, tuple(table))
    return table[key]


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
