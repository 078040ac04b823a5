"""Places defined in a config ([places.<key>]), the start month's range, retired parameters in old configs and
the warnings of `diffusion check` about initial shares (the shares of January 2008, where every history starts)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from diffusion.analyses.calibration import validate_calibration
from diffusion.analyses.experiment import run_experiment
from diffusion.cli import main
from diffusion.experiments.config import config_warnings, load_config_text
from diffusion.experiments.evaluation import Recording, RunSpec, Setup, evaluate
from diffusion.foundation.errors import ConfigError, ParameterError
from diffusion.foundation.sources import make_place
from diffusion.model.params import RETIRED
from diffusion.model.world import HISTORY_START, last_start

PLACE = """
[places.ban_na]
name = "Bản Nà"
households = 30
hamlets = 1
income_multiplier = 0.6
area = "northern_midlands_mountains"
infrastructure_lag_years = 2
source = "commune report 2023 (assumption for the test), https://example.org/ban-na"
"""

BASE = """
[experiment]
name = "ban_na_test"
start = "2008-01"
months = 2
replications = 2
seed = 7

[population]
place = "ban_na"
""" + PLACE


def load(text: str, **kw):
    return load_config_text(text, source="exp.toml", **kw)


def error_of(text: str, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, **kw)
    return info.value


# ------------------------------------------------------------------ places of a config
def test_config_place_is_built_and_used_by_the_population():
    cfg = load(BASE)
    pl = cfg.place
    assert (pl.key, pl.name, pl.households, pl.hamlets, pl.communes) == ("ban_na", "Bản Nà", 30, 1, 1)
    assert (pl.income_multiplier, pl.area, pl.infrastructure_lag_years) == (0.6, "northern_midlands_mountains", 2.0)
    assert pl.source_url == "https://example.org/ban-na" and pl.basis.startswith("commune report 2023")
    assert cfg.run_place is pl and cfg.population.place == "ban_na"  # the key names it in results and manifests
    assert config_warnings(cfg) == []
    preset = load(BASE.replace('place = "ban_na"', 'place = "thon_dong"'))
    assert preset.run_place == "thon_dong" and preset.place.households == 275  # presets are as before


def test_config_place_runs_through_the_evaluation_service():
    cfg = load(BASE)
    setup = Setup(cfg.run_place, 1.0, cfg.experiment.start, cfg.experiment.months, cfg.experiment.seed)
    runs = [RunSpec("baseline", r, 0, {}, ()) for r in range(2)]
    table = evaluate(setup, runs, Recording(hamlets=False)).table
    assert set(table["replicate"]) == {0, 1} and (table["households"] == 30).all()
    assert list(table["date"].unique()) == ["2008-01", "2008-02", "2008-03"]


def test_run_experiment_of_a_config_place_records_its_key(tmp_path):
    outcome = run_experiment(load(BASE), out=tmp_path / "out", workers=0, quiet=True)
    assert outcome.ok and outcome.runs_done == 2
    ts = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    assert (ts["households"] == 30).all() and set(ts["replicate"]) == {0, 1}
    assert outcome.manifest["config"]["population"]["place"] == "ban_na"


@pytest.mark.integration
def test_diffusion_run_of_a_config_place_end_to_end(tmp_path, capsys):
    path = tmp_path / "ban_na.toml"
    path.write_text(BASE, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "Bản Nà at scale 1, 2008-01 + 2 months" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "0", "-q"]) == 0
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 2 * 3 and (ts["households"] == 30).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    text = json.dumps(manifest, ensure_ascii=False)
    assert '"place": "ban_na"' in text and "Place(" not in text  # the key, not the object


@pytest.mark.parametrize("old, new, path, allowed", [
    ("households = 30", "households = 0", "places.ban_na.households", "0 is not allowed: a whole number >= 1"),
    ("households = 30", "households = 30.5", "places.ban_na.households", "30.5 is not allowed: a whole number"),
    ("hamlets = 1", "hamlets = 2\ncommunes = 3", "places.ban_na.hamlets", "2 is not allowed: a whole number >= "
     "communes (3)"),
    ("hamlets = 1", "hamlets = 40", "places.ban_na.households", "30 is not allowed: a whole number >= hamlets (40)"),
    ("income_multiplier = 0.6", "income_multiplier = 0", "places.ban_na.income_multiplier",
     "is not allowed: a finite number > 0"),
    ("hamlets = 1", "hamlets = 1\nurban_share = 1.5", "places.ban_na.urban_share",
     "1.5 is not allowed: a share between 0 and 1"),
    ("infrastructure_lag_years = 2", "infrastructure_lag_years = -1", "places.ban_na.infrastructure_lag_years",
     "-1.0 is not allowed: a finite number >= 0"),
    ('area = "northern_midlands_mountains"', 'area = "mountains"', "places.ban_na.area",
     "'mountains' is not allowed: one of 'national', 'urban', 'rural'"),
    ('name = "Bản Nà"', 'name = " "', "places.ban_na.name", "the place's name as text"),
])
def test_bad_place_values_name_the_field_and_what_is_allowed(old, new, path, allowed):
    assert old in PLACE
    err = error_of(BASE.replace(old, new))
    assert err.paths == [path], str(err)
    assert str(err).startswith("exp.toml: ") and allowed in str(err), str(err)


def test_place_keys_and_references():
    err = error_of(BASE.replace("[places.ban_na]", "[places.thon_dong]").replace('place = "ban_na"',
                                                                                  'place = "thon_dong"'))
    assert err.paths == ["places.thon_dong"] and "key of a preset" in str(err) and "pick another key" in str(err)
    err = error_of(BASE.replace('place = "ban_na"', 'place = "ban_naa"'))
    assert err.paths == ["population.place"] and "did you mean 'ban_na'" in str(err)
    err = error_of(BASE.replace("[places.ban_na]", '[places."bản nà"]'))
    assert "places.\"bản nà\"" in err.paths and "letters, digits" in str(err)
    err = error_of(BASE.replace("income_multiplier = 0.6\n", ""))
    assert err.paths == ["places.ban_na.income_multiplier"] and "required" in str(err)
    err = error_of(BASE.replace("source = ", "sources = "))
    assert err.paths == ["places.ban_na.sources"] and "did you mean 'source'" in str(err)


def test_make_place_checks_its_numbers():
    pl = make_place("x", " Xã X ", households=100, hamlets=4, communes=2, income_multiplier=1.1)
    assert (pl.name, pl.area, pl.basis, pl.source_url) == ("Xã X", "rural", "", "")
    with pytest.raises(ParameterError) as info:
        make_place("x", "X", households=3, hamlets=4, income_multiplier=1.0)
    assert info.value.name == "households"


def test_scale_of_a_config_place_is_checked():
    err = error_of(BASE.replace('place = "ban_na"', 'place = "ban_na"\nscale = 0.01'))
    assert err.paths == ["population.scale"] and "at least 2 households" in str(err)


def test_calibration_setups_may_name_config_places():
    cal = """
