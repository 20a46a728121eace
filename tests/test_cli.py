"""The ``lts`` command line: run / runs / show / export, error exits, and Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from engine_helpers import (
    REPO,
    fast_config,
    lts_command,
    one_torch_thread,
    start_lts_run,
    wait_for_steps,
)

from lts_core import Engine, Store
from lts_core.cli import main
from lts_core.export import RUN_TABLES


def _main(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


# ------------------------------------------------------------------------------ a real CLI run
@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two demo tasks x policies none and dedup through ``lts run`` (real MiniLM embedder)."""
    db = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    with one_torch_thread():
        assert main(["--db", str(db), "run", "--suite", "demo", "--tasks", "demo:01", "--teams",
                     "2", "--policy", "none,dedup", "--max-steps", "20", "-q"]) == 0
    return db


@pytest.mark.slow
def test_run_records_every_job(cli_db: Path) -> None:
    with Store(cli_db, read_only=True) as s:
        runs = s.query("SELECT * FROM runs ORDER BY created_at")
        assert len(runs) == 2 and set(runs.status) == {"finished"}
        assert runs.policy.tolist() == ["none", "dedup"] and set(runs.task_id) == {"demo:01"}
        assert runs.batch_id.nunique() == 1 and set(runs.teams) == {2}
        assert set(runs.max_steps) == {20}
        assert (runs.runtime_s > 0).all() and runs.answer.notna().all()


@pytest.mark.slow
def test_runs_and_show(cli_db: Path, capsys: pytest.CaptureFixture) -> None:
    rc, out, _ = _main(capsys, "--db", str(cli_db), "runs")
    assert rc == 0 and "2 of 2 runs" in out
    with Store(cli_db, read_only=True) as s:
        run_id = s.scalar("SELECT run_id FROM runs WHERE policy = 'dedup' LIMIT 1")
        n_steps = s.scalar("SELECT count(*) FROM steps WHERE run_id = ?", [run_id])
    assert run_id in out
    rc, out, _ = _main(capsys, "--db", str(cli_db), "runs", "--status", "failed")
    assert rc == 0 and "no runs recorded yet" in out
    rc, out, _ = _main(capsys, "--db", str(cli_db), "show", run_id)
    assert rc == 0
    assert f"run {run_id} [SIMULATED]" in out and "policy=dedup" in out
    assert "== team 0:" in out and "== team 1:" in out
    assert "[ADMIT" in out and "[skip " in out
    step_lines = [ln for ln in out.splitlines() if ln.startswith("  ") and "s " in ln]
    assert len(step_lines) == n_steps


def test_run_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    """``lts run`` output, on the hash embedder (the CLI always builds RunConfig with its default)."""
    import lts_core.engine as eng

    real = eng.get_embedder
    monkeypatch.setattr(eng, "get_embedder", lambda name="minilm": real("hash"))
    rc, out, _ = _main(capsys, "--db", str(tmp_path / "t.duckdb"), "run", "--suite", "demo",
                       "--tasks", "demo:03", "--seeds", "1,2", "--policy", "all", "-q")
    assert rc == 0
    assert "SIMULATED agents (sim back-end) | suite demo | 1 task(s) x 2 seed(s) | K=3" in out
    header = next(ln for ln in out.splitlines() if ln.strip().startswith("policy"))
    assert header.split()[:4] == ["policy", "runs", "EM", "F1"]
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("all "))
    assert row.split()[1] == "2" and "±" in row  # two seeds: mean±std
    assert "2 runs in" in out


