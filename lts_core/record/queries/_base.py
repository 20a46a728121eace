"""Shared pieces of the read model: the ``DB`` protocol, the run columns, value cleaning, and the
batches the engine and dashboard start for their own purposes."""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

import pandas as pd


class DB(Protocol):
    def query(self, sql: str, params: Any = None) -> pd.DataFrame: ...


RUN_COLS = ("run_id, batch_id, suite, task_id, question, gold, answer, policy, backend, executor, "
            "stop, teams, max_steps, seed, simulated, status, runtime_s, wall_s, em, f1, "
            "prompt_tokens, completion_tokens, cost_usd, created_at, finished_at, error, memory_on, "
            "speed")


# Batches the engine and the dashboard start for their own purposes: training episodes
# (lts_core.learning.episodes: "train-<id>"), threshold calibration (lts_core.learning.calibrate: "calib-..."), and the
# no-memory counterfactuals the dashboard plays (app.counterfactual: "cf-..."). Live never follows
# them and Compare hides them unless asked.
INTERNAL_BATCH_PREFIXES = ("train-", "calib-", "cf-")
_NOT_INTERNAL = " AND ".join(f"NOT starts_with(batch_id, '{p}')" for p in INTERNAL_BATCH_PREFIXES)


def is_internal_batch(batch_id: str | None) -> bool:
    return bool(batch_id) and str(batch_id).startswith(INTERNAL_BATCH_PREFIXES)



def decision_label(admitted: Any) -> str:
    """"admitted", "rejected", or "none" (the step had no admission decision): the one place the
    label is written."""
    if admitted is None or admitted is pd.NA or (isinstance(admitted, float) and math.isnan(admitted)):
        return "none"
    return "admitted" if bool(admitted) else "rejected"


def _has_table(db: DB, table: str) -> bool:
    """Whether the file has ``table`` (files written by older versions may lack newer tables)."""
    df = db.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [table])
    return bool(df.n.iloc[0])


def _loads(s: Any) -> dict[str, Any]:
    try:
        v = json.loads(s or "{}")
    except (TypeError, ValueError):
        return {}
    return v if isinstance(v, dict) else {}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """NaN / NA -> None, numpy scalars -> Python, so callers can test ``is None``."""
    out = {}
    for k, v in d.items():
        if v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out

