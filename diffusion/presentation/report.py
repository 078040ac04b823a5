"""The written report of an experiment: ``report.md`` and a self-contained ``report.html``.

``write_report(results_dir)`` reads a results folder (``experiments.results``), draws every applicable
chart (``charts/<name>.{png,svg,pdf}``, see ``charts.render``) and writes, in the config's
``[outputs] language``, the answer first and the details after it:

1. the answer: the question (the experiment's ``description``, or ``description_vi`` in Vietnamese), a few
   sentences on each scenario against the reference and one table chosen from the outcomes the levers in
   effect move (``answer``), per scenario and design point, and comparisons between two scenarios when
   summary.csv holds them;
2. the Resolution 09 targets by scenario: the value at the deadline, the households or people still short of
   it then, and the month the near-target (``[outputs] near_target``) and the target are reached, or "not
   reached by <last month>";
3. the charts with numbered captions;
4. the set-up: population (place, its size, basis and source), simulated period, replicates and seed, levers,
   scenarios (their ``label``/``label_vi`` and descriptions, and which levers are in effect in each);
5. how to reproduce: config hash, root seed, package versions, git commit, times, runs, commands;
appendices: the parameters and their sources, the Resolution 09 targets, model settings, every outcome of
summary.csv with a readable label, the configuration as read, and every observation the package ships. Text from
the package's data files is shown in the report's language: the Vietnamese columns (``*_vi``) of parameters.csv,
observations.csv and places.csv and the ``unit.*``, ``basis.*`` and ``target_note.*`` strings (a config's own
place has no Vietnamese basis: its source is shown as written).

The set-up is read from the validated config (``Results.config``), the provenance from the run's section of
the manifest, and the outcomes of summary.csv are labelled and formatted by their ``Outcome`` objects
(``summary_text``). User text (names, descriptions, labels) is escaped (``document.code`` and the
document's escaping). The charts and the report are listed in the manifest as files of kind "report"; a rerun
whose results, config, language and package version are unchanged redraws nothing (``freshness``). The HTML
embeds the charts as base64 PNG and its style sheet inline, and names sources as plain text: it opens offline
(``document``). ``diffusion report RESULTS_DIR`` runs ``report_main``; ``diffusion run`` calls
``write_report`` at the end.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from diffusion.experiments.config import ExperimentConfig
from diffusion.experiments.outcomes import Outcome
from diffusion.experiments.results import TIMESERIES
from diffusion.foundation import sources
from diffusion.foundation.files import atomic_write
from diffusion.foundation.strings import (
    STRINGS,
    fmt_month,
    fmt_number,
    fmt_pct,
    lever_label,
    metric_label,
    tr,
    tr_or,
    unit_label,
)
from diffusion.foundation.version import __version__
from diffusion.presentation import answer
from diffusion.presentation.charts.data import n_runs, of_scenario, scenarios_in
from diffusion.presentation.charts.render import RenderedChart, charts_of, drawn_record, record_files
from diffusion.presentation.charts.targets import target_status
from diffusion.presentation.charts.view import ResultsView, open_view
from diffusion.presentation.config_text import as_written, flatten, parameters_table, settings_text
from diffusion.presentation.document import Document, code
from diffusion.presentation.summary_text import (
    known_outcomes,
    near_target,
    outcome_label,
    outcome_values,
    summary_long,
    summary_rows,
    target_cells,
    target_sentence,
)

log = logging.getLogger(__name__)

__all__ = ["build_document", "report_main", "summary_rows", "write_report"]


def levers_in_effect(ts: pd.DataFrame) -> dict[str, list[str]]:
    """Scenario -> the levers that spent money or did something in its runs (read from the results)."""
    levers = sorted({c.split(".", 1)[1] for c in ts.columns if c.startswith("cum_cost.")})
    out = {}
    for scn in scenarios_in(ts):
        sub = of_scenario(ts, scn)
        active = []
        for lv in levers:
            cols = [c for c in sub.columns if c == f"cum_cost.{lv}" or c.startswith(f"{lv}.")]
            if cols and sub[cols].fillna(0).abs().to_numpy().max() > 0:
                active.append(lv)
        out[scn] = active
    return out


# ------------------------------------------------------------------------------------ the report
@dataclass
class _Inputs:
    """What the sections of the report read."""

    view: ResultsView
    charts: list[RenderedChart]

    @property
    def lang(self) -> str:
        return self.view.language

    @property
    def cfg(self) -> ExperimentConfig | None:
        return self.view.config

    @property
    def run(self) -> dict[str, Any]:
        """The run's section of the manifest (provenance)."""
        return self.view.results.run

    @property
    def ts(self) -> pd.DataFrame:
        return self.view.timeseries

    @cached_property
    def month_dates(self) -> dict[int, str]:
        return dict(zip(self.ts["month"].astype(int), self.ts["date"].astype(str)))

    @property
    def last_date(self) -> str:
        return self.month_dates[max(self.month_dates)]

    @cached_property
    def summary(self) -> pd.DataFrame | None:
        """summary.csv as ``summary_long`` (None without it)."""
        s = self.view.results.summary
        return summary_long(s) if s is not None else None

    @cached_property
    def outcomes(self) -> dict[str, Outcome]:
        return known_outcomes(self.view)

    def seed(self) -> object:
        return self.run.get("root_seed", self.cfg.experiment.seed if self.cfg is not None else "–")

    def name(self, scenario: str) -> str:
        """A scenario as the report names it: its ``label`` (``label_vi`` in Vietnamese) and its key in a code
        span, or the key alone."""
        label = self.view.scenario_labels.get(scenario)
        return f"{label} ({code(scenario)})" if label else code(scenario)

    def lever_kind(self, lever: str) -> str:
        """The kind of a lever of the config by its name (the name itself when the config does not say)."""
        sec = self.cfg.sections.levers.get(lever) if self.cfg is not None else None
        return str(sec.get("kind", lever)) if isinstance(sec, dict) else lever


