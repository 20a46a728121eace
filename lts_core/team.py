"""One team's orchestrator loop, one step at a time, independent of the clock that drives it.

``Team.step(now)`` decides, executes and summarises one step *instantly* and returns a
``PendingStep`` carrying how long the step takes on the run's clock. The executor waits that long
(sleeping, or advancing a virtual clock) and then hands the step to ``Run.commit``, which is where
admission happens and the entry becomes visible to other teams. So the virtual and the threaded
executors run exactly the same team code. A step's summary (the memory key it may become) is
model output: it is cut to ``limits.MAX_SUMMARY_CHARS``.

Thread-safety: a Team is driven by one thread at a time (its own thread, or the virtual loop).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .backends.base import Action, Agent, LLMUsage, TeamView, ToolOutput, as_usages
from .faults import attach_usages
from .limits import MAX_SUMMARY_CHARS, cut
from .records import LLMCallRecord, MemoryReadRecord, StepRecord, TeamRecord, ToolCallRecord

if TYPE_CHECKING:
    from .engine import Run


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
    def __init__(self, run: Run, idx: int, agent: Agent, rng: random.Random) -> None:
        self.run = run
        self.idx = idx
        self.agent = agent
        self.rng = rng
        self.step_idx = 0
        self.rec = TeamRecord(run.run_id, idx)
        self.done = False

    def view(self, now: float) -> TeamView:
        mem = self.run.policy.uses_memory
        keys = self.run.bank.keys_at(now) if mem else []
        return TeamView(self.run.task, self.idx, self.step_idx, self.run.config.max_steps, now, keys, mem)

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
        run = self.run
        view = self.view(now)
        action, decided = self.agent.decide(view)
        usages.extend(decided)
        reads: list[MemoryReadRecord] = []
        tb = run.toolbox
        if action.kind == "search":
            out = tb.search(action.arg, self.rng)
        elif action.kind == "open":
            out = tb.open(action.arg, self.rng)
        elif action.kind == "answer":
            out = tb.answer(action.arg)
        elif action.kind == "memory_read":
            text, reads = run.bank.fetch(list(action.entry_ids), reader_team=self.idx,
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
            if not run.policy.free_summaries:  # the sim-only oracle bound needs no summary call
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
            run_id=run.run_id, team_idx=self.idx, step_idx=self.step_idx, action=action.kind,
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

    def tool_call_record(self, p: PendingStep) -> ToolCallRecord | None:
        if p.action.kind not in ("search", "open"):
            return None
        return ToolCallRecord(self.run.run_id, self.idx, p.record.step_idx, p.action.kind,
                              p.action.arg[:500], p.output.ok, round(p.output.latency_s, 4),
                              round(p.output.compute_ms, 3), len(p.output.text), p.output.error)

    def llm_records(self, p: PendingStep) -> list[LLMCallRecord]:
        return [LLMCallRecord(self.run.run_id, self.idx, p.record.step_idx, u.purpose, u.model,
                              u.prompt_tokens, u.completion_tokens, round(u.seconds, 4),
                              u.cost_usd, u.real, u.ok, u.error) for u in p.usages]

    def finish(self, status: str, t: float, answer: str | None = None, error: str | None = None,
               error_detail: str | None = None) -> None:
        """End the team (first call wins); ``error`` is one line for users, ``error_detail`` the
        traceback."""
        if self.done:
            return
        self.done = True
        r = self.rec
        r.status, r.t_end, r.answer, r.error, r.steps = status, t, answer, error, self.step_idx
        r.error_detail = error_detail
        if answer is not None:
            from .scoring import exact_match, f1_score

            r.em = exact_match(answer, self.run.task.golds)
            r.f1 = f1_score(answer, self.run.task.golds)
        self.run.store.update(r)


def now_wall() -> float:
    return time.time()
