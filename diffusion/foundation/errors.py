"""Error types a user sees. Every message names the parameter or field, the value and what is allowed."""

from __future__ import annotations

import numpy as np

from diffusion.foundation.text import did_you_mean


class DiffusionError(Exception):
    """Base class of every error raised on purpose by `diffusion`."""


class ParameterError(DiffusionError, ValueError):
    """A model, population or lever parameter has a value that is not allowed.

    Args:
        name: the parameter, as the user wrote it (for example ``"smartphone.q"``).
        value: the value given.
        allowed: what is allowed, in words (for example ``"a rate per year >= 0"``).
        where: optional context, such as the lever's name.
    """

    def __init__(self, name: str, value: object, allowed: str, where: str | None = None):
        self.name = name
        self.value = value
        self.allowed = allowed
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}parameter '{name}' = {value!r} is not allowed: {allowed}")


def check_rate(name: str, value: float, where: str | None = None) -> float:
    """Return ``value`` as float if it is a finite rate >= 0, else raise ParameterError."""
    v = _as_float(name, value, "a finite number >= 0", where)
    if not v >= 0 or v == float("inf"):
        raise ParameterError(name, value, "a finite number >= 0", where)
    return v


def check_share(name: str, value: float, where: str | None = None) -> float:
    """Return ``value`` as float if it is a share in [0, 1], else raise ParameterError."""
    v = _as_float(name, value, "a share between 0 and 1", where)
    if not 0.0 <= v <= 1.0:
        raise ParameterError(name, value, "a share between 0 and 1", where)
    return v


def check_positive(name: str, value: float, where: str | None = None) -> float:
    """Return ``value`` as float if it is finite and > 0, else raise ParameterError."""
    v = _as_float(name, value, "a finite number > 0", where)
    if not v > 0 or v == float("inf"):
        raise ParameterError(name, value, "a finite number > 0", where)
    return v


def check_whole(name: str, value: object, minimum: int = 0, where: str | None = None) -> int:
    """Return ``value`` as int if it is a whole number >= minimum, else raise ParameterError."""
    allowed = f"a whole number >= {minimum}"
    if isinstance(value, bool):
        raise ParameterError(name, value, allowed, where)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int | np.integer) or int(value) < minimum:
        raise ParameterError(name, value, allowed, where)
    return int(value)


def check_choice(name: str, value: object, choices: tuple[str, ...] | list[str], where: str | None = None) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ParameterError listing them."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices)
        raise ParameterError(name, value, f"one of {', '.join(map(repr, choices))}{hint}", where)
    return value


def _as_float(name: str, value: object, allowed: str, where: str | None) -> float:
    if isinstance(value, bool):
        raise ParameterError(name, value, allowed, where)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(name, value, allowed, where) from None


class ConfigError(DiffusionError, ValueError):
    """An experiment config file cannot be used.

    The message names the file and, for each problem, the dotted field path (``levers.teams.visits``),
    the value and what is allowed. ``problems`` holds the same as (path, text) pairs.

    Args:
        file: the config file as the user named it (or a label such as ``"<config>"``).
        problems: (dotted field path or "", what is wrong and what is allowed) pairs; at least one.
    """

    def __init__(self, file: str, problems: list[tuple[str, str]] | str):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.file = file
        self.problems = list(problems)
        lines = [f"{file}: {path}: {text}" if path else f"{file}: {text}" for path, text in self.problems]
        if len(lines) > 1:
            msg = f"{file}: {len(lines)} problems\n" + "\n".join("  " + ln for ln in lines)
        else:
            msg = lines[0]
        super().__init__(msg)

    @property
    def paths(self) -> list[str]:
        """The dotted field paths of the problems."""
        return [p for p, _ in self.problems]


class ResultsError(DiffusionError, OSError):
    """A results folder, or a file in it, cannot be read or written.

    The message is one line naming the path and the cause, and what to do (``hint``).

    Args:
        path: the file or folder.
        cause: what is wrong, in words ("is not a Parquet file", "permission denied").
        hint: what to do about it (optional).
    """

    def __init__(self, path: object, cause: str, hint: str = ""):
        self.path = str(path)
        self.cause = cause
        self.hint = hint
        super().__init__(f"{self.path}: {cause}" + (f"; {hint}" if hint else ""))

    def __str__(self) -> str:
        return self.args[0]


class ExecutionError(DiffusionError):
    """Where the tasks run cannot be used, or went away during the run (a Dask scheduler that cannot be
    reached, a malformed address, a cluster that died). The message is one line saying what happened and
    that finished tasks are kept."""


def os_cause(err: OSError) -> str:
    """An OSError's cause in words ("No space left on device", "Permission denied")."""
    return err.strerror or str(err) or type(err).__name__
