"""Stacked runs (``engine.run_batch``) give exactly what each run gives alone."""

import numpy as np
import pytest

from diffusion import AdoptionModel, ModelParams
from diffusion.experiments.evaluation import seed_sequence
from diffusion.model.engine import BatchRun, run_batch
from diffusion.model.levers import make_lever

TARGETING = ("random", "non_adopters_first", "poorest_first", "elderly_first", "best_connected_first")


def _levers(i: int):
    """Lever settings that differ from run to run, budgets that bind, and levers switched off."""
    return [
        make_lever("smartphone_subsidy", "subsidy", start="2021-06", amount_vnd=[0.0, 500_000.0, 1_350_000.0][i % 3],
                   eligibility=[["poor"], ["all"]][i % 2], budget_vnd=[None, 3_000_000.0][i % 2], enabled=i % 4 != 3),
        make_lever("digital_teams", "team", start="2021-04", targeting=TARGETING[i % 5], members_per_team=2 + i,
                   visits_per_member=[2, 10, 20][i % 3], revisit_months=[0, 6][i % 2], enabled=i % 4 != 3),
        make_lever("connection_support", "support", install_subsidy_vnd=200_000.0 * (i % 2),
                   monthly_discount_vnd=50_000.0, discount_months=6, budget_vnd=[None, 2_000_000.0][i % 2]),
        make_lever("public_access", "access", start="2021-09", awareness=0.1 * (i % 3), skill_boost=0.05 * (i % 2)),
        make_lever("infrastructure", "rollout", fibre=[[["2021-01", 1.0]], [["2021-05", 0.5], ["2021-10", 1.0]],
                                                       [["2022-01", 1.0]]][i % 3]),
    ]


def _params(i: int, **extra) -> ModelParams:
    m = [0.5, 1.0, 2.0][i % 3]
    return ModelParams().with_overrides({
        "smartphone.q": 0.38 * m, "fibre.p": 0.06 * m, "mobile_data.o": 0.5 / m,
        "affordability_midpoint": [0.03, 0.1][i % 2], "exposure_half_life_months": [3, 6][i % 2],
        "member_uptake_per_year": [0.2, 0.5][i % 2], **extra})


