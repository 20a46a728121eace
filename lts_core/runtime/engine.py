"""The engine: what a process shares (store, suites, search indexes), and how runs are started.

Use::

    engine = Engine(Store("lts.duckdb"))
    result = engine.run_task(engine.suite("demo").tasks[0], "demo", RunConfig(teams=3, policy="dedup"))
    print(result.record.status, result.record.answer, result.record.runtime_s)

``engine.start(...)`` runs a task in a background thread and returns a ``RunHandle`` (cancel, wait).
One run is a ``Run`` (``lts_core.runtime.run``) configured by a ``RunConfig`` (``lts_core.runtime.run_config``);
both are re-exported here, with ``derive_seed`` and ``ConfigError``, as the runtime's public API.
"""

from __future__ import annotations

import threading

from lts_core.config import Settings
from lts_core.faults import error_detail, error_message
from lts_core.policies import AdmissionPolicy
from lts_core.record.store import Store
from lts_core.runtime.run import Run, RunSummary
from lts_core.runtime.run_config import STOP_RULES, ConfigError, RunConfig
from lts_core.seeds import derive_seed
from lts_core.world.search import SearchIndex
from lts_core.world.tasks import Suite, Task, load_suite


class RunHandle:
    """A run executing in a background thread (``Engine.start``)."""

    def __init__(self, run: Run, thread: threading.Thread) -> None:
        self.run, self.thread = run, thread
        self.error: BaseException | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def cancel(self) -> None:
        self.run.cancel()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


class Engine:
    """Process-wide resources. Thread-safe: ``run_task``/``start`` may be called from any thread."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings.from_env()
        self._suites: dict[str, Suite] = {}
        self._indexes: dict[tuple[str, bool], SearchIndex] = {}
        self._lock = threading.Lock()

    def suite(self, name: str) -> Suite:
        with self._lock:
            if name not in self._suites:
                self._suites[name] = load_suite(name, self.settings.data_dir)
            return self._suites[name]

    def preload(self, suite: Suite, index: SearchIndex | None = None) -> None:
        """Use an already loaded suite (and its pool search index) for runs naming it, instead
        of loading it again: indexes are immutable, so engines may share them."""
        with self._lock:
            self._suites[suite.name] = suite
            if index is not None:
                self._indexes[(suite.name, True)] = index

    def index(self, suite: Suite, *, use_pool: bool = True) -> SearchIndex:
        key = (suite.name, use_pool)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = SearchIndex.for_suite(suite, use_pool=use_pool)
            return self._indexes[key]

    def prepare_run(self, task: Task, suite: str | Suite, config: RunConfig, *,
                    batch_id: str = "", policy: AdmissionPolicy | None = None) -> Run:
        s = self.suite(suite) if isinstance(suite, str) else suite
        return Run(self, task, s, config, batch_id=batch_id, policy=policy)

    def execute(self, run: Run) -> RunSummary:
        """Run to the end on the configured executor; Ctrl-C marks the run interrupted."""
        from lts_core.runtime.executors import get_executor

        run.start()
        executor = get_executor(run.config.executor)
        try:
            t_end = executor.execute(run)
        except KeyboardInterrupt:
            run.cancel()
            run.finalize(0.0, status="interrupted", error="interrupted by the user (Ctrl-C)")
            raise
        except Exception as e:
            run.finalize(0.0, status="failed", error=error_message(e), detail=error_detail(e))
            raise
        run.finalize(t_end)
        return run.summary()

    def run_task(self, task: Task, suite: str | Suite, config: RunConfig, *,
                 batch_id: str = "", policy: AdmissionPolicy | None = None) -> RunSummary:
        return self.execute(self.prepare_run(task, suite, config, batch_id=batch_id, policy=policy))

    def start(self, task: Task, suite: str | Suite, config: RunConfig, *,
              batch_id: str = "") -> RunHandle:
        """Run in a background thread; returns at once with a handle."""
        run = self.prepare_run(task, suite, config, batch_id=batch_id)
        holder: dict[str, RunHandle] = {}

        def target() -> None:
            try:
                self.execute(run)
            except BaseException as e:  # recorded in the run row by execute()
                holder["h"].error = e

        th = threading.Thread(target=target, name=f"lts-run-{run.run_id}", daemon=True)
        h = RunHandle(run, th)
        holder["h"] = h
        th.start()
        return h


__all__ = ["STOP_RULES", "ConfigError", "Engine", "Run", "RunConfig", "RunHandle", "RunSummary",
           "derive_seed"]
