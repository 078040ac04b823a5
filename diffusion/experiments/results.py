"""Results on disk: one folder per experiment, written atomically, resumable, readable from notebooks.

``results/<experiment>/`` (or ``--out``) holds:

- ``manifest.json``: the config as read (text and parsed), its SHA-256, the root seed, the plan's counts,
  package versions, the git commit, start and end times, runs done and failed (with the errors);
- ``parts/<task>.parquet``: each finished task, written as soon as it returns (``<task>.failed.json``
  for a task that failed);
- ``timeseries.parquet``: the tidy long table: scenario, replicate, design_point, month, date and one
  column per metric of ``AdoptionModel.timeseries()`` (shares 0-1; ``cost.<lever>``/``cum_cost.<lever>``
  in VND; ``<lever>.<activity>``). Lever columns of a lever absent from a scenario are 0;
- ``by_hamlet.parquet``: for places of several hamlets, the same keys plus ``hamlet`` and the shares of
  each hamlet (``AdoptionModel.by_hamlet()``);
- ``design.parquet``: design_point and the value of each uncertainty (experiments with a [design]);
- ``summary.csv``: per scenario and outcome, the median and the 5-95% interval over runs (see
  :func:`summarise`).

Every file is written to a temporary name and then renamed (``os.replace``), so a crash never leaves a
half-written file. A rerun of the same config resumes: finished tasks are skipped. A different config
(its hash differs) is refused: start over with ``--fresh`` or write elsewhere with ``--out``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffusion.experiments.outcomes import additional_adopters, cost_per_additional, target_months
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.sources import targets as default_targets
from diffusion.model.products import INDICATORS

log = logging.getLogger(__name__)

KEYS: tuple[str, ...] = ("scenario", "replicate", "design_point")
MANIFEST = "manifest.json"
TIMESERIES = "timeseries.parquet"
DESIGN = "design.parquet"
BY_HAMLET = "by_hamlet.parquet"
SUMMARY = "summary.csv"
PARTS = "parts"
#: Files and folders ``--fresh`` removes (ours, and the report's, which describe the old results).
OWNED = (MANIFEST, TIMESERIES, DESIGN, BY_HAMLET, SUMMARY, PARTS, "charts", "report.md", "report.html")
PACKAGES = ("diffusion", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "dask", "distributed", "tqdm")


# ================================================================ atomic writes
def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: Any) -> None:
    """Atomically write ``data`` as indented UTF-8 JSON."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Atomically write a table as Parquet (no index)."""
    atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (_dt.date, _dt.datetime, _dt.time)):
        return obj.isoformat()
    return str(obj)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds")


# ================================================================ provenance
def package_versions() -> dict[str, str]:
    """Python and the versions of the packages a result depends on."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """The git commit of the package's source tree (and whether it has uncommitted changes), if any."""
    where = where or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], check=False, cwd=where, capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], check=False, cwd=where,
                               capture_output=True, text=True, timeout=10)
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


