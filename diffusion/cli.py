"""The ``diffusion`` command.

    diffusion run CONFIG [--out DIR] [--workers N] [--scheduler ADDRESS] [--fresh] [--repair] [-v|-q]
    diffusion check CONFIG [-v|-q]
    diffusion check --reference [FILE]
    diffusion calibrate CONFIG [--out DIR] [--workers N] [--scheduler ADDRESS] [--fresh] [-q]
    diffusion sensitivity CONFIG [--out DIR] [--workers N] [--scheduler ADDRESS] [--fresh] [-q]
    diffusion optimise CONFIG [--out DIR] [--workers N] [--scheduler ADDRESS] [--fresh] [-q]
    diffusion report RESULTS_DIR [--language en|vi] [-q]
    diffusion app [--host 127.0.0.1] [--port N] [--place thon_dong]

Exit codes: 0 everything ran; 1 some runs failed (the others are kept), the report could not be
written or the results folder could not be used; 2 a bad config or bad usage (nothing was run); 128 + the
signal after an interruption (130 Ctrl-C, 143 SIGTERM; finished tasks are kept). ``report`` and ``app`` have
their own parsers (see ``DELEGATED``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from diffusion.analyses.calibration import calibrate, validate_calibration
from diffusion.analyses.decision import run_optimisation, validate_optimisation
from diffusion.analyses.experiment import run_experiment
from diffusion.analyses.sensitivity import run_sensitivity, validate_sensitivity
from diffusion.experiments.config import ExperimentConfig, config_warnings, load_config
from diffusion.experiments.plan import make_plan
from diffusion.experiments.reference import reference_markdown
from diffusion.experiments.store import ResultStore, mark_interrupted
from diffusion.foundation.errors import ConfigError, DiffusionError
from diffusion.foundation.version import __version__
from diffusion.presentation.app import app_main
from diffusion.presentation.charts import chart_names, check_outputs, render_charts
from diffusion.presentation.decision_report import write_decision_report
from diffusion.presentation.report import report_main, write_report

log = logging.getLogger("diffusion")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _verbosity(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="store_true", help="more log messages (debug level)")
    g.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors; no progress bar")


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if getattr(args, "verbose", False) else (
        logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if level == logging.DEBUG else "%(message)s"))
    root = logging.getLogger("diffusion")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("mesa").setLevel(logging.WARNING)  # Mesa logs every model step at INFO


# ---------------------------------------------------- commands that run simulations
def _workers(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is not allowed: 0 or more (0 runs in this process)")
    return n


def _execution_arguments(p: argparse.ArgumentParser, table: str, out_default: str) -> None:
    """The arguments shared by run, calibrate and sensitivity."""
    p.add_argument("config", metavar="CONFIG", help=f"experiment file (TOML){table}")
    p.add_argument("--out", metavar="DIR", help=f"output folder (default: {out_default})")
    p.add_argument("--workers", metavar="N", type=_workers, help="worker processes (default: all cores; 0: in this "
                   "process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in the folder and start over")
    _verbosity(p)


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an experiment config", description="Run every scenario, replicate and "
                       "design point of CONFIG and write results/<experiment>/ (resuming finished work).")
    _execution_arguments(p, "", "results/<experiment name>")
    p.add_argument("--repair", action="store_true", help="rebuild an unreadable manifest.json from the task results "
                   "in the folder's parts/ (parts that do not match this config's tasks are rerun), then resume")
    p.set_defaults(handler=_run)


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="ABC-SMC calibration (pyABC) of a config's [calibration] table",
                       description="Fit the [calibration] priors of CONFIG to its targets with pyABC (ABC-SMC) and "
                       "write results/<experiment>/calibration/ (resuming calibration.db).")
    _execution_arguments(p, " with a [calibration] table", "results/<experiment name>")
    p.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    logging.getLogger("ABC").propagate = False  # pyABC prints through its own handler
    cfg = _load(args.config, build=False)
    out = calibrate(cfg, args.out, workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
                    quiet=args.quiet)
    if not args.quiet:
        summary = pd.read_csv(out / "posterior_summary.csv")
        log.info("posterior medians and 90%% credible intervals (%s):\n%s", out / "posterior_summary.csv",
                 summary[["parameter", "median", "ci90_lower", "ci90_upper"]].to_string(index=False))
    return _charts(out.parent, ("calibration",), args.quiet)


def _add_sensitivity(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity analysis (SALib) of a config's "
                       "[sensitivity] table", description="Sample, run and analyse the [sensitivity] design of "
                       "CONFIG and write results/<experiment>/sensitivity/ (resuming finished tasks).")
    _execution_arguments(p, " with a [sensitivity] table", "results/<experiment name>")
    p.set_defaults(handler=_sensitivity)


def _sensitivity(args: argparse.Namespace) -> int:
    res = run_sensitivity(_load(args.config), args.out, workers=args.workers, scheduler=args.scheduler,
                          fresh=args.fresh, quiet=args.quiet)
    if not res.ok:
        log.error("%d task(s) failed; see %s; rerun to retry them", len(res.failures), res.out_dir / "manifest.json")
        return EXIT_FAILED
    if not args.quiet:
        _print_indices(res)
    return _charts(res.out_dir, ("sensitivity",), args.quiet)


def _print_indices(res) -> None:
    """The indices (largest first), the replicate noise and what was run."""
    r = res.result
    for w in r.warnings:
        log.warning("warning: %s", w)
    cols = ["S1", "ST"] if r.method == "sobol" else ["mu_star", "sigma"]
    table = r.sobol if r.method == "sobol" else r.morris
    with pd.option_context("display.width", 140, "display.max_rows", 200):
        print(table.sort_values(["outcome", cols[-1]], ascending=[True, False])
              .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(r.noise.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"{res.runs} runs ({res.skipped_tasks} of {res.tasks} tasks resumed) in {res.seconds:.1f} s; "
          f"results in {res.out_dir}")


def _repair(args: argparse.Namespace, cfg: ExperimentConfig, kind: str = "run") -> None:
    """--repair: rebuild an unreadable manifest from the parts that hold exactly their task's runs."""
    if not getattr(args, "repair", False):
        return
    out = Path(args.out) if args.out is not None else Path("results") / cfg.name
    plan = make_plan(cfg)
    kept = ResultStore(out).repair(kind, cfg.identity, plan.tasks, _part_matches)
    log.info("repair: %d of %d task results in %s kept", kept, len(plan.tasks), out / "parts")


