"""The ``llm`` back-end through litellm, without a real model: an in-process provider
(``litellm.CustomLLM``) and a fake OpenAI HTTP server stand in for it.

Covered: a whole K=2 run with memory (ledgers, summaries as keys, a memory fetch, aggregation,
accounting in DuckDB), malformed JSON and its repair retry, rate-limit / server-error retries,
timeouts, a failing team, cancellation, the response-format downgrade, and that an API key is never
written anywhere.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from llm_fakes import FakeOpenAIServer, litellm, register_provider

from lts_core.backends import make_backend
from lts_core.backends.base import TeamView, ToolOutput
from lts_core.backends.llm import LLMBackend
from lts_core.backends.llm_client import LLMCancelled, LLMClient, LLMError, extract_json, redact
from lts_core.backends.llm_prompts import parse_progress
from lts_core.evaluation.report import format_table, summarize
from lts_core.record import queries
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig

SECRET = "sk-test-DO-NOT-STORE-0123456789abcdef"
MSGS = [{"role": "user", "content": "Reply with JSON."}]


@pytest.fixture
def fake():
    with register_provider("ltsfake") as f:
        yield f


@pytest.fixture
def engine(tmp_path):
    store = Store(tmp_path / "llm.duckdb")
    eng = Engine(store)
    yield eng
    store.close()


def _cfg(**kw) -> RunConfig:
    base = {"teams": 2, "policy": "all", "backend": "ltsfake/model", "embedder": "hash",
            "max_steps": 8, "backend_options": {"backoff_s": 0.01}}
    base.update(kw)
    return RunConfig(**base)


def _all_text(store: Store, run_id: str) -> str:
    out = []
    for table in ("runs", "teams", "steps", "admissions", "memory_entries", "memory_reads",
                  "tool_calls", "llm_calls"):
        out.append(store.query(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]).to_json())
    return "\n".join(out)


# ----------------------------------------------------------------------------- a whole run
def test_full_run_with_memory_records_everything(fake, engine):
    cfg = _cfg(backend_options={"api_key": SECRET, "backoff_s": 0.01, "temperature": 0.2})
    s = engine.run_task(engine.suite("demo").tasks[0], "demo", cfg)
    store = engine.store
    store.flush()
    r = s.record
    assert r.status == "finished" and r.answer
    assert not r.simulated
    rid = r.run_id
    by = dict(store.query("SELECT purpose, count(*) FROM llm_calls WHERE run_id = ? GROUP BY 1",
                          [rid]).values.tolist())
    assert by["orchestrate"] >= 4 and by["summarize"] >= 4
    assert by.get("aggregate") == 1  # the fake's teams answer differently: the aggregator decides
    assert store.scalar("SELECT bool_and(real) FROM llm_calls WHERE run_id = ?", [rid])
    assert store.scalar("SELECT min(prompt_tokens) FROM llm_calls WHERE run_id = ? AND ok",
                        [rid]) > 0
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE run_id=? AND team_idx=-1",
                        [rid]) == 1
    # tokens: run = sum of its calls; the summary carries the call count for the CLI table
    assert r.prompt_tokens == store.scalar(
        "SELECT sum(prompt_tokens) FROM llm_calls WHERE run_id = ?", [rid])
    assert s.llm_calls == sum(by.values())
    # summaries are keys: every entry's key is an LLM-written step summary
    keys = store.query("SELECT key FROM memory_entries WHERE run_id = ?", [rid]).key.tolist()
    assert keys and all(k.startswith("The team ran") for k in keys)
    # a memory fetch went through the engine
    assert s.reads >= 1
    assert store.scalar("SELECT count(*) FROM steps WHERE run_id=? AND action='memory_read'",
                        [rid]) >= 1
    # model and settings recorded with the run; the key nowhere
    cfgj = json.loads(store.scalar("SELECT config_json FROM runs WHERE run_id = ?", [rid]))
    assert cfgj["backend"]["model"] == "ltsfake/model"
    assert cfgj["backend"]["temperature"] == 0.2
    assert cfgj["run"]["backend_options"]["api_key"] == "***"
    assert SECRET not in _all_text(store, rid)
    # the key was used for the calls
    assert all(c["api_key"] == SECRET for c in fake.calls)
    # step time includes the measured LLM seconds
    assert store.scalar("SELECT min(llm_s) FROM steps WHERE run_id = ?", [rid]) > 0
    store.flush()
    table = format_table(summarize(queries.run_metrics(store, [rid])))
    assert "llm_calls" in table and "cost_usd" in table


def test_describe_never_holds_the_key(monkeypatch):
    b = make_backend("openai/gpt-4o-mini", api_key=SECRET, api_base="http://127.0.0.1:9/v1")
    d = json.dumps(b.describe())
    assert SECRET not in d and "api_key" not in b.describe()
    assert b.describe()["model"] == "openai/gpt-4o-mini"
    assert b.describe()["api_key_given"] is True
    monkeypatch.setenv("LTS_TEST_KEY", SECRET)
    b2 = make_backend("openai/gpt-4o-mini", api_key_env="LTS_TEST_KEY")
    assert SECRET not in json.dumps(b2.describe())
    assert b2.describe()["api_key_env"] == "LTS_TEST_KEY"
    assert redact(f"error with {SECRET} inside") == "error with *** inside"


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="unknown llm back-end option"):
        make_backend("openai/x", temprature=0.1)
    with pytest.raises(ValueError, match="aggregator"):
        make_backend("openai/x", aggregator="best")


# ----------------------------------------------------------------------------- parsing
def test_extract_json_tolerates_fences_and_chatter():
    assert extract_json('Here you go:\n```json\n{"a": {"b": 1}}\n```') == {"a": {"b": 1}}
    assert extract_json('{"x": 1} and {"y": 2}') == {"x": 1}
    assert extract_json('noise { not json } then {"ok": true}') == {"ok": True}
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json("no braces at all")
    with pytest.raises(ValueError, match="empty"):
        extract_json("   ")


def test_parse_progress_validates():
    tools = ["search", "open", "answer", "memory_read"]
    p = parse_progress({"is_request_satisfied": "false", "is_in_loop": {"answer": True},
                        "is_progress_being_made": True,
                        "next_action": {"tool": "memory_read", "argument": "", "entry_ids": [3, 9]},
                        "instruction": "read"}, tools, [3, 4])
    assert p.entry_ids == (3,) and p.is_in_loop and not p.is_request_satisfied
    flat = parse_progress({"tool": "search", "argument": "q"}, tools, [])
    assert flat.tool == "search" and flat.argument == "q"
    with pytest.raises(ValueError, match="must be one of"):
        parse_progress({"next_action": {"tool": "browse", "argument": "x"}}, tools, [])
    with pytest.raises(ValueError, match="must not be empty"):
        parse_progress({"next_action": {"tool": "search", "argument": ""}}, tools, [])
    with pytest.raises(ValueError, match="entry_ids"):
        parse_progress({"next_action": {"tool": "memory_read", "entry_ids": [7]}}, tools, [3])


def _agent(fake_name="ltsfake/model", **opts):
    b = LLMBackend(fake_name, backoff_s=0.01, **opts)
    from lts_core.backends.base import BackendContext
    from lts_core.world.embeddings import get_embedder

    ctx = BackendContext(None, get_embedder("hash"), True)  # type: ignore[arg-type]
    from lts_core.world.tasks import load_suite

    task = load_suite("demo").tasks[0]
    return b, b.make_agent(task, 0, None, ctx), task  # type: ignore[arg-type]


def _view(task, step, keys=()):
    return TeamView(task, 0, step, 30, 0.0, list(keys), True)


def test_malformed_reply_gets_one_repair_retry(fake):
    _, agent, task = _agent()
    agent.decide(_view(task, 0))  # ledger (smart reply)
    fake.script = ["this is not JSON at all"]  # then the smart reply repairs it
    n0 = len(fake.calls)
    action, usages = agent.decide(_view(task, 1))
    assert action.kind == "search" and action.arg
    assert [u.purpose for u in usages] == ["orchestrate", "orchestrate"]
    repair = fake.calls[n0 + 1]["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"] == "this is not JSON at all"
    assert "could not be used" in repair[-1]["content"] and "no JSON object" in repair[-1]["content"]


def test_malformed_twice_falls_back_and_never_crashes(fake):
    _, agent, task = _agent()
    agent.decide(_view(task, 0))
    fake.script = ["garbage", '```json\n{"next_action": {"tool": "fly"}}\n```']
    action, usages = agent.decide(_view(task, 1))
    assert action.kind == "search" and "fallback" in action.detail
    assert "must be one of" in action.detail["fallback"]
    assert len(usages) == 2


def test_persistent_garbage_ends_the_team_with_a_reason(fake):
    _, agent, task = _agent(max_malformed=2)
    agent.decide(_view(task, 0))
    fake.script = ["x"] * 10
    agent.decide(_view(task, 1))  # first unusable reply: fallback action
    with pytest.raises(LLMError, match="nothing usable"):
        agent.decide(_view(task, 2))


def test_summary_is_a_real_call_and_failure_keeps_a_label(fake):
    _, agent, task = _agent()
    from lts_core.backends.base import Action

    a = Action("search", "Greywater Bridge", "find the bridge")
    out = ToolOutput("Search results for 'Greywater Bridge':\n1. Greywater Bridge: ..." + "x" * 5000)
    agent.observe(a, out, _view(task, 1))
    s, us = agent.summarize(a, out)
    (u,) = us
    assert u.purpose == "summarize" and u.real and u.seconds > 0 and 10 <= len(s.split()) <= 30
    user = fake.calls[-1]["messages"][-1]["content"]
    assert len(user) < 2300  # the output is cut to ~2000 characters
    fake.script = [litellm.AuthenticationError("bad key", llm_provider="x", model="m")]
    s2, us2 = agent.summarize(a, out)
    (u2,) = us2
    assert s2 == "search: Greywater Bridge" and not u2.ok and "AuthenticationError" in u2.error


# ----------------------------------------------------------------------------- retries
def test_rate_limit_is_retried_with_backoff(fake):
    c = LLMClient("ltsfake/m", backoff_s=0.01, num_retries=3)
    fake.script = [litellm.RateLimitError("slow down", llm_provider="x", model="m"),
                   litellm.InternalServerError("boom", llm_provider="x", model="m"),
                   '{"answer": "ok"}']
    r = c.complete(MSGS, purpose="orchestrate", schema={"type": "object"})
    assert json.loads(r.text) == {"answer": "ok"}
    assert [u.ok for u in r.usages] == [False, False, True]
    assert "RateLimitError" in r.failed[0].error and "InternalServerError" in r.failed[1].error


def test_retries_exhausted_raise_a_clear_error(fake):
    c = LLMClient("ltsfake/m", backoff_s=0.01, num_retries=2)
    fake.script = [litellm.ServiceUnavailableError("down", llm_provider="x", model="m")] * 5
    with pytest.raises(LLMError, match="after 3 attempts") as ei:
        c.complete(MSGS, purpose="orchestrate")
    assert len(ei.value.usages) == 3 and not any(u.ok for u in ei.value.usages)
    assert len(fake.script) == 2  # 3 attempts made, no more


def test_non_retryable_error_fails_at_once(fake):
    c = LLMClient("ltsfake/m", api_key=SECRET, backoff_s=0.01, num_retries=5)
    fake.script = [litellm.AuthenticationError(f"bad key {SECRET}", llm_provider="x", model="m")]
    with pytest.raises(LLMError, match="not retryable") as ei:
        c.complete(MSGS, purpose="orchestrate")
    assert SECRET not in str(ei.value) and "bad key ***" in str(ei.value)  # scrubbed
    assert len(fake.calls) == 1


def test_response_format_downgrade(fake):
    def refuse_json_schema(messages, params):
        rf = params.get("response_format") or {}
        if rf.get("type") == "json_schema":
            return litellm.BadRequestError("response_format json_schema unsupported",
                                           model="m", llm_provider="x")
        return '{"ok": 1}'

    c = LLMClient("ltsfake/refuses-json-schema", backoff_s=0.01)
    fake.script = [refuse_json_schema, refuse_json_schema]
    r = c.complete(MSGS, purpose="orchestrate", schema={"type": "object"})
    assert r.mode == "json_object_schema" and c.format_mode == "json_object_schema"
    assert fake.calls[-1]["params"]["response_format"]["type"] == "json_object"
    assert fake.calls[-1]["params"]["response_format"]["schema"] == {"type": "object"}
    c.complete(MSGS, purpose="orchestrate", schema={"type": "object"})
    assert fake.calls[-1]["params"]["response_format"]["type"] == "json_object"  # remembered
    # ... by every later client of the same model and server in this process (the next run)
    assert LLMClient("ltsfake/refuses-json-schema").format_mode == "json_object_schema"
    assert LLMClient("ltsfake/refuses-json-schema", api_base="http://h/v1").format_mode == \
        "json_schema"


def test_two_concurrent_calls_refused_the_same_format_both_downgrade(fake):
    """Teams call at the same time (the virtual executor too, for real models): when both are
    refused json_schema, the second to notice must not take the first's downgrade as 'nothing
    left to try' (found by the llama.cpp integration test)."""
    gate = threading.Barrier(2)

    def refuse_json_schema(messages, params):
        if (params.get("response_format") or {}).get("type") == "json_schema":
            gate.wait(5)  # both calls are in flight before either is refused
            return litellm.BadRequestError("response_format json_schema unsupported",
                                           model="m", llm_provider="x")
        return '{"ok": 1}'

    c = LLMClient("ltsfake/refuses-concurrently", backoff_s=0.01)
    fake.script = [refuse_json_schema] * 4
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(
        c.complete(MSGS, purpose="orchestrate", schema={"type": "object"}))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 2 and {r.mode for r in results} == {"json_object_schema"}


