"""Config loading: every error path names the file, the field path and what is allowed; fuzzing the loader
never raises anything but ConfigError. Fast: no model runs (a few tiny models are built for lever checks)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffusion.experiments.config import load_config, load_config_data, load_config_text
from diffusion.experiments.plan import design_table, make_plan
from diffusion.experiments.reference import reference_markdown
from diffusion.experiments.schema import DEFAULT_SCENARIO
from diffusion.foundation.errors import ConfigError, DiffusionError
from diffusion.presentation.charts import chart_names

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))

BASE = """
[experiment]
name = "t"
start = "2021-01"
months = 24
replications = 2
seed = 1

[population]
place = "thon_dong"

[levers.team]
kind = "digital_teams"
start = "2021-06"
members_per_team = 8

[scenarios.with_team]

[scenarios.without]
reference = true
levers.team.enabled = false
"""


def load(text: str, tmp_path: Path | None = None, build: bool = True):
    return load_config_text(text, source="exp.toml", base_dir=tmp_path, build=build)


def error_of(text: str, tmp_path: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, tmp_path)
    err = info.value
    assert str(err).startswith("exp.toml"), str(err)  # every message names the file
    assert isinstance(err, DiffusionError)
    return err


# ------------------------------------------------------------------ the good cases
def test_base_config_loads():
    cfg = load(BASE)
    assert list(cfg.scenarios) == ["with_team", "without"]
    assert cfg.reference == "without"
    (lv,) = cfg.scenarios["without"].levers
    assert lv.settings == {"start": "2021-06", "members_per_team": 8, "enabled": False}
    assert cfg.scenarios["with_team"].levers[0].settings == {"start": "2021-06", "members_per_team": 8}
    assert len(cfg.sha256) == 64


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_are_valid(path):
    cfg = load_config(path, build=path.stem != "quang_ninh_2025")  # the province model takes a second
    plan = make_plan(cfg)
    assert plan.n_runs >= 1
    assert cfg.experiment.description
    text = path.read_text(encoding="utf-8")
    # every number in a shipped config says where it comes from (a comment on its line or just above)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        code = line.split("#", 1)[0]
        value = code.split("=", 1)[-1].strip()
        if "=" in code and any(ch.isdigit() for ch in value) and not value.startswith('"'):
            assert "#" in line or lines[i - 1].lstrip().startswith("#"), f"{path.name}:{i + 1} has no comment: {line}"


def test_expected_experiments_exist():
    assert {p.stem for p in EXPERIMENTS} >= {"thon_dong", "policy_mix", "quang_ninh_2025", "bass_limit"}
    mix = load_config(ROOT / "experiments" / "policy_mix.toml", build=False)
    assert mix.reference == "no_policy"
    assert set(mix.scenarios) == {"no_policy", "subsidy_only", "teams_only", "fibre_rollout_only", "all_together"}
    # 30+ runs a scenario, each with its own posterior draw of the calibrated parameters
    assert mix.experiment.replications * mix.design.n >= 30
    assert {u.name for u in mix.uncertainties} >= {"smartphone.q", "fibre.o", "affordability_midpoint"}
    bass = load_config(ROOT / "experiments" / "bass_limit.toml", build=False)
    assert bass.population.place == "well_mixed" and not bass.scenarios[DEFAULT_SCENARIO].levers
    assert bass.scenarios[DEFAULT_SCENARIO].params["network"] == "complete"


def test_comments_and_layout_do_not_change_the_hash():
    a = load(BASE, build=False)
    b = load("# a comment\n" + BASE.replace("months = 24", "months   =   24  # two years"), build=False)
    c = load(BASE.replace("months = 24", "months = 25"), build=False)
    assert a.sha256 == b.sha256 != c.sha256


def test_reserved_sections_are_accepted():
    cfg = load(BASE + "\n[calibration]\nmethod = 'abc'\n[sensitivity]\nN = 64\n", build=False)
    assert cfg.sections.calibration == {"method": "abc"}


def test_reference_page_is_generated_and_current():
    text = reference_markdown(charts=chart_names())
    for needle in ("## [experiment]", "`replications`", "### kind = \"digital_teams\"", "`visits_per_member`",
                   "## [uncertainties.<parameter>]", "`from`", "## [design]", "`language`", "`smartphone`",
                   "### Charts", "`adoption_internet`"):
        assert needle in text
    page = ROOT / "docs" / "config-reference.md"
    assert page.read_text(encoding="utf-8") == text, "regenerate: diffusion check --reference docs/config-reference.md"


def test_uncertainty_design_and_nested_names(tmp_path):
    text = BASE + """
