"""Config tables and the parameter table as report text: dotted keys, settings as written, provenance."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from pydantic import BaseModel

from diffusion.foundation import sources
from diffusion.presentation.document import code


def flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, text) pairs of a nested config section."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))]


def as_written(section: BaseModel | dict | None) -> dict[str, Any]:
    """A config table's settings as the file wrote them (defaults it does not mention left out)."""
    if section is None:
        return {}
    if isinstance(section, BaseModel):
        return section.model_dump(exclude_unset=True, exclude_none=True)
    return dict(section)


def settings_text(section: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    """A config table's settings as "`key` = value" pairs (those in ``skip`` left out; "–" for none)."""
    pairs = [(k, v) for k, v in flatten(section) if k not in skip]
    return "; ".join(f"{code(k)} = {v}" for k, v in pairs) if pairs else "–"


def parameters_table() -> pd.DataFrame | None:
    """diffusion/data/parameters.csv (parameter provenance) if the package ships it and it has rows."""
    try:
        rows = sources.parameters()
    except OSError:
        return None
    return pd.DataFrame(rows) if rows else None
