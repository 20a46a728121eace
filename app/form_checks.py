"""The Launch form's checks, in words a user understands. No Streamlit.

Each check returns a message (plain text: the page escapes it) or raises ``ValueError`` with one;
the form shows every message and keeps its start button disabled until none is left.
"""

from __future__ import annotations

import functools
import os

from app.exposure import ApiBasePolicy, url_problem

SEED_HELP = "use whole numbers: 0, or 0,1,2, or a range 0-4"
MAX_SEED = 2**31 - 1
KEYLESS_WITH_BASE = ("openai", "hosted_vllm")  # a local OpenAI-compatible server needs no key


def parse_seeds(text: str) -> list[int]:
    """"0", "0,1,2" or "0-4" -> seeds. Raises ValueError with a readable message."""
    out: list[int] = []
    for part in (text or "0").replace(" ", "").split(","):
        if not part:
            continue
        lo_s, dash, hi_s = part.partition("-")
        if not _digits(lo_s) or (dash and not _digits(hi_s)):
            raise ValueError(f"“{part}” is not a seed; {SEED_HELP}")
        lo, hi = int(lo_s), int(hi_s) if dash else int(lo_s)
        if max(lo, hi) > MAX_SEED:
            raise ValueError(f"“{part}”: seeds go from 0 to {MAX_SEED:,}")
        if hi < lo or hi - lo > 99:
            raise ValueError(f"the range “{part}” must go up and span at most 100 seeds")
        out += list(range(lo, hi + 1))
    return list(dict.fromkeys(out)) or [0]


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def int_problem(label: str, value: object, lo: int, hi: int) -> str | None:
    """Why ``value`` is not a whole number from ``lo`` to ``hi``, or None."""
    if value is None:
        return f"{label}: enter a whole number from {lo} to {hi}"
    if isinstance(value, float) and not value.is_integer():
        return f"{label} must be a whole number from {lo} to {hi}, not {value}"
    if not lo <= value <= hi:  # type: ignore[operator]
        return f"{label} must be from {lo} to {hi}, not {int(value)}"  # type: ignore[call-overload]
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


def llm_problems(model: str, api_base: str, policy: ApiBasePolicy) -> list[str]:
    """What is wrong with an LLM back-end setting before any run is started (empty: nothing).

    Keys are looked up in this process's environment (the one runs will use)."""
    model, api_base = model.strip(), api_base.strip()
    provider, slash, name = model.partition("/")
    if not slash or not provider or not name:
        return ["Model: write a litellm model string, provider/model, such as openai/gpt-4o-mini"]
    out: list[str] = []
    if provider not in known_providers() | _custom_providers():
        out.append(f"Model: “{provider}” is not a provider litellm knows; start the model with "
                   "one, e.g. openai/, anthropic/, ollama/ or hosted_vllm/")
    if api_base:
        if (why := url_problem(api_base)) is not None:
            out.append(f"API base: {why}")
        elif (why := policy.problem(api_base)) is not None:
            out.append(f"API base: {why}")
    if out:
        return out
    missing = _missing_keys(model, api_base)
    if missing:
        out.append(f"No key for {provider} in the dashboard's environment: start the dashboard with "
                   f"{' and '.join(missing)} set (for example {missing[0]}=… make run); the form "
                   "never asks for keys")
    return out


def _missing_keys(model: str, api_base: str) -> list[str]:
    provider = model.split("/", 1)[0]
    if api_base and provider in KEYLESS_WITH_BASE:
        return []
    import litellm

    try:
        found = litellm.validate_environment(model=model)
    except Exception:  # litellm could not tell: the run will say
        return []
    missing = [k for k in found.get("missing_keys") or [] if not os.environ.get(k)]
    if api_base:
        missing = [k for k in missing if not k.endswith("_API_BASE")]
    return missing
