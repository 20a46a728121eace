"""Training page: no trainings, recorded curves, the guarded start button."""

from __future__ import annotations

import html
import importlib.util

from app_helpers import no_exception, open_page, texts


def test_empty(empty_db, monkeypatch):
    at = open_page("training", empty_db, monkeypatch)
    no_exception(at)
    body = texts(at)
    assert "No training recorded yet" in body
    if importlib.util.find_spec("lts_core.learning.train") is None:
        assert "not available in this build" in body
        assert not [b for b in at.button if b.key == "tr_go"]


def test_the_shipped_controller_says_how_it_was_trained_and_calibrated(empty_db, monkeypatch):
    from lts_core.policies.controller import checkpoint_card

    card = checkpoint_card()
    at = open_page("training", empty_db, monkeypatch)
    no_exception(at)
    label = html.unescape(at.expander[0].label)
    assert f"recipe {card['recipe']}" in label and f"threshold {card['threshold']:g}" in label
    assert ("support input" in label) == ("support" in card["inputs"])
    body = texts(at)
    cal = card["calibration"]
    assert f"Calibrated on tasks {cal['tasks']}" in body and card["weights_sha"] in body
    assert "SIMULATED" in body
    curve = next(d.value for d in at.dataframe if "admitted %" in d.value.columns)
    assert list(curve.threshold) == [r["threshold"] for r in cal["curve"]]
    assert list(curve.threshold[curve.chosen == "◀ chosen"]) == [card["threshold"]]


def test_curves(finished_db, monkeypatch):
    at = open_page("training", finished_db, monkeypatch)
    no_exception(at)
    charts = at.get("plotly_chart")
    assert charts  # reward, accuracy, admission rate, usage, loss, episodes


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("training", running_db, monkeypatch)
    no_exception(at)


def test_bad_training_settings_are_said_and_block_the_button(tmp_path, monkeypatch):
    at = open_page("training", tmp_path / "bad.duckdb", monkeypatch)
    at.number_input(key="tr_epochs").set_value(0)
    at.number_input(key="tr_tasks").set_value(20).run()  # the demo suite has 16 tasks
    no_exception(at)
    err = html.unescape(" ".join(e.value for e in at.error))
    assert "Epochs must be from 1 to 50, not 0" in err
    assert "Tasks (demo has 16) must be from 1 to 16, not 20" in err
    assert at.button(key="tr_go").disabled
    at.number_input(key="tr_epochs").set_value(1)
    at.number_input(key="tr_tasks").set_value(16).run()
    assert not at.error and not at.button(key="tr_go").disabled


def test_start_button_trains_and_records_curves(tmp_path, monkeypatch):
    """The start button runs the real trainer in a background thread; its epochs reach the page."""
    db = tmp_path / "train.duckdb"
    at = open_page("training", db, monkeypatch)
    no_exception(at)
    assert at.selectbox(key="tr_recipe").value == "lts"  # the quickest recipe by default
    at.selectbox(key="tr_recipe").set_value("v1")
    at.number_input(key="tr_epochs").set_value(1)
    at.number_input(key="tr_tasks").set_value(1)
    at.number_input(key="tr_k").set_value(2)
    at.button(key="tr_go").click().run()
    no_exception(at)
    from app import training_job

    job = training_job.current_training()  # held once per process, not per browser tab
    job.thread.join(240)
    assert job.status == "finished", job.error
    assert job.result.checkpoint.is_file()
    at.run()
    no_exception(at)
    body = texts(at)
    assert "finished" in body and str(job.result.checkpoint) in body
    assert at.get("plotly_chart")  # the new training's curves
    import json

    side = json.loads(job.result.checkpoint.with_suffix(".json").read_text())
    assert side["recipe"] == "v1"  # the chosen recipe reaches the trainer and the record
    tables = [d.value for d in at.dataframe if "recipe" in d.value.columns]
    assert tables and list(tables[0].recipe) == ["v1"]  # the trainings table names the recipe
