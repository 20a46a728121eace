"""Admission policies. The names live in the one registry (``lts_core.registry.POLICIES``);
these helpers read it.

Adding a policy is adding a module and one ``register_policy`` call (or one line in the registry).
"""

from __future__ import annotations

from typing import Any

from lts_core.policies.base import (
    AdmissionContext,
    AdmissionDecision,
    AdmissionPolicy,
    nearest_keys,
)
from lts_core.registry import POLICIES, score_label, uses_memory


def register_policy(name: str, target: Any) -> None:
    POLICIES.register(name, target)


def available_policies() -> list[str]:
    """Names whose module can be imported here."""
    return POLICIES.available()


def policy_class(name: str) -> type[AdmissionPolicy] | None:
    """The class registered as ``name`` (None when unknown or not importable); builds nothing."""
    return POLICIES.find(name)


def make_policy(name: str, **options: Any) -> AdmissionPolicy:
    """A new policy ``name`` built with ``options``; ConfigError (a ValueError) names the choices."""
    return POLICIES.create(name, **options)


__all__ = ["AdmissionContext", "AdmissionDecision", "AdmissionPolicy", "POLICIES", "make_policy",
           "available_policies", "nearest_keys", "policy_class", "register_policy", "score_label",
           "uses_memory"]
