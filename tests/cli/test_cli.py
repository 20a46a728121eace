"""The ``lts`` command line: run / runs / show / export, error exits, and Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from engine_helpers import (
    REPO,
    FlakyBackend,
    fast_config,
    lts_command,
    one_torch_thread,
    start_lts_run,
    wait_for_steps,
)

from lts_core import Engine, Store
from lts_core.cli.main import main
from lts_core.record.export import RUN_TABLES


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
    assert rc == 0 and "no runs match those filters" in out
    rc, out, _ = _main(capsys, "--db", str(cli_db), "runs", "--offset", "5")
    assert rc == 0 and "no runs at offset 5 (2 match)" in out
    rc, out, _ = _main(capsys, "--db", str(cli_db), "show", run_id)
    assert rc == 0
    assert f"run {run_id} [SIMULATED]" in out and "policy=dedup" in out
    assert "== team 0:" in out and "== team 1:" in out
    assert "[ADMIT" in out and "[skip " in out
    step_lines = [ln for ln in out.splitlines() if ln.startswith("  ") and "s " in ln]
    assert len(step_lines) == n_steps


def test_run_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    """``lts run`` output, on the hash embedder (the CLI always builds RunConfig with its default)."""
    import lts_core.runtime.run as eng  # where a run builds its embedder

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


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_export_to_a_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture, where) -> None:
    """`lts export ID --out /some/file` was a NotADirectoryError traceback."""
    db = tmp_path / "x.duckdb"
    with Store(db) as s:
        s.write(_failed_run_record("r1"))
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    out = afile if where == "file" else afile / "sub"
    rc, _, err = _main(capsys, "--db", str(db), "export", "r1", "--out", str(out))
    assert rc == 2 and "Traceback" not in err and err.count("\n") == 1
    assert (f"--out {afile} is a file; give a folder" in err if where == "file"
            else f"error: cannot write the export to {out}: Not a directory" in err)
    assert afile.read_text() == "keep me"


# ------------------------------------------------------------------------------ failed runs
def _failed_run_record(run_id: str):
    """A failed run as older versions recorded it: the error holds a Python traceback."""
    from lts_core.record.records import RunRecord

    return RunRecord(run_id=run_id, task_id="demo:01", suite="demo", question="Q?", gold="A",
                     backend="openai/x", policy="none", executor="virtual", stop="aggregate",
                     teams=1, max_steps=2, seed=0, simulated=False, config_json="{}",
                     status="failed", error="every team failed: LLMError: call failed after 4 "
                     "attempts\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\n")


def test_show_prints_one_line_per_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`lts show` on a failed run printed the stored traceback; `--full` still shows it."""
    from lts_core.record.records import TeamRecord

    db = tmp_path / "f.duckdb"
    with Store(db) as s:
        s.write(_failed_run_record("r1"))
        s.write(TeamRecord("r1", 0, status="error", error="LLMError: boom\nTraceback (most ..."))
    rc, out, _ = _main(capsys, "--db", str(db), "show", "r1")
    assert rc == 0 and "Traceback" not in out and 'File "' not in out
    assert "error: every team failed: LLMError: call failed after 4 attempts\n" in out
    assert "== team 0: error, 0 steps, answer=None, error=LLMError: boom\n" in out
    assert "lts show RUN_ID --full" in out
    rc, out, _ = _main(capsys, "--db", str(db), "show", "r1", "--full")
    assert rc == 0 and "Traceback (most recent call last)" in out


def test_run_exits_1_naming_each_failed_run(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch, register_backend) -> None:
    """`lts run` exited 0 when every run failed. Now: 1, and one line per failed run."""
    import lts_core.runtime.run as eng  # where a run builds its embedder

    real = eng.get_embedder
    monkeypatch.setattr(eng, "get_embedder", lambda name="minilm": real("hash"))
    register_backend("flaky", FlakyBackend)
    db = tmp_path / "r.duckdb"
    rc, out, err = _main(capsys, "--db", str(db), "run", "--suite", "demo", "--tasks",
                         "demo:01,demo:02", "--teams", "2", "--policy", "none", "--backend", "flaky",
                         "--backend-options", '{"fail_teams": [0, 1], "fail_at": 0}', "-q")
    assert rc == 1 and "2 runs in" in out  # the batch went on after the first failure
    with Store(db, read_only=True) as s:
        runs = s.query("SELECT run_id, task_id FROM runs WHERE status = 'failed' ORDER BY created_at")
    lines = err.strip().splitlines()
    assert len(runs) == 2 and len(lines) == 3 and "Traceback" not in err
    for line, (run_id, task_id) in zip(lines, runs.itertuples(index=False), strict=False):
        assert line.startswith(f"failed: run {run_id} (task {task_id}, policy none, seed 0): "
                               "every team failed: RuntimeError: injected failure in team 0")
    assert lines[-1] == "2 of 2 run(s) failed; `lts show RUN_ID` for details"
    # a run where only some teams fail is a finished run: exit 0
    rc, _, err = _main(capsys, "--db", str(db), "run", "--suite", "demo", "--tasks", "demo:01",
                       "--teams", "2", "--policy", "none", "--backend", "flaky", "-q")
    assert rc == 0 and "failed" not in err


