"""Scale-out on Ray (lts_core.scale.pool): the same figures and rows as the sequential path, a dead
worker's run retried, Ctrl-C leaving no Ray process, and training writing the same weights.

Light on purpose: a local Ray cluster with 2 CPUs started once for the module (and shut down at its
end), the demo suite, K=2, the hash embedder, the virtual executor and the simulator."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from lts_core.evaluation.bench import BenchConfig, run_bench
from lts_core.learning.train import TrainConfig, train
from lts_core.policies.controller import ControllerConfig
from lts_core.scale.pool import ScaleOptions, WorkerPool, play_runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import REPO, fast_config  # noqa: E402

ray = pytest.importorskip("ray")

FIGURES = ["policy", "K", "seed", "task_id", "level", "status", "em", "f1", "runtime_s",
           "decisions", "admitted", "entries", "entries_read", "reads", "cross_reads", "tokens",
           "wrong_entries"]
TABLES = ["runs", "teams", "steps", "admissions", "memory_entries", "memory_reads", "tool_calls",
          "llm_calls"]


def _processes_with(marker: str, title: str = "") -> list[int]:
    """Pids of live processes whose environment holds ``LTS_TEST_MARK=marker`` (and whose command
    line starts with ``title``): the driver and every process Ray started for it inherit it."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            env = (p / "environ").read_bytes()
            cmd = (p / "cmdline").read_bytes().decode(errors="replace")
            state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (f"LTS_TEST_MARK={marker}".encode() in env.split(b"\0") and state != "Z"
                and cmd.startswith(title)):
            out.append(int(p.name))
    return out


def test_ctrl_c_stops_every_worker_and_leaves_no_ray_process(tmp_path):
    """Runs first, before this module's own cluster: a bench with 2 workers in a child process,
    Ctrl-C to its process group (as a terminal sends it), then no process of its session remains."""
    marker = uuid.uuid4().hex
    ray_tmp = tempfile.mkdtemp(prefix="lts-ray-")
    env = {**os.environ, "LTS_TEST_MARK": marker, "LTS_RAY_TMPDIR": ray_tmp,
           "LTS_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "lts_core.cli.main", "--db", str(tmp_path / "c.duckdb"), "bench",
           "--suite", "demo", "--policies", "none,all,dedup", "-k", "2,3,5", "--seeds", "0,1,2",
           "--embedder", "hash", "--workers", "2", "--out", str(tmp_path / "out")]
    p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    err = bytearray()

    def read() -> None:
        while chunk := p.stderr.read1(4096):
            err.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.time() + 90
        while time.time() < deadline and p.poll() is None:  # the progress bar: runs came back
            if re.search(rb"\| *[1-9][0-9]*/[0-9]+ ", bytes(err)):
                break
            time.sleep(0.3)
        assert p.poll() is None, bytes(err).decode()[-2000:]
        os.killpg(p.pid, signal.SIGINT)
        p.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    text = bytes(err).decode(errors="replace")
    assert p.returncode == 130, text[-2000:]
    assert "interrupted" in text
    deadline = time.time() + 20
    while _processes_with(marker) and time.time() < deadline:
        time.sleep(0.5)
    assert _processes_with(marker) == []
    from lts_core.record.store import Store

    with Store(tmp_path / "c.duckdb", read_only=True) as s:  # what finished is recorded
        st = s.query("SELECT status, count(*) n FROM runs GROUP BY status")
    assert set(st.status) <= {"finished", "interrupted"}
    assert "interrupted" in set(st.status)  # the runs in flight on the workers


@pytest.fixture(scope="module")
def ray_session():
    """One local cluster (2 CPUs) for the module; every WorkerPool below joins it."""
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tempfile.mkdtemp(prefix="lts-ray-"),
             logging_level="WARNING")
    yield
    ray.shutdown()


def _bench(engine, **kw):
    cfg = BenchConfig(suite="demo", policies=["none", "dedup"], ks=[2], seeds=[0, 1], limit=2,
                      embedder="hash", **kw)
    return run_bench(engine, cfg)


def _rows_per_table(store, batch: str) -> dict[str, int]:
    return {t: int(store.scalar(f"SELECT count(*) FROM {t} WHERE run_id IN "
                                "(SELECT run_id FROM runs WHERE batch_id = ?)", [batch]))
            for t in TABLES}


def test_two_workers_give_the_sequential_figures_and_rows(engine, ray_session):
    seq = _bench(engine)
    par = _bench(engine, workers=2)
    engine.store.flush()
    assert len(seq.runs) == 12 and (seq.runs.status == "finished").all()
    assert seq.runs[FIGURES].equals(par.runs[FIGURES])  # run for run, in the sequential order
    timed = ["ctrl_%", "ctrl_%_std"]  # real decision time over real wall time: never identical
    assert seq.summary.drop(columns=timed).equals(par.summary.drop(columns=timed))
    assert _rows_per_table(engine.store, seq.batch_id) == _rows_per_table(engine.store, par.batch_id)
    assert par.runs.run_id.str.fullmatch(r"[0-9a-f]{12}").all()  # the engine's run-id scheme
    assert set(par.runs.run_id).isdisjoint(seq.runs.run_id)


