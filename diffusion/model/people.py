"""The members of the households: their ages, sex and smartphone use, as arrays of shape (slots, households).

Every household has ``SLOTS`` member slots; an empty slot has age -1. Slot 0 is the household head when it
is alive. Ages are whole years and grow by one every January (``model.demography``), when people may also
die, be born or leave home. What the household model reads of its members (size, working-age members,
elderly-only flag, the head's age, the age of its youngest adult) is derived here.

The initial members are drawn from the census age structure (2009 census, ``data/demography.csv``): the head's
age as the household model draws it; other working-age members (15-64) aged 15-24 with the probability that
gives the place the census share of 15-24 year olds (derived), else 25-64; other members children (0-14, from
the shares of 0-4 and 5-14) or, less often, people of 65 and over (``CHILD_SHARE_OF_DEPENDANTS``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from diffusion.foundation.sources import demography

#: Member slots per household (household size is at most this).
SLOTS = 15
#: Age bands of the people-level outputs (lower bounds; the last is open).
AGE_BANDS: tuple[str, ...] = ("15_24", "25_34", "35_44", "45_54", "55_64", "65_plus")
_BAND_EDGES = np.array([15, 25, 35, 45, 55, 65])
SEXES: tuple[str, ...] = ("male", "female")
#: Share of women among people: 48,327,923 / 96,208,984 (census 2019, demography.csv; derived).
FEMALE_SHARE = 0.5023
#: Of members who are neither the head nor of working age, the share who are children: set so that a place drawn
#: with the default parameters has about the 2009 census shares of people aged 0-14 (24.5%) and 65+ (6.4%)
#: (derived by trial: 26% and 7%; many people of 65+ head their household).
CHILD_SHARE_OF_DEPENDANTS = 0.92


@functools.cache
def census_shares() -> dict[str, float]:
    """Population shares of the 2009 census age groups (0-4, 5-14, 15-24, 25-64, 65+), from demography.csv."""
    out = {}
    for row in demography():
        if row["indicator"].startswith("age_share_") and row["date"] == "2009" and row["group"] == "national":
            out[row["indicator"].removeprefix("age_share_")] = float(row["value"]) / 100.0
    return out


@functools.cache
def _birth_rates() -> tuple[np.ndarray, np.ndarray]:
    """(absolute months at mid-year, crude birth rates per person) of the national yearly series."""
    pts: dict[int, float] = {}
    for row in demography():
        if row["indicator"] == "crude_birth_rate" and row["group"] == "national" and len(row["date"]) == 4:
            pts.setdefault(int(row["date"]), float(row["value"]) / 1000.0)  # (the first row of a year wins)
    years = np.array(sorted(pts))
    return years * 12.0 + 6, np.array([pts[y] for y in years])


def crude_birth_rate(month: int) -> float:
    """Births per person per year in absolute month ``month`` (national series of demography.csv, interpolated
    between mid-years and held at its first and last values)."""
    m, v = _birth_rates()
    return float(np.interp(month, m, v))


def _ages_in(rng: np.random.Generator, n: int, bands: list[tuple[int, int, float]]) -> np.ndarray:
    """``n`` whole ages drawn from bands (low, high inclusive, weight), uniform within a band."""
    if n == 0:
        return np.zeros(0, dtype=np.int16)
    w = np.array([b[2] for b in bands], dtype=float)
    which = rng.choice(len(bands), size=n, p=w / w.sum())
    lo = np.array([b[0] for b in bands])[which]
    hi = np.array([b[1] for b in bands])[which]
    return (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int16)


def draw_members(rng: np.random.Generator, size: np.ndarray, head_age: np.ndarray, working_age: np.ndarray,
                 elderly_only: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ages (SLOTS, n) int16 (-1: empty) and sex (SLOTS, n) bool (female) of every household's members: the
    head in slot 0, then its other working-age members, then its dependants (see the module docstring; the
    members of an elderly-only household are all 65 or over)."""
    n = size.shape[0]
    c = census_shares()
    slot = np.arange(SLOTS)[:, None]
    head_wa = (head_age >= 15) & (head_age < 65)
    others_wa = np.maximum(working_age.astype(np.int64) - head_wa, 0)
    is_wa = (slot >= 1) & (slot <= others_wa[None, :])
    filled = slot < size[None, :]
    dependant = filled & (slot >= 1) & ~is_wa
    age = np.full((SLOTS, n), -1, dtype=np.int16)
    age[0] = np.round(head_age).astype(np.int16)
    # the census share of 15-24 year olds among all people, carried by the non-head working-age members (heads
    # are rarely under 25): derived, so that the place's people have the census share of 15-24 year olds
    young = min(1.0, c["15_24"] * float(size.sum()) / max(int(is_wa.sum()), 1))
    age[is_wa] = _ages_in(rng, int(is_wa.sum()), [(15, 24, young), (25, 64, 1.0 - young)])
    child = (rng.random((SLOTS, n)) < CHILD_SHARE_OF_DEPENDANTS) & ~elderly_only[None, :]
    kids = dependant & child
    age[kids] = _ages_in(rng, int(kids.sum()), [(0, 4, c["0_4"]), (5, 14, c["5_14"])])
    old = dependant & ~child
    age[old] = _ages_in(rng, int(old.sum()), [(65, 74, 2.0), (75, 89, 1.0)])
    female = (rng.random((SLOTS, n)) < FEMALE_SHARE) & (age >= 0)
    return age, female


