"""Stepwise RL with usage-aware credit: rewards, advantages and the per-decision loss.

Pure functions over ``Episode`` records, shared by on-line training (episodes from the engine) and
off-line training (episodes rebuilt from runs recorded in DuckDB). The method (lts-method.md):

- reward R = R_agg + lambda_first * R_first (score of the aggregated answer, score of the first
  team to finish);
- group-normalised advantage A = (R - mean_G R) / (std_G R + eps) over the G episodes of one task;
- usage bonus: A_t = A + beta for an admitted step whose entry some team fetched, in an episode with
  R > 0;
- loss per decision: -log pi(z_t | c_t) * A_t + lambda_sparse * pi(YES | c_t), averaged.

Ablations: ``usage_bonus=False`` (beta off), ``sparsity=False`` (lambda_sparse off),
``lambda_first=0``, and ``group_norm=False``, which replaces the per-task group baseline by the mean
reward of the whole batch (no division by a std), so only the grouping is taken away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only where a loss is computed (the CLI starts without it)
    import torch

    from .controller import AdmissionController, DecisionInput


@dataclass
class Decision:
    team_idx: int
    step_idx: int
    x: DecisionInput
    admit: bool
    p_yes: float  # the probability the action was drawn with (for the record)
    entry_id: int | None = None  # the bank entry this step became, when admitted
    used: bool = False  # that entry was fetched by some team in this episode
    advantage: float = 0.0  # A_t, filled by ``assign_credit``


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


def assign_credit(groups: list[list[Episode]], cfg: CreditConfig) -> None:
    """Set ``reward`` on every episode and ``advantage`` on every decision, in place.

    ``groups`` holds the G episodes of each task. The usage bonus goes exactly to decisions that
    admitted an entry which was used, in an episode whose reward is positive.
    """
    all_r = [e.r_agg + cfg.lambda_first * e.r_first for g in groups for e in g]
    batch_mean = float(np.mean(all_r)) if all_r else 0.0
    for g in groups:
        rs = np.array([e.r_agg + cfg.lambda_first * e.r_first for e in g], dtype=np.float64)
        if cfg.group_norm:
            adv = (rs - rs.mean()) / (rs.std() + cfg.eps)
        else:
            adv = rs - batch_mean
        for e, r, a in zip(g, rs, adv, strict=True):
            e.reward = float(r)
            for d in e.decisions:
                bonus = cfg.beta if (cfg.usage_bonus and d.admit and d.used and r > 0) else 0.0
                d.advantage = float(a) + bonus


def policy_loss(model: AdmissionController, decisions: list[Decision], cfg: CreditConfig,
                chunk: int = 512) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean of -log pi(z|c) * A + lambda_sparse * pi(YES|c) over ``decisions`` (with gradient)."""
    import torch

    from .controller import YES, collate

    if not decisions:
        raise ValueError("no decisions to learn from")
    pg_terms, yes_terms = [], []
    for i in range(0, len(decisions), chunk):
        part = decisions[i:i + chunk]
        b = collate([d.x for d in part], model.config.max_keys)
        logp = torch.log_softmax(model(b) / cfg.temperature, dim=-1)
        z = torch.tensor([YES if d.admit else 1 - YES for d in part])
        a = torch.tensor([d.advantage for d in part], dtype=torch.float32)
        pg_terms.append(-(logp.gather(1, z[:, None]).squeeze(1) * a))
        yes_terms.append(logp[:, YES].exp())
    pg = torch.cat(pg_terms).mean()
    p_yes = torch.cat(yes_terms).mean()
    loss = pg + (cfg.lambda_sparse * p_yes if cfg.sparsity else 0.0)
    return loss, {"pg": pg.item(), "p_yes": p_yes.item(), "loss": loss.item()}
