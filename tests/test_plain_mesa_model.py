"""The plain Mesa baseline of the benchmarks (benchmarks/plain_mesa_model.py) follows the vectorised model's rule.

The two models share the households, the network, the networks' reach and the start-month state (the end of the
vectorised model's history from 2008, copied from its ``AdoptionModel`` at month 0) but not their random numbers,
so they are compared in law: over replicates (seeds), the mean of each final-month output of the plain model must
lie within Z = 3 standard errors of the vectorised model's. The runs are paired (same households per seed), so
the standard error is that of the per-seed differences. Each check also asserts that the standard error is small
(a share's or the mean skill's under 0.01, a cost's under 5% of its mean, a count of people under the limit
given), so the tolerance is never vacuous. The file makes about 60 checks, many of them strongly correlated, so a
correct pair of models fails one at Z = 3 with probability at most 1 - 0.9973**60 = 15% for a fresh set of seeds
(either model drawing its random numbers differently is a fresh set); the seeds are fixed, so the outcome is
reproducible.

Besides the models' outputs (which include people of 15 and over, working-age people and the shares of them
using a smartphone), the central, late-fibre and one-January comparisons read the members from the final state:
all members, children (under 15) and the mean digital skill, so that the members' year (deaths, births, young
adults leaving, re-formed households, the skill shift: ``diffusion.model.demography``) is checked too. Every
window holds at least one January (59 months from 2021-01: four; 36 months: two);
``test_one_january_agrees`` checks a window of one month that is a January alone.

The vectorised runs of a comparison are simulated as one stacked batch (``engine.run_batch``, whose runs give
exactly the numbers they give alone); the batch also leaves each seed's history in the engine's cache, so the
``AdoptionModel`` each plain run is copied from is built quickly.
"""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from plain_mesa_model import PlainMesaModel, make_levers, named, shipped_lever_settings, source_model

from diffusion import ModelParams
from diffusion.foundation.randomness import Streams
from diffusion.model.engine import CACHE_SIZE, BatchRun, run_batch

pytestmark = pytest.mark.integration

SHARES = ("share_internet", "share_smartphone", "share_fibre", "share_mobile_data", "share_services",
          "share_working_age_smartphone")
#: Counts of people, with the largest standard error of the mean difference that makes a check meaningful.
PEOPLE = {"members": 4.0, "children": 3.0, "people": 3.0, "working_age_people": 3.0}
MEMBERS = (*PEOPLE, "mean_skill")
#: Tolerance in standard errors of the mean paired difference.
# About 60 partly correlated checks: at 3.5 standard errors a correct pair of models fails one of them a few
# percent of the time when either side's random numbers change; deliberate breakages showed z of 4 to 45.
Z = 3.5
PLACE, START, MONTHS = "thon_dong", "2021-01", 59  # the shipped design: Thôn Đông, 2021-01 to 2025-12


def members_of_state(state, r: slice) -> dict[str, float]:
    """Members, children and mean skill of the households ``r`` of a vectorised state."""
    age = state.age[:, r]
    return {"members": float((age >= 0).sum()), "children": float(((age >= 0) & (age < 15)).sum()),
            "mean_skill": float(state.skill[r].astype(np.float64).mean())}


def members_of_plain(model: PlainMesaModel) -> dict[str, float]:
    ages = [a for h in model.households for a in h.age if a >= 0]
    return {"members": float(len(ages)), "children": float(sum(1 for a in ages if a < 15)),
            "mean_skill": sum(h.skill for h in model.households) / len(model.households)}


