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
(``workers``: a step's episodes are played in parallel, ``episode_sources.RayEpisodes``).
Its settings are ``TrainConfig`` (``train_config``).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lts_core.learning.credit import Episode, assign_credit, policy_loss, trained_on
from lts_core.learning.episode_sources import episode_source
from lts_core.learning.train_config import TrainConfig, train_config_from_args
from lts_core.policies.controller import (
    AdmissionController,
    load_checkpoint,
    save_checkpoint,
    write_sidecar,
)
from lts_core.record.records import TrainDecisionRecord, TrainEpochRecord
from lts_core.runtime.engine import Engine, derive_seed


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
        from lts_core.learning.calibrate import calibrate_checkpoint

        threshold = calibrate_checkpoint(engine, path, cfg, progress=progress).threshold
    return TrainResult(train_id, path, records, weights_sha(model), time.time() - t0, threshold)


def save_training_memory(path: Path, model: AdmissionController, episodes: list[Episode],
                         seed: int, limit: int = 3000) -> Path:
    """Keep up to ``limit`` decisions of the last epoch beside the checkpoint (explain.py), so a
    learned decision can name the training decisions most like it and what they got."""
    from lts_core.policies.explain import TrainingMemory, cls_states

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
    from lts_core.secrets import redact_config as _redact

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
             # the share of decisions the oracle would admit: known only on live simulated episodes
             "oracle_label_rate": (float(np.mean([d.serves for d in decs]))
                                   if decs and cfg.simulated and not cfg.episodes_from_db else None),
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


__all__ = ["TrainConfig", "TrainResult", "save_training_memory", "train", "train_config_from_args",
           "weights_sha"]
