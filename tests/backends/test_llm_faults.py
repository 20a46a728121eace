"""Faults are recorded, not hidden (issue 9, section 4).

(a) every failed attempt of a model call (HTTP 429/500, timeouts, garbage) is an ``llm_calls`` row
with ``ok = false``, a one-line error and its latency, including the calls of a step that failed;
(b) a reply without choices is a failed attempt with a clear message, not an ``IndexError``;
(c) ``runs.error`` / ``teams.error`` are one line, the traceback is in ``error_detail``, and a
database written before that column existed still opens; (d) a stalled call is given up after the
client's timeout (60 s by default) whatever the provider does.
"""

from __future__ import annotations

import time

import duckdb
import pytest
from llm_fakes import NO_CHOICES, FakeOpenAIServer, litellm, register_provider, smart_replies

from lts_core.backends.llm import LLMBackend
from lts_core.backends.llm_client import LLMClient, LLMError
from lts_core.cli import main as cli
from lts_core.record.export import export_run
from lts_core.record.records import RunRecord, TeamRecord
from lts_core.record.schema import column_types
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig

MSGS = [{"role": "user", "content": "Reply with JSON."}]


@pytest.fixture
def fake():
    with register_provider("ltsfake") as f:
        yield f


@pytest.fixture
def engine(tmp_path):
    store = Store(tmp_path / "faults.duckdb")
    yield Engine(store)
    store.close()


def _cfg(**kw) -> RunConfig:
    base = {"teams": 2, "policy": "all", "backend": "ltsfake/model", "embedder": "hash",
            "max_steps": 8, "backend_options": {"backoff_s": 0.01}}
    base.update(kw)
    return RunConfig(**base)


def _calls(store: Store, run_id: str, where: str = "TRUE"):
    store.flush()
    return store.query(f"SELECT * FROM llm_calls WHERE run_id = ? AND {where} "
                       "ORDER BY team_idx, step_idx", [run_id])


class _Down(litellm.CustomLLM):
    def completion(self, *a, **k):  # noqa: ANN002, ANN003
        raise litellm.ServiceUnavailableError("server down\n(503)", llm_provider="x", model="m")


# ----------------------------------------------------------------------------- (a) attempts
def test_a_failed_steps_attempts_are_rows(fake, engine):
    with register_provider("ltsdown", _Down()):
        run = engine.prepare_run(engine.suite("demo").tasks[0], "demo", _cfg())
        run.teams[1].agent.client = LLMClient("ltsdown/m", num_retries=2, backoff_s=0.01)
        s = engine.execute(run)
    assert s.record.status == "finished"
    rows = _calls(engine.store, s.record.run_id, "team_idx = 1")
    assert len(rows) == 3 and not rows.ok.any()  # 1 attempt + 2 retries, none lost
    assert set(rows.purpose) == {"orchestrate"} and (rows.step_idx == 0).all()
    assert rows.error.str.contains("ServiceUnavailableError").all()
    assert not rows.error.str.contains("\n").any()
    assert (rows.latency_s > 0).all()
    assert s.llm_calls == len(_calls(engine.store, s.record.run_id))


def test_http_429_500_and_timeout_of_a_summary_are_rows(tmp_path):
    with FakeOpenAIServer(smart_replies()) as srv, Store(tmp_path / "net.duckdb") as store:
        srv.warm_up()
        # the plan call succeeds; its summary call meets a 500, a 429 and a stall, then succeeds
        srv.script = [(200, None, 0.0), (500, None, 0.0), (429, None, 0.0), (200, None, 2.0)]
        eng = Engine(store)
        cfg = _cfg(teams=1, backend="openai/m", max_steps=3,
                   backend_options={"api_base": srv.url, "api_key": "x", "backoff_s": 0.01,
                                    "timeout": 0.5})
        s = eng.run_task(eng.suite("demo").tasks[0], "demo", cfg)
        rows = _calls(store, s.record.run_id, "step_idx = 0 AND purpose = 'summarize'")
    assert rows.ok.tolist() == [False, False, False, True]
    errs = rows.error.tolist()[:3]
    assert "InternalServerError" in errs[0] and "RateLimitError" in errs[1]
    assert "Timeout" in errs[2] and rows.latency_s.iloc[2] >= 0.5


def test_garbage_replies_are_failed_rows_even_when_the_team_gives_up(fake, engine):
    fake.script = [None, None] + ["garbage, not JSON"] * 20  # ledger and its summary are fine
    cfg = _cfg(teams=1, backend_options={"backoff_s": 0.01, "max_malformed": 2})
    s = engine.run_task(engine.suite("demo").tasks[0], "demo", cfg)
    assert s.record.status == "failed"
    bad = _calls(engine.store, s.record.run_id, "NOT ok")
    assert bad.error.str.startswith("unusable reply").all()
    # the last step's two calls (reply + repair) ended the team: recorded all the same
    assert (bad.step_idx == 2).sum() == 2 and (bad.step_idx == 1).sum() == 2


