"""The real LLM back-end (``llm``): Magentic-One-style orchestrators over any litellm model.

``make_backend("openai/gpt-4o-mini")`` (any name with a "/") or ``make_backend("llm", model=...)``.
Options (``RunConfig.backend_options``, ``lts run --backend-options '{...}'``):

| option            | default | meaning                                                          |
|-------------------|---------|------------------------------------------------------------------|
| model             | -       | litellm model string (``openai/...``, ``anthropic/...``, ...)     |
| api_base          | None    | server URL (Ollama, vLLM, llama.cpp, a proxy)                    |
| api_key_env       | None    | name of the env var with the key (default: litellm's usual vars) |
| temperature       | 0.0     | sampling temperature of every call                               |
| max_tokens        | 512     | completion cap of orchestrator calls (summaries 48, judge 3)     |
| timeout           | 60      | seconds an attempt may take, a hard limit (llm_client)           |
| num_retries       | 3       | extra attempts on 429 / 5xx / timeouts, with exponential backoff |
| backoff_s         | 1.0     | first backoff wait (doubles, jittered, capped at max_backoff_s)  |
| structured        | auto    | auto / json_schema / json_object_schema / json_object / none     |
| max_stalls        | 3       | replan after this many stalled steps in a row                    |
| max_malformed     | 5       | a team errors after this many unusable replies in a row          |
| aggregator        | llm     | llm (M1-Parallel aggregator) or vote (majority vote, no call)    |
| history_steps     | 8       | steps of the team's own history shown to the orchestrator        |
| last_output_chars | 1500    | characters of the last step's output shown to the orchestrator   |
| max_keys          | 30      | newest memory keys of other teams shown to the orchestrator      |
| summary_chars     | 2000    | characters of a step's output the summarizer reads               |
| extra_instructions| ""      | text appended to every progress-ledger prompt ({unread_id}: the  |
|                   |         | newest unread entry of another team; lines with it are dropped   |
|                   |         | when there is none)                                              |
| seed, extra       | None    | sampling seed; a dict of further litellm.completion arguments    |

A step: ``decide`` makes one orchestrator call (the task ledger at step 0, a progress ledger after),
the engine runs the chosen tool (or the memory fetch), ``summarize`` makes one stateless call for
s_t (15-20 words from the output cut to ``summary_chars``). Every call's measured seconds count in
the step's time (``LLMUsage(real=True)``). docs/llm.md describes the design and the providers.

An agent is driven by one thread at a time; the shared ``LLMClient`` is thread-safe.

Size: the options table above and ``LLMAgent``'s ledger loop (decide, observe, summarize, replan,
malformed replies) are one contract; the prompts live in ``llm_prompts``, the calls in ``llm_client``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from lts_core.backends import llm_prompts as P
from lts_core.backends.base import (
    Action,
    Backend,
    BackendContext,
    LLMUsage,
    TeamView,
    ToolOutput,
    majority_vote,
)
from lts_core.backends.llm_client import (
    LLMCancelled,
    LLMClient,
    LLMError,
    extract_json,
    mark_unusable,
)
from lts_core.faults import attach_usages
from lts_core.scoring import normalize_answer
from lts_core.secrets import public_options, redact_config
from lts_core.world.tasks import Task

CLIENT_OPTIONS = ("model", "api_base", "api_key", "api_key_env", "temperature", "max_tokens",
                  "timeout", "num_retries", "backoff_s", "max_backoff_s", "structured", "seed",
                  "extra")


@dataclass(frozen=True)
class AgentParams:
    max_stalls: int = 3
    max_malformed: int = 5
    aggregator: str = "llm"
    history_steps: int = 8
    last_output_chars: int = 1500
    max_keys: int = 30
    summary_chars: int = 2000
    summary_max_tokens: int = 48
    aggregate_max_tokens: int = 256
    aggregate_tail_chars: int = 1200
    extra_instructions: str = ""


@dataclass
class HistoryItem:
    step: int
    kind: str
    arg: str
    instruction: str
    output: str
    summary: str = ""
    ok: bool = True

    def line(self) -> str:
        res = self.summary or " ".join(self.output.split())[:200]
        arg = f" {self.arg!r}" if self.arg and self.kind != "plan" else ""
        return f"[{self.step}] {self.kind}{arg} -> {res}"


@dataclass
class LLMAgent:
    task: Task
    team_idx: int
    client: LLMClient
    ctx: BackendContext
    p: AgentParams
    ledger: str = ""
    history: list[HistoryItem] = field(default_factory=list)
    fetched: list[int] = field(default_factory=list)
    stalls: int = 0
    replans: int = 0
    malformed: int = 0
    last_output: str = ""

    @property
    def stop_event(self):
        return getattr(self.ctx, "stop_event", None)

    # ------------------------------------------------------------------ helpers
    def _call(self, messages: list[dict[str, str]], purpose: str, *, schema: dict | None = None,
              name: str = "reply", max_tokens: int | None = None):
        return self.client.complete(messages, purpose=purpose, schema=schema, schema_name=name,
                                    max_tokens=max_tokens, stop_event=self.stop_event)

    def _json_call(self, messages: list[dict[str, str]], schema: dict, name: str,
                   parse, usages: list[LLMUsage]) -> tuple[Any, str | None]:
        """Call, parse; on a parse error send the error back once. Returns (parsed or None, error)."""
        r = self._call(messages, "orchestrate", schema=schema, name=name)
        usages.extend(r.usages)
        try:
            return parse(extract_json(r.text)), None
        except ValueError as e:
            err = str(e)
            mark_unusable(r.usage, err)
        r2 = self._call(P.repair_messages(messages, r.text, err), "orchestrate", schema=schema,
                        name=name)
        usages.extend(r2.usages)
        try:
            return parse(extract_json(r2.text)), None
        except ValueError as e:
            mark_unusable(r2.usage, f"after the repair retry: {e}")
            return None, f"{err}; after the repair retry: {e}"

    def _history_text(self) -> str:
        return "\n".join(h.line() for h in self.history[-self.p.history_steps:])

    def _foreign_keys(self, view: TeamView) -> list:
        if not view.memory_on:
            return []
        keys = [e for e in view.keys if e.team_idx != self.team_idx]
        return keys[-self.p.max_keys:]

    def _malformed(self, err: str) -> None:
        self.malformed += 1
        if self.malformed >= self.p.max_malformed:
            raise LLMError(f"{self.client.model} replied {self.malformed} times in a row with "
                           f"nothing usable; last problem: {err}")

    # ------------------------------------------------------------------ Agent protocol
    def decide(self, view: TeamView) -> tuple[Action, list[LLMUsage]]:
        """The next action and every call it took. On an exception (``LLMError``: retries
        exhausted, too many unusable replies, cancelled) the calls made so far travel with it
        (``e.usages``) so that the engine records them."""
        usages: list[LLMUsage] = []
        try:
            return self._decide(view, usages)
        except Exception as e:
            attach_usages(e, usages)
            raise

    def _decide(self, view: TeamView, usages: list[LLMUsage]) -> tuple[Action, list[LLMUsage]]:
        if view.step_idx == 0 or not self.ledger:
            return self._plan(view, usages), usages
        if view.step_idx >= view.max_steps - 1:
            return self._final(view, usages, "the step budget is exhausted"), usages
        if self.stalls >= self.p.max_stalls:
            return self._plan(view, usages, replan=True), usages

        keys = self._foreign_keys(view)
        unread = [e for e in keys if e.entry_id not in self.fetched]
        # memory first: the paper's orchestrators look at the shared keys before acting on the web
        tools = (["memory_read"] if unread else []) + ["search", "open", "answer"]
        ids = [e.entry_id for e in unread]
        key_text = "\n".join(f"#{e.entry_id} (team {e.team_idx}): {e.key}" for e in keys)
        last = self.last_output[: self.p.last_output_chars]
        msgs = P.progress_messages(self.task.question, self.ledger, self._history_text(), last,
                                   key_text, [i for i in self.fetched if i in {e.entry_id for e in keys}],
                                   tools, extra=P.fill_extra(self.p.extra_instructions, ids),
                                   memory_on=view.memory_on)
        prog, err = self._json_call(msgs, P.progress_schema(tools, ids), "progress_ledger",
                                    lambda o: P.parse_progress(o, tools, ids), usages)
        if prog is None:
            self._malformed(err or "unparseable")
            self.stalls += 1
            return self._fallback(err or "unparseable"), usages
        self.malformed = 0
        repeated = any(h.kind == prog.tool and h.arg.lower() == prog.argument.lower()
                       for h in self.history[-3:])
        detail = {"ledger": {"is_request_satisfied": prog.is_request_satisfied,
                             "is_in_loop": prog.is_in_loop or repeated,
                             "is_progress_being_made": prog.is_progress_being_made},
                  "stalls": self.stalls}
        if prog.is_in_loop or repeated or not prog.is_progress_being_made:
            self.stalls += 1
        else:
            self.stalls = max(0, self.stalls - 1)
        instruction = prog.instruction or f"{prog.tool} {prog.argument}"
        if prog.tool == "answer":
            return Action("answer", prog.argument, instruction, detail=detail), usages
        if prog.is_request_satisfied:
            return self._final(view, usages, "the progress ledger says the request is satisfied",
                               detail), usages
        if prog.tool == "memory_read":
            self.fetched.extend(prog.entry_ids)
            return Action("memory_read", prog.argument, instruction, entry_ids=prog.entry_ids,
                          detail=detail), usages
        return Action(prog.tool, prog.argument, instruction, detail=detail), usages

    def _plan(self, view: TeamView, usages: list[LLMUsage], replan: bool = False) -> Action:
        msgs = P.task_ledger_messages(self.task.question, view.memory_on,
                                      previous=self.ledger if replan else "",
                                      history=self._history_text() if replan else "")
        ledger, err = self._json_call(msgs, P.TASK_LEDGER_SCHEMA, "task_ledger", P.ledger_text,
                                      usages)
        detail: dict[str, Any] = {}
        if ledger is None:
            self._malformed(err or "unparseable")
            detail["fallback"] = err
            ledger = self.ledger or ("Facts:\n- (none yet)\nPlan:\n- search for the question's "
                                     "entities\n- open the relevant pages\n- answer")
        else:
            self.malformed = 0
        self.ledger = ledger
        if replan:
            self.replans += 1
            self.stalls = 0
            detail["replan"] = self.replans
        instr = ("Rewrite the task ledger after repeated stalls." if replan else
                 "Write the task ledger: facts and plan.")
        return Action("plan", "replan" if replan else self.task.question, instr,
                      detail={**detail, "plan": ledger})

    def _final(self, view: TeamView, usages: list[LLMUsage], why: str,
               detail: dict | None = None) -> Action:
        msgs = P.final_answer_messages(self.task.question, self.ledger, self._history_text(),
                                       self.last_output[: self.p.last_output_chars], view.memory_on)
        r = self._call(msgs, "orchestrate", schema=P.FINAL_SCHEMA, name="final_answer")
        usages.extend(r.usages)
        ans = P.parse_answer(r.text)
        if not ans:
            mark_unusable(r.usage, "no final answer in the reply ('unknown' used)")
        ans = ans or "unknown"
        return Action("answer", ans, "Give the final answer.", detail={**(detail or {}), "why": why})

    def _fallback(self, err: str) -> Action:
        """A usable action when the model's reply was not (never crashes the team)."""
        searched = {h.arg.lower() for h in self.history if h.kind == "search"}
        q = self.task.question if self.task.question.lower() not in searched else \
            " ".join(self.task.question.split()[:8])
        return Action("search", q, "Search for the question (the orchestrator's reply was unusable).",
                      detail={"fallback": err[:500]})

    def observe(self, action: Action, output: ToolOutput, view: TeamView) -> None:
        self.history.append(HistoryItem(view.step_idx, action.kind, action.arg, action.instruction,
                                        output.text, ok=output.ok))
        self.last_output = output.text

    def summarize(self, action: Action, output: ToolOutput) -> tuple[str, list[LLMUsage]]:
        """s_t and every attempt of its call. A failed summary never fails the step: the key is
        ``"<action>: <arg>"`` and the failed attempts are returned (``ok = False``)."""
        msgs = P.summary_messages(action.instruction, action.kind, action.arg, output.text,
                                  self.p.summary_chars)
        label = f"{action.kind}: {action.arg}"[:160]
        try:
            r = self._call(msgs, "summarize", max_tokens=self.p.summary_max_tokens)
        except LLMError as e:
            if isinstance(e, LLMCancelled):
                raise
            s, usages = label, e.usages
        else:
            s = P.clean_summary(r.text)
            if not s:
                mark_unusable(r.usage, "empty summary (the step's label is the key)")
            s, usages = s or label, r.usages
        if self.history:
            self.history[-1].summary = s
        return s, usages

    def payload(self, action: Action, output: ToolOutput) -> dict[str, Any]:
        pl: dict[str, Any] = {"kind": action.kind}
        if action.kind == "search":
            pl["hits"] = output.payload.get("hits", [])
        elif action.kind == "open":
            pl["title"] = output.payload.get("title")
        elif action.kind == "answer":
            pl["answer"] = action.arg
        return pl

    def transcript_tail(self, chars: int) -> str:
        text = self._history_text()
        return text[-chars:]


