"""Charts: every chart renders from a small real result set in both languages with no missing glyph;
files are byte-identical on reruns; bands contain the median; observed points and targets sit where they
should (checked on the artists' data, not on pixels)."""

from __future__ import annotations

import io
import json
import string
import warnings

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from conftest import set_outputs, write_results_folder
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D

from diffusion.foundation import sources
from diffusion.foundation.strings import LANGUAGES, STRINGS, fmt_month, fmt_number, fmt_pct, tr
from diffusion.presentation.charts import (
    additional_adopters_chart,
    adoption_by_group,
    adoption_by_hamlet,
    adoption_over_time,
    calibration_fit,
    chart_names,
    check_outputs,
    convergence_chart,
    cost_effectiveness_chart,
    morris_chart,
    observed_points,
    open_view,
    pair_plot,
    planned_charts,
    posterior_chart,
    quantile_bands,
    render_charts,
    resolution09_dashboard,
    scenario_comparison,
    sobol_chart,
    spending_over_time,
    style,
    targets_chart,
)

# ------------------------------------------------------------------------------------- analysis tables
FACTORS = ("q_smartphone", "o_services", "visits_per_member", "subsidy_vnd")


def sobol_table() -> pd.DataFrame:
    """Sobol indices in the documented format (outcome, factor, S1, S1_conf, ST, ST_conf)."""
    rows = []
    for out, s1 in (("share_internet", (0.45, 0.2, 0.1, 0.02)), ("month_reached", (0.3, 0.3, 0.05, 0.0))):
        for f, v in zip(FACTORS, s1):
            rows.append({"outcome": out, "factor": f, "S1": v, "S1_conf": 0.05, "ST": v + 0.08, "ST_conf": 0.06})
    return pd.DataFrame(rows)


def morris_table() -> pd.DataFrame:
    """Morris screening in the documented format (outcome, factor, mu_star, mu_star_conf, sigma)."""
    rows = [{"outcome": "share_internet", "factor": f, "mu_star": m, "mu_star_conf": m / 5, "sigma": m * r}
            for f, m, r in zip(FACTORS, (0.12, 0.05, 0.02, 0.004), (0.3, 1.2, 0.5, 0.9))]
    return pd.DataFrame(rows)


def convergence_table() -> pd.DataFrame:
    """Tidy Sobol indices from half of the design and from all of it (outcome, factor, index, value, conf, n)."""
    s = sobol_table()
    rows = []
    for n, shift in ((64, 0.04), (128, 0.0)):
        for r in s.itertuples(index=False):
            rows += [{"outcome": r.outcome, "factor": r.factor, "index": "S1", "value": r.S1 + shift,
                      "conf": r.S1_conf * 1.4 if n == 64 else r.S1_conf, "n": n},
                     {"outcome": r.outcome, "factor": r.factor, "index": "ST", "value": r.ST + shift,
                      "conf": r.ST_conf * 1.4 if n == 64 else r.ST_conf, "n": n}]
    return pd.DataFrame(rows)


def posterior_table() -> pd.DataFrame:
    """Weighted ABC particles: one column per parameter and a weight column."""
    rng = np.random.default_rng(3)
    n = 300
    return pd.DataFrame({"smartphone.q": rng.normal(0.4, 0.05, n), "services.o": rng.gamma(4, 0.25, n),
                         "weight": rng.uniform(0.5, 1.5, n)})


