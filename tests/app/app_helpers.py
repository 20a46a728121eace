"""Helpers for the dashboard's AppTests (imported by the test modules; fixtures are in conftest)."""

from __future__ import annotations

import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIMEOUT = 60


def page_script(page: str) -> str:
    """A script that registers the real navigation with ``page`` as its root page, and runs it."""
    return (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from app import nav, ui\nui.global_css()\n"
            f"nav.navigation(default={page!r}).run()\n")


def open_page(page: str, db: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LTS_DB", str(db))
    at = AppTest.from_string(page_script(page), default_timeout=TIMEOUT)
    return at.run()


def texts(at) -> str:
    """All visible text of markdown, captions, metrics, info boxes and titles, joined (character
    references decoded, as the browser shows them: ``app.safe.md`` writes ``[`` as ``&#91;``)."""
    parts = [e.value for e in (*at.markdown, *at.caption, *at.title, *at.subheader, *at.info,
                                *at.success, *at.warning, *at.error)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return html.unescape("\n".join(str(p) for p in parts)).replace("\u2060", "")  # invisible


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
