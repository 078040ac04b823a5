"""Scientific properties of the monthly step: Bass limit, synchronous update, prerequisites, direction of
effects, determinism."""

import numpy as np
import pytest
import scipy.sparse as sp

from diffusion import AdoptionModel, InfrastructureRollout, ModelParams
from diffusion.model.bass import bass_model, continuous_bass, discrete_bass
from diffusion.model.network import Network
from diffusion.model.outputs import OutputCounter
from diffusion.model.products import FIBRE, MOBILE, SERVICES, SMARTPHONE


@pytest.mark.integration
@pytest.mark.parametrize("p, q", [(0.03, 0.38), (0.2, 1.2), (0.01, 2.0)])
def test_bass_limit_mean_curve_matches_discrete_bass(p, q):
    months, reps, n = 120, 30, 1000
    curves = []
    for r in range(reps):
        m = bass_model(p, q, households=n, months=months, seed=r, agents=False)
        m.run()
        curves.append(m.timeseries()["share_smartphone"].to_numpy())
    curves = np.array(curves)
    mean = curves.mean(axis=0)
    se = curves.std(axis=0, ddof=1) / np.sqrt(reps)
    expected = discrete_bass(p, q, months, n=n)
    # within sampling error at every month (4 standard errors, plus the O(1/n) mean-field term)
    assert np.all(np.abs(mean - expected) <= 4 * se + 2.0 / n)


def test_discrete_bass_approaches_continuous_curve():
    f = discrete_bass(0.03, 0.38, 120)
    c = continuous_bass(0.03, 0.38, np.arange(121) / 12)
    assert np.max(np.abs(f - c)) < 0.01


def _path_model(n=30, months=5, seed=0):
    """Households on a path 0-1-2-...; only household 0 adopted; q so high that P(adopt) = 1 next to
    an adopter, p = 0."""
    prm = ModelParams.bass(p=0.0, q=1e6, **{"smartphone.o": 0.0})
    m = AdoptionModel("well_mixed", params=prm, scale=n / 1000, start="2008-01", months=months, seed=seed,
                      agents=False)
    rows = np.arange(n - 1)
    adj = sp.csr_matrix((np.ones(2 * (n - 1), dtype=np.float32),
                         (np.r_[rows, rows + 1], np.r_[rows + 1, rows])), shape=(n, n))
    net = Network(n, adj)
    m.network = net
    m.dynamics.network = net
    m.state.adopted[SMARTPHONE, 0] = True
    m.refresh()
    return m


def test_update_is_synchronous():
    """In month t a household decides from the state at the start of month t: on a path, adoption
    advances exactly one household per month. An asynchronous sweep in id order would reach the whole
    path in the first month."""
    m = _path_model()
    for t in range(1, 6):
        m.step()
        adopters = np.flatnonzero(m.state.adopted[SMARTPHONE])
        np.testing.assert_array_equal(adopters, np.arange(t + 1))


def test_a_household_adopting_a_smartphone_waits_a_month_for_mobile_data():
    prm = ModelParams(**{"active_products": ("smartphone", "mobile_data")}).with_overrides(
        {"smartphone.p": 1e6, "mobile_data.p": 1e6}
    )
    m = AdoptionModel("thon_dong", params=prm, start="2021-01", months=2, seed=1, agents=False)
    m.state.adopted[:, ::2] = False  # every other household gives everything up (a hand edit)
    m.refresh()
    assert m.engine.effects(1).mobile_coverage.all()  # the mobile network reaches every hamlet in 2021
    before = m.state.adopted[SMARTPHONE].copy()
    m.step()
    new_phone = m.state.adopted[SMARTPHONE] & ~before
    assert new_phone.any()
    assert not m.state.adopted[MOBILE][new_phone].any()
    m.step()
    assert m.state.adopted[MOBILE][new_phone].mean() > 0.9


def _check_prerequisites(m, before=None):
    """Prerequisites hold, and households take a product up only where its network is ready (a rollout that
    replaces the world's reach lets the users of a hamlet it has not reached yet keep their connections)."""
    a = m.state.adopted
    pop = m.population
    effects = m.engine.effects(m.steps)
    new = a if before is None else a & ~before
    assert not np.any(a[MOBILE] & ~a[SMARTPHONE])
    assert not np.any(new[MOBILE] & ~effects.mobile_coverage[pop.hamlet])
    assert not np.any(new[FIBRE] & ~effects.fibre_ready[pop.hamlet])
    assert not np.any(a[SERVICES] & ~(a[SMARTPHONE] & (a[MOBILE] | a[FIBRE])))
    st = m.state
    assert np.all(st.phone_users <= st.working_age)
    assert np.all(st.phone_users[~a[SMARTPHONE]] == 0)
    np.testing.assert_array_equal(st.phone.any(axis=0), a[SMARTPHONE])  # a household's phone is a member's
    assert not np.any(st.phone & (st.age < m.params.phone_min_age))


