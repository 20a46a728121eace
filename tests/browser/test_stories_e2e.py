"""The two stories end to end in chromium: what sharing saved, and which entry made a run wrong.

A database is prepared first (simulated runs on the demo suite, MiniLM): a comparison batch
(none / all / dedup x 2 tasks x 2 seeds, K=3), a K=10 run and a K=3 dedup run with two planted
wrong entries (``RunConfig.poison``), then a training-episode run (which Live must not follow).
Then the dashboard is opened on it and the test walks:

- Live: the counterfactual ("... with sharing vs ... without"), played in the background, and the
  counter of reads of wrong entries;
- a deep link ``/explorer?run=ID&step=T.S`` opens that run and step; the Harm tab names the
  planted entries; an unknown run id is said so;
- the reuse graph marks the wrong entries; Compare leads with the Pareto chart;
- every page by its URL (``/launch`` included); the K=10 pages;
- Training: progress appears and grows without a reload.

Screenshots of every page at K=3 and K=10 go to $LTS_SCREENSHOTS.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # browser_helpers, whatever the rootdir
from browser_helpers import (  # noqa: E402
    chromium_page,
    live_bars,
    need_browser,
    shot,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _prepare(path: Path) -> dict:
    from lts_core import Engine, RunConfig, Store
    from lts_core.record.harm import entry_harm, wrong_reads

    store = Store(path)
    eng = Engine(store)
    suite = eng.suite("demo")
    for policy in ("none", "all", "dedup"):
        for seed in (0, 1):
            for t in suite.tasks[:2]:
                eng.run_task(t, suite, RunConfig(policy=policy, seed=seed), batch_id="cmp-1")
    learned = eng.run_task(suite.tasks[0], suite, RunConfig(policy="learned"), batch_id="lrn")
    k10 = eng.run_task(suite.tasks[1], suite, RunConfig(policy="dedup", teams=10, poison=2,
                                                        poison_at_s=10.0), batch_id="k10")
    pick = None
    for t in suite.tasks[:6]:  # a task where some team reads a planted entry
        s = eng.run_task(t, suite, RunConfig(policy="dedup", poison=2, poison_at_s=10.0),
                         batch_id="k3")
        store.flush()
        rd = wrong_reads(store, [s.record.run_id])
        if len(rd[rd.planted]):
            pick = (s.record.run_id, rd[rd.planted].iloc[0])
            break
    assert pick is not None, "no demo task had a planted entry read"
    rid, read = pick
    eng.run_task(suite.tasks[2], suite, RunConfig(policy="all", teams=2), batch_id="train-zzz")
    store.flush()
    planted = entry_harm(store, [rid])
    rej = store.query("SELECT a.team_idx, a.step_idx FROM admissions a JOIN explanations e "
                      "USING (run_id, team_idx, step_idx) WHERE a.run_id = ? AND NOT a.admitted "
                      "AND e.features_json LIKE '%in_words%' ORDER BY a.t LIMIT 1",
                      [learned.record.run_id])
    store.close()
    return {"k3": rid, "k10": k10.record.run_id, "step": (int(read.reader_team),
                                                            int(read.reader_step)),
            "planted": int(planted.planted.sum()), "learned": learned.record.run_id,
            "learned_step": (int(rej.team_idx.iloc[0]), int(rej.step_idx.iloc[0]))}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    need_browser()
    db = tmp_path_factory.mktemp("stories") / "lts.duckdb"
    runs = _prepare(db)
    with streamlit_server("app/main.py", {"LTS_DB": str(db)}, tmp_path_factory.mktemp("log")) as base:
        with chromium_page(base) as pg:
            yield pg, base, runs


def _open(pg, base: str, path: str, heading: str) -> None:
    pg.goto(base + path)
    pg.get_by_role("heading", name=heading, level=1).wait_for()


def test_demo_story(env):
    pg, base, runs = env
    _open(pg, base, "/live", "Live run")
    main = pg.get_by_test_id("stMain")
    main.get_by_text(runs["k3"]).first.wait_for()  # the newest run, not the training episode
    main.get_by_text(re.compile(r"\d+ s with sharing vs \d+ s without")).first.wait_for(timeout=120_000)
    main.get_by_text("Reads of wrong entries").wait_for()
    assert main.get_by_text(f"{runs['planted']} planted").count() >= 1
    live_bars(pg).first.wait_for()
    shot(pg, "live-k3")
    _open(pg, base, "/compare", "Compare")
    main.locator(".js-plotly-plot").first.wait_for()
    assert "Accuracy against runtime" in main.locator(".js-plotly-plot").first.inner_text()
    shot(pg, "compare-k3")
    _open(pg, base, "/launch", "Launch")  # every page by its URL
    shot(pg, "launch")


def test_debugging_story(env):
    pg, base, runs = env
    t, s = runs["step"]
    _open(pg, base, f"/explorer?run={runs['k3']}&step={t}.{s}", "Run explorer")
    main = pg.get_by_test_id("stMain")
    main.get_by_text(f"T{t} · step {s}").first.wait_for()
    main.get_by_text(re.compile(r"with sharing vs")).first.wait_for(timeout=120_000)
    shot(pg, "explorer-k3")
    main.get_by_role("tab", name=re.compile("Harm")).click()
    main.get_by_text("Wrong entries").first.wait_for()
    main.get_by_text(re.compile(r"read wrong entries|after reading wrong entr")).first.wait_for()  # verdict
    cell = main.locator("[data-testid^='glide-cell']", has_text=re.compile("planted wrong (fact|answer)"))
    cell.first.wait_for(state="attached")  # table cells live in a canvas grid: attached, not visible
    shot(pg, "explorer-harm-k3")
    _open(pg, base, f"/graph?run={runs['k3']}", "Memory reuse")
    main.get_by_text("wrong content").first.wait_for()
    main.locator(".js-plotly-plot text", has_text="WRONG").first.wait_for(state="attached")
    shot(pg, "graph-k3")
    _open(pg, base, "/explorer?run=nosuchrun", "Run explorer")
    main.get_by_text("No run with id").wait_for()
    assert "run=nosuchrun" in pg.url


def test_large_k_pages(env):
    pg, base, runs = env
    _open(pg, base, f"/live?run={runs['k10']}", "Live run")
    main = pg.get_by_test_id("stMain")
    main.get_by_text(runs["k10"]).first.wait_for()
    live_bars(pg).first.wait_for()
    main.get_by_text("Read arrows of").wait_for()
    shot(pg, "live-k10")
    _open(pg, base, f"/explorer?run={runs['k10']}", "Run explorer")
    main.get_by_text(runs["k10"]).first.wait_for()
    main.get_by_text(re.compile(r"with sharing vs")).first.wait_for(timeout=120_000)
    shot(pg, "explorer-k10")
    main.get_by_role("tab", name=re.compile("Replay")).click()
    pg.locator(".js-plotly-plot .barlayer .point").first.wait_for()
    shot(pg, "explorer-replay-k10")
    _open(pg, base, f"/graph?run={runs['k10']}", "Memory reuse")
    pg.locator(".js-plotly-plot").first.wait_for()
    shot(pg, "graph-k10")


def test_training_progress_without_reload(env):
    pg, base, _ = env
    _open(pg, base, "/training", "Training")
    main = pg.get_by_test_id("stMain")
    for label, value in (("Epochs", "1"), ("Tasks", "1"), ("Teams (K)", "2")):
        box = main.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        time.sleep(0.8)
    main.get_by_role("button", name="Start training").click()
    prog = main.get_by_text(re.compile(r"\d+ of about \d+ episodes played"))
    prog.wait_for(timeout=60_000)
    url = pg.url
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # the count grows by itself: no reload, no click
        m = re.search(r"(\d+) of about", prog.inner_text())
        if m and int(m.group(1)) >= 1:
            break
        time.sleep(1.0)
    else:
        pytest.fail("training progress did not move within 240 s")
    assert pg.url == url
    shot(pg, "training")


def test_learned_decision_explained(env):
    pg, base, runs = env
    t, s = runs["learned_step"]
    _open(pg, base, f"/explorer?run={runs['learned']}&step={t}.{s}", "Run explorer")
    main = pg.get_by_test_id("stMain")
    main.get_by_text(f"T{t} · step {s}").first.wait_for()
    main.get_by_text(re.compile(r"rejected mostly because of|no single input")).first.wait_for()
    main.get_by_text(re.compile(r"compared with the threshold")).first.wait_for()
    main.locator(".js-plotly-plot text", has_text="P(YES) from the input").first.wait_for(state="attached")
    shot(pg, "explorer-learned-k3")


def _sidebar_runs(pg) -> int:
    m = re.search(r"([\d,]+) runs? ·", pg.get_by_test_id("stSidebar").inner_text())
    assert m, "the sidebar shows no run count"
    return int(m.group(1).replace(",", ""))


def _header_run_id(pg) -> str:
    return pg.get_by_test_id("stMain").locator("span.lts-kv code").first.inner_text()


def test_live_follows_a_run_started_in_another_tab(env):
    """A finished Live page left open (follow on) picks up a run started from another tab, and its
    sidebar count follows, without a click."""
    pg, base, _ = env
    _open(pg, base, "/live", "Live run")
    pg.get_by_test_id("stMain").locator("span.lts-kv code").first.wait_for()
    before_id, before_n = _header_run_id(pg), _sidebar_runs(pg)
    other = pg.context.browser.new_page()  # a second tab: its own Streamlit session
    try:
        _open(other, base, "/launch", "Launch")
        other.get_by_role("button", name="Start run").click()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # tab A is not touched
            if _sidebar_runs(pg) > before_n and _header_run_id(pg) != before_id:
                break
            time.sleep(1.0)
        else:
            pytest.fail(f"the Live tab still shows {before_id} and {_sidebar_runs(pg)} runs")
    finally:
        other.close()
