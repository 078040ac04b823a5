"""The history model: runs live in the world of their own dates, start states come from the model's history
since 2008, members age and the people's shares add up, and a poorer place starts and stays lower."""

import dataclasses

import numpy as np
import pytest

from diffusion import AdoptionModel
from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import place
from diffusion.model.people import AGE_BANDS, age_bands
from diffusion.model.products import FIBRE, MOBILE, PRODUCTS, SMARTPHONE
from diffusion.model.world import HISTORY_START, absolute_month, coverage, month_world, price_index


# ------------------------------------------------------------------------------------------------ dates
def test_a_2012_run_reads_the_prices_incomes_and_coverage_of_2012():
    m = AdoptionModel("commune", start="2012-01", months=13, seed=3, agents=False)
    d = m.dynamics
    now = absolute_month("2012-01")
    assert d.world == month_world(m.population.place.area, now, PRODUCTS)
    # a 2012 smartphone costs more at 2022 prices than one of 2022, and incomes were lower
    assert d.world.price[SMARTPHONE] == pytest.approx(price_index("price_smartphone_entry", now))
    assert d.world.price[SMARTPHONE] > 1.2 and d.world.income < 0.8
    i = np.arange(m.population.n)
    expected = ((m.params.products["smartphone"].price_vnd * d.world.price[SMARTPHONE]
                 / m.params.amortisation_months)
                / (m.population.income * np.maximum(m.state.size, 1) * d.world.income))
    np.testing.assert_allclose(d.cost_share(SMARTPHONE, i, 0, None, None, m.state), expected, rtol=1e-9)
    # the networks: reached hamlets are those whose reach month has come
    eff = m.engine.effects(0)
    np.testing.assert_array_equal(eff.mobile_coverage, m.engine.reach.mobile <= now)
    np.testing.assert_array_equal(eff.fibre_ready, m.engine.reach.fibre <= now)
    m.step()
    assert d.world == month_world(m.population.place.area, now + 1, PRODUCTS)


def test_the_networks_follow_the_national_curve_on_average():
    """Mobile broadband came with 3G in 2009-08: no hamlet has it before; by 2012 most have it."""
    before = [AdoptionModel("quang_ninh", scale=0.05, start="2009-06", months=1, seed=s, agents=False)
              for s in range(2)]
    assert not any(m.engine.effects(0).mobile_coverage.any() for m in before)
    assert not any(m.state.adopted[MOBILE].any() for m in before)
    later = AdoptionModel("quang_ninh", scale=0.05, start="2013-01", months=1, seed=1, agents=False)
    share = later.engine.effects(0).mobile_coverage.mean()
    assert share == pytest.approx(coverage("mobile", absolute_month("2013-01")), abs=0.1)


def test_a_start_outside_the_dated_tables_is_a_clear_error():
    with pytest.raises(ParameterError, match=HISTORY_START):
        AdoptionModel("thon_dong", start="2007-12", months=3, seed=1)
    with pytest.raises(ParameterError, match="world_series.csv"):
        AdoptionModel("thon_dong", start="2045-01", months=3, seed=1)


def test_a_retired_parameter_says_what_to_do():
    with pytest.raises(ParameterError, match="world_series.csv"):
        AdoptionModel("thon_dong", months=1, seed=1, price_decline_per_year=0.05)


# ------------------------------------------------------------------------------------------------ people
def test_members_are_one_year_older_after_twelve_months():
    still = {"mortality_a": 0.0, "leave_home_per_year": 0.0, "birth_rate_scale": 0.0,  # nobody comes or goes
             "household_growth_per_year": 0.0}
    m = AdoptionModel("commune", start="2015-03", months=12, seed=4, agents=False, **still)
    before = m.state.age.copy()
    m.run()
    alive = before >= 0
    np.testing.assert_array_equal(m.state.age[alive], before[alive] + 1)
    np.testing.assert_array_equal(m.state.age[~alive], -1)