@dataclass
class Household:
    """What the household model reads of its members (arrays of length n)."""

    size: np.ndarray
    working_age: np.ndarray
    elderly_only: np.ndarray
    head_age: np.ndarray
    young_age: np.ndarray
    phone_users: np.ndarray | None = None  # working-age members using a smartphone (when phones were given)


def identical_members(n: int, size: int, working_age: int, head_age: float) -> tuple[np.ndarray, np.ndarray]:
    """Members of identical households (the Bass-limit check): the head, working-age members of 30, children of
    10; no random draws."""
    age = np.full((SLOTS, n), -1, dtype=np.int16)
    age[0] = round(head_age)
    age[1:working_age] = 30
    age[max(working_age, 1):size] = 10
    return age, np.zeros((SLOTS, n), dtype=bool)


def households_of(age: np.ndarray, phone: np.ndarray | None = None) -> Household:
    """Size, working-age members (15-64), elderly-only flag (members, all 65+), the head's age (slot 0, or the
    oldest member when the head has died) and the age of the youngest member of 15 or over (the head's age
    when there is none) of households with member ages ``age`` (SLOTS, n); with their phones, also the working-age
    members using a smartphone."""
    alive = age >= 0
    size = alive.sum(axis=0, dtype=np.int16)
    # ages as unsigned numbers: an empty slot (-1) is the largest, and so, counted from 15, is anyone under 15
    from15 = (age - np.int16(15)).view(np.uint16)
    working = from15 < 50
    wa = working.sum(axis=0, dtype=np.int16)
    elderly = (size > 0) & ~(age.view(np.uint16) < 65).any(axis=0)
    head = np.where(alive[0], age[0], age.max(axis=0)).astype(np.float32)
    adult = from15.min(axis=0)  # the youngest of 15 or over, counted from 15 (65535 and below: none)
    young = np.where(adult < 32768, adult.astype(np.int32) + 15, head).astype(np.float32)
    users = None if phone is None else (working & phone).sum(axis=0, dtype=np.int16)
    return Household(size, wa, elderly, head, young, users)


def age_bands(age: np.ndarray) -> np.ndarray:
    """The output age band of each person (index into AGE_BANDS; -1 under 15 or an empty slot)."""
    return (np.searchsorted(_BAND_EDGES, age, side="right") - 1).astype(np.int8)


def first_user(age: np.ndarray, min_age: int) -> np.ndarray:
    """For households with member ages ``age`` (SLOTS, m), the slot of the member who uses its first smartphone:
    the youngest of 15 or over, else the youngest old enough, else any member."""
    key = np.where(age >= 15, age.astype(np.int32),
                   np.where(age >= min_age, 1000 + age.astype(np.int32), np.where(age >= 0, 2000, 9999)))
    return key.argmin(axis=0)


def hand_phones(age: np.ndarray, phone: np.ndarray, households: np.ndarray, min_age) -> np.ndarray:
    """Give each of ``households`` (smartphone households none of whose members uses one) a user: the member who
    would take up its first (``first_user``), in ``phone`` in place. Returns which had a member old enough
    (``min_age``: one value, or one per household); the others get none."""
    a = np.take(age, households, axis=1)
    slot = first_user(a, min_age)
    able = a[slot, np.arange(households.size)] >= min_age
    phone[slot[able], households[able]] = True
    return able


def working_users(age: np.ndarray, phone: np.ndarray) -> np.ndarray:
    """Working-age (15-64) members using a smartphone, per household (int16)."""
    return (phone & (age >= 15) & (age < 65)).sum(axis=0).astype(np.int16)
