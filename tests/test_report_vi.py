"""The Vietnamese report is Vietnamese down to its appendices.

Every row of parameters.csv, observations.csv and places.csv has its text in Vietnamese (the ``*_vi`` columns,
in NFC, with the same numbers as the English), every unit a ``unit.*`` string; the Vietnamese report shows them
and none of the English, and the English report is unchanged. The appendices are built on their own (fast); the
whole report over the test results is marked integration.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from importlib import resources
from types import SimpleNamespace

import pytest

from diffusion.foundation import sources
from diffusion.foundation.sources import in_language, make_place, place, places
from diffusion.foundation.strings import STRINGS, unit_label
from diffusion.presentation import report
from diffusion.presentation.config_text import parameters_table
from diffusion.presentation.document import Document

#: data file -> the columns that have a Vietnamese twin ``<column>_vi``.
VI_COLUMNS = {
    "parameters.csv": ("source",),
    "observations.csv": ("place", "indicator", "value", "date", "note"),
    "places.csv": ("basis",),
}
#: English words that must not be left in a Vietnamese text (words of the files' notes).
ENGLISH = re.compile(r"\b(the|of|and|or|per|with|from|for|at|by|households?|derived|assumption|source|reported|"
                     r"census|about|rural|income|year|month|teams?|hamlets?|communes?|members|not|estimate)\b",
                     re.IGNORECASE)
#: Notes and sources as the English report shows them, absent from the Vietnamese report.
ENGLISH_NOTES = (
    "a judgement: village networks of 4-10 ties",  # parameters.csv source
    "households do not give smartphones up",
    "SIM and data activation taken as free",
    "seed article; implies about 113 hamlets in the rollout plan (derived)",  # observations.csv note
    "denominator (all ages vs adults) not stated",
    "VHLSS 2022 (GSO)",
    "households that installed and use internet",  # observations.csv indicator
    "Northern midlands and mountains",  # observations.csv place
    "reported 2026-01-05",  # observations.csv date
    "ties per household",  # a unit
)


def _raw_rows(name: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """(header, rows, comment lines) of a data file as stored (no Unicode normalisation)."""
    text = resources.files("diffusion.data").joinpath(name).read_text(encoding="utf-8")
    comments = [ln for ln in text.splitlines() if ln.startswith("#")]
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    reader = csv.DictReader(lines)
    rows = list(reader)
    return list(reader.fieldnames or []), rows, comments


def _numbers(text: str, lang: str) -> list[float]:
    """The numbers of a text as values: in English 7.6 and 70,000; in Vietnamese 7,6 and 70.000."""
    thousands, decimal = (",", ".") if lang == "en" else (".", ",")
    return sorted(float(n.replace(thousands, "").replace(decimal, "."))
                  for n in re.findall(r"\d+(?:[.,]\d+)*", text))


# ------------------------------------------------------------------ the data files
@pytest.mark.parametrize("name,column", [(n, c) for n, cols in VI_COLUMNS.items() for c in cols])
def test_every_row_has_its_vietnamese_text(name, column):
    header, rows, comments = _raw_rows(name)
    vi = f"{column}_vi"
    assert header.index(vi) == header.index(column) + 1  # beside the English
    assert any(vi in line for line in comments)  # the file's header says what the column is
    assert rows
    for row in rows:
        english, text = row[column], row[vi]
        where = f"{name} {column}: {english!r}"
        assert bool(text.strip()) == bool(english.strip()), where  # Vietnamese wherever there is English
        assert unicodedata.is_normalized("NFC", text), where
        assert text == text.strip(), where
        assert _numbers(text, "vi") == _numbers(english, "en"), where  # the same figures, dates and codes
        assert not ENGLISH.search(text), f"{where}: English word {ENGLISH.search(text)[0]!r} in {text!r}"


def test_every_unit_has_a_vietnamese_string_that_keeps_the_english():
    units = {r["unit"] for r in (*sources.parameters(), *sources.observations()) if r["unit"]}
    for unit in units:
        key = f"unit.{unit}"
        assert key in STRINGS, f"{key} is missing in diffusion/foundation/strings_units.py"
        assert STRINGS[key]["en"] == unit  # the English report shows the unit as written
        vi = unit_label(unit, "vi")
        assert unicodedata.is_normalized("NFC", STRINGS[key]["vi"]) and not ENGLISH.search(vi), (unit, vi)
    assert unit_label("ties per household", "vi") == "mối quan hệ mỗi hộ"
    assert unit_label("a unit of nobody's", "vi") == "a unit of nobody's"  # no string: as written


def test_readers_keep_the_english_and_give_the_vietnamese():
    row = sources.observations()[0]
    assert row["note"] == "seed article" and in_language(row, "note", "vi") == "bài báo gốc"
    assert in_language(row, "note", "en") == "seed article"
    assert in_language({"note": "x", "note_vi": ""}, "note", "vi") == "x"  # an empty twin falls back
    assert in_language({"note": "x"}, "note", "vi") == "x"
    # the model's reader of parameters.csv takes min, max and unit by name: the new column changes nothing
    from diffusion.model.params import PLAUSIBLE

    assert PLAUSIBLE["mean_degree"] == (2.0, 100.0, "ties per household")


def test_a_places_basis_in_vietnamese_and_a_configs_own_place_as_written():
    _, rows, _ = _raw_rows("places.csv")
    vi = {r["key"]: r["basis_vi"] for r in rows}
    for key, pl in places().items():
        assert pl.basis_in("en") == pl.basis
        assert pl.basis_in("vi") == unicodedata.normalize("NFC", vi[key]) != pl.basis
    own = make_place("ban_na", "Bản Nà", households=180, hamlets=1, source="commune report 2023")
    assert own.basis_in("vi") == own.basis_in("en") == "commune report 2023"
    # a Place of the Python API with a preset's key but other numbers is not the preset
    changed = dataclasses.replace(place("thon_dong"), households=300, basis="my own count")
    assert changed.basis_in("vi") == "my own count"
    assert "basis_vi" not in {f.name for f in dataclasses.fields(sources.Place)}  # setups hash Place fields


# ------------------------------------------------------------------ the appendices
def _appendices(lang: str) -> tuple[str, set[str], list[list[str]]]:
    """(Markdown, every table cell, every table header) of the parameter, target and source appendices."""
    doc = Document("t", lang)
    report._parameters_and_targets(doc, SimpleNamespace(lang=lang))
    report._sources(doc, lang)
    tables = [b for b in doc.blocks if b[0] == "table"]
    cells = {str(c) for t in tables for row in t[2] for c in row}
    return doc.to_markdown(), cells, [t[1] for t in tables]


def test_the_vietnamese_appendices_show_every_vietnamese_note_and_no_english_one():
    md, cells, headers = _appendices("vi")
    _, params, _ = _raw_rows("parameters.csv")
    _, observations, _ = _raw_rows("observations.csv")
    for r in params:
        if r["source_vi"]:
            assert unicodedata.normalize("NFC", r["source_vi"]) in cells, r["name"]
        assert unit_label(r["unit"], "vi") in cells
    for r in observations:
        for column in VI_COLUMNS["observations.csv"]:
            if r[f"{column}_vi"]:
                assert unicodedata.normalize("NFC", r[f"{column}_vi"]) in cells, (column, r[column])
        if r["note"] and r["note"] != r["note_vi"]:
            assert r["note"] not in cells
    for english in ENGLISH_NOTES:
        assert english not in cells and english not in md, english
    assert not any(c.endswith("_vi") for h in headers for c in h)  # no *_vi column of its own
    assert headers[0] == ["Tham số", "Giá trị", "Đơn vị", "Căn cứ", "Nguồn", "Hợp lý từ", "đến"]


def test_the_english_appendices_are_unchanged():
    md, cells, headers = _appendices("en")
    for english in ENGLISH_NOTES:
        assert english in cells, english
    for vi in ("bài báo gốc", "mối quan hệ mỗi hộ", "nhận định: mạng lưới ở làng có 4-10 mối quan hệ",
               "Trung du và miền núi phía Bắc", "khoảng 2023"):
        assert vi not in md
    table = parameters_table("en")
    assert list(table.columns) == ["name", "value", "unit", "basis", "source", "min", "max"]
    assert table.to_dict("records") == [{k: v for k, v in r.items() if not k.endswith("_vi")}
                                        for r in sources.parameters()]
    assert headers[0] == ["Parameter", "Value", "Unit", "Basis", "Source", "Plausible from", "to"]
    assert headers[-1] == ["Place", "Indicator", "Value", "Unit", "Date", "Source", "Note"]


@pytest.mark.integration
def test_the_whole_vietnamese_report(copy_results):
    """The report over the (simulated) test results: the population's basis and both appendices in Vietnamese,
    in Markdown and HTML; the English report of the same folder keeps the English."""
    from conftest import set_outputs

    folder = copy_results("vi_whole")
    set_outputs(folder, charts=["dashboard"], language="vi")
    md = report.write_report(folder, quiet=True).read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    basis_vi = place("commune").basis_in("vi")
    assert f"Căn cứ: {basis_vi}." in md and "8 hamlets = 1473 digital teams" not in md
    appendices = md[md.index("## Phụ lục: tham số và nguồn"):]
    for text in (appendices, html):
        for english in ENGLISH_NOTES:
            assert english not in text, english
        assert "nhận định: mạng lưới ở làng có 4-10 mối quan hệ" in text and "bài báo gốc" in text
    english = report.write_report(folder, quiet=True, language="en").read_text(encoding="utf-8")
    assert place("commune").basis in english and "a judgement: village networks of 4-10 ties" in english
    assert "bài báo gốc" not in english


# ------------------------------------------------------------------ labels are text only
