"""Training: trainings, their epochs and decisions, and a running training's progress."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lts_core.record.queries._base import DB, _clean


# -------------------------------------------------------------------------------- training
def recorded_runs(db: DB, source_filter: str = "") -> dict[str, pd.DataFrame]:
    """What off-line training rebuilds its episodes from: finished runs with admission decisions
    (and ``source_filter``, an SQL condition on runs), with their steps, decisions, entries, the
    entries some team read, and teams. Empty frames when no run qualifies."""
    where = "status = 'finished' AND run_id IN (SELECT DISTINCT run_id FROM admissions)"
    if source_filter:
        where += f" AND ({source_filter})"
    runs = db.query(f"SELECT run_id, task_id, question, gold, answer FROM runs WHERE {where} "
                    "ORDER BY task_id, created_at")
    ids = [list(runs.run_id)]
    of = "WHERE list_contains(?, run_id)"
    return {
        "runs": runs,
        "steps": db.query(f"SELECT run_id, team_idx, step_idx, u, s, o FROM steps {of}", ids),
        "admissions": db.query("SELECT run_id, team_idx, step_idx, score, admitted, t, entry_id "
                               f"FROM admissions {of} ORDER BY run_id, t", ids),
        "entries": db.query("SELECT run_id, entry_id, team_idx, step_idx, key, t_added FROM "
                            f"memory_entries {of}", ids),
        "reads": db.query(f"SELECT DISTINCT run_id, entry_id FROM memory_reads {of}", ids),
        "teams": db.query(f"SELECT run_id, team_idx, status, answer, t_end FROM teams {of}", ids),
    }


def train_runs(db: DB) -> pd.DataFrame:
    """One row per training: its recipe (as recorded by the trainer), epochs, episodes, wall time."""
    return db.query("SELECT train_id, any_value(json_extract_string(extra_json, '$.recipe')) "
                    "AS recipe, count(*) AS epochs, max(epoch) AS last_epoch, "
                    "sum(episodes) AS episodes, sum(wall_s) AS wall_s, min(created_at) AS created_at "
                    "FROM train_epochs GROUP BY train_id ORDER BY created_at DESC")


def train_epochs(db: DB, train_ids: list[str]) -> pd.DataFrame:
    return db.query("SELECT * FROM train_epochs WHERE list_contains(?, train_id) "
                    "ORDER BY train_id, epoch", [list(train_ids)])


def train_decisions_summary(db: DB, train_ids: list[str]) -> pd.DataFrame:
    """Per train id, epoch and usage: mean P(YES) and the share admitted."""
    return db.query("SELECT train_id, epoch, used, count(*) AS n, avg(p_yes) AS p_yes, "
                    "avg(admitted::INT) AS admitted FROM train_decisions "
                    "WHERE list_contains(?, train_id) GROUP BY ALL ORDER BY ALL", [list(train_ids)])



def training_progress(db: DB, since: float, train_id: str | None = None) -> dict[str, Any]:
    """Episodes a training started at ``since`` has played (its ``train-<id>`` runs; the reference
    ``none`` runs excluded), and its newest epoch row."""
    where = "batch_id = ?" if train_id else "starts_with(batch_id, 'train-')"
    params: list[Any] = [f"train-{train_id}"] if train_id else []
    df = db.query(f"SELECT count(*) AS n, count(*) FILTER (WHERE status = 'running') AS running "
                  f"FROM runs WHERE {where} AND NOT ends_with(batch_id, '-ref') AND created_at >= ?",
                  [*params, float(since) - 1.0])
    out: dict[str, Any] = {"episodes": int(df.n.iloc[0]), "running": int(df.running.iloc[0])}
    if train_id:
        ep = db.query("SELECT * FROM train_epochs WHERE train_id = ? ORDER BY epoch DESC LIMIT 1",
                      [train_id])
        out["last_epoch"] = None if ep.empty else _clean(ep.iloc[0].to_dict())
    return out
