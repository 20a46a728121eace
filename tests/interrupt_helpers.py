"""For the interrupt tests: an ``lts`` process whose step (or search-index build) sits inside a long
DuckDB query when the signal comes. DuckDB turns the KeyboardInterrupt raised there into
``RuntimeError: Query interrupted``, the case that used to be swallowed by a team's error handler.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

from lts_core.backends.sim import SimBackend

MARK = "LTS-TEST: inside a DuckDB query"
REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def slow_query() -> None:
    """A DuckDB query of minutes that checks for interrupts (one thread, so it is slow anywhere)."""
    print(MARK, file=sys.stderr, flush=True)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("SELECT sum(hash(i)) FROM range(100000000000) t(i)").fetchall()


class _SlowAgent:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def decide(self, view):
        slow_query()
        return self.inner.decide(view)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class SlowQueryBackend(SimBackend):
    """The sim back-end; every orchestrator call first runs ``slow_query``."""

    name = "slowquery"

    def make_agent(self, task, team_idx, rng, ctx):
        return _SlowAgent(super().make_agent(task, team_idx, rng, ctx))


_LAUNCH = """
import sys
sys.path.insert(0, {tests!r})
from lts_core.backends import BACKENDS
BACKENDS["slowquery"] = "interrupt_helpers:SlowQueryBackend"
if {slow_index!r}:
    import interrupt_helpers
    from lts_core.world.search import SearchIndex
    build = SearchIndex.for_suite.__func__
    def for_suite(cls, suite, **kw):
        interrupt_helpers.slow_query()
        return build(cls, suite, **kw)
    SearchIndex.for_suite = classmethod(for_suite)
from lts_core.cli.main import main
main()
"""


class Lts:
    """``lts --db DB ARGS`` as a real process (the ``slowquery`` back-end registered, unless
    ``plain``; with ``slow_index`` the search-index build first runs ``slow_query``); stderr is read
    as it comes."""

    def __init__(self, db: Path, *args: str, slow_index: bool = False, plain: bool = False,
                 python_flags: tuple[str, ...] = (), **popen: Any) -> None:
        code = _LAUNCH.format(tests=str(TESTS), slow_index=slow_index)
        how = ["-m", "lts_core.cli.main"] if plain else ["-c", code]  # plain: just the `lts` command
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, *python_flags, *how, "--db", str(db), *args], env=env, cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, needle: str, timeout: float = 180.0) -> None:
        """Until a stderr line holds ``needle`` (fails if the process ends first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in ln for ln in list(self.lines)):
                return
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"lts ended (rc {self.proc.returncode}) before {needle!r}:\n"
                                     + "".join(self.lines))
            time.sleep(0.02)
        self.kill()
        raise AssertionError(f"no {needle!r} within {timeout} s:\n" + "".join(self.lines))

    def signal_and_wait(self, sig: int, timeout: float = 30.0) -> float:
        """Send ``sig``; returns the seconds until the process ended (fails after ``timeout``)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {timeout} s after the signal:\n"
                                 + "".join(self.lines)[-3000:]) from None
        took = time.monotonic() - t0
        self._reader.join(10)
        return took

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
