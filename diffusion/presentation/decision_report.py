"""The decision report of ``diffusion optimise``: ``decision.md`` and ``decision.html`` at the top of the results
folder, in English or Vietnamese. It states the answer in sentences a policy maker can read (the cheapest mix
found that meets every target with at least the required probability, its cost, what the neighbouring mixes
give up, the conditions under which it fails), then the tables and charts of the search, the robustness check
and scenario discovery (``optimisation/`` tables; see ``analyses.decision.run``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.foundation.files import atomic_write
from diffusion.foundation.strings import check_language, fmt_number, fmt_pct, tr
from diffusion.presentation.charts.render import record_files, render_charts
from diffusion.presentation.document import Document

log = logging.getLogger(__name__)

KIND = "optimisation"
#: Rows of the Pareto and robustness tables the report shows (the CSV files hold them all).
MAX_ROWS = 25


def _table(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / KIND / f"{name}.csv"
    return pd.read_csv(path) if path.exists() else None


def _num(x: Any, lang: str) -> str:
    x = float(x)
    return fmt_number(x, lang, 0 if abs(x) >= 100 or x.is_integer() else 3)


def policy_settings(name: str, pareto: pd.DataFrame | None, variables: list[dict], lang: str,
                    descriptions: dict[str, str] | None = None) -> str:
    """A policy's decisions in words ("members = 6, visits = 12"), or the scenario's description."""
    if pareto is not None and name in set(pareto["policy"]):
        row = pareto[pareto["policy"] == name].iloc[0]
        shown = [row[v["name"]] if isinstance(row[v["name"]], str) else _num(row[v["name"]], lang) for v in variables]
        return ", ".join(f"`{v['name']}` = {x}" for v, x in zip(variables, shown))
    return (descriptions or {}).get(name) or f"`{name}`"


def _bound(r: Any, lang: str) -> str:
    """A box's restriction of one parameter: the side(s) it cuts ("`p` ≥ 0.1", "`q` 0.2–0.5")."""
    low, high = r.min > r.lower + 1e-12, r.max < r.upper - 1e-12
    if low and not high:
        return f"`{r.parameter}` ≥ {_num(r.min, lang)}"
    if high and not low:
        return f"`{r.parameter}` ≤ {_num(r.max, lang)}"
    return f"`{r.parameter}` {_num(r.min, lang)}–{_num(r.max, lang)}"


def failure_text(folder: Path, target: str, lang: str) -> str | None:
    """The conditions under which the chosen mix fails (PRIM's first box), or that it never does."""
    boxes, limits = _table(folder, "discovery_boxes"), _table(folder, "discovery_limits")
    draws = pd.read_parquet(folder / KIND / "robustness_draws.parquet") \
        if (folder / KIND / "robustness_draws.parquet").exists() else None
    if boxes is None or limits is None:
        return None
    if boxes.empty:
        return tr("decision.never_fails", lang, target=target)
    first = limits[limits["box"] == boxes["box"].iloc[0]]
    box = "; ".join(_bound(r, lang) for r in first.itertuples())
    info = json.loads((folder / KIND / "decision.json").read_text(encoding="utf-8"))
    policy = (info.get("answer") or {}).get("discovery", {}).get("policy")
    rate = float("nan")
    if draws is not None and policy is not None:
        rate = 1.0 - float(draws.loc[draws["policy"] == policy, f"met_{target}"].mean())
    b = boxes.iloc[0]
    return tr("decision.fails", lang, target=f"`{target}`", rate=fmt_pct(rate, lang), box=box,
              coverage=fmt_pct(float(b["coverage"]), lang), density=fmt_pct(float(b["density"]), lang))


