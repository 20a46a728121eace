"""Steps, decisions, the bank and its reads of one run, and what sharing saved or missed.

Definitions (the dashboard's help repeats them) are in the package docstring.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lts_core.record.queries._base import DB, _clean, _has_table, _loads, decision_label


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
    df["decision"] = [decision_label(v) for v in df.admitted.astype(object)]
    return df



def explanation(db: DB, run_id: str, team_idx: int, step_idx: int) -> dict[str, Any]:
    """The features recorded after a decision, off its path (``ExplanationRecord``); {} if none
    (yet, or in a file written before explanations had their own table)."""
    if not _has_table(db, "explanations"):
        return {}
    df = db.query("SELECT features_json FROM explanations WHERE run_id = ? AND team_idx = ? "
                  "AND step_idx = ?", [run_id, int(team_idx), int(step_idx)])
    return _loads(df.features_json.iloc[0]) if not df.empty else {}


def step_detail(db: DB, run_id: str, team_idx: int, step_idx: int) -> dict[str, Any] | None:
    """Everything about one step: (u, s, o), its decision, nearest keys, and who read its entry."""
    df = db.query("SELECT * FROM steps WHERE run_id = ? AND team_idx = ? AND step_idx = ?",
                  [run_id, int(team_idx), int(step_idx)])
    if df.empty:
        return None
    out = _clean(df.iloc[0].to_dict())
    adm = db.query("SELECT policy, score, admitted, threshold, t, features_json, decide_ms FROM admissions "
                   "WHERE run_id = ? AND team_idx = ? AND step_idx = ?",
                   [run_id, int(team_idx), int(step_idx)])
    out["admission"] = None
    out["nearest"] = pd.DataFrame(columns=["entry_id", "cosine", "key", "team_idx", "step_idx"])
    if not adm.empty:
        a = _clean(adm.iloc[0].to_dict())
        feats = _loads(a.pop("features_json"))
        feats.update(explanation(db, run_id, team_idx, step_idx))
        reason, words = feats.get("reason", ""), feats.get("in_words")
        # files written before explanations had their own table already hold the words in reason
        a["reason"] = f"{reason}. {words}" if words and words not in reason else reason
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
    """One row per decision; ``rule`` names a rule that decided instead of the score (``vote``:
    an answer admitted only once it decides the vote, ``policies/vote.py``), else None."""
    df = db.query("SELECT a.team_idx, a.step_idx, a.t, a.score, a.admitted, a.threshold, s.action, s.s, "
                  "json_extract_string(a.features_json, '$.rule') AS rule "
                  "FROM admissions a LEFT JOIN steps s USING (run_id, team_idx, step_idx) "
                  "WHERE a.run_id = ? ORDER BY a.t", [run_id])
    df["decision"] = [decision_label(x) for x in df.admitted]
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
        "(SELECT count(*) FROM memory_entries WHERE run_id = $r AND planted) AS planted, "
        "(SELECT count(*) FROM admissions WHERE run_id = $r) AS decisions, "
        "(SELECT count(*) FROM admissions WHERE run_id = $r AND admitted) AS admitted, "
        "(SELECT count(*) FROM llm_calls WHERE run_id = $r) AS llm_calls, "
        "(SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE run_id = $r) AS cost_usd, "
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


# ------------------------------------------------------------------------------------ harm
def harm_entries(db: DB, run_id: str) -> pd.DataFrame:
    """Every entry of the run, wrong or not, with its readers (``lts_core.record.harm.entry_harm``)."""
    from lts_core.record.harm import entry_harm

    return entry_harm(db, [run_id])


def harm_reads(db: DB, run_id: str, entries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reads of wrong entries with the reader team's answer (``lts_core.record.harm.wrong_reads``)."""
    from lts_core.record.harm import wrong_reads

    return wrong_reads(db, [run_id], entries)


def redone_later(db: DB, run_id: str, team_idx: int, step_idx: int) -> pd.DataFrame:
    """Other teams' later steps with the same action and argument as this one."""
    return db.query(
        "SELECT s2.team_idx, s2.step_idx, s2.t_start FROM steps s JOIN steps s2 ON "
        "s2.run_id = s.run_id AND s2.team_idx <> s.team_idx AND s2.action = s.action AND "
        "lower(trim(s2.arg)) = lower(trim(s.arg)) AND s2.t_start >= s.t_end "
        "WHERE s.run_id = ? AND s.team_idx = ? AND s.step_idx = ? AND s.action IN "
        "('search', 'open') ORDER BY s2.t_start", [run_id, int(team_idx), int(step_idx)])


