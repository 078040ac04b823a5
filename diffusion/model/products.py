"""The products a household can adopt, declared once: their order, what each needs, and the indicators the
outputs report.

Adding a product means adding it here (its prerequisites and the network it needs), giving it default
parameters (``params._default_products``) and labels (``foundation.strings``); the dynamics, the start
state, the outputs and the levers' targeting read the ladder from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Product:
    """One product.

    Attributes:
        name: the product's key (``smartphone.q`` names its parameters).
        needs: prerequisite groups; each group must hold (one of its products in use) for the product to be
            taken up and kept: mobile data needs ``(("smartphone",),)``, services need a smartphone and
            internet, ``(("smartphone",), ("mobile_data", "fibre"))``.
        network: the infrastructure that must reach the household's hamlet ("mobile", "fibre") or None.
        leaders_start: hamlet leaders and team households use it at the start where it is available.
    """

    name: str
    needs: tuple[tuple[str, ...], ...] = ()
    network: str | None = None
    leaders_start: bool = False


#: The products in their fixed order (row k of every (products, households) array).
LADDER: tuple[Product, ...] = (
    Product("smartphone", leaders_start=True),
    Product("mobile_data", needs=(("smartphone",),), network="mobile", leaders_start=True),
    Product("fibre", network="fibre"),
    Product("services", needs=(("smartphone",), ("mobile_data", "fibre"))),
)
PRODUCTS: tuple[str, ...] = tuple(p.name for p in LADDER)
SMARTPHONE, MOBILE, FIBRE, SERVICES = (PRODUCTS.index(n) for n in ("smartphone", "mobile_data", "fibre", "services"))

#: Indicators reported overall and by group: name -> the products any of which counts (internet = mobile data
#: or fibre).
INDICATOR_PRODUCTS: dict[str, tuple[str, ...]] = {
    "smartphone": ("smartphone",),
    "mobile_data": ("mobile_data",),
    "fibre": ("fibre",),
    "internet": ("mobile_data", "fibre"),
    "services": ("services",),
}
INDICATORS: tuple[str, ...] = tuple(INDICATOR_PRODUCTS)

#: Each product's prerequisite groups as row indices.
_NEEDS: tuple[tuple[tuple[int, ...], ...], ...] = tuple(
    tuple(tuple(PRODUCTS.index(n) for n in group) for group in p.needs) for p in LADDER
)


#: Products another product needs (giving one up may take another away).
NEEDED: frozenset[int] = frozenset(j for groups in _NEEDS for group in groups for j in group)


def use_bits(indicator: str) -> int:
    """The bits of a use code (one bit per product, ``1 << k``) that count for ``indicator``."""
    return sum(1 << PRODUCTS.index(p) for p in INDICATOR_PRODUCTS[indicator])


def uses(indicator: str, adopted: np.ndarray) -> np.ndarray:
    """Whether each household (a column of a (products, households) use array) counts for ``indicator``: uses
    any of its products (``INDICATOR_PRODUCTS``; internet: mobile data or fibre)."""
    names = INDICATOR_PRODUCTS[indicator]
    out = adopted[PRODUCTS.index(names[0])]
    for n in names[1:]:
        out = out | adopted[PRODUCTS.index(n)]
    return out


def prerequisites(k: int, adopted, sel=slice(None)) -> np.ndarray | None:
    """Whether product k's prerequisites hold for households ``sel`` of a (products, households) use array or
    a mapping product index -> use array; None when the product needs nothing."""
    ok = None
    for group in _NEEDS[k]:
        have = adopted[group[0]][sel]
        for j in group[1:]:
            have = have | adopted[j][sel]
        ok = have if ok is None else ok & have
    return ok


def enforce_prerequisites(adopted: np.ndarray, idx: np.ndarray) -> None:
    """Drop uses of households ``idx`` whose prerequisites no longer hold, in ladder order (so a lapse that
    takes mobile data away also takes services that needed it)."""
    for k in range(len(LADDER)):
        ok = prerequisites(k, adopted, idx)
        if ok is not None:
            adopted[k, idx] &= ok
