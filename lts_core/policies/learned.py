"""``learned``: the trained admission controller (``lts_core.policies.controller``) as a policy.

Options (``--policy-options '{"checkpoint": "...", ...}'``):
- ``checkpoint``: a file written by ``lts train``; default the shipped ``lts_core/assets/controller/lts-controller.pt``.
- ``threshold``: admit when P(YES) >= threshold. Default: the threshold calibrated on the training
  suite's validation split and stored with the checkpoint, else 0.5 (argmax of YES/NO).
- ``sample`` / ``temperature`` / ``epsilon``: sample YES/NO from (1 - epsilon) * softmax(logits / T)
  + epsilon / 2 instead (the trainer does this); the draw uses the decision's own seeded rng.
- ``answers``: ``"decided"`` admits a final answer only when it decides the majority vote, and
  lets the controller decide every other step (``lts_core.policies.vote``); ``"policy"``: the
  controller decides answers too. Default: the rule stored with the checkpoint, else ``"policy"``.
- ``explain`` (default true): record each input's contribution to P(YES) and the most similar
  decisions of the training record (``lts_core.policies.explain``). They are computed after the decision,
  off its path, and recorded as an ``ExplanationRecord`` (the decision itself is one forward pass).

The trainer passes a live ``model`` and a ``trace`` list: every decision's inputs are appended to it
so the gradient can be computed after the episode. Loaded checkpoints are cached per file (path and
modification time), so a batch of runs loads the weights once.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np

from lts_core.policies.base import (
    AdmissionContext,
    AdmissionDecision,
    AdmissionPolicy,
    nearest_keys,
)
from lts_core.policies.controller import (
    AdmissionController,
    DecisionInput,
    default_checkpoint,
    describe_checkpoint,
    load_checkpoint,
)
from lts_core.policies.explain import TrainingMemory, explain, in_words
from lts_core.policies.oracle import serves
from lts_core.policies.trace import Decision, mix_epsilon
from lts_core.policies.vote import check_rule, vote_decision
from lts_core.world.grounding import support

_CACHE: dict[tuple[str, float], tuple[AdmissionController, dict[str, Any], Any]] = {}
_CACHE_LOCK = threading.Lock()


def cached_checkpoint(path: Path) -> tuple[AdmissionController, dict[str, Any], Any]:
    """(model, checkpoint dict, TrainingMemory or None), loaded once per file version."""
    key = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    with _CACHE_LOCK:
        if key not in _CACHE:
            model, blob = load_checkpoint(path)
            _CACHE[key] = (model, blob, TrainingMemory.load(path))
        return _CACHE[key]


class LearnedPolicy(AdmissionPolicy):
    name = "learned"
    score_label = "P(YES), the controller's probability of admitting"

    def __init__(self, checkpoint: str | None = None, threshold: float | None = None,
                 sample: bool = False, temperature: float = 1.2, epsilon: float = 0.0,
                 explain: bool = True, model: AdmissionController | None = None,
                 trace: list[Decision] | None = None, answers: str | None = None) -> None:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"learned threshold must be in [0, 1], got {threshold}")
        if temperature <= 0:
            raise ValueError(f"learned temperature must be positive, got {temperature}")
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f"learned epsilon must be in [0, 1), got {epsilon}")
        self.memory: TrainingMemory | None = None
        stored, stored_answers = None, None
        if model is not None:
            self.model, self.source = model, {"checkpoint": "(live model of a training job)"}
        else:
            path = Path(checkpoint) if checkpoint else default_checkpoint()
            self.model, blob, self.memory = cached_checkpoint(path)
            self.source = describe_checkpoint(path, blob)
            stored = blob.get("meta", {}).get("threshold")
            stored_answers = blob.get("meta", {}).get("answers")
        self.threshold = float(threshold if threshold is not None else stored if stored is not None
                               else 0.5)
        self.threshold_source = ("option" if threshold is not None else
                                 "calibrated (checkpoint)" if stored is not None else "default 0.5")
        self.sample, self.temperature, self.epsilon = sample, temperature, epsilon
        self.explain = explain and trace is None  # the trainer needs no explanations
        self.trace = trace
        # The trainer's decisions are all the controller's: the vote rule applies when playing.
        self.answers = check_rule(answers or stored_answers or "policy")

    def inputs(self, ctx: AdmissionContext) -> DecisionInput:
        q, u, o = ctx.embedder.encode([ctx.query, ctx.u or "(none)", ctx.o or "(empty)"])
        d = q.shape[0]
        keys = (np.stack([e.key_vec for e in ctx.keys]) if ctx.keys
                else np.zeros((0, d), dtype=np.float32))
        return DecisionInput(q, keys, u, ctx.s_vec, o, support(ctx.s, ctx.o))

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        x = self.inputs(ctx)
        p_eval, p_t = self.model.scores(x, (1.0, self.temperature))  # one forward pass
        if self.answers == "decided" and self.trace is None:
            ruled = vote_decision(ctx, {"p_yes": round(p_eval, 6), "keys_seen": len(ctx.keys),
                                        "nearest": nearest_keys(ctx)})
            if ruled is not None:  # P(YES) is recorded beside it: what the controller would say
                return ruled
        if self.sample:
            p = mix_epsilon(p_t, self.epsilon)
            admit = ctx.rng.random() < p
            reason = (f"sampled at T={self.temperature}, epsilon={self.epsilon}: P(YES)={p:.3f} -> "
                      f"{'YES' if admit else 'NO'}")
        else:
            p = p_eval
            admit = self.decision(p).admit
            reason = f"P(YES)={p:.3f} {'>=' if admit else '<'} threshold {self.threshold:.2f}"
        if self.trace is not None:
            self.trace.append(Decision(ctx.team_idx, ctx.step_idx, x, admit, p, action=ctx.action,
                                       summary=ctx.s, serves=serves(ctx.payload) is not None))
        feats: dict[str, Any] = {"reason": reason, "p_yes": round(p_eval, 6),
                                 "threshold": self.threshold, "keys_seen": len(ctx.keys),
                                 "nearest": nearest_keys(ctx)}
        later = None
        if self.explain:
            key_ids = [e.entry_id for e in ctx.keys]
            texts = {"query": ctx.query, "u": ctx.u, "s": ctx.s, "o": ctx.o,
                     "support": f"{x.support:.2f}"}
            later = functools.partial(self._explanation, x, key_ids, texts, admit, p_eval)
        return AdmissionDecision(round(p_eval, 6), admit, feats,
                                 threshold=None if self.sample else self.threshold,
                                 explain_later=later)

    def _explanation(self, x: DecisionInput, key_ids: list[int], texts: dict[str, str],
                     admit: bool, p_eval: float) -> dict[str, Any]:
        """Attributions, the sentence in words and similar training decisions (off the decision
        path: the run's explainer calls this after the decision is recorded)."""
        ex = explain(self.model, x, key_ids)
        out: dict[str, Any] = {"attribution": ex.attribution,
                               "in_words": in_words(admit, p_eval, self.threshold, ex.attribution,
                                                    texts)}
        if self.memory is not None:
            out["similar_training"] = self.memory.nearest(ex.cls, 3)
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "threshold": self.threshold,
                "threshold_source": self.threshold_source, "sample": self.sample,
                "temperature": self.temperature, "epsilon": self.epsilon, "answers": self.answers,
                **self.source}
