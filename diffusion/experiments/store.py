"""The results store: one owner of a results folder.

A folder holds the analyses of one experiment side by side, each in its own place and with its own section
of one ``manifest.json``:

- ``run`` (``diffusion run``): at the top of the folder (``timeseries.parquet``, ``summary.csv``, ...);
- ``sensitivity`` and ``calibration``: in subfolders of those names;
- ``report``: the charts and ``report.md``/``report.html`` drawn from them.

Each analysis has an identity (the hash of what its results depend on: the config, a design). A rerun with
the same identity resumes: finished tasks, kept in ``<analysis>/parts/`` as soon as they return, are not
rerun. A different identity is refused unless the analysis starts over (``fresh``), which removes only the
files that analysis wrote. Every file is written atomically and listed in the manifest with its size and
SHA-256, so a part that was damaged after it was written is found and rerun.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.experiments.evaluation import Task, TaskResult
from diffusion.foundation.errors import ConfigError
from diffusion.foundation.files import atomic_write, now, write_csv, write_json, write_parquet
from diffusion.foundation.provenance import git_commit, package_versions

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PARTS = "parts"
#: Version of the manifest's layout.
FORMAT = 2
#: Where each kind of analysis keeps its files, relative to the folder ("" = the folder itself).
PLACES: dict[str, str] = {"run": "", "sensitivity": "sensitivity", "calibration": "calibration", "report": ""}


#: What the manifest records of each file.
DIGEST = ("bytes", "sha256")


def file_digest(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return {"bytes": size, "sha256": h.hexdigest()}


class ResultStore:
    """A results folder and its manifest.

    Args:
        folder: the folder (created when an analysis opens it).
    """

    def __init__(self, folder: str | Path):
        self.dir = Path(folder)
        self.manifest_path = self.dir / MANIFEST
        self.manifest: dict[str, Any] = {"format": FORMAT, "analyses": {}, "files": {}}

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest as stored (None when there is none)."""
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"format": FORMAT, "analyses": {}, "files": {}, "unreadable": True}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {"format": FORMAT, "analyses": {}, "files": {}, "older": True}
        return data

    def analysis(self, kind: str, identity: str, *, fresh: bool = False, source: str = "<config>",
                 info: dict[str, Any] | None = None) -> Analysis:
        """Open analysis ``kind`` for results of ``identity``; see the module docstring.

        Args:
            source: the config file, named in errors.
            info: what the analysis records about itself in the manifest (config, plan, ...).

        Raises:
            ConfigError: the folder holds results of another identity for this analysis (and not ``fresh``).
        """
        self.manifest = self.read_manifest() or self.manifest
        section = self.manifest["analyses"].get(kind)
        if fresh:
            self._clear(kind)
            section = None
        elif section is not None and section.get("identity") != identity:
            raise ConfigError(source, [("", (
                f"{self.dir} holds {kind} results of a different config (hash {str(section.get('identity'))[:12]} "
                f"there, {identity[:12]} now); results of two configs are never mixed. Rerun with --fresh to "
                f"discard the old {kind} results, or with --out DIR to write elsewhere"))])
        elif section is None:
            self._refuse_strangers(kind, source)
        section = {**(section or {}), **(info or {}), "identity": identity, "status": "running"}
        section.setdefault("first_started", now())
        section.update(started=now(), finished=None, versions=package_versions(), git=git_commit(),
                       command=" ".join(sys.argv) if sys.argv and sys.argv[0] else None)
        self.manifest["analyses"][kind] = section
        self.manifest.setdefault("experiment", (info or {}).get("experiment"))
        self.save()
        return Analysis(self, kind)

    def _refuse_strangers(self, kind: str, source: str) -> None:
        """A new analysis never takes over files it did not write: its parts folder must be empty."""
        parts = self.dir / PLACES[kind] / PARTS
        if parts.exists() and any(parts.iterdir()):
            raise ConfigError(source, [("", (
                f"{parts} holds task results that no manifest lists, so they cannot be matched to this config. "
                "Rerun with --fresh to discard them, or with --out DIR to write elsewhere"))])

    def _clear(self, kind: str) -> None:
        """Remove the files analysis ``kind`` wrote (as listed in the manifest) and its parts."""
        files = self.manifest.get("files", {})
        for rel, rec in list(files.items()):
            if rec.get("analysis") in (kind, "report"):  # (the report describes the old results)
                (self.dir / rel).unlink(missing_ok=True)
                del files[rel]
        parts = self.dir / PLACES[kind] / PARTS
        if parts.exists():
            shutil.rmtree(parts)
        self.manifest["analyses"].pop(kind, None)

    def record(self, path: Path, kind: str, digest: bool = True) -> None:
        """List a file written by analysis ``kind`` in the manifest (with its size and SHA-256)."""
        rel = path.relative_to(self.dir).as_posix()
        self.manifest.setdefault("files", {})[rel] = {"analysis": kind, **(file_digest(path) if digest else {})}

    def save(self) -> None:
        """Write the manifest (atomically)."""
        write_json(self.manifest_path, self.manifest)


