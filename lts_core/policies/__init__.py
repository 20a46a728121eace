"""Admission-policy registry: name -> "module:Class", imported on first use.

Adding a policy is adding a module and one line here (or calling ``register_policy`` from a plugin).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from .base import AdmissionContext, AdmissionDecision, AdmissionPolicy, nearest_keys

POLICIES: dict[str, str] = {
    "none": "lts_core.policies.simple:NoMemory",
    "all": "lts_core.policies.simple:AdmitAll",
    "dedup": "lts_core.policies.simple:Dedup",
    "learned": "lts_core.policies.learned:LearnedPolicy",
    "llm-judge": "lts_core.policies.llm_judge:LLMJudgePolicy",
    "oracle": "lts_core.policies.oracle:OraclePolicy",
}


def register_policy(name: str, target: str) -> None:
    POLICIES[name] = target


def available_policies() -> list[str]:
    """Names whose module can be imported here."""
    out = []
    for name, target in POLICIES.items():
        mod = target.split(":")[0]
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out


def policy_class(name: str) -> type[AdmissionPolicy] | None:
    """The class registered as ``name`` (None when unknown or not importable); builds nothing."""
    if name not in POLICIES:
        return None
    mod_name, cls_name = POLICIES[name].split(":")
    try:
        return getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError):
        return None


def uses_memory(name: str) -> bool:
    """Whether runs of policy ``name`` have a shared bank (unknown names: assume they do)."""
    cls = policy_class(name)
    return True if cls is None else bool(cls.uses_memory)


def score_label(name: str) -> str:
    """What policy ``name``'s admission score measures, in words."""
    cls = policy_class(name)
    return "admission score" if cls is None else str(cls.score_label)


def make_policy(name: str, **options: Any) -> AdmissionPolicy:
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of: {', '.join(POLICIES)}")
    mod_name, cls_name = POLICIES[name].split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise ValueError(f"policy {name!r} is not available in this build ({e})") from e
    return getattr(mod, cls_name)(**options)


__all__ = ["AdmissionContext", "AdmissionDecision", "AdmissionPolicy", "POLICIES", "make_policy",
           "available_policies", "nearest_keys", "policy_class", "register_policy", "score_label",
           "uses_memory"]
