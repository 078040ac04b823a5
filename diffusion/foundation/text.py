"""Text helpers shared by every layer: Unicode NFC, "did you mean" hints, dotted field paths, short reprs."""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def did_you_mean(value: object, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to ``value``, or "" when none is close."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def key_path(key: Any) -> str:
    """A config key as it is written in a dotted field path: plain keys as they are, others quoted."""
    key = str(key)
    return key if _PLAIN_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def nfc(obj: Any) -> Any:
    """Unicode NFC for every key and text value of nested dicts and lists (Vietnamese can be typed composed
    or decomposed; both must mean the same name)."""
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, dict):
        return {nfc(k) if isinstance(k, str) else k: nfc(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nfc(v) for v in obj]
    return obj
