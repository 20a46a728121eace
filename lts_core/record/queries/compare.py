"""Compare: batches of runs and one row of figures per run."""

from __future__ import annotations

import pandas as pd

from lts_core.record.queries._base import _NOT_INTERNAL, DB
from lts_core.record.queries.steps import web_calls_avoided


# --------------------------------------------------------------------------------- compare
def _batch_where(internal: bool) -> str:
    return "batch_id <> ''" + ("" if internal else f" AND {_NOT_INTERNAL}")


def batches(db: DB, limit: int = 25, offset: int = 0, *, internal: bool = False) -> pd.DataFrame:
    """Batches (runs started together), newest first; training / calibration / counterfactual
    batches only with ``internal``."""
    return db.query(
        "SELECT batch_id, count(*) AS runs, string_agg(DISTINCT policy, ', ') AS policies, "
        "string_agg(DISTINCT suite, ', ') AS suites, count(DISTINCT task_id) AS tasks, "
        "count(DISTINCT seed) AS seeds, bool_or(simulated) AS simulated, "
        "count(*) FILTER (WHERE status = 'running') AS running, min(created_at) AS created_at "
        f"FROM runs WHERE {_batch_where(internal)} GROUP BY batch_id ORDER BY created_at DESC "
        "LIMIT ? OFFSET ?", [int(limit), int(offset)])


def count_batches(db: DB, *, internal: bool = False) -> int:
    return int(db.query(f"SELECT count(DISTINCT batch_id) AS n FROM runs "
                        f"WHERE {_batch_where(internal)}").n.iloc[0])


def run_ids_of_batches(db: DB, batch_ids: list[str]) -> list[str]:
    """The runs of these batches that are results: an attempt lost with its Ray worker and played
    again (status ``retried``, its error names the retry) is left out; ``lts runs`` still lists it."""
    df = db.query("SELECT run_id FROM runs WHERE list_contains(?, batch_id) AND status != 'retried'",
                  [list(batch_ids)])
    return [str(x) for x in df.run_id]


def run_metrics(db: DB, run_ids: list[str]) -> pd.DataFrame:
    """One row per run with everything Compare, ``lts run`` and the benches show (steps, calls,
    reads, admission, tokens, ...): the one definition of each count over the record."""
    from lts_core.record.harm import has_planted  # older files have no planted column

    ids = list(run_ids)
    planted = "count(*) FILTER (WHERE planted)" if has_planted(db) else "0"
    df = db.query(
        "SELECT r.run_id, r.batch_id, r.policy, r.suite, r.task_id, r.seed, r.teams, r.backend, "
        "r.simulated, r.status, r.runtime_s, r.wall_s, r.em, r.f1, r.created_at, r.cost_usd, "
        "r.prompt_tokens + r.completion_tokens AS tokens, coalesce(s.steps, 0) AS steps, "
        "coalesce(s.web_calls, 0) AS web_calls, coalesce(s.read_steps, 0) AS read_steps, "
        "coalesce(a.decisions, 0) AS decisions, coalesce(a.admitted, 0) AS admitted, "
        "coalesce(a.decide_ms, 0.0) AS decide_ms, coalesce(m.reads, 0) AS reads, "
        "coalesce(m.cross_reads, 0) AS cross_reads, coalesce(m.entries_read, 0) AS entries_read, "
        "coalesce(e.entries, 0) AS entries, coalesce(e.planted, 0) AS planted, "
        "coalesce(t.tool_calls, 0) AS tool_calls, "
        "coalesce(c.llm_calls, 0) AS llm_calls "
        "FROM runs r "
        "LEFT JOIN (SELECT run_id, count(*) AS steps, count(*) FILTER (WHERE action IN "
        "  ('search','open')) AS web_calls, count(*) FILTER (WHERE action = 'memory_read') AS "
        "  read_steps FROM steps WHERE list_contains($ids, run_id) GROUP BY run_id) s USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS decisions, count(*) FILTER (WHERE admitted) AS "
        "  admitted, sum(decide_ms) AS decide_ms FROM admissions WHERE list_contains($ids, run_id) GROUP BY run_id) a USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS reads, count(*) FILTER (WHERE cross_team) AS "
        "  cross_reads, count(DISTINCT entry_id) AS entries_read FROM memory_reads WHERE list_contains($ids, run_id) GROUP BY run_id) m "
        "  USING (run_id) "
        f"LEFT JOIN (SELECT run_id, count(*) AS entries, {planted} AS planted FROM memory_entries WHERE "
        "  list_contains($ids, run_id) GROUP BY run_id) e USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS tool_calls FROM tool_calls WHERE "
        "  list_contains($ids, run_id) GROUP BY run_id) t USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS llm_calls FROM llm_calls WHERE "
        "  list_contains($ids, run_id) GROUP BY run_id) c USING (run_id) "
        "WHERE list_contains($ids, r.run_id) ORDER BY r.created_at", {"ids": ids})
    av = web_calls_avoided(db, ids)
    df = df.merge(av, on="run_id", how="left")
    df["web_calls_avoided"] = df.web_calls_avoided.fillna(0).astype(int)
    df["tool_s_avoided"] = df.tool_s_avoided.fillna(0.0)
    df["net_saved"] = df.web_calls_avoided - df.read_steps
    df["admission_rate"] = df.admitted / df.decisions.where(df.decisions > 0)
    return df


