"""The interactive app: watch one hamlet adopt, month by month, and move the levers.

A Mesa ``SolaraViz`` page. The sidebar holds Mesa's controls (Reset, play, Step) and the settings: the
smartphone subsidy, the digital team (members, visits per member, targeting), the month fibre reaches
the hamlet, and the innovation and imitation rates p and q. The main area shows a readout of the
current month, the hamlet's social network with every household coloured by how far it has come
(no smartphone, smartphone, internet, digital services), adoption by product over time and the money
spent by each lever.

Settings take effect when you press **Reset**, which rebuilds the hamlet with them (the same seed gives
the same households and the same random numbers, so two settings can be compared fairly). A value the
model does not allow (a fibre month outside 2021-01..2026-01, a seed that is not a whole number) shows
the model's own error message in the page instead of a hamlet. The readout and the figures are drawn by
``app_figures``.

Run it with ``diffusion app`` or ``make app``; it serves on
http://127.0.0.1:8765 by default. It needs the optional ``viz`` extra (``pip install -e '.[viz]'``).

Example (the model the page builds, without a browser):
    >>> from diffusion.presentation.app import HamletModel
    >>> m = HamletModel(team_members=10, fibre_date="2022-06", seed="3")
    >>> m.run_for(12)
    >>> round(m.outputs["share_internet"], 2)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import warnings
from typing import Any

import mesa
import numpy as np

from diffusion.foundation.errors import DiffusionError, ParameterError, check_choice
from diffusion.model.adoption import AdoptionModel
from diffusion.model.levers import TARGETING, DigitalTeams, InfrastructureRollout, SmartphoneSubsidy
from diffusion.model.products import PRODUCTS
from diffusion.presentation.app_figures import (
    PRODUCT_LINES,
    STATE_COLOURS,
    adoption_figure,
    heading_text,
    network_figure,
    quintile_table,
    readout_text,
    settings_text,
    spending_figure,
)

try:  # the viz extra; without it the model below still works, but no page can be served
    import solara

    with warnings.catch_warnings():  # Mesa 3.3.1's ComponentsView trips solara's hook linter; not ours to fix
        warnings.filterwarnings("ignore", message=r".*found despite early return", category=UserWarning)
        from mesa.visualization import SolaraViz
        from mesa.visualization.utils import update_counter

    _VIZ_MISSING: ImportError | None = None
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    solara = None
    _VIZ_MISSING = exc

__all__ = [
    "APP_PLACES", "COMPONENTS", "DEFAULTS", "STATE_COLOURS", "HamletModel", "Page", "Readout", "adoption_figure",
    "app_main", "default_settings", "model_params", "network_figure", "page", "readout_text", "server_command",
    "solara_env", "spending_figure",
]

#: Places the app can draw (a province of 400,000 households is not a picture).
APP_PLACES: tuple[str, ...] = ("thon_dong", "dam_buon", "commune")
#: Environment variable through which ``diffusion app --place`` chooses the place the page starts with.
PLACE_ENV = "DIFFUSION_APP_PLACE"
START = "2021-01"
MONTHS = 60
#: The settings the model and the page start with (the page reads its place from $DIFFUSION_APP_PLACE).
DEFAULTS: dict[str, Any] = {
    "place": "thon_dong",
    "subsidy_vnd": 500_000,
    "team_members": 8,
    "visits_per_member": 10,
    "targeting": "non_adopters_first",
    "fibre_date": START,
    "p": 0.03,
    "q": 0.38,
}

# ---------------------------------------------------------------------------------------------- model
class HamletModel(AdoptionModel):
    """``AdoptionModel`` of one place with the app's levers, built from flat keyword arguments.

    SolaraViz rebuilds the model from the sidebar's values as keyword arguments; this class turns them
    into levers and parameter overrides. A value the model does not allow does not raise: the model is
    built empty, ``error`` holds the message (the same ParameterError text a config or a notebook call
    gives) and ``running`` is False, so the page can show the message instead of a traceback.

    Args:
        place: place preset, one of APP_PLACES.
        subsidy_vnd: smartphone subsidy per poor or near-poor household that buys one, VND.
        team_members: members of the hamlet's digital team (0: no team).
        visits_per_member: household visits per member per month.
        targeting: whom the team visits first (see ``diffusion.model.levers.TARGETING``).
        fibre_date: month fibre broadband reaches the hamlet(s), "YYYY-MM" (the start month: from the start).
        p: innovation rate per year, for every product.
        q: imitation rate per year at full neighbour adoption, for every product.
        months: months to simulate from 2021-01.
        seed: whole number (text from the page is accepted); the same seed gives the same hamlet.
    """

    def __init__(
        self,
        place: str = DEFAULTS["place"],
        subsidy_vnd: float = DEFAULTS["subsidy_vnd"],
        team_members: int = DEFAULTS["team_members"],
        visits_per_member: int = DEFAULTS["visits_per_member"],
        targeting: str = DEFAULTS["targeting"],
        fibre_date: str = DEFAULTS["fibre_date"],
        p: float = DEFAULTS["p"],
        q: float = DEFAULTS["q"],
        months: int = MONTHS,
        seed: int | str = 1,
    ):
        self.error: str | None = None
        self.settings = {
            "place": place,
            "subsidy_vnd": subsidy_vnd,
            "team_members": team_members,
            "visits_per_member": visits_per_member,
            "targeting": targeting,
            "fibre_date": fibre_date,
            "p": p,
            "q": q,
            "months": months,
            "seed": seed,
        }
        try:
            check_choice("place", place, APP_PLACES)
            fibre_date = fibre_date.strip() if isinstance(fibre_date, str) else fibre_date
            levers = [
                SmartphoneSubsidy(amount_vnd=subsidy_vnd, eligibility=("poor", "near_poor")),
                DigitalTeams(members_per_team=team_members, visits_per_member=visits_per_member, targeting=targeting),
                InfrastructureRollout(fibre=[[fibre_date, 1.0]]),
            ]
            overrides = {f"{prod}.{name}": value for prod in PRODUCTS for name, value in (("p", p), ("q", q))}
            super().__init__(
                place, params=overrides, levers=levers, start=START, months=months, seed=_seed(seed), agents=True
            )
        except DiffusionError as exc:
            self.error = str(exc)
            if not hasattr(self, "_user_step"):  # Mesa's Model.__init__ has not run yet
                mesa.Model.__init__(self, rng=0)
            self.running = False

    def reference_timeseries(self):
        """The no-policy run of this place with the same parameters and seed (no lever at all), all months, as
        ``timeseries()``; None without a hamlet. Run once, when first asked for."""
        if self.error is not None:
            return None
        if getattr(self, "_reference", None) is None:
            s = self.settings
            overrides = {f"{prod}.{name}": s[name] for prod in PRODUCTS for name in ("p", "q")}
            ref = AdoptionModel(s["place"], params=overrides, levers=[], start=START, months=s["months"],
                                seed=_seed(s["seed"]), agents=False)
            ref.run()
            self._reference = ref.timeseries()
        return self._reference

    def step(self) -> None:
        """One month; past the last month (or without a hamlet) nothing happens."""
        if self.error is not None or self.steps > self.calendar.months:
            self.steps -= 1  # undo Mesa's count: no month was simulated
            self.running = False
            return
        super().step()


def _seed(value: int | str) -> int:
    """The seed as an int; text such as "12" from an input box is accepted."""
    text = value.strip() if isinstance(value, str) else value
    try:
        seed = int(text) if isinstance(text, str) else text
    except ValueError:
        seed = None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError("seed", value, "a whole number >= 0")
    return int(seed)


def default_settings(place: str | None = None) -> dict[str, Any]:
    """The values the page starts with (``place`` defaults to $DIFFUSION_APP_PLACE or thon_dong)."""
    return {**DEFAULTS, "place": place or os.environ.get(PLACE_ENV) or DEFAULTS["place"], "seed": "1"}


def model_params(place: str | None = None) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the sidebar's inputs, starting at ``default_settings``."""
    d = default_settings(place)
    return {
        "place": {"type": "Select", "value": d["place"], "values": list(APP_PLACES), "label": "Place"},
        "subsidy_vnd": {
            "type": "SliderInt", "value": d["subsidy_vnd"], "min": 0, "max": 2_000_000, "step": 50_000,
            "label": "Phone subsidy 0–2M VND",
        },
        "team_members": {
            "type": "SliderInt", "value": d["team_members"], "min": 0, "max": 20, "step": 1,
            "label": "Team members 0–20",
        },
        "visits_per_member": {
            "type": "SliderInt", "value": d["visits_per_member"], "min": 0, "max": 30, "step": 1,
            "label": "Visits/member 0–30",
        },
        "targeting": {
            "type": "Select", "value": d["targeting"], "values": list(TARGETING), "label": "Team visits first"
        },
        "fibre_date": {"type": "InputText", "value": d["fibre_date"], "label": "Fibre arrives (YYYY-MM)"},
        "p": {"type": "SliderFloat", "value": d["p"], "min": 0.0, "max": 0.2, "step": 0.005,
              "label": "p 0–0.2 /year"},
        "q": {"type": "SliderFloat", "value": d["q"], "min": 0.0, "max": 1.5, "step": 0.02,
              "label": "q 0–1.5 /year"},
        "seed": {"type": "InputText", "value": d["seed"], "label": "Seed"},
        "months": MONTHS,
    }


