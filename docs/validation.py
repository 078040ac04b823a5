"""The numbers of docs/validation.md that do not come from the calibration's own tables: the model with its
defaults (the calibrated posterior medians) against what it was not fitted to.

Run:  python docs/validation.py [--seeds 8]     (a few minutes on 2 cores; prints Markdown tables)

1. Rich and poor places: a poor mountain commune, an average rural commune and a rich delta commune from 2008,
   their smartphone and internet shares in 2016, 2019, 2022 and 2025.
2. People by age: the shares of people using a smartphone by age band in Vietnam (2013, 2017, 2022).
3. Demography: household size and the shares of people aged 0-14 and 65+ in 2009, 2019 and 2024 against the
   censuses (demography.csv).
4. The start state's balance: for runs started in 2021-01 without levers, the change of every product's
   share by income quintile over the first six months (a start state out of balance would show groups
   declining by themselves).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from diffusion import AdoptionModel
from diffusion.model.engine import BatchRun, run_batch
from diffusion.model.params import ModelParams
from diffusion.model.products import INDICATORS


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(f"{v:.1%}" if isinstance(v, float) and abs(v) <= 1.5 else str(v)
                                     for v in row) + " |")
    return "\n".join(out)


def _runs(place: str, scale: float, seeds: int, months: int, start: str = "2008-01"):
    """Mean monthly outputs over ``seeds`` runs of ``place`` (one batch)."""
    runs = [BatchRun(np.random.SeedSequence(s, spawn_key=(0x7A1,)), ModelParams(), []) for s in range(seeds)]
    e = run_batch(place, scale, start, months, runs, detail=True)
    rows = []
    for t in range(months + 1):
        if t:
            e.step()
        row = {k: float(np.mean(v)) for k, v in e.outputs.items()}
        row["date"] = e.calendar.label(t)
        st = e.state
        alive = st.age >= 0
        row["size"] = float(st.size.mean())
        row["age_0_14"] = float(((st.age >= 0) & (st.age < 15)).sum() / alive.sum())
        row["age_65_plus"] = float((st.age >= 65).sum() / alive.sum())
        rows.append(row)
    return pd.DataFrame(rows).set_index("date")


def places(seeds: int) -> str:
    dates = ["2016-06", "2019-06", "2022-06", "2025-06"]
    out = []
    for key, scale in (("mountain_commune", 1.0), ("rural_commune", 1.0), ("delta_commune", 1.0)):
        ts = _runs(key, scale, seeds, 210)
        for d in dates:
            out.append({"place": key, "date": d, "smartphone": ts.loc[d, "share_smartphone"],
                        "internet": ts.loc[d, "share_internet"], "fibre": ts.loc[d, "share_fibre"],
                        "adults with a smartphone": ts.loc[d, "share_adults_smartphone"]})
    return _table(pd.DataFrame(out))


def ages_and_people(seeds: int) -> tuple[str, str]:
    ts = _runs("vietnam", 0.0002, seeds, 204)
    bands = ["15_24", "25_34", "35_44", "45_54", "55_64", "65_plus"]
    rows = [{"date": d, **{b.replace("_", "-"): ts.loc[d, f"share_people_smartphone_{b}"] for b in bands}}
            for d in ("2013-06", "2017-04", "2022-03", "2024-06")]
    demo = [{"date": d, "persons per household": f"{ts.loc[d, 'size']:.2f}", "aged 0-14": ts.loc[d, "age_0_14"],
             "aged 65+": ts.loc[d, "age_65_plus"]} for d in ("2009-04", "2019-04", "2024-06")]
    return _table(pd.DataFrame(rows)), _table(pd.DataFrame(demo))


def balance(seeds: int) -> str:
    runs = [BatchRun(np.random.SeedSequence(s, spawn_key=(0x7A2,)), ModelParams(), []) for s in range(seeds)]
    e = run_batch("commune", 1.0, "2021-01", 6, runs, detail=True)
    first = {k: np.mean(v) for k, v in e.outputs.items()}
    for _ in range(6):
        e.step()
    rows = []
    for k in INDICATORS:
        row = {"indicator": k}
        for q in range(1, 6):
            name = f"share_{k}_q{q}"
            row[f"q{q}"] = f"{100 * (np.mean(e.outputs[name]) - first[name]):+.1f}"
        rows.append(row)
    return _table(pd.DataFrame(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()
    AdoptionModel("thon_dong", start="2008-01", months=1, seed=1)  # warm-up (imports, data)
    print("## Rich and poor places (mean of", args.seeds, "runs)\n")
    print(places(args.seeds))
    age, demo = ages_and_people(args.seeds)
    print("\n## People using a smartphone by age band, Vietnam\n")
    print(age)
    print("\n## Demography\n")
    print(demo)
    print("\n## Start-state balance: change of the share in the first six months from 2021-01, points\n")
    print(balance(args.seeds))


if __name__ == "__main__":
    main()
