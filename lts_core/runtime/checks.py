"""Settings checks that run before anything starts: names, numbers, option JSON.

- ``check_config(cfg)`` (called by ``RunConfig.validate``): every name (policy, back-end, executor,
  embedder) is known, every number is a number in range, options are JSON objects. Cheap: imports
  nothing heavy.
- ``check_components(cfg)``: builds the policy and back-end once, so an unknown or wrong option is
  reported by name before the first run (the learned policy loads its checkpoint here). Before
  that, each option whose type the class declares (``option_kinds``: its ``__init__`` and the
  ``option_sources`` its ``**options`` go to) must have a value of that type, and an LLM back-end's
  (or llm-judge's own) model, API base and key are checked (``lts_core.backends.llm_checks``).
  ``check_backend`` is the back-end's half (``lts train``).
- ``parse_json_object`` / ``options_per_policy``: the ``--*-options`` flags of the command line.

Every problem raises ``ConfigError`` naming the setting, what is wrong and what is allowed.
"""

from __future__ import annotations

import dataclasses
import inspect
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
    """Build the run's policy and back-end once; an option they refuse becomes a ConfigError. An
    LLM back-end's (and an llm-judge's own) model, API base and key are checked first
    (``check_llm_settings``)."""
    from lts_core.policies import make_policy

    known = POLICIES.options(cfg.policy)
    unknown = sorted(set(cfg.policy_options) - set(known)) if known is not None else []
    if unknown:
        allowed = f"its options are: {', '.join(known)}" if known else "it takes no options"
        raise ConfigError(f"unknown option(s) for policy {cfg.policy!r}: {', '.join(unknown)}; "
                          f"{allowed}")
    check_option_types(f"policy {cfg.policy!r}", POLICIES.find(cfg.policy), cfg.policy_options)
    check_backend(cfg.backend, cfg.backend_options)
    if cfg.policy == "llm-judge" and cfg.policy_options.get("model"):  # the judge's own model
        judge = cfg.policy_options
        check_llm_settings(judge["model"], judge, what="llm-judge model", flag="--policy-options",
                           base="llm-judge api_base")
    try:
        make_policy(cfg.policy, **cfg.policy_options)
    except (TypeError, ValueError, OSError) as e:
        raise ConfigError(f"policy {cfg.policy!r}: {e}") from e


def check_backend(backend: str, options: dict[str, Any]) -> None:
    """The back-end's option types, an LLM's model, API base and key, then the back-end built once
    (``lts train`` calls this alone; it has no policy to build)."""
    from lts_core.backends import make_backend

    name, opts = resolve_backend(backend, options)
    check_option_types(f"back-end {backend!r}", BACKENDS.find(name), opts)
    check_llm_settings(backend, options)
    try:
        make_backend(backend, **options)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"back-end {backend!r}: {e}") from e


def check_llm_settings(backend: str, options: dict[str, Any], *, what: str = "--backend",
                       base: str = "--api-base", flag: str = "--backend-options") -> None:
    """An LLM back-end's model string, API base and key (``lts_core.backends.llm_checks``), before
    any run or database; the ``sim`` back-end (anything not ``llm``) needs nothing."""
    name, opts = resolve_backend(backend, options)
    if name != "llm":
        return
    from lts_core.backends.llm_checks import llm_problems

    api_base = opts.get("api_base")
    problems = llm_problems(str(opts.get("model") or ""),
                            api_base if isinstance(api_base, str) else None, opts,
                            model_label=what, base_label=base, options_flag=flag)
    if problems:
        raise ConfigError("; ".join(problems))


def _expected(annotation: Any, default: Any) -> tuple[str | None, bool]:
    """(kind, None allowed) of an option: kind is bool, int, float, str or None (not checked)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kinds = {t.strip() for t in text.split("|")} - {""}
    none_ok = "None" in kinds or default is None
    kinds.discard("None")
    if not kinds and default is not None:
        kinds = {type(default).__name__}
    for kind in ("bool", "int", "str"):
        if kinds == {kind}:
            return kind, none_ok
    return ("float" if kinds and kinds <= {"int", "float"} else None), none_ok


def option_kinds(cls: Any) -> dict[str, tuple[str | None, bool]]:
    """option -> (kind, None allowed), from ``cls.__init__`` and the classes its ``**options`` go
    to (``cls.option_sources``: dataclasses or classes)."""
    out: dict[str, tuple[str | None, bool]] = {}
    for src in (cls, *getattr(cls, "option_sources", ())):
        if dataclasses.is_dataclass(src):
            for f in dataclasses.fields(src):
                out.setdefault(f.name, _expected(f.type, f.default))
            continue
        if src.__init__ is object.__init__:
            continue
        for p in inspect.signature(src.__init__).parameters.values():
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                ann = "" if p.annotation is p.empty else p.annotation
                out.setdefault(p.name, _expected(ann, None if p.default is p.empty else p.default))
    return out


_KIND_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number",
               "str": "a string"}


def check_option_types(what: str, cls: Any, options: dict[str, Any]) -> None:
    """Each option of a known type has a value of that type (JSON gives strings where a number was
    meant); a ConfigError names the option and the type expected."""
    if cls is None:
        return
    kinds = option_kinds(cls)
    for name, value in options.items():
        kind, none_ok = kinds.get(name, (None, True))
        if kind is None or (value is None and none_ok):
            continue
        ok = {"bool": isinstance(value, bool), "str": isinstance(value, str),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "float": _number(value)}[kind]
        if not ok:
            raise ConfigError(f"{what}: option {name} must be {_KIND_WORDS[kind]}, got {value!r:.60}")


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
