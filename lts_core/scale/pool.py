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
  So the pool may play them in another order: a worker gets the runs of the tasks it has played
  (``Pending``: its per-process caches serve them, as in one process), and new workers start
  loading the suite, index, embedder and checkpoints at once (``worker.Warm``).
- A worker that is lost (killed, out of memory, its node or its result object lost: ``LOST_WORKER``)
  is replaced; each run it held is retried once on any ready worker (the replacement joins when it
  has started; one that has not within ``start_timeout_s`` is given up, and with no worker left the
  batch ends with a ``ScaleError``, never a wait without end). The lost attempt is a ``retried`` run
  row whose error names the run that retried it; a run lost twice is recorded ``failed`` and the
  batch goes on. Ctrl-C records the runs in flight (and retries not yet played) as ``interrupted``
  and ``close()`` shuts Ray down (no Ray process is left behind).
- Secrets never travel: ``refuse_secrets`` refuses, before Ray starts, a config whose options hold
  an API key, a token in a URL or a header value; keys reach workers through their environment.

Thread-safety: a ``WorkerPool`` is driven from one thread (Ctrl-C is held off while a result is
written, ``held_signals``, only when that thread is the main one).

Size: the pool's life (start, schedule, submit, collect, replace a lost worker, retry, Ctrl-C,
shut down) is one state machine; it stays in one module, with the few helpers its two callers
(``play_runs``, ``RayEpisodes``) share: secrets, lost-run records, replay. What runs on a worker
is in ``worker``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lts_core.config import Settings
from lts_core.record.records import RunRecord
from lts_core.registry import is_simulated

if TYPE_CHECKING:  # the CLI imports this module for its flags: no engine, no Ray until used
    from lts_core.runtime.engine import Engine, RunConfig, RunSummary
    from lts_core.scale.worker import RunOutcome, Warm
    from lts_core.world.tasks import Task

MAX_ATTEMPTS = 2  # a run lost with its worker is retried once
START_TIMEOUT_S = 300  # workers that cannot start by then (no free CPU on the cluster): an error
# Ray's errors that mean the worker (or the node, or the result object) is gone, not that the run
# failed: the run is retried once. Anything else raised by a call is the run's own error.
LOST_WORKER = ("RayActorError", "WorkerCrashedError", "OutOfMemoryError", "NodeDiedError",
               "ObjectLostError")
log = logging.getLogger(__name__)


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


def secret_options(cfg: Any) -> list[str]:
    """Dotted names of the options of a config (a dataclass or a dict) that hold a secret:
    ``lts_core.secrets``' rules (secret-looking names, header values, URL userinfo, secret query
    values, Bearer credentials)."""
    from lts_core.secrets import is_header_name, is_secret_name, secrets_in

    found: list[str] = []

    def walk(obj: Any, path: str, secret: bool) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k),
                     secret or is_header_name(k) or is_secret_name(k))
        elif isinstance(obj, list | tuple):
            for x in obj:
                walk(x, path, secret)
        elif secrets_in(obj, all_values=secret):
            found.append(path)

    walk(dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else cfg, "", False)
    return sorted(set(found))


def refuse_secrets(configs: Iterable[Any]) -> None:
    """Raise ``ConfigError`` (exit 2 under ``lts``) when a config bound for Ray workers holds a
    secret: a job travels through Ray's object store (and its spill files), keys must not. Called
    before Ray starts."""
    from lts_core.registry import ConfigError

    seen: set[int] = set()
    for cfg in configs:
        if id(cfg) in seen:
            continue
        seen.add(id(cfg))
        names = secret_options(cfg)
        if names:
            raise ConfigError(
                f"{', '.join(names)} holds a secret, and with --workers/--ray-address the settings "
                "travel to the Ray workers through Ray's object store: put the key in the "
                "environment instead (the provider's usual variable, e.g. OPENAI_API_KEY, or your "
                "own named by the back-end option {\"api_key_env\": \"MY_KEY\"}); a token in a URL "
                "or a header value cannot be sent either (docs/scale.md)")


