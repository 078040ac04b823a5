"""The report's answer: a few sentences and one table chosen from the outcomes the active levers move.

Which outcomes: each lever kind moves some products (``LEVER_MOVES``: a smartphone subsidy the smartphone,
connection support fibre, digital teams digital services and the internet, ...); the levers in effect in the
results (``report.levers_in_effect``) give the products of the answer, in the order of ``MAIN_ORDER``. The
table shows, per scenario (and per design point when summary.csv has design columns), the share using each of
those products at the Resolution 09 target date (else at the end of the runs), the additional households for
the first of them, the total spending and the cost per additional household. The sentences say the same for
each scenario against the reference. Every value is read from summary.csv by its ``Outcome`` (kind, metric,
indicator); whatever rows summary.csv holds (design columns, comparisons between two scenarios) are shown as
they are, never from fixed columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from diffusion.experiments.outcomes import Outcome
from diffusion.experiments.summary import COLUMNS
from diffusion.foundation import sources
from diffusion.foundation.strings import fmt_month, metric_label, tr

#: Products each lever kind acts on, most direct first.
LEVER_MOVES: dict[str, tuple[str, ...]] = {
    "smartphone_subsidy": ("smartphone", "internet"),
    "connection_support": ("fibre", "internet"),
    "digital_teams": ("services", "internet"),
    "infrastructure": ("fibre", "internet"),
    "public_access": ("internet", "services"),
}
#: Products in the order the answer lists them.
MAIN_ORDER: tuple[str, ...] = ("smartphone", "internet", "fibre", "services")
#: Columns of summary.csv that are not a design value.
BASE_COLUMNS: frozenset[str] = frozenset(COLUMNS) | {"p5"}  # (summary_long names the 5th percentile p5)


def design_columns(long: pd.DataFrame) -> list[str]:
    """The design columns of a ``summary_long`` table: ``design_point`` and parameter paths (with a dot)."""
    return [c for c in long.columns if c not in BASE_COLUMNS and (c == "design_point" or "." in c)]


def moved_products(lever_kinds: Iterable[str]) -> list[str]:
    """The products the levers move, in ``MAIN_ORDER`` (the internet when no lever is known)."""
    moved = {p for k in lever_kinds for p in LEVER_MOVES.get(k, ())}
    return [p for p in MAIN_ORDER if p in moved] or ["internet"]


@dataclass(frozen=True)
class AnswerColumns:
    """The outcomes of the answer table, by role (names of summary.csv outcomes; None when absent)."""

    shares: list[str]
    additional: list[str]
    total_cost: str | None
    cost_per_additional: str | None

    @property
    def names(self) -> list[str]:
        return [n for n in (*self.shares, *self.additional, self.total_cost, self.cost_per_additional) if n]


def answer_columns(names: list[str], outcomes: dict[str, Outcome], products: list[str]) -> AnswerColumns:
    """The outcomes of the answer table among ``names`` for ``products`` (see the module docstring): the share
    using each product, the additional households using each, the total spending and the cost per additional
    household of the first product that has one."""
    present = [outcomes[n] for n in dict.fromkeys(names) if n in outcomes]
    dates = sorted({t.by for t in sources.targets()})
    shares = []
    for p in products:
        metric = f"share_{p}"
        at = [o for d in dates for o in present if o.kind == "at" and o.metric == metric and o.date == d]
        shares += [o.name for o in (at or [o for o in present if o.kind == "final" and o.metric == metric])[:1]]

    def of_kind(kind: str, indicators: Iterable[str] = ("",)) -> list[str]:
        return [o.name for ind in indicators for o in present if o.kind == kind and o.indicator == ind][:len(products)]

    return AnswerColumns(shares, of_kind("additional", products), next(iter(of_kind("total_cost")), None),
                         next(iter(of_kind("cost_per_additional", products)), None))


def answer_sentence(name: str, reference: str, values: dict[str, str], cols: AnswerColumns,
                    outcomes: dict[str, Outcome], lang: str, last_date: str) -> str:
    """One scenario against the reference in a sentence: additional households (interval), spending, cost per
    additional household; ``values``: outcome name -> its text (median with interval)."""
    parts = []
    first = next((n for n in cols.additional if n in values), None)
    if first is not None:
        o = outcomes[first]
        parts.append(tr("answer.additional", lang, value=values[first],
                        indicator=metric_label(f"share_{o.indicator}", lang, short=True).lower(),
                        date=fmt_month(o.date or last_date, lang)))
    if cols.total_cost and cols.total_cost in values:
        parts.append(tr("answer.spending", lang, value=values[cols.total_cost]))
    if cols.cost_per_additional and cols.cost_per_additional in values:
        parts.append(tr("answer.cost_per", lang, value=values[cols.cost_per_additional]))
    if not parts:
        return ""
    return tr("answer.sentence", lang, scenario=name, reference=reference, parts="; ".join(parts))
