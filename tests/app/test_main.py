"""The entry point: navigation, logo, and a database that cannot be opened."""

from __future__ import annotations

from pathlib import Path

from app_helpers import ROOT, TIMEOUT, no_exception


def test_main_runs_the_launch_page(empty_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LTS_DB", str(empty_db))
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert at.title[0].value == "Launch"


def test_unopenable_database_is_explained(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    bad = tmp_path / "not-a-db.duckdb"
    Path(bad).write_text("this is not a database")
    monkeypatch.setenv("LTS_DB", str(bad))
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=TIMEOUT).run()
    assert at.error and "cannot be opened" in at.error[0].value


def test_streamlit_is_only_imported_under_app():
    offenders = [p for p in (ROOT / "lts_core").rglob("*.py") if "streamlit" in p.read_text()]
    assert not offenders
