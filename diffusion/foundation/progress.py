"""Progress bars on long work (tqdm), off when quiet or when the output is not a terminal."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(total: int, initial: int = 0, unit: str = "run", desc: str = "", quiet: bool = False):
    """A progress bar of ``total`` units that vanishes when done (``disable=None``: only on a terminal)."""
    return tqdm(total=total, initial=initial, unit=unit, desc=desc, disable=quiet or None, leave=False,
                dynamic_ncols=True)
