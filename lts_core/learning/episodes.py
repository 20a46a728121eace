"""Training episodes played live on the engine: one whole K-team run per episode.

``play_episode`` runs a task on the virtual executor with the live controller sampling YES/NO
(temperature T, epsilon exploration) and returns the traced decisions, which entries were fetched,
and the rewards. When the cost term is on, ``EngineEpisodes`` also plays ``none`` on the same task
and seed once (cached) for the runtime it is compared with.

``RayEpisodes`` (``episode_sources``) plays the same episodes on Ray workers.

Thread-safety: one training per engine at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lts_core.learning.credit import Episode
from lts_core.policies.trace import Decision
from lts_core.registry import baseline_policy
from lts_core.runtime.engine import Engine, RunConfig, derive_seed
from lts_core.scoring import score_answer as score
from lts_core.world.tasks import Task

if TYPE_CHECKING:
    from lts_core.learning.train_config import TrainConfig
    from lts_core.policies.controller import AdmissionController
    from lts_core.record.records import MemoryReadRecord
    from lts_core.world.memory import MemoryEntry


def episode_config(cfg: TrainConfig, seed: int, policy: str = "learned") -> RunConfig:
    """The run settings of a training episode (``learned``, sampling) or of its ``none`` reference."""
    c = cfg.credit
    opts = ({"sample": True, "temperature": c.temperature, "epsilon": c.epsilon}
            if policy == "learned" else {})
    return RunConfig(teams=cfg.teams, policy=policy, policy_options=opts, backend=cfg.backend,
                     backend_options=dict(cfg.backend_options), executor="virtual",
                     max_steps=cfg.max_steps, seed=seed, embedder=cfg.embedder)


def play_episode(engine: Engine, model: AdmissionController, task: Task, cfg: TrainConfig,
                 seed: int, batch_id: str) -> Episode:
    """One whole K-team run with the live controller sampling; returns its decisions and rewards."""
    from lts_core.policies.learned import LearnedPolicy

    trace: list[Decision] = []
    c = cfg.credit
    policy = LearnedPolicy(model=model, sample=True, temperature=c.temperature, epsilon=c.epsilon,
                           trace=trace)
    run = engine.prepare_run(task, cfg.suite, episode_config(cfg, seed), batch_id=batch_id,
                             policy=policy)
    summary = engine.execute(run)
    entry_of = {(a.team_idx, a.step_idx): a.entry_id for a in run.admissions}
    reads = run.bank.reads
    used = {r.entry_id for r in reads}
    answers = {t.rec.team_idx: t.rec.answer for t in run.teams}
    misled = misleading_entries(run.bank.keys_at(), reads, task, answers)
    for d in trace:  # what became of each decision: its entry, whether a team fetched it, harm
        d.entry_id = entry_of.get((d.team_idx, d.step_idx))
        d.used = d.entry_id is not None and d.entry_id in used
        d.misled = d.entry_id is not None and d.entry_id in misled
    rec = summary.record
    answered = [t.rec for t in run.teams if t.rec.status == "answered" and t.rec.answer]
    first = min(answered, key=lambda r: (r.t_end or 0.0, r.team_idx)) if answered else None
    return Episode(task.id, run.run_id, score(rec.answer, task.golds, cfg.reward_metric),
                   score(first.answer if first else None, task.golds, cfg.reward_metric),
                   trace, em=float(rec.em or 0.0), runtime_s=float(rec.runtime_s or 0.0))


def misleading_entries(entries: list[MemoryEntry], reads: list[MemoryReadRecord], task: Task,
                       answers: dict[int, str | None]) -> set[int]:
    """Ids of entries whose content was wrong (``harm.judge``: an answer entry is judged on its
    producing team's final answer, so any back-end counts) and that another team fetched."""
    from lts_core.record.harm import judge

    crossed = {r.entry_id for r in reads if r.cross_team}
    return {e.entry_id for e in entries if e.entry_id in crossed
            and judge(e.action, answers.get(e.team_idx), e.payload, task.answer, False)[0]}


class EngineEpisodes:
    """Episodes played live on the engine (the default source); tasks are the training slice."""

    def __init__(self, engine: Engine, cfg: TrainConfig) -> None:
        self.engine, self.cfg = engine, cfg
        self.tasks = cfg.training_tasks(engine.suite(cfg.suite).tasks)
        self.n_tasks, self.per_task = len(self.tasks), cfg.episodes
        self._ref: dict[tuple[str, int], float] = {}

    def seed(self, task: Task, epoch: int, g: int) -> int:
        """The seed of episode ``g`` of ``task`` in ``epoch``: from the training seed only."""
        return derive_seed(self.cfg.seed, epoch, task.id, g) % (2 ** 31)

    def play_groups(self, indices: list[int], epoch: int, train_id: str,
               model: AdmissionController) -> list[list[Episode]]:
        """The G episodes of each task of ``indices``, in that order (one gradient step's play)."""
        return [self.group(i, epoch, train_id, model) for i in indices]

    def close(self) -> None:
        """Nothing to release here (``RayEpisodes`` shuts its workers down)."""

    def group(self, i: int, epoch: int, train_id: str, model: AdmissionController) -> list[Episode]:
        task = self.tasks[i]
        out = []
        for g in range(self.cfg.episodes):
            seed = self.seed(task, epoch, g)
            e = play_episode(self.engine, model, task, self.cfg, seed, f"train-{train_id}")
            if self.cfg.credit.cost_alpha:
                e.runtime_ref_s = self.reference_runtime(task, seed, train_id)
            out.append(e)
        return out

    def reference_runtime(self, task: Task, seed: int, train_id: str) -> float:
        """Runtime of ``none`` on this task and seed (played once, recorded as batch ``train-ID-ref``)."""
        key = (task.id, seed)
        if key not in self._ref:
            s = self.engine.run_task(task, self.cfg.suite, episode_config(self.cfg, seed, baseline_policy()),
                                     batch_id=f"train-{train_id}-ref")
            self._ref[key] = max(1e-6, float(s.record.runtime_s or 0.0))
        return self._ref[key]
