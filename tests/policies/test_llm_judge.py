"""The ``llm-judge`` admission policy: YES/NO per step, P(YES) from logprobs, failures default NO,
and its calls recorded by the engine as ``judge`` LLM calls."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from llm_fakes import litellm, register_provider

from lts_core.backends import make_backend
from lts_core.policies import AdmissionContext, make_policy
from lts_core.policies.llm_judge import LLMJudgePolicy, p_yes_from_logprobs
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig
from lts_core.world.embeddings import get_embedder

SECRET = "sk-judge-DO-NOT-STORE-9876543210"


@pytest.fixture
def fake():
    with register_provider("ltsfake") as f:
        yield f


def _ctx(s="Searched 'Greywater Bridge'; found the bridge page.") -> AdmissionContext:
    emb = get_embedder("hash")
    return AdmissionContext("Which river?", [], "find the bridge", s, "Search results ...",
                            "search", 0, 1, emb, emb.one(s), random.Random(0))


def test_registered_and_described_without_key():
    p = make_policy("llm-judge", model="openai/gpt-4o-mini", api_key=SECRET)
    assert isinstance(p, LLMJudgePolicy)
    d = json.dumps(p.describe())
    assert SECRET not in d and p.describe()["model"] == "openai/gpt-4o-mini"
    with pytest.raises(ValueError, match="unknown llm-judge option"):
        make_policy("llm-judge", model="openai/x", modle="y")


def test_yes_without_logprobs_scores_one(fake):
    p = LLMJudgePolicy("ltsfake/judge")
    fake.script = ["YES"]
    d = p.decide(_ctx())
    assert d.admit and d.score == 1.0 and d.features["logprobs"] is False
    assert [u.purpose for u in d.usages] == ["judge"] and d.usages[0].real
    params = fake.calls[-1]["params"]
    assert params["max_tokens"] == 3 and params.get("logprobs") is True
    fake.script = ["No."]
    d = p.decide(_ctx())
    assert not d.admit and d.score == 0.0


def test_p_yes_from_logprobs(fake):
    lp = [{"token": "YES", "logprob": -0.2,
           "top_logprobs": [{"token": "YES", "logprob": -0.2}, {"token": "NO", "logprob": -1.8},
                            {"token": "Maybe", "logprob": -3.0}]}]
    expect = np.exp(-0.2) / (np.exp(-0.2) + np.exp(-1.8))
    assert p_yes_from_logprobs(lp) == pytest.approx(expect)
    assert p_yes_from_logprobs([{"token": "Hmm", "logprob": 0.0, "top_logprobs": []}]) is None
    fake.logprobs = lp
    d = LLMJudgePolicy("ltsfake/judge", threshold=0.9).decide(_ctx())
    assert d.score == pytest.approx(expect, abs=1e-4) and d.features["logprobs"] is True
    assert not d.admit  # 0.83 < 0.9


def test_failing_judge_defaults_to_no(fake):
    p = LLMJudgePolicy("ltsfake/judge", num_retries=1, backoff_s=0.01)
    fake.script = [litellm.ServiceUnavailableError("down", llm_provider="x", model="m")] * 2
    d = p.decide(_ctx())
    assert not d.admit and d.score == 0.0
    assert "judge call failed" in d.features["reason"] and "ServiceUnavailable" in d.features["error"]
    assert len(d.usages) == 2 and not any(u.ok for u in d.usages)
    fake.script = ["I think it is relevant"]
    d = p.decide(_ctx())
    assert not d.admit and "neither YES nor NO" in d.features["reason"]


def test_logprobs_refused_falls_back_to_text(fake):
    def refuse(messages, params):
        if params.get("logprobs"):
            return litellm.BadRequestError("logprobs not supported", model="m", llm_provider="x")
        return "YES"

    p = LLMJudgePolicy("ltsfake/judge")
    fake.script = [refuse, refuse, refuse]
    assert p.decide(_ctx()).admit
    assert p.decide(_ctx()).admit
    assert "logprobs" not in fake.calls[-1]["params"]  # remembered


def test_without_model_it_borrows_the_llm_backend():
    p = LLMJudgePolicy()
    p.bind_backend(make_backend("openai/m", api_base="http://127.0.0.1:9/v1", api_key=SECRET))
    assert p.client.model == "openai/m" and p.client.api_base == "http://127.0.0.1:9/v1"
    assert SECRET not in json.dumps(p.describe())
    with pytest.raises(ValueError, match="needs a model"):
        LLMJudgePolicy().bind_backend(make_backend("sim"))


def test_judge_calls_are_recorded_by_the_engine(fake, tmp_path):
    store = Store(tmp_path / "judge.duckdb")
    try:
        eng = Engine(store)
        cfg = RunConfig(teams=2, policy="llm-judge", backend="ltsfake/model", embedder="hash",
                        max_steps=6, backend_options={"api_key": SECRET},
                        policy_options={"api_key": SECRET})
        s = eng.run_task(eng.suite("demo").tasks[0], "demo", cfg)
        store.flush()
        rid = s.record.run_id
        n_judge = store.scalar("SELECT count(*) FROM llm_calls WHERE run_id=? AND purpose='judge'",
                               [rid])
        n_dec = store.scalar("SELECT count(*) FROM admissions WHERE run_id=?", [rid])
        assert n_judge == n_dec > 0
        assert store.scalar("SELECT min(prompt_tokens) FROM llm_calls WHERE run_id=? "
                            "AND purpose='judge'", [rid]) > 0
        assert s.record.prompt_tokens == store.scalar(
            "SELECT sum(prompt_tokens) FROM llm_calls WHERE run_id=?", [rid])
        feats = json.loads(store.scalar("SELECT features_json FROM admissions WHERE run_id=? "
                                        "LIMIT 1", [rid]))
        assert feats["reply"] == "YES" and feats["p_yes"] == 1.0
        cfgj = store.scalar("SELECT config_json FROM runs WHERE run_id=?", [rid])
        assert SECRET not in cfgj and json.loads(cfgj)["policy"]["model"] == "ltsfake/model"
    finally:
        store.close()
