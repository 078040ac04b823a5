"""The written report: names every scenario, embeds every chart it lists, opens offline."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
from conftest import set_outputs

from diffusion.presentation.report import report_main, summary_rows, write_report


def _limit_charts(folder: Path, charts: list[str], language: str | None = None) -> None:
    set_outputs(folder, charts=charts, **({"language": language} if language else {}))


def test_report_files_and_sections(report_en):
    md = report_en.read_text(encoding="utf-8")
    assert report_en.name == "report.md" and (report_en.parent / "report.html").exists()
    for heading in ("# Experiment report: commune_levers", "## 1. The question", "## 2. Set-up",
                    "## 3. Headline results", "## 4. Charts", "## 5. How to reproduce", "## Appendix: sources"):
        assert heading in md
    assert "Which mix of community digital teams" in md  # the description
    assert "2,192 households in 8 hamlet(s)" in md  # the population
    assert "`amount_vnd` = 500000" in md and "`levers.digital_teams.enabled` = true" in md  # levers, scenarios
    assert "vietnamnet.vn" in md and "tinhdoanquangninh.vn" in md  # sources of parameters and targets
    assert "Internet (any), Dec 2025" in md and "Cost per additional household: Internet (any) (VND)" in md
    assert "Month reached: households with fibre" in md  # summary.csv outcomes, readable
    assert "`" + "0" * 64 + "`" in md and "`20240601`" in md and "`1a30738" in md  # reproduce
    assert "`diffusion run experiments/commune_levers.toml`" in md and "```toml" in md


def test_report_names_every_scenario(report_en, results_folder):
    scenarios = pd.read_parquet(results_folder / "timeseries.parquet")["scenario"].unique()
    md = report_en.read_text(encoding="utf-8")
    html = (report_en.parent / "report.html").read_text(encoding="utf-8")
    for scn in scenarios:
        assert f"`{scn}`" in md
        assert f"<code>{scn}</code>" in html


def test_report_embeds_every_chart_it_lists(report_en):
    folder = report_en.parent
    md = report_en.read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    listed = re.findall(r"!\[[^\]]*\]\((charts/[^)]+\.png)\)", md)
    assert len(listed) >= 12 and len(set(listed)) == len(listed)
    for rel in listed:
        assert (folder / rel).is_file()
        assert (folder / rel).with_suffix(".svg").is_file() and (folder / rel).with_suffix(".pdf").is_file()
    figures = re.findall(r'<figure id="([^"]+)"><img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert [f"charts/{name}.png" for name, _ in figures] == listed
    for name, data in figures:
        assert base64.b64decode(data) == (folder / "charts" / f"{name}.png").read_bytes()
    assert len(re.findall(r"Figure \d+\.", md)) == len(listed)


def test_html_opens_offline(report_en):
    html = (report_en.parent / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, flags=re.IGNORECASE)
    assert not re.search(r"<\s*(link|script|iframe|object|embed)\b", html, flags=re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html


def test_report_in_vietnamese(copy_results):
    folder = copy_results("vi")
    _limit_charts(folder, ["dashboard", "by_income"], language="vi")
    md = write_report(folder, quiet=True).read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "## 1. Câu hỏi" in md and "## 4. Biểu đồ" in md and "xã điển hình" in md
    assert "Mục tiêu Nghị quyết 09" in md and "2.192 hộ" in md
    assert len(re.findall(r"!\[Hình \d+\]", md)) == 2
    assert '<html lang="vi">' in html
    for scn in ("reference", "digital_teams", "teams_and_subsidies"):
        assert f"`{scn}`" in md


def test_report_main(copy_results, tmp_path, capsys):
    folder = copy_results("cli")
    _limit_charts(folder, ["dashboard"])
    assert report_main([str(folder), "-q", "--language", "en"]) == 0
    assert capsys.readouterr().out == ""
    assert (folder / "report.md").exists() and (folder / "charts" / "resolution09.png").exists()
    assert report_main([str(tmp_path / "nowhere")]) == 1
    assert "timeseries.parquet" in capsys.readouterr().err


def test_summary_long_and_wide_formats():
    long = pd.DataFrame({"scenario": ["a", "b"], "outcome": ["x", "x"], "median": [1.0, 2.0], "p05": [0.5, 1.5],
                         "p95": [1.5, 2.5], "date": [None, None]})
    wide = pd.DataFrame({"scenario": ["a", "b"], "x_median": [1.0, 2.0], "x_p5": [0.5, 1.5], "x_p95": [1.5, 2.5]})
    assert summary_rows(long) == summary_rows(wide) == [("a", "x", 1.0, 0.5, 1.5), ("b", "x", 2.0, 1.5, 2.5)]
    assert summary_rows(pd.DataFrame({"foo": [1]})) == []
