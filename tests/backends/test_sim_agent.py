"""The simulated agent (``SimAgent``) and its back-end (``SimBackend``) in isolation: no Engine, no
Run. A test drives an agent by hand, as ``Team`` does, with ``TeamView``s (memory off) and a
``Toolbox`` executing its actions."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field

import pytest

from lts_core.backends.base import ACTIONS, Action, BackendContext, LLMUsage, TeamView
from lts_core.backends.sim import SimAgent, SimBackend, SimParams
from lts_core.backends.sim_text import query_variants, summary_plan
from lts_core.scoring import exact_match
from lts_core.world.embeddings import get_embedder
from lts_core.world.memory import MemoryEntry
from lts_core.world.tools import Toolbox, ToolOutput, WebLatency


@dataclass
class Step:
    action: Action
    usages: list[LLMUsage]
    output: ToolOutput
    summary: str
    summary_usage: LLMUsage | None
    payload: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def backend() -> SimBackend:
    return SimBackend()


@pytest.fixture(scope="module")
def ctx(demo_index) -> BackendContext:
    return BackendContext(demo_index, get_embedder("hash"), False, {}, stop_event=threading.Event(),
                          oracle_reader=False)


def drive(backend: SimBackend, ctx: BackendContext, task, seed: int, *, max_steps: int = 30,
          latency: WebLatency | None = None) -> list[Step]:
    """Run one team (memory off) until it answers or the budget ends, as ``Team`` would: the agent
    and the tools share the team's rng."""
    backend.prepare(task, ctx)
    rng = random.Random(seed)
    agent = backend.make_agent(task, 0, rng, ctx)
    tb = Toolbox(ctx.index, task, latency or WebLatency())
    steps: list[Step] = []
    now = 0.0
    for i in range(max_steps):
        view = TeamView(task, 0, i, max_steps, now, [], False)
        action, usages = agent.decide(view)
        if action.kind == "search":
            out = tb.search(action.arg, rng)
        elif action.kind == "open":
            out = tb.open(action.arg, rng)
        elif action.kind == "answer":
            out = tb.answer(action.arg)
        elif action.kind == "plan":
            out = ToolOutput(f"Plan for: {action.arg}")
        else:
            raise AssertionError(f"memory is off, yet the agent chose {action.kind!r}")
        agent.observe(action, out, view)
        s, su = agent.summarize(action, out)
        steps.append(Step(action, usages, out, s, su, agent.payload(action, out)))
        now += sum(u.seconds for u in usages) + out.latency_s
        if action.kind == "answer":
            break
    return steps


def trace(steps: list[Step]) -> list[tuple[str, str]]:
    return [(s.action.kind, s.action.arg) for s in steps]


@pytest.fixture
def task(demo_suite):
    return demo_suite.tasks[0]  # demo:01, bridge: Anselm Garrick -> Greywater Bridge -> Marrow River


def test_make_agent_is_a_sim_agent_with_the_backend_params(backend, ctx, task) -> None:
    agent = backend.make_agent(task, 2, random.Random(0), ctx)
    assert isinstance(agent, SimAgent)
    assert agent.team_idx == 2 and agent.p == SimParams() and agent.p is backend.params
    assert agent.bridge is True
    assert agent.targets == task.hop_titles  # a bridge question keeps the order of its hops


def test_same_seed_same_actions(backend, ctx, task) -> None:
    a = trace(drive(backend, ctx, task, 3))
    b = trace(drive(backend, ctx, task, 3))
    assert a == b
    assert len(a) >= 3


def test_different_seeds_differ(backend, ctx, task) -> None:
    traces = {tuple(trace(drive(backend, ctx, task, seed))) for seed in range(8)}
    assert len(traces) > 1


def test_first_action_is_the_plan_then_a_search_for_a_hop(backend, ctx, task) -> None:
    for seed in range(6):
        steps = drive(backend, ctx, task, seed)
        first = steps[0].action
        assert first.kind == "plan" and first.arg == task.question and first.detail == {}
        assert steps[0].summary == summary_plan(task)
        targeted = [s.action for s in steps if s.action.detail.get("target")]
        searches = [a for a in targeted if a.kind == "search"]
        assert searches[0].detail["target"] == task.hop_titles[0]
        # a bridge question's first page is not known by title: its queries come from the question
        assert searches[0].arg in query_variants(task, None, backend.params.n_query_variants)
        # memory off, a hop's page is only opened once a search of the team has shown it
        shown: set[str] = set()
        for s in steps:
            a = s.action
            if a.kind == "open" and a.arg in task.hop_titles and a.detail.get("target") == a.arg:
                assert a.arg in shown, (seed, a)
            if a.kind == "search" and s.output.ok:
                shown.update(s.output.payload["hits"])
    # seed 0 goes straight to work: plan, search, open the page found
    assert [s.action.kind for s in drive(backend, ctx, task, 0)][:3] == ["plan", "search", "open"]


