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


@pytest.mark.integration
def test_sensitivity_benchmark_smoke_run_prints_both_baselines():
    bench = BENCH.parent / "bench_sensitivity.py"
    out = subprocess.run([sys.executable, str(bench), "--n", "8", "--workers", "1"], check=False,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert re.search(r"plain Mesa agent loop of the same model .*: [0-9.]+ ms per run", out.stdout), out.stdout
    assert re.search(r"lower bound, plain Mesa one-product Bass rule .*: [0-9.]+ ms per run", out.stdout)
    assert re.search(r"speed-up over the plain Mesa model: [0-9.]+x \(target 50x: (met|MISSED)\)", out.stdout)