def predictive_and_observed(ts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posterior-predictive draws (the reference runs serve as draws) and observations with n."""
    ref = ts[ts["scenario"] == "reference"]
    pred = pd.concat([ref[["replicate", "date"]].assign(metric=m, value=ref[m].to_numpy()).rename(
        columns={"replicate": "draw"}) for m in ("share_internet", "share_fibre")], ignore_index=True)
    obs = pd.DataFrame({"metric": ["share_internet", "share_fibre"], "date": ["2023-07", "2026-01"],
                        "value": [0.95, 0.98], "n": [275, np.nan],
                        "source": [sources.observations()[1]["source_url"], sources.observations()[8]["source_url"]]})
    return pred, obs


def targets_table(obs: pd.DataFrame) -> pd.DataFrame:
    """The calibration's observed.csv: one row per target, with its key, setup, bound and role."""
    return obs.assign(target=["internet_2023", "fibre_2026"], setup="thon_dong", op=[">", "="],
                      role=["fit", "check"])


def all_charts(ts: pd.DataFrame, bh: pd.DataFrame, lang: str) -> dict:
    """Every chart function, built from the real result set (and the documented analysis tables)."""
    pred, obs = predictive_and_observed(ts)
    return {
        "adoption": lambda: adoption_over_time(ts, "share_fibre", reference="reference",
                                               observed=observed_points("commune"), place="Thôn Đông", lang=lang),
        "adoption_people": lambda: adoption_over_time(ts, "share_working_age_smartphone", lang=lang),
        "scenarios": lambda: scenario_comparison(ts, reference="reference", place="Quảng Ninh", lang=lang),
        "additional": lambda: additional_adopters_chart(ts, "reference", lang=lang),
        "cost_effectiveness": lambda: cost_effectiveness_chart(ts, "reference", lang=lang),
        "spending": lambda: spending_over_time(ts, lang=lang),
        "by_income": lambda: adoption_by_group(ts, "income", lang=lang),
        "by_age": lambda: adoption_by_group(ts, "age", lang=lang),
        "by_hamlet": lambda: adoption_by_hamlet(bh, "internet", lang=lang),
        "dashboard": lambda: resolution09_dashboard(ts, reference="reference", lang=lang),
        "sobol": lambda: sobol_chart(sobol_table(), lang=lang),
        "morris": lambda: morris_chart(morris_table(), lang=lang),
        "calibration_fit": lambda: calibration_fit(pred, obs, lang=lang),
        "calibration_fit_setups": lambda: calibration_fit(
            pred.assign(setup="thon_dong"), obs.assign(setup="thon_dong", op=[">", "="]), lang=lang),
        "posterior": lambda: posterior_chart(posterior_table(), {"smartphone.q": (0.2, 0.6)}, lang=lang),
        "convergence": lambda: convergence_chart(convergence_table(), lang=lang),
        "calibration_targets": lambda: targets_chart(pred.assign(setup="thon_dong"), targets_table(obs), lang=lang),
        "pair_plot": lambda: pair_plot(posterior_table(), {"smartphone.q": (0.2, 0.6)}, lang=lang),
    }


def draw_strict(fig) -> None:
    """Draw the figure with every warning (missing glyphs included) raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png", dpi=40)


# --------------------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_chart_renders_without_missing_glyphs(real_results, lang):
    ts, bh = real_results
    for name, build in all_charts(ts, bh, lang).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = build()
        draw_strict(fig)
        assert fig.axes, name
        texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
        if lang == "vi":
            assert any(ch in texts for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"), name


def test_missing_glyph_would_fail():
    """The strict draw really turns a missing glyph into an error (a character DejaVu Sans lacks)."""
    fig, axes = style.new_figure()
    axes[0, 0].set_title("\u0e01")  # Thai: not in DejaVu Sans
    with pytest.raises(UserWarning, match="missing from font"):
        draw_strict(fig)


def test_every_string_has_glyphs_in_dejavu_sans():
    """Every character of the strings table, the place names and the target labels is in DejaVu Sans
    (regular and bold), independent of matplotlib's text caches."""
    text = "".join(v for entry in STRINGS.values() for v in entry.values())
    text += "".join(p.name for p in sources.places().values())
    text += "".join(t.label_vi + t.label_en for t in sources.targets())
    text += "≈–−—·μσ*"
    for weight in ("normal", "bold"):
        path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight=weight),
                                     fallback_to_default=False)
        charmap = FT2Font(path).get_charmap()
        missing = sorted({ch for ch in text if ord(ch) not in charmap and not ch.isspace()})
        assert not missing, (weight, missing)


def test_strings_table_is_complete_and_consistent():
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in LANGUAGES]
        assert fields[0] == fields[1], key
    assert tr("legend.band50", "vi") == "Khoảng 50%"
    with pytest.raises(ValueError):
        tr("legend.band50", "fr")


def test_number_and_date_formats():
    assert fmt_number(1234567.5, "en", 1) == "1,234,567.5"
    assert fmt_number(1234567.5, "vi", 1) == "1.234.567,5"
    assert fmt_pct(0.953, "vi", 1) == "95,3%"
    assert fmt_month("2025-12", "en") == "Dec 2025"
    assert fmt_month("2025-12", "vi") == "12/2025"


def test_place_names_keep_diacritics(results_ts):
    fig = adoption_over_time(results_ts, "share_internet", place=sources.place("thon_dong").name, lang="vi")
    assert "Thôn Đông" in fig.get_suptitle()


