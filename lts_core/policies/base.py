"""The admission-policy contract.

A policy sees what the paper's controller sees: the task query, the keys already in the bank, and
the step's (u, s, o). It returns a score in [0, 1] (its confidence that the step is worth sharing),
a decision, and the features that explain the decision (stored with it for the explorer).

Policies are constructed once per run (``make_policy``) and called from the run's commit path, which
the engine serialises; a policy need not be thread-safe.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lts_core.world.embeddings import Embedder
from lts_core.world.memory import MemoryEntry


@dataclass
class AdmissionContext:
    query: str
    keys: list[MemoryEntry]
    u: str
    s: str
    o: str
    action: str
    team_idx: int
    step_idx: int
    embedder: Embedder
    s_vec: np.ndarray
    rng: random.Random = field(default_factory=random.Random)
    training: bool = False
    payload: dict[str, Any] = field(default_factory=dict)  # the back-end's structured view (sim)
    # The vote so far (``policies/vote.py``): the run's K, the step's argument (for an answer step,
    # the answer given) and the final answers of the teams that have ended with one, by team index.
    teams: int = 0
    arg: str = ""
    answers: dict[int, str] = field(default_factory=dict)


@dataclass
class AdmissionDecision:
    score: float
    admit: bool
    features: dict[str, Any] = field(default_factory=dict)
    # Model calls the policy made for this decision (``LLMUsage``, e.g. the llm-judge's): the engine
    # records them as LLM calls of the step and adds their tokens and cost to the run.
    usages: list[Any] = field(default_factory=list)
    # What the score was compared with (recorded with the decision); None when the decision was
    # not a threshold on the score (a training draw, a policy that admits on facts).
    threshold: float | None = None
    # Features that explain the decision but are not needed to make it (the learned controller's
    # attributions): computed off the decision path by the run's explainer and recorded as an
    # ``ExplanationRecord``. Must be safe to call from another thread.
    explain_later: Callable[[], dict[str, Any]] | None = None


class AdmissionPolicy:
    """Base class. ``uses_memory`` False means teams get no bank at all (the M1-Parallel baseline)."""

    name = "base"
    uses_memory = True
    oracle_reader = False  # sim only: teams read as an oracle would (policies/oracle.py)
    free_summaries = False  # sim only: steps cost no summary call (policies/oracle.py)
    is_bound = False  # a bound the benches add on the simulator, not a contender (oracle)
    threshold = 0.5  # the score at and above which a step is admitted (drawn on the score stream)
    score_label = "admission score"  # what the score measures, in words (the dashboard's axis)

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:  # pragma: no cover - abstract
        raise NotImplementedError

    def decision(self, score: float, features: dict[str, Any] | None = None,
                 usages: list[Any] | None = None, *, digits: int = 6) -> AdmissionDecision:
        """The one rule that turns a score into a decision: admitted at and above ``threshold``
        (the unrounded score is compared; the recorded score keeps ``digits`` decimals)."""
        return AdmissionDecision(round(score, digits), score >= self.threshold, features or {},
                                 list(usages or []), threshold=self.threshold)

    def describe(self) -> dict[str, Any]:
        """Settings recorded with the run."""
        return {"name": self.name, "threshold": self.threshold}


def nearest_keys(ctx: AdmissionContext, k: int = 3) -> list[tuple[int, float]]:
    """The ``k`` existing entries most similar to the step's summary: [(entry_id, cosine)]."""
    if not ctx.keys:
        return []
    mat = np.stack([e.key_vec for e in ctx.keys])
    sims = mat @ ctx.s_vec
    order = np.argsort(-sims)[:k]
    return [(ctx.keys[i].entry_id, round(float(sims[i]), 4)) for i in order]
