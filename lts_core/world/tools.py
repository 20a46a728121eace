"""The teams' tools over the local corpus, and the latency model that stands for "the web".

``Toolbox(index, task, latency)`` gives ``search(query)``, ``open(title_or_id)`` and
``answer(text)``. Results are real (BM25 over real paragraphs); the time they take on the run's clock
is drawn from ``WebLatency``, a per-tool log-normal distribution (docs/simulator.md explains each
default). ``WebLatency(enabled=False)`` makes every tool instant.

Thread-safety: a Toolbox is shared by a run's teams; it holds no mutable state of its own and the
index is thread-safe. Latency draws use the caller's ``random.Random`` so runs stay deterministic.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from lts_core.world.search import SearchIndex
from lts_core.world.tasks import Task


@dataclass
class ToolOutput:
    """What a tool (search, open, answer) or the bank returned, and what it cost."""

    text: str
    payload: dict[str, Any] = field(default_factory=dict)  # structured result (hits, doc, ...)
    latency_s: float = 0.0  # modelled web latency on the run's clock
    compute_ms: float = 0.0
    ok: bool = True
    error: str | None = None




@dataclass(frozen=True)
class WebLatency:
    """Log-normal latency per tool: ``median * exp(sigma * N(0, 1))``, capped at ``cap_s``.

    Defaults: a Magentic-One WebSurfer action is a browser action plus a multimodal LLM call on a
    screenshot (about 5-8 s). A search is about two actions (type the query, read the results): median
    10 s. Reading a page is two to three (navigate, scroll, extract), with a heavier tail for slow
    sites and pop-ups: median 16 s. See docs/simulator.md.
    """

    search_median_s: float = 10.0
    search_sigma: float = 0.5
    open_median_s: float = 16.0
    open_sigma: float = 0.6
    cap_s: float = 120.0
    failure_p: float = 0.05  # P(a web call fails: timeout, blocked page, navigation error)
    enabled: bool = True

    def fails(self, rng: random.Random) -> bool:
        u = rng.random()  # drawn even when disabled so streams stay aligned
        return self.enabled and u < self.failure_p

    def sample(self, tool: str, rng: random.Random) -> float:
        z = rng.gauss(0.0, 1.0)  # drawn even when disabled so streams stay aligned
        if not self.enabled:
            return 0.0
        if tool == "search":
            med, sig = self.search_median_s, self.search_sigma
        elif tool == "open":
            med, sig = self.open_median_s, self.open_sigma
        else:
            return 0.0
        return min(self.cap_s, med * math.exp(sig * z))

    def describe(self) -> dict:
        return asdict(self)


class Toolbox:
    def __init__(self, index: SearchIndex, task: Task, latency: WebLatency, *, top_k: int = 5) -> None:
        self.index = index
        self.task = task
        self.latency = latency
        self.top_k = top_k
        self.scope = task.id
        index.set_scope(self.scope, [d.doc_id for d in task.docs])
        self._task_titles = {d.title.lower(): d for d in task.docs}

    def search(self, query: str, rng: random.Random) -> ToolOutput:
        t0 = time.perf_counter()
        if not query.strip():
            return ToolOutput("error: empty search query", ok=False, error="empty query",
                              latency_s=self.latency.sample("search", rng))
        hits = self.index.search(query, self.scope, self.top_k)
        ms = (time.perf_counter() - t0) * 1000
        if self.latency.fails(rng):
            return ToolOutput(f"error: the search for '{query}' failed (simulated web failure)",
                              {"query": query, "failed": True}, self.latency.sample("search", rng),
                              ms, False, "simulated web failure")
        lines = [f"{i + 1}. {h.title}: {h.snippet}" for i, h in enumerate(hits)]
        text = f"Search results for '{query}':\n" + ("\n".join(lines) if lines else "(no results)")
        return ToolOutput(text, {"query": query, "hits": [h.title for h in hits],
                                 "hit_ids": [h.doc_id for h in hits]},
                          self.latency.sample("search", rng), ms)

    def open(self, title_or_id: str, rng: random.Random) -> ToolOutput:
        t0 = time.perf_counter()
        key = title_or_id.strip().strip("'\"")
        doc = self._task_titles.get(key.lower()) or self.index.get(key)
        ms = (time.perf_counter() - t0) * 1000
        lat = self.latency.sample("open", rng)
        if self.latency.fails(rng):
            return ToolOutput(f"error: the page '{key}' did not load (simulated web failure)",
                              {"title": key, "failed": True}, lat, ms, False, "simulated web failure")
        if doc is None:
            return ToolOutput(f"error: no page titled '{key}'", {"title": key}, lat, ms, False,
                              "page not found")
        return ToolOutput(f"{doc.title}\n{doc.text}", {"title": doc.title, "doc_id": doc.doc_id},
                          lat, ms)

    @staticmethod
    def answer(text: str) -> ToolOutput:
        return ToolOutput(f"FINAL ANSWER: {text}", {"answer": text})
