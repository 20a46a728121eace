"""The run queue: one run after another, cancel queued and running jobs, failures explained."""

from __future__ import annotations

import time

from app.state import RunQueue
from lts_core import Engine, RunConfig, Store


def _queue(tmp_path):
    store = Store(tmp_path / "q.duckdb")
    return store, RunQueue(Engine(store))


def test_runs_jobs_in_order_and_records_them(tmp_path):
    store, q = _queue(tmp_path)
    a = q.submit("demo", "demo:01", RunConfig(embedder="hash"), batch_id="bx")
    b = q.submit("demo", "demo:02", RunConfig(embedder="hash", policy="none"), batch_id="bx")
    assert q.wait_idle(60)
    assert (a.status, b.status) == ("finished", "finished")
    store.flush()
    runs = store.query("SELECT run_id, task_id, batch_id FROM runs ORDER BY created_at")
    assert list(runs.task_id) == ["demo:01", "demo:02"]
    assert set(runs.batch_id) == {"bx"}
    assert [a.run_id, b.run_id] == list(runs.run_id)
    store.close()


def test_cancel_queued_and_running(tmp_path):
    store, q = _queue(tmp_path)
    slow = RunConfig(embedder="hash", executor="threads", speed=1.0)
    first = q.submit("demo", "demo:01", slow)
    second = q.submit("demo", "demo:02", slow)
    assert q.cancel(second.job_id)
    assert second.status == "cancelled"
    end = time.monotonic() + 30
    while first.status != "running" and time.monotonic() < end:
        time.sleep(0.02)
    assert q.running_run_id() == first.run_id
    assert q.cancel_run(first.run_id)
    assert q.wait_idle(30)
    assert first.status == "cancelled" and second.run_id is None
    store.flush()
    assert store.query("SELECT status FROM runs").status.tolist() == ["cancelled"]
    assert not q.cancel(first.job_id)  # already over
    store.close()


def test_cancel_before_start_records_nothing(tmp_path):
    store, q = _queue(tmp_path)
    job = q.submit("demo", "demo:01", RunConfig(embedder="hash", executor="threads", speed=1.0))
    q.cancel_all()
    assert q.wait_idle(30)
    assert job.status == "cancelled"
    store.flush()
    assert store.query("SELECT status FROM runs").status.tolist() in ([], ["cancelled"])
    store.close()


def test_a_bad_job_fails_with_a_message(tmp_path):
    store, q = _queue(tmp_path)
    job = q.submit("demo", "no-such-task", RunConfig(embedder="hash"))
    assert q.wait_idle(30)
    assert job.status == "failed" and "no-such-task" in job.error
    store.close()
