"""Scale-out on Ray (lts_core.scale.pool): the same figures and rows as the sequential path, a dead
worker's run retried, Ctrl-C leaving no Ray process, and training writing the same weights.

Light on purpose: a local Ray cluster with 2 CPUs started once for the module (and shut down at its
end), the demo suite, K=2, the hash embedder, the virtual executor and the simulator."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from lts_core import interrupts
from lts_core.evaluation.bench import BenchConfig, run_bench
from lts_core.learning.train import TrainConfig, train
from lts_core.policies.controller import ControllerConfig
from lts_core.scale.pool import ScaleError, ScaleOptions, WorkerPool, play_runs

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


def _ray_tmp() -> str:
    """A short folder for a local cluster's files (Ray's socket paths have a length limit, so not
    under ``tmp_path``); the caller removes it."""
    return tempfile.mkdtemp(prefix="lts-ray-")


def test_ctrl_c_stops_every_worker_and_leaves_no_ray_process(tmp_path):
    """Runs first, before this module's own cluster: ``lts run`` with 2 workers in a child process,
    Ctrl-C to its process group (as a terminal sends it), then no process of its session remains;
    the message counts the runs that were recorded (not 0: summaries come only at the end)."""
    marker = uuid.uuid4().hex
    ray_tmp = _ray_tmp()
    env = {**os.environ, "LTS_TEST_MARK": marker, "LTS_RAY_TMPDIR": ray_tmp,
           "LTS_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "lts_core.cli.main", "--db", str(tmp_path / "c.duckdb"), "run",
           "--suite", "demo", "--policy", "none,all,dedup", "-k", "2", "--seeds", "0,1,2",
           "--workers", "2"]
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
        deadline = time.time() + 20
        while _processes_with(marker) and time.time() < deadline:
            time.sleep(0.5)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert p.returncode == 130, text[-2000:]
    assert _processes_with(marker) == []
    from lts_core.record.store import Store

    with Store(tmp_path / "c.duckdb", read_only=True) as s:  # what finished is recorded
        st = s.query("SELECT status, count(*) n FROM runs GROUP BY status")
    n = dict(zip(st.status, st.n, strict=True))
    assert set(n) <= {"finished", "interrupted"}
    assert n.get("interrupted")  # the runs in flight on the workers
    said = re.search(r"interrupted \(Ctrl-C\): (\d+) of (\d+) run\(s\) done", text)
    assert said, text[-2000:]
    assert int(said.group(1)) == n.get("finished", 0) > 0


@pytest.fixture(scope="module")
def ray_session():
    """One local cluster (2 CPUs) for the module; every WorkerPool below joins it."""
    tmp = _ray_tmp()
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tmp, logging_level="WARNING")
    yield
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


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
    """Job 1's worker dies once: retried, same figures. Job 0's dies on the retry too: recorded
    failed, and the batch goes on. A lost attempt that was retried is a ``retried`` row naming the
    run that retried it, so counting finished and failed runs counts each job once."""
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
    rows = engine.store.query("SELECT run_id, task_id, status, error FROM runs "
                              "WHERE batch_id = 'b-retry'")
    retried = rows[rows.status == "retried"]
    assert sorted(retried.task_id) == sorted([jobs[0][0].id, jobs[1][0].id])
    assert retried.error.str.contains("worker died").all()
    by_id = rows.set_index("run_id")
    for err in retried.error:  # each names its retry: the failed second attempt, or the finished run
        retry = re.search(r"retried as run ([0-9a-f]{12})$", err).group(1)
        assert by_id.status[retry] in ("failed", "finished")
    counted = rows[rows.status.isin(["finished", "failed"])]
    assert sorted(counted.task_id) == sorted(t.id for t, _ in jobs)


def _unschedulable(pool: WorkerPool) -> None:
    """Replacements that can never start (they ask for a resource no node has), as on a cluster
    whose CPUs are all taken."""
    pool._new_actor = lambda: pool._cls.options(resources={"lts_nowhere": 1}).remote(pool.settings)
    pool.start_timeout_s = 4


def _watchdog(seconds: float) -> threading.Timer:
    """Turns a hang into a failure: Ctrl-C in the main thread after ``seconds``."""
    import _thread

    t = threading.Timer(seconds, _thread.interrupt_main)
    t.daemon = True
    t.start()
    return t


def test_a_retry_goes_to_a_live_worker_when_the_replacement_cannot_start(engine, demo_suite,
                                                                          ray_session):
    jobs = [(demo_suite.tasks[i], fast_config(teams=2, policy="dedup", seed=0)) for i in range(4)]
    dog = _watchdog(120)
    try:
        with WorkerPool(ScaleOptions(workers=2), engine.settings) as pool:
            _unschedulable(pool)
            _killing(pool, {1: {1}})
            out = play_runs(engine, jobs, "demo", "b-live", pool.opts, pool=pool)
            assert len(pool.actors) == 1  # the replacement never joined: the live one played all
    except KeyboardInterrupt:
        pytest.fail("the retry waited on a replacement that could never start")
    finally:
        dog.cancel()
    assert [s.record.status for s in out] == ["finished"] * 4


def test_no_worker_left_ends_the_batch_with_an_error_not_a_wait(engine, demo_suite, ray_session):
    jobs = [(demo_suite.tasks[i], fast_config(teams=2, policy="dedup", seed=0)) for i in range(2)]
    dog = _watchdog(120)
    try:
        with WorkerPool(ScaleOptions(workers=1), engine.settings) as pool:
            _unschedulable(pool)
            _killing(pool, {0: {1}})
            t0 = time.time()
            with pytest.raises(ScaleError, match="did not start within 4 s.*2 run"):
                play_runs(engine, jobs, "demo", "b-none", pool.opts, pool=pool)
            assert time.time() - t0 < 60
    except KeyboardInterrupt:
        pytest.fail("the batch waited without end for a worker")
    finally:
        dog.cancel()
    engine.store.flush()
    rows = engine.store.query("SELECT status, error FROM runs WHERE batch_id = 'b-none'")
    assert sorted(rows.status) == ["failed", "retried"]  # job 1 never started: no row
    assert rows.error.str.contains("retried as run").sum() == 1  # linked to its unplayed retry
    assert rows.error.str.contains("could not be played").sum() == 1


class _RayWith:
    """The ray module, but ``get`` raises ``errors[task_id]`` (once) for that task's run."""

    def __init__(self, errors: dict[str, BaseException]) -> None:
        self.errors = errors

    def __getattr__(self, name: str):
        return getattr(ray, name)

    def get(self, ref, *a, **k):
        value = ray.get(ref, *a, **k)
        task = value.summary.record.task_id if hasattr(value, "summary") else None
        if task in self.errors:
            raise self.errors.pop(task)
        return value


