"""Stored markup in chromium: every page of a dashboard whose run is hostile through and through.

The run (``tests/app/hostile.py``) has a task id, question, paragraph text and, from a scripted
LLM, search argument, summaries (memory keys), answers and train id that carry ``<script>``,
``<iframe srcdoc=...>``, ``<img onerror=...>``, a markdown image and a markdown link. Every page
is opened (Live run, Run explorer and its tabs, Memory reuse, Compare, Training, Launch with a
queued run of the hostile task); on each, no injected element may exist, nothing may fetch the
planted URL, the title stays the app's, and the payloads show as text. Screenshots go to
``$LTS_SCREENSHOTS`` (``inj-*.png``). A second server checks that an uncaught error shows no
traceback (``client.showErrorDetails`` in ``.streamlit/config.toml``).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "app")]  # browser_helpers; hostile (tests/app)
import hostile  # noqa: E402
from browser_helpers import (  # noqa: E402
    STEADY_CHART,
    choose,
    chromium_page,
    goto,
    live_bars,
    need_browser,
    shot,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INJECTED = """() => {
  const bad = [];
  const planted = (u) => { try { const x = new URL(u, location.href);
    return x.hostname === '127.0.0.1' && x.port === '1'; } catch (e) { return false; } };
  document.querySelectorAll('iframe[srcdoc]').forEach(() => bad.push('iframe[srcdoc]'));
  document.querySelectorAll('img, image').forEach(i => {
    if (i.hasAttribute('onerror')) bad.push('img[onerror]');
    const src = i.getAttribute('src') || i.getAttribute('href') || i.getAttribute('xlink:href');
    if (src && (src === 'x' || planted(src))) bad.push('img ' + src); });
  document.querySelectorAll('a').forEach(a => {
    const href = a.getAttribute('href') || a.getAttribute('xlink:href');
    if (href && planted(href)) bad.push('a ' + href); });
  document.querySelectorAll('script').forEach(s => {
    if ((s.textContent || '').includes('PWNED')) bad.push('script'); });
  document.querySelectorAll('*').forEach(el => { for (const at of el.attributes)
    if (/^on/i.test(at.name)) bad.push(el.tagName + '[' + at.name + ']'); });
  document.querySelectorAll('.js-plotly-plot').forEach(p => (p.data || []).forEach(t => {
    const texts = [t.name].concat(t.hovertext || [], t.text || []);
    texts.forEach(s => { if (typeof s === 'string' && /<(img|iframe|script|a )/i.test(s))
      bad.push('plotly ' + s.slice(0, 60)); }); }));
  return {bad: bad, title: document.title, text: document.body.innerText};
}"""


@pytest.fixture
def hostile_site(tmp_path):
    """The hostile run's dashboard in chromium (one Playwright at a time: not module-scoped)."""
    need_browser()
    root = tmp_path
    hostile.record(root / "lts.duckdb", root / "data")
    env = {"LTS_DB": str(root / "lts.duckdb"), "LTS_DATA_DIR": str(root / "data"),
           "LTS_ALLOWED_API_BASES": "", "LTS_ALLOW_CUSTOM_API_BASE": ""}
    with streamlit_server("app/main.py", env, root) as base, chromium_page(base) as pg:
        fetched: list[str] = []
        pg.on("request", lambda r: fetched.append(r.url) if urlsplit(r.url).port == 1 else None)
        pg.on("dialog", lambda d: fetched.append(f"dialog {d.message}") or d.dismiss())
        pg.get_by_role("heading", name="Launch", level=1).wait_for()
        yield pg, fetched


def clean(pg, fetched: list[str], name: str, *, shows: tuple[str, ...] = ()) -> str:
    """Assert the page holds nothing injected; screenshot it; return its visible text."""
    time.sleep(1.0)  # let the last rerun land
    deadline = time.monotonic() + 15  # a loaded machine draws late (code blocks come last)
    state = pg.evaluate(INJECTED)
    while not all(t in state["text"] for t in shows) and time.monotonic() < deadline:
        time.sleep(0.5)
        state = pg.evaluate(INJECTED)
    shot(pg, f"inj-{name}")
    for frame in pg.frames:  # the Live charts' frames (same origin) are checked the same way
        if frame is not pg.main_frame and frame.url.startswith("http"):
            state["bad"] += [f"frame: {b}" for b in frame.evaluate(INJECTED)["bad"]]
    assert state["bad"] == [], (name, state["bad"])
    assert "PWNED" not in state["title"] and state["title"] == TITLE[0], (name, state["title"])
    assert not fetched, (name, fetched)
    for text in shows:  # the payloads are there, as plain text
        assert text in state["text"], (name, text)
    return state["text"]


