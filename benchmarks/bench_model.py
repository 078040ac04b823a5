"""Speed of the household adoption model against a plain Mesa agent loop, measured in the same run.

Three models are timed at each size (same place, same seed, same social network):

* **full model**: ``AdoptionModel`` with the default parameters (four products, hazard mechanism,
  heterogeneous households), ``agents=False``, ``collect=True`` (its DataCollector records every
  monthly output).
* **Bass-vectorised**: the same ``AdoptionModel`` on the single-product Bass configuration,
  ``ModelParams.bass(p, q)`` with network "small_world": the rule of the plain Mesa baseline, run by our
  vectorised step.
* **plain Mesa**: the idiomatic Mesa version of that Bass rule. Households are ``mesa.Agent`` objects
  holding a list of their neighbours, taken from the CSR adjacency that ``diffusion.network.build_network``
  built for the Bass-vectorised run (so the graph is identical); each month
  ``model.agents.shuffle_do("step")`` and a ``mesa.DataCollector`` records the adoption share. A
  household that has not adopted reads its neighbours' adoption and adopts with probability
  P = 1 - exp(-(p + q*s) / 12), drawing from ``model.random``.

For each model and size the script reports the build time (population, network and initial state; for
plain Mesa: the agents and their neighbour lists, given the CSR), the run time (all monthly steps with
data collection), their sum, and household-steps per second (households x months / run time). The ratios
of household-steps per second against plain Mesa are the result; absolute seconds are context.

Usage:
    python benchmarks/bench_model.py                 # 275, ~10k, ~100k, ~400k households, 120 months
    python benchmarks/bench_model.py --quick         # smoke run: 275 and ~2,000 households, 24 months
    python benchmarks/bench_model.py --sizes 275,10k --months 60
    python benchmarks/bench_model.py --profile       # also cProfile one run of the largest size
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
import scipy
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark this checkout's diffusion

import diffusion
from diffusion import AdoptionModel, ModelParams
from diffusion.foundation.sources import place

#: Households of Quảng Ninh at scale 1.0 (the province preset) and of Thôn Đông.
PROVINCE_HOUSEHOLDS = place("quang_ninh").households
HAMLET_HOUSEHOLDS = place("thon_dong").households
#: Named sizes: label -> (place preset, scale).
NAMED_SIZES: dict[str, tuple[str, float]] = {
    "275": ("thon_dong", 1.0),
    "2k": ("quang_ninh", 0.005),
    "10k": ("quang_ninh", 0.025),
    "100k": ("quang_ninh", 0.25),
    "400k": ("quang_ninh", 1.0),
    "province": ("quang_ninh", 1.0),
}
DEFAULT_SIZES = "275,10k,100k,400k"
QUICK_SIZES = "275,2k"
#: Bass parameters per year (the defaults of ProductParams: Sultan, Farley & Lehmann 1990 means).
BASS_P, BASS_Q = 0.03, 0.38
#: Target of the speed issue: full model vs plain Mesa, per household-step, at this many households.
RATIO_TARGET, RATIO_TARGET_HOUSEHOLDS = 100.0, 100_000
#: Target of the speed issue: province-scale run, build included, in under this many seconds.
PROVINCE_TARGET_S = 5.0


# --------------------------------------------------------------------------- plain Mesa baseline
class BassHousehold(mesa.Agent):
    """A household that adopts the one product with the Bass hazard, looking at its neighbours."""

    def __init__(self, model: PlainMesaBass):
        super().__init__(model)
        self.adopted = False
        self.neighbours: list[BassHousehold] = []

    def step(self) -> None:
        if self.adopted:
            return
        ties = self.neighbours
        share = sum(n.adopted for n in ties) / len(ties) if ties else 0.0
        rate = self.model.p + self.model.q * share  # per year
        if self.random.random() < 1.0 - math.exp(-rate / 12.0):
            self.adopted = True


def adoption_share(model: PlainMesaBass) -> float:
    """Share of households that have adopted (0-1)."""
    return model.agents.agg("adopted", sum) / len(model.agents)


class PlainMesaBass(mesa.Model):
    """The single-product Bass rule written the plain Mesa way, on a given network.

    Args:
        adjacency: symmetric CSR adjacency (household i's neighbours are its row's column indices).
        p: innovation rate per year. q: imitation rate per year at full neighbour adoption.
        seed: seed of the model's random number generators.
    """

    def __init__(self, adjacency: sp.csr_matrix, p: float, q: float, seed: int):
        super().__init__(rng=seed)
        self.p = p
        self.q = q
        households = [BassHousehold(self) for _ in range(adjacency.shape[0])]
        indptr, indices = adjacency.indptr.tolist(), adjacency.indices.tolist()
        for i, household in enumerate(households):
            household.neighbours = [households[j] for j in indices[indptr[i] : indptr[i + 1]]]
        self.datacollector = mesa.DataCollector(model_reporters={"adoption_share": adoption_share})
        self.datacollector.collect(self)

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


# --------------------------------------------------------------------------- measurements
@dataclass
class Timing:
    """One model at one size. Times are medians over ``repeats`` runs, in seconds."""

    model: str
    households: int
    months: int  # months actually simulated
    build_s: float
    run_s: float
    repeats: int
    final_share: float  # smartphone (or the Bass product) share after the last month, 0-1

    @property
    def total_s(self) -> float:
        return self.build_s + self.run_s

    @property
    def steps_per_s(self) -> float:
        """Household-steps per second of the monthly steps (build excluded)."""
        return self.households * self.months / self.run_s


@dataclass
class Size:
    label: str
    place: str
    scale: float


def approx_households(size: Size) -> int:
    """Households a size will have, roughly (before the population is drawn)."""
    return int(place(size.place).households * size.scale)


def parse_sizes(text: str) -> list[Size]:
    """'275,10k,100k,400k' or household counts; counts <= 1000 are Thôn Đông rescaled, larger ones
    Quảng Ninh at scale households / 403,843."""
    sizes = []
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if item in NAMED_SIZES:
            preset, scale = NAMED_SIZES[item]
        else:
            try:
                n = int(float(item[:-1]) * 1000) if item.endswith("k") else int(item)
            except ValueError:
                raise SystemExit(f"--sizes: {raw!r} is not a household count or one of {sorted(NAMED_SIZES)}") from None
            if n < 2:
                raise SystemExit(f"--sizes: {raw!r} must be at least 2 households")
            preset, scale = ("thon_dong", n / HAMLET_HOUSEHOLDS) if n <= 1000 else ("quang_ninh",
                                                                                     n / PROVINCE_HOUSEHOLDS)
        sizes.append(Size(item, preset, scale))
    if not sizes:
        raise SystemExit("--sizes: give at least one size")
    return sizes


#: Each model is run again until this many seconds were spent on its runs, at most MAX_REPEATS times, and
#: the medians are reported, so that timer noise and load spikes on a shared machine matter less for the
#: shorter runs (a run longer than this is timed once).
MIN_TIMING_S = 1.5
MAX_REPEATS = 5


def more_repeats(runs: list[float]) -> bool:
    """Whether to time another run, given the run times so far."""
    return len(runs) < MAX_REPEATS and sum(runs) < MIN_TIMING_S


def timed(build, run) -> tuple[float, float, int, object]:
    """Median build and run seconds over the repeats (``more_repeats``), their number and the last model:
    ``build()`` makes a model, ``run(model)`` simulates it."""
    builds, runs = [], []
    model = None
    while not runs or more_repeats(runs):
        model = None
        gc.collect()
        t0 = time.perf_counter()
        model = build()
        t1 = time.perf_counter()
        run(model)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
    return statistics.median(builds), statistics.median(runs), len(runs), model


def time_adoption_model(
    name: str, size: Size, params: ModelParams, months: int, seed: int
) -> tuple[Timing, AdoptionModel]:
    """Build and run AdoptionModel (agents=False, collect=True); median of repeats."""
    build_s, run_s, repeats, model = timed(
        lambda: AdoptionModel(size.place, params=params, scale=size.scale, months=months, seed=seed, agents=False,
                              collect=True),
        lambda m: m.run(),
    )
    timing = Timing(model=name, households=model.population.n, months=months, build_s=build_s, run_s=run_s,
                    repeats=repeats, final_share=float(model.outputs["share_smartphone"]))
    return timing, model


def history_target(seed: int, repeats: int = 3) -> float:
    """Time the issue's history target: the province from 2010-01 to 2030-12 (252 months), the build and its
    history from 2008 included, collect=True; best of ``repeats`` (a shared machine's noise only slows). The run is
    timed with one thread and with two (``foundation.threads``), alternately, so the ratio of the two is measured
    under the same load."""
    from diffusion.foundation import threads

    best: dict[int, tuple[float, float, float]] = {}
    before = threads.THREADS
    try:
        for _ in range(repeats):
            for n in (1, 2):
                threads.set_threads(n)
                gc.collect()
                t0 = time.perf_counter()
                m = AdoptionModel("quang_ninh", start="2010-01", months=252, seed=seed, agents=False, collect=True)
                t1 = time.perf_counter()
                m.run()
                t2 = time.perf_counter()
                best[n] = min(best.get(n, (math.inf,) * 3), (t2 - t0, t1 - t0, t2 - t1))
    finally:
        threads.set_threads(before)
    total, build, run = best[2]
    verdict = "MET" if total < PROVINCE_TARGET_S else "NOT MET"
    print(f"Target province 2010-01 to 2030-12 (252 months, {m.population.n:,} households) incl. build and its "
          f"history from 2008 < {PROVINCE_TARGET_S:.0f} s on 2 cores: {total:.2f} s (build + history {build:.2f}, run "
          f"{run:.2f}; best of {repeats}) -> {verdict}; one thread {best[1][0]:.2f} s (two threads "
          f"{best[1][0] / total:.2f}x faster)")
    return total


def time_plain_mesa(adjacency: sp.csr_matrix, months: int, seed: int) -> Timing:
    """Build and run the plain Mesa baseline for ``months`` months; median of repeats."""

    def run(model: PlainMesaBass) -> None:
        for _ in range(months):
            model.step()

    build_s, run_s, repeats, model = timed(lambda: PlainMesaBass(adjacency, BASS_P, BASS_Q, seed), run)
    return Timing(model="plain Mesa", households=adjacency.shape[0], months=months, build_s=build_s, run_s=run_s,
                  repeats=repeats, final_share=float(model.datacollector.model_vars["adoption_share"][-1]))


def same_graph(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return a.shape == b.shape and a.nnz == b.nnz and (a != b).nnz == 0


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc (ru_maxrss where /proc is missing).

    /proc's VmHWM starts afresh at exec, unlike ru_maxrss, which a child can inherit from its parent.
    """
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def memory_probe(size: Size, months: int, seed: int) -> dict[str, float]:
    """Peak memory of one full-model run (meant to run in a fresh process, see ``--memory-probe``).

    Returns MB: ``rss_before`` (RSS after imports), ``rss_peak`` (peak RSS after the run) and
    ``traced_peak`` (tracemalloc peak of a second, untimed run: numpy arrays and Python objects).
    """
    rss_before, _ = _rss_mb()
    model = AdoptionModel(size.place, scale=size.scale, months=months, seed=seed, agents=False, collect=True)
    model.run()
    households = model.population.n
    _, rss_peak = _rss_mb()
    del model
    gc.collect()
    tracemalloc.start()
    model = AdoptionModel(size.place, scale=size.scale, months=months, seed=seed, agents=False, collect=True)
    model.run()
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"households": households, "rss_before": rss_before, "rss_peak": rss_peak, "traced_peak": traced_peak}


