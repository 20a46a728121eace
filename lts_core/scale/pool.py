"""Scale-out on Ray: runs played by worker actors, recorded by the driver's one ``Store``.

Design (docs/scale.md):

- ``ScaleOptions`` (``--workers N``, ``--ray-address``, ``--runs-per-worker``): with one worker and no
  address nothing here is used and Ray is never imported (the sequential path).
- ``WorkerPool`` starts a local Ray cluster (``num_cpus=N``; Ray's files under ``ray_temp_dir``) or
  joins the given one, and holds N ``ScaleWorker`` actors (``worker.py``). Each actor has an
  ``Engine`` whose store is a ``RecordBuffer``: a run's records come back to the driver with its
  summary, and the driver replays them through its ``Store`` as runs finish. One writer, the same
  tables and rows, the same run-id scheme (the engine's own uuid, made on the worker).
- Jobs are numbered in the sequential order and results are put back in that order, so figures do
  not depend on the worker count or on which run finishes first. Seeds never depend on a worker.
- A worker that dies (killed, out of memory) is replaced; its in-flight runs are retried once on a
  new worker, and the lost attempt is recorded as a ``failed`` run ("worker died ...; retried").
  A run lost twice is recorded ``failed`` and the batch goes on. Ctrl-C records the runs in flight
  as ``interrupted`` and ``close()`` shuts Ray down (no Ray process is left behind).

Thread-safety: a ``WorkerPool`` is driven from one thread.

Size: the pool's life (start, submit, collect, replace a dead worker, retry, Ctrl-C, shut down)
is one state machine; it stays in one module. What runs on a worker is in ``scale_worker``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lts_core.config import Settings
from lts_core.record.records import RunRecord
from lts_core.registry import is_simulated

if TYPE_CHECKING:  # the CLI imports this module for its flags: no engine, no Ray until used
    from lts_core.runtime.engine import Engine, RunConfig, RunSummary
    from lts_core.scale.worker import RunOutcome
    from lts_core.world.tasks import Task

MAX_ATTEMPTS = 2  # a run lost with its worker is retried once
START_TIMEOUT_S = 300  # workers that cannot start by then (no free CPU on the cluster): an error


class ScaleError(RuntimeError):
    """Ray could not be started or joined, or work was lost; the message says what to do."""


@dataclass(frozen=True)
class ScaleOptions:
    """Where runs are played. ``workers=1`` and no ``ray_address``: in this process, no Ray."""

    workers: int = 1
    ray_address: str | None = None  # "auto", "ray://host:10001", "host:6379"; None: a local cluster
    runs_per_worker: int = 1  # runs one worker plays at once (threads; for LLM back-ends)

    @property
    def enabled(self) -> bool:
        return self.workers > 1 or bool(self.ray_address)

    def validate(self) -> None:
        if self.workers < 1 or self.runs_per_worker < 1:
            raise ValueError(f"workers and runs_per_worker must be at least 1, got {self.workers} "
                             f"and {self.runs_per_worker}")

    @classmethod
    def of(cls, cfg: Any) -> ScaleOptions:
        """The options of a config carrying ``workers``/``ray_address``/``runs_per_worker`` fields."""
        return cls(cfg.workers, cfg.ray_address or None, cfg.runs_per_worker)


def ray_temp_dir(settings: Settings) -> Path:
    """Ray's session files for a local cluster: ``$LTS_RAY_TMPDIR``, else ``<cache_dir>/ray`` when
    that path is short enough for Ray's socket names (40 characters), else ``<tmp>/lts-ray-<uid>``."""
    env = os.environ.get("LTS_RAY_TMPDIR")
    if env:
        return Path(env).expanduser()
    p = settings.cache_dir / "ray"
    return p if len(str(p)) <= 40 else Path(tempfile.gettempdir()) / f"lts-ray-{os.getuid()}"


