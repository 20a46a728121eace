"""Runs: lists, one run, its teams, what its policy was compared with, its no-sharing twin."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from lts_core import registry
from lts_core.record.queries._base import _NOT_INTERNAL, DB, RUN_COLS, _clean


# ------------------------------------------------------------------------------------ runs
def _run_filters(suite: str | None, policy: str | None, status: str | None, search: str,
                 batch: str | None, internal: bool = True) -> tuple[str, list[Any]]:
    where, params = ([] if internal else [_NOT_INTERNAL]), []
    for col, val in (("suite", suite), ("policy", policy), ("status", status), ("batch_id", batch)):
        if val:
            where.append(f"{col} = ?")
            params.append(val)
    if search.strip():
        where.append("(run_id ILIKE ? OR task_id ILIKE ? OR question ILIKE ?)")
        params += [f"%{search.strip()}%"] * 3
    return (" WHERE " + " AND ".join(where)) if where else "", params


def list_runs(db: DB, *, suite: str | None = None, policy: str | None = None,
              status: str | None = None, search: str = "", batch: str | None = None,
              limit: int = 25, offset: int = 0, internal: bool = True) -> pd.DataFrame:
    """One page of runs, newest first; training, calibration and counterfactual runs only with
    ``internal``."""
    where, params = _run_filters(suite, policy, status, search, batch, internal)
    return db.query(f"SELECT {RUN_COLS} FROM runs{where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
                    [*params, int(limit), int(offset)])


def count_runs(db: DB, *, suite: str | None = None, policy: str | None = None,
               status: str | None = None, search: str = "", batch: str | None = None,
               internal: bool = True) -> int:
    where, params = _run_filters(suite, policy, status, search, batch, internal)
    return int(db.query(f"SELECT count(*) AS n FROM runs{where}", params).n.iloc[0])


def distinct(db: DB, column: str, table: str = "runs") -> list[str]:
    """Sorted distinct values of a column (for filter widgets)."""
    df = db.query(f"SELECT DISTINCT {column} AS v FROM {table} WHERE {column} IS NOT NULL ORDER BY 1")
    return [str(v) for v in df.v]


def get_run(db: DB, run_id: str | None, *, error_detail: bool = False) -> dict[str, Any] | None:
    """One run's row (its config as JSON text); with ``error_detail``, the failure's full text
    (a traceback, masked of secrets on write) too."""
    if not run_id:
        return None
    extra = ", error_detail" if error_detail else ""
    df = db.query(f"SELECT {RUN_COLS}, config_json{extra} FROM runs WHERE run_id = ?", [run_id])
    return None if df.empty else _clean(df.iloc[0].to_dict())



def latest_run_id(db: DB, *, running_first: bool = True, internal: bool = False) -> str | None:
    """The newest run (a running one first); training, calibration and counterfactual runs only
    with ``internal``."""
    order = "status = 'running' DESC, created_at DESC" if running_first else "created_at DESC"
    where = "" if internal else f" WHERE {_NOT_INTERNAL}"
    df = db.query(f"SELECT run_id FROM runs{where} ORDER BY {order} LIMIT 1")
    return None if df.empty else str(df.run_id.iloc[0])


def memory_on(run: dict[str, Any]) -> bool:
    """Whether the run's teams had a bank: the recorded ``memory_on`` column (the registry's
    answer for the policy, for runs recorded before that column)."""
    if run.get("memory_on") is not None:
        return bool(run["memory_on"])
    return registry.uses_memory(str(run.get("policy") or ""))


def score_label(run: dict[str, Any]) -> str:
    """What the run's admission score measures, in words (from the policy registry)."""
    return registry.score_label(str(run.get("policy") or ""))


def policy_threshold(db: DB, run: dict[str, Any]) -> float | None:
    """The threshold the run's decisions were compared with (None when memory was off or no
    decision was a threshold). Runs without a recorded decision yet (just started, or recorded
    before the column) fall back to the policy's settings recorded with the run."""
    if not memory_on(run):
        return None
    th = db.query("SELECT any_value(threshold) AS th FROM admissions WHERE run_id = ? AND "
                  "threshold IS NOT NULL", [run["run_id"]]).th.iloc[0]
    if th is not None and th == th:
        return float(th)
    try:
        th = json.loads(run.get("config_json") or "{}").get("policy", {}).get("threshold")
    except (TypeError, ValueError):
        return None
    return float(th) if isinstance(th, int | float) else None


def teams(db: DB, run_id: str) -> pd.DataFrame:
    return db.query("SELECT team_idx, status, answer, steps, t_start, t_end, em, f1, error, "
                    "prompt_tokens + completion_tokens AS tokens FROM teams WHERE run_id = ? "
                    "ORDER BY team_idx", [run_id])



def counterfactual(db: DB, run: dict[str, Any]) -> dict[str, Any] | None:
    """The newest recorded run of the same task, seed, K, back-end, step budget and stop rule with
    a memory-off policy (the no-sharing baseline), or None."""
    off = registry.memory_off_policies()
    df = db.query(
        f"SELECT {RUN_COLS} FROM runs WHERE suite = ? AND task_id = ? AND seed = ? AND teams = ? "
        "AND backend = ? AND max_steps = ? AND stop = ? AND list_contains(?, policy) "
        "AND run_id <> ? ORDER BY status = 'finished' DESC, created_at DESC LIMIT 1",
        [run["suite"], run["task_id"], int(run["seed"]), int(run["teams"]), run["backend"],
         int(run["max_steps"]), run["stop"], off, run["run_id"]])
    return None if df.empty else _clean(df.iloc[0].to_dict())



def db_summary(db: DB) -> dict[str, int]:
    df = db.query("SELECT (SELECT count(*) FROM runs) AS runs, "
                  f"(SELECT count(*) FROM runs WHERE NOT ({_NOT_INTERNAL})) AS internal, "
                  "(SELECT count(*) FROM runs WHERE status = 'running') AS running, "
                  "(SELECT count(*) FROM steps) AS steps, "
                  "(SELECT count(DISTINCT train_id) FROM train_epochs) AS trainings")
    return {k: int(v) for k, v in df.iloc[0].items()}