def test_several_runs_per_worker_give_the_same_figures(engine, ray_session):
    """``runs_per_worker``: a worker plays several runs at once, in threads (for back-ends that
    wait on a model); the figures are still the sequential ones, run for run."""
    seq = _bench(engine)
    par = _bench(engine, workers=2, runs_per_worker=3)
    assert seq.runs[FIGURES].equals(par.runs[FIGURES])


def _killing(pool: WorkerPool, doomed: dict[int, set[int]]) -> None:
    """Make the worker that receives job i on attempt a die first, for a in doomed[i]."""
    def hook(actor, i: int, attempt: int) -> None:
        if attempt in doomed.get(i, set()):
            actor.die.remote()  # runs before the job on that worker: it dies holding the job

    pool.fault_hook = hook


def test_a_dead_workers_run_is_retried_once_and_recorded(engine, demo_suite, ray_session):
    """Job 1's worker dies once: retried on a new worker, same figures. Job 0's dies on the retry
    too: recorded failed, and the batch goes on. Every lost attempt is a ``failed`` run row."""
    jobs = [(demo_suite.tasks[i], fast_config(teams=2, policy="dedup", seed=0)) for i in range(3)]
    expected = [engine.run_task(t, demo_suite, rc).record.runtime_s for t, rc in jobs]
    with WorkerPool(ScaleOptions(workers=2), engine.settings) as pool:
        _killing(pool, {0: {1, 2}, 1: {1}})
        out = play_runs(engine, jobs, "demo", "b-retry", pool.opts, pool=pool)
        assert pool.replaced == 3
    engine.store.flush()
    assert [s.record.status for s in out] == ["failed", "finished", "finished"]
    assert "not retried again" in out[0].record.error
    assert [s.record.runtime_s for s in out[1:]] == expected[1:]  # the retry plays the same run
    lost = engine.store.query("SELECT task_id, error FROM runs WHERE batch_id = 'b-retry' AND "
                              "status = 'failed' ORDER BY created_at")
    assert sorted(lost.task_id) == sorted([jobs[0][0].id, jobs[0][0].id, jobs[1][0].id])
    assert lost.error.str.contains("worker died").all()
    assert lost.error.str.endswith("retried on another worker").sum() == 2


def test_training_with_two_workers_writes_the_weights_of_one(engine, tmp_path, ray_session):
    def cfg(workers: int) -> TrainConfig:
        return TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, batch_tasks=2, teams=2,
                           embedder="hash", controller=ControllerConfig(width=32, heads=2, ff=32,
                                                                        layers=1),
                           workers=workers)

    one = train(engine, cfg(1), out=tmp_path / "one.pt")
    two = train(engine, cfg(2), out=tmp_path / "two.pt")
    engine.store.flush()
    assert one.epochs[0].loss != 0.0  # a gradient step was taken
    assert two.weights_sha == one.weights_sha
    for r in (one, two):
        n = engine.store.scalar("SELECT count(*) FROM runs WHERE batch_id = ?",
                                [f"train-{r.train_id}"])
        assert n == 4


def test_calibration_with_two_workers_gives_the_curve_of_one(engine, tmp_path, ray_session,
                                                             monkeypatch):
    import dataclasses

    from lts_core.learning import calibrate
    from lts_core.learning.calibrate import calibrate_checkpoint

    used = []
    monkeypatch.setattr(calibrate, "play_runs", lambda *a, **k: used.append(a[4]) or play_runs(*a, **k))

    cfg = TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, teams=2, embedder="hash",
                      controller=ControllerConfig(width=32, heads=2, ff=32, layers=1),
                      val_tasks="10:13", val_seeds=[0, 1], thresholds=[0.05, 0.5, 0.95])
    res = train(engine, cfg, out=tmp_path / "c.pt")  # calibrates in this process
    one = json.loads(res.checkpoint.with_suffix(".json").read_text())["calibration"]
    two = calibrate_checkpoint(engine, res.checkpoint, dataclasses.replace(cfg, workers=2))
    assert two.curve == one["curve"] and two.none == one["none"]
    assert two.threshold == res.threshold
    assert [o.workers for o in used] == [2]  # the workers played it; training's calibration did not
    engine.store.flush()
    batches = engine.store.query("SELECT batch_id, count(*) AS n FROM runs WHERE batch_id LIKE "
                                 "'calib-%' GROUP BY batch_id")
    assert sorted(batches.n) == [24, 24]  # (none + 3 thresholds) x 2 seeds x 3 tasks, each way


def test_one_worker_never_imports_ray_and_bad_counts_are_named(tmp_path):
    code = ("import sys; from lts_core.cli.main import main; "
            f"rc = main(['--db', {str(tmp_path / 'o.duckdb')!r}, 'bench', '--suite', 'demo', "
            "'--limit', '1', '-k', '2', '--seeds', '0', '--policies', 'none', '--embedder', "
            f"'hash', '-q', '--out', {str(tmp_path / 'out')!r}]); "
            "assert rc == 0, rc; assert 'ray' not in sys.modules, 'ray was imported'")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    for cmd in (["run", "--suite", "demo", "--workers", "0"],
                ["bench", "--suite", "demo", "--runs-per-worker", "0"]):
        r = subprocess.run([sys.executable, "-m", "lts_core.cli.main", "--db",
                            str(tmp_path / "b.duckdb"), *cmd], cwd=REPO, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2 and "must be at least 1" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "b.duckdb").exists()  # nothing ran, no database was made
