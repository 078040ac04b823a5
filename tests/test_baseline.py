"""The pinned numeric baseline: a few runs' key outputs, stored in tests/baseline.json, must not change.

A refactor must give exactly the same numbers; a change that is meant to move results (new dynamics, new
random numbers, new defaults) regenerates the file on purpose and says so in its commit:

    DIFFUSION_UPDATE_BASELINE=1 .venv/bin/python -m pytest tests/test_baseline.py

Covered: a single run with levers (every monthly output at three months), a batch of runs that differ in
parameters and lever settings, an experiment's summary table, a sensitivity task and a calibration simulation.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffusion import AdoptionModel, DigitalTeams, ModelParams, PublicAccessPoint, SmartphoneSubsidy
from diffusion.analyses.calibration import Simulator, validate_calibration
from diffusion.analyses.experiment import run_experiment
from diffusion.analyses.sensitivity import make_design, validate_sensitivity
from diffusion.experiments.config import load_config_text
from diffusion.experiments.evaluation import evaluate_task
from diffusion.model.engine import BatchRun, run_batch
from diffusion.model.levers import make_lever

BASELINE = Path(__file__).with_name("baseline.json")
UPDATE = os.environ.get("DIFFUSION_UPDATE_BASELINE") == "1"

EXPERIMENT = """
[experiment]
name = "baseline_mix"
start = "2021-01"
months = 24
replications = 2
seed = 99

[population]
place = "commune"
scale = 0.5

[levers.team]
kind = "digital_teams"
start = "2021-06"
[levers.subsidy]
kind = "smartphone_subsidy"
start = "2022-01"
amount_vnd = 800000

[scenarios.both]
[scenarios.none]
reference = true
levers.team.enabled = false
levers.subsidy.enabled = false

[uncertainties."smartphone.q"]
values = [0.3, 0.6]
[design]
sampler = "full_factorial"
"""

SENSITIVITY = """
[experiment]
name = "baseline_sens"
start = "2021-01"
months = 18
seed = 5

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2021-03"

[sensitivity]
method = "sobol"
n = 4
replicates = 2
[sensitivity.factors.visits]
target = "levers.team.visits_per_member"
lower = 1
upper = 12
[sensitivity.factors.q]
target = "smartphone.q"
lower = 0.1
upper = 1.0
[sensitivity.outcomes.internet]
kind = "share_at"
metric = "share_internet"
[sensitivity.outcomes.cost]
kind = "cost_per_additional"
"""

CALIBRATION = """
[experiment]
name = "baseline_cal"
start = "2021-01"
months = 24
seed = 11

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2021-06"

[calibration]
[calibration.priors."smartphone.q"]
lower = 0.05
upper = 2.0
[calibration.priors.affordability_midpoint]
lower = 0.02
upper = 0.2
[calibration.setups.hamlet]
place = "thon_dong"
[[calibration.targets]]
setup = "hamlet"
indicator = "share_smartphone"
value = 0.9
date = "2022-06"
households = 275
[[calibration.targets]]
setup = "hamlet"
indicator = "share_internet"
value = ">95%"
date = "2022-12"
households = 275
"""


def _clean(x):
    """Floats as they are (JSON keeps them exactly), NaN as None."""
    if isinstance(x, float | np.floating):
        return None if math.isnan(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def single_run() -> dict:
    levers = [DigitalTeams(start="2021-04"), PublicAccessPoint(start="2021-04"),
              SmartphoneSubsidy(amount_vnd=600_000, start="2021-06")]
    m = AdoptionModel("thon_dong", levers=levers, start="2021-01", months=30, seed=3, agents=False)
    m.run()
    ts = m.timeseries()
    return {str(t): {k: _clean(v) for k, v in ts.iloc[t].items() if k != "date"} for t in (1, 12, 30)}


def batch_run() -> dict:
    runs = [BatchRun(seed, ModelParams().with_overrides({"smartphone.q": q, "rewiring": 0.1}),
                     [make_lever("digital_teams", "team", visits_per_member=v, start="2021-02")])
            for seed in (1, 2) for q, v in ((0.2, 4), (0.9, 12))]
    engine = run_batch("commune", 0.25, "2021-01", 20, runs)
    for _ in range(20):
        engine.step()
    keys = ("share_smartphone", "share_internet", "share_fibre", "share_services", "share_working_age_smartphone",
            "cum_cost_total", "share_internet_q1", "share_internet_age_65_plus", "team.visits")
    return {k: [_clean(v) for v in engine.outputs[k]] for k in keys}


def experiment_summary(tmp: Path) -> list:
    cfg = load_config_text(EXPERIMENT, source="baseline.toml", base_dir=tmp)
    out = run_experiment(cfg, out=tmp / "exp", workers=0, quiet=True)
    summary = pd.read_csv(out.out_dir / "summary.csv")
    return [[_clean(v) for v in row] for row in summary.itertuples(index=False)]


def sensitivity_rows() -> list:
    cfg = load_config_text(SENSITIVITY, source="sens.toml")
    md = make_design(cfg, validate_sensitivity(cfg))
    frame = pd.concat([evaluate_task(t).table for t in md.tasks], ignore_index=True)
    frame = frame.sort_values(["scenario", "replicate"], kind="stable")
    return [[_clean(v) for v in row] for row in frame.itertuples(index=False)]


def calibration_simulation() -> dict:
    spec = validate_calibration(load_config_text(CALIBRATION, source="cal.toml", build=False))
    sim = Simulator(spec.priors, spec.setups, spec.targets, spec.seed)
    out = {}
    for q, mid in ((0.4, 0.05), (1.5, 0.15)):
        theta = {spec.priors[0].safe: spec.priors[0].to_sampler(q), spec.priors[1].safe: spec.priors[1].to_sampler(mid)}
        out[f"{q},{mid}"] = {k: _clean(v) for k, v in sim(theta).items()}
    return out


def compute(tmp: Path) -> dict:
    return {
        "single_run": single_run(),
        "batch_run": batch_run(),
        "experiment_summary": experiment_summary(tmp),
        "sensitivity_rows": sensitivity_rows(),
        "calibration_simulation": calibration_simulation(),
    }


@pytest.mark.integration
def test_results_equal_the_pinned_baseline(tmp_path):
    got = json.loads(json.dumps(compute(tmp_path)))
    if UPDATE or not BASELINE.exists():
        BASELINE.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip("baseline written")
    want = json.loads(BASELINE.read_text(encoding="utf-8"))
    for part in want:
        assert got[part] == want[part], f"{part} changed: a change that moves results must update the baseline"
