"""Faults injected into tasks through the executor's work function (``work=`` of run_experiment,
run_sensitivity and executors.execute), for the tests of crashes, retries and resuming.

Use ``functools.partial(faults.work, ...)``: a partial of a module-level function is picklable, so it reaches
spawned workers (which find this module on the parent's sys.path).
"""

from __future__ import annotations

import os
import time

from diffusion.experiments.evaluation import evaluate_task


def work(task, execution: int = 0, *, log: str | None = None, fail: dict[str, str] | None = None,
         sleep_from: int | None = None, sleep: float = 0.0):
    """Run a task as usual, after optionally: appending its id to ``log``; failing it as ``fail[task.id]`` says
    ("raise": every time, "raise-once": the first time, "kill": the worker dies every time, "kill-once": the
    first time); sleeping ``sleep`` seconds when it is task number ``sleep_from`` or later."""
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{task.id}\n")
    mode = (fail or {}).get(task.id)
    if mode and not (mode.endswith("once") and execution > 0):
        if mode.startswith("kill"):
            os._exit(86)
        raise RuntimeError(f"simulated crash of {task.id}")
    if sleep_from is not None and int(task.id.rsplit("-", 1)[1]) >= sleep_from:
        time.sleep(sleep)
    return evaluate_task(task, execution)
