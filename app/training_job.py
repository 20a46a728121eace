"""Start a short controller training in the background, if this build has a trainer.

The trainer is ``lts_core.train``; its entry point is looked up by name (``ENTRY_POINTS``) and
called in a daemon thread with the keyword arguments its signature accepts among: ``engine``,
``store``, ``suite``, ``epochs``, ``tasks``, ``teams``, ``episodes``, ``seed``. It records its own
rows (``train_epochs``, ``train_decisions``); the Training page reads them. No Streamlit here.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ENTRY_POINTS = ("start_background", "train_in_background", "run_training", "train")


def trainer_available() -> bool:
    try:
        return importlib.util.find_spec("lts_core.train") is not None
    except (ImportError, ValueError):
        return False


def entry_point():
    """The trainer's callable, or None when the module has none of the known names."""
    mod = importlib.import_module("lts_core.train")
    return next((getattr(mod, n) for n in ENTRY_POINTS if callable(getattr(mod, n, None))), None)


@dataclass
class TrainJob:
    options: dict[str, Any]
    status: str = "running"  # running | finished | failed
    error: str | None = None
    result: Any = None
    started_at: float = field(default_factory=time.time)
    thread: threading.Thread | None = None


def start_training(engine: Any, **options: Any) -> TrainJob:
    fn = entry_point()
    if fn is None:
        raise RuntimeError("lts_core.train has no entry point named " + " / ".join(ENTRY_POINTS))
    offered = {"engine": engine, "store": engine.store, **options}
    params = inspect.signature(fn).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
    job = TrainJob(options)

    def target() -> None:
        try:
            job.result = fn(**kwargs)
            job.status = "finished"
        except Exception as e:  # shown on the Training page
            job.status, job.error = "failed", f"{type(e).__name__}: {e}"

    job.thread = threading.Thread(target=target, name="lts-train", daemon=True)
    job.thread.start()
    return job
