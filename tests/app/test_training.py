"""Training page: no trainings, recorded curves, the guarded start button."""

from __future__ import annotations

import importlib.util

from app_helpers import no_exception, open_page, texts


def test_empty(empty_db, monkeypatch):
    at = open_page("training", empty_db, monkeypatch)
    no_exception(at)
    body = texts(at)
    assert "No training recorded yet" in body
    if importlib.util.find_spec("lts_core.train") is None:
        assert "not available in this build" in body
        assert not [b for b in at.button if b.key == "tr_go"]


def test_curves(finished_db, monkeypatch):
    at = open_page("training", finished_db, monkeypatch)
    no_exception(at)
    charts = at.get("plotly_chart")
    assert charts  # reward, accuracy, admission rate, usage, loss, episodes


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("training", running_db, monkeypatch)
    no_exception(at)
