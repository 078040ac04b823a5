"""The written report of an experiment: ``report.md`` and a self-contained ``report.html``.

``write_report(results_dir)`` reads a results folder (see ``diffusion.charts.render``), draws every
applicable chart (``charts/<name>.{png,svg,pdf}``) and writes, in the config's ``[outputs] language``:

1. the question: the experiment's name and description;
2. the set-up: population (place preset, its size and source), simulated period, replicates and seed,
   model settings, levers, scenarios (and which levers are in effect in each, read from the results),
   parameter sources and the Resolution 09 targets;
3. the headline results: key outcomes of summary.csv per scenario, and each scenario's standing against
   each Resolution 09 target;
4. the charts with numbered captions;
5. how to reproduce: config hash, root seed, package versions, git commit, times, runs, command;
appendices: every outcome of summary.csv with a readable label, the configuration as read, and every
observation the package ships (diffusion/data/observations.csv) with its source.

The HTML embeds the charts as base64 PNG and its style sheet inline, and names sources as plain text:
it opens offline, with no external address to fetch. ``diffusion report RESULTS_DIR`` runs
``report_main``; ``diffusion run`` calls ``write_report`` at the end.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from diffusion import __version__
from diffusion.foundation import sources
from diffusion.foundation.strings import STRINGS, fmt_month, fmt_number, fmt_pct, lever_label, metric_label, tr
from diffusion.presentation.charts.data import n_runs, of_scenario, scenarios_in
from diffusion.presentation.charts.render import RenderedChart, Results, load_results, render_results
from diffusion.presentation.charts.style import atomic_write
from diffusion.presentation.charts.targets import target_status

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------- document model
@dataclass
class Document:
    """A report as a list of blocks, rendered to Markdown or HTML.

    Inline text may contain `code` spans (backticks); everything else is escaped.
    """

    title: str
    lang: str = "en"
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        """A section heading (level 1 is a section under the title)."""
        self.blocks.append(("h", level, text))

    def para(self, text: str) -> None:
        """A paragraph."""
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[object]]) -> None:
        """A table (nothing if there are no rows); None and NaN cells show as "–"."""
        if rows:
            self.blocks.append(("table", header, [[_cell(c) for c in r] for r in rows]))

    def figure(self, number: int, chart: RenderedChart, folder: Path) -> None:
        """A numbered chart with its caption (paths relative to the report's ``folder``)."""
        self.blocks.append(("figure", number, chart, folder))

    def code(self, text: str) -> None:
        """A block of verbatim text (the configuration)."""
        self.blocks.append(("code", text))

    # ------------------------------------------------------------------------------ Markdown
    def to_markdown(self) -> str:
        """The document as Markdown (charts linked as files beside it)."""
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                out += ["#" * (b[1] + 1) + " " + b[2], ""]
            elif kind == "p":
                out += [b[1], ""]
            elif kind == "table":
                out.append("| " + " | ".join(_md_cell(h) for h in b[1]) + " |")
                out.append("|" + "|".join("---" for _ in b[1]) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b[2]]
                out.append("")
            elif kind == "code":
                fence = "~~~~" if "```" in b[1] else "```"
                out += [fence + "toml", b[1].rstrip("\n"), fence, ""]
            elif kind == "figure":
                _, n, chart, folder = b
                rel = chart.png.relative_to(folder).as_posix()
                caption = f"{tr('report.figure', self.lang, n=n)}. {chart.caption}"
                svg, pdf = (p.relative_to(folder).as_posix() for p in (chart.svg, chart.pdf))
                label = tr("report.figure", self.lang, n=n)
                out += [f"![{label}]({rel})", "", f"*{caption}* ([SVG]({svg}) · [PDF]({pdf}))", ""]
        return "\n".join(out).rstrip() + "\n"

    # ---------------------------------------------------------------------------------- HTML
    def to_html(self) -> str:
        """The document as one self-contained HTML page (charts embedded as base64 PNG)."""
        body = [f"<h1>{_inline(self.title)}</h1>"]
        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                level = min(6, b[1] + 1)
                body.append(f"<h{level}>{_inline(b[2])}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline(b[1])}</p>")
            elif kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif kind == "code":
                body.append(f"<pre><code>{html.escape(b[1].rstrip())}</code></pre>")
            elif kind == "figure":
                _, n, chart, folder = b
                data = base64.b64encode(chart.png.read_bytes()).decode("ascii")
                caption = f"{tr('report.figure', self.lang, n=n)}. {chart.caption}"
                svg, pdf = (p.relative_to(folder).as_posix() for p in (chart.svg, chart.pdf))
                body.append(
                    f'<figure id="{html.escape(chart.name)}"><img alt="{html.escape(caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption><strong>{_inline(tr('report.figure', self.lang, n=n))}.</strong> "
                    f"{_inline(chart.caption)} <span class=\"files\">(<a href=\"{html.escape(svg)}\">SVG</a> · "
                    f"<a href=\"{html.escape(pdf)}\">PDF</a>)</span></figcaption></figure>"
                )
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{self.lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n"
        )


_CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #222; background: #fff;
       line-height: 1.45; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f2f2f2; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em; }
