"""Executors drive a run's teams through their steps on a clock.

- ``virtual``: a deterministic discrete-event loop. Each team's next step starts when its previous
  one ends; steps are committed in clock order (ties broken by the order they were scheduled, i.e.
  team index first). No sleeping: a run takes as long as its computation. The same seed gives the
  same run. With a back-end that makes real model calls (``backend.simulated`` False), the steps
  that start at the same clock time are computed concurrently (one thread per team, as the
  ``threads`` executor does), so K teams waiting on a model cost the wall time of the slowest call,
  not the sum; they are still committed in the same order at the same clock times.
- ``threads``: one thread per team on a real clock. A step's modelled time is slept out, scaled by
  ``RunConfig.speed`` (run-clock seconds per real second), so a dashboard can watch it live. A step's
  recorded end is its start plus its modelled duration (the sleep absorbs engine overhead), so clock
  times mean the same thing on both executors.

``execute(run)`` returns the run-clock time at which the last team stopped. Under the ``lts``
command a Ctrl-C or SIGTERM stops the run's teams and raises KeyboardInterrupt from ``execute``, also
when a library swallowed the first one (``lts_core.interrupts``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Protocol

from . import interrupts
from .registry import EXECUTORS

if TYPE_CHECKING:
    from .run import Run


class Executor(Protocol):
    name: str
    real_clock: bool  # steps take real time, scaled by ``RunConfig.speed`` (a run can be watched)

    def execute(self, run: Run) -> float: ...


class VirtualExecutor:
    name = "virtual"
    real_clock = False

    def execute(self, run: Run) -> float:
        seq = itertools.count()
        heap: list[tuple[float, int, str, object]] = []
        for team in run.teams:
            heapq.heappush(heap, (0.0, next(seq), "start", team))
        now = 0.0
        concurrent = not getattr(getattr(run, "backend", None), "simulated", True)
        pool = ThreadPoolExecutor(len(run.teams), "lts-step") if concurrent else None
        try:
            with interrupts.stopping(run):
                while heap and not run.stopped:
                    interrupts.check()
                    now, _, kind, obj = heapq.heappop(heap)
                    if kind == "start":
                        teams = [obj]  # the steps that start now, computed together when concurrent
                        while pool is not None and heap and heap[0][0] == now and heap[0][2] == "start":
                            teams.append(heapq.heappop(heap)[3])
                        for pending in _steps(run, teams, now, pool):
                            if pending is not None:
                                heapq.heappush(heap, (now + pending.duration, next(seq), "commit",
                                                      pending))
                    else:
                        run.commit(obj, now)  # type: ignore[arg-type]
                        team = obj.team  # type: ignore[attr-defined]
                        if not team.done:
                            heapq.heappush(heap, (now, next(seq), "start", team))
        finally:
            if pool is not None:  # an interrupted call ends with the run's stop event; no waiting
                pool.shutdown(wait=False, cancel_futures=True)
        interrupts.check()  # a signal some library turned into an ordinary error ends the run here
        return now


def _steps(run: Run, teams: list, now: float, pool: ThreadPoolExecutor | None) -> list:
    """``run.safe_step(team, now)`` for each team, in order; on the pool when given and useful."""
    if pool is None or len(teams) == 1:
        return [run.safe_step(t, now) for t in teams]
    futures = [pool.submit(run.safe_step, t, now) for t in teams]
    out = []
    for f in futures:
        while True:
            try:
                out.append(f.result(timeout=0.2))
                break
            except FuturesTimeout:
                interrupts.check()  # wake up for Ctrl-C while the calls are in flight
    return out


class ThreadExecutor:
    name = "threads"
    real_clock = True

    def execute(self, run: Run) -> float:
        speed = run.config.speed
        t0 = time.monotonic()

        def clock() -> float:
            return (time.monotonic() - t0) * speed

        def worker(team) -> None:
            t = 0.0
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

        threads = [threading.Thread(target=worker, args=(tm,), name=f"lts-team-{tm.idx}", daemon=True)
                   for tm in run.teams]
        with interrupts.stopping(run):
            for th in threads:
                th.start()
            for th in threads:
                while th.is_alive():
                    th.join(0.2)  # wake up for Ctrl-C
                    interrupts.check()
        interrupts.check()
        return max([tm.rec.t_end or 0.0 for tm in run.teams] + [0.0])


def get_executor(name: str) -> Executor:
    """A new executor by its registered name (``lts_core.registry.EXECUTORS``)."""
    return EXECUTORS.create(name)
