"""``lts train``: the controller trained by stepwise RL with usage-aware credit (``credit.py``).

An epoch walks the training tasks in a seeded order, ``batch_tasks`` tasks at a time, playing G
episodes per task (``episodes.py``: whole K-team runs on the virtual executor, the live controller
sampling YES/NO) and assigning credit per task group. Then, either

- on-line (``reuse_passes=0``, recipe ``v1``): one AdamW step after each batch of tasks, or
- with reuse (``reuse_passes=N``, the released code's ``joint_train.py``): the epoch's traces are
  played with the epoch's controller, then N passes over the traces of all epochs so far
  (``accumulate``) or of this epoch only, in shuffled batches of ``batch_episodes`` episodes.

Episodes can instead come from runs recorded in DuckDB (``episodes_from_db``, ``offline_episodes.py``;
off-policy). Every epoch writes a ``TrainEpochRecord``, every decision a ``TrainDecisionRecord``, a
checkpoint (model + optimizer + config + epoch) and its sidecar JSON. With ``val_tasks`` set, the
threshold on P(YES) is calibrated on that validation slice after the last epoch (``calibrate.py``).
Seeds and orders derive from ``seed`` and the epoch only and torch runs single-threaded, so the same
command on the same machine writes the same weights (``weights_sha``), with 1 or N Ray workers
(``workers``: a step's episodes are played in parallel, ``episodes.RayEpisodes``).

Thread-safety: one training per model; ``stop_event`` (set from any thread) ends it after the
current batch, with a checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .controller import (
    AdmissionController,
    ControllerConfig,
    load_checkpoint,
    save_checkpoint,
    write_sidecar,
)
from .credit import CreditConfig, Episode, assign_credit, policy_loss, trained_on
from .engine import Engine, derive_seed
from .episodes import episode_source
from .records import TrainDecisionRecord, TrainEpochRecord


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
    workers: int = 1  # Ray workers playing a step's episodes (lts_core.scale); 1: no Ray
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
        if self.episodes < 2 and self.credit.group_norm:
            raise ValueError("group normalisation needs at least 2 episodes per task (--episodes)")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
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
        from .recipes import recipe

        r = recipe(name)
        credit = {**r.pop("credit"), **fields.pop("credit", {})}
        ctrl = fields.pop("controller", None) or ControllerConfig()
        return cls(recipe=name, credit=CreditConfig(**credit), controller=ctrl, **{**r, **fields})


@dataclass
class TrainResult:
    train_id: str
    checkpoint: Path
    epochs: list[TrainEpochRecord]
    weights_sha: str
    wall_s: float
    threshold: float | None = None  # calibrated on the validation slice, when one was given


def weights_sha(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class _Stepper:
    """AdamW steps on the policy loss; counts steps and keeps the losses of the current epoch."""

    def __init__(self, model: AdmissionController, cfg: TrainConfig, opt_state: dict | None) -> None:
        self.model, self.cfg = model, cfg
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        if opt_state:
            self.opt.load_state_dict(opt_state)
        self.losses: list[float] = []

    def step(self, episodes: list[Episode]) -> None:
        decisions = [d for e in episodes for d in e.decisions]
        if not trained_on(decisions, self.cfg.credit):
            return
        self.model.train(True)
        loss, stats = policy_loss(self.model, decisions, self.cfg.credit)
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.model.train(False)
        self.losses.append(stats["loss"])


# -------------------------------------------------------------------------------------- trainer
def train(engine: Engine, config: TrainConfig | None = None, *, out: str | Path | None = None,
          resume: str | Path | None = None, progress: bool = False,
          stop_event: threading.Event | None = None,
          on_epoch: Callable[[TrainEpochRecord], None] | None = None, **overrides: Any) -> TrainResult:
    """Train a controller; returns where its checkpoint is. ``overrides`` set TrainConfig fields
    (``suite``, ``epochs``, ``tasks``, ``teams``, ``episodes``, ``seed``: what the dashboard passes);
    without ``config``, ``recipe="official"`` (etc.) starts from that recipe instead of ``v1``."""
    overrides.pop("store", None)
    recipe_name = overrides.pop("recipe", None)
    cfg = config or (TrainConfig.from_recipe(recipe_name) if recipe_name else TrainConfig())
    opt_state, start_epoch, train_id = None, 0, uuid.uuid4().hex[:10]
    if resume:
        model, blob = load_checkpoint(resume)
        meta = blob.get("meta", {})
        cfg = TrainConfig.from_dict(meta.get("train_config", {}))
        start_epoch, train_id = int(meta.get("epoch", 0)), meta.get("train_id", train_id)
        opt_state = blob.get("optimizer")
    cfg = dataclasses.replace(cfg, **overrides) if overrides else cfg
    cfg.validate()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(1)
    if not resume:
        model = AdmissionController(cfg.controller)
    model.train(False)  # no dropout at decision time; gradients come from policy_loss
    stepper = _Stepper(model, cfg, opt_state)
    path = Path(out) if out else engine.settings.db_path.parent / "checkpoints" / f"{train_id}.pt"
    source = episode_source(engine, cfg)
    n_tasks = source.n_tasks
    t0, records, pool = time.time(), [], []
    bar = _progress(progress, total=(cfg.epochs - start_epoch) * n_tasks * source.per_task,
                    desc=f"train {train_id}")
    try:
        stopped = False
        for epoch in range(start_epoch, cfg.epochs):
            te = time.time()
            stepper.losses = []
            order = list(range(n_tasks))
            random.Random(derive_seed(cfg.seed, "order", epoch)).shuffle(order)
            eps_epoch: list[Episode] = []
            for b0 in range(0, n_tasks, cfg.batch_tasks):
                ids = order[b0:b0 + cfg.batch_tasks]
                if hasattr(source, "play_groups"):  # live episodes, maybe on Ray workers
                    groups = source.play_groups(ids, epoch, train_id, model)
                else:
                    groups = [source.group(i, epoch, train_id, model) for i in ids]
                groups = [g for g in groups if g]
                if bar:
                    bar.update(sum(len(g) for g in groups))
                assign_credit(groups, cfg.credit)
                if not cfg.reuse_passes:
                    stepper.step([e for g in groups for e in g])
                _record_decisions(engine, train_id, epoch, groups, len(eps_epoch))
                eps_epoch.extend(e for g in groups for e in g)
                if bar:
                    ls = stepper.losses
                    bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(ls):.3f}" if ls else "-")
                if stop_event is not None and stop_event.is_set():
                    stopped = True
                    break
            if cfg.reuse_passes and not stopped:
                pool = (pool if cfg.accumulate else []) + eps_epoch
                _reuse_passes(stepper, pool, cfg, epoch, stop_event)
            rec = _epoch_record(train_id, epoch + 1, eps_epoch, stepper.losses, time.time() - te, cfg)
            engine.store.write(rec)
            records.append(rec)
            meta = _meta(cfg, train_id, epoch + 1, model)
            save_checkpoint(path, model, optimizer=stepper.opt, meta=meta)
            write_sidecar(path, meta, records)
            if on_epoch:
                on_epoch(rec)
            if stopped or (stop_event is not None and stop_event.is_set()):
                stopped = True
                break
    finally:
        getattr(source, "close", lambda: None)()  # Ray workers (--workers) shut down
    if bar:
        bar.close()
    engine.store.flush()
    if records and eps_epoch:
        save_training_memory(path, model, eps_epoch, cfg.seed)
    threshold = None
    if cfg.val_tasks and not stopped and not cfg.episodes_from_db:
        from .calibrate import calibrate_checkpoint

        threshold = calibrate_checkpoint(engine, path, cfg, progress=progress).threshold
    return TrainResult(train_id, path, records, weights_sha(model), time.time() - t0, threshold)


def save_training_memory(path: Path, model: AdmissionController, episodes: list[Episode],
                         seed: int, limit: int = 3000) -> Path:
    """Keep up to ``limit`` decisions of the last epoch beside the checkpoint (explain.py), so a
    learned decision can name the training decisions most like it and what they got."""
    from .explain import TrainingMemory, cls_states

    decs = [(e, d) for e in episodes for d in e.decisions]
    if len(decs) > limit:
        decs = random.Random(derive_seed(seed, "memory")).sample(decs, limit)
    meta = [{"run_id": e.run_id, "team_idx": d.team_idx, "step_idx": d.step_idx,
             "action": d.action, "summary": d.summary[:160], "admitted": d.admit,
             "advantage": round(d.advantage, 4), "used": d.used, "reward": round(e.reward, 4)}
            for e, d in decs]
    return TrainingMemory(cls_states(model, [d.x for _, d in decs]), meta).save(path)


def _reuse_passes(stepper: _Stepper, pool: list[Episode], cfg: TrainConfig, epoch: int,
                  stop_event: threading.Event | None) -> None:
    """``reuse_passes`` shuffled passes over ``pool`` in batches of ``batch_episodes`` episodes."""
    for p in range(cfg.reuse_passes):
        idx = list(range(len(pool)))
        random.Random(derive_seed(cfg.seed, "reuse", epoch, p)).shuffle(idx)
        for i in range(0, len(idx), cfg.batch_episodes):
            stepper.step([pool[j] for j in idx[i:i + cfg.batch_episodes]])
            if stop_event is not None and stop_event.is_set():
                return


def _meta(cfg: TrainConfig, train_id: str, epoch: int, model: AdmissionController) -> dict:
    from .secrets import redact_config as _redact

    return {"train_id": train_id, "epoch": epoch, "suite": cfg.suite, "recipe": cfg.recipe,
            "train_config": _redact(cfg.to_dict()),
            "weights_sha": weights_sha(model), "saved_at": time.time()}


def _epoch_record(train_id: str, epoch: int, eps: list[Episode], losses: list[float], wall: float,
                  cfg: TrainConfig) -> TrainEpochRecord:
    decs = [d for e in eps for d in e.decisions]
    admitted = [d for d in decs if d.admit]
    by_action: dict[str, list[bool]] = {}
    for d in decs:
        by_action.setdefault(d.action or "?", []).append(d.admit)
    extra = {"runtime_s": float(np.mean([e.runtime_s for e in eps])) if eps else 0.0,
             "decisions": len(decs), "r_agg": float(np.mean([e.r_agg for e in eps])) if eps else 0.0,
             "r_first": float(np.mean([e.r_first for e in eps])) if eps else 0.0,
             "mean_p_yes": float(np.mean([d.p_yes for d in decs])) if decs else 0.0,
             "admit_by_action": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_action.items())},
             "trained_on": len(trained_on(decs, cfg.credit)), "steps": len(losses),
             "recipe": cfg.recipe,
             "source": "db" if cfg.episodes_from_db else "engine",
             "backend": None if cfg.episodes_from_db else cfg.backend}
    return TrainEpochRecord(
        train_id, epoch, reward=float(np.mean([e.reward for e in eps])) if eps else 0.0,
        accuracy=float(np.mean([e.em for e in eps])) if eps else 0.0,
        admission_rate=len(admitted) / len(decs) if decs else 0.0,
        usage=sum(d.used for d in admitted) / len(admitted) if admitted else 0.0,
        loss=float(np.mean(losses)) if losses else 0.0, episodes=len(eps), wall_s=round(wall, 3),
        created_at=time.time(), extra_json=json.dumps(extra))


def _record_decisions(engine: Engine, train_id: str, epoch: int, groups: list[list[Episode]],
                      first_episode: int) -> None:
    n = first_episode
    for g in groups:
        for e in g:
            for d in e.decisions:
                engine.store.write(TrainDecisionRecord(
                    train_id, epoch + 1, n, e.run_id, d.team_idx, d.step_idx, round(d.p_yes, 6),
                    d.admit, d.used, round(e.reward, 6), round(d.advantage, 6)))
            n += 1


def _progress(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="ep", file=sys.stderr)


_FLAG_FIELDS = ("epochs", "episodes", "batch_tasks", "reuse_passes", "batch_episodes", "lr",
                "val_seeds", "thresholds")
_CREDIT_FLAGS = ("temperature", "epsilon", "lambda_first", "beta", "bonus_when", "lambda_sparse",
                 "usage_penalty", "cost_alpha")


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
