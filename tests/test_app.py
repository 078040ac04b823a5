"""The interactive app: its model factory (bad input shows the model's error) and the page in a real browser.

The browser test starts ``solara run diffusion.presentation.app:page`` on a free loopback port, drives it with
Playwright for Python using Debian's chromium (no browser download), and reads what the page shows: the
readout line of the current month and shares, the network picture's pixels, the error box.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from diffusion import AdoptionModel, InfrastructureRollout, ParameterError
from diffusion.model.products import PRODUCTS
from diffusion.presentation.app import STATE_COLOURS, HamletModel, readout_text, server_command, solara_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require(condition: bool, reason: str) -> None:
    """Skip when a browser prerequisite is missing, except in CI (CI is set), where that is a failure."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run must install it)")
    pytest.skip(reason)


# ------------------------------------------------------------------------------- bad input, no browser
@pytest.mark.parametrize(
    "settings, name",
    [
        ({"fibre_date": "2021-13"}, "levers.infrastructure.fibre[0]"),
        ({"fibre_date": "2031-01"}, "levers.infrastructure.fibre[0]"),
        ({"seed": "twelve"}, "seed"),
        ({"q": -0.5}, "smartphone.q"),
        ({"targeting": "richest_first"}, "targeting"),
        ({"place": "quang_ninh"}, "place"),
    ],
)
def test_bad_setting_gives_the_parameter_error_not_an_exception(settings, name):
    m = HamletModel(**settings)
    assert m.error is not None and f"parameter '{name}'" in m.error and "is not allowed" in m.error
    assert m.running is False
    m.step()  # pressing Step on the error page does nothing
    assert m.steps == 0 and m.running is False


def test_bad_fibre_date_message_is_the_model_layers_own():
    with pytest.raises(ParameterError) as raised:
        AdoptionModel("thon_dong", levers=[InfrastructureRollout(fibre=[["2021-13", 1.0]])], months=60, seed=1)
    assert HamletModel(fibre_date="2021-13").error == str(raised.value)


def test_error_page_shows_the_message_in_an_error_box():
    solara = pytest.importorskip("solara")
    import ipyvuetify as v

    from diffusion.presentation.app import Readout

    m = HamletModel(fibre_date="2021-13")
    box, rc = solara.render(Readout(m), handle_error=False)
    alerts = [w for w in rc.find(v.Alert).widgets]
    texts = " ".join(str(c) for a in alerts for c in a.children)
    assert m.error in texts
    assert "Traceback" not in texts
    rc.close()


def test_good_settings_build_and_step():
    m = HamletModel(team_members=12, visits_per_member=5, fibre_date=" 2022-06 ", seed=" 3 ")
    assert m.error is None
    m.run_for(m.calendar.months + 5)  # Step past the end does nothing
    assert m.steps == m.calendar.months and not m.running
    assert readout_text(m).startswith(f"Month {m.calendar.months} of {m.calendar.months}")


def test_commune_heading_network_summary_and_no_policy_reference():
    from diffusion.presentation.app_figures import RING_LIMIT, adoption_figure, heading_text, network_figure

    m = HamletModel(place="commune")
    m.run_for(2)
    names = m.population.hamlet_names
    assert len(names) == 8 and all(n in heading_text(m) for n in names)  # every hamlet, not the first three
    assert m.population.n > RING_LIMIT
    bars = network_figure(m).axes[0].patches  # a summary per hamlet: one bar per hamlet and state
    assert len(bars) == 8 * len(STATE_COLOURS)
    assert sum(b.get_width() for b in bars) == m.population.n
    lines = {ln.get_gid(): ln for ln in adoption_figure(m).axes[0].lines if ln.get_gid()}
    ref = lines["reference:share_internet"]
    assert len(ref.get_xdata()) == len(lines["live:share_internet"].get_xdata()) == 3  # months 0..2, same seed
    expected = AdoptionModel("commune", levers=[], start="2021-01", months=60, seed=1, agents=False,
                             params={f"{p}.{k}": v for p in PRODUCTS for k, v in (("p", 0.03), ("q", 0.38))})
    expected.run_for(2)
    assert ref.get_ydata()[-1] == pytest.approx(100 * expected.outputs["share_internet"])
    small = HamletModel(place="thon_dong")
    assert heading_text(small) == small.population.hamlet_names[0]
    assert len(network_figure(small).axes[0].collections) == 2  # ties and households, one by one


