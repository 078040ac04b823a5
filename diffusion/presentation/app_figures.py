"""What the interactive app shows of a model, without a browser: the readout line of the current month, the
table of adoption by income quintile, the social network coloured by adoption state, adoption by product
over time and the money spent by each lever (matplotlib figures). ``app`` puts them on the page.

The functions take the app's model (``app.HamletModel``, an ``AdoptionModel`` built with ``agents=True``);
``settings_text`` reads the settings it was built with. The adoption figure draws, beside the live curves, the
no-policy run of the same place, parameters and seed (``model.reference_timeseries()``, dashed) up to the
current month. Up to ``RING_LIMIT`` households the network is drawn household by household; above that the
colours of single households cannot be told apart, so each hamlet is a row of the states' counts instead.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffusion.model.adoption import AdoptionModel

#: Colours of the adoption ladder (ColorBrewer, readable by colour-blind viewers).
STATE_COLOURS: dict[str, str] = {
    "none": "#c8c8c8",
    "smartphone": "#fdae61",
    "internet": "#2c7bb6",
    "services": "#1a9641",
}
STATE_LABELS: dict[str, str] = {
    "none": "no smartphone",
    "smartphone": "smartphone only",
    "internet": "internet",
    "services": "digital services",
}
PRODUCT_LINES: tuple[tuple[str, str, str], ...] = (
    ("share_smartphone", "smartphone", STATE_COLOURS["smartphone"]),
    ("share_internet", "internet (any)", STATE_COLOURS["internet"]),
    ("share_fibre", "fibre broadband", "#7b3294"),
    ("share_services", "digital services", STATE_COLOURS["services"]),
)
LEVER_LABELS: dict[str, str] = {
    "smartphone_subsidy": "smartphone subsidy",
    "digital_teams": "digital team allowances",
    "infrastructure": "fibre rollout",
}


#: Largest population drawn household by household; larger ones are drawn as a summary per hamlet.
RING_LIMIT = 1000


def heading_text(model: AdoptionModel) -> str:
    """The page's heading: the hamlet's name, or every hamlet of a commune with their number."""
    names = model.population.hamlet_names
    return names[0] if len(names) == 1 else f"{len(names)} hamlets: {', '.join(names)}"


def readout_text(model: AdoptionModel) -> str:
    """One line with the month and the current shares, as the page shows it (the browser test reads it)."""
    o = model.outputs
    shares = " · ".join(
        f"{label} {100 * o[col]:.1f}%" for col, label, _ in PRODUCT_LINES
    )
    spent = _mvnd(o["cum_cost_total"])
    return f"Month {model.steps} of {model.calendar.months} ({model.date}) · {shares} · spent {spent}"


def settings_text(model: AdoptionModel) -> str:
    """The settings the app's model was built with (its ``settings``), as one line."""
    s = model.settings
    return (
        f"subsidy {int(s['subsidy_vnd']):,} VND · team of {s['team_members']} × {s['visits_per_member']} visits "
        f"({s['targeting'].replace('_', ' ')}) · fibre from {s['fibre_date']} · p {float(s['p']):.3f} · "
        f"q {float(s['q']):.2f} · seed {s['seed']}"
    )


def quintile_table(model: AdoptionModel) -> str:
    """HTML table: share of households with each product by income quintile, poorest first."""
    o = model.outputs
    head = "".join(f"<th style='padding:0 8px;font-weight:500'>{q}</th>" for q in
                   ("poorest 20%", "2nd", "3rd", "4th", "richest 20%"))
    rows = []
    for key, label in (("smartphone", "smartphone"), ("internet", "internet"), ("services", "digital services")):
        cells = "".join(
            f"<td style='text-align:right;padding:0 8px'>{100 * o[f'share_{key}_q{q}']:.0f}%</td>" for q in range(1, 6)
        )
        rows.append(f"<tr><td style='padding:0 8px 0 0'>{label}</td>{cells}</tr>")
    return (
        "<table style='font-size:0.85em;border-collapse:collapse'>"
        f"<tr><th style='text-align:left;font-weight:500;padding:0 8px 0 0'>by income</th>{head}</tr>"
        + "".join(rows) + "</table>"
    )


