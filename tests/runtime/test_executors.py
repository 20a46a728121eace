"""The executors on a fake run: the order and clock times of commits, stopping, and what ``execute``
returns, without an Engine, a back-end or a database.

A fake team plays a list of step durations (run-clock seconds); the fake run records every start
and commit. Unlike ``Run``, the fake neither refuses steps nor drops commits once it is stopped, so
what is asserted about stopping is the executors' own doing.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from lts_core import interrupts
from lts_core.runtime.executors import ThreadExecutor, VirtualExecutor, get_executor


@dataclass
class FakeTeam:
    idx: int
    durations: list[float]
    fail_at: int | None = None  # safe_step returns None here (the run recorded a failure)
    step_idx: int = 0
    done: bool = False
    rec: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(t_end=None))


@dataclass
class FakePending:
    team: FakeTeam
    step: int
    t_start: float
    duration: float


class FakeRun:
    def __init__(self, teams: list[FakeTeam], *, speed: float = 1.0,
                 stop_at: tuple[int, int] | None = None) -> None:
        self.teams = teams
        self.stopped = False
        self.stop_event = threading.Event()
        self.speed = speed
        self.real_time_steps = False  # a simulated back-end: the virtual executor's event loop
        self.stop_at = stop_at  # (team, step) whose commit stops the run, as stop="first" does
        self.lock = threading.Lock()
        self.starts: list[tuple[int, int, float]] = []  # (team, step, now)
        self.calls: dict[int, int] = {}  # safe_step calls per team
        self.commits: list[tuple[int, int, float, float]] = []  # (team, step, t_start, t_end)
        self.registered: list[bool] = []  # was the run registered with interrupts while stepping

    def safe_step(self, team: FakeTeam, now: float) -> FakePending | None:
        with self.lock:
            self.calls[team.idx] = self.calls.get(team.idx, 0) + 1
            self.registered.append(self in interrupts._stoppable)
            if team.step_idx == team.fail_at or team.step_idx >= len(team.durations):
                return None
            p = FakePending(team, team.step_idx, now, team.durations[team.step_idx])
            self.starts.append((team.idx, team.step_idx, now))
            team.step_idx += 1
            return p

    def commit(self, p: FakePending, t_end: float) -> None:
        with self.lock:
            self.commits.append((p.team.idx, p.step, p.t_start, t_end))
            if p.step == len(p.team.durations) - 1:  # the team's last step: it ends (answers)
                p.team.done = True
                p.team.rec.t_end = t_end
            if (p.team.idx, p.step) == self.stop_at:
                self.stopped = True
                self.stop_event.set()


def teams(*durations: list[float]) -> list[FakeTeam]:
    return [FakeTeam(i, list(d)) for i, d in enumerate(durations)]


@pytest.fixture(autouse=True)
def _no_signal():
    interrupts.reset()
    yield
    interrupts.reset()


# ------------------------------------------------------------------------------ virtual
def test_registry_names() -> None:
    assert isinstance(get_executor("virtual"), VirtualExecutor)
    assert isinstance(get_executor("threads"), ThreadExecutor)
    assert VirtualExecutor.real_clock is False and ThreadExecutor.real_clock is True


def test_virtual_commits_in_clock_order_ties_by_team_index() -> None:
    run = FakeRun(teams([3, 3, 3], [2, 2, 2, 2], [3, 1]))
    end = VirtualExecutor().execute(run)
    assert [(t, s, t_end) for t, s, _, t_end in run.commits] == [
        (1, 0, 2.0),
        (0, 0, 3.0), (2, 0, 3.0),  # a tie at t=3: both scheduled at t=0, team 0 first
        (1, 1, 4.0), (2, 1, 4.0),  # a tie at t=4: team 1's step was scheduled at t=2, team 2's at t=3
        (0, 1, 6.0), (1, 2, 6.0),
        (1, 3, 8.0),
        (0, 2, 9.0),
    ]
    assert end == 9.0
    # a team's next step starts when its previous one ends
    for t, s, t_start, t_end in run.commits:
        assert t_end == t_start + run.teams[t].durations[s]
        if s:
            prev = next(c for c in run.commits if c[:2] == (t, s - 1))
            assert t_start == prev[3]
    assert all(run.registered)  # interrupts.stopping(run) was in force while the teams stepped
    assert run not in interrupts._stoppable


def test_virtual_ties_follow_the_scheduling_order_not_the_team_index() -> None:
    # team 1's second step is scheduled at t=1, team 0's at t=2: both end at t=4, team 1 first
    run = FakeRun(teams([2, 2], [1, 3]))
    VirtualExecutor().execute(run)
    assert [(t, s, t_end) for t, s, _, t_end in run.commits] == [
        (1, 0, 1.0), (0, 0, 2.0), (1, 1, 4.0), (0, 1, 4.0)]


def test_virtual_zero_duration_steps() -> None:
    run = FakeRun(teams([0, 0, 1], [0.5]))
    assert VirtualExecutor().execute(run) == 1.0
    assert [(t, s, t_end) for t, s, _, t_end in run.commits] == [
        (0, 0, 0.0), (0, 1, 0.0), (1, 0, 0.5), (0, 2, 1.0)]


def test_virtual_is_deterministic() -> None:
    durs = [[1.25, 0.5, 3.0, 0.75], [0.5, 0.5, 0.5], [2.0, 2.0], [1.75, 0.25, 1.0]]
    a, b = FakeRun(teams(*durs)), FakeRun(teams(*durs))
    assert VirtualExecutor().execute(a) == VirtualExecutor().execute(b) == 5.5
    assert a.commits == b.commits and a.starts == b.starts
    assert [c[3] for c in a.commits] == sorted(c[3] for c in a.commits)


def test_virtual_stops_starting_steps_once_a_commit_stops_the_run() -> None:
    run = FakeRun(teams([3, 3], [2, 2], [5]), stop_at=(1, 0))
    assert VirtualExecutor().execute(run) == 2.0
    assert run.commits == [(1, 0, 0.0, 2.0)]  # the others' steps in flight are never committed
    assert run.starts == [(0, 0, 0.0), (1, 0, 0.0), (2, 0, 0.0)]  # nothing started after t=2


def test_virtual_stopped_before_it_starts() -> None:
    run = FakeRun(teams([1], [1]))
    run.stopped = True
    assert VirtualExecutor().execute(run) == 0.0
    assert run.starts == [] and run.commits == []


def test_virtual_team_whose_step_returns_none_is_not_scheduled_again() -> None:
    ts = teams([1, 1, 1, 1], [1, 1, 1, 1])
    ts[0].fail_at = 1  # its second step fails: safe_step returns None, the team is not done
    run = FakeRun(ts)
    assert VirtualExecutor().execute(run) == 4.0
    assert run.calls == {0: 2, 1: 4}
    assert [s for t, s, _, _ in run.commits if t == 0] == [0]
    assert [s for t, s, _, _ in run.commits if t == 1] == [0, 1, 2, 3]
    assert ts[0].done is False


def test_virtual_done_team_is_not_asked_for_another_step() -> None:
    run = FakeRun(teams([1, 1], [2]))
    VirtualExecutor().execute(run)
    assert run.calls == {0: 2, 1: 1}  # done after their last commit: no further safe_step


# ------------------------------------------------------------------------------ threads
def test_threads_record_the_modelled_times() -> None:
    durs = [[10.0, 20.0], [5.0, 5.0, 5.0], [40.0], [7.5, 0.0, 2.5]]
    run = FakeRun(teams(*durs), speed=1000.0)  # 40 run-clock seconds in about 0.04 s
    t0 = time.monotonic()
    end = ThreadExecutor().execute(run)
    assert time.monotonic() - t0 < 5.0
    assert end == 40.0  # the latest team end (team.rec.t_end), not the real time elapsed
    assert sorted((t, s) for t, s, _, _ in run.commits) == sorted(
        (i, s) for i, d in enumerate(durs) for s in range(len(d)))
    for t, s, t_start, t_end in run.commits:
        assert t_end == t_start + durs[t][s]  # exactly: sleep jitter never leaks into the clock
        assert t_start == sum(durs[t][:s])
    for tm in run.teams:
        assert tm.done and tm.rec.t_end == sum(tm.durations)
    assert all(run.registered)
    assert run not in interrupts._stoppable


def test_threads_team_whose_step_returns_none_stops() -> None:
    ts = teams([1.0, 1.0, 1.0], [2.0, 2.0])
    ts[0].fail_at = 1
    run = FakeRun(ts, speed=1000.0)
    assert ThreadExecutor().execute(run) == 4.0
    assert run.calls == {0: 2, 1: 2}
    assert [s for t, s, _, _ in run.commits if t == 0] == [0]


def test_threads_stop_event_ends_the_run_promptly() -> None:
    run = FakeRun(teams([1000.0], [1000.0, 1.0], [1000.0]), speed=1.0)  # 1000 s steps in real time

    def stop() -> None:
        time.sleep(0.2)
        run.stopped = True
        run.stop_event.set()

    threading.Thread(target=stop, daemon=True).start()
    t0 = time.monotonic()
    end = ThreadExecutor().execute(run)
    assert time.monotonic() - t0 < 3.0
    assert run.commits == []  # the sleeping steps are abandoned, not committed
    assert end == 0.0
    assert len(run.starts) == 3


def test_threads_stopped_flag_ends_teams_after_their_current_step() -> None:
    # only the flag (no event): each team finishes the step it is sleeping out, then stops
    run = FakeRun(teams([0.05] * 200, [0.05] * 200), speed=1.0)

    def stop() -> None:
        time.sleep(0.3)
        with run.lock:
            run.stopped = True
            run.n_commits_at_stop = len(run.commits)

    threading.Thread(target=stop, daemon=True).start()
    t0 = time.monotonic()
    ThreadExecutor().execute(run)
    assert time.monotonic() - t0 < 3.0
    assert 0 < run.n_commits_at_stop < 400
    assert len(run.commits) - run.n_commits_at_stop <= 2  # at most the step in flight per team


def test_threads_a_commit_that_stops_the_run_ends_the_others() -> None:
    run = FakeRun(teams([0.05], [1000.0], [1000.0]), speed=1.0, stop_at=(0, 0))
    t0 = time.monotonic()
    end = ThreadExecutor().execute(run)
    assert time.monotonic() - t0 < 3.0
    assert run.commits == [(0, 0, 0.0, 0.05)]
    assert end == 0.05


# ------------------------------------------------------------------------------ interrupts
@pytest.mark.parametrize("executor", [VirtualExecutor, ThreadExecutor])
def test_a_signal_already_received_stops_the_run_before_any_step(executor) -> None:
    run = FakeRun(teams([1.0], [1.0]), speed=1000.0)
    interrupts._state["signal"] = signal.SIGINT  # as the handler leaves it (reset by the fixture)
    with pytest.raises(KeyboardInterrupt):
        executor().execute(run)
    assert run.stopped is True
    assert run.starts == [] and run.commits == []
    assert run not in interrupts._stoppable


def test_a_run_and_the_fake_offer_what_an_executor_needs(engine, demo_suite) -> None:
    from engine_helpers import fast_config

    from lts_core.runtime.executors import Playable

    needed = set(Playable.__annotations__) | {"safe_step", "commit"}
    run = engine.prepare_run(demo_suite.tasks[0], demo_suite, fast_config(speed=7.0))
    assert {n for n in needed if not hasattr(run, n)} == set()
    assert run.speed == 7.0 and run.real_time_steps is False  # the sim back-end
    assert {n for n in needed if not hasattr(FakeRun([]), n)} == set()
