"""Faults at the edges (issue 16): killed and terminated runs leave no worker behind and no manifest saying
"running"; the store touches only files it wrote; damaged parts, manifests and tables are found and
reported in one line; inputs that are absurd are errors at `diffusion check`; the Python API names the
argument that is wrong.

Configs are tiny (Thôn Đông, a few months, few replicates). Tests that start processes are ``integration``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from diffusion import cli
from diffusion.analyses.experiment import run_experiment
from diffusion.experiments.results import load_results
from diffusion.foundation import files as files_module
from diffusion.foundation.errors import ConfigError, DiffusionError, ResultsError

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

TINY = """
[experiment]
name = "tiny"
start = "2021-01"
months = 3
replications = 3
seed = 3
runs_per_task = 1

[population]
place = "thon_dong"
"""


def write(folder: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def one_line(text: str) -> str:
    """The single non-empty line of a message (fails when there are more, or a traceback)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# ================================================================ processes
def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


SLOW_RUN = """
import functools, sys
import faults
from diffusion import cli
real = cli.run_experiment
cli.run_experiment = lambda *a, **k: real(*a, **{**k, "work": functools.partial(faults.work, sleep_from=2, sleep=120)})
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_worker_outlives_a_killed_run(tmp_path, sig):
    """`diffusion run` with 2 workers, killed (SIGKILL) or terminated (SIGTERM) while its workers are busy: every
    worker (and multiprocessing's helper) is gone within seconds, finished tasks are kept, and the manifest does
    not say "running"; SIGTERM is handled like Ctrl-C (one line, exit 128 + 15)."""
    cfg, out = write(tmp_path), tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([PY, "-c", SLOW_RUN, "run", str(cfg), "--out", str(out), "--workers", "2", "-q"],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while len(list((out / "parts").glob("task-?????.parquet"))) < 2 or len(_children(proc.pid)) < 2:
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline, "the run did not start"
            time.sleep(0.1)
        time.sleep(0.5)  # the workers hold the slow tasks
        children = _children(proc.pid)
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=30)
        deadline = time.time() + 10
        while any(_alive(c) for c in children) and time.time() < deadline:
            time.sleep(0.1)
        left = [c for c in children if _alive(c)]
    finally:
        for c in _children(proc.pid) | (children if "children" in locals() else set()):
            if _alive(c):
                os.kill(c, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    assert not left, f"processes outlived the run: {left}"
    assert sorted(p.stem for p in (out / "parts").glob("task-?????.parquet")) == ["task-00000", "task-00001"]
    assert load_results(out).run["status"] == "interrupted"
    if sig == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM
        assert "finished tasks are kept" in one_line(proc.stderr.read())
        assert json.loads((out / "manifest.json").read_text())["analyses"]["run"]["status"] == "interrupted"


# ================================================================ folders
def _user_folder(root: Path) -> Path:
    """A folder of the user's own (no manifest)."""
    (root / "charts").mkdir(parents=True)
    (root / "parts").mkdir()
    (root / "charts" / "figure1.png").write_bytes(b"my figure")
    (root / "parts" / "notes.txt").write_text("my notes")
    (root / "report.md").write_text("my report")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fresh", [False, True])
def test_a_folder_that_is_not_a_results_folder_is_refused_and_left_alone(tmp_path, fresh):
    out = _user_folder(tmp_path / "mine")
    before = _snapshot(out)
    with pytest.raises(ResultsError) as info:
        run_experiment(write(tmp_path), out=out, workers=0, quiet=True, fresh=fresh)
    assert "not a results folder" in str(info.value) and str(out) in str(info.value)
    assert _snapshot(out) == before


def test_fresh_removes_only_what_the_store_wrote(tmp_path):
    cfg, out = write(tmp_path), tmp_path / "out"
    run_experiment(cfg, out=out, workers=0, quiet=True)
    (out / "parts" / "notes.txt").write_text("mine")
    (out / "mine.csv").write_text("a,b\n1,2\n")
    run_experiment(write(tmp_path, TINY.replace("months = 3", "months = 4")), out=out, workers=0, quiet=True,
                   fresh=True)
    assert (out / "parts" / "notes.txt").read_text() == "mine" and (out / "mine.csv").exists()
    assert pd.read_parquet(out / "timeseries.parquet").month.max() == 4


@pytest.mark.parametrize("what", ["file", "read_only", "disk_full"])
def test_unwritable_out_gives_one_line(tmp_path, monkeypatch, capsys, what):
    cfg, out = write(tmp_path), tmp_path / "out"
    monkeypatch.setattr(cli, "_report", lambda *a, **k: 0)
    if what == "file":
        out.write_text("not a folder")
    elif what == "read_only":
        out.mkdir()
        out.chmod(0o555)
        if os.geteuid() == 0:  # root writes into read-only folders: the same error, simulated
            def refuse(path, data):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            monkeypatch.setattr(files_module, "atomic_write", refuse)
    else:  # the disk fills up after the first task result is written
        real, tasks = files_module.atomic_write, []

        def full(path, data):
            if Path(path).name.startswith("task-"):
                tasks.append(path)
                if len(tasks) > 1:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(path, data)
        monkeypatch.setattr(files_module, "atomic_write", full)
    try:
        code = cli.main(["run", str(cfg), "--out", str(out), "--workers", "0", "-q"])
    finally:
        if what == "read_only":
            out.chmod(0o755)
    err = one_line(capsys.readouterr().err)
    assert code == 1 and str(out) in err
    cause = {"file": "not a folder", "read_only": "Permission denied", "disk_full": "No space left"}[what]
    assert cause in err
    if what == "disk_full":
        assert "kept" in err and len(list((out / "parts").glob("task-?????.parquet"))) == 1
        assert json.loads((out / "manifest.json").read_text())["analyses"]["run"]["status"] == "failed"


# ================================================================ damaged results
@pytest.fixture
def finished(tmp_path) -> tuple[Path, Path, pd.DataFrame]:
    cfg, out = write(tmp_path), tmp_path / "out"
    run_experiment(cfg, out=out, workers=0, quiet=True)
    return cfg, out, pd.read_parquet(out / "timeseries.parquet")


@pytest.mark.parametrize("damage", [b"", b"PAR1 not really"])
def test_damaged_part_is_found_and_rerun(finished, damage):
    cfg, out, ts = finished
    (out / "parts" / "task-00001.parquet").write_bytes(damage)
    again = run_experiment(cfg, out=out, workers=0, quiet=True)
    assert again.ok and again.skipped_tasks == 2
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), ts)