# ---------------------------------------------------------------------------------------- browser
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def playwright_api():
    """Playwright's sync API, once the browser, Playwright and the viz extra are known to be there."""
    _require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import solara  # noqa: F401
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        _require(False, f"the test and viz extras are not installed: {exc}")
    return sync_playwright, expect


@pytest.fixture
def app_server(tmp_path):
    """The app served on a free loopback port; yields its URL; always stops the server."""
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        server_command("127.0.0.1", port), env=solara_env("thon_dong"), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app server exited with {proc.returncode}:\n{_tail(tmp_path / 'server.log')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app server did not answer on {url}:\n{_tail(tmp_path / 'server.log')}")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


SHARE = re.compile(r"(smartphone|internet \(any\)|fibre broadband|digital services) ([0-9.]+)%")
SPENT = re.compile(r"spent ([0-9.,]+) million VND")


def _shares(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in SHARE.findall(text)}


def _spent(text: str) -> float:
    m = SPENT.search(text)
    assert m, text
    return float(m.group(1).replace(",", ""))


@pytest.mark.integration
def test_app_in_a_browser(playwright_api, app_server, tmp_path):
    sync_playwright, expect = playwright_api
    from PIL import Image

    outside: list[str] = []  # requests that would leave this machine (blocked: the app must work offline)
    page_errors: list[str] = []

    def offline(route):
        host = route.request.url.split("/")[2] if "://" in route.request.url else ""
        if host.split(":")[0] in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1500, "height": 1000},
        )
        page = None
        try:
            context.route("**/*", offline)
            page = context.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(app_server, wait_until="domcontentloaded")
            readout = page.locator(".diffusion-readout")
            expect(readout).to_contain_text("Month 0 of 60", timeout=90_000)
            first = readout.inner_text()

            # the network shows households: the picture has dots in the adoption-state colours
            net = page.locator(".diffusion-network img").first
            expect(net).to_be_visible(timeout=30_000)
            picture = Image.open(io.BytesIO(net.screenshot())).convert("RGB")
            ring = picture.crop((0, 0, int(picture.width * 0.6), picture.height))  # the households, not the legend
            dots = _colour_counts(ring)
            assert sum(dots.values()) > 0.005 * ring.width * ring.height, dots
            # several states are on the screen (in 2021 most of the hamlet has a smartphone, many are online)
            assert sum(1 for c in dots.values() if c > 50) >= 2, dots

            # Step six months: the plotted adoption changes and the network is redrawn
            step = page.get_by_role("button", name="Step", exact=True)
            for month in range(1, 7):
                step.click()
                expect(readout).to_contain_text(f"Month {month} of 60", timeout=30_000)
            after = readout.inner_text()
            s0, s6 = _shares(first), _shares(after)
            assert len(s0) == 4 and len(s6) == 4, (first, after)
            assert s6 != s0, (first, after)
            assert s6["smartphone"] >= s0["smartphone"]
            assert _spent(after) > _spent(first) == 0.0
            expect(page.locator(".diffusion-adoption img").first).to_be_visible()
            expect(page.locator(".diffusion-spending img").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "app_month6.png"), full_page=True)

            # every slider shows its value, before and after it is moved
            members = page.locator(".v-input.v-input__slider", has=page.get_by_text("Team members 0–20", exact=True))
            expect(members.locator(".v-slider__thumb-label")).to_be_visible()
            expect(members.locator(".v-slider__thumb-label")).to_have_text("8")

            # Move sliders (team members 8 -> 12, p and q to their maxima), Reset, step again: other curves.
            # (p alone raises the month-6 smartphone share by about 1 point, less than the noise between
            # two runs of one hamlet; with q as well by about 7 points, sd 2, over 40 seeds.)
            _slider(page, "Team members 0–20").press("ArrowRight")
            for _ in range(3):
                _slider(page, "Team members 0–20").press("ArrowRight")
            _slider(page, "p 0–0.2 /year").press("End")
            _slider(page, "q 0–1.5 /year").press("End")
            expect(members.locator(".v-slider__thumb-label")).to_have_text("12")
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.get_by_text("team of 12 × 10 visits")).to_be_visible(timeout=30_000)
            expect(page.get_by_text(re.compile(r"p 0\.200"))).to_be_visible()
            expect(page.get_by_text(re.compile(r"q 1\.50 "))).to_be_visible()
            expect(readout).to_contain_text("Month 0 of 60", timeout=30_000)
            for month in range(1, 7):
                step.click()
                expect(readout).to_contain_text(f"Month {month} of 60", timeout=30_000)
            moved = readout.inner_text()
            assert _shares(moved) != s6, (after, moved)
            assert _shares(moved)["smartphone"] >= s6["smartphone"], (after, moved)
            assert _spent(moved) > _spent(after), (after, moved)  # 12 members' allowances instead of 8
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)

            # A value the model does not allow: the model's message in an error box, not a traceback
            fibre = page.get_by_label("Fibre arrives (YYYY-MM)")
            fibre.fill("2021-13")
            fibre.press("Enter")
            page.get_by_role("button", name="Reset", exact=True).click()
            error = page.locator(".diffusion-error")
            expect(error).to_contain_text("parameter 'levers.infrastructure.fibre[0]' = '2021-13' is not allowed",
                                          timeout=30_000)
            expect(error).to_contain_text('a month written "YYYY-MM"')
            assert "Traceback" not in page.locator("body").inner_text()
            page.screenshot(path=str(tmp_path / "app_error.png"), full_page=True)
            fibre.fill("2022-06")
            fibre.press("Enter")
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(readout).to_contain_text("Month 0 of 60", timeout=30_000)
            expect(page.get_by_text("fibre from 2022-06")).to_be_visible()
        except BaseException:
            if page is not None:
                page.screenshot(path=str(tmp_path / "app_failure.png"), full_page=True)
            raise
        finally:
            context.close()
    assert not page_errors, page_errors
    assert not outside, f"the page tried to load from outside this machine: {outside[:5]}"
    print(f"screenshots in {tmp_path}")


