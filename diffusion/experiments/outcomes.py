"""Outcomes: what summary.csv reports, as objects that carry their name, unit, label (English and
Vietnamese) and how they are summarised over runs; and the derived measures behind them (additional
adopters against a reference scenario, cost per additional adopting household, the month a target and a
near-target are reached, and who is still short of a target at its deadline).

Targets (``target_months``): a stochastic model never quite reaches a 100% target, so each target is also
read at a near-target level (``[outputs] near_target``, 99% of the target's share by default), and by the
shortfall at the deadline: how many households, working-age people or people are still short of it.
A run that does not reach a level within the run is right-censored: ``reached`` is False, its month columns
are empty (NaN) and ``last_date`` is the month it was "not reached by". Summaries over runs
(``censored_median``) give a median month only when more than half of the runs reach the level.

``summary_outcomes`` lists the outcomes of a results table in summary.csv's order; ``summarise``
(``experiments.summary``) computes them and the report and charts look each up by name to label and
format it, never parsing a name. Comparisons with the reference pair rows with the same replicate and
design point: the runs share their random numbers (common random numbers), so the difference is the
policy's effect, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from diffusion.foundation.errors import ParameterError
from diffusion.foundation.sources import Target
from diffusion.foundation.sources import targets as default_targets
from diffusion.foundation.strings import fmt_month, fmt_pct, lever_label, metric_label, tr, unit_label
from diffusion.model.levers.base import GROUP_INDICATORS
from diffusion.model.outputs import BASIC_METRICS
from diffusion.model.products import INDICATORS

KEYS = ["replicate", "design_point", "month"]

#: Units of outcomes: a share 0..1, a difference of shares, households, VND, VND per household, a month
#: index, a number of months, a share of runs, working-age people (15-64), people (15 and over).
UNITS: tuple[str, ...] = ("share", "share_difference", "households", "vnd", "vnd_per_household", "month", "months",
                          "share_of_runs", "working_age_people", "people")

#: The near-target level by default (``[outputs] near_target``): the month 99% of a target's share is reached.
NEAR_TARGET = 0.99

def check_near(near: float) -> float:
    """``near`` (the near-target level) if it is a share in (0, 1]; ParameterError otherwise."""
    try:
        value = float(near)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise ParameterError("near_target", near, "a share in (0, 1], such as 0.99")
    return value


def target_unit(metric: str) -> str | None:
    """What a target on ``metric`` counts, which is also the column of the monthly table holding the count:
    "working_age_people" for ``share_working_age_smartphone``, "people" (15 and over) for the people's
    shares (``share_people_*``, ``share_adults_*``: the table has no count of people 18+, so a shortfall of
    adults is counted over people 15+ and overstates it slightly), "households" for the households' shares;
    None for a share of a group (income quintile, age, sex), whose count the table does not hold."""
    if metric not in BASIC_METRICS or not metric.startswith("share_"):
        return None
    if metric == "share_working_age_smartphone":
        return "working_age_people"
    if metric.startswith(("share_people_", "share_adults_")):
        return "people"
    return "households"


def censored_median(months) -> tuple[float, int, int]:
    """(median month, runs reaching, runs) of the months a level is reached over runs, NaN for a run that
    does not reach it within the run (right-censored: it reaches it later or never). The median is an
    observed month, and NaN unless more than half of the runs reach the level."""
    v = np.asarray(months, dtype=float)
    n, k = int(v.size), int(np.count_nonzero(~np.isnan(v)))
    if 2 * k <= n:
        return float("nan"), k, n
    med = np.quantile(np.where(np.isnan(v), np.inf, v), 0.5, method="inverted_cdf")
    return float(med), k, n


def when_reached(median_date: str | None, k: int, n: int, end: str, lang: str = "en", verb: bool = False) -> str:
    """When a level is reached over ``n`` runs, ``k`` of which reach it by ``end`` (the last month of the runs,
    "YYYY-MM"): the median month, with the runs that do not reach it ("reached in ..." with ``verb``), or
    "not reached by <end>" (in how many runs) when not more than half of the runs reach it."""
    end_text = fmt_month(end, lang)
    if median_date and k > n / 2:
        date = fmt_month(median_date, lang)
        if k == n:
            text = tr("target.reached_median", lang, date=date, n=n)
        else:
            text = tr("target.reached_some", lang, date=date, end=end_text, k=n - k, n=n)
        return tr("target.reached_in", lang, when=text) if verb else text
    if n == 0:
        return tr("target.not_reached", lang, end=end_text)
    if k == 0:
        return tr("target.not_reached_any", lang, end=end_text, n=n)
    return tr("target.not_reached_runs", lang, end=end_text, k=n - k, n=n)


@dataclass(frozen=True)
class Outcome:
    """One outcome of summary.csv.

    Attributes:
        name: its key in summary.csv (``"2025-12.share_internet"``, ``"cost_per_additional_vnd.internet"``).
        kind: how it is computed (``experiments.summary``): final, at, month_reached, reached,
            near_month_reached, near_reached, shortfall (at the target's deadline, in the unit of its metric),
            total_cost, eligible_final, payments, diff_final, diff_at, months_earlier, additional,
            additional_cost, cost_per_additional, additional_eligible, deadweight, deadweight_vnd.
        unit: one of UNITS.
        metric, date, target, indicator, lever: what it is about (those its kind uses).
        compared: it compares a scenario with the reference.
        near: the near-target level (near_month_reached, near_reached).
    """

    name: str
    kind: str
    unit: str
    metric: str = ""
    date: str = ""
    target: str = ""
    indicator: str = ""
    compared: bool = False
    near: float = NEAR_TARGET
    lever: str = ""

    @property
    def discrete(self) -> bool:
        """Months reached: a run that never reaches the target is censored at the end of the run (beyond every
        month of it)."""
        return self.kind in ("month_reached", "near_month_reached")

    def label(self, lang: str = "en", last_date: str | None = None) -> str:
        """A readable label in ``lang`` (``last_date``: the last month of the runs, for end-of-run outcomes)."""
        end = fmt_month(last_date, lang) if last_date else ""
        return tr(f"outcome.{self.kind}", lang, metric=metric_label(self.metric, lang, short=True),
                           date=fmt_month(self.date, lang) if self.date else end,
                           target=_target_label(self.target, lang),
                           indicator=metric_label(f"share_{self.indicator}", lang, short=True),
                           near=fmt_pct(self.near, lang), unit=unit_label(self.unit, lang),
                           lever=lever_label(self.lever, lang) if self.lever else "")


def _target_label(key: str, lang: str) -> str:
    for t in default_targets():
        if t.target == key:
            return t.label(lang)
    return key


def lever_outcomes(columns) -> tuple[list[str], list[str]]:
    """The levers of a results table with outcomes of their own: those that record an eligible group
    (``<lever>.eligible_households``; ``levers.base.GROUP_ACTIVITIES``) and those that pay households on
    adoption (``<lever>.payments``: smartphone subsidies), in column order."""
    cols = [str(c) for c in columns]
    groups = [c.removesuffix(".eligible_households") for c in cols if c.endswith(".eligible_households")]
    payers = [c.removesuffix(".payments") for c in cols if c.endswith(".payments")]
    return groups, [p for p in payers if p in groups]


def summary_outcomes(metrics, dates, targets: tuple[Target, ...], near: float = NEAR_TARGET,
                     groups=(), payers=()) -> tuple[list[Outcome], list[Outcome]]:
    """The outcomes of summary.csv in its order: those of every scenario, and those against the reference.

    Per target: the month it is reached and the share of runs reaching it within the run, the same for the
    near-target (``near`` of its share), and, when its deadline is inside the run and its metric has a
    count (``target_unit``), the shortfall at the deadline in that unit.

    Args:
        metrics: the monthly metrics summarised; dates: the target dates inside the run; targets: the targets
            whose metric the results have; near: the near-target level.
        groups: levers whose eligible group is summarised (its share using each indicator at the end and, against
            the reference, its additional households); payers: levers whose payments are summarised (payments
            per run and, against the reference, deadweight: see ``deadweight``).
    """
    near = check_near(near)
    own = [Outcome(f"final.{m}", "final", "share", metric=m) for m in metrics]
    own += [Outcome(f"{d}.{m}", "at", "share", metric=m, date=d) for d in dates for m in metrics]
    for tg in targets:
        about = {"metric": tg.metric, "target": tg.target}
        own.append(Outcome(f"month_reached.{tg.target}", "month_reached", "month", **about))
        own.append(Outcome(f"reached.{tg.target}", "reached", "share_of_runs", **about))
        own.append(Outcome(f"near_month_reached.{tg.target}", "near_month_reached", "month", near=near, **about))
        own.append(Outcome(f"near_reached.{tg.target}", "near_reached", "share_of_runs", near=near, **about))
        unit = target_unit(tg.metric)
        if unit is not None and tg.by in dates:
            own.append(Outcome(f"shortfall.{tg.target}", "shortfall", unit, date=tg.by, **about))
    own.append(Outcome("total_cost_vnd", "total_cost", "vnd"))
    own += [Outcome(f"eligible_share.{lv}.{i}", "eligible_final", "share", indicator=i, lever=lv)
            for lv in groups for i in GROUP_INDICATORS]
    own += [Outcome(f"payments.{lv}", "payments", "households", lever=lv) for lv in payers]
    vs = [Outcome(f"diff.final.{m}", "diff_final", "share_difference", metric=m, compared=True) for m in metrics]
    vs += [Outcome(f"diff.{d}.{m}", "diff_at", "share_difference", metric=m, date=d, compared=True)
           for d in dates for m in metrics]
    vs += [Outcome(f"months_earlier.{tg.target}", "months_earlier", "months", metric=tg.metric, target=tg.target,
                   compared=True) for tg in targets]
    vs += [Outcome(f"additional_households.{i}", "additional", "households", indicator=i, compared=True)
           for i in INDICATORS]
    vs.append(Outcome("additional_cost_vnd", "additional_cost", "vnd", compared=True))
    vs += [Outcome(f"cost_per_additional_vnd.{i}", "cost_per_additional", "vnd_per_household", indicator=i,
                   compared=True) for i in INDICATORS]
    vs += [Outcome(f"additional_eligible.{lv}.{i}", "additional_eligible", "households", indicator=i, lever=lv,
                   compared=True) for lv in groups for i in GROUP_INDICATORS]
    for lv in payers:
        vs.append(Outcome(f"deadweight_payments.{lv}", "deadweight", "households", lever=lv, compared=True))
        vs.append(Outcome(f"deadweight_vnd.{lv}", "deadweight_vnd", "vnd", lever=lv, compared=True))
    return own, vs


def outcome_catalogue(metrics, dates, targets: tuple[Target, ...] | None = None,
                      near: float = NEAR_TARGET, columns=()) -> dict[str, Outcome]:
    """Every outcome summary.csv may hold for these metrics and dates (and the levers of a results table with
    these ``columns``: ``lever_outcomes``), by name."""
    groups, payers = lever_outcomes(columns)
    own, vs = summary_outcomes(metrics, dates, default_targets() if targets is None else targets, near,
                               groups, payers)
    return {o.name: o for o in own + vs}


def _keys(df: pd.DataFrame) -> list[str]:
    return [k for k in KEYS if k in df.columns]


def _check_reference(df: pd.DataFrame, reference: str) -> None:
    if "scenario" not in df.columns:
        raise ParameterError("scenario", None, "a results table with a 'scenario' column")
    names = sorted(df["scenario"].unique())
    if reference not in names:
        raise ParameterError("reference", reference, f"one of the scenarios {names}")


def additional_adopters(df: pd.DataFrame, reference: str, indicators=INDICATORS) -> pd.DataFrame:
    """Households using each indicator's product beyond the reference, per scenario, run and month.

    Returns the key columns, ``scenario`` and ``additional_<indicator>`` (households) and
    ``additional_cost_vnd`` (cumulative spending beyond the reference, VND).
    """
    _check_reference(df, reference)
    keys = _keys(df)
    ref = df[df["scenario"] == reference].set_index(keys)
    out = []
    for scn, g in df.groupby("scenario", sort=False):
        g = g.set_index(keys)
        r = ref.reindex(g.index)
        res = pd.DataFrame(index=g.index)
        res["scenario"] = scn
        for ind in indicators:
            res[f"additional_{ind}"] = (g[f"share_{ind}"] - r[f"share_{ind}"]) * g["households"]
        res["additional_cost_vnd"] = g["cum_cost_total"] - r["cum_cost_total"]
        out.append(res.reset_index())
    return pd.concat(out, ignore_index=True)


def cost_per_additional(df: pd.DataFrame, reference: str, indicator: str = "internet",
                        month: int | None = None) -> pd.DataFrame:
    """Cost per additional adopting household at ``month`` (default: the last), per scenario and run.

    cost = (cumulative spending - reference's) / (households using - reference's). Where the scenario
    adds no adopter the cost is NaN (not infinite), so that medians stay meaningful.
    """
    if f"share_{indicator}" not in df.columns:
        raise ParameterError("indicator", indicator, f"one of {INDICATORS}")
    add = additional_adopters(df, reference, (indicator,))
    month = int(add["month"].max()) if month is None else int(month)
    at = add[add["month"] == month].copy()
    extra = at[f"additional_{indicator}"]
    at["cost_per_additional_vnd"] = np.where(extra > 0, at["additional_cost_vnd"] / extra.where(extra > 0), np.nan)
    return at


#: spawn_key of the bootstrap's stream (under the experiment's root seed): "boot", then the number of runs.
BOOTSTRAP_KEY = (0x626F6F74,)
#: Bootstrap resamples of the paired runs.
BOOTSTRAP_SAMPLES = 2000
#: The interval reported: the 5th and 95th percentiles of the bootstrap (a 90% interval).
BOOTSTRAP_LEVELS = (0.05, 0.95)
#: ``note`` of summary.csv: the mean effect's interval includes zero; the mean effect is negative (fewer users).
NO_MEASURABLE_EFFECT = "no_measurable_effect"
FEWER_ADOPTERS = "fewer_adopters"


class Bootstrap:
    """Resamples of paired runs, drawn from ``SeedSequence(seed, spawn_key=BOOTSTRAP_KEY + (n,))`` for n runs:
    the same runs give the same intervals whatever else is summarised (and in whatever order)."""

    def __init__(self, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES):
        self.seed, self.samples = int(seed), int(samples)
        self._index: dict[int, np.ndarray] = {}

    def index(self, n: int) -> np.ndarray:
        """(samples, n) indices of n runs drawn with replacement."""
        if n not in self._index:
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(*BOOTSTRAP_KEY, n)))
            self._index[n] = rng.integers(0, n, size=(self.samples, n))
        return self._index[n]

    def means(self, values) -> np.ndarray:
        """The mean of ``values`` (one per run) in each resample."""
        v = np.asarray(values, dtype=float)
        return v[self.index(v.size)].mean(axis=1)

    def mean_interval(self, values) -> tuple[float, float]:
        """The 90% bootstrap interval of the mean of ``values`` (NaN for fewer than two runs)."""
        v = np.asarray(values, dtype=float)
        if v.size < 2:
            return float("nan"), float("nan")
        lo, hi = np.quantile(self.means(v), BOOTSTRAP_LEVELS)
        return float(lo), float(hi)


def effect_note(low: float, high: float) -> str:
    """``note`` of an additional-households (or difference) outcome from its mean's interval: NO_MEASURABLE_EFFECT
    when it includes zero, FEWER_ADOPTERS when it is below zero, else empty."""
    if np.isnan(low) or np.isnan(high):
        return ""
    if low <= 0.0 <= high:
        return NO_MEASURABLE_EFFECT
    return FEWER_ADOPTERS if high < 0.0 else ""


def incremental_cost(cost, extra, boot: Bootstrap) -> dict:
    """Cost per additional household over paired runs: the ratio of means (incremental cost-effectiveness),
    mean(additional spending) / mean(additional households), over ALL paired runs, including those in which the
    lever added nobody.

    Args:
        cost, extra: per paired run, the additional spending (VND) and the additional households.
        boot: the bootstrap of the runs.

    Returns:
        ``value`` (the ratio; NaN when there is no measurable effect), ``low`` and ``high`` (its 90% bootstrap
        interval, resampling runs in pairs; NaN for fewer than two runs), ``runs`` (paired runs it rests on),
        ``extra_low`` and ``extra_high`` (the interval of the mean additional households) and ``note``:
        NO_MEASURABLE_EFFECT when that interval includes zero, FEWER_ADOPTERS when it is below zero (no cost per
        additional household is given then).
    """
    c, x = np.asarray(cost, dtype=float), np.asarray(extra, dtype=float)
    ok = ~(np.isnan(c) | np.isnan(x))
    c, x = c[ok], x[ok]
    out = {"value": np.nan, "low": np.nan, "high": np.nan, "runs": int(x.size), "extra_low": np.nan,
           "extra_high": np.nan, "note": ""}
    if x.size == 0:
        return out
    out["extra_low"], out["extra_high"] = boot.mean_interval(x)
    note = effect_note(out["extra_low"], out["extra_high"]) if x.size > 1 else ""
    if x.size == 1 and x[0] <= 0:
        note = NO_MEASURABLE_EFFECT if x[0] == 0 else FEWER_ADOPTERS
    out["note"] = note
    if note:
        return out
    out["value"] = float(c.mean() / x.mean())
    if x.size > 1:
        mx, mc = boot.means(x), boot.means(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mx > 0, mc / mx, np.inf)  # a resample without additional households: unbounded
        lo, hi = np.quantile(ratio, BOOTSTRAP_LEVELS)
        out["low"], out["high"] = float(lo), float(hi)
    return out


def deadweight(payments, extra_eligible) -> np.ndarray:
    """Payments (per paired run) to households that would have adopted without them: a lever's payments beyond
    the additional smartphone households of its eligible group against the paired reference run, between 0 and
    the payments. With common random numbers the reference run is the same households without the lever, so
    every payment beyond the households it added went to a household that has a smartphone in the reference
    run as well (an estimate from the runs' counts: a household paid that later gives its phone up counts as
    added when it adopts and as lost when it lapses)."""
    p = np.asarray(payments, dtype=float)
    return np.clip(p - np.asarray(extra_eligible, dtype=float), 0.0, p)


def target_months(df: pd.DataFrame, targets: tuple[Target, ...] | None = None,
                  near: float = NEAR_TARGET) -> pd.DataFrame:
    """For each run and target: when the target and the near-target are first reached, the value at the
    deadline, whether it is met and how many are still short of it then.

    Args:
        df: a tidy results table (one row per run and month: month, date, the targets' metrics and their
            counts ``households``, ``working_age_people``, ``people``); scenario, replicate and design_point
            identify the runs when present.
        targets: the targets (default: ``sources.targets()``); those whose metric is missing are skipped.
        near: the near-target level, a share in (0, 1]: the near-target is ``near * share``.

    Returns:
        One row per run and target: the run's keys; target, metric, share, by (deadline); ``unit``
        (households, working_age_people, people: what the shortfall counts, ``target_unit``; None when the
        metric has no count); ``reached`` (bool), ``month_reached`` and ``date_reached`` (first month the
        share is reached); ``near``, ``near_share``, ``near_reached``, ``near_month_reached``,
        ``near_date_reached`` (the same for the near-target); ``last_date`` (the last month of the run);
        ``in_run`` (the deadline is inside the run), ``value_at_target_date``, ``met`` and ``shortfall``:
        the units still short at the deadline, ceil(max(0, share - value) * count), whole units.

        A level not reached within the run is right-censored: its ``reached`` flag is False and its month and
        date are empty (NaN/None), never a made-up month; read it as "not reached by ``last_date``". When the
        deadline is outside the run, ``value_at_target_date`` and ``shortfall`` are NaN and ``met`` None.
    """
    targets = default_targets() if targets is None else targets
    near = check_near(near)
    group_cols = [c for c in ("scenario", "replicate", "design_point") if c in df.columns]
    rows = []
    for key, g in df.groupby(group_cols, sort=False) if group_cols else [((), df)]:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values("month")
        for tg in targets:
            if tg.metric in g.columns:
                rows.append({**dict(zip(group_cols, key)), **_target_row(g, tg, near)})
    return pd.DataFrame(rows)


def _first(g: pd.DataFrame, metric: str, level: float) -> tuple[bool, float, str | None]:
    """(reached, first month, its date) at which ``metric`` reaches ``level`` in one run (False, NaN, None)."""
    hit = np.flatnonzero(g[metric].to_numpy(dtype=float) >= level - 1e-12)
    if not hit.size:
        return False, np.nan, None
    return True, int(g["month"].iloc[hit[0]]), str(g["date"].iloc[hit[0]])


def _target_row(g: pd.DataFrame, tg: Target, near: float) -> dict:
    """The columns of ``target_months`` for one run (``g``, sorted by month) and one target."""
    unit = target_unit(tg.metric)
    reached, month, date = _first(g, tg.metric, tg.share)
    near_reached, near_month, near_date = _first(g, tg.metric, near * tg.share)
    at = g[g["date"] == tg.by]
    in_run = len(at) > 0
    value = float(at[tg.metric].iloc[0]) if in_run else float("nan")
    shortfall = float("nan")
    if in_run and unit is not None and unit in g.columns:
        gap = (tg.share - value) * float(at[unit].iloc[0])  # NaN stays NaN; whole units, up to float error
        shortfall = 0.0 if gap <= 1e-6 else float(np.ceil(gap - 1e-6))
    return dict(
        target=tg.target, metric=tg.metric, share=tg.share, by=tg.by, unit=unit,
        reached=reached, month_reached=month, date_reached=date,
        near=near, near_share=near * tg.share, near_reached=near_reached, near_month_reached=near_month,
        near_date_reached=near_date, last_date=str(g["date"].iloc[-1]),
        in_run=in_run, value_at_target_date=value,
        met=bool(value >= tg.share - 1e-12) if in_run else None, shortfall=shortfall,
    )