def _mvnd(vnd: float) -> str:
    return f"{vnd / 1e6:,.1f} million VND"


@lru_cache(maxsize=16)
def ring_layout(hamlet_sizes: tuple[int, ...]) -> np.ndarray:
    """(n, 2) positions: each hamlet's households on a ring (the Watts-Strogatz ring order), hamlets on a grid.

    Deterministic and cached: the same place always looks the same, so a household keeps its place on
    the screen while its colour changes.
    """
    cols = int(np.ceil(np.sqrt(len(hamlet_sizes))))
    parts = []
    for h, size in enumerate(hamlet_sizes):
        angle = np.pi / 2 - 2 * np.pi * np.arange(size) / max(size, 1)
        cx, cy = 2.6 * (h % cols), -2.6 * (h // cols)
        parts.append(np.column_stack([cx + np.cos(angle), cy + np.sin(angle)]))
    return np.concatenate(parts) if parts else np.empty((0, 2))


def network_segments(model: AdoptionModel) -> np.ndarray:
    """(ties, 2, 2) line segments of the network in ``ring_layout`` coordinates (cached on the model)."""
    cached = getattr(model, "_app_segments", None)
    if cached is not None:
        return cached
    pos = ring_layout(tuple(int(c) for c in np.bincount(model.population.hamlet, minlength=model.population.n_hamlets)))
    adj = model.network.adjacency
    if adj is None:
        seg = np.empty((0, 2, 2))
    else:
        coo = adj.tocoo()
        upper = coo.row < coo.col
        seg = np.stack([pos[coo.row[upper]], pos[coo.col[upper]]], axis=1)
    model._app_segments = seg
    return seg


def network_figure(model: AdoptionModel) -> Figure:
    """The households on their rings, coloured by adoption state; ties in grey; team households ringed. Above
    ``RING_LIMIT`` households, ``hamlet_summary_figure`` instead."""
    if model.population.n > RING_LIMIT:
        return hamlet_summary_figure(model)
    pop = model.population
    pos = ring_layout(tuple(int(c) for c in np.bincount(pop.hamlet, minlength=pop.n_hamlets)))
    states = [h.state_label for h in model.households()]
    colours = [STATE_COLOURS[s] for s in states]
    counts = {s: states.count(s) for s in STATE_COLOURS}
    fig = Figure(figsize=(5.4, 3.7), dpi=100)
    ax = fig.add_axes((0.0, 0.02, 0.62, 0.88))
    ax.add_collection(LineCollection(network_segments(model), colors="#9e9e9e", linewidths=0.4, alpha=0.35))
    size = 36 if pop.n <= 500 else 8
    edge = np.where(pop.leader, "black", "white")
    ax.scatter(pos[:, 0], pos[:, 1], s=size, c=colours, edgecolors=edge, linewidths=0.6, zorder=3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.margins(0.04)
    handles = [
        Line2D([], [], marker="o", linestyle="", markersize=7, markerfacecolor=STATE_COLOURS[s],
               markeredgecolor="white", label=f"{STATE_LABELS[s]} ({counts[s]})")
        for s in STATE_COLOURS
    ]
    handles.append(Line2D([], [], marker="o", linestyle="", markersize=7, markerfacecolor="white",
                          markeredgecolor="black", label="team / hamlet head"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.63, 0.5), frameon=False, fontsize=9,
               handletextpad=0.3, labelspacing=0.9, title="households", title_fontsize=9, alignment="left")
    fig.suptitle(f"Who uses what, {model.date}: {pop.n} households, {model.network.n_ties} ties",
                 fontsize=10, x=0.02, ha="left")
    return fig


def hamlet_summary_figure(model: AdoptionModel) -> Figure:
    """One row per hamlet: its households by adoption state (counts, stacked in the ladder's order)."""
    pop = model.population
    states = np.array([h.state_label for h in model.households()])
    names = pop.hamlet_names
    counts = {s: np.bincount(pop.hamlet[states == s], minlength=len(names)) for s in STATE_COLOURS}
    fig = Figure(figsize=(5.4, max(2.4, 0.32 * len(names) + 1.3)), dpi=100)
    ax = fig.add_axes((0.2, 0.2, 0.77, 0.68))
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for s, colour in STATE_COLOURS.items():
        ax.barh(y, counts[s], left=left, color=colour, edgecolor="white", linewidth=0.5, height=0.8,
                label=f"{STATE_LABELS[s]} ({int(counts[s].sum())})", gid=f"hamlets:{s}")
        left += counts[s]
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("households", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.42, -0.16), ncols=2, fontsize=8, frameon=False)
    fig.suptitle(f"Who uses what, {model.date}: {pop.n} households in {len(names)} hamlets",
                 fontsize=10, x=0.02, ha="left")
    return fig


def _years(model: AdoptionModel, months: np.ndarray) -> np.ndarray:
    y0, m0 = model.calendar.start_ym
    return y0 + (m0 - 1) / 12 + np.asarray(months) / 12


def _time_axis(ax, model: AdoptionModel) -> None:
    y0, m0 = model.calendar.start_ym
    first = y0 + (m0 - 1) / 12
    ax.set_xlim(first, first + model.calendar.months / 12)
    ax.set_xticks(np.arange(np.ceil(first), first + model.calendar.months / 12 + 1e-9))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0f}")
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def adoption_figure(model: AdoptionModel) -> Figure:
    """Share of households using each product, month by month, against the 95% target."""
    df = model.timeseries()
    fig = Figure(figsize=(5.0, 3.4), dpi=100)
    ax = fig.add_subplot()
    x = _years(model, df["month"].to_numpy())
    for col, label, colour in PRODUCT_LINES:
        ax.plot(x, 100 * df[col].to_numpy(), color=colour, linewidth=2, label=f"{label} {100 * df[col].iloc[-1]:.0f}%",
                gid=f"live:{col}")
    ref = model.reference_timeseries() if hasattr(model, "reference_timeseries") else None
    if ref is not None:  # the same place, parameters and seed without any lever, up to the current month
        ref = ref[ref["month"] <= int(df["month"].max())]
        xr = _years(model, ref["month"].to_numpy())
        for col, _, colour in PRODUCT_LINES:
            ax.plot(xr, 100 * ref[col].to_numpy(), color=colour, linewidth=1.2, linestyle="--", alpha=0.8,
                    gid=f"reference:{col}")
        ax.plot([], [], color="#555555", linestyle="--", linewidth=1.2, label="dashed: no policy, same seed")
    ax.axhline(95, color="#555555", linestyle=":", linewidth=1)
    _time_axis(ax, model)
    ax.text(ax.get_xlim()[1], 95.5, "95% target ", fontsize=7, color="#555555", va="bottom", ha="right")
    ax.set_ylim(0, 101)
    ax.set_ylabel("households (%)")
    ax.set_title("Households using each product", fontsize=10, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8, frameon=False,
              handlelength=1.2, columnspacing=1.0)
    fig.tight_layout()
    return fig


def spending_figure(model: AdoptionModel) -> Figure:
    """Money spent so far by each lever (stacked), million VND."""
    df = model.timeseries()
    fig = Figure(figsize=(5.0, 3.4), dpi=100)
    ax = fig.add_subplot()
    x = _years(model, df["month"].to_numpy())
    names = [lv.name for lv in model.levers]
    ys = [df[f"cum_cost.{n}"].to_numpy() / 1e6 for n in names]
    colours = ["#fdae61", "#2c7bb6", "#7b3294", "#1a9641", "#d7191c"]
    labels = [f"{LEVER_LABELS.get(n, n.replace('_', ' '))}: {y[-1]:,.1f}" for n, y in zip(names, ys, strict=True)]
    if ys:
        ax.stackplot(x, *ys, labels=labels, colors=colours[: len(ys)], alpha=0.85)
    _time_axis(ax, model)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("million VND")
    ax.set_title(f"Money spent so far: {_mvnd(df['cum_cost_total'].iloc[-1])}", fontsize=10, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize=8, frameon=False,
              handlelength=1.2, columnspacing=1.0)
    fig.tight_layout()
    return fig