def _slider(page, label: str):
    """The thumb of the sidebar slider with this label (focus it and press keys to move it)."""
    field = page.locator(".v-input.v-input__slider", has=page.get_by_text(label, exact=True))
    thumb = field.locator(".v-slider__thumb-container").first
    thumb.focus()
    return thumb


def _colour_counts(img, tolerance: int = 40) -> dict[str, int]:
    """Pixels near each adoption-state colour (the grey of 'none' is skipped: ties are grey too)."""
    import numpy as np

    a = np.asarray(img).astype(int)
    out = {}
    for state, hexcode in STATE_COLOURS.items():
        if state == "none":
            continue
        rgb = np.array([int(hexcode[i: i + 2], 16) for i in (1, 3, 5)])
        out[state] = int((np.abs(a - rgb).sum(axis=2) < tolerance).sum())
    return out


def test_app_main_rejects_an_unknown_place(capsys):
    from diffusion.presentation.app import app_main

    assert app_main(["--place", "hanoi"]) == 2
    assert "parameter 'place' = 'hanoi' is not allowed" in capsys.readouterr().err


def test_server_command_binds_loopback_and_turns_telemetry_off():
    cmd = server_command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "diffusion.presentation.app:page" in cmd
    assert solara_env()["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert shutil.which(cmd[0]) or Path(cmd[0]).exists()
