"""The Launch form's checks, in words a user understands. No Streamlit.

Each check returns a message (plain text: the page escapes it) or raises ``ValueError`` with one;
the form shows every message and keeps its start button disabled until none is left.
"""

from __future__ import annotations

from app.exposure import ApiBasePolicy
from lts_core.backends import llm_checks

SEED_HELP = "use whole numbers: 0, or 0,1,2, or a range 0-4"
MAX_SEED = 2**31 - 1


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


DASHBOARD_KEY_HINT = ("start the dashboard with {vars} set (for example {first}=… make run); the "
                      "form never asks for keys")


def llm_problems(model: str, api_base: str, policy: ApiBasePolicy) -> list[str]:
    """What is wrong with an LLM back-end setting before any run is started (empty: nothing):
    ``lts_core.backends.llm_checks`` (the checks ``lts run`` makes too), then this dashboard's
    API-base policy. Keys are looked up in this process's environment (the one runs will use)."""
    out = llm_checks.llm_problems(model, api_base, model_label="Model", base_label="API base",
                                  where="the dashboard's environment", key_hint=DASHBOARD_KEY_HINT)
    base_ok = bool(api_base.strip()) and llm_checks.url_problem(api_base) is None
    if base_ok and (why := policy.problem(api_base)) is not None:
        out = [p for p in out if not p.startswith("No key for")] + [f"API base: {why}"]
    return out
