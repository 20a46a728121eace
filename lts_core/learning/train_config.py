"""``TrainConfig``: every setting of a training, from a named recipe (``recipes.py``) and flags.

``TrainConfig.from_recipe(name, **fields)`` starts from a recipe; ``train_config_from_args`` builds
one from ``lts train``'s flags (a flag left out keeps the recipe's value). ``validate()`` raises
ValueError naming the setting. docs/controller.md gives every constant and its source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lts_core.learning.credit import CreditConfig
from lts_core.policies.controller_config import ControllerConfig


@dataclass
class TrainConfig:
    suite: str = "hotpotqa-train"
    tasks: int = 0  # the first N tasks of the suite; 0 = all (less the validation slice)
    epochs: int = 4
    episodes: int = 5  # G, episodes per task per epoch
    batch_tasks: int = 1  # tasks per group of play (on-line: per gradient step)
    teams: int = 3
    backend: str = "sim"
    backend_options: dict[str, Any] = field(default_factory=dict)  # api_base, ... (never keys)
    max_steps: int = 30
    embedder: str = "minilm"
    lr: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    reward_metric: str = "f1"  # f1 | em: the score used for R_agg and R_first
    seed: int = 0
    recipe: str = "v1"  # the named preset the other fields started from (recipes.py)
    reuse_passes: int = 0  # 0: on-line; N: N passes over the traces after each epoch's play
    batch_episodes: int = 16  # with reuse: episodes per gradient step
    accumulate: bool = True  # with reuse: traces of all epochs so far (False: this epoch only)
    val_tasks: str = ""  # "START:END" slice of the suite held out to calibrate the threshold
    val_seeds: list[int] = field(default_factory=lambda: [0, 1])
    thresholds: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
    credit: CreditConfig = field(default_factory=CreditConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    episodes_from_db: str | None = None  # a DuckDB file of recorded runs: train off-line on them
    source_filter: str = ""  # off-line: SQL condition on the runs table, e.g. "backend LIKE '%/%'"
    workers: int = 1  # Ray workers playing a step's episodes (lts_core.scale.pool); 1: no Ray
    ray_address: str | None = None  # join this Ray cluster instead of starting a local one
    runs_per_worker: int = 1  # episodes one worker plays at once (threads; LLM back-ends)

    def validate(self) -> None:
        if self.reward_metric not in ("f1", "em"):
            raise ValueError(f"reward_metric must be f1 or em, got {self.reward_metric!r}")
        for name in ("epochs", "episodes", "batch_tasks", "teams", "batch_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.reuse_passes < 0 or self.tasks < 0:
            raise ValueError("reuse_passes and tasks must not be negative")
        imitate = self.credit.objective == "oracle"
        if self.episodes < 2 and self.credit.group_norm and not imitate:
            raise ValueError("group normalisation needs at least 2 episodes per task (--episodes)")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if imitate and (not self.simulated or self.episodes_from_db):
            raise ValueError("imitating the oracle (--objective oracle, recipe imitate) needs live "
                             "episodes on the simulator (--backend sim, no --from-db): its label is "
                             "the simulator's truth")
        if imitate and self.credit.cost_alpha:
            raise ValueError("--cost-alpha shapes the RL reward; imitating the oracle "
                             "(--objective oracle) has no reward in its loss")
        if self.credit.cost_alpha and self.episodes_from_db:
            raise ValueError("the cost term needs live episodes (a `none` run per task and seed)")
        if self.val_tasks:
            self.val_slice()
        if any(not 0.0 <= t <= 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds must be in [0, 1], got {self.thresholds}")
        if self.workers < 1 or self.runs_per_worker < 1:
            raise ValueError(f"workers and runs_per_worker must be at least 1, got {self.workers} "
                             f"and {self.runs_per_worker}")
        if self.episodes_from_db and (self.workers > 1 or self.ray_address):
            raise ValueError("--workers/--ray-address play live episodes; --from-db reads recorded "
                             "ones (leave --workers at 1)")
        self.credit.validate()
        self.controller.validate()

    @property
    def simulated(self) -> bool:
        """Whether the episodes' back-end is a simulator (``registry.is_simulated``)."""
        from lts_core.registry import is_simulated

        return is_simulated(self.backend)

    def val_slice(self) -> slice:
        try:
            a, b = (int(x) for x in self.val_tasks.split(":"))
        except ValueError:
            raise ValueError(f"val_tasks must be START:END (e.g. 70:100), got {self.val_tasks!r}") \
                from None
        if not 0 <= a < b:
            raise ValueError(f"val_tasks {self.val_tasks!r} is empty or negative")
        return slice(a, b)

    def training_tasks(self, tasks: list) -> list:
        """The suite's tasks used for training: the first ``tasks`` (0 = all) outside ``val_tasks``."""
        held = set(range(len(tasks))[self.val_slice()]) if self.val_tasks else set()
        keep = [t for i, t in enumerate(tasks) if i not in held]
        return keep[: self.tasks] if self.tasks else keep

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        credit = CreditConfig(**d.pop("credit", {}))
        ctrl = ControllerConfig(**d.pop("controller", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(credit=credit, controller=ctrl, **{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_recipe(cls, name: str, **fields: Any) -> TrainConfig:
        """The named recipe's settings (recipes.py), with ``fields`` (and ``credit=dict``) on top."""
        from lts_core.learning.recipes import recipe

        r = recipe(name)
        credit = {**r.pop("credit"), **fields.pop("credit", {})}
        ctrl = fields.pop("controller", None) or ControllerConfig()
        return cls(recipe=name, credit=CreditConfig(**credit), controller=ctrl, **{**r, **fields})


_FLAG_FIELDS = ("epochs", "episodes", "batch_tasks", "reuse_passes", "batch_episodes", "lr",
                "val_seeds", "thresholds")
_CREDIT_FLAGS = ("temperature", "epsilon", "lambda_first", "beta", "bonus_when", "lambda_sparse",
                 "usage_penalty", "cost_alpha", "wrong_penalty", "objective")


def train_config_from_args(a: dict[str, Any], **fields: Any) -> TrainConfig:
    """A TrainConfig from ``lts train``'s flags: the recipe's values, then every flag that was given
    (None means "not given"). ``fields`` are set as they are (backend options, controller)."""
    top = {k: a[k] for k in _FLAG_FIELDS if a.get(k) is not None}
    credit = {k: a[k] for k in _CREDIT_FLAGS if a.get(k) is not None}
    if a.get("skip_zero"):
        credit["skip_zero"] = a["skip_zero"] == "yes"
    credit.update({"usage_bonus": not a.get("no_usage_bonus"), "sparsity": not a.get("no_sparsity"),
                   "group_norm": not a.get("no_group_norm")})
    if a.get("no_accumulate"):
        top["accumulate"] = False
    return TrainConfig.from_recipe(
        a.get("recipe") or "lts", suite=a["suite"], tasks=a.get("tasks") or 0,
        val_tasks=a.get("val_tasks") or "", teams=a["teams"], backend=a["backend"],
        max_steps=a["max_steps"], embedder=a["embedder"], weight_decay=a["weight_decay"],
        grad_clip=a["grad_clip"], reward_metric=a["reward_metric"], seed=a["seed"],
        episodes_from_db=a.get("from_db"), source_filter=a.get("source_filter") or "",
        credit=credit, **top, **fields)
