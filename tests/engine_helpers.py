"""Helpers for the engine tests: scripted and failing back-ends, table dumps, `lts` subprocesses.

The back-ends here are registered in ``lts_core.backends.BACKENDS`` by the ``register_backend``
fixture of ``conftest.py`` (the registry imports ``module:Class`` by name, so they live in a module).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from lts_core.backends.base import Action, Backend, LLMUsage, TeamView, ToolOutput
from lts_core.backends.sim import SimBackend
from lts_core.runtime.engine import RunConfig

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# ------------------------------------------------------------------------------ back-ends
class ScriptedAgent:
    """Plays a fixed list of steps: ``"plan"``, ``"search:QUERY"``, ``"open:TITLE"``,
    ``"memory_read:ID"`` or ``"answer:TEXT"``; each orchestrator call takes ``seconds``."""

    def __init__(self, script: list[str], seconds: float) -> None:
        self.script, self.seconds, self.i = script, seconds, 0

    def decide(self, view: TeamView) -> tuple[Action, list[LLMUsage]]:
        kind, _, arg = self.script[min(self.i, len(self.script) - 1)].partition(":")
        self.i += 1
        ids = (int(arg),) if kind == "memory_read" else ()
        return (Action(kind, arg, f"step {self.i}: {kind} {arg}", entry_ids=ids),
                [LLMUsage("orchestrate", 100, 10, self.seconds)])

    def observe(self, action: Action, output: ToolOutput, view: TeamView) -> None:
        pass

    def summarize(self, action: Action, output: ToolOutput) -> tuple[str, LLMUsage | None]:
        return f"The team ran {action.kind} {action.arg}.", LLMUsage("summarize", 40, 8, 0.5)


class ScriptedBackend(Backend):
    """``scripts[i]`` is team i's script (the last one repeats for extra teams); ``seconds[i]`` its
    orchestrator latency. ``fail_aggregate`` makes the aggregator raise."""

    name = "scripted"
    simulated = True

    def __init__(self, scripts: list[list[str]] | None = None, seconds: list[float] | None = None,
                 fail_aggregate: bool = False) -> None:
        self.scripts = scripts or [["plan", "answer:x"]]
        self.seconds = seconds or [1.0]
        self.fail_aggregate = fail_aggregate

    def make_agent(self, task, team_idx, rng, ctx) -> ScriptedAgent:
        script = self.scripts[min(team_idx, len(self.scripts) - 1)]
        return ScriptedAgent(list(script), self.seconds[min(team_idx, len(self.seconds) - 1)])

    def aggregate(self, task, answers, rng):
        if self.fail_aggregate:
            raise ConnectionError("aggregator unreachable")
        return super().aggregate(task, answers, rng)


class WaitingAgent(ScriptedAgent):
    """A ``ScriptedAgent`` whose calls are real: each waits ``seconds`` of wall time (a model
    server), and its usages say so (``real=True``); summaries are free."""

    def decide(self, view: TeamView) -> tuple[Action, list[LLMUsage]]:
        time.sleep(self.seconds)
        action, usages = super().decide(view)
        for u in usages:
            u.real = True
        return action, usages

    def summarize(self, action: Action, output: ToolOutput) -> tuple[str, LLMUsage | None]:
        return f"The team ran {action.kind} {action.arg}.", None


class WaitingBackend(ScriptedBackend):
    """``ScriptedBackend`` with ``WaitingAgent``s: a stand-in for a model server (not simulated)."""

    name = "waiting"
    simulated = False

    def make_agent(self, task, team_idx, rng, ctx) -> WaitingAgent:
        script = self.scripts[min(team_idx, len(self.scripts) - 1)]
        return WaitingAgent(list(script), self.seconds[min(team_idx, len(self.seconds) - 1)])


class _FailingAgent:
    def __init__(self, inner: Any, fail_at: int, where: str) -> None:
        self.inner, self.fail_at, self.where, self.calls = inner, fail_at, where, 0

    def decide(self, view: TeamView):
        if self.where == "decide" and view.step_idx >= self.fail_at:
            raise RuntimeError(f"injected failure in team {view.team_idx} at step {view.step_idx}")
        return self.inner.decide(view)

    def observe(self, action, output, view) -> None:
        self.inner.observe(action, output, view)

    def summarize(self, action, output):
        self.calls += 1
        if self.where == "summarize" and self.calls > self.fail_at:
            raise ValueError("injected summarizer failure")
        return self.inner.summarize(action, output)

    def payload(self, action, output):
        return self.inner.payload(action, output)


class FlakyBackend(SimBackend):
    """The sim back-end, except that the agents of ``fail_teams`` raise from step ``fail_at``."""

    name = "flaky"

    def __init__(self, fail_teams: list[int] | None = None, fail_at: int = 2,
                 where: str = "decide", **params: Any) -> None:
        super().__init__(**params)
        self.fail_teams = set(fail_teams if fail_teams is not None else [1])
        self.fail_at, self.where = fail_at, where

    def make_agent(self, task, team_idx, rng, ctx):
        agent = super().make_agent(task, team_idx, rng, ctx)
        if team_idx in self.fail_teams:
            return _FailingAgent(agent, self.fail_at, self.where)
        return agent


def fast_config(**kw: Any) -> RunConfig:
    """A RunConfig on the fake hash embedder (no model load)."""
    kw.setdefault("embedder", "hash")
    return RunConfig(**kw)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run MiniLM on one intra-op thread (restored after): on a small shared CPU torch's default
    threads make each one-text encode many times slower (see benchmarks/engine_bench.py)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def target(cls: type) -> str:
    """The registry string of a class (``module:Class``)."""
    return f"{cls.__module__}:{cls.__name__}"


# ------------------------------------------------------------------------------ records
# Columns that hold real (wall-clock) time or ids, which differ between two identical runs.
VOLATILE = {"run_id", "batch_id", "created_at", "finished_at", "wall_s", "compute_ms", "decide_ms"}


def table_rows(store, table: str, run_id: str, drop: set[str] = VOLATILE) -> list[dict]:
    """Rows of ``table`` for one run, without the volatile columns, in a stable order."""
    df = store.query(f"SELECT * FROM {table} WHERE run_id = ?", [run_id])
    df = df.drop(columns=[c for c in df.columns if c in drop])
    recs = df.astype(object).where(df.notna(), None).to_dict("records")
    return sorted(recs, key=lambda r: repr(sorted(r.items())))


# ------------------------------------------------------------------------------ `lts` processes
def lts_command() -> list[str]:
    exe = Path(sys.executable).parent / "lts"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lts_core.cli.main"]


def start_lts_run(db: Path, *args: str, **popen: Any) -> subprocess.Popen:
    """``lts run ARGS`` in a subprocess with its own database (``popen``: extra Popen options)."""
    # one OpenMP thread: MiniLM's one-text encodes are far slower with more on a busy small CPU
    env = {"OMP_NUM_THREADS": "1", **os.environ, "LTS_DB": str(db), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([*lts_command(), "run", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def peek_count(db: Path, sql: str) -> int | None:
    """Run ``sql`` on a copy of a database another process holds (DuckDB locks the file)."""
    with tempfile.TemporaryDirectory() as d:
        try:
            shutil.copy(db, Path(d) / "peek.duckdb")
            wal = Path(str(db) + ".wal")
            if wal.exists():
                shutil.copy(wal, Path(d) / "peek.duckdb.wal")
            con = duckdb.connect(str(Path(d) / "peek.duckdb"), read_only=True)
            try:
                return int(con.execute(sql).fetchone()[0])
            finally:
                con.close()
        except (OSError, duckdb.Error):
            return None  # the file was mid-write or not there yet: try again


def wait_for_steps(proc: subprocess.Popen, db: Path, n: int, timeout: float = 90.0) -> int:
    """Poll until ``n`` steps are committed in ``db``; returns the count seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"lts run ended early (rc {proc.returncode}):\n{out}\n{err}")
        seen = peek_count(db, "SELECT count(*) FROM steps") if db.exists() else None
        if seen is not None and seen >= n:
            return seen
        time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"no {n} steps in {db} within {timeout} s")

