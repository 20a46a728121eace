"""An LLM back-end's settings, checked before any run: the model string, the API base, the key.

``llm_problems(model, api_base, options)`` says in words what is wrong (an empty list: nothing), so
a bad setting is found before the database is opened, not by a failed run after four attempts per
team. The ``lts`` commands call it through ``lts_core.runtime.checks`` (``check_llm_settings``); the
dashboard's Launch form through ``app/form_checks.py``. What is checked:

- the model is ``provider/model`` with a provider litellm knows (or one registered with litellm's
  ``custom_provider_map``);
- an API base is an http(s) URL (``url_problem``);
- the provider's key is in this process's environment (``api_key_env`` may name the variable),
  except where none is needed: a local OpenAI-compatible server (``openai/`` or ``hosted_vllm/``
  with an API base) and local providers whose server litellm finds by itself (``ollama/`` at
  http://localhost:11434 unless ``OLLAMA_API_BASE`` or an API base says otherwise). A setting that
  is a server address (``AZURE_API_BASE``) is met by an API base.

The ``sim`` back-end needs none of this, and nothing here runs for it (litellm takes seconds to
import). Keys are looked up, never shown.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

KEYLESS_WITH_BASE = ("openai", "hosted_vllm")  # a local OpenAI-compatible server needs no key
LOCAL_PROVIDERS = ("ollama", "ollama_chat", "lm_studio")  # litellm defaults their server; no key
CLI_KEY_HINT = ("set {vars} (for example {first}=… lts …), or name another variable with "
                "{flag} '{{\"api_key_env\": \"VAR\"}}'")


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) server address, or None when it is one."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return f"“{url}” is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url.strip():
        return f"“{url}” is not an http(s) URL such as http://127.0.0.1:8000/v1"
    return None


@functools.cache
def known_providers() -> frozenset[str]:
    """litellm's provider names (imported on first use: litellm takes seconds to import)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download
    import litellm

    return frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)


def _custom_providers() -> set[str]:
    import litellm

    return {str(p.get("provider")) for p in (litellm.custom_provider_map or [])}


def llm_problems(model: str, api_base: str | None = None, options: Mapping[str, Any] | None = None,
                 *, model_label: str = "--backend", base_label: str = "--api-base",
                 options_flag: str = "--backend-options", where: str = "the environment",
                 key_hint: str = CLI_KEY_HINT) -> list[str]:
    """What is wrong with an LLM setting before any run (see the module docstring); each message
    starts with the setting's label. ``key_hint`` says how to give a key ({vars}, {first}, and
    {flag}: ``options_flag``, where ``api_key_env`` goes)."""
    model, api_base = (model or "").strip(), (api_base or "").strip()
    options = options or {}
    provider, slash, name = model.partition("/")
    if not slash or not provider or not name:
        return [f"{model_label}: write a litellm model string, provider/model, such as "
                "openai/gpt-4o-mini"]
    out: list[str] = []
    if provider not in known_providers() | _custom_providers():
        out.append(f"{model_label}: “{provider}” is not a provider litellm knows; start the model "
                   "with one, e.g. openai/, anthropic/, ollama/ or hosted_vllm/")
    if api_base and (why := url_problem(api_base)) is not None:
        out.append(f"{base_label}: {why}")
    if out or options.get("api_key"):
        return out
    env_var = options.get("api_key_env")
    if env_var:
        if not os.environ.get(str(env_var)):
            out.append(f"{model_label}: api_key_env names {env_var}, which is not set in {where}")
        return out
    missing = missing_keys(model, api_base)
    if missing:
        hint = key_hint.format(vars=" and ".join(missing), first=missing[0], flag=options_flag)
        out.append(f"No key for {provider} in {where}: {hint}")
    return out


def missing_keys(model: str, api_base: str | None = None) -> list[str]:
    """The environment variables ``model`` needs that are not set (none for local servers)."""
    provider = model.split("/", 1)[0]
    if provider in LOCAL_PROVIDERS or (api_base and provider in KEYLESS_WITH_BASE):
        return []
    import litellm

    try:
        found = litellm.validate_environment(model=model)
    except Exception:  # noqa: BLE001 - litellm could not tell: the run will say
        return []
    missing = [k for k in found.get("missing_keys") or [] if not os.environ.get(k)]
    if api_base:
        missing = [k for k in missing if not k.endswith("_API_BASE")]
    return missing