def _answer(doc: Document, r: _Inputs) -> None:
    """The question, a few sentences on each scenario against the reference and one table (``answer``)."""
    lang = r.lang
    doc.heading(1, tr("report.answer", lang))
    exp = r.cfg.experiment if r.cfg is not None else None
    question = ((exp.description_vi if lang == "vi" else "") or exp.description) if exp is not None else ""
    doc.para(question or tr("report.no_description", lang))
    long = r.summary
    if long is None:
        doc.para(tr("report.no_summary", lang))
        return
    if long.empty:
        raw = r.view.results.summary
        doc.table(list(raw.columns), raw.astype(str).values.tolist())
        return
    in_effect = levers_in_effect(r.ts)
    kinds = [r.lever_kind(lv) for lvs in in_effect.values() for lv in lvs]
    products = answer.moved_products(kinds)
    main = long[long["reference"].isin(["", r.view.reference])]
    cols = answer.answer_columns(list(main["outcome"]), r.outcomes, products)
    design = answer.design_columns(long)
    doc.para(tr("report.answer_intro", lang, n=len(r.view.scenarios), reference=r.name(r.view.reference),
                runs=n_runs(r.ts), start=fmt_month(r.month_dates[min(r.month_dates)], lang),
                end=fmt_month(r.last_date, lang),
                products=", ".join(metric_label(f"share_{p}", lang, short=True) for p in products)))
    rows = []
    for key, group in main.groupby(["scenario", *design], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        values = {row.outcome: _value_text(row, r) for row in _rows(group)}
        rows.append([r.name(key[0]), *key[1:], *(values.get(o, "–") for o in cols.names)])
        if key[0] != r.view.reference:  # in words, on the products its own levers move
            own = answer.moved_products(r.lever_kind(lv) for lv in in_effect.get(key[0], []))
            text = answer.answer_sentence(r.name(key[0]) + _design_text(design, key[1:]), r.name(r.view.reference),
                                          values, answer.answer_columns(list(group["outcome"]), r.outcomes, own),
                                          r.outcomes, lang, r.last_date)
            if text:
                doc.para(text)
    doc.table([tr("col.scenario", lang), *(code(c) for c in design)]
              + [outcome_label(o, r.outcomes, lang, r.last_date) for o in cols.names], rows)
    doc.para(tr("report.headline_note", lang))
    _comparisons(doc, r, long[~long["reference"].isin(["", r.view.reference])], design)


def _design_text(design: list[str], values: tuple) -> str:
    return "".join(f", {code(c)} = {v}" for c, v in zip(design, values))


def _value_text(row, r: _Inputs) -> str:
    note = getattr(row, "note", None)
    if isinstance(note, str) and f"note.{note}" in STRINGS:  # "no_measurable_effect": no number to show
        return tr(f"note.{note}", r.lang)
    med, interval = outcome_values(row, r.outcomes.get(row.outcome), r.lang, r.month_dates)
    return med if interval in ("–", f"{med} – {med}") else f"{med} ({interval})"


def _comparisons(doc: Document, r: _Inputs, rows: pd.DataFrame, design: list[str]) -> None:
    """Rows of summary.csv that compare two scenarios other than the reference (paired on replicates)."""
    if rows.empty:
        return
    lang = r.lang
    doc.heading(2, tr("report.comparisons", lang))
    doc.table([tr("col.scenario", lang), tr("col.compared_with", lang), *(code(c) for c in design),
               tr("col.outcome", lang), tr("col.median", lang)],
              [[r.name(row.scenario), r.name(row.reference), *(getattr(row, c) for c in design),
                outcome_label(row.outcome, r.outcomes, lang, r.last_date), _value_text(row, r)]
               for row in _rows(rows)])


def _rows(table: pd.DataFrame) -> list[SimpleNamespace]:
    """The rows of a ``summary_long`` table as objects (column names with dots kept, unlike itertuples)."""
    return [SimpleNamespace(**rec) for rec in table.to_dict("records")]


def _population(doc: Document, r: _Inputs) -> None:
    lang = r.lang
    doc.heading(2, tr("report.population", lang))
    own = r.cfg.places.get(r.view.place_key or "") if r.cfg is not None else None  # a [places.<key>] table
    place = own or sources.places().get(r.view.place_key or "")
    if place is not None:
        doc.para(tr("report.place_line", lang, name=r.view.place or place.name,
                    households=fmt_number(place.households, lang), hamlets=fmt_number(place.hamlets, lang),
                    communes=fmt_number(place.communes, lang), basis=place.basis_in(lang),
                    source=code(place.source_url) if place.source_url else tr("word.unknown", lang)))
    pop = as_written(r.cfg.population if r.cfg is not None else None)
    if any(k != "place" for k in pop):
        doc.para(settings_text(pop, skip=("place",)))
    exp = r.cfg.experiment if r.cfg is not None else None
    months = r.month_dates
    doc.para(tr("report.period", lang, start=fmt_month(exp.start if exp else months[min(months)], lang),
                end=fmt_month(r.last_date, lang), months=max(months),
                reps=exp.replications if exp else n_runs(r.ts), seed=r.seed()))


def _levers(doc: Document, r: _Inputs) -> None:
    lang = r.lang
    levers = r.cfg.sections.levers if r.cfg is not None else {}
    if levers:
        doc.heading(2, tr("report.levers", lang))
        rows = [[code(name), lever_label(str(sec.get("kind", name)), lang), settings_text(sec, skip=("kind",))]
                for name, sec in levers.items()]
        doc.table([tr("col.lever", lang), tr("col.kind", lang), tr("col.settings", lang)], rows)


def _model_settings(doc: Document, r: _Inputs) -> None:
    lang = r.lang
    model = as_written(r.cfg.sections.model if r.cfg is not None else None)
    if model:
        doc.heading(1, tr("report.model", lang))
        doc.table([tr("col.setting", lang), tr("col.value", lang)], [[code(k), v] for k, v in flatten(model)])
        doc.para(tr("report.model_note", lang))


def _scenarios(doc: Document, r: _Inputs) -> None:
    lang, view = r.lang, r.view
    doc.heading(2, tr("report.scenarios", lang))
    sections = r.cfg.sections.scenarios if r.cfg is not None else {}
    rows = []
    for scn in view.scenarios:
        sec = as_written(sections.get(scn))
        description = (sec.get("description_vi") if lang == "vi" else "") or sec.get("description", "")
        rows.append([r.name(scn), str(description),
                     settings_text(sec, skip=("description", "description_vi", "label", "label_vi"))])
    doc.table([tr("col.scenario", lang), tr("col.description", lang), tr("col.settings", lang)], rows)
    doc.para(tr("report.reference_is", lang, name=r.name(view.reference)))
    in_effect = levers_in_effect(r.ts)
    all_levers = sorted({lv for v in in_effect.values() for lv in v})
    if all_levers:
        doc.heading(3, tr("report.levers_by_scenario", lang))
        doc.table([tr("col.scenario", lang)] + [code(lv) for lv in all_levers],
                  [[r.name(s)] + [tr("word.yes", lang) if lv in in_effect[s] else "" for lv in all_levers]
                   for s in view.scenarios])


def _parameters_and_targets(doc: Document, r: _Inputs) -> None:
    """The appendices of the parameters (parameters.csv) and the Resolution 09 targets, in ``r.lang``."""
    lang = r.lang
    doc.heading(1, tr("report.parameters", lang))
    params = parameters_table(lang)
    if params is not None:
        header = [tr_or(f"col.{c}", lang, c) for c in params.columns]
        rows = params.astype(str).values.tolist()
        if params.columns[0] == "name":
            rows = [[code(row[0])] + row[1:] for row in rows]
        if "basis" in params.columns:
            j = list(params.columns).index("basis")
            for row in rows:
                row[j] = tr_or(f"basis.{row[j]}", lang, row[j])
        doc.table(header, rows)
    doc.para(tr("report.see_sources", lang))
    doc.heading(1, tr("report.targets", lang))
    doc.table([tr("col.target", lang), tr("col.indicator", lang), tr("col.share", lang), tr("col.by", lang),
               tr("col.source", lang), tr("col.note", lang)],
              [[t.label(lang), code(t.metric), fmt_pct(t.share, lang), fmt_month(t.by, lang), code(t.source_url),
                tr_or(f"target_note.{t.target}", lang, t.note)] for t in sources.targets()])


def _targets_result(doc: Document, r: _Inputs) -> None:
    """Each scenario's standing against each target: a table (value at the deadline, runs meeting it, who is
    still short of it then, when the near-target and the target are reached) and the same in sentences."""
    lang = r.lang
    near = near_target(r.view)
    status = target_status(r.ts, near=near)
    if not status:
        return
    doc.heading(1, tr("report.targets_result", lang))
    doc.para(tr("target.about", lang, near=fmt_pct(near, lang)))
    rows = []
    for s in status:
        q = s.quantiles
        value = f"{fmt_pct(q['p50'], lang, 1)} ({fmt_pct(q['p5'], lang, 1)} – {fmt_pct(q['p95'], lang, 1)})"
        if not s.in_run:
            value += " — " + tr("note.run_ends", lang, date=fmt_month(s.date, lang))
        target = f"{s.target.label(lang)}: {fmt_pct(s.target.share, lang)}, {fmt_month(s.target.by, lang)}"
        cells = target_cells(s, lang)
        rows.append([r.name(s.scenario), target, value, f"{s.met}/{s.runs}", cells["short"], cells["unit"],
                     cells["near_when"], cells["when"]])
    doc.table([tr("col.scenario", lang), tr("col.target", lang), tr("col.value_at", lang), tr("col.met", lang),
               tr("col.shortfall", lang), tr("col.unit", lang),
               tr("col.near_reached", lang, near=fmt_pct(near, lang)),
               tr("col.target_reached", lang)], rows)
    for scn in dict.fromkeys(s.scenario for s in status):
        for s in (s for s in status if s.scenario == scn):
            doc.para(f"{r.name(scn)} — {target_sentence(s, lang)}")


def _charts(doc: Document, r: _Inputs) -> None:
    if r.charts:
        doc.heading(1, tr("report.charts", r.lang))
        for i, chart in enumerate(r.charts, start=1):
            doc.figure(i, chart, r.view.folder)


def _reproduce(doc: Document, r: _Inputs) -> None:
    lang, run = r.lang, r.run
    doc.heading(1, tr("report.reproduce", lang))
    doc.para(tr("report.reproduce_note", lang))
    versions = run.get("versions") or {}
    versions_text = ", ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else str(versions)
    git = run.get("git")
    if isinstance(git, dict) and git.get("commit"):
        commit = code(git["commit"]) + (f" ({tr('word.dirty', lang)})" if git.get("dirty") else "")
    else:
        commit = "`–`"
    command = run.get("command") or f"diffusion run {run.get('config_file') or '<config.toml>'}"
    facts = [
        ("fact.config_sha256", code(run.get("config_sha256", "–"))),
        ("fact.root_seed", code(r.seed())),
        ("fact.git_commit", commit),
        ("fact.versions", versions_text or "–"),
        ("fact.started", str(run.get("started") or "–")),
        ("fact.finished", str(run.get("finished") or "–")),
        ("fact.runs", f"{run.get('runs_done', '–')} / {run.get('runs_failed', '–')}"),
        ("fact.command", code(command)),
        ("fact.report_command", code(f"diffusion report {results_path(r.view.folder)}")),
    ]
    doc.table([tr("col.fact", lang), tr("col.value", lang)], [[tr(k, lang), v] for k, v in facts])


def results_path(folder: Path) -> str:
    """The results folder as a command should name it: relative to the working directory when inside it."""
    folder = Path(folder).resolve()
    try:
        return folder.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return folder.as_posix()


def _appendices(doc: Document, r: _Inputs) -> None:
    lang, long = r.lang, r.summary
    _parameters_and_targets(doc, r)
    _model_settings(doc, r)
    if long is not None and not long.empty:
        doc.heading(1, tr("report.summary_full", lang))
        design = answer.design_columns(long)
        rows = []
        for row in _rows(long):
            med, interval = outcome_values(row, r.outcomes.get(row.outcome), lang, r.month_dates)
            rows.append([r.name(row.scenario), *(getattr(row, c) for c in design),
                         outcome_label(row.outcome, r.outcomes, lang, r.last_date), med, interval])
        doc.table([tr("col.scenario", lang), *(code(c) for c in design), tr("col.outcome", lang),
                   tr("col.median", lang), tr("col.interval", lang)], rows)
    if r.run.get("config_text"):
        doc.heading(1, tr("report.config_text", lang))
        if r.run.get("config_file"):
            doc.para(code(r.run["config_file"]))
        doc.code(str(r.run["config_text"]))
    _sources(doc, lang)


def _sources(doc: Document, lang: str) -> None:
    """The appendix of every observation the package ships (observations.csv), in ``lang``."""
    doc.heading(1, tr("report.sources", lang))
    doc.para(tr("report.parameters_note", lang))
    doc.table([tr("col.place", lang), tr("col.indicator", lang), tr("col.value", lang), tr("col.unit", lang),
               tr("col.date", lang), tr("col.source", lang), tr("col.note", lang)],
              [_observation_row(o, lang) for o in sources.observations()])


def _observation_row(o: dict[str, str], lang: str) -> list[str]:
    """A row of observations.csv as the sources appendix shows it, in ``lang``."""
    text = {c: sources.in_language(o, c, lang) for c in ("place", "indicator", "value", "date", "note")}
    return [text["place"], text["indicator"], text["value"], unit_label(o["unit"], lang), text["date"],
            code(o["source_url"]), text["note"]]


def build_document(view: ResultsView, charts: list[RenderedChart]) -> Document:
    """The report's content for the results of a run and the charts drawn from them: the answer first, the
    details after it, the parameters in an appendix."""
    r = _Inputs(view, charts)
    name = r.cfg.name if r.cfg is not None else (view.results.manifest.get("experiment") or view.folder.name)
    doc = Document(tr("report.title", r.lang, name=name), r.lang)
    doc.para(tr("report.generated", r.lang, version=__version__, folder=view.folder.name))
    _answer(doc, r)
    _targets_result(doc, r)
    _charts(doc, r)
    doc.heading(1, tr("report.setup", r.lang))
    for section in (_population, _levers, _scenarios):
        section(doc, r)
    _reproduce(doc, r)
    _appendices(doc, r)
    return doc


def write_report(results_dir: str | Path, quiet: bool = False, language: str | None = None) -> Path:
    """Draw the charts of a results folder and write ``report.md`` and ``report.html`` into it; list them in
    the folder's manifest (kind "report").

    Args:
        results_dir: a results folder of ``diffusion run`` (manifest.json, timeseries.parquet, summary.csv, ...).
        quiet: log the paths written at DEBUG instead of INFO level.
        language: "en" or "vi" (default: the config's ``[outputs] language``, else "en").

    Returns:
        The path of report.md (report.html is beside it).

    Raises:
        FileNotFoundError: the folder holds no run (no timeseries.parquet) or is not a results folder.
    """
    folder = Path(results_dir)
    if not (folder / TIMESERIES).exists():
        raise FileNotFoundError(f"{folder / TIMESERIES} does not exist: is {folder} a results folder of "
                                "`diffusion run`?")
    view = open_view(folder, language)
    charts, key, drawn = charts_of(view, quiet=quiet)
    doc = build_document(view, charts)
    written = [*(p for c in charts for p in c.paths)] if drawn else []
    for path, text in ((view.folder / "report.md", doc.to_markdown()), (view.folder / "report.html", doc.to_html())):
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):  # unchanged: left as it is
            written.append(atomic_write(path, text))
    if written:
        record_files(view.folder, written, drawn_record(None, key, charts))
    (log.debug if quiet else log.info)("%s %s (%d charts)", "wrote" if written else "unchanged:",
                                       view.folder / "report.md", len(charts))
    return view.folder / "report.md"


def report_main(argv: list[str] | None = None) -> int:
    """``diffusion report RESULTS_DIR [--language en|vi] [-q]``: write the report of a results folder.

    Returns:
        0 on success, 1 when the folder is not a results folder (the message goes to stderr).
    """
    parser = argparse.ArgumentParser(prog="diffusion report",
                                     description="Draw the charts and write report.md/report.html of a results folder.")
    parser.add_argument("results_dir", type=Path, help="a results folder written by `diffusion run`")
    parser.add_argument("--language", choices=("en", "vi"), default=None,
                        help="language of labels and text (default: [outputs] language of the config)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        write_report(args.results_dir, quiet=args.quiet, language=args.language)
    except FileNotFoundError as err:
        print(f"diffusion report: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(report_main())
