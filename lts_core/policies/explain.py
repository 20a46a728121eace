"""Why the learned controller decided as it did: input attributions and similar training decisions.

- ``attributions``: P(YES) with each input left out (masked from attention, so the model sees a
  sequence without it): the query, u, s, o, the support of s by o (a model with
  ``support_input``), all keys, and each of the ``max_keys`` keys nearest to
  the step's summary. ``delta`` = P(YES) with everything minus P(YES) without that input: positive
  means the input pushed towards YES. One batched forward pass.
- ``TrainingMemory``: decisions from the last epoch of training, kept beside the checkpoint
  (``<checkpoint>.decisions.npz``) as the controller's own CLS state plus what they got (decision,
  advantage, whether the entry was used). ``nearest`` finds the most similar ones by cosine.
- ``in_words``: one sentence that names the input that mattered most.

Thread-safety: pure functions over a model used for inference; ``TrainingMemory`` is read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lts_core.policies.controller import YES, AdmissionController, DecisionInput, collate

INPUT_NAMES = {"query": "the task query", "u": "u (the instruction)", "s": "s (the summary)",
               "o": "o (the step's output)", "keys": "the bank's keys",
               "support": "the support of s by o (the share of the names s quotes that o contains)"}


@dataclass
class Explained:
    """One forward pass over a decision and its leave-one-out variants."""

    logits: torch.Tensor  # (2,) logits of the whole input
    cls: np.ndarray  # (width,) the controller's CLS state of the whole input
    p_yes: float  # P(YES) at T = 1
    attribution: list[dict[str, Any]]


def attributions(model: AdmissionController, x: DecisionInput, key_ids: list[int],
                 max_keys: int = 4) -> tuple[float, list[dict[str, Any]]]:
    """(P(YES) at T=1, [{input, p_without, delta}]) with each input left out in turn."""
    e = explain(model, x, key_ids, max_keys)
    return e.p_yes, e.attribution


def explain(model: AdmissionController, x: DecisionInput, key_ids: list[int],
            max_keys: int = 4) -> Explained:
    """The decision's logits, CLS state and attributions, from one batched forward pass."""
    base = collate([x], model.config.max_keys)
    n_keys = int(base.key_mask[0].sum())
    names = model.config.inputs
    none_dropped = [False] * len(names)
    rows: list[tuple[str, int | None, list[bool]]] = [("all", None, none_dropped)]
    for i, name in enumerate(names):
        drop = list(none_dropped)
        drop[i] = True
        rows.append((name, None, drop))
    if n_keys:
        rows.append(("keys", None, none_dropped))
        order = np.argsort(-(x.keys[-n_keys:] @ x.s))[:max_keys]
        rows.extend(("key", int(j), none_dropped) for j in order)
    b = len(rows)
    key_mask = base.key_mask.repeat(b, 1)
    offset = len(x.keys) - n_keys  # collate keeps the newest keys
    for r, (name, j, _) in enumerate(rows):
        if name == "keys":
            key_mask[r] = False
        elif name == "key":
            key_mask[r, j] = False
    batch = type(base)(base.query.repeat(b, 1), base.keys.repeat(b, 1, 1), key_mask,
                       base.uso.repeat(b, 1, 1), base.support.repeat(b, 1),
                       torch.tensor([d for _, _, d in rows]))
    with torch.no_grad():
        h = model.encode(batch)
        logits = model.head(h)
        p = torch.softmax(logits, dim=-1)[:, YES].tolist()
    p_all = p[0]
    out = []
    for (name, j, _), pw in zip(rows[1:], p[1:], strict=True):
        item = {"input": name, "p_without": round(pw, 6), "delta": round(p_all - pw, 6)}
        if name == "key":
            item["entry_id"] = key_ids[offset + j] if offset + j < len(key_ids) else None
        out.append(item)
    return Explained(logits[0], h[0].numpy(), p_all, out)


def in_words(admit: bool, p_yes: float, threshold: float, attr: list[dict[str, Any]],
             texts: dict[str, str] | None = None) -> str:
    """"Rejected mostly because of o (the step's output): without it P(YES) would be 0.41."""
    verdict = "admitted" if admit else "rejected"
    if not attr:
        return f"{verdict}: P(YES) {p_yes:.3f} vs threshold {threshold:.2f}"
    sign = 1 if admit else -1  # the inputs that pushed the way the decision went
    top = max(attr, key=lambda a: sign * a["delta"])
    if sign * top["delta"] <= 1e-4 or round(top["p_without"], 3) == round(p_yes, 3):
        # below what the sentence can show: a saturated score, or one the inputs make together
        return (f"{verdict}: P(YES) {p_yes:.3f} vs threshold {threshold:.2f}; no single input "
                "moves it by 0.001 or more (the decision rests on the inputs together)")
    name = (f"key #{top['entry_id']}" if top["input"] == "key"
            else INPUT_NAMES.get(top["input"], top["input"]))
    text = (texts or {}).get(top["input"])
    hint = f" ({text[:70]!r})" if text else ""
    flips = (top["p_without"] >= threshold) != admit
    it = "them" if top["input"] == "keys" else "it"
    return (f"{verdict} mostly because of {name}{hint}: without {it} P(YES) would be "
            f"{top['p_without']:.3f} instead of {p_yes:.3f}"
            + (" and the decision would flip" if flips else ""))


@dataclass
class TrainingMemory:
    """Training decisions in the controller's own representation, for "similar decisions"."""

    vecs: np.ndarray  # (N, width) float32, L2-normalised CLS states
    meta: list[dict[str, Any]]  # per decision: action, summary, admitted, advantage, used, run_id
    _std: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @staticmethod
    def path_for(checkpoint: Path) -> Path:
        return checkpoint.with_suffix(".decisions.npz")

    def save(self, checkpoint: Path) -> Path:
        path = self.path_for(checkpoint)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, vecs=self.vecs.astype(np.float16),
                            meta=np.array(json.dumps(self.meta)))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, checkpoint: Path) -> TrainingMemory | None:
        path = cls.path_for(checkpoint)
        if not path.is_file():
            return None
        with np.load(path) as z:
            return cls(z["vecs"].astype(np.float32), json.loads(str(z["meta"])))

    def nearest(self, vec: np.ndarray, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` training decisions closest to the CLS state ``vec``. ``similarity`` is the
        cosine after each dimension is centred and scaled by this memory's mean and spread: one
        controller's raw CLS states all point one way (the shipped checkpoint's median pair has
        cosine 0.95, its top-3 0.996), so a raw cosine cannot tell near from far; standardised,
        the median pair is 0.40."""
        if not len(self.vecs):
            return []
        if self._std is None:  # once; two threads racing here compute the same value
            mu, sd = self.vecs.mean(0), self.vecs.std(0) + 1e-6
            z = (self.vecs - mu) / sd
            self._std = (mu, sd, z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9))
        mu, sd, zs = self._std
        q = (vec / (np.linalg.norm(vec) or 1.0) - mu) / sd
        sims = zs @ (q / (np.linalg.norm(q) or 1.0))
        idx = np.argsort(-sims)[:k]
        return [{**self.meta[i], "similarity": round(float(sims[i]), 4)} for i in idx]


def cls_states(model: AdmissionController, xs: list[DecisionInput], chunk: int = 256) -> np.ndarray:
    """L2-normalised CLS states of many decisions (inference)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(xs), chunk):
            out.append(model.encode(collate(xs[i:i + chunk], model.config.max_keys)).numpy())
    v = np.concatenate(out) if out else np.zeros((0, model.config.width), np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
