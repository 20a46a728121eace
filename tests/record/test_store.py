"""The DuckDB store: batched writes, upserts, migration, stale runs, errors, and a kill -9."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from engine_helpers import start_lts_run, wait_for_steps

from lts_core.record.records import (
    TABLES,
    AdmissionRecord,
    LLMCallRecord,
    MemoryEntryRecord,
    MemoryReadRecord,
    RunRecord,
    StepRecord,
    TeamRecord,
    ToolCallRecord,
)
from lts_core.record.schema import column_types, schema_sql
from lts_core.record.store import Store, StoreError


def _run(run_id: str = "r1", status: str = "running") -> RunRecord:
    return RunRecord(run_id, "t1", "demo", "Q?", "A", "sim", "dedup", "virtual", "aggregate", 3, 30,
                     0, True, "{}", status=status, created_at=time.time())


def _step(run_id: str, team: int, step: int) -> StepRecord:
    return StepRecord(run_id, team, step, "search", "q", "u", "o" * step, "s", float(step),
                      step + 1.5, 1.0, 0.5, 10, 2, 0)


def test_schema_follows_the_records() -> None:
    assert column_types(RunRecord)["runtime_s"] == "DOUBLE"
    assert column_types(RunRecord)["simulated"] == "BOOLEAN"
    assert column_types(StepRecord)["entry_id"] == "BIGINT"
    assert len(schema_sql()) == len(TABLES)


def test_every_record_type_round_trips(tmp_path: Path) -> None:
    recs = [
        _run(), TeamRecord("r1", 0), _step("r1", 0, 0),
        AdmissionRecord("r1", 0, 0, "dedup", 0.4, True, 1.5, '{"a": 1}', 0.1, 0),
        MemoryEntryRecord("r1", 0, 0, 0, "search", "key", "value", 1.5),
        MemoryReadRecord("r1", 0, 0, 1, 2, 3.0, 5, 0.7, True),
        ToolCallRecord("r1", 0, 0, "search", "q", True, 9.5, 1.2, 300),
        LLMCallRecord("r1", 0, 0, "orchestrate", "sim", 100, 10, 4.1),
    ]
    with Store(tmp_path / "a.duckdb") as s:
        for r in recs:
            s.write(r)
        s.flush()
        assert s.rows_written == len(recs)
        for r in recs:
            table = next(t for t, c in TABLES.items() if c is type(r))
            cur = s.cursor()
            rows = cur.execute(f"SELECT * FROM {table}").fetchall()
            assert len(rows) == 1
            got = dict(zip([d[0] for d in cur.description], rows[0], strict=True))
            cur.close()
            for k, v in dataclasses.asdict(r).items():
                assert got[k] == pytest.approx(v) if isinstance(v, float) else got[k] == v, (table, k)


def test_update_changes_the_row_or_inserts_it(tmp_path: Path) -> None:
    with Store(tmp_path / "u.duckdb") as s:
        r = _run()
        s.write(r)
        s.flush()
        r.status, r.answer, r.runtime_s = "finished", "A", 12.5
        s.update(r)
        s.update(TeamRecord("r1", 2, status="answered", answer="A"))  # never inserted: upsert
        s.flush()
        assert s.query("SELECT status, answer, runtime_s FROM runs").values.tolist() == [
            ["finished", "A", 12.5]]
        assert s.scalar("SELECT count(*) FROM runs") == 1
        assert s.query("SELECT team_idx, status FROM teams").values.tolist() == [[2, "answered"]]


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "c.duckdb", batch_size=50) as s:
        def writer(team: int) -> None:
            for i in range(200):
                s.write(_step("r1", team, i))

        ths = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
        for th in ths:
            th.start()
        reader = s.cursor()  # reads while the writer commits
        for th in ths:
            th.join()
        s.flush()
        assert s.scalar("SELECT count(*) FROM steps") == 1600
        assert s.scalar("SELECT count(DISTINCT (team_idx, step_idx)) FROM steps") == 1600
        assert reader.execute("SELECT count(*) FROM steps").fetchone()[0] == 1600
        reader.close()


def test_open_marks_stale_running_runs_interrupted(tmp_path: Path) -> None:
    p = tmp_path / "stale.duckdb"
    with Store(p) as s:
        s.write(_run("a", "running"))
        s.write(_run("b", "finished"))
        s.write(TeamRecord("a", 0))
        s.flush()
    with Store(p) as s:
        assert s.interrupted_on_open == 1
        df = s.query("SELECT run_id, status, error FROM runs ORDER BY run_id")
        assert df.status.tolist() == ["interrupted", "finished"]
        assert "stopped before it finished" in df.error[0]
        assert s.scalar("SELECT status FROM teams") == "interrupted"
    with Store(p) as s:
        assert s.interrupted_on_open == 0


def test_open_adds_missing_columns(tmp_path: Path) -> None:
    """An older file whose runs table lacks newer columns gets them on open, rows kept."""
    p = tmp_path / "old.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE runs (run_id VARCHAR, task_id VARCHAR, status VARCHAR)")
    con.execute("INSERT INTO runs VALUES ('old1', 't', 'finished')")
    con.close()
    with Store(p) as s:
        cols = set(s.query("SELECT * FROM runs").columns)
        assert set(column_types(RunRecord)) <= cols
        assert s.cursor().execute("SELECT run_id, status, cost_usd FROM runs").fetchall() == [
            ("old1", "finished", None)]
        s.write(_run("new1", "finished"))
        s.flush()
        assert s.scalar("SELECT count(*) FROM runs") == 2


def test_a_field_its_column_cannot_hold_fails_on_the_callers_thread(tmp_path: Path) -> None:
    with Store(tmp_path / "t.duckdb") as s:
        bad = _step("r1", 0, 0)
        bad.step_idx = "not a number"  # type: ignore[assignment]
        with pytest.raises(TypeError, match="StepRecord.step_idx is a BIGINT column; got str"):
            s.write(bad)
        s.write(_step("r1", 0, 1))  # the writer is unharmed
        s.flush()
        assert s.scalar("SELECT count(*) FROM steps") == 1 and s.state.value == "open"


def test_a_failed_batch_keeps_its_good_rows_and_the_error_surfaces(tmp_path: Path) -> None:
    with Store(tmp_path / "e.duckdb", flush_interval=5) as s:
        bad = _step("r1", 0, 0)
        bad.step_idx = 2**70  # an int, but too big for BIGINT: only DuckDB can refuse it
        s.write(_step("r1", 0, 1))
        s.write(bad)
        s.write(_step("r1", 0, 2))
        with pytest.raises(StoreError, match="writer failed"):
            s.flush()
        assert s.state.value == "failed"
        assert sorted(s.query("SELECT step_idx FROM steps").step_idx) == [1, 2]
        with pytest.raises(StoreError, match="writer failed"):
            s.write(_step("r1", 0, 3))


def test_read_only_and_closed_stores_refuse_writes(tmp_path: Path) -> None:
    p = tmp_path / "ro.duckdb"
    s = Store(p)
    s.write(_run())
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.write(_run("r2"))
    s.flush()  # a no-op once closed, never a 30 s wait
    ro = Store(p, read_only=True)
    try:
        assert ro.scalar("SELECT count(*) FROM runs") == 1
        with pytest.raises(StoreError, match="read-only"):
            ro.write(_run("r3"))
    finally:
        ro.close()


def test_file_held_by_another_process(tmp_path: Path) -> None:
    p = tmp_path / "held.duckdb"
    Store(p).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys,time; c=duckdb.connect({str(p)!r}); "
         "print('ok', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError, match="Another process"):
            Store(p)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_killed_run_keeps_its_rows(tmp_path: Path) -> None:
    """kill -9 during `lts run`: committed rows survive, the run reads as interrupted, the file opens."""
    db = tmp_path / "killed.duckdb"
    proc = start_lts_run(db, "--suite", "demo", "--limit", "1", "--policy", "dedup",
                         "--executor", "threads", "--speed", "4", "-q")
    try:
        seen = wait_for_steps(proc, db, 4)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(db) as s:
        assert s.interrupted_on_open == 1
        run = s.query("SELECT * FROM runs").iloc[0]
        assert run.status == "interrupted" and "stopped before it finished" in run.error
        n_steps = s.scalar("SELECT count(*) FROM steps")
        assert n_steps >= seen
        assert s.scalar("SELECT count(*) FROM teams") == 3
        assert s.scalar("SELECT count(*) FROM admissions") > 0
        assert s.scalar("SELECT count(*) FROM teams WHERE status = 'running'") == 0
        for table in TABLES:  # every table reads back whole
            s.query(f"SELECT * FROM {table}")
        s.write(_run("after", "finished"))  # and the file takes new writes
        s.flush()
    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM runs") == 2
        assert s.scalar("SELECT count(*) FROM steps") == n_steps


def test_a_row_is_what_the_record_was_when_written(tmp_path: Path) -> None:
    """The engine changes records after writing them (a run's tokens, a team's status): the row
    is built at write() time, so a later change reaches the file only through update()."""
    with Store(tmp_path / "w.duckdb") as s:
        run = _run()
        s.write(run)
        run.status, run.answer = "finished", "changed after write"
        s.flush()
        row = s.query("SELECT status, answer FROM runs").iloc[0]
        assert (row.status, row.answer) == ("running", None)
        s.update(run)
        s.flush()
        assert s.scalar("SELECT answer FROM runs") == "changed after write"


def test_a_value_that_is_not_a_record_fails_on_the_callers_thread(tmp_path: Path) -> None:
    with Store(tmp_path / "n.duckdb") as s:
        with pytest.raises(TypeError, match="cannot store a dict: records are the dataclasses"):
            s.write({"run_id": "r1"})
        with pytest.raises(TypeError, match="StepRecord rows are never updated"):
            s.update(_step("r1", 0, 0))
        s.write(_run())  # the writer is unharmed: later writes still land
        s.flush()
        assert s.scalar("SELECT count(*) FROM runs") == 1
        assert s.state.value == "open"
    assert s.state.value == "closed"