# ---------------------------------------------------------------------------------- artists' data
def _x(line: Line2D) -> np.ndarray:
    line.recache_always()
    return np.asarray(line.get_xdata(orig=False), dtype=float)


def _by_gid(fig, prefix: str) -> list:
    return [a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))]


def _band_range(coll, x: float) -> tuple[float, float]:
    v = np.concatenate([p.vertices for p in coll.get_paths()])
    ys = v[np.isclose(v[:, 0], x, rtol=0, atol=1e-9), 1]
    return ys.min(), ys.max()


def test_bands_contain_the_median(results_ts):
    fig = adoption_over_time(results_ts, "share_internet", lang="en")
    draw_strict(fig)
    scenarios = list(dict.fromkeys(results_ts["scenario"]))
    for scn in scenarios:
        (median,) = _by_gid(fig, f"median:{scn}")
        (b50,) = _by_gid(fig, f"band50:{scn}")
        (b90,) = _by_gid(fig, f"band90:{scn}")
        xs, ys = _x(median), np.asarray(median.get_ydata(), dtype=float)
        assert len(xs) == results_ts["month"].nunique()
        for x, y in zip(xs, ys):
            lo50, hi50 = _band_range(b50, x)
            lo90, hi90 = _band_range(b90, x)
            assert lo90 - 1e-12 <= lo50 <= y + 1e-12 and y - 1e-12 <= hi50 <= hi90 + 1e-12
        # and the median is the median over the runs of the data
        last = results_ts[(results_ts["scenario"] == scn) & (results_ts["month"] == results_ts["month"].max())]
        assert ys[-1] == pytest.approx(np.median(last["share_internet"]))


def test_quantile_bands_are_ordered(results_ts):
    q = quantile_bands(results_ts, "share_services")
    assert (q["p5"] <= q["p25"]).all() and (q["p25"] <= q["p50"]).all()
    assert (q["p50"] <= q["p75"]).all() and (q["p75"] <= q["p95"]).all()
    assert len(q) == results_ts["scenario"].nunique() * results_ts["month"].nunique()


def test_observed_points_are_plotted_at_their_dates(results_ts):
    obs = pd.DataFrame({"metric": ["share_internet", "share_internet", "share_fibre"],
                        "date": ["2023-06", "2025-03", "2024-01"], "value": [0.9, 0.93, 0.5],
                        "source": ["https://example.org/a", "https://example.org/b", "https://example.org/c"]})
    fig = adoption_over_time(results_ts, "share_internet", observed=obs, lang="en")
    draw_strict(fig)
    n_panels = results_ts["scenario"].nunique()
    points = _by_gid(fig, "observed:")
    assert len(points) == 2 * n_panels  # the share_fibre row is not drawn on the internet chart
    want = {(mdates.date2num(np.datetime64("2023-06-01")), 0.9), (mdates.date2num(np.datetime64("2025-03-01")), 0.93)}
    got = {(float(_x(p)[0]), float(p.get_ydata()[0])) for p in points}
    assert got == want
    assert any("example.org" in t.get_text() for t in fig.legends[0].get_texts())


def test_package_observations_for_a_place():
    obs = observed_points("thon_dong")
    row = obs[obs["metric"] == "share_internet"].iloc[0]
    assert row["value"] == pytest.approx(0.95) and row["qualifier"] == ">" and bool(row["approximate_date"])
    assert row["source"].startswith("https://") and row["place"] == "Thôn Đông"
    assert observed_points("well_mixed").empty


def test_target_line_and_date(results_ts):
    fig = adoption_over_time(results_ts, "share_fibre", lang="en")
    (line, *_) = _by_gid(fig, "target:share_fibre")
    assert np.allclose(line.get_ydata(), 0.95)
    (when, *_) = _by_gid(fig, "target_date:share_fibre")
    assert _x(when)[0] == mdates.date2num(np.datetime64("2025-12-01"))
    assert not _by_gid(adoption_over_time(results_ts, "share_services"), "target:")