[calibration]
population_size = 4
[calibration.priors."smartphone.q"]
lower = 0.1
upper = 0.5
[calibration.setups.village]
place = "ban_na"
start = "START"
months = 12
[[calibration.targets]]
setup = "village"
indicator = "share_smartphone"
value = 0.1
date = "2008-06"
[[calibration.targets]]
place = "ban_na"
indicator = "share_smartphone"
value = 0.1
date = "2008-02"
"""
    cfg = load(BASE + cal.replace("START", "2008-01"), build=False)
    spec = validate_calibration(cfg)
    assert spec.setups["village"].place == cfg.place and spec.setups["ban_na"].place == cfg.place
    bad = load(BASE + cal.replace("START", "2007-01"), build=False)
    with pytest.raises(ConfigError) as info:
        validate_calibration(bad)
    assert "calibration.setups.village.start" in info.value.paths
    assert f"a month from {HISTORY_START}" in str(info.value)
    other = load(BASE + cal.replace('place = "ban_na"\nstart', 'place = "ban_nu"\nstart'), build=False)
    with pytest.raises(ConfigError) as info:
        validate_calibration(other)
    assert "calibration.setups.village.place" in info.value.paths and "'ban_na'" in str(info.value)


# ------------------------------------------------------------------ start month
@pytest.mark.parametrize("month", ["2007-12", "1990-01", "2099-01"])
def test_start_outside_the_dated_tables_is_an_error_naming_the_field(month):
    err = error_of(BASE.replace('start = "2008-01"', f'start = "{month}"'), build=False)
    assert err.paths == ["experiment.start"]
    assert f"'{month}' is not allowed: a month from {HISTORY_START}" in str(err) and last_start() in str(err)


def test_start_at_the_edges_is_allowed():
    for month in (HISTORY_START, last_start()):
        assert load(BASE.replace('start = "2008-01"', f'start = "{month}"'), build=False).experiment.start == month


# ------------------------------------------------------------------ retired parameters
@pytest.mark.parametrize("extra, path", [
    ("[model]\nprice_decline_per_year = 0.05", "model.price_decline_per_year"),
    ("[scenarios.a]\nmodel.price_decline_per_year = 0.05", "scenarios.a.model.price_decline_per_year"),
    ("[uncertainties.price_decline_per_year]\nlower = 0.0\nupper = 0.1\n[design]\nsampler = \"lhs\"\nn = 2",
     "uncertainties.price_decline_per_year"),
    ("[calibration.priors.price_decline_per_year]\nlower = 0.0\nupper = 0.1",
     "calibration.priors.price_decline_per_year"),
    ("[calibration.setups.s]\nplace = \"thon_dong\"\nparams.price_decline_per_year = 0.05",
     "calibration.setups.s.params.price_decline_per_year"),
])
def test_a_retired_parameter_says_what_to_do_instead(extra, path):
    err = error_of(BASE + "\n" + extra + "\n", build=False)
    assert err.paths == [path], str(err)
    assert "'price_decline_per_year' is a retired parameter: " + RETIRED["price_decline_per_year"] in str(err)
    assert "unknown" not in str(err)


def test_an_unknown_key_elsewhere_is_still_unknown():
    err = error_of(BASE.replace("seed = 7", "seed = 7\nprice_decline_per_year = 0.05"), build=False)
    assert err.paths == ["experiment.price_decline_per_year"] and "unknown key" in str(err)


# ------------------------------------------------------------------ warnings of diffusion check
def test_initial_shares_with_a_later_start_are_warned_about():
    text = BASE.replace('start = "2008-01"', 'start = "2021-01"') + """
