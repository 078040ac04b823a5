"""Calibration ([calibration] table, ABC-SMC with pyABC): config errors, the distance, resume, recovery."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from diffusion.analyses.calibration import (
    BinomialDistance,
    Simulator,
    TargetSpec,
    calibrate,
    parse_value,
    validate_calibration,
)
from diffusion.experiments.config import load_config_text
from diffusion.experiments.results import load_results
from diffusion.foundation.errors import ConfigError
from diffusion.presentation.charts import render_charts

BASE = """
[experiment]
name = "cal_test"
start = "2021-01"
months = 24
seed = 11

[population]
place = "thon_dong"
"""

SMALL = BASE + """
[calibration]
population_size = {pop}
generations = {gens}
min_epsilon = 0.0
noise_floor = 0.01
predictive_draws = 4
posterior_draws = 50

[calibration.priors."smartphone.q"]
lower = 0.05
upper = 2.0

[calibration.priors."fibre.q"]
lower = 0.05
upper = 3.0

[calibration.setups.hamlet]
place = "thon_dong"
months = {months}

{targets}
"""


def _target(indicator, value, date, n=275, setup="hamlet"):
    v = f'"{value}"' if isinstance(value, str) else repr(value)
    return (f'[[calibration.targets]]\nsetup = "{setup}"\nindicator = "{indicator}"\nvalue = {v}\n'
            f'date = "{date}"\nhouseholds = {n}\n')


def _cfg(text, tmp_path=None):
    return load_config_text(text, source="cal.toml", base_dir=tmp_path, build=False)


def _small(pop=20, gens=2, months=24, targets=None):
    targets = targets or (_target("share_smartphone", 0.9, "2022-06") + _target("share_fibre", 0.8, "2022-06"))
    return SMALL.format(pop=pop, gens=gens, months=months, targets=targets)


# ------------------------------------------------------------------ values and the distance
def test_parse_value_forms():
    assert parse_value(0.5) == ("=", 0.5)
    assert parse_value("95%") == ("=", 0.95)
    assert parse_value(">95%") == (">", 0.95)
    assert parse_value("> 0.95") == (">", 0.95)
    assert parse_value("<=10%") == ("<=", 0.10)
    assert parse_value("~98%") == ("=", 0.98)
    for bad in ("95", "lots", 1.5, "-3%"):
        with pytest.raises(ValueError):
            parse_value(bad)


def _t(op, value, n=None, role="fit", key="a"):
    return TargetSpec(key, "s", "share_internet", op, value, "2023-06", 0, n, "", "", role)


def test_bound_is_zero_inside_and_scaled_outside():
    t = _t(">", 0.95, n=275)
    d = BinomialDistance([t], noise_floor=0.02)
    sd = math.sqrt(0.95 * 0.05 / 275 + 0.02**2)
    assert d.scale(t) == pytest.approx(sd)
    for inside in (0.95, 0.96, 1.0):
        assert d({"a": inside}) == 0.0
    assert d({"a": 0.93}) == pytest.approx(0.02 / sd)
    # an upper bound mirrors it
    u = BinomialDistance([_t("<", 0.10)], noise_floor=0.02)
    assert u({"a": 0.05}) == 0.0 and u({"a": 0.14}) == pytest.approx(0.04 / 0.02)


def test_point_targets_each_on_their_own_scale():
    small = _t("=", 0.5, n=20, key="a")      # a noisy small survey
    big = _t("=", 0.5, n=400_000, key="b")   # a province: the noise floor dominates
    d = BinomialDistance([small, big], noise_floor=0.01)
    assert d.scale(small) > 10 * d.scale(big)
    # the same gap of 5 points weighs much less on the small survey
    za, zb = d.z(small, 0.55), d.z(big, 0.55)
    assert za < zb / 5
    assert d({"a": 0.55, "b": 0.5}) == pytest.approx(math.sqrt(za**2 / 2))
    # check-only targets stay out of the distance; missing or NaN simulations are infinitely far
    chk = BinomialDistance([small, _t("=", 0.9, role="check", key="c")], noise_floor=0.01)
    assert chk({"a": 0.5, "c": 0.1}) == 0.0
    assert chk({"a": float("nan")}) == float("inf")


# ------------------------------------------------------------------ config errors, before any simulation
@pytest.fixture
def no_simulation(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a simulation started")

    monkeypatch.setattr("diffusion.model.adoption.AdoptionModel.run", boom)
    monkeypatch.setattr("diffusion.model.adoption.AdoptionModel.step", boom)
    monkeypatch.setattr(Simulator, "__call__", boom)


@pytest.mark.parametrize("edit, path, words", [
    (lambda s: s.replace("lower = 0.05\nupper = 2.0", "lower = 2.0\nupper = 0.5"),
     'calibration.priors."smartphone.q".upper', "greater than lower"),
    (lambda s: s.replace('[calibration.priors."fibre.q"]', '[calibration.priors."fibre.qq"]'),
     'calibration.priors."fibre.qq"', "did you mean 'fibre.q'"),
    (lambda s: s.replace('[calibration.priors."fibre.q"]\n', '[calibration.priors."fibre.q"]\ndist = "loguniform"\n')
     .replace("lower = 0.05\nupper = 3.0", "lower = 0.0\nupper = 3.0"),
     'calibration.priors."fibre.q".lower', "lower > 0"),
    (lambda s: s.replace('place = "thon_dong"\nmonths', 'place = "thon_dongg"\nmonths'),
     "calibration.setups.hamlet.place", "did you mean 'thon_dong'"),
    (lambda s: s.replace('indicator = "share_fibre"', 'indicator = "share_fiber"'),
     "calibration.targets[1].indicator", "did you mean 'share_fibre'"),
    (lambda s: s.replace('date = "2022-06"', 'date = "2024-06"', 1),
     "calibration.targets[0].date", "runs 2021-01 to 2023-01"),
    (lambda s: s.replace('date = "2022-06"', 'date = "2019-06"', 1),
     "calibration.targets[0].date", "2019-06"),
    (lambda s: s.replace('setup = "hamlet"', 'setup = "hamlett"', 1),
     "calibration.targets[0].setup", "did you mean 'hamlet'"),
    (lambda s: s.replace("population_size", "populaton_size"),
     "calibration.populaton_size", "did you mean 'population_size'"),
    (lambda s: s.replace('value = 0.9', 'value = "90"'),
     "calibration.targets[0].value", "percentages with '%'"),
    (lambda s: s.replace("upper = 3.0", "upper = 3.0\nsd = 1.0"),
     'calibration.priors."fibre.q".sd', "not used"),
    (lambda s: s.replace('[calibration.priors."fibre.q"]\nlower = 0.05',
                         '[calibration.priors.rewiring]\nlower = 0.05').replace("upper = 3.0", "upper = 1.5"),
     "calibration.priors.rewiring", "not allowed for 'rewiring'"),
])
def test_bad_calibration_configs_fail_before_simulating(edit, path, words, no_simulation, tmp_path):
    text = edit(_small(months=24))
    with pytest.raises(ConfigError) as ei:
        calibrate(_cfg(text, tmp_path), tmp_path / "out", workers=0, quiet=True)
    assert path in ei.value.paths, str(ei.value)
    assert words in str(ei.value), str(ei.value)
    assert "cal.toml" in str(ei.value)
    assert not (tmp_path / "out" / "calibration" / "calibration.db").exists()


def test_missing_calibration_table_and_place_targets():
    with pytest.raises(ConfigError, match=r"calibration: is required"):
        validate_calibration(_cfg(BASE))
    text = _small(targets='[[calibration.targets]]\nplace = "dam_buonn"\nindicator = "share_internet"\n'
                  'value = 0.9\ndate = "2022-01"\n')
    with pytest.raises(ConfigError, match=r"did you mean 'dam_buon'"):
        validate_calibration(_cfg(text))
    ok = _small(targets='[[calibration.targets]]\nplace = "dam_buon"\nindicator = "share_internet"\n'
                'value = 0.9\ndate = "2022-01"\n')
    spec = validate_calibration(_cfg(ok))
    assert spec.setups["dam_buon"].place == "dam_buon" and spec.setups["dam_buon"].months == 24


def test_nested_prior_tables_are_accepted():
    text = _small().replace('[calibration.priors."fibre.q"]', "[calibration.priors.fibre.q]")
    spec = validate_calibration(_cfg(text))
    assert [p.key for p in spec.priors] == ["smartphone.q", "fibre.q"]


# ------------------------------------------------------------------ resume
@pytest.mark.integration
def test_interrupted_calibration_resumes_from_its_database(tmp_path):
    text = _small(pop=15, gens=3)
    folder = tmp_path / "cal"
    out = calibrate(_cfg(text, tmp_path), folder, workers=0, quiet=True, stop_after=1)
    assert out == folder / "calibration"
    assert (out / "calibration.db").exists()
    assert not (out / "posterior.parquet").exists()  # interrupted: no outputs yet
    state = load_results(folder).section("calibration")

    import pyabc

    h = pyabc.History(f"sqlite:///{out / 'calibration.db'}", _id=state["run_id"])
    assert h.max_t == 0
    eps0 = float(h.get_all_populations().query("t == 0")["epsilon"].iloc[0])

    calibrate(_cfg(text, tmp_path), folder, workers=0, quiet=True)
    gens = pd.read_csv(out / "generations.csv")
    assert list(gens["generation"]) == [0, 1, 2]
    assert gens["epsilon"].iloc[0] == pytest.approx(eps0, rel=1e-5)  # not redone (the csv keeps 6 digits)
    assert load_results(folder).section("calibration")["run_id"] == state["run_id"]
    render_charts(folder, kinds=("calibration",))  # the presentation layer draws them from the tables
    for f in ("calibration/posterior.parquet", "calibration/posterior_draws.parquet",
              "calibration/posterior_summary.csv", "calibration/predictive.parquet", "calibration/observed.csv",
              "calibration/targets_fit.csv", "manifest.json", "charts/pair_plot.png",
              "charts/calibration_targets.svg", "charts/posterior.pdf", "calibration/posterior_uncertainties.toml"):
        assert (folder / f).exists(), f
    post = pd.read_parquet(out / "posterior.parquet")
    assert set(post.columns) == {"smartphone.q", "fibre.q", "weight"} and len(post) == 15
    assert (gens["ess"] > 0).all() and ((gens["acceptance_rate"] > 0) & (gens["acceptance_rate"] <= 1)).all()

    # a rerun asks for nothing new; other priors need --fresh
    calibrate(_cfg(text, tmp_path), folder, workers=0, quiet=True)
    assert len(pd.read_csv(out / "generations.csv")) == 3
    other = text.replace("upper = 2.0", "upper = 1.9")
    with pytest.raises(ConfigError, match="--fresh"):
        calibrate(_cfg(other, tmp_path), folder, workers=0, quiet=True)

    # the posterior draws file is what [uncertainties] from = "..." reads
    exp = BASE + (f'\n[uncertainties."smartphone.q"]\ndist = "empirical"\nfrom = "{out / "posterior_draws.parquet"}"\n'
                  f'[uncertainties."fibre.q"]\ndist = "empirical"\nfrom = "{out / "posterior_draws.parquet"}"\n'
                  '[design]\nsampler = "lhs"\nn = 5\n')
    cfg = load_config_text(exp, source="proj.toml", base_dir=tmp_path, build=False)
    assert [u.column for u in cfg.uncertainties] == ["smartphone.q", "fibre.q"]


# ------------------------------------------------------------------ parameter recovery
@pytest.mark.integration
def test_parameter_recovery_from_synthetic_dated_series(tmp_path):
    """Series over years from a history run (2008 on) at known values: the posterior covers them and is
    narrower than the prior."""
    true = {"smartphone.q": 0.5, "mobile_data.q": 1.5}
    dates = ["2012-06", "2014-06", "2016-06", "2018-06", "2020-06"]

    def text(values: dict[str, list[float]], pop: int, gens: int) -> str:
        series = "".join(
            f'[[calibration.targets]]\nsetup = "hamlet"\nindicator = "{ind}"\nhouseholds = 275\nseries = ['
            + ", ".join(f'["{d}", {v!r}]' for d, v in zip(dates, vals)) + "]\n"
            for ind, vals in values.items())
        return _small(pop=pop, gens=gens, months=150, targets=series).replace(
            'place = "thon_dong"\nmonths = 150', 'place = "thon_dong"\nstart = "2008-01"\nmonths = 150').replace(
            '"fibre.q"]', '"mobile_data.q"]')

    probe = validate_calibration(_cfg(text({"share_smartphone": [0.5] * 5, "share_mobile_data": [0.5] * 5}, 20, 1)))
    assert len(probe.targets) == 10 and {t.date for t in probe.targets} == set(dates)
    # synthetic observations: one run of the model at the true values, with a seed the calibration never uses
    sim = Simulator(probe.priors, probe.setups, probe.targets, seed=987654)
    obs = sim({p.safe: p.to_sampler(true[p.key]) for p in probe.priors})
    values = {ind: [round(obs[t.key], 4) for t in probe.targets if t.indicator == ind]
              for ind in ("share_smartphone", "share_mobile_data")}
    out = calibrate(_cfg(text(values, 60, 4), tmp_path), tmp_path / "rec", workers=0, quiet=True)
    summary = pd.read_csv(out / "posterior_summary.csv").set_index("parameter")
    for k, v in true.items():
        lo, hi = summary.loc[k, "ci90_lower"], summary.loc[k, "ci90_upper"]
        assert lo <= v <= hi, (k, v, lo, hi)
        # and the data say something: the interval is narrower than the prior
        assert summary.loc[k, "ci90_share_of_prior"] < 0.9, summary
    fit = pd.read_csv(out / "targets_fit.csv")
    assert len(fit) == len(dates) * 2


@pytest.mark.integration
def test_batched_calibration_gives_the_same_posterior_with_any_number_of_workers(tmp_path):
    cfg = _cfg(_small(pop=12, gens=2), tmp_path)
    one = calibrate(cfg, tmp_path / "w0", workers=0, quiet=True)
    two = calibrate(cfg, tmp_path / "w2", workers=2, quiet=True)
    pd.testing.assert_frame_equal(pd.read_parquet(one / "posterior.parquet"),
                                  pd.read_parquet(two / "posterior.parquet"))


# ------------------------------------------------------------------ executors and the command line
@pytest.mark.integration
def test_calibration_on_a_process_pool_and_the_command_line(tmp_path):
    from diffusion.cli import main

    cfg_file = tmp_path / "cal.toml"
    cfg_file.write_text(_small(pop=8, gens=1), encoding="utf-8")
    out = tmp_path / "pool"
    assert main(["calibrate", str(cfg_file), "--out", str(out), "--workers", "2", "-q"]) == 0
    gens = pd.read_csv(out / "calibration" / "generations.csv")
    assert list(gens["generation"]) == [0] and gens["particles"].iloc[0] == 8
    section = load_results(out).section("calibration")
    assert section["workers"] == 2 and section["simulations"] >= 8
    assert (out / "charts" / "posterior.png").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text(_small().replace("upper = 2.0", "upper = 0.01"), encoding="utf-8")
    assert main(["calibrate", str(bad), "--out", str(tmp_path / "bad"), "-q"]) == 2
