"""Reading a results folder back (notebooks, charts, the report): ``load_results(folder)``.

A folder written by ``diffusion run`` (see ``experiments.store`` for who writes what) holds:

- ``manifest.json``: per analysis, the config as read (text and parsed), its SHA-256, the root seed, the
  plan's counts, package versions, the git commit, start and end times, runs done and failed (with the
  errors); every file written, with its size and SHA-256;
- ``timeseries.parquet``: the tidy long table: scenario, replicate, design_point, month, date and one
  column per monthly output (shares 0-1; ``cost.<lever>``/``cum_cost.<lever>`` in VND;
  ``<lever>.<activity>``). Lever columns of a lever absent from a scenario are 0;
- ``by_hamlet.parquet``: for places of several hamlets, the same keys plus ``hamlet`` and the shares of
  each hamlet;
- ``design.parquet``: design_point and the value of each uncertainty (experiments with a [design]);
- ``summary.csv``: per scenario and outcome, the median and the 5-95% interval over runs
  (``experiments.summary``);
- ``sensitivity/`` and ``calibration/``: the tables of those analyses, when they were run here.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.experiments.config import ExperimentConfig, load_config_text
from diffusion.experiments.outcomes import NEAR_TARGET, Outcome, outcome_catalogue
from diffusion.experiments.store import FORMAT, MANIFEST
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.sources import targets

log = logging.getLogger(__name__)

TIMESERIES = "timeseries.parquet"
BY_HAMLET = "by_hamlet.parquet"
DESIGN = "design.parquet"
SUMMARY = "summary.csv"


class Results:
    """A results folder; tables are read when first used.

    Attributes:
        path: the folder.
        manifest: manifest.json as a dict.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = Path(path)
        self.manifest = manifest

    def __repr__(self) -> str:
        run = self.run
        return (f"Results({str(self.path)!r}: experiment {self.manifest.get('experiment')!r}, "
                f"{run.get('runs_done', 0)} runs, analyses {', '.join(self.analyses) or 'none'})")

    @property
    def analyses(self) -> list[str]:
        """The analyses whose results the folder holds (run, sensitivity, calibration)."""
        return [k for k in self.manifest.get("analyses", {}) if k != "report"]

    @property
    def run(self) -> dict[str, Any]:
        """The manifest's section of ``diffusion run`` ({} when it was not run here)."""
        return self.manifest.get("analyses", {}).get("run", {})

    def section(self, kind: str) -> dict[str, Any]:
        """The manifest's section of an analysis ({} when it was not run here)."""
        return self.manifest.get("analyses", {}).get(kind, {})

    @cached_property
    def config(self) -> ExperimentConfig | None:
        """The config of the run as validated (None if it no longer validates; a warning says why)."""
        text = self.run.get("config_text")
        if not text:
            return None
        src = self.run.get("config_file", "<config>")
        try:
            return load_config_text(text, source=src, base_dir=Path(src).resolve().parent, build=False)
        except ConfigError as e:
            log.warning("the stored config no longer validates (%s)", e)
            return None

    def _table(self, name: str) -> pd.DataFrame | None:
        p = self.path / name
        if not p.exists():
            return None
        return pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)

    @cached_property
    def timeseries(self) -> pd.DataFrame | None:
        """The tidy long table (timeseries.parquet), or None."""
        return self._table(TIMESERIES)

    @cached_property
    def by_hamlet(self) -> pd.DataFrame | None:
        """by_hamlet.parquet, or None for a one-hamlet place."""
        return self._table(BY_HAMLET)

    @cached_property
    def summary(self) -> pd.DataFrame | None:
        """summary.csv, or None."""
        return self._table(SUMMARY)

    @cached_property
    def design(self) -> pd.DataFrame | None:
        """design.parquet, or None for an experiment without a design."""
        return self._table(DESIGN)

    def table(self, kind: str, name: str) -> pd.DataFrame | None:
        """A table of an analysis (``table("sensitivity", "sobol")``): its Parquet or CSV file, or None."""
        for suffix in (".parquet", ".csv"):
            t = self._table(f"{kind}/{name}{suffix}")
            if t is not None:
                return t
        return None

    @property
    def reference(self) -> str | None:
        return (self.run.get("plan") or {}).get("reference")

    @property
    def scenarios(self) -> list[str]:
        return list((self.run.get("plan") or {}).get("scenarios") or [])

    @cached_property
    def outcomes(self) -> dict[str, Outcome]:
        """The outcomes of summary.csv by name (with their units and labels)."""
        ts = self.timeseries
        metrics = self.config.metrics if self.config is not None else ()
        present = set(ts["date"]) if ts is not None else set()
        near = self.config.outputs.near_target if self.config is not None else NEAR_TARGET
        return outcome_catalogue(metrics, sorted({t.by for t in targets() if t.by in present}), near=near)


def load_results(path: str | Path) -> Results:
    """Open a results folder (``results/<experiment>`` or a ``--out`` folder).

    Raises:
        FileNotFoundError: no manifest.json there, or one this version cannot read.
    """
    p = Path(path)
    mf = p / MANIFEST
    if not mf.exists():
        raise FileNotFoundError(f"{p} has no {MANIFEST}: not a results folder of `diffusion run`")
    manifest = json.loads(mf.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FileNotFoundError(f"{mf} was written by an older version of diffusion; rerun the experiment "
                                "with --fresh to rewrite the folder")
    return Results(path=p, manifest=manifest)
