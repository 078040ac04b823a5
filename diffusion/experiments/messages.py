"""Config problems in a researcher's words: pydantic's validation errors become (dotted field path, text)
pairs, with "did you mean" hints for unknown keys and the allowed keys of the table."""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from diffusion.experiments.schema import ModelSection, ProductSection, unwrap
from diffusion.foundation.calendar import Calendar
from diffusion.foundation.errors import ConfigError, ParameterError
from diffusion.foundation.text import did_you_mean, key_path, show
from diffusion.model.outputs import metric_names
from diffusion.model.params import RETIRED
from diffusion.model.products import PRODUCTS

#: A problem: (dotted field path or "", what is wrong and what is allowed).
Problem = tuple[str, str]

_ALLOWED: dict[str, str] = {
    "int_type": "a whole number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "string_type": "text in quotes",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list [ ... ]",
    "none_required": "nothing",
}


#: pydantic's bound errors: type -> (its context key, words).
_BOUNDS: dict[str, tuple[str, str]] = {
    "less_than_equal": ("le", "a plausible value of at most"),
    "greater_than_equal": ("ge", "a value of at least"),
    "less_than": ("lt", "a value below"),
    "greater_than": ("gt", "a value above"),
}


def join_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a dotted config path: ("levers", "team", "visits") -> levers.team.visits."""
    out = ""
    for seg in loc:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + key_path(seg)
    return out


def validate_table(model: type[BaseModel], data: Any, prefix: tuple[Any, ...], source: str,
              problems: list[tuple[str, str]] | None = None) -> Any:
    """``model.model_validate(data)``; errors become (path, text) problems, raised unless a list is given."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        found = _messages(e, model, data, prefix)
        if problems is None:
            raise ConfigError(source, found) from None
        problems.extend(found)
        return None


def _messages(exc: ValidationError, model: type[BaseModel], data: Any,
              prefix: tuple[Any, ...]) -> list[tuple[str, str]]:
    items: list[tuple[tuple[Any, ...], str, str]] = []  # (loc, kind, text)
    for err in exc.errors():
        loc = _clean_loc(data, err["loc"], err["type"])
        t = err["type"]
        inp = err.get("input")
        if t == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            text = _retired_key(model, loc) or (
                f"unknown key {str(loc[-1])!r}{did_you_mean(loc[-1], allowed)}; allowed here: {', '.join(allowed)}")
        elif t == "missing":
            text = "is required but missing"
        elif t == "literal_error":
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            text = f"{show(inp)} is not allowed: one of {', '.join(map(repr, expected))}{did_you_mean(inp, expected)}"
        elif t in _BOUNDS:
            bound = err.get("ctx", {}).get(_BOUNDS[t][0])
            text = f"{show(inp)} is not allowed: {_BOUNDS[t][1]} {bound:g}" if isinstance(bound, int | float) else (
                f"{show(inp)} is not allowed: {err['msg'].lower()}")
        else:
            allowed = _ALLOWED.get(t)
            if allowed is None:
                msg = err["msg"].removeprefix("Value error, ")
                allowed = msg[:1].lower() + msg[1:]
            text = f"{show(inp)} is not allowed: {allowed}"
        items.append((loc, t, text))
    # a union reports one error per member: keep the deepest, merge the rest
    locs = [loc for loc, _, _ in items]
    merged: dict[tuple[Any, ...], list[str]] = {}
    for loc, _t, text in items:
        if any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs):
            continue
        merged.setdefault(loc, [])
        if text not in merged[loc]:
            merged[loc].append(text)
    out = []
    for loc, texts in merged.items():
        if len(texts) > 1 and all(" is not allowed: " in t for t in texts):
            head = texts[0].split(" is not allowed: ")[0]
            text = head + " is not allowed: " + " or ".join(t.split(" is not allowed: ", 1)[1] for t in texts)
        else:
            text = "; ".join(texts)
        out.append((join_path(prefix + loc), text))
    return out


def _clean_loc(data: Any, loc: tuple[Any, ...], etype: str) -> tuple[Any, ...]:
    """Drop the union-member tags pydantic puts into error locations (segments absent from the input)."""
    out: list[Any] = []
    cur = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(cur, dict) and seg in cur
        if in_dict or (isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)):
            out.append(seg)
            cur = cur[seg]
        elif isinstance(cur, dict) and last and etype == "missing":
            out.append(seg)
    return tuple(out)


def retired_text(name: Any, shown: Any = None) -> str | None:
    """What to do instead of a retired model parameter (``params.RETIRED``), for any spelling of it ("x",
    "smartphone.x", "x_smartphone"), or None when ``name`` is not retired. ``shown``: the key as written."""
    if not isinstance(name, str):
        return None
    keys = [name] + [f"{p}.{name[: -len(p) - 1]}" for p in PRODUCTS if name.endswith("_" + p)]
    for key in keys:
        if key in RETIRED:
            return f"{(name if shown is None else shown)!r} is a retired parameter: {RETIRED[key]}"
    return None


def _retired_key(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The retired-parameter message of an unknown key of a [model] table (or of a product's), else None."""
    parents = {t for tp in _types_at(model, loc[:-1]) for t in unwrap(tp)}
    if ModelSection in parents:
        return retired_text(loc[-1])
    if ProductSection in parents and len(loc) >= 2:
        return retired_text(f"{loc[-2]}.{loc[-1]}", shown=loc[-1])
    return None


def _types_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The types a config table at ``loc`` (keys from the top of ``model``) may have."""
    types: list[Any] = [model]
    for seg in loc:
        nxt: list[Any] = []
        for tp in types:
            for t in unwrap(tp):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    for name, f in t.model_fields.items():
                        if (f.alias or name) == seg:
                            nxt.append(f.annotation)
                elif typing.get_origin(t) is dict:
                    nxt.append(typing.get_args(t)[1])
                elif typing.get_origin(t) is list and isinstance(seg, int):
                    nxt.append(typing.get_args(t)[0])
        types = nxt
    return types


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    types = _types_at(model, loc)
    keys: list[str] = []
    for tp in types:
        for t in unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                keys += [f.alias or n for n, f in t.model_fields.items()]
    return keys


def raise_problems(source: str, problems: list[tuple[str, str]]) -> None:
    """Raise one ConfigError for all ``problems`` (each once, in order), if there are any."""
    if problems:
        raise ConfigError(source, list(dict.fromkeys(problems)))


def outcome_month(cal: Calendar, date: str | None, path: str, problems: list[Problem]) -> tuple[str, int] | None:
    """An outcome's date (default: the run's last month) and its month index in the run's calendar ``cal``; None
    after appending a problem at ``path``."""
    date = date or cal.label(cal.months)
    try:
        return date, cal.index(date, "date")
    except ParameterError as e:
        problems.append((path, f"{show(date)} is not allowed: {e.allowed}"))
        return None


def monthly_outputs(levers: typing.Iterable[str]) -> list[str]:
    """The monthly output columns an outcome may read: the model's metrics and the costs (in all and per lever,
    of the month and to date)."""
    costs = [f"{p}{n}" for n in levers for p in ("cost.", "cum_cost.")]
    return list(metric_names()) + ["cost_total", "cum_cost_total"] + costs


def check_output(name: str, path: str, levers: typing.Iterable[str], problems: list[Problem]) -> bool:
    """Whether ``name`` is a monthly output (``monthly_outputs``); else a problem at ``path`` with a hint."""
    allowed = monthly_outputs(levers)
    if name in allowed:
        return True
    problems.append((path, f"{name!r} is not allowed: a monthly output such as share_internet"
                           f"{did_you_mean(name, allowed)}"))
    return False