def test_oom_node_and_object_loss_count_as_a_lost_worker(engine, demo_suite, ray_session):
    """OutOfMemoryError, NodeDiedError and ObjectLostError: the worker is replaced and the run
    retried, as for a killed worker; the batch is not aborted."""
    from ray.exceptions import NodeDiedError, ObjectLostError, OutOfMemoryError

    jobs = [(demo_suite.tasks[i], fast_config(teams=2, policy="dedup", seed=0)) for i in range(3)]
    with WorkerPool(ScaleOptions(workers=2), engine.settings) as pool:
        errors = [OutOfMemoryError("killed by the memory monitor"), NodeDiedError("node gone"),
                  ObjectLostError("ab" * 14, None, "")]
        pool.ray = _RayWith({t.id: e for (t, _), e in zip(jobs, errors, strict=True)})
        out = play_runs(engine, jobs, "demo", "b-oom", pool.opts, pool=pool)
        assert pool.replaced == 3
    assert [s.record.status for s in out] == ["finished"] * 3
    engine.store.flush()
    errs = engine.store.query("SELECT error FROM runs WHERE batch_id = 'b-oom' AND "
                              "status = 'retried'").error
    assert {re.search(r"\((\w+)\)", e).group(1) for e in errs} == {
        "OutOfMemoryError", "NodeDiedError", "ObjectLostError"}


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


