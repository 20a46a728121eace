"""Stepwise RL with usage-aware credit: rewards, advantages and the per-decision loss.

Pure functions over ``Episode`` records, shared by on-line training (episodes from the engine) and
off-line training (episodes rebuilt from runs recorded in DuckDB). The method (lts-method.md):

- reward R = R_agg + lambda_first * R_first (score of the aggregated answer, score of the first
  team to finish), minus ``cost_alpha`` * runtime / runtime of ``none`` on the same task and seed
  when the cost term is on (ours; off in both published recipes);
- group-normalised advantage A = (R - mean_G R) / (std_G R + eps) over the G episodes of one task;
- usage bonus: A_t = A + beta for an admitted step whose entry some team fetched, in an episode with
  R > 0 (``bonus_when="reward"``, the paper's wording) or A > 0 (``"advantage"``, the released code);
- negative usage credit (ours): A_t = A - usage_penalty for such a step in an episode with A < 0
  (a fetched entry of a worse-than-average episode may have misled a team);
- wrong-entry credit (ours): A_t = A - wrong_penalty for an admitted step whose entry another team
  fetched and whose content was wrong (``harm.judge``: an answer that misses the gold answer, or a
  page fact the simulator recorded as false). Unlike the episode's advantage, this lands on the one
  step that spread the error;
- loss per decision: -log pi(z_t | c_t) * A_t + lambda_sparse * pi(YES | c_t), averaged. The released
  code skips decisions whose A_t is ~0 entirely (``skip_zero``) and so applies sparsity only where
  A_t != 0; ``v1`` applies sparsity to every decision.

``objective="oracle"`` (ours, recipe ``imitate``) replaces that loss by supervised imitation: the
cross-entropy of P(YES) at T = 1 against the oracle's label (``Decision.serves``: the simulator
knows whether the step's entry could serve a team), on every decision. Rewards are still computed
for the record; advantages do not enter the loss.

Ablations: ``usage_bonus=False`` (beta off), ``sparsity=False`` (lambda_sparse off),
``lambda_first=0``, and ``group_norm=False``, which replaces the per-task group baseline by the mean
reward of the whole batch (no division by a std), so only the grouping is taken away.

Constants and their sources are in ``RECIPES`` (``lts train --recipe``) and docs/controller.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lts_core.policies.trace import Decision

if TYPE_CHECKING:  # torch is imported only where a loss is computed (the CLI starts without it)
    import torch

    from lts_core.policies.controller import AdmissionController

ZERO_ADVANTAGE = 1e-6  # |A_t| below this counts as "no signal" (skip_zero)


@dataclass
class Episode:
    task_id: str
    run_id: str
    r_agg: float
    r_first: float
    decisions: list[Decision] = field(default_factory=list)
    em: float = 0.0
    runtime_s: float = 0.0
    reward: float = 0.0
    runtime_ref_s: float | None = None  # runtime of `none` on the same task and seed (cost term)


@dataclass
class CreditConfig:
    lambda_first: float = 1.0
    beta: float = 1.0
    lambda_sparse: float = 0.3
    temperature: float = 1.2
    eps: float = 1e-6
    usage_bonus: bool = True
    sparsity: bool = True
    group_norm: bool = True
    bonus_when: str = "reward"  # reward: R > 0 (paper) | advantage: A > 0 (released code)
    skip_zero: bool = False  # released code: decisions with |A_t| ~ 0 get no term at all
    epsilon: float = 0.0  # rollout: P(YES) mixed with epsilon uniform exploration
    usage_penalty: float = 0.0  # ours: -penalty for a fetched entry of an episode with A < 0
    cost_alpha: float = 0.0  # ours: reward -= alpha * runtime / runtime of none (same task, seed)
    wrong_penalty: float = 0.0  # ours: -penalty for a wrong entry another team fetched
    objective: str = "rl"  # rl: the policy loss above | oracle: imitate the oracle (ours; sim only)

    def validate(self) -> None:
        if self.bonus_when not in ("reward", "advantage"):
            raise ValueError(f"bonus_when must be reward or advantage, got {self.bonus_when!r}")
        if self.objective not in ("rl", "oracle"):
            raise ValueError(f"objective must be rl or oracle, got {self.objective!r}")
        if not 0.0 <= self.epsilon < 1.0:
            raise ValueError(f"epsilon must be in [0, 1), got {self.epsilon}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        for name in ("beta", "lambda_sparse", "usage_penalty", "cost_alpha", "lambda_first",
                     "wrong_penalty"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


def episode_reward(e: Episode, cfg: CreditConfig) -> float:
    """R = R_agg + lambda_first * R_first [- cost_alpha * runtime / runtime of none]."""
    r = e.r_agg + cfg.lambda_first * e.r_first
    if cfg.cost_alpha:
        if not e.runtime_ref_s:
            raise ValueError(f"the cost term needs the runtime of `none` on task {e.task_id}")
        r -= cfg.cost_alpha * e.runtime_s / e.runtime_ref_s
    return r


def assign_credit(groups: list[list[Episode]], cfg: CreditConfig) -> None:
    """Set ``reward`` on every episode and ``advantage`` on every decision, in place.

    ``groups`` holds the G episodes of each task. The usage bonus goes exactly to decisions that
    admitted an entry which was used, in an episode whose reward (or advantage, per ``bonus_when``)
    is positive; the usage penalty to such decisions in an episode whose advantage is negative;
    the wrong-entry penalty to admitted decisions whose entry is ``misled``, whatever the episode.
    """
    all_r = [episode_reward(e, cfg) for g in groups for e in g]
    batch_mean = float(np.mean(all_r)) if all_r else 0.0
    for g in groups:
        rs = np.array([episode_reward(e, cfg) for e in g], dtype=np.float64)
        if cfg.group_norm:
            adv = (rs - rs.mean()) / (rs.std() + cfg.eps)
        else:
            adv = rs - batch_mean
        for e, r, a in zip(g, rs, adv, strict=True):
            e.reward = float(r)
            a = float(a) if abs(a) > ZERO_ADVANTAGE else 0.0
            gate = r > 0 if cfg.bonus_when == "reward" else a > 0
            for d in e.decisions:
                fetched = d.admit and d.used
                bonus = cfg.beta if (cfg.usage_bonus and fetched and gate) else 0.0
                penalty = cfg.usage_penalty if (fetched and a < 0) else 0.0
                if d.admit and d.misled:
                    penalty += cfg.wrong_penalty
                d.advantage = a + bonus - penalty


def trained_on(decisions: list[Decision], cfg: CreditConfig) -> list[Decision]:
    """The decisions that contribute to the loss (all, or those with A_t != 0 under skip_zero;
    all when imitating the oracle)."""
    if not cfg.skip_zero or cfg.objective == "oracle":
        return decisions
    return [d for d in decisions if abs(d.advantage) > ZERO_ADVANTAGE]


def policy_loss(model: AdmissionController, decisions: list[Decision], cfg: CreditConfig,
                chunk: int = 128) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean of -log pi(z|c) * A + lambda_sparse * pi(YES|c) over the trained-on ``decisions``.

    pi is the model's own softmax(logits / T); the epsilon mixing of the rollout is not part of it
    (as in the released code). Raises ValueError when no decision carries a signal.

    The decisions are forwarded in chunks of ``chunk``, ordered by bank size, so a chunk pads its
    keys to about its own length rather than the batch's largest bank (our choice: the same loss up
    to rounding, ~3x faster on a batch whose banks hold 0-60 keys). Deterministic. With
    ``cfg.objective == "oracle"`` it returns ``imitation_loss`` instead (no advantage, no sparsity).
    """
    import torch

    from lts_core.policies.controller import YES

    kept = sorted(trained_on(decisions, cfg), key=lambda d: len(d.x.keys))  # stable
    if not kept:
        raise ValueError("no decisions to learn from")
    if cfg.objective == "oracle":
        return imitation_loss(model, kept, chunk)
    pg_terms, yes_terms = [], []
    for part, logp in _chunked_log_probs(model, kept, chunk, cfg.temperature):
        z = torch.tensor([YES if d.admit else 1 - YES for d in part])
        a = torch.tensor([d.advantage for d in part], dtype=torch.float32)
        pg_terms.append(-(logp.gather(1, z[:, None]).squeeze(1) * a))
        yes_terms.append(logp[:, YES].exp())
    pg = torch.cat(pg_terms).mean()
    p_yes = torch.cat(yes_terms).mean()
    loss = pg + (cfg.lambda_sparse * p_yes if cfg.sparsity else 0.0)
    return loss, {"pg": pg.item(), "p_yes": p_yes.item(), "loss": loss.item(),
                  "trained_on": float(len(kept))}


