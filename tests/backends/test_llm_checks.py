"""An LLM setting is checked before any run (lts_core.backends.llm_checks): the model string, the
API base, the key; local servers and providers need no key (issue 9, section 6)."""

from __future__ import annotations

import pytest

from lts_core.backends.llm_checks import llm_problems, missing_keys, url_problem


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_API_BASE", "MY_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize(("model", "base", "options", "needle"), [
    ("gpt-4o", None, {}, "--backend: write a litellm model string, provider/model"),
    ("bogusprov/x", None, {}, "--backend: “bogusprov” is not a provider litellm knows"),
    ("openai/m", "not a url", {}, "--api-base: “not a url” is not an http(s) URL"),
    ("openai/m", "localhost:8000", {}, "--api-base: “localhost:8000” is not an http(s) URL"),
    ("openai/gpt-4o-mini", None, {}, "No key for openai in the environment: set OPENAI_API_KEY"),
    ("anthropic/claude-x", None, {}, "set ANTHROPIC_API_KEY (for example ANTHROPIC_API_KEY=… lts …)"),
    ("openai/m", None, {"api_key_env": "MY_KEY"}, "api_key_env names MY_KEY, which is not set"),
])
def test_problems_are_named(model, base, options, needle) -> None:
    problems = llm_problems(model, base, options)
    assert len(problems) == 1 and needle in problems[0], problems


@pytest.mark.parametrize(("model", "base", "options"), [
    ("ollama/qwen3:8b", None, {}),  # litellm's default server, http://localhost:11434: no key
    ("ollama_chat/qwen3:8b", "http://127.0.0.1:11434", {}),
    ("openai/m", "http://127.0.0.1:8000/v1", {}),  # a local OpenAI-compatible server
    ("hosted_vllm/Qwen/Qwen3-8B", "http://127.0.0.1:8000/v1", {}),
    ("openai/gpt-4o-mini", None, {"api_key": "sk-given"}),
])
def test_local_servers_and_given_keys_need_nothing(model, base, options) -> None:
    assert llm_problems(model, base, options) == []


def test_a_key_in_the_environment_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-x")
    assert llm_problems("openai/m", None, {"api_key_env": "MY_KEY"}) == []
    monkeypatch.setenv("OPENAI_API_KEY", "sk-y")
    assert llm_problems("openai/gpt-4o-mini") == [] and missing_keys("openai/gpt-4o-mini") == []


def test_ollama_is_not_asked_for_a_base() -> None:
    """litellm lists OLLAMA_API_BASE as missing, but defaults it; the dashboard used to say "No key
    for ollama ... start the dashboard with OLLAMA_API_BASE set"."""
    assert missing_keys("ollama/qwen3:8b") == []


def test_url_problem() -> None:
    assert url_problem("http://127.0.0.1:8000/v1") is None
    assert "not a valid URL" in url_problem("http://h:port/v1")
    assert "not an http(s) URL" in url_problem("ftp://h/v1")
