"""Explanations off the decision path: computed on one worker thread per process, recorded per run.

A policy may return ``AdmissionDecision.explain_later``: a function giving the features that explain
the decision but are not needed to make it (the learned controller's leave-one-out attributions
cost several forward passes). ``RunExplanations.submit`` hands it to the process's explainer thread,
which calls it and writes an ``ExplanationRecord``; ``wait`` (called when the run ends) returns
once every explanation of the run is recorded, so a finished run is complete. A failing explanation
is recorded with its error, never raised into the run.

Thread-safety: ``submit`` and ``wait`` may be called from any thread; the functions run one at a
time on the explainer thread (they must only read shared state, e.g. a model in inference).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from typing import Any, Protocol

from lts_core.record.records import ExplanationRecord

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


class Writer(Protocol):
    def write(self, rec: object) -> None: ...


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lts-explain")
        return _POOL


class RunExplanations:
    """The explanations of one run's decisions."""

    def __init__(self, store: Writer, run_id: str, jsonable: Callable[[Any], Any] = str) -> None:
        self.store, self.run_id, self._jsonable = store, run_id, jsonable
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()

    def submit(self, team_idx: int, step_idx: int, explain: Callable[[], dict[str, Any]]) -> None:
        fut = _pool().submit(self._one, team_idx, step_idx, explain)
        with self._lock:
            self._futures.append(fut)

    def _one(self, team_idx: int, step_idx: int, explain: Callable[[], dict[str, Any]]) -> None:
        t0 = time.perf_counter()
        try:
            feats = explain()
        except Exception as e:  # noqa: BLE001 - an explanation never takes the run down
            feats = {"explain_error": f"{type(e).__name__}: {e}"[:500]}
        ms = (time.perf_counter() - t0) * 1000
        self.store.write(ExplanationRecord(self.run_id, team_idx, step_idx,
                                           json.dumps(feats, default=self._jsonable), round(ms, 4)))

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until every submitted explanation is recorded; False if ``timeout`` ran out."""
        with self._lock:
            futures = list(self._futures)
        _, pending = wait_all(futures, timeout)
        return not pending
