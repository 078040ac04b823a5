"""Policy levers: monotone responses, eligibility, budgets, capacity, targeting, schedules, costs."""

import unicodedata

import numpy as np
import pytest

from diffusion import (
    AdoptionModel,
    ConnectionSupport,
    DigitalTeams,
    InfrastructureRollout,
    ParameterError,
    PublicAccessPoint,
    SmartphoneSubsidy,
    make_lever,
)
from diffusion.experiments.outcomes import additional_adopters, cost_per_additional, target_months
from diffusion.model.products import FIBRE, SMARTPHONE


def run(levers=(), place="commune", months=36, seed=0, **kw):
    m = AdoptionModel(place, levers=list(levers), months=months, seed=seed, agents=False, **kw)
    m.run()
    return m


def mean_final(make_levers, metric, seeds=range(4), **kw):
    return np.mean([run(make_levers(), seed=s, **kw).outputs[metric] for s in seeds])


# ----------------------------------------------------------------------------- monotone responses
def test_more_subsidy_gives_at_least_as_many_smartphones_in_every_replicate():
    for seed in range(3):
        shares = []
        for amount in (0, 500_000, 1_500_000):
            m = run([SmartphoneSubsidy(amount_vnd=amount, eligibility="all")], seed=seed)
            shares.append(m.outputs["share_smartphone"])
        assert shares[0] <= shares[1] <= shares[2]
    # and strictly more where it binds (poor households, expensive phones)
    lo = mean_final(lambda: [SmartphoneSubsidy(amount_vnd=0, eligibility="poor")], "share_smartphone_q1",
                    price_vnd_smartphone=3_000_000)
    hi = mean_final(lambda: [SmartphoneSubsidy(amount_vnd=2_500_000, eligibility="poor")], "share_smartphone_q1",
                    price_vnd_smartphone=3_000_000)
    assert hi > lo


@pytest.mark.parametrize("field, values", [("members_per_team", (0, 2, 8)), ("visits_per_member", (0, 2, 10))])
def test_more_team_capacity_gives_more_services(field, values):
    out = [mean_final(lambda v=v: [DigitalTeams(**{field: v})], "share_services", months=24) for v in values]
    assert out[0] < out[1] <= out[2] + 0.002
    assert out[2] > out[0]


def test_earlier_fibre_gives_more_fibre_at_a_fixed_date():
    def levers(date):
        return lambda: [InfrastructureRollout(fibre=[[date, 1.0]])]

    early = mean_final(levers("2021-06"), "share_fibre", months=48)
    late = mean_final(levers("2023-06"), "share_fibre", months=48)
    assert early > late
    for seed in range(2):  # pathwise with common random numbers
        e = run(levers("2021-06")(), seed=seed, months=48).outputs["share_fibre"]
        l_ = run(levers("2023-06")(), seed=seed, months=48).outputs["share_fibre"]
        assert e >= l_


# --------------------------------------------------------------------------- subsidy rules
def test_subsidy_pays_only_eligible_adopters_and_respects_budget():
    amount, budget = 500_000, 6_000_000
    lever = SmartphoneSubsidy(amount_vnd=amount, eligibility=("poor", "near_poor"), budget_vnd=budget)
    m = AdoptionModel("commune", levers=[lever], months=48, seed=1, agents=False,
                      price_vnd_smartphone=2_000_000)
    eligible = m.population.poor | m.population.near_poor
    paid_total = 0.0
    for _ in range(48):
        before = m.state.adopted[SMARTPHONE].copy()
        m.step()
        new = m.state.adopted[SMARTPHONE] & ~before
        payments = m.outputs["smartphone_subsidy.payments"]
        assert payments <= np.sum(new & eligible)  # never pays an ineligible household
        assert m.outputs["smartphone_subsidy.paid_vnd"] == payments * amount
        paid_total += m.outputs["cost.smartphone_subsidy"]
        assert paid_total <= budget
    assert paid_total == pytest.approx(budget)  # budget ran out ...
    assert m.outputs["smartphone_subsidy.payments"] == 0  # ... and payments stopped


def test_subsidy_outside_its_dates_does_nothing():
    lever = SmartphoneSubsidy(amount_vnd=500_000, eligibility="all", start="2022-12", end="2023-05")
    m = run([lever], months=36)
    df = m.timeseries()
    paid = df.loc[df["cost.smartphone_subsidy"] > 0, "date"]
    assert paid.min() >= "2022-12" and paid.max() <= "2023-05"