# ================================================================ the store
class ResultStore:
    """The results folder of one experiment.

    Args:
        out_dir: the folder (created if needed).
    """

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.parts = self.dir / PARTS
        self.manifest_path = self.dir / MANIFEST
        self._manifest: dict[str, Any] = {}

    # ------------------------------------------------------------ start
    def prepare(self, cfg: Any, plan: Any, *, fresh: bool = False) -> set[str]:
        """Check the folder against the config, write the manifest, and return the tasks already done.

        Raises:
            ConfigError: the folder holds results of a different config (and ``fresh`` is False).
        """
        if fresh:
            self.clear()
        old = self.read_manifest()
        if old is not None and old.get("config_sha256") != cfg.sha256:
            raise ConfigError(cfg.file, [("", (
                f"{self.dir} holds results of a different config (hash {str(old.get('config_sha256'))[:12]} "
                f"there, {cfg.sha256[:12]} now); results of two configs are never mixed. Rerun with --fresh to "
                f"discard the old results, or with --out DIR to write elsewhere"))])
        if old is None and self.parts.exists() and any(self.parts.iterdir()):
            raise ConfigError(cfg.file, [("", (
                f"{self.dir}/{PARTS} holds task results but no {MANIFEST}, so they cannot be matched to this "
                "config. Rerun with --fresh to discard them, or with --out DIR to write elsewhere"))])
        self.parts.mkdir(parents=True, exist_ok=True)
        done = {t.id for t in plan.tasks if (self.parts / f"{t.id}.parquet").exists()}
        self._manifest = {
            **(old or {}),
            "experiment": cfg.name,
            "description": cfg.experiment.description,
            "config_file": str(cfg.file),
            "config_sha256": cfg.sha256,
            "config_text": cfg.text,
            "config": cfg.data,
            "root_seed": cfg.experiment.seed,
            "seeds": "numpy.random.SeedSequence(root_seed, spawn_key=(replicate, design_point)); the scenario is "
            "not in the key (common random numbers)",
            "plan": plan.describe(),
            "status": "running",
        }
        self._manifest.setdefault("first_started", _now())
        return done

    def begin(self, executor: dict[str, Any]) -> None:
        """Record the start of this invocation."""
        self._manifest.update(
            started=_now(),
            finished=None,
            executor=executor,
            versions=package_versions(),
            git=git_commit(),
            command=" ".join(sys.argv) if sys.argv and sys.argv[0] else None,
        )
        write_json(self.manifest_path, self._manifest)

    def clear(self) -> None:
        """Remove earlier results from the folder (only the files this package writes there)."""
        for name in OWNED:
            p = self.dir / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"config_sha256": "(unreadable manifest)"}

    # ------------------------------------------------------------ during
    def write_part(self, task: Any, result: Any) -> None:
        """Write a finished task's tables (atomically; the main table last, as the mark of a finished task)
        and clear any earlier failure record."""
        if result.by_hamlet is not None:
            write_parquet(self.parts / f"{task.id}.hamlets.parquet", result.by_hamlet)
        write_parquet(self.parts / f"{task.id}.parquet", result.timeseries)
        failed = self.parts / f"{task.id}.failed.json"
        if failed.exists():
            failed.unlink()

    def write_failure(self, failure: Any) -> None:
        """Record a failed task (its runs and error)."""
        write_json(self.parts / f"{failure.task.id}.failed.json", failure.describe())

    # ------------------------------------------------------------ end
    def finish(self, cfg: Any, plan: Any) -> dict[str, Any]:
        """Assemble the tables from the parts, write them and the final manifest; return the manifest."""
        frames, hamlet_frames, done_runs, failed = [], [], 0, []
        for t in plan.tasks:
            part = self.parts / f"{t.id}.parquet"
            if part.exists():
                frames.append(pd.read_parquet(part))
                hp = self.parts / f"{t.id}.hamlets.parquet"
                if hp.exists():
                    hamlet_frames.append(pd.read_parquet(hp))
                done_runs += len(t.runs)
            else:
                rec = self.parts / f"{t.id}.failed.json"
                if rec.exists():
                    failed.append(json.loads(rec.read_text(encoding="utf-8")))
                else:
                    failed.append({"task": t.id, "runs": [[r.scenario, r.replicate, r.design_point] for r in t.runs],
                                   "error": "not run"})
        ts = assemble(frames, plan.scenarios)
        if ts is not None:
            write_parquet(self.dir / TIMESERIES, ts)
        elif (self.dir / TIMESERIES).exists():
            (self.dir / TIMESERIES).unlink()
        hamlets = assemble(hamlet_frames, plan.scenarios)
        if hamlets is not None:
            write_parquet(self.dir / BY_HAMLET, hamlets)
        if plan.design is not None:
            write_parquet(self.dir / DESIGN, plan.design)
        if ts is not None:
            summary = summarise(ts, reference=plan.reference, metrics=cfg.metrics, scenarios=plan.scenarios)
            csv = summary.to_csv(index=False, lineterminator="\n", float_format="%.10g")
            atomic_write(self.dir / SUMMARY, lambda p: p.write_text(csv, encoding="utf-8"))
        runs_failed = sum(len(f["runs"]) for f in failed)
        self._manifest.update(
            finished=_now(),
            status="complete" if not failed else "incomplete",
            runs_done=done_runs,
            runs_failed=runs_failed,
            tasks_done=len(frames),
            tasks_failed=failed,
            files=sorted(p.name for p in self.dir.iterdir() if p.is_file() and not p.name.startswith(".")),
        )
        write_json(self.manifest_path, self._manifest)
        return self._manifest


