"""Draw the charts of a results folder into ``<folder>/charts/<name>.{png,svg,pdf}`` and list them in the
folder's manifest (analysis kind "report").

Which charts: every registered family (``charts.registry``) whose analysis's tables are in the folder plans
the charts that apply; ``kinds`` keeps those of some analyses (``("sensitivity",)``); ``[outputs] charts`` of
the config selects families or chart names (absent, empty or ``["all"]``: every chart). The labels are in
the language asked for, else the config's ``[outputs] language`` (see ``charts.view``).

Drawing shows a progress bar on a terminal (``foundation.progress``). A rerun redraws nothing when nothing the
charts are drawn from has changed: ``inputs_key`` hashes the results' tables (their SHA-256 in the manifest),
the analyses' configs, the language, the chart selection, the package version and its data files; the manifest
keeps the key and the charts drawn with it (section ``analyses.report.drawn``), and when both match, and every
chart file is still there with its recorded size and SHA-256, the charts are reused as they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffusion.experiments.results import Results
from diffusion.experiments.store import ResultStore, file_digest
from diffusion.foundation.progress import progress_bar
from diffusion.foundation.sources import data_digest
from diffusion.foundation.version import __version__
from diffusion.presentation.charts import _draw, style
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


def draw_charts(view: ResultsView, kinds: Iterable[str] | None = None, quiet: bool = True) -> list[RenderedChart]:
    """Draw and save the planned charts into ``<folder>/charts`` (the manifest is not touched), with a
    progress bar on a terminal unless ``quiet``.

    A chart whose builder finds it does not apply (it raises ValueError) is skipped with a log message.
    """
    out_dir = view.folder / CHARTS_DIR
    done = []
    planned = planned_charts(view, kinds)
    with progress_bar(len(planned), unit="chart", desc="charts", quiet=quiet) as bar, \
            _draw.scenario_names(view.scenario_labels):
        for chart in planned:
            bar.set_postfix_str(chart.name, refresh=False)
            try:
                fig = chart.build()
            except ValueError as err:
                log.info("chart %s skipped: %s", chart.name, err)
                bar.update()
                continue
            png, svg, pdf = style.save(fig, out_dir / chart.name)
            done.append(RenderedChart(chart.name, chart.family, chart.caption, png, svg, pdf))
            log.debug("wrote %s", png)
            bar.update()
    return done


def inputs_key(view: ResultsView, kinds: Iterable[str] | None = None) -> str:
    """SHA-256 of what the charts are drawn from: the tables of the results (as the manifest records them), the
    analyses' configs, ``observed.csv``/``.parquet`` if present, the language, the chart selection, ``kinds``,
    the package version and its data files (``sources.data_digest``: observed points and sources)."""
    manifest = view.results.manifest
    files = {rel: rec.get("sha256") for rel, rec in sorted((manifest.get("files") or {}).items())
             if isinstance(rec, dict) and rec.get("analysis") != REPORT}
    for name in ("observed.csv", "observed.parquet"):
        if (view.folder / name).exists():
            files[name] = file_digest(view.folder / name)["sha256"]
    configs = {kind: {k: sec.get(k) for k in ("identity", "config_sha256", "config", "language")}
               for kind, sec in sorted((manifest.get("analyses") or {}).items())
               if kind != REPORT and isinstance(sec, dict)}
    what = {"version": __version__, "data": data_digest(), "language": view.language, "selection": view.selection,
            "kinds": sorted(kinds) if kinds is not None else None, "files": files, "configs": configs}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _scope(kinds: Iterable[str] | None) -> str:
    return "all" if kinds is None else ",".join(sorted(kinds))


def drawn_before(view: ResultsView, key: str, kinds: Iterable[str] | None = None) -> list[RenderedChart] | None:
    """The charts drawn earlier from the same inputs (``inputs_key``), if every file of them is still as it was
    written; else None (they must be drawn)."""
    manifest = view.results.manifest
    record = (((manifest.get("analyses") or {}).get(REPORT) or {}).get("drawn") or {}).get(_scope(kinds))
    if not isinstance(record, dict) or record.get("inputs") != key:
        return None
    files = manifest.get("files") or {}
    names = set(record.get("charts") or [])
    charts = []
    for chart in planned_charts(view, kinds):
        if chart.name not in names:
            continue
        paths = [view.folder / CHARTS_DIR / f"{chart.name}.{fmt}" for fmt in ("png", "svg", "pdf")]
        for path in paths:
            rec = files.get(path.relative_to(view.folder).as_posix())
            if not (isinstance(rec, dict) and path.is_file() and path.stat().st_size == rec.get("bytes")
                    and file_digest(path)["sha256"] == rec.get("sha256")):
                return None
        charts.append(RenderedChart(chart.name, chart.family, chart.caption, *paths))
    return charts if len(charts) == len(names) else None


def charts_of(view: ResultsView, kinds: Iterable[str] | None = None,
              quiet: bool = True) -> tuple[list[RenderedChart], str, bool]:
    """The charts of the results: reused when drawn before from the same inputs, else drawn. Returns the charts,
    the inputs' key and whether they were drawn now."""
    key = inputs_key(view, kinds)
    before = drawn_before(view, key, kinds)
    if before is not None:
        log.info("charts unchanged since they were drawn (same results, config and version): %d kept", len(before))
        return before, key, False
    return draw_charts(view, kinds, quiet=quiet), key, True


def record_files(folder: Path, paths: Iterable[Path], drawn: dict[str, Any] | None = None) -> None:
    """List files the presentation layer wrote in the folder's manifest (kind "report", with their size and
    SHA-256), and ``drawn`` (scope -> {"inputs": key, "charts": names}) in its report section. A manifest this
    version cannot read is left alone."""
    store = ResultStore(folder)
    manifest = store.read_manifest()
    if manifest is None or manifest.get("unreadable") or manifest.get("older"):
        log.warning("%s: the manifest could not be read; the charts and report are not listed in it", folder)
        return
    store.manifest = manifest
    for path in paths:
        store.record(path, REPORT)
    if drawn:
        section = manifest.setdefault("analyses", {}).setdefault(REPORT, {})
        section.setdefault("drawn", {}).update(drawn)
    store.save()


def drawn_record(kinds: Iterable[str] | None, key: str, charts: list[RenderedChart]) -> dict[str, Any]:
    """What ``record_files`` keeps of a drawing: its scope, inputs' key and charts."""
    return {_scope(kinds): {"inputs": key, "charts": [c.name for c in charts]}}


def render_charts(folder: str | Path | Results, language: str | None = None,
                  kinds: Iterable[str] | None = None, quiet: bool = True) -> list[RenderedChart]:
    """Draw every chart that applies to a results folder as PNG, SVG and PDF, and list them in its manifest.

    Args:
        folder: a results folder (or its ``Results``).
        language: "en" or "vi" (default: the config's ``[outputs] language``, else "en").
        kinds: only the charts of these analyses ("run", "sensitivity", "calibration"; default: all).
        quiet: no progress bar.

    Returns:
        The charts written, in report order.

    Raises:
        FileNotFoundError: not a results folder.
    """
    view = open_view(folder, language)
    charts, key, drawn = charts_of(view, kinds, quiet=quiet)
    if drawn:
        record_files(view.folder, [p for c in charts for p in c.paths], drawn_record(kinds, key, charts))
    return charts
