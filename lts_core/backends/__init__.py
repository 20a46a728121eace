"""Agent back-ends. The names live in the one registry (``lts_core.registry.BACKENDS``).

``make_backend("sim")`` is the offline simulated agent. Any other name containing a "/" (a litellm
model string such as ``openai/gpt-4o-mini`` or ``ollama/qwen3:8b``) selects the ``llm`` back-end with
that model.
"""

from __future__ import annotations

from typing import Any

from lts_core.backends.base import (
    ACTIONS,
    Action,
    Agent,
    Backend,
    BackendContext,
    LLMUsage,
    TeamView,
    ToolOutput,
    majority_vote,
)
from lts_core.registry import BACKENDS, resolve_backend


def make_backend(name: str, **options: Any) -> Backend:
    """A new back-end; a litellm model string selects ``llm`` (``registry.resolve_backend``)."""
    name, options = resolve_backend(name, options)
    return BACKENDS.create(name, **options)


__all__ = ["ACTIONS", "Action", "Agent", "BACKENDS", "Backend", "BackendContext", "LLMUsage",
           "TeamView", "ToolOutput", "make_backend", "majority_vote"]