def answer_paragraphs(folder: Path, info: dict[str, Any], lang: str) -> list[str]:
    """The answer in sentences."""
    ans = info.get("answer") or {}
    pareto = _table(folder, "pareto")
    variables = info.get("variables", [])
    p = fmt_pct(float(ans.get("probability", 0.8)), lang)
    out = []
    chosen = ans.get("chosen")
    if chosen:
        out.append(tr("decision.chosen", lang, p=p, policy=f"`{chosen['policy']}`",
                      settings=policy_settings(chosen["policy"], pareto, variables, lang, info.get("policies")),
                      cost=fmt_number(chosen["cost"], lang), p_all=fmt_pct(chosen["p_all"], lang)))
    elif ans.get("alternatives"):
        best = ans["alternatives"][0]
        out.append(tr("decision.none", lang, p=p, policy=f"`{best['policy']}`", p_all=fmt_pct(best["p_all"], lang),
                      cost=fmt_number(best["cost"], lang)))
    for alt in (ans.get("alternatives") or [])[(0 if chosen else 1):]:
        out.append(tr("decision.alternative", lang, policy=f"`{alt['policy']}`", cost=fmt_number(alt["cost"], lang),
                      p_all=fmt_pct(alt["p_all"], lang)))
    target = (ans.get("discovery") or {}).get("target")
    if target:
        text = failure_text(folder, target, lang)
        if text:
            out.append(text)
    return out


def _rows(frame: pd.DataFrame, lang: str) -> list[list[str]]:
    return [[v if isinstance(v, str) else _num(v, lang) if isinstance(v, int | float) and not isinstance(v, bool)
             else str(v) for v in row] for row in frame.itertuples(index=False)]


def build_decision_document(folder: Path, lang: str, charts: list) -> Document:
    info = json.loads((folder / KIND / "decision.json").read_text(encoding="utf-8"))
    doc = Document(tr("decision.title", lang, name=info.get("experiment", "")), lang)
    if info.get("description"):
        doc.para(info["description"])
    doc.heading(1, tr("decision.answer", lang))
    for text in answer_paragraphs(folder, info, lang):
        doc.para(text)
    pareto = _table(folder, "pareto")
    if pareto is not None:
        doc.heading(1, tr("decision.pareto", lang))
        doc.para(tr("decision.search", lang, n=fmt_number(info.get("evaluations", 0), lang), reps=info["replicates"]))
        cols = ["policy", *(v["name"] for v in info["variables"]),
                *(c for o in info["objectives"] for c in (o["name"], f"{o['name']}_lo", f"{o['name']}_hi"))]
        shown = pareto.sort_values(cols[len(info["variables"]) + 1], kind="stable").head(MAX_ROWS)
        doc.table(cols, _rows(shown[cols], lang))
        if len(pareto) > MAX_ROWS:
            doc.para(tr("decision.more_rows", lang, n=MAX_ROWS, total=len(pareto)))
    rob = _table(folder, "robustness")
    if rob is not None:
        doc.heading(1, tr("decision.robustness", lang))
        shown = rob.sort_values(["p_all", "cost"], ascending=[False, True], kind="stable").head(MAX_ROWS)
        doc.table(list(rob.columns), _rows(shown, lang))
        if len(rob) > MAX_ROWS:
            doc.para(tr("decision.more_rows", lang, n=MAX_ROWS, total=len(rob)))
    limits = _table(folder, "discovery_limits")
    if limits is not None and not limits.empty:
        doc.heading(1, tr("decision.discovery", lang))
        doc.table(list(limits.columns), _rows(limits, lang))
    if charts:
        doc.heading(1, tr("decision.charts", lang))
        for i, chart in enumerate(charts, 1):
            doc.figure(i, chart, folder)
    return doc


def write_decision_report(results_dir: str | Path, language: str | None = None, quiet: bool = False
                          ) -> tuple[Path, Path]:
    """Draw the decision charts and write ``decision.md`` and ``decision.html`` into the results folder.

    Raises:
        FileNotFoundError: the folder holds no decision analysis (``optimisation/decision.json``).
    """
    folder = Path(results_dir)
    path = folder / KIND / "decision.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `diffusion optimise` first")
    lang = check_language(language or json.loads(path.read_text(encoding="utf-8")).get("language") or "en")
    charts = render_charts(folder, language=lang, kinds=(KIND,))
    doc = build_decision_document(folder, lang, charts)
    md, html = folder / "decision.md", folder / "decision.html"
    atomic_write(md, doc.to_markdown())
    atomic_write(html, doc.to_html())
    record_files(folder, [md, html])
    (log.debug if quiet else log.info)("wrote %s (%d charts)", md, len(charts))
    return md, html
