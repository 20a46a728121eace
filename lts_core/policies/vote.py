"""Answers shared once they decide the vote (the policy option ``answers: "decided"``).

The teams' final answers are aggregated by a majority vote over the K answers
(``backends.base.majority_vote``). An answer that, with the answers already given, makes a strict
majority of K decides that vote whatever the other teams answer: sharing it cannot change the
aggregated answer, it can only end the other teams' work early (a task's runtime is its slowest
team's). An answer shared before that can herd the others onto it (docs/simulator.md). With the
LLM aggregator (``docs/llm.md``) a strict majority is very likely, not certain, to be followed.

``learned`` and ``dedup`` take the option; with it, an answer step is decided here and every other
step by the policy's own score. Stateless: the run gives each decision K and the answers so far
(``AdmissionContext.teams``, ``answers``). Why and what it measured: benchmarks/JOURNAL.md, stop 23.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lts_core.policies.base import AdmissionContext, AdmissionDecision
from lts_core.scoring import normalize_answer

ANSWER_RULES = ("policy", "decided")  # who decides an answer step: the policy's score, or the vote


@dataclass(frozen=True)
class Vote:
    """An answer step against the vote so far: ``agree`` teams (this one included) of ``teams``."""

    answer: str
    agree: int
    teams: int

    @property
    def decided(self) -> bool:
        return 2 * self.agree > self.teams


def check_rule(rule: str) -> str:
    if rule not in ANSWER_RULES:
        raise ValueError(f"answers must be one of {', '.join(ANSWER_RULES)}, got {rule!r}")
    return rule


def vote_of(ctx: AdmissionContext) -> Vote | None:
    """The vote this answer step would join; None for any other step or when K is unknown."""
    if ctx.action != "answer" or ctx.teams < 1:
        return None
    mine = normalize_answer(ctx.arg)
    agree = 1 + sum(normalize_answer(a) == mine for t, a in ctx.answers.items()
                    if t != ctx.team_idx)
    return Vote(ctx.arg, agree, ctx.teams)


def vote_decision(ctx: AdmissionContext, extra: dict[str, Any] | None = None
                  ) -> AdmissionDecision | None:
    """The decision for an answer step under ``answers: "decided"``; None for any other step.
    Score 1 or 0 and no threshold: the decision is the rule's, not a score compared with one."""
    v = vote_of(ctx)
    if v is None:
        return None
    said = f"{v.agree} of {v.teams} teams answered {v.answer[:80]!r}"
    words = (f"admitted by the vote rule: {said}, a majority whatever the others answer, so "
             "sharing it cannot change the result" if v.decided else
             f"rejected by the vote rule: {said}; the vote is still open and a shared answer "
             "could sway it")
    feats = {**(extra or {}), "rule": "vote", "reason": words, "in_words": words,
             "vote": {**asdict(v), "decided": v.decided}}
    return AdmissionDecision(1.0 if v.decided else 0.0, v.decided, feats, threshold=None)
