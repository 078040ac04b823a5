"""Decision support (``diffusion optimise``): the NSGA-II search, common random numbers between candidates, PRIM,
an infeasible budget, resuming, and the whole command at toy size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diffusion.analyses.decision import (
    DecisionSpec,
    Evaluator,
    Outcome,
    Search,
    Variable,
    decision_policy,
    discover,
    run_optimisation,
    validate_optimisation,
)
from diffusion.analyses.decision.evaluate import KeptPool
from diffusion.cli import main
from diffusion.experiments.config import load_config_text
from diffusion.experiments.evaluation import Setup
from diffusion.experiments.executors import InProcessExecutor
from diffusion.experiments.scenarios import ScenarioSpec
from diffusion.foundation.errors import ConfigError

TOY = """
[experiment]
name = "toy_decision"
start = "2022-03"
months = 10
seed = 5

[population]
place = "thon_dong"
scale = 0.4

[levers.team]
kind = "digital_teams"
members_per_team = 2
visits_per_member = 5

[uncertainties."*"]
dist = "empirical"
from = "{draws}"

[design]
sampler = "lhs"
n = 2

[optimisation]
replicates = 2
population = 4
generations = 2

[optimisation.variables.members]
target = "levers.team.members_per_team"
lower = 1
upper = 6

[optimisation.variables.visits]
target = "levers.team.visits_per_member"
lower = 1
upper = 10

[optimisation.objectives.offline]
kind = "households_without"
metric = "share_internet"
[optimisation.objectives.cost]
kind = "cost"

[optimisation.constraints.budget]
kind = "cost"
max = {budget}
{extra}
"""

ROBUST = """
[optimisation.robustness]
draws = 6
probability = 0.5
[optimisation.robustness.targets.online]
kind = "share_at"
metric = "share_internet"
min = 0.5
[optimisation.discovery]
"""


def toy(tmp_path=None, budget: float = 1e12, extra: str = ""):
    from pathlib import Path

    import diffusion

    draws = Path(diffusion.__file__).parent / "data" / "posterior_history.csv"
    text = TOY.format(draws=draws.as_posix(), budget=repr(float(budget)), extra=extra)
    return load_config_text(text, source="toy.toml", build=False)


# ------------------------------------------------------------------ the search on a known front
class ZDT1:
    """A fake evaluator: pymoo's ZDT1 test problem on the decisions (its Pareto front is f2 = 1 - sqrt(f1))."""

    def __init__(self):
        self.calls = 0

    def evaluate(self, policies):
        self.calls += 1
        rows = []
        for i, p in enumerate(policies):
            x = np.array([p.decision[f"x{k}"] for k in range(4)])
            g = 1 + 9 * x[1:].mean()
            rows.append({"policy": i, "draw": 0, "replicate": 0, "f1": x[0], "f2": g * (1 - np.sqrt(x[0] / g))})
        return pd.DataFrame(rows)


def zdt_spec(generations: int = 60) -> DecisionSpec:
    base = ScenarioSpec("base", "", False, {}, [])
    return DecisionSpec(base, 7, 1, 0, "mean", 0.5, 0.9, 40, generations, None,
                        [Variable(f"x{k}", "none", f"x{k}", "real", 0.0, 1.0) for k in range(4)],
                        [Outcome("f1", "share_at", "m", 0, ""), Outcome("f2", "share_at", "m", 0, "")], [])


def test_search_finds_the_known_pareto_front_of_zdt1():
    res = Search(zdt_spec(), ZDT1()).run()
    f1, f2 = res.pareto["f1"].to_numpy(), res.pareto["f2"].to_numpy()
    assert len(res.pareto) >= 10
    assert np.mean(f2 - (1 - np.sqrt(f1))) < 0.05  # on the true front within tolerance
    assert f1.min() < 0.1 and f1.max() > 0.8  # and spread along it
    assert res.evaluations == 40 * 60


def test_search_is_reproducible_and_resumes_from_its_checkpoint(tmp_path):
    a = Search(zdt_spec(5), ZDT1(), tmp_path).run()
    again = ZDT1()
    b = Search(zdt_spec(5), again, tmp_path).run()  # the checkpoint says the search is done: nothing is rerun
    assert again.calls == 0
    pd.testing.assert_frame_equal(a.history, b.history)
    c = Search(zdt_spec(5), ZDT1()).run()  # the same seed without a checkpoint: the same search
    pd.testing.assert_frame_equal(a.history, c.history)