# -------------------------------------------------------------------------------------- page
def _component(fn):
    return solara.component(fn) if solara is not None else fn


@_component
def Readout(model: HamletModel):
    """The month and the current shares, or the model's error message."""
    update_counter.get()  # redraw after every step (Mesa bumps this counter)
    solara.Style(SLIDER_VALUES_CSS)  # (a global style sheet: the sidebar's sliders too)
    if model.error is not None:
        with solara.Column(classes=["diffusion-error"]):
            solara.Error(f"Cannot build the hamlet: {model.error}")
            solara.Info("Correct the value in the sidebar, then press Reset.")
        return
    with solara.Column(gap="4px"):
        # (plain Text, not Markdown: Markdown pulls KaTeX from a CDN, which an offline machine cannot reach)
        solara.Text(heading_text(model), classes=["diffusion-heading"],
                    style={"font-size": "1.4em", "font-weight": "600"})
        o = model.outputs
        with solara.Row(gap="6px", style={"margin": "4px 0"}):
            tiles = [(f"{100 * o[col]:.0f}%", label, colour) for col, label, colour in PRODUCT_LINES]
            tiles.append((f"{o['cum_cost_total'] / 1e6:,.0f}M", "VND spent", "#555555"))
            for value, label, colour in tiles:
                with solara.Column(gap="0px", style={"border-left": f"4px solid {colour}", "padding": "2px 8px",
                                                     "background": "#f5f5f5", "flex": "1 1 0", "min-width": "0"}):
                    solara.Text(value, style={"font-size": "1.4em", "font-weight": "600"})
                    solara.Text(label, style={"font-size": "0.75em", "color": "#555", "white-space": "nowrap"})
        solara.Text(readout_text(model), classes=["diffusion-readout"], style={"font-size": "0.9em"})
        solara.HTML(tag="div", unsafe_innerHTML=quintile_table(model), style={"margin": "6px 0"})
        solara.Text(f"Settings in effect: {settings_text(model)}", style={"color": "#666", "font-size": "0.85em"})
        solara.Text("Change a setting in the sidebar, then press Reset to rebuild the hamlet with it "
                    "(same seed: same households). Step moves one month.",
                    style={"color": "#666", "font-size": "0.85em"})