def test_connection_support_pays_installations_and_discounts_within_budget():
    lever = ConnectionSupport(install_subsidy_vnd=300_000, monthly_discount_vnd=50_000, discount_months=6,
                              eligibility="all", budget_vnd=20_000_000)
    m = run([lever], months=36)
    df = m.timeseries()
    assert df["cost.connection_support"].sum() <= 20_000_000
    assert df["connection_support.installations_paid"].sum() > 0
    assert df["connection_support.discounts_paid"].sum() > 0


# ------------------------------------------------------------------------------------ teams
def test_visits_never_exceed_capacity():
    lever = DigitalTeams(teams_per_hamlet=1, members_per_team=8, visits_per_member=10, targeting="random")
    m = AdoptionModel("thon_dong", levers=[lever], months=24, seed=3, agents=False)
    for _ in range(24):
        m.step()
        assert m.outputs["digital_teams.visits"] <= 80
        assert lever._visited.size == m.outputs["digital_teams.visits"]
    # a hamlet of 275 households cannot all be visited in one month
    m = AdoptionModel("thon_dong", levers=[DigitalTeams(targeting="random")], months=1, seed=3, agents=False)
    m.step()
    assert m.outputs["digital_teams.visits"] == 80


@pytest.mark.parametrize("targeting", ["poorest_first", "elderly_first", "best_connected_first",
                                       "non_adopters_first", "random"])
def test_targeting_visits_whom_it_says(targeting):
    lever = DigitalTeams(members_per_team=2, visits_per_member=5, targeting=targeting, revisit_months=0)
    m = AdoptionModel("commune", levers=[lever], months=1, seed=5, agents=False)
    pop = m.population
    used_before = m.state.adopted.sum(axis=0)
    need = used_before < 4
    m.step()
    visited = np.zeros(pop.n, dtype=bool)
    visited[lever._visited] = True
    assert not np.any(visited & ~need)  # households using everything are not visited
    for h in range(pop.n_hamlets):
        in_h = pop.hamlet == h
        v, rest = visited & in_h, ~visited & in_h & need
        assert v.sum() == min(10, (in_h & need).sum())
        if targeting == "poorest_first":
            assert pop.income[v].max() <= pop.income[rest].min()
        elif targeting == "elderly_first":
            head_age = m.state.head_age  # the heads' ages at the start (members age each January)
            assert head_age[v].min() >= head_age[rest].max()
        elif targeting == "best_connected_first":
            assert m.network.degree[v].min() >= m.network.degree[rest].max()
        elif targeting == "non_adopters_first":
            assert used_before[v].max() <= used_before[rest].min()
    if targeting == "random":
        # not the poorest: random visits reach richer households too
        assert pop.quintile[visited].max() >= 3


def test_visit_sets_exposure_and_raises_skill():
    lever = DigitalTeams(skill_boost=0.5)
    m = AdoptionModel("thon_dong", levers=[lever], months=2, seed=1, agents=False)
    skill0 = m.state.skill.copy()
    m.step()
    v = lever._visited
    assert np.all(m.state.skill[v] >= skill0[v])
    assert np.all(m.state.exposure[v] == pytest.approx(0.5 ** (1 / 3)))  # 1, then a month of decay


# ---------------------------------------------------------------------- infrastructure, access
def test_no_fibre_before_a_hamlets_connection_date():
    """From its start the schedule replaces the world's fibre reach: in a hamlet it has not reached, households
    that had fibre keep it, but nobody takes it up until the hamlet's date."""
    lever = InfrastructureRollout(fibre={"Thôn 1": "2021-01", "Thôn 2": "2022-01", 2: "2023-06"})
    m = AdoptionModel("commune", levers=[lever], start="2021-01", months=48, seed=2, agents=False)
    pop = m.population
    month_of = {0: 0, 1: 12, 2: 29}
    at_start = m.state.adopted[FIBRE].copy()
    users = at_start.copy()
    for t in range(1, 49):
        m.step()
        fibre = m.state.adopted[FIBRE]
        for h in range(pop.n_hamlets):
            if t < month_of.get(h, 10**9):
                assert not np.any(fibre & ~users & (pop.hamlet == h)), (t, h)
        users |= fibre
    assert np.any(m.state.adopted[FIBRE] & ~at_start & (pop.hamlet == 1))
    assert m.outputs["infrastructure.fibre_hamlets"] == 3


