"""Every default number of the model has a documented basis, and the package data keep their sources."""

import dataclasses

import pytest

from diffusion import ModelParams
from diffusion.foundation.sources import _read_csv, observations, places, targets
from diffusion.model.params import ProductParams
from diffusion.model.products import PRODUCTS

NON_NUMERIC = {"mechanism", "network", "homogeneous", "initial_adoption", "active_products", "products"}


def _defaults():
    prm = ModelParams()
    out = {f.name: getattr(prm, f.name) for f in dataclasses.fields(ModelParams) if f.name not in NON_NUMERIC}
    for p in PRODUCTS:
        for f in dataclasses.fields(ProductParams):
            out[f"{p}.{f.name}"] = getattr(prm.products[p], f.name)
    return out


def test_every_default_has_a_basis_and_the_same_value():
    table = {r["name"]: r for r in _read_csv("parameters.csv")}
    defaults = _defaults()
    assert set(defaults) == set(table), set(defaults) ^ set(table)
    for name, value in defaults.items():
        row = table[name]
        assert float(row["value"]) == pytest.approx(float(value)), name
        assert row["basis"] in ("source", "derived", "calibrated", "assumption"), name
        if row["basis"] != "assumption":
            assert row["source"], f"{name} says {row['basis']} but gives no source"
        if row["basis"] == "calibrated":
            assert "docs/calibration.md" in row["source"], name


def test_observations_keep_their_source_column():
    rows = observations()
    assert len(rows) > 30
    assert all(r["source_url"].startswith("http") for r in rows)
    assert any(r["value"] == "275" for r in rows)


def test_places_and_targets_are_sourced():
    for p in places().values():
        assert p.basis
    tg = {t.target: t for t in targets()}
    assert tg["fibre_households"].share == 0.95
    assert all(t.source_url.startswith("http") for t in targets())


def test_the_readme_parameter_table_is_parameters_csv():
    """The README's table of parameters (for users) shows exactly the rows of parameters.csv."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("| parameter | default | unit | basis | source or note |")
    lines = readme[start:].split("\n\n", 1)[0].splitlines()[2:]
    shown = {line.split("|")[1].strip().strip("`"): line.split("|")[2].strip() for line in lines}
    table = {r["name"]: r["value"] for r in _read_csv("parameters.csv")}
    assert shown == table
