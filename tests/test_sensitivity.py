"""Sensitivity analysis (diffusion.analyses.sensitivity): the SALib pipeline against analytic indices, the
[sensitivity] table's errors, and the pipeline on the model (dummy factor, a dominant lever, worker counts,
resume)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion.analyses.sensitivity import analyse_function, make_design, run_sensitivity, validate_sensitivity
from diffusion.experiments.config import load_config, load_config_text
from diffusion.foundation.errors import ConfigError
from diffusion.presentation.charts import render_charts

ROOT = Path(__file__).resolve().parents[1]


# ================================================================ analytic test functions
def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


G_A = np.array([0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0])


def g_function(X: np.ndarray) -> np.ndarray:
    return np.prod((np.abs(4 * X - 2) + G_A) / (1 + G_A), axis=1)


def g_indices() -> tuple[np.ndarray, np.ndarray]:
    vi = 1 / (3 * (1 + G_A) ** 2)
    v = np.prod(1 + vi) - 1
    total = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(len(vi))])
    return vi / v, total / v


def test_ishigami_analytic_indices():
    pb = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    res = analyse_function(pb, ishigami, 2048, seed=3)
    s1, st = ishigami_indices()
    got = res.sobol.set_index("factor").loc[["x1", "x2", "x3"]]
    # SALib's own tests: atol 0.05 on the Ishigami indices
    np.testing.assert_allclose(got["S1"], s1, atol=0.05)
    np.testing.assert_allclose(got["ST"], st, atol=0.05)
    assert (got["S1_conf"] > 0).all() and (got["ST_conf"] > 0).all()
    assert set(res.convergence["n"]) == {1024, 2048}
    assert res.warnings == []


def test_g_function_analytic_indices():
    pb = {"num_vars": 8, "names": [f"x{i}" for i in range(8)], "bounds": [[0.0, 1.0]] * 8}
    res = analyse_function(pb, g_function, 2048, seed=5)
    s1, st = g_indices()
    got = res.sobol.set_index("factor").loc[pb["names"]]
    np.testing.assert_allclose(got["S1"], s1, atol=0.05)
    np.testing.assert_allclose(got["ST"], st, atol=0.05)
    assert list(got["ST"].rank(ascending=False).iloc[:2]) == [1.0, 2.0]


def test_second_order_and_morris_on_ishigami():
    pb = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
    res = analyse_function(pb, ishigami, 1024, seed=1, second_order=True)
    s2 = res.s2.set_index(["factor", "factor_2"])["S2"]
    assert abs(s2[("x1", "x3")] - ishigami_indices()[1][2]) < 0.1  # the only interaction is x1 x x3
    assert abs(s2[("x1", "x2")]) < 0.1
    m = analyse_function(pb, ishigami, 50, seed=1, method="morris").morris.set_index("factor")
    assert m.loc["x3", "sigma"] > m.loc["x3", "mu_star"] * 0.9  # x3 acts only through the interaction
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(m.columns)


def test_groups_get_one_index():
    pb = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3,
          "groups": ["g13", "x2", "g13"]}
    res = analyse_function(pb, ishigami, 1024, seed=2)
    got = res.sobol.set_index("factor")
    assert list(got.index) == ["g13", "x2"]
    _, st = ishigami_indices()
    # the closed index of {x1, x3} is V1 + V13 over V (= ST of x1)
    assert abs(got.loc["g13", "S1"] - st[0]) < 0.07 and abs(got.loc["g13", "ST"] - st[0]) < 0.07


def test_replicate_noise_share_and_size_warnings():
    pb = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    rng = np.random.default_rng(np.random.SeedSequence(1))

    def noisy(X, r):
        return X[:, 0] + rng.normal(0.0, 0.1, len(X))

    res = analyse_function(pb, noisy, 100, seed=1, replicates=4)
    noise = res.noise.iloc[0]
    # var(signal) = 1/12 = 0.083, noise variance 0.01 -> about 0.11 of single runs
    assert 0.05 < noise["noise_share_run"] < 0.2
    assert noise["noise_share_mean"] < noise["noise_share_run"]
    assert any("not a power of two" in w for w in res.warnings)
    assert any("small" in w for w in res.warnings)


# ================================================================ the [sensitivity] table
BASE = """
[experiment]
name = "sens_test"
start = "2021-01"
months = {months}
replications = 1
seed = 11