class Interrupting(ZDT1):
    """ZDT1 that is interrupted (Ctrl-C) when asked for its third generation."""

    def evaluate(self, policies):
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().evaluate(policies)


def test_an_interrupted_search_resumes_to_the_same_result(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        Search(zdt_spec(4), Interrupting(), tmp_path).run()
    rest = ZDT1()
    resumed = Search(zdt_spec(4), rest, tmp_path).run()
    assert resumed.resumed_from == 2 and rest.calls == 2  # generations 3 and 4 only
    whole = Search(zdt_spec(4), ZDT1()).run()
    pd.testing.assert_frame_equal(resumed.history, whole.history)
    pd.testing.assert_frame_equal(resumed.pareto, whole.pareto)


# ------------------------------------------------------------------ common random numbers
@pytest.fixture(scope="module")
def toy_evaluator():
    cfg = toy()
    spec = validate_optimisation(cfg)
    setup = Setup("thon_dong", 0.4, "2022-03", 10, 5)
    outcomes = [*spec.objectives, Outcome("smartphone", "share_at", "share_smartphone", 10, "")]
    return spec, Evaluator(cfg, setup, outcomes, 2, None, KeptPool(InProcessExecutor))


def test_the_same_candidate_twice_gives_the_same_objectives(toy_evaluator):
    spec, ev = toy_evaluator
    p = decision_policy(spec, "a", {"members": 3, "visits": 4})
    values = ev.evaluate([p, p])
    first, second = (values[values["policy"] == i].drop(columns="policy").reset_index(drop=True) for i in (0, 1))
    pd.testing.assert_frame_equal(first, second)


def test_two_candidates_differ_only_where_their_levers_differ(toy_evaluator):
    spec, ev = toy_evaluator
    a = decision_policy(spec, "a", {"members": 3, "visits": 4})
    b = decision_policy(spec, "b", {"members": 3, "visits": 4})
    b = b.__class__(b.name, b.params, tuple(lv.__class__(lv.kind, lv.name, {**lv.settings, "allowance_vnd": 1e6})
                                            for lv in b.levers), b.decision)
    values = ev.evaluate([a, b])
    va, vb = values[values["policy"] == 0], values[values["policy"] == 1]
    # the allowance changes what the team costs, not whom it visits: adoption is identical run by run
    np.testing.assert_array_equal(va["offline"].to_numpy(), vb["offline"].to_numpy())
    np.testing.assert_array_equal(va["smartphone"].to_numpy(), vb["smartphone"].to_numpy())
    assert (vb["cost"].to_numpy() > va["cost"].to_numpy()).all()
    c = ev.evaluate([decision_policy(spec, "c", {"members": 6, "visits": 10})])
    assert (c["cost"].to_numpy() > va["cost"].to_numpy()).all()  # more visits cost more


# ------------------------------------------------------------------ PRIM
def test_prim_recovers_a_planted_box():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((800, 4)), columns=["a", "b", "c", "d"])
    miss = ((x["a"] > 0.6) & (x["b"] < 0.3)).to_numpy()
    noise = rng.random(800) < 0.03
    found = discover(x, miss ^ noise, min_coverage=0.8, boxes=1)
    lim = found.limits.set_index("parameter")
    assert set(lim.index) == {"a", "b"}
    assert lim.loc["a", "min"] == pytest.approx(0.6, abs=0.05) and lim.loc["b", "max"] == pytest.approx(0.3, abs=0.05)
    assert found.boxes["coverage"].iloc[0] >= 0.8 and found.boxes["density"].iloc[0] >= 0.8
    assert found.trajectory["chosen"].sum() == 1


def test_prim_with_no_misses_finds_nothing():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    found = discover(x, np.zeros(20, dtype=bool))
    assert found.boxes.empty and found.cases == 0


# ------------------------------------------------------------------ config problems
def test_an_infeasible_budget_is_one_clear_line(tmp_path):
    cfg = toy(budget=1000.0)
    with pytest.raises(ConfigError) as err:
        run_optimisation(cfg, tmp_path, workers=0, quiet=True)
    msg = str(err.value)
    assert "\n" not in msg
    assert "optimisation.constraints.budget.max" in msg and "least intensive mix" in msg
    assert not (tmp_path / "optimisation" / "pareto.csv").exists()


def test_unknown_lever_setting_is_named_with_a_hint():
    cfg = toy()
    data = dict(cfg.data)
    data["optimisation"] = {**data["optimisation"], "variables": {"m": {"target": "levers.team.member_per_team",
                                                                         "lower": 1, "upper": 3}}}
    cfg.data = data
    with pytest.raises(ConfigError, match=r"optimisation\.variables\.m\.target.*did you mean 'members_per_team'"):
        validate_optimisation(cfg)