def test_rollout_share_schedule_connects_that_share_of_hamlets():
    lever = InfrastructureRollout(fibre=[["2021-06", 0.5], ["2023-06", 0.86]])
    m = AdoptionModel("quang_ninh", scale=0.05, levers=[lever], months=36, seed=2, agents=False)
    assert m.outputs["infrastructure.fibre_hamlets"] == 0
    m.run()
    df = m.timeseries()
    H = m.population.n_hamlets
    assert df.loc[df.date == "2021-06", "infrastructure.fibre_hamlets"].iloc[0] == round(0.5 * H)
    assert df.loc[df.date == "2023-06", "infrastructure.fibre_hamlets"].iloc[0] == round(0.86 * H)


def test_public_access_point_raises_adoption():
    without = mean_final(lambda: [], "share_services", place="thon_dong", months=24)
    with_ = mean_final(lambda: [PublicAccessPoint(awareness=0.5)], "share_services", place="thon_dong", months=24)
    assert with_ > without


# ------------------------------------------------------------------------ identity and costs
def test_levers_switched_off_give_exactly_the_lever_free_model():
    levers = [
        SmartphoneSubsidy(enabled=False),
        ConnectionSupport(install_subsidy_vnd=1e5, enabled=False),
        DigitalTeams(enabled=False),
        InfrastructureRollout(fibre=[["2023-01", 1.0]], enabled=False),
        PublicAccessPoint(enabled=False),
    ]
    a = run(levers, seed=4)
    b = run([], seed=4)
    for field in ("adopted", "phone_users", "skill", "exposure"):
        np.testing.assert_array_equal(getattr(a.state, field), getattr(b.state, field))
    assert a.outputs["cum_cost_total"] == 0


def test_a_lever_never_shifts_another_process_random_numbers():
    """Teams visit only in hamlet 0: households elsewhere must follow exactly the lever-free path."""
    # ties between hamlets would carry the effect across; they are switched off for an exact comparison
    a = run([DigitalTeams(hamlets=[0])], seed=6, inter_hamlet_ties=0.0)
    b = run([], seed=6, inter_hamlet_ties=0.0)
    other = a.population.hamlet != 0
    assert not np.array_equal(a.state.adopted[:, ~other], b.state.adopted[:, ~other])
    np.testing.assert_array_equal(a.state.adopted[:, other], b.state.adopted[:, other])


def test_costs_add_up():
    levers = [
        SmartphoneSubsidy(eligibility="all"),
        DigitalTeams(),
        PublicAccessPoint(),
        ConnectionSupport(install_subsidy_vnd=200_000, monthly_discount_vnd=30_000),
    ]
    df = run(levers, months=24).timeseries()
    per_lever = df[[f"cost.{lv.name}" for lv in levers]].sum(axis=1)
    np.testing.assert_allclose(per_lever, df["cost_total"])
    np.testing.assert_allclose(df["cost_total"].cumsum(), df["cum_cost_total"])
    assert df["cost.digital_teams"].iloc[1] == 8 * 8 * 300_000  # 8 hamlets x 8 members x allowance


# -------------------------------------------------------------------------- derived outcomes
def _stack(runs):
    import pandas as pd

    frames = []
    for scenario, replicate, m in runs:
        ts = m.timeseries()
        ts.insert(0, "design_point", 0)
        ts.insert(0, "replicate", replicate)
        ts.insert(0, "scenario", scenario)
        frames.append(ts)
    return pd.concat(frames, ignore_index=True).fillna(0.0)


def test_derived_outcomes_against_the_reference():
    runs = []
    for r in range(2):
        runs.append(("none", r, run([], seed=r)))
        runs.append(("teams", r, run([DigitalTeams()], seed=r)))
    df = _stack(runs)
    add = additional_adopters(df, "none")
    ref = add[add.scenario == "none"]
    assert (ref["additional_internet"] == 0).all() and (ref["additional_cost_vnd"] == 0).all()
    cpa = cost_per_additional(df, "none", "services")
    teams = cpa[cpa.scenario == "teams"]
    assert (teams["additional_services"] > 0).all()
    np.testing.assert_allclose(teams["cost_per_additional_vnd"],
                               teams["additional_cost_vnd"] / teams["additional_services"])
    tm = target_months(df)
    assert set(tm["target"]) == {"broadband_households", "fibre_households", "working_age_smartphone"}
    hit = tm.dropna(subset=["month_reached"])
    for _, row in hit.iterrows():
        g = df[(df.scenario == row.scenario) & (df.replicate == row.replicate)]
        assert g.loc[g.month == row.month_reached, row.metric].iloc[0] >= row.share
        assert (g.loc[g.month < row.month_reached, row.metric] < row.share).all()


