"""The written report: names every scenario, embeds every chart it lists, opens offline."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import set_outputs, toml_text

from diffusion.presentation.report import report_main, summary_rows, write_report


def _limit_charts(folder: Path, charts: list[str], language: str | None = None) -> None:
    set_outputs(folder, charts=charts, **({"language": language} if language else {}))


def test_report_files_and_sections(report_en):
    md = report_en.read_text(encoding="utf-8")
    assert report_en.name == "report.md" and (report_en.parent / "report.html").exists()
    headings = ["# Experiment report: commune_levers", "## 1. The answer", "## 2. Resolution 09 targets by scenario",
                "## 3. Charts", "## 4. Set-up", "## 5. How to reproduce", "## Appendix: parameters and their sources",
                "## Appendix: sources"]
    positions = [md.index(h) for h in headings]
    assert positions == sorted(positions)  # the answer first, the parameters in an appendix
    assert "Which mix of community digital teams" in md  # the question
    assert "2,192 households in 8 hamlet(s)" in md  # the population
    assert "`amount_vnd` = 500000" in md and "`levers.digital_teams.enabled` = true" in md  # levers, scenarios
    assert "vietnamnet.vn" in md and "tinhdoanquangninh.vn" in md  # sources of parameters and targets
    assert "Internet (any), Dec 2025" in md and "Cost per additional household: Smartphone (VND)" in md
    assert "Month reached: households with fibre" in md  # summary.csv outcomes, readable
    assert "`" + "0" * 64 + "`" in md and "`20240601`" in md and "`1a30738" in md  # reproduce
    assert "`diffusion run experiments/commune_levers.toml`" in md and "```toml" in md


def test_answer_shows_what_the_active_levers_move(report_en):
    """A smartphone subsidy is in effect: the answer's table and sentences show smartphones, before any
    parameter table."""
    md = report_en.read_text(encoding="utf-8")
    answer = md[md.index("## 1. The answer"):md.index("## 2.")]
    assert "Which mix of community digital teams" in answer
    header = next(line for line in answer.splitlines() if line.startswith("| Scenario"))
    assert "Smartphone, Dec 2025" in header and "Additional households: Smartphone" in header
    assert "Total spending (VND)" in header
    assert "Against `reference`, `teams_and_subsidies`:" in answer and "more households using smartphone" in answer
    assert "Against `reference`, `digital_teams`:" in answer


def test_reproduce_names_the_results_folder(report_en, monkeypatch):
    md = report_en.read_text(encoding="utf-8")
    assert f"`diffusion report {report_en.parent.resolve().as_posix()}`" in md
    from diffusion.presentation.report import results_path

    monkeypatch.chdir(report_en.parent.parent)
    assert results_path(report_en.parent) == "commune_levers"


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
    _set_scenario(folder, "digital_teams", label="Teams only", label_vi="Chỉ tổ công nghệ số",
                  description_vi="Chỉ có tổ công nghệ số")
    _set_experiment(folder, description_vi="Tổ hợp chính sách nào đưa các hộ lên mạng sớm nhất?")
    md = write_report(folder, quiet=True).read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "## 1. Câu trả lời" in md and "## 3. Biểu đồ" in md and "xã điển hình" in md
    answer = md[md.index("## 1. Câu trả lời"):md.index("## 2.")]
    assert "Tổ hợp chính sách nào đưa các hộ lên mạng sớm nhất?" in answer and "Which mix" not in answer
    assert "Chỉ tổ công nghệ số (`digital_teams`)" in md and "Chỉ có tổ công nghệ số" in md  # label, description
    assert "Teams only" not in md.split("## Phụ lục: tệp cấu hình")[0]
    assert "Mục tiêu Nghị quyết 09" in md and "2.192 hộ" in md
    assert "băng rộng được hiểu là internet bất kỳ" in md and "% số hộ" in md  # target notes, units
    assert len(re.findall(r"!\[Hình \d+\]", md)) == 2
    assert '<html lang="vi">' in html
    for scn in ("reference", "digital_teams", "teams_and_subsidies"):
        assert f"`{scn}`" in md


def _config(folder: Path) -> tuple[dict, Path]:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")), path


def _save(manifest: dict, path: Path) -> None:
    run = manifest["analyses"]["run"]
    run["config_text"] = toml_text(run["config"])
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")


def _set_scenario(folder: Path, scenario: str, **fields) -> None:
    manifest, path = _config(folder)
    manifest["analyses"]["run"]["config"]["scenarios"][scenario].update(fields)
    _save(manifest, path)


def _set_experiment(folder: Path, **fields) -> None:
    manifest, path = _config(folder)
    manifest["analyses"]["run"]["config"]["experiment"].update(fields)
    _save(manifest, path)


def test_user_text_is_escaped_in_markdown_and_html(copy_results):
    folder = copy_results("escape")
    _limit_charts(folder, ["dashboard"])
    _set_scenario(folder, "digital_teams", description="<script>alert(1)</script> & more", label="Teams `only`")
    _set_experiment(folder, description="Does <img src=x onerror=alert(1)> run?")
    md = write_report(folder, quiet=True).read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    config = md.index("## Appendix: the configuration as read")  # a fenced block: shown literally, never run
    assert "```toml\n" in md[config:] and '"<script>alert(1)</script> & more"' in md[config:]
    for text in (md[:config], html):
        assert "<script>" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text
        assert "Does &lt;img src=x onerror=alert(1)&gt; run?" in text
    assert "Teams `only` (`digital_teams`)" in md  # the label's backticks stay text: a code span is not broken
    assert "Teams <code>only</code> (<code>digital_teams</code>)" in html


def test_code_spans_hold_any_backticks():
    from diffusion.presentation.document import Document, code

    doc = Document("t")
    doc.para("name " + code("a`b``c") + " <b>")
    doc.code('x = "```"')
    md = doc.to_markdown()
    assert "name ``` a`b``c ``` &lt;b&gt;" in md and '````toml\nx = "```"\n````' in md
    assert "<p>name <code>a`b``c</code> &lt;b&gt;</p>" in doc.to_html()


def test_a_rerun_redraws_nothing_that_is_unchanged(copy_results, monkeypatch):
    from diffusion.presentation.charts import render

    folder = copy_results("rerun")
    _limit_charts(folder, ["dashboard", "spending"])
    bars = []
    real = render.progress_bar

    def recording(total, **kw):
        bars.append(total)
        return real(total, **kw)

    monkeypatch.setattr(render, "progress_bar", recording)
    write_report(folder, quiet=True)
    assert bars == [2]  # a progress bar over the two charts
    files = sorted((folder / "charts").iterdir()) + [folder / "report.md", folder / "report.html"]
    stamps = {p: p.stat().st_mtime_ns for p in files}
    manifest = (folder / "manifest.json").read_bytes()
    write_report(folder, quiet=True)
    assert bars == [2]  # nothing drawn again
    assert {p: p.stat().st_mtime_ns for p in files} == stamps and (folder / "manifest.json").read_bytes() == manifest
    (folder / "charts" / "spending.png").write_bytes(b"damaged")  # a chart changed on disk: drawn again
    write_report(folder, quiet=True)
    assert bars == [2, 2] and (folder / "charts" / "spending.png").read_bytes()[:4] == b"\x89PNG"
    set_outputs(folder, charts=["dashboard", "spending"], language="vi")  # another language: drawn again
    write_report(folder, quiet=True)
    assert bars == [2, 2, 2] and "Câu trả lời" in (folder / "report.md").read_text(encoding="utf-8")
    monkeypatch.setattr(render, "data_digest", lambda: "other")  # the package's data changed: drawn again
    write_report(folder, quiet=True)
    assert bars == [2, 2, 2, 2]


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


@pytest.mark.integration
def test_report_in_a_browser_leads_with_the_answer(report_en, tmp_path):
    """report.html in headless chromium (Debian's, as the app's browser test): the answer and its table are on
    the first screen, above the charts and the parameter appendix."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"{chromium} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    html = (report_en.parent / "report.html").resolve()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(html.as_uri())

            def top(text: str) -> float:
                box = page.get_by_role("heading", name=text, exact=True).bounding_box()
                assert box is not None, text
                return box["y"]

            answer, appendix = top("1. The answer"), top("Appendix: parameters and their sources")
            charts = top("3. Charts")
            table = page.locator("h2:has-text('1. The answer') ~ table").first.bounding_box()
            assert answer < table["y"] < charts < appendix
            assert answer < 300 and table["y"] < 1000  # on the first screen
        finally:
            browser.close()
