"""``learned``: the trained admission controller (``lts_core.controller``) as a policy.

Options (``--policy-options '{"checkpoint": "...", ...}'``):
- ``checkpoint``: a file written by ``lts train``; default the shipped ``assets/controller/lts-controller.pt``.
- ``threshold``: admit when P(YES) >= threshold (default 0.5, i.e. argmax of YES/NO).
- ``sample`` / ``temperature``: sample YES/NO from softmax(logits / temperature) instead (the trainer
  does this with temperature 1.2); the draw uses the decision's own seeded rng, so runs replay.

The trainer passes a live ``model`` and a ``trace`` list: every decision's inputs are appended to it
so the gradient can be computed after the episode. Loaded checkpoints are cached per file (path and
modification time), so a batch of runs loads the weights once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..controller import (
    AdmissionController,
    DecisionInput,
    default_checkpoint,
    describe_checkpoint,
    load_checkpoint,
)
from .base import AdmissionContext, AdmissionDecision, AdmissionPolicy, nearest_keys

_CACHE: dict[tuple[str, float], tuple[AdmissionController, dict[str, Any]]] = {}
_CACHE_LOCK = threading.Lock()


def cached_checkpoint(path: Path) -> tuple[AdmissionController, dict[str, Any]]:
    key = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_checkpoint(path)
        return _CACHE[key]


@dataclass
class TracedDecision:
    """One decision as the trainer needs it: inputs, the action taken and its probability."""

    team_idx: int
    step_idx: int
    x: DecisionInput
    admit: bool
    p_yes: float
    entry_id: int | None = None  # filled in by the trainer from the run's admissions


class LearnedPolicy(AdmissionPolicy):
    name = "learned"

    def __init__(self, checkpoint: str | None = None, threshold: float = 0.5, sample: bool = False,
                 temperature: float = 1.2, model: AdmissionController | None = None,
                 trace: list[TracedDecision] | None = None) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"learned threshold must be in [0, 1], got {threshold}")
        if temperature <= 0:
            raise ValueError(f"learned temperature must be positive, got {temperature}")
        if model is not None:
            self.model, self.source = model, {"checkpoint": "(live model of a training job)"}
        else:
            path = Path(checkpoint) if checkpoint else default_checkpoint()
            self.model, blob = cached_checkpoint(path)
            self.source = describe_checkpoint(path, blob)
        self.threshold, self.sample, self.temperature = threshold, sample, temperature
        self.trace = trace

    def inputs(self, ctx: AdmissionContext) -> DecisionInput:
        q, u, o = ctx.embedder.encode([ctx.query, ctx.u or "(none)", ctx.o or "(empty)"])
        d = q.shape[0]
        keys = (np.stack([e.key_vec for e in ctx.keys]) if ctx.keys
                else np.zeros((0, d), dtype=np.float32))
        return DecisionInput(q, keys, u, ctx.s_vec, o)

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        x = self.inputs(ctx)
        p_eval, p_t = self.model.scores(x, (1.0, self.temperature))
        if self.sample:
            p = p_t
            admit = ctx.rng.random() < p
            reason = f"sampled at T={self.temperature}: P(YES)={p:.3f} -> {'YES' if admit else 'NO'}"
        else:
            p = p_eval
            admit = p >= self.threshold
            reason = f"P(YES)={p:.3f} {'>=' if admit else '<'} {self.threshold}"
        if self.trace is not None:
            self.trace.append(TracedDecision(ctx.team_idx, ctx.step_idx, x, admit, p))
        return AdmissionDecision(round(p_eval, 6), admit, {
            "reason": reason, "p_yes": round(p_eval, 6), "keys_seen": len(ctx.keys),
            "nearest": nearest_keys(ctx)})

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold, "sample": self.sample,
                "temperature": self.temperature, **self.source}
