"""The Launch form checks every setting before a run starts, and says what is wrong in words."""

from __future__ import annotations

import pytest
from app_helpers import no_exception, open_page, texts

from app.exposure import ALLOWED_ENV, CUSTOM_ENV
from app.form_checks import int_problem, parse_seeds


def _launch(db, monkeypatch):
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    monkeypatch.delenv(CUSTOM_ENV, raising=False)
    return open_page("launch", db, monkeypatch)


def test_parse_seeds_explains():
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    for bad, words in (("abc", "“abc” is not a seed"), ("1.5", "not a seed"),
                       ("-3", "not a seed"), ("5-1", "must go up"), ("0-500", "at most 100"),
                       ("99999999999", "seeds go from 0")):
        with pytest.raises(ValueError, match=words):
            parse_seeds(bad)


def test_int_problem():
    assert int_problem("K", 3, 1, 64) is None
    assert int_problem("K", 0, 1, 64) == "K must be from 1 to 64, not 0"
    assert "whole number" in int_problem("K", 2.5, 1, 64)
    assert "enter a whole number" in int_problem("K", None, 1, 64)


@pytest.mark.parametrize("k, ok", [(0, False), (65, False), (-1, False), (1, True), (64, True)])
def test_teams_out_of_bounds_block_the_start(finished_db, monkeypatch, k, ok):
    at = _launch(finished_db, monkeypatch)
    at.number_input(key="l_k").set_value(k).run()
    no_exception(at)
    assert at.button(key="l_go").disabled is not ok
    assert ("Teams (K) must be from 1 to 64" in texts(at)) is not ok


def test_max_steps_out_of_bounds(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    at.number_input(key="l_steps").set_value(0).run()
    assert "Max steps per team must be from 1 to 500, not 0" in texts(at)
    assert at.button(key="l_go").disabled


def test_seed_abc_is_explained_and_the_button_stays(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    at.text_input(key="l_seeds").input("abc").run()
    no_exception(at)
    body = texts(at)
    assert "Seed(s): “abc” is not a seed; use whole numbers" in body
    assert "invalid literal" not in body
    assert at.button(key="l_go").disabled


def _llm(at, model: str, api_base: str | None = None):
    at.radio(key="l_backend").set_value("LLM (litellm)").run()
    at.text_input(key="l_model").input(model).run()
    if api_base is not None:
        at.text_input(key="l_api_base").input(api_base).run()
    no_exception(at)
    return texts(at)


def test_llm_unknown_provider(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    body = _llm(at, "bogus/model-x")
    assert "“bogus” is not a provider litellm knows" in body
    assert at.button(key="l_go").disabled


def test_llm_api_base_not_a_url(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    body = _llm(at, "hosted_vllm/Qwen/Qwen3-8B", "localhost:8000")
    assert "API base: “localhost:8000” is not an http(s) URL" in body
    assert at.button(key="l_go").disabled


def test_llm_missing_key_is_named(finished_db, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    at = _launch(finished_db, monkeypatch)
    body = _llm(at, "anthropic/claude-3-5-haiku-latest")
    assert "No key for anthropic" in body and "ANTHROPIC_API_KEY" in body
    assert at.button(key="l_go").disabled
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-shown")
    at.run()
    assert "No key for" not in texts(at) and "sk-test-not-shown" not in texts(at)
    assert not at.button(key="l_go").disabled


def test_local_server_needs_no_key(finished_db, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    at = _launch(finished_db, monkeypatch)
    _llm(at, "hosted_vllm/Qwen/Qwen3-8B", "http://127.0.0.1:8000/v1")
    assert not at.error and not at.button(key="l_go").disabled


def test_custom_api_bases_off(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    monkeypatch.setenv(CUSTOM_ENV, "0")
    at.run()
    at.radio(key="l_backend").set_value("LLM (litellm)").run()
    no_exception(at)
    field = at.text_input(key="l_api_base_off")
    assert field.disabled and not [t for t in at.text_input if t.key == "l_api_base"]


def test_allowed_api_bases_are_a_choice(finished_db, monkeypatch):
    at = _launch(finished_db, monkeypatch)
    monkeypatch.setenv(ALLOWED_ENV, "http://gpu1:8000/v1,http://gpu2:8000/v1")
    at.run()
    at.radio(key="l_backend").set_value("LLM (litellm)").run()
    at.text_input(key="l_model").input("hosted_vllm/Qwen/Qwen3-8B").run()
    pick = at.selectbox(key="l_api_base_pick")
    assert pick.options == ["the provider's own endpoint", "http://gpu1:8000/v1",
                            "http://gpu2:8000/v1"]
    pick.set_value("http://gpu2:8000/v1").run()
    no_exception(at)
    assert not at.error and not at.button(key="l_go").disabled


def test_ollama_needs_no_key_nor_base(finished_db, monkeypatch):
    """It used to say "No key for ollama ... start the dashboard with OLLAMA_API_BASE set", though
    litellm finds a local Ollama by itself."""
    monkeypatch.delenv("OLLAMA_API_BASE", raising=False)
    at = _launch(finished_db, monkeypatch)
    body = _llm(at, "ollama/qwen3:8b")
    assert "No key for" not in body and "OLLAMA_API_BASE" not in body
    assert not at.button(key="l_go").disabled
