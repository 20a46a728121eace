"""Start a short controller training in the background, if this build has a trainer.

The trainer is ``lts_core.train``; its entry point is looked up by name (``ENTRY_POINTS``) and
called in a daemon thread with the keyword arguments its signature accepts among: ``engine``,
``store``, ``suite``, ``epochs``, ``tasks``, ``teams``, ``episodes``, ``seed``, ``stop_event`` (Stop)
and ``on_epoch`` (progress). It records its own rows (``train_epochs``, ``train_decisions``, its
episode runs as batch ``train-<id>``); the Training page reads them. No Streamlit here.
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
    status: str = "running"  # running | stopping | finished | stopped | failed
    error: str | None = None
    result: Any = None
    started_at: float = field(default_factory=time.time)
    thread: threading.Thread | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    can_stop: bool = False  # the trainer takes a stop_event
    epochs_done: list[Any] = field(default_factory=list)  # TrainEpochRecord, as they finish

    @property
    def train_id(self) -> str | None:
        return self.epochs_done[-1].train_id if self.epochs_done else None

    def expected_episodes(self) -> int:
        """Episodes the job will play: epochs x tasks x episodes per task (G)."""
        from lts_core.train import TrainConfig

        o = self.options
        d = TrainConfig.from_recipe(o["recipe"]) if o.get("recipe") else TrainConfig()
        return int(o.get("epochs") or d.epochs) * int(o.get("tasks") or 1) * int(
            o.get("episodes") or d.episodes)

    def stop(self) -> None:
        """Ask the trainer to stop after its current group of episodes; it saves a checkpoint."""
        if self.status == "running":
            self.status = "stopping"
        self.stop_event.set()


def start_training(engine: Any, **options: Any) -> TrainJob:
    fn = entry_point()
    if fn is None:
        raise RuntimeError("lts_core.train has no entry point named " + " / ".join(ENTRY_POINTS))
    job = TrainJob(options)
    offered = {"engine": engine, "store": engine.store, "stop_event": job.stop_event,
               "on_epoch": job.epochs_done.append, **options}
    params = inspect.signature(fn).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
    job.can_stop = "stop_event" in kwargs

    def target() -> None:
        try:
            job.result = fn(**kwargs)
            job.status = "stopped" if job.stop_event.is_set() else "finished"
        except Exception as e:  # shown on the Training page
            job.status, job.error = "failed", f"{type(e).__name__}: {e}"

    job.thread = threading.Thread(target=target, name="lts-train", daemon=True)
    job.thread.start()
    return job