[model.products.fibre]
initial_share = 0.2
[scenarios.base]
[scenarios.high]
model.products.smartphone.initial_share = 0.3
"""
    warnings = config_warnings(load(text, build=False))
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("model.products.fibre.initial_share, scenarios.high.model.products.smartphone."
                                  "initial_share: initial shares are the shares of January 2008 (2008-01)")
    assert "the state at 2021-01 comes from the model's history" in warnings[0]
    assert warnings[1].startswith("scenarios.high.model.products.smartphone.initial_share = 0.3 is implausible "
                                  "for January 2008") and "nobody had a smartphone then" in warnings[1]
    # from 2008-01 the shares are those of the start: only the implausible one is left
    assert len(config_warnings(load(text.replace('start = "2021-01"', 'start = "2008-01"'), build=False))) == 1


def test_check_prints_the_warnings(tmp_path, capsys):
    text = (BASE.replace('start = "2008-01"', 'start = "2021-01"').replace('place = "ban_na"', 'place = "thon_dong"')
            .replace("source = ", "# source = ")
            + "\n[uncertainties.\"mobile_data.initial_share\"]\nlower = 0.0\nupper = 0.2\n[design]\n"
            "sampler = \"lhs\"\nn = 2\n")
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 0  # warnings are not errors
    out = capsys.readouterr().out
    assert ": ok. Experiment 'ban_na_test': Thôn Đông" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("warning: ")]
    assert len(lines) == 3, out
    assert lines[0].startswith("warning: places.ban_na.source is missing: say where the numbers of Bản Nà come from")
    assert "uncertainties.\"mobile_data.initial_share\": initial shares are the shares of January 2008" in lines[1]
    assert "= 0.2 is implausible for January 2008" in lines[2] and "3G came in August 2009" in lines[2]