def replay(store: Any, ops: Iterable[tuple[str, Any]]) -> int:
    """Write a worker's buffered calls through ``store`` in their order; returns how many.

    All or nothing against Ctrl-C and SIGTERM: they are held while the calls are queued (a run must
    not be left half-written, e.g. ``running``) and delivered right after."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        n = 0
        for op, rec in ops:
            (store.write if op == "insert" else store.update)(rec)
            n += 1
        return n
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def lost_run(task: Task, suite: str, rc: RunConfig, batch: str, status: str,
             error: str) -> RunSummary:
    """The record of a run that never came back from its worker (died, or Ctrl-C), as a summary."""
    from lts_core.runtime.engine import RunSummary
    from lts_core.secrets import redact_config

    now = time.time()
    rec = RunRecord(
        run_id=uuid.uuid4().hex[:12], task_id=task.id, suite=suite, question=task.question,
        gold=task.answer, backend=rc.backend, policy=rc.policy, executor=rc.executor, stop=rc.stop,
        teams=rc.teams, max_steps=rc.max_steps, seed=rc.seed, simulated=is_simulated(rc.backend),
        config_json=json.dumps(redact_config({"run": dataclasses.asdict(rc)}), default=str),
        batch_id=batch, status=status, created_at=now, finished_at=now, error=error)
    return RunSummary(rec, 0, 0, 0, 0, 0, 0, 0, 0, level=task.level)


# ---------------------------------------------------------------------------------- the driver
Call = tuple[str, tuple]  # (actor method, arguments)


class WorkerPool:
    """N ``ScaleWorker`` actors on a Ray cluster (a local one unless ``ray_address``).

    Use as a context manager: leaving it (normally, on an error or on Ctrl-C) shuts down the Ray
    connection this pool made, and with it a local cluster's processes. A Ray session that was
    already up when the pool was made (e.g. a test's) is left running. Driven from one thread.
    """

    def __init__(self, opts: ScaleOptions, settings: Settings) -> None:
        opts.validate()
        try:
            import ray
        except ImportError:
            raise ScaleError("--workers/--ray-address need Ray: `pip install ray` (a dependency "
                             "of lts-workbench; `make run` installs it)") from None
        self.ray, self.opts, self.settings = ray, opts, settings
        self.started = not ray.is_initialized()
        self.actors: list[Any] = []
        try:
            self._start(opts, settings)
        except BaseException:  # Ctrl-C during start-up too: never leave Ray's processes behind
            self.close()
            raise
        self.replaced = 0  # workers that died and were replaced
        self.fault_hook: Callable[[Any, int, int], None] | None = None  # tests: (actor, job, try)
        self._inflight: dict[Any, tuple[int, Any, int]] = {}

    def _start(self, opts: ScaleOptions, settings: Settings) -> None:
        ray = self.ray
        if self.started:
            try:
                if opts.ray_address:
                    ray.init(address=opts.ray_address, logging_level=logging.WARNING,
                             log_to_driver=False)
                else:
                    tmp = ray_temp_dir(settings)
                    tmp.mkdir(parents=True, exist_ok=True)
                    ray.init(num_cpus=opts.workers, include_dashboard=False, _temp_dir=str(tmp),
                             logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ScaleError(f"cannot start or join Ray (address {opts.ray_address or 'local'}"
                                 f"): {e}") from e
        from lts_core.scale.worker import ScaleWorker

        self._cls = ray.remote(num_cpus=1, max_restarts=0,
                               max_concurrency=opts.runs_per_worker)(ScaleWorker)
        for _ in range(opts.workers):
            self.actors.append(self._new_actor())
        pids = [a.pid.remote() for a in self.actors]  # fail here, not once per run
        ready, _ = ray.wait(pids, num_returns=len(pids), timeout=START_TIMEOUT_S)
        if len(ready) < len(pids):
            raise ScaleError(f"only {len(ready)} of {opts.workers} Ray workers started within "
                             f"{START_TIMEOUT_S} s; each needs 1 free CPU (the cluster has "
                             f"{ray.available_resources().get('CPU', 0):g}); lower --workers")
        try:
            ray.get(ready)
        except Exception as e:
            raise ScaleError(f"a Ray worker could not start: {e}") from e

    def _new_actor(self) -> Any:
        return self._cls.remote(self.settings)

    def close(self) -> None:
        for a in self.actors:
            try:
                self.ray.kill(a)
            except Exception:  # already dead or Ray already down
                pass
        self.actors = []
        if self.started:  # also after an interrupted ray.init: it kills what was started
            self.ray.shutdown()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inflight(self) -> list[int]:
        """Indices of the calls submitted and not yet returned (e.g. when Ctrl-C came)."""
        return sorted(i for i, _, _ in self._inflight.values())

    def run(self, calls: list[Call], on_result: Callable[[int, Any], None],
            on_lost: Callable[[int, int, BaseException], None]) -> None:
        """Play every call; ``on_result(i, value)`` as each returns, in finishing order.

        A call whose worker died is retried once on a replacement worker; ``on_lost(i, attempt,
        error)`` is told of every lost attempt (attempt ``MAX_ATTEMPTS``: given up). An ordinary
        exception inside a call is raised here, as it would be in the sequential path."""
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        ray = self.ray
        pending = deque((i, 1) for i in range(len(calls)))
        load = {id(a): 0 for a in self.actors}
        self._inflight = {}
        while pending or self._inflight:
            while pending:
                actor = min(self.actors, key=lambda a: load[id(a)])
                if load[id(actor)] >= self.opts.runs_per_worker:
                    break
                i, attempt = pending.popleft()
                if self.fault_hook:
                    self.fault_hook(actor, i, attempt)
                method, args = calls[i]
                ref = getattr(actor, method).remote(*args)
                self._inflight[ref] = (i, actor, attempt)
                load[id(actor)] += 1
            ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=0.5)
            for ref in ready:
                i, actor, attempt = self._inflight.pop(ref)
                load[id(actor)] = load.get(id(actor), 1) - 1
                try:
                    value = ray.get(ref)
                except (RayActorError, WorkerCrashedError) as e:
                    if any(a is actor for a in self.actors):  # first loss seen: replace it
                        self.actors = [a for a in self.actors if a is not actor]
                        ray.kill(actor)
                        new = self._new_actor()
                        self.actors.append(new)
                        load[id(new)] = 0
                        self.replaced += 1
                    on_lost(i, attempt, e)
                    if attempt < MAX_ATTEMPTS:
                        pending.appendleft((i, attempt + 1))
                    continue
                except RayTaskError as e:
                    raise e.as_instanceof_cause() from None
                on_result(i, value)


def why_lost(e: BaseException, attempt: int) -> str:
    what = f"worker died ({type(e).__name__})"
    return f"{what}; retried on another worker" if attempt < MAX_ATTEMPTS else \
        f"{what} on the retry too; not retried again"


def play_runs(engine: Engine, jobs: list[tuple[Task, RunConfig]], suite: str, batch: str,
              opts: ScaleOptions, progress: Callable[[int, int], None] | None = None,
              pool: WorkerPool | None = None) -> list[RunSummary]:
    """Play ``jobs`` on Ray workers, writing each run's records through ``engine.store`` as it
    returns; the summaries come back in the order of ``jobs`` (the sequential order).

    A run that fails on its worker is recorded ``failed`` and returned like any other; Ctrl-C
    records the runs in flight as ``interrupted`` and raises KeyboardInterrupt once Ray is down."""
    out: list[RunSummary | None] = [None] * len(jobs)
    done = [0]
    store = engine.store

    def finished(i: int, s: RunSummary) -> None:
        out[i] = s
        done[0] += 1
        if progress:
            progress(done[0], len(jobs))

    def on_result(i: int, r: RunOutcome) -> None:
        replay(store, r.ops)
        finished(i, r.summary)

    def on_lost(i: int, attempt: int, e: BaseException) -> None:
        task, rc = jobs[i]
        s = lost_run(task, suite, rc, batch, "failed", why_lost(e, attempt))
        store.write(s.record)
        if attempt >= MAX_ATTEMPTS:
            finished(i, s)

    from lts_core.scale.worker import RunJob

    calls = [("play", (RunJob(t.id, suite, rc, batch),)) for t, rc in jobs]
    own = pool is None
    pool = pool or WorkerPool(opts, engine.settings)
    try:
        pool.run(calls, on_result, on_lost)
    except KeyboardInterrupt:
        for i in pool.inflight():
            task, rc = jobs[i]
            store.write(lost_run(task, suite, rc, batch, "interrupted",
                                 "interrupted by the user (Ctrl-C) on a Ray worker").record)
        raise
    finally:
        if own:
            pool.close()
    return [s for s in out if s is not None]


def add_scale_args(parser: Any) -> None:
    """``--workers``, ``--ray-address`` and ``--runs-per-worker`` on a sub-command's parser."""
    a = parser.add_argument
    a("--workers", type=int, default=1, help="Ray workers playing runs in parallel (default 1: "
      "in this process, no Ray); docs/scale.md")
    a("--ray-address", help="join this Ray cluster ('auto' or HOST:PORT) instead of starting a "
      "local one with --workers CPUs")
    a("--runs-per-worker", type=int, default=1, help="runs each worker plays at once (threads; "
      "for LLM back-ends that wait on the network)")


def options_from_args(args: Any) -> ScaleOptions:
    """The options of ``add_scale_args``'s flags; ValueError for a count below 1."""
    opts = ScaleOptions(getattr(args, "workers", 1), getattr(args, "ray_address", None) or None,
                        getattr(args, "runs_per_worker", 1))
    opts.validate()
    return opts