[population]
place = "thon_dong"
scale = {scale}

[levers.team]
kind = "digital_teams"
start = "2021-02"
members_per_team = 6

[levers.subsidy]
kind = "smartphone_subsidy"
amount_vnd = 500000.0
"""

SENS = """
[sensitivity]
method = "sobol"
n = {n}
replicates = {replicates}
seed = 5
bootstrap = 200

[sensitivity.factors.team_members]
target = "levers.team.members_per_team"
lower = 0
upper = 12

[sensitivity.factors.subsidy_amount]
target = "levers.subsidy.amount_vnd"
lower = 0.0
upper = 1000.0

[sensitivity.factors.placebo]
dummy = true

[sensitivity.outcomes.spending]
kind = "value_at"
metric = "cum_cost_total"

[sensitivity.outcomes.month_smartphone]
kind = "month_reached"
metric = "share_smartphone"
share = 0.97

[sensitivity.outcomes.internet]
kind = "share_at"
metric = "share_internet"

[sensitivity.outcomes.cost_per_adopter]
kind = "cost_per_additional"
indicator = "internet"
"""


def config_text(n: int = 16, replicates: int = 2, months: int = 8, scale: float = 0.2, extra: str = "") -> str:
    return BASE.format(months=months, scale=scale) + SENS.format(n=n, replicates=replicates) + extra


def cfg_of(text: str):
    return load_config_text(text, source="sens.toml", build=False)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        validate_sensitivity(cfg_of(text))
    return str(e.value)


def test_shipped_config_validates():
    cfg = load_config(ROOT / "experiments" / "sensitivity_levers.toml", build=False)
    spec = validate_sensitivity(cfg)
    assert spec.method == "sobol" and spec.n == 1024 and spec.replicates >= 5 and not spec.second_order
    assert {f.name for f in spec.factors} == {"subsidy_amount", "subsidy_eligibility", "team_members",
                                              "visits_per_member", "targeting", "fibre_timing", "p", "q",
                                              "outreach_effect"}
    assert {o.kind for o in spec.outcomes} == {"share_at", "cost_per_additional"}
    assert spec.reference_off == ("subsidy", "team") and spec.warnings == []


@pytest.mark.parametrize(
    ("old", "new", "path", "text"),
    [
        ('method = "sobol"', 'method = "sobl"', "sensitivity.method", "sobol"),
        ("seed = 5", "sed = 5", "sensitivity.sed", "did you mean 'seed'"),
        ('target = "levers.team.members_per_team"', 'target = "levers.teem.members_per_team"',
         "sensitivity.factors.team_members.target", "did you mean 'team'"),
        ('target = "levers.team.members_per_team"', 'target = "levers.team.members"',
         "sensitivity.factors.team_members.target", "did you mean 'members_per_team'"),
        ('metric = "share_internet"', 'metric = "share_internat"', "sensitivity.outcomes.internet.metric",
         "did you mean 'share_internet'"),
        ("upper = 12", "upper = -1", "sensitivity.factors.team_members.upper", "greater than lower"),
        ('indicator = "internet"', 'indicator = "wifi"', "sensitivity.outcomes.cost_per_adopter.indicator", "one of"),
        ("dummy = true", "dummy = true\nlower = 1", "sensitivity.factors.placebo.lower", "dummy"),
        ("n = 16", "", "sensitivity.n", "required"),
    ],
)
def test_config_errors_name_the_path(old, new, path, text):
    src = config_text()
    assert old in src
    msg = error_of(src.replace(old, new, 1))
    assert path in msg and text in msg and "sens.toml" in msg


def test_bad_level_and_morris_rules():
    src = config_text() + '\n[sensitivity.factors.targeting]\ntarget = "levers.team.targeting"\n' \
        'levels = ["random", "richest_first"]\n'
    msg = error_of(src)
    assert "sensitivity.factors.targeting.levels" in msg and "richest_first" in msg
    morris = config_text().replace('method = "sobol"\nn = 16', 'method = "morris"\ntrajectories = 10\nlevels = 3')
    msg = error_of(morris)
    assert "sensitivity.levels" in msg and "even" in msg


def test_power_of_two_warning():
    spec = validate_sensitivity(cfg_of(config_text(n=24)))
    assert any("not a power of two" in w for w in spec.warnings)


def test_design_shares_seeds_within_a_base_sample_and_dedupes_references():
    cfg = cfg_of(config_text(n=4, replicates=2))
    spec = validate_sensitivity(cfg)
    md = make_design(cfg, spec)
    k = len(spec.factors)
    assert len(md.X) == 4 * (k + 2)
    runs = [r for t in md.tasks for r in t.runs]
    assert len(runs) == md.n_runs == len(md.X) * 2 + md.n_refs * 2
    # the levers' settings do not change the reference (levers off), so one reference per base sample
    assert md.n_refs == 4
    x = {(r.scenario, r.replicate): r.design_point for r in runs}
    assert x[("x0", 0)] == x[(f"x{k + 1}", 0)] == 0 and x[(f"x{k + 2}", 1)] == 1


# ================================================================ on the model
@pytest.mark.integration
def test_model_dummy_zero_dominant_lever_first_and_resume(tmp_path):
    cfg = cfg_of(config_text(n=32, replicates=2))
    res = run_sensitivity(cfg, tmp_path / "out", workers=0, quiet=True)
    assert res.ok
    sob = res.result.sobol
    for outcome, g in sob.groupby("outcome"):
        g = g.set_index("factor")
        lo, hi = g.loc["placebo", "ST"] - g.loc["placebo", "ST_conf"], g.loc["placebo", "ST"] + g.loc["placebo",
                                                                                                     "ST_conf"]
        assert lo <= 0.0 <= hi, outcome
    spend = sob[sob["outcome"] == "spending"].set_index("factor")
    assert spend["ST"].idxmax() == "team_members"  # allowance x members: team spending dominates by construction
    assert spend.loc["team_members", "S1"] > 0.8
    noise = res.result.noise.set_index("outcome")
    assert 0.0 <= noise.loc["internet", "noise_share_run"] <= 1.0
    out = tmp_path / "out"
    for name in ("indices.csv", "indices.parquet", "sobol.parquet", "design.parquet", "noise.csv",
                 "convergence.parquet"):
        assert (out / "sensitivity" / name).exists(), name
    render_charts(out, kinds=("sensitivity",))  # the presentation layer draws them from the tables
    for chart in ("sobol", "sensitivity_convergence"):
        assert (out / "charts" / f"{chart}.png").exists()
    design = pd.read_parquet(out / "sensitivity" / "design.parquet")
    assert {"row", "base_sample", "team_members", "u:team_members", "internet"} <= set(design.columns)
    # resume: remove one finished task; only it is rerun, and the indices are the same
    parts = sorted((out / "sensitivity" / "parts").glob("task-*.parquet"))
    parts[1].unlink()
    again = run_sensitivity(cfg, out, workers=0, quiet=True)
    assert again.skipped_tasks == again.tasks - 1
    pd.testing.assert_frame_equal(again.result.sobol, sob)
    # another design in the same folder needs --fresh
    with pytest.raises(ConfigError, match="fresh"):
        run_sensitivity(cfg_of(config_text(n=16, replicates=2)), out, workers=0, quiet=True)


@pytest.mark.integration
def test_same_indices_with_one_and_two_workers(tmp_path):
    text = config_text(n=8, replicates=2, months=6)
    a = run_sensitivity(cfg_of(text), tmp_path / "one", workers=1, quiet=True)
    b = run_sensitivity(cfg_of(text), tmp_path / "two", workers=2, quiet=True)
    assert a.ok and b.ok
    pd.testing.assert_frame_equal(a.result.indices, b.result.indices)
    pd.testing.assert_frame_equal(a.result.design, b.result.design)


@pytest.mark.integration
def test_morris_on_the_model_and_cli(tmp_path):
    text = config_text(months=6).replace('method = "sobol"\nn = 16', 'method = "morris"\ntrajectories = 6')
    path = tmp_path / "morris.toml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "diffusion", "sensitivity", str(path), "--out", str(tmp_path / "m"),
                           "--workers", "0", "-q"], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    m = pd.read_csv(tmp_path / "m" / "sensitivity" / "morris.csv")
    spend = m[m["outcome"] == "spending"].set_index("factor")
    assert spend["mu_star"].idxmax() == "team_members"
    assert spend.loc["placebo", "mu_star"] == 0.0
    assert (tmp_path / "m" / "charts" / "morris.png").exists()
    bad = subprocess.run([sys.executable, "-m", "diffusion", "sensitivity", str(tmp_path / "missing.toml"), "-q"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "missing.toml" in bad.stderr