def paired_runs(levers: dict, seeds, start: str = START, months: int = MONTHS
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Final-month outputs of the vectorised and the plain model per seed: name -> (vectorised, plain)."""
    vec: dict[str, list[float]] = {}
    plain: dict[str, list[float]] = {}

    def add(name: str, v: float, p: float) -> None:
        vec.setdefault(name, []).append(v)
        plain.setdefault(name, []).append(p)

    seeds = list(seeds)
    chunk = CACHE_SIZE // 2  # (each seed's history stays in the engine's cache until its plain run is built)
    for i in range(0, len(seeds), chunk):
        batch = seeds[i : i + chunk]
        engine = run_batch(PLACE, 1.0, start, months, [BatchRun(Streams(seed).seed_sequence, ModelParams(),
                                                                make_levers(levers)) for seed in batch],
                           detail=False)
        sources = [source_model(seed, levers, start=start, months=months) for seed in batch]
        for r, source in enumerate(sources):  # the batch's runs are the sources' runs
            assert source.outputs["share_smartphone"] == engine.outputs["share_smartphone"][r]
        for _ in range(months):
            engine.step()
        offsets = engine.layout.offsets
        for r, (seed, source) in enumerate(zip(batch, sources)):
            model = PlainMesaModel.from_adoption_model(source, levers=named(levers), seed=100_000 + seed)
            model.run()
            p = model.outputs()
            for name in (*SHARES, "share_people_smartphone", "people", "working_age_people", "cum_cost_total"):
                add(name, float(engine.outputs[name][r]), p[name])
            for lever in levers:
                add(f"cum_cost.{lever}", float(engine.cum_costs[lever][r]), model.cum_costs[lever])
            v_members = members_of_state(engine.state, slice(offsets[r], offsets[r + 1]))
            p_members = members_of_plain(model)
            for name in v_members:
                add(name, v_members[name], p_members[name])
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
            if name.startswith("share") or name == "mean_skill":
                limit = 0.01
            elif name in PEOPLE:
                limit = PEOPLE[name]
            else:
                limit = 0.05 * scale
            assert se < limit, f"{name}: standard error {se:.4g} too large for a meaningful check"
            ok = abs(mean) <= Z * se
        if not ok:
            failures.append(f"{name}: vectorised {v.mean():.4f}, plain {p.mean():.4f}, difference {mean:.4g} "
                            f"(SE {se:.3g}, z = {mean / se if se else math.inf:.2f})")
    assert not failures, "plain Mesa model disagrees with the vectorised model:\n" + "\n".join(failures)


def test_shipped_central_levers_agree():
    """The shipped sensitivity design's central setting: fibre from the start, non_adopters_first teams."""
    levers = shipped_lever_settings()
    # 100 seeds: the subsidy is paid to a few households a run (most had a smartphone by 2021), so its cost
    # needs that many for an SE under 5%
    runs = paired_runs(levers, range(100))
    assert_agree(runs, (*SHARES, "share_people_smartphone", *MEMBERS, "cum_cost_total", "cum_cost.subsidy",
                        "cum_cost.team"))
    # the levers did something: the subsidy was paid in most runs, the teams every month from 2022-03
    assert (runs["cum_cost.subsidy"][1] > 0).mean() > 0.5
    assert runs["cum_cost.team"][1][0] == 46 * 8 * 300_000.0


def test_late_fibre_and_elderly_first_agree():
    """Fibre ready only from 2024-06 (households connected in the history keep it; nobody connects before
    then) and teams visiting the oldest heads first."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["fibre"]["fibre"] = [["2024-06", 1.0]]
    levers["team"]["targeting"] = "elderly_first"
    runs = paired_runs(levers, range(40))
    assert_agree(runs, (*SHARES, *MEMBERS, "cum_cost_total"))


@pytest.mark.parametrize("targeting", ["random", "poorest_first", "best_connected_first"])
def test_other_targeting_rules_agree(targeting):
    """The other targeting rules, with a small team so that the order of the visits matters; 36 months (to
    2023-12, two Januaries), where the shares vary less from run to run than at 59."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["team"].update(targeting=targeting, members_per_team=2, visits_per_member=5)
    levers["fibre"]["fibre"] = [["2023-06", 1.0]]
    runs = paired_runs(levers, range(40), months=36)
    assert_agree(runs, SHARES)


def test_subsidy_for_all_with_a_budget_cap_agrees():
    """A subsidy of the full smartphone price for every household from 2021-06, capped at 5.4 million VND (spent
    within the 36 months to 2023-12 in every run: 4 payments of 1.35 million VND, to the last households
    without a smartphone)."""
    levers = copy.deepcopy(shipped_lever_settings())
    levers["subsidy"].update(start="2021-06", amount_vnd=1_350_000.0, eligibility=["all"], budget_vnd=5_400_000.0)
    runs = paired_runs(levers, range(40), months=36)
    assert_agree(runs, ("share_smartphone", "share_internet", "share_services", "share_working_age_smartphone",
                        "cum_cost.subsidy"))
    assert runs["cum_cost.subsidy"][1].max() <= 5_400_000.0
    assert (runs["cum_cost.subsidy"][1] == 4 * 1_350_000.0).all()


def test_one_january_agrees():
    """One month, January 2021, without levers: the members' year and the month's step alone, with many seeds
    (a month is cheap), so that the year's changes are checked closely."""
    runs = paired_runs({}, range(96), start="2020-12", months=1)
    assert_agree(runs, ("share_smartphone", "share_working_age_smartphone", "share_people_smartphone", *MEMBERS))


def test_unsupported_rules_raise():
    levers = shipped_lever_settings()
    source = source_model(1, levers)
    with pytest.raises(NotImplementedError):
        PlainMesaModel.from_adoption_model(source, levers=[{"kind": "public_access", "name": "p"}])
    threshold = source_model(1, levers, params=source.params.with_overrides(mechanism="threshold"))
    with pytest.raises(NotImplementedError):
        PlainMesaModel.from_adoption_model(threshold, levers=named(levers))