def test_dashboard_point_ranges(results_ts):
    fig = resolution09_dashboard(results_ts, lang="en")
    for target in sources.targets():
        for scn in results_ts["scenario"].unique():
            (p90,) = _by_gid(fig, f"p90:{target.target}:{scn}")
            (p50,) = _by_gid(fig, f"p50:{target.target}:{scn}")
            (med,) = _by_gid(fig, f"median:{target.target}:{scn}")
            lo90, hi90 = sorted(p90.get_xdata())
            lo50, hi50 = sorted(p50.get_xdata())
            m = med.get_xdata()[0]
            assert lo90 <= lo50 <= m <= hi50 <= hi90
            runs = results_ts[(results_ts["scenario"] == scn) & (results_ts["date"] == target.by)][target.metric]
            assert m == pytest.approx(np.median(runs))


# ------------------------------------------------------------------------------------ determinism
def test_save_is_byte_identical_and_has_no_dates(real_results, tmp_path):
    ts, bh = real_results
    builders = all_charts(ts, bh, "vi")
    for name in ("adoption", "by_hamlet", "dashboard"):
        a = style.save(builders[name](), tmp_path / "a" / name)
        b = style.save(builders[name](), tmp_path / "b" / name)
        assert [p.suffix for p in a] == [".png", ".svg", ".pdf"]
        for pa, pb in zip(a, b):
            assert pa.read_bytes() == pb.read_bytes(), pa.name
    pdf = (tmp_path / "a" / "dashboard.pdf").read_bytes()
    svg = (tmp_path / "a" / "dashboard.svg").read_text(encoding="utf-8")
    assert b"CreationDate" not in pdf and b"ModDate" not in pdf
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


# ------------------------------------------------------------------------------------ render_charts
def test_planned_charts_follow_the_results(results_ts, tmp_path):
    one = results_ts[results_ts["scenario"] == "reference"]
    folder = write_results_folder(tmp_path / "one", one)
    names = [c.name for c in planned_charts(open_view(folder))]
    assert "resolution09" in names and "adoption_internet" in names and "by_income" in names
    assert not {"scenarios", "additional_adopters", "cost_effectiveness", "spending"} & set(names)
    assert not any(n.startswith("hamlets_") for n in names)  # no by_hamlet.parquet