code.url { overflow-wrap: anywhere; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #333; } .files { color: #666; }
@media print { figure { break-inside: avoid; } }
"""


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return str(value)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    """HTML-escape ``text`` and turn `code` spans into <code> elements."""
    escaped = html.escape(str(text), quote=False)

    def code(m: re.Match) -> str:
        cls = ' class="url"' if "://" in m[1] else ""
        return f"<code{cls}>{m[1]}</code>"

    return re.sub(r"`([^`]+)`", code, escaped)


# ------------------------------------------------------------------------------------ formatting
def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, text) pairs of a nested config section."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    return [(prefix, text)]


def _settings_text(section: object, skip: tuple[str, ...] = ()) -> str:
    pairs = [(k, v) for k, v in _flatten(section) if k not in skip]
    return "; ".join(f"`{k}` = {v}" for k, v in pairs) if pairs else "–"


def _format_value(outcome: str, value: float, lang: str) -> str:
    """A value of an unrecognised outcome: shares as percentages, others with thousands separators."""
    if value is None or not np.isfinite(value):
        return "–"
    if "share" in outcome.lower() and abs(value) <= 1.0:
        return fmt_pct(value, lang, 1)
    if abs(value) >= 100 or float(value).is_integer():
        return fmt_number(value, lang, 0)
    return fmt_number(value, lang, 2 if abs(value) < 1 else 1)


def summary_long(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv as one row per scenario and outcome: scenario, outcome, median, p5, p95, mean, date.

    Reads the long format of the experiment layer (scenario, outcome, median, p05|p5, p95, [mean, date,
    ...]) and a wide one (scenario, <outcome>_median, <outcome>_p5|_p05, <outcome>_p95); empty if neither.
    """
    cols = ["scenario", "outcome", "median", "p5", "p95", "mean", "date"]
    if {"scenario", "outcome", "median"} <= set(summary.columns):
        out = pd.DataFrame({
            "scenario": summary["scenario"].astype(str), "outcome": summary["outcome"].astype(str),
            "median": pd.to_numeric(summary["median"], errors="coerce"),
            "p5": pd.to_numeric(summary.get("p05", summary.get("p5", np.nan)), errors="coerce"),
            "p95": pd.to_numeric(summary.get("p95", np.nan), errors="coerce"),
            "mean": pd.to_numeric(summary.get("mean", np.nan), errors="coerce"),
            "date": summary.get("date", pd.Series([None] * len(summary))).where(lambda d: d.notna(), None),
        })
        return out[cols].reset_index(drop=True)
    if "scenario" in summary.columns:
        outcomes = [c[: -len("_median")] for c in summary.columns if c.endswith("_median")]
        rows = []
        for _, r in summary.iterrows():
            for o in outcomes:
                low = r.get(f"{o}_p05", r.get(f"{o}_p5", np.nan))
                high = r.get(f"{o}_p95", np.nan)
                rows.append([str(r["scenario"]), o, float(r[f"{o}_median"]), float(low), float(high), np.nan, None])
        return pd.DataFrame(rows, columns=cols)
    return pd.DataFrame(columns=cols)


def summary_rows(summary: pd.DataFrame) -> list[tuple[str, str, float, float, float]]:
    """(scenario, outcome, median, p5, p95) of every row of summary.csv (see ``summary_long``)."""
    long = summary_long(summary)
    return [(r.scenario, r.outcome, float(r.median), float(r.p5), float(r.p95)) for r in long.itertuples()]


def _target_label(key: str, lang: str) -> str:
    for t in sources.targets():
        if t.target == key:
            return t.label(lang)
    return key


def outcome_label(outcome: str, lang: str, last_date: str | None = None) -> str:
    """A readable label of a summary.csv outcome name (the name itself when it is not recognised)."""
    def metric(m: str) -> str:
        return metric_label(m, lang, short=True)

    def indicator(i: str) -> str:
        return metric_label(f"share_{i}", lang, short=True)

    end = fmt_month(last_date, lang) if last_date else ""
    patterns = (
        (r"final\.(share_\w+)", lambda m: tr("outcome.final", lang, metric=metric(m[1]), date=end)),
        (r"(\d{4}-\d{2})\.(share_\w+)", lambda m: tr("outcome.at", lang, metric=metric(m[2]),
                                                      date=fmt_month(m[1], lang))),
        (r"month_reached\.(\w+)", lambda m: tr("outcome.month_reached", lang, target=_target_label(m[1], lang))),
        (r"reached\.(\w+)", lambda m: tr("outcome.reached", lang, target=_target_label(m[1], lang))),
        (r"total_cost_vnd", lambda m: tr("outcome.total_cost", lang)),
        (r"diff\.final\.(share_\w+)", lambda m: tr("outcome.diff_final", lang, metric=metric(m[1]), date=end)),
        (r"diff\.(\d{4}-\d{2})\.(share_\w+)", lambda m: tr("outcome.diff_at", lang, metric=metric(m[2]),
                                                            date=fmt_month(m[1], lang))),
        (r"months_earlier\.(\w+)", lambda m: tr("outcome.months_earlier", lang, target=_target_label(m[1], lang))),
        (r"additional_households\.(\w+)", lambda m: tr("outcome.additional", lang, indicator=indicator(m[1]))),
        (r"additional_cost_vnd", lambda m: tr("outcome.additional_cost", lang)),
        (r"cost_per_additional_vnd\.(\w+)",
         lambda m: tr("outcome.cost_per_additional", lang, indicator=indicator(m[1]))),
    )
    for pattern, label in patterns:
        m = re.fullmatch(pattern, outcome)
        if m:
            return label(m)
    return outcome


def outcome_values(row, lang: str, month_dates: dict[int, str]) -> tuple[str, str]:
    """(median, 5–95% interval) of a ``summary_long`` row as text, in the outcome's unit."""
    o, med, lo, hi = row.outcome, row.median, row.p5, row.p95

    def interval(fmt) -> str:
        return f"{fmt(lo)} – {fmt(hi)}" if np.isfinite(lo) and np.isfinite(hi) else "–"

    if re.fullmatch(r"(final|\d{4}-\d{2})\.share_\w+", o):
        def fmt(v):
            return fmt_pct(v, lang, 1)
    elif o.startswith("diff."):
        def fmt(v):
            return ("+" if v > 0 else "") + fmt_number(100 * v, lang, 1) + " " + tr("word.pp", lang)
    elif o.startswith("month_reached."):
        def fmt(v):
            if not np.isfinite(v):
                return tr("word.never", lang)
            return fmt_month(month_dates.get(int(v), str(int(v))), lang)
        text = fmt_month(row.date, lang) if isinstance(row.date, str) and row.date else fmt(med)
        if not (np.isfinite(lo) or np.isfinite(hi)):
            return text, "–"
        return text, f"{fmt(lo)} – {fmt(hi)}"
    elif o.startswith("reached."):
        share = row.mean if np.isfinite(row.mean) else med
        return tr("word.of_runs", lang, pct=fmt_pct(share, lang, 0)), "–"
    elif o.startswith("months_earlier."):
        def fmt(v):
            return fmt_number(v, lang, 1) if np.isfinite(v) else "–"
    elif o.startswith(("additional_households.", "total_cost", "additional_cost", "cost_per_additional")):
        def fmt(v):
            return fmt_number(v, lang, 0) if np.isfinite(v) else "–"
    else:
        def fmt(v):
            return _format_value(o, v, lang)
    return (fmt(med) if np.isfinite(med) else "–"), interval(fmt)


def headline_outcomes(outcomes: list[str]) -> list[str]:
    """The outcomes of the headline table, in order: the three Resolution 09 indicators at the target
    date (else at the end), total spending, additional internet households and their cost."""
    by = sorted({t.by for t in sources.targets()})
    wanted = []
    for m in ("share_internet", "share_fibre", "share_working_age_smartphone"):
        choice = next((f"{d}.{m}" for d in by if f"{d}.{m}" in outcomes), f"final.{m}")
        wanted.append(choice)
    wanted += ["total_cost_vnd", "additional_households.internet", "cost_per_additional_vnd.internet"]
    return [o for o in wanted if o in outcomes]


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


def _parameters_table() -> pd.DataFrame | None:
    """diffusion/data/parameters.csv (parameter provenance) if the package ships it and it has rows."""
    try:
        rows = sources.parameters()
    except OSError:
        return None
    return pd.DataFrame(rows) if rows else None


# ------------------------------------------------------------------------------------ the report
def build_document(res: Results, charts: list[RenderedChart]) -> Document:
    """The report's content for results ``res`` and the charts drawn from them."""
    lang, cfg, ts, man = res.language, res.config, res.timeseries, res.manifest
    exp = cfg.get("experiment") or {}
    name = str(exp.get("name") or man.get("experiment") or res.folder.name)
    doc = Document(tr("report.title", lang, name=name), lang)
    doc.para(tr("report.generated", lang, version=__version__, folder=res.folder.name))
    month_dates = dict(zip(ts["month"].astype(int), ts["date"].astype(str)))
    last_date = month_dates[max(month_dates)]

    # 1. the question
    doc.heading(1, tr("report.question", lang))
    doc.para(str(exp.get("description") or man.get("description") or tr("report.no_description", lang)))

    # 2. the set-up
    doc.heading(1, tr("report.setup", lang))
    doc.heading(2, tr("report.population", lang))
    place = sources.places().get(res.place_key or "")
    if place is not None:
        doc.para(tr("report.place_line", lang, name=res.place or place.name,
                    households=fmt_number(place.households, lang), hamlets=fmt_number(place.hamlets, lang),
                    communes=fmt_number(place.communes, lang), basis=place.basis,
                    source=f"`{place.source_url}`" if place.source_url else tr("word.unknown", lang)))
    pop = cfg.get("population")
    if isinstance(pop, dict) and any(k != "place" for k in pop):
        doc.para(_settings_text(pop, skip=("place",)))
    doc.para(tr("report.period", lang, start=fmt_month(str(exp.get("start") or month_dates[min(month_dates)]), lang),
                end=fmt_month(last_date, lang), months=max(month_dates),
                reps=exp.get("replications", n_runs(ts)), seed=man.get("root_seed", exp.get("seed", "–"))))
    if cfg.get("model"):
        doc.heading(2, tr("report.model", lang))
        doc.table([tr("col.setting", lang), tr("col.value", lang)],
                  [[f"`{k}`", v] for k, v in _flatten(cfg["model"])])
        doc.para(tr("report.model_note", lang))
    levers = cfg.get("levers") or {}
    if levers:
        doc.heading(2, tr("report.levers", lang))
        rows = []
        for lname, sec in levers.items():
            kind = sec.get("kind", lname) if isinstance(sec, dict) else lname
            rows.append([f"`{lname}`", lever_label(str(kind), lang), _settings_text(sec, skip=("kind",))])
        doc.table([tr("col.lever", lang), tr("col.kind", lang), tr("col.settings", lang)], rows)
    doc.heading(2, tr("report.scenarios", lang))
    scen_cfg = cfg.get("scenarios") or {}
    rows = []
    for scn in res.scenarios:
        sec = scen_cfg.get(scn, {}) if isinstance(scen_cfg, dict) else {}
        sec = sec if isinstance(sec, dict) else {}
        rows.append([f"`{scn}`", str(sec.get("description", "")), _settings_text(sec, skip=("description",))])
    doc.table([tr("col.scenario", lang), tr("col.description", lang), tr("col.settings", lang)], rows)
    doc.para(tr("report.reference_is", lang, name=f"`{res.reference}`"))
    in_effect = levers_in_effect(ts)
    all_levers = sorted({lv for v in in_effect.values() for lv in v})
    if all_levers:
        doc.heading(3, tr("report.levers_by_scenario", lang))
        doc.table([tr("col.scenario", lang)] + [f"`{lv}`" for lv in all_levers],
                  [[f"`{s}`"] + [tr("word.yes", lang) if lv in in_effect[s] else "" for lv in all_levers]
                   for s in res.scenarios])
    doc.heading(2, tr("report.parameters", lang))
    params = _parameters_table()
    if params is not None:
        header = [tr(f"col.{c}", lang) if f"col.{c}" in STRINGS else c for c in params.columns]
        rows = params.astype(str).values.tolist()
        if params.columns[0] == "name":
            rows = [[f"`{r[0]}`"] + r[1:] for r in rows]
        if "basis" in params.columns:
            j = list(params.columns).index("basis")
            for r in rows:
                r[j] = tr(f"basis.{r[j]}", lang) if f"basis.{r[j]}" in STRINGS else r[j]
        doc.table(header, rows)
    doc.para(tr("report.see_sources", lang))
    doc.heading(2, tr("report.targets", lang))
    doc.table([tr("col.target", lang), tr("col.indicator", lang), tr("col.share", lang), tr("col.by", lang),
               tr("col.source", lang), tr("col.note", lang)],
              [[t.label(lang), f"`{t.metric}`", fmt_pct(t.share, lang),
                fmt_month(t.by, lang), f"`{t.source_url}`", t.note] for t in sources.targets()])

    # 3. headline results
    doc.heading(1, tr("report.results", lang))
    long = summary_long(res.summary) if res.summary is not None else None
    if long is None:
        doc.para(tr("report.no_summary", lang))
    elif long.empty:
        doc.table(list(res.summary.columns), res.summary.astype(str).values.tolist())
    else:
        heads = headline_outcomes(list(dict.fromkeys(long["outcome"])))
        if heads:
            doc.para(tr("report.headline_note", lang))
            cells = {(r.scenario, r.outcome): outcome_values(r, lang, month_dates) for r in long.itertuples()}
            rows = []
            for scn in dict.fromkeys(long["scenario"]):
                row = [f"`{scn}`"]
                for o in heads:
                    med, interval = cells.get((scn, o), ("–", "–"))
                    row.append(med if interval in ("–", f"{med} – {med}") else f"{med} ({interval})")
                rows.append(row)
            doc.table([tr("col.scenario", lang)] + [outcome_label(o, lang, last_date) for o in heads], rows)
    status = target_status(ts)
    if status:
        doc.heading(2, tr("report.targets_result", lang))
        rows = []
        for s in status:
            q = s.quantiles
            label = s.target.label(lang)
            value = f"{fmt_pct(q['p50'], lang, 1)} ({fmt_pct(q['p5'], lang, 1)} – {fmt_pct(q['p95'], lang, 1)})"
            if not s.in_run:
                value += " — " + tr("note.run_ends", lang, date=fmt_month(s.date, lang))
            rows.append([f"`{s.scenario}`", f"{label}: {fmt_pct(s.target.share, lang)}, {fmt_month(s.target.by, lang)}",
                         value, f"{s.met}/{s.runs}",
                         fmt_month(s.reached, lang) if s.reached else tr("word.never", lang)])
        doc.table([tr("col.scenario", lang), tr("col.target", lang), tr("col.value_at", lang), tr("col.met", lang),
                   tr("col.reached", lang)], rows)

    # 4. charts
    if charts:
        doc.heading(1, tr("report.charts", lang))
        for i, chart in enumerate(charts, start=1):
            doc.figure(i, chart, res.folder)

    # 5. reproduce
    doc.heading(1, tr("report.reproduce", lang))
    doc.para(tr("report.reproduce_note", lang))
    versions = man.get("versions") or {}
    versions_text = ", ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else str(versions)
    git = man.get("git")
    if isinstance(git, dict) and git.get("commit"):
        commit = f"`{git['commit']}`" + (f" ({tr('word.dirty', lang)})" if git.get("dirty") else "")
    else:
        commit = f"`{man.get('git_commit') or '–'}`"
    config_file = man.get("config_file") or man.get("config_path")
    command = man.get("command") or f"diffusion run {config_file or '<config.toml>'}"
    facts = [
        ("fact.config_sha256", f"`{man.get('config_sha256', '–')}`"),
        ("fact.root_seed", f"`{man.get('root_seed', exp.get('seed', '–'))}`"),
        ("fact.git_commit", commit),
        ("fact.versions", versions_text or "–"),
        ("fact.started", str(man.get("started") or "–")),
        ("fact.finished", str(man.get("finished") or "–")),
        ("fact.runs", f"{man.get('runs_done', '–')} / {man.get('runs_failed', '–')}"),
        ("fact.command", f"`{command}`; `diffusion report {res.folder.name}`"),
    ]
    doc.table([tr("col.fact", lang), tr("col.value", lang)], [[tr(k, lang), v] for k, v in facts])

    # appendices: every outcome, the config as read, the sources
    if long is not None and not long.empty:
        doc.heading(1, tr("report.summary_full", lang))
        rows = []
        for r in long.itertuples():
            med, interval = outcome_values(r, lang, month_dates)
            rows.append([f"`{r.scenario}`", outcome_label(r.outcome, lang, last_date), med, interval])
        doc.table([tr("col.scenario", lang), tr("col.outcome", lang), tr("col.median", lang),
                   tr("col.interval", lang)], rows)
    if man.get("config_text"):
        doc.heading(1, tr("report.config_text", lang))
        if config_file:
            doc.para(f"`{config_file}`")
        doc.code(str(man["config_text"]))
    doc.heading(1, tr("report.sources", lang))
    doc.para(tr("report.parameters_note", lang))
    doc.table([tr("col.place", lang), tr("col.indicator", lang), tr("col.value", lang), tr("col.unit", lang),
               tr("col.date", lang), tr("col.source", lang), tr("col.note", lang)],
              [[r["place"], r["indicator"], r["value"], r["unit"], r["date"], f"`{r['source_url']}`", r["note"]]
               for r in sources.observations()])
    return doc


def write_report(results_dir: str | Path, quiet: bool = False, language: str | None = None) -> Path:
    """Draw the charts of a results folder and write ``report.md`` and ``report.html`` into it.

    Args:
        results_dir: a results folder (manifest.json, timeseries.parquet, summary.csv, ...).
        quiet: log the paths written at DEBUG instead of INFO level.
        language: "en" or "vi" (default: the config's ``[outputs] language``, else "en").

    Returns:
        The path of report.md (report.html is beside it).
    """
    res = load_results(results_dir, language)
    charts = render_results(res)
    doc = build_document(res, charts)
    md_path = res.folder / "report.md"
    html_path = res.folder / "report.html"
    atomic_write(md_path, doc.to_markdown().encode("utf-8"))
    atomic_write(html_path, doc.to_html().encode("utf-8"))
    (log.debug if quiet else log.info)("wrote %s and %s (%d charts)", md_path, html_path, len(charts))
    return md_path


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
