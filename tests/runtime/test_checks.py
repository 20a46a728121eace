"""Run settings are checked by name, type and range before anything runs (lts_core.runtime.checks)."""

from __future__ import annotations

import math

import pytest
from engine_helpers import fast_config

from lts_core.limits import MAX_JSON_DEPTH
from lts_core.runtime.checks import check_components, options_per_policy, parse_json_object
from lts_core.runtime.engine import ConfigError


@pytest.mark.parametrize(("kw", "needle"), [
    ({"teams": "3"}, "teams must be a whole number, got '3'"),
    ({"teams": 2.5}, "teams must be a whole number, got 2.5"),
    ({"max_steps": True}, "max_steps must be a whole number, got True"),
    ({"seed": "abc"}, "seed must be a whole number, got 'abc'"),
    ({"top_k": 0}, "top_k must be between 1 and 100, got 0"),
    ({"speed": math.inf}, "speed must be positive and finite, got inf"),
    ({"speed": "fast"}, "speed must be positive and finite, got 'fast'"),
    ({"web_failure": 1.5}, "web_failure must be between 0 and 1, got 1.5"),
    ({"embedder": "word2vec"}, "unknown embedder 'word2vec'; choose one of: minilm, hash"),
    ({"policy": "bogus"}, "unknown policy 'bogus'; choose one of: none, all, dedup"),
    ({"backend": "nope"}, "unknown back-end 'nope'"),
    ({"policy_options": [1, 2]}, "policy_options must be a JSON object (name: value), got [1, 2]"),
    ({"backend_options": "x"}, "backend_options must be a JSON object"),
])
def test_validate_names_types_and_ranges(kw, needle) -> None:
    """Wrong types used to surface as a TypeError deep inside a run (or not at all)."""
    with pytest.raises(ConfigError) as ei:
        fast_config(**kw).validate()
    assert needle in str(ei.value)


@pytest.mark.parametrize(("kw", "needle"), [
    ({"policy": "dedup", "policy_options": {"thresh": 0.5}},
     "unknown option(s) for policy 'dedup': thresh; its options are: similarity"),
    ({"policy": "all", "policy_options": {"x": 1}}, "policy 'all'"),
    ({"policy": "learned", "policy_options": {"checkpoint": "/no/such.pt"}}, "policy 'learned': "),
    ({"backend_options": {"skil": 0.5}}, "back-end 'sim': unknown sim parameter(s): skil"),
])
def test_components_refuse_unknown_options_by_name(kw, needle) -> None:
    cfg = fast_config(**kw)
    cfg.validate()
    with pytest.raises(ConfigError) as ei:
        check_components(cfg)
    assert needle in str(ei.value)


def test_option_json() -> None:
    assert parse_json_object(None, "--x") == {} and parse_json_object('{"a": 1}', "--x") == {"a": 1}
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    for text, needle in [("[1]", "--x must be a JSON object"), ("{", "--x is not valid JSON"),
                         ('{"a": ' + deep + "}", "nested deeper than the limit of 16"),
                         ("[" * 100_000, "nested deeper"), ("1" * 200_000, "characters long")]:
        with pytest.raises(ConfigError, match="--x") as ei:
            parse_json_object(text, "--x")
        assert needle in str(ei.value)


def test_options_per_policy() -> None:
    assert options_per_policy({"similarity": 0.8}, ["dedup", "all"]) == {
        "dedup": {"similarity": 0.8}, "all": {"similarity": 0.8}}
    assert options_per_policy({"dedup": {"similarity": 0.8}}, ["dedup", "all"]) == {
        "dedup": {"similarity": 0.8}, "all": {}}
    with pytest.raises(ConfigError, match="the options of 'dedup' must be a JSON object"):
        options_per_policy({"dedup": 0.8}, ["dedup"])


@pytest.mark.parametrize(("kw", "needle"), [
    ({"policy": "dedup", "policy_options": {"threshold": "abc"}},
     "policy 'dedup': option threshold must be a number, got 'abc'"),
    ({"policy": "dedup", "policy_options": {"similarity": True}},
     "policy 'dedup': option similarity must be a number, got True"),
    ({"policy": "learned", "policy_options": {"sample": "yes"}},
     "policy 'learned': option sample must be true or false, got 'yes'"),
    ({"policy": "llm-judge", "policy_options": {"model": "openai/j", "timeout": "abc"}},
     "policy 'llm-judge': option timeout must be a number, got 'abc'"),
    ({"policy": "llm-judge", "policy_options": {"model": "openai/j", "max_keys": 2.5}},
     "policy 'llm-judge': option max_keys must be a whole number, got 2.5"),
    ({"backend": "openai/m", "backend_options": {"api_base": "http://127.0.0.1:9/v1",
                                                 "timeout": "abc"}},
     "back-end 'openai/m': option timeout must be a number, got 'abc'"),
    ({"backend": "openai/m", "backend_options": {"api_base": "http://127.0.0.1:9/v1",
                                                 "max_stalls": "3"}},
     "back-end 'openai/m': option max_stalls must be a whole number, got '3'"),
    ({"backend_options": {"skill": "high"}}, "back-end 'sim': option skill must be a number"),
])
def test_option_types_are_named(kw, needle) -> None:
    """They used to surface as Python's own text: '<=' not supported between 'float' and 'str'."""
    cfg = fast_config(**kw)
    cfg.validate()
    with pytest.raises(ConfigError) as ei:
        check_components(cfg)
    assert needle in str(ei.value) and "not supported" not in str(ei.value)


@pytest.mark.parametrize(("kw", "needle"), [
    ({"backend": "bogusprov/x"}, "--backend: “bogusprov” is not a provider litellm knows"),
    ({"backend": "openai/m", "backend_options": {"api_base": "not a url"}},
     "--api-base: “not a url” is not an http(s) URL"),
    ({"backend": "openai/gpt-4o-mini"}, "No key for openai in the environment: set OPENAI_API_KEY"),
    ({"policy": "llm-judge", "policy_options": {"model": "anthropic/x"}},
     "No key for anthropic in the environment: set ANTHROPIC_API_KEY (for example "
     "ANTHROPIC_API_KEY=… lts …), or name another variable with --policy-options"),
])
def test_llm_settings_are_checked_before_any_run(kw, needle, monkeypatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    cfg = fast_config(**kw)
    cfg.validate()
    with pytest.raises(ConfigError) as ei:
        check_components(cfg)
    assert needle in str(ei.value)


def test_sim_and_local_servers_need_nothing(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OLLAMA_API_BASE", raising=False)
    for kw in ({}, {"backend": "ollama/qwen3:8b"},
               {"backend": "openai/m", "backend_options": {"api_base": "http://127.0.0.1:9/v1"}}):
        check_components(fast_config(**kw))
