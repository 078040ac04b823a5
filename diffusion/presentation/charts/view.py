"""What the charts and the report need of a results folder, on top of ``experiments.results.Results``: the
language of the labels, the reference scenario, the place's display name, the observations to mark on the
adoption charts, and the tables in a normal form (scenario as text, dates as "YYYY-MM").

The language is the one asked for, else the config's ``[outputs] language``, else the one an analysis
recorded in its section of the manifest, else English. Observations are ``observed.csv`` (or ``.parquet``)
at the top of the folder (columns metric, date, value, source, ...), else the package's observations of the
config's place preset (``data.observed_points``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.results import Results, load_results
from diffusion.foundation.strings import check_language
from diffusion.presentation.charts.data import observed_points, place_name, reference_scenario, scenarios_in


def normalise(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Scenario as text, date as "YYYY-MM" (None stays None)."""
    if df is None:
        return None
    df = df.copy()
    if "scenario" in df.columns:
        df["scenario"] = df["scenario"].astype(str)
    if "date" in df.columns:
        df["date"] = df["date"].astype(str).str.slice(0, 7)
    return df


@dataclass
class ResultsView:
    """A results folder as the charts and the report see it.

    Attributes:
        results: the folder (``experiments.results.Results``).
        language: "en" or "vi".
    """

    results: Results
    language: str = "en"

    @property
    def folder(self) -> Path:
        return self.results.path

    @property
    def config(self) -> ExperimentConfig | None:
        """The validated config of the run (None without one)."""
        return self.results.config

    @property
    def selection(self) -> list[str] | None:
        """``[outputs] charts`` of the config (None: every chart that applies)."""
        return self.config.outputs.charts if self.config is not None else None

    @cached_property
    def scenario_labels(self) -> dict[str, str]:
        """Scenario key -> the name the charts give it: ``label_vi`` in Vietnamese, else ``label`` (only scenarios
        with one)."""
        cfg = self.config
        out: dict[str, str] = {}
        for key, sec in (cfg.sections.scenarios.items() if cfg is not None else ()):
            label = (sec.label_vi if self.language == "vi" else "") or sec.label
            if label:
                out[key] = str(label)
        return out

    @cached_property
    def timeseries(self) -> pd.DataFrame | None:
        """The run's tidy long table, or None when the folder holds no run."""
        return normalise(self.results.timeseries)

    @cached_property
    def by_hamlet(self) -> pd.DataFrame | None:
        return normalise(self.results.by_hamlet)

    def table(self, kind: str, name: str) -> pd.DataFrame | None:
        """An analysis table (``table("sensitivity", "sobol")``), or None."""
        return normalise(self.results.table(kind, name))

    def applies(self, kind: str) -> bool:
        """Whether charts of analysis ``kind`` may apply: the run's need its table; the others check theirs."""
        return self.timeseries is not None if kind == "run" else True

    @cached_property
    def scenarios(self) -> list[str]:
        """Scenario names in order of appearance in the results (else as planned)."""
        return scenarios_in(self.timeseries) if self.timeseries is not None else self.results.scenarios

    @cached_property
    def reference(self) -> str:
        """The plan's reference scenario if it is in the results, else ``data.reference_scenario``."""
        ref = self.results.reference
        if ref is not None and str(ref) in self.scenarios:
            return str(ref)
        if not self.scenarios:
            return ""
        return reference_scenario(self.scenarios, self.config.reference if self.config is not None else None)

    @property
    def place_key(self) -> str | None:
        """The config's place preset, or None."""
        return self.config.population.place if self.config is not None else None

    @property
    def place(self) -> str | None:
        """The place's display name (with diacritics) in the language, or None."""
        own = self.config.places.get(self.place_key or "") if self.config is not None else None
        return own.name if own is not None else place_name(self.place_key, self.language)

    @cached_property
    def observed(self) -> pd.DataFrame:
        """Observations to mark on the adoption charts."""
        for suffix, read in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
            path = self.folder / f"observed{suffix}"
            if path.exists():
                return normalise(read(path))
        return normalise(observed_points(self.place_key))

    def section(self, kind: str) -> dict[str, Any]:
        """An analysis's section of the manifest ({} when it was not run here)."""
        return self.results.section(kind)


def results_language(results: Results, language: str | None = None) -> str:
    """The language asked for, else ``[outputs] language``, else an analysis's recorded language, else "en"."""
    if language is None and results.config is not None:
        language = results.config.outputs.language
    if language is None:
        language = next((results.section(k).get("language") for k in ("run", "sensitivity", "calibration")
                         if results.section(k).get("language")), None)
    return check_language(language or "en")


def open_view(folder: str | Path | Results, language: str | None = None) -> ResultsView:
    """A results folder (or ``Results``) for the charts and the report.

    Raises:
        FileNotFoundError: not a results folder (see ``experiments.results.load_results``).
        ValueError: a language other than "en" and "vi".
    """
    results = folder if isinstance(folder, Results) else load_results(folder)
    return ResultsView(results, results_language(results, language))