def test_usages_are_modelled_and_consistent(backend, ctx, task) -> None:
    p = backend.params
    steps = drive(backend, ctx, task, 1)
    prompts = []
    for s in steps:
        assert len(s.usages) == 1
        u = s.usages[0]
        assert u.purpose == "orchestrate" and u.real is False and u.model == "sim"
        assert u.seconds > 0 and u.seconds == pytest.approx(p.llm_seconds(u.prompt_tokens,
                                                                          u.completion_tokens))
        prompts.append(u.prompt_tokens)
        su = s.summary_usage
        assert su is not None and su.purpose == "summarize" and su.real is False and su.seconds > 0
        assert su.seconds == pytest.approx(p.llm_seconds(su.prompt_tokens, su.completion_tokens))
    # no keys and nothing fetched: the prompt grows by the history of past steps only
    assert prompts == [p.orchestrate_prompt_tokens + p.history_tokens_per_step * (i + 1)
                       for i in range(len(steps))]


def test_summaries_are_non_empty_strings(backend, ctx, task) -> None:
    for s in drive(backend, ctx, task, 2):
        assert isinstance(s.summary, str) and s.summary.strip()
        if s.action.kind == "search" and s.output.ok:
            assert s.summary.startswith(f"Searched '{s.action.arg}'")
        if s.action.kind == "answer":
            assert f"'{s.action.arg}'" in s.summary


@pytest.mark.parametrize("seed", [0, 1])
def test_every_demo_task_ends_in_an_answer_within_the_budget(backend, ctx, demo_suite, seed) -> None:
    right = 0
    for task in demo_suite.tasks:
        steps = drive(backend, ctx, task, seed)
        kinds = [s.action.kind for s in steps]
        assert set(kinds) <= set(ACTIONS) - {"memory_read"}
        assert kinds[-1] == "answer" and kinds.count("answer") == 1, task.id
        assert len(steps) <= 30
        last = steps[-1]
        assert isinstance(last.action.arg, str) and last.action.arg
        assert last.output.text == f"FINAL ANSWER: {last.action.arg}"
        assert last.payload == {"kind": "answer", "answer": last.action.arg,
                                "right": bool(exact_match(last.action.arg, task.golds))}
        right += last.payload["right"]
    # a single team is calibrated to about 0.7-0.8 EM; far lower means it stopped finding facts
    assert right >= len(demo_suite.tasks) // 2


def test_budget_exhausted_answers_a_guess(backend, ctx, task) -> None:
    steps = drive(backend, ctx, task, 0, max_steps=3)
    assert [s.action.kind for s in steps][-1] == "answer"
    assert len(steps) == 3
    last = steps[-1].action
    assert last.detail["why"] == "step budget exhausted: guess"
    assert last.arg in {d.title for d in task.docs if not d.is_supporting}


def test_payload_has_a_kind(backend, ctx, task) -> None:
    for s in drive(backend, ctx, task, 4):
        assert isinstance(s.payload, dict)
        assert s.payload["kind"] == s.action.kind
        if s.action.kind == "search":
            assert s.payload["hits"] == s.output.payload.get("hits", [])
            assert "target" in s.payload


def test_a_failed_page_is_retried(backend, ctx, task) -> None:
    agent = backend.make_agent(task, 0, random.Random(0), ctx)
    view = TeamView(task, 0, 1, 30, 0.0, [], False)
    target = task.hop_titles[0]
    act = Action("open", target, detail={"target": target})
    failed = ToolOutput("error", {"title": target, "failed": True}, 3.0, 0.0, False,
                        "simulated web failure")
    agent.observe(act, failed, view)
    assert agent.to_open == target and target not in agent.known
    s, u = agent.summarize(act, failed)
    assert s == f"Tried to open '{target}' but it failed: simulated web failure."
    assert u is not None and u.real is False


