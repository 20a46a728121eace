"""Every read the dashboard makes: SQL over the DuckDB record, returned as DataFrames.

Each function takes ``db``, anything with ``query(sql, params) -> DataFrame`` (a ``lts_core.Store``;
its reads run on a fresh cursor and are safe from any thread, also while a run is writing).
No Streamlit here: pages call these, components draw what they return.

Definitions used on several pages (the UI help repeats them):
- *cross-team read*: a team fetched an entry another team produced.
- *web calls avoided*: distinct (reader team, entry) pairs of cross-team reads of an entry produced
  by a web step (search / open) where the reader team never runs that same call itself (same
  action and argument, before or after the read). Each counts as one tool call avoided, worth the
  producer's modelled tool latency. Argument matching is exact (case and spaces aside), so a
  search redone with other words still counts as avoided: read it as an upper bound.
- *net steps saved*: web calls avoided minus memory-read steps taken (a read is a step too).
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

import pandas as pd


class DB(Protocol):
    def query(self, sql: str, params: Any = None) -> pd.DataFrame: ...


RUN_COLS = ("run_id, batch_id, suite, task_id, question, gold, answer, policy, backend, executor, "
            "stop, teams, max_steps, seed, simulated, status, runtime_s, wall_s, em, f1, "
            "prompt_tokens, completion_tokens, cost_usd, created_at, finished_at, error")


# ------------------------------------------------------------------------------------ runs
def _run_filters(suite: str | None, policy: str | None, status: str | None, search: str,
                 batch: str | None) -> tuple[str, list[Any]]:
    where, params = [], []
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
              limit: int = 25, offset: int = 0) -> pd.DataFrame:
    """One page of runs, newest first."""
    where, params = _run_filters(suite, policy, status, search, batch)
    return db.query(f"SELECT {RUN_COLS} FROM runs{where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
                    [*params, int(limit), int(offset)])


def count_runs(db: DB, *, suite: str | None = None, policy: str | None = None,
               status: str | None = None, search: str = "", batch: str | None = None) -> int:
    where, params = _run_filters(suite, policy, status, search, batch)
    return int(db.query(f"SELECT count(*) AS n FROM runs{where}", params).n.iloc[0])


def distinct(db: DB, column: str, table: str = "runs") -> list[str]:
    """Sorted distinct values of a column (for filter widgets)."""
    df = db.query(f"SELECT DISTINCT {column} AS v FROM {table} WHERE {column} IS NOT NULL ORDER BY 1")
    return [str(v) for v in df.v]


def get_run(db: DB, run_id: str | None) -> dict[str, Any] | None:
    if not run_id:
        return None
    df = db.query(f"SELECT {RUN_COLS}, config_json FROM runs WHERE run_id = ?", [run_id])
    return None if df.empty else _clean(df.iloc[0].to_dict())


# Batches the engine and the dashboard start for their own purposes: training episodes
# (lts_core.episodes: "train-<id>"), threshold calibration (lts_core.calibrate: "calib-..."), and the
# no-memory counterfactuals the dashboard plays (app.counterfactual: "cf-..."). Live never follows
# them and Compare hides them unless asked.
INTERNAL_BATCH_PREFIXES = ("train-", "calib-", "cf-")
_NOT_INTERNAL = " AND ".join(f"NOT starts_with(batch_id, '{p}')" for p in INTERNAL_BATCH_PREFIXES)


def is_internal_batch(batch_id: str | None) -> bool:
    return bool(batch_id) and str(batch_id).startswith(INTERNAL_BATCH_PREFIXES)


def latest_run_id(db: DB, *, running_first: bool = True, internal: bool = False) -> str | None:
    """The newest run (a running one first); training, calibration and counterfactual runs only
    with ``internal``."""
    order = "status = 'running' DESC, created_at DESC" if running_first else "created_at DESC"
    where = "" if internal else f" WHERE {_NOT_INTERNAL}"
    df = db.query(f"SELECT run_id FROM runs{where} ORDER BY {order} LIMIT 1")
    return None if df.empty else str(df.run_id.iloc[0])


def memory_on(run: dict[str, Any]) -> bool:
    """Whether the run's policy gives teams a bank (asked of the policy registry)."""
    from lts_core.policies import uses_memory

    return uses_memory(str(run.get("policy") or ""))


