"""Experiments end to end: plans, seeds, executors, crashes, resume, results on disk and the command.

Fast tests run in this process (``workers=0``); tests that start process pools, Dask clusters or the
command are marked ``integration``. Configs are tiny (Thôn Đông, 12 months, a few replicates).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import faults
import numpy as np
import pandas as pd
import pytest

from diffusion import cli
from diffusion.analyses.experiment import run_experiment
from diffusion.experiments.config import load_config, load_config_text
from diffusion.experiments.evaluation import seed_sequence
from diffusion.experiments.plan import make_plan
from diffusion.experiments.results import load_results
from diffusion.foundation.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

SMALL = """
[experiment]
name = "small"
start = "2021-01"
months = 12
replications = 4
seed = 7
runs_per_task = 2

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2021-03"

[scenarios.with_team]

[scenarios.without]
reference = true
levers.team.enabled = false
"""


def write(tmp_path: Path, text: str = SMALL, name: str = "small.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def ts_of(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "timeseries.parquet")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> pd.DataFrame:
    """The small experiment run in this process, uninterrupted."""
    d = tmp_path_factory.mktemp("ref")
    cfg = write(d)
    run_experiment(cfg, out=d / "out", workers=0, quiet=True)
    return ts_of(d / "out")


# ------------------------------------------------------------------ plan and seeds
def test_plan_orders_runs_and_groups_them(tmp_path):
    plan = make_plan(load_config(write(tmp_path)))
    assert plan.n_runs == 2 * 4 and len(plan.tasks) == 4
    assert [t.id for t in plan.tasks] == ["task-00000", "task-00001", "task-00002", "task-00003"]
    runs = [(r.scenario, r.replicate, r.design_point) for t in plan.tasks for r in t.runs]
    assert runs[:4] == [("with_team", 0, 0), ("without", 0, 0), ("with_team", 1, 0), ("without", 1, 0)]
    # the default grouping keeps at least MIN_TASKS tasks and about a second of work per task
    auto = make_plan(load_config_text(SMALL.replace("runs_per_task = 2", "replications = 40").replace(
        "replications = 4\n", ""), source="x.toml"))
    assert 8 <= len(auto.tasks) <= 80


def test_seed_keys_leave_the_scenario_out():
    a, b = seed_sequence(7, 3, 2), seed_sequence(7, 3, 2)
    assert a.entropy == 7 and tuple(a.spawn_key) == (3, 2)
    assert np.array_equal(a.generate_state(4), b.generate_state(4))
    assert not np.array_equal(seed_sequence(7, 3, 2).generate_state(4), seed_sequence(7, 2, 3).generate_state(4))


def test_results_do_not_depend_on_task_size(tmp_path, reference_run):
    cfg = write(tmp_path, SMALL.replace("runs_per_task = 2", "runs_per_task = 3"))
    run_experiment(cfg, out=tmp_path / "out", workers=0, quiet=True)
    pd.testing.assert_frame_equal(ts_of(tmp_path / "out"), reference_run)


def test_common_random_numbers(tmp_path):
    text = SMALL.replace("[scenarios.with_team]", "[scenarios.with_team]\n[scenarios.same_again]")
    run_experiment(write(tmp_path, text), out=tmp_path / "out", workers=0, quiet=True)
    ts = ts_of(tmp_path / "out")
    a = ts[ts.scenario == "with_team"].drop(columns="scenario").reset_index(drop=True)
    b = ts[ts.scenario == "same_again"].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # the same replicate without the team shares the initial state (month 0) with it, then departs
    c = ts[ts.scenario == "without"].reset_index(drop=True)
    m0 = a.month == 0
    assert np.array_equal(a.loc[m0, "share_smartphone"], c.loc[m0, "share_smartphone"])
    assert (a.loc[~m0, "share_services"].to_numpy() >= c.loc[~m0, "share_services"].to_numpy() - 0.05).all()
    assert not a["share_services"].equals(c["share_services"])
    # summary: paired differences against the reference; identical twin differs by exactly zero
    s = pd.read_csv(tmp_path / "out" / "summary.csv")
    twin = s[(s.scenario == "same_again") & (s.outcome == "total_cost_vnd")]
    assert twin["median"].iloc[0] > 0
    row = s[(s.scenario == "with_team") & (s.outcome == "diff.final.share_services")].iloc[0]
    assert row["reference"] == "without" and row["runs"] == 4


# ------------------------------------------------------------------ results on disk
def test_results_folder(tmp_path):
    cfg = write(tmp_path)
    out = tmp_path / "out"
    outcome = run_experiment(cfg, out=out, workers=0, quiet=True)
    assert outcome.ok and outcome.runs_done == 8
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    m = manifest["analyses"]["run"]
    for key in ("config_text", "config", "config_sha256", "root_seed", "versions", "git", "started", "finished",
                "runs_done", "runs_failed", "plan"):
        assert key in m
    # every file the run wrote is listed with its size and checksum
    assert {"timeseries.parquet", "summary.csv", "parts/task-00000.parquet"} <= set(manifest["files"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert m["root_seed"] == 7 and m["runs_done"] == 8 and m["runs_failed"] == 0 and m["status"] == "complete"
    assert m["versions"]["mesa"] == "3.3.1"
    ts = ts_of(out)
    assert list(ts.columns[:5]) == ["scenario", "replicate", "design_point", "month", "date"]
    assert len(ts) == 8 * 13 and {"share_internet", "cost.team", "cum_cost.team", "team.visits"} <= set(ts.columns)
    assert not ts["cost.team"].isna().any()
    s = pd.read_csv(out / "summary.csv")
    assert list(s.columns) == ["scenario", "outcome", "reference", "median", "p05", "p95", "mean", "runs", "date",
                               "mean_p05", "mean_p95", "note"]
    outcomes = set(s.outcome)
    assert {"final.share_internet", "total_cost_vnd", "cost_per_additional_vnd.internet",
            "additional_households.internet", "month_reached.broadband_households"} <= outcomes
    assert not list(out.glob("**/.*.tmp"))  # no temporary files left
    res = load_results(out)
    assert res.config.name == "small" and res.reference == "without"
    pd.testing.assert_frame_equal(res.timeseries, ts)
    assert res.design is None and len(res.summary) == len(s)


def test_lever_absent_from_a_scenario_costs_zero(tmp_path):
    text = SMALL + """
