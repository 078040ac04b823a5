"""Where tasks run and what happens when they fail: any ``concurrent.futures.Executor``, with every finished task
handed back at once (the caller keeps it on disk).

- Default: a local ``ProcessPoolExecutor`` with an explicit "spawn" start method (importing Mesa 3.3
  forces "spawn"; being explicit makes it the same on every platform).
- ``scheduler="tcp://host:port"``: a Dask distributed cluster through ``Client(address).get_executor()``.
- ``workers=0``: in this process (debugging; no parallelism).

A task that raises is retried once, then recorded as failed with its error. A task that kills its worker
breaks a process pool (``BrokenProcessPool``): the pool is rebuilt, and the tasks that were in flight are
rerun one at a time, so that only the task that kills its worker again is charged with the failure.
Everything else completes and is handed back as soon as it returns.

The work a task does is ``evaluation.evaluate_task`` unless the caller passes another module-level function
(tests inject failures that way).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass
from typing import Any

from diffusion.experiments.evaluation import Task, TaskResult, evaluate_task
from diffusion.foundation.errors import ExecutionError
from diffusion.foundation.threads import set_threads

log = logging.getLogger(__name__)


# ================================================================ executors
#: How often (seconds) a worker process checks that the process that started it is still alive.
PARENT_POLL = 0.5


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit as soon as the parent process dies (SIGKILL, a crash), so that no worker is
    left running under PID 1 holding memory and the parent's output pipe (``diffusion run | tee log``)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="diffusion-parent-watch", daemon=True).start()


def _start_worker(parent: int) -> None:
    """Worker initializer: one thread per run (the workers keep the cores busy with runs of their own;
    ``foundation.threads``), and exit with the parent (``_watch_parent``)."""
    set_threads(1)
    _watch_parent(parent)


def process_pool(workers: int) -> Callable[[], Executor]:
    """A factory of local process pools of ``workers`` processes with the "spawn" start method; each worker
    runs one thread per run and exits when this process dies (``_start_worker``)."""
    ctx = multiprocessing.get_context("spawn")
    return lambda: ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                                       initargs=(os.getpid(),))


def _warm() -> bool:
    """Nothing: submitted once per worker so that a spawned worker imports the evaluation service (which this
    module imports) before the first task arrives."""
    return True


class started_early:  # noqa: N801 - used as a function that returns a factory
    """Start a process pool now, so that its workers import the model while this process prepares the
    work (sampling a design takes about as long as a worker's start). Calling the object hands this pool
    out first, then new ones from ``factory`` (after a broken pool); ``close()`` shuts the early pool down
    if it was never handed out (the preparation failed)."""

    def __init__(self, factory: Callable[[], Executor], workers: int):
        self.factory, self.workers = factory, workers
        self.first: list[Executor] = [factory()]
        for _ in range(workers):  # a spawn pool starts one worker per submitted call
            self.first[0].submit(_warm)

    def __call__(self) -> Executor:
        return self.first.pop() if self.first else self.factory()

    def close(self) -> None:
        while self.first:
            self.first.pop().shutdown(wait=False, cancel_futures=True)


class InProcessExecutor(Executor):
    """Runs each task at submit time in the calling process (``workers=0``: debugging, profiling)."""

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - passed on to the caller through the future
            fut.set_exception(e)
        return fut


#: Seconds to wait for a Dask scheduler before saying it cannot be reached.
DASK_CONNECT_TIMEOUT = 10
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://[^\s/:]+(:\d{1,5})?/?$")


@dataclass
class DaskConnection:
    """A Dask distributed client and an executor factory over it; ``close()`` when done.

    Raises:
        ExecutionError: a malformed address, or no scheduler answers there within DASK_CONNECT_TIMEOUT seconds.
    """

    address: str
    client: Any = None

    def __post_init__(self):
        from dask.distributed import Client

        if not log.isEnabledFor(logging.DEBUG):  # Dask logs a lost scheduler as tracebacks; we say it in one line
            for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "distributed"]:
                logging.getLogger(name).setLevel(logging.CRITICAL)
        if not isinstance(self.address, str) or not _ADDRESS.match(self.address.strip()):
            raise ExecutionError(f"--scheduler {self.address!r} is not a Dask scheduler address: write it "
                                 "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786; nothing was run")
        try:
            self.client = Client(self.address.strip(), timeout=DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ExecutionError(f"the Dask scheduler at {self.address} cannot be reached ({cause}); is it running? "
                                 "nothing was run; finished tasks in the results folder are kept") from None
        # one thread per run on the workers, which keep their cores busy with tasks of their own
        self.client.run(set_threads, 1)

    def factory(self) -> Callable[[], Executor]:
        return lambda: self.client.get_executor(pure=False)

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        self.client.close()


# ================================================================ the loop
@dataclass
class Executors:
    """Where a study's tasks run: ``factory`` makes the executor (again after a broken pool), ``workers``
    sizes the window of tasks in flight, ``info`` describes it for the manifest; ``close()`` when done."""

    factory: Callable[[], Executor]
    workers: int
    info: dict[str, Any]
    dask: DaskConnection | None = None

    def close(self) -> None:
        if isinstance(self.factory, started_early):
            self.factory.close()
        if self.dask is not None:
            self.dask.close()


def executors_for(workers: int | None = None, scheduler: str | None = None,
                  executor: Executor | Callable[[], Executor] | None = None, *, tasks: int | None = None,
                  start_now: bool = False) -> Executors:
    """The executors of a study: ``executor`` if given (any Executor or factory), else a Dask cluster at
    ``scheduler``, else this process (``workers=0``), else a local spawn pool of ``workers`` processes
    (default: the cores; at most ``tasks``), started now when ``start_now`` (see ``started_early``)."""
    if executor is not None:
        return Executors(executor, max(1, workers or 2), {"kind": type(executor).__name__})
    if scheduler:
        dask = DaskConnection(scheduler)
        return Executors(dask.factory(), dask.workers, {"kind": "dask", "scheduler": scheduler,
                                                        "workers": dask.workers}, dask)
    if workers == 0:
        return Executors(InProcessExecutor, 1, {"kind": "in_process", "workers": 0})
    n = max(1, workers or os.cpu_count() or 1)
    if tasks is not None:
        n = min(n, max(1, tasks))
    pool = started_early(process_pool(n), n) if start_now else process_pool(n)
    return Executors(pool, n, {"kind": "process_pool", "start_method": "spawn", "workers": n})


@dataclass
class Failure:
    """A task that failed twice (or whose worker died twice): its id, runs and the last error."""

    task: Task
    error: str
    executions: int

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.task.id,
            "runs": [[r.scenario, r.replicate, r.design_point] for r in self.task.runs],
            "error": self.error,
            "executions": self.executions,
        }


class _Loop:
    """The state of one ``execute``: tasks pending, in flight and isolated (suspects of a broken pool, rerun
    one at a time), executions and failures charged per task."""

    def __init__(self, tasks: Iterable[Task], factory: Callable[[], Executor], on_result, on_progress, work,
                 retries: int):
        self.factory, self.on_result, self.on_progress, self.retries = factory, on_result, on_progress, retries
        self.work = work or evaluate_task
        self.pending: deque[Task] = deque(tasks)
        self.isolated: deque[Task] = deque()
        self.inflight: dict[Future, Task] = {}
        self.executions: dict[str, int] = {}
        self.charges: dict[str, int] = {}
        self.suspects: set[str] = set()
        self.failures: list[Failure] = []
        self.done_count = 0
        self.pool = factory()

    def submit(self, task: Task) -> None:
        n = self.executions.get(task.id, 0)
        self.executions[task.id] = n + 1
        try:
            fut = self.pool.submit(self.work, task, n)
        except (BrokenExecutor, RuntimeError) as e:  # a broken or shut-down pool refuses new work
            fut = Future()
            fut.set_exception(e if isinstance(e, BrokenExecutor) else BrokenExecutor(str(e)))
        self.inflight[fut] = task

    def charge(self, task: Task, error: str, queue: deque[Task]) -> None:
        """Count a failure against a task: retry it (in ``queue``) or record it as failed."""
        extra = 1 if task.id in self.suspects else 0  # its earlier broken run was its own doing too
        self.suspects.discard(task.id)
        self.charges[task.id] = self.charges.get(task.id, 0) + 1 + extra
        last = error.strip().splitlines()[-1] if error.strip() else error
        if self.charges[task.id] > self.retries:
            log.error("task %s failed after %d executions: %s", task.id, self.executions[task.id], last)
            self.failures.append(Failure(task, error, self.executions[task.id]))
            if self.on_progress:
                self.on_progress(task)
        else:
            log.warning("task %s failed, retrying: %s", task.id, last)
            queue.append(task)

    def finished(self, task: Task, result: TaskResult) -> None:
        self.done_count += 1
        self.suspects.discard(task.id)
        self.on_result(task, result)
        if self.on_progress:
            self.on_progress(task)

    def round(self, window: int) -> None:
        """Fill the window (or run one suspect alone), wait for a task to end and deal with what ended."""
        alone = False
        if self.isolated:
            if not self.inflight:
                self.submit(self.isolated.popleft())
                alone = True
        else:
            while self.pending and len(self.inflight) < window:
                self.submit(self.pending.popleft())
        done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        broken = False
        for fut in done:
            task = self.inflight.pop(fut)
            try:
                exc = fut.exception()
            except CancelledError:  # not by us: the executor went away (a Dask scheduler that died)
                raise ExecutionError(f"task {task.id} was cancelled by the executor: its scheduler or cluster went "
                                     f"away; the {self.done_count} task(s) finished are kept; rerun the same "
                                     "command to resume") from None
            if exc is None:
                self.finished(task, fut.result())
            elif isinstance(exc, BrokenExecutor):
                broken = True
                if alone:  # it ran alone: the dead worker is its own doing
                    self.charge(task, _format(exc, "its worker process died"), self.isolated)
                else:
                    self.suspects.add(task.id)
                    self.isolated.append(task)
            else:
                self.charge(task, _format(exc), self.isolated if task.id in self.suspects else self.pending)
        if broken:
            self.rebuild()

    def rebuild(self) -> None:
        """Every other task in flight died with the pool: keep those that finished, rerun the others one at a
        time on a new pool."""
        for fut, task in list(self.inflight.items()):
            if fut.done() and fut.exception() is None:
                self.finished(task, fut.result())
            else:
                self.suspects.add(task.id)
                self.isolated.append(task)
        self.inflight.clear()
        if self.isolated:
            log.warning("a worker process died; restarting the pool and rerunning %d task(s) one at a time",
                        len(self.isolated))
        shutdown_executor(self.pool)
        self.pool = self.factory()

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.isolated or self.inflight)


def execute(
    tasks: Iterable[Task],
    executor: Executor | Callable[[], Executor],
    *,
    on_result: Callable[[Task, TaskResult], None],
    window: int = 4,
    retries: int = 1,
    on_progress: Callable[[Task], None] | None = None,
    work: Callable[..., Any] | None = None,
    keep: bool = False,
) -> list[Failure]:
    """Run ``tasks`` on an executor; call ``on_result`` for each finished task as soon as it returns.

    Args:
        tasks: the tasks to run.
        executor: an Executor, or a zero-argument factory of executors (needed to rebuild a process pool
            broken by a dying worker).
        on_result: called in this process with each finished task and its table (write it to disk here).
        window: tasks in flight at once (about twice the workers).
        retries: reruns of a failing task before it is recorded as failed.
        on_progress: called once per task when it is done or has finally failed.
        work: the function run in the worker as ``work(task, execution)`` (default
            ``evaluation.evaluate_task``); it must be picklable (a module-level function or a partial of one).
        keep: leave the executor open when the tasks are done, for a caller that runs several batches on one pool
            (the generations of a search) and shuts it down itself (``shutdown_executor``); an interruption still
            shuts it down.

    Returns:
        The tasks that failed, with their errors. Every other task has gone through ``on_result``.
    """
    factory = executor if callable(executor) and not isinstance(executor, Executor) else (lambda: executor)
    loop = _Loop(tasks, factory, on_result, on_progress, work, retries)
    try:
        while loop.busy:
            loop.round(window)
    except BaseException:
        for fut in loop.inflight:
            fut.cancel()
        shutdown_executor(loop.pool, cancel=True)
        raise
    if not keep:
        shutdown_executor(loop.pool)
    return loop.failures


def shutdown_executor(pool: Executor, cancel: bool = False) -> None:
    """Shut an executor down; with ``cancel`` (an interruption) local workers are stopped at once rather than
    left to finish the task they hold (whose result would be lost anyway)."""
    if cancel and isinstance(pool, ProcessPoolExecutor):
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except Exception:  # noqa: BLE001 - already gone
                log.debug("worker terminate failed", exc_info=True)
    try:
        try:
            pool.shutdown(wait=not cancel, cancel_futures=True)
        except TypeError:  # executors without cancel_futures (Dask's ClientExecutor)
            pool.shutdown(wait=not cancel)
    except Exception:
        log.debug("executor shutdown failed", exc_info=True)


def _format(exc: BaseException, note: str | None = None) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"{note}: {text}" if note else text