[uncertainties."smartphone.q"]
lower = 0.2
upper = 0.5
[uncertainties.levers.team.visits_per_member]
values = [5, 10]
[uncertainties.rewiring]
dist = "normal"
mean = 0.05
sd = 0.02
lower = 0.01
upper = 0.2
[design]
sampler = "full_factorial"
levels = 2
"""
    cfg = load(text, tmp_path)
    assert [u.name for u in cfg.uncertainties] == ["smartphone.q", "levers.team.visits_per_member", "rewiring"]
    design = design_table(cfg)
    assert len(design) == 2 * 2 * 2
    assert set(design["levers.team.visits_per_member"]) == {5, 10}
    assert design["smartphone.q"].min() == pytest.approx(0.2) and design["smartphone.q"].max() == pytest.approx(0.5)
    lhs = load(text.replace('sampler = "full_factorial"\nlevels = 2', 'sampler = "lhs"\nn = 7'), tmp_path)
    d1, d2 = design_table(lhs), design_table(lhs)
    pd.testing.assert_frame_equal(d1, d2)  # seeded from the root seed
    assert len(d1) == 7 and d1["rewiring"].between(0.01, 0.2).all()
    # each LHS stratum of a uniform holds exactly one point
    strata = ((d1["smartphone.q"] - 0.2) / 0.3 * 7).astype(int)
    assert sorted(strata) == list(range(7))


def test_draws_file(tmp_path):
    pd.DataFrame({"smartphone.q": [0.3, 0.4, 0.5, 0.6], "rewiring": [0.02, 0.05, 0.1, 0.15]}).to_parquet(
        tmp_path / "posterior.parquet")
    text = BASE + """
