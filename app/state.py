"""The one object the Streamlit process shares: store, engine and run queue.

``services()`` returns it, created once per process and database path with ``st.cache_resource``.
There is exactly one ``Store`` (one DuckDB writer) per process; pages only read through it.

``RunQueue`` is a plain thread-safe queue with one worker thread that starts queued runs one after
another (``Engine.start`` + wait). The worker never calls ``st.*``: pages poll ``queue.jobs()``
and the database. Cancelling a queued job drops it; cancelling the running one asks the engine to
stop, and the run is recorded as ``cancelled``.
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from app.exposure import SettingError, api_base_policy
from app.warmup import Warmup
from lts_core import Engine, RunConfig, Store
from lts_core.config import Settings


@dataclass
class Job:
    """One queued run: which task, on what settings, and what became of it."""

    suite: str
    task_id: str
    config: RunConfig
    batch_id: str = ""
    job_id: int = 0
    status: str = "queued"  # queued | starting | running | finished | failed | cancelled
    run_id: str | None = None
    error: str | None = None
    queued_at: float = field(default_factory=time.time)
    _cancel: bool = False

    @property
    def label(self) -> str:
        c = self.config
        return f"{self.task_id} · {c.policy} · K={c.teams} · seed {c.seed}"


class RunQueue:
    """Runs jobs one at a time on a background thread. Thread-safe; never touches Streamlit."""

    def __init__(self, engine: Engine, *, keep: int = 200) -> None:
        self.engine = engine
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._ids = itertools.count(1)
        self._current = None  # RunHandle of the running job
        self._keep = keep
        self._thread = threading.Thread(target=self._loop, name="lts-run-queue", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------- submit/cancel
    def submit(self, suite: str, task_id: str, config: RunConfig, batch_id: str = "") -> Job:
        config.validate()  # raise here, in the page, rather than later in the worker
        allowed_api_bases(config)
        job = Job(suite, task_id, config, batch_id or uuid.uuid4().hex[:8], next(self._ids))
        with self._lock:
            self._jobs.append(job)
            self._trim()
        self._wake.set()
        return job

    def cancel(self, job_id: int) -> bool:
        with self._lock:
            for j in self._jobs:
                if j.job_id == job_id and j.status in ("queued", "starting", "running"):
                    j._cancel = True
                    if j.status == "queued":
                        j.status = "cancelled"
                    elif j.status == "running" and self._current is not None:
                        self._current.cancel()
                    return True
        return False

    def cancel_run(self, run_id: str) -> bool:
        job = next((j for j in self.jobs() if j.run_id == run_id), None)
        return self.cancel(job.job_id) if job else False

    def cancel_all(self) -> int:
        return sum(self.cancel(j.job_id) for j in self.active())

    # ------------------------------------------------------------------------------- reading
    def jobs(self) -> list[Job]:
        """A snapshot, oldest first."""
        with self._lock:
            return list(self._jobs)

    def active(self) -> list[Job]:
        return [j for j in self.jobs() if j.status in ("queued", "starting", "running")]

    def running_run_id(self) -> str | None:
        return next((j.run_id for j in self.jobs() if j.status == "running"), None)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is queued or running (tests, benchmarks)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.active():
                return True
            time.sleep(0.05)
        return False

    # -------------------------------------------------------------------------------- worker
    def _trim(self) -> None:
        done = [j for j in self._jobs if j.status in ("finished", "failed", "cancelled")]
        for j in done[: max(0, len(done) - self._keep)]:
            self._jobs.remove(j)

    def _next(self) -> Job | None:
        with self._lock:
            job = next((j for j in self._jobs if j.status == "queued"), None)
            if job is not None:
                job.status = "starting"
            return job

    def _loop(self) -> None:
        while True:
            job = self._next()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            suite = self.engine.suite(job.suite)
            handle = self.engine.start(suite.get(job.task_id), suite, job.config,
                                       batch_id=job.batch_id)
        except Exception as e:  # a bad setting or an unavailable back-end: shown in the queue
            with self._lock:
                job.status, job.error = "failed", f"{type(e).__name__}: {e}"
            return
        with self._lock:
            job.run_id, job.status, self._current = handle.run_id, "running", handle
            if job._cancel:
                handle.cancel()
        handle.wait()
        try:  # a job reads as finished only once its rows are committed (pages query them next)
            self.engine.store.flush()
        except Exception as e:  # noqa: BLE001 - the store's own error is shown on the job
            handle.error = handle.error or e
        with self._lock:
            self._current = None
            if handle.error is not None:
                job.status, job.error = "failed", f"{type(handle.error).__name__}: {handle.error}"
            else:
                job.status = "cancelled" if handle.run.cancelled else "finished"


def allowed_api_bases(config: RunConfig) -> None:
    """Raise ``SettingError`` when a run would send requests to an API base the settings forbid
    (``app.exposure``: ``LTS_ALLOWED_API_BASES``, ``LTS_ALLOW_CUSTOM_API_BASE``)."""
    policy = api_base_policy()
    for what, opts in (("API base", config.backend_options), ("judge API base", config.policy_options)):
        why = policy.problem(str((opts or {}).get("api_base") or ""))
        if why:
            raise SettingError(f"{what}: {why}")


@dataclass
class Services:
    store: Store
    engine: Engine
    queue: RunQueue
    db_path: Path
    interrupted_on_open: int = 0
    warmup: Warmup | None = None  # embedding model and demo index, loaded at start (app.warmup)


def db_path() -> Path:
    return Settings.from_env().db_path


@st.cache_resource(show_spinner="Opening the database…")
def _services_for(path: str) -> Services:
    store = Store(path)
    engine = Engine(store)
    queue = RunQueue(engine)
    svc = Services(store, engine, queue, Path(path), store.interrupted_on_open,
                   Warmup().start(engine, busy=lambda: bool(queue.active())))
    atexit.register(_shutdown, svc)
    return svc


def _shutdown(svc: Services) -> None:
    """At process exit: stop the runs (recorded as cancelled) and commit what is queued."""
    svc.queue.cancel_all()
    svc.queue.wait_idle(5.0)
    svc.store.close()


def services() -> Services:
    """The process-wide services for the database named by LTS_DB (or the default path)."""
    return _services_for(str(db_path()))
