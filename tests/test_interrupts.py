"""Ctrl-C and SIGTERM end an ``lts run`` batch at once (issue 9, section 3): exit 130 (both), one line
on stderr and no traceback, the run in progress recorded ``interrupted`` by the process itself, the
finished runs kept, no team recorded as failed. Real processes and real signals; each test waits for
a known point (a line on stderr, or rows in the database) before signalling, so a loaded machine only
makes them slower."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from engine_helpers import peek_count
from interrupt_helpers import MARK, Lts

from lts_core import Store, interrupts

BATCH = ("run", "--suite", "demo", "--policy", "none,dedup", "--seeds", "0,1,2",
         "--executor", "virtual", "-q")
EXIT_WITHIN_S = 4.0  # the work after a signal takes ~0.4 s; the rest is slack for a loaded machine


def test_the_flag_outlives_a_swallowed_interrupt() -> None:
    """In-process: the first signal stops the registered run and raises; a library may swallow that
    exception, but check() raises it again; later signals do not cut the clean-up short."""

    class FakeRun:
        stopped = False

    run = FakeRun()
    interrupts.install()
    try:
        with interrupts.stopping(run):
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGTERM)
            assert run.stopped and interrupts.requested() == signal.SIGTERM
            signal.raise_signal(signal.SIGINT)  # a second signal: counted, nothing raised
            with pytest.raises(KeyboardInterrupt):
                interrupts.check()
        assert interrupts.exit_code() == 130 and interrupts.name() == "SIGTERM"
    finally:
        interrupts.restore()
    assert interrupts.requested() is None
    interrupts.check()  # forgotten after restore: later engine use in this process runs normally


def _state(db: Path) -> tuple[list[tuple[str, str | None, str]], set[str]]:
    """(status, error, run_id) of every run, oldest first, and the set of team statuses."""
    with Store(db, read_only=True) as s:  # read-only: nothing is marked on open
        runs = s.query("SELECT status, error, run_id FROM runs ORDER BY created_at")
        teams = set(s.query("SELECT DISTINCT status FROM teams").status)
    return list(runs.itertuples(index=False, name=None)), teams


def _wait_for_runs(lts: Lts, db: Path, n: int, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert lts.proc.poll() is None, f"lts ended early:\n{lts.stderr}"
        seen = peek_count(db, "SELECT count(*) FROM runs") if db.exists() else None
        if seen is not None and seen >= n:
            return
        time.sleep(0.2)
    lts.kill()
    raise AssertionError(f"no {n} runs in {db} within {timeout} s")


@pytest.mark.slow
def test_ctrl_c_inside_a_duckdb_query_ends_the_batch(tmp_path: Path) -> None:
    """DuckDB turns the interrupt into `RuntimeError: Query interrupted`; it used to be recorded as
    the team's error while the batch went on. Now the batch ends and the run is interrupted."""
    db = tmp_path / "q.duckdb"
    lts = Lts(db, *BATCH, "--backend", "slowquery", "--teams", "2")
    try:
        lts.wait_for(MARK)
        took = lts.signal_and_wait(signal.SIGINT)
    finally:
        lts.kill()
    assert lts.proc.returncode == 130, lts.stderr
    assert "Traceback" not in lts.stderr and "interrupted (Ctrl-C)" in lts.stderr
    assert took < EXIT_WITHIN_S, took
    runs, teams = _state(db)
    assert [r[0] for r in runs] == ["interrupted"]
    assert teams == {"cancelled"}  # not 'error': an interrupt is no team failure


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"),
                                                   (signal.SIGTERM, 130, "SIGTERM")])
def test_signal_ends_a_virtual_batch(tmp_path: Path, sig: int, code: int, name: str) -> None:
    db = tmp_path / "b.duckdb"
    lts = Lts(db, *BATCH, plain=True)
    try:
        _wait_for_runs(lts, db, 3)
        took = lts.signal_and_wait(sig)
    finally:
        lts.kill()
    assert lts.proc.returncode == code, lts.stderr
    assert took < EXIT_WITHIN_S, took
    assert "Traceback" not in lts.stderr
    last = lts.stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted ({name}): ")
    runs, teams = _state(db)
    statuses = [r[0] for r in runs]
    assert 3 <= len(runs) < 96 and "error" not in teams and "running" not in teams
    if statuses[-1] == "interrupted":  # the signal came during a run
        assert f"run {runs[-1][2]} is recorded as interrupted" in last and name in runs[-1][1]
        statuses.pop()
    else:  # between two runs (while the next one was being prepared)
        assert "no run was in progress" in last
    assert set(statuses) == {"finished"}  # every run before it kept


@pytest.mark.slow
def test_ctrl_c_while_the_search_index_is_built(tmp_path: Path) -> None:
    db = tmp_path / "i.duckdb"
    lts = Lts(db, "run", "--suite", "demo", "--teams", "1", "-q", slow_index=True)
    try:
        lts.wait_for(MARK)
        took = lts.signal_and_wait(signal.SIGINT)
    finally:
        lts.kill()
    assert lts.proc.returncode == 130, lts.stderr
    assert took < EXIT_WITHIN_S, took
    assert "Traceback" not in lts.stderr and "interrupted (Ctrl-C)" in lts.stderr
    assert _state(db) == ([], set())  # no run had started


@pytest.mark.slow
def test_ctrl_c_during_the_imports(tmp_path: Path) -> None:
    """`-X importtime` reports each import as it ends: signal while pandas is being imported."""
    db = tmp_path / "m.duckdb"
    lts = Lts(db, "run", "--suite", "demo", "-q", plain=True, python_flags=("-X", "importtime"))
    try:
        lts.wait_for("pandas.core")
        lts.signal_and_wait(signal.SIGINT)
    finally:
        lts.kill()
    assert lts.proc.returncode == 130, lts.stderr[-3000:]
    assert "Traceback" not in lts.stderr and "interrupted (Ctrl-C)" in lts.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_with_threads_on_a_stalled_model(tmp_path: Path, sig: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The `threads` executor with every model call stalled: the signal used to leave the team
    threads writing their cancelled calls into the closed store (`Exception in thread lts-team-0
    ... StoreError: the store is closed`). Now they are joined first: no traceback, the calls kept."""
    from llm_fakes import FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    db = tmp_path / "t.duckdb"
    with FakeOpenAIServer() as srv:
        srv.script = [(200, None, 60.0)] * 50  # every call stalls for a minute
        lts = Lts(db, "run", "--suite", "demo", "--limit", "2", "--teams", "3", "--policy", "none",
                  "--backend", "openai/m", "--api-base", srv.url, "--executor", "threads", "-q",
                  plain=True)
        try:
            deadline = time.monotonic() + 180
            while len(srv.requests) < 3 and time.monotonic() < deadline:  # every team in a call
                assert lts.proc.poll() is None, lts.stderr
                time.sleep(0.1)
            took = lts.signal_and_wait(sig)
        finally:
            lts.kill()
    assert lts.proc.returncode == 130, lts.stderr
    assert "Traceback" not in lts.stderr and "Exception in thread" not in lts.stderr, lts.stderr
    assert took < EXIT_WITHIN_S + 2, took
    assert f"interrupted ({interrupts.NAMES[sig]})" in lts.stderr
    runs, teams = _state(db)
    assert [r[0] for r in runs] == ["interrupted"] and teams == {"cancelled"}
    with Store(db, read_only=True) as s:  # each team's abandoned call is recorded, not lost
        calls = s.query("SELECT team_idx, ok FROM llm_calls")
    assert sorted(calls.team_idx) == [0, 1, 2] and not calls.ok.any()