def test_every_aggregator_attempt_is_returned(fake):
    b = LLMBackend("ltsfake/m", backoff_s=0.01)
    from lts_core.world.tasks import load_suite

    task = load_suite("demo").tasks[0]
    fake.script = [litellm.RateLimitError("slow down", llm_provider="x", model="m"),
                   '{"answer": "Marrow River"}']
    ans, usages = b.aggregate(task, [(0, "Marrow River", 1.0), (1, "Greywater", 2.0)], None)  # type: ignore[arg-type]
    assert ans == "Marrow River" and [u.ok for u in usages] == [False, True]


# ----------------------------------------------------------------------------- (b) no choices
def test_a_reply_without_choices_is_a_failed_attempt(fake):
    c = LLMClient("ltsfake/m", num_retries=1, backoff_s=0.01)
    fake.script = [NO_CHOICES, '{"a": 1}']
    r = c.complete(MSGS, purpose="orchestrate")
    assert r.text == '{"a": 1}' and not r.failed[0].ok and "no choices" in r.failed[0].error
    fake.script = [NO_CHOICES, NO_CHOICES]
    with pytest.raises(LLMError, match="after 2 attempts: EmptyReply: .*no choices"):
        c.complete(MSGS, purpose="orchestrate")


# ----------------------------------------------------------------------------- (c) messages
def test_a_failed_run_has_a_one_line_error_and_the_traceback_apart(engine, capsys):
    with register_provider("ltsdown3", _Down()):
        s = engine.run_task(engine.suite("demo").tasks[0], "demo",
                            _cfg(backend="ltsdown3/m", backend_options={"num_retries": 0}))
    store = engine.store
    store.flush()
    r = store.query("SELECT * FROM runs WHERE run_id = ?", [s.record.run_id]).iloc[0]
    assert r.status == "failed" and r.error.startswith("every team failed: LLMError: orchestrate")
    assert "\n" not in r.error and "Traceback" not in r.error and len(r.error) <= 300
    assert "Traceback (most recent call last)" in r.error_detail and "team 1:" in r.error_detail
    tm = store.query("SELECT * FROM teams WHERE run_id = ?", [s.record.run_id])
    assert not tm.error.str.contains("\n").any() and tm.error_detail.str.contains("Traceback").all()
    path = str(store.path)
    store.close()
    assert cli.main(["--db", path, "show", s.record.run_id]) == 0
    out = capsys.readouterr().out
    assert "every team failed" in out and "Traceback" not in out


def _old_schema(cls: type) -> str:
    return ", ".join(f"{c} {t}" for c, t in column_types(cls).items() if c != "error_detail")


def test_a_database_without_error_detail_still_opens(tmp_path, capsys):
    p = tmp_path / "old.duckdb"
    con = duckdb.connect(str(p))
    con.execute(f"CREATE TABLE runs ({_old_schema(RunRecord)})")
    con.execute(f"CREATE TABLE teams ({_old_schema(TeamRecord)})")
    con.execute("INSERT INTO runs (run_id, task_id, suite, question, gold, backend, policy, executor,"
                " stop, teams, max_steps, seed, simulated, config_json, status, error) VALUES "
                "('old1', 't', 'demo', 'q', 'g', 'sim', 'all', 'virtual', 'aggregate', 1, 5, 0, "
                "true, '{}', 'failed', 'RuntimeError: boom')")
    con.close()
    with Store(p, read_only=True) as ro:  # a reader does not migrate: SELECT * still works
        assert ro.query("SELECT * FROM runs").run_id.tolist() == ["old1"]
    with Store(p) as s:  # a writer adds the column, NULL in the old rows
        assert s.query("SELECT error_detail FROM runs").error_detail.isna().all()
        assert "error_detail" in s.query("SELECT * FROM teams").columns
        assert export_run(s, "old1", tmp_path / "exp", "jsonl")
    assert cli.main(["--db", str(p), "show", "old1"]) == 0
    assert "error: RuntimeError: boom" in capsys.readouterr().out


# ----------------------------------------------------------------------------- (d) timeout
def test_a_stalled_call_is_given_up_after_the_timeout(fake):
    assert LLMClient("ltsfake/m").timeout == 60.0  # on by default, documented
    assert LLMBackend("ltsfake/m").describe()["timeout"] == 60.0
    fake.delay_s = 3.0  # a provider that ignores litellm's timeout
    c = LLMClient("ltsfake/m", timeout=0.3, num_retries=1, backoff_s=0.01)
    t0 = time.perf_counter()
    with pytest.raises(LLMError, match="after 2 attempts: CallTimeout: no reply within") as ei:
        c.complete(MSGS, purpose="orchestrate")
    assert time.perf_counter() - t0 < 1.5
    assert [u.ok for u in ei.value.usages] == [False, False]
    assert all(u.seconds >= 0.3 for u in ei.value.usages)
