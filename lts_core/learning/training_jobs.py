"""Training in the background: ``start_training(engine, **options) -> TrainingHandle``, the training
twin of ``Engine.start``.

``options`` are ``lts_core.learning.train.train``'s keyword arguments (``recipe``, ``suite``, ``epochs``,
``tasks``, ``teams``, ``episodes``, ``seed``, ``out``, ...). The training runs in a daemon thread and
records its own rows (``train_epochs``, ``train_decisions``, its episode runs as batch
``train-<id>``); the handle gives its progress (``epochs_done``, as epochs finish), ``stop()`` (it
stops after its current group of episodes and saves a checkpoint), and its result or error.

One training per process at a time: it plays many runs and holds the CPU. ``start_training``
refuses a second while one is running, and ``current_training()`` is the process's handle, so every
dashboard tab shows the same job.

Thread-safety: every function and handle method may be called from any thread.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACTIVE = ("running", "stopping")


@dataclass
class TrainingHandle:
    options: dict[str, Any]
    status: str = "running"  # running | stopping | finished | stopped | failed
    error: str | None = None
    result: Any = None  # lts_core.learning.train.TrainResult once finished or stopped
    started_at: float = field(default_factory=time.time)
    thread: threading.Thread | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    can_stop: bool = True  # the trainer takes a stop_event
    epochs_done: list[Any] = field(default_factory=list)  # TrainEpochRecord, as they finish

    @property
    def train_id(self) -> str | None:
        return self.epochs_done[-1].train_id if self.epochs_done else None

    def expected_episodes(self) -> int:
        """Episodes the training will play: epochs x tasks x episodes per task (G)."""
        from lts_core.learning.train_config import TrainConfig

        o = self.options
        d = TrainConfig.from_recipe(o["recipe"]) if o.get("recipe") else TrainConfig()
        return int(o.get("epochs") or d.epochs) * int(o.get("tasks") or 1) * int(
            o.get("episodes") or d.episodes)

    def stop(self) -> None:
        """Ask the trainer to stop after its current group of episodes; it saves a checkpoint."""
        if self.status == "running":
            self.status = "stopping"
        self.stop_event.set()

    def done(self) -> bool:
        return self.status not in ACTIVE

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return self.done()


_lock = threading.Lock()
_current: TrainingHandle | None = None


def current_training() -> TrainingHandle | None:
    """The training this process started last (running or not), or None."""
    return _current


def start_training(engine: Any, *, train_fn: Callable[..., Any] | None = None,
                   **options: Any) -> TrainingHandle:
    """Start ``train_fn`` (default ``lts_core.learning.train.train``) in a background thread; RuntimeError
    while another training of this process is running. A ``train_fn`` gets the arguments its
    signature accepts among ``engine``, ``stop_event``, ``on_epoch`` and ``options``."""
    global _current
    if train_fn is None:
        from lts_core.learning.train import train as train_fn
    with _lock:
        if _current is not None and _current.status in ACTIVE:
            raise RuntimeError(f"a training is already running in this process (train id "
                               f"{_current.train_id or 'starting'}); stop it or wait for it")
        job = TrainingHandle(dict(options))
        offered = {"engine": engine, "stop_event": job.stop_event,
                   "on_epoch": job.epochs_done.append, **options}
        params = inspect.signature(train_fn).parameters
        takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
        job.can_stop = "stop_event" in kwargs
        fn = train_fn

        def target() -> None:
            try:
                job.result = fn(**kwargs)
                job.status = "stopped" if job.stop_event.is_set() else "finished"
            except Exception as e:  # shown by the caller (the Training page)
                job.status, job.error = "failed", f"{type(e).__name__}: {e}"

        job.thread = threading.Thread(target=target, name="lts-train", daemon=True)
        _current = job
        job.thread.start()
        return job
