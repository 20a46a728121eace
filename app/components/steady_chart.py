"""A plotly chart that redraws in place, for pages that redraw every second (Live).

``st.plotly_chart`` in Streamlit 1.67 derives the element's id from the figure, so each new figure
mounts a new chart and drops the old one; on a busy machine the area is blank for 0.1-0.5 s at
some refreshes (upstream: streamlit#8782; ``benchmarks/dashboard_bench.py`` counts the frames).
Here the chart lives in a custom-component frame whose identity is its ``key``: each rerun posts
the new figure to the frame, and plotly.js updates the drawn chart (``Plotly.react``).

The frame is ``steady_plotly/index.html`` next to this file; plotly.js is the copy that ships with
the ``plotly`` package, put beside it in ``$LTS_CACHE_DIR/dashboard/`` on first use (the frame is
served from one folder). When that folder cannot be written, the chart falls back to
``st.plotly_chart``. Display only: no selections come back. Thread-safety: the component is
declared once per process (``functools.cache``); drawing is per script run, like any element.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

from lts_core.config import default_cache_dir

FRAME = Path(__file__).with_name("steady_plotly") / "index.html"
COMPONENT = "lts_steady_plotly"


def _serve_dir() -> Path:
    """The folder the frame is served from: index.html and plotly.min.js, for this plotly."""
    src_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out = default_cache_dir() / "dashboard" / f"steady_plotly-{plotly.__version__}"
    out.mkdir(parents=True, exist_ok=True)
    js = out / "plotly.min.js"
    if not js.exists() or js.stat().st_size != src_js.stat().st_size:
        tmp = out / f"plotly.min.js.{os.getpid()}.tmp"  # one per process: two apps may start at once
        shutil.copyfile(src_js, tmp)
        tmp.replace(js)  # atomic: a page never loads half a file
    html = out / "index.html"
    if not html.exists() or html.read_bytes() != FRAME.read_bytes():
        tmp = out / f"index.html.{os.getpid()}.tmp"
        shutil.copyfile(FRAME, tmp)
        tmp.replace(html)
    return out


@functools.cache
def _component() -> Any | None:
    try:
        return components.declare_component(COMPONENT, path=str(_serve_dir()))
    except OSError:
        return None


def steady_plotly_chart(fig: go.Figure, *, key: str, config: dict | None = None) -> None:
    """Draw ``fig`` under ``key``; later runs with the same key update the same chart in place.
    Its height is the figure's ``layout.height`` (400 px when unset)."""
    comp = _component()
    if comp is None:
        st.plotly_chart(fig, key=key, config=config or {})
        return
    fig = go.Figure(fig)
    fig.update_layout(template="plotly_white")  # close to Streamlit's own chart theme
    comp(spec=fig.to_json(), height=int(fig.layout.height or 400), config=config or {}, key=key,
         default=None)
