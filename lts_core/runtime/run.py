"""``Run``: K teams on one task with a shared bank, an admission policy and a recorder.

``Run`` owns one run: its teams, bank, policy and the commit path. ``Run.commit`` is serialised by a
lock, so admission decisions and bank additions happen one at a time in clock order per team. The
executors (``lts_core.runtime.executors``) drive it through ``safe_step`` / ``commit`` / ``finalize``; teams
(``lts_core.runtime.team``) get only what they need (their toolbox, the bank or None) and never the run.
Every record of the run is written here, through the engine's store.

One failing team never takes the run down: its exception is recorded as the team's error and the
other teams go on. The run fails only when every team failed.

Faults (``lts_core.faults``): ``runs.error`` / ``teams.error`` hold one line for users, the traceback
goes to ``error_detail``; model calls made before a failure (``e.usages``) are recorded as
``llm_calls`` rows like any other. Secrets (``lts_core.secrets``): ``config_json`` is recorded with
every secret masked, and so is every error text.

Thread-safety: ``safe_step`` may run on several team threads at once (each on its own team);
``commit``, ``end_team`` and ``finalize`` take ``commit_lock``; ``cancel`` is safe from any thread.

Size: a run's life (set-up, commit with admission, the end of teams, the final row) is one story
told under one lock; it stays in one class.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lts_core.backends import BackendContext, make_backend
from lts_core.backends.base import LLMUsage, as_usages
from lts_core.faults import error_detail, error_message, one_line, usages_of
from lts_core.policies import AdmissionContext, AdmissionPolicy, make_policy
from lts_core.record.records import (
    AdmissionRecord,
    LLMCallRecord,
    MemoryReadRecord,
    RunRecord,
    ToolCallRecord,
)
from lts_core.runtime.explainer import RunExplanations
from lts_core.runtime.run_config import RunConfig
from lts_core.runtime.team import PendingStep, Team
from lts_core.scoring import exact_match, f1_score
from lts_core.secrets import redact_config
from lts_core.seeds import derive_seed
from lts_core.world.embeddings import get_embedder
from lts_core.world.memory import MemoryBank
from lts_core.world.search import SearchIndex
from lts_core.world.tasks import Suite, Task
from lts_core.world.tools import Toolbox, WebLatency

if TYPE_CHECKING:
    from lts_core.runtime.engine import Engine


class Run:
    """One run: its teams, bank, policy and the commit path (see the module docstring)."""

    def __init__(self, engine: Engine, task: Task, suite: Suite, config: RunConfig, *,
                 batch_id: str = "", index: SearchIndex | None = None,
                 policy: AdmissionPolicy | None = None) -> None:
        config.validate()
        self.engine, self.task, self.config = engine, task, config
        self.store = engine.store
        self.run_id = uuid.uuid4().hex[:12]
        # a ready policy object (the trainer's live controller) replaces the configured one
        self.policy = policy or make_policy(config.policy, **config.policy_options)
        self.backend = make_backend(config.backend, **config.backend_options)
        bind = getattr(self.policy, "bind_backend", None)
        if bind is not None:  # e.g. llm-judge borrows the LLM back-end's model when given none
            bind(self.backend)
        self.embedder = get_embedder(config.embedder)
        self.bank = MemoryBank(self.run_id, max_fetch_chars=config.max_fetch_chars)
        idx = index or engine.index(suite, use_pool=config.use_pool)
        latency = WebLatency(enabled=config.web_latency, **(
            {} if config.web_failure is None else {"failure_p": config.web_failure}))
        self.toolbox = Toolbox(idx, task, latency, top_k=config.top_k)
        self.stop_event = threading.Event()  # wakes sleeping teams: cancel, or the first answer
        self.ctx = BackendContext(idx, self.embedder, self.policy.uses_memory, config.backend_options,
                                  stop_event=self.stop_event,
                                  oracle_reader=self.policy.oracle_reader)
        self.backend.prepare(task, self.ctx)
        self.teams = []
        for i in range(config.teams):
            rng = random.Random(derive_seed(config.seed, task.id, i))
            self.teams.append(Team(i, self.backend.make_agent(task, i, rng, self.ctx), rng,
                                   run_id=self.run_id, task=task, max_steps=config.max_steps,
                                   toolbox=self.toolbox,
                                   bank=self.bank if self.policy.uses_memory else None,
                                   free_summaries=self.policy.free_summaries))
        self.commit_lock = threading.Lock()
        self.cancelled = False
        self.stopped = False
        self.admissions: list[AdmissionRecord] = []
        self.explanations = RunExplanations(self.store, self.run_id, _jsonable)
        self.n_steps = 0
        self.t_last = 0.0  # clock time of the latest committed step
        self.n_tool_calls = 0
        self.n_llm_calls = 0
        self.reads: list[MemoryReadRecord] = []  # the reads of committed steps (as recorded)
        self.wall0 = time.time()
        cfg = redact_config({"run": dataclasses.asdict(config), "backend": self.backend.describe(),
                             "policy": self.policy.describe(), "latency": latency.describe()})
        self.record = RunRecord(
            run_id=self.run_id, task_id=task.id, suite=suite.name, question=task.question,
            gold=task.answer, backend=config.backend, policy=config.policy, executor=config.executor,
            stop=config.stop, teams=config.teams, max_steps=config.max_steps, seed=config.seed,
            simulated=self.backend.simulated, config_json=json.dumps(cfg, default=str),
            batch_id=batch_id, created_at=self.wall0, memory_on=bool(self.policy.uses_memory),
            speed=float(config.speed),
        )

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.store.write(self.record)
        for t in self.teams:
            self.store.write(t.rec)
        if self.config.poison:
            from lts_core.runtime.poison import plant

            plant(self)

    @property
    def speed(self) -> float:
        """Run-clock seconds per real second (the threads executor; ``executors.Playable``)."""
        return self.config.speed

    @property
    def real_time_steps(self) -> bool:
        """Whether the back-end's calls take real time (an LLM), not simulated time."""
        return not self.backend.simulated

    def safe_step(self, team: Team, now: float) -> PendingStep | None:
        """``team.step(now)``, or None after recording the team's failure."""
        if team.done or self.stopped:
            return None
        try:
            return team.step(now)
        except Exception as e:  # one failing team never takes the run down
            with self.commit_lock:  # a call cut short by cancel / the first answer is no error
                for u in usages_of(e):  # the calls the failed step made, failed ones included
                    self._record_usage(u, team.idx, team.step_idx)
                    team.rec.prompt_tokens += u.prompt_tokens
                    team.rec.completion_tokens += u.completion_tokens
                self.end_team(team, "cancelled" if self.stopped else "error", now,
                              error=error_message(e), error_detail=error_detail(e))
            return None

    def commit(self, p: PendingStep, t_end: float) -> None:
        """Make a finished step visible: record it, run admission, maybe add it to the bank."""
        with self.commit_lock:
            if self.stopped:
                return
            team, rec = p.team, p.record
            rec.t_end = t_end
            self.t_last = max(self.t_last, t_end)
            if self.policy.uses_memory and p.action.kind != "memory_read":
                self._admit(p, t_end)
            self.store.write(rec)
            tc = _tool_call_record(self.run_id, p)
            if tc is not None:
                self.store.write(tc)
                self.n_tool_calls += 1
            for u in p.usages:
                self._record_usage(u, team.idx, rec.step_idx)
            team.rec.prompt_tokens += rec.prompt_tokens
            team.rec.completion_tokens += rec.completion_tokens
            for r in p.reads:
                self.store.write(r)
            self.reads.extend(p.reads)  # committed reads only: the record's count
            self.n_steps += 1
            team.rec.steps = team.step_idx
            if p.action.kind == "answer":
                self.end_team(team, "answered", t_end, answer=p.action.arg)
                if self.config.stop == "first":
                    self._stop_others(team, t_end)
            elif team.step_idx >= self.config.max_steps:
                self.end_team(team, "budget", t_end)

    def _admit(self, p: PendingStep, t_end: float) -> None:
        rec = p.record
        s_vec = self.embedder.one(rec.s)
        ctx = AdmissionContext(self.task.question, self.bank.keys_at(t_end), rec.u, rec.s, rec.o,
                               rec.action, rec.team_idx, rec.step_idx, self.embedder, s_vec,
                               random.Random(derive_seed(self.config.seed, self.task.id, "adm",
                                                         rec.team_idx, rec.step_idx)),
                               payload=p.payload, teams=self.config.teams, arg=p.action.arg or "",
                               answers={t.idx: t.rec.answer for t in self.teams
                                        if t.rec.status == "answered" and t.rec.answer is not None})
        t0 = time.perf_counter()
        d = self.policy.decide(ctx)
        ms = (time.perf_counter() - t0) * 1000
        entry_id = None
        if d.admit:
            e = self.bank.add(team_idx=rec.team_idx, step_idx=rec.step_idx, action=rec.action,
                              key=rec.s, value=rec.o, t_added=t_end, key_vec=s_vec, payload=p.payload)
            entry_id = e.entry_id
            rec.entry_id = entry_id
            self.store.write(e.record(self.run_id))
        for u in d.usages:  # the policy's own model calls (llm-judge)
            self._record_usage(u, rec.team_idx, rec.step_idx)
        a = AdmissionRecord(self.run_id, rec.team_idx, rec.step_idx, self.policy.name,
                            float(min(1.0, max(0.0, d.score))), bool(d.admit), t_end,
                            json.dumps(d.features, default=_jsonable), round(ms, 4), entry_id,
                            threshold=d.threshold)
        self.admissions.append(a)
        self.store.write(a)
        if d.explain_later is not None:  # after the decision is recorded, off its path
            self.explanations.submit(rec.team_idx, rec.step_idx, d.explain_later)

    def _record_usage(self, u: LLMUsage, team_idx: int, step_idx: int) -> None:
        """Record one model call (a step's, the judge's, the aggregator's, a failed step's) and add
        its tokens and cost to the run; the caller holds the lock."""
        self.store.write(LLMCallRecord(self.run_id, team_idx, step_idx, u.purpose, u.model,
                                       u.prompt_tokens, u.completion_tokens, round(u.seconds, 4),
                                       u.cost_usd, u.real, u.ok,
                                       one_line(u.error, 600) if u.error else None))
        self.n_llm_calls += 1
        self.record.prompt_tokens += u.prompt_tokens
        self.record.completion_tokens += u.completion_tokens
        self.record.cost_usd += u.cost_usd

    def end_team(self, team: Team, status: str, t: float, *, answer: str | None = None,
                 error: str | None = None, error_detail: str | None = None) -> None:
        """End ``team`` (the first end wins), score its answer and record its final row; the
        caller holds the lock."""
        if not team.finish(status, t, answer=answer, error=error, error_detail=error_detail):
            return
        if answer is not None:
            team.rec.em = exact_match(answer, self.task.golds)
            team.rec.f1 = f1_score(answer, self.task.golds)
        self.store.update(team.rec)

    def _stop_others(self, winner: Team, t: float) -> None:
        self.stopped = True
        self.stop_event.set()
        for t2 in self.teams:
            if t2 is not winner and not t2.done:
                self.end_team(t2, "cancelled", t)

    def cancel(self) -> None:
        """Ask the run to stop (from any thread); ``finalize`` marks it cancelled."""
        self.cancelled = True
        self.stopped = True
        self.stop_event.set()

    def finalize(self, t_now: float, *, status: str | None = None, error: str | None = None,
                 detail: str | None = None) -> RunRecord:
        """Aggregate answers, score, and write the run's final row. ``error`` is one line for
        users, ``detail`` (a traceback) goes to ``error_detail``. Waits for the run's pending
        explanations first (briefly when it ends on a fault or an interrupt), so a run marked
        finished has all its rows."""
        self.explanations.wait(2.0 if status or error else 120.0)
        with self.commit_lock:
            r = self.record
            cancelled = self.cancelled
            # a cancel / Ctrl-C / failure passes 0.0: teams stop when the last step committed
            t_now = max(t_now, self.t_last)
            for t in self.teams:
                if not t.done:
                    self.end_team(t, "cancelled" if cancelled or self.stopped else "budget", t_now)
            answered = [(t.idx, t.rec.answer, t.rec.t_end or t_now) for t in self.teams
                        if t.rec.status == "answered" and t.rec.answer]
            t_final = max([t.rec.t_end or 0.0 for t in self.teams] + [0.0])
            if self.config.stop == "first" and answered:
                first = min(answered, key=lambda a: (a[2], a[0]))
                r.answer, t_final = first[1], first[2]
            elif answered and not cancelled:
                try:
                    ans, usage = self.backend.aggregate(self.task, answered,
                                                        random.Random(self.config.seed))
                    usages = as_usages(usage)
                except Exception as e:  # never leave the run 'running': record why it failed
                    ans, usages = None, usages_of(e)
                    status = status or "failed"
                    error = error or f"aggregation failed: {error_message(e)}"
                    detail = detail or error_detail(e)
                r.answer = ans
                for u in usages:
                    t_final += u.seconds
                    self._record_usage(u, -1, -1)  # team -1: the run's aggregator
            r.runtime_s = round(t_final, 4)
            r.wall_s = round(time.time() - self.wall0, 4)
            r.finished_at = time.time()
            if r.answer is not None:
                r.em = exact_match(r.answer, self.task.golds)
                r.f1 = f1_score(r.answer, self.task.golds)
            if status:
                r.status = status
            elif cancelled:
                r.status = "cancelled"
            elif all(t.rec.status == "error" for t in self.teams):
                r.status = "failed"
                r.error = one_line("every team failed: " + (self.teams[0].rec.error or ""))
                r.error_detail = "\n\n".join(f"team {t.idx}: {t.rec.error_detail or t.rec.error}"
                                               for t in self.teams)
            else:
                r.status = "finished"
            if error:
                r.error = one_line(error)
                r.error_detail = detail or r.error_detail
            self.store.update(r)
            return r

    # ----------------------------------------------------------------- figures
    def summary(self) -> RunSummary:
        """The run's figures as recorded (``queries.run_metrics`` counts the same; a test checks)."""
        reads = self.reads
        return RunSummary(
            record=self.record, steps=self.n_steps, tool_calls=self.n_tool_calls,
            decisions=len(self.admissions), admitted=sum(a.admitted for a in self.admissions),
            entries=len(self.bank), reads=len(reads), cross_reads=sum(r.cross_team for r in reads),
            entries_read=len({r.entry_id for r in reads}), level=self.task.level,
            llm_calls=self.n_llm_calls, decide_ms=sum(a.decide_ms for a in self.admissions),
        )


@dataclass
class RunSummary:
    record: RunRecord
    steps: int
    tool_calls: int
    decisions: int
    admitted: int
    entries: int
    reads: int
    cross_reads: int
    entries_read: int
    level: str = ""
    llm_calls: int = 0
    decide_ms: float = 0.0  # real time the admission policy spent deciding, summed over the run


def _tool_call_record(run_id: str, p: PendingStep) -> ToolCallRecord | None:
    """The tool call a committed step made (search, open), or None."""
    if p.action.kind not in ("search", "open"):
        return None
    o = p.output
    return ToolCallRecord(run_id, p.team.idx, p.record.step_idx, p.action.kind, p.action.arg[:500],
                          o.ok, round(o.latency_s, 4), round(o.compute_ms, 3), len(o.text), o.error)


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)