def test_with_the_sourced_rates_people_die_are_born_and_households_are_reformed():
    m = AdoptionModel("commune", start="2015-03", months=36, seed=4, agents=False)
    before = m.state.age.copy()
    m.run()
    survivors = (before >= 0) & (m.state.age >= 0)
    # three Januaries: most people are three years older (a slot may be refilled, a household renewed)
    assert np.mean(m.state.age[survivors] - before[survivors] == 3) > 0.8
    assert ((before >= 0) & (m.state.age < 0)).sum() > 0  # deaths and departures
    assert ((before < 0) & (m.state.age >= 0) & (m.state.age < 3)).sum() > 0  # births
    assert (m.state.age >= 0).any(axis=0).all()  # no household is left empty
    # household attributes follow the members
    assert np.all(m.state.size == (m.state.age >= 0).sum(axis=0))


def test_people_shares_by_age_band_add_up_to_the_overall_share():
    m = AdoptionModel("commune", start="2018-01", months=14, seed=5, agents=False)
    m.run()
    st, out = m.state, m.outputs
    band = age_bands(st.age)
    people = np.array([(band == b).sum() for b in range(len(AGE_BANDS))], dtype=float)
    assert people.sum() == out["people"]
    total = sum(out[f"share_people_smartphone_{b}"] * n for b, n in zip(AGE_BANDS, people))
    assert total / people.sum() == pytest.approx(out["share_people_smartphone"], rel=1e-12)
    users = (st.phone & (band >= 0)).sum()
    assert out["share_people_smartphone"] == pytest.approx(users / people.sum(), rel=1e-12)
    men, women = out["share_people_smartphone_male"], out["share_people_smartphone_female"]
    assert min(men, women) <= out["share_people_smartphone"] <= max(men, women)


def test_age_acts_on_adoption_itself_younger_members_take_up_phones_first():
    m = AdoptionModel("commune", start="2019-01", months=1, seed=6, agents=False)
    out = m.outputs
    assert out["share_people_smartphone_15_24"] > out["share_people_smartphone_65_plus"] + 0.2
    assert out["share_people_smartphone_25_34"] > out["share_people_smartphone_55_64"]


# ------------------------------------------------------------------------------------------------ places
def _poorer(key: str, factor: float):
    pl = place(key)
    return dataclasses.replace(pl, key=f"{key}_poorer", name=f"{pl.name} (poorer)",
                               income_multiplier=pl.income_multiplier * factor)


@pytest.mark.integration
def test_a_poorer_place_starts_lower_stays_lower_and_the_gap_narrows_as_prices_fall():
    """Same place, half the income: its smartphone share from the history is lower at the start (2016) and
    for years after, and the gap closes as smartphones get cheaper and the richer place saturates."""
    rich_pl, poor_pl = place("commune"), _poorer("commune", 0.5)
    dates = ["2016-01", "2019-01", "2026-01"]
    rich, poor = [], []
    for seed in range(3):
        for pl, out in ((rich_pl, rich), (poor_pl, poor)):
            m = AdoptionModel(pl, start="2016-01", months=120, seed=seed, agents=False)
            m.run()
            ts = m.timeseries().set_index("date")
            out.append([ts.loc[d, "share_smartphone"] for d in dates])
    gap = np.mean(rich, axis=0) - np.mean(poor, axis=0)
    assert gap[0] > 0.05 and gap[1] > 0.05  # lower at the start and three years on
    assert gap[2] < max(gap[0], gap[1]) - 0.03  # narrower ten years on
    assert np.all(np.array(poor)[:, 2] > np.array(poor)[:, 0])  # the poorer place keeps adopting


def test_fibre_in_2008_only_where_fixed_broadband_reached():
    m = AdoptionModel("quang_ninh", scale=0.05, start=HISTORY_START, months=1, seed=2, agents=False)
    ready = m.engine.effects(0).fibre_ready[m.population.hamlet]
    assert not np.any(m.state.adopted[FIBRE] & ~ready)
    assert not m.state.adopted[SMARTPHONE].any()  # nobody had a smartphone in January 2008 (the default)
