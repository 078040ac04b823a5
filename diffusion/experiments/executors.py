"""Running the tasks of a plan on any ``concurrent.futures.Executor``, keeping every finished task on disk.

- Default: a local ``ProcessPoolExecutor`` with an explicit "spawn" start method (importing Mesa 3.3
  forces "spawn"; being explicit makes it the same on every platform).
- ``scheduler="tcp://host:port"``: a Dask distributed cluster through ``Client(address).get_executor()``.
- ``workers=0``: in this process (debugging; no parallelism).

A task that raises is retried once, then recorded as failed with its error. A task that kills its worker
breaks a process pool (``BrokenProcessPool``): the pool is rebuilt, and the tasks that were in flight are
rerun one at a time, so that only the task that kills its worker again is charged with the failure.
Everything else completes and is kept; each finished task is written to disk as soon as it returns.

Test-only hook: the environment variable ``DIFFUSION_TEST_CRASH`` (comma-separated) simulates crashes:
``task-00003`` raises in that task every time; ``task-00003:once`` only on its first execution;
``task-00003:kill`` kills the worker process running it (``kill-once``: only the first time);
``exit-after:2`` ends the calling process abruptly (``os._exit``) after two tasks are written, as a power
cut would. ``DIFFUSION_TEST_LOG=FILE`` makes every task append its id to FILE when it starts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.experiments.plan import RunSpec, Setup, Task, seed_sequence

log = logging.getLogger(__name__)

#: Environment variable of the test-only crash hook (see the module docstring).
CRASH_ENV = "DIFFUSION_TEST_CRASH"
#: Test-only: a file to which every task appends its id when it starts (to prove no task runs twice).
LOG_ENV = "DIFFUSION_TEST_LOG"


# ================================================================ worker side
@dataclass
class TaskResult:
    """What a task sends back: the runs' monthly tables, and per hamlet for places of several hamlets.

    Attributes:
        timeseries: scenario, replicate, design_point, month, date and every metric (see ``run_one``).
        by_hamlet: scenario, replicate, design_point, month, date, hamlet and the shares per hamlet (None
            for a one-hamlet place, where it would repeat ``timeseries``).
    """

    timeseries: pd.DataFrame
    by_hamlet: pd.DataFrame | None = None


def _keyed(df: pd.DataFrame, run: RunSpec) -> pd.DataFrame:
    df.insert(0, "design_point", run.design_point)
    df.insert(0, "replicate", run.replicate)
    df.insert(0, "scenario", run.scenario)
    return df


def run_one(setup: Setup, run: RunSpec) -> TaskResult:
    """Build and run one model; its monthly outputs with the run's keys in front.

    Returns:
        ``timeseries``: one row per month (0..months): scenario, replicate, design_point, month, date and
        every metric of ``AdoptionModel.timeseries()`` (shares 0-1, costs in VND); ``by_hamlet`` the same
        keys plus hamlet and its shares (places of several hamlets only).
    """
    from diffusion.model.adoption import AdoptionModel
    from diffusion.model.params import ModelParams

    model = AdoptionModel(
        setup.place,
        params=ModelParams().with_overrides(run.params),
        levers=[lv.build() for lv in run.levers],
        start=setup.start,
        months=setup.months,
        scale=setup.scale,
        seed=seed_sequence(setup.seed, run.replicate, run.design_point),
        agents=False,
    )
    model.run()
    hamlets = _keyed(model.by_hamlet(), run) if model.population.n_hamlets > 1 else None
    return TaskResult(_keyed(model.timeseries(), run), hamlets)


def run_task(task: Task, execution: int = 0) -> TaskResult:
    """Run every run of ``task`` (in a worker); the runs' tables stacked.

    Args:
        task: the task.
        execution: how many times the task was started before (used only by the test hook).
    """
    log_file = os.environ.get(LOG_ENV)
    if log_file:
        with open(log_file, "a", encoding="utf-8") as fh:
            fh.write(f"{task.id}\n")
    test_crash_hook(task.id, execution)
    results = [run_one(task.setup, run) for run in task.runs]
    hamlets = [r.by_hamlet for r in results if r.by_hamlet is not None]
    return TaskResult(
        pd.concat([r.timeseries for r in results], ignore_index=True),
        pd.concat(hamlets, ignore_index=True) if hamlets else None,
    )


def _crash_items() -> list[tuple[str, str]]:
    spec = os.environ.get(CRASH_ENV, "")
    items = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            key, _, mode = item.partition(":")
            items.append((key, mode))
    return items


def test_crash_hook(task_id: str, execution: int) -> None:
    for key, mode in _crash_items():
        if key != task_id or (mode.endswith("once") and execution > 0):
            continue
        if mode.startswith("kill"):
            os._exit(86)
        raise RuntimeError(f"simulated crash of {task_id} ({CRASH_ENV})")


def _exit_after() -> int | None:
    for key, mode in _crash_items():
        if key == "exit-after":
            return int(mode)
    return None


# ================================================================ executors
def process_pool(workers: int) -> Callable[[], Executor]:
    """A factory of local process pools of ``workers`` processes with the "spawn" start method."""
    ctx = multiprocessing.get_context("spawn")
    return lambda: ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def _warm() -> bool:
    import diffusion.analyses.sensitivity  # noqa: F401 - what a worker needs before its first task

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


@dataclass
class DaskConnection:
    """A Dask distributed client and an executor factory over it; ``close()`` when done."""

    address: str
    client: Any = None

    def __post_init__(self):
        from dask.distributed import Client

        self.client = Client(self.address)

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


@dataclass
class _State:
    executions: dict[str, int] = field(default_factory=dict)
    charges: dict[str, int] = field(default_factory=dict)
    suspects: set[str] = field(default_factory=set)


def execute(
    tasks: Iterable[Task],
    executor: Executor | Callable[[], Executor],
    *,
    on_result: Callable[[Task, TaskResult], None],
    window: int = 4,
    retries: int = 1,
    on_progress: Callable[[Task], None] | None = None,
    work: Callable[..., Any] | None = None,
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
        work: the function run in the worker as ``work(task, execution)`` (default ``run_task``: every
            monthly output of every run); it must be picklable (a module-level function).

    Returns:
        The tasks that failed, with their errors. Every other task has gone through ``on_result``.
    """
    factory = executor if callable(executor) and not isinstance(executor, Executor) else (lambda: executor)
    pending: deque[Task] = deque(tasks)
    isolated: deque[Task] = deque()  # suspects of a broken pool: rerun one at a time
    st = _State()
    failures: list[Failure] = []
    inflight: dict[Future, Task] = {}
    exit_after = _exit_after()
    written = 0
    pool = factory()

    def submit(task: Task) -> None:
        n = st.executions.get(task.id, 0)
        st.executions[task.id] = n + 1
        try:
            fut = pool.submit(work or run_task, task, n)
        except (BrokenExecutor, RuntimeError) as e:  # a broken or shut-down pool refuses new work
            fut = Future()
            fut.set_exception(e if isinstance(e, BrokenExecutor) else BrokenExecutor(str(e)))
        inflight[fut] = task

    def charge(task: Task, error: str, queue: deque[Task]) -> None:
        extra = 1 if task.id in st.suspects else 0  # its earlier broken run was its own doing too
        st.suspects.discard(task.id)
        st.charges[task.id] = st.charges.get(task.id, 0) + 1 + extra
        if st.charges[task.id] > retries:
            log.error("task %s failed after %d executions: %s", task.id, st.executions[task.id],
                      error.strip().splitlines()[-1] if error.strip() else error)
            failures.append(Failure(task, error, st.executions[task.id]))
            if on_progress:
                on_progress(task)
        else:
            log.warning("task %s failed, retrying: %s", task.id, error.strip().splitlines()[-1] if error else "")
            queue.append(task)

    def finished(task: Task, frame: TaskResult) -> None:
        nonlocal written
        st.suspects.discard(task.id)
        on_result(task, frame)
        written += 1
        if on_progress:
            on_progress(task)
        if exit_after is not None and written >= exit_after:
            log.error("%s: exiting abruptly after %d tasks", CRASH_ENV, written)
            _kill_workers(pool)  # a test must not leave orphaned workers behind
            os._exit(70)

    try:
        while pending or isolated or inflight:
            alone = False
            if isolated:
                if not inflight:
                    submit(isolated.popleft())
                    alone = True
            else:
                while pending and len(inflight) < window:
                    submit(pending.popleft())
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = inflight.pop(fut)
                exc = fut.exception()
                if exc is None:
                    finished(task, fut.result())
                elif isinstance(exc, BrokenExecutor):
                    broken = True
                    if alone:  # it ran alone: the dead worker is its own doing
                        charge(task, _format(exc, "its worker process died"), isolated)
                    else:
                        st.suspects.add(task.id)
                        isolated.append(task)
                else:
                    charge(task, _format(exc), isolated if task.id in st.suspects else pending)
            if broken:
                # every other task in flight died with the pool: rerun them one at a time
                for fut, task in list(inflight.items()):
                    if fut.done() and fut.exception() is None:
                        finished(task, fut.result())
                    else:
                        st.suspects.add(task.id)
                        isolated.append(task)
                inflight.clear()
                if isolated:
                    log.warning("a worker process died; restarting the pool and rerunning %d task(s) one at a "
                                "time", len(isolated))
                _shutdown(pool)
                pool = factory()
    except BaseException:
        for fut in inflight:
            fut.cancel()
        _shutdown(pool, cancel=True)
        raise
    _shutdown(pool)
    return failures