# ------------------------------------------------------------------ the command
@pytest.mark.integration
def test_optimise_command_writes_pareto_robustness_discovery_and_the_report(tmp_path, capsys):
    cfg_path = tmp_path / "toy.toml"
    cfg = toy(extra=ROBUST)
    cfg_path.write_text(cfg.text, encoding="utf-8")
    code = main(["optimise", str(cfg_path), "--out", str(tmp_path / "out"), "--workers", "0", "-q"])
    assert code == 0
    out = tmp_path / "out"
    pareto = pd.read_csv(out / "optimisation" / "pareto.csv")
    assert {"members", "visits", "offline", "offline_lo", "offline_hi", "cost"} <= set(pareto.columns)
    assert len(pd.read_csv(out / "optimisation" / "history.csv")) == 8
    rob = pd.read_csv(out / "optimisation" / "robustness.csv")
    assert {"p_online", "regret_online", "p_all"} <= set(rob.columns) and len(rob) == len(pareto)
    text = (out / "decision.md").read_text(encoding="utf-8")
    assert "## The answer" in text and (out / "decision.html").exists()
    assert (out / "charts" / "pareto_front.png").exists() and (out / "charts" / "robustness.png").exists()


@pytest.mark.integration
def test_results_do_not_depend_on_the_number_of_workers(tmp_path):
    cfg = toy(extra=ROBUST)
    for name, workers in (("one", 0), ("two", 2)):
        run_optimisation(cfg, tmp_path / name, workers=workers, quiet=True)
    for table in ("pareto.csv", "history.csv", "robustness.csv", "discovery_limits.csv"):
        a, b = (tmp_path / name / "optimisation" / table for name in ("one", "two"))
        assert a.read_bytes() == b.read_bytes(), table


SPLIT = """
[levers.subsidy]
kind = "smartphone_subsidy"
budget_vnd = 1000000.0
[levers.support]
kind = "connection_support"
budget_vnd = 1000000.0
[optimisation.variables.allocation]
split = ["levers.subsidy.budget_vnd", "levers.support.budget_vnd"]
total = 40000000.0
"""


def test_a_fixed_budget_split_between_two_levers():
    """A split variable allocates a fixed total across two levers' settings: the first gets the share, the second
    the rest; a split naming a model parameter is a clear error."""
    spec = validate_optimisation(toy(extra=SPLIT))
    (var,) = [v for v in spec.variables if v.name == "allocation"]
    assert (var.type, var.lower, var.upper) == ("real", 0.0, 1.0)
    policy = decision_policy(spec, "p", {"members": 2, "visits": 5, "allocation": 0.25})
    budgets = {lv.name: lv.settings["budget_vnd"] for lv in policy.levers if lv.name in ("subsidy", "support")}
    assert budgets == {"subsidy": 10_000_000.0, "support": 30_000_000.0}
    bad = SPLIT.replace('"levers.support.budget_vnd"', '"smartphone.q"')
    with pytest.raises(ConfigError, match=r"optimisation\.variables\.allocation\.split\[1\].*lever setting"):
        validate_optimisation(toy(extra=bad))


def test_start_months_and_fibre_schedules_are_categorical_decisions():
    """Which month a lever starts and which hamlets get fibre when (a schedule table per level) are decisions."""
    extra = """
[levers.rollout]
kind = "infrastructure"
fibre = [["2022-06", 1.0]]
[optimisation.variables.when]
target = "levers.team.start"
levels = ["2022-03", "2022-09"]
[optimisation.variables.fibre_plan]
target = "levers.rollout.fibre"
levels = [{"Thôn Đông" = "2022-04"}, {"Thôn Đông" = "2022-10"}]
"""
    spec = validate_optimisation(toy(extra=extra))
    (plan,) = [v for v in spec.variables if v.name == "fibre_plan"]
    assert plan.labels == ["Thôn Đông: 2022-04", "Thôn Đông: 2022-10"]
    policy = decision_policy(spec, "p", {"members": 2, "visits": 5, "when": "2022-09",
                                         "fibre_plan": "Thôn Đông: 2022-10"})
    levers = {lv.name: lv.settings for lv in policy.levers}
    assert levers["team"]["start"] == "2022-09" and levers["rollout"]["fibre"] == {"Thôn Đông": "2022-10"}