def _part_matches(task, result) -> bool:
    """Whether a part on disk holds exactly the runs of ``task`` (its keys), for every month."""
    t = result.table
    keys = ["scenario", "replicate", "design_point"]
    if not set(keys) <= set(t.columns):
        return False
    want = {(r.scenario, r.replicate, r.design_point) for r in task.runs}
    got = set(map(tuple, t[keys].drop_duplicates().itertuples(index=False, name=None)))
    months = t.groupby(keys).size()
    return got == want and months.nunique() == 1


def _add_optimise(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("optimise", help="lever portfolios under a budget and uncertainty: a config's [optimisation]",
                       description="Search the [optimisation] decisions of CONFIG (NSGA-II), check the Pareto mixes "
                       "and named policies over posterior draws, find where the answer fails (PRIM), and write "
                       "results/<experiment>/optimisation/ and decision.md (resuming the search).")
    _execution_arguments(p, " with an [optimisation] table", "results/<experiment name>")
    p.set_defaults(handler=_optimise)


def _optimise(args: argparse.Namespace) -> int:
    res = run_optimisation(_load(args.config), args.out, workers=args.workers, scheduler=args.scheduler,
                           fresh=args.fresh, quiet=args.quiet)
    try:
        md, _ = write_decision_report(res.out_dir, quiet=args.quiet)
    except Exception as e:  # noqa: BLE001 - as in _report: the tables are kept
        log.error("the decision report could not be written: %s: %s", type(e).__name__, e)
        return EXIT_FAILED
    if not args.quiet:
        n = res.search.evaluations if res.search else 0
        print(f"{n} mixes searched in {res.seconds:.1f} s; results in {res.folder}; the answer in {md}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    cfg = _load(args.config)
    _repair(args, cfg)
    outcome = run_experiment(cfg, out=args.out, workers=args.workers, scheduler=args.scheduler,
                             fresh=args.fresh, quiet=args.quiet)  # (a ConfigError is reported by main)
    m = outcome.manifest
    if outcome.skipped_tasks:
        log.info("%d task(s) were already done and were not rerun", outcome.skipped_tasks)
    code = EXIT_OK
    if m["runs_failed"]:
        log.error("%d of %d runs failed; the other results are kept in %s", m["runs_failed"],
                  m["runs_failed"] + m["runs_done"], outcome.out_dir)
        for f in m["tasks_failed"]:
            last = (f.get("error") or "").strip().splitlines()
            log.error("  %s (%d runs): %s", f["task"], len(f["runs"]), last[-1] if last else "?")
        log.error("rerun the same command to retry only the failed tasks")
        code = EXIT_FAILED
    else:
        log.info("%d runs done; results in %s", m["runs_done"], outcome.out_dir)
    if m["runs_done"]:
        code = max(code, _report(outcome.out_dir, quiet=args.quiet))
    return code


def _report(out_dir: Path, quiet: bool) -> int:
    """Draw the charts and write the report of a results folder (1 when that fails; the results are kept)."""
    try:
        write_report(out_dir, quiet=quiet)
    except Exception as e:  # noqa: BLE001 - the runs are done and kept; the report is reported, not fatal
        log.error("the report could not be written: %s: %s", type(e).__name__, e)
        log.debug("report failure", exc_info=True)
        return EXIT_FAILED
    return EXIT_OK


def _charts(out_dir: Path, kinds: tuple[str, ...], quiet: bool) -> int:
    """Draw the charts of an analysis (1 when that fails; the analysis's tables are kept)."""
    try:
        charts = render_charts(out_dir, kinds=kinds)
    except Exception as e:  # noqa: BLE001 - as in _report
        log.error("the charts could not be drawn: %s: %s", type(e).__name__, e)
        log.debug("chart failure", exc_info=True)
        return EXIT_FAILED
    if not quiet:
        log.info("%d chart(s) in %s", len(charts), out_dir / "charts")
    return EXIT_OK


def _load(path: str, build: bool = True) -> ExperimentConfig:
    """A config file loaded and checked, charts included (a ConfigError is reported by main)."""
    cfg = load_config(path, build=build)
    problems = check_outputs(cfg)
    if problems:
        raise ConfigError(cfg.file, problems)
    return cfg


# ------------------------------------------------------------------ check
def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate a config without running it",
                       description="Validate CONFIG: every table, key, lever setting and design point, as `run` "
                       "would, without running any model. With --reference, write the config reference page.")
    p.add_argument("config", metavar="CONFIG", nargs="?", help="experiment file (TOML)")
    p.add_argument("--reference", metavar="FILE", nargs="?", const="-",
                   help="write the config reference (Markdown) to FILE, or print it")
    _verbosity(p)
    p.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    if args.reference is not None:
        text = reference_markdown(charts=chart_names())
        if args.reference == "-":
            sys.stdout.write(text)
        else:
            Path(args.reference).parent.mkdir(parents=True, exist_ok=True)
            Path(args.reference).write_text(text, encoding="utf-8")
            log.info("wrote %s", args.reference)
        if args.config is None:
            return EXIT_OK
    if args.config is None:
        log.error("diffusion check: give a CONFIG file (or --reference)")
        return EXIT_USAGE
    cfg = _load(args.config)
    plan = make_plan(cfg)
    notes = _check_analyses(cfg) + [f"warning: {w}" for w in config_warnings(cfg)]
    pl = cfg.place
    ref = f" (reference: {plan.reference})" if plan.reference else ""
    print(f"{args.config}: ok. Experiment {cfg.name!r}: {pl.name} at scale {plan.setup.scale:g}, "
          f"{plan.setup.start} + {plan.setup.months} months; {len(plan.scenarios)} scenario(s){ref}, "
          f"{plan.replications} replications, {plan.design_points} design point(s): {plan.n_runs} runs in "
          f"{len(plan.tasks)} tasks.")
    for note in notes:
        print(note)
    return EXIT_OK


def _check_analyses(cfg: ExperimentConfig) -> list[str]:
    """Validate the [sensitivity] and [calibration] tables when present (ConfigError before any run)."""
    notes: list[str] = []
    if cfg.data.get("sensitivity") is not None:
        spec = validate_sensitivity(cfg)
        notes.append("[sensitivity]: ok.")
        notes += [f"warning: {w}" for w in spec.warnings]
    if cfg.data.get("calibration") is not None:
        validate_calibration(cfg)
        notes.append("[calibration]: ok.")
    if cfg.data.get("optimisation") is not None:
        validate_optimisation(cfg)
        notes.append("[optimisation]: ok.")
    return notes


# ------------------------------------------------------- delegated commands
def _report_main(argv: list[str]) -> int:
    try:
        return report_main(argv)
    except DiffusionError as e:  # a damaged manifest or table: one line, no traceback
        print(f"diffusion report: {e}", file=sys.stderr)
        return EXIT_FAILED


def _app_main(argv: list[str]) -> int:
    return app_main(argv)  # (it reports a missing viz extra itself)


#: Commands with their own argument parsers: name -> (help, entry point taking the remaining arguments).
DELEGATED: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "report": ("draw the charts and write report.md/report.html of a results folder", _report_main),
    "app": ("serve the interactive hamlet app (Mesa SolaraViz) on 127.0.0.1", _app_main),
}