def imitation_loss(model: AdmissionController, decisions: list[Decision],
                   chunk: int = 128) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean cross-entropy of P(YES) at T = 1 against ``Decision.serves`` (the oracle's label), the
    ``objective="oracle"`` loss. ``pg`` in the stats is that cross-entropy; ``label_rate`` the share
    of decisions the oracle would admit. Forwarded in chunks like ``policy_loss``."""
    import torch

    from lts_core.policies.controller import YES

    terms, yes_terms = [], []
    for part, logp in _chunked_log_probs(model, decisions, chunk, 1.0):
        z = torch.tensor([YES if d.serves else 1 - YES for d in part])
        terms.append(-logp.gather(1, z[:, None]).squeeze(1))
        yes_terms.append(logp[:, YES].exp())
    ce = torch.cat(terms).mean()
    return ce, {"pg": ce.item(), "p_yes": torch.cat(yes_terms).mean().item(), "loss": ce.item(),
                "trained_on": float(len(decisions)),
                "label_rate": float(np.mean([d.serves for d in decisions]))}


def _chunked_log_probs(model: AdmissionController, decisions: list[Decision], chunk: int,
                       temperature: float):
    """Yield ``(part, log softmax(logits / temperature))`` for consecutive chunks of ``decisions``."""
    import torch

    from lts_core.policies.controller import collate

    for i in range(0, len(decisions), chunk):
        part = decisions[i:i + chunk]
        b = collate([d.x for d in part], model.config.max_keys)
        yield part, torch.log_softmax(model(b) / temperature, dim=-1)
