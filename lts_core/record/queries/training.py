"""Training: trainings, their epochs and decisions, and a running training's progress."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lts_core.record.queries._base import DB, _clean


# -------------------------------------------------------------------------------- training
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
