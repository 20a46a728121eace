"""Executors drive a run's teams through their steps on a clock.

- ``virtual``: a deterministic discrete-event loop. Each team's next step starts when its previous
  one ends; steps are committed in clock order (ties broken by the order they were scheduled, i.e.
  team index first). No sleeping: a run takes as long as its computation. The same seed gives the
  same run. With a back-end whose calls take real time (``backend.simulated`` False) a step's real
  time is its wall time, and steps are computed concurrently whenever no step in flight can commit
  before them (``_RealTimeLoop``): K teams waiting on a model cost about one team's wall time.
- ``threads``: one thread per team on a real clock. A step's modelled time is slept out, scaled by
  ``RunConfig.speed`` (run-clock seconds per real second), so a dashboard can watch it live. A step's
  recorded end is its start plus its modelled duration (the sleep absorbs engine overhead), so clock
  times mean the same thing on both executors.

``execute(run)`` returns the run-clock time at which the last team stopped. Under the ``lts``
command a Ctrl-C or SIGTERM stops the run's teams and raises KeyboardInterrupt from ``execute``, also
when a library swallowed the first one (``lts_core.interrupts``). Before it raises, the teams'
threads get up to ``STOP_WAIT_S`` to record their cancelled calls, so the run is finalized after them
and the store is not closed under them; a thread still busy after that ends silently (no traceback).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Protocol

from lts_core import interrupts
from lts_core.registry import EXECUTORS

if TYPE_CHECKING:
    from lts_core.runtime.team import PendingStep, Team


class Playable(Protocol):
    """What an executor needs of a run (``runtime.run.Run`` is one; the tests use a fake): its
    teams, a stop flag and the event that wakes sleeping teams, the clock speed, whether its steps
    take real time, and a step's two halves. ``safe_step`` computes a step (None: the team ended or
    failed, recorded by the run); ``commit`` makes it visible at its end time."""

    teams: Sequence[Team]
    stopped: bool
    stop_event: threading.Event
    speed: float  # run-clock seconds per real second (threads)
    real_time_steps: bool  # the back-end's calls take real time (not a simulator)

    def safe_step(self, team: Team, now: float) -> PendingStep | None: ...

    def commit(self, p: PendingStep, t_end: float) -> None: ...


class Executor(Protocol):
    name: str
    real_clock: bool  # steps take real time, scaled by ``RunConfig.speed`` (a run can be watched)

    def execute(self, run: Playable) -> float: ...


class VirtualExecutor:
    name = "virtual"
    real_clock = False

    def execute(self, run: Playable) -> float:
        if run.real_time_steps:
            return _RealTimeLoop(run).execute()
        seq = itertools.count()
        heap: list[tuple[float, int, str, object]] = []
        for team in run.teams:
            heapq.heappush(heap, (0.0, next(seq), "start", team))
        now = 0.0
        with interrupts.stopping(run):
            while heap and not run.stopped:
                interrupts.check()
                now, _, kind, obj = heapq.heappop(heap)
                if kind == "start":
                    pending = run.safe_step(obj, now)  # type: ignore[arg-type]
                    if pending is not None:
                        heapq.heappush(heap, (now + pending.duration, next(seq), "commit", pending))
                else:
                    run.commit(obj, now)  # type: ignore[arg-type]
                    team = obj.team  # type: ignore[attr-defined]
                    if not team.done:
                        heapq.heappush(heap, (now, next(seq), "start", team))
        interrupts.check()  # a signal some library turned into an ordinary error ends the run here
        return now


class _RealTimeLoop:
    """The virtual event loop for back-ends whose calls take real time (``simulated`` False).

    A step's real time is the wall time from its start to its end (measured here), so a step in
    flight for w seconds cannot commit before its start + w. The loop takes the next event (a
    commit, or a step start) once no step in flight can commit at or before it; steps in flight
    run concurrently, one thread per team. The record is what the one-at-a-time loop would write
    for the same call times; K teams waiting on a model cost about the wall time of one team.
    """

    def __init__(self, run: Playable) -> None:
        self.run = run
        self.seq = itertools.count()
        self.heap: list[tuple[float, int, str, object]] = []
        self.inflight: dict[Future, tuple[float, float]] = {}  # future -> (clock, wall) at start
        for team in run.teams:
            heapq.heappush(self.heap, (0.0, next(self.seq), "start", team))

    def execute(self) -> float:
        run, heap, now = self.run, self.heap, 0.0
        pool = ThreadPoolExecutor(len(run.teams), "lts-step")
        try:
            with interrupts.stopping(run):
                while (heap or self.inflight) and not run.stopped:
                    interrupts.check()
                    self._collect()
                    if heap and self._safe(heap[0][0]):
                        now, _, kind, obj = heapq.heappop(heap)
                        if kind == "start":
                            w0 = time.monotonic()
                            self.inflight[pool.submit(_timed_step, run, obj, now)] = (now, w0)
                        else:
                            run.commit(obj, now)  # type: ignore[arg-type]
                            team = obj.team  # type: ignore[attr-defined]
                            if not team.done:
                                heapq.heappush(heap, (now, next(self.seq), "start", team))
                    elif self.inflight:
                        wait(list(self.inflight), timeout=self._until_safe(),
                             return_when=FIRST_COMPLETED)
                interrupts.check()
                deadline = time.monotonic() + 30.0  # stopped: calls in flight end on stop_event
                while self.inflight and time.monotonic() < deadline:
                    done, _ = wait(list(self.inflight), timeout=0.2)
                    for f in done:
                        self.inflight.pop(f)  # never committed: the run had stopped
                    interrupts.check()
        except BaseException:
            _stop_and_wait(run, [(f.exception, lambda f=f: not f.done()) for f in self.inflight])
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        interrupts.check()
        return now

    def _collect(self) -> None:
        """Finished steps enter the heap as commits at start + modelled wait + real time."""
        for f in [f for f in self.inflight if f.done()]:
            t0, w0 = self.inflight.pop(f)
            pending, w_end = f.result()
            if pending is not None:
                pending.spent_s = w_end - w0  # the step's real time, as bounded in _safe
                heapq.heappush(self.heap, (t0 + pending.duration, next(self.seq), "commit", pending))

    def _safe(self, t: float) -> bool:
        """No step in flight can commit at or before clock time ``t``."""
        w = time.monotonic()
        return all(t0 + (w - w0) > t for t0, w0 in self.inflight.values())

    def _until_safe(self) -> float:
        w, t = time.monotonic(), self.heap[0][0] if self.heap else float("inf")
        gap = min((t - t0) - (w - w0) for t0, w0 in self.inflight.values())
        return min(0.2, max(0.001, gap))  # wake up for Ctrl-C at least every 0.2 s


def _timed_step(run: Playable, team: object, now: float) -> tuple[object, float]:
    """``run.safe_step(team, now)`` and the wall time it ended."""
    pending = run.safe_step(team, now)  # type: ignore[arg-type]
    return pending, time.monotonic()


STOP_WAIT_S = 5.0  # after an interrupt, how long the teams' threads may take to record their last calls


def _stop_and_wait(run: Playable, waiters: list[tuple[Callable[[float], object], Callable[[], bool]]]
                   ) -> None:
    """Stop ``run`` (wakes calls in flight) and give its threads up to ``STOP_WAIT_S`` in all to
    record what they were doing (a cancelled call, the team's end) before the caller finalizes the
    run and the command closes the store. ``waiters``: (wait(timeout), still_running) per thread."""
    run.stopped = True
    run.stop_event.set()
    deadline = time.monotonic() + STOP_WAIT_S
    for wait_for, running in waiters:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if running():
            with contextlib.suppress(BaseException):  # a second Ctrl-C, or the step's own error
                wait_for(left)


class ThreadExecutor:
    name = "threads"
    real_clock = True

    def execute(self, run: Playable) -> float:
        speed = run.speed
        t0 = time.monotonic()

        def clock() -> float:
            return (time.monotonic() - t0) * speed

        ended = {tm.idx: threading.Event() for tm in run.teams}

        def worker(team) -> None:
            t = 0.0
            try:
                while not team.done and not run.stopped:
                    pending = run.safe_step(team, t)
                    if pending is None:
                        break
                    t_end = t + pending.duration
                    # real LLM time has already elapsed; sleep out the modelled rest
                    if run.stop_event.wait(max(0.0, (t_end - clock()) / speed)):
                        break
                    run.commit(pending, t_end)
                    t = t_end
            except Exception:
                if not run.stopped:
                    raise
                # a write after the run was stopped (its store may be closed by now): the run's
                # record is final; nothing to report, and no traceback for the user
            finally:
                ended[team.idx].set()

        threads = [threading.Thread(target=worker, args=(tm,), name=f"lts-team-{tm.idx}", daemon=True)
                   for tm in run.teams]
        # Waited for through our own events, not Thread.join: a KeyboardInterrupt inside join()
        # can mark a still-running thread as ended (CPython < 3.13), and its last records were
        # then dropped when the store closed.
        with interrupts.stopping(run):
            try:
                for th in threads:
                    th.start()
                for ev in ended.values():
                    while not ev.wait(0.2):  # wake up for Ctrl-C
                        interrupts.check()
                    interrupts.check()
            except BaseException:
                _stop_and_wait(run, [(ev.wait, lambda ev=ev: not ev.is_set())
                                     for ev in ended.values()])
                raise
        interrupts.check()
        return max([tm.rec.t_end or 0.0 for tm in run.teams] + [0.0])


def get_executor(name: str) -> Executor:
    """A new executor by its registered name (``lts_core.registry.EXECUTORS``)."""
    return EXECUTORS.create(name)