def test_a_config_holding_a_key_is_refused_before_ray_starts(engine, demo_suite, monkeypatch):
    """Jobs travel through Ray's object store: an API key, a token in a URL or a header value in
    the options is refused (ConfigError: exit 2 under ``lts``) before any worker is asked for."""
    from lts_core.learning.episode_sources import RayEpisodes
    from lts_core.registry import ConfigError
    from lts_core.scale import pool as pool_module

    monkeypatch.setattr(pool_module, "WorkerPool", lambda *a, **k: pytest.fail("Ray was started"))
    task = demo_suite.tasks[0]
    for where, options in [("backend_options.api_key", {"backend_options": {"api_key": "sk-SECRET"}}),
                           ("backend_options.api_base",
                            {"backend_options": {"api_base": "https://bob:sk-SECRET@host/v1"}}),
                           ("backend_options.extra_headers.X-Key",
                            {"backend_options": {"extra_headers": {"X-Key": "sk-SECRET"}}}),
                           ("policy_options.api_key", {"policy_options": {"api_key": "sk-SECRET"}})]:
        rc = fast_config(teams=2, policy="dedup", seed=0, **options)
        with pytest.raises(ConfigError, match=re.escape(where) + ".*api_key_env"):
            play_runs(engine, [(task, rc)], "demo", "b-key", ScaleOptions(workers=2))
    cfg = TrainConfig(suite="demo", tasks=2, backend_options={"api_key": "sk-SECRET"}, workers=2)
    with pytest.raises(ConfigError, match="backend_options.api_key"):
        RayEpisodes(engine, cfg)


def test_keys_reach_workers_through_the_environment_only(monkeypatch):
    """The allowed way (the key in the environment, named by ``api_key_env``) passes, and nothing a
    worker is sent holds the key."""
    import cloudpickle

    from lts_core.config import Settings
    from lts_core.runtime.engine import RunConfig
    from lts_core.scale.pool import refuse_secrets
    from lts_core.scale.worker import EpisodeJob, RunJob

    key = f"sk-SECRET-{uuid.uuid4().hex}"
    monkeypatch.setenv("LTS_TEST_API_KEY", key)
    opts = {"api_key_env": "LTS_TEST_API_KEY", "api_base": "http://localhost:8000/v1"}
    rc = RunConfig(backend="openai/gpt-4o-mini", backend_options=opts)
    tc = TrainConfig(suite="demo", backend="openai/gpt-4o-mini", backend_options=opts, workers=2)
    refuse_secrets([rc, tc])
    for sent in (RunJob("t1", "demo", rc, "b"), EpisodeJob("t1", 0, "tid", tc), Settings.from_env()):
        blob = cloudpickle.dumps(sent)
        assert key.encode() not in blob and b"sk-SECRET" not in blob


@pytest.mark.parametrize("command", [["run", "--limit", "1"], ["bench", "--limit", "1"],
                                     ["train", "--tasks", "1"]])
