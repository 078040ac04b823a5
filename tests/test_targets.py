"""Targets a stochastic model never quite reaches: who is still short of a target at its deadline, the month a
near-target is reached, and "not reached by <date>" instead of an undefined month, in tables and in the
report's text. Unit tests on small hand-made run tables (no model run)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import results_config, set_outputs, write_results_folder
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from diffusion.experiments.outcomes import (
    censored_median,
    check_near,
    outcome_catalogue,
    summary_outcomes,
    target_months,
    target_unit,
    when_reached,
)
from diffusion.experiments.schema import OutputsSection
from diffusion.experiments.summary import quantiles, summarise
from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import Target
from diffusion.foundation.strings import LANGUAGES, STRINGS
from diffusion.presentation.charts.targets import target_status
from diffusion.presentation.charts.view import open_view
from diffusion.presentation.report import build_document
from diffusion.presentation.summary_text import outcome_values, summary_long, target_cells, target_sentence

#: The labels of the target outcomes and sentences, in the one table of strings.
TARGET_STRINGS = {k: v for k, v in STRINGS.items()
                  if k.startswith(("target.", "unit.", "outcome.near_", "outcome.shortfall"))
                  or k in ("col.shortfall", "col.near_reached", "col.target_reached")}

START_YEAR, START_MONTH, MONTHS = 2024, 7, 24  # 2024-07 .. 2026-06; the deadline 2025-12 is month 17
DEADLINE = 17


def _date(m: int) -> str:
    y, mo = divmod(START_MONTH - 1 + m, 12)
    return f"{START_YEAR + y}-{mo + 1:02d}"


def _target(key: str, metric: str, share: float) -> Target:
    return Target(key, metric, share, "2025-12", key, key, "https://example.org", "test")


def run_table(internet=None, scenario: str = "reference", replicate: int = 0, households: int = 200,
              people: int = 700, working_age: int = 400) -> pd.DataFrame:
    """One run of 24 months, as the experiment layer stores it. Internet use rises by 0.5 points a month from
    90% and stops at 99.5%: 98.5% at the deadline (3 of 200 households short), 99% in 2026-01, never 100%."""
    internet = [min(0.995, round(0.90 + 0.005 * m, 4)) for m in range(MONTHS)] if internet is None else internet
    internet = np.asarray(internet, dtype=float)
    return pd.DataFrame({
        "scenario": scenario, "replicate": replicate, "design_point": 0, "month": np.arange(MONTHS),
        "date": [_date(m) for m in range(MONTHS)], "households": households, "people": people,
        "working_age_people": working_age,
        "share_smartphone": internet, "share_mobile_data": internet, "share_internet": internet,
        "share_fibre": internet * 0.9, "share_services": internet * 0.5,
        "share_working_age_smartphone": np.minimum(1.0, internet - 0.035),  # 95% at the deadline
        "share_people_smartphone": internet - 0.085,  # 90% at the deadline
        "cum_cost_total": 1000.0 * np.arange(MONTHS),
    })


def runs_table(reach: list[bool], scenario: str = "reference") -> pd.DataFrame:
    """Runs that reach 100% internet in month 20 (2026-03) or stop at 99.5%, one per entry of ``reach``."""
    frames = []
    for r, hit in enumerate(reach):
        internet = [min(0.995, round(0.90 + 0.005 * m, 4)) for m in range(MONTHS)]
        if hit:
            internet[20:] = [1.0] * (MONTHS - 20)
        frames.append(run_table(internet, scenario=scenario, replicate=r))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------- one run, one target
def test_a_100pct_target_never_reached_gives_the_households_short_and_the_near_target_month():
    tm = target_months(run_table())
    row = tm[tm["target"] == "broadband_households"].iloc[0]
    assert row["unit"] == "households"
    assert row["value_at_target_date"] == pytest.approx(0.985) and not row["met"]
    assert row["shortfall"] == 3  # (100% - 98.5%) x 200 households
    # the target itself is never reached: a flag, and the month left empty beside it, never a made-up month
    assert not row["reached"] and np.isnan(row["month_reached"]) and row["date_reached"] is None
    assert row["last_date"] == "2026-06"
    # 99% of the target is reached in 2026-01
    assert row["near_reached"] and row["near_month_reached"] == 18 and row["near_date_reached"] == "2026-01"
    assert row["near"] == 0.99 and row["near_share"] == pytest.approx(0.99)


def test_shortfall_is_rounded_up_to_whole_units_and_zero_once_met():
    tm = target_months(run_table(), (_target("fibre", "share_internet", 0.95),))
    assert tm["shortfall"].iloc[0] == 0 and bool(tm["met"].iloc[0])
    # 98.5% against 98.6% of 1001 households: 1.001 households short, so 2 are still missing
    tm = target_months(run_table(households=1001), (_target("almost", "share_internet", 0.986),))
    assert tm["shortfall"].iloc[0] == 2


def test_the_report_text_says_not_reached_by_the_last_month():
    (s,) = [s for s in target_status(run_table()) if s.target.target == "broadband_households"]
    text = target_sentence(s, "en")
    assert "3 households still short of it in Dec 2025" in text
    assert "Near-target (99% of the target, 99%): reached in Jan 2026" in text
    assert "Full target (100%): not reached by Jun 2026 in any of the 1 runs" in text
    vi = target_sentence(s, "vi")
    assert "còn thiếu 3 hộ" in vi and "chưa đạt đến 06/2026" in vi and "đạt vào 01/2026" in vi
    cells = target_cells(s, "en")
    assert cells["short"] == "3" and cells["unit"] == "households"
    assert cells["when"].startswith("not reached by Jun 2026")


def test_the_run_ending_before_the_deadline_has_no_shortfall_and_says_so():
    early = run_table().iloc[:12]  # 2024-07 .. 2025-06
    tm = target_months(early)
    assert tm["in_run"].eq(False).all() and tm["shortfall"].isna().all() and tm["met"].isna().all()
    (s,) = [s for s in target_status(early) if s.target.target == "broadband_households"]
    text = target_sentence(s, "en")
    assert "before the deadline" in text and "not reached by Jun 2025" in text


# ---------------------------------------------------------------------------------- near_target
def test_near_target_is_configurable():
    tm = target_months(run_table(), near=0.98)
    row = tm[tm["target"] == "broadband_households"].iloc[0]
    assert row["near_month_reached"] == 16 and row["near_share"] == pytest.approx(0.98)  # 98% in 2025-11
    exact = target_months(run_table(), near=1.0)
    assert not exact.loc[exact["target"] == "broadband_households", "near_reached"].any()
    for bad in (0, -0.1, 1.5, "high"):
        with pytest.raises(ParameterError):
            check_near(bad)
    assert OutputsSection().near_target == 0.99 and OutputsSection(near_target=0.95).near_target == 0.95
    with pytest.raises(ValueError):
        OutputsSection(near_target=1.2)
    own, _ = summary_outcomes(["share_internet"], ["2025-12"], (_target("t", "share_internet", 1.0),), near=0.97)
    near = {o.name: o for o in own}["near_month_reached.t"]
    assert near.near == 0.97 and near.label("en") == "Month 97% of the target reached: t"


def _hand_results(folder: Path, ts: pd.DataFrame, **outputs) -> Path:
    config = results_config()
    config["experiment"].update(start="2024-07", months=MONTHS, replications=int(ts["replicate"].nunique()))
    for lever in config["levers"].values():
        lever["start"] = "2024-07"
    config["outputs"].update(outputs)
    return write_results_folder(folder, ts, config=config)


def test_the_report_reads_near_target_from_the_config(tmp_path):
    folder = _hand_results(tmp_path / "res", run_table())
    set_outputs(folder, near_target=0.98)
    md = build_document(open_view(folder), []).to_markdown()
    assert "Month 98% of the target reached" in md
    assert "Near-target (98% of the target, 98%): reached in Nov 2025" in md


# ---------------------------------------------------------------------------------- denominators
def test_people_targets_count_people_and_household_targets_count_households():
    assert target_unit("share_internet") == "households" and target_unit("share_fibre") == "households"
    assert target_unit("share_working_age_smartphone") == "working_age_people"
    assert target_unit("share_people_smartphone") == target_unit("share_adults_smartphone") == "people"
    assert target_unit("share_internet_q1") is None  # a group's share: its count is not in the table
    targets = (_target("wa", "share_working_age_smartphone", 1.0), _target("people", "share_people_smartphone", 1.0),
               _target("hh", "share_smartphone", 1.0))
    tm = target_months(run_table(), targets).set_index("target")
    assert tm.loc["wa", "unit"] == "working_age_people" and tm.loc["wa", "shortfall"] == 20  # 5% of 400
    assert tm.loc["people", "unit"] == "people" and tm.loc["people", "shortfall"] == 70  # 10% of 700
    assert tm.loc["hh", "unit"] == "households" and tm.loc["hh", "shortfall"] == 3  # 1.5% of 200
    (s,) = [s for s in target_status(run_table()) if s.target.target == "working_age_smartphone"]
    assert "20 working-age people still short of it in Dec 2025" in target_sentence(s, "en")


# ---------------------------------------------------------------------------------- censoring
def test_a_median_month_only_when_more_than_half_of_the_runs_reach_it():
    assert np.isnan(censored_median([3, 5, np.nan, np.nan])[0])  # half is not more than half
    assert censored_median([3, 5, 7, np.nan, np.nan]) == (7, 3, 5)  # the censored runs count as later
    assert censored_median([7, 3, np.nan]) == (7, 2, 3)
    assert censored_median([np.nan] * 3) == (pytest.approx(np.nan, nan_ok=True), 0, 3)
    med, p05, p95, mean, n = quantiles([3, 5, np.nan, np.nan], discrete=True)
    assert np.isnan(med) and np.isnan(p95) and np.isnan(mean) and n == 4
    assert quantiles([3, 5, 7], discrete=True)[0] == 5
    assert when_reached(None, 3, 10, "2026-06") == "not reached by Jun 2026 in 7 of 10 runs"
    assert when_reached("2026-03", 7, 10, "2026-06") == "Mar 2026 (median; not reached by Jun 2026 in 3 of 10 runs)"
    assert when_reached(None, 3, 10, "2026-06", "vi") == "chưa đạt đến 06/2026 trong 7/10 lần chạy"


def test_censored_runs_in_the_summary_and_the_report(tmp_path):
    ts = runs_table([True, True, True, False, False, False, False, False, False, False])
    s = summarise(ts, metrics=("share_internet",)).set_index("outcome")
    month = s.loc["month_reached.broadband_households"]
    assert np.isnan(month["median"]) and pd.isna(month["date"]) and month["runs"] == 10
    assert s.loc["reached.broadband_households", "mean"] == pytest.approx(0.3)
    assert s.loc["near_month_reached.broadband_households", "date"] == "2026-01"
    assert s.loc["shortfall.broadband_households", "median"] == 3
    (st,) = [x for x in target_status(ts) if x.target.target == "broadband_households"]
    assert st.reached is None and st.reached_runs == 3
    assert "Full target (100%): not reached by Jun 2026 in 7 of 10 runs" in target_sentence(st, "en")
    # more than half reach it: the median month, and the runs that do not
    ts = runs_table([True] * 7 + [False] * 3)
    (st,) = [x for x in target_status(ts) if x.target.target == "broadband_households"]
    assert target_cells(st, "en")["when"] == "Mar 2026 (median; not reached by Jun 2026 in 3 of 10 runs)"
    # summary.csv leaves the median month empty; the report writes "not reached by <last month>"
    row = next(summary_long(summarise(runs_table([True, False, False]), metrics=())).query(
        "outcome == 'month_reached.broadband_households'").itertuples())
    month_dates = {m: _date(m) for m in range(MONTHS)}
    o = outcome_catalogue([], ["2025-12"])["month_reached.broadband_households"]
    assert outcome_values(row, o, "en", month_dates) == ("not reached by Jun 2026",
                                                         "Mar 2026 – not reached by Jun 2026")


# ---------------------------------------------------------------------------------- the rendered report
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_undefined_month_in_the_rendered_report(tmp_path, lang):
    ts = pd.concat([runs_table([True, False, False]), runs_table([False, False, False], scenario="digital_teams")],
                   ignore_index=True)
    folder = _hand_results(tmp_path / "res", ts, language=lang)
    md = build_document(open_view(folder), []).to_markdown()
    assert not re.search(r"\b(nan|NaN|NaT|None|inf)\b", md)
    heading = "Resolution 09 targets by scenario" if lang == "en" else "Mục tiêu Nghị quyết 09 theo kịch bản"
    section = re.split(r"## (?:\d+\. )?" + heading, md)[1].split("\n## ")[0]
    if lang == "en":
        assert "| Short at the deadline (median; range) | Unit | Month 99% of the target reached |" in section
        assert "not reached by Jun 2026 in any of the 3 runs" in section
        assert "`reference` — Households with broadband, 100% by Dec 2025: 3 households still short" in section
    else:
        assert "chưa đạt đến 06/2026 ở cả 3 lần chạy" in section and "còn thiếu 3 hộ" in section


def test_target_strings_are_complete_in_both_languages():
    for key, entry in TARGET_STRINGS.items():
        assert set(entry) == set(LANGUAGES) and all(entry[lang].strip() for lang in LANGUAGES), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in LANGUAGES]
        assert fields[0] == fields[1], key
    text = "".join(v for entry in TARGET_STRINGS.values() for v in entry.values())
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False)
    charmap = FT2Font(path).get_charmap()
    assert not sorted({ch for ch in text if ord(ch) not in charmap and not ch.isspace()})
