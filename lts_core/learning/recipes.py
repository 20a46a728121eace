"""Named training recipes (``lts train --recipe NAME``): every constant with its source.

A recipe is a set of defaults for ``TrainConfig`` and its ``CreditConfig``; any flag given on the
command line overrides it. Sources:

- ``official``: the authors' released code (UCF-CRCV/autogen-lts, ``train_decision.py``,
  ``joint_train.py``, ``Templates/VerifiedMemoryParallelAgents/scenario.py``; see
  ../shared/reference/lts-official-code.md): usage bonus 0.5 only when A > 0; decisions with A_t ~ 0
  skipped (so sparsity 0.1 acts only where A_t != 0); epsilon 0.1 exploration at T 1.2; 5 epochs;
  each epoch plays its traces with the current controller, then 10 reuse passes over the traces of
  all epochs so far, in batches of 16 episodes; AdamW lr 1e-4; G = 4.
- ``v1``: this project's first recipe (the paper's wording: bonus when R > 0; our sweep chose beta 1,
  lambda_sparse 0.3 and lr 1e-3 on hotpotqa-train; sparsity on every decision; on-line, one step per
  task group).
- ``lts``: chosen on hotpotqa-train and its validation split (benchmarks/JOURNAL.md, "How the ``lts``
  recipe was chosen"): ``official``'s credit with on-line updates (no reuse passes), lr 1e-3, 3
  epochs; our additions (usage penalty, cost term) are off. With ``--cost-alpha 0.5`` it gave the
  controller shipped at stops 17-18; since stop 19 the shipped one is ``official`` (the rule of
  benchmarks/JOURNAL.md picked it on 500 validation runs per point, BENCHMARKS.md).
- ``imitate`` (ours, stop 22; simulator only): ``lts``'s schedule (3 epochs, G 4, on-line, lr 1e-3,
  sampling at T 1.2 with epsilon 0.1) with the loss replaced by the cross-entropy against the
  oracle's label "this step's entry can serve a team" (``credit.imitation_loss``); no advantage,
  bonus or sparsity (benchmarks/JOURNAL.md, "Imitating the oracle").
"""

from __future__ import annotations

from typing import Any

RECIPES: dict[str, dict[str, Any]] = {
    "v1": {
        "epochs": 4, "episodes": 5, "batch_tasks": 1, "lr": 1e-3, "reuse_passes": 0,
        "credit": {"beta": 1.0, "lambda_sparse": 0.3, "bonus_when": "reward", "skip_zero": False,
                   "epsilon": 0.0, "usage_penalty": 0.0, "cost_alpha": 0.0, "wrong_penalty": 0.0, "temperature": 1.2},
    },
    "official": {
        "epochs": 5, "episodes": 4, "batch_tasks": 1, "lr": 1e-4, "reuse_passes": 10,
        "batch_episodes": 16, "accumulate": True,
        "credit": {"beta": 0.5, "lambda_sparse": 0.1, "bonus_when": "advantage", "skip_zero": True,
                   "epsilon": 0.1, "usage_penalty": 0.0, "cost_alpha": 0.0, "wrong_penalty": 0.0, "temperature": 1.2},
    },
}
# The default recipe: the released credit rules with on-line updates (no reuse passes, lr 1e-3,
# 3 epochs): what this 2-core machine could afford at stops 16-17, picked on the validation split
# (benchmarks/sweep_recipes.py; benchmarks/JOURNAL.md). Shipped at stops 16-18, not since stop 19.
RECIPES["lts"] = {**RECIPES["official"], "epochs": 3, "lr": 1e-3, "reuse_passes": 0,
                  "credit": {**RECIPES["official"]["credit"]}}
RECIPES["imitate"] = {**RECIPES["lts"],
                      "credit": {**RECIPES["lts"]["credit"], "objective": "oracle", "beta": 0.0,
                                 "lambda_sparse": 0.0}}

# One line per recipe, for ``lts train --help`` and the dashboard's Training page.
DESCRIPTIONS: dict[str, str] = {
    "official": "the authors' released code as published (the shipped controller's recipe)",
    "lts": "official's credit with on-line updates, 3 epochs, lr 1e-3 (faster to train; with "
           "--cost-alpha 0.5 it gave the controller shipped at stops 17-18)",
    "v1": "this project's first recipe (sparsity on every decision)",
    "imitate": "lts's schedule learning the oracle's label, whether a step's entry can serve a team "
               "(ours; simulator only)",
}


def recipe(name: str) -> dict[str, Any]:
    """A copy of the named recipe's settings; ValueError naming the known ones otherwise."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    r = dict(RECIPES[name])
    r["credit"] = dict(r["credit"])
    return r
