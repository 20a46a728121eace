"""Runs: K teams on one task with a shared bank, an admission policy and a recorder.

Use::

    engine = Engine(Store("lts.duckdb"))
    result = engine.run_task(engine.suite("demo").tasks[0], "demo", RunConfig(teams=3, policy="dedup"))
    print(result.run.status, result.run.answer, result.run.runtime_s)

``Engine`` owns what a process shares: the store, the suites, their search indexes and the embedder.
``Run`` owns one run: its teams, bank, policy and the commit path. ``Run.commit`` is serialised by a
lock, so admission decisions and bank additions happen one at a time in clock order per team.
``engine.start(...)`` runs a task in a background thread and returns a ``RunHandle`` (cancel, wait).

One failing team never takes the run down: its exception is recorded as the team's error and the
other teams go on. The run fails only when every team failed.

Faults (``lts_core.faults``): ``runs.error`` / ``teams.error`` hold one line for users, the traceback
goes to ``error_detail``; model calls made before a failure (``e.usages``) are recorded as
``llm_calls`` rows like any other. Secrets (``lts_core.secrets``): ``config_json`` is recorded with
every secret masked, and so is every error text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .backends import BackendContext, make_backend
from .backends.base import LLMUsage, as_usages
from .config import Settings
from .embeddings import get_embedder
from .faults import error_detail, error_message, one_line, usages_of
from .memory import MemoryBank
from .policies import AdmissionContext, AdmissionPolicy, make_policy
from .records import AdmissionRecord, LLMCallRecord, RunRecord
from .scoring import exact_match, f1_score
from .search import SearchIndex
from .secrets import redact_config
from .store import Store
from .tasks import Suite, Task, load_suite
from .team import PendingStep, Team
from .tools import Toolbox, WebLatency

STOP_RULES = ("aggregate", "first")


class ConfigError(ValueError):
    """A run setting is wrong; the message names the setting and the allowed values."""


@dataclass
class RunConfig:
    teams: int = 3
    policy: str = "dedup"
    policy_options: dict[str, Any] = field(default_factory=dict)
    backend: str = "sim"
    backend_options: dict[str, Any] = field(default_factory=dict)
    executor: str = "virtual"
    stop: str = "aggregate"
    max_steps: int = 30
    seed: int = 0
    web_latency: bool = True
    web_failure: float | None = None  # P(a web call fails); None keeps WebLatency's default
    speed: float = 20.0  # threads executor: run-clock seconds per real second
    max_fetch_chars: int = 4000
    use_pool: bool = True
    top_k: int = 5
    embedder: str = "minilm"
    poison: int = 0  # wrong entries planted in the bank (lts_core.poison); 0 = none
    poison_at_s: float = 20.0  # clock time at which they appear

    def validate(self) -> None:
        from .checks import check_config
        from .executors import EXECUTORS

        check_config(self)  # types first, then every name, number and option (lts_core.checks)
        if not 1 <= self.teams <= 64:
            raise ConfigError(f"teams must be between 1 and 64, got {self.teams}")
        if self.stop not in STOP_RULES:
            raise ConfigError(f"stop must be one of {', '.join(STOP_RULES)}, got {self.stop!r}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if not 1 <= self.max_steps <= 500:
            raise ConfigError(f"max_steps must be between 1 and 500, got {self.max_steps}")
        if self.speed <= 0:
            raise ConfigError(f"speed must be positive, got {self.speed}")
        if self.max_fetch_chars < 100:
            raise ConfigError(f"max_fetch_chars must be at least 100, got {self.max_fetch_chars}")
        from .poison import MAX_POISON

        if not 0 <= self.poison <= MAX_POISON or self.poison_at_s < 0:
            raise ConfigError(f"poison must be 0..{MAX_POISON} entries at a time >= 0 s, got "
                              f"{self.poison} at {self.poison_at_s}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big") >> 1


class Run:
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
            self.teams.append(Team(self, i, self.backend.make_agent(task, i, rng, self.ctx), rng))
        self.commit_lock = threading.Lock()
        self.cancelled = False
        self.stopped = False
        self.admissions: list[AdmissionRecord] = []
        self.n_steps = 0
        self.t_last = 0.0  # clock time of the latest committed step
        self.n_tool_calls = 0
        self.n_llm_calls = 0
        self.wall0 = time.time()
        cfg = redact_config({"run": dataclasses.asdict(config), "backend": self.backend.describe(),
                             "policy": self.policy.describe(), "latency": latency.describe()})
        self.record = RunRecord(
            run_id=self.run_id, task_id=task.id, suite=suite.name, question=task.question,
            gold=task.answer, backend=config.backend, policy=config.policy, executor=config.executor,
            stop=config.stop, teams=config.teams, max_steps=config.max_steps, seed=config.seed,
            simulated=self.backend.simulated, config_json=json.dumps(cfg, default=str),
            batch_id=batch_id, created_at=self.wall0,
        )

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.store.write(self.record)
        for t in self.teams:
            self.store.write(t.rec)
        if self.config.poison:
            from .poison import plant

            plant(self)

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
                team.finish("cancelled" if self.stopped else "error", now,
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
            tc = team.tool_call_record(p)
            if tc is not None:
                self.store.write(tc)
                self.n_tool_calls += 1
            for r in team.llm_records(p):
                self.store.write(r)
                self.n_llm_calls += 1
                self.record.prompt_tokens += r.prompt_tokens
                self.record.completion_tokens += r.completion_tokens
                self.record.cost_usd += r.cost_usd
            team.rec.prompt_tokens += rec.prompt_tokens
            team.rec.completion_tokens += rec.completion_tokens
            for r in p.reads:
                self.store.write(r)
            self.n_steps += 1
            team.rec.steps = team.step_idx
            if p.action.kind == "answer":
                team.finish("answered", t_end, answer=p.action.arg)
                if self.config.stop == "first":
                    self._stop_others(team, t_end)
            elif team.step_idx >= self.config.max_steps:
                team.finish("budget", t_end)

    def _admit(self, p: PendingStep, t_end: float) -> None:
        rec = p.record
        s_vec = self.embedder.one(rec.s)
        ctx = AdmissionContext(self.task.question, self.bank.keys_at(t_end), rec.u, rec.s, rec.o,
                               rec.action, rec.team_idx, rec.step_idx, self.embedder, s_vec,
                               random.Random(derive_seed(self.config.seed, self.task.id, "adm",
                                                         rec.team_idx, rec.step_idx)),
                               payload=p.payload)
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
                            json.dumps(d.features, default=_jsonable), round(ms, 4), entry_id)
        self.admissions.append(a)
        self.store.write(a)

    def _record_usage(self, u: LLMUsage, team_idx: int, step_idx: int) -> None:
        """Record a model call made outside a committed step (judge, aggregator, a failed step's
        calls); the caller holds the lock."""
        self.store.write(LLMCallRecord(self.run_id, team_idx, step_idx, u.purpose, u.model,
                                       u.prompt_tokens, u.completion_tokens, round(u.seconds, 4),
                                       u.cost_usd, u.real, u.ok,
                                       one_line(u.error, 600) if u.error else None))
        self.n_llm_calls += 1
        self.record.prompt_tokens += u.prompt_tokens
        self.record.completion_tokens += u.completion_tokens
        self.record.cost_usd += u.cost_usd

    def _stop_others(self, winner: Team, t: float) -> None:
        self.stopped = True
        self.stop_event.set()
        for t2 in self.teams:
            if t2 is not winner and not t2.done:
                t2.finish("cancelled", t)

    def cancel(self) -> None:
        """Ask the run to stop (from any thread); ``finalize`` marks it cancelled."""
        self.cancelled = True
        self.stopped = True
        self.stop_event.set()

    def finalize(self, t_now: float, *, status: str | None = None, error: str | None = None,
                 detail: str | None = None) -> RunRecord:
        """Aggregate answers, score, and write the run's final row. ``error`` is one line for
        users, ``detail`` (a traceback) goes to ``error_detail``."""
        with self.commit_lock:
            r = self.record
            cancelled = self.cancelled
            # a cancel / Ctrl-C / failure passes 0.0: teams stop when the last step committed
            t_now = max(t_now, self.t_last)
            for t in self.teams:
                if not t.done:
                    t.finish("cancelled" if cancelled or self.stopped else "budget", t_now)
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
        reads = self.bank.reads
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


class RunHandle:
    """A run executing in a background thread (``Engine.start``)."""

    def __init__(self, run: Run, thread: threading.Thread) -> None:
        self.run, self.thread = run, thread
        self.error: BaseException | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def cancel(self) -> None:
        self.run.cancel()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


class Engine:
    """Process-wide resources. Thread-safe: ``run_task``/``start`` may be called from any thread."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings.from_env()
        self._suites: dict[str, Suite] = {}
        self._indexes: dict[tuple[str, bool], SearchIndex] = {}
        self._lock = threading.Lock()

    def suite(self, name: str) -> Suite:
        with self._lock:
            if name not in self._suites:
                self._suites[name] = load_suite(name, self.settings.data_dir)
            return self._suites[name]

    def index(self, suite: Suite, *, use_pool: bool = True) -> SearchIndex:
        key = (suite.name, use_pool)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = SearchIndex.for_suite(suite, use_pool=use_pool)
            return self._indexes[key]

    def prepare_run(self, task: Task, suite: str | Suite, config: RunConfig, *,
                    batch_id: str = "", policy: AdmissionPolicy | None = None) -> Run:
        s = self.suite(suite) if isinstance(suite, str) else suite
        return Run(self, task, s, config, batch_id=batch_id, policy=policy)

    def execute(self, run: Run) -> RunSummary:
        """Run to the end on the configured executor; Ctrl-C marks the run interrupted."""
        from .executors import get_executor

        run.start()
        executor = get_executor(run.config.executor)
        try:
            t_end = executor.execute(run)
        except KeyboardInterrupt:
            run.cancel()
            run.finalize(0.0, status="interrupted", error="interrupted by the user (Ctrl-C)")
            raise
        except Exception as e:
            run.finalize(0.0, status="failed", error=error_message(e), detail=error_detail(e))
            raise
        run.finalize(t_end)
        return run.summary()

    def run_task(self, task: Task, suite: str | Suite, config: RunConfig, *,
                 batch_id: str = "", policy: AdmissionPolicy | None = None) -> RunSummary:
        return self.execute(self.prepare_run(task, suite, config, batch_id=batch_id, policy=policy))

    def start(self, task: Task, suite: str | Suite, config: RunConfig, *,
              batch_id: str = "") -> RunHandle:
        """Run in a background thread; returns at once with a handle."""
        run = self.prepare_run(task, suite, config, batch_id=batch_id)
        holder: dict[str, RunHandle] = {}

        def target() -> None:
            try:
                self.execute(run)
            except BaseException as e:  # recorded in the run row by execute()
                holder["h"].error = e

        th = threading.Thread(target=target, name=f"lts-run-{run.run_id}", daemon=True)
        h = RunHandle(run, th)
        holder["h"] = h
        th.start()
        return h


# the old name (lts_core.train imports it): lts_core.secrets.redact_config masks every secret
_redact = redact_config


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)
