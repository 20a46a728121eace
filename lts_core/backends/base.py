"""The agent back-end contract: what a team's orchestrator does at each step.

The engine's ``Team`` drives an ``Agent`` through one step at a time:

1. ``decide(view)`` -> ``(Action, [LLMUsage])``: read the visible memory keys and the team's state,
   choose the next action (``plan``, ``search``, ``open``, ``memory_read`` or ``answer``) and the
   instruction u_t.
2. The engine executes the action with its tools (or the memory bank) and gets a ``ToolOutput``.
3. ``observe(action, output, view)``: update the team's state from the raw output.
4. ``summarize(action, output)`` -> ``(s_t, usage)``: the 15-20 word key; ``usage`` is one
   ``LLMUsage``, a list of them (every attempt of a real call) or None.

A back-end that raises from ``decide``/``summarize`` may attach the calls it made to the exception
(``e.usages``, see ``lts_core.faults.attach_usages``): the engine records them with the failure.

Back-ends are looked up by name in ``lts_core.backends.BACKENDS``. An agent belongs to one team and
is only called from that team's thread (or the virtual executor's loop): it need not be thread-safe.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from lts_core.world.embeddings import Embedder
from lts_core.world.memory import MemoryEntry
from lts_core.world.search import SearchIndex
from lts_core.world.tasks import Task
from lts_core.world.tools import ToolOutput

ACTIONS = ("plan", "search", "open", "memory_read", "answer")


@dataclass
class Action:
    kind: str  # one of ACTIONS
    arg: str = ""
    instruction: str = ""
    entry_ids: tuple[int, ...] = ()
    similarities: tuple[float, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class LLMUsage:
    purpose: str  # orchestrate | summarize | judge | aggregate
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # modelled seconds (sim) or measured seconds (real call)
    real: bool = False
    model: str = "sim"
    cost_usd: float = 0.0
    ok: bool = True  # False: the call failed, or its reply could not be used
    error: str | None = None  # why, on one line, secrets masked


def as_usages(u: LLMUsage | list[LLMUsage] | None) -> list[LLMUsage]:
    """One usage, a list of them or None, as a list."""
    if u is None:
        return []
    return list(u) if isinstance(u, list | tuple) else [u]


@dataclass
class TeamView:
    """What the orchestrator sees when it decides a step."""

    task: Task
    team_idx: int
    step_idx: int
    max_steps: int
    now: float
    keys: list[MemoryEntry]  # visible bank entries (empty when memory is off)
    memory_on: bool


@dataclass
class BackendContext:
    """Shared, per-run resources handed to every agent of a run."""

    index: SearchIndex
    embedder: Embedder
    memory_on: bool
    options: dict[str, Any] = field(default_factory=dict)
    # The run's stop event (set on cancel, or by the first answer with stop="first"): real LLM
    # back-ends stop waiting for in-flight calls and backoffs when it is set.
    stop_event: threading.Event | None = None
    oracle_reader: bool = False  # sim only: the oracle bound's teams (policies/oracle.py)


class Agent(Protocol):
    def decide(self, view: TeamView) -> tuple[Action, list[LLMUsage]]: ...

    def observe(self, action: Action, output: ToolOutput, view: TeamView) -> None: ...

    def summarize(self, action: Action,
                  output: ToolOutput) -> tuple[str, LLMUsage | list[LLMUsage] | None]: ...


class Backend:
    """Makes one agent per team and aggregates the teams' answers."""

    name = "base"
    simulated = False

    def prepare(self, task: Task, ctx: BackendContext) -> None:
        """Warm caches before a run (optional)."""

    def make_agent(self, task: Task, team_idx: int, rng: random.Random,
                   ctx: BackendContext) -> Agent:  # pragma: no cover - abstract
        raise NotImplementedError

    def aggregate(self, task: Task, answers: list[tuple[int, str, float]],
                  rng: random.Random) -> tuple[str, LLMUsage | list[LLMUsage] | None]:
        """Final answer from [(team_idx, answer, t_answer)] and the calls it took (one usage, a
        list, or None); default is a majority vote, no call."""
        return majority_vote(answers), None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "simulated": self.simulated}


def majority_vote(answers: list[tuple[int, str, float]]) -> str:
    """Most frequent normalised answer; ties go to the answer given first.

    >>> majority_vote([(0, "Paris", 3.0), (1, "paris.", 5.0), (2, "Lyon", 1.0)])
    'Paris'
    """
    from lts_core.scoring import normalize_answer

    if not answers:
        return ""
    groups: dict[str, list[tuple[float, str]]] = {}
    for _, a, t in answers:
        groups.setdefault(normalize_answer(a), []).append((t, a))
    best = max(groups.values(), key=lambda g: (len(g), -min(g)[0]))
    return min(best)[1]