# ------------------------------------------------------------------------------ the database
def test_db_problems_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Each of these got "another process probably holds it"; the message now says what is wrong."""
    folder = tmp_path / "adir"
    folder.mkdir()
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    for db, needle in [(folder, "it is a folder, not a database file"),
                       (junk, "the file is not a DuckDB database")]:
        rc, _, err = _main(capsys, "--db", str(db), "runs")
        assert rc == 2 and needle in err and "holds it" not in err, err
    assert junk.read_text() == "not a database"


def test_db_held_by_another_process_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               f"c = duckdb.connect({str(db)!r}); print('ok', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        rc, _, err = _main(capsys, "--db", str(db), "runs")
    finally:
        holder.communicate("", timeout=30)
    assert rc == 2 and ("it is in use. Another process (the dashboard, or another `lts` command) "
                        "holds it") in err


@pytest.mark.skipif(shutil.which("chattr") is None or os.geteuid() != 0,
                    reason="needs root and chattr to make a file immutable")
def test_immutable_db_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "imm.duckdb"
    with Store(db):
        pass
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable attribute")
    try:
        rc, _, err = _main(capsys, "--db", str(db), "runs")
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert rc == 2 and "the system refused access (Operation not permitted)" in err
    assert "chattr -i" in err and "holds it" not in err


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
    # issue 9, section 6: each of these was a traceback, or ran something before failing
    (["--policy", "none,bogus"], "unknown policy 'bogus'"),
    (["--policy-options", "[1,2]"], "--policy-options must be a JSON object such as "
                                    "'{\"name\": value}', got a JSON list: '[1,2]'"),
    (["--policy", "dedup", "--policy-options", '{"thresh": 0.5}'],
     "unknown option(s) for policy 'dedup': thresh; its options are: similarity"),
    (["--policy", "none,dedup", "--policy-options", '{"similarity": 0.5}'],
     "unknown option(s) for policy 'none': similarity; it takes no options"),
    (["--policy", "dedup", "--policy-options", '{"similarity": 5}'],
     "policy 'dedup': dedup similarity must be in (0, 1], got 5"),
    (["--policy", "none", "--policy-options", '{"dedup": {"similarity": 0.5}}'],
     "--policy-options names 'dedup', which --policy does not run (none)"),
    (["--policy", "dedup", "--policy-options", '{"dedup": {"similarity": 0.5}, "x": 1}'],
     "--policy-options mixes per-policy objects (dedup) with plain options (x)"),
    (["--policy-options", "{oops"], "--policy-options is not valid JSON"),
    (["--policy-options", "[" * 5000 + "]" * 5000], "--policy-options: JSON nested deeper"),
    (["--backend-options", '{"speed_of_light": 1}'], "back-end 'sim': unknown sim parameter(s): "
                                                     "speed_of_light"),
    (["--backend-options", '"fast"'], "--backend-options must be a JSON object"),
    (["--speed", "nan"], "speed must be positive and finite, got nan"),
    (["--speed", "0"], "speed must be"),
    (["--max-steps", "0"], "max_steps must be between 1 and 500"),
    (["--seeds", ","], "--seeds names no seed"),
    (["--policy", ","], "--policy names no policy"),
])
def test_bad_run_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, args, needle) -> None:
    """Every name and number is checked before the first run, and before the database is made."""
    db = tmp_path / "b.duckdb"
    rc, _, err = _main(capsys, "--db", str(db), "run", "--suite", "demo", "-q", *args)
    assert rc == 2 and needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not db.exists()


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--limit", "-1"], "argument --limit: must be at least 1, got -1"),
    (["run", "--limit", "0"], "argument --limit: must be at least 1, got 0"),
    (["runs", "--limit", "-1"], "argument --limit: must be at least 1, got -1"),
    (["runs", "--offset", "-3"], "argument --offset: must be at least 0, got -3"),
    (["runs", "--limit", "ten"], "argument --limit: expected a whole number, got 'ten'"),
])
def test_bad_numbers_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture, argv,
                                      needle) -> None:
    """`lts runs --limit -1` was a DuckDB traceback; `lts run --limit -1` ran 15 of 16 tasks."""
    db = tmp_path / "n.duckdb"
    with pytest.raises(SystemExit) as ei:
        main(["--db", str(db), *argv])
    assert ei.value.code == 2 and needle in capsys.readouterr().err
    assert not db.exists()


def test_a_bad_task_file_never_creates_the_database(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "t1", "question": \n')
    db = tmp_path / "t.duckdb"
    rc, _, err = _main(capsys, "--db", str(db), "run", "--suite", str(bad), "-q")
    assert rc == 2 and f"{bad}:1: not valid JSON" in err
    assert not db.exists()


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
