"""The one registry: names, loading, options, and the facts the engine and the UI ask of it."""

from __future__ import annotations

import pytest

from lts_core import registry
from lts_core.registry import (
    BACKENDS,
    EMBEDDERS,
    EXECUTORS,
    POLICIES,
    ConfigError,
    Registry,
    resolve_backend,
)


class Plain:
    simulated = True

    def __init__(self, threshold: float = 0.5, depth: int = 1) -> None:
        self.threshold, self.depth = threshold, depth


class AnyOptions:
    def __init__(self, **options: object) -> None:
        self.options = options


def test_a_registry_loads_targets_lazily_and_names_the_choices_when_asked_for_another() -> None:
    r = Registry("gadget", {"plain": Plain, "lazy": "tests_missing_module:Thing"})
    assert r.names() == ["plain", "lazy"]
    assert r.available() == ["plain"]  # the missing module is not offered
    assert r.find("lazy") is None and r.find("nope") is None
    with pytest.raises(ConfigError, match="gadget 'lazy' is not available in this build"):
        r.load("lazy")
    with pytest.raises(ConfigError, match="unknown gadget 'nope'; choose one of: plain, lazy"):
        r.check("nope")
    r.register("any", AnyOptions)
    assert r.options("plain") == ["threshold", "depth"] and r.takes("plain", "threshold")
    assert r.options("any") is None and not r.takes("any", "threshold")  # it checks its own
    assert r.create("plain", depth=3).depth == 3


def test_every_registered_part_loads_here() -> None:
    for reg in (BACKENDS, POLICIES, EXECUTORS, EMBEDDERS):
        assert reg.available() == reg.names(), reg.kind
        for name in reg.names():
            assert reg.load(name) is not None


def test_the_slash_rule_is_written_once_and_a_registered_name_wins() -> None:
    assert resolve_backend("ollama/qwen3:8b", {"api_base": "x"}) == (
        "llm", {"model": "ollama/qwen3:8b", "api_base": "x"})
    assert resolve_backend("sim", {"seed": 1}) == ("sim", {"seed": 1})
    assert resolve_backend("nonsense", {}) == ("nonsense", {})


def test_facts_about_parts_come_from_their_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.baseline_policy() == "none" and not registry.uses_memory("none")
    assert registry.bound_policies() == ["oracle"]
    assert registry.is_simulated("sim") and not registry.is_simulated("openai/gpt-4o-mini")
    assert not registry.is_simulated("unknown-backend")
    assert registry.backend_help().startswith("sim | llm")
    monkeypatch.setitem(BACKENDS, "toy-sim", Plain)  # a second simulator is labelled as one
    assert registry.is_simulated("toy-sim") and "toy-sim" in registry.backend_help()


def test_no_memory_off_policy_means_no_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(POLICIES, "none")
    with pytest.raises(ConfigError, match="no registered policy runs without memory"):
        registry.baseline_policy()