# ------------------------------------------------------------------------------ export
@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_export_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str,
                           demo_suite) -> None:
    db = tmp_path / "x.duckdb"
    with Store(db) as s:
        eng = Engine(s)
        for task in demo_suite.tasks[:5]:  # a run that fills every table (almost always the first)
            run = eng.run_task(task, demo_suite, fast_config(policy="all"))
            if run.reads:
                break
        s.flush()
        counts = {t: s.scalar(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run.record.run_id])
                  for t in RUN_TABLES}
    assert counts["memory_reads"] > 0 and counts["steps"] > 10
    rc, out, _ = _main(capsys, "--db", str(db), "export", run.record.run_id, "--format", fmt,
                       "--out", str(tmp_path / "exp"))
    assert rc == 0
    paths = [Path(p) for p in out.split()]
    assert sorted(p.name for p in paths) == sorted(f"{t}.{fmt}" for t in RUN_TABLES)
    for p in paths:
        table = p.name.split(".")[0]
        if fmt == "parquet":
            df = pd.read_parquet(p)
        else:
            lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
            df = pd.read_json(p, lines=True) if lines else pd.DataFrame()
        assert len(df) == counts[table], table
        if len(df):
            assert set(df.run_id) == {run.record.run_id}
    steps = pd.read_parquet(tmp_path / "exp" / run.record.run_id / "steps.parquet") \
        if fmt == "parquet" else pd.read_json(tmp_path / "exp" / run.record.run_id / "steps.jsonl",
                                              lines=True)
    assert {"u", "o", "s", "t_start", "t_end"} <= set(steps.columns)


def test_export_unknown_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, _, err = _main(capsys, "--db", str(tmp_path / "e.duckdb"), "export", "nope",
                       "--out", str(tmp_path))
    assert rc == 2 and "no run 'nope'" in err


# ------------------------------------------------------------------------------ error exits
def test_unknown_suite_exits_2_subprocess(tmp_path: Path) -> None:
    p = subprocess.run([*lts_command(), "--db", str(tmp_path / "s.duckdb"), "run", "--suite",
                        "nope"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "error: unknown suite 'nope'" in p.stderr and "Traceback" not in p.stderr


def test_show_unknown_run_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, _, err = _main(capsys, "--db", str(tmp_path / "s.duckdb"), "show", "unknownid")
    assert rc == 2 and "no run 'unknownid'" in err


@pytest.mark.parametrize(("args", "needle"), [
    (["--teams", "0"], "teams must be between 1 and 64"),
    (["--executor", "gpu"], "executor must be one of virtual, threads"),
    (["--stop", "never"], "stop must be one of aggregate, first"),
    (["--policy", "psychic"], "unknown policy 'psychic'"),
    (["--backend", "nope"], "unknown back-end 'nope'"),
    (["--tasks", "demo:01,zzz"], "task(s) not in suite demo: zzz"),
    (["--suite", str(Path("no") / "such.jsonl")], "no such file"),
])
def test_bad_run_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, args, needle) -> None:
    db = tmp_path / "b.duckdb"
    rc, _, err = _main(capsys, "--db", str(db), "run", "--suite", "demo", "-q", *args)
    assert rc == 2 and needle in err
    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM runs") == 0


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["run", "--seeds", "1,x"])
    assert ei.value.code == 2 and "comma-separated integers" in capsys.readouterr().err


def test_runs_on_an_empty_database(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, out, _ = _main(capsys, "--db", str(tmp_path / "empty.duckdb"), "runs")
    assert rc == 0 and "no runs recorded yet" in out


def test_db_defaults_to_lts_db(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    monkeypatch.setenv("LTS_DB", str(tmp_path / "env.duckdb"))
    assert _main(capsys, "runs")[0] == 0
    assert (tmp_path / "env.duckdb").exists()


# ------------------------------------------------------------------------------ Ctrl-C
@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted_and_exits_130(tmp_path: Path) -> None:
    db = tmp_path / "int.duckdb"
    # Started with SIGINT ignored, as some parents do (the full test suite did): an ignored
    # disposition is inherited across exec, and `lts` must still honour Ctrl-C.
    proc = start_lts_run(db, "--suite", "demo", "--limit", "1", "--policy", "all",
                         "--executor", "threads", "--speed", "2", "-q",
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for_steps(proc, db, 2)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 20  # no hang on the way out
    assert "interrupted" in err and "Traceback" not in err
    with Store(db) as s:
        assert s.interrupted_on_open == 0  # the process recorded it itself
        run = s.query("SELECT * FROM runs").iloc[0]
        assert run.status == "interrupted" and "Ctrl-C" in run.error
        assert s.scalar("SELECT count(*) FROM steps") >= 2
        assert s.scalar("SELECT count(*) FROM teams WHERE status = 'running'") == 0
        # each team's end is no earlier than its last recorded step
        assert s.scalar("SELECT count(*) FROM teams t WHERE t.t_end < (SELECT max(t_end) FROM "
                        "steps s WHERE s.run_id = t.run_id AND s.team_idx = t.team_idx)") == 0