@_component
def FigureView(model: HamletModel, draw, css_class: str):
    """One of the page's figures: ``draw(model)`` (a matplotlib figure), redrawn after every step."""
    update_counter.get()  # redraw after every step (Mesa bumps this counter)
    if model.error is None:
        with solara.Column(classes=[css_class]):
            solara.FigureMatplotlib(draw(model), format="png", bbox_inches="tight")


@_component
def NetworkView(model: HamletModel):
    """The social network, households coloured by adoption state."""
    FigureView(model, network_figure, "diffusion-network")


@_component
def AdoptionPlot(model: HamletModel):
    """Households using each product over time."""
    FigureView(model, adoption_figure, "diffusion-adoption")


@_component
def SpendingPlot(model: HamletModel):
    """Money spent so far, by lever."""
    FigureView(model, spending_figure, "diffusion-spending")


#: Every sidebar slider shows its value beside its thumb at all times (Vuetify shows it only while dragging).
SLIDER_VALUES_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-slider__thumb-label { transform: translate(-50%, -2px) !important; border-radius: 3px !important;
  width: auto !important; min-width: 24px; height: 18px !important; padding: 0 4px; font-size: 11px; }
.v-slider__thumb-label > * { transform: none !important; white-space: nowrap; }
"""

COMPONENTS = [(Readout, 0), (NetworkView, 0), (AdoptionPlot, 0), (SpendingPlot, 0)]


@_component
def Page():
    """One model per browser session, rebuilt by Reset from the sidebar's values."""
    model = solara.use_memo(lambda: HamletModel(**default_settings(), months=MONTHS), [])
    solara.Title("diffusion: a hamlet goes digital")
    return SolaraViz(
        model, components=COMPONENTS, model_params=model_params(), name="diffusion — a hamlet goes digital"
    )