[scenarios.with_house]
levers.house.kind = "public_access"
levers.house.start = "2021-06"
"""
    run_experiment(write(tmp_path, text), out=tmp_path / "out", workers=0, quiet=True)
    ts = ts_of(tmp_path / "out")
    other = ts[ts.scenario != "with_house"]
    assert (other["cost.house"] == 0).all() and (other["house.points"] == 0).all()
    assert ts.loc[ts.scenario == "with_house", "cum_cost.house"].max() > 0


def test_places_of_several_hamlets_get_a_table_by_hamlet(tmp_path):
    text = SMALL.replace('place = "thon_dong"', 'place = "commune"').replace("replications = 4", "replications = 1")
    out = tmp_path / "out"
    run_experiment(write(tmp_path, text), out=out, workers=0, quiet=True)
    bh = load_results(out).by_hamlet
    assert list(bh.columns[:6]) == ["scenario", "replicate", "design_point", "month", "date", "hamlet"]
    assert len(bh) == 2 * 13 * 8 and bh["hamlet"].nunique() == 8
    ts = ts_of(out)
    # the households of the 8 hamlets (274 each) add up to the commune's shares
    mean = bh.groupby(["scenario", "month"], sort=False)["share_internet"].mean().to_numpy()
    assert np.allclose(mean, ts["share_internet"].to_numpy(), atol=0.01)


def test_design_points(tmp_path):
    text = SMALL.replace("replications = 4", "replications = 2") + """