# -------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: SmartphoneSubsidy(amount_vnd=-1), "amount_vnd"),
        (lambda: SmartphoneSubsidy(budget_vnd=-5), "budget_vnd"),
        (lambda: SmartphoneSubsidy(eligibility="rich"), "eligibility"),
        (lambda: DigitalTeams(targeting="loudest_first"), "targeting"),
        (lambda: DigitalTeams(members_per_team=7.6), "members_per_team"),
        (lambda: DigitalTeams(visits_per_member=-1), "visits_per_member"),
        (lambda: PublicAccessPoint(awareness=2), "awareness"),
        (lambda: make_lever("digital_teams", name="teams", membres_per_team=3), "membres_per_team"),
        (lambda: make_lever("free_wifi"), "kind"),
    ],
)
def test_bad_lever_settings_raise_clear_errors(make, field):
    with pytest.raises(ParameterError) as err:
        make()
    assert field in str(err.value) and "not allowed" in str(err.value)


@pytest.mark.parametrize(
    "lever, field",
    [
        (SmartphoneSubsidy(start="2030-01"), "start"),
        (SmartphoneSubsidy(start="2022-01", end="2021-06"), "end"),
        (InfrastructureRollout(fibre=[["2019-01", 0.5]]), "fibre"),
        (InfrastructureRollout(fibre={"Thôn 99": "2022-01"}), "fibre"),
        (InfrastructureRollout(fibre=[["2022-01", 0.8], ["2023-01", 0.5]]), "fibre"),
    ],
)
def test_dates_and_hamlets_outside_the_run_are_errors(lever, field):
    with pytest.raises(ParameterError) as err:
        AdoptionModel("commune", levers=[lever], months=24)
    assert field in str(err.value)
    assert lever.name in str(err.value)


def test_the_make_lever_hint():
    with pytest.raises(ParameterError, match="did you mean 'members_per_team'"):
        make_lever("digital_teams", membres_per_team=3)


# ------------------------------------------------------------------ hamlets on any lever; the eligible group
@pytest.mark.parametrize("make", [
    lambda h: SmartphoneSubsidy(amount_vnd=3_000_000, eligibility="all", hamlets=h),
    lambda h: ConnectionSupport(install_subsidy_vnd=2_000_000, eligibility="all", hamlets=h),
    lambda h: PublicAccessPoint(awareness=0.5, hamlets=h),
    lambda h: InfrastructureRollout(fibre={}, hamlets=h),  # no fibre for new households there
])
def test_a_lever_restricted_to_hamlets_leaves_the_others_alone(make):
    """A lever with ``hamlets`` acts only there: households of other hamlets follow the lever-free path exactly
    (ties between hamlets switched off), and its eligible group is the households of the hamlets named."""
    decomposed = unicodedata.normalize("NFD", "Thôn 2")  # names match in any Unicode form (NFC)
    a = run([make([decomposed])], seed=3, months=24, inter_hamlet_ties=0.0)
    b = run([], seed=3, months=24, inter_hamlet_ties=0.0)
    there = a.population.hamlet == 1
    np.testing.assert_array_equal(a.state.adopted[:, ~there], b.state.adopted[:, ~there])
    assert not np.array_equal(a.state.adopted[:, there], b.state.adopted[:, there])
    name = a.levers[0].name
    assert a.outputs[f"{name}.eligible_households"] == there.sum()
    assert a.outputs[f"{name}.eligible_smartphone"] == (a.state.adopted[SMARTPHONE] & there).sum()


def test_an_unknown_hamlet_is_a_clear_error():
    with pytest.raises(ParameterError) as err:
        AdoptionModel("commune", levers=[SmartphoneSubsidy(hamlets=["Thôn 9"])], months=12)
    msg = str(err.value)
    assert "levers.smartphone_subsidy.hamlets" in msg and "'Thôn 9'" in msg and "Thôn 1" in msg
    assert "\n" not in msg


def test_a_switched_off_subsidy_still_counts_its_eligible_group():
    on = run([SmartphoneSubsidy(amount_vnd=2_000_000, eligibility=["poor", "near_poor"])], seed=2, months=24)
    off = run([SmartphoneSubsidy(amount_vnd=2_000_000, eligibility=["poor", "near_poor"], enabled=False)], seed=2,
              months=24)
    pop = on.population
    group = pop.poor | pop.near_poor
    for m in (on, off):
        assert m.outputs["smartphone_subsidy.eligible_households"] == group.sum()
        assert m.outputs["smartphone_subsidy.eligible_smartphone"] == (m.state.adopted[SMARTPHONE] & group).sum()
    assert off.timeseries()["smartphone_subsidy.payments"].sum() == 0
    assert on.outputs["smartphone_subsidy.eligible_smartphone"] >= off.outputs["smartphone_subsidy.eligible_smartphone"]
