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

import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from diffusion.experiments.evaluation import Task, TaskResult
from diffusion.foundation.errors import ConfigError, ResultsError, os_cause
from diffusion.foundation.files import atomic_write, now, write_csv, write_json, write_parquet
from diffusion.foundation.provenance import git_commit, package_versions

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PARTS = "parts"
#: Version of the manifest's layout.
FORMAT = 2
#: Where each kind of analysis keeps its files, relative to the folder ("" = the folder itself).
PLACES: dict[str, str] = {"run": "", "sensitivity": "sensitivity", "calibration": "calibration", "report": "",
                          "optimisation": "optimisation"}


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


def as_recorded(path: Path, record: Any) -> bool | None:
    """Whether a file is as the manifest recorded it (size and SHA-256); None when the record has no checksum."""
    if not isinstance(record, dict) or "sha256" not in record:
        return None
    return file_digest(path) == {k: record.get(k) for k in DIGEST}


def _alive(pid: Any) -> bool:
    """Whether process ``pid`` still runs on this machine (True when that cannot be told)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or a platform without signal 0
        return True
    return True


def settle(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest whose sections say "running" for a process that no longer exists (killed, or the machine
    stopped) shown as "interrupted": its finished parts are kept and a rerun resumes."""
    for section in (manifest.get("analyses") or {}).values():
        if isinstance(section, dict) and section.get("status") == "running" and not _alive(section.get("pid")):
            section["status"] = "interrupted"
    return manifest


def guarded(path: Path, write, hint: str = "") -> None:
    """``write(path)``, with an OSError (read-only folder, full disk, a file where a folder should be) turned
    into a one-line ResultsError naming the path and the cause."""
    try:
        write(path)
    except ResultsError:
        raise
    except OSError as e:
        raise ResultsError(path, f"cannot be written: {os_cause(e)}", hint) from None


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
        empty = {"format": FORMAT, "analyses": {}, "files": {}}
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # (UnicodeDecodeError is a ValueError)
            return {**empty, "unreadable": True, "cause": getattr(e, "strerror", None) or str(e).splitlines()[0]}
        if (not isinstance(data, dict) or not isinstance(data.get("analyses", {}), dict)
                or not isinstance(data.get("files", {}), dict)):
            return {**empty, "unreadable": True, "cause": f"a JSON {type(data).__name__}, not a manifest"}
        if data.get("format") != FORMAT:
            return {**empty, "older": True}
        return settle(data)

    def analysis(self, kind: str, identity: str, *, fresh: bool = False, source: str = "<config>",
                 info: dict[str, Any] | None = None, also: tuple[str, ...] = ()) -> Analysis:
        """Open analysis ``kind`` for results of ``identity``; see the module docstring.

        Args:
            source: the config file, named in errors.
            info: what the analysis records about itself in the manifest (config, plan, ...).
            also: other identities of the same results (as an earlier version computed them): results stored
                under one of them are resumed, and recorded under ``identity`` from then on.

        Raises:
            ConfigError: the folder holds results of another identity for this analysis (and not ``fresh``).
            ResultsError: the folder cannot be used: a file, not writable, not empty and not a results folder,
                or its manifest is unreadable (and not ``fresh``).
        """
        self._check_folder()
        stored = self.read_manifest()
        if stored is not None and stored.get("unreadable") and not fresh:
            raise ResultsError(self.manifest_path, f"is unreadable ({stored.get('cause', 'damaged')}); the task "
                               "results in parts/ are kept", "rerun with --repair to rebuild the manifest from them "
                               "(parts that do not match this config's tasks are rerun), or with --out DIR to "
                               "write elsewhere")
        if stored is not None and stored.get("unreadable"):
            log.warning("%s is unreadable: starting over without deleting anything (parts of this config's "
                        "tasks are rerun and replaced)", self.manifest_path)
            stored = None
        self.manifest = stored or self.manifest
        section = self.manifest["analyses"].get(kind)
        if fresh:
            self._clear(kind)
            section = None
        elif section is not None and section.get("identity") != identity and section.get("identity") not in also:
            raise ConfigError(source, [("", (
                f"{self.dir} holds {kind} results of a different config (hash {str(section.get('identity'))[:12]} "
                f"there, {identity[:12]} now); results of two configs are never mixed. Rerun with --fresh to "
                f"discard the old {kind} results, or with --out DIR to write elsewhere"))])
        elif section is None:
            self._refuse_strangers(kind, source)
        section = {**(section or {}), **(info or {}), "identity": identity, "status": "running"}
        section.setdefault("first_started", now())
        section.update(started=now(), finished=None, versions=package_versions(), git=git_commit(), pid=os.getpid(),
                       command=" ".join(sys.argv) if sys.argv and sys.argv[0] else None)
        self.manifest["analyses"][kind] = section
        self.manifest.setdefault("experiment", (info or {}).get("experiment"))
        self.save()
        return Analysis(self, kind)

    def _check_folder(self) -> None:
        """The folder is a folder, and either empty or a results folder (it has a manifest): the store never
        writes over files it did not write."""
        if self.dir.exists() and not self.dir.is_dir():
            raise ResultsError(self.dir, "is a file, not a folder", "give --out a folder (new or of results)")
        if self.dir.is_dir() and not self.manifest_path.exists():
            try:
                held = sorted(p.name for p in self.dir.iterdir())
            except OSError as e:
                raise ResultsError(self.dir, f"cannot be read: {os_cause(e)}") from None
            if held:
                shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
                raise ResultsError(self.dir, f"is not empty ({shown}) and is not a results folder of diffusion (no "
                                   f"{MANIFEST}); nothing was changed", "give --out a new or empty folder")

    def repair(self, kind: str, identity: str, tasks: Iterable[Task], check) -> int:
        """Rebuild an unreadable manifest from the parts on disk: a part is listed (with its size and SHA-256)
        when ``check(task, result)`` accepts what it holds; the others are rerun. Returns the parts kept.
        Nothing is deleted. A readable manifest is left as it is (0)."""
        stored = self.read_manifest()
        if stored is None or not stored.get("unreadable"):
            return 0
        self.manifest = {"format": FORMAT, "analyses": {}, "files": {}}
        self.manifest["analyses"][kind] = {"identity": identity, "status": "interrupted", "repaired": now()}
        analysis = Analysis(self, kind)
        kept = 0
        for task in tasks:
            try:
                result = analysis.read_part(task)
            except Exception:  # noqa: BLE001 - a damaged part of any kind is simply rerun
                result = None
            if result is not None and check(task, result):
                for path in (analysis._part(task.id, ".hamlets"), analysis._part(task.id)):
                    if path.exists():
                        self.record(path, kind)
                kept += 1
        _OPEN.remove(analysis)
        self.save()
        return kept

    def _refuse_strangers(self, kind: str, source: str) -> None:
        """A new analysis never takes over files it did not write: its parts folder must be empty."""
        parts = self.dir / PLACES[kind] / PARTS
        if parts.exists() and any(parts.iterdir()):
            raise ConfigError(source, [("", (
                f"{parts} holds task results that no manifest lists, so they cannot be matched to this config. "
                "Rerun with --fresh to discard them, or with --out DIR to write elsewhere"))])

    def _clear(self, kind: str) -> None:
        """Remove the files analysis ``kind`` wrote (as listed in the manifest; the report's too, which describes
        the old results), and its parts folder if that is then empty. Nothing else is touched."""
        files = self.manifest.get("files", {})
        for rel, rec in list(files.items()):
            if isinstance(rec, dict) and rec.get("analysis") in (kind, "report"):
                try:
                    (self.dir / rel).unlink(missing_ok=True)
                except OSError as e:
                    raise ResultsError(self.dir / rel, f"cannot be removed: {os_cause(e)}") from None
                del files[rel]
        parts = self.dir / PLACES[kind] / PARTS
        for folder in (parts, self.dir / "charts"):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        self.manifest["analyses"].pop(kind, None)

    def record(self, path: Path, kind: str, digest: bool = True) -> None:
        """List a file written by analysis ``kind`` in the manifest (with its size and SHA-256)."""
        rel = path.relative_to(self.dir).as_posix()
        self.manifest.setdefault("files", {})[rel] = {"analysis": kind, **(file_digest(path) if digest else {})}

    def save(self) -> None:
        """Write the manifest (atomically).

        Raises:
            ResultsError: it cannot be written (a read-only folder, a full disk), naming the path and the cause.
        """
        guarded(self.manifest_path, lambda p: write_json(p, self.manifest))


