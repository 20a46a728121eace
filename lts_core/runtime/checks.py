"""Settings checks that run before anything starts: names, numbers, option JSON.

- ``check_config(cfg)`` (called by ``RunConfig.validate``): every name (policy, back-end, executor,
  embedder) is known, every number is a number in range, options are JSON objects. Cheap: imports
  nothing heavy.
- ``check_components(cfg)``: builds the policy and back-end once, so an unknown or wrong option is
  reported by name before the first run (the learned policy loads its checkpoint here).
- ``parse_json_object`` / ``options_per_policy``: the ``--*-options`` flags of the command line.

Every problem raises ``ConfigError`` naming the setting, what is wrong and what is allowed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from lts_core.limits import MAX_OPTION_JSON_CHARS, JSONProblem, load_json
from lts_core.registry import BACKENDS, EMBEDDERS, EXECUTORS, POLICIES, ConfigError, resolve_backend

if TYPE_CHECKING:
    from lts_core.runtime.run_config import RunConfig


def _int(cfg: RunConfig, name: str, lo: int, hi: int | None = None) -> None:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name} must be a whole number, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {v}" if hi is not None
                          else f"{name} must be at least {lo}, got {v}")


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def backend_known(name: str) -> bool:
    return isinstance(name, str) and resolve_backend(name, {})[0] in BACKENDS


def check_config(cfg: RunConfig) -> None:
    """Names, numbers and option types of one run's settings (see the module docstring)."""
    POLICIES.check(cfg.policy)
    if not backend_known(cfg.backend):
        raise ConfigError(f"unknown back-end {cfg.backend!r}: use 'sim' or a litellm model string "
                          "such as 'openai/gpt-4o-mini'")
    EMBEDDERS.check(cfg.embedder)
    if cfg.executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {cfg.executor!r}")
    _int(cfg, "teams", 1, 64)
    _int(cfg, "max_steps", 1, 500)
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int):
        raise ConfigError(f"seed must be a whole number, got {cfg.seed!r}")
    _int(cfg, "top_k", 1, 100)
    _int(cfg, "max_fetch_chars", 100)
    if not _number(cfg.speed) or cfg.speed <= 0:
        raise ConfigError(f"speed must be positive and finite, got {cfg.speed!r}")
    if cfg.web_failure is not None and not (_number(cfg.web_failure) and 0 <= cfg.web_failure <= 1):
        raise ConfigError(f"web_failure must be between 0 and 1, got {cfg.web_failure!r}")
    for name in ("policy_options", "backend_options"):
        opts = getattr(cfg, name)
        if not isinstance(opts, dict) or not all(isinstance(k, str) for k in opts):
            raise ConfigError(f"{name} must be a JSON object (name: value), got {opts!r:.80}")


def check_components(cfg: RunConfig) -> None:
    """Build the run's policy and back-end once; an option they refuse becomes a ConfigError."""
    from lts_core.backends import make_backend
    from lts_core.policies import make_policy

    known = POLICIES.options(cfg.policy)
    unknown = sorted(set(cfg.policy_options) - set(known)) if known is not None else []
    if unknown:
        allowed = f"its options are: {', '.join(known)}" if known else "it takes no options"
        raise ConfigError(f"unknown option(s) for policy {cfg.policy!r}: {', '.join(unknown)}; "
                          f"{allowed}")
    try:
        make_policy(cfg.policy, **cfg.policy_options)
    except (TypeError, ValueError, OSError) as e:
        raise ConfigError(f"policy {cfg.policy!r}: {e}") from e
    try:
        make_backend(cfg.backend, **cfg.backend_options)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"back-end {cfg.backend!r}: {e}") from e


def parse_json_object(text: str | None, flag: str) -> dict[str, Any]:
    """The JSON object given to ``flag`` ({} when absent); a ConfigError says what is wrong."""
    if not text:
        return {}
    if len(text) > MAX_OPTION_JSON_CHARS:
        raise ConfigError(f"{flag} is {len(text):,} characters long; the limit is "
                          f"{MAX_OPTION_JSON_CHARS:,}")
    try:
        obj = load_json(text)
    except JSONProblem as e:
        raise ConfigError(f"{flag} is {e}: {text!r:.80}" if e.syntax else f"{flag}: {e}") from e
    if not isinstance(obj, dict):
        raise ConfigError(f"{flag} must be a JSON object such as '{{\"name\": value}}', got "
                          f"a JSON {type(obj).__name__}: {text!r:.80}")
    return obj


def backend_options_of(text: str | None, api_base: str | None) -> dict[str, Any]:
    """The back-end options of ``--backend-options`` (JSON) and ``--api-base``."""
    opts = parse_json_object(text, "--backend-options")
    if api_base:
        opts["api_base"] = api_base
    return opts


def options_per_policy(opts: dict[str, Any], policies: list[str]) -> dict[str, dict[str, Any]]:
    """``--policy-options`` for each policy: keyed by policy name, or one object for all."""
    keyed = [k for k in opts if k in POLICIES]
    if not keyed:
        return {p: dict(opts) for p in policies}
    plain = [k for k in opts if k not in POLICIES]
    if plain:
        raise ConfigError(f"--policy-options mixes per-policy objects ({', '.join(keyed)}) with "
                          f"plain options ({', '.join(plain)}); key every option by policy name")
    for k in keyed:
        if not isinstance(opts[k], dict):
            raise ConfigError(f"--policy-options: the options of {k!r} must be a JSON object, got "
                              f"{opts[k]!r:.60}")
    unused = [k for k in keyed if k not in policies]
    if unused:
        raise ConfigError(f"--policy-options names {', '.join(map(repr, unused))}, which --policy "
                          f"does not run ({', '.join(policies)})")
    return {p: dict(opts.get(p, {})) for p in policies}
