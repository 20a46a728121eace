"""Stored markup stays text: every page, on a run whose untrusted fields all carry markup.

Streamlit renders ``body``/``label``/``help`` fields as markdown (and, with ``unsafe_allow_html``,
as HTML); plotly renders tags in its text. So: markdown sinks hold no raw tag, image or link
syntax of the payloads, HTML markdown holds only the tags the app writes itself, plotly text no
raw tag, and the payloads are still there for users to read, as text. The browser test checks
the same pages in chromium.
"""

from __future__ import annotations

import functools
import html
import json
import re

import hostile
import pytest
from app_helpers import open_page, texts

from app import state
from app.views import launch
from lts_core import RunConfig

MARKDOWN_FIELDS = {"body", "label", "help"}
RAW = ("<script", "<iframe", "<img", "![", "](", "127.0.0.1:1")
APP_TAGS = {"div", "span", "b", "code"}
PLOTLY_SHOWN = {"text", "hovertext", "name", "ticktext", "hovertemplate", "title"}
TAG = re.compile(r"<\s*/?\s*([a-zA-Z][\w-]*)")
AUTOLINK = re.compile(r"(https?://|www(?=\.))|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.I)  # remark-gfm


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    hostile.record(root / "lts.duckdb", root / "data")
    return root


def _open(page: str, root, monkeypatch):
    monkeypatch.setenv("LTS_DATA_DIR", str(root / "data"))
    return open_page(page, root / "lts.duckdb", monkeypatch)


def _nodes(node):
    yield node
    for child in (getattr(node, "children", None) or {}).values():
        yield from _nodes(child)


def _strings(msg, name: str = ""):
    """(field name, value) of every string field of a protobuf message, recursively."""
    if isinstance(msg, str):
        yield name, msg
        return
    if not hasattr(msg, "ListFields"):
        return
    for fd, value in msg.ListFields():
        items = value if getattr(fd, "is_repeated", False) else [value]
        for v in items:
            yield from _strings(v, fd.name)


def _plotly_strings(spec, key: str = ""):
    """Strings of a plotly figure that plotly draws (text, hover text, names, titles, ticks)."""
    if isinstance(spec, str):
        if key in PLOTLY_SHOWN:
            yield spec
    elif isinstance(spec, dict):
        for k, v in spec.items():
            yield from _plotly_strings(v, k)
    elif isinstance(spec, list):
        for v in spec:
            yield from _plotly_strings(v, key)


def check_page(at) -> int:
    """No payload is markup anywhere on the page ``at`` shows; returns how many plotly figures
    were checked (``st.plotly_chart`` specs and the Live page's steady charts' arguments)."""
    assert not at.exception, [e.message for e in at.exception]
    figures = 0
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        allow_html = bool(getattr(proto, "allow_html", False))
        for field, value in _strings(proto) if proto is not None else ():
            spec = value if field == "spec" else None  # a plotly figure (JSON)
            if field == "json_args":  # a custom component: app.components.steady_chart
                spec = json.loads(value).get("spec")
            if spec is not None:
                figures += 1
                for s in _plotly_strings(json.loads(spec)):
                    assert not any(r in s for r in ("<script", "<iframe", "<img", "<a ")), s
            elif field in MARKDOWN_FIELDS:
                assert not any(r in value for r in RAW), (field, value)
                assert not AUTOLINK.search(html.unescape(value)), (field, value)
                if allow_html:
                    assert set(TAG.findall(value)) <= APP_TAGS, value
    return figures


def test_live_page(hostile_db, monkeypatch):
    at = _open("live", hostile_db, monkeypatch)
    assert check_page(at) >= 2  # the swimlane and the score stream were among the checked
    assert hostile.IFRAME[:30] in texts(at)  # shown, as text


def test_explorer_step_and_tabs(hostile_db, monkeypatch):
    at = _open("explorer", hostile_db, monkeypatch)
    check_page(at)
    step = at.selectbox(key="ex_step")
    search = next(o for o in step.options if "search" in o)
    step.set_value(step.options[step.options.index(search)]).run()  # the step with a hostile argument
    check_page(at)
    body = texts(at)
    assert "Anselm Garrick bridge <img src=x" in body and hostile.SCRIPT in body
    for tab in (":material/report: Near-misses", ":material/replay: Replay",
                ":material/groups: Teams & answers"):
        at.session_state["ex_tab"] = tab
        at.run()
        check_page(at)
    assert hostile.ANSWER[:40] in texts(at)


def test_memory_reuse_entry(hostile_db, monkeypatch):
    at = _open("graph", hostile_db, monkeypatch)
    check_page(at)
    node = at.selectbox(key="g_node")
    node.set_value(next(o for o in node.options if o.startswith("E"))).run()
    check_page(at)
    assert "Found the bridge page. <script>" in texts(at)


@pytest.mark.parametrize("page", ["compare", "training"])
def test_compare_and_training(hostile_db, monkeypatch, page):
    check_page(_open(page, hostile_db, monkeypatch))


def test_launch_with_a_hostile_suite(hostile_db, monkeypatch):
    """Last in this file: it queues a run (a job whose label is the hostile task id)."""
    monkeypatch.setattr(launch, "RunConfig", functools.partial(RunConfig, embedder="hash"))
    at = _open("launch", hostile_db, monkeypatch)
    at.selectbox(key="l_suite").set_value("hotpotqa-dev").run()
    check_page(at)
    assert "Gold answer: Marrow River <img" in texts(at).replace("**", "")
    at.radio(key="l_exec").set_value("virtual").run()
    at.button(key="l_go").click().run()
    assert state._services_for(str(hostile_db / "lts.duckdb")).queue.wait_idle(60)
    at = _open("launch", hostile_db, monkeypatch)
    check_page(at)
    assert f"{hostile.TASK_ID[:60]}" in texts(at)
