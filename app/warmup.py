"""Warm-up at start: load the embedding model and build the demo suite's search index in the
background, so the first demo run starts at once. Thread-safe; no Streamlit here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STAGES = ("the demo suite", "its search index", "the embedding model")
IDLE_S = 10.0  # the model loads after this long without a run (a run on cached texts needs none)


@dataclass
class Warmup:
    stage: str = "starting"
    done: bool = False
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def start(self, engine: Any, embedder: str = "minilm",
              busy: Callable[[], bool] = lambda: False) -> Warmup:
        """``busy``: the model loads only after ``IDLE_S`` seconds in which it said no run was going
        (loading imports torch, which holds the interpreter for seconds and slows a starting run;
        a run on cached texts does not need the model, one that does loads it itself)."""
        threading.Thread(target=self._run, args=(engine, embedder, busy), name="lts-warmup",
                         daemon=True).start()
        return self

    def _run(self, engine: Any, embedder: str, busy: Callable[[], bool]) -> None:
        from lts_core.world.embeddings import get_embedder

        try:
            self.stage = STAGES[0]
            suite = engine.suite("demo")
            self.stage = STAGES[1]
            engine.index(suite)
            self.stage = STAGES[2]
            emb = get_embedder(embedder)
            load = getattr(emb, "load", None)  # outside the embedder's lock: cached texts go on
            if load is not None:
                quiet = time.time()
                while time.time() - quiet < IDLE_S:  # wait for a quiet moment
                    if busy():
                        quiet = time.time()
                    time.sleep(0.5)
                load()
            else:
                emb.one("warm up")
        except Exception as e:  # the run itself will say what is wrong
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done, self.finished = True, time.time()
