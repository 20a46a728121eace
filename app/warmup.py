"""Warm-up at start: load the embedding model and build the demo suite's search index in the
background, so the first demo run starts at once. Thread-safe; no Streamlit here."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

STAGES = ("the demo suite", "its search index", "the embedding model")


@dataclass
class Warmup:
    stage: str = "starting"
    done: bool = False
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def start(self, engine: Any, embedder: str = "minilm") -> Warmup:
        threading.Thread(target=self._run, args=(engine, embedder), name="lts-warmup",
                         daemon=True).start()
        return self

    def _run(self, engine: Any, embedder: str) -> None:
        from lts_core.embeddings import get_embedder

        try:
            self.stage = STAGES[0]
            suite = engine.suite("demo")
            self.stage = STAGES[1]
            engine.index(suite)
            self.stage = STAGES[2]
            get_embedder(embedder).one("warm up")
        except Exception as e:  # the run itself will say what is wrong
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done, self.finished = True, time.time()
