"""Independent pieces on two threads (``foundation.threads``): results in the order asked for, every piece run once,
an error of a piece raised to the caller, pieces of a piece run in its own thread, and settings checked."""

from __future__ import annotations

import threading
import time

import pytest

from diffusion import ParameterError
from diffusion.foundation import threads


@pytest.fixture
def two(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)


def test_results_come_in_the_order_asked_for_and_use_both_threads(two):
    seen = set()

    def piece(i):
        def run():
            seen.add(threading.current_thread().name)
            end = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < end:  # (each waits until the other thread took a piece)
                time.sleep(0.001)
            return i * i
        return run

    assert threads.run_all([piece(i) for i in range(12)], 2) == [i * i for i in range(12)]
    assert len(seen) == 2


def test_an_error_of_a_piece_reaches_the_caller_after_the_others_finished(two):
    done = []

    def fails():
        raise ValueError("piece failed")

    def slow():
        time.sleep(0.05)
        done.append(True)

    with pytest.raises(ValueError, match="piece failed"):
        threads.run_all([slow, fails, slow, slow], 2)
    assert len(done) == 3


def test_pieces_of_a_piece_run_in_its_thread(two):
    def outer(i):
        return lambda: threads.run_all([lambda: (i, threading.current_thread().name)] * 3, 2)

    for result in threads.run_all([outer(i) for i in range(4)], 2):
        assert len({name for _, name in result}) == 1  # (no waiting on the busy helper: it would never end)


def test_one_thread_runs_everything_here_and_small_runs_use_one():
    assert threads.run_all([threading.current_thread] * 3, 1) == [threading.current_thread()] * 3
    assert threads.threads_for(threads.MIN_HOUSEHOLDS - 1) == 1


def test_thread_settings_are_checked(monkeypatch):
    with pytest.raises(ParameterError, match="threads"):
        threads.set_threads(0)
    monkeypatch.setenv("DIFFUSION_THREADS", "two")
    with pytest.raises(ParameterError, match="DIFFUSION_THREADS"):
        threads._default()
    monkeypatch.setenv("DIFFUSION_THREADS", "3")
    assert threads._default() == 3