[uncertainties."smartphone.q"]
from = "posterior.parquet"
[uncertainties.rewiring]
from = "posterior.parquet"
[design]
sampler = "lhs"
n = 6
"""
    cfg = load(text, tmp_path)
    design = design_table(cfg)
    pairs = set(zip(design["smartphone.q"], design["rewiring"]))
    assert pairs <= {(0.3, 0.02), (0.4, 0.05), (0.5, 0.1), (0.6, 0.15)}  # drawn together, row by row
    err = error_of(text.replace("posterior.parquet", "missing.parquet"), tmp_path)
    assert "uncertainties.\"smartphone.q\".from" in str(err) and "calibration" in str(err)


# ------------------------------------------------------------------ error paths
def test_unknown_key_with_hint():
    err = error_of(BASE.replace('name = "t"', 'name = "t"\nreplicatons = 3'))
    assert err.paths == ["experiment.replicatons"]
    assert "did you mean 'replications'?" in str(err) and "allowed here:" in str(err)


def test_unknown_table_with_hint():
    err = error_of(BASE + "\n[scenario.x]\n")
    assert "scenario: unknown key 'scenario' (did you mean 'scenarios'?)" in str(err)


def test_unknown_lever_setting_with_hint():
    err = error_of(BASE.replace("members_per_team = 8", "members_per_teem = 8"))
    assert err.paths == ["levers.team.members_per_teem"]
    assert "did you mean 'members_per_team'?" in str(err)


def test_unknown_model_parameter_with_hint():
    err = error_of(BASE + "\n[model]\nrewirng = 0.1\n")
    assert "model.rewirng: unknown key 'rewirng' (did you mean 'rewiring'?)" in str(err)
    err = error_of(BASE + "\n[model.products.smartphon]\nq = 0.4\n")
    assert "did you mean 'smartphone'?" in str(err)


def test_bad_type():
    err = error_of(BASE.replace("months = 24", 'months = "two years"'))
    assert "experiment.months: 'two years' is not allowed: a whole number" in str(err)
    err = error_of(BASE.replace("members_per_team = 8", "members_per_team = 7.5"))
    assert "levers.team.members_per_team: 7.5 is not allowed: a whole number" in str(err)
    err = error_of(BASE.replace("reference = true", "reference = 'yes'"))
    assert "scenarios.without.reference: 'yes' is not allowed: true or false" in str(err)


def test_missing_required():
    err = error_of(BASE.replace("seed = 1\n", ""))
    assert "experiment.seed: is required but missing" in str(err)


def test_bad_values_checked_by_the_real_objects():
    err = error_of(BASE + "\n[model]\nrewiring = 1.5\n")
    assert "model.rewiring: 1.5 is not allowed: a share between 0 and 1" in str(err)
    err = error_of(BASE + "\n[model]\nmean_degree = 5\n")
    assert "model.mean_degree" in str(err) and "even" in str(err)
    err = error_of(BASE.replace("[scenarios.with_team]", "[scenarios.with_team]\nlevers.team.skill_boost = 2.0"))
    assert "scenarios.with_team.levers.team.skill_boost: 2.0 is not allowed: a share between 0 and 1" in str(err)
    err = error_of(BASE.replace("[scenarios.with_team]", "[scenarios.with_team]\nmodel.products.smartphone.q = -1"))
    assert "scenarios.with_team.model.products.smartphone.q: -1" in str(err)


def test_lower_not_below_upper():
    err = error_of(BASE + "\n[uncertainties.rewiring]\nlower = 0.2\nupper = 0.1\n[design]\nsampler = 'lhs'\nn = 4\n")
    assert "uncertainties.rewiring.upper: 0.1 is not allowed: upper must be greater than lower (0.2)" in str(err)


def test_uncertainty_outside_the_parameter_range():
    err = error_of(BASE + "\n[uncertainties.rewiring]\nlower = 0.5\nupper = 1.5\n[design]\nsampler = 'lhs'\nn = 4\n")
    assert "uncertainties.rewiring" in str(err) and "share between 0 and 1" in str(err)


def test_unknown_uncertainty_parameter_with_hint():
    err = error_of(BASE + "\n[uncertainties.rewirin]\nlower = 0.01\nupper = 0.1\n[design]\nsampler = 'lhs'\nn = 4\n")
    assert "uncertainties.rewirin: unknown parameter 'rewirin' (did you mean 'rewiring'?)" in str(err)


def test_design_point_that_breaks_a_parameter():
    err = error_of(BASE + "\n[uncertainties.mean_degree]\nvalues = [4, 5]\n[design]\nsampler = 'full_factorial'\n")
    assert "uncertainties.mean_degree: value 5 for 'mean_degree' is not allowed: an even whole number" in str(err)
    # the bounds are fine, but a whole number drawn between them is odd: found when planning, before any run
    text = BASE + "\n[uncertainties.mean_degree]\nlower = 4\nupper = 8\n[design]\nsampler = 'lhs'\nn = 5\n"
    cfg = load(text, build=False)
    with pytest.raises(ConfigError) as info:
        make_plan(cfg)
    assert "uncertainties.mean_degree" in str(info.value) and "even" in str(info.value)


def test_uncertainties_need_a_design():
    err = error_of(BASE + "\n[uncertainties.rewiring]\nlower = 0.01\nupper = 0.1\n")
    assert "design: is required" in str(err)
    err = error_of(BASE + "\n[uncertainties.rewiring]\nlower = 0.01\nupper = 0.1\n[design]\nsampler = 'lhs'\n")
    assert "design.n: is required" in str(err)
    err = error_of(BASE + "\n[uncertainties.rewiring]\nlower = 0.01\nupper = 0.1\n[design]\nsampler = 'sobol'\n")
    assert "design.sampler: 'sobol' is not allowed: one of 'full_factorial', 'lhs'" in str(err)


@pytest.mark.parametrize("month", ["2021-13", "2021-1", "January 2021", "2021/01"])
def test_bad_date(month):
    err = error_of(BASE.replace('start = "2021-01"', f'start = "{month}"'))
    assert err.paths == ["experiment.start"] and '"YYYY-MM"' in str(err)


def test_date_outside_the_window():
    err = error_of(BASE.replace('start = "2021-06"', 'start = "2019-06"'))
    assert "levers.team.start: '2019-06' is not allowed: a month within the simulated window" in str(err)


def test_toml_date_instead_of_text():
    err = error_of(BASE.replace('start = "2021-01"', "start = 2021-01-01"))
    assert "experiment.start" in str(err) and "text in quotes" in str(err)


def test_unknown_lever_kind():
    err = error_of(BASE.replace('kind = "digital_teams"', 'kind = "digital_team"'))
    assert "levers.team.kind: 'digital_team' is not allowed: one of" in str(err)
    assert "did you mean 'digital_teams'?" in str(err)
    err = error_of(BASE.replace('kind = "digital_teams"\n', ""))
    assert "levers.team.kind: is required but missing" in str(err)


def test_unknown_lever_in_a_scenario():
    err = error_of(BASE.replace("levers.team.enabled = false", "levers.teem.enabled = false"))
    assert "scenarios.without.levers.teem: unknown lever 'teem' (did you mean 'team'?)" in str(err)


def test_unknown_place():
    err = error_of(BASE.replace('place = "thon_dong"', 'place = "thon_dongg"'))
    assert "population.place: 'thon_dongg' is not allowed: one of" in str(err)
    assert "did you mean 'thon_dong'?" in str(err)


def test_unknown_hamlet():
    err = error_of(BASE.replace("members_per_team = 8", "hamlets = ['Thôn Tây']"))
    assert "levers.team.hamlets" in str(err) and "Thôn Đông" in str(err)


def test_two_references():
    err = error_of(BASE.replace("[scenarios.with_team]", "[scenarios.with_team]\nreference = true"))
    assert "scenarios.without.reference" in str(err) and "at most one scenario is the reference" in str(err)


def test_invalid_toml():
    err = error_of(BASE.replace('name = "t"', 'name = "t'))
    assert "is not valid TOML" in str(err) and "line" in str(err)


def test_not_utf8():
    with pytest.raises(ConfigError) as info:
        load_config_text(BASE.replace("thon_dong", "thôn").encode("latin-1"), source="exp.toml")
    assert "is not UTF-8 text" in str(info.value) and "line" in str(info.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml: cannot be read" in str(info.value)


def test_several_problems_at_once():
    text = BASE.replace("months = 24", "months = 0").replace('place = "thon_dong"', 'place = "thon_dong"\nsize = 3')
    err = error_of(text)
    assert set(err.paths) == {"experiment.months", "population.size"}
    assert "2 problems" in str(err)


# ------------------------------------------------------------------ fuzzing
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_give_only_config_errors(data):
    try:
        load_config_text(data, source="fuzz.toml")
    except ConfigError:
        pass


KEYS = ["experiment", "population", "model", "levers", "scenarios", "uncertainties", "design", "outputs", "name",
        "seed", "months", "start", "replications", "place", "scale", "kind", "enabled", "reference", "lower",
        "upper", "dist", "values", "from", "sampler", "n", "levels", "team", "rewiring", "smartphone.q", "products",
        "smartphone", "q", "hamlets", "fibre", "language", "charts", "metrics", "runs_per_task", "mean", "sd"]
scalars = st.one_of(
    st.integers(-3, 100), st.floats(allow_nan=True, allow_infinity=True, width=32), st.booleans(),
    st.sampled_from(["2021-01", "2030-12", "thon_dong", "well_mixed", "digital_teams", "public_access",
                     "infrastructure", "uniform", "lhs", "full_factorial", "vi", "x", "", "Thôn Đông"]),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)
VALID = tomllib.loads(BASE + """
[uncertainties.rewiring]
lower = 0.01
upper = 0.2
[uncertainties."levers.team.visits_per_member"]
values = [5, 10]
[design]
sampler = "lhs"
n = 3
[outputs]
language = "vi"
metrics = ["share_internet"]
""")


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


ALL_PATHS = list(_paths(VALID))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_random_toml_shaped_dicts_give_only_config_errors(data):
    try:
        load_config_data(data, source="fuzz.toml")
    except ConfigError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), values, st.sampled_from(KEYS)), min_size=1, max_size=3))
def test_mutated_valid_configs_give_only_config_errors(mutations):
    data = copy.deepcopy(VALID)
    for path, value, newkey in mutations:
        node = data
        for k in path[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                break
        else:
            if isinstance(value, dict) and len(value) == 0:
                node.pop(path[-1], None)  # an empty table stands for "delete the key"
            elif isinstance(value, str) and value == "x":
                node[newkey] = node.pop(path[-1], None)  # rename the key
            else:
                node[path[-1]] = value
    try:
        make_plan(load_config_data(data, source="fuzz.toml"))
    except ConfigError:
        pass


def test_every_column_of_a_draws_file_is_one_table(tmp_path):
    """[uncertainties."*"] stands for every column of its draws file (a CSV with '#' comments or Parquet): the
    shipped projections draw all calibrated parameters together this way; a bad table says what it needs."""
    draws = tmp_path / "posterior.csv"
    draws.write_text("# draws of a calibration\nsmartphone.q,affordability_midpoint\n0.5,0.02\n0.9,0.03\n1.2,0.04\n",
                     encoding="utf-8")
    text = BASE + f'\n[uncertainties."*"]\ndist = "empirical"\nfrom = "{draws}"\n\n[design]\nsampler = "lhs"\nn = 3\n'
    cfg = load(text, tmp_path, build=False)
    assert sorted(u.name for u in cfg.uncertainties) == ["affordability_midpoint", "smartphone.q"]
    design = design_table(cfg)
    rows = {(round(a, 3), round(b, 3)) for a, b in zip(design["smartphone.q"], design["affordability_midpoint"])}
    assert rows <= {(0.5, 0.02), (0.9, 0.03), (1.2, 0.04)}  # drawn together, row by row
    with pytest.raises(ConfigError, match=r'uncertainties\."\*"'):
        load(BASE + '\n[uncertainties."*"]\ndist = "uniform"\nlower = 0\nupper = 1\n[design]\nsampler = "lhs"\nn = 3\n',
             tmp_path, build=False)