@pytest.mark.parametrize("mechanism", ["hazard", "threshold"])
def test_prerequisites_hold_every_month(mechanism):
    rollout = InfrastructureRollout(
        fibre=[["2021-01", 0.25], ["2022-06", 0.5], ["2024-01", 0.75]],
        mobile=[["2021-01", 0.5], ["2023-01", 1.0]],
    )
    prm = ModelParams(mechanism=mechanism).with_overrides(
        {"mobile_data.churn_per_year": 0.5, "fibre.churn_per_year": 0.5, "smartphone.churn_per_year": 0.2,
         "services.p": 0.5}
    )
    m = AdoptionModel("commune", params=prm, levers=[rollout], months=48, seed=2, agents=False)
    _check_prerequisites(m)
    for _ in range(48):
        before = m.state.adopted.copy()
        m.step()
        _check_prerequisites(m, before)
    assert m.outputs["share_services"] > 0


def _final(place="commune", months=36, seed=0, metric="share_internet", **kw):
    m = AdoptionModel(place, months=months, seed=seed, agents=False, collect=False, **kw)
    m.run()
    return m.outputs[metric], m.state.adopted.copy()


@pytest.mark.parametrize(
    "low, high, pathwise",
    [
        # q sets the bound of the thinning trials, so runs with different q share every random number
        # but the adoption trials: the comparison holds in expectation
        ({"q_smartphone": 0.2, "q_mobile_data": 0.2}, {"q_smartphone": 0.8, "q_mobile_data": 0.8}, False),
        ({"income_mean_vnd": 2_000_000}, {"income_mean_vnd": 6_000_000}, True),
        ({"price_vnd_smartphone": 4_000_000, "monthly_fee_vnd_mobile_data": 300_000},
         {"price_vnd_smartphone": 1_000_000, "monthly_fee_vnd_mobile_data": 50_000}, True),
    ],
)
def test_direction_of_effects_with_common_random_numbers(low, high, pathwise):
    """Higher q, higher income, lower price: more adopters on average; where the runs share all their
    random numbers, every replicate ends with at least as many phone users."""
    lows, highs = [], []
    for seed in range(4):
        lo, a_lo = _final(seed=seed, **low)
        hi, a_hi = _final(seed=seed, **high)
        lows.append(lo)
        highs.append(hi)
    if pathwise:
        # Without churn of the phone and without households dying out or renewed (a household formed anew takes phones
        # with the share of young people using one in its run), the low run's phone users are a subset of
        # the high run's, from 2008 on.
        fixed = {"mortality_a": 0.0, "leave_home_per_year": 0.0, "household_growth_per_year": 0.0}
        for seed in range(2):
            a_lo = _final(seed=seed, **low, **fixed)[1]
            a_hi = _final(seed=seed, **high, **fixed)[1]
            assert not np.any(a_lo[SMARTPHONE] & ~a_hi[SMARTPHONE])
    assert np.mean(highs) > np.mean(lows)


def test_younger_heads_adopt_more():
    old = [_final(seed=s, head_age_mean=62.0, metric="share_smartphone")[0] for s in range(4)]
    young = [_final(seed=s, head_age_mean=38.0, metric="share_smartphone")[0] for s in range(4)]
    assert np.mean(young) > np.mean(old)


def test_same_seed_same_arrays_different_seed_different_run():
    def run(seed):
        m = AdoptionModel("commune", months=24, seed=seed, agents=False)
        m.run()
        return m

    a, b, c = run(7), run(7), run(8)
    for field in ("adopted", "phone_users", "skill", "exposure"):
        np.testing.assert_array_equal(getattr(a.state, field), getattr(b.state, field))
    assert a.timeseries().equals(b.timeseries())
    assert not np.array_equal(a.state.adopted, c.state.adopted)


def test_seed_sequence_and_mesa_rng_are_accepted():
    ss = np.random.SeedSequence(5, spawn_key=(1, 0))
    a = AdoptionModel("thon_dong", months=3, seed=ss)
    b = AdoptionModel("thon_dong", months=3, seed=np.random.SeedSequence(5, spawn_key=(1, 0)))
    np.testing.assert_array_equal(a.state.adopted, b.state.adopted)
    c = AdoptionModel("thon_dong", months=3, rng=11)
    d = AdoptionModel("thon_dong", months=3, rng=11)
    np.testing.assert_array_equal(c.state.adopted, d.state.adopted)


