"""Agent back-end registry: name -> "module:Class", imported on first use.

``make_backend("sim")`` is the offline simulated agent. Any other name containing a "/" (a litellm
model string such as ``openai/gpt-4o-mini`` or ``ollama/qwen3:8b``) selects the ``llm`` back-end with
that model.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import (
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

BACKENDS: dict[str, str] = {
    "sim": "lts_core.backends.sim:SimBackend",
    "llm": "lts_core.backends.llm:LLMBackend",
}


def make_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS and "/" in name:
        options = {"model": name, **options}
        name = "llm"
    if name not in BACKENDS:
        raise ValueError(f"unknown back-end {name!r}: use 'sim' or a litellm model string "
                         "such as 'openai/gpt-4o-mini'")
    mod_name, cls_name = BACKENDS[name].split(":")
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise ValueError(f"back-end {name!r} is not available in this build ({e})") from e
    return getattr(mod, cls_name)(**options)


__all__ = ["ACTIONS", "Action", "Agent", "BACKENDS", "Backend", "BackendContext", "LLMUsage",
           "TeamView", "ToolOutput", "make_backend", "majority_vote"]
