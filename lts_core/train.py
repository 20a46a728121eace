"""``lts train``: the controller trained by stepwise RL with usage-aware credit (``credit.py``).

One epoch walks the training tasks in a seeded order, ``batch_tasks`` tasks at a time. For each
task it plays G episodes (whole K-team runs on the virtual executor, the live controller sampling
YES/NO at temperature T), assigns credit, and takes one AdamW step on the batch's decisions.
Episodes can instead come from runs recorded in DuckDB (``episodes_from_db``, see
``offline_episodes.py``); then the logged decisions are the actions (off-policy).

Every epoch writes a ``TrainEpochRecord``, every decision a ``TrainDecisionRecord``, and a checkpoint
(model + optimizer + the config and epoch) that ``resume`` continues from. Episode seeds and task
order derive from ``seed`` and the epoch only, and torch runs single-threaded, so the same command
on the same machine writes the same weights (``weights_sha`` in the checkpoint and the output).

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

from .controller import AdmissionController, ControllerConfig, load_checkpoint, save_checkpoint
from .credit import CreditConfig, Decision, Episode, assign_credit, policy_loss
from .engine import Engine, RunConfig, derive_seed
from .records import TrainDecisionRecord, TrainEpochRecord
from .scoring import f1_score
from .tasks import Task


@dataclass
class TrainConfig:
    suite: str = "hotpotqa-train"
    tasks: int = 0  # the first N tasks of the suite; 0 = all
    epochs: int = 4
    episodes: int = 5  # G, episodes per task per epoch
    batch_tasks: int = 1  # tasks per gradient step (each brings its G episodes)
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
    credit: CreditConfig = field(default_factory=CreditConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    episodes_from_db: str | None = None  # a DuckDB file of recorded runs: train off-line on them
    source_filter: str = ""  # off-line: SQL condition on the runs table, e.g. "backend LIKE '%/%'"

    def validate(self) -> None:
        if self.reward_metric not in ("f1", "em"):
            raise ValueError(f"reward_metric must be f1 or em, got {self.reward_metric!r}")
        for name in ("epochs", "episodes", "batch_tasks", "teams"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.episodes < 2 and self.credit.group_norm:
            raise ValueError("group normalisation needs at least 2 episodes per task (--episodes)")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        self.controller.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        credit = CreditConfig(**d.pop("credit", {}))
        ctrl = ControllerConfig(**d.pop("controller", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(credit=credit, controller=ctrl, **{k: v for k, v in d.items() if k in known})


@dataclass
class TrainResult:
    train_id: str
    checkpoint: Path
    epochs: list[TrainEpochRecord]
    weights_sha: str
    wall_s: float


def weights_sha(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------ episodes
def play_episode(engine: Engine, model: AdmissionController, task: Task, cfg: TrainConfig,
                 seed: int, batch_id: str) -> Episode:
    """One whole K-team run with the live controller sampling; returns its decisions and rewards."""
    from .policies.learned import LearnedPolicy

    trace: list = []
    policy = LearnedPolicy(model=model, sample=True, temperature=cfg.credit.temperature, trace=trace)
    rc = RunConfig(teams=cfg.teams, policy="learned", backend=cfg.backend,
                   backend_options=dict(cfg.backend_options), executor="virtual",
                   max_steps=cfg.max_steps, seed=seed, embedder=cfg.embedder,
                   policy_options={"sample": True, "temperature": cfg.credit.temperature})
    run = engine.prepare_run(task, cfg.suite, rc, batch_id=batch_id, policy=policy)
    summary = engine.execute(run)
    entry_of = {(a.team_idx, a.step_idx): a.entry_id for a in run.admissions}
    used = {r.entry_id for r in run.bank.reads}
    decisions = []
    for t in trace:
        eid = entry_of.get((t.team_idx, t.step_idx))
        decisions.append(Decision(t.team_idx, t.step_idx, t.x, t.admit, t.p_yes, eid,
                                  eid is not None and eid in used))
    rec = summary.record
    answered = [t.rec for t in run.teams if t.rec.status == "answered" and t.rec.answer]
    first = min(answered, key=lambda r: (r.t_end or 0.0, r.team_idx)) if answered else None
    return Episode(task.id, run.run_id, score(rec.answer, task.golds, cfg.reward_metric),
                   score(first.answer if first else None, task.golds, cfg.reward_metric),
                   decisions, em=float(rec.em or 0.0), runtime_s=float(rec.runtime_s or 0.0))


def score(answer: str | None, golds: list[str], metric: str) -> float:
    if not answer:
        return 0.0
    if metric == "em":
        from .scoring import exact_match

        return float(exact_match(answer, golds))
    return float(f1_score(answer, golds))


# -------------------------------------------------------------------------------------- trainer
def train(engine: Engine, config: TrainConfig | None = None, *, out: str | Path | None = None,
          resume: str | Path | None = None, progress: bool = False,
          stop_event: threading.Event | None = None,
          on_epoch: Callable[[TrainEpochRecord], None] | None = None, **overrides: Any) -> TrainResult:
    """Train a controller; returns where its checkpoint is. ``overrides`` set TrainConfig fields
    (``suite``, ``epochs``, ``tasks``, ``teams``, ``episodes``, ``seed``: what the dashboard passes)."""
    overrides.pop("store", None)
    cfg = config or TrainConfig()
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
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if opt_state:
        opt.load_state_dict(opt_state)
    path = Path(out) if out else engine.settings.db_path.parent / "checkpoints" / f"{train_id}.pt"
    source = _episode_source(engine, cfg)
    n_tasks = source.n_tasks
    t0, records = time.time(), []
    bar = _progress(progress, total=(cfg.epochs - start_epoch) * n_tasks * source.per_task,
                    desc=f"train {train_id}")
    for epoch in range(start_epoch, cfg.epochs):
        te = time.time()
        order = list(range(n_tasks))
        random.Random(derive_seed(cfg.seed, "order", epoch)).shuffle(order)
        eps_all, losses = [], []
        for b0 in range(0, n_tasks, cfg.batch_tasks):
            groups = [source.group(i, epoch, train_id, model)
                      for i in order[b0:b0 + cfg.batch_tasks]]
            groups = [g for g in groups if g]
            if bar:
                bar.update(sum(len(g) for g in groups))
            assign_credit(groups, cfg.credit)
            decisions = [d for g in groups for e in g for d in e.decisions]
            if decisions:
                model.train(True)
                loss, stats = policy_loss(model, decisions, cfg.credit)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                model.train(False)
                losses.append(stats["loss"])
            _record_decisions(engine, train_id, epoch, groups, len(eps_all))
            eps_all.extend(e for g in groups for e in g)
            if bar:
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses):.3f}" if losses else "-")
            if stop_event is not None and stop_event.is_set():
                break
        rec = _epoch_record(train_id, epoch + 1, eps_all, losses, time.time() - te, cfg)
        engine.store.write(rec)
        records.append(rec)
        meta = _meta(cfg, train_id, epoch + 1, model)
        save_checkpoint(path, model, optimizer=opt, meta=meta)
        write_sidecar(path, meta, records)
        if on_epoch:
            on_epoch(rec)
        if stop_event is not None and stop_event.is_set():
            break
    if bar:
        bar.close()
    engine.store.flush()
    return TrainResult(train_id, path, records, weights_sha(model), time.time() - t0)


def _meta(cfg: TrainConfig, train_id: str, epoch: int, model: AdmissionController) -> dict:
    from .engine import _redact

    return {"train_id": train_id, "epoch": epoch, "suite": cfg.suite,
            "train_config": _redact(cfg.to_dict()),
            "weights_sha": weights_sha(model), "saved_at": time.time()}


def write_sidecar(path: Path, meta: dict[str, Any], epochs: list[TrainEpochRecord]) -> Path:
    """``<checkpoint>.json``: the config that produced the checkpoint and its per-epoch metrics."""
    side = path.with_suffix(".json")
    rows = [{k: v for k, v in dataclasses.asdict(r).items() if k != "extra_json"}
            | {"extra": json.loads(r.extra_json)} for r in epochs]
    side.write_text(json.dumps({**meta, "epochs": rows}, indent=2, default=str) + "\n")
    return side


def _epoch_record(train_id: str, epoch: int, eps: list[Episode], losses: list[float], wall: float,
                  cfg: TrainConfig) -> TrainEpochRecord:
    decs = [d for e in eps for d in e.decisions]
    admitted = [d for d in decs if d.admit]
    extra = {"runtime_s": float(np.mean([e.runtime_s for e in eps])) if eps else 0.0,
             "decisions": len(decs), "r_agg": float(np.mean([e.r_agg for e in eps])) if eps else 0.0,
             "r_first": float(np.mean([e.r_first for e in eps])) if eps else 0.0,
             "mean_p_yes": float(np.mean([d.p_yes for d in decs])) if decs else 0.0,
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


class _EngineEpisodes:
    """Episodes played live on the engine (the default)."""

    def __init__(self, engine: Engine, cfg: TrainConfig) -> None:
        self.engine, self.cfg = engine, cfg
        suite = engine.suite(cfg.suite)
        self.tasks = suite.tasks[: cfg.tasks] if cfg.tasks else suite.tasks
        self.n_tasks, self.per_task = len(self.tasks), cfg.episodes

    def group(self, i: int, epoch: int, train_id: str, model: AdmissionController) -> list[Episode]:
        task = self.tasks[i]
        return [play_episode(self.engine, model, task, self.cfg,
                             derive_seed(self.cfg.seed, epoch, task.id, g) % (2 ** 31),
                             f"train-{train_id}") for g in range(self.cfg.episodes)]


def _episode_source(engine: Engine, cfg: TrainConfig):
    if cfg.episodes_from_db:
        from .offline_episodes import RecordedEpisodes

        return RecordedEpisodes(cfg.episodes_from_db, cfg, store=engine.store)
    return _EngineEpisodes(engine, cfg)


def _progress(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="ep", file=sys.stderr)
