"""Settings, back-end and ``--out`` are checked before the first run of ``lts run`` / ``bench`` /
``train`` (exit 2, one line, no database made); a run whose llm-judge calls failed is named."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from lts_core.cli.main import main


def _main(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_API_BASE"):
        monkeypatch.delenv(var, raising=False)


def test_bench_limit_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`lts bench --limit -1` ran 15 of the 16 demo tasks (tasks[:-1])."""
    db = tmp_path / "b.duckdb"
    with pytest.raises(SystemExit) as ei:
        main(["--db", str(db), "bench", "--suite", "demo", "--limit", "-1"])
    assert ei.value.code == 2
    assert "argument --limit: must be at least 1, got -1" in capsys.readouterr().err
    assert not db.exists()


@pytest.mark.parametrize(("cmd", "out", "needle"), [
    (["bench", "--suite", "demo", "--limit", "1"], "file", "is a file; give a folder"),
    (["bench", "--suite", "demo", "--limit", "1"], "under-a-file", "is a file, so no folder can "
                                                                   "be made inside it"),
    (["train", "--suite", "demo", "--tasks", "1", "--epochs", "1"], "dir", "is a folder; give a "
                                                                           "checkpoint file"),
    (["train", "--suite", "demo", "--tasks", "1", "--epochs", "1"], "file", "exists and is not a "
                                                                            "checkpoint (.pt)"),
    (["train", "--suite", "demo", "--tasks", "1", "--epochs", "1"], "x.json", "ends in .json"),
])
def test_out_is_checked_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture, cmd, out,
                                        needle) -> None:
    """`lts bench --out /etc/passwd` ran the whole bench, then `[Errno 17] File exists`; `lts train
    --out /etc` trained, then failed and left /etc.tmp."""
    (tmp_path / "file").write_text("keep me\n")
    (tmp_path / "dir").mkdir()
    target = {"under-a-file": tmp_path / "file" / "sub"}.get(out, tmp_path / out)
    db = tmp_path / "o.duckdb"
    rc, _, err = _main(capsys, "--db", str(db), *cmd, "--out", str(target), "-q")
    assert rc == 2 and needle in err and str(target) in err, err
    assert err.count("\n") == 1 and not db.exists()
    assert (tmp_path / "file").read_text() == "keep me\n"
    assert not list(tmp_path.glob("*.tmp")) and not list((tmp_path / "dir").iterdir())


@pytest.mark.parametrize(("args", "needle"), [
    (["--backend", "bogusprov/x"], "--backend: “bogusprov” is not a provider litellm knows"),
    (["--backend", "openai/m", "--api-base", "not a url"],
     "--api-base: “not a url” is not an http(s) URL"),
    (["--backend", "openai/gpt-4o-mini"], "No key for openai in the environment: set "
                                          "OPENAI_API_KEY"),
    (["--policy", "dedup", "--policy-options", '{"threshold": "abc"}'],
     "policy 'dedup': option threshold must be a number, got 'abc'"),
    (["--backend", "openai/m", "--api-base", "http://127.0.0.1:9/v1", "--backend-options",
      '{"timeout": "abc"}'], "back-end 'openai/m': option timeout must be a number, got 'abc'"),
])
@pytest.mark.parametrize("cmd", ["run", "bench", "train"])
def test_backend_settings_are_checked_before_the_database(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture, cmd,
                                                          args, needle) -> None:
    """They used to create the database and a failed run (after 4 attempts per team), or print
    Python's '<=' not supported between instances of 'float' and 'str'."""
    if cmd == "train" and "--policy" in args:
        pytest.skip("lts train has no --policy")
    if cmd == "bench" and "--policy" in args:  # bench needs none; options keyed by policy
        args = ["--policies", "none,dedup", "--policy-options", '{"dedup": {"threshold": "abc"}}']
    db = tmp_path / "c.duckdb"
    limit = {"run": ["--limit", "1"], "bench": ["--limit", "1", "--no-judge"],
             "train": ["--tasks", "1", "--epochs", "1"]}[cmd]
    rc, _, err = _main(capsys, "--db", str(db), cmd, "--suite", "demo", *limit, *args, "-q")
    assert rc == 2 and needle in err, err
    assert err.count("\n") == 1 and "Traceback" not in err and not db.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_judge_calls_are_named(tmp_path: Path, capsys: pytest.CaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every judge call failed (nothing listens) and `lts run` said nothing, exit 0. The runs still
    finish (a failed call counts as NO): exit 0, with one warning line per run."""
    import lts_core.runtime.run as eng

    real = eng.get_embedder
    monkeypatch.setattr(eng, "get_embedder", lambda name="minilm": real("hash"))
    judge = json.dumps({"llm-judge": {"model": "openai/j", "num_retries": 0,
                                      "api_base": f"http://127.0.0.1:{_closed_port()}/v1"}})
    rc, _, err = _main(capsys, "--db", str(tmp_path / "j.duckdb"), "run", "--suite", "demo",
                       "--limit", "1", "--teams", "2", "--max-steps", "3", "--policy",
                       "llm-judge,none", "--policy-options", judge, "-q")
    lines = err.strip().splitlines()
    assert rc == 0 and len(lines) == 1, err
    assert lines[0].startswith("warning: run ") and "(task demo:01, seed 0): all " in lines[0]
    assert "llm-judge call(s) failed (" in lines[0] and "no step was admitted" in lines[0]