@pytest.mark.parametrize("manifest", ["{ not json", "[]"])
def test_unreadable_manifest_is_reported_and_repaired_from_the_parts(finished, capsys, monkeypatch, manifest):
    cfg, out, ts = finished
    monkeypatch.setattr(cli, "_report", lambda *a, **k: 0)
    (out / "manifest.json").write_text(manifest)
    (out / "parts" / "task-00002.parquet").write_bytes(b"damaged")
    assert cli.main(["run", str(cfg), "--out", str(out), "--workers", "0", "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "unreadable" in err and "--repair" in err and "different config" not in err
    assert cli.main(["report", str(out), "-q"]) == 1
    assert "unreadable" in one_line(capsys.readouterr().err)
    assert cli.main(["run", str(cfg), "--out", str(out), "--workers", "0", "-q", "--repair"]) == 0
    m = load_results(out).run
    assert m["status"] == "complete" and m["runs_done"] == 3
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"), ts)


@pytest.mark.parametrize("name", ["timeseries.parquet", "summary.csv"])
def test_report_on_a_damaged_table_gives_one_line(finished, capsys, name):
    _cfg, out, _ts = finished
    (out / name).write_bytes(b"\x00garbage\x00")
    assert cli.main(["report", str(out), "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert name in err and "rerun" in err
    with pytest.raises(DiffusionError):
        getattr(load_results(out), name.split(".")[0])


def test_report_on_a_damaged_hamlet_table_gives_one_line(tmp_path, capsys):
    cfg = write(tmp_path, TINY.replace('place = "thon_dong"', 'place = "commune"\nscale = 0.25'))
    out = tmp_path / "out"
    run_experiment(cfg, out=out, workers=0, quiet=True)
    (out / "by_hamlet.parquet").write_bytes(b"")
    assert cli.main(["report", str(out), "-q"]) == 1
    assert "by_hamlet.parquet" in one_line(capsys.readouterr().err)


def test_config_errors_are_still_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        run_experiment(write(tmp_path, TINY.replace("seed = 3", "seed = -1")), out=tmp_path / "o", workers=0)


# ================================================================ Dask
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://", "tcp://host name:1", "http://x:1/path"])
def test_malformed_scheduler_address_gives_one_line(tmp_path, capsys, address):
    out = tmp_path / "out"
    assert cli.main(["run", str(write(tmp_path)), "--out", str(out), "--scheduler", address, "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "not a Dask scheduler address" in err and "tcp://HOST:PORT" in err
    assert not (out / "parts").exists()


def test_unreachable_scheduler_fails_fast_in_one_line(tmp_path, capsys, monkeypatch):
    from diffusion.experiments import executors

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", 1)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert cli.main(["run", str(write(tmp_path)), "--out", str(out), "--scheduler", address, "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "cannot be reached" in err and address in err and "kept" in err
    assert not (out / "parts").exists()
    assert load_results(out).run["status"] == "failed"


@pytest.mark.integration
def test_scheduler_dying_mid_run_gives_one_line_and_keeps_finished_tasks(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    dask = str(Path(PY).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": tmp_path}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet)
    out = tmp_path / "out"
    try:
        run = subprocess.Popen([PY, "-c", SLOW_RUN, "run", str(write(tmp_path)), "--out", str(out), "--scheduler",
                                address, "-q"], env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while len(list((out / "parts").glob("task-?????.parquet"))) < 2:
            assert run.poll() is None, run.stderr.read()
            assert time.time() < deadline, "the run did not start"
            time.sleep(0.1)
        scheduler.kill()
        code = run.wait(timeout=120)
    finally:
        for p in (scheduler, worker):
            p.kill()
            p.wait(timeout=30)
    err = one_line(run.stderr.read())
    assert code == 1 and "went away" in err and "kept" in err
    assert sorted(p.stem for p in (out / "parts").glob("task-?????.parquet")) == ["task-00000", "task-00001"]
    assert load_results(out).run["status"] == "failed"


# ================================================================ Python API
@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"place": None}, "place"),
    ({"place": 3}, "place"),
    ({"levers": ["teams"]}, "levers"),
    ({"levers": "teams"}, "levers"),
    ({"levers": 5}, "levers"),
    ({"scale": 1e12}, "scale"),
    ({"scale": float("nan")}, "scale"),
    ({"place": "vietnam"}, "scale"),
])
def test_python_api_names_the_wrong_argument(kwargs, argument):
    from diffusion import AdoptionModel, ParameterError

    kwargs = {"place": "thon_dong", **kwargs}
    big = kwargs["place"] == "vietnam" or kwargs.get("scale") == 1e12
    with pytest.raises(ParameterError) as info:
        AdoptionModel(kwargs.pop("place"), months=1, **kwargs)
    assert info.value.name == argument and "\n" not in str(info.value)
    if big:  # refused before anything is built, with the memory it would take
        assert "GB of memory" in str(info.value) and "5,000,000 households" in str(info.value)


def test_python_api_levers_none_means_no_levers():
    from diffusion import AdoptionModel

    assert AdoptionModel("thon_dong", months=1, seed=1, levers=None).levers == []


@pytest.mark.parametrize(("name", "value"), [
    ("income_mean_vnd", 1e308), ("household_size_mean", 1e6), ("mean_degree", 100000),
    ("smartphone.price_vnd", 1e308), ("fibre.monthly_fee_vnd", 1e300), ("smartphone.q", 1e9),
])
def test_absurd_parameters_are_errors_naming_their_range(name, value):
    from diffusion import ModelParams, ParameterError

    with pytest.raises(ParameterError) as info:
        ModelParams().with_overrides({name: value})
    assert info.value.name == name and "plausible" in str(info.value) and "parameters.csv" in str(info.value)


def test_every_parameter_has_a_documented_range():
    from diffusion.foundation.sources import parameters
    from diffusion.model.params import PLAUSIBLE, ModelParams

    rows = parameters()
    assert {r["name"] for r in rows} == set(PLAUSIBLE)
    defaults = ModelParams()
    for name, (lo, hi, _unit) in PLAUSIBLE.items():
        value = (getattr(defaults.products[name.split(".")[0]], name.split(".")[1]) if "." in name
                 else getattr(defaults, name))
        assert lo <= value <= hi, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for r in rows:
        assert f"| `{r['name']}` | {r['value']} |" in readme and f"| {r['min']} to {r['max']} |" in readme


# ================================================================ config inputs
def _check(tmp_path: Path, text: str, capsys) -> tuple[int, str]:
    code = cli.main(["check", str(write(tmp_path, text, "c.toml"))])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("extra", "where"), [
    ("[model]\nincome_mean_vnd = 1e308", "model.income_mean_vnd"),
    ("[model]\nhousehold_size_mean = 1e6", "model.household_size_mean"),
    ("[model]\nmean_degree = 100000", "model.mean_degree"),
    ("[model.products.smartphone]\nprice_vnd = 1e308", "model.products.smartphone.price_vnd"),
    ('[levers.t]\nkind = "digital_teams"\nallowance_vnd = 1e308', "levers.t.allowance_vnd"),
    ('[levers.t]\nkind = "digital_teams"\nmembers_per_team = 1000000000', "levers.t.members_per_team"),
    ('[levers.s]\nkind = "smartphone_subsidy"\namount_vnd = 1e15', "levers.s.amount_vnd"),
])
def test_absurd_values_are_errors_at_check(tmp_path, capsys, extra, where):
    code, err = _check(tmp_path, TINY + "\n" + extra + "\n", capsys)
    assert code == 2 and where in one_line(err) and "plausible" in err


@pytest.mark.parametrize("start", ["0000-01", "2007-12", "2024-08", "9999-12"])
def test_start_outside_the_calendar_is_an_error_at_check(tmp_path, capsys, start):
    code, err = _check(tmp_path, TINY.replace('start = "2021-01"', f'start = "{start}"'), capsys)
    assert code == 2 and "experiment.start" in one_line(err) and "2008-01" in err


@pytest.mark.parametrize("deep", ["x = " + "[" * 20000 + "]" * 20000, "x = " + "{a = " * 20000 + "1" + "}" * 20000,
                                  "[outputs]\ncharts = " + "[" * 40 + "]" * 40])
def test_deep_nesting_is_an_error(tmp_path, capsys, deep):
    code, err = _check(tmp_path, TINY + "\n" + deep + "\n", capsys)
    assert code == 2 and "nested more than" in one_line(err)


def test_a_key_written_in_two_unicode_forms_is_an_error(tmp_path, capsys):
    import unicodedata

    nfc, nfd = (unicodedata.normalize(f, "thôn_đông") for f in ("NFC", "NFD"))
    assert nfc != nfd
    text = TINY + f'\n[scenarios."{nfc}"]\ndescription = "a"\n[scenarios."{nfd}"]\ndescription = "b"\n'
    code, err = _check(tmp_path, text, capsys)
    assert code == 2 and "two Unicode forms" in one_line(err) and nfc in err
    # one form only is fine, and the name is kept composed (NFC)
    from diffusion.experiments.config import load_config_text

    cfg = load_config_text(TINY + f'\n[scenarios."{nfd}"]\n', build=False)
    assert list(cfg.scenarios) == [nfc]


# ================================================================ fuzz: `diffusion check` on generated configs
def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _toml_doc(data: dict) -> str:
    """A config as TOML: each table as [a.b.c] with its values (tables inside tables recursively)."""
    out: list[str] = []

    def table(path: list[str], node: dict) -> None:
        values = {k: v for k, v in node.items() if not isinstance(v, dict)}
        if path:
            out.append("[" + ".".join(_toml_key(p) for p in path) + "]")
        out.extend(f"{_toml_key(k)} = {_toml(v)}" for k, v in values.items())
        for k, v in node.items():
            if isinstance(v, dict):
                table([*path, k], v)

    table([], data)
    return "\n".join(out) + "\n"


FUZZ_BASE = {"experiment": {"name": "fuzz", "start": "2021-01", "months": 3, "replications": 1, "seed": 1},
             "population": {"place": "thon_dong"}, "levers": {"t": {"kind": "digital_teams"}}}
FUZZ_TABLES = [("experiment",), ("population",), ("model",), ("model", "products", "smartphone"), ("levers", "t"),
               ("scenarios", "thôn_đông"), ("outputs",), ("uncertainties", "rewiring"), ()]
FUZZ_KEYS = ["name", "start", "months", "replications", "seed", "place", "scale", "income_mean_vnd",
             "household_size_mean", "mean_degree", "price_vnd", "q", "allowance_vnd", "members_per_team",
             "lower", "upper", "values", "reference", "levers", "charts", "language", "kind", "thôn_đông",
             "tho\u0302n_\u0111o\u0302ng", "rewiring", "end"]


def _fuzz_strategies():
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0, 1, -1, 1e308, 1e-308, 1e12, 0.5, "2021-01", "0000-01", "9999-12", "thôn_đông", "", "x"]),
        st.text(max_size=12), st.booleans())
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.sampled_from(FUZZ_KEYS), inner,
                                                                           max_size=3)), max_leaves=6)
    return st.lists(st.tuples(st.sampled_from(FUZZ_TABLES), st.sampled_from(FUZZ_KEYS), values), min_size=1,
                    max_size=3)


