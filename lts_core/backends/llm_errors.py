"""What can go wrong with a model call, and reading JSON out of a reply.

- ``LLMError`` (a call failed for good, with the failed attempts as ``usages``), ``LLMCancelled``,
  and the attempt-level faults ``CallTimeout`` and ``EmptyReply``;
- ``classify(e)``: ``retry`` (transient: 408/409/425/429, 5xx, timeouts, connection errors),
  ``format`` (400/422: maybe the response format was refused) or ``fatal``;
- ``CallResult``: a reply, its usage and the attempts that failed before it; ``mark_unusable``;
- ``extract_json``: the JSON object in a reply (fenced, or the outermost braces), bounded.

Used by ``llm_client`` (the retry loop) and its callers. Thread-safety: pure functions and records.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lts_core.backends.base import LLMUsage
from lts_core.faults import one_line

_RETRY_STATUS = {408, 409, 425, 429}


class LLMError(RuntimeError):
    """A model call failed for good (retries exhausted or a non-retryable error)."""

    def __init__(self, message: str, usages: list[LLMUsage] | None = None) -> None:
        super().__init__(message)
        self.usages = list(usages or [])


class LLMCancelled(LLMError):
    """The run was cancelled (or stopped by the first answer) while a call was in flight."""


class CallTimeout(TimeoutError):
    """An attempt got no reply within the client's ``timeout`` (retried like any timeout)."""


class EmptyReply(RuntimeError):
    """The provider answered without any choice (retried like a server error)."""


@dataclass
class CallResult:
    text: str
    usage: LLMUsage
    failed: list[LLMUsage] = field(default_factory=list)  # attempts that failed before this one
    logprobs: list[Any] | None = None  # the first choice's per-token logprobs, when asked and given
    mode: str = "none"  # the response format that was used

    @property
    def usages(self) -> list[LLMUsage]:
        return [*self.failed, self.usage]


def mark_unusable(u: LLMUsage, why: str) -> LLMUsage:
    """Record that a call answered but its reply could not be used (``ok = False``)."""
    u.ok = False
    u.error = one_line(f"unusable reply: {why}", 600)
    return u


# ----------------------------------------------------------------------------- JSON parsing
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (code fences and chatter around it tolerated).

    >>> extract_json('Sure! ```json\\n{"a": 1}\\n``` done')
    {'a': 1}
    >>> extract_json('prefix {"b": [1, 2]} trailing {"c": 3}')
    {'b': [1, 2]}
    """
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    dec = json.JSONDecoder()
    last_err = "no '{' in the reply"
    for cand in candidates:
        for m in re.finditer(r"\{", cand):
            try:
                obj, _ = dec.raw_decode(cand, m.start())
            except json.JSONDecodeError as e:
                last_err = f"invalid JSON: {e.msg} at char {e.pos}"
                continue
            if isinstance(obj, dict):
                return obj
    raise ValueError(f"no JSON object found in the reply ({last_err})")


# ----------------------------------------------------------------------------- the client
def _status(e: BaseException) -> int | None:
    s = getattr(e, "status_code", None)
    if isinstance(s, int):
        return s
    resp = getattr(e, "response", None)
    s = getattr(resp, "status_code", None)
    return s if isinstance(s, int) else None


def retry_after(e: BaseException) -> float | None:
    for src in (getattr(e, "response", None), e):
        headers = getattr(src, "headers", None) or getattr(src, "litellm_response_headers", None)
        try:
            v = headers.get("retry-after") if headers is not None else None
        except Exception:  # noqa: BLE001 - headers of unknown shape
            v = None
        if v is not None:
            try:
                return max(0.0, float(v))
            except ValueError:
                return None
    return None


def classify(e: BaseException) -> str:
    """``retry`` (transient), ``format`` (the request was refused: maybe the response format) or
    ``fatal``."""
    import litellm

    if isinstance(e, litellm.ContextWindowExceededError | litellm.AuthenticationError
                  | litellm.PermissionDeniedError | litellm.NotFoundError):
        return "fatal"
    if isinstance(e, litellm.Timeout | litellm.APIConnectionError | litellm.RateLimitError
                  | litellm.InternalServerError | litellm.ServiceUnavailableError
                  | litellm.BadGatewayError):
        return "retry"
    status = _status(e)
    if status is not None:
        if status in _RETRY_STATUS or status >= 500:
            return "retry"
        if status in (400, 422):
            return "format"
        return "fatal"
    if isinstance(e, litellm.BadRequestError | litellm.UnprocessableEntityError):
        return "format"
    if isinstance(e, TimeoutError | ConnectionError | EmptyReply):
        return "retry"
    return "fatal"


