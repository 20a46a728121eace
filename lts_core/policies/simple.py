"""Non-learned admission policies: ``none`` (no memory), ``all`` and ``dedup``."""

from __future__ import annotations

from lts_core.policies.base import (
    AdmissionContext,
    AdmissionDecision,
    AdmissionPolicy,
    nearest_keys,
)
from lts_core.policies.vote import check_rule, vote_decision


class NoMemory(AdmissionPolicy):
    """M1-Parallel: no shared memory at all; teams never see a bank."""

    name = "none"
    uses_memory = False

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        return AdmissionDecision(0.0, False, {"reason": "memory is off"})


class AdmitAll(AdmissionPolicy):
    """Admit every step (the paper's admit-everything ablation)."""

    name = "all"
    threshold = 0.0

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        return self.decision(1.0, {"reason": "admit every step", "nearest": nearest_keys(ctx)})


class Dedup(AdmissionPolicy):
    """Admit unless the summary is too close to an existing key.

    Score = novelty = 1 - max cosine to existing keys (1.0 for an empty bank); admitted at and above
    ``threshold`` = 1 - ``similarity`` (default similarity 0.9; see docs/simulator.md for how it
    was chosen), i.e. when the nearest key's cosine is at most ``similarity``.
    """

    name = "dedup"
    score_label = "novelty: 1 - cosine to the nearest key"

    def __init__(self, similarity: float | None = None, threshold: float | None = None,
                 answers: str = "policy") -> None:
        """``similarity`` (default 0.9) or, on the score's own scale, ``threshold`` = 1 -
        similarity (the novelty at and above which a step is admitted); not both. ``answers``:
        ``"decided"`` admits a final answer only when it decides the vote (``policies/vote.py``)."""
        if similarity is not None and threshold is not None:
            raise ValueError("give dedup a similarity or a threshold (= 1 - similarity), not both")
        if threshold is not None:
            if not 0.0 <= threshold < 1.0:
                raise ValueError(f"dedup threshold must be in [0, 1), got {threshold}")
            similarity = 1.0 - threshold
        similarity = 0.9 if similarity is None else similarity
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"dedup similarity must be in (0, 1], got {similarity}")
        self.similarity = similarity
        self.threshold = 1.0 - similarity if threshold is None else threshold
        self.answers = check_rule(answers)

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        near = nearest_keys(ctx)
        top = near[0][1] if near else 0.0
        nov = 1.0 - top  # one scale: the reason speaks of the score it is judged on
        feats = {"max_cosine": top, "nearest": near}
        if self.answers == "decided" and (ruled := vote_decision(ctx, feats)) is not None:
            return ruled
        d = self.decision(nov, feats, digits=4)
        feats["reason"] = (
            f"novelty {nov:.3f} < {self.threshold:.2f}: nearest key #{near[0][0]} has cosine "
            f"{top:.3f} (an equivalent entry is already in the bank)" if not d.admit else
            ("bank is empty" if not near else
             f"novelty {nov:.3f} >= {self.threshold:.2f} (nearest key cosine {top:.3f})"))
        return d

    def describe(self) -> dict:
        return {"name": self.name, "similarity": self.similarity, "threshold": self.threshold,
                "answers": self.answers}
