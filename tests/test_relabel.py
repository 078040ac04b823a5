"""Labels and descriptions are text only: a scenario relabelled after a run reruns nothing (the run's identity
leaves them out), and the report shows the new label; results stored under the whole config's hash resume."""

from __future__ import annotations

import json

import pytest

from diffusion import cli
from diffusion.analyses.experiment import run_experiment
from diffusion.experiments.config import load_config, load_config_text
from diffusion.presentation import report

SMALL = """
[experiment]
name = "relabel"
description = "Do teams help?"
start = "2021-01"
months = 6
replications = 2
seed = 3

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2021-03"

[scenarios.with_team]
label = "With a team"

[scenarios.without]
reference = true
levers.team.enabled = false

[outputs]
charts = ["dashboard"]
"""
RELABELLED = (SMALL.replace('label = "With a team"', 'label = "Team of eight"\nlabel_vi = "Tổ tám người"\n'
                            'description = "Eight members"\ndescription_vi = "Tám thành viên"')
              .replace('description = "Do teams help?"', 'description = "Do digital teams help?"'))


def test_the_run_identity_leaves_out_labels_and_descriptions_only():
    first, relabelled = load_config_text(SMALL), load_config_text(RELABELLED)
    assert first.identity == relabelled.identity and first.sha256 != relabelled.sha256
    for changed in (SMALL.replace("months = 6", "months = 7"), SMALL.replace("seed = 3", "seed = 4"),
                    SMALL.replace('start = "2021-03"', 'start = "2021-04"')):
        assert load_config_text(changed).identity != first.identity
    assert relabelled.data["scenarios"]["with_team"]["label"] == "Team of eight"  # the config itself keeps it


@pytest.mark.integration
def test_a_relabelled_scenario_reruns_nothing_and_the_report_shows_the_new_label(tmp_path):
    path, out = tmp_path / "relabel.toml", tmp_path / "out"
    path.write_text(SMALL, encoding="utf-8")
    first = run_experiment(path, out=out, workers=0, quiet=True)
    assert first.ok and first.skipped_tasks == 0
    parts = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}
    table = (out / "timeseries.parquet").read_bytes()

    path.write_text(RELABELLED, encoding="utf-8")
    assert cli.main(["run", str(path), "--out", str(out), "--workers", "0", "-q"]) == 0  # runs, then reports
    assert {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()} == parts  # nothing simulated
    assert (out / "timeseries.parquet").read_bytes() == table
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    run = manifest["analyses"]["run"]
    assert run["identity"] == load_config(path).identity and run["config_sha256"] == load_config(path).sha256
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Team of eight (`with_team`)" in md and "Eight members" in md and "Do digital teams help?" in md
    assert "With a team" not in md
    vi = report.write_report(out, quiet=True, language="vi").read_text(encoding="utf-8")
    assert "Tổ tám người (`with_team`)" in vi and "Tám thành viên" in vi

    # results of an earlier version, whose identity was the whole config's hash, resume too
    run["identity"] = load_config(path).sha256
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    again = run_experiment(path, out=out, workers=0, quiet=True)
    assert again.ok and again.skipped_tasks == run["plan"]["tasks"]
    stored = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["analyses"]["run"]["identity"]
    assert stored == load_config(path).identity