def score_label(run: dict[str, Any]) -> str:
    """What the run's admission score measures, in words (from the policy registry)."""
    from lts_core.policies import score_label as label

    return label(str(run.get("policy") or ""))


def policy_threshold(run: dict[str, Any]) -> float | None:
    """The admission threshold the run's policy recorded (None when memory was off)."""
    if not memory_on(run):
        return None
    try:
        th = json.loads(run.get("config_json") or "{}").get("policy", {}).get("threshold")
    except (TypeError, ValueError):
        return None
    return float(th) if isinstance(th, int | float) else None


def teams(db: DB, run_id: str) -> pd.DataFrame:
    return db.query("SELECT team_idx, status, answer, steps, t_start, t_end, em, f1, error, "
                    "prompt_tokens + completion_tokens AS tokens FROM teams WHERE run_id = ? "
                    "ORDER BY team_idx", [run_id])


# ----------------------------------------------------------------------------------- steps
def steps(db: DB, run_id: str) -> pd.DataFrame:
    """Steps without their long texts, with the admission decision and how often the entry was read."""
    df = db.query(
        "SELECT s.team_idx, s.step_idx, s.action, s.arg, s.s, s.t_start, s.t_end, s.llm_s, "
        "s.tool_s, s.prompt_tokens + s.completion_tokens AS tokens, s.keys_visible, s.entry_id, "
        "a.score, a.admitted, coalesce(r.n_reads, 0) AS n_reads "
        "FROM steps s LEFT JOIN admissions a USING (run_id, team_idx, step_idx) "
        "LEFT JOIN (SELECT entry_id, count(*) AS n_reads FROM memory_reads WHERE run_id = ? "
        "GROUP BY entry_id) r ON r.entry_id = s.entry_id "
        "WHERE s.run_id = ? ORDER BY s.t_start, s.team_idx", [run_id, run_id])
    df["decision"] = [_decision(v) for v in df.admitted.astype(object)]
    return df