def test_everything_fails_then_the_team_guesses(backend, ctx, task) -> None:
    steps = drive(backend, ctx, task, 0, latency=WebLatency(failure_p=1.0))
    assert len(steps) == 30
    assert all(not s.output.ok for s in steps if s.action.kind in ("search", "open"))
    assert steps[-1].action.kind == "answer"
    assert steps[-1].action.detail["why"] == "step budget exhausted: guess"


def entry(ctx: BackendContext, entry_id: int, team_idx: int, key: str, payload: dict) -> MemoryEntry:
    return MemoryEntry(entry_id, team_idx, 0, payload["kind"], key, f"value of #{entry_id}", 1.0,
                       ctx.embedder.one(key), payload)


def test_memory_read_of_the_entry_closest_to_the_subgoal(backend, ctx, task) -> None:
    mctx = BackendContext(ctx.index, ctx.embedder, True, {})
    agent = backend.make_agent(task, 0, random.Random(0), mctx)
    agent.decide(TeamView(task, 0, 0, 30, 0.0, [], True))  # the plan
    keys = [
        entry(mctx, 1, 0, task.question, {"kind": "plan"}),  # the team's own entry: never fetched
        entry(mctx, 2, 1, "Kite festival dates in Orrinford harbour", {"kind": "plan"}),
        entry(mctx, 3, 2, task.question, {"kind": "plan"}),  # the sub-goal of an unknown bridge hop
    ]
    view = TeamView(task, 0, 1, 30, 1.0, keys, True)
    act, usages = agent.decide(view)
    assert act.kind == "memory_read" and act.entry_ids == (3,)
    assert act.similarities[0] == pytest.approx(1.0, abs=1e-5)
    assert act.similarities[0] >= backend.params.read_threshold
    p = backend.params
    assert usages[0].prompt_tokens == (p.orchestrate_prompt_tokens + 2 * p.history_tokens_per_step
                                       + 3 * p.key_tokens)  # every visible key costs prompt tokens
    agent.observe(act, ToolOutput("x" * 400, {"entry_ids": [3]}), view)
    nxt, usages = agent.decide(TeamView(task, 0, 2, 30, 2.0, keys, True))
    assert nxt.kind != "memory_read"  # nothing left worth fetching
    assert usages[0].prompt_tokens == (p.orchestrate_prompt_tokens + 3 * p.history_tokens_per_step
                                       + 3 * p.key_tokens + 400 // 4)  # the fetched value


def test_oracle_reader_adopts_a_right_answer_from_memory(backend, ctx, task) -> None:
    octx = BackendContext(ctx.index, ctx.embedder, True, {}, oracle_reader=True)
    agent = backend.make_agent(task, 0, random.Random(0), octx)
    agent.decide(TeamView(task, 0, 0, 30, 0.0, [], True))
    keys = [entry(octx, 1, 1, "unrelated", {"kind": "answer", "answer": "Kestrow", "right": False}),
            entry(octx, 2, 2, "unrelated too", {"kind": "answer", "answer": task.answer, "right": True})]
    view = TeamView(task, 0, 1, 30, 1.0, keys, True)
    act, _ = agent.decide(view)
    assert act.kind == "memory_read" and act.entry_ids == (2,)
    agent.observe(act, ToolOutput("[memory #2] ...", {"entry_ids": [2]}), view)
    ans, _ = agent.decide(TeamView(task, 0, 2, 30, 2.0, keys, True))
    assert ans.kind == "answer" and ans.arg == task.answer
    assert ans.detail["why"] == "adopted from shared memory"


def test_aggregate_is_a_majority_vote_with_a_modelled_call(backend, task) -> None:
    ans, usage = backend.aggregate(task, [(0, "x", 1.0), (1, "x", 2.0), (2, "y", 3.0)],
                                   random.Random(0))
    assert ans == "x"
    assert isinstance(usage, LLMUsage)
    assert usage.purpose == "aggregate" and usage.real is False
    assert usage.prompt_tokens == 300 + 150 * 3
    assert usage.seconds == pytest.approx(backend.params.llm_seconds(usage.prompt_tokens, 20))
    # a tie goes to the answer given first on the clock, not to the lowest team
    assert backend.aggregate(task, [(0, "x", 5.0), (1, "y", 1.0)], random.Random(0))[0] == "y"


def test_describe_contains_the_parameters(backend) -> None:
    d = backend.describe()
    assert d["name"] == "sim" and d["simulated"] is True
    for k, v in asdict(SimParams()).items():
        assert d[k] == v


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sim parameter"):
        SimBackend(skil=0.5)
