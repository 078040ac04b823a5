"""The plain Mesa baseline of the benchmarks (benchmarks/plain_mesa_model.py) follows the vectorised model's rule.

The two models share the households, the network and the start-month state (copied from the vectorised
``AdoptionModel`` at month 0) but not their random numbers, so they are compared in law: over replicates
(seeds), the mean of each final-month output of the plain model must lie within 3 standard errors of the
vectorised model's. The runs are paired (same households per seed), so the standard error is that of the
per-seed differences. Each check also asserts that the standard error is small (a share's SE under 0.01,
a cost's under 5% of its mean), so the tolerance is never vacuous.
"""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from plain_mesa_model import PlainMesaModel, named, shipped_lever_settings, source_model

pytestmark = pytest.mark.integration

SHARES = ("share_internet", "share_smartphone", "share_fibre", "share_mobile_data", "share_services")
#: Tolerance in standard errors of the mean paired difference.
Z = 3.0


def paired_runs(levers: dict, seeds) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Final-month outputs of the vectorised and the plain model per seed: name -> (vectorised, plain)."""
    vec: dict[str, list[float]] = {}
    plain: dict[str, list[float]] = {}
    for seed in seeds:
        source = source_model(seed, levers)  # Thôn Đông, 59 months from 2021-01
        model = PlainMesaModel.from_adoption_model(source, levers=named(levers), seed=100_000 + seed)
        source.run()
        model.run()
        v, p = source.outputs, model.outputs()
        for name in (*SHARES, "cum_cost_total"):
            vec.setdefault(name, []).append(v[name])
            plain.setdefault(name, []).append(p[name])
        for lever in levers:
            vec.setdefault(f"cum_cost.{lever}", []).append(v[f"cum_cost.{lever}"])
            plain.setdefault(f"cum_cost.{lever}", []).append(model.cum_costs[lever])
    return {k: (np.array(vec[k]), np.array(plain[k])) for k in vec}


def assert_agree(runs: dict[str, tuple[np.ndarray, np.ndarray]], names) -> None:
    failures = []
    for name in names:
        v, p = runs[name]
        d = p - v
        mean = float(d.mean())
        se = float(d.std(ddof=1) / math.sqrt(d.size))
        scale = max(abs(float(v.mean())), 1.0)
        if se == 0.0:  # deterministic output (an allowance): equal in every run
            ok = abs(mean) <= 1e-9 * scale
        else:
            limit = 0.01 if name.startswith("share") else 0.05 * scale
            assert se < limit, f"{name}: standard error {se:.4g} too large for a meaningful check"
            ok = abs(mean) <= Z * se
        if not ok:
            failures.append(f"{name}: vectorised {v.mean():.4f}, plain {p.mean():.4f}, difference {mean:.4g} "
                            f"(SE {se:.3g}, z = {mean / se if se else math.inf:.2f})")
    assert not failures, "plain Mesa model disagrees with the vectorised model:\n" + "\n".join(failures)


def test_shipped_central_levers_agree():
    """The shipped sensitivity design's central setting: fibre from the start, non_adopters_first teams."""
    levers = shipped_lever_settings()
    # 150 seeds: the subsidy is paid in only part of the runs, so its cost needs many to get an SE under 5%
    runs = paired_runs(levers, range(150))
    assert_agree(runs, (*SHARES, "cum_cost_total", "cum_cost.subsidy", "cum_cost.team"))
    # the levers did something: the subsidy was paid in most runs, the teams every month from 2022-03
    assert (runs["cum_cost.subsidy"][1] > 0).mean() > 0.5
    assert runs["cum_cost.team"][1][0] == 46 * 8 * 300_000.0


def test_late_fibre_and_elderly_first_agree():
    """Fibre ready only from 2024-06 (no fibre at the start) and teams visiting the oldest heads first."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["fibre"]["fibre"] = [["2024-06", 1.0]]
    levers["team"]["targeting"] = "elderly_first"
    runs = paired_runs(levers, range(40))
    assert_agree(runs, (*SHARES, "cum_cost_total"))
    assert runs["share_fibre"][0].mean() < 0.5  # the delay matters


@pytest.mark.parametrize("targeting", ["random", "poorest_first", "best_connected_first"])
def test_other_targeting_rules_agree(targeting):
    """The other targeting rules, with a small team so that the order of the visits matters."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["team"].update(targeting=targeting, members_per_team=2, visits_per_member=5)
    levers["fibre"]["fibre"] = [["2023-06", 1.0]]
    runs = paired_runs(levers, range(30))
    assert_agree(runs, SHARES)


def test_subsidy_for_all_with_a_budget_cap_agrees():
    """A subsidy of the full smartphone price for every household from 2021-06, capped at 20 million VND."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["subsidy"].update(start="2021-06", amount_vnd=1_350_000.0, eligibility=["all"], budget_vnd=20_000_000.0)
    runs = paired_runs(levers, range(40))
    assert_agree(runs, ("share_smartphone", "share_internet", "share_services", "cum_cost.subsidy"))
    assert runs["cum_cost.subsidy"][1].max() <= 20_000_000.0


def test_unsupported_rules_raise():
    levers = shipped_lever_settings()
    source = source_model(1, levers)
    with pytest.raises(NotImplementedError):
        PlainMesaModel.from_adoption_model(source, levers=[{"kind": "public_access", "name": "p"}])
    threshold = source_model(1, levers, params=source.params.with_overrides(mechanism="threshold"))
    with pytest.raises(NotImplementedError):
        PlainMesaModel.from_adoption_model(threshold, levers=named(levers))
