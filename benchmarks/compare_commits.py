"""Is a change faster? The province run of two versions, stepped month by month in turn in one process.

A shared machine's speed drifts by a quarter within an hour, more than most changes gain, so two timings taken
one after the other say little. This script imports the version at ``--base`` (a commit, branch or tag of this
repository, checked out into a temporary directory and imported as the package ``diffusion_base``) beside the
working tree's ``diffusion``, builds the same run with each, and steps them alternately: base month 1, new month
1, new month 2, base month 2, ... Drift then falls on both alike. It checks that both give the same outputs, to
the bit (a speed change must not change a number), and prints each version's build and month times and their
ratio.

Usage:
    python benchmarks/compare_commits.py --base HEAD          # the working tree against the last commit
    python benchmarks/compare_commits.py --base main~3 --threads 1 --repeats 3
    python benchmarks/compare_commits.py --base HEAD --place commune --start 2015-01 --months 60

The first run compiles the base version's kernels (their cache lives in the temporary directory): about a
minute more.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def base_package(ref: str, into: Path) -> str:
    """Check out ``ref`` into ``into`` and copy its package as ``diffusion_base`` (imports renamed); returns the
    commit's one-line description."""
    checkout = into / "checkout"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(REPO), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "--quiet", ref], check=True)
    target = into / "diffusion_base"
    shutil.copytree(checkout / "diffusion", target)
    # the package's own names as its sources write them: its subpackages and modules (in imports and in
    # resource names such as "diffusion.data"), and the package in "from diffusion import" and "import diffusion"
    parts = sorted(p.stem for p in target.iterdir() if not p.name.startswith("_") and (p.is_dir() or p.suffix == ".py"))
    own = re.compile(rf"\bdiffusion(?=\.({'|'.join(parts)})\b)|(?<=^from )diffusion(?= import)|"
                     rf"(?<=^import )diffusion$", re.MULTILINE)
    for path in target.rglob("*.py"):
        path.write_text(own.sub("diffusion_base", path.read_text(encoding="utf-8")), encoding="utf-8")
    return subprocess.run(["git", "-C", str(checkout), "log", "--oneline", "-1"], check=True, capture_output=True,
                          text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="commit, branch or tag to compare the working tree against")
    ap.add_argument("--place", default="quang_ninh")
    ap.add_argument("--start", default="2010-01")
    ap.add_argument("--months", type=int, default=252)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="threads of one run (foundation.threads)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="diffusion-compare-") as tmp:
        described = base_package(args.base, Path(tmp))
        sys.path.insert(0, tmp)
        sys.path.insert(0, str(REPO))
        versions = {"base": importlib.import_module("diffusion_base"), "new": importlib.import_module("diffusion")}
        for pkg in versions.values():
            importlib.import_module(f"{pkg.__name__}.foundation.threads").set_threads(args.threads)

        def make(pkg, months: int):
            return pkg.AdoptionModel(args.place, start=args.start, months=months, seed=args.seed, agents=False,
                                     collect=True)

        for pkg in versions.values():  # compile and warm up
            make(pkg, 13).run()
        build = {name: 0.0 for name in versions}
        months = {name: 0.0 for name in versions}
        for rep in range(args.repeats):
            order = list(versions) if rep % 2 == 0 else list(versions)[::-1]
            models = {}
            for name in order:
                gc.collect()
                t0 = time.perf_counter()
                models[name] = make(versions[name], args.months)
                build[name] += time.perf_counter() - t0
            for month in range(args.months):
                for name in order if month % 2 == 0 else order[::-1]:
                    t0 = time.perf_counter()
                    models[name].step()
                    months[name] += time.perf_counter() - t0
            a, b = models["base"].timeseries(), models["new"].timeseries()
            if not a.equals(b):
                cols = [c for c in a.columns if c in b.columns and not a[c].equals(b[c])]
                print(f"the outputs differ (columns {cols[:8]}): not a speed change alone")
                return 1
    n = args.repeats
    print(f"base: {described}; new: the working tree; {args.place} from {args.start}, {args.months} months, "
          f"{args.threads} thread(s), mean of {n}; outputs identical")
    for name in versions:
        print(f"  {name}: build {build[name] / n:.2f} s, months {months[name] / n:.2f} s, "
              f"total {(build[name] + months[name]) / n:.2f} s")
    print(f"  base / new: total {(build['base'] + months['base']) / (build['new'] + months['new']):.3f}, "
          f"months {months['base'] / months['new']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
