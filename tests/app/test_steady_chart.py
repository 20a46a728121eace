"""The Live page's steady charts: the frame's folder, and the fallback when it cannot be written."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from app.components import steady_chart


@pytest.fixture
def fresh_component():
    steady_chart._component.cache_clear()
    yield
    steady_chart._component.cache_clear()


def test_the_frame_is_served_with_plotly_beside_it(tmp_path, monkeypatch):
    monkeypatch.setattr(steady_chart, "default_cache_dir", lambda: tmp_path)
    out = steady_chart._serve_dir()
    assert (out / "index.html").read_bytes() == steady_chart.FRAME.read_bytes()
    js = out / "plotly.min.js"
    assert js.stat().st_size > 1_000_000 and b"Plotly" in js.read_bytes()[:200_000]
    assert steady_chart._serve_dir() == out and not list(out.glob("*.tmp"))  # idempotent, no debris


def test_an_unwritable_cache_falls_back_to_plotly_chart(tmp_path, monkeypatch, fresh_component):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(steady_chart, "default_cache_dir", lambda: blocked)
    drawn = []
    monkeypatch.setattr(steady_chart.st, "plotly_chart", lambda fig, **kw: drawn.append(kw["key"]))
    steady_chart.steady_plotly_chart(go.Figure(), key="k")
    assert drawn == ["k"]
