"""Secrets never reach the database, the exports, ``lts show`` or the logs (issue 9, section 2).

The probe: runs whose ``--api-base`` carries a token as URL userinfo and as a query parameter, whose
``extra_headers`` carry a bearer token, and whose ``llm-judge`` has its own api_base with tokens,
against a local OpenAI-compatible server that fails some calls; and a run whose every call fails
with an exception quoting the URL and the headers (so the secrets reach ``llm_calls.error``,
``teams.error`` and ``runs.error``). Then every place is searched for every secret string.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from llm_fakes import FakeOpenAIServer, litellm, register_provider, smart_replies

from lts_core.cli import main as cli
from lts_core.record.export import export_run
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig

USERINFO = "tok-USERINFO-7f3a9c21"
QUERY = "tok-QUERY-5b8e1d44"
HEADER = "tok-HEADER-2c6f0a93"
JUDGE_USERINFO = "tok-JUDGEUSER-9d1e7b52"
JUDGE_QUERY = "tok-JUDGEQUERY-4a7c3e18"
SECRETS = (USERINFO, QUERY, HEADER, JUDGE_USERINFO, JUDGE_QUERY)


def _hits(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        return [s for s in SECRETS if s.encode() in text]
    return [s for s in SECRETS if s in text]


# ----------------------------------------------------------------------------- the probe
class _Leaky(litellm.CustomLLM):
    """Fails every call with a message quoting the URL and the request headers (as some providers'
    errors do)."""

    def completion(self, *a, **kw):  # noqa: ANN002, ANN003
        raise litellm.APIConnectionError(
            message=f"cannot reach {kw.get('api_base')}; headers={kw.get('headers')}; "
                    f"options={kw.get('optional_params')}", llm_provider="openai",
            model=kw.get("model", "m"))


def _run_all(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> tuple[Path, list[str]]:
    db = tmp_path / "secrets.duckdb"
    store = Store(db)
    eng = Engine(store)
    task = eng.suite("demo").tasks[0]
    run_ids = []
    with FakeOpenAIServer(smart_replies()) as srv:
        srv.script = [(500, None, 0.0), (200, None, 0.0), (429, None, 0.0)]
        port = srv.port
        api_base = f"http://lts-user:{USERINFO}@127.0.0.1:{port}/v1?api_key={QUERY}"
        judge_base = f"http://judge:{JUDGE_USERINFO}@127.0.0.1:{port}/v1?key={JUDGE_QUERY}"
        headers = {"extra_headers": {"Authorization": f"Bearer {HEADER}"}}
        cfg = RunConfig(teams=2, policy="llm-judge", backend="openai/m", embedder="hash",
                        max_steps=6, backend_options={"api_base": api_base, "backoff_s": 0.01,
                                                      "extra": headers},
                        policy_options={"model": "openai/judge", "api_base": judge_base,
                                        "backoff_s": 0.01})
        s = eng.run_task(task, "demo", cfg)
        assert s.record.status == "finished" and s.llm_calls > 0
        run_ids.append(s.record.run_id)
    with register_provider("ltsleak", _Leaky()):
        cfg2 = RunConfig(teams=2, policy="llm-judge", backend="ltsleak/m", embedder="hash",
                         max_steps=4, backend_options={"api_base": api_base, "num_retries": 0,
                                                       "extra": headers},
                         policy_options={"model": "ltsleak/judge", "api_base": judge_base})
        s2 = eng.run_task(task, "demo", cfg2)
        assert s2.record.status == "failed" and "every team failed" in s2.record.error
        run_ids.append(s2.record.run_id)
    store.flush()
    # the secrets did reach the failures (so the probe probes something)
    assert store.scalar("SELECT count(*) FROM teams WHERE error IS NOT NULL") >= 2
    store.close()
    return db, run_ids


def test_no_secret_in_db_exports_show_or_logs(tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    for name in ("LiteLLM", "httpx", "openai"):
        caplog.set_level(logging.DEBUG, logger=name)
    db, run_ids = _run_all(tmp_path, caplog)

    found: dict[str, list[str]] = {}
    # 1. the database, through DuckDB (every table, every column) and as raw bytes (file + WAL)
    with Store(db, read_only=True) as store:
        tables = store.query("SELECT table_name FROM information_schema.tables").table_name
        dump = "\n".join(store.query(f"SELECT * FROM {t}").to_json() for t in tables)
        cfgj = json.loads(store.scalar("SELECT config_json FROM runs WHERE run_id = ?",
                                       [run_ids[0]]))
    found["duckdb rows"] = _hits(dump)
    found["duckdb bytes"] = _hits(b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*")))

    # 2. exports: Parquet (read back, and raw bytes) and JSONL
    store = Store(db)
    for rid in run_ids:
        for fmt in ("parquet", "jsonl"):
            for p in export_run(store, rid, tmp_path / "exp", fmt):
                found[f"{fmt} {p.name}"] = _hits(p.read_bytes())
                if fmt == "parquet":
                    found[f"parquet rows {p.name}"] = _hits(pd.read_parquet(p).to_json())
    store.close()

    # 3. lts show of each run
    capsys.readouterr()
    for rid in run_ids:
        assert cli.main(["--db", str(db), "show", rid]) == 0
    out = capsys.readouterr()
    found["lts show"] = _hits(out.out + out.err)
    assert "every team failed" in out.out

    # 4. logs of the whole probe (litellm's request dumps, httpx's request lines, ...)
    found["logs"] = _hits(caplog.text + "\n".join(str(r.exc_text or "") for r in caplog.records))
    assert "HTTP Request" in caplog.text  # the request lines were logged, masked

    leaks = {k: v for k, v in found.items() if v}
    assert not leaks, f"secrets found: {leaks}"
    # the settings are still there, masked
    assert cfgj["backend"]["api_base"].startswith("http://***@127.0.0.1:")
    assert cfgj["policy"]["api_base"].endswith("?key=***")
    assert cfgj["backend"]["extra"]["extra_headers"] == {"Authorization": "***"}


def test_lts_show_masks_secrets_in_rows_an_older_build_wrote(tmp_path, capsys):
    """Rows are masked as they are written; a file from before that still prints masked."""
    import duckdb

    db = tmp_path / "old.duckdb"
    Store(db).close()  # today's schema
    leak = "POST http://bob:s3cr3t-tok@host/v1 failed"
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO runs (run_id, task_id, suite, question, gold, backend, policy, "
                "executor, stop, teams, max_steps, seed, simulated, config_json, status, error, "
                "error_detail) VALUES ('old1', 't', 'demo', 'Q?', 'A', 'x/y', 'none', 'virtual', "
                "'aggregate', 1, 5, 0, false, '{}', 'failed', ?, ?)", [leak, leak])
    con.execute("INSERT INTO teams (run_id, team_idx, status, error) VALUES ('old1', 0, 'error', ?)",
                [leak])
    con.close()
    assert cli.main(["--db", str(db), "show", "old1", "--full"]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t-tok" not in out and "http://***@host/v1" in out
