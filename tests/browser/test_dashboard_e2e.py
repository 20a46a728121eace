"""End to end: a real Streamlit server driven by Debian's chromium through Playwright.

Starts the app on a free port with its own database, launches the demo run from the Launch page,
watches the swimlanes grow on the Live page, queues a comparison batch, explains a step in the
explorer, replays the run, inspects a node of the reuse graph, and opens Compare and Training.
A screenshot of each page goes to $LTS_SCREENSHOTS (default tests/browser/screenshots/).
Skipped (not failed) when chromium or playwright is absent.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # browser_helpers, whatever the rootdir
from browser_helpers import (  # noqa: E402
    SHOTS,
    choose,
    chromium_page,
    goto,
    live_bars,
    live_legend_clear,
    need_browser,
    shot,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    env = {"LTS_DB": str(tmp_path_factory.mktemp("e2e") / "lts.duckdb")}
    with streamlit_server("app/main.py", env, tmp_path_factory.mktemp("log")) as base:
        yield base


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(server) as pg:
        yield pg


def n_bars(pg) -> int:
    return live_bars(pg).count()


def test_dashboard_end_to_end(page):
    pg = page
    # 1. empty database: the first screen leads straight to a demo run
    pg.get_by_role("button", name="Run the demo").wait_for()
    shot(pg, "1-launch-empty")
    pg.get_by_role("button", name="Run the demo").click()

    # 2. live page: swimlanes grow while the run runs
    pg.get_by_role("heading", name="Live run", level=1).wait_for()
    live_bars(pg).first.wait_for(timeout=120_000)
    first = n_bars(pg)
    end = time.monotonic() + 90
    while n_bars(pg) <= first and time.monotonic() < end:
        time.sleep(0.5)
    assert n_bars(pg) > first, "the swimlanes did not grow"
    shot(pg, "2-live-running")
    pg.get_by_text("right —").or_(pg.get_by_text("wrong —")).first.wait_for(timeout=120_000)
    assert pg.get_by_text("simulated").first.is_visible()
    # a guard: in a probe the legend stayed over the lanes after the finishing redraw in 2 runs of
    # 2 before the frame redrew from scratch on a width change; this flow did not reproduce it
    assert live_legend_clear(pg), "the swimlane's legend is drawn over the lanes"
    shot(pg, "3-live-finished")
    # once the last redraw has settled, one row of metric tiles (a redraw that drew them again
    # below stale copies would leave more while it runs; app/views/live.py)
    assert pg.get_by_test_id("stMetricLabel").count() == 6

    # 3. queue a small comparison batch (three policies, virtual executor)
    goto(pg, "Launch")
    pg.get_by_role("button", name="Start run").wait_for()
    pg.get_by_text("virtual", exact=True).click()
    ms = pg.get_by_test_id("stMultiSelect").locator("input")
    for name in ("none", "all", "learned"):
        ms.click()
        pg.get_by_role("option", name=name, exact=True).click()
        time.sleep(0.5)
    pg.keyboard.press("Escape")
    pg.get_by_label("Controller checkpoint (learned)").first.wait_for()  # empty: the shipped one
    pg.get_by_role("button", name="Queue 4 runs").click()
    end = time.monotonic() + 180
    while pg.get_by_text(re.compile(r"^finished$")).count() < 5 and time.monotonic() < end:
        time.sleep(0.5)
    assert pg.get_by_text(re.compile(r"^finished$")).count() >= 5
    shot(pg, "4-launch-queue")

    # 4. explorer: explain a step, then replay
    goto(pg, "Run explorer")
    pg.get_by_text("Select a row to explain it").wait_for()
    choose(pg, "Step", re.compile(r"· search"))
    pg.get_by_text("Admission decision").wait_for()
    pg.get_by_text("Nearest keys already in the bank").or_(
        pg.get_by_text("The bank was empty")).first.wait_for()
    shot(pg, "5-explorer-step")
    pg.get_by_role("tab", name=re.compile("Near-misses")).click()
    pg.get_by_text("Near-misses").nth(1).wait_for()
    pg.get_by_role("tab", name=re.compile("Replay")).click()
    pg.get_by_text("Steps done").wait_for()
    pg.locator(".js-plotly-plot").first.wait_for()
    shot(pg, "6-explorer-replay")

    # 5. reuse graph: inspect an entry node
    goto(pg, "Memory reuse")
    pg.locator(".js-plotly-plot").first.wait_for()
    choose(pg, "Node", re.compile(r"^Entry #"))
    pg.get_by_text(re.compile(r"written by T\d")).wait_for()
    shot(pg, "7-reuse-graph")

    # 6. compare the batch, and the training page
    goto(pg, "Compare")
    pg.locator(".js-plotly-plot").nth(4).wait_for()
    shot(pg, "8-compare")
    goto(pg, "Training")
    pg.get_by_text("Start a short training").wait_for()
    pg.get_by_text("Shipped controller (policy learned)").click()  # how the shipped one was trained
    pg.get_by_text(re.compile(r"Calibrated on tasks \d+:\d+")).wait_for()
    shot(pg, "9-training")
    # 7. a short real training from the page: 1 epoch, 1 task, K=2
    for label, value in (("Epochs", "1"), ("Tasks", "1"), ("Teams (K)", "2")):
        box = pg.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        time.sleep(0.5)
    pg.get_by_role("button", name="Start training").click()
    end = time.monotonic() + 240
    while not pg.get_by_text(re.compile(r"Checkpoint .*\.pt")).count() and time.monotonic() < end:
        time.sleep(2)
        goto(pg, "Training")  # the page shows the job's state when it is drawn
    pg.get_by_text(re.compile(r"Checkpoint .*\.pt")).wait_for()
    pg.locator(".js-plotly-plot").first.wait_for()
    shot(pg, "10-training-finished")
    assert len(list(SHOTS.glob("*.png"))) >= 10
