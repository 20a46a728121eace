"""The simulated agent back-end (``sim``): a stochastic team policy over real paragraphs and real BM25.

No LLM is involved; every result it produces is labelled *simulated*. What is real: the task, its
paragraphs, the BM25 search results, the embedding similarities between memory keys and a team's
sub-goal. What is modelled: whether the team recognises the right page, extracts the right fact, and
how long its LLM calls take. docs/simulator.md describes the model and how each default was chosen.

A team works through the task's hops (the supporting paragraphs): find the page (search), read it
(open), learn its fact, move on; then answer. A bridge question's second hop is only known once the
first page has been read (its fact "leads to" the second title). Before each web action the team
looks at the shared keys and fetches the entry most similar to its current sub-goal if the cosine
reaches ``read_threshold``. What it gets from a fetched value depends on what the producing step
found (``MemoryEntry.payload``): a page's fact (adopted with probability ``trust``, else the team
re-reads the page itself), search hits (it can skip its own search), another team's final answer
(adopted with probability ``answer_trust``), or nothing useful (a wasted step). A fact extracted
wrongly ("misread") and shared misleads every team that trusts it.

What the agent writes (queries, summaries) is in ``sim_text``. Size: ``SimAgent`` is one behaviour
model whose parts (finding, reading, trusting and misreading facts, reading the bank) are
calibrated together (docs/simulator.md); it stays in one class so that its parameters are read in
one place.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lts_core.backends.base import Action, Backend, BackendContext, LLMUsage, TeamView, ToolOutput
from lts_core.backends.sim_text import (
    query_variants,
    summary_answer,
    summary_open,
    summary_plan,
    summary_read,
    summary_search,
)
from lts_core.world.tasks import Task


@dataclass(frozen=True)
class SimParams:
    """Parameters of the simulated agent (see docs/simulator.md for the reasoning behind each)."""

    skill: float = 0.8  # P(recognise the target in results) and P(extract its fact when read)
    misread: float = 0.07  # P(extract a wrong fact from a page / take a wrong page for the target)
    answer_skill: float = 0.9  # P(answer right when every fact held is true)
    diversity: float = 0.6  # P(a team formulates its own query rather than the common first one)
    n_query_variants: int = 6
    read_threshold: float = 0.42  # cosine(key, sub-goal) at which a team fetches an entry
    detour_p: float = 0.2  # P(a web step starts an unproductive tangent: off-target searches/reads)
    detour_mean_steps: float = 4.0  # mean length of a tangent (geometric)
    known_cosine: float = 0.92  # a key this close to one the team has seen or made adds nothing
    max_consecutive_reads: int = 2  # after this many fetches in a row the team acts on the web
    trust: float = 0.75  # P(adopt a fetched fact without re-reading the page)
    answer_trust: float = 0.35  # P(adopt another team's final answer found in memory)
    # modelled LLM time: latency + prompt / prefill rate + completion / decode rate
    llm_latency_s: float = 0.5
    prefill_tps: float = 2000.0
    decode_tps: float = 50.0
    orchestrate_prompt_tokens: int = 1200
    history_tokens_per_step: int = 80
    key_tokens: int = 24
    orchestrate_completion_tokens: int = 150
    summary_prompt_tokens: int = 150
    summary_completion_tokens: int = 28

    def llm_seconds(self, prompt: int, completion: int) -> float:
        return self.llm_latency_s + prompt / self.prefill_tps + completion / self.decode_tps


@dataclass
class Fact:
    title: str
    true: bool
    points_to: str | None = None  # for a bridge question's first hop
    source: str = "read"  # read | memory


@dataclass
class SimAgent:
    task: Task
    team_idx: int
    rng: random.Random
    ctx: BackendContext
    p: SimParams
    targets: list[str] = field(default_factory=list)
    known: dict[str, Fact] = field(default_factory=dict)
    to_open: str | None = None
    tries: dict[str, int] = field(default_factory=dict)
    read_entries: set[int] = field(default_factory=set)
    pending_answer: str | None = None
    history: int = 0
    injected_chars: int = 0  # a fetched value enters the next orchestrator prompt
    consecutive_reads: int = 0
    detour: int = 0  # steps left on the current tangent
    seen_vecs: list = field(default_factory=list)  # keys fetched and summaries of own steps

    def __post_init__(self) -> None:
        hops = self.task.hop_titles
        self.bridge = self.task.type == "bridge" and len(hops) >= 2
        if not self.bridge and len(hops) >= 2 and self.rng.random() < self.p.diversity:
            hops = hops[::-1]  # comparison: teams differ in which entity they look up first
        self.targets = list(hops)
        # Each team has its own order of query formulations; most start from the common one.
        self.variant_order: dict[str | None, list[int]] = {}
        self.wrong = [d.title for d in self.task.docs if not d.is_supporting] or ["unknown"]

    # ------------------------------------------------------------ state helpers
    def current(self) -> str | None:
        """The next target title, None when every hop is known."""
        for i, t in enumerate(self.targets):
            if t not in self.known:
                return t
            if self.bridge and i == 0:
                nxt = self.known[t].points_to
                if nxt and len(self.targets) > 1 and self.targets[1] != nxt:
                    self.targets[1] = nxt  # a wrong bridge sends the team to the wrong page
        return None

    def title_known_to_team(self, target: str) -> bool:
        return not (self.bridge and target == self.targets[0])

    def subgoal(self, target: str) -> str:
        return target if self.title_known_to_team(target) else self.task.question

    def next_query(self, target: str) -> str:
        hop_key = target if self.title_known_to_team(target) else None
        variants = query_variants(self.task, hop_key, self.p.n_query_variants)
        order = self.variant_order.get(hop_key)
        if order is None:
            rest = list(range(1, len(variants)))
            self.rng.shuffle(rest)
            order = [0, *rest] if self.rng.random() >= self.p.diversity else [*rest, 0]
            self.variant_order[hop_key] = order
        n = self.tries.get(target, 0)
        self.tries[target] = n + 1
        return variants[order[n % len(order)]]

    def _usage(self, view: TeamView) -> LLMUsage:
        prompt = (self.p.orchestrate_prompt_tokens + self.p.history_tokens_per_step * self.history
                  + self.p.key_tokens * len(view.keys) + self.injected_chars // 4)
        self.injected_chars = 0
        comp = self.p.orchestrate_completion_tokens
        return LLMUsage("orchestrate", prompt, comp, self.p.llm_seconds(prompt, comp))

    # ------------------------------------------------------------ Agent protocol
    def decide(self, view: TeamView) -> tuple[Action, list[LLMUsage]]:
        self.history += 1
        if view.step_idx == 0:
            return Action("plan", self.task.question, "Write the task ledger: facts and plan."), [
                self._usage(view)]
        target = self.current()
        if self.pending_answer is not None:
            return self._answer(self.pending_answer, view, "adopted from shared memory")
        if target is None:
            return self._answer(self._final_answer(), view, "every fact gathered")
        if view.step_idx >= view.max_steps - 1:
            return self._answer(self.rng.choice(self.wrong), view, "step budget exhausted: guess")
        if view.memory_on and view.keys and self.consecutive_reads < self.p.max_consecutive_reads:
            act = (self._oracle_read(view, target) if self.ctx.oracle_reader
                   else self._memory_action(view, target))
            if act is not None:
                self.consecutive_reads += 1
                return act, [self._usage(view)]
        self.consecutive_reads = 0
        if self.detour == 0 and self.rng.random() < self.p.detour_p:
            while True:  # geometric length, mean detour_mean_steps
                self.detour += 1
                if self.rng.random() < 1.0 / self.p.detour_mean_steps:
                    break
        if self.detour > 0:
            self.detour -= 1
            off = self.rng.choice(self.wrong)
            if self.rng.random() < 0.5:
                return Action("search", off, f"Search the web for: {off}",
                              detail={"target": None, "tangent": True}), [self._usage(view)]
            return Action("open", off, f"Open the page '{off}' and look for clues.",
                          detail={"target": None, "tangent": True}), [self._usage(view)]
        if self.to_open:
            title = self.to_open
            return Action("open", title, f"Open the page '{title}' and extract what the task needs.",
                          detail={"target": target}), [self._usage(view)]
        q = self.next_query(target)
        return Action("search", q, f"Search the web for: {q}", detail={"target": target}), [
            self._usage(view)]

    def _memory_action(self, view: TeamView, target: str) -> Action | None:
        cands = [e for e in view.keys if e.team_idx != self.team_idx
                 and e.entry_id not in self.read_entries]
        if not cands:
            return None
        mat = np.stack([e.key_vec for e in cands])
        if self.seen_vecs:  # skip what the team has already seen or done itself
            fresh = (mat @ np.stack(self.seen_vecs).T).max(axis=1) < self.p.known_cosine
            cands = [e for e, f in zip(cands, fresh, strict=True) if f]
            mat = mat[fresh]
            if not cands:
                return None
        goal = self.ctx.embedder.one(self.subgoal(target))
        sims = mat @ goal
        i = int(np.argmax(sims))
        if sims[i] < self.p.read_threshold:
            return None
        e = cands[i]
        self.read_entries.add(e.entry_id)
        self.seen_vecs.append(e.key_vec)
        return Action("memory_read", str(e.entry_id), f"Fetch shared memory entry #{e.entry_id}: {e.key}",
                      entry_ids=(e.entry_id,), similarities=(float(sims[i]),),
                      detail={"target": target})

    def _oracle_read(self, view: TeamView, target: str) -> Action | None:
        """The oracle bound's reader: the entry that serves the current sub-goal, if any (a right
        answer first, then a true fact for ``target``, then hits that contain it)."""
        cands = [e for e in view.keys if e.team_idx != self.team_idx
                 and e.entry_id not in self.read_entries]

        def rank(e) -> int:
            pl = e.payload
            if pl.get("kind") == "answer" and pl.get("right"):
                return 0
            if pl.get("kind") == "open" and pl.get("as_target") == target and pl.get("true"):
                return 1
            if pl.get("kind") == "search" and target in pl.get("hits", []):
                return 2
            return 9

        best = min(cands, key=lambda e: (rank(e), e.entry_id), default=None)
        if best is None or rank(best) == 9:
            return None
        self.read_entries.add(best.entry_id)
        return Action("memory_read", str(best.entry_id),
                      f"Fetch shared memory entry #{best.entry_id}: {best.key}",
                      entry_ids=(best.entry_id,), similarities=(1.0,), detail={"target": target})

    def _answer(self, answer: str, view: TeamView, why: str) -> tuple[Action, list[LLMUsage]]:
        return Action("answer", answer, "Give the final answer.", detail={"why": why}), [
            self._usage(view)]

    def _final_answer(self) -> str:
        facts = [self.known[t] for t in self.targets if t in self.known]
        if all(f.true for f in facts) and self.rng.random() < self.p.answer_skill:
            return self.task.answer
        return self._wrong_answer(facts)

    def _wrong_answer(self, facts: list[Fact]) -> str:
        gold = self.task.answer.strip().lower()
        if gold in ("yes", "no"):
            return "no" if gold == "yes" else "yes"
        hops = self.task.hop_titles
        if self.task.type == "comparison" and len(hops) >= 2:
            other = [h for h in hops if h.lower() != gold]
            if other and any(h.lower() == gold for h in hops):
                return other[0]
        false_titles = [f.title for f in facts if not f.true]
        return false_titles[-1] if false_titles else self.rng.choice(self.wrong)

    def observe(self, action: Action, output: ToolOutput, view: TeamView) -> None:
        target = action.detail.get("target")
        if not output.ok and action.kind in ("search", "open"):
            self.to_open = action.arg if action.kind == "open" else self.to_open  # retry the page
            return
        if action.kind == "search" and target:
            hits = output.payload.get("hits", [])
            if target in hits and self.rng.random() < self.p.skill:
                self.to_open = target
            elif hits and self.rng.random() < self.p.misread:
                self.to_open = self.rng.choice([h for h in hits if h != target] or hits)
        elif action.kind == "open" and target:
            self._learn_from_page(output.payload.get("title", action.arg), target, "read")
        elif action.kind == "memory_read" and target:
            self.injected_chars = len(output.text)
            for eid in action.entry_ids:
                self._learn_from_entry(view, eid, target)

    def _learn_from_page(self, title: str, target: str, source: str) -> None:
        self.to_open = None
        r = self.rng.random()
        if title == target:
            if r < self.p.skill:
                self.known[target] = Fact(target, True, self._points_to(target, True), source)
            elif r < self.p.skill + self.p.misread:
                self.known[target] = Fact(target, False, self._points_to(target, False), source)
            else:
                self.to_open = target  # could not extract it: read again
        elif r < self.p.misread * 3:  # a wrong page taken for the target
            self.known[target] = Fact(title, False, self._points_to(target, False), source)

    def _points_to(self, target: str, true: bool) -> str | None:
        if not (self.bridge and target == self.targets[0]):
            return None
        hops = self.task.hop_titles
        return hops[1] if true else self.rng.choice(self.wrong)

    def _learn_from_entry(self, view: TeamView, eid: int, target: str) -> None:
        entry = next((e for e in view.keys if e.entry_id == eid), None)
        if entry is None:
            return
        pl = entry.payload
        kind = pl.get("kind")
        if self.ctx.oracle_reader:  # the oracle bound adopts what serves it, without re-reading
            self._adopt(pl, target)
            return
        if kind == "answer" and pl.get("answer"):
            if self.rng.random() < self.p.answer_trust:
                self.pending_answer = pl["answer"]
        elif kind == "open":
            title, as_target = pl.get("title"), pl.get("as_target")
            needed = [t for t in self.targets if t not in self.known]
            if as_target in needed:
                if self.rng.random() < self.p.trust:
                    self.known[as_target] = Fact(title, bool(pl.get("true")), pl.get("points_to"),
                                                 "memory")
                    if self.bridge and as_target == self.targets[0] and pl.get("points_to"):
                        self.targets[1] = pl["points_to"]
                else:
                    self.to_open = title  # verify by reading the page: still saves the search
        elif kind == "search" and target in pl.get("hits", []) and self.rng.random() < self.p.skill:
            self.to_open = target

    def _adopt(self, pl: dict[str, Any], target: str) -> None:
        kind = pl.get("kind")
        if kind == "answer" and pl.get("right"):
            self.pending_answer = pl["answer"]
        elif kind == "open" and pl.get("as_target") == target and pl.get("true"):
            self.known[target] = Fact(pl["title"], True, pl.get("points_to"), "memory")
            if self.bridge and target == self.targets[0] and pl.get("points_to"):
                self.targets[1] = pl["points_to"]
        elif kind == "search" and target in pl.get("hits", []):
            self.to_open = target

    def summarize(self, action: Action, output: ToolOutput) -> tuple[str, LLMUsage | None]:
        k = action.kind
        if not output.ok:
            s = f"Tried to {k} '{action.arg[:60]}' but it failed: {output.error or 'error'}."
        elif k == "plan":
            s = summary_plan(self.task)
        elif k == "search":
            s = summary_search(action.arg, output.payload.get("hits", []))
        elif k == "open":
            target = action.detail.get("target")
            fact = self.known.get(target) if target else None
            pt = fact.points_to if fact and fact.source == "read" else None
            s = summary_open(output.payload.get("title", action.arg), output.text.split("\n", 1)[-1], pt)
        elif k == "answer":
            s = summary_answer(action.arg, self.task)
        else:
            s = summary_read([ln for ln in output.text.splitlines() if ln.startswith("[memory")])
        self.seen_vecs.append(self.ctx.embedder.one(s))
        prompt = self.p.summary_prompt_tokens + min(len(output.text), 2000) // 4
        comp = self.p.summary_completion_tokens
        return s, LLMUsage("summarize", prompt, comp, self.p.llm_seconds(prompt, comp))

    def payload(self, action: Action, output: ToolOutput) -> dict[str, Any]:
        """What the step found, in structured form (kept with a memory entry for the simulator)."""
        target = action.detail.get("target")
        if action.kind == "search":
            return {"kind": "search", "hits": output.payload.get("hits", []), "target": target}
        if action.kind == "open":
            fact = self.known.get(target) if target else None
            if fact is not None and fact.source == "read":
                return {"kind": "open", "title": output.payload.get("title"), "as_target": target,
                        "true": fact.true, "points_to": fact.points_to}
            return {"kind": "open", "title": output.payload.get("title"), "as_target": None}
        if action.kind == "answer":
            from lts_core.scoring import exact_match

            return {"kind": "answer", "answer": action.arg,
                    "right": bool(exact_match(action.arg, self.task.golds))}
        return {"kind": action.kind}


class SimBackend(Backend):
    """Factory of ``SimAgent``s; majority vote for aggregation (modelled aggregator call)."""

    name = "sim"
    simulated = True
    option_sources = (SimParams,)  # where **params go (their types are checked)

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(SimParams.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown sim parameter(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(SimParams.__dataclass_fields__)}")
        self.params = SimParams(**params)

    def prepare(self, task: Task, ctx: BackendContext) -> None:
        """Embed the texts a run of this task will compare (sub-goals, likely keys) in one batch."""
        texts = [task.question, *task.hop_titles, summary_plan(task)]
        for d in task.docs:
            texts.append(summary_open(d.title, d.text, None))
        ctx.embedder.encode(texts)

    def make_agent(self, task: Task, team_idx: int, rng: random.Random, ctx: BackendContext) -> SimAgent:
        return SimAgent(task, team_idx, rng, ctx, self.params)

    def aggregate(self, task, answers, rng):
        from lts_core.backends.base import majority_vote

        prompt = 300 + 150 * len(answers)
        usage = LLMUsage("aggregate", prompt, 20, self.params.llm_seconds(prompt, 20))
        return majority_vote(answers), usage

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "simulated": True, **asdict(self.params)}
