"""Where a result comes from: package versions and the git commit of the source tree."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

#: Packages whose versions a result depends on.
PACKAGES = ("diffusion", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "dask", "distributed", "tqdm",
            "SALib", "pyabc")


def package_versions() -> dict[str, str]:
    """Python, the platform and the versions of the packages a result depends on."""
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
