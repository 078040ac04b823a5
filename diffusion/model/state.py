"""The dynamic state of a run: the households' product use, skill and exposure and their members (``State``),
a month's conditions set by the networks and the levers (``MonthEffects``) and what a month changed
(``StepResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from diffusion.model.people import households_of


@dataclass
class State:
    """Dynamic state of the households and their members. ``adopted[k]`` is product k's use (PRODUCTS order);
    arrays of members are (SLOTS, n) (see ``model.people``); every array has households on its last axis."""

    adopted: np.ndarray  # (4, n) bool
    phone_users: np.ndarray  # (n,) int16, working-age members using a smartphone
    skill: np.ndarray  # (n,) float32, 0..1
    exposure: np.ndarray  # (n,) float32, 0..1
    last_visit: np.ndarray  # (n,) int32, month index of the last team visit (-1: never)
    age: np.ndarray  # (SLOTS, n) int16, members' ages in years (-1: empty slot)
    female: np.ndarray  # (SLOTS, n) bool
    phone: np.ndarray  # (SLOTS, n) bool, members using a smartphone
    size: np.ndarray  # (n,) int16, members
    working_age: np.ndarray  # (n,) int16, members aged 15-64
    elderly_only: np.ndarray  # (n,) bool, members all 65 or over
    head_age: np.ndarray  # (n,) float32
    young_age: np.ndarray  # (n,) float32, the youngest member of 15 or over (the head's age without one)
    threshold: np.ndarray | None = None  # (4, n) float32, threshold mechanism only
    never: np.ndarray | None = None  # (4, n) bool, threshold mechanism only

    def copy(self) -> State:
        return State(
            **{k: (None if v is None else v.copy()) for k, v in self.__dict__.items()}
        )

    @classmethod
    def stack(cls, states: list[State]) -> State:
        """The states of several runs, one after the other (see ``population.RunLayout``)."""
        out = {}
        for k, v in states[0].__dict__.items():
            if v is None:
                out[k] = None
            else:
                out[k] = np.concatenate([getattr(s, k) for s in states], axis=v.ndim - 1)
        return cls(**out)

    def split(self, offsets: np.ndarray) -> list[State]:
        """The states of stacked runs, run by run (``offsets``: ``RunLayout.offsets``)."""
        return [State(**{k: (None if v is None else v[..., a:b].copy()) for k, v in self.__dict__.items()})
                for a, b in zip(offsets[:-1], offsets[1:])]

    def set_households(self, idx: np.ndarray | slice | None = None) -> None:
        """Recompute the household attributes that follow from the members (all households, or ``idx``: ids or a
        slice)."""
        sel = slice(None) if idx is None else idx
        h = households_of(self.age[:, sel], self.phone[:, sel])
        self.size[sel], self.working_age[sel], self.elderly_only[sel] = h.size, h.working_age, h.elderly_only
        self.head_age[sel], self.young_age[sel] = h.head_age, h.young_age
        self.phone_users[sel] = h.phone_users


@dataclass
class MonthEffects:
    """What the levers make of one month, read by the step.

    Attributes:
        price_subsidy: product index -> VND off the one-off price, per household (n,).
        fee_discount: product index -> VND off the monthly fee, per household (n,).
        mobile_coverage, fibre_ready: per hamlet, bool.
        awareness: per household floor under the outreach exposure (0..1), or None.

    Levers add to the subsidies and discounts with ``add``, which never changes an array in place, so a
    lever may hand over an array it keeps from month to month.
    """

    mobile_coverage: np.ndarray
    fibre_ready: np.ndarray
    price_subsidy: dict[int, np.ndarray] = field(default_factory=dict)
    fee_discount: dict[int, np.ndarray] = field(default_factory=dict)
    awareness: np.ndarray | None = None

    def reached(self, network: str) -> np.ndarray:
        """Per hamlet, whether ``network`` ("mobile" or "fibre", ``products.Product.network``) has reached it."""
        return self.mobile_coverage if network == "mobile" else self.fibre_ready

    def add(self, table: dict[int, np.ndarray], k: int, values: np.ndarray) -> None:
        """Add per-household VND ``values`` to product k's entry of ``price_subsidy`` or ``fee_discount``."""
        current = table.get(k)
        table[k] = values if current is None else current + values


@dataclass
class MemberChanges:
    """The month's changes of members' smartphone use and of their being online (a smartphone of their own in a
    household with internet), one entry per member that changed: household, slot, age, sex (female), and the
    change of each count (+1, 0 or -1). Members under 15 are listed too; the outputs count people of 15 and over."""

    household: np.ndarray
    slot: np.ndarray
    age: np.ndarray
    female: np.ndarray
    d_phone: np.ndarray
    d_online: np.ndarray


@dataclass
class StepResult:
    """What changed in the month.

    Attributes:
        adopted, lapsed: product index -> ids of households that took it up / gave it up.
        touched: ids (each once, in no particular order) of every household whose products or smartphone
            users may have changed.
        before, after: (4, len(touched)) product use of the touched households before / after the month.
        users_before, users_after: their working-age smartphone users before / after.
        members: the members whose smartphone use or being online changed (None: not tracked).
    """

    adopted: dict[int, np.ndarray]
    lapsed: dict[int, np.ndarray]
    touched: np.ndarray
    before: np.ndarray
    after: np.ndarray
    users_before: np.ndarray
    users_after: np.ndarray
    members: MemberChanges | None = None


def use_codes(adopted: np.ndarray) -> np.ndarray:
    """One code per household with bit k set when it uses product k (smartphone 1, mobile 2, fibre 4, services 8)."""
    a = adopted.view(np.uint8)
    code = a[0].copy()
    for k in range(1, a.shape[0]):
        code |= a[k] << k
    return code
