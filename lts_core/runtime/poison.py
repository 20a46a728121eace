"""A controlled memory-poisoning experiment: wrong entries planted in a run's bank.

``RunConfig(poison=N, poison_at_s=T)`` makes ``Run.start`` call ``plant(run)``: N wrong entries join
the bank at clock time T, before any team could have written there, alternating

- a **wrong fact** for one of the task's hops: a key that reads like a page-read summary
  ("Read 'Title': ... It leads to 'X'.") and, for the simulator, the payload of a misread page
  (``{kind: open, as_target: hop, true: False, points_to: a wrong title}``);
- a **wrong answer**: "Answered 'X' to the question: ..." with ``{kind: answer, right: False}``.

What is planted depends only on the task, the run's seed and N (``derive_seed``), never on the
policy, so every policy of a bench meets the same poison. Planted entries bypass admission (they are
not a team's step), belong to team ``-1`` and are recorded with ``planted=True``; teams see and fetch
them like any other entry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lts_core.backends.sim_text import lead, summary_answer, summary_open

if TYPE_CHECKING:
    from lts_core.runtime.run import Run
    from lts_core.world.tasks import Task

PLANTED_TEAM = -1  # the team index of a planted entry
MAX_POISON = 20


@dataclass(frozen=True)
class Planted:
    """One planted entry, before it joins a bank."""

    action: str  # open | answer
    key: str
    value: str
    payload: dict[str, Any]


def _wrong_title(task: Task, rng: random.Random, avoid: str) -> str:
    wrong = [d.title for d in task.docs if not d.is_supporting and d.title != avoid]
    return rng.choice(wrong) if wrong else f"Not {avoid}"


def _wrong_answer(task: Task, rng: random.Random) -> str:
    gold = task.answer.strip()
    if gold.lower() in ("yes", "no"):
        return "no" if gold.lower() == "yes" else "yes"
    hops = [h for h in task.hop_titles if h.strip().lower() != gold.lower()]
    if task.type == "comparison" and hops:
        return hops[0]
    return _wrong_title(task, rng, gold)


def poison_entries(task: Task, seed: int, n: int) -> list[Planted]:
    """The N wrong entries for ``task`` under ``seed`` (deterministic; the same for every policy)."""
    from lts_core.seeds import derive_seed

    out: list[Planted] = []
    hops = task.hop_titles or [task.question[:60]]
    docs = {d.title: d for d in task.docs}
    for i in range(n):
        rng = random.Random(derive_seed(seed, task.id, "poison", i))
        if i % 2 == 1:  # every second entry: a wrong final answer
            ans = _wrong_answer(task, rng)
            out.append(Planted("answer", summary_answer(ans, task), f"FINAL ANSWER: {ans}",
                               {"kind": "answer", "answer": ans, "right": False}))
            continue
        hop = hops[(i // 2 + rng.randrange(len(hops))) % len(hops)]
        doc = docs.get(hop)
        text = doc.text if doc else hop
        bridge_first = task.type == "bridge" and len(hops) >= 2 and hop == hops[0]
        points_to = _wrong_title(task, rng, hops[1]) if bridge_first else None
        out.append(Planted("open", summary_open(hop, lead(text), points_to), f"{hop}\n{text}",
                           {"kind": "open", "title": hop, "as_target": hop, "true": False,
                            "points_to": points_to}))
    return out


def plant(run: Run) -> list[int]:
    """Add the run's planted entries to its bank at ``poison_at_s`` and record them; their ids."""
    cfg = run.config
    ids = []
    for p in poison_entries(run.task, cfg.seed, cfg.poison):
        e = run.bank.add(team_idx=PLANTED_TEAM, step_idx=len(ids), action=p.action, key=p.key,
                         value=p.value, t_added=float(cfg.poison_at_s),
                         key_vec=run.embedder.one(p.key), payload=p.payload)
        rec = e.record(run.run_id)
        rec.planted = True
        run.store.write(rec)
        ids.append(e.entry_id)
    return ids