def test_lts_refuses_a_key_in_the_options_with_exit_2_before_the_database(tmp_path, command,
                                                                          monkeypatch):
    """``lts run``, ``bench`` and ``train`` with workers refuse a key in the options before Ray
    starts and before the database file is made."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-for-the-check")  # the key check passes
    db = tmp_path / "k.duckdb"
    args = ["--db", str(db), command[0], "--suite", "demo", *command[1:],
            "--backend", "openai/gpt-4o-mini", "--backend-options",
            '{"api_key": "sk-SECRET-123456"}', "--workers", "2"]
    code = ("import sys; from lts_core.cli.main import main; "
            f"rc = main({args!r}); assert 'ray' not in sys.modules, 'ray was imported'; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "backend_options.api_key" in r.stderr and "api_key_env" in r.stderr
    assert "sk-SECRET" not in r.stderr + r.stdout
    assert not db.exists(), "the database was made before the refusal"


def test_ctrl_c_during_training_on_workers_records_the_episodes_in_flight(engine, ray_session):
    """As sequential training does: the episodes in flight when Ctrl-C comes are recorded
    ``interrupted`` (here Ctrl-C comes as a third episode is handed out: one is in flight)."""
    from lts_core.learning.episode_sources import RayEpisodes
    from lts_core.policies.controller import AdmissionController

    cfg = TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, batch_tasks=2, teams=2,
                      embedder="hash", controller=ControllerConfig(width=32, heads=2, ff=32,
                                                                   layers=1), workers=2)
    src = RayEpisodes(engine, cfg)
    handed = []

    def ctrl_c(actor, j: int, attempt: int) -> None:
        handed.append(j)
        if len(handed) == 3:  # two were handed out, one came back
            raise KeyboardInterrupt

    src.pool.fault_hook = ctrl_c
    try:
        with pytest.raises(KeyboardInterrupt):
            src.play_groups([0, 1], 0, "ctrlc", AdmissionController(cfg.controller))
    finally:
        src.close()
    engine.store.flush()
    st = engine.store.query("SELECT status FROM runs WHERE batch_id = 'train-ctrlc'").status
    assert sorted(st) == ["finished", "interrupted"]


def test_ctrl_c_while_a_result_is_written_leaves_every_run_recorded_once(engine, demo_suite,
                                                                        ray_session, monkeypatch):
    """A Ctrl-C that comes while a returned run's records are replayed waits for the replay and for
    the run to leave the in-flight list: that run is recorded whole (``finished``), once, and the
    run still in flight is recorded ``interrupted``; no run is left ``running`` or counted twice."""
    jobs = [(demo_suite.tasks[i], fast_config(teams=2, policy="dedup", seed=0)) for i in range(4)]
    write, calls = engine.store.write, [0]

    def write_then_ctrl_c(rec) -> None:
        calls[0] += 1
        if calls[0] == 3:  # the first returned run, mid-replay
            os.kill(os.getpid(), signal.SIGINT)
        write(rec)

    monkeypatch.setattr(engine.store, "write", write_then_ctrl_c)
    done = []
    # Python's own SIGINT handler, whatever an earlier in-process test (Streamlit's AppTest, lts's
    # main) left installed: the conftest restores it after the test
    signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.reset()
    with WorkerPool(ScaleOptions(workers=2), engine.settings) as pool:
        with pytest.raises(KeyboardInterrupt):
            play_runs(engine, jobs, "demo", "b-race", pool.opts, pool=pool,
                      progress=lambda i, n: done.append(i))
    monkeypatch.undo()
    engine.store.flush()
    rows = engine.store.query("SELECT task_id, status FROM runs WHERE batch_id = 'b-race'")
    assert rows.task_id.is_unique
    assert sorted(rows.status) == ["finished", "interrupted"]
    assert done == [1]


def test_a_worker_gets_the_runs_of_the_tasks_it_played_and_is_never_idle():
    """``Pending``: retries first, then the worker's own tasks, then a task no live worker has,
    then (rather than wait) anyone's; every call is handed out once."""
    from lts_core.scale.pool import Pending

    p = Pending(["a", "b", "a", "b", "c", "a"])  # e.g. none t_a, none t_b, dedup t_a, ...
    live = {1, 2}
    assert p.pop_for(1, live) == (0, 1) and p.pop_for(2, live) == (1, 1)
    assert p.pop_for(1, live) == (2, 1)  # its own task a, before b's and c's
    assert p.pop_for(2, live) == (3, 1)
    assert p.pop_for(2, live) == (4, 1)  # no b left: c, which no worker has
    p.retry(4, 2)  # job 4 was lost with its worker
    assert p.pop_for(1, live) == (4, 2)  # a retry first, whoever asks
    assert p.pop_for(2, live) == (5, 1)  # worker 2 has nothing of its own left: it takes a's
    assert len(p) == 0
    q = Pending(["a", "a", "b"])
    assert q.pop_for(1, {1, 2}) == (0, 1)
    assert q.pop_for(3, {2, 3}) == (1, 1)  # worker 1 is gone: its task goes to whoever asks
