"""What the simulated agent writes: content words, search queries, and its step summaries.

The summaries are the memory keys a step may become; they follow the paper's 15-20 word
summaries of (u, o). Pure functions of their inputs (queries are seeded by the task): the simulator's
behaviour and parameters live in ``sim``.
"""

from __future__ import annotations

import random
import re

from lts_core.world.tasks import Task

_STOP = set(
    "a an the of in on at to for from by with and or is was were are be been which what who whom "
    "whose where when why how did does do that this these those it its as than into also both same "
    "has have had his her their there one two first same many much more most other".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.-]*")


def content_words(text: str) -> list[str]:
    """Words of ``text`` without stop words, in order, without repeats.

    >>> content_words("Which river is crossed by the bridge?")
    ['river', 'crossed', 'bridge']
    """
    seen, out = set(), []
    for w in _WORD.findall(text):
        w = w.strip(".'")
        if not w or w.lower() in _STOP or w.lower() in seen:
            continue
        seen.add(w.lower())
        out.append(w)
    return out


def lead(text: str, n: int = 14) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("..." if len(words) > n else "")


def query_variants(task: Task, target: str | None, n: int) -> list[str]:
    """Deterministic query formulations for a hop (``target`` None: the title is not yet known)."""
    q_words = content_words(task.question)
    rng = random.Random(f"{task.id}|{target}")
    out: list[str] = []
    base = target if target else " ".join(q_words)
    out.append(base)
    for _ in range(n * 3):
        if len(out) >= n:
            break
        if target:
            extra = rng.sample(q_words, k=min(len(q_words), rng.randint(1, 3))) if q_words else []
            v = " ".join([target, *extra])
        else:
            k = max(3, int(round(len(q_words) * rng.uniform(0.5, 0.8))))
            v = " ".join(w for w in q_words if w in set(rng.sample(q_words, k=min(k, len(q_words)))))
        if v and v not in out:
            out.append(v)
    return out


# ---------------------------------------------------------------- summaries (the memory keys)
def summary_plan(task: Task) -> str:
    return f"Planned how to answer: {lead(task.question, 16)} Steps: search, read pages, then answer."


def summary_search(query: str, hits: list[str]) -> str:
    shown = ", ".join(hits[:3]) if hits else "nothing"
    return f"Searched '{query}'; top results: {shown}."


def summary_open(title: str, text: str, points_to: str | None) -> str:
    s = f"Read '{title}': {lead(text)}"
    return s + (f" It leads to '{points_to}'." if points_to else "")


def summary_answer(answer: str, task: Task) -> str:
    return f"Answered '{answer}' to the question: {lead(task.question, 14)}"


def summary_read(entries: list[str]) -> str:
    return "Used shared memory: " + "; ".join(e[:80] for e in entries)
