"""Draw the charts of a results folder into ``<folder>/charts/<name>.{png,svg,pdf}`` and list them in the
folder's manifest (analysis kind "report").

Which charts: every registered family (``charts.registry``) whose analysis's tables are in the folder plans
the charts that apply; ``kinds`` keeps those of some analyses (``("sensitivity",)``); ``[outputs] charts`` of
the config selects families or chart names (absent, empty or ``["all"]``: every chart). The labels are in
the language asked for, else the config's ``[outputs] language`` (see ``charts.view``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from diffusion.experiments.results import Results
from diffusion.experiments.store import ResultStore
from diffusion.presentation.charts import style
from diffusion.presentation.charts.registry import Chart, families, selected
from diffusion.presentation.charts.view import ResultsView, open_view

log = logging.getLogger(__name__)

#: The store's name for the files the presentation layer writes.
REPORT = "report"
CHARTS_DIR = "charts"


@dataclass(frozen=True)
class RenderedChart:
    """A chart written to disk."""

    name: str
    family: str
    caption: str
    png: Path
    svg: Path
    pdf: Path

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        return self.png, self.svg, self.pdf


def planned_charts(view: ResultsView, kinds: Iterable[str] | None = None) -> list[Chart]:
    """Every chart that applies to the results, in report order, as ``[outputs] charts`` selects them."""
    charts = [c for f in families(kinds) if view.applies(f.kind) for c in f.planned(view)]
    return selected(charts, view.selection)


def draw_charts(view: ResultsView, kinds: Iterable[str] | None = None) -> list[RenderedChart]:
    """Draw and save the planned charts into ``<folder>/charts`` (the manifest is not touched).

    A chart whose builder finds it does not apply (it raises ValueError) is skipped with a log message.
    """
    out_dir = view.folder / CHARTS_DIR
    done = []
    for chart in planned_charts(view, kinds):
        try:
            fig = chart.build()
        except ValueError as err:
            log.info("chart %s skipped: %s", chart.name, err)
            continue
        png, svg, pdf = style.save(fig, out_dir / chart.name)
        done.append(RenderedChart(chart.name, chart.family, chart.caption, png, svg, pdf))
        log.debug("wrote %s", png)
    return done


def record_files(folder: Path, paths: Iterable[Path]) -> None:
    """List files the presentation layer wrote in the folder's manifest (kind "report", with their size and
    SHA-256). A manifest this version cannot read is left alone."""
    store = ResultStore(folder)
    manifest = store.read_manifest()
    if manifest is None or manifest.get("unreadable") or manifest.get("older"):
        log.warning("%s: the manifest could not be read; the charts and report are not listed in it", folder)
        return
    store.manifest = manifest
    for path in paths:
        store.record(path, REPORT)
    store.save()


def render_charts(folder: str | Path | Results, language: str | None = None,
                  kinds: Iterable[str] | None = None) -> list[RenderedChart]:
    """Draw every chart that applies to a results folder as PNG, SVG and PDF, and list them in its manifest.

    Args:
        folder: a results folder (or its ``Results``).
        language: "en" or "vi" (default: the config's ``[outputs] language``, else "en").
        kinds: only the charts of these analyses ("run", "sensitivity", "calibration"; default: all).

    Returns:
        The charts written, in report order.

    Raises:
        FileNotFoundError: not a results folder.
    """
    view = open_view(folder, language)
    charts = draw_charts(view, kinds)
    record_files(view.folder, [p for c in charts for p in c.paths])
    return charts