class LLMBackend(Backend):
    """Factory of ``LLMAgent``s sharing one ``LLMClient``; the LLM aggregator (or a vote)."""

    name = "llm"
    simulated = False
    option_sources = (LLMClient, AgentParams)  # where **options go (their types are checked)

    def __init__(self, model: str | None = None, **options: Any) -> None:
        known = set(CLIENT_OPTIONS) | set(AgentParams.__dataclass_fields__)
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown llm back-end option(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(known))}")
        client_opts = {k: v for k, v in options.items() if k in CLIENT_OPTIONS}
        agent_opts = {k: v for k, v in options.items() if k in AgentParams.__dataclass_fields__}
        self.client = LLMClient(model or "", **client_opts)
        self.params = AgentParams(**agent_opts)
        if self.params.aggregator not in ("llm", "vote"):
            raise ValueError(f"aggregator must be 'llm' or 'vote', got {self.params.aggregator!r}")
        if self.params.max_stalls < 1 or self.params.max_malformed < 1:
            raise ValueError("max_stalls and max_malformed must be at least 1")
        self.agents: dict[int, LLMAgent] = {}
        self.ctx: BackendContext | None = None

    @property
    def model(self) -> str:
        return self.client.model

    def judge_settings(self) -> dict[str, Any]:
        """What an ``llm-judge`` policy without its own model borrows (secret included)."""
        return self.client.settings()

    def prepare(self, task: Task, ctx: BackendContext) -> None:
        self.ctx = ctx

    def make_agent(self, task: Task, team_idx: int, rng: random.Random,
                   ctx: BackendContext) -> LLMAgent:
        agent = LLMAgent(task, team_idx, self.client, ctx, self.params)
        self.agents[team_idx] = agent
        return agent

    def aggregate(self, task: Task, answers: list[tuple[int, str, float]],
                  rng: random.Random) -> tuple[str, list[LLMUsage] | None]:
        """M1-Parallel aggregator: one call reads the end of each answering team's transcript.

        No call (None) when the teams agree (after normalisation) or when ``aggregator="vote"``;
        a failed or unusable call falls back to the majority vote. Every attempt is returned."""
        vote = majority_vote(answers)
        if self.params.aggregator == "vote" or not answers:
            return vote, None
        if len({normalize_answer(a) for _, a, _ in answers}) == 1:
            return vote, None
        tails = []
        for i, a, _ in sorted(answers):
            ag = self.agents.get(i)
            tails.append((i, ag.transcript_tail(self.p_tail) if ag else "", a))
        msgs = P.aggregate_messages(task.question, tails)
        try:  # runs after the teams (a cancelled run is not aggregated): no stop event
            r = self.client.complete(msgs, purpose="aggregate", schema=P.AGGREGATE_SCHEMA,
                                     schema_name="aggregate",
                                     max_tokens=self.params.aggregate_max_tokens)
        except LLMError as e:
            if e.usages:
                last = e.usages[-1]
                last.error = f"{last.error} (fell back to the majority vote)"
            return vote, e.usages
        ans = P.parse_answer(r.text)
        if not ans:
            mark_unusable(r.usage, "the aggregator's reply held no answer: majority vote used")
            return vote, r.usages
        return ans, r.usages

    @property
    def p_tail(self) -> int:
        return self.params.aggregate_tail_chars

    def describe(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = {"name": self.name, "simulated": False, **self.client.describe(),
             **asdict(self.params)}
        return redact_config(public_options(d))
