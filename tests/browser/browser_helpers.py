"""Shared pieces of the browser tests: a Streamlit server, chromium, screenshots, page checks.

``LTS_E2E_PORTS=8611-8619`` restricts the servers' ports to a range (default: any free port);
``LTS_SCREENSHOTS`` is where screenshots go (default ``tests/browser/screenshots``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("LTS_SCREENSHOTS") or Path(__file__).parent / "screenshots")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH, HEIGHT = 1440, 900


def need_browser() -> None:
    """Skip when chromium or playwright is missing (``scripts/install_test_deps.sh`` adds them)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install_test_deps.sh installs it)")
    pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    lo, _, hi = (os.environ.get("LTS_E2E_PORTS") or "0").partition("-")
    for port in range(int(lo), int(hi or lo) + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise RuntimeError(f"no free port in LTS_E2E_PORTS={os.environ['LTS_E2E_PORTS']}")


@contextlib.contextmanager
def streamlit_server(script: str | Path, env: dict[str, str], log_dir: Path,
                     timeout: float = 60) -> Iterator[str]:
    """``streamlit run script`` from the repository root (its .streamlit/config.toml applies)."""
    port = free_port()
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env}
    log = open(log_dir / f"streamlit-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=full_env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the dashboard did not start within {timeout:.0f} s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def chromium_page(base: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.set_default_timeout(60_000)
        pg.goto(base)
        try:
            yield pg
        finally:
            browser.close()


_FRAMES_DRAWN = """(sel) => Array.from(document.querySelectorAll(sel)).every(f => {
  const d = f.contentDocument; return !!(d && d.querySelector('.main-svg')); })"""


def frames_drawn(pg, stable_s: float = 4.0, wait_s: float = 20.0) -> bool:
    """Whether every steady chart frame on the page has drawn its chart and kept it for
    ``stable_s``, waiting up to ``wait_s``. The Live page's last redraw when a run ends can mount
    its chart frames again (in a 1440x900 window: about 2 s after the result line, blank for
    about 1.3 s while plotly loads), and a screenshot taken then shows them empty."""
    end, since = time.monotonic() + wait_s, None
    while time.monotonic() < end:
        if pg.evaluate(_FRAMES_DRAWN, STEADY_CHART):
            since = since or time.monotonic()
            if time.monotonic() - since >= stable_s:
                return True
        else:
            since = None
        time.sleep(0.25)
    return False


def shot(pg, name: str) -> Path:
    """Screenshot the whole page once its chart frames have drawn: grow the viewport to the main
    area's height first."""
    if not frames_drawn(pg):  # a warning, not a failure: the screenshot is for people to judge
        warnings.warn(f"{name}: a chart frame had not drawn (stably) within 20 s", stacklevel=2)
    time.sleep(1.2)  # let plotly finish its transitions
    h = pg.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                    " return m ? m.scrollHeight : document.body.scrollHeight; }")
    pg.set_viewport_size({"width": WIDTH, "height": int(min(max(h, HEIGHT), 5000))})
    time.sleep(1.0)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    pg.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return path


def goto(pg, title: str) -> None:
    pg.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    pg.get_by_role("heading", name=title, level=1).wait_for()


def choose(pg, label: str, option, tries: int = 8) -> None:
    """Pick ``option`` in the select box ``label``. A rerun that lands while the list is open
    closes it (a slow page on a busy machine; the explorer reruns once when its no-memory replay
    arrives), so open it again until the option shows and takes the click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = pg.get_by_role("combobox", name=label, exact=True)
    opt = pg.get_by_role("option", name=option).first
    for i in range(tries):
        box.click()
        try:
            opt.wait_for(timeout=8_000)
            opt.click(timeout=8_000)
            return
        except PlaywrightTimeout:
            if i == tries - 1:
                raise
            pg.keyboard.press("Escape")
            time.sleep(1.0)


# The Live page draws its charts in frames that redraw in place (app/components/steady_chart.py;
# the frame's title ends with its component name, ``steady_chart.COMPONENT``).
STEADY_CHART = "iframe[title$='lts_steady_plotly']"


def live_bars(pg, chart: int = 0):
    """The bars of the Live page's swimlane (``chart=0``), inside its frame."""
    return pg.frame_locator(STEADY_CHART).nth(chart).locator(".js-plotly-plot .barlayer .point")


_LEGEND_CLEAR = """(frame) => {
  const f = document.querySelector(frame);
  const d = f && f.contentDocument, leg = d && d.querySelector('.legend'), bg = d && d.querySelector('.bglayer rect');
  if (!leg || !bg) return null;
  return leg.getBoundingClientRect().bottom <= bg.getBoundingClientRect().top + 2; }"""


def live_legend_clear(pg, wait_s: float = 10.0) -> bool:
    """Whether the Live swimlane's legend sits above its lanes (not drawn over them), waiting up
    to ``wait_s`` for a layout in progress to settle."""
    end = time.monotonic() + wait_s
    while True:
        ok = pg.evaluate(_LEGEND_CLEAR, STEADY_CHART)
        if ok or time.monotonic() > end:
            return bool(ok)
        time.sleep(0.5)