def run_memory_probe(size: Size, months: int, seed: int) -> dict[str, float] | None:
    cmd = [
        sys.executable,
        __file__,
        "--memory-probe",
        f"{size.place}:{size.scale!r}",
        "--months",
        str(months),
        "--seed",
        str(seed),
    ]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"memory probe failed:\n{out.stderr}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def profile_run(size: Size, months: int, seed: int, top: int = 10) -> None:
    """cProfile one full-model run (build and run) and print the top entries from diffusion/*."""
    profiler = cProfile.Profile()
    profiler.enable()
    model = AdoptionModel(size.place, scale=size.scale, months=months, seed=seed, agents=False, collect=True)
    model.run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    pkg = os.path.dirname(diffusion.__file__)
    total = stats.total_tt
    rows = [(ct, tt, nc, f) for f, (cc, nc, tt, ct, _) in stats.stats.items() if f[0].startswith(pkg)]
    rows.sort(reverse=True)
    print(
        f"\ncProfile of one full-model run, {model.population.n:,} households x {months} months "
        f"(profiled total {total:.2f} s; profiling adds overhead). Top {top} diffusion/* by cumulative time:"
    )
    print(f"  {'cumulative s':>12} {'own s':>8} {'calls':>8}  function")
    for ct, tt, nc, (file, line, name) in rows[:top]:
        print(f"  {ct:12.3f} {tt:8.3f} {nc:8d}  {os.path.relpath(file, os.path.dirname(pkg))}:{line}({name})")
    others = [(tt, ct, nc, f) for f, (cc, nc, tt, ct, _) in stats.stats.items() if not f[0].startswith(pkg)]
    others.sort(reverse=True)
    print(f"Top {top} outside diffusion/ by own time:")
    for tt, ct, nc, (file, line, name) in others[:top]:
        where = name if file == "~" else f"{os.path.basename(file)}:{line}({name})"
        print(f"  {ct:12.3f} {tt:8.3f} {nc:8d}  {where}")


