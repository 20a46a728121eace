"""One registry for the swappable parts: back-ends, admission policies, executors, embedders.

A registry maps a name to a target: ``"module:Class"`` (imported on first use, so a part with a
heavy or missing dependency costs nothing until chosen) or the class itself. Everything that offers
a choice asks a registry: ``RunConfig.validate`` checks every name before a run starts, and the
command line and the dashboard's Launch form build their choices from ``names()`` / ``available()``.
Facts about a part are attributes of its class (a policy's ``uses_memory``, ``score_label``), read
with ``find(name)`` (``load(name)`` raises instead of returning None); nothing outside the part tests its name.

Adding a part is a module and one ``register`` call::

    >>> from lts_core.registry import POLICIES
    >>> "dedup" in POLICIES.names()
    True
    >>> POLICIES.find("none").uses_memory
    False
    >>> resolve_backend("openai/gpt-4o-mini", {})
    ('llm', {'model': 'openai/gpt-4o-mini'})

This module imports nothing else from ``lts_core`` (it is the bottom layer).
Thread-safety: reads are safe from any thread; register parts at import time.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any


class ConfigError(ValueError):
    """A setting is wrong; the message names the setting and the allowed values."""


class Registry(MutableMapping[str, Any]):
    """name -> target (``"module:Class"`` or a class) for one kind of part."""

    def __init__(self, kind: str, targets: dict[str, Any], *, hint: str = "") -> None:
        self.kind, self.hint = kind, hint
        self._targets = dict(targets)

    # a mapping of names to targets (tests swap entries with monkeypatch.setitem)
    def __getitem__(self, name: str) -> Any:
        return self._targets[name]

    def __setitem__(self, name: str, target: Any) -> None:
        self._targets[name] = target

    def __delitem__(self, name: str) -> None:
        del self._targets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def register(self, name: str, target: Any) -> None:
        """Add or replace ``name``; ``target`` is ``"module:Class"`` or the class."""
        self._targets[name] = target

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._targets)

    def available(self) -> list[str]:
        """Names whose module can be imported here (what a chooser should offer)."""
        out = []
        for name, target in self._targets.items():
            if not isinstance(target, str) or importlib.util.find_spec(target.split(":")[0]):
                out.append(name)
        return out

    def check(self, name: object) -> None:
        """Raise ConfigError naming the choices when ``name`` is not registered."""
        if not isinstance(name, str) or name not in self._targets:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: "
                              f"{', '.join(self._targets)}{self.hint}")

    def load(self, name: str) -> Any:
        """The class registered as ``name``; ConfigError when unknown or not importable here."""
        self.check(name)
        target = self._targets[name]
        if not isinstance(target, str):
            return target
        mod_name, attr = target.split(":")
        try:
            return getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"{self.kind} {name!r} is not available in this build ({e})") from e

    def find(self, name: str) -> Any | None:
        """The class registered as ``name``, or None (unknown, or not importable); raises nothing."""
        try:
            return self.load(name)
        except ConfigError:
            return None

    def options(self, name: str) -> list[str] | None:
        """The keyword options ``name``'s class takes; None when it takes any (it checks them)."""
        cls = self.load(name)
        if cls.__init__ is object.__init__:
            return []
        params = inspect.signature(cls.__init__).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return None
        return [p.name for p in params if p.name != "self" and p.kind is not p.VAR_POSITIONAL]

    def takes(self, name: str, option: str) -> bool:
        """Whether ``name`` names ``option`` among its options (what a form may offer for it)."""
        return option in (self.options(name) or [])

    def create(self, name: str, **options: Any) -> Any:
        """A new instance of ``name`` built with ``options``."""
        return self.load(name)(**options)


BACKENDS = Registry("back-end", {
    "sim": "lts_core.backends.sim:SimBackend",
    "llm": "lts_core.backends.llm:LLMBackend",
}, hint=", or a litellm model string such as 'openai/gpt-4o-mini'")

POLICIES = Registry("policy", {
    "none": "lts_core.policies.simple:NoMemory",
    "all": "lts_core.policies.simple:AdmitAll",
    "dedup": "lts_core.policies.simple:Dedup",
    "learned": "lts_core.policies.learned:LearnedPolicy",
    "llm-judge": "lts_core.policies.llm_judge:LLMJudgePolicy",
    "oracle": "lts_core.policies.oracle:OraclePolicy",
})

EXECUTORS = Registry("executor", {
    "virtual": "lts_core.runtime.executors:VirtualExecutor",
    "threads": "lts_core.runtime.executors:ThreadExecutor",
})

EMBEDDERS = Registry("embedder", {
    "minilm": "lts_core.world.embeddings:MiniLMEmbedder",
    "hash": "lts_core.world.embeddings:HashEmbedder",
})


def resolve_backend(name: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(registered back-end, its options): a name that is not registered but contains "/" is a
    litellm model string for the ``llm`` back-end. The one place that rule is written."""
    if isinstance(name, str) and name not in BACKENDS and "/" in name:
        return "llm", {"model": name, **options}
    return name, dict(options)


def backend_help() -> str:
    """The back-ends a user may name, in words (help texts and forms quote this)."""
    return " | ".join(BACKENDS.names()) + ', or a litellm model string "provider/model"'


def uses_memory(policy: str) -> bool:
    """Whether runs of ``policy`` have a shared bank (unknown names: assume they do)."""
    cls = POLICIES.find(policy)
    return True if cls is None else bool(cls.uses_memory)


def score_label(policy: str) -> str:
    """What ``policy``'s admission score measures, in words (the dashboard's axis label)."""
    cls = POLICIES.find(policy)
    return "admission score" if cls is None else str(cls.score_label)


def memory_off_policies() -> list[str]:
    """The registered policies whose runs have no bank (the M1-Parallel reference)."""
    return [p for p in POLICIES if not uses_memory(p)]


def baseline_policy() -> str:
    """The reference every saving is measured against: the first registered memory-off policy."""
    off = memory_off_policies()
    if not off:
        raise ConfigError("no registered policy runs without memory: nothing to measure against")
    return off[0]


def bound_policies() -> list[str]:
    """Registered policies that are bounds, not contenders (``is_bound``: they read what only the
    simulator knows, so they run only with a simulated back-end)."""
    return [p for p in POLICIES if getattr(POLICIES.find(p), "is_bound", False)]


def is_simulated(backend: str) -> bool:
    """Whether ``backend`` (a registered name or a litellm model string) is a simulator; asked of
    the back-end's class, so results can be labelled SIMULATED. Unknown names: False."""
    name, _ = resolve_backend(backend, {})
    return bool(getattr(BACKENDS.find(name), "simulated", False))