def _decision(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "none"
    return "admitted" if bool(v) else "rejected"


def step_detail(db: DB, run_id: str, team_idx: int, step_idx: int) -> dict[str, Any] | None:
    """Everything about one step: (u, s, o), its decision, nearest keys, and who read its entry."""
    df = db.query("SELECT * FROM steps WHERE run_id = ? AND team_idx = ? AND step_idx = ?",
                  [run_id, int(team_idx), int(step_idx)])
    if df.empty:
        return None
    out = _clean(df.iloc[0].to_dict())
    adm = db.query("SELECT policy, score, admitted, t, features_json, decide_ms FROM admissions "
                   "WHERE run_id = ? AND team_idx = ? AND step_idx = ?",
                   [run_id, int(team_idx), int(step_idx)])
    out["admission"] = None
    out["nearest"] = pd.DataFrame(columns=["entry_id", "cosine", "key", "team_idx", "step_idx"])
    if not adm.empty:
        a = _clean(adm.iloc[0].to_dict())
        feats = _loads(a.pop("features_json"))
        a["reason"] = feats.get("reason", "")
        a["features"] = {k: v for k, v in feats.items() if k not in ("reason", "nearest")}
        out["admission"] = a
        near = feats.get("nearest") or []
        if near:
            nd = pd.DataFrame(near, columns=["entry_id", "cosine"])
            keys = db.query("SELECT entry_id, key, team_idx, step_idx FROM memory_entries "
                            "WHERE run_id = ?", [run_id])
            out["nearest"] = nd.merge(keys, on="entry_id", how="left")
    out["readers"] = pd.DataFrame(columns=["reader_team", "reader_step", "t", "cross_team"])
    if out.get("entry_id") is not None:
        out["readers"] = db.query(
            "SELECT reader_team, reader_step, t, cross_team, similarity FROM memory_reads "
            "WHERE run_id = ? AND entry_id = ? ORDER BY t", [run_id, int(out["entry_id"])])
    out["fetched"] = db.query(
        "SELECT r.entry_id, r.producer_team, e.step_idx AS producer_step, e.key, r.chars, "
        "r.similarity FROM memory_reads r JOIN memory_entries e USING (run_id, entry_id) "
        "WHERE r.run_id = ? AND r.reader_team = ? AND r.reader_step = ? ORDER BY r.entry_id",
        [run_id, int(team_idx), int(step_idx)])
    return out


def admissions(db: DB, run_id: str) -> pd.DataFrame:
    df = db.query("SELECT a.team_idx, a.step_idx, a.t, a.score, a.admitted, s.action, s.s "
                  "FROM admissions a LEFT JOIN steps s USING (run_id, team_idx, step_idx) "
                  "WHERE a.run_id = ? ORDER BY a.t", [run_id])
    df["decision"] = ["admitted" if x else "rejected" for x in df.admitted]
    return df


# ---------------------------------------------------------------------------------- memory
def entries(db: DB, run_id: str) -> pd.DataFrame:
    """The bank, newest first, with read counts."""
    return db.query(
        "SELECT e.entry_id, e.team_idx, e.step_idx, e.action, e.key, e.t_added, length(e.value) "
        "AS chars, coalesce(r.n_reads, 0) AS n_reads, coalesce(r.n_cross, 0) AS n_cross, "
        "coalesce(r.readers, '') AS readers FROM memory_entries e LEFT JOIN ("
        "  SELECT entry_id, count(*) AS n_reads, count(*) FILTER (WHERE cross_team) AS n_cross, "
        "  string_agg(DISTINCT 'T' || reader_team, ' ') AS readers FROM memory_reads "
        "  WHERE run_id = ? GROUP BY entry_id) r USING (entry_id) "
        "WHERE e.run_id = ? ORDER BY e.t_added DESC, e.entry_id DESC", [run_id, run_id])


def reads(db: DB, run_id: str) -> pd.DataFrame:
    """Every fetch, with where it came from (producer step end) and where it went (reader step)."""
    return db.query(
        "SELECT r.entry_id, r.producer_team, e.step_idx AS producer_step, e.t_added, "
        "r.reader_team, r.reader_step, r.t, r.cross_team, r.similarity, e.key "
        "FROM memory_reads r JOIN memory_entries e USING (run_id, entry_id) "
        "WHERE r.run_id = ? ORDER BY r.t", [run_id])


_AVOIDED_SQL = """
WITH rd AS (SELECT DISTINCT run_id, reader_team, entry_id FROM memory_reads
            WHERE cross_team AND list_contains(?, run_id)),
     src AS (SELECT e.run_id, e.entry_id, s.action, lower(trim(s.arg)) AS karg, s.tool_s
             FROM memory_entries e JOIN steps s USING (run_id, team_idx, step_idx)
             WHERE s.action IN ('search', 'open') AND list_contains(?, e.run_id))
SELECT rd.run_id, count(*) AS web_calls_avoided, coalesce(sum(src.tool_s), 0) AS tool_s_avoided
FROM rd JOIN src USING (run_id, entry_id)
WHERE NOT EXISTS (SELECT 1 FROM steps s2 WHERE s2.run_id = rd.run_id
                  AND s2.team_idx = rd.reader_team AND s2.action = src.action
                  AND lower(trim(s2.arg)) = src.karg)
GROUP BY rd.run_id
"""


def web_calls_avoided(db: DB, run_ids: list[str]) -> pd.DataFrame:
    """Per run: web calls avoided through cross-team reads, and their modelled seconds."""
    return db.query(_AVOIDED_SQL, [list(run_ids), list(run_ids)])


def live_counters(db: DB, run_id: str) -> dict[str, float]:
    """Counters of the live page (see the module docstring for the definitions)."""
    df = db.query(
        "SELECT (SELECT count(*) FROM steps WHERE run_id = $r) AS steps, "
        "(SELECT count(*) FROM steps WHERE run_id = $r AND action = 'memory_read') AS read_steps, "
        "(SELECT count(*) FROM steps WHERE run_id = $r AND action IN ('search','open')) AS web_calls, "
        "(SELECT count(*) FROM memory_reads WHERE run_id = $r) AS reads, "
        "(SELECT count(*) FROM memory_reads WHERE run_id = $r AND cross_team) AS cross_reads, "
        "(SELECT count(*) FROM memory_entries WHERE run_id = $r) AS entries, "
        "(SELECT count(*) FROM admissions WHERE run_id = $r) AS decisions, "
        "(SELECT coalesce(max(t_end), 0) FROM steps WHERE run_id = $r) AS clock_s",
        {"r": run_id})
    out = {k: float(v) for k, v in df.iloc[0].items()}
    av = web_calls_avoided(db, [run_id])
    out["avoided"] = float(av.web_calls_avoided.sum()) if not av.empty else 0.0
    out["avoided_s"] = float(av.tool_s_avoided.sum()) if not av.empty else 0.0
    out["net_saved"] = out["avoided"] - out["read_steps"]
    return out


EQUIVALENT_COSINE = 0.995  # a nearest key this close holds the same text: the NO was right


def near_misses(db: DB, run_id: str) -> pd.DataFrame:
    """Rejected web steps whose same call (action + argument) another team ran later, except
    steps rejected because an equivalent entry was already in the bank (the nearest key the policy
    recorded has cosine >= ``EQUIVALENT_COSINE``): those were right to reject."""
    return db.query(
        "WITH rej AS (SELECT a.team_idx, a.step_idx, a.t, a.score, "
        "  a.features_json->>'reason' AS reason, s.action, s.arg, lower(trim(s.arg)) AS karg, s.s "
        "  FROM admissions a JOIN steps s USING (run_id, team_idx, step_idx) "
        "  WHERE a.run_id = $r AND NOT a.admitted AND s.action IN ('search', 'open') "
        "  AND coalesce(TRY_CAST(a.features_json->'nearest'->0->>1 AS DOUBLE), 0) "
        f"  < {EQUIVALENT_COSINE}) "
        "SELECT rej.team_idx, rej.step_idx, rej.t, rej.score, rej.action, rej.arg, rej.reason, "
        "  count(*) AS redone, string_agg('T' || s2.team_idx || ' #' || s2.step_idx, ', ' "
        "  ORDER BY s2.t_start) AS redone_by, sum(s2.tool_s + s2.llm_s) AS redo_s "
        "FROM rej JOIN steps s2 ON s2.run_id = $r AND s2.team_idx <> rej.team_idx "
        "  AND s2.action = rej.action AND lower(trim(s2.arg)) = rej.karg AND s2.t_start >= rej.t "
        "GROUP BY ALL ORDER BY rej.t", {"r": run_id})


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
    df = db.query("SELECT run_id FROM runs WHERE list_contains(?, batch_id)", [list(batch_ids)])
    return [str(x) for x in df.run_id]


def run_metrics(db: DB, run_ids: list[str]) -> pd.DataFrame:
    """One row per run with everything Compare shows (steps, reads, admission, tokens, ...)."""
    ids = list(run_ids)
    df = db.query(
        "SELECT r.run_id, r.batch_id, r.policy, r.suite, r.task_id, r.seed, r.teams, r.backend, "
        "r.simulated, r.status, r.runtime_s, r.wall_s, r.em, r.f1, r.created_at, r.cost_usd, "
        "r.prompt_tokens + r.completion_tokens AS tokens, coalesce(s.steps, 0) AS steps, "
        "coalesce(s.web_calls, 0) AS web_calls, coalesce(s.read_steps, 0) AS read_steps, "
        "coalesce(a.decisions, 0) AS decisions, coalesce(a.admitted, 0) AS admitted, "
        "coalesce(m.reads, 0) AS reads, coalesce(m.cross_reads, 0) AS cross_reads, "
        "coalesce(e.entries, 0) AS entries "
        "FROM runs r "
        "LEFT JOIN (SELECT run_id, count(*) AS steps, count(*) FILTER (WHERE action IN "
        "  ('search','open')) AS web_calls, count(*) FILTER (WHERE action = 'memory_read') AS "
        "  read_steps FROM steps WHERE list_contains($ids, run_id) GROUP BY run_id) s USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS decisions, count(*) FILTER (WHERE admitted) AS "
        "  admitted FROM admissions WHERE list_contains($ids, run_id) GROUP BY run_id) a USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS reads, count(*) FILTER (WHERE cross_team) AS "
        "  cross_reads FROM memory_reads WHERE list_contains($ids, run_id) GROUP BY run_id) m "
        "  USING (run_id) "
        "LEFT JOIN (SELECT run_id, count(*) AS entries FROM memory_entries WHERE "
        "  list_contains($ids, run_id) GROUP BY run_id) e USING (run_id) "
        "WHERE list_contains($ids, r.run_id) ORDER BY r.created_at", {"ids": ids})
    av = web_calls_avoided(db, ids)
    df = df.merge(av, on="run_id", how="left")
    df["web_calls_avoided"] = df.web_calls_avoided.fillna(0).astype(int)
    df["tool_s_avoided"] = df.tool_s_avoided.fillna(0.0)
    df["net_saved"] = df.web_calls_avoided - df.read_steps
    df["admission_rate"] = df.admitted / df.decisions.where(df.decisions > 0)
    return df


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


# ----------------------------------------------------------------------------------- misc
def db_summary(db: DB) -> dict[str, int]:
    df = db.query("SELECT (SELECT count(*) FROM runs) AS runs, "
                  "(SELECT count(*) FROM runs WHERE status = 'running') AS running, "
                  "(SELECT count(*) FROM steps) AS steps, "
                  "(SELECT count(DISTINCT train_id) FROM train_epochs) AS trainings")
    return {k: int(v) for k, v in df.iloc[0].items()}


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


# ------------------------------------------------------------------------------------ harm
def harm_entries(db: DB, run_id: str) -> pd.DataFrame:
    """Every entry of the run, wrong or not, with its readers (``lts_core.harm.entry_harm``)."""
    from lts_core.harm import entry_harm

    return entry_harm(db, [run_id])


def harm_reads(db: DB, run_id: str, entries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reads of wrong entries with the reader team's answer (``lts_core.harm.wrong_reads``)."""
    from lts_core.harm import wrong_reads

    return wrong_reads(db, [run_id], entries)


def redone_later(db: DB, run_id: str, team_idx: int, step_idx: int) -> pd.DataFrame:
    """Other teams' later steps with the same action and argument as this one."""
    return db.query(
        "SELECT s2.team_idx, s2.step_idx, s2.t_start FROM steps s JOIN steps s2 ON "
        "s2.run_id = s.run_id AND s2.team_idx <> s.team_idx AND s2.action = s.action AND "
        "lower(trim(s2.arg)) = lower(trim(s.arg)) AND s2.t_start >= s.t_end "
        "WHERE s.run_id = ? AND s.team_idx = ? AND s.step_idx = ? AND s.action IN "
        "('search', 'open') ORDER BY s2.t_start", [run_id, int(team_idx), int(step_idx)])


def counterfactual(db: DB, run: dict[str, Any]) -> dict[str, Any] | None:
    """The newest recorded run of the same task, seed, K, back-end, step budget and stop rule with
    a memory-off policy (the no-sharing baseline), or None."""
    from lts_core.policies import POLICIES, uses_memory

    off = [p for p in POLICIES if not uses_memory(p)]
    df = db.query(
        f"SELECT {RUN_COLS} FROM runs WHERE suite = ? AND task_id = ? AND seed = ? AND teams = ? "
        "AND backend = ? AND max_steps = ? AND stop = ? AND list_contains(?, policy) "
        "AND run_id <> ? ORDER BY status = 'finished' DESC, created_at DESC LIMIT 1",
        [run["suite"], run["task_id"], int(run["seed"]), int(run["teams"]), run["backend"],
         int(run["max_steps"]), run["stop"], off, run["run_id"]])
    return None if df.empty else _clean(df.iloc[0].to_dict())


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
