"""The teams' tools in isolation: the web latency model (``WebLatency``) and ``Toolbox`` on the demo
suite (search, open, answer), without an Engine or a Run."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from lts_core.world.tools import Toolbox, ToolOutput, WebLatency

NO_FAIL = WebLatency(failure_p=0.0)


# ------------------------------------------------------------------------------ WebLatency
def test_sample_is_deterministic_for_a_seeded_rng() -> None:
    w = WebLatency()
    a, b = random.Random(7), random.Random(7)
    xs = [w.sample(tool, a) for tool in ("search", "open") * 20]
    ys = [w.sample(tool, b) for tool in ("search", "open") * 20]
    assert xs == ys
    zs = [w.sample(tool, random.Random(8)) for tool in ("search", "open") * 20]
    assert zs != xs


@pytest.mark.parametrize(("tool", "median", "sigma"), [("search", 10.0, 0.5), ("open", 16.0, 0.6)])
def test_sample_is_log_normal_around_the_median(tool: str, median: float, sigma: float) -> None:
    w = WebLatency()
    assert (getattr(w, f"{tool}_median_s"), getattr(w, f"{tool}_sigma")) == (median, sigma)
    rng = random.Random(0)
    xs = [w.sample(tool, rng) for _ in range(2000)]
    assert all(0.0 < x <= w.cap_s for x in xs)
    assert statistics.median(xs) == pytest.approx(median, rel=0.10)
    logs = [math.log(x) for x in xs]
    assert statistics.pstdev(logs) == pytest.approx(sigma, rel=0.10)  # the spread is sigma in log space


def test_open_is_slower_than_search_on_the_same_draws() -> None:
    w = WebLatency()
    s = [w.sample("search", random.Random(i)) for i in range(50)]
    o = [w.sample("open", random.Random(i)) for i in range(50)]
    assert sum(o) > sum(s)


def test_sample_is_capped() -> None:
    w = WebLatency(cap_s=12.0)
    rng = random.Random(1)
    xs = [w.sample("open", rng) for _ in range(1000)]
    assert max(xs) == 12.0  # a median-16 s page read exceeds 12 s in most draws
    assert sum(x == 12.0 for x in xs) > 500
    assert min(xs) < 12.0


def test_unknown_tool_is_instant_but_draws() -> None:
    w = WebLatency()
    a, b = random.Random(3), random.Random(3)
    assert w.sample("answer", a) == 0.0
    b.gauss(0.0, 1.0)
    assert a.random() == b.random()


def test_disabled_sample_is_zero_and_keeps_the_stream_aligned() -> None:
    on, off = WebLatency(), WebLatency(enabled=False)
    a, b = random.Random(11), random.Random(11)
    for tool in ("search", "open", "search"):
        assert off.sample(tool, a) == 0.0
        assert on.sample(tool, b) > 0.0
    assert a.random() == b.random()


def test_fails_rate_is_close_to_failure_p() -> None:
    w = WebLatency()
    assert w.failure_p == 0.05
    rng = random.Random(5)
    n = 20_000
    rate = sum(w.fails(rng) for _ in range(n)) / n
    assert rate == pytest.approx(0.05, abs=0.006)  # about 4 standard errors
    rng = random.Random(5)
    assert sum(WebLatency(failure_p=0.3).fails(rng) for _ in range(n)) / n == pytest.approx(0.3, abs=0.015)


def test_fails_never_when_disabled_nor_at_zero_always_at_one() -> None:
    a, b = random.Random(2), random.Random(2)
    off, on = WebLatency(enabled=False, failure_p=1.0), WebLatency(failure_p=1.0)
    for _ in range(200):
        assert off.fails(a) is False
        assert on.fails(b) is True
    assert a.random() == b.random()  # the disabled model drew as many numbers
    rng = random.Random(2)
    assert not any(WebLatency(failure_p=0.0).fails(rng) for _ in range(500))


def test_describe_lists_the_parameters() -> None:
    d = WebLatency(failure_p=0.2).describe()
    assert d["failure_p"] == 0.2
    assert d["search_median_s"] == 10.0 and d["open_median_s"] == 16.0 and d["enabled"] is True


# ------------------------------------------------------------------------------ Toolbox
@pytest.fixture
def task(demo_suite):
    return demo_suite.tasks[0]  # demo:01, a bridge question over 8 paragraphs


@pytest.fixture
def toolbox(demo_index, task) -> Toolbox:
    return Toolbox(demo_index, task, NO_FAIL)


def test_search_returns_titled_hits(toolbox: Toolbox, task) -> None:
    out = toolbox.search("Greywater Bridge", random.Random(0))
    assert isinstance(out, ToolOutput)
    assert out.ok and out.error is None
    hits = out.payload["hits"]
    assert hits and hits[0] == "Greywater Bridge"  # a query that is a title finds that page first
    assert len(hits) <= toolbox.top_k and len(out.payload["hit_ids"]) == len(hits)
    assert out.payload["query"] == "Greywater Bridge"
    assert out.text.startswith("Search results for 'Greywater Bridge':")
    for i, title in enumerate(hits):
        assert f"{i + 1}. {title}:" in out.text
    assert 0.0 < out.latency_s <= NO_FAIL.cap_s
    assert out.compute_ms >= 0.0


def test_search_is_scoped_to_the_task_and_the_pool(demo_suite, toolbox: Toolbox, task) -> None:
    allowed = {d.doc_id for d in task.docs} | {d.doc_id for d in demo_suite.pool}
    other = {d.doc_id: d.title for t in demo_suite.tasks for d in t.docs}
    outside = [i for i in other if i not in allowed]
    assert outside  # the demo suite has paragraphs of other tasks
    rng = random.Random(0)
    for q in ("bridge river engineer", *(other[i] for i in outside[:5])):
        out = toolbox.search(q, rng)
        assert set(out.payload["hit_ids"]) <= allowed, q


def test_search_latency_comes_from_the_callers_rng(toolbox: Toolbox) -> None:
    a = toolbox.search("Anselm Garrick", random.Random(4)).latency_s
    b = toolbox.search("Anselm Garrick", random.Random(4)).latency_s
    c = toolbox.search("Anselm Garrick", random.Random(5)).latency_s
    assert a == b != c


def test_search_without_latency_is_instant(demo_index, task) -> None:
    tb = Toolbox(demo_index, task, WebLatency(enabled=False, failure_p=1.0))
    out = tb.search("Greywater Bridge", random.Random(0))
    assert out.ok and out.latency_s == 0.0 and out.payload["hits"]


def test_empty_query_is_an_error(toolbox: Toolbox) -> None:
    out = toolbox.search("   ", random.Random(0))
    assert not out.ok
    assert out.error == "empty query"
    assert "hits" not in out.payload
    assert out.latency_s > 0.0  # the failed attempt still took time


def test_forced_web_failure(demo_index, task) -> None:
    tb = Toolbox(demo_index, task, WebLatency(failure_p=1.0))
    out = tb.search("Greywater Bridge", random.Random(0))
    assert not out.ok
    assert out.error == "simulated web failure"
    assert "simulated web failure" in out.text
    assert out.payload == {"query": "Greywater Bridge", "failed": True}
    assert out.latency_s > 0.0
    page = tb.open("Greywater Bridge", random.Random(0))
    assert not page.ok and page.error == "simulated web failure" and page.latency_s > 0.0
    assert page.payload["failed"] is True


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda s: f"'{s}'", lambda s: f"  {s} "])
def test_open_by_title_any_case(toolbox: Toolbox, task, spelling) -> None:
    doc = next(d for d in task.docs if d.title == "Anselm Garrick")
    out = toolbox.open(spelling(doc.title), random.Random(0))
    assert out.ok and out.error is None
    assert out.text == f"{doc.title}\n{doc.text}"
    assert out.payload == {"title": doc.title, "doc_id": doc.doc_id}
    assert 0.0 < out.latency_s <= NO_FAIL.cap_s
    assert out.compute_ms >= 0.0


def test_open_by_doc_id(toolbox: Toolbox, task) -> None:
    doc = task.docs[3]
    out = toolbox.open(doc.doc_id, random.Random(0))
    assert out.ok and out.payload["title"] == doc.title and doc.text in out.text


def test_open_unknown_title(toolbox: Toolbox) -> None:
    out = toolbox.open("No Such Page Anywhere", random.Random(0))
    assert not out.ok
    assert out.error == "page not found"
    assert out.payload == {"title": "No Such Page Anywhere"}
    assert out.latency_s > 0.0


def test_answer() -> None:
    out = Toolbox.answer("Marrow River")
    assert out.text == "FINAL ANSWER: Marrow River"
    assert out.payload == {"answer": "Marrow River"}
    assert out.ok and out.latency_s == 0.0
