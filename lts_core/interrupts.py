"""Ctrl-C and SIGTERM for the command line: a flag that no library can swallow.

DuckDB turns a KeyboardInterrupt raised inside a query into ``RuntimeError: Query interrupted``, and
a team's error handler would then record it as that team's failure and let the batch go on. So the
signal handler installed by ``install()`` (the ``lts`` command does it) does three things on the
first signal: it remembers the signal, stops the runs registered with ``stopping(run)`` (their teams
end ``cancelled``; no step starts) and raises KeyboardInterrupt. Code that may have had the
exception swallowed calls ``check()``, which raises it again. Later signals only count: the clean-up
after the first one (recording the run ``interrupted``, flushing the database) is not cut short.

Without ``install()`` (the dashboard, library use) nothing changes: ``requested()`` stays None.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# Both exit 130, the code of an interrupted command: SIGTERM is handled like Ctrl-C (the message
# names the signal); a shell would report 143 only for a process that SIGTERM killed unhandled.
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 130}
NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}

_state: dict[str, Any] = {"signal": None, "count": 0, "previous": {}}
_stoppable: list[Any] = []  # runs to stop on the first signal (objects with a ``stopped`` flag)


def _handler(signum: int, frame: object) -> None:
    _state["count"] += 1
    if _state["signal"] is not None:
        return  # already stopping: let the clean-up finish
    _state["signal"] = signum
    for run in list(_stoppable):
        run.stopped = True  # a plain flag: no lock may be taken inside a signal handler
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT and SIGTERM (main thread only), also where the parent left SIGINT ignored."""
    reset()
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in EXIT_CODES:
        _state["previous"][sig] = signal.signal(sig, _handler)


def restore() -> None:
    """Put back the handlers ``install`` replaced and forget any signal (for in-process callers
    such as tests: later engine use in the process must not see an old interrupt)."""
    for sig, old in _state["previous"].items():
        signal.signal(sig, old if old is not None else signal.SIG_DFL)
    _state["previous"] = {}
    reset()


def reset() -> None:
    _state["signal"], _state["count"] = None, 0
    _stoppable.clear()


def requested() -> int | None:
    """The signal received since ``install()``, if any."""
    return _state["signal"]


def check() -> None:
    """Raise KeyboardInterrupt in the main thread if a signal came (even if it was swallowed)."""
    if _state["signal"] is not None and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


def exit_code() -> int:
    return EXIT_CODES.get(_state["signal"], 130)


def name() -> str:
    return NAMES.get(_state["signal"], "Ctrl-C")


@contextlib.contextmanager
def stopping(run: Any) -> Iterator[None]:
    """While inside, the first signal sets ``run.stopped`` before raising KeyboardInterrupt."""
    _stoppable.append(run)
    try:
        if _state["signal"] is not None:
            run.stopped = True
        yield
    finally:
        with contextlib.suppress(ValueError):
            _stoppable.remove(run)