def test_threshold_mechanism_needs_neighbours_over_threshold():
    prm = ModelParams(mechanism="threshold", threshold_rate_per_year=1e6).with_overrides(
        {f"{p}.{f}": 0.0 for p in ("smartphone", "mobile_data", "fibre", "services") for f in ("p", "o")}
    )
    m = AdoptionModel("commune", params=prm, months=1, seed=4, agents=False)
    a0 = m.state.adopted[SMARTPHONE].copy()
    s = m.network.share_of(np.arange(m.population.n), a0)
    m.step()
    new = m.state.adopted[SMARTPHONE] & ~a0
    assert np.all(s[new] >= m.state.threshold[SMARTPHONE, new])
    assert not np.any(m.state.never[SMARTPHONE] & new)


def test_incremental_output_tables_equal_a_recount_after_many_months():
    """The output tables are updated from each month's changes; after churn, cascades and levers they
    must equal counting from scratch."""
    prm = ModelParams().with_overrides({"mobile_data.churn_per_year": 1.0, "fibre.churn_per_year": 1.0,
                                        "smartphone.churn_per_year": 0.3})
    m = AdoptionModel("commune", params=prm, levers=[InfrastructureRollout(fibre=[["2021-06", 0.5]])],
                      months=30, seed=9, agents=False)
    for _ in range(30):  # the people tables, month by month (through two Januaries)
        m.step()
        fresh = OutputCounter(m.population)
        fresh.recount(m.state)
        np.testing.assert_array_equal(m.engine.counter.people_users, fresh.people_users)
        np.testing.assert_array_equal(m.engine.counter.people_online, fresh.people_online)
    c = m.engine.counter
    by_hamlet, by_group, users = c.by_hamlet.copy(), c.by_group.copy(), c.users_hamlet.copy()
    people_users, people_online = c.people_users.copy(), c.people_online.copy()
    outputs = dict(m.outputs)
    m.refresh()
    np.testing.assert_array_equal(people_users, m.engine.counter.people_users)
    np.testing.assert_array_equal(people_online, m.engine.counter.people_online)
    np.testing.assert_array_equal(by_hamlet, m.engine.counter.by_hamlet)
    np.testing.assert_array_equal(by_group, m.engine.counter.by_group)
    np.testing.assert_allclose(users, m.engine.counter.users_hamlet)
    for k, v in m.outputs.items():
        assert v == pytest.approx(outputs[k], nan_ok=True), k


def test_parked_chains_change_no_number(monkeypatch):
    """Chains of events that cannot happen (adopting a product in use, giving up one not in use, further members
    where nobody could start) are parked; a restarted chain is walked from the start of its epoch, so every output
    must be what never parking gives: through Januaries, lapses, re-adoptions and a fibre rollout, history
    included."""
    from diffusion.foundation.randomness import WakeChain
    from diffusion.model import engine

    prm = ModelParams().with_overrides({"mobile_data.churn_per_year": 0.8, "fibre.churn_per_year": 0.5,
                                        "smartphone.churn_per_year": 0.2})

    def run():
        for cache in (engine._STATES, engine._BUILDS):
            cache.clear()
        m = AdoptionModel("commune", params=prm, start="2019-06", months=30, seed=12, agents=False,
                          levers=[InfrastructureRollout(fibre=[["2020-06", 0.5], ["2021-03", 1.0]])])
        m.run()
        return m

    parked = run()
    assert np.mean(parked.dynamics.wake[SMARTPHONE].parked) > 0.5
    restart = WakeChain.park_where
    monkeypatch.setattr(WakeChain, "park", lambda self, idx: None)
    monkeypatch.setattr(WakeChain, "park_where",
                        lambda self, t, park, idx=None: restart(self, t, np.zeros_like(park), idx))
    unparked = run()
    assert not unparked.dynamics.wake[SMARTPHONE].parked.any()
    assert parked.timeseries().equals(unparked.timeseries())
    np.testing.assert_array_equal(parked.state.adopted, unparked.state.adopted)
    np.testing.assert_array_equal(parked.state.phone, unparked.state.phone)


def test_refresh_restarts_chains_of_households_whose_smartphone_was_taken_away():
    """Parked chains restart after hand edits: households whose smartphone is taken away adopt again."""
    m = AdoptionModel("commune", months=36, seed=13, agents=False)
    m.run_for(12)
    holders = np.flatnonzero(m.state.adopted[SMARTPHONE])
    taken = holders[::2]
    m.state.adopted[:, taken] = False
    m.refresh()  # also takes the members' phones
    assert not m.state.phone[:, taken].any()
    m.run_for(12)
    assert np.mean(m.state.adopted[SMARTPHONE, taken]) > 0.05
    again = taken[m.state.adopted[SMARTPHONE, taken]]
    users = m.state.phone[:, again].sum(axis=0)
    assert np.all(users >= 1)
    assert users.sum() > again.size  # further members took one up as well


