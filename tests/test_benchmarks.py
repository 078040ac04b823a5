"""Smoke test of the speed benchmark: it runs and prints its ratio line. Timings are never asserted."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_model.py"


@pytest.mark.integration
def test_benchmark_quick_run_prints_ratios():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--sizes", "275", "--months", "6"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(
        r"Ratio per household-step at 275 households: full model / plain Mesa = [0-9.]+x; "
        r"Bass-vectorised / plain Mesa = [0-9.]+x",
        out.stdout,
    ), out.stdout
    assert "plain Mesa" in out.stdout and "Bass-vectorised" in out.stdout