def test_render_charts_selected_charts_and_analysis_tables(results_ts, tmp_path):
    folder = write_results_folder(tmp_path / "sel", results_ts)
    set_outputs(folder, language="vi", charts=["sobol", "morris", "posterior", "spending"])
    (folder / "sensitivity").mkdir()
    sobol_table().to_csv(folder / "sensitivity" / "sobol.csv", index=False)
    morris_table().to_parquet(folder / "sensitivity" / "morris.parquet", index=False)
    (folder / "calibration").mkdir()
    posterior_table().to_csv(folder / "calibration" / "posterior.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = [c.png for c in render_charts(folder)]
    assert [p.stem for p in paths] == ["spending", "sobol", "morris", "posterior"]
    for p in paths:
        assert p.exists() and p.with_suffix(".svg").exists() and p.with_suffix(".pdf").exists()
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
def test_render_charts_twice_gives_identical_files(report_en, copy_results):
    """The charts of the session's report, drawn again from a copy of the same results: same bytes."""
    first = report_en.parent
    second = copy_results("second")
    paths = render_charts(second)
    assert len(paths) >= 12
    files = sorted((first / "charts").iterdir())
    assert sorted(f.name for f in files) == sorted(f.name for f in (second / "charts").iterdir())
    assert len(files) == 3 * len(paths)
    for f in files:
        assert f.read_bytes() == (second / "charts" / f.name).read_bytes(), f.name


def test_prior_bounds_come_from_the_calibrations_manifest_section(results_ts, tmp_path):
    """The posterior chart's prior bars come from the priors the posterior was drawn under, as the calibration
    recorded them in its section of the manifest (parameters without a recorded prior get no bar)."""
    folder = write_results_folder(tmp_path / "cal", results_ts)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["analyses"]["calibration"] = {"priors": {"smartphone.q": [0.1, 1.0], "fibre.q": [0.05, 3.0]},
                                           "language": "en"}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (folder / "calibration").mkdir()
    posterior_table().to_parquet(folder / "calibration" / "posterior.parquet", index=False)
    charts = {c.name: c for c in planned_charts(open_view(folder), kinds=("calibration",))}
    assert list(charts) == ["posterior", "pair_plot"]
    fig = charts["posterior"].build()
    (prior,) = _by_gid(fig, "prior:smartphone.q")
    assert list(prior.get_xdata()) == [0.1, 1.0]
    assert not _by_gid(fig, "prior:services.o")
    pair = charts["pair_plot"].build()
    assert pair.axes[0].get_xlim() == pytest.approx((0.1, 1.0))


# ------------------------------------------------------------------------------------ the registry
def test_chart_names_come_from_the_registry():
    names = chart_names()
    assert list(names)[:2] == ["dashboard", "adoption"] and names["dashboard"] == ["resolution09"]
    assert "adoption_internet" in names["adoption"] and names["by_hamlet"] == ["hamlets_internet", "hamlets_smartphone"]
    assert {"sobol", "morris", "convergence", "calibration_fit", "posterior", "pair_plot"} <= set(names)
    flat = [n for v in names.values() for n in v]
    assert len(flat) == len(set(flat))


def test_check_outputs_names_bad_charts():
    from types import SimpleNamespace

    cfg = SimpleNamespace(outputs=SimpleNamespace(charts=["all", "adoption_internet", "sobol", "dashbord", "x"]))
    problems = check_outputs(cfg)
    assert [p for p, _ in problems] == ["outputs.charts[3]", "outputs.charts[4]"]
    text = problems[0][1]
    assert text.startswith("'dashbord' is not allowed: one of 'all', 'dashboard', ") and "'hamlets_internet'" in text
    assert text.endswith("(did you mean 'dashboard'?)")
    assert check_outputs(SimpleNamespace(outputs=SimpleNamespace(charts=None))) == []


def test_render_charts_lists_its_files_in_the_manifest(results_ts, tmp_path):
    folder = write_results_folder(tmp_path / "rec", results_ts)
    set_outputs(folder, charts=["dashboard", "sobol", "sensitivity_convergence"])
    (folder / "sensitivity").mkdir()
    sobol_table().to_parquet(folder / "sensitivity" / "sobol.parquet", index=False)
    convergence_table().to_csv(folder / "sensitivity" / "convergence.csv", index=False)
    only = render_charts(folder, kinds=("sensitivity",))
    assert [c.name for c in only] == ["sobol", "sensitivity_convergence"]
    assert only[1].caption == tr("sensitivity.convergence_title", "en")
    charts = render_charts(folder, language="vi")
    assert [c.name for c in charts] == ["resolution09", "sobol", "sensitivity_convergence"]
    files = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    for c in charts:
        for p in c.paths:
            rec = files[p.relative_to(folder).as_posix()]
            assert rec["analysis"] == "report" and rec["bytes"] == p.stat().st_size
    assert files["timeseries.parquet"]["analysis"] == "run"  # the run's files are kept


def test_charts_of_a_folder_without_a_run(results_ts, tmp_path):
    """A folder holding only a calibration: its charts, in the language the calibration recorded."""
    folder = tmp_path / "cal_only"
    (folder / "calibration").mkdir(parents=True)
    manifest = {"format": 2, "experiment": "cal", "files": {},
                "analyses": {"calibration": {"language": "vi", "priors": {"smartphone.q": [0.2, 0.6]}}}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pred, obs = predictive_and_observed(results_ts)
    pred.assign(setup="thon_dong").to_parquet(folder / "calibration" / "predictive.parquet", index=False)
    targets_table(obs).to_csv(folder / "calibration" / "observed.csv", index=False)
    posterior_table().to_parquet(folder / "calibration" / "posterior.parquet", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts = render_charts(folder)
    assert [c.name for c in charts] == ["calibration_fit", "calibration_targets", "posterior", "pair_plot"]
    assert charts[0].caption == tr("caption.calibration_fit", "vi")
    assert not render_charts(folder, kinds=("run", "sensitivity"))
    files = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert sorted(files) == sorted(p.relative_to(folder).as_posix() for c in charts for p in c.paths)


def test_charts_name_scenarios_by_their_labels(results_ts, tmp_path):
    """A scenario's ``label`` (``label_vi`` in Vietnamese) names it in the charts of a results folder; a scenario
    without one keeps its key."""
    folder = write_results_folder(tmp_path / "labels", results_ts)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    scenarios = manifest["analyses"]["run"]["config"]["scenarios"]
    scenarios["digital_teams"].update(label="Teams in every hamlet", label_vi="Tổ công nghệ số mọi thôn")
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    set_outputs(folder, charts=["resolution09"])
    for lang, label in (("en", "Teams in every hamlet"), ("vi", "Tổ công nghệ số mọi thôn")):
        (chart,) = render_charts(folder, language=lang)
        svg = chart.svg.read_text(encoding="utf-8")
        assert label in svg and "teams_and_subsidies" in svg