@pytest.mark.parametrize("awareness", [0.0, 0.4, 1.0])
def test_outreach_adds_its_rate_to_the_hazard(awareness):
    """The outreach term o*v is simulated as events of their own; together with p they must give the
    hazard model's probability 1 - exp(-(p + o*v)*t/12) (q = 0, free product, full skill)."""
    from diffusion import PublicAccessPoint

    p, o, months = 0.03, 0.5, 6
    prm = ModelParams.bass(p, 0.0, **{"smartphone.o": o})
    m = AdoptionModel("well_mixed", params=prm, scale=20, start="2008-01", months=months, seed=21, agents=False,
                      levers=[PublicAccessPoint(awareness=awareness, skill_boost=0.0)])
    assert SMARTPHONE in m.dynamics.outreach
    m.run()
    expected = -np.expm1(-(p + o * awareness) * months / 12)
    se = np.sqrt(expected * (1 - expected) / m.population.n)
    assert abs(m.outputs["share_smartphone"] - expected) < 4 * se


def test_outreach_is_simulated_only_with_a_lever_that_gives_exposure():
    from diffusion import DigitalTeams

    assert AdoptionModel("thon_dong", months=3, seed=1, agents=False).dynamics.outreach == {}
    m = AdoptionModel("thon_dong", months=3, seed=1, agents=False, levers=[DigitalTeams()])
    assert sorted(m.dynamics.outreach) == [SMARTPHONE, MOBILE, FIBRE, SERVICES]


@pytest.mark.integration
def test_adoptions_each_month_match_the_hazard_probabilities():
    """The step simulates lambda = (p + q*s + o*v)*a*r by thinning two bounded sources of events; the
    adoptions it produces must match the probabilities 1 - exp(-lambda/12) computed directly from the
    start-of-month state, product by product, with teams and an awareness floor acting; and so must the
    households that give a product up."""
    from diffusion import DigitalTeams, PublicAccessPoint
    from diffusion.foundation.calendar import DT_YEARS

    months = 11
    m = AdoptionModel("quang_ninh", scale=0.1, start="2021-01", months=months, seed=5, agents=False,
                      levers=[DigitalTeams(members_per_team=10, visits_per_member=20),
                              PublicAccessPoint(awareness=0.3, skill_boost=0.0)])
    engine, d = m.engine, m.dynamics
    observed, expected, variance = np.zeros(8), np.zeros(8), np.zeros(8)  # adopting k, giving up k - 4
    assert all((engine.month0 + t) % 12 for t in range(1, months + 1))  # no January: no members' year
    for t in range(1, months + 1):  # Engine.step, with the probabilities taken before the dynamics' step
        d.begin_month(t)
        effects = engine.effects(t)
        for lv in engine.levers:
            lv.act(t, m.state, effects)
        probabilities = {}
        for k in d.active:
            idx = np.flatnonzero(d.ready(k, m.state, effects))
            v = np.maximum(m.state.exposure[idx], effects.awareness[idx])
            lam = (d.p[k, 0] + d.q[k, 0] * d.neighbour_share(k, idx, m.state) + d.o[k, 0] * v)
            probabilities[k] = -np.expm1(-lam * d.conditions(k, idx, t, effects, m.state, None) * DT_YEARS)
            if d.churn[k, 0] > 0:  # giving the product up: churn * (1 + multiplier * (1 - a)) per year
                users = np.flatnonzero(m.state.adopted[k])
                a = d.affordability(d.cost_share(k, users, t, effects, None, m.state), None) if d.has_cost[k] else 1.0
                lam = d.churn[k, 0] * (1 + d.churn_multiplier[0] * (1 - a))
                probabilities[4 + k] = -np.expm1(-lam * DT_YEARS) * np.ones(users.size)
        result = d.step(m.state, t, effects)
        d.end_of_month(m.state)
        for k, prob in probabilities.items():
            observed[k] += (result.adopted[k] if k < 4 else result.lapsed[k - 4]).size
            expected[k] += prob.sum()
            variance[k] += (prob * (1 - prob)).sum()
    events = [k for k in range(8) if expected[k] > 0]
    assert len(events) == 7  # adopting four products; giving up mobile data, fibre and services
    assert np.all(expected[events] > 30)  # enough events for the normal approximation
    z = (observed[events] - expected[events]) / np.sqrt(variance[events])
    assert np.all(np.abs(z) < 4), z
