"""AdoptionModel as a Mesa model: views, DataCollector outputs, batch_run."""

import mesa
import numpy as np
import pandas as pd
import pytest

from diffusion import AdoptionModel, DigitalTeams
from diffusion.model.agents import Household
from diffusion.model.outputs import metric_names
from diffusion.model.products import INDICATORS, SMARTPHONE


def test_is_a_mesa_model_with_step_and_run():
    m = AdoptionModel("thon_dong", months=6, seed=1)
    assert isinstance(m, mesa.Model)
    m.step()
    assert m.steps == 1 and m.month == 1 and m.date == "2021-02"
    m.run_for(2)
    assert m.steps == 3
    m.run()
    assert m.steps == 6 and not m.running


def test_household_views_read_and_reflect_the_arrays():
    m = AdoptionModel("thon_dong", months=3, seed=1)
    assert len(m.agents) == 275
    assert all(isinstance(a, Household) for a in m.agents)
    h = m.household(10)
    assert h.income == pytest.approx(m.population.income[10])
    assert h.hamlet == "Thôn Đông"
    m.state.adopted[SMARTPHONE, 10] = False
    m.state.adopted[:, 10] = False
    m.state.phone_users[10] = 0
    assert not h.smartphone and h.state_label == "none"
    m.state.adopted[SMARTPHONE, 10] = True
    assert h.smartphone and h.state_label == "smartphone"
    # Mesa AgentSet queries work on the views
    poor = m.agents.select(lambda a: a.quintile == 1)
    assert len(poor) == int(np.sum(m.population.quintile == 0))
    assert set(len(h.neighbours()) for h in list(m.agents)[:20]) <= set(range(1, 40))


def test_views_are_created_only_on_demand():
    m = AdoptionModel("commune", months=2, seed=1, agents=False)
    assert len(m.agents) == 0
    m.step()
    views = m.households()
    assert len(m.agents) == m.population.n == len(views)
    assert m.households() is views


def test_datacollector_reports_every_monthly_output():
    m = AdoptionModel("commune", months=4, seed=2, levers=[DigitalTeams(name="teams")])
    m.run()
    df = m.timeseries()
    assert len(df) == 5 and list(df["date"]) == ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05"]
    for name in metric_names():
        assert name in df.columns
    for k in INDICATORS:
        assert df[f"share_{k}"].between(0, 1).all()
    for col in ("cost.teams", "cum_cost.teams", "cost_total", "cum_cost_total", "teams.visits"):
        assert col in df.columns
    # quintile shares average back to the overall share (quintiles are equal-sized)
    q = df[[f"share_internet_q{i}" for i in range(1, 6)]].mean(axis=1)
    np.testing.assert_allclose(q, df["share_internet"], atol=0.01)
    hamlets = m.by_hamlet()
    assert set(hamlets["hamlet"]) == set(m.population.hamlet_names)
    last = hamlets[hamlets["month"] == 4]
    sizes = np.bincount(m.population.hamlet)
    np.testing.assert_allclose((last["share_fibre"] * sizes).sum() / sizes.sum(), df["share_fibre"].iloc[-1])


def test_output_collector_records_what_mesa_collection_records():
    """The model's collector appends the outputs directly; Mesa's own collection from the same reporters
    must give the same table, month by month."""
    m = AdoptionModel("commune", months=6, seed=3, levers=[DigitalTeams(name="teams")])
    plain = mesa.DataCollector(model_reporters=dict(m.datacollector.model_reporters))
    plain.collect(m)
    for _ in range(6):
        m.step()
        plain.collect(m)
    ours = m.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ours.drop(columns="by_hamlet"),
                                  plain.get_model_vars_dataframe().drop(columns="by_hamlet"))
    for a, b in zip(m.datacollector.model_vars["by_hamlet"], plain.model_vars["by_hamlet"], strict=True):
        np.testing.assert_array_equal(a, b)
    # with reporters of one's own, it collects as Mesa does
    m.datacollector.model_reporters["steps"] = lambda model: model.steps
    m.datacollector.model_vars["steps"] = []
    m.datacollector.collect(m)
    assert m.datacollector.model_vars["steps"] == [6]


def test_mesa_batch_run_works():
    rows = mesa.batch_run(
        AdoptionModel,
        parameters={"place": "thon_dong", "months": 12, "q_smartphone": [0.1, 2.0], "seed": 3, "agents": False},
        iterations=1,
        max_steps=12,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 2
    by_q = {r["q_smartphone"]: r for r in rows}
    assert by_q[2.0]["share_smartphone"] >= by_q[0.1]["share_smartphone"]
    # Mesa reports the row at index steps - 1 of the DataCollector, whose row 0 is the start month
    assert all(r["Step"] == 11 for r in rows)
