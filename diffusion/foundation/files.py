"""Writing files atomically: every file is written to a temporary name beside it and renamed into place
(``os.replace``), so a crash or an interruption never leaves a half-written file."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``data`` is bytes, text (UTF-8) or a function that writes a given temporary
    path (``lambda tmp: frame.to_parquet(tmp)``). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars, dates and anything else (as text)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, _dt.date | _dt.datetime | _dt.time):
        return obj.isoformat()
    return str(obj)


def json_text(data: Any) -> str:
    """Indented UTF-8 JSON with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=json_default) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Atomically write ``data`` as indented UTF-8 JSON."""
    return atomic_write(path, json_text(data))


def write_parquet(path: str | os.PathLike, frame) -> Path:
    """Atomically write a table as Parquet (no index)."""
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(path: str | os.PathLike, frame, **options: Any) -> Path:
    """Atomically write a table as CSV (no index, "\\n" line ends; ``options`` go to ``DataFrame.to_csv``)."""
    text = frame.to_csv(index=False, lineterminator="\n", **options)
    return atomic_write(path, text)


def now() -> str:
    """The current local time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds")
