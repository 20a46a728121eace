"""Where training episodes come from: ``episode_source(engine, cfg)`` picks one.

- ``EngineEpisodes`` (``episodes``): played live on this process's engine, one after another;
- ``RayEpisodes`` (here): the same episodes played on Ray workers (``lts_core.scale.pool``);
- ``RecordedEpisodes`` (``offline_episodes``): rebuilt from a database of recorded runs.

Thread-safety: one training per engine at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lts_core.learning.credit import Episode
from lts_core.learning.episodes import EngineEpisodes, episode_config
from lts_core.runtime.engine import Engine

if TYPE_CHECKING:
    from lts_core.learning.train_config import TrainConfig
    from lts_core.policies.controller import AdmissionController


class RayEpisodes(EngineEpisodes):
    """Live episodes played on Ray workers (``workers > 1`` or ``ray_address``; lts_core.scale.pool).

    The same episodes as ``EngineEpisodes``: seeds from the training seed, the G episodes of each
    task of a gradient step played in parallel with that step's weights (sent once, ``ray.put``),
    and handed back in the sequential order, so 1 or N workers write the same weights. Their runs'
    records are written by the driver's store. A config holding a secret is refused before Ray
    starts (``refuse_secrets``). An episode lost with its worker twice stops the training (a gap
    would change the gradient); Ctrl-C records the episodes in flight ``interrupted``, as the
    sequential path does; ``close()`` shuts the workers down."""

    def __init__(self, engine: Engine, cfg: TrainConfig) -> None:
        from lts_core.scale.pool import ScaleOptions, WorkerPool, refuse_secrets
        from lts_core.scale.worker import Warm

        refuse_secrets([cfg])  # the config travels with every episode: no key may be in it
        super().__init__(engine, cfg)
        warm = Warm(cfg.suite, (True,), (cfg.embedder,))  # episodes search the pool
        self.pool = WorkerPool(ScaleOptions.of(cfg), engine.settings, warm)
        self.version = 0

    def close(self) -> None:
        self.pool.close()

    def play_groups(self, indices: list[int], epoch: int, train_id: str,
               model: AdmissionController) -> list[list[Episode]]:
        import ray

        from lts_core.scale.pool import INTERRUPTED, MAX_ATTEMPTS, LostAttempts, ScaleError, replay
        from lts_core.scale.worker import EpisodeJob

        self.version += 1
        weights = ray.put(model.state_dict())  # once per gradient step, read by every worker
        G, cost = self.cfg.episodes, bool(self.cfg.credit.cost_alpha)
        keys = [(self.tasks[i], self.seed(self.tasks[i], epoch, g)) for i in indices for g in range(G)]
        jobs = [EpisodeJob(t.id, seed, train_id, self.cfg, cost and (t.id, seed) not in self._ref)
                for t, seed in keys]
        eps: list[Episode | None] = [None] * len(jobs)
        store = self.engine.store
        lost = LostAttempts(store, self.cfg.suite, f"train-{train_id}")

        def on_result(j: int, r) -> None:
            replay(store, r.ops)
            lost.link(j, r.episode.run_id)
            if r.reference_runtime_s is not None:
                self._ref[(keys[j][0].id, keys[j][1])] = r.reference_runtime_s
            eps[j] = r.episode

        def on_lost(j: int, attempt: int, e: BaseException) -> None:
            t, seed = keys[j]
            lost.lost(j, t, episode_config(self.cfg, seed), attempt, e)
            if attempt >= MAX_ATTEMPTS:
                raise ScaleError(f"training episode {j} of task {t.id} (seed {seed}) was lost with "
                                 "its worker twice; the last finished epoch's checkpoint can be "
                                 "resumed (--resume)")

        try:
            self.pool.run([("episode", (job, self.version, [weights])) for job in jobs],
                          on_result, on_lost, keys=[job.task_id for job in jobs])
        except KeyboardInterrupt:  # as in sequential training, the episodes in flight (and
            # retries not yet played) are recorded interrupted
            left = sorted(set(self.pool.inflight()) | {j for j in lost.open if eps[j] is None})
            lost.unplayed(((j, keys[j][0], episode_config(self.cfg, keys[j][1])) for j in left),
                          "interrupted", INTERRUPTED)
            raise
        except ScaleError as e:  # training stops: a retry never played is a failed run
            left = sorted(j for j in lost.open if eps[j] is None)
            lost.unplayed(((j, keys[j][0], episode_config(self.cfg, keys[j][1])) for j in left),
                          "failed", f"its retry could not be played: {e}")
            raise
        out = []
        for n in range(len(indices)):
            group = [e for e in eps[n * G:(n + 1) * G] if e is not None]
            for e, (t, seed) in zip(group, keys[n * G:(n + 1) * G], strict=True):
                if cost:
                    e.runtime_ref_s = self._ref[(t.id, seed)]
            out.append(group)
        return out


def episode_source(engine: Engine, cfg: TrainConfig):
    """Live episodes (on Ray workers when ``cfg.workers > 1`` or ``cfg.ray_address``), or episodes
    rebuilt from a database of recorded runs (``episodes_from_db``)."""
    if cfg.episodes_from_db:
        from lts_core.learning.offline_episodes import RecordedEpisodes

        return RecordedEpisodes(cfg.episodes_from_db, cfg, store=engine.store)
    if cfg.workers > 1 or cfg.ray_address:
        return RayEpisodes(engine, cfg)
    return EngineEpisodes(engine, cfg)
