"""Shared test set-up. Matplotlib renders with Agg (no display).

Fixtures for charts and reports: a small REAL result set (AdoptionModel runs stacked into the experiment layer's tidy
long format) and a helper that writes it as a minimal results folder.

Three scenarios x three replicates of the generic commune (8 hamlets, 2,192 households) over 60 months
from 2021-01, so the Resolution 09 target date (2025-12) and the provincial fibre observation (2026-01)
fall inside the run. Replicates share their seeds across scenarios (common random numbers), as in the
experiment layer: SeedSequence(root, spawn_key=(replicate, design_point)).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest

from diffusion import AdoptionModel, ConnectionSupport, DigitalTeams, SmartphoneSubsidy

ROOT_SEED = 20240601
PLACE = "commune"
START = "2021-01"
MONTHS = 60
REPLICATES = 3


def scenario_levers() -> dict[str, list]:
    """The test scenarios and their levers (fresh lever objects on every call)."""
    return {
        "reference": [],
        "digital_teams": [DigitalTeams(start="2021-07")],
        "teams_and_subsidies": [
            DigitalTeams(start="2021-07"),
            SmartphoneSubsidy(amount_vnd=500_000, start="2022-12"),
            ConnectionSupport(install_subsidy_vnd=300_000, eligibility=("poor", "near_poor")),
        ],
    }


def results_config(language: str = "en") -> dict:
    """The config (parsed, as the experiment layer stores it in the manifest) of the test scenarios."""
    return {
        "experiment": {"name": "commune_levers", "description": "Which mix of community digital teams and "
                       "subsidies brings the households of a commune online soonest, and at what cost?",
                       "start": START, "months": MONTHS, "replications": REPLICATES, "seed": ROOT_SEED},
        "population": {"place": PLACE, "scale": 1.0},
        "model": {"mechanism": "hazard"},
        "levers": {
            "digital_teams": {"kind": "digital_teams", "enabled": False, "start": "2021-07"},
            "smartphone_subsidy": {"kind": "smartphone_subsidy", "enabled": False, "amount_vnd": 500000,
                                   "start": "2022-12"},
            "connection_support": {"kind": "connection_support", "enabled": False, "install_subsidy_vnd": 300000,
                                   "eligibility": ["poor", "near_poor"]},
        },
        "scenarios": {
            "reference": {"description": "No programme", "reference": True},
            "digital_teams": {"description": "Teams only", "levers": {"digital_teams": {"enabled": True}}},
            "teams_and_subsidies": {"description": "Teams, phone subsidy and connection support", "levers": {
                "digital_teams": {"enabled": True}, "smartphone_subsidy": {"enabled": True},
                "connection_support": {"enabled": True}}},
        },
        "outputs": {"language": language, "charts": ["all"]},
    }


def build_results(replicates: int = REPLICATES, months: int = MONTHS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every scenario x replicate and stack timeseries() and by_hamlet() in the tidy long format."""
    frames, hamlet_frames = [], []
    for scenario in scenario_levers():
        for rep in range(replicates):
            seed = np.random.SeedSequence(ROOT_SEED, spawn_key=(rep, 0))
            model = AdoptionModel(PLACE, levers=scenario_levers()[scenario], start=START, months=months,
                                  seed=seed, agents=False)
            model.run()
            for table, out in ((model.timeseries(), frames), (model.by_hamlet(), hamlet_frames)):
                table.insert(0, "design_point", 0)
                table.insert(0, "replicate", rep)
                table.insert(0, "scenario", scenario)
                out.append(table)
    ts = pd.concat(frames, ignore_index=True)
    cost_cols = [c for c in ts.columns if c.startswith(("cost.", "cum_cost."))]
    ts[cost_cols] = ts[cost_cols].fillna(0.0)  # levers absent in a scenario cost 0, as in the experiment layer
    return ts, pd.concat(hamlet_frames, ignore_index=True)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(data: dict, prefix: str = "") -> str:
    """A config dict as TOML text (scalars and lists of a table first, then its sub-tables)."""
    scalars = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    out = ([f"[{prefix}]"] if prefix and (scalars or not tables) else []) + scalars
    if out:
        out.append("")
    for k, v in tables:
        out.append(toml_text(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(out)


def _record_files(folder: Path, manifest: dict) -> None:
    """List the run's files in the manifest (kind "run", with their size and SHA-256), as the store does."""
    from diffusion.experiments.store import file_digest

    manifest["files"] = {name: {"analysis": "run", **file_digest(folder / name)}
                         for name in ("timeseries.parquet", "summary.csv", "by_hamlet.parquet")
                         if (folder / name).exists()}


def write_results_folder(folder: Path, ts: pd.DataFrame, by_hamlet: pd.DataFrame | None = None,
                         config: dict | None = None) -> Path:
    """Write a minimal results folder as the experiment layer does: manifest.json (format 2, with the run's
    section), timeseries.parquet, summary.csv (``experiments.summary.summarise``) and, if given,
    by_hamlet.parquet."""
    from diffusion.experiments.store import FORMAT
    from diffusion.experiments.summary import summarise

    folder.mkdir(parents=True, exist_ok=True)
    config = config or results_config()
    scenarios = list(dict.fromkeys(ts["scenario"]))
    reference = "reference" if "reference" in scenarios else scenarios[0]
    run = {
        "identity": "0" * 64,
        "status": "done",
        "config_file": "experiments/commune_levers.toml",
        "config_sha256": "0" * 64,
        "config_text": toml_text(config),
        "config": config,
        "root_seed": config["experiment"]["seed"],
        "plan": {"scenarios": scenarios, "reference": reference, "replications": REPLICATES, "design_points": 1},
        "versions": {"python": "3.11", "diffusion": "0.1.0", "mesa": "3.3.1", "numpy": np.__version__},
        "git": {"commit": "1a30738" + "0" * 33, "dirty": True},
        "command": "diffusion run experiments/commune_levers.toml",
        "started": "2025-01-01T00:00:00+00:00",
        "finished": "2025-01-01T00:00:05+00:00",
        "runs_done": int(ts.groupby(["scenario", "replicate", "design_point"]).ngroups),
        "runs_failed": 0,
        "tasks_failed": [],
        "executor": "in-process",
    }
    ts.to_parquet(folder / "timeseries.parquet", index=False)
    summary = summarise(ts, reference=reference, scenarios=scenarios,
                        metrics=("share_smartphone", "share_fibre", "share_internet", "share_working_age_smartphone"))
    summary.to_csv(folder / "summary.csv", index=False)
    if by_hamlet is not None:
        by_hamlet.to_parquet(folder / "by_hamlet.parquet", index=False)
    manifest = {"format": FORMAT, "experiment": config["experiment"]["name"], "analyses": {"run": run}}
    _record_files(folder, manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def set_outputs(folder: Path, **outputs) -> None:
    """Change ``[outputs]`` of the config stored in a results folder (its text and its parsed form), e.g.
    ``set_outputs(folder, charts=["dashboard"], language="vi")``."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    run = manifest["analyses"]["run"]
    run["config"].setdefault("outputs", {}).update(outputs)
    run["config_text"] = toml_text(run["config"])
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="session")
def real_results() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(timeseries, by_hamlet) of the test scenarios, tidy long format."""
    return build_results()


@pytest.fixture(scope="session")
def results_ts(real_results) -> pd.DataFrame:
    """The tidy time series of the test scenarios."""
    return real_results[0]


@pytest.fixture(scope="session")
def results_folder(real_results, tmp_path_factory) -> Path:
    """A results folder of the test scenarios (English); do not modify it, copy it (``copy_results``)."""
    ts, bh = real_results
    return write_results_folder(tmp_path_factory.mktemp("results") / "commune_levers", ts, bh)


@pytest.fixture(scope="session")
def report_en(results_folder, tmp_path_factory) -> Path:
    """report.md of the English report of the test results (every chart), written once per session."""
    from diffusion.presentation.report import write_report

    folder = tmp_path_factory.mktemp("report") / "commune_levers"
    shutil.copytree(results_folder, folder)
    return write_report(folder, quiet=True)


@pytest.fixture
def copy_results(results_folder, tmp_path):
    """Factory: a private copy of the results folder, optionally with another config language."""

    def make(name: str = "copy", language: str | None = None) -> Path:
        dest = tmp_path / name
        shutil.copytree(results_folder, dest, ignore=shutil.ignore_patterns("charts", "report.*"))
        if language is not None:
            set_outputs(dest, language=language)
        return dest

    return make