#: Analyses opened in this process and not finished yet (``mark_interrupted`` closes them).
_OPEN: list[Analysis] = []


def mark_interrupted(status: str = "interrupted") -> None:
    """Record in their manifests that the analyses still open in this process were interrupted (Ctrl-C,
    SIGTERM), so that no manifest says "running" after the process is gone. Their finished parts are kept."""
    while _OPEN:
        analysis = _OPEN.pop()
        try:
            analysis.update(status=status, finished=now())
        except OSError as e:  # the interruption is what the user is told about
            log.debug("could not mark %s as %s: %s", analysis.store.manifest_path, status, e)


class Analysis:
    """One analysis in a results folder: its files, its parts and its section of the manifest."""

    def __init__(self, store: ResultStore, kind: str):
        self.store, self.kind = store, kind
        self.dir = store.dir / PLACES[kind]
        self.parts = self.dir / PARTS  # (made when the first part is written: a failed start leaves none)
        guarded(self.dir, lambda d: d.mkdir(parents=True, exist_ok=True))
        _OPEN.append(self)

    @property
    def section(self) -> dict[str, Any]:
        """This analysis's section of the manifest."""
        return self.store.manifest["analyses"][self.kind]

    # ------------------------------------------------------------ parts
    def _part(self, task_id: str, what: str = "") -> Path:
        return self.parts / f"{task_id}{what}.parquet"

    def done(self, tasks: Iterable[Task]) -> set[str]:
        """The tasks whose parts are on disk and match the size and checksum the manifest recorded."""
        return {t.id for t in tasks if self._intact(self._part(t.id), required=True)
                and self._intact(self._part(t.id, ".hamlets"), required=False)}

    def _intact(self, path: Path, required: bool) -> bool:
        """Whether a part is as written: listed, on disk, of the recorded size and SHA-256 (a part that is not
        listed and not ``required`` is fine when absent)."""
        rec = self.store.manifest.get("files", {}).get(path.relative_to(self.store.dir).as_posix())
        if not isinstance(rec, dict) or "sha256" not in rec:
            return not required and not path.exists()
        try:
            return path.exists() and bool(as_recorded(path, rec))
        except OSError:
            return False

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
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # ------------------------------------------------------------ tables
    def _write(self, path: Path, write) -> Path:
        guarded(path, write, "the finished task results in parts/ are kept; rerun the same command to resume")
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
        if self in _OPEN:
            _OPEN.remove(self)
        self.update(status=status, finished=now(), **info)
        return self.section
