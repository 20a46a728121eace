"""How a fault is written down: a one-line message for users and a detail for developers.

``error_message(e)`` is what goes into ``runs.error`` / ``teams.error`` and what ``lts show`` and the
dashboard print: ``"<ExceptionType>: <message>"`` on one line, secrets masked, at most
``MESSAGE_CHARS`` characters. ``error_detail(e)`` is the traceback for ``*.error_detail`` (secrets
masked, at most ``DETAIL_CHARS``). ``one_line`` flattens any text the same way.

``usages_of(e)`` / ``attach_usages(e, usages)``: model calls made before an exception travel with it
(``e.usages``), so that the engine can record them even though the step failed.

Thread-safety: pure functions.
"""

from __future__ import annotations

import traceback
from typing import Any

from lts_core.secrets import redact_text

MESSAGE_CHARS = 300
DETAIL_CHARS = 8000


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` on one line (whitespace runs collapsed), secrets masked, cut to ``limit``."""
    flat = " ".join(redact_text(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_message(e: BaseException, limit: int = MESSAGE_CHARS) -> str:
    """``"<Type>: <message>"`` on one line, secrets masked (the message users see)."""
    msg = str(e).strip()
    return one_line(f"{type(e).__name__}: {msg}" if msg else type(e).__name__, limit)


def error_detail(e: BaseException, limit: int = DETAIL_CHARS) -> str:
    """The exception's traceback, secrets masked, its last ``limit`` characters."""
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return redact_text(tb)[-limit:]


def usages_of(e: BaseException) -> list[Any]:
    """The model calls carried by an exception (``LLMError.usages`` or attached ones)."""
    u = getattr(e, "usages", None)
    return list(u) if isinstance(u, list) else []


def attach_usages(e: BaseException, before: list[Any]) -> None:
    """Prepend ``before`` (calls made earlier in the same step) to ``e.usages``."""
    if not before:
        return
    try:
        e.usages = [*before, *usages_of(e)]  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__: the calls cannot travel
        pass