[uncertainties."smartphone.q"]
lower = 0.2
upper = 0.6
[uncertainties."levers.team.visits_per_member"]
values = [5, 20]
[design]
sampler = "full_factorial"
levels = 2
"""
    out = tmp_path / "out"
    run_experiment(write(tmp_path, text), out=out, workers=0, quiet=True)
    design = pd.read_parquet(out / "design.parquet")
    assert len(design) == 4
    assert list(design.columns) == ["design_point", "smartphone.q", "levers.team.visits_per_member"]
    ts = ts_of(out)
    assert sorted(ts.design_point.unique()) == [0, 1, 2, 3]
    visits = ts[(ts.scenario == "with_team") & (ts.month == 3)].groupby("design_point")["team.visits"].max()
    assert visits[design.set_index("design_point")["levers.team.visits_per_member"].idxmax()] > visits.min()
    assert load_results(out).design is not None


def test_changed_config_is_refused_and_fresh_starts_over(tmp_path):
    cfg = write(tmp_path)
    out = tmp_path / "out"
    run_experiment(cfg, out=out, workers=0, quiet=True)
    again = run_experiment(cfg, out=out, workers=0, quiet=True)  # same config: everything skipped
    assert again.skipped_tasks == 4 and again.ok
    changed = write(tmp_path, SMALL.replace("months = 12", "months = 13"))
    with pytest.raises(ConfigError) as info:
        run_experiment(changed, out=out, workers=0, quiet=True)
    assert "--fresh" in str(info.value) and "--out" in str(info.value)
    assert cli.main(["run", str(changed), "--out", str(out), "--workers", "0", "-q"]) == 2
    fresh = run_experiment(changed, out=out, workers=0, quiet=True, fresh=True)
    assert fresh.skipped_tasks == 0 and ts_of(out).month.max() == 13


def test_check_command_and_exit_codes(tmp_path, capsys):
    assert cli.main(["check", str(write(tmp_path))]) == 0
    assert "8 runs in 4 tasks" in capsys.readouterr().out
    bad = write(tmp_path, SMALL.replace("seed = 7", "sead = 7"), "bad.toml")
    assert cli.main(["check", str(bad)]) == 2
    assert cli.main(["run", str(bad), "-q"]) == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["run"])
    assert info.value.code == 2
    assert cli.main(["check", "--reference"]) == 0
    assert "# Config reference" in capsys.readouterr().out


# ------------------------------------------------------------------ executors (integration)
@pytest.mark.integration
def test_same_results_with_1_and_2_workers_and_dask(tmp_path, reference_run):
    from dask.distributed import LocalCluster

    cfg = write(tmp_path)
    for workers in (1, 2):
        run_experiment(cfg, out=tmp_path / f"w{workers}", workers=workers, quiet=True)
        pd.testing.assert_frame_equal(ts_of(tmp_path / f"w{workers}"), reference_run)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        outcome = run_experiment(cfg, out=tmp_path / "dask", scheduler=cluster.scheduler_address, quiet=True)
    assert outcome.manifest["executor"]["kind"] == "dask"
    pd.testing.assert_frame_equal(ts_of(tmp_path / "dask"), reference_run)


@pytest.mark.integration
def test_resume_after_the_process_dies(tmp_path, reference_run):
    cfg = write(tmp_path)
    out = tmp_path / "out"
    log1, log2 = tmp_path / "log1", tmp_path / "log2"
    # a run whose later tasks are slow, killed (with its whole process group, as a power cut would) once two
    # tasks are on disk
    script = ("from functools import partial; import faults; from diffusion.analyses.experiment import run_experiment; "
              f"run_experiment({str(cfg)!r}, out={str(out)!r}, workers=0, quiet=True, "
              f"work=partial(faults.work, log={str(log1)!r}, sleep_from=2, sleep=30))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([PY, "-c", script], env=env, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("task-?????.parquet"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    saved = sorted(p.stem for p in (out / "parts").glob("task-?????.parquet"))
    assert saved == ["task-00000", "task-00001"]
    assert not (out / "timeseries.parquet").exists()
    second = run_experiment(cfg, out=out, workers=1, quiet=True, work=partial(faults.work, log=str(log2)))
    assert second.ok and second.skipped_tasks == 2
    rerun = log2.read_text().split()
    assert not set(rerun) & set(saved)  # no finished task ran twice
    assert sorted(rerun) == ["task-00002", "task-00003"]
    pd.testing.assert_frame_equal(ts_of(out), reference_run)
    assert load_results(out).run["status"] == "complete"


@pytest.mark.integration
def test_crashing_task_is_reported_and_the_rest_kept(tmp_path, reference_run):
    cfg = write(tmp_path)
    out = tmp_path / "out"
    log1 = tmp_path / "log1"
    first = run_experiment(cfg, out=out, workers=2, quiet=True,
                           work=partial(faults.work, log=str(log1), fail={"task-00001": "raise"}))
    assert not first.ok and first.runs_failed == 2 and first.runs_done == 6
    assert [f.task.id for f in first.failures] == ["task-00001"] and "simulated crash" in first.failures[0].error
    assert log1.read_text().split().count("task-00001") == 2  # retried once
    m = load_results(out).run
    assert m["runs_done"] == 6 and m["runs_failed"] == 2 and m["status"] == "incomplete"
    assert m["tasks_failed"][0]["task"] == "task-00001" and "simulated crash" in m["tasks_failed"][0]["error"]
    kept = ts_of(out)
    assert sorted(kept.replicate.unique()) == [0, 2, 3]
    pd.testing.assert_frame_equal(kept, reference_run[reference_run.replicate != 1].reset_index(drop=True))
    # a rerun without the crash runs only the failed task and completes the results
    log2 = tmp_path / "log2"
    again = run_experiment(cfg, out=out, workers=2, quiet=True, work=partial(faults.work, log=str(log2)))
    assert again.ok and log2.read_text().split() == ["task-00001"]
    pd.testing.assert_frame_equal(ts_of(out), reference_run)


def test_the_command_reports_failed_tasks(tmp_path, monkeypatch, capsys):
    """What `diffusion run` prints and returns when tasks failed (the failure injected into the runner)."""
    monkeypatch.setattr(cli, "_report", lambda *a, **k: 0)  # the report has its own tests and takes seconds
    real = cli.run_experiment
    monkeypatch.setattr(cli, "run_experiment", lambda *a, **k: real(
        *a, **{**k, "workers": 0, "work": partial(faults.work, fail={"task-00001": "raise"})}))
    code = cli.main(["run", str(write(tmp_path)), "--out", str(tmp_path / "out"), "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert "2 of 8 runs failed" in err and "task-00001" in err and "simulated crash" in err
    assert "rerun the same command" in err


@pytest.mark.integration
def test_killed_worker(tmp_path, reference_run):
    cfg = write(tmp_path)
    outcome = run_experiment(cfg, out=tmp_path / "a", workers=2, quiet=True,
                             work=partial(faults.work, fail={"task-00002": "kill"}))
    assert [f.task.id for f in outcome.failures] == ["task-00002"]
    assert outcome.failures[0].executions == 2 and "worker process died" in outcome.failures[0].error
    assert outcome.runs_done == 6
    # a worker that dies once: the pool is rebuilt, nothing is lost and nothing is charged twice
    outcome = run_experiment(cfg, out=tmp_path / "b", workers=2, quiet=True,
                             work=partial(faults.work, fail={"task-00002": "kill-once"}))
    assert outcome.ok
    pd.testing.assert_frame_equal(ts_of(tmp_path / "b"), reference_run)


@pytest.mark.integration
def test_command_on_the_default_experiment(tmp_path):
    out = tmp_path / "thon_dong"
    proc = subprocess.run([PY, "-m", "diffusion", "run", str(ROOT / "experiments" / "thon_dong.toml"),
                           "--out", str(out), "-q"], check=False, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("manifest.json", "timeseries.parquet", "summary.csv"):
        assert (out / name).exists(), name
    res = load_results(out)
    assert res.run["runs_done"] == 40 and set(res.timeseries.scenario) == {"smart_hamlet", "no_programme"}
    s = res.summary
    gain = s[(s.scenario == "smart_hamlet") & (s.outcome == "diff.final.share_services")]["median"].iloc[0]
    assert gain > 0
    assert list((out / "charts").glob("adoption_*.png")), "no adoption chart"
