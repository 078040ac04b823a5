"""summary.csv as a researcher reads it: the cost per additional household as a ratio of means over all paired
runs (with a seeded bootstrap interval and "no measurable effect"), a subsidy's deadweight and its eligible
group, summaries per design setting of a sweep, comparisons between any two scenarios.

Unit tests build tiny tidy tables by hand; the integration tests run Thôn Đông for a few months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diffusion.analyses.experiment import run_experiment
from diffusion.experiments.outcomes import NO_MEASURABLE_EFFECT, Bootstrap, incremental_cost
from diffusion.experiments.results import load_results
from diffusion.experiments.summary import summarise
from diffusion.foundation.errors import ConfigError
from diffusion.presentation.charts.registry import families
from diffusion.presentation.charts.view import open_view


def table(extra: dict[str, list[float]], cost: dict[str, list[float]], households: int = 100,
          lever: dict[str, dict[str, list[float]]] | None = None) -> pd.DataFrame:
    """A two-month tidy table: per scenario, one final share of internet per replicate (the reference's is 0.5)
    and the cumulative spending; ``extra`` are the scenario's additional internet households per replicate."""
    rows = []
    for scn, adds in extra.items():
        for r, add in enumerate(adds):
            for month, date in ((0, "2024-12"), (1, "2025-01")):
                row = {"scenario": scn, "replicate": r, "design_point": 0, "month": month, "date": date,
                       "households": households, "share_smartphone": 0.6, "share_mobile_data": 0.4,
                       "share_fibre": 0.1, "share_internet": 0.5 + (add / households if month else 0.0),
                       "share_services": 0.2, "cum_cost_total": cost[scn][r] if month else 0.0}
                for col, values in (lever or {}).get(scn, {}).items():
                    row[col] = values[r] if col.endswith("households") or month else 0.0
                rows.append(row)
    return pd.DataFrame(rows)


def row(summary: pd.DataFrame, outcome: str, scenario: str = "lever", reference: str | None = None) -> pd.Series:
    s = summary[(summary.outcome == outcome) & (summary.scenario == scenario)]
    if reference is not None:
        s = s[s.reference == reference]
    assert len(s) == 1, (outcome, scenario, reference, s)
    return s.iloc[0]


def test_cost_per_additional_household_is_a_ratio_of_means_over_all_paired_runs():
    extra = [4.0, 0.0, 6.0, 2.0, 8.0, 0.0]
    cost = [10e6, 10e6, 10e6, 10e6, 10e6, 10e6]
    ts = table({"none": [0.0] * 6, "lever": extra}, {"none": [0.0] * 6, "lever": cost})
    s = summarise(ts, reference="none", metrics=["share_internet"], seed=3)
    r = row(s, "cost_per_additional_vnd.internet")
    # by hand: 10 million VND a run over (4 + 0 + 6 + 2 + 8 + 0) / 6 = 3.33 additional households a run
    assert r["median"] == pytest.approx(10e6 / (20 / 6)) == pytest.approx(r["mean"])
    # not the median of per-run costs over the runs with an effect (2.5 million, which flatters the lever)
    assert r["median"] > 2.9e6
    assert r["runs"] == 6 and r["note"] != NO_MEASURABLE_EFFECT
    assert r["p05"] < r["median"] < r["p95"]
    add = row(s, "additional_households.internet")
    assert add["mean"] == pytest.approx(20 / 6) and add["mean_p05"] > 0
    # the interval is seeded: the same seed gives the same bytes, another seed another interval
    again = summarise(ts, reference="none", metrics=["share_internet"], seed=3)
    pd.testing.assert_frame_equal(s, again)
    other = row(summarise(ts, reference="none", metrics=["share_internet"], seed=4),
                "cost_per_additional_vnd.internet")
    assert other["median"] == r["median"] and other["p05"] != r["p05"]


def test_a_lever_without_effect_in_most_runs_has_no_measurable_effect_not_a_small_cost():
    extra = [0.0] * 9 + [5.0]  # one run of ten adds households, the others none
    ts = table({"none": [0.0] * 10, "lever": extra}, {"none": [0.0] * 10, "lever": [1e6] * 10})
    s = summarise(ts, reference="none", metrics=["share_internet"])
    r = row(s, "cost_per_additional_vnd.internet")
    assert r["note"] == NO_MEASURABLE_EFFECT
    assert np.isnan(r["median"]) and np.isnan(r["mean"])
    assert r["runs"] == 10
    assert row(s, "additional_households.internet")["note"] == NO_MEASURABLE_EFFECT


def test_incremental_cost_by_hand_and_its_interval():
    boot = Bootstrap(seed=1, samples=500)
    ce = incremental_cost([2.0, 4.0, 6.0], [1.0, 1.0, 2.0], boot)
    assert ce["value"] == pytest.approx(4.0 / (4.0 / 3.0))
    assert ce["runs"] == 3 and ce["note"] == ""
    means = np.array([2.0, 4.0, 6.0])[boot.index(3)].mean(axis=1) / np.array([1.0, 1.0, 2.0])[boot.index(3)].mean(1)
    assert ce["low"] == pytest.approx(np.quantile(means, 0.05))


def test_deadweight_and_the_eligible_group_of_a_subsidy():
    # 10 eligible households; the subsidy paid 6 of them, 2 more have a smartphone than in the reference
    lever = {"none": {"sub.eligible_households": [10, 10], "sub.eligible_smartphone": [5, 5],
                      "sub.eligible_internet": [3, 3], "sub.eligible_services": [1, 1],
                      "sub.payments": [0, 0], "sub.paid_vnd": [0, 0]},
             "lever": {"sub.eligible_households": [10, 10], "sub.eligible_smartphone": [7, 7],
                       "sub.eligible_internet": [3, 4], "sub.eligible_services": [1, 1],
                       "sub.payments": [6, 6], "sub.paid_vnd": [3e6, 3e6]}}
    ts = table({"none": [0.0, 0.0], "lever": [2.0, 2.0]}, {"none": [0.0, 0.0], "lever": [3e6, 3e6]}, lever=lever)
    s = summarise(ts, reference="none", metrics=["share_internet"])
    assert row(s, "eligible_share.sub.smartphone")["median"] == pytest.approx(0.7)
    assert row(s, "eligible_share.sub.smartphone", "none")["median"] == pytest.approx(0.5)
    assert row(s, "additional_eligible.sub.smartphone")["median"] == pytest.approx(2.0)
    assert row(s, "payments.sub")["median"] == pytest.approx(6.0)
    assert row(s, "deadweight_payments.sub")["median"] == pytest.approx(4.0)  # 6 payments, 2 households added
    assert row(s, "deadweight_vnd.sub")["median"] == pytest.approx(2e6)  # 4 payments of 500,000 VND


def test_compare_gives_paired_comparisons_between_any_two_scenarios():
    ts = table({"none": [0.0] * 4, "low": [2.0, 3.0, 2.0, 3.0], "high": [5.0, 6.0, 5.0, 4.0]},
               {"none": [0.0] * 4, "low": [1e6] * 4, "high": [3e6] * 4})
    s = summarise(ts, reference="none", metrics=["share_internet"], compare=[["high", "low"]])
    r = row(s, "additional_households.internet", "high", reference="low")
    assert r["mean"] == pytest.approx((3 + 3 + 3 + 1) / 4)
    cost = row(s, "cost_per_additional_vnd.internet", "high", reference="low")
    assert cost["median"] == pytest.approx(2e6 / 2.5)
    assert len(s[(s.scenario == "high") & (s.reference == "none")]) > 0  # the reference comparisons stay


def test_summaries_per_design_setting():
    ts = table({"none": [0.0] * 4, "lever": [1.0, 2.0, 5.0, 6.0]}, {"none": [0.0] * 4, "lever": [1e6] * 4})
    ts["design_point"] = ts["replicate"] // 2  # replicates 0, 1 at design point 0; 2, 3 at design point 1
    ts["replicate"] = ts["replicate"] % 2
    design = pd.DataFrame({"design_point": [0, 1], "levers.sub.amount_vnd": [500_000.0, 1_000_000.0],
                           "smartphone.q": [0.3, 0.3]})
    s = summarise(ts, reference="none", metrics=["share_internet"], design=design, by=["levers.sub.amount_vnd"])
    assert list(s.columns[:3]) == ["scenario", "levers.sub.amount_vnd", "outcome"]
    add = s[(s.outcome == "additional_households.internet") & (s.scenario == "lever")]
    assert add["levers.sub.amount_vnd"].tolist() == [500_000.0, 1_000_000.0]
    assert add["mean"].tolist() == pytest.approx([1.5, 5.5])
    assert (add["runs"] == 2).all()


SWEEP = """
[experiment]
name = "sweep"
start = "2023-01"
months = 4
replications = 2
seed = 5

[population]
place = "thon_dong"

[levers.subsidy]
kind = "smartphone_subsidy"
enabled = false
eligibility = ["poor", "near_poor", "elderly_only"]
hamlets = ["Thôn Đông"]

[scenarios.none]
reference = true

[scenarios.subsidy]
levers.subsidy.enabled = true

[scenarios.double]
levers.subsidy.enabled = true
levers.subsidy.budget_vnd = 1e9

[uncertainties."levers.subsidy.amount_vnd"]
values = [500000.0, 1000000.0]

[design]
sampler = "full_factorial"

[outputs]
compare = [["double", "subsidy"]]
"""


@pytest.mark.integration
def test_a_two_value_sweep_gives_two_rows_per_outcome_with_its_design_value(tmp_path):
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SWEEP, encoding="utf-8")
    run_experiment(cfg, out=tmp_path / "out", workers=0, quiet=True)
    s = pd.read_csv(tmp_path / "out" / "summary.csv")
    col = "levers.subsidy.amount_vnd"
    assert col in s.columns
    for (scn, outcome, ref), g in s.groupby(["scenario", "outcome", s["reference"].fillna("")]):
        assert sorted(g[col]) == [500_000.0, 1_000_000.0], (scn, outcome, ref)
    assert {"eligible_share.subsidy.smartphone", "payments.subsidy"} <= set(s.outcome)
    assert {"additional_eligible.subsidy.smartphone", "deadweight_payments.subsidy"} <= set(s.outcome)
    assert ((s.scenario == "double") & (s.reference == "subsidy")).any()
    res = load_results(tmp_path / "out")
    assert res.run["plan"]["swept"] == [col]
    assert "deadweight_payments.subsidy" in res.outcomes
    assert res.outcomes["payments.subsidy"].label("vi")
    # the chart of outcomes against the swept value is planned and drawn
    view = open_view(tmp_path / "out")
    charts = [c for f in families(["run"]) if f.name == "sweep" for c in f.planned(view)]
    assert [c.name for c in charts] == ["sweep"] and col in charts[0].caption
    fig = charts[0].build()
    assert any(str(a.get_xlabel()) == col for a in fig.axes)


def test_compare_names_scenarios_of_the_config(tmp_path):
    from diffusion.experiments.config import load_config_text
    from diffusion.experiments.plan import make_plan

    text = SWEEP.replace('compare = [["double", "subsidy"]]', 'compare = [["double", "subsidyy"]]')
    with pytest.raises(ConfigError) as e:
        make_plan(load_config_text(text, source="sweep.toml"), check=False)
    assert "outputs.compare[0][1]" in str(e.value) and "did you mean 'subsidy'" in str(e.value)
