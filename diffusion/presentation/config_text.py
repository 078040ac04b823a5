"""Config tables and the parameter table as report text: dotted keys, settings as written, provenance (in the
report's language)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from pydantic import BaseModel

from diffusion.foundation import sources
from diffusion.foundation.strings import unit_label
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


def parameters_table(lang: str = "en") -> pd.DataFrame | None:
    """diffusion/data/parameters.csv (parameter provenance) if the package ships it and it has rows: its columns
    as written (name, value, unit, basis, source, min, max); in Vietnamese the unit is its ``unit.*`` string and
    the source its Vietnamese twin (source_vi). The ``*_vi`` columns themselves are left out."""
    try:
        rows = sources.parameters()
    except OSError:
        return None
    if not rows:
        return None
    table = pd.DataFrame(rows)
    table = table.drop(columns=[c for c in table.columns if c.endswith("_vi")])
    if lang == "vi":
        if "unit" in table.columns:
            table["unit"] = [unit_label(r["unit"], lang) for r in rows]
        if "source" in table.columns:
            table["source"] = [sources.in_language(r, "source", lang) for r in rows]
    return table
