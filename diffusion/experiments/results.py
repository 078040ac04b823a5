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
from diffusion.experiments.store import FORMAT, MANIFEST, as_recorded, settle
from diffusion.foundation.errors import ConfigError, ResultsError
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
        """A short summary (never the config): the folder, experiment, runs, scenarios, design and tables."""
        run, plan = self.run, self.run.get("plan") or {}
        lines = [f"Results({str(self.path)!r}: experiment {self.manifest.get('experiment')!r}, "
                 f"{run.get('runs_done', 0)} runs, analyses {', '.join(self.analyses) or 'none'})"]
        if plan:
            ref = plan.get("reference")
            lines.append(f"  scenarios: {', '.join(map(str, plan.get('scenarios') or []))}"
                         + (f" (reference: {ref})" if ref else ""))
            lines.append(f"  {plan.get('replications', '?')} replicates x {plan.get('design_points', 1)} design points"
                         + (f", summarised per {', '.join(plan['swept'])}" if plan.get("swept") else "")
                         + (f"; status {run['status']}" if run.get("status") else ""))
        tables = [n for n in (SUMMARY, TIMESERIES, BY_HAMLET, DESIGN) if (self.path / n).exists()]
        if tables:
            lines.append(f"  tables: {', '.join(tables)}")
        return "\n".join(lines)

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
        """A table of the folder (None when absent).

        Raises:
            ResultsError: the file differs from what the manifest recorded (size, SHA-256) or cannot be read.
        """
        p = self.path / name
        if not p.exists():
            return None
        hint = "rerun `diffusion run` with the same config to rebuild it from the task results in parts/"
        rec = (self.manifest.get("files") or {}).get(name)
        try:
            if as_recorded(p, rec) is False:
                raise ResultsError(p, "was changed or damaged after diffusion wrote it (its size or SHA-256 "
                                   "differs from manifest.json)", hint)
            return pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)
        except ResultsError:
            raise
        except OSError as e:
            raise ResultsError(p, f"cannot be read: {e.strerror or e}", hint) from None
        except Exception as e:  # noqa: BLE001 - pandas/pyarrow parse errors of many types: all mean "damaged"
            what = "CSV" if p.suffix == ".csv" else "Parquet"
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ResultsError(p, f"is not a readable {what} table ({first})", hint) from None

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
        return outcome_catalogue(metrics, sorted({t.by for t in targets() if t.by in present}), near=near,
                                 columns=ts.columns if ts is not None else ())


def load_results(path: str | Path) -> Results:
    """Open a results folder (``results/<experiment>`` or a ``--out`` folder).

    Raises:
        FileNotFoundError: no manifest.json there, or one this version cannot read.
        ResultsError: manifest.json is damaged (not JSON, or not a manifest at all).
    """
    p = Path(path)
    mf = p / MANIFEST
    if not mf.exists():
        raise FileNotFoundError(f"{p} has no {MANIFEST}: not a results folder of `diffusion run`")
    repair = ("rerun `diffusion run` with the same config and --out: it rebuilds the manifest from the task "
              "results in parts/ and reruns only what is missing")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ResultsError(mf, f"is unreadable ({getattr(e, 'strerror', None) or e})", repair) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("analyses", {}), dict):
        raise ResultsError(mf, f"is unreadable (a JSON {type(manifest).__name__}, not a manifest)", repair)
    if manifest.get("format") != FORMAT:
        raise FileNotFoundError(f"{mf} was written by an older version of diffusion; rerun the experiment "
                                "with --fresh to rewrite the folder")
    return Results(path=p, manifest=settle(manifest))
