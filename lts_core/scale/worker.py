"""The Ray actor of ``lts_core.scale.pool``: one process that plays runs and training episodes.

A ``ScaleWorker`` holds an ``Engine`` whose store is a ``RecordBuffer``, so the suite, its search
index and the embedder are loaded once per worker and every run's records go back to the driver
with the run's summary. Settings come from the driver (paths only); API keys come from the worker's
own environment (inherited from the driver on a local cluster; set on each node of a real one) and
never travel through Ray's object store (the pool refuses a job whose config holds one). Given a
``Warm``, a new worker loads what its first runs need in background threads as it starts.

Thread-safety: with ``runs_per_worker > 1`` Ray calls the methods from several threads at once;
the engine and the buffer are thread-safe, and the training model is swapped under a lock only
when a new weights version arrives (between gradient steps, when no episode is in flight). The
warm-up threads use the same locked loaders (engine, embedders, checkpoint cache) as the runs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lts_core.config import Settings
from lts_core.registry import baseline_policy
from lts_core.runtime.engine import Engine, RunConfig, RunSummary
from lts_core.world.tasks import Suite, Task

if TYPE_CHECKING:
    from lts_core.learning.credit import Episode
    from lts_core.learning.train_config import TrainConfig


class RecordBuffer:
    """A store stand-in for a worker's ``Engine``: ``write``/``update`` keep ``(op, copy)`` per run
    (records change after they are written, so each call is copied as it is made); ``take(run_id)``
    hands a run's calls over, in call order, for the driver to replay. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ops: dict[str, list[tuple[str, Any]]] = {}
        self._lock = threading.Lock()

    def _add(self, op: str, rec: Any) -> None:
        with self._lock:
            self._ops.setdefault(rec.run_id, []).append((op, copy.deepcopy(rec)))

    def write(self, rec: Any) -> None:
        self._add("insert", rec)

    def update(self, rec: Any) -> None:
        self._add("update", rec)

    def take(self, run_id: str) -> list[tuple[str, Any]]:
        with self._lock:
            return self._ops.pop(run_id, [])

    def flush(self, timeout: float = 30.0) -> None:
        """Nothing to do: the driver writes."""

    def close(self) -> None:
        """Nothing to do: the driver writes."""


@dataclass(frozen=True)
class Warm:
    """What a new worker loads at once, in background threads, so that its first call does not
    load it in a row: the suite and its index (``use_pool`` variants), the embedders (their cache;
    the model waits for a text the cache lacks) and the policies (name, options as JSON: e.g.
    ``learned`` loads its checkpoint). A failure here is ignored: the run that needs the part
    meets it again and records it."""

    suite: str
    use_pool: tuple[bool, ...] = (True,)
    embedders: tuple[str, ...] = ()
    policies: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, suite: str, configs: list[RunConfig]) -> Warm:
        return cls(suite, tuple(sorted({c.use_pool for c in configs})),
                   tuple(sorted({c.embedder for c in configs})),
                   tuple(sorted({(c.policy, json.dumps(c.policy_options, sort_keys=True, default=str))
                                 for c in configs})))


@dataclass
class RunJob:
    """One run for a worker: the task by id (the worker loads the suite once), its settings."""

    task_id: str
    suite: str
    config: RunConfig
    batch_id: str


@dataclass
class RunOutcome:
    summary: RunSummary
    ops: list[tuple[str, Any]]


@dataclass
class EpisodeJob:
    """One training episode: task by id, its seed (from the training seed, never the worker) and,
    when the cost term needs it and the driver has none yet, the ``none`` reference run too."""

    task_id: str
    seed: int
    train_id: str
    config: TrainConfig
    with_reference: bool = False


@dataclass
class EpisodeOutcome:
    episode: Episode
    ops: list[tuple[str, Any]]
    reference_runtime_s: float | None = None