TITLE: list[str] = []


def test_no_page_runs_stored_markup(hostile_site):
    pg, fetched = hostile_site
    TITLE.append(pg.evaluate("() => document.title"))
    assert TITLE[0] and "PWNED" not in TITLE[0]
    clean(pg, fetched, "1-launch")

    goto(pg, "Live run")
    live_bars(pg).first.wait_for()
    box = live_bars(pg).nth(2).bounding_box()
    pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a hover label
    pg.frame_locator(STEADY_CHART).first.locator(".hoverlayer .hovertext").first.wait_for()
    clean(pg, fetched, "2-live", shows=("Which river does Garrick's bridge cross? <script>",))

    goto(pg, "Run explorer")
    pg.get_by_text("Select a row to explain it").wait_for()
    choose(pg, "Step", re.compile(r"· search"))
    pg.get_by_text("Admission decision").wait_for()
    clean(pg, fetched, "3-explorer-step",
          shows=("Anselm Garrick bridge <img src=x onerror=", hostile.SCRIPT, hostile.MD_IMAGE))
    for tab, seen in (("Near-misses", "Near-misses"), ("Replay", "Steps done"),
                      ("Teams & answers", "Gold answer")):
        pg.get_by_role("tab", name=re.compile(tab)).click()
        pg.get_by_text(seen).first.wait_for()
        clean(pg, fetched, f"4-explorer-{tab.split()[0].lower()}")

    goto(pg, "Memory reuse")
    pg.locator(".js-plotly-plot").first.wait_for()
    choose(pg, "Node", re.compile(r"^Entry #"))
    pg.get_by_text(re.compile(r"written by T\d")).wait_for()
    clean(pg, fetched, "5-reuse", shows=("Found the bridge page. <script>",))

    goto(pg, "Compare")
    pg.locator(".js-plotly-plot").first.wait_for()
    clean(pg, fetched, "6-compare")

    goto(pg, "Training")
    pg.locator(".js-plotly-plot").first.wait_for()
    clean(pg, fetched, "7-training", shows=(hostile.TRAIN_ID[:30],))

    goto(pg, "Launch")
    choose(pg, "Suite", "hotpotqa-dev")
    pg.get_by_text("Gold answer:").wait_for()
    pg.get_by_text("virtual", exact=True).click()
    time.sleep(0.5)
    clean(pg, fetched, "8-launch-form", shows=("Marrow River <img src=x",))
    pg.get_by_role("button", name="Start run").click()
    pg.get_by_role("heading", name="Live run", level=1).wait_for()
    goto(pg, "Launch")
    pg.get_by_text(re.compile(r"^(finished|failed)$")).first.wait_for(timeout=180_000)
    clean(pg, fetched, "9-launch-queue", shows=(hostile.TASK_ID[:40],))
    goto(pg, "Live run")
    pg.get_by_text("right —").or_(pg.get_by_text("wrong —")).first.wait_for(timeout=120_000)
    clean(pg, fetched, "10-live-sim-run", shows=("Which river does Garrick's bridge cross?",))


def test_uncaught_errors_show_no_traceback(tmp_path):
    need_browser()
    script = tmp_path / "boom.py"
    script.write_text("import streamlit as st\nst.title('Boom')\n"
                      "raise RuntimeError('secret-detail-123 from a stored task')\n")
    with streamlit_server(script, {}, tmp_path) as base, chromium_page(base) as pg:
        pg.get_by_role("heading", name="Boom", level=1).wait_for()
        pg.get_by_test_id("stException").wait_for()
        text = pg.evaluate("() => document.body.innerText")
    assert "secret-detail-123" not in text and "Traceback" not in text
    assert "raise RuntimeError" not in text and "boom.py" not in text
