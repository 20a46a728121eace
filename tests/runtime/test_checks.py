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
