"""Training episodes played live on the engine: one whole K-team run per episode.

``play_episode`` runs a task on the virtual executor with the live controller sampling YES/NO
(temperature T, epsilon exploration) and returns the traced decisions, which entries were fetched,
and the rewards. When the cost term is on, ``EngineEpisodes`` also plays ``none`` on the same task
and seed once (cached) for the runtime it is compared with.

Thread-safety: one training per engine at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .credit import Decision, Episode
from .engine import Engine, RunConfig, derive_seed
from .scoring import exact_match, f1_score
from .tasks import Task

if TYPE_CHECKING:
    from .controller import AdmissionController
    from .train import TrainConfig


def score(answer: str | None, golds: list[str], metric: str) -> float:
    """The reward's score of one answer: F1 or EM against the gold answers (0 for no answer)."""
    if not answer:
        return 0.0
    if metric == "em":
        return float(exact_match(answer, golds))
    return float(f1_score(answer, golds))


def play_episode(engine: Engine, model: AdmissionController, task: Task, cfg: TrainConfig,
                 seed: int, batch_id: str) -> Episode:
    """One whole K-team run with the live controller sampling; returns its decisions and rewards."""
    from .policies.learned import LearnedPolicy

    trace: list = []
    c = cfg.credit
    policy = LearnedPolicy(model=model, sample=True, temperature=c.temperature, epsilon=c.epsilon,
                           trace=trace)
    rc = RunConfig(teams=cfg.teams, policy="learned", backend=cfg.backend,
                   backend_options=dict(cfg.backend_options), executor="virtual",
                   max_steps=cfg.max_steps, seed=seed, embedder=cfg.embedder,
                   policy_options={"sample": True, "temperature": c.temperature,
                                   "epsilon": c.epsilon})
    run = engine.prepare_run(task, cfg.suite, rc, batch_id=batch_id, policy=policy)
    summary = engine.execute(run)
    entry_of = {(a.team_idx, a.step_idx): a.entry_id for a in run.admissions}
    used = {r.entry_id for r in run.bank.reads}
    decisions = []
    for t in trace:
        eid = entry_of.get((t.team_idx, t.step_idx))
        decisions.append(Decision(t.team_idx, t.step_idx, t.x, t.admit, t.p_yes, eid,
                                  eid is not None and eid in used, action=t.action,
                                  summary=t.summary))
    rec = summary.record
    answered = [t.rec for t in run.teams if t.rec.status == "answered" and t.rec.answer]
    first = min(answered, key=lambda r: (r.t_end or 0.0, r.team_idx)) if answered else None
    return Episode(task.id, run.run_id, score(rec.answer, task.golds, cfg.reward_metric),
                   score(first.answer if first else None, task.golds, cfg.reward_metric),
                   decisions, em=float(rec.em or 0.0), runtime_s=float(rec.runtime_s or 0.0))


class EngineEpisodes:
    """Episodes played live on the engine (the default source); tasks are the training slice."""

    def __init__(self, engine: Engine, cfg: TrainConfig) -> None:
        self.engine, self.cfg = engine, cfg
        self.tasks = cfg.training_tasks(engine.suite(cfg.suite).tasks)
        self.n_tasks, self.per_task = len(self.tasks), cfg.episodes
        self._ref: dict[tuple[str, int], float] = {}

    def group(self, i: int, epoch: int, train_id: str, model: AdmissionController) -> list[Episode]:
        task = self.tasks[i]
        out = []
        for g in range(self.cfg.episodes):
            seed = derive_seed(self.cfg.seed, epoch, task.id, g) % (2 ** 31)
            e = play_episode(self.engine, model, task, self.cfg, seed, f"train-{train_id}")
            if self.cfg.credit.cost_alpha:
                e.runtime_ref_s = self.reference_runtime(task, seed, train_id)
            out.append(e)
        return out

    def reference_runtime(self, task: Task, seed: int, train_id: str) -> float:
        """Runtime of ``none`` on this task and seed (played once, recorded as batch ``train-ID-ref``)."""
        key = (task.id, seed)
        if key not in self._ref:
            rc = RunConfig(teams=self.cfg.teams, policy="none", backend=self.cfg.backend,
                           backend_options=dict(self.cfg.backend_options), executor="virtual",
                           max_steps=self.cfg.max_steps, seed=seed, embedder=self.cfg.embedder)
            s = self.engine.run_task(task, self.cfg.suite, rc, batch_id=f"train-{train_id}-ref")
            self._ref[key] = max(1e-6, float(s.record.runtime_s or 0.0))
        return self._ref[key]


def episode_source(engine: Engine, cfg: TrainConfig):
    """Live episodes, or episodes rebuilt from a database of recorded runs (``episodes_from_db``)."""
    if cfg.episodes_from_db:
        from .offline_episodes import RecordedEpisodes

        return RecordedEpisodes(cfg.episodes_from_db, cfg, store=engine.store)
    return EngineEpisodes(engine, cfg)