class ScaleWorker:
    """Plays runs (``play``) and training episodes (``episode``) for the driver; see the module."""

    def __init__(self, settings: Settings, warm: Warm | None = None) -> None:
        import torch

        torch.set_num_threads(1)  # one CPU per worker; and the trainer's numerics (same weights)
        self.buffer = RecordBuffer(settings.db_path)
        self.engine = Engine(self.buffer, settings)  # type: ignore[arg-type]
        self._tasks: dict[str, dict[str, Task]] = {}
        self._model: Any = None
        self._version = -1
        self._tuned: set[int] = set()  # search indexes already set to one thread
        self._lock = threading.Lock()
        if warm is not None:
            self._warm(warm)

    def _warm(self, warm: Warm) -> None:
        """Load ``warm``'s parts in three threads (the index build runs in DuckDB, off the GIL,
        while the checkpoints load); the engine's, the embedders' and the checkpoint cache's
        locks make a run that needs a part wait for it."""
        def index() -> None:
            suite = self.engine.suite(warm.suite)
            for use_pool in warm.use_pool:
                self._one_thread_index(suite, use_pool)

        def embedders() -> None:
            """Their caches only. The model loads on the first text a cache lacks, as in one
            process: a warm cache never needs it (loading it anyway took 7 s of a worker's CPU)."""
            from lts_core.world.embeddings import get_embedder

            for name in warm.embedders:
                get_embedder(name)

        def policies() -> None:
            from lts_core.policies import make_policy

            for name, options in warm.policies:
                make_policy(name, **json.loads(options))

        def quietly(f: Any) -> None:
            with contextlib.suppress(Exception):
                f()

        for f in (index, embedders, policies):
            threading.Thread(target=quietly, args=(f,), name=f"lts-warm-{f.__name__}",
                             daemon=True).start()

    def pid(self) -> int:
        return os.getpid()

    def die(self) -> None:
        """End this worker's process at once, as an out-of-memory kill would (fault tests)."""
        os._exit(1)

    def _task(self, suite: str, task_id: str) -> tuple[Suite, Task]:
        s = self.engine.suite(suite)
        with self._lock:
            if suite not in self._tasks:
                self._tasks[suite] = {t.id: t for t in s.tasks}
        try:
            return s, self._tasks[suite][task_id]
        except KeyError:
            raise KeyError(f"no task {task_id!r} in suite {suite!r} on this worker") from None

    def _one_thread_index(self, suite: Suite, use_pool: bool) -> None:
        """Build the suite's search index (once per worker), then query it on one DuckDB thread: a
        worker is one CPU in Ray's accounting, and DuckDB's default (a thread per core) makes N
        workers on N cores fight (measured, 2 workers on 2 CPUs, 60 warm-cache runs: 14.5 s ->
        10.9 s)."""
        idx = self.engine.index(suite, use_pool=use_pool)
        with self._lock:
            if id(idx) in self._tuned:
                return
            self._tuned.add(id(idx))
        idx.set_threads(1)

    def play(self, job: RunJob) -> RunOutcome:
        """One run; a run that fails is recorded failed (by the engine) and returned."""
        suite, task = self._task(job.suite, job.task_id)
        self._one_thread_index(suite, job.config.use_pool)
        run = self.engine.prepare_run(task, suite, job.config, batch_id=job.batch_id)
        try:
            summary = self.engine.execute(run)
        except Exception:  # execute() recorded the run as failed, with the reason
            summary = run.summary()
        return RunOutcome(summary, self.buffer.take(run.run_id))

    def _model_at(self, cfg: TrainConfig, version: int, weights: list[Any]) -> Any:
        """The controller with the driver's weights of ``version`` (fetched once per version)."""
        with self._lock:
            if self._version != version:
                import ray

                from lts_core.policies.controller import AdmissionController

                model = self._model or AdmissionController(cfg.controller)
                model.load_state_dict(ray.get(weights[0]))
                model.train(False)
                self._model, self._version = model, version
            return self._model

    def episode(self, job: EpisodeJob, version: int, weights: list[Any]) -> EpisodeOutcome:
        """One training episode with the weights of ``version`` (``weights`` = [ObjectRef], kept in
        a list so Ray does not fetch it for every call); the records of its run(s) come back."""
        from lts_core.learning.episodes import episode_config, play_episode

        cfg = job.config
        suite, task = self._task(cfg.suite, job.task_id)
        self._one_thread_index(suite, True)  # episodes search the pool (RunConfig's default)
        model = self._model_at(cfg, version, weights)
        batch = f"train-{job.train_id}"
        ep = play_episode(self.engine, model, task, cfg, job.seed, batch)
        ops = self.buffer.take(ep.run_id)
        ref = None
        if job.with_reference:
            rc = episode_config(cfg, job.seed, baseline_policy())
            s = self.engine.run_task(task, suite, rc, batch_id=f"{batch}-ref")
            ops += self.buffer.take(s.record.run_id)
            ref = max(1e-6, float(s.record.runtime_s or 0.0))
        return EpisodeOutcome(ep, ops, ref)