def _kill_workers(pool: Executor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            log.debug("worker %s already gone", proc.pid)


def _shutdown(pool: Executor, cancel: bool = False) -> None:
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


# ================================================================ an experiment
@dataclass
class RunOutcome:
    """What ``run_experiment`` did.

    Attributes:
        out_dir: the results folder.
        runs_done, runs_failed: counts over the whole experiment (resumed tasks included).
        failures: the tasks that failed in this invocation.
        skipped_tasks: tasks found finished on disk and not rerun.
    """

    out_dir: Path
    runs_done: int
    runs_failed: int
    failures: list[Failure]
    skipped_tasks: int
    manifest: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.failures and self.runs_failed == 0


def run_experiment(
    config: Any,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | Callable[[], Executor] | None = None,
    fresh: bool = False,
    quiet: bool = False,
) -> RunOutcome:
    """Run an experiment: plan, execute (resuming finished tasks), write the tidy results.

    Args:
        config: an ExperimentConfig, or the path of a config file.
        out: results folder (default ``results/<experiment name>``).
        workers: worker processes of the local pool (default: the number of cores; 0 runs in this process).
        scheduler: address of a Dask scheduler ("tcp://host:port"); overrides ``workers``.
        executor: any Executor (or factory of executors) instead of the above.
        fresh: discard earlier results in ``out`` and start over.
        quiet: no progress bar.

    Raises:
        ConfigError: bad config, or ``out`` holds results of a different config (use ``fresh`` or another
            ``out``).
    """
    from diffusion.experiments.config import ExperimentConfig, load_config
    from diffusion.experiments.plan import make_plan
    from diffusion.experiments.results import ResultStore

    cfg: ExperimentConfig = config if isinstance(config, ExperimentConfig) else load_config(config)
    plan = make_plan(cfg)
    out_dir = Path(out) if out is not None else Path("results") / cfg.name
    store = ResultStore(out_dir)
    done = store.prepare(cfg, plan, fresh=fresh)
    todo = [t for t in plan.tasks if t.id not in done]
    skipped = len(plan.tasks) - len(todo)
    if skipped:
        log.info("resuming: %d of %d tasks already done in %s", skipped, len(plan.tasks), out_dir)

    ex = executors_for(workers, scheduler, executor, tasks=len(todo))
    store.begin(ex.info)

    from tqdm.auto import tqdm

    bar = tqdm(total=plan.n_runs, initial=sum(len(t.runs) for t in plan.tasks if t.id in done), unit="run",
               desc=cfg.name, disable=quiet or None, leave=False, dynamic_ncols=True)
    try:
        failures = execute(
            todo,
            ex.factory,
            on_result=store.write_part,
            window=2 * ex.workers,
            on_progress=lambda t: bar.update(len(t.runs)),
        )
    finally:
        bar.close()
        ex.close()
    for f in failures:
        store.write_failure(f)
    manifest = store.finish(cfg, plan)
    return RunOutcome(
        out_dir=out_dir,
        runs_done=manifest["runs_done"],
        runs_failed=manifest["runs_failed"],
        failures=failures,
        skipped_tasks=skipped,
        manifest=manifest,
    )