def _add_delegated(sub: argparse._SubParsersAction) -> None:
    for name, (text, _entry) in DELEGATED.items():
        sub.add_parser(name, help=f"{text} (see 'diffusion {name} --help')", add_help=False)


#: Subcommands: each adds its parser.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_run, _add_calibrate, _add_sensitivity, _add_optimise, _add_check, _add_delegated,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``diffusion`` command."""
    parser = argparse.ArgumentParser(
        prog="diffusion",
        description="Smartphone and internet adoption by rural Vietnamese households: run experiments.",
        epilog="Exit codes: 0 ok, 1 runs failed, 2 bad config or usage.",
    )
    parser.add_argument("--version", action="version", version=f"diffusion {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


class Interrupted(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP), handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM (and SIGHUP) raise ``Interrupted`` while a command runs, as Ctrl-C raises KeyboardInterrupt;
    the previous handlers come back afterwards (the command may run inside another program, e.g. tests)."""
    wanted = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    old = {}
    try:
        for sig in wanted:
            old[sig] = signal.signal(sig, _raise_interrupted)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffusion`` command; returns the exit code (128 + the signal's number after an
    interruption: 130 for Ctrl-C, 143 for SIGTERM)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]][1](argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        with _signals_interrupt():
            return args.handler(args)
    except KeyboardInterrupt as e:
        mark_interrupted()
        what = "terminated" if isinstance(e, Interrupted) else "interrupted"
        log.error("%s; finished tasks are kept, rerun the same command to resume", what)
        return 128 + (e.signum if isinstance(e, Interrupted) else signal.SIGINT)
    except DiffusionError as e:
        mark_interrupted("failed")
        log.error("%s", e)
        return EXIT_USAGE if isinstance(e, ConfigError) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