def test_http_429_and_5xx_through_the_network(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAIServer() as srv:
        srv.script = [(429, None, 0.0), (503, None, 0.0)]
        c = LLMClient("openai/fake-model", api_base=srv.url, backoff_s=0.01)
        r = c.complete(MSGS, purpose="orchestrate")
        assert r.text == '{"answer": "ok"}' and r.usage.prompt_tokens == 11
        assert len(srv.requests) == 3  # ours are the only retries (SDK retries are off)
        assert srv.requests[-1]["auth"] == f"Bearer {SECRET}"
        assert all(SECRET not in (u.error or "") for u in r.failed)


def test_timeout_is_retried_then_fails():
    with FakeOpenAIServer() as srv:
        srv.warm_up()
        srv.script = [(200, None, 1.5)] * 3
        c = LLMClient("openai/fake-model", api_base=srv.url, api_key="x", timeout=0.3,
                      num_retries=1, backoff_s=0.01)
        t0 = time.perf_counter()
        with pytest.raises(LLMError, match="after 2 attempts.*Timeout"):
            c.complete(MSGS, purpose="orchestrate")
        assert time.perf_counter() - t0 < 1.5
        assert len(srv.requests) == 2


def test_stop_event_cancels_an_inflight_call(fake):
    c = LLMClient("ltsfake/m")
    fake.delay_s = 2.0
    ev = threading.Event()
    threading.Timer(0.2, ev.set).start()
    t0 = time.perf_counter()
    with pytest.raises(LLMCancelled):
        c.complete(MSGS, purpose="orchestrate", stop_event=ev)
    assert time.perf_counter() - t0 < 1.0


# ----------------------------------------------------------------------------- engine
def test_a_failing_team_errors_and_the_others_go_on(fake, engine):
    class Down(litellm.CustomLLM):
        def completion(self, *a, **k):
            raise litellm.ServiceUnavailableError("server down", llm_provider="x", model="m")

    with register_provider("ltsdown", Down()):
        run = engine.prepare_run(engine.suite("demo").tasks[0], "demo", _cfg())
        run.teams[1].agent.client = LLMClient("ltsdown/m", num_retries=1, backoff_s=0.01)
        s = engine.execute(run)
    teams = {t.idx: t.rec for t in run.teams}
    assert teams[1].status == "error" and "after 2 attempts" in teams[1].error
    assert "ServiceUnavailableError" in teams[1].error
    assert teams[0].status == "answered"
    assert s.record.status == "finished" and s.record.answer == teams[0].answer


def test_every_team_failing_fails_the_run(engine):
    class Down(litellm.CustomLLM):
        def completion(self, *a, **k):
            raise litellm.InternalServerError("boom", llm_provider="x", model="m")

    with register_provider("ltsdown2", Down()):
        cfg = _cfg(backend="ltsdown2/m", backend_options={"num_retries": 0})
        s = engine.run_task(engine.suite("demo").tasks[0], "demo", cfg)
    assert s.record.status == "failed" and "every team failed" in s.record.error


def test_cancel_stops_inflight_calls(fake, engine):
    fake.delay_s = 3.0
    h = engine.start(engine.suite("demo").tasks[0], "demo", _cfg(executor="threads"))
    time.sleep(0.5)
    t0 = time.perf_counter()
    h.cancel()
    assert h.wait(10)
    assert time.perf_counter() - t0 < 2.5
    assert h.run.record.status == "cancelled"
    assert all(t.rec.status == "cancelled" for t in h.run.teams)


def test_vote_aggregator_makes_no_call(fake):
    b = LLMBackend("ltsfake/m", aggregator="vote")
    from lts_core.world.tasks import load_suite

    task = load_suite("demo").tasks[0]
    ans, u = b.aggregate(task, [(0, "A", 1.0), (1, "B", 2.0), (2, "B", 3.0)], None)  # type: ignore[arg-type]
    assert ans == "B" and u is None and not fake.calls


def test_llm_aggregator_and_its_fallback(fake):
    b, agent, task = _agent()
    fake.script = ['{"answer": "the Marrow", "reason": "r"}']
    ans, us = b.aggregate(task, [(0, "Marrow River", 1.0), (1, "Greywater", 2.0)], None)  # type: ignore[arg-type]
    (u,) = us
    assert ans == "the Marrow" and u.purpose == "aggregate" and u.real and u.ok
    assert "Team 0" in fake.calls[-1]["messages"][-1]["content"]
    fake.script = [litellm.AuthenticationError("no", llm_provider="x", model="m")]
    ans, us = b.aggregate(task, [(0, "A", 1.0), (1, "B", 2.0), (2, "B", 3.0)], None)  # type: ignore[arg-type]
    (u,) = us
    assert ans == "B" and not u.ok and "majority vote" in u.error
    n = len(fake.calls)
    ans, u = b.aggregate(task, [(0, "Paris", 1.0), (1, "paris.", 2.0)], None)  # type: ignore[arg-type]
    assert ans == "Paris" and u is None and len(fake.calls) == n  # unanimous: no call


def test_a_500_about_response_format_downgrades_instead_of_retrying(fake):
    # llama.cpp's server answers an unknown response_format type with HTTP 500 (its validation)
    def llama_like(messages, params):
        if (params.get("response_format") or {}).get("type") == "json_schema":
            return litellm.InternalServerError(
                "1 validation error: ('body', 'response_format', 'type') Input should be 'text' "
                "or 'json_object'", llm_provider="openai", model="m")
        return '{"ok": 1}'

    c = LLMClient("ltsfake/llama-like", backoff_s=5.0)  # a retry would wait seconds
    fake.script = [llama_like, llama_like]
    t0 = time.perf_counter()
    r = c.complete(MSGS, purpose="orchestrate", schema={"type": "object"})
    assert time.perf_counter() - t0 < 2.0 and r.mode == "json_object_schema"
    assert len(r.failed) == 1


def test_extra_instructions_placeholder_and_local_server_key(monkeypatch):
    from lts_core.backends.llm_prompts import fill_extra

    assert fill_extra("Read #{unread_id}.\nThen act.", [2, 7]) == "Read #7.\nThen act."
    assert fill_extra("Read #{unread_id}.\nThen act.", []) == "Then act."
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    b = make_backend("openai/local", api_base="http://127.0.0.1:9/v1")
    assert b.client.settings()["api_key"]  # a placeholder: the OpenAI SDK needs some key
    assert b.describe()["api_key_given"] is False
