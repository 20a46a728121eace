"""Non-learned admission policies: ``none`` (no memory), ``all`` and ``dedup``."""

from __future__ import annotations

from .base import AdmissionContext, AdmissionDecision, AdmissionPolicy, nearest_keys


class NoMemory(AdmissionPolicy):
    """M1-Parallel: no shared memory at all; teams never see a bank."""

    name = "none"
    uses_memory = False

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        return AdmissionDecision(0.0, False, {"reason": "memory is off"})


class AdmitAll(AdmissionPolicy):
    """Admit every step (the paper's admit-everything ablation)."""

    name = "all"

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        return AdmissionDecision(1.0, True, {"reason": "admit every step",
                                             "nearest": nearest_keys(ctx)})


class Dedup(AdmissionPolicy):
    """Admit unless the summary is within cosine ``threshold`` of an existing key.

    Score = 1 - max cosine to existing keys (1.0 for an empty bank); admitted when the max cosine is
    below ``similarity`` (default 0.9; see docs/simulator.md for how it was chosen).
    """

    name = "dedup"
    score_label = "novelty: 1 - cosine to the nearest key"

    def __init__(self, similarity: float = 0.9) -> None:
        if not 0.0 < similarity <= 1.0:
            raise ValueError(f"dedup similarity must be in (0, 1], got {similarity}")
        self.similarity = similarity
        self.threshold = 1.0 - similarity

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        near = nearest_keys(ctx)
        top = near[0][1] if near else 0.0
        admit = top < self.similarity
        nov = 1.0 - top  # one scale: the reason speaks of the score it is judged on
        reason = (f"novelty {nov:.3f} < {self.threshold:.2f}: nearest key #{near[0][0]} has cosine "
                  f"{top:.3f} (an equivalent entry is already in the bank)" if not admit else
                  ("bank is empty" if not near else
                   f"novelty {nov:.3f} >= {self.threshold:.2f} (nearest key cosine {top:.3f})"))
        return AdmissionDecision(round(1.0 - top, 4), admit,
                                 {"reason": reason, "max_cosine": top, "nearest": near})

    def describe(self) -> dict:
        return {"name": self.name, "similarity": self.similarity, "threshold": self.threshold}