def _fuzz_test():
    import contextlib
    import copy
    import io
    import tempfile

    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(_fuzz_strategies())
    def test_generated_configs_fail_only_with_our_one_line_errors(mutations):
        """Every failure of `diffusion check` on a generated config is the project's own error, one line per
        problem naming the file, never a traceback; and `check` changes no file."""
        data = copy.deepcopy(FUZZ_BASE)
        for table, key, value in mutations:
            node = data
            for part in table:
                node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
            node[key] = value
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            cfg = folder / "fuzz.toml"
            cfg.write_text(_toml_doc(data), encoding="utf-8")
            before = _snapshot(folder)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = cli.main(["check", str(cfg), "-q"])
            assert code in (0, 2), err.getvalue()
            text = err.getvalue()
            assert "Traceback" not in text
            if code == 2:
                assert text.strip() and all(str(cfg) in ln for ln in text.splitlines() if ln.strip()), text
            assert _snapshot(folder) == before

    return test_generated_configs_fail_only_with_our_one_line_errors


test_generated_configs_fail_only_with_our_one_line_errors = _fuzz_test()


def test_a_degree_the_hamlet_cannot_hold_is_a_warning_at_check(tmp_path, capsys):
    text = TINY.replace('place = "thon_dong"', 'place = "thon_dong"\nscale = 0.02') + "\n[model]\nmean_degree = 8\n"
    assert cli.main(["check", str(write(tmp_path, text, "c.toml"))]) == 0
    out = capsys.readouterr().out
    assert "warning: model.mean_degree = 8 is not below the households of a hamlet" in out