def _compare(place: str, runs: int, months: int, **extra) -> None:
    seeds = [seed_sequence(7, i % 2, i // 2) for i in range(runs)]
    engine = run_batch(place, 1.0, "2021-01", months,
                       [BatchRun(seeds[i], _params(i, **extra), _levers(i)) for i in range(runs)])
    alone = [AdoptionModel(place, params=_params(i, **extra), levers=_levers(i), months=months, seed=seeds[i],
                           agents=False, collect=False) for i in range(runs)]
    for t in range(months + 1):
        if t:
            engine.step()
            for m in alone:
                m.step()
        for i, m in enumerate(alone):
            got = {k: engine.outputs[k][i] for k in m.outputs}
            assert got == pytest.approx(m.outputs, rel=0, abs=0, nan_ok=True), (place, t, i)
    assert len({round(m.outputs["share_internet"], 6) for m in alone}) > 1  # the runs do differ


def test_stacked_runs_equal_runs_alone_in_a_hamlet():
    _compare("thon_dong", 6, 18)


def test_stacked_runs_equal_runs_alone_in_a_commune_of_several_hamlets():
    _compare("commune", 4, 14)


def test_stacked_runs_equal_runs_alone_when_well_mixed_and_with_thresholds():
    _compare("well_mixed", 3, 12)
    _compare("thon_dong", 3, 12, mechanism="threshold")


def test_stacked_runs_must_share_mechanism_and_levers():
    a = BatchRun(1, ModelParams(), [make_lever("smartphone_subsidy", "subsidy")])
    b = BatchRun(2, ModelParams().with_overrides({"mechanism": "threshold"}), [make_lever("smartphone_subsidy",
                                                                                         "subsidy")])
    with pytest.raises(ValueError, match="mechanism"):
        run_batch("thon_dong", 1.0, "2021-01", 3, [a, b])
    c = BatchRun(2, ModelParams(), [make_lever("digital_teams", "team")])
    with pytest.raises(ValueError, match="same levers"):
        run_batch("thon_dong", 1.0, "2021-01", 3, [a, c])


def test_cached_builds_do_not_leak_state_between_batches():
    run = [BatchRun(3, ModelParams(), [make_lever("digital_teams", "team")])]
    first = run_batch("thon_dong", 1.0, "2021-01", 12, run * 2)
    for _ in range(12):
        first.step()
    again = run_batch("thon_dong", 1.0, "2021-01", 12,
                      [BatchRun(3, ModelParams(), [make_lever("digital_teams", "team")]) for _ in range(2)])
    fresh = AdoptionModel("thon_dong", levers=[make_lever("digital_teams", "team")], months=12, seed=3,
                          agents=False, collect=False)
    assert again.outputs["share_internet"][0] == fresh.outputs["share_internet"]
    for _ in range(12):
        again.step()
        fresh.step()
    assert np.array_equal(again.outputs["share_internet"], first.outputs["share_internet"])
    assert again.outputs["share_internet"][1] == fresh.outputs["share_internet"]


def test_batches_of_lever_specifications_share_bindings_without_sharing_state():
    """Runs given as lever specifications (as the sensitivity design gives them) are bound once per seed
    and settings and reused by later batches; every batch still equals its runs alone."""
    from diffusion.experiments.scenarios import LeverSpec

    def specs(i):
        return [LeverSpec("smartphone_subsidy", "subsidy", {"start": "2021-03", "amount_vnd": 400_000.0 * (i % 2),
                                                            "budget_vnd": 4_000_000.0}),
                LeverSpec("digital_teams", "team", {"start": "2021-02", "targeting": TARGETING[i % 5]}),
                LeverSpec("connection_support", "support", {"install_subsidy_vnd": 150_000.0,
                                                            "monthly_discount_vnd": 40_000.0})]

    seeds = [seed_sequence(11, 0, i % 2) for i in range(6)]
    for _ in range(2):  # the second batch takes its bound levers from the cache
        engine = run_batch("thon_dong", 1.0, "2021-01", 12,
                           [BatchRun(seeds[i], ModelParams(), specs(i)) for i in range(6)], detail=False)
        for _ in range(12):
            engine.step()
        for i in range(6):
            alone = AdoptionModel("thon_dong", levers=[s.build() for s in specs(i)], months=12, seed=seeds[i],
                                  agents=False, collect=False)
            alone.run()
            for k in ("share_internet", "share_smartphone", "cum_cost_total", "cum_cost.subsidy", "support.paid_vnd"):
                assert engine.outputs[k][i] == alone.outputs[k], (k, i)


def test_stacked_runs_equal_runs_alone_across_epochs(monkeypatch):
    """A chain's epochs (``WakeChain.epoch``) come from each run's own bound, never from the runs stacked with it:
    with short epochs the window crosses epoch starts at different months in different runs."""
    from diffusion.foundation.randomness import WakeChain

    monkeypatch.setattr(WakeChain, "EPOCH_SUCCESSES", 1)
    _compare("thon_dong", 3, 18)


def test_two_threads_give_the_numbers_of_one(monkeypatch):
    """A month's independent pieces shared by two threads (``foundation.threads``) give exactly the numbers of one
    thread, month by month, with every lever on (the teams' outreach chains, subsidies, a rollout) and across a
    January (the members' year, the chains' and neighbour counts' catching up)."""
    from diffusion.foundation import threads

    monkeypatch.setattr(threads, "MIN_HOUSEHOLDS", 0)  # (the commune is below the size that uses threads)

    def run(n: int) -> list[dict]:
        monkeypatch.setattr(threads, "THREADS", n)
        m = AdoptionModel("commune", params=_params(1), levers=_levers(1), months=14, seed=3, agents=False,
                          collect=False)
        assert m.engine.dynamics.threads == n
        out = []
        for _ in range(14):
            m.step()
            out.append(dict(m.outputs))
        return out

    one, two = run(1), run(2)
    for t, (a, b) in enumerate(zip(one, two, strict=True)):
        assert b == pytest.approx(a, rel=0, abs=0, nan_ok=True), t
    assert one[-1]["share_internet"] != one[0]["share_internet"]  # (something happened)


def test_parking_where_a_network_has_not_reached_changes_no_number(monkeypatch):
    """The adoption chains of households whose hamlet lacks the product's network are parked (their trials could
    not succeed) and restarted when the network comes, even when a rollout takes it away (its schedule replaces the
    world's reach from its start, 2013-03, when fibre had reached more hamlets than its first fifth): the numbers
    are those of chains never parked for it, month by month, across a January."""
    from diffusion.model.dynamics import Dynamics
    from diffusion.model.products import FIBRE

    levers = [make_lever("infrastructure", "rollout", start="2013-03", fibre=[["2013-03", 0.2], ["2013-10", 1.0]])]

    def run() -> tuple[list[dict], int]:
        m = AdoptionModel("commune", start="2013-01", levers=levers, months=16, seed=4, agents=False, collect=False)
        d = m.engine.dynamics
        parked = 0
        out = []
        for _ in range(16):
            m.step()
            out.append(dict(m.outputs))
            fibre = d.wake[FIBRE]
            parked = max(parked, int((fibre.parked & ~m.state.adopted[FIBRE]).sum()))
        return out, parked

    parked_runs, parked = run()
    lost = []
    follow = Dynamics._follow_networks

    def watch(self, state, t, effects):
        before = self._reached[FIBRE].copy()
        follow(self, state, t, effects)
        lost.append(bool((before & ~self._reached[FIBRE]).any()))

    monkeypatch.setattr(Dynamics, "_follow_networks", watch)
    run()
    assert any(lost)  # (a hamlet lost fibre)
    monkeypatch.setattr(Dynamics, "_follow_networks", lambda self, state, t, effects: None)
    never, none_parked = run()
    assert parked > 0 and none_parked == 0  # (parking happened, and switching it off works)
    for t, (a, b) in enumerate(zip(never, parked_runs, strict=True)):
        assert b == pytest.approx(a, rel=0, abs=0, nan_ok=True), t
    assert never[-1]["share_fibre"] != never[0]["share_fibre"]  # (something happened)