_holding = threading.local()


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then reach their handler as usual.

    For a block that must not be cut in half (a run's records replayed, a result taken off the
    in-flight list). Blocking the signal (``pthread_sigmask``) is not enough: another thread (the
    store's writer, Ray's) takes it and Python still raises in the main thread. So the handlers
    are swapped for one that notes the signal. Only in the main thread (handlers live there; other
    threads never get KeyboardInterrupt); nested blocks hold once."""
    if threading.current_thread() is not threading.main_thread() or getattr(_holding, "on", 0):
        yield
        return
    got: list[int] = []
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    old = {s: h for s, h in old.items() if h is not None}  # None: not set from Python, leave it
    for s in old:
        signal.signal(s, lambda n, _f: got.append(n))
    _holding.on = 1
    try:
        yield
    finally:
        _holding.on = 0
        for s, h in old.items():
            signal.signal(s, h)
        for n in got:
            h = old[n]
            if callable(h):
                h(n, None)  # the lts handler or Python's default raise KeyboardInterrupt
            elif h == signal.SIG_DFL:
                if n == signal.SIGINT:
                    raise KeyboardInterrupt
                signal.raise_signal(n)


def replay(store: Any, ops: Iterable[tuple[str, Any]]) -> int:
    """Write a worker's buffered calls through ``store`` in their order; returns how many.

    All or nothing against Ctrl-C and SIGTERM: they are held while the calls are queued (a run must
    not be left half-written, e.g. ``running``) and delivered right after (``held_signals``)."""
    with held_signals():
        n = 0
        for op, rec in ops:
            (store.write if op == "insert" else store.update)(rec)
            n += 1
        return n


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


class Pending:
    """The calls not yet handed out, grouped by affinity key (a run's task): a worker gets the
    calls of the keys it has played before, so its caches (search results per query, embeddings
    in memory, measured 2x on a task's second and third policy) serve them as they do in one
    process. Retries first; then the worker's own keys, then a key no live worker has, then
    (never idle) any call. The order calls are played in does not change what they compute."""

    def __init__(self, keys: list[Any]) -> None:
        self.retries: deque[tuple[int, int]] = deque()
        self.by_key: dict[Any, deque[tuple[int, int]]] = {}  # in order of first appearance
        for i, k in enumerate(keys):
            self.by_key.setdefault(k, deque()).append((i, 1))
        self.home: dict[Any, int] = {}  # key -> id of the worker that played it
        self.n = len(keys)

    def __len__(self) -> int:
        return self.n

    def retry(self, i: int, attempt: int) -> None:
        self.retries.append((i, attempt))
        self.n += 1

    def pop_for(self, worker: int, live: set[int]) -> tuple[int, int]:
        """The next call for worker ``worker`` (an id); ``live``: the ids of the ready workers."""
        self.n -= 1
        if self.retries:
            return self.retries.popleft()
        key = next((k for k in self.by_key if self.home.get(k) == worker), None)
        if key is None:
            key = next((k for k in self.by_key if self.home.get(k) not in live), None)
            if key is not None:
                self.home[key] = worker
        if key is None:
            key = next(iter(self.by_key))
        q = self.by_key[key]
        call = q.popleft()
        if not q:
            del self.by_key[key]
        return call


class WorkerPool:
    """N ``ScaleWorker`` actors on a Ray cluster (a local one unless ``ray_address``).

    Use as a context manager: leaving it (normally, on an error or on Ctrl-C) shuts down the Ray
    connection this pool made, and with it a local cluster's processes. A Ray session that was
    already up when the pool was made (e.g. a test's) is left running. Driven from one thread.
    """

    def __init__(self, opts: ScaleOptions, settings: Settings, warm: Warm | None = None) -> None:
        opts.validate()
        try:
            import ray
        except ImportError:
            raise ScaleError("--workers/--ray-address need Ray: `pip install ray` (a dependency "
                             "of lts-workbench; `make run` installs it)") from None
        self.ray, self.opts, self.settings, self.warm = ray, opts, settings, warm
        self.started = not ray.is_initialized()
        self.actors: list[Any] = []  # ready workers
        self._starting: dict[Any, tuple[Any, float]] = {}  # replacements: probe -> (actor, deadline)
        self._inflight: dict[Any, tuple[int, Any, int]] = {}  # result ref -> (call, actor, attempt)
        self._load: dict[int, int] = {}
        self.start_timeout_s: float = START_TIMEOUT_S
        self.replaced = 0  # workers lost and replaced
        self.given_up: list[str] = []  # why replacements were given up (did not start in time, ...)
        self.fault_hook: Callable[[Any, int, int], None] | None = None  # tests: (actor, job, try)
        try:
            self._start(opts, settings)
        except BaseException:  # Ctrl-C during start-up too: never leave Ray's processes behind
            self.close()
            raise

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
        return self._cls.remote(self.settings, self.warm)

    def _kill(self, actor: Any) -> None:
        try:
            self.ray.kill(actor)
        except Exception:  # already dead, or Ray already down
            pass

    def close(self) -> None:
        for a in [*self.actors, *(a for a, _ in self._starting.values())]:
            self._kill(a)
        self.actors, self._starting = [], {}
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
            on_lost: Callable[[int, int, BaseException], None],
            keys: list[Any] | None = None) -> None:
        """Play every call; ``on_result(i, value)`` as each returns, in finishing order. Calls
        of the same ``keys[i]`` go to the same worker when it is free (``Pending``).

        A call whose worker was lost (``LOST_WORKER``) is retried once on any ready worker;
        ``on_lost(i, attempt, error)`` is told of every lost attempt (attempt ``MAX_ATTEMPTS``:
        given up). A call stays in flight (``inflight()``) until its ``on_result``/``on_lost`` has
        returned, and Ctrl-C waits for that (``held_signals``). ``ScaleError`` when no worker is
        left and none could be started within ``start_timeout_s``. An ordinary exception inside a
        call is raised here, as it would be in the sequential path."""
        from ray import exceptions

        lost_errors = tuple(getattr(exceptions, n) for n in LOST_WORKER if hasattr(exceptions, n))
        ray = self.ray
        pending = Pending(keys if keys is not None else list(range(len(calls))))
        self._load = {id(a): 0 for a in self.actors}
        self._inflight = {}
        while pending or self._inflight:
            self._submit(pending, calls)
            waiting = [*self._inflight, *self._starting]
            if not waiting:
                why = "; ".join(self.given_up[-2:]) or "no worker could be started"
                raise ScaleError(f"every Ray worker was lost and none could be started again "
                                 f"({why}); {len(pending)} run(s) were not played")
            ready, _ = ray.wait(waiting, num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in self._starting:
                    self._started(ref)
                else:
                    self._collect(ref, pending, on_result, on_lost, lost_errors)
            self._give_up_late_starts()

    def _submit(self, pending: Pending, calls: list[Call]) -> None:
        """Hand pending calls to the least-loaded ready workers (retries first)."""
        live = {id(a) for a in self.actors}
        while pending and self.actors:
            actor = min(self.actors, key=lambda a: self._load[id(a)])
            if self._load[id(actor)] >= self.opts.runs_per_worker:
                return
            i, attempt = pending.pop_for(id(actor), live)
            if self.fault_hook:
                self.fault_hook(actor, i, attempt)
            method, args = calls[i]
            self._inflight[getattr(actor, method).remote(*args)] = (i, actor, attempt)
            self._load[id(actor)] += 1

    def _collect(self, ref: Any, pending: Pending,
                 on_result: Callable[[int, Any], None],
                 on_lost: Callable[[int, int, BaseException], None],
                 lost_errors: tuple[type[BaseException], ...]) -> None:
        from ray.exceptions import RayTaskError

        i, actor, attempt = self._inflight[ref]
        try:
            value = self.ray.get(ref)
        except lost_errors as e:
            with held_signals():  # recorded, queued again and off the in-flight list: all or none
                self._replace(actor)
                on_lost(i, attempt, e)
                if attempt < MAX_ATTEMPTS:
                    pending.retry(i, attempt + 1)
                self._done(ref)
            return
        except RayTaskError as e:
            raise e.as_instanceof_cause() from None
        with held_signals():  # written and off the in-flight list: all or none
            on_result(i, value)
            self._done(ref)

    def _done(self, ref: Any) -> None:
        _, actor, _ = self._inflight.pop(ref)
        if any(a is actor for a in self.actors):  # not a lost one
            self._load[id(actor)] -= 1

    def _replace(self, actor: Any) -> None:
        """A lost worker (first news of it) is killed and a replacement started; it takes calls
        once it answers (``_started``)."""
        if not any(a is actor for a in self.actors):
            return
        self.actors = [a for a in self.actors if a is not actor]
        self._kill(actor)
        new = self._new_actor()
        self._starting[new.pid.remote()] = (new, time.monotonic() + self.start_timeout_s)
        self.replaced += 1

    def _started(self, probe: Any) -> None:
        actor, _ = self._starting.pop(probe)
        try:
            self.ray.get(probe)
        except Exception as e:  # it died while starting: given up (no loop of replacements)
            self._kill(actor)
            self.given_up.append(f"a replacement worker failed to start: {type(e).__name__}")
            log.warning("a replacement Ray worker failed to start: %s", e)
            return
        self.actors.append(actor)
        self._load[id(actor)] = 0

    def _give_up_late_starts(self) -> None:
        now = time.monotonic()
        for probe, (actor, deadline) in list(self._starting.items()):
            if now > deadline:
                del self._starting[probe]
                self._kill(actor)
                free = self.ray.available_resources().get("CPU", 0)
                self.given_up.append(f"a replacement worker did not start within "
                                     f"{self.start_timeout_s:g} s; each needs 1 free CPU, the "
                                     f"cluster has {free:g}")
                log.warning("Ray: %s", self.given_up[-1])


RETRIED = "retried on another worker"  # the lost attempt's error until its retry has a run id


def why_lost(e: BaseException, attempt: int) -> str:
    what = f"worker died ({type(e).__name__})"
    return f"{what}; {RETRIED}" if attempt < MAX_ATTEMPTS else \
        f"{what} on the retry too; not retried again"


class LostAttempts:
    """The records of attempts lost with their worker, for one batch played on the pool.

    A lost attempt that is retried is a run row of status ``retried`` (not ``failed``: it is no
    outcome of the batch, and read-model aggregates that count finished/failed runs leave it out);
    once the retry has a run id its error names it ("... retried as run ID"). An attempt lost
    with no retry left is ``failed``. Driven from the pool's thread."""

    def __init__(self, store: Any, suite: str, batch: str) -> None:
        self.store, self.suite, self.batch = store, suite, batch
        self.open: dict[int, RunRecord] = {}  # job -> its retried attempt, not linked yet

    def lost(self, i: int, task: Task, rc: RunConfig, attempt: int,
             e: BaseException) -> RunSummary:
        s = lost_run(task, self.suite, rc, self.batch,
                     "retried" if attempt < MAX_ATTEMPTS else "failed", why_lost(e, attempt))
        self.store.write(s.record)
        self.link(i, s.record.run_id)
        if attempt < MAX_ATTEMPTS:
            self.open[i] = s.record
        return s

    def link(self, i: int, run_id: str) -> None:
        """Job ``i``'s retry is run ``run_id``: the retried attempt's error says so."""
        rec = self.open.pop(i, None)
        if rec is not None:
            rec.error = (rec.error or "").replace(RETRIED, f"retried as run {run_id}")
            self.store.update(rec)

    def unplayed(self, jobs: Iterable[tuple[int, Task, RunConfig]], status: str, why: str) -> None:
        """Record these jobs (in flight, or a retry not yet played) as ``status``: ``interrupted``
        (Ctrl-C), or ``failed`` (the batch ended with a ``ScaleError``)."""
        for i, task, rc in jobs:
            s = lost_run(task, self.suite, rc, self.batch, status, why)
            self.store.write(s.record)
            self.link(i, s.record.run_id)


INTERRUPTED = "interrupted by the user (Ctrl-C) on a Ray worker"


def play_runs(engine: Engine, jobs: list[tuple[Task, RunConfig]], suite: str, batch: str,
              opts: ScaleOptions, progress: Callable[[int, int], None] | None = None,
              pool: WorkerPool | None = None) -> list[RunSummary]:
    """Play ``jobs`` on Ray workers, writing each run's records through ``engine.store`` as it
    returns; the summaries come back in the order of ``jobs`` (the sequential order).

    ``ConfigError`` before Ray starts when a config holds a secret (``refuse_secrets``). A run that
    fails on its worker is recorded ``failed`` and returned like any other; ``progress(done, n)``
    is called as each run is recorded (also the way to count them when Ctrl-C comes). Ctrl-C
    records the runs in flight (and retries not yet played) as ``interrupted`` and raises
    KeyboardInterrupt once Ray is down."""
    refuse_secrets(rc for _, rc in jobs)
    out: list[RunSummary | None] = [None] * len(jobs)
    done = [0]
    store = engine.store
    lost = LostAttempts(store, suite, batch)

    def finished(i: int, s: RunSummary) -> None:
        out[i] = s
        done[0] += 1
        if progress:
            progress(done[0], len(jobs))

    def on_result(i: int, r: RunOutcome) -> None:
        replay(store, r.ops)
        lost.link(i, r.summary.record.run_id)
        finished(i, r.summary)

    def on_lost(i: int, attempt: int, e: BaseException) -> None:
        s = lost.lost(i, *jobs[i], attempt, e)
        if attempt >= MAX_ATTEMPTS:
            finished(i, s)

    from lts_core.scale.worker import RunJob, Warm

    calls = [("play", (RunJob(t.id, suite, rc, batch),)) for t, rc in jobs]
    own = pool is None
    pool = pool or WorkerPool(opts, engine.settings, Warm.of(suite, [rc for _, rc in jobs]))
    try:
        pool.run(calls, on_result, on_lost, keys=[t.id for t, _ in jobs])
    except KeyboardInterrupt:
        left = sorted(set(pool.inflight()) | {i for i in lost.open if out[i] is None})
        lost.unplayed(((i, *jobs[i]) for i in left), "interrupted", INTERRUPTED)
        raise
    except ScaleError as e:  # no worker left: a retry that was never played is a failed run
        left = sorted(i for i in lost.open if out[i] is None)
        lost.unplayed(((i, *jobs[i]) for i in left), "failed", f"its retry could not be played: {e}")
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
