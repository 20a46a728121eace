"""Shared fixtures: a private database per test, the demo suite and its index, a ready Engine.

Every test gets its own ``LTS_DB``/``LTS_CACHE_DIR`` under ``tmp_path`` so no test touches a real
database. Engine tests use the fast ``hash`` embedder (``fast_config``); the real MiniLM model is
loaded only by tests marked ``slow`` (still run by default).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # engine_helpers, whatever the rootdir

from engine_helpers import FIXTURES, fast_config, target  # noqa: E402

from lts_core import Engine, Store, interrupts  # noqa: E402
from lts_core.backends import BACKENDS  # noqa: E402
from lts_core.config import default_data_dir  # noqa: E402
from lts_core.world.search import SearchIndex  # noqa: E402
from lts_core.world.tasks import Suite, load_suite  # noqa: E402


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Each test ends with the signal handlers and the interrupt state it started with: ``lts``'s
    ``main`` called in-process installs its Ctrl-C handler for good (as the command does), and a
    test that sends itself SIGINT must not meet a handler an earlier test left behind."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    interrupts.restore()
    for s, h in handlers.items():
        if h is not None:
            signal.signal(s, h)
    interrupts.reset()


@pytest.fixture(autouse=True)
def _private_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTS_DB", str(tmp_path / "lts.duckdb"))
    monkeypatch.setenv("LTS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def demo_suite() -> Suite:
    return load_suite("demo")


@pytest.fixture(scope="session")
def demo_index(demo_suite: Suite) -> SearchIndex:
    return SearchIndex.for_suite(demo_suite)


@pytest.fixture(scope="session")
def small_tasks_path() -> Path:
    return FIXTURES / "tasks_small.jsonl"


@pytest.fixture(scope="session")
def qa_dir() -> Path:
    """The shared HotpotQA folder; tests that need it are skipped where it is missing."""
    d = default_data_dir()
    if not (d / "hotpotqa_dev.jsonl").is_file():
        pytest.skip(f"no hotpotqa_dev.jsonl in {d}")
    return d


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "engine.duckdb", flush_interval=0.05)
    yield s
    s.close()


@pytest.fixture
def engine(store: Store, demo_suite: Suite, demo_index: SearchIndex) -> Engine:
    """An Engine on the test's store, with the demo suite and its BM25 index already built
    (building the index is the slow part and it is immutable, so tests share one)."""
    eng = Engine(store)
    eng.preload(demo_suite, demo_index)
    return eng


@pytest.fixture
def run_demo(engine: Engine, demo_suite: Suite):
    """``run_demo(task_idx, **config)`` -> RunSummary, with the store flushed."""

    def _run(task_idx: int = 0, **kw):
        s = engine.run_task(demo_suite.tasks[task_idx], demo_suite, fast_config(**kw))
        engine.store.flush()
        return s

    return _run


@pytest.fixture
def register_backend(monkeypatch: pytest.MonkeyPatch):
    """``register_backend(name, cls)``: add a test back-end to the registry for this test only."""

    def _reg(name: str, cls: type) -> str:
        monkeypatch.setitem(BACKENDS, name, target(cls))
        return name

    return _reg
