"""One team's orchestrator loop, one step at a time, independent of the clock that drives it.

``Team.step(now)`` decides, executes and summarises one step *instantly* and returns a
``PendingStep`` carrying how long the step takes on the run's clock. The executor waits that long
(sleeping, or advancing a virtual clock) and then hands the step to ``Run.commit``, which is where
admission happens and the entry becomes visible to other teams. So the virtual and the threaded
executors run exactly the same team code. A step's summary (the memory key it may become) is
model output: it is cut to ``limits.MAX_SUMMARY_CHARS``.

A team gets only what it needs (its run id, task, step budget, toolbox, and the bank or None when
memory is off); it never sees the run. Records of its steps are written by the run, which also ends
teams (``Run.end_team``: scoring and the final row).

Thread-safety: a Team is driven by one thread at a time (its own thread, or the virtual loop).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lts_core.backends.base import Action, Agent, LLMUsage, TeamView, ToolOutput, as_usages
from lts_core.faults import attach_usages
from lts_core.limits import MAX_SUMMARY_CHARS, cut
from lts_core.record.records import MemoryReadRecord, StepRecord, TeamRecord

if TYPE_CHECKING:
    from lts_core.world.memory import MemoryBank
    from lts_core.world.tasks import Task
    from lts_core.world.tools import Toolbox


@dataclass
class PendingStep:
    team: Team
    action: Action
    record: StepRecord
    wait_s: float  # modelled clock seconds still to elapse (tool latency, simulated LLM time)
    spent_s: float  # real seconds already spent inside the step (real LLM calls)
    output: ToolOutput
    payload: dict
    usages: list[LLMUsage]
    reads: list[MemoryReadRecord] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.wait_s + self.spent_s


class Team:
    def __init__(self, idx: int, agent: Agent, rng: random.Random, *, run_id: str, task: Task,
                 max_steps: int, toolbox: Toolbox, bank: MemoryBank | None,
                 free_summaries: bool = False) -> None:
        self.idx, self.agent, self.rng = idx, agent, rng
        self.run_id, self.task, self.max_steps = run_id, task, max_steps
        self.toolbox, self.bank = toolbox, bank  # bank None: memory is off (M1-Parallel)
        self.free_summaries = free_summaries  # sim-only oracle bound: steps cost no summary call
        self.step_idx = 0
        self.rec = TeamRecord(run_id, idx)
        self.done = False

    def view(self, now: float) -> TeamView:
        mem = self.bank is not None
        keys = self.bank.keys_at(now) if self.bank is not None else []
        return TeamView(self.task, self.idx, self.step_idx, self.max_steps, now, keys, mem)

    def step(self, now: float) -> PendingStep:
        """Decide, execute and summarise the next step; raises on a back-end failure, with the
        model calls already made in the step attached (``e.usages``) so they can be recorded."""
        usages: list[LLMUsage] = []
        try:
            return self._step(now, usages)
        except Exception as e:
            attach_usages(e, usages)
            raise

    def _step(self, now: float, usages: list[LLMUsage]) -> PendingStep:
        view = self.view(now)
        action, decided = self.agent.decide(view)
        usages.extend(decided)
        reads: list[MemoryReadRecord] = []
        tb = self.toolbox
        if action.kind == "search":
            out = tb.search(action.arg, self.rng)
        elif action.kind == "open":
            out = tb.open(action.arg, self.rng)
        elif action.kind == "answer":
            out = tb.answer(action.arg)
        elif action.kind == "memory_read":
            if self.bank is None:
                raise ValueError("back-end asked to read the bank, but memory is off in this run")
            text, reads = self.bank.fetch(list(action.entry_ids), reader_team=self.idx,
                                         reader_step=self.step_idx, t=now,
                                         similarities=list(action.similarities) or None)
            out = ToolOutput(text, {"entry_ids": list(action.entry_ids)})
        elif action.kind == "plan":
            out = ToolOutput(action.detail.get("plan") or f"Plan for: {action.arg}")
        else:
            raise ValueError(f"back-end returned an unknown action {action.kind!r}")
        self.agent.observe(action, out, view)
        if view.memory_on and action.kind != "memory_read":
            s, su = self.agent.summarize(action, out)
            if not self.free_summaries:  # the sim-only oracle bound needs no summary call
                usages.extend(as_usages(su))
        else:
            # No summary call: without a bank M1-Parallel has none, and a memory read only re-uses
            # what the bank holds already (it is never an admission candidate). Keep a label.
            s = f"{action.kind}: {action.arg}"[:160]
        payload = getattr(self.agent, "payload", lambda a, o: {"kind": a.kind})(action, out)
        modelled = sum(u.seconds for u in usages if not u.real) + out.latency_s
        spent = sum(u.seconds for u in usages if u.real)
        llm_s = sum(u.seconds for u in usages)
        rec = StepRecord(
            run_id=self.run_id, team_idx=self.idx, step_idx=self.step_idx, action=action.kind,
            arg=action.arg[:500], u=action.instruction, o=out.text, s=cut(s, MAX_SUMMARY_CHARS), t_start=now, t_end=now,
            llm_s=round(llm_s, 4), tool_s=round(out.latency_s, 4),
            prompt_tokens=sum(u.prompt_tokens for u in usages),
            completion_tokens=sum(u.completion_tokens for u in usages),
            keys_visible=len(view.keys),
            detail_json=json.dumps({**action.detail, "ok": out.ok, **(
                {"error": out.error} if out.error else {}), "payload": payload}, default=str),
        )
        self.step_idx += 1
        return PendingStep(self, action, rec, modelled, spent, out, payload, usages, reads)

    def finish(self, status: str, t: float, answer: str | None = None, error: str | None = None,
               error_detail: str | None = None) -> bool:
        """Mark the team ended; False when it had ended already (the first end wins).
        ``error`` is one line for users, ``error_detail`` the traceback. Call ``Run.end_team``,
        which also scores the answer and records the row."""
        if self.done:
            return False
        self.done = True
        r = self.rec
        r.status, r.t_end, r.answer, r.error, r.steps = status, t, answer, error, self.step_idx
        r.error_detail = error_detail
        return True