# --------------------------------------------------------------------------- report
def fmt_rate(x: float) -> str:
    return f"{x / 1e6:,.2f} M" if x >= 1e5 else f"{x / 1e3:,.1f} k"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help=f"smoke run: sizes {QUICK_SIZES}, 24 months, no memory probe")
    ap.add_argument(
        "--sizes",
        help=f"comma-separated sizes (default {DEFAULT_SIZES}; named: {', '.join(NAMED_SIZES)}; or household counts)",
    )
    ap.add_argument("--months", type=int, help="months to simulate (default 120; 24 with --quick)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--mesa-max-households",
        type=int,
        default=150_000,
        help="largest size at which the plain Mesa baseline runs (default 150,000)",
    )
    ap.add_argument(
        "--mesa-months",
        type=int,
        help="months for the plain Mesa baseline at sizes above 20,000 households, extrapolated per "
        "household-step (default: all months)",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory probe of the province run")
    ap.add_argument("--no-history", action="store_true",
                    help="skip the history target (the province from 2010-01 to 2030-12, 252 months)")
    ap.add_argument("--profile", action="store_true", help="cProfile one full-model run of the largest size")
    ap.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    months = args.months if args.months is not None else (24 if args.quick else 120)
    if months < 1:
        raise SystemExit("--months must be at least 1")

    if args.memory_probe:
        preset, scale = args.memory_probe.split(":")
        print(json.dumps(memory_probe(Size("probe", preset, float(scale)), months, args.seed)))
        return 0

    sizes = parse_sizes(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    try:
        rev = (
            subprocess.run(
                ["git", "-C", str(Path(__file__).resolve().parents[1]), "describe", "--always", "--dirty"],
                check=False,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        rev = "unknown"
    print(f"diffusion speed benchmark (checkout {rev})")
    print(
        f"  python {platform.python_version()}, mesa {mesa.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        f"  {months} months, seed {args.seed}; Bass p = {BASS_P}, q = {BASS_Q} per year; times are medians "
        "of the repeats shown"
    )

    # Warm-up: first-call costs (imports inside functions, caches) out of the timings.
    AdoptionModel("thon_dong", months=2, seed=0, agents=False).run()
    AdoptionModel("thon_dong", params=ModelParams.bass(BASS_P, BASS_Q), months=2, seed=0, agents=False).run()

    bass_params = ModelParams.bass(BASS_P, BASS_Q).with_overrides({"network": "small_world"})
    results: list[tuple[Size, Timing, Timing, Timing | None, bool]] = []
    for size in sizes:
        full, full_model = time_adoption_model("full model", size, ModelParams(), months, args.seed)
        bass, bass_model = time_adoption_model("Bass-vectorised", size, bass_params, months, args.seed)
        adjacency = bass_model.network.adjacency
        identical = same_graph(adjacency, full_model.network.adjacency)
        del full_model
        mesa_t = None
        if bass.households <= args.mesa_max_households:
            m_months = months
            if args.mesa_months is not None and bass.households > 20_000:
                m_months = max(1, min(months, args.mesa_months))
            mesa_t = time_plain_mesa(adjacency, m_months, args.seed)
        del bass_model, adjacency
        results.append((size, full, bass, mesa_t, identical))
        print(f"  done: {size.label} ({full.households:,} households)", flush=True)

    # ---- table
    head = (
        f"{'size':>8} {'households':>10} {'months':>6}  {'model':<16} {'build s':>8} {'run s':>8} {'total s':>8} "
        f"{'hh-steps/s':>11} {'vs Mesa':>8} {'final share':>11} {'reps':>4}"
    )
    print("\n" + head)
    print("-" * len(head))
    notes = []
    for size, full, bass, mesa_t, identical in results:
        for t in (full, bass, mesa_t):
            if t is None:
                skipped = "(not run: above --mesa-max-households)"
                print(f"{size.label:>8} {bass.households:>10,} {'':>6}  {'plain Mesa':<16} {skipped}")
                continue
            ratio = f"{t.steps_per_s / mesa_t.steps_per_s:7.1f}x" if mesa_t is not None else f"{'-':>8}"
            mo = f"{t.months}*" if t.months != months else f"{t.months}"
            print(
                f"{size.label:>8} {t.households:>10,} {mo:>6}  {t.model:<16} {t.build_s:8.3f} {t.run_s:8.3f} "
                f"{t.total_s:8.3f} {fmt_rate(t.steps_per_s):>11} {ratio:>8} {t.final_share:11.3f} {t.repeats:>4}"
            )
            if t.model == "plain Mesa" and t.months != months:
                notes.append(
                    f"* plain Mesa at {t.households:,} households ran {t.months} of {months} months; its "
                    f"household-steps/s is extrapolated per household-step to {months} months. Early months "
                    "cost more per household-step (fewer households have adopted and return at once), "
                    "so this flatters the vectorised ratios a little."
                )
        if not identical:
            notes.append(f"! network of the Bass configuration differs from the full model's at {size.label}")
    print("-" * len(head))
    print(
        "hh-steps/s: households x months / run s (monthly steps incl. data collection; build excluded). "
        "vs Mesa: hh-steps/s over plain Mesa's at the same size."
    )
    print(
        "build s: full model and Bass-vectorised = population + network + initial state; plain Mesa = agents and "
        "neighbour lists from the same CSR (network build not counted)."
    )
    print(
        "final share: smartphone share after the last month (full model: of all households, from ~0.7 at the "
        "start; Bass runs: the one product, from 0), a check that the two Bass versions agree."
    )
    graphs = "yes" if all(r[4] for r in results) else "NO"
    print(f"Same network (CSR) for the full model, Bass-vectorised and plain Mesa at every size: {graphs}.")
    for note in notes:
        print(note)

    print()
    for _size, full, bass, mesa_t, _ in results:
        if mesa_t is None:
            continue
        print(
            f"Ratio per household-step at {full.households:,} households: full model / plain Mesa = "
            f"{full.steps_per_s / mesa_t.steps_per_s:.1f}x; Bass-vectorised / plain Mesa = "
            f"{bass.steps_per_s / mesa_t.steps_per_s:.1f}x"
        )

    # ---- targets
    print()
    near = [r for r in results if r[3] is not None and 0.5 <= r[1].households / RATIO_TARGET_HOUSEHOLDS <= 2.0]
    if near:
        _, full, _, mesa_t, _ = min(near, key=lambda r: abs(r[1].households - RATIO_TARGET_HOUSEHOLDS))
        ratio = full.steps_per_s / mesa_t.steps_per_s
        verdict = "MET" if ratio >= RATIO_TARGET else "NOT MET"
        print(
            f"Target full model >= {RATIO_TARGET:.0f}x plain Mesa per household-step at ~{RATIO_TARGET_HOUSEHOLDS:,} "
            f"households: {ratio:.1f}x at {full.households:,} -> {verdict}"
        )
    else:
        print(
            f"Target full model >= {RATIO_TARGET:.0f}x plain Mesa at ~{RATIO_TARGET_HOUSEHOLDS:,} households: not "
            "measured in this run (no such size with the plain Mesa baseline)"
        )
    province = [r for r in results if r[0].place == "quang_ninh" and r[0].scale >= 0.99]
    if province:
        size, full, _, _, _ = province[-1]
        verdict = "MET" if full.total_s < PROVINCE_TARGET_S and months >= 120 else "NOT MET"
        if months < 120:
            verdict = f"not comparable ({months} months)"
        print(
            f"Target province scale ({full.households:,} households), {months} months incl. network and population "
            f"build < {PROVINCE_TARGET_S:.0f} s: {full.total_s:.2f} s (build {full.build_s:.2f} + run "
            f"{full.run_s:.2f}) -> {verdict}"
        )
        if not args.no_memory:
            mem = run_memory_probe(size, months, args.seed)
            if mem is not None:
                print(
                    f"Peak memory of the province run (fresh process): max RSS {mem['rss_peak']:.0f} MB "
                    f"(after imports {mem['rss_before']:.0f} MB, so the model adds ~"
                    f"{mem['rss_peak'] - mem['rss_before']:.0f} MB); tracemalloc peak of the run "
                    f"{mem['traced_peak']:.0f} MB"
                )
    else:
        print(f"Target province scale < {PROVINCE_TARGET_S:.0f} s: not measured in this run (no province-scale size)")
    if not args.no_history and not args.quick:
        history_target(args.seed)
    print(
        f"Load average at end: {os.getloadavg()[0]:.2f} (other processes share the CPUs; absolute seconds are "
        "context, the ratios are the result)"
    )

    if args.profile:
        largest = max(sizes, key=approx_households)
        profile_run(largest, months, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