class Analysis:
    """One analysis in a results folder: its files, its parts and its section of the manifest."""

    def __init__(self, store: ResultStore, kind: str):
        self.store, self.kind = store, kind
        self.dir = store.dir / PLACES[kind]
        self.parts = self.dir / PARTS
        self.parts.mkdir(parents=True, exist_ok=True)

    @property
    def section(self) -> dict[str, Any]:
        """This analysis's section of the manifest."""
        return self.store.manifest["analyses"][self.kind]

    # ------------------------------------------------------------ parts
    def _part(self, task_id: str, what: str = "") -> Path:
        return self.parts / f"{task_id}{what}.parquet"

    def done(self, tasks: Iterable[Task]) -> set[str]:
        """The tasks whose parts are on disk and match the size and checksum the manifest recorded."""
        files = self.store.manifest.get("files", {})
        out = set()
        for t in tasks:
            path = self._part(t.id)
            rec = files.get(path.relative_to(self.store.dir).as_posix())
            if path.exists() and rec and "sha256" in rec and file_digest(path) == {k: rec[k] for k in DIGEST}:
                out.add(t.id)
        return out

    def write_part(self, task: Task, result: TaskResult) -> None:
        """Keep a finished task's tables (the main table last: its record marks the task as done)."""
        if result.hamlets is not None:
            self._write(self._part(task.id, ".hamlets"), lambda p: write_parquet(p, result.hamlets))
        self._write(self._part(task.id), lambda p: write_parquet(p, result.table))
        (self.parts / f"{task.id}.failed.json").unlink(missing_ok=True)
        self.store.save()

    def write_failure(self, failure: Any) -> None:
        """Record a failed task (its runs and error)."""
        self._write(self.parts / f"{failure.task.id}.failed.json", lambda p: write_json(p, failure.describe()))
        self.store.save()

    def read_part(self, task: Task) -> TaskResult | None:
        """A finished task's tables (None when it did not finish)."""
        path = self._part(task.id)
        if not path.exists():
            return None
        hp = self._part(task.id, ".hamlets")
        return TaskResult(pd.read_parquet(path), pd.read_parquet(hp) if hp.exists() else None)

    def failure(self, task: Task) -> dict[str, Any] | None:
        """The failure record of a task, if any."""
        path = self.parts / f"{task.id}.failed.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    # ------------------------------------------------------------ tables
    def _write(self, path: Path, write) -> Path:
        write(path)
        self.store.record(path, self.kind)
        return path

    def write_table(self, name: str, frame: pd.DataFrame, *, csv: bool = False, parquet: bool = True,
                    **csv_options: Any) -> None:
        """Write ``<name>.parquet`` and/or ``<name>.csv`` in this analysis's place."""
        if parquet:
            self._write(self.dir / f"{name}.parquet", lambda p: write_parquet(p, frame))
        if csv:
            self._write(self.dir / f"{name}.csv", lambda p: write_csv(p, frame, **csv_options))

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file in this analysis's place."""
        return self._write(self.dir / name, lambda p: atomic_write(p, text))

    def write_json(self, name: str, data: Any) -> Path:
        """Write a JSON file in this analysis's place."""
        return self._write(self.dir / name, lambda p: write_json(p, data))

    def remove(self, name: str) -> None:
        """Remove a file of this analysis (when a rerun no longer has it)."""
        path = self.dir / name
        path.unlink(missing_ok=True)
        self.store.manifest.get("files", {}).pop(path.relative_to(self.store.dir).as_posix(), None)

    def update(self, **info: Any) -> None:
        """Add to this analysis's section of the manifest and write it."""
        self.section.update(info)
        self.store.save()

    def finish(self, status: str, **info: Any) -> dict[str, Any]:
        """Record the end of this invocation; return the section."""
        self.update(status=status, finished=now(), **info)
        return self.section
