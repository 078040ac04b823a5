"""Households as Mesa agents: thin views onto the model's arrays, created only on demand."""

from __future__ import annotations

import mesa

from diffusion.model.products import PRODUCTS


class Household(mesa.Agent):
    """One household, read from (and written to) the model's state arrays.

    Attributes are properties: reading one reads the arrays; nothing is copied. ``index`` is the
    household's row in every array.
    """

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    # static attributes
    @property
    def hamlet(self) -> str:
        return self.model.population.hamlet_names[self.model.population.hamlet[self.index]]

    @property
    def commune(self) -> str:
        return self.model.population.commune_names[self.model.population.commune[self.index]]

    @property
    def size(self) -> int:
        return int(self.model.state.size[self.index])

    @property
    def working_age(self) -> int:
        return int(self.model.state.working_age[self.index])

    @property
    def elderly_only(self) -> bool:
        return bool(self.model.state.elderly_only[self.index])

    @property
    def head_age(self) -> float:
        return float(self.model.state.head_age[self.index])

    @property
    def income(self) -> float:
        """Income per person per month, VND."""
        return float(self.model.population.income[self.index])

    @property
    def quintile(self) -> int:
        """Income quintile, 1 (poorest) to 5."""
        return int(self.model.population.quintile[self.index]) + 1

    @property
    def poor(self) -> bool:
        return bool(self.model.population.poor[self.index])

    @property
    def near_poor(self) -> bool:
        return bool(self.model.population.near_poor[self.index])

    @property
    def leader(self) -> bool:
        return bool(self.model.population.leader[self.index])

    # dynamic state
    @property
    def skill(self) -> float:
        return float(self.model.state.skill[self.index])

    @property
    def exposure(self) -> float:
        return float(self.model.state.exposure[self.index])

    @property
    def smartphone_users(self) -> int:
        """Working-age members using a smartphone."""
        return int(self.model.state.phone_users[self.index])

    @property
    def members(self) -> list[tuple[int, str, bool]]:
        """(age, sex, uses a smartphone) of each member."""
        s = self.model.state
        i = self.index
        return [(int(s.age[k, i]), "female" if s.female[k, i] else "male", bool(s.phone[k, i]))
                for k in range(s.age.shape[0]) if s.age[k, i] >= 0]

    def uses(self, product: str) -> bool:
        """Whether the household uses ``product`` (smartphone, mobile_data, fibre, services)."""
        return bool(self.model.state.adopted[PRODUCTS.index(product), self.index])

    @property
    def smartphone(self) -> bool:
        return self.uses("smartphone")

    @property
    def mobile_data(self) -> bool:
        return self.uses("mobile_data")

    @property
    def fibre(self) -> bool:
        return self.uses("fibre")

    @property
    def internet(self) -> bool:
        return self.mobile_data or self.fibre

    @property
    def services(self) -> bool:
        return self.uses("services")

    @property
    def state_label(self) -> str:
        """The furthest step on the ladder: none, smartphone, internet or services."""
        if self.services:
            return "services"
        if self.internet:
            return "internet"
        if self.smartphone:
            return "smartphone"
        return "none"

    def neighbours(self) -> list[Household]:
        """The household's network neighbours as views."""
        views = self.model.households()
        return [views[j] for j in self.model.network.neighbours(self.index)]

    def __repr__(self) -> str:
        return f"Household({self.index}, {self.hamlet!r}, {self.state_label})"
