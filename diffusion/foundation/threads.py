"""Independent pieces of one run's month on the machine's second core.

A month of a large run has pieces that read the same start-of-month state and write nothing in common (each
product's trials and decisions, each chain's parking); ``run_all`` shares them between this thread and a helper
thread. The compiled kernels release the interpreter lock, and numpy does in its loops, so two pieces do run at
once. Each piece computes what it computes alone, and the results come back in the order asked for, so the
numbers never depend on the threads (``tests/test_engine.py`` compares one and two threads month by month).

``THREADS`` is 2 on a machine with two or more cores (1 otherwise; the environment variable
``DIFFUSION_THREADS`` overrides it). Worker processes of an experiment set it to 1 (``set_threads``): they
already keep every core busy with runs of their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from diffusion.foundation.errors import ParameterError


def _default() -> int:
    text = os.environ.get("DIFFUSION_THREADS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ParameterError("DIFFUSION_THREADS", text, "a whole number >= 1 (threads for one run)")
        return int(text)
    return min(2, os.cpu_count() or 1)


#: threads one run uses for its independent pieces (this thread included)
THREADS = _default()
#: runs with fewer households than this do everything in one thread (a piece must outweigh the hand-over, ~20 µs)
MIN_HOUSEHOLDS = 50_000

_pool: ThreadPoolExecutor | None = None
_pool_size = 0  # its threads
_lock = threading.Lock()
_inside = threading.local()  # whether this thread is running a piece


def set_threads(n: int) -> None:
    """Use ``n`` threads (>= 1) for one run's independent pieces from now on."""
    global THREADS
    if int(n) < 1:
        raise ParameterError("threads", n, "a whole number >= 1")
    THREADS = int(n)


def threads_for(households: int) -> int:
    """Threads a run of this many households (all stacked runs together) uses."""
    return THREADS if households >= MIN_HOUSEHOLDS else 1


def _helpers() -> ThreadPoolExecutor:
    """The helper threads, THREADS - 1 of them (made when first needed; made again when THREADS changed)."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != THREADS - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)  # (its threads end once idle)
            _pool_size = THREADS - 1
            _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="diffusion-piece")
        return _pool


def run_all(pieces: Sequence[Callable[[], Any]], threads: int = 1) -> list[Any]:
    """Call every piece and return their results in order; with ``threads`` > 1, this thread and helper threads
    take the next piece not yet taken until none is left (list the largest first). An exception of a piece is
    raised here, after every piece taken has finished. A piece that calls ``run_all`` runs its own pieces in its
    thread (the helpers are busy; waiting for them would never end)."""
    if threads <= 1 or len(pieces) <= 1 or getattr(_inside, "piece", False):  # (a piece's pieces: in its thread)
        return [piece() for piece in pieces]
    out: list[Any] = [None] * len(pieces)
    order = iter(range(len(pieces)))
    take = threading.Lock()

    def work() -> None:
        _inside.piece = True
        try:
            while True:
                with take:
                    i = next(order, None)
                if i is None:
                    return
                out[i] = pieces[i]()
        finally:
            _inside.piece = False

    helpers = [_helpers().submit(work) for _ in range(min(threads, THREADS, len(pieces)) - 1)]
    try:
        work()
    finally:
        errors = [f.exception() for f in helpers]
    for e in errors:
        if e is not None:
            raise e
    return out
