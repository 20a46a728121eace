"""Training episodes rebuilt from runs recorded in DuckDB (e.g. runs with a real LLM back-end).

Each finished run with admission decisions is one episode; runs of the same task form a group. For
every decision the controller's input is rebuilt from the record: the question, the keys in the
bank at the decision's clock time (entries added at or before it, the step's own entry excluded),
and the step's u, s, o. The logged decision is the action, so this is off-policy REINFORCE with the
behaviour policy's choices (no importance weights: the recorded policy may not have probabilities).
Rewards come from the recorded answers: R_agg from the run's answer, R_first from the team that
answered first. Usage comes from ``memory_reads``.

Thread-safety: used by one training at a time.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lts_core.learning.credit import Episode
from lts_core.policies.controller import DecisionInput
from lts_core.policies.trace import Decision
from lts_core.record.queries.training import recorded_runs
from lts_core.world.embeddings import get_embedder
from lts_core.world.grounding import support

if TYPE_CHECKING:
    from lts_core.learning.train_config import TrainConfig


class RecordedEpisodes:
    def __init__(self, db_path: str | Path, cfg: TrainConfig, store=None) -> None:
        from lts_core.record.store import Store
        from lts_core.scoring import score_answer as score

        self.cfg = cfg
        path = Path(db_path)
        if not path.is_file():
            raise ValueError(f"--from-db: no database file {path}")
        own = store is not None and Path(store.path).resolve() == path.resolve()
        src = store if own else Store(path, read_only=True)
        try:
            self.groups = self._load(src, cfg, score)
        finally:
            if not own:
                src.close()
        if not self.groups:
            raise ValueError(f"no usable recorded runs in {path}"
                             + (f" matching {cfg.source_filter!r}" if cfg.source_filter else "")
                             + ": they need status 'finished', admission decisions, and (with group "
                             "normalisation) at least 2 runs of the same task")
        self.n_tasks = len(self.groups)
        self.per_task = max(len(g) for g in self.groups)

    def group(self, i: int, epoch: int, train_id: str, model=None) -> list[Episode]:
        return self.groups[i]

    @staticmethod
    def _load(src, cfg: TrainConfig, score) -> list[list[Episode]]:
        rec = recorded_runs(src, cfg.source_filter)  # the read model's query
        runs = rec["runs"]
        if runs.empty:
            return []
        steps, adms, ents = rec["steps"], rec["admissions"], rec["entries"]
        reads, teams = rec["reads"], rec["teams"]
        emb = get_embedder(cfg.embedder)
        step_of = {(r.run_id, r.team_idx, r.step_idx): r for r in steps.itertuples()}
        used = defaultdict(set)
        for r in reads.itertuples():
            used[r.run_id].add(int(r.entry_id))
        by_task: dict[str, list[Episode]] = defaultdict(list)
        for run in runs.itertuples():
            rid = run.run_id
            e_run = ents[ents.run_id == rid]
            key_vecs = emb.encode(list(e_run.key)) if len(e_run) else np.zeros((0, 384), np.float32)
            q = emb.one(run.question)
            decisions = []
            for a in adms[adms.run_id == rid].itertuples():
                st = step_of.get((rid, a.team_idx, a.step_idx))
                if st is None:
                    continue
                visible = ((e_run.t_added <= a.t) & ~((e_run.team_idx == a.team_idx)
                                                       & (e_run.step_idx == a.step_idx))).to_numpy()
                u, s, o = emb.encode([st.u or "(none)", st.s, st.o or "(empty)"])
                eid = None if a.entry_id != a.entry_id or a.entry_id is None else int(a.entry_id)
                decisions.append(Decision(int(a.team_idx), int(a.step_idx),
                                          DecisionInput(q, key_vecs[visible], u, s, o,
                                                        support(st.s, st.o or "")),
                                          bool(a.admitted), float(a.score), eid,
                                          eid is not None and eid in used[rid]))
            tm = teams[(teams.run_id == rid) & (teams.status == "answered")].sort_values(["t_end", "team_idx"])
            first = tm.iloc[0].answer if len(tm) else None
            golds = [run.gold]
            by_task[run.task_id].append(Episode(run.task_id, rid, score(run.answer, golds, cfg.reward_metric),
                                                score(first, golds, cfg.reward_metric), decisions,
                                                em=score(run.answer, golds, "em")))
        min_runs = 2 if cfg.credit.group_norm else 1
        return [g for g in by_task.values() if len(g) >= min_runs and any(e.decisions for e in g)]