def assemble(frames: Sequence[pd.DataFrame], scenarios: Sequence[str] | None = None) -> pd.DataFrame | None:
    """Stack task tables into the tidy long table, sorted by scenario (config order), design point,
    replicate and month (rows within a month, such as hamlets, keep their order). Lever columns (names
    with a dot) missing for a scenario are filled with 0.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    ts = pd.concat(frames, ignore_index=True)
    lever_cols = [c for c in ts.columns if "." in c]
    if lever_cols:
        ts[lever_cols] = ts[lever_cols].fillna(0.0)
    order = {s: i for i, s in enumerate(scenarios or sorted(ts["scenario"].unique()))}
    key = ts["scenario"].map(order).fillna(len(order)).astype(np.int64)
    ts = ts.assign(_order=key).sort_values(["_order", "design_point", "replicate", "month"], kind="stable")
    return ts.drop(columns="_order").reset_index(drop=True)


# ================================================================ summary
def _quantiles(values: np.ndarray, discrete: bool = False) -> tuple[float, float, float, float, int]:
    v = np.asarray(values, dtype=float)
    if discrete:  # months reached: "never" counts as beyond every month
        n = v.size
        if n == 0:
            return (np.nan,) * 4 + (0,)  # type: ignore[return-value]
        w = np.where(np.isnan(v), np.inf, v)
        q = np.quantile(w, [0.5, 0.05, 0.95], method="inverted_cdf")
        q = np.where(np.isinf(q), np.nan, q)
        finite = v[~np.isnan(v)]
        return float(q[0]), float(q[1]), float(q[2]), float(finite.mean()) if finite.size else np.nan, n
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (np.nan,) * 4 + (0,)  # type: ignore[return-value]
    q = np.quantile(v, [0.5, 0.05, 0.95])
    return float(q[0]), float(q[1]), float(q[2]), float(v.mean()), int(v.size)


def summarise(
    ts: pd.DataFrame,
    *,
    reference: str | None = None,
    metrics: Sequence[str] = ("share_smartphone", "share_internet"),
    scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Derived outcomes per scenario with intervals over runs (replicates x design points).

    Outcomes (``outcome`` column):

    - ``final.<metric>``: the metric in the last month; ``<YYYY-MM>.<metric>``: at each target date
      (Resolution 09: 2025-12) if it is in the window;
    - ``month_reached.<target>``: month index at which each Resolution 09 target is first reached
      (``date`` gives the median as "YYYY-MM"; empty where the median run never reaches it);
      ``reached.<target>``: 1 if reached in the run, else 0 (its mean is the share of runs);
    - ``total_cost_vnd``: cumulative spending of all levers (VND);
    - against the reference, pairing runs with the same replicate and design point (common random
      numbers): ``diff.final.<metric>``, ``diff.<YYYY-MM>.<metric>``, ``months_earlier.<target>``,
      ``additional_households.<indicator>`` (households), ``additional_cost_vnd`` (VND) and
      ``cost_per_additional_vnd.<indicator>`` (VND per additional adopting household; empty where a run
      adds none).

    Returns:
        Columns scenario, outcome, reference (the scenario compared with, or empty), median, p05, p95
        (5th and 95th percentiles), mean, runs (runs with a value), date.
    """
    scenarios = list(scenarios) if scenarios is not None else list(dict.fromkeys(ts["scenario"]))
    metrics = [m for m in metrics if m in ts.columns]
    keys = [k for k in ("replicate", "design_point") if k in ts.columns]
    last = ts["month"] == ts.groupby(list(KEYS))["month"].transform("max")
    final = ts[last]
    targets = default_targets()
    dates = sorted({t.by for t in targets if (ts["date"] == t.by).any()})
    month_of = dict(zip(ts["month"], ts["date"]))
    tm = target_months(ts, targets)
    rows: list[dict[str, Any]] = []

    def add(scn: str, outcome: str, values: Any, ref: str = "", discrete: bool = False) -> None:
        med, p05, p95, mean, n = _quantiles(np.asarray(values, dtype=float), discrete)
        date = month_of.get(int(med)) if discrete and not np.isnan(med) else None
        rows.append({"scenario": scn, "outcome": outcome, "reference": ref, "median": med, "p05": p05, "p95": p95,
                     "mean": mean, "runs": n, "date": date})

    def by_run(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.set_index(keys).sort_index()

    for scn in scenarios:
        f = by_run(final[final["scenario"] == scn])
        if f.empty:
            continue
        for m in metrics:
            add(scn, f"final.{m}", f[m])
        for d in dates:
            at = ts[(ts["scenario"] == scn) & (ts["date"] == d)]
            for m in metrics:
                add(scn, f"{d}.{m}", at[m])
        t_s = tm[tm["scenario"] == scn] if len(tm) else tm
        for tg in targets:
            if tg.metric not in ts.columns or t_s.empty:
                continue
            rr = t_s[t_s["target"] == tg.target]
            add(scn, f"month_reached.{tg.target}", rr["month_reached"], discrete=True)
            add(scn, f"reached.{tg.target}", rr["month_reached"].notna().astype(float))
        add(scn, "total_cost_vnd", f["cum_cost_total"])
        if reference is None or scn == reference or reference not in set(final["scenario"]):
            continue
        r = by_run(final[final["scenario"] == reference]).reindex(f.index)
        for m in metrics:
            add(scn, f"diff.final.{m}", f[m] - r[m], reference)
        for d in dates:
            a = by_run(ts[(ts["scenario"] == scn) & (ts["date"] == d)])
            b = by_run(ts[(ts["scenario"] == reference) & (ts["date"] == d)]).reindex(a.index)
            for m in metrics:
                add(scn, f"diff.{d}.{m}", a[m] - b[m], reference)
        if len(tm):
            for tg in targets:
                a = tm[(tm["scenario"] == scn) & (tm["target"] == tg.target)].set_index(keys)["month_reached"]
                b = tm[(tm["scenario"] == reference) & (tm["target"] == tg.target)].set_index(keys)["month_reached"]
                if len(a):
                    add(scn, f"months_earlier.{tg.target}", b.reindex(a.index) - a, reference)
        pair = final[final["scenario"].isin([scn, reference])]
        extra = additional_adopters(pair, reference)
        extra = by_run(extra[extra["scenario"] == scn])
        for ind in INDICATORS:
            add(scn, f"additional_households.{ind}", extra[f"additional_{ind}"], reference)
        add(scn, "additional_cost_vnd", extra["additional_cost_vnd"], reference)
        for ind in INDICATORS:
            cpa = cost_per_additional(pair, reference, indicator=ind)
            add(scn, f"cost_per_additional_vnd.{ind}", cpa.loc[cpa["scenario"] == scn, "cost_per_additional_vnd"],
                reference)
    return pd.DataFrame(rows, columns=["scenario", "outcome", "reference", "median", "p05", "p95", "mean", "runs",
                                       "date"])


# ================================================================ reading back
@dataclass
class Results:
    """An experiment's results folder, for notebooks: tables are read when first used.

    Attributes:
        path: the folder.
        manifest: manifest.json as a dict.
    """

    path: Path
    manifest: dict[str, Any]

    @cached_property
    def config(self) -> Any:
        """The config as validated (ExperimentConfig), or the parsed TOML if it no longer validates."""
        from diffusion.experiments.config import load_config_text

        text = self.manifest.get("config_text") or ""
        src = self.manifest.get("config_file", "<config>")
        try:
            return load_config_text(text, source=src, base_dir=Path(src).resolve().parent, build=False)
        except ConfigError as e:
            log.warning("the stored config no longer validates (%s); returning the parsed TOML", e)
            return self.manifest.get("config")

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        """The tidy long table (timeseries.parquet)."""
        return pd.read_parquet(self.path / TIMESERIES)

    @cached_property
    def by_hamlet(self) -> pd.DataFrame | None:
        """by_hamlet.parquet, or None for a one-hamlet place."""
        p = self.path / BY_HAMLET
        return pd.read_parquet(p) if p.exists() else None

    @cached_property
    def summary(self) -> pd.DataFrame:
        """summary.csv."""
        return pd.read_csv(self.path / SUMMARY)

    @cached_property
    def design(self) -> pd.DataFrame | None:
        """design.parquet, or None for an experiment without a design."""
        p = self.path / DESIGN
        return pd.read_parquet(p) if p.exists() else None

    @property
    def reference(self) -> str | None:
        return (self.manifest.get("plan") or {}).get("reference")

    @property
    def scenarios(self) -> list[str]:
        return list((self.manifest.get("plan") or {}).get("scenarios") or [])


def load_results(path: str | Path) -> Results:
    """Open a results folder (``results/<experiment>`` or a ``--out`` folder).

    Raises:
        FileNotFoundError: no manifest.json there.
    """
    p = Path(path)
    mf = p / MANIFEST
    if not mf.exists():
        raise FileNotFoundError(f"{p} has no {MANIFEST}: not a results folder of `diffusion run`")
    return Results(path=p, manifest=json.loads(mf.read_text(encoding="utf-8")))
