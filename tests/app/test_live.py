"""Live page in three states."""

from __future__ import annotations

import json
import re

from app_helpers import no_exception, open_page, texts

from app import data, state
from app.views import live


def _charts(at):
    """Plotly charts on the page: ``st.plotly_chart`` and the steady charts (custom components
    whose arguments hold the figure, app/components/steady_chart.py)."""
    steady = [c for c in at.get("component_instance") if "spec" in json.loads(c.proto.json_args)]
    return [*at.get("plotly_chart"), *steady]


def test_empty(empty_db, monkeypatch):
    at = open_page("live", empty_db, monkeypatch)
    no_exception(at)
    assert "No run yet" in texts(at) or "starting" in texts(at)


def test_finished_run(finished_db, monkeypatch):
    at = open_page("live", finished_db, monkeypatch)
    no_exception(at)
    body = texts(at)
    assert "Web calls avoided" in body and "Reads of wrong entries" in body
    assert "cross-team" in str([m.delta for m in at.metric if m.label == "Memory reads"])
    steps = next(m for m in at.metric if m.label == "Steps")
    assert re.fullmatch(r"\d+ model calls", steps.delta) and "cost nothing" in steps.help
    assert len(_charts(at)) >= 2  # swimlanes + admission scores (+ the counterfactual once played)
    assert not [b for b in at.button if b.key == "live_cancel"]


def test_figures_have_one_lane_per_team_and_the_threshold(finished_db):
    svc = state._services_for(str(finished_db))
    d = live.live_data(svc.store, data.latest_run_id(svc.store))
    figs = live.live_figures(d)
    lanes = figs["swimlane"].layout.yaxis.tickvals
    assert list(lanes) == ["Team 0", "Team 1", "Team 2"]
    n_bars = sum(len(t.x) for t in figs["swimlane"].data if t.type == "bar")
    assert n_bars == len(d["steps"])
    assert figs["scores"].layout.shapes  # the dedup threshold line


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("live", running_db, monkeypatch)
    no_exception(at)
    assert "running" in texts(at)
    assert [b for b in at.button if b.key == "live_cancel"]
    assert len(_charts(at)) == 2
    svc = state._services_for(str(running_db))
    d = live.live_data(svc.store, svc.queue.running_run_id())
    assert live.clock_now(d["run"], d["steps"]) is not None  # the in-progress clock line