#: What ``solara run diffusion.presentation.app:page`` serves.
page = Page


# ------------------------------------------------------------------------------------- server
def solara_env(place: str = "thon_dong") -> dict[str, str]:
    """Environment for the solara server: telemetry off, no version check, assets served locally."""
    env = dict(os.environ)
    env.update(
        SOLARA_TELEMETRY_MIXPANEL_ENABLE="False",  # no usage reports to mixpanel
        SOLARA_CHECK_VERSION="False",
        SOLARA_ASSETS_PROXY="True",  # serve JS/CSS from the solara-assets package, not from a CDN
        SOLARA_THEME_SHOW_BANNER="False",
        SOLARA_THEME_TITLE="diffusion",
        SOLARA_CHECK_HOOKS="off",  # Mesa's own components trip solara's hook linter at import
        MPLBACKEND="Agg",
    )
    env[PLACE_ENV] = place
    return env


def server_command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    """The ``solara run`` command line for the page."""
    return [
        sys.executable, "-m", "solara", "run", "diffusion.presentation.app:page",
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]


def app_main(argv: list[str] | None = None) -> int:
    """``diffusion app``: serve the page until Ctrl-C. Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="diffusion app", description="Serve the interactive hamlet app (Mesa SolaraViz)."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--place", default="thon_dong", help=f"place the page starts with: {', '.join(APP_PLACES)}")
    args = parser.parse_args(argv)
    try:
        check_choice("place", args.place, APP_PLACES)
    except ParameterError as exc:
        print(f"diffusion app: {exc}", file=sys.stderr)
        return 2
    if _VIZ_MISSING is not None:
        print(f"diffusion app: the app needs the viz extra (pip install -e '.[viz]'): {_VIZ_MISSING}", file=sys.stderr)
        return 1
    print(f"diffusion app: serving {args.place} on http://{args.host}:{args.port} (Ctrl-C stops)", file=sys.stderr)
    proc = subprocess.Popen(server_command(args.host, args.port), env=solara_env(args.place))

    def _stop(signum, frame):  # a SIGTERM to `diffusion app` stops the server too
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop) if threading.current_thread() is threading.main_thread() else None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(app_main())
