"""Synthetic households and places (province -> commune -> hamlet).

Households are numbered so that each hamlet, and each commune, is a contiguous block; every attribute is
one numpy array indexed by household id. See ``ModelParams`` for each number's source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from diffusion.foundation.errors import ParameterError, check_positive
from diffusion.foundation.sources import Place
from diffusion.foundation.sources import place as get_place
from diffusion.model.params import ModelParams
from diffusion.model.people import draw_members, households_of, identical_members

#: Bounds of the age groups of the household head used in the outputs (years).
AGE_GROUPS: tuple[str, ...] = ("under_35", "35_49", "50_64", "65_plus")
_AGE_EDGES = np.array([35, 50, 65])


@dataclass
class Population:
    """The households of one place and their static attributes.

    Attributes (arrays of length ``n``):
        hamlet, commune: ids (hamlets are numbered across the whole place).
        size: persons; working_age: members aged 15-64; elderly_only: nobody of working age, head 65+.
        head_age: years; income: VND per person per month; household_income: VND per household per month.
        income_rank: 0..1 rank of income per person; quintile: 0..4 (0 poorest).
        poor, near_poor, leader: flags; age_group: index into AGE_GROUPS; skill: initial digital skill 0..1.
        member_age, member_female: (SLOTS, n) ages (-1: empty slot) and sex of the members (see ``model.people``).

    The household attributes that follow from the members (size, working-age members, elderly-only flag, the
    head's age and its group) are those of the start of the run's history; they change year by year with the
    members in the run's state (``dynamics.State``).
    """

    place: Place
    hamlet_names: list[str]
    commune_names: list[str]
    hamlet_commune: np.ndarray
    hamlet: np.ndarray
    commune: np.ndarray
    size: np.ndarray
    working_age: np.ndarray
    elderly_only: np.ndarray
    head_age: np.ndarray
    income: np.ndarray
    income_rank: np.ndarray
    quintile: np.ndarray
    poor: np.ndarray
    near_poor: np.ndarray
    leader: np.ndarray
    age_group: np.ndarray
    skill: np.ndarray
    member_age: np.ndarray
    member_female: np.ndarray
    #: values derived once from this population and its run's streams (static orders of the levers), kept
    #: for later runs that share the population (see ``engine.run_batch``)
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def derive(self, key: tuple, make):
        """A value made once from this population and its run's streams (``make()``), kept in ``derived``."""
        if key not in self.derived:
            self.derived[key] = make()
        return self.derived[key]

    @property
    def n(self) -> int:
        return int(self.hamlet.shape[0])

    @property
    def n_hamlets(self) -> int:
        return len(self.hamlet_names)

    @property
    def n_communes(self) -> int:
        return len(self.commune_names)

    def hamlet_bounds(self) -> np.ndarray:
        """Start offsets of each hamlet's block, length n_hamlets + 1."""
        return np.searchsorted(self.hamlet, np.arange(self.n_hamlets + 1)).astype(np.int64)

    def commune_bounds(self) -> np.ndarray:
        """Start offsets of each commune's block, length n_communes + 1."""
        return np.searchsorted(self.commune, np.arange(self.n_communes + 1)).astype(np.int64)

    def households_of(self, hamlets: np.ndarray) -> np.ndarray:
        """The ids of the households of ``hamlets``, hamlet after hamlet (households are built hamlet by hamlet, so
        each hamlet's are one block)."""
        bounds = self.hamlet_bounds()
        start, size = bounds[hamlets], bounds[hamlets + 1] - bounds[hamlets]
        return np.repeat(start - (np.cumsum(size) - size), size) + np.arange(size.sum())


@dataclass
class RunLayout:
    """Where each run's households and hamlets sit when several runs are stacked in one set of arrays.

    Runs are stacked one after the other: run ``r`` holds households ``offsets[r]:offsets[r + 1]`` and
    hamlets ``hamlet_offsets[r]:hamlet_offsets[r + 1]``. A single run is the layout with ``runs == 1``.

    Attributes:
        run: (n,) the run of each household; hamlet_run: (n_hamlets,) the run of each hamlet.
        sizes: (runs,) households per run.
    """

    offsets: np.ndarray
    hamlet_offsets: np.ndarray

    def __post_init__(self):
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.hamlet_offsets = np.asarray(self.hamlet_offsets, dtype=np.int64)
        self.sizes = np.diff(self.offsets)
        self.run = np.repeat(np.arange(self.runs, dtype=np.int64), self.sizes)
        self.hamlet_run = np.repeat(np.arange(self.runs, dtype=np.int64), np.diff(self.hamlet_offsets))

    @classmethod
    def single(cls, n: int, n_hamlets: int) -> RunLayout:
        return cls(np.array([0, n]), np.array([0, n_hamlets]))

    @property
    def runs(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def spread(self, x: np.ndarray):
        """A per-run array as a per-household one (the single value itself for one run, to broadcast)."""
        return x[0] if self.runs == 1 else x[self.run]

    def spread_hamlets(self, x: np.ndarray):
        """A per-run array as a per-hamlet one (the single value itself for one run)."""
        return x[0] if self.runs == 1 else x[self.hamlet_run]

    def count(self, ids: np.ndarray) -> np.ndarray:
        """How many of households ``ids`` belong to each run, (runs,) float64."""
        if self.runs == 1:
            return np.array([float(ids.shape[0])])
        return np.bincount(self.run[ids], minlength=self.runs).astype(np.float64)

    def hamlet_sum(self, x: np.ndarray) -> np.ndarray:
        """Sum of a per-hamlet array over each run's hamlets, (runs,) float64."""
        if self.runs == 1:
            return np.array([float(np.sum(x))])
        return np.bincount(self.hamlet_run, weights=x, minlength=self.runs)


def stack_populations(pops: list[Population]) -> tuple[Population, RunLayout]:
    """Several runs' populations as one, hamlets and communes renumbered run after run."""
    layout = RunLayout(
        np.concatenate([[0], np.cumsum([p.n for p in pops])]),
        np.concatenate([[0], np.cumsum([p.n_hamlets for p in pops])]),
    )
    c_off = np.concatenate([[0], np.cumsum([p.n_communes for p in pops])])
    fields = {}
    for name in ("size", "working_age", "elderly_only", "head_age", "income", "income_rank",
                 "quintile", "poor", "near_poor", "leader", "age_group", "skill"):
        fields[name] = np.concatenate([getattr(p, name) for p in pops])
    for name in ("member_age", "member_female"):
        fields[name] = np.concatenate([getattr(p, name) for p in pops], axis=1)
    fields["hamlet"] = np.concatenate([p.hamlet + layout.hamlet_offsets[i] for i, p in enumerate(pops)]).astype(
        pops[0].hamlet.dtype)
    fields["commune"] = np.concatenate([p.commune + c_off[i] for i, p in enumerate(pops)]).astype(
        pops[0].commune.dtype)
    fields["hamlet_commune"] = np.concatenate([p.hamlet_commune + c_off[i] for i, p in enumerate(pops)])
    stacked = Population(
        place=pops[0].place,
        hamlet_names=[h for p in pops for h in p.hamlet_names],
        commune_names=[c for p in pops for c in p.commune_names],
        **fields,
    )
    return stacked, layout


@functools.lru_cache(maxsize=64)
def income_sigma(quintile_ratio: float) -> float:
    """Lognormal sigma whose top-quintile mean over bottom-quintile mean equals ``quintile_ratio``.

    For a lognormal, E[X | X in top 20%] / E[X | X in bottom 20%] = Phi(sigma - z) / Phi(-z - sigma)
    with z = Phi^-1(0.8); this is solved for sigma (7.6 gives sigma = 0.719).
    """
    from scipy.optimize import brentq  # (imported here: the solve is cached and scipy.optimize is slow to load)

    z = ndtri(0.8)
    return float(brentq(lambda s: ndtr(s - z) / ndtr(-z - s) - quintile_ratio, 1e-6, 10.0))


def hamlet_sizes(place: Place, scale: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Households per hamlet and the commune of each hamlet for ``place`` at ``scale``.

    A one-hamlet place is scaled by its number of households; a many-hamlet place by its number of
    hamlets (and communes), keeping the households per hamlet, so that the network inside a hamlet is
    the same at every scale. Hamlet sizes in a many-hamlet place vary (lognormal, sigma 0.3: assumption).
    """
    check_positive("scale", scale)
    if place.hamlets == 1:
        n = int(round(place.households * scale))
        if n < 2:
            raise ParameterError("scale", scale, f"a factor giving at least 2 households ({place.name})")
        return np.array([n]), np.array([0])
    n_hamlets = max(1, int(round(place.hamlets * scale)))
    n_communes = min(n_hamlets, max(1, int(round(place.communes * scale))))
    total = int(round(place.households * n_hamlets / place.hamlets))
    if place.communes == 1 and place.hamlets > 1:
        weights = np.ones(n_hamlets)
    else:
        weights = rng.lognormal(0.0, 0.3, n_hamlets)
    sizes = np.maximum(2, np.floor(weights / weights.sum() * total)).astype(np.int64)
    short = int(total - sizes.sum())
    if short > 0:
        sizes[:short] += 1
    commune_of = (np.arange(n_hamlets) * n_communes) // n_hamlets
    return sizes, commune_of


def build_population(
    place: str | Place, params: ModelParams, rng: np.random.Generator, scale: float = 1.0
) -> Population:
    """Draw the households of ``place``.

    Args:
        place: a preset key (see ``diffusion.foundation.sources.places()``) or a Place.
        params: model parameters (demography, income and skill numbers).
        rng: the run's "population" stream.
        scale: multiplies the size (households of a one-hamlet place, hamlets of a larger one).
    """
    pl = get_place(place) if isinstance(place, str) else place
    sizes, hamlet_commune = hamlet_sizes(pl, scale, rng)
    n = int(sizes.sum())
    n_hamlets = sizes.shape[0]
    hamlet = np.repeat(np.arange(n_hamlets, dtype=np.int32), sizes)
    commune = hamlet_commune[hamlet].astype(np.int32)
    n_communes = int(hamlet_commune.max()) + 1

    draw = _identical_households if params.homogeneous else _drawn_households
    income, rank, size, head_age, elderly_only, working_age, skill, member_age, member_female = draw(
        n, params, pl.income_multiplier, rng)
    order = np.argsort(income, kind="stable")
    poor = np.zeros(n, dtype=bool)
    near_poor = np.zeros(n, dtype=bool)
    n_poor = int(round(params.poor_share * n))
    n_near = int(round(params.near_poor_share * n))
    if not params.homogeneous:
        poor[order[:n_poor]] = True
        near_poor[order[n_poor : n_poor + n_near]] = True
    quintile = np.minimum((rank * 5).astype(np.int8), 4)
    age_group = np.searchsorted(_AGE_EDGES, head_age, side="right").astype(np.int8)

    leader = _leaders(hamlet, n_hamlets, working_age, params, rng)
    hamlet_names, commune_names = _names(pl, n_hamlets, n_communes)
    return Population(
        place=pl,
        hamlet_names=hamlet_names,
        commune_names=commune_names,
        hamlet_commune=hamlet_commune.astype(np.int32),
        hamlet=hamlet,
        commune=commune,
        size=size,
        working_age=working_age,
        elderly_only=elderly_only,
        head_age=head_age,
        income=income,
        income_rank=rank,
        quintile=quintile,
        poor=poor,
        near_poor=near_poor,
        leader=leader,
        age_group=age_group,
        skill=skill,
        member_age=member_age,
        member_female=member_female,
    )


def _identical_households(n: int, params: ModelParams, income_multiplier: float, rng: np.random.Generator):
    """One household type (the Bass-limit check): mean income, size and age, full skill; no draws."""
    income = np.full(n, params.income_mean_vnd * income_multiplier)
    rank = (np.arange(n) + 0.5) / n
    size = np.full(n, int(round(params.household_size_mean)), dtype=np.int16)
    head_age = np.full(n, params.head_age_mean, dtype=np.float32)
    elderly_only = np.zeros(n, dtype=bool)
    working_age = np.maximum(1, np.round(size * params.working_age_share)).astype(np.int16)
    skill = np.ones(n, dtype=np.float32)
    member_age, member_female = identical_members(n, int(size[0]), int(working_age[0]), params.head_age_mean)
    return income, rank, size, head_age, elderly_only, working_age, skill, member_age, member_female


def _drawn_households(n: int, params: ModelParams, income_multiplier: float, rng: np.random.Generator):
    """Income (lognormal), size, head's age, elderly-only flag, working-age members, the members' ages and sex and
    skill, drawn in this order from the population stream (the order is part of every result)."""
    sigma = income_sigma(params.income_quintile_ratio)
    mean = params.income_mean_vnd * income_multiplier
    z = rng.standard_normal(n)
    income = np.exp(np.log(mean) - sigma**2 / 2 + sigma * z)
    rank = ndtr(z)
    # Household size: poorest quintile 1.2x the richest (VHLSS 2018), overall mean as given.
    r = params.household_size_ratio
    rel = r - (r - 1.0) * rank  # from r (poorest) down to 1 (richest)
    mean_size = params.household_size_mean * rel / ((r + 1.0) / 2.0)
    size = (1 + rng.poisson(np.maximum(mean_size - 1.0, 0.0))).astype(np.int16)
    np.minimum(size, 15, out=size)
    head_age = np.clip(rng.normal(params.head_age_mean, params.head_age_sd, n), 18, 95).astype(np.float32)
    older = head_age >= 65
    elderly_only = older & (rng.random(n) < params.elderly_only_share)
    size = np.where(elderly_only, np.minimum(size, 2), size).astype(np.int16)
    # Members other than the head are of working age with a probability chosen so that the share of
    # working-age people matches params.working_age_share overall (derived in closed form below).
    others = (size - 1).astype(np.int64)
    head_wa = (~older).astype(np.int64)
    need = params.working_age_share * size[~elderly_only].sum() - head_wa[~elderly_only].sum()
    w = float(np.clip(need / max(others[~elderly_only].sum(), 1), 0.0, 1.0))
    working_age = (head_wa + rng.binomial(others, w)).astype(np.int16)
    working_age[elderly_only] = 0
    member_age, member_female = draw_members(rng, size, head_age, working_age, elderly_only)
    skill = initial_skill(households_of(member_age).young_age, rank, params, rng.standard_normal(n))
    return income, rank, size, head_age, elderly_only, working_age, skill, member_age, member_female


def initial_skill(young_age: np.ndarray, rank: np.ndarray, params: ModelParams, noise: np.ndarray) -> np.ndarray:
    """A household's digital skill 0..1 from the age of its youngest adult (members learn from each other), its
    income rank and noise (``skill_of`` with the parameters' values)."""
    return skill_of(young_age, rank, noise, params.skill_base, params.skill_age_slope, params.skill_income_slope,
                    params.skill_noise)


def skill_of(young_age, rank, noise, base, age_slope, income_slope, sd) -> np.ndarray:
    """base - age_slope * (age - 30) + income_slope * (rank - 0.5) + sd * noise, clipped to [0.02, 1]."""
    skill = base - age_slope * (young_age - 30.0) + income_slope * (rank - 0.5) + sd * noise
    return np.clip(skill, 0.02, 1.0).astype(np.float32)


def _leaders(hamlet: np.ndarray, n_hamlets: int, working_age: np.ndarray, params: ModelParams,
             rng: np.random.Generator) -> np.ndarray:
    """Hamlet head and digital-team households: ``leaders_per_hamlet`` per hamlet, drawn among households with
    a working-age member."""
    n = hamlet.shape[0]
    leader = np.zeros(n, dtype=bool)
    if params.leaders_per_hamlet > 0 and not params.homogeneous:
        key = rng.random(n) + np.where(working_age > 0, 0.0, 2.0)
        by = np.lexsort((key, hamlet))
        bounds = np.searchsorted(hamlet, np.arange(n_hamlets + 1))
        pos = np.arange(n) - bounds[hamlet[by]]
        leader[by[pos < params.leaders_per_hamlet]] = True
    return leader


def _names(pl: Place, n_hamlets: int, n_communes: int) -> tuple[list[str], list[str]]:
    """Names of the hamlets and communes: the preset's own for a one-hamlet place, else numbered."""
    if pl.hamlets == 1 and n_hamlets == 1:
        commune = "Đức Yên" if pl.key == "thon_dong" else "Đầm Hà" if pl.key == "dam_buon" else pl.name
        return [pl.name], [commune]
    hamlet_names = [f"Thôn {h + 1}" for h in range(n_hamlets)]
    return hamlet_names, [f"Xã {c + 1}" for c in range(n_communes)] if n_communes > 1 else [pl.name]
