"""Policy levers: each kind is a Lever subclass in a module of this package, registered here by its ``kind``.

Adding a lever: write its class (settings checked in ``__init__``, documented in ``setting_docs``; ``bind``,
``act`` and ``book``; see ``base.Lever``) in a module here and add it to ``LEVER_TYPES``; the config schema,
the reference page and ``make_lever`` read it from there.
"""

from __future__ import annotations

import functools
import inspect

from diffusion.foundation.errors import ParameterError, check_choice
from diffusion.foundation.text import did_you_mean
from diffusion.model.levers.base import ELIGIBILITY, Lever, LeverContext, rank_in_groups, stack_levers
from diffusion.model.levers.infrastructure import InfrastructureRollout, PublicAccessPoint
from diffusion.model.levers.subsidies import ConnectionSupport, SmartphoneSubsidy
from diffusion.model.levers.teams import TARGETING, DigitalTeams

LEVER_TYPES: dict[str, type[Lever]] = {
    cls.kind: cls
    for cls in (SmartphoneSubsidy, ConnectionSupport, DigitalTeams, InfrastructureRollout, PublicAccessPoint)
}


@functools.cache
def _settings_of(cls: type[Lever]) -> frozenset[str]:
    """The settings a lever class accepts (its constructor's arguments and the base ones)."""
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "kw"}
    return frozenset(allowed | {"name", "start", "end", "enabled"})


def make_lever(kind: str, name: str | None = None, **settings) -> Lever:
    """Build a lever from its kind ("smartphone_subsidy", "connection_support", "digital_teams",
    "infrastructure", "public_access") and settings; unknown settings raise ParameterError."""
    check_choice("kind", kind, tuple(LEVER_TYPES), name)
    cls = LEVER_TYPES[kind]
    allowed = _settings_of(cls)
    for key in settings:
        if key not in allowed:
            hint = did_you_mean(key, sorted(allowed))
            raise ParameterError(key, settings[key], f"a setting of {kind}: {', '.join(sorted(allowed))}{hint}",
                                 name or kind)
    return cls(name=name, **settings)


__all__ = [
    "ELIGIBILITY",
    "LEVER_TYPES",
    "TARGETING",
    "ConnectionSupport",
    "DigitalTeams",
    "InfrastructureRollout",
    "Lever",
    "LeverContext",
    "PublicAccessPoint",
    "SmartphoneSubsidy",
    "make_lever",
    "rank_in_groups",
    "stack_levers",
]
